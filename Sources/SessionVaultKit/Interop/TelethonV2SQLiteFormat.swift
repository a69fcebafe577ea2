/// Telethon v2's SQLite session (`telethon/_impl/session/storage/sqlite.py`), schema 10:
/// `version`, `datacenter(id, ipv4_addr, ipv6_addr, auth)`, `user(id, dc, bot, username)`,
/// `state(pts, qts, date, seq)`, `channelstate(id, pts)`. Addresses are `"ip:port"` text (IPv6
/// without brackets, as its `net.py` writes them). Telethon v2 keeps no peer cache.
///
/// Telethon v2 is unreleased (2.0.0a0), so no fixture comes from the real library; the schema is
/// the one its source creates, and the test fixture is built from it with plain SQLite.
enum TelethonV2SQLiteFormat {
    /// The only schema version Telethon v2 writes.
    static let version = 10

    static let schema = """
        create table version (version integer primary key);
        create table datacenter(id integer primary key, ipv4_addr text, ipv6_addr text, auth blob);
        create table user(id integer primary key, dc integer not null, bot integer not null, username text);
        create table state(pts integer not null, qts integer not null, date integer not null, seq integer not null);
        create table channelstate(id integer primary key, pts integer not null);
        """

    /// Reads an open Telethon v2 file.
    static func read(_ db: SQLiteConnection) throws(VaultError) -> ImportedSession {
        var dataCenters: [DataCenter] = []
        try db.selectRows(from: "datacenter", columns: ["id", "ipv4_addr", "ipv6_addr", "auth"], suffix: "ORDER BY id") {
            (row) throws(VaultError) in
            let id = try row.int32("id") ?? 0
            func endpoint(_ column: String) throws(VaultError) -> Endpoint? {
                guard let text = row.text(column), !text.isEmpty else { return nil }
                guard let endpoint = IPAddressText.splitHostPort(text) else {
                    throw VaultError(.corrupt, "datacenter.\(column) \(EchoedText.quoted(text)) is not 'ip:port'")
                }
                return endpoint
            }
            dataCenters.append(
                DataCenter(id: id, ipv4: try endpoint("ipv4_addr"), ipv6: try endpoint("ipv6_addr"), authKey: try row.authKey("auth"))
            )
        }
        var user: LoggedInUser?
        try db.selectRows(from: "user", columns: ["id", "dc", "bot", "username"]) { (row) throws(VaultError) in
            user = LoggedInUser(
                id: try row.requiredInteger("id"),
                dataCenterID: try row.int32("dc") ?? 0,
                isBot: (try row.integer("bot") ?? 0) != 0,
                username: row.text("username")
            )
        }
        var state: UpdateState?
        try db.selectRows(from: "state", columns: ["pts", "qts", "date", "seq"]) { (row) throws(VaultError) in
            state = UpdateState(
                pts: try row.int32("pts") ?? 0,
                qts: try row.int32("qts") ?? 0,
                date: try row.integer("date") ?? 0,
                seq: try row.int32("seq") ?? 0
            )
        }
        var channels: [Int64: Int32] = [:]
        try db.selectRows(from: "channelstate", columns: ["id", "pts"]) { (row) throws(VaultError) in
            channels[try row.requiredInteger("id")] = try row.int32("pts") ?? 0
        }
        var notes = ["Telethon v2 keeps no peer cache"]
        if !channels.isEmpty {
            if state == nil {
                state = UpdateState(pts: 0, qts: 0, date: 0, seq: 0)
                notes.append("channel states without an account state: the account state is all zeros")
            }
            state?.channels = channels
        }
        return ImportedSession(
            session: Session(dataCenters: dataCenters, user: user, updateState: state),
            format: .telethonV2,
            schemaVersion: version,
            notes: notes
        )
    }

    /// Writes a Telethon v2 file into an empty database.
    static func write(_ session: Session, peers: [Peer], to db: SQLiteConnection) throws(VaultError) -> [String] {
        var notes: [String] = []
        try db.transaction { () throws(VaultError) in
            try db.execute(schema + "\ninsert into version values (\(version));")
            let insertDC = try db.statement("insert into datacenter values (?, ?, ?, ?)")
            for dc in session.dataCenters.sorted(by: { $0.identity < $1.identity }) {
                if dc.isMediaOnly {
                    notes.append("Telethon v2 keeps no media-only data centers: the media entry of DC \(dc.id) was not exported")
                    continue
                }
                try insertDC.bind(Int64(dc.id), at: 1)
                try insertDC.bind(dc.ipv4.map(IPAddressText.hostPort), at: 2)
                try insertDC.bind(dc.ipv6.map(IPAddressText.hostPort), at: 3)
                if let key = dc.authKey {
                    try key.withUnsafeBytes { (raw) throws(VaultError) in
                        try insertDC.bind(raw, at: 4)
                        try insertDC.run()
                    }
                } else {
                    try insertDC.run()
                }
                if dc.temporaryAuthKey != nil {
                    notes.append("Telethon v2 keeps no temporary keys: the one of DC \(dc.id) was not exported")
                }
            }
            if let user = session.user {
                let insertUser = try db.statement("insert into user values (?, ?, ?, ?)")
                try insertUser.bind(user.id, at: 1)
                try insertUser.bind(Int64(user.dataCenterID), at: 2)
                try insertUser.bind(user.isBot ? 1 : 0, at: 3)
                try insertUser.bind(user.username, at: 4)
                try insertUser.run()
            }
            if let state = session.updateState {
                let insertState = try db.statement("insert into state values (?, ?, ?, ?)")
                try insertState.bind(Int64(state.pts), at: 1)
                try insertState.bind(Int64(state.qts), at: 2)
                try insertState.bind(state.date, at: 3)
                try insertState.bind(Int64(state.seq), at: 4)
                try insertState.run()
                let insertChannel = try db.statement("insert into channelstate values (?, ?)")
                for (channel, pts) in state.channels.sorted(by: { $0.key < $1.key }) {
                    try insertChannel.bind(channel, at: 1)
                    try insertChannel.bind(Int64(pts), at: 2)
                    try insertChannel.run()
                }
            }
        }
        if !peers.isEmpty { notes.append("Telethon v2 keeps no peer cache: \(peers.count) peers were not exported") }
        if session.apiID != nil || session.isTestMode || session.takeoutID != nil {
            notes.append("Telethon v2 files hold no api_id, test mode or takeout id; they were not exported")
        }
        return notes
    }
}
