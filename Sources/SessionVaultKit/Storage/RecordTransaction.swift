/// Changes a ``RecordStore`` applies atomically: all of them or none.
public struct RecordTransaction: Sendable {
    /// A new header row, or nil to keep the stored one.
    public var header: StoredHeader?
    /// A new set of keyslots replacing all stored ones, or nil to keep them.
    public var keyslots: [StoredKeyslot]?
    /// When true, every stored record is deleted before ``upserts`` are written (key rotation).
    public var replacesAllRecords: Bool
    /// Records to insert or replace, by tag.
    public var upserts: [SealedRecord]
    /// Tags of records to delete.
    public var deletions: [[UInt8]]

    /// Creates a transaction.
    public init(
        header: StoredHeader? = nil,
        keyslots: [StoredKeyslot]? = nil,
        replacesAllRecords: Bool = false,
        upserts: [SealedRecord] = [],
        deletions: [[UInt8]] = []
    ) {
        self.header = header
        self.keyslots = keyslots
        self.replacesAllRecords = replacesAllRecords
        self.upserts = upserts
        self.deletions = deletions
    }
}
