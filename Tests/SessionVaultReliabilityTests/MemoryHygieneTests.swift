import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
@testable import SessionVaultOperations

#if canImport(Glibc)
import Glibc
#endif

/// What a memory dump of a `session-vault` process would show.
///
/// A vault with known auth keys and a known data key is created here; `session-vault soak
/// --pause-for-inspection` (a child, non-dumpable like every `session-vault` process) opens it and
/// pauses; this test (root) scans the child's readable memory through `/proc/<pid>/maps` and
/// `/proc/<pid>/mem`. While open, the data key must be found (the scan works) and only inside
/// guarded `sodium_malloc` allocations, and neither passphrase may appear outside them (the copy in
/// the environment block is overwritten). Then the child runs transactions (new auth keys, a
/// passphrase change, a rotation), closes the vault and pauses again: neither passphrase, no 16-byte
/// window of any auth key it loaded, and no trace of the data key may be left anywhere.
@Suite("Memory hygiene: scanning a session-vault process")
struct MemoryHygieneTests {
    /// A 256-byte key from a small generator, known to the test.
    static func keyBytes(seed: UInt32) -> [UInt8] {
        var state = seed &* 2_654_435_761
        return (0..<256).map { _ in
            state = state &* 1_103_515_245 &+ 12_345
            return UInt8(truncatingIfNeeded: state >> 16)
        }
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["SESSION_VAULT_SANITIZER"] == nil, "sanitizer shadow memory is not scanned"))
    func closedProcessHoldsNoKeyAndNoPassphrase() async throws {
        try await withScratchDirectory { directory in
            let path = directory + "/memory.session"
            let keys = [Self.keyBytes(seed: 21), Self.keyBytes(seed: 22), Self.keyBytes(seed: 23)]
            var session = try VaultSoak.syntheticSession(channels: 16)
            for index in session.dataCenters.indices {
                session.dataCenters[index].authKey = try keys[index].withUnsafeBytes { try AuthKey(copying: $0) }
            }
            var configuration = SessionVault.Configuration()
            configuration.mode = .create
            configuration.fallback = .fail
            configuration.kdf = KDFParameters(opsLimit: KDFParameters.minimumOpsLimit, memLimit: KDFParameters.minimumMemLimit)
            let vault = try await SessionVault.open(at: path, passphrase: try Passphrase(copying: soakPassphrases[0]), configuration: configuration)
            try await vault.save(session)
            let dataKey = try await vault.dataKeyBytesForTesting()
            try await vault.close()

            // Negative control: a variable nobody wipes must be found (the environment block is scanned).
            let canary = "canary-\(UUID().uuidString)"
            let child = try ChildProcess(
                SoakBinary.path,
                [
                    "soak", path, "--pause-for-inspection", "--transactions", "40", "--seed", "11",
                    "--dc-every", "3", "--passwd-every", "4", "--rotate-every", "5",
                ],
                environment: SoakBinary.soakEnvironment(current: 0).merging(["SV_MEMORY_SCAN_CANARY": canary]) { $1 },
                input: true
            )
            defer { child.kill() }
            let passphrases = soakPassphrases.map { Array($0.utf8) }

            // 1. Open.
            try #require(await child.waitForLine(timeout: .seconds(60)) { $0 == "pause opened" } != nil, "\(child.stderr)")
            let open = try ProcessMemoryScan(pid: child.pid)
            let dataKeyWhileOpen = open.find(dataKey, named: "data key")
            #expect(!dataKeyWhileOpen.isEmpty, "the data key was not found while the vault is open: the scan does not work")
            let unguardedDataKey = dataKeyWhileOpen.filter { !$0.isGuarded } + open.findWindows(of: dataKey, named: "data key", window: 8, step: 8).filter { !$0.isGuarded }
            #expect(unguardedDataKey.isEmpty, "the data key outside guarded memory: \(unguardedDataKey.prefix(5))")
            let authKeysWhileOpen = keys.enumerated().flatMap { open.findWindows(of: $0.element, named: "auth key \($0.offset)") }
            #expect(authKeysWhileOpen.contains { $0.isGuarded }, "the loaded auth keys were not found while open")
            let unguardedAuthKeys = authKeysWhileOpen.filter { !$0.isGuarded }
            #expect(unguardedAuthKeys.isEmpty, "auth key bytes outside guarded memory while open: \(unguardedAuthKeys.prefix(5))")
            let passphraseWhileOpen = passphrases.enumerated().flatMap { open.find($0.element, named: "passphrase \($0.offset)") }
            #expect(passphraseWhileOpen.contains { $0.isGuarded }, "the passphrase soak holds was not found while open")
            #expect(!open.find(Array(canary.utf8), named: "canary").isEmpty, "the environment block was not scanned")
            let unguardedPassphrase = passphraseWhileOpen.filter { !$0.isGuarded }
            #expect(unguardedPassphrase.isEmpty, "a passphrase outside guarded memory: \(unguardedPassphrase)")

            // 2. Transactions, close.
            child.send("\n")
            try #require(await child.waitForLine(timeout: .seconds(120)) { $0 == "pause closed" } != nil, "\(child.stderr)")
            let closed = try ProcessMemoryScan(pid: child.pid)
            let events = child.lines.compactMap { SoakEvent(line: $0) }.filter { $0.kind == .commit }
            let leftovers =
                passphrases.enumerated().flatMap { closed.find($0.element, named: "passphrase \($0.offset)") }
                + keys.enumerated().flatMap { closed.findWindows(of: $0.element, named: "auth key \($0.offset)") }
                + closed.findWindows(of: dataKey, named: "data key", window: 8, step: 8)
            #expect(leftovers.isEmpty, "after close: \(leftovers.prefix(8))")
            #expect(!closed.find(Array(canary.utf8), named: "canary").isEmpty, "the environment block was not scanned")
            #expect(closed.unreadable.filter { $0.isAnonymous }.isEmpty, "unscanned anonymous memory: \(closed.unreadable)")

            child.send("\n")
            child.closeInput()
            #expect(await child.wait() == .exited(0), "\(child.stderr)")
            let operations = Dictionary(grouping: events, by: \.operation).mapValues(\.count)
            #expect(operations[.passphraseChange, default: 0] > 0 && operations[.rotation, default: 0] > 0 && operations[.dataCenter, default: 0] > 0)
            report(
                "memory scan of a paused session-vault (pid \(child.pid), non-dumpable, read as root): open: \(open.scannedBytes >> 20) MiB in \(open.regions.count) mappings, "
                    + "data key found \(dataKeyWhileOpen.count)x, all inside sodium_malloc guarded mappings, auth-key windows \(authKeysWhileOpen.count)x all guarded, "
                    + "passphrase \(passphraseWhileOpen.count)x all guarded (none in the environment block, where an unwiped canary variable is found); after \(events.count - 1) transactions (dc \(operations[.dataCenter, default: 0]), "
                    + "passwd \(operations[.passphraseChange, default: 0]), rotate \(operations[.rotation, default: 0])) and close: \(closed.scannedBytes >> 20) MiB scanned, "
                    + "0 passphrase, 0 auth-key windows, 0 data-key windows"
            )
        }
    }
}

