/* The embedded SQLite backend (DSN "sqlite:/path/to/file.db"): every session
 * is its own sqlite3 connection to one WAL-mode database file, and every
 * statement that may write runs with the execution context set first, so a
 * backup re-executing the logged statement gets the primary's result
 * (DESIGN.md sections 3, 4 and 6; docs/BACKEND-SQLITE.md).
 *
 * Determinism: 'now' comes from the "recall" VFS clock (sqlite_vfs.h) set to
 * the statement timestamp; random() and randomblob() are replaced per
 * connection by a generator seeded from (seed1, seed2) before each statement;
 * last_insert_rowid() is replaced by a function returning the logged value.
 * What cannot be made deterministic is refused twice: lexically by sqlclass
 * and, authoritatively, by an authorizer callback on every connection that
 * sees what SQLite is about to do (ATTACH, temp objects, setting PRAGMAs,
 * writes to Recall's or SQLite's own tables, transaction control, DDL outside
 * the DDL path).
 *
 * Failure modes: SQLite errors keep their extended code as the native error
 * and get a SQLSTATE; a writer that cannot get the write lock within
 * busy_timeout fails with a lock-wait timeout; a transaction whose snapshot
 * went stale before its first write fails with 40001 and is rolled back;
 * after backend_quiesce every session fails with ERR_CONN_LOST.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend-internal.h"
#include "crc32c.h"
#include "recall.h"
#include "sqlclass.h"
#include "sqlite_vfs.h"

#define SQ_BUSY_MS_DEFAULT 10000          /* write-lock wait: see the doc */
#define SQ_EXPIRY_S_DEFAULT (24 * 3600)   /* recall_clients rows */
#define SQ_MAX_SQL (16u << 20)            /* statement text */
#define SQ_MAX_RETURNING (64u << 20)      /* rows buffered for a writing RETURNING */
#define SQ_CACHE_MAX 32                   /* client/apply statements kept prepared per session */
/* recall_clients rows past client_expiry are deleted at every op divisible
 * by this (deterministic: op numbers and timestamps are logged) */
#define SQ_EXPIRE_EVERY 64

/* What the authorizer lets a statement do (see sq_authorize). */
enum sq_mode {
    MODE_INTERNAL = 0, /* Recall's own statements: anything */
    MODE_EXEC,         /* client statements on the primary */
    MODE_APPLY,        /* logged statements re-executed on a backup */
    MODE_READ,         /* reads in a snapshot: nothing that writes */
    MODE_DDL           /* one DDL statement (exec_ddl/apply_ddl) */
};

/* Recall's statements, prepared once per connection. */
enum sq_q {
    Q_BEGIN, Q_BEGIN_IMMEDIATE, Q_COMMIT, Q_ROLLBACK,
    Q_SP, Q_SP_RELEASE, Q_SP_ROLLBACK,
    Q_STATE, Q_SET_APPLIED, Q_SET_DDL, Q_UPSERT_CLIENT, Q_EXPIRE_CLIENTS,
    Q__COUNT
};

static const char *const q_sql[Q__COUNT] = {
    [Q_BEGIN] = "BEGIN",
    [Q_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SP] = "SAVEPOINT recall__stmt",
    [Q_SP_RELEASE] = "RELEASE recall__stmt",
    [Q_SP_ROLLBACK] = "ROLLBACK TO recall__stmt",
    [Q_STATE] = "SELECT applied, cluster, ddl_pending, ddl_op, ddl_code, ddl_sqlstate, ddl_msg "
                "FROM recall_state WHERE id = 1",
    [Q_SET_APPLIED] = "UPDATE recall_state SET applied = ?1 WHERE id = 1",
    [Q_SET_DDL] = "UPDATE recall_state SET ddl_op = ?1, ddl_code = ?2, ddl_sqlstate = ?3, "
                  "ddl_msg = ?4 WHERE id = 1",
    [Q_UPSERT_CLIENT] = "INSERT INTO recall_clients (client, req, op, affected, insert_id, ts_us) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (client) DO UPDATE SET "
                        "req = excluded.req, op = excluded.op, affected = excluded.affected, "
                        "insert_id = excluded.insert_id, ts_us = excluded.ts_us",
    [Q_EXPIRE_CLIENTS] = "DELETE FROM recall_clients WHERE ts_us < ?1",
};

/* Recall's tables.  recall_state has one row (id 1).  ddl_pending stays 0:
 * SQLite DDL is transactional, so the DDL and applied = op commit together
 * (docs/BACKEND-SQLITE.md); ddl_op/ddl_code/... remember the outcome of the
 * last DDL executed here so that asking again for an applied DDL answers
 * the same. */
static const char sq_schema[] =
    "BEGIN IMMEDIATE;"
    "CREATE TABLE IF NOT EXISTS recall_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " applied INTEGER NOT NULL DEFAULT 0,"
    " cluster INTEGER NOT NULL DEFAULT 0,"
    " ddl_pending INTEGER NOT NULL DEFAULT 0,"
    " ddl_op INTEGER NOT NULL DEFAULT 0,"
    " ddl_code INTEGER NOT NULL DEFAULT 0,"
    " ddl_sqlstate TEXT NOT NULL DEFAULT '',"
    " ddl_msg TEXT NOT NULL DEFAULT '');"
    "INSERT OR IGNORE INTO recall_state (id) VALUES (1);"
    "CREATE TABLE IF NOT EXISTS recall_clients ("
    " client BLOB NOT NULL PRIMARY KEY CHECK (typeof(client) = 'blob' AND length(client) = 16),"
    " req INTEGER NOT NULL, op INTEGER NOT NULL, affected INTEGER NOT NULL,"
    " insert_id INTEGER NOT NULL, ts_us INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS recall_clients_ts ON recall_clients (ts_us);"
    "COMMIT;";

/* Connection settings that change what a statement does: set explicitly on
 * every connection, so no replica depends on its SQLite build's defaults
 * (Debian's turns recursive_triggers on, for instance). */
static const char sq_settings[] =
    "PRAGMA synchronous = NORMAL;"
    "PRAGMA foreign_keys = ON;"
    "PRAGMA recursive_triggers = OFF;"
    "PRAGMA case_sensitive_like = OFF;"
    "PRAGMA reverse_unordered_selects = OFF;"
    "PRAGMA defer_foreign_keys = OFF;"
    "PRAGMA legacy_alter_table = OFF;"
    "PRAGMA trusted_schema = ON;";

struct sq_session;

/* Deadline state of a connection's busy handler. */
struct sq_busy {
    int ms;                     /* how long a writer waits for the lock */
    atomic_bool *stop;          /* set by quiesce: give up at once */
    struct timespec start;
};

struct sq_backend {
    struct backend_base base;
    char *path;                 /* owned */
    char *user, *password;      /* owned; user NULL: any credentials */
    int busy_ms;
    uint64_t expiry_us;
    char version[48];

    pthread_mutex_t admin_mu;   /* serializes use of admin */
    struct sq_session *admin;   /* owned; NULL while quiesced */

    pthread_mutex_t mu;         /* protects sessions and quiesced */
    struct sq_session *sessions;
    bool quiesced;
    atomic_uint ddl_gen;        /* bumped by every DDL: cached statements may be stale */
};

/* A client or apply statement kept prepared (SQLITE_PREPARE_PERSISTENT),
 * keyed by its text and the authorizer mode it was prepared in, with what
 * the authorizer noticed then.  Emptied when a DDL ran through the backend
 * (ddl_gen) and when the connection closes; an entry whose run failed is
 * dropped. */
struct sq_cached {
    char *sql;                  /* owned; NULL: free slot */
    uint32_t len;
    uint64_t hash;
    enum sq_mode mode;
    sqlite3_stmt *st;           /* owned */
    const char *volatile_fn;    /* changes()/total_changes() seen at prepare */
    bool saw_datefn;
    uint64_t used;              /* LRU clock */
};

struct sq_session {
    struct backend_session_base base;
    struct sq_backend *be;
    struct sq_session *prev, *next;  /* be->sessions */
    pthread_mutex_t mu;              /* held by every call (quiesce takes it too) */
    sqlite3 *db;                     /* owned; NULL once closed by quiesce */
    atomic_bool stop;                /* quiesce in progress */
    struct sq_busy busy;
    sqlite3_stmt *q[Q__COUNT];       /* owned */

    bool in_txn;                     /* backend_begin's transaction is open */
    bool in_read;                    /* backend_read_begin's snapshot is open */

    /* authorizer */
    enum sq_mode mode;
    bool denied;
    char deny[320];
    const char *volatile_fn;         /* changes()/total_changes() seen */
    bool saw_datefn;                 /* a date/time function seen */

    /* execution context of the running statement */
    bool ctx_on;
    uint64_t rng[4];
    int64_t lir_value;               /* what last_insert_rowid() returns */
    int64_t last_rowid;              /* this session's LAST_INSERT_ID() */
    bool capture, captured;
    int64_t first_rowid;

    /* prepared statements */
    struct sq_cached cache[SQ_CACHE_MAX];
    uint64_t cache_clock;
    unsigned cache_gen;              /* be->ddl_gen the cache is valid for */

    /* the open result */
    sqlite3_stmt *cur;               /* streamed rows (stmt_get's: given back by cursor_close) */
    bool cur_row;                    /* cur is positioned at an undelivered row */
    enum sq_mode cur_mode;
    struct proto_value *rbuf;        /* owned: buffered rows (RETURNING of a write) */
    uint32_t rbuf_n, rbuf_cap, rbuf_pos;
    uint32_t ncols;
};

/* ------------------------------------------------------------------ small helpers */

static void mono_now(struct timespec *ts) { clock_gettime(CLOCK_MONOTONIC, ts); }

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    mono_now(&t);
    return (long)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Constant-time comparison of two NUL-terminated strings (time depends on
 * the lengths only). */
static bool secret_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
    unsigned diff = (unsigned)(la ^ lb);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < la ? (unsigned char)a[i] : 0;
        unsigned char y = i < lb ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0;
}

static bool is_reserved_name(const char *name)
{
    return name && strncasecmp(name, "recall_", 7) == 0;
}

static bool is_zero_id(const struct proto_id *id)
{
    for (size_t i = 0; i < sizeof id->b; i++)
        if (id->b[i])
            return false;
    return true;
}

/* Whether text[0..n) holds nothing but whitespace, semicolons and comments
 * (what may follow the one statement of a call). */
