import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit

#if canImport(Glibc)
import Glibc
import SessionVaultTestSupport
#endif

/// What reaches the disk: no plaintext, modes 0600, nothing left after delete.
@Suite("At rest")
struct AtRestTests {
    /// Every 8-byte window of every key, the username, the user id (decimal text and 8-byte
    /// little-endian), DC addresses and channel ids.
    func forbiddenNeedles(_ session: Session) -> [(String, [UInt8])] {
        var needles: [(String, [UInt8])] = []
        for dataCenter in session.dataCenters {
            for key in [dataCenter.authKey, dataCenter.temporaryAuthKey].compactMap({ $0 }) {
                let bytes = rawBytes(key)
                for start in 0...(bytes.count - 8) {
                    needles.append(("auth key \(key.id) window \(start)", Array(bytes[start..<(start + 8)])))
                }
            }
            if let ipv4 = dataCenter.ipv4 { needles.append(("address", Array(ipv4.host.utf8))) }
        }
        if let user = session.user {
            needles.append(("username", Array(user.username!.utf8)))
            needles.append(("user id text", Array(String(user.id).utf8)))
            needles.append(("user id LE", withUnsafeBytes(of: user.id.littleEndian) { Array($0) }))
        }
        for channel in session.updateState!.channels.keys {
            needles.append(("channel id LE", withUnsafeBytes(of: channel.littleEndian) { Array($0) }))
            needles.append(("channel id text", Array(String(channel).utf8)))
        }
        return needles
    }

    func expectNoPlaintext(in path: String, of session: Session, sourceLocation: SourceLocation = #_sourceLocation) {
        let bytes = fileBytes(path)
        for (name, needle) in forbiddenNeedles(session) where contains(bytes, needle) {
            Issue.record("\(path) contains \(name)", sourceLocation: sourceLocation)
        }
    }

    @Test func vaultFileAndWALHoldNoPlaintext() async throws {
        try await withTemporaryDirectory { directory in
            let session = try sampleSession(channels: 20)
            let vault = try await SessionVault.open(at: directory + "/plain", passphrase: passphrase(), configuration: fastConfiguration())
            let path = try #require(vault.path)
            try await vault.save(session)
            for i in 0..<50 { try await vault.saveUpdateState(pts: Int32(i), qts: 1, date: 2, seq: 3) }
            try await vault.saveDataCenter(session.dataCenters[0])
            // While open, the WAL holds the recent commits.
            let wal = fileBytes(path + "-wal")
            #expect(wal.count > 0)
            expectNoPlaintext(in: path, of: session)
            expectNoPlaintext(in: path + "-wal", of: session)
            try await vault.close()
            expectNoPlaintext(in: path, of: session)
            #expect(!fileExists(path + "-wal") || fileBytes(path + "-wal").isEmpty)
            #expect(!fileExists(path + "-shm"))
        }
    }

    @Test func filesAreCreatedOwnerOnly() async throws {
        try await withTemporaryDirectory { directory in
            let previous = umask(0o022)
            defer { umask(previous) }
            let vault = try await SessionVault.open(at: directory + "/modes", passphrase: passphrase(), configuration: fastConfiguration())
            let path = try #require(vault.path)
            try await vault.save(try sampleSession())
            #expect(fileMode(path) == 0o600)
            #expect(fileMode(path + "-wal") == 0o600)
            #expect(fileMode(path + "-lock") == 0o600)
            try await vault.close()
            #expect(fileMode(path) == 0o600)
        }
    }

