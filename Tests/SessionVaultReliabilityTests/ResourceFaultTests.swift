import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultOperations

#if canImport(Glibc)
import Glibc
import SessionVaultTestSupport
#endif

/// What happens when the file system says no: a file-size limit (`RLIMIT_FSIZE` through util-linux
/// `prlimit`), a full disk (a small tmpfs), a read-only directory (a read-only bind mount), a missing
/// directory, permission denied, and a path that is a directory.
///
/// The tests run as root here and in CI, and permission bits do not stop root, so the permission
/// cases run the command as `nobody` through util-linux `setpriv`; read-only directories are also
/// tested for root with a read-only bind mount, which does stop root. Tests that need `mount` are
/// enabled only where mounting works (they are reported as skipped otherwise).
@Suite("Resource faults")
struct ResourceFaultTests {
    static let prlimit = "/usr/bin/prlimit"
    static let setpriv = CommandAsNobody.setpriv

    /// Whether this process can mount a tmpfs (root with CAP_SYS_ADMIN).
    static let canMount: Bool = {
        let directory = NSTemporaryDirectory() + "sv-mount-probe-\(getpid())"
        mkdir(directory, 0o755)
        defer { rmdir(directory) }
        guard command(["/bin/mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", directory]) == 0 else { return false }
        _ = command(["/bin/umount", directory])
        return true
    }()

