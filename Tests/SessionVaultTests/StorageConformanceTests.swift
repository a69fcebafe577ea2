import Foundation
#if SESSION_VAULT_POSTGRES
import SessionVaultPostgres
#endif
import Synchronization
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// One behavioural suite that every `SessionStorage` implementation must pass.
enum StorageUnderTest: String, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case memory
    /// A store written outside the module, opened through `SessionVault.open(store:…)`.
    case external
    /// A session in the test PostgreSQL cluster (`scripts/with-postgres.sh`), when one is running.
    case postgres

    /// Every backend this run can reach: PostgreSQL only when `SESSION_VAULT_TEST_POSTGRES_URL` is set
    /// (`make test` always sets it; `PostgresTests/serverIsAvailableWhenRequired` fails in CI otherwise).
    static var available: [StorageUnderTest] {
        #if SESSION_VAULT_POSTGRES
        PostgresTestServer.url == nil ? [.sqlite, .memory, .external] : allCases
        #else
        [.sqlite, .memory, .external]
        #endif
    }

    var testDescription: String { rawValue }

    /// Opens a storage in `directory`; `reopen` returns the same storage again after close when the
    /// backend persists (nil for memory storage, whose contents die with it).
    func make(in directory: String) async throws -> (storage: SessionVault, reopen: (() async throws -> SessionVault)?) {
        switch self {
        case .sqlite:
            let path = directory + "/conformance"
            let vault = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration())
            return (vault, { try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting)) })
        case .memory:
            return (try await SessionVault.open(at: nil, passphrase: passphrase(), configuration: fastConfiguration()), nil)
        case .external:
            let backing = SharedDictionaryStore.Backing()
            let open = { (mode: SessionVault.Configuration.Mode) in
                try await SessionVault.open(
                    store: SharedDictionaryStore(backing),
                    storageKind: .external,
                    location: "shared dictionary",
                    passphrase: passphrase(),
                    configuration: fastConfiguration(mode: mode)
                )
            }
            return (try await open(.create), { try await open(.openExisting) })
        case .postgres:
            #if SESSION_VAULT_POSTGRES
            let location = try PostgresTestServer.location(session: "conformance-\(UUID().uuidString)")
            let open = { (mode: SessionVault.Configuration.Mode) in
                try await PostgresVault.open(location, passphrase: passphrase(), configuration: fastConfiguration(mode: mode))
            }
            return (try await open(.create), { try await open(.openExisting) })
            #else
            throw VaultError(.notFound, "built without PostgreSQL (SESSION_VAULT_WITHOUT_POSTGRES)")
            #endif
        }
    }
}

@Suite("SessionStorage conformance")
struct StorageConformanceTests {
    @Test(arguments: StorageUnderTest.available)
    func newStorageLoadsNil(_ kind: StorageUnderTest) async throws {
        try await withTemporaryDirectory { directory in
            let (storage, _) = try await kind.make(in: directory)
            #expect(try await storage.load() == nil)
            #expect(storage.storageKind.rawValue == kind.rawValue)
            try await storage.close()
        }
    }

    @Test(arguments: StorageUnderTest.available)
    func fullSaveRoundTripsEveryField(_ kind: StorageUnderTest) async throws {
        try await withTemporaryDirectory { directory in
            let (storage, reopen) = try await kind.make(in: directory)
            let session = try sampleSession()
            try await storage.save(session)
            #expect(try await storage.load() == session)
            try await storage.close()
            if let reopen {
                let again = try await reopen()
                let loaded = try #require(try await again.load())
                #expect(loaded == session)
                #expect(loaded.dataCenters.count == 3)
                #expect(loaded.dataCenter(id: 2)?.authKey == session.dataCenter(id: 2)?.authKey)
                #expect(loaded.dataCenter(id: 2)?.temporaryAuthKey?.id == session.dataCenter(id: 2)?.temporaryAuthKey?.id)
                #expect(loaded.dataCenter(id: 2, mediaOnly: true)?.isMediaOnly == true)
                #expect(loaded.user?.username == "vault_test_bot")
                #expect(loaded.updateState?.channels.count == 5)
                #expect(loaded.apiID == 611335)
                #expect(loaded.takeoutID == 8_000_000_001)
                try await again.close()
            }
        }
    }

