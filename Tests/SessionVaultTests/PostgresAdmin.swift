#if SESSION_VAULT_POSTGRES
import Foundation
import Logging
import PostgresNIO
@testable import SessionVaultPostgres
import SessionVaultKit
import Testing

/// An administrator's connection to the test cluster: what an operator (or a fault) does to the
/// database behind a vault's back — kill connections, edit lease rows, create databases.
enum PostgresAdmin {
    static let logger = Logger(label: "test-admin")

    /// Runs `body` on a fresh superuser connection to `database` (default: the test database).
    @discardableResult
    static func withConnection<R>(database: String? = nil, _ body: (PostgresConnection) async throws -> R) async throws -> R {
        let url = try #require(PostgresTestServer.url)
        let admin = try PostgresLocation(parsing: "\(url)?session=admin", environment: PostgresTestServer.locationEnvironment)
        let configuration = PostgresConnection.Configuration(
            host: admin.host, port: admin.port, username: admin.username, password: admin.password,
            database: database ?? admin.database, tls: .disable
        )
        return try await withConnection(configuration, id: 99, body)
    }

    /// Runs `body` on a fresh connection made with `configuration`, closed afterwards whatever happens.
    static func withConnection<R>(
        _ configuration: PostgresConnection.Configuration, id: Int, _ body: (PostgresConnection) async throws -> R
    ) async throws -> R {
        let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Waits (up to 60 s) until a backend of `location`'s pool is inside a transaction that has
    /// written records (it holds a transaction id; not a lease renewal), then terminates exactly that backend. Returns whether one was.
    static func terminateBackendMidTransaction(of location: PostgresLocation) async throws -> Bool {
        let pool = try PostgresPool.shared(for: location, logger: logger)
        let deadline = ContinuousClock.now + .seconds(60)
        return try await withConnection { connection in
            while ContinuousClock.now < deadline {
                let rows = try await connection.query(
                    """
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE application_name = \(pool.applicationName) AND backend_xid IS NOT NULL
                      AND query LIKE '%sessionvault_record%'
                    """,
                    logger: logger
                )
                var killed = false
                for try await done in rows.decode(Bool.self) where done { killed = true }
                if killed { return true }
                try await Task.sleep(for: .milliseconds(5))
            }
            return false
        }
    }

    /// How many server connections the pool `location` uses holds right now (pg_stat_activity).
    static func connectionCount(of location: PostgresLocation) async throws -> Int {
        let pool = try PostgresPool.shared(for: location, logger: logger)
        return try await withConnection { connection in
            let rows = try await connection.query(
                "SELECT count(*)::bigint FROM pg_stat_activity WHERE application_name = \(pool.applicationName)", logger: logger)
            for try await count in rows.decode(Int64.self) { return Int(count) }
            return 0
        }
    }

    /// Runs `sql` with the session key of `location` bound as `$1`; returns the number of rows affected
    /// or returned.
    @discardableResult
    static func edit(_ location: PostgresLocation, _ sql: String) async throws -> Int {
        let key = ByteBuffer(bytes: try PostgresRecordStore.makeSessionKey(location))
        return try await withConnection { connection in
            var bindings = PostgresBindings()
            bindings.append(key)
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
            var count = 0
            for try await _ in rows { count += 1 }
            return count
        }
    }

    /// The token of `location`'s lease row.
    static func token(_ location: PostgresLocation) async throws -> Int64? {
        let key = ByteBuffer(bytes: try PostgresRecordStore.makeSessionKey(location))
        return try await withConnection { connection in
            let rows = try await connection.query("SELECT token FROM sessionvault_lease WHERE session = \(key)", logger: logger)
            for try await token in rows.decode(Int64.self) { return token }
            return nil
        }
    }
}
#endif
