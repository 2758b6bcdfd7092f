/* librecall against a real local cluster: three recalld processes with the
 * SQLite backend, started with scripts/cluster in a private directory on a
 * private port.  Checks what only real replicas can show: DDL and writes
 * counted by quorum, the three read consistencies, transactions (read-write,
 * read-only, SQL text), a 100 000-row result streamed in chunks, the primary
 * killed in the middle of a stream of autocommit writes (every write
 * succeeds, exactly once), and a transaction lost to failover (40001).
 * Skipped when recalld has not been built. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recall.h"
#include "testhelp.h"

static char conninfo[512];
static char cluster_cmd[1024]; /* "... scripts/cluster" with RECALL_BUILD set */
static char cluster_dir[256];

static int cluster(const char *what)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s --dir %s >>%s/cluster.out 2>&1", cluster_cmd, what,
             cluster_dir, cluster_dir);
    return system(cmd);
}

static recall_conn *connect_ok(const char *extra)
{
    char info[768];
    recall_conn *c = NULL;
    snprintf(info, sizeof info, "%s%s%s", extra ? extra : "", extra ? ";" : "", conninfo);
    ck_assert_msg(recall_connect(info, &c) == RECALL_OK, "connect: %s",
                  c ? recall_errmsg(c) : "out of memory");
    return c;
}

static void exec_ok(recall_conn *c, const char *sql)
{
    ck_assert_msg(recall_exec(c, sql) == RECALL_OK, "%s: %s (%s)", sql, recall_errmsg(c),
                  recall_sqlstate(c));
}

static int64_t query_int(recall_conn *c, const char *sql)
{
    recall_stmt *s = recall_prepare(c, sql, RECALL_NTS);
    int64_t v;
    ck_assert_msg(recall_execute(s) == RECALL_OK, "%s: %s", sql, recall_errmsg(c));
    ck_assert_int_eq(recall_fetch(s), RECALL_ROW);
    v = recall_value_int64(s, 0);
    recall_stmt_free(s);
    return v;
}

START_TEST(test_writes_and_reads)
{
    recall_conn *c = connect_ok(NULL);
    recall_stmt *ins;
    const enum recall_consistency levels[] = {RECALL_LINEARIZABLE, RECALL_SESSION, RECALL_ANY};

    exec_ok(c, "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT, d REAL, b BLOB)");
    exec_ok(c, "CREATE TABLE tf (k INTEGER PRIMARY KEY)"); /* for the last test */
    ins = recall_prepare(c, "INSERT INTO kv (k, v, d, b) VALUES (?, ?, ?, ?)", RECALL_NTS);
    ck_assert_int_eq(recall_param_count(ins), 4);
    for (int i = 1; i <= 100; i++) {
        recall_bind_int64(ins, 1, i);
        recall_bind_text(ins, 2, "it's; -- not SQL", RECALL_NTS);
        recall_bind_double(ins, 3, i / 4.0);
        recall_bind_blob(ins, 4, "\0\1\2", 3);
        ck_assert_msg(recall_execute(ins) == RECALL_OK, "insert %d: %s", i, recall_errmsg(c));
        ck_assert_uint_eq(recall_affected_rows(ins), 1);
        ck_assert_uint_eq(recall_last_insert_id(ins), (uint64_t)i);
    }
    recall_stmt_free(ins);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(recall_set_consistency(c, levels[k]), RECALL_OK);
        for (int i = 0; i < 10; i++) {
            int64_t n = query_int(c, "SELECT count(*) FROM kv WHERE v = 'it''s; -- not SQL'");
            if (levels[k] == RECALL_ANY)
                ck_assert_int_le(n, 100);
            else
                ck_assert_int_eq(n, 100); /* read-your-writes at least */
        }
    }
    /* Values come back typed. */
    {
        recall_stmt *s = recall_prepare(c, "SELECT k, v, d, b, NULL FROM kv WHERE k = 3", RECALL_NTS);
        size_t len;
        ck_assert_int_eq(recall_execute(s), RECALL_OK);
        ck_assert_int_eq(recall_fetch(s), RECALL_ROW);
        ck_assert_int_eq(recall_value_type(s, 0), RECALL_VALUE_INT);
        ck_assert_str_eq(recall_value_text(s, 1, NULL), "it's; -- not SQL");
        ck_assert(recall_value_double(s, 2) == 0.75);
        ck_assert(!memcmp(recall_value_blob(s, 3, &len), "\0\1\2", 3) && len == 3);
        ck_assert_int_eq(recall_value_is_null(s, 4), 1);
        ck_assert_str_eq(recall_column_name(s, 1), "v");
        ck_assert_int_eq(recall_fetch(s), RECALL_DONE);
        recall_stmt_free(s);
    }
    /* Errors carry the database's SQLSTATE; the connection stays usable. */
    ck_assert_int_eq(recall_exec(c, "INSERT INTO kv (k) VALUES (1)"), RECALL_ERROR);
    ck_assert_str_eq(recall_sqlstate(c), "23000");
    ck_assert_int_eq(recall_usable(c), 1);
    ck_assert_int_eq(recall_exec(c, "SELECT * FROM no_such_table"), RECALL_ERROR);
    ck_assert_str_eq(recall_sqlstate(c), "42S02");
    ck_assert_int_eq(query_int(c, "SELECT 1"), 1);
    recall_close(c);
}
END_TEST

