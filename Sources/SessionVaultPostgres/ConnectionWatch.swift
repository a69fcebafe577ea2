#if SESSION_VAULT_POSTGRES
import Synchronization

/// Fails the uses of one connection in flight when it closes. postgres-nio 1.33.2 never answers a
/// query written to a connection the server has already dropped, so every use is raced against its
/// connection's close (``PostgresPool/withConnection(_:)``). One close callback per connection,
/// registered on its first use: a callback per use would pile up on the close future for the
/// connection's whole life (every save is a use), since a future keeps its callbacks until it completes.
final class ConnectionWatch: Sendable {
    private struct State {
        var closed = false
        var next = 0
        var waiters: [Int: @Sendable () -> Void] = [:]
    }
    private let state = Mutex(State())

    /// Registers `onClose` for the connection's close; nil (and `onClose` not kept) when it is closed already.
    func register(_ onClose: @escaping @Sendable () -> Void) -> Int? {
        state.withLock { state -> Int? in
            guard !state.closed else { return nil }
            state.next += 1
            state.waiters[state.next] = onClose
            return state.next
        }
    }

    /// Forgets a registration (its use ended).
    func unregister(_ ticket: Int) {
        _ = state.withLock { $0.waiters.removeValue(forKey: ticket) }
    }

    /// The connection closed: runs every registered callback, and refuses later registrations.
    func connectionClosed() {
        let waiters = state.withLock { state -> [@Sendable () -> Void] in
            state.closed = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter() }
    }

    /// How many queries are registered now (for tests).
    var registered: Int { state.withLock { $0.waiters.count } }
}
#endif
