#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The serial executor of one vault: its jobs run one at a time, in order, on a thread of a
/// ``VaultThreadPool``, never on Swift's cooperative pool or on the caller's actor.
///
/// ``SessionVault`` is isolated to one of these (its `unownedExecutor`), so everything the actor
/// does (SQLite statements, the `fdatasync` of a durable commit, sealing) runs on a pool thread,
/// and Argon2id on a ``KDFLane`` thread while the vault's executor waits for it; `open` hops onto
/// the new vault's executor before it touches the file or derives a key (see ``ExecutorHop``).
final class VaultExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked Sendable: the mutable fields below are read and written only with the pool's
    // mutex held (VaultThreadPool owns the queue discipline).

    /// Where an executor stands in its pool.
    enum RunState {
        /// No pending jobs and no thread running it.
        case idle
        /// Pending jobs, waiting in the pool's ready queue.
        case ready
        /// A thread is running its jobs.
        case running
    }

    /// One job of the queue.
    enum Job {
        /// A job of the actor isolated to this executor (the vault, or an ``ExecutorHop``).
        case isolated(UnownedJob)
        /// A job of a task that prefers this executor's ``VaultTaskExecutor``: code with no
        /// isolation of its own (the caller's code between its calls to the vault).
        case preferring(UnownedJob, UnownedTaskExecutor)
    }

    /// The pool whose threads run this executor's jobs.
    let pool: VaultThreadPool
    /// Jobs not yet taken by a thread (guarded by the pool's mutex).
    var pendingJobs: [Job] = []
    /// Guarded by the pool's mutex.
    var runState = RunState.idle
    /// The thread running this executor's jobs while ``runState`` is `.running` (guarded by the pool's mutex).
    var runningThread: pthread_t?

    /// A new executor on `pool` (by default the shared one), whose first thread is started if
    /// needed. Executors are cheap: one per vault.
    init(pool: VaultThreadPool = .shared) throws(VaultError) {
        try pool.ensureRunning()
        self.pool = pool
    }

    /// Hands `job` to the pool.
    func enqueue(_ job: consuming ExecutorJob) {
        pool.enqueue(.isolated(UnownedJob(job)), on: self)
    }

    /// This executor, unowned (the actor that uses it keeps it alive).
    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Traps unless the calling thread is running this executor's jobs (for `assumeIsolated`).
    func checkIsolated() {
        precondition(pool.isRunning(self), "not on this vault's executor")
    }
}
