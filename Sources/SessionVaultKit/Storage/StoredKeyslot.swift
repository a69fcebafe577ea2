/// One keyslot: the data key wrapped under a key-encryption key derived from a passphrase or a
/// recovery key. A vault has one or more; any one of them opens it.
public struct StoredKeyslot: Hashable, Sendable {
    /// What unlocks a keyslot.
    public enum Kind: UInt8, Hashable, Sendable, CustomStringConvertible {
        /// A passphrase through Argon2id.
        case passphrase = 1
        /// A random 32-byte recovery key through keyed BLAKE2b.
        case recoveryKey = 2

        /// `passphrase` or `recovery-key`.
        public var description: String {
            switch self {
            case .passphrase: "passphrase"
            case .recoveryKey: "recovery-key"
            }
        }
    }

    /// The KDF algorithm code of recovery-key slots (keyed BLAKE2b, no parameters).
    public static let blake2bAlgorithmCode: UInt8 = 0

    /// The slot number, 0–7.
    public var slot: UInt8
    /// The raw kind code as stored (see ``Kind``).
    public var kindCode: UInt8
    /// The raw KDF algorithm code as stored: 2 = Argon2id13, 0 = keyed BLAKE2b.
    public var kdfAlgorithmCode: UInt8
    /// Argon2id opslimit (0 for recovery-key slots).
    public var opsLimit: UInt64
    /// Argon2id memlimit in bytes (0 for recovery-key slots).
    public var memLimit: UInt64
    /// 16 random bytes.
    public var salt: [UInt8]
    /// 24 random bytes.
    public var nonce: [UInt8]
    /// The 32-byte data key sealed with `crypto_secretbox_easy` under the KEK: 48 bytes.
    public var wrappedKey: [UInt8]

    /// Creates a keyslot.
    public init(
        slot: UInt8,
        kindCode: UInt8,
        kdfAlgorithmCode: UInt8,
        opsLimit: UInt64,
        memLimit: UInt64,
        salt: [UInt8],
        nonce: [UInt8],
        wrappedKey: [UInt8]
    ) {
        self.slot = slot
        self.kindCode = kindCode
        self.kdfAlgorithmCode = kdfAlgorithmCode
        self.opsLimit = opsLimit
        self.memLimit = memLimit
        self.salt = salt
        self.nonce = nonce
        self.wrappedKey = wrappedKey
    }

    /// The kind, when the code is known.
    public var kind: Kind? { Kind(rawValue: kindCode) }

    /// The KDF parameters of a passphrase slot.
    public var kdfParameters: KDFParameters? {
        guard let algorithm = KDFParameters.Algorithm(rawValue: kdfAlgorithmCode) else { return nil }
        return KDFParameters(algorithm: algorithm, opsLimit: opsLimit, memLimit: memLimit)
    }
}
