/// A storage backend: a small, crypto-free store of sealed records, one header and its keyslots.
///
/// Sealing happens above this protocol, in ``SessionVault``; a backend only ever sees tags, masked
/// kinds, nonces and ciphertexts, so a new backend (PostgreSQL, a key-value store…) never touches
/// cryptography. ``SessionVault`` calls a store from one task at a time.
///
/// Requirements:
/// - ``commit(_:)`` applies a whole ``RecordTransaction`` or nothing, durably, before returning.
/// - Reads return exactly what the last successful commit wrote.
/// - ``close()`` releases every resource (and any lock); later calls may fail.
/// - ``destroy()`` removes every trace of the vault from the backend.
public protocol RecordStore: AnyObject {
    /// What kind of storage this is.
    var storageKind: StorageKind { get }
    /// The stored header, or nil when the store holds no vault yet.
    func readHeader() async throws(VaultError) -> StoredHeader?
    /// The stored keyslots, ordered by slot number.
    func readKeyslots() async throws(VaultError) -> [StoredKeyslot]
    /// Every stored record, in any order.
    func readRecords() async throws(VaultError) -> [SealedRecord]
    /// The record stored under `tag`, if any (one indexed lookup).
    func readRecord(tag: [UInt8]) async throws(VaultError) -> SealedRecord?
    /// How many records are stored (the manifest included), when the backend can count them without
    /// reading them; nil (the default) otherwise. An opener compares it with the manifest before it
    /// reads any record, so a file padded with junk rows is refused without loading them.
    func recordCount() async throws(VaultError) -> Int?
    /// Applies `transaction` atomically and durably.
    func commit(_ transaction: RecordTransaction) async throws(VaultError)
    /// Flushes and releases the store.
    func close() async throws(VaultError)
    /// Removes everything the store holds, including files and locks, and releases it.
    func destroy() async throws(VaultError)
    /// Makes sure replaced and deleted values are gone from the backend's storage (free pages,
    /// journals). Called after a passphrase change or key rotation. The default does nothing.
    func purgeFreedSpace() async throws(VaultError)
    /// Throws when the store can no longer serve the vault although it was not closed, for instance
    /// ``VaultError/Code/leaseLost`` once a leased store lost its lease. ``SessionVault`` asks before
    /// every call but closing. The default never throws.
    func checkUsable() throws(VaultError)
}

extension RecordStore {
    /// Not counted by default: the manifest is then checked after reading every record.
    public func recordCount() async throws(VaultError) -> Int? { nil }

    /// Nothing to purge by default (memory stores keep no old values).
    public func purgeFreedSpace() async throws(VaultError) {}

    /// Always usable by default.
    public func checkUsable() throws(VaultError) {}
}
