/// Telethon 1.x's SQLite session (`telethon/sessions/sqlite.py`), schema 7 (Telethon ≤ 1.42) and
/// 8 (1.43+, adds `sessions.tmp_auth_key`).
///
/// Quirks handled: exactly one `sessions` row; "no key" is an empty blob (`x''`), not NULL;
/// `update_state.date` holds REAL values despite its `integer` declaration; row 0 of
/// `update_state` is the account, the others are **raw** channel ids; the logged-in user is the
/// `entities` row with id 0 whose `hash` is the user id; `entities.phone` has INTEGER affinity;
/// Telethon reads `sessions` with `select *`, so an export creates its columns in Telethon's order.
enum TelethonSQLiteFormat {
    /// Reads an open Telethon 1.x file of schema `version` (7 or 8).
    static func read(_ db: SQLiteConnection, version: Int) throws(VaultError) -> ImportedSession {
        var notes: [String] = []
        var dataCenters: [DataCenter] = []
        var takeoutID: Int64?
        var homeDC: Int32 = 0
        var rows = 0
        try db.selectRows(
            from: "sessions",
            columns: ["dc_id", "server_address", "port", "auth_key", "takeout_id", "tmp_auth_key"]
        ) { (row) throws(VaultError) in
            rows += 1
            guard rows == 1 else { return }
            let dcID = try row.int32("dc_id") ?? 0
            homeDC = dcID
            takeoutID = try row.integer("takeout_id")
            let key = try row.authKey("auth_key")
            let temporary = try row.authKey("tmp_auth_key")
            var endpoint: Endpoint?
            if let address = row.text("server_address"), !address.isEmpty {
                let port = try row.integer("port")
                guard IPAddressText.packed(address) != nil else {
                    throw VaultError(.corrupt, "sessions.server_address \(EchoedText.quoted(address)) is not an IP address")
                }
                guard let port, let narrow = UInt16(exactly: port), narrow != 0 else {
                    throw VaultError(.corrupt, "sessions.port is missing or out of range")
                }
                endpoint = Endpoint(host: address, port: narrow)
            }
            guard dcID != 0 || key != nil || endpoint != nil else {
                notes.append("the file holds no data center and no auth key (a session that never logged in)")
                return
            }
            let isIPv6 = endpoint.map { IPAddressText.isIPv6($0.host) } ?? false
            dataCenters.append(
                DataCenter(
                    id: dcID,
                    ipv4: isIPv6 ? nil : endpoint,
                    ipv6: isIPv6 ? endpoint : nil,
                    authKey: key,
                    temporaryAuthKey: temporary
                )
            )
            if key == nil { notes.append("DC \(dcID) has no auth key (an empty blob): the session is not logged in") }
            if temporary != nil { notes.append("the temporary (PFS) auth key of DC \(dcID) was imported too") }
        }
        if rows == 0 { notes.append("the sessions table is empty") }
        if rows > 1 { notes.append("the sessions table has \(rows) rows; Telethon uses the first, and so did the import") }

        // Update state: row 0 is the account, the others are raw channel ids.
        let updateState = try db.updateState(channelID: { $0 }, notes: &notes)

        // Entities: the id-0 row is the self-user hack; the others are the peer cache.
        var selfID: Int64?
        var peers: [Peer] = []
        try db.selectRows(from: "entities", columns: ["id", "hash", "username", "phone", "name", "date"], suffix: "ORDER BY id") {
            (row) throws(VaultError) in
            let id = try row.requiredInteger("id")
            let hash = try row.integer("hash") ?? 0
            if id == 0 {
                selfID = hash
                return
            }
            peers.append(
                Peer(
                    id: id,
                    accessHash: hash,
                    kind: MarkedPeerID.telethonKind(of: id),
                    username: row.text("username"),
                    phoneNumber: row.text("phone"),
                    name: row.text("name"),
                    updatedAt: try row.integer("date")
                )
            )
        }
        var user: LoggedInUser?
        if let selfID, selfID != 0 {
            let username = peers.first { $0.id == selfID }?.username
            user = LoggedInUser(id: selfID, dataCenterID: homeDC, isBot: false, username: username)
            notes.append("Telethon does not record whether the account is a bot: it was imported as a user account")
        } else if !dataCenters.isEmpty {
            notes.append("the file does not name the logged-in user (no entities row with id 0)")
        }
        if !peers.isEmpty {
            notes.append("Telethon stores no peer types: users, groups and channels were told apart by their ids (bots count as users, supergroups as channels)")
        }
        let session = Session(dataCenters: dataCenters, user: user, updateState: updateState, takeoutID: takeoutID)
        return ImportedSession(session: session, peers: peers, format: .telethon, schemaVersion: version, notes: notes)
    }

