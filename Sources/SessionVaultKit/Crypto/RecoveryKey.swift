/// A 32-byte random recovery key: a second way to unlock a vault when the passphrase is lost.
///
/// Its display form is 55 base32 characters (RFC 4648 alphabet) of `key ‖ checksum` in groups of five,
/// for example `ABCDE-FGHIJ-…`, where the 2-byte checksum is the start of
/// BLAKE2b-128("sessionvault/v1/recovery-checksum\0" ‖ key). The checksum catches typos before any
/// keyslot is tried. The display form is produced and parsed in guarded memory, never in a `String`.
public struct RecoveryKey: Sendable, CustomStringConvertible {
    let secret: SecretBytes

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
    private static let payloadByteCount = 34
    private static let characterCount = 55

    /// A new random recovery key.
    public static func generate() throws(VaultError) -> RecoveryKey {
        RecoveryKey(secret: try SecretBytes.random(count: KeyDerivation.keyByteCount))
    }

    init(secret: SecretBytes) { self.secret = secret }

    /// Parses a display form (case-insensitive; spaces, dashes and newlines are ignored).
    /// - Throws: ``VaultError/Code/invalidArgument`` for a wrong length, a bad character or a bad checksum.
    public init(parsing text: SecretBytes) throws(VaultError) {
        let payload = try SecretBytes(count: Self.payloadByteCount)
        let characters = try text.withUnsafeBytes { (raw) throws(VaultError) -> Int in
            try payload.withUnsafeMutableBytes { (out) throws(VaultError) -> Int in
                var accumulator: UInt32 = 0
                var bits = 0
                var written = 0
                var count = 0
                defer { accumulator = 0 }
                for byte in raw {
                    if byte == UInt8(ascii: "-") || byte == UInt8(ascii: " ") || byte == 10 || byte == 13 || byte == 9 {
                        continue
                    }
                    let upper = (byte >= 97 && byte <= 122) ? byte - 32 : byte
                    guard let value = Self.alphabet.firstIndex(of: upper) else {
                        throw VaultError(.invalidArgument, "the recovery key contains a character outside A–Z and 2–7")
                    }
                    count += 1
                    guard count <= Self.characterCount else { break }
                    accumulator = (accumulator << 5) | UInt32(value)
                    bits += 5
                    if bits >= 8 {
                        bits -= 8
                        if written < out.count { out[written] = UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)) }
                        written += 1
                    }
                }
                // The last character carries 2 data bits and 3 zero padding bits.
                if count == Self.characterCount && accumulator & ((1 << UInt32(bits)) - 1) != 0 {
                    throw VaultError(.invalidArgument, "the recovery key's last character is not canonical (a typo?)")
                }
                return count
            }
        }
        guard characters == Self.characterCount else {
            throw VaultError(.invalidArgument, "a recovery key has \(Self.characterCount) characters, not \(characters)")
        }
        let key = try SecretBytes(count: KeyDerivation.keyByteCount)
        let checksumMatches = payload.withUnsafeBytes { raw in
            key.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<32])) }
            let expected = Self.checksum(of: key)
            return raw[32] == expected[0] && raw[33] == expected[1]
        }
        guard checksumMatches else {
            throw VaultError(.invalidArgument, "the recovery key's checksum does not match (a typo?)")
        }
        self.secret = key
    }

    /// Calls `body` with the display form (ASCII, in guarded memory).
    public func withDisplayForm<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let payload = try SecretBytes(count: Self.payloadByteCount)
        let checksum = Self.checksum(of: secret)
        payload.withUnsafeMutableBytes { out in
            secret.withUnsafeBytes { out.copyMemory(from: $0) }
            out[32] = checksum[0]
            out[33] = checksum[1]
        }
        let groups = (Self.characterCount + 4) / 5
        let text = try SecretBytes(count: Self.characterCount + groups - 1)
        payload.withUnsafeBytes { raw in
            text.withUnsafeMutableBytes { out in
                var accumulator: UInt32 = 0
                var bits = 0
                var emitted = 0
                var position = 0
                func emit(_ value: UInt32) {
                    if emitted > 0 && emitted % 5 == 0 {
                        out[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    out[position] = Self.alphabet[Int(value & 31)]
                    position += 1
                    emitted += 1
                }
                for byte in raw {
                    accumulator = (accumulator << 8) | UInt32(byte)
                    bits += 8
                    while bits >= 5 {
                        bits -= 5
                        emit(accumulator >> UInt32(bits))
                    }
                }
                if bits > 0 { emit(accumulator << UInt32(5 - bits)) }
                accumulator = 0
            }
        }
        return try text.withUnsafeBytes(body)
    }

    private static func checksum(of key: SecretBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        let label = KeySchedule.label("recovery-checksum")
        key.withUnsafeBytes { keyBytes in
            label.withUnsafeBytes { labelBytes in
                out.withUnsafeMutableBytes {
                    Blake2b.hash(into: $0, key: UnsafeRawBufferPointer(start: nil, count: 0), parts: [labelBytes, keyBytes])
                }
            }
        }
        return Array(out.prefix(2))
    }

    /// Always redacted.
    public var description: String { "RecoveryKey(<redacted>)" }
}
