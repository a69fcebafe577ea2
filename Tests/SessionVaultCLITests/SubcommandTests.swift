import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// Every subcommand, end to end, through the built binary.
@Suite("session-vault subcommands")
struct SubcommandTests {
    let passphraseEnvironment: [String: String?] = ["SESSION_VAULT_PASSPHRASE": vaultPassphrase]

    @Test func initCreatesAPrivateEmptyVaultThatShowDescribes() async throws {
        try await withTemporaryDirectory { directory in
            let created = try await CLI.run(["init", "bot"], environment: passphraseEnvironment, directory: directory)
            #expect(created.status == 0, "\(created.err)")
            #expect(created.stdout.isEmpty, "init prints nothing on stdout without --recovery-key")
            #expect(created.err.contains("created \(directory)/bot.session"))
            #expect(fileMode(directory + "/bot.session") == 0o600)

            let shown = try await CLI.run(["show", "bot.session"], environment: passphraseEnvironment, directory: directory)
            #expect(shown.status == 0, "\(shown.err)")
            #expect(shown.out.contains("keyslots    passphrase\n"))
            #expect(shown.out.contains("kdf         argon2id13 opslimit=3 memlimit=67108864\n"))
            #expect(shown.out.contains("user        none\n"))
            #expect(!shown.err.contains("unlocking"), "progress is for terminals only")

            let json = try await CLI.run(["show", "--json", "bot"], environment: passphraseEnvironment, directory: directory).json()
            #expect(json["user"] is NSNull)
            #expect(json["state"] is NSNull)
            #expect((json["dcs"] as? [Any])?.isEmpty == true)
            #expect(json["keyslots"] as? [String] == ["passphrase"])
        }
    }

    @Test func showPrintsTheDocumentedRedactedJSON() async throws {
        try await withTemporaryDirectory { directory in
            let session = try testSession()
            let (path, _) = try await makeVault(in: directory, session: session, withRecoveryKey: true)
            let result = try await CLI.run(["show", path, "--json"], environment: passphraseEnvironment)
            #expect(result.status == 0, "\(result.err)")
            let json = try result.json()
            #expect(
                Set(json.keys)
                    == [
                        "format_version", "kdf", "keyslots", "dcs", "user", "state", "channels", "api_id", "test_mode",
                        "takeout_id", "storage",
                    ]
            )
            #expect(json["storage"] as? String == "sqlite")
            #expect(json["format_version"] as? Int == 2)
            let kdf = try #require(json["kdf"] as? [String: Any])
            #expect(Set(kdf.keys) == ["algorithm", "opslimit", "memlimit"])
            #expect(kdf["algorithm"] as? String == "argon2id13")
            #expect(kdf["opslimit"] as? Int == 2)
            #expect(kdf["memlimit"] as? Int == 19 << 20)
            #expect(json["keyslots"] as? [String] == ["passphrase", "recovery-key"])

            let dcs = try #require(json["dcs"] as? [[String: Any]])
            #expect(dcs.count == 3)
            for dc in dcs { #expect(Set(dc.keys) == ["id", "ipv4", "ipv6", "auth_key_id", "media_only"]) }
            #expect(dcs[0]["id"] as? Int == 2)
            #expect(dcs[0]["ipv4"] as? String == "149.154.167.51:443")
            #expect(dcs[0]["ipv6"] as? String == "[2001:67c:4e8:f002::a]:443")
            #expect(dcs[0]["media_only"] as? Bool == false)
            #expect(dcs[1]["media_only"] as? Bool == true)
            #expect(dcs[2]["ipv6"] is NSNull)
            #expect(dcs[2]["auth_key_id"] is NSNull)
            // auth_key_id is Telegram's signed 64-bit key id, as a JSON integer.
            for (entry, dataCenter) in zip(dcs, session.dataCenters) {
                guard let key = dataCenter.authKey else { continue }
                let number = try #require(entry["auth_key_id"] as? NSNumber)
                #expect(number.int64Value == key.id)
            }
            #expect(result.out.contains("\"auth_key_id\" : \(try #require(session.dataCenters[0].authKey).id)"))

            let user = try #require(json["user"] as? [String: Any])
            #expect(Set(user.keys) == ["id", "dc", "bot", "username"])
            #expect(user["id"] as? Int == 7_123_456_789)
            #expect(user["dc"] as? Int == 2)
            #expect(user["bot"] as? Bool == true)
            #expect(user["username"] as? String == "vault_cli_bot")
            let state = try #require(json["state"] as? [String: Any])
            #expect(Set(state.keys) == ["pts", "qts", "date", "seq"])
            #expect(state["pts"] as? Int == 4242)
            #expect(state["date"] as? Int == 1_764_000_000)
            #expect(json["channels"] as? Int == 3)
            #expect(json["api_id"] as? Int == 611_335)
            #expect(json["test_mode"] as? Bool == false)
            #expect(json["takeout_id"] as? Int == 8_000_000_001)

            let text = try await CLI.run(["show", path], environment: passphraseEnvironment)
            #expect(text.status == 0)
            #expect(text.out.contains("dc 2 media  ipv4 149.154.167.222:443  auth_key_id \(try #require(session.dataCenters[1].authKey).id)\n"))
            #expect(text.out.contains("user        7123456789 (dc 2, bot, @vault_cli_bot)\n"))
            #expect(text.out.contains("channels    3\n"))
        }
    }