static bool only_filler(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == ';') {
            i++;
        } else if (c == '-' && i + 1 < n && p[i + 1] == '-') {
            while (i < n && p[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < n && p[i + 1] == '*') {
            i += 2;
            while (i < n && !(p[i] == '*' && i + 1 < n && p[i + 1] == '/'))
                i++;
            i = i < n ? i + 2 : n;
        } else {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ errors */

static bool rc_transient(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_INTERRUPT:
        return true;
    default:
        return false;
    }
}

/* Fill e from the connection's last error; rc is the failing call's
 * result.  Returns -1. */
static int sq_fail(struct sq_session *s, int rc, struct err *e)
{
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    const char *state = "HY000";
    enum err_code code = ERR_SQL;

    /* a function the authorizer denies fails with SQLITE_ERROR ("not
     * authorized to use function"), an operation with SQLITE_AUTH */
    if (s->denied && ((rc & 0xff) == SQLITE_AUTH || (rc & 0xff) == SQLITE_ERROR))
        return err_set(e, ERR_REFUSED, "%s", s->deny);
    /* SQLite's own guard on the schema table fires before the authorizer */
    if ((rc & 0xff) == SQLITE_ERROR && strstr(msg, "may not be modified"))
        return err_set(e, ERR_REFUSED,
                       "writing SQLite's schema table is refused: change the schema with DDL "
                       "statements, which are replicated (%s)", msg);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
        if (rc == SQLITE_BUSY_SNAPSHOT)
            return err_set_sql(e, ERR_DEADLOCK, "40001", rc,
                               "serialization failure: another transaction committed after this "
                               "one read the database, so it cannot write; the transaction was "
                               "rolled back: retry it");
        if (atomic_load(&s->stop))
            return err_set_sql(e, ERR_CONN_LOST, "08S01", rc,
                               "the SQLite database is being quiesced for a state transfer");
        return err_set_sql(e, ERR_TIMEOUT, "HY000", rc,
                           "lock wait timeout exceeded (%d ms): another transaction holds the "
                           "database's write lock until it commits; retry",
                           s->busy.ms);
    case SQLITE_CONSTRAINT:
        state = "23000";
        break;
    case SQLITE_NOMEM:
        return err_set_sql(e, ERR_NOMEM, "HY001", rc, "out of memory: %s", msg);
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
        return err_set_sql(e, ERR_IO, "58030", rc, "SQLite I/O error: %s", msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return err_set_sql(e, ERR_CORRUPT, "XX001", rc, "SQLite database damaged: %s", msg);
    case SQLITE_TOOBIG:
        code = ERR_LIMIT;
        state = "22001";
        break;
    case SQLITE_MISMATCH:
        state = "22018";
        break;
    case SQLITE_RANGE:
        code = ERR_INVALID;
        state = "07009";
        break;
    case SQLITE_READONLY:
        state = "25006";
        break;
    case SQLITE_INTERRUPT:
        if (atomic_load(&s->stop))
            return err_set_sql(e, ERR_CONN_LOST, "08S01", rc,
                               "the SQLite database is being quiesced for a state transfer");
        code = ERR_CANCELED;
        state = "HY008";
        break;
    case SQLITE_AUTH:
        code = ERR_REFUSED;
        state = "42000";
        break;
    case SQLITE_PERM:
        state = "42000";
        break;
    case SQLITE_ERROR:
        if (strstr(msg, "syntax error") || strstr(msg, "incomplete input") ||
            strstr(msg, "unrecognized token"))
            state = "42000";
        else if (strstr(msg, "no such table"))
            state = "42S02";
        else if (strstr(msg, "no such column"))
            state = "42S22";
        else if (strstr(msg, "already exists"))
            state = "42S01";
        break;
    default:
        break;
    }
    return err_set_sql(e, code, state, rc, "%s", msg);
}

/* ------------------------------------------------------------------ busy handler */

static int sq_busy_cb(void *arg, int count)
{
    struct sq_busy *b = arg;
    long elapsed, nap;
    if (count == 0)
        mono_now(&b->start);
    if (atomic_load(b->stop))
        return 0;
    elapsed = ms_since(&b->start);
    if (elapsed >= b->ms)
        return 0;
    nap = count < 10 ? count + 1 : 10;
    if (nap > b->ms - elapsed)
        nap = b->ms - elapsed;
    sleep_ms(nap);
    return 1;
}

/* ------------------------------------------------------------------ SQL functions */

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* xoshiro256** seeded from the statement's two seeds. */
static void rng_seed(struct sq_session *s, uint64_t seed1, uint64_t seed2)
{
    uint64_t x = seed1;
    s->rng[0] = splitmix64(&x);
    s->rng[1] = splitmix64(&x);
    x ^= seed2;
    s->rng[2] = splitmix64(&x);
    s->rng[3] = splitmix64(&x);
}

static uint64_t rng_next(struct sq_session *s)
{
    uint64_t *r = s->rng, out = rotl64(r[1] * 5, 7) * 9, t = r[1] << 17;
    r[2] ^= r[0];
    r[3] ^= r[1];
    r[1] ^= r[2];
    r[0] ^= r[3];
    r[2] ^= t;
    r[3] = rotl64(r[3], 45);
    return out;
}

/* n is at most SQLITE_LIMIT_LENGTH (an int). */
static void rng_fill(struct sq_session *s, unsigned char *p, size_t n)
{
    if (!s->ctx_on) {
        sqlite3_randomness((int)n, p);
        return;
    }
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rng_next(s);
        size_t k = n - i < 8 ? n - i : 8;
        memcpy(p + i, &v, k);
    }
}

static void fn_random(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    struct sq_session *s = sqlite3_user_data(cx);
    uint64_t u;
    int64_t r;
    (void)argc;
    (void)argv;
    if (s->ctx_on)
        u = rng_next(s);
    else
        sqlite3_randomness(sizeof u, &u);
    r = (int64_t)u;
    if (r < 0) /* as SQLite's own: never INT64_MIN, so abs(random()) works */
        r = -(r & INT64_MAX);
    sqlite3_result_int64(cx, r);
}

static void fn_randomblob(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    struct sq_session *s = sqlite3_user_data(cx);
    sqlite3_int64 n;
    unsigned char *p;
    (void)argc;
    n = sqlite3_value_int64(argv[0]);
    if (n < 1)
        n = 1;
    if (n > sqlite3_limit(sqlite3_context_db_handle(cx), SQLITE_LIMIT_LENGTH, -1)) {
        sqlite3_result_error_toobig(cx);
        return;
    }
    if (!(p = sqlite3_malloc64((sqlite3_uint64)n))) {
        sqlite3_result_error_nomem(cx);
        return;
    }
    rng_fill(s, p, (size_t)n);
    sqlite3_result_blob64(cx, p, (sqlite3_uint64)n, sqlite3_free);
}

static void fn_last_insert_rowid(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    struct sq_session *s = sqlite3_user_data(cx);
    (void)argc;
    (void)argv;
    sqlite3_result_int64(cx, s->lir_value);
}

static void sq_update_cb(void *arg, int op, const char *db, const char *table, sqlite3_int64 rowid)
{
    struct sq_session *s = arg;
    (void)db;
    (void)table;
    if (s->capture && !s->captured && op == SQLITE_INSERT) {
        s->captured = true;
        s->first_rowid = rowid;
    }
}

/* Set the execution context of the statement about to run: its 'now', its
 * random generator and the value last_insert_rowid() returns. */
static void ctx_set(struct sq_session *s, uint64_t ts_us, uint64_t seed1, uint64_t seed2,
                    int64_t last_insert_id)
{
    sqlvfs_time_set(ts_us);
    rng_seed(s, seed1, seed2);
    s->ctx_on = true;
    s->lir_value = last_insert_id;
}

static void ctx_clear(struct sq_session *s)
{
    sqlvfs_time_clear();
    s->ctx_on = false;
    s->lir_value = s->last_rowid;
}

/* ------------------------------------------------------------------ authorizer */

static int deny(struct sq_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int deny(struct sq_session *s, const char *fmt, ...)
{
    va_list ap;
    if (!s->denied) {
        va_start(ap, fmt);
        vsnprintf(s->deny, sizeof s->deny, fmt, ap);
        va_end(ap);
        s->denied = true;
    }
    return SQLITE_DENY;
}

#define R_TXN \
    "transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) goes through Recall, " \
    "which replicates the commit; it is never sent to the database as a statement"
#define R_ATTACH \
    "ATTACH/DETACH are not supported: the attached file would exist on one replica only; " \
    "Recall replicates one database"
#define R_TEMP \
    "temporary tables, views, triggers and indexes are not supported: they live in one " \
    "connection and cannot be replicated; use a regular table instead"
#define R_DDL_IN_EXEC \
    "DDL must be sent as a statement of its own: Recall runs it as a replicated barrier " \
    "outside transactions"
#define R_NOT_READ \
    "not a read: this statement would change the database"
#define R_RESERVED \
    "'%s': names starting with recall_ belong to Recall's bookkeeping tables, which only " \
    "Recall writes"
#define R_SCHEMA_TABLE \
    "'%s' is SQLite's own table: it cannot be written with SQL statements"
#define R_PRAGMA \
    "PRAGMA %s: a PRAGMA that changes a setting or the database is not supported: it would " \
    "affect one replica's connection only (reads like PRAGMA table_info(t) are fine)"
#define R_LOAD_EXT \
    "load_extension() is not supported"

/* PRAGMAs a client may run: reads of settings and of the schema. */
static bool pragma_allowed(const char *name, const char *arg)
{
    static const char *const with_arg[] = {
        "table_info", "table_xinfo", "table_list", "index_info", "index_xinfo", "index_list",
        "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check"};
    static const char *const no_arg[] = {
        "application_id", "auto_vacuum", "automatic_index", "busy_timeout", "cache_size",
        "cache_spill", "cell_size_check", "collation_list", "compile_options", "data_version",
        "database_list", "defer_foreign_keys", "encoding", "foreign_key_check",
        "foreign_key_list", "foreign_keys", "freelist_count", "function_list",
        "ignore_check_constraints", "integrity_check", "journal_mode", "journal_size_limit",
        "legacy_alter_table", "locking_mode", "max_page_count", "mmap_size", "module_list",
        "page_count", "page_size", "pragma_list", "query_only", "quick_check",
        "read_uncommitted", "recursive_triggers", "reverse_unordered_selects", "schema_version",
        "secure_delete", "synchronous", "table_list", "temp_store", "trusted_schema",
        "user_version", "wal_autocheckpoint"};
    if (!name)
        return false;
    if (arg) {
        for (size_t i = 0; i < sizeof with_arg / sizeof with_arg[0]; i++)
            if (strcasecmp(name, with_arg[i]) == 0)
                return true;
        return false;
    }
    for (size_t i = 0; i < sizeof no_arg / sizeof no_arg[0]; i++)
        if (strcasecmp(name, no_arg[i]) == 0)
            return true;
    return false;
}

static bool is_datefn(const char *f)
{
    static const char *const fns[] = {"date", "time", "datetime", "julianday", "strftime",
                                      "unixepoch", "timediff"};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (strcasecmp(f, fns[i]) == 0)
            return true;
    return false;
}

/* Called by SQLite while it compiles a statement: the ground truth of what
 * the statement will do.  Denials record a sentence in s->deny. */
static int sq_authorize(void *arg, int action, const char *a3, const char *a4, const char *dbname,
                        const char *trigger)
{
    struct sq_session *s = arg;
    bool ddl = s->mode == MODE_DDL, read = s->mode == MODE_READ;
    (void)trigger;

    if (s->mode == MODE_INTERNAL)
        return SQLITE_OK;
    switch (action) {
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
        return deny(s, R_TXN);
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
        return deny(s, R_ATTACH);
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW:
        return deny(s, R_TEMP);
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_VTABLE:
    case SQLITE_ALTER_TABLE:
        if (read)
            return deny(s, R_NOT_READ);
        if (!ddl)
            return deny(s, R_DDL_IN_EXEC);
        if (dbname && strcmp(dbname, "main") != 0)
            return deny(s, R_TEMP);
        /* a3/a4: object and table names (ALTER: database and table) */
        if (action != SQLITE_ALTER_TABLE && is_reserved_name(a3))
            return deny(s, R_RESERVED, a3);
        if (action != SQLITE_CREATE_VTABLE && action != SQLITE_DROP_VTABLE && is_reserved_name(a4))
            return deny(s, R_RESERVED, a4);
        return SQLITE_OK;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
        if (read)
            return deny(s, R_NOT_READ);
        if (dbname && strcmp(dbname, "main") != 0)
            return deny(s, R_TEMP);
        if (is_reserved_name(a3))
            return deny(s, R_RESERVED, a3);
        /* DDL maintains sqlite_schema itself; clients may keep
         * sqlite_sequence (AUTOINCREMENT) and the statistics tables */
        if (!ddl && a3 && strncasecmp(a3, "sqlite_", 7) == 0 &&
            strcasecmp(a3, "sqlite_sequence") != 0 && strncasecmp(a3, "sqlite_stat", 11) != 0)
            return deny(s, R_SCHEMA_TABLE, a3);
        return SQLITE_OK;
    case SQLITE_PRAGMA:
        if (!pragma_allowed(a3, a4))
            return deny(s, R_PRAGMA, a3);
        return SQLITE_OK;
    case SQLITE_ANALYZE:
    case SQLITE_REINDEX:
        if (read)
            return deny(s, R_NOT_READ);
        if (is_reserved_name(a3))
            return deny(s, R_RESERVED, a3);
        return SQLITE_OK;
    case SQLITE_FUNCTION:
        if (!a4)
            return SQLITE_OK;
        if (strcasecmp(a4, "load_extension") == 0)
            return deny(s, R_LOAD_EXT);
        if (strcasecmp(a4, "changes") == 0 || strcasecmp(a4, "total_changes") == 0)
            s->volatile_fn = strcasecmp(a4, "changes") == 0 ? "changes" : "total_changes";
        if (is_datefn(a4))
            s->saw_datefn = true;
        return SQLITE_OK;
    default:
        return SQLITE_OK;
    }
}

/* Whether a single-quoted literal of sql[0..len), or a text parameter, is
 * the 'localtime' or 'utc' date modifier (both depend on the host's time
 * zone). */
static bool is_tz_modifier(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return (n == 9 && strncasecmp(p, "localtime", 9) == 0) || (n == 3 && strncasecmp(p, "utc", 3) == 0);
}

static bool mentions_tz_modifier(const char *sql, size_t len, const struct proto_list_value *params)
{
    for (size_t i = 0; i < len; i++) {
        if (sql[i] == '\'') {
            size_t start = ++i;
            while (i < len && !(sql[i] == '\'' && !(i + 1 < len && sql[i + 1] == '\'')))
                i += sql[i] == '\'' ? 2 : 1;
            if (is_tz_modifier(sql + start, (i < len ? i : len) - start))
                return true;
        } else if (sql[i] == '"' || sql[i] == '`' || sql[i] == '[') {
            char close = sql[i] == '[' ? ']' : sql[i];
            for (i++; i < len && sql[i] != close; i++)
                ;
        } else if (sql[i] == '-' && i + 1 < len && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n')
                i++;
        }
    }
    if (params)
        for (uint32_t i = 0; i < params->n; i++)
            if (params->v[i].type == PV_TEXT && params->v[i].v.p &&
                is_tz_modifier(params->v[i].v.p, params->v[i].len))
                return true;
    return false;
}

static bool is_ident_char(char c)
{
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (unsigned char)c >= 0x80;
}

/* Whether DDL text calls a date/time function (its defaults, generated
 * columns, triggers and views are evaluated later, without the authorizer). */
static bool mentions_datefn_text(const char *sql, size_t len)
{
    static const char *const fns[] = {"date", "time", "datetime", "julianday", "strftime",
                                      "unixepoch", "timediff"};
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && is_ident_char(sql[i - 1]))
            continue;
        for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
            size_t n = strlen(fns[f]), j;
            if (len - i < n || strncasecmp(sql + i, fns[f], n) != 0)
                continue;
            for (j = i + n; j < len && (sql[j] == ' ' || sql[j] == '\t' || sql[j] == '\n'); j++)
                ;
            if (j < len && sql[j] == '(')
                return true;
        }
    }
    return false;
}

static const char R_TZ[] =
    "the 'localtime' and 'utc' date modifiers depend on each host's time zone and would give "
    "different values on other replicas; store and compute times in UTC, and convert on the "
    "client";

/* ------------------------------------------------------------------ connections */

static void conn_close(struct sq_session *s);

static int conn_exec(struct sq_session *s, const char *sql, struct err *e)
{
    char *msg = NULL;
    int rc;
    s->mode = MODE_INTERNAL;
    rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        sqlite3_free(msg);
        return sq_fail(s, rc, e);
    }
    return 0;
}

