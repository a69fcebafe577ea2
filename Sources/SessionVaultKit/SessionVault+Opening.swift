import Logging
import Synchronization

// Opening, creating and unlocking a vault: from a location to an authenticated, loaded actor.
extension SessionVault {
    /// Opens (or creates, per ``Configuration/mode``) the vault at `path`.
    ///
    /// - Parameters:
    ///   - path: A file path, relative to the current directory; `.session` is appended when it has no
    ///     extension. Nil opens a memory-only vault.
    ///   - passphrase: The passphrase that unlocks (or will lock) the vault. Ignored for memory-only vaults.
    ///   - configuration: Mode, KDF profile, fallback policy, durability and lock wait.
    /// - Returns: An open vault whose session is loaded and fully authenticated.
    /// - Throws: ``VaultError`` — ``VaultError/Code/wrongPassphrase``, ``VaultError/Code/tampered``,
    ///   ``VaultError/Code/notAVault``, ``VaultError/Code/corrupt``, ``VaultError/Code/inUse``,
    ///   ``VaultError/Code/kdfParametersOutOfBounds``, ``VaultError/Code/sqliteUnavailable``, …
    public static func open(
        at path: String?,
        passphrase: Passphrase,
        configuration: Configuration = Configuration()
    ) async throws(VaultError) -> SessionVault {
        try await open(location: path, unlock: .passphrase(passphrase), configuration: configuration)
    }

    /// Opens an existing vault with its recovery key instead of the passphrase.
    public static func open(
        at path: String,
        recoveryKey: RecoveryKey,
        configuration: Configuration = Configuration()
    ) async throws(VaultError) -> SessionVault {
        var configuration = configuration
        configuration.mode = .openExisting
        return try await open(location: path, unlock: .recoveryKey(recoveryKey), configuration: configuration)
    }

    /// A new, empty, memory-only vault. Nothing it holds reaches disk or outlives the process.
    public static func inMemory(configuration: Configuration = Configuration()) async throws(VaultError) -> SessionVault {
        try makeMemoryVault(path: nil, executor: try VaultExecutor(), configuration: configuration)
    }

    /// Hops onto the new vault's executor, then opens: the file lock, every read and Argon2id run
    /// there, never on the caller's actor (an `open` from the main actor leaves it free).
    static func open(
        location: String?,
        unlock: Unlock,
        configuration: Configuration
    ) async throws(VaultError) -> SessionVault {
        let executor = try VaultExecutor()
        return try await open(location: location, unlock: unlock, configuration: configuration, on: ExecutorHop(executor: executor))
    }

    static func open(
        location: String?,
        unlock: Unlock,
        configuration: Configuration,
        on hop: isolated ExecutorHop
    ) async throws(VaultError) -> SessionVault {
        let executor = hop.executor
        try Sodium.ensureInitialized()
        guard let location else {
            return try makeMemoryVault(path: nil, executor: executor, configuration: configuration)
        }
        let path = try VaultPath.resolve(location)
        let library: SQLiteLibrary
        switch SQLiteLibrary.load(path: configuration.sqliteLibraryPath) {
        case .success(let loaded):
            library = loaded
        case .failure(let error):
            guard configuration.fallback == .memory else { throw error }
            // The fallback is for sessions not on disk yet: never hide an existing vault behind an empty one.
            if try FileSystem.status(path) != nil {
                throw VaultError(.sqliteUnavailable, "\(path) exists but libsqlite3 cannot be loaded (\(error.message)); not opening it memory-only")
            }
            if configuration.mode == .openExisting { throw VaultError(.notFound, "\(path) does not exist") }
            configuration.logger.warning(
                "libsqlite3 is unavailable; the vault is memory-only and nothing will be written to disk",
                metadata: ["path": "\(path)", "reason": "\(error.message)"]
            )
            return try makeMemoryVault(path: path, executor: executor, configuration: configuration)
        }
        switch configuration.mode {
        case .create:
            guard case .passphrase(let passphrase) = unlock else {
                throw VaultError(.invalidArgument, "a vault is created with a passphrase, not a recovery key")
            }
            return try await create(at: path, passphrase: passphrase, library: library, configuration: configuration, executor: executor)
        case .openExisting:
            return try await openExisting(at: path, unlock: unlock, library: library, configuration: configuration, executor: executor)
        case .openOrCreate:
            if try FileSystem.status(path) != nil {
                return try await openExisting(at: path, unlock: unlock, library: library, configuration: configuration, executor: executor)
            }
            guard case .passphrase(let passphrase) = unlock else {
                throw VaultError(.notFound, "\(path) does not exist")
            }
            do throws(VaultError) {
                return try await create(at: path, passphrase: passphrase, library: library, configuration: configuration, executor: executor)
            } catch where error.code == .alreadyExists {
                // Another process created it between our check and our create.
                return try await openExisting(at: path, unlock: unlock, library: library, configuration: configuration, executor: executor)
            }
        }
    }

