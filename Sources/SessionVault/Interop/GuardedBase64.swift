internal import CSodium

/// Base64 that decodes into, and encodes from, guarded memory (libsodium's constant-time
/// `sodium_base642bin` / `sodium_bin2base64`), so that a session string's or an agent message's
/// auth key never passes through a `[UInt8]` or `String`.
package enum GuardedBase64 {
    /// The alphabet and whether `=` padding is part of the text.
    package enum Padding: Sendable {
        /// URL-safe alphabet, padded (Telethon strings).
        case padded
        /// URL-safe alphabet, no padding (Pyrogram strings).
        case unpadded
        /// The standard alphabet (`+`, `/`), padded: RFC 4648 §4 (the `serve` agent's protocol).
        case standard

        var variant: Int32 {
            switch self {
            case .padded: sodium_base64_VARIANT_URLSAFE
            case .unpadded: sodium_base64_VARIANT_URLSAFE_NO_PADDING
            case .standard: sodium_base64_VARIANT_ORIGINAL
            }
        }
    }

    /// Decodes `text` (ASCII, no whitespace) into a new guarded buffer.
    /// - Returns: nil when `text` is not valid base64url of that padding kind.
    package static func decode(_ text: UnsafeRawBufferPointer, padding: Padding) throws(VaultError) -> SecretBytes? {
        try Sodium.ensureInitialized()
        let capacity = text.count / 4 * 3 + 3
        let output = try SecretBytes(count: capacity)
        var length = 0
        var end: UnsafePointer<CChar>?
        let status = output.withUnsafeMutableBytes { out in
            text.withMemoryRebound(to: CChar.self) { input in
                sodium_base642bin(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    out.count,
                    input.baseAddress,
                    input.count,
                    nil,
                    &length,
                    &end,
                    padding.variant
                )
            }
        }
        guard status == 0, let end, end == text.baseAddress!.assumingMemoryBound(to: CChar.self) + text.count else {
            return nil
        }
        return try output.withUnsafeBytes { (raw) throws(VaultError) in
            try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: raw[0..<length]))
        }
    }

    /// Encodes `bytes` into a new guarded buffer of ASCII characters (no terminating NUL).
    package static func encode(_ bytes: UnsafeRawBufferPointer, padding: Padding) throws(VaultError) -> SecretBytes {
        try Sodium.ensureInitialized()
        let encodedLength = sodium_base64_encoded_len(bytes.count, padding.variant)  // includes the NUL
        let buffer = try SecretBytes(count: encodedLength)
        buffer.withUnsafeMutableBytes { out in
            _ = sodium_bin2base64(
                out.baseAddress!.assumingMemoryBound(to: CChar.self),
                out.count,
                bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                bytes.count,
                padding.variant
            )
        }
        return try buffer.withUnsafeBytes { (raw) throws(VaultError) in
            try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: raw[0..<(encodedLength - 1)]))
        }
    }

    /// Whether `byte` is in the URL-safe base64 alphabet (`=` excluded).
    static func isAlphabet(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 45
            || byte == 95
    }
}
