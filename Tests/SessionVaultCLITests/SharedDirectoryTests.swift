import Foundation
import Testing
import SessionVaultKit
import SessionVaultTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A vault in a shared directory: lock, WAL, shared-memory and journal files that another user
/// planted (or may write) are refused, and `verify` flags the directory and foreign-owned files.
/// Another user is simulated by `chown` to 65534 (`nobody`), so these tests need root.
@Suite("Shared directories", .enabled(if: getuid() == 0, "needs root (chown to another user)"))
struct SharedDirectoryTests {
    static let env: [String: String?] = ["SESSION_VAULT_PASSPHRASE": vaultPassphrase]

    /// A vault in a sticky world-writable directory (like /tmp).
    func sharedVault(_ body: (String, String) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let shared = directory + "/shared"
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
            try #require(chmod(shared, 0o1777) == 0)
            let (path, _) = try await makeVault(in: shared, session: try testSession())
            try await body(shared, path)
        }
    }

    func plant(_ path: String, bytes: [UInt8] = [], owner: uid_t = 65534, mode: mode_t = 0o644) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try #require(chown(path, owner, owner) == 0 && chmod(path, mode) == 0)
    }

    /// Another user's `-lock`, held by them and naming a pid they chose: before, every opener got
    /// "in use by pid 4242" for as long as they liked (exit 67). Now: refused, naming the owner.
    @Test func aLockFileOfAnotherUserIsRefused() async throws {
        try await sharedVault { _, path in
            try plant(path + "-lock", bytes: Array("4242\n".utf8))
            let held = open(path + "-lock", O_RDONLY | O_CLOEXEC)
            try #require(held >= 0 && flock(held, LOCK_EX | LOCK_NB) == 0)
            defer { close(held) }
            let result = try await CLI.run(["show", path], environment: Self.env)
            #expect(result.status == 74, "\(result.err)")
            #expect(result.err.contains("-lock is owned by uid 65534"), "\(result.err)")
            #expect(result.err.contains("shared directories"))
            #expect(!result.err.contains("in use"))
        }
    }

    /// Another user's (or a world-writable) `-wal`, `-shm` or `-journal` is never adopted.
    @Test func companionFilesOfAnotherUserOrWritableByOthersAreRefused() async throws {
        try await sharedVault { _, path in
            for suffix in ["-wal", "-shm", "-journal"] {
                try plant(path + suffix, owner: 65534, mode: 0o666)
                let foreign = try await CLI.run(["show", path], environment: Self.env)
                #expect(foreign.status == 74, "\(suffix): \(foreign.err)")
                #expect(foreign.err.contains("\(suffix) is owned by uid 65534"), "\(foreign.err)")

                try plant(path + suffix, owner: 0, mode: 0o666)
                let writable = try await CLI.run(["show", path], environment: Self.env)
                #expect(writable.status == 74, "\(suffix): \(writable.err)")
                #expect(writable.err.contains("\(suffix) has mode 666"), "\(writable.err)")
                try FileManager.default.removeItem(atPath: path + suffix)
            }
            // The vault's own files, as the command leaves them, still open.
            let fine = try await CLI.run(["show", path], environment: Self.env)
            #expect(fine.status == 0, "\(fine.err)")
            // Creating next to another user's lock file is refused too.
            try plant(path + "-new-lock", owner: 65534)
            try FileManager.default.moveItem(atPath: path + "-new-lock", toPath: (path as NSString).deletingPathExtension + "-2.session-lock")
            let created = try await CLI.run(["init", (path as NSString).deletingPathExtension + "-2.session"], environment: Self.env)
            #expect(created.status == 74, "\(created.err)")
            #expect(!FileManager.default.fileExists(atPath: (path as NSString).deletingPathExtension + "-2.session"))
        }
    }

    /// `verify` flags a world-writable directory (error), a group-writable one (warning), and a file
    /// of the vault that belongs to another user than the vault file (error).
    @Test func verifyFlagsSharedDirectoriesAndForeignFiles() async throws {
        try await sharedVault { shared, path in
            let world = try await CLI.run(["verify", path, "--json"], environment: Self.env)
            #expect(world.status == 70, "\(world.err)")
            #expect(try codes(world).contains { $0 == ("directory-writable-by-others", "error") })

            try #require(chmod(shared, 0o770) == 0)
            let group = try await CLI.run(["verify", path, "--json"], environment: Self.env)
            #expect(group.status == 0, "\(group.err)")
            #expect(try codes(group).contains { $0 == ("directory-writable-by-others", "warning") })

            try #require(chmod(shared, 0o700) == 0)
            let privateDirectory = try await CLI.run(["verify", path, "--json"], environment: Self.env)
            #expect(privateDirectory.status == 0, "\(privateDirectory.err)")
            #expect(try !codes(privateDirectory).contains { $0.0 == "directory-writable-by-others" })

            // Root audits a vault that belongs to another user: the lock file root creates is not theirs.
            try #require(chown(path, 65534, 65534) == 0)
            let foreign = try await CLI.run(["verify", path, "--json"], environment: Self.env)
            #expect(foreign.status == 70, "\(foreign.err)")
            #expect(try codes(foreign).contains { $0 == ("file-owned-by-another-user", "error") })
        }
    }

    func codes(_ result: CLIResult) throws -> [(String, String)] {
        let list = try #require(try result.json()["findings"] as? [[String: Any]])
        return list.compactMap { finding in
            guard let code = finding["code"] as? String, let severity = finding["severity"] as? String else { return nil }
            return (code, severity)
        }
    }
}
