import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Where an outside decoder written from `docs/FORMAT.md` alone found the document and the reader
/// apart: the page-size check of §7 step 1, an empty `-wal`, and the line ending a passphrase file
/// loses (§4.1). Each file is built from a real vault, copied and patched.
@Suite("FORMAT.md and the reader agree")
struct FormatAgreementTests {
    /// A closed vault holding `sampleSession()`, with no `-wal` beside it.
    func makeVault(in directory: String, passphrase secret: Passphrase = passphrase()) async throws -> String {
        let vault = try await SessionVault.open(at: directory + "/format", passphrase: secret, configuration: fastConfiguration())
        try await vault.save(try sampleSession())
        let path = try #require(vault.path)
        try await vault.close()
        try #require(fileBytes(path + "-wal").isEmpty, "a closed vault has no pending WAL")
        unlink(path + "-wal")
        unlink(path + "-shm")
        return path
    }

    func expectOpenFails(_ path: String, code: VaultError.Code, sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            let vault = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            try? await vault.close()
            Issue.record("the vault opened although it should fail with \(code)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        }
    }

    static func bigEndian32(_ bytes: [UInt8], at offset: Int) -> Int {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
    }

    /// §7 step 1: a page size that is not a power of two from 512 to 65,536 is `not-a-vault`, checked
    /// before the length (32,769 × the page count is far more than the file, which used to be reported
    /// as a truncated, `corrupt` vault). The same with an empty `-wal` beside the file.
    @Test(arguments: [32769, 4097, 65535, 513, 768, 256, 2, 0])
    func aPageSizeThatIsNoPowerOfTwoIsNotAVaultBeforeTheLengthCheck(rawPageSize: Int) async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            var bytes = fileBytes(path)
            #expect(bytes[16] == 0x10 && bytes[17] == 0x00, "the vault uses 4096-byte pages")
            try #require(bytes[24..<28] == bytes[92..<96], "the header's page count is valid, so the length check would apply")
            if rawPageSize > 4096 {
                #expect(bytes.count < rawPageSize * Self.bigEndian32(bytes, at: 28), "the length check alone would say truncated")
            }
            bytes[16] = UInt8(rawPageSize >> 8)
            bytes[17] = UInt8(rawPageSize & 0xFF)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            await expectOpenFails(path, code: .notAVault)

            _ = FileManager.default.createFile(atPath: path + "-wal", contents: Data(), attributes: [.posixPermissions: 0o600])
            await expectOpenFails(path, code: .notAVault)
        }
    }

    /// §7 step 1: an empty `-wal` holds no page, so it counts as no `-wal`: a vault cut by one byte is
    /// `corrupt` either way (it used to be `tampered` with an empty `-wal`, when SQLite read the short
    /// last page). An intact vault with an empty `-wal` still opens.
    @Test func aVaultCutByOneByteIsCorruptWithOrWithoutAnEmptyWAL() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            let original = fileBytes(path)
            try #require(original[24..<28] == original[92..<96])
            try #require(original.count == 4096 * Self.bigEndian32(original, at: 28))

            _ = FileManager.default.createFile(atPath: path + "-wal", contents: Data(), attributes: [.posixPermissions: 0o600])
            let intact = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            #expect(try await intact.load() == (try sampleSession()))
            try await intact.close()
            unlink(path + "-wal")
            unlink(path + "-shm")
            #expect(fileBytes(path) == original)

            try Data(original.dropLast()).write(to: URL(fileURLWithPath: path))
            await expectOpenFails(path, code: .corrupt)
            #expect(!fileExists(path + "-wal"))
            _ = FileManager.default.createFile(atPath: path + "-wal", contents: Data(), attributes: [.posixPermissions: 0o600])
            await expectOpenFails(path, code: .corrupt)
            #expect(fileBytes(path).count == original.count - 1, "a refused open does not touch the file")
        }
    }

    /// §4.1 "Passphrase files": the KDF input is the file's bytes minus one trailing LF or CR LF and
    /// nothing else; a passphrase that ends in a line break needs a second one in its file.
    @Test func aPassphraseFileLosesExactlyOneLineEnding() async throws {
        try await withTemporaryDirectory { directory in
            // Names nothing else uses: reading a `…_FILE` source unsets its variable.
            let names = PassphraseSource.Names(
                variable: "SV_FORMAT_AGREEMENT_PASSPHRASE",
                fileVariable: "SV_FORMAT_AGREEMENT_PASSPHRASE_FILE",
                credential: "sv-format-agreement",
                noun: "passphrase"
            )
            let file = directory + "/passphrase"
            func read(_ content: [UInt8]) throws -> [UInt8] {
                try Data(content).write(to: URL(fileURLWithPath: file))
                return try PassphraseSource.file(path: file).read(names).withUnsafeBytes { Array($0) }
            }
            let pw = Array("pw".utf8)
            let cases: [(file: [UInt8], passphrase: [UInt8])] = [
                (pw, pw),
                (pw + [10], pw),
                (pw + [13, 10], pw),
                (pw + [10, 10], pw + [10]),
                (pw + [13, 10, 13, 10], pw + [13, 10]),
                (pw + [10, 13, 10], pw + [10]),
                (pw + [13], pw + [13]),
                (pw + [10, 13], pw + [10, 13]),
                ([32] + pw + [32, 10], [32] + pw + [32]),
                ([10] + pw, [10] + pw),
            ]
            for entry in cases {
                #expect(try read(entry.file) == entry.passphrase, "file \(entry.file)")
            }

            // A vault whose passphrase (the exact KDF input) ends in LF opens from a file only when
            // the file holds that LF plus the one the reader removes.
            let exact = "passphrase-with-a-line-break\n"
            let path = try await makeVault(in: directory, passphrase: try Passphrase(copying: exact))
            let configuration = fastConfiguration(mode: .openExisting)
            try Data((exact + "\n").utf8).write(to: URL(fileURLWithPath: file))
            let opened = try await SessionVault.open(
                at: path,
                passphrase: try Passphrase(secret: try PassphraseSource.file(path: file).read(names)),
                configuration: configuration
            )
            try await opened.close()
            try Data(exact.utf8).write(to: URL(fileURLWithPath: file))
            await #expect(throws: VaultError(.wrongPassphrase, "")) {
                _ = try await SessionVault.open(
                    at: path,
                    passphrase: try Passphrase(secret: try PassphraseSource.file(path: file).read(names)),
                    configuration: configuration
                )
            }
        }
    }
}
