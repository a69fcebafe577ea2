import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultOperations

#if canImport(Glibc)
import Glibc
#endif

/// Several processes open one vault in a loop (each a short `session-vault soak`). Exactly one may
/// hold it at any time: the others are refused with `in use by pid <holder>` (exit 67) naming a
/// process that was running, or wait when asked to (`--lock-wait`); never "database is locked",
/// never corruption.
///
/// Mutual exclusion is proven from the vault's content, not from clocks: every soak run reports the
/// digest of the state it opened and of every state it committed. If two runs had held the vault at
/// once, two runs would have opened the same state (a fork) or one run's writes would have been lost.
/// So the successful runs must form one chain (each opens exactly the state the previous one left)
/// from the initial state to the final one, and the final pts must equal the initial pts plus the
/// number of update-state transactions all runs committed.
@Suite("Contention: processes opening one vault")
struct ContentionTests {
    struct Attempt {
        var worker: Int
        var waits: Bool
        var pid: pid_t
        var started: ContinuousClock.Instant
        var ended: ContinuousClock.Instant
        var termination: ChildProcess.Termination
        var events: [SoakEvent]
        var stderr: String
    }

    @Test(.timeLimit(.minutes(10)))
    func exactlyOneProcessHoldsTheVaultAtATime() async throws {
        let rounds = environmentInteger("SESSION_VAULT_CONTENTION_ROUNDS", default: 12)
        let workers = 3
        try await withScratchDirectory { directory in
            let path = directory + "/shared.session"
            let common = ["--kdf", "interactive", "--passwd-every", "0", "--rotate-every", "0", "--dc-every", "4", "--seconds", "60"]
            let setup = try ChildProcess(SoakBinary.path, ["soak", path, "--transactions", "3", "--seed", "1"] + common, environment: SoakBinary.soakEnvironment(current: 0))
            #expect(await setup.wait() == .exited(0), "\(setup.stderr)")
            let initial = try #require(try await reopen(path))
            let initialPTS = try #require(initial.session.updateState?.pts)

            let clock = ContinuousClock()
            let start = clock.now
            func attempt(_ child: ChildProcess, worker: Int, waits: Bool) async -> Attempt {
                let termination = await child.wait()
                return Attempt(
                    worker: worker,
                    waits: waits,
                    pid: child.pid,
                    started: child.started,
                    ended: child.ended ?? clock.now,
                    termination: termination,
                    events: child.lines.compactMap { SoakEvent(line: $0) },
                    stderr: child.stderr
                )
            }

            // 1. Deterministic: a holder pauses with the vault open; openers are refused naming its
            //    pid, and an opener with --lock-wait waits until the holder lets go.
            let holder = try ChildProcess(
                SoakBinary.path,
                ["soak", path, "--transactions", "3", "--seed", "2", "--pause-for-inspection"] + common,
                environment: SoakBinary.soakEnvironment(current: 0),
                input: true
            )
            try #require(await holder.waitForLine(timeout: .seconds(120)) { $0 == "pause opened" } != nil, "\(holder.stderr)")
            var phaseOne: [Attempt] = []
            for round in 0..<2 {
                let opener = try ChildProcess(SoakBinary.path, ["soak", path, "--transactions", "2", "--seed", "\(round + 3)"] + common, environment: SoakBinary.soakEnvironment(current: 0))
                let refused = await attempt(opener, worker: 9, waits: false)
                #expect(refused.termination == .exited(67), "\(refused.stderr)")
                #expect(refused.stderr.contains("in use by pid \(holder.pid)"), "\(refused.stderr)")
                phaseOne.append(refused)
            }
            let waiter = try ChildProcess(
                SoakBinary.path,
                ["soak", path, "--transactions", "3", "--seed", "5", "--lock-wait", "120"] + common,
                environment: SoakBinary.soakEnvironment(current: 0)
            )
            try await Task.sleep(for: .milliseconds(400))
            #expect(waiter.poll() == nil && !waiter.stdout.contains("commit 0"), "the waiter did not wait: \(waiter.stderr)")
            holder.send("\n")
            try #require(await holder.waitForLine(timeout: .seconds(120)) { $0 == "pause closed" } != nil, "\(holder.stderr)")
            holder.send("\n")
            holder.closeInput()
            phaseOne.append(await attempt(holder, worker: 9, waits: false))
            phaseOne.append(await attempt(waiter, worker: 9, waits: true))
            #expect(phaseOne.suffix(2).allSatisfy { $0.termination == .exited(0) }, "\(phaseOne.suffix(2).map(\.stderr))")

            // 2. Three processes in a loop.
            let looped = try await withThrowingTaskGroup(of: [Attempt].self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        var attempts: [Attempt] = []
                        for round in 0..<rounds {
                            // Spread the attempts over the time the others hold the vault.
                            try await Task.sleep(for: .milliseconds(20 + (worker * 37 + round * 53) % 180))
                            // Worker 2 waits for the lock; the others give up at once.
                            let waits = worker == 2
                            let arguments =
                                ["soak", path, "--transactions", "\(8 + (worker * 5 + round) % 9)", "--seed", "\(worker * 1000 + round + 7)"]
                                + common + (waits ? ["--lock-wait", "60"] : [])
                            let child = try ChildProcess(SoakBinary.path, arguments, environment: SoakBinary.soakEnvironment(current: 0))
                            attempts.append(await attempt(child, worker: worker, waits: waits))
                        }
                        return attempts
                    }
                }
                var all: [Attempt] = []
                for try await attempts in group { all += attempts }
                return all
            }
            let elapsed = clock.now - start
            let attempts = phaseOne + looped

