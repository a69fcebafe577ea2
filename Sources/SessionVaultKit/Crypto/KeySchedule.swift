/// The per-vault keys derived from the data key (DEK), and the tag, mask and record-key derivations.
///
/// Every derivation is keyed BLAKE2b (`crypto_generichash`) with a domain-separating label; the
/// exact byte strings are in `docs/FORMAT.md` §4. All derived keys live in guarded memory.
final class KeySchedule {
    let vaultID: [UInt8]
    let formatVersion: UInt32
    let dataKey: SecretBytes
    private let tagKey: SecretBytes
    private let maskKey: SecretBytes
    private let headerKey: SecretBytes
    private let setKey: SecretBytes
    /// Reused for every record key, so a load of 10,000 records does not allocate 10,000 guarded pages.
    private let recordKeyScratch: SecretBytes

    /// `sessionvault/v1/<name>` followed by one zero byte.
    static func label(_ name: String) -> [UInt8] {
        Array("sessionvault/v1/\(name)".utf8) + [0]
    }

    init(dataKey: SecretBytes, vaultID: [UInt8], formatVersion: UInt32 = StoredHeader.currentFormatVersion) throws(VaultError) {
        self.dataKey = dataKey
        self.vaultID = vaultID
        self.formatVersion = formatVersion
        func derive(_ name: String) throws(VaultError) -> SecretBytes {
            try Self.label(name).withBytes { (label) throws(VaultError) in
                try vaultID.withBytes { (id) throws(VaultError) in
                    try Blake2b.subkey(key: dataKey, parts: [label, id])
                }
            }
        }
        tagKey = try derive("tag-key")
        maskKey = try derive("kind-mask-key")
        headerKey = try derive("header-key")
        setKey = try derive("set-key")
        recordKeyScratch = try SecretBytes(count: 32)
    }

    /// tag = BLAKE2b-256(K_tag, u8 kind ‖ identity).
    func tag(kind: RecordKind, identity: [UInt8]) -> [UInt8] {
        [kind.rawValue].withUnsafeBytes { kindByte in
            identity.withUnsafeBytes { Blake2b.publicHash(key: tagKey, parts: [kindByte, $0]) }
        }
    }

    /// mask = first byte of BLAKE2b-128(K_mask, tag).
    func mask(tag: [UInt8]) -> UInt8 {
        var out = [UInt8](repeating: 0, count: 16)
        maskKey.withUnsafeBytes { key in
            tag.withUnsafeBytes { tagBytes in
                out.withUnsafeMutableBytes { Blake2b.hash(into: $0, key: key, parts: [tagBytes]) }
            }
        }
        return out[0]
    }

    /// element = BLAKE2b-256(K_set, tag): what a record contributes to the manifest's set sum.
    func setElement(tag: [UInt8]) -> [UInt8] {
        tag.withUnsafeBytes { Blake2b.publicHash(key: setKey, parts: [$0]) }
    }

    /// header_mac = BLAKE2b-256(K_header, canonical header bytes).
    func headerMAC(header: StoredHeader, keyslots: [StoredKeyslot]) -> [UInt8] {
        let bytes = Self.canonicalHeaderBytes(header: header, keyslots: keyslots)
        return bytes.withUnsafeBytes { Blake2b.publicHash(key: headerKey, parts: [$0]) }
    }

    /// K_record = BLAKE2b-256(DEK, label ‖ vault_id ‖ u8 kind ‖ tag ‖ u32le format_version), into the scratch key.
    /// The returned buffer is overwritten by the next call.
    func recordKey(kind: RecordKind, tag: [UInt8]) -> SecretBytes {
        // Hashed as five parts, which is the same BLAKE2b input as their concatenation: no
        // intermediate array per record (this runs on every save and every load of a record).
        var kindByte = kind.rawValue
        var version = formatVersion.littleEndian
        dataKey.withUnsafeBytes { key in
            Self.recordKeyLabel.withUnsafeBytes { labelBytes in
                vaultID.withUnsafeBytes { idBytes in
                    tag.withUnsafeBytes { tagBytes in
                        withUnsafeBytes(of: &kindByte) { kindBytes in
                            withUnsafeBytes(of: &version) { versionBytes in
                                recordKeyScratch.withUnsafeMutableBytes {
                                    Blake2b.hash(into: $0, key: key, parts: [labelBytes, idBytes, kindBytes, tagBytes, versionBytes])
                                }
                            }
                        }
                    }
                }
            }
        }
        return recordKeyScratch
    }

    /// The label of ``recordKey(kind:tag:)``, built once.
    private static let recordKeyLabel = label("record-key")

    /// magic ‖ u32le version ‖ vault_id ‖ u32le slot count ‖ per slot (ascending):
    /// u8 slot ‖ u8 kind ‖ u8 kdf ‖ u64le ops ‖ u64le mem ‖ (u32le length ‖ bytes) for salt, nonce, wrapped key.
    static func canonicalHeaderBytes(header: StoredHeader, keyslots: [StoredKeyslot]) -> [UInt8] {
        var bytes = header.magic
        bytes += ByteWriter.littleEndian(header.formatVersion)
        bytes += header.vaultID
        bytes += ByteWriter.littleEndian(UInt32(keyslots.count))
        for slot in keyslots.sorted(by: { $0.slot < $1.slot }) {
            bytes += [slot.slot, slot.kindCode, slot.kdfAlgorithmCode]
            bytes += ByteWriter.littleEndian(slot.opsLimit)
            bytes += ByteWriter.littleEndian(slot.memLimit)
            for field in [slot.salt, slot.nonce, slot.wrappedKey] {
                bytes += ByteWriter.littleEndian(UInt32(field.count))
                bytes += field
            }
        }
        return bytes
    }
}
