import CSodium
import Foundation
import Logging
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// Where the committed fixtures are: `Fixtures/` at the package root, found from this file's path.
enum FixturePaths {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/SessionVaultFixtureTests/<file>
        return url.path + "/Fixtures"
    }()

    static func path(_ relative: String) -> String { root + "/" + relative }

    /// The built `sv-fixtures` (`swift build --build-tests` builds it).
    static var generator: String { builtExecutable(named: "sv-fixtures") }
}

// MARK: The manifest, as an outside reader sees it (decoded independently of the generator)

struct Manifest: Decodable, Sendable {
    var schema: String
    var formatVersion: Int
    var errorCodes: [String]
    var fixtures: [Fixture]

    private static let loaded: Result<Manifest, any Error> = Result {
        let data = try Data(contentsOf: URL(fileURLWithPath: FixturePaths.path("manifest.json")))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Manifest.self, from: data)
    }

    /// `Fixtures/manifest.json`, read once.
    static func load() throws -> Manifest { try loaded.get() }
}

struct Fixture: Decodable, Sendable, CustomTestStringConvertible {
    var file: String
    var sha256: String
    var size: Int
    var category: String
    var made: String
    var base: String?
    /// The vault's format version; absent for the version-1 fixtures (made before version 2).
    var formatVersion: Int?
    var opens: [Open]
    var contents: Contents?

    var testDescription: String { file }
}

struct Open: Decodable, Sendable, CustomStringConvertible {
    var passphrase: String?
    var recoveryKey: String?
    var kdfBounds: String
    var expect: String
    var recordKind: String?

    var description: String {
        let secret = passphrase.map { "passphrase \"\($0)\"" } ?? "recovery key \(recoveryKey ?? "?")"
        return "\(secret), \(kdfBounds) bounds"
    }
}

struct Contents: Decodable, Sendable {
    var recordCount: Int
    var recordsByKind: [String: Int]
    var session: ExpectedSession?
    var peers: [ExpectedPeer]
    var peerIndex: [ExpectedIndexEntry]
}

struct ExpectedPeer: Decodable, Sendable {
    var id: Int64
    var accessHash: Int64
    var kind: String
    var username: String?
    var phoneNumber: String?
    var name: String?
    var updatedAt: Int64?

    /// The peer exactly as stored (no normalisation applied).
    var peer: Peer? {
        guard let kind = Peer.Kind(name: kind), kind.description == self.kind else { return nil }
        var peer = Peer(id: id, accessHash: accessHash, kind: kind, name: name, updatedAt: updatedAt)
        peer.username = username
        peer.phoneNumber = phoneNumber
        return peer
    }
}

struct ExpectedIndexEntry: Decodable, Sendable {
    var field: String
    var value: String
    var peerId: Int64
}

struct ExpectedSession: Decodable, Sendable {
    var dataCenters: [ExpectedDataCenter]
    var user: ExpectedUser?
    var updateState: ExpectedUpdateState?
    var apiId: Int32?
    var testMode: Bool
    var takeoutId: Int64?
}

struct ExpectedDataCenter: Decodable, Sendable {
    var id: Int32
    var mediaOnly: Bool
    var ipv4: ExpectedEndpoint?
    var ipv6: ExpectedEndpoint?
    var authKey: ExpectedKey?
    var temporaryAuthKey: ExpectedKey?
}

struct ExpectedEndpoint: Decodable, Sendable, Equatable {
    var host: String
    var port: UInt16
}

struct ExpectedKey: Decodable, Sendable {
    var id: Int64
    var sha256: String
    var hex: String
}

struct ExpectedUser: Decodable, Sendable {
    var id: Int64
    var dcId: Int32
    var isBot: Bool
    var username: String?
}

struct ExpectedUpdateState: Decodable, Sendable {
    var pts: Int32
    var qts: Int32
    var date: Int64
    var seq: Int32
    var channels: [String: Int32]
}

// MARK: Comparing what the library returns with what the manifest says

