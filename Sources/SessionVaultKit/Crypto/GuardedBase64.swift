internal import CSodium

/// The package's one base64 codec: libsodium's constant-time `sodium_base642bin` /
/// `sodium_bin2base64`, strict (no whitespace, no stray padding, no leftover bits set).
///
/// Secrets are decoded into, and encoded from, guarded memory, so that a session string's or an
/// agent message's auth key never passes through a `[UInt8]` or `String`. Text that holds no secret
/// (the ciphertext of a ``SealedSessionString``) goes through ``encodeText(_:padding:)`` and
/// ``decodeText(_:padding:)`` instead.
package enum GuardedBase64 {
    /// The alphabet and whether `=` padding is part of the text.
    package enum Padding: Sendable {
        /// URL-safe alphabet, padded (Telethon strings).
        case padded
        /// URL-safe alphabet, no padding: RFC 4648 §5 (Pyrogram strings, sealed session strings).
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
    /// - Returns: nil when `text` is not valid base64 of that padding kind.
    package static func decode(_ text: UnsafeRawBufferPointer, padding: Padding) throws(VaultError) -> SecretBytes? {
        try Sodium.ensureInitialized()
        let output = try SecretBytes(count: decodedCapacity(text.count))
        let length = output.withUnsafeMutableBytes { decode(text, into: $0, padding: padding) }
        guard let length else { return nil }
        return try output.withUnsafeBytes { (raw) throws(VaultError) in
            try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: raw[0..<length]))
        }
    }

    /// Encodes `bytes` into a new guarded buffer of ASCII characters (no terminating NUL).
    package static func encode(_ bytes: UnsafeRawBufferPointer, padding: Padding) throws(VaultError) -> SecretBytes {
        try Sodium.ensureInitialized()
        let encodedLength = sodium_base64_encoded_len(bytes.count, padding.variant)  // includes the NUL
        let buffer = try SecretBytes(count: encodedLength)
        buffer.withUnsafeMutableBytes { encode(bytes, into: $0, padding: padding) }
        return try buffer.withUnsafeBytes { (raw) throws(VaultError) in
            try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: raw[0..<(encodedLength - 1)]))
        }
    }

    /// Encodes bytes that are no secret (ciphertext) into text.
    static func encodeText(_ bytes: [UInt8], padding: Padding) throws(VaultError) -> String {
        try Sodium.ensureInitialized()
        var buffer = [UInt8](repeating: 0, count: sodium_base64_encoded_len(bytes.count, padding.variant))
        bytes.withUnsafeBytes { input in buffer.withUnsafeMutableBytes { encode(input, into: $0, padding: padding) } }
        return String(decoding: buffer.dropLast(), as: UTF8.self)
    }

    /// Decodes text that holds no secret (ciphertext).
    /// - Returns: nil when `text` is not valid base64 of that padding kind.
    static func decodeText(_ text: Substring, padding: Padding) throws(VaultError) -> [UInt8]? {
        try Sodium.ensureInitialized()
        var ascii = Array(text.utf8)
        var output = [UInt8](repeating: 0, count: decodedCapacity(ascii.count))
        let length = ascii.withUnsafeMutableBytes { input in
            output.withUnsafeMutableBytes { decode(UnsafeRawBufferPointer(input), into: $0, padding: padding) }
        }
        ascii.removeAll()
        guard let length else { return nil }
        output.removeLast(output.count - length)
        return output
    }

    /// Whether `byte` is in the URL-safe base64 alphabet (`=` excluded).
    static func isAlphabet(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 45
            || byte == 95
    }

    // MARK: - libsodium

    /// Room enough for the bytes `count` characters decode to.
    private static func decodedCapacity(_ count: Int) -> Int { count / 4 * 3 + 3 }

    /// Decodes all of `text` into `output`: the decoded length, or nil when any character is not
    /// part of valid base64 of that padding kind.
    private static func decode(_ text: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, padding: Padding) -> Int? {
        guard let base = text.baseAddress, !text.isEmpty else { return 0 }
        var length = 0
        var end: UnsafePointer<CChar>?
        let status = text.withMemoryRebound(to: CChar.self) { input in
            sodium_base642bin(
                output.baseAddress!.assumingMemoryBound(to: UInt8.self),
                output.count,
                input.baseAddress,
                input.count,
                nil,
                &length,
                &end,
                padding.variant
            )
        }
        guard status == 0, let end, end == base.assumingMemoryBound(to: CChar.self) + text.count else { return nil }
        return length
    }

    /// Encodes `bytes` into `output`, which holds `sodium_base64_encoded_len` bytes (with the NUL).
    private static func encode(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, padding: Padding) {
        _ = sodium_bin2base64(
            output.baseAddress!.assumingMemoryBound(to: CChar.self),
            output.count,
            bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
            bytes.count,
            padding.variant
        )
    }
}
