/* The MySQL backend against real MariaDB: two private servers (A plays the
 * primary, B a backup) started once by tests/lib/mariadb.sh on free ports.
 * Covers the settings check, client credentials and grants, typed CRUD,
 * column metadata, streaming, deterministic replay of NOW(6)/RAND()/
 * auto-increment/CONNECTION_ID()/session environment on a second server
 * (compared with checksums), unsafe statements, deadlocks and lock wait
 * timeouts, read snapshots, DDL markers and crash recovery, divergence
 * detection, flush, quiesce/resume.  Each test uses its own database. */
#include "config.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "backend.h"
#include "recall.h"
#include "testhelp.h"

#ifndef RECALL_TOP_SRCDIR
#define RECALL_TOP_SRCDIR "."
#endif

static char *base;
static char dir_a[300], dir_b[300];
static char dsn_a[600], dsn_b[600];
static char helper[600];
static bool servers_up;

/* ---------------------------------------------------------------- servers */

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static bool read_dsn(const char *dir, char *out, size_t cap)
{
    char cmd[1000];
    FILE *p;
    snprintf(cmd, sizeof cmd, "'%s' dsn '%s'", helper, dir);
    if (!(p = popen(cmd, "r")))
        return false;
    if (!fgets(out, (int)cap, p)) {
        pclose(p);
        return false;
    }
    out[strcspn(out, "\n")] = '\0';
    return pclose(p) == 0 && strncmp(out, "mysql://", 8) == 0;
}

static void servers_start(void)
{
    const char *top = getenv("top_srcdir");
    char cmd[2000];
    int pa, pb;

    snprintf(helper, sizeof helper, "%s/tests/lib/mariadb.sh", top && *top ? top : RECALL_TOP_SRCDIR);
    base = testhelp_tmpdir("mysql");
    if (!base)
        return;
    snprintf(dir_a, sizeof dir_a, "%s/a", base);
    snprintf(dir_b, sizeof dir_b, "%s/b", base);
    pa = free_port();
    do
        pb = free_port();
    while (pb == pa);
    /* both at once: startup is most of this test's time */
    snprintf(cmd, sizeof cmd,
             "'%s' start '%s' %d >'%s.log' 2>&1 & p=$!; '%s' start '%s' %d >'%s.log' 2>&1; r=$?; "
             "wait $p || r=1; exit $r",
             helper, dir_a, pa, dir_a, helper, dir_b, pb, dir_b);
    if (system(cmd) != 0) {
        fprintf(stderr, "# starting MariaDB failed: see %s/*.log (is mariadb-server installed?)\n", base);
        snprintf(cmd, sizeof cmd, "cat '%s.log' '%s.log' >&2", dir_a, dir_b);
        (void)!system(cmd);
        return;
    }
    servers_up = read_dsn(dir_a, dsn_a, sizeof dsn_a) && read_dsn(dir_b, dsn_b, sizeof dsn_b);
}

static void servers_stop(void)
{
    char cmd[2000];
    if (!base)
        return;
    time_t t0 = time(NULL);
    snprintf(cmd, sizeof cmd, "'%s' stop '%s' & '%s' stop '%s'; wait", helper, dir_a, helper, dir_b);
    (void)!system(cmd);
    if (time(NULL) - t0 > 10)
        printf("# stopping the MariaDB servers took %ld s\n", (long)(time(NULL) - t0));
    testhelp_rmtree(base);
    free(base);
    base = NULL;
}

/* ---------------------------------------------------------------- root SQL */

static MYSQL *root(const char *dir)
{
    char sock[400];
    MYSQL *m = mysql_init(NULL);
    ck_assert_msg(servers_up, "the MariaDB test servers did not start");
    snprintf(sock, sizeof sock, "%s/mysql.sock", dir);
    ck_assert_msg(mysql_real_connect(m, "localhost", "root", NULL, NULL, 0, sock, CLIENT_MULTI_RESULTS),
                  "root connect: %s", mysql_error(m));
    return m;
}

