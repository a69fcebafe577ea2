import Logging

/// Sends library log lines to standard error as one line each: `session-vault: warning: …`.
///
/// Standard output carries data only (`show --json`, recovery keys), so nothing logged may reach it.
/// The library never logs a secret; metadata is appended as `key=value` pairs.
struct StderrLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    init(label: String) {}

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let details = merged.keys.sorted().map { "\($0)=\(merged[$0]!)" }.joined(separator: ", ")
        let line = "\(event.level): \(event.message)" + (details.isEmpty ? "" : " (\(details))")
        StandardStream.writeLine(line.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: " "), toError: true)
    }
}
