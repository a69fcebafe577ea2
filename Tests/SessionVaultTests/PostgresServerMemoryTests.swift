#if SESSION_VAULT_POSTGRES
import Foundation
@testable import SessionVaultPostgres
import Testing

/// Reading server backends' memory for `bench --postgres` (the readable case runs in
/// `PostgresCLITests/benchMeasuresASmallFleet` against the test cluster).
@Suite("PostgreSQL server memory")
struct PostgresServerMemoryTests {
    @Test func smapsRollupLinesAreReadInBytes() {
        let text = """
            55d0c0a00000-7ffd4b5f2000 ---p 00000000 00:00 0                          [rollup]
            Rss:               12345 kB
            Pss:                2048 kB
            Private_Clean:       100 kB
            Private_Dirty:       900 kB
            """
        let fields = PostgresServerMemory.parse(text)
        #expect(fields["Rss"] == 12345 * 1024)
        #expect(fields["Pss"] == 2048 * 1024)
        #expect(fields["Private_Dirty"] == 900 * 1024)
        #expect(fields.count == 4)
    }

    /// A remote server, or a pid that is not a postgres process here, gives a note, not figures.
    @Test func unreadableBackendsGiveANote() throws {
        guard case .failure(let remote) = PostgresServerMemory.read(pids: [1], host: "db.example.org") else {
            Issue.record("a remote server's memory was read")
            return
        }
        #expect(remote.message.contains("not on this machine"))
        guard case .failure(let notPostgres) = PostgresServerMemory.read(pids: [getpid()], host: "127.0.0.1") else {
            Issue.record("the test process was read as a postgres backend")
            return
        }
        #expect(notPostgres.message.contains("not a postgres process"))
        guard case .failure(let none) = PostgresServerMemory.read(pids: [], host: "localhost") else {
            Issue.record("no backend was read as memory")
            return
        }
        #expect(none.message.contains("no backend"))
    }
}
#endif
