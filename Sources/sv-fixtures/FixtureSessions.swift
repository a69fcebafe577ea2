#if DEBUG
import CSodium
import Foundation
@_spi(Testing) @testable import SessionVaultKit

/// The synthetic sessions stored in the known-answer vaults, and their JSON form for the manifest.
///
/// Auth keys are synthetic: 256 bytes from `randombytes_buf_deterministic` seeded with
/// BLAKE2b-256("sessionvault fixtures v1 auth key\0" || label). They never touched Telegram, so the
/// manifest may print them in full for outside decoders.
enum FixtureSessions {
    /// Telegram's production data-center addresses (public, from `help.getConfig`).
    static let ipv4: [Int32: String] = [
        1: "149.154.175.53", 2: "149.154.167.51", 3: "149.154.175.100", 4: "149.154.167.91", 5: "91.108.56.130",
    ]
    static let ipv6: [Int32: String] = [
        1: "2001:b28:f23d:f001::a", 2: "2001:67c:4e8:f002::a", 3: "2001:b28:f23d:f003::a",
        4: "2001:67c:4e8:f004::a", 5: "2001:b28:f23f:f005::a",
    ]

    /// A deterministic synthetic auth key.
    static func authKey(_ label: String) throws -> AuthKey {
        var seed = [UInt8](repeating: 0, count: Int(randombytes_SEEDBYTES))
        let message = Array("sessionvault fixtures v1 auth key".utf8) + [0] + Array(label.utf8)
        _ = crypto_generichash(&seed, seed.count, message, UInt64(message.count), nil, 0)
        var bytes = [UInt8](repeating: 0, count: AuthKey.byteCount)
        randombytes_buf_deterministic(&bytes, bytes.count, seed)
        defer { sodium_memzero(&bytes, bytes.count) }
        return try bytes.withUnsafeBytes { try AuthKey(copying: $0) }
    }

    /// `count` channels with varied ids and pts, including the edge values 0 and Int32.max.
    static func channels(count: Int, base: Int64, salt: Int64) -> [Int64: Int32] {
        var channels: [Int64: Int32] = [:]
        for index in 0..<count {
            let id = base + Int64(index) * 7919 + salt
            let pts: Int32
            switch index {
            case 0: pts = 0
            case 1: pts = Int32.max
            default: pts = Int32(truncatingIfNeeded: (Int64(index) * 104_729 + salt) % 9_000_000) + 1
            }
            channels[id] = pts
        }
        return channels
    }

    /// The full data-center set of a profile vault: DC1–5 with IPv4 and IPv6, permanent keys on the
    /// home DC and two others, a temporary key on the home DC, and a media-only DC with its own key.
    static func dataCenters(vault: String, home: Int32) throws -> [DataCenter] {
        var result: [DataCenter] = []
        for id: Int32 in 1...5 {
            let hasKey = id == home || id == 1 || id == 4
            result.append(
                DataCenter(
                    id: id,
                    ipv4: Endpoint(host: ipv4[id]!, port: 443),
                    ipv6: Endpoint(host: ipv6[id]!, port: id == 3 ? 80 : 443),
                    authKey: hasKey ? try authKey("\(vault)/dc\(id)") : nil,
                    temporaryAuthKey: id == home ? try authKey("\(vault)/dc\(id)/temporary") : nil
                )
            )
        }
        result.append(
            DataCenter(
                id: home,
                ipv4: Endpoint(host: "149.154.167.222", port: 443),
                ipv6: Endpoint(host: "2001:67c:4e8:f002::b", port: 443),
                authKey: try authKey("\(vault)/dc\(home)/media"),
                isMediaOnly: true
            )
        )
        return result
    }
}

