#if SESSION_VAULT_POSTGRES
import Foundation
import Logging
import NIOCore
import PostgresNIO
public import SessionVaultKit
import Synchronization

/// `session-vault bench --postgres URL --sessions N`: one process holding N sessions on one server
/// through one pool (docs/LEASES.md), with the server's own single-row commit rate measured in the
/// same run as the baseline. Throw-away sessions (`fleet-bench-<random>-<i>`) are deleted afterwards.
/// The server's memory is read from `/proc` when the server runs on this machine and its processes
/// are readable (``PostgresServerMemory``); otherwise it is null, with a note saying why.
public enum PostgresFleetBenchmark {
    /// The figures of one run (JSON keys in parentheses).
    public struct Report: Sendable {
        /// Sessions opened (`fleet_sessions`).
        public var sessions: Int
        /// The pool's size (`fleet_pool_size`).
        public var poolSize: Int
        /// Seconds to open (create) every session, Argon2id `interactive` included (`fleet_open_s`).
        public var openSeconds: Double
        /// The most server connections the pool held, sampled from `pg_stat_activity` every 50 ms
        /// throughout the run (`fleet_connections_max`).
        public var connectionsMax: Int
        /// Durable update-state saves per second across every session at once, each session's loop
        /// in a task of its own (`fleet_saves_per_s`).
        public var savesPerSecond: Double
        /// The same, each loop preferring its vault's executor (``SessionVault/taskExecutor``), right
        /// after (`fleet_saves_on_vault_executor_per_s`).
        public var savesOnVaultExecutorPerSecond: Double
        /// Single-row `UPDATE` commits per second from `poolSize` connections of their own, pgbench
        /// style (each statement parsed and planned anew, as pgbench's default protocol does), right
        /// after (`fleet_baseline_commits_per_s`).
        public var baselineCommitsPerSecond: Double
        /// The same with the `UPDATE` prepared once per connection (`pgbench -M prepared`), the
        /// server's best single-row commit rate; saves are prepared statements too
        /// (`fleet_baseline_prepared_commits_per_s`).
        public var preparedBaselineCommitsPerSecond: Double
        /// Leases renewed per second while every session was open and idle (`fleet_renewals_per_s`).
        public var renewalsPerSecond: Double
        /// Renewal statements (each one commit, renewing every lease of the pool) per second while
        /// idle (`fleet_renewal_statements_per_s`).
        public var renewalStatementsPerSecond: Double
        /// Renewal statements per second ÷ baseline commits per second: the share of the server's
        /// single-row commit capacity renewals use (`fleet_renewal_share`).
        public var renewalShare: Double
        /// Seconds the server spent answering renewal statements per second of the idle window, as
        /// seen by the client (round trips included, pool waits not): an upper bound of the share of
        /// one backend's time renewals take (`fleet_renewal_busy_share`).
        public var renewalBusyShare: Double
        /// The pool's backends' memory near the end of the saves, when readable
        /// (`fleet_server_backends`, `fleet_server_rss_bytes`, `fleet_server_pss_bytes`,
        /// `fleet_server_private_bytes`), else nil and `fleet_server_memory_note` says why.
        public var serverMemory: PostgresServerMemory?
        /// Why ``serverMemory`` is nil.
        public var serverMemoryNote: String?
        /// Seconds from a holder's abandonment (no release, no renewal, as a kill) until another
        /// opener got its session (`fleet_takeover_s`), and the lease duration (`fleet_lease_s`).
        public var takeoverSeconds: Double
        /// The lease duration of the run.
        public var leaseSeconds: Double

