import Foundation
import Synchronization
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

// Helpers for the end-to-end tests of the `session-vault` binary. What other test targets need too
// (temporary directories, file bytes and modes, raw database access, finding the binary) is in
// SessionVaultTestSupport.

/// The passphrase of every vault the tests create through the library. Distinctive, so that finding
/// it in any output means a leak.
let vaultPassphrase = "Vault-Test-Passphrase-9f3a!"
/// A second passphrase (passphrase changes).
let otherPassphrase = "Other-Test-Passphrase-71c2?"

/// The finished run of one `session-vault` invocation.
struct CLIResult {
    var status: Int32
    var stdout: [UInt8]
    var stderr: [UInt8]
    var arguments: [String]

    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }

    /// The standard output parsed as a JSON object.
    func json() throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(stdout))
        return try #require(value as? [String: Any], "stdout is not a JSON object: \(out)")
    }
}

/// Runs the built `session-vault` binary with an explicit environment: nothing of the test
/// process's environment is inherited (no `SESSION_VAULT_*`, no `CREDENTIALS_DIRECTORY`) except
/// `PATH`, `HOME` and `LANG`, unless the caller overrides them.
enum CLI {
    /// The built executable (SessionVaultTestSupport's `builtExecutable`; this target's own scratch
    /// path is `.build-cli`).
    static let binary = builtExecutable(named: "session-vault", scratchDirectories: [".build-cli", ".build"])

    /// Runs `session-vault arguments…` to completion and checks its output for leaked secrets.
    /// - Parameters:
    ///   - environment: Added to `minimalChildEnvironment()`; a value of nil removes a variable.
    ///   - stdin: Bytes for standard input (default: empty, which is not a terminal).
    ///   - stdout: Where standard output goes instead of being captured (e.g. `/dev/full`).
    ///   - directory: The working directory.
    ///   - executable: Another built program to run instead (the early-hardening probe).
    @discardableResult
    static func run(
        _ arguments: [String],
        environment: [String: String?] = [:],
        stdin: [UInt8] = [],
        stdout: FileHandle? = nil,
        directory: String? = nil,
        executable: String = binary,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = minimalChildEnvironment()
        for (name, value) in environment { env[name] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        // Standard input comes from a file, not a pipe: a child that exits without reading it must
        // not turn our write into a SIGPIPE for the whole test process.
        let inputPath = FileManager.default.temporaryDirectory.appendingPathComponent("sv-cli-stdin-\(UUID().uuidString)").path
        try Data(stdin).write(to: URL(fileURLWithPath: inputPath))
        defer { try? FileManager.default.removeItem(atPath: inputPath) }
        let input = try #require(FileHandle(forReadingAtPath: inputPath))
        defer { try? input.close() }
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = stdout ?? output
        process.standardError = errors
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        async let capturedOut: Data = stdout == nil ? readToEnd(output.fileHandleForReading) : Data()
        async let capturedErr: Data = readToEnd(errors.fileHandleForReading)
        let exited = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in
            exited.continuation.yield()
            exited.continuation.finish()
        }
        try process.run()
        for await _ in exited.stream {}
        try? output.fileHandleForWriting.close()
        try? errors.fileHandleForWriting.close()
        let result = CLIResult(
            status: process.terminationStatus,
            stdout: [UInt8](await capturedOut),
            stderr: [UInt8](await capturedErr),
            arguments: arguments
        )
        expectNoSecrets(in: result, environment: env, sourceLocation: sourceLocation)
        return result
    }

