#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The single-opener lock of a vault file: an exclusive `flock` on `<vault>-lock`, which holds the
/// holder's pid as text so that a second opener can say who holds the vault.
///
/// `flock` locks belong to an open file description, so a second opener in the *same* process is
/// refused just like one in another process. The lock dies with its holder (a killed process
/// releases it), so a stale lock file never blocks anybody. The file is never unlinked while the
/// vault exists (unlinking a lock file races with waiters); ``SQLiteRecordStore/destroy()`` removes it.
final class VaultFileLock {
    let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Takes the lock, waiting up to `wait` for a holder to let go. A task cancelled while it
    /// waits stops waiting, as if `wait` had run out.
    /// - Throws: ``VaultError/Code/inUse`` with the holder's pid, or ``VaultError/Code/io``.
    /// - Parameter owner: When given, the opened file must belong to this user (or to the caller, who may just
    ///   have created it) and not be writable by
    ///   group or others (checked on the descriptor, so a file planted after an earlier check is refused too).
    static func acquire(path: String, vaultPath: String, wait: Duration, owner: uid_t? = nil) async throws(VaultError) -> VaultFileLock {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw FileSystem.error(errno, "cannot open or create the lock file \(path) of \(vaultPath)")
        }
        if let owner {
            var info = stat()
            guard fstat(descriptor, &info) == 0 else {
                let code = errno
                close(descriptor)
                throw FileSystem.error(code, "cannot inspect the lock file \(path)")
            }
            guard info.st_uid == owner || info.st_uid == geteuid(), info.st_mode & 0o022 == 0 else {
                close(descriptor)
                throw VaultError(
                    .io,
                    "the lock file \(path) is owned by uid \(info.st_uid) with mode \(String(info.st_mode & 0o7777, radix: 8)); "
                        + "refusing it (vaults do not belong in shared directories)"
                )
            }
        }
        let deadline = ContinuousClock.now.advanced(by: wait)
        var unnamedRetries = 0
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(descriptor)
                throw FileSystem.error(code, "cannot lock \(vaultPath)")
            }
            if code == EWOULDBLOCK && (ContinuousClock.now >= deadline || Task.isCancelled) {
                let holder = await readHolder(descriptor)
                // No pid in the file: the holder released the vault after our attempt, or the lock
                // is only held by a copy of a released descriptor that a child process inherited
                // for the instant between fork and exec (the descriptor is close-on-exec). Both end
                // within milliseconds: try again a few times before reporting "in use".
                if holder == nil && unnamedRetries < 5 {
                    unnamedRetries += 1
                    continue
                }
                close(descriptor)
                let who = holder.map { "pid \($0)" } ?? "another opener"
                let stopped = Task.isCancelled && wait > .zero ? " (stopped waiting: the task was cancelled)" : ""
                throw VaultError(.inUse, "\(vaultPath) is in use by \(who)\(stopped)", holderPID: holder)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        _ = fchmod(descriptor, 0o600)
        let pidText = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pidText.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return VaultFileLock(path: path, descriptor: descriptor)
    }

    /// Releases the lock (idempotent). The pid is cleared so the file names nobody.
    func release() {
        guard descriptor >= 0 else { return }
        _ = ftruncate(descriptor, 0)
        close(descriptor)  // closing the last descriptor of the description drops the flock
        descriptor = -1
    }

    /// Unlinks the lock file while still holding the lock, then releases it.
    func removeFileAndRelease() {
        unlink(path)
        release()
    }

    /// Reads the holder's pid; the holder writes it right after locking, so retry briefly.
    private static func readHolder(_ descriptor: Int32) async -> Int32? {
        for _ in 0..<25 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
            let digits = buffer.prefix(max(count, 0)).prefix { $0 >= 0x30 && $0 <= 0x39 }
            if count > 0, let pid = Int32(String(decoding: digits, as: UTF8.self)), pid > 0 {
                return pid
            }
            try? await Task.sleep(for: .milliseconds(4))
        }
        return nil
    }
}
