/* The checkers of the fault-test workloads (tests/jepsen), over histories
 * loaded by jhist.h.  Each takes the whole history of one workload (every
 * client process, final reads included), writes what it found to report
 * (may be NULL) and fills a summary.
 *
 * Workloads and the shape of their operations ("f": value):
 *  register  "write": [k, v] (v > 0, unique per key; ok values may carry a
 *            third element, the affected row count, which must be 1);
 *            "read": [k, null] -> [k, v or null]; checked for
 *            linearizability with the simulator's checker (tests/sim).
 *  bank      "transfer": [from, to, amount]; "read": null -> [[id, balance],
 *            ...]: every ok read shows every account once, no negative
 *            balance and the constant total.
 *  append    "txn": [["r", k, null], ["append", k, v], ...], ok values
 *            carry the read lists; checked by elle.h (SERIALIZABLE, and
 *            strict: real-time order unless disabled).
 *  unique    "insert": [v, ...] (one transaction; values unique); "read":
 *            null -> [v, ...] (the whole table).  In the last ok read every
 *            acknowledged value is present exactly once, no failed or
 *            never-attempted value appears, values of unknown inserts at
 *            most once, and a transaction's values all or none.
 */
#ifndef RECALL_TESTS_JEPSEN_CHECKERS_H
#define RECALL_TESTS_JEPSEN_CHECKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "elle.h"
#include "jhist.h"

struct chk_summary {
    size_t ok, fail, info, pending;  /* operations by outcome */
    size_t anomalies;                /* 0 for a valid history */
    bool malformed;                  /* values of the wrong shape (counted as anomalies) */
    bool inconclusive;               /* the checker could not decide (counted as an anomaly) */
    char verdict[160];               /* one line: what was found */
};

/* Each returns 0 for a valid history, 1 otherwise. */
int chk_register(const struct jh_history *h, FILE *report, struct chk_summary *s);
int chk_bank(const struct jh_history *h, int64_t accounts, int64_t total, FILE *report,
             struct chk_summary *s);
int chk_append(const struct jh_history *h, bool realtime, FILE *report, struct chk_summary *s,
               struct elle_result *er);
int chk_unique(const struct jh_history *h, FILE *report, struct chk_summary *s);

#endif
