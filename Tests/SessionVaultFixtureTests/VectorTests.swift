import CSodium
import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Every sealing-layer vector of `Fixtures/vectors/`, re-derived with the library's code (and, where
/// a key is private to the library, checked through what the library computes with it).
@Suite("Fixtures: sealing-layer vectors")
struct VectorTests {
    // MARK: kdf.json

    struct KDFFile: Decodable {
        struct Vector: Decodable {
            var name: String
            var passphrase: String
            var passphraseHex: String
            var salt: String
            var opslimit: UInt64
            var memlimit: UInt64
            var withinBounds: Bool
            var kek: String
            var dataKey: String
            var nonce: String
            var wrappedKey: String
        }
        var vectors: [Vector]
    }

    @Test func kdfVectors() throws {
        let file = try vectorFile("kdf.json", as: KDFFile.self)
        #expect(file.vectors.count >= 3)
        #expect(file.vectors.contains { $0.opslimit == KDFParameters.default.opsLimit && $0.memlimit == KDFParameters.default.memLimit })
        #expect(file.vectors.contains { $0.opslimit == 1 && $0.memlimit == 8192 })
        for vector in file.vectors {
            #expect(hex(Array(vector.passphrase.utf8)) == vector.passphraseHex, "\(vector.name)")
            let parameters = KDFParameters(opsLimit: vector.opslimit, memLimit: vector.memlimit)
            #expect(parameters.isWithinBounds == vector.withinBounds, "\(vector.name)")
            let passphrase = try bytes(vector.passphraseHex).withUnsafeBytes { try Passphrase(copying: $0) }
            let kek = try KeyDerivation.passphraseKEK(passphrase, salt: bytes(vector.salt), parameters: parameters)
            #expect(hex(reveal(kek)) == vector.kek, "\(vector.name)")
            let unwrapped = try KeyDerivation.unwrap(wrappedKey: bytes(vector.wrappedKey), nonce: bytes(vector.nonce), kek: kek)
            #expect(unwrapped.map { hex(reveal($0)) } == vector.dataKey, "\(vector.name)")
            #expect(hex(secretboxEasy(bytes(vector.dataKey), nonce: bytes(vector.nonce), key: bytes(vector.kek))) == vector.wrappedKey)
        }
    }

    // MARK: keyschedule.json

    struct KeyScheduleFile: Decodable {
        struct Vector: Decodable {
            var name: String
            var dataKey: String
            var vaultId: String
            var kTag: String
            var kMask: String
            var kHeader: String
            var kSet: String
        }
        var labels: [String: String]
        var vectors: [Vector]
    }

    @Test func keyScheduleVectors() throws {
        let file = try vectorFile("keyschedule.json", as: KeyScheduleFile.self)
        #expect(file.labels.count == 7)
        for (name, labelHex) in file.labels {
            #expect(hex(KeySchedule.label(name)) == labelHex, "\(name)")
            #expect(labelHex == hex(Array("sessionvault/v1/\(name)".utf8) + [0]))
        }
        for vector in file.vectors {
            let dataKey = bytes(vector.dataKey)
            let vaultID = bytes(vector.vaultId)
            // Each K_x is BLAKE2b-256(key = DEK, LABEL(name) || vault_id) ...
            for (name, expected) in [("tag-key", vector.kTag), ("kind-mask-key", vector.kMask), ("header-key", vector.kHeader), ("set-key", vector.kSet)] {
                #expect(hex(blake2b(32, key: dataKey, KeySchedule.label(name) + vaultID)) == expected, "\(vector.name) \(name)")
            }
            // ... and is the key the library actually uses (its subkeys are private: check their effect).
            let keys = try KeySchedule(dataKey: try secret(dataKey), vaultID: vaultID)
            let tag = keys.tag(kind: .user, identity: [])
            #expect(tag == blake2b(32, key: bytes(vector.kTag), [RecordKind.user.rawValue]))
            #expect(keys.mask(tag: tag) == blake2b(16, key: bytes(vector.kMask), tag)[0])
            #expect(keys.setElement(tag: tag) == blake2b(32, key: bytes(vector.kSet), tag))
            let header = StoredHeader(formatVersion: 1, vaultID: vaultID, mac: [])
            #expect(keys.headerMAC(header: header, keyslots: []) == blake2b(32, key: bytes(vector.kHeader), KeySchedule.canonicalHeaderBytes(header: header, keyslots: [])))
        }
    }

