import CSodium
import Foundation
import SessionVaultTestSupport
import Testing

/// The generator (`sv-fixtures`, run as the built binary so that its deterministic random source
/// never enters this process): deterministic, and in agreement with the committed vectors.
@Suite("Fixtures: the generator", .serialized)
struct RegenerationTests {
    /// Starts the generator writing into `directory`.
    static func start(into directory: String, extra: [String] = []) throws -> (Process, Pipe) {
        let generator = FixturePaths.generator
        guard FileManager.default.isExecutableFile(atPath: generator) else {
            throw GeneratorMissing(path: generator)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: generator)
        process.arguments = ["--output", directory] + extra
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe)
    }

    /// Waits for a started generator (off the cooperative pool: a run takes tens of seconds);
    /// returns its exit status and output.
    static func finish(_ started: (Process, Pipe)) async -> (status: Int32, output: String) {
        let output = await readToEnd(started.1.fileHandleForReading)
        await waitForExit(started.0)
        return (started.0.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    static func generate(into directory: String, extra: [String] = []) async throws -> (status: Int32, output: String) {
        await finish(try start(into: directory, extra: extra))
    }

    struct GeneratorMissing: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) is missing: build everything first (swift build --build-tests)" }
    }

    static func files(under root: String) throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory)
            if exists && !isDirectory.boolValue { result[relative] = try readFileBytes(root + "/" + relative) }
        }
        return result
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sv-regenerate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Two runs give byte-identical trees (vaults, tampered files, vectors, manifest), and the
    /// regenerated vectors equal the committed ones byte for byte.
    @Test(.timeLimit(.minutes(2)))
    func twoRunsAreByteIdenticalAndVectorsMatchTheCommittedOnes() async throws {
        let first = try Self.temporaryDirectory()
        let second = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: first)
            try? FileManager.default.removeItem(atPath: second)
        }
        // Two processes at once: nothing but the seed may decide the bytes.
        let started1 = try Self.start(into: first)
        let started2 = try Self.start(into: second)
        let run1 = await Self.finish(started1)
        let run2 = await Self.finish(started2)
        #expect(run1.status == 0, "\(run1.output)")
        #expect(run2.status == 0, "\(run2.output)")
        let one = try Self.files(under: first)
        let two = try Self.files(under: second)
        #expect(one.count > 150)
        #expect(Set(one.keys) == Set(two.keys))
        let differing = one.keys.filter { one[$0] != two[$0] }.sorted()
        #expect(differing.isEmpty, "not deterministic: \(differing)")

        let committed = try Self.files(under: FixturePaths.path("vectors"))
        #expect(Set(committed.keys.map { "vectors/" + $0 }) == Set(one.keys.filter { $0.hasPrefix("vectors/") }))
        for (name, bytes) in committed {
            #expect(one["vectors/" + name] == bytes, "vectors/\(name) differs from the regenerated one")
        }
        // The regenerated tree has the same files as the committed one.
        let listed = Set(try Manifest.load().fixtures.map(\.file))
        #expect(Set(one.keys.filter { $0.hasPrefix("vaults/") || $0.hasPrefix("tampered/") }) == listed)
    }

    /// The freezing rule: an existing fixture is never overwritten with other bytes without `--force`.
    @Test(.timeLimit(.minutes(2)))
    func generatorRefusesToOverwriteAChangedFixture() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for item in ["vaults", "tampered", "vectors", "manifest.json"] {
            try FileManager.default.copyItem(atPath: FixturePaths.path(item), toPath: directory + "/" + item)
        }
        let victim = directory + "/vaults/interactive.session"
        let altered = Data("an older fixture that must not be replaced".utf8)
        try altered.write(to: URL(fileURLWithPath: victim))
        let refused = try await Self.generate(into: directory)
        #expect(refused.status != 0)
        #expect(refused.output.contains("refusing to overwrite \(directory)/vaults/interactive.session"), "\(refused.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == altered)
        #expect(try readFileBytes(directory + "/manifest.json") == readFileBytes(FixturePaths.path("manifest.json")))
        let forced = try await Self.generate(into: directory, extra: ["--force"])
        #expect(forced.status == 0, "\(forced.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) != altered)
    }

    /// The seeded random source lives only in the generator's process.
    @Test func thisProcessUsesLibsodiumsOwnRandomSource() {
        _ = sodium_init()
        #expect(String(cString: randombytes_implementation_name()) != "sessionvault-fixtures-deterministic")
    }
}
