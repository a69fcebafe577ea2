#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a small input (a session string in a file or on standard input) with `read(2)` straight
/// into guarded memory: the bytes never pass through a `String`, `[UInt8]` or `Data`.
enum SecretInput {
    /// The most a session string input may hold; real strings are under 400 characters.
    static let maximumByteCount = 16 * 1024

    /// Reads everything from `descriptor` up to ``maximumByteCount``.
    /// - Returns: the bytes, and whether more followed (the input was too long).
    static func readAll(from descriptor: Int32, what: String) throws(VaultError) -> (bytes: SecretBytes, truncated: Bool) {
        let buffer = try SecretBytes(count: maximumByteCount + 1)
        var total = 0
        while total <= maximumByteCount {
            let count = buffer.withUnsafeMutableBytes { raw in
                systemRead(descriptor, raw.baseAddress! + total, raw.count - total)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw VaultError(.io, "cannot read \(what): \(String(cString: strerror(errno)))", errno: errno)
            }
            if count == 0 { break }
            total += count
        }
        let truncated = total > maximumByteCount
        let length = min(total, maximumByteCount)
        let bytes = try buffer.withUnsafeBytes { (raw) throws(VaultError) in
            try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: raw[0..<length]))
        }
        buffer.wipe()
        return (bytes, truncated)
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

/// `read(2)`, named apart from the static methods above.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
