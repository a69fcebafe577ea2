#if DEBUG
import Foundation
@_spi(Testing) @testable import SessionVaultKit

/// Fixtures of format version 2 (`docs/FORMAT.md` §5.4: every record plaintext padded to a multiple
/// of 128 bytes), added next to the frozen version-1 ones: a vault written as version 2, a version-1
/// vault migrated by a data-key rotation, and the padding a reader must refuse.
extension Generator {
    static let version2Passphrase = "version 2 fixture: padded records"
    static let migratedPassphrase = "version 2 fixture: migrated from version 1"

    func makeVersion2Fixtures() async throws {
        let padded = try await makeVersion2Vault()
        try await makeMigratedVault()
        try await makePaddingTamperFixtures(base: padded)
    }

    /// Every record kind, few records: four data centers (one IPv6-only, one with a temporary key),
    /// a user with a username, update state with four channels, extras, two peers (one with a
    /// username and a phone number, one with neither) and their two lookup entries.
    func version2Session(label: String) throws -> (Session, [Peer]) {
        let session = Session(
            dataCenters: [
                DataCenter(id: 1, ipv6: Endpoint(host: FixtureSessions.ipv6[1]!, port: 443)),
                DataCenter(
                    id: 2,
                    ipv4: Endpoint(host: FixtureSessions.ipv4[2]!, port: 443),
                    ipv6: Endpoint(host: FixtureSessions.ipv6[2]!, port: 443),
                    authKey: try FixtureSessions.authKey("\(label)/dc2"),
                    temporaryAuthKey: try FixtureSessions.authKey("\(label)/dc2/temporary")
                ),
                DataCenter(id: 2, ipv4: Endpoint(host: FixtureSessions.ipv4[2]!, port: 443), authKey: try FixtureSessions.authKey("\(label)/dc2/media"), isMediaOnly: true),
                DataCenter(id: 4, ipv4: Endpoint(host: FixtureSessions.ipv4[4]!, port: 443)),
            ],
            user: LoggedInUser(id: 7_200_000_002, dataCenterID: 2, isBot: false, username: "version2_user"),
            updateState: UpdateState(
                pts: 2_000, qts: 2, date: 1_766_000_000, seq: 20,
                channels: FixtureSessions.channels(count: 4, base: 1_800_000_000, salt: 2)
            ),
            apiID: 611_335,
            isTestMode: true
        )
        let peers = [
            Peer(id: 7_770_001, accessHash: 0x0102_0304_0506_0708, kind: .user, username: "padded_peer", phoneNumber: "15550002", name: "Padded Peer", updatedAt: 1_766_000_001),
            Peer(id: -1_000_000_000_000 - 7_777, accessHash: -2, kind: .supergroup),
        ]
        return (session, peers)
    }

    func makeVersion2Vault() async throws -> BuiltVault {
        let (session, peers) = try version2Session(label: "version-2")
        writesFormatVersion = 2
        defer { writesFormatVersion = 1 }
        let file = try await createVault("v2-padded", passphrase: Self.version2Passphrase, kdf: .insecureForTestingOnly) { vault in
            try await vault.save(session)
            try await vault.upsertPeers(peers)
        }
        var contents = VaultContents(session: session)
        contents.upsert(peers)
        try await verify(file, passphrase: Self.version2Passphrase, expected: contents)
        add(
            FixtureEntry(
                file: file,
                category: "known-answer",
                made: "sv-fixtures: format version 2 (records padded, docs/FORMAT.md 5.4): create, save, upsertPeers; test-floor Argon2id; base of tampered/v2-*",
                opens: [.ok(Self.version2Passphrase), .error(.wrongPassphrase, Passphrases.wrong), .error(.kdfParametersOutOfBounds, Self.version2Passphrase, .production)],
                contents: contents,
                formatVersion: 2
            )
        )
        return BuiltVault(file: file, passphrase: Self.version2Passphrase, contents: contents)
    }

    /// Written as version 1, then reopened by a version-2 writer and rotated: the rotation re-seals
    /// every record padded and writes format version 2.
    func makeMigratedVault() async throws {
        let (session, peers) = try version2Session(label: "migrated")
        let file = try await createVault("v2-migrated-from-v1", passphrase: Self.migratedPassphrase, kdf: .insecureForTestingOnly) { vault in
            try await vault.save(session)
            try await vault.upsertPeers(peers)
        }
        writesFormatVersion = 2
        defer { writesFormatVersion = 1 }
        try await reopenVault(file, passphrase: Self.migratedPassphrase, stage: "rotate") { vault in
            _ = try await vault.rotateDataKey(passphrase: try Passphrase(copying: Self.migratedPassphrase))
            guard await vault.formatVersion == 2 else { throw GeneratorError("rotateDataKey did not migrate to format version 2") }
        }
        var contents = VaultContents(session: session)
        contents.upsert(peers)
        try await verify(file, passphrase: Self.migratedPassphrase, expected: contents)
        add(
            FixtureEntry(
                file: file,
                category: "known-answer",
                made: "sv-fixtures: created as format version 1 (save, upsertPeers), then reopened and rotateDataKey: migrated to format version 2 (every record re-sealed padded); test-floor Argon2id",
                opens: [.ok(Self.migratedPassphrase), .error(.wrongPassphrase, Passphrases.wrong)],
                contents: contents,
                formatVersion: 2
            )
        )
    }