    static func create(
        at path: String,
        passphrase: Passphrase,
        library: SQLiteLibrary,
        configuration: Configuration,
        executor: VaultExecutor,
        cipher: any RecordCipher = SecretBoxCipher(),
        magic: [UInt8] = StoredHeader.magic
    ) async throws(VaultError) -> SessionVault {
        // All key material first: nothing touches the disk until the slow, fallible work is done.
        let contents = try await makeNewVaultContents(passphrase: passphrase, configuration: configuration, cipher: cipher, magic: magic)
        // The header, keyslot and manifest are written with the schema: the file appears complete or not at all.
        let store = try await SQLiteRecordStore.create(
            at: path,
            library: library,
            durability: configuration.durability,
            lockWait: configuration.lockWait,
            initial: contents.transaction
        )
        reportMemoryLocking(configuration.logger)
        return SessionVault(
            executor: executor,
            storageKind: .sqlite,
            path: path,
            configuration: configuration,
            parts: Parts(store: store, unlocked: contents.unlocked)
        )
    }

    /// A new, empty vault's key material and first transaction (header, passphrase keyslot, manifest).
    static func makeNewVaultContents(
        passphrase: Passphrase,
        configuration: Configuration,
        cipher: any RecordCipher = SecretBoxCipher(),
        magic: [UInt8] = StoredHeader.magic
    ) async throws(VaultError) -> (transaction: RecordTransaction, unlocked: Unlocked) {
        try configuration.kdf.validate(allowingTestParameters: configuration.allowsInsecureKDFParametersForTesting)
        let dataKey = try SecretBytes.random(count: KeyDerivation.keyByteCount)
        let vaultID = Sodium.randomPublicBytes(count: 16)
        let slot = try await Keyslots.makePassphraseSlot(
            number: 0,
            passphrase: passphrase,
            parameters: configuration.kdf,
            dataKey: dataKey
        )
        let version = try configuration.validatedWritingFormatVersion()
        let keys = try KeySchedule(dataKey: dataKey, vaultID: vaultID, formatVersion: version)
        let sealer = try RecordSealer(keys: keys, cipher: cipher)
        var header = StoredHeader(magic: magic, formatVersion: version, vaultID: vaultID, mac: [])
        header.mac = keys.headerMAC(header: header, keyslots: [slot])
        let manifest = try sealManifest(sealer: sealer, count: 0, sum: RecordSetSum())
        return (
            RecordTransaction(header: header, keyslots: [slot], upserts: [manifest]),
            Unlocked(
                header: header,
                keyslots: [slot],
                sealer: sealer,
                state: LoadedState(session: Session(), recordCount: 0, setSum: RecordSetSum())
            )
        )
    }

    /// Creates a benchmark-only vault at `path` whose records go through `cipher` instead of
    /// secretbox. Its header carries ``StoredHeader/benchmarkMagic``, so it can never be reopened and
    /// is never a real vault. Used by `session-vault bench` to measure what sealing costs.
    @_spi(Benchmark) public static func createBenchmarkOnlyVault(
        at path: String,
        passphrase: Passphrase,
        cipher: any RecordCipher,
        configuration: Configuration
    ) async throws(VaultError) -> SessionVault {
        try await createBenchmarkOnlyVault(
            at: path,
            passphrase: passphrase,
            cipher: cipher,
            configuration: configuration,
            on: ExecutorHop(executor: try VaultExecutor())
        )
    }

    static func createBenchmarkOnlyVault(
        at path: String,
        passphrase: Passphrase,
        cipher: any RecordCipher,
        configuration: Configuration,
        on hop: isolated ExecutorHop
    ) async throws(VaultError) -> SessionVault {
        try Sodium.ensureInitialized()
        let library = try SQLiteLibrary.load(path: configuration.sqliteLibraryPath).get()
        return try await create(
            at: try VaultPath.resolve(path),
            passphrase: passphrase,
            library: library,
            configuration: configuration,
            executor: hop.executor,
            cipher: cipher,
            magic: StoredHeader.benchmarkMagic
        )
    }

