#if DEBUG
import CSodium
import Foundation
@_spi(Testing) @testable import SessionVaultKit

/// The sealing-layer vectors of `Fixtures/vectors/`: every layer of the format from fixed inputs,
/// computed with the library's own derivation code (and libsodium's `crypto_secretbox_easy` with a
/// chosen nonce, which the library never exposes). No randomness is involved: these files are pure
/// functions of the format, so regenerating them must give the same bytes forever.
enum Vectors {
    /// Fixed bytes for a label: `randombytes_buf_deterministic` seeded with
    /// BLAKE2b-256("sessionvault fixtures v1 vector\0" || label).
    static func bytes(_ label: String, _ count: Int) -> [UInt8] {
        var seed = [UInt8](repeating: 0, count: Int(randombytes_SEEDBYTES))
        let message = Array("sessionvault fixtures v1 vector".utf8) + [0] + Array(label.utf8)
        _ = crypto_generichash(&seed, seed.count, message, UInt64(message.count), nil, 0)
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf_deterministic(&out, count, seed)
        return out
    }

    /// The data keys and vault ids every keyed vector uses.
    static let keyInputs: [(name: String, dataKey: [UInt8], vaultID: [UInt8])] = [
        ("counting", (0..<32).map { UInt8($0) }, (0..<16).map { UInt8(0xF0 + $0) }),
        ("seeded", bytes("data key 2", 32), bytes("vault id 2", 16)),
        ("extremes", [UInt8](repeating: 0xFF, count: 32), [UInt8](repeating: 0, count: 16)),
    ]

    static let labelNames = ["tag-key", "kind-mask-key", "header-key", "set-key", "record-key", "recovery-kek", "recovery-checksum"]

    static func secret(_ bytes: [UInt8]) throws -> SecretBytes {
        try bytes.withUnsafeBytes { try SecretBytes(copying: $0) }
    }

    static func reveal(_ secret: SecretBytes) -> [UInt8] { secret.withUnsafeBytes { Array($0) } }

    static func schedule(_ dataKey: [UInt8], _ vaultID: [UInt8]) throws -> KeySchedule {
        try KeySchedule(dataKey: try secret(dataKey), vaultID: vaultID, formatVersion: 1)
    }

