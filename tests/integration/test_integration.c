/* Integration tests of a real Recall cluster (issue 4): librecall against
 * three recalld processes with the SQLite or the MariaDB backend, started by
 * tests/integration/run.sh, which passes the connection string and the
 * cluster directory in the environment.  Functional cases: CRUD,
 * transactions, LAST_INSERT_ID, errors (SQLSTATE, native code, usability),
 * lock waits and deadlocks, concurrent conflicting clients and the
 * determinism of NOW()/RAND()/auto-increment (replicas compared table by
 * table through tests/integration/replicas.sh), refusals, DDL inside a
 * transaction, a client killed while holding a lock, wrong credentials, a
 * wrong replica list, and malformed frames from a raw socket.
 *
 * Environment: RECALL_TEST_CONN (connection string), RECALL_TEST_CLUSTER_DIR
 * (scripts/cluster --dir), RECALL_TEST_BACKEND (sqlite|mariadb), top_srcdir,
 * RECALL_BUILD; RECALL_TEST_ONLY=name[,name] runs only those tests (see
 * tests/integration/README).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "frame.h"
#include "proto.h"
#include "recall.h"
#include "testhelp.h"

static const char *conninfo;   /* RECALL_TEST_CONN */
static const char *cluster_dir;
static const char *top_srcdir;
static bool is_my;             /* MariaDB backend (else SQLite) */
static char replica_list[512]; /* the replicas= value */
static struct replica_addr addrs[ADDR_MAX_REPLICAS];
static size_t naddrs;

#define SQL(sqlite, mysql) (is_my ? (mysql) : (sqlite))

/* ------------------------------------------------------------ helpers */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static recall_conn *connect_with(const char *extra)
{
    char info[1024];
    recall_conn *c = NULL;
    snprintf(info, sizeof info, "%s%s%s", extra ? extra : "", extra ? ";" : "", conninfo);
    ck_assert_msg(recall_connect(info, &c) == RECALL_OK, "connect: %s (%s)",
                  c ? recall_errmsg(c) : "out of memory", c ? recall_sqlstate(c) : "");
    return c;
}

static recall_conn *connect_ok(void)
{
    return connect_with(NULL);
}

#define exec_ok(c, sql) exec_ok_at(__LINE__, (c), (sql))
static void exec_ok_at(int line, recall_conn *c, const char *sql)
{
    ck_assert_msg(recall_exec(c, sql) == RECALL_OK, "line %d: %s: %s (%s, native %d)", line, sql,
                  recall_errmsg(c), recall_sqlstate(c), recall_native_error(c));
}

