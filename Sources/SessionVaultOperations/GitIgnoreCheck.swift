import SessionVaultKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a file sits inside a git work tree without being ignored: one `git add .` away from a
/// commit, and from there often one push away from the world.
///
/// The work tree is found by walking up from the file's directory to the first `.git` (a folder, or
/// a file for worktrees and submodules). Only then is `git` run, with an explicit argument vector
/// through `posix_spawnp` (never a shell): `git -C <top> check-ignore -q -- <file>`, and, when the
/// file is not ignored, `git -C <top> ls-files --error-unmatch -- <file>` to tell tracked from untracked.
/// The child gets the current environment minus `SESSION_VAULT_*`, `CREDENTIALS_DIRECTORY`,
/// `GIT_DIR` and `GIT_WORK_TREE`, and `/dev/null` for its standard streams.
enum GitIgnoreCheck {
    /// What the check found.
    enum Outcome: Equatable {
        /// No `.git` above the file.
        case notInWorkTree
        /// Inside the work tree at `top`, and ignored.
        case ignored(top: String)
        /// Inside the work tree at `top`, not ignored and not tracked.
        case notIgnored(top: String)
        /// Inside the work tree at `top` and tracked by git (already in the index or a commit).
        case tracked(top: String)
        /// Inside the work tree at `top`, but git could not answer (`reason` says why).
        case unknown(top: String, reason: String)
    }

    /// Checks `path` (an absolute path). `git` names the executable, looked up in `PATH`.
    static func check(_ path: String, git: String = "git") -> Outcome {
        let file = canonicalPath(path)
        guard let top = workTree(containing: FileSystem.directoryName(of: file)) else { return .notInWorkTree }
        let ignore = run(git, ["-C", top, "check-ignore", "-q", "--", file])
        switch ignore {
        case .exited(0):
            return .ignored(top: top)
        case .exited(1):
            if case .exited(0) = run(git, ["-C", top, "ls-files", "--error-unmatch", "--", file]) {
                return .tracked(top: top)
            }
            return .notIgnored(top: top)
        case .exited(let code):
            return .unknown(top: top, reason: "git check-ignore exited with status \(code)")
        case .signalled(let signal):
            return .unknown(top: top, reason: "git check-ignore was killed by signal \(signal)")
        case .notStarted(let reason):
            return .unknown(top: top, reason: reason)
        }
    }

    /// The first directory at or above `directory` that holds a `.git` entry.
    static func workTree(containing directory: String) -> String? {
        var current = canonicalPath(directory)
        while true {
            var info = stat()
            if lstat(current + "/.git", &info) == 0 { return current }
            guard current != "/" else { return nil }
            current = FileSystem.directoryName(of: current)
        }
    }

    /// `realpath` of the directory part, so `..` and symbolic links do not hide a work tree.
    static func canonicalPath(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return cString(resolved)
        }
        let directory = FileSystem.directoryName(of: path)
        guard directory != path, let resolved = realpath(directory, nil) else { return path }
        defer { free(resolved) }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let base = cString(resolved)
        return base == "/" ? "/" + name : base + "/" + name
    }

    /// How a child process ended.
    enum Termination: Equatable {
        case exited(Int32)
        case signalled(Int32)
        case notStarted(String)
    }

    /// Spawns `executable` (looked up in `PATH`) with `arguments`, no shell, standard streams on
    /// `/dev/null`, and waits for it.
    static func run(_ executable: String, _ arguments: [String]) -> Termination {
        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor in Int32(0)...2 {
            posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        let environment = childEnvironment().map { strdup($0) }
        defer { environment.forEach { free($0) } }
        var pid = pid_t()
        let result = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            (environment + [nil]).withUnsafeBufferPointer { environmentBuffer in
                posix_spawnp(
                    &pid,
                    executable,
                    &actions,
                    nil,
                    argvBuffer.baseAddress!,
                    environmentBuffer.baseAddress!
                )
            }
        }
        guard result == 0 else {
            return .notStarted("\(executable) could not be started: \(cString(strerror(result)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return .notStarted("waiting for \(executable) failed: \(cString(strerror(errno)))") }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros that Swift does not import.
        if status & 0x7f == 0 {
            let code = (status >> 8) & 0xff
            // posix_spawnp reports a missing executable as 127 from the child on some C libraries.
            return code == 127 ? .notStarted("\(executable) was not found") : .exited(code)
        }
        return .signalled(status & 0x7f)
    }

    /// The current environment without anything secret or anything that would redirect git.
    static func childEnvironment() -> [String] {
        var result: [String] = []
        let block: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        guard var cursor = block else { return result }
        while let entry = cursor.pointee {
            let text = cString(entry)
            let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
            let dropped =
                name.hasPrefix("SESSION_VAULT_") || name == "CREDENTIALS_DIRECTORY" || name == "GIT_DIR"
                || name == "GIT_WORK_TREE"
            if !dropped { result.append(text) }
            cursor += 1
        }
        return result
    }
}
