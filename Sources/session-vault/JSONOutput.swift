#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SessionVaultKit

/// The `--json` encoding: keys sorted, pretty-printed, slashes unescaped, one document on standard output.
enum JSONOutput {
    static func print(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        try StandardStream.print(String(decoding: data, as: UTF8.self))
    }
}
