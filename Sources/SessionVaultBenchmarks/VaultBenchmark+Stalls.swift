import SessionVault

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
