// The fuzz entries of issue #14's readers: GramJS, mtcute and gotd strings, and tdata folders.
import CTDataCrypto
import Foundation
@_spi(Testing) @testable import SessionVaultKit

extension FuzzEntry {
    // MARK: - GramJS, mtcute and gotd

    /// The string importer on arbitrary bytes with no `--format` (detection) and with the GramJS,
    /// mtcute and gotd readers forced, as `session-vault import FILE --format …` reads them.
    public static func interopString(_ input: UnsafeRawBufferPointer) {
        guard let secret = try? SecretBytes(copying: input) else { return }
        for format in [nil, SessionFormat.gramjsString, .mtcuteString, .gotdJSON] {
            _ = try? SessionImporter.readString(secret, origin: "fuzz input", format: format)
        }
    }

    // MARK: - tdata

    /// A tdata folder from arbitrary bytes: u16 LE length + the `key_datas` payload, u16 LE length +
    /// the first account's file payload, and the rest as its `configs` payload (no file when empty).
    /// Each payload is written as a `TDF$` file with a correct MD5 (so the readers behind the checksum
    /// are reached), then `TDataImporter.read` reads the folder without a passcode (a passcode costs
    /// 100 000 PBKDF2 iterations per input and takes the same parsing path).
    public static func tdataFolder(_ input: UnsafeRawBufferPointer) {
        var rest = input[...]
        func part() -> ArraySlice<UInt8> {
            guard rest.count >= 2 else { rest = rest.suffix(0); return [] }
            let length = Int(rest[rest.startIndex]) | Int(rest[rest.startIndex + 1]) << 8
            rest = rest.dropFirst(2)
            let taken = Array(rest.prefix(length))[...]
            rest = rest.dropFirst(length)
            return taken
        }
        let key = part()
        let account = part()
        let configs = Array(rest)[...]
        let folder = scratchDirectory + "/tdata"
        let accountFolder = folder + "/" + TDataImporter.fileName(forAccount: 0)
        mkdir(folder, 0o700)
        mkdir(accountFolder, 0o700)
        for (path, payload) in [(folder + "/key_datas", key), (folder + "/D877F783D5D3EF8Cs", account), (accountFolder + "/configs", configs)] {
            unlink(path)
            if payload.isEmpty && path.hasSuffix("configs") { continue }
            guard FileManager.default.createFile(atPath: path, contents: Data(tdf(payload)), attributes: [.posixPermissions: 0o600])
            else { fatalError("cannot write \(path)") }
        }
        _ = try? TDataImporter.readBlocking(folder: folder, passcode: nil)  // read(folder:passcode:) on this thread
    }

    /// `"TDF$"`, version 7.3.1, the payload, MD5(payload ‖ length LE ‖ version LE ‖ `"TDF$"`).
    static func tdf(_ payload: ArraySlice<UInt8>) -> [UInt8] {
        let version: [UInt8] = [0x79, 0xDB, 0x6A, 0x00]  // 7003001 little-endian
        let length = UInt32(payload.count)
        var check = Array(payload)
        check += [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
        check += version + Array("TDF$".utf8)
        var digest = [UInt8](repeating: 0, count: 16)
        check.withUnsafeBufferPointer { sv_md5($0.baseAddress, $0.count, &digest) }
        return Array("TDF$".utf8) + version + payload + digest
    }
}
