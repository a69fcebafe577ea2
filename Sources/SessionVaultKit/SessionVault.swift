import Logging
import Synchronization

/// A Telegram session sealed at rest: every value is encrypted with libsodium `crypto_secretbox`
/// under a data key that only the passphrase (or a recovery key) unwraps.
///
/// <!-- example: given authKeyBytes: UnsafeRawBufferPointer -->
/// ```swift
/// let passphrase = try PassphraseSource.readPassphrase()   // _FILE, env, systemd credential, or prompt
/// let vault = try await SessionVault.open(at: "bot", passphrase: passphrase)   // bot.session
/// var session = try await vault.load() ?? Session()
/// let key = try AuthKey(copying: authKeyBytes)   // the auth key your MTProto client negotiated
/// session.dataCenters = [DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.51", port: 443), authKey: key)]
/// try await vault.save(session)
/// try await vault.saveUpdateState(pts: 100, qts: 0, date: 1_700_000_000, seq: 1)   // hot path
/// try await vault.close()
/// ```
///
/// Opening authenticates everything (header, every record and the record set) before returning; a
/// failed open returns nothing partial. Every save is one durable transaction. One opener at a time:
/// a second gets ``VaultError/Code/inUse`` naming the holder's pid. When libsqlite3 cannot be loaded,
/// the vault is memory-only (``storageKind`` is ``StorageKind/memory``) unless the configuration
/// says ``Configuration/FallbackPolicy/fail``.
///
/// Its blocking work (SQLite, the sync of every commit, Argon2id) runs on SessionVault's own
/// threads, never on Swift's cooperative pool or on the caller's actor, and a call cancelled while
/// it waits for the vault returns without writing: see <doc:Threading>.
public actor SessionVault: SessionStorage {
    /// Where this vault keeps its records.
    public nonisolated let storageKind: StorageKind
    /// Where the vault was opened (never a secret): the absolute file path from ``VaultPath/resolve(_:)``,
    /// also when libsqlite3 could not be loaded and the vault fell back to memory-only storage (then
    /// nothing is written there: check ``storageKind``); for another backend, the `location` given to
    /// ``open(store:storageKind:location:passphrase:configuration:)`` (PostgreSQL: its `postgres://`
    /// URL, without a password). Nil for a vault opened without a path: ``inMemory(configuration:)``,
    /// `open(at: nil, …)`, a sealed session string.
    public nonisolated let path: String?

    let configuration: Configuration
    private var store: (any RecordStore)?
    private var sealer: RecordSealer?
    private var header: StoredHeader
    private var keyslots: [StoredKeyslot]
    private var current: Session
    private var storedRecordCount: UInt64
    /// How many peers the cache holds (kept current by the peer operations).
    var storedPeerCount: Int
    private var setSum: RecordSetSum
    /// Where the actor runs: a serial queue on the vault thread pool, so that SQLite, `fdatasync`
    /// and Argon2id never block Swift's cooperative pool or the caller's actor.
    private let executor: VaultExecutor
    /// Serialises operations across their suspension points (see ``exclusive(_:)``).
    nonisolated let gate = OperationGate()

    init(
        executor: VaultExecutor,
        storageKind: StorageKind,
        path: String?,
        configuration: Configuration,
        parts: sending Parts
    ) {
        self.executor = executor
        self.storageKind = storageKind
        self.path = path
        self.configuration = configuration
        self.store = parts.store
        self.sealer = parts.unlocked.sealer
        self.header = parts.unlocked.header
        self.keyslots = parts.unlocked.keyslots
        self.current = parts.unlocked.state.session
        self.storedRecordCount = parts.unlocked.state.recordCount
        self.storedPeerCount = parts.unlocked.state.peerCount
        self.setSum = parts.unlocked.state.setSum
    }

    /// The vault's own serial executor: its work runs on a SessionVault pool thread, never on
    /// Swift's cooperative pool or on the caller's actor (see <doc:Threading>).
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Everything an open vault owns, handed to the actor in one piece.
    struct Parts {
        var store: any RecordStore
        var unlocked: Unlocked
    }

    /// What ``assemble(records:sealer:)`` reads back from the records.
    struct LoadedState {
        var session: Session
        var recordCount: UInt64
        var setSum: RecordSetSum
        var peerCount = 0
    }

    /// How a keyslot is unlocked.
    enum Unlock {
        case passphrase(Passphrase)
        case recoveryKey(RecoveryKey)
    }

    // MARK: - Opening

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

    private static func open(
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

    private static func create(
        at path: String,
        passphrase: Passphrase,
        library: SQLiteLibrary,
        configuration: Configuration,
        executor: VaultExecutor,
        cipher: any RecordCipher = SecretBoxCipher(),
        magic: [UInt8] = StoredHeader.magic
    ) async throws(VaultError) -> SessionVault {
        // All key material first: nothing touches the disk until the slow, fallible work is done.
        let contents = try makeNewVaultContents(passphrase: passphrase, configuration: configuration, cipher: cipher, magic: magic)
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
    ) throws(VaultError) -> (transaction: RecordTransaction, unlocked: Unlocked) {
        try configuration.kdf.validate(allowingTestParameters: configuration.allowsInsecureKDFParametersForTesting)
        let dataKey = try SecretBytes.random(count: KeyDerivation.keyByteCount)
        let vaultID = Sodium.randomPublicBytes(count: 16)
        let slot = try Keyslots.makePassphraseSlot(
            number: 0,
            passphrase: passphrase,
            parameters: configuration.kdf,
            dataKey: dataKey
        )
        let keys = try KeySchedule(dataKey: dataKey, vaultID: vaultID)
        let sealer = try RecordSealer(keys: keys, cipher: cipher)
        var header = StoredHeader(magic: magic, formatVersion: StoredHeader.currentFormatVersion, vaultID: vaultID, mac: [])
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

    private static func createBenchmarkOnlyVault(
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

    private static func openExisting(
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
        guard header.formatVersion == StoredHeader.currentFormatVersion else {
            throw VaultError(
                .unsupportedFormatVersion,
                "the vault uses format version \(header.formatVersion); this build reads version "
                    + "\(StoredHeader.currentFormatVersion)"
            )
        }
        guard header.vaultID.count == 16, header.mac.count == 32 else {
            throw VaultError(.corrupt, "the header's vault id or MAC has the wrong length")
        }
        let keyslots = try await store.readKeyslots()
        guard !keyslots.isEmpty else { throw VaultError(.corrupt, "the vault has no keyslots") }
        let dataKey = try Keyslots.unlock(keyslots, with: unlock, configuration: configuration)
        let keys = try KeySchedule(dataKey: dataKey, vaultID: header.vaultID)
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

    private static func makeMemoryVault(
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

    private static let memoryLockWarning = Mutex(false)

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

    // MARK: - Loading and authenticating records

    static func assemble(records: [SealedRecord], sealer: RecordSealer) throws(VaultError) -> LoadedState {
        let keys = sealer.keys
        var session = Session()
        var dataCenters: [DataCenter.Identity: DataCenter] = [:]
        var stateCore: (pts: Int32, qts: Int32, date: Int64, seq: Int32)?
        var channels: [Int64: Int32] = [:]
        var manifest: (count: UInt64, sum: [UInt8])?
        var peers: [Int64: Peer] = [:]
        var peerIndexEntries: [Peer] = []
        var count: UInt64 = 0
        var sum = RecordSetSum()
        for record in records {
            let (kind, decoded) = try sealer.open(record)
            let expectedTag: [UInt8]
            switch decoded {
            case .manifest(let manifestCount, let manifestSum):
                manifest = (manifestCount, manifestSum)
                expectedTag = keys.tag(kind: .manifest, identity: [])
            case .dataCenter(let dataCenter):
                expectedTag = keys.tag(kind: .dataCenter, identity: RecordCodec.dataCenterIdentity(dataCenter.identity))
                dataCenters[dataCenter.identity] = dataCenter
            case .user(let user):
                expectedTag = keys.tag(kind: .user, identity: [])
                session.user = user
            case .updateState(let pts, let qts, let date, let seq):
                expectedTag = keys.tag(kind: .updateState, identity: [])
                stateCore = (pts, qts, date, seq)
            case .channelState(let id, let pts):
                expectedTag = keys.tag(kind: .channelState, identity: RecordCodec.channelIdentity(id))
                channels[id] = pts
            case .sessionExtras(let apiID, let isTestMode, let takeoutID):
                expectedTag = keys.tag(kind: .sessionExtras, identity: [])
                session.apiID = apiID
                session.isTestMode = isTestMode
                session.takeoutID = takeoutID
            case .peer(let peer):
                expectedTag = keys.tag(kind: .peer, identity: RecordCodec.peerIdentity(peer.id))
                peers[peer.id] = peer
            case .peerIndex(let snapshot):
                // The row's tag must be the index tag of one of the snapshot's own fields.
                let candidates = [
                    snapshot.username.map { RecordCodec.peerIndexIdentity(.username, $0) },
                    snapshot.phoneNumber.map { RecordCodec.peerIndexIdentity(.phoneNumber, $0) },
                ].compactMap { $0 }.map { keys.tag(kind: .peerIndex, identity: $0) }
                expectedTag = candidates.first { $0 == record.tag } ?? []
                peerIndexEntries.append(snapshot)
            }
            guard record.tag == expectedTag else {
                throw VaultError(.tampered, "a \(kind) record is stored under another record's tag", recordKind: kind)
            }
            if kind != .manifest {
                count += 1
                sum.add(keys.setElement(tag: record.tag))
            }
        }
        guard let manifest else {
            throw VaultError(.tampered, "the manifest record is missing", recordKind: .manifest)
        }
        guard manifest.count == count else {
            throw VaultError(
                .tampered,
                "the vault holds \(count) records but its manifest lists \(manifest.count): rows were deleted or inserted",
                recordKind: .manifest
            )
        }
        guard constantTimeEqual(manifest.sum, sum.bytes) else {
            throw VaultError(
                .tampered,
                "the set of records does not match the manifest: a row was replaced by another",
                recordKind: .manifest
            )
        }
        for snapshot in peerIndexEntries where peers[snapshot.id] != snapshot {
            throw VaultError(
                .tampered,
                "a peer lookup entry does not match the peer it names",
                recordKind: .peerIndex
            )
        }
        if let stateCore {
            session.updateState = UpdateState(
                pts: stateCore.pts,
                qts: stateCore.qts,
                date: stateCore.date,
                seq: stateCore.seq,
                channels: channels
            )
        } else if !channels.isEmpty {
            throw VaultError(.corrupt, "channel states exist without an update state", recordKind: .channelState)
        }
        session.dataCenters = dataCenters.keys.sorted().map { dataCenters[$0]! }
        return LoadedState(session: session, recordCount: count, setSum: sum, peerCount: peers.count)
    }

    static func sealManifest(sealer: RecordSealer, count: UInt64, sum: RecordSetSum) throws(VaultError) -> SealedRecord {
        try sealer.seal(kind: .manifest, identity: []) { (writer) throws(VaultError) in
            try RecordCodec.encodeManifest(count: count, sum: sum.bytes, into: &writer)
        }
    }

    // MARK: - SessionStorage

    /// The stored session, or nil when nothing was saved yet. Already authenticated at open.
    public func load() async throws(VaultError) -> Session? {
        try checkOpen()
        return current.isEmpty ? nil : current
    }

    /// Replaces the stored session in one durable transaction. Only records whose content changed
    /// are re-sealed and written; the manifest is rewritten only when records are added or removed.
    /// - Throws: ``VaultError/Code/invalidArgument`` for duplicate or invalid data centers.
    public func save(_ session: Session) async throws(VaultError) {
        try await exclusive { () throws(VaultError) in
            let sealer = try requireSealer()
            var changes = RecordChanges()
            let keys = sealer.keys

            // Data centers.
            var newByIdentity: [DataCenter.Identity: DataCenter] = [:]
            for dataCenter in session.dataCenters {
                guard newByIdentity.updateValue(dataCenter, forKey: dataCenter.identity) == nil else {
                    throw VaultError(
                        .invalidArgument,
                        "data center \(dataCenter.id)\(dataCenter.isMediaOnly ? " (media)" : "") appears twice"
                    )
                }
            }
            let oldByIdentity = Dictionary(uniqueKeysWithValues: current.dataCenters.map { ($0.identity, $0) })
            for (identity, dataCenter) in newByIdentity where oldByIdentity[identity] != dataCenter {
                changes.upsert(try sealDataCenter(dataCenter, sealer: sealer), isNew: oldByIdentity[identity] == nil)
            }
            for identity in oldByIdentity.keys where newByIdentity[identity] == nil {
                changes.delete(keys.tag(kind: .dataCenter, identity: RecordCodec.dataCenterIdentity(identity)))
            }

            // User.
            if session.user != current.user {
                if let user = session.user {
                    let record = try sealer.seal(kind: .user, identity: []) { (writer) throws(VaultError) in
                        try RecordCodec.encode(user, into: &writer)
                    }
                    changes.upsert(record, isNew: current.user == nil)
                } else {
                    changes.delete(keys.tag(kind: .user, identity: []))
                }
            }

            // Update state and channels.
            let oldState = current.updateState
            if let state = session.updateState {
                if oldState == nil || oldState!.pts != state.pts || oldState!.qts != state.qts
                    || oldState!.date != state.date || oldState!.seq != state.seq
                {
                    changes.upsert(
                        try sealUpdateState(pts: state.pts, qts: state.qts, date: state.date, seq: state.seq, sealer: sealer),
                        isNew: oldState == nil
                    )
                }
                let oldChannels = oldState?.channels ?? [:]
                for (channel, pts) in state.channels where oldChannels[channel] != pts {
                    changes.upsert(
                        try sealChannelState(channelID: channel, pts: pts, sealer: sealer),
                        isNew: oldChannels[channel] == nil
                    )
                }
                for channel in oldChannels.keys where state.channels[channel] == nil {
                    changes.delete(keys.tag(kind: .channelState, identity: RecordCodec.channelIdentity(channel)))
                }
            } else if let oldState {
                changes.delete(keys.tag(kind: .updateState, identity: []))
                for channel in oldState.channels.keys {
                    changes.delete(keys.tag(kind: .channelState, identity: RecordCodec.channelIdentity(channel)))
                }
            }

            // Extras.
            let hasExtras = session.apiID != nil || session.isTestMode || session.takeoutID != nil
            let hadExtras = current.apiID != nil || current.isTestMode || current.takeoutID != nil
            if hasExtras,
                session.apiID != current.apiID || session.isTestMode != current.isTestMode
                    || session.takeoutID != current.takeoutID
            {
                let record = try sealer.seal(kind: .sessionExtras, identity: []) { (writer) throws(VaultError) in
                    try RecordCodec.encodeSessionExtras(
                        apiID: session.apiID,
                        isTestMode: session.isTestMode,
                        takeoutID: session.takeoutID,
                        into: &writer
                    )
                }
                changes.upsert(record, isNew: !hadExtras)
            } else if !hasExtras && hadExtras {
                changes.delete(keys.tag(kind: .sessionExtras, identity: []))
            }

            var saved = session
            saved.dataCenters = newByIdentity.keys.sorted().map { newByIdentity[$0]! }
            try await commit(changes) { $0 = saved }
        }
    }

    /// Hot path: persists the account-wide update state (one sealed row, one transaction).
    public func saveUpdateState(pts: Int32, qts: Int32, date: Int64, seq: Int32) async throws(VaultError) {
        var batch = VaultBatch()
        batch.saveUpdateState(pts: pts, qts: qts, date: date, seq: seq)
        try await write(batch)
    }

    /// Hot path: persists one channel's pts (one sealed row, one transaction). When no update state
    /// was saved yet, an all-zero one is created in the same transaction.
    public func saveChannelState(channelID: Int64, pts: Int32) async throws(VaultError) {
        var batch = VaultBatch()
        batch.saveChannelState(channelID: channelID, pts: pts)
        try await write(batch)
    }

    /// Hot path: persists one data center entry (one sealed row, one transaction).
    public func saveDataCenter(_ dataCenter: DataCenter) async throws(VaultError) {
        var batch = VaultBatch()
        batch.saveDataCenter(dataCenter)
        try await write(batch)
    }

    /// Commits, checkpoints the WAL with truncation, releases the lock and wipes the keys. Closing
    /// twice is harmless; every other call after closing throws ``VaultError/Code/closed``.
    ///
    /// Closing is never cancelled: a call from a cancelled task still waits for the call in
    /// progress and closes.
    public func close() async throws(VaultError) {
        _ = await gate.enter(cancellable: false)
        defer { gate.leave() }
        guard let store else { return }
        self.store = nil
        wipeInMemoryState()
        try await store.close()
    }

    /// Removes the vault file, its `-wal`/`-shm`/`-journal` files and its lock file, and closes the vault.
    /// Like ``close()``, it is never cancelled (it is how failed imports clean up).
    public func delete() async throws(VaultError) {
        _ = await gate.enter(cancellable: false)
        defer { gate.leave() }
        guard let store else { throw VaultError(.closed, "the vault is closed") }
        self.store = nil
        wipeInMemoryState()
        try await store.destroy()
    }

    // MARK: - Inspection

    /// The format version of the open vault.
    public var formatVersion: UInt32 { header.formatVersion }

    /// The kinds of the vault's keyslots, in slot order (never their contents).
    public var keyslotKinds: [StoredKeyslot.Kind] { keyslots.compactMap(\.kind) }

    /// The Argon2id parameters of the first passphrase keyslot (nil for memory-only vaults).
    public var kdfParameters: KDFParameters? {
        keyslots.first { $0.kind == .passphrase }?.kdfParameters
    }

    /// How many sealed records the vault holds, besides its manifest.
    public var recordCount: Int { Int(storedRecordCount) }

    /// Whether every guarded allocation in this process is locked into RAM (`mlock` never failed).
    public nonisolated var isMemoryLocked: Bool { SecretBytes.lockFailureCount == 0 }

    /// Whether ``close()`` or ``delete()`` was called.
    public var isClosed: Bool { store == nil }

    // MARK: - Internals

    func checkOpen() throws(VaultError) {
        if store == nil { throw VaultError(.closed, "the vault is closed") }
    }

    func requireSealer() throws(VaultError) -> RecordSealer {
        guard store != nil, let sealer else { throw VaultError(.closed, "the vault is closed") }
        return sealer
    }

    func requireStore() throws(VaultError) -> any RecordStore {
        guard let store else { throw VaultError(.closed, "the vault is closed") }
        return store
    }

    private func wipeInMemoryState() {
        sealer = nil
        current = Session()
        storedRecordCount = 0
        setSum = RecordSetSum()
    }

    /// Applies `changes` (plus a new manifest when the record set changed) in one store transaction,
    /// then applies `update` to the in-memory session, in place. On failure nothing in memory changes.
    func commit(_ changes: RecordChanges, update: (inout Session) -> Void) async throws(VaultError) {
        guard !changes.isEmpty else {
            update(&current)
            return
        }
        let sealer = try requireSealer()
        var count = storedRecordCount
        var sum = setSum
        for tag in changes.addedTags {
            count += 1
            sum.add(sealer.keys.setElement(tag: tag))
        }
        for tag in changes.deletions {
            count -= 1
            sum.subtract(sealer.keys.setElement(tag: tag))
        }
        var upserts = changes.upserts
        if count != storedRecordCount || sum != setSum {
            upserts.append(try Self.sealManifest(sealer: sealer, count: count, sum: sum))
        }
        try await requireStore().commit(RecordTransaction(upserts: upserts, deletions: changes.deletions))
        update(&current)
        storedRecordCount = count
        setSum = sum
    }

    func replaceKeyMaterial(
        header: StoredHeader,
        keyslots: [StoredKeyslot],
        sealer: RecordSealer?,
        recordCount: UInt64?,
        setSum: RecordSetSum?
    ) {
        self.header = header
        self.keyslots = keyslots
        if let sealer { self.sealer = sealer }
        if let recordCount { self.storedRecordCount = recordCount }
        if let setSum { self.setSum = setSum }
    }

    var currentHeader: StoredHeader { header }
    var currentKeyslots: [StoredKeyslot] { keyslots }
    var currentSession: Session { current }

    func sealDataCenter(_ dataCenter: DataCenter, sealer: RecordSealer) throws(VaultError) -> SealedRecord {
        try sealer.seal(kind: .dataCenter, identity: RecordCodec.dataCenterIdentity(dataCenter.identity)) {
            (writer) throws(VaultError) in try RecordCodec.encode(dataCenter, into: &writer)
        }
    }

    func sealUpdateState(
        pts: Int32,
        qts: Int32,
        date: Int64,
        seq: Int32,
        sealer: RecordSealer
    ) throws(VaultError) -> SealedRecord {
        try sealer.seal(kind: .updateState, identity: []) { (writer) throws(VaultError) in
            try RecordCodec.encodeUpdateState(pts: pts, qts: qts, date: date, seq: seq, into: &writer)
        }
    }

    func sealChannelState(channelID: Int64, pts: Int32, sealer: RecordSealer) throws(VaultError) -> SealedRecord {
        try sealer.seal(kind: .channelState, identity: RecordCodec.channelIdentity(channelID)) {
            (writer) throws(VaultError) in try RecordCodec.encodeChannelState(id: channelID, pts: pts, into: &writer)
        }
    }

    /// Serialises operations: actor methods are re-entrant at `await`, and a save must not interleave
    /// with another save's diff and commit. Callers are served in order.
    ///
    /// A call whose task is cancelled before `body` starts (before the call, or while it waits for
    /// another call on this vault) throws ``VaultError/Code/inUse`` without reading or writing
    /// anything, and leaves the vault open and usable; see ``cancelledBeforeStarting``. Once `body`
    /// has started it runs to the end: a commit is never cut in half.
    func exclusive<R>(_ body: () async throws(VaultError) -> R) async throws(VaultError) -> R {
        guard !Task.isCancelled, await gate.enter(cancellable: true) else {
            throw Self.cancelledBeforeStarting
        }
        defer { gate.leave() }
        try checkOpen()
        return try await body()
    }

    /// What a call cancelled before it started throws. SessionVault's API throws only
    /// ``VaultError``, whose codes are a stable contract (CLI exit statuses, the agent protocol),
    /// so cancellation is reported with the code that already means "the vault was busy and the
    /// caller stopped waiting", as when ``Configuration/lockWait`` runs out: ``VaultError/Code/inUse``,
    /// with no holder pid.
    static var cancelledBeforeStarting: VaultError {
        VaultError(.inUse, "the call was cancelled before it started; nothing was read or written")
    }
}

/// Pending record changes of one save.
struct RecordChanges {
    var upserts: [SealedRecord] = []
    var addedTags: [[UInt8]] = []
    var deletions: [[UInt8]] = []

    var isEmpty: Bool { upserts.isEmpty && deletions.isEmpty }

    mutating func upsert(_ record: SealedRecord, isNew: Bool) {
        upserts.append(record)
        if isNew { addedTags.append(record.tag) }
    }

    mutating func delete(_ tag: [UInt8]) {
        deletions.append(tag)
    }
}
