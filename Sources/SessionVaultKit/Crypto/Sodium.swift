internal import CSodium

/// Process-wide libsodium initialisation, done once before any other libsodium call.
enum Sodium {
    /// `sodium_init()` result: 0 (first call) or 1 (already initialised) is success; -1 is failure.
    private static let initialization: Int32 = sodium_init()

    /// Makes sure libsodium is initialised.
    /// - Throws: ``VaultError`` with code ``VaultError/Code/cryptoFailure`` when `sodium_init` fails
    ///   (for example when the system has no usable random source).
    static func ensureInitialized() throws(VaultError) {
        guard initialization >= 0 else {
            throw VaultError(.cryptoFailure, "libsodium could not be initialised (sodium_init failed)")
        }
    }

    /// Fills `buffer` with cryptographically secure random bytes.
    static func randomBytes(into buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        randombytes_buf(base, buffer.count)
    }

    /// Returns `count` random bytes that are not secret (salts, nonces, identifiers).
    static func randomPublicBytes(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { randomBytes(into: $0) }
        return bytes
    }

    /// The libsodium version string, for `--version` and `SECURITY.md` audits.
    static var versionString: String {
        String(cString: sodium_version_string())
    }
}