/* Printf-style exec. */
static void execf_ok(recall_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void execf_ok(recall_conn *c, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    exec_ok(c, sql);
}

#define query_int(c, sql) query_int_at(__LINE__, (c), (sql))
static int64_t query_int_at(int line, recall_conn *c, const char *sql)
{
    recall_stmt *s = recall_prepare(c, sql, RECALL_NTS);
    int64_t v;
    int rc;
    ck_assert_msg(s, "line %d: prepare %s: %s", line, sql, recall_errmsg(c));
    ck_assert_msg(recall_execute(s) == RECALL_OK, "line %d: %s: %s (%s)", line, sql,
                  recall_stmt_errmsg(s), recall_stmt_sqlstate(s));
    rc = recall_fetch(s);
    ck_assert_msg(rc == RECALL_ROW, "line %d: %s: no row (%s)", line, sql, recall_stmt_errmsg(s));
    v = recall_value_int64(s, 0);
    recall_stmt_free(s);
    return v;
}

/* Drop and create a table (both are DDL, replicated as barriers). */
static void fresh_table(recall_conn *c, const char *name, const char *cols_sqlite,
                        const char *cols_mysql)
{
    execf_ok(c, "DROP TABLE IF EXISTS %s", name);
    execf_ok(c, "CREATE TABLE %s (%s)%s", name, is_my ? cols_mysql : cols_sqlite,
             is_my ? " ENGINE=InnoDB" : "");
}

/* Run a shell command, capture its output (newlines folded for TAP). */
static int run_capture(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int run_capture(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    FILE *p;
    size_t n = 0;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    out[0] = '\0';
    if (!(p = popen(cmd, "r")))
        return -1;
    while (n + 1 < cap && fgets(out + n, (int)(cap - n), p))
        n += strlen(out + n);
    while (fgetc(p) != EOF) /* drain */
        ;
    st = pclose(p);
    for (char *q = out; *q; q++)
        if (*q == '\n')
            *q = '|';
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Every replica has applied everything and holds identical tables, read
 * from its own database file or server. */
static void assert_replicas_same(void)
{
    static char out[16384];
    int rc = run_capture(out, sizeof out, "'%s/tests/integration/replicas.sh' same '%s' 60 2>&1",
                         top_srcdir, cluster_dir);
    ck_assert_msg(rc == 0, "replicas differ: %s", out);
}

/* Expect a failure with the given code and SQLSTATE (NULL: any), native
 * code (0: any); the connection stays usable. */
#define exec_fails(c, sql, code, state, native) \
    exec_fails_at(__LINE__, (c), (sql), (code), (state), (native))
static void exec_fails_at(int line, recall_conn *c, const char *sql, enum recall_code code,
                          const char *state, int native)
{
    int rc = recall_exec(c, sql);
    ck_assert_msg(rc == RECALL_ERROR, "line %d: %s: succeeded, expected an error", line, sql);
    ck_assert_msg(recall_errcode(c) == code, "line %d: %s: code %d, expected %d (%s: %s)", line,
                  sql, recall_errcode(c), code, recall_sqlstate(c), recall_errmsg(c));
    if (state)
        ck_assert_msg(strcmp(recall_sqlstate(c), state) == 0,
                      "line %d: %s: SQLSTATE %s, expected %s (%s)", line, sql, recall_sqlstate(c),
                      state, recall_errmsg(c));
    if (native)
        ck_assert_msg(recall_native_error(c) == native, "line %d: %s: native %d, expected %d (%s)",
                      line, sql, recall_native_error(c), native, recall_errmsg(c));
    ck_assert_msg(recall_errmsg(c)[0] != '\0', "line %d: %s: empty error message", line, sql);
    ck_assert_msg(recall_usable(c) == 1, "line %d: %s: connection unusable after %s", line, sql,
                  recall_errmsg(c));
}

/* ------------------------------------------------------------ CRUD */

START_TEST(crud)
{
    recall_conn *c = connect_ok(), *other = connect_ok();
    recall_stmt *s;
    size_t len;
    const unsigned char blob[] = {0, 1, 2, 0xff, 0};

    fresh_table(c, "it_crud",
                "id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, amount REAL, data BLOB",
                "id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, amount DOUBLE, data VARBINARY(64)");
    s = recall_prepare(c, "INSERT INTO it_crud (id, name, amount, data) VALUES (?, ?, ?, ?)",
                       RECALL_NTS);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(recall_param_count(s), 4);
    for (int i = 1; i <= 20; i++) {
        char name[40];
        snprintf(name, sizeof name, "name '%d'; --", i);
        recall_bind_int64(s, 1, i);
        recall_bind_text(s, 2, name, RECALL_NTS);
        if (i % 5 == 0)
            recall_bind_null(s, 3);
        else
            recall_bind_double(s, 3, i * 1.25);
        recall_bind_blob(s, 4, blob, sizeof blob);
        ck_assert_msg(recall_execute(s) == RECALL_OK, "insert %d: %s", i, recall_stmt_errmsg(s));
        ck_assert_uint_eq(recall_affected_rows(s), 1);
    }
    recall_stmt_free(s);
    /* Another connection reads them (linearizable: after the acknowledgement). */
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_crud"), 20);
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_crud WHERE amount IS NULL"), 4);

    s = recall_prepare(other, "SELECT id, name, amount, data FROM it_crud WHERE id = ?", RECALL_NTS);
    recall_bind_int64(s, 1, 7);
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_int_eq(recall_column_count(s), 4);
    ck_assert_str_eq(recall_column_name(s, 1), "name");
    ck_assert_int_eq(recall_fetch(s), RECALL_ROW);
    ck_assert_int_eq(recall_value_int64(s, 0), 7);
    ck_assert_str_eq(recall_value_text(s, 1, NULL), "name '7'; --");
    ck_assert(recall_value_double(s, 2) == 8.75);
    ck_assert(memcmp(recall_value_blob(s, 3, &len), blob, sizeof blob) == 0);
    ck_assert_uint_eq(len, sizeof blob);
    ck_assert_int_eq(recall_fetch(s), RECALL_DONE);
    recall_stmt_free(s);

    /* UPDATE and DELETE report the rows they changed. */
    s = recall_prepare(c, "UPDATE it_crud SET amount = ? WHERE id <= ?", RECALL_NTS);
    recall_bind_double(s, 1, -1.5);
    recall_bind_int64(s, 2, 3);
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_uint_eq(recall_affected_rows(s), 3);
    recall_stmt_free(s);
    s = recall_prepare(c, "DELETE FROM it_crud WHERE id > ?", RECALL_NTS);
    recall_bind_int64(s, 1, 15);
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_uint_eq(recall_affected_rows(s), 5);
    recall_bind_int64(s, 1, 100);
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_uint_eq(recall_affected_rows(s), 0);
    recall_stmt_free(s);
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_crud WHERE amount = -1.5"), 3);
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_crud"), 15);
    /* The three read consistencies all see the data. */
    recall_set_consistency(other, RECALL_SESSION);
    ck_assert_int_eq(query_int(other, "SELECT MAX(id) FROM it_crud"), 15);
    recall_set_consistency(other, RECALL_ANY);
    ck_assert_int_le(query_int(other, "SELECT MAX(id) FROM it_crud"), 20);
    /* Errors: unknown table, syntax; the connection stays usable. */
    exec_fails(c, "SELECT * FROM it_no_such_table", RECALL_E_SQL, is_my ? "42S02" : NULL,
               is_my ? 1146 : 0);
    exec_fails(c, "INSERT INTO it_no_such_table VALUES (1)", RECALL_E_SQL,
               is_my ? "42S02" : NULL, is_my ? 1146 : 0);
    exec_fails(c, "UPDATE it_crud SET WHERE", RECALL_E_SQL, is_my ? "42000" : NULL,
               is_my ? 1064 : 0);
    ck_assert_int_eq(query_int(c, "SELECT COUNT(*) FROM it_crud"), 15);
    recall_close(other);
    recall_close(c);
    assert_replicas_same();
}
END_TEST

/* ------------------------------------------------------------ transactions */

START_TEST(transactions)
{
    recall_conn *c = connect_ok(), *other = connect_ok();

    fresh_table(c, "it_txn", "id INTEGER PRIMARY KEY, v INTEGER", "id INT PRIMARY KEY, v INT");
    exec_ok(c, "INSERT INTO it_txn VALUES (1, 100), (2, 0)");

    /* Commit: own writes visible inside, others see them only after. */
    ck_assert_int_eq(recall_set_autocommit(c, 0), RECALL_OK);
    exec_ok(c, "UPDATE it_txn SET v = v - 30 WHERE id = 1");
    exec_ok(c, "UPDATE it_txn SET v = v + 30 WHERE id = 2");
    exec_ok(c, "INSERT INTO it_txn VALUES (3, 7)");
    ck_assert_int_eq(recall_in_transaction(c), 1);
    ck_assert_int_eq(query_int(c, "SELECT v FROM it_txn WHERE id = 2"), 30);
    ck_assert_int_eq(query_int(c, "SELECT COUNT(*) FROM it_txn"), 3);
    ck_assert_int_eq(query_int(other, "SELECT v FROM it_txn WHERE id = 2"), 0);
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_txn"), 2);
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    ck_assert_int_eq(recall_in_transaction(c), 0);
    ck_assert_int_eq(query_int(other, "SELECT v FROM it_txn WHERE id = 2"), 30);
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_txn"), 3);

    /* Rollback: nothing of it anywhere. */
    exec_ok(c, "UPDATE it_txn SET v = 0");
    exec_ok(c, "DELETE FROM it_txn WHERE id = 3");
    ck_assert_int_eq(query_int(c, "SELECT SUM(v) FROM it_txn"), 0);
    ck_assert_int_eq(recall_rollback(c), RECALL_OK);
    ck_assert_int_eq(query_int(c, "SELECT SUM(v) FROM it_txn"), 107);
    ck_assert_int_eq(recall_set_autocommit(c, 1), RECALL_OK);

    /* As SQL text, with a savepoint rolled back: only the rest is kept. */
    exec_ok(c, "BEGIN");
    exec_ok(c, "UPDATE it_txn SET v = v + 1 WHERE id = 1");
    exec_ok(c, "SAVEPOINT sp1");
    exec_ok(c, "UPDATE it_txn SET v = v + 1000 WHERE id = 2");
    exec_ok(c, "INSERT INTO it_txn VALUES (4, 4)");
    exec_ok(c, "ROLLBACK TO SAVEPOINT sp1");
    exec_ok(c, "INSERT INTO it_txn VALUES (5, 5)");
    exec_ok(c, "COMMIT");
    ck_assert_int_eq(query_int(other, "SELECT v FROM it_txn WHERE id = 1"), 71);
    ck_assert_int_eq(query_int(other, "SELECT v FROM it_txn WHERE id = 2"), 30);
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_txn WHERE id IN (4, 5)"), 1);
    exec_ok(c, "START TRANSACTION");
    exec_ok(c, "DELETE FROM it_txn WHERE id = 5");
    exec_ok(c, "ROLLBACK");
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_txn WHERE id = 5"), 1);

    /* A transaction that only read commits (ReadIndex) and sees its snapshot. */
    ck_assert_int_eq(recall_begin(c), RECALL_OK);
    ck_assert_int_eq(query_int(c, "SELECT SUM(v) FROM it_txn"), 113);
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    /* Read-only transaction: one snapshot; writes refused inside. */
    ck_assert_int_eq(recall_set_read_only(c, 1), RECALL_OK);
    ck_assert_int_eq(recall_begin(c), RECALL_OK);
    ck_assert_int_eq(query_int(c, "SELECT v FROM it_txn WHERE id = 1"), 71);
    exec_ok(other, "UPDATE it_txn SET v = 72 WHERE id = 1");
    ck_assert_int_eq(query_int(c, "SELECT v FROM it_txn WHERE id = 1"), 71);
    ck_assert_int_eq(recall_exec(c, "UPDATE it_txn SET v = 0"), RECALL_ERROR);
    ck_assert_int_eq(recall_usable(c), 1);
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    ck_assert_int_eq(recall_set_read_only(c, 0), RECALL_OK);
    ck_assert_int_eq(query_int(c, "SELECT v FROM it_txn WHERE id = 1"), 72);
    ck_assert_int_eq(query_int(c, "SELECT SUM(v) FROM it_txn"), 114);
    recall_close(other);
    recall_close(c);
    assert_replicas_same();
}
END_TEST

/* ------------------------------------------------------------ LAST_INSERT_ID */

START_TEST(last_insert_id)
{
    recall_conn *c = connect_ok(), *other = connect_ok();
    recall_stmt *s;
    const char *lid = SQL("last_insert_rowid()", "LAST_INSERT_ID()");
    char sql[256];

    fresh_table(c, "it_parent", "id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT",
                "id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40)");
    fresh_table(c, "it_child", "id INTEGER PRIMARY KEY AUTOINCREMENT, parent INTEGER, note TEXT",
                "id INT AUTO_INCREMENT PRIMARY KEY, parent INT, note VARCHAR(40)");
    s = recall_prepare(c, "INSERT INTO it_parent (name) VALUES (?)", RECALL_NTS);
    recall_bind_text(s, 1, "first", RECALL_NTS);
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_uint_eq(recall_last_insert_id(s), 1);
    recall_bind_text(s, 1, "second", RECALL_NTS);
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_uint_eq(recall_last_insert_id(s), 2);
    recall_stmt_free(s);
    /* A multi-row insert: MySQL reports the first id, SQLite the last rowid. */
    s = recall_prepare(c, "INSERT INTO it_parent (name) VALUES ('a'), ('b'), ('c')", RECALL_NTS);
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_uint_eq(recall_affected_rows(s), 3);
    ck_assert_uint_eq(recall_last_insert_id(s), is_my ? 3 : 5);
    recall_stmt_free(s);
    /* Another client's insert does not change ours. */
    exec_ok(other, "INSERT INTO it_parent (name) VALUES ('other')");

    /* Inside a transaction: the id is usable in the next statements, and
     * replayed identically on every replica. */
    ck_assert_int_eq(recall_set_autocommit(c, 0), RECALL_OK);
    exec_ok(c, "INSERT INTO it_parent (name) VALUES ('txn')");
    ck_assert_int_eq(query_int(c, "SELECT MAX(id) FROM it_parent"), 7);
    snprintf(sql, sizeof sql, "SELECT %s", lid);
    ck_assert_int_eq(query_int(c, sql), 7);
    snprintf(sql, sizeof sql, "INSERT INTO it_child (parent, note) VALUES (%s, 'via function')", lid);
    exec_ok(c, sql);
    /* In MySQL LAST_INSERT_ID() now is the child's id; SQLite's rowid likewise. */
    snprintf(sql, sizeof sql, "INSERT INTO it_child (parent, note) VALUES (%s, 'chained')", lid);
    exec_ok(c, sql);
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    ck_assert_int_eq(recall_set_autocommit(c, 1), RECALL_OK);
    ck_assert_int_eq(query_int(other, "SELECT parent FROM it_child WHERE note = 'via function'"), 7);
    ck_assert_int_eq(query_int(other, "SELECT parent FROM it_child WHERE note = 'chained'"), 1);
    /* An explicit id moves the counter. */
    exec_ok(c, "INSERT INTO it_parent (id, name) VALUES (100, 'explicit')");
    s = recall_prepare(c, "INSERT INTO it_parent (name) VALUES ('after')", RECALL_NTS);
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_uint_eq(recall_last_insert_id(s), 101);
    recall_stmt_free(s);
    /* LAST_INSERT_ID() as a value in an autocommit write. */
    snprintf(sql, sizeof sql, "INSERT INTO it_child (parent, note) VALUES (%s, 'autocommit')", lid);
    exec_ok(c, sql);
    ck_assert_int_eq(query_int(other, "SELECT parent FROM it_child WHERE note = 'autocommit'"), 101);
    recall_close(other);
    recall_close(c);
    assert_replicas_same();
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(duplicate_key)
{
    recall_conn *c = connect_ok();
    int native = is_my ? 1062 : 1555; /* ER_DUP_ENTRY, SQLITE_CONSTRAINT_PRIMARYKEY */

    fresh_table(c, "it_dup", "id INTEGER PRIMARY KEY, u TEXT UNIQUE",
                "id INT PRIMARY KEY, u VARCHAR(20) UNIQUE");
    exec_ok(c, "INSERT INTO it_dup VALUES (1, 'a')");
    exec_fails(c, "INSERT INTO it_dup VALUES (1, 'b')", RECALL_E_SQL, "23000", native);
    exec_fails(c, "INSERT INTO it_dup VALUES (2, 'a')", RECALL_E_SQL, "23000",
               is_my ? 1062 : 2067 /* SQLITE_CONSTRAINT_UNIQUE */);
    /* In a transaction the failed statement is not logged and the
     * transaction goes on (as in MySQL). */
    ck_assert_int_eq(recall_set_autocommit(c, 0), RECALL_OK);
    exec_ok(c, "INSERT INTO it_dup VALUES (2, 'b')");
    exec_fails(c, "INSERT INTO it_dup VALUES (1, 'c')", RECALL_E_SQL, "23000", native);
    ck_assert_int_eq(recall_in_transaction(c), 1);
    exec_ok(c, "INSERT INTO it_dup VALUES (3, 'c')");
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    ck_assert_int_eq(recall_set_autocommit(c, 1), RECALL_OK);
    ck_assert_int_eq(query_int(c, "SELECT COUNT(*) FROM it_dup"), 3);
    ck_assert_int_eq(query_int(c, "SELECT COUNT(*) FROM it_dup WHERE u = 'c' AND id = 3"), 1);
    recall_close(c);
    assert_replicas_same();
}
END_TEST

struct blocked {
    recall_conn *c;
    const char *sql;
    int rc;
    enum recall_code code;
    char state[6];
    int native;
    int in_txn, usable;
    double seconds;
    atomic_bool done;
};

static void *blocked_exec(void *arg)
{
    struct blocked *b = arg;
    double t0 = now_s();
    b->rc = recall_exec(b->c, b->sql);
    b->seconds = now_s() - t0;
    b->code = recall_errcode(b->c);
    snprintf(b->state, sizeof b->state, "%s", recall_sqlstate(b->c));
    b->native = recall_native_error(b->c);
    b->in_txn = recall_in_transaction(b->c);
    b->usable = recall_usable(b->c);
    atomic_store(&b->done, true);
    return NULL;
}

/* A statement waiting for a row lock (MySQL) or the write lock (SQLite)
 * gives up with the database's lock-wait error; the transaction stays open. */
START_TEST(lock_wait_timeout)
{
    recall_conn *a = connect_ok(), *b = connect_ok();
    double t0;
    int rc;

    fresh_table(a, "it_lock", "id INTEGER PRIMARY KEY, v INTEGER", "id INT PRIMARY KEY, v INT");
    exec_ok(a, "INSERT INTO it_lock VALUES (1, 0), (2, 0)");
    if (is_my)
        exec_ok(b, "SET innodb_lock_wait_timeout = 1");
    ck_assert_int_eq(recall_set_autocommit(a, 0), RECALL_OK);
    ck_assert_int_eq(recall_set_autocommit(b, 0), RECALL_OK);
    exec_ok(a, "UPDATE it_lock SET v = 1 WHERE id = 1");
    /* b's transaction has done something before it waits (another row
     * for MySQL; a read for SQLite, where any write waits for a's lock). */
    if (is_my)
        exec_ok(b, "UPDATE it_lock SET v = 2 WHERE id = 2");
    else
        ck_assert_int_eq(query_int(b, "SELECT COUNT(*) FROM it_lock"), 2);
    t0 = now_s();
    rc = recall_exec(b, "UPDATE it_lock SET v = 3 WHERE id = 1");
    ck_assert_msg(rc == RECALL_ERROR, "the locked row was updated");
    ck_assert_msg(strcmp(recall_sqlstate(b), "HY000") == 0, "SQLSTATE %s (%s)",
                  recall_sqlstate(b), recall_errmsg(b));
    ck_assert_int_eq(recall_native_error(b), is_my ? 1205 : 5 /* SQLITE_BUSY */);
    ck_assert_msg(strstr(recall_errmsg(b), "ock wait timeout"), "message: %s", recall_errmsg(b));
    ck_assert_int_eq(recall_usable(b), 1);
    ck_assert_msg(now_s() - t0 < 20, "the wait took %.1f s", now_s() - t0);
    /* Only the statement failed: the transaction goes on (docs/BACKEND-MYSQL.md
     * section 10; LIBRECALL.md: an SQL error leaves the transaction open). */
    ck_assert_msg(recall_in_transaction(b) == 1, "the lock wait timeout closed the transaction: %s",
                  recall_errmsg(b));
    ck_assert_int_eq(recall_commit(a), RECALL_OK);
    if (is_my) {
        exec_ok(b, "UPDATE it_lock SET v = v + 10 WHERE id = 1");
        ck_assert_int_eq(recall_commit(b), RECALL_OK);
    } else {
        /* b's snapshot predates a's commit: it may still read, not write */
        ck_assert_int_eq(query_int(b, "SELECT SUM(v) FROM it_lock"), 0);
        ck_assert_int_eq(recall_in_transaction(b), 1);
        ck_assert_int_eq(recall_rollback(b), RECALL_OK);
        exec_ok(b, "UPDATE it_lock SET v = v + 10 WHERE id = 1");
        ck_assert_int_eq(recall_commit(b), RECALL_OK);
    }
    ck_assert_int_eq(recall_set_autocommit(a, 1), RECALL_OK);
    ck_assert_int_eq(query_int(a, "SELECT v FROM it_lock WHERE id = 1"), 11);
    ck_assert_int_eq(query_int(a, "SELECT v FROM it_lock WHERE id = 2"), is_my ? 2 : 0);
    recall_close(a);
    recall_close(b);
    assert_replicas_same();
}
END_TEST

/* Two transactions that lock in opposite orders: MySQL detects the deadlock
 * and rolls one back (1213); SQLite cannot let a transaction that read before
 * the other's commit write (40001, serialization failure). */
START_TEST(deadlock)
{
    recall_conn *a = connect_ok(), *b = connect_ok();
    struct blocked bt = {.c = b};
    pthread_t th;
    int a_rc;

    fresh_table(a, "it_dl", "id INTEGER PRIMARY KEY, v INTEGER", "id INT PRIMARY KEY, v INT");
    exec_ok(a, "INSERT INTO it_dl VALUES (1, 0), (2, 0)");
    ck_assert_int_eq(recall_set_autocommit(a, 0), RECALL_OK);
    ck_assert_int_eq(recall_set_autocommit(b, 0), RECALL_OK);
    if (is_my) {
        exec_ok(a, "UPDATE it_dl SET v = v + 1 WHERE id = 1");
        exec_ok(b, "UPDATE it_dl SET v = v + 10 WHERE id = 2");
        bt.sql = "UPDATE it_dl SET v = v + 10 WHERE id = 1"; /* waits for a */
        pthread_create(&th, NULL, blocked_exec, &bt);
        usleep(500000); /* let b wait on a's lock first */
        a_rc = recall_exec(a, "UPDATE it_dl SET v = v + 1 WHERE id = 2");
        pthread_join(th, NULL);
        /* Exactly one of them is the victim. */
        ck_assert_msg((a_rc == RECALL_OK) != (bt.rc == RECALL_OK),
                      "a: %d (%s), b: %d (%s)", a_rc, recall_errmsg(a), bt.rc, recall_errmsg(b));
        if (a_rc != RECALL_OK) {
            ck_assert_int_eq(recall_errcode(a), RECALL_E_DEADLOCK);
            ck_assert_str_eq(recall_sqlstate(a), "40001");
            ck_assert_int_eq(recall_native_error(a), 1213);
            ck_assert_int_eq(recall_usable(a), 1);
            ck_assert_int_eq(recall_in_transaction(a), 0);
            ck_assert_int_eq(recall_commit(b), RECALL_OK);
        } else {
            ck_assert_msg(bt.code == RECALL_E_DEADLOCK, "code %d", bt.code);
            ck_assert_str_eq(bt.state, "40001");
            ck_assert_int_eq(bt.native, 1213);
            ck_assert_int_eq(bt.usable, 1);
            ck_assert_int_eq(bt.in_txn, 0);
            ck_assert_int_eq(recall_commit(a), RECALL_OK);
        }
        ck_assert_int_eq(recall_set_autocommit(a, 1), RECALL_OK);
        ck_assert_int_eq(query_int(a, "SELECT SUM(v) FROM it_dl"), a_rc == RECALL_OK ? 2 : 20);
    } else {
        /* both read, then both want to write */
        ck_assert_int_eq(query_int(a, "SELECT SUM(v) FROM it_dl"), 0);
        ck_assert_int_eq(query_int(b, "SELECT SUM(v) FROM it_dl"), 0);
        exec_ok(a, "UPDATE it_dl SET v = v + 1 WHERE id = 1");
        bt.sql = "UPDATE it_dl SET v = v + 10 WHERE id = 2"; /* waits for a's commit */
        pthread_create(&th, NULL, blocked_exec, &bt);
        usleep(300000);
        ck_assert_int_eq(recall_commit(a), RECALL_OK);
        pthread_join(th, NULL);
        ck_assert_msg(bt.rc == RECALL_ERROR, "b's write on a stale snapshot succeeded");
        ck_assert_msg(bt.code == RECALL_E_DEADLOCK, "code %d, SQLSTATE %s", bt.code, bt.state);
        ck_assert_str_eq(bt.state, "40001");
        ck_assert_int_eq(bt.native, 517); /* SQLITE_BUSY_SNAPSHOT */
        ck_assert_int_eq(bt.usable, 1);
        ck_assert_int_eq(bt.in_txn, 0);
        ck_assert_msg(bt.seconds < 8, "b waited %.1f s", bt.seconds);
        /* The retry works. */
        exec_ok(b, "UPDATE it_dl SET v = v + 10 WHERE id = 2");
        ck_assert_int_eq(recall_commit(b), RECALL_OK);
        ck_assert_int_eq(recall_set_autocommit(a, 1), RECALL_OK);
        ck_assert_int_eq(query_int(a, "SELECT SUM(v) FROM it_dl"), 11);
    }
    recall_close(a);
    recall_close(b);
    assert_replicas_same();
}
END_TEST

/* ------------------------------------------------------------ concurrency */

#define NTHREADS 4
#define NACCOUNTS 6
#define NTRANSFERS 20

struct worker {
    int id;
    int committed, retried;
    char error[512];
};

/* Random transfers between accounts, each a transaction retried on 40001
 * (deadlock, serialization failure) and lock-wait timeouts; every committed
 * transfer also logs a row. */
static void *transfer_worker(void *arg)
{
    struct worker *w = arg;
    recall_conn *c = NULL;
    char info[1024], sql[256];
    uint64_t rnd = 0x1234567ull * (uint64_t)(w->id + 1);

    snprintf(info, sizeof info, "%s", conninfo);
    if (recall_connect(info, &c) != RECALL_OK) {
        snprintf(w->error, sizeof w->error, "connect: %s", c ? recall_errmsg(c) : "nomem");
        recall_close(c);
        return NULL;
    }
    if (is_my)
        recall_exec(c, "SET innodb_lock_wait_timeout = 5");
    recall_set_autocommit(c, 0);
    for (int n = 0; n < NTRANSFERS && !w->error[0];) {
        int from = (int)(testhelp_rand(&rnd) % NACCOUNTS) + 1;
        int to = (int)(testhelp_rand(&rnd) % (NACCOUNTS - 1)) + 1;
        int amount = (int)(testhelp_rand(&rnd) % 10) + 1;
        const char *steps[3];
        char s1[128], s2[128], s3[128];
        int ok = 1;
        if (to >= from)
            to++;
        snprintf(s1, sizeof s1, "UPDATE it_acct SET bal = bal - %d WHERE id = %d", amount, from);
        snprintf(s2, sizeof s2, "UPDATE it_acct SET bal = bal + %d WHERE id = %d", amount, to);
        snprintf(s3, sizeof s3, "INSERT INTO it_xfer (worker, n, src, dst, amount) VALUES (%d, %d, %d, %d, %d)",
                 w->id, n, from, to, amount);
        steps[0] = s1, steps[1] = s2, steps[2] = s3;
        for (int k = 0; k < 3 && ok; k++)
            if (recall_exec(c, steps[k]) != RECALL_OK)
                ok = 0;
        if (ok && recall_commit(c) == RECALL_OK) {
            w->committed++;
            n++;
            continue;
        }
        if (!recall_usable(c)) {
            snprintf(w->error, sizeof w->error, "unusable: %s", recall_errmsg(c));
            break;
        }
        if (strcmp(recall_sqlstate(c), "40001") != 0 && recall_native_error(c) != 1205 &&
            recall_native_error(c) != 5) {
            snprintf(w->error, sizeof w->error, "transfer %d: %s (%s, native %d)", n,
                     recall_errmsg(c), recall_sqlstate(c), recall_native_error(c));
            break;
        }
        w->retried++;
        if (recall_in_transaction(c))
            recall_rollback(c);
        usleep((useconds_t)(testhelp_rand(&rnd) % 20000));
    }
    snprintf(sql, sizeof sql, "%s", "SELECT 1");
    recall_close(c);
    return NULL;
}

START_TEST(concurrent_conflicts)
{
    recall_conn *c = connect_ok();
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    int committed = 0, retried = 0;

    fresh_table(c, "it_acct", "id INTEGER PRIMARY KEY, bal INTEGER NOT NULL",
                "id INT PRIMARY KEY, bal INT NOT NULL");
    fresh_table(c, "it_xfer",
                "seq INTEGER PRIMARY KEY AUTOINCREMENT, worker INT, n INT, src INT, dst INT, amount INT",
                "seq INT AUTO_INCREMENT PRIMARY KEY, worker INT, n INT, src INT, dst INT, amount INT");
    for (int i = 1; i <= NACCOUNTS; i++)
        execf_ok(c, "INSERT INTO it_acct VALUES (%d, 1000)", i);
    memset(w, 0, sizeof w);
    for (int i = 0; i < NTHREADS; i++) {
        w[i].id = i;
        pthread_create(&th[i], NULL, transfer_worker, &w[i]);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(!w[i].error[0], "worker %d: %s", i, w[i].error);
        committed += w[i].committed;
        retried += w[i].retried;
    }
    printf("# concurrent_conflicts: %d transfers committed, %d retried\n", committed, retried);
    ck_assert_int_eq(committed, NTHREADS * NTRANSFERS);
    /* Money is conserved and every committed transfer is there, once. */
    ck_assert_int_eq(query_int(c, "SELECT SUM(bal) FROM it_acct"), NACCOUNTS * 1000);
    ck_assert_int_eq(query_int(c, "SELECT COUNT(*) FROM it_xfer"), committed);
    ck_assert_int_eq(query_int(c, "SELECT COUNT(DISTINCT worker * 1000 + n) FROM it_xfer"), committed);
    /* Balances equal the log of transfers. */
    for (int i = 1; i <= NACCOUNTS; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT 1000 - COALESCE((SELECT SUM(amount) FROM it_xfer WHERE src = %d), 0)"
                 " + COALESCE((SELECT SUM(amount) FROM it_xfer WHERE dst = %d), 0)"
                 " - (SELECT bal FROM it_acct WHERE id = %d)", i, i, i);
        ck_assert_int_eq(query_int(c, sql), 0);
    }
    recall_close(c);
    assert_replicas_same();
}
END_TEST

/* NOW(), RAND(), auto-increment (SQLite: 'now', random(), randomblob(),
 * AUTOINCREMENT) from several clients at once: every replica must hold the
 * very same values. */
static void *determinism_worker(void *arg)
{
    struct worker *w = arg;
    recall_conn *c = NULL;
    recall_stmt *s;
    const char *ins = SQL("INSERT INTO it_det (worker, n, t, r, b) VALUES "
                          "(?, ?, strftime('%Y-%m-%d %H:%M:%f', 'now'), random(), randomblob(8))",
                          "INSERT INTO it_det (worker, n, t, r, u) VALUES "
                          "(?, ?, NOW(6), RAND(), UNIX_TIMESTAMP(NOW(6)))");

    if (recall_connect(conninfo, &c) != RECALL_OK) {
        snprintf(w->error, sizeof w->error, "connect: %s", c ? recall_errmsg(c) : "nomem");
        recall_close(c);
        return NULL;
    }
    s = recall_prepare(c, ins, RECALL_NTS);
    for (int n = 0; n < 30 && s; n++) {
        int rc;
        if (n % 10 == 9) { /* a few in a transaction of two */
            recall_set_autocommit(c, 0);
            recall_bind_int64(s, 1, w->id);
            recall_bind_int64(s, 2, n);
            rc = recall_execute(s);
            recall_stmt_reset(s);
            if (rc == RECALL_OK) {
                rc = recall_exec(c, SQL("INSERT INTO it_det (worker, n, t, r, b) VALUES "
                                        "(-1, -1, datetime('now'), random(), randomblob(4))",
                                        "INSERT INTO it_det (worker, n, t, r, u) VALUES "
                                        "(-1, -1, CURRENT_TIMESTAMP(6), RAND(), UNIX_TIMESTAMP())"));
            }
            if (rc == RECALL_OK)
                rc = recall_commit(c);
            recall_set_autocommit(c, 1);
        } else {
            recall_bind_int64(s, 1, w->id);
            recall_bind_int64(s, 2, n);
            rc = recall_execute(s);
            recall_stmt_reset(s);
        }
        if (rc != RECALL_OK) {
            if (strcmp(recall_sqlstate(c), "40001") == 0) {
                w->retried++;
                if (recall_in_transaction(c))
                    recall_rollback(c);
                recall_set_autocommit(c, 1);
                n--;
                continue;
            }
            snprintf(w->error, sizeof w->error, "insert %d: %s (%s)", n, recall_errmsg(c),
                     recall_sqlstate(c));
            break;
        }
        w->committed++;
    }
    if (!s)
        snprintf(w->error, sizeof w->error, "prepare: %s", recall_errmsg(c));
    recall_stmt_free(s);
    recall_close(c);
    return NULL;
}

START_TEST(determinism)
{
    recall_conn *c = connect_ok();
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];

    fresh_table(c, "it_det",
                "id INTEGER PRIMARY KEY AUTOINCREMENT, worker INT, n INT, t TEXT, r INTEGER, b BLOB, "
                "d TEXT DEFAULT CURRENT_TIMESTAMP, x INTEGER DEFAULT (random())",
                "id INT AUTO_INCREMENT PRIMARY KEY, worker INT, n INT, t DATETIME(6), r DOUBLE, "
                "u DECIMAL(20,6), d TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)");
    memset(w, 0, sizeof w);
    for (int i = 0; i < NTHREADS; i++) {
        w[i].id = i;
        pthread_create(&th[i], NULL, determinism_worker, &w[i]);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(!w[i].error[0], "worker %d: %s", i, w[i].error);
    }
    ck_assert_int_eq(query_int(c, "SELECT COUNT(*) FROM it_det"), NTHREADS * 33);
    ck_assert_int_eq(query_int(c, "SELECT COUNT(DISTINCT id) FROM it_det"), NTHREADS * 33);
    /* The random values really are random (seeds differ per statement). */
    ck_assert_int_ge(query_int(c, "SELECT COUNT(DISTINCT r) FROM it_det"), NTHREADS * 30);
    /* Statements after the inserts, also non-deterministic in appearance. */
    exec_ok(c, SQL("UPDATE it_det SET x = random() WHERE worker = 0",
                   "UPDATE it_det SET t = NOW(6) WHERE worker = 0"));
    exec_ok(c, SQL("DELETE FROM it_det WHERE id IN (SELECT id FROM it_det ORDER BY r LIMIT 5)",
                   "DELETE FROM it_det WHERE worker = 1 AND n < 3"));
    recall_close(c);
    assert_replicas_same();
}
END_TEST

/* ------------------------------------------------------------ refusals */

struct refusal {
    const char *sql;
    bool server_error; /* the database itself refuses it (any error code) */
};

START_TEST(refusals)
{
    static const struct refusal common[] = {
        {"CALL it_proc()", false},
        {"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", false},
        {"SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED", false},
        {"INSERT INTO it_ref (v) VALUES ('x'); INSERT INTO it_ref (v) VALUES ('y')", false},
        {"UPDATE it_ref SET v = 'x'; SELECT 1", false},
        {"CREATE TEMPORARY TABLE it_tmp (a INT)", false},
        {"LOAD DATA INFILE '/etc/hostname' INTO TABLE it_ref", false},
        {"LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE it_ref", false},
        {"SELECT v FROM it_ref INTO OUTFILE '/tmp/recall-it-outfile'", false},
        {"SELECT GET_LOCK('it', 1)", false},
        {NULL, false}};
    static const struct refusal mysql[] = {
        /* unsafe for statement-based replication: the server decides (1592) */
        {"INSERT INTO it_ref (v) VALUES (UUID())", false},
        {"INSERT INTO it_ref (v) VALUES (SYSDATE())", false},
        {"INSERT INTO it_ref (v) VALUES (USER())", false},
        {"INSERT INTO it_ref (v) VALUES (VERSION())", false},
        {"UPDATE it_ref SET v = 'z' LIMIT 1", false},
        {"DELETE FROM it_ref LIMIT 1", false},
        {"INSERT INTO it_ref (v) SELECT v FROM it_ref", false},
        {"UPDATE it_ref SET n = RAND()", false},
        /* refused by Recall */
        {"INSERT INTO it_ref (v) VALUES (@x)", false},
        {"UPDATE it_ref SET v = 'q' WHERE id IN (SELECT id FROM it_ref2 FOR UPDATE SKIP LOCKED)", false},
        {"DELETE FROM it_ref WHERE id IN (SELECT id FROM it_ref2 FOR UPDATE NOWAIT)", false},
        {"CREATE VIEW it_view AS SELECT * FROM it_ref", false},
        {"CREATE TRIGGER it_trg BEFORE INSERT ON it_ref FOR EACH ROW SET NEW.n = 1", false},
        {"LOCK TABLES it_ref WRITE", false},
        {"UNLOCK TABLES", false},
        {"HANDLER it_ref OPEN", false},
        {"XA START 'it'", false},
        {"PREPARE it_stmt FROM 'DELETE FROM it_ref'", false},
        {"SET GLOBAL max_connections = 10", false},
        {"SET STATEMENT sql_log_bin = 0 FOR INSERT INTO it_ref (v) VALUES ('hidden')", false},
        {"BEGIN NOT ATOMIC DELETE FROM it_ref; END", false},
        {"COMMIT AND CHAIN", false},
        {"FLUSH TABLES WITH READ LOCK", false},
        {"INSERT INTO it_ref (v) VALUES ('r') RETURNING id", false},
        {"SELECT SLEEP(0) INTO @y", false},
        /* non-transactional tables: InnoDB is enforced */
        {"CREATE TABLE it_myisam (a INT) ENGINE=MyISAM", true},
        {"CREATE TABLE it_memory (a INT) ENGINE=MEMORY", true},
        {NULL, false}};
    static const struct refusal sqlite[] = {
        {"ATTACH DATABASE '/tmp/recall-it-attach.db' AS other", false},
        {"DETACH DATABASE main", false},
        {"VACUUM", false},
        {"PRAGMA foreign_keys = OFF", false},
        {"PRAGMA journal_mode = DELETE", false},
        {"PRAGMA wal_checkpoint", false},
        {"PRAGMA optimize", false},
        {"CREATE TEMP TABLE it_tmp2 (a)", false},
        {"CREATE TABLE temp.it_tmp3 (a)", false},
        {"UPDATE recall_state SET applied = 0", false},
        {"DELETE FROM recall_clients", false},
        {"DROP TABLE recall_state", false},
        {"CREATE INDEX recall_x ON it_ref (v)", false},
        {"UPDATE sqlite_schema SET sql = '' WHERE name = 'it_ref'", false},
        {"INSERT INTO it_ref (v, n) VALUES ('c', changes())", false},
        {"INSERT INTO it_ref (v, n) VALUES ('c', total_changes())", false},
        {"INSERT INTO it_ref (v) VALUES (datetime('now', 'localtime'))", false},
        {"UPDATE it_ref SET v = date('now', 'utc')", false},
        {"SELECT load_extension('/tmp/recall-it-ext.so')", false},
        {"SELECT 1; SELECT 2", false},
        {NULL, false}};
    const struct refusal *lists[] = {common, is_my ? mysql : sqlite};
    recall_conn *c = connect_ok();
    int n = 0, nbad = 0;
    static char bad[8192];

    fresh_table(c, "it_ref", "id INTEGER PRIMARY KEY, v TEXT, n REAL",
                "id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64), n DOUBLE");
    fresh_table(c, "it_ref2", "id INTEGER PRIMARY KEY", "id INT PRIMARY KEY");
    exec_ok(c, "INSERT INTO it_ref (v, n) VALUES ('kept', 1), ('kept', 2)");
    exec_ok(c, "INSERT INTO it_ref2 VALUES (1), (2)");
    /* Every statement is tried; the mismatches are reported together. */
    for (int l = 0; l < 2; l++)
        for (const struct refusal *r = lists[l]; r->sql; r++) {
            int rc = recall_exec(c, r->sql);
            char why[600] = "";
            n++;
            if (rc != RECALL_ERROR)
                snprintf(why, sizeof why, "accepted");
            else if (r->server_error && recall_errcode(c) != RECALL_E_SQL &&
                     recall_errcode(c) != RECALL_E_REFUSED)
                snprintf(why, sizeof why, "code %d (%s)", recall_errcode(c), recall_errmsg(c));
            else if (!r->server_error && (recall_errcode(c) != RECALL_E_REFUSED ||
                                          strcmp(recall_sqlstate(c), "0A000") != 0))
                snprintf(why, sizeof why, "code %d, SQLSTATE %s, expected a refusal, 0A000 (%s)",
                         recall_errcode(c), recall_sqlstate(c), recall_errmsg(c));
            else if (!r->server_error && strlen(recall_errmsg(c)) <= 30)
                snprintf(why, sizeof why, "the message does not say why: '%s'", recall_errmsg(c));
            else if (recall_usable(c) != 1)
                snprintf(why, sizeof why, "connection unusable (%s)", recall_errmsg(c));
            if (why[0]) {
                nbad++;
                snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "[%s: %s] ", r->sql, why);
            }
        }
    /* A NUL byte outside a literal (the text is passed with its length). */
    {
        static const char nul[] = "INSERT INTO it_ref (v) VALUES ('a')\0 ; DELETE FROM it_ref";
        recall_stmt *st = recall_prepare(c, nul, sizeof nul - 1);
        int rc = st ? recall_execute(st) : RECALL_ERROR;
        n++;
        if (rc != RECALL_ERROR || recall_errcode(c) != RECALL_E_REFUSED) {
            nbad++;
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad),
                     "[a statement with a NUL byte: rc %d, code %d (%s)] ", rc, recall_errcode(c),
                     recall_errmsg(c));
        }
        recall_stmt_free(st);
    }
    ck_assert_msg(nbad == 0, "%d of %d statements not refused as documented: %s", nbad, n, bad);
    /* An unsafe statement inside a transaction is refused, the transaction
     * goes on. */
    ck_assert_int_eq(recall_set_autocommit(c, 0), RECALL_OK);
    exec_ok(c, "INSERT INTO it_ref (v, n) VALUES ('txn', 3)");
    exec_fails(c, SQL("INSERT INTO it_ref (v) VALUES (datetime('now', 'localtime'))",
                      "INSERT INTO it_ref (v) VALUES (UUID())"),
               RECALL_E_REFUSED, "0A000", is_my ? 1592 : 0);
    ck_assert_int_eq(recall_in_transaction(c), 1);
    exec_ok(c, "INSERT INTO it_ref (v, n) VALUES ('txn', 4)");
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    ck_assert_int_eq(recall_set_autocommit(c, 1), RECALL_OK);
    /* Nothing refused changed anything. */
    ck_assert_int_eq(query_int(c, "SELECT COUNT(*) FROM it_ref"), 4);
    ck_assert_int_eq(query_int(c, "SELECT COUNT(*) FROM it_ref WHERE v IN ('kept', 'txn')"), 4);
    ck_assert_int_eq(query_int(c, "SELECT SUM(n) FROM it_ref"), 10);
    printf("# refusals: %d statements refused\n", n);
    recall_close(c);
    assert_replicas_same();
}
END_TEST

