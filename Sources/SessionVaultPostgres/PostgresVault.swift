import Logging
public import SessionVault

/// Opens sessions kept in PostgreSQL: ``SessionVault`` on a ``PostgresRecordStore``.
///
/// ```swift
/// let location = try PostgresLocation(parsing: "postgres://bots@db.internal/sessions?session=bot-17")
/// let vault = try await PostgresVault.open(location, passphrase: passphrase)
/// ```
/// A second opener anywhere gets ``VaultError/Code/inUse`` naming the holder; a crashed holder's
/// lock goes away with its connection.
public enum PostgresVault {
    /// Opens (or creates, per ``SessionVault/Configuration/mode``) the session at `location`.
    public static func open(
        _ location: PostgresLocation,
        passphrase: Passphrase,
        configuration: SessionVault.Configuration = SessionVault.Configuration()
    ) async throws(VaultError) -> SessionVault {
        let store = try await PostgresRecordStore.connect(to: location, lockWait: configuration.lockWait, logger: configuration.logger)
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
        let store = try await PostgresRecordStore.connect(to: location, lockWait: configuration.lockWait, logger: configuration.logger)
        return try await SessionVault.open(
            store: store,
            storageKind: .postgres,
            location: location.description,
            recoveryKey: recoveryKey,
            configuration: configuration
        )
    }
}
