#if DEBUG
import Foundation
@_spi(Testing) @testable import SessionVaultKit

/// What the tamper corpus needs to know about a known-answer vault.
struct BuiltVault {
    var file: String
    var passphrase: String
    var contents: VaultContents
    var recoveryKey: String?
    /// For a vault built in stages: the session of the first stage (source of genuine older rows).
    var earlier: Session?
}

/// Passphrases of the known-answer vaults. They are fixtures, not secrets: they are in the manifest.
enum Passphrases {
    static let interactive = "interactive fixture: correct horse battery staple"
    /// Non-ASCII, in NFC: `e` with acute is U+00E9, plus a character outside the BMP.
    static let moderate = "moderate fixture: p\u{E4}ssphrase caf\u{E9} \u{1F510}"
    /// The same text in NFD (`e` + U+0301, `a` + U+0308): different bytes, so a different passphrase.
    static let moderateNFD = "moderate fixture: pa\u{308}ssphrase cafe\u{301} \u{1F510}"
    /// Leading and trailing spaces are part of it: nothing is trimmed.
    static let sensitive = "  sensitive fixture: spaces at both ends are part of the passphrase  "
    static let sensitiveTrimmed = "sensitive fixture: spaces at both ends are part of the passphrase"
    static let defaultProfile = "default profile fixture: opslimit 3, memlimit 64 MiB"
    static let recovery = "recovery fixture passphrase"
    static let tamperBase = "tamper base passphrase"
    static let empty = "empty vault passphrase"
    static let rotationOld = "rotation fixture: the passphrase before the change"
    static let rotationNew = "rotation fixture: the passphrase after the change"
    static let wrong = "not the passphrase"
}

extension Generator {
    /// Creates a vault with the library's public API. Its random values (data key, vault id, salts,
    /// nonces, recovery key) come from the deterministic source, reseeded from the vault's name.
    func createVault(
        _ name: String,
        passphrase: String,
        kdf: KDFParameters,
        build: (SessionVault) async throws -> Void
    ) async throws -> String {
        DeterministicRandom.reseed("vault/\(name)")
        let relative = "vaults/\(name).session"
        var configuration = SessionVault.Configuration()
        configuration.mode = .create
        configuration.kdf = kdf
        configuration.fallback = .fail
        // No fsync per commit: the bytes of the file are the same, the generator is just faster.
        configuration.durability = .normal
        configuration.allowsInsecureKDFParametersForTesting = !kdf.isWithinBounds
        configuration.writesFormatVersionForTesting = writesFormatVersion
        let vault = try await SessionVault.open(
            at: path(relative),
            passphrase: try Passphrase(copying: passphrase),
            configuration: configuration
        )
        try await build(vault)
        try await vault.close()
        try? FileManager.default.removeItem(atPath: path(relative) + "-lock")
        return relative
    }

    /// Opens a scratch copy with the library and checks it yields `expected` (a generator self-check;
    /// the fixture tests do the real checking).
    func verify(_ relative: String, passphrase: String, expected: VaultContents) async throws {
        let copy = try scratchCopy(of: relative, name: "verify")
        var configuration = SessionVault.Configuration()
        configuration.mode = .openExisting
        configuration.allowsInsecureKDFParametersForTesting = true
        let vault = try await SessionVault.open(at: copy, passphrase: try Passphrase(copying: passphrase), configuration: configuration)
        let loaded = try await vault.load()
        let peers = try await vault.allPeers()
        let count = await vault.recordCount
        try await vault.close()
        guard loaded == expected.session, peers == expected.peers, count == expected.recordCount else {
            throw GeneratorError("\(relative) does not load back as generated")
        }
    }

