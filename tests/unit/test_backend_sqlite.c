/* SQLite backend tests (server/backend_sqlite.c through server/backend.h):
 * typed CRUD, column metadata, streaming fetch, Recall's bookkeeping,
 * deterministic re-execution of logged entries on a second database file
 * (time, random(), randomblob(), rowids, last_insert_rowid()), mismatch
 * detection, read snapshots, refusals, write-lock waits and serialization
 * failures, DDL, checksums, DSN credentials, quiesce/resume and hostile
 * input.  Every test works in its own temporary directory. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "recall.h"
#include "testhelp.h"

/* 2001-02-03 04:05:06.789 UTC: far from the real clock, so a statement
 * that read the real time instead of the context cannot pass. */
#define TS0 981173106789000ull

static char *dir;

static void setup(void) { dir = testhelp_tmpdir("backend_sqlite"); }

static void teardown(void)
{
    testhelp_rmtree(dir);
    free(dir);
    dir = NULL;
}

static char *path_of(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static struct backend *open_db(const char *name, const char *query)
{
    char dsn[600];
    struct err e;
    struct backend *be;
    snprintf(dsn, sizeof dsn, "sqlite:%s/%s%s%s", dir, name, query ? "?" : "", query ? query : "");
    be = backend_open(dsn, &e);
    ck_assert_msg(be != NULL, "open %s: %s", dsn, e.msg);
    return be;
}

static struct backend_session *sess(struct backend *be)
{
    struct err e;
    struct backend_session *s = backend_session_open(be, NULL, NULL, NULL, &e);
    ck_assert_msg(s != NULL, "session: %s", e.msg);
    return s;
}

/* ---- parameters ---- */

static void p_int(struct proto_list_value *l, int64_t v)
{
    ck_assert_int_eq(proto_list_value_resize(l, l->n + 1), 0);
    l->v[l->n - 1].type = PV_INT;
    l->v[l->n - 1].v.i = v;
}

static void p_uint(struct proto_list_value *l, uint64_t v)
{
    ck_assert_int_eq(proto_list_value_resize(l, l->n + 1), 0);
    l->v[l->n - 1].type = PV_UINT;
    l->v[l->n - 1].v.u = v;
}

static void p_double(struct proto_list_value *l, double v)
{
    ck_assert_int_eq(proto_list_value_resize(l, l->n + 1), 0);
    l->v[l->n - 1].type = PV_DOUBLE;
    l->v[l->n - 1].v.d = v;
}

static void p_text(struct proto_list_value *l, const char *p, size_t n)
{
    ck_assert_int_eq(proto_list_value_resize(l, l->n + 1), 0);
    ck_assert_int_eq(proto_value_set_text(&l->v[l->n - 1], p, n), 0);
}

static void p_blob(struct proto_list_value *l, const void *p, size_t n)
{
    ck_assert_int_eq(proto_list_value_resize(l, l->n + 1), 0);
    ck_assert_int_eq(proto_value_set_blob(&l->v[l->n - 1], p, n), 0);
}

static void p_null(struct proto_list_value *l)
{
    ck_assert_int_eq(proto_list_value_resize(l, l->n + 1), 0);
}

static void p_free(struct proto_list_value *l)
{
    proto_list_value_resize(l, 0);
    free(l->v);
    l->v = NULL;
}

/* ---- a primary's log, replayable on another database ---- */

struct logged {
    uint64_t op;
    struct proto_entry entry;
    struct proto_body body;      /* BODY_TXN, BODY_DDL or BODY_NOOP */
    struct proto_body outcome;   /* BODY_DDL: the primary's outcome */
};

struct plog {
    struct logged v[64];
    int n;
    uint64_t op;                 /* last op */
    uint64_t ts;                 /* next statement timestamp */
    uint64_t seed;
    uint64_t req;
    struct proto_list_stmt open; /* the transaction being built */
};

static void plog_init(struct plog *l)
{
    memset(l, 0, sizeof *l);
    l->ts = TS0;
    l->seed = 42;
}

static void plog_free(struct plog *l)
{
    for (int i = 0; i < l->n; i++) {
        proto_entry_free(&l->v[i].entry);
        proto_body_free(&l->v[i].body);
        proto_body_free(&l->v[i].outcome);
    }
    proto_list_stmt_resize(&l->open, 0);
    free(l->open.v);
}

static struct backend_ctx plog_ctx(struct plog *l)
{
    struct backend_ctx c = {l->ts, l->seed * 7919 + 1, l->seed * 104729 + 3};
    l->ts += 1000; /* 1 ms later */
    l->seed++;
    return c;
}

static void fill_entry(struct plog *l, struct logged *g)
{
    struct buf b;
    memset(&g->entry, 0, sizeof g->entry);
    g->entry.op = g->op;
    g->entry.view = 1;
    memset(g->entry.client.b, 0xab, sizeof g->entry.client.b);
    g->entry.req = ++l->req;
    buf_init(&b);
    ck_assert_int_eq(proto_body_encode(&g->body, &b), 0);
    ck_assert_int_eq(proto_bin_set(&g->entry.body, b.data, b.len), 0);
    buf_close(&b);
}

/* Execute one statement in s's open transaction with a fresh context;
 * returns backend_exec's result, logging the statement if it wrote. */
static int tx_try(struct plog *l, struct backend_session *s, const char *sql,
                  const struct proto_list_value *params, struct backend_result *res, bool *aborted,
                  struct err *e)
{
    struct backend_ctx c = plog_ctx(l);
    int rc = backend_exec(s, sql, (uint32_t)strlen(sql), params, &c, res, aborted, e);
    if (rc == 0 && res->is_write) {
        ck_assert_int_eq(proto_list_stmt_resize(&l->open, l->open.n + 1), 0);
        l->open.v[l->open.n - 1] = res->stmt;
        memset(&res->stmt, 0, sizeof res->stmt);
    }
    return rc;
}

/* Like tx_try but the statement must succeed; returns affected rows. */
static uint64_t tx(struct plog *l, struct backend_session *s, const char *sql,
                   const struct proto_list_value *params)
{
    struct backend_result r;
    struct err e;
    bool ab = false;
    uint64_t n;
    ck_assert_msg(tx_try(l, s, sql, params, &r, &ab, &e) == 0, "%s: %s", sql, e.msg);
    backend_fetch_close(s);
    n = r.affected;
    backend_result_free(&r);
    return n;
}

static void begin(struct backend_session *s)
{
    struct err e;
    ck_assert_msg(backend_begin(s, ISO_DEFAULT, &e) == 0, "begin: %s", e.msg);
}

/* Commit the open transaction as the next entry of the log. */
static struct logged *commit(struct plog *l, struct backend_session *s)
{
    struct logged *g = &l->v[l->n++];
    struct err e;
    ck_assert_int_lt(l->n, 64);
    memset(g, 0, sizeof *g);
    g->op = ++l->op;
    g->body.kind = BODY_TXN;
    g->body.ts_us = l->ts;
    g->body.stmts = l->open;
    memset(&l->open, 0, sizeof l->open);
    fill_entry(l, g);
    ck_assert_msg(backend_commit_entry(s, g->op, &g->entry, &g->body, &e) == 0, "commit %llu: %s",
                  (unsigned long long)g->op, e.msg);
    return g;
}

/* DDL on the primary: returns exec_ddl's result; logs the DDL and its
 * outcome either way. */
static int ddl_try(struct plog *l, struct backend_session *s, const char *sql, struct err *e)
{
    struct logged *g = &l->v[l->n++];
    struct backend_ctx c = plog_ctx(l);
    struct proto_stmt *st;
    int rc;
    memset(g, 0, sizeof *g);
    g->op = ++l->op;
    g->body.kind = BODY_DDL;
    g->body.ts_us = l->ts;
    ck_assert_int_eq(proto_list_stmt_resize(&g->body.stmts, 1), 0);
    st = &g->body.stmts.v[0];
    ck_assert_int_eq(proto_str_setz(&st->sql, sql), 0);
    st->ts_us = c.ts_us;
    st->seed1 = c.seed1;
    st->seed2 = c.seed2;
    fill_entry(l, g);
    err_clear(e);
    rc = backend_exec_ddl(s, g->op, &g->entry, st, e);
    g->outcome.kind = BODY_DDL_OUTCOME;
    g->outcome.ref_op = g->op;
    g->outcome.code = (uint32_t)e->code;
    proto_str_setz(&g->outcome.sqlstate, e->sqlstate);
    proto_str_setz(&g->outcome.msg, e->code == ERR_OK ? "" : e->msg);
    /* the outcome is the next entry: it only advances recall_state */
    l->op++;
    return rc;
}

static void ddl(struct plog *l, struct backend_session *s, const char *sql)
{
    struct err e;
    ck_assert_msg(ddl_try(l, s, sql, &e) == 0, "%s: %s", sql, e.msg);
}

/* Replay entries [from, to) of the log on s; every one must match. */
static void replay(struct plog *l, int from, int to, struct backend_session *s)
{
    for (int i = from; i < to; i++) {
        struct logged *g = &l->v[i];
        struct backend_apply_report rep;
        struct err e;
        if (g->body.kind == BODY_DDL) {
            struct proto_body noop;
            struct proto_entry oe;
            ck_assert_msg(backend_apply_ddl(s, g->op, &g->entry, &g->body, &g->outcome, &rep, &e) == 0,
                          "apply_ddl %llu: %s", (unsigned long long)g->op, e.msg);
            ck_assert_msg(!rep.mismatch, "apply_ddl %llu: %s", (unsigned long long)g->op, rep.detail);
            /* the outcome entry */
            memset(&oe, 0, sizeof oe);
            oe.op = g->op + 1;
            noop = g->outcome;
            ck_assert_msg(backend_apply(s, g->op + 1, &oe, &noop, &rep, &e) == 0, "outcome: %s", e.msg);
            ck_assert(!rep.mismatch);
        } else {
            ck_assert_msg(backend_apply(s, g->op, &g->entry, &g->body, &rep, &e) == 0,
                          "apply %llu: %s", (unsigned long long)g->op, e.msg);
            ck_assert_msg(!rep.mismatch, "apply %llu: %s", (unsigned long long)g->op, rep.detail);
        }
    }
}

/* ---- reads ---- */

struct rows {
    struct proto_list_column cols;
    struct proto_list_value cells;
    uint32_t ncols, nrows;
};

static void rows_free(struct rows *r)
{
    proto_list_column_resize(&r->cols, 0);
    free(r->cols.v);
    p_free(&r->cells);
    memset(r, 0, sizeof *r);
}

/* A read in its own snapshot; all rows. */
static int query_try(struct backend_session *s, const char *sql, const struct proto_list_value *params,
                     struct rows *out, uint64_t *applied, struct err *e)
{
    struct backend_result r;
    uint64_t a;
    bool more = true;
    memset(out, 0, sizeof *out);
    if (backend_read_begin(s, &a, e) < 0)
        return -1;
    if (applied)
        *applied = a;
    if (backend_read_exec(s, sql, (uint32_t)strlen(sql), params, &r, e) < 0) {
        backend_read_end(s);
        return -1;
    }
    out->cols = r.columns;
    memset(&r.columns, 0, sizeof r.columns);
    out->ncols = out->cols.n;
    while (r.has_rows && more) {
        ck_assert_int_eq(backend_fetch(s, 16, &out->cells, &more, e), 0);
    }
    out->nrows = out->ncols ? out->cells.n / out->ncols : 0;
    backend_result_free(&r);
    backend_read_end(s);
    return 0;
}

static void query(struct backend_session *s, const char *sql, struct rows *out)
{
    struct err e;
    ck_assert_msg(query_try(s, sql, NULL, out, NULL, &e) == 0, "%s: %s", sql, e.msg);
}

static int64_t query_int(struct backend_session *s, const char *sql)
{
    struct rows r;
    int64_t v;
    query(s, sql, &r);
    ck_assert_uint_eq(r.nrows, 1);
    ck_assert_int_eq(r.cells.v[0].type, PV_INT);
    v = r.cells.v[0].v.i;
    rows_free(&r);
    return v;
}

static char *query_text(struct backend_session *s, const char *sql)
{
    struct rows r;
    char *v;
    query(s, sql, &r);
    ck_assert_uint_eq(r.nrows, 1);
    ck_assert_int_eq(r.cells.v[0].type, PV_TEXT);
    v = strdup(r.cells.v[0].v.p);
    rows_free(&r);
    return v;
}

static uint64_t applied_of(struct backend *be)
{
    struct backend_state st;
    struct err e;
    ck_assert_msg(backend_get_state(be, &st, &e) == 0, "%s", e.msg);
    return st.applied;
}

/* checksum of one table ("" if absent) */
static void sums_of(struct backend *be, struct proto_list_kv *sums, uint64_t *applied)
{
    struct err e;
    memset(sums, 0, sizeof *sums);
    ck_assert_msg(backend_checksum(be, applied, sums, &e) == 0, "checksum: %s", e.msg);
}

static void sums_free(struct proto_list_kv *sums)
{
    proto_list_kv_resize(sums, 0);
    free(sums->v);
}

static void assert_same_sums(struct backend *a, struct backend *b)
{
    struct proto_list_kv sa, sb;
    uint64_t aa, ab;
    sums_of(a, &sa, &aa);
    sums_of(b, &sb, &ab);
    ck_assert_uint_eq(aa, ab);
    ck_assert_uint_eq(sa.n, sb.n);
    ck_assert_uint_gt(sa.n, 0);
    for (uint32_t i = 0; i < sa.n; i++) {
        ck_assert_str_eq(sa.v[i].key.p, sb.v[i].key.p);
        ck_assert_msg(strcmp(sa.v[i].val.p, sb.v[i].val.p) == 0, "table %s differs: %s vs %s",
                      sa.v[i].key.p, sa.v[i].val.p, sb.v[i].val.p);
    }
    sums_free(&sa);
    sums_free(&sb);
}

static bool contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

/* ================================================================ tests */

START_TEST(sqlite_crud_typed_params_and_nulls)
{
    struct backend *be = open_db("crud.db", NULL);
    struct backend_session *s = sess(be);
    struct proto_list_value p = {0};
    struct plog l;
    struct rows r;
    static const unsigned char blob[] = {0, 1, 2, 0xff, 0};

    plog_init(&l);
    ck_assert_str_eq(backend_kind(be), "sqlite");
    ck_assert(strncmp(backend_version(be), "sqlite 3.", 9) == 0);
    ddl(&l, s, "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, u INTEGER, d REAL, "
               "s TEXT, b BLOB, n TEXT)");
    begin(s);
    p_int(&p, -7);
    p_uint(&p, 9000000000000000000ull);
    p_double(&p, 2.5);
    p_text(&p, "h\0llo", 5); /* a NUL inside a parameter is data */
    p_blob(&p, blob, sizeof blob);
    p_null(&p);
    ck_assert_uint_eq(tx(&l, s, "INSERT INTO t (i, u, d, s, b, n) VALUES (?, ?, ?, ?, ?, ?)", &p), 1);
    p_free(&p);
    /* empty text and empty blob are values, not NULL */
    p_text(&p, "", 0);
    p_blob(&p, NULL, 0);
    ck_assert_uint_eq(tx(&l, s, "INSERT INTO t (s, b) VALUES (?, ?)", &p), 1);
    p_free(&p);
    commit(&l, s);

    query(s, "SELECT i, u, d, s, b, n FROM t ORDER BY id", &r);
    ck_assert_uint_eq(r.nrows, 2);
    ck_assert_int_eq(r.cells.v[0].type, PV_INT);
    ck_assert_int_eq(r.cells.v[0].v.i, -7);
    ck_assert_int_eq(r.cells.v[1].type, PV_INT);
    ck_assert_int_eq(r.cells.v[1].v.i, 9000000000000000000ll);
    ck_assert_int_eq(r.cells.v[2].type, PV_DOUBLE);
    ck_assert(r.cells.v[2].v.d == 2.5);
    ck_assert_int_eq(r.cells.v[3].type, PV_TEXT);
    ck_assert_uint_eq(r.cells.v[3].len, 5);
    ck_assert(memcmp(r.cells.v[3].v.p, "h\0llo", 5) == 0);
    ck_assert_int_eq(r.cells.v[4].type, PV_BLOB);
    ck_assert_uint_eq(r.cells.v[4].len, sizeof blob);
    ck_assert(memcmp(r.cells.v[4].v.p, blob, sizeof blob) == 0);
    ck_assert_int_eq(r.cells.v[5].type, PV_NULL);
    ck_assert_int_eq(r.cells.v[6].type, PV_NULL);        /* i of row 2 */
    ck_assert_int_eq(r.cells.v[9].type, PV_TEXT);        /* s of row 2 */
    ck_assert_uint_eq(r.cells.v[9].len, 0);
    ck_assert_int_eq(r.cells.v[10].type, PV_BLOB);
    ck_assert_uint_eq(r.cells.v[10].len, 0);
    rows_free(&r);

    /* update and delete report their row counts; a no-op update 0 */
    begin(s);
    p_int(&p, 100);
    ck_assert_uint_eq(tx(&l, s, "UPDATE t SET i = ?", &p), 2);
    p_free(&p);
    ck_assert_uint_eq(tx(&l, s, "UPDATE t SET i = 1 WHERE id = 999", NULL), 0);
    ck_assert_uint_eq(tx(&l, s, "DELETE FROM t WHERE s = ''", NULL), 1);
    commit(&l, s);
    ck_assert_int_eq(query_int(s, "SELECT count(*) FROM t"), 1);
    ck_assert_int_eq(query_int(s, "SELECT i FROM t"), 100);
    ck_assert_uint_eq(applied_of(be), l.op);

    plog_free(&l);
    backend_session_close(s);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_column_metadata_and_types)
{
    struct backend *be = open_db("meta.db", NULL);
    struct backend_session *s = sess(be);
    struct plog l;
    struct rows r;
    static const struct {
        const char *name;
        uint8_t type;
    } want[] = {
        {"id", RECALL_TYPE_BIGINT},      {"name", RECALL_TYPE_VARCHAR},  {"code", RECALL_TYPE_CHAR},
        {"body", RECALL_TYPE_TEXT},      {"price", RECALL_TYPE_DECIMAL}, {"ratio", RECALL_TYPE_DOUBLE},
        {"f", RECALL_TYPE_DOUBLE},       {"pic", RECALL_TYPE_BLOB},      {"born", RECALL_TYPE_DATE},
        {"seen", RECALL_TYPE_DATETIME},  {"at", RECALL_TYPE_TIMESTAMP},  {"tm", RECALL_TYPE_TIME},
        {"ok", RECALL_TYPE_BOOLEAN},     {"small", RECALL_TYPE_BIGINT},  {"doc", RECALL_TYPE_JSON},
        {"e_int", RECALL_TYPE_BIGINT},   {"e_real", RECALL_TYPE_DOUBLE}, {"e_text", RECALL_TYPE_TEXT},
        {"e_blob", RECALL_TYPE_BLOB},    {"e_null", RECALL_TYPE_TEXT},
    };

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE m (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(40) NOT NULL, "
               "code CHAR(3), body CLOB, price DECIMAL(10,2), ratio REAL, f FLOAT, pic BLOB, "
               "born DATE, seen DATETIME, at TIMESTAMP, tm TIME, ok BOOLEAN, small TINYINT, doc JSON)");
    begin(s);
    tx(&l, s, "INSERT INTO m (name) VALUES ('x')", NULL);
    commit(&l, s);
    query(s, "SELECT id, name, code, body, price, ratio, f, pic, born, seen, at, tm, ok, small, doc, "
             "1 AS e_int, 2.5 AS e_real, 'x' AS e_text, x'00' AS e_blob, NULL AS e_null FROM m", &r);
    ck_assert_uint_eq(r.ncols, sizeof want / sizeof want[0]);
    for (uint32_t i = 0; i < r.ncols; i++) {
        ck_assert_str_eq(r.cols.v[i].name.p, want[i].name);
        ck_assert_msg(r.cols.v[i].type == want[i].type, "column %s: type %u, want %u", want[i].name,
                      r.cols.v[i].type, want[i].type);
    }
    /* origin, declaration and flags */
    ck_assert_str_eq(r.cols.v[0].table.p, "m");
    ck_assert_str_eq(r.cols.v[0].db.p, "main");
    ck_assert_str_eq(r.cols.v[0].decl.p, "INTEGER");
    ck_assert(r.cols.v[0].flags & RECALL_COL_PRIMARY_KEY);
    ck_assert(r.cols.v[0].flags & RECALL_COL_AUTO_INCREMENT);
    ck_assert(r.cols.v[1].flags & RECALL_COL_NOT_NULL);
    ck_assert(!(r.cols.v[2].flags & RECALL_COL_NOT_NULL));
    ck_assert_uint_eq(r.cols.v[1].length, 40);
    ck_assert_uint_eq(r.cols.v[4].length, 10);
    ck_assert_uint_eq(r.cols.v[4].decimals, 2);
    ck_assert(r.cols.v[7].flags & RECALL_COL_BINARY);
    ck_assert_str_eq(r.cols.v[15].table.p, ""); /* an expression */
    rows_free(&r);

    /* with no row to look at, an undeclared expression is TEXT */
    query(s, "SELECT 1 AS e WHERE 0", &r);
    ck_assert_uint_eq(r.ncols, 1);
    ck_assert_uint_eq(r.nrows, 0);
    ck_assert_uint_eq(r.cols.v[0].type, RECALL_TYPE_TEXT);
    rows_free(&r);

    plog_free(&l);
    backend_session_close(s);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_fetch_streams_100k_rows_in_order)
{
    struct backend *be = open_db("big.db", NULL);
    struct backend_session *s = sess(be);
    struct backend_result r;
    struct proto_list_value cells = {0};
    struct err e;
    uint64_t a, next = 1, calls = 0;
    bool more = true;
    const char *sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) "
                      "SELECT x, 'row ' || x FROM c";

    ck_assert_int_eq(backend_read_begin(s, &a, &e), 0);
    ck_assert_msg(backend_read_exec(s, sql, (uint32_t)strlen(sql), NULL, &r, &e) == 0, "%s", e.msg);
    ck_assert(r.has_rows);
    ck_assert_uint_eq(r.columns.n, 2);
    while (more) {
        ck_assert_int_eq(backend_fetch(s, 16, &cells, &more, &e), 0);
        calls++;
        /* only the requested rows: never more than 16 at a time */
        ck_assert_uint_le(cells.n, 32);
        ck_assert(cells.n % 2 == 0);
        for (uint32_t i = 0; i < cells.n; i += 2) {
            char want[32];
            ck_assert_int_eq(cells.v[i].type, PV_INT);
            ck_assert_int_eq(cells.v[i].v.i, (int64_t)next);
            snprintf(want, sizeof want, "row %llu", (unsigned long long)next);
            ck_assert_str_eq(cells.v[i + 1].v.p, want);
            next++;
        }
        ck_assert(more || cells.n < 32 || next == 100001);
        proto_list_value_resize(&cells, 0);
    }
    ck_assert_uint_eq(next, 100001);
    ck_assert_uint_eq(calls, 6250);
    /* the cursor is gone: another fetch gives nothing */
    ck_assert_int_eq(backend_fetch(s, 16, &cells, &more, &e), 0);
    ck_assert_uint_eq(cells.n, 0);
    ck_assert(!more);
    backend_result_free(&r);

    /* closing early is fine and frees the statement */
    ck_assert_int_eq(backend_read_exec(s, sql, (uint32_t)strlen(sql), NULL, &r, &e), 0);
    ck_assert_int_eq(backend_fetch(s, 3, &cells, &more, &e), 0);
    ck_assert_uint_eq(cells.n, 6);
    ck_assert(more);
    backend_fetch_close(s);
    backend_result_free(&r);
    ck_assert_int_eq(backend_read_end(s), 0);
    p_free(&cells);
    backend_session_close(s);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_commit_entry_writes_bookkeeping_atomically)
{
    struct backend *be = open_db("book.db", NULL);
    struct backend_session *s = sess(be);
    struct backend_client_row row;
    struct proto_id other;
    struct logged *g;
    struct plog l;
    struct err e;
    bool found;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    begin(s);
    tx(&l, s, "INSERT INTO t (v) VALUES ('a')", NULL);
    tx(&l, s, "INSERT INTO t (v) VALUES ('b')", NULL);
    tx(&l, s, "UPDATE t SET v = 'c' WHERE id = 1", NULL);
    g = commit(&l, s);
    ck_assert_uint_eq(applied_of(be), g->op);
    ck_assert_int_eq(backend_client_lookup(be, &g->entry.client, &row, &found, &e), 0);
    ck_assert(found);
    ck_assert_uint_eq(row.req, g->entry.req);
    ck_assert_uint_eq(row.op, g->op);
    ck_assert_uint_eq(row.affected, 1);  /* of the last statement */
    ck_assert_uint_eq(row.insert_id, 0); /* it inserted nothing */
    ck_assert_uint_eq(row.ts_us, g->body.ts_us);
    memset(other.b, 0x11, sizeof other.b);
    ck_assert_int_eq(backend_client_lookup(be, &other, &row, &found, &e), 0);
    ck_assert(!found);

    /* an entry at or below the applied op is refused and rolls the whole
     * transaction back: neither the rows nor the bookkeeping change */
    begin(s);
    tx(&l, s, "INSERT INTO t (v) VALUES ('lost')", NULL);
    {
        struct proto_body body = {0};
        struct proto_entry entry = g->entry;
        body.kind = BODY_TXN;
        body.ts_us = TS0;
        body.stmts = l.open;
        ck_assert_int_eq(backend_commit_entry(s, g->op, &entry, &body, &e), -1);
        ck_assert(contains(e.msg, "already applied"));
    }
    ck_assert_int_eq(backend_rollback(s, &e), 0);
    proto_list_stmt_resize(&l.open, 0);
    ck_assert_int_eq(query_int(s, "SELECT count(*) FROM t"), 2);
    ck_assert_uint_eq(applied_of(be), g->op);

    /* client rows expire by the logged timestamps (24 h by default), at
     * every op divisible by 64 (not at every commit) */
    l.ts = TS0 + 25ull * 3600 * 1000000;
    for (int round = 0; round < 2; round++) {
        struct logged *h;
        begin(s);
        tx(&l, s, "INSERT INTO t (v) VALUES ('later')", NULL);
        memset(&l.v[l.n], 0, sizeof l.v[l.n]);
        h = &l.v[l.n++];
        h->op = ++l.op;
        if (round == 0 && h->op % 64 == 0)
            h->op = ++l.op;
        if (round == 1)
            h->op = l.op = (l.op / 64 + 1) * 64;
        h->body.kind = BODY_TXN;
        h->body.ts_us = l.ts;
        h->body.stmts = l.open;
        memset(&l.open, 0, sizeof l.open);
        fill_entry(&l, h);
        memset(h->entry.client.b, 0x22, sizeof h->entry.client.b);
        ck_assert_int_eq(backend_commit_entry(s, h->op, &h->entry, &h->body, &e), 0);
        ck_assert_int_eq(backend_client_lookup(be, &g->entry.client, &row, &found, &e), 0);
        ck_assert(found == (round == 0));
    }

    plog_free(&l);
    backend_session_close(s);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_apply_reexecutes_identically_on_a_second_file)
{
    struct backend *pa = open_db("primary.db", NULL), *pb = open_db("backup.db", NULL);
    struct backend_session *s = sess(pa), *b = sess(pb);
    struct plog l;
    struct rows r, r2;
    char *when;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE ev (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT, jd REAL, "
               "r INTEGER, rb BLOB, prev INTEGER, dflt_at TEXT DEFAULT CURRENT_TIMESTAMP, "
               "dflt_r INTEGER DEFAULT (random()))");
    ddl(&l, s, "CREATE TABLE plain (v INTEGER)");
    ddl(&l, s, "CREATE TABLE later AS SELECT datetime('now') AS made, random() AS r");
    begin(s);
    tx(&l, s, "INSERT INTO ev (at, jd, r, rb) VALUES (datetime('now'), julianday('now'), random(), "
              "randomblob(16))", NULL);
    tx(&l, s, "INSERT INTO ev (at, r, rb, prev) VALUES (CURRENT_TIMESTAMP, random(), randomblob(8), "
              "last_insert_rowid())", NULL);
    tx(&l, s, "INSERT INTO plain SELECT abs(random()) % 1000 FROM ev", NULL); /* implicit rowids */
    commit(&l, s);
    begin(s);
    tx(&l, s, "DELETE FROM ev WHERE id = 1", NULL);
    tx(&l, s, "INSERT INTO ev (at, prev) VALUES (strftime('%Y-%m-%d %H:%M:%f', 'now'), "
              "last_insert_rowid())", NULL);
    tx(&l, s, "UPDATE plain SET v = v + 1 WHERE v % 2 = 0 OR 1", NULL);
    commit(&l, s);

    /* the context was used, not the real clock */
    when = query_text(s, "SELECT at FROM ev WHERE id = 2");
    ck_assert_str_eq(when, "2001-02-03 04:05:06");
    free(when);
    /* autoincrement continues after the deleted id; last_insert_rowid()
     * saw the previous insert (2) inside the transaction */
    ck_assert_int_eq(query_int(s, "SELECT max(id) FROM ev"), 3);
    ck_assert_int_eq(query_int(s, "SELECT prev FROM ev WHERE id = 3"), 2);
    ck_assert_int_eq(query_int(s, "SELECT prev FROM ev WHERE id = 2"), 1);
    /* different statements got different random numbers */
    ck_assert_int_eq(query_int(s, "SELECT count(DISTINCT dflt_r) FROM ev"), 2);

    replay(&l, 0, l.n, b);
    ck_assert_uint_eq(applied_of(pa), l.op);
    ck_assert_uint_eq(applied_of(pa), applied_of(pb));
    assert_same_sums(pa, pb);
    /* and the rows themselves, including the blobs, are identical */
    query(s, "SELECT * FROM ev ORDER BY id", &r);
    query(b, "SELECT * FROM ev ORDER BY id", &r2);
    ck_assert_uint_eq(r.cells.n, r2.cells.n);
    for (uint32_t i = 0; i < r.cells.n; i++) {
        ck_assert_int_eq(r.cells.v[i].type, r2.cells.v[i].type);
        if (r.cells.v[i].type == PV_TEXT || r.cells.v[i].type == PV_BLOB) {
            ck_assert_uint_eq(r.cells.v[i].len, r2.cells.v[i].len);
            ck_assert(memcmp(r.cells.v[i].v.p, r2.cells.v[i].v.p, r.cells.v[i].len) == 0);
        } else {
            ck_assert(memcmp(&r.cells.v[i].v, &r2.cells.v[i].v, sizeof r.cells.v[i].v) == 0);
        }
    }
    rows_free(&r);
    rows_free(&r2);
    when = query_text(b, "SELECT made FROM later");
    ck_assert_str_eq(when, "2001-02-03 04:05:06");
    free(when);

    /* replaying an entry that is already applied changes nothing */
    replay(&l, 3, 4, b);
    assert_same_sums(pa, pb);

    plog_free(&l);
    backend_session_close(s);
    backend_session_close(b);
    backend_close(pa);
    backend_close(pb);
}
END_TEST