        /// The JSON members.
        public var jsonObject: [String: Any] {
            let object: [String: Any] = [
                "fleet_sessions": sessions, "fleet_pool_size": poolSize, "fleet_open_s": openSeconds,
                "fleet_connections_max": connectionsMax, "fleet_saves_per_s": savesPerSecond,
                "fleet_baseline_commits_per_s": baselineCommitsPerSecond,
                "fleet_saves_vs_baseline": baselineCommitsPerSecond > 0 ? savesPerSecond / baselineCommitsPerSecond : 0,
                "fleet_baseline_prepared_commits_per_s": preparedBaselineCommitsPerSecond,
                "fleet_saves_on_vault_executor_per_s": savesOnVaultExecutorPerSecond,
                "fleet_saves_on_vault_executor_vs_baseline": baselineCommitsPerSecond > 0 ? savesOnVaultExecutorPerSecond / baselineCommitsPerSecond : 0,
                "fleet_saves_on_vault_executor_vs_prepared_baseline": preparedBaselineCommitsPerSecond > 0 ? savesOnVaultExecutorPerSecond / preparedBaselineCommitsPerSecond : 0,
                "fleet_saves_vs_prepared_baseline": preparedBaselineCommitsPerSecond > 0 ? savesPerSecond / preparedBaselineCommitsPerSecond : 0,
                "fleet_renewals_per_s": renewalsPerSecond, "fleet_renewal_share": renewalShare,
                "fleet_renewal_statements_per_s": renewalStatementsPerSecond, "fleet_renewal_busy_share": renewalBusyShare,
                "fleet_takeover_s": takeoverSeconds, "fleet_lease_s": leaseSeconds,
                "fleet_server_backends": serverMemory.map { $0.backends as Any } ?? NSNull(),
                "fleet_server_rss_bytes": serverMemory.map { $0.rssBytes as Any } ?? NSNull(),
                "fleet_server_pss_bytes": serverMemory.map { $0.pssBytes as Any } ?? NSNull(),
                "fleet_server_private_bytes": serverMemory.map { $0.privateBytes as Any } ?? NSNull(),
                "fleet_server_memory_note": serverMemoryNote.map { $0 as Any } ?? NSNull(),
            ]
            return object
        }
    }

