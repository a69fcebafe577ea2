import ArgumentParser
import SessionVault

@main
struct SessionVaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session-vault",
        abstract: "Keep Telegram client sessions encrypted at rest.",
        version: SessionVaultInfo.versionDescription
    )
}
