/* Viewstamped Replication (Liskov & Cowling 2012) as a pure state machine,
 * with durable view state instead of VRR's volatile recovery.
 *
 * Inputs are calls (messages, ticks, durability and apply progress, client
 * submissions); outputs are effects queued here and drained by the caller in
 * order (see vr.h for the effect contract).  docs/PROTOCOL.md describes the
 * protocol as implemented and argues each invariant; the comments here point
 * at the rule a piece of code enforces rather than repeat the argument.
 *
 * The retained log lives in memory in a ring indexed by op-number, so every
 * operation on it is O(1) per entry touched; the caller mirrors it durably.
 * Allocation failure aborts the process (the core cannot emit half of an
 * atomic step); every other failure, including any message that contradicts
 * the protocol, is reported as an error and leaves the state unchanged or
 * consistent.
 */
#include "config.h"

#include "vr.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vr-internal.h"

#ifdef VR_BUG_SWITCHES
int vr_bug_longest_log;
int vr_bug_early_ack;
#endif

/* Rough wire size of an entry beyond its body, for batching. */
#define ENTRY_OVERHEAD 48u

struct slot {
    struct proto_entry e;      /* owned */
    uint64_t prev_req, prev_op; /* the client's table row before this entry */
};

struct ctent {
    struct proto_id id;
    uint64_t req, op;
    bool used;
};

struct dvc {
    bool have;
    uint64_t last_normal, op, commit;
    struct proto_list_entry entries; /* owned; empty for our own record */
};

struct rindex {
    uint64_t token, seq, deadline;
};

enum fetch_mode {
    FETCH_NONE = 0,
    FETCH_CATCHUP,   /* normal backup filling a gap from its primary */
    FETCH_INSTALL,   /* installing the log of `view` from its primary */
    FETCH_COMMITTED  /* new primary fetching committed entries it lacks */
};

struct vr {
    struct vr_config cfg;
    uint32_t quorum;           /* majority: f + 1 */
    uint64_t rng;

    enum vr_status status;
    uint64_t view, last_normal, commit;
    bool declining;
    bool was_ready;

    /* Retained log: ops [log_start, op]; base_view tags op log_start - 1. */
    struct slot *ring;         /* owned; capacity mask + 1, a power of two */
    uint64_t mask;
    uint64_t log_start, op, base_view, durable, applied;

    /* Client table: client id -> latest request in the retained log. */
    struct ctent *ct;          /* owned */
    uint32_t ct_cap, ct_n;

    /* Effect queue (ring). */
    struct vr_effect *eq;      /* owned */
    size_t eq_head, eq_len, eq_cap;

    uint64_t now;              /* ticks since vr_new */
    uint64_t deadline;         /* view-change / recovery / primary timeout */

    /* Primary, normal status. */
    uint64_t peer_op[VR_MAX_REPLICAS];
    uint64_t peer_seq[VR_MAX_REPLICAS];
    uint64_t peer_heard[VR_MAX_REPLICAS];
    uint64_t seq, sent, last_send, start_op, prepared_upto, quorum_tick;
    /* A majority (us included) acknowledged the view's start log in this
     * view: the view is established, so no later view can start from an
     * older log.  Entries inherited as committed do not make it so. */
    bool established;
    uint32_t acked_view;       /* bit i: replica i sent PREPARE_OK in this view */
    struct rindex *ri;         /* owned; pending ReadIndex rounds, seq order */
    size_t ri_n, ri_cap;
    uint64_t ri_next;

    /* Backup. */
    uint64_t seq_heard, acked_upto;

    /* View change. */
    uint32_t svc;              /* bit i: replica i sent START_VIEW_CHANGE(view) */
    bool dvc_sent;
    uint64_t vc_resend;
    struct dvc dvc[VR_MAX_REPLICAS];
    int chosen;                /* DVC whose log won, while fetching its commits */
    uint64_t chosen_maxc;

    /* Installing a view's log (non-normal status) and fetching entries. */
    bool inst, inst_wait;
    uint64_t inst_target, inst_commit, agreed;
    enum fetch_mode fmode;
    uint32_t fsrc;
    uint64_t fnext, ftick;
    bool transfer_sent;

    /* Recovery after a restart. */
    uint64_t nonce, recovery_sent;
    /* A primary that restarts never leads the same view again: entries it
     * created before the crash carry that view's tag and may survive on
     * backups, so (op, view) would no longer name one entry. */
    uint64_t min_lead_view;
};

/* ------------------------------------------------------------------ utils */

static void oom(void) __attribute__((noreturn));
static void oom(void)
{
    fprintf(stderr, "recall vr: out of memory\n");
    abort();
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *q = calloc(n ? n : 1, sz ? sz : 1);
    if (!q)
        oom();
    return q;
}

