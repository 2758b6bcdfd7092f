/* The client's quorum logic (see quorum.h): counting write acknowledgements
 * and deciding whether a quorum read may return the rows it got.
 *
 * Pure functions over small fixed-size structs, shared by librecall and the
 * protocol simulator so both run exactly the same rules.  Nothing here
 * trusts a replica index without a bounds check: replies come off the
 * network.
 */
#include "config.h"

#include "quorum.h"

#include "proto.h"

#include <string.h>

/* Replicas that make a majority of n (f + 1 for n = 2f + 1). */
static uint32_t majority(uint32_t n)
{
    return n / 2 + 1;
}

static uint32_t popcount32(uint32_t x)
{
    return (uint32_t)__builtin_popcount(x);
}

/* ---- writes ---- */

void quorum_write_init(struct quorum_write *q, uint32_t n, uint64_t req)
{
    memset(q, 0, sizeof *q);
    q->n = n > QUORUM_MAX_REPLICAS ? QUORUM_MAX_REPLICAS : n;
    q->req = req;
}

bool quorum_write_ack(struct quorum_write *q, uint32_t replica, uint64_t view,
                      uint64_t op, uint64_t req)
{
    uint32_t i;

    if (q->committed || req != q->req || replica >= q->n || op == 0)
        return false;
    for (i = 0; i < q->ncand; i++)
        if (q->cand[i].view == view && q->cand[i].op == op)
            break;
    if (i == q->ncand) {
        if (q->ncand < QUORUM_MAX_CANDIDATES) {
            q->ncand++;
        } else {
            /* Every slot is taken: the candidate of the oldest view can no
             * longer gather a quorum that the newer ones could not, so it
             * makes room (a request is rarely re-appended this often). */
            uint32_t old = 0;
            for (uint32_t k = 1; k < q->ncand; k++)
                if (q->cand[k].view < q->cand[old].view)
                    old = k;
            if (q->cand[old].view > view)
                return false;
            i = old;
        }
        q->cand[i].view = view;
        q->cand[i].op = op;
        q->cand[i].acks = 0;
    }
    q->cand[i].acks |= 1u << replica;
    if (popcount32(q->cand[i].acks) < majority(q->n))
        return false;
    q->committed = true;
    q->view = view;
    q->op = op;
    return true;
}

bool quorum_write_committed(struct quorum_write *q, uint64_t view, uint64_t op,
                            uint64_t req)
{
    if (q->committed || req != q->req || op == 0)
        return false;
    q->committed = true;
    q->view = view;
    q->op = op;
    return true;
}

/* ---- linearizable reads ---- */

void quorum_read_init(struct quorum_read *q, uint32_t n, uint32_t x)
{
    memset(q, 0, sizeof *q);
    q->n = n > QUORUM_MAX_REPLICAS ? QUORUM_MAX_REPLICAS : n;
    q->x = x;
}

void quorum_read_status(struct quorum_read *q, uint32_t replica, uint64_t view,
                        uint8_t status, uint64_t op, uint64_t commit, uint64_t applied)
{
    struct quorum_status *s;

    if (replica >= q->n)
        return;
    s = &q->st[replica];
    s->valid = true;
    s->unreachable = false;
    s->view = view;
    s->status = status;
    s->op = op;
    s->commit = commit;
    s->applied = applied;
}

void quorum_read_unreachable(struct quorum_read *q, uint32_t replica)
{
    if (replica >= q->n || q->st[replica].valid)
        return;
    q->st[replica].unreachable = true;
}

/* Every write acknowledged before the read began is durable on a majority
 * Q.  The counted replies (normal status, one view, a majority, all sent
 * after the read began) include a member of Q, whose log holds that write,
 * so M = max L over them is at least its op-number.  X applies only
 * committed entries in op order, so a_X >= M means X's snapshot contains
 * every such write and nothing that was not committed. */
enum quorum_verdict quorum_read_decide(const struct quorum_read *q, uint64_t *fence)
{
    uint64_t top = 0, m = 0;
    uint32_t counted = 0, answered = 0;
    bool x_counted = false;

    for (uint32_t i = 0; i < q->n; i++) {
        if (q->st[i].valid || q->st[i].unreachable)
            answered++;
        if (q->st[i].valid && q->st[i].view > top)
            top = q->st[i].view;
    }
    for (uint32_t i = 0; i < q->n; i++) {
        const struct quorum_status *s = &q->st[i];
        if (!s->valid || s->status != STATUS_NORMAL || s->view != top)
            continue;
        counted++;
        if (s->op > m)
            m = s->op;
        if (i == q->x)
            x_counted = true;
    }
    if (x_counted && counted >= majority(q->n)) {
        if (q->st[q->x].applied >= m)
            return QUORUM_OK;
        if (fence)
            *fence = m;
        return QUORUM_FENCE;
    }
    return answered == q->n ? QUORUM_NO_QUORUM : QUORUM_WAIT;
}
