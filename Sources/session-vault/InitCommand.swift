import ArgumentParser
import SessionVaultKit

/// `session-vault init PATH`: create an empty vault, optionally with a recovery key.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an empty vault (mode 600).",
        discussion: """
            The passphrase comes from its one source (see 'session-vault --help'); on a terminal it is asked \
            twice. With --recovery-key, a second keyslot is added that a random 32-byte recovery key unlocks: \
            the key is printed ONCE on standard output (55 base32 characters with a checksum, in groups of \
            five) and never stored. Nothing else is written to standard output.
            """
    )

    @Argument(help: "The vault file ('.session' is appended when the name has no extension).")
    var path: String

    @Option(help: KDFProfile.help)
    var kdf: KDFProfile = .default

    @Flag(help: "Also add a recovery-key keyslot and print the recovery key once.")
    var recoveryKey = false

    func run() async throws {
        try await CommandRunner.run {
            let path = try VaultAccess.resolve(path, mustExist: false)
            let passphrase = try VaultAccess.readPassphrase(confirm: true)
            let configuration = VaultAccess.configuration(mode: .create, kdf: kdf.parameters)
            let vault = try await TerminalProgress.step("creating \(path) (\(kdf.parameters))") {
                () async throws(VaultError) in
                try await VaultAccess.open(path, passphrase: passphrase, configuration: configuration)
            }
            if recoveryKey {
                do {
                    let key = try await vault.addRecoveryKey()
                    StandardStream.writeLine(
                        "the recovery key of \(path) follows on standard output. Store it now: it is shown once and never stored."
                    )
                    try VaultAccess.printRecoveryKey(key)
                } catch {
                    // A vault whose recovery key nobody saw is a trap: remove the new, empty vault.
                    try? await vault.delete()
                    StandardStream.writeLine("removed \(path) again; nothing was created")
                    throw error
                }
            }
            let kinds = await vault.keyslotKinds.map(\.description).joined(separator: ", ")
            try await vault.close()
            StandardStream.writeLine("created \(path) (\(kdf.parameters); keyslots: \(kinds))")
        }
    }
}
