/// Changes that ``SessionVault/write(_:)-(VaultBatch)`` commits together: one transaction, one sync.
///
/// Shaped for how a Telegram update arrives: it may move the account's update state and some
/// channels' pts, bring new peers, and (rarely) change a data center or the logged-in user.
///
/// <!-- example: given vault: SessionVault -->
/// ```swift
/// try await vault.write { batch in
///     batch.saveUpdateState(pts: 1_024, qts: 0, date: 1_700_000_100, seq: 12)
///     batch.saveChannelState(channelID: 1_234_567_890, pts: 77)
///     batch.upsertPeers([Peer(id: 93_372_553, accessHash: 1, kind: .bot, username: "botfather")])
/// }
/// ```
///
/// A later entry for the same data center, channel or peer replaces an earlier one in the batch.
/// Saving and deleting the same channel or data center in one batch is
/// ``VaultError/Code/invalidArgument``.
public struct VaultBatch: Sendable {
    var dataCenterUpserts: [DataCenter.Identity: DataCenter] = [:]
    var dataCenterDeletions: Set<DataCenter.Identity> = []
    var keepsOnlySavedDataCenters = false
    var user: LoggedInUser??
    var updateState: (pts: Int32, qts: Int32, date: Int64, seq: Int32)?
    var removesUpdateState = false
    var channelUpserts: [Int64: Int32] = [:]
    var channelOrder: [Int64] = []
    var channelDeletions: Set<Int64> = []
    var keepsOnlySavedChannelStates = false
    var peers: [Peer] = []
    var apiID: Int32??
    var isTestMode: Bool?
    var takeoutID: Int64??

    /// An empty batch.
    public init() {}

    /// Whether the batch holds no change at all.
    public var isEmpty: Bool {
        dataCenterUpserts.isEmpty && dataCenterDeletions.isEmpty && !keepsOnlySavedDataCenters && user == nil
            && updateState == nil && !removesUpdateState && channelUpserts.isEmpty && channelDeletions.isEmpty && !keepsOnlySavedChannelStates && peers.isEmpty
            && apiID == nil && isTestMode == nil && takeoutID == nil
    }

    /// Inserts or replaces the data center with this id and media-only flag (auth keys included).
    public mutating func saveDataCenter(_ dataCenter: DataCenter) {
        dataCenterUpserts[dataCenter.identity] = dataCenter
    }

    /// Removes the data center with this id (its main entry unless `mediaOnly`); nothing when absent.
    public mutating func deleteDataCenter(id: Int32, mediaOnly: Bool = false) {
        dataCenterDeletions.insert(DataCenter.Identity(id: id, isMediaOnly: mediaOnly))
    }

    /// Removes every data center this batch does not save (Telethon 1.x keeps exactly one).
    public mutating func keepOnlySavedDataCenters() {
        keepsOnlySavedDataCenters = true
    }

    /// Sets the logged-in user, or removes it with nil.
    public mutating func setUser(_ user: LoggedInUser?) {
        self.user = .some(user)
    }

    /// Sets the account-wide update state (its channels are kept).
    public mutating func saveUpdateState(pts: Int32, qts: Int32, date: Int64, seq: Int32) {
        updateState = (pts, qts, date, seq)
    }

    /// Removes the account-wide update state and every channel's pts (a client that starts its update
    /// sequence over). Saving a state or a channel in the same batch is ``VaultError/Code/invalidArgument``.
    public mutating func removeUpdateState() {
        removesUpdateState = true
    }

    /// Sets one channel's pts. When the vault has no update state yet and the batch sets none, an
    /// all-zero account state is created in the same transaction.
    public mutating func saveChannelState(channelID: Int64, pts: Int32) {
        if channelUpserts.updateValue(pts, forKey: channelID) == nil { channelOrder.append(channelID) }
    }

    /// Forgets every channel's pts that this batch does not save (``SessionVault/save(_:)`` uses it).
    public mutating func keepOnlySavedChannelStates() {
        keepsOnlySavedChannelStates = true
    }

    /// Forgets one channel's pts; nothing when it is not stored.
    public mutating func deleteChannelState(channelID: Int64) {
        channelDeletions.insert(channelID)
    }

