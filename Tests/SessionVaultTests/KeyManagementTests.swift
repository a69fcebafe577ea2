import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

@Suite("Key management")
struct KeyManagementTests {
    func snapshot(_ path: String, _ sql: String) throws -> [[UInt8]] {
        try withRawDatabase(path) { db in
            let statement = try db.statement(sql)
            defer { statement.reset() }
            var rows: [[UInt8]] = []
            while try statement.step() { rows.append(statement.blob(0)) }
            return rows
        }
    }

    func openExisting(_ path: String, _ secret: String) async throws -> SessionVault {
        try await SessionVault.open(at: path, passphrase: passphrase(secret), configuration: fastConfiguration(mode: .openExisting))
    }

    @Test func changingThePassphraseRewrapsOnlyTheKeyslot() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/pw", passphrase: passphrase("old"), configuration: fastConfiguration())
            let path = try #require(vault.path)
            try await vault.save(try sampleSession(channels: 50))
            try await vault.close()
            let recordsBefore = try snapshot(path, "SELECT tag || nonce || ciphertext FROM sv_record ORDER BY tag")
            let oldWrapped = try snapshot(path, "SELECT wrapped_key FROM sv_keyslot")
            let oldSalt = try snapshot(path, "SELECT salt FROM sv_keyslot")

            let reopened = try await openExisting(path, "old")
            try await reopened.changePassphrase(to: passphrase("new"))
            #expect(try await reopened.load() == (try sampleSession(channels: 50)))
            // Still usable after the change.
            try await reopened.saveUpdateState(pts: 1, qts: 2, date: 3, seq: 4)
            let wal = fileBytes(path + "-wal")
            try await reopened.close()

            // Only the update state's row was rewritten (by the save above); every other row is byte-identical.
            let recordsAfter = try snapshot(path, "SELECT tag || nonce || ciphertext FROM sv_record ORDER BY tag")
            #expect(recordsAfter.count == recordsBefore.count)
            #expect(Set(recordsAfter).subtracting(recordsBefore).count == 1)
            #expect(Set(recordsBefore).subtracting(recordsAfter).count == 1)
            let file = fileBytes(path)
            for old in oldWrapped + oldSalt {
                #expect(!contains(file, old))
                #expect(!contains(wal, old))
            }
            await #expect(throws: VaultError(.wrongPassphrase, "")) { _ = try await openExisting(path, "old") }
            let withNew = try await openExisting(path, "new")
            #expect(try await withNew.load()?.updateState?.pts == 1)
            try await withNew.close()
        }
    }

    @Test func aRecoveryKeyOpensTheVaultAndSurvivesPassphraseChanges() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/rk", passphrase: passphrase("pw"), configuration: fastConfiguration())
            let path = try #require(vault.path)
            try await vault.save(try sampleSession())
            let recovery = try await vault.addRecoveryKey()
            #expect(await vault.keyslotKinds == [.passphrase, .recoveryKey])
            try await vault.changePassphrase(to: passphrase("pw2"))
            try await vault.close()

            let viaRecovery = try await SessionVault.open(at: path, recoveryKey: recovery, configuration: fastConfiguration())
            #expect(try await viaRecovery.load() == (try sampleSession()))
            // The recovery key resets a lost passphrase.
            try await viaRecovery.changePassphrase(to: passphrase("pw3"))
            try await viaRecovery.close()
            let viaPassphrase = try await openExisting(path, "pw3")
            try await viaPassphrase.close()

            let wrongKey = try RecoveryKey.generate()
            await #expect(throws: VaultError(.wrongPassphrase, "")) {
                _ = try await SessionVault.open(at: path, recoveryKey: wrongKey, configuration: fastConfiguration())
            }
        }
    }

    @Test func rotationResealsEverythingAndPurgesOldCiphertexts() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/rot", passphrase: passphrase("pw"), configuration: fastConfiguration())
            let path = try #require(vault.path)
            let session = try sampleSession(channels: 200)
            try await vault.save(session)
            let oldRecovery = try await vault.addRecoveryKey()
            try await vault.close()
            let oldCiphertexts = try snapshot(path, "SELECT ciphertext FROM sv_record")
            let oldTags = try snapshot(path, "SELECT tag FROM sv_record")
            let oldWrapped = try snapshot(path, "SELECT wrapped_key FROM sv_keyslot")
            let expectedRows = 207  // 3 DCs, user, state, 200 channels, extras, manifest
            #expect(oldCiphertexts.count == expectedRows)

            let reopened = try await openExisting(path, "pw")
            let newRecovery = try #require(try await reopened.rotateDataKey(passphrase: passphrase("pw")))
            #expect(try await reopened.load() == session)
            try await reopened.saveChannelState(channelID: 5, pts: 5)  // the new keys are live
            let wal = fileBytes(path + "-wal")
            try await reopened.close()

            let file = fileBytes(path)
            for old in oldCiphertexts + oldWrapped {
                #expect(!contains(file, Array(old.prefix(24))))
                #expect(!contains(wal, Array(old.prefix(24))))
            }
            let newTags = Set(try snapshot(path, "SELECT tag FROM sv_record"))
            #expect(newTags.isDisjoint(with: Set(oldTags)))

            let again = try await openExisting(path, "pw")
            var expected = session
            expected.updateState?.channels[5] = 5
            #expect(try await again.load() == expected)
            try await again.close()
            await #expect(throws: VaultError(.wrongPassphrase, "")) {
                _ = try await SessionVault.open(at: path, recoveryKey: oldRecovery, configuration: fastConfiguration())
            }
            let viaNew = try await SessionVault.open(at: path, recoveryKey: newRecovery, configuration: fastConfiguration())
            try await viaNew.close()
        }
    }

    @Test func memoryVaultsHaveNoPassphraseToChange() async throws {
        let vault = try await SessionVault.inMemory()
        await #expect(throws: VaultError(.invalidArgument, "")) { try await vault.changePassphrase(to: passphrase()) }
        await #expect(throws: VaultError(.invalidArgument, "")) { _ = try await vault.addRecoveryKey() }
        try await vault.close()
    }
}