/* ------------------------------------------------------------ DDL in a transaction */

START_TEST(ddl_in_transaction)
{
    recall_conn *c = connect_ok(), *other = connect_ok();

    fresh_table(c, "it_ddl", "id INTEGER PRIMARY KEY, v TEXT", "id INT PRIMARY KEY, v VARCHAR(20)");
    execf_ok(c, "DROP TABLE IF EXISTS it_ddl2");
    ck_assert_int_eq(recall_set_autocommit(c, 0), RECALL_OK);
    exec_ok(c, "INSERT INTO it_ddl VALUES (1, 'before ddl')");
    ck_assert_int_eq(recall_in_transaction(c), 1);
    /* DDL commits the open transaction first, as MySQL does. */
    exec_ok(c, "CREATE TABLE it_ddl2 (id INT PRIMARY KEY)");
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_ddl WHERE id = 1"), 1);
    exec_ok(c, "INSERT INTO it_ddl2 VALUES (1)");
    ck_assert_int_eq(recall_rollback(c), RECALL_OK); /* undoes only the last insert */
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_ddl WHERE id = 1"), 1);
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_ddl2"), 0);
    /* DDL that alters a table written in the same transaction. */
    exec_ok(c, "INSERT INTO it_ddl VALUES (2, 'then alter')");
    exec_ok(c, "ALTER TABLE it_ddl ADD COLUMN extra INT");
    exec_ok(c, "UPDATE it_ddl SET extra = 5 WHERE id = 2");
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    /* BEGIN inside a transaction commits it too. */
    exec_ok(c, "INSERT INTO it_ddl (id, v) VALUES (3, 'begin commits')");
    exec_ok(c, "BEGIN");
    exec_ok(c, "DELETE FROM it_ddl WHERE id = 3");
    exec_ok(c, "ROLLBACK");
    ck_assert_int_eq(recall_set_autocommit(c, 1), RECALL_OK);
    ck_assert_int_eq(query_int(other, "SELECT COUNT(*) FROM it_ddl"), 3);
    ck_assert_int_eq(query_int(other, "SELECT extra FROM it_ddl WHERE id = 2"), 5);
    /* A failing DDL reports the database's error everywhere alike. */
    ck_assert_int_eq(recall_exec(c, "CREATE TABLE it_ddl2 (id INT)"), RECALL_ERROR);
    ck_assert_str_eq(recall_sqlstate(c), "42S01");
    ck_assert_int_eq(recall_usable(c), 1);
    exec_ok(c, "DROP TABLE it_ddl2");
    recall_close(other);
    recall_close(c);
    assert_replicas_same();
}
END_TEST

