import Foundation
import Testing
import SessionVaultKit
import SessionVaultTestSupport

/// `SESSION_VAULT_SQLITE_LIBRARY` names code the command loads, at the trust level of `LD_PRELOAD`:
/// only an absolute path is taken. Before, `./libsqlite3.so.0` was loaded from the working directory.
@Suite("SQLite library override")
struct SQLiteLibraryOverrideTests {
    static let systemLibrary = [
        "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", "/usr/lib/aarch64-linux-gnu/libsqlite3.so.0",
        "/usr/lib64/libsqlite3.so.0", "/usr/lib/libsqlite3.so.0",
    ].first { FileManager.default.fileExists(atPath: $0) }

    @Test(.enabled(if: systemLibrary != nil, "no system libsqlite3.so.0 found"))
    func aRelativeLibraryPathIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let library = try #require(Self.systemLibrary)
            try FileManager.default.createSymbolicLink(atPath: directory + "/libsqlite3.so.0", withDestinationPath: library)
            let absolute = try await CLI.run(
                ["show", path], environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase, "SESSION_VAULT_SQLITE_LIBRARY": directory + "/libsqlite3.so.0"]
            )
            #expect(absolute.status == 0, "an absolute path is loaded (control): \(absolute.err)")
            let relative = try await CLI.run(
                ["show", path],
                environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase, "SESSION_VAULT_SQLITE_LIBRARY": "./libsqlite3.so.0"],
                directory: directory
            )
            #expect(relative.status == 69, "\(relative.err)")
            #expect(relative.err.contains("SESSION_VAULT_SQLITE_LIBRARY"))
        }
    }
}
