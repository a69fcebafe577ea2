/// An actor with no state whose executor is a ``VaultExecutor``: how `open` moves onto a vault's
/// executor before the vault exists.
///
/// The opening functions take an `isolated ExecutorHop` parameter, so they (and every nonisolated
/// function they call) run on the new vault's executor: locking the file and reading it happen on a
/// vault pool thread (and Argon2id on a ``KDFLane`` thread) even when `open` is called from the
/// main actor, and the caller's actor is free for the whole open. ``KDFLane`` uses it too.
actor ExecutorHop {
    /// The executor this actor runs on.
    let executor: VaultExecutor

    /// An actor isolated to `executor`.
    init(executor: VaultExecutor) { self.executor = executor }

    /// `executor`, so that code isolated to this actor runs there.
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
}
