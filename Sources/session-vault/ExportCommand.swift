import ArgumentParser
import SessionVaultKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `session-vault export PATH --format F --plaintext`: a vault back out to a Telethon, Pyrogram, GramJS, mtcute or gotd format.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a vault's session as a plaintext Telethon, Pyrogram, GramJS, mtcute or gotd session (for migrating away).",
        discussion: """
            Formats: telethon (SQLite, schema 8; --schema 7 for Telethon <= 1.42), telethon-v2 (schema 10), \
            telethon-string, pyrogram (SQLite schema 3, read by Pyrogram 2.0 and, after migration, Kurigram), \
            kurigram (pyrogram schema 7: keeps the address, update state and several usernames), \
            pyrogram-string, gramjs-string (GramJS StringSession), mtcute-string (version 3), gotd-json (the \
            JSON of gotd's session.FileStorage). The real libraries load the result with the same DC, address, port, auth key, \
            user and update state, as far as the format holds them; what it cannot hold is listed on \
            standard error.

            The export is the plaintext auth key: anyone who reads it can use the account. It needs \
            --plaintext, writes --output files with mode 600 (never replacing a file), and prints a string \
            to standard output only when that is not a terminal. SQLite formats need --output.

            Instead of PATH, --sealed-string FILE|- exports the session of a sealed string (svs1.), unlocked \
            with the string passphrase (SESSION_VAULT_STRING_PASSPHRASE_FILE, SESSION_VAULT_STRING_PASSPHRASE, \
            credential session-vault-string-passphrase, or the terminal).
            """
    )

    @Argument(help: "The vault file.")
    var path: String?

    @Option(help: "telethon, telethon-v2, telethon-string, pyrogram, kurigram, pyrogram-string, gramjs-string, mtcute-string or gotd-json.")
    var format: InteropFormatOption

    @Flag(help: "Acknowledge that the output holds the auth key in plaintext.")
    var plaintext = false

    @Option(help: "Write to this new file (mode 600) instead of standard output.")
    var output: String?

    @Option(help: "SQLite schema version: telethon 8 (default) or 7; pyrogram 3 (default) or 7.")
    var schema: Int?

    @Option(help: "The api_id to write when the vault has none (Pyrogram formats).")
    var apiID: Int32?

    @Option(help: "Export the session of a sealed string read from this file ('-': standard input) instead of a vault.")
    var sealedString: String?

    func validate() throws {
        if (path == nil) == (sealedString == nil) {
            throw ValidationError("give either a vault PATH or --sealed-string FILE, not both or neither")
        }
    }

    func run() async throws {
        try await CommandRunner.run {
            guard plaintext else {
                throw VaultError(
                    .invalidArgument,
                    "export writes the auth key in plaintext: anyone who reads it can use the account; add --plaintext to confirm"
                )
            }
            let format = format.format
            if format.isSQLite && output == nil {
                throw VaultError(.invalidArgument, "\(format) is a SQLite file: give --output FILE")
            }
            if output == nil && isatty(STDOUT_FILENO) == 1 {
                throw VaultError(
                    .invalidArgument,
                    "refusing to print a plaintext session string to a terminal: give --output FILE or redirect standard output"
                )
            }
            if let output, access(output, F_OK) == 0 {
                throw VaultError(.alreadyExists, "\(output) already exists; not replaced")
            }
            let (session, peers) = try await loadSession()
            let options = SessionExporter.Options(schemaVersion: schema ?? self.format.impliedSchema, apiID: apiID)
            let report: SessionExporter.Report
            if let output {
                report = try SessionExporter.write(session, peers: peers, format: format, to: output, options: options)
            } else {
                let (text, stringReport) = try SessionExporter.string(session, format: format, options: options)
                try text.withUnsafeBytes { (raw) throws(VaultError) in try StandardStream.write(raw, to: StandardStream.output) }
                text.wipe()
                try StandardStream.write("\n", to: StandardStream.output)
                report = stringReport
            }
            for note in report.notes { StandardStream.writeLine("note: \(note)") }
            let schemaText = report.schemaVersion.map { " schema \($0)" } ?? ""
            StandardStream.writeLine(
                "exported \(format)\(schemaText) to \(output ?? "standard output"): this is a plaintext session, keep it private"
            )
        }
    }

    private func loadSession() async throws(VaultError) -> (Session, [Peer]) {
        let vault: SessionVault
        if let sealedString {
            let text = try SessionTextInput.readSealedString(sealedString)
            let passphrase = try PassphraseSource.readPassphrase(.sealedString)
            vault = try await SealedSessionString.open(text, passphrase: passphrase, configuration: VaultAccess.configuration(mode: .openExisting))
        } else {
            let resolved = try VaultAccess.resolve(path ?? "", mustExist: true)
            (vault, _) = try await VaultAccess.openExisting(resolved)
        }
        do throws(VaultError) {
            guard let session = try await vault.load() else {
                throw VaultError(.invalidArgument, "\(path ?? "the sealed string") holds no session to export")
            }
            let peers = try await vault.allPeers()
            try await vault.close()
            return (session, peers)
        } catch {
            try? await vault.close()
            throw error
        }
    }
}
