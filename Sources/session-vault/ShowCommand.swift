import ArgumentParser
import SessionVaultKit
import SessionVaultOperations

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `session-vault show PATH`: the redacted view of a vault.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a redacted view of a vault: never a key, only Telegram's public auth_key_id.",
        discussion: """
            Prints storage, format version, KDF parameters, keyslot kinds, data centers (id, endpoints, \
            auth_key_id), user, update state, number of channels and the session extras. --json prints the \
            documented, stable JSON document (README, "JSON output"). With --hold the vault stays open, and \
            so locked against every other opener, until standard input is closed: for a consistent backup \
            copy of the file while no bot can write to it.
            """
    )

    @Argument(help: "The vault file.")
    var path: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "After printing, keep the vault open and locked until standard input is closed (Ctrl-D).")
    var hold = false

    func run() async throws {
        try await CommandRunner.run {
            let path = try VaultAccess.resolve(path, mustExist: true)
            let (vault, _) = try await VaultAccess.openExisting(path)
            try await VaultAccess.closing(vault) {
                let summary = try await VaultSummary(of: vault)
                if json {
                    try JSONOutput.print(summary)
                } else {
                    for line in Self.lines(of: summary, path: path) { try StandardStream.print(line) }
                }
                if hold {
                    StandardStream.writeLine("holding \(path) open: other openers get 'in use' until standard input is closed")
                    Self.waitForEndOfInput()
                }
            }
            try await vault.close()
        }
    }

    /// The text form.
    static func lines(of summary: VaultSummary, path: String) -> [String] {
        func row(_ name: String, _ value: String) -> String {
            name.padding(12) + value
        }
        var lines = [
            row("path", path),
            row("storage", summary.storage),
            row("format", "\(summary.formatVersion)"),
            row("kdf", summary.kdf.map { "\($0.algorithm) opslimit=\($0.opslimit) memlimit=\($0.memlimit)" } ?? "none"),
            row("keyslots", summary.keyslots.joined(separator: ", ")),
        ]
        if summary.dataCenters.isEmpty { lines.append(row("dcs", "none")) }
        for dc in summary.dataCenters {
            var parts: [String] = []
            if let ipv4 = dc.ipv4 {
                // Pyrogram strings carry no address: their import fills in Telegram's published one.
                let wellKnown = WellKnownDataCenters.endpoint(dataCenter: dc.id, testMode: summary.isTestMode)?.description == ipv4
                parts.append("ipv4 \(ipv4)" + (wellKnown ? " (Telegram's well-known address for DC \(dc.id))" : ""))
            }
            if let ipv6 = dc.ipv6 { parts.append("ipv6 \(ipv6)") }
            parts.append("auth_key_id \(dc.authKeyID.map(String.init) ?? "none")")
            lines.append(row("dc \(dc.id)\(dc.isMediaOnly ? " media" : "")", parts.joined(separator: "  ")))
        }
        if let user = summary.user {
            let name = user.username.map { ", @\($0)" } ?? ""
            lines.append(row("user", "\(user.id) (dc \(user.dc)\(user.bot ? ", bot" : "")\(name))"))
        } else {
            lines.append(row("user", "none"))
        }
        if let state = summary.state {
            lines.append(row("state", "pts \(state.pts)  qts \(state.qts)  date \(state.date)  seq \(state.seq)"))
        } else {
            lines.append(row("state", "none"))
        }
        lines.append(row("channels", "\(summary.channels)"))
        lines.append(row("api_id", summary.apiID.map(String.init) ?? "none"))
        lines.append(row("test_mode", summary.isTestMode ? "yes" : "no"))
        lines.append(row("takeout_id", summary.takeoutID.map(String.init) ?? "none"))
        return lines
    }

    /// Blocks until standard input reports end of file (or an error).
    static func waitForEndOfInput() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count > 0 || (count < 0 && errno == EINTR) { continue }
            return
        }
    }
}

extension String {
    /// Left-aligned in a column of `width` characters (at least one space after).
    fileprivate func padding(_ width: Int) -> String {
        self + String(repeating: " ", count: Swift.max(1, width - count))
    }
}
