import SessionVaultKit
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Progress for slow steps (Argon2id, rotation), shown only when standard error is a terminal.
///
/// A step writes `session-vault: <what>…` and erases it when done, so a terminal is left with the
/// result only; in a pipe, a log or a service nothing is written.
enum TerminalProgress {
    /// Whether standard error is a terminal.
    static var isEnabled: Bool { isatty(StandardStream.error) == 1 }

    /// Runs `body` while `what` is shown.
    static func step<R, E: Error>(_ what: String, _ body: () async throws(E) -> R) async throws(E) -> R {
        guard isEnabled else { return try await body() }
        StandardStream.writeRawError("session-vault: \(what)…")
        do {
            let result = try await body()
            StandardStream.writeRawError("\r\u{1B}[K")
            return result
        } catch {
            StandardStream.writeRawError("\n")
            throw error
        }
    }

    /// A progress callback for counted work that rewrites the line at most ten times a second.
    static func counter(_ what: String) -> (@Sendable (Int, Int) -> Void)? {
        guard isEnabled else { return nil }
        let last = Mutex<ContinuousClock.Instant?>(nil)
        return { done, total in
            let now = ContinuousClock.now
            let due = last.withLock { previous in
                guard previous.map({ now - $0 >= .milliseconds(100) }) ?? true else { return false }
                previous = now
                return true
            }
            if due { StandardStream.writeRawError("\r\u{1B}[Ksession-vault: \(what) \(done)/\(total)…") }
        }
    }
}
