/* librecall against a fake cluster (test_librecall-fake.c): connecting to a
 * majority, client-counted write quorums, exactly-once retries across
 * failover (same request id, RETRY), linearizable reads with fences and the
 * ReadIndex fallback, session/any fences, streaming with bounded FETCH,
 * transactions (API and SQL text, read-only, failover -> 40001), session
 * statement replay on reconnect, cancel, hostile replicas, value
 * conversions, parameters, and many connections in parallel threads. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recall.h"
#include "test_librecall-fake.h"
#include "testhelp.h"

/* ---- helpers ---- */

static uint64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static recall_conn *connect_ok(struct fake *f, const char *extra)
{
    char info[256];
    recall_conn *c = NULL;
    int rc;
    /* The first occurrence of a key wins: extra settings go first. */
    snprintf(info, sizeof info, "%s%suser=u;password=p;connect_timeout=2;request_timeout=5",
             extra ? extra : "", extra ? ";" : "");
    rc = recall_connect(fake_conninfo(f, info), &c);
    ck_assert_msg(rc == RECALL_OK, "connect: %s", c ? recall_errmsg(c) : "out of memory");
    ck_assert(recall_usable(c));
    return c;
}

static void exec_ok(recall_conn *c, const char *sql)
{
    ck_assert_msg(recall_exec(c, sql) == RECALL_OK, "%s: %s (%s)", sql, recall_errmsg(c),
                  recall_sqlstate(c));
}

/* The first row's column `col` of a query, as an integer. */
static int64_t query_int(recall_conn *c, const char *sql, int col)
{
    recall_stmt *s = recall_prepare(c, sql, RECALL_NTS);
    int64_t v;
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(recall_execute(s) == RECALL_OK, "%s: %s", sql, recall_errmsg(c));
    ck_assert_int_eq(recall_fetch(s), RECALL_ROW);
    v = recall_value_int64(s, col);
    recall_stmt_free(s);
    return v;
}

/* Index in the fake's log of the n-th (0-based) message matching. */
static int find_rec(struct fake *f, enum proto_type type, uint32_t flags_all, int nth)
{
    int found = -1;
    fake_lock(f);
    for (int i = 0; i < f->nlog; i++)
        if (f->log[i].type == type && (f->log[i].flags & flags_all) == flags_all && nth-- == 0) {
            found = i;
            break;
        }
    fake_unlock(f);
    return found;
}

/* ---- connecting ---- */

START_TEST(test_connect_majority)
{
    struct fake *f = fake_start(3);
    recall_conn *c;
    recall_stmt *s;

    fake_kill(f, 2, false);
    c = connect_ok(f, NULL);
    ck_assert_int_eq(recall_replica_count(c), 3);
    ck_assert_int_eq(recall_primary(c), 0);
    ck_assert_str_eq(recall_server_info(c), "sqlite 3.40.1");
    ck_assert_int_eq(recall_get_autocommit(c), 1);
    s = recall_prepare(c, "INSERT INTO t VALUES (1)", RECALL_NTS);
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_uint_eq(recall_affected_rows(s), 1);
    ck_assert_uint_eq(recall_last_insert_id(s), 1);
    ck_assert_int_eq(recall_column_count(s), 0);
    ck_assert_int_eq(recall_fetch(s), RECALL_DONE);
    recall_stmt_free(s);
    recall_close(c);
    fake_stop(f);
}
END_TEST

START_TEST(test_connect_minority_fails_fast)
{
    struct fake *f = fake_start(3);
    recall_conn *c = NULL;
    uint64_t t0;

    fake_kill(f, 1, false);
    fake_kill(f, 2, false);
    t0 = ms_now();
    ck_assert_int_eq(recall_connect(fake_conninfo(f, "user=u;connect_timeout=5"), &c), RECALL_ERROR);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_lt(ms_now() - t0, 2000); /* refused connections fail fast */
    ck_assert_int_eq(recall_errcode(c), RECALL_E_CONNECT);
    ck_assert_str_eq(recall_sqlstate(c), "08001");
    ck_assert_int_eq(recall_usable(c), 0);
    ck_assert_ptr_nonnull(strstr(recall_errmsg(c), "replica 1"));
    ck_assert_ptr_nonnull(strstr(recall_errmsg(c), "replica 2"));
    /* Every call on it fails cleanly. */
    ck_assert_int_eq(recall_exec(c, "SELECT 1"), RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_CONNECT);
    recall_close(c);
    fake_stop(f);
}
END_TEST

START_TEST(test_connect_auth_and_cluster_mismatch)
{
    struct fake *f = fake_start(3);
    recall_conn *c = NULL;
    char info[512];
    unsigned p0, p1, p2;

    ck_assert_int_eq(recall_connect(fake_conninfo(f, "user=bad;password=x"), &c), RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_AUTH);
    ck_assert_str_eq(recall_sqlstate(c), "28000");
    ck_assert_ptr_nonnull(strstr(recall_errmsg(c), "Access denied"));
    ck_assert_int_eq(recall_usable(c), 0);
    recall_close(c);

    /* The same replicas in another order are another cluster. */
    p0 = f->r[0].port, p1 = f->r[1].port, p2 = f->r[2].port;
    snprintf(info, sizeof info, "replicas=127.0.0.1:%u,127.0.0.1:%u,127.0.0.1:%u;user=u", p1, p0, p2);
    ck_assert_int_eq(recall_connect(info, &c), RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_REJECTED);
    ck_assert_str_eq(recall_sqlstate(c), "08004");
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* ---- writes ---- */

START_TEST(test_write_needs_quorum)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, "request_timeout=0.6");

    /* PREPARED from the primary alone is one acknowledgement of two. */
    fake_lock(f);
    f->ack_mask = 0;
    f->no_committed = true;
    fake_unlock(f);
    ck_assert_int_eq(recall_exec(c, "INSERT INTO t VALUES (1)"), RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(recall_errmsg(c), "may still commit"));
    ck_assert_int_eq(recall_usable(c), 1);

    /* One backup's ACK on its own socket completes the quorum. */
    fake_lock(f);
    f->ack_mask = 1u << 2;
    fake_unlock(f);
    exec_ok(c, "INSERT INTO t VALUES (2)");

    /* The primary's COMMITTED alone is enough too. */
    fake_lock(f);
    f->ack_mask = 0;
    f->no_committed = false;
    fake_unlock(f);
    exec_ok(c, "INSERT INTO t VALUES (3)");
    recall_close(c);
    fake_stop(f);
}
END_TEST

