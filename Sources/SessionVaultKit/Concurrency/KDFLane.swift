#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a vault's Argon2id runs: a pool of its own, with one thread per core.
///
/// A derivation takes a tenth of a second and its memory limit (64 MiB by default). On the vault
/// pool it would hold a thread that other vaults' saves need, so a burst of opens would queue every
/// open vault's work behind their derivations (and an open refused before deriving behind the
/// others' derivations). Here the vault's executor awaits the derivation and its thread serves other
/// vaults meanwhile; derivations queue first come, first served among themselves, and no more of
/// them run at once than there are cores, which bounds their memory as the cooperative pool used
/// to.
enum KDFLane {
    /// The derivation threads.
    static let pool = VaultThreadPool(threadCount: max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))), name: "sv-kdf")

    /// ``KeyDerivation/passphraseKEK(_:salt:parameters:)`` on a derivation thread.
    static func passphraseKEK(
        _ passphrase: Passphrase,
        salt: [UInt8],
        parameters: KDFParameters
    ) async throws(VaultError) -> SecretBytes {
        let hop = ExecutorHop(executor: try VaultExecutor(pool: pool))
        return try await derive(passphrase, salt: salt, parameters: parameters, on: hop)
    }

    /// Runs `work` (another key derivation: a foreign format's PBKDF2, say) on a derivation thread,
    /// so that it never holds a thread of Swift's cooperative pool or the caller's actor.
    static func run<Value: Sendable>(_ work: @Sendable () throws(VaultError) -> Value) async throws(VaultError) -> Value {
        let hop = ExecutorHop(executor: try VaultExecutor(pool: pool))
        return try await perform(work, on: hop)
    }

    private static func perform<Value: Sendable>(
        _ work: @Sendable () throws(VaultError) -> Value,
        on hop: isolated ExecutorHop
    ) throws(VaultError) -> Value {
        try work()
    }

    private static func derive(
        _ passphrase: Passphrase,
        salt: [UInt8],
        parameters: KDFParameters,
        on hop: isolated ExecutorHop
    ) throws(VaultError) -> SecretBytes {
        try KeyDerivation.passphraseKEK(passphrase, salt: salt, parameters: parameters)
    }
}
