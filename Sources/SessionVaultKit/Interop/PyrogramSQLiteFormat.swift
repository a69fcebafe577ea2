/// Pyrogram 2.0.x (schema 3) and Kurigram (schemas 4–7) SQLite sessions.
///
/// Every column is selected **by name**: a file Kurigram migrated from Pyrogram has its
/// `sessions` columns in another order and keeps the old `peers.username` column. Quirks handled:
/// `peers.type` is declared INTEGER but holds text (`user`, `bot`, `group`, `channel`,
/// `supergroup`, and Kurigram's `forum`, `direct`, `community`); schema 3 stores no address (the
/// library takes it from its DC table); Kurigram keeps usernames in a `usernames` table (several
/// per peer, in rowid order) and channel ids in `update_state` **marked** (`-100…`); the update
/// state's `qts`/`date`/`seq` may be NULL; `peers.last_update_on` must be recent or usernames
/// stop resolving (8-hour TTL), so an export writes the current time there.
enum PyrogramSQLiteFormat {
    /// Pyrogram 2.0.106's schema (version 3).
    static let schema3 = """
        CREATE TABLE sessions
        (
            dc_id     INTEGER PRIMARY KEY,
            api_id    INTEGER,
            test_mode INTEGER,
            auth_key  BLOB,
            date      INTEGER NOT NULL,
            user_id   INTEGER,
            is_bot    INTEGER
        );

        CREATE TABLE peers
        (
            id             INTEGER PRIMARY KEY,
            access_hash    INTEGER,
            type           INTEGER NOT NULL,
            username       TEXT,
            phone_number   TEXT,
            last_update_on INTEGER NOT NULL DEFAULT (CAST(STRFTIME('%s', 'now') AS INTEGER))
        );

        CREATE TABLE version
        (
            number INTEGER PRIMARY KEY
        );

        CREATE INDEX idx_peers_id ON peers (id);
        CREATE INDEX idx_peers_username ON peers (username);
        CREATE INDEX idx_peers_phone_number ON peers (phone_number);

        CREATE TRIGGER trg_peers_last_update_on
            AFTER UPDATE
            ON peers
        BEGIN
            UPDATE peers
            SET last_update_on = CAST(STRFTIME('%s', 'now') AS INTEGER)
            WHERE id = NEW.id;
        END;
        """

    /// Kurigram 2.2.26's schema (version 7).
    static let schema7 = """
        CREATE TABLE sessions
        (
            dc_id          INTEGER PRIMARY KEY,
            server_address TEXT,
            port           INTEGER,
            api_id         INTEGER,
            test_mode      INTEGER,
            auth_key       BLOB,
            date           INTEGER NOT NULL,
            user_id        INTEGER,
            is_bot         INTEGER
        );

        CREATE TABLE peers
        (
            id             INTEGER PRIMARY KEY,
            access_hash    INTEGER,
            type           INTEGER NOT NULL,
            phone_number   TEXT,
            last_update_on INTEGER NOT NULL DEFAULT (CAST(STRFTIME('%s', 'now') AS INTEGER))
        );

        CREATE TABLE usernames
        (
            id       INTEGER,
            username TEXT,
            FOREIGN KEY (id) REFERENCES peers(id)
        );

        CREATE TABLE update_state
        (
            id   INTEGER PRIMARY KEY,
            pts  INTEGER,
            qts  INTEGER,
            date INTEGER,
            seq  INTEGER
        );

        CREATE TABLE version
        (
            number INTEGER PRIMARY KEY
        );

        CREATE INDEX idx_peers_id ON peers (id);
        CREATE INDEX idx_peers_phone_number ON peers (phone_number);
        CREATE INDEX idx_usernames_id ON usernames (id);
        CREATE INDEX idx_usernames_username ON usernames (username);

        CREATE TRIGGER trg_peers_last_update_on
            AFTER UPDATE
            ON peers
        BEGIN
            UPDATE peers
            SET last_update_on = CAST(STRFTIME('%s', 'now') AS INTEGER)
            WHERE id = NEW.id;
        END;
        """

