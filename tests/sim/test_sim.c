/* The protocol under simulation: seeded runs over every replica count and
 * fault mix, the regression seeds of tests/sim/regressions.txt, and
 * scripted scenarios for the properties random runs only show by chance
 * (a deposed primary aborts open transactions with 40001; a partitioned old
 * primary never satisfies a linearizable read; killing every replica at
 * once loses nothing and the cluster comes back).
 *
 * Seeds are fixed so `make check` is reproducible; RECALL_SIM_SEED_BASE
 * moves the whole grid elsewhere.  A failure prints the seed, the replay
 * command and the tail of the trace. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "simtest.h"
#include "testhelp.h"

#define SEEDS_PER_CELL 50

static const uint32_t ns[] = {1, 3, 5};

/* One cell of the grid: replica count x fault mix. */
START_TEST(test_grid)
{
    uint32_t n = ns[_i / SIM_MIX__COUNT];
    int mix = _i % SIM_MIX__COUNT;
    uint64_t base = simtest_seed_base();
    uint64_t steps = 0, ops = 0;
    for (int k = 0; k < SEEDS_PER_CELL; k++) {
        struct sim_config c;
        struct sim_result r;
        uint64_t seed = base + (uint64_t)_i * 1000 + (uint64_t)k;
        sim_config_from_seed(&c, seed);
        c.n = n;
        c.mix = mix;
        c.out = stdout;
        if (sim_run(&c, &r) < 0)
            ck_abort_msg("seed %llu n=%u mix=%s: %s", (unsigned long long)seed, n,
                         sim_mix_name(mix), r.what);
        steps += r.steps;
        ops += r.ops;
        ck_assert_uint_eq(r.stale_primary_reads, 0);
        if (mix == SIM_MIX_CLEAN)
            ck_assert_uint_eq(r.ops_unknown, 0);
    }
    printf("# n=%u mix=%s: %d runs, %llu steps, %llu operations\n", n, sim_mix_name(mix),
           SEEDS_PER_CELL, (unsigned long long)steps, (unsigned long long)ops);
}
END_TEST

START_TEST(test_regressions)
{
    struct simtest_regression *list = NULL;
    size_t n = 0;
    ck_assert_int_eq(simtest_load_regressions(&list, &n), 0);
    for (size_t i = 0; i < n; i++) {
        /* core bug switches need the checker's build (test_checker) */
        if (list[i].core_bug)
            continue;
        simtest_run_regression(&list[i]);
    }
    free(list);
}
END_TEST

/* ---- scripted: a deposed primary reports open transactions aborted ---- */

struct depose {
    int old_primary;
    int txn_client;
    bool cut;
    uint64_t cut_at;
};

static void depose_hook(struct sim *s, uint64_t now, void *arg)
{
    struct depose *d = arg;
    if (d->old_primary < 0) {
        int p = sim_primary(s);
        if (p >= 0 && sim_replica_ready(s, p) && now > 300000) {
            d->old_primary = p;
            sim_client_script_txn(s, d->txn_client, p, 300000);
        }
        return;
    }
    if (!d->cut && now > 600000) {
        /* the primary loses the other replicas; the client still reaches it */
        for (int i = 0; i < 3; i++)
            if (i != d->old_primary) {
                sim_cut(s, i, d->old_primary, true);
                sim_cut(s, d->old_primary, i, true);
            }
        d->cut = true;
        d->cut_at = now;
    }
}

START_TEST(test_deposed_primary_aborts_transactions)
{
    struct sim_config c;
    struct sim_result r;
    struct depose d = {.old_primary = -1, .txn_client = 0};
    sim_config_from_seed(&c, simtest_seed_base() + 777);
    c.n = 3;
    c.mix = SIM_MIX_CLEAN;
    c.clients = 3;
    c.fault_us = 2500000;
    c.out = stdout;
    c.trace = getenv("RECALL_SIM_TRACE") != NULL;
    ck_assert_msg(sim_run_scripted(&c, depose_hook, 10000, &d, &r) == 0, "%s", r.what);
    ck_assert_int_ge(d.old_primary, 0);
    ck_assert(d.cut);
    /* the old primary stepped down and told the client its transaction was
     * rolled back (SQLSTATE 40001) */
    ck_assert_uint_gt(r.txn_aborted_40001, 0);
    ck_assert_uint_gt(r.views, 1);
}
END_TEST

/* ---- scripted: an isolated old primary never answers a linearizable read ---- */

struct isolated {
    int old_primary;
    int reader;
    bool cut;
};

static void isolate_hook(struct sim *s, uint64_t now, void *arg)
{
    struct isolated *d = arg;
    if (d->cut || now < 500000)
        return;
    d->old_primary = sim_primary(s);
    if (d->old_primary < 0)
        return;
    for (int i = 0; i < 3; i++) {
        if (i == d->old_primary)
            continue;
        sim_cut(s, i, d->old_primary, true);
        sim_cut(s, d->old_primary, i, true);
        /* the reader reaches only the old primary */
        sim_cut(s, sim_client_node(s, d->reader), i, true);
        sim_cut(s, i, sim_client_node(s, d->reader), true);
    }
    sim_client_script_lin_reads(s, d->reader);
    d->cut = true;
}

