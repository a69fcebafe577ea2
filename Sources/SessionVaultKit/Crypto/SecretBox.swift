internal import CSodium

/// `crypto_secretbox_easy` (XSalsa20-Poly1305) with a fresh random 24-byte nonce per message.
enum SecretBox {
    /// 24 bytes.
    static let nonceByteCount = Int(crypto_secretbox_NONCEBYTES)
    /// 16 bytes, prepended to the ciphertext.
    static let macByteCount = Int(crypto_secretbox_MACBYTES)
    /// 32 bytes.
    static let keyByteCount = Int(crypto_secretbox_KEYBYTES)

    /// Seals `plaintext` under `key` with a new random nonce. Returns the nonce and `MAC ‖ ciphertext`.
    static func seal(_ plaintext: UnsafeRawBufferPointer, key: SecretBytes) -> (nonce: [UInt8], ciphertext: [UInt8]) {
        let nonce = Sodium.randomPublicBytes(count: nonceByteCount)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + macByteCount)
        let empty: UInt8 = 0
        withUnsafePointer(to: empty) { emptyPointer in
        key.withUnsafeBytes { keyBytes in
            ciphertext.withUnsafeMutableBytes { out in
                _ = crypto_secretbox_easy(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer,
                    UInt64(plaintext.count),
                    nonce,
                    keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                )
            }
        }
        }
        return (nonce, ciphertext)
    }

    /// Opens `MAC ‖ ciphertext` into `output` (which must hold `ciphertext.count - 16` bytes).
    /// Returns false, leaving `output` zeroed, when the nonce length is wrong or authentication fails.
    static func open(
        _ ciphertext: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer,
        key: SecretBytes,
        into output: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard nonce.count == nonceByteCount, ciphertext.count >= macByteCount,
            output.count >= ciphertext.count - macByteCount
        else { return false }
        let result = key.withUnsafeBytes { keyBytes in
            crypto_secretbox_open_easy(
                output.baseAddress!.assumingMemoryBound(to: UInt8.self),
                ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self),
                UInt64(ciphertext.count),
                nonce.baseAddress!.assumingMemoryBound(to: UInt8.self),
                keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            )
        }
        if result != 0 {
            sodium_memzero(output.baseAddress, output.count)
            return false
        }
        return true
    }
}