START_TEST(sqlite_apply_detects_mismatch)
{
    struct backend *pa = open_db("p.db", NULL), *pb = open_db("b.db", NULL);
    struct backend_session *s = sess(pa), *b = sess(pb);
    struct backend_apply_report rep;
    struct plog l, side;
    struct err e;
    uint64_t before;

    plog_init(&l);
    plog_init(&side);
    ddl(&l, s, "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)");
    begin(s);
    tx(&l, s, "INSERT INTO t (v) VALUES (1)", NULL);
    commit(&l, s);
    replay(&l, 0, l.n, b);

    /* the backup diverges behind Recall's back: one more row */
    side.op = l.op;
    begin(b);
    tx(&side, b, "INSERT INTO t (v) VALUES (1)", NULL);
    commit(&side, b);
    side.op = 0;

    begin(s);
    tx(&l, s, "UPDATE t SET v = v + 1 WHERE v = 1", NULL);
    tx(&l, s, "INSERT INTO t (v) VALUES (7)", NULL);
    commit(&l, s);
    /* the backup's applied op was advanced by the side entry: rewind the
     * log's view of it by applying at the next op */
    before = applied_of(pb);
    {
        struct logged *g = &l.v[l.n - 1];
        g->op = before + 1;
        g->entry.op = g->op;
        ck_assert_int_eq(backend_apply(b, g->op, &g->entry, &g->body, &rep, &e), 0);
    }
    ck_assert(rep.mismatch);
    ck_assert_msg(contains(rep.detail, "stmt 1: affected 2, primary had 1"), "%s", rep.detail);
    /* rolled back: nothing of the entry is in the backup */
    ck_assert_uint_eq(applied_of(pb), before);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t WHERE v = 2"), 0);
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), 2);

    /* a statement the backup cannot run at all is a mismatch too */
    {
        struct logged *g = &l.v[l.n - 1];
        ck_assert_int_eq(proto_str_setz(&g->body.stmts.v[0].sql, "UPDATE missing SET v = 1"), 0);
        ck_assert_int_eq(backend_apply(b, g->op, &g->entry, &g->body, &rep, &e), 0);
        ck_assert(rep.mismatch);
        ck_assert_msg(contains(rep.detail, "no such table"), "%s", rep.detail);
    }
    ck_assert_uint_eq(applied_of(pb), before);

    plog_free(&l);
    plog_free(&side);
    backend_session_close(s);
    backend_session_close(b);
    backend_close(pa);
    backend_close(pb);
}
END_TEST

