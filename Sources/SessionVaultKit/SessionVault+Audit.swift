extension SessionVault {
    /// `PRAGMA integrity_check` of the vault's SQLite file: `["ok"]` when healthy, else SQLite's list
    /// of problems. Nil for stores that are not SQLite (memory-only vaults).
    /// - Throws: ``VaultError/Code/closed`` after ``close()``; SQLite failures as ``VaultError/Code/io``.
    package func integrityCheck() async throws(VaultError) -> [String]? {
        try await exclusive { () throws(VaultError) -> [String]? in
            guard let store = try requireStore() as? SQLiteRecordStore else { return nil }
            return try store.integrityCheck()
        }
    }

    /// The files on disk that may hold this vault's bytes: the database, its WAL and its journal.
    /// Empty for a memory-only vault.
    package nonisolated var databaseFiles: [String] {
        guard storageKind == .sqlite, let path else { return [] }
        return [path] + SQLiteRecordStore.companionPaths(of: path)
    }

    /// The lock file of a file vault.
    package nonisolated var lockFile: String? {
        guard storageKind == .sqlite, let path else { return nil }
        return SQLiteRecordStore.lockPath(of: path)
    }

    /// Runs `body` with the current session and the data key while no other operation runs on the
    /// vault, so that the files on disk hold exactly that state: what the plaintext scan of
    /// `session-vault verify` (SessionVaultOperations) searches the raw bytes for.
    /// - Warning: The data key opens every record. `body` searches with it in place; it never copies
    ///   it out of guarded memory, and nothing derived from it is returned.
    package func withSessionAndDataKey<R: Sendable>(
        _ body: @Sendable (Session, SecretBytes) throws(VaultError) -> R
    ) async throws(VaultError) -> R {
        try await exclusive { () throws(VaultError) -> R in
            try body(currentSession, try requireSealer().keys.dataKey)
        }
    }
}
