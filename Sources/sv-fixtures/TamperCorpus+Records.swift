#if DEBUG
import CSodium
import Foundation
@_spi(Testing) @testable import SessionVaultKit

extension Generator {
    // MARK: Row helpers

    func row(_ db: SQLiteConnection, _ tag: [UInt8]) throws -> RawRecord {
        let statement = try db.statement("SELECT tag, kind, nonce, ciphertext FROM sv_record WHERE tag = ?")
        defer { statement.reset() }
        try tag.withUnsafeBytes { try statement.bind($0, at: 1) }
        guard try statement.step() else { throw GeneratorError("no record with tag \(Hex.encode(tag))") }
        return RawRecord(tag: statement.blob(0), maskedKind: statement.int64(1), nonce: statement.blob(2), ciphertext: statement.blob(3))
    }

    /// Inserts or replaces a whole row.
    func put(_ db: SQLiteConnection, _ row: RawRecord) throws {
        try run(
            db,
            "INSERT OR REPLACE INTO sv_record (tag, kind, nonce, ciphertext) VALUES (?, ?, ?, ?)",
            [.blob(row.tag), .int(row.maskedKind), .blob(row.nonce), .blob(row.ciphertext)]
        )
    }

    /// Gives the row at `tag` the sealed value (nonce and ciphertext) of `source`; its tag and masked kind stay.
    func setValue(_ db: SQLiteConnection, at tag: [UInt8], from source: RawRecord) throws {
        try run(db, "UPDATE sv_record SET nonce = ?, ciphertext = ? WHERE tag = ?", [.blob(source.nonce), .blob(source.ciphertext), .blob(tag)])
    }

    func delete(_ db: SQLiteConnection, _ tag: [UInt8]) throws {
        try run(db, "DELETE FROM sv_record WHERE tag = ?", [.blob(tag)])
    }

    /// A row of another file (read before the mutation starts).
    func row(in relative: String, _ tag: [UInt8]) throws -> RawRecord {
        guard let found = try records(relative).first(where: { $0.tag == tag }) else {
            throw GeneratorError("no record with tag \(Hex.encode(tag)) in \(relative)")
        }
        return found
    }

    // MARK: Moved, copied, deleted, resurrected and rolled-back records

