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

    @Option(help: .hidden)
    var measureOpen: String?

    func run() async throws {
        try await CommandRunner.run {
            if let measureOpen {
                print(try await PeakMemoryProbe.openAndReportPeak(path: measureOpen))
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
}
