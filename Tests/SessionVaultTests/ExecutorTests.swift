import Foundation
import Synchronization
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Where the vault's work runs. No test here asserts a duration: how long things take is the
/// benchmark's business (`pool_stall_ms`, `open_main_actor_stall_ms`); these check who ran what.
@Suite("Executors")
struct ExecutorTests {
    /// The name of the calling thread, as the kernel knows it.
    static func threadName() -> String {
        (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    }

    @Test func storeCallsRunOnVaultThreadsNeverOnTheMainActor() async throws {
        let control = HeldCommitStore.Control()
        let backing = SharedDictionaryStore.Backing()
        let vault = try await Self.openOnMainActor(HeldCommitStore(backing, control: control))
        try await vault.save(try sampleSession())
        try await vault.saveUpdateState(pts: 1, qts: 2, date: 3, seq: 4)
        _ = try await vault.authenticateStoredRecords()
        try await vault.close()
        let names = control.threadNames
        #expect(!names.isEmpty)
        #expect(names.allSatisfy { $0.hasPrefix("sv-vault-") }, "store calls ran on \(names.sorted())")
    }

    @MainActor
    static func openOnMainActor(_ store: sending HeldCommitStore) async throws -> SessionVault {
        try await SessionVault.open(
            store: store,
            storageKind: .external,
            location: "held",
            passphrase: passphrase(),
            configuration: fastConfiguration()
        )
    }

    @Test func sqliteVaultRunsItsWorkOnItsExecutor() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/exec", passphrase: passphrase(), configuration: fastConfiguration())
            try await vault.saveUpdateState(pts: 1, qts: 1, date: 1, seq: 1)
            // The actor's own code runs on a vault thread: check from inside its isolation.
            let name = await vault.isolatedThreadName()
            #expect(name.hasPrefix("sv-vault-"), "the actor ran on \(name)")
            try await vault.close()
        }
    }

    /// Opens a vault on `store` from the caller's isolation while the open's `readRecords` (right
    /// after Argon2id) blocks its thread, and checks that the caller's actor still serves a call
    /// (`ping`) in the meantime. Were the open running on the caller's actor, its thread would be
    /// the blocked one and `ping` could not run until the read was released; a watchdog releases it
    /// after 60 s so that such a regression fails instead of hanging.
    static func callerStaysFreeDuringABlockedOpen(
        ping: @escaping @Sendable () async -> Void,
        isolation: isolated (any Actor)? = #isolation
    ) async throws {
        let control = HeldCommitStore.Control()
        let backing = SharedDictionaryStore.Backing()
        // Make a vault first, so that the open below reads records.
        try await SessionVault.open(
            store: SharedDictionaryStore(backing),
            storageKind: .external,
            location: "blocked",
            passphrase: passphrase(),
            configuration: fastConfiguration(mode: .create)
        ).close()

        control.armBlockingRead()
        // Whoever settles first (the ping, or the watchdog) releases the read.
        let settled = Mutex(false)
        @Sendable func settleFirst() -> Bool {
            settled.withLock { done in
                defer { done = true }
                return !done
            }
        }
        let watchdog = Thread {
            Thread.sleep(forTimeInterval: 60)
            if settleFirst() { control.releaseRead() }
        }
        watchdog.start()
        let opening = Task {
            _ = isolation
            return try await SessionVault.open(
                store: HeldCommitStore(backing, control: control),
                storageKind: .external,
                location: "blocked",
                passphrase: passphrase(),
                configuration: fastConfiguration(mode: .openExisting)
            )
        }
        await control.waitUntilHeld()
        await ping()
        let answeredWhileBlocked = settleFirst()
        if answeredWhileBlocked { control.releaseRead() }
        let vault = try await opening.value
        try await vault.close()
        #expect(answeredWhileBlocked, "the caller's actor answered only after the open was released")
        let blockedThread = try #require(control.blockedReadThread)
        #expect(blockedThread.hasPrefix("sv-vault-"), "the open's read blocked \(blockedThread)")
    }

    /// An actor on a thread of its own, so that its availability does not depend on Swift's
    /// cooperative pool or the main thread (which other suites running in parallel can starve).
    actor CallerOnItsOwnThread {
        private let executor: VaultExecutor

        init() throws {
            // A private one-thread pool; its thread lives until the test process ends.
            executor = try VaultExecutor(pool: VaultThreadPool(threadCount: 1, name: "sv-test-caller"))
        }

        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

        func ping() {}

        func save(_ count: Int, to vault: SessionVault) async throws {
            for save in 1...count {
                try await vault.saveUpdateState(pts: Int32(save), qts: 0, date: 0, seq: Int32(save))
            }
        }

        func openWhileBlocked() async throws {
            try await ExecutorTests.callerStaysFreeDuringABlockedOpen { await self.ping() }
        }
    }

    /// The caller's actor is free while its `open` does blocking work (Argon2id, SQLite): a call on
    /// that actor is served while the open is blocked in a store read.
    @Test(.timeLimit(.minutes(2)))
    func theCallersActorIsFreeWhileItsOpenBlocks() async throws {
        try await CallerOnItsOwnThread().openWhileBlocked()
    }

    /// The same with the main actor as the caller: an app's UI stays responsive during an open.
    @MainActor
    @Test(.timeLimit(.minutes(2)))
    func theMainActorIsFreeWhileItsOpenBlocks() async throws {
        try await Self.callerStaysFreeDuringABlockedOpen { await MainActor.run {} }
    }

    /// Argon2id runs on the derivation lane, not on the vault pool: while twice as many opens as
    /// the pool has threads are deriving, an open vault's saves still get a pool thread. (Were the
    /// derivations on the vault pool, the saves would queue behind them and at least a pool's worth
    /// of the opens would have finished first.)
    @Test func derivationsDoNotHoldVaultThreads() async throws {
        try await withTemporaryDirectory { directory in
            var fast = fastConfiguration()
            fast.durability = .normal
            let vault = try await SessionVault.open(at: directory + "/busy", passphrase: passphrase(), configuration: fast)
            let slow = {
                var configuration = SessionVault.Configuration()
                configuration.mode = .create
                configuration.kdf = .default
                return configuration
            }()
            let openers = VaultThreadPool.shared.threadCount * 2
            let finished = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<openers {
                    group.addTask {
                        let opened = try await SessionVault.open(at: directory + "/slow\(index)", passphrase: passphrase(), configuration: slow)
                        finished.add()
                        try await opened.close()
                    }
                }
                // From an actor on its own thread, so that the saves' hops back do not depend on the
                // cooperative pool, which other suites running in parallel can starve.
                try await CallerOnItsOwnThread().save(20, to: vault)
                let finishedWhenSaved = finished.count
                #expect(
                    finishedWhenSaved < VaultThreadPool.shared.threadCount,
                    "\(finishedWhenSaved) of \(openers) opens finished before 20 saves of an open vault"
                )
                try await group.waitForAll()
            }
            try await vault.close()
        }
    }

    /// Many more vaults than pool threads, all saving at once: every vault's saves land, in order.
    @Test func manyVaultsShareTheBoundedPool() async throws {
        try await withTemporaryDirectory { directory in
            var configuration = fastConfiguration()
            configuration.durability = .normal
            let count = VaultThreadPool.shared.threadCount * 3
            var vaults: [SessionVault] = []
            for index in 0..<count {
                vaults.append(try await SessionVault.open(at: directory + "/v\(index)", passphrase: passphrase(), configuration: configuration))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, vault) in vaults.enumerated() {
                    group.addTask {
                        for save in 1...25 {
                            try await vault.saveUpdateState(pts: Int32(index * 1000 + save), qts: 0, date: 0, seq: Int32(save))
                        }
                    }
                }
                try await group.waitForAll()
            }
            for (index, vault) in vaults.enumerated() {
                #expect(try await vault.load()?.updateState?.pts == Int32(index * 1000 + 25))
                try await vault.close()
                let reopened = try await SessionVault.open(at: directory + "/v\(index)", passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
                #expect(try await reopened.load()?.updateState?.seq == 25)
                try await reopened.close()
            }
        }
    }

    /// Code of a task that prefers the vault's task executor runs on the vault's threads, before and
    /// after each call to the vault, and its saves land; the same loop without the preference runs
    /// on the cooperative pool (the negative control: the check can tell the two apart).
    @Test func aTaskPreferringTheVaultsExecutorRunsOnItsThreads() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/preferring"
            let vault = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration())
            @Sendable func saveAndName(_ count: Int, from start: Int) async throws -> [String] {
                var names = [ExecutorTests.threadName()]
                for save in start..<(start + count) {
                    try await vault.saveUpdateState(pts: Int32(save), qts: 0, date: 0, seq: Int32(save))
                    names.append(ExecutorTests.threadName())
                }
                return names
            }
            let preferring = try await Task(executorPreference: vault.taskExecutor) { try await saveAndName(40, from: 1) }.value
            #expect(preferring.allSatisfy { $0.hasPrefix("sv-vault-") }, "the preferring task ran on \(Set(preferring).sorted())")
            let plain = try await Task { try await saveAndName(40, from: 41) }.value
            #expect(!plain.contains { $0.hasPrefix("sv-vault-") }, "the plain task ran on \(Set(plain).sorted())")
            // Interleaved with the vault's own calls from elsewhere: each side's saves land in order.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask(executorPreference: vault.taskExecutor) {
                    for channel in 1...30 { try await vault.saveChannelState(channelID: Int64(channel), pts: Int32(channel)) }
                }
                group.addTask {
                    for save in 81...110 { try await vault.saveUpdateState(pts: Int32(save), qts: 0, date: 0, seq: Int32(save)) }
                }
                try await group.waitForAll()
            }
            try await vault.close()
            let reopened = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            let session = try #require(try await reopened.load())
            #expect(session.updateState?.pts == 110)
            #expect(session.updateState?.channels.count == 30)
            try await reopened.close()
        }
    }

    /// A task executor outlives its vault: code that prefers it still runs after `close`, and its
    /// calls get the closed vault's error instead of hanging.
    @Test(.timeLimit(.minutes(1)))
    func theTaskExecutorOutlivesItsVault() async throws {
        let vault = try await SessionVault.inMemory(configuration: fastConfiguration())
        let executor = vault.taskExecutor
        try await vault.close()
        let code = await Task(executorPreference: executor) { () async -> VaultError.Code? in
            do throws(VaultError) {
                try await vault.saveUpdateState(pts: 1, qts: 1, date: 1, seq: 1)
                return nil
            } catch {
                return error.code
            }
        }.value
        #expect(code == .closed)
    }
}

/// A counter that tasks share.
final class Tally: Sendable {
    private let value = Mutex(0)
    var count: Int { value.withLock { $0 } }
    func add() { value.withLock { $0 += 1 } }
}

extension SessionVault {
    /// The name of the thread the actor runs on (tests only).
    func isolatedThreadName() -> String { ExecutorTests.threadName() }
}
