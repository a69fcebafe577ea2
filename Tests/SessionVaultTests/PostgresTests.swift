#if SESSION_VAULT_POSTGRES
import Foundation
import PostgresNIO
@testable import SessionVaultPostgres
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// The PostgreSQL store against the real server `make test` starts (scripts/with-postgres.sh).
@Suite("PostgreSQL", .enabled(if: PostgresTestServer.url != nil || ProcessInfo.processInfo.environment["CI"] != nil))
struct PostgresTests {
    func open(_ location: PostgresLocation, mode: SessionVault.Configuration.Mode = .openOrCreate, wait: Duration = .zero) async throws -> SessionVault {
        var configuration = fastConfiguration(mode: mode)
        configuration.lockWait = wait
        return try await PostgresVault.open(location, passphrase: passphrase(), configuration: configuration)
    }

    /// `make test` always runs a cluster; CI without one is a broken set-up, not a skip.
    @Test func serverIsAvailableWhenRequired() {
        #expect(PostgresTestServer.url != nil, "SESSION_VAULT_TEST_POSTGRES_URL is not set: run the tests through `make test`")
    }

    @Test func locationsParseAndNeverPrintThePassword() throws {
        let location = try PostgresLocation(
            parsing: "postgres://bots:s3cret@db.example:6543/fleet?session=bot-17&sslmode=require",
            environment: [:]
        )
        #expect(location.host == "db.example" && location.port == 6543 && location.database == "fleet")
        #expect(location.username == "bots" && location.password == "s3cret" && location.sessionName == "bot-17")
        #expect(location.tls == .require)
        #expect(!location.description.contains("s3cret"))
        let viaEnvironment = try PostgresLocation(
            parsing: "pg:bot-18",
            environment: ["SESSION_VAULT_POSTGRES_URL": "postgres://bots@db.example/fleet", "SESSION_VAULT_POSTGRES_PASSWORD": "x"]
        )
        #expect(viaEnvironment.sessionName == "bot-18" && viaEnvironment.password == "x")
        #expect(viaEnvironment.poolName == "")
        let named = try PostgresLocation(parsing: "postgres://u@h/d?session=a&pool=critical_bots-2", environment: [:])
        #expect(named.poolName == "critical_bots-2")
        #expect(named.preparedStatements)
        #expect(try !PostgresLocation(parsing: "postgres://u@h/d?session=a&prepared_statements=false", environment: [:]).preparedStatements)
        #expect(try PostgresLocation(parsing: "postgres://u@h/d?session=a&prepared_statements=TRUE", environment: [:]).preparedStatements)
        #expect(throws: VaultError(.invalidArgument, "prepared_statements must be true or false")) {
            _ = try PostgresLocation(parsing: "postgres://u@h/d?session=a&prepared_statements=sometimes", environment: [:])
        }
        for bad in ["postgres://db.example/fleet?session=a", "postgres://u@db.example/fleet", "http://u@h/d?session=a", "pg:x",
                    "postgres://u@h/d?session=a&sslmode=maybe", "postgres://u@h/d?session=a&pool=",
                    "postgres://u@h/d?session=a&pool=a%20b", "postgres://u@h/d?session=a&pool=" + String(repeating: "p", count: 65)] {
            #expect(throws: VaultError(.invalidArgument, "")) { _ = try PostgresLocation(parsing: bad, environment: [:]) }
        }
    }

    @Test func aSecondOpenerGetsInUseNamingTheHolder() async throws {
        let location = try PostgresTestServer.location(session: "contended-\(UUID().uuidString)")
        let holder = try await open(location)
        do {
            _ = try await open(location)
            Issue.record("a second opener got the session")
        } catch let error as VaultError {
            #expect(error.code == .inUse)
            #expect(error.holderPID == getpid())
            #expect(error.message.contains("pid \(getpid())"))
            #expect(error.message.contains("host \(ProcessInfo.processInfo.hostName)"))
        }
        // A waiting opener gets it once the holder closes.
        let waiter = Task { try await open(location, wait: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(300))
        try await holder.close()
        try await waiter.value.close()
    }

    /// A server that cannot be reached (nothing listens on its port): the open waits the pool's 30 s
    /// for a connection, then fails with `io` saying that none could be opened, not "pool
    /// exhausted" (kept for a pool whose connections are all busy:
    /// `PostgresLeaseTests/anExhaustedPoolFailsCleanlyAndLosesNothing`).
    @Test(.timeLimit(.minutes(2))) func anUnreachableServerIsNamedAsSuch() async throws {
        let port = try unusedPort()
        let location = try PostgresLocation(
            parsing: "postgres://postgres@127.0.0.1:\(port)/sessionvault?session=unreachable&pool=unreachable",
            environment: PostgresTestServer.locationEnvironment)
        do {
            _ = try await open(location)
            Issue.record("a vault opened on a port where nothing listens")
        } catch let error as VaultError {
            #expect(error.code == .io)
            #expect(error.message.contains("no connection to the server could be opened within 30"), "\(error.message)")
            #expect(error.message.contains("is the server running and reachable?"), "\(error.message)")
            #expect(!error.message.contains("pool exhausted"), "\(error.message)")
        }
    }

    /// A loopback TCP port that nothing listens on (bound, read, closed again).
    func unusedPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A pool watches each of its connections' close with one callback, registered on first use and
    /// dropped with the connection: not one per query, which the connection's close future would keep
    /// for the connection's whole life. After 300 saves from 3 sessions at once through a pool of 2,
    /// at most 2 connections are watched and no use of them is still registered.
    @Test func aPoolWatchesEachConnectionOnce() async throws {
        let pool = "watch-\(UUID().uuidString.prefix(8))"
        let locations = try (0..<3).map { index in
            try PostgresTestServer.location(session: "watch-\(index)-\(UUID().uuidString)", query: "&pool_size=2&pool=\(pool)")
        }
        var vaults: [SessionVault] = []
        for location in locations { vaults.append(try await open(location)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for vault in vaults {
                group.addTask {
                    for round in 0..<100 { try await vault.saveUpdateState(pts: Int32(round), qts: 0, date: 0, seq: 0) }
                }
            }
            try await group.waitForAll()
        }
        let shared = try PostgresPool.shared(for: locations[0], logger: PostgresAdmin.logger)
        #expect((1...2).contains(shared.watchedConnections), "\(shared.watchedConnections) connections watched")
        #expect(shared.registeredUses == 0)
        for vault in vaults { try await vault.delete() }
    }

    @Test func aConnectionKilledMidSaveLeavesTheLastCommit() async throws {
        // Its own pool, so that killing its connections leaves other tests alone.
        let location = try PostgresTestServer.location(session: "killed-\(UUID().uuidString)", query: "&pool_size=3&pool=killed")
        let vault = try await open(location)
        let committed = try sampleSession(channels: 3)
        try await vault.save(committed)
        // A large save: 20,000 new channels in one transaction, killed while it runs.
        var big = committed
        for i in 0..<20_000 { big.updateState?.channels[5_000_000 + Int64(i)] = 1 }
        let saving = Task { try await vault.save(big) }
        #expect(try await PostgresAdmin.terminateBackendMidTransaction(of: location))
        do {
            try await saving.value
            Issue.record("the save finished before the connection was killed; make it larger")
        } catch let error as VaultError {
            #expect(error.code == .io)
            #expect(error.message.contains("connection") || error.message.contains("terminat"))
        }
        try? await vault.close()
        let reopened = try await open(location, mode: .openExisting)
        #expect(try await reopened.load() == committed)
        // The pool replaced the killed connections: the same vault saves again.
        var next = committed
        next.updateState?.pts = 4242
        try await reopened.save(next)
        try await reopened.close()
        let third = try await open(location, mode: .openExisting)
        #expect(try await third.load() == next)
        try await third.close()
    }

    @Test func pgDumpHoldsNoSecretAndNoIdentifier() async throws {
        let bin = try #require(PostgresTestServer.binDirectory)
        let session = try sampleSession(channels: 20)
        let location = try PostgresTestServer.location(session: "dumped-\(UUID().uuidString)")
        let vault = try await open(location)
        // PostgreSQL vaults use the same sealing: format version 2, records padded (docs/FORMAT.md §5.4).
        #expect(await vault.formatVersion == 2)
        try await vault.save(session)
        try await vault.upsertPeers(PeerCacheTests.peers)
        try await vault.saveUpdateState(pts: 5, qts: 6, date: 7, seq: 8)
        try await vault.close()

        let keyedLocation = try PostgresTestServer.location(session: "secret-bot-name", query: "&keyed_names=true")
        setenv("SESSION_VAULT_POSTGRES_NAME_KEY", "fleet name key for tests", 1)
        let keyed = try await open(keyedLocation)
        try await keyed.save(session)
        try await keyed.close()

        let dump = try await runPGDump(bin: bin)
        #expect(dump.count > 1000)
        #expect(contains(dump, Array("sessionvault_record".utf8)))
        var needles: [(String, [UInt8])] = [
            ("user id LE", withUnsafeBytes(of: session.user!.id.littleEndian) { Array($0) }),
            ("user id text", Array(String(session.user!.id).utf8)),
            ("username", Array(session.user!.username!.utf8)),
            ("address", Array("149.154.167.51".utf8)),
            ("keyed session name", Array("secret-bot-name".utf8)),
        ]
        for key in session.dataCenters.flatMap({ [$0.authKey, $0.temporaryAuthKey] }).compactMap({ $0 }) {
            let bytes = rawBytes(key)
            for start in 0...(bytes.count - 8) { needles.append(("auth key window \(start)", Array(bytes[start..<(start + 8)]))) }
            // pg_dump prints bytea as hex text: check that form too.
            needles.append(("auth key hex", Array(hex(Array(bytes.prefix(16))).utf8)))
        }
        for peer in PeerCacheTests.peers {
            for text in [peer.username, peer.phoneNumber, peer.name].compactMap({ $0 }) { needles.append(("peer \(text)", Array(text.utf8))) }
        }
        for (name, needle) in needles { #expect(!contains(dump, needle), "pg_dump contains \(name)") }
    }

    func runPGDump(bin: String) async throws -> [UInt8] {
        let url = try #require(PostgresTestServer.url)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin + "/pg_dump")
        process.arguments = ["--data-only", "--inserts", url]
        process.environment = ["PGPASSWORD": PostgresTestServer.password, "PATH": "/usr/bin:/bin"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = await readToEnd(output.fileHandleForReading)
        await waitForExit(process)
        #expect(process.terminationStatus == 0)
        return [UInt8](data)
    }
}
#endif