/* ------------------------------------------------------------ disappearing client */

START_TEST(disappearing_client)
{
    recall_conn *c = connect_ok();
    int pipefd[2], st;
    char ready = 0;
    pid_t child;
    double t0, waited;
    struct blocked bt = {0};
    pthread_t th;
    bool still_waiting;

    fresh_table(c, "it_dis", "id INTEGER PRIMARY KEY, v INTEGER", "id INT PRIMARY KEY, v INT");
    exec_ok(c, "INSERT INTO it_dis VALUES (1, 0)");
    if (is_my)
        exec_ok(c, "SET innodb_lock_wait_timeout = 30");
    ck_assert_int_eq(pipe(pipefd), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        recall_conn *k = NULL;
        close(pipefd[0]);
        if (recall_connect(conninfo, &k) != RECALL_OK || recall_set_autocommit(k, 0) != RECALL_OK ||
            recall_exec(k, "UPDATE it_dis SET v = v + 1 WHERE id = 1") != RECALL_OK) {
            fprintf(stderr, "child: %s\n", k ? recall_errmsg(k) : "nomem");
            _exit(1);
        }
        if (write(pipefd[1], "R", 1) != 1)
            _exit(1);
        pause(); /* holding the row lock (SQLite: the write lock) */
        _exit(0);
    }
    close(pipefd[1]);
    ck_assert_msg(read(pipefd[0], &ready, 1) == 1 && ready == 'R', "the child did not take the lock");
    close(pipefd[0]);
    /* Another client waits for the lock the child holds... */
    bt.c = c;
    bt.sql = "UPDATE it_dis SET v = v + 10 WHERE id = 1";
    pthread_create(&th, NULL, blocked_exec, &bt);
    usleep(700000);
    still_waiting = !bt.done;
    /* ...and gets it promptly once the child is killed. */
    t0 = now_s();
    kill(child, SIGKILL);
    waitpid(child, &st, 0);
    pthread_join(th, NULL);
    waited = now_s() - t0;
    printf("# disappearing_client: the lock was free %.2f s after the kill\n", waited);
    ck_assert_msg(still_waiting, "the update did not wait for the child's lock (rc %d: %s)", bt.rc,
                  recall_errmsg(c));
    ck_assert_msg(bt.rc == RECALL_OK, "the update failed: %s (%s)", recall_errmsg(c), bt.state);
    ck_assert_msg(waited < 5, "the killed client's lock was held %.1f s", waited);
    ck_assert_int_eq(query_int(c, "SELECT v FROM it_dis WHERE id = 1"), 10);
    recall_close(c);
    assert_replicas_same();
}
END_TEST

