// swift-tools-version: 6.2
import PackageDescription

// PostgreSQL support is the package trait `PostgreSQL`, off by default: a consumer of the core library
// (and `make demo`) resolves and builds neither postgres-nio nor SwiftNIO. Enable it with
// `.package(url: …, from: …, traits: ["PostgreSQL"])`, or `swift build --traits PostgreSQL` here
// (`make test` does). With the trait off, the SessionVaultPostgres module compiles to nothing.
let postgres: TargetDependencyCondition = .when(traits: ["PostgreSQL"])!

let package = Package(
    name: "SessionVault",
    platforms: [.macOS(.v15)],
    products: [
        // The module is SessionVaultKit (its main type is the `SessionVault` actor: a module named like
        // its type breaks `SessionVault.Session` as soon as another module exports a `Session`).
        .library(name: "SessionVaultKit", targets: ["SessionVaultKit"]),
        // Sessions in PostgreSQL, for fleets of bots: needs the `PostgreSQL` trait.
        .library(name: "SessionVaultPostgres", targets: ["SessionVaultPostgres"]),
        .executable(name: "session-vault", targets: ["session-vault"]),
        // Linked into an executable, its C constructor runs before any Swift code: the process becomes
        // non-dumpable and the secret SESSION_VAULT_* variables move out of the environment.
        .library(name: "SessionVaultEarlyHardening", targets: ["SessionVaultEarlyHardening"]),
    ],
    traits: [
        .trait(name: "PostgreSQL", description: "The SessionVaultPostgres product, and PostgreSQL locations in the CLI (postgres-nio)."),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Resolved only when the `PostgreSQL` trait is enabled (its one use below is trait-conditional).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // libsodium, found through pkg-config (Debian: libsodium-dev).
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        // Declarations only: SQLite is never linked, it is loaded with dlopen at run time.
        .target(
            name: "CSQLite",
            linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        // A few system calls that the Glibc module does not export (prctl).
        .target(name: "CSystemShims"),
        // AES-256 decryption (IGE mode) and MD5, which reading Telegram Desktop `tdata` needs and
        // libsodium lacks (SECURITY.md, "tdata import"). Decryption only; no dependency.
        .target(name: "CTDataCrypto"),
        // A C constructor (priority 101) that runs csystem_run_early_hardening before main. The
        // `session-vault` command links it; so can an embedder's executable (docs: HandlingSecrets).
        .target(name: "SessionVaultEarlyHardening", dependencies: ["CSystemShims"]),
        .target(
            name: "SessionVaultKit",
            dependencies: [
                "CSodium",
                "CSQLite",
                "CSystemShims",
                "CTDataCrypto",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The operator tools of the `session-vault` command: the audit of `verify` (with its git and
        // plaintext checks), the summary of `show`, `soak` and its digests, `demo`. Not a product:
        // nothing a bot needs, so the core library does not carry them.
        .target(
            name: "SessionVaultOperations",
            dependencies: ["SessionVaultKit"]
        ),
        // The `session-vault serve` agent: the protocol of docs/AGENT.md over standard input and
        // output, for programs in other languages (python/). Answers and requests stay in guarded memory.
        .target(
            name: "SessionVaultAgent",
            dependencies: ["SessionVaultKit", "CSystemShims"]
        ),
        // What `session-vault bench` measures, including the identity-transform baseline.
        .target(
            name: "SessionVaultBenchmarks",
            dependencies: ["SessionVaultKit", "SessionVaultOperations", "CSodium"]
        ),
        // The same sealed vault on PostgreSQL: only the record store is new. Empty without the trait.
        .target(
            name: "SessionVaultPostgres",
            dependencies: [
                "SessionVaultKit",
                "CSodium",
                .product(name: "PostgresNIO", package: "postgres-nio", condition: postgres),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "session-vault",
            dependencies: [
                "SessionVaultEarlyHardening",
                "SessionVaultKit",
                "SessionVaultAgent",
                "SessionVaultBenchmarks",
                "SessionVaultOperations",
                .target(name: "SessionVaultPostgres", condition: postgres),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What the four test targets share: temporary directories, file and byte inspection, guarded
        // copies of test bytes, raw access to a vault's database, finding the built executables.
        .target(
            name: "SessionVaultTestSupport",
            dependencies: ["SessionVaultKit", "CSodium"],
            path: "Tests/SessionVaultTestSupport"
        ),
        .testTarget(
            name: "SessionVaultTests",
            dependencies: [
                "SessionVaultKit",
                "SessionVaultOperations",
                "SessionVaultTestSupport",
                "CSodium",
                "CTDataCrypto",
                .target(name: "SessionVaultPostgres", condition: postgres),
            ]
        ),
        .testTarget(
            name: "SessionVaultCLITests",
            dependencies: ["session-vault", "SessionVaultKit", "SessionVaultTestSupport"]
        ),
        // The fixture generator (`make fixtures`, Fixtures/README.md): a development tool, not a
        // product. It installs a deterministic libsodium random source in its own process, so
        // nothing else links it, not even the fixture tests (they run the built binary).
        .executableTarget(
            name: "sv-fixtures",
            dependencies: ["SessionVaultKit", "CSodium"]
        ),
        // `make fixtures-check`: the manifest, the known-answer vaults, the tamper corpus, the vectors.
        .testTarget(
            name: "SessionVaultFixtureTests",
            dependencies: ["SessionVaultKit", "SessionVaultTestSupport", "CSodium", .product(name: "Logging", package: "swift-log")]
        ),
        // Test support for the reliability tests: a SQLite VFS shim that loses power on demand
        // (buffers writes until a sync, then drops what was not synced). Found through dlsym on the
        // libsqlite3 the library already loaded; nothing links SQLite.
        .target(
            name: "CPowerLossVFS",
            linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        // Crash, power-loss, contention, resource-fault and memory-hygiene tests (`make crash-test`
        // runs the long crash harness); they spawn the built `session-vault` binary.
        .testTarget(
            name: "SessionVaultReliabilityTests",
            dependencies: ["session-vault", "SessionVaultKit", "SessionVaultOperations", "SessionVaultTestSupport", "CPowerLossVFS"]
        ),
        // Links SessionVaultEarlyHardening as `session-vault` does and reports, from its first line of
        // Swift, what the constructor left (EarlyHardeningTests spawn it).
        .executableTarget(
            name: "sv-early-probe",
            dependencies: ["SessionVaultEarlyHardening", "SessionVaultKit"],
            path: "Tests/EarlyHardeningProbe"
        ),
        // A client library's stand-in that exports `Session`, `DataCenter` and `AuthKey`, and the test
        // that uses both modules side by side.
        .target(name: "TelegramClientStandIn", path: "Tests/TelegramClientStandIn"),
        .testTarget(name: "NameClashTests", dependencies: ["SessionVaultKit", "TelegramClientStandIn"]),
        // `make docs-check`: every ```swift block of README.md, of the DocC articles and of the doc
        // comments, extracted by scripts/extract_swift_examples.py into Generated/ (git-ignored) and
        // compiled against the library. Built by --build-tests only; it holds no tests.
        .testTarget(
            name: "DocumentationExamples",
            dependencies: ["SessionVaultKit", "SessionVaultOperations", .target(name: "SessionVaultPostgres", condition: postgres)]
        ),
    ]
)

// `#if SESSION_VAULT_POSTGRES` marks the code that needs the trait.
for target in package.targets where ["SessionVaultPostgres", "session-vault", "SessionVaultTests", "SessionVaultCLITests", "DocumentationExamples"].contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + [.define("SESSION_VAULT_POSTGRES", .when(traits: ["PostgreSQL"]))]
}

for target in package.targets where target.type != .system && !["CSQLite", "CSystemShims", "CTDataCrypto", "CPowerLossVFS", "SessionVaultEarlyHardening"].contains(target.name) {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    settings.append(.enableUpcomingFeature("NonisolatedNonsendingByDefault"))
    target.swiftSettings = settings
}
