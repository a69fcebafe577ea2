import ArgumentParser
import SessionVault

/// `session-vault`: create, inspect, re-key and audit encrypted Telegram session vaults.
@main
struct SessionVaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session-vault",
        abstract: "Keep Telegram client sessions encrypted at rest.",
        discussion: """
            Passphrases are never taken on the command line. They come from SESSION_VAULT_PASSPHRASE_FILE, \
            SESSION_VAULT_PASSPHRASE, $CREDENTIALS_DIRECTORY/session-vault-passphrase, or a prompt on the terminal.
            """,
        version: SessionVaultInfo.versionDescription,
        subcommands: [DemoCommand.self]
    )
}