/* ------------------------------------------------------------ connecting */

START_TEST(wrong_password)
{
    recall_conn *c = NULL;
    char info[1024];
    double t0 = now_s();

    snprintf(info, sizeof info, "replicas=%s;user=app;password=not-the-password-42;database=app;"
             "connect_timeout=10", replica_list);
    ck_assert_int_eq(recall_connect(info, &c), RECALL_ERROR);
    ck_assert_ptr_nonnull(c);
    ck_assert_msg(recall_errcode(c) == RECALL_E_AUTH, "code %d: %s", recall_errcode(c),
                  recall_errmsg(c));
    ck_assert_str_eq(recall_sqlstate(c), "28000");
    ck_assert_int_eq(recall_usable(c), 0);
    ck_assert_msg(strstr(recall_errmsg(c), "denied"), "message: %s", recall_errmsg(c));
    ck_assert_msg(!strstr(recall_errmsg(c), "not-the-password-42"), "the password is echoed: %s",
                  recall_errmsg(c));
    ck_assert_msg(now_s() - t0 < 5, "refusal took %.1f s", now_s() - t0);
    recall_close(c);
    /* An unknown user too. */
    snprintf(info, sizeof info, "replicas=%s;user=it_nobody;password=x;database=app", replica_list);
    ck_assert_int_eq(recall_connect(info, &c), RECALL_ERROR);
    ck_assert_str_eq(recall_sqlstate(c), "28000");
    ck_assert_int_eq(recall_usable(c), 0);
    recall_close(c);
    /* The right password still works afterwards. */
    c = connect_ok();
    ck_assert_int_eq(query_int(c, "SELECT 42"), 42);
    recall_close(c);
}
END_TEST