/* Open s->db with Recall's settings, functions and authorizer. */
static int conn_open(struct sq_backend *be, struct sq_session *s, struct err *e)
{
    sqlite3_stmt *st = NULL;
    int rc;

    s->busy.ms = be->busy_ms;
    s->busy.stop = &s->stop;
    rc = sqlite3_open_v2(be->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, SQLVFS_NAME);
    if (rc != SQLITE_OK) {
        err_set_sql(e, ERR_IO, "58030", rc, "cannot open SQLite database '%s': %s", be->path,
                    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_handler(s->db, sq_busy_cb, &s->busy);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    sqlite3_limit(s->db, SQLITE_LIMIT_SQL_LENGTH, (int)SQ_MAX_SQL);
    sqlite3_limit(s->db, SQLITE_LIMIT_ATTACHED, 0);

    /* journal_mode answers with the mode now in force */
    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sq_fail(s, rc, e);
        err_wrap(e, "cannot open SQLite database '%s'", be->path);
        goto fail;
    }
    {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (!mode || strcasecmp(mode, "wal") != 0) {
            err_set(e, ERR_CONFIG, "SQLite database '%s' cannot use WAL mode (journal mode is %s)",
                    be->path, mode ? mode : "unknown");
            goto fail;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (conn_exec(s, sq_settings, e) < 0) {
        err_wrap(e, "cannot configure SQLite database '%s'", be->path);
        goto fail;
    }
    rc = sqlite3_create_function_v2(s->db, "random", 0, SQLITE_UTF8 | SQLITE_INNOCUOUS, s,
                                    fn_random, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(s->db, "randomblob", 1, SQLITE_UTF8 | SQLITE_INNOCUOUS, s,
                                        fn_randomblob, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(s->db, "last_insert_rowid", 0, SQLITE_UTF8, s,
                                        fn_last_insert_rowid, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sq_fail(s, rc, e);
        goto fail;
    }
    sqlite3_update_hook(s->db, sq_update_cb, s);
    sqlite3_set_authorizer(s->db, sq_authorize, s);
    s->mode = MODE_INTERNAL;
    return 0;
fail:
    sqlite3_finalize(st);
    conn_close(s);
    return -1;
}

/* Give back a statement from stmt_get: a cached one is reset (releasing
 * its locks and snapshot) and kept unless drop; others are finalized. */
static void stmt_release(struct sq_session *s, sqlite3_stmt *st, bool drop)
{
    if (!st)
        return;
    for (unsigned i = 0; i < SQ_CACHE_MAX; i++) {
        struct sq_cached *c = &s->cache[i];
        if (c->sql && c->st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            if (drop) {
                sqlite3_finalize(st);
                free(c->sql);
                memset(c, 0, sizeof *c);
            }
            return;
        }
    }
    sqlite3_finalize(st);
}

static void cache_clear(struct sq_session *s)
{
    for (unsigned i = 0; i < SQ_CACHE_MAX; i++) {
        struct sq_cached *c = &s->cache[i];
        if (c->sql) {
            sqlite3_finalize(c->st);
            free(c->sql);
            memset(c, 0, sizeof *c);
        }
    }
}

static void cursor_close(struct sq_session *s)
{
    if (s->cur) {
        stmt_release(s, s->cur, false);
        s->cur = NULL;
    }
    s->cur_row = false;
    for (uint32_t i = s->rbuf_pos; i < s->rbuf_n; i++)
        proto_value_free(&s->rbuf[i]);
    free(s->rbuf);
    s->rbuf = NULL;
    s->rbuf_n = s->rbuf_cap = s->rbuf_pos = 0;
    s->ncols = 0;
}

static void conn_close(struct sq_session *s)
{
    cursor_close(s);
    cache_clear(s);
    for (int i = 0; i < Q__COUNT; i++) {
        sqlite3_finalize(s->q[i]);
        s->q[i] = NULL;
    }
    if (s->db) {
        /* rolls back whatever is open */
        sqlite3_close_v2(s->db);
        s->db = NULL;
    }
    s->in_txn = s->in_read = false;
}

/* ------------------------------------------------------------------ internal statements */

static sqlite3_stmt *q_get(struct sq_session *s, enum sq_q id, struct err *e)
{
    int rc;
    s->mode = MODE_INTERNAL;
    if (!s->q[id]) {
        rc = sqlite3_prepare_v3(s->db, q_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->q[id], NULL);
        if (rc != SQLITE_OK) {
            sq_fail(s, rc, e);
            s->q[id] = NULL;
            return NULL;
        }
    }
    return s->q[id];
}

/* Run an internal statement to completion (bindings already made). */
static int q_done(struct sq_session *s, sqlite3_stmt *st, struct err *e)
{
    int rc;
    s->mode = MODE_INTERNAL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE) {
        sq_fail(s, rc, e);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return -1;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return 0;
}

static int q_run(struct sq_session *s, enum sq_q id, struct err *e)
{
    sqlite3_stmt *st = q_get(s, id, e);
    return st ? q_done(s, st, e) : -1;
}

/* Recall's bookkeeping row, read inside the open transaction (or as its own
 * autocommit read). */
struct sq_state {
    uint64_t applied, cluster, ddl_pending, ddl_op;
    int ddl_code;
    char ddl_sqlstate[6];
    char ddl_msg[ERR_MSG_MAX];
};

static int read_state(struct sq_session *s, struct sq_state *out, struct err *e)
{
    sqlite3_stmt *st = q_get(s, Q_STATE, e);
    const char *t;
    int rc;
    if (!st)
        return -1;
    memset(out, 0, sizeof *out);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            err_set(e, ERR_CORRUPT, "recall_state has no row: the database was not created by Recall "
                                    "or was damaged");
        else
            sq_fail(s, rc, e);
        sqlite3_reset(st);
        return -1;
    }
    out->applied = (uint64_t)sqlite3_column_int64(st, 0);
    out->cluster = (uint64_t)sqlite3_column_int64(st, 1);
    out->ddl_pending = (uint64_t)sqlite3_column_int64(st, 2);
    out->ddl_op = (uint64_t)sqlite3_column_int64(st, 3);
    out->ddl_code = sqlite3_column_int(st, 4);
    t = (const char *)sqlite3_column_text(st, 5);
    snprintf(out->ddl_sqlstate, sizeof out->ddl_sqlstate, "%s", t ? t : "");
    t = (const char *)sqlite3_column_text(st, 6);
    snprintf(out->ddl_msg, sizeof out->ddl_msg, "%s", t ? t : "");
    sqlite3_reset(st);
    return 0;
}

/* What a client's saved result holds (recall_clients). */
struct sq_book {
    uint64_t op;
    const struct proto_id *client;
    uint64_t req, affected, insert_id, ts_us;
};

/* Write applied = op and the client's row, expire old client rows by the
 * logged timestamp.  Inside the open write transaction. */
static int bookkeep(struct sq_session *s, const struct sq_book *b, struct err *e)
{
    sqlite3_stmt *st;
    uint64_t expiry = s->be->expiry_us;

    if (!(st = q_get(s, Q_SET_APPLIED, e)))
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)b->op);
    if (q_done(s, st, e) < 0)
        return -1;
    if (b->client && !is_zero_id(b->client)) {
        if (!(st = q_get(s, Q_UPSERT_CLIENT, e)))
            return -1;
        sqlite3_bind_blob(st, 1, b->client->b, sizeof b->client->b, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)b->req);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)b->op);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)b->affected);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)b->insert_id);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)b->ts_us);
        if (q_done(s, st, e) < 0)
            return -1;
    }
    if (b->op % SQ_EXPIRE_EVERY == 0 && b->ts_us > expiry) {
        if (!(st = q_get(s, Q_EXPIRE_CLIENTS, e)))
            return -1;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)(b->ts_us - expiry));
        if (q_done(s, st, e) < 0)
            return -1;
    }
    return 0;
}

static int set_ddl_outcome(struct sq_session *s, uint64_t op, int code, const char *sqlstate,
                           const char *msg, struct err *e)
{
    sqlite3_stmt *st = q_get(s, Q_SET_DDL, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)op);
    sqlite3_bind_int(st, 2, code);
    sqlite3_bind_text(st, 3, sqlstate ? sqlstate : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, msg ? msg : "", -1, SQLITE_TRANSIENT);
    return q_done(s, st, e);
}

/* End whatever transaction is open, ignoring errors (the connection is left
 * in autocommit mode in any case). */
static void txn_abort(struct sq_session *s)
{
    struct err ignored;
    cursor_close(s);
    if (s->db && !sqlite3_get_autocommit(s->db))
        q_run(s, Q_ROLLBACK, &ignored);
    s->in_txn = s->in_read = false;
}

/* ------------------------------------------------------------------ statements */

static uint64_t sql_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

/* Prepare exactly one statement of sql[0..len) in the given mode. */
static int stmt_prepare(struct sq_session *s, enum sq_mode mode, const char *sql, uint32_t len,
                        unsigned flags, sqlite3_stmt **out, struct err *e)
{
    const char *tail = NULL;
    int rc;

    *out = NULL;
    if (!sql || len == 0)
        return err_set(e, ERR_INVALID, "empty statement");
    if (len > SQ_MAX_SQL)
        return err_set(e, ERR_LIMIT,
                       "statement of %u bytes exceeds the %u-byte limit of the SQLite backend; "
                       "pass large values as parameters",
                       len, SQ_MAX_SQL);
    if (memchr(sql, '\0', len))
        return err_set(e, ERR_REFUSED, "the statement contains a NUL byte; pass binary data as a "
                                       "parameter");
    s->mode = mode;
    s->denied = false;
    s->volatile_fn = NULL;
    s->saw_datefn = false;
    rc = sqlite3_prepare_v3(s->db, sql, (int)len, flags, out, &tail);
    if (rc != SQLITE_OK) {
        sq_fail(s, rc, e);
        *out = NULL;
        return -1;
    }
    if (!*out)
        return err_set(e, ERR_INVALID, "empty statement");
    if (tail && !only_filler(tail, (size_t)(sql + len - tail))) {
        sqlite3_finalize(*out);
        *out = NULL;
        return err_set(e, ERR_REFUSED,
                       "multi-statement strings are refused by the SQLite backend: send one "
                       "statement per call");
    }
    return 0;
}

/* The prepared statement for sql in mode: from the session's cache (with
 * what the authorizer noticed when it was prepared in s->volatile_fn and
 * s->saw_datefn), or prepared now and cached.  Give it back with
 * stmt_release. */
static int stmt_get(struct sq_session *s, enum sq_mode mode, const char *sql, uint32_t len,
                    sqlite3_stmt **out, struct err *e)
{
    unsigned gen = atomic_load(&s->be->ddl_gen), victim = 0;
    uint64_t h;
    struct sq_cached *c;

    if (gen != s->cache_gen) {
        cursor_close(s);
        cache_clear(s);
        s->cache_gen = gen;
    }
    if (sql && len && len <= SQ_MAX_SQL) {
        h = sql_hash(sql, len);
        for (unsigned i = 0; i < SQ_CACHE_MAX; i++) {
            c = &s->cache[i];
            if (c->sql && c->st == s->cur)
                continue; /* the open cursor's */
            if (c->sql && c->hash == h && c->mode == mode && c->len == len &&
                memcmp(c->sql, sql, len) == 0) {
                c->used = ++s->cache_clock;
                s->mode = mode;
                s->denied = false;
                s->volatile_fn = c->volatile_fn;
                s->saw_datefn = c->saw_datefn;
                *out = c->st;
                return 0;
            }
            if (!c->sql || (s->cache[victim].sql &&
                            (s->cache[victim].st == s->cur || c->used < s->cache[victim].used)))
                victim = i;
        }
    }
    if (stmt_prepare(s, mode, sql, len, SQLITE_PREPARE_PERSISTENT, out, e) < 0)
        return -1;
    c = &s->cache[victim];
    if (c->sql && c->st == s->cur)
        return 0; /* every slot busy: use it uncached (finalized on release) */
    if (c->sql) {
        sqlite3_finalize(c->st);
        free(c->sql);
        memset(c, 0, sizeof *c);
    }
    if (!(c->sql = malloc(len)))
        return 0; /* uncached */
    memcpy(c->sql, sql, len);
    c->len = len;
    c->hash = sql_hash(sql, len);
    c->mode = mode;
    c->st = *out;
    c->volatile_fn = s->volatile_fn;
    c->saw_datefn = s->saw_datefn;
    c->used = ++s->cache_clock;
    return 0;
}

static int stmt_bind(sqlite3_stmt *st, const struct proto_list_value *params, struct err *e)
{
    int want = sqlite3_bind_parameter_count(st), rc = SQLITE_OK;
    uint32_t got = params ? params->n : 0;

    if (want < 0 || (uint32_t)want != got)
        return err_set_sql(e, ERR_INVALID, "07001", 0,
                           "wrong number of parameters: the statement has %d, %u given", want, got);
    for (uint32_t i = 0; i < got; i++) {
        const struct proto_value *v = &params->v[i];
        int k = (int)i + 1;
        switch (v->type) {
        case PV_NULL:
            rc = sqlite3_bind_null(st, k);
            break;
        case PV_INT:
            rc = sqlite3_bind_int64(st, k, v->v.i);
            break;
        case PV_UINT:
            if (v->v.u > (uint64_t)INT64_MAX)
                return err_set_sql(e, ERR_INVALID, "22003", 0,
                                   "parameter %u: the unsigned value %llu is out of range: SQLite "
                                   "integers are signed 64-bit (at most 9223372036854775807)",
                                   k, (unsigned long long)v->v.u);
            rc = sqlite3_bind_int64(st, k, (sqlite3_int64)v->v.u);
            break;
        case PV_DOUBLE:
            rc = sqlite3_bind_double(st, k, v->v.d);
            break;
        case PV_TEXT:
            rc = sqlite3_bind_text64(st, k, v->v.p ? v->v.p : "", v->len, SQLITE_TRANSIENT,
                                     SQLITE_UTF8);
            break;
        case PV_BLOB:
            /* a NULL pointer would bind NULL, not an empty blob */
            rc = sqlite3_bind_blob64(st, k, v->v.p ? (const void *)v->v.p : (const void *)"",
                                     v->len, SQLITE_TRANSIENT);
            break;
        default:
            return err_set(e, ERR_INVALID, "parameter %u: unknown value type %u", k, v->type);
        }
        if (rc != SQLITE_OK) {
            if (rc == SQLITE_TOOBIG)
                return err_set_sql(e, ERR_LIMIT, "22001", rc, "parameter %u: value too large", k);
            return err_set_sql(e, rc == SQLITE_NOMEM ? ERR_NOMEM : ERR_INVALID, "HY000", rc,
                               "parameter %u: %s", k, sqlite3_errstr(rc));
        }
    }
    return 0;
}

