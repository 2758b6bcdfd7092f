/* recall-bench: a load generator that runs the same SQL workloads through
 * librecall and through any ODBC data source, so Recall, a single MariaDB
 * and a Galera cluster are measured through the same client calls.
 *
 * One run = one system, one path, one workload, N client threads (each with
 * its own connection), for a duration after a warm-up or for a count of
 * operations.  Every operation's latency is taken on the client (start of the
 * first call to end of the last, retries of conflicts included) and kept, so
 * percentiles are exact; the summary goes to stdout and, as one CSV row per
 * (system, path, workload, threads), to --csv.  `--setup` creates and loads
 * the tables first.  Workloads: point_select, insert, update (by key),
 * rwmix (sysbench oltp_read_write's transaction) and bank (transfers between
 * random accounts in a transaction; the total is checked afterwards).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define BENCH_MAX_CONNS 16
#define BENCH_MAX_INIT 8
#define BENCH_MAX_RETRIES 1000
#define BENCH_MAX_ERRORS 100
#define BENCH_RANGE 100         /* sysbench's range_size */
#define BENCH_POINT_SELECTS 10  /* sysbench's point_selects */
#define BENCH_BALANCE 1000      /* every account's opening balance */

enum bench_workload { W_POINT_SELECT, W_INSERT, W_UPDATE, W_RWMIX, W_BANK, W_COUNT };

static const char *const bench_workload_names[W_COUNT] = {
    "point_select", "insert", "update", "rwmix", "bank",
};

/* Statements a worker prepares; which ones depends on the workload. */
enum bench_sql {
    S_POINT, S_SIMPLE_RANGE, S_SUM_RANGE, S_ORDER_RANGE, S_DISTINCT_RANGE, S_UPDATE_INDEX,
    S_UPDATE_NONINDEX, S_DELETE, S_INSERT_ID, S_INSERT_AUTO, S_ACCT_READ, S_ACCT_ADD, S_SQL_COUNT
};

static const char *const bench_sql_text[S_SQL_COUNT] = {
    [S_POINT] = "SELECT c FROM sbtest WHERE id = ?",
    [S_SIMPLE_RANGE] = "SELECT c FROM sbtest WHERE id BETWEEN ? AND ?",
    [S_SUM_RANGE] = "SELECT SUM(k) FROM sbtest WHERE id BETWEEN ? AND ?",
    [S_ORDER_RANGE] = "SELECT c FROM sbtest WHERE id BETWEEN ? AND ? ORDER BY c",
    [S_DISTINCT_RANGE] = "SELECT DISTINCT c FROM sbtest WHERE id BETWEEN ? AND ? ORDER BY c",
    [S_UPDATE_INDEX] = "UPDATE sbtest SET k = k + 1 WHERE id = ?",
    [S_UPDATE_NONINDEX] = "UPDATE sbtest SET c = ? WHERE id = ?",
    [S_DELETE] = "DELETE FROM sbtest WHERE id = ?",
    [S_INSERT_ID] = "INSERT INTO sbtest (id, k, c, pad) VALUES (?, ?, ?, ?)",
    [S_INSERT_AUTO] = "INSERT INTO bench_ins (k, c, pad) VALUES (?, ?, ?)",
    [S_ACCT_READ] = "SELECT balance FROM bench_acct WHERE id = ?",
    [S_ACCT_ADD] = "UPDATE bench_acct SET balance = balance + ? WHERE id = ?",
};

struct bench_opts {
    const struct bench_path *path;
    const char *conns[BENCH_MAX_CONNS];
    int nconns;
    const char *init_sql[BENCH_MAX_INIT];
    int ninit;
    const char *system;
    const char *csv;
    enum bench_workload workload;
    int threads;
    double duration, warmup;
    long count; /* > 0: run this many operations instead of a duration */
    long table_size;
    uint64_t seed;
    bool setup;
};

enum bench_phase { PHASE_WARMUP, PHASE_RECORD, PHASE_STOP };

struct bench_worker {
    int id;
    const struct bench_opts *opts;
    struct bench_client *client;            /* owned */
    struct bench_stmt *stmt[S_SQL_COUNT];   /* owned; NULL if unused */
    uint64_t rng;
    uint64_t *lat;                          /* owned: latencies in ns */
    size_t nlat, caplat;
    long quota;                             /* count mode: operations to run */
    long retries, errors;
    bool failed;                            /* stopped by an error */
    char err[768];                          /* first error */
    struct timespec t_first, t_last;        /* count mode: first start, last end */
};

