import ArgumentParser
import SessionVaultKit

/// `session-vault passwd PATH`: change the passphrase.
struct PasswdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Change the passphrase (re-wraps the data key only; time does not depend on the vault's size).",
        discussion: """
            The current passphrase comes from its usual source; with --recovery-key the vault is unlocked \
            with the recovery key instead (SESSION_VAULT_RECOVERY_KEY_FILE, SESSION_VAULT_RECOVERY_KEY, the \
            systemd credential session-vault-recovery-key, or the terminal). The new passphrase comes from \
            SESSION_VAULT_NEW_PASSPHRASE_FILE, SESSION_VAULT_NEW_PASSPHRASE, the systemd credential \
            session-vault-new-passphrase, or the terminal (asked twice). Recovery keys stay valid. The old \
            wrapped key is purged from the file and its WAL.
            """
    )

    @Argument(help: "The vault file.")
    var path: String

    @Flag(help: "Unlock with the recovery key instead of the current passphrase.")
    var recoveryKey = false

    @Option(help: "Argon2id profile for the new passphrase (default: keep the current parameters).")
    var kdf: KDFProfile?

    func run() async throws {
        try await CommandRunner.run {
            let path = try VaultAccess.resolve(path, mustExist: true)
            // Find the new passphrase's source before unlocking, so a missing one fails fast.
            let newSource = try PassphraseSource.locate(.newPassphrase)
            let (vault, _) = try await VaultAccess.openExisting(path, unlock: recoveryKey ? .recoveryKey : .passphrase)
            try await VaultAccess.closing(vault) {
                let newPassphrase = try Passphrase(secret: try newSource.read(.newPassphrase, confirm: true))
                let parameters = kdf?.parameters
                try await TerminalProgress.step("re-wrapping the data key (Argon2id)") { () async throws(VaultError) in
                    try await vault.changePassphrase(to: newPassphrase, kdf: parameters)
                }
            }
            let kdfText = await vault.kdfParameters.map(\.description) ?? "?"
            try await vault.close()
            StandardStream.writeLine("changed the passphrase of \(path) (\(kdfText))")
        }
    }
}
