import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// `Fixtures/manifest.json` against the files and against the library: every hash, every outcome,
/// every error code and every decrypted byte (`make fixtures-check`).
@Suite("Fixtures: manifest, known-answer vaults and tamper corpus")
struct FixtureTests {
    static let requiredVaults = [
        "vaults/interactive.session", "vaults/moderate.session", "vaults/sensitive.session",
        "vaults/default-profile.session", "vaults/recovery-key.session",
    ]

    @Test func manifestListsExactlyTheFixtureFiles() throws {
        let manifest = try Manifest.load()
        #expect(manifest.schema == "sessionvault-fixtures/1")
        #expect(manifest.formatVersion == Int(StoredHeader.currentFormatVersion))
        let listed = manifest.fixtures.map(\.file)
        #expect(Set(listed).count == listed.count, "a file is listed twice")
        var onDisk: [String] = []
        for directory in ["vaults", "tampered"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: FixturePaths.path(directory))
            onDisk += names.filter { !$0.hasPrefix(".") }.map { "\(directory)/\($0)" }
        }
        #expect(Set(onDisk) == Set(listed), "unlisted: \(Set(onDisk).subtracting(listed).sorted()), missing: \(Set(listed).subtracting(onDisk).sorted())")
        for file in Self.requiredVaults { #expect(listed.contains(file), "\(file) is required") }
        #expect(manifest.errorCodes == VaultError.Code.allCases.map(\.name))
    }

    /// The corpus is at least 100 negative fixtures, and covers every category the issue names.
    @Test func tamperCorpusIsLargeAndCoversEveryCategory() throws {
        let tampered = try Manifest.load().fixtures.filter { $0.file.hasPrefix("tampered/") }
        let negative = tampered.filter { fixture in fixture.opens.allSatisfy { $0.expect != "ok" } }
        #expect(negative.count >= 100)
        let categories = Set(tampered.map(\.category))
        for category in [
            "flipped-record-byte", "header", "keyslot", "kdf-bounds", "moved-record", "copied-from-another-vault",
            "deleted-or-inserted", "truncated", "not-a-vault", "structure", "record-structure", "authentic-but-invalid",
            "rollback-undetected", "schema", "padding",
        ] {
            #expect(categories.contains(category), "no fixture of category \(category)")
        }
        // Every sealed record of the tamper base has its tag, masked kind, nonce and ciphertext flipped.
        let base = try #require(Manifest.load().fixtures.first { $0.file == "vaults/tamper-base.session" })
        let flips = tampered.filter { $0.category == "flipped-record-byte" }
        #expect(flips.count == 4 * (try #require(base.contents).recordCount + 1))
    }

