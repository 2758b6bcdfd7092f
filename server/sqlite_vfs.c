/* The "recall" SQLite VFS: every method is forwarded to the default VFS
 * (files opened through it are the default VFS's own file objects), except
 * the clock, which returns the thread's statement timestamp when one is set.
 * See sqlite_vfs.h. */
#include "config.h"

#include "sqlite_vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

/* Milliseconds from the Julian day epoch to the Unix epoch: the unit of
 * xCurrentTimeInt64 (2440587.5 days * 86400000). */
#define SQLVFS_UNIX_EPOCH_JD_MS 210866760000000LL

static _Thread_local bool tls_time_on;
static _Thread_local sqlite3_int64 tls_time_jd_ms;

static sqlite3_vfs sqlvfs;
static int sqlvfs_rc = SQLITE_ERROR;
static pthread_once_t sqlvfs_once = PTHREAD_ONCE_INIT;

#define ORIG(vfs) ((sqlite3_vfs *)(vfs)->pAppData)

void sqlvfs_time_set(uint64_t ts_us)
{
    tls_time_jd_ms = SQLVFS_UNIX_EPOCH_JD_MS + (sqlite3_int64)(ts_us / 1000u);
    tls_time_on = true;
}

void sqlvfs_time_clear(void) { tls_time_on = false; }

static int sqlvfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
                       int *out_flags)
{
    return ORIG(vfs)->xOpen(ORIG(vfs), name, f, flags, out_flags);
}

static int sqlvfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    return ORIG(vfs)->xDelete(ORIG(vfs), name, sync_dir);
}

static int sqlvfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *res)
{
    return ORIG(vfs)->xAccess(ORIG(vfs), name, flags, res);
}

static int sqlvfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    return ORIG(vfs)->xFullPathname(ORIG(vfs), name, n, out);
}

static void *sqlvfs_dlopen(sqlite3_vfs *vfs, const char *name)
{
    return ORIG(vfs)->xDlOpen(ORIG(vfs), name);
}

static void sqlvfs_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
    ORIG(vfs)->xDlError(ORIG(vfs), n, msg);
}

static void (*sqlvfs_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    return ORIG(vfs)->xDlSym(ORIG(vfs), h, sym);
}

static void sqlvfs_dlclose(sqlite3_vfs *vfs, void *h) { ORIG(vfs)->xDlClose(ORIG(vfs), h); }

static int sqlvfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    return ORIG(vfs)->xRandomness(ORIG(vfs), n, out);
}

static int sqlvfs_sleep(sqlite3_vfs *vfs, int us) { return ORIG(vfs)->xSleep(ORIG(vfs), us); }

static int sqlvfs_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    sqlite3_vfs *o = ORIG(vfs);
    if (tls_time_on) {
        *out = tls_time_jd_ms;
        return SQLITE_OK;
    }
    if (o->iVersion >= 2 && o->xCurrentTimeInt64)
        return o->xCurrentTimeInt64(o, out);
    double jd;
    int rc = o->xCurrentTime(o, &jd);
    *out = (sqlite3_int64)(jd * 86400000.0);
    return rc;
}

static int sqlvfs_current_time(sqlite3_vfs *vfs, double *out)
{
    sqlite3_int64 ms;
    int rc = sqlvfs_current_time_int64(vfs, &ms);
    *out = (double)ms / 86400000.0;
    return rc;
}

static int sqlvfs_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    return ORIG(vfs)->xGetLastError ? ORIG(vfs)->xGetLastError(ORIG(vfs), n, out) : 0;
}

static int sqlvfs_set_system_call(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr p)
{
    return ORIG(vfs)->xSetSystemCall(ORIG(vfs), name, p);
}

static sqlite3_syscall_ptr sqlvfs_get_system_call(sqlite3_vfs *vfs, const char *name)
{
    return ORIG(vfs)->xGetSystemCall(ORIG(vfs), name);
}

static const char *sqlvfs_next_system_call(sqlite3_vfs *vfs, const char *name)
{
    return ORIG(vfs)->xNextSystemCall(ORIG(vfs), name);
}

static void sqlvfs_init(void)
{
    sqlite3_vfs *orig;

    if ((sqlvfs_rc = sqlite3_initialize()) != SQLITE_OK)
        return;
    if (!(orig = sqlite3_vfs_find(NULL))) {
        sqlvfs_rc = SQLITE_ERROR;
        return;
    }
    sqlvfs.iVersion = orig->iVersion < 3 ? orig->iVersion : 3;
    sqlvfs.szOsFile = orig->szOsFile;
    sqlvfs.mxPathname = orig->mxPathname;
    sqlvfs.zName = SQLVFS_NAME;
    sqlvfs.pAppData = orig;
    sqlvfs.xOpen = sqlvfs_open;
    sqlvfs.xDelete = sqlvfs_delete;
    sqlvfs.xAccess = sqlvfs_access;
    sqlvfs.xFullPathname = sqlvfs_full_pathname;
    sqlvfs.xDlOpen = sqlvfs_dlopen;
    sqlvfs.xDlError = sqlvfs_dlerror;
    sqlvfs.xDlSym = sqlvfs_dlsym;
    sqlvfs.xDlClose = sqlvfs_dlclose;
    sqlvfs.xRandomness = sqlvfs_randomness;
    sqlvfs.xSleep = sqlvfs_sleep;
    sqlvfs.xCurrentTime = sqlvfs_current_time;
    sqlvfs.xGetLastError = sqlvfs_get_last_error;
    if (sqlvfs.iVersion >= 2)
        sqlvfs.xCurrentTimeInt64 = sqlvfs_current_time_int64;
    if (sqlvfs.iVersion >= 3) {
        sqlvfs.xSetSystemCall = sqlvfs_set_system_call;
        sqlvfs.xGetSystemCall = sqlvfs_get_system_call;
        sqlvfs.xNextSystemCall = sqlvfs_next_system_call;
    }
    sqlvfs_rc = sqlite3_vfs_register(&sqlvfs, 0);
}

int sqlvfs_register(void)
{
    pthread_once(&sqlvfs_once, sqlvfs_init);
    return sqlvfs_rc;
}
