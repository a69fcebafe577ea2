#if SESSION_VAULT_POSTGRES
import Foundation
public import Logging
import NIOCore
import PostgresNIO
public import SessionVaultKit
internal import CSodium
import Synchronization

/// A ``RecordStore`` in PostgreSQL: many sessions per database, each behind a session-level
/// advisory lock held for as long as its vault is open.
///
/// The database sees exactly what a vault file shows: tags, masked kinds, nonces, ciphertexts and
/// KDF parameters, never a key or an identifier. With `keyed_names=true` it does not see session
/// names either, only keyed hashes of them. Tables (created if missing):
///
/// ```sql
/// sessionvault_header  (session BYTEA PRIMARY KEY, magic BYTEA, format_version INTEGER, vault_id BYTEA, mac BYTEA)
/// sessionvault_keyslot (session BYTEA, slot SMALLINT, kind SMALLINT, kdf SMALLINT, opslimit BIGINT,
///                       memlimit BIGINT, salt BYTEA, nonce BYTEA, wrapped_key BYTEA, PRIMARY KEY (session, slot))
/// sessionvault_record  (session BYTEA, tag BYTEA, kind SMALLINT, nonce BYTEA, ciphertext BYTEA,
///                       PRIMARY KEY (session, tag))
/// ```
public final class PostgresRecordStore: RecordStore {
    /// Where this store lives (never printed with its password).
    public let location: PostgresLocation
    let connection: PostgresConnection
    let sessionKey: ByteBuffer
    let lockKey: Int64
    let logger: Logger
    private var isClosed = false
    /// Set after a connection-level failure: postgres-nio (1.33.2) never answers a query sent on a
    /// connection the server has dropped, so nothing more is sent on it.
    private var isBroken = false

    init(location: PostgresLocation, connection: PostgresConnection, sessionKey: ByteBuffer, lockKey: Int64, logger: Logger) {
        self.location = location
        self.connection = connection
        self.sessionKey = sessionKey
        self.lockKey = lockKey
        self.logger = logger
    }

    /// ``StorageKind/postgres``.
    public var storageKind: StorageKind { .postgres }