static uint64_t rng_next(struct vr *vr)
{
    /* xorshift64*: deterministic for a given config seed. */
    uint64_t x = vr->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    vr->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint64_t random_timeout(struct vr *vr)
{
    uint64_t t = vr->cfg.timeout_ticks;
    return t + rng_next(vr) % t;
}

static uint32_t primary_of(const struct vr *vr, uint64_t view)
{
    return (uint32_t)(view % vr->cfg.n);
}

static bool is_primary(const struct vr *vr)
{
    return primary_of(vr, vr->view) == vr->cfg.self;
}

static bool id_is_zero(const struct proto_id *id)
{
    for (size_t i = 0; i < sizeof id->b; i++)
        if (id->b[i])
            return false;
    return true;
}

static int popcount32(uint32_t x)
{
    return __builtin_popcount(x);
}

/* ---------------------------------------------------------------- effects */

static struct vr_effect *eff_push(struct vr *vr, enum vr_effect_type type)
{
    struct vr_effect *e;
    if (vr->eq_len == vr->eq_cap) {
        size_t ncap = vr->eq_cap ? vr->eq_cap * 2 : 64;
        struct vr_effect *q = xcalloc(ncap, sizeof *q);
        for (size_t i = 0; i < vr->eq_len; i++)
            q[i] = vr->eq[(vr->eq_head + i) & (vr->eq_cap - 1)];
        free(vr->eq);
        vr->eq = q;
        vr->eq_cap = ncap;
        vr->eq_head = 0;
    }
    e = &vr->eq[(vr->eq_head + vr->eq_len) & (vr->eq_cap - 1)];
    vr->eq_len++;
    memset(e, 0, sizeof *e);
    e->type = type;
    return e;
}

/* An APPEND still queued for an op that was just truncated must not run:
 * the caller reads the entry through vr_entry() when it executes the
 * effect, and by then the op may hold another entry or none. */
static void eff_cancel_appends_above(struct vr *vr, uint64_t op)
{
    for (size_t i = 0; i < vr->eq_len; i++) {
        struct vr_effect *e = &vr->eq[(vr->eq_head + i) & (vr->eq_cap - 1)];
        if (e->type == VR_EFF_APPEND && e->op > op)
            e->type = 0;
    }
}

static void emit_role(struct vr *vr)
{
    eff_push(vr, VR_EFF_ROLE);
}

static void persist(struct vr *vr)
{
    struct vr_effect *e = eff_push(vr, VR_EFF_PERSIST);
    e->persist.view = vr->view;
    e->persist.last_normal = vr->last_normal;
    e->persist.commit = vr->commit;
}

/* Queue msg for replica `to`; ownership of msg's contents moves. */
static void send_to(struct vr *vr, uint32_t to, struct proto_msg *m)
{
    struct vr_effect *e = eff_push(vr, VR_EFF_SEND);
    e->to = to;
    e->msg = *m;
    memset(m, 0, sizeof *m);
}

static void send_all(struct vr *vr, struct proto_msg *m)
{
    uint32_t last = PROTO_NO_REPLICA;
    for (uint32_t i = 0; i < vr->cfg.n; i++)
        if (i != vr->cfg.self)
            last = i;
    for (uint32_t i = 0; i < vr->cfg.n; i++) {
        struct proto_msg c;
        if (i == vr->cfg.self)
            continue;
        if (i == last) {
            send_to(vr, i, m);
            return;
        }
        if (proto_msg_copy(&c, m) < 0)
            oom();
        send_to(vr, i, &c);
    }
    proto_msg_free(m);
}

static void send_client(struct vr *vr, const struct proto_id *client, struct proto_msg *m)
{
    struct vr_effect *e = eff_push(vr, VR_EFF_SEND_CLIENT);
    e->client = *client;
    e->msg = *m;
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ client table */

static uint32_t ct_hash(const struct proto_id *id)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof id->b; i++)
        h = (h ^ id->b[i]) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

static struct ctent *ct_find(const struct vr *vr, const struct proto_id *id)
{
    if (!vr->ct_cap)
        return NULL;
    for (uint32_t i = ct_hash(id) & (vr->ct_cap - 1);; i = (i + 1) & (vr->ct_cap - 1)) {
        struct ctent *c = &vr->ct[i];
        if (!c->used)
            return NULL;
        if (!memcmp(c->id.b, id->b, sizeof id->b))
            return c;
    }
}

static void ct_insert_raw(struct ctent *tab, uint32_t cap, const struct ctent *src)
{
    for (uint32_t i = ct_hash(&src->id) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (!tab[i].used) {
            tab[i] = *src;
            return;
        }
    }
}

/* Backward-shift deletion keeps linear probing tombstone-free. */
static void ct_delete(struct vr *vr, struct ctent *c)
{
    uint32_t mask = vr->ct_cap - 1;
    uint32_t i = (uint32_t)(c - vr->ct);
    uint32_t j = i;
    vr->ct[i].used = false;
    vr->ct_n--;
    for (;;) {
        uint32_t k;
        j = (j + 1) & mask;
        if (!vr->ct[j].used)
            return;
        k = ct_hash(&vr->ct[j].id) & mask;
        /* Move j into the hole at i unless its home k lies cyclically in (i, j]. */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        vr->ct[i] = vr->ct[j];
        vr->ct[j].used = false;
        i = j;
    }
}

/* Set the client's row; req == 0 removes it. */
static void ct_set(struct vr *vr, const struct proto_id *id, uint64_t req, uint64_t op)
{
    struct ctent *c = ct_find(vr, id);
    if (req == 0) {
        if (c)
            ct_delete(vr, c);
        return;
    }
    if (c) {
        c->req = req;
        c->op = op;
        return;
    }
    if ((vr->ct_n + 1) * 4 > vr->ct_cap * 3) {
        uint32_t ncap = vr->ct_cap ? vr->ct_cap * 2 : 64;
        struct ctent *t = xcalloc(ncap, sizeof *t);
        for (uint32_t i = 0; i < vr->ct_cap; i++)
            if (vr->ct[i].used)
                ct_insert_raw(t, ncap, &vr->ct[i]);
        free(vr->ct);
        vr->ct = t;
        vr->ct_cap = ncap;
    }
    {
        struct ctent n = {.id = *id, .req = req, .op = op, .used = true};
        ct_insert_raw(vr->ct, vr->ct_cap, &n);
        vr->ct_n++;
    }
}

static void ct_clear(struct vr *vr)
{
    if (vr->ct_cap)
        memset(vr->ct, 0, vr->ct_cap * sizeof *vr->ct);
    vr->ct_n = 0;
}

/* -------------------------------------------------------------------- log */

static struct slot *slot_at(const struct vr *vr, uint64_t op)
{
    return &vr->ring[op & vr->mask];
}

static bool in_log(const struct vr *vr, uint64_t op)
{
    return op >= vr->log_start && op <= vr->op && op != 0;
}

/* View tag of entry `op`, if known. */
static bool tag_of(const struct vr *vr, uint64_t op, uint64_t *view)
{
    if (op == 0) {
        *view = 0;
        return true;
    }
    if (op == vr->log_start - 1) {
        *view = vr->base_view;
        return true;
    }
    if (!in_log(vr, op))
        return false;
    *view = slot_at(vr, op)->e.view;
    return true;
}

static void ring_reserve(struct vr *vr)
{
    uint64_t used = vr->op - vr->log_start + 1; /* after the append */
    uint64_t cap = vr->mask + 1, ncap;
    struct slot *r;
    if (used + 1 <= cap)
        return;
    ncap = cap * 2;
    r = xcalloc(ncap, sizeof *r);
    for (uint64_t o = vr->log_start; o <= vr->op; o++)
        r[o & (ncap - 1)] = vr->ring[o & vr->mask];
    free(vr->ring);
    vr->ring = r;
    vr->mask = ncap - 1;
}

/* Append a copy of ent as op + 1, maintaining the client table. */
static void log_append(struct vr *vr, const struct proto_entry *ent, bool effect)
{
    struct slot *s;
    assert(ent->op == vr->op + 1);
    ring_reserve(vr);
    s = slot_at(vr, ent->op);
    memset(s, 0, sizeof *s);
    if (proto_entry_copy(&s->e, ent) < 0)
        oom();
    vr->op = ent->op;
    if (!id_is_zero(&ent->client)) {
        struct ctent *c = ct_find(vr, &ent->client);
        s->prev_req = c ? c->req : 0;
        s->prev_op = c ? c->op : 0;
        if (ent->req > s->prev_req)
            ct_set(vr, &ent->client, ent->req, ent->op);
    }
    if (effect)
        eff_push(vr, VR_EFF_APPEND)->op = ent->op;
}

/* Remove every entry above `op` (never a committed one). */
static void log_truncate(struct vr *vr, uint64_t op)
{
    assert(op >= vr->commit);
    if (op >= vr->op)
        return;
    for (uint64_t o = vr->op; o > op && o >= vr->log_start; o--) {
        struct slot *s = slot_at(vr, o);
        if (!id_is_zero(&s->e.client)) {
            struct ctent *c = ct_find(vr, &s->e.client);
            if (c && c->op == o)
                ct_set(vr, &s->e.client, s->prev_req, s->prev_op);
        }
        proto_entry_free(&s->e);
    }
    vr->op = op;
    if (vr->durable > op)
        vr->durable = op;
    if (vr->sent > op)
        vr->sent = op;
    if (vr->acked_upto > op)
        vr->acked_upto = op;
    if (vr->prepared_upto > op)
        vr->prepared_upto = op;
    eff_cancel_appends_above(vr, op);
    eff_push(vr, VR_EFF_TRUNCATE)->op = op;
}

static void log_drop_all(struct vr *vr)
{
    for (uint64_t o = vr->log_start; o <= vr->op && o != 0; o++)
        proto_entry_free(&slot_at(vr, o)->e);
    ct_clear(vr);
}

static size_t entry_size(const struct proto_entry *e)
{
    return (size_t)e->body.len + ENTRY_OVERHEAD;
}

/* Last op of a batch starting at `from`, at most `to`, within the byte cap
 * (always at least one entry). */
static uint64_t batch_end(const struct vr *vr, uint64_t from, uint64_t to)
{
    size_t bytes = 0;
    uint64_t o;
    for (o = from; o <= to; o++) {
        bytes += entry_size(&slot_at(vr, o)->e);
        if (bytes > vr->cfg.max_batch_bytes && o > from)
            return o - 1;
    }
    return to;
}

static void fill_entries(const struct vr *vr, struct proto_list_entry *l, uint64_t from,
                         uint64_t to)
{
    uint32_t n = from > to ? 0 : (uint32_t)(to - from + 1);
    if (!n)
        return;
    if (proto_list_entry_resize(l, n) < 0)
        oom();
    for (uint32_t i = 0; i < n; i++)
        if (proto_entry_copy(&l->v[i], &slot_at(vr, from + i)->e) < 0)
            oom();
}

/* Entries from `from` up to `limit` that we hold, batch-capped. */
static void fill_from(const struct vr *vr, struct proto_list_entry *l, uint64_t from,
                      uint64_t limit)
{
    if (limit > vr->op)
        limit = vr->op;
    if (from < vr->log_start || from > limit || from == 0)
        return;
    fill_entries(vr, l, from, batch_end(vr, from, limit));
}

/* ---------------------------------------------------------------- status */

static void set_status(struct vr *vr, enum vr_status s)
{
    if (vr->status == s)
        return;
    /* Every transition is allowed except leaving VIEW_CHANGE/RECOVERING
     * for NORMAL without an installed log, which callers guarantee. */
    vr->status = s;
    emit_role(vr);
}

static uint32_t heard_recently(const struct vr *vr)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < vr->cfg.n; i++)
        if (i != vr->cfg.self && vr->now - vr->peer_heard[i] < vr->cfg.timeout_ticks)
            k++;
    return k;
}

static bool ready(const struct vr *vr)
{
    return vr->status == VR_NORMAL && is_primary(vr) && vr->established &&
           vr->commit >= vr->start_op && vr->applied >= vr->start_op &&
           vr->last_normal == vr->view && heard_recently(vr) + 1 >= vr->quorum;
}

/* Called at the end of every input: announce readiness flips. */
static void after_input(struct vr *vr)
{
    bool r = ready(vr);
    if (r != vr->was_ready) {
        vr->was_ready = r;
        emit_role(vr);
    }
}

/* ---------------------------------------------------------------- commit */

static void send_committed(struct vr *vr, uint64_t from, uint64_t to)
{
    for (uint64_t o = from; o <= to; o++) {
        const struct proto_entry *e;
        struct proto_msg m;
        if (!in_log(vr, o))
            continue;
        e = &slot_at(vr, o)->e;
        if (id_is_zero(&e->client))
            continue;
        memset(&m, 0, sizeof m);
        m.type = MSG_COMMITTED;
        m.u.committed.view = vr->view;
        m.u.committed.op = o;
        m.u.committed.req = e->req;
        send_client(vr, &e->client, &m);
    }
}

