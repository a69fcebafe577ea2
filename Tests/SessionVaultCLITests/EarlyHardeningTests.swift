import Foundation
import Testing
import SessionVaultKit
import SessionVaultTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The secret `SESSION_VAULT_*` variables leave the environment, and the process becomes
/// non-dumpable, in a C constructor that runs before any Swift code (SessionVaultEarlyHardening).
@Suite("Early hardening")
struct EarlyHardeningTests {
    /// Every variable the constructor moves, each with its own distinctive value.
    static let secretVariables: [(name: String, value: String)] = [
        ("SESSION_VAULT_PASSPHRASE", vaultPassphrase),
        ("SESSION_VAULT_NEW_PASSPHRASE", otherPassphrase),
        ("SESSION_VAULT_RECOVERY_KEY", "Early-Recovery-Marker-5c1e"),
        ("SESSION_VAULT_STRING_PASSPHRASE", "Early-String-Marker-77ab"),
        ("SESSION_VAULT_POSTGRES_NAME_KEY", "Early-NameKey-Marker-0d42"),
        ("SESSION_VAULT_POSTGRES_PASSWORD", "Early-PgPassword-Marker-e9f0"),
    ]

    /// At the first line of Swift of an executable that links the module (the probe links it exactly
    /// as `session-vault` does), /proc/self/environ holds none of the six secret values, the process
    /// is already non-dumpable, the variables are unset, and the passphrase source still finds the
    /// passphrase (from the locked stash).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/environ"), "needs Linux /proc"))
    func theFirstSwiftCodeFindsTheEnvironmentScrubbed() async throws {
        try await withTemporaryDirectory { directory in
            let expected = directory + "/expected"
            try Data(vaultPassphrase.utf8).write(to: URL(fileURLWithPath: expected))
            var environment: [String: String?] = ["SV_PROBE_EXPECTED_FILE": expected, "SV_CONTROL": "control-value-31d7"]
            for (name, value) in Self.secretVariables { environment[name] = value }
            let probe = builtExecutable(named: "sv-early-probe", scratchDirectories: [".build-cli", ".build"])
            let result = try await CLI.run([], environment: environment, executable: probe)
            #expect(result.status == 0, "\(result.err)")
            let lines = Dictionary(
                result.out.split(separator: "\n").map { line in
                    let parts = line.split(separator: " ", maxSplits: 1)
                    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
                },
                uniquingKeysWith: { first, _ in first }
            )
            let environ = try #require(lines["environ"].flatMap(bytes(fromHex:)), "no environ line: \(result.out)")
            #expect(contains(environ, Array("SV_CONTROL=control-value-31d7".utf8)), "reading the block works (control)")
            for (name, value) in Self.secretVariables {
                #expect(!contains(environ, Array(value.utf8)), "\(name)'s value is in /proc/self/environ at the first Swift line")
                #expect(!contains(environ, Array(value.prefix(6).utf8)), "part of \(name)'s value is still there")
            }
            #expect(lines["dumpable"] == "no")
            #expect(lines["early"] == "yes")
            #expect(lines["getenv"] == "unset")
            #expect(lines["source"] == "environment variable SESSION_VAULT_PASSPHRASE")
            #expect(lines["passphrase"] == "match")
        }
    }

