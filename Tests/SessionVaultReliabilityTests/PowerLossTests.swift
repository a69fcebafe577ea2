import CPowerLossVFS
import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultOperations

/// Power loss is not a kill: a killed process's writes are already in the operating system's cache
/// and reach the disk anyway, while a power cut loses every write that was not synced. These tests
/// run a stream of saves (and a passphrase change and a rotation) through the power-loss VFS shim
/// (`Sources/CPowerLossVFS`), cut the power at a random I/O operation, then reopen the vault with the
/// real VFS and check what `synchronous=FULL` promises: the vault opens (old or new passphrase),
/// `integrity_check` is ok, every record authenticates, and the state is the last save that
/// returned or the one in flight. With `synchronous=NORMAL` the vault is still consistent but may be
/// older than the last save that returned.
@Suite("Power loss: un-synced writes are dropped", .serialized)
struct PowerLossTests {
    /// The shim is registered once, as the default VFS of this test process; every path outside an
    /// armed trial directory passes straight through to the real VFS.
    static let installation: Int32 = {
        _ = SQLiteLibrary.load()
        return plvfs_install()
    }()

    static let passphrases = ["power-loss passphrase one", "power-loss passphrase two"]

    /// One step of the stream.
    struct Step {
        var name: String
        var change: (inout Session) throws -> Void
        var passphraseAfter: Int?
        var perform: (SessionVault, Session) async throws -> Void
    }

    /// 24 steps: update state, channel pts, data center keys, a passphrase change (step 8) and a
    /// data-key rotation (step 16).
    static func stream() throws -> [Step] {
        var steps: [Step] = []
        for index in 0..<24 {
            switch index {
            case 8:
                steps.append(
                    Step(name: "passwd", change: { _ in }, passphraseAfter: 1) { vault, _ in
                        try await vault.changePassphrase(to: try Passphrase(copying: passphrases[1]))
                    }
                )
            case 16:
                steps.append(
                    Step(name: "rotate", change: { _ in }, passphraseAfter: nil) { vault, _ in
                        try await vault.rotateDataKey(passphrase: try Passphrase(copying: passphrases[1]))
                    }
                )
            case _ where index % 5 == 3:
                let key = try AuthKey.random()
                steps.append(
                    Step(name: "dc", change: { $0.dataCenters[0].authKey = key }, passphraseAfter: nil) { vault, session in
                        try await vault.saveDataCenter(session.dataCenters[0])
                    }
                )
            case _ where index % 2 == 1:
                let channel = Int64(1_000_000_000_000 + index % 4)
                steps.append(
                    Step(name: "channel", change: { $0.updateState!.channels[channel, default: 0] += 1 }, passphraseAfter: nil) { vault, session in
                        try await vault.saveChannelState(channelID: channel, pts: session.updateState!.channels[channel]!)
                    }
                )
            default:
                steps.append(
                    Step(
                        name: "state",
                        change: {
                            $0.updateState!.pts += 1
                            $0.updateState!.seq += 1
                        },
                        passphraseAfter: nil
                    ) { vault, session in
                        let state = session.updateState!
                        try await vault.saveUpdateState(pts: state.pts, qts: state.qts, date: state.date, seq: state.seq)
                    }
                )
            }
        }
        return steps
    }

    static func initialSession() throws -> Session {
        var channels: [Int64: Int32] = [:]
        for index in 0..<4 { channels[1_000_000_000_000 + Int64(index)] = 10 }
        return Session(
            dataCenters: [
                DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.51", port: 443), authKey: try AuthKey.random()),
                DataCenter(id: 4, ipv4: Endpoint(host: "149.154.167.91", port: 443), authKey: try AuthKey.random()),
            ],
            user: LoggedInUser(id: 6_000_000_777, dataCenterID: 2, isBot: true, username: "power_loss_bot"),
            updateState: UpdateState(pts: 100, qts: 1, date: 1_764_000_000, seq: 1, channels: channels)
        )
    }

    static func configuration(_ durability: SQLiteRecordStore.Durability, mode: SessionVault.Configuration.Mode) -> SessionVault.Configuration {
        var configuration = SessionVault.Configuration()
        configuration.mode = mode
        configuration.fallback = .fail
        configuration.durability = durability
        configuration.kdf = .insecureForTestingOnly
        configuration.allowsInsecureKDFParametersForTesting = true
        return configuration
    }

    /// A state the vault may hold: the session's digest and the passphrase that opens it.
    struct Expected: Equatable, CustomStringConvertible {
        var digest: SessionDigest
        var passphrase: Int
        var description: String { "\(digest) key=\(passphrase)" }
    }

    /// What one trial saw.
    struct Trial {
        var history: [Expected] = []          // every state whose save returned before the loss
        var inFlight: Expected?
        var lossStep = "none"                 // where the power was lost
        var found: Expected?
        var integrity: [String] = []
        var records = 0
        var operations = 0
        var stepOperations: [(name: String, first: Int, last: Int)] = []
    }

