import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Secrets never appear in descriptions, errors or log lines; comparisons are constant-time.
@Suite("Secret hygiene")
struct SecretHygieneTests {
    /// Hex and base64 renderings of a key, and every 8-byte hex window.
    func renderings(of key: AuthKey) -> [String] {
        let bytes = rawBytes(key)
        var forms = [hex(bytes), Data(bytes).base64EncodedString(), "\(bytes)"]
        for start in stride(from: 0, to: bytes.count - 8, by: 8) { forms.append(hex(Array(bytes[start..<(start + 8)]))) }
        return forms
    }

    @Test func descriptionsAreRedacted() throws {
        let key = try patternKey(seed: 9)
        let session = try sampleSession()
        let secret = try SecretBytes.random(count: 32)
        let texts = [
            "\(key)", String(reflecting: key), "\(session)", String(reflecting: session),
            "\(session.dataCenters)", "\(secret)", String(reflecting: secret),
            "\(passphrase("hunter2-passphrase"))", "\(try RecoveryKey.generate())",
        ]
        for text in texts {
            for form in renderings(of: key) + session.dataCenters.compactMap(\.authKey).flatMap(renderings) {
                #expect(!text.contains(form), "\(text.prefix(80)) leaks key bytes")
            }
            #expect(!text.contains("hunter2"))
        }
        #expect("\(key)".contains("\(key.id)"))
        #expect("\(key)".contains("redacted"))
    }

    @Test func errorsAndLogLinesCarryNoSecret() async throws {
        try await withTemporaryDirectory { directory in
            let capture = LogCapture()
            let secretText = "unique-passphrase-Zq8Xv"
            let session = try sampleSession()
            var configuration = fastConfiguration(logger: capture.logger())
            let vault = try await SessionVault.open(at: directory + "/log", passphrase: passphrase(secretText), configuration: configuration)
            let path = try #require(vault.path)
            try await vault.save(session)
            try await vault.close()
            chmod(path, 0o640)  // provoke a warning
            var errors: [VaultError] = []
            configuration.mode = .openExisting
            do { _ = try await SessionVault.open(at: path, passphrase: passphrase("wrong-\(secretText)"), configuration: configuration) } catch let error as VaultError {
                errors.append(error)
            }
            let vault2 = try await SessionVault.open(at: path, passphrase: passphrase(secretText), configuration: configuration)
            do { _ = try await SessionVault.open(at: path, passphrase: passphrase(secretText), configuration: configuration) } catch let error as VaultError {
                errors.append(error)
            }
            do { try await vault2.saveDataCenter(DataCenter(id: -1, authKey: session.dataCenters[0].authKey)) } catch let error as VaultError { errors.append(error) }
            try await vault2.close()
            var fallback = configuration
            fallback.sqliteLibraryPath = "/nonexistent"
            // An existing vault is refused (sqlite-unavailable); a new one falls back with a warning.
            do { _ = try await SessionVault.open(at: path, passphrase: passphrase(secretText), configuration: fallback) } catch let error as VaultError {
                errors.append(error)
            }
            fallback.mode = .openOrCreate
            _ = try await SessionVault.open(at: directory + "/fresh", passphrase: passphrase(secretText), configuration: fallback)
            #expect(errors.count == 4)
            #expect(capture.entries.count >= 2)
            let texts = errors.map { "\($0)" } + capture.entries.map(\.1)
            let keys = session.dataCenters.flatMap { [$0.authKey, $0.temporaryAuthKey].compactMap { $0 } }
            for text in texts {
                #expect(!text.contains(secretText), "\(text)")
                for key in keys { for form in renderings(of: key) { #expect(!text.contains(form), "\(text)") } }
            }
        }
    }

    /// The sealing scratch buffer is reused for every record and wiped only as far as each record
    /// used it: after a long record, a short one, an open, and an open whose plaintext does not
    /// decode, none of the plaintexts is left in it and every byte a record used is zero.
    @Test func theSealingScratchHoldsNoPlaintextAfterUse() throws {
        let keys = try KeySchedule(dataKey: try SecretBytes.random(count: 32), vaultID: [UInt8](repeating: 7, count: 16))
        let sealer = try RecordSealer(keys: keys)
        func scratch() -> [UInt8] { sealer.scratch.withUnsafeBytes { Array($0) } }
        func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
            haystack.count >= needle.count && (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
        let long = [UInt8]((0..<3_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) })
        let short = Array("a short plaintext marker".utf8)
        var sealed: [SealedRecord] = []
        for plaintext in [long, short] {
            sealed.append(try sealer.seal(kind: .updateState, identity: []) { (writer) throws(VaultError) in
                try plaintext.withBytes { (bytes) throws(VaultError) in try writer.bytes(bytes) }
            })
            let after = scratch()
            #expect(!contains(after, Array(long[1_000..<1_032])) && !contains(after, short))
            #expect(after[0..<3_200].allSatisfy { $0 == 0 }, "a byte the records used is not zero")
        }
        // Opening decodes into the same buffer; these plaintexts are no valid update state, so the
        // decode throws after decryption, and the buffer is wiped all the same.
        for record in sealed {
            #expect(throws: VaultError.self) { _ = try sealer.open(record) }
            let after = scratch()
            #expect(!contains(after, Array(long[1_000..<1_032])) && !contains(after, short))
            #expect(after[0..<3_200].allSatisfy { $0 == 0 })
        }
    }

    @Test func authKeyEqualityComparesBytes() throws {
        let a = try patternKey(seed: 5)
        let b = try patternKey(seed: 5)
        let c = try patternKey(seed: 6)
        #expect(a == b)
        #expect(a != c)
        #expect(a.secret !== b.secret)
    }

    @Test func authKeyMustBe256Bytes() {
        for count in [0, 255, 257] {
            #expect(throws: VaultError(.invalidArgument, "")) {
                try [UInt8](repeating: 1, count: count).withUnsafeBytes { try AuthKey(copying: $0) }
            }
        }
    }

    @Test func emptyPassphraseIsRefused() {
        #expect(throws: VaultError(.invalidArgument, "")) { try Passphrase(copying: "") }
    }
}

/// Known answers for the building blocks.
@Suite("Crypto building blocks")
struct CryptoBuildingBlockTests {
    @Test func sha1KnownAnswer() {
        let digest = Array("abc".utf8).withUnsafeBytes { SHA1.digest($0) }
        #expect(hex(digest) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        let long = [UInt8](repeating: 0x61, count: 1_000)
        #expect(hex(long.withUnsafeBytes { SHA1.digest($0) }) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
        #expect(hex([UInt8]().withUnsafeBytes { SHA1.digest($0) }) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    /// Expected values computed independently with Python's hashlib: struct.unpack('<q', sha1(key)[12:20]).
    @Test func telegramKeyIDKnownAnswers() throws {
        let ascending = try (0..<256).map { UInt8($0) }.withUnsafeBytes { try AuthKey(copying: $0) }
        #expect(ascending.id == -3_972_359_982_579_920_590)
        let constant = try [UInt8](repeating: 0xAB, count: 256).withUnsafeBytes { try AuthKey(copying: $0) }
        #expect(constant.id == 657_084_415_269_101_377)
    }

    @Test func recordSetSumAddAndSubtractAreInverse() {
        var sum = RecordSetSum()
        let a = [UInt8](repeating: 0xFF, count: 32)
        let b = (0..<32).map { UInt8($0 * 7 % 256) }
        sum.add(a)
        sum.add(b)
        sum.subtract(a)
        var expected = RecordSetSum()
        expected.add(b)
        #expect(sum == expected)
        sum.subtract(b)
        #expect(sum == RecordSetSum())
    }

    @Test func kdfProfilesAndBounds() throws {
        #expect(KDFParameters.interactive == KDFParameters(opsLimit: 2, memLimit: 64 << 20))
        #expect(KDFParameters.moderate == KDFParameters(opsLimit: 3, memLimit: 256 << 20))
        #expect(KDFParameters.sensitive == KDFParameters(opsLimit: 4, memLimit: 1 << 30))
        #expect(KDFParameters.default == KDFParameters(opsLimit: 3, memLimit: 64 << 20))
        for profile in [KDFParameters.interactive, .moderate, .sensitive, .default] { #expect(profile.isWithinBounds) }
        #expect(!KDFParameters(opsLimit: 2, memLimit: (19 << 20) - 1).isWithinBounds)
        #expect(!KDFParameters(opsLimit: 11, memLimit: 64 << 20).isWithinBounds)
        #expect(!KDFParameters(opsLimit: 3, memLimit: (1 << 30) + 1).isWithinBounds)
        #expect(throws: VaultError(.kdfParametersOutOfBounds, "")) {
            try KDFParameters.insecureForTestingOnly.validate(allowingTestParameters: false)
        }
        try KDFParameters.insecureForTestingOnly.validate(allowingTestParameters: true)
        #expect(throws: VaultError(.kdfParametersOutOfBounds, "")) {
            try KDFParameters(opsLimit: 3, memLimit: 2 << 30).validate(allowingTestParameters: true)
        }
    }