    /// Runs a short helper command (mount, umount, chown) and returns its exit status.
    @discardableResult
    static func command(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    struct Run {
        var termination: ChildProcess.Termination
        var stdout: String
        var stderr: String
        var events: [SoakEvent] { stdout.split(separator: "\n").compactMap { SoakEvent(line: $0) } }
    }

    /// Runs `session-vault arguments…`, optionally behind a wrapper (`prlimit …`).
    static func vault(_ arguments: [String], wrapper: [String] = [], environment: [String: String]? = nil) async throws -> Run {
        let full = wrapper + [SoakBinary.path] + arguments
        return try await run(full[0], Array(full.dropFirst()), environment: environment ?? SoakBinary.soakEnvironment(current: 0))
    }

    /// Runs `session-vault arguments…` as `nobody`, from `command`'s copies.
    static func vault(_ arguments: [String], as command: CommandAsNobody, environment: [String: String]? = nil) async throws -> Run {
        let (program, full) = command.command(arguments)
        return try await run(program, full, environment: command.environment(environment ?? SoakBinary.soakEnvironment(current: 0)))
    }

    private static func run(_ program: String, _ arguments: [String], environment: [String: String]) async throws -> Run {
        let child = try ChildProcess(program, arguments, environment: environment)
        let termination = await child.wait()
        return Run(termination: termination, stdout: child.stdout, stderr: child.stderr)
    }

    /// A soak vault with a few transactions, closed.
    static func makeSoakVault(_ path: String) async throws {
        let result = try await vault(["soak", path, "--transactions", "5", "--kdf", "interactive", "--seed", "3"])
        #expect(result.termination == .exited(0), "\(result.stderr)")
    }

    func expectCleanSaveFailure(_ result: Run, reason: String, path: String) async throws {
        // The write failed with an error, not a signal: SIGXFSZ is ignored by the command.
        #expect(result.termination == .exited(74), "\(result.termination): \(result.stderr)")
        #expect(result.stderr.hasPrefix("session-vault: ") && result.stderr.contains(reason), "\(result.stderr)")
        let events = result.events
        let failed = try #require(events.first { $0.kind == .failed }, "no failed line: \(result.stdout.suffix(400))")
        #expect(failed.detail?.contains(reason) == true, "\(failed)")
        // The process kept running: it re-read and authenticated every stored record, then summed up.
        let lastCommit = try #require(events.last { $0.kind == .commit })
        let verified = try #require(events.first { $0.kind == .verified }, "no verified line: \(result.stdout.suffix(400))")
        #expect(verified.digest == lastCommit.digest)
        #expect(result.stdout.contains("summary ") && result.stdout.contains("failed=yes"))
        // Reopened without the limit: the last committed state, intact.
        let reopened = try #require(try await reopen(path))
        #expect(reopened.integrity == ["ok"])
        #expect(reopened.digest == lastCommit.digest, "the vault does not hold the last committed state")
    }

    /// Not under the thread sanitizer: its runtime dies with SIGBUS when RLIMIT_FSIZE is low.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SESSION_VAULT_SANITIZER"] == nil, "the TSan runtime dies under RLIMIT_FSIZE"))
    func fileTooLargeFailsTheSaveAndKeepsTheLastCommittedState() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.prlimit), "util-linux prlimit is missing")
        try await withScratchDirectory { directory in
            var failures = 0
            for (index, headroom) in [4_096, 16_384, 65_536, 200_000].enumerated() {
                let path = directory + "/limited-\(index).session"
                try await Self.makeSoakVault(path)
                let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
                let result = try await Self.vault(
                    ["soak", path, "--seconds", "60", "--dc-every", "1", "--channel-every", "1", "--channels", "64", "--seed", "\(index)"],
                    wrapper: [Self.prlimit, "--fsize=\(size + headroom)"]
                )
                try await expectCleanSaveFailure(result, reason: "File too large", path: path)
                failures += 1
            }
            report("file too large (RLIMIT_FSIZE via prlimit, 4 limits): \(failures) saves failed with 'File too large' (exit 74, no SIGXFSZ), each vault reopened with its last committed state, integrity ok")
        }
    }

    @Test(.enabled(if: canMount, "needs mount (root with CAP_SYS_ADMIN)"))
    func diskFullFailsTheSaveAndKeepsTheLastCommittedState() async throws {
        try await withScratchDirectory { directory in
            let mountPoint = directory + "/small"
            mkdir(mountPoint, 0o755)
            try #require(Self.command(["/bin/mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", mountPoint]) == 0)
            defer { Self.command(["/bin/umount", "-l", mountPoint]) }
            let path = mountPoint + "/full.session"
            try await Self.makeSoakVault(path)
            let result = try await Self.vault(["soak", path, "--seconds", "60", "--dc-every", "1", "--channel-every", "1", "--channels", "200"])
            // Still full: the vault opens and holds the last committed state (closing it needs room
            // for the checkpoint, so that is checked after the disk grows).
            let lastCommit = try #require(result.events.last { $0.kind == .commit })
            #expect(result.termination == .exited(74), "\(result.termination): \(result.stderr)")
            #expect(result.stderr.contains("No space left on device"), "\(result.stderr)")
            var configuration = SessionVault.Configuration()
            configuration.mode = .openExisting
            configuration.fallback = .fail
            // The soak may have changed the passphrase before the disk filled (the environment's index 0 is soakPassphrases[0]).
            let passphrase = soakPassphrases[lastCommit.passphraseIndex]
            let whileFull = try await SessionVault.open(at: path, passphrase: try Passphrase(copying: passphrase), configuration: configuration)
            #expect(SessionDigest(of: try await whileFull.load() ?? Session()) == lastCommit.digest)
            #expect(try await whileFull.integrityCheck() == ["ok"])
            let closeWhileFull = await Swift.Result<Void, VaultError> { () async throws(VaultError) in try await whileFull.close() }
            // Room again: everything as committed, and closing works.
            #expect(Self.command(["/bin/mount", "-o", "remount,size=2m", mountPoint]) == 0)
            try await expectCleanSaveFailure(result, reason: "No space left on device", path: path)
            report(
                "disk full (192 KiB tmpfs): the save failed with 'No space left on device' (exit 74), the process re-read and authenticated the vault; "
                    + "reopened while full: last committed state, integrity ok (close \(closeWhileFull.isSuccess ? "succeeded" : "failed: no room to checkpoint")); after growing the disk: same state, integrity ok"
            )
        }
    }

    @Test(.enabled(if: canMount, "needs mount (root with CAP_SYS_ADMIN)"))
    func readOnlyDirectoryStopsEvenRoot() async throws {
        try await withScratchDirectory { directory in
            let readOnly = directory + "/ro"
            mkdir(readOnly, 0o755)
            try await Self.makeSoakVault(readOnly + "/bot.session")
            let before = directoryListing(readOnly)
            let bytes = fileBytes(readOnly + "/bot.session")
            try #require(Self.command(["/bin/mount", "--bind", readOnly, readOnly]) == 0)
            defer { Self.command(["/bin/umount", "-l", readOnly]) }
            try #require(Self.command(["/bin/mount", "-o", "remount,bind,ro", readOnly]) == 0)
            for arguments in [["init", readOnly + "/new", "--kdf", "interactive"], ["show", readOnly + "/bot"], ["soak", readOnly + "/bot", "--transactions", "1"]] {
                let result = try await Self.vault(arguments)
                #expect(result.termination == .exited(74), "\(arguments): \(result.stderr)")
                #expect(result.stderr.contains("Read-only file system"), "\(arguments): \(result.stderr)")
            }
            #expect(directoryListing(readOnly) == before, "something was created in the read-only directory")
            #expect(fileBytes(readOnly + "/bot.session") == bytes)
            report("read-only directory (read-only bind mount, as root): init, show and soak exit 74 with 'Read-only file system'; nothing created or changed")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: setpriv), "needs util-linux setpriv"))
    func permissionDeniedAsNobody() async throws {
        // The command really runs as nobody.
        let identity = try ChildProcess("/usr/bin/id", ["-u"], environment: SoakBinary.environment())
        _ = await identity.wait()
        let nobody = try ChildProcess(Self.setpriv, CommandAsNobody.dropPrivileges + ["/usr/bin/id", "-u"], environment: SoakBinary.environment())
        _ = await nobody.wait()
        try #require(identity.stdout == "0\n" && nobody.stdout == "65534\n", "expected to run as root and to reach uid 65534")
        // The binary and the sanitizer suppressions, copied where nobody can read them: the checkout
        // may be in a directory only root can enter.
        try await withScratchDirectory { tools in
            try await expectPermissionDenied(as: try CommandAsNobody(copyingInto: tools))
        }
    }

    /// The six permission cases of ``permissionDeniedAsNobody()``, run through `command`.
    private func expectPermissionDenied(as command: CommandAsNobody) async throws {
        for file in command.copiedFiles {
            let check = try ChildProcess(Self.setpriv, CommandAsNobody.dropPrivileges + ["/usr/bin/test", "-r", file], environment: SoakBinary.environment())
            #expect(await check.wait() == .exited(0), "nobody cannot read \(file)")
        }
        try await withScratchDirectory { directory in
            // A root-owned directory (755) with a root-owned vault (600).
            try await Self.makeSoakVault(directory + "/root.session")
            let rootBytes = fileBytes(directory + "/root.session")
            // A vault nobody owns, in the same root-owned (for nobody: read-only) directory.
            try await Self.makeSoakVault(directory + "/mine.session")
            for name in ["mine.session", "mine.session-lock"] { chown(directory + "/" + name, 65534, 65534) }
            let mineBytes = fileBytes(directory + "/mine.session")
            // A passphrase file only root can read.
            let secretFile = directory + "/passphrase"
            try Data(soakPassphrases[0].utf8).write(to: URL(fileURLWithPath: secretFile))
            chmod(secretFile, 0o600)
            let before = directoryListing(directory)

            let cases: [(arguments: [String], environment: [String: String]?, reason: String)] = [
                (["init", directory + "/new", "--kdf", "interactive"], nil, "Permission denied"),
                (["soak", directory + "/new", "--transactions", "1", "--kdf", "interactive"], nil, "Permission denied"),
                (["show", directory + "/root"], nil, "Permission denied"),
                (["show", directory + "/mine"], nil, "is not writable"),
                (["soak", directory + "/mine", "--transactions", "1"], nil, "is not writable"),
                (["show", directory + "/mine"], SoakBinary.environment(["SESSION_VAULT_PASSPHRASE_FILE": secretFile]), "Permission denied"),
            ]
            for entry in cases {
                let result = try await Self.vault(entry.arguments, as: command, environment: entry.environment)
                #expect(result.termination == .exited(74), "\(entry.arguments): \(result.termination) \(result.stderr)")
                #expect(result.stderr.contains(entry.reason), "\(entry.arguments): \(result.stderr)")
                #expect(result.stderr.filter { $0 == "\n" }.count == 1, "one line: \(result.stderr)")
            }
            #expect(directoryListing(directory) == before, "something was created")
            #expect(fileBytes(directory + "/root.session") == rootBytes)
            #expect(fileBytes(directory + "/mine.session") == mineBytes)
            report("permission denied (as nobody via setpriv, uid 65534 verified): \(cases.count) cases exit 74 with 'Permission denied' or 'is not writable'; nothing created or changed")
        }
    }

    @Test func missingDirectoryAndPathsThatAreDirectories() async throws {
        try await withScratchDirectory { directory in
            for arguments in [["init", directory + "/missing/bot"], ["soak", directory + "/missing/bot", "--transactions", "1"]] {
                let result = try await Self.vault(arguments)
                #expect(result.termination == .exited(64), "\(arguments): \(result.stderr)")
                #expect(result.stderr.contains("does not exist"), "\(arguments): \(result.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: directory + "/missing"))

            mkdir(directory + "/folder.session", 0o755)
            try await Self.makeSoakVault(directory + "/locked.session")
            unlink(directory + "/locked.session-lock")
            mkdir(directory + "/locked.session-lock", 0o755)
            let before = directoryListing(directory)
            let lockedBytes = fileBytes(directory + "/locked.session")
            let cases: [(arguments: [String], status: Int32, reason: String)] = [
                (["show", directory + "/folder"], 64, "is a directory"),
                (["soak", directory + "/folder", "--transactions", "1"], 64, "is a directory"),
                (["init", directory + "/folder"], 64, "already exists"),
                (["show", directory + "/locked"], 74, "Is a directory"),
                (["soak", directory + "/locked", "--transactions", "1"], 74, "Is a directory"),
            ]
            for entry in cases {
                let result = try await Self.vault(entry.arguments)
                #expect(result.termination == .exited(entry.status), "\(entry.arguments): \(result.stderr)")
                #expect(result.stderr.contains(entry.reason), "\(entry.arguments): \(result.stderr)")
            }
            #expect(directoryListing(directory) == before)
            #expect(directoryListing(directory + "/folder.session").isEmpty)
            #expect(fileBytes(directory + "/locked.session") == lockedBytes)
            report("missing directory (exit 64 'does not exist', nothing created); path is a directory (exit 64), lock path is a directory (exit 74 'Is a directory'); nothing created or changed")
        }
    }
}

extension Result where Failure == VaultError {
    /// Runs `body` and captures its outcome.
    init(_ body: () async throws(VaultError) -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }

    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