START_TEST(test_transactions)
{
    recall_conn *c = connect_ok(NULL);
    recall_conn *other = connect_ok(NULL);

    exec_ok(c, "CREATE TABLE acct (id INTEGER PRIMARY KEY, bal INTEGER)");
    exec_ok(c, "INSERT INTO acct VALUES (1, 100), (2, 0)");
    ck_assert_int_eq(recall_set_autocommit(c, 0), RECALL_OK);
    exec_ok(c, "UPDATE acct SET bal = bal - 10 WHERE id = 1");
    exec_ok(c, "UPDATE acct SET bal = bal + 10 WHERE id = 2");
    ck_assert_int_eq(query_int(c, "SELECT bal FROM acct WHERE id = 2"), 10); /* own writes */
    ck_assert_int_eq(query_int(other, "SELECT bal FROM acct WHERE id = 2"), 0); /* not yet */
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    ck_assert_int_eq(query_int(other, "SELECT bal FROM acct WHERE id = 2"), 10);
    exec_ok(c, "UPDATE acct SET bal = 0");
    ck_assert_int_eq(recall_rollback(c), RECALL_OK);
    ck_assert_int_eq(recall_set_autocommit(c, 1), RECALL_OK);
    ck_assert_int_eq(query_int(c, "SELECT sum(bal) FROM acct"), 100);

    /* As SQL text. */
    exec_ok(c, "BEGIN");
    exec_ok(c, "UPDATE acct SET bal = bal + 1 WHERE id = 1");
    exec_ok(c, "COMMIT");
    ck_assert_int_eq(query_int(other, "SELECT bal FROM acct WHERE id = 1"), 91);

    /* Read-only: one snapshot at one replica. */
    ck_assert_int_eq(recall_set_read_only(c, 1), RECALL_OK);
    ck_assert_int_eq(recall_begin(c), RECALL_OK);
    ck_assert_int_eq(query_int(c, "SELECT bal FROM acct WHERE id = 1"), 91);
    exec_ok(other, "UPDATE acct SET bal = 50 WHERE id = 1");
    ck_assert_int_eq(query_int(c, "SELECT bal FROM acct WHERE id = 1"), 91); /* same snapshot */
    ck_assert_int_eq(recall_exec(c, "UPDATE acct SET bal = 0"), RECALL_ERROR);
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    ck_assert_int_eq(recall_set_read_only(c, 0), RECALL_OK);
    ck_assert_int_eq(query_int(c, "SELECT bal FROM acct WHERE id = 1"), 50);
    recall_close(other);
    recall_close(c);
}
END_TEST

START_TEST(test_streaming)
{
    recall_conn *c = connect_ok("fetch_rows=500");
    recall_stmt *s = recall_prepare(c,
        "WITH RECURSIVE x(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM x LIMIT 100000) "
        "SELECT i, printf('%0200d', i) FROM x", RECALL_NTS);
    int64_t n = 0, sum = 0;
    int rc;

    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    while ((rc = recall_fetch(s)) == RECALL_ROW) {
        size_t len;
        n++;
        sum += recall_value_int64(s, 0);
        recall_value_text(s, 1, &len);
        ck_assert_uint_eq(len, 200);
    }
    ck_assert_msg(rc == RECALL_DONE, "%s", recall_errmsg(c));
    ck_assert_int_eq(n, 100000);
    ck_assert_int_eq(sum, (int64_t)100000 * 100001 / 2);
    /* Abandoning a stream midway leaves the connection fine. */
    ck_assert_int_eq(recall_execute(s), RECALL_OK);
    for (int i = 0; i < 1234; i++)
        ck_assert_int_eq(recall_fetch(s), RECALL_ROW);
    recall_stmt_free(s);
    ck_assert_int_eq(query_int(c, "SELECT 7"), 7);
    recall_close(c);
}
END_TEST

/* The primary dies during a stream of autocommit writes: each write is
 * retried on the new primary under its own request id and lands once. */
