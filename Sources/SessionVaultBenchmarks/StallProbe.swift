/// How late an unrelated periodic task runs while the vault works: the figure behind
/// `pool_stall_ms` and `open_main_actor_stall_ms`.
///
/// A ticker sleeps for ``period`` in a loop and records, for every tick, how much longer than
/// ``period`` the sleep took. A tick is late when no thread of its executor is free to resume it:
/// on the cooperative pool, when every pool thread is blocked (in an `fdatasync`, say); on the main
/// actor, when something runs on the main actor.
enum StallProbe {
    /// The ticker's period.
    static let period = Duration.milliseconds(2)

    /// The worst lateness and the number of ticks of one ticker.
    struct Result: Sendable {
        /// The worst lateness of a tick, in milliseconds.
        var worstMilliseconds: Double
        /// How many ticks completed while the work ran.
        var ticks: Int
    }

    /// Runs `work` while a ticker runs on the cooperative pool (a detached task).
    static func onCooperativePool(during work: () async throws -> Void) async throws -> Result {
        let (started, opened) = AsyncStream<Never>.makeStream()
        let ticker = Task.detached { await tick(started: opened) }
        for await _ in started {}
        do {
            try await work()
        } catch {
            ticker.cancel()
            _ = await ticker.value
            throw error
        }
        ticker.cancel()
        return await ticker.value
    }

    /// Runs `work` while a ticker runs on the main actor. `work` itself is started from the main
    /// actor, the way an app's UI code would call it.
    @MainActor
    static func onMainActor(during work: @MainActor () async throws -> Void) async throws -> Result {
        let (started, opened) = AsyncStream<Never>.makeStream()
        let ticker = Task { @MainActor in await tick(started: opened) }
        for await _ in started {}
        do {
            try await work()
        } catch {
            ticker.cancel()
            _ = await ticker.value
            throw error
        }
        ticker.cancel()
        return await ticker.value
    }

    /// Ticks on the caller's executor until the task is cancelled.
    /// `started` is finished once the ticker has made one untimed tick (the first sleep of a
    /// process or executor pays one-time set-up costs that are not what is measured), so that the
    /// work starts only after it.
    private static func tick(started: AsyncStream<Never>.Continuation) async -> Result {
        var result = Result(worstMilliseconds: 0, ticks: 0)
        try? await Task.sleep(for: period)
        started.finish()
        while !Task.isCancelled {
            let before = ContinuousClock.now
            do { try await Task.sleep(for: period) } catch { break }
            let late = (ContinuousClock.now - before - period).seconds * 1000
            result.worstMilliseconds = max(result.worstMilliseconds, late)
            result.ticks += 1
        }
        return result
    }
}
