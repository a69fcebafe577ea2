#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads Telethon and Pyrogram sessions, recognising the format by content (never by file name).
///
/// ```swift
/// let imported = try SessionImporter.read(from: .file(path: "bot.session"))
/// print(imported.sourceDescription, imported.notes)
/// ```
///
/// SQLite files are recognised by their header, table names and version number; strings by their
/// shape (length, alphabet, version character). A string is read with `read(2)` into guarded
/// memory and decoded there: no copy of the key lands in a `String` or `[UInt8]`. A SQLite source
/// is opened read-only (or, in WAL mode or beside a journal, read through a private copy): importing never
/// changes it. When the content is not recognised, the error says what was seen.
public enum SessionImporter {
    /// Where to read a session from.
    public enum Source: Sendable {
        /// A file: a SQLite session, or a text file holding a session string.
        case file(path: String)
        /// Standard input, holding a session string (not a SQLite file).
        case standardInput
        /// A session string already in guarded memory (surrounding whitespace is ignored).
        case text(SecretBytes)
    }

    /// Reads and parses a session.
    /// - Parameters:
    ///   - source: The file, standard input or guarded text.
    ///   - format: Forces a format; nil detects it. A forced format that does not match the content
    ///     is an error naming what the content is.
    ///   - sqliteLibraryPath: An explicit libsqlite3 to load (default: the vault's loader).
    /// - Throws: ``VaultError/Code/invalidArgument`` for content that is no supported session (the
    ///   message says what it is), ``VaultError/Code/corrupt`` for a damaged or truncated file,
    ///   ``VaultError/Code/notFound`` / ``VaultError/Code/io`` for files that cannot be read.
    public static func read(
        from source: Source,
        format: SessionFormat? = nil,
        sqliteLibraryPath: String? = nil
    ) throws(VaultError) -> ImportedSession {
        // Whatever the source, first remove the private copies that killed imports left behind.
        SQLiteSourceFile.removeLeftovers(in: SQLiteSourceFile.temporaryBase())
        switch source {
        case .text(let secret):
            return try readString(secret, origin: "the session string", format: format)
        case .standardInput:
            let (bytes, truncated) = try SecretInput.readAll(from: 0, what: "standard input")
            if bytes.withUnsafeBytes({ $0.starts(with: SQLiteSourceFile.magic) }) {
                throw VaultError(
                    .invalidArgument,
                    "standard input holds a SQLite file; give its path instead of '-' (SQLite sessions are read from files)"
                )
            }
            if truncated {
                throw VaultError(
                    .invalidArgument,
                    "standard input holds more than \(SecretInput.maximumByteCount) bytes, far too long for a session string"
                )
            }
            return try readString(bytes, origin: "standard input", format: format)
        case .file(let path):
            return try readFile(path, format: format, sqliteLibraryPath: sqliteLibraryPath)
        }
    }

    // MARK: - Files

    /// A SOURCE that is not a file, as errors show it. A session string given by mistake where a path
    /// belongs (a long run of base64 characters) is never echoed; another long path is cut.
    static func shownSource(_ path: String, missing: Bool) -> String {
        let bytes = Array(path.utf8)
        let base64Like = bytes.allSatisfy {
            GuardedBase64.isAlphabet($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "=")
                || $0 == UInt8(ascii: ".")
        }
        if missing && bytes.count >= 64 && base64Like && !bytes.contains(UInt8(ascii: "/")) {
            return "the \(bytes.count)-character SOURCE (it looks like a session string, not a file name: not shown; "
                + "give a session string through a file or standard input, '-')"
        }
        return bytes.count > 256 ? EchoedText.quoted(path, limit: 96) : path
    }

