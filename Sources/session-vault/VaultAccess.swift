import SessionVaultKit
#if SESSION_VAULT_POSTGRES
import SessionVaultPostgres
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What every subcommand that touches a vault file shares: path checks, the configuration, reading
/// the passphrase or recovery key from its source, and unlocking with progress on a terminal.
///
/// The command line never memory-falls-back: a command about a file must not silently act on an
/// empty memory vault when libsqlite3 is missing, so it refuses with `sqlite-unavailable` (exit 69).
enum VaultAccess {
    /// How an existing vault is unlocked.
    enum Unlock {
        case passphrase
        case recoveryKey
    }

    /// The configuration of every command: no memory fallback, no waiting for another opener.
    static func configuration(mode: SessionVault.Configuration.Mode, kdf: KDFParameters? = nil) -> SessionVault.Configuration {
        var configuration = SessionVault.Configuration()
        configuration.mode = mode
        configuration.fallback = .fail
        if let kdf { configuration.kdf = kdf }
        return configuration
    }

    /// Resolves `location` and checks, before any secret is asked for, that it exists (or, when
    /// creating, does not) and that libsqlite3 can be loaded.
    /// `mustExist` nil accepts both (a command that opens or creates).
    static func resolve(_ location: String, mustExist: Bool?) throws(VaultError) -> String {
        #if SESSION_VAULT_POSTGRES
        if PostgresLocation.isPostgresLocation(location) {
            // A password on the command line would sit in argv (visible to ps) and in every message
            // that names the location: refuse it.
            if location.hasPrefix("postgres"), let at = location.firstIndex(of: "@"),
                location[..<at].dropFirst(location.hasPrefix("postgresql://") ? 13 : 11).contains(":")
            {
                throw VaultError(
                    .invalidArgument,
                    "a PostgreSQL location on the command line must not contain a password; "
                        + "use SESSION_VAULT_POSTGRES_PASSWORD_FILE (or SESSION_VAULT_POSTGRES_URL)"
                )
            }
            // Validated now (before any secret is read); existence is checked by the open's mode.
            _ = try PostgresLocation(parsing: location)
            return location
        }
        #endif
        let path = try VaultPath.resolve(location)
        let exists = access(path, F_OK) == 0
        if mustExist == true && !exists { throw VaultError(.notFound, "\(path) does not exist") }
        if mustExist == false && exists { throw VaultError(.alreadyExists, "\(path) already exists") }
        if SessionVaultInfo.sqliteVersion == nil {
            throw VaultError(
                .sqliteUnavailable,
                "libsqlite3 cannot be loaded, so vault files cannot be read or written "
                    + "(install libsqlite3-0, or check SESSION_VAULT_SQLITE_LIBRARY)"
            )
        }
        return path
    }

    /// Reads the passphrase from its one source (`SESSION_VAULT_PASSPHRASE_FILE`,
    /// `SESSION_VAULT_PASSPHRASE`, the systemd credential, or the terminal).
    static func readPassphrase(confirm: Bool = false) throws(VaultError) -> Passphrase {
        try PassphraseSource.readPassphrase(.passphrase, confirm: confirm)
    }

    /// Reads a recovery key from `SESSION_VAULT_RECOVERY_KEY_FILE`, `SESSION_VAULT_RECOVERY_KEY`,
    /// the systemd credential `session-vault-recovery-key`, or the terminal.
    static func readRecoveryKey() throws(VaultError) -> RecoveryKey {
        let names = PassphraseSource.Names.recoveryKey
        let text = try PassphraseSource.locate(names).read(names)
        return try RecoveryKey(parsing: text)
    }

    /// Opens an existing vault at the resolved `path`, unlocking with a passphrase (returned, for
    /// commands that need it again) or the recovery key.
    static func openExisting(_ path: String, unlock: Unlock = .passphrase) async throws(VaultError) -> (SessionVault, Passphrase?) {
        let configuration = configuration(mode: .openExisting)
        switch unlock {
        case .passphrase:
            let passphrase = try readPassphrase()
            let vault = try await TerminalProgress.step("unlocking \(describe(path)) (Argon2id)") { () async throws(VaultError) in
                try await open(path, passphrase: passphrase, configuration: configuration)
            }
            return (vault, passphrase)
        case .recoveryKey:
            let recoveryKey = try readRecoveryKey()
            let vault: SessionVault
            #if SESSION_VAULT_POSTGRES
            if PostgresLocation.isPostgresLocation(path) {
                vault = try await PostgresVault.open(try PostgresLocation(parsing: path), recoveryKey: recoveryKey, configuration: configuration)
                return (vault, nil)
            }
            #endif
            vault = try await SessionVault.open(at: path, recoveryKey: recoveryKey, configuration: configuration)
            return (vault, nil)
        }
    }

    /// Opens (or creates, per the configuration's mode) the vault at a file path or a PostgreSQL
    /// location (`postgres://…?session=NAME` or `pg:NAME` with `SESSION_VAULT_POSTGRES_URL`).
    static func open(_ location: String, passphrase: Passphrase, configuration: SessionVault.Configuration) async throws(VaultError) -> SessionVault {
        #if SESSION_VAULT_POSTGRES
        if PostgresLocation.isPostgresLocation(location) {
            return try await PostgresVault.open(try PostgresLocation(parsing: location), passphrase: passphrase, configuration: configuration)
        }
        #endif
        return try await SessionVault.open(at: location, passphrase: passphrase, configuration: configuration)
    }

    /// A location as it may be printed: a file path, or a PostgreSQL location without its password.
    static func describe(_ location: String) -> String {
        #if SESSION_VAULT_POSTGRES
        guard PostgresLocation.isPostgresLocation(location) else { return location }
        return (try? PostgresLocation(parsing: location).description) ?? "a PostgreSQL location"
        #else
        return location
        #endif
    }

    /// Writes a recovery key's display form and a newline to standard output, straight from guarded memory.
    static func printRecoveryKey(_ key: RecoveryKey) throws(VaultError) {
        do {
            try key.withDisplayForm { raw in
                try StandardStream.write(raw, to: StandardStream.output)
            }
        } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError(.io, "cannot write the recovery key: \(error)")
        }
        try StandardStream.write("\n", to: StandardStream.output)
    }

    /// Closes `vault` when `body` fails, then rethrows; on success the caller closes it.
    static func closing<R>(_ vault: SessionVault, _ body: () async throws -> R) async throws -> R {
        do {
            return try await body()
        } catch {
            try? await vault.close()
            throw error
        }
    }
}
