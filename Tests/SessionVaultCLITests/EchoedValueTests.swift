import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// What errors echo from the user's arguments and from hostile files: never a secret, always
/// bounded, and never a misleading diagnosis.
@Suite("echoed values")
struct EchoedValueTests {
    static let interop = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/interop").path
    let environment: [String: String?] = ["SESSION_VAULT_PASSPHRASE": vaultPassphrase]

    /// A Telethon-schema (version 7) file whose sessions row is built by `values`.
    func telethonFile(_ path: String, values: String) throws {
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        try withRawDatabase(path) { db in
            try db.execute(
                """
                CREATE TABLE version (version integer primary key);
                INSERT INTO version VALUES (7);
                CREATE TABLE sessions (dc_id integer primary key, server_address text, port integer, auth_key blob, takeout_id integer);
                INSERT INTO sessions VALUES (\(values));
                CREATE TABLE entities (id integer primary key, hash integer not null, username text, phone integer, name text, date integer);
                CREATE TABLE sent_files (md5_digest blob, file_size integer, type integer, id integer, hash integer, primary key(md5_digest, file_size, type));
                CREATE TABLE update_state (id integer primary key, pts integer, qts integer, date integer, seq integer);
                """
            )
        }
    }

    /// A session string passed where the SOURCE path belongs is not echoed.
    @Test func aSessionStringGivenAsTheImportSourceIsNotEchoed() async throws {
        try await withTemporaryDirectory { directory in
            let secret = String(decoding: fileBytes(Self.interop + "/telethon-ipv4.txt"), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(secret.count > 300)
            let result = try await CLI.run(["import", secret, "bot"], environment: environment, directory: directory)
            #expect(result.status != 0)
            #expect(result.err.filter { $0 == "\n" }.count == 1, "\(result.err)")
            #expect(result.err.contains("looks like a session string"), "\(result.err)")
            for window in stride(from: 0, to: secret.count - 16, by: 8) {
                let piece = String(secret.dropFirst(window).prefix(16))
                #expect(!result.err.contains(piece) && !result.out.contains(piece), "echoed: \(piece)")
            }
        }
    }

    /// A 300 KB server_address from a hostile file is quoted, bounded, in a short line.
    @Test func aHugeServerAddressIsBoundedInTheError() async throws {
        try await withTemporaryDirectory { directory in
            let source = directory + "/hostile.session"
            try telethonFile(source, values: "2, '149.154.' || hex(zeroblob(150000)), 443, randomblob(256), NULL")
            let result = try await CLI.run(["import", source, "bot"], environment: environment, directory: directory)
            #expect(result.status == 66, "\(result.err)")
            #expect(result.err.contains("is not an IP address"), "\(result.err)")
            #expect(result.err.contains("(300008 characters)"), "\(result.err)")
            #expect(result.err.utf8.count < 1000 + source.utf8.count, "\(result.err.utf8.count) bytes")
        }
    }

    /// An auth key stored as TEXT is damage, not a session that never logged in.
    @Test func anAuthKeyStoredAsTextIsCorruptNotNeverLoggedIn() async throws {
        try await withTemporaryDirectory { directory in
            let source = directory + "/text-key.session"
            try telethonFile(source, values: "2, '149.154.167.51', 443, hex(randomblob(128)), NULL")
            let result = try await CLI.run(["import", source, "bot"], environment: environment, directory: directory)
            #expect(result.status == 66, "\(result.err)")
            #expect(result.err.contains("sessions.auth_key is not stored as a BLOB"), "\(result.err)")
            #expect(!result.err.contains("never logged in"), "\(result.err)")
        }
    }

    /// `show-sealed` prints the string's own Argon2id parameters, not `kdf none`.
    @Test func showSealedPrintsTheStringsKDF() async throws {
        try await withTemporaryDirectory { directory in
            var configuration = SessionVault.Configuration()
            configuration.kdf = .interactive
            var session = Session()
            session.dataCenters = [DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.51", port: 443), authKey: try AuthKey.random())]
            let text = try SealedSessionString.seal(session, passphrase: try Passphrase(copying: otherPassphrase), configuration: configuration)
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/sealed.txt"))
            let env: [String: String?] = ["SESSION_VAULT_STRING_PASSPHRASE": otherPassphrase]
            let shown = try await CLI.run(["show-sealed", "sealed.txt"], environment: env, directory: directory)
            #expect(shown.status == 0, "\(shown.err)")
            #expect(shown.out.contains("argon2id13 opslimit=2 memlimit=67108864"), "\(shown.out)")
            let kdfLines = shown.out.split(separator: "\n").filter { $0.hasPrefix("kdf") }
            #expect(kdfLines.count == 1 && !kdfLines[0].hasSuffix("none"), "\(shown.out)")
            let json = try await CLI.run(["show-sealed", "sealed.txt", "--json"], environment: env, directory: directory)
            let kdf = try #require(try json.json()["kdf"] as? [String: Any])
            #expect(kdf["opslimit"] as? Int == 2)
        }
    }
}
