/* The client's quorum logic, as a pure module (no I/O, no clock).
 *
 * librecall and the protocol simulator both use it, so the rules that make
 * client-counted writes and quorum reads correct live in exactly one place
 * (DESIGN.md section 4).
 *
 * Writes: a request is committed once the client holds f+1 distinct
 * acknowledgements for the same (view, op, request id) -- the primary's
 * PREPARED counts as one, each backup's ACK as one -- or the primary's
 * COMMITTED for it, whichever comes first.
 *
 * Linearizable reads: the query goes to one replica X, a status probe to
 * the others.  Only replies in normal status of the highest view seen count;
 * a majority of them is needed, X's included.  With M = their max op (L):
 * if X's snapshot had applied >= M, X's rows are the answer; otherwise read
 * again with fence M (at X or elsewhere); after a bounded number of tries,
 * read at the primary with a ReadIndex round.
 */
#ifndef RECALL_DRIVER_QUORUM_H
#define RECALL_DRIVER_QUORUM_H

#include <stdbool.h>
#include <stdint.h>

#define QUORUM_MAX_REPLICAS 15

/* ---- writes ---- */

#define QUORUM_MAX_CANDIDATES 4

struct quorum_write {
    uint32_t n;                 /* replicas */
    uint64_t req;               /* request id being counted */
    bool committed;
    uint64_t view, op;          /* where it committed, once committed */
    /* acknowledgement sets per candidate (view, op): a request may be
     * appended again at another op after a view change. */
    struct {
        uint64_t view, op;
        uint32_t acks;          /* bit i: replica i acknowledged */
    } cand[QUORUM_MAX_CANDIDATES];
    uint32_t ncand;
};

void quorum_write_init(struct quorum_write *q, uint32_t n, uint64_t req);
/* PREPARED from the primary or ACK from a backup.  Returns true when the
 * request became committed with this message. Messages for other request
 * ids are ignored. */
bool quorum_write_ack(struct quorum_write *q, uint32_t replica, uint64_t view,
                      uint64_t op, uint64_t req);
/* COMMITTED from the primary. */
bool quorum_write_committed(struct quorum_write *q, uint64_t view, uint64_t op,
                            uint64_t req);

/* ---- linearizable reads ---- */

struct quorum_status {
    bool valid;                 /* a reply arrived */
    bool unreachable;           /* gave up on this replica */
    uint64_t view;
    uint8_t status;             /* enum proto_replica_status */
    uint64_t op, commit, applied;
};

struct quorum_read {
    uint32_t n;
    uint32_t x;                 /* the replica that ran the query */
    struct quorum_status st[QUORUM_MAX_REPLICAS];
};

enum quorum_verdict {
    QUORUM_WAIT = 0,   /* not enough replies yet */
    QUORUM_OK,         /* X's rows are linearizable */
    QUORUM_FENCE,      /* retry with fence *fence (X lagged behind M) */
    QUORUM_NO_QUORUM   /* every replica answered and no majority agrees */
};

void quorum_read_init(struct quorum_read *q, uint32_t n, uint32_t x);
/* A status reply (X's comes with its result header; the others answer the
 * probe).  A later reply from the same replica replaces the earlier one. */
void quorum_read_status(struct quorum_read *q, uint32_t replica, uint64_t view,
                        uint8_t status, uint64_t op, uint64_t commit, uint64_t applied);
/* Mark a replica as unreachable (counts as answered, not as agreeing). */
void quorum_read_unreachable(struct quorum_read *q, uint32_t replica);
enum quorum_verdict quorum_read_decide(const struct quorum_read *q, uint64_t *fence);

#endif
