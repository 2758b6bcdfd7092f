/* A client history of the simulated key-value workload, and the checker that
 * decides whether it is linearizable.
 *
 * Every client operation is one record: invoke and return stamps (unique,
 * increasing: the simulator's event counter), the outcome (ok, definitely
 * failed, unknown) and what it wrote or read.  A transaction that wrote k
 * keys is k records sharing a txn id and outcome.  The linearizability
 * checker is a Wing-Gong search over each key separately (P-compositionality,
 * as Porcupine and Knossos do) with memoization of (linearized set, value);
 * it is bounded and says "inconclusive" rather than run forever.
 */
#ifndef RECALL_TESTS_SIM_HISTORY_H
#define RECALL_TESTS_SIM_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum hist_kind { H_WRITE = 1, H_READ };
enum hist_status { H_PENDING = 0, H_OK, H_FAIL, H_UNKNOWN };
enum hist_level { H_LIN = 1, H_SESSION, H_ANY };

struct hist_op {
    int client;
    enum hist_kind kind;
    enum hist_level level;      /* reads */
    enum hist_status status;
    uint32_t key;
    int64_t value;              /* written, or read (0: key absent) */
    uint64_t invoke, ret;       /* stamps; ret meaningless unless OK/FAIL */
    uint64_t invoke_us, ret_us; /* simulated time, for traces */
    uint64_t req;               /* request id that carried the write (commit req for txns) */
    uint64_t txn;               /* 0 for single statements */
    uint64_t op;                /* log op of an acknowledged write, 0 if unknown */
    uint64_t applied;           /* reads: the replica's applied op in the snapshot */
    uint64_t hwm;               /* session reads: client's high-water mark at invoke */
    int replica;                /* reads: who answered */
};

struct history {
    struct hist_op *ops;        /* owned */
    size_t n, cap;
};

void history_init(struct history *h);
void history_free(struct history *h);
/* Append a record; returns its index (aborts on allocation failure). */
size_t history_add(struct history *h, const struct hist_op *op);

enum lin_verdict { LIN_OK = 0, LIN_VIOLATION, LIN_INCONCLUSIVE };

struct lin_result {
    enum lin_verdict verdict;
    uint32_t key;               /* the failing key */
    uint64_t steps;             /* search steps over all keys */
    size_t ops_checked;
};

/* Check writes (ok and unknown) and linearizable reads (ok) of every key.
 * max_steps bounds the search per key (0: a default). */
void lin_check(const struct history *h, uint64_t max_steps, struct lin_result *r);

/* Print one key's sub-history, in invoke order. */
void history_print_key(const struct history *h, uint32_t key, FILE *out);
const char *hist_status_name(enum hist_status s);

#endif
