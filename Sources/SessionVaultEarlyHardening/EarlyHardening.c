// Runs the process hardening of a program that holds vault secrets before any Swift code runs.
#include "SessionVaultEarlyHardening.h"

#include "CSystemShims.h"

#if defined(__ELF__)
// In an executable, .preinit_array functions run right after the dynamic loader has mapped and
// relocated everything, before the initializers of every shared library (libc's, the Swift
// runtime's, Foundation's): the earliest a program's own code runs. libc has not set `environ` yet,
// so the block comes as the third argument.
static void session_vault_preinit(int argc, char **argv, char **block) {
    (void)argc;
    (void)argv;
    csystem_run_early_hardening_on(block);
}

__attribute__((section(".preinit_array"), used)) static void (*const session_vault_preinit_entry)(int, char **, char **) =
    session_vault_preinit;
#endif

// Then (or alone, where there is no .preinit_array), a constructor with the earliest priority a
// program may use, still before main and so before any Swift code of the program: unsets the
// variables, and takes any value the block pass did not.
__attribute__((constructor(101))) static void session_vault_early_hardening(void) {
    csystem_run_early_hardening();
}

int session_vault_early_hardening_ran(void) {
    return csystem_early_hardening_ran();
}
