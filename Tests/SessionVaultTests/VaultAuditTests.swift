import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
@testable import SessionVaultOperations
import SessionVaultTestSupport

/// The audit behind `session-vault verify` as library API, and the redacted summary behind `show`.
@Suite("Vault audit and summary")
struct VaultAuditTests {
    func openVault(in directory: String, session: Session? = nil) async throws -> SessionVault {
        let vault = try await SessionVault.open(at: directory + "/audit", passphrase: passphrase(), configuration: fastConfiguration())
        if let session { try await vault.save(session) }
        return vault
    }

    @Test func aHealthyFileVaultHasNoErrorFindings() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await openVault(in: directory, session: try sampleSession())
            let audit = try await VaultAudit.run(on: vault, passphrase: passphrase())
            try await vault.close()
            #expect(audit.passed)
            #expect(audit.path == directory + "/audit.session")
            #expect(
                audit.findings.map(\.code) == [
                    .authenticated, .integrityOK, .kdfBelowRecommendation, .fileModesOK, .notInGitWorkTree, .noPlaintext,
                ]
            )
            // The test parameters are far below the recommendation: a warning, not an error.
            #expect(audit.findings(atLeast: .warning).map(\.code) == [.kdfBelowRecommendation])
        }
    }

    @Test func thePassphraseInTheFileIsFound() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await openVault(in: directory)
            let path = try #require(vault.path)
            try await vault.close()
            // Left in a free page: a table the vault does not define would be refused at open (FORMAT.md §3).
            try withRawDatabase(path) { db in
                try db.execute("PRAGMA secure_delete = OFF")
                try db.execute("CREATE TABLE note (value BLOB)")
                let insert = try db.statement("INSERT INTO note VALUES (?)")
                try Array("correct horse battery staple".utf8).withUnsafeBytes { try insert.bind($0, at: 1) }
                try insert.run()
                insert.reset()
                try db.execute("DROP TABLE note")
            }
            let reopened = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            let audit = try await VaultAudit.run(on: reopened, passphrase: passphrase())
            try await reopened.close()
            #expect(!audit.passed)
            let leak = try #require(audit.findings.first { $0.code == .plaintextFound })
            #expect(leak.severity == .error)
            #expect(leak.message.hasPrefix("found in plaintext: passphrase in "))
            #expect(!leak.message.contains("horse"))
        }
    }

    @Test func aMemoryVaultHasNothingOnDisk() async throws {
        let vault = try await SessionVault.inMemory()
        let audit = try await VaultAudit.run(on: vault)
        try await vault.close()
        #expect(audit.findings.map(\.code) == [.memoryOnly])
        #expect(audit.findings.first?.severity == .warning)
        #expect(audit.passed)
    }

    @Test func severitiesAreOrderedAndCodesEncodeAsStrings() throws {
        #expect(VaultAudit.Severity.info < .warning)
        #expect(VaultAudit.Severity.warning < .error)
        let audit = VaultAudit(path: nil, findings: [VaultAudit.Finding(.error, .gitTracked, "m")])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(audit), as: UTF8.self)
        #expect(text == #"{"findings":[{"code":"git-tracked","message":"m","severity":"error"}],"passed":false,"path":null}"#)
        let decoded = try JSONDecoder().decode(VaultAudit.self, from: Data(text.utf8))
        #expect(decoded == audit)
    }

    @Test func theSummaryHasEveryKeyAndNoKey() async throws {
        let session = try sampleSession()
        let summary = VaultSummary(
            session: session,
            storage: .sqlite,
            formatVersion: 1,
            kdfParameters: .default,
            keyslotKinds: [.passphrase, .recoveryKey]
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(summary), as: UTF8.self)
        for key in session.dataCenters.compactMap(\.authKey) + session.dataCenters.compactMap(\.temporaryAuthKey) {
            #expect(!text.contains(hex(rawBytes(key))))
            #expect(!text.contains(Data(rawBytes(key)).base64EncodedString()))
        }
        for key in session.dataCenters.compactMap(\.authKey) {
            #expect(text.contains("\"auth_key_id\":\(key.id)"))
        }
        let empty = VaultSummary(session: Session(), storage: .memory, formatVersion: 1, kdfParameters: nil, keyslotKinds: [])
        let emptyText = String(decoding: try encoder.encode(empty), as: UTF8.self)
        #expect(
            emptyText
                == #"{"api_id":null,"channels":0,"dcs":[],"format_version":1,"kdf":null,"keyslots":[],"state":null,"#
                + #""storage":"memory","takeout_id":null,"test_mode":false,"user":null}"#
        )
    }

    @Test func aWorkTreeIsFoundByItsGitEntry() throws {
        // Synchronous on purpose, with its own folder (no helper overloads involved).
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sv-git-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/repo/a/b", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let canonical = GitIgnoreCheck.canonicalPath(directory)
        #expect(GitIgnoreCheck.workTree(containing: directory + "/repo/a/b").map { !$0.hasPrefix(canonical) } ?? true)
        // A `.git` file (worktrees, submodules) counts as well as a folder.
        #expect(FileManager.default.createFile(atPath: directory + "/repo/.git", contents: Data("gitdir: elsewhere\n".utf8)))
        let top = GitIgnoreCheck.workTree(containing: directory + "/repo/a/b")
        #expect(top == GitIgnoreCheck.canonicalPath(directory + "/repo"))
        #expect(GitIgnoreCheck.childEnvironment().allSatisfy { !$0.hasPrefix("SESSION_VAULT_") })
    }
}