START_TEST(test_write_quorum_of_five)
{
    struct fake *f = fake_start(5);
    recall_conn *c = connect_ok(f, "request_timeout=0.6");

    fake_lock(f);
    f->no_committed = true;
    f->ack_mask = 1u << 1; /* PREPARED + 1 ACK = 2 < 3 */
    fake_unlock(f);
    ck_assert_int_eq(recall_exec(c, "INSERT INTO t VALUES (1)"), RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_TIMEOUT);
    fake_lock(f);
    f->ack_mask = 1u << 1 | 1u << 3; /* 3 of 5 */
    fake_unlock(f);
    exec_ok(c, "INSERT INTO t VALUES (2)");
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* The primary dies after PREPARED: the client finds the new primary and
 * resends the same request id with RETRY; the saved result comes back. */
START_TEST(test_failover_retry_same_request)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);
    recall_stmt *s;
    int a, b;

    exec_ok(c, "INSERT INTO t VALUES (0)");
    fake_clear_log(f);
    fake_lock(f);
    f->ack_mask = 0;
    f->no_committed = true;
    f->crash_after_prepared = true;
    fake_unlock(f);
    s = recall_prepare(c, "INSERT INTO t VALUES (1)", RECALL_NTS);
    ck_assert_msg(recall_execute(s) == RECALL_OK, "%s", recall_errmsg(c));
    ck_assert_uint_eq(recall_affected_rows(s), 1);
    ck_assert_uint_eq(recall_last_insert_id(s), 2);
    recall_stmt_free(s);
    a = find_rec(f, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 0);
    b = find_rec(f, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 1);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(b, 0);
    ck_assert_int_eq(f->log[a].replica, 0);
    ck_assert_int_eq(f->log[b].replica, 1);
    ck_assert_uint_eq(f->log[a].req, f->log[b].req);
    ck_assert(!(f->log[a].flags & PROTO_EXEC_RETRY));
    ck_assert(f->log[b].flags & PROTO_EXEC_RETRY);
    ck_assert_int_eq(find_rec(f, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 2), -1);
    ck_assert_uint_eq(f->log_op, 2); /* executed once */
    ck_assert_int_eq(recall_primary(c), 1);

    /* The primary dies before executing: the retry executes, once. */
    fake_revive(f, 0); /* back as a backup, so that a majority remains */
    fake_clear_log(f);
    fake_lock(f);
    f->ack_mask = ~0u;
    f->no_committed = false;
    f->crash_before_write = true;
    fake_unlock(f);
    exec_ok(c, "INSERT INTO t VALUES (2)");
    a = find_rec(f, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 0);
    b = find_rec(f, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 1);
    ck_assert_int_ge(b, 0);
    ck_assert_uint_eq(f->log[a].req, f->log[b].req);
    ck_assert(f->log[b].flags & PROTO_EXEC_RETRY);
    ck_assert_int_eq(f->log[b].replica, 2);
    ck_assert_uint_eq(f->log_op, 3);
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* A write that committed but whose RESULT was lost is asked for again
 * under the same id; the saved result answers. */
START_TEST(test_lost_result_asked_again)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);
    recall_stmt *s = recall_prepare(c, "INSERT INTO t VALUES (1)", RECALL_NTS);
    int a, b;

    fake_lock(f);
    f->no_result_once = true;
    fake_unlock(f);
    ck_assert_msg(recall_execute(s) == RECALL_OK, "%s", recall_errmsg(c));
    ck_assert_uint_eq(recall_affected_rows(s), 1);
    ck_assert_uint_eq(recall_last_insert_id(s), 1);
    a = find_rec(f, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 0);
    b = find_rec(f, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT | PROTO_EXEC_RETRY, 0);
    ck_assert_int_ge(b, 0);
    ck_assert_uint_eq(f->log[a].req, f->log[b].req);
    ck_assert_uint_eq(f->log_op, 1);
    recall_stmt_free(s);
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* DDL is acknowledged when logged but answered only after it ran: the
 * acknowledgements must not end the call, nor look like a lost RESULT. */
START_TEST(test_ddl_waits_for_final_result)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);
    uint64_t t0;
    int k, d;

    fake_lock(f);
    f->ddl_delay_ms = 300;
    fake_unlock(f);
    t0 = ms_now();
    exec_ok(c, "CREATE TABLE x (a INT)");
    ck_assert_uint_ge(ms_now() - t0, 250);
    ck_assert_int_eq(fake_count(f, -1, MSG_EXEC, PROTO_EXEC_RETRY, 0), 0);
    ck_assert_int_eq(fake_count(f, -1, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 0), 1);

    /* DDL commits an open transaction first, as MySQL does. */
    fake_lock(f);
    f->ddl_delay_ms = 0;
    fake_unlock(f);
    fake_clear_log(f);
    ck_assert_int_eq(recall_set_autocommit(c, 0), RECALL_OK);
    exec_ok(c, "INSERT INTO x VALUES (1)");
    exec_ok(c, "DROP TABLE x");
    ck_assert_int_eq(recall_in_transaction(c), 0);
    k = find_rec(f, MSG_TXN, FAKE_TXN(TXN_COMMIT), 0);
    d = find_rec(f, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 0);
    ck_assert(k >= 0 && d > k);
    ck_assert_str_eq(f->log[d].sql, "DROP TABLE x");
    recall_close(c);
    fake_stop(f);
}
END_TEST

START_TEST(test_not_primary_redirect)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);
    int a, b;

    exec_ok(c, "INSERT INTO t VALUES (0)");
    fake_clear_log(f);
    fake_lock(f);
    f->not_primary_once = true; /* the view moves to 1 and 0 says so */
    fake_unlock(f);
    exec_ok(c, "INSERT INTO t VALUES (1)");
    a = find_rec(f, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 0);
    b = find_rec(f, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 1);
    ck_assert_int_ge(b, 0);
    ck_assert_int_eq(f->log[b].replica, 1);
    ck_assert_uint_eq(f->log[a].req, f->log[b].req);
    ck_assert_int_eq(recall_primary(c), 1);
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* ---- reads ---- */

/* Every replica catches up. */
static void catch_up(struct fake *f)
{
    fake_lock(f);
    for (int i = 0; i < f->n; i++) {
        f->r[i].lag = false;
        if (!f->r[i].down)
            f->r[i].applied = f->r[i].op;
    }
    fake_unlock(f);
}

