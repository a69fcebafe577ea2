#if SESSION_VAULT_POSTGRES
import Foundation
import PostgresNIO
@testable import SessionVaultPostgres
import Synchronization
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// The PostgreSQL server stopped and restarted under open vaults (docs/LEASES.md, "Server restarts"),
/// on a cluster of each test's own (``PostgresOwnCluster``), so the shared test cluster is never
/// disturbed.
@Suite("PostgreSQL server restart", .serialized, .enabled(if: PostgresTestServer.binDirectory != nil))
struct PostgresRestartTests {
    typealias Box = PostgresLeaseTests.Box
    typealias LossRecorder = PostgresLeaseTests.LossRecorder

    /// Opens `location` as the lease tests do (``PostgresLeaseTests/open(_:mode:wait:losses:)``).
    func open(
        _ location: PostgresLocation, mode: SessionVault.Configuration.Mode = .openOrCreate, wait: Duration = .zero,
        losses: LossRecorder? = nil
    ) async throws -> SessionVault {
        try await PostgresLeaseTests().open(location, mode: mode, wait: wait, losses: losses)
    }

    /// Runs `body` in its own task and returns its outcome, or nil when it has not finished within
    /// `limit` (a hang: the call is abandoned, and the caller records the failure).
    func bounded<R: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> R) async -> Result<R, any Error>? {
        let outcome = Box<Result<R, any Error>?>(nil)
        Task {
            let result: Result<R, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            outcome.mutex.withLock { $0 = result }
        }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let result = outcome.value { return result }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return outcome.value
    }

    /// The lease row of `location`: token, instance, and whether its last renewal is later than `instant`
    /// (a server time).
    func leaseRow(_ cluster: PostgresOwnCluster, _ location: PostgresLocation, renewedAfter instant: Date = .distantPast) async throws
        -> (token: Int64, instance: String, renewedAfter: Bool)?
    {
        let key = ByteBuffer(bytes: try PostgresRecordStore.makeSessionKey(location))
        return try await cluster.withAdmin { connection in
            let rows = try await connection.query(
                "SELECT token, holder_instance, renewed_at > \(instant) FROM sessionvault_lease WHERE session = \(key)",
                logger: PostgresOwnCluster.logger)
            for try await row in rows.decode((Int64, String, Bool).self) { return row }
            return nil
        }
    }

    func serverNow(_ cluster: PostgresOwnCluster) async throws -> Date {
        try await cluster.withAdmin { connection in
            for try await now in try await connection.query("SELECT clock_timestamp()", logger: PostgresOwnCluster.logger).decode(Date.self) {
                return now
            }
            throw PostgresOwnCluster.Failure(description: "no clock_timestamp()")
        }
    }

    static let loopChannels = 500
    static let firstChannel: Int64 = 7_000_000_000

    /// The server is stopped (`pg_ctl stop -m fast`: SIGINT; or `-m immediate`: SIGQUIT, a crash
    /// recovered from the WAL at the next start) while one vault is inside a 20,000-statement save
    /// and another saves in a loop, then started again:
    ///
    /// - the save in flight fails with `io` ("the server ended the connection" or "the connection …
    ///   was lost"), within a bound, and leaves the last commit;
    /// - calls made while the server is down wait for the pool to reconnect and then succeed; no call
    ///   hangs, and no call fails with anything but `io`;
    /// - every save that returned success is in the database after the restart (the loop updates
    ///   existing channel records, so each acknowledged value can be checked);
    /// - the lease rows survive (same token, same holder) and both holders renew after the restart
    ///   without being told `lease-lost`.
    @Test(arguments: PostgresOwnCluster.Shutdown.allCases)
    func aRestartMidSaveFailsTheCallInFlightAndLosesNoAcknowledgedWrite(_ mode: PostgresOwnCluster.Shutdown) async throws {
        let cluster = try await PostgresOwnCluster()
        defer { cluster.destroy() }
        try await cluster.start()
        let run = UUID().uuidString.prefix(8)
        // The default lease (15 s): renewed every 5 s, writes stop 10 s after the last renewal; a
        // restart takes about a second.
        let bigLocation = try cluster.location(session: "restart-big-\(run)", query: "&pool_size=4")
        let loopLocation = try cluster.location(session: "restart-loop-\(run)", query: "&pool_size=4")
        let bigLosses = LossRecorder()
        let loopLosses = LossRecorder()
        let big = try await open(bigLocation, losses: bigLosses)
        let loop = try await open(loopLocation, losses: loopLosses)
        let committed = try sampleSession(channels: 3)
        try await big.save(committed)
        var base = try sampleSession(channels: 0)
        for index in 0..<Self.loopChannels { base.updateState?.channels[Self.firstChannel + Int64(index)] = 0 }
        try await loop.save(base)
        let bigLease = try #require(try await leaseRow(cluster, bigLocation))
        let loopLease = try #require(try await leaseRow(cluster, loopLocation))

        // The loop: attempt n sets channel n % 500 to pts n + 1 (an existing record: one fenced
        // statement), and records what each call answered.
        let stop = Box(false)
        let restarted = Box(false)
        let outcomes = Box<[(attempt: Int, error: VaultError?, afterRestart: Bool)]>([])
        let hung = Box(false)
        let loopTask = Task {
            var attempt = 0
            while !stop.value {
                let channel = Self.firstChannel + Int64(attempt % Self.loopChannels)
                let pts = Int32(attempt + 1)
                let wasRestarted = restarted.value
                switch await bounded(.seconds(90), { try await loop.saveChannelState(channelID: channel, pts: pts) }) {
                case nil:
                    hung.mutex.withLock { $0 = true }
                    return
                case .success:
                    outcomes.mutex.withLock { $0.append((attempt, nil, wasRestarted)) }
                case .failure(let error):
                    outcomes.mutex.withLock { $0.append((attempt, error as? VaultError ?? VaultError(.corrupt, "not a VaultError: \(error)"), wasRestarted)) }
                }
                attempt += 1
            }
        }

        // The big save: 20,000 new channel records in one transaction.
        var bigger = committed
        for index in 0..<20_000 { bigger.updateState?.channels[5_000_000 + Int64(index)] = 1 }
        let toSave = bigger
        let bigSave = Task { await bounded(.seconds(120)) { try await big.save(toSave) } }
        // Stop the server once that transaction has written for 200 ms: a connection of the vaults'
        // pool, in a transaction that holds a transaction id and has run more than one statement
        // (the loop's saves are single statements; autovacuum is not in the pool).
        let applicationName = try PostgresPool.shared(for: bigLocation, logger: PostgresOwnCluster.logger).applicationName
        let inFlight = try await cluster.withAdmin { connection -> Bool in
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                let rows = try await connection.query(
                    """
                    SELECT count(*)::bigint FROM pg_stat_activity
                    WHERE application_name = \(applicationName) AND backend_xid IS NOT NULL AND xact_start < query_start
                      AND xact_start < clock_timestamp() - interval '200 milliseconds'
                    """,
                    logger: PostgresOwnCluster.logger)
                for try await count in rows.decode(Int64.self) where count > 0 { return true }
                try await Task.sleep(for: .milliseconds(5))
            }
            return false
        }
        #expect(inFlight, "the big save never showed up as a running transaction")
        let acknowledgedBeforeStop = outcomes.value.filter { $0.error == nil }.count
        try await cluster.stop(mode)
        try await cluster.start()
        let restartedAt = try await serverNow(cluster)
        restarted.mutex.withLock { $0 = true }

        // The save in flight failed with io, and said why.
        switch await bigSave.value {
        case nil:
            Issue.record("the save in flight did not return within 120 s")
        case .success:
            Issue.record("the big save finished before the server stopped; make it larger")
        case .failure(let error):
            let vaultError = try #require(error as? VaultError, "not a VaultError: \(error)")
            #expect(vaultError.code == .io, "\(vaultError)")
            #expect(
                vaultError.message.contains("ended the connection") || vaultError.message.contains("connection to PostgreSQL was lost"),
                "\(vaultError.message)")
        }

        // The loop goes on after the restart: 20 more acknowledged saves, then stop.
        let deadline = ContinuousClock.now + .seconds(90)
        while outcomes.value.filter({ $0.error == nil && $0.afterRestart }).count < 20 && !hung.value && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        stop.mutex.withLock { $0 = true }
        await loopTask.value
        #expect(!hung.value, "a save hung for 90 s")
        let results = outcomes.value
        #expect(acknowledgedBeforeStop > 0)
        #expect(results.filter { $0.error == nil && $0.afterRestart }.count >= 20)
        for result in results {
            if let error = result.error { #expect(error.code == .io, "attempt \(result.attempt): \(error)") }
        }

        // The lease rows survived; both holders renew after the restart and were never told lease-lost.
        let renewalDeadline = ContinuousClock.now + .seconds(30)
        var renewed = (big: false, loop: false)
        while !(renewed.big && renewed.loop) && ContinuousClock.now < renewalDeadline {
            renewed.big = try await leaseRow(cluster, bigLocation, renewedAfter: restartedAt)?.renewedAfter ?? false
            renewed.loop = try await leaseRow(cluster, loopLocation, renewedAfter: restartedAt)?.renewedAfter ?? false
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(renewed.big && renewed.loop, "a holder did not renew its lease after the restart")
        let bigAfter = try await leaseRow(cluster, bigLocation)
        let loopAfter = try await leaseRow(cluster, loopLocation)
        #expect(bigAfter?.token == bigLease.token && bigAfter?.instance == bigLease.instance)
        #expect(loopAfter?.token == loopLease.token && loopAfter?.instance == loopLease.instance)
        #expect(bigLosses.count == 0 && loopLosses.count == 0)
        // The holder whose save failed saves again.
        try await big.saveUpdateState(pts: 4242, qts: 0, date: 0, seq: 0)
        try await big.close()
        try await loop.close()
        if mode == .immediate {
            #expect(cluster.log("server.log").contains("automatic recovery in progress"), "the immediate shutdown was not a crash")
        }

        // What was acknowledged is there: the big vault holds its last commit (not the failed save);
        // each loop channel holds its last acknowledged pts, or the pts of a later attempt that failed
        // (a commit whose answer was lost: it committed entirely or not at all).
        let bigCheck = try await open(bigLocation, mode: .openExisting)
        var expected = committed
        expected.updateState?.pts = 4242
        expected.updateState?.qts = 0
        expected.updateState?.date = 0
        expected.updateState?.seq = 0
        #expect(try await bigCheck.load() == expected)
        try await bigCheck.close()
        let loopCheck = try await open(loopLocation, mode: .openExisting)
        let channels = try #require(try await loopCheck.load()?.updateState?.channels)
        try await loopCheck.close()
        var checked = 0
        for index in 0..<Self.loopChannels {
            let attempts = results.filter { $0.attempt % Self.loopChannels == index }
            let lastAcknowledged = attempts.last { $0.error == nil }
            var allowed = Set(attempts.filter { $0.error != nil && $0.attempt > (lastAcknowledged?.attempt ?? -1) }.map { Int32($0.attempt + 1) })
            allowed.insert(lastAcknowledged.map { Int32($0.attempt + 1) } ?? 0)
            let stored = channels[Self.firstChannel + Int64(index)]
            #expect(stored.map { allowed.contains($0) } == true, "channel \(index): stored \(String(describing: stored)), allowed \(allowed.sorted())")
            if lastAcknowledged != nil { checked += 1 }
        }
        #expect(checked > 0)
        print("server restart (\(mode)): \(results.count) loop saves, \(results.filter { $0.error != nil }.count) failed with io, \(acknowledgedBeforeStop) acknowledged before the stop")
    }

    /// The server stays down past the holder's write deadline (`lease_seconds=6`: 4 s after the last
    /// renewal was sent): the holder stops and is told `lease-lost` while its lease still runs on the
    /// server (the row, read when the server is back, expires later than the moment the holder was
    /// told: same machine, same clock); every later call fails at once with `lease-lost`; another
    /// holder takes the session after the expiry and finds the last acknowledged write.
    @Test func aServerDownPastTheWriteDeadlineEndsTheLeaseBeforeItExpires() async throws {
        let cluster = try await PostgresOwnCluster()
        defer { cluster.destroy() }
        try await cluster.start()
        let location = try cluster.location(session: "down-\(UUID().uuidString.prefix(8))", query: "&lease_seconds=6")
        let losses = LossRecorder()
        let vault = try await open(location, losses: losses)
        try await vault.saveUpdateState(pts: 1, qts: 0, date: 0, seq: 0)
        try await cluster.stop(.fast)
        let deadline = ContinuousClock.now + .seconds(30)
        while losses.count == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let toldAt = Date()
        #expect(losses.count == 1)
        #expect(losses.errors.withLock { $0.first?.code } == .leaseLost)
        switch await bounded(.seconds(5), { try await vault.saveUpdateState(pts: 2, qts: 0, date: 0, seq: 0) }) {
        case .failure(let error as VaultError): #expect(error.code == .leaseLost)
        case let other: Issue.record("a write after the loss: \(String(describing: other))")
        }

        try await cluster.start()
        let key = ByteBuffer(bytes: try PostgresRecordStore.makeSessionKey(location))
        let expiresAt = try await cluster.withAdmin { connection -> Date? in
            let rows = try await connection.query("SELECT expires_at FROM sessionvault_lease WHERE session = \(key)", logger: PostgresOwnCluster.logger)
            for try await value in rows.decode(Date.self) { return value }
            return nil
        }
        let expiry = try #require(expiresAt)
        #expect(toldAt < expiry, "the holder was told at \(toldAt), after its lease expired on the server at \(expiry)")
        try await vault.close()
        let next = try await open(location, mode: .openExisting, wait: .seconds(30))
        #expect(try await next.load()?.updateState?.pts == 1)
        try await next.close()
        print("server down: holder told lease-lost \(expiry.timeIntervalSince(toldAt)) s before its server-side expiry")
    }

    /// A save that changes the record set and whose answer is lost after it committed: its backend is
    /// terminated while its commit waits for a synchronous standby that never answers (committed
    /// locally, never acknowledged, PostgreSQL's own "outcome unknown" case). The call fails with `io`
    /// and says to reopen; every later call fails the same way instead of writing a manifest that no
    /// longer matches the records (without that, the next open would refuse the vault); and the
    /// reopened vault holds the save.
    /// The new channels of that save: more than `PostgresRecordStore.singleStatementLimit` records.
    static let unknownChannels = (900..<(900 + Int64(PostgresRecordStore.singleStatementLimit) + 6)).map { $0 }

    @Test func aSaveWhoseAnswerIsLostAfterItCommittedAsksForAReopen() async throws {
        let cluster = try await PostgresOwnCluster()
        defer { cluster.destroy() }
        try await cluster.start()
        let location = try cluster.location(session: "unknown-\(UUID().uuidString.prefix(8))", query: "&pool_size=3")
        let vault = try await open(location)
        try await vault.save(try sampleSession(channels: 2))
        let applicationName = try PostgresPool.shared(for: location, logger: PostgresOwnCluster.logger).applicationName
        try await cluster.withAdmin { connection in
            try await connection.query("ALTER SYSTEM SET synchronous_standby_names = 'nobody'", logger: PostgresOwnCluster.logger)
            try await connection.query("SELECT pg_reload_conf()", logger: PostgresOwnCluster.logger)
        }
        // The reload reaches the server's processes asynchronously: wait until a new backend sees it,
        // and a little more for the pool's existing backends (they reread it before their next command).
        var reloaded = false
        let reloadDeadline = ContinuousClock.now + .seconds(30)
        while !reloaded && ContinuousClock.now < reloadDeadline {
            reloaded = try await cluster.withAdmin { connection -> Bool in
                var value = ""
                for try await setting in try await connection.query("SHOW synchronous_standby_names", logger: PostgresOwnCluster.logger).decode(String.self) {
                    value = setting
                }
                return value == "nobody"
            }
            if !reloaded { try await Task.sleep(for: .milliseconds(20)) }
        }
        try #require(reloaded, "the server did not reload its configuration")
        try await Task.sleep(for: .milliseconds(300))
        let pending = Task { () async -> VaultError? in
            do throws(VaultError) {
                // More records than one statement carries, so that the save runs in BEGIN … COMMIT
                // and only its COMMIT waits for the standby (a one-statement save returns its rows
                // before it commits, and postgres-nio may then report it stored, which it is).
                try await vault.write { batch in
                    for channel in Self.unknownChannels { batch.saveChannelState(channelID: channel, pts: 9) }
                }
                return nil
            } catch {
                return error
            }
        }
        // Terminate the save's backend once its commit waits for the standby, then let commits through again.
        let terminated = try await cluster.withAdmin { connection -> Bool in
            let deadline = ContinuousClock.now + .seconds(60)
            var terminated = false
            while !terminated && ContinuousClock.now < deadline {
                let rows = try await connection.query(
                    """
                    SELECT count(pg_terminate_backend(pid))::bigint FROM pg_stat_activity
                    WHERE application_name = \(applicationName) AND wait_event = 'SyncRep' AND query = 'COMMIT'
                    """,
                    logger: PostgresOwnCluster.logger)
                for try await count in rows.decode(Int64.self) where count > 0 { terminated = true }
                if !terminated { try await Task.sleep(for: .milliseconds(10)) }
            }
            try await connection.query("ALTER SYSTEM RESET synchronous_standby_names", logger: PostgresOwnCluster.logger)
            try await connection.query("SELECT pg_reload_conf()", logger: PostgresOwnCluster.logger)
            return terminated
        }
        #expect(terminated, "the save's commit never waited for the standby")
        let error = await pending.value
        #expect(error?.code == .io, "\(String(describing: error))")
        #expect(error?.message.contains("close and reopen") == true, "\(String(describing: error))")
        // Nothing more is written through this vault: a new channel would need a manifest built on
        // the count and set sum the vault no longer knows.
        await #expect(throws: VaultError(.io, "")) { try await vault.saveChannelState(channelID: 1902, pts: 1) }
        try await vault.close()
        let reopened = try await open(location, mode: .openExisting, wait: .seconds(30))
        let channels = try #require(try await reopened.load()?.updateState?.channels)
        #expect(Self.unknownChannels.allSatisfy { channels[$0] == 9 }, "the save committed locally before its answer was lost")
        #expect(channels[1902] == nil)
        try await reopened.saveChannelState(channelID: 1902, pts: 1)
        try await reopened.close()
        let check = try await open(location, mode: .openExisting, wait: .seconds(30))
        #expect(try await check.load()?.updateState?.channels[1902] == 1)
        try await check.close()
    }
}
#endif
