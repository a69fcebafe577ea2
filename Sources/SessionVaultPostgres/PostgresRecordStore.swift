#if SESSION_VAULT_POSTGRES
import Foundation
public import Logging
import NIOCore
import PostgresNIO
public import SessionVaultKit
internal import CSodium
import Synchronization

/// A ``RecordStore`` in PostgreSQL: many sessions per database, each held through a lease with a
/// fencing token (docs/LEASES.md), all sessions of a process sharing one bounded connection pool
/// (``PostgresPool``).
///
/// The database sees exactly what a vault file shows: tags, masked kinds, nonces, ciphertexts and
/// KDF parameters, never a key or an identifier. With `keyed_names=true` it does not see session
/// names either, only keyed hashes of them. Tables (created if missing; layout 2, docs/FORMAT.md):
///
/// ```sql
/// sessionvault_header  (session BYTEA PRIMARY KEY, magic BYTEA, format_version INTEGER, vault_id BYTEA, mac BYTEA)
/// sessionvault_keyslot (session BYTEA, slot SMALLINT, kind SMALLINT, kdf SMALLINT, opslimit BIGINT,
///                       memlimit BIGINT, salt BYTEA, nonce BYTEA, wrapped_key BYTEA, PRIMARY KEY (session, slot))
/// sessionvault_record  (session BYTEA, tag BYTEA, kind SMALLINT, nonce BYTEA, ciphertext BYTEA,
///                       PRIMARY KEY (session, tag))
/// sessionvault_lease   (session BYTEA PRIMARY KEY, token BIGINT, holder_host TEXT, holder_pid INTEGER,
///                       holder_instance TEXT, duration_ms BIGINT, acquired_at, renewed_at, expires_at TIMESTAMPTZ)
/// sessionvault_layout  (version INTEGER)   -- 2
/// SEQUENCE sessionvault_fencing_token
/// ```
public final class PostgresRecordStore: RecordStore {
    /// Where this store lives (never printed with its password).
    public let location: PostgresLocation
    /// The process's shared pool for this server and database.
    public let pool: PostgresPool
    /// This store's lease on its session.
    public let lease: PostgresLease
    let sessionKey: ByteBuffer
    let logger: Logger
    private var isClosed = false
    /// Set when the connection was lost after a save that may change the record set had been sent in
    /// full (``mayChangeTheRecordSet(_:)``): every later call fails until the vault is reopened, which
    /// reads what the database really holds.
    private var outcomeUnknown = false

    init(location: PostgresLocation, pool: PostgresPool, lease: PostgresLease, sessionKey: ByteBuffer, logger: Logger) {
        self.location = location
        self.pool = pool
        self.lease = lease
        self.sessionKey = sessionKey
        self.logger = logger
    }

    /// ``StorageKind/postgres``.
    public var storageKind: StorageKind { .postgres }

    static let schemaLockKey: Int64 = 0x5356_4C54_5343_484D  // "SVLTSCHM"

