/* jepsen-client: the librecall side of the fault tests (tests/jepsen).
 *
 * `setup` creates a phase's tables (register, bank, list-append, unique
 * inserts) and their initial rows; `run` starts N threads per workload,
 * each with its own connection, issuing random operations until the
 * deadline and recording every invocation and completion in
 * OUT/WORKLOAD-c.jsonl (jhist.h's format); `final` performs the final reads
 * once the cluster has healed (bank, list-append, unique), with retries.
 *
 * Outcomes: a read, or any statement of a transaction before its COMMIT,
 * that fails is "fail" (nothing can have changed: a transaction whose
 * statement failed is rolled back and COMMIT is never sent).  A COMMIT or
 * an autocommit write that fails with a timeout, a cancel or an internal
 * error is "info" (it may or may not have committed); with any other error
 * it is "fail", as docs/LIBRECALL.md promises.  After an "info" the thread
 * reconnects and takes a new process number, as Jepsen does.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recall.h"

#define MAX_THREADS 64
#define MAX_MOPS 4
#define PROCESS_STRIDE 100000
#define FINAL_PROCESS 99999999

enum workload { W_REGISTER, W_BANK, W_APPEND, W_UNIQUE, W__COUNT };
static const char *const wl_names[W__COUNT] = {"register", "bank", "append", "unique"};

struct options {
    const char *conn, *prefix, *out;
    bool wl[W__COUNT];
    int threads;
    double seconds, rate;
    uint64_t seed;
    int64_t process_base;
    int64_t t0_ns;          /* key generations are counted from here */
    int keys, accounts, balance;
    unsigned request_timeout_ms;
};

static struct options opt = {
    .prefix = "j_", .out = ".", .threads = 3, .seconds = 10, .rate = 40, .seed = 1,
    .keys = 2000, .accounts = 5, .balance = 100, .request_timeout_ms = 5000,
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
    return n ? rnd(s) % n : 0;
}

static void sleep_ms(double ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
    nanosleep(&ts, NULL);
}

/* ---- a growable string for JSON lines ---- */

struct sb {
    char *p;
    size_t n, cap;
};

static void sb_need(struct sb *b, size_t more)
{
    if (b->n + more + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + more + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            fprintf(stderr, "jepsen-client: out of memory\n");
            abort();
        }
        b->p = p;
        b->cap = cap;
    }
}

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sb_need(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

static void sb_json_string(struct sb *b, const char *s)
{
    sb_printf(b, "\"");
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sb_printf(b, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            sb_printf(b, "\\u%04x", c < 0x20 ? c : '?');
        else
            sb_printf(b, "%c", c);
    }
    sb_printf(b, "\"");
}

/* ---- history files ---- */

struct hfile {
    FILE *f;
    pthread_mutex_t mu;
};

static struct hfile hfiles[W__COUNT];

static int hfile_open(enum workload w, const char *mode)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-c.jsonl", opt.out, wl_names[w]);
    hfiles[w].f = fopen(path, mode);
    if (!hfiles[w].f) {
        fprintf(stderr, "jepsen-client: %s: %s\n", path, strerror(errno));
        return -1;
    }
    pthread_mutex_init(&hfiles[w].mu, NULL);
    return 0;
}

/* type: invoke/ok/fail/info; value: JSON text (NULL: none). */
static void record(enum workload w, const char *type, int64_t process, const char *f,
                   const char *value, const char *error)
{
    struct sb b = {0};
    sb_printf(&b, "{\"type\":\"%s\",\"process\":%" PRId64 ",\"time\":%" PRId64 ",\"f\":\"%s\"",
              type, process, now_ns(), f);
    if (value)
        sb_printf(&b, ",\"value\":%s", value);
    if (error) {
        sb_printf(&b, ",\"error\":");
        sb_json_string(&b, error);
    }
    sb_printf(&b, "}\n");
    pthread_mutex_lock(&hfiles[w].mu);
    fwrite(b.p, 1, b.n, hfiles[w].f);
    fflush(hfiles[w].f);
    pthread_mutex_unlock(&hfiles[w].mu);
    free(b.p);
}

/* ---- connections and errors ---- */

struct client {
    enum workload w;
    int tid;
    int64_t process;
    uint64_t rs;
    recall_conn *c;
    bool sqlite;
    uint64_t next_unique;
    char err[512];          /* last error, for the history */
};

enum outcome { O_OK, O_FAIL, O_INFO };

static void take_error(struct client *cl)
{
    snprintf(cl->err, sizeof cl->err, "%s %s", recall_sqlstate(cl->c), recall_errmsg(cl->c));
}

