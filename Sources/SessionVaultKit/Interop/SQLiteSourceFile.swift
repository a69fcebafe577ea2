#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A SQLite session file to import: its header checked before SQLite sees it, then opened so that
/// the source can never change.
///
/// A file in rollback-journal mode without a `-journal` beside it is opened read-only in place. A
/// file in WAL mode, or one with a `-journal` or `-wal` file (a client crashed or is running), is
/// first copied with its journal into a private (0700) temporary directory and the copy is opened:
/// opening the original would roll back the journal or checkpoint the WAL, that is, write to it.
/// The copies are overwritten and removed when the file is closed. The directory's name carries the
/// pid of the process (`session-vault-import-<pid>-XXXXXX`): a process killed meanwhile leaves its
/// copy behind, and the next import (of any source) removes (overwrites and unlinks) the copies of
/// every such directory whose process is gone.
final class SQLiteSourceFile {
    /// The 16-byte magic every SQLite 3 file starts with.
    static let magic: [UInt8] = Array("SQLite format 3".utf8) + [0]

    let path: String
    let database: SQLiteConnection
    private var snapshotDirectory: String?
    private var snapshotFiles: [String] = []

    /// Checks the header of `path` and opens it (or a private copy of it) read-only.
    /// - Parameter label: How errors name the file, e.g. `session file /x/bot.session`.
    init(path: String, label: String, library: SQLiteLibrary) throws(VaultError) {
        self.path = path
        let header = try Self.checkHeader(path: path, label: label)
        let candidates: [String] = [path + "-journal", path + "-wal"]
        let journals = candidates.filter { (candidate: String) -> Bool in access(candidate, F_OK) == 0 }
        if header.isWAL || !journals.isEmpty {
            let directory = try Self.makePrivateDirectory()
            snapshotDirectory = directory
            let copy = directory + "/source.sqlite"
            do throws(VaultError) {
                try Self.copyFile(from: path, to: copy)
                snapshotFiles.append(copy)
                for journal in journals {
                    let suffix = journal.hasSuffix("-wal") ? "-wal" : "-journal"
                    try Self.copyFile(from: journal, to: copy + suffix)
                    snapshotFiles.append(copy + suffix)
                }
                database = try SQLiteConnection(path: copy, library: library, role: .foreignSession(label: label))
            } catch {
                Self.removeSnapshot(directory: directory, files: snapshotFiles + [copy + "-shm", copy + "-journal", copy + "-wal"])
                throw error
            }
        } else {
            database = try SQLiteConnection(path: path, library: library, role: .foreignSession(label: label), readOnly: true)
        }
    }

    deinit { close() }

    /// Closes the database and shreds any private copy.
    func close() {
        try? database.close()
        if let snapshotDirectory {
            let files = snapshotFiles + snapshotFiles.map { $0 + "-shm" } + [snapshotDirectory + "/source.sqlite-journal", snapshotDirectory + "/source.sqlite-wal"]
            Self.removeSnapshot(directory: snapshotDirectory, files: files)
            self.snapshotDirectory = nil
        }
    }

    /// What the 100-byte header says.
    struct Header {
        var pageSize: Int
        var pageCount: Int?
        var isWAL: Bool
    }

