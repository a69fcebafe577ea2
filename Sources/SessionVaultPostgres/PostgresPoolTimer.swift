#if SESSION_VAULT_POSTGRES
import NIOCore
import PostgresNIO

/// Timed waits of the pool's own work (the lease renewer's schedule, the renewal's and the release's
/// time limits), on a timer of postgres-nio's event loops.
///
/// `Task.sleep` would not do: its wake-up runs the sleeping task on Swift's global concurrent
/// executor whatever the task's executor preference (swiftlang/swift#74395, still open in Swift
/// 6.3), so a renewal due while the cooperative pool's threads are busy would wait for one of them
/// (`PostgresLeaseTests.aBusyCooperativePoolDelaysNoRenewal` lost its lease that way). A
/// continuation resumed from the event loop's thread runs the task on its preferred executor, the pool's.
enum PostgresPoolTimer {
    /// Returns at `deadline` (by the monotonic clock), or as soon as the task is cancelled.
    static func sleep(until deadline: ContinuousClock.Instant) async {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { return }
        let nanoseconds = remaining.components.seconds * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000
        let wakeUp = WakeUp()
        let timer = PostgresClient.defaultEventLoopGroup.next().scheduleTask(in: .nanoseconds(nanoseconds)) { wakeUp.fire() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { wakeUp.wait(with: $0) }
        } onCancel: {
            timer.cancel()
            wakeUp.fire()
        }
    }

    /// Returns after `duration`, or as soon as the task is cancelled.
    static func sleep(for duration: Duration) async {
        await sleep(until: ContinuousClock.now + duration)
    }

    /// Resumes the sleeping task once, whichever comes first: the timer or the cancellation (either
    /// may come before the task has started waiting).
    private final class WakeUp: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Void, Never>?
            var fired = false
        }

        private let state = Shared(State())

        func wait(with continuation: CheckedContinuation<Void, Never>) {
            let firedAlready = state.withLock { state -> Bool in
                if !state.fired { state.continuation = continuation }
                return state.fired
            }
            if firedAlready { continuation.resume() }
        }

        func fire() {
            let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.fired = true
                defer { state.continuation = nil }
                return state.continuation
            }
            waiting?.resume()
        }
    }
}
#endif
