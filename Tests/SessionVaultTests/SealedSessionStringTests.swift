import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

@Suite("Sealed session strings")
struct SealedSessionStringTests {
    func seal(_ session: Session, _ secret: String = "string passphrase") throws -> String {
        try SealedSessionString.seal(session, passphrase: passphrase(secret), configuration: fastConfiguration())
    }

    func open(_ text: String, _ secret: String = "string passphrase") async throws -> SessionVault {
        try await SealedSessionString.open(text, passphrase: passphrase(secret), configuration: fastConfiguration())
    }

    /// Rebuilds a string from a modified blob.
    func mutate(_ text: String, _ change: (inout [UInt8]) -> Void) throws -> String {
        var blob = try #require(try GuardedBase64.decodeText(text.dropFirst(5), padding: .unpadded))
        change(&blob)
        return "svs1." + (try GuardedBase64.encodeText(blob, padding: .unpadded))
    }

    @Test func roundTripsEveryFieldIntoAMemoryVault() async throws {
        let session = try sampleSession(channels: 300)
        let text = try seal(session)
        #expect(text.hasPrefix("svs1."))
        #expect(!text.contains("=") && !text.contains("+") && !text.contains("/") && !text.contains("\n"))
        let vault = try await open(text + "\n")  // a trailing newline (from a file or env) is fine
        #expect(vault.storageKind == .memory)
        #expect(try await vault.load() == session)
        try await vault.close()
        #expect(try seal(session) != text)  // fresh salt, keys and nonces every time
    }

    @Test func leaksNoIdentifier() throws {
        let session = try sampleSession()
        let blob = try #require(try GuardedBase64.decodeText(try seal(session).dropFirst(5), padding: .unpadded))
        let user = try #require(session.user)
        for needle in [Array(user.username!.utf8), withUnsafeBytes(of: user.id.littleEndian) { Array($0) }, Array("149.154.167.51".utf8)] {
            #expect(!contains(blob, needle))
        }
        for key in session.dataCenters.compactMap(\.authKey) { #expect(!contains(blob, Array(rawBytes(key).prefix(8)))) }
    }

    @Test func wrongPassphraseAndTamperingAreRefused() async throws {
        let text = try seal(try sampleSession())
        await #expect(throws: VaultError(.wrongPassphrase, "")) { _ = try await open(text, "not it") }
        // salt (offset 18), keyslot nonce (34), wrapped key (58): indistinguishable from a wrong passphrase.
        for offset in [18, 34, 58] {
            let altered = try mutate(text) { $0[offset] ^= 1 }
            await #expect(throws: VaultError(.wrongPassphrase, "")) { _ = try await open(altered) }
        }
        // payload nonce and ciphertext.
        for offset in [106, 140, 300] {
            let altered = try mutate(text) { $0[offset] ^= 1 }
            await #expect(throws: VaultError(.tampered, "")) { _ = try await open(altered) }
        }
        let truncated = try mutate(text) { $0.removeLast(3) }
        await #expect(throws: VaultError(.tampered, "")) { _ = try await open(truncated) }
    }

    @Test func malformedStringsGetClearErrors() async throws {
        let text = try seal(try sampleSession())
        let cases: [(String, VaultError.Code)] = [
            ("", .invalidArgument),
            ("1BQANOTasealedstring", .invalidArgument),
            ("svs2." + text.dropFirst(5), .invalidArgument),
            ("svs1.not*base64", .invalidArgument),
            ("svs1." + text.dropFirst(5) + "=", .invalidArgument),
            ("svs1.AAAA", .corrupt),
            (try mutate(text) { $0[0] = 2 }, .unsupportedFormatVersion),
            (try mutate(text) { $0[1] = 7 }, .unsupportedFormatVersion),
        ]
        for (input, code) in cases {
            do {
                _ = try await open(input)
                Issue.record("'\(input.prefix(20))' opened")
            } catch let error as VaultError {
                #expect(error.code == code, "\(input.prefix(20)): \(error)")
            }
        }
    }

    @Test func kdfParametersAreBoundedBeforeDeriving() async throws {
        let text = try seal(try sampleSession())
        // opslimit at offset 2 (u64le), memlimit at offset 10 (u64le): ask for 64 GiB.
        let greedy = try mutate(text) { $0[10 + 4] = 16 }
        var configuration = SessionVault.Configuration()
        configuration.allowsInsecureKDFParametersForTesting = false
        let derivations = DerivationCounter()
        await DerivationCounter.$current.withValue(derivations) {
            await #expect(throws: VaultError(.kdfParametersOutOfBounds, "")) {
                _ = try await SealedSessionString.open(greedy, passphrase: passphrase("string passphrase"), configuration: configuration)
            }
        }
        #expect(derivations.count == 0)
        // A string sealed with test parameters needs the explicit test switch to open.
        await #expect(throws: VaultError(.kdfParametersOutOfBounds, "")) {
            _ = try await SealedSessionString.open(text, passphrase: passphrase("string passphrase"), configuration: configuration)
        }
    }

    @Test func realParametersRoundTrip() async throws {
        var configuration = SessionVault.Configuration()
        configuration.kdf = .interactive
        let session = Session(dataCenters: [DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.51", port: 443), authKey: try AuthKey.random())])
        let text = try SealedSessionString.seal(session, passphrase: passphrase("p"), configuration: configuration)
        let vault = try await SealedSessionString.open(text, passphrase: passphrase("p"))
        #expect(try await vault.load() == session)
        try await vault.close()
    }
}