extension FixtureSessions {
    /// `count` cached peers of every kind, with and without username, phone, name and timestamp.
    static func peers(vault: String, count: Int, base: Int64) -> [Peer] {
        let prefix = vault.replacingOccurrences(of: "-", with: "")
        var result: [Peer] = []
        for index in 0..<count {
            let kind = Peer.Kind.allCases[index % Peer.Kind.allCases.count]
            let raw = base + Int64(index) * 7
            let id: Int64
            switch kind {
            case .user, .bot: id = raw
            case .group: id = -raw
            case .channel, .supergroup: id = -(1_000_000_000_000 + raw)
            }
            result.append(
                Peer(
                    id: id,
                    accessHash: kind == .group ? 0 : Int64(bitPattern: UInt64(bitPattern: raw) &* 0x9E37_79B9_7F4A_7C15),
                    kind: kind,
                    username: index % 3 == 2 ? nil : "\(prefix)_peer_\(index)",
                    phoneNumber: (kind == .user && index % 2 == 0) ? "+1 555 01\(String(format: "%02d", index))" : nil,
                    name: index % 4 == 3 ? nil : "Peer \(index) \u{D6}sterreich \u{1F30D}",
                    updatedAt: index % 5 == 4 ? nil : 1_763_000_000 + Int64(index)
                )
            )
        }
        return result
    }
}

/// What a vault holds: the session, the peer cache and its lookup entries.
struct VaultContents {
    var session: Session?
    var peers: [Peer] = []
    /// (field, value) → the id of the peer the lookup entry names.
    var index: [PeerIndexKey: Int64] = [:]

    struct PeerIndexKey: Hashable, Comparable {
        var field: RecordCodec.PeerIndexField
        var value: String

        static func < (lhs: PeerIndexKey, rhs: PeerIndexKey) -> Bool {
            (lhs.field.rawValue, lhs.value) < (rhs.field.rawValue, rhs.value)
        }

        var fieldName: String { field == .username ? "username" : "phone_number" }
    }

    /// Applies `upsertPeers` batches as `docs/FORMAT.md` §5.5 describes them: the last entry for an
    /// id wins; a lookup entry points to the peer written last; an entry for a value a peer no
    /// longer has is dropped if it still points to that peer.
    mutating func upsert(_ batch: [Peer]) {
        var byID: [Int64: Peer] = Dictionary(uniqueKeysWithValues: peers.map { ($0.id, $0) })
        var order: [Int64] = []
        var latest: [Int64: Peer] = [:]
        for peer in batch {
            if latest.updateValue(peer, forKey: peer.id) == nil { order.append(peer.id) }
        }
        for id in order {
            let peer = latest[id]!
            let previous = byID[id]
            for (field, old, new) in [
                (RecordCodec.PeerIndexField.username, previous?.username, peer.username),
                (.phoneNumber, previous?.phoneNumber, peer.phoneNumber),
            ] {
                guard let old, old != new else { continue }
                let key = PeerIndexKey(field: field, value: old)
                if index[key] == id { index[key] = nil }
            }
            byID[id] = peer
            if let username = peer.username { index[PeerIndexKey(field: .username, value: username)] = id }
            if let phone = peer.phoneNumber { index[PeerIndexKey(field: .phoneNumber, value: phone)] = id }
        }
        peers = byID.values.sorted { $0.id < $1.id }
    }

    /// How many records of each kind it is stored as (the manifest excluded).
    var recordCounts: [(RecordKind, Int)] {
        var counts: [(RecordKind, Int)] = []
        if let session {
            counts.append((.dataCenter, session.dataCenters.count))
            counts.append((.user, session.user == nil ? 0 : 1))
            counts.append((.updateState, session.updateState == nil ? 0 : 1))
            counts.append((.channelState, session.updateState?.channels.count ?? 0))
            counts.append((.sessionExtras, session.apiID != nil || session.isTestMode || session.takeoutID != nil ? 1 : 0))
        }
        counts.append((.peer, peers.count))
        counts.append((.peerIndex, index.count))
        return counts.filter { $0.1 > 0 }
    }

    var recordCount: Int { recordCounts.reduce(0) { $0 + $1.1 } }

