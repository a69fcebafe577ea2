// Small POSIX/Linux calls that Swift's Glibc module does not export.
#ifndef SESSION_VAULT_CSYSTEMSHIMS_H
#define SESSION_VAULT_CSYSTEMSHIMS_H

/// Sets RLIMIT_CORE to 0 and, on Linux, PR_SET_DUMPABLE to 0 (no core dumps; /proc/<pid>/* becomes
/// root-owned so same-user processes cannot read this process's memory or environment).
/// Returns 0 on success, -1 if either call failed.
int csystem_disable_core_dumps(void);

/// Returns the PR_GET_DUMPABLE value on Linux (1 = dumpable, 0 = not), -1 elsewhere or on error.
int csystem_dumpable(void);

#endif
