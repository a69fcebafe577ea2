import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

@Suite("Peer cache")
struct PeerCacheTests {
    static let peers = [
        Peer(id: 111_222_333, accessHash: -5_000_000_000_001, kind: .user, username: "@Alice_Example", phoneNumber: "+44 7700 900123", name: "Alice", updatedAt: 1_764_000_000),
        Peer(id: 444_555, accessHash: 77, kind: .bot, username: "helper_bot"),
        Peer(id: -987_654, accessHash: 0, kind: .group, name: "Book club"),
        Peer(id: -1_001_987_654_321, accessHash: 123_456_789, kind: .supergroup, username: "swiftlang_chat"),
        Peer(id: -1_001_111_111_111, accessHash: -1, kind: .channel, username: "news_channel", updatedAt: 5),
    ]

    @Test(arguments: StorageUnderTest.available)
    func upsertAndLookUpByIdUsernameAndPhone(_ kind: StorageUnderTest) async throws {
        try await withTemporaryDirectory { directory in
            let (vault, reopen) = try await kind.make(in: directory)
            try await vault.save(try sampleSession())
            try await vault.upsertPeers(Self.peers)
            func check(_ vault: SessionVault) async throws {
                #expect(await vault.peerCount == 5)
                #expect(try await vault.peer(id: 111_222_333) == Self.peers[0])
                #expect(try await vault.peer(username: "ALICE_example") == Self.peers[0])
                #expect(try await vault.peer(username: "@alice_example")?.accessHash == -5_000_000_000_001)
                #expect(try await vault.peer(phoneNumber: "447700900123") == Self.peers[0])
                #expect(try await vault.peer(phoneNumber: "+44-7700-900123") == Self.peers[0])
                #expect(try await vault.peer(username: "swiftlang_chat")?.id == -1_001_987_654_321)
                #expect(try await vault.peer(id: -987_654)?.name == "Book club")
                #expect(try await vault.peer(id: 1) == nil)
                #expect(try await vault.peer(username: "nobody") == nil)
                #expect(try await vault.peer(phoneNumber: "+1 555") == nil)
                #expect(try await vault.allPeers() == Self.peers.sorted { $0.id < $1.id })
                #expect(try await vault.load() == (try sampleSession()))  // the session is untouched
            }
            try await check(vault)
            try await vault.close()
            if let reopen {
                let again = try await reopen()
                try await check(again)
                try await again.close()
            }
        }
    }

    @Test(arguments: StorageUnderTest.available)
    func changedAndMovedUsernamesPointToTheRightPeer(_ kind: StorageUnderTest) async throws {
        try await withTemporaryDirectory { directory in
            let (vault, reopen) = try await kind.make(in: directory)
            try await vault.upsertPeers(Self.peers)
            // Alice renames herself; the old name no longer resolves.
            var alice = Self.peers[0]
            alice.username = "alice_new"
            alice.phoneNumber = nil
            try await vault.upsertPeers([alice])
            #expect(try await vault.peer(username: "alice_example") == nil)
            #expect(try await vault.peer(phoneNumber: "447700900123") == nil)
            #expect(try await vault.peer(username: "alice_new") == alice)
            // Another peer takes "helper_bot"; the lookup follows the newest owner.
            let usurper = Peer(id: 999, accessHash: 9, kind: .bot, username: "helper_bot")
            try await vault.upsertPeers([usurper])
            #expect(try await vault.peer(username: "helper_bot") == usurper)
            // The old owner changing its name must not delete the usurper's entry.
            var oldOwner = Self.peers[1]
            oldOwner.username = "helper_bot_old"
            try await vault.upsertPeers([oldOwner])
            #expect(try await vault.peer(username: "helper_bot") == usurper)
            #expect(try await vault.peer(username: "helper_bot_old") == oldOwner)
            // Duplicates in one batch: the last one wins.
            try await vault.upsertPeers([Peer(id: 5, accessHash: 1, kind: .user), Peer(id: 5, accessHash: 2, kind: .user)])
            #expect(try await vault.peer(id: 5)?.accessHash == 2)
            #expect(await vault.peerCount == 7)
            try await vault.close()
            if let reopen {
                let again = try await reopen()  // the manifest and index consistency checks pass
                #expect(await again.peerCount == 7)
                #expect(try await again.peer(username: "helper_bot") == usurper)
                try await again.close()
            }
        }
    }

    @Test func rotationKeepsPeersAndLookups() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/rot", passphrase: passphrase(), configuration: fastConfiguration())
            try await vault.upsertPeers(Self.peers)
            try await vault.upsertPeers([Peer(id: 999, accessHash: 9, kind: .bot, username: "helper_bot")])
            try await vault.rotateDataKey(passphrase: passphrase())
            #expect(try await vault.peer(username: "helper_bot")?.id == 999)
            #expect(try await vault.peer(id: 444_555)?.username == "helper_bot")
            try await vault.close()
            let again = try await SessionVault.open(at: directory + "/rot", passphrase: passphrase(), configuration: fastConfiguration())
            #expect(await again.peerCount == 6)
            #expect(try await again.peer(phoneNumber: "447700900123")?.id == 111_222_333)
            try await again.close()
        }
    }

    @Test func peerIdentifiersNeverReachTheDiskInPlaintext() async throws {
        try await withTemporaryDirectory { directory in
            let vault = try await SessionVault.open(at: directory + "/plain", passphrase: passphrase(), configuration: fastConfiguration())
            let path = try #require(vault.path)
            try await vault.upsertPeers(Self.peers)
            let wal = fileBytes(path + "-wal")
            try await vault.close()
            let file = fileBytes(path)
            for peer in Self.peers {
                var needles = [withUnsafeBytes(of: peer.id.littleEndian) { Array($0) }, Array(String(peer.id).utf8)]
                if peer.accessHash > 100_000 || peer.accessHash < -100_000 {
                    needles.append(withUnsafeBytes(of: peer.accessHash.littleEndian) { Array($0) })
                }
                for text in [peer.username, peer.phoneNumber, peer.name].compactMap({ $0 }) { needles.append(Array(text.utf8)) }
                for needle in needles {
                    #expect(!contains(file, needle), "\(peer.id) in file")
                    #expect(!contains(wal, needle), "\(peer.id) in WAL")
                }
            }
        }
    }

    @Test func tamperedOrRemovedLookupEntriesAreDetected() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/tamper.session"
            let vault = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration())
            try await vault.upsertPeers(Self.peers)
            try await vault.close()
            // Swap the sealed values of two lookup rows: each now decrypts to nothing (keys are bound to tags).
            let before = fileBytes(path)
            try withRawDatabase(path) { db in
                try db.execute("DELETE FROM sv_record WHERE tag = (SELECT tag FROM sv_record ORDER BY tag LIMIT 1)")
            }
            await #expect(throws: VaultError(.tampered, "")) {
                _ = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            }
            try Data(before).write(to: URL(fileURLWithPath: path))
            let reopened = try await SessionVault.open(at: path, passphrase: passphrase(), configuration: fastConfiguration(mode: .openExisting))
            #expect(await reopened.peerCount == 5)
            try await reopened.close()
        }
    }
}
