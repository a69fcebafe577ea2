public import SessionVaultKit
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unsolicited news for the agent's client, posted from any thread (a lease renewal task) and
/// written by ``AgentServer`` as an event line between answers: today only the loss of a lease
/// (`{"event":"lease-lost","error":{…}}`, docs/AGENT.md §2.4). A pipe wakes the server's `poll`.
public final class AgentNotices: Sendable {
    private let pending = Mutex<[VaultError]>([])
    /// The pipe's read end (polled by the server) and write end (written by ``post(_:)``).
    let readEnd: Int32
    private let writeEnd: Int32

    /// Creates the wake-up pipe (close-on-exec, non-blocking).
    /// - Throws: ``VaultError/Code/io`` when no pipe can be created.
    public init() throws(VaultError) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            throw VaultError(.io, "cannot create the agent's notice pipe", errno: errno)
        }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Queues `error` for the client (a lease-lost error) and wakes the server. Safe from any thread.
    public func post(_ error: VaultError) {
        pending.withLock { $0.append(error) }
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Everything posted since the last call (and drains the pipe).
    func take() -> [VaultError] {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &sink, sink.count) > 0 {}
        return pending.withLock { posted in
            defer { posted.removeAll() }
            return posted
        }
    }
}
