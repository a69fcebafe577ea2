#if SESSION_VAULT_POSTGRES
import Foundation
import PostgresNIO
@testable import SessionVaultPostgres
import Synchronization
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Lease renewal is batched per pool (docs/LEASES.md §2): one statement per tick renews every
/// session the process holds through that pool. Counted on the real server by transaction ids: all
/// rows a statement updates carry its transaction id (`xmin`), so N renewals by N statements would
/// leave N distinct ones.
@Suite("PostgreSQL renewal batching", .enabled(if: PostgresTestServer.url != nil), .enabled(if: PostgresTestServer.runsLeaseTests, PostgresTestServer.leaseTestsComment))
struct PostgresRenewalBatchTests {
    func open(_ location: PostgresLocation, losses: PostgresLeaseTests.LossRecorder) async throws -> SessionVault {
        var configuration = fastConfiguration()
        configuration.onLeaseLost = losses.handler()
        return try await PostgresVault.open(location, passphrase: passphrase(), configuration: configuration)
    }

    /// The distinct transaction ids (`xmin`) and the latest server-side expiry of `keys`' lease rows.
    func leaseRows(_ keys: [ByteBuffer]) async throws -> (xmins: Set<String>, rows: Int) {
        try await PostgresAdmin.withConnection { connection in
            let rows = try await connection.query(
                "SELECT xmin::text FROM sessionvault_lease WHERE session = ANY(\(keys)::bytea[])", logger: PostgresAdmin.logger)
            var xmins: Set<String> = []
            var count = 0
            for try await xmin in rows.decode(String.self) {
                xmins.insert(xmin)
                count += 1
            }
            return (xmins, count)
        }
    }

    /// 40 sessions in one process, one pool of their own, 6 s leases (renewed every 2 s): after
    /// each tick all 40 lease rows were last written by one transaction, a new one at each tick, and
    /// the pool sent about one renewal statement per interval, not 40. The sessions stay writable
    /// well past their lease duration.
    @Test func onePoolRenewsAllItsSessionsWithOneStatementPerTick() async throws {
        let run = UUID().uuidString
        let count = 40
        let locations = try (0..<count).map {
            try PostgresTestServer.location(session: "batch-\(run)-\($0)", query: "&pool_size=11&lease_seconds=6")
        }
        let keys = try locations.map { ByteBuffer(bytes: try PostgresRecordStore.makeSessionKey($0)) }
        let losses = PostgresLeaseTests.LossRecorder()
        var vaults: [SessionVault] = []
        for location in locations { vaults.append(try await open(location, losses: losses)) }
        let pool = try PostgresPool.shared(for: locations[0], logger: PostgresAdmin.logger)

        // Right after the opens, each row still carries its own take (one transaction per open).
        try await Task.sleep(for: .milliseconds(2500))  // one tick (2 s) and some
        let before = pool.renewer.statements.load(ordering: .relaxed)
        let start = ContinuousClock.now
        var seen: Set<String> = []
        for _ in 0..<8 {
            try await Task.sleep(for: .milliseconds(1300))
            let (xmins, rows) = try await leaseRows(keys)
            #expect(rows == count)
            #expect(xmins.count == 1, "one transaction renewed every lease of the pool (\(xmins.count) distinct)")
            seen.formUnion(xmins)
        }
        let elapsed = ContinuousClock.now - start
        let statements = pool.renewer.statements.load(ordering: .relaxed) - before
        #expect(seen.count >= 3, "a new renewal transaction at each tick")
        // One per renewal interval (2 s), give or take a tick at either end: never one per session.
        let ticks = Int((elapsed / .seconds(2)).rounded(.up))
        #expect(statements >= 2 && statements <= ticks + 2, "\(statements) renewal statements in \(elapsed)")
        #expect(losses.count == 0)
        for (index, vault) in vaults.enumerated() {
            try await vault.saveUpdateState(pts: Int32(index + 1), qts: 0, date: 0, seq: 0)
            try await vault.close()
        }
    }

    /// One session's lease row locked by another transaction (as a stuck administrator's
    /// `SELECT … FOR UPDATE`) does not hold up the pool's other sessions: their renewals keep
    /// succeeding (skipped row, `SKIP LOCKED`), the locked session stops at its write deadline as
    /// before, and only it reports `lease-lost`.
    @Test func aLockedLeaseRowDoesNotHoldUpThePoolsOtherRenewals() async throws {
        let run = UUID().uuidString
        let locations = try (0..<5).map {
            try PostgresTestServer.location(session: "skip-\(run)-\($0)", query: "&pool_size=12&lease_seconds=6")
        }
        let stuckLosses = PostgresLeaseTests.LossRecorder()
        let otherLosses = PostgresLeaseTests.LossRecorder()
        let stuck = try await open(locations[0], losses: stuckLosses)
        var others: [SessionVault] = []
        for location in locations.dropFirst() { others.append(try await open(location, losses: otherLosses)) }
        let stuckKey = ByteBuffer(bytes: try PostgresRecordStore.makeSessionKey(locations[0]))
        let otherKeys = try locations.dropFirst().map { ByteBuffer(bytes: try PostgresRecordStore.makeSessionKey($0)) }
        let stillValidWhenTold = try await PostgresAdmin.withConnection { connection -> Bool? in
            try await connection.query("BEGIN", logger: PostgresAdmin.logger)
            try await connection.query("SELECT 1 FROM sessionvault_lease WHERE session = \(stuckKey) FOR UPDATE", logger: PostgresAdmin.logger)
            let deadline = ContinuousClock.now + .seconds(30)
            while stuckLosses.count == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let rows = try await connection.query(
                "SELECT expires_at > clock_timestamp() FROM sessionvault_lease WHERE session = \(stuckKey)", logger: PostgresAdmin.logger)
            var stillValid: Bool?
            for try await value in rows.decode(Bool.self) { stillValid = value }
            // Two more lease durations with the row still locked: the others keep their leases.
            try await Task.sleep(for: .seconds(6))
            try await connection.query("ROLLBACK", logger: PostgresAdmin.logger)
            return stillValid
        }
        #expect(stuckLosses.count == 1)
        #expect(stillValidWhenTold == true, "the stuck holder stopped only after the server-side expiry")
        await #expect(throws: VaultError(.leaseLost, "")) { try await stuck.saveUpdateState(pts: 2, qts: 0, date: 0, seq: 0) }
        #expect(otherLosses.count == 0)
        let (xmins, rows) = try await leaseRows(otherKeys)
        #expect(rows == 4)
        #expect(xmins.count == 1, "the other four were renewed together")
        for vault in others {
            try await vault.saveUpdateState(pts: 3, qts: 0, date: 0, seq: 0)
            try await vault.close()
        }
        try await stuck.close()
    }
}
#endif
