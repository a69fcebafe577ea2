import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Malformed input gets a clear ``VaultError`` that says what was seen, never a crash.
@Suite struct InteropMalformedInputTests {
    /// Base64url text of `count` characters (test data, not a secret).
    private static func base64Text(count: Int, seed: UInt8 = 7) -> String {
        let bytes = (0..<(count * 3 / 4 + 3)).map { UInt8(truncatingIfNeeded: Int(seed) &* 31 &+ $0 &* 13) }
        let text = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return String(text.prefix(count))
    }

    private func stringError(_ text: String) -> VaultError? {
        #expect(throws: VaultError.self) { try SessionImporter.read(from: .text(try secretText(text))) }
    }

    private func fileError(_ path: String, format: SessionFormat? = nil) -> VaultError? {
        #expect(throws: VaultError.self) { try SessionImporter.read(from: .file(path: path), format: format) }
    }

    // MARK: - Strings

    @Test(arguments: [1, 100, 350, 352, 354, 355, 357, 361, 363, 368, 370, 500])
    func wrongLength(count: Int) {
        let error = stringError("1" + Self.base64Text(count: count - 1))
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("string of \(count) characters") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("no known session string") == true)
    }

    @Test func strippedTelethonPaddingIsNamed() {
        let real = String(decoding: fileBytes(InteropFixtures.path("telethon-ipv4.txt")), as: UTF8.self)
        let error = stringError(String(real.dropLast()))  // without its '='
        #expect(error?.message.contains("352 characters") == true)
        #expect(error?.message.contains("padding was stripped") == true, "\(error?.message ?? "")")
    }

    @Test(arguments: ["!", " ", "*", "é", "\u{0}"])
    func badBase64(character: String) {
        var text = "1" + Self.base64Text(count: 352)
        text.replaceSubrange(text.index(text.startIndex, offsetBy: 100)...text.index(text.startIndex, offsetBy: 100), with: character)
        let error = stringError(text)
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("not base64") == true, "\(error?.message ?? "")")
    }

    @Test func standardBase64IsNamedAsGramJS() {
        let text = "1" + Self.base64Text(count: 351).replacingOccurrences(of: "-", with: "+") + "="
        let error = stringError(text.contains("+") ? text : "1+" + Self.base64Text(count: 351))
        #expect(error?.message.contains("standard base64") == true, "\(error?.message ?? "")")
    }

    @Test func misplacedPaddingIsNotBase64() {
        var text = "1" + Self.base64Text(count: 352)
        text.replaceSubrange(text.index(text.startIndex, offsetBy: 10)...text.index(text.startIndex, offsetBy: 10), with: "=")
        let error = stringError(text)
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("not valid padded URL-safe base64") == true, "\(error?.message ?? "")")
    }

    @Test(arguments: ["0", "2", "9", "A", "_"])
    func unknownVersionCharacter(version: String) {
        let real = String(decoding: fileBytes(InteropFixtures.path("telethon-ipv4.txt")), as: UTF8.self)
        let error = stringError(version + real.dropFirst())
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("unknown version character '\(version)'") == true, "\(error?.message ?? "")")
    }

    @Test func pyrogramLengthWithPaddingIsRefused() {
        let error = stringError(Self.base64Text(count: 361) + "=")
        #expect(error?.message.contains("padding") == true, "\(error?.message ?? "")")
    }

    @Test func pyrogramStringWithUnknownDataCenter() throws {
        // DC 9 has no well-known address: refused rather than guessed.
        let real = try InteropFixtures.read("pyrogram-string.txt")
        var session = real.session
        session.dataCenters[0].id = 9
        session.user?.dataCenterID = 9
        let (text, _) = try SessionExporter.string(session, format: .pyrogramString)
        let error = #expect(throws: VaultError.self) { try SessionImporter.read(from: .text(text)) }
        #expect(error?.message.contains("DC 9") == true, "\(error?.message ?? "")")
    }

    @Test(arguments: ["", "   \n\t  ", "\n"])
    func emptyText(text: String) {
        let error = stringError(text)
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("empty") == true)
    }

    @Test func sealedStringIsNamed() {
        let error = stringError("svs1.AAAA")
        #expect(error?.message.contains("sealed string") == true)
    }

    @Test func whitespaceAroundARealStringIsIgnored() throws {
        let real = String(decoding: fileBytes(InteropFixtures.path("telethon-ipv6.txt")), as: UTF8.self)
        let imported = try SessionImporter.read(from: .text(try secretText("\n  " + real + "\r\n")))
        #expect(imported.session.dataCenters.first?.ipv6?.host == "2001:67c:4e8:f002::a")
    }

    // MARK: - Files

    @Test func missingFileAndDirectory() throws {
        #expect(fileError("/nonexistent/bot.session")?.code == .notFound)
        try inTemporaryDirectory { directory in
            #expect(fileError(directory)?.message.contains("not a regular file") == true)
        }
    }

    @Test func emptyAndBinaryAndLargeFiles() throws {
        try inTemporaryDirectory { directory in
            try writeFile(directory + "/empty", [])
            #expect(fileError(directory + "/empty")?.message.contains("is empty") == true)
            try writeFile(directory + "/binary", (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 37) })
            let binary = fileError(directory + "/binary")
            #expect(binary?.code == .invalidArgument)
            #expect(binary?.message.contains("not base64") == true, "\(binary?.message ?? "")")
            try writeFile(directory + "/large", [UInt8](repeating: 65, count: 100_000))
            #expect(fileError(directory + "/large")?.message.contains("neither a SQLite database nor a session string") == true)
        }
    }

    @Test func sqliteFileOfAnotherApplication() throws {
        try inTemporaryDirectory { directory in
            let path = directory + "/places.sqlite"
            try withForeignDatabase(path) { db in
                try db.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT); CREATE TABLE moz_bookmarks (id INTEGER)")
            }
            let error = fileError(path)
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("SQLite file with tables moz_bookmarks, moz_places") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("not a Telethon or Pyrogram session") == true)

            let withVersion = directory + "/other.sqlite"
            try withForeignDatabase(withVersion) { db in try db.execute("CREATE TABLE version (v TEXT); CREATE TABLE things (x)") }
            #expect(fileError(withVersion)?.message.contains("tables things, version") == true)

            let noTables = directory + "/blank.sqlite"
            try withForeignDatabase(noTables) { db in try db.execute("CREATE TABLE t (x); DROP TABLE t") }
            #expect(fileError(noTables)?.message.contains("no tables") == true)
        }
    }

    @Test func aVaultIsNotAPlaintextSession() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/v.session", passphrase: passphrase(), configuration: fastConfiguration())
            try await vault.close()
            let error = fileError(directory + "/v.session")
            #expect(error?.message.contains("already a SessionVault vault") == true, "\(error?.message ?? "")")
        }
    }

    @Test(arguments: [8, 20, 99, 100, 4096, 10_000, 28_671])
    func truncatedFile(length: Int) throws {
        try inTemporaryDirectory { directory in
            let path = directory + "/truncated.session"
            try writeFile(path, Array(fileBytes(InteropFixtures.path("telethon-v8.session")).prefix(length)))
            let error = fileError(path)
            #expect(error?.code == .corrupt, "\(length): \(error?.description ?? "")")
            #expect(error?.message.contains("truncated") == true, "\(error?.message ?? "")")
        }
    }

    @Test func damagedPagesAreCorrupt() throws {
        try inTemporaryDirectory { directory in
            let path = directory + "/damaged.session"
            var bytes = fileBytes(InteropFixtures.path("telethon-v8.session"))
            for index in 4096..<8192 { bytes[index] = 0xA5 }  // page 2: the first table's b-tree
            try writeFile(path, bytes)
            let error = fileError(path)
            #expect(error?.code == .corrupt || error?.code == .invalidArgument, "\(error?.description ?? "")")
        }
    }

    @Test(arguments: [
        ("telethon-v8.session", "version", 9, "newer than"),
        ("telethon-v8.session", "version", 42, "newer than"),
        ("telethon-v7.session", "version", 6, "older than"),
        ("pyrogram-2.0.106.session", "number", 8, "newer than"),
        ("pyrogram-2.0.106.session", "number", 2, "older than"),
    ])
    func unsupportedSchemaVersion(file: String, column: String, version: Int, relation: String) throws {
        try inTemporaryDirectory { directory in
            let path = directory + "/schema.session"
            try writeFile(path, fileBytes(InteropFixtures.path(file)))
            try withForeignDatabase(path) { db in try db.execute("UPDATE version SET \(column) = \(version)") }
            let error = fileError(path)
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("schema version \(version), \(relation)") == true, "\(error?.message ?? "")")
        }
    }

    @Test func telethonV2OfAnotherVersion() throws {
        try inTemporaryDirectory { directory in
            let path = directory + "/v2.session"
            try writeFile(path, fileBytes(InteropFixtures.path("telethon-v2.session")))
            try withForeignDatabase(path) { db in try db.execute("UPDATE version SET version = 11") }
            #expect(fileError(path)?.message.contains("Telethon v2 SQLite session of schema version 11") == true)
        }
    }

    @Test(arguments: [
        "UPDATE sessions SET auth_key = x'0102'",
        "UPDATE sessions SET server_address = 'not-an-ip'",
        "UPDATE sessions SET port = 70000",
        "UPDATE update_state SET pts = 99999999999 WHERE id = 0",
        "UPDATE update_state SET date = 'yesterday' WHERE id = 0",
    ])
    func damagedTelethonRows(sql: String) throws {
        try inTemporaryDirectory { directory in
            let path = directory + "/rows.session"
            try writeFile(path, fileBytes(InteropFixtures.path("telethon-v8.session")))
            try withForeignDatabase(path) { db in try db.execute(sql) }
            let error = fileError(path)
            #expect(error?.code == .corrupt, "\(sql): \(error?.description ?? "")")
        }
    }

    @Test func unknownPyrogramPeerTypeIsSkippedWithANote() throws {
        try inTemporaryDirectory { directory in
            let path = directory + "/types.session"
            try writeFile(path, fileBytes(InteropFixtures.path("pyrogram-2.0.106.session")))
            try withForeignDatabase(path) { db in try db.execute("UPDATE peers SET type = 'spaceship' WHERE id = 1234567890") }
            let imported = try SessionImporter.read(from: .file(path: path))
            #expect(imported.peers.count == 5)
            #expect(imported.notes.contains { $0.contains("'spaceship'") })
        }
    }

    @Test func damagedTelethonV2Address() throws {
        try inTemporaryDirectory { directory in
            let path = directory + "/v2.session"
            try writeFile(path, fileBytes(InteropFixtures.path("telethon-v2.session")))
            try withForeignDatabase(path) { db in try db.execute("UPDATE datacenter SET ipv4_addr = '149.154.167.51' WHERE id = 2") }
            #expect(fileError(path)?.code == .corrupt)
        }
    }

    /// A WAL-mode source with committed data still in its -wal (a running client) is read through a
    /// private copy: the import sees the data and the source files do not change.
    @Test func walSourceIsReadWithoutTouchingIt() throws {
        try inTemporaryDirectory { directory in
            let path = directory + "/live.session"
            try writeFile(path, fileBytes(InteropFixtures.path("kurigram-2.2.26.session")))
            let library = try SQLiteLibrary.loadForSessionFiles()
            let writer = try SQLiteConnection(path: path, library: library, role: .foreignSession(label: "writer"))
            defer { try? writer.close() }
            try writer.execute("PRAGMA journal_mode = WAL")
            try writer.execute("PRAGMA wal_autocheckpoint = 0")
            try writer.execute("UPDATE update_state SET pts = 424242 WHERE id = 0")
            let before = [fileBytes(path), fileBytes(path + "-wal")]
            #expect(before[1].count > 0)
            let imported = try SessionImporter.read(from: .file(path: path))
            #expect(imported.session.updateState?.pts == 424242)
            #expect([fileBytes(path), fileBytes(path + "-wal")] == before)
        }
    }

    @Test func sourceIsNeverModified() throws {
        for file in InteropFixtures.files + ["telethon-v2.session"] {
            let before = fileBytes(InteropFixtures.path(file))
            _ = try InteropFixtures.read(file)
            #expect(fileBytes(InteropFixtures.path(file)) == before, "\(file)")
            #expect(!fileExists(InteropFixtures.path(file) + "-journal"))
        }
    }
}
