import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// A file padded with junk rows is refused by the manifest's count before any record is loaded
/// (FORMAT.md §7 step 7), not after reading every row into memory.
@Suite("Junk rows")
struct JunkRowsTests {
    /// Forwards to a real SQLite store and counts full record loads.
    final class CountingStore: RecordStore {
        let inner: SQLiteRecordStore
        var recordLoads = 0
        init(_ inner: SQLiteRecordStore) { self.inner = inner }
        var storageKind: StorageKind { inner.storageKind }
        func readHeader() throws(VaultError) -> StoredHeader? { try inner.readHeader() }
        func readKeyslots() throws(VaultError) -> [StoredKeyslot] { try inner.readKeyslots() }
        func readRecords() throws(VaultError) -> [SealedRecord] {
            recordLoads += 1
            return try inner.readRecords()
        }
        func readRecord(tag: [UInt8]) throws(VaultError) -> SealedRecord? { try inner.readRecord(tag: tag) }
        func recordCount() throws(VaultError) -> Int? { try inner.recordCount() }
        func commit(_ transaction: RecordTransaction) throws(VaultError) { try inner.commit(transaction) }
        func close() throws(VaultError) { try inner.close() }
        func destroy() throws(VaultError) { try inner.destroy() }
    }

    func makeVault(in directory: String) async throws -> String {
        let vault = try await SessionVault.open(at: directory + "/junk", passphrase: passphrase(), configuration: fastConfiguration())
        try await vault.save(try sampleSession())
        let path = try #require(vault.path)
        try await vault.close()
        return path
    }

    func pad(_ path: String, rows: Int) throws {
        try withRawDatabase(path) { db in
            try db.execute(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(rows))
                INSERT INTO sv_record SELECT randomblob(32), abs(random()) % 256, randomblob(24), randomblob(48) FROM n
                """
            )
        }
    }

    @Test func aVaultPaddedWithJunkRowsIsRefusedBeforeLoadingThem() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            let genuine = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            let records = await genuine.recordCount
            try await genuine.close()
            try pad(path, rows: 200_000)

            // Through the real open: tampered, naming the manifest and both counts.
            do {
                let vault = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
                try await vault.close()
                Issue.record("a vault padded with 200,000 junk rows opened")
            } catch let error as VaultError {
                #expect(error.code == .tampered, "\(error)")
                #expect(error.recordKind == .manifest, "\(error)")
                #expect(error.message.contains("holds \(200_000 + records) records but its manifest lists \(records)"), "\(error)")
            }

            // The same open on a store that counts full loads: none happened.
            let library = try SQLiteLibrary.load().get()
            let store = CountingStore(try await SQLiteRecordStore.open(at: path, library: library, durability: .normal, lockWait: .zero))
            await #expect(throws: VaultError(.tampered, "")) {
                _ = try await SessionVault.unlockAndLoad(store: store, unlock: .passphrase(passphrase()), configuration: fastConfiguration(mode: .openExisting))
            }
            #expect(store.recordLoads == 0)
            try store.close()
        }
    }

    /// An untouched vault still loads (once), and a single deleted row is still caught by the count.
    @Test func theCountCheckPassesGenuineVaultsAndCatchesADeletedRow() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            let library = try SQLiteLibrary.load().get()
            let store = CountingStore(try await SQLiteRecordStore.open(at: path, library: library, durability: .normal, lockWait: .zero))
            let unlocked = try await SessionVault.unlockAndLoad(store: store, unlock: .passphrase(passphrase()), configuration: fastConfiguration(mode: .openExisting))
            #expect(unlocked.state.session == (try sampleSession()))
            #expect(store.recordLoads == 1)
            try store.close()

            try withRawDatabase(path) { db in
                try db.execute("DELETE FROM sv_record WHERE tag = (SELECT tag FROM sv_record ORDER BY length(ciphertext) LIMIT 1)")
            }
            let again = CountingStore(try await SQLiteRecordStore.open(at: path, library: library, durability: .normal, lockWait: .zero))
            await #expect(throws: VaultError(.tampered, "")) {
                _ = try await SessionVault.unlockAndLoad(store: again, unlock: .passphrase(passphrase()), configuration: fastConfiguration(mode: .openExisting))
            }
            #expect(again.recordLoads == 0)
            try again.close()
        }
    }
}
