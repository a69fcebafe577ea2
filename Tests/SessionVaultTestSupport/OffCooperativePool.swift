package import Foundation

// Swift Testing runs every test on Swift's cooperative pool, which has one thread per core (two on
// the CI machine). A test that blocks one of them (waiting for a child process, reading a pipe to
// its end) stalls every other test's async work for as long: a 31 s fixture-generator run and a
// few blocking child waits were enough to starve the PostgreSQL tests' connection requests past
// their 30 s limit ("pool exhausted"). Blocking waits go through these helpers instead.
//
// Each wait gets a thread of its own rather than a block on Dispatch's global queue, which on
// Linux adds threads beside blocked ones only gradually.

/// Runs `body` on a thread of its own and returns its result, without holding a thread of Swift's
/// cooperative pool or of Dispatch's global queue while it runs.
package func offCooperativePool<R: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> R) async throws(E) -> R {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<R, E>, Never>) in
        let thread = Thread { continuation.resume(returning: Result { () throws(E) -> R in try body() }) }
        thread.name = "sv-test-wait"
        thread.start()
    }
    return try result.get()
}

/// Everything `handle` yields until end of file (read off the cooperative pool).
package func readToEnd(_ handle: FileHandle) async -> Data {
    await offCooperativePool { handle.readDataToEndOfFile() }
}

/// Waits (off the cooperative pool) until `process` has exited and Foundation has recorded how.
package func waitForExit(_ process: Process) async {
    await offCooperativePool { process.waitUntilExit() }
}