    var json: JSON {
        .object([
            ("record_count", .int(Int64(recordCount))),
            ("records_by_kind", .object(recordCounts.map { ($0.0.description, .int(Int64($0.1))) })),
            ("session", SessionJSON.make(session)),
            ("peers", .array(peers.map(SessionJSON.peer))),
            (
                "peer_index",
                .array(
                    index.keys.sorted().map { key in
                        .object([("field", .string(key.fieldName)), ("value", .string(key.value)), ("peer_id", .int(index[key]!))])
                    }
                )
            ),
        ])
    }
}

/// The expected-session JSON of the manifest (`Fixtures/README.md`, "Manifest schema").
enum SessionJSON {
    static func make(_ session: Session?) -> JSON {
        guard let session else { return .null }
        let dataCenters = session.dataCenters.sorted { $0.identity < $1.identity }.map(dataCenter)
        var channels: [(String, JSON)] = []
        if let state = session.updateState {
            for (id, pts) in state.channels.sorted(by: { $0.key < $1.key }) {
                channels.append((String(id), .int(Int64(pts))))
            }
        }
        return .object([
            ("data_centers", .array(dataCenters)),
            (
                "user",
                session.user.map { user in
                    .object([
                        ("id", .int(user.id)),
                        ("dc_id", .int(Int64(user.dataCenterID))),
                        ("is_bot", .bool(user.isBot)),
                        ("username", user.username.map { .string($0) } ?? .null),
                    ])
                } ?? .null
            ),
            (
                "update_state",
                session.updateState.map { state in
                    .object([
                        ("pts", .int(Int64(state.pts))),
                        ("qts", .int(Int64(state.qts))),
                        ("date", .int(state.date)),
                        ("seq", .int(Int64(state.seq))),
                        ("channels", .object(channels)),
                    ])
                } ?? .null
            ),
            ("api_id", session.apiID.map { .int(Int64($0)) } ?? .null),
            ("test_mode", .bool(session.isTestMode)),
            ("takeout_id", session.takeoutID.map { .int($0) } ?? .null),
        ])
    }

    static func dataCenter(_ dataCenter: DataCenter) -> JSON {
        func endpoint(_ endpoint: Endpoint?) -> JSON {
            guard let endpoint else { return .null }
            return .object([("host", .string(endpoint.host)), ("port", .int(Int64(endpoint.port)))])
        }
        return .object([
            ("id", .int(Int64(dataCenter.id))),
            ("media_only", .bool(dataCenter.isMediaOnly)),
            ("ipv4", endpoint(dataCenter.ipv4)),
            ("ipv6", endpoint(dataCenter.ipv6)),
            ("auth_key", key(dataCenter.authKey)),
            ("temporary_auth_key", key(dataCenter.temporaryAuthKey)),
        ])
    }

    /// `{id, sha256, hex}`: Telegram's key id (signed), SHA-256 of the 256 bytes, and the bytes.
    static func key(_ key: AuthKey?) -> JSON {
        guard let key else { return .null }
        let bytes = key.withUnsafeBytes { Array($0) }
        return .object([
            ("id", .int(key.id)),
            ("sha256", .hex(Digest.sha256(bytes))),
            ("hex", .hex(bytes)),
        ])
    }

    /// `{id, access_hash, kind, username, phone_number, name, updated_at}`.
    static func peer(_ peer: Peer) -> JSON {
        .object([
            ("id", .int(peer.id)),
            ("access_hash", .int(peer.accessHash)),
            ("kind", .string(peer.kind.description)),
            ("username", peer.username.map { .string($0) } ?? .null),
            ("phone_number", peer.phoneNumber.map { .string($0) } ?? .null),
            ("name", peer.name.map { .string($0) } ?? .null),
            ("updated_at", peer.updatedAt.map { .int($0) } ?? .null),
        ])
    }
}

/// SHA-256 through libsodium.
enum Digest {
    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        _ = crypto_hash_sha256(&out, bytes, UInt64(bytes.count))
        return out
    }
}
#endif
