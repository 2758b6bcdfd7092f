/* The MySQL/MariaDB backend (libmariadb or libmysqlclient) behind
 * server/backend.h.
 *
 * Happy path of a write on the primary: the client's session (opened with
 * the client's own credentials, autocommit off, so a transaction starts with
 * its first statement and costs no round trip) SETs the statement's
 * timestamp and RAND() seeds, takes a savepoint (not before the first
 * statement of a transaction: a ROLLBACK undoes that one), runs the statement
 * (server-side prepared when it has parameters), and if the server attached
 * warnings looks for 1592 "unsafe for statement-based logging" -- then it
 * rolls back to the savepoint and refuses (DESIGN.md section 3, trap 9).
 * The statement, its parameters, context, session environment and results
 * become the proto_stmt recalld logs.  At commit, one CALL of Recall's
 * definer-rights procedure writes recall_state/recall_clients in the same
 * transaction, then COMMIT.  Backups replay entries in one apply session
 * (replication account) that SETs each statement's full context first and
 * compares affected rows and insert ids; reads run in READ ONLY consistent
 * snapshots that read recall_state.applied first (trap 4).  DDL is
 * non-transactional: a durable marker in recall.recall_ddl brackets it.
 * Statements with parameters stay prepared per session (a cache keyed by
 * their text), and a read snapshot's COMMIT is sent without waiting for it,
 * so a read costs two round trips (one for an autocommit read, whose
 * applied op recalld takes from memory) and an autocommit write four.
 *
 * Failure modes: a lost connection makes the session unusable (its
 * transaction is gone: ERR_CONN_LOST, *txn_aborted); a deadlock rolls the
 * transaction back (ERR_DEADLOCK, 40001); a lock wait timeout rolls back the
 * statement only (unless innodb_rollback_on_timeout); server errors keep the
 * server's SQLSTATE and errno.  A server without the settings Recall needs
 * is refused at open with a message naming the setting.  Details and the
 * reasoning: docs/BACKEND-MYSQL.md.
 */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "backend-internal.h"
#include "mysql_util.h"
#include "sqlclass.h"

#ifdef MARIADB_PACKAGE_VERSION_ID
typedef my_bool bmy_bool;
#else
typedef bool bmy_bool;
#endif

#define BMY_SAVEPOINT "`__recall_stmt`"
#define BMY_PROC "recall.recall_commit_v1"
/* v2: the token is part of its body and it COMMITs itself: a client
 * session's commit is one statement (v1 and a COMMIT where v2 is not
 * granted). */
#define BMY_PROC2 "recall.recall_commit_v2"
/* recall_clients rows older than client_expiry are deleted at every op
 * divisible by this (deterministic: op numbers and timestamps are logged). */
#define BMY_EXPIRE_EVERY 64
#define BMY_FLUSH_WAIT_MS 5000
#define BMY_DDL_TRIES 4
#define BMY_INLINE 256 /* bytes per column fetched without a second call */
/* Server-side prepared statements kept per session (statements with
 * parameters: clients, reads, the apply path), least recently used evicted. */
#define BMY_CACHE_MAX 64
#define BMY_PIPE_MAX 8 /* text statements sent in one round trip */

enum bmy_state { BMY_IDLE = 0, BMY_TXN, BMY_READ };

/* The session's transaction access mode (tx_read_only), as far as known:
 * read snapshots run with it on, so each one is a READ ONLY transaction
 * started by its first read; read-write transactions and DDL with it off. */
enum bmy_ro { BMY_RO_UNKNOWN = 0, BMY_RO_ON, BMY_RO_OFF };

/* Validation variables read with the environment (not logged). */
enum { CHK_BINLOG_FORMAT, CHK_SQL_LOG_BIN, CHK_SQL_NOTES, CHK_AUTOCOMMIT, CHK_ISOLATION, CHK__N };

struct bmy_cursor {
    MYSQL_RES *res;            /* text protocol, streaming; owned */
    MYSQL_STMT *stmt;          /* binary protocol, streaming; owned unless cached */
    bool cached;               /* stmt belongs to the session's cache */
    MYSQL_RES *meta;           /* stmt's metadata; owned */
    MYSQL_FIELD *fields;
    unsigned nfields;
    MYSQL_BIND *bind;          /* owned, nfields */
    unsigned long *lengths;    /* owned, nfields */
    bmy_bool *nulls;           /* owned, nfields */
    char *bufs;                /* owned, nfields * BMY_INLINE */
};

/* One prepared statement of the session cache, keyed by its exact text.
 * The server resolves tables, the current database and the parse-time
 * settings at prepare time, so the cache is emptied whenever any of them
 * may change: SET/USE in the session, a change of the apply session's
 * environment, any DDL run through this backend (ddl_gen), a lost or
 * re-authenticated connection; an entry whose execution failed is dropped. */
struct bmy_cached {
    char *sql;                 /* owned; NULL: free slot */
    size_t len;
    uint64_t hash;
    MYSQL_STMT *st;            /* owned */
    uint64_t used;             /* LRU clock */
};

struct backend {
    struct backend_base base;
    struct mysqlu_dsn dsn;            /* owned */
    char version[64];                 /* "mariadb 10.11.19" */
    bool mariadb;
    unsigned long server_version;     /* 101119 */
    const char *iso_var;              /* tx_isolation / transaction_isolation */
    const char *ro_var;               /* tx_read_only / transaction_read_only */
    bool rollback_on_timeout;         /* innodb_rollback_on_timeout */
    char token[33];                   /* this replica's bookkeeping token */
    char *env_sql;                    /* owned: SELECT of the environment */
    size_t env_n;                     /* environment entries (database first) */
    int env_var[32];                  /* entry i (i >= 1) -> mysqlu_env_vars index */
    pthread_mutex_t mu;               /* admin, sessions, quiesced */
    MYSQL *admin;                     /* replication account, autocommit; owned */
    struct backend_session *sessions; /* open sessions (list) */
    bool quiesced;
    atomic_uint ddl_gen;              /* bumped after every DDL: prepared statements may be stale */
};

struct backend_session {
    struct backend_session_base base;
    struct backend *be;
    struct backend_session *prev, *next; /* be->sessions, under be->mu */
    MYSQL *conn;                /* owned; NULL once the session is lost */
    unsigned long thread_id;    /* server connection id (KILL) */
    atomic_bool stale;          /* killed by quiesce */
    atomic_bool reading;        /* holds a read snapshot: DDL may kill it */
    char lost[256];             /* why the session is unusable */
    bool apply;                 /* the replication account's session */
    char *user, *password;      /* owned (COM_CHANGE_USER on apply) */
    enum bmy_state state;
    unsigned stmts;             /* statements in the open transaction */
    bool serializable;          /* session isolation is SERIALIZABLE, else RR */
    bool ts_pinned;             /* @@timestamp set by a write */
    bool short_lock_wait;       /* lock_wait_timeout lowered for reads */
    enum bmy_ro ro;             /* tx_read_only */
    bool env_valid;
    struct proto_list_kv env;   /* owned: database + variables */
    char chk[CHK__N][24];       /* validation values */
    bool commit_v2;             /* may call BMY_PROC2 */
    bool lid_valid;             /* lid is the session's LAST_INSERT_ID() */
    uint64_t lid;
    struct bmy_cursor cur;
    struct bmy_cached cache[BMY_CACHE_MAX];
    uint64_t cache_clock;
    unsigned cache_gen;         /* be->ddl_gen the cache is valid for */
    unsigned pending;           /* answers of statements sent ahead, still unread */
};

struct bmy_ok {
    uint64_t affected, insert_id;
    unsigned warnings;
    const char *info; /* borrowed from the connection, may be NULL */
};

static pthread_once_t bmy_once = PTHREAD_ONCE_INIT;
static void bmy_lib_init(void)
{
    mysql_library_init(0, NULL, NULL);
}

/* ---------------------------------------------------------------- errors */

static bool conn_gone(unsigned no)
{
    switch (no) {
    case 2002: case 2003: case 2006: case 2013: case 2014: case 2020: case 2026: case 2055:
    case 1053: /* server shutdown in progress */
    case 1153: /* packet too large: the server closes the connection */
    case 1158: case 1159: case 1160: case 1161: /* network errors */
    case 1184: /* aborted new connection */
    case 1927: /* connection killed */
    case 4031: /* disconnected by the server (idle) */
        return true;
    default:
        return false;
    }
}

static void cursor_free(struct bmy_cursor *c)
{
    if (c->res)
        mysql_free_result(c->res);
    if (c->meta)
        mysql_free_result(c->meta);
    if (c->stmt) {
        if (c->cached)
            mysql_stmt_free_result(c->stmt); /* drains unread rows; stays prepared */
        else
            mysql_stmt_close(c->stmt);
    }
    free(c->bind);
    free(c->lengths);
    free(c->nulls);
    free(c->bufs);
    memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------- statement cache */

static uint64_t sql_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

static void cache_slot_free(struct bmy_cached *c)
{
    if (c->st)
        mysql_stmt_close(c->st); /* COM_STMT_CLOSE has no answer: no round trip */
    free(c->sql);
    memset(c, 0, sizeof *c);
}

/* Forget every prepared statement (the open cursor must not use one). */
static void cache_clear(struct backend_session *s)
{
    assert(!s->cur.cached);
    for (unsigned i = 0; i < BMY_CACHE_MAX; i++)
        if (s->cache[i].sql)
            cache_slot_free(&s->cache[i]);
}

/* Drop one statement (after its execution failed: it may be stale). */
static void cache_drop(struct backend_session *s, MYSQL_STMT *st)
{
    for (unsigned i = 0; i < BMY_CACHE_MAX; i++)
        if (s->cache[i].sql && s->cache[i].st == st) {
            cache_slot_free(&s->cache[i]);
            return;
        }
}

static void session_lose(struct backend_session *s, const char *why);
static int fail_stmt(struct backend_session *s, MYSQL_STMT *st, bool *aborted, struct err *e);
static int nomem(struct err *e);

/* The prepared statement for sql: from the cache, or prepared now (one
 * round trip) and cached.  NULL on failure (e; the session may be lost). */
static MYSQL_STMT *cache_get(struct backend_session *s, const char *sql, size_t len, bool *aborted,
                             struct err *e)
{
    unsigned gen = atomic_load(&s->be->ddl_gen), victim = 0;
    uint64_t h = sql_hash(sql, len);
    struct bmy_cached *c;
    MYSQL_STMT *st;

    if (gen != s->cache_gen) {
        cache_clear(s);
        s->cache_gen = gen;
    }
    for (unsigned i = 0; i < BMY_CACHE_MAX; i++) {
        c = &s->cache[i];
        if (c->sql && c->hash == h && c->len == len && memcmp(c->sql, sql, len) == 0) {
            c->used = ++s->cache_clock;
            return c->st;
        }
        if (!c->sql || (s->cache[victim].sql && c->used < s->cache[victim].used))
            victim = i;
    }
    if (!(st = mysql_stmt_init(s->conn))) {
        nomem(e);
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, (unsigned long)len)) {
        fail_stmt(s, st, aborted, e);
        mysql_stmt_close(st); /* also after a lost connection: the handle is ours */
        return NULL;
    }
    c = &s->cache[victim];
    if (c->sql)
        cache_slot_free(c);
    if (!(c->sql = malloc(len ? len : 1))) {
        mysql_stmt_close(st);
        nomem(e);
        return NULL;
    }
    memcpy(c->sql, sql, len);
    c->len = len;
    c->hash = h;
    c->st = st;
    c->used = ++s->cache_clock;
    return st;
}

/* Run a cached prepared statement that returns no rows with these
 * parameters (one round trip, no parsing). */
static int stmt_run(struct backend_session *s, const char *sql, size_t len, MYSQL_BIND *params,
                    bool *aborted, struct err *e)
{
    MYSQL_STMT *st = cache_get(s, sql, len, aborted, e);
    if (!st)
        return -1;
    if (mysql_stmt_bind_param(st, params) || mysql_stmt_execute(st)) {
        fail_stmt(s, st, aborted, e);
        if (s->conn)
            cache_drop(s, st);
        return -1;
    }
    if (mysql_stmt_field_count(st) > 0)
        mysql_stmt_free_result(st);
    return 0;
}

/* The execution context as parameters of a prepared SET: the timestamp as
 * exact decimal text (a double would round the microseconds), the seeds,
 * insert ids and pseudo_thread_id as unsigned integers (vals[0..n)). */
static void ctx_binds(MYSQL_BIND *b, char *ts, unsigned long *ts_len, uint64_t ts_us,
                      unsigned long long *vals, unsigned n)
{
    memset(b, 0, sizeof *b * (n + 1));
    *ts_len = (unsigned long)sprintf(ts, "%" PRIu64 ".%06u", ts_us / 1000000u, (unsigned)(ts_us % 1000000u));
    b[0].buffer_type = MYSQL_TYPE_NEWDECIMAL;
    b[0].buffer = ts;
    b[0].buffer_length = *ts_len;
    b[0].length = ts_len;
    for (unsigned i = 0; i < n; i++) {
        b[i + 1].buffer_type = MYSQL_TYPE_LONGLONG;
        b[i + 1].buffer = &vals[i];
        b[i + 1].is_unsigned = 1;
    }
}

/* The session cannot be used again: its transaction is gone. */
static void session_lose(struct backend_session *s, const char *why)
{
    cursor_free(&s->cur);
    cache_clear(s);
    s->pending = 0;
    if (s->conn) {
        mysql_close(s->conn);
        s->conn = NULL;
    }
    if (!s->lost[0])
        snprintf(s->lost, sizeof s->lost, "%s", why);
    s->state = BMY_IDLE;
    s->stmts = 0;
    atomic_store(&s->reading, false);
}

/* Map a server/client error into e.  Returns -1. */
static int fail_with(struct backend_session *s, unsigned no, const char *state, const char *msg,
                     bool *aborted, struct err *e)
{
    enum err_code code = ERR_SQL;
    bool abort = false;
    char text[ERR_MSG_MAX];

    snprintf(text, sizeof text, "%s", msg && *msg ? msg : "unknown error");
    if (!state || strlen(state) != 5)
        state = "HY000";
    if (conn_gone(no)) {
        code = ERR_CONN_LOST;
        abort = true;
        if (s)
            session_lose(s, text);
        state = "08S01";
    } else if (no == 1213) {
        code = ERR_DEADLOCK;
        abort = true;
        state = "40001";
        if (s)
            s->stmts = 0;
    } else if (no == 1205) {
        code = ERR_TIMEOUT;
        abort = s && s->be->rollback_on_timeout;
        if (s && abort)
            s->stmts = 0;
    } else if (no == 1045) {
        code = ERR_AUTH;
    } else if (no == 1812 || no == 1814 || no == 1877 || no == 126 || no == 127 || no == 145 ||
               (no == 1030 && (strstr(text, "Tablespace") || strstr(text, "orrupt")))) {
        /* the replica's own files are damaged (a missing or discarded
         * tablespace, a corrupt table): not the statement's fault; the
         * replica repairs itself (recalld acts on ERR_CORRUPT) */
        code = ERR_CORRUPT;
        state = "XX001";
    }
    if (aborted)
        *aborted = abort;
    return err_set_sql(e, code, state, (int)no, "%s", text);
}

static int fail_conn(struct backend_session *s, MYSQL *m, bool *aborted, struct err *e)
{
    return fail_with(s, mysql_errno(m), mysql_sqlstate(m), mysql_error(m), aborted, e);
}

static int fail_stmt(struct backend_session *s, MYSQL_STMT *st, bool *aborted, struct err *e)
{
    return fail_with(s, mysql_stmt_errno(st), mysql_stmt_sqlstate(st), mysql_stmt_error(st),
                     aborted, e);
}

static int nomem(struct err *e)
{
    return err_set(e, ERR_NOMEM, "out of memory");
}

/* ---------------------------------------------------------------- connections */

