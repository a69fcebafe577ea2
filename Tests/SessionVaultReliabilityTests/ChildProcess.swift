import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, its standard output and error collected by two
/// reader threads, for tests that watch it line by line, kill it at a chosen moment, or run it
/// through `prlimit`/`setpriv`.
///
/// Pipes are marked close-on-exec at once, so no other test's child inherits them (and keeps them
/// open). Shared state is guarded by `NSLock` rather than `Synchronization.Mutex`: the thread
/// sanitizer cannot see `Mutex`'s lock on Linux and reports false races (see tsan-suppressions.txt).
final class ChildProcess: @unchecked Sendable {
    // @unchecked Sendable: every mutable field is guarded by `lock`.
    /// How a child ended.
    enum Termination: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        var description: String {
            switch self {
            case .exited(let code): "exit \(code)"
            case .signaled(let signal): "signal \(signal)"
            }
        }
    }

    let pid: pid_t
    let arguments: [String]
    /// When the child was spawned (before `posix_spawn`).
    let started: ContinuousClock.Instant
    private let output: Collected
    private let errors: Collected
    private let inputDescriptor: Int32
    private var inputOpen: Bool
    private let lock = NSLock()
    private var termination: (Termination, ContinuousClock.Instant)?

    /// Spawns `executable` with exactly `environment` (nothing inherited).
    /// - Parameter input: Keep a pipe to standard input open (``send(_:)``, ``closeInput()``); otherwise
    ///   standard input is `/dev/null`.
    /// Writing to a child that already died must be an EPIPE error, not a SIGPIPE that ends the
    /// whole test process.
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    init(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        input: Bool = false
    ) throws {
        _ = Self.ignoreBrokenPipes
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        var inPipe: [Int32] = [-1, -1]
        guard Self.makePipe(&outPipe), Self.makePipe(&errPipe) else {
            throw ChildProcessError("pipe failed: errno \(errno)")
        }
        if input {
            guard Self.makePipe(&inPipe) else { throw ChildProcessError("pipe failed: errno \(errno)") }
        } else {
            inPipe[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        started = ContinuousClock.now
        let status = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard status == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            if input { close(inPipe[1]) }
            throw ChildProcessError("posix_spawn \(executable) failed: \(String(cString: strerror(status)))")
        }
        self.pid = pid
        self.arguments = arguments
        inputDescriptor = input ? inPipe[1] : -1
        inputOpen = input
        output = Collected(descriptor: outPipe[0])
        errors = Collected(descriptor: errPipe[0])
    }

    /// Standard output so far.
    var stdout: String { output.text }
    /// Standard error so far.
    var stderr: String { errors.text }
    /// Complete lines of standard output so far.
    var lines: [Substring] { output.lines }

    /// Waits until a complete output line satisfies `predicate`, the child exits, or `timeout` passes.
    /// Returns the matching line.
    func waitForLine(timeout: Duration = .seconds(60), where predicate: (Substring) -> Bool) async -> Substring? {
        let deadline = ContinuousClock.now + timeout
        var checked = 0
        while ContinuousClock.now < deadline {
            let lines = output.lines
            if let match = lines[checked...].first(where: predicate) { return match }
            checked = lines.count
            if poll() != nil {
                try? await Task.sleep(for: .milliseconds(5))
                return output.lines.first(where: predicate)
            }
            try? await Task.sleep(for: .microseconds(500))
        }
        return nil
    }

    /// Writes `text` to standard input (the child must have been started with `input: true`).
    func send(_ text: String) {
        var bytes = Array(text.utf8)
        lock.withLock {
            guard inputOpen else { return }
            _ = bytes.withUnsafeMutableBytes { write(inputDescriptor, $0.baseAddress, $0.count) }
        }
    }

    /// Closes standard input (once: a descriptor number closed twice may by then belong to
    /// another test's pipe).
    func closeInput() {
        lock.withLock {
            if inputOpen { close(inputDescriptor) }
            inputOpen = false
        }
    }

    /// Sends `signal`, unless the child was already reaped: its pid may then belong to another
    /// process, or be the id of a new thread of this very process (kill would reach all of it).
    func kill(_ signal: Int32 = SIGKILL) {
        lock.withLock {
            if termination == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    /// The termination, when the child already ended (reaps it).
    @discardableResult
    func poll() -> Termination? {
        lock.withLock {
            if let termination { return termination.0 }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            guard reaped == pid else { return nil }
            let ended = Self.decode(status)
            termination = (ended, ContinuousClock.now)
            return ended
        }
    }

    /// Waits for the child to end and for both streams to reach end of file.
    func wait(timeout: Duration = .seconds(120)) async -> Termination {
        let deadline = ContinuousClock.now + timeout
        while poll() == nil {
            if ContinuousClock.now >= deadline {
                kill()
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        await output.waitForEnd()
        await errors.waitForEnd()
        closeInput()
        return poll()!
    }

    /// When the harness saw the child end (after ``wait(timeout:)``).
    var ended: ContinuousClock.Instant? { lock.withLock { termination?.1 } }

    /// `pipe` with both ends close-on-exec (`pipe2` is not exported to Swift).
    private static func makePipe(_ descriptors: inout [Int32]) -> Bool {
        guard pipe(&descriptors) == 0 else { return false }
        _ = fcntl(descriptors[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(descriptors[1], F_SETFD, FD_CLOEXEC)
        return true
    }

    private static func decode(_ status: Int32) -> Termination {
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }

    /// One stream, read to end of file by its own thread.
    private final class Collected: @unchecked Sendable {
        // @unchecked Sendable: `bytes` and `finished` are guarded by `lock`.
        private let lock = NSLock()
        private var bytes: [UInt8] = []
        private var finished = false

        init(descriptor: Int32) {
            let thread = Thread { [self] in
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    lock.withLock { bytes.append(contentsOf: buffer[0..<count]) }
                }
                close(descriptor)
                lock.withLock { finished = true }
            }
            thread.start()
        }

        var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }

        var lines: [Substring] {
            let text = self.text
            guard let last = text.lastIndex(of: "\n") else { return [] }
            return text[..<last].split(separator: "\n", omittingEmptySubsequences: false)
        }

        func waitForEnd() async {
            while !lock.withLock({ finished }) { try? await Task.sleep(for: .milliseconds(1)) }
        }
    }
}

/// A failure to start a child.
struct ChildProcessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
