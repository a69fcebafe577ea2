import SessionVaultKit

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
        // A sealed string, and room for the whitespace around it.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SealedSessionString.maximumCharacterCount + 64 * 1024, alignment: 1)
        defer { buffer.deallocate() }
        let count = try FileDescriptorIO.read(from: descriptor, into: buffer, failure: "cannot read \(location)")
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
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
