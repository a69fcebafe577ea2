/// The task executor of one vault (``SessionVault/taskExecutor``): code of a task that prefers it
/// runs on the vault's own serial queue, between the vault's jobs, on a SessionVault pool thread.
///
/// A call from such a task to its vault and the return to the caller's code then stay on the queue:
/// no thread is woken on either side, as a call from Swift's cooperative pool needs (a vault thread,
/// then a cooperative-pool thread). The caller's code never runs on the cooperative pool, and never
/// at the same time as the vault's own jobs.
///
/// The PostgreSQL package gives each of its connection pools one with a thread of its own
/// (``init(ownThreadNamed:)``): postgres-nio's connection upkeep, the lease renewals and the replies
/// to queries then never wait behind whatever else keeps Swift's cooperative pool or the vaults'
/// threads busy (a renewal that waits past its margin loses the lease).
package final class VaultTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: immutable; the queue it feeds is guarded by its pool's mutex.

    /// The queue whose jobs this executor's jobs join.
    let executor: VaultExecutor

    /// A task executor that feeds `executor`'s queue.
    init(feeding executor: VaultExecutor) {
        self.executor = executor
    }

    /// A task executor with a thread of its own, named `name` and a number (Linux keeps 15 bytes of
    /// a thread's name): nothing else runs on that thread, which starts now and lives as long as the process.
    package convenience init(ownThreadNamed name: String) throws(VaultError) {
        self.init(feeding: try VaultExecutor(pool: VaultThreadPool(threadCount: 1, name: name)))
    }

    /// Queues `job` behind the vault's pending jobs.
    package func enqueue(_ job: consuming ExecutorJob) {
        executor.pool.enqueue(.preferring(UnownedJob(job), asUnownedTaskExecutor()), on: executor)
    }

    /// This executor, unowned (a task that prefers it keeps it alive).
    package func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }
}
