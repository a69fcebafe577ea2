import Foundation

/// The human-readable table of a ``BenchmarkReport``, with each target beside its measured ratio.
public enum BenchmarkTable {
    /// Renders the table.
    public static func render(_ report: BenchmarkReport) -> String {
        func number(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        func row(_ name: String, _ statistic: Statistic, _ unit: String, digits: Int = 1) -> String {
            let spread = "\(number(statistic.min, digits))–\(number(statistic.max, digits))"
            return name.padding(toLength: 44, withPad: " ", startingAt: 0)
                + "\(number(statistic.median, digits)) \(unit)".padding(toLength: 18, withPad: " ", startingAt: 0)
                + "(\(spread), \(statistic.runs) runs)"
        }
        var lines = [
            "session-vault bench — \(report.directory)\(report.quick ? " (QUICK: smoke test, not a measurement)" : "")",
            "versions: " + report.versions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
            "",
            row("pwrite+fdatasync 4 KiB (physical limit)", report.fdatasyncOpsPerSecond, "ops/s", digits: 0),
            row("store commit alone (SQLite WAL, FULL)", report.storageCommitOpsPerSecond, "ops/s", digits: 0),
            row("durable save (synchronous=FULL)", report.durableSaveOpsPerSecond, "ops/s", digits: 0),
            row("  … called on the vault's executor", report.durableSaveOnVaultExecutorOpsPerSecond, "ops/s", digits: 0),
            row("durable save, identity baseline", report.durableIdentityOpsPerSecond, "ops/s", digits: 0),
            row("batch: account + 2 channels + 3 peers", report.batchedUpdateOpsPerSecond, "ops/s", digits: 0),
            row("save (synchronous=NORMAL)", report.normalSaveOpsPerSecond, "ops/s", digits: 0),
            row("save NORMAL, identity baseline", report.normalIdentityOpsPerSecond, "ops/s", digits: 0),
            row("Argon2id alone (default: 3, 64 MiB)", report.kdfMilliseconds, "ms"),
            row("whole open, 100 channels", report.openMilliseconds, "ms"),
            row("load 5 DCs + 10,000 channels", report.loadMilliseconds, "ms"),
            row("  … plus 10,000 peers", report.loadWithPeersMilliseconds, "ms"),
            row("peer lookup by username (of 10,000)", report.peerLookupMicroseconds, "µs"),
        ]
        for size in report.upsertMicroseconds.keys.sorted(by: { Int($0)! < Int($1)! }) {
            lines.append(row("new-channel upsert at \(size) channels", report.upsertMicroseconds[size]!, "µs"))
        }
        for count in report.poolStallMilliseconds.keys.sorted(by: { Int($0)! < Int($1)! }) {
            lines.append(row("pool stall (2 ms ticker), \(count) vault\(count == "1" ? "" : "s") saving", report.poolStallMilliseconds[count]!, "ms"))
        }
        lines.append(row("main-actor stall during an open", report.openMainActorStallMilliseconds, "ms"))
        if let idle = report.idleStallMilliseconds["pool"] { lines.append(row("  … same pool ticker, nothing running", idle, "ms")) }
        if let idle = report.idleStallMilliseconds["main_actor"] { lines.append(row("  … same main-actor ticker, nothing running", idle, "ms")) }
        lines.append(
            "peak RSS open+load".padding(toLength: 44, withPad: " ", startingAt: 0)
                + "\(report.peakRSSBytes / 1_048_576) MiB (Argon2id memlimit \(report.memlimitBytes / 1_048_576) MiB)"
        )
        let ratios = report.ratios
        let worstPoolStall = report.poolStallMilliseconds["8"]?.max ?? 0
        func check(_ ok: Bool) -> String { ok ? "met" : "NOT MET" }
        lines += [
            "",
            "targets (ratios measured in this run):",
            "  durable save / fdatasync        \(number(ratios["durable_vs_fdatasync"]!, 2))   target ≥ 0.80  \(check(ratios["durable_vs_fdatasync"]! >= 0.8))",
            "  … on the vault's executor       \(number(ratios["durable_on_vault_executor_vs_fdatasync"]!, 2))   target ≥ 0.80  \(check(ratios["durable_on_vault_executor_vs_fdatasync"]! >= 0.8))",
            "  (store commit / fdatasync       \(number(ratios["storage_commit_vs_fdatasync"]!, 2))   the storage layer's share of the gap;",
            "   durable save / store commit    \(number(ratios["durable_vs_storage_commit"]!, 2))   the vault's share)",
            "  identity / sealed (durable)     \(number(ratios["durable_identity_vs_sealed"]!, 3))  target ≤ 1.05  \(check(ratios["durable_identity_vs_sealed"]! <= 1.05))",
            "  identity / sealed (NORMAL)      \(number(ratios["normal_identity_vs_sealed"]!, 3))  target ≤ 1.05  \(check(ratios["normal_identity_vs_sealed"]! <= 1.05))",
            "  open − Argon2id                 \(number(ratios["open_minus_kdf_ms"]!, 1)) ms  target ≤ 5 ms  \(check(ratios["open_minus_kdf_ms"]! <= 5))",
            "  upsert 100,000 / upsert 10      \(number(ratios["upsert_100000_vs_10"]!, 2))   target ≤ 2     \(check(ratios["upsert_100000_vs_10"]! <= 2))",
            "  pool stall, 8 vaults saving     \(number(worstPoolStall, 1)) ms  target ≤ 10 ms  \(check(worstPoolStall <= 10))",
            "  main-actor stall during open    \(number(report.openMainActorStallMilliseconds.max, 1)) ms  target ≤ 10 ms  \(check(report.openMainActorStallMilliseconds.max <= 10))",
            "  peak RSS − memlimit             \(number(ratios["peak_rss_minus_memlimit_mib"]!, 1)) MiB  target ≤ 40 MiB  \(check(ratios["peak_rss_minus_memlimit_mib"]! <= 40))",
        ]
        return lines.joined(separator: "\n")
    }
}
