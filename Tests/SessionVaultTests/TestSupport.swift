import Foundation
import Logging
import Synchronization
@_spi(Testing) @testable import SessionVaultKit

/// Collects log lines for assertions (no global bootstrap needed).
final class LogCapture: Sendable {
    private let lines = Mutex<[(Logger.Level, String)]>([])

    var entries: [(Logger.Level, String)] { lines.withLock { $0 } }
    var warnings: [String] { entries.filter { $0.0 == .warning }.map(\.1) }

    func logger() -> Logger {
        Logger(label: "test") { _ in Handler(capture: self) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let text = "\(event.message) \(merged.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))"
            capture.lines.withLock { $0.append((event.level, text)) }
        }
    }
}

/// A configuration with test-only KDF parameters so that tests run in milliseconds.
func fastConfiguration(
    mode: SessionVault.Configuration.Mode = .openOrCreate,
    logger: Logger? = nil
) -> SessionVault.Configuration {
    var configuration = SessionVault.Configuration()
    configuration.mode = mode
    configuration.kdf = .insecureForTestingOnly
    configuration.allowsInsecureKDFParametersForTesting = true
    if let logger { configuration.logger = logger }
    return configuration
}

func passphrase(_ text: String = "correct horse battery staple") -> Passphrase {
    try! Passphrase(copying: text)
}

/// A 256-byte key whose bytes are `seed, seed+1, …` (so tests can search files for it).
func patternKey(seed: UInt8) throws -> AuthKey {
    let bytes = (0..<256).map { UInt8(truncatingIfNeeded: Int(seed) &+ $0 &* 7) }
    return try bytes.withUnsafeBytes { try AuthKey(copying: $0) }
}

/// Raw key bytes of an AuthKey, for tests that scan files (tests only).
func rawBytes(_ key: AuthKey) -> [UInt8] {
    key.withUnsafeBytes { Array($0) }
}

/// A session that uses every field.
func sampleSession(channels: Int = 5) throws -> Session {
    var channelStates: [Int64: Int32] = [:]
    for i in 0..<channels { channelStates[1_000_000_000_000 + Int64(i)] = Int32(1000 + i) }
    return Session(
        dataCenters: [
            DataCenter(
                id: 2,
                ipv4: Endpoint(host: "149.154.167.51", port: 443),
                ipv6: Endpoint(host: "2001:67c:4e8:f002::a", port: 443),
                authKey: try patternKey(seed: 1),
                temporaryAuthKey: try patternKey(seed: 2)
            ),
            DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.222", port: 443), authKey: try patternKey(seed: 3), isMediaOnly: true),
            DataCenter(id: 4, ipv4: Endpoint(host: "149.154.167.91", port: 443)),
        ],
        user: LoggedInUser(id: 7_123_456_789, dataCenterID: 2, isBot: true, username: "vault_test_bot"),
        updateState: UpdateState(pts: 4242, qts: 17, date: 1_764_000_000, seq: 99, channels: channelStates),
        apiID: 611335,
        isTestMode: false,
        takeoutID: 8_000_000_001
    )
}
