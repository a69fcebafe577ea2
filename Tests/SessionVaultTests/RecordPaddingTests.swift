import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Format version 2 pads every record plaintext to a multiple of 128 bytes (docs/FORMAT.md §5.4), so
/// that ciphertext lengths no longer tell the count of each record kind, username lengths, or which
/// cached peers have a username or phone number (issue #11, item 3). Version 1 vaults still open,
/// and a key rotation migrates them to version 2.
@Suite("Record padding (format version 2)")
struct RecordPaddingTests {
    /// A configuration that writes `version` (1 only to make the vaults version 2 must keep reading).
    func configuration(writing version: UInt32, mode: SessionVault.Configuration.Mode = .openOrCreate) -> SessionVault.Configuration {
        var configuration = fastConfiguration(mode: mode)
        configuration.writesFormatVersionForTesting = version
        return configuration
    }

    /// The length of every `sv_record` ciphertext, sorted: what a reader without the key sees.
    func ciphertextLengths(_ path: String) throws -> [Int] {
        try withRawDatabase(path) { db in
            let statement = try db.statement("SELECT length(ciphertext) FROM sv_record ORDER BY 1")
            defer { statement.reset() }
            var lengths: [Int] = []
            while try statement.step() { lengths.append(Int(statement.int64(0))) }
            return lengths
        }
    }

    func formatVersion(_ path: String) throws -> Int64 {
        try withRawDatabase(path) { db in
            let statement = try db.statement("SELECT format_version FROM sv_header")
            defer { statement.reset() }
            _ = try statement.step()
            return statement.int64(0)
        }
    }

    func session(username: String, channels: Int) throws -> Session {
        var states: [Int64: Int32] = [:]
        for i in 0..<channels { states[1_000_000_000_000 + Int64(i)] = Int32(100 + i) }
        return Session(
            dataCenters: [
                DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.51", port: 443), authKey: try patternKey(seed: 9)),
                DataCenter(id: 4, ipv4: Endpoint(host: "149.154.167.91", port: 443)),
            ],
            user: LoggedInUser(id: 777_000_001, dataCenterID: 2, isBot: false, username: username),
            updateState: UpdateState(pts: 10, qts: 0, date: 1_764_000_000, seq: 1, channels: states)
        )
    }

    /// Writes a vault of `version` holding `session` and `peers`, and returns its ciphertext lengths.
    func lengths(version: UInt32, session: Session, peers: [Peer], in directory: String, name: String) async throws -> [Int] {
        let vault = try await SessionVault.open(at: directory + "/" + name, passphrase: passphrase(), configuration: configuration(writing: version))
        try await vault.save(session)
        if !peers.isEmpty { try await vault.upsertPeers(peers) }
        let path = try #require(vault.path)
        #expect(await vault.formatVersion == version)
        try await vault.close()
        return try ciphertextLengths(path)
    }

    /// The measurement of the review, repeated: two vaults with the same number of rows, one with six
    /// channels, two bare peers and a 3-character username, the other with two channels, two peers
    /// that have a username and a phone number (so four lookup entries) and a 16-character username.
    /// Version 1 gives them different length multisets (the per-kind counts and the username length
    /// are readable); version 2 gives identical ones.
    @Test(arguments: [UInt32(1), 2])
    func perKindCountsAndUsernameLengthsAreIndistinguishableOnlyInVersion2(version: UInt32) async throws {
        try await withTemporaryDirectory { directory in
            let bare = [
                Peer(id: 501, accessHash: 1, kind: .user, name: "Ann", updatedAt: 1_764_000_000),
                Peer(id: 502, accessHash: 2, kind: .user, name: "Bob", updatedAt: 1_764_000_000),
            ]
            let identified = [
                Peer(id: 601, accessHash: 3, kind: .user, username: "carol_example", phoneNumber: "447700900123", name: "Carol", updatedAt: 1_764_000_000),
                Peer(id: 602, accessHash: 4, kind: .bot, username: "dave_the_bot", phoneNumber: "447700900456", name: "Dave", updatedAt: 1_764_000_000),
            ]
            let a = try await lengths(version: version, session: try session(username: "abc", channels: 6), peers: bare, in: directory, name: "a")
            let b = try await lengths(
                version: version, session: try session(username: "abcdefghijklmnop", channels: 2), peers: identified, in: directory, name: "b"
            )
            #expect(a.count == b.count, "the two vaults must have the same number of rows")
            if version == 1 {
                #expect(a != b, "version 1: the lengths tell the two vaults apart (the leak this version has)")
            } else {
                #expect(a == b, "version 2: the ciphertext lengths of the two vaults must be the same multiset")
                // Everything but the data center holding an auth key is in the 128-byte bucket.
                #expect(a.filter { $0 != 128 + 16 }.count == 1)
            }
        }
    }