/* A reader whose idea of the replicas is stale picks a replica that lags:
 * the quorum verdict fences the read and the rows come from a snapshot
 * holding every acknowledged write. */
START_TEST(test_linearizable_read_fences)
{
    struct fake *f = fake_start(3);
    recall_conn *reader = connect_ok(f, NULL), *writer = connect_ok(f, NULL);
    int fenced = 0;

    for (int round = 0; round < 3; round++) {
        exec_ok(writer, "INSERT INTO t VALUES (1)");
        catch_up(f);
        for (int i = 0; i < 3; i++) /* the reader sees everyone caught up */
            query_int(reader, "SELECT 1", 0);
        fake_lock(f);
        f->r[1].lag = f->r[2].lag = true;
        fake_unlock(f);
        exec_ok(writer, "INSERT INTO t VALUES (2)");
        fake_clear_log(f);
        for (int i = 0; i < 2; i++) {
            recall_stmt *s = recall_prepare(reader, "SELECT applied", RECALL_NTS);
            ck_assert_msg(recall_execute(s) == RECALL_OK, "%s", recall_errmsg(reader));
            ck_assert_int_eq(recall_fetch(s), RECALL_ROW);
            ck_assert_int_eq(recall_value_int64(s, 0), 2 * round + 2); /* the latest op */
            ck_assert_int_eq(recall_value_int64(s, 1), 0);             /* at the primary */
            recall_stmt_free(s);
        }
        fake_lock(f);
        for (int i = 0; i < f->nlog; i++)
            fenced += f->log[i].type == MSG_EXEC && f->log[i].fence == (uint64_t)(2 * round + 2);
        fake_unlock(f);
    }
    ck_assert_int_gt(fenced, 0); /* at least one read was fenced and retried */
    recall_close(reader);
    recall_close(writer);
    fake_stop(f);
}
END_TEST

/* A backup claiming a log far ahead (a deposed primary's inflated L) cannot
 * stall reads: bounded fences, then READ_INDEX at the primary. */
START_TEST(test_read_index_fallback)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);

    exec_ok(c, "INSERT INTO t VALUES (1)");
    fake_lock(f);
    f->r[1].inflate_op = 100;
    f->r[2].inflate_op = 100;
    fake_unlock(f);
    ck_assert_int_eq(query_int(c, "SELECT applied", 0), 1);
    ck_assert_int_ge(fake_count(f, 0, MSG_EXEC, PROTO_EXEC_READ | PROTO_EXEC_READ_INDEX, 0), 1);
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* A majority out of normal status (diverged, recovering) cannot confirm a
 * quorum read: it goes to the primary with a ReadIndex round at once. */
START_TEST(test_read_with_minority_normal)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);
    uint64_t t0;

    exec_ok(c, "INSERT INTO t VALUES (1)");
    fake_lock(f);
    f->r[1].status = f->r[2].status = STATUS_DIVERGED;
    fake_unlock(f);
    fake_clear_log(f);
    t0 = ms_now();
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(query_int(c, "SELECT applied", 0), 1);
    ck_assert_uint_lt(ms_now() - t0, 2000);
    ck_assert_int_le(fake_count(f, -1, MSG_PROBE, 0, 0), 5 * 3); /* one round per read */
    ck_assert_int_ge(fake_count(f, 0, MSG_EXEC, PROTO_EXEC_READ | PROTO_EXEC_READ_INDEX, 0), 5);
    recall_close(c);
    fake_stop(f);
}
END_TEST

START_TEST(test_session_and_any_fences)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, "read_consistency=session");
    int i;

    exec_ok(c, "INSERT INTO t VALUES (1)");
    exec_ok(c, "INSERT INTO t VALUES (2)");
    fake_clear_log(f);
    ck_assert_int_eq(query_int(c, "SELECT applied", 0), 2);
    i = find_rec(f, MSG_EXEC, PROTO_EXEC_READ, 0);
    ck_assert_int_ge(i, 0);
    ck_assert_uint_eq(f->log[i].fence, 2);
    ck_assert_int_eq(fake_count(f, -1, MSG_PROBE, 0, 0), 0); /* no quorum round */

    ck_assert_int_eq(recall_set_consistency(c, RECALL_ANY), RECALL_OK);
    fake_clear_log(f);
    query_int(c, "SELECT 1", 0);
    i = find_rec(f, MSG_EXEC, PROTO_EXEC_READ, 0);
    ck_assert_uint_eq(f->log[i].fence, 0);

    /* A session read skips a replica behind the fence. */
    ck_assert_int_eq(recall_set_consistency(c, RECALL_SESSION), RECALL_OK);
    fake_lock(f);
    f->r[1].lag = f->r[2].lag = true;
    fake_unlock(f);
    exec_ok(c, "INSERT INTO t VALUES (3)");
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(query_int(c, "SELECT applied", 0), 3);
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* ---- streaming ---- */

START_TEST(test_streaming_bounded)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, "fetch_rows=100");
    recall_stmt *s = recall_prepare(c, "SELECT n 2500", RECALL_NTS);
    int64_t i = 0;
    int rc;

    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_int_eq(recall_column_count(s), 4);
    ck_assert_str_eq(recall_column_name(s, 1), "name");
    ck_assert_int_eq(recall_column_type(s, 0), RECALL_TYPE_BIGINT);
    ck_assert_str_eq(recall_column_decltype(s, 0), "BIGINT");
    ck_assert_str_eq(recall_column_table(s, 0), "t");
    ck_assert_str_eq(recall_column_database(s, 0), "test");
    while ((rc = recall_fetch(s)) == RECALL_ROW) {
        char want[32];
        size_t len;
        const char *t;
        ck_assert_int_eq(recall_value_int64(s, 0), i);
        snprintf(want, sizeof want, "row %lld", (long long)i);
        t = recall_value_text(s, 1, &len);
        ck_assert_str_eq(t, want);
        ck_assert_uint_eq(len, strlen(want));
        ck_assert(recall_value_double(s, 2) == (double)i * 0.5);
        ck_assert_int_eq(recall_value_is_null(s, 3), i % 3 == 0);
        /* Never more than one chunk asked for ahead of the reader. */
        ck_assert_int_le(fake_count(f, -1, MSG_FETCH, 0, 0), (int)(i / 100) + 1);
        i++;
    }
    ck_assert_int_eq(rc, RECALL_DONE);
    ck_assert_int_eq(i, 2500);
    ck_assert_int_eq(fake_count(f, -1, MSG_FETCH, 0, 0), 24);
    ck_assert_int_eq(recall_fetch(s), RECALL_DONE);

    /* Freeing mid-stream closes the cursor at the replica. */
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    for (int k = 0; k < 150; k++)
        ck_assert_int_eq(recall_fetch(s), RECALL_ROW);
    recall_stmt_free(s);
    ck_assert(fake_wait_count(f, -1, MSG_CLOSE, 0, 1, 10000));
    recall_close(c);
    fake_stop(f);
}
END_TEST

