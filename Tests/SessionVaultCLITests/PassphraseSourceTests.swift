import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// Every passphrase source of the issue, in its documented order, through the built binary.
@Suite("Passphrase sources")
struct PassphraseSourceTests {
    @Test func environmentVariable() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            let result = try await CLI.run(["show", path], environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase])
            #expect(result.status == 0, "\(result.err)")
        }
    }

    @Test func fileDropsExactlyOneTrailingNewline() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            let file = directory + "/passphrase"
            try writeSecretFile(file, vaultPassphrase + "\n")
            let one = try await CLI.run(["show", path], environment: ["SESSION_VAULT_PASSPHRASE_FILE": file])
            #expect(one.status == 0, "\(one.err)")

            try writeSecretFile(file, vaultPassphrase + "\n\n")
            let two = try await CLI.run(["show", path], environment: ["SESSION_VAULT_PASSPHRASE_FILE": file])
            #expect(two.status == 65, "only one newline is dropped: the passphrase is exact bytes")
        }
    }

    @Test func systemdCredential() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            let credentials = directory + "/credentials"
            try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: false)
            try writeSecretFile(credentials + "/session-vault-passphrase", vaultPassphrase)
            let result = try await CLI.run(["show", path], environment: ["CREDENTIALS_DIRECTORY": credentials])
            #expect(result.status == 0, "\(result.err)")

            // Order: the variables come before the credential.
            try writeSecretFile(credentials + "/session-vault-passphrase", "not the passphrase")
            let environmentFirst = try await CLI.run(
                ["show", path],
                environment: ["CREDENTIALS_DIRECTORY": credentials, "SESSION_VAULT_PASSPHRASE": vaultPassphrase]
            )
            #expect(environmentFirst.status == 0, "\(environmentFirst.err)")
            let file = directory + "/passphrase"
            try writeSecretFile(file, vaultPassphrase)
            let fileFirst = try await CLI.run(
                ["show", path],
                environment: ["CREDENTIALS_DIRECTORY": credentials, "SESSION_VAULT_PASSPHRASE_FILE": file]
            )
            #expect(fileFirst.status == 0, "\(fileFirst.err)")
        }
    }

    @Test func bothVariablesAreMutuallyExclusive() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            let file = directory + "/passphrase"
            try writeSecretFile(file, vaultPassphrase)
            let result = try await CLI.run(
                ["show", path],
                environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase, "SESSION_VAULT_PASSPHRASE_FILE": file]
            )
            #expect(result.status == 64)
            #expect(result.err == "session-vault: SESSION_VAULT_PASSPHRASE and SESSION_VAULT_PASSPHRASE_FILE are both set; they are mutually exclusive\n")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func emptyPassphrasesAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            let variable = try await CLI.run(["show", path], environment: ["SESSION_VAULT_PASSPHRASE": ""])
            #expect(variable.status == 64)
            #expect(variable.err.contains("is empty"))

            let file = directory + "/empty"
            try writeSecretFile(file, "\n")
            let fromFile = try await CLI.run(["show", path], environment: ["SESSION_VAULT_PASSPHRASE_FILE": file])
            #expect(fromFile.status == 64)
            #expect(fromFile.err.contains("is empty"))

            let created = try await CLI.run(["init", directory + "/new"], environment: ["SESSION_VAULT_PASSPHRASE": ""])
            #expect(created.status == 64)
            #expect(!FileManager.default.fileExists(atPath: directory + "/new.session"))
        }
    }

    @Test func noSourceAndNoTerminalIsAnError() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            // Standard input is a pipe, not a terminal, so there is nobody to prompt.
            let result = try await CLI.run(["show", path], stdin: Array((vaultPassphrase + "\n").utf8))
            #expect(result.status == 64)
            #expect(result.err.hasPrefix("session-vault: no passphrase given"))
            #expect(result.err.contains("SESSION_VAULT_PASSPHRASE_FILE"))
        }
    }

    @Test func recoveryKeyFromAFile() async throws {
        try await withTemporaryDirectory { directory in
            let (path, recoveryKey) = try await makeVault(in: directory, withRecoveryKey: true)
            let keyFile = directory + "/recovery"
            try writeSecretFile(keyFile, try #require(recoveryKey) + "\n")
            let result = try await CLI.run(
                ["passwd", path, "--recovery-key"],
                environment: ["SESSION_VAULT_RECOVERY_KEY_FILE": keyFile, "SESSION_VAULT_NEW_PASSPHRASE": otherPassphrase]
            )
            #expect(result.status == 0, "\(result.err)")
            let shown = try await CLI.run(["show", path], environment: ["SESSION_VAULT_PASSPHRASE": otherPassphrase])
            #expect(shown.status == 0, "\(shown.err)")
        }
    }
}
