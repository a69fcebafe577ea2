// Link this module into an executable (SwiftPM: depend on the SessionVaultEarlyHardening product) and
// its constructor runs before main: PR_SET_DUMPABLE 0 and RLIMIT_CORE 0, then every secret-carrying
// SESSION_VAULT_* variable moved out of the environment into locked memory, where
// PassphraseSource picks it up. Nothing to call.
#ifndef SESSION_VAULT_EARLY_HARDENING_H
#define SESSION_VAULT_EARLY_HARDENING_H

/// 1 once the constructor has run in this process (it runs before main), else 0.
int session_vault_early_hardening_ran(void);

#endif