static void rq(MYSQL *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rq(MYSQL *m, const char *fmt, ...)
{
    char sql[4000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    ck_assert_msg(mysql_query(m, sql) == 0, "%s: %s", sql, mysql_error(m));
    MYSQL_RES *r = mysql_store_result(m);
    if (r)
        mysql_free_result(r);
}

/* First column of the first row, as a malloc'd string ("NULL" for NULL). */
static char *rstr(MYSQL *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *rstr(MYSQL *m, const char *fmt, ...)
{
    char sql[4000];
    va_list ap;
    MYSQL_RES *r;
    MYSQL_ROW row;
    char *out;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    ck_assert_msg(mysql_query(m, sql) == 0, "%s: %s", sql, mysql_error(m));
    r = mysql_store_result(m);
    ck_assert_ptr_nonnull(r);
    row = mysql_fetch_row(r);
    ck_assert_msg(row != NULL, "no row: %s", sql);
    out = strdup(row[0] ? row[0] : "NULL");
    mysql_free_result(r);
    return out;
}

static long long rnum(MYSQL *m, const char *sql)
{
    char *s = rstr(m, "%s", sql);
    long long v = strtoll(s, NULL, 10);
    free(s);
    return v;
}

/* All rows of a query as one string, for comparing servers. */
static char *rdump(MYSQL *m, const char *sql)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    ck_assert_msg(mysql_query(m, sql) == 0, "%s: %s", sql, mysql_error(m));
    r = mysql_store_result(m);
    ck_assert_ptr_nonnull(r);
    out[0] = '\0';
    while ((row = mysql_fetch_row(r))) {
        for (unsigned i = 0; i < mysql_num_fields(r); i++)
            len += (size_t)snprintf(out + len, cap - len, "%s|", row[i] ? row[i] : "NULL");
        len += (size_t)snprintf(out + len, cap - len, "\n");
        ck_assert_uint_lt(len, cap - 1);
    }
    mysql_free_result(r);
    return out;
}

/* ---------------------------------------------------------------- backend helpers */

static struct backend *open_be(const char *dsn)
{
    struct err e;
    struct backend *be;
    ck_assert_msg(servers_up, "the MariaDB test servers did not start");
    be = backend_open(dsn, &e);
    ck_assert_msg(be != NULL, "backend_open: %s", e.msg);
    return be;
}

static struct backend_session *sopen(struct backend *be, const char *user, const char *pw, const char *db)
{
    struct err e;
    struct backend_session *s = backend_session_open(be, user, pw, db, &e);
    ck_assert_msg(s != NULL, "session_open: %s", e.msg);
    return s;
}

static struct backend_ctx ctx_at(uint64_t ts)
{
    struct backend_ctx c = {ts, ts * 3 + 11, ts * 7 + 5};
    return c;
}

static uint64_t ts_counter = 1700000000000000ull;
static struct backend_ctx next_ctx(void)
{
    ts_counter += 1234567;
    return ctx_at(ts_counter);
}

static int try_exec(struct backend_session *s, const char *sql, const struct proto_list_value *params,
                    bool write, struct backend_result *r, bool *aborted, struct err *e)
{
    struct backend_ctx c = next_ctx();
    return backend_exec(s, sql, (uint32_t)strlen(sql), params, write ? &c : NULL, r, aborted, e);
}

/* Execute and assert success; the result is returned for inspection. */
static void xexec(struct backend_session *s, const char *sql, const struct proto_list_value *params,
                  struct backend_result *r)
{
    struct err e;
    bool aborted;
    ck_assert_msg(try_exec(s, sql, params, true, r, &aborted, &e) == 0, "%s: %s", sql, e.msg);
}

static void xexec_free(struct backend_session *s, const char *sql)
{
    struct backend_result r;
    xexec(s, sql, NULL, &r);
    if (r.has_rows)
        backend_fetch_close(s);
    backend_result_free(&r);
}

static void fetch_all(struct backend_session *s, struct proto_list_value *cells)
{
    struct err e;
    bool more = true;
    memset(cells, 0, sizeof *cells);
    while (more)
        ck_assert_msg(backend_fetch(s, 100, cells, &more, &e) == 0, "fetch: %s", e.msg);
}

static void cells_free(struct proto_list_value *cells)
{
    proto_list_value_resize(cells, 0);
    free(cells->v);
    memset(cells, 0, sizeof *cells);
}

static void params_init(struct proto_list_value *p, uint32_t n)
{
    memset(p, 0, sizeof *p);
    ck_assert_int_eq(proto_list_value_resize(p, n), 0);
}

/* A transaction's log entry built from the statements' records. */
struct txn {
    struct proto_entry entry;
    struct proto_body body;
};

static void txn_init(struct txn *t, uint64_t op)
{
    memset(t, 0, sizeof *t);
    t->entry.op = op;
    t->entry.view = 1;
    t->entry.client.b[0] = 0xab;
    t->entry.client.b[15] = (uint8_t)op;
    t->entry.req = op * 10;
    t->body.kind = BODY_TXN;
    t->body.ts_us = ts_counter;
}

static void txn_take(struct txn *t, struct backend_result *r)
{
    ck_assert(r->is_write);
    ck_assert_int_eq(proto_list_stmt_resize(&t->body.stmts, t->body.stmts.n + 1), 0);
    t->body.stmts.v[t->body.stmts.n - 1] = r->stmt;
    memset(&r->stmt, 0, sizeof r->stmt);
    backend_result_free(r);
}

/* Execute a write and keep its record for the entry. */
static void xwrite(struct backend_session *s, struct txn *t, const char *sql,
                   const struct proto_list_value *params)
{
    struct backend_result r;
    xexec(s, sql, params, &r);
    txn_take(t, &r);
}

static void txn_free(struct txn *t)
{
    proto_body_free(&t->body);
}

static uint64_t applied_of(struct backend *be)
{
    struct backend_state st;
    struct err e;
    ck_assert_msg(backend_get_state(be, &st, &e) == 0, "get_state: %s", e.msg);
    return st.applied;
}

static void commit(struct backend_session *s, struct txn *t)
{
    struct err e;
    ck_assert_msg(backend_commit_entry(s, t->entry.op, &t->entry, &t->body, &e) == 0, "commit: %s", e.msg);
}

static const char *checksum_of(struct backend *be, const char *table, char *out, size_t cap)
{
    struct proto_list_kv sums = {0};
    struct err e;
    uint64_t applied;
    out[0] = '\0';
    ck_assert_msg(backend_checksum(be, &applied, &sums, &e) == 0, "checksum: %s", e.msg);
    ck_assert_uint_eq(applied, applied_of(be));
    for (uint32_t i = 0; i < sums.n; i++)
        if (strcmp(sums.v[i].key.p, table) == 0)
            snprintf(out, cap, "%s", sums.v[i].val.p);
    proto_list_kv_resize(&sums, 0);
    free(sums.v);
    ck_assert_msg(out[0], "no checksum for %s", table);
    return out;
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_settings_refused)
{
    MYSQL *m = root(dir_a);
    struct backend *be;
    struct err e;

    rq(m, "SET GLOBAL binlog_format='ROW'");
    be = backend_open(dsn_a, &e);
    rq(m, "SET GLOBAL binlog_format='STATEMENT'");
    ck_assert_ptr_null(be);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert_msg(strstr(e.msg, "binlog_format is ROW") && strstr(e.msg, "binlog_format=STATEMENT"),
                  "%s", e.msg);

    rq(m, "SET GLOBAL tx_isolation='READ-COMMITTED'");
    be = backend_open(dsn_a, &e);
    rq(m, "SET GLOBAL tx_isolation='REPEATABLE-READ'");
    ck_assert_ptr_null(be);
    ck_assert_msg(strstr(e.msg, "tx_isolation is READ-COMMITTED"), "%s", e.msg);

    rq(m, "SET GLOBAL enforce_storage_engine=NULL");
    be = backend_open(dsn_a, &e);
    rq(m, "SET GLOBAL enforce_storage_engine='InnoDB'");
    ck_assert_ptr_null(be);
    ck_assert_msg(strstr(e.msg, "enforce_storage_engine"), "%s", e.msg);

    /* a wrong replication password is an authentication error */
    {
        char bad[700];
        const char *at = strchr(dsn_a + 8, '@');
        snprintf(bad, sizeof bad, "mysql://recall:wrong%s", at);
        be = backend_open(bad, &e);
        ck_assert_ptr_null(be);
        ck_assert_int_eq(e.code, ERR_AUTH);
    }
    /* and with the right settings it opens */
    be = open_be(dsn_a);
    backend_close(be);
    mysql_close(m);
}
END_TEST

START_TEST(test_open_state_version)
{
    struct backend *be = open_be(dsn_b);
    struct backend_state st;
    struct err e;
    uint64_t cluster;

    ck_assert_str_eq(backend_kind(be), "mysql");
    ck_assert_msg(strncmp(backend_version(be), "mariadb 10.", 11) == 0, "%s", backend_version(be));
    ck_assert_int_eq(backend_get_state(be, &st, &e), 0);
    ck_assert_uint_eq(st.ddl_pending, 0);
    cluster = st.cluster ? st.cluster : 0x1234abcdull;
    ck_assert_int_eq(backend_set_cluster(be, cluster, &e), 0);
    ck_assert_int_eq(backend_set_cluster(be, cluster, &e), 0);
    ck_assert_int_lt(backend_set_cluster(be, cluster + 1, &e), 0);
    ck_assert_msg(strstr(e.msg, "belongs to cluster"), "%s", e.msg);
    backend_close(be);
    /* reopening is idempotent and keeps the state */
    be = open_be(dsn_b);
    ck_assert_int_eq(backend_get_state(be, &st, &e), 0);
    ck_assert(st.cluster == cluster);
    backend_close(be);
}
END_TEST

START_TEST(test_client_credentials)
{
    MYSQL *m = root(dir_a);
    struct backend *be;
    struct backend_session *s;
    struct backend_result r;
    struct err e;
    bool aborted;

    rq(m, "CREATE DATABASE t3");
    rq(m, "CREATE TABLE t3.items (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
    rq(m, "INSERT INTO t3.items VALUES (1, 10)");
    rq(m, "CREATE USER 'carol'@'%%' IDENTIFIED BY 'right'");
    rq(m, "GRANT SELECT ON t3.items TO 'carol'@'%%'");
    be = open_be(dsn_a);

    /* wrong password: 28000 with the server's message */
    ck_assert_ptr_null(backend_session_open(be, "carol", "wrong", "t3", &e));
    ck_assert_int_eq(e.code, ERR_AUTH);
    ck_assert_str_eq(e.sqlstate, "28000");
    ck_assert_int_eq(e.native, 1045);
    ck_assert_msg(strstr(e.msg, "Access denied"), "%s", e.msg);

    /* the database enforces privileges: reading is allowed, writing not */
    s = sopen(be, "carol", "right", "t3");
    ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
    ck_assert_int_lt(try_exec(s, "INSERT INTO items VALUES (2, 20)", NULL, true, &r, &aborted, &e), 0);
    ck_assert_int_eq(e.native, 1142);
    ck_assert_str_eq(e.sqlstate, "42000");
    ck_assert(!aborted);
    xexec(s, "SELECT v FROM items", NULL, &r);
    ck_assert(r.has_rows);
    backend_fetch_close(s);
    backend_result_free(&r);
    ck_assert_int_eq(backend_rollback(s, &e), 0);
    backend_session_close(s);
    backend_close(be);
    mysql_close(m);
}
END_TEST

START_TEST(test_missing_recall_grant)
{
    MYSQL *m = root(dir_a);
    struct backend *be;
    struct backend_session *s;
    struct err e;
    char dsn[700];

    rq(m, "CREATE USER 'erin'@'%%' IDENTIFIED BY 'pw'");
    snprintf(dsn, sizeof dsn, "%s&public_grants=0", dsn_a);
    be = open_be(dsn);
    rq(m, "REVOKE EXECUTE ON PROCEDURE recall.recall_commit_v1 FROM PUBLIC");
    rq(m, "REVOKE EXECUTE ON PROCEDURE recall.recall_commit_v2 FROM PUBLIC");
    s = backend_session_open(be, "erin", "pw", NULL, &e);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(e.code, ERR_AUTH);
    ck_assert_msg(strstr(e.msg, "GRANT EXECUTE ON PROCEDURE recall.recall_commit_v2 TO 'erin'@'%'"),
                  "%s", e.msg);
    /* v1 alone (an older setup) is enough: commits take a CALL and a COMMIT */
    rq(m, "GRANT EXECUTE ON PROCEDURE recall.recall_commit_v1 TO 'erin'@'%%'");
    rq(m, "CREATE DATABASE t03g");
    rq(m, "CREATE TABLE t03g.g (id INT PRIMARY KEY) ENGINE=InnoDB");
    rq(m, "GRANT INSERT, SELECT ON t03g.* TO 'erin'@'%%'");
    for (int v = 1; v <= 2; v++) {
        struct txn t;
        char sql[64];
        uint64_t op = applied_of(be) + 1;
        if (v == 2) /* and with v2, one statement */
            rq(m, "GRANT EXECUTE ON PROCEDURE recall.recall_commit_v2 TO 'erin'@'%%'");
        s = sopen(be, "erin", "pw", "t03g");
        ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
        txn_init(&t, op);
        snprintf(sql, sizeof sql, "INSERT INTO g VALUES (%d)", v);
        xwrite(s, &t, sql, NULL);
        commit(s, &t);
        txn_free(&t);
        ck_assert_uint_eq(applied_of(be), op);
        ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM t03g.g"), v);
        backend_session_close(s);
    }
    backend_close(be);
    /* the default DSN grants it to PUBLIC again */
    be = open_be(dsn_a);
    backend_close(be);
    mysql_close(m);
}
END_TEST

START_TEST(test_crud_types_and_metadata)
{
    MYSQL *m = root(dir_a);
    struct backend *be;
    struct backend_session *s;
    struct backend_result r;
    struct proto_list_value p, cells, cells2;
    struct txn t;
    struct err e;
    static const char blob[] = {0, 'a', 0, 'b', 0};

    rq(m, "CREATE DATABASE t4");
    rq(m, "CREATE TABLE t4.v (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, u BIGINT UNSIGNED, "
          "i BIGINT, d DECIMAL(30,10), dt DATETIME(6), f DOUBLE, s VARCHAR(50), b BLOB, n INT NULL, "
          "tm TIME(6), bt BIT(12), e ENUM('x','y'), vb VARBINARY(8) NOT NULL DEFAULT 'q') ENGINE=InnoDB");
    be = open_be(dsn_a);
    s = sopen(be, NULL, NULL, "t4");
    ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
    txn_init(&t, applied_of(be) + 1);
    params_init(&p, 11);
    p.v[0].type = PV_UINT;
    p.v[0].v.u = UINT64_MAX;
    p.v[1].type = PV_INT;
    p.v[1].v.i = INT64_MIN;
    proto_value_set_text(&p.v[2], "12345678901234567890.0123456789", 31);
    proto_value_set_text(&p.v[3], "2024-02-29 23:59:59.999999", 26);
    p.v[4].type = PV_DOUBLE;
    p.v[4].v.d = 0.1;
    proto_value_set_text(&p.v[5], "h\xc3\xa9llo", 6);
    proto_value_set_blob(&p.v[6], blob, sizeof blob);
    p.v[7].type = PV_NULL;
    proto_value_set_text(&p.v[8], "-12:34:56.789012", 16);
    p.v[9].type = PV_INT;
    p.v[9].v.i = 0x5a5;
    proto_value_set_text(&p.v[10], "y", 1);
    xexec(s, "INSERT INTO v (u, i, d, dt, f, s, b, n, tm, bt, e) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          &p, &r);
    ck_assert_uint_eq(r.affected, 1);
    ck_assert_uint_eq(r.insert_id, 1);
    ck_assert_uint_eq(r.stmt.params.n, 11);
    ck_assert_uint_eq(r.stmt.result_insert_id, 1);
    txn_take(&t, &r);
    commit(s, &t);
    ck_assert_uint_eq(applied_of(be), t.entry.op);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM t4.v WHERE u = 18446744073709551615 AND "
                             "d = 12345678901234567890.0123456789 AND b = X'0061006200'"), 1);

    /* read back: text protocol, then prepared with a parameter */
    ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
    xexec(s, "SELECT id, u, i, d, dt, f, s, b, n, tm, bt, e, vb FROM v", NULL, &r);
    ck_assert(r.has_rows);
    ck_assert_uint_eq(r.columns.n, 13);
    {
        struct proto_column *c = r.columns.v;
        ck_assert_str_eq(c[0].name.p, "id");
        ck_assert_str_eq(c[0].table.p, "v");
        ck_assert_str_eq(c[0].db.p, "t4");
        ck_assert_int_eq(c[0].type, RECALL_TYPE_INT);
        ck_assert_str_eq(c[0].decl.p, "int(10) unsigned");
        ck_assert_uint_eq(c[0].flags, RECALL_COL_NOT_NULL | RECALL_COL_UNSIGNED |
                                          RECALL_COL_PRIMARY_KEY | RECALL_COL_AUTO_INCREMENT);
        ck_assert_int_eq(c[1].type, RECALL_TYPE_BIGINT);
        ck_assert_str_eq(c[1].decl.p, "bigint(20) unsigned");
        ck_assert_int_eq(c[3].type, RECALL_TYPE_DECIMAL);
        ck_assert_str_eq(c[3].decl.p, "decimal(30,10)");
        ck_assert_uint_eq(c[3].decimals, 10);
        ck_assert_int_eq(c[4].type, RECALL_TYPE_DATETIME);
        ck_assert_str_eq(c[4].decl.p, "datetime(6)");
        ck_assert_int_eq(c[5].type, RECALL_TYPE_DOUBLE);
        ck_assert_int_eq(c[6].type, RECALL_TYPE_VARCHAR);
        ck_assert_str_eq(c[6].decl.p, "varchar(50)");
        ck_assert_int_eq(c[7].type, RECALL_TYPE_BLOB);
        ck_assert(c[7].flags & RECALL_COL_BINARY);
        ck_assert(!(c[8].flags & RECALL_COL_NOT_NULL));
        ck_assert_int_eq(c[9].type, RECALL_TYPE_TIME);
        ck_assert_int_eq(c[10].type, RECALL_TYPE_BIT);
        ck_assert_int_eq(c[11].type, RECALL_TYPE_ENUM);
        ck_assert_int_eq(c[12].type, RECALL_TYPE_VARBINARY);
        ck_assert(c[12].flags & RECALL_COL_NOT_NULL);
        ck_assert(c[12].flags & RECALL_COL_BINARY);
    }
    backend_result_free(&r);
    fetch_all(s, &cells);
    ck_assert_uint_eq(cells.n, 13);
    ck_assert_int_eq(cells.v[0].type, PV_INT);
    ck_assert_int_eq(cells.v[0].v.i, 1);
    ck_assert_int_eq(cells.v[1].type, PV_UINT);
    ck_assert(cells.v[1].v.u == UINT64_MAX);
    ck_assert_int_eq(cells.v[2].type, PV_INT);
    ck_assert(cells.v[2].v.i == INT64_MIN);
    ck_assert_int_eq(cells.v[3].type, PV_TEXT);
    ck_assert_str_eq(cells.v[3].v.p, "12345678901234567890.0123456789");
    ck_assert_str_eq(cells.v[4].v.p, "2024-02-29 23:59:59.999999");
    ck_assert_int_eq(cells.v[5].type, PV_DOUBLE);
    ck_assert(cells.v[5].v.d == 0.1);
    ck_assert_str_eq(cells.v[6].v.p, "h\xc3\xa9llo");
    ck_assert_int_eq(cells.v[7].type, PV_BLOB);
    ck_assert_uint_eq(cells.v[7].len, sizeof blob);
    ck_assert(memcmp(cells.v[7].v.p, blob, sizeof blob) == 0);
    ck_assert_int_eq(cells.v[8].type, PV_NULL);
    ck_assert_str_eq(cells.v[9].v.p, "-12:34:56.789012");
    ck_assert_int_eq(cells.v[10].type, PV_BLOB);
    ck_assert_uint_eq(cells.v[10].len, 2);
    ck_assert_int_eq((unsigned char)cells.v[10].v.p[0], 0x05);
    ck_assert_int_eq((unsigned char)cells.v[10].v.p[1], 0xa5);
    ck_assert_str_eq(cells.v[11].v.p, "y");
    ck_assert_int_eq(cells.v[12].type, PV_BLOB);

    /* the binary protocol gives exactly the same values */
    proto_list_value_resize(&p, 1);
    proto_value_free(&p.v[0]);
    p.v[0].type = PV_INT;
    p.v[0].v.i = 1;
    xexec(s, "SELECT id, u, i, d, dt, f, s, b, n, tm, bt, e, vb FROM v WHERE id = ?", &p, &r);
    backend_result_free(&r);
    fetch_all(s, &cells2);
    ck_assert_uint_eq(cells2.n, cells.n);
    for (uint32_t i = 0; i < cells.n; i++) {
        ck_assert_msg(cells.v[i].type == cells2.v[i].type, "cell %u type %d vs %d", i, cells.v[i].type,
                      cells2.v[i].type);
        if (cells.v[i].type == PV_TEXT || cells.v[i].type == PV_BLOB) {
            ck_assert_uint_eq(cells.v[i].len, cells2.v[i].len);
            ck_assert(memcmp(cells.v[i].v.p, cells2.v[i].v.p, cells.v[i].len) == 0);
        } else {
            ck_assert(memcmp(&cells.v[i].v, &cells2.v[i].v, sizeof cells.v[i].v) == 0);
        }
    }
    cells_free(&cells);
    cells_free(&cells2);
    proto_list_value_resize(&p, 0);
    free(p.v);
    ck_assert_int_eq(backend_commit_empty(s, &e), 0);
    txn_free(&t);
    backend_session_close(s);
    backend_close(be);
    mysql_close(m);
}
END_TEST

/* Bytes the process has allocated and not freed: the sanitizer's count
 * under ASan (whose quarantine keeps freed memory resident), else malloc's. */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));