    @Test func initWithRecoveryKeyPrintsItOnceAndPasswdAcceptsIt() async throws {
        try await withTemporaryDirectory { directory in
            let created = try await CLI.run(
                ["init", "bot", "--kdf", "interactive", "--recovery-key"],
                environment: passphraseEnvironment,
                directory: directory
            )
            #expect(created.status == 0, "\(created.err)")
            let keys = recoveryKeys(in: created.out)
            #expect(keys.count == 1)
            let key = try #require(keys.first)
            #expect(created.out == key + "\n", "stdout holds the recovery key and nothing else")
            #expect(recoveryKeys(in: created.err).isEmpty, "never on stderr")
            #expect(created.err.contains("shown once"))

            // Lost passphrase: the recovery key sets a new one.
            let changed = try await CLI.run(
                ["passwd", "bot", "--recovery-key"],
                environment: ["SESSION_VAULT_RECOVERY_KEY": key.lowercased(), "SESSION_VAULT_NEW_PASSPHRASE": otherPassphrase],
                directory: directory
            )
            #expect(changed.status == 0, "\(changed.err)")
            #expect(changed.stdout.isEmpty)
            #expect(recoveryKeys(in: changed.out + changed.err).isEmpty)

            let withNew = try await CLI.run(["show", "bot", "--json"], environment: ["SESSION_VAULT_PASSPHRASE": otherPassphrase], directory: directory)
            #expect(withNew.status == 0, "\(withNew.err)")
            #expect(try withNew.json()["keyslots"] as? [String] == ["passphrase", "recovery-key"])
            let withOld = try await CLI.run(["show", "bot"], environment: passphraseEnvironment, directory: directory)
            #expect(withOld.status == 65)

            let typo = (key.hasPrefix("A") ? "B" : "A") + String(key.dropFirst())
            let rejected = try await CLI.run(
                ["passwd", "bot", "--recovery-key"],
                environment: ["SESSION_VAULT_RECOVERY_KEY": typo, "SESSION_VAULT_NEW_PASSPHRASE": vaultPassphrase],
                directory: directory
            )
            #expect(rejected.status == 64, "a checksum mismatch is caught before any keyslot is tried")
            #expect(rejected.err.contains("checksum"))
        }
    }

