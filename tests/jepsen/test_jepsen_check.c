/* Unit tests of the fault-test checkers on hand-made histories: the
 * list-append checker must find each anomaly it claims to (G0, G1a, G1b,
 * G1c, G-single, G2, real-time, internal, incompatible order, duplicates,
 * garbage) and nothing in valid histories; the register, bank and
 * unique-insert checkers likewise; and the history reader must refuse
 * malformed input with a message, never crash.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkers.h"
#include "elle.h"
#include "jhist.h"
#include "testhelp.h"

/* ---- building histories ---- */

struct hb {
    char *p;
    size_t n, cap;
};

static void hb_printf(struct hb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hb_printf(struct hb *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    if (b->n + (size_t)n + 1 > b->cap) {
        b->cap = (b->n + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

/* One operation: invoked at t0, completed at t1 with status ("ok", "fail",
 * "info"; NULL: never completed).  Values are JSON text (NULL: none). */
static void op(struct hb *b, int process, long t0, long t1, const char *status, const char *f,
               const char *inv, const char *res)
{
    hb_printf(b, "{\"type\":\"invoke\",\"process\":%d,\"time\":%ld,\"f\":\"%s\"", process, t0, f);
    if (inv)
        hb_printf(b, ",\"value\":%s", inv);
    hb_printf(b, "}\n");
    if (!status)
        return;
    if (t1 < t0)
        t1 = t0 + 1000; /* info: whenever the client gave up */
    hb_printf(b, "{\"type\":\"%s\",\"process\":%d,\"time\":%ld,\"f\":\"%s\"", status, process, t1,
              f);
    if (res)
        hb_printf(b, ",\"value\":%s", res);
    hb_printf(b, "}\n");
}

static void load(struct jh_history *h, struct hb *b)
{
    char err[256];
    jh_init(h);
    if (jh_load_text(h, "test", b->p ? b->p : "", b->n, err, sizeof err) < 0)
        ck_abort_msg("history did not load: %s", err);
    jh_sort(h);
}

/* Run the list-append checker; returns the result (report on stderr when
 * RECALL_TEST_VERBOSE is set). */
static struct elle_result append_check(struct hb *b, bool realtime, int *rc)
{
    struct jh_history h;
    struct chk_summary s;
    struct elle_result er;
    FILE *rep = getenv("RECALL_TEST_VERBOSE") ? stderr : NULL;
    load(&h, b);
    *rc = chk_append(&h, realtime, rep, &s, &er);
    jh_free(&h);
    free(b->p);
    memset(b, 0, sizeof *b);
    return er;
}

static size_t total(const struct elle_result *r)
{
    size_t n = 0;
    for (int a = 0; a < ELLE__COUNT; a++)
        n += r->count[a];
    return n;
}

/* Only anomaly a was found (at least once). */
static void expect_only(const struct elle_result *r, enum elle_anomaly a)
{
    for (int k = 0; k < ELLE__COUNT; k++)
        if (k != (int)a && r->count[k])
            ck_abort_msg("unexpected %s (%zu) while looking for %s", elle_anomaly_name(k),
                         r->count[k], elle_anomaly_name(a));
    ck_assert_msg(r->count[a] > 0, "%s was not found", elle_anomaly_name(a));
}

/* ---- list append: valid histories ---- */

START_TEST(append_valid_serial)
{
    struct hb b = {0};
    int rc;
    op(&b, 0, 10, 20, "ok", "txn", "[[\"append\",1,1],[\"r\",2,null]]",
       "[[\"append\",1,1],[\"r\",2,[]]]");
    op(&b, 1, 30, 40, "ok", "txn", "[[\"r\",1,null],[\"append\",1,2],[\"r\",1,null]]",
       "[[\"r\",1,[1]],[\"append\",1,2],[\"r\",1,[1,2]]]");
    op(&b, 0, 50, 60, "ok", "txn", "[[\"append\",2,3],[\"append\",2,4]]", NULL);
    op(&b, 2, 70, 80, "ok", "txn", "[[\"r\",1,null],[\"r\",2,null]]",
       "[[\"r\",1,[1,2]],[\"r\",2,[3,4]]]");
    /* a failed append never seen, an info append seen, one not seen */
    op(&b, 1, 90, 95, "fail", "txn", "[[\"append\",3,5]]", NULL);
    op(&b, 3, 91, 0, "info", "txn", "[[\"append\",3,6]]", NULL);
    op(&b, 4, 92, 0, "info", "txn", "[[\"append\",4,7]]", NULL);
    op(&b, 5, 100, 110, "ok", "txn", "[[\"r\",3,null],[\"r\",4,null]]",
       "[[\"r\",3,[6]],[\"r\",4,[]]]");
    struct elle_result r = append_check(&b, true, &rc);
    ck_assert_uint_eq(total(&r), 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_gt(r.edges_ww + r.edges_wr + r.edges_rw, 3);
}
END_TEST

/* Concurrent transactions may serialize against their start order. */
START_TEST(append_valid_concurrent)
{
    struct hb b = {0};
    int rc;
    /* T0 and T1 overlap; T1 reads x before T0's append although T0
     * started first; that is fine while they overlap */
    op(&b, 0, 10, 50, "ok", "txn", "[[\"append\",1,1]]", NULL);
    op(&b, 1, 20, 40, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[]]]");
    op(&b, 2, 60, 70, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[1]]]");
    struct elle_result r = append_check(&b, true, &rc);
    ck_assert_uint_eq(total(&r), 0);
    ck_assert_int_eq(rc, 0);
}
END_TEST

/* ---- list append: each anomaly ---- */

START_TEST(append_g0)
{
    struct hb b = {0};
    int rc;
    /* key 1's order puts T0 first, key 2's puts T1 first: a write cycle */
    op(&b, 0, 10, 30, "ok", "txn", "[[\"append\",1,1],[\"append\",2,1]]", NULL);
    op(&b, 1, 11, 31, "ok", "txn", "[[\"append\",1,2],[\"append\",2,2]]", NULL);
    op(&b, 2, 40, 50, "ok", "txn", "[[\"r\",1,null],[\"r\",2,null]]",
       "[[\"r\",1,[1,2]],[\"r\",2,[2,1]]]");
    struct elle_result r = append_check(&b, true, &rc);
    expect_only(&r, ELLE_G0);
    ck_assert_int_eq(rc, 1);
}
END_TEST

START_TEST(append_g1a)
{
    struct hb b = {0};
    int rc;
    op(&b, 0, 10, 20, "fail", "txn", "[[\"append\",1,1]]", NULL);
    op(&b, 1, 30, 40, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[1]]]");
    struct elle_result r = append_check(&b, true, &rc);
    expect_only(&r, ELLE_G1A);
    ck_assert_int_eq(rc, 1);
}
END_TEST

START_TEST(append_g1b)
{
    struct hb b = {0};
    int rc;
    op(&b, 0, 10, 20, "ok", "txn", "[[\"append\",1,1],[\"append\",1,2]]", NULL);
    op(&b, 1, 12, 18, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[1]]]");
    op(&b, 2, 30, 40, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[1,2]]]");
    struct elle_result r = append_check(&b, true, &rc);
    /* the intermediate read also closes a cycle (T0 -wr-> T1 -rw-> T0),
     * which Elle reports as G-single as well */
    r.count[ELLE_G_SINGLE] = 0;
    expect_only(&r, ELLE_G1B);
    ck_assert_int_eq(rc, 1);
}
END_TEST

