#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if DEBUG
import CSodium
import Foundation
@_spi(Testing) @testable import SessionVaultKit
#endif

/// `sv-fixtures`: writes SessionVault's known-answer vaults, tamper corpus, sealing-layer vectors and
/// manifest (`make fixtures`). A development tool: not a product, never installed, and the only
/// program in which libsodium's random source is the deterministic one of ``DeterministicRandom``.
///
/// ```
/// sv-fixtures [--output DIR] [--force]
/// ```
/// `--output` defaults to `Fixtures`. Existing files are never overwritten with other bytes unless
/// `--force` is given (see `Fixtures/README.md`, "Freezing rule").
@main
struct SVFixtures {
    static func main() async {
        #if DEBUG
        do {
            try await run(Array(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandle.standardError.write(Data("sv-fixtures: \(error)\n".utf8))
            exit(1)
        }
        #else
        let message = "sv-fixtures uses the library's internals: build it in the debug configuration\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(2)
        #endif
    }
}

#if DEBUG
extension SVFixtures {
    static let usage = """
        usage: sv-fixtures [--output DIR] [--force]
          --output DIR  where to write (default: Fixtures)
          --force       overwrite existing fixtures whose bytes differ (never for a released format)
        """

    static func run(_ arguments: [String]) async throws {
        var output = "Fixtures"
        var force = false
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--output" where index + 1 < arguments.count:
                output = arguments[index + 1]
                index += 1
            case "--force":
                force = true
            case "--help", "-h":
                print(usage)
                return
            default:
                throw GeneratorError("unknown argument \(arguments[index])\n\(usage)")
            }
            index += 1
        }

        // Dictionary iteration order must not vary between runs: it decides the order in which a
        // save seals records, so which nonce each record gets. Re-run with deterministic hashing.
        if getenv("SWIFT_DETERMINISTIC_HASHING") == nil {
            setenv("SWIFT_DETERMINISTIC_HASHING", "1", 1)
            execv("/proc/self/exe", CommandLine.unsafeArgv)
            throw GeneratorError("could not re-run with SWIFT_DETERMINISTIC_HASHING=1 (set it and run again)")
        }
        // Before any other libsodium call, in particular before the library's sodium_init.
        guard DeterministicRandom.install() else {
            throw GeneratorError("could not install the deterministic random source before sodium_init")
        }

        let staging = FileManager.default.temporaryDirectory.appendingPathComponent("sv-fixtures-\(getpid())").path
        try? FileManager.default.removeItem(atPath: staging)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let generator = try Generator(staging: staging)

        let vaults = try await generator.makeKnownAnswerVaults()
        try await generator.makeTamperCorpus(vaults)
        try await generator.makeVersion2Fixtures()
        let vectorFiles = try Vectors.all()
        for (name, document) in vectorFiles {
            try generator.write(Array(document.rendered().utf8), to: "vectors/" + name)
        }
        try generator.write(Array(try manifest(generator).rendered().utf8), to: "manifest.json")

        let report = try FixtureOutput.publish(staging: staging, output: output, force: force)
        let vaultCount = generator.entries.filter { $0.file.hasPrefix("vaults/") }.count
        let tamperedCount = generator.entries.filter { $0.file.hasPrefix("tampered/") }.count
        print("sv-fixtures: \(vaultCount) known-answer vaults, \(tamperedCount) tampered files, \(vectorFiles.count) vector files")
        let refused = !report.conflicts.isEmpty && !force
        print(
            "sv-fixtures: \(report.written.count) \(refused ? "new (nothing written)" : "written"), "
                + "\(report.unchanged.count) unchanged, \(report.conflicts.count) differing"
        )
        for file in report.stale { print("sv-fixtures: note: \(output)/\(file) is not produced by this generator (kept)") }
        if !report.conflicts.isEmpty {
            for file in report.conflicts { print("sv-fixtures: \(force ? "overwrote" : "refusing to overwrite") \(output)/\(file)") }
            if !force {
                throw GeneratorError(
                    "\(report.conflicts.count) existing fixture(s) would change. Fixtures of a released format version are never "
                        + "regenerated, only added to (Fixtures/README.md); pass --force only for an unreleased format"
                )
            }
        }
    }

    static func manifest(_ generator: Generator) throws -> JSON {
        var fixtures: [JSON] = []
        for entry in generator.entries {
            fixtures.append(entry.json(bytes: try generator.read(entry.file)))
        }
        let library = generator.library
        return .object([
            ("schema", .string("sessionvault-fixtures/1")),
            ("format_version", .int(Int64(StoredHeader.currentFormatVersion))),
            (
                "description",
                .array([
                    .string("Every fixture file under Fixtures/ with its SHA-256 and how to open it. See Fixtures/README.md."),
                    .string("opens: each line is one attempt; expect is 'ok' or a VaultError.Code name; record_kind (when present) is the kind the error names, or 'none'."),
                    .string("contents: what an 'ok' open yields. Auth keys are synthetic fixtures and are given in full."),
                ])
            ),
            (
                "generator",
                .object([
                    ("command", .string("make fixtures")),
                    ("source", .string("Sources/sv-fixtures")),
                    ("random_source", .string("randombytes_buf_deterministic, reseeded per fixture (DeterministicRandom.swift)")),
                    ("sqlite_version", .string(library.version)),
                    ("libsodium_version", .string(String(cString: sodium_version_string()))),
                ])
            ),
            (
                "kdf_bounds",
                .object([
                    (
                        "production",
                        .object([
                            ("opslimit", .array([.uint(KDFParameters.minimumOpsLimit), .uint(KDFParameters.maximumOpsLimit)])),
                            ("memlimit", .array([.uint(KDFParameters.minimumMemLimit), .uint(KDFParameters.maximumMemLimit)])),
                        ])
                    ),
                    (
                        "test",
                        .object([
                            ("opslimit", .array([.uint(UInt64(crypto_pwhash_argon2id_opslimit_min())), .uint(KDFParameters.maximumOpsLimit)])),
                            ("memlimit", .array([.uint(UInt64(crypto_pwhash_argon2id_memlimit_min())), .uint(KDFParameters.maximumMemLimit)])),
                        ])
                    ),
                ])
            ),
            ("error_codes", .array(VaultError.Code.allCases.map { .string($0.name) })),
            ("fixtures", .array(fixtures)),
        ])
    }
}
#endif
