import SessionVaultKit

#if canImport(Glibc)
import Glibc
#endif

// The first Swift code of an executable that links SessionVaultEarlyHardening, as `session-vault`
// does: it reports what the C constructor left behind. Run by EarlyHardeningTests.

/// This process's initial environment block as /proc/self/environ shows it, read before anything else.
let environBlock: [UInt8] = {
    var bytes: [UInt8] = []
    let descriptor = open("/proc/self/environ", O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return bytes }
    defer { close(descriptor) }
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(descriptor, &chunk, chunk.count)
        if count <= 0 { break }
        bytes += chunk[0..<count]
    }
    return bytes
}()

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
    return String(decoding: out, as: UTF8.self)
}

print("environ \(hex(environBlock))")
print("dumpable \(ProcessHardening.isDumpable.map { $0 ? "yes" : "no" } ?? "unknown")")
print("early \(ProcessHardening.earlyHardeningRan ? "yes" : "no")")
print("getenv \(getenv("SESSION_VAULT_PASSPHRASE") == nil ? "unset" : "set")")
// The passphrase source still finds the value, from the stash; compare it with the expected bytes
// (SV_PROBE_EXPECTED_FILE), in guarded memory, without printing either.
do {
    let expectedNames = PassphraseSource.Names(
        variable: "SV_PROBE_EXPECTED", fileVariable: "SV_PROBE_EXPECTED_FILE", credential: "none", noun: "expected"
    )
    let expected = try PassphraseSource.locate(expectedNames, allowTerminal: false).read(expectedNames)
    let source = try PassphraseSource.locate(.passphrase, allowTerminal: false)
    let passphrase = try source.read(.passphrase)
    print("source \(source)")
    print("passphrase \(passphrase.isEqual(to: expected) ? "match" : "differs")")
} catch {
    print("passphrase error \(error)")
}
