#if SESSION_VAULT_POSTGRES
import Foundation
import PostgresNIO
@testable import SessionVaultPostgres
import Synchronization
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Leases, fencing tokens and the shared pool (docs/LEASES.md), against the real test cluster.
@Suite("PostgreSQL leases", .enabled(if: PostgresTestServer.url != nil), .enabled(if: PostgresTestServer.runsLeaseTests, PostgresTestServer.leaseTestsComment))
struct PostgresLeaseTests {
    /// A value shared by tasks.
    final class Box<Value: Sendable>: Sendable {
        let mutex: Mutex<Value>
        init(_ value: Value) { mutex = Mutex(value) }
        var value: Value { mutex.withLock { $0 } }
    }

    /// Counts lease-lost notifications.
    final class LossRecorder: Sendable {
        let errors = Mutex<[VaultError]>([])
        var count: Int { errors.withLock { $0.count } }
        func handler() -> @Sendable (VaultError) -> Void { { error in self.errors.withLock { $0.append(error) } } }
    }

    func open(
        _ location: PostgresLocation, mode: SessionVault.Configuration.Mode = .openOrCreate, wait: Duration = .zero,
        losses: LossRecorder? = nil
    ) async throws -> SessionVault {
        var configuration = fastConfiguration(mode: mode)
        configuration.lockWait = wait
        configuration.onLeaseLost = losses?.handler()
        return try await PostgresVault.open(location, passphrase: passphrase(), configuration: configuration)
    }

    func state(_ pts: Int32) -> UpdateState { UpdateState(pts: pts, qts: 0, date: 0, seq: 0) }

    /// The database refuses a write whose token is no longer current, even when the writer itself
    /// still believes it holds the lease: the row is expired by hand, a second holder takes over
    /// and writes, and the first holder's write is refused with lease-lost.
    @Test func aStaleHoldersWriteIsRefusedByItsFencingToken() async throws {
        let location = try PostgresTestServer.location(session: "fenced-\(UUID().uuidString)", query: "&lease_seconds=30")
        let losses = LossRecorder()
        let first = try await open(location, losses: losses)
        try await first.save(try sampleSession())
        let firstToken = try #require(try await PostgresAdmin.token(location))
        // An operator (or a clock) ends the lease early; the first holder has not noticed.
        #expect(try await PostgresAdmin.edit(location, "UPDATE sessionvault_lease SET expires_at = clock_timestamp() - interval '1 second' WHERE session = $1 RETURNING 1") == 1)
        let second = try await open(location, mode: .openExisting)
        let secondToken = try #require(try await PostgresAdmin.token(location))
        #expect(secondToken > firstToken)
        try await second.saveUpdateState(pts: 2, qts: 0, date: 0, seq: 0)

        // The hot path (one fenced statement) and a multi-statement save are both refused.
        await #expect(throws: VaultError(.leaseLost, "")) { try await first.saveUpdateState(pts: 3, qts: 0, date: 0, seq: 0) }
        #expect(losses.count == 1)
        #expect(losses.errors.withLock { $0.first?.message.contains("fencing token \(firstToken)") } == true)
        await #expect(throws: VaultError(.leaseLost, "")) { try await first.save(try sampleSession(channels: 9)) }
        await #expect(throws: VaultError(.leaseLost, "")) { _ = try await first.load() }
        #expect(losses.count == 1, "the handler is called once")
        try await first.close()  // closing a vault that lost its lease works, and releases nothing

        try await second.close()
        let check = try await open(location, mode: .openExisting)
        #expect(try await check.load()?.updateState?.pts == 2)
        #expect(try await check.load()?.dataCenters == (try sampleSession()).dataCenters)
        try await check.close()
    }

    /// A lease row edited by hand (token changed, or deleted): the holder's next renewal is refused,
    /// it is told without making a call, and every later call fails with lease-lost.
    @Test(arguments: ["UPDATE sessionvault_lease SET token = token + 1000 WHERE session = $1 RETURNING 1",
                      "DELETE FROM sessionvault_lease WHERE session = $1 RETURNING 1",
                      "UPDATE sessionvault_lease SET holder_instance = 'someone else' WHERE session = $1 RETURNING 1"])
    func aLeaseRowEditedByHandIsNoticedByTheRenewal(edit: String) async throws {
        let location = try PostgresTestServer.location(session: "edited-\(UUID().uuidString)", query: "&lease_seconds=6&pool=short-leases")
        let losses = LossRecorder()
        let vault = try await open(location, losses: losses)
        try await vault.saveUpdateState(pts: 1, qts: 0, date: 0, seq: 0)
        #expect(try await PostgresAdmin.edit(location, edit) == 1)
        let deadline = ContinuousClock.now + .seconds(30)
        while losses.count == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(losses.count == 1)
        #expect(losses.errors.withLock { $0.first?.code } == .leaseLost)
        await #expect(throws: VaultError(.leaseLost, "")) { try await vault.saveUpdateState(pts: 2, qts: 0, date: 0, seq: 0) }
        try await vault.close()
    }

