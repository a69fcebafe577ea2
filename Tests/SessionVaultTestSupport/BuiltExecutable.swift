import Foundation

/// The path of an executable of this package built with the tests (`session-vault`, `sv-fixtures`):
/// next to the running test bundle (same scratch path and configuration, so a `--sanitize=thread`
/// run spawns the sanitized binary), else under `<scratch>/debug` of the package root for each of
/// `scratchDirectories`. The first candidate when none exists (the test then fails naming it).
package func builtExecutable(named name: String, scratchDirectories: [String] = [".build"]) -> String {
    var candidates: [String] = []
    if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent(name).path)
    }
    candidates.append(Bundle.main.bundleURL.appendingPathComponent(name).path)
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path)
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    for scratch in scratchDirectories {
        candidates.append(root.appendingPathComponent("\(scratch)/debug/\(name)").path)
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}
