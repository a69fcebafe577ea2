// The power-loss VFS shim; see include/PowerLossVFS.h.
//
// <sqlite3.h> (libsqlite3-dev) is included for the VFS structure definitions only: no sqlite3_*
// function is called directly, so nothing links libsqlite3. The two functions needed come from the
// copy SessionVault already loaded, through dlsym.

#include "PowerLossVFS.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PLV_SECTOR 512

typedef sqlite3_vfs *(*plv_vfs_find_fn)(const char *);
typedef int (*plv_vfs_register_fn)(sqlite3_vfs *, int);

// One buffered change of a file: a write (data follows) or a truncation.
typedef struct plv_change {
    struct plv_change *next;
    int is_truncate;
    sqlite3_int64 offset;  // write offset, or the new size of a truncation
    int amount;            // bytes of data (writes)
    unsigned char data[];
} plv_change;

// The volatile cache of one path (shared by every handle of that path, like a page cache).
typedef struct plv_node {
    struct plv_node *next;
    char *path;
    plv_change *head;
    plv_change *tail;
} plv_node;

// A buffered file. Pass-through files are not this: the real VFS fills the whole structure.
typedef struct plv_file {
    sqlite3_file base;
    sqlite3_file *real;  // the real VFS's file, in the same allocation, after this structure
    plv_node *node;
    long trial;          // the trial it was opened in; other trials see a pass-through file
} plv_file;

static pthread_mutex_t plv_mutex = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_vfs *plv_real;
static sqlite3_vfs plv_vfs;
static int plv_installed;

static char *plv_prefix;  // NULL: not armed
static size_t plv_prefix_length;
static long plv_trial;
static long plv_countdown;
static long plv_operations;
static int plv_lost;
static int plv_discard;
static int plv_damage;
static int plv_real_sync;
static unsigned long long plv_random_state;
static long plv_dropped, plv_kept, plv_garbage;
static plv_node *plv_nodes;

static const sqlite3_io_methods plv_methods;

// MARK: - Helpers (called with plv_mutex held)

