/// What a sealed record holds. The kind is part of every record's key derivation, so a record
/// moved to another kind fails to open; on disk it is stored masked (see `docs/FORMAT.md`).
public enum RecordKind: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// The record count and keyed set-hash that detect deleted and inserted rows.
    case manifest = 1
    /// One data center (endpoints and auth keys).
    case dataCenter = 2
    /// The logged-in user.
    case user = 3
    /// The account-wide update state (pts, qts, date, seq).
    case updateState = 4
    /// One channel's pts.
    case channelState = 5
    /// Session extras: api id, test mode, takeout id.
    case sessionExtras = 6
    /// One cached peer, by id.
    case peer = 7
    /// A lookup entry for a peer by username or phone number, holding a copy of the peer.
    case peerIndex = 8

    /// A stable lower-case name: `data-center`, `channel-state`, ….
    public var description: String {
        switch self {
        case .manifest: "manifest"
        case .dataCenter: "data-center"
        case .user: "user"
        case .updateState: "update-state"
        case .channelState: "channel-state"
        case .sessionExtras: "session-extras"
        case .peer: "peer"
        case .peerIndex: "peer-index"
        }
    }
}
