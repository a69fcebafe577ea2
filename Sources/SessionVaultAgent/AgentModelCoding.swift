import SessionVaultKit

/// The protocol's objects (docs/AGENT.md §3) read from requests and written into answers.
enum AgentModelCoding {
    // MARK: - Reading

    /// A Session object.
    static func session(_ object: JSONObject) throws(VaultError) -> Session {
        var object = object
        var session = Session()
        if let centers = try object.objects("data_centers") {
            for center in centers { session.dataCenters.append(try dataCenter(center)) }
        }
        if let user = try object.object("user") { session.user = try self.user(user) }
        if let state = try object.object("update_state") {
            session.updateState = try updateState(state, withChannels: true)
        }
        session.apiID = try object.int32("api_id")
        session.isTestMode = try object.bool("test_mode") ?? false
        session.takeoutID = try object.integer("takeout_id")
        try object.finish()
        return session
    }

    /// A DataCenter object.
    static func dataCenter(_ object: JSONObject) throws(VaultError) -> DataCenter {
        var object = object
        let id = try object.requiredInt32("id")
        let mediaOnly = try object.bool("media_only") ?? false
        let ipv4 = try object.object("ipv4").map { (value) throws(VaultError) in try endpoint(value) }
        let ipv6 = try object.object("ipv6").map { (value) throws(VaultError) in try endpoint(value) }
        let key = try object.secret("auth_key", byteCount: AuthKey.byteCount)
        let temporary = try object.secret("temporary_auth_key", byteCount: AuthKey.byteCount)
        _ = object.member("auth_key_id")  // present in answers; accepted back and ignored (derived from the key)
        try object.finish()
        return DataCenter(
            id: id,
            ipv4: ipv4,
            ipv6: ipv6,
            authKey: try key.map { (secret) throws(VaultError) in try AuthKey(secret: secret) },
            temporaryAuthKey: try temporary.map { (secret) throws(VaultError) in try AuthKey(secret: secret) },
            isMediaOnly: mediaOnly
        )
    }