    @Test func passwdChangesThePassphraseAndKDF() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let newFile = directory + "/new-passphrase"
            try writeSecretFile(newFile, otherPassphrase + "\n")
            let changed = try await CLI.run(
                ["passwd", path, "--kdf", "interactive"],
                environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase, "SESSION_VAULT_NEW_PASSPHRASE_FILE": newFile]
            )
            #expect(changed.status == 0, "\(changed.err)")
            #expect(changed.err.contains("changed the passphrase"))
            #expect(changed.err.contains("opslimit=2 memlimit=64MiB"))

            let old = try await CLI.run(["show", path], environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase])
            #expect(old.status == 65)
            let new = try await CLI.run(["show", path, "--json"], environment: ["SESSION_VAULT_PASSPHRASE": otherPassphrase])
            #expect(new.status == 0, "\(new.err)")
            let kdf = try #require(try new.json()["kdf"] as? [String: Any])
            #expect(kdf["opslimit"] as? Int == 2)
            #expect(kdf["memlimit"] as? Int == 64 << 20)
            #expect(try new.json()["channels"] as? Int == 3, "the records are untouched")
        }
    }

    @Test func passwdWithoutANewPassphraseSourceFailsBeforeUnlocking() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory)
            let result = try await CLI.run(["passwd", path], environment: ["SESSION_VAULT_PASSPHRASE": vaultPassphrase])
            #expect(result.status == 64)
            #expect(result.err.contains("no new passphrase given"))
        }
    }

    @Test func rotateReSealsEverythingPurgesOldCiphertextsAndReprintsTheRecoveryKey() async throws {
        try await withTemporaryDirectory { directory in
            let (path, oldKey) = try await makeVault(in: directory, session: try testSession(), withRecoveryKey: true)
            let oldRecoveryKey = try #require(oldKey)
            let oldCiphertexts = try columnValues(path, "SELECT ciphertext FROM sv_record")
            let oldWrappedKeys = try columnValues(path, "SELECT wrapped_key FROM sv_keyslot")
            let before = try await CLI.run(["show", path, "--json"], environment: passphraseEnvironment)
            #expect(before.status == 0)

            let rotated = try await CLI.run(["rotate", path], environment: passphraseEnvironment)
            #expect(rotated.status == 0, "\(rotated.err)")
            let printed = recoveryKeys(in: rotated.out)
            #expect(printed.count == 1)
            let newRecoveryKey = try #require(printed.first)
            #expect(rotated.out == newRecoveryKey + "\n")
            #expect(newRecoveryKey != oldRecoveryKey)
            #expect(rotated.err.contains("old one no longer works"))

            let raw = fileBytes(path) + fileBytes(path + "-wal")
            for ciphertext in oldCiphertexts { #expect(!contains(raw, ciphertext), "an old ciphertext survived rotation") }
            for wrapped in oldWrappedKeys { #expect(!contains(raw, wrapped), "an old wrapped key survived rotation") }

            let after = try await CLI.run(["show", path, "--json"], environment: passphraseEnvironment)
            #expect(after.status == 0, "\(after.err)")
            #expect(after.out == before.out, "the session is unchanged")

            let stale = try await CLI.run(
                ["passwd", path, "--recovery-key"],
                environment: ["SESSION_VAULT_RECOVERY_KEY": oldRecoveryKey, "SESSION_VAULT_NEW_PASSPHRASE": otherPassphrase]
            )
            #expect(stale.status == 65, "the old recovery key wrapped the old data key")
            let fresh = try await CLI.run(
                ["passwd", path, "--recovery-key"],
                environment: ["SESSION_VAULT_RECOVERY_KEY": newRecoveryKey, "SESSION_VAULT_NEW_PASSPHRASE": otherPassphrase]
            )
            #expect(fresh.status == 0, "\(fresh.err)")
        }
    }

    @Test func rotateWithoutRecoveryKeyPrintsNothingOnStdout() async throws {
        try await withTemporaryDirectory { directory in
            let (path, _) = try await makeVault(in: directory, session: try testSession())
            let rotated = try await CLI.run(["rotate", path], environment: passphraseEnvironment)
            #expect(rotated.status == 0, "\(rotated.err)")
            #expect(rotated.stdout.isEmpty)
            #expect(rotated.err.contains("re-sealed"))
            let shown = try await CLI.run(["show", path, "--json"], environment: passphraseEnvironment)
            #expect(try shown.json()["keyslots"] as? [String] == ["passphrase"])
        }
    }

    @Test func helpDocumentsExitCodesAndOffersNoPassphraseOption() async throws {
        let help = try await CLI.run(["--help"])
        #expect(help.status == 0)
        for line in ["64  usage", "65  wrong passphrase", "66  tampered", "67  in use", "68  KDF", "69  libsqlite3", "70  verify", "74  other", "75  lease lost"] {
            #expect(help.out.contains(line), "missing '\(line)'")
        }
        for command in ["init", "show", "passwd", "rotate", "verify"] {
            let sub = try await CLI.run([command, "--help"])
            #expect(sub.status == 0)
            #expect(!sub.out.contains("--passphrase"), "\(command) must not take a passphrase on the command line")
        }
        let version = try await CLI.run(["--version"])
        #expect(version.status == 0)
        #expect(version.out.hasPrefix("session-vault "))
    }
}
