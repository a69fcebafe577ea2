import Synchronization

/// A first-come, first-served lock for async code whose waiters can give up when their task is
/// cancelled: what keeps one vault's operations from interleaving at their `await`s.
///
/// An actor runs one job at a time, but a method that suspends (a PostgreSQL round trip, a lock
/// wait) lets the next call in; a save must not interleave with another save's diff and commit. A
/// waiter whose task is cancelled is removed from the queue and returns at once, without ever
/// holding the lock, while the holder carries on. The state is behind a `Mutex` (not actor state)
/// because cancellation handlers run on whichever thread cancels the task.
final class OperationGate: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var isHeld = false
        var nextID: UInt64 = 0
        var waiters: [Waiter] = []
    }

    private let state = Mutex(State())

    /// Takes the lock, waiting behind earlier callers.
    /// - Parameter cancellable: When true, a task that is cancelled while it waits (or before it
    ///   starts waiting) stops waiting.
    /// - Returns: Whether the lock is now held by the caller; false only when `cancellable` and
    ///   the task was cancelled first. A caller that gets true must call ``leave()``.
    func enter(cancellable: Bool) async -> Bool {
        let waiterID: UInt64? = state.withLock { state in
            if !state.isHeld {
                state.isHeld = true
                return nil
            }
            state.nextID &+= 1
            return state.nextID
        }
        guard let waiterID else { return true }
        guard cancellable else {
            return await withCheckedContinuation { continuation in
                wait(waiterID, continuation, cancellable: false)
            }
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                wait(waiterID, continuation, cancellable: true)
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == waiterID }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            cancelled?.resume(returning: false)
        }
    }

    /// Queues the waiter, or resumes it at once when the lock was released meanwhile or its task
    /// is already cancelled. Under the mutex, so that a cancellation handler that runs later finds
    /// the waiter queued, and one that ran earlier left `Task.isCancelled` set.
    private func wait(_ id: UInt64, _ continuation: CheckedContinuation<Bool, Never>, cancellable: Bool) {
        let outcome: Bool? = state.withLock { state in
            if !state.isHeld {
                state.isHeld = true
                return true
            }
            if cancellable && Task.isCancelled { return false }
            state.waiters.append(Waiter(id: id, continuation: continuation))
            return nil
        }
        if let outcome { continuation.resume(returning: outcome) }
    }

    /// How many callers are waiting (for tests and diagnostics).
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// Releases the lock, handing it directly to the longest waiter if there is one.
    func leave() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard !state.waiters.isEmpty else {
                state.isHeld = false
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume(returning: true)
    }
}
