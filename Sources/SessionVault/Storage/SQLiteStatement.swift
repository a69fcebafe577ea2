internal import CSQLite

/// A prepared statement owned by its ``SQLiteConnection``, finalised when the connection closes.
///
/// Values are bound with `SQLITE_STATIC` (no copy into SQLite's heap): every caller binds, steps and
/// resets within the lifetime of the bound buffers, and ``reset()`` clears the bindings.
final class SQLiteStatement {
    private var raw: OpaquePointer?
    private unowned let connection: SQLiteConnection
    let sql: String
    private var api: csqlite_api { connection.library.api }

    init(_ raw: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.raw = raw
        self.connection = connection
        self.sql = sql
    }

    func finalize() {
        if let raw { _ = api.finalize(raw) }
        raw = nil
    }

    /// Resets the statement and clears its bindings.
    func reset() {
        guard let raw else { return }
        _ = api.reset(raw)
        _ = api.clear_bindings(raw)
    }

    /// Binds a blob (1-based index). The buffer must stay valid until the statement is reset.
    func bind(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws(VaultError) {
        let status = api.bind_blob(try requireRaw(), index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), nil)
        try check(status)
    }

    func bind(_ value: Int64, at index: Int32) throws(VaultError) {
        try check(api.bind_int64(try requireRaw(), index, value))
    }

    /// Steps once. Returns true when a row is available, false when done.
    func step() throws(VaultError) -> Bool {
        let status = api.step(try requireRaw())
        switch status {
        case CSQLITE_ROW: return true
        case CSQLITE_DONE: return false
        default:
            let error = SQLiteConnection.error(code: connection.lastExtendedCode, message: connection.lastMessage, sql: sql)
            reset()
            throw error
        }
    }

    /// Steps to completion (for writes), then resets.
    func run() throws(VaultError) {
        defer { reset() }
        while try step() {}
    }

    func columnType(_ column: Int32) -> Int32 { raw.map { api.column_type($0, column) } ?? CSQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { raw.map { api.column_int64($0, column) } ?? 0 }

    func double(_ column: Int32) -> Double { raw.map { api.column_double($0, column) } ?? 0 }

    func blob(_ column: Int32) -> [UInt8] {
        guard let raw else { return [] }
        let count = Int(api.column_bytes(raw, column))
        guard count > 0, let pointer = api.column_blob(raw, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func text(_ column: Int32) -> String? {
        guard let raw, let pointer = api.column_text(raw, column) else { return nil }
        return String(cString: pointer)
    }

    private func requireRaw() throws(VaultError) -> OpaquePointer {
        guard let raw else { throw VaultError(.closed, "the statement was finalised") }
        return raw
    }

    private func check(_ status: Int32) throws(VaultError) {
        if status != CSQLITE_OK {
            throw SQLiteConnection.error(code: status, message: connection.lastMessage, sql: sql)
        }
    }
}
