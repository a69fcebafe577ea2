import SessionVaultKit

extension VaultBenchmark {
    /// How many vaults save at once in the pool-stall measurement.
    static let stallVaultCounts = [1, 2, 4, 8]

    /// Durable saves each vault makes per round of the pool-stall measurement.
    var stallSavesPerVault: Int { quick ? 20 : 100 }

    /// Rounds per vault count of the pool-stall measurement.
    var stallRounds: Int { quick ? 1 : 3 }

    /// The worst lateness, in milliseconds, of a 2 ms ticker on the cooperative pool while `count`
    /// vaults each make ``stallSavesPerVault`` durable saves at the same time; one sample per round.
    func poolStallMilliseconds(vaults count: Int, in work: String) async throws -> [Double] {
        var vaults: [SessionVault] = []
        for index in 0..<count {
            vaults.append(try await makeVault(work + "/stall-\(count)-\(index)", durability: .full, identity: false))
        }
        let saves = stallSavesPerVault
        var samples: [Double] = []
        for _ in 0..<stallRounds {
            let result = try await StallProbe.onCooperativePool {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for vault in vaults {
                        group.addTask {
                            for i in 1...saves {
                                try await vault.saveUpdateState(pts: Int32(i), qts: 0, date: 1_764_000_000 + Int64(i), seq: Int32(i))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            samples.append(result.worstMilliseconds)
        }
        for vault in vaults { try await vault.delete() }
        return samples
    }

    /// The same two tickers while nothing else of this process runs, for `window` each, once per
    /// round: the machine's own noise (other processes, a virtual CPU that is not scheduled), to
    /// read the stalls against.
    static func idleStallMilliseconds(rounds: Int, window: Duration) async throws -> (pool: [Double], mainActor: [Double]) {
        var pool: [Double] = []
        var mainActor: [Double] = []
        for _ in 0..<rounds {
            pool.append(try await StallProbe.onCooperativePool { try await Task.sleep(for: window) }.worstMilliseconds)
            mainActor.append(try await idleMainActorStall(window: window))
        }
        return (pool, mainActor)
    }

    @MainActor
    private static func idleMainActorStall(window: Duration) async throws -> Double {
        try await StallProbe.onMainActor { @MainActor in try await Task.sleep(for: window) }.worstMilliseconds
    }

    /// The worst lateness, in milliseconds, of a 2 ms ticker on the main actor while the main actor
    /// opens (and closes) the vault at `path` with the default profile; one sample per open.
    @MainActor
    static func openMainActorStallMilliseconds(path: String, passphrase: Passphrase, opens: Int) async throws -> [Double] {
        var samples: [Double] = []
        for _ in 0..<opens {
            var configuration = SessionVault.Configuration()
            configuration.mode = .openExisting
            let result = try await StallProbe.onMainActor { @MainActor in
                let vault = try await SessionVault.open(at: path, passphrase: passphrase, configuration: configuration)
                try await vault.close()
            }
            samples.append(result.worstMilliseconds)
        }
        return samples
    }
}