START_TEST(append_g1c)
{
    struct hb b = {0};
    int rc;
    /* each reads the other's write: circular information flow */
    op(&b, 0, 10, 30, "ok", "txn", "[[\"append\",1,1],[\"r\",2,null]]",
       "[[\"append\",1,1],[\"r\",2,[1]]]");
    op(&b, 1, 11, 31, "ok", "txn", "[[\"append\",2,1],[\"r\",1,null]]",
       "[[\"append\",2,1],[\"r\",1,[1]]]");
    struct elle_result r = append_check(&b, true, &rc);
    expect_only(&r, ELLE_G1C);
    ck_assert_int_eq(rc, 1);
}
END_TEST

START_TEST(append_g_single)
{
    struct hb b = {0};
    int rc;
    /* read skew: T1 sees T0's y but not its x */
    op(&b, 0, 10, 30, "ok", "txn", "[[\"append\",1,1],[\"append\",2,1]]", NULL);
    op(&b, 1, 11, 31, "ok", "txn", "[[\"r\",1,null],[\"r\",2,null]]",
       "[[\"r\",1,[]],[\"r\",2,[1]]]");
    op(&b, 2, 40, 50, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[1]]]");
    struct elle_result r = append_check(&b, true, &rc);
    expect_only(&r, ELLE_G_SINGLE);
    ck_assert_int_eq(rc, 1);
}
END_TEST

