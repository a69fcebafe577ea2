/// One Telegram data center the client knows, with the auth key it holds there.
///
/// A data center is identified by its ``id`` together with ``isMediaOnly``: Telegram publishes a
/// media-only variant under the same id, and a client may hold a separate key for it.
public struct DataCenter: Sendable, Equatable, CustomStringConvertible {
    /// The data center id (1–5 in production).
    public var id: Int32
    /// The IPv4 endpoint, when known.
    public var ipv4: Endpoint?
    /// The IPv6 endpoint, when known.
    public var ipv6: Endpoint?
    /// The permanent auth key for this data center, once one was negotiated.
    public var authKey: AuthKey?
    /// A temporary (PFS) auth key bound to the permanent one, when the client stores it.
    public var temporaryAuthKey: AuthKey?
    /// Whether this entry is the media-only variant of the data center.
    public var isMediaOnly: Bool

    /// Creates a data center entry.
    public init(
        id: Int32,
        ipv4: Endpoint? = nil,
        ipv6: Endpoint? = nil,
        authKey: AuthKey? = nil,
        temporaryAuthKey: AuthKey? = nil,
        isMediaOnly: Bool = false
    ) {
        self.id = id
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.authKey = authKey
        self.temporaryAuthKey = temporaryAuthKey
        self.isMediaOnly = isMediaOnly
    }

    /// Redacted: endpoints and key ids only.
    public var description: String {
        var parts = ["id: \(id)"]
        if let ipv4 { parts.append("ipv4: \(ipv4)") }
        if let ipv6 { parts.append("ipv6: \(ipv6)") }
        if let authKey { parts.append("authKey: \(authKey)") }
        if let temporaryAuthKey { parts.append("temporaryAuthKey: \(temporaryAuthKey)") }
        if isMediaOnly { parts.append("mediaOnly") }
        return "DataCenter(\(parts.joined(separator: ", ")))"
    }

    /// The identity under which the vault stores this entry.
    package var identity: Identity { Identity(id: id, isMediaOnly: isMediaOnly) }

    /// A data center's key in the vault: its id and whether it is the media-only variant, ordered
    /// by id, the main entry first.
    package struct Identity: Hashable, Comparable {
        var id: Int32
        var isMediaOnly: Bool
        package static func < (lhs: Identity, rhs: Identity) -> Bool {
            (lhs.id, lhs.isMediaOnly ? 1 : 0) < (rhs.id, rhs.isMediaOnly ? 1 : 0)
        }
    }
}