/* The outcome of a failed COMMIT or autocommit write. */
static enum outcome write_outcome(struct client *cl)
{
    take_error(cl);
    switch (recall_errcode(cl->c)) {
    case RECALL_E_TIMEOUT:
    case RECALL_E_CANCELED:
    case RECALL_E_INTERNAL:
    case RECALL_E_PROTOCOL:
    case RECALL_E_IO:
    case RECALL_E_CORRUPT:
    case RECALL_E_NOMEM:
    case RECALL_E_CONN_LOST:
        return O_INFO;
    default:
        return O_FAIL;
    }
}

static int client_connect(struct client *cl, int64_t deadline)
{
    char cs[2048];
    snprintf(cs, sizeof cs, "%s;request_timeout=%.3f;connect_timeout=5", opt.conn,
             opt.request_timeout_ms / 1000.0);
    while (!stop_flag && now_ns() < deadline) {
        if (recall_connect(cs, &cl->c) == RECALL_OK) {
            const char *info = recall_server_info(cl->c);
            cl->sqlite = info && strncmp(info, "sqlite", 6) == 0;
            return 0;
        }
        if (cl->c)
            snprintf(cl->err, sizeof cl->err, "%s", recall_errmsg(cl->c));
        recall_close(cl->c);
        cl->c = NULL;
        sleep_ms(100 + (double)rnd_below(&cl->rs, 200));
    }
    return -1;
}

static void client_reset(struct client *cl)
{
    recall_close(cl->c);
    cl->c = NULL;
}

/* Run sql with integer parameters; rows are left for the caller. */
static recall_stmt *run(struct client *cl, const char *sql, int n, ...)
{
    recall_stmt *st = recall_prepare(cl->c, sql, RECALL_NTS);
    va_list ap;
    if (!st)
        return NULL;
    va_start(ap, n);
    for (int i = 1; i <= n; i++)
        recall_bind_int64(st, i, va_arg(ap, int64_t));
    va_end(ap);
    if (recall_execute(st) != RECALL_OK) {
        recall_stmt_free(st);
        return NULL;
    }
    return st;
}

static void rollback_quietly(struct client *cl)
{
    if (recall_in_transaction(cl->c))
        recall_rollback(cl->c);
}

static void tname(char *out, size_t len, const char *table)
{
    snprintf(out, len, "%s%s", opt.prefix, table);
}

/* ---- register ---- */

static int64_t key_generation(void)
{
    int64_t g = (now_ns() - opt.t0_ns) / 1000000000; /* one generation per second */
    return g < 0 ? 0 : g;
}

static void op_register(struct client *cl)
{
    char sql[256], t[64], val[96];
    int64_t k = (key_generation() * 4 + (int64_t)rnd_below(&cl->rs, 4)) % opt.keys;
    recall_stmt *st;

    tname(t, sizeof t, "reg");
    if (rnd_below(&cl->rs, 2)) {
        int64_t v = (int64_t)(((uint64_t)(opt.process_base + cl->tid) << 32) | ++cl->next_unique);
        snprintf(val, sizeof val, "[%" PRId64 ",%" PRId64 "]", k, v);
        record(cl->w, "invoke", cl->process, "write", val, NULL);
        snprintf(sql, sizeof sql, "UPDATE %s SET v = ? WHERE k = ?", t);
        st = run(cl, sql, 2, v, k);
        if (!st) {
            enum outcome o = write_outcome(cl);
            record(cl->w, o == O_INFO ? "info" : "fail", cl->process, "write", NULL, cl->err);
            if (o == O_INFO) {
                client_reset(cl);
                cl->process += PROCESS_STRIDE;
            }
            return;
        }
        snprintf(val, sizeof val, "[%" PRId64 ",%" PRId64 ",%" PRIu64 "]", k, v,
                 recall_affected_rows(st));
        recall_stmt_free(st);
        record(cl->w, "ok", cl->process, "write", val, NULL);
    } else {
        int rc;
        snprintf(val, sizeof val, "[%" PRId64 ",null]", k);
        record(cl->w, "invoke", cl->process, "read", val, NULL);
        snprintf(sql, sizeof sql, "SELECT v FROM %s WHERE k = ?", t);
        st = run(cl, sql, 1, k);
        if (!st) {
            take_error(cl);
            record(cl->w, "fail", cl->process, "read", NULL, cl->err);
            return;
        }
        rc = recall_fetch(st);
        if (rc == RECALL_ROW) {
            /* a missing row reads as null: the register's initial state
             * (the rows are created at setup, so a lost row shows up as a
             * linearizability violation) */
            snprintf(val, sizeof val, "[%" PRId64 ",%" PRId64 "]", k, recall_value_int64(st, 0));
            rc = recall_fetch(st);
        }
        if (rc != RECALL_DONE) {
            take_error(cl);
            recall_stmt_free(st);
            record(cl->w, "fail", cl->process, "read", NULL, cl->err);
            return;
        }
        recall_stmt_free(st);
        record(cl->w, "ok", cl->process, "read", val, NULL);
    }
}