static MYSQL *connect_as(struct backend *be, const char *user, const char *password,
                         const char *db, struct err *e)
{
    const struct mysqlu_dsn *d = &be->dsn;
    unsigned ct = d->connect_timeout, rt = d->read_timeout, wt = d->write_timeout;
    unsigned local_infile = 0;
    MYSQL *m;

    pthread_once(&bmy_once, bmy_lib_init);
    if (!(m = mysql_init(NULL))) {
        nomem(e);
        return NULL;
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &wt);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &local_infile);
    if (d->socket) {
        unsigned proto = MYSQL_PROTOCOL_SOCKET;
        mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    }
    /* CLIENT_MULTI_STATEMENTS stays off; CALL needs multi-results */
    if (!mysql_real_connect(m, d->socket ? "localhost" : d->host, user, password, db, d->port,
                            d->socket, CLIENT_MULTI_RESULTS)) {
        unsigned no = mysql_errno(m);
        const char *where = d->socket ? d->socket : d->host;
        if (no == 1045 || no == 1044 || no == 1698)
            err_set_sql(e, ERR_AUTH, no == 1044 ? "42000" : "28000", (int)no, "%s", mysql_error(m));
        else if (no == 1049)
            err_set_sql(e, ERR_SQL, mysql_sqlstate(m), (int)no, "%s", mysql_error(m));
        else
            err_set_sql(e, ERR_CONNECT, "08001", (int)no, "cannot connect to MySQL at %s: %s",
                        where ? where : "?", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* Run a statement on m and discard any result.  No session: errors only
 * mapped (the admin connection is reconnected by the caller). */
static int raw_query(MYSQL *m, const char *sql, struct err *e)
{
    MYSQL_RES *r;
    if (mysql_real_query(m, sql, strlen(sql)))
        return fail_with(NULL, mysql_errno(m), mysql_sqlstate(m), mysql_error(m), NULL, e);
    do {
        if ((r = mysql_store_result(m)))
            mysql_free_result(r);
        else if (mysql_field_count(m) > 0)
            return fail_with(NULL, mysql_errno(m), mysql_sqlstate(m), mysql_error(m), NULL, e);
    } while (mysql_next_result(m) == 0);
    if (mysql_errno(m))
        return fail_with(NULL, mysql_errno(m), mysql_sqlstate(m), mysql_error(m), NULL, e);
    return 0;
}

/* Run a query returning rows; the caller frees the stored result. */
static MYSQL_RES *raw_select(MYSQL *m, const char *sql, struct err *e)
{
    MYSQL_RES *r;
    if (mysql_real_query(m, sql, strlen(sql))) {
        fail_with(NULL, mysql_errno(m), mysql_sqlstate(m), mysql_error(m), NULL, e);
        return NULL;
    }
    if (!(r = mysql_store_result(m))) {
        if (mysql_errno(m))
            fail_with(NULL, mysql_errno(m), mysql_sqlstate(m), mysql_error(m), NULL, e);
        else
            err_set(e, ERR_INTERNAL, "query returned no result set: %.100s", sql);
        return NULL;
    }
    return r;
}

/* First column of the first row as an unsigned number. */
static int raw_u64(MYSQL *m, const char *sql, uint64_t *out, bool *found, struct err *e)
{
    MYSQL_RES *r = raw_select(m, sql, e);
    MYSQL_ROW row;
    if (!r)
        return -1;
    row = mysql_fetch_row(r);
    *found = row && row[0];
    *out = *found ? strtoull(row[0], NULL, 10) : 0;
    mysql_free_result(r);
    return 0;
}

/* ---- the admin connection: replication account, autocommit, be->mu held ---- */

static int admin_ensure(struct backend *be, struct err *e)
{
    if (be->quiesced)
        return err_set(e, ERR_NOT_READY, "the backend is quiesced for a state transfer");
    if (be->admin)
        return 0;
    be->admin = connect_as(be, be->dsn.user, be->dsn.password, NULL, e);
    if (!be->admin)
        return err_wrap(e, "replication account");
    /* checksums and markers read TIMESTAMPs in UTC on every replica */
    if (raw_query(be->admin, "SET @@session.time_zone='+00:00', @@session.autocommit=1", e) < 0) {
        mysql_close(be->admin);
        be->admin = NULL;
        return -1;
    }
    return 0;
}

/* After an admin error: drop a dead connection so the next call reconnects. */
static int admin_failed(struct backend *be, struct err *e)
{
    if (be->admin && (conn_gone((unsigned)e->native) || e->code == ERR_CONN_LOST)) {
        mysql_close(be->admin);
        be->admin = NULL;
    }
    return -1;
}

static int admin_query(struct backend *be, const char *sql, struct err *e)
{
    if (admin_ensure(be, e) < 0)
        return -1;
    if (raw_query(be->admin, sql, e) < 0)
        return admin_failed(be, e);
    return 0;
}

static int admin_u64(struct backend *be, const char *sql, uint64_t *out, struct err *e)
{
    bool found;
    if (admin_ensure(be, e) < 0)
        return -1;
    if (raw_u64(be->admin, sql, out, &found, e) < 0)
        return admin_failed(be, e);
    if (!found)
        return err_set(e, ERR_CORRUPT, "Recall's bookkeeping row is missing: %.80s", sql);
    return 0;
}

/* Escape into a new string for a '...' literal on the admin connection. */
static char *admin_escape(struct backend *be, const char *p, size_t n)
{
    char *out = malloc(2 * n + 1);
    if (out)
        mysql_real_escape_string(be->admin, out, p, (unsigned long)n);
    return out;
}

/* ---------------------------------------------------------------- durability */

static int lsn_status(struct backend *be, uint64_t *current, uint64_t *flushed, struct err *e)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    *current = *flushed = 0;
    r = raw_select(be->admin,
                   "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                   "WHERE VARIABLE_NAME IN ('INNODB_LSN_CURRENT', 'INNODB_LSN_FLUSHED')", e);
    if (!r)
        return admin_failed(be, e);
    while ((row = mysql_fetch_row(r))) {
        if (!row[0] || !row[1])
            continue;
        if (strcasecmp(row[0], "INNODB_LSN_CURRENT") == 0)
            *current = strtoull(row[1], NULL, 10);
        else if (strcasecmp(row[0], "INNODB_LSN_FLUSHED") == 0)
            *flushed = strtoull(row[1], NULL, 10);
    }
    mysql_free_result(r);
    if (*current == 0)
        return err_set(e, ERR_INTERNAL, "InnoDB does not report Innodb_lsn_current");
    return 0;
}

/* Make every transaction committed so far durable in the InnoDB redo log
 * (be->mu held).  With innodb_flush_log_at_trx_commit=2 a commit only
 * writes the log to the OS; MariaDB's FLUSH ENGINE LOGS then writes but does
 * not fsync, so: raise the setting to 1 for the FLUSH (which then syncs),
 * restore it, and verify with Innodb_lsn_flushed; failing that (no
 * privilege), wait for InnoDB's once-a-second background sync. */
static int flush_redo(struct backend *be, struct err *e)
{
    uint64_t target, cur, flushed, orig = 2;
    struct timespec ts = {0, 20 * 1000 * 1000};

    if (admin_ensure(be, e) < 0)
        return -1;
    if (!be->mariadb) /* MySQL: FLUSH LOGS syncs the redo log */
        return admin_query(be, "FLUSH LOCAL ENGINE LOGS", e);
    if (lsn_status(be, &target, &flushed, e) < 0)
        return -1;
    if (flushed >= target)
        return 0;
    if (admin_u64(be, "SELECT @@global.innodb_flush_log_at_trx_commit", &orig, e) == 0 && orig != 1) {
        char sql[96];
        struct err ig;
        if (admin_query(be, "SET GLOBAL innodb_flush_log_at_trx_commit=1", &ig) == 0) {
            admin_query(be, "FLUSH LOCAL ENGINE LOGS", &ig);
            snprintf(sql, sizeof sql, "SET GLOBAL innodb_flush_log_at_trx_commit=%" PRIu64, orig);
            if (admin_query(be, sql, e) < 0)
                return err_wrap(e, "restoring innodb_flush_log_at_trx_commit");
        }
    }
    for (int waited = 0;; waited += 20) {
        if (admin_ensure(be, e) < 0 || lsn_status(be, &cur, &flushed, e) < 0)
            return -1;
        if (flushed >= target)
            return 0;
        if (waited >= BMY_FLUSH_WAIT_MS)
            return err_set(e, ERR_IO, "InnoDB redo log not durable after %d ms (flushed LSN %" PRIu64
                           " < %" PRIu64 ")", BMY_FLUSH_WAIT_MS, flushed, target);
        nanosleep(&ts, NULL);
    }
}

/* ---------------------------------------------------------------- bookkeeping */

static void hex16(const uint8_t *b, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[32] = '\0';
}

static bool id_zero(const struct proto_id *id)
{
    for (int i = 0; i < 16; i++)
        if (id->b[i])
            return false;
    return true;
}

/* The arguments of the bookkeeping procedures for entry `op`: token, op,
 * client, req, affected, insert id, timestamp, expiry cut-off. */
static void bk_args(const struct backend *be, char *out, size_t cap, uint64_t op,
                    const struct proto_entry *entry, const struct proto_body *body)
{
    char client[40] = "NULL";
    uint64_t req = entry ? entry->req : 0, affected = 0, insert_id = 0, ts = 0, expire = 0;
    uint64_t ttl = (uint64_t)be->dsn.client_expiry * 1000000u;

    if (entry && !id_zero(&entry->client)) {
        client[0] = 'X';
        client[1] = '\'';
        hex16(entry->client.b, client + 2);
        strcat(client, "'");
    }
    if (body) {
        ts = body->ts_us;
        if (body->stmts.n) {
            affected = body->stmts.v[body->stmts.n - 1].affected;
            insert_id = body->stmts.v[body->stmts.n - 1].result_insert_id;
        }
    }
    if (op % BMY_EXPIRE_EVERY == 0 && ts > ttl)
        expire = ts - ttl;
    snprintf(out, cap, "'%s', %" PRIu64 ", %s, %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64
             ", %" PRIu64, be->token, op, client, req, affected, insert_id, ts, expire);
}

/* The CALL that records entry `op` (and, with clear_ddl, ends a DDL). */
static void bk_call(const struct backend *be, char *sql, size_t cap, uint64_t op,
                    const struct proto_entry *entry, const struct proto_body *body, bool clear_ddl)
{
    char args[256];
    bk_args(be, args, sizeof args, op, entry, body);
    snprintf(sql, cap, "CALL " BMY_PROC "(%s, %d)", args, clear_ddl ? 1 : 0);
}

/* The v2 CALL that records entry `op` and commits. */
static void bk_call2(const struct backend *be, char *sql, size_t cap, uint64_t op,
                     const struct proto_entry *entry, const struct proto_body *body)
{
    char args[256];
    bk_args(be, args, sizeof args, op, entry, body);
    snprintf(sql, cap, "CALL " BMY_PROC2 "(%s)", args);
}

/* ---------------------------------------------------------------- sessions: basics */

/* Read the answers of statements sent ahead (a read snapshot's COMMIT sent
 * without waiting).  Only a lost connection is an error: those statements
 * end read-only snapshots and change nothing. */
static int pending_drain(struct backend_session *s, struct err *e)
{
    while (s->pending && s->conn) {
        MYSQL_RES *r;
        s->pending--;
        if (mysql_read_query_result(s->conn)) {
            unsigned no = mysql_errno(s->conn);
            if (conn_gone(no))
                return fail_conn(s, s->conn, NULL, e);
            continue;
        }
        if ((r = mysql_store_result(s->conn)))
            mysql_free_result(r);
    }
    return 0;
}

static int alive(struct backend_session *s, struct err *e)
{
    if (atomic_load(&s->stale) && s->conn)
        session_lose(s, "the backend was quiesced for a state transfer");
    if (s->conn && s->pending && pending_drain(s, e) < 0)
        return -1;
    if (!s->conn)
        return err_set(e, ERR_CONN_LOST, "backend session lost: %s", s->lost);
    return 0;
}

/* Send up to BMY_PIPE_MAX text statements at once and read their answers in
 * order: one round trip instead of n.  Every answer is read; the first
 * error is returned (-1, e).  Rows of the last statement are left in
 * *last_rows (stored) when asked, rows of the others are discarded.  Only
 * for statements whose failure the caller undoes (the server runs each one
 * whatever happened to those before it). */
static int sq_pipeline(struct backend_session *s, const char *const *sqls, const size_t *lens, unsigned n,
                       MYSQL_RES **last_rows, bool *aborted, struct err *e)
{
    unsigned sent = 0;
    int rc = 0;

    assert(n > 0 && n <= BMY_PIPE_MAX);
    if (last_rows)
        *last_rows = NULL;
    if (s->pending && pending_drain(s, e) < 0)
        return -1;
    for (; sent < n; sent++)
        if (mysql_send_query(s->conn, sqls[sent], (unsigned long)lens[sent]))
            break;
    if (sent < n && sent == 0)
        return fail_conn(s, s->conn, aborted, e);
    for (unsigned i = 0; i < sent && s->conn; i++) {
        MYSQL_RES *r = NULL;
        if (mysql_read_query_result(s->conn)) {
            bool ab = false;
            if (rc == 0)
                rc = fail_conn(s, s->conn, &ab, e);
            else
                fail_conn(s, s->conn, NULL, NULL); /* the first error stands */
            if (aborted && ab)
                *aborted = true;
            continue;
        }
        if (mysql_field_count(s->conn) > 0 && !(r = mysql_store_result(s->conn))) {
            if (rc == 0)
                rc = fail_conn(s, s->conn, aborted, e);
            continue;
        }
        if (r && last_rows && i == n - 1 && rc == 0)
            *last_rows = r;
        else if (r)
            mysql_free_result(r);
    }
    if (rc == 0 && sent < n)
        rc = fail_conn(s, s->conn, aborted, e);
    if (rc < 0 && last_rows && *last_rows) {
        mysql_free_result(*last_rows);
        *last_rows = NULL;
    }
    return rc;
}

/* Run a statement on the session, discarding any rows. */
static int sq(struct backend_session *s, const char *sql, size_t len, bool *aborted, struct err *e)
{
    MYSQL_RES *r;
    if (s->pending && pending_drain(s, e) < 0)
        return -1;
    if (mysql_real_query(s->conn, sql, (unsigned long)len))
        return fail_conn(s, s->conn, aborted, e);
    if (mysql_field_count(s->conn) > 0) {
        if (!(r = mysql_store_result(s->conn)))
            return fail_conn(s, s->conn, aborted, e);
        mysql_free_result(r);
    }
    return 0;
}

static int sqz(struct backend_session *s, const char *sql, bool *aborted, struct err *e)
{
    return sq(s, sql, strlen(sql), aborted, e);
}

static bool in_server_txn(const struct backend_session *s)
{
    return s->conn && (s->conn->server_status & SERVER_STATUS_IN_TRANS);
}

/* Close the open result set.  A statement run outside a transaction that
 * left one open (autocommit is off) is committed here, so an idle session
 * never holds a snapshot or metadata locks. */
static void cursor_close(struct backend_session *s)
{
    bool had = s->cur.res || s->cur.stmt;
    cursor_free(&s->cur);
    if (had && s->conn && s->state == BMY_IDLE && in_server_txn(s)) {
        struct err ig;
        sqz(s, "COMMIT", NULL, &ig);
    }
}

static int finish_idle(struct backend_session *s, struct err *e)
{
    if (s->state == BMY_IDLE && in_server_txn(s))
        return sqz(s, "COMMIT", NULL, e);
    return 0;
}

/* ---- the environment ---- */

static int env_read(struct backend_session *s, struct err *e)
{
    struct backend *be = s->be;
    MYSQL_RES *r;
    MYSQL_ROW row;
    unsigned long *len;

    if (mysql_real_query(s->conn, be->env_sql, strlen(be->env_sql)))
        return fail_conn(s, s->conn, NULL, e);
    if (!(r = mysql_store_result(s->conn)))
        return fail_conn(s, s->conn, NULL, e);
    row = mysql_fetch_row(r);
    len = mysql_fetch_lengths(r);
    if (!row || mysql_num_fields(r) != be->env_n + CHK__N) {
        mysql_free_result(r);
        return err_set(e, ERR_INTERNAL, "unexpected answer reading the session environment");
    }
    if (s->env.n != be->env_n && proto_list_kv_resize(&s->env, (uint32_t)be->env_n) < 0) {
        mysql_free_result(r);
        return nomem(e);
    }
    for (size_t i = 0; i < be->env_n; i++) {
        const char *key = i == 0 ? MYSQLU_ENV_DATABASE : mysqlu_env_vars[be->env_var[i]].name;
        if (proto_str_setz(&s->env.v[i].key, key) < 0 ||
            proto_str_set(&s->env.v[i].val, row[i] ? row[i] : "", row[i] ? len[i] : 0) < 0) {
            mysql_free_result(r);
            return nomem(e);
        }
    }
    for (int c = 0; c < CHK__N; c++)
        snprintf(s->chk[c], sizeof s->chk[c], "%s", row[be->env_n + (size_t)c] ? row[be->env_n + (size_t)c] : "");
    mysql_free_result(r);
    s->env_valid = true;
    return 0;
}

/* The session settings a logged write depends on. */
static int env_check(struct backend_session *s, struct err *e)
{
    if (strcasecmp(s->chk[CHK_BINLOG_FORMAT], "STATEMENT") != 0)
        return err_set(e, ERR_REFUSED,
                       "this session runs with binlog_format=%s: Recall needs STATEMENT to detect "
                       "statements that are unsafe to replicate (SET SESSION binlog_format='STATEMENT')",
                       s->chk[CHK_BINLOG_FORMAT]);
    if (strcmp(s->chk[CHK_SQL_LOG_BIN], "1") != 0)
        return err_set(e, ERR_REFUSED,
                       "this session runs with sql_log_bin=0: Recall needs the binary log to detect "
                       "unsafe statements (SET SESSION sql_log_bin=1)");
    if (strcmp(s->chk[CHK_SQL_NOTES], "1") != 0)
        return err_set(e, ERR_REFUSED,
                       "this session runs with sql_notes=0, which hides the server's 'unsafe "
                       "statement' notes Recall relies on (SET SESSION sql_notes=1)");
    if (strcmp(s->chk[CHK_AUTOCOMMIT], "0") != 0)
        return err_set(e, ERR_REFUSED,
                       "autocommit was switched on inside the backend session: Recall commits "
                       "through its log; use the driver's autocommit setting instead");
    if (strcasecmp(s->chk[CHK_ISOLATION], "REPEATABLE-READ") != 0 &&
        strcasecmp(s->chk[CHK_ISOLATION], "SERIALIZABLE") != 0)
        return err_set(e, ERR_REFUSED,
                       "isolation level %s is below REPEATABLE READ: statement-based replication "
                       "needs commit order to be a serialization order", s->chk[CHK_ISOLATION]);
    return 0;
}

/* Replace a cached environment value (after setting it). */
static int env_put(struct backend_session *s, const char *key, const char *val)
{
    for (uint32_t i = 0; i < s->env.n; i++)
        if (strcmp(s->env.v[i].key.p ? s->env.v[i].key.p : "", key) == 0)
            return proto_str_setz(&s->env.v[i].val, val);
    return 0;
}

static const char *env_get(const struct backend_session *s, const char *key)
{
    for (uint32_t i = 0; i < s->env.n; i++)
        if (strcmp(s->env.v[i].key.p ? s->env.v[i].key.p : "", key) == 0)
            return s->env.v[i].val.p ? s->env.v[i].val.p : "";
    return NULL;
}

/* ---- running statements ---- */

static int bind_params(MYSQL_BIND *b, const struct proto_list_value *params, struct err *e)
{
    static char empty[1];
    for (uint32_t i = 0; i < params->n; i++) {
        struct proto_value *v = &params->v[i];
        memset(&b[i], 0, sizeof b[i]);
        switch (v->type) {
        case PV_NULL:
            b[i].buffer_type = MYSQL_TYPE_NULL;
            break;
        case PV_INT:
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = &v->v.i;
            break;
        case PV_UINT:
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = &v->v.u;
            b[i].is_unsigned = 1;
            break;
        case PV_DOUBLE:
            b[i].buffer_type = MYSQL_TYPE_DOUBLE;
            b[i].buffer = &v->v.d;
            break;
        case PV_TEXT:
        case PV_BLOB:
            b[i].buffer_type = v->type == PV_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
            b[i].buffer = v->v.p ? v->v.p : empty;
            b[i].buffer_length = v->len;
            break;
        default:
            return err_set(e, ERR_INVALID, "parameter %u has unknown type %u", i + 1, v->type);
        }
    }
    return 0;
}

static int cursor_bind_stmt(struct backend_session *s, MYSQL_STMT *st, struct err *e)
{
    struct bmy_cursor *c = &s->cur;
    c->stmt = st;
    c->cached = true;
    if (!(c->meta = mysql_stmt_result_metadata(st)))
        return fail_stmt(s, st, NULL, e);
    c->fields = mysql_fetch_fields(c->meta);
    c->nfields = mysql_num_fields(c->meta);
    c->bind = calloc(c->nfields, sizeof *c->bind);
    c->lengths = calloc(c->nfields, sizeof *c->lengths);
    c->nulls = calloc(c->nfields, sizeof *c->nulls);
    c->bufs = malloc((size_t)c->nfields * BMY_INLINE);
    if (!c->bind || !c->lengths || !c->nulls || !c->bufs)
        return nomem(e);
    /* every column as text: the same canonical form as the text protocol */
    for (unsigned i = 0; i < c->nfields; i++) {
        c->bind[i].buffer_type = MYSQL_TYPE_STRING;
        c->bind[i].buffer = c->bufs + (size_t)i * BMY_INLINE;
        c->bind[i].buffer_length = BMY_INLINE;
        c->bind[i].length = &c->lengths[i];
        c->bind[i].is_null = &c->nulls[i];
    }
    if (mysql_stmt_bind_result(st, c->bind))
        return fail_stmt(s, st, NULL, e);
    return 0;
}

/* Execute one statement: text protocol without parameters, server-side
 * prepared with them (the prepared statement is cached: one round trip once
 * it is prepared).  A result set is left open in s->cur (*has_rows);
 * otherwise the OK packet's results are in *ok. */
static int run(struct backend_session *s, const char *sql, size_t len,
               const struct proto_list_value *params, bool *has_rows, struct bmy_ok *ok,
               bool *aborted, struct err *e)
{
    MYSQL_BIND *b = NULL;

    assert(!s->cur.res && !s->cur.stmt);
    *has_rows = false;
    memset(ok, 0, sizeof *ok);
    if (s->pending && pending_drain(s, e) < 0)
        return -1;
    if (!params || params->n == 0) {
        if (mysql_real_query(s->conn, sql, (unsigned long)len))
            return fail_conn(s, s->conn, aborted, e);
        if (mysql_field_count(s->conn) > 0) {
            if (!(s->cur.res = mysql_use_result(s->conn)))
                return fail_conn(s, s->conn, aborted, e);
            s->cur.fields = mysql_fetch_fields(s->cur.res);
            s->cur.nfields = mysql_num_fields(s->cur.res);
            *has_rows = true;
            return 0;
        }
        ok->affected = mysql_affected_rows(s->conn);
        ok->insert_id = mysql_insert_id(s->conn);
        ok->warnings = mysql_warning_count(s->conn);
        ok->info = mysql_info(s->conn);
        return 0;
    }
    if (!(b = calloc(params->n, sizeof *b)))
        return nomem(e);
    if (bind_params(b, params, e) < 0) {
        free(b);
        return -1;
    }
    for (int attempt = 0;; attempt++) {
        MYSQL_STMT *st = cache_get(s, sql, len, aborted, e);
        if (!st) {
            free(b);
            return -1;
        }
        if (mysql_stmt_param_count(st) != params->n) {
            free(b);
            return err_set(e, ERR_INVALID, "the statement has %lu parameter markers but %u parameters were given",
                           mysql_stmt_param_count(st), params->n);
        }
        if (mysql_stmt_bind_param(st, b) == 0 && mysql_stmt_execute(st) == 0) {
            free(b);
            if (mysql_stmt_field_count(st) > 0) {
                *has_rows = true;
                if (cursor_bind_stmt(s, st, e) < 0) {
                    cursor_free(&s->cur);
                    cache_drop(s, st);
                    return -1;
                }
                return 0;
            }
            ok->affected = mysql_stmt_affected_rows(st);
            ok->insert_id = mysql_stmt_insert_id(st);
            ok->warnings = s->conn ? mysql_warning_count(s->conn) : 0;
            return 0;
        }
        /* CR_NEW_STMT_METADATA: a result set of another shape than the
         * prepared one (the table changed); only statements with result
         * sets get here (writes returning rows are never kept), so running
         * it again, freshly prepared, repeats a read */
        if (mysql_stmt_errno(st) == 2057 && attempt == 0) {
            cache_drop(s, st);
            continue;
        }
        fail_stmt(s, st, aborted, e);
        if (s->conn)
            cache_drop(s, st); /* it may be stale; prepare it afresh next time */
        free(b);
        return -1;
    }
}

static int fill_columns(struct backend_session *s, struct backend_result *res, struct err *e)
{
    if (proto_list_column_resize(&res->columns, s->cur.nfields) < 0)
        return nomem(e);
    for (unsigned i = 0; i < s->cur.nfields; i++)
        if (mysqlu_column(&s->cur.fields[i], &res->columns.v[i]) < 0)
            return nomem(e);
    res->has_rows = true;
    return 0;
}

static void fill_ok(struct backend_result *res, const struct bmy_ok *ok)
{
    res->affected = ok->affected;
    res->insert_id = ok->insert_id;
    res->warnings = ok->warnings;
    if (ok->info && *ok->info)
        proto_str_setz(&res->info, ok->info);
}

/* SHOW WARNINGS after a write: 1 if the server flagged it unsafe for
 * statement-based logging (its reason in why), 0 if not, -1 on error. */
static int unsafe_check(struct backend_session *s, unsigned count, char *why, size_t cap,
                        bool *aborted, struct err *e)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    unsigned seen = 0;
    int unsafe = 0;

    if (mysql_real_query(s->conn, "SHOW WARNINGS", 13) || !(r = mysql_store_result(s->conn)))
        return fail_conn(s, s->conn, aborted, e);
    while ((row = mysql_fetch_row(r))) {
        seen++;
        if (row[1] && strcmp(row[1], "1592") == 0 && !unsafe) {
            const char *m = row[2] ? row[2] : "";
            const char *reason = strstr(m, "BINLOG_FORMAT = STATEMENT. ");
            snprintf(why, cap, "%s", reason ? reason + 27 : m);
            unsafe = 1;
        }
    }
    mysql_free_result(r);
    if (!unsafe && seen < count) {
        /* some were dropped (max_error_count): the note may be among them */
        snprintf(why, cap, "the statement raised %u warnings, more than can be inspected", count);
        unsafe = 1;
    }
    return unsafe;
}

/* Undo the statement just run (savepoint, or the whole transaction when it
 * was the first statement). */
static int undo_stmt(struct backend_session *s, bool first, bool *aborted, struct err *e)
{
    if (first) {
        s->stmts = 0;
        return sqz(s, "ROLLBACK", aborted, e);
    }
    return sqz(s, "ROLLBACK TO SAVEPOINT " BMY_SAVEPOINT, aborted, e);
}

static bool mentions_lid(const char *sql, size_t len)
{
    return mysqlu_mentions(sql, len, "last_insert_id") || mysqlu_mentions(sql, len, "identity");
}

/* Statements that read the diagnostics area: they must run right after the
 * statement whose warnings they show, without a SET in between. */
static bool reads_diagnostics(const char *sql, size_t len)
{
    while (len && (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r'))
        sql++, len--;
    return (len >= 13 && strncasecmp(sql, "SHOW WARNINGS", 13) == 0) ||
           (len >= 11 && strncasecmp(sql, "SHOW ERRORS", 11) == 0) ||
           (len >= 10 && strncasecmp(sql, "SHOW COUNT", 10) == 0) ||
           (len >= 15 && strncasecmp(sql, "GET DIAGNOSTICS", 15) == 0) ||
           mysqlu_mentions(sql, len, "warning_count") || mysqlu_mentions(sql, len, "error_count");
}

static int lid_read(struct backend_session *s, bool *aborted, struct err *e)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    if (mysql_real_query(s->conn, "SELECT LAST_INSERT_ID()", 23) || !(r = mysql_store_result(s->conn)))
        return fail_conn(s, s->conn, aborted, e);
    row = mysql_fetch_row(r);
    s->lid = row && row[0] ? strtoull(row[0], NULL, 10) : 0;
    s->lid_valid = true;
    mysql_free_result(r);
    return 0;
}

static int stmt_record(struct backend_session *s, struct proto_stmt *st, const char *sql, size_t len,
                       const struct proto_list_value *params, const struct backend_ctx *ctx,
                       const struct bmy_ok *ok, uint64_t lid_before)
{
    if (proto_str_set(&st->sql, sql, len) < 0)
        return -1;
    if (params && params->n) {
        if (proto_list_value_resize(&st->params, params->n) < 0)
            return -1;
        for (uint32_t i = 0; i < params->n; i++)
            if (proto_value_copy(&st->params.v[i], &params->v[i]) < 0)
                return -1;
    }
    st->ts_us = ctx->ts_us;
    st->seed1 = ctx->seed1;
    st->seed2 = ctx->seed2;
    /* INSERT_ID: the first value the statement generated (what the server
     * reports for an INSERT that generated one); replayed with SET
     * insert_id, which a statement that generates nothing leaves unused */
    st->insert_id = ok->insert_id;
    st->last_insert_id = lid_before;
    if (proto_list_kv_resize(&st->env, s->env.n) < 0)
        return -1;
    for (uint32_t i = 0; i < s->env.n; i++)
        if (proto_str_set(&st->env.v[i].key, s->env.v[i].key.p, s->env.v[i].key.len) < 0 ||
            proto_str_set(&st->env.v[i].val, s->env.v[i].val.p, s->env.v[i].val.len) < 0)
            return -1;
    st->affected = ok->affected;
    st->result_insert_id = ok->insert_id;
    return 0;
}

/* ---------------------------------------------------------------- exec */

static int exec_write(struct backend_session *s, const char *sql, size_t len,
                      const struct proto_list_value *params, const struct backend_ctx *ctx,
                      struct backend_result *res, bool *aborted, struct err *e)
{
    char set[256], why[400];
    struct bmy_ok ok;
    bool has_rows, first, lid_mention = mentions_lid(sql, len);
    uint64_t lid_before;
    int n, unsafe;

    if (!s->env_valid && env_read(s, e) < 0)
        return -1;
    if (env_check(s, e) < 0)
        return -1;
    if (lid_mention && !s->lid_valid && lid_read(s, aborted, e) < 0)
        return -1;
    lid_before = s->lid_valid ? s->lid : 0;
    first = s->stmts == 0 && !in_server_txn(s);

    /* trap 8: the context is set before the statement runs: by a prepared
     * SET when nothing else changes (a transaction's first statement), else
     * as text, with the savepoint of a later statement in the same round
     * trip */
    if (first && !s->short_lock_wait && s->ro == BMY_RO_OFF) {
        static const char pset[] = "SET @@session.timestamp=?, @@session.rand_seed1=?, @@session.rand_seed2=?";
        MYSQL_BIND b[3];
        char ts[32];
        unsigned long ts_len;
        unsigned long long v[2] = {ctx->seed1, ctx->seed2};
        ctx_binds(b, ts, &ts_len, ctx->ts_us, v, 2);
        if (stmt_run(s, pset, sizeof pset - 1, b, aborted, e) < 0)
            return -1;
        s->ts_pinned = true;
        goto run_it;
    }
    n = snprintf(set, sizeof set,
                 "SET @@session.timestamp=%" PRIu64 ".%06u, @@session.rand_seed1=%" PRIu64
                 ", @@session.rand_seed2=%" PRIu64 "%s%s%s%s",
                 ctx->ts_us / 1000000u, (unsigned)(ctx->ts_us % 1000000u), ctx->seed1, ctx->seed2,
                 s->short_lock_wait ? ", @@session.lock_wait_timeout=DEFAULT" : "",
                 s->ro != BMY_RO_OFF ? ", @@session." : "", s->ro != BMY_RO_OFF ? s->be->ro_var : "",
                 s->ro != BMY_RO_OFF ? "=0" : "");
    {
        /* later statements of a transaction get a savepoint, in the same
         * round trip (nothing runs if either fails) */
        static const char sp[] = "SAVEPOINT " BMY_SAVEPOINT;
        const char *sqls[2] = {set, sp};
        size_t lens[2] = {(size_t)n, sizeof sp - 1};
        if (sq_pipeline(s, sqls, lens, first ? 1 : 2, NULL, aborted, e) < 0) {
            s->ro = BMY_RO_UNKNOWN;
            return -1;
        }
    }
    s->ts_pinned = true;
    s->short_lock_wait = false;
    s->ro = BMY_RO_OFF;
run_it:
    s->state = BMY_TXN;
    s->stmts++;

    if (run(s, sql, len, params, &has_rows, &ok, aborted, e) < 0)
        return -1;
    if (has_rows) {
        MYSQL_STMT *st = s->cur.cached ? s->cur.stmt : NULL;
        cursor_free(&s->cur);
        if (st)
            cache_drop(s, st); /* its result binding must not meet a later execution */
        if (undo_stmt(s, first, aborted, e) < 0)
            return -1;
        return err_set(e, ERR_REFUSED,
                       "a write statement that returns rows (RETURNING) is not supported with the "
                       "MySQL backend: run a SELECT after it instead");
    }
    if (lid_mention || ok.insert_id)
        s->lid_valid = false; /* LAST_INSERT_ID() may have changed */
    if (ok.warnings > 0) {
        /* trap 9: the server decides what is unsafe */
        if ((unsafe = unsafe_check(s, ok.warnings, why, sizeof why, aborted, e)) < 0)
            return -1;
        if (unsafe) {
            if (undo_stmt(s, first, aborted, e) < 0)
                return -1;
            return err_set_sql(e, ERR_REFUSED, "0A000", 1592,
                               "statement refused: the server says it is unsafe for statement-based "
                               "replication: %s. Rewrite it deterministically (compute the value in "
                               "the application and pass it as a parameter; add ORDER BY on a unique "
                               "key instead of a bare LIMIT)", why);
        }
    }
    res->is_write = true;
    fill_ok(res, &ok);
    if (stmt_record(s, &res->stmt, sql, len, params, ctx, &ok, lid_before) < 0) {
        undo_stmt(s, first, aborted, e);
        return nomem(e);
    }
    return 0;
}

/* Reads, SET/USE and other statements that are not logged. */
static int exec_other(struct backend_session *s, const char *sql, size_t len,
                      const struct proto_list_value *params, bool session_stmt,
                      struct backend_result *res, bool *aborted, struct err *e)
{
    struct bmy_ok ok;
    bool has_rows;

    if (s->ts_pinned && !reads_diagnostics(sql, len)) {
        if (sqz(s, "SET @@session.timestamp=DEFAULT", aborted, e) < 0)
            return -1;
        s->ts_pinned = false;
    }
    if (session_stmt) {
        /* the database, sql_mode or character set are fixed into prepared
         * statements at prepare time; the access mode may change too */
        cursor_free(&s->cur);
        cache_clear(s);
        s->ro = BMY_RO_UNKNOWN;
    }
    if (run(s, sql, len, params, &has_rows, &ok, aborted, e) < 0) {
        if (session_stmt)
            s->env_valid = false;
        return -1;
    }
    if (session_stmt)
        s->env_valid = false;
    if (mentions_lid(sql, len))
        s->lid_valid = false;
    if (s->state == BMY_TXN)
        s->stmts++;
    if (has_rows)
        return fill_columns(s, res, e);
    fill_ok(res, &ok);
    return finish_idle(s, e);
}

static bool starts_with_word(const char *sql, size_t len, const char *w)
{
    size_t n = strlen(w);
    while (len && (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == '('))
        sql++, len--;
    return len >= n && strncasecmp(sql, w, n) == 0 &&
           (len == n || !(isalnum((unsigned char)sql[n]) || sql[n] == '_'));
}

/* SET STATEMENT var=... FOR <statement> (MariaDB) would run any statement
 * unseen. */
static bool is_set_statement(const char *sql, size_t len)
{
    while (len && (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r'))
        sql++, len--;
    if (len < 3 || strncasecmp(sql, "SET", 3) != 0)
        return false;
    sql += 3, len -= 3;
    while (len && (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r'))
        sql++, len--;
    return starts_with_word(sql, len, "STATEMENT");
}

static int classify(const char *sql, uint32_t len, const struct proto_list_value *params,
                    struct sql_info *info, struct err *e)
{
    sqlclass(sql, len, SQL_DIALECT_MYSQL, info);
    if (info->kind == SQL_EMPTY)
        return err_set_sql(e, ERR_SQL, "42000", 1065, "Query was empty");
    if (info->multi)
        return err_set(e, ERR_REFUSED,
                       "multi-statement strings are refused: send one statement per call");
    if (info->kind == SQL_REFUSED || info->refusal)
        return err_set(e, ERR_REFUSED, "%s", info->refusal ? info->refusal : "statement refused");
    if (info->nparams != (int)(params ? params->n : 0))
        return err_set(e, ERR_INVALID, "the statement has %d parameter markers but %u parameters were given",
                       info->nparams, params ? params->n : 0);
    return 0;
}

static int bmy_exec(struct backend_session *s, const char *sql, uint32_t len,
                    const struct proto_list_value *params, const struct backend_ctx *ctx,
                    struct backend_result *res, bool *aborted, struct err *e)
{
    struct sql_info info;

    if (alive(s, e) < 0)
        return -1;
    cursor_close(s);
    if (classify(sql, len, params, &info, e) < 0)
        return -1;
    /* a read-only snapshot admits session statements only (reads go
     * through backend_read_exec) */
    if (s->state == BMY_READ && info.kind != SQL_SET && info.kind != SQL_USE)
        return err_set(e, ERR_STATE, "a read-only snapshot is open on this session: end it first");
    if (is_set_statement(sql, len))
        return err_set(e, ERR_REFUSED,
                       "SET STATEMENT ... FOR is refused: its variables (sql_log_bin, binlog_format, ...) "
                       "could hide what the statement does from Recall; SET the variable, run the "
                       "statement, SET it back");
    switch (info.kind) {
    case SQL_BEGIN:
    case SQL_COMMIT:
    case SQL_ROLLBACK:
    case SQL_SAVEPOINT:
    case SQL_ROLLBACK_TO:
    case SQL_RELEASE:
    case SQL_SET_AUTOCOMMIT:
    case SQL_SET_TRANSACTION:
        return err_set(e, ERR_REFUSED,
                       "transaction control (%s) is handled by recalld, not by the backend",
                       sqlclass_kind_name(info.kind));
    case SQL_DDL:
        return err_set(e, ERR_REFUSED,
                       "DDL is a replication barrier: it runs through backend_exec_ddl");
    case SQL_WRITE:
        if (!ctx)
            return err_set(e, ERR_INVALID, "a write statement needs an execution context");
        return exec_write(s, sql, len, params, ctx, res, aborted, e);
    case SQL_SET:
        return exec_other(s, sql, len, params, true, res, aborted, e);
    case SQL_USE:
        return exec_other(s, sql, len, params, true, res, aborted, e);
    case SQL_READ:
    case SQL_LOCKING_READ:
        return exec_other(s, sql, len, params, false, res, aborted, e);
    case SQL_OTHER:
        if (starts_with_word(sql, len, "HELP") || starts_with_word(sql, len, "CHECKSUM") ||
            starts_with_word(sql, len, "GET"))
            return exec_other(s, sql, len, params, false, res, aborted, e);
        return err_set(e, ERR_REFUSED,
                       "this statement is not supported through Recall (PREPARE/EXECUTE, HANDLER, "
                       "LOCK TABLES, XA, KILL, FLUSH and other administrative statements): run it "
                       "on each replica's server directly if it is administrative");
    default:
        return err_set(e, ERR_REFUSED, "statement refused");
    }
}

/* ---------------------------------------------------------------- fetch */

static int bmy_fetch(struct backend_session *s, uint32_t max_rows, struct proto_list_value *cells,
                     bool *more, struct err *e)
{
    struct bmy_cursor *c = &s->cur;
    uint32_t base = cells->n, used = cells->n, rows = 0;
    int rc = 0;

    *more = false;
    if (alive(s, e) < 0)
        return -1;
    if (!c->res && !c->stmt)
        return 0;
    while (rows < max_rows) {
        if ((size_t)used + c->nfields > UINT32_MAX)
            return err_set(e, ERR_LIMIT, "too many cells in one fetch");
        if (used + c->nfields > cells->n) {
            /* grow geometrically; the unused tail is trimmed below */
            uint32_t want = cells->n - base;
            want = want < 64 * c->nfields ? 64 * c->nfields : want;
            if ((uint64_t)cells->n + want > UINT32_MAX)
                want = UINT32_MAX - cells->n;
            if (proto_list_value_resize(cells, cells->n + want) < 0) {
                rc = nomem(e);
                break;
            }
        }
        if (c->res) {
            MYSQL_ROW row = mysql_fetch_row(c->res);
            unsigned long *len;
            if (!row) {
                if (mysql_errno(s->conn))
                    rc = fail_conn(s, s->conn, NULL, e);
                else
                    cursor_close(s);
                break;
            }
            len = mysql_fetch_lengths(c->res);
            for (unsigned i = 0; i < c->nfields; i++)
                if (mysqlu_cell(&c->fields[i], row[i], row[i] ? len[i] : 0, &cells->v[used + i]) < 0)
                    rc = nomem(e);
        } else {
            int f = mysql_stmt_fetch(c->stmt);
            if (f == MYSQL_NO_DATA) {
                cursor_close(s);
                break;
            }
            if (f == 1) {
                rc = fail_stmt(s, c->stmt, NULL, e);
                break;
            }
            for (unsigned i = 0; i < c->nfields && rc == 0; i++) {
                struct proto_value *v = &cells->v[used + i];
                if (c->nulls[i]) {
                    v->type = PV_NULL;
                } else if (c->lengths[i] <= BMY_INLINE) {
                    if (mysqlu_cell(&c->fields[i], c->bind[i].buffer, c->lengths[i], v) < 0)
                        rc = nomem(e);
                } else {
                    unsigned long got = 0;
                    MYSQL_BIND one;
                    char *big = malloc(c->lengths[i] + 1);
                    if (!big) {
                        rc = nomem(e);
                        break;
                    }
                    memset(&one, 0, sizeof one);
                    one.buffer_type = MYSQL_TYPE_STRING;
                    one.buffer = big;
                    one.buffer_length = c->lengths[i] + 1;
                    one.length = &got;
                    if (mysql_stmt_fetch_column(c->stmt, &one, i, 0))
                        rc = fail_stmt(s, c->stmt, NULL, e);
                    else if (mysqlu_cell(&c->fields[i], big, c->lengths[i], v) < 0)
                        rc = nomem(e);
                    free(big);
                }
            }
        }
        if (rc < 0)
            break;
        used += c->nfields;
        rows++;
    }
    proto_list_value_resize(cells, used);
    if (rc < 0)
        return -1;
    *more = s->cur.res || s->cur.stmt;
    return 0;
}

static void bmy_fetch_close(struct backend_session *s)
{
    if (s->conn)
        cursor_close(s);
}

/* ---------------------------------------------------------------- transactions */

/* Isolation of the next transaction, and read-write access (reads leave
 * the session READ ONLY): one SET, only when something changes. */
static int set_isolation(struct backend_session *s, bool serializable, bool *aborted, struct err *e)
{
    char sql[160];
    bool iso = s->serializable != serializable, rw = s->ro != BMY_RO_OFF;
    if (!iso && !rw)
        return 0;
    snprintf(sql, sizeof sql, "SET %s%s%s%s%s%s%s", iso ? "@@session." : "", iso ? s->be->iso_var : "",
             iso ? (serializable ? "='SERIALIZABLE'" : "='REPEATABLE-READ'") : "", iso && rw ? ", " : "",
             rw ? "@@session." : "", rw ? s->be->ro_var : "", rw ? "=0" : "");
    if (sqz(s, sql, aborted, e) < 0) {
        s->ro = BMY_RO_UNKNOWN;
        return -1;
    }
    if (iso) {
        s->serializable = serializable;
        s->env_valid = false;
    }
    s->ro = BMY_RO_OFF;
    return 0;
}

static int bmy_begin(struct backend_session *s, enum backend_iso iso, struct err *e)
{
    if (alive(s, e) < 0)
        return -1;
    cursor_close(s);
    if (s->state == BMY_READ)
        return err_set(e, ERR_STATE, "a read-only snapshot is open on this session");
    if (s->state == BMY_TXN && (s->stmts || in_server_txn(s)))
        return err_set(e, ERR_STATE, "a transaction is already open on this session");
    if (finish_idle(s, e) < 0 || set_isolation(s, iso == ISO_SERIALIZABLE, NULL, e) < 0)
        return -1;
    /* autocommit is off: the transaction starts with its first statement */
    s->state = BMY_TXN;
    s->stmts = 0;
    return 0;
}

static int name_ok(const char *name, struct err *e)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return err_set(e, ERR_INVALID, "savepoint name must have 1 to 64 characters");
    if (strncmp(name, "__recall", 8) == 0)
        return err_set(e, ERR_INVALID, "savepoint names starting with __recall are reserved");
    return 0;
}

static int savepoint_cmd(struct backend_session *s, const char *verb, const char *name, struct err *e)
{
    struct buf b;
    int rc;
    if (alive(s, e) < 0 || name_ok(name, e) < 0)
        return -1;
    cursor_close(s);
    if (s->state == BMY_READ)
        return err_set(e, ERR_STATE, "savepoints need a read-write transaction");
    buf_init(&b);
    buf_append(&b, verb, strlen(verb));
    mysqlu_quote_ident(&b, name, strlen(name));
    if (b.oom) {
        buf_close(&b);
        return nomem(e);
    }
    rc = sq(s, (const char *)b.data, b.len, NULL, e);
    buf_close(&b);
    if (rc == 0) {
        s->state = BMY_TXN;
        s->stmts++;
    }
    return rc;
}

static int bmy_savepoint(struct backend_session *s, const char *name, struct err *e)
{
    return savepoint_cmd(s, "SAVEPOINT ", name, e);
}

static int bmy_rollback_to(struct backend_session *s, const char *name, struct err *e)
{
    return savepoint_cmd(s, "ROLLBACK TO SAVEPOINT ", name, e);
}

static int bmy_release(struct backend_session *s, const char *name, struct err *e)
{
    return savepoint_cmd(s, "RELEASE SAVEPOINT ", name, e);
}

static void txn_done(struct backend_session *s)
{
    s->state = BMY_IDLE;
    s->stmts = 0;
}

/* Bookkeeping for entry `op` and COMMIT, in a client session's transaction
 * (through the definer-rights procedure: clients cannot write recall.*).
 * With v2 one statement does both; v1 needs its own COMMIT, which must not
 * be sent before the CALL is known to have succeeded. */
static int commit_with_bookkeeping(struct backend_session *s, uint64_t op,
                                   const struct proto_entry *entry, const struct proto_body *body,
                                   struct err *e)
{
    char sql[512];
    if (s->commit_v2)
        bk_call2(s->be, sql, sizeof sql, op, entry, body);
    else
        bk_call(s->be, sql, sizeof sql, op, entry, body, false);
    if (sqz(s, sql, NULL, e) < 0)
        return err_wrap(e, "recording op %" PRIu64 " in recall_state", op);
    if ((!s->commit_v2 || in_server_txn(s)) && sqz(s, "COMMIT", NULL, e) < 0)
        return err_wrap(e, "COMMIT of op %" PRIu64, op);
    txn_done(s);
    return 0;
}

static int bmy_commit_entry(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                            const struct proto_body *body, struct err *e)
{
    if (alive(s, e) < 0)
        return -1;
    cursor_close(s);
    if (s->state == BMY_READ)
        return err_set(e, ERR_STATE, "a read-only snapshot cannot commit an entry");
    return commit_with_bookkeeping(s, op, entry, body, e);
}

static int bmy_commit_empty(struct backend_session *s, struct err *e)
{
    if (alive(s, e) < 0)
        return -1;
    cursor_close(s);
    if (s->state == BMY_READ)
        return err_set(e, ERR_STATE, "use backend_read_end for a read-only snapshot");
    if ((s->stmts || in_server_txn(s)) && sqz(s, "COMMIT", NULL, e) < 0)
        return -1;
    txn_done(s);
    return 0;
}

static int bmy_rollback(struct backend_session *s, struct err *e)
{
    if (alive(s, e) < 0)
        return -1;
    cursor_free(&s->cur);
    if (sqz(s, "ROLLBACK", NULL, e) < 0)
        return -1;
    txn_done(s);
    atomic_store(&s->reading, false);
    return 0;
}

/* ---------------------------------------------------------------- reads */

/* First column of the first row of a cached prepared statement without
 * parameters, as an unsigned number (*found: there was a row). */
static int stmt_u64(struct backend_session *s, const char *sql, size_t len, uint64_t *out, bool *found,
                    struct err *e)
{
    MYSQL_STMT *st = cache_get(s, sql, len, NULL, e);
    unsigned long long v = 0;
    bmy_bool is_null = 0;
    MYSQL_BIND b;
    int f;

    *found = false;
    if (!st)
        return -1;
    if (mysql_stmt_execute(st)) {
        fail_stmt(s, st, NULL, e);
        if (s->conn)
            cache_drop(s, st);
        return -1;
    }
    memset(&b, 0, sizeof b);
    b.buffer_type = MYSQL_TYPE_LONGLONG;
    b.buffer = &v;
    b.is_unsigned = 1;
    b.is_null = &is_null;
    if (mysql_stmt_field_count(st) != 1 || mysql_stmt_bind_result(st, &b)) {
        mysql_stmt_free_result(st);
        cache_drop(s, st);
        return err_set(e, ERR_INTERNAL, "unexpected result shape: %.80s", sql);
    }
    f = mysql_stmt_fetch(st);
    if (f == 1) {
        fail_stmt(s, st, NULL, e);
        if (s->conn) {
            mysql_stmt_free_result(st);
            cache_drop(s, st);
        }
        return -1;
    }
    *found = f == 0 && !is_null;
    *out = v;
    mysql_stmt_free_result(st);
    return 0;
}

/* A read snapshot is a READ ONLY transaction (the session's access mode)
 * that its first read starts: the read of recall_state.applied, so the
 * snapshot's applied op and the rows of the reads after it come from the
 * same InnoDB read view (trap 4).  Steady state: one round trip, a
 * statement prepared once; none when the caller does without `applied`. */
static int bmy_read_begin(struct backend_session *s, uint64_t *applied, struct err *e)
{
    static const char state[] = "SELECT applied FROM recall.recall_state WHERE id = 1";
    char set[256];
    bool found;
    int rc;

    if (alive(s, e) < 0)
        return -1;
    cursor_close(s);
    if (s->state == BMY_TXN && (s->stmts || in_server_txn(s)))
        return err_set(e, ERR_STATE, "a read-write transaction is open on this session");
    if (s->state == BMY_READ)
        return err_set(e, ERR_STATE, "a read-only snapshot is already open");
    /* an idle transaction a statement left open must not lend its older
     * read view */
    if (finish_idle(s, e) < 0)
        return -1;
    /* READ ONLY, consistent reads at REPEATABLE READ (SERIALIZABLE would
     * lock), a short metadata-lock wait so a read cannot hold up the apply,
     * and the real clock: set when the session was doing something else */
    if (s->serializable || !s->short_lock_wait || s->ts_pinned || s->ro != BMY_RO_ON) {
        int n = snprintf(set, sizeof set, "SET @@session.lock_wait_timeout=%u, @@session.%s=1%s%s%s%s",
                         s->be->dsn.read_lock_wait, s->be->ro_var,
                         s->ts_pinned ? ", @@session.timestamp=DEFAULT" : "",
                         s->serializable ? ", @@session." : "", s->serializable ? s->be->iso_var : "",
                         s->serializable ? "='REPEATABLE-READ'" : "");
        if (sq(s, set, (size_t)n, NULL, e) < 0) {
            s->ro = BMY_RO_UNKNOWN;
            s->short_lock_wait = false;
            return err_wrap(e, "opening a read snapshot");
        }
        s->short_lock_wait = true;
        s->ts_pinned = false;
        s->ro = BMY_RO_ON;
        if (s->serializable) {
            s->serializable = false;
            s->env_valid = false;
        }
    }
    s->state = BMY_READ;
    atomic_store(&s->reading, true);
    if (!applied)
        return 0; /* the statement to come starts the snapshot */
    rc = stmt_u64(s, state, sizeof state - 1, applied, &found, e);
    if (rc == 0 && !found)
        rc = err_set(e, ERR_CORRUPT, "recall.recall_state has no row");
    if (rc < 0) {
        if (s->conn) {
            struct err ig;
            sqz(s, "ROLLBACK", NULL, &ig);
        }
        s->state = BMY_IDLE;
        atomic_store(&s->reading, false);
        return err_wrap(e, "reading recall_state in the snapshot");
    }
    return 0;
}

static int bmy_read_exec(struct backend_session *s, const char *sql, uint32_t len,
                         const struct proto_list_value *params, struct backend_result *res,
                         struct err *e)
{
    struct sql_info info;
    struct bmy_ok ok;
    bool has_rows;

    if (alive(s, e) < 0)
        return -1;
    cursor_close(s);
    if (s->state != BMY_READ)
        return err_set(e, ERR_STATE, "no read-only snapshot is open (backend_read_begin)");
    if (classify(sql, len, params, &info, e) < 0)
        return -1;
    if (info.kind == SQL_LOCKING_READ)
        return err_set(e, ERR_REFUSED,
                       "locking reads (FOR UPDATE, LOCK IN SHARE MODE) run only at the primary, "
                       "inside a read-write transaction");
    if (info.kind != SQL_READ)
        return err_set(e, ERR_REFUSED,
                       "only reads run in a read-only snapshot (this is %s)",
                       sqlclass_kind_name(info.kind));
    if (run(s, sql, len, params, &has_rows, &ok, NULL, e) < 0)
        return -1;
    if (mentions_lid(sql, len))
        s->lid_valid = false;
    if (has_rows)
        return fill_columns(s, res, e);
    fill_ok(res, &ok);
    return 0;
}

/* The snapshot's COMMIT is sent without waiting for its answer (read before
 * the session's next statement): the reply to the client does not wait for
 * it, and the server ends the snapshot at once all the same. */
static int bmy_read_end(struct backend_session *s)
{
    struct err e;
    if (!s->conn)
        return -1;
    cursor_free(&s->cur);
    atomic_store(&s->reading, false);
    if (s->state != BMY_READ)
        return 0;
    s->state = BMY_IDLE;
    if (s->pending && pending_drain(s, &e) < 0)
        return -1;
    if (mysql_send_query(s->conn, "COMMIT", 6))
        return fail_conn(s, s->conn, NULL, &e);
    s->pending++;
    return 0;
}

/* ---------------------------------------------------------------- apply */

/* Rolls back and describes a mismatch.  Returns 0. */
static int mismatch(struct backend_session *s, struct backend_apply_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int mismatch(struct backend_session *s, struct backend_apply_report *rep, const char *fmt, ...)
{
    va_list ap;
    struct err ig;
    cursor_free(&s->cur);
    if (s->conn)
        sqz(s, "ROLLBACK", NULL, &ig);
    txn_done(s);
    rep->mismatch = true;
    va_start(ap, fmt);
    vsnprintf(rep->detail, sizeof rep->detail, fmt, ap);
    va_end(ap);
    return 0;
}

static bool transient(const struct err *e)
{
    return e->code == ERR_CONN_LOST || e->code == ERR_DEADLOCK || e->code == ERR_TIMEOUT ||
           e->code == ERR_NOMEM || e->code == ERR_INTERNAL || e->code == ERR_NOT_READY;
}

static int session_setup(struct backend_session *s, struct err *e);

/* Set a logged statement's context on the apply session.  Returns 0, -1
 * (e: this replica cannot proceed now) or 1 (e: the statement cannot run
 * here as it did on the primary). */
static int apply_context(struct backend_session *s, const struct proto_stmt *st, bool txn_open,
                         bool *aborted, struct err *e)
{
    struct backend *be = s->be;
    const char *db = NULL;
    struct buf b;
    char head[256];
    bool env_changed = false, other = false;
    const char *ptid = NULL;
    int rc = 0;

    if (!s->env_valid && env_read(s, e) < 0)
        return -1;
    for (uint32_t i = 0; i < st->env.n; i++)
        if (strcmp(st->env.v[i].key.p ? st->env.v[i].key.p : "", MYSQLU_ENV_DATABASE) == 0)
            db = st->env.v[i].val.p ? st->env.v[i].val.p : "";
    if (db) {
        const char *cur = env_get(s, MYSQLU_ENV_DATABASE);
        if (!cur || strcmp(cur, db) != 0) {
            if (!*db) {
                /* no database selected on the primary: only a fresh session has none */
                if (txn_open) {
                    err_set(e, ERR_SQL, "statement ran without a current database inside a transaction");
                    return 1;
                }
                cache_clear(s); /* COM_CHANGE_USER drops the prepared statements */
                if (mysql_change_user(s->conn, s->user, s->password, NULL))
                    return fail_conn(s, s->conn, aborted, e);
                if (session_setup(s, e) < 0)
                    return -1;
            } else {
                cache_clear(s); /* statements are bound to the database they were prepared in */
                if (mysql_select_db(s->conn, db)) {
                    unsigned no = mysql_errno(s->conn);
                    fail_conn(s, s->conn, aborted, e);
                    return conn_gone(no) ? -1 : 1;
                }
            }
            /* the database's collation comes with it: set the logged one */
            if (env_put(s, MYSQLU_ENV_DATABASE, db) < 0 || env_put(s, "collation_database", "") < 0)
                return nomem(e);
        }
    }
    snprintf(head, sizeof head,
             "SET @@session.timestamp=%" PRIu64 ".%06u, @@session.rand_seed1=%" PRIu64
             ", @@session.rand_seed2=%" PRIu64 ", @@session.insert_id=%" PRIu64
             ", @@session.last_insert_id=%" PRIu64,
             st->ts_us / 1000000u, (unsigned)(st->ts_us % 1000000u), st->seed1, st->seed2,
             st->insert_id, st->last_insert_id);
    buf_init(&b);
    buf_append(&b, head, strlen(head));
    for (uint32_t i = 0; i < st->env.n; i++) {
        const struct proto_kv *kv = &st->env.v[i];
        const char *key = kv->key.p ? kv->key.p : "", *val = kv->val.p ? kv->val.p : "";
        const char *cur;
        int vi;
        if (strcmp(key, MYSQLU_ENV_DATABASE) == 0)
            continue;
        vi = mysqlu_env_find(key, kv->key.len);
        if (vi < 0 || !(mysqlu_env_vars[vi].flavors & (be->mariadb ? MYSQLU_MARIADB : MYSQLU_MYSQL))) {
            buf_close(&b);
            return err_set(e, ERR_CORRUPT, "the entry sets session variable '%.64s', unknown to this "
                           "backend (a newer or different server on the primary?)", key);
        }
        if (!mysqlu_env_value_ok(&mysqlu_env_vars[vi], val, kv->val.len)) {
            buf_close(&b);
            return err_set(e, ERR_CORRUPT, "the entry has an invalid value for %s", key);
        }
        cur = env_get(s, key);
        if (cur && strcmp(cur, val) == 0)
            continue;
        /* settings the server fixes into a statement when it prepares it
         * (pseudo_thread_id, say, changes with every client: not those) */
        if (strcmp(key, "sql_mode") == 0 || strcmp(key, "character_set_client") == 0 ||
            strcmp(key, "collation_connection") == 0 || strcmp(key, "old_mode") == 0)
            env_changed = true;
        if (strcmp(key, "pseudo_thread_id") == 0)
            ptid = val; /* changes with the client: set by the prepared SET */
        else
            other = true;
        buf_append(&b, ", @@session.", 12);
        buf_append(&b, key, kv->key.len);
        buf_append(&b, mysqlu_env_vars[vi].numeric ? "=" : "='", mysqlu_env_vars[vi].numeric ? 1 : 2);
        buf_append(&b, val, kv->val.len);
        if (!mysqlu_env_vars[vi].numeric)
            buf_append(&b, "'", 1);
    }
    if (b.oom) {
        buf_close(&b);
        return nomem(e);
    }
    if (env_changed)
        cache_clear(s); /* sql_mode, character sets: fixed into prepared statements */
    if (!other) {
        /* the usual case: only the statement's own context (and the
         * primary's connection id) change: a prepared SET, no parsing */
        static const char p5[] = "SET @@session.timestamp=?, @@session.rand_seed1=?, @@session.rand_seed2=?, "
                                 "@@session.insert_id=?, @@session.last_insert_id=?";
        static const char p6[] = "SET @@session.timestamp=?, @@session.rand_seed1=?, @@session.rand_seed2=?, "
                                 "@@session.insert_id=?, @@session.last_insert_id=?, @@session.pseudo_thread_id=?";
        MYSQL_BIND pb[6];
        char ts[32];
        unsigned long ts_len;
        unsigned long long v[5] = {st->seed1, st->seed2, st->insert_id, st->last_insert_id,
                                   ptid ? strtoull(ptid, NULL, 10) : 0};
        ctx_binds(pb, ts, &ts_len, st->ts_us, v, ptid ? 5 : 4);
        buf_close(&b);
        if (stmt_run(s, ptid ? p6 : p5, ptid ? sizeof p6 - 1 : sizeof p5 - 1, pb, aborted, e) < 0) {
            s->env_valid = false;
            return conn_gone((unsigned)e->native) || transient(e) || !s->conn ? -1 : 1;
        }
        if (ptid && env_put(s, "pseudo_thread_id", ptid) < 0)
            return nomem(e);
        return 0;
    }
    if (sq(s, (const char *)b.data, b.len, aborted, e) < 0) {
        rc = conn_gone((unsigned)e->native) || transient(e) ? -1 : 1;
        s->env_valid = false; /* some may have been set */
    } else {
        /* the logged values are what the primary read back from the same
         * server version, so they read back the same here: cache them */
        for (uint32_t i = 0; i < st->env.n && rc == 0; i++) {
            const struct proto_kv *kv = &st->env.v[i];
            if (kv->key.p && strcmp(kv->key.p, MYSQLU_ENV_DATABASE) != 0 &&
                env_put(s, kv->key.p, kv->val.p ? kv->val.p : "") < 0)
                rc = nomem(e);
        }
    }
    buf_close(&b);
    return rc;
}

/* Replay an entry's statements in the open transaction (first: nothing of
 * the transaction ran yet).  Returns 0 (all matched), 1 (mismatch: rolled
 * back, rep filled) or -1 (e: may work later; rolled back). */
static int apply_stmts(struct backend_session *s, uint64_t op, const struct proto_body *body, bool first,
                       struct backend_apply_report *rep, struct err *e)
{
    for (uint32_t i = 0; i < body->stmts.n; i++) {
        const struct proto_stmt *st = &body->stmts.v[i];
        struct bmy_ok ok;
        bool has_rows, aborted = false;
        int rc;

        rc = apply_context(s, st, i > 0 || !first, &aborted, e);
        if (rc < 0) {
            if (s->conn) {
                struct err ig;
                sqz(s, "ROLLBACK", NULL, &ig);
            }
            txn_done(s);
            return -1;
        }
        if (rc > 0) {
            mismatch(s, rep, "op %" PRIu64 " statement %u: cannot set its context here: %s", op, i + 1,
                     e->msg);
            return 1;
        }
        s->state = BMY_TXN;
        s->stmts++;
        if (run(s, st->sql.p ? st->sql.p : "", st->sql.len, &st->params, &has_rows, &ok, &aborted, e) < 0) {
            if (!s->conn || transient(e)) {
                if (s->conn) {
                    struct err ig;
                    sqz(s, "ROLLBACK", NULL, &ig);
                }
                txn_done(s);
                return -1;
            }
            mismatch(s, rep, "op %" PRIu64 " statement %u failed here (%d %s: %s); it succeeded "
                     "on the primary", op, i + 1, e->native, e->sqlstate, e->msg);
            return 1;
        }
        if (has_rows) {
            cursor_free(&s->cur);
            mismatch(s, rep, "op %" PRIu64 " statement %u returned rows here", op, i + 1);
            return 1;
        }
        if (ok.affected != st->affected) {
            mismatch(s, rep, "op %" PRIu64 " statement %u: %" PRIu64 " rows affected here, %" PRIu64
                     " on the primary", op, i + 1, ok.affected, st->affected);
            return 1;
        }
        if (ok.insert_id != st->result_insert_id) {
            mismatch(s, rep, "op %" PRIu64 " statement %u: insert id %" PRIu64 " here, %" PRIu64
                     " on the primary", op, i + 1, ok.insert_id, st->result_insert_id);
            return 1;
        }
    }
    return 0;
}

/* Append one recall_clients row "(X'..', req, op, affected, insert_id, ts)". */
static void bk_row(struct buf *b, const struct backend_apply_item *it, bool first)
{
    const struct proto_body *body = it->body;
    uint64_t affected = 0, insert_id = 0;
    char hex[33], row[200];
    if (body->stmts.n) {
        affected = body->stmts.v[body->stmts.n - 1].affected;
        insert_id = body->stmts.v[body->stmts.n - 1].result_insert_id;
    }
    hex16(it->entry->client.b, hex);
    snprintf(row, sizeof row, "%s(X'%s', %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ")",
             first ? "" : ", ", hex, it->entry->req, it->op, affected, insert_id, body->ts_us);
    buf_append(b, row, strlen(row));
}

/* The apply session's bookkeeping for items[0..n), in its open transaction,
 * exactly as recording them one by one leaves it: applied = the last op;
 * each client's row from its latest entry (rows of one INSERT are upserted
 * in order); client rows expired (as v1/v2 do) where an op divisible by
 * BMY_EXPIRE_EVERY commits, after that entry's own row.  The replication
 * account writes recall.* directly; the statements go BMY_PIPE_MAX to a
 * round trip, and the caller COMMITs only if all of them succeeded. */
static int bk_apply(struct backend_session *s, const struct backend_apply_item *items, uint32_t n,
                    struct err *e)
{
    static const char ins[] = "INSERT INTO recall.recall_clients (client, req, op, affected, insert_id, "
                              "ts_us) VALUES ";
    static const char upd[] = " ON DUPLICATE KEY UPDATE req = VALUES(req), op = VALUES(op), "
                              "affected = VALUES(affected), insert_id = VALUES(insert_id), "
                              "ts_us = VALUES(ts_us)";
    uint64_t ttl = (uint64_t)s->be->dsn.client_expiry * 1000000u;
    unsigned cap = 2 * n + 2, nq = 0;
    struct buf *q = calloc(cap, sizeof *q);
    bool rows = false, oom = false;
    char line[120];
    int rc = 0;

    if (!q)
        return nomem(e);
    for (unsigned i = 0; i < cap; i++)
        buf_init(&q[i]);
    snprintf(line, sizeof line, "UPDATE recall.recall_state SET applied = %" PRIu64 " WHERE id = 1",
             items[n - 1].op);
    buf_append(&q[nq++], line, strlen(line));
    for (uint32_t i = 0; i < n; i++) {
        const struct backend_apply_item *it = &items[i];
        bool expire = it->op % BMY_EXPIRE_EVERY == 0 && it->body->ts_us > ttl, later = false;
        /* a later row of the same client before the next expiry point
         * overwrites this one: leave this one out */
        for (uint32_t j = i + 1; j < n && !later && !expire; j++) {
            later = memcmp(items[j].entry->client.b, it->entry->client.b, 16) == 0;
            if (items[j].op % BMY_EXPIRE_EVERY == 0 && items[j].body->ts_us > ttl)
                break;
        }
        if (!id_zero(&it->entry->client) && !later) {
            if (!rows)
                buf_append(&q[nq], ins, sizeof ins - 1);
            bk_row(&q[nq], it, !rows);
            rows = true;
        }
        if (expire) {
            if (rows) {
                buf_append(&q[nq++], upd, sizeof upd - 1);
                rows = false;
            }
            snprintf(line, sizeof line, "DELETE FROM recall.recall_clients WHERE ts_us < %" PRIu64,
                     it->body->ts_us - ttl);
            buf_append(&q[nq++], line, strlen(line));
        }
    }
    if (rows)
        buf_append(&q[nq++], upd, sizeof upd - 1);
    assert(nq <= cap);
    for (unsigned i = 0; i < nq; i++)
        oom |= q[i].oom;
    if (oom)
        rc = nomem(e);
    for (unsigned i = 0; i < nq && rc == 0; i += BMY_PIPE_MAX) {
        const char *sqls[BMY_PIPE_MAX];
        size_t lens[BMY_PIPE_MAX];
        unsigned k = nq - i < BMY_PIPE_MAX ? nq - i : BMY_PIPE_MAX;
        for (unsigned j = 0; j < k; j++) {
            sqls[j] = (const char *)q[i + j].data;
            lens[j] = q[i + j].len;
        }
        rc = sq_pipeline(s, sqls, lens, k, NULL, NULL, e);
    }
    for (unsigned i = 0; i < cap; i++)
        buf_close(&q[i]);
    free(q);
    return rc;
}

static int bmy_apply_batch(struct backend_session *s, const struct backend_apply_item *items, uint32_t n,
                           struct backend_apply_report *rep, struct err *e)
{
    if (alive(s, e) < 0)
        return -1;
    cursor_free(&s->cur);
    if (s->state != BMY_IDLE || s->stmts || in_server_txn(s)) {
        if (sqz(s, "ROLLBACK", NULL, e) < 0)
            return -1;
        txn_done(s);
    }
    atomic_store(&s->reading, false);
    for (uint32_t i = 0; i < n; i++) {
        int rc = apply_stmts(s, items[i].op, items[i].body, i == 0, rep, e);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    s->state = BMY_TXN;
    if (n == 1) {
        /* one entry: the procedure records it and commits, one statement */
        char sql[512];
        bk_call2(s->be, sql, sizeof sql, items[0].op, items[0].entry, items[0].body);
        if (sqz(s, sql, NULL, e) == 0 && (!in_server_txn(s) || sqz(s, "COMMIT", NULL, e) == 0)) {
            txn_done(s);
            return 0;
        }
    } else if (bk_apply(s, items, n, e) == 0 && sqz(s, "COMMIT", NULL, e) == 0) {
        txn_done(s);
        return 0;
    }
    if (s->conn) {
        struct err ig;
        sqz(s, "ROLLBACK", NULL, &ig);
    }
    txn_done(s);
    return err_wrap(e, "recording ops %" PRIu64 "..%" PRIu64 " in recall_state", items[0].op, items[n - 1].op);
}

static int bmy_apply(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                     const struct proto_body *body, struct backend_apply_report *rep,
                     struct err *e)
{
    struct backend_apply_item it = {op, entry, body};
    switch (body->kind) {
    case BODY_NOOP:
    case BODY_DDL_OUTCOME:
    case BODY_TXN:
        /* NOOP and DDL outcome entries: the bookkeeping only */
        return bmy_apply_batch(s, &it, 1, rep, e);
    case BODY_DDL:
        return err_set(e, ERR_INVALID, "DDL entries are applied with backend_apply_ddl");
    default:
        return err_set(e, ERR_CORRUPT, "entry %" PRIu64 " has unknown body kind %u", op, body->kind);
    }
}

/* ---------------------------------------------------------------- DDL */

static int marker_read(struct backend *be, uint64_t *op, char **db, char **stmt, struct err *e)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    unsigned long *len;
    *op = 0;
    *db = *stmt = NULL;
    if (admin_ensure(be, e) < 0)
        return -1;
    if (!(r = raw_select(be->admin, "SELECT op, db, stmt FROM recall.recall_ddl WHERE id = 1", e)))
        return admin_failed(be, e);
    row = mysql_fetch_row(r);
    len = mysql_fetch_lengths(r);
    if (!row || !row[0]) {
        mysql_free_result(r);
        return err_set(e, ERR_CORRUPT, "recall.recall_ddl has no row");
    }
    *op = strtoull(row[0], NULL, 10);
    *db = strndup(row[1] ? row[1] : "", row[1] ? len[1] : 0);
    *stmt = strndup(row[2] ? row[2] : "", row[2] ? len[2] : 0);
    mysql_free_result(r);
    if (!*db || !*stmt) {
        free(*db);
        free(*stmt);
        return nomem(e);
    }
    return 0;
}

/* Durably record "DDL op is about to run" (be->mu held). */
static int marker_set(struct backend *be, uint64_t op, const char *db, const struct proto_str *sql,
                      struct err *e)
{
    char *qdb, *qsql, *q;
    size_t cap;
    int rc;
    if (admin_ensure(be, e) < 0)
        return -1;
    qdb = admin_escape(be, db, strlen(db));
    qsql = admin_escape(be, sql->p ? sql->p : "", sql->len);
    cap = (qdb ? strlen(qdb) : 0) + (qsql ? strlen(qsql) : 0) + 128;
    q = malloc(cap);
    if (!qdb || !qsql || !q) {
        free(qdb);
        free(qsql);
        free(q);
        return nomem(e);
    }
    snprintf(q, cap, "UPDATE recall.recall_ddl SET op = %" PRIu64 ", db = '%s', stmt = '%s' WHERE id = 1",
             op, qdb, qsql);
    rc = admin_query(be, q, e);
    free(qdb);
    free(qsql);
    free(q);
    if (rc < 0)
        return err_wrap(e, "setting the DDL marker");
    return flush_redo(be, e);
}

/* applied = op and the marker cleared, in one transaction (be->mu held). */
static int marker_done(struct backend *be, uint64_t op, const struct proto_entry *entry,
                       const struct proto_body *body, struct err *e)
{
    char call[512];
    bk_call(be, call, sizeof call, op, entry, body, true);
    if (admin_query(be, "START TRANSACTION", e) < 0)
        return -1;
    if (admin_query(be, call, e) < 0 || admin_query(be, "COMMIT", e) < 0) {
        struct err ig;
        if (be->admin)
            raw_query(be->admin, "ROLLBACK", &ig);
        return err_wrap(e, "recording DDL op %" PRIu64, op);
    }
    return 0;
}

static int marker_clear(struct backend *be, struct err *e)
{
    return admin_query(be, "UPDATE recall.recall_ddl SET op = 0, db = '', stmt = '' WHERE id = 1", e);
}

static int probe_exists(struct backend *be, const struct mysqlu_probe *pr, bool *exists, struct err *e)
{
    char sql[1400];
    char *a = admin_escape(be, pr->db, strlen(pr->db));
    char *b = admin_escape(be, pr->name, strlen(pr->name));
    char *c = admin_escape(be, pr->sub, strlen(pr->sub));
    uint64_t n = 0;
    int rc = -1;

    if (!a || !b || !c) {
        nomem(e);
        goto done;
    }
    switch (pr->kind) {
    case MYSQLU_PROBE_DB:
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE "
                 "SCHEMA_NAME = '%s' AND BINARY SCHEMA_NAME = '%s'", a, a);
        break;
    case MYSQLU_PROBE_TABLE:
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                 "TABLE_SCHEMA = '%s' AND TABLE_NAME = '%s' AND BINARY TABLE_NAME = '%s'", a, b, b);
        break;
    case MYSQLU_PROBE_COLUMN:
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE "
                 "TABLE_SCHEMA = '%s' AND TABLE_NAME = '%s' AND COLUMN_NAME = '%s'", a, b, c);
        break;
    case MYSQLU_PROBE_INDEX:
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE "
                 "TABLE_SCHEMA = '%s' AND TABLE_NAME = '%s' AND INDEX_NAME = '%s'", a, b, c);
        break;
    case MYSQLU_PROBE_USER:
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM mysql.user WHERE User = '%s' AND Host = '%s'", a, b);
        break;
    case MYSQLU_PROBE_ROUTINE:
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE "
                 "ROUTINE_SCHEMA = '%s' AND ROUTINE_NAME = '%s'", a, b);
        break;
    case MYSQLU_PROBE_TRIGGER:
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE "
                 "TRIGGER_SCHEMA = '%s' AND TRIGGER_NAME = '%s'", a, b);
        break;
    case MYSQLU_PROBE_EVENT:
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.EVENTS WHERE "
                 "EVENT_SCHEMA = '%s' AND EVENT_NAME = '%s'", a, b);
        break;
    }
    if (admin_u64(be, sql, &n, e) == 0) {
        *exists = n > 0;
        rc = 0;
    }
