import SessionVault

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a sealed session string (`svs1.…`, ciphertext, not secret) from a file or standard input (`-`).
enum SessionTextInput {
    static func readSealedString(_ location: String) throws(VaultError) -> String {
        let descriptor: Int32 = location == "-" ? 0 : open(location, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw VaultError(code == ENOENT ? .notFound : .io, "cannot read \(location): \(String(cString: strerror(code)))", errno: code)
        }
        defer { if descriptor != 0 { close(descriptor) } }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= SealedSessionString.maximumCharacterCount + 2 {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw VaultError(.io, "cannot read \(location): \(String(cString: strerror(errno)))", errno: errno)
            }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
