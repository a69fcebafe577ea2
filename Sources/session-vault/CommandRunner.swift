import ArgumentParser
import Logging
import SessionVaultKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a subcommand body and turns a ``VaultError`` into a one-line message on stderr and the
/// documented exit code. Nothing secret is ever in the message.
enum CommandRunner {
    static func run(_ body: () async throws -> Void) async throws {
        ProcessHardening.disableCoreDumps()
        ProcessHardening.ignoreFileSizeLimitSignal()
        _ = loggingToStandardError
        do {
            try refuseArgumentsThatAreNotUTF8()
            try await body()
        } catch let error as VaultError {
            FileHandleStderr.write("session-vault: \(error.message)\n")
            throw ExitCode(ExitStatus.code(for: error.code))
        } catch let exit as ExitCode {
            throw exit
        } catch {
            // Not a vault error (for example JSON encoding): "other I/O", never exit status 1.
            FileHandleStderr.write("session-vault: \(error)\n")
            throw ExitCode(ExitStatus.io)
        }
    }

    /// Swift decodes each argument as UTF-8, replacing invalid bytes with U+FFFD: a path with such
    /// bytes would silently name another file (`export --output` would write the plaintext there).
    /// The command takes only UTF-8 arguments, and says which one is not.
    static func refuseArgumentsThatAreNotUTF8() throws(VaultError) {
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index], String(validatingCString: argument) == nil else { continue }
            throw VaultError(
                .invalidArgument,
                "argument \(index) is not valid UTF-8; session-vault takes only UTF-8 paths and arguments (rename the file)"
            )
        }
    }

    /// Library warnings go to standard error, one line each; standard output is for data only.
    private static let loggingToStandardError: Void = LoggingSystem.bootstrap(StderrLogHandler.init)
}

/// Documented exit codes (see `session-vault --help` and README).
enum ExitStatus {
    static let ok: Int32 = 0
    static let usage: Int32 = 64
    static let wrongPassphrase: Int32 = 65
    static let tampered: Int32 = 66
    static let inUse: Int32 = 67
    static let kdfOutOfBounds: Int32 = 68
    static let sqliteUnavailable: Int32 = 69
    static let io: Int32 = 74
    static let leaseLost: Int32 = 75
    static let auditFindings: Int32 = 70

    static func code(for code: VaultError.Code) -> Int32 {
        switch code {
        case .wrongPassphrase: wrongPassphrase
        case .tampered, .corrupt, .notAVault, .unsupportedFormatVersion: tampered
        case .inUse: inUse
        case .kdfParametersOutOfBounds: kdfOutOfBounds
        case .sqliteUnavailable: sqliteUnavailable
        case .invalidArgument, .alreadyExists, .notFound: usage
        case .leaseLost: leaseLost
        default: io
        }
    }
}

/// Unbuffered writes to standard error.
enum FileHandleStderr {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
