/* An Elle-style checker for list-append transaction histories.
 *
 * Transactions are sequences of micro-operations on keys whose values are
 * lists: "append v to k" and "read k" (which returns the whole list).  Every
 * appended value is unique per key, so a read tells exactly which writes it
 * saw and in which order.  The checker (after Kingsbury & Alvaro, "Elle:
 * Inferring Isolation Anomalies from Experimental Observations", VLDB 2020):
 *  - infers each key's version order from the longest read of it (every
 *    other read must be a prefix: else "incompatible-order"), with no
 *    element twice ("duplicate": an append applied twice);
 *  - flags G1a (a read saw an append of a failed transaction), G1b (a read
 *    ended at a transaction's non-final append to that key), "internal"
 *    (a transaction's read disagrees with its own earlier reads and
 *    appends) and "garbage" (a read saw a value nobody appended);
 *  - builds the dependency graph between committed (ok) and possibly
 *    committed (info) transactions: ww (next version), wr (read the
 *    version written by), rw (read a version the other overwrote next),
 *    and optionally real-time edges (T1 completed before T2 began);
 *  - searches strongly connected components for cycles and classifies
 *    them: G0 (ww only), G1c (ww+wr, at least one wr), G-single (exactly
 *    one rw), G2 (more than one rw), and "realtime" (a cycle that needs a
 *    real-time edge: the history is serializable but not strictly so).
 * Any of these at SERIALIZABLE is an anomaly.
 */
#ifndef RECALL_TESTS_JEPSEN_ELLE_H
#define RECALL_TESTS_JEPSEN_ELLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum elle_status { ELLE_OK = 1, ELLE_FAIL, ELLE_INFO };

struct elle_mop {
    bool append;            /* else a read */
    int64_t key;
    int64_t value;          /* append: the value */
    bool known;             /* read: the result is known (ok transactions) */
    const int64_t *list;    /* read result, borrowed from the caller */
    size_t nlist;
};

struct elle_txn {
    enum elle_status status;
    uint64_t invoke, ret;   /* real-time stamps; ret is UINT64_MAX unless ok */
    int64_t process;
    const struct elle_mop *mops; /* borrowed */
    size_t nmops;
    size_t tag;             /* caller's id, printed in reports */
};

enum elle_anomaly {
    ELLE_G0, ELLE_G1A, ELLE_G1B, ELLE_G1C, ELLE_G_SINGLE, ELLE_G2, ELLE_REALTIME,
    ELLE_INTERNAL, ELLE_INCOMPATIBLE, ELLE_DUPLICATE, ELLE_GARBAGE, ELLE_DUP_APPEND,
    ELLE__COUNT
};

struct elle_opts {
    bool realtime;          /* add real-time edges (strict serializability) */
    FILE *report;           /* explanations of what was found, or NULL */
    size_t max_reports;     /* per anomaly kind (0: 8) */
};

struct elle_result {
    size_t count[ELLE__COUNT];
    size_t txns, keys;
    size_t edges_ww, edges_wr, edges_rw, edges_rt;
    bool cycle_search_truncated; /* the search budget ran out: counts are lower bounds */
};

/* Check txns[0..n).  Returns the number of anomalies found (sum of
 * r->count), 0 for a valid history.  Aborts on allocation failure. */
size_t elle_check(const struct elle_txn *txns, size_t n, const struct elle_opts *opts,
                  struct elle_result *r);
const char *elle_anomaly_name(enum elle_anomaly a);

#endif