    /// Renewal keeps the lease well past its duration: a second opener is refused, naming the holder.
    @Test func renewalKeepsTheLeasePastItsDuration() async throws {
        let location = try PostgresTestServer.location(session: "renewed-\(UUID().uuidString)", query: "&lease_seconds=6&pool=short-leases")
        let losses = LossRecorder()
        let vault = try await open(location, losses: losses)
        try await Task.sleep(for: .seconds(13))
        try await vault.saveUpdateState(pts: 1, qts: 0, date: 0, seq: 0)
        do {
            _ = try await open(location)
            Issue.record("a second opener took a renewed lease")
        } catch let error as VaultError {
            #expect(error.code == .inUse)
            #expect(error.holderPID == getpid())
            #expect(error.message.contains("host \(ProcessInfo.processInfo.hostName)"))
        }
        #expect(losses.count == 0)
        try await vault.close()
        // Closing expires the lease at once: the next opener needn't wait.
        let next = try await open(location, mode: .openExisting)
        try await next.close()
    }

    /// An opener waiting (with a long `lockWait`) for another holder's lease stops waiting when its
    /// task is cancelled, with `in-use` naming the holder, as a SQLite vault's opener does at its
    /// file lock. The time limit only guards against a hang.
    @Test(.timeLimit(.minutes(1))) func anOpenerWaitingForTheLeaseHonoursCancellation() async throws {
        let location = try PostgresTestServer.location(session: "waiting-\(UUID().uuidString)")
        let holder = try await open(location)
        let waiter = Task { try await open(location, wait: .seconds(3600)) }
        try await Task.sleep(for: .milliseconds(300))
        waiter.cancel()
        let outcome = await waiter.result
        #expect(throws: VaultError(.inUse, "")) { try outcome.get() }
        if case .failure(let error as VaultError) = outcome {
            #expect(error.holderPID == getpid())
            #expect(error.message.contains("stopped waiting: the task was cancelled"), "\(error.message)")
        }
        try await holder.close()
    }

    /// A save whose task is cancelled while it runs either never started (`in-use`, from the vault's
    /// gate) or finishes and is stored: the cancellation never reaches the database work half-way
    /// (postgres-nio throws `CancellationError` from a connection request of a cancelled task, which
    /// failed such saves with `io`).
    @Test func aSaveCancelledWhileItRunsFinishesOrNeverStarts() async throws {
        let location = try PostgresTestServer.location(session: "cancelled-\(UUID().uuidString)")
        let vault = try await open(location)
        var stored: Int32 = 0
        var finished = 0
        for attempt in 1...40 {
            let pts = Int32(attempt)
            let save = Task { try await vault.saveUpdateState(pts: pts, qts: 0, date: 0, seq: 0) }
            try await Task.sleep(for: .microseconds(100 * (attempt % 20)))
            save.cancel()
            switch await save.result {
            case .success:
                stored = pts
                finished += 1
            case .failure(let error as VaultError):
                #expect(error.code == .inUse, "attempt \(attempt): \(error)")
            case .failure(let error):
                Issue.record("attempt \(attempt): \(error)")
            }
            #expect(try await vault.load()?.updateState?.pts ?? 0 == stored)
        }
        #expect(finished > 0, "no save started before its cancellation")
        try await vault.close()
        let reopened = try await open(location, mode: .openExisting)
        #expect(try await reopened.load()?.updateState?.pts ?? 0 == stored)
        try await reopened.close()
    }

