/* The checkers must bite.  First the linearizability checker on small
 * handcrafted histories whose verdict is known; then whole simulations with
 * a deliberate bug switched on, each of which some seed of a small fixed
 * set must expose: quorum reads without the quorum step or without fences,
 * ReadIndex reads that do not wait for the primary's op, and (this program
 * links its own copy of vr.c built with VR_BUG_SWITCHES) a view change that
 * takes the longest log, and acknowledgements sent before durability. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "sim.h"
#include "simtest.h"
#include "testhelp.h"
#include "vr-internal.h"

/* ---- handcrafted histories ---- */

static struct history H;

static void hreset(void)
{
    history_free(&H);
    history_init(&H);
}

static void w(int client, uint32_t key, int64_t v, uint64_t inv, uint64_t ret, enum hist_status st)
{
    struct hist_op o;
    memset(&o, 0, sizeof o);
    o.client = client;
    o.kind = H_WRITE;
    o.key = key;
    o.value = v;
    o.invoke = inv;
    o.ret = ret;
    o.status = st;
    history_add(&H, &o);
}

static void r(int client, uint32_t key, int64_t v, uint64_t inv, uint64_t ret)
{
    struct hist_op o;
    memset(&o, 0, sizeof o);
    o.client = client;
    o.kind = H_READ;
    o.level = H_LIN;
    o.key = key;
    o.value = v;
    o.invoke = inv;
    o.ret = ret;
    o.status = H_OK;
    history_add(&H, &o);
}

static enum lin_verdict verdict(uint64_t max_steps)
{
    struct lin_result lr;
    lin_check(&H, max_steps, &lr);
    return lr.verdict;
}

START_TEST(test_lin_sequential)
{
    hreset();
    r(0, 0, 0, 1, 2);   /* absent key reads 0 */
    w(0, 0, 5, 3, 4, H_OK);
    r(1, 0, 5, 5, 6);
    w(1, 0, 7, 7, 8, H_OK);
    r(0, 0, 7, 9, 10);
    ck_assert_int_eq(verdict(0), LIN_OK);
}
END_TEST

START_TEST(test_lin_stale_read)
{
    hreset();
    w(0, 0, 5, 1, 2, H_OK);
    w(0, 0, 6, 3, 4, H_OK);
    r(1, 0, 5, 5, 6);   /* the write of 6 finished before this read began */
    ck_assert_int_eq(verdict(0), LIN_VIOLATION);
}
END_TEST

START_TEST(test_lin_concurrent_either_order)
{
    hreset();
    w(0, 0, 5, 1, 10, H_OK);
    r(1, 0, 5, 2, 3);   /* may see the concurrent write... */
    r(2, 0, 5, 4, 5);
    ck_assert_int_eq(verdict(0), LIN_OK);
    hreset();
    w(0, 0, 5, 1, 10, H_OK);
    r(1, 0, 0, 2, 3);   /* ...or not yet */
    r(2, 0, 5, 4, 5);
    ck_assert_int_eq(verdict(0), LIN_OK);
    hreset();
    w(0, 0, 5, 1, 10, H_OK);
    r(1, 0, 5, 2, 3);
    r(2, 0, 0, 4, 5);   /* but never un-sees it */
    ck_assert_int_eq(verdict(0), LIN_VIOLATION);
}
END_TEST

START_TEST(test_lin_unknown_and_failed_writes)
{
    hreset();
    w(0, 0, 5, 1, 0, H_UNKNOWN);
    r(1, 0, 0, 2, 3);
    r(1, 0, 5, 10, 11); /* an unknown write may take effect much later */
    r(2, 0, 5, 12, 13);
    ck_assert_int_eq(verdict(0), LIN_OK);
    hreset();
    w(0, 0, 5, 1, 0, H_UNKNOWN);
    r(1, 0, 0, 2, 3);   /* or never */
    ck_assert_int_eq(verdict(0), LIN_OK);
    hreset();
    w(0, 0, 5, 3, 0, H_UNKNOWN);
    r(1, 0, 5, 1, 2);   /* but not before it was invoked */
    ck_assert_int_eq(verdict(0), LIN_VIOLATION);
    hreset();
    w(0, 0, 5, 1, 0, H_UNKNOWN);
    r(1, 0, 5, 2, 3);   /* and once seen, it stays */
    r(1, 0, 0, 4, 5);
    ck_assert_int_eq(verdict(0), LIN_VIOLATION);
    hreset();
    w(0, 0, 5, 1, 2, H_FAIL);
    r(1, 0, 5, 3, 4);   /* a definitely failed write is never seen */
    ck_assert_int_eq(verdict(0), LIN_VIOLATION);
}
END_TEST

START_TEST(test_lin_per_key)
{
    hreset();
    w(0, 0, 5, 1, 2, H_OK);
    w(0, 1, 6, 3, 4, H_OK);
    r(1, 1, 6, 5, 6);
    r(1, 0, 5, 7, 8);
    ck_assert_int_eq(verdict(0), LIN_OK);
    hreset();
    w(0, 0, 5, 1, 2, H_OK);
    r(1, 1, 5, 3, 4);   /* key 1 never held 5 */
    ck_assert_int_eq(verdict(0), LIN_VIOLATION);
}
END_TEST

START_TEST(test_lin_inconclusive_is_reported)
{
    hreset();
    /* many overlapping writes of distinct values and a read of none of
     * them: the search must explore a lot before it can say no */
    for (int i = 0; i < 14; i++)
        w(i, 0, 100 + i, 1 + (uint64_t)i, 100, H_OK);
    r(20, 0, 99, 101, 102);
    ck_assert_int_eq(verdict(50), LIN_INCONCLUSIVE);
    ck_assert_int_eq(verdict(0), LIN_VIOLATION);
    history_free(&H);
}
END_TEST