    /// Reads and checks the header: the magic, a plausible page size, and a file at least as long
    /// as the header says (a truncated copy is named as such instead of failing deep inside SQLite).
    static func checkHeader(path: String, label: String) throws(VaultError) -> Header {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileSystem.error(errno, "cannot read the \(label)") }
        defer { closeDescriptor(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileSystem.error(errno, "cannot inspect the \(label)") }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: 100)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 100, 0) }
        guard count >= 0 else { throw FileSystem.error(errno, "cannot read the \(label)") }
        guard count >= 16, Array(bytes[0..<16]) == magic else {
            throw VaultError(.invalidArgument, "the \(label) is not a SQLite database")
        }
        guard count == 100 else {
            throw VaultError(.corrupt, "the \(label) is truncated: \(size) bytes, shorter than the 100-byte SQLite header")
        }
        let rawPageSize = Int(bytes[16]) << 8 | Int(bytes[17])
        let pageSize = rawPageSize == 1 ? 65536 : rawPageSize
        guard pageSize >= 512, pageSize & (pageSize - 1) == 0 else {
            throw VaultError(.corrupt, "the \(label) is damaged: its header gives page size \(rawPageSize)")
        }
        func u32(_ offset: Int) -> UInt32 {
            bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let pages = u32(28)
        let pageCount = pages != 0 && u32(92) == u32(24) ? Int(pages) : nil
        if let pageCount, size < pageCount * pageSize {
            throw VaultError(
                .corrupt,
                "the \(label) is truncated: its header says \(pageCount) pages of \(pageSize) bytes "
                    + "(\(pageCount * pageSize) bytes), the file has \(size)"
            )
        }
        if size % pageSize != 0 {
            throw VaultError(
                .corrupt,
                "the \(label) is truncated or damaged: \(size) bytes is not a whole number of \(pageSize)-byte pages"
            )
        }
        return Header(pageSize: pageSize, pageCount: pageCount, isWAL: bytes[18] == 2 || bytes[19] == 2)
    }

    /// The prefix of every private directory of an import.
    static let directoryPrefix = "session-vault-import-"

    /// `$TMPDIR`, or `/tmp`.
    static func temporaryBase() -> String {
        getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    private static func makePrivateDirectory() throws(VaultError) -> String {
        let base = temporaryBase()
        var template = Array((base + "/" + directoryPrefix + "\(getpid())-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else { throw FileSystem.error(errno, "cannot create a private temporary directory in \(base)") }
        _ = chmod(template.withUnsafeBufferPointer { $0.baseAddress! }, 0o700)
        return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }

    /// Removes the private directories in `base` left by imports that were killed: directories (not
    /// symbolic links) owned by this user, named `session-vault-import-<pid>-XXXXXX`, whose pid no
    /// longer runs. Their files are overwritten before they are unlinked. Best effort: what cannot be
    /// removed stays.
    static func removeLeftovers(in base: String) {
        guard let names = FileSystem.entryNames(of: base) else { return }
        var leftovers: [String] = []
        for name in names {
            guard name.hasPrefix(directoryPrefix) else { continue }
            let rest = name.dropFirst(directoryPrefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
            guard kill(pid, 0) != 0 && errno == ESRCH else { continue }
            leftovers.append(base + "/" + name)
        }
        for leftover in leftovers {
            var info = stat()
            guard lstat(leftover, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid() else { continue }
            guard let names = FileSystem.entryNames(of: leftover) else { continue }
            // Only regular files are overwritten (opening a FIFO to write would block).
            let files = names.map { leftover + "/" + $0 }.filter { file in
                var fileInfo = stat()
                return lstat(file, &fileInfo) == 0 && fileInfo.st_mode & S_IFMT == S_IFREG
            }
            removeSnapshot(directory: leftover, files: files)
        }
    }

    /// Copies a file byte for byte into a new 0600 file.
    private static func copyFile(from source: String, to destination: String) throws(VaultError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw FileSystem.error(errno, "cannot read \(source)") }
        defer { closeDescriptor(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard output >= 0 else { throw FileSystem.error(errno, "cannot create \(destination)") }
        defer { closeDescriptor(output) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)
        defer {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            buffer.deallocate()
        }
        while true {
            let count = try FileDescriptorIO.read(from: input, into: buffer, failure: "cannot read \(source)")
            if count == 0 { break }
            try FileDescriptorIO.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), to: output, failure: "cannot write \(destination)")
            if count < buffer.count { break }
        }
    }

    private static func removeSnapshot(directory: String, files: [String]) {
        for file in files where access(file, F_OK) == 0 {
            try? FileShredder.overwriteAndUnlink(file)
        }
        rmdir(directory)
    }
}

