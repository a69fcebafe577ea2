#if DEBUG
import Foundation
@_spi(Testing) @testable import SessionVaultKit

/// The negative fixtures of `Fixtures/tampered/`, each made from a known-answer vault by raw SQL
/// (or byte surgery) and listed with the outcome the format promises.
///
/// Expected outcomes are written here from the format's rules (`docs/FORMAT.md` §4–§7), never read
/// back from the library: the fixture tests then check that the library agrees.
extension Generator {
    /// What a record row is, found by recomputing tags from the session the base was built with.
    struct RowLabel {
        var kind: RecordKind
        var label: String
    }

    /// Copies `base` to `tampered/<name>.session`, applies `mutation` with raw SQL and records the entry.
    func mutate(
        _ name: String,
        base: BuiltVault,
        category: String,
        made: String,
        target: JSON? = nil,
        opens: [OpenCheck],
        contents: VaultContents? = nil,
        formatVersion: UInt32? = nil,
        _ mutation: (SQLiteConnection) throws -> Void
    ) throws {
        let file = "tampered/\(name).session"
        try copy(base.file, to: file)
        try withDatabase(file, mutation)
        add(
            FixtureEntry(
                file: file, category: category, made: made, base: base.file, target: target, opens: opens, contents: contents,
                formatVersion: formatVersion
            )
        )
    }

    /// Writes `bytes` as `tampered/<name>.session` and records the entry.
    func rawFile(_ name: String, base: String?, category: String, made: String, opens: [OpenCheck], bytes: [UInt8]) throws {
        let file = "tampered/\(name).session"
        try write(bytes, to: file)
        add(FixtureEntry(file: file, category: category, made: made, base: base, opens: opens))
    }

    /// XORs one byte of a blob column of the row `whereClause` selects (`?` parameters in `values`).
    func flip(
        _ db: SQLiteConnection,
        table: String,
        column: String,
        whereClause: String,
        _ values: [SQLValue],
        byte index: Int,
        xor: UInt8
    ) throws {
        let select = try db.statement("SELECT \(column) FROM \(table) WHERE \(whereClause)")
        for (position, value) in values.enumerated() {
            if case .blob(let bytes) = value { try bytes.withUnsafeBytes { try select.bind($0, at: Int32(position + 1)) } }
            if case .int(let number) = value { try select.bind(number, at: Int32(position + 1)) }
        }
        guard try select.step() else { throw GeneratorError("no row in \(table) where \(whereClause)") }
        var blob = select.blob(0)
        select.reset()
        blob[index] ^= xor
        try run(db, "UPDATE \(table) SET \(column) = ? WHERE \(whereClause)", [.blob(blob)] + values)
    }

    func integer(_ db: SQLiteConnection, _ sql: String) throws -> Int64 {
        guard let value = try db.integer(sql) else { throw GeneratorError("no value for \(sql)") }
        return value
    }

    /// Labels every record of `base` by recomputing its tag from `session` with the vault's keys.
    func labels(of base: BuiltVault, keys: KeySchedule) -> [[UInt8]: RowLabel] {
        var labels: [[UInt8]: RowLabel] = [keys.tag(kind: .manifest, identity: []): RowLabel(kind: .manifest, label: "")]
        for peer in base.contents.peers {
            labels[keys.tag(kind: .peer, identity: RecordCodec.peerIdentity(peer.id))] = RowLabel(kind: .peer, label: String(peer.id))
        }
        for key in base.contents.index.keys {
            labels[keys.tag(kind: .peerIndex, identity: RecordCodec.peerIndexIdentity(key.field, key.value))] =
                RowLabel(kind: .peerIndex, label: "\(key.field == .username ? "username" : "phone")-\(key.value)")
        }
        guard let session = base.contents.session else { return labels }
        for dataCenter in session.dataCenters {
            let tag = keys.tag(kind: .dataCenter, identity: RecordCodec.dataCenterIdentity(dataCenter.identity))
            labels[tag] = RowLabel(kind: .dataCenter, label: "dc\(dataCenter.id)\(dataCenter.isMediaOnly ? "-media" : "")")
        }
        if session.user != nil { labels[keys.tag(kind: .user, identity: [])] = RowLabel(kind: .user, label: "") }
        if let state = session.updateState {
            labels[keys.tag(kind: .updateState, identity: [])] = RowLabel(kind: .updateState, label: "")
            for channel in state.channels.keys {
                labels[keys.tag(kind: .channelState, identity: RecordCodec.channelIdentity(channel))] =
                    RowLabel(kind: .channelState, label: String(channel))
            }
        }
        if session.apiID != nil || session.isTestMode || session.takeoutID != nil {
            labels[keys.tag(kind: .sessionExtras, identity: [])] = RowLabel(kind: .sessionExtras, label: "")
        }
        return labels
    }