START_TEST(append_g2)
{
    struct hb b = {0};
    int rc;
    /* write skew: each read the key the other appended to, before it */
    op(&b, 0, 10, 30, "ok", "txn", "[[\"r\",1,null],[\"append\",2,1]]",
       "[[\"r\",1,[]],[\"append\",2,1]]");
    op(&b, 1, 11, 31, "ok", "txn", "[[\"r\",2,null],[\"append\",1,1]]",
       "[[\"r\",2,[]],[\"append\",1,1]]");
    op(&b, 2, 40, 50, "ok", "txn", "[[\"r\",1,null],[\"r\",2,null]]",
       "[[\"r\",1,[1]],[\"r\",2,[1]]]");
    struct elle_result r = append_check(&b, true, &rc);
    expect_only(&r, ELLE_G2);
    ck_assert_int_eq(rc, 1);
}
END_TEST

START_TEST(append_realtime)
{
    struct hb b = {0};
    int rc;
    /* T1 starts after T0 completed but does not see its append: a stale
     * read, serializable (T1 before T0) but not strictly */
    op(&b, 0, 10, 20, "ok", "txn", "[[\"append\",1,1]]", NULL);
    op(&b, 1, 30, 40, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[]]]");
    op(&b, 2, 50, 60, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[1]]]");
    struct hb copy = {0};
    hb_printf(&copy, "%s", b.p);
    struct elle_result r = append_check(&b, true, &rc);
    expect_only(&r, ELLE_REALTIME);
    ck_assert_int_eq(rc, 1);
    /* without real-time edges the same history is serializable */
    r = append_check(&copy, false, &rc);
    ck_assert_uint_eq(total(&r), 0);
    ck_assert_int_eq(rc, 0);
}
END_TEST

START_TEST(append_internal)
{
    struct hb b = {0};
    int rc;
    /* a transaction does not see its own append */
    op(&b, 0, 10, 20, "ok", "txn", "[[\"append\",1,1],[\"r\",1,null]]",
       "[[\"append\",1,1],[\"r\",1,[]]]");
    struct elle_result r = append_check(&b, true, &rc);
    ck_assert_uint_gt(r.count[ELLE_INTERNAL], 0);
    ck_assert_int_eq(rc, 1);
    /* two reads of the same key in one transaction disagree */
    op(&b, 0, 10, 20, "ok", "txn", "[[\"append\",1,1]]", NULL);
    op(&b, 1, 30, 40, "ok", "txn", "[[\"append\",1,2]]", NULL);
    op(&b, 2, 15, 50, "ok", "txn", "[[\"r\",1,null],[\"r\",1,null]]",
       "[[\"r\",1,[1]],[\"r\",1,[1,2]]]");
    r = append_check(&b, true, &rc);
    ck_assert_uint_gt(r.count[ELLE_INTERNAL], 0);
}
END_TEST

START_TEST(append_incompatible_order)
{
    struct hb b = {0};
    int rc;
    op(&b, 0, 10, 20, "ok", "txn", "[[\"append\",1,1]]", NULL);
    op(&b, 1, 10, 20, "ok", "txn", "[[\"append\",1,2]]", NULL);
    op(&b, 2, 30, 40, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[1,2]]]");
    op(&b, 3, 30, 40, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[2,1]]]");
    struct elle_result r = append_check(&b, true, &rc);
    expect_only(&r, ELLE_INCOMPATIBLE);
    ck_assert_int_eq(rc, 1);
}
END_TEST

START_TEST(append_duplicate)
{
    struct hb b = {0};
    int rc;
    /* an append applied twice (a retried statement executed again) */
    op(&b, 0, 10, 20, "ok", "txn", "[[\"append\",1,1]]", NULL);
    op(&b, 1, 30, 40, "ok", "txn", "[[\"append\",1,2]]", NULL);
    op(&b, 2, 50, 60, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[1,2,1]]]");
    struct elle_result r = append_check(&b, true, &rc);
    ck_assert_uint_gt(r.count[ELLE_DUPLICATE], 0);
    ck_assert_int_eq(rc, 1);
}
END_TEST

