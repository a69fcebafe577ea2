import CTDataCrypto
import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Telegram Desktop `tdata` folders made by opentele2 2.0.0 (the 7.3 key file) and opentele 1.15.1
/// (the legacy key file) from the real Telethon/Pyrogram fixtures: every account's facts, the
/// passcode paths, and the refusals; plus the AES-256 and MD5 known answers of the C target.
@Suite struct TDataImportTests {
    nonisolated(unsafe) static let manifest = InteropJSGoFormatTests.converted
    static let passcode = "correct horse battery staple"

    static func secret(_ text: String) throws -> SecretBytes {
        try Array(text.utf8).withUnsafeBytes { try SecretBytes(copying: $0) }
    }

    @Test func aes256MatchesFIPS197AppendixC3() {
        let key = [UInt8](0..<32)
        let ciphertext: [UInt8] = [0x8e, 0xa2, 0xb7, 0xca, 0x51, 0x67, 0x45, 0xbf, 0xea, 0xfc, 0x49, 0x90, 0x4b, 0x49, 0x60, 0x89]
        var plain = [UInt8](repeating: 0, count: 16)
        sv_aes256_decrypt_block(key, ciphertext, &plain)
        #expect(plain == [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff])
        var oddLength = [UInt8](repeating: 0, count: 17)
        #expect(sv_aes256_ige_decrypt(key, key, &oddLength, 17) == -1)
    }

    @Test(arguments: [
        ("", "d41d8cd98f00b204e9800998ecf8427e"), ("a", "0cc175b9c0f1b6a831c399e269772661"), ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"),
    ])
    func md5MatchesRFC1321(input: String, hex: String) {
        var digest = [UInt8](repeating: 0, count: 16)
        let bytes = Array(input.utf8)
        sv_md5(bytes, bytes.count, &digest)
        #expect(digest.map { String(format: "%02x", $0) }.joined() == hex)
    }

    @Test func pbkdf2MatchesPythonsHashlib() throws {
        // PBKDF2-HMAC-SHA512("password", "salt", 1 and 2 iterations, 64 bytes), as CPython's
        // hashlib.pbkdf2_hmac (OpenSSL) computes them.
        let expected1 = "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce"
        let expected2 = "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53cf76cab2868a39b9f7840edce4fef5a82be67335c77a6068e04112754f27ccf4e"
        for (iterations, expected) in [(1, expected1), (2, expected2)] {
            let out = try SecretBytes(count: 64)
            let password = try Self.secret("password")
            let salt = try Self.secret("salt")
            try out.withUnsafeMutableBytes { (raw) throws(VaultError) in
                try password.withUnsafeBytes { (passwordBytes) throws(VaultError) in
                    try salt.withUnsafeBytes { (saltBytes) throws(VaultError) in
                        try TDataLocalCrypto.pbkdf2SHA512(password: passwordBytes, salt: saltBytes, iterations: iterations, into: raw)
                    }
                }
            }
            #expect(out.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() } == expected)
        }
    }

    @Test func accountFileNamesAreTelegramDesktops() {
        #expect(TDataImporter.fileName(forAccount: 0) == "D877F783D5D3EF8C")
        #expect(TDataImporter.fileName(forAccount: 1) == "A7FDF864FBC10B77")
    }

    @Test(arguments: ["tdata-telethon-v8", "tdata-two-accounts", "tdata-legacy-opentele-1.15.1", "tdata-legacy-opentele-1.15.1-passcode"])
    func everyAccountHasItsManifestFacts(folder: String) async throws {
        let entry = Self.manifest[folder]!
        let locked = entry["passcode"] as? Bool ?? false
        let accounts = try await TDataImporter.read(folder: InteropFixtures.path(folder), passcode: locked ? Self.secret(Self.passcode) : nil)
        let expected = (entry["facts"] as! [String: Any])["accounts"] as! [[String: Any]]
        #expect(accounts.count == expected.count)
        for (account, facts) in zip(accounts, expected) {
            let session = account.imported.session
            #expect(account.imported.format == .tdata)
            #expect(session.user?.id == int64(facts["user_id"]))
            #expect(Int64(session.user?.dataCenterID ?? -1) == int64(facts["main_dc"]))
            let dc = try #require(session.dataCenters.first { Int64($0.id) == int64(facts["key_dc"]) })
            #expect(dc.authKey?.id == int64(facts["auth_key_id"]))
            #expect(dc.authKey.map(sha256Hex) == facts["auth_key_sha256"] as? String)
            #expect(dc.ipv4 == Endpoint(host: "149.154.167.51", port: 443))
        }
        // The same keys as the real Telethon fixture the folders were made from.
        let telethon = try InteropFixtures.read("telethon-v8.session")
        #expect(accounts[0].imported.session.dataCenters.first?.authKey == telethon.session.dataCenters.first { $0.authKey != nil }?.authKey)
    }

    @Test func legacyPasscodeIsNeededAndChecked() async throws {
        let folder = InteropFixtures.path("tdata-legacy-opentele-1.15.1-passcode")
        let missing = await #expect(throws: VaultError.self) { try await TDataImporter.read(folder: folder, passcode: nil) }
        #expect(missing?.code == .wrongPassphrase)
        #expect(missing?.message.contains("locked with a local passcode") == true, "\(missing?.message ?? "")")
        let wrong = await #expect(throws: VaultError.self) { try await TDataImporter.read(folder: folder, passcode: Self.secret("not the passcode")) }
        #expect(wrong?.code == .wrongPassphrase)
        #expect(wrong?.message.contains("not the passcode") == false)
    }