    @Test func recoveryKeyDisplayFormRoundTripsAndCatchesTypos() throws {
        let key = try RecoveryKey.generate()
        let display = try key.withDisplayForm { String(decoding: $0, as: UTF8.self) }
        #expect(display.count == 55 + 10)
        #expect(display.split(separator: "-").count == 11)
        let parsed = try RecoveryKey(parsing: try SecretBytes(copying: UnsafeRawBufferPointer(Array(display.lowercased().utf8).withUnsafeBytes { $0 })))
        #expect(parsed.secret.isEqual(to: key.secret))
        var typo = Array(display.utf8)
        typo[3] = typo[3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: VaultError(.invalidArgument, "")) {
            try typo.withUnsafeBytes { try RecoveryKey(parsing: try SecretBytes(copying: $0)) }
        }
        #expect(throws: VaultError(.invalidArgument, "")) {
            try Array("ABC".utf8).withUnsafeBytes { try RecoveryKey(parsing: try SecretBytes(copying: $0)) }
        }
    }

    @Test(arguments: [
        ("bot", "/bot.session"), ("bot.db", "/bot.db"), ("dir/bot", "/dir/bot.session"), (".hidden", "/.hidden.session"),
        ("a.b/c", "/a.b/c.session"),
    ])
    func pathResolution(input: String, suffix: String) throws {
        let resolved = try VaultPath.resolve(input)
        #expect(resolved.hasPrefix("/"))
        #expect(resolved.hasSuffix(suffix))
        #expect(try VaultPath.resolve("/abs/x") == "/abs/x.session")
    }

    @Test(arguments: ["", "dir/", ".", ".."])
    func unusablePathsAreRefused(_ path: String) {
        #expect(throws: VaultError(.invalidArgument, "")) { try VaultPath.resolve(path) }
    }
}
