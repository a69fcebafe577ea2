import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Import → vault → export, compared with the original (byte for byte where the format allows).
@Suite struct InteropRoundTripTests {
    /// Imports `file` into a real vault file, reopens it and returns what the vault holds.
    private func throughVault(_ file: String, in directory: String) async throws -> (Session, [Peer]) {
        let imported = try InteropFixtures.read(file)
        let path = try await SessionVault.createByImporting(
            imported,
            at: directory + "/vault.session",
            passphrase: passphrase(),
            configuration: fastConfiguration(mode: .create)
        )
        let vault = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
        let session = try await vault.load() ?? Session()
        let peers = try await vault.allPeers()
        try await vault.close()
        #expect(session == imported.session)
        #expect(Set(peers) == Set(imported.peers))
        return (session, peers)
    }

    private func stringBytes(_ session: Session, _ format: SessionFormat) throws -> [UInt8] {
        let (text, _) = try SessionExporter.string(session, format: format)
        return text.withUnsafeBytes { Array($0) }
    }

    @Test(arguments: ["telethon-ipv4.txt", "telethon-ipv6.txt"])
    func telethonStringIsByteIdenticalThroughAVault(file: String) async throws {
        try await withTemporaryDirectory { directory in
            let (session, _) = try await throughVault(file, in: directory)
            #expect(try stringBytes(session, .telethonString) == fileBytes(InteropFixtures.path(file)))
        }
    }

    @Test(arguments: ["telethon-v8.session", "telethon-v7.session", "telethon-v8-tmpkey.session"])
    func telethonFileExportsTheRealTelethonString(file: String) async throws {
        // telethon-ipv4.txt is Telethon's own StringSession.save() of telethon-v8.session.
        try await withTemporaryDirectory { directory in
            let (session, _) = try await throughVault(file, in: directory)
            #expect(try stringBytes(session, .telethonString) == fileBytes(InteropFixtures.path("telethon-ipv4.txt")))
        }
    }

    @Test(arguments: [
        ("pyrogram-string.txt", "pyrogram-string.txt"),
        ("kurigram-string.txt", "kurigram-string.txt"),
        ("pyrogram-2.0.106.session", "pyrogram-string.txt"),
        ("kurigram-2.2.26.session", "kurigram-string.txt"),
    ])
    func pyrogramStringIsByteIdentical(source: String, expected: String) async throws {
        // pyrogram-string.txt / kurigram-string.txt are export_session_string() of the two files.
        try await withTemporaryDirectory { directory in
            let (session, _) = try await throughVault(source, in: directory)
            #expect(try stringBytes(session, .pyrogramString) == fileBytes(InteropFixtures.path(expected)))
        }
    }

    @Test(arguments: ["pyrogram-string-351.txt", "pyrogram-string-356.txt"])
    func oldPyrogramStringsBecomeCurrentStrings(file: String) throws {
        let imported = try InteropFixtures.read(file)
        let (text, report) = try SessionExporter.string(imported.session, format: .pyrogramString)
        #expect(text.count == 362)
        #expect(report.notes.contains { $0.contains("api_id is unknown") })
        let again = try SessionImporter.read(from: .text(text))
        #expect(again.session == imported.session)
    }

    /// Every SQLite fixture exported to its own format and schema reads back the same.
    @Test(arguments: InteropFixtures.files.filter { $0.hasSuffix(".session") } + ["telethon-v2.session"])
    func sqliteFileRoundTrip(file: String) async throws {
        try await withTemporaryDirectory { directory in
            let original = try InteropFixtures.read(file)
            let (session, peers) = try await throughVault(file, in: directory)
            let out = directory + "/export.session"
            let report = try SessionExporter.write(
                session,
                peers: peers,
                format: original.format,
                to: out,
                options: .init(schemaVersion: original.schemaVersion, now: 1_800_000_000)
            )
            #expect(report.schemaVersion == original.schemaVersion)
            #expect(fileMode(out) == 0o600)
            let again = try SessionImporter.read(from: .file(path: out))
            #expect(again.format == original.format)
            #expect(again.schemaVersion == original.schemaVersion)
            #expect(again.session == original.session)
            // Pyrogram's last_update_on is written as "now" (usernames expire after 8 hours otherwise).
            let normalize: (Peer) -> Peer = { peer in
                var peer = peer
                if original.format == .pyrogram { peer.updatedAt = nil }
                return peer
            }
            #expect(Set(again.peers.map(normalize)) == Set(original.peers.map(normalize)))
            if original.format == .pyrogram {
                #expect(again.peers.allSatisfy { $0.updatedAt == 1_800_000_000 })
            }
        }
    }