enum SessionComparison {
    /// Every difference between `session` and `expected`, as readable lines (empty: identical).
    static func differences(_ session: Session?, _ expected: ExpectedSession?) -> [String] {
        guard let expected else {
            return session == nil ? [] : ["expected an empty vault (load() == nil), got \(session!)"]
        }
        guard let session else { return ["expected a session, the vault is empty"] }
        var problems: [String] = []
        let dataCenters = session.dataCenters.sorted { ($0.id, $0.isMediaOnly ? 1 : 0) < ($1.id, $1.isMediaOnly ? 1 : 0) }
        if dataCenters.count != expected.dataCenters.count {
            problems.append("\(dataCenters.count) data centers, expected \(expected.dataCenters.count)")
        }
        for (actual, wanted) in zip(dataCenters, expected.dataCenters) {
            let name = "DC\(wanted.id)\(wanted.mediaOnly ? " media" : "")"
            if actual.id != wanted.id || actual.isMediaOnly != wanted.mediaOnly {
                problems.append("\(name): got DC\(actual.id) media \(actual.isMediaOnly)")
            }
            if actual.ipv4.map({ ExpectedEndpoint(host: $0.host, port: $0.port) }) != wanted.ipv4 { problems.append("\(name): ipv4 \(String(describing: actual.ipv4))") }
            if actual.ipv6.map({ ExpectedEndpoint(host: $0.host, port: $0.port) }) != wanted.ipv6 { problems.append("\(name): ipv6 \(String(describing: actual.ipv6))") }
            problems += keyDifferences("\(name) auth key", actual.authKey, wanted.authKey)
            problems += keyDifferences("\(name) temporary auth key", actual.temporaryAuthKey, wanted.temporaryAuthKey)
        }
        if let user = expected.user {
            if session.user != LoggedInUser(id: user.id, dataCenterID: user.dcId, isBot: user.isBot, username: user.username) {
                problems.append("user \(String(describing: session.user))")
            }
        } else if session.user != nil {
            problems.append("unexpected user")
        }
        if let state = expected.updateState {
            if let actual = session.updateState {
                if (actual.pts, actual.qts, actual.date, actual.seq) != (state.pts, state.qts, state.date, state.seq) {
                    problems.append("update state \(actual.pts) \(actual.qts) \(actual.date) \(actual.seq)")
                }
                var wanted: [Int64: Int32] = [:]
                for (id, pts) in state.channels {
                    guard let number = Int64(id) else {
                        problems.append("channel id \(id) is not a number")
                        continue
                    }
                    wanted[number] = pts
                }
                if actual.channels != wanted {
                    problems.append("channels differ: \(actual.channels.count) vs \(wanted.count) expected")
                }
            } else {
                problems.append("no update state")
            }
        } else if session.updateState != nil {
            problems.append("unexpected update state")
        }
        if session.apiID != expected.apiId { problems.append("api id \(String(describing: session.apiID))") }
        if session.isTestMode != expected.testMode { problems.append("test mode \(session.isTestMode)") }
        if session.takeoutID != expected.takeoutId { problems.append("takeout id \(String(describing: session.takeoutID))") }
        return problems
    }

    static func keyDifferences(_ name: String, _ key: AuthKey?, _ expected: ExpectedKey?) -> [String] {
        switch (key, expected) {
        case (nil, nil): return []
        case (nil, .some): return ["\(name) missing"]
        case (.some, nil): return ["\(name) unexpected"]
        case (.some(let key), .some(let expected)):
            let bytes = key.withUnsafeBytes { Array($0) }
            var problems: [String] = []
            if hex(bytes) != expected.hex { problems.append("\(name) bytes differ") }
            if hex(sha256(bytes)) != expected.sha256 { problems.append("\(name) sha256 differs") }
            if key.id != expected.id { problems.append("\(name) id \(key.id), expected \(expected.id)") }
            return problems
        }
    }
}

// MARK: Opening a fixture