START_TEST(test_one_open_result_per_connection)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, "fetch_rows=50");
    recall_stmt *a = recall_prepare(c, "SELECT n 1000", RECALL_NTS);
    int k = 0;

    ck_assert_int_eq(recall_execute(a), RECALL_OK);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(recall_fetch(a), RECALL_ROW);
    ck_assert_int_eq(query_int(c, "SELECT 1", 0), 1);
    /* a's buffered rows stay readable, then the fetch says it was cut. */
    while (recall_fetch(a) == RECALL_ROW)
        k++;
    ck_assert_int_lt(k, 990);
    ck_assert_int_eq(recall_stmt_errcode(a), RECALL_E_STATE);
    ck_assert_str_eq(recall_stmt_sqlstate(a), "HY010");
    ck_assert(fake_wait_count(f, -1, MSG_CLOSE, 0, 1, 10000));
    recall_stmt_free(a);
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* ---- transactions ---- */

START_TEST(test_transaction_autocommit_off)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, "request_timeout=0.6");
    int i;

    ck_assert_int_eq(recall_set_autocommit(c, 0), RECALL_OK);
    ck_assert_int_eq(recall_in_transaction(c), 0);
    fake_clear_log(f);
    exec_ok(c, "INSERT INTO t VALUES (1)");
    ck_assert_int_eq(recall_in_transaction(c), 1);
    exec_ok(c, "SELECT 1");
    exec_ok(c, "UPDATE t SET a = 2");
    ck_assert_int_eq(fake_count(f, 0, MSG_EXEC, 0, PROTO_EXEC_CONTINUE), 1);
    ck_assert_int_eq(fake_count(f, 0, MSG_EXEC, PROTO_EXEC_CONTINUE, 0), 2);
    ck_assert_int_eq(fake_count(f, -1, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 0), 0);
    ck_assert_int_eq(fake_count(f, -1, MSG_EXEC, PROTO_EXEC_READ, 0), 0);
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    ck_assert_int_eq(recall_in_transaction(c), 0);
    ck_assert_int_eq(fake_count(f, 0, MSG_TXN, FAKE_TXN(TXN_COMMIT) | PROTO_TXN_CONTINUE, 0), 1);

    /* COMMIT is counted like a write: without a quorum it does not return. */
    exec_ok(c, "INSERT INTO t VALUES (3)");
    fake_lock(f);
    f->ack_mask = 0;
    f->no_committed = true;
    fake_unlock(f);
    ck_assert_int_eq(recall_commit(c), RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_TIMEOUT);
    fake_lock(f);
    f->ack_mask = ~0u;
    f->no_committed = false;
    fake_unlock(f);

    /* A transaction that only read commits with a RESULT. */
    exec_ok(c, "SELECT 1");
    ck_assert_int_eq(recall_rollback(c), RECALL_OK);
    exec_ok(c, "SELECT 1");
    ck_assert_int_eq(recall_commit(c), RECALL_OK);

    /* Turning autocommit on commits. */
    exec_ok(c, "INSERT INTO t VALUES (4)");
    i = fake_count(f, -1, MSG_TXN, FAKE_TXN(TXN_COMMIT), 0);
    ck_assert_int_eq(recall_set_autocommit(c, 1), RECALL_OK);
    ck_assert_int_eq(fake_count(f, -1, MSG_TXN, FAKE_TXN(TXN_COMMIT), 0), i + 1);
    ck_assert_int_eq(recall_in_transaction(c), 0);
    recall_close(c);
    fake_stop(f);
}
END_TEST

START_TEST(test_transaction_sql_text)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);
    int before;

    before = fake_count(f, -1, MSG_EXEC, 0, 0);
    exec_ok(c, "BEGIN");
    ck_assert_int_eq(recall_in_transaction(c), 1);
    ck_assert_int_eq(fake_count(f, -1, MSG_EXEC, 0, 0), before); /* lazily opened */
    exec_ok(c, "INSERT INTO t VALUES (1)");
    ck_assert_int_eq(fake_count(f, -1, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 0), 0);
    exec_ok(c, "COMMIT");
    ck_assert_int_eq(recall_in_transaction(c), 0);
    ck_assert_int_eq(fake_count(f, 0, MSG_TXN, FAKE_TXN(TXN_COMMIT), 0), 1);

    exec_ok(c, "SET autocommit=0");
    ck_assert_int_eq(recall_get_autocommit(c), 0);
    exec_ok(c, "SET autocommit=1");
    ck_assert_int_eq(recall_get_autocommit(c), 1);

    /* START TRANSACTION READ ONLY opens a read-only snapshot at a replica. */
    fake_clear_log(f);
    exec_ok(c, "START TRANSACTION READ ONLY");
    ck_assert_int_eq(query_int(c, "SELECT 1", 0), 1);
    ck_assert_int_eq(fake_count(f, -1, MSG_TXN, FAKE_TXN(TXN_BEGIN) | PROTO_TXN_READ_ONLY, 0), 1);
    exec_ok(c, "ROLLBACK");
    ck_assert_int_eq(recall_in_transaction(c), 0);

    /* Isolation below REPEATABLE READ is refused. */
    ck_assert_int_eq(recall_exec(c, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"), RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_REFUSED);
    recall_close(c);
    fake_stop(f);
}
END_TEST

START_TEST(test_read_only_transaction)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);
    int b, r1, r2, cm;

    exec_ok(c, "INSERT INTO t VALUES (1)");
    ck_assert_int_eq(recall_set_read_only(c, 1), RECALL_OK);
    ck_assert_int_eq(recall_begin(c), RECALL_OK);
    ck_assert_int_eq(recall_begin(c), RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_STATE);
    fake_clear_log(f);
    ck_assert_int_eq(query_int(c, "SELECT applied", 0), 1);
    ck_assert_int_eq(query_int(c, "SELECT applied", 0), 1);
    ck_assert_int_eq(recall_set_read_only(c, 0), RECALL_ERROR); /* not while open */
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    b = find_rec(f, MSG_TXN, FAKE_TXN(TXN_BEGIN) | PROTO_TXN_READ_ONLY, 0);
    r1 = find_rec(f, MSG_EXEC, PROTO_EXEC_READ | PROTO_EXEC_CONTINUE, 0);
    r2 = find_rec(f, MSG_EXEC, PROTO_EXEC_READ | PROTO_EXEC_CONTINUE, 1);
    cm = find_rec(f, MSG_TXN, FAKE_TXN(TXN_COMMIT), 0);
    ck_assert(b >= 0 && r1 > b && r2 > r1 && cm > r2);
    ck_assert_int_eq(f->log[r1].replica, f->log[b].replica);
    ck_assert_int_eq(f->log[r2].replica, f->log[b].replica);
    ck_assert_int_eq(f->log[cm].replica, f->log[b].replica);
    ck_assert_int_gt(fake_count(f, -1, MSG_PROBE, 0, 0), 0); /* quorum-checked */
    recall_close(c);
    fake_stop(f);
}
END_TEST