START_TEST(sqlite_read_snapshot_applied_matches_rows)
{
    struct backend *be = open_db("snap.db", NULL);
    struct backend_session *w = sess(be), *rd = sess(be);
    struct backend_result res;
    struct proto_list_value cells = {0};
    struct plog l;
    struct err e;
    uint64_t a0, a1;
    bool more;
    const char *count = "SELECT count(*) FROM t";

    plog_init(&l);
    ddl(&l, w, "CREATE TABLE t (v INTEGER)");
    begin(w);
    tx(&l, w, "INSERT INTO t VALUES (1)", NULL);
    commit(&l, w);

    ck_assert_int_eq(backend_read_begin(rd, &a0, &e), 0);
    ck_assert_uint_eq(a0, l.op);
    /* a writer commits after the snapshot began */
    begin(w);
    tx(&l, w, "INSERT INTO t VALUES (2)", NULL);
    commit(&l, w);
    ck_assert_uint_eq(applied_of(be), a0 + 1);
    /* the read still sees the snapshot whose applied op it reported */
    ck_assert_int_eq(backend_read_exec(rd, count, (uint32_t)strlen(count), NULL, &res, &e), 0);
    ck_assert_int_eq(backend_fetch(rd, 16, &cells, &more, &e), 0);
    ck_assert_int_eq(cells.v[0].v.i, 1);
    backend_result_free(&res);
    proto_list_value_resize(&cells, 0);
    {
        const char *sql = "SELECT applied FROM recall_state";
        ck_assert_int_eq(backend_read_exec(rd, sql, (uint32_t)strlen(sql), NULL, &res, &e), 0);
        ck_assert_int_eq(backend_fetch(rd, 16, &cells, &more, &e), 0);
        ck_assert_int_eq(cells.v[0].v.i, (int64_t)a0);
        backend_result_free(&res);
        proto_list_value_resize(&cells, 0);
    }
    ck_assert_int_eq(backend_read_end(rd), 0);
    /* a new snapshot sees both */
    ck_assert_int_eq(backend_read_begin(rd, &a1, &e), 0);
    ck_assert_uint_eq(a1, a0 + 1);
    ck_assert_int_eq(backend_read_exec(rd, count, (uint32_t)strlen(count), NULL, &res, &e), 0);
    ck_assert_int_eq(backend_fetch(rd, 16, &cells, &more, &e), 0);
    ck_assert_int_eq(cells.v[0].v.i, 2);
    backend_result_free(&res);
    ck_assert_int_eq(backend_read_end(rd), 0);
    proto_list_value_resize(&cells, 0);
    /* without reading applied, the snapshot starts with the first read:
     * a commit before it is visible, one after it not */
    ck_assert_int_eq(backend_read_begin(rd, NULL, &e), 0);
    for (int i = 3; i <= 4; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES (%d)", i);
        begin(w);
        tx(&l, w, sql, NULL);
        commit(&l, w);
        ck_assert_int_eq(backend_read_exec(rd, count, (uint32_t)strlen(count), NULL, &res, &e), 0);
        ck_assert_int_eq(backend_fetch(rd, 16, &cells, &more, &e), 0);
        ck_assert_int_eq(cells.v[0].v.i, 3);
        backend_result_free(&res);
        proto_list_value_resize(&cells, 0);
    }
    ck_assert_int_eq(backend_read_end(rd), 0);
    p_free(&cells);

    plog_free(&l);
    backend_session_close(w);
    backend_session_close(rd);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_read_exec_refuses_writes)
{
    static const char *const writes[] = {
        "INSERT INTO t VALUES (9)",
        "DELETE FROM t",
        "UPDATE t SET v = 0",
        "REPLACE INTO t VALUES (3)",
        "CREATE TABLE x (a)",
        "DROP TABLE t",
        "PRAGMA user_version = 5",
        "INSERT INTO t VALUES (1) RETURNING v",
    };
    struct backend *be = open_db("ro.db", NULL);
    struct backend_session *s = sess(be);
    struct backend_result res;
    struct plog l;
    struct err e;
    uint64_t a;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (v INTEGER)");
    begin(s);
    tx(&l, s, "INSERT INTO t VALUES (1)", NULL);
    commit(&l, s);
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        ck_assert_int_eq(backend_read_begin(s, &a, &e), 0);
        ck_assert_msg(backend_read_exec(s, writes[i], (uint32_t)strlen(writes[i]), NULL, &res, &e) == -1,
                      "%s ran as a read", writes[i]);
        ck_assert_msg(e.code == ERR_REFUSED || e.code == ERR_STATE, "%s: %s", writes[i], e.msg);
        ck_assert_msg(contains(e.msg, "not a read") || contains(e.msg, "PRAGMA"), "%s: %s", writes[i],
                      e.msg);
        backend_result_free(&res);
        ck_assert_int_eq(backend_read_end(s), 0);
    }
    ck_assert_int_eq(query_int(s, "SELECT count(*) FROM t"), 1);
    ck_assert_int_eq(query_int(s, "SELECT v FROM t"), 1);
    ck_assert_int_eq(query_int(s, "PRAGMA user_version"), 0);
    ck_assert_int_eq(query_int(s, "SELECT count(*) FROM sqlite_schema WHERE name = 'x'"), 0);
    ck_assert_uint_eq(applied_of(be), l.op);

    plog_free(&l);
    backend_session_close(s);
    backend_close(be);
}
END_TEST