    /// `crypto_secretbox_easy` with a chosen nonce (vectors only; vaults always draw a fresh nonce).
    static func secretbox(_ plaintext: [UInt8], nonce: [UInt8], key: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + Int(crypto_secretbox_MACBYTES))
        _ = crypto_secretbox_easy(&out, plaintext, UInt64(plaintext.count), nonce, key)
        return out
    }

    static func subkey(_ name: String, _ dataKey: [UInt8], _ vaultID: [UInt8]) throws -> [UInt8] {
        let key = try secret(dataKey)
        let derived = try KeySchedule.label(name).withBytes { (label) throws(VaultError) in
            try vaultID.withBytes { (id) throws(VaultError) in try Blake2b.subkey(key: key, parts: [label, id]) }
        }
        return reveal(derived)
    }

    static func document(_ description: [String], _ members: [(String, JSON)], formatVersion: UInt32 = 1) -> JSON {
        .object([("format_version", .int(Int64(formatVersion))), ("description", .array(description.map { .string($0) }))] + members)
    }

    // MARK: kdf.json

    static func kdf() throws -> JSON {
        let cases: [(String, String, [UInt8], UInt64, UInt64)] = [
            ("test floor, ASCII", "password", bytes("kdf salt 1", 16), 1, 8192),
            ("test floor, NFC", "caf\u{E9}", bytes("kdf salt 2", 16), 1, 8192),
            ("test floor, NFD (other bytes, other key)", "cafe\u{301}", bytes("kdf salt 2", 16), 1, 8192),
            ("test floor, spaces kept", " correct horse battery staple \n", bytes("kdf salt 3", 16), 1, 8192),
            ("test floor, zero salt", "a", [UInt8](repeating: 0, count: 16), 1, 8192),
            ("memlimit not a multiple of 1024 (libsodium uses memlimit / 1024 KiB)", "password", bytes("kdf salt 1", 16), 1, 10_000),
            ("the floor accepted without the test switch", "password", bytes("kdf salt 4", 16), KDFParameters.minimumOpsLimit, KDFParameters.minimumMemLimit),
            ("interactive profile", "password", bytes("kdf salt 5", 16), KDFParameters.interactive.opsLimit, KDFParameters.interactive.memLimit),
            ("default profile", "correct horse battery staple", bytes("kdf salt 6", 16), KDFParameters.default.opsLimit, KDFParameters.default.memLimit),
        ]
        var vectors: [JSON] = []
        for (index, (name, passphrase, salt, ops, mem)) in cases.enumerated() {
            let parameters = KDFParameters(opsLimit: ops, memLimit: mem)
            let kek = reveal(try KeyDerivation.passphraseKEK(try Passphrase(copying: passphrase), salt: salt, parameters: parameters))
            let dataKey = bytes("kdf data key \(index)", 32)
            let nonce = bytes("kdf nonce \(index)", 24)
            vectors.append(
                .object([
                    ("name", .string(name)),
                    ("passphrase", .string(passphrase)),
                    ("passphrase_hex", .hex(Array(passphrase.utf8))),
                    ("salt", .hex(salt)),
                    ("opslimit", .uint(ops)),
                    ("memlimit", .uint(mem)),
                    ("within_bounds", .bool(parameters.isWithinBounds)),
                    ("kek", .hex(kek)),
                    ("data_key", .hex(dataKey)),
                    ("nonce", .hex(nonce)),
                    ("wrapped_key", .hex(secretbox(dataKey, nonce: nonce, key: kek))),
                ])
            )
        }
        return document(
            [
                "Passphrase keyslots (docs/FORMAT.md 4.1): kek = crypto_pwhash(32, passphrase, salt, opslimit, memlimit, ARGON2ID13);",
                "wrapped_key = crypto_secretbox_easy(data_key, nonce, kek) (16-byte tag first). The passphrase is its exact UTF-8 bytes (passphrase_hex).",
                "within_bounds: whether a reader accepts these parameters without the test switch (opslimit 2..10, memlimit 19 MiB..1 GiB).",
            ],
            [("vectors", .array(vectors))]
        )
    }

    // MARK: keyschedule.json

    static func keySchedule() throws -> JSON {
        var vectors: [JSON] = []
        for input in keyInputs {
            vectors.append(
                .object([
                    ("name", .string(input.name)),
                    ("data_key", .hex(input.dataKey)),
                    ("vault_id", .hex(input.vaultID)),
                    ("k_tag", .hex(try subkey("tag-key", input.dataKey, input.vaultID))),
                    ("k_mask", .hex(try subkey("kind-mask-key", input.dataKey, input.vaultID))),
                    ("k_header", .hex(try subkey("header-key", input.dataKey, input.vaultID))),
                    ("k_set", .hex(try subkey("set-key", input.dataKey, input.vaultID))),
                ])
            )
        }
        let labels: [(String, JSON)] = labelNames.map { ($0, .hex(KeySchedule.label($0))) }
        return document(
            [
                "Derived keys (docs/FORMAT.md 5.1): K_x = BLAKE2b-256(key = data_key, LABEL(name) || vault_id),",
                "with names tag-key (k_tag), kind-mask-key (k_mask), header-key (k_header), set-key (k_set).",
                "labels gives every LABEL(name) of the format as bytes: 'sessionvault/v1/' || name || 0x00.",
            ],
            [("labels", .object(labels)), ("vectors", .array(vectors))]
        )
    }

    // MARK: tags.json

    /// (kind, identity, meaning) of the identities the tag and record vectors cover.
    static let identities: [(RecordKind, [UInt8], String)] = [
        (.manifest, [], "the manifest"),
        (.dataCenter, RecordCodec.dataCenterIdentity(.init(id: 2, isMediaOnly: false)), "data center 2"),
        (.dataCenter, RecordCodec.dataCenterIdentity(.init(id: 2, isMediaOnly: true)), "data center 2, media only"),
        (.dataCenter, RecordCodec.dataCenterIdentity(.init(id: 4, isMediaOnly: false)), "data center 4"),
        (.user, [], "the user"),
        (.updateState, [], "the update state"),
        (.channelState, RecordCodec.channelIdentity(1), "channel 1"),
        (.channelState, RecordCodec.channelIdentity(1_234_567_890), "channel 1234567890"),
        (.channelState, RecordCodec.channelIdentity(1_000_000_000_000), "channel 1000000000000"),
        (.sessionExtras, [], "the session extras"),
        (.peer, RecordCodec.peerIdentity(777_000), "user peer 777000"),
        (.peer, RecordCodec.peerIdentity(-4_000_000), "basic group peer -4000000"),
        (.peer, RecordCodec.peerIdentity(-1_001_234_567_890), "channel peer -1001234567890"),
        (.peerIndex, RecordCodec.peerIndexIdentity(.username, "vector_user"), "username lookup 'vector_user'"),
        (.peerIndex, RecordCodec.peerIndexIdentity(.phoneNumber, "15551234567"), "phone lookup '15551234567'"),
    ]

    static func tags() throws -> JSON {
        var vectors: [JSON] = []
        for input in keyInputs {
            let keys = try schedule(input.dataKey, input.vaultID)
            var records: [JSON] = []
            for (kind, identity, meaning) in identities {
                let tag = keys.tag(kind: kind, identity: identity)
                let mask = keys.mask(tag: tag)
                records.append(
                    .object([
                        ("kind", .int(Int64(kind.rawValue))),
                        ("kind_name", .string(kind.description)),
                        ("identity", .hex(identity)),
                        ("meaning", .string(meaning)),
                        ("tag", .hex(tag)),
                        ("mask", .int(Int64(mask))),
                        ("masked_kind", .int(Int64(kind.rawValue ^ mask))),
                        ("set_element", .hex(keys.setElement(tag: tag))),
                    ])
                )
            }
            vectors.append(
                .object([
                    ("name", .string(input.name)),
                    ("data_key", .hex(input.dataKey)),
                    ("vault_id", .hex(input.vaultID)),
                    ("records", .array(records)),
                ])
            )
        }
        return document(
            [
                "Tags, masks and set elements (docs/FORMAT.md 5.2, 5.3, 5.6), with K_tag, K_mask, K_set from keyschedule.json:",
                "tag = BLAKE2b-256(key = K_tag, u8 kind || identity); mask = first byte of BLAKE2b-128(key = K_mask, tag);",
                "masked_kind = kind XOR mask (the sv_record.kind column); set_element = BLAKE2b-256(key = K_set, tag).",
                "Identities: empty, i32le dc_id || u8 media_only, i64le channel_id, i64le peer_id, or u8 field || value (peer index).",
            ],
            [("vectors", .array(vectors))]
        )
    }

    // MARK: records.json, records-v2.json

    /// §5.4, version 2: `p || 0x80 || zeros` up to the next multiple of 128 (written out here, not
    /// taken from the library's `sodium_pad` call, so the vectors check it).
    static func padded(_ plaintext: [UInt8]) -> [UInt8] {
        let length = (plaintext.count / 128 + 1) * 128
        return plaintext + [0x80] + [UInt8](repeating: 0, count: length - plaintext.count - 1)
    }

    /// The sealed-record vectors of `formatVersion` (1: `records.json`, 2: `records-v2.json`, padded).
    static func records(formatVersion: UInt32 = 1) throws -> JSON {
        let input = keyInputs[0]
        let second = keyInputs[1]
        let keyA = try FixtureSessions.authKey("vector/dc2")
        let keyB = try FixtureSessions.authKey("vector/dc2/temporary")
        let keyC = try FixtureSessions.authKey("vector/dc2/media")
        var sum = RecordSetSum()
        let schedule0 = try schedule(input.dataKey, input.vaultID)
        for (kind, identity, _) in identities where kind != .manifest {
            sum.add(schedule0.setElement(tag: schedule0.tag(kind: kind, identity: identity)))
        }
        enum Content {
            case manifest(UInt64, [UInt8])
            case dataCenter(DataCenter)
            case user(LoggedInUser)
            case updateState(Int32, Int32, Int64, Int32)
            case channel(Int64, Int32)
            case extras(Int32?, Bool, Int64?)
            case peer(Peer)
            case peerIndex(RecordCodec.PeerIndexField, Peer)
        }
        let vectorUser = Peer(
            id: 777_000, accessHash: 0x0123_4567_89AB_CDEF, kind: .user, username: "vector_user",
            phoneNumber: "15551234567", name: "Vector User", updatedAt: 1_764_000_000
        )
        let cases: [(String, (name: String, dataKey: [UInt8], vaultID: [UInt8]), Content)] = [
            ("empty manifest", input, .manifest(0, [UInt8](repeating: 0, count: 32))),
            ("manifest of every non-manifest identity of tags.json", input, .manifest(UInt64(identities.count - 1), sum.bytes)),
            (
                "data center with IPv4, IPv6, auth key and temporary auth key", input,
                .dataCenter(
                    DataCenter(
                        id: 2,
                        ipv4: Endpoint(host: "149.154.167.51", port: 443),
                        ipv6: Endpoint(host: "2001:67c:4e8:f002::a", port: 443),
                        authKey: keyA,
                        temporaryAuthKey: keyB
                    )
                )
            ),
            (
                "media-only data center, IPv4 and auth key", input,
                .dataCenter(DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.222", port: 443), authKey: keyC, isMediaOnly: true))
            ),
            ("data center with IPv6 only on port 80, no key", input, .dataCenter(DataCenter(id: 4, ipv6: Endpoint(host: "2001:67c:4e8:f004::a", port: 80)))),
            ("data center with nothing but its id", second, .dataCenter(DataCenter(id: 4))),
            ("bot user with username", input, .user(LoggedInUser(id: 7_123_456_789, dataCenterID: 2, isBot: true, username: "vector_bot"))),
            ("user without username", second, .user(LoggedInUser(id: 1, dataCenterID: 5, isBot: false))),
            ("user with a non-ASCII username (UTF-8 on the wire)", input, .user(LoggedInUser(id: -5, dataCenterID: 1, isBot: false, username: "\u{FC}ber"))),
            ("update state", input, .updateState(4_242, 17, 1_764_000_000, 99)),
            ("update state with extreme values", second, .updateState(Int32.max, Int32.min, -1, 0)),
            ("channel state", input, .channel(1_234_567_890, 100)),
            ("channel state with pts 0", input, .channel(1, 0)),
            ("channel state with a large id", second, .channel(1_000_000_000_000, Int32.max)),
            ("session extras: api id, test mode and takeout id", input, .extras(611_335, true, 8_000_000_001)),
            ("session extras: test mode only", input, .extras(nil, true, nil)),
            ("session extras: takeout id only", second, .extras(nil, false, -2)),
            ("user peer with username, phone, name and timestamp", input, .peer(vectorUser)),
            ("basic group peer with nothing optional", input, .peer(Peer(id: -4_000_000, accessHash: 0, kind: .group))),
            (
                "channel peer with a username and a non-ASCII name", second,
                .peer(Peer(id: -1_001_234_567_890, accessHash: -1, kind: .channel, username: "vector_channel", name: "Kan\u{E4}l \u{1F4E2}"))
            ),
            ("bot peer with a timestamp only", second, .peer(Peer(id: 93_372_553, accessHash: 42, kind: .bot, updatedAt: 0))),
            ("username lookup entry: a copy of the peer it names", input, .peerIndex(.username, vectorUser)),
            ("phone lookup entry: a copy of the peer it names", input, .peerIndex(.phoneNumber, vectorUser)),
        ]
        var vectors: [JSON] = []
        for (index, (name, keysInput, content)) in cases.enumerated() {
            let keys = try KeySchedule(dataKey: try secret(keysInput.dataKey), vaultID: keysInput.vaultID, formatVersion: formatVersion)
            let kind: RecordKind
            let identity: [UInt8]
            let decoded: JSON
            var buffer = [UInt8](repeating: 0, count: RecordSealer.maximumPlaintextByteCount)
            let plaintext: [UInt8] = try buffer.withUnsafeMutableBytes { raw in
                var writer = ByteWriter(raw)
                switch content {
                case .manifest(let count, let sum):
                    try RecordCodec.encodeManifest(count: count, sum: sum, into: &writer)
                case .dataCenter(let dataCenter):
                    try RecordCodec.encode(dataCenter, into: &writer)
                case .user(let user):
                    try RecordCodec.encode(user, into: &writer)
                case .updateState(let pts, let qts, let date, let seq):
                    try RecordCodec.encodeUpdateState(pts: pts, qts: qts, date: date, seq: seq, into: &writer)
                case .channel(let id, let pts):
                    try RecordCodec.encodeChannelState(id: id, pts: pts, into: &writer)
                case .extras(let apiID, let testMode, let takeoutID):
                    try RecordCodec.encodeSessionExtras(apiID: apiID, isTestMode: testMode, takeoutID: takeoutID, into: &writer)
                case .peer(let peer), .peerIndex(_, let peer):
                    try RecordCodec.encode(peer, into: &writer)
                }
                return Array(writer.written)
            }
            switch content {
            case .manifest(let count, let sum):
                (kind, identity) = (.manifest, [])
                decoded = .object([("count", .uint(count)), ("sum", .hex(sum))])
            case .dataCenter(let dataCenter):
                (kind, identity) = (.dataCenter, RecordCodec.dataCenterIdentity(dataCenter.identity))
                decoded = SessionJSON.dataCenter(dataCenter)
            case .user(let user):
                (kind, identity) = (.user, [])
                decoded = .object([
                    ("id", .int(user.id)), ("dc_id", .int(Int64(user.dataCenterID))), ("is_bot", .bool(user.isBot)),
                    ("username", user.username.map { .string($0) } ?? .null),
                ])
            case .updateState(let pts, let qts, let date, let seq):
                (kind, identity) = (.updateState, [])
                decoded = .object([("pts", .int(Int64(pts))), ("qts", .int(Int64(qts))), ("date", .int(date)), ("seq", .int(Int64(seq)))])
            case .channel(let id, let pts):
                (kind, identity) = (.channelState, RecordCodec.channelIdentity(id))
                decoded = .object([("channel_id", .int(id)), ("pts", .int(Int64(pts)))])
            case .extras(let apiID, let testMode, let takeoutID):
                (kind, identity) = (.sessionExtras, [])
                decoded = .object([
                    ("api_id", apiID.map { .int(Int64($0)) } ?? .null), ("test_mode", .bool(testMode)),
                    ("takeout_id", takeoutID.map { .int($0) } ?? .null),
                ])
            case .peer(let peer):
                (kind, identity) = (.peer, RecordCodec.peerIdentity(peer.id))
                decoded = SessionJSON.peer(peer)
            case .peerIndex(let field, let peer):
                let value = field == .username ? peer.username! : peer.phoneNumber!
                (kind, identity) = (.peerIndex, RecordCodec.peerIndexIdentity(field, value))
                decoded = SessionJSON.peer(peer)
            }
            let tag = keys.tag(kind: kind, identity: identity)
            let recordKey = reveal(keys.recordKey(kind: kind, tag: tag))
            let nonce = bytes(formatVersion == 1 ? "record nonce \(index)" : "record v\(formatVersion) nonce \(index)", 24)
            var members: [(String, JSON)] = [
                ("name", .string(name)),
                ("data_key", .hex(keysInput.dataKey)),
                ("vault_id", .hex(keysInput.vaultID)),
                ("format_version", .int(Int64(formatVersion))),
                ("kind", .int(Int64(kind.rawValue))),
                ("kind_name", .string(kind.description)),
                ("identity", .hex(identity)),
                ("tag", .hex(tag)),
                ("masked_kind", .int(Int64(kind.rawValue ^ keys.mask(tag: tag)))),
                ("record_key", .hex(recordKey)),
                ("nonce", .hex(nonce)),
                ("plaintext", .hex(plaintext)),
            ]
            let sealed = formatVersion == 1 ? plaintext : padded(plaintext)
            if formatVersion != 1 { members.append(("padded_plaintext", .hex(sealed))) }
            members += [
                ("ciphertext", .hex(secretbox(sealed, nonce: nonce, key: recordKey))),
                ("decoded", decoded),
            ]
            vectors.append(.object(members))
        }
        if formatVersion != 1 {
            return document(
                [
                    "Sealed records of format version 2 (docs/FORMAT.md 5.4, 5.5): record_key as in records.json, with u32le format_version = 2;",
                    "padded_plaintext = plaintext || 0x80 || zero bytes up to the next multiple of 128 (ISO/IEC 7816-4, libsodium sodium_pad with blocksize 128);",
                    "ciphertext = crypto_secretbox_easy(padded_plaintext, nonce, record_key). The same records as records.json.",
                ],
                [("vectors", .array(vectors))],
                formatVersion: formatVersion
            )
        }
        return document(
            [
                "Sealed records (docs/FORMAT.md 5.4, 5.5): record_key = BLAKE2b-256(key = data_key, LABEL('record-key') || vault_id || u8 kind || tag || u32le format_version);",
                "ciphertext = crypto_secretbox_easy(plaintext, nonce, record_key). A row of sv_record is (tag, masked_kind, nonce, ciphertext).",
                "decoded is what the plaintext means, in the manifest's JSON shapes (data centers and peers exactly as in manifest.json).",
                "A peer-index plaintext is the peer it names; its identity is u8 field (1 username, 2 phone) || the value's UTF-8 bytes.",
            ],
            [("vectors", .array(vectors))]
        )
    }

    // MARK: header.json

    static func header() throws -> JSON {
        let passphraseSlot = StoredKeyslot(
            slot: 0, kindCode: 1, kdfAlgorithmCode: 2, opsLimit: 3, memLimit: 64 << 20,
            salt: bytes("header salt 0", 16), nonce: bytes("header nonce 0", 24), wrappedKey: bytes("header wrapped 0", 48)
        )
        let recoverySlot = StoredKeyslot(
            slot: 1, kindCode: 2, kdfAlgorithmCode: 0, opsLimit: 0, memLimit: 0,
            salt: bytes("header salt 1", 16), nonce: bytes("header nonce 1", 24), wrappedKey: bytes("header wrapped 1", 48)
        )
        var floorSlot = passphraseSlot
        floorSlot.slot = 5
        floorSlot.opsLimit = 1
        floorSlot.memLimit = 8192
        let cases: [(String, (name: String, dataKey: [UInt8], vaultID: [UInt8]), [StoredKeyslot])] = [
            ("one passphrase keyslot", keyInputs[0], [passphraseSlot]),
            ("passphrase and recovery keyslots", keyInputs[0], [passphraseSlot, recoverySlot]),
            ("keyslots 5 and 0 given out of order: the canonical form sorts by slot", keyInputs[1], [floorSlot, passphraseSlot]),
            ("no keyslots (a memory-only vault's header)", keyInputs[2], []),
        ]
        var vectors: [JSON] = []
        for (name, input, slots) in cases {
            let keys = try schedule(input.dataKey, input.vaultID)
            let header = StoredHeader(formatVersion: 1, vaultID: input.vaultID, mac: [])
            vectors.append(
                .object([
                    ("name", .string(name)),
                    ("data_key", .hex(input.dataKey)),
                    ("k_header", .hex(try subkey("header-key", input.dataKey, input.vaultID))),
                    (
                        "header",
                        .object([("magic", .hex(header.magic)), ("format_version", .int(Int64(header.formatVersion))), ("vault_id", .hex(input.vaultID))])
                    ),
                    (
                        "keyslots",
                        .array(
                            slots.map { slot in
                                .object([
                                    ("slot", .int(Int64(slot.slot))), ("kind", .int(Int64(slot.kindCode))), ("kdf", .int(Int64(slot.kdfAlgorithmCode))),
                                    ("opslimit", .uint(slot.opsLimit)), ("memlimit", .uint(slot.memLimit)),
                                    ("salt", .hex(slot.salt)), ("nonce", .hex(slot.nonce)), ("wrapped_key", .hex(slot.wrappedKey)),
                                ])
                            }
                        )
                    ),
                    ("canonical", .hex(KeySchedule.canonicalHeaderBytes(header: header, keyslots: slots))),
                    ("mac", .hex(keys.headerMAC(header: header, keyslots: slots))),
                ])
            )
        }
        return document(
            [
                "The header MAC (docs/FORMAT.md 6): canonical = magic || u32le format_version || vault_id || u32le number_of_keyslots ||",
                "for each keyslot by ascending slot: u8 slot || u8 kind || u8 kdf || u64le opslimit || u64le memlimit ||",
                "u32le len || salt || u32le len || nonce || u32le len || wrapped_key; mac = BLAKE2b-256(key = K_header, canonical).",
                "Keyslot contents here are fixed filler bytes: the MAC covers them whatever they are.",
            ],
            [("vectors", .array(vectors))]
        )
    }

    // MARK: recoverykey.json

    static func recoveryKey() throws -> JSON {
        let keys: [(String, [UInt8])] = [
            ("all zero", [UInt8](repeating: 0, count: 32)),
            ("all 0xff", [UInt8](repeating: 0xFF, count: 32)),
            ("counting", (0..<32).map { UInt8($0) }),
            ("seeded", bytes("recovery key", 32)),
        ]
        var vectors: [JSON] = []
        var displays: [String] = []
        for (index, (name, key)) in keys.enumerated() {
            let recovery = RecoveryKey(secret: try secret(key))
            let display = try recovery.withDisplayForm { String(decoding: $0, as: UTF8.self) }
            displays.append(display)
            var checksum = [UInt8](repeating: 0, count: 16)
            let label = KeySchedule.label("recovery-checksum")
            label.withUnsafeBytes { labelBytes in
                key.withUnsafeBytes { keyBytes in
                    checksum.withUnsafeMutableBytes {
                        Blake2b.hash(into: $0, key: UnsafeRawBufferPointer(start: nil, count: 0), parts: [labelBytes, keyBytes])
                    }
                }
            }
            let salt = bytes("recovery salt \(index)", 16)
            let kek = reveal(try KeyDerivation.recoveryKEK(try secret(key), salt: salt))
            vectors.append(
                .object([
                    ("name", .string(name)),
                    ("key", .hex(key)),
                    ("checksum", .hex(Array(checksum.prefix(2)))),
                    ("display", .string(display)),
                    ("salt", .hex(salt)),
                    ("kek", .hex(kek)),
                ])
            )
        }
        let seeded = displays[3]
        let undashed = seeded.replacingOccurrences(of: "-", with: "")
        var typo = Array(seeded)
        typo[0] = typo[0] == "A" ? "B" : "A"
        let accepted: [JSON] = [
            .object([("text", .string(seeded.lowercased())), ("key", .hex(keys[3].1))]),
            .object([("text", .string(undashed)), ("key", .hex(keys[3].1))]),
            .object([("text", .string(seeded.replacingOccurrences(of: "-", with: " ") + "\n")), ("key", .hex(keys[3].1))]),
        ]
        let rejected: [JSON] = [
            .object([("text", .string(String(typo))), ("expect", .string("invalid-argument")), ("why", .string("one character changed: the checksum fails"))]),
            .object([("text", .string(String(undashed.dropLast()))), ("expect", .string("invalid-argument")), ("why", .string("54 characters"))]),
            .object([("text", .string(undashed + "A")), ("expect", .string("invalid-argument")), ("why", .string("56 characters"))]),
            .object([("text", .string("1" + undashed.dropFirst())), ("expect", .string("invalid-argument")), ("why", .string("'1' is not in the base32 alphabet"))]),
        ]
        return document(
            [
                "Recovery keys (docs/FORMAT.md 4.2): checksum = first 2 bytes of BLAKE2b-128(LABEL('recovery-checksum') || key), unkeyed;",
                "display = RFC 4648 base32 (no padding) of key || checksum: 55 characters in groups of five joined by '-'.",
                "kek = BLAKE2b-256(key = recovery key, LABEL('recovery-kek') || salt) for a recovery keyslot with that salt.",
                "accepted: other spellings that parse to the same key; rejected: texts a reader must refuse before trying any keyslot.",
            ],
            [("vectors", .array(vectors)), ("accepted", .array(accepted)), ("rejected", .array(rejected))]
        )
    }

    // MARK: manifest-sum.json

    static func manifestSum() throws -> JSON {
        var keyed: [JSON] = []
        for input in keyInputs {
            let keys = try schedule(input.dataKey, input.vaultID)
            var sum = RecordSetSum()
            var tags: [JSON] = []
            var elements: [JSON] = []
            var count = 0
            for (kind, identity, _) in identities where kind != .manifest {
                let tag = keys.tag(kind: kind, identity: identity)
                let element = keys.setElement(tag: tag)
                sum.add(element)
                tags.append(.hex(tag))
                elements.append(.hex(element))
                count += 1
            }
            keyed.append(
                .object([
                    ("name", .string(input.name)),
                    ("data_key", .hex(input.dataKey)),
                    ("vault_id", .hex(input.vaultID)),
                    ("tags", .array(tags)),
                    ("elements", .array(elements)),
                    ("count", .int(Int64(count))),
                    ("sum", .hex(sum.bytes)),
                ])
            )
        }
        func le(_ pairs: [(Int, UInt8)]) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: 32)
            for (index, value) in pairs { bytes[index] = value }
            return bytes
        }
        let ones = [UInt8](repeating: 0xFF, count: 32)
        let arithmetic: [(String, [[UInt8]])] = [
            ("empty set: zero", []),
            ("a carry from byte 0 into byte 1", [le([(0, 0xFF)]), le([(0, 0x01)])]),
            ("a carry through every byte wraps to zero (mod 2^256)", [ones, le([(0, 0x01)])]),
            ("2^256 - 1 twice is 2^256 - 2", [ones, ones]),
            ("little-endian: the last byte is the most significant", [le([(31, 0x80)]), le([(31, 0x80)]), le([(30, 0x01)])]),
        ]
        var sums: [JSON] = []
        for (name, elements) in arithmetic {
            var sum = RecordSetSum()
            for element in elements { sum.add(element) }
            sums.append(.object([("name", .string(name)), ("elements", .array(elements.map { .hex($0) })), ("sum", .hex(sum.bytes))]))
        }
        return document(
            [
                "The manifest's set sum (docs/FORMAT.md 5.6): element = BLAKE2b-256(key = K_set, tag) for every record but the manifest;",
                "sum = the elements added as 256-bit little-endian integers, mod 2^256, written as 32 bytes little-endian; count = number of records.",
                "keyed: the tags of tags.json's non-manifest identities; arithmetic: the addition alone.",
            ],
            [("keyed", .array(keyed)), ("arithmetic", .array(sums))]
        )
    }

    // MARK: sealed-string.json

    /// Sealed session strings (`docs/FORMAT.md` §10) built step by step from fixed inputs, the payload
    /// framed here from the format's description (the library's framing is private).
    static func sealedString() throws -> JSON {
        let session = Session(
            dataCenters: [
                DataCenter(
                    id: 2,
                    ipv4: Endpoint(host: "149.154.167.51", port: 443),
                    ipv6: Endpoint(host: "2001:67c:4e8:f002::a", port: 443),
                    authKey: try FixtureSessions.authKey("sealed-string/dc2")
                ),
                DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.222", port: 443), authKey: try FixtureSessions.authKey("sealed-string/dc2/media"), isMediaOnly: true),
                DataCenter(id: 4, ipv4: Endpoint(host: "149.154.167.91", port: 443)),
            ],
            user: LoggedInUser(id: 7_123_456_789, dataCenterID: 2, isBot: true, username: "sealed_string_bot"),
            updateState: UpdateState(pts: 4_242, qts: 17, date: 1_764_000_000, seq: 99, channels: [1_234_567_890: 100, 1_000_000_001: 7]),
            apiID: 611_335
        )
        let cases: [(String, String, Session, UInt64, UInt64)] = [
            ("every record kind a sealed string carries, test-floor KDF", "sealed string passphrase", session, 1, 8192),
            ("an empty session", "sealed string passphrase", Session(), 1, 8192),
            ("the default profile", "correct horse battery staple", session, KDFParameters.default.opsLimit, KDFParameters.default.memLimit),
        ]
        func frame(_ kind: RecordKind, _ body: (inout ByteWriter) throws(VaultError) -> Void) throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: RecordSealer.maximumPlaintextByteCount)
            let plaintext: [UInt8] = try buffer.withUnsafeMutableBytes { raw in
                var writer = ByteWriter(raw)
                try body(&writer)
                return Array(writer.written)
            }
            return [kind.rawValue] + ByteWriter.littleEndian(UInt32(plaintext.count)) + plaintext
        }
        var vectors: [JSON] = []
        var texts: [(passphrase: String, text: String, blob: [UInt8])] = []
        for (index, (name, passphrase, content, ops, mem)) in cases.enumerated() {
            let salt = bytes("sealed salt \(index)", 16)
            let keyNonce = bytes("sealed key nonce \(index)", 24)
            let payloadNonce = bytes("sealed payload nonce \(index)", 24)
            let dataKey = bytes("sealed data key \(index)", 32)
            let parameters = KDFParameters(opsLimit: ops, memLimit: mem)
            let kek = reveal(try KeyDerivation.passphraseKEK(try Passphrase(copying: passphrase), salt: salt, parameters: parameters))
            let wrapped = secretbox(dataKey, nonce: keyNonce, key: kek)
            let header = [1, 2] + ByteWriter.littleEndian(ops) + ByteWriter.littleEndian(mem) + salt + keyNonce + wrapped
            let payloadKey = blake2b(key: dataKey, KeySchedule.label("sealed-string-key") + header)
            var payload: [UInt8] = []
            for dataCenter in content.dataCenters.sorted(by: { $0.identity < $1.identity }) {
                payload += try frame(.dataCenter) { (writer) throws(VaultError) in try RecordCodec.encode(dataCenter, into: &writer) }
            }
            if let user = content.user {
                payload += try frame(.user) { (writer) throws(VaultError) in try RecordCodec.encode(user, into: &writer) }
            }
            if let state = content.updateState {
                payload += try frame(.updateState) { (writer) throws(VaultError) in
                    try RecordCodec.encodeUpdateState(pts: state.pts, qts: state.qts, date: state.date, seq: state.seq, into: &writer)
                }
                for (channel, pts) in state.channels.sorted(by: { $0.key < $1.key }) {
                    payload += try frame(.channelState) { (writer) throws(VaultError) in try RecordCodec.encodeChannelState(id: channel, pts: pts, into: &writer) }
                }
            }
            if content.apiID != nil || content.isTestMode || content.takeoutID != nil {
                payload += try frame(.sessionExtras) { (writer) throws(VaultError) in
                    try RecordCodec.encodeSessionExtras(apiID: content.apiID, isTestMode: content.isTestMode, takeoutID: content.takeoutID, into: &writer)
                }
            }
            let ciphertext = secretbox(payload, nonce: payloadNonce, key: payloadKey)
            let blob = header + payloadNonce + ciphertext
            let text = "svs1." + (try GuardedBase64.encodeText(blob, padding: .unpadded))
            texts.append((passphrase, text, blob))
            vectors.append(
                .object([
                    ("name", .string(name)),
                    ("passphrase", .string(passphrase)),
                    ("opslimit", .uint(ops)),
                    ("memlimit", .uint(mem)),
                    ("within_bounds", .bool(parameters.isWithinBounds)),
                    ("salt", .hex(salt)),
                    ("key_nonce", .hex(keyNonce)),
                    ("data_key", .hex(dataKey)),
                    ("kek", .hex(kek)),
                    ("wrapped_key", .hex(wrapped)),
                    ("header", .hex(header)),
                    ("payload_key", .hex(payloadKey)),
                    ("payload", .hex(payload)),
                    ("payload_nonce", .hex(payloadNonce)),
                    ("payload_ciphertext", .hex(ciphertext)),
                    ("text", .string(text)),
                    ("session", SessionJSON.make(content.isEmpty ? nil : content)),
                ])
            )
        }
        // Texts a reader must refuse, made from the first vector.
        let (passphrase, text, blob) = texts[0]
        func variant(_ change: (inout [UInt8]) -> Void) throws -> String {
            var copy = blob
            change(&copy)
            return "svs1." + (try GuardedBase64.encodeText(copy, padding: .unpadded))
        }
        let rejected: [(String, String, String, String)] = try [
            (variant { $0[$0.count - 1] ^= 0x01 }, passphrase, "tampered", "the last ciphertext byte flipped"),
            (variant { $0[20] ^= 0x01 }, passphrase, "wrong-passphrase", "a salt byte flipped: another KEK, the data key does not unwrap"),
            (variant { $0[0] = 2 }, passphrase, "unsupported-format-version", "version byte 2"),
            (variant { $0[1] = 9 }, passphrase, "unsupported-format-version", "kdf byte 9"),
            (variant { $0[2] = 0 }, passphrase, "kdf-parameters-out-of-bounds", "opslimit 0, checked before deriving"),
            (variant { $0[10...17] = ArraySlice(ByteWriter.littleEndian(UInt64(64) << 30)) }, passphrase, "kdf-parameters-out-of-bounds", "memlimit 64 GiB"),
            (variant { $0.removeLast($0.count - 140) }, passphrase, "corrupt", "cut to 140 bytes: shorter than header, nonce and tag (146)"),
            (text, "not the passphrase", "wrong-passphrase", "a wrong passphrase"),
            (text + "=", passphrase, "invalid-argument", "base64 padding"),
            (String(text.dropLast()) + "+", passphrase, "invalid-argument", "a character outside the base64url alphabet"),
            ("svs2." + text.dropFirst(5), passphrase, "invalid-argument", "another prefix"),
        ]
        return document(
            [
                "Sealed session strings (docs/FORMAT.md 10): text = 'svs1.' || base64url-without-padding(header || payload_nonce || payload_ciphertext);",
                "header = u8 version (1) || u8 kdf (2) || u64le opslimit || u64le memlimit || salt || key_nonce || wrapped_key, wrapped_key = SECRETBOX(kek, key_nonce, data_key);",
                "payload_key = BLAKE2b-256(key = data_key, LABEL('sealed-string-key') || header); payload = (u8 kind || u32le length || plaintext)*, ascending kinds;",
                "payload_ciphertext = SECRETBOX(payload_key, payload_nonce, payload). Test-floor vectors open only with the test switch (kdf_bounds 'test').",
                "rejected: texts made from the first vector that a reader must refuse (with the test switch), and the error.",
            ],
            [
                ("vectors", .array(vectors)),
                (
                    "rejected",
                    .array(
                        rejected.map {
                            .object([("text", .string($0.0)), ("passphrase", .string($0.1)), ("expect", .string($0.2)), ("why", .string($0.3))])
                        }
                    )
                ),
            ]
        )
    }

    static func blake2b(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_generichash(&out, 32, message, UInt64(message.count), key, key.count)
        return out
    }

    /// Every vector file: name → document.
    static func all() throws -> [(String, JSON)] {
        [
            ("kdf.json", try kdf()),
            ("keyschedule.json", try keySchedule()),
            ("tags.json", try tags()),
            ("records.json", try records()),
            ("records-v2.json", try records(formatVersion: 2)),
            ("header.json", try header()),
            ("recoverykey.json", try recoveryKey()),
            ("manifest-sum.json", try manifestSum()),
            ("sealed-string.json", try sealedString()),
        ]
    }
}
#endif