static long live_kb(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return (long)(__sanitizer_get_current_allocated_bytes() / 1024);
    return (long)(mallinfo2().uordblks / 1024);
}

static void stream_count(struct backend_session *s, const char *sql, const struct proto_list_value *p)
{
    struct backend_result r;
    struct proto_list_value cells = {0};
    struct err e;
    bool more = true;
    uint64_t rows = 0, last = 0;
    long before = live_kb(), peak = before;
    uint64_t applied;

    ck_assert_int_eq(backend_read_begin(s, &applied, &e), 0);
    ck_assert_msg(backend_read_exec(s, sql, (uint32_t)strlen(sql), p, &r, &e) == 0, "%s", e.msg);
    ck_assert(r.has_rows);
    backend_result_free(&r);
    while (more) {
        ck_assert_int_eq(backend_fetch(s, 5000, &cells, &more, &e), 0);
        ck_assert_uint_le(cells.n, 5000 * 2);
        rows += cells.n / 2;
        if (cells.n)
            last = (uint64_t)cells.v[cells.n - 2].v.i;
        cells_free(&cells);
        if (live_kb() > peak)
            peak = live_kb();
    }
    ck_assert_uint_eq(rows, 400000);
    ck_assert_uint_eq(last, 400000);
    /* 400000 rows of 250 bytes are 100 MB: streaming keeps far below */
    ck_assert_msg(peak - before < 20 * 1024, "the heap grew by %ld kB", peak - before);
    ck_assert_int_eq(backend_read_end(s), 0);
}

START_TEST(test_streaming)
{
    struct backend *be = open_be(dsn_a);
    struct backend_session *s = sopen(be, NULL, NULL, "mysql");
    struct backend_result r;
    struct proto_list_value p, cells = {0};
    struct err e;
    bool more;
    uint64_t applied;

    stream_count(s, "SELECT seq, REPEAT('x', 250) FROM seq_1_to_400000", NULL);
    params_init(&p, 1);
    p.v[0].type = PV_INT;
    p.v[0].v.i = 0;
    stream_count(s, "SELECT seq, REPEAT('y', 250) FROM seq_1_to_400000 WHERE seq > ?", &p);

    /* abandon a result half-way: the session stays usable */
    ck_assert_int_eq(backend_read_begin(s, &applied, &e), 0);
    ck_assert_int_eq(backend_read_exec(s, "SELECT seq FROM seq_1_to_100000", 31, NULL, &r, &e), 0);
    backend_result_free(&r);
    ck_assert_int_eq(backend_fetch(s, 10, &cells, &more, &e), 0);
    ck_assert(more);
    ck_assert_uint_eq(cells.n, 10);
    cells_free(&cells);
    backend_fetch_close(s);
    ck_assert_int_eq(backend_read_exec(s, "SELECT 42", 9, NULL, &r, &e), 0);
    backend_result_free(&r);
    ck_assert_int_eq(backend_fetch(s, 10, &cells, &more, &e), 0);
    ck_assert(!more);
    ck_assert_int_eq(cells.v[0].v.i, 42);
    cells_free(&cells);
    backend_read_end(s);
    proto_list_value_resize(&p, 0);
    free(p.v);
    backend_session_close(s);
    backend_close(be);
}
END_TEST

static const char t6_table[] =
    "CREATE TABLE t6.t (id INT AUTO_INCREMENT PRIMARY KEY, ts DATETIME(6), r DOUBLE, c BIGINT, "
    "note VARCHAR(64), parent INT) ENGINE=InnoDB";

START_TEST(test_replay_deterministic)
{
    MYSQL *ma = root(dir_a), *mb = root(dir_b);
    struct backend *bea, *beb;
    struct backend_session *s, *ap;
    struct backend_apply_report rep;
    struct backend_client_row row;
    struct proto_list_value p;
    struct txn t;
    struct err e;
    bool found;
    char ca[40], cb[40];
    char *da, *db;
    uint64_t op;

    rq(ma, "CREATE DATABASE t6");
    rq(ma, "%s", t6_table);
    rq(mb, "CREATE DATABASE t6");
    rq(mb, "%s", t6_table);
    /* the backup's counter differs: replay must force the primary's ids */
    rq(mb, "ALTER TABLE t6.t AUTO_INCREMENT = 1000");
    bea = open_be(dsn_a);
    beb = open_be(dsn_b);
    op = applied_of(bea) > applied_of(beb) ? applied_of(bea) + 1 : applied_of(beb) + 1;
    s = sopen(bea, NULL, NULL, "t6");
    ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
    txn_init(&t, op);
    xwrite(s, &t, "INSERT INTO t (ts, r, c, note) VALUES (NOW(6), RAND(), CONNECTION_ID(), 'a'), "
                  "(NOW(6), RAND(), CONNECTION_ID(), 'b')", NULL);
    ck_assert_uint_eq(t.body.stmts.v[0].insert_id, 1);
    ck_assert_uint_eq(t.body.stmts.v[0].affected, 2);
    ck_assert_uint_eq(t.body.stmts.v[0].ts_us, ts_counter);
    xwrite(s, &t, "INSERT INTO t (ts, r, note, parent) VALUES (UTC_TIMESTAMP(6), RAND(), 'child', "
                  "LAST_INSERT_ID())", NULL);
    ck_assert_uint_eq(t.body.stmts.v[1].last_insert_id, 1);
    ck_assert_uint_eq(t.body.stmts.v[1].insert_id, 3);
    xwrite(s, &t, "UPDATE t SET r = r * 2, ts = NOW(6) WHERE id = 1", NULL);
    params_init(&p, 1);
    proto_value_set_text(&p.v[0], "param", 5);
    xwrite(s, &t, "INSERT INTO t (note, ts) VALUES (?, CURRENT_TIMESTAMP(3))", &p);
    /* the session environment changes what statements do */
    xexec_free(s, "SET SESSION sql_mode = 'PIPES_AS_CONCAT'");
    xwrite(s, &t, "INSERT INTO t (note) VALUES ('x' || 'y')", NULL);
    xexec_free(s, "SET time_zone = '+05:00'");
    xwrite(s, &t, "INSERT INTO t (note, parent) VALUES (DATE_FORMAT(NOW(), '%H:%i'), LAST_INSERT_ID())", NULL);
    {
        /* the logged environment names the database and the changed variables */
        const struct proto_stmt *st = &t.body.stmts.v[t.body.stmts.n - 1];
        bool saw_db = false, saw_tz = false;
        for (uint32_t i = 0; i < st->env.n; i++) {
            if (strcmp(st->env.v[i].key.p, "database") == 0)
                saw_db = strcmp(st->env.v[i].val.p, "t6") == 0;
            if (strcmp(st->env.v[i].key.p, "time_zone") == 0)
                saw_tz = strcmp(st->env.v[i].val.p, "+05:00") == 0;
        }
        ck_assert(saw_db && saw_tz);
    }
    commit(s, &t);
    da = rstr(ma, "SELECT note FROM t6.t WHERE id = 5");
    ck_assert_str_eq(da, "xy");
    free(da);

    ap = sopen(beb, NULL, NULL, NULL);
    ck_assert_msg(backend_apply(ap, op, &t.entry, &t.body, &rep, &e) == 0, "apply: %s", e.msg);
    ck_assert_msg(!rep.mismatch, "%s", rep.detail);
    ck_assert_uint_eq(applied_of(beb), op);
    da = rdump(ma, "SELECT * FROM t6.t ORDER BY id");
    db = rdump(mb, "SELECT * FROM t6.t ORDER BY id");
    ck_assert_str_eq(da, db);
    ck_assert_str_eq(checksum_of(bea, "t6.t", ca, sizeof ca), checksum_of(beb, "t6.t", cb, sizeof cb));
    free(da);
    free(db);
    ck_assert_int_eq(backend_client_lookup(beb, &t.entry.client, &row, &found, &e), 0);
    ck_assert(found);
    ck_assert_uint_eq(row.req, t.entry.req);
    ck_assert_uint_eq(row.op, op);
    ck_assert_uint_eq(row.insert_id, 6);
    ck_assert_int_eq(backend_client_lookup(bea, &t.entry.client, &row, &found, &e), 0);
    ck_assert(found);

    /* a second entry in another database, applied by the same session */
    rq(ma, "CREATE DATABASE t6b");
    rq(ma, "CREATE TABLE t6b.k (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB");
    rq(mb, "CREATE DATABASE t6b");
    rq(mb, "CREATE TABLE t6b.k (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB");
    txn_free(&t);
    backend_session_close(s);
    s = sopen(bea, NULL, NULL, "t6b");
    ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
    txn_init(&t, op + 1);
    xwrite(s, &t, "INSERT INTO k VALUES (1, 'one'), (2, 'two')", NULL);
    xwrite(s, &t, "INSERT INTO t6.t (note) VALUES (DATABASE())", NULL);
    commit(s, &t);
    ck_assert_int_eq(backend_apply(ap, op + 1, &t.entry, &t.body, &rep, &e), 0);
    ck_assert_msg(!rep.mismatch, "%s", rep.detail);
    da = rdump(ma, "SELECT * FROM t6.t ORDER BY id");
    db = rdump(mb, "SELECT * FROM t6.t ORDER BY id");
    ck_assert_str_eq(da, db);
    ck_assert_str_eq(checksum_of(bea, "t6b.k", ca, sizeof ca), checksum_of(beb, "t6b.k", cb, sizeof cb));
    free(da);
    free(db);

    txn_free(&t);
    proto_list_value_resize(&p, 0);
    free(p.v);
    mysql_close(ma);
    mysql_close(mb);
    backend_session_close(ap);
    backend_session_close(s);
    backend_close(bea);
    backend_close(beb);
}
END_TEST