    /// Creates a vault (real VFS), arms the shim, runs the stream, loses power at operation
    /// `countdown` (0: never), disarms, and reopens with the real VFS.
    static func runTrial(
        in directory: String,
        durability: SQLiteRecordStore.Durability,
        countdown: Int,
        discardAfterLoss: Bool,
        damage: Bool,
        seed: UInt64
    ) async throws -> Trial {
        let trialDirectory = directory + "/trial-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: trialDirectory, withIntermediateDirectories: false)
        let path = trialDirectory + "/vault.session"
        var session = try initialSession()
        let creator = try await SessionVault.open(
            at: path,
            passphrase: try Passphrase(copying: passphrases[0]),
            configuration: configuration(durability, mode: .create)
        )
        try await creator.save(session)
        try await creator.close()

        var trial = Trial()
        var current = Expected(digest: SessionDigest(of: session), passphrase: 0)
        trial.history.append(current)
        plvfs_arm(trialDirectory + "/", countdown, discardAfterLoss ? 1 : 0, damage ? 1 : 0, seed, 0)
        var lost = false
        var vault: SessionVault?
        do {
            vault = try await SessionVault.open(
                at: path,
                passphrase: try Passphrase(copying: passphrases[0]),
                configuration: configuration(durability, mode: .openExisting)
            )
        } catch {
            lost = plvfs_power_lost() != 0
            if !lost { throw error }
            trial.lossStep = "open"
        }
        if let vault {
            for step in try stream() {
                var intended = session
                try step.change(&intended)
                let expected = Expected(digest: SessionDigest(of: intended), passphrase: step.passphraseAfter ?? current.passphrase)
                let first = plvfs_operation_count()
                var failure: (any Error)?
                do { try await step.perform(vault, intended) } catch { failure = error }
                trial.stepOperations.append((step.name, first + 1, plvfs_operation_count()))
                if plvfs_power_lost() != 0 {
                    lost = true
                    trial.inFlight = expected
                    trial.lossStep = step.name
                    break
                }
                if let failure { throw failure }
                session = intended
                current = expected
                trial.history.append(current)
            }
            let first = plvfs_operation_count()
            if lost {
                try? await vault.close()
            } else {
                do { try await vault.close() } catch {
                    guard plvfs_power_lost() != 0 else { throw error }
                    trial.lossStep = "close"
                }
                trial.stepOperations.append(("close", first + 1, plvfs_operation_count()))
                if plvfs_power_lost() != 0 { trial.lossStep = "close" }
            }
        }
        trial.operations = plvfs_operation_count()
        plvfs_disarm()

        let reopened: ReopenedVault?
        do {
            reopened = try await reopen(path, passphrases: passphrases, preferred: current.passphrase, allowingTestKDF: true)
        } catch {
            let kept = NSTemporaryDirectory() + "sv-power-loss-failure-\(UUID().uuidString)"
            try? FileManager.default.copyItem(atPath: trialDirectory, toPath: kept)
            throw ReopenError.failed("\(error) (cut during \(trial.lossStep); files kept in \(kept))")
        }
        if let reopened {
            trial.found = Expected(digest: reopened.digest, passphrase: reopened.passphraseIndex)
            trial.integrity = reopened.integrity
            trial.records = reopened.records
        }
        try? FileManager.default.removeItem(atPath: trialDirectory)
        return trial
    }

    /// Counts the I/O operations of an uninterrupted stream, per step, to aim the cuts.
    static func calibrate(in directory: String, durability: SQLiteRecordStore.Durability) async throws -> Trial {
        try await runTrial(in: directory, durability: durability, countdown: 0, discardAfterLoss: false, damage: false, seed: 1)
    }

    /// Picks the operation at which power is lost: anywhere in the stream, or inside the passphrase
    /// change or the rotation.
    static func countdown(for trial: Int, calibration: Trial, random: inout SeededRandom) -> (Int, String) {
        func inside(_ name: String) -> Int {
            let range = calibration.stepOperations.first { $0.name == name }!
            return range.first + Int(random.next() % UInt64(max(1, range.last - range.first + 1)))
        }
        switch trial % 4 {
        case 1: return (inside("passwd"), "passwd")
        case 2: return (inside("rotate"), "rotate")
        default: return (1 + Int(random.next() % UInt64(calibration.operations + 2)), "anywhere")
        }
    }