done:
    free(a);
    free(b);
    free(c);
    return rc;
}

enum ddl_verdict { DDL_NONE = 0, DDL_WAS_DONE, DDL_NOT_DONE };

/* Decide a DDL left pending by a crash or a lost connection (be->mu held):
 * done -> recorded as applied; not done (or idempotent) -> marker cleared so
 * it runs again; undecidable -> ERR_CORRUPT, marker kept.  *op_out is the
 * pending op (0 if none). */
static int ddl_resolve(struct backend *be, uint64_t *op_out, enum ddl_verdict *verdict, struct err *e)
{
    uint64_t op, applied;
    char *db, *stmt;
    struct mysqlu_ddl_plan plan;
    unsigned hits = 0;
    int rc = -1;

    *verdict = DDL_NONE;
    if (marker_read(be, &op, &db, &stmt, e) < 0)
        return -1;
    *op_out = op;
    if (op == 0) {
        rc = 0;
        goto done;
    }
    if (admin_u64(be, "SELECT applied FROM recall.recall_state WHERE id = 1", &applied, e) < 0)
        goto done;
    if (applied >= op) {
        *verdict = DDL_WAS_DONE;
        rc = marker_clear(be, e);
        goto done;
    }
    mysqlu_ddl_plan(stmt, strlen(stmt), db, &plan);
    switch (plan.how) {
    case MYSQLU_DDL_RERUN:
        *verdict = DDL_NOT_DONE;
        rc = marker_clear(be, e);
        goto done;
    case MYSQLU_DDL_PROBE:
        for (unsigned i = 0; i < plan.n; i++) {
            bool exists;
            if (probe_exists(be, &plan.probes[i], &exists, e) < 0)
                goto done;
            hits += exists == plan.probes[i].exists_after;
        }
        if (hits == plan.n) {
            *verdict = DDL_WAS_DONE;
            rc = marker_done(be, op, NULL, NULL, e);
            goto done;
        }
        if (hits == 0) {
            *verdict = DDL_NOT_DONE;
            rc = marker_clear(be, e);
            goto done;
        }
        plan.why = "the schema shows it partly done";
        break;
    case MYSQLU_DDL_UNKNOWN:
        break;
    }
    err_set(e, ERR_CORRUPT,
            "DDL op %" PRIu64 " was interrupted and whether it ran cannot be checked (%s): %.160s. "
            "Repair this replica by state transfer, or check the schema by hand and then run "
            "UPDATE recall.recall_ddl SET op=0 (and recall_state.applied=%" PRIu64 " if it ran)",
            op, plan.why ? plan.why : "?", stmt, op);
done:
    free(db);
    free(stmt);
    return rc;
}

