import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// A secret changes only through the object that owns it: every public initialiser that takes a
/// caller's ``SecretBytes`` copies it, so wiping the caller's buffer afterwards changes no key, no key
/// id, no equality and nothing a vault stores. (Outside this package a `SecretBytes` cannot be changed
/// at all after it is made: `wipe()` and `withUnsafeMutableBytes(_:)` have `package` access. The tests
/// call them here, as the owner of the buffers they pass in.)
@Suite("Secret ownership")
struct SecretOwnershipTests {
    /// 256 bytes that differ per `seed` (and are never all zero).
    static func keyPattern(_ seed: UInt8) -> [UInt8] {
        (0..<AuthKey.byteCount).map { UInt8(truncatingIfNeeded: Int(seed) &* 31 &+ $0 &* 13 &+ 1) }
    }

    /// A caller's own guarded buffer, filled through the public closure initialiser.
    static func callerBuffer(_ bytes: [UInt8]) throws -> SecretBytes {
        try SecretBytes(count: bytes.count) { buffer in buffer.copyBytes(from: bytes) }
    }

    static func isAllZero(_ secret: SecretBytes) -> Bool {
        secret.withUnsafeBytes { $0.allSatisfy { $0 == 0 } }
    }

    @Test func theClosureInitialiserFillsTheBufferOnceAndPassesErrorsOn() throws {
        let secret = try SecretBytes(count: 4) { buffer in
            #expect(buffer.allSatisfy { $0 == 0 }, "the buffer handed to the closure starts zeroed")
            buffer.copyBytes(from: [1, 2, 3, 4])
        }
        #expect(secret.withUnsafeBytes { Array($0) } == [1, 2, 3, 4])
        struct SourceFailed: Error {}
        #expect(throws: SourceFailed.self) { _ = try SecretBytes(count: 4) { _ in throw SourceFailed() } }
    }

    @Test func wipingTheBuffersPassedInChangesNeitherKeyNorPassphrase() throws {
        let expected = Self.keyPattern(7)
        let keyBuffer = try Self.callerBuffer(expected)
        let key = try AuthKey(secret: keyBuffer)
        let copy = key  // a struct copy shares the key's read-only buffer, not the caller's
        let id = key.id
        let zeroKey = try AuthKey(secret: try SecretBytes(count: AuthKey.byteCount))
        #expect(key != zeroKey)

        let passphraseBytes = Array("owned-passphrase-Kx9".utf8)
        let passphraseBuffer = try Self.callerBuffer(passphraseBytes)
        let passphrase = try Passphrase(secret: passphraseBuffer)

        keyBuffer.wipe()
        passphraseBuffer.wipe()
        #expect(Self.isAllZero(keyBuffer) && Self.isAllZero(passphraseBuffer), "the caller's buffers really are zero now")

        #expect(rawBytes(key) == expected)
        #expect(rawBytes(copy) == expected)
        #expect(key.id == id)
        #expect(id == expected.withUnsafeBytes { AuthKey.keyID(of: $0) })
        #expect(key == copy)
        #expect(key != zeroKey, "a key whose caller wiped its buffer must not equal the all-zero key")
        #expect(key == (try expected.withUnsafeBytes { try AuthKey(copying: $0) }))
        #expect(passphrase.secret.withUnsafeBytes { Array($0) } == passphraseBytes)
        #expect(passphrase.byteCount == passphraseBytes.count)
    }

