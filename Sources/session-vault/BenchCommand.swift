import ArgumentParser
import Foundation
import SessionVault
import SessionVaultBenchmarks

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
            if json {
                let data = try JSONSerialization.data(withJSONObject: report.jsonObject(), options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(BenchmarkTable.render(report))
            }
        }
    }
}
