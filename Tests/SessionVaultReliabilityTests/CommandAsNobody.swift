import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs `session-vault` as `nobody` (util-linux `setpriv`) without depending on the checkout: the
/// binary and any sanitizer suppressions file are copied into a scratch directory that `nobody` can
/// reach, because the checkout may sit in a directory only its owner can enter (`/root`, a private
/// temporary directory, mode 0700).
///
/// `setpriv` keeps root's capabilities until its own `execve`, so the binary in the checkout would
/// still start; but the child then runs with none, and a thread-sanitized child that cannot read
/// `TSAN_OPTIONS=suppressions=<checkout>/tsan-suppressions.txt` exits 66 before doing anything.
/// The copies make every file the child opens readable to it, whoever can read the checkout.
struct CommandAsNobody {
    static let setpriv = "/usr/bin/setpriv"
    /// `setpriv` arguments that drop to uid and gid 65534 with no supplementary groups.
    static let dropPrivileges = ["--reuid=65534", "--regid=65534", "--clear-groups"]
    /// Sanitizer option variables whose `suppressions=` file the child must read.
    static let sanitizerVariables = ["TSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"]

    /// The copied `session-vault` (mode 755).
    let executable: String
    /// Copied suppressions files, by the path the parent's options name.
    private let suppressions: [String: String]

    /// Copies the built binary and the suppressions files named in this process's environment into
    /// `directory`, which must be reachable by `nobody` (``withScratchDirectory(_:)`` makes such directories).
    init(copyingInto directory: String) throws {
        executable = directory + "/session-vault"
        try Self.copy(SoakBinary.path, to: executable, mode: 0o755)
        var suppressions: [String: String] = [:]
        let parent = ProcessInfo.processInfo.environment
        for variable in Self.sanitizerVariables {
            guard let options = parent[variable] else { continue }
            for path in Self.suppressionPaths(in: options) where suppressions[path] == nil {
                let copy = directory + "/suppressions-\(suppressions.count)-" + URL(fileURLWithPath: path).lastPathComponent
                try Self.copy(path, to: copy, mode: 0o644)
                suppressions[path] = copy
            }
        }
        self.suppressions = suppressions
    }

    /// Every file the child opens from the copies: the binary and the suppressions files.
    var copiedFiles: [String] { [executable] + suppressions.values.sorted() }

    /// `setpriv …` followed by the copied binary and `arguments`: the program and its arguments for
    /// ``ChildProcess``.
    func command(_ arguments: [String]) -> (program: String, arguments: [String]) {
        (Self.setpriv, Self.dropPrivileges + [executable] + arguments)
    }

    /// `environment` with every sanitizer `suppressions=` path replaced by its copy.
    func environment(_ environment: [String: String]) -> [String: String] {
        var result = environment
        for variable in Self.sanitizerVariables {
            guard var options = result[variable] else { continue }
            for (original, copy) in suppressions {
                options = options.replacingOccurrences(of: "suppressions=" + original, with: "suppressions=" + copy)
            }
            result[variable] = options
        }
        return result
    }

    /// The values of `suppressions=` in a sanitizer option string (options are separated by spaces,
    /// colons or commas; values may be quoted).
    static func suppressionPaths(in options: String) -> [String] {
        options.split(whereSeparator: { " :,\t\n".contains($0) }).compactMap { option in
            guard option.hasPrefix("suppressions=") else { return nil }
            let value = option.dropFirst("suppressions=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            return value.isEmpty ? nil : value
        }
    }

    /// Copies through a close-on-exec descriptor. (`FileManager.copyItem` leaves its descriptor
    /// inheritable: a child that another test spawns meanwhile would keep the new binary open for
    /// writing, and executing it would fail with "Text file busy".)
    private static func copy(_ source: String, to destination: String, mode: mode_t) throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let descriptor = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw ChildProcessError("cannot create \(destination): errno \(errno)") }
        defer { close(descriptor) }
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw ChildProcessError("cannot write \(destination): errno \(errno)") }
                offset += written
            }
        }
        guard fchmod(descriptor, mode) == 0 else { throw ChildProcessError("chmod \(destination) failed: errno \(errno)") }
    }
}

/// Whether others (`nobody`) may search every directory from `/` down to `path`.
func othersCanTraverse(_ path: String) -> Bool {
    var current = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    while true {
        var info = stat()
        guard stat(current, &info) == 0, info.st_mode & S_IXOTH != 0 else { return false }
        if current == "/" || current.isEmpty { return true }
        current = (current as NSString).deletingLastPathComponent
    }
}
