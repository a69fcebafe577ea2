import Foundation
import Synchronization
import Testing
@_spi(Testing) @testable import SessionVaultKit

/// Imports every fixture made by the real Telethon 1.45.0/1.42.0, Pyrogram 2.0.106 and Kurigram
/// 2.2.26 and checks every fact of `Fixtures/interop/manifest.json` against the result.
@Suite struct InteropFixtureTests {
    /// How many facts the suite checked (reported by ``factCountIsComplete()``).
    static let checkedFacts = Mutex<[String: Int]>([:])

    @Test(arguments: InteropFixtures.files)
    func importsEveryManifestFact(file: String) throws {
        let imported = try InteropFixtures.read(file)
        #expect(imported.format == InteropFixtures.format(file))
        let schema = InteropFixtures.manifest[file]!["schema_version"]
        if imported.format.isSQLite {
            #expect(Int64(imported.schemaVersion ?? -1) == int64(schema))
        } else {
            #expect(imported.schemaVersion == InteropFixtures.manifest[file]!["size"] as? Int)
        }
        var checker = FactChecker(file: file)
        checker.check(imported, against: InteropFixtures.facts(file))
        Self.checkedFacts.withLock { $0[file] = checker.count }
    }

    @Test(arguments: InteropFixtures.files)
    func forcedFormatMatches(file: String) throws {
        let format = InteropFixtures.format(file)
        _ = try InteropFixtures.read(file, format: format)
        let other: SessionFormat = format == .telethon ? .pyrogram : .telethon
        let error = #expect(throws: VaultError.self) { try InteropFixtures.read(file, format: other) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(format.displayName) == true, "\(error?.message ?? "")")
    }

    @Test func telethonV2HandmadeFixture() throws {
        let imported = try InteropFixtures.read("telethon-v2.session")
        let facts = InteropFixtures.handmade["telethon-v2.session"]!["facts"] as! [String: Any]
        #expect(imported.format == .telethonV2)
        #expect(imported.schemaVersion == 10)
        let session = imported.session
        let dcs = facts["datacenters"] as! [[String: Any]]
        #expect(session.dataCenters.count == dcs.count)
        for expected in dcs {
            let dc = try #require(session.dataCenter(id: Int32(int64(expected["id"])!)))
            #expect(dc.ipv4.map(IPAddressText.hostPort) == expected["ipv4_addr"] as? String)
            #expect(dc.ipv6.map(IPAddressText.hostPort) == expected["ipv6_addr"] as? String)
            #expect(dc.authKey?.id == int64(expected["auth_key_id"]))
            #expect(dc.authKey.map(sha256Hex) == expected["auth_key_sha256"] as? String)
        }
        let user = facts["user"] as! [String: Any]
        #expect(session.user == LoggedInUser(
            id: int64(user["id"])!, dataCenterID: Int32(int64(user["dc"])!), isBot: user["is_bot"] as! Bool,
            username: user["username"] as? String))
        let state = facts["update_state"] as! [String: Any]
        #expect(session.updateState?.pts == Int32(int64(state["pts"])!))
        #expect(session.updateState?.qts == Int32(int64(state["qts"])!))
        #expect(session.updateState?.date == int64(state["date"])!)
        #expect(session.updateState?.seq == Int32(int64(state["seq"])!))
        var channels: [Int64: Int32] = [:]
        for channel in facts["channels"] as! [[String: Any]] { channels[int64(channel["id"])!] = Int32(int64(channel["pts"])!) }
        #expect(session.updateState?.channels == channels)
        #expect(imported.peers.isEmpty)
    }

    /// Runs after the per-fixture tests in the same process only by chance, so it recomputes.
    @Test func factCountIsComplete() throws {
        var total = 0
        for file in InteropFixtures.files {
            var checker = FactChecker(file: file)
            checker.check(try InteropFixtures.read(file), against: InteropFixtures.facts(file))
            total += checker.count
        }
        print("interop: \(total) manifest facts checked over \(InteropFixtures.files.count) real-library fixtures")
        #expect(InteropFixtures.files.count == 13)
        #expect(total > 300)
    }
}

/// Compares an ``ImportedSession`` with one `facts` object of the manifest, counting each fact.
struct FactChecker {
    let file: String
    var count = 0

