#if SESSION_VAULT_POSTGRES && os(Linux)
import Foundation
import Testing
import SessionVaultKit
import SessionVaultTestSupport

/// A holder's wall clock jumps (an NTP step, `date -s`): nothing changes, because the holder decides
/// when to stop writing with its monotonic clock and the server decides expiry with its own clock
/// (docs/LEASES.md §3, clock assumption 1).
///
/// The jump is real: `session-vault serve` runs with libfaketime preloaded (Debian package
/// `faketime`, which scripts/install-deps.sh installs), its wall clock (`CLOCK_REALTIME`, `time`,
/// `gettimeofday`) moved by hours while it runs, its monotonic clocks (`CLOCK_MONOTONIC`,
/// `CLOCK_BOOTTIME`) left alone (`FAKETIME_DONT_FAKE_MONOTONIC=1`). The offset is read from a file at
/// every call (`FAKETIME_NO_CACHE=1`), so the test moves the clock of the running holder.
///
/// The agent is started through the `faketime` wrapper (`faketime -f +0 env -u FAKETIME
/// session-vault …`): the wrapper creates libfaketime's shared state and sets `FAKETIME_SHARED`
/// before the agent starts; `env -u FAKETIME` drops the wrapper's fixed offset so that the file
/// decides. Preloading the library alone would make it `setenv` that variable in the agent, which
/// moves `environ` off the initial stack, where the Swift runtime looks for `argv` on Linux: the
/// agent would see no arguments.
///
/// Only forward jumps are injected into a running holder. libfaketime 0.9.10 also rewrites the
/// absolute deadlines a process gives to `timerfd_settime` by the wall-clock offset, whatever the
/// timer's clock, so after a backward jump every sleep of the Swift runtime (on `CLOCK_BOOTTIME`
/// timers) fires hours late: the holder would stop renewing because of the tool, not of the code
/// under test (a plain `Task.sleep(until:clock: .continuous)` loop stalls the same way). A forward
/// jump makes those timers fire early, which the renewal loop tolerates (it checks the time again
/// after every sleep).
@Suite(
    "PostgreSQL leases and the client's wall clock",
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["SESSION_VAULT_TEST_POSTGRES_URL"] != nil)
)
struct LeaseClockJumpTests {
    static var url: String { LeaseTakeoverTests.url }
    let takeover = LeaseTakeoverTests()

