import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Waiters honour task cancellation: a call cancelled before it starts returns at once with
/// `inUse` and writes nothing, while the call holding the vault carries on. No test here asserts a
/// duration; they check what returned while what was still held, and what was stored.
@Suite("Cancellation")
struct CancellationTests {
    /// The scenario the issue asks for: a call waits behind a holder that is still working; its
    /// task is cancelled; it returns at once with `inUse`, while the holder is still held and then
    /// finishes; nothing of the cancelled call reaches the store.
    @Test func aCancelledWaiterReturnsWhileTheHolderKeepsGoing() async throws {
        let control = HeldCommitStore.Control()
        let backing = SharedDictionaryStore.Backing()
        let vault = try await SessionVault.open(
            store: HeldCommitStore(backing, control: control),
            storageKind: .external,
            location: "held",
            passphrase: passphrase(),
            configuration: fastConfiguration()
        )
        try await vault.saveUpdateState(pts: 1, qts: 0, date: 0, seq: 1)
        let commitsBefore = control.commits

        control.arm()
        let holder = Task { try await vault.saveUpdateState(pts: 2, qts: 0, date: 0, seq: 2) }
        await control.waitUntilHeld()

        let waiter = Task { try await vault.saveUpdateState(pts: 3, qts: 0, date: 0, seq: 3) }
        while vault.gate.waiterCount == 0 { await Task.yield() }
        waiter.cancel()
        let outcome = await waiter.result

        // The waiter is back while the holder is still inside its commit.
        #expect(control.isHolding)
        #expect(vault.gate.waiterCount == 0)
        #expect(throws: VaultError(.inUse, "")) { try outcome.get() }
        if case .failure(let error as VaultError) = outcome {
            #expect(error.holderPID == nil)
            #expect(error.message.contains("cancelled"))
        }

        control.release()
        try await holder.value
        #expect(control.commits == commitsBefore + 1)
        #expect(try await vault.load()?.updateState?.pts == 2)
        // What the store holds is the holder's state, not the cancelled call's.
        let stored = try await vault.authenticateStoredRecords()
        #expect(stored == 1)
        #expect(try await vault.load()?.updateState?.seq == 2)

        // The vault is still usable.
        try await vault.saveUpdateState(pts: 4, qts: 0, date: 0, seq: 4)
        #expect(try await vault.load()?.updateState?.pts == 4)
        try await vault.close()
    }

    /// Waiters are served in the order they came, and cancelling one in the middle does not
    /// disturb the others.
    @Test func waitersAreServedInOrderAroundACancelledOne() async throws {
        let control = HeldCommitStore.Control()
        let vault = try await SessionVault.open(
            store: HeldCommitStore(SharedDictionaryStore.Backing(), control: control),
            storageKind: .external,
            location: "held",
            passphrase: passphrase(),
            configuration: fastConfiguration()
        )
        control.arm()
        let holder = Task { try await vault.saveChannelState(channelID: 1, pts: 1) }
        await control.waitUntilHeld()
        var waiters: [Task<Void, any Error>] = []
        for channel in Int64(2)...4 {
            waiters.append(Task { try await vault.saveChannelState(channelID: channel, pts: Int32(channel)) })
            while vault.gate.waiterCount < Int(channel - 1) { await Task.yield() }
        }
        waiters[1].cancel()
        _ = await waiters[1].result
        #expect(vault.gate.waiterCount == 2)
        control.release()
        try await holder.value
        try await waiters[0].value
        try await waiters[2].value
        let channels = try #require(try await vault.load()?.updateState?.channels)
        #expect(channels == [1: 1, 2: 2, 4: 4])
        try await vault.close()
    }

    @Test func aCallFromAnAlreadyCancelledTaskWritesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/cancelled"
            let vault = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration())
            try await vault.saveUpdateState(pts: 1, qts: 0, date: 0, seq: 1)
            let outcome = await Task {
                withUnsafeCurrentTask { $0?.cancel() }
                try await vault.saveUpdateState(pts: 2, qts: 0, date: 0, seq: 2)
            }.result
            #expect(throws: VaultError(.inUse, "")) { try outcome.get() }
            #expect(try await vault.load()?.updateState?.pts == 1)

            // close() is never cancelled: a shutdown path in a cancelled task still closes.
            let closed = await Task {
                withUnsafeCurrentTask { $0?.cancel() }
                try await vault.close()
                return await vault.isClosed
            }.result
            #expect(try closed.get())
            let reopened = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            #expect(try await reopened.load()?.updateState?.pts == 1)
            try await reopened.close()
        }
    }

    /// An opener waiting (with a long `lockWait`) for another opener to let go stops waiting when
    /// its task is cancelled. The time limit only guards against a hang.
    @Test(.timeLimit(.minutes(1)))
    func anOpenerWaitingForTheFileLockHonoursCancellation() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/locked"
            let first = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration())
            var configuration = fastConfiguration(mode: .openExisting)
            configuration.lockWait = .seconds(3600)
            let second = Task { try await SessionVault.open(at: path, passphrase: passphrase(), configuration: configuration) }
            try await Task.sleep(for: .milliseconds(50))
            second.cancel()
            let outcome = await second.result
            #expect(throws: VaultError(.inUse, "")) { try outcome.get() }
            if case .failure(let error as VaultError) = outcome {
                #expect(error.holderPID == getpid())
            }
            try await first.close()
        }
    }

    // MARK: - The gate itself

    @Test func aWaiterThatIsNotCancellableIgnoresCancellation() async throws {
        let gate = OperationGate()
        #expect(await gate.enter(cancellable: true))
        let waiter = Task { await gate.enter(cancellable: false) }
        while gate.waiterCount == 0 { await Task.yield() }
        waiter.cancel()
        // Still waiting: only leave() lets it in.
        await Task.yield()
        #expect(gate.waiterCount == 1)
        gate.leave()
        #expect(await waiter.value)
        gate.leave()
        #expect(await gate.enter(cancellable: true))
        gate.leave()
    }
}
