import Foundation
import Synchronization
import Testing
@_spi(Testing) @testable import SessionVault

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

    /// A ticker on the main actor keeps ticking while the main actor awaits an `open` whose
    /// Argon2id (the default profile, 64 MiB) takes a noticeable time. Before the vault had its own
    /// executor, `open` ran on the caller's actor and the ticker got no turn until it returned.
    @MainActor
    @Test func openFromTheMainActorLetsTheMainActorRun() async throws {
        try await withTemporaryDirectory { directory in
            var configuration = SessionVault.Configuration()
            configuration.mode = .create
            configuration.kdf = .default
            let ticks = Mutex(0)
            let maximumGap = Mutex(Duration.zero)
            let ticker = Task { @MainActor in
                var last = ContinuousClock.now
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(1))
                    let now = ContinuousClock.now
                    maximumGap.withLock { $0 = max($0, now - last) }
                    last = now
                    ticks.withLock { $0 += 1 }
                }
            }
            defer { ticker.cancel() }
            await Task.yield()
            let before = ticks.withLock { $0 }
            let vault = try await SessionVault.open(at: directory + "/main", passphrase: passphrase(), configuration: configuration)
            let during = ticks.withLock { $0 } - before
            try await vault.close()
            // Progress, not speed: the main actor was free to run the ticker during the open.
            #expect(during >= 3, "the main-actor ticker ran \(during) times during the open")
            print("open from the main actor: \(during) main-actor ticks, largest gap \(maximumGap.withLock { $0 })")
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
}

extension SessionVault {
    /// The name of the thread the actor runs on (tests only).
    func isolatedThreadName() -> String { ExecutorTests.threadName() }
}