static int cell_get(sqlite3_stmt *st, int i, struct proto_value *v, struct err *e)
{
    const void *p;
    int n;
    memset(v, 0, sizeof *v);
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        v->type = PV_INT;
        v->v.i = sqlite3_column_int64(st, i);
        return 0;
    case SQLITE_FLOAT:
        v->type = PV_DOUBLE;
        v->v.d = sqlite3_column_double(st, i);
        return 0;
    case SQLITE_TEXT:
        p = sqlite3_column_text(st, i);
        n = sqlite3_column_bytes(st, i);
        if ((!p && n == 0 && sqlite3_errcode(sqlite3_db_handle(st)) == SQLITE_NOMEM) ||
            proto_value_set_text(v, p ? p : "", p ? (size_t)n : 0) < 0)
            return err_set(e, ERR_NOMEM, "out of memory reading a row");
        return 0;
    case SQLITE_BLOB:
        p = sqlite3_column_blob(st, i);
        n = sqlite3_column_bytes(st, i);
        if (proto_value_set_blob(v, p ? p : "", p ? (size_t)n : 0) < 0)
            return err_set(e, ERR_NOMEM, "out of memory reading a row");
        return 0;
    default:
        v->type = PV_NULL;
        return 0;
    }
}

/* recall_type from a declared column type (SQLite's affinity rules, refined
 * by the usual names); 0 when the name says nothing (infer from values). */
static uint8_t type_from_decl(const char *decl, uint64_t *length, uint32_t *decimals)
{
    char t[64];
    size_t n = 0;
    const char *paren;

    *length = 0;
    *decimals = 0;
    if (!decl)
        return 0;
    paren = strchr(decl, '(');
    for (const char *p = decl; *p && p != paren && n + 1 < sizeof t; p++)
        t[n++] = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p);
    t[n] = '\0';
    if (paren) {
        unsigned long long a = 0, b = 0;
        if (sscanf(paren, "(%llu , %llu", &a, &b) >= 1) {
            *length = a;
            *decimals = (uint32_t)(b > UINT32_MAX ? UINT32_MAX : b);
        }
    }
    if (strstr(t, "BOOL"))
        return RECALL_TYPE_BOOLEAN;
    if (strstr(t, "INT"))
        return RECALL_TYPE_BIGINT; /* SQLite integers are 64-bit */
    if (strstr(t, "DATETIME"))
        return RECALL_TYPE_DATETIME;
    if (strstr(t, "TIMESTAMP"))
        return RECALL_TYPE_TIMESTAMP;
    if (strstr(t, "DATE"))
        return RECALL_TYPE_DATE;
    if (strstr(t, "TIME"))
        return RECALL_TYPE_TIME;
    if (strstr(t, "YEAR"))
        return RECALL_TYPE_YEAR;
    if (strstr(t, "VARCHAR") || strstr(t, "VARYING"))
        return RECALL_TYPE_VARCHAR;
    if (strstr(t, "CHAR"))
        return RECALL_TYPE_CHAR;
    if (strstr(t, "CLOB") || strstr(t, "TEXT"))
        return RECALL_TYPE_TEXT;
    if (strstr(t, "JSON"))
        return RECALL_TYPE_JSON;
    if (strstr(t, "VARBINARY"))
        return RECALL_TYPE_VARBINARY;
    if (strstr(t, "BINARY"))
        return RECALL_TYPE_BINARY;
    if (strstr(t, "BLOB"))
        return RECALL_TYPE_BLOB;
    if (strstr(t, "REAL") || strstr(t, "FLOA") || strstr(t, "DOUB"))
        return RECALL_TYPE_DOUBLE;
    if (strstr(t, "NUMERIC") || strstr(t, "DECIMAL"))
        return RECALL_TYPE_DECIMAL;
    return 0;
}

static uint8_t type_from_value(int sqlite_type)
{
    switch (sqlite_type) {
    case SQLITE_INTEGER:
        return RECALL_TYPE_BIGINT;
    case SQLITE_FLOAT:
        return RECALL_TYPE_DOUBLE;
    case SQLITE_BLOB:
        return RECALL_TYPE_BLOB;
    default:
        return RECALL_TYPE_TEXT;
    }
}

static int pv_to_sqlite_type(uint8_t t)
{
    switch (t) {
    case PV_INT:
    case PV_UINT:
        return SQLITE_INTEGER;
    case PV_DOUBLE:
        return SQLITE_FLOAT;
    case PV_TEXT:
        return SQLITE_TEXT;
    case PV_BLOB:
        return SQLITE_BLOB;
    default:
        return SQLITE_NULL;
    }
}

/* Column metadata of st.  Expression columns (no declared type) take the
 * type of the first row's value: st's current row when s->cur_row, else
 * the first buffered row. */
static int columns_fill(struct sq_session *s, sqlite3_stmt *st, struct proto_list_column *cols,
                        struct err *e)
{
    int n = sqlite3_column_count(st);
    if (n <= 0)
        return 0;
    if (proto_list_column_resize(cols, (uint32_t)n) < 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        struct proto_column *c = &cols->v[i];
        const char *table = sqlite3_column_table_name(st, i);
        const char *dbn = sqlite3_column_database_name(st, i);
        const char *origin = sqlite3_column_origin_name(st, i);
        const char *decl = sqlite3_column_decltype(st, i);
        uint64_t length;
        uint32_t decimals;
        uint8_t type = type_from_decl(decl, &length, &decimals);

        if (proto_str_setz(&c->name, sqlite3_column_name(st, i)) < 0 ||
            proto_str_setz(&c->table, table) < 0 || proto_str_setz(&c->db, dbn) < 0 ||
            proto_str_setz(&c->decl, decl) < 0)
            return err_set(e, ERR_NOMEM, "out of memory");
        if (!type) {
            int vt = SQLITE_NULL;
            if (s->cur_row && s->cur == st)
                vt = sqlite3_column_type(st, i);
            else if (s->rbuf_n >= (uint32_t)n)
                vt = pv_to_sqlite_type(s->rbuf[i].type);
            type = type_from_value(vt);
        }
        c->type = type;
        c->length = length;
        c->decimals = decimals;
        if (table && origin) {
            int notnull = 0, pk = 0, autoinc = 0;
            if (sqlite3_table_column_metadata(s->db, dbn, table, origin, NULL, NULL, &notnull, &pk,
                                              &autoinc) == SQLITE_OK) {
                if (notnull)
                    c->flags |= RECALL_COL_NOT_NULL;
                if (pk)
                    c->flags |= RECALL_COL_PRIMARY_KEY;
                if (autoinc)
                    c->flags |= RECALL_COL_AUTO_INCREMENT;
            }
        }
        if (type == RECALL_TYPE_BLOB || type == RECALL_TYPE_BINARY || type == RECALL_TYPE_VARBINARY)
            c->flags |= RECALL_COL_BINARY;
    }
    return 0;
}

/* Append the current row of st to the RETURNING buffer. */
static int rbuf_append(struct sq_session *s, sqlite3_stmt *st, size_t *bytes, struct err *e)
{
    uint32_t n = (uint32_t)sqlite3_column_count(st);
    if (s->rbuf_n + n > s->rbuf_cap) {
        uint32_t cap = s->rbuf_cap ? s->rbuf_cap * 2 : 64;
        struct proto_value *v;
        while (cap < s->rbuf_n + n)
            cap *= 2;
        if (!(v = realloc(s->rbuf, (size_t)cap * sizeof *v)))
            return err_set(e, ERR_NOMEM, "out of memory");
        s->rbuf = v;
        s->rbuf_cap = cap;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct proto_value *v = &s->rbuf[s->rbuf_n];
        if (cell_get(st, (int)i, v, e) < 0)
            return -1;
        s->rbuf_n++;
        *bytes += 16 + ((v->type == PV_TEXT || v->type == PV_BLOB) ? v->len : 0);
    }
    if (*bytes > SQ_MAX_RETURNING)
        return err_set(e, ERR_LIMIT,
                       "the rows returned by this write exceed %u bytes; return fewer columns "
                       "or rows (RETURNING rows are held in memory until the statement ends)",
                       SQ_MAX_RETURNING);
    return 0;
}

/* The client's statement writes: run it to completion under a savepoint
 * (so that a failure leaves nothing behind, whatever its conflict clause),
 * waiting for the write lock if needed, and describe it for the log. */
static int exec_write(struct sq_session *s, sqlite3_stmt *st, const char *sql, uint32_t len,
                      const struct proto_list_value *params, const struct backend_ctx *ctx,
                      struct backend_result *res, bool *txn_aborted, struct err *e)
{
    struct timespec t0;
    sqlite3_int64 total0, rowid;
    uint64_t affected;
    size_t bytes = 0;
    int rc;

    if (q_run(s, Q_SP, e) < 0)
        return -1;
    mono_now(&t0);
    ctx_set(s, ctx->ts_us, ctx->seed1, ctx->seed2, s->last_rowid);
    for (;;) {
        s->capture = true;
        s->captured = false;
        s->first_rowid = 0;
        sqlite3_set_last_insert_rowid(s->db, 0);
        total0 = sqlite3_total_changes64(s->db);
        s->mode = MODE_EXEC;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            if (rbuf_append(s, st, &bytes, e) < 0)
                break;
        s->capture = false;
        /* A write after reads in this transaction cannot use the busy
         * handler (SQLite keeps the read snapshot): wait here, the same
         * bounded time, for the other writer to finish. */
        if (rc == SQLITE_BUSY && ms_since(&t0) < s->busy.ms && !atomic_load(&s->stop)) {
            sqlite3_reset(st);
            cursor_close(s);
            sleep_ms(2);
            continue;
        }
        break;
    }
    ctx_clear(s);
    if (rc != SQLITE_DONE) {
        if (rc != SQLITE_ROW) /* else rbuf_append set e */
            sq_fail(s, rc, e);
        sqlite3_reset(st); /* no statement may be running at ROLLBACK TO */
        cursor_close(s);
        if (sqlite3_get_autocommit(s->db)) {
            /* SQLite rolled the whole transaction back (OR ROLLBACK, I/O) */
            s->in_txn = false;
            *txn_aborted = true;
        } else if (rc == SQLITE_BUSY_SNAPSHOT) {
            txn_abort(s);
            *txn_aborted = true;
        } else {
            struct err ignored;
            if (q_run(s, Q_SP_ROLLBACK, &ignored) < 0 || q_run(s, Q_SP_RELEASE, &ignored) < 0) {
                txn_abort(s);
                *txn_aborted = true;
            }
        }
        return -1;
    }
    if (q_run(s, Q_SP_RELEASE, e) < 0) {
        cursor_close(s);
        txn_abort(s);
        *txn_aborted = true;
        return -1;
    }
    /* changes() keeps the value of the last INSERT/UPDATE/DELETE: a
     * statement that changed nothing has not moved total_changes() */
    affected = sqlite3_total_changes64(s->db) != total0 ? (uint64_t)sqlite3_changes64(s->db) : 0;
    rowid = sqlite3_last_insert_rowid(s->db);

    res->is_write = true;
    res->affected = affected;
    res->stmt.ts_us = ctx->ts_us;
    res->stmt.seed1 = ctx->seed1;
    res->stmt.seed2 = ctx->seed2;
    res->stmt.insert_id = s->captured ? (uint64_t)s->first_rowid : 0;
    res->stmt.last_insert_id = (uint64_t)s->last_rowid;
    res->stmt.affected = affected;
    res->stmt.result_insert_id = (uint64_t)rowid;
    if (rowid != 0)
        s->last_rowid = rowid;
    s->lir_value = s->last_rowid;
    /* as mysql_insert_id(): the rowid this statement inserted, else 0 */
    res->insert_id = (uint64_t)rowid;
    if (proto_str_set(&res->stmt.sql, sql, len) < 0)
        goto nomem;
    if (params && params->n) {
        if (proto_list_value_resize(&res->stmt.params, params->n) < 0)
            goto nomem;
        for (uint32_t i = 0; i < params->n; i++)
            if (proto_value_copy(&res->stmt.params.v[i], &params->v[i]) < 0)
                goto nomem;
    }
    if (sqlite3_column_count(st) > 0) {
        res->has_rows = true;
        s->ncols = (uint32_t)sqlite3_column_count(st);
        if (columns_fill(s, st, &res->columns, e) < 0)
            goto nomem;
    }
    return 0;
nomem:
    /* the statement ran; the caller cannot log it, so the transaction must go */
    cursor_close(s);
    txn_abort(s);
    *txn_aborted = true;
    return err_set(e, ERR_NOMEM, "out of memory describing the statement for the log");
}

/* A statement that only reads: step to its first row and leave it open for
 * backend_fetch. */
static int run_read(struct sq_session *s, sqlite3_stmt *st, enum sq_mode mode,
                    struct backend_result *res, struct err *e)
{
    int rc;
    s->mode = mode;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sq_fail(s, rc, e);
        stmt_release(s, st, true);
        return -1;
    }
    s->cur = st;
    s->cur_row = rc == SQLITE_ROW;
    s->cur_mode = mode;
    if (sqlite3_column_count(st) > 0) {
        res->has_rows = true;
        s->ncols = (uint32_t)sqlite3_column_count(st);
        if (columns_fill(s, st, &res->columns, e) < 0) {
            cursor_close(s);
            return -1;
        }
    }
    if (!s->cur_row) {
        /* nothing to fetch: release the statement (and its read lock) now */
        stmt_release(s, s->cur, false);
        s->cur = NULL;
    }
    return 0;
}