/* exec in a transaction must fail with a message containing `want`. */
static void assert_refused(struct plog *l, struct backend_session *s, const char *sql,
                           const struct proto_list_value *params, const char *want)
{
    struct backend_result r;
    struct err e;
    bool ab = false;
    ck_assert_msg(tx_try(l, s, sql, params, &r, &ab, &e) == -1, "%s was accepted", sql);
    ck_assert_msg(contains(e.msg, want), "%s: '%s' lacks '%s'", sql, e.msg, want);
    ck_assert(!ab);
    backend_result_free(&r);
}

START_TEST(sqlite_refusals_explain_why)
{
    struct backend *be = open_db("refuse.db", NULL);
    struct backend_session *s = sess(be);
    struct proto_list_value p = {0};
    struct plog l;
    struct err e;
    int64_t rows;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    begin(s);
    tx(&l, s, "INSERT INTO t (v) VALUES ('keep')", NULL);
    assert_refused(&l, s, "ATTACH DATABASE 'other.db' AS o", NULL, "ATTACH");
    assert_refused(&l, s, "DETACH DATABASE o", NULL, "ATTACH");
    assert_refused(&l, s, "VACUUM", NULL, "VACUUM");
    assert_refused(&l, s, "PRAGMA foreign_keys = OFF", NULL, "PRAGMA");
    assert_refused(&l, s, "PRAGMA journal_mode = DELETE", NULL, "PRAGMA");
    assert_refused(&l, s, "INSERT INTO t (v) VALUES ('a'); INSERT INTO t (v) VALUES ('b')", NULL,
                   "multi-statement");
    assert_refused(&l, s, "SELECT 1; SELECT 2", NULL, "multi-statement");
    assert_refused(&l, s, "CREATE TEMP TABLE tmp (a)", NULL, "emporary");
    assert_refused(&l, s, "CREATE TABLE t2 (a)", NULL, "DDL");
    /* only the authorizer sees these: the lexer calls them plain writes */
    assert_refused(&l, s, "UPDATE recall_state SET applied = 0", NULL, "recall_");
    assert_refused(&l, s, "DELETE FROM recall_clients", NULL, "recall_");
    assert_refused(&l, s, "UPDATE sqlite_schema SET sql = '' WHERE 0", NULL, "may not be modified");
    assert_refused(&l, s, "INSERT INTO t (v) SELECT total_changes()", NULL, "total_changes()");
    assert_refused(&l, s, "INSERT INTO t (v) VALUES (datetime('now', 'localtime'))", NULL, "time zone");
    p_text(&p, "localtime", 9);
    assert_refused(&l, s, "INSERT INTO t (v) VALUES (datetime('now', ?))", &p, "time zone");
    p_free(&p);
    assert_refused(&l, s, "COMMIT", NULL, "transaction control");
    assert_refused(&l, s, "SAVEPOINT x", NULL, "transaction control");
    assert_refused(&l, s, "SELECT load_extension('x')", NULL, "load_extension");
    /* the storing of 'UTC' as data is fine: no date function */
    tx(&l, s, "INSERT INTO t (v) VALUES ('UTC')", NULL);
    /* nothing refused was logged or left a trace */
    ck_assert_uint_eq(l.open.n, 2);
    commit(&l, s);
    rows = query_int(s, "SELECT count(*) FROM t");
    ck_assert_int_eq(rows, 2);

    /* DDL path: temporary objects and Recall's names are refused, and the
     * failure is recorded (applied still advances) */
    ck_assert_int_eq(ddl_try(&l, s, "CREATE TEMP TABLE tmp (a)", &e), -1);
    ck_assert_msg(contains(e.msg, "emporary"), "%s", e.msg);
    ck_assert_uint_eq(applied_of(be), l.op - 1);
    ck_assert_int_eq(ddl_try(&l, s, "CREATE TABLE recall_mine (a)", &e), -1);
    ck_assert_msg(contains(e.msg, "recall_"), "%s", e.msg);
    ck_assert_int_eq(ddl_try(&l, s, "DROP TABLE recall_state", &e), -1);
    ck_assert_int_eq(ddl_try(&l, s, "CREATE INDEX i ON recall_clients (ts_us)", &e), -1);
    ck_assert_int_eq(ddl_try(&l, s, "CREATE TABLE z (a TEXT DEFAULT (datetime('now', 'localtime')))",
                             &e),
                     -1);
    ck_assert_msg(contains(e.msg, "time zone"), "%s", e.msg);
    ck_assert_int_eq(query_int(s, "SELECT count(*) FROM recall_state"), 1);

    plog_free(&l);
    backend_session_close(s);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_session_statements_outside_transactions)
{
    struct backend *be = open_db("sessst.db", NULL);
    struct backend_session *s = sess(be);
    struct backend_result r;
    struct proto_list_value cells = {0};
    struct plog l;
    struct err e;
    bool ab, more;
    const char *sql;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    /* no backend_begin: reads and read-only PRAGMAs work */
    sql = "PRAGMA table_info(t)";
    ck_assert_msg(backend_exec(s, sql, (uint32_t)strlen(sql), NULL, NULL, &r, &ab, &e) == 0, "pragma: %s",
                  e.msg);
    ck_assert(!r.is_write);
    ck_assert(r.has_rows);
    ck_assert_int_eq(backend_fetch(s, 16, &cells, &more, &e), 0);
    ck_assert_uint_eq(cells.n, 2 * r.columns.n);
    backend_result_free(&r);
    sql = "USE main";
    ck_assert_int_eq(backend_exec(s, sql, (uint32_t)strlen(sql), NULL, NULL, &r, &ab, &e), 0);
    backend_result_free(&r);
    sql = "USE other";
    ck_assert_int_eq(backend_exec(s, sql, (uint32_t)strlen(sql), NULL, NULL, &r, &ab, &e), -1);
    ck_assert(contains(e.msg, "one database"));
    sql = "SET NAMES utf8";
    ck_assert_int_eq(backend_exec(s, sql, (uint32_t)strlen(sql), NULL, NULL, &r, &ab, &e), -1);
    ck_assert(contains(e.msg, "session variables"));
    /* a session statement never writes */
    sql = "INSERT INTO t (v) VALUES ('x')";
    ck_assert_int_eq(backend_exec(s, sql, (uint32_t)strlen(sql), NULL, NULL, &r, &ab, &e), -1);
    ck_assert_int_eq(e.code, ERR_REFUSED);
    /* a statement with a context needs backend_begin */
    {
        struct backend_ctx c = {TS0, 1, 2};
        ck_assert_int_eq(backend_exec(s, sql, (uint32_t)strlen(sql), NULL, &c, &r, &ab, &e), -1);
        ck_assert_int_eq(e.code, ERR_STATE);
    }
    ck_assert_int_eq(query_int(s, "SELECT count(*) FROM t"), 0);
    p_free(&cells);
    plog_free(&l);
    backend_session_close(s);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_failed_statement_and_savepoints_leave_nothing)
{
    struct backend *be = open_db("sp.db", NULL);
    struct backend_session *s = sess(be);
    struct backend_result r;
    struct plog l;
    struct err e;
    bool ab = false;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER UNIQUE)");
    begin(s);
    tx(&l, s, "INSERT INTO t (v) VALUES (1)", NULL);
    /* OR FAIL keeps the rows before the failing one in plain SQLite; the
     * per-statement savepoint removes them, as the statement is not logged */
    ck_assert_int_eq(tx_try(&l, s, "INSERT OR FAIL INTO t (v) VALUES (2), (3), (1), (4)", NULL, &r,
                            &ab, &e),
                     -1);
    ck_assert_str_eq(e.sqlstate, "23000");
    ck_assert(contains(e.msg, "UNIQUE"));
    ck_assert(!ab);
    backend_result_free(&r);
    ck_assert_int_eq(backend_savepoint(s, "a", &e), 0);
    tx(&l, s, "INSERT INTO t (v) VALUES (10)", NULL);
    ck_assert_int_eq(backend_rollback_to(s, "a", &e), 0);
    l.open.n--; /* recalld drops the statements a ROLLBACK TO undid */
    proto_stmt_free(&l.open.v[l.open.n]);
    ck_assert_int_eq(backend_release(s, "a", &e), 0);
    ck_assert_int_eq(backend_rollback_to(s, "a", &e), -1); /* released */
    ck_assert_int_eq(backend_savepoint(s, "recall_x", &e), -1);
    tx(&l, s, "INSERT INTO t (v) VALUES (5)", NULL);
    ck_assert_uint_eq(l.open.n, 2);
    commit(&l, s);
    {
        struct rows rr;
        query(s, "SELECT group_concat(v) FROM (SELECT v FROM t ORDER BY v)", &rr);
        ck_assert_str_eq(rr.cells.v[0].v.p, "1,5");
        rows_free(&rr);
    }
    /* a transaction that wrote nothing ends without a trace */
    begin(s);
    tx(&l, s, "SELECT count(*) FROM t", NULL);
    ck_assert_int_eq(backend_commit_empty(s, &e), 0);
    ck_assert_uint_eq(l.open.n, 0);

    plog_free(&l);
    backend_session_close(s);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_returning_rows_of_a_write)
{
    struct backend *pa = open_db("ret.db", NULL), *pb = open_db("ret2.db", NULL);
    struct backend_session *s = sess(pa), *b = sess(pb);
    struct backend_result r;
    struct proto_list_value cells = {0};
    struct plog l;
    struct err e;
    bool ab = false, more = true;
    uint32_t rows = 0;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)");
    begin(s);
    ck_assert_int_eq(tx_try(&l, s,
                            "INSERT INTO t (v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                            "SELECT x + 1 FROM c WHERE x < 40) SELECT x * 10 FROM c RETURNING id, v",
                            NULL, &r, &ab, &e),
                     0);
    ck_assert(r.is_write);
    ck_assert(r.has_rows);
    ck_assert_uint_eq(r.affected, 40);
    ck_assert_uint_eq(r.columns.n, 2);
    ck_assert_uint_eq(r.insert_id, 40);
    while (more) {
        ck_assert_int_eq(backend_fetch(s, 16, &cells, &more, &e), 0);
        for (uint32_t i = 0; i < cells.n; i += 2, rows++) {
            ck_assert_int_eq(cells.v[i].v.i, rows + 1);
            ck_assert_int_eq(cells.v[i + 1].v.i, (rows + 1) * 10);
        }
        proto_list_value_resize(&cells, 0);
    }
    ck_assert_uint_eq(rows, 40);
    backend_result_free(&r);
    commit(&l, s);
    ck_assert_uint_eq(l.v[l.n - 1].body.stmts.v[0].insert_id, 1);
    ck_assert_uint_eq(l.v[l.n - 1].body.stmts.v[0].result_insert_id, 40);
    replay(&l, 0, l.n, b);
    assert_same_sums(pa, pb);
    p_free(&cells);
    plog_free(&l);
    backend_session_close(s);
    backend_session_close(b);
    backend_close(pa);
    backend_close(pb);
}
END_TEST

