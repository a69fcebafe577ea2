#if SESSION_VAULT_POSTGRES
public import SessionVaultKit

/// `session-vault bench --postgres URL`: durable hot-path saves against a PostgreSQL server, beside
/// the SQLite figures of the same run.
public enum PostgresBenchmark {
    /// Median, minimum and maximum update-state saves per second over `rounds` rounds of `saves`,
    /// on a throw-away session (`bench-<random>`) that is deleted afterwards.
    public static func durableSaveRate(
        url: String,
        saves: Int,
        rounds: Int
    ) async throws(VaultError) -> (median: Double, min: Double, max: Double, rounds: Int) {
        let separator = url.contains("?") ? "&" : "?"
        let location = try PostgresLocation(parsing: "\(url)\(separator)session=bench-\(UInt64.random(in: 0...UInt64.max))")
        var configuration = SessionVault.Configuration()
        configuration.mode = .create
        configuration.kdf = .interactive
        let vault = try await PostgresVault.open(
            location,
            passphrase: try Passphrase(copying: "session-vault bench passphrase (synthetic data)"),
            configuration: configuration
        )
        var rates: [Double] = []
        do throws(VaultError) {
            try await vault.save(Session(dataCenters: [DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.51", port: 443), authKey: try AuthKey.random())]))
            try await vault.saveUpdateState(pts: 0, qts: 0, date: 0, seq: 0)
            var counter: Int32 = 0
            for _ in 0..<rounds {
                let start = ContinuousClock.now
                for _ in 0..<saves {
                    counter += 1
                    try await vault.saveUpdateState(pts: counter, qts: counter, date: Int64(counter), seq: counter)
                }
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                rates.append(Double(saves) / seconds)
            }
        } catch {
            try? await vault.delete()
            throw error
        }
        try await vault.delete()
        rates.sort()
        return (rates[rates.count / 2], rates.first ?? 0, rates.last ?? 0, rates.count)
    }
}
#endif