/* ---- bank ---- */

/* Read every account; rows go into b as [[id,bal],...].  Returns 0. */
static int bank_select(struct client *cl, struct sb *b)
{
    char sql[256], t[64];
    recall_stmt *st;
    int rc;
    tname(t, sizeof t, "bank");
    snprintf(sql, sizeof sql, "SELECT id, bal FROM %s ORDER BY id", t);
    st = run(cl, sql, 0);
    if (!st)
        return -1;
    sb_printf(b, "[");
    for (int i = 0; (rc = recall_fetch(st)) == RECALL_ROW; i++)
        sb_printf(b, "%s[%" PRId64 ",%" PRId64 "]", i ? "," : "", recall_value_int64(st, 0),
                  recall_value_int64(st, 1));
    sb_printf(b, "]");
    recall_stmt_free(st);
    return rc == RECALL_DONE ? 0 : -1;
}

static void op_bank_read(struct client *cl)
{
    struct sb b = {0};
    int mode = (int)rnd_below(&cl->rs, 3); /* autocommit, read-only txn, read-write txn */
    bool ok;

    record(cl->w, "invoke", cl->process, "read", "null", NULL);
    if (mode == 1)
        recall_set_read_only(cl->c, 1);
    if (mode > 0 && recall_begin(cl->c) != RECALL_OK) {
        take_error(cl);
        recall_set_read_only(cl->c, 0);
        record(cl->w, "fail", cl->process, "read", NULL, cl->err);
        return;
    }
    ok = bank_select(cl, &b) == 0;
    if (!ok)
        take_error(cl);
    if (mode > 0) {
        if (ok && recall_commit(cl->c) != RECALL_OK) {
            take_error(cl);
            ok = false;
        }
        rollback_quietly(cl);
        recall_set_read_only(cl->c, 0);
    }
    record(cl->w, ok ? "ok" : "fail", cl->process, "read", ok ? b.p : NULL, ok ? NULL : cl->err);
    free(b.p);
}

static int64_t fetch_one(struct client *cl, recall_stmt *st, bool *ok)
{
    int64_t v = 0;
    if (!st || recall_fetch(st) != RECALL_ROW)
        *ok = false;
    else
        v = recall_value_int64(st, 0);
    if (st)
        recall_stmt_free(st);
    (void)cl;
    return v;
}

static void op_bank_transfer(struct client *cl)
{
    char sql[256], t[64], val[96];
    int64_t from = (int64_t)rnd_below(&cl->rs, (uint64_t)opt.accounts), to, amount;
    bool serializable = rnd_below(&cl->rs, 2), ok = true;
    recall_stmt *st;

    do
        to = (int64_t)rnd_below(&cl->rs, (uint64_t)opt.accounts);
    while (to == from);
    amount = 1 + (int64_t)rnd_below(&cl->rs, 20);
    tname(t, sizeof t, "bank");
    snprintf(val, sizeof val, "[%" PRId64 ",%" PRId64 ",%" PRId64 "]", from, to, amount);
    record(cl->w, "invoke", cl->process, "transfer", val, NULL);
    recall_set_isolation(cl->c, serializable ? RECALL_ISO_SERIALIZABLE : RECALL_ISO_REPEATABLE_READ);
    if (recall_begin(cl->c) != RECALL_OK) {
        take_error(cl);
        record(cl->w, "fail", cl->process, "transfer", NULL, cl->err);
        return;
    }
    if (serializable) {
        /* read, then write absolute balances: safe only if the
         * transaction really is serializable */
        int64_t fb, tb = 0;
        snprintf(sql, sizeof sql, "SELECT bal FROM %s WHERE id = ?", t);
        fb = fetch_one(cl, run(cl, sql, 1, from), &ok);
        if (ok)
            tb = fetch_one(cl, run(cl, sql, 1, to), &ok);
        if (!ok)
            goto failed;
        if (fb < amount) {
            snprintf(cl->err, sizeof cl->err, "insufficient funds");
            rollback_quietly(cl);
            record(cl->w, "fail", cl->process, "transfer", NULL, cl->err);
            return;
        }
        snprintf(sql, sizeof sql, "UPDATE %s SET bal = ? WHERE id = ?", t);
        st = run(cl, sql, 2, fb - amount, from);
        if (!st)
            goto failed_stmt;
        recall_stmt_free(st);
        st = run(cl, sql, 2, tb + amount, to);
        if (!st)
            goto failed_stmt;
        recall_stmt_free(st);
    } else {
        snprintf(sql, sizeof sql, "UPDATE %s SET bal = bal - ? WHERE id = ? AND bal >= ?", t);
        st = run(cl, sql, 3, amount, from, amount);
        if (!st)
            goto failed_stmt;
        uint64_t rows = recall_affected_rows(st);
        recall_stmt_free(st);
        if (rows != 1) {
            snprintf(cl->err, sizeof cl->err, "insufficient funds");
            rollback_quietly(cl);
            record(cl->w, "fail", cl->process, "transfer", NULL, cl->err);
            return;
        }
        snprintf(sql, sizeof sql, "UPDATE %s SET bal = bal + ? WHERE id = ?", t);
        st = run(cl, sql, 2, amount, to);
        if (!st)
            goto failed_stmt;
        recall_stmt_free(st);
    }
    if (recall_commit(cl->c) != RECALL_OK) {
        enum outcome o = write_outcome(cl);
        record(cl->w, o == O_INFO ? "info" : "fail", cl->process, "transfer", NULL, cl->err);
        if (o == O_INFO) {
            client_reset(cl);
            cl->process += PROCESS_STRIDE;
        }
        return;
    }
    record(cl->w, "ok", cl->process, "transfer", NULL, NULL);
    return;
failed_stmt:
    take_error(cl);
    goto out_fail;
failed:
    take_error(cl);
out_fail:
    rollback_quietly(cl);
    record(cl->w, "fail", cl->process, "transfer", NULL, cl->err);
}

