/// Seals a whole ``Session`` into the records that represent it (plus the manifest).
/// Used by key rotation and by anything that writes a complete session at once.
enum SessionRecords {
    struct Sealed {
        var records: [SealedRecord]
        var count: UInt64
        var sum: RecordSetSum
    }

    static func seal(
        _ session: Session,
        peers: [Peer] = [],
        peerIndex: [(identity: [UInt8], peer: Peer)] = [],
        with sealer: RecordSealer,
        progress: ((Int, Int) -> Void)? = nil
    ) throws(VaultError) -> Sealed {
        var records: [SealedRecord] = []
        let total = session.dataCenters.count + (session.user == nil ? 0 : 1)
            + (session.updateState.map { 1 + $0.channels.count } ?? 0) + 1 + peers.count + peerIndex.count
        records.reserveCapacity(total + 1)
        func add(_ record: SealedRecord) {
            records.append(record)
            if records.count % 1000 == 0 { progress?(records.count, total) }
        }
        for dataCenter in session.dataCenters {
            add(
                try sealer.seal(kind: .dataCenter, identity: RecordCodec.dataCenterIdentity(dataCenter.identity)) {
                    (writer) throws(VaultError) in try RecordCodec.encode(dataCenter, into: &writer)
                }
            )
        }
        if let user = session.user {
            add(try sealer.seal(kind: .user, identity: []) { (writer) throws(VaultError) in try RecordCodec.encode(user, into: &writer) })
        }
        if let state = session.updateState {
            add(
                try sealer.seal(kind: .updateState, identity: []) { (writer) throws(VaultError) in
                    try RecordCodec.encodeUpdateState(pts: state.pts, qts: state.qts, date: state.date, seq: state.seq, into: &writer)
                }
            )
            for (channel, pts) in state.channels.sorted(by: { $0.key < $1.key }) {
                add(
                    try sealer.seal(kind: .channelState, identity: RecordCodec.channelIdentity(channel)) {
                        (writer) throws(VaultError) in try RecordCodec.encodeChannelState(id: channel, pts: pts, into: &writer)
                    }
                )
            }
        }
        if session.apiID != nil || session.isTestMode || session.takeoutID != nil {
            add(
                try sealer.seal(kind: .sessionExtras, identity: []) { (writer) throws(VaultError) in
                    try RecordCodec.encodeSessionExtras(
                        apiID: session.apiID,
                        isTestMode: session.isTestMode,
                        takeoutID: session.takeoutID,
                        into: &writer
                    )
                }
            )
        }
        // Peers, and their lookup entries exactly as they were (which peer a shared username points to).
        for peer in peers {
            add(
                try sealer.seal(kind: .peer, identity: RecordCodec.peerIdentity(peer.id)) {
                    (writer) throws(VaultError) in try RecordCodec.encode(peer, into: &writer)
                }
            )
        }
        for entry in peerIndex {
            add(
                try sealer.seal(kind: .peerIndex, identity: entry.identity) {
                    (writer) throws(VaultError) in try RecordCodec.encode(entry.peer, into: &writer)
                }
            )
        }
        var sum = RecordSetSum()
        for record in records { sum.add(sealer.keys.setElement(tag: record.tag)) }
        let count = UInt64(records.count)
        records.append(try SessionVault.sealManifest(sealer: sealer, count: count, sum: sum))
        progress?(records.count, total)
        return Sealed(records: records, count: count, sum: sum)
    }
}
