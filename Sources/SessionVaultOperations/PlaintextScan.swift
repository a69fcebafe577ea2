public import SessionVaultKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Searches raw file bytes for anything of a session that must never reach disk in plaintext:
/// every 8-byte window of every auth key, the user id (decimal text and 8-byte little-endian), the
/// username, data center addresses and channel ids. Used by the demo and by `verify`.
///
/// Key windows are searched with `memmem` straight from guarded memory: no key byte is copied.
public enum PlaintextScan {
    /// Descriptions of what was found (never the secret itself); empty when the files are clean.
    /// Missing files are skipped.
    public static func scan(files: [String], session: Session) throws(VaultError) -> [String] {
        var publicNeedles: [(String, [UInt8])] = []
        var keys: [(String, AuthKey)] = []
        for dataCenter in session.dataCenters {
            if let key = dataCenter.authKey { keys.append(("auth key of dc \(dataCenter.id)", key)) }
            if let key = dataCenter.temporaryAuthKey { keys.append(("temporary auth key of dc \(dataCenter.id)", key)) }
            for endpoint in [dataCenter.ipv4, dataCenter.ipv6].compactMap({ $0 }) {
                publicNeedles.append(("address of dc \(dataCenter.id)", Array(endpoint.host.utf8)))
            }
        }
        if let user = session.user {
            publicNeedles.append(("user id (text)", Array(String(user.id).utf8)))
            publicNeedles.append(("user id (little-endian)", withUnsafeBytes(of: user.id.littleEndian) { Array($0) }))
            if let username = user.username, username.utf8.count >= 4 {
                publicNeedles.append(("username", Array(username.utf8)))
            }
        }
        for channel in session.updateState?.channels.keys.sorted() ?? [] {
            publicNeedles.append(("channel id \(channel) (little-endian)", withUnsafeBytes(of: channel.littleEndian) { Array($0) }))
        }
        var findings: [String] = []
        for file in files {
            guard let bytes = try readAll(file) else { continue }
            bytes.withUnsafeBytes { haystack in
                func occurs(_ needle: UnsafeRawBufferPointer) -> Bool {
                    contains(haystack, needle)
                }
                for (name, key) in keys {
                    let hit = key.withUnsafeBytes { raw in
                        (0...(raw.count - 8)).first { occurs(UnsafeRawBufferPointer(rebasing: raw[$0..<($0 + 8)])) }
                    }
                    if let hit { findings.append("\(name) (bytes \(hit)-\(hit + 7)) in \(file)") }
                }
                for (name, needle) in publicNeedles where needle.withUnsafeBytes({ occurs($0) }) {
                    findings.append("\(name) in \(file)")
                }
            }
        }
        return findings
    }

    /// Searches the raw bytes of an open vault's files (``SessionVault/databaseFiles``) for anything
    /// that must never be there in plaintext: the session's secrets and identifiers (``scan(files:session:)``),
    /// every 8-byte window of the data key, and the passphrase when one is given and at least 6 bytes
    /// long (shorter ones would match random ciphertext by chance). No other operation runs on the
    /// vault meanwhile.
    ///
    /// The search runs from guarded memory with `memcmp`; nothing secret is copied.
    /// - Returns: Descriptions of what was found, never the secret itself; empty when clean.
    static func scan(_ vault: SessionVault, passphrase: Passphrase?) async throws(VaultError) -> [String] {
        let files = vault.databaseFiles
        return try await vault.withSessionAndDataKey { (session, dataKey) throws(VaultError) -> [String] in
            var findings = try scan(files: files, session: session)
            for file in files {
                guard let bytes = try readAll(file) else { continue }
                bytes.withUnsafeBytes { haystack in
                    let dataKeyHit = dataKey.withUnsafeBytes { key in
                        (0...(key.count - 8)).first { contains(haystack, UnsafeRawBufferPointer(rebasing: key[$0..<($0 + 8)])) }
                    }
                    if let dataKeyHit { findings.append("data key (bytes \(dataKeyHit)-\(dataKeyHit + 7)) in \(file)") }
                    if let passphrase, passphrase.byteCount >= 6, passphrase.secret.withUnsafeBytes({ contains(haystack, $0) }) {
                        findings.append("passphrase in \(file)")
                    }
                }
            }
            return findings
        }
    }

    /// Whether `needle` occurs in `haystack` (memchr for the first byte, then memcmp).
    static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer) -> Bool {
        guard needle.count > 0, haystack.count >= needle.count, let base = haystack.baseAddress,
            let needleBase = needle.baseAddress
        else { return false }
        let first = Int32(needle[0])
        var offset = 0
        let lastStart = haystack.count - needle.count
        while offset <= lastStart {
            guard let hit = memchr(base + offset, first, lastStart - offset + 1) else { return false }
            let position = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + position, needleBase, needle.count) == 0 { return true }
            offset = position + 1
        }
        return false
    }

    static func readAll(_ path: String) throws(VaultError) -> [UInt8]? {
        guard let info = try FileSystem.status(path) else { return nil }
        return try FileSystem.readPrefix(path, count: Int(info.st_size))
    }
}
