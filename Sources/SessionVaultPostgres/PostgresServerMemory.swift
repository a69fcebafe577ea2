#if SESSION_VAULT_POSTGRES
import Foundation

/// The memory of a set of PostgreSQL server backends, read from `/proc/<pid>/smaps_rollup` (Linux),
/// which works only when the server runs on this machine and this user may read its processes (the
/// server's owner, or root). `bench --postgres` sums it over the pool's backends (docs: BENCHMARKS.md).
public struct PostgresServerMemory: Sendable, Equatable {
    /// Backends measured.
    public var backends: Int
    /// Sum of their resident set sizes (shared pages, such as `shared_buffers`, counted in each).
    public var rssBytes: Int
    /// Sum of their proportional set sizes (each shared page divided among the processes mapping it).
    public var pssBytes: Int
    /// Sum of their private pages (clean and dirty): what the server frees when they exit.
    public var privateBytes: Int

    /// Reads `pids`' memory; a string saying why not (remote server, a pid that is not a `postgres`
    /// process of this machine, no permission) when any of them cannot be read.
    public static func read(pids: [Int32], host: String) -> Result<PostgresServerMemory, Note> {
        guard ["127.0.0.1", "::1", "localhost"].contains(host.lowercased()) || host.hasPrefix("/") else {
            return .failure(Note("the server (\(host)) is not on this machine's loopback: its processes cannot be read"))
        }
        guard !pids.isEmpty else { return .failure(Note("no backend of the pool was connected")) }
        var total = PostgresServerMemory(backends: 0, rssBytes: 0, pssBytes: 0, privateBytes: 0)
        for pid in pids {
            guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                comm.trimmingCharacters(in: .whitespacesAndNewlines) == "postgres"
            else {
                return .failure(Note("backend pid \(pid) is not a postgres process of this machine (a server in a container or elsewhere?)"))
            }
            guard let rollup = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) else {
                return .failure(Note("cannot read /proc/\(pid)/smaps_rollup (run as the server's owner or root)"))
            }
            let fields = parse(rollup)
            guard let rss = fields["Rss"], let pss = fields["Pss"] else {
                return .failure(Note("/proc/\(pid)/smaps_rollup has no Rss or Pss line"))
            }
            total.backends += 1
            total.rssBytes += rss
            total.pssBytes += pss
            total.privateBytes += (fields["Private_Clean"] ?? 0) + (fields["Private_Dirty"] ?? 0)
        }
        return .success(total)
    }

    /// `Name:   123 kB` lines, in bytes.
    static func parse(_ text: String) -> [String: Int] {
        var fields: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            guard parts.count == 3, parts[2] == "kB", let kilobytes = Int(parts[1]) else { continue }
            fields[String(parts[0])] = kilobytes * 1024
        }
        return fields
    }

    /// Why the memory could not be read.
    public struct Note: Error, Sendable, Equatable {
        /// One line.
        public var message: String
        init(_ message: String) { self.message = message }
    }
}
#endif