/* KILL the sessions holding read snapshots (their metadata locks block a
 * DDL); they fail with a lost connection and the client retries elsewhere. */
static int kill_readers(struct backend *be, const struct backend_session *except)
{
    int n = 0;
    pthread_mutex_lock(&be->mu);
    for (struct backend_session *x = be->sessions; x; x = x->next) {
        char sql[64];
        struct err ig;
        if (x == except || !atomic_load(&x->reading) || !x->thread_id)
            continue;
        snprintf(sql, sizeof sql, "KILL CONNECTION %lu", x->thread_id);
        if (admin_query(be, sql, &ig) == 0)
            n++;
    }
    pthread_mutex_unlock(&be->mu);
    return n;
}

/* Run a DDL statement with its marker.  Returns 0 when it ran (or had
 * already run), 1 when the server refused it (ddl_err; the marker cleared,
 * and with record_failure the op recorded as applied all the same), -1 when
 * it could not be completed (e). */
static int ddl_execute(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                       const struct proto_stmt *st, bool with_env, bool record_failure,
                       struct err *ddl_err, struct err *e)
{
    struct backend *be = s->be;
    uint64_t pending, applied = 0;
    enum ddl_verdict verdict;
    const char *db;
    char set[200];
    int rc;

    if (alive(s, e) < 0)
        return -1;
    cursor_free(&s->cur);
    if (s->state != BMY_IDLE || s->stmts || in_server_txn(s)) {
        /* DDL commits implicitly: never let it commit unlogged work */
        if (sqz(s, "ROLLBACK", NULL, e) < 0)
            return -1;
        txn_done(s);
    }
    pthread_mutex_lock(&be->mu);
    rc = ddl_resolve(be, &pending, &verdict, e);
    if (rc == 0)
        rc = admin_u64(be, "SELECT applied FROM recall.recall_state WHERE id = 1", &applied, e);
    pthread_mutex_unlock(&be->mu);
    if (rc < 0)
        return -1;
    if (applied >= op)
        return 0; /* already ran and recorded */

