import ArgumentParser
import SessionVaultKit
import SessionVaultOperations

/// `session-vault demo`: the main job end to end on a throw-away vault.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Create, fill, hammer, reopen, verify and scan a throw-away vault, and print a redacted summary.",
        discussion: """
            Uses SESSION_VAULT_PASSPHRASE when it is set, else a clearly labelled demo passphrase. \
            When libsqlite3 cannot be loaded, the same steps run memory-only and the output says so.
            """
    )

    @Option(help: "Number of durable update-state saves.")
    var saves = 1_000

    @Option(help: "Number of channels in the synthetic session.")
    var channels = 100

    func run() async throws {
        try await CommandRunner.run {
            var demo = VaultDemo()
            demo.saves = saves
            demo.channels = channels
            try await demo.run { print($0) }
        }
    }
}