    /// A renewal that cannot complete (the lease row locked by another transaction, as a stuck server
    /// would do) makes the holder stop writing before the server-side expiry, and tells it.
    @Test func aStuckRenewalStopsWritesBeforeTheLeaseExpires() async throws {
        let location = try PostgresTestServer.location(session: "stuck-\(UUID().uuidString)", query: "&lease_seconds=6&pool=stuck-renewal")
        let losses = LossRecorder()
        let vault = try await open(location, losses: losses)
        try await vault.saveUpdateState(pts: 1, qts: 0, date: 0, seq: 0)
        let key = ByteBuffer(bytes: try PostgresRecordStore.makeSessionKey(location))
        let expiredWhenTold = try await PostgresAdmin.withConnection { connection -> Bool? in
            try await connection.query("BEGIN", logger: PostgresAdmin.logger)
            try await connection.query("SELECT 1 FROM sessionvault_lease WHERE session = \(key) FOR UPDATE", logger: PostgresAdmin.logger)
            let deadline = ContinuousClock.now + .seconds(30)
            while losses.count == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            // When the holder gave up, the server-side lease must still be running.
            let rows = try await connection.query(
                "SELECT expires_at > clock_timestamp() FROM sessionvault_lease WHERE session = \(key)", logger: PostgresAdmin.logger)
            var stillValid: Bool?
            for try await value in rows.decode(Bool.self) { stillValid = value }
            try await connection.query("ROLLBACK", logger: PostgresAdmin.logger)
            return stillValid
        }
        #expect(losses.count == 1)
        #expect(expiredWhenTold == true, "the holder stopped only after the server-side expiry")
        await #expect(throws: VaultError(.leaseLost, "")) { try await vault.saveUpdateState(pts: 2, qts: 0, date: 0, seq: 0) }
        try await vault.close()
        let check = try await open(location, mode: .openExisting, wait: .seconds(10))
        #expect(try await check.load()?.updateState?.pts == 1)
        try await check.close()
    }

