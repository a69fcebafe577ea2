#if SESSION_VAULT_POSTGRES
import Logging
public import SessionVaultKit

/// Opens sessions kept in PostgreSQL: ``SessionVault`` on a ``PostgresRecordStore``.
///
/// ```swift
/// let location = try PostgresLocation(parsing: "postgres://bots@db.internal/sessions?session=bot-17")
/// let vault = try await PostgresVault.open(location, passphrase: try PassphraseSource.readPassphrase())
/// ```
/// A second opener anywhere gets ``VaultError/Code/inUse`` naming the holder; a crashed holder's
/// lease expires on its own (after at most `lease_seconds`, docs/LEASES.md). Sessions opened in one
/// process share one pool of at most `pool_size` connections per server and database. A holder that
/// loses its lease is told through ``SessionVault/Configuration/onLeaseLost`` and gets
/// ``VaultError/Code/leaseLost`` from every later call:
///
/// ```swift
/// var configuration = SessionVault.Configuration()
/// configuration.onLeaseLost = { error in
///     print("lost the session: \(error.message)")   // disconnect from Telegram here
/// }
/// let location = try PostgresLocation(parsing: "postgres://bots@db.internal/sessions?session=bot-17&pool_size=20")
/// let vault = try await PostgresVault.open(location, passphrase: try PassphraseSource.readPassphrase(), configuration: configuration)
/// ```
public enum PostgresVault {
    /// Opens (or creates, per ``SessionVault/Configuration/mode``) the session at `location`.
    public static func open(
        _ location: PostgresLocation,
        passphrase: Passphrase,
        configuration: SessionVault.Configuration = SessionVault.Configuration()
    ) async throws(VaultError) -> SessionVault {
        let store = try await PostgresRecordStore.connect(
            to: location, lockWait: configuration.lockWait, logger: configuration.logger, onLeaseLost: configuration.onLeaseLost)
        return try await SessionVault.open(
            store: store,
            storageKind: .postgres,
            location: location.description,
            passphrase: passphrase,
            configuration: configuration
        )
    }

    /// Opens the session at `location` with its recovery key.
    public static func open(
        _ location: PostgresLocation,
        recoveryKey: RecoveryKey,
        configuration: SessionVault.Configuration = SessionVault.Configuration()
    ) async throws(VaultError) -> SessionVault {
        let store = try await PostgresRecordStore.connect(
            to: location, lockWait: configuration.lockWait, logger: configuration.logger, onLeaseLost: configuration.onLeaseLost)
        return try await SessionVault.open(
            store: store,
            storageKind: .postgres,
            location: location.description,
            recoveryKey: recoveryKey,
            configuration: configuration
        )
    }
}

extension PostgresVault {
    /// Imports a session read from another client's format into a new session at `location`, then
    /// re-reads and compares everything; on any failure the new session is deleted again. (The
    /// PostgreSQL counterpart of `SessionVault.createByImporting`, whose temporary-file-and-rename
    /// step has no meaning in a database: the session only becomes visible to openers once this
    /// call's lock is released.)
    /// - Returns: The location's description (no password).
    public static func createByImporting(
        _ imported: ImportedSession,
        at location: PostgresLocation,
        passphrase: Passphrase,
        configuration: SessionVault.Configuration = SessionVault.Configuration()
    ) async throws(VaultError) -> String {
        var configuration = configuration
        configuration.mode = .create
        let vault = try await open(location, passphrase: passphrase, configuration: configuration)
        do throws(VaultError) {
            try await vault.save(imported.session)
            if !imported.peers.isEmpty { try await vault.upsertPeers(imported.peers) }
            try await vault.authenticateStoredRecords()
            let stored = try await vault.load() ?? Session()
            let peers = try await vault.allPeers()
            let expectedPeers = Dictionary(imported.peers.map { ($0.id, $0) }, uniquingKeysWith: { $1 }).values
                .sorted { $0.id < $1.id }
            guard stored == imported.session, peers == expectedPeers else {
                throw VaultError(.corrupt, "the imported session differs from its source after writing")
            }
            try await vault.close()
        } catch {
            try? await vault.delete()
            throw error
        }
        return location.description
    }
}
#endif
