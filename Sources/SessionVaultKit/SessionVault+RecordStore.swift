extension SessionVault {
    /// Opens the vault kept in `store`, or initialises an empty store as a new vault, per
    /// ``Configuration/mode``. This is how a backend outside this module (PostgreSQL, or your own
    /// ``RecordStore``) becomes a vault: the sealing, keyslots and checks are exactly those of a file.
    ///
    /// The store must already be exclusively held by this opener (a file lock, an advisory lock…).
    /// On any failure the store is closed and nothing partial is returned.
    /// - Parameters:
    ///   - store: The backend; the vault owns it from now on and closes it in ``close()``.
    ///   - storageKind: What ``storageKind`` reports.
    ///   - location: A description of where the store lives (never containing a secret), or nil;
    ///     what ``path`` reports.
    ///   - passphrase: The passphrase that unlocks the vault (or locks the new one).
    ///   - configuration: Mode, KDF profile and the other options that apply to any backend.
    public static func open(
        store: sending any RecordStore,
        storageKind: StorageKind,
        location: String?,
        passphrase: Passphrase,
        configuration: Configuration = Configuration()
    ) async throws(VaultError) -> SessionVault {
        try await open(store: store, storageKind: storageKind, location: location, unlock: .passphrase(passphrase), configuration: configuration)
    }

    /// Opens the vault kept in `store` with its recovery key.
    public static func open(
        store: sending any RecordStore,
        storageKind: StorageKind,
        location: String?,
        recoveryKey: RecoveryKey,
        configuration: Configuration = Configuration()
    ) async throws(VaultError) -> SessionVault {
        var configuration = configuration
        configuration.mode = .openExisting
        return try await open(store: store, storageKind: storageKind, location: location, unlock: .recoveryKey(recoveryKey), configuration: configuration)
    }

    /// Hops onto the new vault's executor first, so that Argon2id and the store's reads run there
    /// and never on the caller's actor.
    static func open(
        store: sending any RecordStore,
        storageKind: StorageKind,
        location: String?,
        unlock: Unlock,
        configuration: Configuration
    ) async throws(VaultError) -> SessionVault {
        let executor: VaultExecutor
        do throws(VaultError) {
            executor = try VaultExecutor()
        } catch {
            try? await store.close()
            throw error
        }
        return try await open(
            store: store,
            storageKind: storageKind,
            location: location,
            unlock: unlock,
            configuration: configuration,
            on: ExecutorHop(executor: executor)
        )
    }

    private static func open(
        store: sending any RecordStore,
        storageKind: StorageKind,
        location: String?,
        unlock: Unlock,
        configuration: Configuration,
        on hop: isolated ExecutorHop
    ) async throws(VaultError) -> SessionVault {
        let executor = hop.executor
        try Sodium.ensureInitialized()
        let unlocked: Unlocked
        do throws(VaultError) {
            let isEmpty = try await store.readHeader() == nil
            switch (isEmpty, configuration.mode) {
            case (true, .openExisting):
                throw VaultError(.notFound, "\(location ?? "the store") holds no vault")
            case (false, .create):
                throw VaultError(.alreadyExists, "\(location ?? "the store") already holds a vault")
            case (true, _):
                guard case .passphrase(let passphrase) = unlock else {
                    throw VaultError(.invalidArgument, "a vault is created with a passphrase, not a recovery key")
                }
                let contents = try await makeNewVaultContents(passphrase: passphrase, configuration: configuration)
                try await store.commit(contents.transaction)
                unlocked = contents.unlocked
            case (false, _):
                unlocked = try await unlockAndLoad(store: store, unlock: unlock, configuration: configuration)
            }
        } catch {
            try? await store.close()
            throw error
        }
        return SessionVault(
            executor: executor,
            storageKind: storageKind,
            path: location,
            configuration: configuration,
            parts: Parts(store: store, unlocked: unlocked)
        )
    }
}
