internal import CSQLite

/// A prepared statement owned by its ``SQLiteConnection``, finalised when the connection closes.
///
/// Blobs are bound with `SQLITE_STATIC` (no copy into SQLite's heap, so an auth key is copied only
/// into the page SQLite writes): every caller binds, steps and resets within the lifetime of the
/// bound buffers, and ``reset()`` clears the bindings. Text is bound with `SQLITE_TRANSIENT`
/// (SQLite copies it; it is never secret).
final class SQLiteStatement {
    private var raw: OpaquePointer?
    unowned let connection: SQLiteConnection
    let sql: String
    private var api: csqlite_api { connection.library.api }

    /// `SQLITE_TRANSIENT`: SQLite makes its own copy of the bound value.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: csqlite_destructor.self)

    init(_ raw: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.raw = raw
        self.connection = connection
        self.sql = sql
    }

    func finalize() {
        if let raw { _ = api.finalize(raw) }
        raw = nil
    }

    /// Resets the statement and clears its bindings (every parameter is NULL again).
    func reset() {
        guard let raw else { return }
        _ = api.reset(raw)
        _ = api.clear_bindings(raw)
    }

    // MARK: - Binding (1-based)

    /// Binds a blob without copying it; an empty buffer binds a zero-length blob (`x''`), not NULL.
    /// The buffer must stay valid until the statement is reset.
    func bind(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws(VaultError) {
        let status = api.bind_blob(try requireRaw(), index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), nil)
        try check(status)
    }

    func bind(_ value: Int64, at index: Int32) throws(VaultError) {
        try check(api.bind_int64(try requireRaw(), index, value))
    }

    /// Binds an integer, or NULL when `value` is nil.
    func bind(_ value: Int64?, at index: Int32) throws(VaultError) {
        guard let value else {
            try check(api.bind_null(try requireRaw(), index))
            return
        }
        try bind(value, at: index)
    }

    /// Binds text (copied by SQLite), or NULL when `value` is nil.
    func bind(_ value: String?, at index: Int32) throws(VaultError) {
        let raw = try requireRaw()
        guard let value else {
            try check(api.bind_null(raw, index))
            return
        }
        try check(value.withCString { api.bind_text(raw, index, $0, -1, Self.transient) })
    }

    // MARK: - Stepping

    /// Steps once. Returns true when a row is available, false when done.
    func step() throws(VaultError) -> Bool {
        let status = api.step(try requireRaw())
        switch status {
        case CSQLITE_ROW: return true
        case CSQLITE_DONE: return false
        default:
            let error = connection.error(code: connection.lastExtendedCode, message: connection.lastMessage, sql: sql)
            reset()
            throw error
        }
    }

    /// Steps to completion (for writes), then resets.
    func run() throws(VaultError) {
        defer { reset() }
        while try step() {}
    }

    // MARK: - Columns (0-based)

    /// `SQLITE_INTEGER`, `SQLITE_FLOAT`, `SQLITE_TEXT`, `SQLITE_BLOB` or `SQLITE_NULL`.
    // MARK: - Columns (0-based)

    /// `SQLITE_INTEGER`, `SQLITE_FLOAT`, `SQLITE_TEXT`, `SQLITE_BLOB` or `SQLITE_NULL`.
    func columnType(_ column: Int32) -> Int32 { raw.map { api.column_type($0, column) } ?? CSQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { raw.map { api.column_int64($0, column) } ?? 0 }

    func double(_ column: Int32) -> Double { raw.map { api.column_double($0, column) } ?? 0 }

    func blob(_ column: Int32) -> [UInt8] {
        guard let raw else { return [] }
        let count = Int(api.column_bytes(raw, column))
        guard count > 0, let pointer = api.column_blob(raw, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// The value as text (an integer column is converted), or nil for NULL.
    func text(_ column: Int32) -> String? {
        guard let raw, api.column_type(raw, column) != CSQLITE_NULL, let pointer = api.column_text(raw, column) else {
            return nil
        }
        return String(cString: pointer)
    }

    /// Copies a blob column straight into guarded memory (never through a `[UInt8]`); nil for NULL,
    /// a value that is no blob, or a zero-length blob.
    func secretBlob(_ column: Int32) throws(VaultError) -> SecretBytes? {
        guard let raw, api.column_type(raw, column) == CSQLITE_BLOB else { return nil }
        let pointer = api.column_blob(raw, column)
        let count = Int(api.column_bytes(raw, column))
        guard count > 0, let pointer else { return nil }
        return try SecretBytes(copying: UnsafeRawBufferPointer(start: pointer, count: count))
    }

    private func requireRaw() throws(VaultError) -> OpaquePointer {
        guard let raw else { throw VaultError(.closed, "the statement was finalised") }
        return raw
    }

    private func check(_ status: Int32) throws(VaultError) {
        if status != CSQLITE_OK {
            throw connection.error(code: status, message: connection.lastMessage, sql: sql)
        }
    }
}
