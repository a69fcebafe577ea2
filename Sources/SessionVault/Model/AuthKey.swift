/// A Telegram MTProto authorization key: exactly 256 bytes, kept in guarded memory.
///
/// The key bytes are reachable only through ``withUnsafeBytes(_:)``. `description` is redacted,
/// equality is constant-time, and the memory is zeroed when the last copy of the key is released.
/// ``id`` is Telegram's public key id, safe to print.
public struct AuthKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The length of every auth key, in bytes.
    public static let byteCount = 256

    let secret: SecretBytes

    /// Telegram's key id: the last 8 bytes of SHA-1(key), read as a little-endian `Int64`.
    /// This is the value Telegram sends in every encrypted message; it does not reveal the key.
    public let id: Int64

    /// Copies a key out of `bytes`, which must be exactly 256 bytes long.
    /// - Throws: ``VaultError/Code/invalidArgument`` for any other length.
    /// - Warning: The caller remains responsible for wiping its own copy of `bytes`.
    public init(copying bytes: UnsafeRawBufferPointer) throws(VaultError) {
        guard bytes.count == Self.byteCount else {
            throw VaultError(.invalidArgument, "an auth key must be \(Self.byteCount) bytes, not \(bytes.count)")
        }
        try self.init(secret: SecretBytes(copying: bytes))
    }

    /// Takes ownership of a 256-byte guarded buffer.
    /// - Throws: ``VaultError/Code/invalidArgument`` when the buffer is not 256 bytes long.
    public init(secret: SecretBytes) throws(VaultError) {
        guard secret.count == Self.byteCount else {
            throw VaultError(.invalidArgument, "an auth key must be \(Self.byteCount) bytes, not \(secret.count)")
        }
        self.secret = secret
        self.id = secret.withUnsafeBytes { Self.keyID(of: $0) }
    }

    /// A new random key (for tests, demos and benchmarks; real keys come from Telegram's key exchange).
    public static func random() throws(VaultError) -> AuthKey {
        try AuthKey(secret: SecretBytes.random(count: byteCount))
    }

    /// Calls `body` with read access to the 256 key bytes.
    /// - Warning: Do not let the pointer escape `body`, and do not copy the bytes into ordinary memory.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try secret.withUnsafeBytes(body)
    }

    /// Constant-time equality of the key bytes.
    public static func == (lhs: AuthKey, rhs: AuthKey) -> Bool {
        lhs.secret === rhs.secret || lhs.secret.isEqual(to: rhs.secret)
    }

    /// `AuthKey(id: …, <redacted>)`: the key id only, never the key.
    public var description: String { "AuthKey(id: \(id), <redacted>)" }
    /// Same as ``description``.
    public var debugDescription: String { description }

    static func keyID(of key: UnsafeRawBufferPointer) -> Int64 {
        let digest = SHA1.digest(key)
        var value: UInt64 = 0
        for index in (12..<20).reversed() {
            value = value << 8 | UInt64(digest[index])
        }
        return Int64(bitPattern: value)
    }
}
