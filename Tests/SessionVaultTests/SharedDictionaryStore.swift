import Synchronization
@testable import SessionVaultKit

/// A `RecordStore` written the way a third party would (the DocC article's example), over storage
/// that outlives the store object, so that a vault can be closed and opened again.
final class SharedDictionaryStore: RecordStore {
    final class Backing: Sendable {
        struct Contents {
            var header: StoredHeader?
            var keyslots: [StoredKeyslot] = []
            var records: [[UInt8]: SealedRecord] = [:]
        }
        let contents = Mutex(Contents())
        /// How many transactions were committed (a batch must cost exactly one).
        let commitCount = Mutex(0)
    }

    let backing: Backing
    private var isClosed = false

    init(_ backing: Backing) { self.backing = backing }

    var storageKind: StorageKind { .external }

    func readHeader() throws(VaultError) -> StoredHeader? { try check(); return backing.contents.withLock { $0.header } }
    func readKeyslots() throws(VaultError) -> [StoredKeyslot] {
        try check()
        return backing.contents.withLock { $0.keyslots.sorted { $0.slot < $1.slot } }
    }
    func readRecords() throws(VaultError) -> [SealedRecord] { try check(); return backing.contents.withLock { Array($0.records.values) } }
    func readRecord(tag: [UInt8]) throws(VaultError) -> SealedRecord? { try check(); return backing.contents.withLock { $0.records[tag] } }
    func commit(_ transaction: RecordTransaction) throws(VaultError) {
        try check()
        backing.commitCount.withLock { $0 += 1 }
        backing.contents.withLock { contents in
            if let header = transaction.header { contents.header = header }
            if let keyslots = transaction.keyslots { contents.keyslots = keyslots }
            if transaction.replacesAllRecords { contents.records.removeAll() }
            for tag in transaction.deletions { contents.records[tag] = nil }
            for record in transaction.upserts { contents.records[record.tag] = record }
        }
    }
    func close() throws(VaultError) { isClosed = true }
    func destroy() throws(VaultError) {
        backing.contents.withLock { $0 = Backing.Contents() }
        isClosed = true
    }
    private func check() throws(VaultError) {
        if isClosed { throw VaultError(.closed, "closed") }
    }
}