START_TEST(test_transaction_failover)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);

    ck_assert_int_eq(recall_set_autocommit(c, 0), RECALL_OK);
    exec_ok(c, "INSERT INTO t VALUES (1)");
    fake_kill(f, 0, true);
    ck_assert_int_eq(recall_exec(c, "INSERT INTO t VALUES (2)"), RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_FAILOVER);
    ck_assert_str_eq(recall_sqlstate(c), "40001");
    ck_assert_int_eq(recall_usable(c), 1);
    ck_assert_int_eq(recall_in_transaction(c), 0);
    /* The next statement starts afresh at the new primary. */
    exec_ok(c, "INSERT INTO t VALUES (3)");
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    ck_assert_int_eq(recall_primary(c), 1);
    /* A transaction rolled back by the replica (CONTINUE refused) too. */
    exec_ok(c, "INSERT INTO t VALUES (4)");
    fake_lock(f);
    for (int i = 0; i < FAKE_MAX_CONNS; i++)
        if (f->conns[i])
            f->conns[i]->txn = false;
    fake_unlock(f);
    ck_assert_int_eq(recall_exec(c, "INSERT INTO t VALUES (5)"), RECALL_ERROR);
    ck_assert_str_eq(recall_sqlstate(c), "40001");
    ck_assert_int_eq(recall_in_transaction(c), 0);
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* ---- session statements ---- */

START_TEST(test_session_statements_replayed)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);
    uint64_t until;

    exec_ok(c, "SET NAMES utf8mb4");
    ck_assert(fake_wait_count(f, -1, MSG_EXEC, PROTO_EXEC_SESSION, 3, 10000));
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fake_count(f, i, MSG_EXEC, PROTO_EXEC_SESSION, 0), 1);
    fake_kill(f, 2, false);
    exec_ok(c, "INSERT INTO t VALUES (1)");
    fake_revive(f, 2);
    /* The library reconnects in the background of later calls and replays
     * the session before replica 2 serves anything. */
    until = ms_now() + 5000;
    while (fake_count(f, 2, MSG_EXEC, PROTO_EXEC_SESSION, 0) < 2 && ms_now() < until) {
        exec_ok(c, "SELECT 1");
        sleep_ms(20);
    }
    ck_assert_int_eq(fake_count(f, 2, MSG_EXEC, PROTO_EXEC_SESSION, 0), 2);

    /* A replica that does not answer a session statement in time is
     * disconnected (its session may or may not have it); the statement
     * stands since the others took it, and is replayed there. */
    fake_lock(f);
    f->stall_session = 1u << 1;
    fake_unlock(f);
    ck_assert_int_eq(recall_set_request_timeout(c, 300), RECALL_OK);
    exec_ok(c, "SET sql_mode = 'ANSI'");
    fake_lock(f);
    f->stall_session = 0;
    fake_unlock(f);
    until = ms_now() + 2000;
    for (;;) {
        unsigned closed;
        fake_lock(f);
        closed = f->r[1].closed_by_client;
        fake_unlock(f);
        if (closed || ms_now() > until)
            break;
        sleep_ms(10);
    }
    fake_lock(f);
    ck_assert_uint_ge(f->r[1].closed_by_client, 1);
    fake_unlock(f);
    until = ms_now() + 5000;
    while (fake_count(f, 1, MSG_EXEC, PROTO_EXEC_SESSION, 0) < 4 && ms_now() < until) {
        exec_ok(c, "SELECT 1");
        sleep_ms(20);
    }
    /* NAMES, then sql_mode (stalled), then the replay of both */
    ck_assert_int_eq(fake_count(f, 1, MSG_EXEC, PROTO_EXEC_SESSION, 0), 4);
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* ---- cancel ---- */

struct canceller {
    recall_conn *c;
    unsigned after_ms;
};

static void *cancel_main(void *arg)
{
    struct canceller *k = arg;
    sleep_ms(k->after_ms);
    recall_cancel(k->c);
    return NULL;
}

