import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// The interop fixtures made by the real Telethon / Pyrogram / Kurigram (Fixtures/interop/), their
/// manifest, and helpers shared by the Interop*Tests suites.
enum InteropFixtures {
    /// `<package root>/Fixtures/interop`, found from this source file.
    static let directory: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/interop").path

    static func path(_ file: String) -> String { directory + "/" + file }

    /// `manifest.json` → `fixtures[]`, by file name.
    /// Read once, never mutated (hence `nonisolated(unsafe)`: JSON values are not `Sendable`).
    nonisolated(unsafe) static let manifest = fixtures(in: "manifest.json")

    /// `handmade-manifest.json` → `fixtures[]`, by file name (the Telethon v2 fixture).
    nonisolated(unsafe) static let handmade = fixtures(in: "handmade-manifest.json")

    /// The `fixtures[]` entries of a manifest, by file name.
    private static func fixtures(in manifest: String) -> [String: [String: Any]] {
        let data = try! Data(contentsOf: URL(fileURLWithPath: path(manifest)))
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var byFile: [String: [String: Any]] = [:]
        for entry in root["fixtures"] as! [[String: Any]] { byFile[entry["file"] as! String] = entry }
        return byFile
    }

    /// Every real-library fixture file, sorted.
    static var files: [String] { manifest.keys.sorted() }

    static func facts(_ file: String) -> [String: Any] { manifest[file]!["facts"] as! [String: Any] }

    static func format(_ file: String) -> SessionFormat { SessionFormat(name: manifest[file]!["format"] as! String)! }

    static func read(_ file: String, format: SessionFormat? = nil) throws -> ImportedSession {
        try SessionImporter.read(from: .file(path: path(file)), format: format)
    }
}

/// SHA-256 of an auth key, as lowercase hex.
func sha256Hex(_ key: AuthKey) -> String {
    key.withUnsafeBytes { hex(sha256($0)) }
}

/// JSON numbers as Int64 (NSNumber bridging).
func int64(_ value: Any?) -> Int64? {
    guard let number = value as? NSNumber else { return nil }
    return number.int64Value
}

func isNull(_ value: Any?) -> Bool { value == nil || value is NSNull }

/// Writes bytes to a new file.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Runs SQL on a (new or existing) SQLite file with the dlopen'd library (fixtures for malformed-input tests).
func withForeignDatabase(_ path: String, _ body: (SQLiteConnection) throws -> Void) throws {
    if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
    let db = try SQLiteConnection(
        path: path,
        library: try SQLiteLibrary.loadForSessionFiles(),
        role: .foreignSession(label: "test database")
    )
    defer { try? db.close() }
    try body(db)
}

/// Maps a manifest peer `type` to the vault's kind (Telethon types come from the marked id).
func expectedKind(_ type: String) -> Peer.Kind {
    switch type {
    case "chat": .group
    default: Peer.Kind(name: type)!
    }
}
