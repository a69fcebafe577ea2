import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// A vault's schema is part of its format (FORMAT.md §3, §7 step 2): schema objects planted by
/// someone with write access are refused as `tampered` before any row is read.
@Suite("Planted schema objects")
struct VaultSchemaTests {
    /// A closed vault holding `sampleSession()`.
    func makeVault(in directory: String) async throws -> String {
        let vault = try await SessionVault.open(at: directory + "/schema", passphrase: passphrase(), configuration: fastConfiguration())
        try await vault.save(try sampleSession())
        let path = try #require(vault.path)
        try await vault.close()
        return path
    }

    func open(_ path: String) async throws -> SessionVault {
        try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
    }

    /// Opens `path`, expecting `tampered` with a message containing `mentioning`; returns the message.
    @discardableResult
    func expectTampered(_ path: String, mentioning: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        do {
            let vault = try await open(path)
            try await vault.close()
            Issue.record("the vault opened although its schema was altered", sourceLocation: sourceLocation)
            return ""
        } catch let error as VaultError {
            #expect(error.code == .tampered, "\(error)", sourceLocation: sourceLocation)
            #expect(error.recordKind == nil, sourceLocation: sourceLocation)
            #expect(error.message.contains(mentioning), "\(error)", sourceLocation: sourceLocation)
            #expect(!error.message.contains("\n"), sourceLocation: sourceLocation)
            return error.message
        }
    }

    func nonces(_ path: String) throws -> [[UInt8]] {
        try withRawDatabase(path) { db in
            let statement = try db.statement("SELECT nonce FROM sv_record ORDER BY tag")
            defer { statement.reset() }
            var values: [[UInt8]] = []
            while try statement.step() { values.append(statement.blob(0)) }
            return values
        }
    }

    func execute(_ sql: String, in path: String) throws {
        try withRawDatabase(path) { db in try db.execute(sql) }
    }

    @Test func anUntouchedVaultOpens() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            let vault = try await open(path)
            #expect(try await vault.load() == (try sampleSession()))
            try await vault.close()
        }
    }

    /// The first attack: a trigger that silently drops every write to `sv_record`. Shown effective on
    /// raw SQLite first; the vault then refuses to open, so no save can be dropped unseen.
    @Test func aTriggerThatDropsSavesIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try execute(
                """
                CREATE TRIGGER sv_drop_update BEFORE UPDATE ON sv_record BEGIN SELECT RAISE(IGNORE); END;
                CREATE TRIGGER sv_drop_insert BEFORE INSERT ON sv_record BEGIN SELECT RAISE(IGNORE); END;
                """,
                in: path
            )
            // The trigger works: a write to sv_record is dropped without an error.
            let before = try nonces(path)
            try execute("UPDATE sv_record SET nonce = zeroblob(24)", in: path)
            try execute("INSERT OR REPLACE INTO sv_record SELECT tag, kind, zeroblob(24), ciphertext FROM sv_record", in: path)
            #expect(try nonces(path) == before)

            let message = try await expectTampered(path, mentioning: "trigger 'sv_drop_")
            #expect(message.contains("on 'sv_record'"))
            #expect(message.contains("does not define"))
        }
    }

    /// The second attack: a trigger copying keyslots aside into an extra table, so that the old
    /// keyslot would survive `passwd` and `rotate`. Neither opens the vault.
    @Test func aTriggerThatCopiesRowsAsideIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try execute(
                """
                CREATE TABLE aside (slot, kind, kdf, opslimit, memlimit, salt, nonce, wrapped_key);
                CREATE TRIGGER keep_old_keyslots BEFORE DELETE ON sv_keyslot BEGIN
                    INSERT INTO aside SELECT * FROM sv_keyslot WHERE slot = old.slot;
                END;
                """,
                in: path
            )
            try await expectTampered(path, mentioning: "does not define")
            // Nothing was run: the trigger never fired.
            #expect(try withRawDatabase(path) { db in try db.integer("SELECT count(*) FROM aside") } == 0)
            // The trigger alone (without its table) is refused too, naming it.
            try execute("DROP TABLE aside", in: path)
            try await expectTampered(path, mentioning: "trigger 'keep_old_keyslots' on 'sv_keyslot'")
        }
    }

    @Test func aViewIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try execute("CREATE VIEW sv_everything AS SELECT * FROM sv_record", in: path)
            try await expectTampered(path, mentioning: "view 'sv_everything'")
        }
    }

    @Test func anExtraTableIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try execute("CREATE TABLE notes (x BLOB)", in: path)
            try await expectTampered(path, mentioning: "table 'notes'")
        }
    }

    @Test func anExtraIndexIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try execute("CREATE INDEX sv_record_by_kind ON sv_record (kind)", in: path)
            try await expectTampered(path, mentioning: "index 'sv_record_by_kind' on 'sv_record'")
        }
    }

    @Test func anAlteredTableDeclarationIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            try execute("ALTER TABLE sv_keyslot ADD COLUMN note TEXT", in: path)
            try await expectTampered(path, mentioning: "the declaration of table sv_keyslot")
        }
    }

    /// Names from the file are bounded and printable in the message.
    @Test func aHostileObjectNameIsBoundedInTheMessage() async throws {
        try await withTemporaryDirectory { directory in
            let path = try await makeVault(in: directory)
            let name = "x\n" + String(repeating: "y", count: 5000)
            try execute("CREATE TABLE \"\(name)\" (x)", in: path)
            let message = try await expectTampered(path, mentioning: "table 'x?yyy")
            #expect(message.count < 400 + path.count)
        }
    }

    /// FORMAT.md §3's declarations (with their comments) and the ones the library writes have the
    /// same canonical form, so a writer following the document produces a schema that opens.
    @Test func formatDocumentDeclaresTheSameSchema() throws {
        let formatURL = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/FORMAT.md")
        let text = try String(contentsOf: formatURL, encoding: .utf8)
        let start = try #require(text.range(of: "```sql\nCREATE TABLE sv_header"))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        let block = String(text[text.index(start.lowerBound, offsetBy: 7)..<end.lowerBound])
        let documented = block.split(separator: ";").map { VaultSchema.canonical(String($0)) }.filter { !$0.isEmpty }
        #expect(documented == VaultSchema.expected.map(\.canonicalSQL))
        #expect(VaultSchema.expected.map(\.name) == ["sv_header", "sv_keyslot", "sv_record"])
        #expect(VaultSchema.canonical("CREATE  TABLE t (\n  a INTEGER, -- note\n  b BLOB\n) STRICT") == "create table t(a integer,b blob)strict")
    }
}
