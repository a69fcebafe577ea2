internal import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file backend: sealed records in a SQLite database, WAL journal, one opener at a time.
///
/// The file (and SQLite's `-wal`, which inherits its mode) is created `0600`. `secure_delete` is on,
/// so replaced ciphertexts are overwritten rather than left in free pages. The connection runs in
/// `EXCLUSIVE` locking mode behind ``VaultFileLock``, so no `-shm` file is ever created.
/// Schema and layout: `docs/FORMAT.md`.
public final class SQLiteRecordStore: RecordStore {
    /// `PRAGMA application_id` of every vault: the ASCII bytes `SVLT`.
    public static let applicationID: Int64 = 0x5356_4C54

    /// How hard each commit pushes to stable storage.
    public enum Durability: String, Sendable, Hashable {
        /// `synchronous=FULL`: every commit syncs the WAL; a power cut loses no committed save.
        case full
        /// `synchronous=NORMAL`: faster; always consistent, but a power cut may lose the last saves.
        case normal
    }

    /// The path of the database file.
    public let path: String
    /// Set when an existing file was readable or writable by group or others.
    public private(set) var permissionsWarning: String?
    private let connection: SQLiteConnection
    private var lock: VaultFileLock?

    private init(path: String, connection: SQLiteConnection, lock: VaultFileLock) {
        self.path = path
        self.connection = connection
        self.lock = lock
    }

    deinit {
        // A store released without close() (for example a vault dropped without close()) still
        // checkpoints, closes and releases its lock; every commit was already durable.
        try? close()
    }

    /// ``StorageKind/sqlite``.
    public var storageKind: StorageKind { .sqlite }

    /// The loaded SQLite version, e.g. `3.40.1`.
    public var sqliteVersion: String { connection.library.version }

    static let schema = """
        CREATE TABLE sv_header (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            magic BLOB NOT NULL,
            format_version INTEGER NOT NULL,
            vault_id BLOB NOT NULL,
            mac BLOB NOT NULL
        ) STRICT;
        CREATE TABLE sv_keyslot (
            slot INTEGER PRIMARY KEY,
            kind INTEGER NOT NULL,
            kdf INTEGER NOT NULL,
            opslimit INTEGER NOT NULL,
            memlimit INTEGER NOT NULL,
            salt BLOB NOT NULL,
            nonce BLOB NOT NULL,
            wrapped_key BLOB NOT NULL
        ) STRICT;
        CREATE TABLE sv_record (
            tag BLOB PRIMARY KEY,
            kind INTEGER NOT NULL,
            nonce BLOB NOT NULL,
            ciphertext BLOB NOT NULL
        ) STRICT, WITHOUT ROWID;
        """

    /// The files a vault at `path` may own.
    static func companionPaths(of path: String) -> [String] {
        [path + "-wal", path + "-shm", path + "-journal"]
    }

    /// The lock file of a vault at `path`.
    static func lockPath(of path: String) -> String { path + "-lock" }

    /// Where a vault at `path` is built before it is linked into place (see ``create(at:library:durability:lockWait:initial:)``).
    static func stagingPath(of path: String) -> String { path + "-creating" }