    static let tagWhere = "tag = ?"

    // MARK: The corpus

    func makeTamperCorpus(_ vaults: [String: BuiltVault]) async throws {
        let base = vaults["tamper-base"]!
        let other = vaults["interactive"]!
        let defaultProfile = vaults["default-profile"]!
        let p = base.passphrase
        let unlocked = try await unlock(base.file, passphrase: p)
        let keys = unlocked.sealer.keys
        let labels = labels(of: base, keys: keys)
        let rows = try records(base.file)
        guard rows.count == labels.count, rows.allSatisfy({ labels[$0.tag] != nil }) else {
            throw GeneratorError("the tamper base's rows do not match its session")
        }
        func name(_ row: RawRecord) -> String {
            let label = labels[row.tag]!
            return label.label.isEmpty ? label.kind.description : "\(label.kind)-\(label.label)"
        }
        func tag(_ kind: RecordKind, _ identity: [UInt8] = []) -> [UInt8] { keys.tag(kind: kind, identity: identity) }
        let channelTags = base.contents.session!.updateState!.channels.keys.sorted().map {
            tag(.channelState, RecordCodec.channelIdentity($0))
        }
        let dc2 = tag(.dataCenter, RecordCodec.dataCenterIdentity(.init(id: 2, isMediaOnly: false)))
        let dc4 = tag(.dataCenter, RecordCodec.dataCenterIdentity(.init(id: 4, isMediaOnly: false)))

        // 1. A byte flipped in the tag, masked kind, nonce and ciphertext of every sealed record.
        for (index, row) in rows.enumerated() {
            let kind = labels[row.tag]!.kind
            let bit = UInt8(1) << UInt8(index % 8)
            let tagByte = (index * 5) % row.tag.count
            let nonceByte = (index * 7 + 3) % row.nonce.count
            let ciphertextByte: Int
            switch index % 3 {
            case 0: ciphertextByte = index % 16  // inside the Poly1305 tag
            case 1: ciphertextByte = row.ciphertext.count - 1  // the last byte
            default: ciphertextByte = row.ciphertext.count / 2
            }
            let label = labels[row.tag]!
            let rowName = label.label.isEmpty ? label.kind.description : "\(label.kind) \(label.label)"
            let target: (String, Int, UInt8) -> JSON = { column, byte, xor in
                .object([
                    ("table", .string("sv_record")),
                    ("row", .string(rowName)),
                    ("tag", .hex(row.tag)),
                    ("column", .string(column)),
                    ("byte", .int(Int64(byte))),
                    ("xor", .int(Int64(xor))),
                ])
            }
            try mutate(
                "record-\(name(row))-tag",
                base: base,
                category: "flipped-record-byte",
                made: "byte \(tagByte) of the tag of the \(kind) record XOR \(bit): the row no longer authenticates",
                target: target("tag", tagByte, bit),
                opens: [.error(.tampered, p)]
            ) { db in try flip(db, table: "sv_record", column: "tag", whereClause: Self.tagWhere, [.blob(row.tag)], byte: tagByte, xor: bit) }
            try mutate(
                "record-\(name(row))-kind",
                base: base,
                category: "flipped-record-byte",
                made: "the masked kind of the \(kind) record XOR 1: it unmasks to another or an invalid kind",
                target: target("kind", 0, 1),
                opens: [.error(.tampered, p)]
            ) { db in try run(db, "UPDATE sv_record SET kind = ? WHERE tag = ?", [.int(row.maskedKind ^ 1), .blob(row.tag)]) }
            try mutate(
                "record-\(name(row))-nonce",
                base: base,
                category: "flipped-record-byte",
                made: "byte \(nonceByte) of the nonce of the \(kind) record XOR \(bit)",
                target: target("nonce", nonceByte, bit),
                opens: [.error(.tampered, p, kind: kind.description)]
            ) { db in try flip(db, table: "sv_record", column: "nonce", whereClause: Self.tagWhere, [.blob(row.tag)], byte: nonceByte, xor: bit) }
            try mutate(
                "record-\(name(row))-ciphertext",
                base: base,
                category: "flipped-record-byte",
                made: "byte \(ciphertextByte) of the ciphertext (\(ciphertextByte < 16 ? "Poly1305 tag" : "encrypted body")) of the \(kind) record XOR \(bit)",
                target: target("ciphertext", ciphertextByte, bit),
                opens: [.error(.tampered, p, kind: kind.description)]
            ) { db in
                try flip(db, table: "sv_record", column: "ciphertext", whereClause: Self.tagWhere, [.blob(row.tag)], byte: ciphertextByte, xor: bit)
            }
        }

        try makeHeaderAndKeyslotFixtures(base: base, defaultProfile: defaultProfile)
        try await makeRecordSetFixtures(base: base, other: other, keys: keys, channelTags: channelTags, dc2: dc2, dc4: dc4)
        try await makeAuthenticButInvalidFixtures(base: base, unlocked: unlocked)
        try makeFileFixtures(base: base, userTag: tag(.user))
    }