    /// The real command, stopped in its first Swift work: `SESSION_VAULT_SQLITE_LIBRARY` names a FIFO,
    /// so `show` blocks inside `dlopen`, which it calls (to check that vault files can be read at all)
    /// before it asks for any secret. While it waits there, its /proc/<pid>/environ holds no byte of
    /// any secret variable. Before the fix the scrub ran only when the passphrase was read, after
    /// this point, and all six values were there.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.fileExists(atPath: "/proc/self/environ"), "needs Linux /proc and root (the command is non-dumpable)"))
    func aCommandStoppedInItsFirstSwiftWorkHasNoSecretInItsEnvironment() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let fifo = directory + "/libsqlite3-fifo.so"
            try #require(mkfifo(fifo, 0o600) == 0)
            var environment: [String: String?] = ["SESSION_VAULT_SQLITE_LIBRARY": fifo, "SV_CONTROL": "control-value-31d7"]
            for (name, value) in Self.secretVariables { environment[name] = value }
            let child = try RunningCLI(["show", path], environment: environment)
            // Wait until one of the child's threads is blocked opening the FIFO (waiting for a writer:
            // kernel wait channel wait_for_partner, or fifo_open on older kernels).
            var blocked = false
            for _ in 0..<2_000 where !blocked {
                let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(child.pid)/task")) ?? []
                blocked = threads.contains { thread in
                    let channel = String(decoding: fileBytes("/proc/\(child.pid)/task/\(thread)/wchan"), as: UTF8.self)
                    return channel == "wait_for_partner" || channel == "fifo_open"
                }
                if !blocked { try await Task.sleep(for: .milliseconds(10)) }
            }
            let environ = fileBytes("/proc/\(child.pid)/environ")
            // Release it: a writer that closes at once gives dlopen an empty file, which it refuses.
            let writer = open(fifo, O_WRONLY | O_CLOEXEC)
            if writer >= 0 { close(writer) }
            #expect(blocked, "the child never opened the FIFO")
            #expect(contains(environ, Array("SV_CONTROL=control-value-31d7".utf8)), "reading the child's environ works (control)")
            for (name, value) in Self.secretVariables {
                #expect(!contains(environ, Array(value.utf8)), "\(name)'s value is in /proc/<pid>/environ during the first Swift work")
            }
            #expect(await child.finish() == 69)
        }
    }

    /// Swift's runtime backtracer would answer a crash by printing every thread's registers, stack and
    /// nearby memory on standard error (it did, for `kill -SEGV` of a running `show`). The early
    /// hardening restores the default disposition of the crash signals: the process just ends by the
    /// signal, with no core (RLIMIT_CORE 0) and nothing on standard error. The child is held inside
    /// its first Swift work by a FIFO named as its SQLite library (as above), so the signal finds it
    /// running Swift code, whatever else runs in parallel.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/task"), "needs Linux /proc"))
    func aCrashPrintsNoBacktrace() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            for signal in [SIGSEGV, SIGABRT] {
                let fifo = directory + "/libsqlite3-\(signal).so"
                try #require(mkfifo(fifo, 0o600) == 0)
                let child = try RunningCLI(
                    ["show", path], environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase, "SESSION_VAULT_SQLITE_LIBRARY": fifo]
                )
                var blocked = false
                for _ in 0..<2_000 where !blocked {
                    blocked = blockedOnFIFO(child.pid)
                    if !blocked { try await Task.sleep(for: .milliseconds(10)) }
                }
                #expect(blocked, "the child never reached its dlopen")
                kill(child.pid, signal)
                _ = await child.finish()
                // isRunning can turn false before Foundation records how the process ended.
                child.process.waitUntilExit()
                #expect(child.process.terminationReason == .uncaughtSignal, "signal \(signal)")
                #expect(child.process.terminationStatus == signal)
                #expect(!child.stderr.contains("Backtracing"), "signal \(signal): \(child.stderr.prefix(300))")
                #expect(!child.stderr.contains("crashed"), "signal \(signal)")
            }
        }
    }

    /// Whether a thread of `pid` waits for a FIFO's other end.
    func blockedOnFIFO(_ pid: Int32) -> Bool {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return threads.contains { thread in
            let channel = String(decoding: fileBytes("/proc/\(pid)/task/\(thread)/wchan"), as: UTF8.self)
            return channel == "wait_for_partner" || channel == "fifo_open"
        }
    }

    func bytes(fromHex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 48...57: digit - 48
        case 97...102: digit - 87
        default: nil
        }
    }
}