/* ---- list append ---- */

struct mop {
    bool append;
    int64_t key, value;
    struct sb result;       /* read: the JSON list */
};

/* Parse "1,2,3" into a JSON list. */
static void list_json(struct sb *b, const char *text)
{
    sb_printf(b, "[");
    for (const char *p = text; p && *p;) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno)
            v = -1; /* not a number: shows up as a value nobody appended */
        sb_printf(b, "%s%lld", p == text ? "" : ",", v);
        p = strchr(p, ',');
        if (p)
            p++;
    }
    sb_printf(b, "]");
}

static int append_read(struct client *cl, struct mop *m)
{
    char sql[256], t[64];
    recall_stmt *st;
    int rc;
    tname(t, sizeof t, "lists");
    snprintf(sql, sizeof sql, "SELECT v FROM %s WHERE k = ?", t);
    st = run(cl, sql, 1, m->key);
    if (!st)
        return -1;
    rc = recall_fetch(st);
    if (rc == RECALL_ROW) {
        size_t len;
        list_json(&m->result, recall_value_text(st, 0, &len));
        rc = recall_fetch(st);
    } else if (rc == RECALL_DONE) {
        sb_printf(&m->result, "[]");
    }
    recall_stmt_free(st);
    return rc == RECALL_DONE ? 0 : -1;
}

static int append_write(struct client *cl, const struct mop *m)
{
    char sql[512], t[64], v[32];
    recall_stmt *st;
    tname(t, sizeof t, "lists");
    if (cl->sqlite)
        snprintf(sql, sizeof sql, "INSERT INTO %s (k, v) VALUES (?, ?) ON CONFLICT (k) DO "
                 "UPDATE SET v = v || ',' || excluded.v", t);
    else
        snprintf(sql, sizeof sql, "INSERT INTO %s (k, v) VALUES (?, ?) ON DUPLICATE KEY "
                 "UPDATE v = CONCAT(v, ',', VALUES(v))", t);
    st = recall_prepare(cl->c, sql, RECALL_NTS);
    if (!st)
        return -1;
    snprintf(v, sizeof v, "%" PRId64, m->value);
    recall_bind_int64(st, 1, m->key);
    recall_bind_text(st, 2, v, RECALL_NTS);
    if (recall_execute(st) != RECALL_OK) {
        recall_stmt_free(st);
        return -1;
    }
    recall_stmt_free(st);
    return 0;
}

static void mops_json(struct sb *b, const struct mop *m, int n, bool results)
{
    sb_printf(b, "[");
    for (int i = 0; i < n; i++) {
        if (m[i].append)
            sb_printf(b, "%s[\"append\",%" PRId64 ",%" PRId64 "]", i ? "," : "", m[i].key,
                      m[i].value);
        else
            sb_printf(b, "%s[\"r\",%" PRId64 ",%s]", i ? "," : "", m[i].key,
                      results && m[i].result.p ? m[i].result.p : "null");
    }
    sb_printf(b, "]");
}

