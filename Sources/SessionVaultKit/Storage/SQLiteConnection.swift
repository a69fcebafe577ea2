internal import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One SQLite connection, used by one owner at a time: a vault's ``SQLiteRecordStore``, or the
/// import or export of another library's session file (``SQLiteSourceFile``, ``SessionExporter``).
///
/// Errors carry the extended result code, SQLite's message and the SQL text, never bound values.
/// How they name the file, and which code "not a database" gets, depends on the connection's
/// ``Role``: that mapping is ``error(code:message:sql:role:)``, the only one.
package final class SQLiteConnection {
    /// What the connection's file is.
    enum Role {
        /// A vault: opened with `SQLITE_OPEN_NOFOLLOW` (never through a symbolic link), and a file
        /// that is no SQLite database is ``VaultError/Code/notAVault``.
        case vault
        /// A session file of another library (Telethon, Pyrogram), opened to import or export it.
        /// `label` names it in errors (`session file /x/bot.session`); it may be a symbolic link
        /// (the user names it), and a file that is no SQLite database is
        /// ``VaultError/Code/invalidArgument``, as ``SessionImporter`` documents for content that is
        /// no supported session.
        case foreignSession(label: String)

        /// How errors name the file: `vault file`, or the foreign file's label.
        var fileName: String {
            switch self {
            case .vault: "vault file"
            case .foreignSession(let label): label
            }
        }
    }

    let library: SQLiteLibrary
    let role: Role
    private var handle: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens an existing file at `path` (the caller creates a new one 0600 first).
    /// - Parameters:
    ///   - role: What the file is; see ``Role``.
    ///   - readOnly: Opens with `SQLITE_OPEN_READONLY`, so that the file can never change (no
    ///     rollback of a hot journal, no checkpoint of a WAL): how an import source is read.
    init(path: String, library: SQLiteLibrary, role: Role = .vault, readOnly: Bool = false) throws(VaultError) {
        self.library = library
        self.role = role
        var db: OpaquePointer?
        var flags =
            (readOnly ? CSQLITE_OPEN_READONLY : CSQLITE_OPEN_READWRITE) | CSQLITE_OPEN_NOMUTEX
            | CSQLITE_OPEN_PRIVATECACHE | CSQLITE_OPEN_EXRESCODE
        if case .vault = role { flags |= CSQLITE_OPEN_NOFOLLOW }
        let status = path.withCString { library.api.open_v2($0, &db, Int32(flags), nil) }
        if status != CSQLITE_OK {
            let message = db.map { cString(library.api.errmsg($0)) } ?? cString(library.api.errstr(status))
            // Resources must be released whether or not the open succeeded.
            if let db { _ = library.api.close(db) }
            throw Self.error(code: status, message: message, sql: nil, role: role)
        }
        handle = db
        _ = library.api.extended_result_codes(db, 1)
    }

    deinit {
        // A connection dropped without close() (an owner that threw, or a vault released without
        // close()) is still finalised and closed, never leaked.
        if handle != nil { try? close() }
    }

    /// Runs SQL that returns no rows we need (pragmas that return a row are stepped to completion).
    func execute(_ sql: String) throws(VaultError) {
        let db = try requireHandle()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let status = sql.withCString { library.api.exec(db, $0, nil, nil, &errorMessage) }
        if let errorMessage { library.api.free(errorMessage) }
        if status != CSQLITE_OK {
            throw error(code: library.api.extended_errcode(db), message: lastMessage, sql: sql)
        }
    }

    /// A cached prepared statement for `sql`, reset and with bindings cleared.
    func statement(_ sql: String) throws(VaultError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let db = try requireHandle()
        var raw: OpaquePointer?
        let status = sql.withCString { library.api.prepare_v2(db, $0, -1, &raw, nil) }
        guard status == CSQLITE_OK, let raw else {
            throw error(code: library.api.extended_errcode(db), message: lastMessage, sql: sql)
        }
        let statement = SQLiteStatement(raw, connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// The single integer a pragma or query returns (nil when it returns no row).
    func integer(_ sql: String) throws(VaultError) -> Int64? {
        let statement = try statement(sql)
        defer { statement.reset() }
        return try statement.step() ? statement.int64(0) : nil
    }

    /// The single text value a pragma or query returns.
    func text(_ sql: String) throws(VaultError) -> String? {
        let statement = try statement(sql)
        defer { statement.reset() }
        return try statement.step() ? statement.text(0) : nil
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction; commits when it returns, rolls back when it throws.
    /// `BEGIN` and `COMMIT` are cached statements, not `sqlite3_exec` text: a durable save is one
    /// of these, and parsing both per save was a measurable part of its time beyond the sync.
    func transaction<R>(_ body: () throws(VaultError) -> R) throws(VaultError) -> R {
        try statement("BEGIN IMMEDIATE").run()
        do {
            let result = try body()
            try statement("COMMIT").run()
            return result
        } catch {
            if let db = handle, library.api.get_autocommit(db) == 0 {
                try? execute("ROLLBACK")
            }
            throw error
        }
    }

    /// Every row of `sql`, handed to `body` one at a time; the statement is reset afterwards.
    func forEachRow(_ sql: String, _ body: (SQLiteStatement) throws(VaultError) -> Void) throws(VaultError) {
        let statement = try statement(sql)
        defer { statement.reset() }
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

    /// Finalises every statement and closes the connection.
    func close() throws(VaultError) {
        guard let db = handle else { return }
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        let status = library.api.close(db)
        guard status == CSQLITE_OK else {
            throw error(code: status, message: cString(library.api.errmsg(db)), sql: nil)
        }
        handle = nil
    }

    /// SQLite's message; for I/O failures also the operating system's reason (`File too large`,
    /// `No space left on device`, `Permission denied`, …), which SQLite's own text leaves out. Read
    /// right after the failing call, when `errno` still holds the reason of SQLite's failed system call.
    var lastMessage: String {
        let systemError = errno
        guard let db = handle else { return "connection closed" }
        let message = cString(library.api.errmsg(db))
        let primary = library.api.extended_errcode(db) & 0xFF
        guard [CSQLITE_IOERR, CSQLITE_FULL, CSQLITE_CANTOPEN].contains(primary), systemError != 0 else {
            return message
        }
        return "\(message): \(cString(strerror(systemError)))"
    }

    var lastExtendedCode: Int32 {
        guard let db = handle else { return CSQLITE_ERROR }
        return library.api.extended_errcode(db)
    }

    func requireHandle() throws(VaultError) -> OpaquePointer {
        guard let handle else { throw VaultError(.closed, "the SQLite connection is closed") }
        return handle
    }

    /// Maps an extended result code to a ``VaultError`` for this connection's file.
    func error(code: Int32, message: String, sql: String?) -> VaultError {
        Self.error(code: code, message: message, sql: sql, role: role)
    }

    /// Maps an extended result code to a ``VaultError`` that names a file of `role`: the one place
    /// where SQLite's result codes become vault error codes.
    static func error(code: Int32, message: String, sql: String?, role: Role) -> VaultError {
        let suffix = sql.map { " (in \($0.split(separator: "\n").joined(separator: " ").prefix(80)))" } ?? ""
        switch (code & 0xFF, role) {
        case (CSQLITE_NOTADB, .vault):
            return VaultError(.notAVault, "the file is not a SQLite database", sqliteExtendedCode: code)
        case (CSQLITE_NOTADB, .foreignSession(let label)):
            return VaultError(.invalidArgument, "the \(label) is not a SQLite database", sqliteExtendedCode: code)
        case (CSQLITE_CORRUPT, .vault):
            return VaultError(.corrupt, "the vault file is damaged: SQLite error \(code): \(message)\(suffix)", sqliteExtendedCode: code)
        case (CSQLITE_CORRUPT, .foreignSession(let label)):
            return VaultError(.corrupt, "the \(label) is damaged or truncated (SQLite: \(message))\(suffix)", sqliteExtendedCode: code)
        case (CSQLITE_BUSY, .vault), (CSQLITE_LOCKED, .vault):
            return VaultError(
                .inUse,
                "the vault is locked by another connection: SQLite error \(code): \(message)\(suffix)",
                sqliteExtendedCode: code
            )
        case (CSQLITE_BUSY, .foreignSession(let label)), (CSQLITE_LOCKED, .foreignSession(let label)):
            return VaultError(
                .inUse,
                "the \(label) is locked by another process (stop the client that uses it first)",
                sqliteExtendedCode: code
            )
        case (CSQLITE_CANTOPEN, .foreignSession(let label)):
            return VaultError(.io, "cannot open the \(label) (SQLite: \(message))", sqliteExtendedCode: code)
        case (_, .vault):
            return VaultError(.io, "SQLite error \(code): \(message)\(suffix)", sqliteExtendedCode: code)
        case (_, .foreignSession(let label)):
            return VaultError(.io, "SQLite error \(code) on the \(label): \(message)\(suffix)", sqliteExtendedCode: code)
        }
    }
}