    /// The end-to-end claim: a vault made from caller buffers (auth keys, passphrase, new passphrase,
    /// recovery-key text) that the caller wipes right after passing them in stores and reloads the
    /// original keys, ids and equality from a real vault file, and opens with both secrets.
    @Test func wipingEveryBufferPassedInLeavesTheVaultsKeysUnchanged() async throws {
        try await withTemporaryDirectory { directory in
            let mainBytes = Self.keyPattern(1)
            let temporaryBytes = Self.keyPattern(2)
            let mediaBytes = Self.keyPattern(3)
            let expectedIDs = [mainBytes, temporaryBytes, mediaBytes].map { bytes in bytes.withUnsafeBytes { AuthKey.keyID(of: $0) } }
            let firstText = "first-owned-passphrase"
            let secondText = "second-owned-passphrase"

            let buffers = try [mainBytes, temporaryBytes, mediaBytes].map(Self.callerBuffer)
            let keys = try buffers.map { try AuthKey(secret: $0) }
            let session = Session(
                dataCenters: [
                    DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.51", port: 443), authKey: keys[0], temporaryAuthKey: keys[1]),
                    DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.222", port: 443), authKey: keys[2], isMediaOnly: true),
                ],
                user: LoggedInUser(id: 42, dataCenterID: 2, isBot: true, username: "owned_bot")
            )
            let firstBuffer = try Self.callerBuffer(Array(firstText.utf8))
            let vault = try await SessionVault.open(
                at: directory + "/owned",
                passphrase: try Passphrase(secret: firstBuffer),
                configuration: fastConfiguration()
            )
            let path = try #require(vault.path)
            firstBuffer.wipe()
            for buffer in buffers { buffer.wipe() }
            try await vault.save(session)

            // The recovery key, as its display text in a caller buffer, parsed, then wiped.
            let issued = try await vault.addRecoveryKey()
            let recoveryText = try issued.withDisplayForm { try SecretBytes(copying: $0) }
            let recovery = try RecoveryKey(parsing: recoveryText)
            recoveryText.wipe()

            let secondBuffer = try Self.callerBuffer(Array(secondText.utf8))
            try await vault.changePassphrase(to: try Passphrase(secret: secondBuffer))
            secondBuffer.wipe()
            #expect(buffers.allSatisfy(Self.isAllZero) && Self.isAllZero(firstBuffer) && Self.isAllZero(secondBuffer) && Self.isAllZero(recoveryText))

            // Still open: what the vault holds is unchanged.
            #expect(try await vault.load() == session)
            try await vault.close()

            // The caller's own key values are unchanged too.
            #expect(keys.map(\.id) == expectedIDs)
            #expect(keys.map(rawBytes) == [mainBytes, temporaryBytes, mediaBytes])

            let zeroKey = try AuthKey(secret: try SecretBytes(count: AuthKey.byteCount))
            func check(_ loaded: Session?) throws {
                let loaded = try #require(loaded)
                #expect(loaded == session)
                let stored = [loaded.dataCenters[0].authKey, loaded.dataCenters[0].temporaryAuthKey, loaded.dataCenters[1].authKey]
                #expect(stored.map { $0?.id } == expectedIDs)
                #expect(stored.map { $0.map(rawBytes) } == [mainBytes, temporaryBytes, mediaBytes])
                #expect(stored == keys)
                #expect(stored.allSatisfy { $0 != zeroKey })
            }
            // Reloaded from the file with the second passphrase (from a fresh buffer) and with the
            // recovery key whose text buffer was wiped.
            let byPassphrase = try await SessionVault.open(
                at: path,
                passphrase: try Passphrase(copying: secondText),
                configuration: fastConfiguration(mode: .openExisting)
            )
            try check(try await byPassphrase.load())
            try await byPassphrase.close()
            let byRecovery = try await SessionVault.open(at: path, recoveryKey: recovery, configuration: fastConfiguration())
            try check(try await byRecovery.load())
            try await byRecovery.close()
            await #expect(throws: VaultError(.wrongPassphrase, "")) {
                _ = try await SessionVault.open(at: path, passphrase: try Passphrase(copying: firstText), configuration: fastConfiguration(mode: .openExisting))
            }
        }
    }

    @Test func anImportedSessionDoesNotKeepTheCallersText() throws {
        let key = try Self.callerBuffer(Self.keyPattern(9)).withUnsafeBytes { try AuthKey(copying: $0) }
        let session = Session(
            dataCenters: [DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.51", port: 443), authKey: key)],
            user: LoggedInUser(id: 42, dataCenterID: 2, isBot: true)
        )
        let (text, _) = try SessionExporter.string(session, format: .telethonString)
        let imported = try SessionImporter.read(from: .text(text))
        text.wipe()
        let importedKey = try #require(imported.session.dataCenters.first?.authKey)
        #expect(importedKey == key)
        #expect(importedKey.id == key.id)
        #expect(rawBytes(importedKey) == Self.keyPattern(9))
    }
}