    /// Records of the version-2 base re-sealed with its own data key (what only the key holder could
    /// write) whose padding breaks §5.4, and the header downgraded to version 1.
    func makePaddingTamperFixtures(base: BuiltVault) async throws {
        let p = base.passphrase
        let keys = try await unlock(base.file, passphrase: p).sealer.keys
        let session = base.contents.session!
        let channel = session.updateState!.channels.keys.sorted()[0]
        let channelTag = keys.tag(kind: .channelState, identity: RecordCodec.channelIdentity(channel))
        let userTag = keys.tag(kind: .user, identity: [])
        var channelBody = ByteWriter.littleEndian(channel)
        channelBody += ByteWriter.littleEndian(session.updateState!.channels[channel]!)
        let user = session.user!
        var userBody = ByteWriter.littleEndian(user.id) + ByteWriter.littleEndian(user.dataCenterID) + [0x02]
        userBody += ByteWriter.littleEndian(UInt16(user.username!.utf8.count)) + Array(user.username!.utf8)

        /// The row at `tag` with `plaintext` sealed as-is (no padding added) under its record key.
        func resealed(_ kind: RecordKind, _ tag: [UInt8], _ plaintext: [UInt8]) -> RawRecord {
            let key = keys.recordKey(kind: kind, tag: tag)
            let sealed = plaintext.withUnsafeBytes { SecretBox.seal($0, key: key) }
            return RawRecord(tag: tag, maskedKind: Int64(kind.rawValue ^ keys.mask(tag: tag)), nonce: sealed.nonce, ciphertext: sealed.ciphertext)
        }
        func padding(_ kind: RecordKind, _ tag: [UInt8], _ name: String, _ made: String, _ plaintext: [UInt8]) throws {
            DeterministicRandom.reseed("padding/\(name)")
            let record = resealed(kind, tag, plaintext)
            try mutate("v2-\(name)", base: base, category: "padding", made: made, opens: [.error(.corrupt, p, kind: kind.description)], formatVersion: 2) { db in
                try self.put(db, record)
            }
        }
        let zeros = { (count: Int) in [UInt8](repeating: 0, count: count) }
        try padding(.channelState, channelTag, "channel-unpadded", "a channel state re-sealed with the data key as its 12-byte plaintext, unpadded (a version-1 record): a ciphertext of 28 bytes, not 16 + a multiple of 128", channelBody)
        try padding(.channelState, channelTag, "channel-padding-127-bytes", "a channel state re-sealed padded to 127 bytes (0x80 then zeros): not a multiple of 128", channelBody + [0x80] + zeros(127 - 13))
        try padding(.channelState, channelTag, "channel-padding-no-marker", "a channel state re-sealed padded to 128 bytes with zeros only (no 0x80)", channelBody + zeros(128 - 12))
        try padding(.channelState, channelTag, "channel-padding-nonzero-after-marker", "a channel state re-sealed padded to 128 bytes: 0x80, zeros, and a last byte 0x01", channelBody + [0x80] + zeros(128 - 14) + [0x01])
        try padding(.channelState, channelTag, "channel-padding-marker-0x01", "a channel state re-sealed padded to 128 bytes with 0x01 instead of 0x80 (not ISO/IEC 7816-4)", channelBody + [0x01] + zeros(128 - 13))
        try padding(.user, userTag, "user-padding-one-block-too-many", "the user re-sealed padded to 256 bytes (0x80 then 128 + zeros): more than one block of padding", userBody + [0x80] + zeros(256 - userBody.count - 1))
        try padding(.user, userTag, "user-trailing-bytes-inside-padding", "the user re-sealed with 3 bytes after its plaintext, then correct padding to 128 bytes: the unpadded plaintext is not consumed exactly", userBody + [1, 2, 3] + [0x80] + zeros(128 - userBody.count - 4))

        try mutate(
            "v2-header-downgraded-to-version-1", base: base, category: "padding",
            made: "format_version 2 rewritten to 1 (a downgrade to the unpadded format): the header MAC covers the version",
            opens: [.error(.tampered, p, kind: "none")], formatVersion: 2
        ) { db in
            try self.run(db, "UPDATE sv_header SET format_version = 1 WHERE id = 1")
        }
    }
}
#endif
