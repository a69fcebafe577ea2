import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultOperations

#if canImport(Glibc)
import Glibc
#endif

/// The crash harness: `session-vault soak` is killed with SIGKILL at random moments (and right after
/// it announces a passphrase change or a rotation), and after every kill the vault must open with the
/// old or the new passphrase, pass `PRAGMA integrity_check`, authenticate every record, and hold the
/// last state soak reported as committed or the one it announced next.
///
/// `SESSION_VAULT_CRASH_KILLS` sets the number of kills (default 100, what `make test` runs;
/// `make crash-test` runs 1,000); `SESSION_VAULT_CRASH_SEED` replays a run.
@Suite("Crash consistency: SIGKILL during soak")
struct CrashHarnessTests {
    /// What the harness knows the vault holds between runs.
    enum Known: Equatable {
        case noVault
        case state(SessionDigest, passphrase: Int)
    }

    /// How one run is killed.
    enum Aim: CaseIterable {
        /// The vault is deleted first; the kill lands while soak creates it (Argon2id, then the atomic create).
        case creation
        /// Anywhere from the start: unlocking (Argon2id), WAL recovery, the first transactions.
        case startup
        /// After the vault is open, among ordinary transactions.
        case transactions
        /// Right after soak announces a passphrase change.
        case passphraseChange
        /// Right after soak announces a data-key rotation.
        case rotation

        /// Out of 10 runs: 1 creation, 2 startup, 3 transactions, 2 passwd, 2 rotate.
        static func pick(_ value: UInt64) -> Aim {
            switch value % 10 {
            case 0: .creation
            case 1, 2: .startup
            case 3, 4, 5: .transactions
            case 6, 7: .passphraseChange
            default: .rotation
            }
        }
    }

    struct Tally {
        var kills = 0
        var aimed: [Aim: Int] = [:]
        var inFlight: [SoakEvent.Operation: Int] = [:]
        var inFlightLanded: [SoakEvent.Operation: Int] = [:]
        var beforeFirstLine = 0
        var transactionsCommitted = 0
    }

    @Test(.timeLimit(.minutes(60)))
    func soakSurvivesSigkillAtRandomMoments() async throws {
        let kills = environmentInteger("SESSION_VAULT_CRASH_KILLS", default: 100)
        let seed = UInt64(environmentInteger("SESSION_VAULT_CRASH_SEED", default: Int(time(nil))))
        var random = SeededRandom(seed: seed)
        report("crash harness: \(kills) kills, seed \(seed) (SESSION_VAULT_CRASH_SEED=\(seed) replays the kill schedule)")
        let clock = ContinuousClock()
        let start = clock.now
        try await withScratchDirectory { directory in
            let path = directory + "/soak.session"
            var known = Known.noVault
            var tally = Tally()
            for run in 0..<kills {
                let aim = run == 0 ? .creation : Aim.pick(random.next())
                if aim == .creation {
                    for suffix in ["", "-wal", "-shm", "-journal", "-lock", "-creating", "-creating-wal", "-creating-journal"] {
                        unlink(path + suffix)
                    }
                    known = .noVault
                }
                let outcome = try await killOnce(path: path, known: known, aim: aim, run: run, random: &random)
                tally.kills += 1
                tally.aimed[aim, default: 0] += 1
                tally.transactionsCommitted += outcome.committed
                if outcome.noLines { tally.beforeFirstLine += 1 }
                if let operation = outcome.inFlight {
                    tally.inFlight[operation, default: 0] += 1
                    if outcome.landedOnInFlight { tally.inFlightLanded[operation, default: 0] += 1 }
                }
                if let failure = outcome.failure {
                    let kept = preserve(directory, seed: seed, run: run)
                    Issue.record("kill \(run + 1) (aim \(aim), seed \(seed)): \(failure); vault kept in \(kept)")
                    break
                }
                known = outcome.known
            }
            let during = { (operation: SoakEvent.Operation) in
                "\(tally.inFlight[operation, default: 0]) (its new state found after \(tally.inFlightLanded[operation, default: 0]))"
            }
            report(
                "crash harness: \(tally.kills) kills in \(Int(seconds(clock.now - start))) s; "
                    + "in flight at the kill: passwd \(during(.passphraseChange)), rotate \(tally.inFlight[.rotation, default: 0]) "
                    + "(a rotation keeps the state and the passphrase; old or new data key), "
                    + "dc \(during(.dataCenter)), channel \(during(.channel)), state \(during(.state)), "
                    + "create \(during(.create)) (otherwise no vault at all), init \(during(.initial)); during open/unlock (no commit line yet) \(tally.beforeFirstLine); "
                    + "aimed: creation \(tally.aimed[.creation, default: 0]), startup \(tally.aimed[.startup, default: 0]), transactions \(tally.aimed[.transactions, default: 0]), "
                    + "passwd \(tally.aimed[.passphraseChange, default: 0]), rotate \(tally.aimed[.rotation, default: 0]); "
                    + "\(tally.transactionsCommitted) transactions committed in total; failures \(tally.kills == kills ? 0 : 1)"
            )
            #expect(tally.kills == kills)
            if kills >= 20 {
                #expect(tally.inFlight[.passphraseChange, default: 0] > 0, "no kill landed during a passphrase change")
                #expect(tally.inFlight[.rotation, default: 0] > 0, "no kill landed during a rotation")
            }
        }
    }

