import Foundation
import Synchronization
import Testing
@testable import SessionVaultKit

#if canImport(Glibc)
import Glibc
import SessionVaultTestSupport
#endif

/// `session-vault serve`: the protocol of docs/AGENT.md, spoken to the built binary.
@Suite("serve agent", .serialized)
struct ServeCommandTests {
    static let environment: [String: String?] = ["SESSION_VAULT_PASSPHRASE": vaultPassphrase]

    // MARK: - Round trip

    @Test func roundTripThroughTheAgent() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/bot.session"
            let agent = try AgentHarness(["serve", path, "--create", "--kdf", "interactive"], environment: Self.environment)
            let ready = try await agent.readLine()
            #expect(ready["event"] as? String == "ready")
            #expect(ready["protocol"] as? Int == 1)
            #expect(ready["pid"] as? Int == Int(agent.pid))
            #expect(ready["storage"] as? String == "sqlite")
            #expect(ready["format_version"] as? Int == 2)
            #expect(ready["location"] as? String == path)
            #expect(fileMode(path) == 0o600)

            let hello = try await agent.request(["op": "hello", "protocol": 1, "client": "swift-test/1"])
            #expect((hello["ops"] as? [String])?.contains("write") == true)
            #expect(try await agent.request(["op": "load"])["session"] is NSNull)

            let key = Data(TestKeys.bytes(seed: 11)).base64EncodedString()
            _ = try await agent.request([
                "op": "write",
                "changes": [
                    "data_centers": [
                        "upsert": [["id": 2, "media_only": false, "ipv4": ["host": "149.154.167.51", "port": 443], "ipv6": NSNull(), "auth_key": key]],
                        "exclusive": true,
                    ],
                    "user": ["id": 7_123_456_789, "dc_id": 2, "is_bot": false, "username": NSNull()],
                ],
            ])
            _ = try await agent.request([
                "op": "write",
                "changes": [
                    "update_state": ["pts": 10, "qts": 1, "date": 1_700_000_000, "seq": 3],
                    "channels": ["upsert": [["channel_id": 1_234_567_890, "pts": 55], ["channel_id": 42, "pts": 7]]],
                    "peers": [
                        ["id": 93_372_553, "access_hash": -5_432_109_876_543_210, "kind": "bot", "username": "BotFather", "phone": NSNull(),
                         "name": "BotFather", "updated_at": 1_700_000_000],
                        ["id": -1_001_234_567_890, "access_hash": Int64.min, "kind": "supergroup", "username": "somegroup"],
                        ["id": 5_550_001, "access_hash": Int64.max, "kind": "user", "phone": "+1 555 0001", "name": "Ünïcödé \"quoted\"\n"],
                    ],
                ],
            ])
            _ = try await agent.request(["op": "write", "changes": ["channels": ["delete": [42]], "takeout_id": 99, "api_id": 611_335]])

            let loadedLine = try await agent.requestRaw(["op": "load"])
            // 64-bit values are checked in the text: Foundation's parser may read them as Double.
            #expect(loadedLine.contains("\"auth_key_id\":\((try TestKeys.key(seed: 11)).id)"))
            let loaded = try await agent.request(["op": "load"])
            #expect(loaded["peer_count"] as? Int == 3)
            let session = try #require(loaded["session"] as? [String: Any])
            let centers = try #require(session["data_centers"] as? [[String: Any]])
            #expect(centers.count == 1)
            #expect(centers[0]["auth_key"] as? String == key)
            let state = try #require(session["update_state"] as? [String: Any])
            #expect(state["pts"] as? Int == 10 && state["seq"] as? Int == 3)
            #expect((state["channels"] as? [[String: Any]])?.count == 1)
            #expect(session["takeout_id"] as? Int == 99 && session["api_id"] as? Int == 611_335)
            #expect((session["user"] as? [String: Any])?["id"] as? Int64 == 7_123_456_789)

            let byName = try await agent.request(["op": "peer", "by": "username", "value": "@botfather"])
            #expect((byName["peer"] as? [String: Any])?["id"] as? Int == 93_372_553)
            let byPhone = try await agent.requestRaw(["op": "peer", "by": "phone", "value": "15550001"])
            #expect(byPhone.contains("\"access_hash\":\(Int64.max)"))
            #expect(byPhone.contains("\"name\":\"Ünïcödé \\\"quoted\\\"\\n\""))
            let byID = try await agent.requestRaw(["op": "peer", "by": "id", "value": -1_001_234_567_890])
            #expect(byID.contains("\"access_hash\":\(Int64.min)"))
            #expect(try await agent.request(["op": "peer", "by": "id", "value": 1])["peer"] is NSNull)
            #expect((try await agent.request(["op": "peers"])["peers"] as? [Any])?.count == 3)

