import Foundation
import Synchronization
@testable import SessionVaultKit

/// A `RecordStore` over a ``SharedDictionaryStore/Backing`` whose next commit, once armed, stops
/// half-way (suspended) until the test lets it go: how the tests hold a vault's operation lock while
/// other calls queue behind it. Its next `readRecords`, once armed, instead blocks the thread that
/// runs it, the way a SQLite call does. It also records which thread ran each call.
final class HeldCommitStore: RecordStore {
    /// What the test and the store share.
    final class Control: Sendable {
        private struct State {
            var armed = false
            var held: CheckedContinuation<Void, Never>?
            var holding = false
            var released = false
            var commits = 0
            var threadNames: Set<String> = []
            var blockNextRead = false
            var blockedReadThread: String?
        }

        private let state = Mutex(State())
        private let readGate = DispatchSemaphore(value: 0)
        private let entered: AsyncStream<Void>
        private let enteredContinuation: AsyncStream<Void>.Continuation

        init() {
            (entered, enteredContinuation) = AsyncStream<Void>.makeStream()
        }

        /// The next commit stops until ``release()``.
        func arm() { state.withLock { $0.armed = true } }

        /// The next `readRecords` blocks its thread until ``releaseRead()``.
        func armBlockingRead() { state.withLock { $0.blockNextRead = true } }

        /// Unblocks a blocked `readRecords` (or the next one, if none is blocked yet).
        func releaseRead() { readGate.signal() }

        /// The name of the thread that an armed `readRecords` blocked.
        var blockedReadThread: String? { state.withLock { $0.blockedReadThread } }

        /// Waits until an armed commit has stopped, or an armed read has blocked.
        func waitUntilHeld() async {
            for await _ in entered { return }
        }

        /// Lets a held commit go on.
        func release() {
            let held = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.released = true
                defer { state.held = nil }
                return state.held
            }
            held?.resume()
        }

        /// Whether a commit is stopped right now.
        var isHolding: Bool { state.withLock { $0.holding } }
        /// Commits completed so far.
        var commits: Int { state.withLock { $0.commits } }
        /// The names (`/proc/thread-self/comm`) of the threads that ran store calls.
        var threadNames: Set<String> { state.withLock { $0.threadNames } }

        fileprivate func recordThread() {
            let name = Self.threadName()
            state.withLock { _ = $0.threadNames.insert(name) }
        }

        static func threadName() -> String {
            (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        }

        /// Blocks the calling thread when a read was armed (not a suspension: the thread is taken).
        fileprivate func blockIfArmed() {
            let mustBlock = state.withLock { state -> Bool in
                guard state.blockNextRead else { return false }
                state.blockNextRead = false
                state.blockedReadThread = Self.threadName()
                return true
            }
            guard mustBlock else { return }
            enteredContinuation.yield()
            readGate.wait()
        }

        fileprivate func holdIfArmed() async {
            let mustHold = state.withLock { state -> Bool in
                guard state.armed else { return false }
                state.armed = false
                state.holding = true
                return true
            }
            guard mustHold else { return }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.released { return true }
                    state.held = continuation
                    return false
                }
                enteredContinuation.yield()
                if resumeNow { continuation.resume() }
            }
            state.withLock { $0.holding = false }
        }

        fileprivate func committed() { state.withLock { $0.commits += 1 } }
    }

    let inner: SharedDictionaryStore
    let control: Control

    init(_ backing: SharedDictionaryStore.Backing, control: Control) {
        inner = SharedDictionaryStore(backing)
        self.control = control
    }

    var storageKind: StorageKind { .external }

    func readHeader() async throws(VaultError) -> StoredHeader? {
        control.recordThread()
        return try inner.readHeader()
    }
    func readKeyslots() async throws(VaultError) -> [StoredKeyslot] {
        control.recordThread()
        return try inner.readKeyslots()
    }
    func readRecords() async throws(VaultError) -> [SealedRecord] {
        control.recordThread()
        control.blockIfArmed()
        return try inner.readRecords()
    }
    func readRecord(tag: [UInt8]) async throws(VaultError) -> SealedRecord? {
        control.recordThread()
        return try inner.readRecord(tag: tag)
    }
    func commit(_ transaction: RecordTransaction) async throws(VaultError) {
        control.recordThread()
        await control.holdIfArmed()
        try inner.commit(transaction)
        control.committed()
    }
    func close() async throws(VaultError) { try inner.close() }
    func destroy() async throws(VaultError) { try inner.destroy() }
}