    /// The layout this build writes: 1 had the three vault tables and session-level advisory locks;
    /// 2 adds the lease table, the fencing-token sequence and `sessionvault_layout`.
    public static let layoutVersion: Int32 = 2

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS sessionvault_header (
            session BYTEA PRIMARY KEY, magic BYTEA NOT NULL, format_version INTEGER NOT NULL,
            vault_id BYTEA NOT NULL, mac BYTEA NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS sessionvault_keyslot (
            session BYTEA NOT NULL, slot SMALLINT NOT NULL, kind SMALLINT NOT NULL, kdf SMALLINT NOT NULL,
            opslimit BIGINT NOT NULL, memlimit BIGINT NOT NULL, salt BYTEA NOT NULL, nonce BYTEA NOT NULL,
            wrapped_key BYTEA NOT NULL, PRIMARY KEY (session, slot))
        """,
        """
        CREATE TABLE IF NOT EXISTS sessionvault_record (
            session BYTEA NOT NULL, tag BYTEA NOT NULL, kind SMALLINT NOT NULL, nonce BYTEA NOT NULL,
            ciphertext BYTEA NOT NULL, PRIMARY KEY (session, tag))
        """,
        // Layout 2 (the migration from layout 1 is exactly these four statements).
        "CREATE SEQUENCE IF NOT EXISTS sessionvault_fencing_token",
        """
        CREATE TABLE IF NOT EXISTS sessionvault_lease (
            session BYTEA PRIMARY KEY, token BIGINT NOT NULL, holder_host TEXT NOT NULL,
            holder_pid INTEGER NOT NULL, holder_instance TEXT NOT NULL, duration_ms BIGINT NOT NULL,
            acquired_at TIMESTAMPTZ NOT NULL, renewed_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL)
        """,
        // The token is a key column: a takeover (which changes it) waits for every write that locked
        // the row FOR KEY SHARE, while a renewal (which does not) runs beside a long write. (Unique
        // per session only, so a token edited by hand never collides with another session's.)
        "CREATE UNIQUE INDEX IF NOT EXISTS sessionvault_lease_token ON sessionvault_lease (session, token)",
        "CREATE TABLE IF NOT EXISTS sessionvault_layout (version INTEGER NOT NULL)",
    ]

    /// Creates the tables if needed (once per pool), then takes the session's lease.
    /// - Throws: ``VaultError/Code/inUse`` naming the holder (host, pid), or ``VaultError/Code/io``
    ///   when the server cannot be reached, no pool connection becomes free, or the database has a
    ///   newer layout than this build.
    public static func connect(
        to location: PostgresLocation,
        lockWait: Duration = .zero,
        logger: Logger = Logger(label: "SessionVault.Postgres"),
        onLeaseLost: (@Sendable (VaultError) -> Void)? = nil
    ) async throws(VaultError) -> PostgresRecordStore {
        let sessionKey = ByteBuffer(bytes: try makeSessionKey(location))
        let pool = try PostgresPool.shared(for: location, logger: logger)
        try await ensureSchema(pool, location)
        try await refusePlantedTriggersAndRules(pool, location)
        let lease = try await PostgresLease.take(
            pool: pool, sessionKey: sessionKey, location: location, wait: lockWait, logger: logger, onLost: onLeaseLost
        )
        return PostgresRecordStore(location: location, pool: pool, lease: lease, sessionKey: sessionKey, logger: logger)
    }

    // MARK: - RecordStore

    /// The header row of this session.
    public func readHeader() async throws(VaultError) -> StoredHeader? {
        try checkOpen()
        let sessionKey = self.sessionKey
        return try await run("reading the vault header") { connection -> StoredHeader? in
            let rows = try await connection.query(
                "SELECT magic, format_version, vault_id, mac FROM sessionvault_header WHERE session = \(sessionKey)")
            for try await (magic, version, vaultID, mac) in rows.decode((ByteBuffer, Int32, ByteBuffer, ByteBuffer).self) {
                guard version >= 0 else { throw VaultError(.unsupportedFormatVersion, "format version \(version)") }
                return StoredHeader(magic: Array(buffer: magic), formatVersion: UInt32(version), vaultID: Array(buffer: vaultID), mac: Array(buffer: mac))
            }
            return nil
        }
    }

    /// The keyslots of this session.
    public func readKeyslots() async throws(VaultError) -> [StoredKeyslot] {
        try checkOpen()
        let sessionKey = self.sessionKey
        return try await run("reading keyslots") { connection -> [StoredKeyslot] in
            let rows = try await connection.query(
                """
                SELECT slot, kind, kdf, opslimit, memlimit, salt, nonce, wrapped_key FROM sessionvault_keyslot
                WHERE session = \(sessionKey) ORDER BY slot
                """)
            var slots: [StoredKeyslot] = []
            for try await (slot, kind, kdf, ops, mem, salt, nonce, wrapped) in rows.decode(
                (Int16, Int16, Int16, Int64, Int64, ByteBuffer, ByteBuffer, ByteBuffer).self
            ) {
                guard (0...255).contains(slot), (0...255).contains(kind), (0...255).contains(kdf), ops >= 0, mem >= 0 else {
                    throw VaultError(.corrupt, "a keyslot has an out-of-range number")
                }
                slots.append(
                    StoredKeyslot(
                        slot: UInt8(slot), kindCode: UInt8(kind), kdfAlgorithmCode: UInt8(kdf),
                        opsLimit: UInt64(ops), memLimit: UInt64(mem),
                        salt: Array(buffer: salt), nonce: Array(buffer: nonce), wrappedKey: Array(buffer: wrapped)
                    )
                )
            }
            return slots
        }
    }

    /// Every record of this session.
    public func readRecords() async throws(VaultError) -> [SealedRecord] {
        try checkOpen()
        let sessionKey = self.sessionKey
        return try await run("reading records") { connection -> [SealedRecord] in
            let rows = try await connection.query(
                "SELECT tag, kind, nonce, ciphertext FROM sessionvault_record WHERE session = \(sessionKey)")
            var records: [SealedRecord] = []
            for try await (tag, kind, nonce, ciphertext) in rows.decode((ByteBuffer, Int16, ByteBuffer, ByteBuffer).self) {
                guard (0...255).contains(kind) else { throw VaultError(.corrupt, "a record row has an invalid kind") }
                records.append(
                    SealedRecord(tag: Array(buffer: tag), maskedKind: UInt8(kind), nonce: Array(buffer: nonce), ciphertext: Array(buffer: ciphertext))
                )
            }
            return records
        }
    }

    /// One record by tag: a primary-key lookup.
    public func readRecord(tag: [UInt8]) async throws(VaultError) -> SealedRecord? {
        try checkOpen()
        let sessionKey = self.sessionKey
        return try await run("reading a record") { connection -> SealedRecord? in
            let rows = try await connection.query(
                """
                SELECT kind, nonce, ciphertext FROM sessionvault_record
                WHERE session = \(sessionKey) AND tag = \(ByteBuffer(bytes: tag))
                """)
            for try await (kind, nonce, ciphertext) in rows.decode((Int16, ByteBuffer, ByteBuffer).self) {
                guard (0...255).contains(kind) else { throw VaultError(.corrupt, "a record row has an invalid kind") }
                return SealedRecord(tag: tag, maskedKind: UInt8(kind), nonce: Array(buffer: nonce), ciphertext: Array(buffer: ciphertext))
            }
            return nil
        }
    }

    /// Applies the transaction atomically, fenced by the lease. Record upserts and deletions (every
    /// hot-path save) are one statement, one round trip (``singleStatement(_:sessionKey:token:instance:)``,
    /// prepared once per connection unless the location says `prepared_statements=false`), that writes only while this holder's token, instance id and expiry are current; a transaction
    /// that also replaces the header or keyslots, or every record, runs in `BEGIN … COMMIT` after the
    /// same check. Both lock the lease row `FOR KEY SHARE`, so a takeover, which changes the token (a
    /// key column), waits for the commit; a renewal does not. A refused write throws ``VaultError/Code/leaseLost``.
    public func commit(_ transaction: RecordTransaction) async throws(VaultError) {
        try checkOpen()
        let (sessionKey, token, instance) = (self.sessionKey, lease.token, lease.instance)
        // The common save is one statement; the statements of BEGIN … COMMIT are built only otherwise.
        let single = Self.singleStatement(transaction, sessionKey: sessionKey, token: token, instance: instance)
        let statements = single == nil ? Self.transactionStatements(transaction, sessionKey: sessionKey) : []
        guard single != nil || !statements.isEmpty else { return }
        let fence = lease.fence
        let prepared = location.preparedStatements
        let sent = CommitSent()
        do throws(VaultError) {
            try await run("saving") { connection in
                if let single {
                    sent.mark()
                    guard try await single.rowCount(on: connection, prepared: prepared) == 1 else { throw FenceRefused() }
                    return
                }
                try await Self.inTransaction(connection, beforeCommit: { sent.mark() }) {
                    guard try await connection.rowCount(fence) == 1 else { throw FenceRefused() }
                    for statement in statements { try await connection.query(statement) }
                }
            }
        } catch {
            guard error.code == .io, sent.isMarked, Self.mayChangeTheRecordSet(transaction) else { throw error }
            outcomeUnknown = true
            throw VaultError(
                .io,
                "\(error.message); the save had been sent in full and may have been stored, so this vault's copy of its record set may be behind the database: close and reopen the vault"
            )
        }
    }

    /// Whether a save may add or remove records (then it also rewrites the manifest): anything but a
    /// single upsert. A lost single-row update leaves nothing inconsistent (the next save of that row
    /// replaces it); a lost change of the record set would leave the vault's count and set sum behind
    /// the database, and its next manifest would not match the records.
    static func mayChangeTheRecordSet(_ transaction: RecordTransaction) -> Bool {
        transaction.upserts.count + transaction.deletions.count > 1 || transaction.replacesAllRecords
            || transaction.header != nil || transaction.keyslots != nil
    }

    /// Whether a save's last step (its one statement, or its `COMMIT`) was handed to the connection:
    /// after that, a lost connection leaves its outcome unknown (committed or not).
    final class CommitSent: Sendable {
        private let marked = Atomic<Bool>(false)
        func mark() { marked.store(true, ordering: .relaxed) }
        var isMarked: Bool { marked.load(ordering: .relaxed) }
    }

    /// The statements of a save that is not one statement (``singleStatement(_:sessionKey:token:instance:)``
    /// is nil), run after the fence in `BEGIN … COMMIT`: header, keyslots, deletions, upserts.
    static func transactionStatements(_ transaction: RecordTransaction, sessionKey: ByteBuffer) -> [PostgresQuery] {
        var statements: [PostgresQuery] = []
        if let header = transaction.header {
            statements.append(
                """
                INSERT INTO sessionvault_header (session, magic, format_version, vault_id, mac)
                VALUES (\(sessionKey), \(ByteBuffer(bytes: header.magic)), \(Int32(clamping: header.formatVersion)),
                        \(ByteBuffer(bytes: header.vaultID)), \(ByteBuffer(bytes: header.mac)))
                ON CONFLICT (session) DO UPDATE SET magic = EXCLUDED.magic, format_version = EXCLUDED.format_version,
                    vault_id = EXCLUDED.vault_id, mac = EXCLUDED.mac
                """
            )
        }
        if let keyslots = transaction.keyslots {
            statements.append("DELETE FROM sessionvault_keyslot WHERE session = \(sessionKey)")
            for slot in keyslots {
                statements.append(
                    """
                    INSERT INTO sessionvault_keyslot (session, slot, kind, kdf, opslimit, memlimit, salt, nonce, wrapped_key)
                    VALUES (\(sessionKey), \(Int16(slot.slot)), \(Int16(slot.kindCode)), \(Int16(slot.kdfAlgorithmCode)),
                            \(Int64(clamping: slot.opsLimit)), \(Int64(clamping: slot.memLimit)), \(ByteBuffer(bytes: slot.salt)),
                            \(ByteBuffer(bytes: slot.nonce)), \(ByteBuffer(bytes: slot.wrappedKey)))
                    """
                )
            }
        }
        if transaction.replacesAllRecords {
            statements.append("DELETE FROM sessionvault_record WHERE session = \(sessionKey)")
        }
        for tag in transaction.deletions {
            statements.append("DELETE FROM sessionvault_record WHERE session = \(sessionKey) AND tag = \(ByteBuffer(bytes: tag))")
        }
        for record in transaction.upserts {
            statements.append(
                """
                INSERT INTO sessionvault_record (session, tag, kind, nonce, ciphertext)
                VALUES (\(sessionKey), \(ByteBuffer(bytes: record.tag)), \(Int16(record.maskedKind)),
                        \(ByteBuffer(bytes: record.nonce)), \(ByteBuffer(bytes: record.ciphertext)))
                ON CONFLICT (session, tag) DO UPDATE SET kind = EXCLUDED.kind, nonce = EXCLUDED.nonce,
                    ciphertext = EXCLUDED.ciphertext
                """
            )
        }
        return statements
    }

    /// The most records (upserted plus deleted) a save writes in one statement; larger saves (a whole
    /// session, thousands of channels) run in `BEGIN … COMMIT`, where round trips matter less.
    static let singleStatementLimit = 64

    /// The fenced write as one statement (``FencedRecordWrite``) when the transaction only upserts and
    /// deletes at most ``singleStatementLimit`` records, each tag once (nil otherwise: then it runs in
    /// `BEGIN … COMMIT`).
    static func singleStatement(
        _ transaction: RecordTransaction, sessionKey: ByteBuffer, token: Int64, instance: String
    ) -> FencedRecordWrite? {
        guard transaction.header == nil, transaction.keyslots == nil, !transaction.replacesAllRecords,
            !(transaction.upserts.isEmpty && transaction.deletions.isEmpty)
        else { return nil }
        let tags = transaction.upserts.map(\.tag) + transaction.deletions
        guard tags.count <= singleStatementLimit, Set(tags).count == tags.count else { return nil }
        let fence = FencedRecordWrite.Fence(sessionKey: sessionKey, token: token, instance: instance)
        let rows = transaction.upserts.map { record in
            FencedRecordWrite.SealedRecordRow(
                tag: ByteBuffer(bytes: record.tag), kind: Int16(record.maskedKind),
                nonce: ByteBuffer(bytes: record.nonce), ciphertext: ByteBuffer(bytes: record.ciphertext))
        }
        if transaction.deletions.isEmpty, rows.count == 1 {
            return .upsert(FencedRecordWrite.Upsert(fence: fence, record: rows[0]))
        }
        return .changes(FencedRecordWrite.Changes(fence: fence, deletions: transaction.deletions.map { ByteBuffer(bytes: $0) }, upserts: rows))
    }

    /// Asks PostgreSQL to reclaim dead row versions of the vault tables (old ciphertexts and wrapped
    /// keys stay in dead tuples until vacuumed). Needs table ownership; without it, logs and continues.
    /// Backups, replicas and archived WAL segments made earlier keep what they had.
    public func purgeFreedSpace() async throws(VaultError) {
        try checkOpen()
        do {
            _ = try await pool.withConnection { connection in
                try await connection.query("VACUUM sessionvault_keyslot, sessionvault_record, sessionvault_header")
            }
        } catch {
            logger.warning("could not VACUUM the vault tables; old ciphertexts remain in dead tuples until autovacuum runs")
        }
    }

    /// Gives the lease up (so that an opener right after this returns finds the session free) and
    /// stops renewing it. The pool's connections stay open for the process's other sessions.
    public func close() async throws(VaultError) {
        guard !isClosed else { return }
        isClosed = true
        await lease.release()
    }

    /// Deletes every row of this session, its lease included, in one fenced transaction.
    public func destroy() async throws(VaultError) {
        try checkOpen()
        let (sessionKey, fence) = (self.sessionKey, lease.fence)
        // No renewal may run into the deleted row (it would be refused and reported as a loss).
        lease.forget()
        try await run("deleting the session") { connection in
            try await Self.inTransaction(connection) {
                guard try await connection.rowCount(fence) == 1 else { throw FenceRefused() }
                try await connection.query("DELETE FROM sessionvault_record WHERE session = \(sessionKey)")
                try await connection.query("DELETE FROM sessionvault_keyslot WHERE session = \(sessionKey)")
                try await connection.query("DELETE FROM sessionvault_header WHERE session = \(sessionKey)")
                try await connection.query("DELETE FROM sessionvault_lease WHERE session = \(sessionKey)")
            }
        }
        isClosed = true
    }

    /// ``VaultError/Code/leaseLost`` once the lease is lost (then every call but closing fails).
    public func checkUsable() throws(VaultError) {
        guard !isClosed else { return }
        if outcomeUnknown {
            throw VaultError(
                .io,
                "the connection was lost after a save that changes the record set had been sent, so whether it was stored is unknown: close and reopen the vault (\(location))"
            )
        }
        try lease.checkWritable()
    }

    // MARK: - Schema

    /// Creates (or migrates to) layout 2 under a transaction-level advisory lock (which, unlike a
    /// session-level one, works through a transaction-mode pooler). Refuses a newer layout.
    static func ensureSchema(_ pool: PostgresPool, _ location: PostgresLocation) async throws(VaultError) {
        if pool.schemaReady.withLock({ $0 }) { return }
        let version = layoutVersion
        // Usually the layout is current: then no DDL runs (CREATE INDEX IF NOT EXISTS would still
        // take a table lock and wait behind every write in flight).
        let stored = try await run(pool, "reading the vault layout in \(location)") { connection -> [Int32] in
            try await storedLayout(connection)
        }
        if stored.count == 1, stored[0] > version {
            throw VaultError(.io, "the database holds vault layout \(stored[0]); this build knows layout \(version) at most")
        }
        if stored == [version] {
            pool.schemaReady.withLock { $0 = true }
            return
        }
        try await run(pool, "creating the vault tables in \(location)") { connection in
            try await inTransaction(connection) {
                try await connection.query("SELECT pg_advisory_xact_lock(\(schemaLockKey))")
                // Openers that found no layout queue here together (every process of a fleet
                // started on a new database): the first creates it; the others find it current and
                // run no DDL, so that they take no table lock behind, and block no write.
                if try await layoutIsCurrent(connection, version) { return }
                for statement in schema { try await connection.query(PostgresQuery(unsafeSQL: statement)) }
                var stored: [Int32] = []
                for try await value in try await connection.query("SELECT version FROM sessionvault_layout").decode(Int32.self) {
                    stored.append(value)
                }
                if stored.isEmpty {
                    try await connection.query("INSERT INTO sessionvault_layout (version) VALUES (\(version))")
                } else if stored.contains(where: { $0 > version }) || stored.count > 1 {
                    throw VaultError(.io, "the database holds vault layout \(stored.max() ?? 0); this build knows layout \(version) at most")
                } else if stored[0] < version {
                    try await connection.query("UPDATE sessionvault_layout SET version = \(version)")
                }
            }
        }
        pool.schemaReady.withLock { $0 = true }
    }

    /// The versions in `sessionvault_layout` (none when the table does not exist).
    static func storedLayout(_ connection: PooledConnection) async throws -> [Int32] {
        var exists = false
        for try await found in try await connection.query("SELECT to_regclass('sessionvault_layout') IS NOT NULL").decode(Bool.self) {
            exists = found
        }
        guard exists else { return [] }
        return try await layoutVersions(connection)
    }

    /// Whether `sessionvault_layout` in the current schema holds exactly `version`, read so that a
    /// table committed by another transaction since this one began is seen: `to_regclass` (as in
    /// ``storedLayout(_:)``) takes no lock, so in a transaction that began before the table was
    /// created it may still answer from the backend's cache that there is none. Reading `pg_class`
    /// uses the statement's snapshot; the `SELECT` then locks the table, which refreshes that cache.
    static func layoutIsCurrent(_ connection: PooledConnection, _ version: Int32) async throws -> Bool {
        var exists = false
        let lookup: PostgresQuery = """
            SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                           WHERE c.relname = 'sessionvault_layout' AND n.nspname = current_schema())
            """
        for try await found in try await connection.query(lookup).decode(Bool.self) { exists = found }
        guard exists else { return false }
        return try await layoutVersions(connection) == [version]
    }

    /// The rows of `sessionvault_layout`, which must exist.
    private static func layoutVersions(_ connection: PooledConnection) async throws -> [Int32] {
        var versions: [Int32] = []
        for try await value in try await connection.query("SELECT version FROM sessionvault_layout").decode(Int32.self) {
            versions.append(value)
        }
        return versions
    }

    /// The tables are shared by every session of the database: a trigger or rule that someone with
    /// write access planted on them could silently drop every later save, or copy old keyslots and
    /// ciphertexts aside where `passwd` and `rotate` do not reach them (the SQLite attack of issue
    /// #11). The schema is part of the format, so any trigger (other than PostgreSQL's internal ones)
    /// or rule on the vault's tables is `tampered`, before the lease is taken or anything is read.
    static func refusePlantedTriggersAndRules(_ pool: PostgresPool, _ location: PostgresLocation) async throws(VaultError) {
        let planted = try await run(pool, "checking the vault tables in \(location)") { connection -> [String] in
            let tables = "('sessionvault_header'::regclass, 'sessionvault_keyslot'::regclass, 'sessionvault_record'::regclass, "
                + "'sessionvault_lease'::regclass, 'sessionvault_layout'::regclass)"
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: """
                SELECT 'trigger ' || t.tgname::text || ' on ' || c.relname::text FROM pg_trigger t
                JOIN pg_class c ON c.oid = t.tgrelid
                WHERE NOT t.tgisinternal AND c.oid IN \(tables)
                UNION ALL
                SELECT 'rule ' || r.rulename::text || ' on ' || c.relname::text FROM pg_rewrite r
                JOIN pg_class c ON c.oid = r.ev_class
                WHERE r.rulename <> '_RETURN' AND c.oid IN \(tables)
                ORDER BY 1
                """))
            var found: [String] = []
            for try await name in rows.decode(String.self) { found.append(name) }
            return found
        }
        guard planted.isEmpty else {
            // Names come from the database: printable characters only, each cut to 80.
            let shown = planted.prefix(3).map { name in
                String(String.UnicodeScalarView(name.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(80)))
            }.joined(separator: ", ")
            throw VaultError(
                .tampered,
                "the shared vault tables carry \(planted.count) object(s) the format does not define (\(shown)): refusing them"
            )
        }
    }

    // MARK: - Helpers

    /// The database refused a fenced write: the token, instance or expiry is no longer current.
    struct FenceRefused: Error {}

    private func checkOpen() throws(VaultError) {
        if isClosed { throw VaultError(.closed, "the PostgreSQL store is closed") }
        try lease.checkWritable()
    }

    /// Runs `body` on a pool connection, mapping every failure to a ``VaultError``; a refused fence
    /// becomes ``VaultError/Code/leaseLost`` (through the lease, which tells the handler once).
    private func run<R: Sendable>(_ what: String, _ body: @escaping @Sendable (PooledConnection) async throws -> R) async throws(VaultError) -> R {
        do {
            return try await pool.withConnection(body)
        } catch is FenceRefused {
            throw lease.markLost("the database refused a write with fencing token \(lease.token) (another holder took the session, or the lease expired or was changed)")
        } catch {
            throw Self.mapPoolError(error, "\(what) in \(location)")
        }
    }

    static func run<R: Sendable>(_ pool: PostgresPool, _ what: String, _ body: @escaping @Sendable (PooledConnection) async throws -> R) async throws(VaultError) -> R {
        do {
            return try await pool.withConnection(body)
        } catch {
            throw mapPoolError(error, what)
        }
    }

    static func mapPoolError(_ error: any Error, _ what: String) -> VaultError {
        if let error = error as? VaultError { return error }
        if let exhausted = error as? PostgresPool.PoolExhausted {
            return VaultError(.io, "\(what): \(exhausted.reason); nothing was written")
        }
        return mapError(error, what)
    }

    /// `BEGIN`, `body`, `COMMIT`; a statement the server refused is rolled back on the live connection
    /// (a lost connection rolled the transaction back on the server already).
    static func inTransaction(
        _ connection: PooledConnection,
        beforeCommit: () -> Void = {},
        _ body: () async throws -> Void
    ) async throws {
        try await connection.query("BEGIN")
        do {
            try await body()
            beforeCommit()
            try await connection.query("COMMIT")
        } catch {
            if !isConnectionFailure(error) && !connection.connection.isClosed {
                _ = try? await connection.query("ROLLBACK")
            }
            throw error
        }
    }

    /// Whether `error` means the connection itself is gone (rather than one statement refused):
    /// a closed channel, or the server ending the session (SQLSTATE class 57, 08 or XX).
    static func isConnectionFailure(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return true }
        if let state = error.serverInfo?[.sqlState] {
            return state.hasPrefix("57") || state.hasPrefix("08") || state.hasPrefix("XX")
        }
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
            return true
        default:
            return false
        }
    }

    /// A ``VaultError`` for a PostgreSQL failure: the SQLSTATE and the server's message, never bound values.
    static func mapError(_ error: any Error, _ context: String) -> VaultError {
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                let message = error.serverInfo?[.message] ?? ""
                if state == "28P01" || state == "28000" {
                    return VaultError(.io, "\(context): authentication failed")
                }
                if state.hasPrefix("57") || state.hasPrefix("08") {
                    return VaultError(.io, "\(context): the server ended the connection (\(state): \(message)); nothing partial was saved")
                }
                return VaultError(.io, "\(context): PostgreSQL error \(state): \(message)")
            }
            switch error.code {
            case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
                return VaultError(.io, "\(context): the connection to PostgreSQL was lost; nothing partial was saved")
            default:
                return VaultError(.io, "\(context): \(error.code)")
            }
        }
        if error is PooledConnection.ConnectionLost {
            return VaultError(.io, "\(context): the connection to PostgreSQL was lost; nothing partial was saved")
        }
        return VaultError(.io, "\(context): \(type(of: error))")
    }

    /// The name's UTF-8 bytes, or with `keyed_names` BLAKE2b-256(key, name) keyed by a key derived from
    /// `SESSION_VAULT_POSTGRES_NAME_KEY[_FILE]`.
    static func makeSessionKey(_ location: PostgresLocation) throws(VaultError) -> [UInt8] {
        let name = Array(location.sessionName.utf8)
        guard location.keyedNames else { return name }
        let names = PassphraseSource.Names(
            variable: "SESSION_VAULT_POSTGRES_NAME_KEY",
            fileVariable: "SESSION_VAULT_POSTGRES_NAME_KEY_FILE",
            credential: "session-vault-postgres-name-key",
            noun: "session name key"
        )
        let secret = try PassphraseSource.locate(names, allowTerminal: false).read(names)
        let label = Array("sessionvault/v1/pg-session-name\0".utf8)
        var out = [UInt8](repeating: 0, count: 32)
        secret.withUnsafeBytes { key in
            var state = [UInt8](repeating: 0, count: crypto_generichash_statebytes() + 64)
            state.withUnsafeMutableBytes { raw in
                let aligned = raw.baseAddress!.alignedUp(toMultipleOf: 64)
                let statePointer = OpaquePointer(aligned)
                // Keys longer than 64 bytes are pre-hashed so any secret length works.
                var keyHash = [UInt8](repeating: 0, count: 32)
                _ = crypto_generichash(&keyHash, 32, key.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(key.count), nil, 0)
                _ = crypto_generichash_init(statePointer, keyHash, 32, 32)
                _ = crypto_generichash_update(statePointer, label, UInt64(label.count))
                _ = crypto_generichash_update(statePointer, name, UInt64(name.count))
                _ = crypto_generichash_final(statePointer, &out, 32)
                sodium_memzero(&keyHash, 32)
                sodium_memzero(raw.baseAddress, raw.count)
            }
        }
        return out
    }

    /// The advisory-lock key: the first 8 bytes of BLAKE2b-128("sessionvault/v1/pg-lock" ‖ session key).
    static func makeLockKey(_ sessionKey: [UInt8]) -> Int64 {
        let message = Array("sessionvault/v1/pg-lock\0".utf8) + sessionKey
        var out = [UInt8](repeating: 0, count: 16)
        _ = crypto_generichash(&out, 16, message, UInt64(message.count), nil, 0)
        return out.prefix(8).reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }
}
#endif
