#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CTDataCrypto

/// One `TDF$` file of a `tdata` folder: `"TDF$"`, the writer's version (i32 little-endian), the
/// payload, and MD5(payload ‖ payload length (i32 LE) ‖ version (i32 LE) ‖ `"TDF$"`). Its payload is
/// encrypted (or, for `key_datas`, a salt and encrypted blobs), so reading it into ordinary memory
/// exposes nothing; what it decrypts to goes to guarded memory.
struct TDFFile {
    /// The largest file read (account MTP files are a few hundred bytes; `key_datas` under 1 KiB).
    static let maximumSize = 1 << 20

    var version: Int32
    var data: [UInt8]

    static func read(_ path: String) throws(VaultError) -> TDFFile {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileSystem.error(errno, "cannot read \(path)") }
        defer { closeDescriptor(descriptor) }
        var buffer = [UInt8](repeating: 0, count: maximumSize + 1)
        var outcome: Result<Int, VaultError>?
        buffer.withUnsafeMutableBytes { raw in
            outcome = Result { () throws(VaultError) -> Int in try FileDescriptorIO.read(from: descriptor, into: raw, failure: "cannot read \(path)") }
        }
        let count = try outcome!.get()
        guard count <= maximumSize else { throw VaultError(.invalidArgument, "\(path) is over \(maximumSize) bytes: no tdata key or account file is") }
        let bytes = Array(buffer[0..<count])
        guard bytes.count >= 4 + 4 + 16 else { throw VaultError(.corrupt, "\(path) is truncated: \(bytes.count) bytes") }
        guard bytes.starts(with: Array("TDF$".utf8)) else {
            throw VaultError(.invalidArgument, "\(path) does not start with TDF$: it is no Telegram Desktop data file")
        }
        let version = Int32(bitPattern: UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24)
        let data = Array(bytes[8..<(bytes.count - 16)])
        var check = data
        let length = UInt32(data.count)
        check += [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
        check += Array(bytes[4..<8]) + Array("TDF$".utf8)
        var digest = [UInt8](repeating: 0, count: 16)
        check.withUnsafeBufferPointer { sv_md5($0.baseAddress, $0.count, &digest) }
        guard digest == Array(bytes.suffix(16)) else {
            throw VaultError(.corrupt, "\(path) fails its MD5 check: truncated or damaged")
        }
        return TDFFile(version: version, data: data)
    }
}

/// Reads Qt `QDataStream` values (big-endian) from a buffer, with errors instead of traps.
struct QDataReader {
    let bytes: UnsafeRawBufferPointer
    let what: String
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer, what: String) {
        self.bytes = bytes
        self.what = what
    }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func take(_ count: Int) throws(VaultError) -> Range<Int> {
        guard count >= 0, offset + count <= bytes.count else { throw VaultError(.corrupt, "\(what) is truncated") }
        defer { offset += count }
        return offset..<(offset + count)
    }

    mutating func uint32() throws(VaultError) -> UInt32 {
        let range = try take(4)
        return bytes[range].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A `QByteArray`: its range, or nil for a null array (length 0xFFFFFFFF).
    mutating func byteArrayRange() throws(VaultError) -> Range<Int>? {
        let length = try uint32()
        if length == UInt32.max { return nil }
        return try take(Int(length))
    }

    /// A `QByteArray` copied out (for ciphertext and salts, never plaintext secrets).
    mutating func byteArray() throws(VaultError) -> [UInt8]? {
        try byteArrayRange().map { Array(bytes[$0]) }
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body with typed throws (the standard library's only rethrows).
    func withTypedBytes<R>(_ body: (UnsafeRawBufferPointer) throws(VaultError) -> R) throws(VaultError) -> R {
        var result: Result<R, VaultError>?
        withUnsafeBytes { raw in result = Result { () throws(VaultError) -> R in try body(raw) } }
        return try result!.get()
    }
}
