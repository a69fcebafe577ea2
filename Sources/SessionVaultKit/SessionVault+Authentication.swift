import Logging
import Synchronization

// Turning the records read from a store into a session: every record and the record set
// (count and keyed sum against the manifest) authenticated before anything is returned.
extension SessionVault {
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
}