    /// Every output of every invocation is searched for every test key (raw, hex, base64) and for
    /// every passphrase the child was given.
    static func expectNoSecrets(in result: CLIResult, environment: [String: String], sourceLocation: SourceLocation) {
        var passphrases = [vaultPassphrase, otherPassphrase]
        for name in ["SESSION_VAULT_PASSPHRASE", "SESSION_VAULT_NEW_PASSPHRASE"] {
            if let value = environment[name], value.utf8.count >= 4 { passphrases.append(value) }
        }
        for (name, bytes) in [("stdout", result.stdout), ("stderr", result.stderr)] {
            let text = String(decoding: bytes, as: UTF8.self)
            for passphrase in passphrases {
                #expect(!text.contains(passphrase), "\(name) of \(result.arguments) contains a passphrase", sourceLocation: sourceLocation)
            }
            for (index, form) in TestKeys.forbiddenForms.enumerated() {
                #expect(!contains(bytes, form), "\(name) of \(result.arguments) contains test key material (form \(index))", sourceLocation: sourceLocation)
            }
        }
    }
}

/// A child started with pipes, for tests that look at it while it runs.
final class RunningCLI: @unchecked Sendable {
    // @unchecked Sendable: used from one test task only.
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    let errors = Pipe()
    private let collected = CollectedOutput()
    private let collectedErrors = CollectedOutput()
    private let environment: [String: String]

    init(_ arguments: [String], environment: [String: String?], executable: String = CLI.binary, directory: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.arguments = arguments
        var env = minimalChildEnvironment()
        for (name, value) in environment { env[name] = value }
        process.environment = env
        self.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        for (pipe, sink) in [(output, collected), (errors, collectedErrors)] {
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let chunk = handle.availableData
                if chunk.isEmpty { handle.readabilityHandler = nil } else { sink.append(chunk) }
            }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { collected.text }
    var stderr: String { collectedErrors.text }

    /// Waits until standard output contains `text` or `timeout` passes. The bound is generous: a
    /// loaded 2-core CI machine can take tens of seconds to start a child and run Argon2id; the
    /// bound only decides how long a real failure takes to report.
    func waitForOutput(containing text: String, timeout: Duration = .seconds(120)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if stdout.contains(text) { return true }
            if !process.isRunning { return stdout.contains(text) }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Writes `text` to the child's standard input.
    func send(_ text: String) throws {
        try #require(process.isRunning, "the child exited early: \(stdout)")
        try input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
    }

    /// Closes standard input, waits for the exit status, and checks both outputs for leaked secrets.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) async -> Int32 {
        try? input.fileHandleForWriting.close()
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        try? await Task.sleep(for: .milliseconds(50))  // let the handlers drain the pipes
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
        let result = CLIResult(
            status: process.terminationStatus,
            stdout: collected.bytes,
            stderr: collectedErrors.bytes,
            arguments: process.arguments ?? []
        )
        CLI.expectNoSecrets(in: result, environment: environment, sourceLocation: sourceLocation)
        return process.terminationStatus
    }

    final class CollectedOutput: Sendable {
        private let data = Mutex(Data())
        func append(_ chunk: Data) { data.withLock { $0.append(chunk) } }
        var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
        var bytes: [UInt8] { data.withLock { [UInt8]($0) } }
    }
}

/// The auth keys of every vault the tests create, and the forms in which they must never be printed.
enum TestKeys {
    static let seeds: [UInt8] = [11, 12, 13]

    /// A 256-byte key from a small linear congruential generator: known to the test, and (unlike an
    /// arithmetic progression) no key's 8-byte window occurs in another key.
    static func bytes(seed: UInt8) -> [UInt8] {
        var state = UInt32(seed) &* 2_654_435_761
        return (0..<256).map { _ in
            state = state &* 1_103_515_245 &+ 12_345
            return UInt8(truncatingIfNeeded: state >> 16)
        }
    }

    static func key(seed: UInt8) throws -> AuthKey {
        try bytes(seed: seed).withUnsafeBytes { try AuthKey(copying: $0) }
    }

