extension SessionVault {
    /// How many peers the cache holds.
    public var peerCount: Int { storedPeerCount }

    /// Inserts or replaces peers in one durable transaction (the last entry wins when an id repeats).
    ///
    /// Each peer is a sealed record found by a keyed tag of its id; its username and phone number get
    /// sealed lookup records under keyed tags, so ``peer(username:)`` and ``peer(phoneNumber:)`` are
    /// one indexed query each and no identifier is stored in plaintext. A username or phone number
    /// that moves to another peer points to the newest one.
    public func upsertPeers(_ peers: [Peer]) async throws(VaultError) {
        var batch = VaultBatch()
        batch.upsertPeers(peers)
        try await write(batch)
    }

    /// The cached peer with this marked id.
    public func peer(id: Int64) async throws(VaultError) -> Peer? {
        try await exclusive { () throws(VaultError) -> Peer? in
            let sealer = try requireSealer()
            let tag = sealer.keys.tag(kind: .peer, identity: RecordCodec.peerIdentity(id))
            guard let record = try await requireStore().readRecord(tag: tag) else { return nil }
            let peer = try Self.openPeer(record, sealer: sealer)
            guard peer.id == id else {
                throw VaultError(.tampered, "a peer record is stored under another peer's tag", recordKind: .peer)
            }
            return peer
        }
    }

    /// The cached peer with this username (case-insensitive, with or without `@`).
    public func peer(username: String) async throws(VaultError) -> Peer? {
        guard let normalized = Peer.normalizedUsername(username) else { return nil }
        return try await lookUpPeer(.username, normalized) { $0.username == normalized }
    }

    /// The cached peer with this phone number (any formatting; digits are compared).
    public func peer(phoneNumber: String) async throws(VaultError) -> Peer? {
        guard let normalized = Peer.normalizedPhoneNumber(phoneNumber) else { return nil }
        return try await lookUpPeer(.phoneNumber, normalized) { $0.phoneNumber == normalized }
    }

    /// Every cached peer, sorted by id (for export). Each record is authenticated as it is read.
    public func allPeers() async throws(VaultError) -> [Peer] {
        try await exclusive { () throws(VaultError) -> [Peer] in
            try await peersFromStore(sealer: try requireSealer())
        }
    }

    // MARK: - Internals

    /// Seals `peers` (the last entry wins when an id repeats) and their lookup entries into
    /// `changes`, dropping lookup entries a peer no longer has. Returns how many peers are new.
    func peerChanges(_ peers: [Peer], sealer: RecordSealer, into changes: inout RecordChanges) async throws(VaultError) -> Int {
        guard !peers.isEmpty else { return 0 }
        let store = try requireStore()
        let keys = sealer.keys
        var latest: [Int64: Peer] = [:]
        var order: [Int64] = []
        for peer in peers {
            if latest.updateValue(peer, forKey: peer.id) == nil { order.append(peer.id) }
        }
        var existedBefore: [[UInt8]: Bool] = [:]
        var final: [[UInt8]: SealedRecord?] = [:]  // nil: delete
        var newPeers = 0
        for id in order {
            let peer = latest[id]!
            let peerTag = keys.tag(kind: .peer, identity: RecordCodec.peerIdentity(id))
            var previous: Peer?
            if let record = try await Self.stored(peerTag, in: store, noting: &existedBefore) {
                previous = try Self.openPeer(record, sealer: sealer)
            } else {
                newPeers += 1
            }
            // Drop lookup entries for a username or phone the peer no longer has, unless another
            // peer has claimed them since.
            for (field, old, new) in [
                (RecordCodec.PeerIndexField.username, previous?.username, peer.username),
                (.phoneNumber, previous?.phoneNumber, peer.phoneNumber),
            ] {
                guard let old, old != new else { continue }
                let indexTag = keys.tag(kind: .peerIndex, identity: RecordCodec.peerIndexIdentity(field, old))
                let current: SealedRecord?
                if let pending = final[indexTag] { current = pending } else { current = try await Self.stored(indexTag, in: store, noting: &existedBefore) }
                if let current, try Self.openPeer(current, sealer: sealer).id == id { final[indexTag] = .some(nil) }
            }
            final[peerTag] = try sealer.seal(kind: .peer, identity: RecordCodec.peerIdentity(id)) {
                (writer) throws(VaultError) in try RecordCodec.encode(peer, into: &writer)
            }
            for (field, value) in [(RecordCodec.PeerIndexField.username, peer.username), (.phoneNumber, peer.phoneNumber)] {
                guard let value else { continue }
                let identity = RecordCodec.peerIndexIdentity(field, value)
                let indexTag = keys.tag(kind: .peerIndex, identity: identity)
                if final[indexTag] == nil { _ = try await Self.stored(indexTag, in: store, noting: &existedBefore) }
                final[indexTag] = try sealer.seal(kind: .peerIndex, identity: identity) {
                    (writer) throws(VaultError) in try RecordCodec.encode(peer, into: &writer)
                }
            }
        }
        for (tag, record) in final {
            let existed = existedBefore[tag] ?? false
            if let record {
                changes.upsert(record, isNew: !existed)
            } else if existed {
                changes.delete(tag)
            }
        }
        return newPeers
    }

