/// SHA-1, used for Telegram's auth key id (``AuthKey/id``) and, when importing Telegram Desktop
/// `tdata`, for the message-key check and the old MTProto AES key derivation that format defines.
///
/// libsodium has no SHA-1, and Telegram defines the key id as the low 64 bits of SHA-1(key), so
/// the vault computes it itself. The message is read in place (it lives in guarded memory) and the
/// message schedule is wiped before returning. SHA-1 is never used for anything security-relevant here.
enum SHA1 {
    /// Returns the 20-byte SHA-1 digest of `message`.
    static func digest(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        out.withUnsafeMutableBytes { digest(message, into: $0) }
        return out
    }

    /// Writes the 20-byte SHA-1 digest of `message` into the first 20 bytes of `output` (guarded
    /// memory when the digest is key material).
    static func digest(_ message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        var block = [UInt8](repeating: 0, count: 64)
        var w = [UInt32](repeating: 0, count: 80)
        defer {
            for i in block.indices { block[i] = 0 }
            for i in w.indices { w[i] = 0 }
        }
        let length = message.count
        let bitLength = UInt64(length) &* 8
        // Number of 64-byte blocks after padding: message + 0x80 + zeros + 8-byte length.
        let totalBlocks = (length + 9 + 63) / 64
        for blockIndex in 0..<totalBlocks {
            for i in 0..<64 {
                let position = blockIndex * 64 + i
                if position < length {
                    block[i] = message[position]
                } else if position == length {
                    block[i] = 0x80
                } else if position >= totalBlocks * 64 - 8 {
                    let shift = UInt64((totalBlocks * 64 - 1 - position) * 8)
                    block[i] = UInt8(truncatingIfNeeded: bitLength >> shift)
                } else {
                    block[i] = 0
                }
            }
            for t in 0..<16 {
                w[t] =
                    UInt32(block[4 * t]) << 24 | UInt32(block[4 * t + 1]) << 16 | UInt32(block[4 * t + 2]) << 8
                    | UInt32(block[4 * t + 3])
            }
            for t in 16..<80 {
                let x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]
                w[t] = (x << 1) | (x >> 31)
            }
            var (a, b, c, d, e) = h
            for t in 0..<80 {
                let f: UInt32
                let k: UInt32
                switch t {
                case 0..<20:
                    f = (b & c) | (~b & d)
                    k = 0x5A82_7999
                case 20..<40:
                    f = b ^ c ^ d
                    k = 0x6ED9_EBA1
                case 40..<60:
                    f = (b & c) | (b & d) | (c & d)
                    k = 0x8F1B_BCDC
                default:
                    f = b ^ c ^ d
                    k = 0xCA62_C1D6
                }
                let temp = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[t]
                e = d
                d = c
                c = (b << 30) | (b >> 2)
                b = a
                a = temp
            }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }
        for (index, word) in [h.0, h.1, h.2, h.3, h.4].enumerated() {
            output[4 * index] = UInt8(truncatingIfNeeded: word >> 24)
            output[4 * index + 1] = UInt8(truncatingIfNeeded: word >> 16)
            output[4 * index + 2] = UInt8(truncatingIfNeeded: word >> 8)
            output[4 * index + 3] = UInt8(truncatingIfNeeded: word)
        }
        h = (0, 0, 0, 0, 0)
    }
}