START_TEST(append_garbage)
{
    struct hb b = {0};
    int rc;
    op(&b, 0, 10, 20, "ok", "txn", "[[\"append\",1,1]]", NULL);
    op(&b, 1, 30, 40, "ok", "txn", "[[\"r\",1,null]]", "[[\"r\",1,[1,99]]]");
    struct elle_result r = append_check(&b, true, &rc);
    expect_only(&r, ELLE_GARBAGE);
    ck_assert_int_eq(rc, 1);
}
END_TEST

/* A longer random serial history: no false positives, also when the
 * transactions' intervals overlap (in a way that keeps the serial order
 * possible in real time), and a single corrupted read (a lost append) is
 * caught. */
START_TEST(append_random_serial)
{
    uint64_t rs = testhelp_seed("append_random_serial");
    for (int round = 0; round < 3; round++) {
        struct hb b = {0};
        int64_t lists[8][400];
        size_t len[8] = {0};
        int64_t next = 1;
        long t = 10;
        int rc;
        bool corrupt = round == 1, corrupted = false;
        int corrupt_at = 150 + (int)(testhelp_rand(&rs) % 100);
        for (int i = 0; i < 400; i++) {
            char inv[512], res[8192];
            size_t ni = 0, nr = 0;
            int nm = 1 + (int)(testhelp_rand(&rs) % 4);
            ni += (size_t)snprintf(inv + ni, sizeof inv - ni, "[");
            nr += (size_t)snprintf(res + nr, sizeof res - nr, "[");
            for (int m = 0; m < nm; m++) {
                int k = (int)(testhelp_rand(&rs) % 8);
                const char *sep = m ? "," : "";
                if (testhelp_rand(&rs) % 2 && len[k] < 400) {
                    int64_t v = next++;
                    lists[k][len[k]++] = v;
                    ni += (size_t)snprintf(inv + ni, sizeof inv - ni, "%s[\"append\",%d,%" PRId64
                                           "]", sep, k, v);
                    nr += (size_t)snprintf(res + nr, sizeof res - nr, "%s[\"append\",%d,%" PRId64
                                           "]", sep, k, v);
                } else {
                    size_t shown = len[k];
                    if (corrupt && !corrupted && i >= corrupt_at && shown > 1) {
                        shown--; /* this read misses the latest committed append */
                        corrupted = true;
                    }
                    ni += (size_t)snprintf(inv + ni, sizeof inv - ni, "%s[\"r\",%d,null]", sep, k);
                    nr += (size_t)snprintf(res + nr, sizeof res - nr, "%s[\"r\",%d,[", sep, k);
                    for (size_t x = 0; x < shown && nr < sizeof res - 64; x++)
                        nr += (size_t)snprintf(res + nr, sizeof res - nr, "%s%" PRId64,
                                               x ? "," : "", lists[k][x]);
                    nr += (size_t)snprintf(res + nr, sizeof res - nr, "]]");
                }
            }
            snprintf(inv + ni, sizeof inv - ni, "]");
            snprintf(res + nr, sizeof res - nr, "]");
            if (round == 2) {
                /* overlapping: T(j) never completes before T(i < j) begins */
                long jitter_in = (long)(testhelp_rand(&rs) % 31);
                long jitter_out = 1 + (long)(testhelp_rand(&rs) % 31);
                op(&b, i, t + 100 - jitter_in, t + 100 + jitter_out, "ok", "txn", inv, res);
            } else {
                op(&b, i % 5, t, t + 5, "ok", "txn", inv, res);
            }
            t += 10;
        }
        struct elle_result r = append_check(&b, true, &rc);
        if (!corrupt) {
            ck_assert_uint_eq(total(&r), 0);
            ck_assert_int_eq(rc, 0);
        } else {
            ck_assert(corrupted);
            ck_assert_msg(total(&r) > 0, "a stale read in a serial history went unnoticed");
            ck_assert_int_eq(rc, 1);
        }
    }
}
END_TEST

/* ---- register ---- */