    // MARK: tags.json

    struct TagsFile: Decodable {
        struct Record: Decodable {
            var kind: UInt8
            var kindName: String
            var identity: String
            var meaning: String
            var tag: String
            var mask: UInt8
            var maskedKind: UInt8
            var setElement: String
        }
        struct Vector: Decodable {
            var name: String
            var dataKey: String
            var vaultId: String
            var records: [Record]
        }
        var vectors: [Vector]
    }

    @Test func tagVectors() throws {
        let file = try vectorFile("tags.json", as: TagsFile.self)
        for vector in file.vectors {
            let keys = try KeySchedule(dataKey: try secret(bytes(vector.dataKey)), vaultID: bytes(vector.vaultId))
            #expect(Set(vector.records.map(\.kind)) == Set(RecordKind.allCases.map(\.rawValue)), "every kind is covered")
            for record in vector.records {
                let kind = try #require(RecordKind(rawValue: record.kind))
                #expect(kind.description == record.kindName)
                let tag = keys.tag(kind: kind, identity: bytes(record.identity))
                #expect(hex(tag) == record.tag, "\(vector.name) \(record.meaning)")
                #expect(keys.mask(tag: tag) == record.mask)
                #expect(record.kind ^ record.mask == record.maskedKind)
                #expect(hex(keys.setElement(tag: tag)) == record.setElement)
            }
        }
    }

    // MARK: records.json

    struct RecordsFile: Decodable {
        struct Decoded: Decodable {
            // Manifest
            var count: UInt64?
            var sum: String?
            // Data center (id is shared with the user)
            var id: Int64?
            var mediaOnly: Bool?
            var ipv4: ExpectedEndpoint?
            var ipv6: ExpectedEndpoint?
            var authKey: ExpectedKey?
            var temporaryAuthKey: ExpectedKey?
            // User
            var dcId: Int32?
            var isBot: Bool?
            var username: String?
            // Update state and channel state
            var pts: Int32?
            var qts: Int32?
            var date: Int64?
            var seq: Int32?
            var channelId: Int64?
            // Session extras
            var apiId: Int32?
            var testMode: Bool?
            var takeoutId: Int64?
            // Peer and peer index (id above)
            var accessHash: Int64?
            var kind: String?
            var phoneNumber: String?
            var name: String?
            var updatedAt: Int64?

            var peer: ExpectedPeer {
                ExpectedPeer(
                    id: id!, accessHash: accessHash!, kind: kind!, username: username, phoneNumber: phoneNumber,
                    name: name, updatedAt: updatedAt
                )
            }
        }
        struct Vector: Decodable {
            var name: String
            var dataKey: String
            var vaultId: String
            var formatVersion: UInt32
            var kind: UInt8
            var kindName: String
            var identity: String
            var tag: String
            var maskedKind: UInt8
            var recordKey: String
            var nonce: String
            var plaintext: String
            /// Version 2 only: the plaintext padded to a multiple of 128 bytes, what is sealed.
            var paddedPlaintext: String?
            var ciphertext: String
            var decoded: Decoded
        }
        var vectors: [Vector]
    }

    static func authKey(_ expected: ExpectedKey?) throws -> AuthKey? {
        guard let expected else { return nil }
        return try bytes(expected.hex).withUnsafeBytes { try AuthKey(copying: $0) }
    }

