import SessionVaultKit

/// Unbuffered writes with `write(2)`: data to standard output, messages to standard error.
///
/// Secrets (a recovery key's display form) are written straight from guarded memory with
/// ``write(_:to:)``, never through a `String` or `print`.
enum StandardStream {
    static let output: Int32 = 1
    static let error: Int32 = 2

    /// Writes every byte of `bytes` to `descriptor`, retrying on `EINTR` and short writes.
    /// - Throws: ``VaultError/Code/io`` when the stream is closed or full.
    static func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) throws(VaultError) {
        try FileDescriptorIO.write(bytes, to: descriptor, failure: "cannot write to standard \(descriptor == output ? "output" : "error")")
    }

    /// Writes `text` and a newline to standard output.
    static func print(_ text: String) throws(VaultError) {
        try write(text + "\n", to: output)
    }

    /// Writes the UTF-8 bytes of `text` (never a secret) to `descriptor`.
    static func write(_ text: String, to descriptor: Int32) throws(VaultError) {
        var failure: VaultError?
        Array(text.utf8).withUnsafeBytes { raw in
            do throws(VaultError) { try write(raw, to: descriptor) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes `session-vault: <text>` and a newline to standard error (or standard output), ignoring failures.
    static func writeLine(_ text: String, toError: Bool = true) {
        var line = "session-vault: \(text)\n"
        line.withUTF8 { buffer in
            try? write(UnsafeRawBufferPointer(buffer), to: toError ? error : output)
        }
    }

    /// Writes `text` unchanged to standard error, ignoring failures (progress lines).
    static func writeRawError(_ text: String) {
        var text = text
        text.withUTF8 { buffer in try? write(UnsafeRawBufferPointer(buffer), to: error) }
    }
}

