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
    var store: (any RecordStore)?
    var sealer: RecordSealer?
    var header: StoredHeader
    var keyslots: [StoredKeyslot]
    var current: Session
    var storedRecordCount: UInt64
    /// How many peers the cache holds (kept current by the peer operations).
    var storedPeerCount: Int
    var setSum: RecordSetSum
    /// Where the actor runs: a serial queue on the vault thread pool, so that SQLite, `fdatasync`
    /// and Argon2id never block Swift's cooperative pool or the caller's actor.
    let executor: VaultExecutor
    /// Feeds ``executor``'s queue with the jobs of tasks that prefer it (``taskExecutor``).
    private nonisolated let ownTaskExecutor: VaultTaskExecutor
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
        self.ownTaskExecutor = VaultTaskExecutor(feeding: executor)
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

    /// A task executor on the vault's own queue, for code that calls the vault many times in a row
    /// (a bot's update loop): run it with `Task(executorPreference: vault.taskExecutor) { … }` or
    /// inside `withTaskExecutorPreference(vault.taskExecutor) { … }`.
    ///
    /// Such code runs on a SessionVault pool thread, one job at a time between the vault's own jobs,
    /// and each call to the vault and back stays on that queue instead of waking a vault thread and
    /// then a cooperative-pool thread (`session-vault bench` measures durable saves both ways:
    /// "durable save on the vault's executor"). The code never runs on Swift's cooperative pool, so
    /// nothing it waits for blocks that pool either; but while it runs, the vault's own calls wait
    /// for it, so keep long computations elsewhere. See <doc:Threading>.
    public nonisolated var taskExecutor: any TaskExecutor { ownTaskExecutor }

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
        var batch = VaultBatch()
        var seen = Set<DataCenter.Identity>()
        for dataCenter in session.dataCenters {
            guard seen.insert(dataCenter.identity).inserted else {
                throw VaultError(
                    .invalidArgument,
                    "data center \(dataCenter.id)\(dataCenter.isMediaOnly ? " (media)" : "") appears twice"
                )
            }
            batch.saveDataCenter(dataCenter)
        }
        batch.keepOnlySavedDataCenters()
        batch.setUser(session.user)
        if let state = session.updateState {
            batch.saveUpdateState(pts: state.pts, qts: state.qts, date: state.date, seq: state.seq)
            for channel in state.channels.keys.sorted() { batch.saveChannelState(channelID: channel, pts: state.channels[channel]!) }
            batch.keepOnlySavedChannelStates()
        } else {
            batch.removeUpdateState()
        }
        batch.setAPIID(session.apiID)
        batch.setTestMode(session.isTestMode)
        batch.setTakeoutID(session.takeoutID)
        try await write(batch)
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
