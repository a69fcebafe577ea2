#if SESSION_VAULT_POSTGRES
import Foundation
import PostgresNIO
@testable import SessionVaultPostgres
import Synchronization
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Every process of a fleet started on a new database finds no tables and queues on the schema
/// lock; only the first may run DDL. In a database of its own (``PostgresPlantedObjectTests/withScratchDatabase(_:)``).
@Suite("PostgreSQL: creating the tables", .enabled(if: PostgresTestServer.url != nil))
struct PostgresSchemaCreationTests {
    /// An opener that found no layout and waited for the schema lock while another process created
    /// the tables runs no DDL once it gets the lock. Before, it ran every statement again, and
    /// `CREATE UNIQUE INDEX IF NOT EXISTS` takes a SHARE lock on the lease table even when the index
    /// exists: it waited behind any transaction writing that table (every lease take and renewal
    /// does), with the schema lock held and every write to the table queued behind it. Here a
    /// transaction holds the lease table in ROW EXCLUSIVE mode for the whole test: the opener must
    /// still finish.
    @Test(.timeLimit(.minutes(2))) func anOpenerQueuedBehindTheTablesCreatorRunsNoDDL() async throws {
        let scratch = PostgresPlantedObjectTests()
        try await scratch.withScratchDatabase { creator, url in
            // The tables exist and the layout row does not yet: what an opener sees while another
            // process is creating them.
            for statement in PostgresRecordStore.schema { try await scratch.run(creator, statement) }
            let base = try PostgresLocation(parsing: "\(url)?session=admin", environment: PostgresTestServer.locationEnvironment)
            let writer = try await scratch.connect(base, database: base.database)
            try await scratch.run(writer, "BEGIN")
            try await scratch.run(writer, "LOCK TABLE sessionvault_lease IN ROW EXCLUSIVE MODE")
            try await scratch.run(creator, "BEGIN")
            try await scratch.run(creator, "SELECT pg_advisory_xact_lock(\(PostgresRecordStore.schemaLockKey))")
            try await scratch.run(creator, "INSERT INTO sessionvault_layout (version) VALUES (\(PostgresRecordStore.layoutVersion))")

            let location = try PostgresLocation(
                parsing: "\(url)?session=queued&pool=queued-\(UInt32.random(in: 0...UInt32.max))",
                environment: PostgresTestServer.locationEnvironment)
            let opened = OpenedFlag()
            let opening = Task {
                let vault = try await PostgresVault.open(location, passphrase: passphrase(), configuration: fastConfiguration(mode: .create))
                opened.value.store(true, ordering: .releasing)
                return vault
            }
            // Until the opener waits for the schema lock.
            var waiting = false
            let queued = ContinuousClock.now + .seconds(30)
            while !waiting && ContinuousClock.now < queued {
                let rows = try await writer.query(
                    "SELECT count(*)::bigint FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", logger: Logger(label: "test-admin"))
                for try await count in rows.decode(Int64.self) { waiting = count > 0 }
                if !waiting { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(waiting, "the opener never queued for the schema lock")
            try await scratch.run(creator, "COMMIT")

            let finishBy = ContinuousClock.now + .seconds(15)
            while !opened.value.load(ordering: .acquiring) && ContinuousClock.now < finishBy {
                try await Task.sleep(for: .milliseconds(20))
            }
            let finished = opened.value.load(ordering: .acquiring)
            #expect(finished, "the opener waited behind the writer of the lease table (it ran DDL)")
            try await scratch.run(writer, "ROLLBACK")
            let vault = try await opening.value
            try await vault.save(try sampleSession())
            try await vault.close()
            try await writer.close()
        }
    }

    /// Whether the open returned (set by the opening task, read by the test).
    final class OpenedFlag: Sendable {
        let value = Atomic<Bool>(false)
    }
}
#endif