static unsigned long long plv_random(void) {
    unsigned long long z = (plv_random_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int plv_is_buffered_path(const char *path) {
    return plv_prefix && path && strncmp(path, plv_prefix, plv_prefix_length) == 0;
}

static plv_node *plv_find_node(const char *path, int create) {
    for (plv_node *node = plv_nodes; node; node = node->next) {
        if (strcmp(node->path, path) == 0) return node;
    }
    if (!create) return NULL;
    plv_node *node = calloc(1, sizeof *node);
    if (!node) return NULL;
    node->path = strdup(path);
    if (!node->path) {
        free(node);
        return NULL;
    }
    node->next = plv_nodes;
    plv_nodes = node;
    return node;
}

static void plv_free_changes(plv_node *node) {
    plv_change *change = node->head;
    while (change) {
        plv_change *next = change->next;
        free(change);
        change = next;
    }
    node->head = node->tail = NULL;
}

static void plv_free_nodes(void) {
    plv_node *node = plv_nodes;
    while (node) {
        plv_node *next = node->next;
        plv_free_changes(node);
        free(node->path);
        free(node);
        node = next;
    }
    plv_nodes = NULL;
}

static int plv_append(plv_node *node, int is_truncate, sqlite3_int64 offset, const void *data, int amount) {
    plv_change *change = malloc(sizeof *change + (size_t)(is_truncate ? 0 : amount));
    if (!change) return SQLITE_NOMEM;
    change->next = NULL;
    change->is_truncate = is_truncate;
    change->offset = offset;
    change->amount = is_truncate ? 0 : amount;
    if (!is_truncate && amount > 0) memcpy(change->data, data, (size_t)amount);
    if (node->tail) node->tail->next = change; else node->head = change;
    node->tail = change;
    return SQLITE_OK;
}

static int plv_pwrite_all(int fd, const unsigned char *data, size_t amount, sqlite3_int64 offset) {
    while (amount > 0) {
        ssize_t written = pwrite(fd, data, amount, (off_t)offset);
        if (written <= 0) return -1;
        data += written;
        amount -= (size_t)written;
        offset += written;
    }
    return 0;
}

// Writes a node's buffered changes to the real file, in order, and forgets them.
static int plv_apply(plv_node *node) {
    if (!node->head) return SQLITE_OK;
    int fd = open(node->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        plv_free_changes(node);  // the file is gone: so are its cached changes
        return SQLITE_OK;
    }
    int status = SQLITE_OK;
    for (plv_change *change = node->head; change; change = change->next) {
        int failed = change->is_truncate ? ftruncate(fd, (off_t)change->offset)
                                         : plv_pwrite_all(fd, change->data, (size_t)change->amount, change->offset);
        if (failed) status = SQLITE_IOERR_WRITE;
    }
    close(fd);
    plv_free_changes(node);
    return status;
}

// At the power loss: each un-synced sector keeps its old content, gets its new content, or garbage.
static void plv_damage_node(plv_node *node) {
    int fd = open(node->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    for (plv_change *change = node->head; change; change = change->next) {
        if (change->is_truncate) {
            if (plv_random() % 2 == 0) (void)ftruncate(fd, (off_t)change->offset);
            continue;
        }
        sqlite3_int64 start = change->offset;
        sqlite3_int64 end = change->offset + change->amount;
        while (start < end) {
            sqlite3_int64 boundary = (start / PLV_SECTOR + 1) * PLV_SECTOR;
            sqlite3_int64 stop = boundary < end ? boundary : end;
            size_t length = (size_t)(stop - start);
            unsigned long long roll = plv_random() % 100;
            if (roll < 45) {
                (void)plv_pwrite_all(fd, change->data + (start - change->offset), length, start);
                plv_kept++;
            } else if (roll < 85) {
                plv_dropped++;
            } else {
                unsigned char garbage[PLV_SECTOR];
                for (size_t i = 0; i < length; i++) garbage[i] = (unsigned char)plv_random();
                (void)plv_pwrite_all(fd, garbage, length, start);
                plv_garbage++;
            }
            start = stop;
        }
    }
    close(fd);
}

static void plv_lose_power(void) {
    if (plv_lost) return;
    plv_lost = 1;
    for (plv_node *node = plv_nodes; node; node = node->next) {
        if (plv_damage) {
            plv_damage_node(node);
        } else {
            for (plv_change *change = node->head; change; change = change->next) {
                if (!change->is_truncate) plv_dropped += (change->amount + PLV_SECTOR - 1) / PLV_SECTOR;
            }
        }
        plv_free_changes(node);
    }
}

// Counts one write, truncation or sync; returns 1 when power is (now) lost.
static int plv_count_operation(void) {
    if (plv_lost) return 1;
    plv_operations++;
    if (plv_countdown > 0 && plv_operations >= plv_countdown) plv_lose_power();
    return plv_lost;
}

static sqlite3_int64 plv_logical_size(plv_node *node, sqlite3_int64 real_size) {
    sqlite3_int64 size = real_size;
    for (plv_change *change = node->head; change; change = change->next) {
        if (change->is_truncate) {
            size = change->offset;
        } else if (change->offset + change->amount > size) {
            size = change->offset + change->amount;
        }
    }
    return size;
}

static int plv_active(plv_file *file) { return file->trial == plv_trial && plv_prefix != NULL; }

// MARK: - I/O methods of buffered files

static int plv_close(sqlite3_file *base) {
    plv_file *file = (plv_file *)base;
    int status = file->real->pMethods ? file->real->pMethods->xClose(file->real) : SQLITE_OK;
    file->real->pMethods = NULL;
    return status;
}

static int plv_read(sqlite3_file *base, void *buffer, int amount, sqlite3_int64 offset) {
    plv_file *file = (plv_file *)base;
    pthread_mutex_lock(&plv_mutex);
    if (!plv_active(file) || (plv_lost && plv_discard)) {
        pthread_mutex_unlock(&plv_mutex);
        return file->real->pMethods->xRead(file->real, buffer, amount, offset);
    }
    if (plv_lost) {
        pthread_mutex_unlock(&plv_mutex);
        return SQLITE_IOERR_READ;
    }
    sqlite3_int64 real_size = 0;
    int status = file->real->pMethods->xFileSize(file->real, &real_size);
    if (status != SQLITE_OK) {
        pthread_mutex_unlock(&plv_mutex);
        return status;
    }
    memset(buffer, 0, (size_t)amount);
    if (offset < real_size) {
        status = file->real->pMethods->xRead(file->real, buffer, amount, offset);
        if (status != SQLITE_OK && status != SQLITE_IOERR_SHORT_READ) {
            pthread_mutex_unlock(&plv_mutex);
            return status;
        }
    }
    unsigned char *bytes = buffer;
    sqlite3_int64 size = real_size;
    for (plv_change *change = file->node->head; change; change = change->next) {
        if (change->is_truncate) {
            size = change->offset;
            if (size < offset + amount) {
                sqlite3_int64 from = size > offset ? size - offset : 0;
                memset(bytes + from, 0, (size_t)(amount - from));
            }
            continue;
        }
        if (change->offset + change->amount > size) size = change->offset + change->amount;
        sqlite3_int64 start = change->offset > offset ? change->offset : offset;
        sqlite3_int64 end = change->offset + change->amount < offset + amount ? change->offset + change->amount : offset + amount;
        if (start < end) memcpy(bytes + (start - offset), change->data + (start - change->offset), (size_t)(end - start));
    }
    pthread_mutex_unlock(&plv_mutex);
    return offset + amount > size ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

static int plv_write(sqlite3_file *base, const void *buffer, int amount, sqlite3_int64 offset) {
    plv_file *file = (plv_file *)base;
    pthread_mutex_lock(&plv_mutex);
    if (!plv_active(file)) {
        pthread_mutex_unlock(&plv_mutex);
        return file->real->pMethods->xWrite(file->real, buffer, amount, offset);
    }
    int status = plv_count_operation() ? (plv_discard ? SQLITE_OK : SQLITE_IOERR_WRITE)
                                       : plv_append(file->node, 0, offset, buffer, amount);
    pthread_mutex_unlock(&plv_mutex);
    return status;
}

static int plv_truncate(sqlite3_file *base, sqlite3_int64 size) {
    plv_file *file = (plv_file *)base;
    pthread_mutex_lock(&plv_mutex);
    if (!plv_active(file)) {
        pthread_mutex_unlock(&plv_mutex);
        return file->real->pMethods->xTruncate(file->real, size);
    }
    int status = plv_count_operation() ? (plv_discard ? SQLITE_OK : SQLITE_IOERR_TRUNCATE)
                                       : plv_append(file->node, 1, size, NULL, 0);
    pthread_mutex_unlock(&plv_mutex);
    return status;
}

static int plv_sync(sqlite3_file *base, int flags) {
    plv_file *file = (plv_file *)base;
    pthread_mutex_lock(&plv_mutex);
    if (!plv_active(file)) {
        pthread_mutex_unlock(&plv_mutex);
        return file->real->pMethods->xSync(file->real, flags);
    }
    if (plv_count_operation()) {
        pthread_mutex_unlock(&plv_mutex);
        return plv_discard ? SQLITE_OK : SQLITE_IOERR_FSYNC;
    }
    int status = plv_apply(file->node);
    int real_sync = plv_real_sync;
    pthread_mutex_unlock(&plv_mutex);
    if (status == SQLITE_OK && real_sync) status = file->real->pMethods->xSync(file->real, flags);
    return status;
}

static int plv_file_size(sqlite3_file *base, sqlite3_int64 *size) {
    plv_file *file = (plv_file *)base;
    pthread_mutex_lock(&plv_mutex);
    if (!plv_active(file) || (plv_lost && plv_discard)) {
        pthread_mutex_unlock(&plv_mutex);
        return file->real->pMethods->xFileSize(file->real, size);
    }
    if (plv_lost) {
        pthread_mutex_unlock(&plv_mutex);
        return SQLITE_IOERR_FSTAT;
    }
    sqlite3_int64 real_size = 0;
    int status = file->real->pMethods->xFileSize(file->real, &real_size);
    if (status == SQLITE_OK) *size = plv_logical_size(file->node, real_size);
    pthread_mutex_unlock(&plv_mutex);
    return status;
}

static int plv_lock(sqlite3_file *base, int level) {
    plv_file *file = (plv_file *)base;
    return file->real->pMethods->xLock(file->real, level);
}

static int plv_unlock(sqlite3_file *base, int level) {
    plv_file *file = (plv_file *)base;
    return file->real->pMethods->xUnlock(file->real, level);
}

static int plv_check_reserved_lock(sqlite3_file *base, int *result) {
    plv_file *file = (plv_file *)base;
    return file->real->pMethods->xCheckReservedLock(file->real, result);
}

static int plv_file_control(sqlite3_file *base, int op, void *argument) {
    plv_file *file = (plv_file *)base;
    // A size hint would make the real VFS extend the real file behind the cache's back.
    if (op == SQLITE_FCNTL_SIZE_HINT) return SQLITE_OK;
    return file->real->pMethods->xFileControl(file->real, op, argument);
}

static int plv_sector_size(sqlite3_file *base) {
    plv_file *file = (plv_file *)base;
    return file->real->pMethods->xSectorSize(file->real);
}

static int plv_device_characteristics(sqlite3_file *base) {
    plv_file *file = (plv_file *)base;
    return file->real->pMethods->xDeviceCharacteristics(file->real);
}

static int plv_shm_map(sqlite3_file *base, int page, int size, int extend, void volatile **pointer) {
    plv_file *file = (plv_file *)base;
    if (file->real->pMethods->iVersion < 2 || !file->real->pMethods->xShmMap) return SQLITE_IOERR_SHMMAP;
    return file->real->pMethods->xShmMap(file->real, page, size, extend, pointer);
}

static int plv_shm_lock(sqlite3_file *base, int offset, int count, int flags) {
    plv_file *file = (plv_file *)base;
    if (file->real->pMethods->iVersion < 2 || !file->real->pMethods->xShmLock) return SQLITE_IOERR_SHMLOCK;
    return file->real->pMethods->xShmLock(file->real, offset, count, flags);
}

static void plv_shm_barrier(sqlite3_file *base) {
    plv_file *file = (plv_file *)base;
    if (file->real->pMethods->iVersion >= 2 && file->real->pMethods->xShmBarrier) file->real->pMethods->xShmBarrier(file->real);
}

static int plv_shm_unmap(sqlite3_file *base, int delete_flag) {
    plv_file *file = (plv_file *)base;
    if (file->real->pMethods->iVersion < 2 || !file->real->pMethods->xShmUnmap) return SQLITE_OK;
    return file->real->pMethods->xShmUnmap(file->real, delete_flag);
}

// Memory-mapped reads would bypass the cache: always decline, so SQLite uses xRead.
static int plv_fetch(sqlite3_file *base, sqlite3_int64 offset, int amount, void **pointer) {
    (void)base;
    (void)offset;
    (void)amount;
    *pointer = NULL;
    return SQLITE_OK;
}

static int plv_unfetch(sqlite3_file *base, sqlite3_int64 offset, void *pointer) {
    (void)base;
    (void)offset;
    (void)pointer;
    return SQLITE_OK;
}

static const sqlite3_io_methods plv_methods = {
    3,
    plv_close,
    plv_read,
    plv_write,
    plv_truncate,
    plv_sync,
    plv_file_size,
    plv_lock,
    plv_unlock,
    plv_check_reserved_lock,
    plv_file_control,
    plv_sector_size,
    plv_device_characteristics,
    plv_shm_map,
    plv_shm_lock,
    plv_shm_barrier,
    plv_shm_unmap,
    plv_fetch,
    plv_unfetch,
};

// MARK: - VFS methods

static int plv_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *base, int flags, int *out_flags) {
    (void)vfs;
    pthread_mutex_lock(&plv_mutex);
    int buffered = plv_is_buffered_path(name);
    if (!buffered) {
        pthread_mutex_unlock(&plv_mutex);
        // Pass-through: the real VFS fills the structure and installs its own methods.
        return plv_real->xOpen(plv_real, name, base, flags, out_flags);
    }
    if (plv_lost) {
        pthread_mutex_unlock(&plv_mutex);
        base->pMethods = NULL;
        return SQLITE_CANTOPEN;
    }
    plv_file *file = (plv_file *)base;
    memset(file, 0, sizeof *file);
    file->real = (sqlite3_file *)((char *)base + ((sizeof(plv_file) + 7) & ~(size_t)7));
    file->node = plv_find_node(name, 1);
    file->trial = plv_trial;
    pthread_mutex_unlock(&plv_mutex);
    if (!file->node) return SQLITE_NOMEM;
    int status = plv_real->xOpen(plv_real, name, file->real, flags, out_flags);
    if (status != SQLITE_OK || !file->real->pMethods) {
        if (file->real->pMethods) file->real->pMethods->xClose(file->real);
        file->real->pMethods = NULL;
        base->pMethods = NULL;
        return status != SQLITE_OK ? status : SQLITE_CANTOPEN;
    }
    base->pMethods = &plv_methods;
    return SQLITE_OK;
}

static int plv_delete(sqlite3_vfs *vfs, const char *name, int sync_directory) {
    (void)vfs;
    pthread_mutex_lock(&plv_mutex);
    if (plv_is_buffered_path(name)) {
        if (plv_lost) {
            pthread_mutex_unlock(&plv_mutex);
            return plv_discard ? SQLITE_OK : SQLITE_IOERR_DELETE;
        }
        plv_node *node = plv_find_node(name, 0);
        if (node) plv_free_changes(node);
    }
    pthread_mutex_unlock(&plv_mutex);
    return plv_real->xDelete(plv_real, name, sync_directory);
}

static int plv_access(sqlite3_vfs *vfs, const char *name, int flags, int *result) {
    (void)vfs;
    pthread_mutex_lock(&plv_mutex);
    plv_node *node = plv_is_buffered_path(name) && !plv_lost ? plv_find_node(name, 0) : NULL;
    if (node && node->head && flags == SQLITE_ACCESS_EXISTS) {
        struct stat info;
        if (stat(name, &info) == 0) {
            *result = plv_logical_size(node, (sqlite3_int64)info.st_size) > 0;
            pthread_mutex_unlock(&plv_mutex);
            return SQLITE_OK;
        }
    }
    pthread_mutex_unlock(&plv_mutex);
    return plv_real->xAccess(plv_real, name, flags, result);
}

static int plv_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return plv_real->xFullPathname(plv_real, name, size, out);
}

static void *plv_dl_open(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return plv_real->xDlOpen(plv_real, name);
}

static void plv_dl_error(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    plv_real->xDlError(plv_real, size, message);
}

static void (*plv_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return plv_real->xDlSym(plv_real, handle, symbol);
}

static void plv_dl_close(sqlite3_vfs *vfs, void *handle) {
    (void)vfs;
    plv_real->xDlClose(plv_real, handle);
}

static int plv_randomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return plv_real->xRandomness(plv_real, size, out);
}

static int plv_sleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return plv_real->xSleep(plv_real, microseconds);
}

