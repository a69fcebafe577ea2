/// A session format of another Telegram library that SessionVault imports and exports.
///
/// | format | what | versions |
/// |---|---|---|
/// | ``telethon`` | Telethon 1.x SQLite `.session` | schema 7 (≤ 1.42) and 8 (1.43+) |
/// | ``telethonV2`` | Telethon v2 SQLite `.session` | schema 10 |
/// | ``telethonString`` | Telethon `StringSession` | `1` + 352 (IPv4) or 368 (IPv6) base64url characters |
/// | ``pyrogram`` | Pyrogram / Kurigram SQLite `.session` | Pyrogram schema 3, Kurigram schemas 4–7 |
/// | ``pyrogramString`` | Pyrogram / Kurigram session string | 362 characters (current), 351 and 356 (old) |
/// | ``gramjsString`` | GramJS `StringSession` | `1` + standard base64 of a text address, port and key |
/// | ``mtcuteString`` | mtcute string session | version 3 |
/// | ``gotdJSON`` | gotd `session.FileStorage` JSON | `Version` 1 |
/// | ``tdata`` | Telegram Desktop `tdata` folder (import only) | legacy key file; 7.3 key file without passcode |
public enum SessionFormat: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Telethon 1.x SQLite session file.
    case telethon
    /// Telethon v2 SQLite session file (schema 10).
    case telethonV2 = "telethon-v2"
    /// Telethon `StringSession`.
    case telethonString = "telethon-string"
    /// Pyrogram 2.0.x (schema 3) or Kurigram (schema 7) SQLite session file.
    case pyrogram
    /// Pyrogram / Kurigram session string.
    case pyrogramString = "pyrogram-string"
    /// GramJS (JavaScript) `StringSession`.
    case gramjsString = "gramjs-string"
    /// mtcute (JavaScript) string session, version 3.
    case mtcuteString = "mtcute-string"
    /// gotd (Go) session JSON, as `session.FileStorage` writes it.
    case gotdJSON = "gotd-json"
    /// Telegram Desktop's `tdata` folder (import only: ``TDataImporter``).
    case tdata

    /// The name used on the command line and in messages, e.g. `telethon-string`.
    public var name: String { rawValue }

    /// The ``name``.
    public var description: String { rawValue }

    /// Looks a format up by its ``name``.
    public init?(name: String) {
        self.init(rawValue: name)
    }

    /// Whether the format is a SQLite file (as opposed to a one-line string or a JSON text).
    public var isSQLite: Bool {
        switch self {
        case .telethon, .telethonV2, .pyrogram: true
        case .telethonString, .pyrogramString, .gramjsString, .mtcuteString, .gotdJSON, .tdata: false
        }
    }

    /// The SQLite schema versions this build reads (empty for strings).
    public var readableSchemaVersions: ClosedRange<Int>? {
        switch self {
        case .telethon: 7...8
        case .telethonV2: 10...10
        case .pyrogram: 3...7
        case .telethonString, .pyrogramString, .gramjsString, .mtcuteString, .gotdJSON, .tdata: nil
        }
    }

    /// The schema versions an export can write, the default first (nil for strings).
    public var writableSchemaVersions: [Int]? {
        switch self {
        case .telethon: [8, 7]
        case .telethonV2: [10]
        case .pyrogram: [3, 7]
        case .telethonString, .pyrogramString, .gramjsString, .mtcuteString, .gotdJSON, .tdata: nil
        }
    }

    /// People's name for the format, e.g. `Telethon 1.x SQLite session`.
    public var displayName: String {
        switch self {
        case .telethon: "Telethon 1.x SQLite session"
        case .telethonV2: "Telethon v2 SQLite session"
        case .telethonString: "Telethon string session"
        case .pyrogram: "Pyrogram/Kurigram SQLite session"
        case .pyrogramString: "Pyrogram/Kurigram session string"
        case .gramjsString: "GramJS string session"
        case .mtcuteString: "mtcute string session"
        case .gotdJSON: "gotd session JSON"
        case .tdata: "Telegram Desktop tdata"
        }
    }
}
