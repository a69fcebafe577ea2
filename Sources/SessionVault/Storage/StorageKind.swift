/// Where a vault keeps its sealed records.
public enum StorageKind: String, Hashable, Sendable, CustomStringConvertible {
    /// A SQLite file on disk.
    case sqlite
    /// Process memory only: nothing survives the process. Used for nil paths and as the fallback
    /// when libsqlite3 cannot be loaded.
    case memory
    /// A backend outside this module (for example PostgreSQL).
    case external

    /// `sqlite`, `memory` or `external`.
    public var description: String { rawValue }
}
