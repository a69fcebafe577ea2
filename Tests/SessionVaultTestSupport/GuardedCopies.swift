@_spi(Testing) @testable package import SessionVaultKit

/// A guarded copy of test bytes.
package func secret(_ bytes: [UInt8]) throws -> SecretBytes {
    try bytes.withUnsafeBytes { try SecretBytes(copying: $0) }
}

/// A guarded copy of some test text (for `SessionImporter.Source.text`, recovery keys, …).
package func secretText(_ text: String) throws -> SecretBytes {
    try secret(Array(text.utf8))
}
