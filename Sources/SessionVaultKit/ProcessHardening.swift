internal import CSystemShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-wide protections for programs that hold vault secrets.
public enum ProcessHardening {
    /// Disables core dumps (`RLIMIT_CORE` 0) and, on Linux, marks the process non-dumpable
    /// (`PR_SET_DUMPABLE` 0), which also makes `/proc/<pid>/mem` and `/proc/<pid>/environ` readable by
    /// root only. The `session-vault` command calls this first thing.
    /// - Returns: true when both settings took effect.
    @discardableResult
    public static func disableCoreDumps() -> Bool {
        csystem_disable_core_dumps() == 0
    }

    /// Whether the process is currently dumpable (Linux `PR_GET_DUMPABLE`); nil where unknown.
    public static var isDumpable: Bool? {
        let value = csystem_dumpable()
        return value < 0 ? nil : value != 0
    }

    /// Ignores `SIGXFSZ`, so that a write past `RLIMIT_FSIZE` fails with `EFBIG` (a save then fails
    /// with ``VaultError/Code/io`` and the vault keeps its last committed state) instead of killing
    /// the process. The `session-vault` command calls this first thing.
    public static func ignoreFileSizeLimitSignal() {
        _ = signal(SIGXFSZ, SIG_IGN)
    }
}
