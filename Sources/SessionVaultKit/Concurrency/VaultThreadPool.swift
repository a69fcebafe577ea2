import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The threads that run vaults' work: SQLite calls, `fdatasync`, sealing (Argon2id has its own
/// pool of this kind, ``KDFLane``).
///
/// Every vault has its own ``VaultExecutor`` (a serial queue of jobs); the pool's threads take
/// whichever executor has work, run its pending jobs, and move on, the way a GCD serial queue
/// borrows a thread of its target queue. A vault blocked in `fdatasync` therefore occupies one
/// pool thread and never a thread of Swift's cooperative pool or the caller's actor, and the other
/// vaults keep using the other pool threads.
///
/// The pool is bounded: a process with a thousand open vaults still has ``threadCount`` threads.
/// Threads start on demand and then live as long as the process.
///
/// One mutex guards the pool and the job queues of all its executors.
///
/// A thread that runs out of work first spins for ``spinBeforeSleeping`` (yielding the processor on
/// every turn) before it sleeps on the condition variable: a caller that awaits one vault call after
/// another sends the next job within microseconds, and catching it awake saves a wake-up on each
/// side. Measured on a 2-core VM (a round trip from the cooperative pool to a vault executor and
/// back): 22–30 µs median without the spin, 8–13 µs with it.
final class VaultThreadPool: @unchecked Sendable {
    // @unchecked Sendable: every mutable field, here and in the executors' queues, is read and
    // written with `mutex` held.

    /// The pool every vault uses.
    static let shared = VaultThreadPool(threadCount: defaultThreadCount, name: "sv-vault")

    /// Twice the processor count, at least 8 and at most 32. The threads mostly wait (in
    /// `fdatasync`, or for a database's reply), so more of them than cores lets more vaults sync at
    /// once: 8 vaults saving durably on a 2-core VM made 2.8k saves/s with 2 threads, 6.2k with 4,
    /// 7.5k with 8 and 7.7k with a thread per vault (medians of 6 rounds; the worst stall of the
    /// cooperative pool stayed under 12 ms in every case). Argon2id has its own pool (``KDFLane``),
    /// so this count does not bound memory.
    static var defaultThreadCount: Int {
        let processors = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return min(32, max(8, 2 * max(1, processors)))
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
    /// Threads in ``spinForWork()``, which will look at `ready` again before they sleep.
    private var spinningThreads = 0
    /// Whether at least one thread was started (``ensureRunning()``'s fast path).
    private let hasThreads = Atomic<Bool>(false)
    /// How many executors wait in `ready`: read without the mutex by spinning threads.
    private let readyCount = Atomic<Int>(0)

    /// How long a thread that ran out of work looks for more before it sleeps.
    static let spinBeforeSleeping = Duration.microseconds(20)

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
        // Each thread keeps its pool alive, so only a pool that never started a thread is ever
        // released; the shared pools live as long as the process.
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Starts the first thread if none runs yet, so that a failure to create threads surfaces as
    /// an error of the call that needs the pool instead of work that never runs.
    func ensureRunning() throws(VaultError) {
        // Every open makes an executor: once a thread runs, skip the mutex (pool threads take it
        // all the time, and a holder preempted on a busy machine would stall the caller).
        if hasThreads.load(ordering: .acquiring) { return }
        lock()
        defer { unlock() }
        if startedThreads > 0 { return }
        let code = startThread()
        guard code == 0 else {
            throw VaultError(.io, "cannot start a SessionVault worker thread (\(String(cString: strerror(code))))", errno: code)
        }
    }

    /// Queues `job` on `executor` and makes sure a thread will run it.
    func enqueue(_ job: VaultExecutor.Job, on executor: VaultExecutor) {
        lock()
        executor.pendingJobs.append(job)
        if executor.runState == .idle {
            executor.runState = .ready
            ready.append(executor)
            readyCount.add(1, ordering: .releasing)
            // A spinning thread will take the executor without being woken; wake (or start) a
            // thread only for executors that the spinning threads cannot all take.
            if ready.count - readyHead > spinningThreads {
                if idleThreads > 0 {
                    pthread_cond_signal(condition)
                } else if startedThreads < threadCount {
                    // Best effort: the threads already running (at least one, see ensureRunning)
                    // will get to this executor when they are free.
                    _ = startThread()
                }
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
        hasThreads.store(true, ordering: .releasing)
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
            if readyHead == ready.count {
                spinningThreads += 1
                unlock()
                spinForWork()
                lock()
                spinningThreads -= 1
            }
            while readyHead == ready.count {
                idleThreads += 1
                pthread_cond_wait(condition, mutex)
                idleThreads -= 1
            }
            let executor = ready[readyHead]
            readyHead += 1
            readyCount.subtract(1, ordering: .relaxed)
            if readyHead == ready.count {
                ready.removeAll(keepingCapacity: true)
                readyHead = 0
            } else if readyHead >= 64 && readyHead * 2 >= ready.count {
                ready.removeFirst(readyHead)
                readyHead = 0
            }
            executor.runState = .running
            executor.runningThread = pthread_self()
            var batch: [VaultExecutor.Job] = []
            swap(&batch, &executor.pendingJobs)
            unlock()

            let unownedExecutor = executor.asUnownedSerialExecutor()
            for job in batch {
                switch job {
                case .isolated(let job): job.runSynchronously(on: unownedExecutor)
                case .preferring(let job, let taskExecutor): job.runSynchronously(on: taskExecutor)
                }
            }

            lock()
            executor.runningThread = nil
            if executor.pendingJobs.isEmpty {
                executor.runState = .idle
            } else {
                // More work arrived while it ran: back of the line, so that one busy vault cannot
                // starve the others.
                executor.runState = .ready
                ready.append(executor)
                readyCount.add(1, ordering: .releasing)
            }
        }
    }

    /// Waits up to ``spinBeforeSleeping`` for an executor to become ready, yielding the processor on
    /// every turn so that runnable threads (the caller's, often) are not kept waiting. The caller
    /// takes the mutex and checks again either way.
    private func spinForWork() {
        let deadline = ContinuousClock.now.advanced(by: Self.spinBeforeSleeping)
        while readyCount.load(ordering: .acquiring) == 0 && ContinuousClock.now < deadline {
            sched_yield()
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