/* ------------------------------------------------------------------ the database */

static int parse_uint(const char *v, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long x;
    if (!*v || *v == '-' || *v == '+')
        return -1;
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno || *end || x > max)
        return -1;
    *out = x;
    return 0;
}

/* %XX-decode in place; -1 on a malformed escape or a NUL byte. */
static int pct_decode(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '%') {
            unsigned v;
            if (!r[1] || !r[2] || sscanf(r + 1, "%2x", &v) != 1 || v == 0 ||
                !strchr("0123456789abcdefABCDEF", r[1]) || !strchr("0123456789abcdefABCDEF", r[2]))
                return -1;
            *w++ = (char)v;
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return 0;
}

static void be_free(struct sq_backend *be)
{
    if (!be)
        return;
    free(be->path);
    free(be->user);
    if (be->password) {
        memset(be->password, 0, strlen(be->password));
        free(be->password);
    }
    pthread_mutex_destroy(&be->admin_mu);
    pthread_mutex_destroy(&be->mu);
    free(be);
}

/* sqlite:PATH[?user=U&password=P&busy_timeout=MS&client_expiry=S] */
static int parse_dsn(struct sq_backend *be, const char *dsn, struct err *e)
{
    const char *rest = dsn + strlen("sqlite:");
    const char *q = strchr(rest, '?');
    size_t plen = q ? (size_t)(q - rest) : strlen(rest);
    char *query = NULL, *tok, *save = NULL;
    int rc = -1;

    if (plen == 0)
        return err_set(e, ERR_CONFIG, "backend DSN '%.60s' names no file: use sqlite:/path/to/file.db",
                       dsn);
    if (plen >= 5 && strncmp(rest, "file:", 5) == 0)
        return err_set(e, ERR_CONFIG, "backend DSN: give a plain path after 'sqlite:' (not a file: URI)");
    if (!(be->path = strndup(rest, plen)))
        return err_set(e, ERR_NOMEM, "out of memory");
    if (!q)
        return 0;
    if (!(query = strdup(q + 1)))
        return err_set(e, ERR_NOMEM, "out of memory");
    for (tok = strtok_r(query, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '='), *key = tok, *val;
        unsigned long long x;
        if (!eq) {
            err_set(e, ERR_CONFIG, "backend DSN: option '%.40s' has no value (key=value)", tok);
            goto out;
        }
        *eq = '\0';
        val = eq + 1;
        if (pct_decode(val) < 0) {
            err_set(e, ERR_CONFIG, "backend DSN: bad %%-escape in the value of '%.40s'", key);
            goto out;
        }
        if (strcmp(key, "user") == 0 || strcmp(key, "password") == 0) {
            char **dst = key[0] == 'u' ? &be->user : &be->password;
            if (*dst) {
                err_set(e, ERR_CONFIG, "backend DSN: '%s' given twice", key);
                goto out;
            }
            if (!(*dst = strdup(val))) {
                err_set(e, ERR_NOMEM, "out of memory");
                goto out;
            }
        } else if (strcmp(key, "busy_timeout") == 0) {
            if (parse_uint(val, 3600 * 1000, &x) < 0) {
                err_set(e, ERR_CONFIG, "backend DSN: busy_timeout must be milliseconds (0..3600000)");
                goto out;
            }
            be->busy_ms = (int)x;
        } else if (strcmp(key, "client_expiry") == 0) {
            if (parse_uint(val, 10ull * 365 * 86400, &x) < 0 || x == 0) {
                err_set(e, ERR_CONFIG, "backend DSN: client_expiry must be seconds (1..315360000)");
                goto out;
            }
            be->expiry_us = x * 1000000ull;
        } else {
            err_set(e, ERR_CONFIG,
                    "backend DSN: unknown option '%.40s' (known: user, password, busy_timeout, "
                    "client_expiry)",
                    key);
            goto out;
        }
    }
    if (be->password && !be->user) {
        err_set(e, ERR_CONFIG, "backend DSN: a password without a user");
        goto out;
    }
    if (be->user && !be->password && !(be->password = strdup(""))) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (query) {
        memset(query, 0, strlen(query));
        free(query);
    }
    return rc;
}

/* A friendlier message than SQLite's "unable to open database file". */
static int check_dir(const char *path, struct err *e)
{
    char *dir = strdup(path), *slash;
    struct stat sb;
    int rc = 0;
    if (!dir)
        return err_set(e, ERR_NOMEM, "out of memory");
    slash = strrchr(dir, '/');
    if (slash) {
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (stat(dir, &sb) < 0)
            rc = err_set_errno(e, errno, "SQLite database '%s': directory '%s'", path, dir);
        else if (!S_ISDIR(sb.st_mode))
            rc = err_set(e, ERR_CONFIG, "SQLite database '%s': '%s' is not a directory", path, dir);
    }
    free(dir);
    return rc;
}

