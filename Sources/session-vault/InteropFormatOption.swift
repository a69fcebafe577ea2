import ArgumentParser
import SessionVaultKit

/// The `--format` of `import` and `export`: a ``SessionFormat`` name, or `kurigram` (Pyrogram's
/// SQLite format at Kurigram's schema 7).
struct InteropFormatOption: ExpressibleByArgument {
    var format: SessionFormat
    /// The schema implied by the name (`kurigram` → 7), if any.
    var impliedSchema: Int?

    init?(argument: String) {
        if argument == "kurigram" {
            format = .pyrogram
            impliedSchema = 7
            return
        }
        guard let format = SessionFormat(name: argument) else { return nil }
        self.format = format
        impliedSchema = nil
    }

    static var allValueStrings: [String] { SessionFormat.allCases.map(\.name) + ["kurigram"] }
}
