#if SESSION_VAULT_POSTGRES
import Foundation
import PostgresNIO
@testable import SessionVaultPostgres
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// A save of a few records is one fenced statement (docs/LEASES.md §2): it writes all of them when
/// the lease is current and none when it is not, on the real server.
@Suite("PostgreSQL fenced saves in one statement", .enabled(if: PostgresTestServer.url != nil))
struct PostgresFencedSaveTests {
    func record(_ tag: UInt8, _ content: UInt8) -> SealedRecord {
        SealedRecord(tag: [UInt8](repeating: tag, count: 32), maskedKind: 7, nonce: [UInt8](repeating: content, count: 24),
                     ciphertext: [UInt8](repeating: content, count: 40))
    }

    func contents(_ store: PostgresRecordStore) async throws -> [UInt8: UInt8] {
        Dictionary(uniqueKeysWithValues: try await store.readRecords().map { ($0.tag[0], $0.nonce[0]) })
    }

    /// Which transactions take the one-statement path: records only, at most 64, each tag once.
    @Test func recordOnlySavesOfAFewRecordsAreOneStatement() {
        let key = ByteBuffer(bytes: [1])
        func single(_ transaction: RecordTransaction) -> Bool {
            PostgresRecordStore.singleStatement(transaction, sessionKey: key, token: 1, instance: "i") != nil
        }
        #expect(single(RecordTransaction(upserts: [record(1, 1)])))
        #expect(single(RecordTransaction(upserts: [record(1, 1), record(2, 1)], deletions: [[UInt8](repeating: 3, count: 32)])))
        #expect(single(RecordTransaction(deletions: [[UInt8](repeating: 3, count: 32)])))
        #expect(single(RecordTransaction(upserts: (0..<64).map { record(UInt8($0), 1) })))
        #expect(!single(RecordTransaction(upserts: (0..<65).map { record(UInt8($0), 1) })))
        #expect(!single(RecordTransaction(upserts: [record(1, 1), record(1, 2)])))
        #expect(!single(RecordTransaction(upserts: [record(1, 1)], deletions: [[UInt8](repeating: 1, count: 32)])))
        #expect(!single(RecordTransaction(replacesAllRecords: true, upserts: [record(1, 1)])))
        #expect(!single(RecordTransaction()))
    }

    /// Upserts and deletions of several records land together; after a takeover, the old holder's
    /// multi-record statement is refused by the database (lease-lost naming its token) and writes
    /// nothing, not even the deletion; the new holder's data stays intact. The same as a prepared
    /// statement (the default) and as one-off queries (`prepared_statements=false`, for poolers
    /// without protocol-level prepared statements).
    @Test(arguments: [true, false]) func aMultiRecordSaveIsFencedByTheDatabase(prepared: Bool) async throws {
        let location = try PostgresTestServer.location(
            session: "fenced-multi-\(UUID().uuidString)",
            query: "&lease_seconds=30&prepared_statements=\(prepared)&pool_size=1&pool=fenced-\(prepared)")
        #expect(location.preparedStatements == prepared)
        let first = try await PostgresRecordStore.connect(to: location)
        try await first.commit(RecordTransaction(upserts: [record(1, 10), record(2, 10), record(3, 10)]))
        #expect(try await contents(first) == [1: 10, 2: 10, 3: 10])
        try await first.commit(RecordTransaction(upserts: [record(1, 11), record(4, 11)], deletions: [record(2, 0).tag]))
        #expect(try await contents(first) == [1: 11, 3: 10, 4: 11])
        // The pool's one connection holds the statement prepared, or nothing of this build's.
        let preparedNames = try await first.pool.withConnection { connection -> [String] in
            var names: [String] = []
            for try await name in try await connection.query("SELECT name FROM pg_prepared_statements ORDER BY name").decode(String.self) {
                names.append(name)
            }
            return names
        }
        #expect(preparedNames == (prepared ? [FencedRecordWrite.Changes.name] : []), "\(preparedNames)")

        // The lease ends early (by hand); a second holder takes over and writes; the first has not noticed.
        #expect(try await PostgresAdmin.edit(location, "UPDATE sessionvault_lease SET expires_at = clock_timestamp() - interval '1 second' WHERE session = $1 RETURNING 1") == 1)
        let second = try await PostgresRecordStore.connect(to: location)
        #expect(second.lease.token > first.lease.token)
        try await second.commit(RecordTransaction(upserts: [record(5, 20)]))

        let stale = RecordTransaction(upserts: [record(1, 99), record(6, 99)], deletions: [record(3, 0).tag])
        #expect(PostgresRecordStore.singleStatement(stale, sessionKey: first.sessionKey, token: first.lease.token, instance: first.lease.instance) != nil)
        do {
            try await first.commit(stale)
            Issue.record("a stale holder's multi-record save landed")
        } catch {
            #expect(error.code == .leaseLost)
            #expect(error.message.contains("fencing token \(first.lease.token)"))
        }
        // The one-record statement (the hot path) is refused the same way.
        do {
            try await first.commit(RecordTransaction(upserts: [record(1, 98)]))
            Issue.record("a stale holder's one-record save landed")
        } catch {
            #expect(error.code == .leaseLost)
        }
        #expect(try await contents(second) == [1: 11, 3: 10, 4: 11, 5: 20])
        try await first.close()
        try await second.destroy()
    }
}
#endif
