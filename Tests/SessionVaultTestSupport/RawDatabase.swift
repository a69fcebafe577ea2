@_spi(Testing) @testable package import SessionVaultKit

/// Runs raw SQL against a vault file with the same `dlopen`'d SQLite the library uses (tampering,
/// looking at what is stored).
package func withRawDatabase<R>(_ path: String, _ body: (SQLiteConnection) throws -> R) throws -> R {
    let library = try SQLiteLibrary.load().get()
    let connection = try SQLiteConnection(path: path, library: library)
    defer { try? connection.close() }
    return try body(connection)
}
