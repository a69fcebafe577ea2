#if DEBUG
import CSodium
import Foundation
@_spi(Testing) @testable import SessionVaultKit

/// How one manifest entry says a fixture is opened, and what must happen.
struct OpenCheck {
    enum Secret {
        case passphrase(String)
        case recoveryKey(String)
    }

    /// Which KDF bounds the opener applies: `test` sets `allowsInsecureKDFParametersForTesting`
    /// (test-floor vaults need it), `production` is the default configuration.
    enum Bounds: String {
        case test
        case production
    }

    var secret: Secret
    var bounds: Bounds
    /// `ok`, or a `VaultError.Code` name.
    var expect: String
    /// For errors that name a record kind: the kind name, or `none` when the error must carry no
    /// kind. Nil: not checked (the failing record is not determined by the mutation).
    var recordKind: String?

    static func ok(_ passphrase: String, _ bounds: Bounds = .test) -> OpenCheck {
        OpenCheck(secret: .passphrase(passphrase), bounds: bounds, expect: "ok")
    }

    static func error(
        _ code: VaultError.Code,
        _ passphrase: String,
        kind: String? = nil,
        _ bounds: Bounds = .test
    ) -> OpenCheck {
        OpenCheck(secret: .passphrase(passphrase), bounds: bounds, expect: code.name, recordKind: kind)
    }

    var json: JSON {
        var members: [(String, JSON)] = []
        switch secret {
        case .passphrase(let text): members.append(("passphrase", .string(text)))
        case .recoveryKey(let text): members.append(("recovery_key", .string(text)))
        }
        members.append(("kdf_bounds", .string(bounds.rawValue)))
        members.append(("expect", .string(expect)))
        if let recordKind { members.append(("record_kind", .string(recordKind))) }
        return .object(members)
    }
}

/// One fixture file and everything the manifest says about it.
struct FixtureEntry {
    var file: String
    var category: String
    var made: String
    var base: String?
    var target: JSON?
    var opens: [OpenCheck]
    /// Set when an open is expected to succeed: what it must yield.
    var contents: VaultContents?
    /// The format version of the vault, written to the manifest for version 2 and later (entries
    /// without it are version 1, as every fixture was before version 2).
    var formatVersion: UInt32? = nil

    func json(bytes: [UInt8]) -> JSON {
        var members: [(String, JSON)] = [
            ("file", .string(file)),
            ("sha256", .hex(Digest.sha256(bytes))),
            ("size", .int(Int64(bytes.count))),
            ("category", .string(category)),
            ("made", .string(made)),
        ]
        if let formatVersion { members.append(("format_version", .int(Int64(formatVersion)))) }
        if let base { members.append(("base", .string(base))) }
        if let target { members.append(("target", target)) }
        members.append(("opens", .array(opens.map(\.json))))
        if let contents { members.append(("contents", contents.json)) }
        return .object(members)
    }
}

/// A value bound to a SQL statement parameter.
enum SQLValue {
    case blob([UInt8])
    case int(Int64)
}

/// A row of `sv_record` as stored.
struct RawRecord {
    var tag: [UInt8]
    var maskedKind: Int64
    var nonce: [UInt8]
    var ciphertext: [UInt8]
}

/// Builds every fixture in a staging directory. Nothing here touches `Fixtures/` directly:
/// ``FixtureOutput`` compares the staging tree with it afterwards.
final class Generator {
    let staging: String
    let library: SQLiteLibrary
    private(set) var entries: [FixtureEntry] = []
    /// The format version vaults are created (and rotated) in: 1 for the frozen version-1 fixtures,
    /// 2 for those of version 2 (``makeVersion2Fixtures(_:)``).
    var writesFormatVersion: UInt32 = 1
    /// Scratch space for copies that are unlocked or inspected (never copied to the output).
    let work: String

    init(staging: String) throws {
        self.staging = staging
        self.work = staging + "/.work"
        self.library = try SQLiteLibrary.load().get()
        for directory in ["vaults", "tampered", "vectors", ".work"] {
            try FileManager.default.createDirectory(atPath: staging + "/" + directory, withIntermediateDirectories: true)
        }
    }

