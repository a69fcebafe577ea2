#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The threads that run vaults' work: SQLite calls, `fdatasync`, Argon2id, sealing.
///
/// Every vault has its own ``VaultExecutor`` (a serial queue of jobs); the pool's threads take
/// whichever executor has work, run its pending jobs, and move on, the way a GCD serial queue
/// borrows a thread of its target queue. A vault blocked in `fdatasync` therefore occupies one
/// pool thread and never a thread of Swift's cooperative pool or the caller's actor, and the other
/// vaults keep using the other pool threads.
///
/// The pool is bounded: a process with a thousand open vaults still has ``threadCount`` threads,
/// and no more than ``threadCount`` Argon2id derivations (each with its memory limit, 64 MiB by
/// default) run at once. Threads start on demand and then live as long as the process.
///
/// One mutex guards the pool and the job queues of all its executors.
final class VaultThreadPool: @unchecked Sendable {
    // @unchecked Sendable: every mutable field, here and in the executors' queues, is read and
    // written with `mutex` held.

    /// The pool every vault uses.
    static let shared = VaultThreadPool(threadCount: defaultThreadCount, name: "sv-vault")

    /// Twice the processor count, at least 4 and at most 16: enough threads for several vaults to
    /// wait in `fdatasync` at once while others compute, and few enough that concurrent Argon2id
    /// runs cannot exhaust memory.
    static var defaultThreadCount: Int {
        let processors = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return min(16, max(4, 2 * max(1, processors)))
    }

    /// The most threads this pool starts.
    let threadCount: Int
    /// The threads' name prefix (Linux allows 15 bytes in all).
    let name: String

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    /// Executors with pending jobs that no thread is running, in the order they became ready.
    private var ready: [VaultExecutor] = []
    private var readyHead = 0
    private var startedThreads = 0
    private var idleThreads = 0

    init(threadCount: Int, name: String) {
        precondition(threadCount > 0)
        self.threadCount = threadCount
        self.name = name
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        // Only pools made for tests are ever released, and only once their threads are gone; the
        // shared pool lives as long as the process.
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Starts the first thread if none runs yet, so that a failure to create threads surfaces as
    /// an error of the call that needs the pool instead of work that never runs.
    func ensureRunning() throws(VaultError) {
        lock()
        defer { unlock() }
        if startedThreads > 0 { return }
        let code = startThread()
        guard code == 0 else {
            throw VaultError(.io, "cannot start a SessionVault worker thread (\(String(cString: strerror(code))))", errno: code)
        }
    }

    /// Queues `job` on `executor` and makes sure a thread will run it.
    func enqueue(_ job: UnownedJob, on executor: VaultExecutor) {
        lock()
        executor.pendingJobs.append(job)
        if executor.runState == .idle {
            executor.runState = .ready
            ready.append(executor)
            if idleThreads > 0 {
                pthread_cond_signal(condition)
            } else if startedThreads < threadCount {
                // Best effort: the threads already running (at least one, see ensureRunning) will
                // get to this executor when they are free.
                _ = startThread()
            }
        }
        unlock()
    }

    /// Whether the calling thread is running `executor`'s jobs right now.
    func isRunning(_ executor: VaultExecutor) -> Bool {
        lock()
        defer { unlock() }
        guard executor.runState == .running, let thread = executor.runningThread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    // MARK: - Threads

    /// Starts one more thread; call with the mutex held. Returns 0 or `pthread_create`'s error.
    private func startThread() -> Int32 {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let start = Unmanaged.passRetained(ThreadStart(pool: self, index: startedThreads))
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let code = pthread_create(&thread, &attributes, vaultThreadMain, start.toOpaque())
        guard code == 0 else {
            start.release()
            return code
        }
        startedThreads += 1
        return 0
    }

    /// What a new thread needs: its pool (kept alive by the thread) and its number.
    final class ThreadStart {
        let pool: VaultThreadPool
        let index: Int
        init(pool: VaultThreadPool, index: Int) {
            self.pool = pool
            self.index = index
        }
    }

    /// A thread's life: take the executor that has waited longest, run the jobs it has, repeat.
    fileprivate func work(index: Int) {
        setThreadName("\(name)-\(index)")
        lock()
        while true {
            while readyHead == ready.count {
                idleThreads += 1
                pthread_cond_wait(condition, mutex)
                idleThreads -= 1
            }
            let executor = ready[readyHead]
            readyHead += 1
            if readyHead == ready.count {
                ready.removeAll(keepingCapacity: true)
                readyHead = 0
            } else if readyHead >= 64 && readyHead * 2 >= ready.count {
                ready.removeFirst(readyHead)
                readyHead = 0
            }
            executor.runState = .running
            executor.runningThread = pthread_self()
            var batch: [UnownedJob] = []
            swap(&batch, &executor.pendingJobs)
            unlock()

            let unownedExecutor = executor.asUnownedSerialExecutor()
            for job in batch { job.runSynchronously(on: unownedExecutor) }

            lock()
            executor.runningThread = nil
            if executor.pendingJobs.isEmpty {
                executor.runState = .idle
            } else {
                // More work arrived while it ran: back of the line, so that one busy vault cannot
                // starve the others.
                executor.runState = .ready
                ready.append(executor)
            }
        }
    }

    private func lock() { pthread_mutex_lock(mutex) }
    private func unlock() { pthread_mutex_unlock(mutex) }
}

/// The entry point of every pool thread (a C function pointer: no captures).
#if canImport(Darwin)
private func vaultThreadMain(_ context: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
    let start = Unmanaged<VaultThreadPool.ThreadStart>.fromOpaque(context).takeRetainedValue()
    start.pool.work(index: start.index)
    return nil
}
#else
private func vaultThreadMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let start = Unmanaged<VaultThreadPool.ThreadStart>.fromOpaque(context!).takeRetainedValue()
    start.pool.work(index: start.index)
    return nil
}
#endif

/// Names the calling thread (shown by `top -H`, `gdb`, `perf`; Linux keeps 15 bytes). Through
/// procfs on Linux, where Glibc's module does not export `pthread_setname_np`.
private func setThreadName(_ name: String) {
    #if canImport(Darwin)
    _ = pthread_setname_np(name)
    #else
    let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    #endif
}
