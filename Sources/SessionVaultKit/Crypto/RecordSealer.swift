/// The one place where records are sealed and opened. Backends below it see only ``SealedRecord``s.
///
/// A record's key is derived from the data key and its location (vault id, kind, tag, format
/// version), so a sealed value copied to another row, another kind or another vault fails to open.
/// From format version 2 on, plaintexts are padded to a multiple of 128 bytes before sealing
/// (``RecordPadding``), so that lengths do not tell record kinds or identifier lengths apart.
final class RecordSealer {
    /// The largest plaintext a record may have (padding included from version 2 on); larger
    /// ciphertexts are refused before decryption.
    static let maximumPlaintextByteCount = 64 * 1024

    let keys: KeySchedule
    /// Always ``SecretBoxCipher`` except in benchmark-only vaults (see ``RecordCipher``).
    let cipher: any RecordCipher
    /// Whether plaintexts are padded: the vault's format version is 2 or later.
    let padsPlaintexts: Bool
    /// Guarded scratch memory for plaintexts, reused for every record (callers are serialised by the
    /// vault). After every seal and open, whether it succeeded or threw, the prefix that record used
    /// is zeroed, so no plaintext stays in it (`SecretHygieneTests/theSealingScratchHoldsNoPlaintextAfterUse`).
    let scratch: SecretBytes
    /// Tag and mask of each kind's record with an empty identity (the update state, the user, the
    /// extras, the manifest), derived on first use: the update state is saved on every update.
    /// Both are public values (they are stored in clear in every row).
    private var singletonLabels: [RecordKind: (tag: [UInt8], mask: UInt8)] = [:]

    init(keys: KeySchedule, cipher: any RecordCipher = SecretBoxCipher()) throws(VaultError) {
        self.keys = keys
        self.cipher = cipher
        self.padsPlaintexts = RecordPadding.applies(to: keys.formatVersion)
        self.scratch = try SecretBytes(count: Self.maximumPlaintextByteCount)
    }

    /// Seals the plaintext that `encode` writes, under the record key for (`kind`, `identity`).
    func seal(
        kind: RecordKind,
        identity: [UInt8],
        encode: (inout ByteWriter) throws(VaultError) -> Void
    ) throws(VaultError) -> SealedRecord {
        let (tag, mask) = label(kind: kind, identity: identity)
        let key = keys.recordKey(kind: kind, tag: tag)
        // Only the prefix a record used is wiped (not all 64 KiB per save): the writer never
        // reserves past what it writes, and padding ends at `padded`.
        var used = 0
        defer { scratch.wipe(prefix: used) }
        let sealed = try scratch.withUnsafeMutableBytes { (buffer) throws(VaultError) in
            var writer = ByteWriter(buffer)
            defer { used = max(used, writer.count) }
            try encode(&writer)
            guard padsPlaintexts else { return cipher.seal(writer.written, key: key) }
            let padded = try RecordPadding.pad(buffer, count: writer.count)
            used = padded
            return cipher.seal(UnsafeRawBufferPointer(rebasing: buffer[0..<padded]), key: key)
        }
        return SealedRecord(
            tag: tag,
            maskedKind: kind.rawValue ^ mask,
            nonce: sealed.nonce,
            ciphertext: sealed.ciphertext
        )
    }

    /// The tag of (`kind`, `identity`) and the mask of that tag; cached for empty identities.
    private func label(kind: RecordKind, identity: [UInt8]) -> (tag: [UInt8], mask: UInt8) {
        if identity.isEmpty, let cached = singletonLabels[kind] { return cached }
        let tag = keys.tag(kind: kind, identity: identity)
        let label = (tag: tag, mask: keys.mask(tag: tag))
        if identity.isEmpty { singletonLabels[kind] = label }
        return label
    }

    /// Opens and decodes a record.
    /// - Throws: ``VaultError/Code/tampered`` naming the kind when authentication fails;
    ///   ``VaultError/Code/corrupt`` for malformed lengths, padding or plaintexts.
    func open(_ record: SealedRecord) throws(VaultError) -> (kind: RecordKind, decoded: RecordCodec.Decoded) {
        guard record.tag.count == 32 else {
            throw VaultError(.corrupt, "a record has a \(record.tag.count)-byte tag (expected 32)")
        }
        // docs/FORMAT.md §7 step 7: unmask, check lengths (naming the kind when it is one), then the kind.
        let unmasked = RecordKind(rawValue: record.maskedKind ^ keys.mask(tag: record.tag))
        guard record.nonce.count == SecretBox.nonceByteCount,
            record.ciphertext.count >= cipher.overheadByteCount,
            record.ciphertext.count <= Self.maximumPlaintextByteCount + cipher.overheadByteCount,
            !padsPlaintexts || Self.isPaddedLength(record.ciphertext.count - cipher.overheadByteCount)
        else {
            throw VaultError(
                .corrupt,
                "a \(unmasked.map { "\($0)" } ?? "record")'s nonce or ciphertext has an invalid length",
                recordKind: unmasked
            )
        }
        guard let kind = unmasked else {
            throw VaultError(.tampered, "a record's kind does not authenticate (row altered or moved)")
        }
        let key = keys.recordKey(kind: kind, tag: record.tag)
        let plaintextCount = record.ciphertext.count - cipher.overheadByteCount
        defer { scratch.wipe(prefix: plaintextCount) }
        return try scratch.withUnsafeMutableBytes { (buffer) throws(VaultError) in
            let output = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<plaintextCount])
            let opened = record.ciphertext.withUnsafeBytes { ciphertext in
                record.nonce.withUnsafeBytes { cipher.open(ciphertext, nonce: $0, key: key, into: output) }
            }
            guard opened else {
                // The stored kind is not authenticated by itself: a row relabelled as another kind
                // fails here under the key of the kind it claims. Name the kind whose key opens it
                // (FORMAT.md §7 step 7), not the one written over it.
                for other in RecordKind.allCases where other != kind {
                    let otherKey = keys.recordKey(kind: other, tag: record.tag)
                    let opensAsOther = record.ciphertext.withUnsafeBytes { ciphertext in
                        record.nonce.withUnsafeBytes { cipher.open(ciphertext, nonce: $0, key: otherKey, into: output) }
                    }
                    if opensAsOther {
                        throw VaultError(
                            .tampered,
                            "a \(other) record's stored kind was altered (it claims \(kind))",
                            recordKind: other
                        )
                    }
                }
                throw VaultError(.tampered, "a \(kind) record failed authentication", recordKind: kind)
            }
            var plaintext = UnsafeRawBufferPointer(output)
            if padsPlaintexts {
                guard let unpadded = RecordPadding.unpaddedCount(plaintext) else {
                    throw VaultError(.corrupt, "a \(kind) record's padding is malformed", recordKind: kind)
                }
                plaintext = UnsafeRawBufferPointer(rebasing: plaintext[0..<unpadded])
            }
            return (kind, try RecordCodec.decode(kind: kind, from: plaintext))
        }
    }

    /// Whether a padded plaintext may have `count` bytes: a positive multiple of the block.
    private static func isPaddedLength(_ count: Int) -> Bool {
        count >= RecordPadding.blockByteCount && count % RecordPadding.blockByteCount == 0
    }
}
