import SessionVaultKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Asks on the controlling terminal which account of a tdata folder to import. An account index is
/// not secret, so the answer is read with echo on; anything but a listed index is refused.
enum TerminalAccountChoice {
    /// The longest answer read; a longer line is refused without being parsed.
    static let maximumAnswerLength = 16

    /// Writes `listing` and a question to `/dev/tty` and returns the index typed, one of `indexes`.
    static func ask(among indexes: [Int], listing: String) throws(VaultError) -> Int {
        let descriptor = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { throw VaultError(.invalidArgument, "no terminal to ask which account to import on") }
        defer { close(descriptor) }
        let allowed = indexes.map(String.init).joined(separator: ", ")
        let question = "\(listing)\nImport which account (\(allowed))? "
        _ = Array(question.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        var answer: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(descriptor, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 || byte == 10 || byte == 13 { break }
            guard answer.count < maximumAnswerLength else {
                throw VaultError(.invalidArgument, "the answer is not one of the listed account indexes (\(allowed))")
            }
            answer.append(byte)
        }
        let digits = answer.drop { $0 == 32 || $0 == 9 }.reversed().drop { $0 == 32 || $0 == 9 }.reversed()
        guard !digits.isEmpty, digits.allSatisfy({ (48...57).contains($0) }),
            let index = Int(String(decoding: Array(digits), as: UTF8.self)), indexes.contains(index)
        else {
            throw VaultError(.invalidArgument, "the answer is not one of the listed account indexes (\(allowed)); nothing was imported")
        }
        return index
    }
}