    static let schemaLockKey: Int64 = 0x5356_4C54_5343_484D  // "SVLTSCHM"

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
    ]

    /// Connects, creates the tables if needed, and takes the session's advisory lock.
    /// - Throws: ``VaultError/Code/inUse`` naming the holder (host, pid, application), or
    ///   ``VaultError/Code/io`` when the server cannot be reached.
    public static func connect(
        to location: PostgresLocation,
        lockWait: Duration = .zero,
        logger: Logger = Logger(label: "SessionVault.Postgres")
    ) async throws(VaultError) -> PostgresRecordStore {
        let sessionKey = try makeSessionKey(location)
        let lockKey = makeLockKey(sessionKey)
        var configuration = PostgresConnection.Configuration(
            host: location.host,
            port: location.port,
            username: location.username,
            password: location.password,
            database: location.database,
            tls: try tlsConfiguration(location.tls)
        )
        configuration.options.additionalStartupParameters = [
            ("application_name", "session-vault host=\(ProcessInfo.processInfo.hostName) pid=\(getpid())")
        ]
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw mapError(error, "cannot connect to \(location)")
        }
        let store = PostgresRecordStore(
            location: location,
            connection: connection,
            sessionKey: ByteBuffer(bytes: sessionKey),
            lockKey: lockKey,
            logger: logger
        )
        do throws(VaultError) {
            try await store.ensureSchema()
            try await store.refusePlantedTriggersAndRules()
            try await store.acquireLock(wait: lockWait)
        } catch {
            try? await connection.close()
            throw error
        }
        return store
    }

    // MARK: - RecordStore

    /// The header row of this session.
    public func readHeader() async throws(VaultError) -> StoredHeader? {
        try checkOpen()
        return try await run("reading the vault header") {
            let rows = try await query(
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
        return try await run("reading keyslots") {
            let rows = try await query(
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
        return try await run("reading records") {
            let rows = try await query(
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
        return try await run("reading a record") {
            let rows = try await query(
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

    /// Applies the transaction atomically. A lone record upsert (the hot path) is one statement
    /// (atomic by itself); anything larger runs in `BEGIN … COMMIT`.
    public func commit(_ transaction: RecordTransaction) async throws(VaultError) {
        try checkOpen()
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
        guard !statements.isEmpty else { return }
        try await run("saving") {
            if statements.count == 1 {
                try await query(statements[0])
                return
            }
            try await query("BEGIN")
            do {
                for statement in statements { try await query(statement) }
                try await query("COMMIT")
            } catch {
                // A statement the server refused: roll back on the live connection. A lost connection
                // rolled the transaction back on the server already.
                if !Self.isConnectionFailure(error) && !connection.isClosed {
                    _ = try? await query("ROLLBACK")
                }
                throw error
            }
        }
    }

    /// Asks PostgreSQL to reclaim dead row versions of the vault tables (old ciphertexts and wrapped
    /// keys stay in dead tuples until vacuumed). Needs table ownership; without it, logs and continues.
    /// Backups, replicas and archived WAL segments made earlier keep what they had.
    public func purgeFreedSpace() async throws(VaultError) {
        try checkOpen()
        do {
            try await query("VACUUM sessionvault_keyslot, sessionvault_record, sessionvault_header")
        } catch {
            logger.warning("could not VACUUM the vault tables; old ciphertexts remain in dead tuples until autovacuum runs")
        }
    }

    /// Releases the advisory lock and closes the connection. The lock is released explicitly first,
    /// so that an opener right after this returns finds it free (the server would release it only
    /// when it notices the disconnect). Closing a connection the server already dropped is not an error.
    public func close() async throws(VaultError) {
        guard !isClosed else { return }
        if !isBroken && !connection.isClosed {
            _ = try? await query("SELECT pg_advisory_unlock(\(lockKey))")
        }
        isClosed = true
        try? await connection.close()
    }

    /// Deletes every row of this session in one transaction, then releases the lock.
    public func destroy() async throws(VaultError) {
        try checkOpen()
        try await run("deleting the session") {
            try await query("BEGIN")
            try await query("DELETE FROM sessionvault_record WHERE session = \(sessionKey)")
            try await query("DELETE FROM sessionvault_keyslot WHERE session = \(sessionKey)")
            try await query("DELETE FROM sessionvault_header WHERE session = \(sessionKey)")
            try await query("COMMIT")
        }
        try await close()
    }

    // MARK: - Locking and schema

    private func ensureSchema() async throws(VaultError) {
        try await run("creating the vault tables") {
            try await query("BEGIN")
            try await query("SELECT pg_advisory_xact_lock(\(Self.schemaLockKey))")
            for statement in Self.schema { try await query(PostgresQuery(unsafeSQL: statement)) }
            try await query("COMMIT")
        }
    }

    /// The tables are shared by every session of the database: a trigger or rule that someone with
    /// write access planted on them could silently drop every later save, or copy old keyslots and
    /// ciphertexts aside where `passwd` and `rotate` do not reach them (the SQLite attack of issue
    /// #11). The schema is part of the format, so any trigger (other than PostgreSQL's internal ones)
    /// or rule on the three tables is `tampered`, before anything is read or written.
    private func refusePlantedTriggersAndRules() async throws(VaultError) {
        let planted = try await run("checking the vault tables") { () async throws -> [String] in
            let rows = try await query(
                """
                SELECT 'trigger ' || t.tgname::text || ' on ' || c.relname::text FROM pg_trigger t
                JOIN pg_class c ON c.oid = t.tgrelid
                WHERE NOT t.tgisinternal AND c.oid IN
                    ('sessionvault_header'::regclass, 'sessionvault_keyslot'::regclass, 'sessionvault_record'::regclass)
                UNION ALL
                SELECT 'rule ' || r.rulename::text || ' on ' || c.relname::text FROM pg_rewrite r
                JOIN pg_class c ON c.oid = r.ev_class
                WHERE r.rulename <> '_RETURN' AND c.oid IN
                    ('sessionvault_header'::regclass, 'sessionvault_keyslot'::regclass, 'sessionvault_record'::regclass)
                ORDER BY 1
                """)
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

    private func acquireLock(wait: Duration) async throws(VaultError) {
        let deadline = ContinuousClock.now.advanced(by: wait)
        while true {
            let acquired = try await run("taking the session lock") { () async throws -> Bool in
                let rows = try await query("SELECT pg_try_advisory_lock(\(lockKey))")
                for try await locked in rows.decode(Bool.self) { return locked }
                return false
            }
            if acquired { return }
            if ContinuousClock.now >= deadline {
                let holder = try await describeHolder()
                throw VaultError(.inUse, "\(location) is in use by \(holder)", holderPID: holder.pid)
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    struct Holder: CustomStringConvertible {
        var host: String?
        var pid: Int32?
        var application: String?
        var backendPID: Int32?
        var description: String {
            var parts: [String] = []
            if let host { parts.append("host \(host)") }
            if let pid { parts.append("pid \(pid)") }
            if let application, host == nil { parts.append("application '\(application)'") }
            if let backendPID { parts.append("(server backend \(backendPID))") }
            return parts.isEmpty ? "another connection" : parts.joined(separator: " ")
        }
    }

    /// Who holds the lock, from `pg_locks` and `pg_stat_activity` (the holder's application name
    /// carries its host and pid).
    private func describeHolder() async throws(VaultError) -> Holder {
        let high = Int64(UInt32(truncatingIfNeeded: UInt64(bitPattern: lockKey) >> 32))
        let low = Int64(UInt32(truncatingIfNeeded: UInt64(bitPattern: lockKey)))
        return try await run("looking up the lock holder") { () async throws -> Holder in
            let rows = try await query(
                """
                SELECT a.pid, COALESCE(a.application_name, '') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid = \(high)::bigint::oid
                  AND l.objid = \(low)::bigint::oid AND l.objsubid = 1
                """)
            for try await (backend, application) in rows.decode((Int32, String).self) {
                var holder = Holder(application: application, backendPID: backend)
                for part in application.split(separator: " ") {
                    if part.hasPrefix("host=") { holder.host = String(part.dropFirst(5)) }
                    if part.hasPrefix("pid="), let pid = Int32(part.dropFirst(4)) { holder.pid = pid }
                }
                return holder
            }
            return Holder()
        }
    }

    // MARK: - Helpers

    private func checkOpen() throws(VaultError) {
        if isClosed { throw VaultError(.closed, "the PostgreSQL store is closed") }
        if isBroken || connection.isClosed {
            isBroken = true
            throw VaultError(.io, "the connection to PostgreSQL (\(location)) was lost; close and reopen the vault")
        }
    }

    private func run<R>(_ what: String, _ body: () async throws -> R) async throws(VaultError) -> R {
        do {
            return try await body()
        } catch let error as VaultError {
            throw error
        } catch {
            if Self.isConnectionFailure(error) || connection.isClosed { isBroken = true }
            throw Self.mapError(error, "\(what) in \(location)")
        }
    }

    /// The connection closed before a query could complete.
    struct ConnectionLost: Error {}

    /// Runs one query, failing fast when the connection is (or becomes) closed.
    ///
    /// postgres-nio 1.33.2 writes a query to the channel without a promise, so a query sent on a
    /// connection the server has already dropped never completes. This races every query against the
    /// connection's `closeFuture`; the losing query task is abandoned (it can only be stuck on a dead
    /// connection).
    @discardableResult
    private func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        if isBroken || connection.isClosed { throw ConnectionLost() }
        let connection = self.connection
        let logger = self.logger
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PostgresRowSequence, any Error>) in
            let race = FirstResult(continuation)
            Task {
                do { race.resume(.success(try await connection.query(query, logger: logger))) } catch { race.resume(.failure(error)) }
            }
            connection.closeFuture.whenComplete { _ in race.resume(.failure(ConnectionLost())) }
        }
    }

    /// Resumes a continuation with whichever result arrives first.
    final class FirstResult<Value: Sendable>: Sendable {
        private let continuation: Mutex<CheckedContinuation<Value, any Error>?>
        init(_ continuation: CheckedContinuation<Value, any Error>) { self.continuation = Mutex(continuation) }
        func resume(_ result: Result<Value, any Error>) {
            let pending = continuation.withLock { pending in
                defer { pending = nil }
                return pending
            }
            pending?.resume(with: result)
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
        if error is ConnectionLost {
            return VaultError(.io, "\(context): the connection to PostgreSQL was lost; nothing partial was saved")
        }
        return VaultError(.io, "\(context): \(type(of: error))")
    }

    private static func tlsConfiguration(_ mode: PostgresLocation.TLSMode) throws(VaultError) -> PostgresConnection.Configuration.TLS {
        switch mode {
        case .disable:
            return .disable
        case .prefer, .require:
            do {
                let context = try NIOSSLContext(configuration: .makeClientConfiguration())
                return mode == .prefer ? .prefer(context) : .require(context)
            } catch {
                throw VaultError(.io, "cannot set up TLS: \(error)")
            }
        }
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
