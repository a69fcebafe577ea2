public import SessionVaultKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The end-to-end demonstration behind `session-vault demo` (`make demo`).
///
/// In a private temporary folder it creates a vault, stores a synthetic session (3 DCs with random
/// keys, a user, update state, 100 channels), performs 1,000 durable update-state saves, closes,
/// reopens and verifies everything, shows a wrong passphrase refused, scans the file bytes for any
/// plaintext, and reports redacted timings. When libsqlite3 cannot be loaded it runs the same steps
/// memory-only and says so. Nothing it prints is secret.
public struct VaultDemo: Sendable {
    /// The passphrase used when `SESSION_VAULT_PASSPHRASE` is not set. Public on purpose: it only
    /// protects a throw-away vault of synthetic data that the demo deletes.
    public static let demoPassphrase = "session-vault DEMO passphrase (not secret)"

    /// How many durable hot-path saves the demo performs.
    public var saves = 1_000
    /// How many channels the synthetic session holds.
    public var channels = 100
    /// Vault configuration (KDF profile, fallback, durability).
    public var configuration = SessionVault.Configuration()

    /// A demo with the documented defaults.
    public init() {}

    /// Runs the demo, reporting each step through `say`. Returns normally only when every check passed.
    /// - Throws: ``VaultError`` when a step fails or a check does not hold.
    public func run(say: (String) -> Void) async throws(VaultError) {
        let clock = ContinuousClock()
        let passphrase: Passphrase
        if PassphraseSource.isEnvironmentVariableSet(PassphraseSource.Names.passphrase.variable) {
            passphrase = try Passphrase(owning: PassphraseSource.takeEnvironmentVariable(PassphraseSource.Names.passphrase.variable))
            say("passphrase: from SESSION_VAULT_PASSPHRASE (scrubbed from the environment)")
        } else {
            passphrase = try Passphrase(copying: Self.demoPassphrase)
            say("passphrase: the built-in DEMO passphrase (set SESSION_VAULT_PASSPHRASE to use your own)")
        }
        let directory = try Self.makeTemporaryDirectory()
        defer { Self.removeDirectory(directory) }
        let path = directory + "/demo.session"

        // 1. Create.
        var start = clock.now
        var configuration = self.configuration
        configuration.mode = .create
        let vault = try await SessionVault.open(at: path, passphrase: passphrase, configuration: configuration)
        let createTime = clock.now - start
        let isMemory = vault.storageKind == .memory
        if isMemory {
            say("storage: MEMORY-ONLY — libsqlite3 could not be loaded, so nothing is written to disk and nothing survives this process")
        } else {
            say("storage: SQLite file \(path) (libsqlite3 \(SessionVaultInfo.sqliteVersion ?? "?"))")
        }
        say("created vault: \(await vault.kdfParameters.map(\.description) ?? "no keyslot (memory-only)") in \(Self.format(createTime))")

        // 2. Store a synthetic session.
        let session = try Self.syntheticSession(channels: channels)
        start = clock.now
        try await vault.save(session)
        say("stored session: \(session.dataCenters.count) data centers, user, update state, \(channels) channels in \(Self.format(clock.now - start))")

        // 3. Durable hot-path saves.
        start = clock.now
        for i in 0..<saves {
            try await vault.saveUpdateState(pts: Int32(10_000 + i), qts: 7, date: 1_764_000_000 + Int64(i), seq: Int32(i))
        }
        let saveTime = clock.now - start
        let perSecond = Double(saves) / Self.seconds(saveTime)
        let what = isMemory ? "in-memory" : "durable"
        say("\(saves) \(what) update-state saves (one transaction each) in \(Self.format(saveTime)): \(Int(perSecond)) saves/s")

        var expected = session
        expected.updateState?.pts = Int32(10_000 + saves - 1)
        expected.updateState?.qts = 7
        expected.updateState?.date = 1_764_000_000 + Int64(saves - 1)
        expected.updateState?.seq = Int32(saves - 1)

        if isMemory {
            // 4m. A memory vault cannot be reopened: verify in place.
            guard try await vault.load() == expected else {
                throw VaultError(.corrupt, "demo check failed: the memory vault does not hold what was saved")
            }
            say("verified in memory: every field matches (a memory-only vault cannot be reopened)")
            try await vault.close()
            guard (try? FileSystem.status(path)) == nil else {
                throw VaultError(.io, "demo check failed: a file was created in memory-only mode")
            }
            say("no file was created at \(path)")
            say("demo passed (memory-only)")
            return
        }

        // 4. Close, reopen, verify.
        start = clock.now
        try await vault.close()
        let closeTime = clock.now - start
        var reopening = configuration
        reopening.mode = .openExisting
        start = clock.now
        let reopened = try await SessionVault.open(at: path, passphrase: passphrase, configuration: reopening)
        let openTime = clock.now - start
        guard try await reopened.load() == expected else {
            throw VaultError(.corrupt, "demo check failed: the reopened session differs from what was saved")
        }
        say("closed in \(Self.format(closeTime)); reopened, unlocked and authenticated \(await reopened.recordCount) records in \(Self.format(openTime)); every field matches")
        for dataCenter in expected.dataCenters {
            say("  dc \(dataCenter.id)\(dataCenter.isMediaOnly ? " (media)" : ""): \(dataCenter.ipv4?.description ?? "-")  auth_key_id \(dataCenter.authKey.map { String($0.id) } ?? "none")")
        }
        try await reopened.close()

        // 5. Wrong passphrase.
        start = clock.now
        do throws(VaultError) {
            let wrong = try Passphrase(copying: "not the passphrase")
            let intruder = try await SessionVault.open(at: path, passphrase: wrong, configuration: reopening)
            try await intruder.close()
            throw VaultError(.corrupt, "demo check failed: a wrong passphrase opened the vault")
        } catch where error.code == .wrongPassphrase {
            say("wrong passphrase refused in \(Self.format(clock.now - start)) (\(error.code))")
        }

        // 6. Scan the bytes on disk.
        let findings = try PlaintextScan.scan(files: [path, path + "-wal"], session: expected)
        guard findings.isEmpty else {
            throw VaultError(.corrupt, "demo check failed: plaintext found on disk: \(findings.joined(separator: "; "))")
        }
        let size = (try FileSystem.status(path)).map { Int($0.st_size) } ?? 0
        say("scanned \(size) bytes on disk: no auth key window, user id, username, address or channel id in plaintext")
        say("demo passed")
    }