START_TEST(wrong_cluster_id)
{
    recall_conn *c = NULL;
    char info[1024], list[512], a[3][ADDR_STR_MAX];
    double t0;

    ck_assert_uint_eq(naddrs, 3);
    for (int i = 0; i < 3; i++)
        addr_format(&addrs[i], a[i], sizeof a[i]);
    /* The same replicas in another order: another cluster id. */
    snprintf(list, sizeof list, "%s,%s,%s", a[1], a[0], a[2]);
    snprintf(info, sizeof info, "replicas=%s;user=app;password=app;database=app", list);
    t0 = now_s();
    ck_assert_int_eq(recall_connect(info, &c), RECALL_ERROR);
    ck_assert_msg(recall_errcode(c) == RECALL_E_REJECTED, "code %d: %s", recall_errcode(c),
                  recall_errmsg(c));
    ck_assert_str_eq(recall_sqlstate(c), "08004");
    ck_assert_int_eq(recall_usable(c), 0);
    ck_assert_msg(strstr(recall_errmsg(c), "replica lists differ"), "message: %s", recall_errmsg(c));
    ck_assert_msg(now_s() - t0 < 5, "refusal took %.1f s", now_s() - t0);
    recall_close(c);
    /* One replica of the list is not ours: the two that answer refuse. */
    snprintf(info, sizeof info, "replicas=%s,%s,127.0.0.9:%u;user=app;password=app;connect_timeout=10",
             a[0], a[1], addrs[0].port);
    t0 = now_s();
    ck_assert_int_eq(recall_connect(info, &c), RECALL_ERROR);
    ck_assert_str_eq(recall_sqlstate(c), "08004");
    ck_assert_msg(strstr(recall_errmsg(c), "replica lists differ"), "message: %s", recall_errmsg(c));
    ck_assert_msg(now_s() - t0 < 5, "refusal took %.1f s", now_s() - t0);
    recall_close(c);
}
END_TEST

