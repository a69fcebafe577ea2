internal import CSodium

/// Keyed BLAKE2b (`crypto_generichash`) over several parts, the one hash of the vault's key schedule.
package enum Blake2b {
    /// Writes BLAKE2b-`output.count`(key, parts…) into `output`. `output.count` must be 16…64 and the key 16…64 bytes.
    package static func hash(
        into output: UnsafeMutableRawBufferPointer,
        key: UnsafeRawBufferPointer,
        parts: [UnsafeRawBufferPointer]
    ) {
        // crypto_generichash_state is 64-byte aligned, which Swift imports as opaque: allocate it by hand.
        let stateSize = crypto_generichash_statebytes()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: stateSize, alignment: 64)
        defer {
            sodium_memzero(raw, stateSize)
            raw.deallocate()
        }
        let state = OpaquePointer(raw)
        _ = crypto_generichash_init(
            state,
            key.baseAddress?.assumingMemoryBound(to: UInt8.self),
            key.count,
            output.count
        )
        for part in parts where part.count > 0 {
            _ = crypto_generichash_update(
                state,
                part.baseAddress!.assumingMemoryBound(to: UInt8.self),
                UInt64(part.count)
            )
        }
        _ = crypto_generichash_final(state, output.baseAddress!.assumingMemoryBound(to: UInt8.self), output.count)
    }

    /// A public (non-secret) 32-byte keyed hash, for tags and set elements.
    static func publicHash(key: SecretBytes, parts: [UnsafeRawBufferPointer]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        key.withUnsafeBytes { keyBytes in
            out.withUnsafeMutableBytes { hash(into: $0, key: keyBytes, parts: parts) }
        }
        return out
    }

    /// A secret 32-byte subkey in guarded memory.
    static func subkey(key: SecretBytes, parts: [UnsafeRawBufferPointer]) throws(VaultError) -> SecretBytes {
        let subkey = try SecretBytes(count: 32)
        key.withUnsafeBytes { keyBytes in
            subkey.withUnsafeMutableBytes { hash(into: $0, key: keyBytes, parts: parts) }
        }
        return subkey
    }
}
