public import SessionVaultKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The audit behind `session-vault verify`: a list of findings, each with a severity and a stable code.
///
/// ```swift
/// import Foundation   // exit
///
/// let passphrase = try PassphraseSource.readPassphrase()
/// var configuration = SessionVault.Configuration()
/// configuration.mode = .openExisting
/// let vault = try await SessionVault.open(at: "bot", passphrase: passphrase, configuration: configuration)
/// let audit = try await VaultAudit.run(on: vault, passphrase: passphrase)
/// try await vault.close()
/// for finding in audit.findings { print(finding.severity, finding.code, finding.message) }
/// if !audit.passed { exit(70) }
/// ```
///
/// Checks, in order (codes in parentheses):
/// 1. The vault opened, so its header, keyslots, every record and the record set authenticated
///    (`authenticated`); a memory-only vault has nothing on disk (`memory-only`, warning), and for
///    other backends than SQLite files the remaining checks do not apply.
/// 2. SQLite `PRAGMA integrity_check` (`integrity-ok`; `integrity-failed`, error).
/// 3. The passphrase keyslot's Argon2id parameters against ``KDFParameters/default``
///    (`kdf-recommended`; `kdf-below-recommendation`, warning when fewer passes *or* less memory).
/// 4. Modes of the database, its `-wal`/`-journal` and its `-lock` (`file-modes-ok`;
///    `file-readable-by-others`, error; `file-writable-by-others`, warning).
/// 5. Whether the file is inside a git work tree without being ignored (`not-in-git-work-tree`,
///    `git-ignored`; `git-not-ignored` and `git-tracked`, errors; `git-unchecked`, info, when git is
///    missing or cannot answer).
/// 6. That no secret of the decrypted session, no data-key bytes and not the passphrase appear in
///    the raw bytes of the file or its WAL (`no-plaintext`; `plaintext-found`, error).
///
/// Findings never contain a secret. The `Codable` form is the JSON of `session-vault verify --json`.
public struct VaultAudit: Sendable, Hashable, Codable {
    /// How serious a finding is. Ordered: `info` < `warning` < `error`.
    public enum Severity: String, Sendable, Hashable, Codable, Comparable, CaseIterable {
        /// A check that passed, or something worth knowing.
        case info
        /// Weaker than recommended, but not an exposure.
        case warning
        /// An exposure or damage; `verify` exits non-zero.
        case error

        /// Orders by seriousness.
        public static func < (lhs: Severity, rhs: Severity) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// One result of one check.
    public struct Finding: Sendable, Hashable, Codable {
        /// A stable, kebab-case identifier of what was found, e.g. `file-readable-by-others`.
        public struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
            /// The kebab-case name.
            public let rawValue: String

            /// Wraps a name.
            public init(rawValue: String) { self.rawValue = rawValue }

            /// The vault opened: header, keyslots, every record and the record set authenticated.
            public static let authenticated = Code(rawValue: "authenticated")
            /// The vault is memory-only: nothing on disk to audit.
            public static let memoryOnly = Code(rawValue: "memory-only")
            /// `PRAGMA integrity_check` returned `ok`.
            public static let integrityOK = Code(rawValue: "integrity-ok")
            /// `PRAGMA integrity_check` reported problems.
            public static let integrityFailed = Code(rawValue: "integrity-failed")
            /// The KDF parameters meet or exceed the recommendation.
            public static let kdfRecommended = Code(rawValue: "kdf-recommended")
            /// The KDF parameters are weaker than the recommendation.
            public static let kdfBelowRecommendation = Code(rawValue: "kdf-below-recommendation")
            /// No file of the vault is accessible to group or others.
            public static let fileModesOK = Code(rawValue: "file-modes-ok")
            /// A file of the vault is readable by group or others.
            public static let fileReadableByOthers = Code(rawValue: "file-readable-by-others")
            /// A file of the vault is writable (but not readable) by group or others.
            public static let fileWritableByOthers = Code(rawValue: "file-writable-by-others")
            /// The vault's directory is writable by group or others (a shared directory: another user can
            /// plant or delete files next to the vault).
            public static let directoryWritableByOthers = Code(rawValue: "directory-writable-by-others")
            /// A file of the vault belongs to another user than the vault file's owner.
            public static let fileOwnedByAnotherUser = Code(rawValue: "file-owned-by-another-user")
            /// The vault is not inside a git work tree.
            public static let notInGitWorkTree = Code(rawValue: "not-in-git-work-tree")
            /// The vault is inside a git work tree and ignored.
            public static let gitIgnored = Code(rawValue: "git-ignored")
            /// The vault is inside a git work tree, neither ignored nor tracked.
            public static let gitNotIgnored = Code(rawValue: "git-not-ignored")
            /// The vault is tracked by git.
            public static let gitTracked = Code(rawValue: "git-tracked")
            /// The vault is inside a git work tree but git could not be asked.
            public static let gitUnchecked = Code(rawValue: "git-unchecked")
            /// No secret was found in the raw bytes.
            public static let noPlaintext = Code(rawValue: "no-plaintext")
            /// A secret was found in the raw bytes.
            public static let plaintextFound = Code(rawValue: "plaintext-found")