START_TEST(test_primary_killed_during_writes)
{
    recall_conn *c = connect_ok("request_timeout=30");
    recall_stmt *ins;
    char what[64];
    int p = -1;

    exec_ok(c, "CREATE TABLE fo (k INTEGER PRIMARY KEY)");
    ins = recall_prepare(c, "INSERT INTO fo (k) VALUES (?)", RECALL_NTS);
    for (int i = 0; i < 400; i++) {
        if (i == 150) {
            ck_assert_int_ge((p = recall_primary(c)), 0);
            snprintf(what, sizeof what, "kill %d", p);
            ck_assert_int_eq(cluster(what), 0);
        }
        recall_bind_int64(ins, 1, i);
        ck_assert_msg(recall_execute(ins) == RECALL_OK, "insert %d: %s (%s)", i, recall_errmsg(c),
                      recall_sqlstate(c));
    }
    recall_stmt_free(ins);
    ck_assert_int_ne(recall_primary(c), p);
    ck_assert_int_eq(query_int(c, "SELECT count(*) FROM fo"), 400);
    ck_assert_int_eq(query_int(c, "SELECT count(DISTINCT k) FROM fo"), 400);
    snprintf(what, sizeof what, "restart %d", p);
    ck_assert_int_eq(cluster(what), 0);
    recall_close(c);
}
END_TEST

START_TEST(test_transaction_lost_to_failover)
{
    recall_conn *c = connect_ok("request_timeout=30");
    char what[64];
    int p;

    /* Table tf was created by the first test: a failover shortly after DDL
     * leaves the new primary unready (reported to recalld). */
    ck_assert_int_eq(recall_set_autocommit(c, 0), RECALL_OK);
    exec_ok(c, "INSERT INTO tf VALUES (1)");
    ck_assert_int_ge((p = recall_primary(c)), 0);
    snprintf(what, sizeof what, "kill %d", p);
    ck_assert_int_eq(cluster(what), 0);
    ck_assert_int_eq(recall_exec(c, "INSERT INTO tf VALUES (2)"), RECALL_ERROR);
    ck_assert_str_eq(recall_sqlstate(c), "40001");
    ck_assert_int_eq(recall_usable(c), 1);
    ck_assert_int_eq(recall_in_transaction(c), 0);
    /* Retrying the transaction works at the new primary. */
    exec_ok(c, "INSERT INTO tf VALUES (1)");
    exec_ok(c, "INSERT INTO tf VALUES (2)");
    ck_assert_int_eq(recall_commit(c), RECALL_OK);
    ck_assert_int_eq(recall_set_autocommit(c, 1), RECALL_OK);
    ck_assert_int_eq(query_int(c, "SELECT count(*) FROM tf"), 2);
    snprintf(what, sizeof what, "restart %d", p);
    ck_assert_int_eq(cluster(what), 0);
    recall_close(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("librecall-cluster");
    TCase *tc = tcase_create("sqlite cluster");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_writes_and_reads);
    tcase_add_test(tc, test_transactions);
    tcase_add_test(tc, test_streaming);
    tcase_add_test(tc, test_primary_killed_during_writes);
    tcase_add_test(tc, test_transaction_lost_to_failover);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *top = getenv("top_srcdir"), *build = getenv("top_builddir");
    char path[1024], *dir;
    FILE *fp;
    int rc, port = 20000 + (int)(getpid() % 20000);

    if (!top || !build) {
        printf("1..0 # SKIP top_srcdir/top_builddir not set (run through make check)\n");
        return 0;
    }
    snprintf(path, sizeof path, "%s/server/recalld", build);
    if (access(path, X_OK) != 0) {
        printf("1..0 # SKIP recalld is not built\n");
        return 0;
    }
    if (!(dir = testhelp_tmpdir("librecall-cluster")))
        return 1;
    snprintf(cluster_dir, sizeof cluster_dir, "%s", dir);
    snprintf(cluster_cmd, sizeof cluster_cmd, "RECALL_BUILD='%s' RECALL_DEBUG=0 '%s/scripts/cluster'",
             build, top);
    snprintf(path, sizeof path, "start --port %d", port);
    if (cluster(path) != 0) {
        printf("Bail out! scripts/cluster start failed (see %s/cluster.out)\n", dir);
        return 1;
    }
    /* The connection string is the last line the start command printed. */
    snprintf(path, sizeof path, "%s/cluster.out", dir);
    if ((fp = fopen(path, "r"))) {
        char line[512];
        while (fgets(line, sizeof line, fp))
            if (!strncmp(line, "replicas=", 9)) {
                line[strcspn(line, "\n")] = '\0';
                snprintf(conninfo, sizeof conninfo, "%s", line);
            }
        fclose(fp);
    }
    if (!conninfo[0]) {
        cluster("stop");
        printf("Bail out! no connection string from scripts/cluster (see %s)\n", path);
        return 1;
    }
    rc = testhelp_run(suite());
    cluster("stop");
    if (rc == 0)
        testhelp_rmtree(dir);
    free(dir);
    return rc;
}