static struct sq_session *session_new(struct sq_backend *be, struct err *e)
{
    struct sq_session *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->base.ops = &backend_sqlite_ops;
    s->be = be;
    atomic_init(&s->stop, false);
    pthread_mutex_init(&s->mu, NULL);
    if (conn_open(be, s, e) < 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

static void session_free(struct sq_session *s)
{
    conn_close(s);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* The admin connection: Recall's tables, state reads, flush, checksum. */
static int admin_open(struct sq_backend *be, struct err *e)
{
    struct sq_session *a = session_new(be, e);
    if (!a)
        return -1;
    if (conn_exec(a, sq_schema, e) < 0) {
        err_wrap(e, "cannot create Recall's tables in '%s'", be->path);
        if (!sqlite3_get_autocommit(a->db))
            sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
        session_free(a);
        return -1;
    }
    be->admin = a;
    return 0;
}

static struct backend *sq_open(const char *dsn, struct err *e)
{
    struct sq_backend *be = calloc(1, sizeof *be);
    int rc;

    if (!be) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    be->base.ops = &backend_sqlite_ops;
    be->busy_ms = SQ_BUSY_MS_DEFAULT;
    be->expiry_us = (uint64_t)SQ_EXPIRY_S_DEFAULT * 1000000u;
    pthread_mutex_init(&be->admin_mu, NULL);
    pthread_mutex_init(&be->mu, NULL);
    atomic_init(&be->ddl_gen, 0);
    if (parse_dsn(be, dsn, e) < 0 || check_dir(be->path, e) < 0)
        goto fail;
    if ((rc = sqlvfs_register()) != SQLITE_OK) {
        err_set_sql(e, ERR_INTERNAL, "XX000", rc, "cannot register the SQLite clock VFS: %s",
                    sqlite3_errstr(rc));
        goto fail;
    }
    snprintf(be->version, sizeof be->version, "sqlite %s", sqlite3_libversion());
    if (admin_open(be, e) < 0)
        goto fail;
    return (struct backend *)be;
fail:
    be_free(be);
    return NULL;
}

static void sq_close(struct backend *b)
{
    struct sq_backend *be = (struct sq_backend *)b;
    struct sq_session *s;
    if (!be)
        return;
    /* sessions still open are cut off; their handles stay valid for
     * backend_session_close */
    pthread_mutex_lock(&be->mu);
    while ((s = be->sessions)) {
        be->sessions = s->next;
        atomic_store(&s->stop, true);
        pthread_mutex_lock(&s->mu);
        conn_close(s);
        s->be = NULL;
        s->prev = s->next = NULL;
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&be->mu);
    if (be->admin)
        session_free(be->admin);
    be_free(be);
}

static const char *sq_version(const struct backend *b)
{
    return ((const struct sq_backend *)b)->version;
}

/* Lock and return the admin connection, or NULL (e set) while quiesced. */
static struct sq_session *admin_enter(struct sq_backend *be, struct err *e)
{
    pthread_mutex_lock(&be->admin_mu);
    if (!be->admin) {
        pthread_mutex_unlock(&be->admin_mu);
        err_set(e, ERR_NOT_READY, "the SQLite database is quiesced for a state transfer");
        return NULL;
    }
    return be->admin;
}

static void admin_leave(struct sq_backend *be) { pthread_mutex_unlock(&be->admin_mu); }

static int sq_get_state(struct backend *b, struct backend_state *out, struct err *e)
{
    struct sq_backend *be = (struct sq_backend *)b;
    struct sq_session *a = admin_enter(be, e);
    struct sq_state st;
    int rc;
    if (!a)
        return -1;
    rc = read_state(a, &st, e);
    admin_leave(be);
    if (rc == 0) {
        out->applied = st.applied;
        out->cluster = st.cluster;
        out->ddl_pending = st.ddl_pending;
    }
    return rc;
}

static int sq_set_cluster(struct backend *b, uint64_t cluster, struct err *e)
{
    struct sq_backend *be = (struct sq_backend *)b;
    struct sq_session *a = admin_enter(be, e);
    struct sq_state st;
    sqlite3_stmt *up = NULL;
    int rc = -1;

    if (!a)
        return -1;
    if (q_run(a, Q_BEGIN_IMMEDIATE, e) < 0)
        goto out;
    if (read_state(a, &st, e) < 0)
        goto rollback;
    if (st.cluster == cluster) {
        if (q_run(a, Q_COMMIT, e) < 0)
            goto rollback;
        rc = 0;
        goto out;
    }
    if (st.cluster != 0) {
        err_set(e, ERR_CONFIG,
                "the SQLite database '%s' belongs to cluster %016llx, not %016llx: it is another "
                "cluster's replica",
                be->path, (unsigned long long)st.cluster, (unsigned long long)cluster);
        goto rollback;
    }
    if (sqlite3_prepare_v2(a->db, "UPDATE recall_state SET cluster = ?1 WHERE id = 1", -1, &up,
                           NULL) != SQLITE_OK) {
        sq_fail(a, sqlite3_errcode(a->db), e);
        goto rollback;
    }
    sqlite3_bind_int64(up, 1, (sqlite3_int64)cluster);
    if (q_done(a, up, e) < 0 || q_run(a, Q_COMMIT, e) < 0)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    txn_abort(a);
out:
    sqlite3_finalize(up);
    admin_leave(be);
    return rc;
}

static int sq_client_lookup(struct backend *b, const struct proto_id *client,
                            struct backend_client_row *row, bool *found, struct err *e)
{
    struct sq_backend *be = (struct sq_backend *)b;
    struct sq_session *a = admin_enter(be, e);
    sqlite3_stmt *st = NULL;
    int rc;

    *found = false;
    if (!a)
        return -1;
    rc = sqlite3_prepare_v2(a->db,
                            "SELECT req, op, affected, insert_id, ts_us FROM recall_clients "
                            "WHERE client = ?1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, client->b, sizeof client->b, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        row->req = (uint64_t)sqlite3_column_int64(st, 0);
        row->op = (uint64_t)sqlite3_column_int64(st, 1);
        row->affected = (uint64_t)sqlite3_column_int64(st, 2);
        row->insert_id = (uint64_t)sqlite3_column_int64(st, 3);
        row->ts_us = (uint64_t)sqlite3_column_int64(st, 4);
        *found = true;
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = sq_fail(a, rc, e);
    }
    sqlite3_finalize(st);
    admin_leave(be);
    return rc;
}

/* Sync one of the admin connection's open files (database or WAL) through
 * SQLite's own file object: opening the file ourselves and closing it
 * again would drop the process's POSIX locks on it. */
static int sync_file(struct sq_session *a, int op, const char *what, struct err *e)
{
    sqlite3_file *f = NULL;
    int rc = sqlite3_file_control(a->db, "main", op, &f);
    if (rc != SQLITE_OK)
        return sq_fail(a, rc, e);
    if (!f || !f->pMethods)
        return 0; /* not open: nothing of it to sync */
    rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
    if (rc != SQLITE_OK)
        return err_set_sql(e, ERR_IO, "58030", rc, "sync of the %s file: %s", what,
                           sqlite3_errstr(rc));
    return 0;
}

/* Durable without waiting for anyone: on the primary a writer holds the
 * write lock until its entry commits, which the applier (our caller)
 * drives, so a FULL checkpoint would stall both for busy_timeout.  A
 * PASSIVE checkpoint moves what it can into the main file; then both files
 * are synced.  Every frame of the transaction that wrote `applied` is then
 * on disk: still in the WAL (synced now), or copied into the main file
 * before the WAL was reused, which SQLite does only after a complete,
 * synced checkpoint. */
static int sq_flush(struct backend *b, uint64_t *durable, struct err *e)
{
    struct sq_backend *be = (struct sq_backend *)b;
    struct sq_session *a = admin_enter(be, e);
    struct sq_state st;
    int nlog = 0, nckpt = 0, rc;

    if (!a)
        return -1;
    if (read_state(a, &st, e) < 0)
        goto fail;
    rc = sqlite3_wal_checkpoint_v2(a->db, "main", SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        sq_fail(a, rc, e);
        err_wrap(e, "checkpoint");
        goto fail;
    }
    if (sync_file(a, SQLITE_FCNTL_JOURNAL_POINTER, "WAL", e) < 0 ||
        sync_file(a, SQLITE_FCNTL_FILE_POINTER, "database", e) < 0)
        goto fail;
    admin_leave(be);
    *durable = st.applied;
    return 0;
fail:
    admin_leave(be);
    return -1;
}

/* ---- checksums ---- */

struct sq_hash {
    uint32_t crc;
    uint64_t fnv;
    uint64_t rows;
};

static void hash_bytes(struct sq_hash *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    h->crc = crc32c(h->crc, p, n);
    for (size_t i = 0; i < n; i++) {
        h->fnv ^= b[i];
        h->fnv *= 0x100000001B3ull;
    }
}

static void hash_u64(struct sq_hash *h, uint8_t tag, uint64_t v)
{
    unsigned char b[9];
    b[0] = tag;
    for (int i = 0; i < 8; i++)
        b[1 + i] = (unsigned char)(v >> (56 - 8 * i));
    hash_bytes(h, b, sizeof b);
}

static void hash_row(struct sq_hash *h, sqlite3_stmt *st)
{
    int n = sqlite3_column_count(st);
    for (int i = 0; i < n; i++) {
        int t = sqlite3_column_type(st, i);
        switch (t) {
        case SQLITE_INTEGER:
            hash_u64(h, 'i', (uint64_t)sqlite3_column_int64(st, i));
            break;
        case SQLITE_FLOAT: {
            double d = sqlite3_column_double(st, i);
            uint64_t bits;
            memcpy(&bits, &d, sizeof bits);
            hash_u64(h, 'f', bits);
            break;
        }
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
            const void *p = t == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, i)
                                             : sqlite3_column_blob(st, i);
            int len = sqlite3_column_bytes(st, i);
            hash_u64(h, t == SQLITE_TEXT ? 't' : 'b', (uint64_t)len);
            if (p && len > 0)
                hash_bytes(h, p, (size_t)len);
            break;
        }
        default:
            hash_u64(h, 'n', 0);
            break;
        }
    }
    hash_u64(h, 'r', ++h->rows);
}

/* The query that lists a table's rows in a stable order: by rowid, or by
 * the primary key of a WITHOUT ROWID table, or by every column. */
static char *table_query(struct sq_session *a, const char *table)
{
    sqlite3_stmt *st = NULL;
    char *sql = sqlite3_mprintf("SELECT rowid, * FROM main.\"%w\" ORDER BY rowid", table);
    char *order = NULL;

    if (!sql)
        return NULL;
    if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_finalize(st);
        return sql;
    }
    sqlite3_free(sql);
    if (sqlite3_prepare_v2(a->db, "SELECT name, pk FROM pragma_table_info(?1) ORDER BY pk, cid",
                           -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    /* primary key columns first (pk > 0 in key order), then the rest */
    {
        char *pk = NULL, *all = NULL;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *c = (const char *)sqlite3_column_text(st, 0);
            int ispk = sqlite3_column_int(st, 1) > 0;
            char *n;
            if (ispk) {
                n = pk ? sqlite3_mprintf("%z, \"%w\"", pk, c) : sqlite3_mprintf("\"%w\"", c);
                pk = n;
            }
            n = all ? sqlite3_mprintf("%z, \"%w\"", all, c) : sqlite3_mprintf("\"%w\"", c);
            all = n;
        }
        sqlite3_finalize(st);
        if (pk) {
            order = pk;
            sqlite3_free(all);
        } else {
            order = all;
        }
    }
    if (!order)
        return sqlite3_mprintf("SELECT * FROM main.\"%w\"", table);
    sql = sqlite3_mprintf("SELECT * FROM main.\"%w\" ORDER BY %s", table, order);
    sqlite3_free(order);
    return sql;
}

static int hash_table(struct sq_session *a, const char *table, struct sq_hash *h, struct err *e)
{
    char *sql = table_query(a, table);
    sqlite3_stmt *st = NULL;
    int rc;

    memset(h, 0, sizeof *h);
    h->fnv = 0xCBF29CE484222325ull;
    if (!sql)
        return err_set(e, ERR_NOMEM, "out of memory");
    rc = sqlite3_prepare_v2(a->db, sql, -1, &st, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK)
        return sq_fail(a, rc, e);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        hash_row(h, st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sq_fail(a, rc, e);
    return 0;
}

static int sq_checksum(struct backend *b, uint64_t *applied, struct proto_list_kv *sums,
                       struct err *e)
{
    struct sq_backend *be = (struct sq_backend *)b;
    struct sq_session *a = admin_enter(be, e);
    sqlite3_stmt *st = NULL;
    struct sq_state state;
    int rc = -1;

    if (!a)
        return -1;
    proto_list_kv_resize(sums, 0);
    /* one snapshot: BEGIN, then the first read fixes it */
    if (q_run(a, Q_BEGIN, e) < 0)
        goto out;
    if (read_state(a, &state, e) < 0)
        goto out;
    if (sqlite3_prepare_v2(a->db,
                           "SELECT name FROM main.sqlite_schema WHERE type = 'table' "
                           "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                           "AND name NOT LIKE 'recall\\_%' ESCAPE '\\' ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK) {
        sq_fail(a, sqlite3_errcode(a->db), e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        struct sq_hash h;
        char hex[40];
        struct proto_kv *kv;
        if (hash_table(a, name, &h, e) < 0) {
            err_wrap(e, "checksum of table %s", name);
            rc = -1;
            goto out;
        }
        snprintf(hex, sizeof hex, "%08x%016llx", h.crc, (unsigned long long)h.fnv);
        if (proto_list_kv_resize(sums, sums->n + 1) < 0) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto out;
        }
        kv = &sums->v[sums->n - 1];
        if (proto_str_setz(&kv->key, name) < 0 || proto_str_setz(&kv->val, hex) < 0) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        rc = sq_fail(a, rc, e);
        goto out;
    }
    *applied = state.applied;
    rc = 0;
out:
    sqlite3_finalize(st);
    txn_abort(a);
    if (rc < 0)
        proto_list_kv_resize(sums, 0);
    admin_leave(be);
    return rc;
}

/* ---- quiesce / resume ---- */

static int sq_quiesce(struct backend *b, struct err *e)
{
    struct sq_backend *be = (struct sq_backend *)b;
    struct sq_session *s;
    int rc = 0;

    pthread_mutex_lock(&be->admin_mu);
    pthread_mutex_lock(&be->mu);
    if (be->quiesced)
        goto out;
    be->quiesced = true;
    /* wake every session (busy waits and running statements end) ... */
    for (s = be->sessions; s; s = s->next) {
        atomic_store(&s->stop, true);
        if (s->db)
            sqlite3_interrupt(s->db);
    }
    /* ... then close its connection once its current call has returned */
    for (s = be->sessions; s; s = s->next) {
        pthread_mutex_lock(&s->mu);
        conn_close(s);
        pthread_mutex_unlock(&s->mu);
    }
    if (be->admin) {
        int nlog = 0, nckpt = 0, crc;
        crc = sqlite3_wal_checkpoint_v2(be->admin->db, "main", SQLITE_CHECKPOINT_TRUNCATE, &nlog,
                                        &nckpt);
        if (crc != SQLITE_OK) {
            /* closing the last connection checkpoints too; say so but go on */
            sq_fail(be->admin, crc, e);
            err_wrap(e, "quiesce: checkpoint");
            rc = -1;
        }
        session_free(be->admin);
        be->admin = NULL;
    }
out:
    pthread_mutex_unlock(&be->mu);
    pthread_mutex_unlock(&be->admin_mu);
    return rc;
}

static int sq_resume(struct backend *b, struct err *e)
{
    struct sq_backend *be = (struct sq_backend *)b;
    int rc = 0;
    pthread_mutex_lock(&be->admin_mu);
    pthread_mutex_lock(&be->mu);
    if (be->quiesced) {
        rc = admin_open(be, e);
        if (rc == 0)
            be->quiesced = false;
    }
    pthread_mutex_unlock(&be->mu);
    pthread_mutex_unlock(&be->admin_mu);
    return rc;
}

/* ------------------------------------------------------------------ sessions */

static struct backend_session *sq_session_open(struct backend *b, const char *user,
                                               const char *password, const char *database,
                                               struct err *e)
{
    struct sq_backend *be = (struct sq_backend *)b;
    struct sq_session *s;

    (void)database; /* SQLite has one database, "main": the file */
    if (user && be->user) {
        bool ok = secret_eq(user, be->user);
        ok = secret_eq(password ? password : "", be->password) && ok;
        if (!ok) {
            err_set_sql(e, ERR_AUTH, "28000", 0, "access denied for user '%.64s'", user);
            return NULL;
        }
    }
    pthread_mutex_lock(&be->mu);
    if (be->quiesced) {
        pthread_mutex_unlock(&be->mu);
        err_set(e, ERR_NOT_READY, "the SQLite database is quiesced for a state transfer; retry later");
        return NULL;
    }
    pthread_mutex_unlock(&be->mu);
    if (!(s = session_new(be, e)))
        return NULL;
    pthread_mutex_lock(&be->mu);
    if (be->quiesced) { /* quiesced while we opened */
        pthread_mutex_unlock(&be->mu);
        session_free(s);
        err_set(e, ERR_NOT_READY, "the SQLite database is quiesced for a state transfer; retry later");
        return NULL;
    }
    s->next = be->sessions;
    if (be->sessions)
        be->sessions->prev = s;
    be->sessions = s;
    pthread_mutex_unlock(&be->mu);
    return (struct backend_session *)s;
}

static void sq_session_close(struct backend_session *bs)
{
    struct sq_session *s = (struct sq_session *)bs;
    struct sq_backend *be;

    pthread_mutex_lock(&s->mu);
    be = s->be;
    pthread_mutex_unlock(&s->mu);
    if (be) {
        pthread_mutex_lock(&be->mu);
        if (s->prev)
            s->prev->next = s->next;
        else if (be->sessions == s)
            be->sessions = s->next;
        if (s->next)
            s->next->prev = s->prev;
        pthread_mutex_unlock(&be->mu);
    }
    pthread_mutex_lock(&s->mu);
    conn_close(s);
    pthread_mutex_unlock(&s->mu);
    session_free(s);
}

/* Every session call holds s->mu and needs the connection. */
static struct sq_session *enter(struct backend_session *bs, struct err *e)
{
    struct sq_session *s = (struct sq_session *)bs;
    pthread_mutex_lock(&s->mu);
    if (!s->db) {
        pthread_mutex_unlock(&s->mu);
        err_set(e, ERR_CONN_LOST,
                "this backend session was closed when the SQLite database was quiesced for a "
                "state transfer (or closed); open a new session");
        return NULL;
    }
    return s;
}

static void leave(struct sq_session *s) { pthread_mutex_unlock(&s->mu); }

static int sq_begin(struct backend_session *bs, enum backend_iso iso, struct err *e)
{
    struct sq_session *s = enter(bs, e);
    int rc = -1;
    if (!s)
        return -1;
    if (iso != ISO_DEFAULT && iso != ISO_REPEATABLE_READ && iso != ISO_SERIALIZABLE) {
        err_set(e, ERR_INVALID, "unknown isolation level %d", (int)iso);
        goto out;
    }
    if (s->in_txn || s->in_read) {
        err_set(e, ERR_STATE, "a transaction is already open in this session");
        goto out;
    }
    cursor_close(s);
    /* Deferred: readers do not take the write lock; SQLite transactions
     * are serializable at every level we accept. */
    if (q_run(s, Q_BEGIN, e) < 0)
        goto out;
    s->in_txn = true;
    rc = 0;
out:
    leave(s);
    return rc;
}

static const char *txn_kind_name(enum sql_kind k)
{
    switch (k) {
    case SQL_BEGIN: return "BEGIN";
    case SQL_COMMIT: return "COMMIT";
    case SQL_ROLLBACK: return "ROLLBACK";
    case SQL_SAVEPOINT: return "SAVEPOINT";
    case SQL_ROLLBACK_TO: return "ROLLBACK TO";
    case SQL_RELEASE: return "RELEASE";
    case SQL_SET_AUTOCOMMIT: return "SET autocommit";
    case SQL_SET_TRANSACTION: return "SET TRANSACTION";
    default: return NULL;
    }
}

/* What the lexer can already tell about a client statement (shared by exec
 * and read_exec).  Returns 1 to go on, 0 when the statement is a no-op that
 * succeeded, -1 with e set. */
static int classify(const char *sql, uint32_t len, bool read, struct err *e)
{
    struct sql_info info;
    const char *name;

    if (!sql || len == 0)
        return err_set(e, ERR_INVALID, "empty statement");
    if (len > SQ_MAX_SQL)
        return err_set(e, ERR_LIMIT,
                       "statement of %u bytes exceeds the %u-byte limit of the SQLite backend; "
                       "pass large values as parameters",
                       len, SQ_MAX_SQL);
    sqlclass(sql, len, SQL_DIALECT_SQLITE, &info);
    if (info.kind == SQL_OTHER) {
        /* SQLite has no USE; clients and drivers send it anyway */
        struct sql_info my;
        if (sqlclass(sql, len, SQL_DIALECT_MYSQL, &my) == SQL_USE && !my.multi)
            info = my;
    }
    if (info.kind == SQL_EMPTY)
        return err_set(e, ERR_INVALID, "empty statement");
    if ((name = txn_kind_name(info.kind)))
        return err_set(e, ERR_STATE,
                       "%s is transaction control, which Recall handles itself: it is never "
                       "executed as a statement by the backend",
                       name);
    if (info.refusal)
        return err_set(e, ERR_REFUSED, "%s", info.refusal);
    if (info.multi)
        return err_set(e, ERR_REFUSED,
                       "multi-statement strings are refused by the SQLite backend: send one "
                       "statement per call");
    if (info.kind == SQL_DDL)
        return err_set(e, ERR_REFUSED, read ? "not a read: this is DDL"
                                            : "DDL must be sent as a statement of its own: Recall "
                                              "runs it as a replicated barrier outside transactions");
    if (info.kind == SQL_USE) {
        if (!info.name[0] || strcasecmp(info.name, "main") == 0)
            return 0;
        return err_set_sql(e, ERR_SQL, "42000", 0,
                           "USE %s: an SQLite backend has one database, 'main'", info.name);
    }
    if (info.kind == SQL_SET)
        return err_set_sql(e, ERR_SQL, "42000", 0,
                           "SET: SQLite has no session variables (connection settings are fixed "
                           "by Recall so that every replica behaves the same)");
    return 1;
}

static int sq_exec(struct backend_session *bs, const char *sql, uint32_t len,
                   const struct proto_list_value *params, const struct backend_ctx *ctx,
                   struct backend_result *res, bool *txn_aborted, struct err *e)
{
    struct sq_session *s = enter(bs, e);
    sqlite3_stmt *st = NULL;
    int rc = -1, c;

    if (!s)
        return -1;
    cursor_close(s);
    if ((c = classify(sql, len, false, e)) <= 0) {
        rc = c;
        goto out;
    }
    if (ctx && !s->in_txn) {
        err_set(e, ERR_STATE, "no transaction is open: a statement with an execution context runs "
                              "inside backend_begin's transaction");
        goto out;
    }
    if (ctx && s->in_read) {
        err_set(e, ERR_STATE, "the open transaction is a read-only snapshot");
        goto out;
    }
    s->lir_value = s->last_rowid;
    if (stmt_get(s, MODE_EXEC, sql, len, &st, e) < 0)
        goto out;
    if (!sqlite3_stmt_readonly(st)) {
        if (!ctx) {
            err_set(e, ERR_REFUSED, "this statement writes, so it cannot run as a session "
                                    "statement: run it in a transaction");
            goto out;
        }
        if (s->volatile_fn) {
            err_set(e, ERR_REFUSED,
                    "%s() in a write statement depends on this connection's history and would "
                    "differ on other replicas; read it first and pass the value as a parameter",
                    s->volatile_fn);
            goto out;
        }
        if (s->saw_datefn && mentions_tz_modifier(sql, len, params)) {
            err_set(e, ERR_REFUSED, "%s", R_TZ);
            goto out;
        }
        if (stmt_bind(st, params, e) < 0)
            goto out;
        rc = exec_write(s, st, sql, len, params, ctx, res, txn_aborted, e);
        goto out;
    }
    if (stmt_bind(st, params, e) < 0)
        goto out;
    if (ctx)
        ctx_set(s, ctx->ts_us, ctx->seed1, ctx->seed2, s->last_rowid);
    rc = run_read(s, st, MODE_EXEC, res, e);
    st = NULL; /* run_read owns it */
    if (ctx)
        ctx_clear(s);
    if (rc < 0 && s->in_txn && sqlite3_get_autocommit(s->db)) {
        s->in_txn = false;
        *txn_aborted = true;
    }
out:
    stmt_release(s, st, rc < 0);
    s->mode = MODE_INTERNAL;
    leave(s);
    return rc;
}

static int sq_fetch(struct backend_session *bs, uint32_t max_rows, struct proto_list_value *cells,
                    bool *more, struct err *e)
{
    struct sq_session *s = enter(bs, e);
    uint32_t rows = 0;
    int rc = 0;

    *more = false;
    if (!s)
        return -1;
    if (s->rbuf) { /* rows of a write's RETURNING */
        uint32_t avail = (s->rbuf_n - s->rbuf_pos) / (s->ncols ? s->ncols : 1);
        uint32_t take = avail < max_rows ? avail : max_rows, k = take * s->ncols, base = cells->n;
        if (k && proto_list_value_resize(cells, base + k) < 0) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto out;
        }
        memcpy(cells->v + base, s->rbuf + s->rbuf_pos, (size_t)k * sizeof *cells->v);
        s->rbuf_pos += k;
        *more = s->rbuf_pos < s->rbuf_n;
        if (!*more)
            cursor_close(s);
        goto out;
    }
    while (rows < max_rows && s->cur && s->cur_row) {
        uint32_t base = cells->n;
        int src;
        if (proto_list_value_resize(cells, base + s->ncols) < 0) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto out;
        }
        for (uint32_t i = 0; i < s->ncols; i++)
            if (cell_get(s->cur, (int)i, &cells->v[base + i], e) < 0) {
                proto_list_value_resize(cells, base);
                rc = -1;
                goto out;
            }
        rows++;
        s->mode = s->cur_mode;
        src = sqlite3_step(s->cur);
        s->mode = MODE_INTERNAL;
        if (src == SQLITE_ROW)
            continue;
        s->cur_row = false;
        if (src != SQLITE_DONE) {
            rc = sq_fail(s, src, e);
            cursor_close(s);
            if (s->in_txn && sqlite3_get_autocommit(s->db))
                s->in_txn = false;
            goto out;
        }
    }
    *more = s->cur && s->cur_row;
    if (!*more)
        cursor_close(s);
out:
    leave(s);
    return rc;
}

static void sq_fetch_close(struct backend_session *bs)
{
    struct sq_session *s = enter(bs, NULL);
    if (!s)
        return;
    cursor_close(s);
    leave(s);
}

/* SAVEPOINT/ROLLBACK TO/RELEASE with a client's name. */
static int savepoint_stmt(struct backend_session *bs, const char *verb, const char *name,
                          struct err *e)
{
    struct sq_session *s = enter(bs, e);
    char *sql = NULL;
    int rc = -1;

