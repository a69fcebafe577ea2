#if SESSION_VAULT_POSTGRES
import Foundation
import Logging
import NIOCore
import PostgresNIO
import SessionVaultKit
import Synchronization

/// One process's hold on one session: a row of `sessionvault_lease` with a fencing token, renewed in
/// the background with every other lease of its pool, one statement per tick (``PostgresLeaseRenewer``,
/// docs/LEASES.md).
///
/// The database decides expiry with its own clock (`clock_timestamp()`); this process decides when to
/// stop writing with its monotonic clock: ``duration`` minus ``margin`` after it *sent* the last
/// successful renewal. Every write carries the token and the instance id and is refused by the
/// database once either is no longer current or the lease expired.
public final class PostgresLease: Sendable {
    /// The fencing token this holder writes with (from the `sessionvault_fencing_token` sequence).
    public let token: Int64
    /// This holder's random instance id (32 hex digits), stored in the lease row.
    public let instance: String
    /// How long a renewal keeps the lease on the server.
    public let duration: Duration
    /// How often the lease is renewed: a third of ``duration``.
    public var renewalInterval: Duration { duration / 3 }
    /// How long before the server-side expiry this holder stops writing: a third of ``duration``.
    public var margin: Duration { duration / 3 }

    let pool: PostgresPool
    let sessionKey: ByteBuffer
    let locationDescription: String
    let logger: Logger
    let onLost: (@Sendable (VaultError) -> Void)?
    private let state: Mutex<State>

    private struct State {
        /// When this holder stops writing (monotonic clock).
        var writableUntil: ContinuousClock.Instant
        var lost: VaultError?
        var released = false
        /// When to retry after a failed renewal (nil: one ``renewalInterval`` after the last success).
        var retryAt: ContinuousClock.Instant?
    }

    /// Leases renewed in this process (all pools; one statement renews many): `bench` reports their rate.
    static let renewalCount = Atomic<Int>(0)
    /// Renewal statements the server answered in this process (all pools): `bench` reports their rate.
    static let renewalStatementCount = Atomic<Int>(0)
    /// Nanoseconds renewal statements took from being written on a connection to their last row
    /// (all pools): `bench` reports them as a share of its idle time.
    static let renewalBusyNanoseconds = Atomic<Int>(0)

    private init(
        token: Int64, instance: String, duration: Duration, sent: ContinuousClock.Instant, pool: PostgresPool,
        sessionKey: ByteBuffer, location: String, logger: Logger, onLost: (@Sendable (VaultError) -> Void)?
    ) {
        self.token = token
        self.instance = instance
        self.duration = duration
        self.pool = pool
        self.sessionKey = sessionKey
        self.locationDescription = location
        self.logger = logger
        self.onLost = onLost
        self.state = Mutex(State(writableUntil: sent + duration - duration / 3))
    }

    // MARK: - Taking

