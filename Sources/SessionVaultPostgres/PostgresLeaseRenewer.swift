#if SESSION_VAULT_POSTGRES
import Foundation
import Logging
import NIOCore
import PostgresNIO
import SessionVaultKit
import Synchronization

/// Renews every lease a process holds through one pool with one statement per tick (docs/LEASES.md
/// §2, §3): however many sessions are open, the pool sends one `UPDATE … FROM unnest(…) RETURNING`
/// when the first of its leases is due, covering all of them, and each lease learns from the
/// returned rows whether it was renewed.
///
/// A lease whose row the statement returns as renewed moves its write deadline to `duration −
/// margin` after the statement was *sent* (queued for a pool connection, by the monotonic clock). A
/// lease whose row is current but locked by another transaction is skipped (`SKIP LOCKED`), so that
/// one stuck row cannot hold up every session's renewal: for that lease it is a failed renewal,
/// retried, as any failure, every tenth of its duration until its write deadline. A lease missing
/// from the result (its token, instance or expiry no longer current) is lost at once.
final class PostgresLeaseRenewer: Sendable {
    private struct Entry: Sendable {
        weak var lease: PostgresLease?
    }

    private struct State: Sendable {
        var leases: [ObjectIdentifier: Entry] = [:]
        /// The running loop, if any (it ends when no lease is left).
        var loop: Task<Void, Never>?
        /// The loop's sleep and when it ends: a lease due earlier cuts it short.
        var sleeper: Task<Void, Never>?
        var wake: ContinuousClock.Instant?
        /// A lease was registered since the loop last listed them (it may be due before the loop wakes).
        var registered = false
    }

    private let state = Mutex(State())
    private let logger: Logger

    /// Renewal statements this renewer sent that the server answered.
    let statements = Atomic<Int>(0)

    init(logger: Logger) {
        self.logger = logger
    }

    /// Adds a freshly taken lease; it is renewed with the others from the next tick on.
    func register(_ lease: PostgresLease) {
        let due = lease.nextRenewal()
        let sleeper = state.withLock { state -> Task<Void, Never>? in
            state.leases[ObjectIdentifier(lease)] = Entry(lease: lease)
            state.registered = true
            if state.loop == nil {
                let pool = lease.pool
                state.loop = Task.detached { [self] in await self.run(pool) }
                return nil
            }
            if let wake = state.wake, due < wake { return state.sleeper }
            return nil
        }
        sleeper?.cancel()
    }

    /// Removes a lease (released, forgotten or lost): it is not renewed again.
    func unregister(_ lease: PostgresLease) {
        state.withLock { _ = $0.leases.removeValue(forKey: ObjectIdentifier(lease)) }
    }

    /// The leases still registered, alive, and neither lost nor released (other entries are dropped).
    private func live() -> [PostgresLease] {
        state.withLock { state in
            state.registered = false
            var leases: [PostgresLease] = []
            for (key, entry) in state.leases {
                if let lease = entry.lease, lease.isRenewable {
                    leases.append(lease)
                } else {
                    state.leases.removeValue(forKey: key)
                }
            }
            return leases
        }
    }

    private func run(_ pool: PostgresPool) async {
        while true {
            // Leases past their write deadline stop now (markLost unregisters them).
            let now = ContinuousClock.now
            var leases: [PostgresLease] = []
            for lease in live() {
                if now >= lease.writeDeadline {
                    lease.markLost("no renewal succeeded before the safety margin (\(lease.margin) before the server-side expiry)")
                } else {
                    leases.append(lease)
                }
            }
            let finished = state.withLock { state -> Bool in
                if state.leases.isEmpty {
                    state.loop = nil
                    return true
                }
                return false
            }
            if finished { return }
            guard let due = leases.map({ $0.nextRenewal() }).min() else { continue }
            if ContinuousClock.now < due {
                await sleep(until: due)
                continue
            }
            await renew(leases, pool)
        }
    }

