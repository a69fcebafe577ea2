import Foundation
import Testing
@_spi(Benchmark) @testable import SessionVaultKit
import SessionVaultTestSupport

/// `storageCommitRate(commits:)`, the benchmark's measure of the storage layer alone: it commits
/// the stored update-state row again through the real SQLite store, and leaves the vault as it was.
@Suite("The benchmark's store-commit measure")
struct StorageCommitRateTests {
    /// Every stored record row, in tag order (read with the vault closed).
    private func rows(_ path: String) throws -> [[[UInt8]]] {
        try withRawDatabase(path) { connection in
            var rows: [[[UInt8]]] = []
            try connection.forEachRow("SELECT tag, kind, nonce, ciphertext FROM sv_record ORDER BY tag") { row in
                rows.append([row.blob(0), [UInt8(row.int64(1))], row.blob(2), row.blob(3)])
            }
            return rows
        }
    }

    @Test func recommittingTheStoredRowChangesNothingReadable() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/rate.session"
            let session = try sampleSession(channels: 3)
            let created = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration())
            try await created.save(session)
            try await created.close()
            let before = try rows(path)

            let vault = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            let rate = try await vault.storageCommitRate(commits: 25)
            #expect(rate > 0 && rate.isFinite)
            try await vault.close()
            #expect(try rows(path) == before, "the rows are not byte for byte what they were")

            let reopened = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            #expect(try await reopened.load() == session)
            try await reopened.close()
        }
    }

    @Test func aVaultWithoutUpdateStateOrAZeroCountIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(
                at: directory + "/empty.session", passphrase: passphrase(), configuration: fastConfiguration())
            let noState = await #expect(throws: VaultError.self) { _ = try await vault.storageCommitRate(commits: 5) }
            #expect(noState?.code == .invalidArgument)
            try await vault.saveUpdateState(pts: 1, qts: 0, date: 0, seq: 1)
            let zero = await #expect(throws: VaultError.self) { _ = try await vault.storageCommitRate(commits: 0) }
            #expect(zero?.code == .invalidArgument)
            try await vault.close()
        }
    }
}