    @Test(arguments: StorageUnderTest.available)
    func hotPathWritesRoundTrip(_ kind: StorageUnderTest) async throws {
        try await withTemporaryDirectory { directory in
            let (storage, reopen) = try await kind.make(in: directory)
            try await storage.save(try sampleSession(channels: 2))
            try await storage.saveUpdateState(pts: 5000, qts: 18, date: 1_764_000_100, seq: 100)
            try await storage.saveChannelState(channelID: 1_000_000_000_000, pts: 2000)
            try await storage.saveChannelState(channelID: 42, pts: 7)  // a new channel
            let newKey = try AuthKey.random()
            try await storage.saveDataCenter(DataCenter(id: 5, ipv4: Endpoint(host: "91.108.56.130", port: 443), authKey: newKey))
            try await storage.saveDataCenter(DataCenter(id: 4, ipv4: Endpoint(host: "149.154.167.92", port: 80), authKey: newKey))
            func check(_ session: Session?) throws {
                let session = try #require(session)
                let state = try #require(session.updateState)
                #expect(state.pts == 5000 && state.qts == 18 && state.date == 1_764_000_100 && state.seq == 100)
                #expect(state.channels == [1_000_000_000_000: 2000, 1_000_000_000_001: 1001, 42: 7])
                #expect(session.dataCenter(id: 5)?.authKey == newKey)
                #expect(session.dataCenter(id: 4)?.ipv4 == Endpoint(host: "149.154.167.92", port: 80))
                #expect(session.dataCenter(id: 4)?.authKey == newKey)
                #expect(session.dataCenters.map(\.id) == [2, 2, 4, 5])
            }
            try check(try await storage.load())
            try await storage.close()
            if let reopen {
                let again = try await reopen()
                try check(try await again.load())
                try await again.close()
            }
        }
    }

    @Test(arguments: StorageUnderTest.available)
    func hotPathOnEmptyVaultCreatesState(_ kind: StorageUnderTest) async throws {
        try await withTemporaryDirectory { directory in
            let (storage, reopen) = try await kind.make(in: directory)
            try await storage.saveChannelState(channelID: 9, pts: 3)
            #expect(try await storage.load()?.updateState == UpdateState(pts: 0, qts: 0, date: 0, seq: 0, channels: [9: 3]))
            try await storage.close()
            if let reopen {
                let again = try await reopen()
                #expect(try await again.load()?.updateState?.channels == [9: 3])
                try await again.close()
            }
        }
    }

    @Test(arguments: StorageUnderTest.available)
    func savingRemovesWhatTheNewSessionLacks(_ kind: StorageUnderTest) async throws {
        try await withTemporaryDirectory { directory in
            let (storage, reopen) = try await kind.make(in: directory)
            try await storage.save(try sampleSession(channels: 10))
            var smaller = try sampleSession(channels: 3)
            smaller.dataCenters.removeLast()
            smaller.user = nil
            smaller.apiID = nil
            smaller.takeoutID = nil
            try await storage.save(smaller)
            #expect(try await storage.load() == smaller)
            try await storage.save(Session())
            #expect(try await storage.load() == nil)
            try await storage.save(smaller)
            try await storage.close()
            if let reopen {
                let again = try await reopen()
                #expect(try await again.load() == smaller)
                #expect(await again.recordCount == 2 + 1 + 3)  // 2 DCs, state, 3 channels
                try await again.close()
            }
        }
    }

    @Test(arguments: StorageUnderTest.available)
    func callsAfterCloseThrowClosed(_ kind: StorageUnderTest) async throws {
        try await withTemporaryDirectory { directory in
            let (storage, _) = try await kind.make(in: directory)
            try await storage.close()
            try await storage.close()  // idempotent
            await #expect(throws: VaultError(.closed, "")) { _ = try await storage.load() }
            await #expect(throws: VaultError(.closed, "")) { try await storage.save(Session()) }
            await #expect(throws: VaultError(.closed, "")) { try await storage.saveUpdateState(pts: 1, qts: 1, date: 1, seq: 1) }
            await #expect(throws: VaultError(.closed, "")) { try await storage.saveChannelState(channelID: 1, pts: 1) }
            await #expect(throws: VaultError(.closed, "")) { try await storage.saveDataCenter(DataCenter(id: 1)) }
            await #expect(throws: VaultError(.closed, "")) { try await storage.delete() }
        }
    }

