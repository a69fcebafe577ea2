import ArgumentParser
import SessionVaultKit
import SessionVaultAgent

/// `session-vault serve LOCATION`: the agent that lets programs in other languages use a vault
/// (docs/AGENT.md).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Open a vault and answer protocol requests on standard input/output (docs/AGENT.md).",
        discussion: """
            The agent holds the vault's lock (PostgreSQL: its lease, and a lost lease becomes a `lease-lost` \
            event) until standard input ends, a `close` or `delete` request, \
            SIGTERM/SIGINT/SIGHUP, or the death of its parent process. Its first line is a `ready` event, or \
            a `failed` event followed by the exit code of that error. Every write is answered after it is \
            durable. The passphrase comes from SESSION_VAULT_PASSPHRASE_FD (an inherited descriptor, read \
            to end of file: the exact bytes), SESSION_VAULT_PASSPHRASE_FILE, SESSION_VAULT_PASSPHRASE or the \
            systemd credential; never from the terminal, since standard input carries the protocol.
            """
    )

    @Argument(help: "The vault: a file path, postgres://…?session=NAME, or pg:NAME.")
    var location: String

    @Flag(help: "Create the vault when it does not exist (with --kdf).")
    var create = false

    @Option(help: KDFProfile.help)
    var kdf: KDFProfile = .default

    @Option(help: "Seconds to wait for another process to release the vault before failing with in-use.")
    var lockWait: Double = 0

    @Option(help: "Commit durability: full (fsync before every answer, the default) or normal.")
    var durability: String = "full"

    func validate() throws {
        guard lockWait >= 0, lockWait <= 86_400 else { throw ValidationError("--lock-wait is 0 to 86400 seconds") }
        guard ["full", "normal"].contains(durability) else { throw ValidationError("--durability is full or normal") }
    }

    func run() async throws {
        // Before anything slow: the parent may die while Argon2id runs.
        AgentProcess.terminateWithParent()
        try await CommandRunner.run {
            let vault: SessionVault
            let termination: Int32
            let notices = try AgentNotices()
            var printable = VaultAccess.describe(location)
            do throws(VaultError) {
                let resolved = try VaultAccess.resolve(location, mustExist: create ? nil : true)
                printable = VaultAccess.describe(resolved)
                var configuration = VaultAccess.configuration(mode: create ? .openOrCreate : .openExisting, kdf: kdf.parameters)
                configuration.lockWait = .milliseconds(Int64((lockWait * 1000).rounded()))
                configuration.durability = durability == "normal" ? .normal : .full
                // A PostgreSQL lease lost in the background becomes a `lease-lost` event (docs/AGENT.md).
                configuration.onLeaseLost = { notices.post($0) }
                // The passphrase first: SESSION_VAULT_PASSPHRASE_FD must name a descriptor the parent
                // passed, not one this process opened itself (the signal pipe below).
                let passphrase = try PassphraseSource.readPassphrase(allowTerminal: false)
                termination = AgentProcess.installTerminationSignals()
                vault = try await VaultAccess.open(resolved, passphrase: passphrase, configuration: configuration)
            } catch {
                AgentServer.reportOpenFailure(error, exitStatus: ExitStatus.code(for: error.code))
                throw error
            }
            var server = try AgentServer(
                vault: vault,
                location: printable,
                exitStatus: { ExitStatus.code(for: $0) },
                termination: termination,
                notices: notices
            )
            let ending: AgentServer.Ending
            do throws(VaultError) {
                ending = try await server.run()
            } catch {
                try? await vault.close()
                throw error
            }
            switch ending {
            case .closed, .deleted: break
            case .endOfInput, .terminated, .outputClosed: try await vault.close()
            case .oversizedRequest:
                try await vault.close()
                throw ExitCode(ExitStatus.usage)
            }
        }
    }
}
