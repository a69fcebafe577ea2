#if canImport(Glibc)
package import Glibc
#elseif canImport(Darwin)
package import Darwin
#endif

/// Small POSIX helpers for the file backend: modes, existence, removal, errno mapping.
package enum FileSystem {
    /// A ``VaultError`` for a failed system call, with a readable reason and the errno.
    package static func error(_ code: Int32, _ context: String) -> VaultError {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOENT:
            return VaultError(.notFound, "\(context): \(reason)", errno: code)
        case EEXIST:
            return VaultError(.alreadyExists, "\(context): \(reason)", errno: code)
        default:
            return VaultError(.io, "\(context): \(reason)", errno: code)
        }
    }

    /// File status, or nil when the path does not exist. Symbolic links are not followed.
    package static func status(_ path: String) throws(VaultError) -> stat? {
        var info = stat()
        if lstat(path, &info) == 0 { return info }
        if errno == ENOENT { return nil }
        throw error(errno, "cannot inspect \(path)")
    }

    static func isRegularFile(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFREG }
    static func isDirectory(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFDIR }

    /// Permission bits, e.g. `0o600`.
    package static func permissions(_ info: stat) -> UInt32 { UInt32(info.st_mode) & 0o7777 }

    /// Creates an empty file with mode 0600, failing if anything exists at `path`.
    static func createExclusive(_ path: String) throws(VaultError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw error(errno, "cannot create \(path)") }
        _ = fchmod(descriptor, 0o600)
        close(descriptor)
    }

    /// Reads up to `count` bytes from the start of a file.
    package static func readPrefix(_ path: String, count: Int) throws(VaultError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { throw error(errno, "cannot read \(path)") }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: count)
        let read = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, 0) }
        guard read >= 0 else { throw error(errno, "cannot read \(path)") }
        return Array(buffer.prefix(read))
    }

    /// Removes a file if it exists (errors other than ENOENT are ignored).
    package static func removeIfPresent(_ path: String) {
        unlink(path)
    }

    /// `fsync` of a directory, so that a created or removed name is durable.
    static func syncDirectory(of path: String) {
        let directory = directoryName(of: path)
        let descriptor = open(directory, O_RDONLY | O_CLOEXEC | O_DIRECTORY)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    /// The directory part of a path (`.` when there is none).
    package static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// The current working directory.
    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return cString(buffer)
    }

    /// The names in `directory` without `.` and `..`, or nil (with `errno` set) when it cannot be
    /// opened. Each name is read through the entry's pointer: copying a whole `dirent` would read
    /// past a short record at the end of the directory buffer (and did, with SIGSEGV).
    package static func entryNames(of directory: String) -> [String]? {
        guard let handle = opendir(directory) else { return nil }
        defer { closedir(handle) }
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = String(cString: UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
