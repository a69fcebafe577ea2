import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Every tampering the format promises to catch, produced for real on real vault files.
///
/// The vaults here are written in format version 1, whose unpadded ciphertext lengths tell the
/// record kinds apart: that is how these tests find the row to alter without the key. Version 2
/// (padded, so lengths no longer tell kinds apart) runs the same open path with the padding checks
/// added; its tampering is covered by `RecordPaddingTests` and the `v2-*` fixtures.
@Suite("Tampering and hostile files")
struct TamperTests {
    /// A fast configuration writing format version 1 (see the suite's comment).
    func versionOneConfiguration() -> SessionVault.Configuration {
        var configuration = fastConfiguration()
        configuration.writesFormatVersionForTesting = 1
        return configuration
    }

    /// Ciphertext lengths of each record kind in `sampleSession()` (MAC 16 + plaintext), version 1.
    static let ciphertextLengthByKind: [RecordKind: Int] = [
        .channelState: 16 + 12,
        .sessionExtras: 16 + 1 + 4 + 8,
        .updateState: 16 + 20,
        .user: 16 + 8 + 4 + 1 + 2 + 14,
        .manifest: 16 + 40,
    ]

    /// Creates a closed vault holding `sampleSession()` and returns its path.
    func makeVault(in directory: String, name: String = "tamper") async throws -> String {
        let vault = try await SessionVault.open(at: directory + "/" + name, passphrase: passphrase(), configuration: versionOneConfiguration())
        try await vault.save(try sampleSession())
        let path = try #require(vault.path)
        try await vault.close()
        return path
    }

    func open(_ path: String, _ secret: String = "correct horse battery staple") async throws -> SessionVault {
        try await SessionVault.open(at: path, passphrase: passphrase(secret), configuration: fastConfiguration(mode: .openExisting))
    }

    func expectOpenFails(_ path: String, code: VaultError.Code, kind: RecordKind? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        do {
            let vault = try await open(path)
            try await vault.close()
            Issue.record("the vault opened although it should fail with \(code)", sourceLocation: sourceLocation)
        } catch let error as VaultError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            if let kind { #expect(error.recordKind == kind, "\(error)", sourceLocation: sourceLocation) }
        }
        // A failed open leaves nothing held: the lock is free again.
        let lockFree = try await VaultFileLock.acquire(path: path + "-lock", vaultPath: path, wait: .zero)
        lockFree.release()
    }

    /// The tag of the row whose ciphertext has `length` bytes.
    func tagOfRecord(withCiphertextLength length: Int, in path: String) throws -> [UInt8] {
        try withRawDatabase(path) { db in
            let statement = try db.statement("SELECT tag FROM sv_record WHERE length(ciphertext) = \(length) LIMIT 1")
            defer { statement.reset() }
            guard try statement.step() else { throw VaultError(.notFound, "no row of length \(length)") }
            return statement.blob(0)
        }
    }

    func flipByte(table: String, column: String, whereClause: String, at index: Int = 0, in path: String) throws {
        try withRawDatabase(path) { db in
            let select = try db.statement("SELECT \(column) FROM \(table) WHERE \(whereClause)")
            guard try select.step() else { throw VaultError(.notFound, "no row") }
            var value = select.blob(0)
            select.reset()
            value[index % value.count] ^= 0x01
            let update = try db.statement("UPDATE \(table) SET \(column) = ? WHERE \(whereClause)")
            try value.withUnsafeBytes { try update.bind($0, at: 1) }
            try update.run()
        }
    }

    func setInteger(table: String, column: String, value: Int64, whereClause: String = "1", in path: String) throws {
        try withRawDatabase(path) { db in try db.execute("UPDATE \(table) SET \(column) = \(value) WHERE \(whereClause)") }
    }

    static func tagClause(_ tag: [UInt8]) -> String { "tag = x'\(hex(tag))'" }

