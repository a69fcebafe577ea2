import Foundation
internal import CSodium
@_spi(Benchmark) import SessionVaultKit
import SessionVaultOperations

/// `session-vault bench`: every figure of `BENCHMARKS.md`, measured in one run on one directory.
///
/// Each figure is repeated and reported as a median with its spread; the real and the baseline
/// (identity-transform) hot paths alternate round by round so that drift in the machine hits both.
public struct VaultBenchmark: Sendable {
    /// The directory whose file system is measured (a private temporary folder is made inside it).
    public var directory: String
    /// Fewer repetitions: a smoke test that keeps the benchmark working, not a measurement.
    public var quick: Bool
    /// The passphrase of the throw-away vaults (synthetic data only).
    static let passphraseText = "session-vault bench passphrase (synthetic data)"

    /// A benchmark of `directory`.
    public init(directory: String, quick: Bool) {
        self.directory = directory
        self.quick = quick
    }

    var rounds: Int { quick ? 3 : 7 }
    var savesPerRound: Int { quick ? 40 : 300 }

    /// Runs everything. `progress` receives one line per step (for a terminal).
    public func run(progress: (String) -> Void) async throws -> BenchmarkReport {
        let work = try makeWorkDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }

        progress("raw pwrite+fdatasync of a 4 KiB page")
        var fdatasync: [Double] = []
        progress("durable and NORMAL hot paths, sealed and identity, and the store's commit alone, \(rounds) rounds of \(savesPerRound)")
        var durable: [Double] = []
        var normal: [Double] = []
        var durableIdentity: [Double] = []
        var normalIdentity: [Double] = []
        var batched: [Double] = []
        var durableOnVaultExecutor: [Double] = []
        var storageCommit: [Double] = []
        let sealedFull = try await makeVault(work + "/sealed-full", durability: .full, identity: false)
        let identityFull = try await makeVault(work + "/identity-full", durability: .full, identity: true)
        let sealedNormal = try await makeVault(work + "/sealed-normal", durability: .normal, identity: false)
        let identityNormal = try await makeVault(work + "/identity-normal", durability: .normal, identity: true)
        for round in 0..<rounds {
            fdatasync.append(try Self.fdatasyncRate(path: work + "/page.bin", operations: savesPerRound))
            storageCommit.append(try await sealedFull.storageCommitRate(commits: savesPerRound))
            // Alternate which goes first, so neither always runs on a warmer cache.
            let pairs: [(SessionVault, Bool)] =
                round % 2 == 0
                ? [(sealedFull, false), (identityFull, true), (sealedNormal, false), (identityNormal, true)]
                : [(identityFull, true), (sealedFull, false), (identityNormal, true), (sealedNormal, false)]
            if round % 2 == 0 {
                durableOnVaultExecutor.append(try await Self.hotPathRateOnVaultExecutor(sealedFull, saves: savesPerRound))
            }
            for (vault, isIdentity) in pairs {
                let rate = try await Self.hotPathRate(vault, saves: savesPerRound * (vault === sealedNormal || vault === identityNormal ? 4 : 1))
                switch (vault === sealedFull || vault === identityFull, isIdentity) {
                case (true, false): durable.append(rate)
                case (true, true): durableIdentity.append(rate)
                case (false, false): normal.append(rate)
                case (false, true): normalIdentity.append(rate)
                }
            }
            if round % 2 == 1 {
                durableOnVaultExecutor.append(try await Self.hotPathRateOnVaultExecutor(sealedFull, saves: savesPerRound))
            }
            batched.append(try await Self.batchedUpdateRate(sealedFull, updates: savesPerRound, round: round))
        }
        for vault in [sealedFull, identityFull, sealedNormal, identityNormal] { try await vault.delete() }

