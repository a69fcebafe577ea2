public import SessionVaultKit

/// A redacted view of an open vault: what `session-vault show` prints.
///
/// It holds no secret: data centers appear with their endpoints and Telegram's public
/// `auth_key_id`, never a key; keyslots appear by kind only. The `Codable` form is the documented,
/// stable JSON schema of `session-vault show --json` (README, "JSON output"):
///
/// ```json
/// {
///   "api_id": 611335,
///   "channels": 5,
///   "dcs": [{"auth_key_id": -1234567890123456789, "id": 2, "ipv4": "149.154.167.51:443",
///            "ipv6": "[2001:67c:4e8:f002::a]:443", "media_only": false}],
///   "format_version": 2,
///   "kdf": {"algorithm": "argon2id13", "memlimit": 67108864, "opslimit": 3},
///   "keyslots": ["passphrase", "recovery-key"],
///   "state": {"date": 1764000000, "pts": 4242, "qts": 17, "seq": 99},
///   "storage": "sqlite",
///   "takeout_id": null,
///   "test_mode": false,
///   "user": {"bot": true, "dc": 2, "id": 7123456789, "username": "my_bot"}
/// }
/// ```
///
/// Every key is always present; absent values are JSON `null`.
public struct VaultSummary: Sendable, Hashable, Codable {
    /// Argon2id parameters of the passphrase keyslot.
    public struct KDF: Sendable, Hashable, Codable {
        /// The algorithm name, `argon2id13`.
        public var algorithm: String
        /// Argon2id passes.
        public var opslimit: UInt64
        /// Argon2id memory in bytes.
        public var memlimit: UInt64

        /// Creates the KDF entry.
        public init(algorithm: String, opslimit: UInt64, memlimit: UInt64) {
            self.algorithm = algorithm
            self.opslimit = opslimit
            self.memlimit = memlimit
        }
    }

    /// One data center: endpoints and the public key id, never the key.
    public struct DataCenterEntry: Sendable, Hashable, Codable {
        /// The data center id.
        public var id: Int32
        /// The IPv4 endpoint as `host:port`, or nil.
        public var ipv4: String?
        /// The IPv6 endpoint as `[host]:port`, or nil.
        public var ipv6: String?
        /// Telegram's auth key id (signed 64-bit), or nil when no key was negotiated.
        public var authKeyID: Int64?
        /// Whether this is the media-only variant.
        public var isMediaOnly: Bool

        /// Creates a data center entry.
        public init(id: Int32, ipv4: String?, ipv6: String?, authKeyID: Int64?, isMediaOnly: Bool) {
            self.id = id
            self.ipv4 = ipv4
            self.ipv6 = ipv6
            self.authKeyID = authKeyID
            self.isMediaOnly = isMediaOnly
        }

        enum CodingKeys: String, CodingKey {
            case id, ipv4, ipv6
            case authKeyID = "auth_key_id"
            case isMediaOnly = "media_only"
        }