static atomic_int bench_phase;
static volatile sig_atomic_t bench_interrupted;

static void bench_on_signal(int sig)
{
    (void)sig;
    bench_interrupted = 1;
    atomic_store(&bench_phase, PHASE_STOP);
}

static uint64_t bench_ns(const struct timespec *t)
{
    return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

static struct timespec bench_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

/* xorshift64*: fast, per thread, good enough to pick keys. */
static uint64_t bench_rand(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static long bench_rand_range(uint64_t *s, long lo, long hi)
{
    return lo + (long)(bench_rand(s) % (uint64_t)(hi - lo + 1));
}

/* sysbench's c/pad values: groups of 11 digits joined by '-'. */
static size_t bench_rand_digits(uint64_t *s, char *out, int groups)
{
    size_t n = 0;

    for (int g = 0; g < groups; g++) {
        if (g)
            out[n++] = '-';
        for (int i = 0; i < 11; i++)
            out[n++] = (char)('0' + bench_rand(s) % 10);
    }
    out[n] = '\0';
    return n;
}

/* Keep the first error of a worker. */
static void bench_set_err(struct bench_worker *w, const char *msg)
{
    if (w->err[0] == '\0')
        snprintf(w->err, sizeof w->err, "%s", msg);
}

/* ---- workloads: one operation each; BENCH_OK, BENCH_RETRY or BENCH_FAIL ---- */

#define TRY(expr) do { int rc_ = (expr); if (rc_ != BENCH_OK) return rc_; } while (0)

static int bench_expect(struct bench_worker *w, const char *what, int64_t got, int64_t want)
{
    char detail[160];

    if (got == want)
        return BENCH_OK;
    snprintf(detail, sizeof detail, "%s: %" PRId64 " rows, expected %" PRId64, what, got, want);
    bench_set_err(w, detail);
    return BENCH_FAIL;
}

static int op_point_select(struct bench_worker *w)
{
    const struct bench_path *p = w->opts->path;
    int64_t rows;

    TRY(p->bind_int(w->stmt[S_POINT], 1, bench_rand_range(&w->rng, 1, w->opts->table_size)));
    TRY(p->execute(w->stmt[S_POINT], &rows, NULL, NULL));
    return bench_expect(w, "point select", rows, 1);
}

static int op_insert(struct bench_worker *w)
{
    const struct bench_path *p = w->opts->path;
    struct bench_stmt *s = w->stmt[S_INSERT_AUTO];
    char c[BENCH_MAX_TEXT], pad[BENCH_MAX_TEXT];
    size_t nc = bench_rand_digits(&w->rng, c, 10), npad = bench_rand_digits(&w->rng, pad, 5);
    int64_t affected;

    TRY(p->bind_int(s, 1, bench_rand_range(&w->rng, 1, w->opts->table_size)));
    TRY(p->bind_text(s, 2, c, nc));
    TRY(p->bind_text(s, 3, pad, npad));
    TRY(p->execute(s, NULL, NULL, &affected));
    return bench_expect(w, "insert", affected, 1);
}

static int op_update(struct bench_worker *w)
{
    const struct bench_path *p = w->opts->path;
    int64_t affected;

    TRY(p->bind_int(w->stmt[S_UPDATE_INDEX], 1, bench_rand_range(&w->rng, 1, w->opts->table_size)));
    TRY(p->execute(w->stmt[S_UPDATE_INDEX], NULL, NULL, &affected));
    return bench_expect(w, "update", affected, 1);
}

static int bench_range(struct bench_worker *w, enum bench_sql which)
{
    const struct bench_path *p = w->opts->path;
    long lo = bench_rand_range(&w->rng, 1, w->opts->table_size - BENCH_RANGE + 1);

    TRY(p->bind_int(w->stmt[which], 1, lo));
    TRY(p->bind_int(w->stmt[which], 2, lo + BENCH_RANGE - 1));
    return p->execute(w->stmt[which], NULL, NULL, NULL);
}

/* sysbench oltp_read_write: 10 point selects, four range queries, an index
 * and a non-index update, a delete and the re-insert of the same id. */
static int op_rwmix(struct bench_worker *w)
{
    const struct bench_path *p = w->opts->path;
    char c[BENCH_MAX_TEXT], pad[BENCH_MAX_TEXT];
    long id;
    int64_t rows, affected;

    for (int i = 0; i < BENCH_POINT_SELECTS; i++) {
        TRY(p->bind_int(w->stmt[S_POINT], 1, bench_rand_range(&w->rng, 1, w->opts->table_size)));
        TRY(p->execute(w->stmt[S_POINT], &rows, NULL, NULL));
    }
    TRY(bench_range(w, S_SIMPLE_RANGE));
    TRY(bench_range(w, S_SUM_RANGE));
    TRY(bench_range(w, S_ORDER_RANGE));
    TRY(bench_range(w, S_DISTINCT_RANGE));
    TRY(p->bind_int(w->stmt[S_UPDATE_INDEX], 1, bench_rand_range(&w->rng, 1, w->opts->table_size)));
    TRY(p->execute(w->stmt[S_UPDATE_INDEX], NULL, NULL, NULL));
    TRY(p->bind_text(w->stmt[S_UPDATE_NONINDEX], 1, c, bench_rand_digits(&w->rng, c, 10)));
    TRY(p->bind_int(w->stmt[S_UPDATE_NONINDEX], 2, bench_rand_range(&w->rng, 1, w->opts->table_size)));
    TRY(p->execute(w->stmt[S_UPDATE_NONINDEX], NULL, NULL, NULL));
    id = bench_rand_range(&w->rng, 1, w->opts->table_size);
    TRY(p->bind_int(w->stmt[S_DELETE], 1, id));
    TRY(p->execute(w->stmt[S_DELETE], NULL, NULL, &affected));
    TRY(bench_expect(w, "rwmix delete", affected, 1));
    TRY(p->bind_int(w->stmt[S_INSERT_ID], 1, id));
    TRY(p->bind_int(w->stmt[S_INSERT_ID], 2, bench_rand_range(&w->rng, 1, w->opts->table_size)));
    TRY(p->bind_text(w->stmt[S_INSERT_ID], 3, c, bench_rand_digits(&w->rng, c, 10)));
    TRY(p->bind_text(w->stmt[S_INSERT_ID], 4, pad, bench_rand_digits(&w->rng, pad, 5)));
    TRY(p->execute(w->stmt[S_INSERT_ID], NULL, NULL, &affected));
    TRY(bench_expect(w, "rwmix insert", affected, 1));
    return p->commit(w->client);
}

/* Move a random amount between two random accounts; the rows are updated in
 * id order so that transfers cannot deadlock with each other. */
static int op_bank(struct bench_worker *w)
{
    const struct bench_path *p = w->opts->path;
    long from = bench_rand_range(&w->rng, 1, w->opts->table_size);
    long to = bench_rand_range(&w->rng, 1, w->opts->table_size - 1);
    long amount = bench_rand_range(&w->rng, 1, 100);
    int64_t rows, affected;

    if (to >= from)
        to++;
    TRY(p->bind_int(w->stmt[S_ACCT_READ], 1, from));
    TRY(p->execute(w->stmt[S_ACCT_READ], &rows, NULL, NULL));
    TRY(bench_expect(w, "bank read", rows, 1));
    for (int i = 0; i < 2; i++) {
        bool first_from = from < to;
        long id = (i == 0) == first_from ? from : to;
        long delta = id == from ? -amount : amount;

        TRY(p->bind_int(w->stmt[S_ACCT_ADD], 1, delta));
        TRY(p->bind_int(w->stmt[S_ACCT_ADD], 2, id));
        TRY(p->execute(w->stmt[S_ACCT_ADD], NULL, NULL, &affected));
        TRY(bench_expect(w, "bank update", affected, 1));
    }
    return p->commit(w->client);
}

static int (*const bench_ops[W_COUNT])(struct bench_worker *) = {
    op_point_select, op_insert, op_update, op_rwmix, op_bank,
};

static bool bench_transactional(enum bench_workload wl)
{
    return wl == W_RWMIX || wl == W_BANK;
}

static const enum bench_sql bench_uses[W_COUNT][12] = {
    [W_POINT_SELECT] = { S_POINT, S_SQL_COUNT },
    [W_INSERT] = { S_INSERT_AUTO, S_SQL_COUNT },
    [W_UPDATE] = { S_UPDATE_INDEX, S_SQL_COUNT },
    [W_RWMIX] = { S_POINT, S_SIMPLE_RANGE, S_SUM_RANGE, S_ORDER_RANGE, S_DISTINCT_RANGE,
                  S_UPDATE_INDEX, S_UPDATE_NONINDEX, S_DELETE, S_INSERT_ID, S_SQL_COUNT },
    [W_BANK] = { S_ACCT_READ, S_ACCT_ADD, S_SQL_COUNT },
};

/* ---- workers ---- */

static int bench_record(struct bench_worker *w, uint64_t ns)
{
    if (w->nlat == w->caplat) {
        size_t cap = w->caplat ? w->caplat * 2 : 65536;
        uint64_t *lat = realloc(w->lat, cap * sizeof *lat);

        if (!lat)
            return -1;
        w->lat = lat;
        w->caplat = cap;
    }
    w->lat[w->nlat++] = ns;
    return 0;
}

/* One operation, retried while the database reports a conflict. */
static int bench_run_op(struct bench_worker *w)
{
    const struct bench_path *p = w->opts->path;
    bool txn = bench_transactional(w->opts->workload);

    for (int attempt = 0;; attempt++) {
        int rc = bench_ops[w->opts->workload](w);

        if (rc == BENCH_OK)
            return BENCH_OK;
        if (txn)
            p->rollback(w->client);
        if (rc == BENCH_RETRY && attempt < BENCH_MAX_RETRIES) {
            w->retries++;
            continue;
        }
        bench_set_err(w, p->errmsg(w->client));
        return BENCH_FAIL;
    }
}

static void *bench_worker_main(void *arg)
{
    struct bench_worker *w = arg;
    bool counted = w->opts->count > 0;

    if (counted)
        w->t_first = bench_now();
    for (long done = 0;;) {
        int phase = atomic_load(&bench_phase);
        struct timespec t0, t1;
        int rc;

        if (phase == PHASE_STOP || (counted && done >= w->quota))
            break;
        t0 = bench_now();
        rc = bench_run_op(w);
        t1 = bench_now();
        if (rc != BENCH_OK) {
            if (++w->errors > BENCH_MAX_ERRORS) {
                w->failed = true;
                break;
            }
            continue;
        }
        done++;
        if (counted || (phase == PHASE_RECORD && atomic_load(&bench_phase) == PHASE_RECORD)) {
            if (bench_record(w, bench_ns(&t1) - bench_ns(&t0)) != 0) {
                bench_set_err(w, "out of memory for latencies");
                w->failed = true;
                break;
            }
        }
        w->t_last = t1;
    }
    return NULL;
}

static int bench_worker_open(struct bench_worker *w, const struct bench_opts *o, int id)
{
    const struct bench_path *p = o->path;
    const char *conninfo = o->conns[id % o->nconns];
    char msg[768];

    w->id = id;
    w->opts = o;
    w->rng = o->seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(id + 1));
    if (w->rng == 0)
        w->rng = 1;
    w->client = p->connect(conninfo, msg, sizeof msg);
    if (!w->client) {
        fprintf(stderr, "recall-bench: thread %d: %s\n", id, msg);
        return -1;
    }
    for (int i = 0; i < o->ninit; i++) {
        if (p->exec_sql(w->client, o->init_sql[i]) != BENCH_OK) {
            fprintf(stderr, "recall-bench: %s: %s\n", o->init_sql[i], p->errmsg(w->client));
            return -1;
        }
    }
    if (bench_transactional(o->workload) && p->set_autocommit(w->client, 0) != BENCH_OK) {
        fprintf(stderr, "recall-bench: autocommit off: %s\n", p->errmsg(w->client));
        return -1;
    }
    for (int i = 0; bench_uses[o->workload][i] != S_SQL_COUNT; i++) {
        enum bench_sql s = bench_uses[o->workload][i];

        w->stmt[s] = p->prepare(w->client, bench_sql_text[s]);
        if (!w->stmt[s]) {
            fprintf(stderr, "recall-bench: prepare %s: %s\n", bench_sql_text[s],
                    p->errmsg(w->client));
            return -1;
        }
    }
    return 0;
}

static void bench_worker_close(struct bench_worker *w)
{
    const struct bench_path *p = w->opts ? w->opts->path : NULL;

    if (!p)
        return;
    for (int i = 0; i < S_SQL_COUNT; i++)
        p->stmt_free(w->stmt[i]);
    p->disconnect(w->client);
    free(w->lat);
}

/* ---- setup and checks (one connection) ---- */

static int bench_exec(const struct bench_path *p, struct bench_client *c, const char *sql)
{
    if (p->exec_sql(c, sql) != BENCH_OK) {
        fprintf(stderr, "recall-bench: %.200s: %s\n", sql, p->errmsg(c));
        return -1;
    }
    return 0;
}

/* Create and fill sbtest, bench_ins and bench_acct with multi-row INSERTs. */
static int bench_setup(const struct bench_opts *o, struct bench_client *c)
{
    const struct bench_path *p = o->path;
    static const char *const ddl[] = {
        "DROP TABLE IF EXISTS sbtest",
        "DROP TABLE IF EXISTS bench_ins",
        "DROP TABLE IF EXISTS bench_acct",
        "CREATE TABLE sbtest (id INT NOT NULL PRIMARY KEY, k INT NOT NULL DEFAULT 0,"
        " c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '',"
        " KEY k_1 (k)) ENGINE=InnoDB",
        "CREATE TABLE bench_ins (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY k_1 (k)) ENGINE=InnoDB",
        "CREATE TABLE bench_acct (id INT NOT NULL PRIMARY KEY, balance BIGINT NOT NULL)"
        " ENGINE=InnoDB",
    };
    enum { BATCH = 100 };
    size_t cap = 64 + BATCH * 256;
    char *sql = malloc(cap);
    uint64_t rng = o->seed | 1;
    int rc = -1;

    if (!sql) {
        fprintf(stderr, "recall-bench: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < sizeof ddl / sizeof ddl[0]; i++)
        if (bench_exec(p, c, ddl[i]) != 0)
            goto out_free_sql;
    for (long id = 1; id <= o->table_size; id += BATCH) {
        size_t n = (size_t)snprintf(sql, cap, "INSERT INTO sbtest (id, k, c, pad) VALUES ");

        for (long j = id; j < id + BATCH && j <= o->table_size; j++) {
            char cv[BENCH_MAX_TEXT], pv[BENCH_MAX_TEXT];

            bench_rand_digits(&rng, cv, 10);
            bench_rand_digits(&rng, pv, 5);
            n += (size_t)snprintf(sql + n, cap - n, "%s(%ld,%ld,'%s','%s')", j == id ? "" : ",",
                                  j, bench_rand_range(&rng, 1, o->table_size), cv, pv);
        }
        if (bench_exec(p, c, sql) != 0)
            goto out_free_sql;
        n = (size_t)snprintf(sql, cap, "INSERT INTO bench_acct (id, balance) VALUES ");
        for (long j = id; j < id + BATCH && j <= o->table_size; j++)
            n += (size_t)snprintf(sql + n, cap - n, "%s(%ld,%d)", j == id ? "" : ",", j,
                                  BENCH_BALANCE);
        if (bench_exec(p, c, sql) != 0)
            goto out_free_sql;
    }
    rc = 0;
out_free_sql:
    free(sql);
    return rc;
}

static int bench_query_int(const struct bench_path *p, struct bench_client *c, const char *sql,
                           int64_t *v)
{
    struct bench_stmt *s = p->prepare(c, sql);
    int rc;

    if (!s) {
        fprintf(stderr, "recall-bench: %s: %s\n", sql, p->errmsg(c));
        return -1;
    }
    rc = p->execute(s, NULL, v, NULL);
    if (rc != BENCH_OK)
        fprintf(stderr, "recall-bench: %s: %s\n", sql, p->errmsg(c));
    p->stmt_free(s);
    return rc == BENCH_OK ? 0 : -1;
}

/* After the run: the bank's total and sbtest's row count are unchanged. */
static const char *bench_check(const struct bench_opts *o, struct bench_client *c)
{
    const struct bench_path *p = o->path;
    int64_t v = -1;

    if (o->workload == W_BANK) {
        if (bench_query_int(p, c, "SELECT SUM(balance) FROM bench_acct", &v) != 0)
            return "error";
        if (v != (int64_t)o->table_size * BENCH_BALANCE) {
            fprintf(stderr, "recall-bench: CHECK FAILED: bank total %" PRId64 ", expected %ld\n",
                    v, o->table_size * BENCH_BALANCE);
            return "FAIL";
        }
        return "ok";
    }
    if (o->workload == W_RWMIX) {
        if (bench_query_int(p, c, "SELECT COUNT(*) FROM sbtest", &v) != 0)
            return "error";
        if (v != (int64_t)o->table_size) {
            fprintf(stderr, "recall-bench: CHECK FAILED: sbtest has %" PRId64 " rows, expected %ld\n",
                    v, o->table_size);
            return "FAIL";
        }
        return "ok";
    }
    return "-";
}

/* ---- results ---- */

static int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double bench_pct_ms(const uint64_t *v, size_t n, double pct)
{
    size_t rank;

    if (n == 0)
        return 0;
    rank = (size_t)ceil(pct / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return (double)v[rank - 1] / 1e6;
}

static int bench_write_csv(const char *file, const char *line)
{
    static const char header[] = "system,path,workload,threads,seconds,ops,ops_per_s,mean_ms,"
                                 "p50_ms,p95_ms,p99_ms,max_ms,retries,errors,check\n";
    FILE *f = fopen(file, "a");
    long size;

    if (!f) {
        fprintf(stderr, "recall-bench: %s: %s\n", file, strerror(errno));
        return -1;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    if (size == 0)
        fputs(header, f);
    fputs(line, f);
    if (fclose(f) != 0) {
        fprintf(stderr, "recall-bench: %s: %s\n", file, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- main ---- */

static void bench_usage(FILE *f)
{
    fputs("usage: recall-bench --path librecall|odbc --conn CONNSTR [--conn CONNSTR...]\n"
          "         --workload point_select|insert|update|rwmix|bank [--threads N]\n"
          "         [--duration S] [--warmup S] [--count N] [--table-size N]\n"
          "         [--init-sql SQL]... [--system NAME] [--csv FILE] [--seed N] [--setup]\n"
          "  --conn      librecall: a Recall connection string (replicas=...;user=...);\n"
          "              odbc: an ODBC connection string (DSN=... or DRIVER=...;...).\n"
          "              Several: threads use them round-robin.\n"
          "  --setup     drop, create and load the tables (sbtest, bench_ins, bench_acct)\n"
          "              with --table-size rows, then exit.\n"
          "  --init-sql  run on every connection before the workload (e.g.\n"
          "              'SET SESSION wsrep_sync_wait=1').\n"
          "  --count     run N operations in all instead of --duration seconds.\n"
          "Prints one summary line; --csv appends one row (header if the file is new).\n",
          f);
}

static int bench_parse(int argc, char **argv, struct bench_opts *o)
{
    static const struct option longopts[] = {
        { "path", required_argument, NULL, 'p' },
        { "conn", required_argument, NULL, 'c' },
        { "workload", required_argument, NULL, 'w' },
        { "threads", required_argument, NULL, 't' },
        { "duration", required_argument, NULL, 'd' },
        { "warmup", required_argument, NULL, 'W' },
        { "count", required_argument, NULL, 'n' },
        { "table-size", required_argument, NULL, 's' },
        { "init-sql", required_argument, NULL, 'i' },
        { "system", required_argument, NULL, 'S' },
        { "csv", required_argument, NULL, 'o' },
        { "seed", required_argument, NULL, 'r' },
        { "setup", no_argument, NULL, 'L' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *workload = NULL;
    char *end;
    int ch;

    *o = (struct bench_opts){ .threads = 1, .duration = 10, .warmup = 2, .table_size = 10000,
                              .seed = 42, .system = "unnamed" };
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        errno = 0;
        switch (ch) {
        case 'p':
            if (strcmp(optarg, "librecall") == 0)
                o->path = &bench_path_recall;
            else if (strcmp(optarg, "odbc") == 0)
                o->path = &bench_path_odbc;
            else
                return fprintf(stderr, "recall-bench: --path must be librecall or odbc\n"), -1;
            break;
        case 'c':
            if (o->nconns == BENCH_MAX_CONNS)
                return fprintf(stderr, "recall-bench: at most %d --conn\n", BENCH_MAX_CONNS), -1;
            o->conns[o->nconns++] = optarg;
            break;
        case 'w':
            workload = optarg;
            break;
        case 't':
            o->threads = (int)strtol(optarg, &end, 10);
            if (errno || *end || o->threads < 1 || o->threads > 1024)
                return fprintf(stderr, "recall-bench: --threads must be 1..1024\n"), -1;
            break;
        case 'd':
        case 'W': {
            double v = strtod(optarg, &end);

            if (errno || *end || !(v >= 0) || v > 86400)
                return fprintf(stderr, "recall-bench: bad number of seconds '%s'\n", optarg), -1;
            if (ch == 'd')
                o->duration = v;
            else
                o->warmup = v;
            break;
        }
        case 'n':
            o->count = strtol(optarg, &end, 10);
            if (errno || *end || o->count < 1)
                return fprintf(stderr, "recall-bench: --count must be positive\n"), -1;
            break;
        case 's':
            o->table_size = strtol(optarg, &end, 10);
            if (errno || *end || o->table_size < 2 * BENCH_RANGE || o->table_size > 100000000)
                return fprintf(stderr, "recall-bench: --table-size must be %d..100000000\n",
                               2 * BENCH_RANGE), -1;
            break;
        case 'i':
            if (o->ninit == BENCH_MAX_INIT)
                return fprintf(stderr, "recall-bench: at most %d --init-sql\n", BENCH_MAX_INIT), -1;
            o->init_sql[o->ninit++] = optarg;
            break;
        case 'S':
            o->system = optarg;
            break;
        case 'o':
            o->csv = optarg;
            break;
        case 'r':
            o->seed = strtoull(optarg, &end, 10);
            if (errno || *end)
                return fprintf(stderr, "recall-bench: bad --seed\n"), -1;
            break;
        case 'L':
            o->setup = true;
            break;
        case 'h':
            bench_usage(stdout);
            exit(0);
        default:
            bench_usage(stderr);
            return -1;
        }
    }
    if (optind != argc)
        return fprintf(stderr, "recall-bench: unexpected argument '%s'\n", argv[optind]), -1;
    if (!o->path || o->nconns == 0) {
        bench_usage(stderr);
        return -1;
    }
    if (o->setup)
        return 0;
    if (!workload)
        return fprintf(stderr, "recall-bench: --workload is required\n"), -1;
    for (int i = 0; i < W_COUNT; i++)
        if (strcmp(workload, bench_workload_names[i]) == 0)
            o->workload = (enum bench_workload)i;
    if (strcmp(workload, bench_workload_names[o->workload]) != 0)
        return fprintf(stderr, "recall-bench: unknown workload '%s'\n", workload), -1;
    if (o->count == 0 && o->duration <= 0)
        return fprintf(stderr, "recall-bench: --duration must be positive\n"), -1;
    return 0;
}

static void bench_sleep(double seconds)
{
    struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !bench_interrupted)
        ;
}

static int bench_run(const struct bench_opts *o, struct bench_client *admin)
{
    struct bench_worker *w = calloc((size_t)o->threads, sizeof *w);
    pthread_t *tid = calloc((size_t)o->threads, sizeof *tid);
    uint64_t *all = NULL;
    size_t nall = 0, started = 0;
    long retries = 0, errors = 0;
    bool failed = false;
    double seconds = 0, sum = 0;
    struct timespec t_rec = { 0 }, t_stop = { 0 };
    const char *check;
    char line[512];
    int rc = -1;

    if (!w || !tid) {
        fprintf(stderr, "recall-bench: out of memory\n");
        goto out_free;
    }
    for (int i = 0; i < o->threads; i++) {
        w[i].quota = o->count / o->threads + (i < o->count % o->threads);
        if (bench_worker_open(&w[i], o, i) != 0)
            goto out_close;
    }
    atomic_store(&bench_phase, o->count > 0 ? PHASE_RECORD : PHASE_WARMUP);
    for (int i = 0; i < o->threads; i++, started++) {
        if (pthread_create(&tid[i], NULL, bench_worker_main, &w[i]) != 0) {
            fprintf(stderr, "recall-bench: cannot start thread %d\n", i);
            atomic_store(&bench_phase, PHASE_STOP);
            break;
        }
    }
    if (started == (size_t)o->threads && o->count == 0) {
        bench_sleep(o->warmup);
        t_rec = bench_now();
        atomic_store(&bench_phase, PHASE_RECORD);
        bench_sleep(o->duration);
        t_stop = bench_now();
        atomic_store(&bench_phase, PHASE_STOP);
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    if (started != (size_t)o->threads || bench_interrupted)
        goto out_close;

    for (int i = 0; i < o->threads; i++) {
        nall += w[i].nlat;
        retries += w[i].retries;
        errors += w[i].errors;
        failed |= w[i].failed;
        if (w[i].err[0])
            fprintf(stderr, "recall-bench: thread %d: %ld errors, first: %s\n", i, w[i].errors,
                    w[i].err);
    }
    if (failed) {
        fprintf(stderr, "recall-bench: stopped: too many errors\n");
        goto out_close;
    }
    all = malloc((nall ? nall : 1) * sizeof *all);
    if (!all) {
        fprintf(stderr, "recall-bench: out of memory\n");
        goto out_close;
    }
    nall = 0;
    for (int i = 0; i < o->threads; i++) {
        memcpy(all + nall, w[i].lat, w[i].nlat * sizeof *all);
        nall += w[i].nlat;
    }
    qsort(all, nall, sizeof *all, bench_cmp_u64);
    for (size_t i = 0; i < nall; i++)
        sum += (double)all[i];
    if (o->count > 0) {
        uint64_t first = UINT64_MAX, last = 0;

        for (int i = 0; i < o->threads; i++) {
            if (bench_ns(&w[i].t_first) < first)
                first = bench_ns(&w[i].t_first);
            if (bench_ns(&w[i].t_last) > last)
                last = bench_ns(&w[i].t_last);
        }
        seconds = last > first ? (double)(last - first) / 1e9 : 0;
    } else {
        seconds = (double)(bench_ns(&t_stop) - bench_ns(&t_rec)) / 1e9;
    }
    check = bench_check(o, admin);
    snprintf(line, sizeof line, "%s,%s,%s,%d,%.3f,%zu,%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%ld,%ld,%s\n",
             o->system, o->path->name, bench_workload_names[o->workload], o->threads, seconds,
             nall, seconds > 0 ? (double)nall / seconds : 0, nall ? sum / (double)nall / 1e6 : 0,
             bench_pct_ms(all, nall, 50), bench_pct_ms(all, nall, 95),
             bench_pct_ms(all, nall, 99), nall ? (double)all[nall - 1] / 1e6 : 0, retries, errors,
             check);
    printf("%-12s %-9s %-12s threads %3d  %9.1f ops/s  p50 %8.3f  p95 %8.3f  p99 %8.3f  max %9.3f ms"
           "  retries %ld  errors %ld  check %s\n",
           o->system, o->path->name, bench_workload_names[o->workload], o->threads,
           seconds > 0 ? (double)nall / seconds : 0, bench_pct_ms(all, nall, 50),
           bench_pct_ms(all, nall, 95), bench_pct_ms(all, nall, 99),
           nall ? (double)all[nall - 1] / 1e6 : 0, retries, errors, check);
    fflush(stdout);
    if (o->csv && bench_write_csv(o->csv, line) != 0)
        goto out_close;
    rc = strcmp(check, "FAIL") == 0 || strcmp(check, "error") == 0 ? -1 : 0;

out_close:
    for (int i = 0; i < o->threads; i++)
        bench_worker_close(&w[i]);
out_free:
    free(all);
    free(tid);
    free(w);
    return rc;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    struct bench_client *admin;
    struct sigaction sa;
    char msg[768];
    int rc = 1;

    if (bench_parse(argc, argv, &o) != 0)
        return 2;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = bench_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (o.path->global_init(msg, sizeof msg) != BENCH_OK) {
        fprintf(stderr, "recall-bench: %s\n", msg);
        return 1;
    }
    admin = o.path->connect(o.conns[0], msg, sizeof msg);
    if (!admin) {
        fprintf(stderr, "recall-bench: %s\n", msg);
        goto out_global;
    }
    for (int i = 0; i < o.ninit; i++)
        if (bench_exec(o.path, admin, o.init_sql[i]) != 0)
            goto out_admin;
    if (o.setup)
        rc = bench_setup(&o, admin) == 0 ? 0 : 1;
    else
        rc = bench_run(&o, admin) == 0 ? 0 : 1;
out_admin:
    o.path->disconnect(admin);
out_global:
    o.path->global_close();
    return rc;
}
