internal import CSystemShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process set-up for a long-running agent that must stop cleanly when told to or orphaned.
public enum AgentProcess {
    /// Makes SIGTERM, SIGINT and SIGHUP write into a pipe instead of killing the process, and makes
    /// writes to a closed pipe fail with `EPIPE` instead of raising SIGPIPE.
    /// - Returns: The pipe's read end (for ``AgentServer``'s `termination`), or -1 on failure.
    public static func installTerminationSignals() -> Int32 {
        csystem_termination_pipe()
    }

    /// Asks the kernel to send SIGTERM to this process when its parent dies (Linux).
    /// - Returns: false when the parent has already died (the caller should stop now).
    @discardableResult
    public static func terminateWithParent() -> Bool {
        csystem_set_parent_death_signal(SIGTERM) != 1
    }
}
