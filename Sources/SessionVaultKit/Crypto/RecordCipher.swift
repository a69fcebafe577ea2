/// The authenticated encryption applied to record plaintexts: `crypto_secretbox_easy` in every vault.
///
/// This seam exists for one purpose: `session-vault bench` measures the cost of sealing by running
/// the same hot path with an identity transform that lives in the benchmark module. Vaults made that
/// way carry a different header magic (``StoredHeader/benchmarkMagic``): they can be created and
/// written, never reopened, and a real vault can never be opened or written with another cipher.
@_spi(Benchmark) public protocol RecordCipher: Sendable {
    /// Bytes the ciphertext adds to the plaintext (16 for secretbox).
    var overheadByteCount: Int { get }
    /// Seals `plaintext` under `key`; returns the nonce and the ciphertext.
    func seal(_ plaintext: UnsafeRawBufferPointer, key: SecretBytes) -> (nonce: [UInt8], ciphertext: [UInt8])
    /// Opens `ciphertext` into `output`; false when authentication fails.
    func open(
        _ ciphertext: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer,
        key: SecretBytes,
        into output: UnsafeMutableRawBufferPointer
    ) -> Bool
}

/// XSalsa20-Poly1305 (`crypto_secretbox_easy`) with a random nonce: the cipher of every real vault.
struct SecretBoxCipher: RecordCipher {
    var overheadByteCount: Int { SecretBox.macByteCount }

    func seal(_ plaintext: UnsafeRawBufferPointer, key: SecretBytes) -> (nonce: [UInt8], ciphertext: [UInt8]) {
        SecretBox.seal(plaintext, key: key)
    }

    func open(
        _ ciphertext: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer,
        key: SecretBytes,
        into output: UnsafeMutableRawBufferPointer
    ) -> Bool {
        SecretBox.open(ciphertext, nonce: nonce, key: key, into: output)
    }
}
