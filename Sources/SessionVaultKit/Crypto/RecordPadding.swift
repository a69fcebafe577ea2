internal import CSodium

/// The padding of record plaintexts in format version 2 (docs/FORMAT.md §5.4): ISO/IEC 7816-4
/// padding (one `0x80` byte, then zero bytes) to the next multiple of ``blockByteCount``, computed
/// by libsodium's `sodium_pad` and checked by `sodium_unpad`.
///
/// Every record gets at least one padding byte, so an n-byte plaintext becomes
/// `(n / 128 + 1) × 128` bytes: the manifest, channel states, the update state, the user, the
/// extras, data centers without an auth key and peers (and lookup entries) up to 127 bytes all seal
/// to the same length. Version 1 records are not padded.
enum RecordPadding {
    /// 128 bytes: the block (and smallest bucket) of every padded plaintext.
    static let blockByteCount = 128

    /// Whether records of `formatVersion` are padded (version 2 and later).
    static func applies(to formatVersion: UInt32) -> Bool { formatVersion >= 2 }

    /// The padded length of an `count`-byte plaintext.
    static func paddedCount(_ count: Int) -> Int { (count / blockByteCount + 1) * blockByteCount }

    /// Pads the first `count` bytes of `buffer` in place.
    /// - Returns: The padded length.
    /// - Throws: ``VaultError/Code/invalidArgument`` when the padded plaintext would not fit in `buffer`.
    static func pad(_ buffer: UnsafeMutableRawBufferPointer, count: Int) throws(VaultError) -> Int {
        var padded = 0
        let result = sodium_pad(
            &padded,
            buffer.baseAddress!.assumingMemoryBound(to: UInt8.self),
            count,
            blockByteCount,
            buffer.count
        )
        guard result == 0 else {
            throw VaultError(.invalidArgument, "a record is larger than the \(buffer.count - 1)-byte limit once padded")
        }
        return padded
    }

    /// The length of the plaintext inside a padded one, or nil when the padding is malformed: the
    /// length is not a positive multiple of the block, or the last block does not end in `0x80`
    /// followed only by zero bytes.
    static func unpaddedCount(_ padded: UnsafeRawBufferPointer) -> Int? {
        guard padded.count >= blockByteCount, padded.count % blockByteCount == 0 else { return nil }
        var unpadded = 0
        let result = sodium_unpad(
            &unpadded,
            padded.baseAddress!.assumingMemoryBound(to: UInt8.self),
            padded.count,
            blockByteCount
        )
        return result == 0 ? unpadded : nil
    }
}
