// Takes the secret-carrying SESSION_VAULT_* variables out of the environment into locked memory.
#include "CSystemShims.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// The variables whose value is a secret. The _FILE and _FD variables name where a secret is; they are
// not secrets and stay for the Swift side.
static const char *const secret_names[] = {
    "SESSION_VAULT_PASSPHRASE",
    "SESSION_VAULT_NEW_PASSPHRASE",
    "SESSION_VAULT_RECOVERY_KEY",
    "SESSION_VAULT_STRING_PASSPHRASE",
    "SESSION_VAULT_POSTGRES_NAME_KEY",
    "SESSION_VAULT_POSTGRES_PASSWORD",
};
#define SECRET_COUNT (sizeof secret_names / sizeof secret_names[0])

// One slot per name: the first CSYSTEM_STASH_CAPACITY bytes of the value and its full length (a longer
// value is refused by the reader, never truncated silently).
struct stash_slot {
    size_t length;
    int present;
    unsigned char bytes[CSYSTEM_STASH_CAPACITY];
};

static struct stash_slot *stash = NULL;
static size_t stash_size = 0;
static int early_hardening_ran = 0;

static void wipe(volatile unsigned char *bytes, size_t count) {
    for (size_t i = 0; i < count; i++) bytes[i] = 0;
}

// A private anonymous mapping: locked in RAM when the limit allows, left out of core dumps and
// wiped in a forked child.
static int allocate_stash(void) {
    if (stash != NULL) return 0;
    long page = sysconf(_SC_PAGESIZE);
    size_t wanted = sizeof(struct stash_slot) * SECRET_COUNT;
    size_t size = page > 0 ? ((wanted + (size_t)page - 1) / (size_t)page) * (size_t)page : wanted;
    void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return -1;
    (void)mlock(memory, size);
#if defined(MADV_DONTDUMP)
    (void)madvise(memory, size, MADV_DONTDUMP);
#endif
#if defined(MADV_WIPEONFORK)
    (void)madvise(memory, size, MADV_WIPEONFORK);
#endif
    stash = memory;
    stash_size = size;
    return 0;
}

// Stashes `value` (of secret variable `index`) and overwrites it where it is. Returns 0, or -1 when the
// stash could not be mapped (the value then stays).
static int stash_value(size_t index, char *value) {
    if (allocate_stash() != 0) return -1;
    size_t length = strlen(value);
    struct stash_slot *slot = &stash[index];
    wipe(slot->bytes, sizeof slot->bytes);
    memcpy(slot->bytes, value, length < CSYSTEM_STASH_CAPACITY ? length : CSYSTEM_STASH_CAPACITY);
    slot->length = length;
    slot->present = 1;
    // The value sits in the initial environment block, which /proc/<pid>/environ shows.
    wipe((volatile unsigned char *)value, length);
    return 0;
}

int csystem_take_environment_block_secrets(char **block) {
    if (block == NULL) return 0;
    int taken = 0;
    for (char **entry = block; *entry != NULL; entry++) {
        for (size_t index = 0; index < SECRET_COUNT; index++) {
            size_t name_length = strlen(secret_names[index]);
            if (strncmp(*entry, secret_names[index], name_length) != 0 || (*entry)[name_length] != '=') continue;
            if (stash_value(index, *entry + name_length + 1) != 0) return -1;
            taken++;
        }
    }
    return taken;
}

int csystem_take_environment_secrets(void) {
    int taken = 0;
    for (size_t index = 0; index < SECRET_COUNT; index++) {
        char *value = getenv(secret_names[index]);
        if (value == NULL) continue;
        // Already stashed from the block (and wiped there): only the variable itself remains to go.
        int stashed = stash != NULL && stash[index].present && value[0] == 0;
        if (!stashed) {
            if (stash_value(index, value) != 0) return -1;
            taken++;
        }
        unsetenv(secret_names[index]);
    }
    return taken;
}

static struct stash_slot *slot_named(const char *name) {
    if (stash == NULL) return NULL;
    for (size_t index = 0; index < SECRET_COUNT; index++) {
        if (strcmp(secret_names[index], name) == 0) return stash[index].present ? &stash[index] : NULL;
    }
    return NULL;
}

long csystem_stashed_secret_length(const char *name) {
    struct stash_slot *slot = slot_named(name);
    return slot == NULL ? -1 : (long)slot->length;
}

long csystem_copy_stashed_secret(const char *name, void *destination, size_t capacity, int forget) {
    struct stash_slot *slot = slot_named(name);
    if (slot == NULL) return -1;
    long length = (long)slot->length;
    if (slot->length <= capacity && slot->length <= CSYSTEM_STASH_CAPACITY) {
        memcpy(destination, slot->bytes, slot->length);
    } else {
        length = -2;
    }
    if (!forget) return length;
    wipe(slot->bytes, sizeof slot->bytes);
    slot->length = 0;
    slot->present = 0;
    return length;
}

int csystem_is_stashed_secret_name(const char *name) {
    for (size_t index = 0; index < SECRET_COUNT; index++) {
        if (strcmp(secret_names[index], name) == 0) return 1;
    }
    return 0;
}

void csystem_run_early_hardening_on(char **block) {
    (void)csystem_disable_core_dumps();
    (void)csystem_take_environment_block_secrets(block);
}

int csystem_disable_crash_backtraces(void) {
    // Swift's runtime backtracer (on by default on Linux since Swift 6) installs these handlers while
    // libswiftCore initializes and, on a crash, has swift-backtrace print registers, stacks and the
    // memory they point to on standard error, whatever RLIMIT_CORE and PR_SET_DUMPABLE say. The
    // default disposition ends the process instead (no core: RLIMIT_CORE is 0).
    static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGQUIT, SIGSYS};
    int status = 0;
    for (size_t index = 0; index < sizeof crash_signals / sizeof crash_signals[0]; index++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = SIG_DFL;
        sigemptyset(&action.sa_mask);
        if (sigaction(crash_signals[index], &action, NULL) != 0) status = -1;
    }
    return status;
}

void csystem_run_early_hardening(void) {
    (void)csystem_disable_core_dumps();
    (void)csystem_take_environment_secrets();
    (void)csystem_disable_crash_backtraces();
    early_hardening_ran = 1;
}

int csystem_early_hardening_ran(void) {
    return early_hardening_ran;
}