    @Test func looseModesOnAnExistingVaultAreWarnedAbout() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/loose", passphrase: passphrase(), configuration: fastConfiguration())
            let path = try #require(vault.path)
            try await vault.close()
            chmod(path, 0o644)
            let capture = LogCapture()
            let again = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(logger: capture.logger()))
            try await again.close()
            #expect(capture.warnings.count == 1)
            #expect(capture.warnings.first?.contains("644") == true)
        }
    }

    @Test func deleteLeavesNoFileBehind() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/gone", passphrase: passphrase(), configuration: fastConfiguration())
            try await vault.save(try sampleSession())
            try await vault.saveUpdateState(pts: 1, qts: 2, date: 3, seq: 4)
            try await vault.delete()
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [])
            await #expect(throws: VaultError(.closed, "")) { _ = try await vault.load() }
        }
    }

    @Test func secondOpenerInTheSameProcessGetsInUseWithOurPid() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/held", passphrase: passphrase(), configuration: fastConfiguration())
            do {
                _ = try await SessionVault.open(at: directory + "/held", passphrase: passphrase(), configuration: fastConfiguration())
                Issue.record("a second opener got the vault")
            } catch let error as VaultError {
                #expect(error.code == .inUse)
                #expect(error.holderPID == getpid())
                #expect(error.message.contains("is in use by pid \(getpid())"))
            }
            try await vault.close()
            let again = try await SessionVault.open(at: directory + "/held", passphrase: passphrase(), configuration: fastConfiguration())
            try await again.close()
        }
    }

    @Test func aWaitingOpenerGetsTheVaultWhenTheHolderCloses() async throws {
        try await withTemporaryDirectory { directory in
            let first = try await SessionVault.open(at: directory + "/wait", passphrase: passphrase(), configuration: fastConfiguration())
            try await first.saveUpdateState(pts: 77, qts: 0, date: 0, seq: 0)
            var waiting = fastConfiguration(mode: .openExisting)
            waiting.lockWait = .seconds(10)
            let second = Task {
                try await SessionVault.open(at: directory + "/wait", passphrase: passphrase(), configuration: waiting)
            }
            try await Task.sleep(for: .milliseconds(200))
            try await first.close()
            let vault = try await second.value
            #expect(try await vault.load()?.updateState?.pts == 77)
            try await vault.close()
        }
    }
}

/// The memory-only fallback when libsqlite3 cannot be loaded, forced for real with a missing library.
@Suite("Memory fallback")
struct FallbackTests {
    @Test func missingSQLiteGivesAMemoryVaultWithOneWarningAndNoFile() async throws {
        try await withTemporaryDirectory { directory in
            let capture = LogCapture()
            var configuration = fastConfiguration(logger: capture.logger())
            configuration.sqliteLibraryPath = directory + "/no-such-libsqlite3.so.0"
            let vault = try await SessionVault.open(at: directory + "/fallback", passphrase: passphrase(), configuration: configuration)
            #expect(vault.storageKind == .memory)
            #expect(vault.path == directory + "/fallback.session")
            let session = try sampleSession()
            try await vault.save(session)
            try await vault.saveUpdateState(pts: 1, qts: 2, date: 3, seq: 4)
            #expect(try await vault.load()?.user == session.user)
            try await vault.close()
            #expect(capture.warnings.count == 1)
            #expect(capture.warnings.first?.contains("memory-only") == true)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [])
        }
    }

    @Test func failPolicyThrowsSQLiteUnavailable() async throws {
        try await withTemporaryDirectory { directory in
            var configuration = fastConfiguration()
            configuration.sqliteLibraryPath = "/nonexistent/libsqlite3.so"
            configuration.fallback = .fail
            await #expect(throws: VaultError(.sqliteUnavailable, "")) {
                _ = try await SessionVault.open(at: directory + "/x", passphrase: passphrase(), configuration: configuration)
            }
            let listing = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(listing.isEmpty)
        }
    }

    @Test func aLibraryWithoutSQLiteSymbolsIsRefused() {
        // libsodium is a real shared library that is not SQLite: every symbol lookup fails.
        let result = SQLiteLibrary.load(path: "libsodium.so.23")
        guard case .failure(let error) = result else {
            Issue.record("libsodium was accepted as SQLite")
            return
        }
        #expect(error.code == .sqliteUnavailable)
        #expect(error.message.contains("missing symbol"))
    }

    @Test func theSystemLibraryLoads() throws {
        let library = try SQLiteLibrary.load().get()
        #expect(library.version.hasPrefix("3."))
    }
}
