public import SessionVaultKit

/// The workload behind `session-vault soak`: a vault written the way a busy Telegram client writes
/// it, one durable transaction after another, each reported before and after it commits.
///
/// Every iteration saves the update state; a channel's pts often (on average once every
/// ``channelEvery`` iterations), a data center's auth key now and then (``dataCenterEvery``), and
/// occasionally the passphrase changes (``passphraseChangeEvery``, alternating between the two
/// passphrases) or the data key rotates (``rotationEvery``). The choice is random, from ``seed``.
///
/// Before a transaction the run reports a ``SoakEvent/Kind/begin`` event with the digest of the
/// state it is about to commit; after the transaction it reads the state back from the vault, checks
/// it is that state, and reports ``SoakEvent/Kind/commit``. The `report` callback runs before the
/// next transaction starts, so a harness that kills the process at any moment knows the last
/// committed generation and the one that may have been in flight.
///
/// A soak run overwrites the session with synthetic data, so it only runs on a new vault, an empty
/// one, or one an earlier soak run filled (its user is ``markerUsername``); it refuses vaults with a
/// recovery key (a rotation would replace it without showing the new one).
public struct VaultSoak: Sendable {
    /// The username of the synthetic user that marks a vault as a soak vault.
    public static let markerUsername = "session_vault_soak"

    /// The vault file (`.session` is appended when the name has no extension).
    public var path: String
    /// One or two passphrases: the vault is created with (or unlocked by) either, and passphrase
    /// changes alternate between them (with one, a change re-wraps under the same passphrase).
    public var passphrases: [Passphrase]
    /// How the vault is opened (KDF profile for a new vault, durability, lock wait). The mode is
    /// chosen by the run.
    public var configuration = SessionVault.Configuration()
    /// Stop starting transactions after this long (nil: no time limit).
    public var duration: Duration? = .seconds(10)
    /// Stop after this many transactions (nil: no limit).
    public var transactionLimit: Int?
    /// The random seed that picks the operations.
    public var seed: UInt64 = 1
    /// A channel's pts is saved on average once every this many iterations (0: never).
    public var channelEvery = 2
    /// A data center gets a new auth key on average once every this many iterations (0: never).
    public var dataCenterEvery = 20
    /// The passphrase changes on average once every this many iterations (0: never).
    public var passphraseChangeEvery = 500
    /// The data key rotates on average once every this many iterations (0: never).
    public var rotationEvery = 1_000
    /// How many channels the synthetic session follows.
    public var channelCount = 16

    /// A soak of the vault at `path`.
    public init(path: String, passphrases: [Passphrase]) {
        self.path = path
        self.passphrases = passphrases
    }

    /// Opens (or creates) the vault and runs transactions until the time or transaction limit, or the
    /// first failure.
    ///
    /// A failed transaction does not end the process: the run reports it, re-reads and authenticates
    /// every stored record (``SessionVault/authenticateStoredRecords()``), reports the state it found
    /// as ``SoakEvent/Kind/verified``, closes the vault and returns a summary whose
    /// ``SoakSummary/failure`` is the error.
    /// - Parameters:
    ///   - afterOpening: Called once the vault is open, before the first transaction.
    ///   - report: Called with every event, synchronously, before the next transaction starts. An
    ///     error it throws ends the run (the vault is closed first).
    /// - Returns: What the run did.
    /// - Throws: ``VaultError`` when the vault cannot be opened or is not a soak vault, or when
    ///   `report` throws.
    public func run(
        afterOpening: () async -> Void = {},
        report: (SoakEvent) throws(VaultError) -> Void
    ) async throws(VaultError) -> SoakSummary {
        guard !passphrases.isEmpty, passphrases.count <= 2 else {
            throw VaultError(.invalidArgument, "soak takes one or two passphrases")
        }
        let resolved = try VaultPath.resolve(path)
        var configuration = self.configuration
        let vault: SessionVault
        var state = State()
        if try FileSystem.status(resolved) == nil {
            configuration.mode = .create
            try report(SoakEvent(.begin, generation: 0, operation: .create, digest: SessionDigest(of: Session()), passphraseIndex: 0))
            vault = try await SessionVault.open(at: resolved, passphrase: passphrases[0], configuration: configuration)
            state.operation = .create
        } else {
            configuration.mode = .openExisting
            do throws(VaultError) {
                vault = try await SessionVault.open(at: resolved, passphrase: passphrases[0], configuration: configuration)
            } catch where error.code == .wrongPassphrase && passphrases.count == 2 {
                vault = try await SessionVault.open(at: resolved, passphrase: passphrases[1], configuration: configuration)
                state.passphraseIndex = 1
            }
            state.operation = .open
        }

        var summary = SoakSummary()
        do throws(VaultError) {
            state.session = try await vault.load() ?? Session()
            try await Self.checkIsSoakVault(vault, session: state.session)
            summary.digest = SessionDigest(of: state.session)
            try report(
                SoakEvent(.commit, generation: 0, operation: state.operation, digest: summary.digest, passphraseIndex: state.passphraseIndex)
            )
            await afterOpening()
            try await loop(vault: vault, state: &state, summary: &summary, report: report)
        } catch {
            try? await vault.close()
            throw error
        }
        if summary.failure != nil {
            try? await vault.close()
        } else {
            do throws(VaultError) { try await vault.close() } catch { summary.failure = error }
        }
        return summary
    }

