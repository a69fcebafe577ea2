/// A passphrase, as exact bytes in guarded memory.
///
/// A passphrase is the UTF-8 bytes it was given as, with nothing normalised or trimmed (files read
/// by ``PassphraseSource`` drop one trailing newline). It is never stored in a `String`
/// by the library and never printed.
///
/// A passphrase is a value: it owns a guarded buffer that nothing changes after it is made. Every
/// initialiser copies the bytes it is given, so wiping the caller's buffer afterwards does not
/// change the passphrase.
public struct Passphrase: Sendable, CustomStringConvertible {
    /// Owned by this passphrase alone and never mutated after `init`.
    package let secret: SecretBytes

    /// Copies guarded bytes into a new guarded buffer that the passphrase owns.
    ///
    /// The passphrase does not keep `secret`: wiping or releasing it afterwards changes nothing.
    /// - Throws: ``VaultError/Code/invalidArgument`` when the passphrase is empty;
    ///   ``VaultError/Code/cryptoFailure`` when guarded memory cannot be allocated.
    public init(secret: SecretBytes) throws(VaultError) {
        try self.init(owning: secret.withUnsafeBytes { (raw) throws(VaultError) in try SecretBytes(copying: raw) })
    }

    /// Takes a buffer that nothing else references (freshly read or copied by the library).
    package init(owning secret: SecretBytes) throws(VaultError) {
        guard secret.count > 0 else {
            throw VaultError(.invalidArgument, "the passphrase is empty")
        }
        self.secret = secret
    }

    /// Copies the passphrase out of `bytes`.
    /// - Warning: The caller remains responsible for wiping its own copy.
    public init(copying bytes: UnsafeRawBufferPointer) throws(VaultError) {
        try self.init(owning: SecretBytes(copying: bytes))
    }

    /// Copies the UTF-8 bytes of `text`.
    /// - Warning: Swift strings cannot be wiped; prefer ``PassphraseSource`` or ``init(copying:)-(UnsafeRawBufferPointer)``
    ///   in production. This initialiser is for tests and for callers whose passphrase already lives in a `String`.
    public init(copying text: String) throws(VaultError) {
        var utf8 = Array(text.utf8)
        defer { _ = utf8.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        try self.init(owning: utf8.withBytes { (raw) throws(VaultError) in try SecretBytes(copying: raw) })
    }

    /// The number of bytes.
    public var byteCount: Int { secret.count }

    /// Always redacted.
    public var description: String { "Passphrase(<redacted>)" }
}