    /// Raw 16-byte windows, hex (both cases) of 32-byte chunks, and base64 of the whole key and of
    /// aligned 48-byte chunks.
    static let forbiddenForms: [[UInt8]] = {
        var forms: [[UInt8]] = []
        for seed in seeds {
            let key = bytes(seed: seed)
            for start in stride(from: 0, to: 256, by: 16) { forms.append(Array(key[start..<(start + 16)])) }
            for start in stride(from: 0, to: 256, by: 32) {
                let chunk = key[start..<(start + 32)]
                let lower = chunk.map { String(format: "%02x", $0) }.joined()
                forms.append(Array(lower.utf8))
                forms.append(Array(lower.uppercased().utf8))
            }
            forms.append(Array(Data(key).base64EncodedString().utf8))
            for start in stride(from: 0, to: 240, by: 48) {
                forms.append(Array(Data(key[start..<(start + 48)]).base64EncodedString().utf8))
            }
        }
        return forms
    }()
}

/// Argon2id parameters at the floor (2 passes, 19 MiB): real, accepted by the command line, fast.
let floorKDF = KDFParameters(opsLimit: KDFParameters.minimumOpsLimit, memLimit: KDFParameters.minimumMemLimit)

/// A session with every field set and the test keys.
func testSession() throws -> Session {
    Session(
        dataCenters: [
            DataCenter(
                id: 2,
                ipv4: Endpoint(host: "149.154.167.51", port: 443),
                ipv6: Endpoint(host: "2001:67c:4e8:f002::a", port: 443),
                authKey: try TestKeys.key(seed: 11),
                temporaryAuthKey: try TestKeys.key(seed: 12)
            ),
            DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.222", port: 443), authKey: try TestKeys.key(seed: 13), isMediaOnly: true),
            DataCenter(id: 4, ipv4: Endpoint(host: "149.154.167.91", port: 443)),
        ],
        user: LoggedInUser(id: 7_123_456_789, dataCenterID: 2, isBot: true, username: "vault_cli_bot"),
        updateState: UpdateState(
            pts: 4242,
            qts: 17,
            date: 1_764_000_000,
            seq: 99,
            channels: [1_000_000_000_001: 5, 1_000_000_000_002: 6, 1_000_000_000_003: 7]
        ),
        apiID: 611_335,
        isTestMode: false,
        takeoutID: 8_000_000_001
    )
}

/// Creates a closed vault at `directory/name.session` through the library and returns its path.
@discardableResult
func makeVault(
    in directory: String,
    name: String = "bot",
    session: Session? = nil,
    passphrase: String = vaultPassphrase,
    kdf: KDFParameters = floorKDF,
    withRecoveryKey: Bool = false
) async throws -> (path: String, recoveryKey: String?) {
    var configuration = SessionVault.Configuration()
    configuration.mode = .create
    configuration.fallback = .fail
    configuration.kdf = kdf
    let vault = try await SessionVault.open(at: directory + "/" + name, passphrase: try Passphrase(copying: passphrase), configuration: configuration)
    if let session { try await vault.save(session) }
    var recoveryText: String?
    if withRecoveryKey {
        let key = try await vault.addRecoveryKey()
        // Tests only: the display form goes into a String so the test can hand it to the child.
        recoveryText = try key.withDisplayForm { String(decoding: $0, as: UTF8.self) }
    }
    let path = try #require(vault.path)
    try await vault.close()
    return (path, recoveryText)
}

/// Every value of one column, e.g. the ciphertexts of every record.
func columnValues(_ path: String, _ sql: String) throws -> [[UInt8]] {
    try withRawDatabase(path) { db in
        let statement = try db.statement(sql)
        defer { statement.reset() }
        var values: [[UInt8]] = []
        while try statement.step() { values.append(statement.blob(0)) }
        return values
    }
}

/// Writes `text` to a new file with mode 600.
func writeSecretFile(_ path: String, _ text: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
}

/// Whether `git` can be run.
let isGitAvailable: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "--version"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

/// Runs `git` with `arguments` in `directory` (tests only).
func git(_ arguments: [String], in directory: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "-C", directory] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "git \(arguments) failed")
}

/// Matches a recovery key's display form: 11 groups of 5 base32 characters.
func recoveryKeys(in text: String) -> [String] {
    let pattern = /[A-Z2-7]{5}(?:-[A-Z2-7]{5}){10}/
    return text.matches(of: pattern).map { String($0.output) }
}
