import Foundation
import Testing
import SessionVaultTestSupport

/// Pyrogram strings carry no address; their import fills in Telegram's published one, and `show`
/// says so (issue 4: "map DC id + test mode to the well-known addresses and say so in show").
@Suite("show marks well-known addresses")
struct ShowWellKnownAddressTests {
    @Test func aPyrogramStringImportShowsTheWellKnownAddressAsSuch() async throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/interop/pyrogram-string.txt").path
        try await withTemporaryDirectory { directory in
            let environment: [String: String?] = ["SESSION_VAULT_PASSPHRASE": vaultPassphrase]
            let imported = try await CLI.run(["import", fixture, directory + "/p", "--kdf", "interactive"], environment: environment)
            #expect(imported.status == 0, "\(imported.err)")
            let shown = try await CLI.run(["show", directory + "/p"], environment: environment)
            #expect(shown.status == 0, "\(shown.err)")
            #expect(shown.out.contains("149.154.167.51:443 (Telegram's well-known address for DC 2)"), "\(shown.out)")
        }
    }
}