static int register_check(struct hb *b, struct chk_summary *s)
{
    struct jh_history h;
    int rc;
    load(&h, b);
    rc = chk_register(&h, getenv("RECALL_TEST_VERBOSE") ? stderr : NULL, s);
    jh_free(&h);
    free(b->p);
    memset(b, 0, sizeof *b);
    return rc;
}

START_TEST(register_linearizable)
{
    struct hb b = {0};
    struct chk_summary s;
    op(&b, 0, 10, 20, "ok", "read", "[1,null]", "[1,null]");
    op(&b, 1, 15, 40, "ok", "write", "[1,5]", "[1,5,1]");
    op(&b, 0, 25, 30, "ok", "read", "[1,null]", "[1,5]");  /* concurrent: may see 5 */
    op(&b, 2, 45, 50, "ok", "read", "[1,null]", "[1,5]");
    op(&b, 1, 55, 0, "info", "write", "[1,6]", NULL);        /* unknown: may land later */
    op(&b, 2, 60, 70, "ok", "read", "[1,null]", "[1,5]");
    op(&b, 2, 80, 90, "ok", "read", "[1,null]", "[1,6]");
    op(&b, 0, 80, 85, "fail", "write", "[2,7]", NULL);
    op(&b, 0, 95, 99, "ok", "read", "[2,null]", "[2,null]");
    ck_assert_int_eq(register_check(&b, &s), 0);
    ck_assert_uint_eq(s.anomalies, 0);
    ck_assert_uint_eq(s.ok, 7);
    ck_assert_uint_eq(s.info, 1);
    ck_assert_uint_eq(s.fail, 1);
}
END_TEST

START_TEST(register_stale_read)
{
    struct hb b = {0};
    struct chk_summary s;
    op(&b, 1, 10, 20, "ok", "write", "[1,5]", "[1,5,1]");
    op(&b, 0, 30, 40, "ok", "read", "[1,null]", "[1,null]"); /* after the write completed */
    ck_assert_int_eq(register_check(&b, &s), 1);
    ck_assert_msg(strstr(s.verdict, "NOT linearizable"), "%s", s.verdict);
}
END_TEST

START_TEST(register_failed_write_seen)
{
    struct hb b = {0};
    struct chk_summary s;
    op(&b, 1, 10, 20, "fail", "write", "[1,5]", NULL);
    op(&b, 0, 30, 40, "ok", "read", "[1,null]", "[1,5]");
    ck_assert_int_eq(register_check(&b, &s), 1);
}
END_TEST

START_TEST(register_rows_affected)
{
    struct hb b = {0};
    struct chk_summary s;
    op(&b, 1, 10, 20, "ok", "write", "[1,5]", "[1,5,0]");
    op(&b, 0, 30, 40, "ok", "read", "[1,null]", "[1,5]");
    ck_assert_int_eq(register_check(&b, &s), 1);
    ck_assert_uint_eq(s.anomalies, 1);
}
END_TEST

START_TEST(register_ties_are_concurrent)
{
    struct hb b = {0};
    struct chk_summary s;
    /* the read starts at the very nanosecond the write completes: that
     * counts as concurrent, so the old value is allowed */
    op(&b, 1, 10, 20, "ok", "write", "[1,5]", "[1,5,1]");
    op(&b, 0, 20, 30, "ok", "read", "[1,null]", "[1,null]");
    ck_assert_int_eq(register_check(&b, &s), 0);
}
END_TEST

/* ---- bank ---- */

static int bank_check(struct hb *b, struct chk_summary *s)
{
    struct jh_history h;
    int rc;
    load(&h, b);
    rc = chk_bank(&h, 3, 30, getenv("RECALL_TEST_VERBOSE") ? stderr : NULL, s);
    jh_free(&h);
    free(b->p);
    memset(b, 0, sizeof *b);
    return rc;
}