    /// A profile vault: every record kind, 250 channels, written by one `save` and then the hot paths
    /// (so the file holds records written at different times and a manifest rewritten once).
    func makeProfileVault(
        _ name: String,
        passphrase: String,
        kdf: KDFParameters,
        home: Int32,
        user: LoggedInUser,
        apiID: Int32?,
        isTestMode: Bool,
        takeoutID: Int64?,
        withRecoveryKey: Bool = false
    ) async throws -> BuiltVault {
        // Peers in two batches; the second updates peer 5 (new access hash and username) and lets a
        // new peer claim peer 0's username, so that lookup entry points to the peer written last.
        let allPeers = FixtureSessions.peers(vault: name, count: 31, base: 100_000 + Int64(home) * 1_000)
        let firstBatch = Array(allPeers.prefix(24))
        var updated5 = allPeers[5]
        updated5.accessHash ^= 0x55
        updated5.username = "\(name.replacingOccurrences(of: "-", with: ""))_renamed_5"
        var claimant = allPeers[30]
        claimant.username = allPeers[0].username
        let secondBatch = Array(allPeers[24..<30]) + [updated5, claimant]
        let channelBase: Int64 = 1_000_000_000 + Int64(home) * 100_000_000
        var channels = FixtureSessions.channels(count: 250, base: channelBase, salt: Int64(name.utf8.count))
        let lateChannel = channels.keys.max()!
        let latePts = channels.removeValue(forKey: lateChannel)!
        let updatedChannel = channels.keys.sorted()[10]
        var dataCenters = try FixtureSessions.dataCenters(vault: name, home: home)
        var initial = Session(
            dataCenters: dataCenters,
            user: user,
            updateState: UpdateState(pts: 4_000, qts: 0, date: 1_763_000_000, seq: 10, channels: channels),
            apiID: apiID,
            isTestMode: isTestMode,
            takeoutID: takeoutID
        )
        // DC3 is saved first with an older IPv4 port and replaced through the hot path.
        let dc3 = dataCenters.firstIndex { $0.id == 3 && !$0.isMediaOnly }!
        var olderDC3 = dataCenters[dc3]
        olderDC3.ipv4 = Endpoint(host: FixtureSessions.ipv4[3]!, port: 5222)
        initial.dataCenters[dc3] = olderDC3

        var recoveryKey: String?
        let file = try await createVault(name, passphrase: passphrase, kdf: kdf) { vault in
            try await vault.save(initial)
            try await vault.saveUpdateState(pts: 4_242, qts: 17, date: 1_764_000_000, seq: 99)
            try await vault.saveChannelState(channelID: updatedChannel, pts: 777_777)
            try await vault.saveChannelState(channelID: lateChannel, pts: latePts)
            try await vault.saveDataCenter(dataCenters[dc3])
            try await vault.upsertPeers(firstBatch)
            try await vault.upsertPeers(secondBatch)
            if withRecoveryKey {
                let key = try await vault.addRecoveryKey()
                recoveryKey = try key.withDisplayForm { String(decoding: $0, as: UTF8.self) }
            }
        }
        channels[updatedChannel] = 777_777
        channels[lateChannel] = latePts
        dataCenters.sort { $0.identity < $1.identity }
        let expected = Session(
            dataCenters: dataCenters,
            user: user,
            updateState: UpdateState(pts: 4_242, qts: 17, date: 1_764_000_000, seq: 99, channels: channels),
            apiID: apiID,
            isTestMode: isTestMode,
            takeoutID: takeoutID
        )
        var contents = VaultContents(session: expected)
        contents.upsert(firstBatch)
        contents.upsert(secondBatch)
        try await verify(file, passphrase: passphrase, expected: contents)
        return BuiltVault(file: file, passphrase: passphrase, contents: contents, recoveryKey: recoveryKey)
    }

    // MARK: The known-answer vaults