    func makeRecordSetFixtures(
        base: BuiltVault,
        other: BuiltVault,
        keys: KeySchedule,
        channelTags: [[UInt8]],
        dc2: [UInt8],
        dc4: [UInt8]
    ) async throws {
        let p = base.passphrase
        func tag(_ kind: RecordKind, _ identity: [UInt8] = []) -> [UInt8] { keys.tag(kind: kind, identity: identity) }
        let user = tag(.user)
        let state = tag(.updateState)
        let extras = tag(.sessionExtras)
        let manifest = tag(.manifest)
        func set(_ name: String, _ category: String, _ made: String, _ opens: [OpenCheck], session: Session? = nil, _ mutation: (SQLiteConnection) throws -> Void) throws {
            var contents: VaultContents?
            if let session {
                contents = base.contents
                contents!.session = session
            }
            try mutate(name, base: base, category: category, made: made, opens: opens, contents: contents, mutation)
        }

        // Moved within the vault.
        try set("swapped-channel-values", "moved-record", "the sealed values of two channel-state rows swapped", [.error(.tampered, p, kind: "channel-state")]) { db in
            let a = try self.row(db, channelTags[0])
            let b = try self.row(db, channelTags[1])
            try self.setValue(db, at: a.tag, from: b)
            try self.setValue(db, at: b.tag, from: a)
        }
        try set("swapped-data-center-values", "moved-record", "the sealed values of the DC2 and DC4 rows swapped", [.error(.tampered, p, kind: "data-center")]) { db in
            let a = try self.row(db, dc2)
            let b = try self.row(db, dc4)
            try self.setValue(db, at: a.tag, from: b)
            try self.setValue(db, at: b.tag, from: a)
        }
        try set("swapped-user-and-update-state-values", "moved-record", "the sealed values of the user and update-state rows swapped (across kinds)", [.error(.tampered, p)]) { db in
            let a = try self.row(db, user)
            let b = try self.row(db, state)
            try self.setValue(db, at: a.tag, from: b)
            try self.setValue(db, at: b.tag, from: a)
        }
        try set("swapped-user-and-extras-rows", "moved-record", "the tags of the user and session-extras rows swapped (masked kind, nonce and ciphertext move together)", [.error(.tampered, p)]) { db in
            let a = try self.row(db, user)
            let b = try self.row(db, extras)
            try self.put(db, RawRecord(tag: a.tag, maskedKind: b.maskedKind, nonce: b.nonce, ciphertext: b.ciphertext))
            try self.put(db, RawRecord(tag: b.tag, maskedKind: a.maskedKind, nonce: a.nonce, ciphertext: a.ciphertext))
        }
        try set(
            "user-relabelled-as-update-state",
            "moved-record",
            "the user row's masked kind rewritten so that it unmasks to update-state (needs the data key: the strongest relabelling)",
            // The error names the record's true kind (FORMAT.md §7 step 7), not the one written over it.
            [.error(.tampered, p, kind: "user")]
        ) { db in
            let masked = Int64(RecordKind.updateState.rawValue ^ keys.mask(tag: user))
            try self.run(db, "UPDATE sv_record SET kind = ? WHERE tag = ?", [.int(masked), .blob(user)])
        }
        try set("duplicated-channel-value", "moved-record", "one channel-state row's sealed value copied onto another channel-state row", [.error(.tampered, p, kind: "channel-state")]) { db in
            let a = try self.row(db, channelTags[0])
            try self.setValue(db, at: channelTags[1], from: a)
        }

        // Copied from another fixture vault (the interactive one, another data key).
        let otherUnlocked = try await unlock(other.file, passphrase: other.passphrase)
        let otherKeys = otherUnlocked.sealer.keys
        let otherState = try row(in: other.file, otherKeys.tag(kind: .updateState, identity: []))
        let otherManifest = try row(in: other.file, otherKeys.tag(kind: .manifest, identity: []))
        let otherChannel = try row(
            in: other.file,
            otherKeys.tag(kind: .channelState, identity: RecordCodec.channelIdentity(other.contents.session!.updateState!.channels.keys.min()!))
        )
        try set("update-state-value-from-another-vault", "copied-from-another-vault", "the update-state row's sealed value replaced by the interactive vault's", [.error(.tampered, p, kind: "update-state")]) { db in
            try self.setValue(db, at: state, from: otherState)
        }
        try set("manifest-value-from-another-vault", "copied-from-another-vault", "the manifest row's sealed value replaced by the interactive vault's", [.error(.tampered, p, kind: "manifest")]) { db in
            try self.setValue(db, at: manifest, from: otherManifest)
        }
        try set("channel-row-from-another-vault", "copied-from-another-vault", "a whole channel-state row of the interactive vault inserted", [.error(.tampered, p)]) { db in
            try self.put(db, otherChannel)
        }
        let otherFile = other.file
        try set(
            "header-and-keyslots-from-another-vault",
            "copied-from-another-vault",
            "sv_header and sv_keyslot replaced by the interactive vault's: its passphrase unlocks a valid header, then no record opens",
            [
                .error(.tampered, other.passphrase),
                .error(.wrongPassphrase, p),
            ]
        ) { db in
            try db.execute("ATTACH DATABASE '\(self.path(otherFile))' AS other")
            try db.execute("DELETE FROM sv_header; INSERT INTO sv_header SELECT * FROM other.sv_header")
            try db.execute("DELETE FROM sv_keyslot; INSERT INTO sv_keyslot SELECT * FROM other.sv_keyslot")
            try db.execute("DETACH DATABASE other")
        }

        // Deleted, inserted and rolled back. Stage 1 of the tamper base holds genuine older rows.
        let stage1 = Self.tamperBaseStage1
        let earlier = base.earlier!
        let removedChannel = Set(earlier.updateState!.channels.keys).subtracting(base.contents.session!.updateState!.channels.keys).first!
        let removedTag = tag(.channelState, RecordCodec.channelIdentity(removedChannel))
        let oldChannel = try row(in: stage1, removedTag)
        let oldManifest = try row(in: stage1, manifest)
        let oldState = try row(in: stage1, state)
        let oldDC4 = try row(in: stage1, dc4)
        let manifestError = OpenCheck.error(.tampered, p, kind: "manifest")
        try set("deleted-channel-row", "deleted-or-inserted", "one channel-state row deleted", [manifestError]) { db in try self.delete(db, channelTags[2]) }
        try set("deleted-data-center-row", "deleted-or-inserted", "the DC4 row deleted", [manifestError]) { db in try self.delete(db, dc4) }
        try set("deleted-user-row", "deleted-or-inserted", "the user row deleted", [manifestError]) { db in try self.delete(db, user) }
        try set("deleted-manifest", "deleted-or-inserted", "the manifest row deleted", [manifestError]) { db in try self.delete(db, manifest) }
        try set(
            "resurrected-channel-row",
            "deleted-or-inserted",
            "the genuine row of channel \(removedChannel), deleted by a later save, inserted again from an older copy",
            [manifestError]
        ) { db in try self.put(db, oldChannel) }
        try set("older-manifest", "deleted-or-inserted", "the manifest row replaced by its genuine older version (one more record listed)", [manifestError]) { db in
            try self.put(db, oldManifest)
        }

        // What the format does not detect (docs/FORMAT.md §9): genuine older rows of the same vault
        // whose tags are all still in the record set. These open, with the older values.
        var olderState = base.contents.session!
        olderState.updateState!.pts = earlier.updateState!.pts
        olderState.updateState!.qts = earlier.updateState!.qts
        olderState.updateState!.date = earlier.updateState!.date
        olderState.updateState!.seq = earlier.updateState!.seq
        try set(
            "rollback-update-state",
            "rollback-undetected",
            "LIMITATION: the update-state row replaced by its genuine older version; the record set is unchanged, so it opens with the older state",
            [.ok(p)],
            session: olderState
        ) { db in try self.put(db, oldState) }
        var olderDC4 = base.contents.session!
        let dc4Index = olderDC4.dataCenters.firstIndex { $0.id == 4 }!
        olderDC4.dataCenters[dc4Index] = earlier.dataCenters.first { $0.id == 4 }!
        try set(
            "rollback-data-center",
            "rollback-undetected",
            "LIMITATION: the DC4 row replaced by its genuine older version (the replaced auth key comes back)",
            [.ok(p)],
            session: olderDC4
        ) { db in try self.put(db, oldDC4) }
        var resurrected = base.contents.session!
        resurrected.updateState!.channels[removedChannel] = earlier.updateState!.channels[removedChannel]!
        try set(
            "rollback-channel-and-manifest",
            "rollback-undetected",
            "LIMITATION: a deleted channel row and the older manifest restored together: the set matches the older manifest",
            [.ok(p)],
            session: resurrected
        ) { db in
            try self.put(db, oldChannel)
            try self.put(db, oldManifest)
        }
    }

