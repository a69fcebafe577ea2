#if SESSION_VAULT_POSTGRES
public import SessionVaultKit

/// Copies a session (and its peer cache) from one open vault into a new, empty one — SQLite to
/// PostgreSQL, PostgreSQL to SQLite, or any other pair. The destination re-seals everything under its
/// own keys; nothing is shared between the two vaults but the plaintext passing through memory.
public enum SessionCopy {
    /// What a copy moved.
    public struct Result: Sendable {
        /// Records in the destination (besides its manifest).
        public var records: Int
        /// Peers copied.
        public var peers: Int
    }

    /// Copies `source` into `destination` (which should be empty), then re-reads the destination and
    /// checks that it holds exactly what the source holds.
    /// - Throws: ``VaultError/Code/alreadyExists`` when the destination already holds a session;
    ///   ``VaultError/Code/corrupt`` when the verification differs.
    public static func copy(from source: SessionVault, to destination: SessionVault) async throws(VaultError) -> Result {
        let destinationPeers = await destination.peerCount
        if try await destination.load() != nil || destinationPeers > 0 {
            throw VaultError(.alreadyExists, "the destination already holds a session; copy only into a new vault")
        }
        let session = try await source.load() ?? Session()
        let peers = try await source.allPeers()
        try await destination.save(session)
        if !peers.isEmpty { try await destination.upsertPeers(peers) }
        try await destination.authenticateStoredRecords()
        guard try await destination.load() ?? Session() == session, try await destination.allPeers() == peers else {
            throw VaultError(.corrupt, "the copy differs from its source after writing")
        }
        return Result(records: await destination.recordCount, peers: peers.count)
    }
}
#endif