    func peersFromStore(sealer: RecordSealer) async throws(VaultError) -> [Peer] {
        try await peerRecordsFromStore(sealer: sealer).peers
    }

    /// Every peer and every lookup entry (with the identity its tag was made from), authenticated.
    func peerRecordsFromStore(
        sealer: RecordSealer
    ) async throws(VaultError) -> (peers: [Peer], index: [(identity: [UInt8], peer: Peer)]) {
        var peers: [Peer] = []
        var index: [(identity: [UInt8], peer: Peer)] = []
        for record in try await requireStore().readRecords() where record.tag.count == 32 {
            let kind = record.maskedKind ^ sealer.keys.mask(tag: record.tag)
            if kind == RecordKind.peer.rawValue {
                peers.append(try Self.openPeer(record, sealer: sealer))
            } else if kind == RecordKind.peerIndex.rawValue {
                let peer = try Self.openPeer(record, sealer: sealer)
                let identities = [
                    peer.username.map { RecordCodec.peerIndexIdentity(.username, $0) },
                    peer.phoneNumber.map { RecordCodec.peerIndexIdentity(.phoneNumber, $0) },
                ].compactMap { $0 }
                guard let identity = identities.first(where: { sealer.keys.tag(kind: .peerIndex, identity: $0) == record.tag }) else {
                    throw VaultError(.tampered, "a peer lookup entry does not match its key", recordKind: .peerIndex)
                }
                index.append((identity, peer))
            }
        }
        return (peers.sorted { $0.id < $1.id }, index)
    }

    /// Reads the record under `tag`, noting on first sight whether it existed before the batch.
    private static func stored(
        _ tag: [UInt8],
        in store: any RecordStore,
        noting existedBefore: inout [[UInt8]: Bool]
    ) async throws(VaultError) -> SealedRecord? {
        let record = try await store.readRecord(tag: tag)
        if existedBefore[tag] == nil { existedBefore[tag] = record != nil }
        return record
    }

    private func lookUpPeer(
        _ field: RecordCodec.PeerIndexField,
        _ value: String,
        matches: (Peer) -> Bool
    ) async throws(VaultError) -> Peer? {
        try await exclusive { () throws(VaultError) -> Peer? in
            let sealer = try requireSealer()
            let tag = sealer.keys.tag(kind: .peerIndex, identity: RecordCodec.peerIndexIdentity(field, value))
            guard let record = try await requireStore().readRecord(tag: tag) else { return nil }
            let peer = try Self.openPeer(record, sealer: sealer)
            guard matches(peer) else {
                throw VaultError(.tampered, "a peer lookup entry does not match its key", recordKind: .peerIndex)
            }
            return peer
        }
    }

    static func openPeer(_ record: SealedRecord, sealer: RecordSealer) throws(VaultError) -> Peer {
        switch try sealer.open(record).decoded {
        case .peer(let peer), .peerIndex(let peer):
            return peer
        default:
            throw VaultError(.tampered, "a record read as a peer holds something else", recordKind: .peer)
        }
    }
}
