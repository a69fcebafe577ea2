public import Logging

extension SessionVault {
    /// How a vault is opened: create or open, KDF profile, fallback policy, durability, locking.
    ///
    /// ```swift
    /// var configuration = SessionVault.Configuration()
    /// configuration.mode = .openExisting
    /// configuration.fallback = .fail
    /// let passphrase = try PassphraseSource.readPassphrase()
    /// let vault = try await SessionVault.open(at: "bot", passphrase: passphrase, configuration: configuration)
    /// ```
    public struct Configuration: Sendable {
        /// Whether the vault file must exist, must not exist, or either.
        public enum Mode: String, Sendable, Hashable {
            /// Create a new vault; fail with ``VaultError/Code/alreadyExists`` when the file exists.
            case create
            /// Open an existing vault; fail with ``VaultError/Code/notFound`` when there is none.
            case openExisting
            /// Open the vault when it exists, create it otherwise.
            case openOrCreate
        }

        /// What happens when libsqlite3 cannot be loaded.
        public enum FallbackPolicy: String, Sendable, Hashable {
            /// For a vault not on disk yet: log one warning and return a memory-only vault
            /// (``StorageKind/memory``); nothing reaches disk. An existing vault file is never hidden:
            /// it gives ``VaultError/Code/sqliteUnavailable`` (and ``Mode/openExisting`` without a
            /// file gives ``VaultError/Code/notFound``).
            case memory
            /// Throw ``VaultError/Code/sqliteUnavailable``.
            case fail
        }

        /// Create, open, or either. Default: ``Mode/openOrCreate``.
        public var mode: Mode = .openOrCreate
        /// Argon2id parameters for a newly created vault's passphrase keyslot. Default: ``KDFParameters/default``.
        public var kdf: KDFParameters = .default
        /// The memory fallback policy. Default: ``FallbackPolicy/memory``.
        public var fallback: FallbackPolicy = .memory
        /// Commit durability. Default: ``SQLiteRecordStore/Durability/full``.
        public var durability: SQLiteRecordStore.Durability = .full
        /// How long to wait for another opener to release the vault before ``VaultError/Code/inUse``. Default: zero.
        public var lockWait: Duration = .zero
        /// Load libsqlite3 from this path instead of the system library (and instead of
        /// `SESSION_VAULT_SQLITE_LIBRARY`).
        public var sqliteLibraryPath: String?
        /// Where warnings go (memory fallback, loose file modes, failed `mlock`). Never receives a secret.
        public var logger: Logger = Logger(label: "SessionVault")
        /// Called once, from a background task, when a backend that holds the vault through a lease
        /// (PostgreSQL, docs/LEASES.md) loses it: the error has code ``VaultError/Code/leaseLost``.
        /// From then on every call but ``SessionVault/close()`` throws that error; the bot must stop
        /// using the session's auth keys (disconnect from Telegram) at once. File vaults never call it.
        public var onLeaseLost: (@Sendable (VaultError) -> Void)?

        /// Accept Argon2id parameters below the floor (down to libsodium's minimum), for fast tests only.
        /// This switch exists only in the opener's configuration; no vault file can turn it on.
        @_spi(Testing) public var allowsInsecureKDFParametersForTesting = false

        /// The format version that creating a vault and rotating its data key write. Always
        /// ``StoredHeader/currentFormatVersion`` except in tests and the fixture generator, which
        /// write version-1 vaults (to test reading and migrating them) by setting 1. No vault file can
        /// change it; a version this build cannot read is refused with ``VaultError/Code/invalidArgument``.
        @_spi(Testing) public var writesFormatVersionForTesting: UInt32 = StoredHeader.currentFormatVersion

        /// The defaults.
        public init() {}
    }
}
