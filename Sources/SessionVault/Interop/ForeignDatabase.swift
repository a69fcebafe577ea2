internal import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A SQLite file that belongs to another library (a Telethon or Pyrogram session): opened read-only
/// to import it, or created empty to export into it.
///
/// It uses the same `dlopen`'d ``SQLiteLibrary`` as the vault (SQLite is never linked). It exists
/// beside ``SQLiteConnection`` for two reasons that class does not cover: a source file is opened
/// with `SQLITE_OPEN_READONLY`, so importing can never change it (no rollback of a hot journal, no
/// checkpoint of a WAL), and an auth key column is copied from SQLite's buffer straight into
/// guarded memory (``ForeignStatement/secretBlob(_:)``), never into a `[UInt8]`.
///
/// Errors name the file as a foreign session ("the Telethon session … is damaged"), not as a vault.
final class ForeignDatabase {
    let library: SQLiteLibrary
    let path: String
    /// How errors name the file, e.g. `Telethon session /x/bot.session`.
    let label: String
    private var handle: OpaquePointer?
    private var statements: [ForeignStatement] = []

    /// Opens `path` read-only (`writable` false) or read-write; the file must exist.
    init(path: String, label: String, writable: Bool, library: SQLiteLibrary) throws(VaultError) {
        self.library = library
        self.path = path
        self.label = label
        var db: OpaquePointer?
        let flags =
            (writable ? CSQLITE_OPEN_READWRITE : CSQLITE_OPEN_READONLY) | CSQLITE_OPEN_NOMUTEX
            | CSQLITE_OPEN_PRIVATECACHE | CSQLITE_OPEN_EXRESCODE
        let status = path.withCString { library.api.open_v2($0, &db, Int32(flags), nil) }
        if status != CSQLITE_OK {
            let message = db.map { cString(library.api.errmsg($0)) } ?? cString(library.api.errstr(status))
            if let db { _ = library.api.close(db) }
            throw Self.error(code: status, message: message, sql: nil, label: label)
        }
        handle = db
        _ = library.api.extended_result_codes(db, 1)
    }

    deinit {
        close()
    }

    /// Loads libsqlite3 (the vault's loader and its `SESSION_VAULT_SQLITE_LIBRARY` override).
    static func loadLibrary(path: String? = nil) throws(VaultError) -> SQLiteLibrary {
        switch SQLiteLibrary.load(path: path) {
        case .success(let library): return library
        case .failure(let error):
            throw VaultError(
                .sqliteUnavailable,
                "SQLite session files cannot be read or written without libsqlite3: \(error.message)"
            )
        }
    }

    /// Runs SQL without results (DDL, pragmas, transactions).
    func execute(_ sql: String) throws(VaultError) {
        let db = try requireHandle()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let status = sql.withCString { library.api.exec(db, $0, nil, nil, &errorMessage) }
        let message = errorMessage.map { cString($0) } ?? lastMessage
        if let errorMessage { library.api.free(errorMessage) }
        if status != CSQLITE_OK {
            throw Self.error(code: library.api.extended_errcode(db), message: message, sql: sql, label: label)
        }
    }

    /// A new prepared statement, finalised when the database closes.
    func prepare(_ sql: String) throws(VaultError) -> ForeignStatement {
        let db = try requireHandle()
        var raw: OpaquePointer?
        let status = sql.withCString { library.api.prepare_v2(db, $0, -1, &raw, nil) }
        guard status == CSQLITE_OK, let raw else {
            throw Self.error(code: library.api.extended_errcode(db), message: lastMessage, sql: sql, label: label)
        }
        let statement = ForeignStatement(raw, database: self, sql: sql)
        statements.append(statement)
        return statement
    }

    /// Every row of `sql`, handed to `body` one at a time.
    func forEachRow(_ sql: String, _ body: (ForeignStatement) throws(VaultError) -> Void) throws(VaultError) {
        let statement = try prepare(sql)
        defer { statement.finalize() }
        while try statement.step() {
            try body(statement)
        }
    }

    /// The names of the tables (not indexes, views or SQLite's own tables), sorted.
    func tableNames() throws(VaultError) -> [String] {
        var names: [String] = []
        try forEachRow("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") {
            (row) throws(VaultError) in
            if let name = row.text(0) { names.append(name) }
        }
        return names
    }

    /// The column names of `table`, in table order.
    func columnNames(of table: String) throws(VaultError) -> [String] {
        guard table.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw VaultError(.invalidArgument, "'\(table)' is not a plain table name")
        }
        var names: [String] = []
        try forEachRow("PRAGMA table_info(\(table))") { (row) throws(VaultError) in
            if let name = row.text(1) { names.append(name) }
        }
        return names
    }

    /// Runs `body` in a transaction; commits when it returns, rolls back when it throws.
    func transaction(_ body: () throws(VaultError) -> Void) throws(VaultError) {
        try execute("BEGIN IMMEDIATE")
        do {
            try body()
            try execute("COMMIT")
        } catch {
            if let db = handle, library.api.get_autocommit(db) == 0 { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Finalises every statement and closes the connection (idempotent).
    func close() {
        guard let db = handle else { return }
        for statement in statements { statement.finalize() }
        statements.removeAll()
        _ = library.api.close(db)
        handle = nil
    }

    var lastMessage: String {
        guard let db = handle else { return "connection closed" }
        return cString(library.api.errmsg(db))
    }

    var lastExtendedCode: Int32 {
        guard let db = handle else { return CSQLITE_ERROR }
        return library.api.extended_errcode(db)
    }

    private func requireHandle() throws(VaultError) -> OpaquePointer {
        guard let handle else { throw VaultError(.closed, "the \(label) is closed") }
        return handle
    }

    /// Maps a SQLite result code to a ``VaultError`` that names the foreign file.
    static func error(code: Int32, message: String, sql: String?, label: String) -> VaultError {
        let suffix = sql.map { " (in \($0.split(separator: "\n").joined(separator: " ").prefix(80)))" } ?? ""
        switch code & 0xFF {
        case CSQLITE_NOTADB:
            return VaultError(.invalidArgument, "the \(label) is not a SQLite database", sqliteExtendedCode: code)
        case CSQLITE_CORRUPT:
            return VaultError(
                .corrupt,
                "the \(label) is damaged or truncated (SQLite: \(message))\(suffix)",
                sqliteExtendedCode: code
            )
        case CSQLITE_BUSY, CSQLITE_LOCKED:
            return VaultError(
                .inUse,
                "the \(label) is locked by another process (stop the client that uses it first)",
                sqliteExtendedCode: code
            )
        case CSQLITE_CANTOPEN:
            return VaultError(.io, "cannot open the \(label) (SQLite: \(message))", sqliteExtendedCode: code)
        default:
            return VaultError(.io, "SQLite error \(code) on the \(label): \(message)\(suffix)", sqliteExtendedCode: code)
        }
    }
}
