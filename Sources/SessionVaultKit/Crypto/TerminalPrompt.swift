#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a secret from the controlling terminal with echo off, straight into guarded memory.
enum TerminalPrompt {
    static func readSecret(prompt: String) throws(VaultError) -> SecretBytes {
        let descriptor = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { throw VaultError(.invalidArgument, "no terminal to ask for the secret on") }
        defer { close(descriptor) }
        var original = termios()
        guard tcgetattr(descriptor, &original) == 0 else {
            throw VaultError(.invalidArgument, "cannot configure the terminal")
        }
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        silent.c_lflag |= tcflag_t(ECHONL)
        _ = tcsetattr(descriptor, TCSAFLUSH, &silent)
        defer { _ = tcsetattr(descriptor, TCSAFLUSH, &original) }
        _ = Array(prompt.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }

        let buffer = try SecretBytes(count: PassphraseSource.maximumByteCount)
        var length = 0
        var byte: UInt8 = 0
        while true {
            let count = read(descriptor, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 || byte == 10 || byte == 13 { break }
            guard length < PassphraseSource.maximumByteCount else {
                byte = 0
                throw VaultError(.invalidArgument, "the secret is longer than \(PassphraseSource.maximumByteCount) bytes")
            }
            buffer.withUnsafeMutableBytes { $0[length] = byte }
            length += 1
        }
        byte = 0
        return try buffer.withUnsafeBytes { (raw) throws(VaultError) in
            try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: raw[0..<length]))
        }
    }
}
