package import Foundation

/// Everything `handle` yields until end of file, read on a Dispatch thread, so that a test waiting
/// for a child's output never holds a thread of Swift's cooperative pool (two threads on the CI
/// machine: tests that blocked them starved every other test's async work).
package func readToEnd(_ handle: FileHandle) async -> Data {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: handle.readDataToEndOfFile()) }
    }
}
