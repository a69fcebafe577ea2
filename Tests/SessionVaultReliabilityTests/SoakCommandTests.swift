import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
@testable import SessionVaultOperations

#if canImport(Glibc)
import Glibc
import SessionVaultTestSupport
#endif

/// `session-vault soak` itself: its output is what the harness relies on, and it must never touch a
/// real vault.
@Suite("soak")
struct SoakCommandTests {
    @Test func everyTransactionIsAnnouncedThenConfirmedWithTheStateItCommitted() async throws {
        try await withScratchDirectory { directory in
            let path = directory + "/soak.session"
            let child = try ChildProcess(
                SoakBinary.path,
                ["soak", path, "--kdf", "interactive", "--transactions", "60", "--seconds", "600", "--seed", "4", "--passwd-every", "10", "--rotate-every", "10"],
                environment: SoakBinary.soakEnvironment(current: 0)
            )
            #expect(await child.wait() == .exited(0), "\(child.stderr)")
            let lines = child.lines
            let events = lines.compactMap { SoakEvent(line: $0) }
            #expect(events.count == lines.count - 1, "every line but the summary is an event")
            let summary = try #require(lines.last)
            #expect(summary.hasPrefix("summary transactions=60 ") && summary.contains(" rate=") && summary.hasSuffix("failed=no"), "\(summary)")
            // begin N, commit N, begin N+1, … with the same digest and passphrase in each pair.
            #expect(events.count == 2 * 61)
            for (index, pair) in stride(from: 0, to: events.count - 1, by: 2).map({ (events[$0], events[$0 + 1]) }).enumerated() {
                #expect(pair.0.kind == .begin && pair.1.kind == .commit && pair.0.generation == index && pair.1.generation == index)
                #expect(pair.0.operation == pair.1.operation && pair.0.digest == pair.1.digest && pair.0.passphraseIndex == pair.1.passphraseIndex)
                #expect(pair.0.description == String(lines[2 * index]), "the text form round-trips")
            }
            let operations = Set(events.map(\.operation))
            #expect(operations.isSuperset(of: [.create, .initial, .state, .channel, .passphraseChange, .rotation]), "\(operations)")
            // The last commit is what the vault holds, under the passphrase it names.
            let last = try #require(events.last)
            let reopened = try #require(try await reopen(path))
            #expect(reopened.digest == last.digest && reopened.passphraseIndex == last.passphraseIndex)
            // Run again: it opens with either passphrase and continues from the same state.
            let again = try ChildProcess(SoakBinary.path, ["soak", path, "--transactions", "3"], environment: SoakBinary.soakEnvironment(current: 0))
            #expect(await again.wait() == .exited(0), "\(again.stderr)")
            let opened = try #require(again.lines.compactMap { SoakEvent(line: $0) }.first)
            #expect(opened.kind == .commit && opened.operation == .open && opened.digest == last.digest)
        }
    }

    @Test func refusesAVaultWithARealSessionOrARecoveryKey() async throws {
        try await withScratchDirectory { directory in
            var configuration = SessionVault.Configuration()
            configuration.mode = .create
            configuration.fallback = .fail
            configuration.kdf = KDFParameters(opsLimit: KDFParameters.minimumOpsLimit, memLimit: KDFParameters.minimumMemLimit)
            let passphrase = try Passphrase(copying: soakPassphrases[0])
            let real = try await SessionVault.open(at: directory + "/real", passphrase: passphrase, configuration: configuration)
            try await real.save(Session(user: LoggedInUser(id: 42, dataCenterID: 2, isBot: false, username: "someone"), updateState: UpdateState(pts: 1, qts: 0, date: 0, seq: 0)))
            try await real.close()
            let recovery = try await SessionVault.open(at: directory + "/recovery", passphrase: passphrase, configuration: configuration)
            _ = try await recovery.addRecoveryKey()
            try await recovery.close()
            for (name, reason) in [("real", "holds a real session"), ("recovery", "has a recovery key")] {
                let before = fileBytes(directory + "/\(name).session")
                let child = try ChildProcess(SoakBinary.path, ["soak", directory + "/" + name, "--transactions", "5"], environment: SoakBinary.soakEnvironment(current: 0))
                #expect(await child.wait() == .exited(64), "\(child.stderr)")
                #expect(child.stderr.contains(reason), "\(child.stderr)")
                #expect(!child.stdout.contains("begin 1 "), "no transaction may start")
                #expect(fileBytes(directory + "/\(name).session") == before)
            }
        }
    }

    @Test func digestCoversEveryFieldAndOnlyKeyIDs() throws {
        let base = try VaultSoak.syntheticSession(channels: 4)
        var variants: [Session] = []
        var changed = base
        changed.updateState!.pts += 1
        variants.append(changed)
        changed = base
        changed.updateState!.channels[SyntheticSession.channelID(2)]! += 1
        variants.append(changed)
        changed = base
        changed.dataCenters[1].authKey = try AuthKey.random()
        variants.append(changed)
        changed = base
        changed.dataCenters[0].ipv4 = Endpoint(host: "149.154.175.54", port: 443)
        variants.append(changed)
        changed = base
        changed.user?.username = "other"
        variants.append(changed)
        changed = base
        changed.takeoutID = 1
        variants.append(changed)
        changed = base
        changed.isTestMode = true
        variants.append(changed)
        let digests = Set(([base] + variants).map(SessionDigest.init(of:)))
        #expect(digests.count == variants.count + 1, "every change changes the digest")
        var reordered = base
        reordered.dataCenters.reverse()
        #expect(SessionDigest(of: reordered) == SessionDigest(of: base), "data center order does not matter")
        let digest = SessionDigest(of: base)
        #expect(SessionDigest(hex: digest.description) == digest && digest.description.count == 32)
    }
}
