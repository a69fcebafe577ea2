#if SESSION_VAULT_POSTGRES
import Foundation
@testable import SessionVaultPostgres
import Synchronization
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// A PostgreSQL pool's work (connection upkeep, queries, lease renewals) runs on a thread of its
/// own, so a program that keeps Swift's cooperative pool busy cannot delay a renewal past its
/// safety margin.
///
/// The test keeps every cooperative thread of its process busy for seconds, which would stall every
/// other test running beside it; `make test` therefore runs it alone, in a `swift test` process of
/// its own with `SESSION_VAULT_BUSY_POOL_TEST=1` (elsewhere it is skipped).
@Suite(
    "PostgreSQL pool beside a busy cooperative pool",
    .enabled(if: PostgresTestServer.url != nil && ProcessInfo.processInfo.environment["SESSION_VAULT_BUSY_POOL_TEST"] == "1",
             "runs alone: make test starts it in a process of its own (SESSION_VAULT_BUSY_POOL_TEST=1)")
)
struct PostgresBusyCooperativePoolTests {
    /// With every cooperative thread kept busy for 4.5 s, longer than a 3 s lease's safety margin (2 s
    /// after the last renewal was sent), renewals go on and the lease survives. While renewals ran on
    /// the cooperative pool, this lease was lost; in a busy CI run, a pool's first connections
    /// waited past the 30 s limit and opens failed with "pool exhausted".
    @Test func aBusyCooperativePoolDelaysNoRenewal() async throws {
        let location = try PostgresTestServer.location(session: "busy-\(UUID().uuidString)", query: "&lease_seconds=3&pool=busy-cooperative")
        let losses = Mutex(0)
        var configuration = fastConfiguration(mode: .openOrCreate)
        configuration.onLeaseLost = { _ in losses.withLock { $0 += 1 } }
        let vault = try await PostgresVault.open(location, passphrase: passphrase(), configuration: configuration)
        try await vault.saveUpdateState(pts: 1, qts: 0, date: 0, seq: 0)
        let allBusy = await keepEveryCooperativeThreadBusy(for: .milliseconds(4500))
        #expect(allBusy, "the busy tasks never ran all at once")
        try await vault.saveUpdateState(pts: 2, qts: 0, date: 0, seq: 0)
        #expect(losses.withLock { $0 } == 0)
        try await vault.close()
    }

    /// Runs one task per processor (Swift's cooperative pool has one thread per processor) that
    /// spins until all of them run at once (at most 10 s), then for `duration` more, so that the pool
    /// runs nothing else meanwhile. They spin rather than sleep: on Linux, Dispatch adds threads beside
    /// blocked ones. Returns whether all of them ran at once.
    func keepEveryCooperativeThreadBusy(for duration: Duration) async -> Bool {
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let running = Shared(0)
        return await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<threads {
                group.addTask {
                    running.withLock { $0 += 1 }
                    let clock = ContinuousClock()
                    let giveUp = clock.now + .seconds(10)
                    while running.value < threads && clock.now < giveUp {}
                    guard running.value == threads else { return false }
                    let end = clock.now + duration
                    while clock.now < end {}
                    return true
                }
            }
            return await group.allSatisfy { $0 }
        }
    }
}
#endif