    /// Inserts or replaces cached peers (see ``SessionVault/upsertPeers(_:)``).
    public mutating func upsertPeers(_ peers: [Peer]) {
        self.peers.append(contentsOf: peers)
    }

    /// Sets or removes the application's api id.
    public mutating func setAPIID(_ apiID: Int32?) {
        self.apiID = .some(apiID)
    }

    /// Sets whether the session belongs to Telegram's test servers.
    public mutating func setTestMode(_ isTestMode: Bool) {
        self.isTestMode = isTestMode
    }

    /// Sets or removes the takeout session id.
    public mutating func setTakeoutID(_ takeoutID: Int64?) {
        self.takeoutID = .some(takeoutID)
    }
}

extension SessionVault {
    /// Commits every change that `build` puts in the batch in one durable transaction: one commit,
    /// one sync, one manifest update. Nothing is written when `build` throws or adds nothing.
    ///
    /// - Throws: ``VaultError/Code/invalidArgument`` for invalid values or a channel or data center
    ///   both saved and deleted; any error of ``save(_:)``. A failed write changes nothing.
    public func write(_ build: (inout VaultBatch) throws(VaultError) -> Void) async throws(VaultError) {
        var batch = VaultBatch()
        try build(&batch)
        try await write(batch)
    }

    /// Commits `batch` in one durable transaction (usually built in place: `write { batch in … }`).
    public func write(_ batch: VaultBatch) async throws(VaultError) {
        guard !batch.isEmpty else { return try checkOpen() }
        try Self.validate(batch)
        try await exclusive { () throws(VaultError) in
            let sealer = try requireSealer()
            let keys = sealer.keys
            let session = currentSession
            var changes = RecordChanges()

            // Data centers (skipped by the batches of the update hot path, which touch none).
            var deletedDataCenters = batch.dataCenterDeletions
            if !batch.dataCenterUpserts.isEmpty || !batch.dataCenterDeletions.isEmpty || batch.keepsOnlySavedDataCenters {
                if batch.keepsOnlySavedDataCenters {
                    for dataCenter in session.dataCenters where batch.dataCenterUpserts[dataCenter.identity] == nil {
                        deletedDataCenters.insert(dataCenter.identity)
                    }
                }
                let stored = Dictionary(uniqueKeysWithValues: session.dataCenters.map { ($0.identity, $0) })
                for identity in batch.dataCenterUpserts.keys.sorted() {
                    let dataCenter = batch.dataCenterUpserts[identity]!
                    guard stored[identity] != dataCenter else { continue }
                    changes.upsert(try sealDataCenter(dataCenter, sealer: sealer), isNew: stored[identity] == nil)
                }
                deletedDataCenters = deletedDataCenters.filter { stored[$0] != nil }
                for identity in deletedDataCenters.sorted() {
                    changes.delete(keys.tag(kind: .dataCenter, identity: RecordCodec.dataCenterIdentity(identity)))
                }
            }

            // User.
            if let user = batch.user, user != session.user {
                if let user {
                    let record = try sealer.seal(kind: .user, identity: []) { (writer) throws(VaultError) in
                        try RecordCodec.encode(user, into: &writer)
                    }
                    changes.upsert(record, isNew: session.user == nil)
                } else {
                    changes.delete(keys.tag(kind: .user, identity: []))
                }
            }

            // Update state and channels.
            let oldState = session.updateState
            if batch.removesUpdateState, let oldState {
                changes.delete(keys.tag(kind: .updateState, identity: []))
                for channel in oldState.channels.keys.sorted() {
                    changes.delete(keys.tag(kind: .channelState, identity: RecordCodec.channelIdentity(channel)))
                }
            }
            var account = batch.updateState
            if account == nil && oldState == nil && !batch.channelUpserts.isEmpty { account = (0, 0, 0, 0) }
            if let account,
                oldState == nil || oldState!.pts != account.pts || oldState!.qts != account.qts
                    || oldState!.date != account.date || oldState!.seq != account.seq
            {
                changes.upsert(
                    try sealUpdateState(pts: account.pts, qts: account.qts, date: account.date, seq: account.seq, sealer: sealer),
                    isNew: oldState == nil
                )
            }
            for channel in batch.channelOrder {
                let pts = batch.channelUpserts[channel]!
                let previous = oldState?.channels[channel]
                guard previous != pts else { continue }
                changes.upsert(try sealChannelState(channelID: channel, pts: pts, sealer: sealer), isNew: previous == nil)
            }
            var deletedChannels = batch.channelDeletions.filter { oldState?.channels[$0] != nil }
            if batch.keepsOnlySavedChannelStates, let oldState, !batch.removesUpdateState {
                for channel in oldState.channels.keys where batch.channelUpserts[channel] == nil { deletedChannels.insert(channel) }
            }
            for channel in deletedChannels.sorted() {
                changes.delete(keys.tag(kind: .channelState, identity: RecordCodec.channelIdentity(channel)))
            }

            // Extras.
            let apiID = batch.apiID ?? session.apiID
            let isTestMode = batch.isTestMode ?? session.isTestMode
            let takeoutID = batch.takeoutID ?? session.takeoutID
            let hadExtras = session.apiID != nil || session.isTestMode || session.takeoutID != nil
            let hasExtras = apiID != nil || isTestMode || takeoutID != nil
            if hasExtras, apiID != session.apiID || isTestMode != session.isTestMode || takeoutID != session.takeoutID {
                let record = try sealer.seal(kind: .sessionExtras, identity: []) { (writer) throws(VaultError) in
                    try RecordCodec.encodeSessionExtras(apiID: apiID, isTestMode: isTestMode, takeoutID: takeoutID, into: &writer)
                }
                changes.upsert(record, isNew: !hadExtras)
            } else if !hasExtras && hadExtras {
                changes.delete(keys.tag(kind: .sessionExtras, identity: []))
            }

            // Peers.
            let newPeers = try await peerChanges(batch.peers, sealer: sealer, into: &changes)

            // Mutate the stored session in place: copying a 100,000-entry dictionary per write would
            // make the hot path O(channels).
            try await commit(changes) { session in
                if !batch.dataCenterUpserts.isEmpty || !deletedDataCenters.isEmpty {
                    var byIdentity = Dictionary(uniqueKeysWithValues: session.dataCenters.map { ($0.identity, $0) })
                    for identity in deletedDataCenters { byIdentity[identity] = nil }
                    byIdentity.merge(batch.dataCenterUpserts) { _, new in new }
                    session.dataCenters = byIdentity.keys.sorted().map { byIdentity[$0]! }
                }
                if let user = batch.user { session.user = user }
                if batch.removesUpdateState { session.updateState = nil }
                if let account {
                    if session.updateState == nil {
                        session.updateState = UpdateState(pts: account.pts, qts: account.qts, date: account.date, seq: account.seq)
                    } else {
                        session.updateState!.pts = account.pts
                        session.updateState!.qts = account.qts
                        session.updateState!.date = account.date
                        session.updateState!.seq = account.seq
                    }
                }
                for (channel, pts) in batch.channelUpserts { session.updateState!.channels[channel] = pts }
                for channel in deletedChannels { session.updateState!.channels[channel] = nil }
                session.apiID = apiID
                session.isTestMode = isTestMode
                session.takeoutID = takeoutID
            }
            storedPeerCount += newPeers
        }
    }

    /// Refuses invalid values and contradictions before anything is sealed.
    private static func validate(_ batch: VaultBatch) throws(VaultError) {
        for (identity, dataCenter) in batch.dataCenterUpserts {
            try RecordCodec.validate(dataCenter)
            if batch.dataCenterDeletions.contains(identity) {
                throw VaultError(
                    .invalidArgument,
                    "data center \(identity.id)\(identity.isMediaOnly ? " (media)" : "") is both saved and deleted in one batch"
                )
            }
        }
        if case .some(.some(let user)) = batch.user { try RecordCodec.validate(user) }
        if batch.removesUpdateState && (batch.updateState != nil || !batch.channelUpserts.isEmpty) {
            throw VaultError(.invalidArgument, "the update state is both removed and saved in one batch")
        }
        for channel in batch.channelDeletions where batch.channelUpserts[channel] != nil {
            throw VaultError(.invalidArgument, "channel \(channel) is both saved and deleted in one batch")
        }
        for peer in batch.peers { try RecordCodec.validate(peer) }
    }
}
