#if SESSION_VAULT_POSTGRES
import Logging
import NIOCore
import PostgresNIO

/// One leased connection, inside ``PostgresPool/withConnection(_:)`` (which races its use against
/// the connection's close).
struct PooledConnection: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    /// The connection closed before a query could complete.
    struct ConnectionLost: Error {}

    /// Runs one query; fails at once when the connection is closed already.
    @discardableResult
    func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        if connection.isClosed { throw ConnectionLost() }
        return try await connection.query(query, logger: logger)
    }

    /// The number of rows `query` returns (for `… RETURNING 1` statements).
    func rowCount(_ query: PostgresQuery) async throws -> Int {
        var count = 0
        for try await _ in try await self.query(query) { count += 1 }
        return count
    }

    /// The number of rows `statement` returns, run as a prepared statement (parsed and planned once
    /// per connection) when `prepared`, else as a one-off query of the same text and values (for
    /// poolers that do not carry protocol-level prepared statements).
    func rowCount<Statement: PostgresPreparedStatement>(_ statement: Statement, prepared: Bool) async throws -> Int {
        guard prepared else { return try await rowCount(PostgresQuery(unsafeSQL: Statement.sql, binds: try statement.makeBindings())) }
        if connection.isClosed { throw ConnectionLost() }
        var count = 0
        for try await _ in try await connection.execute(statement, logger: logger) { count += 1 }
        return count
    }
}
#endif