static void commit_to(struct vr *vr, uint64_t c)
{
    uint64_t old = vr->commit;
    if (c > vr->op)
        c = vr->op;
    if (c <= old)
        return;
    vr->commit = c;
    eff_push(vr, VR_EFF_COMMIT)->op = c;
    if (vr->status == VR_NORMAL && is_primary(vr))
        send_committed(vr, old + 1, c);
}

/* commit = highest op durable on a majority of this view's replicas, the
 * primary's own copy counted only once durable and once the view's log is
 * its last normal one. */
static void recompute_commit(struct vr *vr)
{
    uint64_t v[VR_MAX_REPLICAS];
    uint32_t n = vr->cfg.n;
    if (vr->status != VR_NORMAL || !is_primary(vr))
        return;
    for (uint32_t i = 0; i < n; i++)
        v[i] = i == vr->cfg.self ? (vr->last_normal == vr->view ? vr->durable : 0)
                                 : vr->peer_op[i];
#ifdef VR_BUG_SWITCHES
    if (vr_bug_early_ack)
        v[vr->cfg.self] = vr->op;
#endif
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && v[j] > v[j - 1]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    if (!vr->established) {
        uint32_t k = vr->last_normal == vr->view && vr->durable >= vr->start_op;
        for (uint32_t i = 0; i < n; i++)
            if (i != vr->cfg.self && (vr->acked_view >> i & 1) && vr->peer_op[i] >= vr->start_op)
                k++;
        vr->established = k >= vr->quorum;
    }
    commit_to(vr, v[vr->quorum - 1]);
}

/* ------------------------------------------------------------- ReadIndex */

static void ri_finish_front(struct vr *vr, bool ok)
{
    struct vr_effect *e = eff_push(vr, VR_EFF_READ_INDEX);
    e->token = vr->ri[0].token;
    e->ok = ok;
    memmove(vr->ri, vr->ri + 1, (vr->ri_n - 1) * sizeof *vr->ri);
    vr->ri_n--;
}

static void ri_fail_all(struct vr *vr)
{
    while (vr->ri_n)
        ri_finish_front(vr, false);
}

static void ri_check(struct vr *vr)
{
    while (vr->ri_n) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < vr->cfg.n; i++)
            if (i != vr->cfg.self && vr->peer_seq[i] >= vr->ri[0].seq)
                k++;
        if (k + 1 < vr->quorum)
            return;
        ri_finish_front(vr, true);
    }
}

/* ------------------------------------------------------------- messages */

static void send_heartbeat(struct vr *vr)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_COMMIT;
    m.u.commit.view = vr->view;
    m.u.commit.commit = vr->commit;
    m.u.commit.op = vr->op;
    m.u.commit.seq = ++vr->seq;
    vr->last_send = vr->now;
    send_all(vr, &m);
}

static void send_prepare_ok(struct vr *vr)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_PREPARE_OK;
    m.u.prepare_ok.view = vr->view;
    m.u.prepare_ok.op = vr->durable;
    m.u.prepare_ok.replica = vr->cfg.self;
    m.u.prepare_ok.seq = vr->seq_heard;
    send_to(vr, primary_of(vr, vr->view), &m);
}

static void send_svc(struct vr *vr)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_START_VIEW_CHANGE;
    m.u.start_view_change.view = vr->view;
    m.u.start_view_change.replica = vr->cfg.self;
    vr->vc_resend = vr->now;
    send_all(vr, &m);
}

static void send_start_view(struct vr *vr, uint32_t to, uint64_t from)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_START_VIEW;
    m.u.start_view.view = vr->view;
    m.u.start_view.op = vr->op;
    m.u.start_view.commit = vr->commit;
    if (from < vr->log_start)
        from = vr->log_start;
    if (from == 0)
        from = 1;
    m.u.start_view.from = from;
    fill_from(vr, &m.u.start_view.entries, from, vr->op);
    send_to(vr, to, &m);
}

static void fetch_send(struct vr *vr)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_GET_ENTRIES;
    m.u.get_entries.view = vr->view;
    m.u.get_entries.from = vr->fnext;
    m.u.get_entries.replica = vr->cfg.self;
    vr->ftick = vr->now;
    send_to(vr, vr->fsrc, &m);
}

static void fetch_start(struct vr *vr, enum fetch_mode mode, uint32_t src, uint64_t next)
{
    vr->fmode = mode;
    vr->fsrc = src;
    vr->fnext = next;
    fetch_send(vr);
}

static void need_transfer(struct vr *vr, uint64_t op)
{
    vr->fmode = FETCH_NONE;
    if (vr->transfer_sent)
        return;
    vr->transfer_sent = true;
    eff_push(vr, VR_EFF_NEED_TRANSFER)->op = op;
}

static void send_recovery(struct vr *vr)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_RECOVERY;
    m.u.recovery.replica = vr->cfg.self;
    m.u.recovery.nonce = vr->nonce;
    m.u.recovery.commit = vr->commit;
    vr->recovery_sent = vr->now;
    send_all(vr, &m);
}

/* ---------------------------------------------------- merging other logs */

/* Make our log agree with an authoritative entry, given that it already
 * agrees at ent->op - 1.  An entry we hold with the same view tag is the
 * same entry (log matching), so it is kept: agreeing entries are never
 * truncated.  `strict`: our log is known to be a prefix of the source's, so
 * any disagreement is a protocol violation. */
static int merge_one(struct vr *vr, const struct proto_entry *ent, bool strict,
                     struct err *e)
{
    uint64_t o = ent->op, tag;
    if (o < vr->log_start)
        return 0; /* compacted, hence committed and applied */
    if (o <= vr->op) {
        tag_of(vr, o, &tag);
        if (tag == ent->view)
            return 0;
        if (o <= vr->commit || strict)
            return err_set(e, ERR_PROTOCOL,
                           "log divergence at op %llu (view %llu here, %llu there; commit %llu)",
                           (unsigned long long)o, (unsigned long long)tag,
                           (unsigned long long)ent->view, (unsigned long long)vr->commit);
        log_truncate(vr, o - 1);
    }
    if (o != vr->op + 1)
        return err_set(e, ERR_PROTOCOL, "entry %llu does not follow op %llu",
                       (unsigned long long)o, (unsigned long long)vr->op);
    log_append(vr, ent, true);
    return 0;
}

/* Merge l's entries from *at + 1 while they are consecutive and <= limit. */
static int absorb(struct vr *vr, const struct proto_list_entry *l, uint64_t limit,
                  uint64_t *at, bool strict, struct err *e)
{
    for (uint32_t i = 0; i < l->n; i++) {
        const struct proto_entry *ent = &l->v[i];
        if (ent->op > limit)
            break;
        if (ent->op <= *at)
            continue;
        if (ent->op != *at + 1)
            break;
        if (merge_one(vr, ent, strict, e) < 0)
            return -1;
        *at = ent->op;
    }
    return 0;
}

/* ------------------------------------------------------------ view change */

static void dvc_clear(struct vr *vr)
{
    for (uint32_t i = 0; i < VR_MAX_REPLICAS; i++) {
        proto_list_entry_resize(&vr->dvc[i].entries, 0);
        free(vr->dvc[i].entries.v);
        memset(&vr->dvc[i], 0, sizeof vr->dvc[i]);
    }
    vr->chosen = -1;
}

/* Move to view v (v >= view): persisted before anything is sent in it. */
static void adopt_view(struct vr *vr, uint64_t v)
{
    assert(v >= vr->view);
    if (v > vr->view) {
        vr->view = v;
        persist(vr);
        emit_role(vr);
    }
    ri_fail_all(vr);
    vr->svc = 0;
    vr->dvc_sent = false;
    dvc_clear(vr);
    vr->inst = vr->inst_wait = false;
    vr->fmode = FETCH_NONE;
    vr->seq_heard = 0;
    if (vr->status == VR_NORMAL)
        set_status(vr, VR_VIEW_CHANGE);
    vr->deadline = vr->now + random_timeout(vr);
}

static int choose(struct vr *vr, struct err *e);

static void maybe_send_dvc(struct vr *vr, struct err *e)
{
    uint32_t p = primary_of(vr, vr->view);
    if (vr->status != VR_VIEW_CHANGE || vr->dvc_sent || vr->declining)
        return;
    if ((uint32_t)popcount32(vr->svc & ~(1u << vr->cfg.self)) + 1 < vr->quorum)
        return;
    vr->dvc_sent = true;
    if (p == vr->cfg.self) {
        struct dvc *d = &vr->dvc[p];
        d->have = true;
        d->last_normal = vr->last_normal;
        d->op = vr->op;
        d->commit = vr->commit;
        choose(vr, e);
        return;
    }
    {
        struct proto_msg m;
        memset(&m, 0, sizeof m);
        m.type = MSG_DO_VIEW_CHANGE;
        m.u.do_view_change.view = vr->view;
        m.u.do_view_change.last_normal = vr->last_normal;
        m.u.do_view_change.op = vr->op;
        m.u.do_view_change.commit = vr->commit;
        m.u.do_view_change.replica = vr->cfg.self;
        if (vr->op > vr->commit)
            fill_entries(vr, &m.u.do_view_change.entries, vr->commit + 1, vr->op);
        send_to(vr, p, &m);
    }
}