    /// Both format versions have known-answer vaults, each file's header says the version its entry
    /// says, and every record of a version-2 vault is sealed padded (docs/FORMAT.md §5.4).
    @Test func knownAnswerVaultsOfBothFormatVersions() throws {
        let vaults = try Manifest.load().fixtures.filter { $0.file.hasPrefix("vaults/") }
        #expect(Set(vaults.map { $0.formatVersion ?? 1 }) == [1, 2])
        for vault in vaults {
            // A private copy: opening a vault writes next to it.
            let (version, lengths) = try inTemporaryDirectory { directory in
                let copy = directory + "/copy.session"
                try FileManager.default.copyItem(atPath: FixturePaths.path(vault.file), toPath: copy)
                return try withRawDatabase(copy) { db in
                let version = try db.integer("SELECT format_version FROM sv_header")
                let statement = try db.statement("SELECT length(ciphertext) FROM sv_record")
                defer { statement.reset() }
                var lengths: [Int64] = []
                while try statement.step() { lengths.append(statement.int64(0)) }
                return (version, lengths)
                }
            }
            #expect(version == Int64(vault.formatVersion ?? 1), "\(vault.file)")
            if version == 2 {
                for length in lengths { #expect((length - 16) % 128 == 0 && length >= 144, "\(vault.file): a \(length)-byte ciphertext") }
            } else {
                #expect(lengths.contains { ($0 - 16) % 128 != 0 }, "\(vault.file): version-1 records are not padded")
            }
        }
    }

    @Test(arguments: try Manifest.load().fixtures)
    func fileMatchesItsHash(_ fixture: Fixture) throws {
        let data = try readFileBytes(FixturePaths.path(fixture.file))
        #expect(data.count == fixture.size)
        #expect(hex(sha256(data)) == fixture.sha256)
    }

    @Test(arguments: try Manifest.load().fixtures)
    func opensAsTheManifestSays(_ fixture: Fixture) async throws {
        #expect(!fixture.opens.isEmpty)
        for open in fixture.opens {
            let outcome = try await FixtureOpener.attempt(fixture, open, lookups: fixture.contents?.peerIndex ?? [])
            if open.expect == "ok" {
                guard outcome.error == nil else {
                    Issue.record("\(fixture.file) with \(open): \(outcome.error!)")
                    continue
                }
                let contents = try #require(fixture.contents, "\(fixture.file) opens but the manifest lists no contents")
                let problems = SessionComparison.differences(outcome.session, contents.session)
                #expect(problems.isEmpty, "\(fixture.file) with \(open): \(problems.joined(separator: "; "))")
                #expect(outcome.recordCount == contents.recordCount, "\(fixture.file): record count")
                #expect(contents.recordsByKind.values.reduce(0, +) == contents.recordCount)
                let expectedPeers = contents.peers.map(\.peer)
                #expect(expectedPeers.allSatisfy { $0 != nil }, "\(fixture.file): unknown peer kind in the manifest")
                #expect(outcome.peers == expectedPeers.compactMap { $0 }, "\(fixture.file): peers")
                #expect(outcome.lookedUp == contents.peerIndex.map(\.peerId), "\(fixture.file): peer lookups")
                #expect(contents.recordsByKind["peer"] ?? 0 == contents.peers.count)
                #expect(contents.recordsByKind["peer-index"] ?? 0 == contents.peerIndex.count)
                if open.passphrase != nil {
                    // The counter that proves refusals come before Argon2id sees a real derivation.
                    #expect(outcome.derivations >= 1, "\(fixture.file): no derivation counted")
                }
            } else {
                guard let error = outcome.error else {
                    Issue.record("\(fixture.file) with \(open) opened, expected \(open.expect)")
                    continue
                }
                #expect(error.code.name == open.expect, "\(fixture.file) with \(open): \(error)")
                if let kind = open.recordKind {
                    #expect((error.recordKind?.description ?? "none") == kind, "\(fixture.file) with \(open): \(error)")
                }
                if open.expect == VaultError.Code.kdfParametersOutOfBounds.name {
                    // Refused before Argon2id runs (a derivation at opslimit 1000, or 2^62, would take
                    // minutes or forever).
                    #expect(outcome.derivations == 0, "\(fixture.file): \(outcome.derivations) derivations before the refusal")
                }
            }
        }
    }

    /// Format stability: every committed known-answer vault still opens and yields exactly its
    /// manifest contents. Fixtures of a released format version are never regenerated, so a failure
    /// here means the library no longer reads vaults it once wrote.
    @Test func everyCommittedKnownAnswerVaultOpens() async throws {
        let manifest = try Manifest.load()
        let vaults = try FileManager.default.contentsOfDirectory(atPath: FixturePaths.path("vaults")).filter { $0.hasSuffix(".session") }.sorted()
        #expect(vaults.count >= Self.requiredVaults.count + 1)
        for name in vaults {
            let fixture = try #require(manifest.fixtures.first { $0.file == "vaults/" + name }, "vaults/\(name) is not in the manifest")
            #expect(fixture.category == "known-answer")
            let opens = fixture.opens.filter { $0.expect == "ok" }
            #expect(!opens.isEmpty)
            for open in opens {
                let contents = try #require(fixture.contents)
                let outcome = try await FixtureOpener.attempt(fixture, open, lookups: contents.peerIndex)
                if let error = outcome.error {
                    Issue.record("\(fixture.file) with \(open): \(error)")
                    continue
                }
                #expect(SessionComparison.differences(outcome.session, contents.session).isEmpty, "\(fixture.file)")
                #expect(outcome.peers == contents.peers.compactMap(\.peer), "\(fixture.file): peers")
                #expect(outcome.lookedUp == contents.peerIndex.map(\.peerId), "\(fixture.file): peer lookups")
                #expect(outcome.recordCount == contents.recordCount, "\(fixture.file): record count")
            }
        }
    }
}
