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

    /// Whether the constructor of the `SessionVaultEarlyHardening` module (or
    /// ``takeSecretsFromEnvironment()``'s early twin) ran in this process: true in `session-vault` and
    /// in any executable that links that module, before its first line of Swift.
    public static var earlyHardeningRan: Bool {
        csystem_early_hardening_ran() != 0
    }

    /// Moves every secret-carrying `SESSION_VAULT_*` variable (`SESSION_VAULT_PASSPHRASE`,
    /// `_NEW_PASSPHRASE`, `_RECOVERY_KEY`, `_STRING_PASSPHRASE`, `_POSTGRES_NAME_KEY`,
    /// `_POSTGRES_PASSWORD`) out of the environment into locked memory, overwriting the bytes that
    /// `/proc/<pid>/environ` shows; ``PassphraseSource`` takes them from there.
    ///
    /// For an embedder that cannot link the `SessionVaultEarlyHardening` product, whose C constructor
    /// does this (and ``disableCoreDumps()``) before any Swift code runs. Called from Swift, it runs
    /// later: until then the variables are readable by any process that may read this one's
    /// `/proc/<pid>/environ` (the same user, while the process is dumpable). Call
    /// ``disableCoreDumps()`` first.
    /// - Returns: false when the locked memory could not be mapped (the variables then stay put).
    @discardableResult
    public static func takeSecretsFromEnvironment() -> Bool {
        csystem_take_environment_secrets() >= 0
    }

    /// Whether a value for `name` waits in the stash of ``takeSecretsFromEnvironment()``.
    static func hasStashedSecret(_ name: String) -> Bool {
        csystem_stashed_secret_length(name) >= 0
    }

    /// The stashed value of `name` in guarded memory (nil when none is stashed); with `forget` the
    /// stash wipes its copy.
    /// - Throws: ``VaultError/Code/invalidArgument`` when it is longer than `limit` bytes.
    static func stashedSecret(_ name: String, limit: Int, forget: Bool) throws(VaultError) -> SecretBytes? {
        let length = csystem_stashed_secret_length(name)
        guard length >= 0 else { return nil }
        guard length <= limit, length < Int(CSYSTEM_STASH_CAPACITY) else {
            if forget { _ = csystem_copy_stashed_secret(name, nil, 0, 1) }
            throw VaultError(.invalidArgument, "\(name) is longer than \(limit) bytes")
        }
        let secret = try SecretBytes(count: Int(length))
        let copied = secret.withUnsafeMutableBytes { buffer in
            csystem_copy_stashed_secret(name, buffer.baseAddress, buffer.count, forget ? 1 : 0)
        }
        guard copied == length else { throw VaultError(.invalidArgument, "\(name) could not be read") }
        return secret
    }

    /// The stashed value of `name` as text, kept in the stash (for the PostgreSQL password, which the
    /// driver takes as a `String`); nil when none is stashed or it is not UTF-8.
    package static func stashedText(_ name: String) -> String? {
        guard let secret = try? stashedSecret(name, limit: 4096, forget: false) else { return nil }
        return secret.withUnsafeBytes { String(validating: $0.bindMemory(to: UInt8.self), as: UTF8.self) }
    }

    /// Ignores `SIGXFSZ`, so that a write past `RLIMIT_FSIZE` fails with `EFBIG` (a save then fails
    /// with ``VaultError/Code/io`` and the vault keeps its last committed state) instead of killing
    /// the process. The `session-vault` command calls this first thing.
    public static func ignoreFileSizeLimitSignal() {
        _ = signal(SIGXFSZ, SIG_IGN)
    }
}
