import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// Every documented exit code, produced for real, with one line on stderr and nothing on stdout.
@Suite("Exit codes")
struct ExitCodeTests {
    let environment: [String: String?] = ["SESSION_VAULT_PASSPHRASE": vaultPassphrase]

    func expectOneLineFailure(_ result: CLIResult, status: Int32, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == status, "\(result.arguments): \(result.err)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "stdout: \(result.out)", sourceLocation: sourceLocation)
        #expect(result.err.hasPrefix("session-vault: "), sourceLocation: sourceLocation)
        #expect(result.err.filter { $0 == "\n" }.count == 1, "one line: \(result.err)", sourceLocation: sourceLocation)
        #expect(result.err.contains(text), "\(result.err)", sourceLocation: sourceLocation)
    }

    @Test func usageErrorsExit64() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            for arguments in [["show"], ["show", path, "--passphrase", vaultPassphrase], ["init", directory + "/x", "--kdf", "weak"], ["frobnicate"]] {
                let result = try await CLI.run(arguments, environment: environment)
                #expect(result.status == 64, "\(arguments): \(result.err)")
                #expect(result.stdout.isEmpty)
            }
            expectOneLineFailure(try await CLI.run(["show", directory + "/missing"], environment: environment), status: 64, containing: "does not exist")
            expectOneLineFailure(try await CLI.run(["init", path], environment: environment), status: 64, containing: "already exists")
        }
    }

    @Test func wrongPassphraseExits65() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            for command in ["show", "verify", "rotate"] {
                let result = try await CLI.run([command, path], environment: ["SESSION_VAULT_PASSPHRASE": otherPassphrase])
                expectOneLineFailure(result, status: 65, containing: "wrong passphrase")
            }
        }
    }

    @Test func tamperedAndForeignFilesExit66() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            try withRawDatabase(path) { db in
                let select = try db.statement("SELECT tag, ciphertext FROM sv_record ORDER BY length(ciphertext) DESC LIMIT 1")
                guard try select.step() else { throw VaultError(.notFound, "no record") }
                let tag = select.blob(0)
                var ciphertext = select.blob(1)
                select.reset()
                ciphertext[20] ^= 0x01
                let update = try db.statement("UPDATE sv_record SET ciphertext = ? WHERE tag = ?")
                try ciphertext.withUnsafeBytes { try update.bind($0, at: 1) }
                try tag.withUnsafeBytes { try update.bind($0, at: 2) }
                try update.run()
            }
            expectOneLineFailure(try await CLI.run(["show", path], environment: environment), status: 66, containing: "authentication")

            let foreign = directory + "/notes.session"
            try Data("these are not the droids you are looking for\n".utf8).write(to: URL(fileURLWithPath: foreign))
            expectOneLineFailure(try await CLI.run(["verify", foreign], environment: environment), status: 66, containing: "not a SQLite database")
        }
    }

    @Test func vaultHeldByAnotherProcessExits67NamingThePid() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            var configuration = SessionVault.Configuration()
            configuration.mode = .openExisting
            // Children spawned concurrently by other tests briefly share copies of this process's
            // descriptors (between fork and exec), which can delay the release of a lock just closed.
            configuration.lockWait = .seconds(5)
            let holder = try await SessionVault.open(at: path, passphrase: try Passphrase(copying: vaultPassphrase), configuration: configuration)
            let result = try await CLI.run(["show", path], environment: environment)
            try await holder.close()
            expectOneLineFailure(result, status: 67, containing: "\(path) is in use by pid \(getpid())")

            let afterwards = try await CLI.run(["show", path], environment: environment)
            #expect(afterwards.status == 0, "released: \(afterwards.err)")
        }
    }

    @Test func kdfParametersOutOfBoundsExit68() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            try withRawDatabase(path) { db in try db.execute("UPDATE sv_keyslot SET opslimit = 1000 WHERE kind = 1") }
            expectOneLineFailure(try await CLI.run(["show", path], environment: environment), status: 68, containing: "outside the accepted range")

            try withRawDatabase(path) { db in
                try db.execute("UPDATE sv_keyslot SET opslimit = 2, memlimit = \(Int64(4) << 30) WHERE kind = 1")
            }
            expectOneLineFailure(try await CLI.run(["verify", path], environment: environment), status: 68, containing: "outside the accepted range")
        }
    }

    @Test func missingSQLiteExits69InsteadOfUsingAnEmptyMemoryVault() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            var missing = environment
            missing["SESSION_VAULT_SQLITE_LIBRARY"] = "/nonexistent/libsqlite3.so.0"
            for command in ["show", "verify", "rotate", "passwd"] {
                let result = try await CLI.run([command, path], environment: missing)
                expectOneLineFailure(result, status: 69, containing: "libsqlite3 cannot be loaded")
            }
            let created = try await CLI.run(["init", directory + "/fresh"], environment: missing)
            expectOneLineFailure(created, status: 69, containing: "libsqlite3 cannot be loaded")
            #expect(!FileManager.default.fileExists(atPath: directory + "/fresh.session"))
        }
    }

    @Test func unwritableStandardOutputExits74AndRemovesTheVaultWhoseKeyWasNotShown() async throws {
        try await withTemporaryDirectory { directory in
            let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
            let result = try await CLI.run(["init", "bot", "--recovery-key"], environment: environment, stdout: full, directory: directory)
            #expect(result.status == 74, "\(result.err)")
            #expect(result.err.contains("cannot write to standard output"))
            #expect(result.err.contains("removed \(directory)/bot.session again"))
            #expect(!FileManager.default.fileExists(atPath: directory + "/bot.session"))
        }
    }
}