START_TEST(bank_invariant)
{
    struct hb b = {0};
    struct chk_summary s;
    op(&b, 0, 10, 20, "ok", "transfer", "[0,1,5]", NULL);
    op(&b, 1, 10, 20, "ok", "read", "null", "[[0,10],[1,10],[2,10]]");
    op(&b, 1, 30, 40, "ok", "read", "null", "[[0,5],[1,15],[2,10]]");
    op(&b, 0, 30, 35, "fail", "transfer", "[2,1,50]", NULL);
    ck_assert_int_eq(bank_check(&b, &s), 0);

    op(&b, 1, 30, 40, "ok", "read", "null", "[[0,5],[1,10],[2,10]]"); /* lost 5 */
    ck_assert_int_eq(bank_check(&b, &s), 1);
    ck_assert_msg(strstr(s.verdict, "total 25"), "%s", s.verdict);

    op(&b, 1, 30, 40, "ok", "read", "null", "[[0,-5],[1,25],[2,10]]");
    ck_assert_int_eq(bank_check(&b, &s), 1);

    op(&b, 1, 30, 40, "ok", "read", "null", "[[0,20],[1,10]]");      /* a missing account */
    ck_assert_int_eq(bank_check(&b, &s), 1);

    op(&b, 1, 30, 40, "ok", "read", "null", "[[0,10],[0,10],[2,10]]"); /* twice */
    ck_assert_int_eq(bank_check(&b, &s), 1);

    op(&b, 1, 30, 40, "fail", "read", "null", NULL);                  /* nothing checked */
    ck_assert_int_eq(bank_check(&b, &s), 1);
    ck_assert(s.inconclusive);

    op(&b, 1, 30, 40, "ok", "read", "null", "[[0,\"x\"],[1,10],[2,10]]");
    ck_assert_int_eq(bank_check(&b, &s), 1);
    ck_assert(s.malformed);
}
END_TEST

/* ---- unique inserts ---- */

static int unique_check(struct hb *b, struct chk_summary *s)
{
    struct jh_history h;
    int rc;
    load(&h, b);
    rc = chk_unique(&h, getenv("RECALL_TEST_VERBOSE") ? stderr : NULL, s);
    jh_free(&h);
    free(b->p);
    memset(b, 0, sizeof *b);
    return rc;
}

static void unique_base(struct hb *b)
{
    op(b, 0, 10, 20, "ok", "insert", "[1]", NULL);
    op(b, 1, 10, 20, "ok", "insert", "[2,3]", NULL);
    op(b, 2, 10, 20, "fail", "insert", "[4]", NULL);
    op(b, 3, 10, 0, "info", "insert", "[5]", NULL);
    op(b, 4, 10, 0, "info", "insert", "[6,7]", NULL);
}

START_TEST(unique_inserts)
{
    struct hb b = {0};
    struct chk_summary s;

    unique_base(&b);
    op(&b, 9, 100, 110, "ok", "read", "null", "[3,1,2,6,7]");
    ck_assert_int_eq(unique_check(&b, &s), 0);

    unique_base(&b); /* an acknowledged value lost */
    op(&b, 9, 100, 110, "ok", "read", "null", "[1,2]");
    ck_assert_int_eq(unique_check(&b, &s), 1);

    unique_base(&b); /* applied twice */
    op(&b, 9, 100, 110, "ok", "read", "null", "[1,1,2,3]");
    ck_assert_int_eq(unique_check(&b, &s), 1);

    unique_base(&b); /* a failed insert took effect */
    op(&b, 9, 100, 110, "ok", "read", "null", "[1,2,3,4]");
    ck_assert_int_eq(unique_check(&b, &s), 1);

    unique_base(&b); /* an unknown insert twice */
    op(&b, 9, 100, 110, "ok", "read", "null", "[1,2,3,5,5]");
    ck_assert_int_eq(unique_check(&b, &s), 1);

    unique_base(&b); /* half a transaction */
    op(&b, 9, 100, 110, "ok", "read", "null", "[1,2,3,6]");
    ck_assert_int_eq(unique_check(&b, &s), 1);

    unique_base(&b); /* a value nobody inserted */
    op(&b, 9, 100, 110, "ok", "read", "null", "[1,2,3,42]");
    ck_assert_int_eq(unique_check(&b, &s), 1);

    unique_base(&b); /* the last read decides: an older one is ignored */
    op(&b, 9, 30, 40, "ok", "read", "null", "[1]");
    op(&b, 9, 100, 110, "ok", "read", "null", "[1,2,3]");
    ck_assert_int_eq(unique_check(&b, &s), 0);

    unique_base(&b); /* no final read */
    ck_assert_int_eq(unique_check(&b, &s), 1);
    ck_assert(s.inconclusive);
}
END_TEST

/* ---- the reader ---- */

