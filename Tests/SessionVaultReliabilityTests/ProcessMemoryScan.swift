import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads another process's readable memory through `/proc/<pid>/maps` and `/proc/<pid>/mem` (the
/// test runs as root, which may read a non-dumpable process's memory with CAP_SYS_PTRACE) and finds
/// byte strings in it.
///
/// A hit is "guarded" when it lies in an anonymous read-write mapping whose neighbours on both sides
/// are inaccessible (`---p`) mappings that touch it: the layout of a libsodium `sodium_malloc`
/// allocation (guard page, data, guard page).
struct ProcessMemoryScan {
    struct Region: CustomStringConvertible {
        var start: UInt64
        var end: UInt64
        var permissions: String
        var path: String

        var isReadable: Bool { permissions.hasPrefix("r") }
        var isInaccessible: Bool { permissions.hasPrefix("---") }
        var isAnonymous: Bool { path.isEmpty }
        var description: String {
            "\(String(start, radix: 16))-\(String(end, radix: 16)) \(permissions) \(path.isEmpty ? "(anonymous)" : path)"
        }
    }

    struct Hit: CustomStringConvertible {
        var needle: String
        var address: UInt64
        var region: Region
        var isGuarded: Bool
        var description: String { "\(needle) at 0x\(String(address, radix: 16)) in \(region)\(isGuarded ? " [guarded]" : "")" }
    }

    let pid: pid_t
    let regions: [Region]
    /// Readable regions that could not be read (their content was not searched).
    private(set) var unreadable: [Region] = []
    /// Bytes searched.
    private(set) var scannedBytes = 0
    private var contents: [(region: Region, bytes: [UInt8])] = []

    /// Snapshots every readable region of `pid` (the process should be paused while this runs).
    init(pid: pid_t) throws {
        self.pid = pid
        regions = try Self.readWholeFile("/proc/\(pid)/maps").split(separator: "\n").compactMap(Self.parse)
        let descriptor = open("/proc/\(pid)/mem", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ChildProcessError("cannot open /proc/\(pid)/mem: \(String(cString: strerror(errno))) (needs root with CAP_SYS_PTRACE)")
        }
        defer { close(descriptor) }
        for region in regions where region.isReadable && region.path != "[vsyscall]" && !region.path.hasPrefix("[vvar") {
            let size = Int(region.end - region.start)
            guard size <= 1 << 30, region.start <= UInt64(Int64.max) else {
                unreadable.append(region)
                continue
            }
            var bytes = [UInt8](repeating: 0, count: size)
            let read = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, size, off_t(region.start)) }
            guard read > 0 else {
                unreadable.append(region)
                continue
            }
            if read < size { bytes.removeLast(size - read) }
            scannedBytes += read
            contents.append((region, bytes))
        }
    }

    /// Reads a /proc file to its end (they report size 0, so Foundation's readers stop early).
    private static func readWholeFile(_ path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ChildProcessError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func parse(_ line: Substring) -> Region? {
        let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5 else { return nil }
        let bounds = fields[0].split(separator: "-")
        guard bounds.count == 2, let start = UInt64(bounds[0], radix: 16), let end = UInt64(bounds[1], radix: 16) else { return nil }
        let path = fields.count == 6 ? fields[5].trimmingCharacters(in: .whitespaces) : ""
        return Region(start: start, end: end, permissions: String(fields[1]), path: path)
    }

    /// Every occurrence of `needle` (named `name`) in the snapshot.
    func find(_ needle: [UInt8], named name: String) -> [Hit] {
        guard !needle.isEmpty else { return [] }
        var hits: [Hit] = []
        for (region, bytes) in contents where bytes.count >= needle.count {
            bytes.withUnsafeBytes { haystack in
                needle.withUnsafeBytes { pattern in
                    // memchr for the first byte, memcmp for the rest (memmem is not exported to Swift).
                    let first = Int32(pattern[0])
                    let last = haystack.count - pattern.count
                    var offset = 0
                    while offset <= last {
                        guard let found = memchr(haystack.baseAddress! + offset, first, last - offset + 1) else { break }
                        let position = haystack.baseAddress!.distance(to: UnsafeRawPointer(found))
                        if memcmp(found, pattern.baseAddress!, pattern.count) == 0 {
                            let address = region.start + UInt64(position)
                            hits.append(Hit(needle: name, address: address, region: region, isGuarded: isGuarded(region)))
                        }
                        offset = position + 1
                    }
                }
            }
        }
        return hits
    }

    /// Every occurrence of any `window`-byte window of `secret` (stepping by `step`).
    func findWindows(of secret: [UInt8], named name: String, window: Int = 16, step: Int = 16) -> [Hit] {
        stride(from: 0, through: secret.count - window, by: step).flatMap { start in
            find(Array(secret[start..<(start + window)]), named: "\(name)[\(start)..<\(start + window)]")
        }
    }

    /// Whether `region` looks like a `sodium_malloc` data area: anonymous, read-write, with an
    /// inaccessible mapping directly before and after it.
    func isGuarded(_ region: Region) -> Bool {
        guard region.isAnonymous, region.permissions.hasPrefix("rw") else { return false }
        let before = regions.first { $0.end == region.start }
        let after = regions.first { $0.start == region.end }
        return before?.isInaccessible == true && after?.isInaccessible == true
    }
}