    /// Every known-answer vault, in `Fixtures/vaults/`.
    func makeKnownAnswerVaults() async throws -> [String: BuiltVault] {
        var built: [String: BuiltVault] = [:]
        let floor = KDFParameters.insecureForTestingOnly
        let floorNote = "test-floor Argon2id (opslimit 1, memlimit 8192), so it opens only with the test switch"

        // The three profile names, at test-floor parameters.
        let interactive = try await makeProfileVault(
            "interactive",
            passphrase: Passphrases.interactive,
            kdf: floor,
            home: 2,
            user: LoggedInUser(id: 7_123_456_789, dataCenterID: 2, isBot: true, username: "fixture_interactive_bot"),
            apiID: 611_335,
            isTestMode: false,
            takeoutID: 8_000_000_001
        )
        built["interactive"] = interactive
        add(
            FixtureEntry(
                file: interactive.file,
                category: "known-answer",
                made: "sv-fixtures: SessionVault.open(create), save, hot-path saves, two upsertPeers batches; profile 'interactive' at \(floorNote); ASCII passphrase",
                opens: [
                    .ok(Passphrases.interactive),
                    .error(.wrongPassphrase, Passphrases.wrong),
                    .error(.kdfParametersOutOfBounds, Passphrases.interactive, .production),
                ],
                contents: interactive.contents
            )
        )

        let moderate = try await makeProfileVault(
            "moderate",
            passphrase: Passphrases.moderate,
            kdf: floor,
            home: 4,
            user: LoggedInUser(id: 5_987_654_321, dataCenterID: 4, isBot: false, username: nil),
            apiID: 94_575,
            isTestMode: true,
            takeoutID: nil
        )
        built["moderate"] = moderate
        add(
            FixtureEntry(
                file: moderate.file,
                category: "known-answer",
                made: "sv-fixtures: as interactive; profile 'moderate' at \(floorNote); non-ASCII NFC passphrase, test mode, user without username",
                opens: [
                    .ok(Passphrases.moderate),
                    .error(.wrongPassphrase, Passphrases.moderateNFD),
                    .error(.kdfParametersOutOfBounds, Passphrases.moderate, .production),
                ],
                contents: moderate.contents
            )
        )

        let sensitive = try await makeProfileVault(
            "sensitive",
            passphrase: Passphrases.sensitive,
            kdf: floor,
            home: 1,
            user: LoggedInUser(id: 42_000_000_001, dataCenterID: 1, isBot: false, username: "sensitive_fixture_user"),
            apiID: nil,
            isTestMode: false,
            takeoutID: 9_123_456_789_012
        )
        built["sensitive"] = sensitive
        add(
            FixtureEntry(
                file: sensitive.file,
                category: "known-answer",
                made: "sv-fixtures: as interactive; profile 'sensitive' at \(floorNote); passphrase with leading and trailing spaces, takeout id only",
                opens: [
                    .ok(Passphrases.sensitive),
                    .error(.wrongPassphrase, Passphrases.sensitiveTrimmed),
                    .error(.kdfParametersOutOfBounds, Passphrases.sensitive, .production),
                ],
                contents: sensitive.contents
            )
        )

        // The real default profile: opens with the production bounds.
        let defaultProfile = try await makeProfileVault(
            "default-profile",
            passphrase: Passphrases.defaultProfile,
            kdf: .default,
            home: 2,
            user: LoggedInUser(id: 1_234_567_890, dataCenterID: 2, isBot: true, username: "default_profile_bot"),
            apiID: 2_040,
            isTestMode: false,
            takeoutID: nil
        )
        built["default-profile"] = defaultProfile
        add(
            FixtureEntry(
                file: defaultProfile.file,
                category: "known-answer",
                made: "sv-fixtures: as interactive, at the default profile (Argon2id opslimit 3, memlimit 64 MiB); opens without the test switch",
                opens: [
                    .ok(Passphrases.defaultProfile, .production),
                    .error(.wrongPassphrase, Passphrases.wrong, .production),
                ],
                contents: defaultProfile.contents
            )
        )

        // A passphrase keyslot and a recovery-key keyslot.
        let recovery = try await makeProfileVault(
            "recovery-key",
            passphrase: Passphrases.recovery,
            kdf: floor,
            home: 2,
            user: LoggedInUser(id: 7_000_000_007, dataCenterID: 2, isBot: false, username: "recovery_fixture"),
            apiID: 611_335,
            isTestMode: false,
            takeoutID: nil,
            withRecoveryKey: true
        )
        built["recovery-key"] = recovery
        let recoveryKey = recovery.recoveryKey!
        add(
            FixtureEntry(
                file: recovery.file,
                category: "known-answer",
                made: "sv-fixtures: as interactive at \(floorNote), then addRecoveryKey(): keyslot 0 passphrase, keyslot 1 recovery key",
                opens: [
                    .ok(Passphrases.recovery),
                    OpenCheck(secret: .recoveryKey(recoveryKey), bounds: .test, expect: "ok"),
                    OpenCheck(secret: .recoveryKey(recoveryKey.lowercased().replacingOccurrences(of: "-", with: " ")), bounds: .test, expect: "ok"),
                    OpenCheck(secret: .recoveryKey(Self.typo(in: recoveryKey)), bounds: .test, expect: VaultError.Code.invalidArgument.name),
                    .error(.wrongPassphrase, Passphrases.wrong),
                ],
                contents: recovery.contents
            )
        )

        // An empty vault: the manifest record only.
        let empty = try await createVault("empty", passphrase: Passphrases.empty, kdf: floor) { _ in }
        try await verify(empty, passphrase: Passphrases.empty, expected: VaultContents(session: nil))
        built["empty"] = BuiltVault(file: empty, passphrase: Passphrases.empty, contents: VaultContents(session: nil))
        add(
            FixtureEntry(
                file: empty,
                category: "known-answer",
                made: "sv-fixtures: SessionVault.open(create) and close at \(floorNote); holds only the manifest (count 0, sum 0)",
                opens: [.ok(Passphrases.empty), .error(.wrongPassphrase, Passphrases.wrong)],
                contents: VaultContents(session: nil)
            )
        )

        built["rotated"] = try await makeRotatedVault()
        built["tamper-base"] = try await makeTamperBase()
        return built
    }