    /// Runs the fleet measurement: open `sessions` sessions, save from all at once for `seconds`,
    /// measure the baseline for as long, idle for one lease duration counting renewals, then a takeover.
    public static func run(
        url: String,
        sessions: Int,
        poolSize: Int = 20,
        seconds: Double = 10,
        progress: @Sendable (String) -> Void = { _ in }
    ) async throws(VaultError) -> Report {
        let run = UInt64.random(in: 0...UInt64.max)
        let separator = url.contains("?") ? "&" : "?"
        let leaseSeconds = 15.0
        let locations = try (0..<sessions).map { index throws(VaultError) in
            try PostgresLocation(parsing: "\(url)\(separator)session=fleet-bench-\(run)-\(index)&pool_size=\(poolSize)&lease_seconds=\(Int(leaseSeconds))")
        }
        guard let first = locations.first else { throw VaultError(.invalidArgument, "--sessions must be at least 1") }
        let logger = Logger(label: "SessionVault.bench")
        let pool = try PostgresPool.shared(for: first, logger: logger)
        let admin = try await connectAdmin(first, logger: logger)
        let peak = Shared(0)
        let sampler = Task {
            while !Task.isCancelled {
                if let count = try? await count(admin, pool.applicationName, logger) { peak.withLock { $0 = max($0, count) } }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let result: Result<Report, VaultError>
        do throws(VaultError) {
            result = .success(
                try await measure(
                    url: url, separator: separator, run: run, locations: locations, logger: logger, peak: peak,
                    poolSize: poolSize, seconds: seconds, leaseSeconds: leaseSeconds, admin: admin, pool: pool,
                    progress: progress
                ))
        } catch {
            result = .failure(error)
        }
        sampler.cancel()
        _ = await sampler.value
        try? await admin.close()
        return try result.get()
    }

    private static func measure(
        url: String, separator: String, run: UInt64, locations: [PostgresLocation], logger: Logger, peak: Shared<Int>,
        poolSize: Int, seconds: Double, leaseSeconds: Double, admin: PostgresConnection, pool: PostgresPool,
        progress: @Sendable (String) -> Void
    ) async throws(VaultError) -> Report {
        let sessions = locations.count
        let first = locations[0]
        var configuration = SessionVault.Configuration()
        configuration.mode = .create
        configuration.kdf = .interactive
        let passphraseText = "session-vault bench passphrase (synthetic data)"
        progress("opening \(sessions) sessions (Argon2id interactive) through a pool of \(poolSize)")
        let openStart = ContinuousClock.now
        let vaults = Shared<[SessionVault]>([])
        let fleetConfiguration = configuration
        do {
            // At most `openers` opens at a time (Argon2id is CPU-bound anyway): a flood of opens
            // would queue every lease renewal behind thousands of statements in the pool.
            let openers = max(2, ProcessInfo.processInfo.activeProcessorCount * 2)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, location) in locations.enumerated() {
                    if index >= openers { try await group.next() }
                    group.addTask {
                        let vault = try await PostgresVault.open(location, passphrase: try Passphrase(copying: passphraseText), configuration: fleetConfiguration)
                        try await vault.saveUpdateState(pts: 0, qts: 0, date: 0, seq: 0)
                        vaults.withLock { $0.append(vault) }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            await deleteAll(vaults.value)
            throw error as? VaultError ?? VaultError(.io, "opening the fleet: \(error)")
        }
        let openSeconds = elapsedSeconds(ContinuousClock.now - openStart)
        let opened = vaults.value

        progress("durable update-state saves from all \(sessions) sessions for \(seconds) s")
        // The pool's backends' memory, read while every connection is busy (at 80 % of the saves).
        let saveStart = ContinuousClock.now
        let memoryReading = Task { () -> Result<PostgresServerMemory, PostgresServerMemory.Note> in
            try? await Task.sleep(until: saveStart + .milliseconds(Int64(seconds * 800)), clock: .continuous)
            do {
                return PostgresServerMemory.read(pids: try await backendPIDs(admin, pool.applicationName, logger), host: first.host)
            } catch {
                return .failure(PostgresServerMemory.Note("pg_stat_activity could not be read: \(PostgresRecordStore.mapError(error, "reading pg_stat_activity").message)"))
            }
        }
        let savesPerSecond: Double
        let savesOnVaultExecutorPerSecond: Double
        do throws(VaultError) {
            savesPerSecond = try await saveRate(opened, seconds: seconds, onVaultExecutor: false)
            progress("the same saves, each session's loop on its vault's executor, for \(seconds) s")
            savesOnVaultExecutorPerSecond = try await saveRate(opened, seconds: seconds, onVaultExecutor: true)
        } catch {
            await deleteAll(opened)
            throw error
        }
        let serverMemory = await memoryReading.value

        progress("renewals while idle for \(leaseSeconds) s")
        let renewalsBefore = PostgresLease.renewalCount.load(ordering: .relaxed)
        let statementsBefore = PostgresLease.renewalStatementCount.load(ordering: .relaxed)
        let busyBefore = PostgresLease.renewalBusyNanoseconds.load(ordering: .relaxed)
        let idleStart = ContinuousClock.now
        try? await Task.sleep(for: .milliseconds(Int64(leaseSeconds * 1000)))
        let idleSeconds = elapsedSeconds(ContinuousClock.now - idleStart)
        let renewalsPerSecond = Double(PostgresLease.renewalCount.load(ordering: .relaxed) - renewalsBefore) / idleSeconds
        let renewalStatementsPerSecond = Double(PostgresLease.renewalStatementCount.load(ordering: .relaxed) - statementsBefore) / idleSeconds
        let renewalBusyShare = Double(PostgresLease.renewalBusyNanoseconds.load(ordering: .relaxed) - busyBefore) / 1e9 / idleSeconds

        progress("takeover of an abandoned session")
        let takeoverSeconds: Double
        do {
            let location = try PostgresLocation(parsing: "\(url)\(separator)session=fleet-bench-\(run)-takeover&pool_size=\(poolSize)&lease_seconds=\(Int(leaseSeconds))")
            let holder = try await PostgresRecordStore.connect(to: location, logger: logger)
            // As a killed holder: no release, no more renewals.
            holder.lease.forget()
            let abandoned = ContinuousClock.now
            let next = try await PostgresRecordStore.connect(to: location, lockWait: .milliseconds(Int64(leaseSeconds * 3000)), logger: logger)
            takeoverSeconds = elapsedSeconds(ContinuousClock.now - abandoned)
            try await next.destroy()
        } catch {
            await deleteAll(opened)
            throw error
        }

        await deleteAll(opened)

        progress("baseline: single-row UPDATE commits from \(poolSize) connections for \(seconds) s")
        let baseline = try await baselineCommitRate(first, connections: poolSize, rows: sessions, seconds: seconds, prepared: false, logger: logger)
        progress("baseline: the same UPDATE as a prepared statement for \(seconds) s")
        let preparedBaseline = try await baselineCommitRate(first, connections: poolSize, rows: sessions, seconds: seconds, prepared: true, logger: logger)
        return Report(
            sessions: sessions, poolSize: poolSize, openSeconds: openSeconds, connectionsMax: peak.value,
            savesPerSecond: savesPerSecond, savesOnVaultExecutorPerSecond: savesOnVaultExecutorPerSecond,
            baselineCommitsPerSecond: baseline, preparedBaselineCommitsPerSecond: preparedBaseline,
            renewalsPerSecond: renewalsPerSecond,
            renewalStatementsPerSecond: renewalStatementsPerSecond,
            renewalShare: baseline > 0 ? renewalStatementsPerSecond / baseline : 0, renewalBusyShare: renewalBusyShare,
            serverMemory: try? serverMemory.get(), serverMemoryNote: serverMemory.failureNote,
            takeoverSeconds: takeoverSeconds, leaseSeconds: leaseSeconds
        )
    }

    /// Durable update-state saves per second from every session at once, each in a loop for
    /// `seconds`: in a task of its own, or (`onVaultExecutor`) one preferring its vault's executor,
    /// as the Threading article suggests for a bot's update loop.
    private static func saveRate(_ vaults: [SessionVault], seconds: Double, onVaultExecutor: Bool) async throws(VaultError) -> Double {
        let saves = Counter()
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int64(seconds * 1000))
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for vault in vaults {
                    let loop: @concurrent @Sendable () async throws -> Void = {
                        var pts: Int32 = 0
                        while ContinuousClock.now < end {
                            pts += 1
                            try await vault.saveUpdateState(pts: pts, qts: 0, date: 0, seq: 0)
                            saves.increment()
                        }
                    }
                    if onVaultExecutor {
                        group.addTask(executorPreference: vault.taskExecutor, operation: loop)
                    } else {
                        group.addTask(operation: loop)
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            throw error as? VaultError ?? VaultError(.io, "saving: \(error)")
        }
        return Double(saves.value) / elapsedSeconds(ContinuousClock.now - start)
    }

    private static func elapsedSeconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private static func deleteAll(_ vaults: [SessionVault]) async {
        for vault in vaults { try? await vault.delete() }
    }

    private static func connectAdmin(_ location: PostgresLocation, logger: Logger) async throws(VaultError) -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(
                configuration: PostgresConnection.Configuration(
                    host: location.host, port: location.port, username: location.username, password: location.password,
                    database: location.database, tls: try tls(location.tls)
                ),
                id: 1,
                logger: logger
            )
        } catch {
            throw PostgresRecordStore.mapError(error, "connecting to \(location)")
        }
    }

    private static func tls(_ mode: PostgresLocation.TLSMode) throws -> PostgresConnection.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }

    private static func count(_ connection: PostgresConnection, _ application: String, _ logger: Logger) async throws -> Int {
        let rows = try await connection.query("SELECT count(*)::bigint FROM pg_stat_activity WHERE application_name = \(application)", logger: logger)
        for try await value in rows.decode(Int64.self) { return Int(value) }
        return 0
    }

    private static func backendPIDs(_ connection: PostgresConnection, _ application: String, _ logger: Logger) async throws -> [Int32] {
        let rows = try await connection.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = \(application) AND datname = current_database()", logger: logger)
        var pids: [Int32] = []
        for try await pid in rows.decode(Int32.self) { pids.append(pid) }
        return pids
    }

    /// pgbench-style: `connections` connections of their own, each committing single-row `UPDATE`s
    /// of random rows of a throw-away table of `rows` rows, for `seconds`; each `UPDATE` a one-off
    /// statement, or with `prepared` a statement prepared once per connection (its text is fixed, so
    /// the table has a fixed name: `sessionvault_bench_prepared_baseline`, replaced if it exists).
    private static func baselineCommitRate(
        _ location: PostgresLocation, connections: Int, rows: Int, seconds duration: Double, prepared: Bool, logger: Logger
    ) async throws(VaultError) -> Double {
        let table = prepared ? BaselineUpdate.table : "sessionvault_bench_baseline_\(UInt32.random(in: 0...UInt32.max))"
        let setup = try await connectAdmin(location, logger: logger)
        do {
            if prepared { try await setup.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(table)"), logger: logger) }
            try await setup.query(PostgresQuery(unsafeSQL: "CREATE TABLE \(table) (id INTEGER PRIMARY KEY, payload BYTEA NOT NULL)"), logger: logger)
            try await setup.query(
                PostgresQuery(unsafeSQL: "INSERT INTO \(table) SELECT g, decode(repeat('00', 80), 'hex') FROM generate_series(0, \(max(rows, 1) - 1)) g"),
                logger: logger)
        } catch {
            try? await setup.close()
            throw PostgresRecordStore.mapError(error, "preparing the baseline table")
        }
        let commits = Counter()
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int64(duration * 1000))
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<connections {
                    group.addTask {
                        let connection = try await connectAdmin(location, logger: logger)
                        let payload = ByteBuffer(bytes: (0..<80).map { _ in UInt8.random(in: 0...255) })
                        do {
                            while ContinuousClock.now < end {
                                let id = Int32(Int.random(in: 0..<max(rows, 1)))
                                if prepared {
                                    _ = try await connection.execute(BaselineUpdate(payload: payload, id: id), logger: logger)
                                } else {
                                    try await connection.query("UPDATE \(unescaped: table) SET payload = \(payload) WHERE id = \(id)", logger: logger)
                                }
                                commits.increment()
                            }
                        } catch {
                            try? await connection.close()
                            throw error
                        }
                        try await connection.close()
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            _ = try? await setup.query(PostgresQuery(unsafeSQL: "DROP TABLE \(table)"), logger: logger)
            try? await setup.close()
            throw error as? VaultError ?? PostgresRecordStore.mapError(error, "measuring the baseline")
        }
        let rate = Double(commits.value) / elapsedSeconds(ContinuousClock.now - start)
        _ = try? await setup.query(PostgresQuery(unsafeSQL: "DROP TABLE \(table)"), logger: logger)
        try? await setup.close()
        return rate
    }
}

/// The prepared baseline's `UPDATE`.
private struct BaselineUpdate: PostgresPreparedStatement {
    static let table = "sessionvault_bench_prepared_baseline"
    static let sql = "UPDATE \(table) SET payload = $1 WHERE id = $2"
    typealias Row = ()
    var payload: ByteBuffer
    var id: Int32

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(payload)
        bindings.append(id)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

extension Result where Failure == PostgresServerMemory.Note {
    fileprivate var failureNote: String? {
        if case .failure(let note) = self { return note.message }
        return nil
    }
}
#endif
