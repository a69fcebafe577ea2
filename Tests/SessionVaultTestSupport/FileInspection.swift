import Foundation

/// The bytes of a file, or empty when it does not exist.
package func fileBytes(_ path: String) -> [UInt8] {
    (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
}

/// Whether anything exists at `path`.
package func fileExists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

/// The permission bits of a file, e.g. `0o600`; nil when it does not exist.
package func fileMode(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? nil
}
