#if SESSION_VAULT_POSTGRES
import Foundation
import Logging
import NIOCore
import PostgresNIO
import SessionVaultKit
import Synchronization

/// The connections one process keeps to one PostgreSQL server and database, shared by every session
/// opened there: a postgres-nio `PostgresClient` of at most ``PostgresLocation/poolSize`` connections,
/// however many sessions are open. Pools live as long as the process.
///
/// Every query is raced against its connection's close: postgres-nio 1.33.2 never answers a query
/// written to a connection the server has already dropped.
public final class PostgresPool: Sendable {
    /// The most connections this pool opens.
    public let size: Int
    /// The `application_name` its connections carry (`session-vault host=… pid=… pool=N`): the
    /// holder's identity in `pg_stat_activity`, and how `bench` counts the process's connections.
    public let applicationName: String
    let client: PostgresClient
    let logger: Logger
    /// Whether the vault tables were created (or found) through this pool already.
    let schemaReady = Mutex(false)
    /// Renews every lease taken through this pool, one statement per tick.
    let renewer: PostgresLeaseRenewer
    /// How many `withConnection` bodies hold a connection now: at a time-out, whether the pool was
    /// busy or could not open connections (the server down or unreachable).
    private let connectionsInUse = Atomic<Int>(0)

    private struct Key: Hashable {
        var host: String
        var port: Int
        var username: String
        var password: String?
        var database: String
        var tls: PostgresLocation.TLSMode
        var size: Int
        var name: String
    }

    private static let pools = Mutex<[Key: PostgresPool]>([:])
    private static let counter = Atomic<Int>(0)

    /// The process's pool for `location`'s server, database, user, TLS mode, pool size and pool name
    /// (created on first use).
    static func shared(for location: PostgresLocation, logger: Logger) throws(VaultError) -> PostgresPool {
        let key = Key(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: location.tls, size: location.poolSize, name: location.poolName
        )
        let tls = try tlsConfiguration(location.tls)
        return pools.withLock { pools in
            if let pool = pools[key] { return pool }
            let pool = PostgresPool(location: location, tls: tls, logger: logger)
            pools[key] = pool
            return pool
        }
    }

    private init(location: PostgresLocation, tls: PostgresClient.Configuration.TLS, logger: Logger) {
        let number = Self.counter.add(1, ordering: .relaxed).newValue
        size = location.poolSize
        applicationName = "session-vault host=\(ProcessInfo.processInfo.hostName) pid=\(getpid()) pool=\(number)"
        var configuration = PostgresClient.Configuration(
            host: location.host,
            port: location.port,
            username: location.username,
            password: location.password,
            database: location.database,
            tls: tls
        )
        configuration.options.maximumConnections = location.poolSize
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        client = PostgresClient(configuration: configuration)
        self.logger = logger
        renewer = PostgresLeaseRenewer(logger: logger)
        let client = self.client
        Task.detached { await client.run() }
    }

    /// The longest wait for a free connection before ``VaultError/Code/io`` ("pool exhausted").
    static let leaseTimeout: Duration = .seconds(30)

    /// Runs `body` on one connection of the pool (a transaction stays on it). Waiting for a free
    /// connection is bounded by ``leaseTimeout``; once `body` starts, it runs to its end.
    ///
    /// The caller's cancellation does not reach it (it runs in a task of its own, whose result the
    /// caller awaits): a vault call that has started finishes, as on SQLite, and cancellation is
    /// observed where waiting is meant to stop (the vault's gate, the wait for a lease).
    func withConnection<R: Sendable>(
        _ body: @escaping @Sendable (PooledConnection) async throws -> R
    ) async throws -> R {
        let client = self.client
        let logger = self.logger
        let size = self.size
        let pool = self
        let state = Shared(WaitState.waiting)
        let work = Task {
            try await withThrowingTaskGroup(of: R?.self) { group in
                group.addTask {
                    try await client.withConnection { connection async throws -> R? in
                        let started = state.withLock { state in
                            guard state == .waiting else { return false }
                            state = .started
                            return true
                        }
                        guard started else { return nil }
                        pool.connectionsInUse.add(1, ordering: .relaxed)
                        defer { pool.connectionsInUse.subtract(1, ordering: .relaxed) }
                        return try await body(PooledConnection(connection: connection, logger: logger))
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: Self.leaseTimeout)
                    let timedOut = state.withLock { state in
                        guard state == .waiting else { return false }
                        state = .timedOut
                        return true
                    }
                    if timedOut { throw PoolExhausted(size: size, inUse: pool.connectionsInUse.load(ordering: .relaxed)) }
                    return nil
                }
                while let next = try await group.next() {
                    if let result = next {
                        group.cancelAll()
                        return result
                    }
                }
                throw PoolExhausted(size: size, inUse: pool.connectionsInUse.load(ordering: .relaxed))
            }
        }
        return try await work.value
    }

    private enum WaitState: Sendable, Equatable {
        case waiting, started, timedOut
    }

    /// No connection became free within ``leaseTimeout``.
    struct PoolExhausted: Error {
        var size: Int
        /// Connections of the pool in use when the wait ended: fewer than ``size`` means the pool
        /// could not open one (the server down, unreachable, or refusing connections).
        var inUse: Int

        /// The one-line reason for ``VaultError``.
        var reason: String {
            if inUse >= size {
                return "no connection of the pool (\(size)) became free within \(PostgresPool.leaseTimeout): all \(size) are busy (pool exhausted)"
            }
            return "no connection to the server could be opened within \(PostgresPool.leaseTimeout) (\(inUse) of the pool's \(size) in use): is the server running and reachable?"
        }
    }

    private static func tlsConfiguration(_ mode: PostgresLocation.TLSMode) throws(VaultError) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(.makeClientConfiguration())
        case .require: return .require(.makeClientConfiguration())
        }
    }
}

/// One leased connection: queries raced against the connection's close.
struct PooledConnection: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    /// The connection closed before a query could complete.
    struct ConnectionLost: Error {}

    /// Runs one query, failing fast when the connection is (or becomes) closed. The losing query
    /// task is abandoned (it can only be stuck on a dead connection).
    @discardableResult
    func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        if connection.isClosed { throw ConnectionLost() }
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

    /// The number of rows `query` returns (for `… RETURNING 1` statements).
    func rowCount(_ query: PostgresQuery) async throws -> Int {
        var count = 0
        for try await _ in try await self.query(query) { count += 1 }
        return count
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
}
#endif