/* Execute a list-append transaction and record it; 0 if it committed. */
static int append_txn(struct client *cl, struct mop *m, int n, bool read_only, bool autocommit)
{
    struct sb inv = {0}, res = {0};
    bool explicit = !autocommit;
    int i, rc = -1;

    mops_json(&inv, m, n, false);
    record(W_APPEND, "invoke", cl->process, "txn", inv.p, NULL);
    recall_set_isolation(cl->c, RECALL_ISO_SERIALIZABLE);
    if (read_only)
        recall_set_read_only(cl->c, 1);
    if (explicit && recall_begin(cl->c) != RECALL_OK) {
        take_error(cl);
        goto fail;
    }
    for (i = 0; i < n; i++) {
        if (m[i].append ? append_write(cl, &m[i]) < 0 : append_read(cl, &m[i]) < 0)
            break;
    }
    if (i < n) {
        if (autocommit && m[i].append) {
            /* an autocommit write: its own commit */
            enum outcome o = write_outcome(cl);
            if (o == O_INFO) {
                recall_set_read_only(cl->c, 0);
                record(W_APPEND, "info", cl->process, "txn", NULL, cl->err);
                client_reset(cl);
                cl->process += PROCESS_STRIDE;
                goto out;
            }
            goto fail;
        }
        take_error(cl);
        goto fail;
    }
    if (explicit && recall_commit(cl->c) != RECALL_OK) {
        enum outcome o = read_only ? O_FAIL : write_outcome(cl);
        if (read_only)
            take_error(cl);
        if (o == O_INFO) {
            recall_set_read_only(cl->c, 0);
            record(W_APPEND, "info", cl->process, "txn", NULL, cl->err);
            client_reset(cl);
            cl->process += PROCESS_STRIDE;
            goto out;
        }
        goto fail;
    }
    recall_set_read_only(cl->c, 0);
    mops_json(&res, m, n, true);
    record(W_APPEND, "ok", cl->process, "txn", res.p, NULL);
    rc = 0;
    goto out;
fail:
    rollback_quietly(cl);
    recall_set_read_only(cl->c, 0);
    record(W_APPEND, "fail", cl->process, "txn", NULL, cl->err);
out:
    for (i = 0; i < n; i++)
        free(m[i].result.p);
    free(inv.p);
    free(res.p);
    return rc;
}

static void op_append(struct client *cl)
{
    struct mop m[MAX_MOPS];
    int n = 1 + (int)rnd_below(&cl->rs, MAX_MOPS);
    bool all_reads = true;
    int64_t gen = key_generation();

    memset(m, 0, sizeof m);
    for (int i = 0; i < n; i++) {
        m[i].key = gen * 4 + (int64_t)rnd_below(&cl->rs, 4);
        m[i].append = rnd_below(&cl->rs, 2);
        if (m[i].append) {
            m[i].value = (int64_t)(((uint64_t)(opt.process_base + cl->tid) << 32) |
                                   ++cl->next_unique);
            all_reads = false;
        }
    }
    append_txn(cl, m, n, all_reads && rnd_below(&cl->rs, 2), n == 1 && rnd_below(&cl->rs, 2));
}

/* ---- unique inserts ---- */

static void op_unique(struct client *cl)
{
    char sql[256], t[64];
    int n = 1 + (int)rnd_below(&cl->rs, 3);
    int64_t v[3];
    struct sb inv = {0};
    bool txn = n > 1;
    int i;

    tname(t, sizeof t, "uniq");
    /* `at` is the statement's clock as the database sees it: the primary's
     * CLOCK_REALTIME, logged with the entry and replayed by every replica */
    snprintf(sql, sizeof sql, "INSERT INTO %s (v, at) VALUES (?, %s)", t,
             cl->sqlite ? "CAST(strftime('%s', 'now') AS INTEGER)" : "UNIX_TIMESTAMP()");
    sb_printf(&inv, "[");
    for (i = 0; i < n; i++) {
        v[i] = (int64_t)(((uint64_t)(opt.process_base + cl->tid) << 32) | ++cl->next_unique);
        sb_printf(&inv, "%s%" PRId64, i ? "," : "", v[i]);
    }
    sb_printf(&inv, "]");
    record(W_UNIQUE, "invoke", cl->process, "insert", inv.p, NULL);
    free(inv.p);
    if (txn && recall_begin(cl->c) != RECALL_OK) {
        take_error(cl);
        record(W_UNIQUE, "fail", cl->process, "insert", NULL, cl->err);
        return;
    }
    for (i = 0; i < n; i++) {
        recall_stmt *st = run(cl, sql, 1, v[i]);
        if (!st)
            break;
        recall_stmt_free(st);
    }
    if (i < n || (txn && recall_commit(cl->c) != RECALL_OK)) {
        /* an autocommit insert or the COMMIT may have an unknown outcome;
         * a statement before COMMIT failed definitely */
        enum outcome o = (!txn || i == n) ? write_outcome(cl) : O_FAIL;
        if (o == O_FAIL)
            take_error(cl);
        rollback_quietly(cl);
        record(W_UNIQUE, o == O_INFO ? "info" : "fail", cl->process, "insert", NULL, cl->err);
        if (o == O_INFO) {
            client_reset(cl);
            cl->process += PROCESS_STRIDE;
        }
        return;
    }
    record(W_UNIQUE, "ok", cl->process, "insert", NULL, NULL);
}

