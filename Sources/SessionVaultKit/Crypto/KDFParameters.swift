internal import CSodium

/// Argon2id parameters of a passphrase keyslot, with the bounds every keyslot is checked against
/// *before* any key derivation runs.
///
/// A vault file is untrusted input: a hostile file could ask the opener to run Argon2id for minutes
/// or with gigabytes of memory, or could downgrade a keyslot to trivially cheap parameters. Both are
/// refused with ``VaultError/Code/kdfParametersOutOfBounds`` before deriving anything.
public struct KDFParameters: Hashable, Sendable, CustomStringConvertible {
    /// The key-derivation algorithm. Only Argon2id v1.3 exists in format version 1.
    public enum Algorithm: UInt8, Hashable, Sendable {
        /// Argon2id version 1.3 (`crypto_pwhash_ALG_ARGON2ID13`), parallelism 1 as libsodium fixes it.
        case argon2id13 = 2

        /// The stable name used in JSON output: `argon2id13`.
        public var name: String { "argon2id13" }
    }

    /// The algorithm.
    public var algorithm: Algorithm
    /// Argon2id passes (libsodium `opslimit`).
    public var opsLimit: UInt64
    /// Argon2id memory in bytes (libsodium `memlimit`).
    public var memLimit: UInt64

    /// Creates parameters. They are checked against the bounds when used, not here.
    public init(algorithm: Algorithm = .argon2id13, opsLimit: UInt64, memLimit: UInt64) {
        self.algorithm = algorithm
        self.opsLimit = opsLimit
        self.memLimit = memLimit
    }

    /// libsodium's interactive profile: 2 passes, 64 MiB.
    public static let interactive = KDFParameters(opsLimit: 2, memLimit: 64 << 20)
    /// libsodium's moderate profile: 3 passes, 256 MiB.
    public static let moderate = KDFParameters(opsLimit: 3, memLimit: 256 << 20)
    /// libsodium's sensitive profile: 4 passes, 1 GiB.
    public static let sensitive = KDFParameters(opsLimit: 4, memLimit: 1 << 30)
    /// The default for new vaults: 3 passes, 64 MiB.
    public static let `default` = KDFParameters(opsLimit: 3, memLimit: 64 << 20)

    /// The named profiles, for command-line options.
    public static func profile(named name: String) -> KDFParameters? {
        switch name {
        case "interactive": .interactive
        case "moderate": .moderate
        case "sensitive": .sensitive
        case "default": .default
        default: nil
        }
    }

    /// The floor: fewer passes than this are refused (OWASP's Argon2id minimum, t=2).
    public static let minimumOpsLimit: UInt64 = 2
    /// The floor: less memory than this is refused (OWASP's Argon2id minimum, 19 MiB).
    public static let minimumMemLimit: UInt64 = 19 << 20
    /// The cap: more passes than this are refused.
    public static let maximumOpsLimit: UInt64 = 10
    /// The cap: more memory than this is refused (1 GiB, libsodium's sensitive profile).
    public static let maximumMemLimit: UInt64 = 1 << 30
    /// The most Argon2id work one open may cost, in passes × bytes, summed over every passphrase
    /// keyslot a passphrase would be tried on: one keyslot at the cap (10 passes of 1 GiB).
    /// FORMAT.md §4.1 "Total".
    public static let maximumTotalWork: UInt64 = maximumOpsLimit * maximumMemLimit

    /// Parameters below the floor, accepted only when a configuration explicitly allows test parameters.
    /// No vault file can enable that: the switch lives in the opener's configuration.
    public static let insecureForTestingOnly = KDFParameters(opsLimit: 1, memLimit: 8192)

    /// Whether these parameters lie within the floor and the cap.
    public var isWithinBounds: Bool {
        (Self.minimumOpsLimit...Self.maximumOpsLimit).contains(opsLimit)
            && (Self.minimumMemLimit...Self.maximumMemLimit).contains(memLimit)
    }

    /// Whether these parameters meet or exceed the current recommendation (``default``).
    public var meetsRecommendation: Bool {
        opsLimit >= Self.default.opsLimit && memLimit >= Self.default.memLimit
    }

    /// Checks the bounds. With `allowingTestParameters`, only libsodium's own minimums and the cap apply.
    func validate(allowingTestParameters: Bool) throws(VaultError) {
        if isWithinBounds { return }
        let libsodiumMinimum =
            opsLimit >= UInt64(crypto_pwhash_argon2id_opslimit_min())
            && memLimit >= UInt64(crypto_pwhash_argon2id_memlimit_min())
        if allowingTestParameters && libsodiumMinimum && opsLimit <= Self.maximumOpsLimit
            && memLimit <= Self.maximumMemLimit
        {
            return
        }
        throw VaultError(
            .kdfParametersOutOfBounds,
            "Argon2id parameters opslimit \(opsLimit), memlimit \(memLimit) bytes are outside the accepted range "
                + "(opslimit \(Self.minimumOpsLimit)–\(Self.maximumOpsLimit), memlimit "
                + "\(Self.minimumMemLimit)–\(Self.maximumMemLimit) bytes)"
        )
    }

    /// `argon2id13 opslimit=3 memlimit=64MiB`.
    public var description: String {
        let mib = memLimit >= 1 << 20 && memLimit % (1 << 20) == 0 ? "\(memLimit >> 20)MiB" : "\(memLimit)B"
        return "\(algorithm.name) opslimit=\(opsLimit) memlimit=\(mib)"
    }
}
