internal import CSQLite

/// One row of a query on another library's session file, with its columns addressed **by name**,
/// so that files whose columns are in another order (Kurigram's migrated `sessions` table) or are
/// missing (Telethon schema 7 has no `tmp_auth_key`) read the same way.
///
/// A view over a ``SQLiteStatement`` positioned on a row. It reads values the way foreign files
/// hold them: an integer may be stored as REAL (Telethon's dates) or as text, an auth key is an
/// empty blob or NULL when there is none; anything else is ``VaultError/Code/corrupt``.
struct ForeignRow {
    let statement: SQLiteStatement
    let table: String
    private let indexes: [String: Int32]

    init(statement: SQLiteStatement, table: String, columns: [String]) {
        self.statement = statement
        self.table = table
        var indexes: [String: Int32] = [:]
        for (index, name) in columns.enumerated() { indexes[name] = Int32(index) }
        self.indexes = indexes
    }

    /// Whether the table has `column`.
    func has(_ column: String) -> Bool { indexes[column] != nil }

    /// The value as an integer, or nil for NULL or a missing column. A REAL is rounded down
    /// (Telethon stores dates as REAL); text that is not an integer is refused.
    func integer(_ column: String) throws(VaultError) -> Int64? {
        guard let index = indexes[column] else { return nil }
        let name = "\(table).\(column)"
        let file = statement.connection.role.fileName
        switch statement.columnType(index) {
        case CSQLITE_NULL:
            return nil
        case CSQLITE_INTEGER:
            return statement.int64(index)
        case CSQLITE_FLOAT:
            let value = statement.double(index)
            guard value.isFinite, value >= -9.2e18, value <= 9.2e18 else {
                throw VaultError(.corrupt, "the \(file) has a non-finite or huge \(name)")
            }
            return Int64(value.rounded(.down))
        case CSQLITE_TEXT:
            if let text = statement.text(index), let value = Int64(text) { return value }
            throw VaultError(.corrupt, "the \(file) has text where \(name) should be an integer")
        default:
            throw VaultError(.corrupt, "the \(file) has a blob where \(name) should be an integer")
        }
    }

    func requiredInteger(_ column: String) throws(VaultError) -> Int64 {
        guard let value = try integer(column) else {
            throw VaultError(.corrupt, "\(table).\(column) is missing or NULL")
        }
        return value
    }

    /// An integer that must fit `Int32` (DC ids, pts, qts, seq).
    func int32(_ column: String) throws(VaultError) -> Int32? {
        guard let value = try integer(column) else { return nil }
        guard let narrow = Int32(exactly: value) else {
            throw VaultError(.corrupt, "\(table).\(column) is \(value), out of range")
        }
        return narrow
    }

    func text(_ column: String) -> String? {
        guard let index = indexes[column] else { return nil }
        return statement.text(index)
    }

    /// A blob column copied into guarded memory; nil for NULL or `x''` (Telethon's "no key").
    func secretBlob(_ column: String) throws(VaultError) -> SecretBytes? {
        guard let index = indexes[column] else { return nil }
        return try statement.secretBlob(index)
    }

    /// An auth key column: NULL or empty means no key; anything but 256 bytes is damage.
    func authKey(_ column: String) throws(VaultError) -> AuthKey? {
        if let index = indexes[column], ![CSQLITE_NULL, CSQLITE_BLOB].contains(statement.columnType(index)) {
            // Never "no key": a key stored as TEXT (or a number) is damage, not a session that never logged in.
            throw VaultError(.corrupt, "\(table).\(column) is not stored as a BLOB; an auth key is 256 bytes of BLOB")
        }
        guard let secret = try secretBlob(column) else { return nil }
        guard secret.count == AuthKey.byteCount else {
            throw VaultError(.corrupt, "\(table).\(column) holds \(secret.count) bytes; an auth key is 256")
        }
        return try AuthKey(owning: secret)
    }
}

extension SQLiteConnection {
    /// Runs `SELECT <the wanted columns that exist> FROM table [suffix]` and hands each row to `body`.
    func selectRows(
        from table: String,
        columns wanted: [String],
        suffix: String = "",
        _ body: (ForeignRow) throws(VaultError) -> Void
    ) throws(VaultError) {
        let existing = Set(try columnNames(of: table))
        let columns = wanted.filter { existing.contains($0) }
        guard !columns.isEmpty else { return }
        let sql = "SELECT \(columns.map { "\"\($0)\"" }.joined(separator: ", ")) FROM \(table) \(suffix)"
        try forEachRow(sql) { (statement) throws(VaultError) in
            try body(ForeignRow(statement: statement, table: table, columns: columns))
        }
    }
}

extension SQLiteConnection {
    /// The `update_state` table that Telethon and Kurigram write alike: row 0 is the account, every
    /// other row a channel whose stored id `channelID` turns into a plain channel id. Channel states
    /// without an account state get an all-zero account state (with a note).
    func updateState(channelID: (Int64) -> Int64, notes: inout [String]) throws(VaultError) -> UpdateState? {
        var account: UpdateState?
        var channels: [Int64: Int32] = [:]
        try selectRows(from: "update_state", columns: ["id", "pts", "qts", "date", "seq"], suffix: "ORDER BY id") {
            (row) throws(VaultError) in
            let id = try row.requiredInteger("id")
            let pts = try row.int32("pts") ?? 0
            if id == 0 {
                account = UpdateState(
                    pts: pts,
                    qts: try row.int32("qts") ?? 0,
                    date: try row.integer("date") ?? 0,
                    seq: try row.int32("seq") ?? 0
                )
            } else {
                channels[channelID(id)] = pts
            }
        }
        guard !channels.isEmpty else { return account }
        if account == nil {
            account = UpdateState(pts: 0, qts: 0, date: 0, seq: 0)
            notes.append("channel states without an account state (update_state id 0): the account state is all zeros")
        }
        account?.channels = channels
        return account
    }
}
