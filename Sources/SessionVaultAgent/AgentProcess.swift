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

    /// Asks the kernel to send SIGTERM to this process when its parent dies (Linux). A parent that
    /// died before this call cannot be told apart from a process started by init (a service), so
    /// that case is left to end of input, which a dead parent's pipe also gives.
    public static func terminateWithParent() {
        _ = csystem_set_parent_death_signal(SIGTERM)
    }
}
