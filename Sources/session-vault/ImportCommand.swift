import ArgumentParser
import SessionVaultKit
#if SESSION_VAULT_POSTGRES
import SessionVaultPostgres
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `session-vault import SOURCE PATH`: a Telethon, Pyrogram, GramJS, mtcute or gotd session into a new vault.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Encrypt an existing Telethon, Pyrogram, GramJS, mtcute or gotd session into a new vault.",
        discussion: """
            SOURCE is a session file (Telethon 1.x schema 7/8, Telethon v2 schema 10, Pyrogram schema 3, \
            Kurigram schema 4-7) or a file holding a session string (Telethon 353/369 characters, Pyrogram \
            351/356/362, GramJS StringSession, mtcute version 3) or a gotd session JSON file; '-' reads a \
            string from standard input. Session strings are never taken on the command line. The format is \
            recognised by content; --format confirms it (and resolves the one ambiguous case: a 353-character \
            standard-base64 string, which GramJS reads as a Telethon IPv4 string).

            The vault is built in a temporary file beside PATH, reopened and compared with the source, and \
            only then moved to PATH: a failed import leaves no PATH, and the source is never modified. The \
            new vault's passphrase comes from the usual sources (see 'session-vault --help').

            A Telegram Desktop tdata folder (a directory with key_datas) is read in memory only: its local \
            passcode, if it has one, comes from SESSION_VAULT_TDATA_PASSCODE_FILE, SESSION_VAULT_TDATA_PASSCODE, \
            the systemd credential session-vault-tdata-passcode or the terminal (never the command line). A \
            folder with one account goes to PATH; with several, choose --account N (its index) or --all PREFIX \
            (one vault per account: PREFIX-N.session); without either, a terminal is asked for the index. Read: the legacy key file with or without a passcode, \
            and the Telegram Desktop 7.3 key file without one.

            --shred then overwrites the source file (and its -journal, -wal, -shm) and removes it; for tdata, \
            every file of the folder, then the folder. Overwriting is best effort: copy-on-write file systems, \
            SSD wear levelling, snapshots and backups keep old copies (README, "Encrypt my existing Telethon \
            session").
            """
    )

    @Argument(help: "The session file, a file holding a session string, or a tdata folder; '-' for standard input.")
    var source: String

    @Argument(help: "The new vault ('.session' is appended when the name has no extension); not with --all.")
    var path: String?

    @Option(help: "tdata: import the account of this index (as listed when the folder holds several).")
    var account: Int?

    @Option(help: "tdata: import every account, each into its own new vault PREFIX-N.session.")
    var all: String?

    @Option(help: "Require this format: telethon, telethon-v2, telethon-string, pyrogram (or kurigram), pyrogram-string, gramjs-string, mtcute-string, gotd-json.")
    var format: InteropFormatOption?

    @Option(help: KDFProfile.help)
    var kdf: KDFProfile = .default

    @Flag(help: "After a verified import, overwrite the source file (and its -journal/-wal/-shm) and remove it.")
    var shred = false

    func validate() throws {
        if all == nil && path == nil { throw ValidationError("give the new vault's PATH (or --all PREFIX for a tdata folder)") }
        if all != nil && path != nil { throw ValidationError("give either PATH or --all PREFIX, not both") }
        if all != nil && account != nil { throw ValidationError("give either --account N or --all PREFIX, not both") }
    }

    func run() async throws {
        try await CommandRunner.run {
            if TDataImporter.isTDataFolder(source) {
                try await importTData()
                return
            }
            if all != nil || account != nil {
                throw VaultError(.invalidArgument, "--account and --all are for a tdata folder; \(source) is not one")
            }
            let path = self.path ?? ""
            if shred && source == "-" {
                throw VaultError(.invalidArgument, "--shred needs a source file, not standard input")
            }
            if source == "-" && isatty(STDIN_FILENO) == 1 {
                throw VaultError(
                    .invalidArgument,
                    "standard input is a terminal, which would echo the session string: pipe it in or give a file"
                )
            }
            let destination = try VaultAccess.resolve(path, mustExist: false)
            let imported = try SessionImporter.read(
                from: source == "-" ? .standardInput : .file(path: source),
                format: format?.format
            )
            guard imported.session.dataCenters.contains(where: { $0.authKey != nil }) else {
                throw VaultError(
                    .invalidArgument,
                    "\(source) (\(imported.sourceDescription)) holds no auth key: it never logged in, so there is nothing to encrypt"
                )
            }
            let passphrase = try VaultAccess.readPassphrase(confirm: true)
            let created = try await Self.create(imported, at: destination, passphrase: passphrase, kdf: kdf)
            for note in imported.notes { StandardStream.writeLine("note: \(note)") }
            StandardStream.writeLine(
                "imported \(imported.sourceDescription) from \(source) into \(created): \(Self.summary(imported)); verified"
            )
            if shred {
                let removed = try FileShredder.shred(source)
                StandardStream.writeLine(
                    "shredded \(removed.joined(separator: ", ")) (overwritten, then removed; copies in snapshots, "
                        + "backups or copy-on-write blocks are out of reach: log the old session out if in doubt)"
                )
            } else if source != "-" {
                StandardStream.writeLine("\(source) still holds the plaintext session: remove it (or rerun with --shred)")
            }
        }
    }

    /// Creates one vault from `imported` (SQLite path or, with the trait, a PostgreSQL location).
    static func create(
        _ imported: ImportedSession, at destination: String, passphrase: Passphrase, kdf: KDFProfile
    ) async throws(VaultError) -> String {
        let configuration = VaultAccess.configuration(mode: .create, kdf: kdf.parameters)
        return try await TerminalProgress.step("creating \(destination) (\(kdf.parameters))") { () async throws(VaultError) in
            #if SESSION_VAULT_POSTGRES
            if PostgresLocation.isPostgresLocation(destination) {
                return try await PostgresVault.createByImporting(
                    imported, at: try PostgresLocation(parsing: destination), passphrase: passphrase, configuration: configuration)
            }
            #endif
            return try await SessionVault.createByImporting(imported, at: destination, passphrase: passphrase, configuration: configuration)
        }
    }

    static func summary(_ imported: ImportedSession) -> String {
        let session = imported.session
        var parts = ["\(session.dataCenters.count) data center\(session.dataCenters.count == 1 ? "" : "s")"]
        if let user = session.user { parts.append("user \(user.id)\(user.isBot ? " (bot)" : "")") }
        if let state = session.updateState { parts.append("update state + \(state.channels.count) channels") }
        parts.append("\(imported.peers.count) peers")
        return parts.joined(separator: ", ")
    }
}