    /// Reads an open Pyrogram/Kurigram file of schema `version` (3–7).
    static func read(_ db: SQLiteConnection, version: Int) throws(VaultError) -> ImportedSession {
        var notes: [String] = []
        let tables = Set(try db.tableNames())
        var dataCenters: [DataCenter] = []
        var user: LoggedInUser?
        var apiID: Int32?
        var testMode = false
        var userID: Int64?
        var rows = 0
        try db.selectRows(
            from: "sessions",
            columns: ["dc_id", "server_address", "port", "api_id", "test_mode", "auth_key", "date", "user_id", "is_bot"]
        ) { (row) throws(VaultError) in
            rows += 1
            guard rows == 1 else { return }
            let dcID = try row.int32("dc_id") ?? 2
            apiID = try row.int32("api_id")
            testMode = (try row.integer("test_mode") ?? 0) != 0
            let key = try row.authKey("auth_key")
            var endpoint: Endpoint?
            if let address = row.text("server_address"), !address.isEmpty {
                guard IPAddressText.packed(address) != nil else {
                    throw VaultError(.corrupt, "sessions.server_address \(EchoedText.quoted(address)) is not an IP address")
                }
                guard let port = try row.integer("port"), let narrow = UInt16(exactly: port), narrow != 0 else {
                    throw VaultError(.corrupt, "sessions.port is missing or out of range")
                }
                endpoint = Endpoint(host: address, port: narrow)
            } else if let known = WellKnownDataCenters.endpoint(dataCenter: dcID, testMode: testMode) {
                endpoint = known
                notes.append(
                    "the address of DC \(dcID) was inferred from the DC id and test mode (\(known)): "
                        + "Pyrogram schema \(version) stores no address"
                )
            } else {
                notes.append("DC \(dcID) has no stored address and no well-known one")
            }
            let isIPv6 = endpoint.map { IPAddressText.isIPv6($0.host) } ?? false
            dataCenters.append(DataCenter(id: dcID, ipv4: isIPv6 ? nil : endpoint, ipv6: isIPv6 ? endpoint : nil, authKey: key))
            if key == nil { notes.append("the file holds no auth key: the session is not logged in") }
            userID = try row.integer("user_id")
            if let userID {
                user = LoggedInUser(id: userID, dataCenterID: dcID, isBot: (try row.integer("is_bot") ?? 0) != 0)
            }
        }
        if rows == 0 { notes.append("the sessions table is empty") }
        if rows > 1 { notes.append("the sessions table has \(rows) rows; the first was imported") }
        if apiID == nil && rows > 0 { notes.append("the file holds no api_id") }

        // Usernames: Kurigram's usernames table (several per peer, rowid order), else the legacy column.
        var usernames: [Int64: [String]] = [:]
        if tables.contains("usernames") {
            try db.selectRows(from: "usernames", columns: ["id", "username"], suffix: "ORDER BY rowid") { (row) throws(VaultError) in
                guard let id = try row.integer("id"), let name = row.text("username"), !name.isEmpty else { return }
                usernames[id, default: []].append(name)
            }
        }
        var peers: [Peer] = []
        var legacyUsernames = 0
        var unknownTypes: Set<String> = []
        var extraUsernames = 0
        try db.selectRows(
            from: "peers",
            columns: ["id", "access_hash", "type", "username", "phone_number", "last_update_on"],
            suffix: "ORDER BY id"
        ) { (row) throws(VaultError) in
            let id = try row.requiredInteger("id")
            let typeName = row.text("type") ?? ""
            guard let kind = Peer.Kind(name: typeName) else {
                unknownTypes.insert(typeName)
                return
            }
            var username = usernames[id]?.first
            if let all = usernames[id], all.count > 1 { extraUsernames += all.count - 1 }
            if username == nil, let legacy = row.text("username"), !legacy.isEmpty {
                username = legacy
                if tables.contains("usernames") { legacyUsernames += 1 }
            }
            peers.append(
                Peer(
                    id: id,
                    accessHash: try row.integer("access_hash") ?? 0,
                    kind: kind,
                    username: username,
                    phoneNumber: row.text("phone_number"),
                    updatedAt: try row.integer("last_update_on")
                )
            )
        }
        if !unknownTypes.isEmpty {
            notes.append("peers of unknown type \(EchoedText.list(unknownTypes.sorted(), quoting: true)) were skipped")
        }
        if legacyUsernames > 0 {
            notes.append(
                "\(legacyUsernames) usernames were recovered from the legacy peers.username column "
                    + "(Kurigram's migration from Pyrogram leaves them there and no longer reads them)"
            )
        }
        if extraUsernames > 0 {
            notes.append("the vault keeps one username per peer: \(extraUsernames) additional usernames were not imported")
        }
        if let index = user.flatMap({ user in peers.firstIndex { $0.id == user.id } }) {
            user?.username = peers[index].username
        }

        // Update state (Kurigram): id 0 is the account, the others are marked channel ids.
        var state: UpdateState?
        if tables.contains("update_state") {
            state = try db.updateState(channelID: { MarkedPeerID.channelID(fromMarked: $0) ?? $0 }, notes: &notes)
            if state?.channels.isEmpty == false {
                notes.append("Kurigram's marked channel ids (-100…) were stored as plain channel ids")
            }
        }
        let session = Session(dataCenters: dataCenters, user: user, updateState: state, apiID: apiID, isTestMode: testMode)
        return ImportedSession(session: session, peers: peers, format: .pyrogram, schemaVersion: version, notes: notes)
    }

