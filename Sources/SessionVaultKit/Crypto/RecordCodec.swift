/// The plaintext encodings of every record kind (`docs/FORMAT.md` §5) and their identities.
///
/// Encoding writes into the vault's guarded plaintext scratch; decoding reads from it and copies
/// auth keys straight into their own guarded buffers.
enum RecordCodec {
    /// A decoded record.
    enum Decoded {
        case manifest(count: UInt64, sum: [UInt8])
        case dataCenter(DataCenter)
        case user(LoggedInUser)
        case updateState(pts: Int32, qts: Int32, date: Int64, seq: Int32)
        case channelState(id: Int64, pts: Int32)
        case sessionExtras(apiID: Int32?, isTestMode: Bool, takeoutID: Int64?)
        case peer(Peer)
        case peerIndex(Peer)
    }

    /// Which field a ``RecordKind/peerIndex`` record indexes.
    enum PeerIndexField: UInt8 {
        case username = 1
        case phoneNumber = 2
    }

    // MARK: Identities

    static func dataCenterIdentity(_ identity: DataCenter.Identity) -> [UInt8] {
        ByteWriter.littleEndian(identity.id) + [identity.isMediaOnly ? 1 : 0]
    }

    static func channelIdentity(_ id: Int64) -> [UInt8] { ByteWriter.littleEndian(id) }

    static func peerIdentity(_ id: Int64) -> [UInt8] { ByteWriter.littleEndian(id) }

    /// u8 field ‖ the normalised value's UTF-8 bytes.
    static func peerIndexIdentity(_ field: PeerIndexField, _ value: String) -> [UInt8] {
        [field.rawValue] + Array(value.utf8)
    }

    // MARK: Encoding

    static func encodeManifest(count: UInt64, sum: [UInt8], into writer: inout ByteWriter) throws(VaultError) {
        try writer.integer(count)
        try sum.withBytes { (raw) throws(VaultError) in try writer.bytes(raw) }
    }

    static func encode(_ dataCenter: DataCenter, into writer: inout ByteWriter) throws(VaultError) {
        try validate(dataCenter)
        var flags: UInt8 = 0
        if dataCenter.isMediaOnly { flags |= 0x01 }
        if dataCenter.ipv4 != nil { flags |= 0x02 }
        if dataCenter.ipv6 != nil { flags |= 0x04 }
        if dataCenter.authKey != nil { flags |= 0x08 }
        if dataCenter.temporaryAuthKey != nil { flags |= 0x10 }
        try writer.integer(dataCenter.id)
        try writer.u8(flags)
        for endpoint in [dataCenter.ipv4, dataCenter.ipv6] {
            if let endpoint {
                try writer.string(endpoint.host)
                try writer.integer(endpoint.port)
            }
        }
        for key in [dataCenter.authKey, dataCenter.temporaryAuthKey] {
            if let key {
                try key.withUnsafeBytes { (raw) throws(VaultError) in try writer.bytes(raw) }
            }
        }
    }

    static func encode(_ user: LoggedInUser, into writer: inout ByteWriter) throws(VaultError) {
        try validate(user)
        try writer.integer(user.id)
        try writer.integer(user.dataCenterID)
        try writer.u8((user.isBot ? 0x01 : 0) | (user.username != nil ? 0x02 : 0))
        if let username = user.username { try writer.string(username) }
    }

    static func encodeUpdateState(
        pts: Int32,
        qts: Int32,
        date: Int64,
        seq: Int32,
        into writer: inout ByteWriter
    ) throws(VaultError) {
        try writer.integer(pts)
        try writer.integer(qts)
        try writer.integer(date)
        try writer.integer(seq)
    }

    static func encodeChannelState(id: Int64, pts: Int32, into writer: inout ByteWriter) throws(VaultError) {
        try writer.integer(id)
        try writer.integer(pts)
    }

    static func encodeSessionExtras(
        apiID: Int32?,
        isTestMode: Bool,
        takeoutID: Int64?,
        into writer: inout ByteWriter
    ) throws(VaultError) {
        try writer.u8((apiID != nil ? 0x01 : 0) | (isTestMode ? 0x02 : 0) | (takeoutID != nil ? 0x04 : 0))
        if let apiID { try writer.integer(apiID) }
        if let takeoutID { try writer.integer(takeoutID) }
    }

    /// i64 id ‖ i64 access hash ‖ u8 kind ‖ u8 flags (0x01 username, 0x02 phone, 0x04 name,
    /// 0x08 updated-at) ‖ [string username] ‖ [string phone] ‖ [string name] ‖ [i64 updated-at].
    static func encode(_ peer: Peer, into writer: inout ByteWriter) throws(VaultError) {
        try validate(peer)
        var flags: UInt8 = 0
        if peer.username != nil { flags |= 0x01 }
        if peer.phoneNumber != nil { flags |= 0x02 }
        if peer.name != nil { flags |= 0x04 }
        if peer.updatedAt != nil { flags |= 0x08 }
        try writer.integer(peer.id)
        try writer.integer(peer.accessHash)
        try writer.u8(peer.kind.rawValue)
        try writer.u8(flags)
        for text in [peer.username, peer.phoneNumber, peer.name] {
            if let text { try writer.string(text) }
        }
        if let updatedAt = peer.updatedAt { try writer.integer(updatedAt) }
    }

