internal import CSodium
import Synchronization

/// A fixed-size buffer of secret bytes in libsodium guarded memory.
///
/// The storage comes from `sodium_malloc`: it sits right before a guard page, behind a canary,
/// is locked into RAM with `mlock` where the limit allows, is excluded from core dumps, and is
/// zeroed by `sodium_free` when the buffer is released. The bytes are reachable only inside
/// ``withUnsafeBytes(_:)``; they are never copied into a `String`, `[UInt8]` or `Data`. Equality is
/// constant-time and `description` is redacted.
///
/// A buffer is filled once, when it is made (``init(copying:)``,
/// ``init(count:initializingWith:)``, ``random(count:)``), and is read-only from then on: no public
/// method changes it. Models such as ``AuthKey`` and ``Passphrase`` copy the bytes they are given
/// into a buffer of their own, so nothing a caller does to its buffer afterwards reaches them.
///
/// A failed `mlock` is not hidden: it is counted in ``SecretBytes/lockFailureCount`` and the vault
/// reports it (a warning in the log and ``SessionVault/isMemoryLocked``).
public final class SecretBytes: @unchecked Sendable {
    // @unchecked Sendable: the pointer is owned by this object alone. Only code of this package
    // mutates the bytes (`package` access: key generation, decryption, scratch buffers), and it
    // does so before the object is shared; after that it is only read. Freed exactly once, in deinit.

    private let pointer: UnsafeMutableRawPointer
    /// The number of secret bytes.
    public let count: Int

    private static let lockFailures = Atomic<Int>(0)

    /// How many guarded allocations in this process could not be locked into RAM (`mlock` failed,
    /// usually because `RLIMIT_MEMLOCK` is exhausted). Such memory can reach swap.
    public static var lockFailureCount: Int { lockFailures.load(ordering: .relaxed) }

    /// Allocates `count` zero-filled secret bytes.
    /// - Throws: ``VaultError/Code/cryptoFailure`` when guarded memory cannot be allocated.
    public init(count: Int) throws(VaultError) {
        try Sodium.ensureInitialized()
        let size = max(count, 1)
        guard let pointer = sodium_malloc(size) else {
            throw VaultError(.cryptoFailure, "could not allocate \(size) bytes of guarded memory")
        }
        // sodium_malloc already tries mlock and silently ignores failure; ask again to learn the result.
        if sodium_mlock(pointer, size) != 0 {
            Self.lockFailures.add(1, ordering: .relaxed)
        }
        sodium_memzero(pointer, size)
        self.pointer = pointer
        self.count = count
    }

    /// Allocates guarded memory and copies `bytes` into it.
    /// - Warning: The caller remains responsible for wiping its own copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) throws(VaultError) {
        try self.init(count: bytes.count)
        if let base = bytes.baseAddress, bytes.count > 0 {
            pointer.copyMemory(from: base, byteCount: bytes.count)
        }
    }

    /// Allocates `count` guarded bytes and lets `body` fill them, once; the buffer is read-only afterwards.
    ///
    /// This is how code outside SessionVault brings its own secret in (a key read from its own store,
    /// a passphrase from its own prompt) without an unguarded copy:
    ///
    /// <!-- example: given myKeyStore: some KeyStore -->
    /// ```swift
    /// let secret = try SecretBytes(count: AuthKey.byteCount) { buffer in
    ///     try myKeyStore.readKey(into: buffer)   // writes exactly buffer.count bytes
    /// }
    /// let key = try AuthKey(secret: secret)
    /// ```
    ///
    /// The buffer passed to `body` is zero-filled and valid only during the call; do not let it escape.
    /// - Throws: ``VaultError/Code/cryptoFailure`` when guarded memory cannot be allocated, or the
    ///   error `body` throws (the partly filled buffer is then zeroed and released).
    public convenience init(
        count: Int,
        initializingWith body: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        try self.init(count: count)
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// Allocates `count` bytes filled from the system's secure random source.
    public static func random(count: Int) throws(VaultError) -> SecretBytes {
        let secret = try SecretBytes(count: count)
        secret.withUnsafeMutableBytes { Sodium.randomBytes(into: $0) }
        return secret
    }

    deinit {
        sodium_munlock(pointer, max(count, 1))
        sodium_free(pointer)  // zeroes the region before releasing it
    }

    /// Calls `body` with read access to the secret bytes.
    /// - Warning: Do not let the pointer escape `body`, and do not copy the bytes into ordinary memory.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Calls `body` with write access to the secret bytes. Package access only: outside this package a
    /// buffer is filled when it is made (``init(count:initializingWith:)``) and never changed after.
    /// - Warning: Only mutate a buffer that has not been shared with other tasks or handed to a model yet.
    package func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// Constant-time comparison (`sodium_memcmp`). Buffers of different lengths are unequal.
    public func isEqual(to other: SecretBytes) -> Bool {
        guard count == other.count else { return false }
        if count == 0 { return true }
        return sodium_memcmp(pointer, other.pointer, count) == 0
    }

    /// Overwrites the bytes with zeros now, before release. Package access only, for scratch buffers:
    /// a buffer held by a model is never wiped before its release.
    package func wipe() {
        sodium_memzero(pointer, max(count, 1))
    }

    /// Zeroes the first `byteCount` bytes (all of them when `byteCount` is larger): for scratch
    /// memory of which a call used only a prefix.
    package func wipe(prefix byteCount: Int) {
        let bytes = min(max(byteCount, 0), count)
        if bytes > 0 { sodium_memzero(pointer, bytes) }
    }
}

extension SecretBytes: CustomStringConvertible, CustomDebugStringConvertible {
    /// Always `<redacted>`: the bytes are never printed.
    public var description: String { "<redacted \(count) bytes>" }
    /// Always `<redacted>`: the bytes are never printed.
    public var debugDescription: String { description }
}
