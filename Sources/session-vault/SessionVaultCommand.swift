import ArgumentParser
import SessionVaultKit

/// `session-vault`: create, inspect, re-key and audit encrypted Telegram session vaults.
@main
struct SessionVaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session-vault",
        abstract: "Keep Telegram client sessions encrypted at rest.",
        discussion: """
            Passphrases are never taken on the command line. They come from exactly one of, in this order: \
            SESSION_VAULT_PASSPHRASE_FILE (a file; one trailing newline dropped), SESSION_VAULT_PASSPHRASE, \
            SESSION_VAULT_PASSPHRASE_FD (an inherited descriptor, read to end of file; the exact bytes), \
            $CREDENTIALS_DIRECTORY/session-vault-passphrase (systemd LoadCredential=), or a prompt on the \
            terminal. Setting more than one of the variables is an error. A variable is wiped from the process environment \
            as soon as it is read.

            Data goes to standard output; messages go to standard error, one line each.

            Exit codes:
              0   success
              64  usage: bad arguments, missing file, no or empty passphrase source
              65  wrong passphrase or recovery key
              66  tampered, corrupt, or not a vault
              67  in use by another process (the message names its pid)
              68  KDF parameters out of bounds
              69  libsqlite3 unavailable
              70  verify found error-level findings
              74  other I/O or system failure
              75  lease lost (PostgreSQL: another process took the session)
            """,
        version: SessionVaultInfo.versionDescription,
        subcommands: allSubcommands
    )

    /// Every subcommand; `copy` exists only in builds with PostgreSQL support.
    static var allSubcommands: [any ParsableCommand.Type] {
        var commands: [any ParsableCommand.Type] = [
            InitCommand.self, ShowCommand.self, PasswdCommand.self, RotateCommand.self, VerifyCommand.self,
            ImportCommand.self, ExportCommand.self, SealStringCommand.self, ShowSealedCommand.self,
            ServeCommand.self, DemoCommand.self, BenchCommand.self, SoakCommand.self,
        ]
        #if SESSION_VAULT_POSTGRES
        commands.append(CopyCommand.self)
        #endif
        return commands
    }
}