        /// Encodes every key, with `null` for absent values.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(ipv4, forKey: .ipv4)
            try container.encode(ipv6, forKey: .ipv6)
            try container.encode(authKeyID, forKey: .authKeyID)
            try container.encode(isMediaOnly, forKey: .isMediaOnly)
        }
    }

    /// The logged-in account.
    public struct User: Sendable, Hashable, Codable {
        /// The Telegram user id.
        public var id: Int64
        /// The home data center.
        public var dc: Int32
        /// Whether the account is a bot.
        public var bot: Bool
        /// The username without `@`, or nil.
        public var username: String?

        /// Creates a user entry.
        public init(id: Int64, dc: Int32, bot: Bool, username: String?) {
            self.id = id
            self.dc = dc
            self.bot = bot
            self.username = username
        }

        enum CodingKeys: String, CodingKey {
            case id, dc, bot, username
        }

        /// Encodes every key, with `null` for an absent username.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(dc, forKey: .dc)
            try container.encode(bot, forKey: .bot)
            try container.encode(username, forKey: .username)
        }
    }

    /// The account-wide update state.
    public struct State: Sendable, Hashable, Codable {
        /// Persistent timestamp.
        public var pts: Int32
        /// Secret-chat sequence.
        public var qts: Int32
        /// Date of the last update, Unix seconds.
        public var date: Int64
        /// Update sequence number.
        public var seq: Int32

        /// Creates a state entry.
        public init(pts: Int32, qts: Int32, date: Int64, seq: Int32) {
            self.pts = pts
            self.qts = qts
            self.date = date
            self.seq = seq
        }
    }

    /// `sqlite`, `memory` or `external`.
    public var storage: String
    /// The vault format version.
    public var formatVersion: UInt32
    /// The passphrase keyslot's KDF parameters, or nil when there is none (memory-only vaults).
    public var kdf: KDF?
    /// The kinds of the keyslots in slot order: `passphrase`, `recovery-key`.
    public var keyslots: [String]
    /// The data centers, in canonical order (the media-only variant after the main one).
    public var dataCenters: [DataCenterEntry]
    /// The logged-in account, or nil.
    public var user: User?
    /// The update state, or nil.
    public var state: State?
    /// The number of channels with a stored pts.
    public var channels: Int
    /// The application's api id, or nil.
    public var apiID: Int32?
    /// Whether the session is for Telegram's test servers.
    public var isTestMode: Bool
    /// The takeout session id, or nil.
    public var takeoutID: Int64?

    enum CodingKeys: String, CodingKey {
        case storage, kdf, keyslots, user, state, channels
        case formatVersion = "format_version"
        case dataCenters = "dcs"
        case apiID = "api_id"
        case isTestMode = "test_mode"
        case takeoutID = "takeout_id"
    }

    /// Builds the summary of a session and the vault's key metadata.
    /// - Parameters:
    ///   - session: The decrypted session; only public fields and key ids are copied.
    ///   - storage: Where the vault keeps its records.
    ///   - formatVersion: The vault format version.
    ///   - kdfParameters: The passphrase keyslot's parameters, if any.
    ///   - keyslotKinds: The keyslot kinds in slot order.
    public init(
        session: Session,
        storage: StorageKind,
        formatVersion: UInt32,
        kdfParameters: KDFParameters?,
        keyslotKinds: [StoredKeyslot.Kind]
    ) {
        self.storage = storage.rawValue
        self.formatVersion = formatVersion
        self.kdf = kdfParameters.map {
            KDF(algorithm: $0.algorithm.name, opslimit: $0.opsLimit, memlimit: $0.memLimit)
        }
        self.keyslots = keyslotKinds.map(\.description)
        self.dataCenters = session.dataCenters.map {
            DataCenterEntry(
                id: $0.id,
                ipv4: $0.ipv4?.description,
                ipv6: $0.ipv6?.description,
                authKeyID: $0.authKey?.id,
                isMediaOnly: $0.isMediaOnly
            )
        }
        self.user = session.user.map {
            User(id: $0.id, dc: $0.dataCenterID, bot: $0.isBot, username: $0.username)
        }
        self.state = session.updateState.map { State(pts: $0.pts, qts: $0.qts, date: $0.date, seq: $0.seq) }
        self.channels = session.updateState?.channels.count ?? 0
        self.apiID = session.apiID
        self.isTestMode = session.isTestMode
        self.takeoutID = session.takeoutID
    }

    /// The summary of an open vault.
    /// - Throws: ``VaultError/Code/closed`` when the vault was closed.
    public init(of vault: SessionVault) async throws(VaultError) {
        let session = try await vault.load() ?? Session()
        self.init(
            session: session,
            storage: vault.storageKind,
            formatVersion: await vault.formatVersion,
            kdfParameters: await vault.kdfParameters,
            keyslotKinds: await vault.keyslotKinds
        )
    }

    /// Encodes every key, with `null` for absent values.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(storage, forKey: .storage)
        try container.encode(formatVersion, forKey: .formatVersion)
        try container.encode(kdf, forKey: .kdf)
        try container.encode(keyslots, forKey: .keyslots)
        try container.encode(dataCenters, forKey: .dataCenters)
        try container.encode(user, forKey: .user)
        try container.encode(state, forKey: .state)
        try container.encode(channels, forKey: .channels)
        try container.encode(apiID, forKey: .apiID)
        try container.encode(isTestMode, forKey: .isTestMode)
        try container.encode(takeoutID, forKey: .takeoutID)
    }
}
