import Foundation

// Two names on purpose: one `withTemporaryDirectory` with both a synchronous and an asynchronous
// overload changed which one `try await withTemporaryDirectory { … }` picked in other suites.

/// A fresh temporary directory, removed when `body` returns (asynchronous tests).
package func withTemporaryDirectory<R>(_ body: (String) async throws -> R) async throws -> R {
    let path = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// A fresh temporary directory, removed when `body` returns (synchronous tests).
package func inTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let path = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

private func makeTemporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("sv-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
