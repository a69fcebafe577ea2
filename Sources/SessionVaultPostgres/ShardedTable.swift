#if SESSION_VAULT_POSTGRES
import Synchronization

/// A dictionary split over 16 independently locked shards by key hash: tables that every save of
/// every session touches (the pool's waiting calls, its connections' close watches) would otherwise
/// make the saves of many threads queue on one lock.
final class ShardedTable<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private final class Shard: Sendable {
        let entries = Mutex<[Key: Value]>([:])
    }
    private let shards: [Shard] = (0..<16).map { _ in Shard() }

    private func shard(_ key: Key) -> Shard { shards[key.hashValue & 15] }

    /// Runs `body` with the shard holding `key` locked.
    func withLock<R>(_ key: Key, _ body: (inout [Key: Value]) -> R) -> R {
        shard(key).entries.withLock { body(&$0) }
    }

    /// The value for `key`.
    subscript(key: Key) -> Value? { withLock(key) { $0[key] } }

    /// Sets the value for `key`.
    func set(_ key: Key, _ value: Value) { withLock(key) { $0[key] = value } }

    /// Removes the value for `key`.
    func remove(_ key: Key) { _ = withLock(key) { $0.removeValue(forKey: key) } }

    /// Every entry matching `predicate`, shard by shard (not one atomic snapshot).
    func filter(_ predicate: (Key, Value) -> Bool) -> [(Key, Value)] {
        shards.flatMap { shard in shard.entries.withLock { $0.filter { predicate($0.key, $0.value) }.map { ($0.key, $0.value) } } }
    }

    /// How many entries there are (shard by shard).
    var count: Int { shards.reduce(0) { $0 + $1.entries.withLock { $0.count } } }
}
#endif
