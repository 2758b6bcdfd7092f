/* Helpers shared by the simulator's Check programs: the seed base and the
 * regression list (tests/sim/regressions.txt).
 *
 * A regression line is `seed=S n=N mix=M [bug=B] expect=pass|fail  # why`.
 * expect=pass: a seed that once failed on the real protocol and must pass
 * forever.  expect=fail: a seed on which the checkers caught a deliberate
 * bug (bug=...) and must keep catching it. */
#ifndef RECALL_TESTS_SIM_SIMTEST_H
#define RECALL_TESTS_SIM_SIMTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

struct simtest_regression {
    uint64_t seed;
    uint32_t n;
    int mix;
    char bug[32];               /* "" for none */
    bool core_bug;              /* longest-log, early-ack: needs vr.c's bug switches */
    bool expect_fail;
    int line;
};

/* RECALL_SIM_SEED_BASE, or 0. */
uint64_t simtest_seed_base(void);
/* Parse $top_srcdir/tests/sim/regressions.txt; *list is malloc'd. */
int simtest_load_regressions(struct simtest_regression **list, size_t *n);
/* Run one (client-side bug switches applied here; core switches must be
 * set by the caller) and assert its expected outcome. */
void simtest_run_regression(const struct simtest_regression *reg);

#endif