    /// Every record of a version-2 vault, of every kind, is a positive multiple of 128 bytes once opened.
    @Test func everyVersion2CiphertextIsAPaddedLength() async throws {
        try await withTemporaryDirectory { directory in
            let lengths = try await lengths(
                version: 2, session: try sampleSession(channels: 20),
                peers: [Peer(id: 9, accessHash: 9, kind: .channel, username: "news", name: String(repeating: "n", count: 200))],
                in: directory, name: "v2"
            )
            #expect(!lengths.isEmpty)
            for length in lengths { #expect((length - 16) % 128 == 0 && length - 16 >= 128, "ciphertext of \(length) bytes") }
            // The long-named peer and its lookup entry (about 240 bytes) are in the 256-byte bucket.
            #expect(lengths.filter { $0 == 256 + 16 }.count == 2)
        }
    }

    /// A version-1 vault opens, keeps its version (and unpadded records) through saves, and a key
    /// rotation migrates it to version 2: header version 2, every record padded, same contents.
    @Test func version1VaultsOpenAndRotationMigratesThemToVersion2() async throws {
        try await withTemporaryDirectory { directory in
            let session = try sampleSession(channels: 7)
            let peers = [
                Peer(id: 11, accessHash: 5, kind: .user, username: "erin", phoneNumber: "15550001", name: "Erin"),
                Peer(id: -1_000_000_000_077, accessHash: 6, kind: .supergroup, username: "chat", name: "A chat"),
            ]
            let old = try await SessionVault.open(at: directory + "/old", passphrase: passphrase(), configuration: configuration(writing: 1))
            try await old.save(session)
            try await old.upsertPeers(peers)
            let path = try #require(old.path)
            try await old.close()
            #expect(try formatVersion(path) == 1)
            #expect(try ciphertextLengths(path).contains(12 + 16), "version 1 channel states are not padded")

            // Read by the default configuration (which writes version 2): still version 1 after a save.
            let reopened = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            #expect(await reopened.formatVersion == 1)
            #expect(try await reopened.load() == session)
            try await reopened.saveChannelState(channelID: 1_000_000_000_099, pts: 5)
            try await reopened.close()
            #expect(try formatVersion(path) == 1)
            #expect(try ciphertextLengths(path).filter { $0 == 12 + 16 }.count == 8)

            let rotating = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            let expected = try #require(try await rotating.load())
            _ = try await rotating.rotateDataKey(passphrase: passphrase())
            #expect(await rotating.formatVersion == 2)
            try await rotating.close()
            #expect(try formatVersion(path) == 2)
            for length in try ciphertextLengths(path) { #expect((length - 16) % 128 == 0, "ciphertext of \(length) bytes after rotate") }

            let migrated = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            #expect(await migrated.formatVersion == 2)
            #expect(try await migrated.load() == expected)
            #expect(try await migrated.peer(username: "erin")?.id == 11)
            #expect(try await migrated.peer(phoneNumber: "15550001")?.id == 11)
            #expect(try await migrated.peer(id: -1_000_000_000_077)?.username == "chat")
            try await migrated.close()
        }
    }

    /// A format version this build does not read is refused before anything is derived.
    @Test func version3IsUnsupported() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/v3", passphrase: passphrase(), configuration: fastConfiguration())
            let path = try #require(vault.path)
            try await vault.close()
            try withRawDatabase(path) { try $0.execute("UPDATE sv_header SET format_version = 3") }
            await #expect(throws: VaultError.self) {
                _ = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            }
            do {
                _ = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            } catch let error as VaultError {
                #expect(error.code == .unsupportedFormatVersion)
            }
        }
    }

    /// Tampering with a version-2 vault, without knowing which row is which: one byte of the nonce, of
    /// the Poly1305 tag, of the padded body and the last byte (inside the padding) of every row's
    /// ciphertext, and the row cut by one byte. Each copy is refused, and never opens.
    @Test func everyAlteredRowOfAVersion2VaultIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/base", passphrase: passphrase(), configuration: fastConfiguration())
            try await vault.save(try sampleSession(channels: 2))
            try await vault.upsertPeers([Peer(id: 21, accessHash: 1, kind: .user, username: "frank", phoneNumber: "15550021")])
            let path = try #require(vault.path)
            try await vault.close()
            let tags: [[UInt8]] = try withRawDatabase(path) { db in
                let statement = try db.statement("SELECT tag FROM sv_record ORDER BY tag")
                defer { statement.reset() }
                var tags: [[UInt8]] = []
                while try statement.step() { tags.append(statement.blob(0)) }
                return tags
            }
            #expect(tags.count == 12)
            var refusals: [VaultError.Code: Int] = [:]
            for (row, tag) in tags.enumerated() {
                let tagHex = tag.map { String(format: "%02x", $0) }.joined()
                // Each change XORs a byte (so it always changes it) or cuts the last one.
                let changes: [(column: String, alter: ([UInt8]) -> [UInt8])] = [
                    ("nonce", { var b = $0; b[3] ^= 0xFF; return b }),
                    ("ciphertext", { var b = $0; b[0] ^= 0x01; return b }),
                    ("ciphertext", { var b = $0; b[20] ^= 0x5A; return b }),
                    ("ciphertext", { var b = $0; b[b.count - 1] ^= 0x01; return b }),
                    ("ciphertext", { Array($0.dropLast()) }),
                ]
                for (index, change) in changes.enumerated() {
                    let copy = directory + "/row\(row)-\(index).session"
                    try FileManager.default.copyItem(atPath: path, toPath: copy)
                    try withRawDatabase(copy) { db in
                        let select = try db.statement("SELECT \(change.column) FROM sv_record WHERE tag = x'\(tagHex)'")
                        _ = try select.step()
                        let altered = change.alter(select.blob(0))
                        select.reset()
                        let update = try db.statement("UPDATE sv_record SET \(change.column) = ? WHERE tag = x'\(tagHex)'")
                        defer { update.reset() }
                        try altered.withUnsafeBytes { try update.bind($0, at: 1) }
                        try update.run()
                    }
                    do {
                        let opened = try await SessionVault.open(at: copy, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
                        try await opened.close()
                        Issue.record("row \(row), change \(index): the altered vault opened")
                    } catch let error as VaultError {
                        refusals[error.code, default: 0] += 1
                        #expect(error.code == .tampered || error.code == .corrupt, "row \(row), change \(index): \(error)")
                    }
                }
            }
            // The cut ciphertexts are refused by length, before decryption; everything else by authentication.
            #expect(refusals[.corrupt] == tags.count)
            #expect(refusals[.tampered] == 4 * tags.count)
        }
    }

    // MARK: Malformed padding, sealed with the vault's own key (what only a key holder can write)

    /// Seals `plaintext` as-is (no padding added) under the record key of a version-2 channel state.
    func sealRaw(_ plaintext: [UInt8], keys: KeySchedule, channel: Int64) -> SealedRecord {
        let tag = keys.tag(kind: .channelState, identity: ByteWriter.littleEndian(channel))
        let key = keys.recordKey(kind: .channelState, tag: tag)
        let sealed = plaintext.withUnsafeBytes { SecretBox.seal($0, key: key) }
        return SealedRecord(tag: tag, maskedKind: RecordKind.channelState.rawValue ^ keys.mask(tag: tag), nonce: sealed.nonce, ciphertext: sealed.ciphertext)
    }

    @Test func malformedPaddingIsRefusedAsCorruptNamingTheKind() throws {
        let keys = try KeySchedule(dataKey: try SecretBytes.random(count: 32), vaultID: Sodium.randomPublicBytes(count: 16), formatVersion: 2)
        let sealer = try RecordSealer(keys: keys)
        let channel: Int64 = 1_000_000_000_042
        let body = ByteWriter.littleEndian(channel) + ByteWriter.littleEndian(Int32(7))
        let wellFormed = body + [0x80] + [UInt8](repeating: 0, count: 128 - 13)
        // The well-formed padding opens (so the cases below fail for their padding alone).
        let opened = try sealer.open(sealRaw(wellFormed, keys: keys, channel: channel))
        #expect(opened.kind == .channelState)

        let cases: [(String, [UInt8])] = [
            ("unpadded (a version-1 plaintext)", body),
            ("no 0x80 marker", body + [UInt8](repeating: 0, count: 128 - 12)),
            ("a non-zero byte after the marker", body + [0x80] + [UInt8](repeating: 0, count: 128 - 14) + [1]),
            ("the marker is 0x01", body + [0x01] + [UInt8](repeating: 0, count: 128 - 13)),
            ("one block too many", body + [0x80] + [UInt8](repeating: 0, count: 256 - 13)),
            ("127 bytes", body + [0x80] + [UInt8](repeating: 0, count: 127 - 13)),
            ("129 bytes", body + [0x80] + [UInt8](repeating: 0, count: 129 - 13)),
            ("padding inside the plaintext", body + [0x80, 0, 0, 5] + [0x80] + [UInt8](repeating: 0, count: 128 - 17)),
        ]
        for (name, plaintext) in cases {
            #expect(throws: VaultError.self, "\(name)") { _ = try sealer.open(sealRaw(plaintext, keys: keys, channel: channel)) }
            do {
                _ = try sealer.open(sealRaw(plaintext, keys: keys, channel: channel))
            } catch {
                #expect(error.code == .corrupt, "\(name): \(error)")
                #expect(error.recordKind == .channelState, "\(name)")
            }
        }

        // A version-1 reader of the same vault key would see the padding as trailing bytes.
        let v1Keys = try KeySchedule(dataKey: keys.dataKey, vaultID: keys.vaultID, formatVersion: 1)
        let v1Sealer = try RecordSealer(keys: v1Keys)
        #expect(throws: VaultError.self) { _ = try v1Sealer.open(sealRaw(wellFormed, keys: v1Keys, channel: channel)) }
    }

    /// The size cost of padding at 10,000 channels and 10,000 peers (the benchmark's peers:
    /// `bench_peer_N` usernames, a phone number for every third), version 1 against version 2. The
    /// figures go to BENCHMARKS.md; what is asserted is that every version-2 record is one padded
    /// length, and the total is what the padding rule predicts from the version-1 lengths.
    @Test func sizeCostAtTenThousandChannelsAndPeers() async throws {
        try await withTemporaryDirectory { directory in
            var states: [Int64: Int32] = [:]
            for i in 0..<10_000 { states[1_000_000_000_000 + Int64(i)] = Int32(i % 100_000) }
            var dataCenters: [DataCenter] = []
            for id in Int32(1)...5 {
                dataCenters.append(DataCenter(id: id, ipv4: Endpoint(host: "149.154.167.\(50 + id)", port: 443), authKey: try patternKey(seed: UInt8(id))))
            }
            let session = Session(
                dataCenters: dataCenters,
                user: LoggedInUser(id: 5_000_000_001, dataCenterID: 2, isBot: true, username: "bench_bot"),
                updateState: UpdateState(pts: 1, qts: 0, date: 1_764_000_000, seq: 1, channels: states)
            )
            var peers: [Peer] = []
            for i in 0..<10_000 {
                peers.append(
                    Peer(
                        id: 10_000_000 + Int64(i), accessHash: Int64(i) &* 2_654_435_761, kind: i % 10 == 0 ? .bot : .user,
                        username: "bench_peer_\(i)", phoneNumber: i % 3 == 0 ? "4470000\(10_000 + i)" : nil, updatedAt: 1_764_000_000
                    )
                )
            }
            var files: [UInt32: (bytes: Int, ciphertext: Int, rows: Int)] = [:]
            var v1Lengths: [Int] = []
            for version in [UInt32(1), 2] {
                let lengths = try await self.lengths(version: version, session: session, peers: peers, in: directory, name: "size-v\(version)")
                let size = try #require((try FileManager.default.attributesOfItem(atPath: directory + "/size-v\(version).session")[.size] as? NSNumber)?.intValue)
                files[version] = (size, lengths.reduce(0, +), lengths.count)
                if version == 1 { v1Lengths = lengths }
            }
            let v1 = try #require(files[1]), v2 = try #require(files[2])
            #expect(v1.rows == v2.rows)
            let predicted = v1Lengths.map { RecordPadding.paddedCount($0 - 16) + 16 }.reduce(0, +)
            #expect(v2.ciphertext == predicted)
            // Ciphertext bytes other block sizes would give (computed from the version-1 plaintexts).
            let byBlock = [32, 64, 128, 256].map { block in
                (block, v1Lengths.map { (($0 - 16) / block + 1) * block + 16 }.reduce(0, +))
            }
            print(
                "[padding-size] 10,000 channels + 10,000 peers, \(v1.rows) rows: file v1 \(v1.bytes) bytes, v2 \(v2.bytes) bytes "
                    + "(\(String(format: "%.2f", Double(v2.bytes) / Double(v1.bytes)))x); ciphertext v1 \(v1.ciphertext), v2 \(v2.ciphertext); "
                    + "ciphertext by block: " + byBlock.map { "\($0.0): \($0.1)" }.joined(separator: ", ")
            )
        }
    }
}