    // MARK: Authentic but invalid: sealed with the vault's own keys

    /// Records that authenticate (sealed with the data key, as only the key holder could) but break a
    /// rule checked after decryption: the identity inside, the plaintext encoding, the manifest.
    func makeAuthenticButInvalidFixtures(
        base: BuiltVault,
        unlocked: SessionVault.Unlocked
    ) async throws {
        let p = base.passphrase
        let sealer = unlocked.sealer
        let keys = sealer.keys
        let session = base.contents.session!
        func seal(_ kind: RecordKind, identity: [UInt8], _ plaintext: [UInt8]) throws -> RawRecord {
            let record = try sealer.seal(kind: kind, identity: identity) { (writer) throws(VaultError) in
                try plaintext.withBytes { (raw) throws(VaultError) in try writer.bytes(raw) }
            }
            return RawRecord(tag: record.tag, maskedKind: Int64(record.maskedKind), nonce: record.nonce, ciphertext: record.ciphertext)
        }
        func encode(_ body: (inout ByteWriter) throws(VaultError) -> Void) throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: RecordSealer.maximumPlaintextByteCount)
            return try buffer.withUnsafeMutableBytes { raw in
                var writer = ByteWriter(raw)
                try body(&writer)
                return Array(writer.written)
            }
        }
        func authentic(_ name: String, _ made: String, _ opens: [OpenCheck], _ records: () throws -> [RawRecord], deleting: [[UInt8]] = []) throws {
            DeterministicRandom.reseed("authentic/\(name)")
            let sealed = try records()
            try mutate(name, base: base, category: "authentic-but-invalid", made: made, opens: opens) { db in
                for tag in deleting { try self.delete(db, tag) }
                for record in sealed { try self.put(db, record) }
            }
        }
        let channels = session.updateState!.channels.keys.sorted()
        let user = session.user!
        let dataCenter2 = session.dataCenter(id: 2)!

        try authentic(
            "channel-sealed-under-another-channels-tag",
            "channel \(channels[0])'s state sealed under channel \(channels[1])'s tag and key: it decrypts, but its identity gives another tag",
            [.error(.tampered, p, kind: "channel-state")]
        ) {
            let plaintext = try encode { (writer) throws(VaultError) in try RecordCodec.encodeChannelState(id: channels[0], pts: 5, into: &writer) }
            return [try seal(.channelState, identity: RecordCodec.channelIdentity(channels[1]), plaintext)]
        }
        try authentic(
            "data-center-sealed-under-another-data-centers-tag",
            "DC2's record sealed under DC4's tag and key",
            [.error(.tampered, p, kind: "data-center")]
        ) {
            let plaintext = try encode { (writer) throws(VaultError) in try RecordCodec.encode(dataCenter2, into: &writer) }
            return [try seal(.dataCenter, identity: RecordCodec.dataCenterIdentity(.init(id: 4, isMediaOnly: false)), plaintext)]
        }
        try authentic("data-center-unknown-flag", "DC2's record re-sealed with flag bit 0x20 set", [.error(.corrupt, p, kind: "data-center")]) {
            var plaintext = try encode { (writer) throws(VaultError) in try RecordCodec.encode(dataCenter2, into: &writer) }
            plaintext[4] |= 0x20
            return [try seal(.dataCenter, identity: RecordCodec.dataCenterIdentity(dataCenter2.identity), plaintext)]
        }
        try authentic("user-trailing-byte", "the user record re-sealed with one extra byte after the username", [.error(.corrupt, p, kind: "user")]) {
            let plaintext = try encode { (writer) throws(VaultError) in try RecordCodec.encode(user, into: &writer) } + [0]
            return [try seal(.user, identity: [], plaintext)]
        }
        try authentic("user-invalid-utf8-username", "the user record re-sealed with a username that is not UTF-8 (ff fe 41)", [.error(.corrupt, p, kind: "user")]) {
            let plaintext = try encode { (writer) throws(VaultError) in
                try writer.integer(user.id)
                try writer.integer(user.dataCenterID)
                try writer.u8(0x03)
                try writer.integer(UInt16(3))
                try [UInt8]([0xFF, 0xFE, 0x41]).withBytes { (raw) throws(VaultError) in try writer.bytes(raw) }
            }
            return [try seal(.user, identity: [], plaintext)]
        }
        try authentic("update-state-19-bytes", "the update-state record re-sealed one byte short (19 bytes)", [.error(.corrupt, p, kind: "update-state")]) {
            let state = session.updateState!
            let plaintext = try encode { (writer) throws(VaultError) in
                try RecordCodec.encodeUpdateState(pts: state.pts, qts: state.qts, date: state.date, seq: state.seq, into: &writer)
            }
            return [try seal(.updateState, identity: [], Array(plaintext.dropLast()))]
        }
        try authentic("session-extras-unknown-flag", "the session-extras record re-sealed with flag bit 0x08 set", [.error(.corrupt, p, kind: "session-extras")]) {
            var plaintext = try encode { (writer) throws(VaultError) in
                try RecordCodec.encodeSessionExtras(apiID: session.apiID, isTestMode: session.isTestMode, takeoutID: session.takeoutID, into: &writer)
            }
            plaintext[0] |= 0x08
            return [try seal(.sessionExtras, identity: [], plaintext)]
        }
        let count = unlocked.state.recordCount
        let sum = unlocked.state.setSum
        try authentic("manifest-count-off-by-one", "an authentic manifest listing one record more than the vault holds", [.error(.tampered, p, kind: "manifest")]) {
            let plaintext = try encode { (writer) throws(VaultError) in try RecordCodec.encodeManifest(count: count + 1, sum: sum.bytes, into: &writer) }
            return [try seal(.manifest, identity: [], plaintext)]
        }
        try authentic("manifest-sum-off-by-one", "an authentic manifest with the right count and its sum plus one", [.error(.tampered, p, kind: "manifest")]) {
            var wrong = sum
            wrong.add([1] + [UInt8](repeating: 0, count: 31))
            let plaintext = try encode { (writer) throws(VaultError) in try RecordCodec.encodeManifest(count: count, sum: wrong.bytes, into: &writer) }
            return [try seal(.manifest, identity: [], plaintext)]
        }
        // The peer cache: a lookup entry must hold the current copy of a peer it may point to.
        let peers = base.contents.peers
        let person = peers.first { $0.username != nil }!
        let channel = peers.first { $0.username == nil }!
        func peerPlaintext(_ peer: Peer) throws -> [UInt8] {
            try encode { (writer) throws(VaultError) in try RecordCodec.encode(peer, into: &writer) }
        }
        try authentic("peer-sealed-under-another-peers-tag", "peer \(person.id)'s record sealed under peer \(channel.id)'s tag and key", [.error(.tampered, p, kind: "peer")]) {
            [try seal(.peer, identity: RecordCodec.peerIdentity(channel.id), try peerPlaintext(person))]
        }
        try authentic("peer-unknown-kind", "peer \(channel.id)'s record re-sealed with peer kind 6", [.error(.corrupt, p, kind: "peer")]) {
            var plaintext = try peerPlaintext(channel)
            plaintext[16] = 6
            return [try seal(.peer, identity: RecordCodec.peerIdentity(channel.id), plaintext)]
        }
        try authentic(
            "peer-index-with-stale-copy",
            "the username lookup entry re-sealed with a copy of peer \(person.id) whose access hash differs from its peer record",
            [.error(.tampered, p, kind: "peer-index")]
        ) {
            var stale = person
            stale.accessHash ^= 1
            return [try seal(.peerIndex, identity: RecordCodec.peerIndexIdentity(.username, person.username!), try peerPlaintext(stale))]
        }
        try authentic(
            "peer-index-holding-another-peer",
            "the username lookup entry of peer \(person.id) re-sealed holding peer \(channel.id), which has no username",
            [.error(.tampered, p, kind: "peer-index")]
        ) {
            [try seal(.peerIndex, identity: RecordCodec.peerIndexIdentity(.username, person.username!), try peerPlaintext(channel))]
        }
        let personTag = keys.tag(kind: .peer, identity: RecordCodec.peerIdentity(person.id))
        try authentic(
            "peer-index-without-its-peer",
            "peer \(person.id)'s record deleted and the manifest re-sealed to match: its lookup entries name a missing peer",
            [.error(.tampered, p, kind: "peer-index")],
            {
                var reduced = sum
                reduced.subtract(keys.setElement(tag: personTag))
                let plaintext = try encode { (writer) throws(VaultError) in try RecordCodec.encodeManifest(count: count - 1, sum: reduced.bytes, into: &writer) }
                return [try seal(.manifest, identity: [], plaintext)]
            },
            deleting: [personTag]
        )
        let stateTag = keys.tag(kind: .updateState, identity: [])
        try authentic(
            "channel-states-without-update-state",
            "the update-state row deleted and the manifest re-sealed to match: channel states without an update state",
            [.error(.corrupt, p, kind: "channel-state")],
            {
                var reduced = sum
                reduced.subtract(keys.setElement(tag: stateTag))
                let plaintext = try encode { (writer) throws(VaultError) in try RecordCodec.encodeManifest(count: count - 1, sum: reduced.bytes, into: &writer) }
                return [try seal(.manifest, identity: [], plaintext)]
            },
            deleting: [stateTag]
        )
    }

    // MARK: Truncated files, non-vaults, structural damage

    func makeFileFixtures(base: BuiltVault, userTag: [UInt8]) throws {
        let p = base.passphrase
        let bytes = try read(base.file)
        // Bytes 16-17 of a SQLite file: the page size, big-endian (1 means 65536).
        let rawPageSize = Int(bytes[16]) << 8 | Int(bytes[17])
        let pageSize = rawPageSize == 1 ? 65_536 : rawPageSize
        let truncations: [(String, Int, VaultError.Code)] = [
            ("10-bytes", 10, .notAVault),
            ("50-bytes", 50, .corrupt),
            ("100-bytes", 100, .corrupt),
            ("1024-bytes", 1024, .corrupt),
            ("first-page", pageSize, .corrupt),
            ("half", bytes.count / 2, .corrupt),
            ("last-page-missing", bytes.count - pageSize, .corrupt),
            ("one-byte-short", bytes.count - 1, .corrupt),
        ]
        for (name, length, code) in truncations {
            try rawFile(
                "truncated-\(name)",
                base: base.file,
                category: "truncated",
                made: "the first \(length) of \(bytes.count) bytes of the tamper base",
                opens: [.error(code, p)],
                bytes: Array(bytes.prefix(length))
            )
        }

        try rawFile("zero-length", base: nil, category: "not-a-vault", made: "an empty file", opens: [.error(.notAVault, p)], bytes: [])
        let text = Array(String(repeating: "This is a text file, not a SessionVault vault.\n", count: 85).utf8)
        try rawFile("text-file", base: nil, category: "not-a-vault", made: "\(text.count) bytes of ASCII text", opens: [.error(.notAVault, p)], bytes: text)
        DeterministicRandom.reseed("file/random-bytes")
        var random = [UInt8](repeating: 0, count: 4096)
        randombytes_buf(&random, random.count)
        try rawFile("random-bytes", base: nil, category: "not-a-vault", made: "4096 bytes from the generator's seeded random source", opens: [.error(.notAVault, p)], bytes: random)
        var garbage = Array("SQLite format 3".utf8) + [0]
        DeterministicRandom.reseed("file/sqlite-magic-then-garbage")
        var tail = [UInt8](repeating: 0, count: 4096 - garbage.count)
        randombytes_buf(&tail, tail.count)
        garbage += tail
        try rawFile(
            "sqlite-magic-then-garbage",
            base: nil,
            category: "not-a-vault",
            made: "the 16-byte SQLite magic followed by 4080 seeded random bytes",
            opens: [.error(.notAVault, p)],
            bytes: garbage
        )

        // SQLite files of other applications, and vaults missing structure.
        func database(_ name: String, _ category: String, _ made: String, _ opens: [OpenCheck], _ sql: String) throws {
            let file = "tampered/\(name).session"
            try write([], to: file)
            try withDatabase(file) { db in try db.execute(sql) }
            add(FixtureEntry(file: file, category: category, made: made, opens: opens))
        }
        let telethonKey = Hex.encode(try FixtureSessions.authKey("telethon-like/dc2").withUnsafeBytes { Array($0) })
        try database(
            "telethon-like-session",
            "not-a-vault",
            "a SQLite file with Telethon's session schema (version 7) and a synthetic DC2 auth key",
            [.error(.notAVault, p)],
            """
            CREATE TABLE version (version integer primary key);
            INSERT INTO version VALUES (7);
            CREATE TABLE sessions (dc_id integer primary key, server_address text, port integer, auth_key blob, takeout_id integer);
            INSERT INTO sessions VALUES (2, '149.154.167.51', 443, x'\(telethonKey)', NULL);
            CREATE TABLE entities (id integer primary key, hash integer not null, username text, phone integer, name text, date integer);
            CREATE TABLE sent_files (md5_digest blob, file_size integer, type integer, id integer, hash integer, primary key(md5_digest, file_size, type));
            CREATE TABLE update_state (id integer primary key, pts integer, qts integer, date integer, seq integer);
            """
        )
        try database("empty-sqlite-database", "not-a-vault", "a valid SQLite database with no tables and application_id 0", [.error(.notAVault, p)], "PRAGMA user_version = 1;")
        try database(
            "vault-application-id-without-tables",
            "structure",
            "a SQLite database with the vault application_id (SVLT) but no tables",
            [.error(.corrupt, p)],
            "PRAGMA application_id = \(SQLiteRecordStore.applicationID);"
        )
        try mutate("vault-without-record-table", base: base, category: "structure", made: "the tamper base with its sv_record table dropped", opens: [.error(.corrupt, p)]) { db in
            try db.execute("DROP TABLE sv_record")
        }
        try mutate("vault-with-other-application-id", base: base, category: "structure", made: "the tamper base with application_id set to 0", opens: [.error(.notAVault, p)]) { db in
            try db.execute("PRAGMA application_id = 0")
        }
        // Schema objects the format does not define (FORMAT.md §3): refused before any row is read.
        try mutate(
            "schema-trigger-dropping-saves",
            base: base,
            category: "schema",
            made: "the tamper base with a trigger that silently drops every update of sv_record (RAISE(IGNORE))",
            opens: [.error(.tampered, p, kind: "none")]
        ) { db in
            try db.execute("CREATE TRIGGER sv_drop_saves BEFORE UPDATE ON sv_record BEGIN SELECT RAISE(IGNORE); END")
        }
        try mutate(
            "schema-extra-table",
            base: base,
            category: "schema",
            made: "the tamper base with an extra table holding a copy of its keyslots",
            opens: [.error(.tampered, p, kind: "none")]
        ) { db in
            try db.execute("CREATE TABLE sv_keyslot_copy AS SELECT * FROM sv_keyslot")
        }

        // Record rows of the wrong shape: refused before decryption.
        let user = try records(base.file).first { $0.tag == userTag }!
        func shape(_ name: String, _ made: String, _ opens: [OpenCheck], _ mutation: (SQLiteConnection) throws -> Void) throws {
            try mutate("record-\(name)", base: base, category: "record-structure", made: made, opens: opens, mutation)
        }
        try shape("tag-31-bytes", "the user row's tag cut to 31 bytes", [.error(.corrupt, p, kind: "none")]) { db in
            try self.run(db, "UPDATE sv_record SET tag = ? WHERE tag = ?", [.blob(Array(userTag.prefix(31))), .blob(userTag)])
        }
        try shape("nonce-23-bytes", "the user row's nonce cut to 23 bytes", [.error(.corrupt, p, kind: "user")]) { db in
            try self.run(db, "UPDATE sv_record SET nonce = ? WHERE tag = ?", [.blob(Array(user.nonce.prefix(23))), .blob(userTag)])
        }
        try shape("ciphertext-15-bytes", "the user row's ciphertext cut to 15 bytes (shorter than a Poly1305 tag)", [.error(.corrupt, p, kind: "user")]) { db in
            try self.run(db, "UPDATE sv_record SET ciphertext = ? WHERE tag = ?", [.blob(Array(user.ciphertext.prefix(15))), .blob(userTag)])
        }
        try shape("ciphertext-65553-bytes", "the user row's ciphertext padded to 65,553 bytes (one more than the largest allowed)", [.error(.corrupt, p, kind: "user")]) { db in
            let padded = user.ciphertext + [UInt8](repeating: 0, count: 65_553 - user.ciphertext.count)
            try self.run(db, "UPDATE sv_record SET ciphertext = ? WHERE tag = ?", [.blob(padded), .blob(userTag)])
        }
        try shape("kind-300", "the user row's masked kind set to 300 (not a byte)", [.error(.corrupt, p, kind: "none")]) { db in
            try self.run(db, "UPDATE sv_record SET kind = 300 WHERE tag = ?", [.blob(userTag)])
        }
        try shape("kind-negative", "the user row's masked kind set to -1", [.error(.corrupt, p, kind: "none")]) { db in
            try self.run(db, "UPDATE sv_record SET kind = -1 WHERE tag = ?", [.blob(userTag)])
        }
    }
}
#endif
