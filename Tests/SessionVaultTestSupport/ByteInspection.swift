import CSodium
import Foundation

/// True when `needle` occurs in `haystack` (an empty needle never does).
package func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    return Data(haystack).range(of: Data(needle)) != nil
}

/// Lower-case hexadecimal.
package func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// SHA-256 (libsodium `crypto_hash_sha256`), independent of the library's own hashing.
package func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
    _ = crypto_hash_sha256(&digest, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    return digest
}

/// SHA-256 of `bytes`.
package func sha256(_ bytes: [UInt8]) -> [UInt8] {
    bytes.withUnsafeBytes { sha256($0) }
}
