#if SESSION_VAULT_POSTGRES
import NIOCore
import PostgresNIO

/// A save of at most ``PostgresRecordStore/singleStatementLimit`` records as one fenced statement
/// (docs/LEASES.md §2), with fixed text and bound values, so that each connection parses and plans it
/// once (a prepared statement) rather than on every save. Its first CTE is the fence (`SELECT … FOR
/// KEY SHARE` on the lease row, as in ``PostgresLease/fence``); the writes read it, so none lands
/// unless the fence returned its row, and the statement returns exactly one row when the fence held.
/// One statement is one implicit transaction: the lease row's lock is held from the check to the commit.
enum FencedRecordWrite: Sendable {
    /// One upserted record (the hot path: one update-state, channel or data-center row).
    case upsert(Upsert)
    /// Upserts and deletions of distinct tags.
    case changes(Changes)

    /// The fence's bound values: `$1` session key, `$2` fencing token, `$3` holder instance.
    struct Fence: Sendable {
        var sessionKey: ByteBuffer
        var token: Int64
        var instance: String

        func bind(_ bindings: inout PostgresBindings) {
            bindings.append(sessionKey)
            bindings.append(token)
            bindings.append(instance)
        }
    }

    static let fenceSQL = """
        WITH lease AS (
            SELECT 1 FROM sessionvault_lease WHERE session = $1 AND token = $2
                AND holder_instance = $3 AND expires_at > clock_timestamp() FOR KEY SHARE)
        """

    /// `$4` tag, `$5` masked kind, `$6` nonce, `$7` ciphertext.
    struct Upsert: PostgresPreparedStatement {
        typealias Row = Int32
        static let name = "sessionvault_fenced_upsert_v1"
        static let sql = fenceSQL + """

            INSERT INTO sessionvault_record (session, tag, kind, nonce, ciphertext)
            SELECT $1, $4::bytea, $5::smallint, $6::bytea, $7::bytea FROM lease
            ON CONFLICT (session, tag) DO UPDATE SET kind = EXCLUDED.kind, nonce = EXCLUDED.nonce,
                ciphertext = EXCLUDED.ciphertext
            RETURNING 1
            """
        var fence: Fence
        var record: SealedRecordRow

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 7)
            fence.bind(&bindings)
            bindings.append(record.tag)
            bindings.append(record.kind)
            bindings.append(record.nonce)
            bindings.append(record.ciphertext)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Int32 { try row.decode(Int32.self) }
    }

    /// `$4` deleted tags; `$5`…`$8` the upserted records' tags, masked kinds, nonces, ciphertexts.
    struct Changes: PostgresPreparedStatement {
        typealias Row = Int32
        static let name = "sessionvault_fenced_changes_v1"
        static let sql = fenceSQL + """
            ,
            removed AS (
                DELETE FROM sessionvault_record
                WHERE session = $1 AND tag = ANY($4::bytea[]) AND EXISTS (SELECT 1 FROM lease)
                RETURNING 1),
            written AS (
                INSERT INTO sessionvault_record (session, tag, kind, nonce, ciphertext)
                SELECT $1, r.tag, r.kind, r.nonce, r.ciphertext
                FROM lease, unnest($5::bytea[], $6::smallint[], $7::bytea[], $8::bytea[]) AS r(tag, kind, nonce, ciphertext)
                ON CONFLICT (session, tag) DO UPDATE SET kind = EXCLUDED.kind, nonce = EXCLUDED.nonce,
                    ciphertext = EXCLUDED.ciphertext
                RETURNING 1)
            SELECT 1 FROM lease
            """
        var fence: Fence
        var deletions: [ByteBuffer]
        var upserts: [SealedRecordRow]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 8)
            fence.bind(&bindings)
            bindings.append(deletions)
            bindings.append(upserts.map(\.tag))
            bindings.append(upserts.map(\.kind))
            bindings.append(upserts.map(\.nonce))
            bindings.append(upserts.map(\.ciphertext))
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Int32 { try row.decode(Int32.self) }
    }

    /// One record's columns as bound values.
    struct SealedRecordRow: Sendable {
        var tag: ByteBuffer
        var kind: Int16
        var nonce: ByteBuffer
        var ciphertext: ByteBuffer
    }

    /// The number of rows the statement returns on `connection` (1 when the fence held, else 0).
    func rowCount(on connection: PooledConnection, prepared: Bool) async throws -> Int {
        switch self {
        case .upsert(let statement): try await connection.rowCount(statement, prepared: prepared)
        case .changes(let statement): try await connection.rowCount(statement, prepared: prepared)
        }
    }
}
#endif
