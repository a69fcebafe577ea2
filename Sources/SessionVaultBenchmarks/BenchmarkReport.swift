/// Every figure of one `session-vault bench` run. Medians at the top level (the names the JSON
/// output promises), spreads beside them.
public struct BenchmarkReport: Codable, Sendable {
    /// Raw `pwrite` + `fdatasync` of one 4 KiB page: the physical limit of durable commits.
    public var fdatasyncOpsPerSecond: Statistic
    /// The durable vault's store committing one unchanged sealed row per transaction, from the
    /// vault's executor: SQLite's WAL commit and sync with nothing of the vault above it. Between
    /// ``fdatasyncOpsPerSecond`` and ``durableSaveOpsPerSecond``, it shows which part of the gap is
    /// the storage layer's and which the vault's.
    public var storageCommitOpsPerSecond: Statistic
    /// Update-state saves with `synchronous=FULL`.
    public var durableSaveOpsPerSecond: Statistic
    /// The same durable saves called from a task that prefers the vault's executor
    /// (`Task(executorPreference: vault.taskExecutor)`): no thread hand-off per call.
    public var durableSaveOnVaultExecutorOpsPerSecond: Statistic
    /// Update-state saves with `synchronous=NORMAL`.
    public var normalSaveOpsPerSecond: Statistic
    /// Durable batches shaped like one incoming update (account state, 2 channels, 3 peers) through
    /// `write { }`: one transaction and one sync each, so close to ``durableSaveOpsPerSecond``.
    public var batchedUpdateOpsPerSecond: Statistic
    /// The same durable hot path with sealing replaced by the identity transform.
    public var durableIdentityOpsPerSecond: Statistic
    /// The same NORMAL hot path with sealing replaced by the identity transform.
    public var normalIdentityOpsPerSecond: Statistic
    /// Argon2id alone at the default profile, in milliseconds.
    public var kdfMilliseconds: Statistic
    /// A whole open (lock, read, unlock, authenticate everything) of a vault with 100 channels, default profile.
    public var openMilliseconds: Statistic
    /// Reading, opening and decoding every record of a session with 5 DCs and 10,000 channels.
    public var loadMilliseconds: Statistic
    /// The same load with 10,000 cached peers (and their lookup entries) in the vault.
    public var loadWithPeersMilliseconds: Statistic
    /// One lookup of a peer by username among 10,000, in microseconds.
    public var peerLookupMicroseconds: Statistic
    /// One new-channel upsert (insert + manifest, NORMAL) by number of channels already in the vault, in microseconds.
    public var upsertMicroseconds: [String: Statistic]
    /// The worst lateness of a 2 ms ticker on the cooperative pool while 1, 2, 4 and 8 vaults save
    /// durably at once, in milliseconds, by vault count (one sample per round; the JSON value is the worst).
    public var poolStallMilliseconds: [String: Statistic]
    /// The worst lateness of a 2 ms ticker on the main actor while the main actor opens a vault
    /// (default profile), in milliseconds (one sample per open; the JSON value is the worst).
    public var openMainActorStallMilliseconds: Statistic
    /// The worst lateness of the same 2 ms tickers, on the cooperative pool (`pool`) and on the main
    /// actor (`main_actor`), while nothing else of this process runs, in milliseconds: the machine's
    /// own noise floor for the two stall figures (the JSON value is the worst).
    public var idleStallMilliseconds: [String: Statistic]
    /// Peak resident memory of a process that opens and loads the 10,000-channel vault.
    public var peakRSSBytes: Int
    /// The Argon2id memory limit of that vault (the default profile).
    public var memlimitBytes: Int
    /// The directory measured.
    public var directory: String
    /// Whether this was a `--quick` run (fewer repetitions; smoke test only).
    public var quick: Bool
    /// libsodium, libsqlite3 and SessionVault versions.
    public var versions: [String: String]

    /// Ratios the targets in BENCHMARKS.md are stated in.
    public var ratios: [String: Double] {
        [
            "durable_vs_fdatasync": durableSaveOpsPerSecond.median / fdatasyncOpsPerSecond.median,
            "durable_on_vault_executor_vs_fdatasync": durableSaveOnVaultExecutorOpsPerSecond.median / fdatasyncOpsPerSecond.median,
            "storage_commit_vs_fdatasync": storageCommitOpsPerSecond.median / fdatasyncOpsPerSecond.median,
            "durable_vs_storage_commit": durableSaveOpsPerSecond.median / storageCommitOpsPerSecond.median,
            "durable_identity_vs_sealed": durableIdentityOpsPerSecond.median / durableSaveOpsPerSecond.median,
            "batched_update_vs_durable_save": batchedUpdateOpsPerSecond.median / durableSaveOpsPerSecond.median,
            "normal_identity_vs_sealed": normalIdentityOpsPerSecond.median / normalSaveOpsPerSecond.median,
            "open_minus_kdf_ms": openMilliseconds.median - kdfMilliseconds.median,
            "upsert_100000_vs_10": (upsertMicroseconds["100000"]?.median ?? 0) / (upsertMicroseconds["10"]?.median ?? 1),
            "peak_rss_minus_memlimit_mib": Double(peakRSSBytes - memlimitBytes) / 1_048_576,
        ]
    }

