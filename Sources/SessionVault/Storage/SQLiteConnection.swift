internal import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One SQLite connection, used by one owner at a time (its ``SQLiteRecordStore``).
///
/// Errors carry the extended result code, SQLite's message and the SQL text, never bound values.
final class SQLiteConnection {
    let library: SQLiteLibrary
    private var handle: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens `path` read-write. With `create`, the file may be created (the caller creates it 0600 first).
    init(path: String, library: SQLiteLibrary) throws(VaultError) {
        self.library = library
        var db: OpaquePointer?
        let flags =
            CSQLITE_OPEN_READWRITE | CSQLITE_OPEN_NOMUTEX | CSQLITE_OPEN_PRIVATECACHE | CSQLITE_OPEN_EXRESCODE
            | CSQLITE_OPEN_NOFOLLOW
        let status = path.withCString { library.api.open_v2($0, &db, Int32(flags), nil) }
        if status != CSQLITE_OK {
            let message = db.map { cString(library.api.errmsg($0)) } ?? cString(library.api.errstr(status))
            // Resources must be released whether or not the open succeeded.
            if let db { _ = library.api.close(db) }
            throw Self.error(code: status, message: message, sql: nil)
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
            throw Self.error(code: library.api.extended_errcode(db), message: lastMessage, sql: sql)
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
            throw Self.error(code: library.api.extended_errcode(db), message: lastMessage, sql: sql)
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
    func transaction<R>(_ body: () throws(VaultError) -> R) throws(VaultError) -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if let db = handle, library.api.get_autocommit(db) == 0 {
                try? execute("ROLLBACK")
            }
            throw error
        }
    }

    /// Finalises every statement and closes the connection.
    func close() throws(VaultError) {
        guard let db = handle else { return }
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        let status = library.api.close(db)
        guard status == CSQLITE_OK else {
            throw Self.error(code: status, message: cString(library.api.errmsg(db)), sql: nil)
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

    /// Maps an extended result code to a ``VaultError``.
    static func error(code: Int32, message: String, sql: String?) -> VaultError {
        let primary = code & 0xFF
        let suffix = sql.map { " (in \($0.prefix(80)))" } ?? ""
        let text = "SQLite error \(code): \(message)\(suffix)"
        switch primary {
        case CSQLITE_NOTADB:
            return VaultError(.notAVault, "the file is not a SQLite database", sqliteExtendedCode: code)
        case CSQLITE_CORRUPT:
            return VaultError(.corrupt, "the vault file is damaged: \(text)", sqliteExtendedCode: code)
        case CSQLITE_BUSY, CSQLITE_LOCKED:
            return VaultError(.inUse, "the vault is locked by another connection: \(text)", sqliteExtendedCode: code)
        default:
            return VaultError(.io, text, sqliteExtendedCode: code)
        }
    }
}
