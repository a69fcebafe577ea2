#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a session in another library's format, so that the real library loads it: same DC,
/// address, port, auth key, user and update state, as far as the format can hold them.
///
/// - Warning: Every export is a **plaintext** copy of the auth key: whoever reads the file or string
///   can use the account. Files are created `0600` and never replace an existing file.
public enum SessionExporter {
    /// What an export wrote and what the target format could not hold.
    public struct Report: Sendable {
        /// The format written.
        public var format: SessionFormat
        /// The schema version written (SQLite formats).
        public var schemaVersion: Int?
        /// What was dropped, inferred or needs attention, one sentence each (never a secret).
        public var notes: [String]
    }

    /// Options of an export.
    public struct Options: Sendable {
        /// The SQLite schema version to write; nil writes the default (Telethon 8, Pyrogram 3).
        public var schemaVersion: Int?
        /// An api id to write where the session has none (Pyrogram needs one).
        public var apiID: Int32?
        /// The time written where a format wants "now" (Unix seconds); nil uses the clock.
        public var now: Int64?
        /// An explicit libsqlite3 to load.
        public var sqliteLibraryPath: String?

        /// The defaults.
        public init(schemaVersion: Int? = nil, apiID: Int32? = nil, now: Int64? = nil, sqliteLibraryPath: String? = nil) {
            self.schemaVersion = schemaVersion
            self.apiID = apiID
            self.now = now
            self.sqliteLibraryPath = sqliteLibraryPath
        }
    }

    /// Encodes a text format (``SessionFormat/telethonString``, ``SessionFormat/pyrogramString``,
    /// ``SessionFormat/gramjsString``, ``SessionFormat/mtcuteString``, ``SessionFormat/gotdJSON``)
    /// into guarded memory: ASCII characters, no newline.
    /// - Warning: The result is the plaintext session; write it with `write(2)` from inside
    ///   `withUnsafeBytes`, never through a `String`.
    public static func string(
        _ session: Session,
        format: SessionFormat,
        options: Options = Options()
    ) throws(VaultError) -> (text: SecretBytes, report: Report) {
        switch format {
        case .telethonString:
            let (text, notes) = try TelethonStringFormat.encode(session)
            return (text, Report(format: format, schemaVersion: nil, notes: notes))
        case .pyrogramString:
            let (text, notes) = try PyrogramStringFormat.encode(session, apiID: options.apiID)
            return (text, Report(format: format, schemaVersion: nil, notes: notes))
        case .gramjsString:
            let (text, notes) = try GramJSStringFormat.encode(session)
            return (text, Report(format: format, schemaVersion: nil, notes: notes))
        case .mtcuteString:
            let (text, notes) = try MtcuteStringFormat.encode(session)
            return (text, Report(format: format, schemaVersion: nil, notes: notes))
        case .gotdJSON:
            let (text, notes) = try GotdSessionFormat.encode(session)
            return (text, Report(format: format, schemaVersion: nil, notes: notes))
        case .tdata:
            throw VaultError(.invalidArgument, "tdata is import-only: SessionVault never writes a Telegram Desktop folder")
        default:
            throw VaultError(.invalidArgument, "\(format) is a SQLite file format, not a string")
        }
    }

    /// Writes `session` and `peers` to a new file at `path` (mode 0600; an existing file is never
    /// replaced). SQLite formats are built in a temporary file beside `path` and renamed into place;
    /// string formats are written as one line without a newline.
    /// - Throws: ``VaultError/Code/alreadyExists`` when `path` exists; ``VaultError/Code/invalidArgument``
    ///   when the session lacks what the format needs (an auth key, a user id).
    @discardableResult
    public static func write(
        _ session: Session,
        peers: [Peer] = [],
        format: SessionFormat,
        to path: String,
        options: Options = Options()
    ) throws(VaultError) -> Report {
        if access(path, F_OK) == 0 { throw VaultError(.alreadyExists, "\(path) already exists; not replaced") }
        if !format.isSQLite {
            let (text, report) = try string(session, format: format, options: options)
            try writeNewFile(path) { (descriptor) throws(VaultError) in
                try text.withUnsafeBytes { (raw) throws(VaultError) in
                    try FileDescriptorIO.write(raw, to: descriptor, failure: "cannot write \(path)")
                }
            }
            text.wipe()
            return report
        }
        let allowed = format.writableSchemaVersions ?? []
        let version = options.schemaVersion ?? allowed.first ?? 0
        guard allowed.contains(version) else {
            throw VaultError(
                .invalidArgument,
                "\(format) schema \(version) cannot be written; choose \(allowed.map(String.init).joined(separator: " or "))"
            )
        }
        let library = try SQLiteLibrary.loadForSessionFiles(path: options.sqliteLibraryPath)
        let temporary = FileSystem.directoryName(of: path) + "/.session-vault-export-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        try FileSystem.createExclusive(temporary)
        var notes: [String] = []
        do throws(VaultError) {
            let db = try SQLiteConnection(path: temporary, library: library, role: .foreignSession(label: "export \(path)"))
            defer { try? db.close() }
            let now = options.now ?? Int64(time(nil))
            switch format {
            case .telethon:
                notes = try TelethonSQLiteFormat.write(session, peers: peers, version: version, to: db, now: now)
            case .telethonV2:
                notes = try TelethonV2SQLiteFormat.write(session, peers: peers, to: db)
            default:
                notes = try PyrogramSQLiteFormat.write(session, peers: peers, version: version, apiID: options.apiID, to: db, now: now)
            }
            try db.close()
            try publish(temporary, as: path)
        } catch {
            for file in [temporary] + FileShredder.companionFiles(of: temporary) where access(file, F_OK) == 0 {
                try? FileShredder.overwriteAndUnlink(file)
            }
            throw error
        }
        return Report(format: format, schemaVersion: version, notes: notes)
    }

    /// Moves a finished file into place without replacing anything: `link` then `unlink` (atomic,
    /// fails if `path` appeared meanwhile), or `rename` after a check on file systems without hard links.
    static func publish(_ temporary: String, as path: String) throws(VaultError) {
        let descriptor = open(temporary, O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            _ = fsync(descriptor)
            closeDescriptor(descriptor)
        }
        if link(temporary, path) == 0 {
            unlink(temporary)
        } else {
            let code = errno
            if code == EEXIST { throw VaultError(.alreadyExists, "\(path) already exists; not replaced", errno: code) }
            guard code == EPERM || code == ENOTSUP || code == EOPNOTSUPP || code == EXDEV else {
                throw FileSystem.error(code, "cannot move the new file to \(path)")
            }
            if access(path, F_OK) == 0 { throw VaultError(.alreadyExists, "\(path) already exists; not replaced") }
            guard rename(temporary, path) == 0 else { throw FileSystem.error(errno, "cannot move the new file to \(path)") }
        }
        FileSystem.syncDirectory(of: path)
    }

    /// Creates `path` (0600, exclusive), hands the descriptor to `body`, syncs and closes; removes
    /// the file again when `body` fails.
    static func writeNewFile(_ path: String, _ body: (Int32) throws(VaultError) -> Void) throws(VaultError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw FileSystem.error(errno, "cannot create \(path)") }
        _ = fchmod(descriptor, 0o600)
        do throws(VaultError) {
            try body(descriptor)
            guard fsync(descriptor) == 0 else { throw FileSystem.error(errno, "cannot sync \(path)") }
            closeDescriptor(descriptor)
        } catch {
            closeDescriptor(descriptor)
            unlink(path)
            throw error
        }
        FileSystem.syncDirectory(of: path)
    }
}