    /// A session with 3 data centers and random keys, a user, update state and `channels` channels.
    static func syntheticSession(channels: Int) throws(VaultError) -> Session {
        try SyntheticSession.make(
            channels: channels,
            pts: { Int32(100 + $0) },
            user: LoggedInUser(id: 6_012_345_678, dataCenterID: 2, isBot: true, username: "sessionvault_demo_bot"),
            apiID: 123_456
        )
    }

    static func makeTemporaryDirectory() throws(VaultError) -> String {
        let base = (getenv("TMPDIR").map { cString($0) }).flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/session-vault-demo-XXXXXX".utf8CString)
        guard let result = mkdtemp(&template) else {
            throw FileSystem.error(errno, "cannot create a temporary folder in \(base)")
        }
        return cString(result)
    }

    static func removeDirectory(_ directory: String) {
        for name in ["demo.session", "demo.session-wal", "demo.session-shm", "demo.session-journal", "demo.session-lock"] {
            FileSystem.removeIfPresent(directory + "/" + name)
        }
        rmdir(directory)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func format(_ duration: Duration) -> String {
        let ms = seconds(duration) * 1000
        return ms >= 1000 ? "\(Double(Int(ms / 10)) / 100) s" : "\(Double(Int(ms * 10)) / 10) ms"
    }
}