    /// What the run tracks between transactions.
    private struct State {
        var session = Session()
        var generation = 0
        var passphraseIndex = 0
        var operation = SoakEvent.Operation.open
    }

    private static func checkIsSoakVault(_ vault: SessionVault, session: Session) async throws(VaultError) {
        guard session.isEmpty || session.user?.username == markerUsername else {
            throw VaultError(
                .invalidArgument,
                "\(vault.path ?? "the vault") holds a real session; soak overwrites it with synthetic data, so it "
                    + "only runs on a new vault, an empty one, or one an earlier soak filled"
            )
        }
        guard await !vault.keyslotKinds.contains(.recoveryKey) else {
            throw VaultError(
                .invalidArgument,
                "\(vault.path ?? "the vault") has a recovery key, which a soak rotation would replace without showing it"
            )
        }
    }

    private func loop(
        vault: SessionVault,
        state: inout State,
        summary: inout SoakSummary,
        report: (SoakEvent) throws(VaultError) -> Void
    ) async throws(VaultError) {
        var random = SeededRandom(seed: seed)
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = duration.map { start.advanced(by: $0) }
        defer { summary.elapsed = clock.now - start }

        func mayStart() -> Bool {
            if let transactionLimit, summary.transactions >= transactionLimit { return false }
            if let deadline, clock.now >= deadline { return false }
            return summary.failure == nil
        }
        func chance(_ every: Int) -> Bool { every > 0 && random.next() % UInt64(every) == 0 }

        // The process keeps running after a failed transaction: re-read every stored record,
        // authenticate it, and say which state the vault holds (the last committed one, or the
        // failed one when its commit reached the disk before a later step failed).
        func verifyAfterFailure(
            intended: Session,
            generation: Int,
            operation: SoakEvent.Operation,
            index: Int
        ) async throws(VaultError) {
            guard (try? await vault.authenticateStoredRecords()) != nil, let stored = try? await vault.load() ?? Session() else {
                return
            }
            let digest = SessionDigest(of: stored)
            if digest == SessionDigest(of: state.session) {
                try report(
                    SoakEvent(.verified, generation: state.generation, operation: state.operation, digest: digest, passphraseIndex: state.passphraseIndex)
                )
            } else if digest == SessionDigest(of: intended) {
                try report(SoakEvent(.verified, generation: generation, operation: operation, digest: digest, passphraseIndex: index))
            }
        }

        // One transaction: report `begin` with the intended state, perform, read back, report `commit`.
        func transaction(
            _ operation: SoakEvent.Operation,
            passphraseIndex: Int? = nil,
            change: (inout Session) throws(VaultError) -> Void,
            perform: (Session) async throws(VaultError) -> Void
        ) async throws(VaultError) {
            var intended = state.session
            try change(&intended)
            let generation = state.generation + 1
            let index = passphraseIndex ?? state.passphraseIndex
            let digest = SessionDigest(of: intended)
            try report(SoakEvent(.begin, generation: generation, operation: operation, digest: digest, passphraseIndex: index))
            do throws(VaultError) {
                try await perform(intended)
                let stored = try await vault.load() ?? Session()
                guard SessionDigest(of: stored) == digest else {
                    throw VaultError(
                        .corrupt,
                        "soak: after \(operation.rawValue) \(generation) the vault holds another state than the one saved"
                    )
                }
            } catch {
                summary.failure = error
                try report(
                    SoakEvent(
                        .failed,
                        generation: generation,
                        operation: operation,
                        digest: digest,
                        passphraseIndex: index,
                        detail: "\(error.code): \(error.message)"
                    )
                )
                try await verifyAfterFailure(intended: intended, generation: generation, operation: operation, index: index)
                return
            }
            state.session = intended
            state.generation = generation
            state.passphraseIndex = index
            state.operation = operation
            summary.committed[operation, default: 0] += 1
            summary.generation = generation
            summary.digest = digest
            try report(SoakEvent(.commit, generation: generation, operation: operation, digest: digest, passphraseIndex: index))
        }

        if state.session.isEmpty && mayStart() {
            try await transaction(.initial) { (session) throws(VaultError) in
                session = try Self.syntheticSession(channels: channelCount)
            } perform: { (session) throws(VaultError) in
                try await vault.save(session)
            }
        }
        while mayStart() {
            try await transaction(.state) { session in
                var update = session.updateState ?? UpdateState(pts: 0, qts: 0, date: 1_764_000_000, seq: 0)
                update.pts &+= 1
                update.date &+= 1
                update.seq &+= 1
                session.updateState = update
            } perform: { (session) throws(VaultError) in
                let update = session.updateState!
                try await vault.saveUpdateState(pts: update.pts, qts: update.qts, date: update.date, seq: update.seq)
            }
            if chance(channelEvery) && channelCount > 0 && mayStart() {
                let channel = SyntheticSession.channelID(Int(random.next() % UInt64(channelCount)))
                try await transaction(.channel) { session in
                    var update = session.updateState ?? UpdateState(pts: 0, qts: 0, date: 0, seq: 0)
                    update.channels[channel] = (update.channels[channel] ?? 0) &+ 1
                    session.updateState = update
                } perform: { (session) throws(VaultError) in
                    try await vault.saveChannelState(channelID: channel, pts: session.updateState!.channels[channel]!)
                }
            }
            if chance(dataCenterEvery) && !state.session.dataCenters.isEmpty && mayStart() {
                let position = Int(random.next() % UInt64(state.session.dataCenters.count))
                let newKey = try AuthKey.random()
                try await transaction(.dataCenter) { session in
                    session.dataCenters[position].authKey = newKey
                } perform: { (session) throws(VaultError) in
                    try await vault.saveDataCenter(session.dataCenters[position])
                }
            }
            if chance(passphraseChangeEvery) && mayStart() {
                let target = passphrases.count == 2 ? 1 - state.passphraseIndex : state.passphraseIndex
                try await transaction(.passphraseChange, passphraseIndex: target) { _ in
                } perform: { (_) throws(VaultError) in
                    try await vault.changePassphrase(to: passphrases[target])
                }
            }
            if chance(rotationEvery) && mayStart() {
                let current = passphrases[state.passphraseIndex]
                try await transaction(.rotation) { _ in
                } perform: { (_) throws(VaultError) in
                    try await vault.rotateDataKey(passphrase: current)
                }
            }
        }
    }

    /// Three data centers with random auth keys, the marker user, an update state, `channels` channels at pts 1.
    static func syntheticSession(channels: Int) throws(VaultError) -> Session {
        try SyntheticSession.make(
            channels: channels,
            pts: { _ in 1 },
            user: LoggedInUser(id: 6_012_345_999, dataCenterID: 2, isBot: true, username: markerUsername),
            apiID: 1
        )
    }
}
