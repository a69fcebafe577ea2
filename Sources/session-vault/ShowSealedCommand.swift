import ArgumentParser
import SessionVaultKit
import SessionVaultOperations

/// `session-vault show-sealed FILE|-`: the redacted view of a sealed string's session.
struct ShowSealedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show-sealed",
        abstract: "Open a sealed string (svs1.…) and show its session, redacted like 'show'.",
        discussion: """
            Reads the string from FILE, or from standard input with '-' (never from the command line), and \
            unlocks it with the string passphrase (SESSION_VAULT_STRING_PASSPHRASE_FILE, \
            SESSION_VAULT_STRING_PASSPHRASE, credential session-vault-string-passphrase, or the terminal) into \
            a memory-only vault. Nothing is written to disk.
            """
    )

    @Argument(help: "A file holding the sealed string, or '-' for standard input.")
    var source: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        try await CommandRunner.run {
            let text = try SessionTextInput.readSealedString(source)
            let passphrase = try PassphraseSource.readPassphrase(.sealedString)
            let vault = try await TerminalProgress.step("unlocking the sealed string (Argon2id)") {
                () async throws(VaultError) in
                try await SealedSessionString.open(text, passphrase: passphrase, configuration: VaultAccess.configuration(mode: .openExisting))
            }
            try await VaultAccess.closing(vault) {
                // The string's own Argon2id parameters: the memory vault it opens into has no keyslot.
                let summary = VaultSummary(
                    session: try await vault.load() ?? Session(),
                    storage: vault.storageKind,
                    formatVersion: await vault.formatVersion,
                    kdfParameters: try SealedSessionString.kdfParameters(of: text),
                    keyslotKinds: await vault.keyslotKinds
                )
                if json {
                    try JSONOutput.print(summary)
                } else {
                    let label = source == "-" ? "sealed string (standard input)" : "sealed string \(source)"
                    for line in ShowCommand.lines(of: summary, path: label) { try StandardStream.print(line) }
                }
            }
            try await vault.close()
        }
    }
}