    if (with_env) {
        bool aborted;
        rc = apply_context(s, st, false, &aborted, e);
        if (rc != 0) {
            if (rc > 0) {
                err_copy(ddl_err, e);
                goto refused;
            }
            return -1;
        }
    } else {
        snprintf(set, sizeof set, "SET @@session.timestamp=%" PRIu64 ".%06u, @@session.rand_seed1=%"
                 PRIu64 ", @@session.rand_seed2=%" PRIu64,
                 st->ts_us / 1000000u, (unsigned)(st->ts_us % 1000000u), st->seed1, st->seed2);
        if (sqz(s, set, NULL, e) < 0)
            return -1;
        s->ts_pinned = true;
    }
    if (env_read(s, e) < 0)
        return -1;
    db = env_get(s, MYSQLU_ENV_DATABASE);
    /* DDL fails in a READ ONLY session (reads leave it so) */
    snprintf(set, sizeof set, "SET @@session.lock_wait_timeout=%u, @@session.%s=0", be->dsn.read_lock_wait,
             be->ro_var);
    if (sqz(s, set, NULL, e) < 0) {
        s->ro = BMY_RO_UNKNOWN;
        return -1;
    }
    s->short_lock_wait = true;
    s->ro = BMY_RO_OFF;

    pthread_mutex_lock(&be->mu);
    rc = marker_set(be, op, db ? db : "", &st->sql, e);
    pthread_mutex_unlock(&be->mu);
    if (rc < 0)
        return -1;

