/// The vault header as a ``RecordStore`` keeps it. Authenticated by ``mac`` under the data key.
public struct StoredHeader: Hashable, Sendable {
    /// The 12 ASCII bytes `sessionvault`.
    public static let magic: [UInt8] = Array("sessionvault".utf8)
    /// The magic of benchmark-only vaults written with a non-secretbox record cipher: no opener
    /// accepts it, so such a vault can never be mistaken for (or reopened as) a real one.
    public static let benchmarkMagic: [UInt8] = Array("svbenchmark!".utf8)
    /// The format version this build writes: new vaults, and every vault after a key rotation.
    public static let currentFormatVersion: UInt32 = 2
    /// The format versions this build reads: 1 (records unpadded) and 2 (records padded, docs/FORMAT.md §5.4).
    public static let readableFormatVersions: ClosedRange<UInt32> = 1...2

    /// The magic bytes as stored.
    public var magic: [UInt8]
    /// The format version as stored.
    public var formatVersion: UInt32
    /// 16 random bytes naming this vault; every key and tag is bound to it.
    public var vaultID: [UInt8]
    /// BLAKE2b-256 over the header and keyslots, keyed by a subkey of the data key.
    public var mac: [UInt8]

    /// Creates a header.
    public init(magic: [UInt8] = StoredHeader.magic, formatVersion: UInt32, vaultID: [UInt8], mac: [UInt8]) {
        self.magic = magic
        self.formatVersion = formatVersion
        self.vaultID = vaultID
        self.mac = mac
    }
}
