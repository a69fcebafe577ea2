#if SESSION_VAULT_POSTGRES
import Synchronization

/// A value behind a lock that escaping closures and tasks can share (a `Mutex` itself cannot be
/// captured by them: it is not copyable).
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    /// Runs `body` with the value locked.
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }

    /// The current value.
    var value: Value { mutex.withLock { $0 } }
}

/// A counter that many tasks bump at once without taking a lock (benchmark tallies).
final class Counter: Sendable {
    private let count = Atomic<Int>(0)

    /// Adds one.
    func increment() { count.add(1, ordering: .relaxed) }

    /// The current count.
    var value: Int { count.load(ordering: .relaxed) }
}
#endif