    if (!s)
        return -1;
    if (!s->in_txn) {
        err_set(e, ERR_STATE, "savepoints need an open transaction");
        goto out;
    }
    if (!name || !*name || strlen(name) > 64) {
        err_set(e, ERR_INVALID, "savepoint name must have 1 to 64 bytes");
        goto out;
    }
    if (strncasecmp(name, "recall_", 7) == 0) {
        err_set(e, ERR_INVALID, "savepoint names starting with recall_ are reserved");
        goto out;
    }
    cursor_close(s);
    if (!(sql = sqlite3_mprintf("%s \"%w\"", verb, name))) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = conn_exec(s, sql, e);
    if (rc < 0 && sqlite3_get_autocommit(s->db))
        s->in_txn = false;
out:
    sqlite3_free(sql);
    leave(s);
    return rc;
}

static int sq_savepoint(struct backend_session *bs, const char *name, struct err *e)
{
    return savepoint_stmt(bs, "SAVEPOINT", name, e);
}

static int sq_rollback_to(struct backend_session *bs, const char *name, struct err *e)
{
    return savepoint_stmt(bs, "ROLLBACK TO SAVEPOINT", name, e);
}

static int sq_release(struct backend_session *bs, const char *name, struct err *e)
{
    return savepoint_stmt(bs, "RELEASE SAVEPOINT", name, e);
}

/* Bookkeeping for a BODY_TXN entry from its last statement's results. */
static void book_from_txn(struct sq_book *b, uint64_t op, const struct proto_entry *entry,
                          const struct proto_body *body)
{
    memset(b, 0, sizeof *b);
    b->op = op;
    b->client = &entry->client;
    b->req = entry->req;
    b->ts_us = body->ts_us;
    if (body->kind == BODY_TXN && body->stmts.n) {
        const struct proto_stmt *last = &body->stmts.v[body->stmts.n - 1];
        b->affected = last->affected;
        b->insert_id = last->result_insert_id;
    }
}

static int sq_commit_entry(struct backend_session *bs, uint64_t op, const struct proto_entry *entry,
                           const struct proto_body *body, struct err *e)
{
    struct sq_session *s = enter(bs, e);
    struct sq_state st;
    struct sq_book b;
    int rc = -1;

    if (!s)
        return -1;
    if (!s->in_txn) {
        err_set(e, ERR_STATE, "commit of entry %llu: no transaction is open",
                (unsigned long long)op);
        goto out;
    }
    cursor_close(s);
    if (read_state(s, &st, e) < 0)
        goto fail;
    if (st.applied >= op) {
        err_set(e, ERR_INTERNAL,
                "commit of entry %llu refused: recall_state says op %llu is already applied",
                (unsigned long long)op, (unsigned long long)st.applied);
        goto fail;
    }
    book_from_txn(&b, op, entry, body);
    if (bookkeep(s, &b, e) < 0 || q_run(s, Q_COMMIT, e) < 0)
        goto fail;
    s->in_txn = false;
    rc = 0;
    goto out;
fail:
    txn_abort(s);
out:
    leave(s);
    return rc;
}

static int sq_commit_empty(struct backend_session *bs, struct err *e)
{
    struct sq_session *s = enter(bs, e);
    int rc = 0;
    if (!s)
        return -1;
    cursor_close(s);
    /* Nothing was logged, so nothing may stay: ending with ROLLBACK
     * guarantees the primary keeps no change the log does not have. */
    if (!sqlite3_get_autocommit(s->db))
        rc = q_run(s, Q_ROLLBACK, e);
    if (rc < 0)
        txn_abort(s);
    s->in_txn = s->in_read = false;
    leave(s);
    return rc;
}

static int sq_rollback(struct backend_session *bs, struct err *e)
{
    struct sq_session *s = enter(bs, e);
    int rc = 0;
    if (!s)
        return -1;
    cursor_close(s);
    if (!sqlite3_get_autocommit(s->db))
        rc = q_run(s, Q_ROLLBACK, e);
    s->in_txn = s->in_read = false;
    leave(s);
    return rc;
}

static int sq_read_begin(struct backend_session *bs, uint64_t *applied, struct err *e)
{
    struct sq_session *s = enter(bs, e);
    struct sq_state st;
    int rc = -1;
    if (!s)
        return -1;
    if (s->in_txn || s->in_read) {
        err_set(e, ERR_STATE, "a transaction is already open in this session");
        goto out;
    }
    cursor_close(s);
    /* BEGIN takes no snapshot; the first read does, and everything read
     * until read_end sees that same snapshot (trap 4) */
    if (q_run(s, Q_BEGIN, e) < 0)
        goto out;
    if (applied && read_state(s, &st, e) < 0) {
        txn_abort(s);
        goto out;
    }
    s->in_read = true;
    if (applied)
        *applied = st.applied;
    rc = 0;
out:
    leave(s);
    return rc;
}

static int sq_read_exec(struct backend_session *bs, const char *sql, uint32_t len,
                        const struct proto_list_value *params, struct backend_result *res,
                        struct err *e)
{
    struct sq_session *s = enter(bs, e);
    sqlite3_stmt *st = NULL;
    int rc = -1, c;

    if (!s)
        return -1;
    cursor_close(s);
    if (!s->in_read) {
        err_set(e, ERR_STATE, "no read snapshot is open: backend_read_begin first");
        goto out;
    }
    if ((c = classify(sql, len, true, e)) <= 0) {
        rc = c;
        goto out;
    }
    s->lir_value = s->last_rowid;
    if (stmt_get(s, MODE_READ, sql, len, &st, e) < 0)
        goto out;
    if (!sqlite3_stmt_readonly(st)) {
        err_set_sql(e, ERR_REFUSED, "25006", 0, "not a read: %.*s%s", len > 80 ? 80 : (int)len, sql,
                    len > 80 ? "..." : "");
        goto out;
    }
    if (stmt_bind(st, params, e) < 0)
        goto out;
    rc = run_read(s, st, MODE_READ, res, e);
    st = NULL;
out:
    stmt_release(s, st, rc < 0);
    s->mode = MODE_INTERNAL;
    leave(s);
    return rc;
}

static int sq_read_end(struct backend_session *bs)
{
    struct err e;
    struct sq_session *s = enter(bs, &e);
    int rc = 0;
    if (!s)
        return -1;
    cursor_close(s);
    if (s->in_read) {
        if (!sqlite3_get_autocommit(s->db))
            rc = q_run(s, Q_ROLLBACK, &e);
        s->in_read = false;
    }
    leave(s);
    return rc;
}

/* ---- apply (backups) ---- */

/* Re-execute statement i of an entry.  Returns 0 ran and matched, 1
 * mismatch (rep filled), -1 error worth retrying (e). */
static int apply_stmt(struct sq_session *s, uint32_t i, const struct proto_stmt *ps,
                      struct backend_apply_report *rep, struct err *e)
{
    sqlite3_stmt *st = NULL;
    sqlite3_int64 total0, rowid;
    uint64_t affected, first;
    struct err ee;
    int rc;

