import Foundation
import Testing
import SessionVaultKit
import SessionVaultTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Paths and files the user names: a path that is not UTF-8 is refused (never decoded into another
/// name), and a passphrase file that another user owns or may write is refused (one that others may
/// read is used, with a warning), as OpenSSH treats private keys.
@Suite("User-named paths and files")
struct UserNamedPathTests {
    /// `export --output` with an 0xFF byte in the file name: refused with exit 64, and no file appears
    /// under the name Swift would have decoded (`out\u{FFFD}.session`) or any other.
    @Test func aNonUTF8OutputPathIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let outputs = directory + "/outputs"
            try FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: false)
            let output = Array((outputs + "/out").utf8) + [0xFF] + Array(".session".utf8)
            let result = try await spawnRaw(
                [Array("export".utf8), Array(path.utf8), Array("--format".utf8), Array("telethon".utf8), Array("--plaintext".utf8),
                 Array("--output".utf8), output],
                environment: [Array("SESSION_VAULT_PASSPHRASE=\(vaultPassphrase)".utf8)]
            )
            #expect(result.status == 64)
            #expect(result.err.contains("argument 7 is not valid UTF-8"), "\(result.err)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: outputs).isEmpty, "a file was written")
        }
    }

    /// A `SESSION_VAULT_PASSPHRASE_FILE` value that is not UTF-8 is refused, not decoded.
    @Test func aNonUTF8PassphraseFilePathIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let file = Array((directory + "/pass").utf8) + [0xFE]
            let result = try await spawnRaw(
                [Array("show".utf8), Array(path.utf8)],
                environment: [Array("SESSION_VAULT_PASSPHRASE_FILE=".utf8) + file]
            )
            #expect(result.status == 64)
            #expect(result.err.contains("SESSION_VAULT_PASSPHRASE_FILE is not valid UTF-8"), "\(result.err)")
        }
    }

    /// Mode 600: used silently. 640/644: used, with one warning. 620/666: refused (whoever can write
    /// it chooses the passphrase of a new vault). Owned by another user (not root): refused.
    @Test func passphraseFilePermissionsAndOwnerAreChecked() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let file = directory + "/passphrase"
            try Data(vaultPassphrase.utf8).write(to: URL(fileURLWithPath: file))
            func show(mode: mode_t) async throws -> CLIResult {
                try #require(chmod(file, mode) == 0)
                return try await CLI.run(["show", path], environment: ["SESSION_VAULT_PASSPHRASE_FILE": file])
            }
            let privateFile = try await show(mode: 0o600)
            #expect(privateFile.status == 0, "\(privateFile.err)")
            #expect(privateFile.err.isEmpty, "\(privateFile.err)")
            for mode: mode_t in [0o640, 0o644] {
                let readable = try await show(mode: mode)
                #expect(readable.status == 0, "\(readable.err)")
                #expect(readable.err.contains("is readable by"), "mode \(String(mode, radix: 8)): \(readable.err)")
                #expect(readable.err.contains("chmod 600"))
            }
            for mode: mode_t in [0o620, 0o606, 0o666] {
                let writable = try await show(mode: mode)
                #expect(writable.status == 64, "mode \(String(mode, radix: 8))")
                #expect(writable.err.contains("is writable by"), "\(writable.err)")
                #expect(!writable.out.contains("takeout_id"))
            }
            if getuid() == 0 {
                try #require(chmod(file, 0o600) == 0)
                try #require(chown(file, 65534, 65534) == 0)
                let foreign = try await CLI.run(["show", path], environment: ["SESSION_VAULT_PASSPHRASE_FILE": file])
                #expect(foreign.status == 64)
                #expect(foreign.err.contains("is owned by uid 65534"), "\(foreign.err)")
            }
        }
    }

    /// Runs the built command with raw argument and environment bytes (Foundation's Process takes
    /// only Strings, which cannot hold invalid UTF-8), standard input from /dev/null.
    func spawnRaw(_ arguments: [[UInt8]], environment: [[UInt8]]) async throws -> CLIResult {
        func cStrings(_ list: [[UInt8]]) -> [UnsafeMutablePointer<CChar>?] {
            list.map { bytes in
                let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
                for (index, byte) in bytes.enumerated() { pointer[index] = CChar(bitPattern: byte) }
                pointer[bytes.count] = 0
                return pointer
            } + [nil]
        }
        let base = minimalChildEnvironment().map { Array("\($0.key)=\($0.value)".utf8) }
        let argv = cStrings([Array(CLI.binary.utf8)] + arguments)
        let envp = cStrings(base + environment)
        defer {
            argv.forEach { $0?.deallocate() }
            envp.forEach { $0?.deallocate() }
        }
        var outputEnds: [Int32] = [0, 0]
        var errorEnds: [Int32] = [0, 0]
        try #require(pipe(&outputEnds) == 0 && pipe(&errorEnds) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputEnds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorEnds[1], 2)
        posix_spawn_file_actions_addclose(&actions, outputEnds[0])
        posix_spawn_file_actions_addclose(&actions, errorEnds[0])
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, CLI.binary, &actions, nil, argv, envp)
        close(outputEnds[1])
        close(errorEnds[1])
        defer {
            close(outputEnds[0])
            close(errorEnds[0])
        }
        try #require(spawned == 0, "posix_spawn failed: \(spawned)")
        // Outputs are a line or two: read standard error to its end after standard output. The
        // reads and the wait block, so they run off the cooperative pool.
        @Sendable func drain(_ descriptor: Int32) -> [UInt8] {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(descriptor, &chunk, chunk.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return bytes }
                bytes += chunk[0..<count]
            }
        }
        let (outputEnd, errorEnd, child) = (outputEnds[0], errorEnds[0], pid)
        let (out, err, status) = await offCooperativePool { () -> ([UInt8], [UInt8], Int32) in
            let out = drain(outputEnd)
            let err = drain(errorEnd)
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            return (out, err, status)
        }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
        return CLIResult(status: code, stdout: out, stderr: err, arguments: arguments.map { String(decoding: $0, as: UTF8.self) })
    }
}
