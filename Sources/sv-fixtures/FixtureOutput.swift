#if DEBUG
import Foundation

/// Copies the staging tree into the fixtures directory under the freezing rule of
/// `Fixtures/README.md`: fixtures of a released format version are never regenerated, only added to.
///
/// A file that does not exist yet is written. A file that exists with the same bytes is left alone.
/// A file that exists with other bytes is a conflict, and so is a `manifest.json` that drops or
/// changes an existing entry; with any conflict nothing is written unless `force` is set.
enum FixtureOutput {
    struct Report {
        var written: [String] = []
        var unchanged: [String] = []
        var conflicts: [String] = []
        var stale: [String] = []
    }

    static let managedDirectories = ["vaults", "tampered", "vectors"]

    /// Every file of the staging tree, relative to it (the work directory excluded).
    static func files(under root: String) -> [String] {
        var result: [String] = []
        for directory in managedDirectories {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + directory)) ?? []
            result += names.filter { !$0.hasPrefix(".") }.map { directory + "/" + $0 }
        }
        if FileManager.default.fileExists(atPath: root + "/manifest.json") { result.append("manifest.json") }
        return result.sorted()
    }

    static func read(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// The entries of a manifest by file name.
    static func entries(_ data: Data) -> [String: NSDictionary]? {
        guard let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let fixtures = document["fixtures"] as? [[String: Any]]
        else { return nil }
        var result: [String: NSDictionary] = [:]
        for entry in fixtures {
            if let file = entry["file"] as? String { result[file] = entry as NSDictionary }
        }
        return result
    }

    static func publish(staging: String, output: String, force: Bool) throws -> Report {
        var report = Report()
        let generated = files(under: staging)
        for file in generated {
            let new = read(staging + "/" + file)!
            guard let old = read(output + "/" + file) else {
                report.written.append(file)
                continue
            }
            if old == new {
                report.unchanged.append(file)
            } else if file == "manifest.json", let oldEntries = entries(old), let newEntries = entries(new),
                oldEntries.allSatisfy({ newEntries[$0.key]?.isEqual($0.value) == true })
            {
                report.written.append(file)  // only additions
            } else {
                report.conflicts.append(file)
            }
        }
        let generatedSet = Set(generated)
        report.stale = files(under: output).filter { !generatedSet.contains($0) }
        if !report.conflicts.isEmpty && !force { return report }
        for file in report.written + (force ? report.conflicts : []) {
            let destination = output + "/" + file
            try FileManager.default.createDirectory(
                atPath: (destination as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try read(staging + "/" + file)!.write(to: URL(fileURLWithPath: destination))
        }
        return report
    }
}
#endif