extension MemoryHygieneTests {
    /// `session-vault` disables core dumps (RLIMIT_CORE 0) and marks itself non-dumpable
    /// (PR_SET_DUMPABLE 0): run as `nobody`, its `/proc/<pid>/` files belong to root, and another
    /// process of the same user cannot read its memory or environment.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: CommandAsNobody.setpriv), "needs root and util-linux setpriv"))
    func commandIsNotDumpableAndWritesNoCore() async throws {
        try await withScratchDirectory { directory in
            let home = directory + "/nobody"
            mkdir(home, 0o700)
            chown(home, 65534, 65534)
            // The binary and the sanitizer suppressions, copied where nobody can read them: the
            // checkout may be in a directory only root can enter.
            let command = try CommandAsNobody(copyingInto: directory)
            let (program, arguments) = command.command(["soak", home + "/v", "--kdf", "interactive", "--transactions", "2", "--pause-for-inspection"])
            let child = try ChildProcess(
                program,
                arguments,
                environment: command.environment(SoakBinary.soakEnvironment(current: 0)),
                input: true
            )
            defer { child.kill() }
            try #require(await child.waitForLine(timeout: .seconds(60)) { $0 == "pause opened" } != nil, "\(child.stderr)")
            let status = try String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8)
            #expect(status.contains("\nUid:\t65534\t65534\t65534\t65534"), "the child does not run as nobody")
            let limits = try String(contentsOfFile: "/proc/\(child.pid)/limits", encoding: .utf8)
            let core = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }
            #expect(core?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2) == ["0", "0"], "\(core ?? "no limit line")")
            var info = stat()
            #expect(stat("/proc/\(child.pid)/mem", &info) == 0 && info.st_uid == 0, "/proc/<pid>/mem of a nobody process should belong to root (non-dumpable)")
            let peek = try ChildProcess(
                CommandAsNobody.setpriv,
                CommandAsNobody.dropPrivileges + ["/bin/cat", "/proc/\(child.pid)/environ"],
                environment: SoakBinary.environment()
            )
            #expect(await peek.wait() != .exited(0), "another nobody process could read the environment")
            #expect(peek.stderr.contains("Permission denied"), "\(peek.stderr)")
            child.send("\n")
            try #require(await child.waitForLine(timeout: .seconds(60)) { $0 == "pause closed" } != nil)
            child.send("\n")
            child.closeInput()
            #expect(await child.wait() == .exited(0), "\(child.stderr)")
            report("session-vault as nobody: RLIMIT_CORE 0/0, /proc/<pid>/mem owned by root (PR_SET_DUMPABLE 0), another nobody process gets 'Permission denied' on /proc/<pid>/environ")
        }
    }
}

extension SessionVault {
    /// The data key's bytes, copied into ordinary memory: tests only, to search for them elsewhere.
    func dataKeyBytesForTesting() throws(VaultError) -> [UInt8] {
        try requireSealer().keys.dataKey.withUnsafeBytes { Array($0) }
    }
}