static void start_view_change(struct vr *vr, uint64_t v, struct err *e)
{
    adopt_view(vr, v);
    set_status(vr, VR_VIEW_CHANGE);
    if (vr->declining)
        return;
    vr->svc |= 1u << vr->cfg.self;
    send_svc(vr);
    maybe_send_dvc(vr, e);
}

/* Backups get the log from just above their commit number when their DVC
 * told it; others get it from the lowest commit number known. */
static int start_new_view(struct vr *vr, uint64_t maxc, struct err *e)
{
    uint64_t minc = UINT64_MAX;
    if (vr->commit > vr->op || maxc > vr->op)
        return err_set(e, ERR_PROTOCOL, "chosen log ends at %llu below commit %llu",
                       (unsigned long long)vr->op,
                       (unsigned long long)(maxc > vr->commit ? maxc : vr->commit));
    for (uint32_t i = 0; i < vr->cfg.n; i++)
        if (vr->dvc[i].have && vr->dvc[i].commit < minc)
            minc = vr->dvc[i].commit;
    set_status(vr, VR_NORMAL);
    vr->start_op = vr->op;
    vr->established = false;
    vr->acked_view = 0;
    vr->seq = 0;
    vr->sent = vr->op;
    vr->prepared_upto = vr->op;
    vr->last_send = vr->now;
    vr->quorum_tick = vr->now;
    for (uint32_t i = 0; i < vr->cfg.n; i++) {
        vr->peer_op[i] = 0;
        vr->peer_seq[i] = 0;
        vr->peer_heard[i] = vr->now;
    }
    vr->inst = vr->inst_wait = false;
    vr->fmode = FETCH_NONE;
    commit_to(vr, maxc);
    for (uint32_t i = 0; i < vr->cfg.n; i++) {
        if (i == vr->cfg.self)
            continue;
        if (vr->dvc[i].have)
            send_start_view(vr, i, vr->dvc[i].commit + 1);
        else
            send_start_view(vr, i, minc == UINT64_MAX ? vr->op + 1 : minc + 1);
    }
    dvc_clear(vr);
    if (vr->durable >= vr->start_op && vr->last_normal != vr->view) {
        vr->last_normal = vr->view;
        persist(vr);
    }
    recompute_commit(vr);
    return 0;
}

/* Our log agrees with the chosen one through its commit number: take its
 * suffix, drop anything beyond it, and start the view. */
static int adopt_chosen(struct vr *vr, int x, struct err *e)
{
    struct dvc *d = &vr->dvc[x];
    uint64_t maxc = vr->chosen_maxc;
    /* Entries at or below our commit number are compared, not merged. */
    for (uint32_t i = 0; i < d->entries.n; i++)
        if (merge_one(vr, &d->entries.v[i], false, e) < 0)
            return -1;
    if (vr->op > d->op) {
        if (vr->commit > d->op)
            return err_set(e, ERR_PROTOCOL, "chosen log (op %llu) lacks committed op %llu",
                           (unsigned long long)d->op, (unsigned long long)vr->commit);
        log_truncate(vr, d->op);
    }
    vr->chosen = -1;
    return start_new_view(vr, maxc, e);
}

static bool dvc_better(const struct vr *vr, uint32_t i, uint32_t j)
{
    const struct dvc *a = &vr->dvc[i], *b = &vr->dvc[j];
#ifdef VR_BUG_SWITCHES
    if (vr_bug_longest_log) {
        if (a->op != b->op)
            return a->op > b->op;
        return i == vr->cfg.self;
    }
#endif
    if (a->last_normal != b->last_normal)
        return a->last_normal > b->last_normal;
    if (a->op != b->op)
        return a->op > b->op;
    return i == vr->cfg.self; /* ties: our own log saves a fetch */
}

/* The new primary holds a majority of DO_VIEW_CHANGEs: take the log with
 * the largest (last_normal, op) -- never simply the longest. */
static int choose(struct vr *vr, struct err *e)
{
    int best = -1;
    uint32_t have = 0;
    uint64_t maxc = 0;
    struct dvc *d;
    uint64_t tag;

    if (vr->status != VR_VIEW_CHANGE || primary_of(vr, vr->view) != vr->cfg.self ||
        vr->chosen >= 0 || vr->declining || vr->view < vr->min_lead_view)
        return 0;
    for (uint32_t i = 0; i < vr->cfg.n; i++) {
        if (!vr->dvc[i].have)
            continue;
        have++;
        if (vr->dvc[i].commit > maxc)
            maxc = vr->dvc[i].commit;
        if (best < 0 || dvc_better(vr, i, (uint32_t)best))
            best = (int)i;
    }
    if (have < vr->quorum)
        return 0;
    /* Choose with our own log too: it is at hand, and a larger set than a
     * quorum only helps. */
    if (!vr->dvc[vr->cfg.self].have) {
        struct dvc *own = &vr->dvc[vr->cfg.self];
        own->have = true;
        own->last_normal = vr->last_normal;
        own->op = vr->op;
        own->commit = vr->commit;
        if (own->commit > maxc)
            maxc = own->commit;
        if (dvc_better(vr, vr->cfg.self, (uint32_t)best))
            best = (int)vr->cfg.self;
    }
    vr->chosen_maxc = maxc;
    if ((uint32_t)best == vr->cfg.self)
        return start_new_view(vr, maxc, e);
    d = &vr->dvc[best];
    /* Our log agrees with the chosen one through its commit number if that
     * is within our own committed prefix, or if we hold its first suffix
     * entry with the same view tag (log matching). */
    if (d->commit <= vr->commit ||
        (d->entries.n && tag_of(vr, d->entries.v[0].op, &tag) &&
         tag == d->entries.v[0].view))
        return adopt_chosen(vr, best, e);
    /* Otherwise fetch the committed entries we lack from the chosen one. */
    vr->chosen = best;
    vr->agreed = vr->commit;
    fetch_start(vr, FETCH_COMMITTED, (uint32_t)best, vr->commit + 1);
    return 0;
}

/* ---------------------------------------------------------- installation */

static void begin_install(struct vr *vr, uint64_t target, uint64_t commit)
{
    if (!vr->inst) {
        vr->inst = true;
        vr->inst_wait = false;
        vr->agreed = vr->commit;
        vr->inst_target = target;
        vr->inst_commit = commit;
    } else {
        if (target > vr->inst_target)
            vr->inst_target = target;
        if (commit > vr->inst_commit)
            vr->inst_commit = commit;
    }
    vr->deadline = vr->now + random_timeout(vr);
}

static void finish_install(struct vr *vr)
{
    vr->inst = vr->inst_wait = false;
    vr->fmode = FETCH_NONE;
    vr->last_normal = vr->view;
    persist(vr); /* after the log is durable, before any PREPARE_OK/ACK */
    set_status(vr, VR_NORMAL);
    commit_to(vr, vr->inst_commit);
    vr->acked_upto = vr->op;
    vr->transfer_sent = false;
    vr->deadline = vr->now + random_timeout(vr);
    send_prepare_ok(vr);
}

/* Installed once our log agrees with the view's log through the target:
 * anything we hold beyond the agreed point is dropped (it is no committed
 * entry: see PROTOCOL.md), and last_normal follows once it is durable. */
static void check_install(struct vr *vr)
{
    uint64_t tag;
    if (!vr->inst || vr->inst_wait)
        return;
    /* An entry tagged with the view we install was made by that view's
     * primary, which never truncates: by log matching our whole log agrees
     * with the view's log up to it.  (Regression: a late PREPARE from the
     * primary gave an old target, and the replica truncated an entry of the
     * view that it had acknowledged and that had committed.) */
    if (vr->op > vr->agreed && tag_of(vr, vr->op, &tag) && tag == vr->view)
        vr->agreed = vr->op;
    /* The view's log holds every committed entry, so a target below our
     * commit number comes from an old message (or a deposed primary):
     * fetch to learn the primary's current L before finishing. */
    if (vr->agreed < vr->inst_target || vr->inst_target < vr->commit) {
        if (vr->fmode != FETCH_INSTALL)
            fetch_start(vr, FETCH_INSTALL, primary_of(vr, vr->view), vr->agreed + 1);
        return;
    }
    vr->fmode = FETCH_NONE;
    if (vr->op > vr->agreed)
        log_truncate(vr, vr->agreed);
    if (vr->durable >= vr->agreed)
        finish_install(vr);
    else
        vr->inst_wait = true;
}

/* A message from the primary of view v, which we have not installed. */
static void learn_view(struct vr *vr, uint64_t v, uint64_t target, uint64_t commit)
{
    if (v > vr->view)
        adopt_view(vr, v);
    if (vr->status == VR_NORMAL)
        return;
    begin_install(vr, target, commit);
    /* Fetches what is missing, or finishes at once when our log already
     * agrees through the target (regression: a replica that was caught up
     * fetched from target + 1, got nothing, and stayed recovering). */
    check_install(vr);
}

