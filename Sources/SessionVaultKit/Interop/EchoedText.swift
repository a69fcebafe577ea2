/// Values read from a file the user names (a foreign session, a vault's schema) are hostile input:
/// an error or note quotes at most a bounded, printable prefix of them, never the whole value.
enum EchoedText {
    /// At most `limit` characters of `text`, anything but printable ASCII shown as `?`, and the total
    /// length when it was cut: `149.154.… (300000 characters)`.
    static func printable(_ text: String, limit: Int = 64) -> String {
        let scalars = text.unicodeScalars
        let shown = String(scalars.prefix(limit).map { (0x20..<0x7F).contains($0.value) ? Character($0) : "?" })
        return scalars.count > limit ? "\(shown)… (\(scalars.count) characters)" : shown
    }

    /// ``printable(_:limit:)`` with the shown part in single quotes: `'149.154.…' (300000 characters)`.
    static func quoted(_ text: String, limit: Int = 64) -> String {
        let scalars = text.unicodeScalars
        let shown = String(scalars.prefix(limit).map { (0x20..<0x7F).contains($0.value) ? Character($0) : "?" })
        return scalars.count > limit ? "'\(shown)…' (\(scalars.count) characters)" : "'\(shown)'"
    }

    /// The first `limit` items of `items`, each ``printable(_:limit:)`` (or ``quoted(_:limit:)``),
    /// comma-separated, and how many more there were.
    static func list(_ items: [String], limit: Int = 8, quoting: Bool = false) -> String {
        let shown = items.prefix(limit).map { quoting ? quoted($0) : printable($0) }.joined(separator: ", ")
        return items.count > limit ? "\(shown) and \(items.count - limit) more" : shown
    }
}