    struct Outcome {
        var known: Known
        var inFlight: SoakEvent.Operation?
        var landedOnInFlight = false
        var noLines = false
        var committed = 0
        var failure: String?
    }

    /// One run: start soak, kill it, check the vault.
    func killOnce(path: String, known: Known, aim: Aim, run: Int, random: inout SeededRandom) async throws -> Outcome {
        let current: Int
        switch known {
        case .noVault: current = 0
        case .state(_, let passphrase): current = passphrase
        }
        let frequent = "2"
        let arguments = [
            "soak", path, "--kdf", "interactive", "--seconds", "60", "--seed", "\(random.next() >> 1)",
            "--channel-every", "2", "--dc-every", "5",
            "--passwd-every", aim == .passphraseChange ? frequent : "40",
            "--rotate-every", aim == .rotation ? frequent : "40",
        ]
        let child = try ChildProcess(SoakBinary.path, arguments, environment: SoakBinary.soakEnvironment(current: current))
        switch aim {
        case .creation:
            // `begin 0 create` comes before Argon2id (~50-150 ms), then the atomic create, then the
            // first transactions.
            _ = await child.waitForLine { $0.hasPrefix("begin 0 create") }
            try await Task.sleep(for: .microseconds(Int(random.next() % 250_000)))
        case .startup:
            try await Task.sleep(for: .microseconds(Int(random.next() % 150_000)))
        case .transactions:
            _ = await child.waitForLine { $0.hasPrefix("commit 0 ") }
            try await Task.sleep(for: .microseconds(Int(random.next() % 250_000)))
        case .passphraseChange, .rotation:
            let operation = aim == .rotation ? "rotate" : "passwd"
            _ = await child.waitForLine { $0.hasPrefix("begin ") && $0.contains(" \(operation) ") }
            // Argon2id (interactive) takes ~50-150 ms here, then the commit, then the purge (VACUUM).
            try await Task.sleep(for: .microseconds(Int(random.next() % 220_000)))
        }
        child.kill(SIGKILL)
        let termination = await child.wait()
        var outcome = Outcome(known: known)
        guard termination == .signaled(SIGKILL) else {
            outcome.failure = "soak ended by itself (\(termination)) before the kill: \(child.stderr)"
            return outcome
        }
        let events = child.lines.compactMap { SoakEvent(line: $0) }
        outcome.noLines = !events.contains { $0.kind == .commit }
        outcome.committed = events.filter { $0.kind == .commit && $0.generation > 0 }.count
        if let failed = events.first(where: { $0.kind == .failed }) {
            outcome.failure = "soak reported a failure before the kill: \(failed)"
            return outcome
        }
        // The child's key=0 is the passphrase it was given as SESSION_VAULT_PASSPHRASE (`current`).
        func absolute(_ index: Int) -> Int { index == 0 ? current : 1 - current }

        // What the vault may hold: the last committed state, or the transaction announced after it.
        var candidates: [Known] = []
        let lastCommit = events.last { $0.kind == .commit }
        if let lastCommit {
            if lastCommit.generation == 0 && lastCommit.operation == .open {
                guard known == .state(lastCommit.digest, passphrase: absolute(lastCommit.passphraseIndex)) else {
                    outcome.failure = "soak opened \(lastCommit) but the harness last saw \(known)"
                    return outcome
                }
            }
            candidates.append(.state(lastCommit.digest, passphrase: absolute(lastCommit.passphraseIndex)))
        } else {
            candidates.append(known)
        }
        let inFlight = events.last { $0.kind == .begin && $0.generation > (lastCommit?.generation ?? -1) }
        if let inFlight {
            candidates.append(.state(inFlight.digest, passphrase: absolute(inFlight.passphraseIndex)))
            outcome.inFlight = inFlight.operation
        }

        let reopened: ReopenedVault?
        do {
            reopened = try await reopen(path, preferred: current)
        } catch {
            outcome.failure = "\(error) (candidates \(candidates))"
            return outcome
        }
        guard let reopened else {
            guard candidates.contains(.noVault) else {
                outcome.failure = "the vault file is gone (candidates \(candidates))"
                return outcome
            }
            outcome.known = .noVault
            return outcome
        }
        guard reopened.integrity == ["ok"] else {
            outcome.failure = "integrity_check: \(reopened.integrity)"
            return outcome
        }
        let found = Known.state(reopened.digest, passphrase: reopened.passphraseIndex)
        guard candidates.contains(found) else {
            outcome.failure = "the vault holds \(found), expected one of \(candidates); soak output:\n\(child.stdout.suffix(600))"
            return outcome
        }
        outcome.landedOnInFlight = inFlight != nil && candidates.last == found && candidates.first != found
        outcome.known = found
        return outcome
    }

    /// Copies the vault's files somewhere that survives the test, for a post-mortem.
    func preserve(_ directory: String, seed: UInt64, run: Int) -> String {
        let target = NSTemporaryDirectory() + "sv-crash-failure-\(seed)-\(run)"
        try? FileManager.default.copyItem(atPath: directory, toPath: target)
        return target
    }
}