/* ---- threads ---- */

static void *worker(void *arg)
{
    struct client *cl = arg;
    int64_t deadline = now_ns() + (int64_t)(opt.seconds * 1e9);
    double gap_ms = opt.rate > 0 ? 1000.0 / opt.rate : 0;

    while (!stop_flag && now_ns() < deadline) {
        if (!cl->c && client_connect(cl, deadline) < 0)
            break;
        cl->err[0] = '\0';
        switch (cl->w) {
        case W_REGISTER: op_register(cl); break;
        case W_BANK:
            if (rnd_below(&cl->rs, 2))
                op_bank_read(cl);
            else
                op_bank_transfer(cl);
            break;
        case W_APPEND: op_append(cl); break;
        case W_UNIQUE: op_unique(cl); break;
        default: break;
        }
        if (cl->c && !recall_usable(cl->c))
            client_reset(cl);
        /* stagger: on average `rate` operations per second per thread */
        sleep_ms(gap_ms > 0 ? (double)rnd_below(&cl->rs, (uint64_t)(2 * gap_ms * 1000)) / 1000
                            : 0);
    }
    client_reset(cl);
    return NULL;
}

/* ---- setup and final reads ---- */

static int exec_or_report(recall_conn *c, const char *sql)
{
    if (recall_exec(c, sql) != RECALL_OK) {
        fprintf(stderr, "jepsen-client: %s: %s (%s)\n", sql, recall_errmsg(c), recall_sqlstate(c));
        return -1;
    }
    return 0;
}

static int64_t count_rows(recall_conn *c, const char *table)
{
    char sql[256];
    recall_stmt *st;
    int64_t n = -1;
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
    st = recall_prepare(c, sql, RECALL_NTS);
    if (st && recall_execute(st) == RECALL_OK && recall_fetch(st) == RECALL_ROW)
        n = recall_value_int64(st, 0);
    recall_stmt_free(st);
    return n;
}

/* Insert rows "(i, value)" for i in [0, n) in chunks, in one transaction. */
static int fill(recall_conn *c, const char *table, const char *cols, int n, int value)
{
    struct sb b = {0};
    int rc = 0;
    if (recall_begin(c) != RECALL_OK)
        return -1;
    for (int i = 0; i < n && rc == 0; i += 200) {
        b.n = 0;
        sb_printf(&b, "INSERT INTO %s (%s) VALUES ", table, cols);
        for (int j = i; j < n && j < i + 200; j++)
            sb_printf(&b, "%s(%d, %d)", j > i ? "," : "", j, value);
        rc = exec_or_report(c, b.p);
    }
    free(b.p);
    if (rc == 0 && recall_commit(c) != RECALL_OK) {
        fprintf(stderr, "jepsen-client: commit: %s\n", recall_errmsg(c));
        rc = -1;
    }
    if (recall_in_transaction(c))
        recall_rollback(c);
    return rc;
}

static int cmd_setup(void)
{
    recall_conn *c;
    char sql[512], t[64];
    int rc = 1;

    if (recall_connect(opt.conn, &c) != RECALL_OK) {
        fprintf(stderr, "jepsen-client: connect: %s\n", c ? recall_errmsg(c) : "out of memory");
        recall_close(c);
        return 1;
    }
    if (opt.wl[W_REGISTER]) {
        tname(t, sizeof t, "reg");
        snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS %s (k INT PRIMARY KEY, "
                 "v BIGINT NOT NULL)", t);
        if (exec_or_report(c, sql) < 0)
            goto out;
        if (count_rows(c, t) == 0 && fill(c, t, "k, v", opt.keys, 0) < 0)
            goto out;
        if (count_rows(c, t) != opt.keys) {
            fprintf(stderr, "jepsen-client: %s does not hold %d rows\n", t, opt.keys);
            goto out;
        }
    }
    if (opt.wl[W_BANK]) {
        tname(t, sizeof t, "bank");
        snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS %s (id INT PRIMARY KEY, "
                 "bal BIGINT NOT NULL)", t);
        if (exec_or_report(c, sql) < 0)
            goto out;
        if (count_rows(c, t) == 0 && fill(c, t, "id, bal", opt.accounts, opt.balance) < 0)
            goto out;
        if (count_rows(c, t) != opt.accounts) {
            fprintf(stderr, "jepsen-client: %s does not hold %d rows\n", t, opt.accounts);
            goto out;
        }
    }
    if (opt.wl[W_APPEND]) {
        tname(t, sizeof t, "lists");
        snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS %s (k INT PRIMARY KEY, "
                 "v TEXT NOT NULL)", t);
        if (exec_or_report(c, sql) < 0)
            goto out;
    }
    if (opt.wl[W_UNIQUE]) {
        /* no key: a row applied twice must be able to show up twice */
        tname(t, sizeof t, "uniq");
        snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS %s (v BIGINT NOT NULL, "
                 "at BIGINT NOT NULL)", t);
        if (exec_or_report(c, sql) < 0)
            goto out;
    }
    rc = 0;
out:
    recall_close(c);
    return rc;
}

