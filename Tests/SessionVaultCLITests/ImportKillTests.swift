import Foundation
import Testing
import SessionVaultKit
import SessionVaultTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// An import killed while it holds a private plaintext copy of a WAL-mode source leaves that copy
/// behind (nothing runs after SIGKILL); the next import removes it. Before, nothing ever did: the
/// copy stayed in $TMPDIR for good, out of reach of `--shred`.
@Suite("Killed imports")
struct ImportKillTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/interop").path

    /// The source is a Telethon file whose header says WAL mode, with a FIFO as its `-wal`: the
    /// import copies the database into its private directory, then blocks opening the FIFO. It is
    /// killed there (the copy is on disk: the control). Three more kills the same way, then one
    /// complete import from the same $TMPDIR: afterwards no `session-vault-import-*` directory is
    /// left but the one of a process that still runs (planted with this test's pid, untouched).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/task"), "needs Linux /proc"))
    func theNextImportRemovesTheCopiesOfKilledImports() async throws {
        try await withTemporaryDirectory { directory in
            let temporary = directory + "/tmp"
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
            var source = fileBytes(Self.fixtures + "/telethon-v8.session")
            source[18] = 2  // file format write version 2: WAL
            source[19] = 2
            let path = directory + "/live.session"
            try Data(source).write(to: URL(fileURLWithPath: path))
            try #require(mkfifo(path + "-wal", 0o600) == 0)
            let alive = temporary + "/session-vault-import-\(getpid())-keepme"
            try FileManager.default.createDirectory(atPath: alive, withIntermediateDirectories: false)
            try Data("not ours to remove".utf8).write(to: URL(fileURLWithPath: alive + "/source.sqlite"))

            for round in 0..<4 {
                let child = try RunningCLI(
                    ["import", path, directory + "/vault-\(round)"],
                    environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase, "TMPDIR": temporary]
                )
                var copied = false
                for _ in 0..<2_000 where !copied {
                    copied = leftoverCopies(in: temporary, except: alive).contains { fileBytes($0).count == source.count }
                        && blockedOnFIFO(child.pid)
                    if !copied { try await Task.sleep(for: .milliseconds(10)) }
                }
                #expect(copied, "round \(round): the import never reached its copy")
                kill(child.pid, SIGKILL)
                _ = await child.finish()
                #expect(
                    leftoverCopies(in: temporary, except: alive).contains { fileBytes($0) == source },
                    "round \(round): the killed import's plaintext copy is there (control)"
                )
            }
            let clean = try await CLI.run(
                ["import", Self.fixtures + "/telethon-v8.session", directory + "/clean"],
                environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase, "TMPDIR": temporary]
            )
            #expect(clean.status == 0, "\(clean.err)")
            let left = try FileManager.default.contentsOfDirectory(atPath: temporary)
            #expect(left == [URL(fileURLWithPath: alive).lastPathComponent], "left in TMPDIR: \(left)")
            #expect(fileBytes(alive + "/source.sqlite") == Array("not ours to remove".utf8))
        }
    }

    /// The regular files under the `session-vault-import-*` directories of `temporary`.
    func leftoverCopies(in temporary: String, except kept: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        return names.filter { $0.hasPrefix("session-vault-import-") && temporary + "/" + $0 != kept }.flatMap { name in
            ((try? FileManager.default.contentsOfDirectory(atPath: temporary + "/" + name)) ?? []).map { temporary + "/" + name + "/" + $0 }
        }
    }

    /// Whether a thread of `pid` waits for a FIFO's other end.
    func blockedOnFIFO(_ pid: Int32) -> Bool {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return threads.contains { thread in
            let channel = String(decoding: fileBytes("/proc/\(pid)/task/\(thread)/wchan"), as: UTF8.self)
            return channel == "wait_for_partner" || channel == "fifo_open"
        }
    }
}
