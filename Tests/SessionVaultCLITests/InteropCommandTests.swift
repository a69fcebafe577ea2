import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// `import`, `export`, `seal-string` and `show-sealed` end to end, on the real-library fixtures.
@Suite("Interop commands")
struct InteropCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/interop").path
    static let env: [String: String?] = ["SESSION_VAULT_PASSPHRASE": vaultPassphrase]
    static let stringPassphrase = "String-Test-Passphrase-5d1e#"

    /// Copies a fixture into `directory` (so that --shred has something of its own to remove).
    func copy(_ fixture: String, to directory: String) throws -> String {
        let path = directory + "/" + fixture
        try FileManager.default.copyItem(atPath: Self.fixtures + "/" + fixture, toPath: path)
        return path
    }

    @Test func importShowExportTelethonString() async throws {
        try await withTemporaryDirectory { directory in
            let source = try copy("telethon-v8.session", to: directory)
            let before = fileBytes(source)
            let imported = try await CLI.run(["import", source, "bot", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(imported.status == 0, "\(imported.err)")
            #expect(imported.stdout.isEmpty)
            #expect(imported.err.contains("imported Telethon 1.x SQLite session, schema 8"))
            #expect(imported.err.contains("verified"))
            #expect(imported.err.contains("still holds the plaintext session"))
            #expect(fileBytes(source) == before, "the source is never modified")
            #expect(fileMode(directory + "/bot.session") == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["bot.session", "bot.session-lock", "telethon-v8.session"].sorted()
                || FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["bot.session", "telethon-v8.session"])

            let shown = try await CLI.run(["show", "bot", "--json"], environment: Self.env, directory: directory)
            #expect(shown.status == 0, "\(shown.err)")
            let json = try shown.json()
            #expect((json["user"] as? [String: Any])?["id"] as? Int64 == 6_123_456_789)

            let exported = try await CLI.run(
                ["export", "bot", "--format", "telethon-string", "--plaintext"], environment: Self.env, directory: directory)
            #expect(exported.status == 0, "\(exported.err)")
            #expect(exported.stdout == fileBytes(Self.fixtures + "/telethon-ipv4.txt") + [10], "byte-identical to Telethon's own string")
            #expect(exported.err.contains("plaintext session"))
        }
    }

    @Test func importStringFromStandardInputAndShred() async throws {
        try await withTemporaryDirectory { directory in
            let text = fileBytes(Self.fixtures + "/pyrogram-string.txt")
            let fromStdin = try await CLI.run(
                ["import", "-", "fromstdin", "--kdf", "interactive"], environment: Self.env, stdin: text + [10], directory: directory)
            #expect(fromStdin.status == 0, "\(fromStdin.err)")
            #expect(fromStdin.err.contains("inferred from the DC id and test mode (149.154.167.51:443)"))

            let source = try copy("pyrogram-2.0.106.session", to: directory)
            try Data("stale journal".utf8).write(to: URL(fileURLWithPath: source + "-journal"))
            let shredded = try await CLI.run(
                ["import", source, "shredded", "--shred", "--format", "pyrogram", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(shredded.status == 0, "\(shredded.err)")
            #expect(!FileManager.default.fileExists(atPath: source))
            #expect(!FileManager.default.fileExists(atPath: source + "-journal"))
            #expect(shredded.err.contains("shredded"))
            let shown = try await CLI.run(["show", "shredded", "--json"], environment: Self.env, directory: directory)
            #expect(shown.status == 0, "\(shown.err)")

            let refused = try await CLI.run(["import", "-", "x", "--shred"], environment: Self.env, stdin: text, directory: directory)
            #expect(refused.status == 64)
        }
    }

    @Test func failedImportLeavesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let bad = directory + "/bad.txt"
            try Data(("1" + String(repeating: "A", count: 351)).utf8).write(to: URL(fileURLWithPath: bad))
            let result = try await CLI.run(["import", bad, "vault"], environment: Self.env, directory: directory)
            #expect(result.status == 64)
            #expect(result.err.contains("string of 352 characters"), "\(result.err)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["bad.txt"])

            let truncated = directory + "/truncated.session"
            try Data(fileBytes(Self.fixtures + "/telethon-v8.session").prefix(5000)).write(to: URL(fileURLWithPath: truncated))
            let damaged = try await CLI.run(["import", truncated, "vault2", "--shred"], environment: Self.env, directory: directory)
            #expect(damaged.status == 66, "\(damaged.err)")
            #expect(damaged.err.contains("truncated"))
            #expect(FileManager.default.fileExists(atPath: truncated), "a failed import never shreds")
            #expect(!FileManager.default.fileExists(atPath: directory + "/vault2.session"))

            let nokey = try copy("telethon-v8-nokey.session", to: directory)
            let empty = try await CLI.run(["import", nokey, "vault3"], environment: Self.env, directory: directory)
            #expect(empty.status == 64)
            #expect(empty.err.contains("holds no auth key"))

            let source = try copy("telethon-ipv6.txt", to: directory)
            try Data("exists".utf8).write(to: URL(fileURLWithPath: directory + "/taken.session"))
            let exists = try await CLI.run(["import", source, "taken"], environment: Self.env, directory: directory)
            #expect(exists.status == 64)
            #expect(fileBytes(directory + "/taken.session") == Array("exists".utf8))
        }
    }

    @Test func exportSafety() async throws {
        try await withTemporaryDirectory { directory in
            let source = try copy("kurigram-2.2.26.session", to: directory)
            #expect(try await CLI.run(["import", source, "kuri", "--kdf", "interactive"], environment: Self.env, directory: directory).status == 0)

            let noAck = try await CLI.run(["export", "kuri", "--format", "pyrogram-string"], environment: Self.env, directory: directory)
            #expect(noAck.status == 64)
            #expect(noAck.err.contains("--plaintext"))
            #expect(noAck.stdout.isEmpty)

            let noOutput = try await CLI.run(["export", "kuri", "--format", "kurigram", "--plaintext"], environment: Self.env, directory: directory)
            #expect(noOutput.status == 64)
            #expect(noOutput.err.contains("--output"))

            let file = try await CLI.run(
                ["export", "kuri", "--format", "kurigram", "--plaintext", "--output", "out.session"], environment: Self.env, directory: directory)
            #expect(file.status == 0, "\(file.err)")
            #expect(fileMode(directory + "/out.session") == 0o600)
            let again = try SessionImporter.read(from: .file(path: directory + "/out.session"))
            #expect(again.schemaVersion == 7)
            #expect(again.session.user?.id == 6_543_210_987)

            let twice = try await CLI.run(
                ["export", "kuri", "--format", "telethon", "--plaintext", "--output", "out.session"], environment: Self.env, directory: directory)
            #expect(twice.status == 64)
            #expect(twice.err.contains("already exists"))

            let string = try await CLI.run(
                ["export", "kuri", "--format", "pyrogram-string", "--plaintext", "--output", "s.txt"], environment: Self.env, directory: directory)
            #expect(string.status == 0)
            #expect(fileBytes(directory + "/s.txt") == fileBytes(Self.fixtures + "/kurigram-string.txt"))
            #expect(fileMode(directory + "/s.txt") == 0o600)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: TerminalTests.script), "util-linux script is not installed: no pseudo-terminal"))
    func exportRefusesATerminal() async throws {
        try await withTemporaryDirectory { directory in
            let command = [CLI.binary, "export", "any", "--format", "telethon-string", "--plaintext"].map { "'\($0)'" }.joined(separator: " ")
            let child = try RunningCLI(["-qec", command, "/dev/null"], environment: [:], executable: TerminalTests.script, directory: directory)
            #expect(await child.finish() == 64)
            #expect(child.stdout.contains("refusing to print a plaintext session string to a terminal"))
        }
    }

    @Test func sealedStringRoundTrip() async throws {
        try await withTemporaryDirectory { directory in
            let source = try copy("telethon-v8.session", to: directory)
            #expect(try await CLI.run(["import", source, "bot", "--kdf", "interactive"], environment: Self.env, directory: directory).status == 0)
            var env = Self.env
            env["SESSION_VAULT_STRING_PASSPHRASE"] = Self.stringPassphrase
            let sealed = try await CLI.run(["seal-string", "bot", "--kdf", "interactive"], environment: env, directory: directory)
            #expect(sealed.status == 0, "\(sealed.err)")
            let line = sealed.out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(line.hasPrefix("svs1."))
            #expect(!sealed.out.contains(Self.stringPassphrase))
            try Data(line.utf8).write(to: URL(fileURLWithPath: directory + "/sealed.txt"))

            let stringOnly: [String: String?] = ["SESSION_VAULT_STRING_PASSPHRASE": Self.stringPassphrase]
            let shown = try await CLI.run(["show-sealed", "sealed.txt"], environment: stringOnly, directory: directory)
            #expect(shown.status == 0, "\(shown.err)")
            #expect(shown.out.contains("6123456789"))
            #expect(shown.out.contains("149.154.167.51:443"))

            let fromStdin = try await CLI.run(["show-sealed", "-", "--json"], environment: stringOnly, stdin: Array(line.utf8), directory: directory)
            #expect(fromStdin.status == 0, "\(fromStdin.err)")

            let wrong = try await CLI.run(
                ["show-sealed", "sealed.txt"], environment: ["SESSION_VAULT_STRING_PASSPHRASE": otherPassphrase], directory: directory)
            #expect(wrong.status == 65)

            let exported = try await CLI.run(
                ["export", "--sealed-string", "sealed.txt", "--format", "telethon-string", "--plaintext"], environment: stringOnly, directory: directory)
            #expect(exported.status == 0, "\(exported.err)")
            #expect(exported.stdout == fileBytes(Self.fixtures + "/telethon-ipv4.txt") + [10])
        }
    }
}
