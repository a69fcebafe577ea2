#include "CSQLite.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define CSQLITE_SYMBOLS(X)                                                                                             \
    X(libversion_number, "sqlite3_libversion_number")                                                                   \
    X(libversion, "sqlite3_libversion")                                                                                 \
    X(threadsafe, "sqlite3_threadsafe")                                                                                 \
    X(initialize, "sqlite3_initialize")                                                                                 \
    X(open_v2, "sqlite3_open_v2")                                                                                       \
    X(close, "sqlite3_close")                                                                                           \
    X(extended_result_codes, "sqlite3_extended_result_codes")                                                           \
    X(extended_errcode, "sqlite3_extended_errcode")                                                                     \
    X(errmsg, "sqlite3_errmsg")                                                                                         \
    X(errstr, "sqlite3_errstr")                                                                                         \
    X(exec, "sqlite3_exec")                                                                                             \
    X(free, "sqlite3_free")                                                                                             \
    X(prepare_v2, "sqlite3_prepare_v2")                                                                                 \
    X(finalize, "sqlite3_finalize")                                                                                     \
    X(reset, "sqlite3_reset")                                                                                           \
    X(clear_bindings, "sqlite3_clear_bindings")                                                                         \
    X(step, "sqlite3_step")                                                                                             \
    X(bind_blob, "sqlite3_bind_blob")                                                                                   \
    X(bind_int64, "sqlite3_bind_int64")                                                                                 \
    X(bind_null, "sqlite3_bind_null")                                                                                   \
    X(bind_text, "sqlite3_bind_text")                                                                                   \
    X(column_count, "sqlite3_column_count")                                                                             \
    X(column_type, "sqlite3_column_type")                                                                               \
    X(column_blob, "sqlite3_column_blob")                                                                               \
    X(column_bytes, "sqlite3_column_bytes")                                                                             \
    X(column_int64, "sqlite3_column_int64")                                                                             \
    X(column_double, "sqlite3_column_double")                                                                           \
    X(column_text, "sqlite3_column_text")                                                                               \
    X(changes, "sqlite3_changes")                                                                                       \
    X(busy_timeout, "sqlite3_busy_timeout")                                                                             \
    X(get_autocommit, "sqlite3_get_autocommit")

int csqlite_load(const char *const *paths, csqlite_api *api, char *reason, int reason_size) {
    if (reason_size > 0) reason[0] = 0;
    for (const char *const *path = paths; path && *path; path++) {
        dlerror();
        void *handle = dlopen(*path, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char *err = dlerror();
            snprintf(reason, (size_t)reason_size, "%s", err ? err : *path);
            continue;
        }
        csqlite_api loaded;
        memset(&loaded, 0, sizeof loaded);
        int missing = 0;
#define CSQLITE_LOAD(field, name)                                                                                      \
        if (!missing) {                                                                                                \
            *(void **)(&loaded.field) = dlsym(handle, name);                                                           \
            if (!loaded.field) {                                                                                       \
                snprintf(reason, (size_t)reason_size, "%s: missing symbol %s", *path, name);                          \
                missing = 1;                                                                                           \
            }                                                                                                          \
        }
        CSQLITE_SYMBOLS(CSQLITE_LOAD)
#undef CSQLITE_LOAD
        if (missing) {
            dlclose(handle);
            continue;
        }
        *api = loaded;
        return 0;  // The handle is leaked on purpose: SQLite stays loaded for the life of the process.
    }
    return -1;
}