    static let crossTargets: [(SessionFormat, Int?)] = [
        (.telethon, 8), (.telethon, 7), (.telethonV2, 10), (.telethonString, nil), (.pyrogram, 3), (.pyrogram, 7),
        (.pyrogramString, nil),
    ]

    /// Every fixture into every other format: what the target can hold survives.
    @Test(arguments: InteropFixtures.files.filter { $0 != "telethon-v8-nokey.session" } + ["telethon-v2.session"])
    func crossFormat(file: String) throws {
        let original = try InteropFixtures.read(file)
        let session = original.session
        try inTemporaryDirectory { directory in
            for (format, schema) in Self.crossTargets {
                if format == .pyrogramString && session.user == nil { continue }  // needs a user id
                let out = directory + "/\(format)-\(schema ?? 0).out"
                try SessionExporter.write(session, peers: original.peers, format: format, to: out, options: .init(schemaVersion: schema))
                let again = try SessionImporter.read(from: .file(path: out))
                let label = "\(file) → \(format) \(schema.map(String.init) ?? "")"
                let plan = ExportPlan(session: session, formatName: "")
                let dc = try #require(again.session.dataCenters.first { $0.authKey != nil }, "\(label)")
                #expect(dc.id == plan.dataCenter?.id, "\(label)")
                #expect(dc.authKey == plan.dataCenter?.authKey, "\(label)")
                let keepsAddress = !(format == .pyrogramString || (format == .pyrogram && schema == 3))
                if keepsAddress {
                    #expect((dc.ipv4 ?? dc.ipv6) == plan.endpoint, "\(label)")
                }
                if format != .telethonString, let user = session.user {
                    #expect(again.session.user?.id == user.id, "\(label)")
                }
                let keepsState = format == .telethon || format == .telethonV2 || (format == .pyrogram && schema == 7)
                if keepsState {
                    #expect(again.session.updateState == session.updateState, "\(label)")
                }
                let keepsPeers = format == .telethon || format == .pyrogram
                if keepsPeers {
                    #expect(Set(again.peers.map(\.id)) == Set(original.peers.map(\.id)), "\(label)")
                    #expect(Set(again.peers.map(\.accessHash)) == Set(original.peers.map(\.accessHash)), "\(label)")
                }
            }
        }
    }

    @Test func telethonTemporaryKeySurvivesSchema8Only() throws {
        let original = try InteropFixtures.read("telethon-v8-tmpkey.session")
        #expect(original.session.dataCenters.first?.temporaryAuthKey != nil)
        try inTemporaryDirectory { directory in
            try SessionExporter.write(original.session, peers: original.peers, format: .telethon, to: directory + "/v8.session")
            #expect(try SessionImporter.read(from: .file(path: directory + "/v8.session")).session == original.session)
            let report = try SessionExporter.write(
                original.session, peers: original.peers, format: .telethon, to: directory + "/v7.session", options: .init(schemaVersion: 7))
            #expect(report.notes.contains { $0.contains("tmp_auth_key") })
            #expect(try SessionImporter.read(from: .file(path: directory + "/v7.session")).session.dataCenters.first?.temporaryAuthKey == nil)
        }
    }

    @Test func emptyTelethonSessionExportsTheFreshRow() throws {
        let original = try InteropFixtures.read("telethon-v8-nokey.session")
        #expect(original.session.dataCenters.isEmpty)
        #expect(original.notes.contains { $0.contains("no auth key") })
        try inTemporaryDirectory { directory in
            let out = directory + "/nokey.session"
            try SessionExporter.write(original.session, format: .telethon, to: out)
            var row: [String] = []
            try withForeignDatabase(out) { db in
                try db.forEachRow("SELECT dc_id, quote(server_address), quote(port), quote(auth_key), quote(takeout_id), quote(tmp_auth_key) FROM sessions") { statement in
                    row = (0..<6).map { statement.text(Int32($0)) ?? "?" }
                }
            }
            #expect(row == ["0", "NULL", "NULL", "X''", "NULL", "X''"])
            #expect(throws: VaultError.self) { try SessionExporter.string(original.session, format: .telethonString) }
        }
    }

    @Test func exportNeverReplacesAFile() throws {
        let original = try InteropFixtures.read("telethon-v8.session")
        try inTemporaryDirectory { directory in
            let out = directory + "/exists.session"
            try writeFile(out, Array("keep me".utf8))
            let error = #expect(throws: VaultError.self) { try SessionExporter.write(original.session, format: .telethon, to: out) }
            #expect(error?.code == .alreadyExists)
            #expect(fileBytes(out) == Array("keep me".utf8))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["exists.session"])
        }
    }
}
