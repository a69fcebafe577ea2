import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// A planted trigger (FORMAT.md §3): every command that opens the vault refuses it as `tampered`
/// (exit 66, one line), `verify` included, so no save is dropped and no old keyslot kept unseen.
@Suite("planted schema objects")
struct PlantedSchemaTests {
    @Test func everyCommandRefusesAVaultWithAPlantedTrigger() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            try withRawDatabase(path) { db in
                try db.execute(
                    """
                    CREATE TABLE aside (slot, kind, kdf, opslimit, memlimit, salt, nonce, wrapped_key);
                    CREATE TRIGGER keep_old_keyslots BEFORE DELETE ON sv_keyslot BEGIN
                        INSERT INTO aside SELECT * FROM sv_keyslot WHERE slot = old.slot;
                    END;
                    CREATE TRIGGER drop_saves BEFORE UPDATE ON sv_record BEGIN SELECT RAISE(IGNORE); END;
                    """
                )
            }
            let newFile = directory + "/new-passphrase"
            try writeSecretFile(newFile, otherPassphrase + "\n")
            let environment = ["SESSION_VAULT_PASSPHRASE": vaultPassphrase, "SESSION_VAULT_NEW_PASSPHRASE_FILE": newFile]
            for arguments in [["verify", path], ["show", path], ["passwd", path], ["rotate", path]] {
                let result = try await CLI.run(arguments, environment: environment)
                #expect(result.status == 66, "\(arguments): \(result.err)")
                #expect(result.err.hasPrefix("session-vault: "), "\(result.err)")
                #expect(result.err.filter { $0 == "\n" }.count == 1, "one line: \(result.err)")
                #expect(result.err.contains("which the vault format does not define"), "\(result.err)")
            }
            // Nothing ran: the old keyslot was never copied aside.
            #expect(try withRawDatabase(path) { db in try db.integer("SELECT count(*) FROM aside") } == 0)
        }
    }
}