START_TEST(reader_refuses_malformed)
{
    static const char *const bad[] = {
        "{\"type\":\"invoke\",\"process\":1,\"time\":1,\"f\":\"x\"",             /* truncated */
        "{\"type\":\"invoke\",\"process\":1.5,\"time\":1,\"f\":\"x\"}",         /* float */
        "{\"type\":\"invoke\",\"process\":1,\"time\":99999999999999999999,\"f\":\"x\"}",
        "{\"type\":\"invoke\",\"process\":1,\"time\":-1,\"f\":\"x\"}",
        "{\"type\":\"invoke\",\"process\":1,\"time\":1,\"f\":\"\"}",
        "{\"type\":\"invoke\",\"process\":1,\"time\":1}",
        "{\"type\":\"bogus\",\"process\":1,\"time\":1,\"f\":\"x\"}",
        "{\"type\":\"ok\",\"process\":1,\"time\":1,\"f\":\"x\"}",               /* no invoke */
        "{\"type\":\"invoke\",\"process\":1,\"time\":5,\"f\":\"x\"}\n"
        "{\"type\":\"invoke\",\"process\":1,\"time\":6,\"f\":\"x\"}",           /* two in flight */
        "{\"type\":\"invoke\",\"process\":1,\"time\":5,\"f\":\"x\"}\n"
        "{\"type\":\"ok\",\"process\":1,\"time\":4,\"f\":\"x\"}",               /* back in time */
        "{\"type\":\"invoke\",\"process\":1,\"time\":5,\"f\":\"x\"}\n"
        "{\"type\":\"ok\",\"process\":1,\"time\":6,\"f\":\"y\"}",               /* other f */
        "{\"type\":\"invoke\",\"process\":1,\"time\":1,\"f\":\"x\",\"value\":\"\\q\"}",
        "{\"type\":\"invoke\",\"process\":1,\"time\":1,\"f\":\"x\",\"value\":\"\\ud800\"}",
        "{\"type\":\"invoke\",\"process\":1,\"time\":1,\"f\":\"x\",\"value\":\"\\u00\"}",
        "{\"type\":\"invoke\",\"process\":1,\"time\":1,\"f\":\"x\",\"value\":01}",
        "{\"type\":\"invoke\",\"process\":1,\"time\":1,\"f\":\"x\"} trailing",
        "[1,2,3]",
        "nul",
        "{\"type\":\"invoke\",\"process\":1,\"time\":1,\"f\":\"x\",\"value\":[1,]}",
        "{\"type\":\"invoke\",\"process\":1,\"time\":1,\"f\":\"x\",\"error\":5}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct jh_history h;
        char err[256] = "";
        jh_init(&h);
        ck_assert_msg(jh_load_text(&h, "t", bad[i], strlen(bad[i]), err, sizeof err) < 0,
                      "accepted: %s", bad[i]);
        ck_assert_msg(strncmp(err, "t:", 2) == 0, "message without a place: %s", err);
        jh_free(&h);
    }
    /* nesting too deep */
    {
        char deep[4096];
        size_t n = 0;
        struct jv v;
        char err[128];
        for (int i = 0; i < 200; i++)
            deep[n++] = '[';
        for (int i = 0; i < 200; i++)
            deep[n++] = ']';
        ck_assert_int_lt(jv_parse(deep, n, &v, err, sizeof err), 0);
        ck_assert_ptr_nonnull(strstr(err, "deep"));
    }
}
END_TEST

