#if SESSION_VAULT_POSTGRES
import Foundation
import SessionVaultKit
import SessionVaultPostgres

/// The throw-away cluster `scripts/with-postgres.sh` starts for `make test`.
enum PostgresTestServer {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    /// `postgres://postgres@127.0.0.1:PORT/sessionvault`, or nil when no cluster runs.
    static var url: String? { environment["SESSION_VAULT_TEST_POSTGRES_URL"] }
    static var passwordFile: String? { environment["SESSION_VAULT_TEST_POSTGRES_PASSWORD_FILE"] }
    static var binDirectory: String? { environment["SESSION_VAULT_TEST_POSTGRES_BIN"] }

    /// The environment a location is parsed with: the test cluster's password file.
    static var locationEnvironment: [String: String] {
        var environment: [String: String] = [:]
        if let passwordFile { environment["SESSION_VAULT_POSTGRES_PASSWORD_FILE"] = passwordFile }
        return environment
    }

    /// A location for `session` in the test cluster.
    static func location(session: String, query: String = "") throws -> PostgresLocation {
        guard let url else { throw VaultError(.notFound, "no test PostgreSQL cluster (SESSION_VAULT_TEST_POSTGRES_URL)") }
        return try PostgresLocation(parsing: "\(url)?session=\(session)\(query)", environment: locationEnvironment)
    }

    /// The cluster's password (tests only: to run pg_dump and admin queries).
    static var password: String {
        (passwordFile.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
#endif