    /// Reopens a vault in the staging tree (for later stages of a multi-stage fixture).
    func reopenVault(_ relative: String, passphrase: String, stage: String, _ body: (SessionVault) async throws -> Void) async throws {
        DeterministicRandom.reseed("vault/\(relative)/\(stage)")
        var configuration = SessionVault.Configuration()
        configuration.mode = .openExisting
        configuration.fallback = .fail
        configuration.durability = .normal
        configuration.allowsInsecureKDFParametersForTesting = true
        configuration.writesFormatVersionForTesting = writesFormatVersion
        let vault = try await SessionVault.open(at: path(relative), passphrase: try Passphrase(copying: passphrase), configuration: configuration)
        try await body(vault)
        try await vault.close()
        try? FileManager.default.removeItem(atPath: path(relative) + "-lock")
    }

    /// The tamper corpus's base: every record kind but only 4 channels and 2 peers, so that each of the ~160
    /// mutated copies is four SQLite pages (16 KiB). Built in two stages; stage 1 is kept in the work
    /// directory as the source of genuine older rows (resurrection and rollback fixtures).
    func makeTamperBase() async throws -> BuiltVault {
        var channels = FixtureSessions.channels(count: 5, base: 1_700_000_000, salt: 11)
        let stage1 = Session(
            dataCenters: [
                DataCenter(id: 1, ipv6: Endpoint(host: FixtureSessions.ipv6[1]!, port: 443)),
                DataCenter(
                    id: 2,
                    ipv4: Endpoint(host: FixtureSessions.ipv4[2]!, port: 443),
                    ipv6: Endpoint(host: FixtureSessions.ipv6[2]!, port: 443),
                    authKey: try FixtureSessions.authKey("tamper-base/dc2"),
                    temporaryAuthKey: try FixtureSessions.authKey("tamper-base/dc2/temporary")
                ),
                DataCenter(
                    id: 2,
                    ipv4: Endpoint(host: "149.154.167.222", port: 443),
                    authKey: try FixtureSessions.authKey("tamper-base/dc2/media"),
                    isMediaOnly: true
                ),
                DataCenter(
                    id: 4,
                    ipv4: Endpoint(host: FixtureSessions.ipv4[4]!, port: 443),
                    ipv6: Endpoint(host: FixtureSessions.ipv6[4]!, port: 443),
                    authKey: try FixtureSessions.authKey("tamper-base/dc4/old")
                ),
            ],
            user: LoggedInUser(id: 6_600_000_066, dataCenterID: 2, isBot: true, username: "tamper_base_bot"),
            updateState: UpdateState(pts: 100, qts: 1, date: 1_762_000_000, seq: 5, channels: channels),
            apiID: 611_335,
            takeoutID: 8_000_000_002
        )
        // Two peers: one with a username and a phone (a peer record and two lookup entries), one
        // with neither (a peer record only).
        let peers = [
            Peer(id: 5_550_001, accessHash: 0x1234_5678_9ABC_DEF0, kind: .user, username: "tamper_peer", phoneNumber: "15550001", name: "Tamper Peer", updatedAt: 1_762_000_001),
            Peer(id: -1_000_000_000_000 - 4_242, accessHash: -77, kind: .channel),
        ]
        let file = try await createVault("tamper-base", passphrase: Passphrases.tamperBase, kdf: .insecureForTestingOnly) { vault in
            try await vault.save(stage1)
            try await vault.upsertPeers(peers)
        }
        try copy(file, to: Self.tamperBaseStage1)

        // Stage 2: one channel removed, one channel's pts, the update state and DC4's key changed, and
        // a recovery keyslot added.
        let removed = channels.keys.min()!
        channels.removeValue(forKey: removed)
        channels[channels.keys.max()!] = 31_337
        var stage2 = stage1
        stage2.updateState = UpdateState(pts: 200, qts: 2, date: 1_762_100_000, seq: 6, channels: channels)
        stage2.dataCenters[3].authKey = try FixtureSessions.authKey("tamper-base/dc4/new")
        var recoveryKey = ""
        try await reopenVault(file, passphrase: Passphrases.tamperBase, stage: "stage2") { vault in
            try await vault.save(stage2)
            let key = try await vault.addRecoveryKey()
            recoveryKey = try key.withDisplayForm { String(decoding: $0, as: UTF8.self) }
        }
        var contents = VaultContents(session: stage2)
        contents.upsert(peers)
        try await verify(file, passphrase: Passphrases.tamperBase, expected: contents)
        add(
            FixtureEntry(
                file: file,
                category: "known-answer",
                made: "sv-fixtures: create, save, upsertPeers; then save (a channel removed, values changed) and addRecoveryKey; test-floor Argon2id; base of tampered/",
                opens: [
                    .ok(Passphrases.tamperBase),
                    OpenCheck(secret: .recoveryKey(recoveryKey), bounds: .test, expect: "ok"),
                    .error(.wrongPassphrase, Passphrases.wrong),
                    .error(.kdfParametersOutOfBounds, Passphrases.tamperBase, .production),
                ],
                contents: contents
            )
        )
        return BuiltVault(file: file, passphrase: Passphrases.tamperBase, contents: contents, recoveryKey: recoveryKey, earlier: stage1)
    }

