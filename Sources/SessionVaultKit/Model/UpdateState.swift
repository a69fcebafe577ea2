/// Where the client is in Telegram's update sequence, account-wide and per channel.
public struct UpdateState: Hashable, Sendable {
    /// The account-wide persistent timestamp.
    public var pts: Int32
    /// The secret-chat sequence (`qts`).
    public var qts: Int32
    /// The date of the last update, in Unix seconds.
    public var date: Int64
    /// The update sequence number.
    public var seq: Int32
    /// Per-channel pts, keyed by channel id.
    public var channels: [Int64: Int32]

    /// Creates an update state.
    public init(pts: Int32, qts: Int32, date: Int64, seq: Int32, channels: [Int64: Int32] = [:]) {
        self.pts = pts
        self.qts = qts
        self.date = date
        self.seq = seq
        self.channels = channels
    }
}