/* -------------------------------------------------------------- handlers */

static int on_prepare(struct vr *vr, uint32_t from, const struct proto_prepare *m,
                      struct err *e)
{
    uint64_t first, last, tag;
    bool appended = false;

    if (m->view < vr->view)
        return 0;
    last = m->entries.n ? m->entries.v[m->entries.n - 1].op : 0;
    if (m->view > vr->view || vr->status != VR_NORMAL) {
        learn_view(vr, m->view, last, m->commit);
        if (m->view == vr->view && m->seq > vr->seq_heard)
            vr->seq_heard = m->seq;
        return 0;
    }
    if (is_primary(vr))
        return err_set(e, ERR_PROTOCOL, "PREPARE from %u in my own view", from);
    vr->deadline = vr->now + random_timeout(vr);
    if (m->seq > vr->seq_heard)
        vr->seq_heard = m->seq;
    if (!m->entries.n) {
        commit_to(vr, m->commit);
        send_prepare_ok(vr);
        return 0;
    }
    first = m->entries.v[0].op;
    if (first > vr->op + 1) {
        /* A gap (lost or reordered PREPARE): fetch it from the primary. */
        if (vr->fmode != FETCH_CATCHUP)
            fetch_start(vr, FETCH_CATCHUP, from, vr->op + 1);
        commit_to(vr, m->commit);
        return 0;
    }
    /* Our log is a prefix of the primary's in normal status, so it agrees
     * at first - 1; the view tag check states that contract.  (At or below
     * the commit number agreement is given, and a log base's tag may be
     * unknown: vr_set_log_base with view 0.) */
    commit_to(vr, m->commit);
    if (first - 1 > vr->commit && first - 1 > m->commit && tag_of(vr, first - 1, &tag) &&
        tag != m->prev_view)
        return err_set(e, ERR_PROTOCOL, "PREPARE at %llu: previous entry view %llu, mine %llu",
                       (unsigned long long)first, (unsigned long long)m->prev_view,
                       (unsigned long long)tag);
    for (uint32_t i = 0; i < m->entries.n; i++) {
        uint64_t before = vr->op;
        if (merge_one(vr, &m->entries.v[i], true, e) < 0)
            return -1;
        if (vr->op > before)
            appended = true;
    }
    commit_to(vr, m->commit);
#ifdef VR_BUG_SWITCHES
    if (vr_bug_early_ack && appended) {
        uint64_t d = vr->durable;
        vr->durable = vr->op;
        send_prepare_ok(vr);
        vr->durable = d;
    }
#endif
    if (!appended)
        send_prepare_ok(vr);
    return 0;
}

static int on_prepare_ok(struct vr *vr, uint32_t from, const struct proto_prepare_ok *m,
                         struct err *e)
{
    if (m->view != vr->view || vr->status != VR_NORMAL || !is_primary(vr))
        return 0;
    if (m->op > vr->op)
        return err_set(e, ERR_PROTOCOL, "PREPARE_OK for op %llu beyond my log (%llu)",
                       (unsigned long long)m->op, (unsigned long long)vr->op);
    if (m->op > vr->peer_op[from])
        vr->peer_op[from] = m->op;
    vr->acked_view |= 1u << from;
    if (m->seq > vr->peer_seq[from])
        vr->peer_seq[from] = m->seq;
    vr->peer_heard[from] = vr->now;
    recompute_commit(vr);
    ri_check(vr);
    return 0;
}

static int on_commit(struct vr *vr, uint32_t from, const struct proto_commit *m,
                     struct err *e)
{
    if (m->view < vr->view)
        return 0;
    if (m->view > vr->view || vr->status != VR_NORMAL) {
        learn_view(vr, m->view, m->op, m->commit);
        if (m->view == vr->view && m->seq > vr->seq_heard)
            vr->seq_heard = m->seq;
        return 0;
    }
    if (is_primary(vr))
        return err_set(e, ERR_PROTOCOL, "COMMIT from %u in my own view", from);
    vr->deadline = vr->now + random_timeout(vr);
    if (m->seq > vr->seq_heard)
        vr->seq_heard = m->seq;
    commit_to(vr, m->commit);
    if (m->op > vr->op && vr->fmode != FETCH_CATCHUP)
        fetch_start(vr, FETCH_CATCHUP, from, vr->op + 1);
    send_prepare_ok(vr);
    return 0;
}

static int on_svc(struct vr *vr, uint32_t from, const struct proto_start_view_change *m,
                  struct err *e)
{
    if (m->view < vr->view)
        return 0;
    if (m->view == vr->view && vr->status == VR_NORMAL) {
        /* The sender missed our START_VIEW: repeat it (it fetches the log). */
        if (is_primary(vr))
            send_start_view(vr, from, vr->op + 1);
        return 0;
    }
    if (m->view > vr->view || vr->status != VR_VIEW_CHANGE)
        start_view_change(vr, m->view, e);
    vr->svc |= 1u << from;
    maybe_send_dvc(vr, e);
    return e && e->code != ERR_OK ? -1 : 0;
}

static int on_dvc(struct vr *vr, uint32_t from, const struct proto_do_view_change *m,
                  struct err *e)
{
    struct dvc *d;
    if (m->view < vr->view || primary_of(vr, m->view) != vr->cfg.self)
        return 0;
    if (m->view == vr->view && vr->status == VR_NORMAL) {
        send_start_view(vr, from, m->commit + 1);
        return 0;
    }
    if (m->view > vr->view || vr->status != VR_VIEW_CHANGE)
        start_view_change(vr, m->view, e);
    if (vr->chosen >= 0 || vr->status != VR_VIEW_CHANGE)
        return 0;
    d = &vr->dvc[from];
    proto_list_entry_resize(&d->entries, 0);
    free(d->entries.v);
    memset(d, 0, sizeof *d);
    d->have = true;
    d->last_normal = m->last_normal;
    d->op = m->op;
    d->commit = m->commit;
    if (m->entries.n) {
        d->entries.v = xcalloc(m->entries.n, sizeof *d->entries.v);
        for (uint32_t i = 0; i < m->entries.n; i++) {
            if (proto_entry_copy(&d->entries.v[i], &m->entries.v[i]) < 0)
                oom();
            d->entries.n = i + 1;
        }
    }
    return choose(vr, e);
}

static int on_start_view(struct vr *vr, uint32_t from, const struct proto_start_view *m,
                         struct err *e)
{
    const struct proto_list_entry *l = &m->entries;
    uint64_t tag;

    if (m->view < vr->view)
        return 0;
    if (m->view == vr->view && vr->status == VR_NORMAL) {
        if (!is_primary(vr))
            send_prepare_ok(vr);
        return 0;
    }
    if (m->view > vr->view)
        adopt_view(vr, m->view);
    if (vr->inst_wait)
        return 0;
    begin_install(vr, m->op, m->commit);
    if (l->n) {
        /* Usable if it starts within what we know agrees, or if we hold its
         * first entry with the same view tag. */
        if (m->from > vr->agreed + 1 && tag_of(vr, m->from, &tag) && tag == l->v[0].view)
            vr->agreed = m->from;
        if (m->from <= vr->agreed + 1 && absorb(vr, l, UINT64_MAX, &vr->agreed, false, e) < 0)
            return -1;
    }
    check_install(vr);
    (void)from;
    return 0;
}

static int on_get_entries(struct vr *vr, uint32_t from, const struct proto_get_entries *m)
{
    struct proto_msg r;
    uint64_t limit = (vr->status == VR_NORMAL && is_primary(vr)) ? vr->op : vr->commit;
    memset(&r, 0, sizeof r);
    r.type = MSG_NEW_ENTRIES;
    r.u.new_entries.view = vr->view;
    r.u.new_entries.op = vr->op;
    r.u.new_entries.commit = vr->commit;
    r.u.new_entries.from = m->from;
    r.u.new_entries.log_start = vr->log_start;
    fill_from(vr, &r.u.new_entries.entries, m->from, limit);
    send_to(vr, from, &r);
    return 0;
}

static int on_new_entries(struct vr *vr, uint32_t from, const struct proto_new_entries *m,
                          struct err *e)
{
    bool auth;
    uint64_t limit, at;

