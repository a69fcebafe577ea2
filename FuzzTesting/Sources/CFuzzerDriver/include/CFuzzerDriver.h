#ifndef SESSION_VAULT_C_FUZZER_DRIVER_H
#define SESSION_VAULT_C_FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt FuzzerDriver.cpp), linked by -sanitize=fuzzer. The fuzz
/// binaries call it from their own main: SwiftPM links executables with `--defsym
/// main=<module>_main`, so libFuzzer's own `main` (FuzzerMain.cpp) is never pulled in.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
