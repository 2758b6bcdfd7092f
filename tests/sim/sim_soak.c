/* recall-sim-soak: run simulations until a step budget is spent, with fresh
 * random seeds, or replay one seed exactly.
 *
 *   recall-sim-soak [--steps N] [--seconds S]   random seeds until N events
 *   recall-sim-soak --seed S [--n N] [--mix M] [--trace] [--bug B]
 *                                               one run, optionally traced
 *
 * Every run is a function of its seed (and of --n/--mix when given), so a
 * failure prints the exact command that replays it; add --trace to see
 * every event.  Exit status: 0 all passed, 1 a run failed, 2 usage.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"
#include "vr-internal.h"

static void usage(FILE *o)
{
    fprintf(o,
            "usage: recall-sim-soak [--steps N] [--seconds S] [--quiet]\n"
            "       recall-sim-soak --seed S [--n 1|3|5] [--mix NAME] [--trace] [--bug NAME]\n"
            "mixes:");
    for (int i = 0; i < SIM_MIX__COUNT; i++)
        fprintf(o, " %s", sim_mix_name(i));
    fprintf(o, "\nbugs: lin-no-quorum lin-no-fence readindex-stale%s\n",
#ifdef VR_BUG_SWITCHES
            " longest-log early-ack (this build has the core's bug switches)"
#else
            ""
#endif
    );
}

static uint64_t seed_from_clock(void)
{
    struct timespec ts;
    uint64_t x;
    clock_gettime(CLOCK_REALTIME, &ts);
    x = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

int main(int argc, char **argv)
{
    uint64_t seed = 0, steps = 1000000, total = 0, runs = 0, ops = 0, seconds = 0;
    bool have_seed = false, quiet = false;
    int n = 0, mix = -1, trace = 0;
    struct sim_config bugs;
    time_t t0 = time(NULL);

    memset(&bugs, 0, sizeof bugs);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seed") && v) {
            seed = strtoull(v, NULL, 0);
            have_seed = true;
            i++;
        } else if (!strcmp(a, "--steps") && v) {
            steps = strtoull(v, NULL, 0);
            i++;
        } else if (!strcmp(a, "--seconds") && v) {
            seconds = strtoull(v, NULL, 0);
            i++;
        } else if (!strcmp(a, "--n") && v) {
            n = atoi(v);
            if (n != 1 && n != 3 && n != 5) {
                usage(stderr);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--mix") && v) {
            if ((mix = sim_mix_parse(v)) < 0) {
                usage(stderr);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--bug") && v) {
            if (!strcmp(v, "lin-no-quorum"))
                bugs.bug_lin_no_quorum = true;
            else if (!strcmp(v, "lin-no-fence"))
                bugs.bug_lin_no_fence = true;
            else if (!strcmp(v, "readindex-stale"))
                bugs.bug_readindex_stale = true;
#ifdef VR_BUG_SWITCHES
            else if (!strcmp(v, "longest-log"))
                vr_bug_longest_log = 1;
            else if (!strcmp(v, "early-ack"))
                vr_bug_early_ack = 1;
#endif
            else {
                usage(stderr);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--trace")) {
            trace = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!have_seed) {
        seed = seed_from_clock();
        printf("soak: base seed %llu, budget %llu steps%s\n", (unsigned long long)seed,
               (unsigned long long)steps, seconds ? " (or the time limit)" : "");
        fflush(stdout);
    }
    for (;;) {
        struct sim_config c;
        struct sim_result r;
        uint64_t s = have_seed ? seed : seed + runs * 0x9e3779b97f4a7c15ull;
        sim_config_from_seed(&c, s);
        if (n)
            c.n = (uint32_t)n;
        if (mix >= 0)
            c.mix = mix;
        c.bug_lin_no_quorum = bugs.bug_lin_no_quorum;
        c.bug_lin_no_fence = bugs.bug_lin_no_fence;
        c.bug_readindex_stale = bugs.bug_readindex_stale;
        c.trace = trace;
        c.out = stdout;
        if (sim_run(&c, &r) < 0) {
            printf("soak: FAILED after %llu runs, %llu steps\n", (unsigned long long)runs,
                   (unsigned long long)total + r.steps);
            return 1;
        }
        runs++;
        if (quiet && total / 10000000 != (total + r.steps) / 10000000) {
            printf("soak: %llu runs, %llu steps so far, all passed\n", (unsigned long long)runs,
                   (unsigned long long)(total + r.steps));
            fflush(stdout);
        }
        total += r.steps;
        ops += r.ops;
        if (have_seed || !quiet)
            printf("seed %llu n=%u mix=%s: ok, %llu steps, %.2fs simulated, %llu ops (%llu ok, "
                   "%llu failed, %llu unknown), view %llu, commit %llu, %llu crashes, "
                   "%llu transfers, %llu lin reads (%llu by ReadIndex)\n",
                   (unsigned long long)s, c.n, sim_mix_name(c.mix), (unsigned long long)r.steps,
                   r.sim_us / 1e6, (unsigned long long)r.ops, (unsigned long long)r.ops_ok,
                   (unsigned long long)r.ops_failed, (unsigned long long)r.ops_unknown,
                   (unsigned long long)r.views, (unsigned long long)r.commit,
                   (unsigned long long)r.crashes, (unsigned long long)r.transfers,
                   (unsigned long long)r.lin_reads_ok,
                   (unsigned long long)r.lin_reads_by_readindex);
        if (have_seed)
            return 0;
        if (total >= steps || (seconds && (uint64_t)(time(NULL) - t0) >= seconds))
            break;
    }
    printf("soak: %llu runs, %llu steps, %llu operations, all checks passed (base seed %llu)\n",
           (unsigned long long)runs, (unsigned long long)total, (unsigned long long)ops,
           (unsigned long long)seed);
    return 0;
}
