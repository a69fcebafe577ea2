import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Whether the pinned Python libraries are installed (`make interop-venvs`, or generate.py).
enum RealLibraries {
    static let venvNames = ["telethon-1.45.0", "telethon-1.42.0", "pyrogram-2.0.106", "kurigram-2.2.26"]

    /// `SESSION_VAULT_INTEROP_VENV_DIR`, else `Fixtures/.venv`.
    static let venvDirectory: String = ProcessInfo.processInfo.environment["SESSION_VAULT_INTEROP_VENV_DIR"]
        ?? URL(fileURLWithPath: InteropFixtures.directory).deletingLastPathComponent().appendingPathComponent(".venv").path

    /// nil when usable, else why not (shown as the skip comment).
    static let unavailableReason: String? = {
        guard let version = try? runBlocking(["python3", "-c", "import sys; print(sys.version.split()[0])"]), version.status == 0 else {
            return "python3 is not installed"
        }
        let python = version.output.trimmingCharacters(in: .whitespacesAndNewlines)
        for name in venvNames {
            let marker = venvDirectory + "/" + name + "/sessionvault-pins.json"
            guard let data = FileManager.default.contents(atPath: marker),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return "the venv \(venvDirectory)/\(name) is missing (run 'make interop-venvs')" }
            guard object["python"] as? String == python else {
                return "the venv \(name) was made for Python \(object["python"] ?? "?"), not \(python) (run 'make interop-venvs')"
            }
        }
        return nil
    }()

    static var isAvailable: Bool { unavailableReason == nil }

    /// Whether this process is the one that runs the check: `make test` starts a `swift test` of
    /// its own for it (`SESSION_VAULT_REAL_LIBRARIES=1`, `--filter InteropRealLibraryTests`). It
    /// starts about a hundred Python processes, one after another, that keep a core busy for minutes;
    /// beside the main run's timing-sensitive PostgreSQL lease tests (6 s leases) that load made
    /// renewals miss their margin in some runs.
    static var runsInThisProcess: Bool { ProcessInfo.processInfo.environment["SESSION_VAULT_REAL_LIBRARIES"] == "1" }

    static let skipComment = Comment(
        rawValue: runsInThisProcess
            ? "SKIPPED: real-library check of exports needs Python and the pinned venvs: " + (unavailableReason ?? "available")
            : "SKIPPED here: make test runs the real-library check of exports alone (SESSION_VAULT_REAL_LIBRARIES=1)"
    )

    /// A process for `arguments` (run through `env`) with its standard output and error piped.
    static func command(_ arguments: [String]) -> (process: Process, output: Pipe, error: Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        return (process, output, error)
    }

    /// What a finished command printed: its standard output, with standard error appended on failure.
    static func result(_ process: Process, output: Data, error: Data) -> (status: Int32, output: String) {
        var text = String(decoding: output, as: UTF8.self)
        if process.terminationStatus != 0 { text += String(decoding: error, as: UTF8.self) }
        return (process.terminationStatus, text)
    }

    /// Runs a command and blocks the calling thread until it ends. Only for the one quick probe of
    /// ``unavailableReason``, which a static initializer cannot await.
    static func runBlocking(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let (process, output, error) = command(arguments)
        try process.run()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return result(process, output: outData, error: errData)
    }

    /// Runs a command without holding a thread of Swift's cooperative pool while it runs: the pipes
    /// are read and the exit awaited on threads of their own (`offCooperativePool`). (Fourteen test cases that each
    /// blocked a pool thread for seconds of Python starved every other test's async work, the
    /// PostgreSQL pools' connection tasks among them, which then timed out as "pool exhausted".)
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let (process, output, error) = command(arguments)
        try process.run()
        async let outData = readToEnd(output.fileHandleForReading)
        async let errData = readToEnd(error.fileHandleForReading)
        await waitForExit(process)
        return result(process, output: await outData, error: await errData)
    }
}

/// Exports every fixture to every format and loads the result with the REAL Telethon 1.45.0 /
/// 1.42.0, Pyrogram 2.0.106 and Kurigram 2.2.26 (`Fixtures/interop/check_export.py`), comparing the
/// facts the library reads with the facts the vault meant to write. Serialized: one Python process
/// at a time, so that timing-sensitive suites running beside it are not starved on a 2-core machine.
@Suite(.enabled(if: RealLibraries.runsInThisProcess && RealLibraries.isAvailable, RealLibraries.skipComment), .serialized)
struct InteropRealLibraryTests {
    /// An export target: format, schema, the check_export.py format name and library.
    struct Target: CustomTestStringConvertible, Sendable {
        var format: SessionFormat
        var schema: Int?
        var checkFormat: String
        var library: String?
        var testDescription: String { "\(checkFormat)\(schema.map { " \($0)" } ?? "")\(library.map { " (\($0))" } ?? "")" }
    }

    static let targets: [Target] = [
        Target(format: .telethon, schema: 8, checkFormat: "telethon"),
        Target(format: .telethon, schema: 7, checkFormat: "telethon"),
        Target(format: .telethonString, checkFormat: "telethon-string"),
        Target(format: .pyrogram, schema: 3, checkFormat: "pyrogram"),
        Target(format: .pyrogram, schema: 7, checkFormat: "kurigram"),
        Target(format: .pyrogramString, checkFormat: "pyrogram-string"),
        Target(format: .pyrogramString, checkFormat: "pyrogram-string", library: "kurigram-2.2.26"),
    ]

    static let sources = InteropFixtures.files + ["telethon-v2.session"]

