import ArgumentParser
import SessionVaultKit
import SessionVaultOperations

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `session-vault soak PATH`: hammer a scratch vault the way a busy client does, one durable
/// transaction after another, to check a disk (and to be the victim of the crash harness).
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Hammer a scratch vault with durable transactions and report each one (checks a disk; crash-test victim).",
        discussion: """
            Creates PATH (or opens a vault an earlier soak created) and, until --seconds or --transactions \
            runs out, saves the update state every iteration, a channel's pts often, a data center's auth key \
            now and then, and occasionally changes the passphrase or rotates the data key. Soak overwrites \
            the session with synthetic data, so it refuses a vault that holds a real session.

            Passphrases are read once at start: SESSION_VAULT_PASSPHRASE (or its file, credential or the \
            terminal), and optionally SESSION_VAULT_NEW_PASSPHRASE (or its file or credential). Passphrase \
            changes alternate between the two (with one, they re-wrap under the same passphrase); either \
            one opens an existing soak vault.

            Standard output gets one line per transaction before it starts ('begin GEN OP DIGEST key=N') \
            and one after it is durable ('commit GEN OP DIGEST key=N'), each written with write(2) before \
            the next transaction, then a summary line (transactions, rate). DIGEST is a digest of the whole \
            state (never a secret); key=N says which passphrase opens the vault afterwards (0 or 1). A \
            failed transaction prints 'failed …', then the process re-reads and authenticates every stored \
            record ('verified …'), closes the vault, prints the summary and exits with the failure's code.
            """
    )

    @Argument(help: "The scratch vault file ('.session' is appended when the name has no extension).")
    var path: String

    @Option(help: "Stop starting transactions after this many seconds.")
    var seconds: Double = 10

    @Option(help: "Stop after this many transactions (in addition to --seconds).")
    var transactions: Int?

    @Option(help: "Random seed for the choice of operations (default: from the clock).")
    var seed: UInt64?

    @Option(help: KDFProfile.help)
    var kdf: KDFProfile = .default

    @Option(help: "Commit durability: full (fsync every commit, the default) or normal.")
    var durability: String = "full"

    @Option(help: "Seconds to wait for another process to release the vault before exiting 67.")
    var lockWait: Double = 0

    @Option(help: "A channel's pts is saved on average once every N iterations (0: never).")
    var channelEvery = 2

    @Option(help: "A data center gets a new auth key on average once every N iterations (0: never).")
    var dcEvery = 20

    @Option(help: "The passphrase changes on average once every N iterations (0: never).")
    var passwdEvery = 500

    @Option(help: "The data key rotates on average once every N iterations (0: never).")
    var rotateEvery = 1_000

    @Option(help: "How many channels the synthetic session follows.")
    var channels = 16

    /// Test hook (memory inspection): after opening, and again after closing, print `pause opened` /
    /// `pause closed` on standard output and wait for a line (or end of file) on standard input.
    @Flag(help: .hidden)
    var pauseForInspection = false

    func validate() throws {
        guard seconds >= 0, lockWait >= 0 else { throw ValidationError("--seconds and --lock-wait must not be negative") }
        guard [channelEvery, dcEvery, passwdEvery, rotateEvery, channels].allSatisfy({ $0 >= 0 }) else {
            throw ValidationError("frequencies and --channels must not be negative")
        }
        guard ["full", "normal"].contains(durability) else { throw ValidationError("--durability is full or normal") }
    }

    func run() async throws {
        try await CommandRunner.run {
            // Everything that holds a passphrase lives inside `soak()`: when it returns, the guarded
            // buffers are released (and zeroed) before the closed vault is paused for inspection.
            let summary = try await soak()
            if pauseForInspection { Self.pause("closed") }
            try StandardStream.print(summary.description)
            if let failure = summary.failure { throw failure }
        }
    }

    private func soak() async throws -> SoakSummary {
        let resolved = try VaultPath.resolve(path)
        if SessionVaultInfo.sqliteVersion == nil {
            throw VaultError(.sqliteUnavailable, "libsqlite3 cannot be loaded, so vault files cannot be read or written")
        }
        var passphrases = [try VaultAccess.readPassphrase()]
        if let source = try Self.newPassphraseSource() {
            passphrases.append(try Passphrase(secret: try source.read(.newPassphrase)))
        }
        var soak = VaultSoak(path: resolved, passphrases: passphrases)
        soak.configuration = VaultAccess.configuration(mode: .openOrCreate, kdf: kdf.parameters)
        soak.configuration.durability = durability == "normal" ? .normal : .full
        soak.configuration.lockWait = .milliseconds(Int64((lockWait * 1000).rounded()))
        soak.duration = .milliseconds(Int64((seconds * 1000).rounded()))
        soak.transactionLimit = transactions
        soak.seed = seed ?? Self.clockSeed()
        soak.channelEvery = channelEvery
        soak.dataCenterEvery = dcEvery
        soak.passphraseChangeEvery = passwdEvery
        soak.rotationEvery = rotateEvery
        soak.channelCount = channels
        let pause = pauseForInspection
        return try await soak.run(afterOpening: { if pause { Self.pause("opened") } }) { (event) throws(VaultError) in
            try StandardStream.print(event.description)
        }
    }

    /// A seed from the real-time clock and the pid, for runs without --seed.
    private static func clockSeed() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(bitPattern: Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)) ^ UInt64(getpid()) << 40
    }

    /// The source of the optional second passphrase, when one is configured.
    private static func newPassphraseSource() throws(VaultError) -> PassphraseSource? {
        let names = PassphraseSource.Names.newPassphrase
        var configured = PassphraseSource.isEnvironmentVariableSet(names.variable) || getenv(names.fileVariable) != nil
        if let directory = getenv("CREDENTIALS_DIRECTORY") {
            configured = configured || access(String(cString: directory) + "/" + names.credential, F_OK) == 0
        }
        return configured ? try PassphraseSource.locate(names, allowTerminal: false) : nil
    }

    /// Prints `pause <stage>` and waits for a line or end of file on standard input.
    private static func pause(_ stage: String) {
        try? StandardStream.print("pause \(stage)")
        var byte: UInt8 = 0
        while true {
            let count = read(0, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 || byte == 10 { return }
        }
    }
}