    for (int attempt = 1;; attempt++) {
        struct bmy_ok ok;
        bool has_rows;
        int ran = run(s, st->sql.p ? st->sql.p : "", st->sql.len, &st->params, &has_rows, &ok, NULL, ddl_err);
        /* every session's prepared statements may now be stale (this one's too) */
        atomic_fetch_add(&be->ddl_gen, 1);
        if (ran == 0) {
            cursor_free(&s->cur);
            break;
        }
        if (ddl_err->native == 1205 && attempt < BMY_DDL_TRIES && s->conn) {
            /* metadata lock wait: read snapshots are in the way */
            kill_readers(be, s);
            continue;
        }
        if (!s->conn) {
            /* lost during the DDL: did it run? */
            pthread_mutex_lock(&be->mu);
            rc = ddl_resolve(be, &pending, &verdict, e);
            pthread_mutex_unlock(&be->mu);
            if (rc < 0)
                return -1;
            if (verdict == DDL_WAS_DONE)
                return 0;
            err_copy(e, ddl_err);
            return -1;
        }
        goto refused;
    }
    s->env_valid = false; /* DROP DATABASE may have unselected it */
    txn_done(s);
    pthread_mutex_lock(&be->mu);
    rc = marker_done(be, op, entry, NULL, e);
    pthread_mutex_unlock(&be->mu);
    return rc < 0 ? -1 : 0;

refused:
    s->env_valid = false;
    txn_done(s);
    pthread_mutex_lock(&be->mu);
    rc = record_failure ? marker_done(be, op, entry, NULL, e) : marker_clear(be, e);
    pthread_mutex_unlock(&be->mu);
    return rc < 0 ? -1 : 1;
}

static int bmy_describe(struct backend_session *s, const char *sql, uint32_t len,
                        const struct proto_list_value *params, const struct backend_ctx *ctx,
                        struct proto_stmt *out, struct err *e)
{
    struct bmy_ok ok;
    if (alive(s, e) < 0)
        return -1;
    if (!s->env_valid && env_read(s, e) < 0)
        return -1;
    if (finish_idle(s, e) < 0)
        return -1;
    memset(&ok, 0, sizeof ok);
    if (stmt_record(s, out, sql, len, params, ctx, &ok, 0) < 0)
        return nomem(e);
    return 0;
}

static int bmy_exec_ddl(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                        const struct proto_stmt *stmt, struct err *e)
{
    struct err ddl_err;
    int rc;
    err_clear(&ddl_err);
    /* the primary runs it in the client's own session and environment; the
     * apply session (a new primary finishing a DDL) uses the logged one */
    rc = ddl_execute(s, op, entry, stmt, s->apply, true, &ddl_err, e);
    if (rc == 1)
        return err_copy(e, &ddl_err);
    return rc;
}

static int bmy_apply_ddl(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                         const struct proto_body *body, const struct proto_body *outcome,
                         struct backend_apply_report *rep, struct err *e)
{
    struct backend *be = s->be;
    struct err ddl_err;
    int rc;

    if (body->kind != BODY_DDL || body->stmts.n != 1)
        return err_set(e, ERR_CORRUPT, "entry %" PRIu64 " is not a DDL entry with one statement", op);
    if (outcome && outcome->code != ERR_OK) {
        /* the primary's DDL failed: nothing to run, only the op to record */
        uint64_t pending, applied = 0;
        enum ddl_verdict verdict;
        pthread_mutex_lock(&be->mu);
        rc = ddl_resolve(be, &pending, &verdict, e);
        if (rc == 0)
            rc = admin_u64(be, "SELECT applied FROM recall.recall_state WHERE id = 1", &applied, e);
        if (rc == 0 && applied < op)
            rc = marker_done(be, op, entry, NULL, e);
        pthread_mutex_unlock(&be->mu);
        return rc < 0 ? -1 : 0;
    }
    err_clear(&ddl_err);
    rc = ddl_execute(s, op, entry, &body->stmts.v[0], true, outcome == NULL, &ddl_err, e);
    if (rc == 1) {
        if (!outcome)
            return err_copy(e, &ddl_err);
        rep->mismatch = true;
        snprintf(rep->detail, sizeof rep->detail,
                 "DDL op %" PRIu64 " failed here (%d %s: %s); it succeeded on the primary", op,
                 ddl_err.native, ddl_err.sqlstate, ddl_err.msg);
        return 0;
    }
    return rc;
}

/* ---------------------------------------------------------------- sessions: open/close */

/* Per-connection settings: autocommit off (transactions start with their
 * first statement), room for every warning (the unsafe note must not be
 * dropped), REPEATABLE READ. */
static int session_setup(struct backend_session *s, struct err *e)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SET @@session.autocommit=0, @@session.max_error_count=65535, @@session.%s='REPEATABLE-READ', "
             "@@session.%s=0", s->be->iso_var, s->be->ro_var);
    if (sqz(s, sql, NULL, e) < 0)
        return -1;
    s->ro = BMY_RO_OFF;
    s->serializable = false;
    s->short_lock_wait = false;
    s->ts_pinned = false;
    s->env_valid = false;
    s->lid_valid = true;
    s->lid = 0;
    return 0;
}

