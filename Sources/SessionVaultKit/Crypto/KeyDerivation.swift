internal import CSodium

/// Passphrase and recovery-key derivation of key-encryption keys (KEKs), and data-key wrapping.
enum KeyDerivation {
    /// The salt length of every keyslot: `crypto_pwhash_SALTBYTES`, 16.
    static let saltByteCount = Int(crypto_pwhash_SALTBYTES)
    /// The length of data keys, KEKs and recovery keys: 32.
    static let keyByteCount = 32
    /// The length of a wrapped data key: 32 + 16.
    static let wrappedKeyByteCount = 32 + SecretBox.macByteCount

    /// KEK = `crypto_pwhash(32, passphrase, salt, opslimit, memlimit, ARGON2ID13)`.
    /// The caller has validated `parameters` against the bounds.
    static func passphraseKEK(
        _ passphrase: Passphrase,
        salt: [UInt8],
        parameters: KDFParameters
    ) throws(VaultError) -> SecretBytes {
        guard salt.count == saltByteCount else {
            throw VaultError(.corrupt, "a keyslot salt has \(salt.count) bytes, expected \(saltByteCount)")
        }
        let kek = try SecretBytes(count: keyByteCount)
        DerivationCounter.recordDerivation()
        let result = kek.withUnsafeMutableBytes { out in
            passphrase.secret.withUnsafeBytes { password in
                crypto_pwhash(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    UInt64(out.count),
                    password.baseAddress!.assumingMemoryBound(to: CChar.self),
                    UInt64(password.count),
                    salt,
                    parameters.opsLimit,
                    Int(parameters.memLimit),
                    crypto_pwhash_ALG_ARGON2ID13
                )
            }
        }
        guard result == 0 else {
            throw VaultError(.cryptoFailure, "Argon2id failed (out of memory for \(parameters.memLimit) bytes?)")
        }
        return kek
    }

    /// KEK = BLAKE2b-256(key = recovery key, "sessionvault v1 recovery-kek" ‖ salt).
    /// A recovery key is 32 uniformly random bytes, so it needs no stretching.
    static func recoveryKEK(_ recoveryKey: SecretBytes, salt: [UInt8]) throws(VaultError) -> SecretBytes {
        guard salt.count == saltByteCount else {
            throw VaultError(.corrupt, "a keyslot salt has \(salt.count) bytes, expected \(saltByteCount)")
        }
        return try KeySchedule.label("recovery-kek").withBytes { (label) throws(VaultError) in
            try salt.withBytes { (saltBytes) throws(VaultError) in
                try Blake2b.subkey(key: recoveryKey, parts: [label, saltBytes])
            }
        }
    }

    /// Wraps the data key under `kek`: returns the nonce and the 48-byte wrapped key.
    static func wrap(dataKey: SecretBytes, kek: SecretBytes) -> (nonce: [UInt8], wrappedKey: [UInt8]) {
        let sealed = dataKey.withUnsafeBytes { SecretBox.seal($0, key: kek) }
        return (sealed.nonce, sealed.ciphertext)
    }

    /// Unwraps a data key, or returns nil when `kek` is not the right key (or the slot was altered).
    static func unwrap(wrappedKey: [UInt8], nonce: [UInt8], kek: SecretBytes) throws(VaultError) -> SecretBytes? {
        guard wrappedKey.count == wrappedKeyByteCount, nonce.count == SecretBox.nonceByteCount else {
            throw VaultError(.corrupt, "a keyslot has a wrapped key or nonce of the wrong length")
        }
        let dataKey = try SecretBytes(count: keyByteCount)
        let opened = wrappedKey.withUnsafeBytes { wrapped in
            nonce.withUnsafeBytes { nonceBytes in
                dataKey.withUnsafeMutableBytes { SecretBox.open(wrapped, nonce: nonceBytes, key: kek, into: $0) }
            }
        }
        return opened ? dataKey : nil
    }
}