/* A backup whose data differs notices at the first statement whose counts
 * differ, rolls the entry back and reports; checksums see content
 * differences that counts cannot. */
START_TEST(test_divergence)
{
    MYSQL *mb = root(dir_b);
    struct backend *beb = open_be(dsn_b);
    struct backend_session *ap = sopen(beb, NULL, NULL, NULL);
    struct backend_apply_report rep;
    struct txn t;
    struct proto_stmt *st;
    struct err e;
    char c1[40], c2[40];
    uint64_t op = applied_of(beb) + 1;

    rq(mb, "CREATE DATABASE t13");
    rq(mb, "CREATE TABLE t13.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
    rq(mb, "INSERT INTO t13.t VALUES (1, 1), (2, 2), (3, 3)");
    checksum_of(beb, "t13.t", c1, sizeof c1);

    txn_init(&t, op);
    ck_assert_int_eq(proto_list_stmt_resize(&t.body.stmts, 2), 0);
    st = &t.body.stmts.v[0];
    proto_str_setz(&st->sql, "UPDATE t SET v = v + 10 WHERE id = 3");
    proto_list_kv_resize(&st->env, 1);
    proto_str_setz(&st->env.v[0].key, "database");
    proto_str_setz(&st->env.v[0].val, "t13");
    st->affected = 1;
    st = &t.body.stmts.v[1];
    proto_str_setz(&st->sql, "UPDATE t13.t SET v = v + 1 WHERE id <= 2");
    st->affected = 5; /* the primary saw five rows */
    ck_assert_int_eq(backend_apply(ap, op, &t.entry, &t.body, &rep, &e), 0);
    ck_assert(rep.mismatch);
    ck_assert_msg(strstr(rep.detail, "statement 2: 2 rows affected here, 5 on the primary"), "%s", rep.detail);
    /* rolled back, including the first statement; not applied */
    ck_assert_int_eq(rnum(mb, "SELECT SUM(v) FROM t13.t"), 6);
    ck_assert_uint_eq(applied_of(beb), op - 1);

    /* a statement that fails here but succeeded there */
    proto_str_setz(&t.body.stmts.v[1].sql, "INSERT INTO t13.t VALUES (1, 100)");
    t.body.stmts.v[1].affected = 1;
    ck_assert_int_eq(backend_apply(ap, op, &t.entry, &t.body, &rep, &e), 0);
    ck_assert(rep.mismatch);
    ck_assert_msg(strstr(rep.detail, "failed here (1062"), "%s", rep.detail);
    ck_assert_int_eq(rnum(mb, "SELECT SUM(v) FROM t13.t"), 6);

    /* insert ids are compared too */
    proto_str_setz(&t.body.stmts.v[1].sql, "INSERT INTO t13.t VALUES (4, 4)");
    t.body.stmts.v[1].result_insert_id = 99;
    ck_assert_int_eq(backend_apply(ap, op, &t.entry, &t.body, &rep, &e), 0);
    ck_assert(rep.mismatch);
    ck_assert_msg(strstr(rep.detail, "insert id 0 here, 99 on the primary"), "%s", rep.detail);

    /* matching counts apply */
    t.body.stmts.v[1].result_insert_id = 0;
    memset(&rep, 0, sizeof rep);
    ck_assert_int_eq(backend_apply(ap, op, &t.entry, &t.body, &rep, &e), 0);
    ck_assert_msg(!rep.mismatch, "%s", rep.detail);
    ck_assert_uint_eq(applied_of(beb), op);
    ck_assert_int_eq(rnum(mb, "SELECT SUM(v) FROM t13.t"), 20);

    /* content divergence that counts cannot see: checksums differ */
    checksum_of(beb, "t13.t", c1, sizeof c1);
    rq(mb, "UPDATE t13.t SET v = 21 WHERE id = 1");
    checksum_of(beb, "t13.t", c2, sizeof c2);
    ck_assert_str_ne(c1, c2);
    rq(mb, "UPDATE t13.t SET v = 1 WHERE id = 1");
    checksum_of(beb, "t13.t", c2, sizeof c2);
    ck_assert_str_eq(c1, c2);

    txn_free(&t);
    backend_session_close(ap);
    backend_close(beb);
    mysql_close(mb);
}
END_TEST

START_TEST(test_unsafe_refused)
{
    MYSQL *m = root(dir_a);
    struct backend *be;
    struct backend_session *s;
    struct backend_result r;
    struct txn t;
    struct err e;
    bool aborted;
    static const char *const unsafe[] = {
        "INSERT INTO u (v) VALUES (UUID())",
        "INSERT INTO u (v) VALUES (SYSDATE())",
        "INSERT INTO u (v) VALUES (USER())",
        "UPDATE u SET v = 'z' LIMIT 1",
        "DELETE FROM u LIMIT 1",
        "INSERT INTO u (v) SELECT v FROM u",
        "UPDATE u SET v = RAND() WHERE id = 1",
        NULL,
    };

    rq(m, "CREATE DATABASE t7");
    rq(m, "CREATE TABLE t7.u (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(80)) ENGINE=InnoDB");
    be = open_be(dsn_a);
    s = sopen(be, NULL, NULL, "t7");
    ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
    txn_init(&t, applied_of(be) + 1);
    xwrite(s, &t, "INSERT INTO u (v) VALUES ('kept')", NULL);
    for (int i = 0; unsafe[i]; i++) {
        ck_assert_msg(try_exec(s, unsafe[i], NULL, true, &r, &aborted, &e) < 0, "accepted %s", unsafe[i]);
        ck_assert_msg(e.code == ERR_REFUSED, "%s: %s", unsafe[i], e.msg);
        ck_assert_int_eq(e.native, 1592);
        ck_assert_msg(strstr(e.msg, "unsafe"), "%s", e.msg);
        ck_assert(!aborted);
        backend_result_free(&r);
    }
    /* the transaction goes on with what it had */
    xwrite(s, &t, "INSERT INTO u (v) VALUES ('also kept')", NULL);
    commit(s, &t);
    txn_free(&t);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM t7.u"), 2);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM t7.u WHERE v IN ('kept', 'also kept')"), 2);

    /* unsafe as the first statement of a transaction */
    ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
    txn_init(&t, applied_of(be) + 1);
    ck_assert_int_lt(try_exec(s, unsafe[0], NULL, true, &r, &aborted, &e), 0);
    ck_assert_msg(e.code == ERR_REFUSED, "%d %s", e.code, e.msg);
    xwrite(s, &t, "INSERT INTO u (v) VALUES ('third')", NULL);
    commit(s, &t);
    txn_free(&t);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM t7.u"), 3);

    /* other refusals, all leaving the session usable */
    ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
    ck_assert_int_lt(try_exec(s, "CREATE TABLE x (a INT)", NULL, true, &r, &aborted, &e), 0);
    ck_assert_msg(e.code == ERR_REFUSED, "%d %s", e.code, e.msg);
    ck_assert_int_lt(try_exec(s, "COMMIT", NULL, true, &r, &aborted, &e), 0);
    ck_assert_msg(e.code == ERR_REFUSED, "%d %s", e.code, e.msg);
    ck_assert_int_lt(try_exec(s, "SET STATEMENT sql_log_bin=0 FOR DELETE FROM u", NULL, true,
                              &r, &aborted, &e), 0);
    ck_assert_msg(e.code == ERR_REFUSED, "%d %s", e.code, e.msg);
    ck_assert_int_lt(try_exec(s, "DELETE FROM u WHERE id = 1 RETURNING id", NULL, true, &r, &aborted, &e), 0);
    ck_assert_msg(e.code == ERR_REFUSED, "%d %s", e.code, e.msg);
    ck_assert_int_lt(try_exec(s, "INSERT INTO u (v) VALUES ('a'); INSERT INTO u (v) VALUES ('b')", NULL,
                              true, &r, &aborted, &e), 0);
    ck_assert_msg(e.code == ERR_REFUSED, "%d %s", e.code, e.msg);
    ck_assert_int_lt(try_exec(s, "LOCK TABLES u WRITE", NULL, true, &r, &aborted, &e), 0);
    ck_assert_msg(e.code == ERR_REFUSED, "%d %s", e.code, e.msg);
    /* a write needs its context */
    ck_assert_int_lt(try_exec(s, "INSERT INTO u (v) VALUES ('x')", NULL, false, &r, &aborted, &e), 0);
    ck_assert_msg(e.code == ERR_INVALID, "%d %s", e.code, e.msg);
    /* a session that switched statement logging off cannot write */
    xexec_free(s, "SET SESSION binlog_format = 'ROW'");
    ck_assert_int_lt(try_exec(s, "INSERT INTO u (v) VALUES ('x')", NULL, true, &r, &aborted, &e), 0);
    ck_assert_msg(e.code == ERR_REFUSED, "%d %s", e.code, e.msg);
    ck_assert_msg(strstr(e.msg, "binlog_format=ROW"), "%s", e.msg);
    xexec_free(s, "SET SESSION binlog_format = 'STATEMENT'");
    ck_assert_int_eq(backend_rollback(s, &e), 0);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM t7.u"), 3);
    backend_session_close(s);
    backend_close(be);
    mysql_close(m);
}
END_TEST