    /// Takes the session's lease with one conditional statement: a new row, or a row whose lease
    /// expired (by the server's clock), gets a fresh token from the sequence. Retries every 100 ms
    /// until `wait` has passed or the task is cancelled (as the file lock of a SQLite vault does),
    /// then throws ``VaultError/Code/inUse`` naming the holder.
    static func take(
        pool: PostgresPool,
        sessionKey: ByteBuffer,
        location: PostgresLocation,
        wait: Duration,
        logger: Logger,
        onLost: (@Sendable (VaultError) -> Void)?
    ) async throws(VaultError) -> PostgresLease {
        let instance = (0..<2).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16).leftPadded(to: 16) }.joined()
        let host = ProcessInfo.processInfo.hostName
        let pid = Int32(getpid())
        let milliseconds = Int64(location.leaseDuration / .milliseconds(1))
        let deadline = ContinuousClock.now.advanced(by: wait)
        while true {
            let sent = ContinuousClock.now
            let token = try await PostgresRecordStore.run(pool, "taking the session lease in \(location)") { connection -> Int64? in
                let rows = try await connection.query(
                    """
                    INSERT INTO sessionvault_lease AS l
                        (session, token, holder_host, holder_pid, holder_instance, duration_ms, acquired_at, renewed_at, expires_at)
                    VALUES (\(sessionKey), nextval('sessionvault_fencing_token'), \(host), \(pid), \(instance), \(milliseconds),
                            clock_timestamp(), clock_timestamp(), clock_timestamp() + \(milliseconds)::double precision * interval '1 millisecond')
                    ON CONFLICT (session) DO UPDATE SET token = EXCLUDED.token, holder_host = EXCLUDED.holder_host,
                        holder_pid = EXCLUDED.holder_pid, holder_instance = EXCLUDED.holder_instance,
                        duration_ms = EXCLUDED.duration_ms, acquired_at = EXCLUDED.acquired_at,
                        renewed_at = EXCLUDED.renewed_at, expires_at = EXCLUDED.expires_at
                    WHERE l.expires_at <= clock_timestamp()
                    RETURNING token
                    """)
                for try await token in rows.decode(Int64.self) { return token }
                return nil
            }
            if let token {
                let lease = PostgresLease(
                    token: token, instance: instance, duration: location.leaseDuration, sent: sent, pool: pool,
                    sessionKey: sessionKey, location: location.description, logger: logger, onLost: onLost
                )
                pool.renewer.register(lease)
                return lease
            }
            if ContinuousClock.now >= deadline || Task.isCancelled {
                let holder = try await describeHolder(pool: pool, sessionKey: sessionKey, location: location)
                let stopped = Task.isCancelled && wait > .zero ? " (stopped waiting: the task was cancelled)" : ""
                throw VaultError(.inUse, "\(location) is in use by \(holder)\(stopped)", holderPID: holder.pid)
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The holder recorded in the lease row.
    struct Holder: CustomStringConvertible {
        var host: String?
        var pid: Int32?
        var expiresInMilliseconds: Int64?
        var description: String {
            var parts: [String] = []
            if let host { parts.append("host \(host)") }
            if let pid { parts.append("pid \(pid)") }
            if let expiresInMilliseconds { parts.append("(lease expires in \(max(0, expiresInMilliseconds)) ms unless renewed)") }
            return parts.isEmpty ? "another process" : parts.joined(separator: " ")
        }
    }

    static func describeHolder(pool: PostgresPool, sessionKey: ByteBuffer, location: PostgresLocation) async throws(VaultError) -> Holder {
        try await PostgresRecordStore.run(pool, "looking up the lease holder in \(location)") { connection -> Holder in
            let rows = try await connection.query(
                """
                SELECT holder_host, holder_pid,
                       (EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000)::bigint
                FROM sessionvault_lease WHERE session = \(sessionKey)
                """)
            for try await (host, pid, expires) in rows.decode((String, Int32, Int64).self) {
                return Holder(host: host, pid: pid, expiresInMilliseconds: expires)
            }
            return Holder()
        }
    }

    // MARK: - Holding

    /// Throws ``VaultError/Code/leaseLost`` once the lease is lost or this holder's write deadline
    /// (``duration`` − ``margin`` after the last renewal was sent) has passed.
    func checkWritable() throws(VaultError) {
        if let lost = state.withLock({ $0.lost }) { throw lost }
        if ContinuousClock.now >= state.withLock({ $0.writableUntil }) {
            throw markLost("the lease was not renewed in time (renewals failing for \(renewalInterval * 2) or more)")
        }
    }

    /// Records the loss (once), stops renewing and tells the configuration's handler. Returns the error.
    @discardableResult
    func markLost(_ reason: String) -> VaultError {
        let error = VaultError(
            .leaseLost,
            "the lease of \(locationDescription) is lost: \(reason); another process may hold the session now: "
                + "stop using its auth keys (disconnect from Telegram), close and reopen"
        )
        let first = state.withLock { state -> VaultError? in
            if let lost = state.lost { return lost }
            state.lost = error
            return nil
        }
        pool.renewer.unregister(self)
        if let first { return first }
        logger.error("\(error.message)")
        onLost?(error)
        return error
    }

    /// The fencing condition every write carries: this token and instance, and not expired.
    var fence: PostgresQuery {
        """
        SELECT 1 FROM sessionvault_lease WHERE session = \(sessionKey) AND token = \(token)
            AND holder_instance = \(instance) AND expires_at > clock_timestamp() FOR KEY SHARE
        """
    }

    // MARK: - Renewing (by the pool's renewer)

    /// This holder's write deadline (monotonic clock).
    var writeDeadline: ContinuousClock.Instant { state.withLock { $0.writableUntil } }

    /// Whether the renewer should still renew this lease (neither lost nor released).
    var isRenewable: Bool { state.withLock { $0.lost == nil && !$0.released } }

    /// When this lease wants its next renewal: one ``renewalInterval`` after the last successful one
    /// was sent, or the retry time after a failure; never later than the write deadline.
    func nextRenewal() -> ContinuousClock.Instant {
        state.withLock { state in
            min(state.retryAt ?? state.writableUntil - duration + margin + renewalInterval, state.writableUntil)
        }
    }

    /// A renewal statement sent at `sent` renewed this lease: writes are allowed until `sent + duration − margin`.
    func renewed(sent: ContinuousClock.Instant) {
        _ = Self.renewalCount.add(1, ordering: .relaxed)
        state.withLock { state in
            guard state.lost == nil else { return }
            state.writableUntil = max(state.writableUntil, sent + duration - margin)
            state.retryAt = nil
        }
    }

    /// The renewal failed (no answer, an error, or the row locked elsewhere): retried at `retryAt`,
    /// or at the write deadline, where the renewer stops the lease if nothing succeeded by then.
    func renewalFailed(retryAt: ContinuousClock.Instant) {
        state.withLock { state in state.retryAt = min(retryAt, state.writableUntil) }
    }

    /// The database did not renew this lease because its token, instance or expiry is no longer
    /// current: lost at once, unless it was released (closed or deleted) meanwhile.
    func renewalRefused() {
        if state.withLock({ $0.released }) {
            pool.renewer.unregister(self)
            return
        }
        markLost("the database refused the renewal (fencing token \(token) is no longer current, or the lease expired)")
    }

    /// Gives the lease up (expires it now, so that the next opener needn't wait) and stops renewing.
    /// A lost lease is left alone: it is someone else's.
    func release() async {
        let wasLost = state.withLock { state -> Bool in
            state.released = true
            return state.lost != nil
        }
        pool.renewer.unregister(self)
        guard !wasLost else { return }
        let (pool, sessionKey, token, instance) = (self.pool, self.sessionKey, self.token, self.instance)
        _ = await Self.withTimeout(.seconds(5)) { () async throws -> Int in
            try await pool.withConnection { connection in
                try await connection.rowCount(
                    """
                    UPDATE sessionvault_lease SET expires_at = clock_timestamp()
                    WHERE session = \(sessionKey) AND token = \(token) AND holder_instance = \(instance)
                    RETURNING 1
                    """)
            }
        }
    }

    /// Marks the lease released without touching the database (the rows were deleted).
    func forget() {
        state.withLock { $0.released = true }
        pool.renewer.unregister(self)
    }

    struct TimedOut: Error {}

    /// Runs `body` in its own task and returns its result, or ``TimedOut`` after `limit` (the task is
    /// then abandoned: it can only be stuck on an unresponsive server).
    static func withTimeout<R: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> R) async -> Result<R, any Error> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<R, any Error>, Never>) in
            let race = FirstOutcome(continuation)
            Task {
                do { race.resume(.success(try await body())) } catch { race.resume(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: limit)
                race.resume(.failure(TimedOut()))
            }
        }
    }

    final class FirstOutcome<Value: Sendable>: Sendable {
        private let continuation: Mutex<CheckedContinuation<Value, Never>?>
        init(_ continuation: CheckedContinuation<Value, Never>) { self.continuation = Mutex(continuation) }
        func resume(_ value: Value) {
            let pending = continuation.withLock { pending in
                defer { pending = nil }
                return pending
            }
            pending?.resume(returning: value)
        }
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
#endif