        progress("Argon2id alone and a whole open (default profile, 100 channels)")
        var kdf: [Double] = []
        var open: [Double] = []
        let openPath = work + "/open.session"
        let passphrase = try Passphrase(copying: Self.passphraseText)
        do {
            var configuration = SessionVault.Configuration()
            configuration.mode = .create
            let vault = try await SessionVault.open(at: openPath, passphrase: passphrase, configuration: configuration)
            try await vault.save(try Self.session(dataCenters: 3, channels: 100))
            try await vault.close()
        }
        for _ in 0..<(quick ? 2 : 5) {
            kdf.append(try Self.argon2Milliseconds(parameters: .default))
            var configuration = SessionVault.Configuration()
            configuration.mode = .openExisting
            let start = ContinuousClock.now
            let vault = try await SessionVault.open(at: openPath, passphrase: passphrase, configuration: configuration)
            open.append((ContinuousClock.now - start).seconds * 1000)
            try await vault.close()
        }

        progress("main-actor stall during an open called from the main actor")
        let openStall = try await Self.openMainActorStallMilliseconds(path: openPath, passphrase: passphrase, opens: quick ? 2 : 5)

        progress("the same tickers with nothing running (the machine's own noise)")
        let idleStall = try await Self.idleStallMilliseconds(rounds: quick ? 2 : 5, window: .milliseconds(300))

        var poolStall: [String: Statistic] = [:]
        for count in Self.stallVaultCounts {
            progress("cooperative-pool stall while \(count) vault\(count == 1 ? "" : "s") save durably")
            poolStall[String(count)] = Statistic(try await poolStallMilliseconds(vaults: count, in: work))
        }

        progress("load of 5 DCs and 10,000 channels")
        let loadPath = work + "/load.session"
        var load: [Double] = []
        do {
            var configuration = SessionVault.Configuration()
            configuration.mode = .create
            let vault = try await SessionVault.open(at: loadPath, passphrase: passphrase, configuration: configuration)
            try await vault.save(try Self.session(dataCenters: 5, channels: 10_000))
            for _ in 0..<(quick ? 2 : 7) {
                let start = ContinuousClock.now
                try await vault.authenticateStoredRecords()
                load.append((ContinuousClock.now - start).seconds * 1000)
            }
            try await vault.close()
        }

        progress("load with 10,000 peers, and a lookup by username")
        let peersPath = work + "/peers.session"
        var loadWithPeers: [Double] = []
        var lookup: [Double] = []
        do {
            var configuration = SessionVault.Configuration()
            configuration.mode = .create
            let vault = try await SessionVault.open(at: peersPath, passphrase: passphrase, configuration: configuration)
            try await vault.save(try Self.session(dataCenters: 5, channels: 10_000))
            try await vault.upsertPeers(Self.peers(count: 10_000))
            for _ in 0..<(quick ? 2 : 7) {
                let start = ContinuousClock.now
                try await vault.authenticateStoredRecords()
                loadWithPeers.append((ContinuousClock.now - start).seconds * 1000)
            }
            let lookups = quick ? 200 : 2_000
            for round in 0..<(quick ? 2 : 5) {
                let start = ContinuousClock.now
                for i in 0..<lookups {
                    guard try await vault.peer(username: "bench_peer_\((i * 7_919 + round) % 10_000)") != nil else {
                        throw VaultError(.corrupt, "a benchmark peer was not found by username")
                    }
                }
                lookup.append((ContinuousClock.now - start).seconds * 1_000_000 / Double(lookups))
            }
            try await vault.close()
        }

        progress("peak RSS of a process that opens and loads it")
        let peak = try PeakMemoryProbe.measureOpen(path: loadPath, passphrase: Self.passphraseText)

        var upsert: [String: Statistic] = [:]
        for size in [10, 1_000, 100_000] {
            progress("new-channel upsert with \(size) channels")
            upsert[String(size)] = Statistic(try await upsertMicroseconds(channels: size, in: work))
        }