static int plv_current_time(sqlite3_vfs *vfs, double *now) {
    (void)vfs;
    return plv_real->xCurrentTime(plv_real, now);
}

static int plv_get_last_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return plv_real->xGetLastError ? plv_real->xGetLastError(plv_real, size, out) : 0;
}

static int plv_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *now) {
    (void)vfs;
    return plv_real->xCurrentTimeInt64(plv_real, now);
}

// MARK: - Public interface

int plvfs_install(void) {
    pthread_mutex_lock(&plv_mutex);
    if (plv_installed) {
        pthread_mutex_unlock(&plv_mutex);
        return 0;
    }
    void *library = dlopen("libsqlite3.so.0", RTLD_NOLOAD | RTLD_NOW);
    if (!library) library = dlopen("libsqlite3.so", RTLD_NOLOAD | RTLD_NOW);
    if (!library) {
        pthread_mutex_unlock(&plv_mutex);
        return -1;
    }
    plv_vfs_find_fn find = (plv_vfs_find_fn)dlsym(library, "sqlite3_vfs_find");
    plv_vfs_register_fn reg = (plv_vfs_register_fn)dlsym(library, "sqlite3_vfs_register");
    if (!find || !reg) {
        pthread_mutex_unlock(&plv_mutex);
        return -2;
    }
    plv_real = find(NULL);
    if (!plv_real || plv_real->iVersion < 2) {
        pthread_mutex_unlock(&plv_mutex);
        return -3;
    }
    memset(&plv_vfs, 0, sizeof plv_vfs);
    plv_vfs.iVersion = 2;
    plv_vfs.szOsFile = (int)(((sizeof(plv_file) + 7) & ~(size_t)7) + (size_t)plv_real->szOsFile);
    plv_vfs.mxPathname = plv_real->mxPathname;
    plv_vfs.zName = "sessionvault-power-loss";
    plv_vfs.xOpen = plv_open;
    plv_vfs.xDelete = plv_delete;
    plv_vfs.xAccess = plv_access;
    plv_vfs.xFullPathname = plv_full_pathname;
    plv_vfs.xDlOpen = plv_dl_open;
    plv_vfs.xDlError = plv_dl_error;
    plv_vfs.xDlSym = plv_dl_sym;
    plv_vfs.xDlClose = plv_dl_close;
    plv_vfs.xRandomness = plv_randomness;
    plv_vfs.xSleep = plv_sleep;
    plv_vfs.xCurrentTime = plv_current_time;
    plv_vfs.xGetLastError = plv_get_last_error;
    plv_vfs.xCurrentTimeInt64 = plv_current_time_int64;
    if (reg(&plv_vfs, 1) != SQLITE_OK) {
        pthread_mutex_unlock(&plv_mutex);
        return -4;
    }
    plv_installed = 1;
    pthread_mutex_unlock(&plv_mutex);
    return 0;
}