/* ---- two writers ---- */

struct writer {
    struct backend_session *s;
    struct plog *l;
    const char *sql;
    atomic_int state; /* 0 not started, 1 executing, 2 done */
    int rc;
    struct err e;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct backend_result r;
    bool ab = false;
    struct backend_ctx c = {TS0 + 5000000, 5, 6};
    const char *sql = w->sql;
    atomic_store(&w->state, 1);
    w->rc = backend_exec(w->s, sql, (uint32_t)strlen(sql), NULL, &c, &r, &ab, &w->e);
    if (w->rc == 0 && (!r.is_write || proto_list_stmt_resize(&w->l->open, w->l->open.n + 1) < 0))
        w->rc = -2;
    if (w->rc == 0) {
        w->l->open.v[w->l->open.n - 1] = r.stmt;
        memset(&r.stmt, 0, sizeof r.stmt);
    }
    backend_result_free(&r);
    atomic_store(&w->state, 2);
    return NULL;
}

/* Poll (1 ms steps, at most ms) until *st has reached at least `want`. */
static bool wait_state(atomic_int *st, int want, int ms)
{
    for (int i = 0; i < ms; i++) {
        if (atomic_load(st) >= want)
            return true;
        usleep(1000);
    }
    return atomic_load(st) >= want;
}

START_TEST(sqlite_second_writer_waits_for_first_commit)
{
    struct backend *be = open_db("lock.db", NULL);
    struct backend_session *s1 = sess(be), *s2 = sess(be);
    struct plog l, l2;
    struct writer w;
    pthread_t th;

    plog_init(&l);
    plog_init(&l2);
    ddl(&l, s1, "CREATE TABLE t (v TEXT)");
    begin(s1);
    tx(&l, s1, "INSERT INTO t VALUES ('first')", NULL);

    begin(s2);
    memset(&w, 0, sizeof w);
    w.s = s2;
    w.l = &l2;
    w.sql = "INSERT INTO t VALUES ('second')";
    ck_assert_int_eq(pthread_create(&th, NULL, writer_main, &w), 0);
    ck_assert(wait_state(&w.state, 1, 5000));
    /* it waits for the write lock, however long the first one takes */
    ck_assert(!wait_state(&w.state, 2, 300));
    commit(&l, s1);
    ck_assert_msg(wait_state(&w.state, 2, 5000), "the second writer did not proceed");
    pthread_join(th, NULL);
    ck_assert_msg(w.rc == 0, "second writer: %s", w.e.msg);
    l2.op = l.op;
    commit(&l2, s2);
    ck_assert_int_eq(query_int(s1, "SELECT count(*) FROM t"), 2);
    ck_assert_uint_eq(applied_of(be), l.op + 1);

    plog_free(&l);
    plog_free(&l2);
    backend_session_close(s1);
    backend_session_close(s2);
    backend_close(be);
}
END_TEST

/* A transaction that has read holds a snapshot, so SQLite cannot use its
 * busy handler when it starts writing: the backend waits itself, and goes
 * on when the other writer rolls back (its snapshot is still current). */
START_TEST(sqlite_writer_after_reads_waits_then_proceeds)
{
    struct backend *be = open_db("upgrade.db", NULL);
    struct backend_session *s1 = sess(be), *s2 = sess(be);
    struct plog l, l2;
    struct writer w;
    struct err e;
    pthread_t th;

    plog_init(&l);
    plog_init(&l2);
    ddl(&l, s1, "CREATE TABLE t (v TEXT)");
    begin(s2);
    tx(&l2, s2, "SELECT count(*) FROM t", NULL);
    begin(s1);
    tx(&l, s1, "INSERT INTO t VALUES ('undone')", NULL);
    memset(&w, 0, sizeof w);
    w.s = s2;
    w.l = &l2;
    w.sql = "INSERT INTO t VALUES ('kept')";
    ck_assert_int_eq(pthread_create(&th, NULL, writer_main, &w), 0);
    ck_assert(wait_state(&w.state, 1, 5000));
    ck_assert(!wait_state(&w.state, 2, 300));
    ck_assert_int_eq(backend_rollback(s1, &e), 0);
    proto_list_stmt_resize(&l.open, 0);
    ck_assert_msg(wait_state(&w.state, 2, 5000), "the waiting writer did not proceed");
    pthread_join(th, NULL);
    ck_assert_msg(w.rc == 0, "waiting writer: %s", w.e.msg);
    l2.op = l.op;
    commit(&l2, s2);
    {
        char *all = query_text(s1, "SELECT group_concat(v) FROM t");
        ck_assert_str_eq(all, "kept");
        free(all);
    }
    plog_free(&l);
    plog_free(&l2);
    backend_session_close(s1);
    backend_session_close(s2);
    backend_close(be);
}
END_TEST