    if (vr->fmode == FETCH_NONE || from != vr->fsrc || m->from != vr->fnext)
        return 0; /* stale or duplicate reply */
    if (vr->fmode != FETCH_CATCHUP)
        vr->deadline = vr->now + random_timeout(vr);
    if (vr->fmode == FETCH_INSTALL && m->view == vr->view && from == primary_of(vr, vr->view)) {
        if (m->op < vr->commit) {
            /* Its log lacks entries we know committed: a deposed primary
             * (a newer view exists).  Do not install; time out instead. */
            vr->inst = vr->inst_wait = false;
            vr->fmode = FETCH_NONE;
            return 0;
        }
        if (m->op > vr->inst_target)
            vr->inst_target = m->op;
    }
    if (!m->entries.n) {
        enum fetch_mode was = vr->fmode;
        vr->fmode = FETCH_NONE;
        if (m->from < m->log_start && was != FETCH_COMMITTED) {
            need_transfer(vr, m->from);
            return 0;
        }
        /* Nothing more there: done if we already hold what we needed;
         * otherwise the next message from the primary restarts the fetch. */
        if (was == FETCH_INSTALL && vr->agreed >= vr->inst_target)
            check_install(vr);
        else if (was == FETCH_COMMITTED && vr->chosen >= 0 &&
                 vr->agreed >= vr->dvc[vr->chosen].commit)
            return adopt_chosen(vr, vr->chosen, e);
        return 0;
    }
    /* Entries above the sender's commit number are authoritative only from
     * the primary of our view (which is the only one that sends them). */
    auth = m->view == vr->view && from == primary_of(vr, vr->view);
    limit = auth ? UINT64_MAX : m->commit;
    switch (vr->fmode) {
    case FETCH_CATCHUP:
        if (vr->status != VR_NORMAL || !auth) {
            vr->fmode = FETCH_NONE;
            return 0;
        }
        at = vr->op;
        if (absorb(vr, &m->entries, limit, &at, true, e) < 0)
            return -1;
        commit_to(vr, m->commit);
        if (vr->op < m->op) {
            vr->fnext = vr->op + 1;
            fetch_send(vr);
        } else {
            vr->fmode = FETCH_NONE;
        }
        return 0;
    case FETCH_INSTALL:
        if (absorb(vr, &m->entries, limit, &vr->agreed, false, e) < 0)
            return -1;
        if (auth && m->commit > vr->inst_commit)
            vr->inst_commit = m->commit;
        if (vr->agreed >= vr->inst_target) {
            vr->fmode = FETCH_NONE;
            check_install(vr);
        } else {
            vr->fnext = vr->agreed + 1;
            fetch_send(vr);
        }
        return 0;
    case FETCH_COMMITTED:
        if (absorb(vr, &m->entries, limit, &vr->agreed, false, e) < 0)
            return -1;
        if (vr->chosen >= 0 && vr->agreed >= vr->dvc[vr->chosen].commit) {
            vr->fmode = FETCH_NONE;
            return adopt_chosen(vr, vr->chosen, e);
        }
        vr->fnext = vr->agreed + 1;
        fetch_send(vr);
        return 0;
    default:
        return 0;
    }
}

static int on_recovery(struct vr *vr, uint32_t from, const struct proto_recovery *m)
{
    struct proto_msg r;
    memset(&r, 0, sizeof r);
    r.type = MSG_RECOVERY_RESPONSE;
    r.u.recovery_response.view = vr->view;
    r.u.recovery_response.nonce = m->nonce;
    r.u.recovery_response.op = vr->op;
    r.u.recovery_response.commit = vr->commit;
    r.u.recovery_response.replica = vr->cfg.self;
    r.u.recovery_response.status = (uint8_t)vr->status;
    r.u.recovery_response.log_start = vr->log_start;
    if (vr->status == VR_NORMAL && is_primary(vr)) {
        r.u.recovery_response.from = m->commit + 1;
        fill_from(vr, &r.u.recovery_response.entries, m->commit + 1, vr->op);
    }
    send_to(vr, from, &r);
    return 0;
}

static int on_recovery_response(struct vr *vr, uint32_t from,
                                const struct proto_recovery_response *m, struct err *e)
{
    if (vr->status != VR_RECOVERING || m->nonce != vr->nonce || vr->inst)
        return 0;
    /* Only a normal primary of a view at least our persisted one may
     * install its log: the persisted view bounds what we promised. */
    if (m->status != STATUS_NORMAL || from != primary_of(vr, m->view) || m->view < vr->view ||
        m->from == 0)
        return 0;
    /* A primary whose log lacks entries we know committed (a state transfer
     * may have brought them from a newer view) is deposed. */
    if (m->op < vr->commit)
        return 0;
    if (!m->entries.n && m->from < m->log_start && m->from <= m->op) {
        need_transfer(vr, m->from);
        return 0;
    }
    if (m->view > vr->view)
        adopt_view(vr, m->view);
    begin_install(vr, m->op, m->commit);
    if (m->from <= vr->agreed + 1 &&
        absorb(vr, &m->entries, UINT64_MAX, &vr->agreed, false, e) < 0)
        return -1;
    check_install(vr);
    return 0;
}

/* ------------------------------------------------------------ validation */

static int check_entries(const struct proto_list_entry *l, uint64_t first, uint64_t maxview,
                         const char *what, struct err *e)
{
    for (uint32_t i = 0; i < l->n; i++) {
        if (l->v[i].op != first + i || l->v[i].op == 0)
            return err_set(e, ERR_PROTOCOL, "%s: entries not consecutive at %u", what, i);
        if (l->v[i].view > maxview)
            return err_set(e, ERR_PROTOCOL, "%s: entry %llu tagged with future view %llu",
                           what, (unsigned long long)l->v[i].op,
                           (unsigned long long)l->v[i].view);
    }
    return 0;
}

static int validate(const struct vr *vr, uint32_t from, const struct proto_msg *m,
                    struct err *e)
{
    const char *name = proto_type_name(m->type);
#define SENDER_(field)                                                               \
    if ((field) != from)                                                             \
        return err_set(e, ERR_PROTOCOL, "%s from %u names replica %u", name, from,  \
                       (unsigned)(field));
    switch (m->type) {
    case MSG_PREPARE: {
        const struct proto_prepare *p = &m->u.prepare;
        if (primary_of(vr, p->view) != from)
            return err_set(e, ERR_PROTOCOL, "PREPARE from %u, not primary of view %llu", from,
                           (unsigned long long)p->view);
        if (p->prev_view > p->view)
            return err_set(e, ERR_PROTOCOL, "PREPARE: previous view after its view");
        return check_entries(&p->entries, p->entries.n ? p->entries.v[0].op : 1, p->view,
                             name, e);
    }
    case MSG_PREPARE_OK:
        SENDER_(m->u.prepare_ok.replica);
        return 0;
    case MSG_COMMIT:
        if (primary_of(vr, m->u.commit.view) != from)
            return err_set(e, ERR_PROTOCOL, "COMMIT from %u, not primary of view %llu", from,
                           (unsigned long long)m->u.commit.view);
        if (m->u.commit.commit > m->u.commit.op)
            return err_set(e, ERR_PROTOCOL, "COMMIT: commit beyond op");
        return 0;
    case MSG_START_VIEW_CHANGE:
        SENDER_(m->u.start_view_change.replica);
        return 0;
    case MSG_DO_VIEW_CHANGE: {
        const struct proto_do_view_change *d = &m->u.do_view_change;
        SENDER_(d->replica);
        if (d->last_normal > d->view || d->commit > d->op ||
            d->entries.n != d->op - d->commit)
            return err_set(e, ERR_PROTOCOL, "DO_VIEW_CHANGE: inconsistent view/op/commit/entries");
        return check_entries(&d->entries, d->commit + 1, d->view, name, e);
    }
    case MSG_START_VIEW: {
        const struct proto_start_view *s = &m->u.start_view;
        if (primary_of(vr, s->view) != from)
            return err_set(e, ERR_PROTOCOL, "START_VIEW from %u, not primary of view %llu",
                           from, (unsigned long long)s->view);
        if (s->commit > s->op || s->from == 0 ||
            (s->entries.n && s->from + s->entries.n - 1 > s->op))
            return err_set(e, ERR_PROTOCOL, "START_VIEW: inconsistent op/commit/from");
        return check_entries(&s->entries, s->from, s->view, name, e);
    }
    case MSG_GET_ENTRIES:
        SENDER_(m->u.get_entries.replica);
        return 0;
    case MSG_NEW_ENTRIES: {
        const struct proto_new_entries *n = &m->u.new_entries;
        if (n->commit > n->op || (n->entries.n && n->from + n->entries.n - 1 > n->op))
            return err_set(e, ERR_PROTOCOL, "NEW_ENTRIES: inconsistent op/commit/from");
        return check_entries(&n->entries, n->from, n->view, name, e);
    }
    case MSG_RECOVERY:
        SENDER_(m->u.recovery.replica);
        return 0;
    case MSG_RECOVERY_RESPONSE: {
        const struct proto_recovery_response *r = &m->u.recovery_response;
        SENDER_(r->replica);
        if (r->commit > r->op || (r->entries.n && r->from + r->entries.n - 1 > r->op))
            return err_set(e, ERR_PROTOCOL, "RECOVERY_RESPONSE: inconsistent op/commit/from");
        return check_entries(&r->entries, r->from, r->view, name, e);
    }
    default:
        return err_set(e, ERR_PROTOCOL, "%s is not a replica-to-replica message", name);
    }
#undef SENDER_
}