    err_clear(&ee);
    if (stmt_get(s, MODE_APPLY, ps->sql.p, ps->sql.len, &st, &ee) < 0 ||
        stmt_bind(st, &ps->params, &ee) < 0) {
        stmt_release(s, st, true);
        if (ee.native && rc_transient(ee.native)) {
            err_copy(e, &ee);
            return -1;
        }
        snprintf(rep->detail, sizeof rep->detail, "stmt %u: cannot run here: %s (the primary ran it)",
                 i + 1, ee.msg);
        return 1;
    }
    ctx_set(s, ps->ts_us, ps->seed1, ps->seed2, (int64_t)ps->last_insert_id);
    s->capture = true;
    s->captured = false;
    s->first_rowid = 0;
    sqlite3_set_last_insert_rowid(s->db, 0);
    total0 = sqlite3_total_changes64(s->db);
    s->mode = MODE_APPLY;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ; /* RETURNING rows: the primary's client had them */
    s->capture = false;
    ctx_clear(s);
    s->mode = MODE_INTERNAL;
    if (rc != SQLITE_DONE) {
        sq_fail(s, rc, &ee);
        stmt_release(s, st, true);
        if (rc_transient(rc)) {
            err_copy(e, &ee);
            return -1;
        }
        snprintf(rep->detail, sizeof rep->detail, "stmt %u: failed here: %s (the primary succeeded)",
                 i + 1, ee.msg);
        return 1;
    }
    stmt_release(s, st, false);
    affected = sqlite3_total_changes64(s->db) != total0 ? (uint64_t)sqlite3_changes64(s->db) : 0;
    rowid = sqlite3_last_insert_rowid(s->db);
    first = s->captured ? (uint64_t)s->first_rowid : 0;
    if (rowid != 0)
        s->last_rowid = rowid;
    if (affected != ps->affected) {
        snprintf(rep->detail, sizeof rep->detail, "stmt %u: affected %llu, primary had %llu", i + 1,
                 (unsigned long long)affected, (unsigned long long)ps->affected);
        return 1;
    }
    if ((uint64_t)rowid != ps->result_insert_id || first != ps->insert_id) {
        snprintf(rep->detail, sizeof rep->detail,
                 "stmt %u: insert ids %lld..%lld, primary had %lld..%lld", i + 1,
                 (long long)first, (long long)rowid, (long long)ps->insert_id,
                 (long long)ps->result_insert_id);
        return 1;
    }
    return 0;
}

static int sq_apply(struct backend_session *bs, uint64_t op, const struct proto_entry *entry,
                    const struct proto_body *body, struct backend_apply_report *rep, struct err *e)
{
    struct sq_session *s = enter(bs, e);
    struct sq_state state;
    struct sq_book b;
    int rc = -1;

    if (!s)
        return -1;
    if (s->in_txn || s->in_read) {
        err_set(e, ERR_STATE, "apply of entry %llu: a transaction is open in the apply session",
                (unsigned long long)op);
        goto out;
    }
    if (body->kind == BODY_DDL) {
        err_set(e, ERR_INVALID, "entry %llu is DDL: it is applied with backend_apply_ddl",
                (unsigned long long)op);
        goto out;
    }
    if (body->kind != BODY_TXN && body->kind != BODY_NOOP && body->kind != BODY_DDL_OUTCOME) {
        err_set(e, ERR_CORRUPT, "entry %llu has unknown kind %u", (unsigned long long)op, body->kind);
        goto out;
    }
    cursor_close(s);
    /* IMMEDIATE: the apply session writes; taking the lock first means it
     * never has to upgrade a stale read snapshot */
    if (body->kind != BODY_TXN && is_zero_id(&entry->client)) {
        /* An entry of recalld's own (NOOP, DDL outcome) changes no data.
         * On the primary a client transaction may hold SQLite's single
         * write lock while it waits for its own, later entry to commit,
         * which waits for this one: do not wait for the lock.  If it is
         * taken, recall_state.applied stays one entry behind until that
         * later entry's commit records a higher op (after a crash this
         * entry is simply applied again). */
        int keep = s->busy.ms;
        s->busy.ms = 0;
        rc = q_run(s, Q_BEGIN_IMMEDIATE, e);
        s->busy.ms = keep;
        if (rc < 0) {
            if ((e->native & 0xff) == SQLITE_BUSY && !atomic_load(&s->stop)) {
                err_clear(e);
                rc = 0;
            }
            goto out;
        }
        rc = -1;
    } else if (q_run(s, Q_BEGIN_IMMEDIATE, e) < 0) {
        goto out;
    }
    s->in_txn = true;
    if (read_state(s, &state, e) < 0)
        goto fail;
    if (state.applied >= op) { /* delivered again: already in the database */
        txn_abort(s);
        rc = 0;
        goto out;
    }
    if (body->kind == BODY_TXN) {
        for (uint32_t i = 0; i < body->stmts.n; i++) {
            int r = apply_stmt(s, i, &body->stmts.v[i], rep, e);
            if (r < 0)
                goto fail;
            if (r > 0) {
                rep->mismatch = true;
                txn_abort(s);
                rc = 0;
                goto out;
            }
        }
    }
    book_from_txn(&b, op, entry, body);
    if (bookkeep(s, &b, e) < 0 || q_run(s, Q_COMMIT, e) < 0)
        goto fail;
    s->in_txn = false;
    rc = 0;
    goto out;
fail:
    txn_abort(s);
out:
    leave(s);
    return rc;
}

/* Several committed transactions in one write transaction, each with the
 * bookkeeping applying it alone would write (recall_state.applied and the
 * client rows are prepared statements: cheap), one COMMIT. */
static int sq_apply_batch(struct backend_session *bs, const struct backend_apply_item *items, uint32_t n,
                          struct backend_apply_report *rep, struct err *e)
{
    struct sq_session *s = enter(bs, e);
    struct sq_state state;
    struct sq_book b;
    int rc = -1;

    if (!s)
        return -1;
    if (s->in_txn || s->in_read) {
        err_set(e, ERR_STATE, "apply of entries %llu..: a transaction is open in the apply session",
                (unsigned long long)items[0].op);
        goto out;
    }
    cursor_close(s);
    if (q_run(s, Q_BEGIN_IMMEDIATE, e) < 0)
        goto out;
    s->in_txn = true;
    if (read_state(s, &state, e) < 0)
        goto fail;
    for (uint32_t k = 0; k < n; k++) {
        const struct backend_apply_item *it = &items[k];
        if (it->op <= state.applied)
            continue; /* delivered again: already in the database */
        for (uint32_t i = 0; i < it->body->stmts.n; i++) {
            int r = apply_stmt(s, i, &it->body->stmts.v[i], rep, e);
            if (r < 0)
                goto fail;
            if (r > 0) {
                char d[sizeof rep->detail];
                snprintf(d, sizeof d, "op %llu %s", (unsigned long long)it->op, rep->detail);
                memcpy(rep->detail, d, sizeof d);
                rep->mismatch = true;
                txn_abort(s);
                rc = 0;
                goto out;
            }
        }
        book_from_txn(&b, it->op, it->entry, it->body);
        if (bookkeep(s, &b, e) < 0)
            goto fail;
    }
    if (q_run(s, Q_COMMIT, e) < 0)
        goto fail;
    s->in_txn = false;
    rc = 0;
    goto out;
fail:
    txn_abort(s);
out:
    leave(s);
    return rc;
}

/* ---- DDL ---- */

/* Run one DDL statement and its bookkeeping in one transaction.
 * outcome == NULL: the primary's execution (exec_ddl): a failure is
 * recorded (applied still advances) and returned in e.  outcome != NULL: a
 * backup's (apply_ddl): skipped when the primary failed; a failure here
 * when the primary succeeded is a mismatch. */
static int run_ddl(struct sq_session *s, uint64_t op, const struct proto_entry *entry,
                   const struct proto_stmt *ps, const struct proto_body *outcome,
                   struct backend_apply_report *rep, struct err *e)
{
    struct sq_state state;
    struct sq_book b;
    struct err de;
    sqlite3_stmt *st = NULL;
    bool skip = outcome && outcome->code != 0;
    int code;

    if (s->in_txn || s->in_read)
        return err_set(e, ERR_STATE, "DDL at op %llu: a transaction is open in this session",
                       (unsigned long long)op);
    if (!ps)
        return err_set(e, ERR_INVALID, "DDL entry %llu has no statement", (unsigned long long)op);
    cursor_close(s);
    if (q_run(s, Q_BEGIN_IMMEDIATE, e) < 0)
        return -1;
    s->in_txn = true;
    if (read_state(s, &state, e) < 0)
        goto fail;
    if (state.applied >= op) {
        /* done before (a repeated call): answer as then */
        txn_abort(s);
        if (!outcome && state.ddl_op == op && state.ddl_code != 0) {
            enum err_code was = state.ddl_code > 0 && state.ddl_code < ERR__COUNT
                                    ? (enum err_code)state.ddl_code
                                    : ERR_SQL;
            err_set(e, was, "%s", state.ddl_msg);
            snprintf(e->sqlstate, sizeof e->sqlstate, "%s", state.ddl_sqlstate);
            return -1;
        }
        return 0;
    }
    memset(&b, 0, sizeof b);
    b.op = op;
    b.client = &entry->client;
    b.req = entry->req;
    b.ts_us = ps->ts_us; /* the same on every replica: the logged statement's */
    err_clear(&de);

    if (!skip) {
        struct sql_info info;
        sqlclass(ps->sql.p, ps->sql.len, SQL_DIALECT_SQLITE, &info);
        if (q_run(s, Q_SP, e) < 0)
            goto fail;
        if (info.refusal)
            err_set(&de, ERR_REFUSED, "%s", info.refusal);
        else if (info.kind != SQL_DDL)
            err_set(&de, ERR_REFUSED, "not a DDL statement (%s)", sqlclass_kind_name(info.kind));
        else if (mentions_datefn_text(ps->sql.p, ps->sql.len) &&
                 mentions_tz_modifier(ps->sql.p, ps->sql.len, &ps->params))
            err_set(&de, ERR_REFUSED, "%s", R_TZ);
        else if (stmt_prepare(s, MODE_DDL, ps->sql.p, ps->sql.len, 0, &st, &de) == 0 &&
                 stmt_bind(st, &ps->params, &de) == 0) {
            int src;
            ctx_set(s, ps->ts_us, ps->seed1, ps->seed2, (int64_t)ps->last_insert_id);
            s->mode = MODE_DDL;
            while ((src = sqlite3_step(st)) == SQLITE_ROW)
                ;
            ctx_clear(s);
            s->mode = MODE_INTERNAL;
            if (src != SQLITE_DONE)
                sq_fail(s, src, &de);
        }
        sqlite3_finalize(st);
        st = NULL;
        if (de.code != ERR_OK) {
            if (sqlite3_get_autocommit(s->db) || (de.native && rc_transient(de.native))) {
                /* nothing can be recorded, or it may work later */
                txn_abort(s);
                err_copy(e, &de);
                return -1;
            }
            if (outcome) {
                txn_abort(s);
                rep->mismatch = true;
                snprintf(rep->detail, sizeof rep->detail,
                         "DDL at op %llu failed here: %s (the primary succeeded)",
                         (unsigned long long)op, de.msg);
                return 0;
            }
            if (q_run(s, Q_SP_ROLLBACK, e) < 0)
                goto fail;
        }
        if (q_run(s, Q_SP_RELEASE, e) < 0)
            goto fail;
    }
    code = skip ? (int)outcome->code : (int)de.code;
    if (bookkeep(s, &b, e) < 0 ||
        set_ddl_outcome(s, op, code, skip ? outcome->sqlstate.p : de.sqlstate,
                        skip ? outcome->msg.p : de.msg, e) < 0 ||
        q_run(s, Q_COMMIT, e) < 0)
        goto fail;
    s->in_txn = false;
    /* the schema changed: every session's cached statements may be stale */
    if (!skip)
        atomic_fetch_add(&s->be->ddl_gen, 1);
    if (de.code != ERR_OK) {
        err_copy(e, &de);
        return -1;
    }
    return 0;
fail:
    txn_abort(s);
    return -1;
}

/* SQLite has no session environment that changes a statement's meaning
 * (the connection settings are pinned), so the record is the statement
 * and its context. */
static int sq_describe(struct backend_session *s, const char *sql, uint32_t len,
                       const struct proto_list_value *params, const struct backend_ctx *ctx,
                       struct proto_stmt *out, struct err *e)
{
    (void)s;
    if (proto_str_set(&out->sql, sql, len) < 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (params && params->n) {
        if (proto_list_value_resize(&out->params, params->n) < 0)
            return err_set(e, ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; i < params->n; i++)
            if (proto_value_copy(&out->params.v[i], &params->v[i]) < 0)
                return err_set(e, ERR_NOMEM, "out of memory");
    }
    out->ts_us = ctx->ts_us;
    out->seed1 = ctx->seed1;
    out->seed2 = ctx->seed2;
    return 0;
}

static int sq_exec_ddl(struct backend_session *bs, uint64_t op, const struct proto_entry *entry,
                       const struct proto_stmt *stmt, struct err *e)
{
    struct sq_session *s = enter(bs, e);
    struct backend_apply_report unused;
    int rc;
    if (!s)
        return -1;
    memset(&unused, 0, sizeof unused);
    rc = run_ddl(s, op, entry, stmt, NULL, &unused, e);
    leave(s);
    return rc;
}

static int sq_apply_ddl(struct backend_session *bs, uint64_t op, const struct proto_entry *entry,
                        const struct proto_body *body, const struct proto_body *outcome,
                        struct backend_apply_report *rep, struct err *e)
{
    struct sq_session *s = enter(bs, e);
    int rc;
    if (!s)
        return -1;
    if (body->kind != BODY_DDL || body->stmts.n != 1) {
        leave(s);
        return err_set(e, ERR_CORRUPT, "entry %llu is not a DDL entry with one statement",
                       (unsigned long long)op);
    }
    if (!outcome || outcome->kind != BODY_DDL_OUTCOME || outcome->ref_op != op) {
        leave(s);
        return err_set(e, ERR_INVALID, "DDL entry %llu needs its outcome entry",
                       (unsigned long long)op);
    }
    rc = run_ddl(s, op, entry, &body->stmts.v[0], outcome, rep, e);
    leave(s);
    return rc;
}

const struct backend_ops backend_sqlite_ops = {
    .kind = "sqlite",
    .scheme = "sqlite:",
    .open = sq_open,
    .close = sq_close,
    .version = sq_version,
    .get_state = sq_get_state,
    .set_cluster = sq_set_cluster,
    .client_lookup = sq_client_lookup,
    .flush = sq_flush,
    .quiesce = sq_quiesce,
    .resume = sq_resume,
    .checksum = sq_checksum,
    .session_open = sq_session_open,
    .session_close = sq_session_close,
    .begin = sq_begin,
    .exec = sq_exec,
    .fetch = sq_fetch,
    .fetch_close = sq_fetch_close,
    .savepoint = sq_savepoint,
    .rollback_to = sq_rollback_to,
    .release = sq_release,
    .commit_entry = sq_commit_entry,
    .commit_empty = sq_commit_empty,
    .rollback = sq_rollback,
    .read_begin = sq_read_begin,
    .read_exec = sq_read_exec,
    .read_end = sq_read_end,
    .apply = sq_apply,
    .apply_batch = sq_apply_batch,
    .exec_ddl = sq_exec_ddl,
    .describe = sq_describe,
    .apply_ddl = sq_apply_ddl,
};
