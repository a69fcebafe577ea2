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

#endif