/// What one attempt to open a fixture gave.
struct OpenOutcome {
    var error: VaultError?
    var session: Session?
    var recordCount: Int?
    var peers: [Peer] = []
    /// For each requested lookup entry, the id of the peer the library's lookup returned.
    var lookedUp: [Int64?] = []
    /// How many Argon2id derivations the attempt ran.
    var derivations: Int
}

enum FixtureOpener {
    static let quietLogger = Logger(label: "fixtures") { _ in SwiftLogNoOpLogHandler() }

    /// Opens a private copy of the fixture (opening writes: WAL mode, checkpoints, a lock file), so
    /// the committed file is never touched.
    static func attempt(_ fixture: Fixture, _ open: Open, lookups: [ExpectedIndexEntry] = []) async throws -> OpenOutcome {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sv-fixture-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let copy = directory + "/fixture.session"
        try FileManager.default.copyItem(atPath: FixturePaths.path(fixture.file), toPath: copy)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: copy)

        var configuration = SessionVault.Configuration()
        configuration.mode = .openExisting
        configuration.fallback = .fail
        configuration.logger = quietLogger
        configuration.allowsInsecureKDFParametersForTesting = open.kdfBounds == "test"
        let derivations = DerivationCounter()
        return try await DerivationCounter.$current.withValue(derivations) { () async throws -> OpenOutcome in
            do {
                let vault: SessionVault
                if let passphrase = open.passphrase {
                    vault = try await SessionVault.open(at: copy, passphrase: try Passphrase(copying: passphrase), configuration: configuration)
                } else {
                    let text = Array((open.recoveryKey ?? "").utf8)
                    let key = try RecoveryKey(parsing: try text.withUnsafeBytes { try SecretBytes(copying: $0) })
                    vault = try await SessionVault.open(at: copy, recoveryKey: key, configuration: configuration)
                }
                let session = try await vault.load()
                let count = await vault.recordCount
                let peers = try await vault.allPeers()
                var lookedUp: [Int64?] = []
                for entry in lookups {
                    let found = entry.field == "username"
                        ? try await vault.peer(username: entry.value) : try await vault.peer(phoneNumber: entry.value)
                    lookedUp.append(found?.id)
                }
                try await vault.close()
                return OpenOutcome(session: session, recordCount: count, peers: peers, lookedUp: lookedUp, derivations: derivations.count)
            } catch let error as VaultError {
                return OpenOutcome(error: error, derivations: derivations.count)
            }
        }
    }
}

// MARK: Bytes

/// Bytes of a lower-case hex string (the manifest and vector files never hold anything else).
func bytes(_ hexString: String) -> [UInt8] {
    var result: [UInt8] = []
    result.reserveCapacity(hexString.utf8.count / 2)
    var high: UInt8?
    for character in hexString.utf8 {
        let value: UInt8
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
        default: preconditionFailure("not lower-case hex: \(hexString)")
        }
        if let first = high {
            result.append(first << 4 | value)
            high = nil
        } else {
            high = value
        }
    }
    precondition(high == nil, "odd-length hex: \(hexString)")
    return result
}

func readFileBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Keyed BLAKE2b straight from libsodium (`crypto_generichash`), independent of the library's wrapper.
func blake2b(_ length: Int, key: [UInt8]?, _ message: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: length)
    if let key {
        _ = crypto_generichash(&out, length, message, UInt64(message.count), key, key.count)
    } else {
        _ = crypto_generichash(&out, length, message, UInt64(message.count), nil, 0)
    }
    return out
}

func secretboxEasy(_ plaintext: [UInt8], nonce: [UInt8], key: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: plaintext.count + Int(crypto_secretbox_MACBYTES))
    _ = crypto_secretbox_easy(&out, plaintext, UInt64(plaintext.count), nonce, key)
    return out
}

func reveal(_ secret: SecretBytes) -> [UInt8] { secret.withUnsafeBytes { Array($0) } }

/// A vector file decoded with snake-case keys.
func vectorFile<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: FixturePaths.path("vectors/" + name))))
}