    /// Writes a Telethon 1.x file of schema `version` (8 by default, or 7) into an empty database.
    static func write(
        _ session: Session,
        peers: [Peer],
        version: Int,
        to db: SQLiteConnection,
        now: Int64
    ) throws(VaultError) -> [String] {
        guard version == 7 || version == 8 else {
            throw VaultError(.invalidArgument, "Telethon 1.x schema \(version) cannot be written; use 8 (Telethon 1.43+) or 7 (≤ 1.42)")
        }
        let plan = ExportPlan(session: session, formatName: "a Telethon 1.x session")
        var notes = plan.notes
        let tmpColumn = version == 8 ? ",\n    tmp_auth_key blob" : ""
        try db.transaction { () throws(VaultError) in
            try db.execute(
                """
                create table version (version integer primary key);
                create table sessions (
                    dc_id integer primary key,
                    server_address text,
                    port integer,
                    auth_key blob,
                    takeout_id integer\(tmpColumn)
                );
                create table entities (
                    id integer primary key,
                    hash integer not null,
                    username text,
                    phone integer,
                    name text,
                    date integer
                );
                create table sent_files (
                    md5_digest blob,
                    file_size integer,
                    type integer,
                    id integer,
                    hash integer,
                    primary key(md5_digest, file_size, type)
                );
                create table update_state (
                    id integer primary key,
                    pts integer,
                    qts integer,
                    date integer,
                    seq integer
                );
                insert into version values (\(version));
                """
            )
            let insertSession = try db.statement(
                version == 8 ? "insert into sessions values (?, ?, ?, ?, ?, ?)" : "insert into sessions values (?, ?, ?, ?, ?)"
            )
            let dc = plan.dataCenter
            try insertSession.bind(Int64(dc?.id ?? 0), at: 1)
            try insertSession.bind(plan.endpoint?.host, at: 2)
            try insertSession.bind(plan.endpoint.map { Int64($0.port) }, at: 3)
            try insertSession.bind(session.takeoutID, at: 5)
            // No key is an empty blob, as Telethon writes it; the key bytes are bound without a copy.
            try withKeyBytes(dc?.authKey) { (key) throws(VaultError) in
                try insertSession.bind(key, at: 4)
                if version == 8 {
                    try withKeyBytes(dc?.temporaryAuthKey) { (temporary) throws(VaultError) in
                        try insertSession.bind(temporary, at: 6)
                        try insertSession.run()
                    }
                } else {
                    try insertSession.run()
                }
            }
            if version == 7, dc?.temporaryAuthKey != nil {
                notes.append("schema 7 has no tmp_auth_key column: the temporary key was not exported")
            }

            let insertEntity = try db.statement("insert or replace into entities values (?, ?, ?, ?, ?, ?)")
            if let user = session.user {
                try insertEntity.bind(0, at: 1)
                try insertEntity.bind(user.id, at: 2)
                try insertEntity.bind(now, at: 6)
                try insertEntity.run()
                if user.isBot { notes.append("Telethon 1.x files do not record that the account is a bot") }
            }
            for peer in peers where peer.id != 0 {
                try insertEntity.bind(peer.id, at: 1)
                try insertEntity.bind(peer.accessHash, at: 2)
                try insertEntity.bind(peer.username, at: 3)
                if let phone = peer.phoneNumber, let number = Int64(phone) {
                    try insertEntity.bind(number, at: 4)
                } else {
                    try insertEntity.bind(peer.phoneNumber, at: 4)
                }
                try insertEntity.bind(peer.name, at: 5)
                try insertEntity.bind(peer.updatedAt ?? now, at: 6)
                try insertEntity.run()
            }

            if let state = session.updateState {
                let insertState = try db.statement("insert or replace into update_state values (?, ?, ?, ?, ?)")
                try insertState.bind(0, at: 1)
                try insertState.bind(Int64(state.pts), at: 2)
                try insertState.bind(Int64(state.qts), at: 3)
                try insertState.bind(state.date, at: 4)
                try insertState.bind(Int64(state.seq), at: 5)
                try insertState.run()
                for (channel, pts) in state.channels.sorted(by: { $0.key < $1.key }) {
                    try insertState.bind(channel, at: 1)
                    try insertState.bind(Int64(pts), at: 2)
                    try insertState.bind(0, at: 3)
                    try insertState.bind(state.date, at: 4)
                    try insertState.bind(0, at: 5)
                    try insertState.run()
                }
            }
        }
        if session.apiID != nil || session.isTestMode {
            notes.append("Telethon 1.x files hold no api_id or test mode; they were not exported")
        }
        return notes
    }
}

/// Calls `body` with the bytes of `key`, or with an empty buffer when there is no key.
func withKeyBytes<R>(
    _ key: AuthKey?,
    _ body: (UnsafeRawBufferPointer) throws(VaultError) -> R
) throws(VaultError) -> R {
    guard let key else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return try key.withUnsafeBytes { (raw) throws(VaultError) in try body(raw) }
}
