#if SESSION_VAULT_POSTGRES
import Foundation
import PostgresNIO
@testable import SessionVaultPostgres
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// The PostgreSQL tables are shared by every session of a database: a trigger or rule planted on them
/// (issue #11's SQLite attack, carried over) is refused as `tampered` before anything is read or
/// written. Each test works in a database of its own, so the planted objects never reach the other
/// PostgreSQL tests running at the same time.
@Suite("PostgreSQL: planted triggers and rules", .enabled(if: PostgresTestServer.url != nil))
struct PostgresPlantedObjectTests {
    /// A trigger that silently drops every update of a record (`RETURN NULL`): before, saves
    /// "succeeded" and the vault kept its old state. Now the open is refused, naming the trigger.
    @Test func aTriggerThatDropsSavesIsRefused() async throws {
        try await withScratchDatabase { admin, url in
            let location = try PostgresLocation(parsing: "\(url)?session=planted", environment: PostgresTestServer.locationEnvironment)
            let vault = try await PostgresVault.open(location, passphrase: passphrase(), configuration: fastConfiguration(mode: .create))
            try await vault.save(try sampleSession())
            try await vault.close()

            try await run(admin, "CREATE FUNCTION sv_drop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$")
            try await run(admin, "CREATE TRIGGER sv_drop_updates BEFORE UPDATE ON sessionvault_record FOR EACH ROW EXECUTE FUNCTION sv_drop()")
            let error = await #expect(throws: VaultError.self) {
                _ = try await PostgresVault.open(location, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            }
            #expect(error?.code == .tampered)
            #expect(error?.message.contains("trigger sv_drop_updates on sessionvault_record") == true, "\(String(describing: error))")

            try await run(admin, "DROP TRIGGER sv_drop_updates ON sessionvault_record")
            try await run(admin, "CREATE RULE sv_copy AS ON DELETE TO sessionvault_keyslot DO ALSO NOTIFY sv")
            let ruled = await #expect(throws: VaultError.self) {
                _ = try await PostgresVault.open(location, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            }
            #expect(ruled?.code == .tampered)
            #expect(ruled?.message.contains("rule sv_copy on sessionvault_keyslot") == true)

            try await run(admin, "DROP RULE sv_copy ON sessionvault_keyslot")
            // The lease table too: a trigger that keeps a lease from ever being taken over (or renewed).
            try await run(admin, "CREATE TRIGGER sv_pin_lease BEFORE UPDATE ON sessionvault_lease FOR EACH ROW EXECUTE FUNCTION sv_drop()")
            let pinned = await #expect(throws: VaultError.self) {
                _ = try await PostgresVault.open(location, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            }
            #expect(pinned?.code == .tampered)
            #expect(pinned?.message.contains("trigger sv_pin_lease on sessionvault_lease") == true, "\(String(describing: pinned))")

            try await run(admin, "DROP TRIGGER sv_pin_lease ON sessionvault_lease")
            let clean = try await PostgresVault.open(location, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            #expect(try await clean.load() == (try sampleSession()))
            try await clean.close()
        }
    }

    /// A row planted among this session's records (a genuine record of the session copied under a
    /// new tag, and a genuine record of another session moved under this session's key) is refused
    /// before the session loads, as in a vault file.
    @Test func aPlantedRowIsRefused() async throws {
        try await withScratchDatabase { admin, url in
            var codes: [VaultError.Code] = []
            for (name, plant) in [
                ("copied", "INSERT INTO sessionvault_record SELECT session, sha256(tag), kind, nonce, ciphertext FROM sessionvault_record WHERE session = 'copied'::bytea LIMIT 1"),
                ("moved", "INSERT INTO sessionvault_record SELECT 'moved'::bytea, tag, kind, nonce, ciphertext FROM sessionvault_record WHERE session = 'other'::bytea AND kind <> 0 LIMIT 1 ON CONFLICT DO NOTHING"),
            ] {
                for session in [name, "other"] {
                    let location = try PostgresLocation(parsing: "\(url)?session=\(session)", environment: PostgresTestServer.locationEnvironment)
                    if session == "other", name == "moved" { continue }  // made in the first round
                    let vault = try await PostgresVault.open(location, passphrase: passphrase(), configuration: fastConfiguration(mode: .create))
                    try await vault.save(try sampleSession())
                    try await vault.close()
                }
                let location = try PostgresLocation(parsing: "\(url)?session=\(name)", environment: PostgresTestServer.locationEnvironment)
                let before = try await count(admin, name)
                try await run(admin, plant)
                #expect(try await count(admin, name) == before + 1, "\(name): the row was planted")
                let error = await #expect(throws: VaultError.self) {
                    _ = try await PostgresVault.open(location, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
                }
                #expect(error?.code == .tampered || error?.code == .corrupt, "\(name): \(String(describing: error))")
                if let code = error?.code { codes.append(code) }
            }
            #expect(codes.count == 2)
        }
    }

    /// How many record rows `session` has.
    func count(_ connection: PostgresConnection, _ session: String) async throws -> Int {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT count(*) FROM sessionvault_record WHERE session = '\(session)'::bytea"), logger: Logger(label: "test-admin"))
        for try await value in rows.decode(Int.self) { return value }
        return 0
    }

    /// Creates a database of its own, runs `body` with an admin connection to it and its URL, drops it.
    func withScratchDatabase(_ body: (PostgresConnection, String) async throws -> Void) async throws {
        let url = try #require(PostgresTestServer.url)
        let base = try PostgresLocation(parsing: "\(url)?session=admin", environment: PostgresTestServer.locationEnvironment)
        let name = "sv_planted_\(UInt32.random(in: 0...UInt32.max))"
        let server = try await connect(base, database: base.database)
        try await run(server, "CREATE DATABASE \(name)")
        let scratchURL = "postgres://\(base.username)@\(base.host):\(base.port)/\(name)"
        do {
            let admin = try await connect(base, database: name)
            do {
                try await body(admin, scratchURL)
            } catch {
                try? await admin.close()
                throw error
            }
            try await admin.close()
        } catch {
            try? await run(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            try? await server.close()
            throw error
        }
        try await run(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try await server.close()
    }

    func connect(_ base: PostgresLocation, database: String) async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            configuration: PostgresConnection.Configuration(
                host: base.host, port: base.port, username: base.username, password: base.password, database: database, tls: .disable
            ),
            id: 98,
            logger: Logger(label: "test-admin")
        )
    }

    func run(_ connection: PostgresConnection, _ sql: String) async throws {
        _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test-admin"))
    }
}
#endif
