// swift-tools-version: 6.2
// libFuzzer targets for SessionVault (issue 6, "Hostile and malformed input"). A separate package, as
// in swift-protobuf's FuzzTesting: it is built only with the fuzzer and address sanitizers,
//
//     swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//
// (see README.md and `make fuzz`). Debug builds compile SessionVault with testing enabled, so the
// entry points can reach the internal parsers through `@testable import`.
import PackageDescription

let targets = ["SessionString", "SealedString", "RecordCodec", "VaultFile", "RecoveryKey", "InteropString", "TDataFolder"]

let package = Package(
    name: "FuzzTesting",
    platforms: [.macOS(.v15)],
    products: targets.map { .executable(name: "Fuzz\($0)", targets: ["Fuzz\($0)"]) },
    dependencies: [.package(name: "SessionVault", path: "..")],
    targets: [
        // The entry functions, one per target, shared by the fuzz binaries; each binary is a
        // three-line @_cdecl("LLVMFuzzerTestOneInput") shim around one of them.
        .target(name: "FuzzEntries", dependencies: [.product(name: "SessionVaultKit", package: "SessionVault")]),
        // The declaration of libFuzzer's LLVMFuzzerRunDriver, which each binary's main calls.
        .target(name: "CFuzzerDriver"),
    ] + targets.map { .executableTarget(name: "Fuzz\($0)", dependencies: ["FuzzEntries", "CFuzzerDriver"]) }
)

for target in package.targets where target.name != "CFuzzerDriver" {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    settings.append(.enableUpcomingFeature("NonisolatedNonsendingByDefault"))
    target.swiftSettings = settings
}
