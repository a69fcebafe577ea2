import ArgumentParser
import SessionVaultKit

/// The `--kdf` option: a named Argon2id profile.
enum KDFProfile: String, CaseIterable, ExpressibleByArgument {
    /// 3 passes, 64 MiB: the recommendation `verify` checks against.
    case `default`
    /// 2 passes, 64 MiB: faster unlocks; `verify` warns that it is below the recommendation.
    case interactive
    /// 3 passes, 256 MiB.
    case moderate
    /// 4 passes, 1 GiB.
    case sensitive

    /// The parameters of this profile.
    var parameters: KDFParameters {
        switch self {
        case .default: .default
        case .interactive: .interactive
        case .moderate: .moderate
        case .sensitive: .sensitive
        }
    }

    static let help = ArgumentHelp(
        "Argon2id profile: default (3 passes, 64 MiB), interactive (2, 64 MiB), moderate (3, 256 MiB), sensitive (4, 1 GiB).",
        valueName: "profile"
    )
}
