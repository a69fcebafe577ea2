#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SessionVault {
    /// Creates a new vault file at `location` holding an imported session and its peers, atomically.
    ///
    /// The vault is built in a temporary file beside the destination, closed, reopened with the
    /// passphrase and compared with `imported` (session, every auth key, every peer); only then is
    /// it moved into place (`link` + `unlink`, so an existing file is never replaced). When anything
    /// fails, the temporary file is removed and no destination file exists. The source of the import
    /// is not touched here at all.
    ///
    /// The file work (the syncs of the new file and of its directory) runs on a SessionVault thread,
    /// never on the caller's actor, like everything a vault does (see <doc:Threading>).
    ///
    /// - Parameters:
    ///   - imported: What ``SessionImporter/read(from:format:sqliteLibraryPath:)`` returned.
    ///   - location: The new vault's path (`.session` is appended when it has no extension).
    ///   - passphrase: The new vault's passphrase.
    ///   - configuration: KDF parameters, logger, SQLite library; the mode is always "create" and
    ///     the memory fallback is never used (an import must produce a file).
    /// - Returns: The resolved path of the new vault.
    /// - Throws: ``VaultError/Code/alreadyExists`` when the destination exists;
    ///   ``VaultError/Code/sqliteUnavailable`` without libsqlite3; ``VaultError/Code/corrupt`` when
    ///   the reopened vault differs from what was imported (nothing is left behind).
    @discardableResult
    public static func createByImporting(
        _ imported: ImportedSession,
        at location: String,
        passphrase: Passphrase,
        configuration: Configuration = Configuration()
    ) async throws(VaultError) -> String {
        try await createByImporting(
            imported,
            at: location,
            passphrase: passphrase,
            configuration: configuration,
            on: ExecutorHop(executor: try VaultExecutor())
        )
    }

    private static func createByImporting(
        _ imported: ImportedSession,
        at location: String,
        passphrase: Passphrase,
        configuration: Configuration,
        on hop: isolated ExecutorHop
    ) async throws(VaultError) -> String {
        let path = try VaultPath.resolve(location)
        if access(path, F_OK) == 0 { throw VaultError(.alreadyExists, "\(path) already exists; not replaced") }
        let directory = FileSystem.directoryName(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? "vault"
        let temporary = "\(directory)/.\(base).import-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).session"
        var configuration = configuration
        configuration.fallback = .fail

        func cleanUp() {
            for file in [temporary, SQLiteRecordStore.lockPath(of: temporary)] + FileShredder.companionFiles(of: temporary) {
                unlink(file)
            }
        }

        var expectedPeers: [Int64: Peer] = [:]
        for peer in imported.peers { expectedPeers[peer.id] = peer }
        do throws(VaultError) {
            configuration.mode = .create
            let vault = try await SessionVault.open(at: temporary, passphrase: passphrase, configuration: configuration)
            do throws(VaultError) {
                try await vault.save(imported.session)
                if !imported.peers.isEmpty { try await vault.upsertPeers(imported.peers) }
                try await vault.close()
            } catch {
                try? await vault.close()
                throw error
            }

            configuration.mode = .openExisting
            let reopened = try await SessionVault.open(at: temporary, passphrase: passphrase, configuration: configuration)
            let stored: Session?
            let storedPeers: [Peer]
            do throws(VaultError) {
                stored = try await reopened.load()
                storedPeers = try await reopened.allPeers()
                try await reopened.close()
            } catch {
                try? await reopened.close()
                throw error
            }
            let expected = imported.session
            let sessionMatches = stored.map { $0 == expected } ?? expected.isEmpty
            let peersMatch =
                storedPeers.count == expectedPeers.count && storedPeers.allSatisfy { expectedPeers[$0.id] == $0 }
            guard sessionMatches, peersMatch else {
                throw VaultError(
                    .corrupt,
                    "the new vault did not read back equal to the imported session (\(sessionMatches ? "peers" : "session") differ); nothing was written"
                )
            }
            try SessionExporter.publish(temporary, as: path)
            for file in [SQLiteRecordStore.lockPath(of: temporary)] + FileShredder.companionFiles(of: temporary) {
                unlink(file)
            }
        } catch {
            cleanUp()
            throw error
        }
        return path
    }
}