    mutating func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual == expected, "\(file): \(what)", sourceLocation: sourceLocation)
        count += 1
    }

    mutating func check(_ imported: ImportedSession, against facts: [String: Any]) {
        let session = imported.session
        let dc = session.dataCenters.first { $0.authKey != nil } ?? session.dataCenters.first
        let endpoint = dc?.ipv4 ?? dc?.ipv6
        let isKurigram = (InteropFixtures.manifest[file]?["library"] as? String) == "kurigram"
        let inferredAddress = isNull(facts["server_address"]) && dc != nil
        for key in facts.keys.sorted() {
            let value = facts[key]
            switch key {
            case "dc_id":
                expectEqual(Int64(dc?.id ?? 0), int64(value)!, key)
            case "server_address":
                if inferredAddress {
                    // Pyrogram schema 3 and strings store no address: the well-known one, and a note.
                    let known = WellKnownDataCenters.endpoint(dataCenter: dc!.id, testMode: session.isTestMode)
                    expectEqual(endpoint, known, "inferred address")
                    expectEqual(imported.notes.contains { $0.contains("inferred from the DC id and test mode") }, true, "inferred note")
                } else {
                    expectEqual(endpoint?.host, value as? String, key)
                }
            case "port":
                if !inferredAddress { expectEqual(endpoint.map { Int64($0.port) }, int64(value), key) }
            case "ipv6":
                if let flag = value as? Bool { expectEqual(dc?.ipv6 != nil && dc?.ipv4 == nil, flag, key) }
            case "test_mode":
                expectEqual(session.isTestMode, (value as? Bool) ?? false, key)
            case "api_id":
                expectEqual(session.apiID.map(Int64.init), int64(value), key)
            case "auth_key_id":
                expectEqual(dc?.authKey?.id, int64(value), key)
            case "auth_key_sha256":
                expectEqual(dc?.authKey.map(sha256Hex), value as? String, key)
            case "tmp_auth_key_id":
                expectEqual(dc?.temporaryAuthKey?.id, int64(value), key)
            case "tmp_auth_key_sha256":
                expectEqual(dc?.temporaryAuthKey.map(sha256Hex), value as? String, key)
            case "takeout_id":
                expectEqual(session.takeoutID, int64(value), key)
            case "session_date":
                // Pyrogram's sessions.date is the time of its last save; the vault does not keep it
                // (an export writes the current time, as Pyrogram's own save() does).
                break
            case "user":
                checkUser(session.user, value)
            case "update_state":
                if let state = value as? [String: Any] {
                    expectEqual(session.updateState?.pts, Int32(int64(state["pts"])!), "update_state.pts")
                    expectEqual(session.updateState?.qts, Int32(int64(state["qts"])!), "update_state.qts")
                    expectEqual(session.updateState?.date, int64(state["date"])!, "update_state.date")
                    expectEqual(session.updateState?.seq, Int32(int64(state["seq"])!), "update_state.seq")
                } else {
                    expectEqual(session.updateState == nil, true, "no update state")
                }
            case "channels":
                var expected: [Int64: Int32] = [:]
                for channel in value as! [[String: Any]] {
                    let id = int64(channel["id"])!
                    // Kurigram stores marked ids (-100…); the vault keeps plain channel ids, like Telethon.
                    let plain = isKurigram ? MarkedPeerID.channelID(fromMarked: id)! : id
                    expected[plain] = Int32(int64(channel["pts"])!)
                }
                expectEqual(session.updateState?.channels ?? [:], expected, "channels")
            case "peers":
                checkPeers(imported, value as! [[String: Any]])
            default:
                Issue.record("\(file): manifest fact '\(key)' is not checked by FactChecker")
            }
        }
    }

    private mutating func checkUser(_ user: LoggedInUser?, _ value: Any?) {
        guard let expected = value as? [String: Any] else {
            expectEqual(user == nil, true, "no user")
            return
        }
        expectEqual(user?.id, int64(expected["id"]), "user.id")
        expectEqual(user?.isBot, (expected["is_bot"] as? Bool) ?? false, "user.is_bot")
        var username = expected["username"] as? String
        if file.hasPrefix("kurigram-migrated-from-") {
            // Recovered from the legacy peers.username column (see checkPeers).
            username = (InteropFixtures.facts("pyrogram-2.0.106.session")["user"] as! [String: Any])["username"] as? String
        }
        expectEqual(user?.username, username, "user.username")
        expectEqual(user.map { Int64($0.dataCenterID) }, int64(expected["dc"]), "user.dc")
    }

    private mutating func checkPeers(_ imported: ImportedSession, _ expected: [[String: Any]]) {
        expectEqual(imported.peers.count, expected.count, "peer count")
        let byID = Dictionary(imported.peers.map { ($0.id, $0) }) { first, _ in first }
        // Kurigram's migration leaves the Pyrogram usernames in the legacy peers.username column and
        // stops reading them; the import recovers them, so they are compared with the Pyrogram original.
        var legacy: [Int64: String] = [:]
        if file.hasPrefix("kurigram-migrated-from-") {
            for peer in InteropFixtures.facts("pyrogram-2.0.106.session")["peers"] as! [[String: Any]] {
                if let name = peer["username"] as? String { legacy[int64(peer["id"])!] = name }
            }
        }
        for fact in expected {
            let id = int64(fact["id"])!
            guard let peer = byID[id] else {
                Issue.record("\(file): peer \(id) missing")
                continue
            }
            expectEqual(peer.accessHash, int64(fact["access_hash"])!, "peer \(id) access_hash")
            expectEqual(peer.kind, expectedKind(fact["type"] as! String), "peer \(id) type")
            let usernames = fact["usernames"] as? [String] ?? []
            expectEqual(peer.username, legacy[id] ?? fact["username"] as? String, "peer \(id) username")
            expectEqual(peer.username, legacy[id] ?? usernames.first, "peer \(id) usernames[0]")
            if usernames.count > 1 {
                expectEqual(imported.notes.contains { $0.contains("additional usernames") }, true, "peer \(id) extra usernames noted")
            }
            expectEqual(peer.phoneNumber, fact["phone"] as? String, "peer \(id) phone")
            expectEqual(peer.name, fact["name"] as? String, "peer \(id) name")
        }
    }
}
