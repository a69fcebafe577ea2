import Foundation
import Synchronization
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// `write { batch in … }`: several changes, one transaction; failures change nothing.
@Suite("Batched writes")
struct VaultBatchTests {
    /// A vault over a store that counts commits, plus the backing (to reopen it).
    private func countingVault(_ backing: SharedDictionaryStore.Backing) async throws -> SessionVault {
        try await SessionVault.open(
            store: SharedDictionaryStore(backing),
            storageKind: .external,
            location: "counting",
            passphrase: passphrase(),
            configuration: fastConfiguration()
        )
    }

    private func peer(_ id: Int64, _ username: String? = nil, phone: String? = nil) -> Peer {
        Peer(id: id, accessHash: id &* 31, kind: .user, username: username, phoneNumber: phone, name: "Peer \(id)")
    }

    @Test func oneUpdateIsOneCommit() async throws {
        let backing = SharedDictionaryStore.Backing()
        let vault = try await countingVault(backing)
        try await vault.save(try sampleSession(channels: 2))
        let before = backing.commitCount.withLock { $0 }
        // Account state + 2 channels (one new) + 3 new peers: one transaction.
        try await vault.write { batch in
            batch.saveUpdateState(pts: 5000, qts: 18, date: 1_764_000_100, seq: 100)
            batch.saveChannelState(channelID: 1_000_000_000_000, pts: 2000)
            batch.saveChannelState(channelID: 1_000_000_000_777, pts: 1)
            batch.upsertPeers([peer(101, "alice"), peer(102, "bob", phone: "+1 555 0102"), peer(103)])
        }
        #expect(backing.commitCount.withLock { $0 } == before + 1)
        let state = try #require(try await vault.load()?.updateState)
        #expect(state.pts == 5000 && state.seq == 100)
        #expect(state.channels[1_000_000_000_000] == 2000 && state.channels[1_000_000_000_777] == 1)
        #expect(await vault.peerCount == 3)
        try await vault.close()

        // Everything was durable in that one commit: a fresh open authenticates and finds it.
        let reopened = try await countingVault(backing)
        let reloaded = try #require(try await reopened.load())
        #expect(reloaded.updateState == state)
        #expect(try await reopened.peer(username: "BOB")?.id == 102)
        #expect(try await reopened.peer(phoneNumber: "15550102")?.id == 102)
        #expect(await reopened.peerCount == 3)
        try await reopened.close()
    }

    @Test func unchangedValuesCostNoCommit() async throws {
        let backing = SharedDictionaryStore.Backing()
        let vault = try await countingVault(backing)
        try await vault.saveUpdateState(pts: 1, qts: 2, date: 3, seq: 4)
        let before = backing.commitCount.withLock { $0 }
        try await vault.saveUpdateState(pts: 1, qts: 2, date: 3, seq: 4)
        try await vault.write { _ in }
        #expect(backing.commitCount.withLock { $0 } == before)
        try await vault.close()
    }

    @Test func dataCentersUserAndExtras() async throws {
        let backing = SharedDictionaryStore.Backing()
        let vault = try await countingVault(backing)
        try await vault.save(try sampleSession())
        let key = try patternKey(seed: 40)
        // Telethon 1.x's set_dc: one data center remains.
        try await vault.write { batch in
            batch.saveDataCenter(DataCenter(id: 4, ipv4: Endpoint(host: "149.154.167.92", port: 443), authKey: key))
            batch.keepOnlySavedDataCenters()
            batch.setUser(LoggedInUser(id: 42, dataCenterID: 4, isBot: false, username: "someone"))
            batch.setAPIID(nil)
            batch.setTakeoutID(77)
            batch.setTestMode(true)
        }
        let session = try #require(try await vault.load())
        #expect(session.dataCenters.count == 1)
        #expect(session.dataCenters.first?.authKey == key && session.dataCenters.first?.id == 4)
        #expect(session.user?.id == 42 && session.apiID == nil && session.takeoutID == 77 && session.isTestMode)
        try await vault.write { batch in
            batch.deleteDataCenter(id: 4)
            batch.deleteDataCenter(id: 9)  // absent: nothing
            batch.setUser(nil)
            batch.setTakeoutID(nil)
            batch.setTestMode(false)
            batch.deleteChannelState(channelID: 1_000_000_000_001)
        }
        try await vault.close()
        let reopened = try await countingVault(backing)
        let reloaded = try #require(try await reopened.load())
        #expect(reloaded.dataCenters.isEmpty && reloaded.user == nil && reloaded.takeoutID == nil && !reloaded.isTestMode)
        #expect(reloaded.updateState?.channels[1_000_000_000_001] == nil)
        #expect(reloaded.updateState?.channels.count == 4)
        // Every record and the record set still authenticate after the deletions.
        #expect(await reopened.recordCount > 0)
        try await reopened.close()
    }

