// Small POSIX/Linux calls that Swift's Glibc module does not export.
#ifndef SESSION_VAULT_CSYSTEMSHIMS_H
#define SESSION_VAULT_CSYSTEMSHIMS_H

/// Sets RLIMIT_CORE to 0 and, on Linux, PR_SET_DUMPABLE to 0 (no core dumps; /proc/<pid>/* becomes
/// root-owned so same-user processes cannot read this process's memory or environment).
/// Returns 0 on success, -1 if either call failed.
int csystem_disable_core_dumps(void);

/// Returns the PR_GET_DUMPABLE value on Linux (1 = dumpable, 0 = not), -1 elsewhere or on error.
int csystem_dumpable(void);

/// Asks the kernel to send `signal` to this process when its parent dies (Linux PR_SET_PDEATHSIG).
/// Returns 0 on success, -1 where unsupported or on error.
int csystem_set_parent_death_signal(int signal);

/// Installs handlers for SIGTERM, SIGINT and SIGHUP that write one byte into a non-blocking,
/// close-on-exec pipe, and ignores SIGPIPE (a write to a closed pipe then fails with EPIPE).
/// Returns the pipe's read end, which becomes readable once any of those signals arrived, or -1.
/// Meant to be called once, early, by a long-running command that polls its input.
int csystem_termination_pipe(void);

#include <stddef.h>

/// The most bytes of one secret variable kept by the stash (the Swift side refuses more than 4096).
#define CSYSTEM_STASH_CAPACITY 4097

/// Moves every secret-carrying SESSION_VAULT_* variable (SESSION_VAULT_PASSPHRASE, _NEW_PASSPHRASE,
/// _RECOVERY_KEY, _STRING_PASSPHRASE, _POSTGRES_NAME_KEY, _POSTGRES_PASSWORD) into a private locked
/// mapping (left out of core dumps, wiped in forked children), overwrites the value in the environment
/// block (what /proc/<pid>/environ shows) and unsets it. Returns how many were taken, or -1 when the
/// mapping could not be made (the variables then stay in the environment).
int csystem_take_environment_secrets(void);

/// Like csystem_take_environment_secrets, for an environment block given as its array of
/// "NAME=value" strings (what .preinit_array functions receive, before libc has set `environ`): the
/// values are stashed and overwritten in place, but nothing is unset (the variables stay, empty, until
/// csystem_take_environment_secrets runs). Returns how many were taken, or -1.
int csystem_take_environment_block_secrets(char **block);

/// The length of the stashed value of `name`, or -1 when none is stashed.
long csystem_stashed_secret_length(const char *name);

/// Copies the stashed value of `name` into `destination` (at most `capacity` bytes); with `forget`
/// non-zero the stash then wipes and forgets it. Returns its length, -1 when none is stashed, -2 when
/// it did not fit (nothing copied).
long csystem_copy_stashed_secret(const char *name, void *destination, size_t capacity, int forget);

/// 1 when `name` is one of the variables csystem_take_environment_secrets moves, else 0.
int csystem_is_stashed_secret_name(const char *name);

/// What the SessionVaultEarlyHardening .preinit_array function does, first thing after the dynamic
/// loader: csystem_disable_core_dumps, then csystem_take_environment_block_secrets(block).
void csystem_run_early_hardening_on(char **block);

/// Restores the default disposition of SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGQUIT
/// and SIGSYS, removing the handlers of Swift's runtime backtracer (which would print registers and
/// the memory near them on standard error). Returns 0, or -1 if any sigaction failed.
int csystem_disable_crash_backtraces(void);

/// What the SessionVaultEarlyHardening constructor does before any Swift code runs (after the shared
/// libraries' initializers, the Swift runtime's included): csystem_disable_core_dumps,
/// csystem_take_environment_secrets, csystem_disable_crash_backtraces.
void csystem_run_early_hardening(void);

/// 1 once csystem_run_early_hardening has run in this process, else 0.
int csystem_early_hardening_ran(void);

#endif
