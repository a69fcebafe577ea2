extension SessionVault {
    /// Benchmark only: commits the stored update-state record again, byte for byte, `commits` times
    /// straight through the vault's store, and returns commits per second.
    ///
    /// Each commit is one store transaction (for a durable vault, one sync) of one unchanged sealed
    /// row: no sealing, no batch, no diff and no executor hop per commit, since the loop runs on
    /// the vault's executor. It measures the storage layer alone, which `session-vault bench` sets
    /// between the raw `fdatasync` of a page and the vault's durable save (BENCHMARKS.md). Writing
    /// the same sealed bytes again encrypts nothing and changes nothing readable.
    ///
    /// - Throws: ``VaultError/Code/invalidArgument`` when the vault has no update state yet, or
    ///   `commits` is not positive; any error of the store's commit.
    @_spi(Benchmark) public func storageCommitRate(commits: Int) async throws(VaultError) -> Double {
        guard commits > 0 else { throw VaultError(.invalidArgument, "the number of commits must be positive") }
        return try await exclusive { () throws(VaultError) in
            let sealer = try requireSealer()
            let store = try requireStore()
            let tag = sealer.keys.tag(kind: .updateState, identity: [])
            guard let record = try await store.readRecord(tag: tag) else {
                throw VaultError(.invalidArgument, "the vault has no update state to commit again")
            }
            let transaction = RecordTransaction(upserts: [record], deletions: [])
            let start = ContinuousClock.now
            for _ in 0..<commits {
                try await store.commit(transaction)
            }
            let elapsed = (ContinuousClock.now - start).components
            return Double(commits) / (Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18)
        }
    }
}
