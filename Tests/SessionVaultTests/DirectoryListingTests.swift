import Foundation
import Testing
@testable import SessionVaultKit
import SessionVaultTestSupport

/// `FileSystem.entryNames(of:)`, which the import clean-up and the folder shredder list directories
/// with: every name of every length, nothing else.
struct DirectoryListingTests {
    @Test func everyNameOfEveryLengthIsListed() async throws {
        try await withTemporaryDirectory { directory in
            // Names of 1 to 255 bytes, so that short and full-length records end the buffer.
            var expected: Set<String> = []
            for length in 1...255 {
                let name = String(repeating: "n", count: length - 1) + String(length % 10)
                try Data().write(to: URL(fileURLWithPath: directory + "/" + name))
                expected.insert(name)
            }
            let listed = try #require(FileSystem.entryNames(of: directory))
            #expect(listed.count == expected.count)
            #expect(Set(listed) == expected)
            #expect(FileSystem.entryNames(of: directory + "/missing") == nil)
        }
    }
}
