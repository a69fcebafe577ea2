/// Writes the little-endian record encodings of `docs/FORMAT.md` §5 into a caller-owned buffer
/// (the vault's guarded plaintext scratch), never into ordinary memory.
struct ByteWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    var written: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<count]) }

    private mutating func reserve(_ n: Int) throws(VaultError) -> Int {
        guard count + n <= buffer.count else {
            throw VaultError(.invalidArgument, "a record is larger than the \(buffer.count)-byte limit")
        }
        defer { count += n }
        return count
    }

    mutating func u8(_ value: UInt8) throws(VaultError) {
        buffer[try reserve(1)] = value
    }

    mutating func integer<T: FixedWidthInteger>(_ value: T) throws(VaultError) {
        let start = try reserve(MemoryLayout<T>.size)
        withUnsafeBytes(of: value.littleEndian) { bytes in
            for (i, byte) in bytes.enumerated() { buffer[start + i] = byte }
        }
    }

    mutating func bytes(_ source: UnsafeRawBufferPointer) throws(VaultError) {
        let start = try reserve(source.count)
        if source.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + source.count)]).copyMemory(from: source)
        }
    }

    /// u16le byte length ‖ UTF-8 bytes.
    mutating func string(_ text: String) throws(VaultError) {
        let utf8 = Array(text.utf8)
        guard utf8.count <= Int(UInt16.max) else {
            throw VaultError(.invalidArgument, "a text field is longer than \(UInt16.max) bytes")
        }
        try integer(UInt16(utf8.count))
        try utf8.withBytes { (raw) throws(VaultError) in try bytes(raw) }
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}

/// Reads the encodings ``ByteWriter`` writes; any overrun or leftover byte is ``VaultError/Code/corrupt``.
struct ByteReader {
    private let buffer: UnsafeRawBufferPointer
    private(set) var offset = 0
    let kind: RecordKind

    init(_ buffer: UnsafeRawBufferPointer, kind: RecordKind) {
        self.buffer = buffer
        self.kind = kind
    }

    private func failure(_ what: String) -> VaultError {
        VaultError(.corrupt, "a \(kind) record is malformed (\(what))", recordKind: kind)
    }

    private mutating func take(_ n: Int) throws(VaultError) -> Int {
        guard n >= 0, offset + n <= buffer.count else { throw failure("too short") }
        defer { offset += n }
        return offset
    }

    mutating func u8() throws(VaultError) -> UInt8 { buffer[try take(1)] }

    mutating func integer<T: FixedWidthInteger>(_: T.Type = T.self) throws(VaultError) -> T {
        let start = try take(MemoryLayout<T>.size)
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[start..<(start + MemoryLayout<T>.size)])) }
        return T(littleEndian: value)
    }

    /// A view of the next `n` bytes, valid while the underlying buffer is.
    mutating func bytes(_ n: Int) throws(VaultError) -> UnsafeRawBufferPointer {
        let start = try take(n)
        return UnsafeRawBufferPointer(rebasing: buffer[start..<(start + n)])
    }

    mutating func string() throws(VaultError) -> String {
        let length = Int(try integer(UInt16.self))
        let raw = try bytes(length)
        guard let text = String(validating: raw, as: UTF8.self) else { throw failure("invalid UTF-8") }
        return text
    }

    func expectEnd() throws(VaultError) {
        guard offset == buffer.count else { throw failure("\(buffer.count - offset) unexpected trailing bytes") }
    }

    func invalid(_ what: String) -> VaultError { failure(what) }
}