    @Test(arguments: sources)
    func realLibrariesLoadEveryExport(file: String) async throws {
        let imported = try InteropFixtures.read(file)
        try await withTemporaryDirectory { directory in
            for target in Self.targets {
                let hasKey = imported.session.dataCenters.contains { $0.authKey != nil }
                if !target.format.isSQLite && !hasKey { continue }
                if target.format == .pyrogramString && imported.session.user == nil { continue }
                let out = directory + "/\(target.checkFormat)-\(target.schema ?? 0)-\(target.library ?? "").out"
                try SessionExporter.write(
                    imported.session, peers: imported.peers, format: target.format, to: out,
                    options: .init(schemaVersion: target.schema))
                var arguments = ["python3", InteropFixtures.path("check_export.py"), out, target.checkFormat, "--venv-dir", RealLibraries.venvDirectory]
                if let library = target.library { arguments += ["--library", library] }
                let result = try await RealLibraries.run(arguments)
                try #require(result.status == 0, "\(file) → \(target.testDescription): \(result.output)")
                let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
                let facts = try #require(report["facts"] as? [String: Any])
                let expected = Self.expectedFacts(imported, target: target)
                for (key, value) in expected {
                    #expect(
                        canonical(facts[key]) == canonical(value),
                        "\(file) → \(target.testDescription): \(key): library read \(canonical(facts[key])), expected \(canonical(value))"
                    )
                }
                if let schema = target.schema { #expect(int64(report["schema_version"]) == Int64(schema)) }
            }
        }
    }

    /// What the real library should read from an export of `imported` to `target`.
    static func expectedFacts(_ imported: ImportedSession, target: Target) -> [String: Any] {
        let session = imported.session
        let plan = ExportPlan(session: session, formatName: "")
        let dc = plan.dataCenter
        let isTelethon = target.format == .telethon || target.format == .telethonString
        let isKurigram = target.schema == 7 && target.format == .pyrogram || target.library == "kurigram-2.2.26"
        let null = NSNull()
        var facts: [String: Any] = [:]
        facts["dc_id"] = dc.map { Int64($0.id) } ?? (isTelethon ? 0 : 2)
        facts["auth_key_id"] = dc?.authKey?.id ?? null
        facts["auth_key_sha256"] = dc?.authKey.map(sha256Hex) ?? null
        let endpoint = plan.endpoint ?? (isKurigram ? WellKnownDataCenters.endpoint(dataCenter: 2, testMode: false) : nil)
        if isTelethon || isKurigram {
            let shown = target.format == .pyrogramString ? WellKnownDataCenters.endpoint(dataCenter: dc!.id, testMode: session.isTestMode) : endpoint
            facts["server_address"] = shown?.host ?? null
            facts["port"] = shown.map { Int64($0.port) } ?? null
        } else {
            facts["server_address"] = null
        }
        facts["tmp_auth_key_id"] = (target.format == .telethon && target.schema == 8 ? dc?.temporaryAuthKey?.id : nil) ?? null
        facts["takeout_id"] = (target.format == .telethon ? session.takeoutID : nil) ?? null
        if !isTelethon {
            facts["test_mode"] = session.isTestMode
            if let apiID = session.apiID {
                facts["api_id"] = Int64(apiID)
            } else {
                facts["api_id"] = target.format == .pyrogramString ? Int64(0) as Any : null
            }
        } else {
            facts["test_mode"] = null
            facts["api_id"] = null
        }
        let selfPeer = session.user.flatMap { user in imported.peers.first { $0.id == user.id } }
        if let user = session.user, target.format != .telethonString {
            facts["user"] = [
                "id": user.id,
                "is_bot": target.format == .telethon ? null : user.isBot,
                "username": target.format == .pyrogramString ? null : (selfPeer?.username ?? null) as Any,
                "dc": Int64(dc?.id ?? 0),
            ] as [String: Any]
        } else {
            facts["user"] = null
        }
        let keepsState = target.format == .telethon || (target.format == .pyrogram && target.schema == 7)
        if keepsState, let state = session.updateState {
            facts["update_state"] = ["pts": Int64(state.pts), "qts": Int64(state.qts), "date": state.date, "seq": Int64(state.seq)]
            facts["channels"] = state.channels.map { id, pts -> [String: Any] in
                ["id": target.format == .telethon ? id : MarkedPeerID.marked(channelID: id), "pts": Int64(pts)]
            }.sorted { int64($0["id"])! < int64($1["id"])! }
        } else {
            facts["update_state"] = null
            facts["channels"] = [Any]()
        }
        if target.format == .telethon || target.format == .pyrogram {
            facts["peers"] = imported.peers.sorted { $0.id < $1.id }.map { peer -> [String: Any] in
                let type: String
                if target.format == .telethon {
                    type = peer.id > 0 ? "user" : (MarkedPeerID.channelID(fromMarked: peer.id) != nil ? "channel" : "chat")
                } else {
                    type = peer.kind.description
                }
                return [
                    "id": peer.id,
                    "access_hash": peer.accessHash,
                    "type": type,
                    "username": peer.username ?? null as Any,
                    "usernames": peer.username.map { [$0] } ?? [],
                    "phone": peer.phoneNumber ?? null as Any,
                    "name": (target.format == .telethon ? peer.name : nil) ?? null as Any,
                ]
            }
        } else {
            facts["peers"] = [Any]()
        }
        return facts
    }
}

/// A JSON value as canonical text (sorted keys), for comparing library facts with expected ones.
func canonical(_ value: Any?) -> String {
    guard let value, !(value is NSNull) else { return "null" }
    guard let data = try? JSONSerialization.data(withJSONObject: ["v": value], options: [.sortedKeys, .fragmentsAllowed]) else {
        return "\(value)"
    }
    return String(decoding: data, as: UTF8.self)
}
