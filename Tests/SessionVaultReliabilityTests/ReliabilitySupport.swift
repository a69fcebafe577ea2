import Foundation
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultOperations
import SessionVaultTestSupport

#if canImport(Glibc)
import Glibc
#endif

// Helpers of the reliability tests. What other test targets need too (finding the binary, file
// bytes, the children's base environment) is in SessionVaultTestSupport.

/// The two passphrases of soak vaults: index 0 is what soak calls SESSION_VAULT_PASSPHRASE, 1 the new one.
let soakPassphrases = ["Reliability-Passphrase-A-5d1e!", "Reliability-Passphrase-B-c83f?"]

enum SoakBinary {
    /// The built `session-vault` (SessionVaultTestSupport's `builtExecutable`; this target's own
    /// scratch path is `.build-reliability`).
    static let path = builtExecutable(named: "session-vault", scratchDirectories: [".build-reliability", ".build"])

    /// The environment of every child: PATH, HOME, LANG, plus `extra`.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        let parent = ProcessInfo.processInfo.environment
        var environment = minimalChildEnvironment()
        // A sanitized binary reports to standard error and must not abort the harness's children.
        if let tsan = parent["TSAN_OPTIONS"] { environment["TSAN_OPTIONS"] = tsan }
        for (name, value) in extra { environment[name] = value }
        return environment
    }

    /// The environment of a soak child whose current passphrase is `soakPassphrases[current]`:
    /// SESSION_VAULT_PASSPHRASE is the current one and SESSION_VAULT_NEW_PASSPHRASE the other.
    static func soakEnvironment(current: Int) -> [String: String] {
        environment([
            "SESSION_VAULT_PASSPHRASE": soakPassphrases[current],
            "SESSION_VAULT_NEW_PASSPHRASE": soakPassphrases[1 - current],
        ])
    }
}

/// Where scratch directories go: the temporary directory when `nobody` can traverse every directory
/// above it, else the first of `/tmp`, `/var/tmp`, `/dev/shm` it can (a private `TMPDIR`, mode 0700,
/// would hide the files of the tests that run the command as `nobody`).
let scratchBase: String = {
    let candidates = [FileManager.default.temporaryDirectory.path, "/tmp", "/var/tmp", "/dev/shm"]
    return candidates.first(where: othersCanTraverse) ?? candidates[0]
}()

/// A fresh temporary directory (mode 755, in a place `nobody` can traverse), removed when `body` returns.
func withScratchDirectory<R>(_ body: (String) async throws -> R) async throws -> R {
    let path = URL(fileURLWithPath: scratchBase).appendingPathComponent("sv-rel-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// The names in a directory, sorted.
func directoryListing(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// What a vault holds after it was reopened through the library with the real VFS.
struct ReopenedVault {
    var passphraseIndex: Int
    var digest: SessionDigest
    var session: Session
    var integrity: [String]
    var records: Int
}

enum ReopenError: Error, CustomStringConvertible {
    case neitherPassphraseOpens([String])
    case failed(String)

    var description: String {
        switch self {
        case .neitherPassphraseOpens(let reasons): "neither passphrase opens the vault: \(reasons.joined(separator: "; "))"
        case .failed(let reason): reason
        }
    }
}

/// Opens the vault at `path` with `passphrases` (trying `preferred` first), which authenticates the
/// header, every record and the record set; runs `PRAGMA integrity_check`; re-authenticates every
/// stored record; closes. Nil when no file exists.
func reopen(
    _ path: String,
    passphrases: [String] = soakPassphrases,
    preferred: Int = 0,
    allowingTestKDF: Bool = false
) async throws -> ReopenedVault? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    var configuration = SessionVault.Configuration()
    configuration.mode = .openExisting
    configuration.fallback = .fail
    configuration.allowsInsecureKDFParametersForTesting = allowingTestKDF
    var reasons: [String] = []
    let order = [preferred] + passphrases.indices.filter { $0 != preferred }
    for index in order {
        let vault: SessionVault
        do {
            vault = try await SessionVault.open(at: path, passphrase: try Passphrase(copying: passphrases[index]), configuration: configuration)
        } catch {
            reasons.append("passphrase \(index): \(error)")
            continue
        }
        do {
            let session = try await vault.load() ?? Session()
            let integrity = try await vault.integrityCheck() ?? []
            let records = try await vault.authenticateStoredRecords()
            try await vault.close()
            return ReopenedVault(passphraseIndex: index, digest: SessionDigest(of: session), session: session, integrity: integrity, records: records)
        } catch {
            try? await vault.close()
            throw ReopenError.failed("opened with passphrase \(index), then: \(error)")
        }
    }
    throw ReopenError.neitherPassphraseOpens(reasons)
}

/// Milliseconds as a `Duration`.
func milliseconds(_ value: Int) -> Duration { .milliseconds(value) }

/// Seconds of a duration, as a Double.
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// A number from the environment, or `fallback`.
func environmentInteger(_ name: String, default fallback: Int) -> Int {
    ProcessInfo.processInfo.environment[name].flatMap { Int($0) } ?? fallback
}

/// Writes one line to standard error at once (counts that `make` output shows).
func report(_ line: String) {
    FileHandle.standardError.write(Data("[reliability] \(line)\n".utf8))
}