        return BenchmarkReport(
            fdatasyncOpsPerSecond: Statistic(fdatasync),
            storageCommitOpsPerSecond: Statistic(storageCommit),
            durableSaveOpsPerSecond: Statistic(durable),
            durableSaveOnVaultExecutorOpsPerSecond: Statistic(durableOnVaultExecutor),
            normalSaveOpsPerSecond: Statistic(normal),
            batchedUpdateOpsPerSecond: Statistic(batched),
            durableIdentityOpsPerSecond: Statistic(durableIdentity),
            normalIdentityOpsPerSecond: Statistic(normalIdentity),
            kdfMilliseconds: Statistic(kdf),
            openMilliseconds: Statistic(open),
            loadMilliseconds: Statistic(load),
            loadWithPeersMilliseconds: Statistic(loadWithPeers),
            peerLookupMicroseconds: Statistic(lookup),
            upsertMicroseconds: upsert,
            poolStallMilliseconds: poolStall,
            openMainActorStallMilliseconds: Statistic(openStall),
            idleStallMilliseconds: ["pool": Statistic(idleStall.pool), "main_actor": Statistic(idleStall.mainActor)],
            peakRSSBytes: peak,
            memlimitBytes: Int(KDFParameters.default.memLimit),
            directory: directory,
            quick: quick,
            versions: [
                "session_vault": SessionVaultInfo.version,
                "libsodium": SessionVaultInfo.libsodiumVersion,
                "libsqlite3": SessionVaultInfo.sqliteVersion ?? "unavailable",
            ]
        )
    }

    // MARK: - Pieces

    private func makeWorkDirectory() throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VaultError(.notFound, "the benchmark directory \(directory) does not exist")
        }
        let work = directory + "/session-vault-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        return work
    }

    func makeVault(_ path: String, durability: SQLiteRecordStore.Durability, identity: Bool) async throws -> SessionVault {
        var configuration = SessionVault.Configuration()
        configuration.mode = .create
        configuration.durability = durability
        configuration.kdf = .interactive
        let passphrase = try Passphrase(copying: Self.passphraseText)
        let vault: SessionVault
        if identity {
            vault = try await SessionVault.createBenchmarkOnlyVault(
                at: path,
                passphrase: passphrase,
                cipher: IdentityCipher(),
                configuration: configuration
            )
        } else {
            vault = try await SessionVault.open(at: path, passphrase: passphrase, configuration: configuration)
        }
        try await vault.save(try Self.session(dataCenters: 3, channels: 100))
        return vault
    }

    /// Durable batches per second, each shaped like one incoming update: the account state, two
    /// channels' pts and three peers (one of them new), in one `write { }`.
    static func batchedUpdateRate(_ vault: SessionVault, updates: Int, round: Int) async throws -> Double {
        let start = ContinuousClock.now
        for i in 1...updates {
            let n = Int64(round * updates + i)
            try await vault.write { batch in
                batch.saveUpdateState(pts: Int32(truncatingIfNeeded: n), qts: 1, date: 1_764_000_000 + n, seq: Int32(truncatingIfNeeded: n))
                batch.saveChannelState(channelID: 1_000_000_001, pts: Int32(truncatingIfNeeded: n))
                batch.saveChannelState(channelID: 1_000_000_002, pts: Int32(truncatingIfNeeded: n))
                batch.upsertPeers([
                    Peer(id: 1_000 + n, accessHash: n, kind: .user, username: "bench_user_\(n)"),
                    Peer(id: 42, accessHash: n, kind: .user, name: "Friend"),
                    Peer(id: -1_001_000_000_007, accessHash: n, kind: .supergroup, username: "bench_group"),
                ])
            }
        }
        return Double(updates) / (ContinuousClock.now - start).seconds
    }

    /// Update-state saves per second through the public hot path.
    static func hotPathRate(_ vault: SessionVault, saves: Int) async throws -> Double {
        // One warm-up save so that the first measured save does not pay for statement preparation.
        try await vault.saveUpdateState(pts: 0, qts: 0, date: 0, seq: 0)
        let start = ContinuousClock.now
        for i in 1...saves {
            try await vault.saveUpdateState(pts: Int32(i), qts: Int32(i), date: 1_764_000_000 + Int64(i), seq: Int32(i))
        }
        return Double(saves) / (ContinuousClock.now - start).seconds
    }

    /// The same hot path called from a task that prefers the vault's own executor
    /// (``SessionVault/taskExecutor``): the loop runs on the vault's queue, so no call wakes a thread.
    static func hotPathRateOnVaultExecutor(_ vault: SessionVault, saves: Int) async throws -> Double {
        try await Task(executorPreference: vault.taskExecutor) {
            try await hotPathRate(vault, saves: saves)
        }.value
    }

    /// pwrite of one 4 KiB page at offset 0 followed by fdatasync, per second.
    static func fdatasyncRate(path: String, operations: Int) throws -> Double {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw VaultError(.io, "cannot create \(path)") }
        defer {
            close(descriptor)
            unlink(path)
        }
        var page = [UInt8](repeating: 0x5A, count: 4096)
        _ = page.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, 4096, 0) }
        _ = fsync(descriptor)
        let start = ContinuousClock.now
        for i in 0..<operations {
            page[0] = UInt8(truncatingIfNeeded: i)
            let written = page.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, 4096, 0) }
            guard written == 4096, fdatasync(descriptor) == 0 else { throw VaultError(.io, "pwrite/fdatasync failed on \(path)") }
        }
        return Double(operations) / (ContinuousClock.now - start).seconds
    }

    /// Argon2id alone (`crypto_pwhash`) with `parameters`, in milliseconds.
    static func argon2Milliseconds(parameters: KDFParameters) throws -> Double {
        var out = [UInt8](repeating: 0, count: 32)
        let password = Array(passphraseText.utf8)
        let salt = [UInt8](repeating: 7, count: Int(crypto_pwhash_SALTBYTES))
        let start = ContinuousClock.now
        let status = password.withUnsafeBufferPointer { pw in
            pw.withMemoryRebound(to: CChar.self) { chars in
                crypto_pwhash(
                    &out, 32, chars.baseAddress!, UInt64(chars.count), salt,
                    parameters.opsLimit, Int(parameters.memLimit), crypto_pwhash_ALG_ARGON2ID13
                )
            }
        }
        guard status == 0 else { throw VaultError(.cryptoFailure, "Argon2id failed") }
        return (ContinuousClock.now - start).seconds * 1000
    }

    /// Microseconds per new-channel upsert (insert + manifest, synchronous=NORMAL) with `channels` present.
    func upsertMicroseconds(channels: Int, in work: String) async throws -> [Double] {
        var configuration = SessionVault.Configuration()
        configuration.mode = .create
        configuration.durability = .normal
        configuration.kdf = .interactive
        let path = work + "/scale-\(channels).session"
        let vault = try await SessionVault.open(at: path, passphrase: try Passphrase(copying: Self.passphraseText), configuration: configuration)
        try await vault.save(try Self.session(dataCenters: 1, channels: channels))
        var samples: [Double] = []
        var nextChannel: Int64 = 9_000_000_000_000
        let perRound = quick ? 50 : 200
        for _ in 0..<(quick ? 3 : 7) {
            let start = ContinuousClock.now
            for _ in 0..<perRound {
                nextChannel += 1
                try await vault.saveChannelState(channelID: nextChannel, pts: 1)
            }
            samples.append((ContinuousClock.now - start).seconds * 1_000_000 / Double(perRound))
        }
        try await vault.delete()
        return samples
    }

    /// `count` synthetic peers with usernames `bench_peer_N` and phone numbers.
    static func peers(count: Int) -> [Peer] {
        var peers: [Peer] = []
        peers.reserveCapacity(count)
        for i in 0..<count {
            let kind: Peer.Kind = i % 10 == 0 ? .bot : .user
            let phone: String? = i % 3 == 0 ? "4470000" + String(10_000 + i) : nil
            let id = Int64(10_000_000) + Int64(i)
            let accessHash = Int64(i) &* 2_654_435_761
            peers.append(
                Peer(id: id, accessHash: accessHash, kind: kind, username: "bench_peer_" + String(i), phoneNumber: phone, updatedAt: 1_764_000_000)
            )
        }
        return peers
    }

    /// A synthetic session: DCs 1 … `dataCenters` with random keys, a user, update state and `channels` channels.
    static func session(dataCenters: Int, channels: Int) throws -> Session {
        try SyntheticSession.make(
            dataCenters: Array(1...Int32(max(1, dataCenters))),
            channels: channels,
            pts: { Int32($0 % 100_000) },
            user: LoggedInUser(id: 5_000_000_001, dataCenterID: 2, isBot: true, username: "bench_bot"),
            apiID: nil
        )
    }
}