START_TEST(test_savepoints)
{
    MYSQL *m = root(dir_a);
    struct backend *be;
    struct backend_session *s;
    struct txn t;
    struct err e;

    rq(m, "CREATE DATABASE t14");
    rq(m, "CREATE TABLE t14.u (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB");
    be = open_be(dsn_a);
    s = sopen(be, NULL, NULL, "t14");
    ck_assert_int_eq(backend_begin(s, ISO_SERIALIZABLE, &e), 0);
    txn_init(&t, applied_of(be) + 1);
    xwrite(s, &t, "INSERT INTO u (v) VALUES ('a')", NULL);
    ck_assert_int_eq(backend_savepoint(s, "sp 1", &e), 0);
    xwrite(s, &t, "INSERT INTO u (v) VALUES ('b')", NULL);
    ck_assert_int_eq(backend_rollback_to(s, "sp 1", &e), 0);
    ck_assert_int_lt(backend_savepoint(s, "__recall_x", &e), 0);
    ck_assert_int_lt(backend_rollback_to(s, "nosuch", &e), 0);
    ck_assert_int_eq(e.native, 1305);
    xwrite(s, &t, "INSERT INTO u (v) VALUES ('c')", NULL);
    ck_assert_int_eq(backend_release(s, "sp 1", &e), 0);
    commit(s, &t);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM t14.u WHERE v IN ('a', 'c')"), 2);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM t14.u"), 2);
    txn_free(&t);
    backend_session_close(s);
    backend_close(be);
    mysql_close(m);
}
END_TEST

struct blocked {
    struct backend_session *s;
    const char *sql;
    int rc;
    bool aborted;
    struct err e;
};

static void *blocked_exec(void *arg)
{
    struct blocked *b = arg;
    struct backend_result r;
    b->rc = try_exec(b->s, b->sql, NULL, true, &r, &b->aborted, &b->e);
    backend_result_free(&r);
    return NULL;
}

/* INNODB_TRX is a cache refreshed only when it was not read for 100 ms:
 * poll slower than that. */
static void wait_lock_waits(MYSQL *m, int n, struct blocked *b)
{
    for (int i = 0; i < 50; i++) {
        if (rnum(m, "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'") >= n)
            return;
        usleep(150000);
    }
    ck_abort_msg("no lock wait appeared (rc %d %s): %s", b->rc, b->e.msg,
                 rdump(m, "SELECT trx_state, trx_query FROM information_schema.INNODB_TRX"));
}

START_TEST(test_deadlock)
{
    MYSQL *m = root(dir_a);
    struct backend *be;
    struct backend_session *s1, *s2;
    struct backend_result r;
    struct blocked b;
    pthread_t th;
    struct err e;
    bool aborted;
    int rc;

    rq(m, "CREATE DATABASE t8");
    rq(m, "CREATE TABLE t8.d (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
    rq(m, "INSERT INTO t8.d VALUES (1, 0), (2, 0)");
    be = open_be(dsn_a);
    s1 = sopen(be, NULL, NULL, "t8");
    s2 = sopen(be, NULL, NULL, "t8");
    ck_assert_int_eq(backend_begin(s1, ISO_DEFAULT, &e), 0);
    ck_assert_int_eq(backend_begin(s2, ISO_DEFAULT, &e), 0);
    xexec(s1, "UPDATE d SET v = v + 1 WHERE id = 1", NULL, &r);
    backend_result_free(&r);
    xexec(s2, "UPDATE d SET v = v + 1 WHERE id = 2", NULL, &r);
    backend_result_free(&r);
    memset(&b, 0, sizeof b);
    b.s = s1;
    b.sql = "UPDATE d SET v = v + 1 WHERE id = 2";
    ck_assert_int_eq(pthread_create(&th, NULL, blocked_exec, &b), 0);
    wait_lock_waits(m, 1, &b);
    rc = try_exec(s2, "UPDATE d SET v = v + 1 WHERE id = 1", NULL, true, &r, &aborted, &e);
    backend_result_free(&r);
    pthread_join(th, NULL);
    /* exactly one of them is the deadlock victim */
    ck_assert_msg((rc < 0) != (b.rc < 0), "rc %d / %d", rc, b.rc);
    {
        struct err *ve = rc < 0 ? &e : &b.e;
        bool va = rc < 0 ? aborted : b.aborted;
        ck_assert_int_eq(ve->code, ERR_DEADLOCK);
        ck_assert_str_eq(ve->sqlstate, "40001");
        ck_assert_int_eq(ve->native, 1213);
        ck_assert(va);
    }
    ck_assert_int_eq(backend_rollback(s1, &e), 0);
    ck_assert_int_eq(backend_rollback(s2, &e), 0);
    backend_session_close(s1);
    backend_session_close(s2);
    backend_close(be);
    mysql_close(m);
}
END_TEST

START_TEST(test_lock_wait_timeout)
{
    MYSQL *m = root(dir_a);
    struct backend *be;
    struct backend_session *s1, *s2;
    struct backend_result r;
    struct txn t;
    struct err e;
    bool aborted;

    rq(m, "CREATE DATABASE t9");
    rq(m, "CREATE TABLE t9.d (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
    rq(m, "INSERT INTO t9.d VALUES (1, 0), (2, 0)");
    be = open_be(dsn_a);
    s1 = sopen(be, NULL, NULL, "t9");
    s2 = sopen(be, NULL, NULL, "t9");
    ck_assert_int_eq(backend_begin(s1, ISO_DEFAULT, &e), 0);
    xexec(s1, "UPDATE d SET v = 1 WHERE id = 1", NULL, &r);
    backend_result_free(&r);
    xexec_free(s2, "SET SESSION innodb_lock_wait_timeout = 1");
    ck_assert_int_eq(backend_begin(s2, ISO_DEFAULT, &e), 0);
    txn_init(&t, applied_of(be) + 1);
    xwrite(s2, &t, "UPDATE d SET v = 2 WHERE id = 2", NULL);
    ck_assert_int_lt(try_exec(s2, "UPDATE d SET v = 2 WHERE id = 1", NULL, true, &r, &aborted, &e), 0);
    ck_assert_int_eq(e.code, ERR_TIMEOUT);
    ck_assert_int_eq(e.native, 1205);
    ck_assert(!aborted); /* only the statement was rolled back */
    ck_assert_int_eq(backend_rollback(s1, &e), 0);
    commit(s2, &t);
    ck_assert_int_eq(rnum(m, "SELECT v FROM t9.d WHERE id = 2"), 2);
    ck_assert_int_eq(rnum(m, "SELECT v FROM t9.d WHERE id = 1"), 0);
    txn_free(&t);
    backend_session_close(s1);
    backend_session_close(s2);
    backend_close(be);
    mysql_close(m);
}
END_TEST

static long long read_count(struct backend_session *s, const char *sql)
{
    struct backend_result r;
    struct proto_list_value cells;
    struct err e;
    long long n;
    ck_assert_msg(backend_read_exec(s, sql, (uint32_t)strlen(sql), NULL, &r, &e) == 0, "%s", e.msg);
    backend_result_free(&r);
    fetch_all(s, &cells);
    ck_assert_uint_eq(cells.n, 1);
    n = cells.v[0].v.i;
    cells_free(&cells);
    return n;
}

START_TEST(test_read_snapshot)
{
    MYSQL *m = root(dir_a);
    struct backend *be;
    struct backend_session *w, *rd;
    struct backend_result r;
    struct txn t;
    struct err e;
    uint64_t a0, a1;

    rq(m, "CREATE DATABASE t10");
    rq(m, "CREATE TABLE t10.t (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB");
    rq(m, "CREATE SEQUENCE t10.sq");
    be = open_be(dsn_a);
    w = sopen(be, NULL, NULL, "t10");
    rd = sopen(be, NULL, NULL, "t10");

    ck_assert_int_eq(backend_read_begin(rd, &a0, &e), 0);
    ck_assert_uint_eq(a0, applied_of(be));
    ck_assert_int_eq(read_count(rd, "SELECT COUNT(*) FROM t"), 0);
    /* a commit after the snapshot began is invisible, applied included */
    ck_assert_int_eq(backend_begin(w, ISO_DEFAULT, &e), 0);
    txn_init(&t, a0 + 1);
    xwrite(w, &t, "INSERT INTO t VALUES ()", NULL);
    commit(w, &t);
    txn_free(&t);
    ck_assert_uint_eq(applied_of(be), a0 + 1);
    ck_assert_int_eq(read_count(rd, "SELECT COUNT(*) FROM t"), 0);
    /* reads that write fail loudly and change nothing */
    ck_assert_int_lt(backend_read_exec(rd, "INSERT INTO t VALUES ()", 23, NULL, &r, &e), 0);
    ck_assert_int_eq(e.code, ERR_REFUSED);
    ck_assert_int_lt(backend_read_exec(rd, "SELECT * FROM t FOR UPDATE", 26, NULL, &r, &e), 0);
    ck_assert_int_eq(e.code, ERR_REFUSED);
    ck_assert_int_lt(backend_read_exec(rd, "DROP TABLE t", 12, NULL, &r, &e), 0);
    ck_assert_int_eq(e.code, ERR_REFUSED);
    ck_assert_int_lt(backend_read_exec(rd, "SELECT NEXTVAL(sq)", 18, NULL, &r, &e), 0);
    ck_assert_int_eq(e.native, 1792);
    ck_assert_int_eq(backend_read_end(rd), 0);
    /* a new snapshot sees the commit and its op */
    ck_assert_int_eq(backend_read_begin(rd, &a1, &e), 0);
    ck_assert_uint_eq(a1, a0 + 1);
    ck_assert_int_eq(read_count(rd, "SELECT COUNT(*) FROM t"), 1);
    ck_assert_int_eq(backend_read_end(rd), 0);
    /* without reading applied, the snapshot starts with the first read:
     * a commit between begin and that read is visible, one after it not */
    ck_assert_int_eq(backend_read_begin(rd, NULL, &e), 0);
    for (uint64_t op = a0 + 2; op <= a0 + 3; op++) {
        ck_assert_int_eq(backend_begin(w, ISO_DEFAULT, &e), 0);
        txn_init(&t, op);
        xwrite(w, &t, "INSERT INTO t VALUES ()", NULL);
        commit(w, &t);
        txn_free(&t);
        ck_assert_int_eq(read_count(rd, "SELECT COUNT(*) FROM t"), 2);
    }
    ck_assert_int_eq(backend_read_end(rd), 0);
    ck_assert_int_eq(backend_read_begin(rd, NULL, &e), 0);
    ck_assert_int_eq(read_count(rd, "SELECT COUNT(*) FROM t"), 3);
    ck_assert_int_eq(backend_read_end(rd), 0);
    backend_session_close(w);
    backend_session_close(rd);
    backend_close(be);
    mysql_close(m);
}
END_TEST

static void ddl_stmt(struct proto_body *body, const char *sql, const char *db)
{
    memset(body, 0, sizeof *body);
    body->kind = BODY_DDL;
    ck_assert_int_eq(proto_list_stmt_resize(&body->stmts, 1), 0);
    proto_str_setz(&body->stmts.v[0].sql, sql);
    body->stmts.v[0].ts_us = ts_counter;
    if (db) {
        proto_list_kv_resize(&body->stmts.v[0].env, 1);
        proto_str_setz(&body->stmts.v[0].env.v[0].key, "database");
        proto_str_setz(&body->stmts.v[0].env.v[0].val, db);
    }
}

static struct backend_state state_of(struct backend *be)
{
    struct backend_state st;
    struct err e;
    ck_assert_msg(backend_get_state(be, &st, &e) == 0, "%s", e.msg);
    return st;
}

START_TEST(test_ddl_and_recovery)
{
    MYSQL *m = root(dir_b);
    struct backend *be = open_be(dsn_b);
    struct backend_session *s, *ap;
    struct backend_apply_report rep;
    struct proto_entry entry;
    struct proto_body body, ok, failed;
    struct err e;
    uint64_t a0 = applied_of(be);

    rq(m, "CREATE DATABASE t11");
    memset(&entry, 0, sizeof entry);
    memset(&ok, 0, sizeof ok);
    ok.kind = BODY_DDL_OUTCOME;
    failed = ok;
    failed.code = ERR_SQL;

    /* the primary's path: in the client's session */
    s = sopen(be, NULL, NULL, "t11");
    ddl_stmt(&body, "CREATE TABLE x (id INT PRIMARY KEY)", NULL);
    entry.op = a0 + 1;
    ck_assert_msg(backend_exec_ddl(s, a0 + 1, &entry, &body.stmts.v[0], &e) == 0, "%s", e.msg);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 't11' "
                             "AND TABLE_NAME = 'x'"), 1);
    ck_assert_uint_eq(state_of(be).applied, a0 + 1);
    ck_assert_uint_eq(state_of(be).ddl_pending, 0);
    /* a failing DDL returns the server's error and still counts as applied */
    entry.op = a0 + 2;
    ck_assert_int_lt(backend_exec_ddl(s, a0 + 2, &entry, &body.stmts.v[0], &e), 0);
    ck_assert_int_eq(e.native, 1050);
    ck_assert_uint_eq(state_of(be).applied, a0 + 2);
    /* running an op again is a no-op */
    ck_assert_int_eq(backend_exec_ddl(s, a0 + 2, &entry, &body.stmts.v[0], &e), 0);
    proto_body_free(&body);
    backend_session_close(s);

    /* crash after the DDL ran, before it was recorded: done */
    rq(m, "CREATE TABLE t11.y (id INT)");
    rq(m, "UPDATE recall.recall_ddl SET op = %llu, db = 't11', stmt = 'CREATE TABLE y (id INT)'",
       (unsigned long long)(a0 + 3));
    backend_close(be);
    be = open_be(dsn_b);
    ck_assert_uint_eq(state_of(be).applied, a0 + 3);
    ck_assert_uint_eq(state_of(be).ddl_pending, 0);

    /* crash before it ran: marker cleared, the replay runs it */
    rq(m, "UPDATE recall.recall_ddl SET op = %llu, db = 't11', stmt = 'CREATE TABLE z (id INT)'",
       (unsigned long long)(a0 + 4));
    backend_close(be);
    be = open_be(dsn_b);
    ck_assert_uint_eq(state_of(be).applied, a0 + 3);
    ck_assert_uint_eq(state_of(be).ddl_pending, 0);
    ap = sopen(be, NULL, NULL, NULL);
    ddl_stmt(&body, "CREATE TABLE z (id INT)", "t11");
    entry.op = a0 + 4;
    ck_assert_msg(backend_apply_ddl(ap, a0 + 4, &entry, &body, &ok, &rep, &e) == 0, "%s", e.msg);
    ck_assert(!rep.mismatch);
    ck_assert_uint_eq(state_of(be).applied, a0 + 4);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 't11' "
                             "AND TABLE_NAME = 'z'"), 1);
    proto_body_free(&body);

    /* ALTER TABLE ADD COLUMN found done */
    rq(m, "ALTER TABLE t11.y ADD COLUMN c INT");
    rq(m, "UPDATE recall.recall_ddl SET op = %llu, db = 't11', stmt = 'ALTER TABLE y ADD COLUMN c INT'",
       (unsigned long long)(a0 + 5));
    backend_session_close(ap);
    backend_close(be);
    be = open_be(dsn_b);
    ck_assert_uint_eq(state_of(be).applied, a0 + 5);

    /* a form that cannot be checked stays pending and blocks its replay */
    rq(m, "UPDATE recall.recall_ddl SET op = %llu, db = 't11', stmt = 'ALTER TABLE y ENGINE=InnoDB'",
       (unsigned long long)(a0 + 6));
    backend_close(be);
    be = open_be(dsn_b);
    ck_assert_uint_eq(state_of(be).applied, a0 + 5);
    ck_assert_uint_eq(state_of(be).ddl_pending, a0 + 6);
    ap = sopen(be, NULL, NULL, NULL);
    ddl_stmt(&body, "ALTER TABLE y ENGINE=InnoDB", "t11");
    entry.op = a0 + 6;
    ck_assert_int_lt(backend_apply_ddl(ap, a0 + 6, &entry, &body, &ok, &rep, &e), 0);
    ck_assert_int_eq(e.code, ERR_CORRUPT);
    ck_assert_msg(strstr(e.msg, "state transfer"), "%s", e.msg);
    proto_body_free(&body);
    /* (an operator checked by hand) */
    rq(m, "UPDATE recall.recall_ddl SET op = 0");
    rq(m, "UPDATE recall.recall_state SET applied = %llu", (unsigned long long)(a0 + 6));

    /* the primary's DDL failed: skipped, only recorded */
    ddl_stmt(&body, "CREATE TABLE w (id INT)", "t11");
    entry.op = a0 + 7;
    ck_assert_int_eq(backend_apply_ddl(ap, a0 + 7, &entry, &body, &failed, &rep, &e), 0);
    ck_assert(!rep.mismatch);
    ck_assert_uint_eq(state_of(be).applied, a0 + 7);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 't11' "
                             "AND TABLE_NAME = 'w'"), 0);
    proto_body_free(&body);

    /* it succeeded there and fails here: a mismatch, not applied */
    ddl_stmt(&body, "CREATE TABLE y (id INT)", "t11");
    entry.op = a0 + 8;
    ck_assert_int_eq(backend_apply_ddl(ap, a0 + 8, &entry, &body, &ok, &rep, &e), 0);
    ck_assert(rep.mismatch);
    ck_assert_msg(strstr(rep.detail, "failed here (1050"), "%s", rep.detail);
    ck_assert_uint_eq(state_of(be).applied, a0 + 7);
    ck_assert_uint_eq(state_of(be).ddl_pending, 0);
    proto_body_free(&body);

    /* account management is DDL too */
    ddl_stmt(&body, "CREATE USER 'frank'@'%' IDENTIFIED BY 'x'", NULL);
    ck_assert_int_eq(backend_apply_ddl(ap, a0 + 8, &entry, &body, &ok, &rep, &e), 0);
    ck_assert_msg(!rep.mismatch, "%s", rep.detail);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM mysql.user WHERE User = 'frank'"), 1);
    ck_assert_uint_eq(state_of(be).applied, a0 + 8);
    proto_body_free(&body);

    backend_session_close(ap);
    backend_close(be);
    mysql_close(m);
}
END_TEST

