/// Where a vault keeps its sealed records.
public enum StorageKind: String, Hashable, Sendable, CustomStringConvertible {
    /// A SQLite file on disk.
    case sqlite
    /// Process memory only: nothing survives the process. Used for nil paths and as the fallback
    /// when libsqlite3 cannot be loaded.
    case memory
    /// A PostgreSQL database (the `SessionVaultPostgres` module).
    case postgres
    /// Another backend outside this module.
    case external

    /// `sqlite`, `memory`, `postgres` or `external`.
    public var description: String { rawValue }
}