            /// The kebab-case name.
            public var description: String { rawValue }

            /// Decodes from a plain JSON string.
            public init(from decoder: any Decoder) throws {
                rawValue = try decoder.singleValueContainer().decode(String.self)
            }

            /// Encodes as a plain JSON string.
            public func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                try container.encode(rawValue)
            }
        }

        /// How serious it is.
        public var severity: Severity
        /// What it is.
        public var code: Code
        /// One line for people. Never contains a secret.
        public var message: String

        /// Creates a finding.
        public init(_ severity: Severity, _ code: Code, _ message: String) {
            self.severity = severity
            self.code = code
            self.message = message
        }
    }

    /// The audited file, or nil for a memory-only vault.
    public var path: String?
    /// Every finding, in check order.
    public var findings: [Finding]

    /// Creates an audit result.
    public init(path: String?, findings: [Finding]) {
        self.path = path
        self.findings = findings
    }

    /// True when no finding is an error.
    public var passed: Bool { !findings.contains { $0.severity == .error } }

    /// The findings of at least `severity`.
    public func findings(atLeast severity: Severity) -> [Finding] {
        findings.filter { $0.severity >= severity }
    }

    enum CodingKeys: String, CodingKey {
        case path, passed, findings
    }

    /// Decodes `path` and `findings` (`passed` is derived).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decodeIfPresent(String.self, forKey: .path)
        findings = try container.decode([Finding].self, forKey: .findings)
    }

    /// Encodes `path` (or `null`), `passed` and `findings`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(passed, forKey: .passed)
        try container.encode(findings, forKey: .findings)
    }

    /// Audits an open vault.
    /// - Parameters:
    ///   - vault: An open vault. Opening it already authenticated everything it holds.
    ///   - passphrase: The passphrase it was opened with, so the raw bytes can also be searched for it.
    /// - Returns: The findings; see ``passed``.
    /// - Throws: ``VaultError`` when a check cannot run at all (the vault was closed, a file cannot be read).
    public static func run(on vault: SessionVault, passphrase: Passphrase? = nil) async throws(VaultError) -> VaultAudit {
        var findings: [Finding] = []

        // 1. Authentication (done by opening).
        let keyslots = await vault.keyslotKinds
        let records = await vault.recordCount
        if vault.storageKind == .memory {
            findings.append(Finding(.warning, .memoryOnly, "the vault is memory-only: nothing on disk to audit"))
            return VaultAudit(path: vault.path, findings: findings)
        }
        guard vault.storageKind == .sqlite, let path = vault.path else {
            findings.append(
                Finding(
                    .info,
                    .authenticated,
                    "opened and authenticated the header, \(keyslots.count) keyslot(s), \(records) record(s) and the record set "
                        + "(\(vault.storageKind) storage: the file checks do not apply)"
                )
            )
            return VaultAudit(path: vault.path, findings: findings)
        }
        findings.append(
            Finding(
                .info,
                .authenticated,
                "opened and authenticated the header, \(keyslots.count) keyslot(s) (\(keyslots.map(\.description).joined(separator: ", "))), "
                    + "\(records) record(s) and the record set"
            )
        )

        // 2. SQLite integrity.
        if let lines = try await vault.integrityCheck() {
            if lines == ["ok"] {
                findings.append(Finding(.info, .integrityOK, "SQLite integrity_check: ok"))
            } else {
                let shown = lines.prefix(5).joined(separator: "; ")
                findings.append(
                    Finding(.error, .integrityFailed, "SQLite integrity_check reported \(lines.count) problem(s): \(shown)")
                )
            }
        }

        // 3. KDF parameters.
        if let kdf = await vault.kdfParameters {
            if kdf.meetsRecommendation {
                findings.append(Finding(.info, .kdfRecommended, "passphrase keyslot: \(kdf) meets the recommendation (\(KDFParameters.default))"))
            } else {
                findings.append(
                    Finding(
                        .warning,
                        .kdfBelowRecommendation,
                        "passphrase keyslot: \(kdf) is weaker than the recommendation (\(KDFParameters.default)); "
                            + "run 'session-vault passwd --kdf default' (or moderate) to strengthen it"
                    )
                )
            }
        }

        // 4. File modes.
        let files = vault.databaseFiles + [vault.lockFile].compactMap { $0 }
        findings += try modeFindings(files: files)
        findings += try sharingFindings(path: path, files: files)

        // 5. Git.
        findings.append(gitFinding(path))

        // 6. Plaintext on disk.
        let leaks = try await PlaintextScan.scan(vault, passphrase: passphrase)
        if leaks.isEmpty {
            findings.append(
                Finding(
                    .info,
                    .noPlaintext,
                    "no auth key, data key, passphrase, user id, username, address or channel id in the raw bytes of the file or its WAL"
                )
            )
        } else {
            for leak in leaks { findings.append(Finding(.error, .plaintextFound, "found in plaintext: \(leak)")) }
        }
        return VaultAudit(path: path, findings: findings)
    }

    /// Shared directories: an error for a vault directory writable by others (world-writable or
    /// sticky, like /tmp), a warning for one writable by its group; an error for each file of the
    /// vault owned by another user than the vault file's owner.
    static func sharingFindings(path: String, files: [String]) throws(VaultError) -> [Finding] {
        var findings: [Finding] = []
        let directory = FileSystem.directoryName(of: path)
        if let info = try FileSystem.status(directory) {
            let mode = FileSystem.permissions(info)
            let octal = String(mode, radix: 8)
            let advice = "other users can plant or remove files next to the vault (its lock, its WAL): vaults do not belong in shared directories"
            if mode & 0o002 != 0 {
                findings.append(Finding(.error, .directoryWritableByOthers, "the directory \(directory) has mode \(octal): \(advice)"))
            } else if mode & 0o020 != 0 {
                findings.append(Finding(.warning, .directoryWritableByOthers, "the directory \(directory) has mode \(octal) (group-writable): \(advice)"))
            }
        }
        guard let owner = try FileSystem.status(path)?.st_uid else { return findings }
        for file in files {
            guard let info = try FileSystem.status(file), info.st_uid != owner else { continue }
            findings.append(
                Finding(
                    .error,
                    .fileOwnedByAnotherUser,
                    "\(file) belongs to uid \(info.st_uid), the vault file to uid \(owner): another user may have planted or may change it"
                )
            )
        }
        return findings
    }

    /// Errors for files readable by group or others, warnings for files only writable by them.
    static func modeFindings(files: [String]) throws(VaultError) -> [Finding] {
        var findings: [Finding] = []
        var seen: [String] = []
        for file in files {
            guard let info = try FileSystem.status(file) else { continue }
            let mode = FileSystem.permissions(info)
            let octal = String(mode, radix: 8)
            seen.append("\(file.split(separator: "/").last.map(String.init) ?? file) \(octal)")
            if mode & 0o044 != 0 {
                findings.append(
                    Finding(.error, .fileReadableByOthers, "\(file) has mode \(octal): group or others can read it (run: chmod 600 \(file))")
                )
            } else if mode & 0o022 != 0 {
                findings.append(
                    Finding(
                        .warning,
                        .fileWritableByOthers,
                        "\(file) has mode \(octal): group or others can replace or delete its content (run: chmod 600 \(file))"
                    )
                )
            }
        }
        if findings.isEmpty {
            findings.append(Finding(.info, .fileModesOK, "file modes: \(seen.joined(separator: ", "))"))
        }
        return findings
    }

    /// The git finding for `path`.
    static func gitFinding(_ path: String) -> Finding {
        switch GitIgnoreCheck.check(path) {
        case .notInWorkTree:
            return Finding(.info, .notInGitWorkTree, "not inside a git work tree")
        case .ignored(let top):
            return Finding(.info, .gitIgnored, "inside the git work tree \(top) and ignored by git")
        case .notIgnored(let top):
            return Finding(
                .error,
                .gitNotIgnored,
                "inside the git work tree \(top) and NOT ignored: 'git add .' would commit it; add '*.session*' to \(top)/.gitignore"
            )
        case .tracked(let top):
            return Finding(
                .error,
                .gitTracked,
                "tracked by the git repository at \(top): commits keep copies that the passphrase of that time unlocks; "
                    + "run 'git rm --cached', ignore it, and treat that passphrase as exposed"
            )
        case .unknown(let top, let reason):
            return Finding(.info, .gitUnchecked, "inside the git work tree \(top), but could not check whether git ignores it (\(reason))")
        }
    }
}