    @Test func channelsWithoutAnAccountStateCreateAZeroOne() async throws {
        let backing = SharedDictionaryStore.Backing()
        let vault = try await countingVault(backing)
        try await vault.write { $0.saveChannelState(channelID: 5, pts: 9) }
        let state = try #require(try await vault.load()?.updateState)
        #expect(state == UpdateState(pts: 0, qts: 0, date: 0, seq: 0, channels: [5: 9]))
        try await vault.close()
    }

    @Test func removingTheUpdateStateRemovesEveryChannel() async throws {
        let backing = SharedDictionaryStore.Backing()
        let vault = try await countingVault(backing)
        try await vault.save(try sampleSession(channels: 4))
        await #expect(throws: VaultError(.invalidArgument, "")) {
            try await vault.write { batch in
                batch.removeUpdateState()
                batch.saveChannelState(channelID: 1, pts: 1)
            }
        }
        let before = backing.commitCount.withLock { $0 }
        try await vault.write { $0.removeUpdateState() }
        #expect(backing.commitCount.withLock { $0 } == before + 1)
        #expect(try await vault.load()?.updateState == nil)
        try await vault.close()
        let reopened = try await countingVault(backing)  // the record set still authenticates
        #expect(try await reopened.load()?.updateState == nil)
        #expect(try await reopened.load()?.dataCenters.count == 3)
        try await reopened.close()
    }

    @Test func aFailedBatchChangesNothing() async throws {
        let backing = SharedDictionaryStore.Backing()
        let vault = try await countingVault(backing)
        try await vault.save(try sampleSession())
        let before = backing.commitCount.withLock { $0 }
        let original = try await vault.load()
        await #expect(throws: VaultError(.invalidArgument, "")) {
            try await vault.write { batch in
                batch.saveUpdateState(pts: 1, qts: 1, date: 1, seq: 1)
                batch.saveChannelState(channelID: 3, pts: 3)
                batch.deleteChannelState(channelID: 3)
            }
        }
        await #expect(throws: VaultError(.invalidArgument, "")) {
            try await vault.write { batch in
                batch.saveUpdateState(pts: 1, qts: 1, date: 1, seq: 1)
                batch.saveDataCenter(DataCenter(id: 0))
            }
        }
        await #expect(throws: VaultError(.invalidArgument, "")) {
            try await vault.write { batch in
                batch.saveDataCenter(DataCenter(id: 3))
                batch.deleteDataCenter(id: 3)
            }
        }
        await #expect(throws: VaultError(.invalidArgument, "")) {
            try await vault.write { batch in
                batch.saveUpdateState(pts: 1, qts: 1, date: 1, seq: 1)
                batch.upsertPeers([Peer(id: 1, accessHash: 1, kind: .user, name: String(repeating: "x", count: 2000))])
            }
        }
        // The builder's own error propagates and nothing is written.
        await #expect(throws: VaultError(.io, "")) {
            try await vault.write { (batch) throws(VaultError) in
                batch.saveUpdateState(pts: 1, qts: 1, date: 1, seq: 1)
                throw VaultError(.io, "the caller gave up")
            }
        }
        #expect(backing.commitCount.withLock { $0 } == before)
        #expect(try await vault.load() == original)
        try await vault.close()
        await #expect(throws: VaultError(.closed, "")) { try await vault.write { _ in } }
    }

    @Test func batchesOnARealVaultFile() async throws {
        try await withTemporaryDirectory { directory in
            var configuration = fastConfiguration()
            configuration.fallback = .fail
            let vault = try await SessionVault.open(at: directory + "/bot", passphrase: passphrase(), configuration: configuration)
            let key = try patternKey(seed: 9)
            try await vault.write { batch in
                batch.saveDataCenter(DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.51", port: 443), authKey: key))
                batch.saveUpdateState(pts: 7, qts: 0, date: 1, seq: 2)
                batch.upsertPeers([peer(5, "five")])
            }
            try await vault.close()
            let reopened = try await SessionVault.open(at: directory + "/bot", passphrase: passphrase(), configuration: configuration)
            #expect(try await reopened.load()?.dataCenters.first?.authKey == (try patternKey(seed: 9)))
            #expect(try await reopened.peer(username: "five")?.id == 5)
            try await reopened.close()
        }
    }
}
