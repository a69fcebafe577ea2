import ArgumentParser
import SessionVaultKit

/// `session-vault seal-string PATH`: the vault's session as one sealed line (`svs1.…`).
struct SealStringCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal-string",
        abstract: "Print the vault's session as a sealed string (svs1.…) for an environment variable.",
        discussion: """
            The line holds its own Argon2id keyslot and the sealed session (data centers, user, update state, \
            extras; not the peer cache). A leaked sealed string is as useless as a leaked vault file. It is \
            locked with the STRING passphrase, which is separate from the vault's: \
            SESSION_VAULT_STRING_PASSPHRASE_FILE, SESSION_VAULT_STRING_PASSPHRASE, the systemd credential \
            session-vault-string-passphrase, or the terminal (asked twice). The vault itself is unlocked with \
            its usual passphrase source. Open the string with SealedSessionString.open in the library, with \
            'session-vault show-sealed', or 'session-vault export --sealed-string'.
            """
    )

    @Argument(help: "The vault file.")
    var path: String

    @Option(help: KDFProfile.help)
    var kdf: KDFProfile = .default

    func run() async throws {
        try await CommandRunner.run {
            let resolved = try VaultAccess.resolve(path, mustExist: true)
            let (vault, _) = try await VaultAccess.openExisting(resolved)
            let session = try await VaultAccess.closing(vault) { () async throws -> Session in
                guard let session = try await vault.load() else {
                    throw VaultError(.invalidArgument, "\(resolved) holds no session to seal")
                }
                return session
            }
            try await vault.close()
            let passphrase = try PassphraseSource.readPassphrase(.sealedString, confirm: true)
            let configuration = VaultAccess.configuration(mode: .openExisting, kdf: kdf.parameters)
            let line = try await TerminalProgress.step("sealing (\(kdf.parameters))") { () async throws(VaultError) in
                try SealedSessionString.seal(session, passphrase: passphrase, configuration: configuration)
            }
            try StandardStream.print(line)
            StandardStream.writeLine(
                "sealed the session of \(resolved) (\(line.utf8.count) characters; the peer cache is not included)"
            )
        }
    }
}
