/// Versions of SessionVault and of the libraries it runs on, for `--version` and audits.
public enum SessionVaultInfo {
    /// The SessionVault release.
    public static let version = "0.2.0"

    /// The vault format version this build writes (it also reads every earlier one: see ``StoredHeader/readableFormatVersions``).
    public static var formatVersion: UInt32 { StoredHeader.currentFormatVersion }

    /// The linked libsodium version, e.g. `1.0.18`.
    public static var libsodiumVersion: String { Sodium.versionString }

    /// The run-time libsqlite3 version, or nil when it cannot be loaded (memory-only mode).
    public static var sqliteVersion: String? { try? SQLiteLibrary.load().get().version }

    /// One line per component: `session-vault 0.2.0 (format 1; libsodium 1.0.18; libsqlite3 3.40.1)`.
    public static var versionDescription: String {
        let sqlite = sqliteVersion.map { "libsqlite3 \($0)" } ?? "libsqlite3 unavailable: memory-only"
        return "session-vault \(version) (format \(formatVersion); libsodium \(libsodiumVersion); \(sqlite))"
    }
}
