/// Where a Telegram client keeps its session, modelled on Telethon v2's `Storage`.
///
/// ``SessionVault`` is the implementation SessionVault ships (sealed, on SQLite or in memory). You can
/// write your own conforming type, for example to keep sessions in a service you already run; see
/// the *Writing your own storage* article in the documentation catalog. A custom type that wants the
/// vault's sealing should instead implement ``RecordStore`` and be opened through ``SessionVault``.
///
/// Every method is one durable step: when it returns, the change survives a crash.
public protocol SessionStorage: AnyObject, Sendable {
    /// The stored session, or nil when none was ever saved.
    func load() async throws(VaultError) -> Session?
    /// Replaces the stored session with `session` in one transaction.
    func save(_ session: Session) async throws(VaultError)
    /// Persists the account-wide update state only (pts, qts, date, seq), leaving channel pts untouched.
    func saveUpdateState(pts: Int32, qts: Int32, date: Int64, seq: Int32) async throws(VaultError)
    /// Persists one channel's pts.
    func saveChannelState(channelID: Int64, pts: Int32) async throws(VaultError)
    /// Persists one data center entry (endpoints and auth keys), replacing the entry with the same
    /// id and media flag.
    func saveDataCenter(_ dataCenter: DataCenter) async throws(VaultError)
    /// Commits, releases the storage and wipes keys. Later calls throw ``VaultError/Code/closed``.
    func close() async throws(VaultError)
    /// Removes every trace of the session from the storage and closes it.
    func delete() async throws(VaultError)
}