    /// The plaintext the library's encoder writes for the decoded value.
    static func encode(_ kind: RecordKind, _ decoded: RecordsFile.Decoded) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: RecordSealer.maximumPlaintextByteCount)
        return try buffer.withUnsafeMutableBytes { raw in
            var writer = ByteWriter(raw)
            switch kind {
            case .manifest:
                try RecordCodec.encodeManifest(count: decoded.count!, sum: bytes(decoded.sum!), into: &writer)
            case .dataCenter:
                try RecordCodec.encode(
                    DataCenter(
                        id: Int32(decoded.id!),
                        ipv4: decoded.ipv4.map { Endpoint(host: $0.host, port: $0.port) },
                        ipv6: decoded.ipv6.map { Endpoint(host: $0.host, port: $0.port) },
                        authKey: try authKey(decoded.authKey),
                        temporaryAuthKey: try authKey(decoded.temporaryAuthKey),
                        isMediaOnly: decoded.mediaOnly!
                    ),
                    into: &writer
                )
            case .user:
                try RecordCodec.encode(
                    LoggedInUser(id: decoded.id!, dataCenterID: decoded.dcId!, isBot: decoded.isBot!, username: decoded.username),
                    into: &writer
                )
            case .updateState:
                try RecordCodec.encodeUpdateState(pts: decoded.pts!, qts: decoded.qts!, date: decoded.date!, seq: decoded.seq!, into: &writer)
            case .channelState:
                try RecordCodec.encodeChannelState(id: decoded.channelId!, pts: decoded.pts!, into: &writer)
            case .sessionExtras:
                try RecordCodec.encodeSessionExtras(apiID: decoded.apiId, isTestMode: decoded.testMode!, takeoutID: decoded.takeoutId, into: &writer)
            case .peer, .peerIndex:
                try RecordCodec.encode(decoded.peer.peer!, into: &writer)
            }
            return Array(writer.written)
        }
    }

    /// `records.json` (format version 1, unpadded) and `records-v2.json` (version 2, padded).
    @Test(arguments: [("records.json", UInt32(1)), ("records-v2.json", 2)])
    func recordVectors(fileName: String, formatVersion: UInt32) throws {
        let file = try vectorFile(fileName, as: RecordsFile.self)
        #expect(Set(file.vectors.map(\.kind)) == Set(RecordKind.allCases.map(\.rawValue)), "every kind is covered")
        for vector in file.vectors {
            let kind = try #require(RecordKind(rawValue: vector.kind))
            #expect(kind.description == vector.kindName)
            #expect(vector.formatVersion == formatVersion)
            let keys = try KeySchedule(dataKey: try secret(bytes(vector.dataKey)), vaultID: bytes(vector.vaultId), formatVersion: vector.formatVersion)
            let tag = bytes(vector.tag)
            #expect(keys.tag(kind: kind, identity: bytes(vector.identity)) == tag, "\(vector.name)")
            #expect(kind.rawValue ^ keys.mask(tag: tag) == vector.maskedKind, "\(vector.name)")
            #expect(hex(reveal(keys.recordKey(kind: kind, tag: tag))) == vector.recordKey, "\(vector.name)")
            var sealed = bytes(vector.plaintext)
            if formatVersion >= 2 {
                // ISO/IEC 7816-4 to a multiple of 128, as libsodium's sodium_pad computes it.
                let padded = try #require(vector.paddedPlaintext.map(bytes))
                var viaLibsodium = sealed + [UInt8](repeating: 0, count: 128)
                var paddedCount = 0
                #expect(sodium_pad(&paddedCount, &viaLibsodium, sealed.count, 128, viaLibsodium.count) == 0)
                #expect(Array(viaLibsodium.prefix(paddedCount)) == padded, "\(vector.name): the padding")
                sealed = padded
            } else {
                #expect(vector.paddedPlaintext == nil)
            }
            #expect(hex(secretboxEasy(sealed, nonce: bytes(vector.nonce), key: bytes(vector.recordKey))) == vector.ciphertext)
            #expect(hex(try Self.encode(kind, vector.decoded)) == vector.plaintext, "\(vector.name): the encoder")

            // The library's real open path accepts the row and decodes exactly `decoded`.
            let sealer = try RecordSealer(keys: keys)
            let (openedKind, decoded) = try sealer.open(
                SealedRecord(tag: tag, maskedKind: vector.maskedKind, nonce: bytes(vector.nonce), ciphertext: bytes(vector.ciphertext))
            )
            #expect(openedKind == kind)
            let expected = vector.decoded
            switch decoded {
            case .manifest(let count, let sum):
                #expect(count == expected.count && hex(sum) == expected.sum)
            case .dataCenter(let dataCenter):
                let wanted = ExpectedDataCenter(
                    id: Int32(expected.id!),
                    mediaOnly: expected.mediaOnly!,
                    ipv4: expected.ipv4,
                    ipv6: expected.ipv6,
                    authKey: expected.authKey,
                    temporaryAuthKey: expected.temporaryAuthKey
                )
                let session = Session(dataCenters: [dataCenter])
                let problems = SessionComparison.differences(session, ExpectedSession(dataCenters: [wanted], testMode: false))
                #expect(problems.isEmpty, "\(vector.name): \(problems)")
            case .user(let user):
                #expect(user == LoggedInUser(id: expected.id!, dataCenterID: expected.dcId!, isBot: expected.isBot!, username: expected.username))
            case .updateState(let pts, let qts, let date, let seq):
                #expect(pts == expected.pts && qts == expected.qts && date == expected.date && seq == expected.seq)
            case .channelState(let id, let pts):
                #expect(id == expected.channelId && pts == expected.pts)
            case .sessionExtras(let apiID, let isTestMode, let takeoutID):
                #expect(apiID == expected.apiId && isTestMode == expected.testMode && takeoutID == expected.takeoutId)
            case .peer(let peer), .peerIndex(let peer):
                #expect(peer == expected.peer.peer, "\(vector.name)")
            }
            // One flipped ciphertext bit and the same row no longer opens.
            var flipped = bytes(vector.ciphertext)
            flipped[flipped.count - 1] ^= 1
            #expect(throws: VaultError(.tampered, "")) {
                _ = try sealer.open(SealedRecord(tag: tag, maskedKind: vector.maskedKind, nonce: bytes(vector.nonce), ciphertext: flipped))
            }
        }
    }

    // MARK: header.json

    struct HeaderFile: Decodable {
        struct Slot: Decodable {
            var slot: UInt8
            var kind: UInt8
            var kdf: UInt8
            var opslimit: UInt64
            var memlimit: UInt64
            var salt: String
            var nonce: String
            var wrappedKey: String
        }
        struct Header: Decodable {
            var magic: String
            var formatVersion: UInt32
            var vaultId: String
        }
        struct Vector: Decodable {
            var name: String
            var dataKey: String
            var kHeader: String
            var header: Header
            var keyslots: [Slot]
            var canonical: String
            var mac: String
        }
        var vectors: [Vector]
    }

    @Test func headerVectors() throws {
        let file = try vectorFile("header.json", as: HeaderFile.self)
        for vector in file.vectors {
            let header = StoredHeader(
                magic: bytes(vector.header.magic),
                formatVersion: vector.header.formatVersion,
                vaultID: bytes(vector.header.vaultId),
                mac: []
            )
            #expect(header.magic == StoredHeader.magic)
            let slots = vector.keyslots.map {
                StoredKeyslot(
                    slot: $0.slot, kindCode: $0.kind, kdfAlgorithmCode: $0.kdf, opsLimit: $0.opslimit, memLimit: $0.memlimit,
                    salt: bytes($0.salt), nonce: bytes($0.nonce), wrappedKey: bytes($0.wrappedKey)
                )
            }
            let canonical = KeySchedule.canonicalHeaderBytes(header: header, keyslots: slots)
            #expect(hex(canonical) == vector.canonical, "\(vector.name)")
            let keys = try KeySchedule(dataKey: try secret(bytes(vector.dataKey)), vaultID: header.vaultID)
            #expect(hex(keys.headerMAC(header: header, keyslots: slots)) == vector.mac, "\(vector.name)")
            #expect(hex(blake2b(32, key: bytes(vector.kHeader), canonical)) == vector.mac)
        }
    }

    // MARK: recoverykey.json

    struct RecoveryFile: Decodable {
        struct Vector: Decodable {
            var name: String
            var key: String
            var checksum: String
            var display: String
            var salt: String
            var kek: String
        }
        struct Accepted: Decodable {
            var text: String
            var key: String
        }
        struct Rejected: Decodable {
            var text: String
            var expect: String
            var why: String
        }
        var vectors: [Vector]
        var accepted: [Accepted]
        var rejected: [Rejected]
    }

    /// RFC 4648 base32 without padding, ignoring dashes (an independent decoder for the check).
    static func base32(_ text: String) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var out: [UInt8] = []
        var accumulator = 0
        var bits = 0
        for character in text where character != "-" {
            accumulator = (accumulator << 5) | alphabet.firstIndex(of: character)!
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> bits))
            }
            accumulator &= (1 << bits) - 1
        }
        return out
    }

    static func parse(_ text: String) throws -> RecoveryKey {
        try RecoveryKey(parsing: try secret(Array(text.utf8)))
    }

    @Test func recoveryKeyVectors() throws {
        let file = try vectorFile("recoverykey.json", as: RecoveryFile.self)
        for vector in file.vectors {
            let key = bytes(vector.key)
            let display = try RecoveryKey(secret: try secret(key)).withDisplayForm { String(decoding: $0, as: UTF8.self) }
            #expect(display == vector.display, "\(vector.name)")
            #expect(display.count == 55 + 10)
            #expect(Self.base32(vector.display) == key + bytes(vector.checksum))
            #expect(hex(Array(blake2b(16, key: nil, KeySchedule.label("recovery-checksum") + key).prefix(2))) == vector.checksum)
            #expect(reveal(try Self.parse(vector.display).secret) == key)
            let kek = try KeyDerivation.recoveryKEK(try secret(key), salt: bytes(vector.salt))
            #expect(hex(reveal(kek)) == vector.kek, "\(vector.name)")
            #expect(vector.kek == hex(blake2b(32, key: key, KeySchedule.label("recovery-kek") + bytes(vector.salt))))
        }
        for accepted in file.accepted {
            #expect(hex(reveal(try Self.parse(accepted.text).secret)) == accepted.key, "\(accepted.text)")
        }
        for rejected in file.rejected {
            #expect(throws: VaultError(try #require(VaultError.Code(name: rejected.expect)), ""), "\(rejected.why)") {
                _ = try Self.parse(rejected.text)
            }
        }
    }

    // MARK: manifest-sum.json

    struct SumFile: Decodable {
        struct Keyed: Decodable {
            var name: String
            var dataKey: String
            var vaultId: String
            var tags: [String]
            var elements: [String]
            var count: Int
            var sum: String
        }
        struct Arithmetic: Decodable {
            var name: String
            var elements: [String]
            var sum: String
        }
        var keyed: [Keyed]
        var arithmetic: [Arithmetic]
    }

    /// 256-bit little-endian addition mod 2^256, written independently of ``RecordSetSum``.
    static func add(_ elements: [[UInt8]]) -> [UInt8] {
        var total = [Int](repeating: 0, count: 32)
        for element in elements { for index in 0..<32 { total[index] += Int(element[index]) } }
        var carry = 0
        var out = [UInt8](repeating: 0, count: 32)
        for index in 0..<32 {
            let value = total[index] + carry
            out[index] = UInt8(value & 0xFF)
            carry = value >> 8
        }
        return out
    }

    @Test func manifestSumVectors() throws {
        let file = try vectorFile("manifest-sum.json", as: SumFile.self)
        for vector in file.keyed {
            let keys = try KeySchedule(dataKey: try secret(bytes(vector.dataKey)), vaultID: bytes(vector.vaultId))
            var sum = RecordSetSum()
            for (tag, element) in zip(vector.tags, vector.elements) {
                #expect(hex(keys.setElement(tag: bytes(tag))) == element)
                sum.add(bytes(element))
            }
            #expect(vector.tags.count == vector.count)
            #expect(hex(sum.bytes) == vector.sum, "\(vector.name)")
            #expect(hex(Self.add(vector.elements.map(bytes))) == vector.sum)
        }
        for vector in file.arithmetic {
            var sum = RecordSetSum()
            for element in vector.elements { sum.add(bytes(element)) }
            #expect(hex(sum.bytes) == vector.sum, "\(vector.name)")
            #expect(hex(Self.add(vector.elements.map(bytes))) == vector.sum, "\(vector.name)")
        }
    }
}

