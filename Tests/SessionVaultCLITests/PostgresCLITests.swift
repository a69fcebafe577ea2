#if SESSION_VAULT_POSTGRES
import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// `session-vault` against the PostgreSQL cluster `make test` starts (scripts/with-postgres.sh):
/// locations on the command line, two processes contending, and copying between SQLite and PostgreSQL.
@Suite(
    "PostgreSQL from the command line",
    .enabled(if: ProcessInfo.processInfo.environment["SESSION_VAULT_TEST_POSTGRES_URL"] != nil)
)
struct PostgresCLITests {
    static var url: String { ProcessInfo.processInfo.environment["SESSION_VAULT_TEST_POSTGRES_URL"]! }
    static var passwordFile: String { ProcessInfo.processInfo.environment["SESSION_VAULT_TEST_POSTGRES_PASSWORD_FILE"]! }

    func environment(_ extra: [String: String?] = [:]) -> [String: String?] {
        var environment: [String: String?] = [
            "SESSION_VAULT_PASSPHRASE": vaultPassphrase,
            "SESSION_VAULT_POSTGRES_PASSWORD_FILE": Self.passwordFile,
        ]
        for (name, value) in extra { environment[name] = value }
        return environment
    }

    @Test func copyFromAFileToPostgresAndBackThenContend() async throws {
        try await withTemporaryDirectory { directory in
            let session = try testSession()
            let (source, _) = try await makeVault(in: directory, name: "source", session: session)
            let name = "cli-\(UUID().uuidString)"
            let location = "\(Self.url)?session=\(name)"

            // File → PostgreSQL.
            let copied = try await CLI.run(["copy", source, location, "--kdf", "interactive"], environment: environment())
            #expect(copied.status == 0, "\(copied.err)")
            #expect(copied.err.contains("verified"))
            // `pg:NAME` with SESSION_VAULT_POSTGRES_URL names the same session.
            let shown = try await CLI.run(["show", "pg:\(name)", "--json"], environment: environment(["SESSION_VAULT_POSTGRES_URL": Self.url]))
            #expect(shown.status == 0, "\(shown.err)")
            let json = try shown.json()
            #expect((json["user"] as? [String: Any])?["username"] as? String == session.user?.username)
            #expect((json["dcs"] as? [[String: Any]])?.count == session.dataCenters.count)

            // A second process while one holds the session: in use, naming host and pid.
            let holder = try RunningCLI(["show", location, "--hold"], environment: environment())
            #expect(try await holder.waitForOutput(containing: "user"))
            let refused = try await CLI.run(["show", location], environment: environment())
            #expect(refused.status == 67)
            #expect(refused.err.contains("in use by host"))
            #expect(refused.err.contains("pid \(holder.pid)"))
            #expect(!refused.err.contains("database is locked"))
            #expect(await holder.finish() == 0)

            // PostgreSQL → a new file, under a new passphrase.
            let back = directory + "/back.session"
            let returned = try await CLI.run(
                ["copy", location, back, "--kdf", "interactive"],
                environment: environment(["SESSION_VAULT_NEW_PASSPHRASE": otherPassphrase])
            )
            #expect(returned.status == 0, "\(returned.err)")
            var configuration = SessionVault.Configuration()
            configuration.mode = .openExisting
            let vault = try await SessionVault.open(at: back, passphrase: try Passphrase(copying: otherPassphrase), configuration: configuration)
            #expect(try await vault.load() == session)
            try await vault.close()

            // Copying onto an existing session is refused and changes nothing.
            let again = try await CLI.run(["copy", source, location], environment: environment())
            #expect(again.status != 0)
        }
    }

    /// `bench --postgres URL --sessions N --json`: the documented keys, and never more connections than the pool.
    @Test func benchMeasuresASmallFleet() async throws {
        let result = try await CLI.run(
            ["bench", "--postgres", Self.url, "--sessions", "5", "--seconds", "1", "--pool-size", "3", "--json"],
            environment: environment()
        )
        #expect(result.status == 0, "\(result.err)")
        let json = try result.json()
        for key in ["fleet_open_s", "fleet_connections_max", "fleet_saves_per_s", "fleet_baseline_commits_per_s",
                    "fleet_baseline_prepared_commits_per_s", "fleet_saves_vs_prepared_baseline", "fleet_saves_on_vault_executor_per_s",
                    "fleet_saves_on_vault_executor_vs_baseline", "fleet_saves_on_vault_executor_vs_prepared_baseline", "fleet_renewals_per_s", "fleet_renewal_share", "fleet_takeover_s", "fleet_sessions", "fleet_pool_size"] {
            #expect(json[key] is NSNumber, "\(key) missing")
        }
        #expect(json["fleet_sessions"] as? Int == 5)
        #expect((json["fleet_connections_max"] as? Int).map { (1...3).contains($0) } == true)
        #expect((json["fleet_saves_per_s"] as? Double ?? 0) > 0)
        #expect((json["fleet_baseline_prepared_commits_per_s"] as? Double ?? 0) > 0)
        #expect((json["fleet_saves_on_vault_executor_per_s"] as? Double ?? 0) > 0)
        // One renewal statement renews every lease of the pool: never more statements than leases renewed.
        let statements = try #require(json["fleet_renewal_statements_per_s"] as? Double)
        #expect(statements > 0 && statements <= (json["fleet_renewals_per_s"] as? Double ?? 0))
        #expect(json["fleet_renewal_busy_share"] is NSNumber)
        // The server's memory: measured when its processes can be read here, else null with a note.
        if let backends = json["fleet_server_backends"] as? Int {
            #expect((1...3).contains(backends))
            let rss = try #require(json["fleet_server_rss_bytes"] as? Int)
            let pss = try #require(json["fleet_server_pss_bytes"] as? Int)
            let own = try #require(json["fleet_server_private_bytes"] as? Int)
            #expect(rss >= pss && pss >= own && own > 0)
            #expect(json["fleet_server_memory_note"] is NSNull)
        } else {
            #expect(json["fleet_server_rss_bytes"] is NSNull)
            #expect((json["fleet_server_memory_note"] as? String)?.isEmpty == false)
        }
        let refused = try await CLI.run(["bench", "--sessions", "5"], environment: environment())
        #expect(refused.status == 64)
    }

    @Test func importATelethonFileStraightIntoPostgres() async throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/interop/telethon-v8.session").path
        let location = "\(Self.url)?session=imported-\(UUID().uuidString)"
        let imported = try await CLI.run(["import", fixture, location, "--kdf", "interactive"], environment: environment())
        #expect(imported.status == 0, "\(imported.err)")
        let shown = try await CLI.run(["show", location, "--json"], environment: environment())
        #expect(shown.status == 0, "\(shown.err)")
        let dcs = try #require(try shown.json()["dcs"] as? [[String: Any]])
        #expect(dcs.first?["id"] as? Int == 2)
        #expect(dcs.first?["auth_key_id"] != nil)
        // Importing onto an existing session is refused.
        let again = try await CLI.run(["import", fixture, location, "--kdf", "interactive"], environment: environment())
        #expect(again.status != 0)
    }

    @Test func aPasswordOnTheCommandLineIsRefused() async throws {
        let withPassword = Self.url.replacingOccurrences(of: "postgres://postgres@", with: "postgres://postgres:hunter2@")
        let result = try await CLI.run(["show", "\(withPassword)?session=x"], environment: environment())
        #expect(result.status == 64)
        #expect(result.err.contains("SESSION_VAULT_POSTGRES_PASSWORD_FILE"))
        #expect(!result.err.contains("hunter2"))
    }
}
#endif
