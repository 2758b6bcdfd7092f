/* A deterministic simulator of a whole Recall cluster in one process.
 *
 * N replicas (the real VR core in server/vr.c, each wrapped in a simulated
 * recalld: durable log with a disk delay, state file, a key-value backend
 * that applies committed entries, client sessions) and several clients (the
 * real quorum logic in driver/quorum.c) exchange messages through the real
 * codec over a simulated network, under one seeded PRNG and a discrete-event
 * queue.  A run is a function of its configuration, which is a function of
 * its seed: the same seed replays the same run, event for event.
 *
 * A run has three phases: faults (loss, duplication, reordering, delay,
 * partitions symmetric and one-way, an isolated primary that clients can
 * still reach, crashes with lost or torn log tails, slow disks, state
 * transfers), then heal (everything repaired; clients must finish within a
 * bound), then quiesce (replicas converge).  The history and the replicas'
 * logs are then checked (history.h, sim_check_*), and the first violation is
 * reported with the seed and the last events of the trace.
 */
#ifndef RECALL_TESTS_SIM_SIM_H
#define RECALL_TESTS_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Fault mixes: which faults the fault phase injects. */
#define SIM_MIXES(X)                                                             \
    X(CLEAN, "clean", "no faults")                                               \
    X(LOSSY, "lossy", "message loss, duplication, reordering, delay")            \
    X(PARTITION, "partition", "symmetric and one-way partitions")                \
    X(ISOLATE, "isolate", "primary isolated with a minority, clients reach it")  \
    X(CRASH, "crash", "crashes and restarts, torn log tails, all-at-once")       \
    X(SLOWDISK, "slowdisk", "slow disks and some crashes")                       \
    X(TRANSFER, "transfer", "crashes with short log retention: state transfers") \
    X(CHAOS, "chaos", "all of the above")

enum sim_mix {
#define SIM_MIX_ENUM_(name, str, text) SIM_MIX_##name,
    SIM_MIXES(SIM_MIX_ENUM_)
#undef SIM_MIX_ENUM_
    SIM_MIX__COUNT
};

const char *sim_mix_name(int mix);
/* -1 if unknown. */
int sim_mix_parse(const char *name);

struct sim_config {
    uint64_t seed;
    uint32_t n;                 /* replicas: 1..5 */
    int mix;                    /* enum sim_mix */
    uint32_t clients;           /* 1..8 */
    uint32_t keys;              /* 1..16 */
    uint64_t fault_us;          /* length of the fault phase */
    uint32_t ops_after_heal;    /* operations each client runs after the heal */
    uint64_t liveness_us;       /* bound on finishing them */
    uint64_t think_us;          /* mean pause between a client's operations */
    uint64_t max_steps;         /* hard cap on events (0: none) */

    /* Deliberate bugs outside the core, to show the checkers bite. */
    bool bug_lin_no_quorum;     /* quorum reads return X's rows without the quorum step */
    bool bug_lin_no_fence;      /* ... and accept X's rows although X lags behind M */
    bool bug_readindex_stale;   /* ReadIndex reads run at the primary's applied op
                                   without waiting for the op it had at the start */

    int trace;                  /* 0: keep a ring of recent events; 1: print all */
    uint32_t trace_keep;        /* events kept for a failure report */
    FILE *out;                  /* failure reports and live traces (default stderr) */
};

/* Everything derived from the seed: replica count, mix, clients, phases. */
void sim_config_from_seed(struct sim_config *c, uint64_t seed);

struct sim_result {
    bool ok;
    char what[768];             /* the first violation, if any */
    uint64_t steps;             /* events processed */
    uint64_t sim_us;            /* simulated time at the end */
    uint64_t ops, ops_ok, ops_failed, ops_unknown;
    uint64_t views;             /* highest view reached */
    uint64_t commit;            /* final commit number */
    uint64_t crashes, transfers, view_changes;
    uint64_t lin_steps;
    uint64_t lin_reads_by_readindex, lin_reads_ok;
    uint64_t txn_aborted_40001; /* transactions a deposed primary reported aborted */
    uint64_t stale_primary_reads; /* linearizable reads answered by a replica outside the
                                     newest view (must stay 0 unless a bug is on) */
};

/* Run one simulation.  Returns 0 if every check passed, -1 otherwise (r
 * says what; the seed, the replay command and the trace tail went to
 * c->out). */
int sim_run(const struct sim_config *c, struct sim_result *r);

/* ---- scripted scenarios (tests drive these through hooks) ---- */

/* A scenario gets control at fixed simulated times to inject faults and
 * inspect state; see test_sim.c.  Called at every `every_us`. */
struct sim;
typedef void (*sim_hook_cb)(struct sim *s, uint64_t now_us, void *arg);
int sim_run_scripted(const struct sim_config *c, sim_hook_cb hook, uint64_t every_us, void *arg,
                     struct sim_result *r);

/* Hook helpers. */
int sim_primary(const struct sim *s);                  /* normal primary of the highest view, -1 */
bool sim_replica_ready(const struct sim *s, int i);
uint64_t sim_replica_view(const struct sim *s, int i);
void sim_cut(struct sim *s, int from_node, int to_node, bool cut);
int sim_client_node(const struct sim *s, int client);  /* node id of a client */
void sim_crash(struct sim *s, int replica);
void sim_restart(struct sim *s, int replica);
/* Make client `c` run only transactions (begin, writes, commit) against
 * replica `target`, slowly (a pause between statements). */
void sim_client_script_txn(struct sim *s, int c, int target, uint64_t stmt_pause_us);
/* Make client `c` run only linearizable reads, and only reach `target`. */
void sim_client_script_lin_reads(struct sim *s, int c);
void sim_fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