    @Test func wrongPassphraseIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            await #expect(throws: VaultError(.wrongPassphrase, "")) { _ = try await open(path, "wrong passphrase") }
            let vault = try await open(path)  // and nothing was damaged
            #expect(try await vault.load() == (try sampleSession()))
            try await vault.close()
        }
    }

    @Test(arguments: [RecordKind.channelState, .sessionExtras, .updateState, .user, .manifest], ["nonce", "ciphertext"])
    func flippedSealedByteIsTamperedNamingTheKind(kind: RecordKind, column: String) async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            let tag = try tagOfRecord(withCiphertextLength: Self.ciphertextLengthByKind[kind]!, in: path)
            try flipByte(table: "sv_record", column: column, whereClause: Self.tagClause(tag), at: 5, in: path)
            try await expectOpenFails(path, code: .tampered, kind: kind)
        }
    }

    @Test func flippedByteInDataCenterRecordIsTampered() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try flipByte(table: "sv_record", column: "ciphertext", whereClause: "length(ciphertext) > 500", at: 300, in: path)
            try await expectOpenFails(path, code: .tampered, kind: .dataCenter)
        }
    }

    @Test(arguments: ["tag", "kind"])
    func alteredRowKeyIsTampered(column: String) async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            let tag = try tagOfRecord(withCiphertextLength: Self.ciphertextLengthByKind[.user]!, in: path)
            if column == "tag" {
                try flipByte(table: "sv_record", column: "tag", whereClause: Self.tagClause(tag), at: 3, in: path)
            } else {
                try withRawDatabase(path) { db in
                    try db.execute("UPDATE sv_record SET kind = (kind + 1) % 256 WHERE \(Self.tagClause(tag))")
                }
            }
            try await expectOpenFails(path, code: .tampered)
        }
    }

    @Test func swappedCiphertextsAreTampered() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            let user = try tagOfRecord(withCiphertextLength: Self.ciphertextLengthByKind[.user]!, in: path)
            let state = try tagOfRecord(withCiphertextLength: Self.ciphertextLengthByKind[.updateState]!, in: path)
            try withRawDatabase(path) { db in
                try db.execute(
                    """
                    CREATE TEMP TABLE saved AS SELECT tag, nonce, ciphertext FROM sv_record;
                    UPDATE sv_record SET nonce = (SELECT nonce FROM saved WHERE \(Self.tagClause(state))),
                        ciphertext = (SELECT ciphertext FROM saved WHERE \(Self.tagClause(state))) WHERE \(Self.tagClause(user));
                    UPDATE sv_record SET nonce = (SELECT nonce FROM saved WHERE \(Self.tagClause(user))),
                        ciphertext = (SELECT ciphertext FROM saved WHERE \(Self.tagClause(user))) WHERE \(Self.tagClause(state));
                    """
                )
            }
            try await expectOpenFails(path, code: .tampered)
        }
    }

    @Test func swappedChannelRowsAreTampered() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try withRawDatabase(path) { db in
                // Two channel records (same kind, same length): swap their sealed values.
                try db.execute(
                    """
                    CREATE TEMP TABLE two AS SELECT tag, nonce, ciphertext FROM sv_record WHERE length(ciphertext) = 28 LIMIT 2;
                    UPDATE sv_record SET nonce = (SELECT nonce FROM two WHERE two.tag <> sv_record.tag),
                        ciphertext = (SELECT ciphertext FROM two WHERE two.tag <> sv_record.tag)
                        WHERE tag IN (SELECT tag FROM two);
                    """
                )
            }
            try await expectOpenFails(path, code: .tampered, kind: .channelState)
        }
    }

    @Test func recordCopiedFromAnotherVaultWithTheSamePassphraseIsTampered() async throws {
        try await withTemporaryDirectory { directory in
            let victim = try await makeVault(in: directory, name: "victim")
            let donor = try await makeVault(in: directory, name: "donor")
            let length = Self.ciphertextLengthByKind[.updateState]!
            let donorTag = try tagOfRecord(withCiphertextLength: length, in: donor)
            let (nonce, ciphertext) = try withRawDatabase(donor) { db in
                let statement = try db.statement("SELECT nonce, ciphertext FROM sv_record WHERE \(Self.tagClause(donorTag))")
                defer { statement.reset() }
                _ = try statement.step()
                return (statement.blob(0), statement.blob(1))
            }
            // Same kind, same session content, same passphrase: only the vault differs.
            try withRawDatabase(victim) { db in
                try db.execute(
                    "UPDATE sv_record SET nonce = x'\(hex(nonce))', ciphertext = x'\(hex(ciphertext))' WHERE length(ciphertext) = \(length)"
                )
            }
            try await expectOpenFails(victim, code: .tampered, kind: .updateState)
        }
    }

    @Test func wholeRowCopiedFromAnotherVaultIsTampered() async throws {
        try await withTemporaryDirectory { directory in
            let victim = try await makeVault(in: directory, name: "victim")
            let donor = try await makeVault(in: directory, name: "donor")
            try withRawDatabase(victim) { db in
                try db.execute("ATTACH DATABASE '\(donor)' AS donor")
                try db.execute("INSERT INTO sv_record SELECT * FROM donor.sv_record WHERE length(ciphertext) = 28 LIMIT 1")
                try db.execute("DETACH DATABASE donor")
            }
            try await expectOpenFails(victim, code: .tampered)
        }
    }

    @Test func deletedRowIsDetectedByTheManifest() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try withRawDatabase(path) { db in
                try db.execute("DELETE FROM sv_record WHERE tag = (SELECT tag FROM sv_record WHERE length(ciphertext) = 28 LIMIT 1)")
            }
            try await expectOpenFails(path, code: .tampered, kind: .manifest)
        }
    }

    @Test func deletedManifestIsTampered() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try withRawDatabase(path) { db in try db.execute("DELETE FROM sv_record WHERE length(ciphertext) = 56") }
            try await expectOpenFails(path, code: .tampered, kind: .manifest)
        }
    }

    @Test func resurrectedOldRowIsDetectedByTheManifest() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/resurrect.session"
            let vault = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: versionOneConfiguration())
            try await vault.save(try sampleSession(channels: 3))
            try await vault.close()
            // Keep a genuine sealed channel row, then let the vault forget that channel.
            let saved = try withRawDatabase(path) { db in
                let statement = try db.statement("SELECT tag, kind, nonce, ciphertext FROM sv_record WHERE length(ciphertext) = 28 LIMIT 1")
                defer { statement.reset() }
                _ = try statement.step()
                return (statement.blob(0), statement.int64(1), statement.blob(2), statement.blob(3))
            }
            let reopened = try await open(path)
            var session = try #require(try await reopened.load())
            session.updateState?.channels = [:]
            try await reopened.save(session)
            try await reopened.close()
            // Insert the genuine (authenticating) row again.
            try withRawDatabase(path) { db in
                try db.execute(
                    "INSERT INTO sv_record VALUES (x'\(hex(saved.0))', \(saved.1), x'\(hex(saved.2))', x'\(hex(saved.3))')"
                )
            }
            try await expectOpenFails(path, code: .tampered, kind: .manifest)
        }
    }

    @Test func headerFieldsAreAuthenticated() async throws {
        try await withTemporaryDirectory { directory in
            // vault_id: every key and tag depends on it, and the header MAC covers it.
            var path = try await makeVault(in: directory, name: "vaultid")
            try flipByte(table: "sv_header", column: "vault_id", whereClause: "id = 1", in: path)
            try await expectOpenFails(path, code: .tampered)
            // The MAC itself.
            path = try await makeVault(in: directory, name: "mac")
            try flipByte(table: "sv_header", column: "mac", whereClause: "id = 1", at: 31, in: path)
            try await expectOpenFails(path, code: .tampered)
            // The magic.
            path = try await makeVault(in: directory, name: "magic")
            try flipByte(table: "sv_header", column: "magic", whereClause: "id = 1", in: path)
            try await expectOpenFails(path, code: .notAVault)
            // Another readable format version (1 relabelled as 2): the header MAC covers the version.
            path = try await makeVault(in: directory, name: "version")
            try setInteger(table: "sv_header", column: "format_version", value: 2, in: path)
            try await expectOpenFails(path, code: .tampered)
            // A future format version.
            path = try await makeVault(in: directory, name: "future")
            try setInteger(table: "sv_header", column: "format_version", value: 3, in: path)
            try await expectOpenFails(path, code: .unsupportedFormatVersion)
            // The keyslot's slot number is covered by the header MAC.
            path = try await makeVault(in: directory, name: "slot")
            try setInteger(table: "sv_keyslot", column: "slot", value: 5, in: path)
            try await expectOpenFails(path, code: .tampered)
            // An unknown KDF algorithm.
            path = try await makeVault(in: directory, name: "kdf")
            try setInteger(table: "sv_keyslot", column: "kdf", value: 9, in: path)
            try await expectOpenFails(path, code: .unsupportedFormatVersion)
        }
    }

    /// Salt, nonce and wrapped key decide the KEK or authenticate under it: an altered keyslot is
    /// indistinguishable from a wrong passphrase, and is reported as one.
    @Test(arguments: ["salt", "nonce", "wrapped_key"])
    func alteredKeyslotBytesAreRefused(column: String) async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try flipByte(table: "sv_keyslot", column: column, whereClause: "slot = 0", at: 7, in: path)
            try await expectOpenFails(path, code: .wrongPassphrase)
        }
    }

    @Test func alteredKDFParametersWithinBoundsAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try setInteger(table: "sv_keyslot", column: "opslimit", value: 2, in: path)
            try await expectOpenFails(path, code: .wrongPassphrase)
        }
    }

    @Test(arguments: [
        (opsLimit: Int64(1), memLimit: Int64(64 << 20)),  // below the opslimit floor
        (opsLimit: 3, memLimit: 8 << 20),  // below the memlimit floor
        (opsLimit: 1000, memLimit: 64 << 20),  // above the opslimit cap: minutes of work
        (opsLimit: 3, memLimit: 64 << 30),  // above the memlimit cap: 64 GiB
    ])
    func kdfParametersOutOfBoundsAreRefusedBeforeDeriving(opsLimit: Int64, memLimit: Int64) async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try setInteger(table: "sv_keyslot", column: "opslimit", value: opsLimit, in: path)
            try setInteger(table: "sv_keyslot", column: "memlimit", value: memLimit, in: path)
            var configuration = SessionVault.Configuration()  // no test flag: the real bounds
            configuration.mode = .openExisting
            let derivations = DerivationCounter()
            await DerivationCounter.$current.withValue(derivations) {
                await #expect(throws: VaultError(.kdfParametersOutOfBounds, "")) {
                    _ = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: configuration)
                }
            }
            // Running Argon2id with these parameters would take minutes or tens of GiB: it never starts.
            #expect(derivations.count == 0)
        }
    }

    @Test func testVaultParametersNeedTheExplicitTestFlag() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)  // made with opslimit 1, memlimit 8 KiB
            var configuration = SessionVault.Configuration()
            configuration.mode = .openExisting
            await #expect(throws: VaultError(.kdfParametersOutOfBounds, "")) {
                _ = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: configuration)
            }
            var creating = SessionVault.Configuration()
            creating.kdf = .insecureForTestingOnly
            await #expect(throws: VaultError(.kdfParametersOutOfBounds, "")) {
                _ = try await SessionVault.open(at: directory + "/new", passphrase: passphrase(), configuration: creating)
            }
            #expect(!fileExists(directory + "/new.session"))
        }
    }

    @Test func zeroLengthFileIsNotAVault() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/empty.session"
            _ = FileManager.default.createFile(atPath: path, contents: Data())
            try await expectOpenFails(path, code: .notAVault)
        }
    }

    @Test func nonSQLiteFileIsNotAVault() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/text.session"
            _ = FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x41, count: 4096))
            try await expectOpenFails(path, code: .notAVault)
        }
    }

    @Test func sqliteFileOfAnotherApplicationIsNotAVault() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/telethon.session"
            _ = FileManager.default.createFile(atPath: path, contents: Data())
            try withRawDatabase(path) { db in
                try db.execute("CREATE TABLE version (version integer primary key); INSERT INTO version VALUES (7);")
                try db.execute("CREATE TABLE sessions (dc_id integer primary key, server_address text, port integer, auth_key blob)")
            }
            do {
                _ = try await open(path)
                Issue.record("opened another application's database")
            } catch let error as VaultError {
                #expect(error.code == .notAVault)
                #expect(error.message.contains("sessions") && error.message.contains("version"))
            }
        }
    }

    @Test(arguments: [50, 100, 1024, 4096])
    func truncatedVaultIsCorrupt(keeping bytes: Int) async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            let original = fileBytes(path)
            #expect(original.count > 4096 + 1024)
            try Data(original.prefix(bytes)).write(to: URL(fileURLWithPath: path))
            try await expectOpenFails(path, code: .corrupt)
        }
    }

    @Test func truncatedToHalfIsCorrupt() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            let original = fileBytes(path)
            try Data(original.prefix(original.count / 2)).write(to: URL(fileURLWithPath: path))
            try await expectOpenFails(path, code: .corrupt)
        }
    }

    @Test func missingFileDirectoryAndBadPaths() async throws {
        try await withTemporaryDirectory { directory in
            await #expect(throws: VaultError(.notFound, "")) { _ = try await open(directory + "/absent.session") }
            await #expect(throws: VaultError(.notFound, "")) {
                _ = try await SessionVault.open(at: directory + "/no/such/dir/v", passphrase: passphrase(), configuration: fastConfiguration())
            }
            try FileManager.default.createDirectory(atPath: directory + "/adir.session", withIntermediateDirectories: false)
            await #expect(throws: VaultError(.invalidArgument, "")) { _ = try await open(directory + "/adir.session") }
            await #expect(throws: VaultError(.invalidArgument, "")) { _ = try await open(directory + "/") }
            let created = try await SessionVault.open(at: directory + "/exists", passphrase: passphrase(), configuration: fastConfiguration())
            try await created.close()
            await #expect(throws: VaultError(.alreadyExists, "")) {
                _ = try await SessionVault.open(at: directory + "/exists", passphrase: passphrase(), configuration: fastConfiguration(mode: .create))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["adir.session", "exists.session", "exists.session-lock"])
        }
    }
}
