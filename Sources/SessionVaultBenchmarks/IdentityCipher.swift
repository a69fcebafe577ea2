@_spi(Benchmark) import SessionVaultKit
internal import CSodium

func randomBytes(_ buffer: UnsafeMutableRawBufferPointer) {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    randombytes_buf(base, buffer.count)
}

/// The benchmark baseline: "sealing" that copies the plaintext unchanged (after drawing a nonce, so
/// that the row layout and the random-number cost match the real path).
///
/// It exists only in this module and is usable only through
/// `SessionVault.createBenchmarkOnlyVault`, whose vaults carry a magic no opener accepts. It lets the
/// benchmark run the same hot path with and without encryption and report the ratio.
struct IdentityCipher: RecordCipher {
    var overheadByteCount: Int { 0 }

    func seal(_ plaintext: UnsafeRawBufferPointer, key: SecretBytes) -> (nonce: [UInt8], ciphertext: [UInt8]) {
        var nonce = [UInt8](repeating: 0, count: 24)
        nonce.withUnsafeMutableBytes { randomBytes($0) }
        return (nonce, Array(plaintext))
    }

    func open(
        _ ciphertext: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer,
        key: SecretBytes,
        into output: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard output.count >= ciphertext.count else { return false }
        if ciphertext.count > 0 { output.copyMemory(from: ciphertext) }
        return true
    }
}