/* A client session must be able to read recall_state (reads) and call the
 * bookkeeping procedure (commits); say which GRANT is missing now rather
 * than fail at commit time. */
static int check_client_grants(struct backend_session *s, struct err *e)
{
    char sql[256], account[200] = "";
    MYSQL_RES *r;
    MYSQL_ROW row;
    unsigned no = 0;
    const char *what = NULL;

    if (mysql_real_query(s->conn, "SELECT applied FROM recall.recall_state WHERE id = 1", 52) == 0) {
        if ((r = mysql_store_result(s->conn)))
            mysql_free_result(r);
    } else {
        no = mysql_errno(s->conn);
        if (no == 1142 || no == 1143 || no == 1044)
            what = "SELECT on recall.recall_state";
        else
            return fail_conn(s, s->conn, NULL, e);
    }
    if (!what) {
        /* v2 commits in the same statement; a user granted only v1 (MySQL,
         * public_grants=0, an older setup) commits with v1 and a COMMIT */
        snprintf(sql, sizeof sql, "CALL " BMY_PROC2 "(NULL, 0, NULL, 0, 0, 0, 0, 0)");
        if (mysql_real_query(s->conn, sql, strlen(sql)) == 0)
            return err_set(e, ERR_INTERNAL, "Recall's bookkeeping procedure accepted a NULL token");
        no = mysql_errno(s->conn);
        if (no == 1644) /* the procedure's SIGNAL: access works */
            s->commit_v2 = true;
        else if (no != 1370 && no != 1044 && no != 1142 && no != 1305)
            return fail_conn(s, s->conn, NULL, e);
    }
    if (!what && !s->commit_v2) {
        snprintf(sql, sizeof sql, "CALL " BMY_PROC "(NULL, 0, NULL, 0, 0, 0, 0, 0, 0)");
        if (mysql_real_query(s->conn, sql, strlen(sql)) == 0)
            return err_set(e, ERR_INTERNAL, "Recall's bookkeeping procedure accepted a NULL token");
        no = mysql_errno(s->conn);
        if (no == 1370 || no == 1044 || no == 1142)
            what = "EXECUTE on PROCEDURE " BMY_PROC2;
        else if (no != 1644)
            return fail_conn(s, s->conn, NULL, e);
    }
    if (!what)
        return 0;
    if (mysql_real_query(s->conn, "SELECT CURRENT_USER()", 21) == 0 && (r = mysql_store_result(s->conn))) {
        if ((row = mysql_fetch_row(r)) && row[0]) {
            const char *at = strrchr(row[0], '@');
            if (at)
                snprintf(account, sizeof account, "'%.*s'@'%s'", (int)(at - row[0]), row[0], at + 1);
        }
        mysql_free_result(r);
    }
    if (!account[0])
        snprintf(account, sizeof account, "'%s'", s->user ? s->user : "?");
    return err_set_sql(e, ERR_AUTH, "42000", (int)no,
                       "user %s lacks %s, which Recall needs to keep its bookkeeping in the same "
                       "transaction as the user's writes. Run (as DDL through Recall, so every "
                       "replica gets it): GRANT SELECT ON recall.recall_state TO %s; GRANT EXECUTE "
                       "ON PROCEDURE " BMY_PROC2 " TO %s -- or enable public_grants in the DSN ("
                       BMY_PROC " is accepted too, at one more round trip per commit)",
                       account, what, account, account);
}

static void session_unlist(struct backend_session *s)
{
    struct backend *be = s->be;
    pthread_mutex_lock(&be->mu);
    if (s->prev)
        s->prev->next = s->next;
    else if (be->sessions == s)
        be->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    pthread_mutex_unlock(&be->mu);
}

static void session_free(struct backend_session *s)
{
    cursor_free(&s->cur);
    cache_clear(s);
    if (s->conn)
        mysql_close(s->conn); /* the server rolls back anything open */
    proto_list_kv_resize(&s->env, 0);
    free(s->env.v);
    free(s->user);
    free(s->password);
    free(s);
}

static struct backend_session *bmy_session_open(struct backend *be, const char *user,
                                                const char *password, const char *database,
                                                struct err *e)
{
    struct backend_session *s = calloc(1, sizeof *s);
    bool apply = user == NULL;

    if (!s) {
        nomem(e);
        return NULL;
    }
    s->base.ops = &backend_mysql_ops;
    s->be = be;
    s->apply = apply;
    atomic_init(&s->stale, false);
    atomic_init(&s->reading, false);
    s->user = strdup(apply ? be->dsn.user : user);
    s->password = (apply ? be->dsn.password : password) ? strdup(apply ? be->dsn.password : password) : NULL;
    if (!s->user || ((apply ? be->dsn.password : password) && !s->password)) {
        nomem(e);
        goto err_after_alloc;
    }
    pthread_mutex_lock(&be->mu);
    if (be->quiesced) {
        pthread_mutex_unlock(&be->mu);
        err_set(e, ERR_NOT_READY, "the backend is quiesced for a state transfer");
        goto err_after_alloc;
    }
    pthread_mutex_unlock(&be->mu);
    s->conn = connect_as(be, s->user, s->password,
                         database && *database ? database : (apply ? NULL : be->dsn.database), e);
    if (!s->conn)
        goto err_after_alloc;
    s->thread_id = mysql_thread_id(s->conn);
    s->commit_v2 = apply; /* the replication account defines the procedures */
    if (!apply && check_client_grants(s, e) < 0)
        goto err_after_alloc;
    if (s->conn && session_setup(s, e) < 0)
        goto err_after_alloc;
    if (!s->conn) {
        err_set(e, ERR_CONN_LOST, "backend session lost during setup: %s", s->lost);
        goto err_after_alloc;
    }
    pthread_mutex_lock(&be->mu);
    s->next = be->sessions;
    if (be->sessions)
        be->sessions->prev = s;
    be->sessions = s;
    pthread_mutex_unlock(&be->mu);
    return s;
err_after_alloc:
    session_free(s);
    return NULL;
}

static void bmy_session_close(struct backend_session *s)
{
    session_unlist(s);
    session_free(s);
}

/* ---------------------------------------------------------------- the database */

/* Refuse a server without the settings Recall depends on (be->mu held). */
static int check_settings(struct backend *be, struct err *e)
{
    char sql[400];
    MYSQL_RES *r;
    MYSQL_ROW row;
    int rc = -1;

    snprintf(sql, sizeof sql,
             "SELECT @@global.log_bin, @@global.binlog_format, @@global.innodb_autoinc_lock_mode, "
             "@@global.%s, @@global.innodb_rollback_on_timeout, %s",
             be->iso_var, be->mariadb ? "@@global.enforce_storage_engine" : "@@global.disabled_storage_engines");
    if (!(r = raw_select(be->admin, sql, e)))
        return -1;
    row = mysql_fetch_row(r);
    if (!row) {
        err_set(e, ERR_INTERNAL, "cannot read the server settings");
        goto done;
    }
    if (!row[0] || strcmp(row[0], "1") != 0) {
        err_set(e, ERR_CONFIG,
                "MySQL setting log_bin is OFF: Recall needs the binary log on (with "
                "binlog_format=STATEMENT) so the server flags statements that are unsafe to replicate. "
                "Fix: add log_bin and server_id=1 to the [mysqld] section of my.cnf and restart mysqld");
        goto done;
    }
    if (!row[1] || strcasecmp(row[1], "STATEMENT") != 0) {
        err_set(e, ERR_CONFIG,
                "MySQL setting binlog_format is %s: Recall needs binlog_format=STATEMENT, under which "
                "the server flags unsafe statements (warning 1592) instead of silently logging rows. "
                "Fix: binlog_format=STATEMENT in my.cnf (SET GLOBAL binlog_format='STATEMENT' for a "
                "running server)", row[1] ? row[1] : "unset");
        goto done;
    }
    if (!row[2] || atoi(row[2]) > 1) {
        err_set(e, ERR_CONFIG,
                "MySQL setting innodb_autoinc_lock_mode is %s: Recall needs 0 or 1 so the "
                "auto-increment values of one statement are consecutive and replay with SET "
                "insert_id. Fix: innodb_autoinc_lock_mode=1 in my.cnf and restart mysqld",
                row[2] ? row[2] : "unset");
        goto done;
    }
    if (!row[3] || (strcasecmp(row[3], "REPEATABLE-READ") != 0 && strcasecmp(row[3], "SERIALIZABLE") != 0)) {
        err_set(e, ERR_CONFIG,
                "MySQL setting %s is %s: Recall needs REPEATABLE-READ (or SERIALIZABLE) so commit "
                "order is a serialization order. Fix: transaction_isolation=REPEATABLE-READ in my.cnf",
                be->iso_var, row[3] ? row[3] : "unset");
        goto done;
    }
    be->rollback_on_timeout = row[4] && strcmp(row[4], "1") == 0;
    if (be->mariadb) {
        if (!row[5] || strcasecmp(row[5], "InnoDB") != 0) {
            err_set(e, ERR_CONFIG,
                    "MariaDB setting enforce_storage_engine is %s: Recall needs InnoDB enforced, "
                    "because writes to non-transactional tables cannot be rolled back or replayed "
                    "atomically. Fix: enforce_storage_engine=InnoDB in my.cnf and restart mysqld",
                    row[5] && *row[5] ? row[5] : "unset");
            goto done;
        }
    } else if (!row[5] || !strcasestr(row[5], "MyISAM") || !strcasestr(row[5], "MEMORY")) {
        err_set(e, ERR_CONFIG,
                "MySQL setting disabled_storage_engines is '%s': Recall needs the non-transactional "
                "engines disabled. Fix: disabled_storage_engines=\"MyISAM,MEMORY,MERGE,CSV,ARCHIVE,"
                "BLACKHOLE,FEDERATED\" in my.cnf and restart mysqld", row[5] ? row[5] : "");
        goto done;
    }
    mysql_free_result(r);
    /* tables created before the setting was on */
    if (!(r = raw_select(be->admin,
                         "SELECT TABLE_SCHEMA, TABLE_NAME, ENGINE FROM information_schema.TABLES "
                         "WHERE TABLE_TYPE = 'BASE TABLE' AND ENGINE <> 'InnoDB' AND TABLE_SCHEMA NOT IN "
                         "('mysql', 'information_schema', 'performance_schema', 'sys') LIMIT 1", e)))
        return -1;
    if ((row = mysql_fetch_row(r))) {
        err_set(e, ERR_CONFIG,
                "table %s.%s uses the %s engine: Recall replicates InnoDB tables only (writes to "
                "non-transactional tables cannot be undone or replayed atomically). Fix: ALTER TABLE "
                "%s.%s ENGINE=InnoDB", row[0], row[1], row[2] ? row[2] : "?", row[0], row[1]);
        goto done;
    }
    rc = 0;
done:
    mysql_free_result(r);
    return rc;
}

static const char *const schema_sql[] = {
    "CREATE DATABASE IF NOT EXISTS recall",
    "CREATE TABLE IF NOT EXISTS recall.recall_state ("
    " id TINYINT UNSIGNED NOT NULL PRIMARY KEY,"
    " applied BIGINT UNSIGNED NOT NULL,"
    " cluster BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB",
    "INSERT IGNORE INTO recall.recall_state VALUES (1, 0, 0)",
    "CREATE TABLE IF NOT EXISTS recall.recall_clients ("
    " client BINARY(16) NOT NULL PRIMARY KEY,"
    " req BIGINT UNSIGNED NOT NULL,"
    " op BIGINT UNSIGNED NOT NULL,"
    " affected BIGINT UNSIGNED NOT NULL,"
    " insert_id BIGINT UNSIGNED NOT NULL,"
    " ts_us BIGINT UNSIGNED NOT NULL,"
    " KEY (ts_us)) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS recall.recall_ddl ("
    " id TINYINT UNSIGNED NOT NULL PRIMARY KEY,"
    " op BIGINT UNSIGNED NOT NULL,"
    " db VARBINARY(256) NOT NULL,"
    " stmt LONGBLOB NOT NULL) ENGINE=InnoDB",
    "INSERT IGNORE INTO recall.recall_ddl VALUES (1, 0, '', '')",
    "CREATE TABLE IF NOT EXISTS recall.recall_secret ("
    " id TINYINT UNSIGNED NOT NULL PRIMARY KEY,"
    " token CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL) ENGINE=InnoDB",
};

/* The bookkeeping procedure: runs with the replication account's rights,
 * so client users need no write privilege on recall.*; the token (readable
 * by the replication account only) keeps anything but recalld -- a user's
 * trigger, say -- from calling it. */
static const char proc_sql[] =
    "CREATE DEFINER=CURRENT_USER PROCEDURE " BMY_PROC "("
    " p_token VARCHAR(64), p_op BIGINT UNSIGNED, p_client BINARY(16), p_req BIGINT UNSIGNED,"
    " p_affected BIGINT UNSIGNED, p_insert_id BIGINT UNSIGNED, p_ts BIGINT UNSIGNED,"
    " p_expire_before BIGINT UNSIGNED, p_clear_ddl TINYINT)"
    " MODIFIES SQL DATA SQL SECURITY DEFINER"
    " COMMENT 'Recall bookkeeping: called by recalld only'"
    " BEGIN"
    "  IF p_token IS NULL OR NOT EXISTS (SELECT 1 FROM recall.recall_secret"
    "      WHERE id = 1 AND token = CAST(p_token AS CHAR CHARACTER SET ascii)) THEN"
    "   SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'recall_commit: not called by recalld';"
    "  END IF;"
    "  UPDATE recall.recall_state SET applied = p_op WHERE id = 1;"
    "  IF p_client IS NOT NULL THEN"
    "   INSERT INTO recall.recall_clients (client, req, op, affected, insert_id, ts_us)"
    "    VALUES (p_client, p_req, p_op, p_affected, p_insert_id, p_ts)"
    "    ON DUPLICATE KEY UPDATE req = VALUES(req), op = VALUES(op), affected = VALUES(affected),"
    "     insert_id = VALUES(insert_id), ts_us = VALUES(ts_us);"
    "  END IF;"
    "  IF p_expire_before > 0 THEN"
    "   DELETE FROM recall.recall_clients WHERE ts_us < p_expire_before;"
    "  END IF;"
    "  IF p_clear_ddl <> 0 THEN"
    "   UPDATE recall.recall_ddl SET op = 0, db = '', stmt = '' WHERE id = 1;"
    "  END IF;"
    " END";

/* v2 (see BMY_PROC2): the token is compared with a literal of the body,
 * which only the definer (and global SELECT) can read, like
 * recall_secret: no table read per commit.  A stored procedure that
 * COMMITs cannot run from a trigger or a stored function at all. */
static const char proc2_fmt[] =
    "CREATE DEFINER=CURRENT_USER PROCEDURE " BMY_PROC2 "("
    " p_token VARCHAR(64), p_op BIGINT UNSIGNED, p_client BINARY(16), p_req BIGINT UNSIGNED,"
    " p_affected BIGINT UNSIGNED, p_insert_id BIGINT UNSIGNED, p_ts BIGINT UNSIGNED,"
    " p_expire_before BIGINT UNSIGNED)"
    " MODIFIES SQL DATA SQL SECURITY DEFINER"
    " COMMENT 'Recall bookkeeping and COMMIT: called by recalld only'"
    " BEGIN"
    "  IF p_token IS NULL OR CAST(p_token AS BINARY) <> CAST('%s' AS BINARY) THEN"
    "   SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'recall_commit: not called by recalld';"
    "  END IF;"
    "  UPDATE recall.recall_state SET applied = p_op WHERE id = 1;"
    "  IF p_client IS NOT NULL THEN"
    "   INSERT INTO recall.recall_clients (client, req, op, affected, insert_id, ts_us)"
    "    VALUES (p_client, p_req, p_op, p_affected, p_insert_id, p_ts)"
    "    ON DUPLICATE KEY UPDATE req = VALUES(req), op = VALUES(op), affected = VALUES(affected),"
    "     insert_id = VALUES(insert_id), ts_us = VALUES(ts_us);"
    "  END IF;"
    "  IF p_expire_before > 0 THEN"
    "   DELETE FROM recall.recall_clients WHERE ts_us < p_expire_before;"
    "  END IF;"
    "  COMMIT;"
    " END";

