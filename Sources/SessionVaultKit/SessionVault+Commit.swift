import Logging
import Synchronization

// The one write path under every public write: sealing helpers, the manifest update, and the
// commit that changes the store and the in-memory session together.
extension SessionVault {
    func checkOpen() throws(VaultError) {
        guard let store else { throw VaultError(.closed, "the vault is closed") }
        try store.checkUsable()
    }

    func requireSealer() throws(VaultError) -> RecordSealer {
        guard let store, let sealer else { throw VaultError(.closed, "the vault is closed") }
        try store.checkUsable()
        return sealer
    }

    func requireStore() throws(VaultError) -> any RecordStore {
        guard let store else { throw VaultError(.closed, "the vault is closed") }
        return store
    }

    func wipeInMemoryState() {
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