    @Test(arguments: [false, true])
    func fullSynchronousKeepsTheLastReturnedSaveOrTheOneInFlight(damage: Bool) async throws {
        try #require(Self.installation == 0, "the power-loss VFS could not be installed (\(Self.installation))")
        let trials = environmentInteger("SESSION_VAULT_POWER_LOSS_TRIALS", default: 120)
        let seed = UInt64(environmentInteger("SESSION_VAULT_POWER_LOSS_SEED", default: Int(time(nil))))
        var random = SeededRandom(seed: seed)
        try await withScratchDirectory { directory in
            let calibration = try await Self.calibrate(in: directory, durability: .full)
            #expect(calibration.found == calibration.history.last, "uninterrupted stream: \(String(describing: calibration.found))")
            var landed: [String: Int] = [:]
            var newerThanReturned = 0
            var discarded = 0
            var sectors = (dropped: 0, kept: 0, garbage: 0)
            for index in 0..<trials {
                let (countdown, aim) = Self.countdown(for: index, calibration: calibration, random: &random)
                let discard = random.next() % 2 == 0
                let trial = try await Self.runTrial(
                    in: directory,
                    durability: .full,
                    countdown: countdown,
                    discardAfterLoss: discard,
                    damage: damage,
                    seed: random.next()
                )
                var dropped = 0
                var kept = 0
                var garbage = 0
                plvfs_loss_statistics(&dropped, &kept, &garbage)
                sectors.dropped += dropped
                sectors.kept += kept
                sectors.garbage += garbage
                if discard { discarded += 1 }
                landed[trial.lossStep, default: 0] += 1
                let acceptable = [trial.history.last!] + (trial.inFlight.map { [$0] } ?? [])
                let context = "trial \(index) (seed \(seed), aim \(aim), cut at operation \(countdown) of \(calibration.operations), during \(trial.lossStep), damage \(damage))"
                #expect(trial.integrity == ["ok"], "\(context): integrity_check \(trial.integrity)")
                #expect(trial.found.map { acceptable.contains($0) } == true, "\(context): found \(String(describing: trial.found)), expected one of \(acceptable)")
                if let found = trial.found, found == trial.inFlight, found != trial.history.last { newerThanReturned += 1 }
                if trial.found == nil || trial.integrity != ["ok"] { break }
            }
            report(
                "power loss, synchronous=FULL, \(damage ? "damage (un-synced sectors kept, dropped or garbage)" : "drop every un-synced write"): "
                    + "\(trials) cuts (seed \(seed)); cut during: \(landed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); "
                    + "\(discarded) with later I/O discarded, \(trials - discarded) with it failing; "
                    + "the in-flight transaction was found committed after \(newerThanReturned); "
                    + "un-synced sectors: \(sectors.dropped) dropped, \(sectors.kept) written, \(sectors.garbage) garbage; "
                    + "every reopen: integrity ok, all records authenticated, last returned save or the one in flight"
            )
            #expect(landed["passwd", default: 0] > 0 && landed["rotate", default: 0] > 0)
        }
    }

    @Test func normalSynchronousStaysConsistentButMayLoseReturnedSaves() async throws {
        try #require(Self.installation == 0, "the power-loss VFS could not be installed (\(Self.installation))")
        let trials = environmentInteger("SESSION_VAULT_POWER_LOSS_TRIALS", default: 120) / 2
        let seed = UInt64(environmentInteger("SESSION_VAULT_POWER_LOSS_SEED", default: Int(time(nil))))
        var random = SeededRandom(seed: seed)
        try await withScratchDirectory { directory in
            let calibration = try await Self.calibrate(in: directory, durability: .normal)
            var olderThanReturned = 0
            var lostSaves: [Int] = []
            for index in 0..<trials {
                let (countdown, aim) = Self.countdown(for: index, calibration: calibration, random: &random)
                let trial = try await Self.runTrial(
                    in: directory,
                    durability: .normal,
                    countdown: countdown,
                    discardAfterLoss: false,
                    damage: random.next() % 2 == 0,
                    seed: random.next()
                )
                let acceptable = trial.history + (trial.inFlight.map { [$0] } ?? [])
                let context = "trial \(index) (seed \(seed), aim \(aim), cut at operation \(countdown), during \(trial.lossStep))"
                #expect(trial.integrity == ["ok"], "\(context): integrity_check \(trial.integrity)")
                let position = trial.found.flatMap { found in acceptable.lastIndex(of: found) }
                #expect(position != nil, "\(context): found \(String(describing: trial.found)), not a state of the stream")
                if let position, position < trial.history.count - 1 {
                    olderThanReturned += 1
                    lostSaves.append(trial.history.count - 1 - position)
                }
            }
            report(
                "power loss, synchronous=NORMAL: \(trials) cuts (seed \(seed)); every reopen consistent (integrity ok, all records "
                    + "authenticated, a state of the stream); \(olderThanReturned) came back OLDER than the last save that returned "
                    + "(lost \(lostSaves.min() ?? 0)-\(lostSaves.max() ?? 0) returned saves, median \(lostSaves.sorted().dropFirst(lostSaves.count / 2).first ?? 0))"
            )
        }
    }
}
