/// A session read from another library's format, ready to go into a vault.
///
/// ``notes`` say what the source could not express or what was inferred, in words meant for people
/// (`session-vault import` prints them, and they never contain a secret): "the address of DC 2 was
/// inferred from the DC id and test mode (149.154.167.51:443)", "Telethon does not record whether
/// the account is a bot", ….
public struct ImportedSession: Sendable {
    /// The session: data centers with their auth keys, user, update state, extras.
    public var session: Session
    /// The peer cache of the source (Telethon `entities`, Pyrogram `peers`), without the self-user hack row.
    public var peers: [Peer]
    /// The format that was read.
    public var format: SessionFormat
    /// The SQLite schema version, the string length for strings, or the writer's version for `tdata`.
    public var schemaVersion: Int?
    /// What was inferred, dropped or could not be known, one sentence each.
    public var notes: [String]

    /// Creates an imported session.
    public init(session: Session, peers: [Peer] = [], format: SessionFormat, schemaVersion: Int?, notes: [String] = []) {
        self.session = session
        self.peers = peers
        self.format = format
        self.schemaVersion = schemaVersion
        self.notes = notes
    }

    /// `Telethon 1.x SQLite session, schema 8`, `Pyrogram/Kurigram session string, 362 characters`.
    public var sourceDescription: String {
        guard let schemaVersion else { return format.displayName }
        if format == .tdata { return "\(format.displayName), written by version \(TDataImporter.appVersionText(Int32(truncatingIfNeeded: schemaVersion)))" }
        return format.isSQLite
            ? "\(format.displayName), schema \(schemaVersion)"
            : "\(format.displayName), \(schemaVersion) characters"
    }
}
