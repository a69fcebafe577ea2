// A SQLite VFS shim for the power-loss tests (test support only; no product links it).
//
// It wraps the default VFS of the libsqlite3 that SessionVault already loaded with dlopen (found
// again with dlopen(RTLD_NOLOAD) and dlsym, never linked) and registers itself as the default VFS.
// Files whose path starts with the armed prefix behave like a disk behind a volatile write cache:
// writes and truncations are buffered in memory (reads see them) and reach the real file only when
// the file is synced. "Losing power" discards every buffered, un-synced change (or, in damage mode,
// applies a random subset of it sector by sector and fills some sectors with garbage, the way a
// disk may have written part of its cache in any order); afterwards every I/O on those files fails
// (or is silently discarded). Every other file passes straight through to the real VFS.

#ifndef SESSION_VAULT_POWER_LOSS_VFS_H
#define SESSION_VAULT_POWER_LOSS_VFS_H

/// Registers the shim as the default VFS (idempotent). libsqlite3 must already be loaded.
/// Returns 0 on success; -1 when libsqlite3 is not loaded, -2 when a symbol is missing, -3 when there
/// is no default VFS, -4 when registration fails.
int plvfs_install(void);

/// Starts a trial. Files whose path starts with `prefix` are buffered from now on. Power is lost at
/// the `countdown`-th counted operation (a write, truncation or sync of a buffered file; 0 = never),
/// before that operation takes effect. After the loss, I/O fails (`discard_after_loss` 0) or is
/// accepted and thrown away (1). With `damage` 1 the loss keeps a random part of the un-synced
/// writes (per 512-byte sector: new data, old data, or garbage) instead of dropping them all.
/// `real_sync` 1 also calls the real fsync on every sync (slower; the simulation does not need it).
void plvfs_arm(const char *prefix, long countdown, int discard_after_loss, int damage, unsigned long long seed, int real_sync);

/// Loses power now (the next counted operation would have been the last).
void plvfs_cut_power(void);

/// 1 once power was lost in the current trial.
int plvfs_power_lost(void);

/// Counted operations since arming.
long plvfs_operation_count(void);

/// What the loss did: un-synced sectors dropped, written anyway, and filled with garbage.
void plvfs_loss_statistics(long *dropped_sectors, long *kept_sectors, long *garbage_sectors);

/// Ends the trial: without a power loss, buffered changes are written (the operating system would
/// have written them eventually); after one, they are gone. Call it after closing every buffered
/// file. Afterwards every file passes straight through to the real VFS again.
void plvfs_disarm(void);

#endif