/* ------------------------------------------------------------ public API */

struct vr *vr_new(const struct vr_config *cfg, const struct vr_persist *st, struct err *e)
{
    struct vr *vr;
    if (!cfg || cfg->n < 1 || cfg->n > VR_MAX_REPLICAS || cfg->self >= cfg->n) {
        err_set(e, ERR_CONFIG, "replica count must be 1..%d and self below it", VR_MAX_REPLICAS);
        return NULL;
    }
    if (cfg->heartbeat_ticks < 1 || cfg->timeout_ticks <= cfg->heartbeat_ticks ||
        cfg->max_batch_bytes < 1 || cfg->window < 1) {
        err_set(e, ERR_CONFIG,
                "need heartbeat_ticks >= 1, timeout_ticks > heartbeat_ticks, "
                "max_batch_bytes >= 1 and window >= 1");
        return NULL;
    }
    if (st && st->last_normal > st->view) {
        err_set(e, ERR_CORRUPT, "state file: last normal view %llu after view %llu",
                (unsigned long long)st->last_normal, (unsigned long long)st->view);
        return NULL;
    }
    vr = calloc(1, sizeof *vr);
    if (!vr) {
        err_set(e, ERR_NOMEM, "allocating the replication core");
        return NULL;
    }
    vr->cfg = *cfg;
    vr->quorum = cfg->n / 2 + 1;
    vr->rng = (cfg->seed ^ 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull + cfg->self + 1;
    if (!vr->rng)
        vr->rng = 1;
    vr->status = VR_RECOVERING;
    if (st) {
        vr->view = st->view;
        vr->last_normal = st->last_normal;
        vr->commit = st->commit;
    }
    vr->ring = xcalloc(64, sizeof *vr->ring);
    vr->mask = 63;
    vr->log_start = 1;
    vr->chosen = -1;
    return vr;
}

void vr_free(struct vr *vr)
{
    struct vr_effect eff;
    if (!vr)
        return;
    while (vr_next_effect(vr, &eff))
        vr_effect_free(&eff);
    log_drop_all(vr);
    dvc_clear(vr);
    free(vr->ring);
    free(vr->ct);
    free(vr->eq);
    free(vr->ri);
    free(vr);
}

void vr_set_log_base(struct vr *vr, uint64_t op, uint64_t view)
{
    assert(vr->op < vr->log_start); /* before any vr_load */
    vr->log_start = op + 1;
    vr->op = op;
    vr->durable = op;
    vr->base_view = view;
    if (vr->commit < op)
        vr->commit = op;
}

int vr_load(struct vr *vr, const struct proto_entry *entry, struct err *e)
{
    if (entry->op != vr->op + 1)
        return err_set(e, ERR_CORRUPT, "log entry %llu where %llu was expected",
                       (unsigned long long)entry->op, (unsigned long long)(vr->op + 1));
    if (entry->view > vr->view)
        return err_set(e, ERR_CORRUPT, "log entry %llu has view %llu beyond the state file's %llu",
                       (unsigned long long)entry->op, (unsigned long long)entry->view,
                       (unsigned long long)vr->view);
    log_append(vr, entry, false);
    vr->durable = vr->op;
    return 0;
}

static void begin_recovery(struct vr *vr)
{
    struct err e;
    err_clear(&e);
    set_status(vr, VR_RECOVERING);
    if (primary_of(vr, vr->view) == vr->cfg.self && vr->min_lead_view <= vr->view)
        vr->min_lead_view = vr->view + 1;
    vr->deadline = vr->now + random_timeout(vr);
    if (vr->cfg.n == 1) {
        start_view_change(vr, vr->view + 1, &e);
        return;
    }
    vr->nonce = rng_next(vr) | 1;
    send_recovery(vr);
}

void vr_start(struct vr *vr, uint64_t applied)
{
    emit_role(vr);
    if (applied > vr->op) {
        /* The backend is ahead of the durable log (it applied entries that
         * were not yet durable here): everything we hold is applied, so the
         * log restarts after `applied`. */
        log_drop_all(vr);
        vr->log_start = applied + 1;
        vr->op = vr->durable = applied;
        vr->base_view = 0;
    }
    vr->applied = applied;
    if (vr->commit > vr->op)
        vr->commit = vr->op; /* committed entries we lost are fetched again */
    if (vr->commit < applied)
        vr->commit = applied;
    if (vr->commit > applied)
        eff_push(vr, VR_EFF_COMMIT)->op = vr->commit;
    begin_recovery(vr);
    after_input(vr);
}

int vr_receive(struct vr *vr, uint32_t from, const struct proto_msg *m, struct err *e)
{
    int rc = 0;
    struct err local;
    if (!e) {
        err_clear(&local);
        e = &local;
    }
    err_clear(e);
    if (from >= vr->cfg.n || from == vr->cfg.self)
        return err_set(e, ERR_PROTOCOL, "message from unknown replica %u", from);
    if (validate(vr, from, m, e) < 0)
        return -1;
    switch (m->type) {
    case MSG_PREPARE: rc = on_prepare(vr, from, &m->u.prepare, e); break;
    case MSG_PREPARE_OK: rc = on_prepare_ok(vr, from, &m->u.prepare_ok, e); break;
    case MSG_COMMIT: rc = on_commit(vr, from, &m->u.commit, e); break;
    case MSG_START_VIEW_CHANGE: rc = on_svc(vr, from, &m->u.start_view_change, e); break;
    case MSG_DO_VIEW_CHANGE: rc = on_dvc(vr, from, &m->u.do_view_change, e); break;
    case MSG_START_VIEW: rc = on_start_view(vr, from, &m->u.start_view, e); break;
    case MSG_GET_ENTRIES: rc = on_get_entries(vr, from, &m->u.get_entries); break;
    case MSG_NEW_ENTRIES: rc = on_new_entries(vr, from, &m->u.new_entries, e); break;
    case MSG_RECOVERY: rc = on_recovery(vr, from, &m->u.recovery); break;
    case MSG_RECOVERY_RESPONSE:
        rc = on_recovery_response(vr, from, &m->u.recovery_response, e);
        break;
    default: break;
    }
    after_input(vr);
    return rc < 0 || e->code != ERR_OK ? -1 : 0;
}

void vr_tick(struct vr *vr)
{
    struct err e;
    uint64_t hb = vr->cfg.heartbeat_ticks;
    err_clear(&e);
    vr->now++;
    while (vr->ri_n && vr->ri[0].deadline <= vr->now)
        ri_finish_front(vr, false);
    if (vr->fmode != FETCH_NONE && vr->now - vr->ftick >= 2 * hb)
        fetch_send(vr);
    switch (vr->status) {
    case VR_NORMAL:
        if (is_primary(vr)) {
            if (vr->now - vr->last_send >= hb)
                send_heartbeat(vr);
            if (heard_recently(vr) + 1 >= vr->quorum)
                vr->quorum_tick = vr->now;
            else if (vr->now - vr->quorum_tick >= vr->cfg.timeout_ticks)
                start_view_change(vr, vr->view + 1, &e); /* cut off: step down */
        } else if (vr->now >= vr->deadline) {
            if (vr->declining)
                vr->deadline = vr->now + random_timeout(vr);
            else
                start_view_change(vr, vr->view + 1, &e);
        }
        break;
    case VR_VIEW_CHANGE:
    case VR_RECOVERING:
        if (vr->now >= vr->deadline) {
            if (vr->declining)
                vr->deadline = vr->now + random_timeout(vr);
            else
                start_view_change(vr, vr->view + 1, &e);
            break;
        }
        if (vr->status == VR_VIEW_CHANGE && !vr->declining && vr->now - vr->vc_resend >= 2 * hb) {
            send_svc(vr);
            if (vr->dvc_sent && primary_of(vr, vr->view) != vr->cfg.self) {
                vr->dvc_sent = false;
                maybe_send_dvc(vr, &e);
            }
        }
        if (vr->status == VR_RECOVERING && !vr->inst && vr->now - vr->recovery_sent >= 2 * hb)
            send_recovery(vr);
        break;
    }
    after_input(vr);
}

/* Tell the clients of this view's entries above `done` through the durable
 * op that they are durable here: PREPARED from the primary, ACK from a
 * backup (the client counts the write quorum). */
static void tell_clients_durable(struct vr *vr, uint64_t done, enum proto_type type)
{
    uint64_t o0 = done + 1 > vr->log_start ? done + 1 : vr->log_start;
    for (uint64_t o = o0; o <= vr->durable; o++) {
        const struct proto_entry *en = &slot_at(vr, o)->e;
        struct proto_msg m;
        if (!in_log(vr, o) || en->view != vr->view || id_is_zero(&en->client))
            continue;
        memset(&m, 0, sizeof m);
        m.type = type;
        if (type == MSG_PREPARED)
            m.u.prepared = (struct proto_prepared){.view = vr->view, .op = o, .req = en->req,
                                                   .replica = vr->cfg.self};
        else
            m.u.ack = (struct proto_ack){.view = vr->view, .op = o, .req = en->req,
                                         .replica = vr->cfg.self};
        send_client(vr, &en->client, &m);
    }
}

void vr_durable(struct vr *vr, uint64_t op)
{
    if (op > vr->op)
        op = vr->op;
    if (op <= vr->durable)
        return;
    vr->durable = op;
    if (vr->inst && vr->inst_wait && vr->durable >= vr->agreed)
        finish_install(vr);
    if (vr->status == VR_NORMAL && is_primary(vr)) {
        if (vr->last_normal != vr->view && vr->durable >= vr->start_op) {
            vr->last_normal = vr->view;
            persist(vr);
        }
        if (vr->last_normal == vr->view) {
            tell_clients_durable(vr, vr->prepared_upto, MSG_PREPARED);
            if (vr->durable > vr->prepared_upto)
                vr->prepared_upto = vr->durable;
            recompute_commit(vr);
        }
    } else if (vr->status == VR_NORMAL) {
        tell_clients_durable(vr, vr->acked_upto, MSG_ACK);
        if (vr->durable > vr->acked_upto)
            vr->acked_upto = vr->durable;
        send_prepare_ok(vr);
    }
    after_input(vr);
}

void vr_applied(struct vr *vr, uint64_t op)
{
    if (op > vr->applied)
        vr->applied = op;
    after_input(vr);
}

void vr_flush(struct vr *vr)
{
    if (vr->status != VR_NORMAL || !is_primary(vr) || vr->sent >= vr->op)
        return;
    vr->seq++;
    while (vr->sent < vr->op) {
        uint64_t from = vr->sent + 1, to = batch_end(vr, from, vr->op), prev = 0;
        struct proto_msg m;
        tag_of(vr, from - 1, &prev);
        memset(&m, 0, sizeof m);
        m.type = MSG_PREPARE;
        m.u.prepare.view = vr->view;
        m.u.prepare.commit = vr->commit;
        m.u.prepare.prev_view = prev;
        m.u.prepare.seq = vr->seq;
        fill_entries(vr, &m.u.prepare.entries, from, to);
        vr->sent = to;
        if (vr->cfg.n > 1)
            send_all(vr, &m);
        else
            proto_msg_free(&m);
    }
    vr->last_send = vr->now;
}

int vr_submit(struct vr *vr, const struct proto_id *client, uint64_t req, const void *body,
              uint32_t len, uint64_t *op, struct err *e)
{
    struct proto_entry ent;
    if (vr->status != VR_NORMAL || !is_primary(vr))
        return err_set(e, ERR_NOT_PRIMARY, "replica %u is not the primary of view %llu",
                       vr->cfg.self, (unsigned long long)vr->view);
    if (!ready(vr))
        return err_set(e, ERR_NOT_READY, "the primary has not committed and applied its log yet");
    if (vr->op - vr->commit >= vr->cfg.window)
        return err_set(e, ERR_NOT_READY, "%u uncommitted entries: window full", vr->cfg.window);
    if (!id_is_zero(client)) {
        const struct ctent *c = ct_find(vr, client);
        if (c && req <= c->req)
            return err_set(e, ERR_INVALID, "request %llu is not newer than %llu (at op %llu)",
                           (unsigned long long)req, (unsigned long long)c->req,
                           (unsigned long long)c->op);
    }
    memset(&ent, 0, sizeof ent);
    ent.op = vr->op + 1;
    ent.view = vr->view;
    ent.client = *client;
    ent.req = req;
    ent.body.p = (unsigned char *)(uintptr_t)body; /* copied by log_append */
    ent.body.len = len;
    log_append(vr, &ent, true);
    if (op)
        *op = vr->op;
    after_input(vr);
    return 0;
}

uint64_t vr_client_last(const struct vr *vr, const struct proto_id *client, uint64_t *op)
{
    const struct ctent *c = ct_find(vr, client);
    if (op)
        *op = c ? c->op : 0;
    return c ? c->req : 0;
}

uint64_t vr_read_index(struct vr *vr)
{
    struct rindex *r;
    if (vr->status != VR_NORMAL || !is_primary(vr))
        return 0;
    if (vr->ri_n == vr->ri_cap) {
        vr->ri_cap = vr->ri_cap ? vr->ri_cap * 2 : 16;
        vr->ri = xrealloc(vr->ri, vr->ri_cap * sizeof *vr->ri);
    }
    r = &vr->ri[vr->ri_n++];
    r->token = ++vr->ri_next;
    r->deadline = vr->now + vr->cfg.timeout_ticks;
    send_heartbeat(vr);
    r->seq = vr->seq;
    ri_check(vr);
    return vr->ri_next;
}

void vr_compact(struct vr *vr, uint64_t op)
{
    uint64_t lim = vr->applied < vr->commit ? vr->applied : vr->commit;
    if (op > lim + 1)
        op = lim + 1;
    if (op > vr->op + 1)
        op = vr->op + 1;
    if (op <= vr->log_start)
        return;
    tag_of(vr, op - 1, &vr->base_view);
    for (uint64_t o = vr->log_start; o < op; o++) {
        struct slot *s = slot_at(vr, o);
        if (!id_is_zero(&s->e.client)) {
            struct ctent *c = ct_find(vr, &s->e.client);
            if (c && c->op == o)
                ct_set(vr, &s->e.client, 0, 0); /* the backend's table has it */
        }
        proto_entry_free(&s->e);
    }
    vr->log_start = op;
}

void vr_reset_log(struct vr *vr, uint64_t op)
{
    log_drop_all(vr);
    eff_cancel_appends_above(vr, 0);
    vr->log_start = op + 1;
    vr->op = vr->durable = vr->applied = vr->commit = op;
    vr->base_view = 0;
    vr->sent = vr->acked_upto = vr->prepared_upto = op;
    ri_fail_all(vr);
    vr->svc = 0;
    vr->dvc_sent = false;
    dvc_clear(vr);
    vr->inst = vr->inst_wait = false;
    vr->fmode = FETCH_NONE;
    vr->transfer_sent = false;
    persist(vr);
    begin_recovery(vr);
    after_input(vr);
}

void vr_set_declining(struct vr *vr, bool declining)
{
    struct err e;
    err_clear(&e);
    if (vr->declining == declining)
        return;
    vr->declining = declining;
    if (!declining && vr->status == VR_VIEW_CHANGE) {
        vr->svc |= 1u << vr->cfg.self;
        send_svc(vr);
        maybe_send_dvc(vr, &e);
        choose(vr, &e);
    }
    after_input(vr);
}

void vr_step_down(struct vr *vr)
{
    struct err e;
    err_clear(&e);
    if (vr->status == VR_NORMAL && is_primary(vr))
        start_view_change(vr, vr->view + 1, &e);
    after_input(vr);
}

bool vr_next_effect(struct vr *vr, struct vr_effect *eff)
{
    while (vr->eq_len) {
        struct vr_effect *e = &vr->eq[vr->eq_head];
        vr->eq_head = (vr->eq_head + 1) & (vr->eq_cap - 1);
        vr->eq_len--;
        if (e->type == 0)
            continue; /* cancelled */
        *eff = *e;
        memset(e, 0, sizeof *e);
        return true;
    }
    return false;
}

void vr_effect_free(struct vr_effect *eff)
{
    if (eff->type == VR_EFF_SEND || eff->type == VR_EFF_SEND_CLIENT)
        proto_msg_free(&eff->msg);
    memset(eff, 0, sizeof *eff);
}

/* ---- queries ---- */

enum vr_status vr_status(const struct vr *vr) { return vr->status; }
uint64_t vr_view(const struct vr *vr) { return vr->view; }
uint32_t vr_primary(const struct vr *vr) { return primary_of(vr, vr->view); }
bool vr_is_primary(const struct vr *vr) { return vr->status == VR_NORMAL && is_primary(vr); }
bool vr_ready(const struct vr *vr) { return ready(vr); }
uint64_t vr_op(const struct vr *vr) { return vr->op; }
uint64_t vr_commit(const struct vr *vr) { return vr->commit; }
uint64_t vr_applied_op(const struct vr *vr) { return vr->applied; }
uint64_t vr_log_start(const struct vr *vr) { return vr->log_start; }
uint64_t vr_durable_op(const struct vr *vr) { return vr->durable; }

const struct proto_entry *vr_entry(const struct vr *vr, uint64_t op)
{
    return in_log(vr, op) ? &slot_at(vr, op)->e : NULL;
}

struct vr_persist vr_persisted(const struct vr *vr)
{
    struct vr_persist p = {vr->view, vr->last_normal, vr->commit};
    return p;
}

uint64_t vr_peer_op(const struct vr *vr, uint32_t i)
{
    if (i >= vr->cfg.n)
        return 0;
    if (i == vr->cfg.self)
        return vr->durable;
    return vr->peer_op[i];
}