/* ------------------------------------------------------------ malformed frames */

static int raw_connect(int replica, char *local, size_t cap)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct sockaddr_in me;
    socklen_t mlen = sizeof me;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    sa.sin_port = htons(addrs[replica].port);
    ck_assert_int_eq(inet_pton(AF_INET, addrs[replica].host, &sa.sin_addr), 1);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect to replica %d: %s",
                  replica, strerror(errno));
    getsockname(fd, (struct sockaddr *)&me, &mlen);
    inet_ntop(AF_INET, &me.sin_addr, local, (socklen_t)cap);
    snprintf(local + strlen(local), cap - strlen(local), ":%u", ntohs(me.sin_port));
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *q = p;
    while (n) {
        ssize_t w = send(fd, q, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the replica may already have closed: that is fine */
        q += w;
        n -= (size_t)w;
    }
}

static void send_frame(int fd, const void *payload, size_t n)
{
    unsigned char hdr[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    send_all(fd, hdr, 4);
    send_all(fd, payload, n);
}

static void send_msg(int fd, const struct proto_msg *m)
{
    struct buf b;
    struct err e;
    buf_init(&b);
    ck_assert_int_eq(frame_encode(m, &b, FRAME_DEFAULT_MAX, &e), 0);
    send_all(fd, b.data, b.len);
    buf_close(&b);
}

static uint64_t cluster_id(void)
{
    return addr_cluster_id(addrs, naddrs);
}

/* A valid control HELLO (no credentials needed). */
static void send_ctl_hello(int fd)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_HELLO;
    m.u.hello.version = PROTO_VERSION;
    m.u.hello.cluster = cluster_id();
    m.u.hello.role = ROLE_CTL;
    m.u.hello.replica = PROTO_NO_REPLICA;
    memset(m.u.hello.client.b, 0x5a, 16);
    send_msg(fd, &m);
}

/* Wait for the replica to close the connection (reading whatever it sends
 * first, e.g. WELCOME or an ERROR).  Returns seconds until EOF, or -1. */
static double wait_closed(int fd, double limit)
{
    double t0 = now_s();
    char buf[4096];
    while (now_s() - t0 < limit) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, 100);
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc > 0) {
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r == 0 || (r < 0 && errno == ECONNRESET))
                return now_s() - t0;
        }
    }
    return -1;
}

/* Whether replica i's log has a line naming `peer` that contains `what`
 * (polled: the log is written after the close). */
static bool log_mentions(int replica, const char *peer, const char *what, char *line, size_t cap)
{
    char path[512];
    double t0 = now_s();
    snprintf(path, sizeof path, "%s/r%d/recalld.log", cluster_dir, replica);
    line[0] = '\0';
    while (now_s() - t0 < 3) {
        FILE *f = fopen(path, "r");
        char buf[2048];
        bool found = false;
        if (f) {
            while (fgets(buf, sizeof buf, f)) {
                char *p = strstr(buf, peer);
                /* the peer text must not continue with another digit */
                if (p && !(p[strlen(peer)] >= '0' && p[strlen(peer)] <= '9') &&
                    (!what || strstr(buf, what))) {
                    snprintf(line, cap, "%s", buf);
                    line[strcspn(line, "\n")] = '\0';
                    found = true;
                }
            }
            fclose(f);
        }
        if (found)
            return true;
        usleep(100000);
    }
    return false;
}

/* Everyone else is still served: the replica's process is alive, a client
 * connected before the attack still works, recallctl sees a primary and
 * all three replicas. */
static void assert_cluster_serves(recall_conn *keeper, int replica)
{
    char out[4096];
    int rc;
    ck_assert_msg(recall_exec(keeper, "INSERT INTO it_raw (note) VALUES ('still served')") == RECALL_OK,
                  "after the attack on replica %d: %s", replica, recall_errmsg(keeper));
    ck_assert_int_gt(query_int(keeper, "SELECT COUNT(*) FROM it_raw"), 0);
    rc = run_capture(out, sizeof out, "'%s/scripts/cluster' status --dir '%s' --json 2>&1",
                     top_srcdir, cluster_dir);
    ck_assert_msg(rc == 0, "recallctl status: %s", out);
    ck_assert_msg(strstr(out, "\"up\":3"), "not all replicas up: %s", out);
}

enum raw_case {
    RAW_HTTP, RAW_OVERSIZED, RAW_EMPTY, RAW_NOT_MSGPACK, RAW_NOT_ARRAY, RAW_UNKNOWN_TYPE,
    RAW_HELLO_TYPES, RAW_HELLO_SHORT, RAW_HELLO_BAD_ID, RAW_TRUNCATED, RAW_EXEC_BEFORE_HELLO,
    RAW_PEER_MSG_FROM_CTL, RAW_SECOND_HELLO, RAW_NESTED, RAW_HUGE_ARRAY, RAW_TRAILING,
    RAW_WRONG_VERSION, RAW_WRONG_CLUSTER, RAW__COUNT
};

static const char *const raw_names[] = {
    "HTTP request", "oversized frame", "empty frame", "payload not msgpack",
    "payload not an array", "unknown message type", "HELLO with wrong field types",
    "HELLO with missing fields", "HELLO with a 3-byte client id", "truncated frame then EOF",
    "EXEC before HELLO", "PREPARE from a control connection", "second HELLO",
    "deeply nested arrays", "array claiming 4G elements", "trailing bytes after HELLO",
    "HELLO with another protocol version", "HELLO with another cluster id"};

/* What the log line about the connection must say (NULL: any line). */
static const char *const raw_reason[] = {
    "max_frame", "max_frame", "empty frame", NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    "before HELLO", "unexpected PREPARE", "unexpected HELLO", NULL, NULL, NULL,
    "protocol version", "cluster id mismatch"};

static void pack_hello_prefix(msgpack_packer *pk, uint32_t nfields)
{
    msgpack_pack_array(pk, nfields);
    msgpack_pack_uint8(pk, MSG_HELLO);
}

