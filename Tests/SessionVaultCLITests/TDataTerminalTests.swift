import Foundation
import Testing
import SessionVaultTestSupport

/// `session-vault import` of a tdata folder on a real pseudo-terminal (util-linux `script`): the
/// local passcode prompt (no echo) and the question which account to import when there are several.
@Suite("tdata import on a terminal")
struct TDataTerminalTests {
    static let fixtures = InteropCommandTests.fixtures
    static let passcode = TDataCommandTests.passcode
    static let script = TerminalTests.script

    /// `script -qec '<session-vault> <arguments>' /dev/null` with the vault passphrase in the environment.
    func onTerminal(_ arguments: [String], directory: String) throws -> RunningCLI {
        let command = ([CLI.binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try RunningCLI(
            ["-qec", command, "/dev/null"], environment: InteropCommandTests.env, executable: Self.script, directory: directory)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: script), "util-linux script is not installed: no pseudo-terminal"))
    func passcodeIsAskedWithoutEcho() async throws {
        try await withTemporaryDirectory { directory in
            let folder = Self.fixtures + "/tdata-legacy-opentele-1.15.1-passcode"
            let child = try onTerminal(["import", folder, "desk", "--kdf", "interactive"], directory: directory)
            #expect(try await child.waitForOutput(containing: "Enter tdata local passcode: "))
            try child.send(Self.passcode + "\n")
            #expect(try await child.waitForOutput(containing: "imported account 0 of"))
            #expect(await child.finish() == 0, "\(child.stdout)")
            #expect(!child.stdout.contains(Self.passcode), "the passcode was echoed or printed")
            #expect(!child.stdout.contains("Repeat tdata local passcode"), "a passcode being read is asked once")
            let shown = try await CLI.run(["show", "desk", "--json"], environment: InteropCommandTests.env, directory: directory)
            #expect(shown.status == 0, "\(shown.err)")
            #expect((try shown.json()["user"] as? [String: Any])?["id"] as? Int64 == 6_123_456_789)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: script), "util-linux script is not installed: no pseudo-terminal"))
    func aWrongTypedPasscodeLeavesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let folder = Self.fixtures + "/tdata-legacy-opentele-1.15.1-passcode"
            let child = try onTerminal(["import", folder, "desk", "--kdf", "interactive"], directory: directory)
            #expect(try await child.waitForOutput(containing: "Enter tdata local passcode: "))
            try child.send("hunter2-not-it\n")
            #expect(await child.finish() != 0)
            #expect(child.stdout.contains("wrong local passcode"), "\(child.stdout)")
            #expect(!child.stdout.contains("hunter2"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: script), "util-linux script is not installed: no pseudo-terminal"))
    func severalAccountsAskWhichOne() async throws {
        try await withTemporaryDirectory { directory in
            let folder = Self.fixtures + "/tdata-two-accounts"
            let child = try onTerminal(["import", folder, "desk", "--kdf", "interactive"], directory: directory)
            #expect(try await child.waitForOutput(containing: "Import which account (0, 1)? "))
            #expect(child.stdout.contains("holds 2 accounts: index 0 (user 6123456789, DC 2), index 1 (user 7123456789, DC 2)"))
            try child.send("1\n")
            #expect(try await child.waitForOutput(containing: "imported account 1 of"))
            #expect(await child.finish() == 0, "\(child.stdout)")
            let shown = try await CLI.run(["show", "desk", "--json"], environment: InteropCommandTests.env, directory: directory)
            #expect(shown.status == 0, "\(shown.err)")
            #expect((try shown.json()["user"] as? [String: Any])?["id"] as? Int64 == 7_123_456_789)
        }
    }

    @Test(
        .enabled(if: FileManager.default.isExecutableFile(atPath: script), "util-linux script is not installed: no pseudo-terminal"),
        arguments: ["7", "one", "", "00000000000000000001"])
    func anAnswerThatIsNoListedIndexImportsNothing(answer: String) async throws {
        try await withTemporaryDirectory { directory in
            let folder = Self.fixtures + "/tdata-two-accounts"
            let child = try onTerminal(["import", folder, "desk", "--kdf", "interactive"], directory: directory)
            #expect(try await child.waitForOutput(containing: "Import which account (0, 1)? "))
            try child.send(answer + "\n")
            #expect(await child.finish() == 64, "\(child.stdout)")
            #expect(child.stdout.contains("the answer is not one of the listed account indexes (0, 1)"), "\(child.stdout)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        }
    }
}