    enum CodingKeys: String, CodingKey {
        case fdatasyncOpsPerSecond = "fdatasync_ops_per_s"
        case storageCommitOpsPerSecond = "storage_commit_ops_per_s"
        case durableSaveOpsPerSecond = "durable_save_ops_per_s"
        case durableSaveOnVaultExecutorOpsPerSecond = "durable_save_on_vault_executor_ops_per_s"
        case normalSaveOpsPerSecond = "normal_save_ops_per_s"
        case batchedUpdateOpsPerSecond = "batched_update_ops_per_s"
        case durableIdentityOpsPerSecond = "durable_identity_ops_per_s"
        case normalIdentityOpsPerSecond = "normal_identity_ops_per_s"
        case kdfMilliseconds = "kdf_ms"
        case openMilliseconds = "open_ms"
        case loadMilliseconds = "load_ms"
        case loadWithPeersMilliseconds = "load_with_peers_ms"
        case peerLookupMicroseconds = "peer_lookup_us"
        case upsertMicroseconds = "upsert_us"
        case poolStallMilliseconds = "pool_stall_ms"
        case openMainActorStallMilliseconds = "open_main_actor_stall_ms"
        case idleStallMilliseconds = "idle_stall_ms"
        case peakRSSBytes = "peak_rss_bytes"
        case memlimitBytes = "memlimit_bytes"
        case directory, quick, versions
    }

    /// The JSON object `--json` prints: medians under the documented keys, `<key>_spread` objects
    /// ({median, min, max, runs}) beside them, and `ratios`.
    public func jsonObject() -> [String: Any] {
        func spread(_ statistic: Statistic) -> [String: Any] {
            ["median": statistic.median, "min": statistic.min, "max": statistic.max, "runs": statistic.runs]
        }
        var object: [String: Any] = [:]
        let figures: [(String, Statistic)] = [
            ("fdatasync_ops_per_s", fdatasyncOpsPerSecond), ("storage_commit_ops_per_s", storageCommitOpsPerSecond),
            ("durable_save_ops_per_s", durableSaveOpsPerSecond),
            ("durable_save_on_vault_executor_ops_per_s", durableSaveOnVaultExecutorOpsPerSecond),
            ("normal_save_ops_per_s", normalSaveOpsPerSecond), ("durable_identity_ops_per_s", durableIdentityOpsPerSecond),
            ("batched_update_ops_per_s", batchedUpdateOpsPerSecond),
            ("normal_identity_ops_per_s", normalIdentityOpsPerSecond), ("kdf_ms", kdfMilliseconds),
            ("open_ms", openMilliseconds), ("load_ms", loadMilliseconds),
            ("load_with_peers_ms", loadWithPeersMilliseconds), ("peer_lookup_us", peerLookupMicroseconds),
        ]
        for (key, statistic) in figures {
            object[key] = statistic.median
            object[key + "_spread"] = spread(statistic)
        }
        object["upsert_us"] = upsertMicroseconds.mapValues(\.median)
        object["upsert_us_spread"] = upsertMicroseconds.mapValues(spread)
        // Stalls are worst cases: the value is the worst sample, not the median.
        object["pool_stall_ms"] = poolStallMilliseconds.mapValues(\.max)
        object["pool_stall_ms_spread"] = poolStallMilliseconds.mapValues(spread)
        object["open_main_actor_stall_ms"] = openMainActorStallMilliseconds.max
        object["open_main_actor_stall_ms_spread"] = spread(openMainActorStallMilliseconds)
        object["idle_stall_ms"] = idleStallMilliseconds.mapValues(\.max)
        object["idle_stall_ms_spread"] = idleStallMilliseconds.mapValues(spread)
        object["peak_rss_bytes"] = peakRSSBytes
        object["memlimit_bytes"] = memlimitBytes
        object["ratios"] = ratios
        object["directory"] = directory
        object["quick"] = quick
        object["versions"] = versions
        return object
    }
}