void plvfs_arm(const char *prefix, long countdown, int discard_after_loss, int damage, unsigned long long seed, int real_sync) {
    pthread_mutex_lock(&plv_mutex);
    plv_free_nodes();
    free(plv_prefix);
    plv_prefix = strdup(prefix);
    plv_prefix_length = plv_prefix ? strlen(plv_prefix) : 0;
    plv_trial++;
    plv_countdown = countdown;
    plv_operations = 0;
    plv_lost = 0;
    plv_discard = discard_after_loss;
    plv_damage = damage;
    plv_real_sync = real_sync;
    plv_random_state = seed;
    plv_dropped = plv_kept = plv_garbage = 0;
    pthread_mutex_unlock(&plv_mutex);
}

void plvfs_cut_power(void) {
    pthread_mutex_lock(&plv_mutex);
    plv_lose_power();
    pthread_mutex_unlock(&plv_mutex);
}

int plvfs_power_lost(void) {
    pthread_mutex_lock(&plv_mutex);
    int lost = plv_lost;
    pthread_mutex_unlock(&plv_mutex);
    return lost;
}

long plvfs_operation_count(void) {
    pthread_mutex_lock(&plv_mutex);
    long count = plv_operations;
    pthread_mutex_unlock(&plv_mutex);
    return count;
}

void plvfs_loss_statistics(long *dropped_sectors, long *kept_sectors, long *garbage_sectors) {
    pthread_mutex_lock(&plv_mutex);
    if (dropped_sectors) *dropped_sectors = plv_dropped;
    if (kept_sectors) *kept_sectors = plv_kept;
    if (garbage_sectors) *garbage_sectors = plv_garbage;
    pthread_mutex_unlock(&plv_mutex);
}

void plvfs_disarm(void) {
    pthread_mutex_lock(&plv_mutex);
    if (!plv_lost) {
        for (plv_node *node = plv_nodes; node; node = node->next) (void)plv_apply(node);
    }
    plv_free_nodes();
    free(plv_prefix);
    plv_prefix = NULL;
    plv_prefix_length = 0;
    plv_trial++;
    pthread_mutex_unlock(&plv_mutex);
}
