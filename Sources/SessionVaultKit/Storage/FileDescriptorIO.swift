#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing whole buffers through a file descriptor with `read(2)` / `write(2)`: the
/// package's one place for the loops that retry on `EINTR` and on short reads and writes.
///
/// Nothing passes through a `String`, `[UInt8]` or `Data` on the way: a secret is read straight into
/// guarded memory (``readSecret(from:limit:failure:)``) and written from it.
package enum FileDescriptorIO {
    /// Reads until end of file or until `buffer` is full.
    /// - Parameter failure: What failed, for the error (`cannot read /x/y`); the reason is appended.
    /// - Returns: How many bytes were read (less than `buffer.count` only at end of file).
    /// - Throws: ``VaultError/Code/io`` with the `errno` of the failed `read(2)`.
    package static func read(
        from descriptor: Int32,
        into buffer: UnsafeMutableRawBufferPointer,
        failure: @autoclosure () -> String
    ) throws(VaultError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var total = 0
        while total < buffer.count {
            let count = systemRead(descriptor, base + total, buffer.count - total)
            if count < 0 {
                if errno == EINTR { continue }
                throw FileSystem.error(errno, failure())
            }
            if count == 0 { break }
            total += count
        }
        return total
    }

    /// Reads until end of file, or until more than `limit` bytes arrived, into guarded memory.
    /// - Returns: The bytes (at most `limit`), and whether more followed (the input was too long).
    package static func readSecret(
        from descriptor: Int32,
        limit: Int,
        failure: @autoclosure () -> String
    ) throws(VaultError) -> (bytes: SecretBytes, isTruncated: Bool) {
        let buffer = try SecretBytes(count: limit + 1)
        defer { buffer.wipe() }
        let total = try buffer.withUnsafeMutableBytes { (raw) throws(VaultError) in
            try read(from: descriptor, into: raw, failure: failure())
        }
        let bytes = try buffer.withUnsafeBytes { (raw) throws(VaultError) in
            try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: raw[0..<min(total, limit)]))
        }
        return (bytes, total > limit)
    }

    /// Writes every byte of `bytes`, at the file offset `offset` (`pwrite(2)`) or, when it is nil, at
    /// the descriptor's position.
    /// - Parameter failure: What failed, for the error (`cannot write /x/y`); the reason is appended.
    /// - Throws: ``VaultError/Code/io`` with the `errno` of the failed write.
    package static func write(
        _ bytes: UnsafeRawBufferPointer,
        to descriptor: Int32,
        at offset: Int? = nil,
        failure: @autoclosure () -> String
    ) throws(VaultError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let written =
                offset.map { systemPWrite(descriptor, base + done, bytes.count - done, off_t($0 + done)) }
                ?? systemWrite(descriptor, base + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileSystem.error(errno, failure())
            }
            done += written
        }
    }
}

/// `close(2)`, named apart from the `close()` methods of the types that use it.
func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

/// `read(2)`, named apart from ``FileDescriptorIO/read(from:into:failure:)``.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

/// `write(2)`, named apart from ``FileDescriptorIO/write(_:to:at:failure:)``.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

/// `pwrite(2)`.
private func systemPWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: off_t) -> Int {
    pwrite(descriptor, buffer, count, offset)
}