/* ---- wrong switches: some seed of a fixed set must fail ---- */

/* Run `tries` seeds with cfg-modifier `bug`; returns how many failed and
 * the first failure's text. */
static int hunt(void (*bug)(struct sim_config *), int mix, uint32_t n, int tries, char *what,
                size_t wlen, uint64_t *first_seed)
{
    int failed = 0;
    FILE *null = fopen("/dev/null", "w");
    for (int k = 0; k < tries; k++) {
        struct sim_config c;
        struct sim_result r;
        uint64_t seed = simtest_seed_base() + 5000 + (uint64_t)k;
        sim_config_from_seed(&c, seed);
        c.n = n;
        c.mix = mix;
        c.out = null;
        bug(&c);
        if (sim_run(&c, &r) < 0) {
            if (!failed++) {
                snprintf(what, wlen, "%s", r.what);
                *first_seed = seed;
            }
            break;
        }
    }
    fclose(null);
    vr_bug_longest_log = vr_bug_early_ack = 0;
    return failed;
}

static void bug_no_quorum(struct sim_config *c) { c->bug_lin_no_quorum = true; }
static void bug_no_fence(struct sim_config *c) { c->bug_lin_no_fence = true; }
static void bug_ri_stale(struct sim_config *c) { c->bug_readindex_stale = true; }
static void bug_longest(struct sim_config *c) { (void)c; vr_bug_longest_log = 1; }
static void bug_early(struct sim_config *c) { (void)c; vr_bug_early_ack = 1; }

START_TEST(test_catches_reads_without_quorum)
{
    char what[768] = "";
    uint64_t seed = 0;
    ck_assert_int_gt(hunt(bug_no_quorum, SIM_MIX_PARTITION, 3, 40, what, sizeof what, &seed), 0);
    printf("# lin-no-quorum caught at seed %llu: %s\n", (unsigned long long)seed, what);
    ck_assert_ptr_nonnull(strstr(what, "linearizable"));
}
END_TEST

START_TEST(test_catches_reads_without_fence)
{
    char what[768] = "";
    uint64_t seed = 0;
    ck_assert_int_gt(hunt(bug_no_fence, SIM_MIX_CLEAN, 5, 40, what, sizeof what, &seed), 0);
    printf("# lin-no-fence caught at seed %llu: %s\n", (unsigned long long)seed, what);
    ck_assert_ptr_nonnull(strstr(what, "linearizable"));
}
END_TEST

START_TEST(test_catches_stale_readindex)
{
    char what[768] = "";
    uint64_t seed = 0;
    ck_assert_int_gt(hunt(bug_ri_stale, SIM_MIX_PARTITION, 3, 200, what, sizeof what, &seed), 0);
    printf("# readindex-stale caught at seed %llu: %s\n", (unsigned long long)seed, what);
    ck_assert_ptr_nonnull(strstr(what, "linearizable"));
}
END_TEST

START_TEST(test_catches_longest_log_view_change)
{
    char what[768] = "";
    uint64_t seed = 0;
    ck_assert_int_gt(hunt(bug_longest, SIM_MIX_ISOLATE, 3, 200, what, sizeof what, &seed), 0);
    printf("# longest-log caught at seed %llu: %s\n", (unsigned long long)seed, what);
}
END_TEST

START_TEST(test_catches_early_ack)
{
    char what[768] = "";
    uint64_t seed = 0;
    ck_assert_int_gt(hunt(bug_early, SIM_MIX_CRASH, 3, 300, what, sizeof what, &seed), 0);
    printf("# early-ack caught at seed %llu: %s\n", (unsigned long long)seed, what);
}
END_TEST

/* Regression lines that pin a deliberate bug to a seed, core ones too. */
START_TEST(test_bug_regressions)
{
    struct simtest_regression *list = NULL;
    size_t n = 0;
    ck_assert_int_eq(simtest_load_regressions(&list, &n), 0);
    for (size_t i = 0; i < n; i++) {
        if (!*list[i].bug)
            continue;
        vr_bug_longest_log = !strcmp(list[i].bug, "longest-log");
        vr_bug_early_ack = !strcmp(list[i].bug, "early-ack");
        simtest_run_regression(&list[i]);
        vr_bug_longest_log = vr_bug_early_ack = 0;
    }
    free(list);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checker");
    TCase *lin = tcase_create("lincheck");
    TCase *bugs = tcase_create("wrong switches");
    history_init(&H);
    tcase_add_test(lin, test_lin_sequential);
    tcase_add_test(lin, test_lin_stale_read);
    tcase_add_test(lin, test_lin_concurrent_either_order);
    tcase_add_test(lin, test_lin_unknown_and_failed_writes);
    tcase_add_test(lin, test_lin_per_key);
    tcase_add_test(lin, test_lin_inconclusive_is_reported);
    tcase_set_timeout(bugs, 300);
    tcase_add_test(bugs, test_catches_reads_without_quorum);
    tcase_add_test(bugs, test_catches_reads_without_fence);
    tcase_add_test(bugs, test_catches_stale_readindex);
    tcase_add_test(bugs, test_catches_longest_log_view_change);
    tcase_add_test(bugs, test_catches_early_ack);
    tcase_add_test(bugs, test_bug_regressions);
    suite_add_tcase(s, lin);
    suite_add_tcase(s, bugs);
    return testhelp_run(s);
}