START_TEST(test_cancel)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, "request_timeout=0.8");
    struct canceller k = {c, 100};
    pthread_t th;
    uint64_t t0;

    /* A read is abandoned at once. */
    fake_lock(f);
    f->stall_reads = true;
    fake_unlock(f);
    pthread_create(&th, NULL, cancel_main, &k);
    t0 = ms_now();
    ck_assert_int_eq(recall_exec(c, "SELECT 1"), RECALL_ERROR);
    pthread_join(th, NULL);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_CANCELED);
    ck_assert_str_eq(recall_sqlstate(c), "HY008");
    ck_assert_uint_lt(ms_now() - t0, 3000); /* CANCELED, not TIMEOUT, is the proof */
    ck_assert_int_eq(recall_usable(c), 1);
    fake_lock(f);
    f->stall_reads = false;
    fake_unlock(f);
    ck_assert_int_eq(query_int(c, "SELECT 1", 0), 1);

    /* A write already sent is not abandoned: its outcome comes back. */
    fake_lock(f);
    f->ack_delay_ms = 300;
    fake_unlock(f);
    pthread_create(&th, NULL, cancel_main, &k);
    t0 = ms_now();
    exec_ok(c, "INSERT INTO t VALUES (1)");
    pthread_join(th, NULL);
    ck_assert_uint_ge(ms_now() - t0, 250);

    /* No outcome within the request timeout: reported as unknown. */
    fake_lock(f);
    f->ack_delay_ms = 0;
    f->stall_writes = true;
    fake_unlock(f);
    pthread_create(&th, NULL, cancel_main, &k);
    ck_assert_int_eq(recall_exec(c, "INSERT INTO t VALUES (2)"), RECALL_ERROR);
    pthread_join(th, NULL);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_CANCELED);
    ck_assert_ptr_nonnull(strstr(recall_errmsg(c), "may or may not have committed"));

    /* A cancel between calls does not hit the next call. */
    fake_lock(f);
    f->stall_writes = false;
    fake_unlock(f);
    recall_cancel(c);
    exec_ok(c, "INSERT INTO t VALUES (3)");
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* A replica that answered the read's status probe and was then cut off
 * from the client (the read and later probes lost, the connection still
 * up) is passed over after the hedge delay, and the read completes at
 * another replica.  Regression: a replica that had answered its probe was
 * taken for one running a slow query and waited for until the request
 * timeout (seen in a fault test: HYT00 after 5 s). */
START_TEST(test_read_passes_over_replica_cut_off_mid_read)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, "request_timeout=8");
    int primary = -1;

    fake_lock(f);
    for (int i = 0; i < 3; i++)
        if (f->r[i].view % 3 == (uint64_t)i)
            primary = i;
    fake_unlock(f);
    /* every read starts at the next replica in turn: each meets a cut one */
    for (int round = 0; round < 3; round++) {
        uint64_t t0;
        fake_lock(f);
        for (int i = 0; i < 3; i++) {
            f->r[i].cut_off = i != primary;
            f->r[i].probes_left = 1;
        }
        fake_unlock(f);
        t0 = ms_now();
        ck_assert_int_eq(query_int(c, "SELECT 1", 0), 1);
        ck_assert_msg(ms_now() - t0 < 3000, "round %d: the read took %llu ms", round,
                      (unsigned long long)(ms_now() - t0));
    }
    fake_lock(f);
    for (int i = 0; i < 3; i++)
        f->r[i].cut_off = false;
    fake_unlock(f);
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* A read-only transaction whose replica is cut off from the client after
 * it began (statements and probes lost, the connection still up) fails over
 * at once (40001, retry the transaction) instead of waiting for the request
 * timeout (regression: a fault test saw HYT00 after 5 s). */
START_TEST(test_read_only_txn_fails_over_from_cut_off_replica)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, "request_timeout=8");
    uint64_t t0;
    int b, x;

    ck_assert_int_eq(recall_set_read_only(c, 1), RECALL_OK);
    ck_assert_int_eq(recall_begin(c), RECALL_OK);
    fake_clear_log(f);
    ck_assert_int_eq(query_int(c, "SELECT 1", 0), 1);
    b = find_rec(f, MSG_TXN, FAKE_TXN(TXN_BEGIN) | PROTO_TXN_READ_ONLY, 0);
    ck_assert_int_ge(b, 0);
    fake_lock(f);
    x = f->log[b].replica;
    f->r[x].cut_off = true;
    f->r[x].probes_left = 0;
    fake_unlock(f);
    t0 = ms_now();
    ck_assert_int_eq(recall_exec(c, "SELECT 2"), RECALL_ERROR);
    ck_assert_msg(ms_now() - t0 < 3000, "failed after %llu ms", (unsigned long long)(ms_now() - t0));
    ck_assert_int_eq(recall_errcode(c), RECALL_E_FAILOVER);
    ck_assert_str_eq(recall_sqlstate(c), "40001");
    ck_assert_int_eq(recall_usable(c), 1);
    /* the next transaction runs elsewhere */
    ck_assert_int_eq(recall_begin(c), RECALL_OK);
    ck_assert_int_eq(query_int(c, "SELECT 1", 0), 1);
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    fake_lock(f);
    f->r[x].cut_off = false;
    fake_unlock(f);
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* X's log end in its RESULT has grown past what it applied since its
 * probe reply (a busy primary); the probe reply, sent after the read
 * began, bounds the acknowledged writes well enough: no fenced retry.
 * Regression: every read at a busy replica was fenced again and again. */
START_TEST(test_read_bounds_by_probe_not_growing_log)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);
    int fenced = 0;

    exec_ok(c, "INSERT INTO t VALUES (1)");
    catch_up(f);
    query_int(c, "SELECT 1", 0); /* everyone seen caught up */
    fake_lock(f);
    for (int i = 0; i < 3; i++)
        f->r[i].result_extra_op = 1;
    fake_unlock(f);
    fake_clear_log(f);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(query_int(c, "SELECT 1", 0), 1);
    fake_lock(f);
    for (int i = 0; i < f->nlog; i++)
        fenced += f->log[i].type == MSG_EXEC && f->log[i].fence > f->r[0].applied;
    for (int i = 0; i < 3; i++)
        f->r[i].result_extra_op = 0;
    fake_unlock(f);
    ck_assert_int_eq(fenced, 0); /* no read asked for more than is applied */
    ck_assert_int_eq(fake_count(f, -1, MSG_EXEC, 0, 0), 6); /* one try each */
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* ---- hostile replicas ---- */

static const enum fake_hostile hostile_modes[] = {
    FH_GARBAGE, FH_HUGE, FH_UNEXPECTED, FH_LIE_STATUS, FH_WRONG_REQ, FH_SILENT, FH_BAD_CELLS,
    FH_PARTIAL, FH_HIGH_VIEW};

