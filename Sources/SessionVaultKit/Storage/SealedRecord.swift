/// One sealed record as a ``RecordStore`` keeps it: nothing in it is readable without the data key.
public struct SealedRecord: Hashable, Sendable {
    /// The row key: a 32-byte keyed hash of the record kind and its identity (a channel id, a DC id…).
    public var tag: [UInt8]
    /// The record kind XOR a keyed mask byte derived from the tag.
    public var maskedKind: UInt8
    /// The 24-byte secretbox nonce, fresh for every write.
    public var nonce: [UInt8]
    /// `MAC ‖ ciphertext` from `crypto_secretbox_easy`.
    public var ciphertext: [UInt8]

    /// Creates a record.
    public init(tag: [UInt8], maskedKind: UInt8, nonce: [UInt8], ciphertext: [UInt8]) {
        self.tag = tag
        self.maskedKind = maskedKind
        self.nonce = nonce
        self.ciphertext = ciphertext
    }
}