    /// An Endpoint object.
    static func endpoint(_ object: JSONObject) throws(VaultError) -> Endpoint {
        var object = object
        let host = try object.requiredString("host", maximumBytes: 253)
        let port = try object.requiredInteger("port")
        try object.finish()
        guard !host.isEmpty, host.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            throw VaultError(.invalidArgument, "\(object.path).host must be a printable ASCII address or name")
        }
        guard (1...65535).contains(port) else { throw VaultError(.invalidArgument, "\(object.path).port must be 1-65535") }
        return Endpoint(host: host, port: UInt16(port))
    }

    /// A User object.
    static func user(_ object: JSONObject) throws(VaultError) -> LoggedInUser {
        var object = object
        let user = LoggedInUser(
            id: try object.requiredInteger("id"),
            dataCenterID: try object.requiredInt32("dc_id"),
            isBot: try object.bool("is_bot") ?? false,
            username: try object.string("username", maximumBytes: 255)
        )
        try object.finish()
        return user
    }

    /// An UpdateState object (in a Changes object, without `channels`).
    static func updateState(_ object: JSONObject, withChannels: Bool) throws(VaultError) -> UpdateState {
        var object = object
        var state = UpdateState(
            pts: try object.requiredInt32("pts"),
            qts: try object.requiredInt32("qts"),
            date: try object.requiredInteger("date"),
            seq: try object.requiredInt32("seq")
        )
        if withChannels, let channels = try object.objects("channels") {
            for channel in channels {
                let (id, pts) = try channelState(channel)
                state.channels[id] = pts
            }
        }
        try object.finish()
        return state
    }

    /// A `{"channel_id", "pts"}` object.
    static func channelState(_ object: JSONObject) throws(VaultError) -> (Int64, Int32) {
        var object = object
        let id = try object.requiredInteger("channel_id")
        let pts = try object.requiredInt32("pts")
        try object.finish()
        return (id, pts)
    }

    /// A Peer object.
    static func peer(_ object: JSONObject) throws(VaultError) -> Peer {
        var object = object
        let id = try object.requiredInteger("id")
        let kindName = try object.requiredString("kind", maximumBytes: 16)
        guard let kind = Peer.Kind.allCases.first(where: { $0.description == kindName }) else {
            throw VaultError(.invalidArgument, "\(object.path).kind must be one of user, bot, group, channel, supergroup")
        }
        let peer = Peer(
            id: id,
            accessHash: try object.requiredInteger("access_hash"),
            kind: kind,
            username: try object.string("username", maximumBytes: 1024),
            phoneNumber: try object.string("phone", maximumBytes: 1024),
            name: try object.string("name", maximumBytes: 1024),
            updatedAt: try object.integer("updated_at")
        )
        try object.finish()
        return peer
    }

    /// A Changes object, as one batch.
    static func batch(_ object: JSONObject) throws(VaultError) -> VaultBatch {
        var object = object
        var batch = VaultBatch()
        if var centers = try object.object("data_centers") {
            for center in try centers.objects("upsert") ?? [] { batch.saveDataCenter(try dataCenter(center)) }
            for identity in try centers.objects("delete") ?? [] {
                var identity = identity
                let id = try identity.requiredInt32("id")
                let mediaOnly = try identity.bool("media_only") ?? false
                try identity.finish()
                batch.deleteDataCenter(id: id, mediaOnly: mediaOnly)
            }
            if try centers.bool("exclusive") == true { batch.keepOnlySavedDataCenters() }
            try centers.finish()
        }
        switch object.member("user") {
        case nil: break
        case .null?: batch.setUser(nil)
        case let value?: batch.setUser(try user(JSONObject(value, path: "changes.user", in: object.bytes)))
        }
        switch object.member("update_state") {
        case nil: break
        case .null?: batch.removeUpdateState()
        case let value?:
            let account = try updateState(JSONObject(value, path: "changes.update_state", in: object.bytes), withChannels: false)
            batch.saveUpdateState(pts: account.pts, qts: account.qts, date: account.date, seq: account.seq)
        }
        if var channels = try object.object("channels") {
            for channel in try channels.objects("upsert") ?? [] {
                let (id, pts) = try channelState(channel)
                batch.saveChannelState(channelID: id, pts: pts)
            }
            for id in try channels.integers("delete") ?? [] { batch.deleteChannelState(channelID: id) }
            try channels.finish()
        }
        if let peers = try object.objects("peers") {
            var decoded: [Peer] = []
            decoded.reserveCapacity(peers.count)
            for peer in peers { decoded.append(try self.peer(peer)) }
            batch.upsertPeers(decoded)
        }
        if let value = object.member("api_id") {
            batch.setAPIID(try nullableInt32(value, path: "changes.api_id"))
        }
        if let testMode = try object.bool("test_mode") { batch.setTestMode(testMode) }
        if let value = object.member("takeout_id") {
            switch value {
            case .null: batch.setTakeoutID(nil)
            case .integer(let id): batch.setTakeoutID(id)
            default: throw VaultError(.invalidArgument, "changes.takeout_id must be an integer or null, not \(value.typeName)")
            }
        }
        try object.finish()
        return batch
    }

    private static func nullableInt32(_ value: JSONValue, path: String) throws(VaultError) -> Int32? {
        switch value {
        case .null: return nil
        case .integer(let number):
            guard let narrow = Int32(exactly: number) else { throw VaultError(.invalidArgument, "\(path) is outside the signed 32-bit range") }
            return narrow
        default: throw VaultError(.invalidArgument, "\(path) must be an integer or null, not \(value.typeName)")
        }
    }

    // MARK: - Writing

    /// A Session object, auth keys included.
    static func output(_ session: Session) -> JSONOutput {
        .object([
            ("data_centers", .array(session.dataCenters.map(output))),
            ("user", .optional(session.user) { user in
                .object([
                    ("id", .integer(user.id)), ("dc_id", .integer(Int64(user.dataCenterID))), ("is_bot", .bool(user.isBot)),
                    ("username", .optional(user.username, JSONOutput.string)),
                ])
            }),
            ("update_state", .optional(session.updateState) { state in
                .object([
                    ("pts", .integer(Int64(state.pts))), ("qts", .integer(Int64(state.qts))), ("date", .integer(state.date)),
                    ("seq", .integer(Int64(state.seq))),
                    ("channels", .array(state.channels.keys.sorted().map { id in
                        .object([("channel_id", .integer(id)), ("pts", .integer(Int64(state.channels[id]!)))])
                    })),
                ])
            }),
            ("api_id", .optional(session.apiID) { .integer(Int64($0)) }),
            ("test_mode", .bool(session.isTestMode)),
            ("takeout_id", .optional(session.takeoutID, JSONOutput.integer)),
        ])
    }

    /// A DataCenter object, with `auth_key_id`.
    static func output(_ dataCenter: DataCenter) -> JSONOutput {
        func endpoint(_ endpoint: Endpoint?) -> JSONOutput {
            .optional(endpoint) { .object([("host", .string($0.host)), ("port", .integer(Int64($0.port)))]) }
        }
        return .object([
            ("id", .integer(Int64(dataCenter.id))),
            ("media_only", .bool(dataCenter.isMediaOnly)),
            ("ipv4", endpoint(dataCenter.ipv4)),
            ("ipv6", endpoint(dataCenter.ipv6)),
            ("auth_key", .optional(dataCenter.authKey, JSONOutput.authKey)),
            ("auth_key_id", .optional(dataCenter.authKey) { .integer($0.id) }),
            ("temporary_auth_key", .optional(dataCenter.temporaryAuthKey, JSONOutput.authKey)),
        ])
    }

    /// A Peer object.
    static func output(_ peer: Peer) -> JSONOutput {
        .object([
            ("id", .integer(peer.id)),
            ("access_hash", .integer(peer.accessHash)),
            ("kind", .string(peer.kind.description)),
            ("username", .optional(peer.username, JSONOutput.string)),
            ("phone", .optional(peer.phoneNumber, JSONOutput.string)),
            ("name", .optional(peer.name, JSONOutput.string)),
            ("updated_at", .optional(peer.updatedAt, JSONOutput.integer)),
        ])
    }

    /// An error object (docs/AGENT.md §4).
    static func output(_ error: VaultError, exitStatus: Int32) -> JSONOutput {
        var members: [(String, JSONOutput)] = [
            ("code", .string(error.code.name)),
            ("message", .string(error.message)),
            ("exit_status", .integer(Int64(exitStatus))),
        ]
        if let pid = error.holderPID { members.append(("holder_pid", .integer(Int64(pid)))) }
        if let kind = error.recordKind { members.append(("record_kind", .string(kind.description))) }
        if let errno = error.errno { members.append(("errno", .integer(Int64(errno)))) }
        if let code = error.sqliteExtendedCode { members.append(("sqlite_extended_code", .integer(Int64(code)))) }
        return .object(members)
    }
}