    /// Creates a new vault database at `path`, which must not exist, holding `initial` (the header,
    /// keyslots and manifest of the new vault).
    ///
    /// Creation is atomic: the database is built, checkpointed and synced under the staging name
    /// `<path>-creating`, then hard-linked to `path` (which fails rather than replace anything), so a
    /// crash at any moment leaves either no vault or the complete new one, never an empty or
    /// half-initialised file that nobody could open or create again. A staging file left by a crash
    /// is removed by the next creator or opener, which holds the lock.
    static func create(
        at path: String,
        library: SQLiteLibrary,
        durability: Durability,
        lockWait: Duration,
        initial: RecordTransaction
    ) async throws(VaultError) -> SQLiteRecordStore {
        try checkParentDirectory(of: path)
        if try FileSystem.status(path) != nil {
            throw VaultError(.alreadyExists, "\(path) already exists")
        }
        try checkCompanionFiles(of: path, owner: geteuid())
        let lock = try await VaultFileLock.acquire(path: lockPath(of: path), vaultPath: path, wait: lockWait, owner: geteuid())
        let staging = stagingPath(of: path)
        var published = false
        do throws(VaultError) {
            // Re-check under the lock: another creator may have won the race.
            if try FileSystem.status(path) != nil {
                throw VaultError(.alreadyExists, "\(path) already exists")
            }
            // Under the lock nobody else is creating: whatever is here was left by a crash.
            removeFiles(of: staging)
            for companion in companionPaths(of: path) { FileSystem.removeIfPresent(companion) }
            try FileSystem.createExclusive(staging)
            let builder = try SQLiteConnection(path: staging, library: library)
            do throws(VaultError) {
                try configure(builder, durability: durability, path: staging)
                try builder.transaction { () throws(VaultError) in
                    try builder.execute("PRAGMA application_id = \(applicationID)")
                    try builder.execute(schema)
                    try apply(initial, to: builder)
                }
                // Everything into the database file itself; closing removes the staging WAL.
                try builder.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                try builder.close()
            } catch {
                try? builder.close()
                throw error
            }
            try syncFile(staging)
            try publish(staging, as: path)
            published = true
            FileSystem.removeIfPresent(staging)
            FileSystem.syncDirectory(of: path)

            let connection = try SQLiteConnection(path: path, library: library)
            do throws(VaultError) {
                try configure(connection, durability: durability, path: path)
            } catch {
                try? connection.close()
                throw error
            }
            return SQLiteRecordStore(path: path, connection: connection, lock: lock)
        } catch {
            removeFiles(of: staging)
            if published { removeFiles(of: path) }
            lock.removeFileAndRelease()
            throw error
        }
    }

    /// Gives the built staging file its final name without ever replacing an existing file.
    private static func publish(_ staging: String, as path: String) throws(VaultError) {
        if link(staging, path) == 0 { return }
        let code = errno
        guard code == EPERM || code == EOPNOTSUPP || code == ENOSYS || code == EXDEV else {
            throw FileSystem.error(code, "cannot create \(path)")
        }
        // A file system without hard links: rename, after checking again (we hold the lock).
        if try FileSystem.status(path) != nil { throw VaultError(.alreadyExists, "\(path) already exists") }
        guard rename(staging, path) == 0 else { throw FileSystem.error(errno, "cannot create \(path)") }
    }

    /// `fsync` of a file by path.
    private static func syncFile(_ path: String) throws(VaultError) {
        let code = fsyncFile(path)
        guard code == 0 else { throw FileSystem.error(code, "cannot sync \(path)") }
    }

    /// Opens an existing vault database at `path`.
    static func open(
        at path: String,
        library: SQLiteLibrary,
        durability: Durability,
        lockWait: Duration
    ) async throws(VaultError) -> SQLiteRecordStore {
        let owner = try FileSystem.status(path)?.st_uid
        if let owner { try checkCompanionFiles(of: path, owner: owner) }
        try checkExistingFile(path)
        let lock = try await VaultFileLock.acquire(path: lockPath(of: path), vaultPath: path, wait: lockWait, owner: owner)
        do throws(VaultError) {
            // A staging file left by a creator that crashed after publishing is a stale copy of the
            // first keyslot: remove it (we hold the lock, so nobody is creating).
            removeFiles(of: stagingPath(of: path))
            guard let info = try FileSystem.status(path) else {
                throw VaultError(.notFound, "\(path) does not exist")
            }
            let connection = try SQLiteConnection(path: path, library: library)
            let store = SQLiteRecordStore(path: path, connection: connection, lock: lock)
            do throws(VaultError) {
                try configure(connection, durability: durability, path: path)
                try store.checkIdentity()
            } catch {
                try? connection.close()
                throw error
            }
            let mode = FileSystem.permissions(info)
            if mode & 0o077 != 0 {
                store.permissionsWarning =
                    "\(path) has mode \(String(mode, radix: 8)); group or others can access it (expected 600)"
            }
            return store
        } catch {
            lock.release()
            throw error
        }
    }