    @Test func telegramDesktop73PasscodeWrapIsRefusedClearly() async throws {
        let folder = InteropFixtures.path("tdata-telethon-v8-passcode")
        for passcode in [nil, try Self.secret(Self.passcode)] {
            let error = await #expect(throws: VaultError.self) { try await TDataImporter.read(folder: folder, passcode: passcode) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("Telegram Desktop 7.3 way") == true, "\(error?.message ?? "")")
        }
    }

    /// The account's `configs` file is read for its environment: the production fixtures say so in a
    /// note, the test-server folder (opentele2 2.0.0 writing a config whose environment is Test) is
    /// refused, and a configs file that is missing, damaged or of another version is handled as documented.
    @Test func theConfigsEnvironmentDecidesProductionOrRefusal() async throws {
        let production = try await TDataImporter.read(folder: InteropFixtures.path("tdata-telethon-v8"), passcode: nil)
        #expect(production[0].imported.notes.contains { $0.contains("(production, as the account's configs file says)") }, "\(production[0].imported.notes)")
        let environments = (Self.manifest["tdata-test-mode"]?["facts"] as? [String: Any])?["environments"] as? [String]
        #expect(environments == ["test"], "opentele2 reads the fixture as a test-server account")
        let error = await #expect(throws: VaultError.self) { try await TDataImporter.read(folder: InteropFixtures.path("tdata-test-mode"), passcode: nil) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("is a test-server account (its configs file says Environment::Test)") == true, "\(error?.message ?? "")")

        try await withTemporaryDirectory { directory in
            let folder = try Self.copyFolder("tdata-telethon-v8", to: directory)
            let configs = folder + "/D877F783D5D3EF8C/configs"
            let original = fileBytes(configs)
            var damaged = original
            damaged[40] ^= 1
            try writeFile(configs, Self.tdf(version: Array(original[4..<8]), data: Array(damaged[8..<(damaged.count - 16)])))
            let undecryptable = await #expect(throws: VaultError.self) { try await TDataImporter.read(folder: folder, passcode: nil) }
            #expect(undecryptable?.code == .corrupt)
            #expect(undecryptable?.message.contains("configs does not decrypt") == true, "\(undecryptable?.message ?? "")")
            // The test-mode folder's configs moved under the production folder's key does not decrypt either:
            // the environment cannot be swapped in from another folder.
            try writeFile(configs, fileBytes(InteropFixtures.path("tdata-test-mode") + "/D877F783D5D3EF8C/configs"))
            await #expect(throws: VaultError.self) { try await TDataImporter.read(folder: folder, passcode: nil) }
            try FileManager.default.removeItem(atPath: configs)
            let absent = try await TDataImporter.read(folder: folder, passcode: nil)
            #expect(absent[0].imported.notes.contains { $0.contains("(production; the account has no configs file)") }, "\(absent[0].imported.notes)")
        }
    }

    /// Copies a fixture folder into `directory`.
    static func copyFolder(_ name: String, to directory: String) throws -> String {
        let target = directory + "/" + name
        try FileManager.default.copyItem(atPath: InteropFixtures.path(name), toPath: target)
        return target
    }

    @Test func damagedTruncatedForeignAndNewerFilesGetClearErrors() async throws {
        try await withTemporaryDirectory { directory in
            let folder = try Self.copyFolder("tdata-telethon-v8", to: directory)
            let key = folder + "/key_datas"
            let account = folder + "/D877F783D5D3EF8Cs"
            let original = fileBytes(key)
            let accountBytes = fileBytes(account)
            func expectError(_ code: VaultError.Code, _ fragment: String) async {
                let error = await #expect(throws: VaultError.self) { try await TDataImporter.read(folder: folder, passcode: nil) }
                #expect(error?.code == code, "\(error?.message ?? "")")
                #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
            }
            try writeFile(key, Array(original.prefix(100)))
            await expectError(.corrupt, "MD5")
            try writeFile(key, Array(original.prefix(10)))
            await expectError(.corrupt, "truncated")
            try writeFile(key, Array("SQLite format 3\0".utf8) + Array(original.dropFirst(16)))
            await expectError(.invalidArgument, "TDF$")
            // A trailer of version 3 (MD5 recomputed, so only the version differs).
            var data = Array(original[8..<(original.count - 16)])
            let trailerAt = data.count - 16 + 4
            #expect(Array(data[(trailerAt - 4)..<trailerAt]) == [0x4B, 0x44, 0x32, 0x00])
            data[trailerAt + 3] = 3
            try writeFile(key, Self.tdf(version: Array(original[4..<8]), data: data))
            await expectError(.invalidArgument, "version 3, newer than")
            try writeFile(key, original)
            var damaged = accountBytes
            damaged[40] ^= 1
            try writeFile(account, Self.tdf(version: Array(accountBytes[4..<8]), data: Array(damaged[8..<(damaged.count - 16)])))
            await expectError(.corrupt, "does not decrypt")
            try writeFile(account, accountBytes)
            _ = try await TDataImporter.read(folder: folder, passcode: nil)
        }
    }

    /// A TDF$ file with a correct MD5.
    static func tdf(version: [UInt8], data: [UInt8]) -> [UInt8] {
        var check = data
        let length = UInt32(data.count)
        check += [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)] + version + Array("TDF$".utf8)
        var digest = [UInt8](repeating: 0, count: 16)
        sv_md5(check, check.count, &digest)
        return Array("TDF$".utf8) + version + data + digest
    }
}