    /// Stage 1 of the tamper base (work directory only, never an output).
    static let tamperBaseStage1 = ".work/tamper-base-stage1.session"

    /// A typo in a recovery key's display form: one character changed, so the checksum fails.
    static func typo(in displayForm: String) -> String {
        var characters = Array(displayForm)
        characters[2] = characters[2] == "A" ? "B" : "A"
        return String(characters)
    }

    /// Passphrase change and data-key rotation: proves both leave a vault that opens, and that the
    /// old passphrase and the old recovery key no longer do.
    func makeRotatedVault() async throws -> BuiltVault {
        let session = Session(
            dataCenters: [
                DataCenter(
                    id: 2,
                    ipv4: Endpoint(host: FixtureSessions.ipv4[2]!, port: 443),
                    ipv6: Endpoint(host: FixtureSessions.ipv6[2]!, port: 443),
                    authKey: try FixtureSessions.authKey("rotated/dc2")
                )
            ],
            user: LoggedInUser(id: 8_100_000_001, dataCenterID: 2, isBot: true, username: "rotated_fixture_bot"),
            updateState: UpdateState(
                pts: 12,
                qts: 3,
                date: 1_765_000_000,
                seq: 4,
                channels: FixtureSessions.channels(count: 20, base: 1_500_000_000, salt: 3)
            ),
            apiID: 611_335
        )
        let peers = FixtureSessions.peers(vault: "rotated", count: 6, base: 900_000)
        var contents = VaultContents(session: session)
        contents.upsert(peers)
        var oldRecoveryKey = ""
        var newRecoveryKey = ""
        let file = try await createVault("rotated", passphrase: Passphrases.rotationOld, kdf: .insecureForTestingOnly) { vault in
            try await vault.save(session)
            try await vault.upsertPeers(peers)
            let first = try await vault.addRecoveryKey()
            oldRecoveryKey = try first.withDisplayForm { String(decoding: $0, as: UTF8.self) }
            try await vault.changePassphrase(to: try Passphrase(copying: Passphrases.rotationNew))
            guard let second = try await vault.rotateDataKey(passphrase: try Passphrase(copying: Passphrases.rotationNew)) else {
                throw GeneratorError("rotation did not issue a new recovery key")
            }
            newRecoveryKey = try second.withDisplayForm { String(decoding: $0, as: UTF8.self) }
        }
        try await verify(file, passphrase: Passphrases.rotationNew, expected: contents)
        add(
            FixtureEntry(
                file: file,
                category: "known-answer",
                made: "sv-fixtures: created with one passphrase, save, upsertPeers, addRecoveryKey, changePassphrase, rotateDataKey (new data key, new recovery key), test-floor Argon2id",
                opens: [
                    .ok(Passphrases.rotationNew),
                    OpenCheck(secret: .recoveryKey(newRecoveryKey), bounds: .test, expect: "ok"),
                    .error(.wrongPassphrase, Passphrases.rotationOld),
                    OpenCheck(secret: .recoveryKey(oldRecoveryKey), bounds: .test, expect: VaultError.Code.wrongPassphrase.name),
                ],
                contents: contents
            )
        )
        return BuiltVault(file: file, passphrase: Passphrases.rotationNew, contents: contents, recoveryKey: newRecoveryKey)
    }
}
#endif
