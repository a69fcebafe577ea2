import Foundation
import Logging
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// The memory fallback is for sessions not on disk yet: with libsqlite3 missing (a nonexistent
/// library path, for real), an existing vault is never hidden behind an empty memory vault.
@Suite("Memory fallback and existing vaults")
struct FallbackExistingVaultTests {
    func withoutSQLite(_ mode: SessionVault.Configuration.Mode, _ fallback: SessionVault.Configuration.FallbackPolicy = .memory, logger: Logger? = nil) -> SessionVault.Configuration {
        var configuration = fastConfiguration(mode: mode, logger: logger)
        configuration.sqliteLibraryPath = "/nonexistent/libsqlite3.so.0"
        configuration.fallback = fallback
        return configuration
    }

    func makeVault(in directory: String) async throws -> String {
        let vault = try await SessionVault.open(at: directory + "/bot", passphrase: passphrase(), configuration: fastConfiguration())
        try await vault.save(try sampleSession())
        let path = try #require(vault.path)
        try await vault.close()
        return path
    }

    @Test(arguments: [SessionVault.Configuration.Mode.openExisting, .openOrCreate, .create])
    func anExistingVaultIsRefusedWithSQLiteUnavailable(mode: SessionVault.Configuration.Mode) async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            let before = fileBytes(path)
            let capture = LogCapture()
            for policy in [SessionVault.Configuration.FallbackPolicy.memory, .fail] {
                do {
                    let vault = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: withoutSQLite(mode, policy, logger: capture.logger()))
                    Issue.record("\(mode)/\(policy): opened as \(vault.storageKind) although \(path) exists")
                    try await vault.close()
                } catch let error as VaultError {
                    #expect(error.code == .sqliteUnavailable, "\(mode)/\(policy): \(error)")
                    #expect(!error.message.contains("\n"))
                    if policy == .memory { #expect(error.message.contains("\(path) exists"), "\(error)") }
                }
            }
            #expect(capture.warnings.isEmpty, "no memory-only warning: nothing was opened")
            #expect(fileBytes(path) == before)
            // The recovery-key open takes the same path.
            await #expect(throws: VaultError(.sqliteUnavailable, "")) {
                _ = try await SessionVault.open(at: path, recoveryKey: try RecoveryKey.generate(), configuration: withoutSQLite(.openExisting))
            }
        }
    }

    /// `.openExisting` never creates, with or without SQLite: a missing file is `notFound`, as it is
    /// when libsqlite3 loads (with `.fail`, every file open is `sqliteUnavailable`).
    @Test func openExistingWithoutAFileIsNotFound() async throws {
        try await withTemporaryDirectory { directory in
            await #expect(throws: VaultError(.notFound, "")) {
                _ = try await SessionVault.open(at: directory + "/missing", passphrase: passphrase(), configuration: withoutSQLite(.openExisting))
            }
            await #expect(throws: VaultError(.notFound, "")) {
                _ = try await SessionVault.open(at: directory + "/missing", passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            }
            await #expect(throws: VaultError(.sqliteUnavailable, "")) {
                _ = try await SessionVault.open(at: directory + "/missing", passphrase: passphrase(), configuration: withoutSQLite(.openExisting, .fail))
            }
            let listing = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(listing.isEmpty)
        }
    }

    /// A session that is not on disk yet still falls back to memory, with one warning.
    @Test(arguments: [SessionVault.Configuration.Mode.openOrCreate, .create])
    func aNewSessionStillFallsBackToMemory(mode: SessionVault.Configuration.Mode) async throws {
        try await withTemporaryDirectory { directory in
            let capture = LogCapture()
            let vault = try await SessionVault.open(at: directory + "/new", passphrase: passphrase(), configuration: withoutSQLite(mode, logger: capture.logger()))
            #expect(vault.storageKind == .memory)
            try await vault.close()
            #expect(capture.warnings.count == 1)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [])
        }
    }
}
