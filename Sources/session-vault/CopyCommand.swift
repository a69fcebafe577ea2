#if SESSION_VAULT_POSTGRES
import ArgumentParser
import SessionVaultKit
import SessionVaultPostgres

/// `session-vault copy SRC DST`: move a session between a file and PostgreSQL (either direction).
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a session (and its peer cache) into a new vault, re-sealed under the new vault's keys.",
        discussion: """
            SRC and DST are vault files or PostgreSQL locations (postgres://user@host/db?session=NAME, or \
            pg:NAME with SESSION_VAULT_POSTGRES_URL; the database password comes from \
            SESSION_VAULT_POSTGRES_PASSWORD_FILE). The source is unlocked with the passphrase; the new vault \
            gets SESSION_VAULT_NEW_PASSPHRASE[_FILE] when set, else the same passphrase. DST must not exist yet. \
            The copy is verified by reading it back; on any failure DST is removed again.
            """
    )

    @Argument(help: "The vault to copy from.")
    var source: String

    @Argument(help: "The new vault to create.")
    var destination: String

    @Option(help: KDFProfile.help)
    var kdf: KDFProfile = .default

    func run() async throws {
        try await CommandRunner.run {
            let sourceLocation = try VaultAccess.resolve(source, mustExist: true)
            let destinationLocation = try VaultAccess.resolve(destination, mustExist: false)
            let (sourceVault, passphrase) = try await VaultAccess.openExisting(sourceLocation)
            try await VaultAccess.closing(sourceVault) {
                let newPassphrase: Passphrase
                if let explicit = try? PassphraseSource.locate(.newPassphrase, allowTerminal: false) {
                    newPassphrase = try Passphrase(secret: try explicit.read(.newPassphrase))
                } else if let passphrase {
                    newPassphrase = passphrase
                } else {
                    newPassphrase = try PassphraseSource.readPassphrase(.newPassphrase, confirm: true)
                }
                let configuration = VaultAccess.configuration(mode: .create, kdf: kdf.parameters)
                let destinationVault = try await TerminalProgress.step("creating \(destinationLocation)") { () async throws(VaultError) in
                    try await VaultAccess.open(destinationLocation, passphrase: newPassphrase, configuration: configuration)
                }
                do {
                    let result = try await SessionCopy.copy(from: sourceVault, to: destinationVault)
                    try await destinationVault.close()
                    StandardStream.writeLine(
                        "copied \(sourceLocation) to \(destinationLocation): \(result.records) record(s), \(result.peers) peer(s), verified"
                    )
                } catch {
                    try? await destinationVault.delete()
                    throw error
                }
            }
            try await sourceVault.close()
        }
    }
}
#endif