START_TEST(test_hostile_replica)
{
    enum fake_hostile mode = hostile_modes[_i];
    struct fake *f = fake_start(3);
    recall_conn *c;
    uint64_t until;
    int ok = 0;

    fake_lock(f);
    f->r[2].hostile = mode;
    fake_unlock(f);
    c = connect_ok(f, "connect_timeout=1;request_timeout=2");
    for (int i = 0; i < 3; i++)
        exec_ok(c, "INSERT INTO t VALUES (1)");
    for (int i = 0; i < 6; i++) {
        recall_stmt *s = recall_prepare(c, "SELECT applied", RECALL_NTS);
        if (recall_execute(s) == RECALL_OK) {
            ck_assert_int_eq(recall_fetch(s), RECALL_ROW);
            ck_assert_int_eq(recall_value_int64(s, 0), 3);
            ok++;
        } else {
            /* Only a replica that answers with half a frame can make a
             * read wait for the request timeout; it is then dropped. */
            ck_assert_int_eq(mode, FH_PARTIAL);
            ck_assert_int_eq(recall_errcode(c), RECALL_E_TIMEOUT);
            ck_assert_int_eq(recall_usable(c), 1);
        }
        recall_stmt_free(s);
    }
    ck_assert_int_ge(ok, 3);
    if (mode == FH_HIGH_VIEW) {
        /* Nothing to hang up on, but it never became the primary. */
        ck_assert_int_eq(recall_primary(c), 0);
        exec_ok(c, "INSERT INTO t VALUES (2)");
        ck_assert_int_eq(fake_count(f, 2, MSG_EXEC, PROTO_EXEC_AUTOCOMMIT, 0), 0);
        recall_close(c);
        fake_stop(f);
        return;
    }
    /* The library hung up on the liar (the silent one times out). */
    until = ms_now() + 6000;
    while (ms_now() < until) {
        unsigned closed;
        fake_lock(f);
        closed = f->r[2].closed_by_client;
        fake_unlock(f);
        if (closed)
            break;
        exec_ok(c, "SELECT 1");
        sleep_ms(20);
    }
    fake_lock(f);
    ck_assert_msg(f->r[2].closed_by_client > 0, "mode %d: link to the hostile replica kept", mode);
    fake_unlock(f);
    exec_ok(c, "INSERT INTO t VALUES (2)");
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* ---- values, errors, parameters ---- */

START_TEST(test_values_and_errors)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);
    recall_stmt *s = recall_prepare(c, "SELECT types", RECALL_NTS);
    size_t len;

    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_int_eq(recall_value_type(s, 0), RECALL_VALUE_NULL); /* no row yet */
    ck_assert_int_eq(recall_fetch(s), RECALL_ROW);
    ck_assert_int_eq(recall_value_type(s, 0), RECALL_VALUE_INT);
    ck_assert_int_eq(recall_value_int64(s, 0), -5);
    ck_assert_uint_eq(recall_value_uint64(s, 0), 0);
    ck_assert_str_eq(recall_value_text(s, 0, &len), "-5");
    ck_assert_uint_eq(len, 2);
    ck_assert_int_eq(recall_value_type(s, 1), RECALL_VALUE_UINT);
    ck_assert_int_eq(recall_value_int64(s, 1), INT64_MAX);
    ck_assert_uint_eq(recall_value_uint64(s, 1), UINT64_MAX);
    ck_assert_str_eq(recall_value_text(s, 1, NULL), "18446744073709551615");
    ck_assert_int_eq(recall_value_int64(s, 2), 2);
    ck_assert_str_eq(recall_value_text(s, 2, NULL), "2.5");
    ck_assert_int_eq(recall_value_int64(s, 3), 12);
    ck_assert(recall_value_double(s, 3) == 12.0);
    ck_assert_int_eq(recall_value_type(s, 4), RECALL_VALUE_BLOB);
    ck_assert(!memcmp(recall_value_blob(s, 4, &len), "\0\1", 2));
    ck_assert_uint_eq(len, 2);
    ck_assert_int_eq(recall_value_is_null(s, 5), 1);
    ck_assert_ptr_null(recall_value_text(s, 5, &len));
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(recall_value_int64(s, 5), 0);
    ck_assert_int_eq(recall_value_int64(s, 6), -390);
    ck_assert_uint_eq(recall_value_uint64(s, 6), 0);
    ck_assert_int_eq(recall_value_int64(s, 7), INT64_MAX);
    ck_assert_str_eq(recall_value_text(s, 7, NULL), "1e+300");
    ck_assert_int_eq(recall_value_int64(s, 8), 42);
    ck_assert_int_eq(recall_value_is_null(s, 9), 1); /* out of range */
    ck_assert_int_eq(recall_fetch(s), RECALL_DONE);
    recall_stmt_free(s);

    s = recall_prepare(c, "SELECT err", RECALL_NTS);
    ck_assert_int_eq(recall_execute(s), RECALL_ERROR);
    ck_assert_int_eq(recall_stmt_errcode(s), RECALL_E_SQL);
    ck_assert_str_eq(recall_stmt_sqlstate(s), "42S02");
    ck_assert_int_eq(recall_stmt_native_error(s), 1146);
    ck_assert_ptr_nonnull(strstr(recall_stmt_errmsg(s), "doesn't exist"));
    ck_assert_str_eq(recall_sqlstate(c), "42S02"); /* copied to the connection */
    ck_assert_int_eq(recall_usable(c), 1);
    ck_assert_int_eq(recall_fetch(s), RECALL_ERROR);
    ck_assert_int_eq(recall_stmt_errcode(s), RECALL_E_STATE);
    recall_stmt_free(s);

    /* An error from a replica counts only once the replica is known to be
     * recent enough: here X could be behind a write made elsewhere, so the
     * read is repeated with a fence before the error is returned. */
    {
        recall_conn *w = connect_ok(f, NULL);
        int a, b;
        exec_ok(w, "INSERT INTO t VALUES (1)");
        recall_close(w);
        fake_clear_log(f);
        ck_assert_int_eq(recall_exec(c, "SELECT err"), RECALL_ERROR);
        ck_assert_str_eq(recall_sqlstate(c), "42S02");
        a = find_rec(f, MSG_EXEC, PROTO_EXEC_READ, 0);
        b = find_rec(f, MSG_EXEC, PROTO_EXEC_READ, 1);
        ck_assert_int_ge(b, 0);
        ck_assert_uint_eq(f->log[a].fence, 0);
        ck_assert_uint_eq(f->log[b].fence, 1);
    }

    /* Refused statements never leave the client. */
    fake_clear_log(f);
    ck_assert_int_eq(recall_exec(c, "LOAD DATA INFILE '/etc/passwd' INTO TABLE t"), RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_REFUSED);
    ck_assert_str_eq(recall_sqlstate(c), "0A000");
    ck_assert_int_eq(fake_count(f, -1, MSG_EXEC, 0, 0), 0);
    ck_assert_int_eq(recall_exec(c, "  "), RECALL_ERROR);
    ck_assert_str_eq(recall_sqlstate(c), "42000");
    recall_close(c);
    fake_stop(f);
}
END_TEST

