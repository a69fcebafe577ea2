import ArgumentParser
import SessionVaultKit

/// `session-vault rotate PATH`: a new data key.
struct RotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Rotate the data key: re-seal every record in one transaction and purge the old ciphertexts.",
        discussion: """
            The passphrase stays the same. Afterwards the old wrapped keys and old ciphertexts are gone from \
            the file and its WAL (secure_delete, WAL checkpoint with truncation, VACUUM). A recovery key \
            wraps the old data key, so when the vault had one, a NEW recovery key is printed once on standard \
            output and the old one stops working. A vault of format version 1 is migrated to version 2 \
            (every record padded, docs/FORMAT.md §5.4).
            """
    )

    @Argument(help: "The vault file.")
    var path: String

    func run() async throws {
        try await CommandRunner.run {
            let path = try VaultAccess.resolve(path, mustExist: true)
            let (vault, unlockedWith) = try await VaultAccess.openExisting(path)
            guard let passphrase = unlockedWith else { throw VaultError(.invalidArgument, "rotate needs the passphrase") }
            let records = await vault.recordCount
            let newRecoveryKey = try await VaultAccess.closing(vault) {
                try await TerminalProgress.step("rotating the data key of \(records) record(s)") { () async throws(VaultError) in
                    try await vault.rotateDataKey(passphrase: passphrase, progress: TerminalProgress.counter("re-sealing records"))
                }
            }
            if let newRecoveryKey {
                StandardStream.writeLine(
                    "the NEW recovery key of \(path) follows on standard output; the old one no longer works. "
                        + "Store it now: it is shown once and never stored."
                )
                do {
                    try VaultAccess.printRecoveryKey(newRecoveryKey)
                } catch {
                    try? await vault.close()
                    StandardStream.writeLine("the passphrase still unlocks \(path); run 'session-vault rotate' again for another recovery key")
                    throw error
                }
            }
            try await vault.close()
            StandardStream.writeLine("rotated the data key of \(path): \(records) record(s) re-sealed, old ciphertexts purged")
        }
    }
}