/* DDL waiting for a read snapshot's metadata lock kills the reader rather
 * than stall (reads on backups must not hold up the apply). */
START_TEST(test_ddl_kills_blocking_reader)
{
    MYSQL *m = root(dir_b);
    struct backend *be = open_be(dsn_b);
    struct backend_session *rd, *ap;
    struct backend_apply_report rep;
    struct proto_entry entry;
    struct proto_body body, ok;
    struct err e;
    uint64_t a;
    time_t t0;

    rq(m, "CREATE DATABASE t15");
    rq(m, "CREATE TABLE t15.r (id INT PRIMARY KEY) ENGINE=InnoDB");
    rd = sopen(be, NULL, NULL, "t15");
    ck_assert_int_eq(backend_read_begin(rd, &a, &e), 0);
    ck_assert_int_eq(read_count(rd, "SELECT COUNT(*) FROM r"), 0);
    ap = sopen(be, NULL, NULL, NULL);
    memset(&entry, 0, sizeof entry);
    memset(&ok, 0, sizeof ok);
    ok.kind = BODY_DDL_OUTCOME;
    ddl_stmt(&body, "ALTER TABLE r ADD COLUMN v INT", "t15");
    entry.op = applied_of(be) + 1;
    t0 = time(NULL);
    ck_assert_msg(backend_apply_ddl(ap, entry.op, &entry, &body, &ok, &rep, &e) == 0, "%s", e.msg);
    ck_assert(!rep.mismatch);
    ck_assert_int_le(time(NULL) - t0, 10);
    /* the reader lost its session */
    {
        struct backend_result r;
        ck_assert_int_lt(backend_read_exec(rd, "SELECT 1", 8, NULL, &r, &e), 0);
    }
    ck_assert_int_eq(e.code, ERR_CONN_LOST);
    proto_body_free(&body);
    backend_session_close(rd);
    backend_session_close(ap);
    backend_close(be);
    mysql_close(m);
}
END_TEST

