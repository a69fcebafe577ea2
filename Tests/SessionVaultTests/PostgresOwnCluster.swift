#if SESSION_VAULT_POSTGRES
import Foundation
import Logging
import PostgresNIO
@testable import SessionVaultPostgres
import SessionVaultKit

#if canImport(Glibc)
import Glibc
#endif

/// A throw-away PostgreSQL cluster owned by one test, on its own port and socket directory, for
/// faults that would disturb the shared cluster of `scripts/with-postgres.sh`: stopping and
/// restarting the server.
///
/// The postmaster is this process's own child (spawned with `Process`, through `setpriv` when the
/// tests run as root, which `exec`s; never through `pg_ctl`, whose postmaster would be orphaned), so
/// it can be signalled the way `pg_ctl stop -m fast|immediate` does and reaped. Its standard output
/// and error go to a log file, never to a pipe: a server that outlives a test must not keep a
/// reader of the test process waiting. ``destroy()`` stops it in every case; call it in a `defer`.
final class PostgresOwnCluster: @unchecked Sendable {
    // @unchecked Sendable: `postmaster` is guarded by `lock`.

    /// How the server is stopped: the signals `pg_ctl stop -m fast` and `-m immediate` send.
    enum Shutdown: String, CustomStringConvertible, Sendable, CaseIterable {
        /// SIGINT: backends are terminated (their transactions roll back), a checkpoint is written.
        case fast
        /// SIGQUIT: every process exits at once, no checkpoint; the next start recovers from the WAL
        /// (a crash, as far as the database is concerned).
        case immediate

        var signal: Int32 { self == .fast ? SIGINT : SIGQUIT }
        var description: String { rawValue }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let root: String
    let port: Int
    let bin: String
    let password: String
    static let logger = Logger(label: "test-own-cluster")
    private let lock = NSLock()
    private var postmaster: Process?

    /// Creates the cluster (`initdb`) in a fresh temporary directory; does not start it.
    init() async throws {
        guard let bin = PostgresTestServer.binDirectory else { throw Failure(description: "SESSION_VAULT_TEST_POSTGRES_BIN is not set") }
        self.bin = bin
        root = FileManager.default.temporaryDirectory.appendingPathComponent("sv-own-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        port = try Self.freePort()
        password = (0..<24).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: root + "/password"))
        if Self.asRoot {
            // initdb and postgres refuse to run as root: the cluster belongs to `postgres`.
            for path in [root, root + "/password"] { _ = chown(path, Self.postgresUser.uid, Self.postgresUser.gid) }
        }
        let status = try await Self.runToEnd(
            bin + "/initdb",
            ["-D", root + "/data", "-U", "postgres", "-A", "scram-sha-256", "--pwfile=\(root)/password", "--no-sync"],
            log: root + "/initdb.log"
        )
        guard status == 0 else { throw Failure(description: "initdb failed (\(status)): \(log("initdb.log"))") }
    }

    /// The process's user is root: the server runs as `postgres` (through `setpriv`, which `exec`s).
    static var asRoot: Bool { getuid() == 0 }

    static var postgresUser: (uid: uid_t, gid: gid_t) {
        guard let entry = getpwnam("postgres") else { return (0, 0) }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// The postmaster's process id, while it runs.
    var pid: Int32? { lock.withLock { postmaster?.processIdentifier } }

    /// Starts the postmaster (a child of this process) and waits until it accepts connections
    /// (its `postmaster.pid` says `ready`, as `pg_ctl -w` waits), at most 60 s.
    func start() async throws {
        let process = Process()
        let arguments = [
            "-D", root + "/data", "-p", String(port), "-k", root, "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=on", "-c", "max_connections=30", "-c", "logging_collector=off",
        ]
        try Self.configure(process, bin + "/postgres", arguments, log: root + "/server.log")
        try process.run()
        lock.withLock { postmaster = process }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw Failure(description: "the server exited at start: \(log("server.log"))") }
            if let pidFile = try? String(contentsOfFile: root + "/data/postmaster.pid", encoding: .utf8) {
                let lines = pidFile.split(separator: "\n", omittingEmptySubsequences: false)
                if lines.first.flatMap({ Int32($0) }) == process.processIdentifier, lines.count > 7,
                    lines[7].trimmingCharacters(in: .whitespaces) == "ready" {
                    return
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure(description: "the server did not become ready within 60 s: \(log("server.log"))")
    }

    /// Stops the server as `pg_ctl stop -m MODE` does (one signal to the postmaster) and waits until
    /// it has exited and been reaped, at most 60 s (then SIGKILL). Returns its termination status.
    @discardableResult
    func stop(_ mode: Shutdown) async throws -> Int32 {
        guard let process = lock.withLock({ postmaster }) else { throw Failure(description: "the server is not running") }
        _ = kill(process.processIdentifier, mode.signal)
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                _ = kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                lock.withLock { postmaster = nil }
                throw Failure(description: "the server did not stop (\(mode)) within 60 s; killed")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.waitUntilExit()
        lock.withLock { postmaster = nil }
        return process.terminationStatus
    }

    /// Stops the server if it runs (immediate shutdown, then SIGKILL after 30 s) and removes the
    /// cluster. Synchronous, so that a `defer` can call it whatever happened in the test.
    func destroy() {
        if let process = lock.withLock({ postmaster }) {
            _ = kill(process.processIdentifier, SIGQUIT)
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { _ = kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            lock.withLock { postmaster = nil }
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A location for `session` in this cluster (database `postgres`).
    func location(session: String, query: String = "") throws -> PostgresLocation {
        try PostgresLocation(
            parsing: "postgres://postgres@127.0.0.1:\(port)/postgres?session=\(session)\(query)",
            environment: ["SESSION_VAULT_POSTGRES_PASSWORD": password]
        )
    }

    /// Runs `body` on a fresh superuser connection to this cluster.
    @discardableResult
    func withAdmin<R>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        try await PostgresAdmin.withConnection(
            PostgresConnection.Configuration(
                host: "127.0.0.1", port: port, username: "postgres", password: password, database: "postgres", tls: .disable
            ),
            id: 98,
            body
        )
    }

    /// The tail of one of the cluster's log files (for failure messages).
    func log(_ name: String) -> String {
        let text = (try? String(contentsOfFile: root + "/" + name, encoding: .utf8)) ?? "(no \(name))"
        return String(text.suffix(2000))
    }

    /// Configures `process` to run `executable` (as `postgres` when this process is root), standard
    /// input from /dev/null, standard output and error appended to `log`.
    private static func configure(_ process: Process, _ executable: String, _ arguments: [String], log: String) throws {
        if asRoot {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.environment = ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        if asRoot { _ = chown(log, postgresUser.uid, postgresUser.gid) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        output.seekToEndOfFile()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
    }

    /// Runs a program to its end (bounded: 120 s, then SIGKILL) and returns its exit status.
    private static func runToEnd(_ executable: String, _ arguments: [String], log: String) async throws -> Int32 {
        let process = Process()
        try configure(process, executable, arguments, log: log)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(120)
        while process.isRunning {
            if ContinuousClock.now >= deadline { _ = kill(process.processIdentifier, SIGKILL) }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    private static func freePort() throws -> Int {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { throw Failure(description: "socket failed") }
        defer { close(socketDescriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(socketDescriptor, socketAddress, length) == 0 && getsockname(socketDescriptor, socketAddress, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
#endif