/* quiesce does not wait out a writer's lock wait: the waiting call ends
 * at once with a clear error */
START_TEST(sqlite_quiesce_wakes_a_waiting_writer)
{
    struct backend *be = open_db("qw.db", NULL);
    struct backend_session *s1 = sess(be), *s2 = sess(be), *s3;
    struct timespec t0, t1;
    struct plog l, l2;
    struct writer w;
    struct err e;
    pthread_t th;
    long ms;

    plog_init(&l);
    plog_init(&l2);
    ddl(&l, s1, "CREATE TABLE t (v TEXT)");
    begin(s1);
    tx(&l, s1, "INSERT INTO t VALUES ('a')", NULL);
    begin(s2);
    memset(&w, 0, sizeof w);
    w.s = s2;
    w.l = &l2;
    w.sql = "INSERT INTO t VALUES ('b')";
    ck_assert_int_eq(pthread_create(&th, NULL, writer_main, &w), 0);
    ck_assert(wait_state(&w.state, 1, 5000));
    ck_assert(!wait_state(&w.state, 2, 100));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(backend_quiesce(be, &e) == 0, "%s", e.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_int_lt(ms, 3000); /* far below the 10 s busy timeout */
    pthread_join(th, NULL);
    ck_assert_int_eq(w.rc, -1);
    ck_assert_int_eq(w.e.code, ERR_CONN_LOST);
    ck_assert_msg(contains(w.e.msg, "quiesced"), "%s", w.e.msg);
    ck_assert_int_eq(backend_resume(be, &e), 0);
    s3 = sess(be);
    ck_assert_int_eq(query_int(s3, "SELECT count(*) FROM t"), 0);
    proto_list_stmt_resize(&l.open, 0);
    plog_free(&l);
    plog_free(&l2);
    backend_session_close(s1);
    backend_session_close(s2);
    backend_session_close(s3);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_lock_wait_timeout_and_serialization_failure)
{
    struct backend *be = open_db("to.db", "busy_timeout=200");
    struct backend_session *s1 = sess(be), *s2 = sess(be);
    struct backend_result r;
    struct timespec t0, t1;
    struct plog l, l2;
    struct err e;
    bool ab = false;
    long ms;

    plog_init(&l);
    plog_init(&l2);
    ddl(&l, s1, "CREATE TABLE t (v INTEGER)");
    begin(s1);
    tx(&l, s1, "INSERT INTO t VALUES (1)", NULL);
    /* a second writer gives up after busy_timeout with a lock-wait error;
     * its transaction stays open */
    begin(s2);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(tx_try(&l2, s2, "INSERT INTO t VALUES (2)", NULL, &r, &ab, &e), -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_int_eq(e.code, ERR_TIMEOUT);
    ck_assert_msg(contains(e.msg, "lock wait timeout"), "%s", e.msg);
    ck_assert(!ab);
    ck_assert_int_ge(ms, 150);
    ck_assert_int_lt(ms, 5000);
    backend_result_free(&r);
    ck_assert_int_eq(backend_rollback(s2, &e), 0);

    /* s2 reads (snapshot), s1 commits, s2 writes: a serialization failure
     * that ends s2's transaction */
    begin(s2);
    tx(&l2, s2, "SELECT count(*) FROM t", NULL);
    commit(&l, s1);
    ck_assert_int_eq(tx_try(&l2, s2, "INSERT INTO t VALUES (3)", NULL, &r, &ab, &e), -1);
    ck_assert_str_eq(e.sqlstate, "40001");
    ck_assert(ab);
    backend_result_free(&r);
    /* the session is usable again */
    begin(s2);
    tx(&l2, s2, "INSERT INTO t VALUES (4)", NULL);
    l2.op = l.op;
    commit(&l2, s2);
    {
        char *all = query_text(s1, "SELECT group_concat(v) FROM (SELECT v FROM t ORDER BY v)");
        ck_assert_str_eq(all, "1,4");
        free(all);
    }
    plog_free(&l);
    plog_free(&l2);
    backend_session_close(s1);
    backend_session_close(s2);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_ddl_exec_and_apply)
{
    struct backend *pa = open_db("dp.db", NULL), *pb = open_db("db.db", NULL);
    struct backend_session *s = sess(pa), *b = sess(pb);
    struct backend_apply_report rep;
    struct plog l;
    struct err e;
    int ok_ddl, failed_ddl;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (v INTEGER)");
    ok_ddl = l.n - 1;
    ck_assert_uint_eq(applied_of(pa), l.v[ok_ddl].op);
    /* a DDL that fails on the primary is recorded as done */
    ck_assert_int_eq(ddl_try(&l, s, "CREATE TABLE t (v INTEGER)", &e), -1);
    ck_assert_msg(contains(e.msg, "already exists"), "%s", e.msg);
    ck_assert_str_eq(e.sqlstate, "42S01");
    failed_ddl = l.n - 1;
    ck_assert_uint_eq(applied_of(pa), l.v[failed_ddl].op);
    /* asking again answers the same */
    {
        struct logged *g = &l.v[failed_ddl];
        struct err e2;
        ck_assert_int_eq(backend_exec_ddl(s, g->op, &g->entry, &g->body.stmts.v[0], &e2), -1);
        ck_assert_str_eq(e2.msg, e.msg);
        g = &l.v[ok_ddl];
        ck_assert_int_eq(backend_exec_ddl(s, g->op, &g->entry, &g->body.stmts.v[0], &e2), 0);
    }
    ddl(&l, s, "ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'x'");
    ddl(&l, s, "CREATE INDEX t_v ON t (v)");
    begin(s);
    tx(&l, s, "INSERT INTO t (v) VALUES (1)", NULL);
    commit(&l, s);

    /* the backup skips the failed DDL (outcome code != 0) and runs the rest */
    replay(&l, 0, l.n, b);
    assert_same_sums(pa, pb);
    ck_assert_uint_eq(applied_of(pb), applied_of(pa));
    ck_assert_int_eq(query_int(b, "SELECT count(*) FROM sqlite_schema WHERE name = 't_v'"), 1);

    /* a DDL the primary ran but the backup cannot: mismatch, not applied */
    ddl(&l, s, "CREATE TABLE u (a)");
    {
        struct logged *g = &l.v[l.n - 1];
        struct backend_session *b2 = sess(pb);
        uint64_t before = applied_of(pb);
        struct plog side;
        /* the backup already has a table u (diverged) */
        plog_init(&side);
        side.op = 1000;
        ck_assert_int_eq(ddl_try(&side, b2, "CREATE TABLE u (zzz)", &e), 0);
        backend_session_close(b2);
        before = applied_of(pb);
        /* applied jumped to 1001: replay at the next op */
        g->op = before + 1;
        g->entry.op = g->op;
        g->outcome.ref_op = g->op;
        ck_assert_int_eq(backend_apply_ddl(b, g->op, &g->entry, &g->body, &g->outcome, &rep, &e), 0);
        ck_assert(rep.mismatch);
        ck_assert_msg(contains(rep.detail, "already exists"), "%s", rep.detail);
        ck_assert_uint_eq(applied_of(pb), before);
        plog_free(&side);
    }

    plog_free(&l);
    backend_session_close(s);
    backend_session_close(b);
    backend_close(pa);
    backend_close(pb);
}
END_TEST

START_TEST(sqlite_checksum_equal_data_equal_sums)
{
    struct backend *pa = open_db("ca.db", NULL), *pb = open_db("cb.db", NULL);
    struct backend_session *s = sess(pa), *b = sess(pb);
    struct proto_list_kv sa, sb;
    struct plog l, side;
    uint64_t aa, ab;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)");
    ddl(&l, s, "CREATE TABLE w (k TEXT PRIMARY KEY, n REAL) WITHOUT ROWID");
    ddl(&l, s, "CREATE TABLE z (x)");
    begin(s);
    tx(&l, s, "INSERT INTO a (v) VALUES ('one'), ('two'), (NULL)", NULL);
    tx(&l, s, "INSERT INTO w VALUES ('b', 2.5), ('a', -1)", NULL);
    tx(&l, s, "INSERT INTO z VALUES (x'00ff'), (3)", NULL);
    commit(&l, s);
    replay(&l, 0, l.n, b);
    assert_same_sums(pa, pb);

    sums_of(pa, &sa, &aa);
    ck_assert_uint_eq(sa.n, 3); /* user tables only, sorted */
    ck_assert_str_eq(sa.v[0].key.p, "a");
    ck_assert_str_eq(sa.v[1].key.p, "w");
    ck_assert_str_eq(sa.v[2].key.p, "z");
    ck_assert_uint_eq(aa, l.op);

    /* change one row on the backup: that table's checksum differs */
    plog_init(&side);
    side.op = l.op;
    begin(b);
    tx(&side, b, "UPDATE w SET n = 2.5000001 WHERE k = 'b'", NULL);
    commit(&side, b);
    sums_of(pb, &sb, &ab);
    ck_assert_str_eq(sa.v[0].val.p, sb.v[0].val.p);
    ck_assert_str_ne(sa.v[1].val.p, sb.v[1].val.p);
    ck_assert_str_eq(sa.v[2].val.p, sb.v[2].val.p);
    sums_free(&sa);
    sums_free(&sb);

    plog_free(&l);
    plog_free(&side);
    backend_session_close(s);
    backend_session_close(b);
    backend_close(pa);
    backend_close(pb);
}
END_TEST

START_TEST(sqlite_auth_from_dsn)
{
    struct backend *be = open_db("auth.db", "user=alice&password=s%26cr%3Det");
    struct backend *open = open_db("open.db", NULL);
    struct backend_session *s;
    struct err e;

    s = backend_session_open(be, "alice", "s&cr=et", NULL, &e);
    ck_assert_msg(s != NULL, "%s", e.msg);
    backend_session_close(s);
    s = backend_session_open(be, "alice", "s&cr=eT", NULL, &e);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(e.code, ERR_AUTH);
    ck_assert_str_eq(e.sqlstate, "28000");
    ck_assert(contains(e.msg, "access denied for user 'alice'"));
    ck_assert_ptr_null(backend_session_open(be, "bob", "s&cr=et", NULL, &e));
    ck_assert_ptr_null(backend_session_open(be, "alice", NULL, NULL, &e));
    ck_assert_ptr_null(backend_session_open(be, "alic", "s&cr=et", NULL, &e));
    /* the replication account (NULL user) is the DSN's own */
    s = backend_session_open(be, NULL, NULL, NULL, &e);
    ck_assert_ptr_nonnull(s);
    backend_session_close(s);
    /* without credentials in the DSN anyone may connect */
    s = backend_session_open(open, "anyone", "whatever", "anydb", &e);
    ck_assert_ptr_nonnull(s);
    backend_session_close(s);
    backend_close(be);
    backend_close(open);
}
END_TEST

START_TEST(sqlite_hostile_inputs_get_clear_errors)
{
    static const struct {
        const char *dsn, *want;
    } bad[] = {
        {"sqlite:", "names no file"},
        {"sqlite:/nonexistent-recall-dir/sub/x.db", "directory"},
        {"sqlite:file:x.db", "plain path"},
        {"sqlite:/tmp/x.db?bogus=1", "unknown option"},
        {"sqlite:/tmp/x.db?busy_timeout=abc", "busy_timeout"},
        {"sqlite:/tmp/x.db?user", "no value"},
        {"sqlite:/tmp/x.db?password=p", "without a user"},
        {"sqlite:/tmp/x.db?user=a%zz", "escape"},
        {"sqlite:/tmp/x.db?user=a&user=b", "twice"},
    };
    struct backend *be;
    struct backend_session *s;
    struct backend_result r;
    struct proto_list_value p = {0};
    struct plog l;
    struct err e;
    bool ab = false;
    char *huge;
    size_t n;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_ptr_null(backend_open(bad[i].dsn, &e));
        ck_assert_msg(contains(e.msg, bad[i].want), "%s: '%s' lacks '%s'", bad[i].dsn, e.msg,
                      bad[i].want);
    }
    /* a file that is not a database */
    {
        FILE *f = fopen(path_of("junk.db"), "wb");
        char dsn[600];
        ck_assert_ptr_nonnull(f);
        for (int i = 0; i < 4096; i++)
            fputc('J', f);
        fclose(f);
        snprintf(dsn, sizeof dsn, "sqlite:%s", path_of("junk.db"));
        ck_assert_ptr_null(backend_open(dsn, &e));
        ck_assert_msg(contains(e.msg, "not a database"), "%s", e.msg);
    }

    be = open_db("hostile.db", NULL);
    s = sess(be);
    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (a, b)");
    begin(s);
    assert_refused(&l, s, "SELEC 1", NULL, "syntax error");
    ck_assert_int_eq(tx_try(&l, s, "INSERT INTO nope VALUES (1)", NULL, &r, &ab, &e), -1);
    ck_assert_str_eq(e.sqlstate, "42S02");
    assert_refused(&l, s, "", NULL, "empty");
    assert_refused(&l, s, "  -- nothing\n", NULL, "empty");
    /* wrong parameter counts */
    p_int(&p, 1);
    ck_assert_int_eq(tx_try(&l, s, "INSERT INTO t VALUES (?, ?)", &p, &r, &ab, &e), -1);
    ck_assert_str_eq(e.sqlstate, "07001");
    ck_assert(contains(e.msg, "the statement has 2, 1 given"));
    ck_assert_int_eq(tx_try(&l, s, "INSERT INTO t VALUES (1, 2)", &p, &r, &ab, &e), -1);
    ck_assert_str_eq(e.sqlstate, "07001");
    p_free(&p);
    /* unsigned values beyond SQLite's range */
    p_uint(&p, 9223372036854775808ull);
    p_int(&p, 0);
    ck_assert_int_eq(tx_try(&l, s, "INSERT INTO t VALUES (?, ?)", &p, &r, &ab, &e), -1);
    ck_assert_str_eq(e.sqlstate, "22003");
    ck_assert(contains(e.msg, "9223372036854775808"));
    p_free(&p);
    p_uint(&p, 9223372036854775807ull);
    p_int(&p, 0);
    tx(&l, s, "INSERT INTO t VALUES (?, ?)", &p);
    p_free(&p);
    /* an unknown value type */
    p_int(&p, 0);
    p.v[0].type = 99;
    ck_assert_int_eq(tx_try(&l, s, "SELECT ?", &p, &r, &ab, &e), -1);
    ck_assert(contains(e.msg, "unknown value type"));
    p_free(&p);
    /* a NUL byte in the text */
    ck_assert_int_eq(backend_exec(s, "SELECT 1\0; DELETE FROM t", 24, NULL, NULL, &r, &ab, &e), -1);
    ck_assert_int_eq(e.code, ERR_REFUSED);
    /* a megabyte of garbage: a syntax error, nothing else */
    n = 1u << 20;
    huge = malloc((16u << 20) + 2);
    ck_assert_ptr_nonnull(huge);
    memset(huge, '(', n);
    ck_assert_int_eq(backend_exec(s, huge, (uint32_t)n, NULL, NULL, &r, &ab, &e), -1);
    ck_assert_int_eq(e.code, ERR_SQL);
    /* more than the statement limit: refused before parsing */
    n = (16u << 20) + 1;
    memcpy(huge, "SELECT ", 7);
    memset(huge + 7, ' ', n - 8);
    huge[n - 1] = '1';
    ck_assert_int_eq(backend_exec(s, huge, (uint32_t)n, NULL, NULL, &r, &ab, &e), -1);
    ck_assert_int_eq(e.code, ERR_LIMIT);
    ck_assert(contains(e.msg, "limit"));
    free(huge);
    ck_assert(!ab);
    /* the transaction survived all of it */
    commit(&l, s);
    ck_assert_int_eq(query_int(s, "SELECT count(*) FROM t"), 1);
    /* wrong call sequences */
    ck_assert_int_eq(backend_commit_entry(s, 99, &l.v[0].entry, &l.v[0].body, &e), -1);
    ck_assert_int_eq(e.code, ERR_STATE);
    begin(s);
    ck_assert_int_eq(backend_begin(s, ISO_DEFAULT, &e), -1);
    ck_assert_int_eq(backend_read_begin(s, &l.op, &e), -1);
    ck_assert_int_eq(backend_rollback(s, &e), 0);
    ck_assert_int_eq(backend_read_exec(s, "SELECT 1", 8, NULL, &r, &e), -1);
    ck_assert_int_eq(e.code, ERR_STATE);

    plog_free(&l);
    backend_session_close(s);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_quiesce_resume_and_flush)
{
    struct backend *be = open_db("q.db", NULL);
    struct backend_session *s = sess(be), *s2;
    struct backend_state st;
    struct plog l;
    struct err e;
    struct stat sb;
    uint64_t durable = 0, a;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (v)");
    begin(s);
    tx(&l, s, "INSERT INTO t VALUES (1)", NULL);
    commit(&l, s);
    ck_assert_msg(backend_flush(be, &durable, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(durable, l.op);

    begin(s); /* an open transaction is rolled back by quiesce */
    tx(&l, s, "INSERT INTO t VALUES (2)", NULL);
    /* flush does not wait for a writer (the applier calls it, and on the
     * primary the writer waits for the applier) */
    {
        struct timespec t0, t1;
        long ms;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ck_assert_msg(backend_flush(be, &durable, &e) == 0, "%s", e.msg);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        ck_assert_int_lt(ms, 1000);
        ck_assert_uint_eq(durable, l.op);
    }
    ck_assert_msg(backend_quiesce(be, &e) == 0, "%s", e.msg);
    /* nothing holds the file: no WAL left beside it */
    ck_assert(stat(path_of("q.db-wal"), &sb) < 0 || sb.st_size == 0);
    ck_assert_int_eq(backend_read_begin(s, &a, &e), -1);
    ck_assert_int_eq(e.code, ERR_CONN_LOST);
    ck_assert(contains(e.msg, "quiesced"));
    ck_assert_int_eq(backend_get_state(be, &st, &e), -1);
    ck_assert_int_eq(e.code, ERR_NOT_READY);
    ck_assert_ptr_null(backend_session_open(be, NULL, NULL, NULL, &e));
    ck_assert_int_eq(e.code, ERR_NOT_READY);
    ck_assert_int_eq(backend_quiesce(be, &e), 0); /* idempotent */

    ck_assert_msg(backend_resume(be, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(backend_read_begin(s, &a, &e), -1); /* old sessions stay closed */
    s2 = sess(be);
    ck_assert_int_eq(query_int(s2, "SELECT count(*) FROM t"), 1);
    ck_assert_uint_eq(applied_of(be), l.op);
    backend_session_close(s);
    backend_session_close(s2);
    proto_list_stmt_resize(&l.open, 0);
    plog_free(&l);
    backend_close(be);
}
END_TEST

START_TEST(sqlite_state_and_cluster)
{
    struct backend *be = open_db("st.db", NULL);
    struct backend_state st;
    struct backend_apply_report rep;
    struct backend_session *s = sess(be);
    struct proto_entry entry;
    struct proto_body body;
    struct err e;

    ck_assert_int_eq(backend_get_state(be, &st, &e), 0);
    ck_assert_uint_eq(st.applied, 0);
    ck_assert_uint_eq(st.cluster, 0);
    ck_assert_uint_eq(st.ddl_pending, 0);
    ck_assert_int_eq(backend_set_cluster(be, 0xfedcba9876543210ull, &e), 0);
    ck_assert_int_eq(backend_set_cluster(be, 0xfedcba9876543210ull, &e), 0);
    ck_assert_int_eq(backend_set_cluster(be, 7, &e), -1);
    ck_assert(contains(e.msg, "cluster"));
    ck_assert_int_eq(backend_get_state(be, &st, &e), 0);
    ck_assert_uint_eq(st.cluster, 0xfedcba9876543210ull);
    /* a NOOP entry of recalld itself (zero client id) only advances
     * recall_state */
    memset(&entry, 0, sizeof entry);
    memset(&body, 0, sizeof body);
    body.kind = BODY_NOOP;
    body.ts_us = TS0;
    ck_assert_int_eq(backend_apply(s, 1, &entry, &body, &rep, &e), 0);
    ck_assert(!rep.mismatch);
    ck_assert_int_eq(backend_get_state(be, &st, &e), 0);
    ck_assert_uint_eq(st.applied, 1);
    ck_assert_int_eq(query_int(s, "SELECT count(*) FROM recall_clients"), 0);
    body.kind = 77;
    ck_assert_int_eq(backend_apply(s, 2, &entry, &body, &rep, &e), -1);
    backend_session_close(s);
    backend_close(be);
    /* reopening keeps everything */
    be = open_db("st.db", NULL);
    ck_assert_int_eq(backend_get_state(be, &st, &e), 0);
    ck_assert_uint_eq(st.applied, 1);
    ck_assert_uint_eq(st.cluster, 0xfedcba9876543210ull);
    backend_close(be);
}
END_TEST

/* recalld's own bookkeeping-only entries must not wait for the write lock
 * that a client transaction holds while its later entry is replicated (on
 * the primary that would be a deadlock) */
START_TEST(sqlite_noop_entry_does_not_wait_for_a_writer)
{
    struct backend *be = open_db("noop.db", NULL);
    struct backend_session *s = sess(be), *ap = sess(be);
    struct backend_apply_report rep;
    struct proto_entry entry;
    struct proto_body body;
    struct timespec t0, t1;
    struct plog l;
    struct err e;
    uint64_t outcome_op;
    long ms;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (v INTEGER)");
    outcome_op = l.op; /* ddl() numbered the outcome entry */
    begin(s);
    tx(&l, s, "INSERT INTO t VALUES (1)", NULL);
    memset(&entry, 0, sizeof entry);
    memset(&body, 0, sizeof body);
    entry.op = outcome_op;
    body.kind = BODY_DDL_OUTCOME;
    body.ref_op = outcome_op - 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(backend_apply(ap, outcome_op, &entry, &body, &rep, &e) == 0, "%s", e.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_int_lt(ms, 1000);
    ck_assert(!rep.mismatch);
    ck_assert_uint_eq(applied_of(be), outcome_op - 1); /* not recorded yet */
    commit(&l, s);                                      /* the later entry */
    ck_assert_uint_eq(applied_of(be), outcome_op + 1);
    /* with the lock free, the entry is recorded as usual */
    entry.op = body.ref_op = 0;
    body.kind = BODY_NOOP;
    ck_assert_int_eq(backend_apply(ap, outcome_op + 2, &entry, &body, &rep, &e), 0);
    ck_assert_uint_eq(applied_of(be), outcome_op + 2);
    plog_free(&l);
    backend_session_close(s);
    backend_session_close(ap);
    backend_close(be);
}
END_TEST

/* Client and apply statements stay prepared per session: what the
 * authorizer noticed at prepare time still decides later executions of the
 * cached statement, a DDL makes cached statements follow the new schema,
 * and a backup replays the same statements from its cache identically. */
START_TEST(sqlite_statement_cache)
{
    struct backend *pa = open_db("cache-a.db", NULL), *pb = open_db("cache-b.db", NULL);
    struct backend_session *s = sess(pa), *b = sess(pb);
    struct proto_list_value p = {0};
    struct plog l;
    struct rows r;
    struct err e;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    begin(s);
    for (int i = 0; i < 3; i++) {
        p_text(&p, "+1 day", 6);
        tx(&l, s, "INSERT INTO t (v) VALUES (datetime('now', ?))", &p);
        p_free(&p);
    }
    /* the same cached statement with a time-zone modifier is refused */
    p_text(&p, "localtime", 9);
    assert_refused(&l, s, "INSERT INTO t (v) VALUES (datetime('now', ?))", &p, "time zone");
    p_free(&p);
    commit(&l, s);
    for (int i = 1; i <= 3; i++) {
        p_int(&p, i);
        ck_assert_int_eq(query_try(s, "SELECT * FROM t WHERE id = ?", &p, &r, NULL, &e), 0);
        ck_assert_uint_eq(r.ncols, 2);
        ck_assert_uint_eq(r.nrows, 1);
        rows_free(&r);
        p_free(&p);
    }
    /* after a DDL the cached read sees the new column */
    ddl(&l, s, "ALTER TABLE t ADD COLUMN w INTEGER NOT NULL DEFAULT 5");
    p_int(&p, 2);
    ck_assert_int_eq(query_try(s, "SELECT * FROM t WHERE id = ?", &p, &r, NULL, &e), 0);
    ck_assert_uint_eq(r.ncols, 3);
    ck_assert_int_eq(r.cells.v[2].v.i, 5);
    rows_free(&r);
    p_free(&p);
    begin(s);
    tx(&l, s, "UPDATE t SET w = w + 1", NULL);
    tx(&l, s, "UPDATE t SET w = w + 1", NULL);
    commit(&l, s);
    /* the backup replays it all (the repeated statements from its cache) */
    replay(&l, 0, l.n, b);
    assert_same_sums(pa, pb);
    ck_assert_int_eq(query_int(b, "SELECT sum(w) FROM t"), 21);

    plog_free(&l);
    backend_session_close(s);
    backend_session_close(b);
    backend_close(pa);
    backend_close(pb);
}
END_TEST

/* A backup applies several committed entries in one transaction: the same
 * data and bookkeeping as one by one; an entry it cannot reproduce rolls the
 * whole batch back and is named, and one by one it is the same entry. */
START_TEST(sqlite_apply_batch)
{
    struct backend *pa = open_db("batch-a.db", NULL), *pb = open_db("batch-b.db", NULL);
    struct backend_session *s = sess(pa), *b = sess(pb);
    struct backend_apply_item items[BACKEND_BATCH_MAX];
    struct backend_apply_report rep;
    struct backend_client_row ra, rb;
    struct plog l;
    struct err e;
    bool fa, fb;
    int first;

    plog_init(&l);
    ddl(&l, s, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, r INTEGER)");
    replay(&l, 0, l.n, b);
    first = l.n;
    for (int i = 0; i < 5; i++) {
        begin(s);
        tx(&l, s, "INSERT INTO t (v, r) VALUES (datetime('now'), random())", NULL);
        tx(&l, s, "UPDATE t SET r = r + 1 WHERE id % 2 = 1", NULL);
        commit(&l, s);
    }
    for (int i = first; i < l.n; i++) {
        items[i - first].op = l.v[i].op;
        items[i - first].entry = &l.v[i].entry;
        items[i - first].body = &l.v[i].body;
    }
    ck_assert_msg(backend_apply_batch(b, items, (uint32_t)(l.n - first), &rep, &e) == 0, "%s", e.msg);
    ck_assert(!rep.mismatch);
    ck_assert_uint_eq(applied_of(pb), l.v[l.n - 1].op);
    assert_same_sums(pa, pb);
    ck_assert_int_eq(backend_client_lookup(pa, &l.v[l.n - 1].entry.client, &ra, &fa, &e), 0);
    ck_assert_int_eq(backend_client_lookup(pb, &l.v[l.n - 1].entry.client, &rb, &fb, &e), 0);
    ck_assert(fa && fb);
    ck_assert_uint_eq(ra.req, rb.req);
    ck_assert_uint_eq(ra.op, rb.op);
    ck_assert_uint_eq(ra.affected, rb.affected);
    ck_assert_uint_eq(ra.ts_us, rb.ts_us);
    /* delivered again: nothing changes */
    ck_assert_int_eq(backend_apply_batch(b, items, (uint32_t)(l.n - first), &rep, &e), 0);
    assert_same_sums(pa, pb);

    /* an entry the backup cannot reproduce (here: its logged result is
     * off by one) rolls the whole batch back and is named */
    first = l.n;
    for (int i = 0; i < 4; i++) {
        begin(s);
        tx(&l, s, "INSERT INTO t (v, r) VALUES ('x', 1)", NULL);
        commit(&l, s);
    }
    l.v[first + 2].body.stmts.v[0].affected++;
    for (int i = first; i < l.n; i++) {
        items[i - first].op = l.v[i].op;
        items[i - first].entry = &l.v[i].entry;
        items[i - first].body = &l.v[i].body;
    }
    {
        uint64_t before = applied_of(pb);
        int64_t rows = query_int(b, "SELECT count(*) FROM t");
        char want[40];
        ck_assert_int_eq(backend_apply_batch(b, items, 4, &rep, &e), 0);
        ck_assert(rep.mismatch);
        snprintf(want, sizeof want, "op %llu stmt 1: affected 1", (unsigned long long)items[2].op);
        ck_assert_msg(contains(rep.detail, want), "%s", rep.detail);
        ck_assert_uint_eq(applied_of(pb), before);
        ck_assert_int_eq(query_int(b, "SELECT count(*) FROM t"), rows);
        /* one by one: the first two apply, the third is the mismatch */
        for (int i = 0; i < 3; i++) {
            ck_assert_int_eq(backend_apply(b, items[i].op, items[i].entry, items[i].body, &rep, &e), 0);
            ck_assert(rep.mismatch == (i == 2));
        }
        ck_assert_uint_eq(applied_of(pb), items[1].op);
    }
    /* not a transaction: refused */
    {
        struct proto_body noop;
        memset(&noop, 0, sizeof noop);
        noop.kind = BODY_NOOP;
        items[0].body = &noop;
        ck_assert_int_lt(backend_apply_batch(b, items, 1, &rep, &e), 0);
        ck_assert_int_eq(e.code, ERR_INVALID);
    }
    plog_free(&l);
    backend_session_close(s);
    backend_session_close(b);
    backend_close(pa);
    backend_close(pb);
}
END_TEST

static Suite *backend_sqlite_suite(void)
{
    Suite *s = suite_create("backend_sqlite");
    TCase *tc = tcase_create("backend_sqlite");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sqlite_crud_typed_params_and_nulls);
    tcase_add_test(tc, sqlite_column_metadata_and_types);
    tcase_add_test(tc, sqlite_fetch_streams_100k_rows_in_order);
    tcase_add_test(tc, sqlite_commit_entry_writes_bookkeeping_atomically);
    tcase_add_test(tc, sqlite_apply_reexecutes_identically_on_a_second_file);
    tcase_add_test(tc, sqlite_apply_detects_mismatch);
    tcase_add_test(tc, sqlite_read_snapshot_applied_matches_rows);
    tcase_add_test(tc, sqlite_read_exec_refuses_writes);
    tcase_add_test(tc, sqlite_refusals_explain_why);
    tcase_add_test(tc, sqlite_session_statements_outside_transactions);
    tcase_add_test(tc, sqlite_failed_statement_and_savepoints_leave_nothing);
    tcase_add_test(tc, sqlite_returning_rows_of_a_write);
    tcase_add_test(tc, sqlite_second_writer_waits_for_first_commit);
    tcase_add_test(tc, sqlite_lock_wait_timeout_and_serialization_failure);
    tcase_add_test(tc, sqlite_writer_after_reads_waits_then_proceeds);
    tcase_add_test(tc, sqlite_quiesce_wakes_a_waiting_writer);
    tcase_add_test(tc, sqlite_ddl_exec_and_apply);
    tcase_add_test(tc, sqlite_checksum_equal_data_equal_sums);
    tcase_add_test(tc, sqlite_auth_from_dsn);
    tcase_add_test(tc, sqlite_hostile_inputs_get_clear_errors);
    tcase_add_test(tc, sqlite_quiesce_resume_and_flush);
    tcase_add_test(tc, sqlite_state_and_cluster);
    tcase_add_test(tc, sqlite_noop_entry_does_not_wait_for_a_writer);
    tcase_add_test(tc, sqlite_statement_cache);
    tcase_add_test(tc, sqlite_apply_batch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return testhelp_run(backend_sqlite_suite()); }
