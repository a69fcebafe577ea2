/// The account the session is logged in as.
public struct LoggedInUser: Hashable, Sendable {
    /// The Telegram user id.
    public var id: Int64
    /// The user's home data center.
    public var dataCenterID: Int32
    /// Whether the account is a bot.
    public var isBot: Bool
    /// The username without `@`, when the account has one.
    public var username: String?

    /// Creates a user.
    public init(id: Int64, dataCenterID: Int32, isBot: Bool, username: String? = nil) {
        self.id = id
        self.dataCenterID = dataCenterID
        self.isBot = isBot
        self.username = username
    }
}