START_TEST(test_flush_quiesce_lost)
{
    MYSQL *m = root(dir_a);
    struct backend *be = open_be(dsn_a);
    struct backend_session *s;
    struct backend_result r;
    struct backend_state st;
    struct err e;
    uint64_t durable, lsn;
    bool aborted;
    char *id;

    /* flush: everything committed so far is in the durable redo log */
    rq(m, "CREATE DATABASE t12");
    rq(m, "CREATE TABLE t12.f (id INT) ENGINE=InnoDB");
    /* no background redo sync during the test: only the flush syncs */
    rq(m, "SET GLOBAL innodb_flush_log_at_timeout = 2700");
    rq(m, "INSERT INTO t12.f VALUES (1)");
    lsn = (uint64_t)rnum(m, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE "
                            "VARIABLE_NAME = 'INNODB_LSN_CURRENT'");
    ck_assert_uint_gt(lsn, (uint64_t)rnum(m, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                                             "WHERE VARIABLE_NAME = 'INNODB_LSN_FLUSHED'"));
    ck_assert_int_eq(backend_flush(be, &durable, &e), 0);
    ck_assert_uint_eq(durable, applied_of(be));
    ck_assert_uint_ge((uint64_t)rnum(m, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE "
                                        "VARIABLE_NAME = 'INNODB_LSN_FLUSHED'"), lsn);
    ck_assert_int_eq(rnum(m, "SELECT @@global.innodb_flush_log_at_trx_commit"), 2);
    rq(m, "SET GLOBAL innodb_flush_log_at_timeout = 1");

    /* a lost connection loses the transaction and the session */
    s = sopen(be, NULL, NULL, "t12");
    ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
    xexec(s, "INSERT INTO f VALUES (2)", NULL, &r);
    backend_result_free(&r);
    id = rstr(m, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = 't12' AND USER = 'recall'");
    rq(m, "KILL CONNECTION %s", id);
    free(id);
    ck_assert_int_lt(try_exec(s, "INSERT INTO f VALUES (3)", NULL, true, &r, &aborted, &e), 0);
    ck_assert_int_eq(e.code, ERR_CONN_LOST);
    ck_assert(aborted);
    ck_assert(!err_usable(&e));
    ck_assert_int_lt(backend_begin(s, ISO_DEFAULT, &e), 0);
    ck_assert_int_eq(e.code, ERR_CONN_LOST);
    backend_session_close(s);
    ck_assert_int_eq(rnum(m, "SELECT COUNT(*) FROM t12.f"), 1);

    /* quiesce closes everything, resume reconnects */
    s = sopen(be, NULL, NULL, "t12");
    ck_assert_int_eq(backend_quiesce(be, &e), 0);
    ck_assert_int_lt(try_exec(s, "SELECT 1", NULL, false, &r, &aborted, &e), 0);
    ck_assert_int_eq(e.code, ERR_CONN_LOST);
    ck_assert_msg(strstr(e.msg, "quiesced"), "%s", e.msg);
    ck_assert_ptr_null(backend_session_open(be, NULL, NULL, NULL, &e));
    ck_assert_int_eq(e.code, ERR_NOT_READY);
    ck_assert_int_lt(backend_get_state(be, &st, &e), 0);
    ck_assert_int_eq(backend_resume(be, &e), 0);
    backend_session_close(s);
    s = sopen(be, NULL, NULL, "t12");
    ck_assert_int_eq(backend_get_state(be, &st, &e), 0);
    backend_session_close(s);
    backend_close(be);
    mysql_close(m);
}
END_TEST

/* Round trips on the hot path, counted in the servers' general logs: an
 * autocommit write costs SET (context), the statement and one CALL
 * (bookkeeping and COMMIT); one with parameters is prepared the first time
 * only.  A backup applies an entry the same way, and a batch of entries
 * with one bookkeeping round trip and one COMMIT; a read costs the
 * prepared read of applied, the query, and a COMMIT nobody waits for. */
static char *general_log(MYSQL *m, const char *thread)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT command_type, LEFT(argument, 16) FROM mysql.general_log "
             "WHERE thread_id = %s AND command_type <> 'Close stmt' ORDER BY event_time", thread);
    return rdump(m, sql);
}

START_TEST(test_round_trips)
{
    /* (the context SET is a prepared statement too, prepared by the
     * warm-up write on the primary) */
    static const char writes[] = "Execute|SET @@session.ti|\n"
                                 "Query|INSERT INTO w (v|\n"
                                 "Query|CALL recall.reca|\n"
                                 "Execute|SET @@session.ti|\n"
                                 "Prepare|INSERT INTO w (v|\n"
                                 "Execute|INSERT INTO w (v|\n"
                                 "Query|CALL recall.reca|\n"
                                 "Execute|SET @@session.ti|\n"
                                 "Execute|INSERT INTO w (v|\n"
                                 "Query|CALL recall.reca|\n";
    /* (the backup's warm-up set its whole environment as text) */
    static const char applies[] = "Prepare|SET @@session.ti|\n"
                                  "Execute|SET @@session.ti|\n"
                                  "Query|INSERT INTO w (v|\n"
                                  "Query|CALL recall.reca|\n"
                                  "Execute|SET @@session.ti|\n"
                                  "Prepare|INSERT INTO w (v|\n"
                                  "Execute|INSERT INTO w (v|\n"
                                  "Query|CALL recall.reca|\n"
                                  "Execute|SET @@session.ti|\n"
                                  "Execute|INSERT INTO w (v|\n"
                                  "Query|CALL recall.reca|\n";
    /* (an entry of another connection sets pseudo_thread_id as well) */
    static const char batch[] = "Execute|SET @@session.ti|\n"
                                "Execute|INSERT INTO w (v|\n"
                                "Prepare|SET @@session.ti|\n"
                                "Execute|SET @@session.ti|\n"
                                "Execute|INSERT INTO w (v|\n"
                                "Execute|SET @@session.ti|\n"
                                "Execute|INSERT INTO w (v|\n"
                                "Query|UPDATE recall.re|\n"
                                "Query|INSERT INTO reca|\n"
                                "Query|COMMIT|\n";
    static const char reads[] = "Query|SET @@session.lo|\n"
                                "Prepare|SELECT applied F|\n"
                                "Execute|SELECT applied F|\n"
                                "Prepare|SELECT v FROM w |\n"
                                "Execute|SELECT v FROM w |\n"
                                "Query|COMMIT|\n"
                                "Execute|SELECT applied F|\n"
                                "Execute|SELECT v FROM w |\n"
                                "Query|COMMIT|\n";
    MYSQL *ma = root(dir_a), *mb = root(dir_b);
    struct backend *bea, *beb;
    struct backend_session *s, *ap, *rd;
    struct backend_apply_report rep;
    struct backend_apply_item items[3];
    struct proto_list_value p;
    struct txn t[7];
    struct err e;
    char *id, *log, *log2;
    uint64_t op, a;

    rq(ma, "CREATE DATABASE t16");
    rq(ma, "CREATE TABLE t16.w (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB");
    rq(mb, "CREATE DATABASE t16");
    rq(mb, "CREATE TABLE t16.w (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB");
    bea = open_be(dsn_a);
    beb = open_be(dsn_b);
    op = applied_of(bea) > applied_of(beb) ? applied_of(bea) : applied_of(beb);
    s = sopen(bea, NULL, NULL, "t16");
    ap = sopen(beb, NULL, NULL, NULL);
    rd = sopen(beb, NULL, NULL, "t16");
    /* warm up: sessions read their environment before their first write */
    ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
    txn_init(&t[0], op + 1);
    xwrite(s, &t[0], "INSERT INTO w (v) VALUES (0)", NULL);
    commit(s, &t[0]);
    ck_assert_int_eq(backend_apply(ap, op + 1, &t[0].entry, &t[0].body, &rep, &e), 0);
    ck_assert(!rep.mismatch);

    rq(ma, "SET GLOBAL log_output = 'TABLE'");
    rq(ma, "TRUNCATE mysql.general_log");
    rq(ma, "SET GLOBAL general_log = 1");
    params_init(&p, 1);
    p.v[0].type = PV_INT;
    for (int i = 1; i <= 6; i++) {
        ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
        txn_init(&t[i], op + 1 + (uint64_t)i);
        if (i == 6) /* the same client as entry 4: its later row must win */
            t[i].entry.client = t[4].entry.client;
        p.v[0].v.i = i;
        xwrite(s, &t[i], i == 1 ? "INSERT INTO w (v) VALUES (1)" : "INSERT INTO w (v) VALUES (?)",
               i == 1 ? NULL : &p);
        commit(s, &t[i]);
        if (i == 3) {
            rq(ma, "SET GLOBAL general_log = 0");
            id = rstr(ma, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = 't16'");
            log = general_log(ma, id);
            ck_assert_str_eq(log, writes);
            free(log);
            free(id);
            rq(ma, "SET GLOBAL log_output = 'FILE'");
        }
    }

    rq(mb, "SET GLOBAL log_output = 'TABLE'");
    rq(mb, "TRUNCATE mysql.general_log");
    rq(mb, "SET GLOBAL general_log = 1");
    for (int i = 1; i <= 3; i++) {
        ck_assert_int_eq(backend_apply(ap, op + 1 + (uint64_t)i, &t[i].entry, &t[i].body, &rep, &e), 0);
        ck_assert(!rep.mismatch);
    }
    rq(mb, "SET GLOBAL general_log = 0");
    /* the apply session has no fixed database: find it by its statements */
    id = rstr(mb, "SELECT thread_id FROM mysql.general_log WHERE argument LIKE 'CALL recall.%%' LIMIT 1");
    log = general_log(mb, id);
    ck_assert_str_eq(log, applies);
    free(log);
    /* three entries, one transaction; entries of other client sessions
     * (another pseudo_thread_id) keep the prepared statement */
    for (uint32_t k = 0; k < t[5].body.stmts.v[0].env.n; k++)
        if (strcmp(t[5].body.stmts.v[0].env.v[k].key.p, "pseudo_thread_id") == 0)
            proto_str_setz(&t[5].body.stmts.v[0].env.v[k].val, "4242");
    rq(mb, "TRUNCATE mysql.general_log");
    rq(mb, "SET GLOBAL general_log = 1");
    for (int i = 0; i < 3; i++) {
        items[i].op = t[4 + i].entry.op;
        items[i].entry = &t[4 + i].entry;
        items[i].body = &t[4 + i].body;
    }
    ck_assert_msg(backend_apply_batch(ap, items, 3, &rep, &e) == 0, "%s", e.msg);
    ck_assert(!rep.mismatch);
    ck_assert_uint_eq(applied_of(beb), op + 7);
    /* and two reads */
    for (int i = 0; i < 2; i++) {
        struct backend_result r;
        struct proto_list_value cells;
        ck_assert_int_eq(backend_read_begin(rd, &a, &e), 0);
        ck_assert_uint_eq(a, op + 7);
        ck_assert_int_eq(backend_read_exec(rd, "SELECT v FROM w WHERE id = ?", 28, &p, &r, &e), 0);
        backend_result_free(&r);
        fetch_all(rd, &cells);
        cells_free(&cells);
        ck_assert_int_eq(backend_read_end(rd), 0);
    }
    rq(mb, "SET GLOBAL general_log = 0");
    log = general_log(mb, id);
    ck_assert_str_eq(log, batch);
    free(log);
    free(id);
    id = rstr(mb, "SELECT thread_id FROM mysql.general_log WHERE argument LIKE 'SELECT v FROM w%%' LIMIT 1");
    log = general_log(mb, id);
    ck_assert_str_eq(log, reads);
    free(log);
    free(id);
    rq(mb, "SET GLOBAL log_output = 'FILE'");
    log = rdump(ma, "SELECT * FROM t16.w ORDER BY id");
    log2 = rdump(mb, "SELECT * FROM t16.w ORDER BY id");
    ck_assert_str_eq(log, log2);
    free(log);
    free(log2);
    /* the batch left recall_clients as the three entries one by one */
    {
        char q[200];
        snprintf(q, sizeof q, "SELECT HEX(client), req, op, affected, insert_id, ts_us FROM "
                 "recall.recall_clients WHERE op BETWEEN %llu AND %llu ORDER BY op",
                 (unsigned long long)op + 1, (unsigned long long)op + 7);
        log = rdump(ma, q);
        log2 = rdump(mb, q);
        ck_assert_str_eq(log, log2);
        snprintf(q, sizeof q, "|%llu|%llu|", (unsigned long long)t[6].entry.req,
                 (unsigned long long)t[6].entry.op);
        ck_assert_msg(strstr(log, q), "%s lacks %s", log, q);
        snprintf(q, sizeof q, "|%llu|%llu|", (unsigned long long)t[4].entry.req,
                 (unsigned long long)t[4].entry.op);
        ck_assert_msg(!strstr(log, q), "%s has %s", log, q);
        free(log);
        free(log2);
    }

    for (int i = 0; i <= 6; i++)
        txn_free(&t[i]);
    proto_list_value_resize(&p, 0);
    free(p.v);
    backend_session_close(s);
    backend_session_close(ap);
    backend_session_close(rd);
    backend_close(bea);
    backend_close(beb);
    mysql_close(ma);
    mysql_close(mb);
}
END_TEST

/* Prepared statements are kept per session: a statement is prepared once
 * and executed many times; its cached form follows the schema (a column
 * added behind Recall's back, a DDL through Recall), the current database
 * (USE) and failures; the session switches between READ ONLY snapshots and
 * read-write transactions. */
static long long count_log(MYSQL *m, const char *thread, const char *type, const char *like)
{
    char sql[400];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM mysql.general_log WHERE thread_id = %s AND "
             "command_type = '%s' AND argument LIKE '%s'", thread, type, like);
    return rnum(m, sql);
}