/* Retry fn until it records an ok operation or the deadline passes. */
static int final_bank(struct client *cl)
{
    struct sb b = {0};
    record(W_BANK, "invoke", cl->process, "read", "null", NULL);
    if (bank_select(cl, &b) < 0) {
        take_error(cl);
        record(W_BANK, "fail", cl->process, "read", NULL, cl->err);
        free(b.p);
        return -1;
    }
    record(W_BANK, "ok", cl->process, "read", b.p, NULL);
    free(b.p);
    return 0;
}

static int final_unique(struct client *cl)
{
    char sql[256], t[64];
    recall_stmt *st;
    struct sb b = {0};
    int rc;
    tname(t, sizeof t, "uniq");
    snprintf(sql, sizeof sql, "SELECT v FROM %s", t);
    record(W_UNIQUE, "invoke", cl->process, "read", "null", NULL);
    st = run(cl, sql, 0);
    if (!st) {
        take_error(cl);
        record(W_UNIQUE, "fail", cl->process, "read", NULL, cl->err);
        return -1;
    }
    sb_printf(&b, "[");
    for (int i = 0; (rc = recall_fetch(st)) == RECALL_ROW; i++)
        sb_printf(&b, "%s%" PRId64, i ? "," : "", recall_value_int64(st, 0));
    sb_printf(&b, "]");
    if (rc != RECALL_DONE)
        take_error(cl);
    recall_stmt_free(st);
    record(W_UNIQUE, rc == RECALL_DONE ? "ok" : "fail", cl->process, "read",
           rc == RECALL_DONE ? b.p : NULL, rc == RECALL_DONE ? NULL : cl->err);
    free(b.p);
    return rc == RECALL_DONE ? 0 : -1;
}

/* A read-only transaction reading every key of the list table. */
static int final_append(struct client *cl)
{
    char sql[256], t[64];
    recall_stmt *st;
    struct mop *m = NULL;
    int n = 0, cap = 0, rc;

    tname(t, sizeof t, "lists");
    snprintf(sql, sizeof sql, "SELECT k FROM %s ORDER BY k", t);
    st = run(cl, sql, 0);
    if (!st) {
        take_error(cl);
        return -1;
    }
    while ((rc = recall_fetch(st)) == RECALL_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            m = realloc(m, (size_t)cap * sizeof *m);
            if (!m)
                abort();
        }
        memset(&m[n], 0, sizeof m[n]);
        m[n++].key = recall_value_int64(st, 0);
    }
    recall_stmt_free(st);
    if (rc != RECALL_DONE) {
        take_error(cl);
        free(m);
        return -1;
    }
    if (n == 0) {
        free(m);
        return 0;
    }
    /* one read-only transaction: recorded as a txn of reads */
    rc = append_txn(cl, m, n, true, false);
    free(m);
    return rc;
}

static int cmd_final(void)
{
    struct client cl;
    int64_t deadline = now_ns() + (int64_t)(opt.seconds * 1e9);
    int rc = 0;

    memset(&cl, 0, sizeof cl);
    cl.process = FINAL_PROCESS;
    cl.rs = opt.seed | 1;
    for (int w = 0; w < W__COUNT; w++) {
        bool done = false;
        if (!opt.wl[w] || w == W_REGISTER)
            continue;
        if (hfile_open((enum workload)w, "a") < 0)
            return 1;
        cl.w = (enum workload)w;
        while (!done && now_ns() < deadline && !stop_flag) {
            if (!cl.c && client_connect(&cl, deadline) < 0)
                break;
            cl.err[0] = '\0';
            done = (w == W_BANK ? final_bank(&cl) : w == W_UNIQUE ? final_unique(&cl)
                                                                  : final_append(&cl)) == 0;
            if (!done) {
                fprintf(stderr, "jepsen-client: final read of %s: %s (retrying)\n", wl_names[w],
                        cl.err);
                client_reset(&cl);
                cl.process++;
                sleep_ms(300);
            }
        }
        if (!done) {
            fprintf(stderr, "jepsen-client: no final read of %s within %.0f s\n", wl_names[w],
                    opt.seconds);
            rc = 1;
        }
        fclose(hfiles[w].f);
    }
    client_reset(&cl);
    return rc;
}