    static func openExisting(
        at path: String,
        unlock: Unlock,
        library: SQLiteLibrary,
        configuration: Configuration,
        executor: VaultExecutor
    ) async throws(VaultError) -> SessionVault {
        let store = try await SQLiteRecordStore.open(
            at: path,
            library: library,
            durability: configuration.durability,
            lockWait: configuration.lockWait
        )
        let unlocked: Unlocked
        do throws(VaultError) {
            unlocked = try await unlockAndLoad(store: store, unlock: unlock, configuration: configuration)
        } catch {
            try? store.close()
            throw error
        }
        if let warning = store.permissionsWarning {
            configuration.logger.warning("\(warning)")
        }
        return SessionVault(
            executor: executor,
            storageKind: .sqlite,
            path: path,
            configuration: configuration,
            parts: Parts(
                store: store,
                unlocked: unlocked
            )
        )
    }

    /// What a successful unlock yields.
    struct Unlocked {
        var header: StoredHeader
        var keyslots: [StoredKeyslot]
        var sealer: RecordSealer
        var state: LoadedState
    }

    /// Reads, unlocks and authenticates a vault from any ``RecordStore``. Used by every backend.
    static func unlockAndLoad(
        store: any RecordStore,
        unlock: Unlock,
        configuration: Configuration
    ) async throws(VaultError) -> Unlocked {
        guard let header = try await store.readHeader() else {
            throw VaultError(.corrupt, "the vault has no header row")
        }
        guard header.magic == StoredHeader.magic else {
            throw VaultError(.notAVault, "the header magic is not 'sessionvault'")
        }
        guard StoredHeader.readableFormatVersions.contains(header.formatVersion) else {
            throw VaultError(
                .unsupportedFormatVersion,
                "the vault uses format version \(header.formatVersion); this build reads versions "
                    + "\(StoredHeader.readableFormatVersions.lowerBound)–\(StoredHeader.readableFormatVersions.upperBound)"
            )
        }
        guard header.vaultID.count == 16, header.mac.count == 32 else {
            throw VaultError(.corrupt, "the header's vault id or MAC has the wrong length")
        }
        let keyslots = try await store.readKeyslots()
        guard !keyslots.isEmpty else { throw VaultError(.corrupt, "the vault has no keyslots") }
        let dataKey = try await Keyslots.unlock(keyslots, with: unlock, configuration: configuration)
        let keys = try KeySchedule(dataKey: dataKey, vaultID: header.vaultID, formatVersion: header.formatVersion)
        guard constantTimeEqual(keys.headerMAC(header: header, keyslots: keyslots), header.mac) else {
            throw VaultError(
                .tampered,
                "the vault header (format version, vault id or keyslot parameters) failed authentication"
            )
        }
        let sealer = try RecordSealer(keys: keys)
        try await checkRecordCount(store: store, sealer: sealer)
        let state = try assemble(records: try await store.readRecords(), sealer: sealer)
        reportMemoryLocking(configuration.logger)
        return Unlocked(header: header, keyslots: keyslots, sealer: sealer, state: state)
    }

    static func makeMemoryVault(
        path: String?,
        executor: VaultExecutor,
        configuration: Configuration
    ) throws(VaultError) -> SessionVault {
        try Sodium.ensureInitialized()
        let dataKey = try SecretBytes.random(count: KeyDerivation.keyByteCount)
        let vaultID = Sodium.randomPublicBytes(count: 16)
        let keys = try KeySchedule(dataKey: dataKey, vaultID: vaultID)
        let sealer = try RecordSealer(keys: keys)
        var header = StoredHeader(formatVersion: StoredHeader.currentFormatVersion, vaultID: vaultID, mac: [])
        header.mac = keys.headerMAC(header: header, keyslots: [])
        let store = MemoryRecordStore()
        try store.commit(
            RecordTransaction(
                header: header,
                keyslots: [],
                upserts: [try sealManifest(sealer: sealer, count: 0, sum: RecordSetSum())]
            )
        )
        return SessionVault(
            executor: executor,
            storageKind: .memory,
            path: path,
            configuration: configuration,
            parts: Parts(
                store: store,
                unlocked: Unlocked(header: header, keyslots: [], sealer: sealer, state: LoadedState(session: Session(), recordCount: 0, setSum: RecordSetSum()))
            )
        )
    }

    static let memoryLockWarning = Mutex(false)

    /// Logs once per process when guarded memory could not be locked into RAM.
    static func reportMemoryLocking(_ logger: Logger) {
        guard SecretBytes.lockFailureCount > 0 else { return }
        let first = memoryLockWarning.withLock { warned in
            defer { warned = true }
            return !warned
        }
        if first {
            logger.warning(
                "mlock failed for \(SecretBytes.lockFailureCount) guarded allocation(s): keys may reach swap (raise RLIMIT_MEMLOCK or disable swap)"
            )
        }
    }
}
