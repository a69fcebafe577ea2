#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Packed IP addresses (4 or 16 bytes, as in a Telethon string) to and from text, with
/// `inet_ntop`/`inet_pton` (IPv6 in the compressed RFC 5952 form, as Python's `ipaddress` prints it).
enum IPAddressText {
    /// The text form of a packed IPv4 (4 bytes) or IPv6 (16 bytes) address.
    static func text(packed: UnsafeRawBufferPointer) -> String? {
        let family: Int32
        switch packed.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        guard inet_ntop(family, packed.baseAddress, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The packed bytes of an IPv4 or IPv6 address in text form; nil when it is neither.
    static func packed(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// Whether `text` is an IPv6 address (contains a colon).
    static func isIPv6(_ text: String) -> Bool { text.contains(":") }

    /// Splits Telethon v2's `"ip:port"` (also `"[ipv6]:port"`) at the last colon.
    static func splitHostPort(_ text: String) -> Endpoint? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = UInt16(text[text.index(after: colon)...]), port != 0 else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, packed(host) != nil else { return nil }
        return Endpoint(host: host, port: port)
    }

    /// Telethon v2's `"ip:port"` form (no brackets, even for IPv6, as its `net.py` writes it).
    static func hostPort(_ endpoint: Endpoint) -> String { "\(endpoint.host):\(endpoint.port)" }
}
