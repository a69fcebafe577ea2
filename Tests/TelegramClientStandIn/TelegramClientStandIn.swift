// A stand-in for a Telegram client library: it exports types named like SessionVaultKit's, as real
// client libraries do. NameClashTests imports both modules next to each other.

/// A client library's own session type.
public struct Session: Sendable {
    /// Its own field, to tell it apart.
    public var serverSalt: Int64
    /// Creates one.
    public init(serverSalt: Int64) { self.serverSalt = serverSalt }
}

/// A client library's own data-center description.
public struct DataCenter: Sendable {
    /// The data center id.
    public var id: Int
    /// Creates one.
    public init(id: Int) { self.id = id }
}

/// A client library's own auth key (bytes in an array, as many clients keep them).
public struct AuthKey: Sendable {
    /// The key bytes.
    public var bytes: [UInt8]
    /// Creates one.
    public init(bytes: [UInt8]) { self.bytes = bytes }
}