    private static func readFile(_ path: String, format: SessionFormat?, sqliteLibraryPath: String?) throws(VaultError) -> ImportedSession {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw FileSystem.error(code, "cannot read \(shownSource(path, missing: code == ENOENT || code == ENAMETOOLONG))")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            closeDescriptor(descriptor)
            throw FileSystem.error(code, "cannot inspect \(path)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            closeDescriptor(descriptor)
            throw VaultError(.invalidArgument, "\(path) is not a regular file")
        }
        // The first bytes of a string file are already part of the key: read them into guarded memory.
        let prefix: SecretBytes
        do throws(VaultError) {
            prefix = try SecretBytes(count: 16)
        } catch {
            closeDescriptor(descriptor)
            throw error
        }
        let count = prefix.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 16, 0) }
        let size = Int(info.st_size)
        let magic = SQLiteSourceFile.magic
        let looksLikeSQLite = count > 0 && prefix.withUnsafeBytes { $0.prefix(count).elementsEqual(magic.prefix(count)) }
        prefix.wipe()
        if looksLikeSQLite {
            closeDescriptor(descriptor)
            guard count == 16 else {
                throw VaultError(.corrupt, "\(path) is truncated: \(size) bytes of a SQLite header")
            }
            return try readSQLite(path, format: format, sqliteLibraryPath: sqliteLibraryPath)
        }
        defer { closeDescriptor(descriptor) }
        if size == 0 {
            throw VaultError(.invalidArgument, "\(path) is empty: no session to import")
        }
        if size > SecretInput.maximumByteCount {
            throw VaultError(
                .invalidArgument,
                "\(path) is a file of \(size) bytes that is neither a SQLite database nor a session string"
            )
        }
        let (bytes, _) = try SecretInput.readAll(from: descriptor, what: path)
        return try readString(bytes, origin: path, format: format)
    }

    // MARK: - SQLite

    /// What a SQLite file's tables and version say it is.
    struct SQLiteIdentity {
        var format: SessionFormat
        var version: Int
    }

    private static func readSQLite(_ path: String, format: SessionFormat?, sqliteLibraryPath: String?) throws(VaultError) -> ImportedSession {
        let library = try SQLiteLibrary.loadForSessionFiles(path: sqliteLibraryPath)
        let source = try SQLiteSourceFile(path: path, label: "session file \(path)", library: library)
        defer { source.close() }
        let db = source.database
        let identity = try identify(db, path: path)
        if let format, format != identity.format {
            throw VaultError(
                .invalidArgument,
                "--format \(format) was given, but \(path) is a \(identity.format.displayName) (schema \(identity.version))"
            )
        }
        let range = identity.format.readableSchemaVersions ?? 0...0
        guard range.contains(identity.version) else {
            let relation = identity.version > range.upperBound ? "newer than" : "older than"
            let readable = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
            throw VaultError(
                .invalidArgument,
                "\(path) is a \(identity.format.displayName) of schema version \(identity.version), \(relation) "
                    + "what this build reads (\(readable))"
            )
        }
        switch identity.format {
        case .telethon: return try TelethonSQLiteFormat.read(db, version: identity.version)
        case .telethonV2: return try TelethonV2SQLiteFormat.read(db)
        default: return try PyrogramSQLiteFormat.read(db, version: identity.version)
        }
    }

    /// Tells Telethon 1.x, Telethon v2 and Pyrogram/Kurigram files apart by tables and version.
    static func identify(_ db: SQLiteConnection, path: String) throws(VaultError) -> SQLiteIdentity {
        let tables = try db.tableNames()
        let tableSet = Set(tables)
        let seen = tables.isEmpty ? "a SQLite database with no tables" : "a SQLite file with tables \(EchoedText.list(tables, limit: 12))"
        guard tableSet.contains("version") else {
            if tableSet.contains("sv_header") {
                throw VaultError(.invalidArgument, "\(path) is already a SessionVault vault, not a plaintext session")
            }
            throw VaultError(.invalidArgument, "\(path) is \(seen), which is not a Telethon or Pyrogram session")
        }
        let versionColumns = try db.columnNames(of: "version")
        var version: Int64?
        var versionColumn: String?
        if versionColumns.contains("version") {
            versionColumn = "version"
        } else if versionColumns.contains("number") {
            versionColumn = "number"
        }
        if let versionColumn {
            try db.selectRows(from: "version", columns: [versionColumn]) { (row) throws(VaultError) in
                if version == nil { version = try row.integer(versionColumn) }
            }
        }
        guard let version, let number = Int(exactly: version) else {
            throw VaultError(.invalidArgument, "\(path) is \(seen), but its version table holds no version number")
        }
        if versionColumn == "version" && (tableSet.contains("datacenter") || number >= 10) {
            guard tableSet.isSuperset(of: ["datacenter", "user", "state", "channelstate"]) || number != 10 else {
                throw VaultError(.corrupt, "\(path) says Telethon v2 schema 10 but lacks its tables (\(seen))")
            }
            return SQLiteIdentity(format: .telethonV2, version: number)
        }
        if versionColumn == "version" && tableSet.contains("sessions") {
            return SQLiteIdentity(format: .telethon, version: number)
        }
        if versionColumn == "number" && tableSet.contains("sessions") {
            return SQLiteIdentity(format: .pyrogram, version: number)
        }
        throw VaultError(.invalidArgument, "\(path) is \(seen), which is not a Telethon or Pyrogram session")
    }

    // MARK: - Strings

    /// Recognises and decodes a session string held in guarded memory.
    static func readString(_ secret: SecretBytes, origin: String, format: SessionFormat?) throws(VaultError) -> ImportedSession {
        try secret.withUnsafeBytes { (all) throws(VaultError) -> ImportedSession in
            let range = SecretInput.trimmedRange(all)
            let text = UnsafeRawBufferPointer(rebasing: all[range])
            if format == .gramjsString, text.first == GramJSStringFormat.version {
                // Forced: read it as GramJS's own reader does (a 352-character body as Telethon IPv4).
                return try GramJSStringFormat.decode(text)
            }
            let detected = try detectString(text, origin: origin)
            if let format, format != detected {
                throw VaultError(
                    .invalidArgument,
                    "--format \(format) was given, but \(origin) holds a \(detected.displayName) (\(text.count) characters)"
                )
            }
            switch detected {
            case .telethonString: return try TelethonStringFormat.decode(text)
            case .gramjsString: return try GramJSStringFormat.decode(text)
            case .mtcuteString: return try MtcuteStringFormat.decode(text)
            case .gotdJSON: return try GotdSessionFormat.decode(text)
            default: return try PyrogramStringFormat.decode(text)
            }
        }
    }

    /// The text format of `text`, or an error that says what the text looks like.
    ///
    /// JSON (`{`) is a gotd session. A string starting with `1` is Telethon (URL-safe base64, 353 or
    /// 369 characters) or GramJS (standard base64; a text address): a 369-character string in the
    /// characters both alphabets share is told apart by its decoded address field. A 353-character
    /// string in the standard alphabet is ambiguous (GramJS's reader takes any 352-character body
    /// for a Telethon IPv4 string) and needs `--format`. URL-safe unpadded strings of 351, 356 or 362
    /// characters are Pyrogram; other URL-safe strings whose first byte is 3 are mtcute.
    static func detectString(_ text: UnsafeRawBufferPointer, origin: String) throws(VaultError) -> SessionFormat {
        let count = text.count
        guard count > 0 else { throw VaultError(.invalidArgument, "\(origin) is empty (only whitespace): no session string") }
        if text.starts(with: Array("svs1.".utf8)) {
            throw VaultError(
                .invalidArgument,
                "\(origin) holds a SessionVault sealed string (svs1.…), not a plaintext session; open it with its passphrase instead"
            )
        }
        if text[0] == UInt8(ascii: "{") { return .gotdJSON }
        let isStandardOnly: (UInt8) -> Bool = { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") }
        let isURLSafeOnly: (UInt8) -> Bool = { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        if let bad = text.firstIndex(where: { !GuardedBase64.isAlphabet($0) && $0 != 61 && !isStandardOnly($0) }) {
            let hint = text[0] == 34 || text[0] == 39 ? " (it starts with a quote: remove the quotes)" : ""
            throw VaultError(
                .invalidArgument,
                "\(origin) holds a string of \(count) characters, not base64: character \(bad + 1) is outside base64\(hint)"
            )
        }
        let standard = text.contains(where: isStandardOnly)
        let urlSafe = text.contains(where: isURLSafeOnly)
        if standard && urlSafe {
            throw VaultError(
                .invalidArgument,
                "\(origin) holds a string of \(count) characters that mixes standard base64 ('+' or '/') with URL-safe base64 ('-' or '_'): no session string does"
            )
        }
        if text[0] == TelethonStringFormat.version {
            if count == 353 && standard {
                throw VaultError(
                    .invalidArgument,
                    "\(origin) holds an ambiguous 353-character string in standard base64: GramJS reads a 352-character body as a "
                        + "Telethon IPv4 string, its writer never makes one; give --format gramjs-string to read it as GramJS does"
                )
            }
            if TelethonStringFormat.lengths.contains(count) && !standard {
                if count == 369 && !urlSafe, let payload = try GramJSStringFormat.decodeBody(text),
                    payload.withUnsafeBytes({ GramJSStringFormat.hasTextAddress($0) })
                {
                    return .gramjsString
                }
                return .telethonString
            }
            if !urlSafe && count > 1 && (count - 1) % 4 == 0 { return .gramjsString }
        }
        if standard {
            throw VaultError(
                .invalidArgument,
                "\(origin) holds a string of \(count) characters in standard base64 ('+' or '/') that does not start with '1', "
                    + "so it is no GramJS string (and Telethon, Pyrogram and mtcute strings are URL-safe)"
            )
        }
        if TelethonStringFormat.lengths.contains(count) {
            let shown = GuardedBase64.isAlphabet(text[0]) ? "'\(Character(Unicode.Scalar(text[0])))'" : "'='"
            throw VaultError(
                .invalidArgument,
                "\(origin) holds a string of \(count) characters (a Telethon string length) with the unknown version "
                    + "character \(shown); Telethon strings start with '1'"
            )
        }
        if PyrogramStringFormat.lengths.contains(count) {
            guard !text.contains(61) else {
                throw VaultError(
                    .invalidArgument,
                    "\(origin) holds a string of \(count) characters (a Pyrogram string length) with '=' padding, which Pyrogram strings never have"
                )
            }
            return .pyrogramString
        }
        // mtcute: URL-safe base64 whose first byte is the version 3 ("Aw"); versions 1 and 2 ("AQ", "Ag").
        if count >= 8, text[0] == UInt8(ascii: "A") {
            switch text[1] {
            case UInt8(ascii: "w"): return .mtcuteString
            case UInt8(ascii: "Q"), UInt8(ascii: "g"):
                throw VaultError(
                    .invalidArgument,
                    "\(origin) looks like an mtcute string session of version \(text[1] == UInt8(ascii: "Q") ? 1 : 2); mtcute and this build read only version 3"
                )
            default: break
            }
        }
        var hint = ""
        if count == 352 || count == 368 {
            hint = text[0] == TelethonStringFormat.version
                ? "; a Telethon string whose '=' padding was stripped?" : "; a Telethon string without its leading '1'?"
        }
        throw VaultError(
            .invalidArgument,
            "\(origin) holds a string of \(count) characters, which is no known session string: Telethon strings are "
                + "353 or 369 characters starting with '1', Pyrogram strings 351, 356 or 362, GramJS strings start with '1', "
                + "mtcute strings with 'Aw', gotd sessions are JSON\(hint)"
        )
    }
}
