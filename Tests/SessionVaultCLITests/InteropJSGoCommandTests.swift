import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// `import` and `export` of GramJS, mtcute and gotd sessions through the built binary: into a
/// sealed vault and back out byte-identically.
@Suite("Interop commands: GramJS, mtcute, gotd")
struct InteropJSGoCommandTests {
    static let fixtures = InteropCommandTests.fixtures
    static let env = InteropCommandTests.env

    @Test(arguments: [
        ("gramjs-from-telethon-v8.txt", "gramjs-string", "GramJS string session"),
        ("gramjs-from-telethon-ipv6.txt", "gramjs-string", "GramJS string session"),
        ("mtcute-v3.txt", "mtcute-string", "mtcute string session"),
        ("mtcute-v3-test-ipv6-bot.txt", "mtcute-string", "mtcute string session"),
        ("gotd-tdesktop.json", "gotd-json", "gotd session JSON"),
    ])
    func importThenExportIsByteIdentical(fixture: String, format: String, displayName: String) async throws {
        try await withTemporaryDirectory { directory in
            let source = Self.fixtures + "/" + fixture
            let imported = try await CLI.run(["import", source, "vault", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(imported.status == 0, "\(imported.err)")
            #expect(imported.err.contains("imported \(displayName)"), "\(imported.err)")
            #expect(imported.err.contains("verified"))
            #expect(fileMode(directory + "/vault.session") == 0o600)
            // The vault holds no plaintext key: the fixture's base64 body never appears in it.
            let vaultText = String(decoding: fileBytes(directory + "/vault.session"), as: UTF8.self)
            let sourceText = String(decoding: fileBytes(source), as: UTF8.self)
            #expect(!vaultText.contains(String(sourceText.suffix(60))))

            let output = directory + "/out"
            let exported = try await CLI.run(
                ["export", "vault", "--format", format, "--plaintext", "--output", output], environment: Self.env, directory: directory)
            #expect(exported.status == 0, "\(exported.err)")
            #expect(fileBytes(output) == fileBytes(source), "byte-identical export")
            #expect(fileMode(output) == 0o600)
        }
    }

    @Test func forcedFormatThatDoesNotMatchNamesWhatWasSeen() async throws {
        try await withTemporaryDirectory { directory in
            let result = try await CLI.run(
                ["import", Self.fixtures + "/mtcute-v3.txt", "vault", "--format", "gotd-json", "--kdf", "interactive"],
                environment: Self.env, directory: directory)
            #expect(result.status != 0)
            #expect(result.err.contains("invalid-argument") || result.err.contains("--format gotd-json was given"), "\(result.err)")
            #expect(result.err.contains("mtcute string session"), "\(result.err)")
            #expect(!FileManager.default.fileExists(atPath: directory + "/vault.session"), "no partial vault")
        }
    }

    @Test func badGotdJSONLeavesNothingBehind() async throws {
        try await withTemporaryDirectory { directory in
            let source = directory + "/gotd.json"
            let text = String(decoding: fileBytes(Self.fixtures + "/gotd-tdesktop.json"), as: UTF8.self)
            try Data(InteropJSGoFormatKeyID.zeroed(text).utf8).write(to: URL(fileURLWithPath: source))
            let result = try await CLI.run(["import", source, "vault", "--kdf", "interactive"], environment: Self.env, directory: directory)
            #expect(result.status != 0)
            #expect(result.err.contains("does not match its auth key"), "\(result.err)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["gotd.json"])
        }
    }
}

/// A gotd session with its AuthKeyID replaced by 8 zero bytes.
enum InteropJSGoFormatKeyID {
    static func zeroed(_ gotd: String) -> String {
        let start = gotd.range(of: "\"AuthKeyID\":\"")!.upperBound
        let end = gotd[start...].firstIndex(of: "\"")!
        return gotd.replacingCharacters(in: start..<end, with: "AAAAAAAAAAA=")
    }
}