static int create_schema(struct backend *be, struct err *e)
{
    uint8_t rnd[16];
    char sql[200], hex[33];
    uint64_t have = 0;
    MYSQL_RES *r;
    MYSQL_ROW row;

    for (size_t i = 0; i < sizeof schema_sql / sizeof schema_sql[0]; i++)
        if (raw_query(be->admin, schema_sql[i], e) < 0)
            return err_wrap(e, "creating Recall's tables");
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return err_set_errno(e, errno, "getrandom");
    hex16(rnd, hex);
    snprintf(sql, sizeof sql, "INSERT IGNORE INTO recall.recall_secret VALUES (1, '%s')", hex);
    if (raw_query(be->admin, sql, e) < 0)
        return -1;
    if (!(r = raw_select(be->admin, "SELECT token FROM recall.recall_secret WHERE id = 1", e)))
        return -1;
    row = mysql_fetch_row(r);
    if (!row || !row[0] || strlen(row[0]) != 32) {
        mysql_free_result(r);
        return err_set(e, ERR_CORRUPT, "recall.recall_secret is damaged");
    }
    memcpy(be->token, row[0], 33);
    mysql_free_result(r);

    {
        bool found;
        if (raw_u64(be->admin,
                    "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'recall' "
                    "AND ROUTINE_NAME = 'recall_commit_v1' AND DEFINER = CURRENT_USER()",
                    &have, &found, e) < 0)
            return -1;
    }
    if (!have && (raw_query(be->admin, "DROP PROCEDURE IF EXISTS " BMY_PROC, e) < 0 ||
                  raw_query(be->admin, proc_sql, e) < 0))
        return err_wrap(e, "creating Recall's bookkeeping procedure");
    {
        bool found;
        char q[400], body[sizeof proc2_fmt + 40];
        /* ours, and guarding this database's token */
        snprintf(q, sizeof q,
                 "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'recall' "
                 "AND ROUTINE_NAME = 'recall_commit_v2' AND DEFINER = CURRENT_USER() AND "
                 "ROUTINE_DEFINITION LIKE '%%%s%%'", be->token);
        if (raw_u64(be->admin, q, &have, &found, e) < 0)
            return -1;
        snprintf(body, sizeof body, proc2_fmt, be->token);
        if (!have && (raw_query(be->admin, "DROP PROCEDURE IF EXISTS " BMY_PROC2, e) < 0 ||
                      raw_query(be->admin, body, e) < 0))
            return err_wrap(e, "creating Recall's bookkeeping procedure (v2)");
    }
    if (be->dsn.public_grants && be->mariadb && be->server_version >= 101100) {
        struct err ig;
        /* MariaDB 10.11+: every user may read applied and call the
         * token-guarded procedures; nothing else in recall.* */
        raw_query(be->admin, "GRANT SELECT ON recall.recall_state TO PUBLIC", &ig);
        raw_query(be->admin, "GRANT EXECUTE ON PROCEDURE " BMY_PROC " TO PUBLIC", &ig);
        raw_query(be->admin, "GRANT EXECUTE ON PROCEDURE " BMY_PROC2 " TO PUBLIC", &ig);
    }
    return 0;
}

static int build_env_sql(struct backend *be, struct err *e)
{
    struct buf b;
    unsigned flavor = be->mariadb ? MYSQLU_MARIADB : MYSQLU_MYSQL;
    char tail[200];

    buf_init(&b);
    buf_append(&b, "SELECT DATABASE()", 17);
    be->env_n = 1;
    for (size_t i = 0; i < mysqlu_env_nvars; i++) {
        if (!(mysqlu_env_vars[i].flavors & flavor))
            continue;
        assert(be->env_n < sizeof be->env_var / sizeof be->env_var[0]);
        be->env_var[be->env_n++] = (int)i;
        buf_append(&b, ", @@session.", 12);
        buf_append(&b, mysqlu_env_vars[i].name, strlen(mysqlu_env_vars[i].name));
    }
    snprintf(tail, sizeof tail,
             ", @@session.binlog_format, @@session.sql_log_bin, @@session.sql_notes, "
             "@@session.autocommit, @@session.%s", be->iso_var);
    buf_append(&b, tail, strlen(tail) + 1);
    if (b.oom) {
        buf_close(&b);
        return nomem(e);
    }
    be->env_sql = (char *)b.data; /* ownership moves to be */
    return 0;
}

static void backend_free(struct backend *be)
{
    if (be->admin)
        mysql_close(be->admin);
    mysqlu_dsn_free(&be->dsn);
    free(be->env_sql);
    pthread_mutex_destroy(&be->mu);
    free(be);
}

/* Connect the admin connection, check the settings, learn the version. */
static int admin_start(struct backend *be, struct err *e)
{
    unsigned long v;
    be->quiesced = false;
    if (admin_ensure(be, e) < 0)
        return -1;
    v = mysql_get_server_version(be->admin);
    be->server_version = v;
    be->mariadb = strstr(mysql_get_server_info(be->admin), "MariaDB") != NULL;
    be->iso_var = be->mariadb ? "tx_isolation" : "transaction_isolation";
    be->ro_var = be->mariadb ? "tx_read_only" : "transaction_read_only";
    snprintf(be->version, sizeof be->version, "%s %lu.%lu.%lu", be->mariadb ? "mariadb" : "mysql",
             v / 10000, v / 100 % 100, v % 100);
    return check_settings(be, e);
}

static struct backend *bmy_open(const char *dsn, struct err *e)
{
    struct backend *be = calloc(1, sizeof *be);
    uint64_t pending;
    enum ddl_verdict verdict;
    struct err ig;

    if (!be) {
        nomem(e);
        return NULL;
    }
    be->base.ops = &backend_mysql_ops;
    pthread_mutex_init(&be->mu, NULL);
    atomic_init(&be->ddl_gen, 0);
    if (mysqlu_dsn_parse(dsn, &be->dsn, e) < 0)
        goto err_after_alloc;
    if (admin_start(be, e) < 0 || build_env_sql(be, e) < 0 || create_schema(be, e) < 0)
        goto err_after_alloc;
    /* a DDL interrupted by a crash: decide from the schema; an undecidable
     * one stays pending (get_state shows it) and blocks its replay */
    ddl_resolve(be, &pending, &verdict, &ig);
    return be;
err_after_alloc:
    backend_free(be);
    return NULL;
}

static void bmy_close(struct backend *be)
{
    if (!be)
        return;
    /* sessions belong to their callers and must be closed first */
    assert(be->sessions == NULL);
    backend_free(be);
}

static const char *bmy_version(const struct backend *be)
{
    return be->version;
}

static int bmy_get_state(struct backend *be, struct backend_state *st, struct err *e)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    int rc = -1;
    pthread_mutex_lock(&be->mu);
    if (admin_ensure(be, e) < 0)
        goto done;
    if (!(r = raw_select(be->admin,
                         "SELECT s.applied, s.cluster, d.op FROM recall.recall_state s "
                         "JOIN recall.recall_ddl d ON d.id = s.id WHERE s.id = 1", e))) {
        admin_failed(be, e);
        goto done;
    }
    if ((row = mysql_fetch_row(r)) && row[0] && row[1] && row[2]) {
        st->applied = strtoull(row[0], NULL, 10);
        st->cluster = strtoull(row[1], NULL, 10);
        st->ddl_pending = strtoull(row[2], NULL, 10);
        rc = 0;
    } else {
        err_set(e, ERR_CORRUPT, "Recall's bookkeeping rows are missing");
    }
    mysql_free_result(r);
done:
    pthread_mutex_unlock(&be->mu);
    return rc;
}

static int bmy_set_cluster(struct backend *be, uint64_t cluster, struct err *e)
{
    uint64_t have;
    char sql[128];
    int rc = -1;
    pthread_mutex_lock(&be->mu);
    if (admin_u64(be, "SELECT cluster FROM recall.recall_state WHERE id = 1", &have, e) < 0)
        goto done;
    if (have == cluster) {
        rc = 0;
    } else if (have != 0) {
        err_set(e, ERR_CONFIG, "this database belongs to cluster %016" PRIx64 ", not %016" PRIx64,
                have, cluster);
    } else {
        snprintf(sql, sizeof sql,
                 "UPDATE recall.recall_state SET cluster = %" PRIu64 " WHERE id = 1 AND cluster = 0", cluster);
        rc = admin_query(be, sql, e);
    }
done:
    pthread_mutex_unlock(&be->mu);
    return rc;
}

static int bmy_client_lookup(struct backend *be, const struct proto_id *client,
                             struct backend_client_row *out, bool *found, struct err *e)
{
    char sql[200], hex[33];
    MYSQL_RES *r;
    MYSQL_ROW row;
    int rc = -1;

    hex16(client->b, hex);
    snprintf(sql, sizeof sql,
             "SELECT req, op, affected, insert_id, ts_us FROM recall.recall_clients WHERE client = X'%s'", hex);
    *found = false;
    pthread_mutex_lock(&be->mu);
    if (admin_ensure(be, e) < 0)
        goto done;
    if (!(r = raw_select(be->admin, sql, e))) {
        admin_failed(be, e);
        goto done;
    }
    if ((row = mysql_fetch_row(r)) && row[0] && row[1] && row[2] && row[3] && row[4]) {
        out->req = strtoull(row[0], NULL, 10);
        out->op = strtoull(row[1], NULL, 10);
        out->affected = strtoull(row[2], NULL, 10);
        out->insert_id = strtoull(row[3], NULL, 10);
        out->ts_us = strtoull(row[4], NULL, 10);
        *found = true;
    }
    mysql_free_result(r);
    rc = 0;
done:
    pthread_mutex_unlock(&be->mu);
    return rc;
}

static int bmy_flush(struct backend *be, uint64_t *durable_applied, struct err *e)
{
    uint64_t applied;
    int rc = -1;
    pthread_mutex_lock(&be->mu);
    /* everything up to this applied op is committed before the flush */
    if (admin_u64(be, "SELECT applied FROM recall.recall_state WHERE id = 1", &applied, e) == 0 &&
        flush_redo(be, e) == 0) {
        *durable_applied = applied;
        rc = 0;
    }
    pthread_mutex_unlock(&be->mu);
    return rc;
}

static int bmy_quiesce(struct backend *be, struct err *e)
{
    pthread_mutex_lock(&be->mu);
    /* sessions are used by their own threads: kill their server
     * connections (a blocked call returns) and let each notice */
    for (struct backend_session *s = be->sessions; s; s = s->next) {
        char sql[64];
        struct err ig;
        atomic_store(&s->stale, true);
        if (be->admin && s->thread_id) {
            snprintf(sql, sizeof sql, "KILL CONNECTION %lu", s->thread_id);
            raw_query(be->admin, sql, &ig);
        }
    }
    if (be->admin) {
        mysql_close(be->admin);
        be->admin = NULL;
    }
    be->quiesced = true;
    pthread_mutex_unlock(&be->mu);
    (void)e;
    return 0;
}

static int bmy_resume(struct backend *be, struct err *e)
{
    int rc;
    uint64_t pending;
    enum ddl_verdict verdict;
    struct err ig;
    pthread_mutex_lock(&be->mu);
    be->quiesced = false;
    rc = admin_start(be, e);
    if (rc == 0)
        rc = create_schema(be, e);
    if (rc == 0)
        ddl_resolve(be, &pending, &verdict, &ig);
    if (rc < 0)
        be->quiesced = true;
    pthread_mutex_unlock(&be->mu);
    return rc;
}

/* ---- checksums ---- */

static void bput(struct buf *b, const char *z)
{
    buf_append(b, z, strlen(z));
}

struct cs_table {
    char *schema, *name;
    struct buf cols; /* column list expression */
    struct buf lens;
};

static int checksum_one(MYSQL *m, struct cs_table *t, struct proto_kv *kv, struct err *e)
{
    struct buf q;
    MYSQL_RES *r;
    MYSQL_ROW row;
    int rc = -1;

    buf_init(&q);
    bput(&q, "SELECT MD5(CONCAT(COUNT(*), ':', IFNULL(SUM(CAST(CONV(LEFT(MD5(CONCAT_WS(0x1f, ");
    buf_append(&q, t->lens.data, t->lens.len);
    bput(&q, ", ");
    buf_append(&q, t->cols.data, t->cols.len);
    bput(&q, ")), 15), 16, 10) AS UNSIGNED)), 0))) FROM ");
    mysqlu_quote_ident(&q, t->schema, strlen(t->schema));
    bput(&q, ".");
    mysqlu_quote_ident(&q, t->name, strlen(t->name));
    buf_append(&q, "", 1);
    if (q.oom) {
        buf_close(&q);
        return nomem(e);
    }
    if (!(r = raw_select(m, (const char *)q.data, e)))
        goto done;
    row = mysql_fetch_row(r);
    if (row && row[0]) {
        char key[160];
        snprintf(key, sizeof key, "%s.%s", t->schema, t->name);
        if (proto_str_setz(&kv->key, key) < 0 || proto_str_setz(&kv->val, row[0]) < 0)
            nomem(e);
        else
            rc = 0;
    } else {
        err_set(e, ERR_INTERNAL, "no checksum for %s.%s", t->schema, t->name);
    }
    mysql_free_result(r);
done:
    buf_close(&q);
    return rc;
}

static int bmy_checksum(struct backend *be, uint64_t *applied, struct proto_list_kv *sums,
                        struct err *e)
{
    MYSQL *m;
    MYSQL_RES *r = NULL;
    MYSQL_ROW row;
    struct cs_table *tabs = NULL;
    size_t ntabs = 0, cap = 0;
    bool found;
    int rc = -1;
    char set[160];

    pthread_mutex_lock(&be->mu);
    rc = be->quiesced ? err_set(e, ERR_NOT_READY, "the backend is quiesced for a state transfer") : 0;
    pthread_mutex_unlock(&be->mu);
    if (rc < 0)
        return -1;
    rc = -1;
    /* a connection of its own: a long checksum must not hold be->mu */
    if (!(m = connect_as(be, be->dsn.user, be->dsn.password, NULL, e)))
        return -1;
    snprintf(set, sizeof set, "SET @@session.time_zone='+00:00', @@session.%s='REPEATABLE-READ'",
             be->iso_var);
    if (raw_query(m, set, e) < 0 ||
        raw_query(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", e) < 0 ||
        raw_u64(m, "SELECT applied FROM recall.recall_state WHERE id = 1", applied, &found, e) < 0)
        goto done;
    if (!(r = raw_select(m,
                         "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c "
                         "JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND "
                         "t.TABLE_NAME = c.TABLE_NAME WHERE t.TABLE_TYPE IN ('BASE TABLE', 'SEQUENCE') AND "
                         "c.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys', "
                         "'recall') ORDER BY BINARY c.TABLE_SCHEMA, BINARY c.TABLE_NAME, c.ORDINAL_POSITION", e)))
        goto done;
    while ((row = mysql_fetch_row(r))) {
        struct cs_table *t = ntabs ? &tabs[ntabs - 1] : NULL;
        if (!row[0] || !row[1] || !row[2])
            continue;
        if (!t || strcmp(t->schema, row[0]) != 0 || strcmp(t->name, row[1]) != 0) {
            if (ntabs == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct cs_table *n = realloc(tabs, ncap * sizeof *n);
                if (!n) {
                    nomem(e);
                    goto done;
                }
                tabs = n;
                cap = ncap;
            }
            t = &tabs[ntabs++];
            memset(t, 0, sizeof *t);
            buf_init(&t->cols);
            buf_init(&t->lens);
            t->schema = strdup(row[0]);
            t->name = strdup(row[1]);
            if (!t->schema || !t->name) {
                nomem(e);
                goto done;
            }
        } else {
            bput(&t->cols, ", ");
            bput(&t->lens, ", ");
        }
        /* each value's length and bytes: an unambiguous encoding of the row */
        bput(&t->lens, "IFNULL(LENGTH(");
        mysqlu_quote_ident(&t->lens, row[2], strlen(row[2]));
        bput(&t->lens, "), -1)");
        bput(&t->cols, "CAST(");
        mysqlu_quote_ident(&t->cols, row[2], strlen(row[2]));
        bput(&t->cols, " AS BINARY)");
        if (t->cols.oom || t->lens.oom) {
            nomem(e);
            goto done;
        }
    }
    mysql_free_result(r);
    r = NULL;
    if (proto_list_kv_resize(sums, (uint32_t)ntabs) < 0) {
        nomem(e);
        goto done;
    }
    for (size_t i = 0; i < ntabs; i++)
        if (checksum_one(m, &tabs[i], &sums->v[i], e) < 0)
            goto done;
    rc = raw_query(m, "COMMIT", e);
done:
    if (r)
        mysql_free_result(r);
    for (size_t i = 0; i < ntabs; i++) {
        free(tabs[i].schema);
        free(tabs[i].name);
        buf_close(&tabs[i].cols);
        buf_close(&tabs[i].lens);
    }
    free(tabs);
    mysql_close(m);
    if (rc < 0)
        proto_list_kv_resize(sums, 0);
    return rc;
}

const struct backend_ops backend_mysql_ops = {
    .kind = "mysql",
    .scheme = "mysql://",
    .open = bmy_open,
    .close = bmy_close,
    .version = bmy_version,
    .get_state = bmy_get_state,
    .set_cluster = bmy_set_cluster,
    .client_lookup = bmy_client_lookup,
    .flush = bmy_flush,
    .quiesce = bmy_quiesce,
    .resume = bmy_resume,
    .checksum = bmy_checksum,
    .session_open = bmy_session_open,
    .session_close = bmy_session_close,
    .begin = bmy_begin,
    .exec = bmy_exec,
    .fetch = bmy_fetch,
    .fetch_close = bmy_fetch_close,
    .savepoint = bmy_savepoint,
    .rollback_to = bmy_rollback_to,
    .release = bmy_release,
    .commit_entry = bmy_commit_entry,
    .commit_empty = bmy_commit_empty,
    .rollback = bmy_rollback,
    .read_begin = bmy_read_begin,
    .read_exec = bmy_read_exec,
    .read_end = bmy_read_end,
    .apply = bmy_apply,
    .apply_batch = bmy_apply_batch,
    .exec_ddl = bmy_exec_ddl,
    .describe = bmy_describe,
    .apply_ddl = bmy_apply_ddl,
};
