import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// `session-vault verify`: each check, its severity, and the exit status.
@Suite("verify")
struct VerifyTests {
    let environment: [String: String?] = ["SESSION_VAULT_PASSPHRASE": vaultPassphrase]

    struct Finding: Equatable {
        var severity: String
        var code: String
        var message: String
    }

    func findings(_ result: CLIResult) throws -> [Finding] {
        let json = try result.json()
        let list = try #require(json["findings"] as? [[String: Any]])
        return list.map {
            Finding(severity: $0["severity"] as? String ?? "?", code: $0["code"] as? String ?? "?", message: $0["message"] as? String ?? "")
        }
    }

    @Test func aCleanVaultPasses() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession(), kdf: .default, withRecoveryKey: true)
            let result = try await CLI.run(["verify", path, "--json"], environment: environment)
            #expect(result.status == 0, "\(result.err)")
            let json = try result.json()
            #expect(Set(json.keys) == ["path", "passed", "findings"])
            #expect(json["passed"] as? Bool == true)
            #expect(json["path"] as? String == path)
            let found = try findings(result)
            #expect(found.map(\.code) == ["authenticated", "integrity-ok", "kdf-recommended", "file-modes-ok", "not-in-git-work-tree", "no-plaintext"])
            #expect(found.allSatisfy { $0.severity == "info" })
            #expect(found[0].message.contains("2 keyslot(s)"))
            #expect(found[0].message.contains("9 record(s)"))

            let text = try await CLI.run(["verify", path], environment: environment)
            #expect(text.status == 0)
            #expect(text.out.contains("info     integrity-ok"))
            #expect(text.err == "session-vault: verify: passed with 0 warning(s)\n")
        }
    }

    /// Interactive (2 passes, 64 MiB) has fewer passes than the recommendation (3 passes, 64 MiB),
    /// so it costs an attacker about a third less per guess: a warning, not an error.
    @Test func kdfBelowTheRecommendationIsAWarning() async throws {
        try await withTemporaryDirectory { directory in
            let created = try await CLI.run(["init", "weak", "--kdf", "interactive"], environment: environment, directory: directory)
            #expect(created.status == 0, "\(created.err)")
            let result = try await CLI.run(["verify", "weak", "--json"], environment: environment, directory: directory)
            #expect(result.status == 0, "warnings do not fail verify: \(result.err)")
            let kdf = try #require(try findings(result).first { $0.code == "kdf-below-recommendation" })
            #expect(kdf.severity == "warning")
            #expect(kdf.message.contains("opslimit=2 memlimit=64MiB"))
        }
    }

    @Test func aVaultReadableByOthersFails() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            chmod(path, 0o644)
            let result = try await CLI.run(["verify", path, "--json"], environment: environment)
            #expect(result.status == 70)
            #expect(try result.json()["passed"] as? Bool == false)
            let mode = try #require(try findings(result).first { $0.code == "file-readable-by-others" })
            #expect(mode.severity == "error")
            #expect(mode.message.contains("\(path) has mode 644"))
            #expect(result.err.contains("verify: "))

            chmod(path, 0o620)
            let writable = try await CLI.run(["verify", path, "--json"], environment: environment)
            #expect(writable.status == 0, "group-writable only is a warning: \(writable.err)")
            #expect(try findings(writable).contains { $0.code == "file-writable-by-others" && $0.severity == "warning" })
        }
    }

    @Test(.enabled(if: isGitAvailable, "git is not installed: the git work-tree check cannot be exercised"))
    func aVaultInAGitWorkTreeMustBeIgnored() async throws {
        try await withTemporaryDirectory { directory in
            let repository = directory + "/bot-repo"
            try FileManager.default.createDirectory(atPath: repository + "/state", withIntermediateDirectories: true)
            try git(["init", "-q"], in: repository)
            let (path, _) = try await makeVault(in: repository + "/state")

            let exposed = try await CLI.run(["verify", path, "--json"], environment: environment)
            #expect(exposed.status == 70)
            let notIgnored = try #require(try findings(exposed).first { $0.code.hasPrefix("git") })
            #expect(notIgnored.code == "git-not-ignored")
            #expect(notIgnored.severity == "error")
            #expect(notIgnored.message.contains("bot-repo"))

            try Data("*.session*\n".utf8).write(to: URL(fileURLWithPath: repository + "/.gitignore"))
            let ignored = try await CLI.run(["verify", path, "--json"], environment: environment)
            #expect(ignored.status == 0, "\(ignored.err)")
            #expect(try findings(ignored).contains { $0.code == "git-ignored" && $0.severity == "info" })

            try git(["add", "-f", "state/bot.session"], in: repository)
            let tracked = try await CLI.run(["verify", path, "--json"], environment: environment)
            #expect(tracked.status == 70)
            #expect(try findings(tracked).contains { $0.code == "git-tracked" && $0.severity == "error" })
        }
    }

    @Test func withoutGitTheCheckIsReportedAsNotDone() async throws {
        try await withTemporaryDirectory { directory in
            // A `.git` folder marks a work tree; PATH without git makes the check impossible.
            try FileManager.default.createDirectory(atPath: directory + "/.git", withIntermediateDirectories: false)
            let (path, _) = try await makeVault(in: directory)
            let result = try await CLI.run(["verify", path, "--json"], environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase, "PATH": directory + "/no-such-bin"])
            #expect(result.status == 0, "\(result.err)")
            let unchecked = try #require(try findings(result).first { $0.code == "git-unchecked" })
            #expect(unchecked.severity == "info")
            #expect(unchecked.message.contains("could not check"))
        }
    }

    @Test func plaintextOnDiskIsAnErrorAndNotPrinted() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            // Plant a copy of an auth key in a free page (what a writer without secure_delete leaves
            // behind); a table the vault does not define would be refused at open (FORMAT.md §3).
            let key = TestKeys.bytes(seed: 13)
            try withRawDatabase(path) { db in
                try db.execute("PRAGMA secure_delete = OFF")
                try db.execute("CREATE TABLE leak (value BLOB)")
                let insert = try db.statement("INSERT INTO leak VALUES (?)")
                try key.withUnsafeBytes { try insert.bind($0, at: 1) }
                try insert.run()
                insert.reset()
                try db.execute("DROP TABLE leak")
            }
            let result = try await CLI.run(["verify", path, "--json"], environment: environment)
            #expect(result.status == 70)
            let leaks = try findings(result).filter { $0.code == "plaintext-found" }
            #expect(leaks.count == 1)
            #expect(leaks.first?.severity == "error")
            #expect(leaks.first?.message.contains("auth key of dc 2") == true)
            // CLI.run already checked that the key itself is in no output.
        }
    }
}