    /// The `faketime` wrapper's path, if installed.
    static var faketime: String? {
        ["/usr/bin/faketime", "/usr/local/bin/faketime"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The wrapper's arguments to run `command` with its wall clock offset by the contents of the
    /// clock file.
    func faked(_ command: [String]) -> [String] {
        ["-f", "+0", "/usr/bin/env", "-u", "FAKETIME"] + command
    }

    /// An environment whose wall clock is offset by the contents of `clockFile` (with ``faked(_:)``).
    func fakedEnvironment(_ clockFile: String) -> [String: String?] {
        var environment = LeaseTakeoverTests.environment
        environment["FAKETIME_TIMESTAMP_FILE"] = clockFile
        environment["FAKETIME_NO_CACHE"] = "1"
        environment["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        return environment
    }

    /// An agent started through the wrapper with its wall clock read from `clockFile`.
    func fakedAgent(_ wrapper: String, _ arguments: [String], clockFile: String) throws -> AgentHarness {
        try AgentHarness(faked([CLI.binary] + arguments), environment: fakedEnvironment(clockFile), executable: wrapper)
    }

    /// Moves the wall clock of every process reading `clockFile` to real time + `offset` (libfaketime's
    /// syntax: "+6h", "-1d").
    func setClock(_ clockFile: String, _ offset: String) throws {
        try Data((offset + "\n").utf8).write(to: URL(fileURLWithPath: clockFile), options: .atomic)
    }

    /// The wall clock a process started through `wrapper` with `clockFile` reads now, minus the real one
    /// (seconds): proves that the offset is in effect.
    func fakedOffset(_ wrapper: String, _ clockFile: String) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrapper)
        process.arguments = faked(["/bin/date", "+%s"])
        var environment = minimalChildEnvironment()
        for (name, value) in fakedEnvironment(clockFile) { environment[name] = value }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let faked = Double(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        return faked - Date().timeIntervalSince1970
    }

    /// A /proc file's text, read to its end (its size says 0).
    func procText(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Whether the agent the wrapper `pid` started is `session-vault` with libfaketime mapped in.
    func isFaked(_ pid: Int32) -> Bool {
        let processes = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { Int32($0) != nil }
        let children = processes.filter { process in
            // /proc/N/stat: "N (name) S PPID …"; the name may hold spaces, so split after the last ')'.
            guard let stat = procText("/proc/\(process)/stat"),
                let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
        return children.contains { child in
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(child)/exe")) ?? ""
            let maps = procText("/proc/\(child)/maps") ?? ""
            return executable.hasSuffix("/session-vault") && maps.contains("libfaketime")
        }
    }

    /// The holder's wall clock jumps six hours forward and stays there for longer than the lease
    /// duration (6 s): it keeps its lease (renewing by its monotonic clock; an expiry or deadline
    /// computed from its wall clock would have passed long ago), writes normally and is never told
    /// `lease-lost`. A second holder whose wall clock is a day ahead (it
    /// would think the lease long expired) or a day behind cannot take the live lease: `in-use`,
    /// decided by the server's clock.
    @Test func aWallClockJumpOnTheHolderChangesNothing() async throws {
        let wrapper = try #require(Self.faketime, "faketime is missing: run scripts/install-deps.sh (Debian package faketime)")
        try await withTemporaryDirectory { directory in
            let clock = directory + "/holder-clock"
            try setClock(clock, "+0")
            let location = "\(Self.url)?session=clock-jump-\(UUID().uuidString)&lease_seconds=6"
            let holder = try fakedAgent(wrapper, ["serve", location, "--create", "--kdf", "interactive"], clockFile: clock)
            #expect(try await holder.readLine()["event"] as? String == "ready")
            #expect(isFaked(holder.pid), "libfaketime is not loaded in the holder")
            _ = try await holder.request(takeover.updateState(1))

            try setClock(clock, "+6h")
            #expect(abs(try fakedOffset(wrapper, clock) - 21_600) < 60, "the wall clock did not move")
            try await Task.sleep(for: .seconds(7))  // longer than the lease: at least three renewals
            let (answer, events) = try await takeover.exchange(holder, id: 10, takeover.updateState(3))
            #expect(answer["ok"] as? Bool == true, "write after the jump: \(answer)")
            #expect(events.isEmpty, "events: \(events)")

            for offset in ["+1d", "-1d"] {
                let otherClock = directory + "/other-clock"
                try setClock(otherClock, offset)
                let second = try fakedAgent(wrapper, ["serve", location], clockFile: otherClock)
                let event = try await second.readLine()
                #expect(event["event"] as? String == "failed", "second holder, wall clock \(offset): \(event)")
                if event["event"] as? String == "ready" { second.closeInput() }
                #expect((event["error"] as? [String: Any])?["code"] as? String == "in-use")
                #expect(await second.exitStatus() == 67)
            }

            let loaded = try await holder.request(["op": "load"])
            #expect(((loaded["session"] as? [String: Any])?["update_state"] as? [String: Any])?["pts"] as? Int == 3)
            #expect(try await holder.request(["op": "close"]).isEmpty)
            #expect(await holder.exitStatus() == 0)
        }
    }

    /// Renewals hang (an administrator's transaction locks the lease row, as an unreachable or stuck
    /// server would) and at the same moment the holder's wall clock jumps six hours forward: the holder
    /// still stops at its write deadline by its monotonic clock (4 s after its last renewal was sent
    /// with `lease_seconds=6`), says `lease-lost` while the lease still runs on the server, refuses the
    /// next write with `lease-lost`, and the last acknowledged write is there for the next holder.
    @Test func aHolderWhoseRenewalsHangStopsAtItsDeadlineWhateverItsWallClock() async throws {
        let wrapper = try #require(Self.faketime, "faketime is missing: run scripts/install-deps.sh (Debian package faketime)")
        let bin = try #require(ProcessInfo.processInfo.environment["SESSION_VAULT_TEST_POSTGRES_BIN"])
        let passwordFile = try #require(ProcessInfo.processInfo.environment["SESSION_VAULT_TEST_POSTGRES_PASSWORD_FILE"])
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try await withTemporaryDirectory { directory in
            let clock = directory + "/holder-clock"
            try setClock(clock, "+0")
            let name = "clock-cut-\(UUID().uuidString)"
            let location = "\(Self.url)?session=\(name)&lease_seconds=6"
            let holder = try fakedAgent(wrapper, ["serve", location, "--create", "--kdf", "interactive"], clockFile: clock)
            #expect(try await holder.readLine()["event"] as? String == "ready")
            #expect(isFaked(holder.pid), "libfaketime is not loaded in the holder")
            _ = try await holder.request(takeover.updateState(1))

            let admin = try AgentHarness(
                ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", Self.url], environment: ["PGPASSWORD": password], executable: bin + "/psql")
            let row = "FROM sessionvault_lease WHERE session = convert_to('\(name)', 'UTF8')"
            try admin.send("BEGIN;\nSELECT 'locked' \(row) FOR UPDATE;\n")
            #expect(try await admin.readRawLine() == "locked")
            try setClock(clock, "+6h")
            #expect(abs(try fakedOffset(wrapper, clock) - 21_600) < 60, "the wall clock did not move")

            let (eventLine, arrived) = try await holder.readTimedLine()
            #expect(eventLine.contains("\"event\":\"lease-lost\""), "\(eventLine)")
            // The lease's time left on the server when the event reached this process, bounded from
            // below: time left when the query ran, plus the time from the event's arrival to the
            // query's sending (the query ran after that). On a machine busy with other tests this
            // task may read the event seconds after it arrived; that delay is not the holder's.
            let asked = ContinuousClock.now
            try admin.send("SELECT extract(epoch FROM expires_at - clock_timestamp()) \(row);\n")
            let left = try #require(Double(try await admin.readRawLine()))
            let sinceArrival = asked - arrived
            let leftAtArrival = left + Double(sinceArrival.components.seconds) + Double(sinceArrival.components.attoseconds) * 1e-18
            print("[lease clock] lease-lost arrived with \(String(format: "%.2f", leftAtArrival)) s of the lease left on the server; this test read it \(sinceArrival) later")
            #expect(
                leftAtArrival > 0,
                "the holder stopped only after its lease expired on the server (\(leftAtArrival) s left when its event arrived)")
            let (answer, _) = try await takeover.exchange(holder, id: 20, takeover.updateState(2))
            #expect((answer["error"] as? [String: Any])?["code"] as? String == "lease-lost", "\(answer)")
            #expect((answer["error"] as? [String: Any])?["exit_status"] as? Int == 75)
            try admin.send("ROLLBACK;\n")
            admin.closeInput()
            #expect(await admin.exitStatus() == 0)
            holder.closeInput()
            #expect(await holder.exitStatus() == 0)

            let next = try AgentHarness(["serve", location, "--lock-wait", "30"], environment: LeaseTakeoverTests.environment)
            #expect(try await next.readLine()["event"] as? String == "ready")
            let loaded = try await next.request(["op": "load"])
            #expect(((loaded["session"] as? [String: Any])?["update_state"] as? [String: Any])?["pts"] as? Int == 1)
            #expect(try await next.request(["op": "close"]).isEmpty)
            #expect(await next.exitStatus() == 0)
        }
    }
}
#endif
