/// Everything a Telegram client needs to resume without logging in again.
///
/// The shape mirrors Telethon v2's session (data centers, user, update state) and keeps the extras
/// that real session files carry (api id, test mode, takeout id). Auth keys are ``AuthKey`` values
/// in guarded memory; `description` never shows them.
public struct Session: Sendable, Equatable, CustomStringConvertible {
    /// The data centers the client knows, sorted by id (the media-only variant after the main one).
    public var dataCenters: [DataCenter]
    /// The logged-in account, if any.
    public var user: LoggedInUser?
    /// The update state, if the client has received updates.
    public var updateState: UpdateState?
    /// The application's api id, when the client stored it (Pyrogram does).
    public var apiID: Int32?
    /// Whether the session belongs to Telegram's test servers.
    public var isTestMode: Bool
    /// The takeout session id, when a data export is in progress (Telethon stores it).
    public var takeoutID: Int64?

    /// Creates a session.
    public init(
        dataCenters: [DataCenter] = [],
        user: LoggedInUser? = nil,
        updateState: UpdateState? = nil,
        apiID: Int32? = nil,
        isTestMode: Bool = false,
        takeoutID: Int64? = nil
    ) {
        self.dataCenters = dataCenters
        self.user = user
        self.updateState = updateState
        self.apiID = apiID
        self.isTestMode = isTestMode
        self.takeoutID = takeoutID
    }

    /// The entry for data center `id` (the main variant unless `mediaOnly` is true).
    public func dataCenter(id: Int32, mediaOnly: Bool = false) -> DataCenter? {
        dataCenters.first { $0.id == id && $0.isMediaOnly == mediaOnly }
    }

    /// A redacted summary: counts, ids and key ids, never a key.
    public var description: String {
        var parts = ["dataCenters: \(dataCenters)"]
        if let user { parts.append("user: \(user)") }
        if let updateState {
            parts.append(
                "updateState: pts \(updateState.pts), qts \(updateState.qts), date \(updateState.date), "
                    + "seq \(updateState.seq), \(updateState.channels.count) channels"
            )
        }
        if let apiID { parts.append("apiID: \(apiID)") }
        if isTestMode { parts.append("testMode") }
        if let takeoutID { parts.append("takeoutID: \(takeoutID)") }
        return "Session(\(parts.joined(separator: ", ")))"
    }

    /// Equality with data centers compared in canonical order; auth keys compare in constant time.
    public static func == (lhs: Session, rhs: Session) -> Bool {
        lhs.user == rhs.user && lhs.updateState == rhs.updateState && lhs.apiID == rhs.apiID
            && lhs.isTestMode == rhs.isTestMode && lhs.takeoutID == rhs.takeoutID
            && lhs.dataCenters.sorted { $0.identity < $1.identity }
                == rhs.dataCenters.sorted { $0.identity < $1.identity }
    }

    /// True when nothing at all is stored.
    package var isEmpty: Bool {
        dataCenters.isEmpty && user == nil && updateState == nil && apiID == nil && !isTestMode && takeoutID == nil
    }
}