    private static func checkParentDirectory(of path: String) throws(VaultError) {
        let directory = FileSystem.directoryName(of: path)
        guard let info = try FileSystem.status(directory) else {
            throw VaultError(.notFound, "the directory \(directory) does not exist")
        }
        guard FileSystem.isDirectory(info) || (info.st_mode & S_IFMT) == S_IFLNK else {
            throw VaultError(.invalidArgument, "\(directory) is not a directory")
        }
    }

    /// Cheap checks before taking the lock, FORMAT.md §7 step 1: exists, is a regular file, non-empty,
    /// starts like SQLite, has a whole 100-byte header with a valid page size, and is not shorter than
    /// the header says. An empty `-wal` holds no page, so it counts as no `-wal`.
    /// Refuses a lock, WAL, shared-memory or journal file next to the vault that another user could
    /// have planted or may change: in a shared (world-writable or sticky) directory another user can
    /// create `<vault>-lock` naming a pid of their choice (a permanent "in use") or a `-wal` they own
    /// and may rewrite. Each must be a regular file owned by `owner` (the vault file's owner) or by the
    /// caller, and not writable by group or others.
    /// - Throws: ``VaultError/Code/io`` naming the file, its owner or mode, and the remedy.
    static func checkCompanionFiles(of path: String, owner: uid_t) throws(VaultError) {
        for companion in [lockPath(of: path)] + companionPaths(of: path) {
            // A directory in the way fails to open with "Is a directory", as it always did.
            guard let info = try FileSystem.status(companion), !FileSystem.isDirectory(info) else { continue }
            guard FileSystem.isRegularFile(info) else {
                throw VaultError(.io, "\(companion) is not a regular file; refusing to use it (vaults do not belong in shared directories)")
            }
            guard info.st_uid == owner || info.st_uid == geteuid() else {
                throw VaultError(
                    .io,
                    "\(companion) is owned by uid \(info.st_uid), not by the vault's owner (uid \(owner)) or you; another user may have "
                        + "planted it: refusing it (vaults do not belong in shared directories; remove the file if you trust it)"
                )
            }
            let mode = FileSystem.permissions(info)
            guard mode & 0o022 == 0 else {
                throw VaultError(
                    .io,
                    "\(companion) has mode \(String(mode, radix: 8)): group or others can write it; refusing it (chmod 600 it)"
                )
            }
        }
    }

