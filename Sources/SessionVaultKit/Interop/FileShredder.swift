#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Overwrites files before unlinking them: what `session-vault import --shred` does to the
/// plaintext source after a verified import.
///
/// - Warning: Overwriting in place is best effort. It does not reach earlier copies that the
///   storage keeps elsewhere: copy-on-write file systems (btrfs, ZFS, APFS) and log-structured
///   ones write the new bytes to new blocks; SSDs remap blocks (wear levelling) and keep the old
///   ones until they are erased; snapshots, backups, sync folders and editor swap files keep their
///   own copies. Treat a key that was ever stored in plaintext as exposed: the real remedy is to
///   log the session out (terminate it in Telegram's settings) once the vault is in use, or to
///   log in again and import the new session.
public enum FileShredder {
    /// The companion files of a SQLite database that may hold the same secrets.
    public static func companionFiles(of path: String) -> [String] {
        [path + "-journal", path + "-wal", path + "-shm"]
    }

    /// Overwrites `path` and its `-journal`, `-wal` and `-shm` files (those that exist) with random
    /// bytes and then zeros, syncs, and unlinks them.
    /// - Returns: the paths that were shredded.
    /// - Throws: ``VaultError/Code/io`` when a file cannot be overwritten or removed (the others are still tried).
    @discardableResult
    public static func shred(_ path: String) throws(VaultError) -> [String] {
        var shredded: [String] = []
        var firstError: VaultError?
        for file in [path] + companionFiles(of: path) {
            var info = stat()
            guard lstat(file, &info) == 0 else { continue }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                firstError = firstError ?? VaultError(.invalidArgument, "\(file) is not a regular file; not shredded")
                continue
            }
            do throws(VaultError) {
                try overwriteAndUnlink(file)
                shredded.append(file)
            } catch {
                firstError = firstError ?? error
            }
        }
        FileSystem.syncDirectory(of: path)
        if let firstError { throw firstError }
        return shredded
    }

    /// Overwrites one regular file with random bytes, then zeros (each pass synced), truncates and unlinks it.
    static func overwriteAndUnlink(_ path: String) throws(VaultError) {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { throw FileSystem.error(errno, "cannot open \(path) to overwrite it") }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            closeDescriptor(descriptor)
            throw FileSystem.error(code, "cannot inspect \(path)")
        }
        let size = Int(info.st_size)
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)
        defer { block.deallocate() }
        for pass in 0..<2 {
            var offset = 0
            while offset < size {
                let chunk = UnsafeMutableRawBufferPointer(rebasing: block[0..<min(block.count, size - offset)])
                if pass == 0 {
                    Sodium.randomBytes(into: chunk)
                } else {
                    chunk.initializeMemory(as: UInt8.self, repeating: 0)
                }
                do throws(VaultError) {
                    try FileDescriptorIO.write(UnsafeRawBufferPointer(chunk), to: descriptor, at: offset, failure: "cannot overwrite \(path)")
                } catch {
                    closeDescriptor(descriptor)
                    throw error
                }
                offset += chunk.count
            }
            guard fsync(descriptor) == 0 else {
                let code = errno
                closeDescriptor(descriptor)
                throw FileSystem.error(code, "cannot sync \(path) after overwriting it")
            }
        }
        _ = ftruncate(descriptor, 0)
        _ = fsync(descriptor)
        closeDescriptor(descriptor)
        guard unlink(path) == 0 else { throw FileSystem.error(errno, "cannot remove \(path)") }
    }
}
