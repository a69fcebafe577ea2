/// Bot-API style "marked" peer ids, as Telethon's `entities`, Pyrogram's `peers` and ``Peer/id`` use
/// them: users `+id`, basic groups `-id`, channels `-(10^12 + id)`.
enum MarkedPeerID {
    /// The offset of marked channel ids.
    static let channelOffset: Int64 = 1_000_000_000_000

    /// The raw channel id of a marked channel id, or nil when `marked` is not a channel id.
    static func channelID(fromMarked marked: Int64) -> Int64? {
        marked <= -channelOffset ? -marked - channelOffset : nil
    }

    /// The marked id of a raw channel id.
    static func marked(channelID: Int64) -> Int64 { -(channelOffset + channelID) }

    /// The kind Telethon can tell from a marked id alone (it stores no type): user, group or channel.
    static func telethonKind(of marked: Int64) -> Peer.Kind {
        if marked > 0 { return .user }
        return marked <= -channelOffset ? .channel : .group
    }
}