    /// One process, 1,000 sessions, a pool of 20: never more than 20 server connections.
    @Test func aThousandSessionsShareAPoolOfTwenty() async throws {
        let run = UUID().uuidString
        let locations = try (0..<1000).map { try PostgresTestServer.location(session: "fleet-\(run)-\($0)", query: "&pool_size=20") }
        let peak = Box(0)
        let vaults = Box<[SessionVault]>([])
        let sampling = Task {
            while !Task.isCancelled {
                let count = (try? await PostgresAdmin.connectionCount(of: locations[0])) ?? 0
                peak.mutex.withLock { $0 = max($0, count) }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for slice in stride(from: 0, to: locations.count, by: 20) {
                for location in locations[slice..<min(slice + 20, locations.count)] {
                    group.addTask {
                        let vault = try await open(location)
                        try await vault.saveUpdateState(pts: 1, qts: 0, date: 0, seq: 0)
                        vaults.mutex.withLock { $0.append(vault) }
                    }
                }
                try await group.waitForAll()
            }
        }
        let opened = vaults.value
        #expect(opened.count == 1000)
        // Every session saves once more with all 1,000 open.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, vault) in opened.enumerated() {
                group.addTask { try await vault.saveUpdateState(pts: 2, qts: 0, date: Int64(index), seq: 0) }
            }
            try await group.waitForAll()
        }
        sampling.cancel()
        _ = await sampling.value
        let final = try await PostgresAdmin.connectionCount(of: locations[0])
        #expect(final <= 20)
        #expect(peak.value <= 20)
        #expect(peak.value >= 1)
        for vault in opened { try await vault.close() }
    }

    /// A pool of one connection serves many sessions; a wait for it is bounded.
    @Test func aPoolOfOneServesManySessionsInTurn() async throws {
        let run = UUID().uuidString
        let locations = try (0..<4).map { try PostgresTestServer.location(session: "one-\(run)-\($0)", query: "&pool_size=1&pool=one") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for location in locations {
                group.addTask {
                    let vault = try await open(location)
                    for pts in 1...3 { try await vault.saveUpdateState(pts: Int32(pts), qts: 0, date: 0, seq: 0) }
                    try await vault.close()
                }
            }
            try await group.waitForAll()
        }
        #expect(try await PostgresAdmin.connectionCount(of: locations[0]) <= 1)
    }

    /// The pool exhausted: the only connection of a pool of one is stuck in a write (its lease row
    /// locked by an administrator); another session of the pool waits 30 s, then fails with `io`
    /// ("pool exhausted") and writes nothing. Once the lock goes, the stuck write commits and the
    /// other session saves again: no committed write is lost.
    @Test func anExhaustedPoolFailsCleanlyAndLosesNothing() async throws {
        let run = UUID().uuidString
        let stuck = try PostgresTestServer.location(session: "exhausted-a-\(run)", query: "&pool_size=1&lease_seconds=120&pool=exhausted")
        let waiting = try PostgresTestServer.location(session: "exhausted-b-\(run)", query: "&pool_size=1&lease_seconds=120&pool=exhausted")
        let a = try await open(stuck)
        let b = try await open(waiting)
        try await a.saveUpdateState(pts: 1, qts: 0, date: 0, seq: 0)
        try await b.saveUpdateState(pts: 1, qts: 0, date: 0, seq: 0)
        let key = ByteBuffer(bytes: try PostgresRecordStore.makeSessionKey(stuck))
        let (refused, stuckSave) = try await PostgresAdmin.withConnection { connection -> (VaultError?, Task<Void, any Error>) in
            try await connection.query("BEGIN", logger: PostgresAdmin.logger)
            try await connection.query("SELECT 1 FROM sessionvault_lease WHERE session = \(key) FOR UPDATE", logger: PostgresAdmin.logger)
            let stuckSave = Task { try await a.saveUpdateState(pts: 2, qts: 0, date: 0, seq: 0) }
            try await Task.sleep(for: .milliseconds(500))  // a's write now holds the pool's only connection
            var refused: VaultError?
            do { try await b.saveUpdateState(pts: 2, qts: 0, date: 0, seq: 0) } catch let error as VaultError { refused = error }
            try await connection.query("ROLLBACK", logger: PostgresAdmin.logger)
            return (refused, stuckSave)
        }
        #expect(refused?.code == .io)
        #expect(refused?.message.contains("pool exhausted") == true)
        try await stuckSave.value
        try await b.saveUpdateState(pts: 3, qts: 0, date: 0, seq: 0)
        try await a.close()
        try await b.close()
        let checkA = try await open(stuck, mode: .openExisting)
        let checkB = try await open(waiting, mode: .openExisting)
        #expect(try await checkA.load()?.updateState?.pts == 2)
        #expect(try await checkB.load()?.updateState?.pts == 3)
        try await checkA.close()
        try await checkB.close()
    }

    /// A database of layout 1 (three tables, advisory locks) gains the lease table, the sequence and
    /// the layout row when a newer build opens it; its sessions open unchanged. A newer layout is refused.
    @Test func aLayoutOneDatabaseIsMigrated() async throws {
        let database = "sv_migration_\(UInt32.random(in: 0...UInt32.max))"
        try await PostgresAdmin.withConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database)"), logger: PostgresAdmin.logger)
        }
        let url = try #require(PostgresTestServer.url)
        let base = url.replacingOccurrences(of: "/sessionvault", with: "/\(database)")
        #expect(base != url)
        func location(_ pool: Int) throws -> PostgresLocation {
            try PostgresLocation(parsing: "\(base)?session=old-bot&pool_size=\(pool)", environment: PostgresTestServer.locationEnvironment)
        }
        // Write a session, then take the database back to layout 1.
        let writer = try await open(try location(7))
        try await writer.save(try sampleSession())
        try await writer.close()
        try await PostgresAdmin.withConnection(database: database) { connection in
            for statement in ["DROP TABLE sessionvault_lease", "DROP TABLE sessionvault_layout", "DROP SEQUENCE sessionvault_fencing_token"] {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: PostgresAdmin.logger)
            }
        }
        // A new pool (another size) has not seen the schema yet: it migrates.
        let migrated = try await open(try location(8), mode: .openExisting)
        #expect(try await migrated.load() == (try sampleSession()))
        try await migrated.saveUpdateState(pts: 77, qts: 0, date: 0, seq: 0)
        try await migrated.close()
        let layout = try await PostgresAdmin.withConnection(database: database) { connection -> [Int32] in
            var versions: [Int32] = []
            for try await version in try await connection.query("SELECT version FROM sessionvault_layout", logger: PostgresAdmin.logger).decode(Int32.self) {
                versions.append(version)
            }
            try await connection.query("UPDATE sessionvault_layout SET version = 3", logger: PostgresAdmin.logger)
            return versions
        }
        #expect(layout == [2])
        do {
            _ = try await open(try location(9), mode: .openExisting)
            Issue.record("a layout-3 database was opened")
        } catch let error as VaultError {
            #expect(error.code == .io)
            #expect(error.message.contains("layout 3"))
        }
    }
}
#endif