    private static func checkExistingFile(_ path: String) throws(VaultError) {
        guard let info = try FileSystem.status(path) else {
            throw VaultError(.notFound, "\(path) does not exist")
        }
        if FileSystem.isDirectory(info) {
            throw VaultError(.invalidArgument, "\(path) is a directory, not a vault file")
        }
        guard FileSystem.isRegularFile(info) else {
            throw VaultError(.invalidArgument, "\(path) is not a regular file")
        }
        // A WAL left by a crash or power cut may hold newer copies of any page, page 1 included: a
        // checkpoint cut short by a power loss can leave the file's first sectors unreadable while the
        // WAL still has the page. Then the file's raw bytes prove nothing, and SQLite's WAL recovery
        // decides (checkIdentity still refuses other applications' databases after opening).
        if let wal = ((try? FileSystem.status(path + "-wal")) ?? nil), wal.st_size > 0 {
            return
        }
        guard info.st_size > 0 else {
            throw VaultError(.notAVault, "\(path) is empty (0 bytes)")
        }
        let prefix = try FileSystem.readPrefix(path, count: 100)
        let sqliteMagic = Array("SQLite format 3".utf8) + [0]
        guard prefix.count >= 16, Array(prefix.prefix(16)) == sqliteMagic else {
            throw VaultError(.notAVault, "\(path) is not a SQLite database (\(info.st_size) bytes)")
        }
        guard prefix.count == 100 else {
            throw VaultError(.corrupt, "\(path) is truncated (\(info.st_size) bytes)")
        }
        // Bytes 16-17: page size (1 means 65536). Anything but a power of two from 512 to 65536 means
        // the bytes are not a SQLite header at all (SQLite says SQLITE_NOTADB), checked before the
        // size, which such a header cannot state.
        let rawPageSize = Int(prefix[16]) << 8 | Int(prefix[17])
        let pageSize = rawPageSize == 1 ? 65536 : rawPageSize
        guard pageSize >= 512, pageSize & (pageSize - 1) == 0 else {
            throw VaultError(.notAVault, "\(path) is not a SQLite database (its header gives page size \(rawPageSize))")
        }
        // Bytes 28-31: database size in pages, valid only when the change counter (24-27) equals
        // version-valid-for (92-95). There is no `-wal` here, or an empty one (returned above otherwise).
        let pages = Int(prefix[28]) << 24 | Int(prefix[29]) << 16 | Int(prefix[30]) << 8 | Int(prefix[31])
        let expected = pageSize * pages
        let sizeIsValid = prefix[24..<28] == prefix[92..<96]
        if sizeIsValid && pages > 0 && Int(info.st_size) < expected {
            throw VaultError(.corrupt, "\(path) is truncated (\(info.st_size) of \(expected) bytes)")
        }
    }

