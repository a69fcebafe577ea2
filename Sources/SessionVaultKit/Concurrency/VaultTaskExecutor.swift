/// The task executor of one vault (``SessionVault/taskExecutor``): code of a task that prefers it
/// runs on the vault's own serial queue, between the vault's jobs, on a SessionVault pool thread.
///
/// A call from such a task to its vault and the return to the caller's code then stay on the queue:
/// no thread is woken on either side, as a call from Swift's cooperative pool needs (a vault thread,
/// then a cooperative-pool thread). The caller's code never runs on the cooperative pool, and never
/// at the same time as the vault's own jobs.
final class VaultTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: immutable; the queue it feeds is guarded by its pool's mutex.

    /// The queue whose jobs this executor's jobs join.
    let executor: VaultExecutor

    /// A task executor that feeds `executor`'s queue.
    init(feeding executor: VaultExecutor) {
        self.executor = executor
    }

    /// Queues `job` behind the vault's pending jobs.
    func enqueue(_ job: consuming ExecutorJob) {
        executor.pool.enqueue(.preferring(UnownedJob(job), asUnownedTaskExecutor()), on: executor)
    }

    /// This executor, unowned (a task that prefers it keeps it alive).
    func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }
}