            let succeeded = attempts.filter { $0.termination == .exited(0) }
            let refused = attempts.filter { $0.termination == .exited(67) }
            for attempt in attempts {
                let context = "worker \(attempt.worker) pid \(attempt.pid) (\(attempt.termination)): \(attempt.stderr)"
                #expect(attempt.termination == .exited(0) || (!attempt.waits && attempt.termination == .exited(67)), "\(context)")
                #expect(!attempt.stderr.lowercased().contains("database is locked"), "\(context)")
                #expect(!attempt.stderr.contains("SQLite error"), "\(context)")
            }
            // A refusal names a process that was running at the time and that did hold the vault.
            for attempt in refused {
                let match = attempt.stderr.firstMatch(of: /in use by pid (\d+)/)
                let holder = match.flatMap { pid_t($0.output.1) }
                #expect(holder != nil, "refusal without the holder's pid: \(attempt.stderr)")
                guard let holder else { continue }
                #expect(holder != attempt.pid)
                let holders = succeeded.filter { $0.pid == holder && $0.started < attempt.ended && attempt.started < $0.ended }
                #expect(holders.count == 1, "pid \(holder) named by pid \(attempt.pid) was not a holder running at the time")
            }
            // The successful runs form one chain of states, from the initial state to the final one.
            var byOpening: [SessionDigest: [Attempt]] = [:]
            for attempt in succeeded {
                let opened = try #require(attempt.events.first { $0.kind == .commit && $0.generation == 0 }, "no open line: \(attempt.stderr)")
                byOpening[opened.digest, default: []].append(attempt)
            }
            let forks = byOpening.filter { $0.value.count > 1 }
            #expect(forks.isEmpty, "two runs opened the same state: \(forks.keys)")
            var current = initial.digest
            var chained = 0
            while let next = byOpening[current]?.first {
                byOpening[current] = nil
                chained += 1
                current = try #require(next.events.last { $0.kind == .commit }).digest
            }
            #expect(chained == succeeded.count, "\(succeeded.count - chained) successful runs are not on the chain")
            let final = try #require(try await reopen(path))
            #expect(final.integrity == ["ok"])
            #expect(final.digest == current, "the vault does not hold the last state of the chain")
            let stateCommits = succeeded.flatMap(\.events).filter { $0.kind == .commit && $0.operation == .state }.count
            #expect(final.session.updateState?.pts == initialPTS + Int32(stateCommits), "lost updates")

            let waited = succeeded.filter(\.waits).count
            report(
                "contention: a paused holder refused 2 openers by its pid and made a --lock-wait opener wait; then "
                    + "\(workers) processes x \(rounds) rounds; \(attempts.count) opens in all in \(Int(seconds(elapsed))) s: "
                    + "\(succeeded.count) held the vault (\(waited) of them after waiting with --lock-wait), "
                    + "\(refused.count) refused with 'in use by pid <holder>' (exit 67, holder verified), 0 'database is locked'; "
                    + "\(chained) runs form one chain of \(stateCommits) update-state commits "
                    + "(final pts \(final.session.updateState?.pts ?? -1) = \(initialPTS) + \(stateCommits)); integrity ok"
            )
            #expect(refused.count > 0, "no contention happened: make the runs longer")
        }
    }
}
