/// How a vault location given by a caller becomes a file path.
public enum VaultPath {
    /// The extension appended to paths that have none.
    public static let defaultExtension = "session"

    /// Resolves `path` against the current directory and appends `.session` when the last path
    /// component has no extension (as Telethon does, which keeps `git add .` from catching vaults
    /// named without one).
    /// - Throws: ``VaultError/Code/invalidArgument`` for an empty path or one ending in `/`.
    public static func resolve(_ path: String) throws(VaultError) -> String {
        guard !path.isEmpty, !path.hasSuffix("/"), path.utf8.count < 4096, !path.utf8.contains(0) else {
            throw VaultError(.invalidArgument, "'\(path)' is not a usable vault path")
        }
        var resolved = path.hasPrefix("/") ? path : FileSystem.currentDirectory() + "/" + path
        let lastComponent = resolved.split(separator: "/").last.map(String.init) ?? resolved
        guard lastComponent != ".", lastComponent != ".." else {
            throw VaultError(.invalidArgument, "'\(path)' is not a usable vault path")
        }
        let dot = lastComponent.lastIndex(of: ".")
        if dot == nil || dot == lastComponent.startIndex {
            resolved += "." + defaultExtension
        }
        return resolved
    }
}