    static func decodePeer(_ reader: inout ByteReader) throws(VaultError) -> Peer {
        let id = try reader.integer(Int64.self)
        let accessHash = try reader.integer(Int64.self)
        guard let kind = Peer.Kind(rawValue: try reader.u8()) else { throw reader.invalid("unknown peer kind") }
        let flags = try reader.u8()
        guard flags & ~0x0F == 0 else { throw reader.invalid("unknown flags \(flags)") }
        let username = flags & 0x01 != 0 ? try reader.string() : nil
        let phoneNumber = flags & 0x02 != 0 ? try reader.string() : nil
        let name = flags & 0x04 != 0 ? try reader.string() : nil
        let updatedAt: Int64? = flags & 0x08 != 0 ? try reader.integer() : nil
        var peer = Peer(id: id, accessHash: accessHash, kind: kind, name: name, updatedAt: updatedAt)
        // Stored values are already normalised; keep them exactly as stored.
        peer.username = username
        peer.phoneNumber = phoneNumber
        return peer
    }

    // MARK: Decoding

    static func decode(kind: RecordKind, from plaintext: UnsafeRawBufferPointer) throws(VaultError) -> Decoded {
        var reader = ByteReader(plaintext, kind: kind)
        let decoded: Decoded
        switch kind {
        case .manifest:
            let count = try reader.integer(UInt64.self)
            let sum = Array(try reader.bytes(32))
            decoded = .manifest(count: count, sum: sum)
        case .dataCenter:
            let id = try reader.integer(Int32.self)
            let flags = try reader.u8()
            guard flags & ~0x1F == 0 else { throw reader.invalid("unknown flags \(flags)") }
            var endpoints: [Endpoint?] = []
            for bit: UInt8 in [0x02, 0x04] {
                if flags & bit != 0 {
                    let host = try reader.string()
                    let port = try reader.integer(UInt16.self)
                    endpoints.append(Endpoint(host: host, port: port))
                } else {
                    endpoints.append(nil)
                }
            }
            var keys: [AuthKey?] = []
            for bit: UInt8 in [0x08, 0x10] {
                if flags & bit != 0 {
                    keys.append(try AuthKey(copying: try reader.bytes(AuthKey.byteCount)))
                } else {
                    keys.append(nil)
                }
            }
            decoded = .dataCenter(
                DataCenter(
                    id: id,
                    ipv4: endpoints[0],
                    ipv6: endpoints[1],
                    authKey: keys[0],
                    temporaryAuthKey: keys[1],
                    isMediaOnly: flags & 0x01 != 0
                )
            )
        case .user:
            let id = try reader.integer(Int64.self)
            let dc = try reader.integer(Int32.self)
            let flags = try reader.u8()
            guard flags & ~0x03 == 0 else { throw reader.invalid("unknown flags \(flags)") }
            let username = flags & 0x02 != 0 ? try reader.string() : nil
            decoded = .user(LoggedInUser(id: id, dataCenterID: dc, isBot: flags & 0x01 != 0, username: username))
        case .updateState:
            decoded = .updateState(
                pts: try reader.integer(),
                qts: try reader.integer(),
                date: try reader.integer(),
                seq: try reader.integer()
            )
        case .channelState:
            decoded = .channelState(id: try reader.integer(), pts: try reader.integer())
        case .sessionExtras:
            let flags = try reader.u8()
            guard flags & ~0x07 == 0 else { throw reader.invalid("unknown flags \(flags)") }
            let apiID: Int32? = flags & 0x01 != 0 ? try reader.integer() : nil
            let takeoutID: Int64? = flags & 0x04 != 0 ? try reader.integer() : nil
            decoded = .sessionExtras(apiID: apiID, isTestMode: flags & 0x02 != 0, takeoutID: takeoutID)
        case .peer:
            decoded = .peer(try decodePeer(&reader))
        case .peerIndex:
            decoded = .peerIndex(try decodePeer(&reader))
        }
        try reader.expectEnd()
        return decoded
    }

    // MARK: Validation of caller input

    static func validate(_ dataCenter: DataCenter) throws(VaultError) {
        guard dataCenter.id > 0 else {
            throw VaultError(.invalidArgument, "data center id \(dataCenter.id) is not positive")
        }
        for endpoint in [dataCenter.ipv4, dataCenter.ipv6] {
            guard let endpoint else { continue }
            guard !endpoint.host.isEmpty, endpoint.host.utf8.count <= 255 else {
                throw VaultError(.invalidArgument, "data center \(dataCenter.id) has an empty or over-long host")
            }
            guard endpoint.port != 0 else {
                throw VaultError(.invalidArgument, "data center \(dataCenter.id) has port 0")
            }
        }
    }

    static func validate(_ peer: Peer) throws(VaultError) {
        for (field, text) in [("username", peer.username), ("phone number", peer.phoneNumber), ("name", peer.name)] {
            if let text, text.utf8.count > 1024 {
                throw VaultError(.invalidArgument, "peer \(peer.id) has a \(field) longer than 1024 bytes")
            }
        }
    }

    static func validate(_ user: LoggedInUser) throws(VaultError) {
        if let username = user.username, username.utf8.count > 255 {
            throw VaultError(.invalidArgument, "the username is longer than 255 bytes")
        }
    }
}
