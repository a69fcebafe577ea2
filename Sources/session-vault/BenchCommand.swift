import ArgumentParser
import Foundation
import SessionVaultKit
import SessionVaultBenchmarks
#if SESSION_VAULT_POSTGRES
import SessionVaultPostgres
#endif

/// `session-vault bench`: what encryption costs, as ratios measured in one run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure durable saves, sealing overhead, unlock, load, scale and memory on one file system.",
        discussion: """
            All figures come from one run in a private temporary folder inside --dir (default: the current \
            directory), as medians with their spread. Compare ratios, not absolute numbers: they are what \
            BENCHMARKS.md states its targets in. --quick is a smoke test with fewer repetitions.
            """
    )

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "A directory on the file system to measure.")
    var dir: String = "."

    @Flag(help: "Fewer repetitions (a smoke test, not a measurement).")
    var quick = false

    @Option(help: "Also measure durable saves against this PostgreSQL server (postgres://user@host/db; password from SESSION_VAULT_POSTGRES_PASSWORD_FILE).")
    var postgres: String?

    @Option(help: "With --postgres: measure a fleet of this many sessions in one process instead (docs/LEASES.md, BENCHMARKS.md).")
    var sessions: Int?

    @Option(help: "With --sessions: the pool's size (server connections).")
    var poolSize: Int = 20

    @Option(help: "With --sessions: seconds of saves, and of the baseline.")
    var seconds: Double = 10

    @Option(help: .hidden)
    var measureOpen: String?

    func validate() throws {
        if let sessions {
            guard postgres != nil else { throw ValidationError("--sessions needs --postgres URL") }
            guard (1...100_000).contains(sessions) else { throw ValidationError("--sessions is 1 to 100000") }
        }
        guard (1...100).contains(poolSize) else { throw ValidationError("--pool-size is 1 to 100") }
        guard seconds >= 1, seconds <= 3600 else { throw ValidationError("--seconds is 1 to 3600") }
    }

    func run() async throws {
        try await CommandRunner.run {
            if let measureOpen {
                print(try await PeakMemoryProbe.openAndReportPeak(path: measureOpen))
                return
            }
            if let sessions, let postgres {
                try await runFleet(url: postgres, sessions: sessions)
                return
            }
            let directory = URL(fileURLWithPath: dir).standardizedFileURL.path
            let benchmark = VaultBenchmark(directory: directory, quick: quick)
            let showProgress = isatty(2) == 1
            let report = try await benchmark.run { line in
                if showProgress { FileHandleStderr.write("… \(line)\n") }
            }
            var postgresRate: (median: Double, min: Double, max: Double, rounds: Int)?
            if let postgres {
                #if SESSION_VAULT_POSTGRES
                if showProgress { FileHandleStderr.write("… durable saves against PostgreSQL\n") }
                postgresRate = try await PostgresBenchmark.durableSaveRate(url: postgres, saves: quick ? 40 : 300, rounds: quick ? 3 : 7)
                #else
                throw VaultError(.invalidArgument, "this build has no PostgreSQL support; cannot measure \(postgres.prefix(0))a server")
                #endif
            }
            if json {
                var object = report.jsonObject()
                if let postgresRate {
                    object["postgres_durable_save_ops_per_s"] = postgresRate.median
                    object["postgres_durable_save_ops_per_s_spread"] = [
                        "median": postgresRate.median, "min": postgresRate.min, "max": postgresRate.max, "runs": postgresRate.rounds,
                    ]
                }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(BenchmarkTable.render(report))
                if let postgresRate {
                    print(
                        "durable save, PostgreSQL (same hot path)".padding(toLength: 44, withPad: " ", startingAt: 0)
                            + "\(Int(postgresRate.median)) ops/s (\(Int(postgresRate.min))–\(Int(postgresRate.max)), \(postgresRate.rounds) runs); "
                            + "SQLite durable \(Int(report.durableSaveOpsPerSecond.median)) ops/s"
                    )
                }
            }
        }
    }

    /// `--postgres URL --sessions N`: the fleet figures only.
    private func runFleet(url: String, sessions: Int) async throws(VaultError) {
        #if SESSION_VAULT_POSTGRES
        let showProgress = isatty(2) == 1
        let report = try await PostgresFleetBenchmark.run(url: url, sessions: sessions, poolSize: poolSize, seconds: seconds) { line in
            if showProgress { FileHandleStderr.write("… \(line)\n") }
        }
        if json {
            guard let data = try? JSONSerialization.data(withJSONObject: report.jsonObject, options: [.prettyPrinted, .sortedKeys]) else {
                throw VaultError(.io, "cannot encode the report")
            }
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (key, value) in report.jsonObject.sorted(by: { $0.key < $1.key }) {
                print(key.padding(toLength: 32, withPad: " ", startingAt: 0) + "\(value)")
            }
        }
        #else
        throw VaultError(.invalidArgument, "this build has no PostgreSQL support; cannot measure \(url.prefix(0))a fleet")
        #endif
    }
}