START_TEST(test_parameters)
{
    struct fake *f = fake_start(3);
    recall_conn *c = connect_ok(f, NULL);
    recall_stmt *s = recall_prepare(c, "INSERT INTO t VALUES (?, ?, ?, ?, '?', ?, ?)", RECALL_NTS);
    struct proto_list_value *p;

    ck_assert_int_eq(recall_param_count(s), 6);
    ck_assert_int_eq(recall_execute(s), RECALL_ERROR);
    ck_assert_str_eq(recall_stmt_sqlstate(s), "07002");
    ck_assert_int_eq(recall_bind_int64(s, 7, 1), RECALL_ERROR);
    ck_assert_str_eq(recall_stmt_sqlstate(s), "07009");
    ck_assert_int_eq(recall_bind_int64(s, 1, -7), RECALL_OK);
    ck_assert_int_eq(recall_bind_uint64(s, 2, UINT64_MAX), RECALL_OK);
    ck_assert_int_eq(recall_bind_double(s, 3, 1.25), RECALL_OK);
    ck_assert_int_eq(recall_bind_text(s, 4, "h\xc3\xa9 ' --", RECALL_NTS), RECALL_OK);
    ck_assert_int_eq(recall_bind_blob(s, 5, "\0x", 2), RECALL_OK);
    ck_assert_int_eq(recall_bind_null(s, 6), RECALL_OK);
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    fake_lock(f);
    p = &f->last_exec.u.exec.params;
    ck_assert_uint_eq(p->n, 6);
    ck_assert(p->v[0].type == PV_INT && p->v[0].v.i == -7);
    ck_assert(p->v[1].type == PV_UINT && p->v[1].v.u == UINT64_MAX);
    ck_assert(p->v[2].type == PV_DOUBLE && p->v[2].v.d == 1.25);
    ck_assert(p->v[3].type == PV_TEXT && !strcmp(p->v[3].v.p, "h\xc3\xa9 ' --"));
    ck_assert(p->v[4].type == PV_BLOB && p->v[4].len == 2 && !memcmp(p->v[4].v.p, "\0x", 2));
    ck_assert(p->v[5].type == PV_NULL);
    /* the text is sent as written: nothing interpolated */
    ck_assert_str_eq(f->last_exec.u.exec.sql.p, "INSERT INTO t VALUES (?, ?, ?, ?, '?', ?, ?)");
    fake_unlock(f);
    /* Bindings persist across executions. */
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    ck_assert_int_eq(recall_clear_bindings(s), RECALL_OK);
    ck_assert_int_eq(recall_execute(s), RECALL_ERROR);
    recall_stmt_free(s);
    ck_assert_int_eq(recall_exec(c, "SELECT ?"), RECALL_ERROR);
    ck_assert_str_eq(recall_sqlstate(c), "07002");
    recall_close(c);
    fake_stop(f);
}
END_TEST

/* ---- threads ---- */

struct worker {
    struct fake *f;
    int failures;
    char why[256];
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    recall_conn *c = NULL;
    char info[64];
    snprintf(info, sizeof info, "user=u;request_timeout=10");
    if (recall_connect(fake_conninfo(w->f, info), &c) != RECALL_OK) {
        snprintf(w->why, sizeof w->why, "connect: %s", c ? recall_errmsg(c) : "nomem");
        w->failures++;
        recall_close(c);
        return NULL;
    }
    for (int i = 0; i < 30; i++) {
        recall_stmt *s;
        if (recall_exec(c, "INSERT INTO t VALUES (1)") != RECALL_OK) {
            snprintf(w->why, sizeof w->why, "insert: %s", recall_errmsg(c));
            w->failures++;
        }
        s = recall_prepare(c, "SELECT n 5", RECALL_NTS);
        if (!s || recall_execute(s) != RECALL_OK) {
            snprintf(w->why, sizeof w->why, "select: %s", recall_errmsg(c));
            w->failures++;
        } else {
            int k = 0;
            while (recall_fetch(s) == RECALL_ROW)
                k++;
            if (k != 5)
                w->failures++;
        }
        recall_stmt_free(s);
    }
    recall_close(c);
    return NULL;
}

START_TEST(test_parallel_connections)
{
    struct fake *f = fake_start(3);
    struct worker w[8];
    pthread_t th[8];
    memset(w, 0, sizeof w);
    for (int i = 0; i < 8; i++) {
        w[i].f = f;
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(w[i].failures == 0, "thread %d: %s", i, w[i].why);
    }
    ck_assert_uint_eq(f->log_op, 240);
    fake_stop(f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("librecall");
    TCase *tc = tcase_create("fake cluster");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_connect_majority);
    tcase_add_test(tc, test_connect_minority_fails_fast);
    tcase_add_test(tc, test_connect_auth_and_cluster_mismatch);
    tcase_add_test(tc, test_write_needs_quorum);
    tcase_add_test(tc, test_write_quorum_of_five);
    tcase_add_test(tc, test_failover_retry_same_request);
    tcase_add_test(tc, test_lost_result_asked_again);
    tcase_add_test(tc, test_ddl_waits_for_final_result);
    tcase_add_test(tc, test_not_primary_redirect);
    tcase_add_test(tc, test_linearizable_read_fences);
    tcase_add_test(tc, test_read_index_fallback);
    tcase_add_test(tc, test_read_with_minority_normal);
    tcase_add_test(tc, test_session_and_any_fences);
    tcase_add_test(tc, test_streaming_bounded);
    tcase_add_test(tc, test_one_open_result_per_connection);
    tcase_add_test(tc, test_transaction_autocommit_off);
    tcase_add_test(tc, test_transaction_sql_text);
    tcase_add_test(tc, test_read_only_transaction);
    tcase_add_test(tc, test_transaction_failover);
    tcase_add_test(tc, test_session_statements_replayed);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_read_passes_over_replica_cut_off_mid_read);
    tcase_add_test(tc, test_read_only_txn_fails_over_from_cut_off_replica);
    tcase_add_test(tc, test_read_bounds_by_probe_not_growing_log);
    tcase_add_loop_test(tc, test_hostile_replica, 0,
                        (int)(sizeof hostile_modes / sizeof hostile_modes[0]));
    tcase_add_test(tc, test_values_and_errors);
    tcase_add_test(tc, test_parameters);
    tcase_add_test(tc, test_parallel_connections);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
