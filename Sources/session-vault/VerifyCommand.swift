import ArgumentParser
import SessionVaultKit
import SessionVaultOperations

/// `session-vault verify PATH`: the audit.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Audit a vault: authentication, SQLite integrity, KDF strength, file modes, git, plaintext on disk.",
        discussion: """
            Opens the vault (which authenticates the header, every record and the record set) and reports \
            one finding per check, each with a severity (info, warning, error) and a stable code; see the \
            README for the list. Exits 70 when any finding is an error; a vault that cannot be opened at all \
            exits with the code of that failure (65 wrong passphrase, 66 tampered, 67 in use, …).
            """
    )

    @Argument(help: "The vault file.")
    var path: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        try await CommandRunner.run {
            let path = try VaultAccess.resolve(path, mustExist: true)
            let (vault, passphrase) = try await VaultAccess.openExisting(path)
            let audit = try await VaultAccess.closing(vault) {
                try await TerminalProgress.step("auditing \(path)") { () async throws(VaultError) in
                    try await VaultAudit.run(on: vault, passphrase: passphrase)
                }
            }
            try await vault.close()
            if json {
                try JSONOutput.print(audit)
            } else {
                let width = audit.findings.map(\.code.rawValue.count).max() ?? 0
                for finding in audit.findings {
                    let severity = finding.severity.rawValue
                    let code = finding.code.rawValue
                    try StandardStream.print(
                        severity + String(repeating: " ", count: 9 - severity.count) + code
                            + String(repeating: " ", count: width + 2 - code.count) + finding.message
                    )
                }
            }
            let errors = audit.findings(atLeast: .error).count
            let warnings = audit.findings.filter { $0.severity == .warning }.count
            guard audit.passed else {
                StandardStream.writeLine("verify: \(errors) error(s), \(warnings) warning(s) in \(path)")
                throw ExitCode(ExitStatus.auditFindings)
            }
            StandardStream.writeLine("verify: passed with \(warnings) warning(s)")
        }
    }
}
