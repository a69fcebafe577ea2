public import SessionVaultKit

/// A short digest of everything a ``Session`` holds, for checking that two states are the same
/// without printing either.
///
/// `session-vault soak` prints the digest of every state it commits; the crash harness computes the
/// digest of the session it reopens and compares. Two sessions have the same digest exactly when they
/// are equal field by field (up to BLAKE2b collisions): data centers in canonical order with their
/// endpoints and the ids of their auth keys, the user, the update state with every channel's pts,
/// and the session extras.
///
/// Auth keys enter the digest through Telegram's public key id (the last 8 bytes of SHA-1 of the
/// key), never through their bytes, so computing or printing a digest copies no secret into
/// ordinary memory. A replaced key changes its id, and so the digest.
public struct SessionDigest: Hashable, Sendable, CustomStringConvertible {
    /// The number of digest bytes (BLAKE2b-128).
    public static let byteCount = 16

    /// The digest bytes.
    public let bytes: [UInt8]

    /// The digest of `session`.
    public init(of session: Session) {
        var encoding = Encoding()
        encoding.text("sessionvault state digest v1")
        let dataCenters = session.dataCenters.sorted { $0.identity < $1.identity }
        encoding.integer(UInt32(dataCenters.count))
        for dataCenter in dataCenters {
            encoding.integer(dataCenter.id)
            encoding.flag(dataCenter.isMediaOnly)
            encoding.endpoint(dataCenter.ipv4)
            encoding.endpoint(dataCenter.ipv6)
            encoding.optional(dataCenter.authKey?.id)
            encoding.optional(dataCenter.temporaryAuthKey?.id)
        }
        encoding.flag(session.user != nil)
        if let user = session.user {
            encoding.integer(user.id)
            encoding.integer(user.dataCenterID)
            encoding.flag(user.isBot)
            encoding.flag(user.username != nil)
            encoding.text(user.username ?? "")
        }
        encoding.flag(session.updateState != nil)
        if let state = session.updateState {
            encoding.integer(state.pts)
            encoding.integer(state.qts)
            encoding.integer(state.date)
            encoding.integer(state.seq)
            encoding.integer(UInt32(state.channels.count))
            for channel in state.channels.keys.sorted() {
                encoding.integer(channel)
                encoding.integer(state.channels[channel]!)
            }
        }
        encoding.optional(session.apiID)
        encoding.flag(session.isTestMode)
        encoding.optional(session.takeoutID)

        var digest = [UInt8](repeating: 0, count: Self.byteCount)
        encoding.bytes.withUnsafeBytes { message in
            digest.withUnsafeMutableBytes { output in
                Blake2b.hash(into: output, key: UnsafeRawBufferPointer(start: nil, count: 0), parts: [message])
            }
        }
        bytes = digest
    }

    /// Parses the 32-character lowercase hexadecimal form (``description``).
    public init?(hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard digits.count == 2 * Self.byteCount else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    /// 32 lowercase hexadecimal characters.
    public var description: String {
        let alphabet = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(2 * bytes.count)
        for byte in bytes {
            text.append(alphabet[Int(byte >> 4)])
            text.append(alphabet[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// The canonical, unambiguous encoding that is hashed (public values only).
    private struct Encoding {
        var bytes: [UInt8] = []

        mutating func integer<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }

        mutating func flag(_ value: Bool) { bytes.append(value ? 1 : 0) }

        mutating func text(_ value: String) {
            let utf8 = Array(value.utf8)
            integer(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }

        mutating func optional<T: FixedWidthInteger>(_ value: T?) {
            flag(value != nil)
            integer(value ?? 0)
        }

        mutating func endpoint(_ endpoint: Endpoint?) {
            flag(endpoint != nil)
            text(endpoint?.host ?? "")
            integer(endpoint?.port ?? 0)
        }
    }
}