    func path(_ relative: String) -> String { staging + "/" + relative }

    func add(_ entry: FixtureEntry) {
        precondition(!entries.contains { $0.file == entry.file }, "duplicate fixture \(entry.file)")
        entries.append(entry)
    }

    // MARK: Files

    func read(_ relative: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }

    /// Writes a file with mode 0600, as the library creates vaults.
    func write(_ bytes: [UInt8], to relative: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path(relative)))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path(relative))
    }

    /// Copies `source` to `destination` (both relative to the staging root).
    func copy(_ source: String, to destination: String) throws {
        try write(try read(source), to: destination)
    }

    /// A scratch copy of `relative` in the work directory, for opening without touching the original.
    func scratchCopy(of relative: String, name: String) throws -> String {
        let destination = ".work/\(name).session"
        for suffix in ["", "-wal", "-shm", "-lock"] {
            try? FileManager.default.removeItem(atPath: path(destination) + suffix)
        }
        try copy(relative, to: destination)
        return path(destination)
    }

    // MARK: Raw SQL

    /// Runs `body` on a raw connection to the file (the same dlopen'd SQLite the library uses). The
    /// connection uses `secure_delete` and checkpoints on the way out, so the main file holds every
    /// change and no replaced bytes.
    func withDatabase<R>(_ relative: String, _ body: (SQLiteConnection) throws -> R) throws -> R {
        let connection = try SQLiteConnection(path: path(relative), library: library)
        do {
            try connection.execute("PRAGMA secure_delete = ON")
            try connection.execute("PRAGMA synchronous = OFF")
            let result = try body(connection)
            try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            try connection.close()
            return result
        } catch {
            try? connection.close()
            throw error
        }
    }

    func run(_ db: SQLiteConnection, _ sql: String, _ values: [SQLValue] = []) throws {
        let statement = try db.statement(sql)
        defer { statement.reset() }
        for (index, value) in values.enumerated() {
            switch value {
            case .blob(let bytes): try bytes.withUnsafeBytes { try statement.bind($0, at: Int32(index + 1)) }
            case .int(let number): try statement.bind(number, at: Int32(index + 1))
            }
        }
        try statement.run()
    }

    func records(_ relative: String) throws -> [RawRecord] {
        try withDatabase(relative) { db in
            let statement = try db.statement("SELECT tag, kind, nonce, ciphertext FROM sv_record ORDER BY tag")
            defer { statement.reset() }
            var rows: [RawRecord] = []
            while try statement.step() {
                rows.append(
                    RawRecord(
                        tag: statement.blob(0),
                        maskedKind: statement.int64(1),
                        nonce: statement.blob(2),
                        ciphertext: statement.blob(3)
                    )
                )
            }
            return rows
        }
    }

    func blob(_ db: SQLiteConnection, _ sql: String) throws -> [UInt8] {
        let statement = try db.statement(sql)
        defer { statement.reset() }
        guard try statement.step() else { throw GeneratorError("no row for \(sql)") }
        return statement.blob(0)
    }

    // MARK: Unlocking (to label records and to seal authentic-but-invalid ones)

    /// Unlocks a scratch copy of a vault with the library's own code and returns its key schedule,
    /// sealer and loaded state.
    func unlock(_ relative: String, passphrase: String) async throws -> SessionVault.Unlocked {
        let copy = try scratchCopy(of: relative, name: "unlock")
        let store = try await SQLiteRecordStore.open(at: copy, library: library, durability: .normal, lockWait: .zero)
        defer { try? store.close() }
        var configuration = SessionVault.Configuration()
        configuration.allowsInsecureKDFParametersForTesting = true
        return try await SessionVault.unlockAndLoad(
            store: store,
            unlock: .passphrase(try Passphrase(copying: passphrase)),
            configuration: configuration
        )
    }
}

/// A generator failure (a bug or an unexpected environment), printed and exit status 1.
struct GeneratorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
#endif