    @Test(arguments: StorageUnderTest.available)
    func invalidInputIsRefusedAndChangesNothing(_ kind: StorageUnderTest) async throws {
        try await withTemporaryDirectory { directory in
            let (storage, _) = try await kind.make(in: directory)
            let session = try sampleSession()
            try await storage.save(session)
            var duplicate = session
            duplicate.dataCenters.append(DataCenter(id: 2))
            await #expect(throws: VaultError(.invalidArgument, "")) { try await storage.save(duplicate) }
            await #expect(throws: VaultError(.invalidArgument, "")) { try await storage.saveDataCenter(DataCenter(id: 0)) }
            await #expect(throws: VaultError(.invalidArgument, "")) {
                try await storage.saveDataCenter(DataCenter(id: 3, ipv4: Endpoint(host: "", port: 443)))
            }
            await #expect(throws: VaultError(.invalidArgument, "")) {
                try await storage.saveDataCenter(DataCenter(id: 3, ipv4: Endpoint(host: "1.2.3.4", port: 0)))
            }
            var longName = session
            longName.user?.username = String(repeating: "x", count: 300)
            await #expect(throws: VaultError(.invalidArgument, "")) { try await storage.save(longName) }
            #expect(try await storage.load() == session)
            try await storage.close()
        }
    }

    @Test(arguments: StorageUnderTest.available)
    func concurrentSavesEndInOneSubmittedState(_ kind: StorageUnderTest) async throws {
        try await withTemporaryDirectory { directory in
            let (storage, reopen) = try await kind.make(in: directory)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for step in 0..<25 {
                            let value = Int32(task * 1000 + step)
                            try await storage.saveUpdateState(pts: value, qts: value, date: Int64(value), seq: value)
                            try await storage.saveChannelState(channelID: Int64(task), pts: value)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let state = try #require(try await storage.load()?.updateState)
            #expect(state.pts == state.qts && Int64(state.pts) == state.date && state.pts == state.seq)
            #expect(state.pts % 1000 == 24)
            #expect(state.channels.count == 8)
            for (channel, pts) in state.channels { #expect(pts == Int32(channel) * 1000 + 24) }
            try await storage.close()
            if let reopen {
                let again = try await reopen()
                #expect(try await again.load()?.updateState == state)
                try await again.close()
            }
        }
    }
}

/// The generic entry point for stores outside the module: modes and unlocking.
@Suite("Opening a RecordStore")
struct RecordStoreOpeningTests {
    @Test func modesWrongPassphraseAndTampering() async throws {
        let backing = SharedDictionaryStore.Backing()
        func open(_ secret: String, _ mode: SessionVault.Configuration.Mode) async throws -> SessionVault {
            try await SessionVault.open(
                store: SharedDictionaryStore(backing),
                storageKind: .external,
                location: "shared",
                passphrase: passphrase(secret),
                configuration: fastConfiguration(mode: mode)
            )
        }
        await #expect(throws: VaultError(.notFound, "")) { _ = try await open("pw", .openExisting) }
        let vault = try await open("pw", .openOrCreate)
        try await vault.save(try sampleSession())
        try await vault.close()
        await #expect(throws: VaultError(.alreadyExists, "")) { _ = try await open("pw", .create) }
        await #expect(throws: VaultError(.wrongPassphrase, "")) { _ = try await open("other", .openExisting) }
        backing.contents.withLock { contents in
            let tag = contents.records.keys.first!
            contents.records[tag]!.ciphertext[3] ^= 1
        }
        await #expect(throws: VaultError(.tampered, "")) { _ = try await open("pw", .openExisting) }
    }
}
