/// Reads a small input (a session string in a file or on standard input) with `read(2)` straight
/// into guarded memory (``FileDescriptorIO/readSecret(from:limit:failure:)``): the bytes never pass through a `String`, `[UInt8]` or `Data`.
enum SecretInput {
    /// The most a session string input may hold; real strings are under 400 characters.
    static let maximumByteCount = 16 * 1024

    /// Reads everything from `descriptor` up to ``maximumByteCount``.
    /// - Returns: the bytes, and whether more followed (the input was too long).
    static func readAll(from descriptor: Int32, what: String) throws(VaultError) -> (bytes: SecretBytes, truncated: Bool) {
        let (bytes, isTruncated) = try FileDescriptorIO.readSecret(from: descriptor, limit: maximumByteCount, failure: "cannot read \(what)")
        return (bytes, isTruncated)
    }

    /// The range of `bytes` without leading and trailing ASCII whitespace.
    static func trimmedRange(_ bytes: UnsafeRawBufferPointer) -> Range<Int> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 || byte == 11 || byte == 12 }
        var start = 0
        var end = bytes.count
        while start < end && isSpace(bytes[start]) { start += 1 }
        while end > start && isSpace(bytes[end - 1]) { end -= 1 }
        return start..<end
    }
}