    /// Sleeps until `due`, or until a lease due earlier is registered.
    private func sleep(until due: ContinuousClock.Instant) async {
        let sleeper = Task<Void, Never> { _ = try? await Task.sleep(until: due, clock: .continuous) }
        let registered = state.withLock { state -> Bool in
            state.sleeper = sleeper
            state.wake = due
            return state.registered
        }
        // A lease registered after the loop listed them may be due first: list them again.
        if registered { sleeper.cancel() }
        await sleeper.value
        state.withLock { state in
            state.sleeper = nil
            state.wake = nil
        }
    }

    /// The key a returned row is matched on.
    private struct Held: Hashable {
        var session: ByteBuffer
        var token: Int64
    }

    /// One renewal statement for `leases`.
    private func renew(_ leases: [PostgresLease], _ pool: PostgresPool) async {
        let sent = ContinuousClock.now
        guard let earliestDeadline = leases.map(\.writeDeadline).min(), earliestDeadline > sent else { return }
        let sessions = leases.map(\.sessionKey)
        let tokens = leases.map(\.token)
        let instances = leases.map(\.instance)
        let outcome = await PostgresLease.withTimeout(earliestDeadline - sent) { () async throws -> [Held: Bool] in
            try await pool.withConnection { connection in
                let started = ContinuousClock.now
                let rows = try await connection.query(
                    """
                    WITH mine AS (
                        SELECT * FROM unnest(\(sessions)::bytea[], \(tokens)::bigint[], \(instances)::text[])
                            AS m(session, token, instance)),
                    current AS (
                        SELECT l.session, l.token FROM sessionvault_lease l
                        JOIN mine m ON l.session = m.session AND l.token = m.token AND l.holder_instance = m.instance
                        WHERE l.expires_at > clock_timestamp()),
                    free AS (
                        SELECT l.session FROM sessionvault_lease l WHERE l.session IN (SELECT session FROM current)
                        FOR NO KEY UPDATE SKIP LOCKED),
                    renewed AS (
                        UPDATE sessionvault_lease l SET renewed_at = clock_timestamp(),
                            expires_at = clock_timestamp() + l.duration_ms::double precision * interval '1 millisecond'
                        FROM mine m
                        WHERE l.session IN (SELECT session FROM free) AND l.session = m.session AND l.token = m.token
                          AND l.holder_instance = m.instance AND l.expires_at > clock_timestamp()
                        RETURNING l.session)
                    SELECT c.session, c.token, EXISTS (SELECT 1 FROM renewed r WHERE r.session = c.session) FROM current c
                    """)
                var result: [Held: Bool] = [:]
                for try await (session, token, renewed) in rows.decode((ByteBuffer, Int64, Bool).self) {
                    result[Held(session: session, token: token)] = renewed
                }
                let busy = ContinuousClock.now - started
                _ = PostgresLease.renewalBusyNanoseconds.add(
                    Int(busy.components.seconds) * 1_000_000_000 + Int(busy.components.attoseconds / 1_000_000_000), ordering: .relaxed)
                return result
            }
        }
        switch outcome {
        case .success(let rows):
            _ = statements.add(1, ordering: .relaxed)
            _ = PostgresLease.renewalStatementCount.add(1, ordering: .relaxed)
            var skipped = 0
            for lease in leases {
                switch rows[Held(session: lease.sessionKey, token: lease.token)] {
                case true?:
                    lease.renewed(sent: sent)
                case false?:
                    // Current, but its row is locked by another transaction: retried like a failure.
                    skipped += 1
                    lease.renewalFailed(retryAt: ContinuousClock.now + lease.duration / 10)
                case nil:
                    lease.renewalRefused()
                }
            }
            if skipped > 0 {
                logger.warning("renewing \(skipped) lease(s): their rows are locked by another transaction; retrying")
            }
        case .failure(let error):
            let retry = ContinuousClock.now
            if !(error is PostgresLease.TimedOut) {
                let reason = PostgresRecordStore.mapPoolError(error, "renewal").message
                logger.warning("renewing \(leases.count) lease(s) failed (\(reason)); retrying")
            }
            for lease in leases {
                // After a timeout the earliest deadline has passed: retry the others at once.
                lease.renewalFailed(retryAt: error is PostgresLease.TimedOut ? retry : retry + lease.duration / 10)
            }
        }
    }
}
#endif
