import CSodium
import CTDataCrypto

/// The local encryption of Telegram Desktop's `tdata` (`storage_file_utilities.cpp`,
/// `mtproto/mtproto_auth_key.cpp` of telegramdesktop/tdesktop), decryption side only, every key
/// and every decrypted byte in guarded memory:
///
/// - `CreateLocalKey(passcode, salt)`: PBKDF2-HMAC-SHA512 (built on libsodium's HMAC-SHA-512) of
///   SHA-512(salt ‖ passcode ‖ salt) with `salt`, 1 iteration without a passcode, 100 000 with one,
///   256 bytes out.
/// - `DecryptLocal(encrypted, key)`: the first 16 bytes are the message key; AES-256-IGE key and IV
///   come from the "old" MTProto KDF (`prepareAES_oldmtp`, x = 8: four SHA-1s over the message key and
///   slices of the 256-byte key); the plaintext's SHA-1 must begin with the message key (otherwise
///   the key, that is the passcode, is wrong); its first 4 bytes (little-endian) are the length.
enum TDataLocalCrypto {
    /// The salt size of `key_datas` (`LocalEncryptSaltSize`).
    static let saltSize = 32
    /// The size of local keys.
    static let keySize = 256

    /// PBKDF2-HMAC-SHA512 (RFC 8018 §5.2) into `output` (a multiple of 64 bytes).
    static func pbkdf2SHA512(
        password: UnsafeRawBufferPointer,
        salt: UnsafeRawBufferPointer,
        iterations: Int,
        into output: UnsafeMutableRawBufferPointer
    ) throws(VaultError) {
        let stateSize = crypto_auth_hmacsha512_statebytes()
        let base = try SecretBytes(count: stateSize)
        let work = try SecretBytes(count: stateSize)
        let block = try SecretBytes(count: 64)
        let sum = try SecretBytes(count: 64)
        defer {
            base.wipe()
            work.wipe()
            block.wipe()
            sum.wipe()
        }
        base.withUnsafeMutableBytes { raw in
            let state = raw.baseAddress!.assumingMemoryBound(to: crypto_auth_hmacsha512_state.self)
            _ = crypto_auth_hmacsha512_init(state, password.baseAddress!.assumingMemoryBound(to: UInt8.self), password.count)
        }
        func mac(_ message: UnsafeRawBufferPointer, counter: UnsafeRawBufferPointer?, into out: UnsafeMutableRawBufferPointer) {
            work.withUnsafeMutableBytes { raw in
                base.withUnsafeBytes { raw.copyMemory(from: $0) }
                let state = raw.baseAddress!.assumingMemoryBound(to: crypto_auth_hmacsha512_state.self)
                _ = crypto_auth_hmacsha512_update(state, message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count))
                if let counter {
                    _ = crypto_auth_hmacsha512_update(state, counter.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(counter.count))
                }
                _ = crypto_auth_hmacsha512_final(state, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        for blockIndex in 0..<(output.count / 64) {
            let counter = UInt32(blockIndex + 1).bigEndian
            block.withUnsafeMutableBytes { u in
                sum.withUnsafeMutableBytes { t in
                    withUnsafeBytes(of: counter) { mac(salt, counter: $0, into: u) }
                    t.copyMemory(from: UnsafeRawBufferPointer(u))
                    var remaining = iterations - 1
                    while remaining > 0 {
                        mac(UnsafeRawBufferPointer(u), counter: nil, into: u)
                        for offset in stride(from: 0, to: 64, by: 8) {  // T ^= U, a word at a time
                            let word = t.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                                ^ u.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                            t.storeBytes(of: word, toByteOffset: offset, as: UInt64.self)
                        }
                        remaining -= 1
                    }
                    UnsafeMutableRawBufferPointer(rebasing: output[(64 * blockIndex)..<(64 * blockIndex + 64)])
                        .copyMemory(from: UnsafeRawBufferPointer(t))
                }
            }
        }
    }

    /// `CreateLocalKey`: the 256-byte key that wraps the local key, from the passcode (empty: none).
    static func createLocalKey(passcode: UnsafeRawBufferPointer, salt: UnsafeRawBufferPointer) throws(VaultError) -> SecretBytes {
        let hashInput = try SecretBytes(count: salt.count * 2 + passcode.count)
        let hash = try SecretBytes(count: 64)
        defer {
            hashInput.wipe()
            hash.wipe()
        }
        hashInput.withUnsafeMutableBytes { raw in
            UnsafeMutableRawBufferPointer(rebasing: raw[0..<salt.count]).copyMemory(from: salt)
            if passcode.count > 0 {
                UnsafeMutableRawBufferPointer(rebasing: raw[salt.count..<(salt.count + passcode.count)]).copyMemory(from: passcode)
            }
            UnsafeMutableRawBufferPointer(rebasing: raw[(salt.count + passcode.count)...]).copyMemory(from: salt)
        }
        hash.withUnsafeMutableBytes { out in
            hashInput.withUnsafeBytes { input in
                _ = crypto_hash_sha512(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), input.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    UInt64(input.count))
            }
        }
        let key = try SecretBytes(count: keySize)
        try key.withUnsafeMutableBytes { (out) throws(VaultError) in
            try hash.withUnsafeBytes { (password) throws(VaultError) in
                try pbkdf2SHA512(password: password, salt: salt, iterations: passcode.count == 0 ? 1 : 100_000, into: out)
            }
        }
        return key
    }

    /// `prepareAES_oldmtp(key, msgKey, send: false)`: AES key (32 bytes) then IV (32 bytes) into `output`.
    static func oldMTProtoKeyAndIV(key: UnsafeRawBufferPointer, messageKey: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(VaultError) {
        let x = 8
        let scratch = try SecretBytes(count: 64 + 4 * 20)
        defer { scratch.wipe() }
        scratch.withUnsafeMutableBytes { raw in
            let input = UnsafeMutableRawBufferPointer(rebasing: raw[0..<64])
            let digests = UnsafeMutableRawBufferPointer(rebasing: raw[64...])
            func sha(_ parts: [UnsafeRawBufferPointer], _ slot: Int) {
                var offset = 0
                for part in parts {
                    UnsafeMutableRawBufferPointer(rebasing: input[offset..<(offset + part.count)]).copyMemory(from: part)
                    offset += part.count
                }
                SHA1.digest(
                    UnsafeRawBufferPointer(rebasing: input[0..<offset]),
                    into: UnsafeMutableRawBufferPointer(rebasing: digests[(20 * slot)..<(20 * slot + 20)]))
            }
            func slice(_ start: Int, _ count: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: key[start..<(start + count)]) }
            sha([messageKey, slice(x, 32)], 0)
            sha([slice(32 + x, 16), messageKey, slice(48 + x, 16)], 1)
            sha([slice(64 + x, 32), messageKey], 2)
            sha([messageKey, slice(96 + x, 32)], 3)
            let a = 0, b = 20, c = 40, d = 60
            let pieces: [(Int, Int)] = [
                (a + 0, 8), (b + 8, 12), (c + 4, 12),  // key
                (a + 8, 12), (b + 0, 8), (c + 16, 4), (d + 0, 8),  // IV
            ]
            var offset = 0
            for (start, count) in pieces {
                UnsafeMutableRawBufferPointer(rebasing: output[offset..<(offset + count)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: digests[start..<(start + count)]))
                offset += count
            }
        }
    }

    /// `DecryptLocal`: the payload of `encrypted` under `key`, or nil when the message-key check
    /// fails (a wrong key). Throws for a malformed length.
    static func decryptLocal(_ encrypted: UnsafeRawBufferPointer, key: SecretBytes, what: String) throws(VaultError) -> SecretBytes? {
        guard encrypted.count >= 32, encrypted.count % 16 == 0 else {
            throw VaultError(.corrupt, "\(what) holds \(encrypted.count) encrypted bytes, not a multiple of 16 of at least 32")
        }
        let messageKey = UnsafeRawBufferPointer(rebasing: encrypted[0..<16])
        let keyAndIV = try SecretBytes(count: 64)
        defer { keyAndIV.wipe() }
        try keyAndIV.withUnsafeMutableBytes { (out) throws(VaultError) in
            try key.withUnsafeBytes { (keyBytes) throws(VaultError) in try oldMTProtoKeyAndIV(key: keyBytes, messageKey: messageKey, into: out) }
        }
        let plain = try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: encrypted[16...]))
        let check = try SecretBytes(count: 20)
        defer { check.wipe() }
        plain.withUnsafeMutableBytes { data in
            keyAndIV.withUnsafeBytes { material in
                _ = sv_aes256_ige_decrypt(
                    material.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    material.baseAddress!.advanced(by: 32).assumingMemoryBound(to: UInt8.self),
                    data.baseAddress!.assumingMemoryBound(to: UInt8.self), data.count)
            }
            check.withUnsafeMutableBytes { SHA1.digest(UnsafeRawBufferPointer(data), into: $0) }
        }
        let matches = check.withUnsafeBytes { digest in sodium_memcmp(digest.baseAddress, messageKey.baseAddress, 16) == 0 }
        guard matches else {
            plain.wipe()
            return nil
        }
        return try plain.withUnsafeBytes { (data) throws(VaultError) -> SecretBytes in
            let length = Int(data[0]) | Int(data[1]) << 8 | Int(data[2]) << 16 | Int(data[3]) << 24
            guard length >= 4, length <= data.count, length > data.count - 16 else {
                throw VaultError(.corrupt, "\(what) decrypts to a length field of \(length) for \(data.count) bytes")
            }
            defer { plain.wipe() }
            return try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: data[4..<length]))
        }
    }
}