static unsigned read_cols(struct backend_session *s, const char *sql, long long key, long long *first)
{
    struct backend_result r;
    struct proto_list_value p, cells;
    struct err e;
    uint64_t a;
    unsigned ncols;
    params_init(&p, 1);
    p.v[0].type = PV_INT;
    p.v[0].v.i = key;
    ck_assert_msg(backend_read_begin(s, &a, &e) == 0, "%s", e.msg);
    ck_assert_msg(backend_read_exec(s, sql, (uint32_t)strlen(sql), &p, &r, &e) == 0, "%s", e.msg);
    ncols = r.columns.n;
    backend_result_free(&r);
    fetch_all(s, &cells);
    ck_assert_uint_ge(cells.n, ncols);
    *first = cells.v[ncols - 1].type == PV_INT ? cells.v[ncols - 1].v.i : -1;
    cells_free(&cells);
    ck_assert_int_eq(backend_read_end(s), 0);
    proto_list_value_resize(&p, 0);
    free(p.v);
    return ncols;
}

START_TEST(test_statement_cache)
{
    static const char rd[] = "SELECT * FROM c WHERE id = ?";
    MYSQL *m = root(dir_a);
    struct backend *be;
    struct backend_session *s;
    struct backend_result r;
    struct proto_list_value p;
    struct proto_body ddl;
    struct proto_entry entry;
    struct txn t;
    struct err e;
    bool aborted;
    long long v;
    uint64_t op;
    char *id;

    rq(m, "CREATE DATABASE t17");
    rq(m, "CREATE TABLE t17.c (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
    rq(m, "INSERT INTO t17.c VALUES (1, 10), (2, 20)");
    rq(m, "CREATE SEQUENCE t17.sq");
    rq(m, "CREATE DATABASE t17b");
    rq(m, "CREATE TABLE t17b.c (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
    rq(m, "INSERT INTO t17b.c VALUES (1, 99)");
    be = open_be(dsn_a);
    s = sopen(be, NULL, NULL, "t17");
    rq(m, "SET GLOBAL log_output = 'TABLE'");
    rq(m, "TRUNCATE mysql.general_log");
    rq(m, "SET GLOBAL general_log = 1");

    /* prepared once, executed three times */
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(read_cols(s, rd, 2, &v), 2);
        ck_assert_int_eq(v, 20);
    }
    id = rstr(m, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = 't17'");
    ck_assert_int_eq(count_log(m, id, "Prepare", "SELECT * FROM c%"), 1);
    ck_assert_int_eq(count_log(m, id, "Execute", "SELECT * FROM c%"), 3);
    /* a column added outside Recall: the result changes shape, the
     * statement is prepared again and the read still answers */
    rq(m, "ALTER TABLE t17.c ADD COLUMN w INT NOT NULL DEFAULT 7");
    ck_assert_uint_eq(read_cols(s, rd, 2, &v), 3);
    ck_assert_int_eq(v, 7);
    /* a DDL through Recall drops every session's prepared statements */
    op = applied_of(be) + 1;
    memset(&entry, 0, sizeof entry);
    entry.op = op;
    ddl_stmt(&ddl, "ALTER TABLE c DROP COLUMN w", NULL);
    ck_assert_msg(backend_exec_ddl(s, op, &entry, &ddl.stmts.v[0], &e) == 0, "%s", e.msg);
    proto_body_free(&ddl);
    ck_assert_uint_eq(read_cols(s, rd, 1, &v), 2);
    ck_assert_int_eq(v, 10);
    /* (the server logs its own re-prepare after the ALTER as a Prepare
     * too: count what recalld closed) one statement dropped after the
     * shape change, both after the DDL */
    ck_assert_int_ge(rnum(m, "SELECT COUNT(*) FROM mysql.general_log WHERE command_type = 'Close stmt' "
                             "AND event_time >= (SELECT MAX(event_time) FROM mysql.general_log WHERE "
                             "argument LIKE 'ALTER TABLE c DROP%')"), 2);
    ck_assert_int_ge(count_log(m, id, "Close stmt", "%"), 3);

    /* writes: prepared once; a failed execution does not spoil the next */
    params_init(&p, 2);
    p.v[0].type = PV_INT;
    p.v[1].type = PV_INT;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
        txn_init(&t, ++op);
        p.v[0].v.i = 10 + i;
        p.v[1].v.i = i;
        xwrite(s, &t, "INSERT INTO c (id, v) VALUES (?, ?)", &p);
        if (i == 1) {
            /* duplicate key: the statement fails, the transaction goes on */
            ck_assert_int_lt(try_exec(s, "INSERT INTO c (id, v) VALUES (?, ?)", &p, true, &r, &aborted, &e), 0);
            ck_assert_int_eq(e.native, 1062);
        }
        commit(s, &t);
        txn_free(&t);
        /* a read in between: a READ ONLY snapshot, then writable again */
        ck_assert_uint_eq(read_cols(s, rd, 10 + i, &v), 2);
        ck_assert_int_eq(v, i);
    }
    /* the duplicate key dropped the statement: prepared again after it */
    ck_assert_int_eq(count_log(m, id, "Prepare", "INSERT INTO c%"), 2);
    ck_assert_int_eq(count_log(m, id, "Execute", "INSERT INTO c%"), 4);
    {
        uint64_t a;
        ck_assert_int_eq(backend_read_begin(s, &a, &e), 0);
        ck_assert_uint_eq(a, op);
        ck_assert_int_lt(backend_read_exec(s, "SELECT NEXTVAL(sq)", 18, NULL, &r, &e), 0);
        ck_assert_int_eq(e.native, 1792);
        ck_assert_int_eq(backend_read_end(s), 0);
    }

    /* USE: statements resolve in the new current database */
    ck_assert_int_eq(try_exec(s, "USE t17b", NULL, false, &r, &aborted, &e), 0);
    backend_result_free(&r);
    ck_assert_uint_eq(read_cols(s, rd, 1, &v), 2);
    ck_assert_int_eq(v, 99);
    rq(m, "SET GLOBAL general_log = 0");
    rq(m, "SET GLOBAL log_output = 'FILE'");

    free(id);
    proto_list_value_resize(&p, 0);
    free(p.v);
    backend_session_close(s);
    backend_close(be);
    mysql_close(m);
}
END_TEST

/* A batch whose second entry cannot be reproduced here is rolled back as a
 * whole, and the mismatch names that entry's op. */
START_TEST(test_apply_batch_mismatch)
{
    MYSQL *ma = root(dir_a), *mb = root(dir_b);
    struct backend *bea, *beb;
    struct backend_session *s, *ap;
    struct backend_apply_report rep;
    struct backend_apply_item items[3];
    struct txn t[3];
    struct err e;
    uint64_t op, before;
    char want[64];

    rq(ma, "CREATE DATABASE t19");
    rq(ma, "CREATE TABLE t19.w (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB");
    rq(mb, "CREATE DATABASE t19");
    rq(mb, "CREATE TABLE t19.w (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB");
    bea = open_be(dsn_a);
    beb = open_be(dsn_b);
    op = applied_of(bea) > applied_of(beb) ? applied_of(bea) : applied_of(beb);
    s = sopen(bea, NULL, NULL, "t19");
    ap = sopen(beb, NULL, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), 0);
        txn_init(&t[i], op + 1 + (uint64_t)i);
        xwrite(s, &t[i], "INSERT INTO w (v) VALUES (1), (2)", NULL);
        commit(s, &t[i]);
        items[i].op = t[i].entry.op;
        items[i].entry = &t[i].entry;
        items[i].body = &t[i].body;
    }
    t[1].body.stmts.v[0].affected = 3;
    before = applied_of(beb);
    ck_assert_int_eq(backend_apply_batch(ap, items, 3, &rep, &e), 0);
    ck_assert(rep.mismatch);
    snprintf(want, sizeof want, "op %llu statement 1: 2 rows affected here, 3", (unsigned long long)op + 2);
    ck_assert_msg(strstr(rep.detail, want), "%s", rep.detail);
    ck_assert_uint_eq(applied_of(beb), before);
    ck_assert_int_eq(rnum(mb, "SELECT COUNT(*) FROM t19.w"), 0);
    /* one by one, the first applies and the second is the mismatch */
    ck_assert_int_eq(backend_apply(ap, items[0].op, items[0].entry, items[0].body, &rep, &e), 0);
    ck_assert(!rep.mismatch);
    ck_assert_int_eq(backend_apply(ap, items[1].op, items[1].entry, items[1].body, &rep, &e), 0);
    ck_assert(rep.mismatch);
    ck_assert_uint_eq(applied_of(beb), op + 1);
    ck_assert_int_eq(rnum(mb, "SELECT COUNT(*) FROM t19.w"), 2);
    for (int i = 0; i < 3; i++)
        txn_free(&t[i]);
    backend_session_close(s);
    backend_session_close(ap);
    backend_close(bea);
    backend_close(beb);
    mysql_close(ma);
    mysql_close(mb);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("backend_mysql");
    TCase *tc = tcase_create("mariadb");
    tcase_add_unchecked_fixture(tc, servers_start, servers_stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_settings_refused);
    tcase_add_test(tc, test_open_state_version);
    tcase_add_test(tc, test_client_credentials);
    tcase_add_test(tc, test_missing_recall_grant);
    tcase_add_test(tc, test_crud_types_and_metadata);
    tcase_add_test(tc, test_streaming);
    tcase_add_test(tc, test_replay_deterministic);
    tcase_add_test(tc, test_divergence);
    tcase_add_test(tc, test_unsafe_refused);
    tcase_add_test(tc, test_savepoints);
    tcase_add_test(tc, test_deadlock);
    tcase_add_test(tc, test_lock_wait_timeout);
    tcase_add_test(tc, test_read_snapshot);
    tcase_add_test(tc, test_ddl_and_recovery);
    tcase_add_test(tc, test_ddl_kills_blocking_reader);
    tcase_add_test(tc, test_flush_quiesce_lost);
    tcase_add_test(tc, test_round_trips);
    tcase_add_test(tc, test_statement_cache);
    tcase_add_test(tc, test_apply_batch_mismatch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
