#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension FileShredder {
    /// Overwrites and removes every regular file under `folder` (``shred(_:)``'s passes), then the
    /// emptied directories and `folder` itself. Symbolic links are removed, never followed; anything
    /// else (a socket, a device) stops the shredding with an error and is left in place.
    /// - Returns: How many files were overwritten and removed.
    @discardableResult
    public static func shredFolder(_ folder: String) throws(VaultError) -> Int {
        var info = stat()
        guard lstat(folder, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw VaultError(.invalidArgument, "\(folder) is not a directory; not shredded")
        }
        var count = 0
        try shredContents(of: folder, count: &count)
        guard rmdir(folder) == 0 else { throw FileSystem.error(errno, "cannot remove \(folder)") }
        FileSystem.syncDirectory(of: folder)
        return count
    }

    private static func shredContents(of directory: String, count: inout Int) throws(VaultError) {
        guard let names = FileSystem.entryNames(of: directory) else { throw FileSystem.error(errno, "cannot list \(directory)") }
        for name in names.sorted() {
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                try overwriteAndUnlink(path)
                count += 1
            case S_IFDIR:
                try shredContents(of: path, count: &count)
                guard rmdir(path) == 0 else { throw FileSystem.error(errno, "cannot remove \(path)") }
            case S_IFLNK:
                guard unlink(path) == 0 else { throw FileSystem.error(errno, "cannot remove \(path)") }
            default:
                throw VaultError(.invalidArgument, "\(path) is not a regular file or directory; shredding stopped")
            }
        }
        FileSystem.syncDirectory(of: directory + "/.")
    }
}