            #expect(try await agent.request(["op": "close"]).isEmpty)
            #expect(await agent.exitStatus() == 0)
            #expect(agent.stderrText.isEmpty, "stderr: \(agent.stderrText)")

            // A second agent, opening (not creating), sees everything; the library agrees.
            let again = try AgentHarness(["serve", path], environment: Self.environment)
            #expect(try await again.readLine()["event"] as? String == "ready")
            let reloaded = try #require(try await again.request(["op": "load"])["session"] as? [String: Any])
            #expect((reloaded["data_centers"] as? [[String: Any]])?.first?["auth_key"] as? String == key)
            again.closeInput()
            #expect(await again.exitStatus() == 0)
            let vault = try await SessionVault.open(at: path, passphrase: try Passphrase(copying: vaultPassphrase), configuration: cliConfiguration())
            #expect(try await vault.load()?.dataCenters.first?.authKey == (try TestKeys.key(seed: 11)))
            #expect(try await vault.peer(username: "somegroup")?.kind == .supergroup)
            try await vault.close()
        }
    }

    @Test func saveReplacesTheSessionAndDeleteRemovesTheVault() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let agent = try AgentHarness(["serve", path], environment: Self.environment)
            _ = try await agent.readLine()
            let loadedLine = try await agent.requestRaw(["op": "load"])
            let loaded = try #require(try await agent.request(["op": "load"])["session"] as? [String: Any])
            // Saving back what was loaded (auth_key_id included) changes nothing.
            _ = try await agent.request(["op": "save", "session": loaded])
            let reloadedLine = try await agent.requestRaw(["op": "load"])
            #expect(reloadedLine.drop { $0 != "," } == loadedLine.drop { $0 != "," })
            _ = try await agent.request(["op": "save", "session": ["data_centers": [], "test_mode": true]])
            let emptied = try #require(try await agent.request(["op": "load"])["session"] as? [String: Any])
            #expect((emptied["data_centers"] as? [Any])?.isEmpty == true && emptied["user"] is NSNull && emptied["test_mode"] as? Bool == true)
            _ = try await agent.request(["op": "save", "session": loaded])
            _ = try await agent.request(["op": "write", "changes": ["update_state": NSNull()]])
            let stateless = try #require(try await agent.request(["op": "load"])["session"] as? [String: Any])
            #expect(stateless["update_state"] is NSNull)
            #expect((stateless["data_centers"] as? [Any])?.count == 3)
            #expect(try await agent.request(["op": "delete"]).isEmpty)
            #expect(await agent.exitStatus() == 0)
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        }
    }

    // MARK: - Passphrase from a descriptor

    @Test func passphraseFromAnInheritedDescriptor() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let exact = directory + "/exact"
            try writeSecretFile(exact, vaultPassphrase)
            let withNewline = directory + "/newline"
            try writeSecretFile(withNewline, vaultPassphrase + "\n")
            // The shell opens the file as descriptor 3 and execs the agent: an inherited descriptor,
            // as a parent's pipe would be. The variable holds only its number.
            func agent(reading file: String, extra: [String: String?] = [:]) throws -> AgentHarness {
                try AgentHarness(
                    ["-c", "exec \"$0\" serve \"$1\" 3<\"$2\"", CLI.binary, path, file],
                    environment: ["SESSION_VAULT_PASSPHRASE_FD": "3"].merging(extra) { $1 },
                    executable: "/bin/sh"
                )
            }
            let good = try agent(reading: exact)
            #expect(try await good.readLine()["event"] as? String == "ready")
            good.closeInput()
            #expect(await good.exitStatus() == 0)

            // The exact bytes: a trailing newline is part of the passphrase (unlike _FILE).
            let newline = try agent(reading: withNewline)
            let failed = try await newline.readLine()
            #expect(failed["event"] as? String == "failed")
            #expect((failed["error"] as? [String: Any])?["code"] as? String == "wrong-passphrase")
            #expect((failed["error"] as? [String: Any])?["exit_status"] as? Int == 65)
            #expect(await newline.exitStatus() == 65)

            // Two sources at once are refused before anything is read.
            let both = try agent(reading: exact, extra: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase])
            #expect(((try await both.readLine())["error"] as? [String: Any])?["code"] as? String == "invalid-argument")
            #expect(await both.exitStatus() == 64)

            // A descriptor that is not open, and one that is standard input.
            for value in ["250", "0", "x"] {
                let bad = try AgentHarness(["serve", path], environment: ["SESSION_VAULT_PASSPHRASE_FD": value])
                let event = try await bad.readLine()
                #expect((event["error"] as? [String: Any])?["code"] as? String == "invalid-argument", "FD=\(value)")
                #expect(await bad.exitStatus() == 64)
            }
        }
    }

    // MARK: - Failures at start

    @Test func failedEventsCarryTheCodeAndExitStatus() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            func failure(_ arguments: [String], _ environment: [String: String?]) async throws -> ([String: Any], Int32) {
                let agent = try AgentHarness(arguments, environment: environment)
                let event = try await agent.readLine()
                #expect(event["event"] as? String == "failed")
                let status = await agent.exitStatus()
                #expect(agent.stderrText.split(separator: "\n").count == 1, "one line on stderr: \(agent.stderrText)")
                return (try #require(event["error"] as? [String: Any]), status)
            }
            var (error, status) = try await failure(["serve", path], ["SESSION_VAULT_PASSPHRASE": otherPassphrase])
            #expect(error["code"] as? String == "wrong-passphrase" && status == 65)
            (error, status) = try await failure(["serve", directory + "/missing"], Self.environment)
            #expect(error["code"] as? String == "not-found" && status == 64)
            (error, status) = try await failure(["serve", path], [:])
            #expect(error["code"] as? String == "invalid-argument" && status == 64)

            // Two agents on one vault: the second is told the first one's pid.
            let first = try AgentHarness(["serve", path], environment: Self.environment)
            #expect(try await first.readLine()["event"] as? String == "ready")
            (error, status) = try await failure(["serve", path], Self.environment)
            #expect(error["code"] as? String == "in-use" && status == 67)
            #expect(error["holder_pid"] as? Int == Int(first.pid))
            first.closeInput()
            #expect(await first.exitStatus() == 0)

            // A tampered record.
            try withRawDatabase(path) { db in try db.execute("UPDATE sv_record SET ciphertext = zeroblob(length(ciphertext)) WHERE tag = (SELECT tag FROM sv_record ORDER BY tag LIMIT 1)") }
            (error, status) = try await failure(["serve", path], Self.environment)
            #expect(error["code"] as? String == "tampered" && status == 66)
        }
    }

    // MARK: - Bad requests

    @Test func badRequestsAreRefusedAndTheAgentCarriesOn() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let agent = try AgentHarness(["serve", path], environment: Self.environment)
            _ = try await agent.readLine()
            let shortKey = Data(TestKeys.bytes(seed: 12).prefix(255)).base64EncodedString()
            let urlSafeKey = Data(TestKeys.bytes(seed: 12)).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
            let cases: [(line: String, id: Int?, mentions: String)] = [
                ("{\"id\":1,\"op\":\"load\"", nil, "not valid JSON"),
                ("[1,2]", nil, "must be an object"),
                ("{\"op\":\"load\"}", nil, "id is required"),
                ("{\"id\":2,\"op\":\"frobnicate\"}", 2, "frobnicate"),
                ("{\"id\":3,\"op\":\"load\",\"extra\":1}", 3, "extra is not a known member"),
                ("{\"id\":4,\"op\":\"hello\",\"protocol\":2}", 4, "protocol 1"),
                ("{\"id\":5,\"op\":\"write\",\"changes\":{\"update_state\":{\"pts\":4294967296,\"qts\":0,\"date\":0,\"seq\":0}}}", 5, "changes.update_state.pts"),
                ("{\"id\":6,\"op\":\"write\",\"changes\":{\"peers\":[{\"id\":1,\"access_hash\":1,\"kind\":\"robot\"}]}}", 6, "changes.peers[0].kind"),
                ("{\"id\":7,\"op\":\"write\",\"changes\":{\"data_centers\":{\"upsert\":[{\"id\":2,\"auth_key\":\"\(shortKey)\"}]}}}", 7, "auth_key"),
                ("{\"id\":8,\"op\":\"write\",\"changes\":{\"data_centers\":{\"upsert\":[{\"id\":2,\"auth_key\":\"\(urlSafeKey)\"}]}}}", 8, "auth_key"),
                ("{\"id\":9,\"op\":\"peer\",\"by\":\"name\",\"value\":\"x\"}", 9, "by must be"),
                ("{\"id\":10,\"op\":\"load\",\"id\":11}", nil, "appears twice"),
                ("{\"id\":12,\"op\":\"write\",\"changes\":{\"update_state\":{\"pts\":1.5,\"qts\":0,\"date\":0,\"seq\":0}}}", nil, "integers"),
                ("{\"id\":13,\"op\":\"write\",\"changes\":{\"data_centers\":{\"upsert\":[{\"id\":2,\"ipv4\":{\"host\":\"a b\",\"port\":443}}]}}}", 13, "host"),
                ("{\"id\":14,\"op\":\"write\",\"changes\":{\"data_centers\":{\"upsert\":[{\"id\":2,\"ipv4\":{\"host\":\"1.2.3.4\",\"port\":70000}}]}}}", 14, "port"),
                ("{\"id\":15,\"op\":\"write\",\"changes\":{\"channels\":{\"upsert\":[{\"channel_id\":1,\"pts\":1}],\"delete\":[1]}}}", 15, "both saved and deleted"),
                ("{\"id\":16,\"op\":\"peer\",\"by\":\"username\",\"value\":\"\\ud800\"}", nil, "surrogate"),
                ("{\"id\":17,\"op\":\"load\"}\u{1}", nil, "unexpected"),
            ]
            for (line, id, mentions) in cases {
                try agent.send(line + "\n")
                let answer = try await agent.readLine()
                #expect(answer["ok"] as? Bool == false, "\(line)")
                if let id { #expect(answer["id"] as? Int == id, "\(line)") } else { #expect(answer["id"] is NSNull || answer["id"] as? Int != nil) }
                let error = try #require(answer["error"] as? [String: Any])
                #expect(error["code"] as? String == "invalid-argument", "\(line)")
                #expect(error["exit_status"] as? Int == 64)
                let message = error["message"] as? String ?? ""
                #expect(message.contains(mentions), "\(line) → \(message)")
                #expect(!message.contains(shortKey.prefix(40)) && !message.contains(urlSafeKey.prefix(40)), "the message echoes a key")
            }
            // Nothing of the above reached the vault, and the agent still answers.
            let loaded = try #require(try await agent.request(["op": "load"])["session"] as? [String: Any])
            #expect((loaded["update_state"] as? [String: Any])?["pts"] as? Int == 4242)
            try agent.send("\n  \n")  // empty lines are ignored
            #expect(try await agent.request(["op": "close"]).isEmpty)
            #expect(await agent.exitStatus() == 0)
        }
    }

    @Test func anOversizedLineEndsTheSession() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            // 17 MiB without a newline, from a shell pipeline: the agent refuses it once past 16 MiB.
            let agent = try AgentHarness(
                ["-c", "head -c 17825792 /dev/zero | tr '\\0' a | \"$0\" serve \"$1\"", CLI.binary, path],
                environment: Self.environment,
                executable: "/bin/sh"
            )
            #expect(try await agent.readLine()["event"] as? String == "ready")
            let answer = try await agent.readLine()
            #expect((answer["error"] as? [String: Any])?["code"] as? String == "invalid-argument")
            #expect(answer["id"] is NSNull)
            #expect(await agent.exitStatus() == 64)
            // The vault was closed cleanly: it opens again at once.
            let vault = try await SessionVault.open(at: path, passphrase: try Passphrase(copying: vaultPassphrase), configuration: cliConfiguration())
            try await vault.close()
        }
    }

    // MARK: - Ending

    @Test(arguments: [15, 2, 1] as [Int32])  // SIGTERM, SIGINT, SIGHUP
    func terminationSignalsCloseCleanly(signal: Int32) async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let agent = try AgentHarness(["serve", path], environment: Self.environment)
            _ = try await agent.readLine()
            _ = try await agent.request(["op": "write", "changes": ["update_state": ["pts": 777, "qts": 0, "date": 1, "seq": 1]]])
            kill(agent.pid, signal)
            #expect(await agent.exitStatus() == 0)
            // Lock released, WAL checkpointed, the answered write is there.
            #expect(fileBytes(path + "-wal").isEmpty)
            let vault = try await SessionVault.open(at: path, passphrase: try Passphrase(copying: vaultPassphrase), configuration: cliConfiguration())
            #expect(try await vault.load()?.updateState?.pts == 777)
            try await vault.close()
        }
    }

    @Test func theAgentStopsWhenItsParentIsKilled() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            // A shell starts the agent in the background and waits; this test keeps the agent's
            // standard input open, so only the parent's death can end it (PR_SET_PDEATHSIG).
            let parent = try AgentHarness(
                ["-c", "\"$0\" serve \"$1\" & echo \"agent $!\"; wait", CLI.binary, path],
                environment: Self.environment,
                executable: "/bin/sh"
            )
            var agentPID: Int32?
            var ready = false
            while agentPID == nil || !ready {
                let line = try await parent.readRawLine()
                if line.hasPrefix("agent ") { agentPID = Int32(line.dropFirst(6)) } else if line.contains("\"ready\"") { ready = true }
            }
            let pid = try #require(agentPID)
            kill(parent.pid, SIGKILL)
            _ = await parent.exitStatus()
            // The agent exits by itself (it is no longer our child: watch /proc).
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline, isAlive(pid) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!isAlive(pid), "the orphaned agent is still running")
            parent.closeInput()
            let vault = try await SessionVault.open(at: path, passphrase: try Passphrase(copying: vaultPassphrase), configuration: cliConfiguration())
            #expect(try await vault.load() == (try testSession()))
            try await vault.close()
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let agent = try AgentHarness(["serve", path], environment: Self.environment)
            _ = try await agent.readLine()
            var lines = ""
            for i in 1...200 {
                lines += "{\"id\":\(i),\"op\":\"write\",\"changes\":{\"update_state\":{\"pts\":\(i),\"qts\":0,\"date\":\(i),\"seq\":\(i)}}}\n"
            }
            try agent.send(lines)
            for i in 1...200 {
                let answer = try await agent.readLine()
                #expect(answer["id"] as? Int == i && answer["ok"] as? Bool == true)
            }
            agent.closeInput()
            #expect(await agent.exitStatus() == 0)
            let vault = try await SessionVault.open(at: path, passphrase: try Passphrase(copying: vaultPassphrase), configuration: cliConfiguration())
            #expect(try await vault.load()?.updateState?.pts == 200)
            try await vault.close()
        }
    }

    private func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        // A zombie (state Z) has exited and released its lock; it only waits to be reaped.
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }

    private func cliConfiguration() -> SessionVault.Configuration {
        var configuration = SessionVault.Configuration()
        configuration.mode = .openExisting
        configuration.fallback = .fail
        configuration.lockWait = .seconds(30)
        return configuration
    }
}

