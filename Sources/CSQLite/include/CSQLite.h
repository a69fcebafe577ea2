// Declarations for the parts of the SQLite C API that SessionVault uses.
//
// SQLite is never linked: <sqlite3.h> is deliberately not included, so a direct
// call to an sqlite3_* function cannot compile. The library is opened at run time
// with dlopen, and csqlite_load fills a table of function pointers with dlsym
// (the pattern of sourcekit-lsp's sourcekitd_functions.h).

#ifndef SESSION_VAULT_CSQLITE_H
#define SESSION_VAULT_CSQLITE_H

#include <stdint.h>

typedef struct csqlite3 csqlite3;
typedef struct csqlite3_stmt csqlite3_stmt;
typedef void (*csqlite_destructor)(void *);

// Result codes (primary).
#define CSQLITE_OK 0
#define CSQLITE_ERROR 1
#define CSQLITE_BUSY 5
#define CSQLITE_LOCKED 6
#define CSQLITE_NOMEM 7
#define CSQLITE_READONLY 8
#define CSQLITE_IOERR 10
#define CSQLITE_CORRUPT 11
#define CSQLITE_FULL 13
#define CSQLITE_CANTOPEN 14
#define CSQLITE_TOOBIG 18
#define CSQLITE_CONSTRAINT 19
#define CSQLITE_NOTADB 26
#define CSQLITE_ROW 100
#define CSQLITE_DONE 101

// Open flags.
#define CSQLITE_OPEN_READONLY 0x00000001
#define CSQLITE_OPEN_READWRITE 0x00000002
#define CSQLITE_OPEN_CREATE 0x00000004
#define CSQLITE_OPEN_NOMUTEX 0x00008000
#define CSQLITE_OPEN_FULLMUTEX 0x00010000
#define CSQLITE_OPEN_PRIVATECACHE 0x00040000
#define CSQLITE_OPEN_NOFOLLOW 0x01000000
#define CSQLITE_OPEN_EXRESCODE 0x02000000

// Fundamental column types.
#define CSQLITE_INTEGER 1
#define CSQLITE_FLOAT 2
#define CSQLITE_TEXT 3
#define CSQLITE_BLOB 4
#define CSQLITE_NULL 5

/// The SQLite entry points SessionVault calls, resolved with dlsym.
typedef struct csqlite_api {
    int (*libversion_number)(void);
    const char *(*libversion)(void);
    int (*threadsafe)(void);
    int (*initialize)(void);
    int (*open_v2)(const char *filename, csqlite3 **db, int flags, const char *vfs);
    int (*close)(csqlite3 *db);
    int (*extended_result_codes)(csqlite3 *db, int onoff);
    int (*extended_errcode)(csqlite3 *db);
    const char *(*errmsg)(csqlite3 *db);
    const char *(*errstr)(int code);
    int (*exec)(csqlite3 *db, const char *sql, void *callback, void *arg, char **errmsg);
    void (*free)(void *p);
    int (*prepare_v2)(csqlite3 *db, const char *sql, int nbytes, csqlite3_stmt **stmt, const char **tail);
    int (*finalize)(csqlite3_stmt *stmt);
    int (*reset)(csqlite3_stmt *stmt);
    int (*clear_bindings)(csqlite3_stmt *stmt);
    int (*step)(csqlite3_stmt *stmt);
    int (*bind_blob)(csqlite3_stmt *stmt, int index, const void *value, int n, csqlite_destructor destructor);
    int (*bind_int64)(csqlite3_stmt *stmt, int index, int64_t value);
    int (*bind_null)(csqlite3_stmt *stmt, int index);
    int (*bind_text)(csqlite3_stmt *stmt, int index, const char *value, int n, csqlite_destructor destructor);
    int (*column_count)(csqlite3_stmt *stmt);
    int (*column_type)(csqlite3_stmt *stmt, int column);
    const void *(*column_blob)(csqlite3_stmt *stmt, int column);
    int (*column_bytes)(csqlite3_stmt *stmt, int column);
    int64_t (*column_int64)(csqlite3_stmt *stmt, int column);
    double (*column_double)(csqlite3_stmt *stmt, int column);
    const unsigned char *(*column_text)(csqlite3_stmt *stmt, int column);
    int (*changes)(csqlite3 *db);
    int (*busy_timeout)(csqlite3 *db, int ms);
    int (*get_autocommit)(csqlite3 *db);
} csqlite_api;

/// Opens the first library in `paths` (a NULL-terminated list) that loads and
/// fills `api` from it. On success returns 0 and never closes the library (it is
/// deliberately leaked, like sourcekit-lsp does: unloading SQLite while any
/// connection exists is undefined). On failure returns -1 and writes a
/// description of the last failure (dlerror text or the missing symbol) into
/// `reason` (always NUL-terminated, truncated to `reason_size`).
int csqlite_load(const char *const *paths, csqlite_api *api, char *reason, int reason_size);

#endif
