/// A cached peer: what a client needs to address a user, bot, group or channel without resolving it
/// again (Telethon's `entities`, Pyrogram's `peers`).
public struct Peer: Hashable, Sendable {
    /// What kind of peer this is.
    public enum Kind: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// A user account.
        case user = 1
        /// A bot account.
        case bot = 2
        /// A basic group.
        case group = 3
        /// A broadcast channel.
        case channel = 4
        /// A supergroup (a megagroup channel).
        case supergroup = 5

        /// `user`, `bot`, `group`, `channel` or `supergroup` (Pyrogram's names).
        public var description: String {
            switch self {
            case .user: "user"
            case .bot: "bot"
            case .group: "group"
            case .channel: "channel"
            case .supergroup: "supergroup"
            }
        }

        /// Looks a kind up by Pyrogram's name; Kurigram's `direct`, `forum` and `community` are channels.
        public init?(name: String) {
            switch name {
            case "user": self = .user
            case "bot": self = .bot
            case "group": self = .group
            case "channel", "direct": self = .channel
            case "supergroup", "forum", "community": self = .supergroup
            default: return nil
            }
        }
    }

    /// The Bot-API style marked id: users `+id`, basic groups `-id`, channels `-(1_000_000_000_000 + id)`.
    public var id: Int64
    /// The access hash Telegram requires to address the peer (0 for basic groups).
    public var accessHash: Int64
    /// The peer kind.
    public var kind: Kind
    /// The username, lowercased and without `@`, when known.
    public var username: String?
    /// The phone number, digits only, when known.
    public var phoneNumber: String?
    /// A display name, when the client stores one (Telethon does).
    public var name: String?
    /// When the client last saw this peer, in Unix seconds.
    public var updatedAt: Int64?

    /// Creates a peer; `username` and `phoneNumber` are normalised (see ``normalizedUsername(_:)``
    /// and ``normalizedPhoneNumber(_:)``).
    public init(
        id: Int64,
        accessHash: Int64,
        kind: Kind,
        username: String? = nil,
        phoneNumber: String? = nil,
        name: String? = nil,
        updatedAt: Int64? = nil
    ) {
        self.id = id
        self.accessHash = accessHash
        self.kind = kind
        self.username = username.flatMap(Self.normalizedUsername)
        self.phoneNumber = phoneNumber.flatMap(Self.normalizedPhoneNumber)
        self.name = name
        self.updatedAt = updatedAt
    }

    /// Lowercased, without a leading `@`; nil when nothing is left.
    public static func normalizedUsername(_ username: String) -> String? {
        var text = Substring(username)
        while text.first == "@" { text = text.dropFirst() }
        let lowered = text.lowercased()
        return lowered.isEmpty ? nil : lowered
    }

    /// Digits only (a leading `+`, spaces and dashes dropped); nil when no digit is left.
    public static func normalizedPhoneNumber(_ phoneNumber: String) -> String? {
        let digits = String(phoneNumber.unicodeScalars.filter { $0.value >= 48 && $0.value <= 57 }.map(Character.init))
        return digits.isEmpty ? nil : digits
    }
}
