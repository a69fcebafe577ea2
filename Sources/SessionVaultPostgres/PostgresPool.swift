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
/// Every use of a connection is raced against its close (``ConnectionWatch``): postgres-nio 1.33.2
/// never answers a query written to a connection the server has already dropped.
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
    /// How many connections of the pool are in use now.
    var inUse: Int { connectionsInUse.load(ordering: .relaxed) }
    /// The calls waiting for a connection, timed out by one sweep per second (``leaseTimeout``).
    private let waits = ConnectionWaits()
    /// One close watch per open connection, by postgres-nio's connection id.
    private let watches = ShardedTable<PostgresConnection.ID, ConnectionWatch>()

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
        waits.startSweeping()
    }

    /// The longest wait for a free connection before ``VaultError/Code/io`` ("pool exhausted").
    static let leaseTimeout: Duration = .seconds(30)

    /// Runs `body` on one connection of the pool (a transaction stays on it). Waiting for a free
    /// connection is bounded by ``leaseTimeout`` (enforced by ``waits``); once `body` starts, it runs
    /// to its end, or until its connection closes: then this returns
    /// ``PooledConnection/ConnectionLost`` at once (postgres-nio 1.33.2 never answers a query written
    /// to a connection the server has already dropped, ``ConnectionWatch``), and the abandoned `body`
    /// can only fail or stay stuck on the dead connection, which the pool has already replaced.
    ///
    /// The caller's cancellation does not reach it (it runs in a task of its own, whose result the
    /// caller awaits): a vault call that has started finishes, as on SQLite, and cancellation is
    /// observed where waiting is meant to stop (the vault's gate, the wait for a lease).
    func withConnection<R: Sendable>(
        _ body: @escaping @Sendable (PooledConnection) async throws -> R
    ) async throws -> R {
        let (client, logger, pool) = (self.client, self.logger, self)
        let wait = ConnectionWait()
        let work = Shared<Task<Void, Never>?>(nil)
        waits.add(wait, deadline: .now + Self.leaseTimeout) { work.value?.cancel() }
        defer { waits.remove(wait) }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<R, any Error>) in
            let outcome = FirstResult(continuation)
            let task = Task {
                do {
                    // A connection the pool hands over already closed (its close not yet processed
                    // by the pool) has carried nothing of `body`: another one is leased instead.
                    var attempt = 0
                    while true {
                        attempt += 1
                        do {
                            let result = try await client.withConnection { connection async throws -> R in
                                guard wait.start() else { throw wait.exhausted(pool) }
                                let watch = pool.watch(connection)
                                guard !connection.isClosed, let ticket = watch.register({ outcome.resume(.failure(PooledConnection.ConnectionLost())) }) else {
                                    throw ClosedWhenLeased()
                                }
                                defer { watch.unregister(ticket) }
                                pool.connectionsInUse.add(1, ordering: .relaxed)
                                defer { pool.connectionsInUse.subtract(1, ordering: .relaxed) }
                                return try await body(PooledConnection(connection: connection, logger: logger))
                            }
                            outcome.resume(.success(result))
                            return
                        } catch is ClosedWhenLeased where attempt < Self.closedWhenLeasedAttempts {
                            wait.waitAgain()
                            continue
                        } catch is ClosedWhenLeased {
                            throw PooledConnection.ConnectionLost()
                        }
                    }
                } catch {
                    // A time-out cancelled the wait (postgres-nio threw CancellationError).
                    outcome.resume(.failure(wait.timedOut ? wait.exhausted(pool) : error))
                }
            }
            work.withLock { $0 = task }
        }
    }

    /// How many connections one call leases at most when each turns out closed already.
    static let closedWhenLeasedAttempts = 4

    /// The leased connection was closed already: nothing was sent on it.
    private struct ClosedWhenLeased: Error {}

    /// The close watch of `connection` (made on its first use; dropped when it closes).
    private func watch(_ connection: PostgresConnection) -> ConnectionWatch {
        let id = connection.id
        if let watch = watches[id] { return watch }
        let watch = ConnectionWatch()
        let added = watches.withLock(id) { watches -> ConnectionWatch in
            if let existing = watches[id] { return existing }
            watches[id] = watch
            return watch
        }
        guard added === watch else { return added }
        connection.closeFuture.whenComplete { [weak self] _ in
            watch.connectionClosed()
            self?.watches.remove(id)
        }
        return watch
    }

    /// How many connections have a close watch now (one per open connection that was used).
    var watchedConnections: Int { watches.count }

    /// How many uses of the pool's connections are registered with their close watches now.
    var registeredUses: Int { watches.filter { _, _ in true }.reduce(0) { $0 + $1.1.registered } }

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
#endif