static int run_isolated(uint64_t seed, bool bug, struct sim_result *r)
{
    struct sim_config c;
    struct isolated d = {.old_primary = -1, .reader = 0};
    sim_config_from_seed(&c, seed);
    c.n = 3;
    c.mix = SIM_MIX_CLEAN;
    c.clients = 4;
    c.keys = 2;
    c.fault_us = 2500000;
    c.bug_lin_no_quorum = bug;
    c.out = bug ? fopen("/dev/null", "w") : stdout;
    {
        int rc = sim_run_scripted(&c, isolate_hook, 10000, &d, r);
        if (bug)
            fclose(c.out);
        ck_assert(d.cut);
        return rc;
    }
}

START_TEST(test_isolated_old_primary_serves_no_linearizable_read)
{
    struct sim_result r;
    for (uint64_t k = 0; k < 5; k++) {
        ck_assert_msg(run_isolated(simtest_seed_base() + 900 + k, false, &r) == 0, "%s", r.what);
        ck_assert_uint_eq(r.stale_primary_reads, 0);
        ck_assert_uint_gt(r.views, 1);
    }
}
END_TEST

/* The same scenario with reads that skip the quorum step: the old primary
 * answers, and the checker must see it. */
START_TEST(test_isolated_old_primary_caught_without_quorum)
{
    struct sim_result r;
    int caught = 0;
    for (uint64_t k = 0; k < 5; k++)
        if (run_isolated(simtest_seed_base() + 900 + k, true, &r) < 0) {
            caught++;
            ck_assert_msg(strstr(r.what, "linearizable") != NULL, "%s", r.what);
        }
    ck_assert_int_gt(caught, 0);
}
END_TEST

/* ---- scripted: every replica dies at once, several times ---- */

struct allcrash {
    int rounds;
    uint64_t next;
    bool down;
};

static void allcrash_hook(struct sim *s, uint64_t now, void *arg)
{
    struct allcrash *a = arg;
    if (now < a->next)
        return;
    if (!a->down) {
        for (int i = 0; i < 5; i++)
            sim_crash(s, i);
        a->down = true;
        a->next = now + 100000;
    } else {
        for (int i = 4; i >= 0; i--)
            sim_restart(s, i);
        a->down = false;
        a->rounds++;
        a->next = now + 400000;
    }
}

START_TEST(test_all_replicas_restart_at_once)
{
    struct sim_config c;
    struct sim_result r;
    struct allcrash a = {.next = 400000};
    sim_config_from_seed(&c, simtest_seed_base() + 4242);
    c.n = 5;
    c.mix = SIM_MIX_CLEAN;
    c.fault_us = 3000000;
    c.out = stdout;
    ck_assert_msg(sim_run_scripted(&c, allcrash_hook, 10000, &a, &r) == 0, "%s", r.what);
    ck_assert_int_ge(a.rounds, 3);
    ck_assert_uint_gt(r.commit, 20);
    ck_assert_uint_ge(r.crashes, 15);
}
END_TEST

/* Replay is exact: the same seed gives the same run. */
START_TEST(test_deterministic_replay)
{
    for (uint64_t k = 0; k < 3; k++) {
        struct sim_config c;
        struct sim_result r1, r2;
        sim_config_from_seed(&c, simtest_seed_base() + 31337 + k);
        c.n = 5;
        c.mix = SIM_MIX_CHAOS;
        c.out = stdout;
        ck_assert_msg(sim_run(&c, &r1) == 0, "%s", r1.what);
        ck_assert_msg(sim_run(&c, &r2) == 0, "%s", r2.what);
        ck_assert_uint_eq(r1.steps, r2.steps);
        ck_assert_uint_eq(r1.sim_us, r2.sim_us);
        ck_assert_uint_eq(r1.ops_ok, r2.ops_ok);
        ck_assert_uint_eq(r1.commit, r2.commit);
        ck_assert_uint_eq(r1.views, r2.views);
        ck_assert_uint_eq(r1.lin_steps, r2.lin_steps);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim");
    TCase *grid = tcase_create("grid");
    TCase *sc = tcase_create("scenarios");
    tcase_set_timeout(grid, 600);
    tcase_add_loop_test(grid, test_grid, 0, (int)(3 * SIM_MIX__COUNT));
    tcase_set_timeout(sc, 300);
    tcase_add_test(sc, test_regressions);
    tcase_add_test(sc, test_deposed_primary_aborts_transactions);
    tcase_add_test(sc, test_isolated_old_primary_serves_no_linearizable_read);
    tcase_add_test(sc, test_isolated_old_primary_caught_without_quorum);
    tcase_add_test(sc, test_all_replicas_restart_at_once);
    tcase_add_test(sc, test_deterministic_replay);
    suite_add_tcase(s, grid);
    suite_add_tcase(s, sc);
    return testhelp_run(s);
}
