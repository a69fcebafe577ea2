internal import CSQLite

/// A prepared statement of a ``ForeignDatabase``.
///
/// Text is bound with `SQLITE_TRANSIENT` (SQLite copies it; it is never secret). Blobs are bound
/// with `SQLITE_STATIC`: the caller keeps the buffer alive until the statement is stepped and reset,
/// so an auth key is copied only into the page that SQLite writes to the exported file.
final class ForeignStatement {
    private var raw: OpaquePointer?
    private unowned let database: ForeignDatabase
    let sql: String
    private var api: csqlite_api { database.library.api }

    /// `SQLITE_TRANSIENT`: SQLite makes its own copy of the bound value.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: csqlite_destructor.self)

    init(_ raw: OpaquePointer, database: ForeignDatabase, sql: String) {
        self.raw = raw
        self.database = database
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

    func bind(_ value: Int64, at index: Int32) throws(VaultError) {
        try check(api.bind_int64(try requireRaw(), index, value))
    }

    /// Binds text, or NULL when `value` is nil.
    func bind(_ value: String?, at index: Int32) throws(VaultError) {
        let raw = try requireRaw()
        guard let value else {
            try check(api.bind_null(raw, index))
            return
        }
        let status = value.withCString { api.bind_text(raw, index, $0, -1, Self.transient) }
        try check(status)
    }

    /// Binds an integer, or NULL when `value` is nil.
    func bind(_ value: Int64?, at index: Int32) throws(VaultError) {
        guard let value else {
            try check(api.bind_null(try requireRaw(), index))
            return
        }
        try bind(value, at: index)
    }

    /// Binds a blob without copying it; an empty buffer binds a zero-length blob (`x''`), not NULL.
    /// The buffer must stay valid until the statement is reset.
    func bindBlob(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws(VaultError) {
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)
        try check(api.bind_blob(try requireRaw(), index, base, Int32(bytes.count), nil))
    }

    // MARK: - Stepping

    /// Steps once: true when a row is available, false when done.
    func step() throws(VaultError) -> Bool {
        let status = api.step(try requireRaw())
        switch status {
        case CSQLITE_ROW: return true
        case CSQLITE_DONE: return false
        default:
            let error = ForeignDatabase.error(
                code: database.lastExtendedCode,
                message: database.lastMessage,
                sql: sql,
                label: database.label
            )
            reset()
            throw error
        }
    }

    /// Steps to completion (a write), then resets.
    func run() throws(VaultError) {
        defer { reset() }
        while try step() {}
    }

    // MARK: - Columns (0-based)

    /// `SQLITE_INTEGER`, `SQLITE_FLOAT`, `SQLITE_TEXT`, `SQLITE_BLOB` or `SQLITE_NULL`.
    func columnType(_ column: Int32) -> Int32 { raw.map { api.column_type($0, column) } ?? CSQLITE_NULL }

    func isNull(_ column: Int32) -> Bool { columnType(column) == CSQLITE_NULL }

    func isBlob(_ column: Int32) -> Bool { columnType(column) == CSQLITE_BLOB }

    /// The value as an integer, or nil for NULL. A REAL is rounded down (Telethon stores dates as REAL);
    /// text that is not an integer is refused.
    func integer(_ column: Int32, name: String) throws(VaultError) -> Int64? {
        switch columnType(column) {
        case CSQLITE_NULL:
            return nil
        case CSQLITE_INTEGER:
            return api.column_int64(raw, column)
        case CSQLITE_FLOAT:
            let value = api.column_double(raw, column)
            guard value.isFinite, value >= -9.2e18, value <= 9.2e18 else {
                throw VaultError(.corrupt, "the \(database.label) has a non-finite or huge \(name)")
            }
            return Int64(value.rounded(.down))
        case CSQLITE_TEXT:
            if let text = text(column), let value = Int64(text) { return value }
            throw VaultError(.corrupt, "the \(database.label) has text where \(name) should be an integer")
        default:
            throw VaultError(.corrupt, "the \(database.label) has a blob where \(name) should be an integer")
        }
    }

    /// The value as text (an integer column is converted), or nil for NULL.
    func text(_ column: Int32) -> String? {
        guard let raw, api.column_type(raw, column) != CSQLITE_NULL,
            let pointer = api.column_text(raw, column)
        else { return nil }
        return String(cString: pointer)
    }

    /// The length of a blob column, or nil for NULL (a zero-length blob gives 0).
    func blobLength(_ column: Int32) -> Int? {
        guard let raw, api.column_type(raw, column) != CSQLITE_NULL else { return nil }
        return Int(api.column_bytes(raw, column))
    }

    /// Copies a blob column straight into guarded memory; nil for NULL or a zero-length blob.
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
            throw ForeignDatabase.error(code: status, message: database.lastMessage, sql: sql, label: database.label)
        }
    }
}