START_TEST(reader_accepts_and_pairs)
{
    const char *text =
        "{\"type\":\"invoke\",\"process\":1,\"time\":5,\"f\":\"read\",\"value\":[1,null]}\n"
        "\n"
        "{\"type\":\"invoke\",\"process\":2,\"time\":6,\"f\":\"write\",\"value\":[1,\"a\\\"\\u00e9\"]}\n"
        "{\"type\":\"ok\",\"process\":1,\"time\":9,\"f\":\"read\",\"value\":[1,-9223372036854775808]}\n"
        "{\"type\":\"info\",\"process\":2,\"time\":10,\"f\":\"write\",\"error\":\"HYT00 timeout\"}\n"
        "{\"type\":\"invoke\",\"process\":3,\"time\":11,\"f\":\"read\",\"value\":{\"a\":true}}\n";
    struct jh_history h;
    char err[256];
    int64_t at;
    jh_init(&h);
    ck_assert_int_eq(jh_load_text(&h, "t", text, strlen(text), err, sizeof err), 0);
    jh_sort(&h);
    ck_assert_uint_eq(h.n, 3);
    ck_assert_int_eq(h.ops[0].status, JH_OK);
    ck_assert_int_eq(h.ops[0].value.items[1].i, INT64_MIN);
    ck_assert_int_eq(h.ops[1].status, JH_INFO);
    ck_assert_str_eq(h.ops[1].error, "HYT00 timeout");
    ck_assert_str_eq(h.ops[1].value.items[1].s, "a\"\xc3\xa9");  /* the invocation's value */
    ck_assert_int_eq(h.ops[2].status, JH_PENDING);
    ck_assert_int_eq(jv_get(&h.ops[2].invoke_value, "a")->i, 1);
    /* the only ok completion is at 9: the longest gap in [0, 100] is 9..100 */
    ck_assert_int_eq(jh_longest_gap(&h, 0, 100, &at), 91);
    ck_assert_int_eq(at, 9);
    jh_free(&h);
}
END_TEST

/* Random bytes and random mutations of a valid line: errors, never a crash
 * (run under ASan/valgrind to make that mean something). */
START_TEST(reader_random_input)
{
    uint64_t rs = testhelp_seed("reader_random_input");
    const char *good = "{\"type\":\"invoke\",\"process\":1,\"time\":5,\"f\":\"txn\",\"value\":"
                       "[[\"r\",1,null],[\"append\",2,3]],\"error\":\"x\\n\\u0041\"}";
    size_t glen = strlen(good);
    for (int iter = 0; iter < 20000; iter++) {
        char buf[256];
        size_t n;
        struct jh_history h;
        char err[256];
        if (iter % 2) {
            n = testhelp_rand(&rs) % sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = (char)(testhelp_rand(&rs) % 4 ? "{}[],:\"\\0123456789-tfnul e"[
                                    testhelp_rand(&rs) % 27] : (char)testhelp_rand(&rs));
        } else {
            n = glen;
            memcpy(buf, good, glen);
            for (int k = 0; k < 1 + (int)(testhelp_rand(&rs) % 4); k++) {
                size_t at = testhelp_rand(&rs) % n;
                switch (testhelp_rand(&rs) % 3) {
                case 0: buf[at] = (char)testhelp_rand(&rs); break;
                case 1: n = at; break;                                   /* truncate */
                default: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;
                }
                if (!n)
                    break;
            }
        }
        jh_init(&h);
        (void)jh_load_text(&h, "r", buf, n, err, sizeof err);
        jh_free(&h);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("jepsen_check");
    TCase *tc = tcase_create("append");
    tcase_add_test(tc, append_valid_serial);
    tcase_add_test(tc, append_valid_concurrent);
    tcase_add_test(tc, append_g0);
    tcase_add_test(tc, append_g1a);
    tcase_add_test(tc, append_g1b);
    tcase_add_test(tc, append_g1c);
    tcase_add_test(tc, append_g_single);
    tcase_add_test(tc, append_g2);
    tcase_add_test(tc, append_realtime);
    tcase_add_test(tc, append_internal);
    tcase_add_test(tc, append_incompatible_order);
    tcase_add_test(tc, append_duplicate);
    tcase_add_test(tc, append_garbage);
    tcase_add_test(tc, append_random_serial);
    suite_add_tcase(s, tc);
    tc = tcase_create("register");
    tcase_add_test(tc, register_linearizable);
    tcase_add_test(tc, register_stale_read);
    tcase_add_test(tc, register_failed_write_seen);
    tcase_add_test(tc, register_rows_affected);
    tcase_add_test(tc, register_ties_are_concurrent);
    suite_add_tcase(s, tc);
    tc = tcase_create("bank_unique");
    tcase_add_test(tc, bank_invariant);
    tcase_add_test(tc, unique_inserts);
    suite_add_tcase(s, tc);
    tc = tcase_create("reader");
    tcase_add_test(tc, reader_refuses_malformed);
    tcase_add_test(tc, reader_accepts_and_pairs);
    tcase_add_test(tc, reader_random_input);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
