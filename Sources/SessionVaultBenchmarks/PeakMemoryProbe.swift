import Foundation
import SessionVaultKit

/// Measures the peak resident memory of opening and loading a vault in a fresh process, so the
/// figure is not inflated by whatever the benchmark did before.
///
/// The child is this same executable run as `session-vault bench --measure-open PATH`; the
/// (synthetic) passphrase reaches it through `SESSION_VAULT_PASSPHRASE`, which the child scrubs.
public enum PeakMemoryProbe {
    /// Runs the child and returns its `ru_maxrss` in bytes.
    static func measureOpen(path: String, passphrase: String) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["bench", "--measure-open", path]
        var environment = ProcessInfo.processInfo.environment
        environment["SESSION_VAULT_PASSPHRASE"] = passphrase
        environment.removeValue(forKey: "SESSION_VAULT_PASSPHRASE_FILE")
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            let bytes = Int(text)
        else {
            throw VaultError(.io, "the memory probe child failed (status \(process.terminationStatus))")
        }
        return bytes
    }

    /// The child's side: open and load the vault, then return the peak RSS in bytes.
    public static func openAndReportPeak(path: String) async throws -> Int {
        let passphrase = try PassphraseSource.readPassphrase()
        var configuration = SessionVault.Configuration()
        configuration.mode = .openExisting
        configuration.fallback = .fail
        let vault = try await SessionVault.open(at: path, passphrase: passphrase, configuration: configuration)
        _ = try await vault.load()
        try await vault.close()
        if let peak = highWaterMark() { return peak }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024  // Linux reports KiB
    }

    /// `VmHWM` of `/proc/self/status`, in bytes: the peak of this process's own address space.
    ///
    /// Not `ru_maxrss`: Foundation starts the child with `posix_spawn`, whose child shares the
    /// parent's address space until `exec`, and Linux keeps that address space's peak in the child's
    /// `ru_maxrss` across the `exec`. The figure was then the benchmark process's own peak whenever
    /// that was larger (after the pool-stall rounds, with 15 vaults, it was).
    static func highWaterMark() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kibibytes = Int(fields[1]) else { return nil }
            return kibibytes * 1024
        }
        return nil
    }
}
