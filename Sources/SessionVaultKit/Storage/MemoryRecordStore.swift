/// A ``RecordStore`` in process memory: sealed records in dictionaries, gone with the process.
///
/// Used for vaults opened with a nil path and as the fallback when libsqlite3 cannot be loaded.
/// Records stay sealed in memory too, so the code path is the same as on disk.
public final class MemoryRecordStore: RecordStore {
    private var header: StoredHeader?
    private var keyslots: [StoredKeyslot] = []
    private var records: [[UInt8]: SealedRecord] = [:]
    private var isClosed = false

    /// An empty store.
    public init() {}

    /// ``StorageKind/memory``.
    public var storageKind: StorageKind { .memory }

    /// The stored header.
    public func readHeader() throws(VaultError) -> StoredHeader? {
        try checkOpen()
        return header
    }

    /// The stored keyslots.
    public func readKeyslots() throws(VaultError) -> [StoredKeyslot] {
        try checkOpen()
        return keyslots.sorted { $0.slot < $1.slot }
    }

    /// Every stored record.
    public func readRecords() throws(VaultError) -> [SealedRecord] {
        try checkOpen()
        return Array(records.values)
    }

    /// The record stored under `tag`.
    public func readRecord(tag: [UInt8]) throws(VaultError) -> SealedRecord? {
        try checkOpen()
        return records[tag]
    }

    /// Applies the transaction (in memory, trivially atomic).
    public func commit(_ transaction: RecordTransaction) throws(VaultError) {
        try checkOpen()
        if let newHeader = transaction.header { header = newHeader }
        if let newKeyslots = transaction.keyslots { keyslots = newKeyslots }
        if transaction.replacesAllRecords { records.removeAll() }
        for tag in transaction.deletions { records[tag] = nil }
        for record in transaction.upserts { records[record.tag] = record }
    }

    /// Marks the store closed.
    public func close() throws(VaultError) {
        isClosed = true
    }

    /// Drops everything.
    public func destroy() throws(VaultError) {
        header = nil
        keyslots = []
        records = [:]
        isClosed = true
    }

    private func checkOpen() throws(VaultError) {
        if isClosed { throw VaultError(.closed, "the memory store is closed") }
    }
}