/// A running `session-vault serve` (or a shell around it): requests in, JSON lines out. Its standard
/// error is checked for secrets at exit; standard output carries keys by design (`load`).
final class AgentHarness: @unchecked Sendable {
    // @unchecked Sendable: used from one test task at a time.
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private let lines = LineCollector()
    private let errorText = LineCollector()
    private var nextID = 100
    private let environment: [String: String]

    init(_ arguments: [String], environment: [String: String?], executable: String = CLI.binary) throws {
        // A write to an agent that already ended must fail, not kill the test process.
        signal(SIGPIPE, SIG_IGN)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = minimalChildEnvironment()
        for (name, value) in environment { env[name] = value }
        process.environment = env
        self.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let lines = self.lines
        output.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty { handle.readabilityHandler = nil; lines.finish() } else { lines.append(chunk) }
        }
        let errorText = self.errorText
        errors.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty { handle.readabilityHandler = nil } else { errorText.append(chunk) }
        }
        try SpawningThread.shared.run(process)
    }

    var pid: Int32 { process.processIdentifier }
    var stderrText: String { String(decoding: errorText.raw, as: UTF8.self) }

    func send(_ text: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
    }

    func closeInput() { try? input.fileHandleForWriting.close() }

    /// The next line of standard output, as text (waits up to 120 s: a loaded CI machine is slow).
    func readRawLine() async throws -> String {
        try await readTimedLine().line
    }

    /// The next line of standard output and when it arrived: the instant its last byte was read
    /// from the pipe (on a reader thread), not when this task got round to looking, which on a
    /// machine busy with other tests can be seconds later.
    func readTimedLine() async throws -> (line: String, arrived: ContinuousClock.Instant) {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if let line = lines.next() { return line }
            if lines.isFinished { throw AgentHarnessError.endOfOutput(stderr: stderrText) }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw AgentHarnessError.timedOut
    }

    /// The next line of standard output, parsed as a JSON object.
    func readLine() async throws -> [String: Any] {
        let line = try await readRawLine()
        let value = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(value as? [String: Any], "not a JSON object: \(line)")
    }

    /// Sends a request with a fresh id and returns the answer line as text.
    func requestRaw(_ body: [String: Any]) async throws -> String {
        nextID += 1
        var message = body
        message["id"] = nextID
        let data = try JSONSerialization.data(withJSONObject: message)
        try send(String(decoding: data, as: UTF8.self) + "\n")
        let line = try await readRawLine()
        try #require(line.hasPrefix("{\"id\":\(nextID),\"ok\":true,"), "unexpected answer: \(line.prefix(300))")
        return line
    }

    /// Sends a request with a fresh id and returns its `result`; fails the test on an error answer.
    func request(_ body: [String: Any]) async throws -> [String: Any] {
        nextID += 1
        var message = body
        message["id"] = nextID
        let data = try JSONSerialization.data(withJSONObject: message)
        try send(String(decoding: data, as: UTF8.self) + "\n")
        let answer = try await readLine()
        try #require(answer["id"] as? Int == nextID, "answer to another request: \(answer)")
        try #require(answer["ok"] as? Bool == true, "request failed: \(answer["error"] ?? "")")
        return try #require(answer["result"] as? [String: Any])
    }

    /// Waits for the process to exit; checks standard error for every test secret.
    func exitStatus(sourceLocation: SourceLocation = #_sourceLocation) async -> Int32 {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        try? await Task.sleep(for: .milliseconds(50))
        let result = CLIResult(status: process.terminationStatus, stdout: [], stderr: errorText.raw, arguments: process.arguments ?? [])
        CLI.expectNoSecrets(in: result, environment: environment, sourceLocation: sourceLocation)
        return process.terminationStatus
    }

    enum AgentHarnessError: Error {
        case timedOut
        case endOfOutput(stderr: String)
    }

    /// Splits a stream into lines, and keeps every byte (for the secret scan).
    final class LineCollector: Sendable {
        private let state = Mutex(
            (buffer: Data(), lines: [(line: String, arrived: ContinuousClock.Instant)](), finished: false, raw: [UInt8]()))
        func append(_ chunk: Data) {
            let arrived = ContinuousClock.now
            state.withLock { state in
                state.raw.append(contentsOf: chunk)
                state.buffer.append(chunk)
                while let newline = state.buffer.firstIndex(of: 10) {
                    let line = String(decoding: state.buffer[state.buffer.startIndex..<newline], as: UTF8.self)
                    state.lines.append((line, arrived))
                    state.buffer.removeSubrange(state.buffer.startIndex...newline)
                }
            }
        }
        func finish() { state.withLock { $0.finished = true } }
        var isFinished: Bool { state.withLock { $0.finished && $0.lines.isEmpty } }
        func next() -> (line: String, arrived: ContinuousClock.Instant)? {
            state.withLock { $0.lines.isEmpty ? nil : $0.lines.removeFirst() }
        }
        var raw: [UInt8] { state.withLock { $0.raw } }
    }
}

/// Starts processes from one thread that lives as long as the test process. The agent asks for
/// `PR_SET_PDEATHSIG`, which Linux sends when the *thread* that forked it ends; a worker thread of
/// the concurrency pool can retire while the agent still runs (docs/AGENT.md §1).
final class SpawningThread: @unchecked Sendable {
    // @unchecked Sendable: `jobs` is guarded by `condition`.
    static let shared = SpawningThread()
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
        }
        thread.start()
    }

    /// Runs `process.run()` on the spawning thread and waits for it.
    func run(_ process: Process) throws {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: (any Error)?
        condition.lock()
        jobs.append {
            do { try process.run() } catch { failure = error }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        if let failure { throw failure }
    }
}
