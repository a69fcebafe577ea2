import SessionVaultKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `session-vault import FOLDER …` for a Telegram Desktop tdata folder: passcode, account choice,
/// one vault per chosen account (all or none), then `--shred` of the whole folder.
extension ImportCommand {
    /// The tdata local passcode from the environment, a file, a credential or (when `prompt`) the terminal.
    static func tdataPasscode(prompt: Bool) throws(VaultError) -> SecretBytes? {
        let source: PassphraseSource
        do throws(VaultError) {
            source = try PassphraseSource.locate(.tdataPasscode, allowTerminal: prompt)
        } catch {
            if !prompt && error.message.hasPrefix("no \(PassphraseSource.Names.tdataPasscode.noun) given") { return nil }
            throw error
        }
        return try source.read(.tdataPasscode)
    }

    func importTData() async throws(VaultError) {
        if let forced = format?.format, forced != .tdata {
            throw VaultError(.invalidArgument, "--format \(forced) was given, but \(source) is a Telegram Desktop tdata folder")
        }
        var passcode = try Self.tdataPasscode(prompt: false)
        var accounts: [TDataImporter.Account]
        do throws(VaultError) {
            accounts = try await TDataImporter.read(folder: source, passcode: passcode)
        } catch where error.code == .wrongPassphrase && passcode == nil && error.message.contains("locked with a local passcode") {
            passcode = try Self.tdataPasscode(prompt: true)
            accounts = try await TDataImporter.read(folder: source, passcode: passcode)
        }
        passcode?.wipe()
        let listed = accounts.map { account in
            "index \(account.index) (user \(account.imported.session.user.map { "\($0.id)" } ?? "?"), DC \(account.imported.session.user?.dataCenterID ?? 0))"
        }.joined(separator: ", ")
        var chosen: [(TDataImporter.Account, String)] = []
        if let all {
            for account in accounts { chosen.append((account, try VaultAccess.resolve("\(all)-\(account.index)", mustExist: false))) }
        } else if let index = account {
            guard let match = accounts.first(where: { $0.index == index }) else {
                throw VaultError(.invalidArgument, "\(source) has no account of index \(index); it holds \(listed)")
            }
            chosen = [(match, try VaultAccess.resolve(path ?? "", mustExist: false))]
        } else {
            var match = accounts[0]
            if accounts.count > 1 {
                // Several accounts and no choice: ask on a terminal, otherwise list them and stop.
                guard isatty(STDIN_FILENO) == 1 else {
                    throw VaultError(
                        .invalidArgument,
                        "\(source) holds \(accounts.count) accounts: \(listed); choose one with --account N, or --all PREFIX for one vault each"
                    )
                }
                let index = try TerminalAccountChoice.ask(
                    among: accounts.map(\.index), listing: "\(source) holds \(accounts.count) accounts: \(listed)")
                match = accounts.first { $0.index == index } ?? match
            }
            chosen = [(match, try VaultAccess.resolve(path ?? "", mustExist: false))]
        }
        for (_, destination) in chosen where access(destination, F_OK) == 0 {
            throw VaultError(.alreadyExists, "\(destination) already exists; not replaced")
        }
        let passphrase = try VaultAccess.readPassphrase(confirm: true)
        var created: [String] = []
        do throws(VaultError) {
            for (account, destination) in chosen {
                created.append(try await Self.create(account.imported, at: destination, passphrase: passphrase, kdf: kdf))
            }
        } catch {
            // All or none: the vaults this run made before the failure go again.
            for path in created {
                unlink(path)
                unlink(path + "-lock")
            }
            throw error
        }
        for ((account, _), path) in zip(chosen, created) {
            for note in account.imported.notes { StandardStream.writeLine("note: \(note)") }
            StandardStream.writeLine(
                "imported account \(account.index) of \(source) (\(account.imported.sourceDescription)) into \(path): "
                    + "\(Self.summary(account.imported)); verified"
            )
        }
        if shred {
            let count = try FileShredder.shredFolder(source)
            StandardStream.writeLine(
                "shredded the tdata folder \(source) (\(count) files overwritten, then removed; copies in snapshots, backups or "
                    + "copy-on-write blocks are out of reach: terminate the Telegram Desktop session if in doubt)"
            )
        } else {
            StandardStream.writeLine("\(source) still holds the Telegram Desktop session: remove it (or rerun with --shred)")
        }
    }
}