static int cmd_run(void)
{
    struct client cl[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    int n = 0;

    memset(cl, 0, sizeof cl);
    for (int w = 0; w < W__COUNT; w++) {
        if (!opt.wl[w])
            continue;
        if (hfile_open((enum workload)w, "a") < 0)
            return 1;
        for (int i = 0; i < opt.threads; i++) {
            if (n == MAX_THREADS) {
                fprintf(stderr, "jepsen-client: at most %d threads\n", MAX_THREADS);
                return 1;
            }
            cl[n].w = (enum workload)w;
            cl[n].tid = n;
            cl[n].process = opt.process_base + n;
            cl[n].rs = (opt.seed ^ ((uint64_t)(n + 1) * 0x9e3779b97f4a7c15ull)) | 1;
            n++;
        }
    }
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, worker, &cl[i]) != 0) {
            fprintf(stderr, "jepsen-client: pthread_create failed\n");
            stop_flag = 1;
            n = i;
            break;
        }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    for (int w = 0; w < W__COUNT; w++)
        if (opt.wl[w])
            fclose(hfiles[w].f);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: jepsen-client setup|run|final --conn CONNSTR [OPTIONS]\n"
            "  --workloads LIST     register,bank,append,unique (default: all)\n"
            "  --prefix P           table name prefix (default j_)\n"
            "  --out DIR            history files DIR/WORKLOAD-c.jsonl (run, final)\n"
            "  --threads N          threads per workload (run; default 3)\n"
            "  --seconds S          run: duration; final: how long to retry (default 10)\n"
            "  --rate R             operations per second per thread (default 40)\n"
            "  --seed S             random seed\n"
            "  --process-base B     first process number (default 0)\n"
            "  --t0 NS              start of key generations (CLOCK_MONOTONIC ns)\n"
            "  --request-timeout MS librecall request timeout (default 5000)\n"
            "  --keys K, --accounts N, --balance B   setup sizes (defaults 2000, 5, 100)\n");
}

static int parse_workloads(const char *s)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", s);
    memset(opt.wl, 0, sizeof opt.wl);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int w;
        for (w = 0; w < W__COUNT && strcmp(tok, wl_names[w]) != 0; w++)
            ;
        if (w == W__COUNT) {
            fprintf(stderr, "jepsen-client: unknown workload %s\n", tok);
            return -1;
        }
        opt.wl[w] = true;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"conn", required_argument, NULL, 'c'},
        {"workloads", required_argument, NULL, 'w'},
        {"prefix", required_argument, NULL, 'p'},
        {"out", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'},
        {"rate", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 'S'},
        {"process-base", required_argument, NULL, 'b'},
        {"t0", required_argument, NULL, 'T'},
        {"request-timeout", required_argument, NULL, 'R'},
        {"keys", required_argument, NULL, 'k'},
        {"accounts", required_argument, NULL, 'a'},
        {"balance", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd;
    struct sigaction sa;
    int o;

    for (int w = 0; w < W__COUNT; w++)
        opt.wl[w] = true;
    opt.t0_ns = now_ns();
    if (argc < 2 || argv[1][0] == '-') {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    cmd = argv[1];
    optind = 2;
    while ((o = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        switch (o) {
        case 'c': opt.conn = optarg; break;
        case 'w':
            if (parse_workloads(optarg) < 0)
                return 2;
            break;
        case 'p': opt.prefix = optarg; break;
        case 'o': opt.out = optarg; break;
        case 'n': opt.threads = atoi(optarg); break;
        case 's': opt.seconds = atof(optarg); break;
        case 'r': opt.rate = atof(optarg); break;
        case 'S': opt.seed = strtoull(optarg, NULL, 10); break;
        case 'b': opt.process_base = strtoll(optarg, NULL, 10); break;
        case 'T': opt.t0_ns = strtoll(optarg, NULL, 10); break;
        case 'R': opt.request_timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'k': opt.keys = atoi(optarg); break;
        case 'a': opt.accounts = atoi(optarg); break;
        case 'B': opt.balance = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!opt.conn || opt.threads < 1 || opt.seconds <= 0 || opt.keys < 1 || opt.accounts < 2 ||
        opt.balance < 0 || strlen(opt.prefix) > 40) {
        usage(stderr);
        return 2;
    }
    for (const char *p = opt.prefix; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            fprintf(stderr, "jepsen-client: --prefix takes [a-z0-9_]\n");
            return 2;
        }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(cmd, "setup") == 0)
        return cmd_setup();
    if (strcmp(cmd, "run") == 0)
        return cmd_run();
    if (strcmp(cmd, "final") == 0)
        return cmd_final();
    usage(stderr);
    return 2;
}
