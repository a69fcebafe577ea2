extension SQLiteLibrary {
    /// Loads libsqlite3 (the vault's loader and its `SESSION_VAULT_SQLITE_LIBRARY` override) to read
    /// or write another library's SQLite session file, which has no memory-only fallback.
    /// - Parameter path: An explicit library path; nil uses ``defaultCandidates()``.
    /// - Throws: ``VaultError/Code/sqliteUnavailable`` naming what session files need.
    static func loadForSessionFiles(path: String? = nil) throws(VaultError) -> SQLiteLibrary {
        switch load(path: path) {
        case .success(let library): return library
        case .failure(let error):
            throw VaultError(
                .sqliteUnavailable,
                "SQLite session files cannot be read or written without libsqlite3: \(error.message)"
            )
        }
    }
}
