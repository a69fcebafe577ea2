import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// `session-vault import` of Telegram Desktop tdata folders (made by opentele2 2.0.0 and opentele
/// 1.15.1) through the built binary: account choice, passcode sources, refusals, --shred.
@Suite("tdata import command")
struct TDataCommandTests {
    static let fixtures = InteropCommandTests.fixtures
    static let env = InteropCommandTests.env
    static let passcode = "correct horse battery staple"

    func copyFolder(_ name: String, to directory: String) throws -> String {
        let target = directory + "/" + name
        try FileManager.default.copyItem(atPath: Self.fixtures + "/" + name, toPath: target)
        return target
    }

    @Test func singleAccountFolderGoesToPathAndExportsTheSameKey() async throws {
        try await withTemporaryDirectory { directory in
            let folder = Self.fixtures + "/tdata-telethon-v8"
            let imported = try await CLI.run(["import", folder, "desk", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(imported.status == 0, "\(imported.err)")
            #expect(imported.err.contains("imported account 0 of"), "\(imported.err)")
            #expect(imported.err.contains("Telegram Desktop tdata, written by version 7.3.1"), "\(imported.err)")
            #expect(imported.err.contains("user 6123456789"))
            #expect(imported.err.contains("still holds the Telegram Desktop session"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasSuffix("-lock") } == ["desk.session"])
            // The vault holds no 16-byte window of the imported key.
            let key = try #require(try await TDataImporter.read(folder: folder, passcode: nil)[0].imported.session.dataCenters.first?.authKey)
            let vault = fileBytes(directory + "/desk.session")
            let windows = key.withUnsafeBytes { raw in stride(from: 0, to: 241, by: 16).map { Array(raw[$0..<($0 + 16)]) } }
            for window in windows {
                #expect(!(0...(vault.count - 16)).contains { vault[$0] == window[0] && Array(vault[$0..<($0 + 16)]) == window })
            }
            // Same key and well-known address as the Telethon file it was made from: the GramJS export is
            // exactly what tgconvertor made from that Telethon file.
            let exported = try await CLI.run(
                ["export", "desk", "--format", "gramjs-string", "--plaintext", "--output", "g.txt"], environment: Self.env, directory: directory)
            #expect(exported.status == 0, "\(exported.err)")
            #expect(fileBytes(directory + "/g.txt") == fileBytes(Self.fixtures + "/gramjs-from-telethon-v8.txt"))
        }
    }

    @Test func severalAccountsNeedAChoice() async throws {
        try await withTemporaryDirectory { directory in
            let folder = Self.fixtures + "/tdata-two-accounts"
            let ask = try await CLI.run(["import", folder, "desk", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(ask.status != 0)
            #expect(ask.err.contains("holds 2 accounts: index 0 (user 6123456789, DC 2), index 1 (user 7123456789, DC 2)"), "\(ask.err)")
            #expect(ask.err.contains("--account N"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)

            let one = try await CLI.run(["import", folder, "second", "--account", "1", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(one.status == 0, "\(one.err)")
            #expect(one.err.contains("user 7123456789"))

            let all = try await CLI.run(["import", folder, "--all", "each", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(all.status == 0, "\(all.err)")
            for (index, user) in [(0, 6_123_456_789), (1, 7_123_456_789)] {
                let shown = try await CLI.run(["show", "each-\(index)", "--json"], environment: Self.env, directory: directory)
                #expect(shown.status == 0, "\(shown.err)")
                #expect((try shown.json()["user"] as? [String: Any])?["id"] as? Int64 == Int64(user))
            }
            let missing = try await CLI.run(["import", folder, "x", "--account", "4", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(missing.status != 0)
            #expect(missing.err.contains("no account of index 4"))
        }
    }

    @Test func allStopsBeforeAnyVaultWhenOneDestinationExists() async throws {
        try await withTemporaryDirectory { directory in
            try Data("occupied".utf8).write(to: URL(fileURLWithPath: directory + "/each-1.session"))
            let result = try await CLI.run(
                ["import", Self.fixtures + "/tdata-two-accounts", "--all", "each", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(result.status != 0)
            #expect(result.err.contains("each-1.session already exists"), "\(result.err)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["each-1.session"])
        }
    }

    /// All or none: the second vault of `--all` fails after the first was published (a dangling
    /// symbolic link at its destination passes the up-front check, which follows links, but stops the
    /// final `link(2)` with EEXIST), and the first vault goes again: no vault, temporary file or lock
    /// file remains.
    @Test func allRemovesTheFirstVaultWhenTheSecondFails() async throws {
        try await withTemporaryDirectory { directory in
            try #require(symlink(directory + "/nowhere", directory + "/each-1.session") == 0)
            let result = try await CLI.run(
                ["import", Self.fixtures + "/tdata-two-accounts", "--all", "each", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(result.status != 0, "the second vault was published over the link")
            #expect(result.err.contains("each-1.session already exists"), "\(result.err)")
            #expect(!result.err.contains("imported account"), "\(result.err)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["each-1.session"])
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: directory + "/each-1.session") == directory + "/nowhere")
        }
    }

    @Test func legacyPasscodeComesFromItsFileAndAWrongOneLeavesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let folder = Self.fixtures + "/tdata-legacy-opentele-1.15.1-passcode"
            let noPasscode = try await CLI.run(["import", folder, "desk", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(noPasscode.status != 0)
            #expect(noPasscode.err.contains("no tdata local passcode given"), "\(noPasscode.err)")

            try writeSecretFile(directory + "/wrong", "hunter2-not-it")
            var env = Self.env
            env["SESSION_VAULT_TDATA_PASSCODE_FILE"] = directory + "/wrong"
            let wrong = try await CLI.run(["import", folder, "desk", "--kdf", "interactive"], environment: env, directory: directory)
            #expect(wrong.status != 0)
            #expect(wrong.err.contains("wrong local passcode"), "\(wrong.err)")
            #expect(!wrong.err.contains("hunter2"))
            #expect(!FileManager.default.fileExists(atPath: directory + "/desk.session"))

            try writeSecretFile(directory + "/right", Self.passcode)
            env["SESSION_VAULT_TDATA_PASSCODE_FILE"] = directory + "/right"
            let right = try await CLI.run(["import", folder, "desk", "--kdf", "interactive"], environment: env, directory: directory)
            #expect(right.status == 0, "\(right.err)")
            #expect(right.err.contains("written by version 3.4.0"), "\(right.err)")
            #expect(!right.err.contains(Self.passcode))
        }
    }

    @Test func aForcedOtherFormatIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let result = try await CLI.run(
                ["import", Self.fixtures + "/tdata-telethon-v8", "desk", "--format", "telethon", "--kdf", "interactive"],
                environment: Self.env, directory: directory)
            #expect(result.status != 0)
            #expect(result.err.contains("is a Telegram Desktop tdata folder"), "\(result.err)")
        }
    }

    @Test func aTestServerAccountIsRefusedAndLeavesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let result = try await CLI.run(
                ["import", Self.fixtures + "/tdata-test-mode", "desk", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(result.status == 64, "\(result.err)")
            #expect(result.err.contains("is a test-server account"), "\(result.err)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        }
    }

    @Test func telegramDesktop73PasscodeIsRefusedClearly() async throws {
        try await withTemporaryDirectory { directory in
            var env = Self.env
            env["SESSION_VAULT_TDATA_PASSCODE"] = Self.passcode
            let result = try await CLI.run(
                ["import", Self.fixtures + "/tdata-telethon-v8-passcode", "desk", "--kdf", "interactive"], environment: env, directory: directory)
            #expect(result.status != 0)
            #expect(result.err.contains("Telegram Desktop 7.3 way"), "\(result.err)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        }
    }

    @Test func shredRemovesTheWholeFolderAfterAVerifiedImport() async throws {
        try await withTemporaryDirectory { directory in
            let folder = try copyFolder("tdata-two-accounts", to: directory)
            let result = try await CLI.run(
                ["import", folder, "--all", "desk", "--shred", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(result.status == 0, "\(result.err)")
            #expect(result.err.contains("shredded the tdata folder"), "\(result.err)")
            #expect(result.err.contains("7 files overwritten"), "\(result.err)")
            #expect(!FileManager.default.fileExists(atPath: folder))
            #expect(FileManager.default.fileExists(atPath: directory + "/desk-0.session"))
            #expect(FileManager.default.fileExists(atPath: directory + "/desk-1.session"))
        }
    }
}
