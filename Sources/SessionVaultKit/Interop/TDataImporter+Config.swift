#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The account's MTP config file (`<account folder>/configs`): only the environment is read, to
/// tell a production account from a test-server one (docs/SESSION-FORMATS.md, "configs").
extension TDataImporter {
    /// `MTP::Config`'s serialization version (`kVersion` in mtproto_config.cpp) read here.
    static let configVersion: UInt32 = 1

    /// The environment an account's `configs` file names.
    enum ConfigEnvironment: Equatable {
        /// `Environment::Production` (0).
        case production
        /// `Environment::Test` (1).
        case test
        /// No `configs` file: Telegram Desktop then starts from its built-in production config.
        case absent
    }

    /// Reads `folder/<account file name>/configs` (or `config1`, `config0`) with the local key.
    /// - Throws: ``VaultError/Code/corrupt`` when the file does not decrypt or is truncated;
    ///   ``VaultError/Code/invalidArgument`` for a config version or environment this build does not know.
    static func configEnvironment(folder: String, index: Int, localKey: SecretBytes) throws(VaultError) -> ConfigEnvironment {
        guard let (path, _, block) = try readEncryptedFile("\(folder)/\(fileName(forAccount: index))/config", localKey: localKey) else {
            return .absent
        }
        defer { block.wipe() }
        let (version, environment) = try block.withUnsafeBytes { (raw) throws(VaultError) -> (UInt32, UInt32) in
            var stream = QDataReader(raw, what: path)
            guard let range = try stream.byteArrayRange() else { throw VaultError(.corrupt, "\(path) holds a null config") }
            var config = QDataReader(UnsafeRawBufferPointer(rebasing: raw[range]), what: "\(path)'s config")
            return (try config.uint32(), try config.uint32())
        }
        guard version == configVersion else {
            throw VaultError(
                .invalidArgument,
                "\(path) is an MTP config of version \(Int32(bitPattern: version)), not \(configVersion): a newer Telegram Desktop layout?"
            )
        }
        switch environment {
        case 0: return .production
        case 1: return .test
        default: throw VaultError(.invalidArgument, "\(path) names the environment \(Int32(bitPattern: environment)), neither production (0) nor test (1)")
        }
    }
}
