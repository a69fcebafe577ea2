import SessionVaultKit

/// A growable byte buffer in libsodium guarded memory, for the agent's request and answer lines
/// (which carry auth keys in base64). Growing copies into a larger guarded allocation and the old
/// one is zeroed as it is released; ``removeAll()`` zeroes what was used.
struct GuardedByteBuffer: ~Copyable {
    private var storage: SecretBytes
    /// The number of bytes in use, from the start of the buffer.
    private(set) var count = 0
    /// The largest size the buffer may grow to.
    let limit: Int

    /// A buffer with room for `capacity` bytes before it first grows, and at most `limit` bytes.
    init(capacity: Int, limit: Int) throws(VaultError) {
        storage = try SecretBytes(count: max(capacity, 16))
        self.limit = limit
    }

    /// The bytes in use.
    func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try storage.withUnsafeBytes { (raw) throws(E) in try body(UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
    }

    /// Appends `bytes`, growing the buffer when needed.
    /// - Throws: ``VaultError/Code/invalidArgument`` when the buffer would exceed its limit.
    mutating func append(_ bytes: UnsafeRawBufferPointer) throws(VaultError) {
        try reserve(bytes.count)
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let offset = count
        storage.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: offset).copyMemory(from: base, byteCount: bytes.count) }
        count += bytes.count
    }

    /// Appends the UTF-8 bytes of `text` (never a secret: secrets are appended from guarded memory).
    mutating func append(_ text: String) throws(VaultError) {
        var text = text
        var failure: VaultError?
        text.withUTF8 { utf8 in
            do throws(VaultError) { try append(UnsafeRawBufferPointer(utf8)) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Appends one byte.
    mutating func append(byte: UInt8) throws(VaultError) {
        var byte = byte
        try Swift.withUnsafeBytes(of: &byte) { (raw) throws(VaultError) in try append(raw) }
    }

    /// Lets `body` write up to `maximum` bytes at the end (e.g. `read(2)`), and keeps the number it
    /// returns; a negative return adds nothing and is passed through.
    mutating func appendInPlace(maximum: Int, _ body: (UnsafeMutableRawBufferPointer) -> Int) throws(VaultError) -> Int {
        try reserve(maximum)
        let offset = count
        let written = storage.withUnsafeMutableBytes { raw in
            body(UnsafeMutableRawBufferPointer(rebasing: raw[offset..<(offset + maximum)]))
        }
        if written > 0 { count += written }
        return written
    }

    /// Drops the first `length` bytes, moving the rest to the front and zeroing the vacated tail.
    mutating func removeFirst(_ length: Int) {
        let total = count
        storage.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            if length < total { base.copyMemory(from: base.advanced(by: length), byteCount: total - length) }
            let remaining = total - length
            UnsafeMutableRawBufferPointer(rebasing: raw[remaining..<total]).initializeMemory(as: UInt8.self, repeating: 0)
        }
        count = total - length
    }

    /// Zeroes the used bytes and empties the buffer (the capacity is kept).
    mutating func removeAll() {
        removeFirst(count)
    }

    private mutating func reserve(_ extra: Int) throws(VaultError) {
        let needed = count + extra
        guard needed <= limit else {
            throw VaultError(.invalidArgument, "a message is larger than \(limit / (1 << 20)) MiB")
        }
        guard needed > storage.count else { return }
        var capacity = storage.count
        while capacity < needed { capacity *= 2 }
        let grown = try SecretBytes(count: min(capacity, limit))
        let used = count
        storage.withUnsafeBytes { old in
            grown.withUnsafeMutableBytes { new in
                new.baseAddress!.copyMemory(from: old.baseAddress!, byteCount: used)
            }
        }
        storage = grown
    }
}
