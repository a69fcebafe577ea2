import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// The passphrase variable is wiped from the process's *initial* environment block, which is what
/// `/proc/<pid>/environ` shows and what `unsetenv` alone does not change.
///
/// The child is started with the passphrase in its initial environment, unlocks the vault with
/// `show --hold`, and stays alive until its standard input is closed; meanwhile the test reads its
/// `/proc/<pid>/environ`. The command sets `PR_SET_DUMPABLE 0`, which makes that file readable by
/// root only: these tests run as root (as CI does), and skip otherwise.
@Suite("Environment scrubbing")
struct EnvironmentScrubbingTests {
    @Test(.enabled(if: getuid() == 0 && FileManager.default.fileExists(atPath: "/proc/self/environ"), "needs Linux /proc and root (the command is non-dumpable)"))
    func passphraseIsGoneFromProcEnvironAfterUnlock() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let marker = "SV_TEST_MARKER=still-here-\(UUID().uuidString)"
            let child = try RunningCLI(
                ["show", path, "--hold"],
                environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase, "SV_TEST_MARKER": String(marker.dropFirst("SV_TEST_MARKER=".count))]
            )
            let unlocked = try await child.waitForOutput(containing: "takeout_id")
            #expect(unlocked, "the child never printed its summary")

            let environ = fileBytes("/proc/\(child.pid)/environ")
            #expect(contains(environ, Array(marker.utf8)), "reading the child's environ works (control)")
            #expect(!contains(environ, Array(vaultPassphrase.utf8)), "the passphrase is still in /proc/\(child.pid)/environ")
            #expect(!contains(environ, Array(vaultPassphrase.prefix(8).utf8)), "part of the passphrase is still there")

            // While the child holds it, the vault is in use for everybody else.
            let second = try await CLI.run(["show", path], environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase])
            #expect(second.status == 67)
            #expect(second.err.contains("is in use by pid \(child.pid)"))

            #expect(await child.finish() == 0)
        }
    }
}