static void raw_case(enum raw_case k)
{
    recall_conn *keeper = connect_ok();
    int replica = (int)k % (int)naddrs, fd;
    char peer[64], line[2048];
    msgpack_sbuffer sb;
    msgpack_packer pk;
    double closed;

    ck_assert_int_eq(sizeof raw_names / sizeof *raw_names, RAW__COUNT);
    ck_assert_int_eq(sizeof raw_reason / sizeof *raw_reason, RAW__COUNT);
    exec_ok(keeper, SQL("CREATE TABLE IF NOT EXISTS it_raw (id INTEGER PRIMARY KEY, note TEXT)",
                        "CREATE TABLE IF NOT EXISTS it_raw (id INT AUTO_INCREMENT PRIMARY KEY, "
                        "note VARCHAR(40))"));
    fd = raw_connect(replica, peer, sizeof peer);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    switch (k) {
    case RAW_HTTP: {
        const char req[] = "GET / HTTP/1.1\r\nHost: recall\r\n\r\n";
        send_all(fd, req, sizeof req - 1);
        break;
    }
    case RAW_OVERSIZED: {
        unsigned char hdr[4] = {0x7f, 0xff, 0xff, 0xff};
        send_all(fd, hdr, 4);
        send_all(fd, "\x93\x01\x02\x03", 4);
        break;
    }
    case RAW_EMPTY:
        send_frame(fd, "", 0);
        break;
    case RAW_NOT_MSGPACK:
        send_frame(fd, "\xc1\xc1\xc1\xc1", 4);
        break;
    case RAW_NOT_ARRAY:
        msgpack_pack_str_with_body(&pk, "HELLO", 5);
        send_frame(fd, sb.data, sb.size);
        break;
    case RAW_UNKNOWN_TYPE:
        msgpack_pack_array(&pk, 3);
        msgpack_pack_uint8(&pk, 99);
        msgpack_pack_uint8(&pk, 1);
        msgpack_pack_uint8(&pk, 2);
        send_frame(fd, sb.data, sb.size);
        break;
    case RAW_HELLO_TYPES: /* every field of the wrong type */
        pack_hello_prefix(&pk, 10);
        msgpack_pack_str_with_body(&pk, "1", 1);        /* version */
        msgpack_pack_double(&pk, 1.5);                   /* cluster */
        msgpack_pack_array(&pk, 0);                      /* role */
        msgpack_pack_int64(&pk, -1);                     /* replica */
        msgpack_pack_str_with_body(&pk, "0123456789abcdef", 16); /* client: str, not bin */
        msgpack_pack_uint32(&pk, 7);                     /* user */
        msgpack_pack_nil(&pk);                           /* password */
        msgpack_pack_true(&pk);                          /* database */
        msgpack_pack_str_with_body(&pk, "options", 7);   /* options */
        send_frame(fd, sb.data, sb.size);
        break;
    case RAW_HELLO_SHORT:
        pack_hello_prefix(&pk, 3);
        msgpack_pack_uint32(&pk, PROTO_VERSION);
        msgpack_pack_uint64(&pk, cluster_id());
        send_frame(fd, sb.data, sb.size);
        break;
    case RAW_HELLO_BAD_ID:
        pack_hello_prefix(&pk, 10);
        msgpack_pack_uint32(&pk, PROTO_VERSION);
        msgpack_pack_uint64(&pk, cluster_id());
        msgpack_pack_uint8(&pk, ROLE_CLIENT);
        msgpack_pack_uint32(&pk, PROTO_NO_REPLICA);
        msgpack_pack_bin_with_body(&pk, "abc", 3);
        msgpack_pack_str_with_body(&pk, "app", 3);
        msgpack_pack_str_with_body(&pk, "app", 3);
        msgpack_pack_str_with_body(&pk, "app", 3);
        msgpack_pack_array(&pk, 0);
        send_frame(fd, sb.data, sb.size);
        break;
    case RAW_TRUNCATED: {
        unsigned char hdr[4] = {0, 0, 0, 200};
        send_all(fd, hdr, 4);
        send_all(fd, "\x9a\x01\xce\x00\x00\x00\x01", 7);
        shutdown(fd, SHUT_WR);
        break;
    }
    case RAW_EXEC_BEFORE_HELLO: {
        struct proto_msg m;
        memset(&m, 0, sizeof m);
        m.type = MSG_EXEC;
        m.u.exec.req = 1;
        m.u.exec.flags = PROTO_EXEC_AUTOCOMMIT;
        m.u.exec.sql.p = (char *)"DELETE FROM it_raw";
        m.u.exec.sql.len = (uint32_t)strlen(m.u.exec.sql.p);
        send_msg(fd, &m);
        break;
    }
    case RAW_PEER_MSG_FROM_CTL: {
        struct proto_msg m;
        send_ctl_hello(fd);
        memset(&m, 0, sizeof m);
        m.type = MSG_PREPARE;
        m.u.prepare.view = 1000000;
        m.u.prepare.commit = 1000000;
        send_msg(fd, &m);
        break;
    }
    case RAW_SECOND_HELLO:
        send_ctl_hello(fd);
        send_ctl_hello(fd);
        break;
    case RAW_NESTED: /* valid fields, then nesting where a list is expected */
        pack_hello_prefix(&pk, 10);
        msgpack_pack_uint32(&pk, PROTO_VERSION);
        msgpack_pack_uint64(&pk, cluster_id());
        msgpack_pack_uint8(&pk, ROLE_CTL);
        msgpack_pack_uint32(&pk, PROTO_NO_REPLICA);
        msgpack_pack_bin_with_body(&pk, "0123456789abcdef", 16);
        msgpack_pack_str_with_body(&pk, "", 0);
        msgpack_pack_str_with_body(&pk, "", 0);
        msgpack_pack_str_with_body(&pk, "", 0);
        for (int i = 0; i < 200000; i++)
            msgpack_pack_array(&pk, 1);
        msgpack_pack_nil(&pk);
        send_frame(fd, sb.data, sb.size);
        break;
    case RAW_HUGE_ARRAY: {
        const unsigned char p[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01};
        send_frame(fd, p, sizeof p);
        break;
    }
    case RAW_TRAILING: {
        struct proto_msg m;
        struct buf b;
        struct err e;
        memset(&m, 0, sizeof m);
        m.type = MSG_HELLO;
        m.u.hello.version = PROTO_VERSION;
        m.u.hello.cluster = cluster_id();
        m.u.hello.role = ROLE_CTL;
        m.u.hello.replica = PROTO_NO_REPLICA;
        buf_init(&b);
        ck_assert_int_eq(proto_encode(&m, &b, &e), 0);
        ck_assert_int_eq(buf_append(&b, "\x01\x02\x03", 3), 0);
        send_frame(fd, b.data, b.len);
        buf_close(&b);
        break;
    }
    case RAW_WRONG_VERSION:
    case RAW_WRONG_CLUSTER: {
        struct proto_msg m;
        memset(&m, 0, sizeof m);
        m.type = MSG_HELLO;
        m.u.hello.version = k == RAW_WRONG_VERSION ? PROTO_VERSION + 41 : PROTO_VERSION;
        m.u.hello.cluster = k == RAW_WRONG_CLUSTER ? cluster_id() ^ 0x5555 : cluster_id();
        m.u.hello.role = ROLE_CLIENT;
        m.u.hello.replica = PROTO_NO_REPLICA;
        proto_str_setz(&m.u.hello.user, "app");
        proto_str_setz(&m.u.hello.password, "app");
        send_msg(fd, &m);
        proto_msg_free(&m);
        break;
    }
    case RAW__COUNT:
        break;
    }
    msgpack_sbuffer_destroy(&sb);
    closed = wait_closed(fd, 5);
    close(fd);
    ck_assert_msg(closed >= 0, "%s: replica %d kept the connection %s open", raw_names[k], replica,
                  peer);
    ck_assert_msg(log_mentions(replica, peer, raw_reason[k], line, sizeof line),
                  "%s: no log line of replica %d about %s%s%s", raw_names[k], replica, peer,
                  raw_reason[k] ? " saying " : "", raw_reason[k] ? raw_reason[k] : "");
    printf("# %s -> replica %d: %s\n", raw_names[k], replica, line);
    assert_cluster_serves(keeper, replica);
    recall_close(keeper);
}

START_TEST(malformed_frame)
{
    raw_case((enum raw_case)_i);
}
END_TEST

/* Many random frames, each on its own connection, at every replica: none
 * may crash or stall a replica. */
START_TEST(random_frames)
{
    recall_conn *keeper = connect_ok();
    uint64_t rnd = testhelp_seed("random_frames");
    int kept_open = 0;

    exec_ok(keeper, SQL("CREATE TABLE IF NOT EXISTS it_raw (id INTEGER PRIMARY KEY, note TEXT)",
                        "CREATE TABLE IF NOT EXISTS it_raw (id INT AUTO_INCREMENT PRIMARY KEY, "
                        "note VARCHAR(40))"));
    for (int i = 0; i < 60; i++) {
        unsigned char p[512];
        size_t n = (size_t)(testhelp_rand(&rnd) % sizeof p) + 1;
        char peer[64];
        int fd = raw_connect(i % (int)naddrs, peer, sizeof peer);
        for (size_t j = 0; j < n; j++)
            p[j] = (unsigned char)testhelp_rand(&rnd);
        if (i % 2)
            p[0] = (unsigned char)(0x90 | (p[0] & 0x0f)); /* a fixarray, like a message */
        if (i % 4 == 1)
            p[1] = (unsigned char)(testhelp_rand(&rnd) % 30); /* a known message type */
        send_frame(fd, p, n);
        if (wait_closed(fd, 0.3) < 0)
            kept_open++; /* waiting for more input is allowed; it must not matter */
        close(fd);
    }
    printf("# random_frames: %d of 60 connections waited for more input\n", kept_open);
    for (int r = 0; r < (int)naddrs; r++)
        assert_cluster_serves(keeper, r);
    recall_close(keeper);
}
END_TEST

/* ------------------------------------------------------------ main */

/* RECALL_TEST_ONLY=name[,name...] runs only those tests. */
static bool wanted(const char *name)
{
    const char *only = getenv("RECALL_TEST_ONLY");
    size_t n = strlen(name);
    if (!only || !*only)
        return true;
    for (const char *p = only; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

#define ADD(tc, fn)                    \
    do {                               \
        if (wanted(#fn))               \
            tcase_add_test((tc), fn);  \
    } while (0)

static Suite *suite(void)
{
    Suite *s = suite_create("integration");
    TCase *tc = tcase_create("functional");
    TCase *conn = tcase_create("connecting");
    TCase *raw = tcase_create("raw socket");

    tcase_set_timeout(tc, 120);
    ADD(tc, crud);
    ADD(tc, transactions);
    ADD(tc, last_insert_id);
    ADD(tc, duplicate_key);
    ADD(tc, lock_wait_timeout);
    ADD(tc, deadlock);
    ADD(tc, concurrent_conflicts);
    ADD(tc, determinism);
    ADD(tc, refusals);
    ADD(tc, ddl_in_transaction);
    ADD(tc, disappearing_client);
    suite_add_tcase(s, tc);
    tcase_set_timeout(conn, 60);
    ADD(conn, wrong_password);
    ADD(conn, wrong_cluster_id);
    suite_add_tcase(s, conn);
    tcase_set_timeout(raw, 60);
    if (wanted("malformed_frame"))
        tcase_add_loop_test(raw, malformed_frame, 0, RAW__COUNT);
    ADD(raw, random_frames);
    suite_add_tcase(s, raw);
    return s;
}

int main(void)
{
    const char *backend = getenv("RECALL_TEST_BACKEND");
    const char *p;
    struct err e;

    conninfo = getenv("RECALL_TEST_CONN");
    cluster_dir = getenv("RECALL_TEST_CLUSTER_DIR");
    top_srcdir = getenv("top_srcdir");
    if (!conninfo || !cluster_dir || !top_srcdir || !backend) {
        printf("Bail out! set RECALL_TEST_CONN, RECALL_TEST_CLUSTER_DIR, RECALL_TEST_BACKEND and "
               "top_srcdir (tests/integration/run.sh does; see tests/integration/README)\n");
        return 1;
    }
    is_my = strcmp(backend, "mariadb") == 0;
    if (!(p = strstr(conninfo, "replicas="))) {
        printf("Bail out! no replicas= in RECALL_TEST_CONN\n");
        return 1;
    }
    snprintf(replica_list, sizeof replica_list, "%.*s", (int)strcspn(p + 9, ";"), p + 9);
    if (addr_parse_list(replica_list, addrs, &naddrs, &e) < 0) {
        printf("Bail out! %s\n", e.msg);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    return testhelp_run(suite());
}
