#if SESSION_VAULT_POSTGRES
import Synchronization

/// One call of ``PostgresPool/withConnection(_:)`` waiting for a connection: it either starts (a
/// connection was handed over in time) or times out, never both.
final class ConnectionWait: Sendable {
    private enum State { case waiting, started, timedOut }
    private let state = Mutex(State.waiting)

    /// Marks the call started; false when it had timed out (the connection then goes back unused).
    func start() -> Bool {
        state.withLock { state in
            guard state == .waiting else { return false }
            state = .started
            return true
        }
    }

    /// The call waits again (its connection was closed when leased), under the same deadline.
    func waitAgain() {
        state.withLock { state in
            if state == .started { state = .waiting }
        }
    }

    /// Marks the call timed out; false when it had started (then it runs to its end).
    func timeOut() -> Bool {
        state.withLock { state in
            guard state == .waiting else { return false }
            state = .timedOut
            return true
        }
    }

    /// Whether the call timed out.
    var timedOut: Bool { state.withLock { $0 == .timedOut } }

    /// The error of a timed-out wait, with the pool's connections in use now.
    func exhausted(_ pool: PostgresPool) -> PostgresPool.PoolExhausted {
        PostgresPool.PoolExhausted(size: pool.size, inUse: pool.inUse)
    }
}

/// The pool's calls waiting for a connection, with their deadlines: one task per pool sweeps them
/// once a second, and cancels the wait of each call past its deadline that has not started (postgres-nio
/// then gives up the request). Cheaper than a timer per call on the hot path (a save is one call).
final class ConnectionWaits: Sendable {
    private struct Entry: Sendable {
        var wait: ConnectionWait
        var deadline: ContinuousClock.Instant
        var cancel: @Sendable () -> Void
    }
    private let entries = ShardedTable<ObjectIdentifier, Entry>()
    private let sweeping = Atomic<Bool>(false)

    /// Starts the sweep (once).
    func startSweeping() {
        guard sweeping.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        // Pools live as long as the process, and so does their sweep.
        Task.detached {
            while true {
                self.sweep(now: .now)
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Adds a waiting call; `cancel` stops its wait once `deadline` has passed (if it has not started).
    func add(_ wait: ConnectionWait, deadline: ContinuousClock.Instant, cancel: @escaping @Sendable () -> Void) {
        entries.set(ObjectIdentifier(wait), Entry(wait: wait, deadline: deadline, cancel: cancel))
    }

    /// Removes a call (it ended).
    func remove(_ wait: ConnectionWait) {
        entries.remove(ObjectIdentifier(wait))
    }

    /// Times out every waiting call past its deadline.
    func sweep(now: ContinuousClock.Instant) {
        for (_, entry) in entries.filter({ $1.deadline <= now }) where entry.wait.timeOut() { entry.cancel() }
    }
}
#endif
