/* client_recall.c: recall-bench's librecall path -- the benchmark's client
 * operations (bench/bench.h) mapped one to one onto include/recall.h.
 * Conflicts the application is expected to retry (SQLSTATE 40001: a
 * deadlock victim, a transaction lost to failover; lock wait timeouts) come
 * back as BENCH_RETRY; everything else is BENCH_FAIL with librecall's
 * message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "recall.h"

struct bench_client {
    recall_conn *conn; /* owned */
    char msg[512];
};

struct bench_stmt {
    struct bench_client *client;
    recall_stmt *stmt; /* owned */
};

static int rc_classify(struct bench_client *c)
{
    enum recall_code code = recall_errcode(c->conn);
    const char *state = recall_sqlstate(c->conn);
    int native = recall_native_error(c->conn);

    snprintf(c->msg, sizeof c->msg, "librecall: %s (SQLSTATE %s, native %d)",
             recall_errmsg(c->conn), state ? state : "?", native);
    if (code == RECALL_E_DEADLOCK || code == RECALL_E_FAILOVER)
        return BENCH_RETRY;
    if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40000") == 0))
        return BENCH_RETRY;
    if (native == 1213 || native == 1205)
        return BENCH_RETRY;
    return BENCH_FAIL;
}

static int rc_global_init(char *msg, size_t msglen)
{
    (void)msg;
    (void)msglen;
    return BENCH_OK;
}

static void rc_global_close(void)
{
}

static struct bench_client *rc_connect(const char *conninfo, char *msg, size_t msglen)
{
    struct bench_client *c = calloc(1, sizeof *c);

    if (!c) {
        snprintf(msg, msglen, "out of memory");
        return NULL;
    }
    if (recall_connect(conninfo, &c->conn) != RECALL_OK) {
        snprintf(msg, msglen, "librecall connect: %s",
                 c->conn ? recall_errmsg(c->conn) : "out of memory");
        recall_close(c->conn);
        free(c);
        return NULL;
    }
    return c;
}

static void rc_disconnect(struct bench_client *c)
{
    if (!c)
        return;
    recall_close(c->conn);
    free(c);
}

static struct bench_stmt *rc_prepare(struct bench_client *c, const char *sql)
{
    struct bench_stmt *s = calloc(1, sizeof *s);

    if (!s) {
        snprintf(c->msg, sizeof c->msg, "out of memory");
        return NULL;
    }
    s->client = c;
    s->stmt = recall_prepare(c->conn, sql, RECALL_NTS);
    if (!s->stmt) {
        rc_classify(c);
        free(s);
        return NULL;
    }
    return s;
}

static void rc_stmt_free(struct bench_stmt *s)
{
    if (!s)
        return;
    recall_stmt_free(s->stmt);
    free(s);
}

static int rc_bind_int(struct bench_stmt *s, int idx, int64_t v)
{
    if (recall_bind_int64(s->stmt, idx, v) != RECALL_OK)
        return rc_classify(s->client);
    return BENCH_OK;
}

static int rc_bind_text(struct bench_stmt *s, int idx, const char *text, size_t len)
{
    if (recall_bind_text(s->stmt, idx, text, len) != RECALL_OK)
        return rc_classify(s->client);
    return BENCH_OK;
}

static int rc_execute(struct bench_stmt *s, int64_t *rows, int64_t *first, int64_t *affected)
{
    int64_t n = 0, v = 0;
    int rc;

    if (recall_execute(s->stmt) != RECALL_OK)
        return rc_classify(s->client);
    while ((rc = recall_fetch(s->stmt)) == RECALL_ROW) {
        size_t len;
        const char *text = recall_value_text(s->stmt, 0, &len);

        if (n == 0 && text)
            v = strtoll(text, NULL, 10);
        n++;
    }
    if (rc != RECALL_DONE)
        return rc_classify(s->client);
    if (rows)
        *rows = n;
    if (first)
        *first = v;
    if (affected)
        *affected = (int64_t)recall_affected_rows(s->stmt);
    return BENCH_OK;
}

static int rc_exec_sql(struct bench_client *c, const char *sql)
{
    if (recall_exec(c->conn, sql) != RECALL_OK)
        return rc_classify(c);
    return BENCH_OK;
}

static int rc_set_autocommit(struct bench_client *c, int on)
{
    if (recall_set_autocommit(c->conn, on) != RECALL_OK)
        return rc_classify(c);
    return BENCH_OK;
}

static int rc_commit(struct bench_client *c)
{
    if (recall_commit(c->conn) != RECALL_OK)
        return rc_classify(c);
    return BENCH_OK;
}

static int rc_rollback(struct bench_client *c)
{
    if (recall_rollback(c->conn) != RECALL_OK)
        return rc_classify(c);
    return BENCH_OK;
}

static const char *rc_errmsg(struct bench_client *c)
{
    return c->msg;
}

const struct bench_path bench_path_recall = {
    .name = "librecall",
    .global_init = rc_global_init,
    .global_close = rc_global_close,
    .connect = rc_connect,
    .disconnect = rc_disconnect,
    .prepare = rc_prepare,
    .stmt_free = rc_stmt_free,
    .bind_int = rc_bind_int,
    .bind_text = rc_bind_text,
    .execute = rc_execute,
    .exec_sql = rc_exec_sql,
    .set_autocommit = rc_set_autocommit,
    .commit = rc_commit,
    .rollback = rc_rollback,
    .errmsg = rc_errmsg,
};
