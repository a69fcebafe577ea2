/// A network endpoint of a data center: an address and a TCP port.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// The address as text, for example `149.154.167.51` or `2001:67c:4e8:f002::a`.
    public var host: String
    /// The TCP port, for example 443.
    public var port: UInt16

    /// Creates an endpoint.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with IPv6 hosts in brackets.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
