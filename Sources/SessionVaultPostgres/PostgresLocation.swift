#if SESSION_VAULT_POSTGRES
public import Foundation
public import SessionVaultKit

/// Where a session lives in PostgreSQL: server, database, credentials and the session's name.
///
/// Written as a URL, `postgres://user@host[:port]/database?session=NAME`, given either as the vault
/// location itself or through `SESSION_VAULT_POSTGRES_URL` (then the location may be just
/// `pg:NAME`). Query options: `session` (required), `sslmode` (`disable` (default), `prefer`,
/// `require`), `keyed_names` (`true`: store a keyed hash of the session name instead of the name),
/// `pool_size` (the most server connections this process opens to that server and database, shared
/// by every session opened there; 1–100, default 10), `pool` (a name of 1–64 letters, digits, `-` or
/// `_`: sessions whose locations name different pools never share connections, so that a stuck group
/// of sessions cannot exhaust the connections of another; default: the unnamed pool), `lease_seconds` (the lease duration, 2–3600,
/// default 15: see docs/LEASES.md), `prepared_statements` (`true` (default): saves run as statements
/// prepared once per connection; `false` for a pooler that does not carry protocol-level prepared
/// statements, such as PgBouncer before 1.21 or with `max_prepared_statements = 0`).
/// The password comes from `SESSION_VAULT_POSTGRES_PASSWORD_FILE`, `SESSION_VAULT_POSTGRES_PASSWORD`
/// or the URL, in that order, and is never logged or printed (``description`` omits it).
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    /// How the connection uses TLS.
    public enum TLSMode: String, Sendable, Hashable {
        /// Plain TCP (loopback, or a trusted network).
        case disable
        /// TLS when the server offers it.
        case prefer
        /// TLS or no connection.
        case require
    }

    /// The server's host name or address.
    public var host: String
    /// The server's port (5432 by default).
    public var port: Int
    /// The database user.
    public var username: String
    /// The database password, if any. Never printed.
    public var password: String?
    /// The database name (defaults to the user name).
    public var database: String
    /// The session's name, unique in the database.
    public var sessionName: String
    /// TLS mode.
    public var tls: TLSMode
    /// Store a keyed hash of the session name (keyed by `SESSION_VAULT_POSTGRES_NAME_KEY[_FILE]`).
    public var keyedNames: Bool
    /// The most connections the process's shared pool for this server and database opens (`pool_size`).
    public var poolSize: Int
    /// The name of the pool this session's connections come from (`pool`); empty for the unnamed pool.
    /// Sessions share a pool only when server, database, user, TLS mode, size and name all match.
    public var poolName: String
    /// How long a lease lasts without renewal (`lease_seconds`); renewed every third of it.
    public var leaseDuration: Duration
    /// Whether saves run as prepared statements (`prepared_statements`, default true): parsed and
    /// planned once per connection instead of on every save.
    public var preparedStatements: Bool

    /// The default ``poolSize``.
    public static let defaultPoolSize = 10
    /// The default ``leaseDuration``.
    public static let defaultLeaseDuration: Duration = .seconds(15)

    /// Whether `text` names a PostgreSQL location rather than a file path.
    public static func isPostgresLocation(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") || text.hasPrefix("pg:")
    }

    /// Parses a location, consulting the environment for `pg:NAME`, the password and the name key.
    /// - Throws: ``VaultError/Code/invalidArgument`` with a message that never repeats a password.
    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(VaultError) {
        var urlText = text
        var sessionOverride: String?
        if text.hasPrefix("pg:") {
            guard let base = environment["SESSION_VAULT_POSTGRES_URL"], !base.isEmpty else {
                throw VaultError(.invalidArgument, "'pg:NAME' needs SESSION_VAULT_POSTGRES_URL to name the server")
            }
            urlText = base
            sessionOverride = String(text.dropFirst(3))
        }
        guard let components = URLComponents(string: urlText),
            components.scheme == "postgres" || components.scheme == "postgresql",
            let host = components.host, !host.isEmpty
        else {
            throw VaultError(.invalidArgument, "not a PostgreSQL URL (expected postgres://user@host/database?session=NAME)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw VaultError(.invalidArgument, "the PostgreSQL URL names no user")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.username : (path.removingPercentEncoding ?? path)
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        guard let session = sessionOverride ?? query["session"], !session.isEmpty, session.utf8.count <= 512 else {
            throw VaultError(.invalidArgument, "the PostgreSQL location names no session (add ?session=NAME)")
        }
        self.sessionName = session
        guard let tls = TLSMode(rawValue: query["sslmode"] ?? "disable") else {
            throw VaultError(.invalidArgument, "sslmode must be disable, prefer or require")
        }
        self.tls = tls
        self.keyedNames = ["1", "true", "yes"].contains(query["keyed_names"]?.lowercased() ?? "")
        if let text = query["pool_size"] {
            guard let size = Int(text), (1...100).contains(size) else {
                throw VaultError(.invalidArgument, "pool_size must be a whole number from 1 to 100")
            }
            self.poolSize = size
        } else {
            self.poolSize = Self.defaultPoolSize
        }
        let poolName = query["pool"] ?? ""
        guard poolName.utf8.count <= 64,
            poolName.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }),
            query["pool"] == nil || !poolName.isEmpty
        else {
            throw VaultError(.invalidArgument, "pool must be a name of 1 to 64 letters, digits, '-' or '_'")
        }
        self.poolName = poolName
        if let text = query["lease_seconds"] {
            guard let seconds = Double(text), seconds.isFinite, (2...3600).contains(seconds) else {
                throw VaultError(.invalidArgument, "lease_seconds must be a number of seconds from 2 to 3600")
            }
            self.leaseDuration = .milliseconds(Int64((seconds * 1000).rounded()))
        } else {
            self.leaseDuration = Self.defaultLeaseDuration
        }
        switch query["prepared_statements"]?.lowercased() {
        case nil, "true", "1", "yes", "on": self.preparedStatements = true
        case "false", "0", "no", "off": self.preparedStatements = false
        default: throw VaultError(.invalidArgument, "prepared_statements must be true or false")
        }
        if let file = environment["SESSION_VAULT_POSTGRES_PASSWORD_FILE"], !file.isEmpty {
            guard let data = FileManager.default.contents(atPath: file), var text = String(data: data, encoding: .utf8) else {
                throw VaultError(.invalidArgument, "cannot read SESSION_VAULT_POSTGRES_PASSWORD_FILE (\(file))")
            }
            if text.hasSuffix("\n") { text.removeLast() }
            self.password = text
        } else if let password = environment["SESSION_VAULT_POSTGRES_PASSWORD"]
            ?? ProcessHardening.stashedText("SESSION_VAULT_POSTGRES_PASSWORD")
        {
            self.password = password
        } else {
            self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        }
    }

    /// `postgres://user@host:port/database?session=NAME` — never the password.
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)?session=\(sessionName)\(keyedNames ? "&keyed_names=true" : "")"
    }
}
#endif