    private static func configure(_ connection: SQLiteConnection, durability: Durability, path: String) throws(VaultError) {
        try connection.execute("PRAGMA locking_mode = EXCLUSIVE")
        let mode: String?
        do throws(VaultError) {
            mode = try connection.text("PRAGMA journal_mode = WAL")
        } catch where error.sqliteExtendedCode == readOnlyDirectoryCode {
            throw VaultError(
                .io,
                "the directory \(FileSystem.directoryName(of: path)) is not writable: SQLite must create \(path)-wal next to the vault",
                sqliteExtendedCode: error.sqliteExtendedCode
            )
        }
        guard mode?.lowercased() == "wal" else {
            throw VaultError(.io, "SQLite refused WAL journal mode for \(path) (got \(mode ?? "nothing"))")
        }
        try connection.execute("PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
        // Checkpoint every 100 WAL pages: the WAL stays under ~400 KiB and is rewound and overwritten
        // in place soon after opening, so a commit's fdatasync rarely has to grow the file (measured:
        // 0.59x the raw fdatasync rate while a WAL grows, 0.85x once it is reused). It also bounds how
        // many superseded ciphertexts the WAL holds.
        try connection.execute("PRAGMA wal_autocheckpoint = 100")
        try connection.execute("PRAGMA secure_delete = ON")
        try connection.execute("PRAGMA trusted_schema = OFF")
        try connection.execute("PRAGMA cell_size_check = ON")
        try connection.execute("PRAGMA mmap_size = 0")
        try connection.execute("PRAGMA temp_store = MEMORY")
    }

    /// `SQLITE_READONLY_DIRECTORY`: the database file is writable but its directory is not.
    private static let readOnlyDirectoryCode: Int32 = 8 | (6 << 8)

    /// Refuses files of other applications, vaults with missing tables (`corrupt`) and any schema
    /// object the format does not define (`tampered`, ``VaultSchema``), before any row is read.
    private func checkIdentity() throws(VaultError) {
        let applicationID = try connection.integer("PRAGMA application_id") ?? 0
        guard applicationID == Self.applicationID else {
            let tables = (try? tableNames()) ?? []
            let seen = tables.isEmpty ? "no tables" : "tables \(tables.joined(separator: ", "))"
            throw VaultError(.notAVault, "\(path) is a SQLite database of another application (\(seen))")
        }
        let tables = Set(try tableNames())
        let required: Set = ["sv_header", "sv_keyslot", "sv_record"]
        guard required.isSubset(of: tables) else {
            throw VaultError(.corrupt, "\(path) lacks vault tables \(required.subtracting(tables).sorted())")
        }
        try VaultSchema.check(try schemaObjects(), path: path)
    }

    /// `(type, name, tbl_name, sql)` of every row of `sqlite_schema`.
    private func schemaObjects() throws(VaultError) -> [(type: String?, name: String?, tableName: String?, sql: String?)] {
        let statement = try connection.statement("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name, type")
        defer { statement.reset() }
        var objects: [(type: String?, name: String?, tableName: String?, sql: String?)] = []
        while try statement.step() {
            objects.append((statement.text(0), statement.text(1), statement.text(2), statement.text(3)))
        }
        return objects
    }

    private func tableNames() throws(VaultError) -> [String] {
        let statement = try connection.statement("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        defer { statement.reset() }
        var names: [String] = []
        while try statement.step() { names.append(statement.text(0) ?? "") }
        return names
    }

    /// The header row, validated for types and lengths.
    public func readHeader() throws(VaultError) -> StoredHeader? {
        let statement = try connection.statement(
            "SELECT magic, format_version, vault_id, mac FROM sv_header WHERE id = 1"
        )
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        guard statement.columnType(0) == CSQLITE_BLOB, statement.columnType(1) == CSQLITE_INTEGER,
            statement.columnType(2) == CSQLITE_BLOB, statement.columnType(3) == CSQLITE_BLOB
        else { throw VaultError(.corrupt, "the vault header has values of the wrong type") }
        let version = statement.int64(1)
        guard (0...Int64(UInt32.max)).contains(version) else {
            throw VaultError(.unsupportedFormatVersion, "the vault declares format version \(version)")
        }
        return StoredHeader(
            magic: statement.blob(0),
            formatVersion: UInt32(version),
            vaultID: statement.blob(2),
            mac: statement.blob(3)
        )
    }

    /// The keyslot rows, validated for types.
    public func readKeyslots() throws(VaultError) -> [StoredKeyslot] {
        let statement = try connection.statement(
            "SELECT slot, kind, kdf, opslimit, memlimit, salt, nonce, wrapped_key FROM sv_keyslot ORDER BY slot"
        )
        defer { statement.reset() }
        var slots: [StoredKeyslot] = []
        while try statement.step() {
            for column in Int32(0)...4 where statement.columnType(column) != CSQLITE_INTEGER {
                throw VaultError(.corrupt, "a keyslot has a value of the wrong type")
            }
            for column in Int32(5)...7 where statement.columnType(column) != CSQLITE_BLOB {
                throw VaultError(.corrupt, "a keyslot has a value of the wrong type")
            }
            let slot = statement.int64(0)
            let kind = statement.int64(1)
            let kdf = statement.int64(2)
            let ops = statement.int64(3)
            let mem = statement.int64(4)
            guard (0...255).contains(slot), (0...255).contains(kind), (0...255).contains(kdf), ops >= 0, mem >= 0 else {
                throw VaultError(.corrupt, "a keyslot has an out-of-range number")
            }
            slots.append(
                StoredKeyslot(
                    slot: UInt8(slot),
                    kindCode: UInt8(kind),
                    kdfAlgorithmCode: UInt8(kdf),
                    opsLimit: UInt64(ops),
                    memLimit: UInt64(mem),
                    salt: statement.blob(5),
                    nonce: statement.blob(6),
                    wrappedKey: statement.blob(7)
                )
            )
            if slots.count > 64 { throw VaultError(.corrupt, "the vault has too many keyslots") }
        }
        return slots
    }

    /// Every record row, validated for types.
    public func readRecords() throws(VaultError) -> [SealedRecord] {
        let statement = try connection.statement("SELECT tag, kind, nonce, ciphertext FROM sv_record")
        defer { statement.reset() }
        var records: [SealedRecord] = []
        while try statement.step() {
            guard statement.columnType(0) == CSQLITE_BLOB, statement.columnType(1) == CSQLITE_INTEGER,
                statement.columnType(2) == CSQLITE_BLOB, statement.columnType(3) == CSQLITE_BLOB
            else { throw VaultError(.corrupt, "a record row has values of the wrong type") }
            let kind = statement.int64(1)
            guard (0...255).contains(kind) else { throw VaultError(.corrupt, "a record row has an invalid kind") }
            records.append(
                SealedRecord(
                    tag: statement.blob(0),
                    maskedKind: UInt8(kind),
                    nonce: statement.blob(2),
                    ciphertext: statement.blob(3)
                )
            )
        }
        return records
    }

    /// `SELECT count(*)` of `sv_record`: no row is loaded.
    public func recordCount() throws(VaultError) -> Int? {
        guard let count = try connection.integer("SELECT count(*) FROM sv_record") else { return nil }
        return Int(count)
    }

    /// The record stored under `tag`: one primary-key lookup.
    public func readRecord(tag: [UInt8]) throws(VaultError) -> SealedRecord? {
        let statement = try connection.statement("SELECT kind, nonce, ciphertext FROM sv_record WHERE tag = ?")
        defer { statement.reset() }
        return try tag.withBytes { (tagBytes) throws(VaultError) -> SealedRecord? in
            try statement.bind(tagBytes, at: 1)
            guard try statement.step() else { return nil }
            guard statement.columnType(0) == CSQLITE_INTEGER, statement.columnType(1) == CSQLITE_BLOB,
                statement.columnType(2) == CSQLITE_BLOB
            else { throw VaultError(.corrupt, "a record row has values of the wrong type") }
            let kind = statement.int64(0)
            guard (0...255).contains(kind) else { throw VaultError(.corrupt, "a record row has an invalid kind") }
            return SealedRecord(tag: tag, maskedKind: UInt8(kind), nonce: statement.blob(1), ciphertext: statement.blob(2))
        }
    }

    /// Applies the transaction in one `BEGIN IMMEDIATE … COMMIT`.
    public func commit(_ transaction: RecordTransaction) throws(VaultError) {
        try connection.transaction { () throws(VaultError) in
            try Self.apply(transaction, to: connection)
        }
    }

    /// Writes `transaction` through `connection`, inside the caller's SQLite transaction.
    private static func apply(_ transaction: RecordTransaction, to connection: SQLiteConnection) throws(VaultError) {
        if let header = transaction.header {
            let statement = try connection.statement(
                "INSERT OR REPLACE INTO sv_header (id, magic, format_version, vault_id, mac) VALUES (1, ?, ?, ?, ?)"
            )
            try header.magic.withBytes { (magic) throws(VaultError) in
                try header.vaultID.withBytes { (vaultID) throws(VaultError) in
                    try header.mac.withBytes { (mac) throws(VaultError) in
                        try statement.bind(magic, at: 1)
                        try statement.bind(Int64(header.formatVersion), at: 2)
                        try statement.bind(vaultID, at: 3)
                        try statement.bind(mac, at: 4)
                        try statement.run()
                    }
                }
            }
        }
        if let keyslots = transaction.keyslots {
            try connection.statement("DELETE FROM sv_keyslot").run()
            let statement = try connection.statement(
                "INSERT INTO sv_keyslot (slot, kind, kdf, opslimit, memlimit, salt, nonce, wrapped_key) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            )
            for slot in keyslots {
                try slot.salt.withBytes { (salt) throws(VaultError) in
                    try slot.nonce.withBytes { (nonce) throws(VaultError) in
                        try slot.wrappedKey.withBytes { (wrapped) throws(VaultError) in
                            try statement.bind(Int64(slot.slot), at: 1)
                            try statement.bind(Int64(slot.kindCode), at: 2)
                            try statement.bind(Int64(slot.kdfAlgorithmCode), at: 3)
                            try statement.bind(Int64(clamping: slot.opsLimit), at: 4)
                            try statement.bind(Int64(clamping: slot.memLimit), at: 5)
                            try statement.bind(salt, at: 6)
                            try statement.bind(nonce, at: 7)
                            try statement.bind(wrapped, at: 8)
                            try statement.run()
                        }
                    }
                }
            }
        }
        if transaction.replacesAllRecords {
            try connection.statement("DELETE FROM sv_record").run()
        }
        if !transaction.deletions.isEmpty {
            let statement = try connection.statement("DELETE FROM sv_record WHERE tag = ?")
            for tag in transaction.deletions {
                try tag.withBytes { (tagBytes) throws(VaultError) in
                    try statement.bind(tagBytes, at: 1)
                    try statement.run()
                }
            }
        }
        if !transaction.upserts.isEmpty {
            let statement = try connection.statement(
                "INSERT OR REPLACE INTO sv_record (tag, kind, nonce, ciphertext) VALUES (?, ?, ?, ?)"
            )
            for record in transaction.upserts {
                try record.tag.withBytes { (tag) throws(VaultError) in
                    try record.nonce.withBytes { (nonce) throws(VaultError) in
                        try record.ciphertext.withBytes { (ciphertext) throws(VaultError) in
                            try statement.bind(tag, at: 1)
                            try statement.bind(Int64(record.maskedKind), at: 2)
                            try statement.bind(nonce, at: 3)
                            try statement.bind(ciphertext, at: 4)
                            try statement.run()
                        }
                    }
                }
            }
        }
    }

    /// Removes freed pages and old WAL frames from disk: checkpoint, `VACUUM`, checkpoint with truncation.
    /// Called after a key rotation or passphrase change so old ciphertexts and wrapped keys are gone.
    public func purgeFreedSpace() throws(VaultError) {
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try connection.execute("VACUUM")
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    /// `PRAGMA integrity_check`: `ok`, or SQLite's list of problems.
    public func integrityCheck() throws(VaultError) -> [String] {
        let statement = try connection.statement("PRAGMA integrity_check")
        defer { statement.reset() }
        var lines: [String] = []
        while try statement.step() { lines.append(statement.text(0) ?? "") }
        return lines
    }

    /// Checkpoints the WAL with truncation, closes the connection and releases the lock.
    public func close() throws(VaultError) {
        guard let lock else { return }
        defer {
            lock.release()
            self.lock = nil
        }
        var firstError: VaultError?
        do throws(VaultError) { try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)") } catch { firstError = error }
        do throws(VaultError) { try connection.close() } catch { firstError = firstError ?? error }
        if let firstError { throw firstError }
    }

    /// Closes the connection and removes the database, its WAL and journal files and the lock file.
    public func destroy() throws(VaultError) {
        try? connection.close()
        Self.removeFiles(of: path)
        Self.removeFiles(of: Self.stagingPath(of: path))
        if let lock {
            lock.removeFileAndRelease()
            self.lock = nil
        } else {
            FileSystem.removeIfPresent(Self.lockPath(of: path))
        }
        FileSystem.syncDirectory(of: path)
    }

    static func removeFiles(of path: String) {
        FileSystem.removeIfPresent(path)
        for companion in companionPaths(of: path) { FileSystem.removeIfPresent(companion) }
    }
}

/// `fsync` of the file at `path` (outside the class, whose `open` and `close` would shadow the
/// system calls); returns 0 or the errno.
private func fsyncFile(_ path: String) -> Int32 {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
    guard descriptor >= 0 else { return errno }
    defer { close(descriptor) }
    return fsync(descriptor) == 0 ? 0 : errno
}
