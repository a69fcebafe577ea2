import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// The fourth passphrase source (a prompt without echo, asked twice when creating) and progress
/// output, on a real pseudo-terminal provided by util-linux `script`.
@Suite("Terminal prompt and progress")
struct TerminalTests {
    static let script = "/usr/bin/script"

    /// `script -qec '<session-vault> <arguments>' /dev/null`: the child gets a controlling terminal.
    func onTerminal(_ arguments: [String], directory: String) throws -> RunningCLI {
        let command = ([CLI.binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try RunningCLI(["-qec", command, "/dev/null"], environment: [:], executable: Self.script, directory: directory)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: script), "util-linux script is not installed: no pseudo-terminal"))
    func initPromptsTwiceWithoutEchoAndShowsProgress() async throws {
        try await withTemporaryDirectory { directory in
            let child = try onTerminal(["init", "typed", "--kdf", "interactive"], directory: directory)
            // The prompt is written after echo is turned off, so typing after it is seen is safe.
            #expect(try await child.waitForOutput(containing: "Enter passphrase: "))
            try child.send(vaultPassphrase + "\n")
            #expect(try await child.waitForOutput(containing: "Repeat passphrase: "))
            try child.send(vaultPassphrase + "\n")
            #expect(try await child.waitForOutput(containing: "created "))
            #expect(await child.finish() == 0)
            let output = child.stdout
            #expect(!output.contains(vaultPassphrase), "the passphrase was echoed")
            #expect(output.contains("creating \(directory)/typed.session (argon2id13 opslimit=2 memlimit=64MiB)…\r\u{1B}[K"), "progress line, then erased")

            let shown = try await CLI.run(["show", "typed"], environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase], directory: directory)
            #expect(shown.status == 0, "the typed passphrase unlocks: \(shown.err)")
            #expect(!shown.err.contains("unlocking"), "no progress when stderr is not a terminal")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: script), "util-linux script is not installed: no pseudo-terminal"))
    func mismatchedEntriesCreateNothing() async throws {
        try await withTemporaryDirectory { directory in
            let child = try onTerminal(["init", "typo", "--kdf", "interactive"], directory: directory)
            #expect(try await child.waitForOutput(containing: "Enter passphrase: "))
            try child.send(vaultPassphrase + "\n")
            #expect(try await child.waitForOutput(containing: "Repeat passphrase: "))
            try child.send(otherPassphrase + "\n")
            #expect(await child.finish() == 64)
            #expect(child.stdout.contains("the two passphrase entries differ"))
            #expect(!FileManager.default.fileExists(atPath: directory + "/typo.session"))
        }
    }
}
