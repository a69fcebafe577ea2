#if SESSION_VAULT_POSTGRES
import Foundation
import Testing
import SessionVaultKit

#if canImport(Glibc)
import Glibc
#endif

/// Two real `session-vault serve` processes on one PostgreSQL session (docs/LEASES.md): the holder is
/// paused with SIGSTOP until its lease expires, a second agent takes the session over and writes,
/// the first resumes and its write is refused (lease-lost, exit status 75) and it is told with a
/// `lease-lost` event; the data is the second holder's.
@Suite(
    "PostgreSQL lease takeover",
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["SESSION_VAULT_TEST_POSTGRES_URL"] != nil)
)
struct LeaseTakeoverTests {
    static var url: String { ProcessInfo.processInfo.environment["SESSION_VAULT_TEST_POSTGRES_URL"]! }
    static var environment: [String: String?] {
        [
            "SESSION_VAULT_PASSPHRASE": vaultPassphrase,
            "SESSION_VAULT_POSTGRES_PASSWORD_FILE": ProcessInfo.processInfo.environment["SESSION_VAULT_TEST_POSTGRES_PASSWORD_FILE"]!,
        ]
    }

    func updateState(_ pts: Int) -> [String: Any] {
        ["op": "write", "changes": ["update_state": ["pts": pts, "qts": 0, "date": 1_700_000_000, "seq": 1]]]
    }

    /// Sends `body` and reads lines until its answer; returns the answer and the events seen meanwhile.
    func exchange(_ agent: AgentHarness, id: Int, _ body: [String: Any]) async throws -> (answer: [String: Any], events: [[String: Any]]) {
        var message = body
        message["id"] = id
        try agent.send(String(decoding: try JSONSerialization.data(withJSONObject: message), as: UTF8.self) + "\n")
        var events: [[String: Any]] = []
        while true {
            let line = try await agent.readLine()
            if line["event"] != nil { events.append(line); continue }
            #expect(line["id"] as? Int == id)
            return (line, events)
        }
    }

    @Test func aPausedHolderLosesItsLeaseAndItsLateWriteIsRefused() async throws {
        let location = "\(Self.url)?session=paused-\(UUID().uuidString)&lease_seconds=6"
        let first = try AgentHarness(["serve", location, "--create", "--kdf", "interactive"], environment: Self.environment)
        #expect(try await first.readLine()["event"] as? String == "ready")
        _ = try await first.request(updateState(1))

        #expect(kill(first.pid, SIGSTOP) == 0)
        let paused = ContinuousClock.now
        // The second agent waits for the lease (6 s, renewed every 2 s) to expire, then takes it.
        let second = try AgentHarness(["serve", location, "--lock-wait", "60"], environment: Self.environment)
        #expect(try await second.readLine()["event"] as? String == "ready")
        let takeover = ContinuousClock.now - paused
        #expect(takeover < .seconds(60))
        _ = try await second.request(updateState(2))

        #expect(kill(first.pid, SIGCONT) == 0)
        let (answer, events) = try await exchange(first, id: 7, updateState(3))
        #expect(answer["ok"] as? Bool == false)
        let error = try #require(answer["error"] as? [String: Any])
        #expect(error["code"] as? String == "lease-lost")
        #expect(error["exit_status"] as? Int == 75)
        // The event arrives once, before or after that answer.
        var allEvents = events
        if allEvents.isEmpty {
            let (_, later) = try await exchange(first, id: 8, ["op": "load"])
            allEvents = later
        }
        let leaseEvents = allEvents.filter { $0["event"] as? String == "lease-lost" }
        #expect(leaseEvents.count == 1)
        #expect((leaseEvents.first?["error"] as? [String: Any])?["code"] as? String == "lease-lost")
        // Every later request is refused too; closing works.
        let (again, _) = try await exchange(first, id: 9, updateState(4))
        #expect((again["error"] as? [String: Any])?["code"] as? String == "lease-lost")
        first.closeInput()
        #expect(await first.exitStatus() == 0)

        // The data is the second holder's.
        let loaded = try await second.request(["op": "load"])
        let state = try #require((loaded["session"] as? [String: Any])?["update_state"] as? [String: Any])
        #expect(state["pts"] as? Int == 2)
        #expect(try await second.request(["op": "close"]).isEmpty)
        #expect(await second.exitStatus() == 0)
        print("lease takeover (lease_seconds=6, paused holder): second agent ready \(takeover) after SIGSTOP")
    }

    /// A killed holder (SIGKILL: no release) leaves its session to the next process within the lease
    /// duration plus one renewal interval.
    @Test func aKilledHoldersSessionIsFreeWithinTheLease() async throws {
        let location = "\(Self.url)?session=killed-\(UUID().uuidString)&lease_seconds=6"
        let first = try AgentHarness(["serve", location, "--create", "--kdf", "interactive"], environment: Self.environment)
        #expect(try await first.readLine()["event"] as? String == "ready")
        _ = try await first.request(updateState(5))
        #expect(kill(first.pid, SIGKILL) == 0)
        _ = await first.exitStatus()
        let killed = ContinuousClock.now
        let second = try AgentHarness(["serve", location, "--lock-wait", "60"], environment: Self.environment)
        #expect(try await second.readLine()["event"] as? String == "ready")
        let takeover = ContinuousClock.now - killed
        let loaded = try await second.request(["op": "load"])
        #expect(((loaded["session"] as? [String: Any])?["update_state"] as? [String: Any])?["pts"] as? Int == 5)
        #expect(try await second.request(["op": "close"]).isEmpty)
        #expect(await second.exitStatus() == 0)
        print("lease takeover (lease_seconds=6, SIGKILLed holder): second agent ready \(takeover) after the kill")
    }
}
#endif