    /// Writes a Pyrogram (schema 3) or Kurigram (schema 7) file into an empty database.
    static func write(
        _ session: Session,
        peers: [Peer],
        version: Int,
        apiID override: Int32?,
        to db: SQLiteConnection,
        now: Int64
    ) throws(VaultError) -> [String] {
        guard version == 3 || version == 7 else {
            throw VaultError(.invalidArgument, "Pyrogram schema \(version) cannot be written; use 3 (Pyrogram 2.0.x) or 7 (Kurigram)")
        }
        let plan = ExportPlan(session: session, formatName: "a Pyrogram session")
        var notes = plan.notes
        let dc = plan.dataCenter
        let dcID = dc?.id ?? 2
        let apiID = override ?? session.apiID
        if apiID == nil { notes.append("the api_id is unknown and was left NULL: pass api_id to the Client") }
        if version == 3, let endpoint = plan.endpoint,
            endpoint != WellKnownDataCenters.endpoint(dataCenter: dcID, testMode: session.isTestMode)
        {
            notes.append("Pyrogram schema 3 stores no address: the library will not use \(endpoint); export schema 7 to keep it")
        }
        try db.transaction { () throws(VaultError) in
            try db.execute((version == 3 ? schema3 : schema7) + "\nINSERT INTO version VALUES (\(version));")
            let insertSession = try db.statement(
                version == 3
                    ? "INSERT INTO sessions (dc_id, api_id, test_mode, auth_key, date, user_id, is_bot) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    : "INSERT INTO sessions (dc_id, api_id, test_mode, auth_key, date, user_id, is_bot, server_address, port) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            )
            try insertSession.bind(Int64(dcID), at: 1)
            try insertSession.bind(apiID.map(Int64.init), at: 2)
            try insertSession.bind(session.isTestMode ? 1 : 0, at: 3)
            try insertSession.bind(now, at: 5)
            try insertSession.bind(session.user?.id, at: 6)
            try insertSession.bind(session.user.map { $0.isBot ? 1 : 0 }, at: 7)
            if version == 7 {
                let endpoint = plan.endpoint ?? WellKnownDataCenters.endpoint(dataCenter: dcID, testMode: session.isTestMode)
                try insertSession.bind(endpoint?.host, at: 8)
                try insertSession.bind(endpoint.map { Int64($0.port) }, at: 9)
            }
            if let key = dc?.authKey {
                try key.withUnsafeBytes { (raw) throws(VaultError) in
                    try insertSession.bind(raw, at: 4)
                    try insertSession.run()
                }
            } else {
                try insertSession.run()
            }

            let insertPeer = try db.statement(
                version == 3
                    ? "INSERT OR REPLACE INTO peers (id, access_hash, type, username, phone_number, last_update_on) VALUES (?, ?, ?, ?, ?, ?)"
                    : "INSERT OR REPLACE INTO peers (id, access_hash, type, phone_number, last_update_on) VALUES (?, ?, ?, ?, ?)"
            )
            let insertUsername = version == 7 ? try db.statement("INSERT INTO usernames (id, username) VALUES (?, ?)") : nil
            for peer in peers {
                try insertPeer.bind(peer.id, at: 1)
                try insertPeer.bind(peer.accessHash, at: 2)
                try insertPeer.bind(peer.kind.description, at: 3)
                if version == 3 {
                    try insertPeer.bind(peer.username, at: 4)
                    try insertPeer.bind(peer.phoneNumber, at: 5)
                    try insertPeer.bind(now, at: 6)
                } else {
                    try insertPeer.bind(peer.phoneNumber, at: 4)
                    try insertPeer.bind(now, at: 5)
                }
                try insertPeer.run()
                if let insertUsername, let username = peer.username {
                    try insertUsername.bind(peer.id, at: 1)
                    try insertUsername.bind(username, at: 2)
                    try insertUsername.run()
                }
            }

            if version == 7, let state = session.updateState {
                let insertState = try db.statement("INSERT INTO update_state (id, pts, qts, date, seq) VALUES (?, ?, ?, ?, ?)")
                try insertState.bind(0, at: 1)
                try insertState.bind(Int64(state.pts), at: 2)
                try insertState.bind(Int64(state.qts), at: 3)
                try insertState.bind(state.date, at: 4)
                try insertState.bind(Int64(state.seq), at: 5)
                try insertState.run()
                for (channel, pts) in state.channels.sorted(by: { $0.key < $1.key }) {
                    try insertState.bind(MarkedPeerID.marked(channelID: channel), at: 1)
                    try insertState.bind(Int64(pts), at: 2)
                    try insertState.run()
                }
            }
        }
        if version == 3, session.updateState != nil {
            notes.append("Pyrogram schema 3 keeps no update state: it was not exported (export schema 7 for Kurigram to keep it)")
        }
        if session.user == nil { notes.append("the session has no logged-in user: Pyrogram will ask to log in") }
        if session.takeoutID != nil { notes.append("Pyrogram files hold no takeout id; it was not exported") }
        if dc?.temporaryAuthKey != nil { notes.append("Pyrogram files hold no temporary key; it was not exported") }
        return notes
    }
}