    // MARK: Header and keyslots

    func makeHeaderAndKeyslotFixtures(base: BuiltVault, defaultProfile: BuiltVault) throws {
        let p = base.passphrase
        let r = base.recoveryKey!
        func recoveryOpen(_ code: VaultError.Code?, kind: String? = nil) -> OpenCheck {
            OpenCheck(secret: .recoveryKey(r), bounds: .test, expect: code?.name ?? "ok", recordKind: kind)
        }
        func header(_ name: String, _ made: String, _ opens: [OpenCheck], _ mutation: (SQLiteConnection) throws -> Void) throws {
            try mutate("header-\(name)", base: base, category: "header", made: made, opens: opens, mutation)
        }
        func headerFlip(_ column: String, byte: Int, xor: UInt8) -> (SQLiteConnection) throws -> Void {
            { db in try self.flip(db, table: "sv_header", column: column, whereClause: "id = 1", [], byte: byte, xor: xor) }
        }

        try header("magic", "byte 0 of the magic XOR 0x20 ('Sessionvault')", [.error(.notAVault, p, kind: "none")], headerFlip("magic", byte: 0, xor: 0x20))
        try header("magic-short", "the magic is 'sessionvaul' (11 bytes)", [.error(.notAVault, p, kind: "none")]) { db in
            try self.run(db, "UPDATE sv_header SET magic = ? WHERE id = 1", [.blob(Array("sessionvaul".utf8))])
        }
        try header("format-version", "format_version 1 XOR 1 = 0", [.error(.unsupportedFormatVersion, p, kind: "none")]) { db in
            try self.run(db, "UPDATE sv_header SET format_version = 0 WHERE id = 1")
        }
        try header("future-format-version", "format_version 1 rewritten to 2 (a future format when it was made; since format version 2 exists, the header MAC, which covers the version, fails)", [.error(.tampered, p, kind: "none")]) { db in
            try self.run(db, "UPDATE sv_header SET format_version = 2 WHERE id = 1")
        }
        try header("format-version-2-pow-32", "format_version 4294967296 (does not fit u32)", [.error(.unsupportedFormatVersion, p, kind: "none")]) { db in
            try self.run(db, "UPDATE sv_header SET format_version = 4294967296 WHERE id = 1")
        }
        try header(
            "vault-id",
            "byte 7 of vault_id XOR 0x01: every derived key changes and the header MAC fails",
            [.error(.tampered, p, kind: "none"), recoveryOpen(.tampered, kind: "none")],
            headerFlip("vault_id", byte: 7, xor: 0x01)
        )
        try header("vault-id-15-bytes", "vault_id cut to 15 bytes", [.error(.corrupt, p, kind: "none")]) { db in
            let id = try self.blob(db, "SELECT vault_id FROM sv_header WHERE id = 1")
            try self.run(db, "UPDATE sv_header SET vault_id = ? WHERE id = 1", [.blob(Array(id.prefix(15)))])
        }
        try header(
            "mac",
            "byte 31 of the header MAC XOR 0x80",
            [.error(.tampered, p, kind: "none"), recoveryOpen(.tampered, kind: "none")],
            headerFlip("mac", byte: 31, xor: 0x80)
        )
        try header("mac-31-bytes", "the header MAC cut to 31 bytes", [.error(.corrupt, p, kind: "none")]) { db in
            let mac = try self.blob(db, "SELECT mac FROM sv_header WHERE id = 1")
            try self.run(db, "UPDATE sv_header SET mac = ? WHERE id = 1", [.blob(Array(mac.prefix(31)))])
        }
        try header("row-deleted", "the sv_header row deleted", [.error(.corrupt, p, kind: "none")]) { db in
            try self.run(db, "DELETE FROM sv_header")
        }

        // Every column of both keyslots. Slot 0 is the passphrase slot, slot 1 the recovery slot.
        func slot(_ name: String, _ made: String, _ opens: [OpenCheck], _ mutation: (SQLiteConnection) throws -> Void) throws {
            try mutate("keyslot-\(name)", base: base, category: "keyslot", made: made, opens: opens, mutation)
        }
        func setInteger(_ slot: Int, _ column: String, _ value: Int64) -> (SQLiteConnection) throws -> Void {
            { db in try self.run(db, "UPDATE sv_keyslot SET \(column) = ? WHERE slot = ?", [.int(value), .int(Int64(slot))]) }
        }
        func slotFlip(_ slot: Int, _ column: String, byte: Int) -> (SQLiteConnection) throws -> Void {
            { db in try self.flip(db, table: "sv_keyslot", column: column, whereClause: "slot = ?", [.int(Int64(slot))], byte: byte, xor: 0x04) }
        }
        let wrong = VaultError.Code.wrongPassphrase
        try slot("0-slot", "passphrase keyslot number 0 XOR 2 = 2: it still unlocks, the header MAC fails",
                 [.error(.tampered, p, kind: "none"), recoveryOpen(.tampered, kind: "none")], setInteger(0, "slot", 2))
        try slot("0-kind", "passphrase keyslot kind 1 XOR 1 = 0 (unknown kind, ignored): no passphrase slot left",
                 [.error(wrong, p), recoveryOpen(.tampered, kind: "none")], setInteger(0, "kind", 0))
        try slot("0-kdf", "passphrase keyslot kdf 2 XOR 1 = 3: an unknown KDF",
                 [.error(.unsupportedFormatVersion, p), recoveryOpen(.tampered, kind: "none")], setInteger(0, "kdf", 3))
        try slot("0-opslimit", "passphrase keyslot opslimit 1 XOR 1 = 0: below libsodium's minimum, refused before deriving",
                 [.error(.kdfParametersOutOfBounds, p), recoveryOpen(.tampered, kind: "none")], setInteger(0, "opslimit", 0))
        try slot("0-opslimit-within-bounds", "passphrase keyslot opslimit 1 XOR 2 = 3: accepted, derives another KEK",
                 [.error(wrong, p), recoveryOpen(.tampered, kind: "none")], setInteger(0, "opslimit", 3))
        try slot("0-memlimit", "passphrase keyslot memlimit 8192 XOR 0x2000 = 0: refused before deriving",
                 [.error(.kdfParametersOutOfBounds, p), recoveryOpen(.tampered, kind: "none")], setInteger(0, "memlimit", 0))
        try slot("0-memlimit-within-bounds", "passphrase keyslot memlimit 8192 XOR 0x4000 = 24576: accepted, derives another KEK",
                 [.error(wrong, p), recoveryOpen(.tampered, kind: "none")], setInteger(0, "memlimit", 24_576))
        for (column, byte) in [("salt", 3), ("nonce", 11), ("wrapped_key", 40)] {
            try slot("0-\(column.replacingOccurrences(of: "_", with: "-"))", "byte \(byte) of the passphrase keyslot's \(column) XOR 0x04",
                     [.error(wrong, p), recoveryOpen(.tampered, kind: "none")], slotFlip(0, column, byte: byte))
        }
        try slot("1-slot", "recovery keyslot number 1 XOR 2 = 3: it still unlocks, the header MAC fails",
                 [.error(.tampered, p, kind: "none"), recoveryOpen(.tampered, kind: "none")], setInteger(1, "slot", 3))
        try slot("1-kind", "recovery keyslot kind 2 XOR 1 = 3 (unknown kind, ignored but MAC-covered)",
                 [.error(.tampered, p, kind: "none"), recoveryOpen(wrong)], setInteger(1, "kind", 3))
        try slot("1-kdf", "recovery keyslot kdf 0 XOR 1 = 1: not a recovery slot any more",
                 [.error(.tampered, p, kind: "none"), recoveryOpen(wrong)], setInteger(1, "kdf", 1))
        try slot("1-opslimit", "recovery keyslot opslimit 0 XOR 1 = 1 (unused by BLAKE2b, but MAC-covered)",
                 [.error(.tampered, p, kind: "none"), recoveryOpen(.tampered, kind: "none")], setInteger(1, "opslimit", 1))
        try slot("1-memlimit", "recovery keyslot memlimit 0 XOR 0x2000 = 8192 (unused by BLAKE2b, but MAC-covered)",
                 [.error(.tampered, p, kind: "none"), recoveryOpen(.tampered, kind: "none")], setInteger(1, "memlimit", 8_192))
        for (column, byte) in [("salt", 9), ("nonce", 0), ("wrapped_key", 47)] {
            try slot("1-\(column.replacingOccurrences(of: "_", with: "-"))", "byte \(byte) of the recovery keyslot's \(column) XOR 0x04",
                     [.error(.tampered, p, kind: "none"), recoveryOpen(wrong)], slotFlip(1, column, byte: byte))
        }

        // Keyslot structure.
        try slot("all-deleted", "every sv_keyslot row deleted", [.error(.corrupt, p), recoveryOpen(.corrupt)]) { db in
            try self.run(db, "DELETE FROM sv_keyslot")
        }
        try slot("nine-slots", "slots 2-8 added as copies of slot 0: more than 8 keyslots", [.error(.corrupt, p), recoveryOpen(.corrupt)]) { db in
            for number in 2...8 {
                try self.run(db, "INSERT INTO sv_keyslot SELECT \(number), kind, kdf, opslimit, memlimit, salt, nonce, wrapped_key FROM sv_keyslot WHERE slot = 0")
            }
        }
        try slot("inserted-copy", "a copy of slot 0 inserted as slot 5: unlocks, but the header MAC covers the slot list",
                 [.error(.tampered, p, kind: "none"), recoveryOpen(.tampered, kind: "none")]) { db in
            try self.run(db, "INSERT INTO sv_keyslot SELECT 5, kind, kdf, opslimit, memlimit, salt, nonce, wrapped_key FROM sv_keyslot WHERE slot = 0")
        }
        try slot("0-wrapped-key-47-bytes", "the passphrase keyslot's wrapped key cut to 47 bytes",
                 [.error(.corrupt, p), recoveryOpen(.tampered, kind: "none")]) { db in
            let wrapped = try self.blob(db, "SELECT wrapped_key FROM sv_keyslot WHERE slot = 0")
            try self.run(db, "UPDATE sv_keyslot SET wrapped_key = ? WHERE slot = 0", [.blob(Array(wrapped.prefix(47)))])
        }
        try slot("0-salt-15-bytes", "the passphrase keyslot's salt cut to 15 bytes",
                 [.error(.corrupt, p), recoveryOpen(.tampered, kind: "none")]) { db in
            let salt = try self.blob(db, "SELECT salt FROM sv_keyslot WHERE slot = 0")
            try self.run(db, "UPDATE sv_keyslot SET salt = ? WHERE slot = 0", [.blob(Array(salt.prefix(15)))])
        }
        try slot("0-opslimit-negative", "passphrase keyslot opslimit -1", [.error(.corrupt, p), recoveryOpen(.corrupt)], setInteger(0, "opslimit", -1))

        // KDF parameters outside the bounds: refused before Argon2id runs, with the production bounds.
        func bounds(_ name: String, _ ops: Int64, _ mem: Int64, _ made: String, testBoundsToo: Bool = false) throws {
            var opens: [OpenCheck] = [.error(.kdfParametersOutOfBounds, p, .production)]
            if testBoundsToo { opens.append(.error(.kdfParametersOutOfBounds, p, .test)) }
            try mutate("kdf-\(name)", base: base, category: "kdf-bounds", made: made, opens: opens) { db in
                try self.run(db, "UPDATE sv_keyslot SET opslimit = ?, memlimit = ? WHERE slot = 0", [.int(ops), .int(mem)])
            }
        }
        try bounds("opslimit-below-floor", 1, 64 << 20, "opslimit 1, memlimit 64 MiB: below the opslimit floor of 2")
        try bounds("memlimit-below-floor", 3, 8 << 20, "opslimit 3, memlimit 8 MiB: below the memlimit floor of 19 MiB")
        try bounds("opslimit-above-cap", 11, 64 << 20, "opslimit 11: above the cap of 10", testBoundsToo: true)
        try bounds("opslimit-1000", 1000, 64 << 20, "opslimit 1000: minutes of Argon2id if it were run", testBoundsToo: true)
        try bounds("memlimit-above-cap", 3, (1 << 30) + 1024, "memlimit 1 GiB + 1 KiB: above the cap", testBoundsToo: true)
        try bounds("memlimit-64-gib", 3, 64 << 30, "memlimit 64 GiB: an allocation no machine should attempt", testBoundsToo: true)
        try bounds("opslimit-2-pow-62", 1 << 62, 64 << 20, "opslimit 2^62", testBoundsToo: true)
        // Every slot within the bounds, but together more Argon2id than one slot at the cap (§4.1 "Total").
        try mutate(
            "kdf-total-above-cap",
            base: base,
            category: "kdf-bounds",
            made: "the passphrase keyslot set to the cap (opslimit 10, memlimit 1 GiB) and copied as slot 5: each in bounds, "
                + "together twice the total one open may cost; refused before Argon2id runs",
            opens: [.error(.kdfParametersOutOfBounds, p, .production), .error(.kdfParametersOutOfBounds, p, .test)]
        ) { db in
            try self.run(db, "UPDATE sv_keyslot SET opslimit = 10, memlimit = 1073741824 WHERE slot = 0")
            try self.run(db, "INSERT INTO sv_keyslot SELECT 5, kind, kdf, opslimit, memlimit, salt, nonce, wrapped_key FROM sv_keyslot WHERE slot = 0")
        }

        let d = defaultProfile.passphrase
        try mutate(
            "kdf-default-profile-downgraded",
            base: defaultProfile,
            category: "kdf-bounds",
            made: "the default-profile vault's opslimit lowered from 3 to 1 (a downgrade below the floor)",
            opens: [.error(.kdfParametersOutOfBounds, d, .production)]
        ) { db in try self.run(db, "UPDATE sv_keyslot SET opslimit = 1 WHERE slot = 0") }
        try mutate(
            "kdf-default-profile-opslimit-2",
            base: defaultProfile,
            category: "kdf-bounds",
            made: "the default-profile vault's opslimit changed from 3 to 2: within bounds, so Argon2id runs and derives another KEK",
            opens: [.error(.wrongPassphrase, d, .production)]
        ) { db in try self.run(db, "UPDATE sv_keyslot SET opslimit = 2 WHERE slot = 0") }
    }
}
#endif