// MARK: sealed-string.json

extension VectorTests {
    struct SealedStringFile: Decodable {
        struct Vector: Decodable {
            var name: String
            var passphrase: String
            var opslimit: UInt64
            var memlimit: UInt64
            var withinBounds: Bool
            var salt: String
            var keyNonce: String
            var dataKey: String
            var kek: String
            var wrappedKey: String
            var header: String
            var payloadKey: String
            var payload: String
            var payloadNonce: String
            var payloadCiphertext: String
            var text: String
            var session: ExpectedSession?
        }
        struct Rejected: Decodable {
            var text: String
            var passphrase: String
            var expect: String
            var why: String
        }
        var vectors: [Vector]
        var rejected: [Rejected]
    }

    /// RFC 4648 §5 base64url without padding (an independent encoder for the check).
    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let value = chunk.enumerated().reduce(0) { $0 | Int($1.element) << (16 - 8 * $1.offset) }
            for position in 0...chunk.count { out.append(alphabet[value >> (18 - 6 * position) & 63]) }
            index += 3
        }
        return out
    }

    static func testConfiguration() -> SessionVault.Configuration {
        var configuration = SessionVault.Configuration()
        configuration.allowsInsecureKDFParametersForTesting = true
        return configuration
    }

    @Test func sealedStringVectors() throws {
        let file = try vectorFile("sealed-string.json", as: SealedStringFile.self)
        #expect(file.vectors.contains { $0.withinBounds })
        for vector in file.vectors {
            // Every step, re-derived.
            let parameters = KDFParameters(opsLimit: vector.opslimit, memLimit: vector.memlimit)
            #expect(parameters.isWithinBounds == vector.withinBounds)
            let kek = try KeyDerivation.passphraseKEK(try Passphrase(copying: vector.passphrase), salt: bytes(vector.salt), parameters: parameters)
            #expect(hex(reveal(kek)) == vector.kek, "\(vector.name)")
            #expect(hex(secretboxEasy(bytes(vector.dataKey), nonce: bytes(vector.keyNonce), key: bytes(vector.kek))) == vector.wrappedKey)
            let header = [UInt8(1), 2] + ByteWriter.littleEndian(vector.opslimit) + ByteWriter.littleEndian(vector.memlimit)
                + bytes(vector.salt) + bytes(vector.keyNonce) + bytes(vector.wrappedKey)
            #expect(hex(header) == vector.header)
            #expect(hex(blake2b(32, key: bytes(vector.dataKey), KeySchedule.label("sealed-string-key") + header)) == vector.payloadKey)
            #expect(hex(secretboxEasy(bytes(vector.payload), nonce: bytes(vector.payloadNonce), key: bytes(vector.payloadKey))) == vector.payloadCiphertext)
            #expect("svs1." + Self.base64URL(header + bytes(vector.payloadNonce) + bytes(vector.payloadCiphertext)) == vector.text)
            // And the library opens the text into exactly the session.
            let session = try SealedSessionString.decode(vector.text, passphrase: try Passphrase(copying: vector.passphrase), configuration: Self.testConfiguration())
            let problems = SessionComparison.differences(session.isEmpty ? nil : session, vector.session)
            #expect(problems.isEmpty, "\(vector.name): \(problems)")
            if !vector.withinBounds {
                #expect(throws: VaultError(.kdfParametersOutOfBounds, "")) {
                    _ = try SealedSessionString.decode(vector.text, passphrase: try Passphrase(copying: vector.passphrase), configuration: SessionVault.Configuration())
                }
            }
        }
        #expect(file.rejected.count >= 5)
        for rejected in file.rejected {
            let code = try #require(VaultError.Code(name: rejected.expect))
            #expect(throws: VaultError(code, ""), "\(rejected.why)") {
                _ = try SealedSessionString.decode(rejected.text, passphrase: try Passphrase(copying: rejected.passphrase), configuration: Self.testConfiguration())
            }
        }
    }
}
