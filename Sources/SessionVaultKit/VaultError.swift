/// The one error type of SessionVault: a stable ``Code`` plus context that never contains a secret.
///
/// Two errors are equal when their codes are equal; the message and context are for people.
/// Nothing secret ever enters an error: not an auth key, not a data key, not passphrase bytes,
/// and not the content of a record (a tampered record is named by its ``RecordKind`` only).
///
/// <!-- example: given runBot: (SessionVault) async throws -> Void -->
/// ```swift
/// do {
///     let passphrase = try PassphraseSource.readPassphrase()
///     let vault = try await SessionVault.open(at: "bot", passphrase: passphrase)
///     try await runBot(vault)   // your code, which may throw other errors
///     try await vault.close()
/// } catch let error as VaultError where error.code == .wrongPassphrase {
///     print("wrong passphrase")
/// }
/// ```
///
/// When everything in the `do` block throws only `VaultError` (SessionVault's functions declare
/// `throws(VaultError)`), `error` already is one and the cast would be flagged as always true:
///
/// ```swift
/// do {
///     let passphrase = try PassphraseSource.readPassphrase()
///     let vault = try await SessionVault.open(at: "bot", passphrase: passphrase)
///     try await vault.close()
/// } catch {
///     switch error.code {
///     case .wrongPassphrase: print("wrong passphrase")
///     case .inUse: print("the vault is in use by pid \(error.holderPID.map { "\($0)" } ?? "unknown")")
///     default: throw error
///     }
/// }
/// ```
public struct VaultError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable, switchable value.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Storage: String, Sendable {
            case wrongPassphrase = "wrong-passphrase"
            case tampered
            case notAVault = "not-a-vault"
            case corrupt
            case unsupportedFormatVersion = "unsupported-format-version"
            case kdfParametersOutOfBounds = "kdf-parameters-out-of-bounds"
            case inUse = "in-use"
            case sqliteUnavailable = "sqlite-unavailable"
            case closed
            case io
            case invalidArgument = "invalid-argument"
            case alreadyExists = "already-exists"
            case notFound = "not-found"
            case cryptoFailure = "crypto-failure"
            case leaseLost = "lease-lost"
        }

        let storage: Storage

        /// The passphrase (or recovery key) opens no keyslot. A keyslot whose salt, nonce or wrapped
        /// key was altered is indistinguishable from a wrong passphrase and also gives this code.
        public static var wrongPassphrase: Self { Self(storage: .wrongPassphrase) }
        /// A sealed record, the header or the record set failed authentication: see ``VaultError/recordKind``.
        public static var tampered: Self { Self(storage: .tampered) }
        /// The file is not a SessionVault vault (empty, not SQLite, or another application's SQLite file).
        public static var notAVault: Self { Self(storage: .notAVault) }
        /// The file is a vault but is truncated or structurally damaged.
        public static var corrupt: Self { Self(storage: .corrupt) }
        /// The vault was written by a format version this build does not read.
        public static var unsupportedFormatVersion: Self { Self(storage: .unsupportedFormatVersion) }
        /// A keyslot asks for Argon2id parameters below the floor or above the cap; refused before deriving.
        public static var kdfParametersOutOfBounds: Self { Self(storage: .kdfParametersOutOfBounds) }
        /// Another opener holds the vault: see ``VaultError/holderPID``. Also thrown by a call whose
        /// task was cancelled before the call started, for instance while it waited for another call
        /// on the same vault (then with no holder pid) or for another opener: nothing was read or
        /// written, and an open vault stays open and usable.
        public static var inUse: Self { Self(storage: .inUse) }
        /// libsqlite3 could not be loaded and the fallback policy is `.fail`.
        public static var sqliteUnavailable: Self { Self(storage: .sqliteUnavailable) }
        /// The vault was closed; no further calls are possible.
        public static var closed: Self { Self(storage: .closed) }
        /// A file-system or SQLite I/O failure: see ``VaultError/sqliteExtendedCode`` and ``VaultError/errno``.
        public static var io: Self { Self(storage: .io) }
        /// A caller-supplied value is not acceptable (an empty passphrase, a bad path, an invalid field).
        public static var invalidArgument: Self { Self(storage: .invalidArgument) }
        /// Creating a vault where a file already exists.
        public static var alreadyExists: Self { Self(storage: .alreadyExists) }
        /// Opening a vault that does not exist.
        public static var notFound: Self { Self(storage: .notFound) }
        /// libsodium failed (initialisation, allocation of guarded memory, or key derivation).
        public static var cryptoFailure: Self { Self(storage: .cryptoFailure) }
        /// The vault's lease (PostgreSQL) was lost: it could not be renewed before its safety margin, or
        /// the database refused a write because its fencing token is no longer current. Another
        /// process may now hold the session: stop using its auth keys (disconnect from Telegram),
        /// close this vault and open it again. Every later call but ``SessionVault/close()`` fails
        /// with this code. See docs/LEASES.md.
        public static var leaseLost: Self { Self(storage: .leaseLost) }

        /// Every code, in a stable order (documentation and exhaustive tests).
        public static var allCases: [Self] {
            [
                .wrongPassphrase, .tampered, .notAVault, .corrupt, .unsupportedFormatVersion,
                .kdfParametersOutOfBounds, .inUse, .sqliteUnavailable, .closed, .io, .invalidArgument,
                .alreadyExists, .notFound, .cryptoFailure, .leaseLost,
            ]
        }

        /// A stable kebab-case name, e.g. `wrong-passphrase`; used in JSON output and fixture manifests.
        public var name: String { storage.rawValue }

        /// Looks a code up by its ``name``.
        public init?(name: String) {
            guard let storage = Storage(rawValue: name) else { return nil }
            self.storage = storage
        }

        init(storage: Storage) { self.storage = storage }

        /// The ``name``.
        public var description: String { name }
    }

    /// What went wrong.
    public let code: Code
    /// A one-line explanation for people. Never contains a secret.
    public let message: String
    /// For ``Code/tampered``: which kind of record failed authentication.
    public let recordKind: RecordKind?
    /// For ``Code/inUse``: the process id that holds the vault, when it could be read.
    public let holderPID: Int32?
    /// For SQLite failures: the extended result code.
    public let sqliteExtendedCode: Int32?
    /// For file-system failures: the `errno` value.
    public let errno: Int32?

    /// Creates an error. Library code uses this; callers normally only inspect errors.
    public init(
        _ code: Code,
        _ message: String,
        recordKind: RecordKind? = nil,
        holderPID: Int32? = nil,
        sqliteExtendedCode: Int32? = nil,
        errno: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.recordKind = recordKind
        self.holderPID = holderPID
        self.sqliteExtendedCode = sqliteExtendedCode
        self.errno = errno
    }

    /// `code: message`, one line.
    public var description: String { "\(code.name): \(message)" }

    /// Only the code matters for equality.
    public static func == (lhs: VaultError, rhs: VaultError) -> Bool { lhs.code == rhs.code }

    /// Hashes the code only, consistent with `==`.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
