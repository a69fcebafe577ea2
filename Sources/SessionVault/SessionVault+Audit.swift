extension SessionVault {
    /// `PRAGMA integrity_check` of the vault's SQLite file: `["ok"]` when healthy, else SQLite's list
    /// of problems. Nil for stores that are not SQLite (memory-only vaults).
    /// - Throws: ``VaultError/Code/closed`` after ``close()``; SQLite failures as ``VaultError/Code/io``.
    func integrityCheck() async throws(VaultError) -> [String]? {
        try await exclusive { () throws(VaultError) -> [String]? in
            guard let store = try requireStore() as? SQLiteRecordStore else { return nil }
            return try store.integrityCheck()
        }
    }

    /// The files on disk that may hold this vault's bytes: the database, its WAL and its journal.
    /// Empty for a memory-only vault.
    nonisolated var databaseFiles: [String] {
        guard storageKind == .sqlite, let path else { return [] }
        return [path] + SQLiteRecordStore.companionPaths(of: path)
    }

    /// The lock file of a file vault.
    nonisolated var lockFile: String? {
        guard storageKind == .sqlite, let path else { return nil }
        return SQLiteRecordStore.lockPath(of: path)
    }

    /// Searches the raw bytes of ``databaseFiles`` for anything that must never be there in
    /// plaintext: the session's secrets and identifiers (``PlaintextScan``), every 8-byte window of the
    /// data key, and the passphrase when one is given and at least 6 bytes long (shorter ones would
    /// match random ciphertext by chance).
    ///
    /// The search runs from guarded memory with `memcmp`; nothing secret is copied.
    /// - Returns: Descriptions of what was found, never the secret itself; empty when clean.
    func scanFilesForSecrets(passphrase: Passphrase?) async throws(VaultError) -> [String] {
        try await exclusive { () throws(VaultError) -> [String] in
            let sealer = try requireSealer()
            let files = databaseFiles
            var findings = try PlaintextScan.scan(files: files, session: currentSession)
            for file in files {
                guard let bytes = try PlaintextScan.readAll(file) else { continue }
                bytes.withUnsafeBytes { haystack in
                    let dataKeyHit = sealer.keys.dataKey.withUnsafeBytes { key in
                        (0...(key.count - 8)).first {
                            PlaintextScan.contains(haystack, UnsafeRawBufferPointer(rebasing: key[$0..<($0 + 8)]))
                        }
                    }
                    if let dataKeyHit { findings.append("data key (bytes \(dataKeyHit)-\(dataKeyHit + 7)) in \(file)") }
                    if let passphrase, passphrase.byteCount >= 6,
                        passphrase.secret.withUnsafeBytes({ PlaintextScan.contains(haystack, $0) })
                    {
                        findings.append("passphrase in \(file)")
                    }
                }
            }
            return findings
        }
    }
}
