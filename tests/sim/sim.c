/* The deterministic cluster simulator (see sim.h).
 *
 * Layout: a binary heap of events ordered by (simulated time, sequence);
 * nodes 0..n-1 are replicas, n.. are clients.  Every message is encoded with
 * the real codec when sent and decoded when delivered.  A replica is the VR
 * core plus what recalld does around it: it executes the core's effects in
 * order (durable log with a group-commit disk model, state file, applying
 * committed entries to a key-value backend whose state and applied op
 * survive crashes), answers clients (writes and transactions at the
 * primary, reads at any replica with bounded fences, ReadIndex reads,
 * status probes), and runs state transfers.  A client is a sequential
 * program that keeps one operation in flight and records it in the history.
 *
 * Checks run online where a violation shows first (committed entries that
 * differ, a request applied twice, a protocol error between replicas) and
 * at the end over the history and the logs (sim_check at the bottom).
 */
#include "config.h"

#include "sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "proto.h"
#include "quorum.h"
#include "vr.h"

#define MAXR 5
#define MAXC 8
#define MAXN (MAXR + MAXC)
#define MAXKEYS 16
#define TXN_MAX 3

/* Timing (microseconds of simulated time). */
#define TICK_US 10000u
#define HB_TICKS 3u
#define TIMEOUT_TICKS 15u
#define FENCE_WAIT_US 80000u
#define WRITE_RETRY_US 300000u
#define STMT_TIMEOUT_US 250000u
#define READ_ROUND_US 120000u
#define RI_TIMEOUT_US 250000u
#define BACKOFF_US 20000u
#define LIN_TRIES 3
#define NEVER UINT64_MAX

enum ev_type {
    EV_TICK = 1, EV_DELIVER, EV_DISK, EV_APPLY, EV_CLIENT, EV_FAULT, EV_RESTART,
    EV_TRANSFER, EV_HEAL, EV_HOOK
};

struct smsg {
    int from, to;
    uint32_t inc;               /* client -> replica: the incarnation it was sent to */
    struct buf bytes;
};

struct ev {
    uint64_t t, seq;
    int type, node;
    uint64_t a;
    struct smsg *msg;
};

/* ------------------------------------------------------------- replicas */

struct pend {
    uint64_t op, done_at;
    struct proto_entry e;
};

struct dlog {
    struct proto_entry *v;      /* v[i] is op base + 1 + i */
    size_t cap;
    uint64_t base, base_view, last;
    bool torn;                  /* a partial record follows `last` */
};

struct session {
    bool open, aborted;
    uint64_t view, begin_req;
    uint32_t nw;
    uint32_t keys[8];
    int64_t vals[8];
};

enum wkind { W_FENCE = 1, W_RI, W_SAVED };

struct waiter {
    enum wkind kind;
    int client;
    uint64_t req, need, deadline, token;
    uint32_t key;
    bool confirmed;
    bool early;                 /* bug_readindex_stale: value captured at the start */
    int64_t early_value;
    uint64_t early_a;
};

struct srep {
    int idx;
    bool up;
    uint32_t inc;               /* incarnation: events of older ones are ignored */
    struct vr *vr;
    struct vr_persist st;       /* the state file */
    struct dlog log;            /* the durable log */
    struct pend *pend;          /* appends not yet durable, op order */
    size_t npend, cappend;
    uint64_t sync_start, sync_end;
    bool slow_disk;
    int64_t kv[MAXKEYS];        /* the backend: survives crashes */
    uint64_t applied;
    uint64_t bc_req[MAXC], bc_op[MAXC];
    uint64_t apply_target;
    bool apply_sched;
    struct session sess[MAXC];
    uint64_t max_req[MAXC];     /* highest request id seen per client (volatile) */
    struct waiter *w;
    size_t nw, capw;
    bool transferring;
    uint64_t seen_commit;
    uint64_t role_view;
    bool role_primary;
    uint32_t retain;
    uint32_t tick_us;           /* timers of different hosts run at different speeds */
    bool donor;                 /* declining for a while, as a state-transfer donor */
};

/* The committed log as the checker knows it (index = op). */
struct gent {
    bool set;
    uint64_t view, req, hash;
    int client;
    uint8_t nw;
    uint32_t keys[8];
    int64_t vals[8];
};

/* --------------------------------------------------------------- clients */

enum ckind { CK_WRITE = 1, CK_TXN, CK_LREAD, CK_SREAD, CK_AREAD };
enum cphase {
    CP_IDLE = 0, CP_WRITE, CP_TXN_BEGIN, CP_TXN_STMT, CP_TXN_COMMIT, CP_LREAD, CP_RI, CP_READ
};
enum cscript { SC_NONE = 0, SC_TXN, SC_LIN };

struct sclient {
    int idx, node;
    struct proto_id id;
    uint64_t next_req;
    int target;
    uint64_t hint_view;
    uint64_t hwm;
    enum ckind kind;
    enum cphase phase;
    size_t hop[TXN_MAX];
    int nhop;
    uint32_t key;
    int64_t value;
    uint64_t req;               /* request awaiting its reply */
    uint64_t commit_req;
    struct quorum_write qw;
    struct quorum_read qr;
    uint64_t probe_req, fence, view_at_invoke;
    int x, tries;
    bool have_rows;
    int64_t rows_value;
    uint64_t rows_a;
    int rows_replica;
    uint64_t rows_view;
    uint32_t tkeys[TXN_MAX];
    int64_t tvals[TXN_MAX];
    int tn, ti;
    uint64_t timer_gen;
    uint64_t give_up_at;
    uint32_t ops_left;          /* after the heal */
    bool done;
    uint64_t counter;
    enum cscript script;
    int script_target;
    uint64_t script_pause;
    bool pause_pending;
};

struct sim {
    struct sim_config cfg;
    struct sim_result *res;
    uint64_t rng;
    uint64_t now, seq, stamp;
    struct ev *heap;
    size_t nheap, capheap;
    int nrep, ncli;
    struct srep rep[MAXR];
    struct sclient cli[MAXC];
    bool cut[MAXN][MAXN];
    double loss, dup, reorder, late;
    uint64_t delay_max;
    bool healed, quiescing, done, failed;
    uint64_t heal_at;
    struct history hist;
    struct gent *glog;
    uint64_t gcap, gmax;
    uint64_t max_normal_view;
    char (*ring)[160];
    uint32_t ring_n, ring_pos;
    uint64_t ring_total;
    sim_hook_cb hook;
    void *hook_arg;
    uint64_t hook_every;
    uint64_t transfer_retain;
    uint32_t window;
};

/* ----------------------------------------------------------------- basics */

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        fprintf(stderr, "sim: out of memory\n");
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "sim: out of memory\n");
        abort();
    }
    return q;
}

static uint64_t rnd(struct sim *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t rnd_in(struct sim *s, uint64_t lo, uint64_t hi)
{
    return hi <= lo ? lo : lo + rnd(s) % (hi - lo + 1);
}

static bool chance(struct sim *s, double p)
{
    return p > 0 && (double)(rnd(s) >> 11) * (1.0 / 9007199254740992.0) < p;
}

static void trace(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(struct sim *s, const char *fmt, ...)
{
    va_list ap;
    char *line = s->ring[s->ring_pos];
    int k = snprintf(line, sizeof s->ring[0], "%10.3fms ", s->now / 1000.0);
    va_start(ap, fmt);
    vsnprintf(line + k, sizeof s->ring[0] - (size_t)k, fmt, ap);
    va_end(ap);
    if (s->cfg.trace)
        fprintf(s->cfg.out, "%s\n", line);
    s->ring_pos = (s->ring_pos + 1) % s->ring_n;
    s->ring_total++;
}

void sim_fail(struct sim *s, const char *fmt, ...)
{
    va_list ap;
    if (s->failed)
        return;
    s->failed = true;
    va_start(ap, fmt);
    vsnprintf(s->res->what, sizeof s->res->what, fmt, ap);
    va_end(ap);
    trace(s, "VIOLATION: %s", s->res->what);
}

static void push_ev(struct sim *s, uint64_t t, int type, int node, uint64_t a, struct smsg *m)
{
    size_t i;
    if (s->nheap == s->capheap) {
        s->capheap = s->capheap ? s->capheap * 2 : 1024;
        s->heap = xrealloc(s->heap, s->capheap * sizeof *s->heap);
    }
    i = s->nheap++;
    s->heap[i] = (struct ev){.t = t, .seq = s->seq++, .type = type, .node = node, .a = a, .msg = m};
    while (i) {
        size_t p = (i - 1) / 2;
        struct ev tmp;
        if (s->heap[p].t < s->heap[i].t ||
            (s->heap[p].t == s->heap[i].t && s->heap[p].seq < s->heap[i].seq))
            break;
        tmp = s->heap[p];
        s->heap[p] = s->heap[i];
        s->heap[i] = tmp;
        i = p;
    }
}

static bool ev_less(const struct ev *a, const struct ev *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static struct ev pop_ev(struct sim *s)
{
    struct ev top = s->heap[0];
    size_t i = 0;
    s->heap[0] = s->heap[--s->nheap];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct ev tmp;
        if (l < s->nheap && ev_less(&s->heap[l], &s->heap[m]))
            m = l;
        if (r < s->nheap && ev_less(&s->heap[r], &s->heap[m]))
            m = r;
        if (m == i)
            break;
        tmp = s->heap[m];
        s->heap[m] = s->heap[i];
        s->heap[i] = tmp;
        i = m;
    }
    return top;
}

const char *sim_mix_name(int mix)
{
    switch (mix) {
#define SIM_MIX_NAME_(name, str, text) case SIM_MIX_##name: return str;
        SIM_MIXES(SIM_MIX_NAME_)
#undef SIM_MIX_NAME_
    default:
        return "?";
    }
}

int sim_mix_parse(const char *name)
{
    for (int i = 0; i < SIM_MIX__COUNT; i++)
        if (!strcmp(name, sim_mix_name(i)))
            return i;
    return -1;
}

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int client_of(const struct sim *s, const struct proto_id *id)
{
    for (int i = 0; i < s->ncli; i++)
        if (!memcmp(s->cli[i].id.b, id->b, 16))
            return i;
    return -1;
}

/* ---------------------------------------------------------------- trace */

static void msg_brief(const struct proto_msg *m, char *b, size_t n)
{
#define U(x) ((unsigned long long)(x))
    switch (m->type) {
    case MSG_PREPARE: {
        const struct proto_prepare *p = &m->u.prepare;
        snprintf(b, n, "PREPARE v=%llu c=%llu prev=%llu seq=%llu ops=%llu..%llu", U(p->view),
                 U(p->commit), U(p->prev_view), U(p->seq),
                 U(p->entries.n ? p->entries.v[0].op : 0),
                 U(p->entries.n ? p->entries.v[p->entries.n - 1].op : 0));
        break;
    }
    case MSG_PREPARE_OK:
        snprintf(b, n, "PREPARE_OK v=%llu op=%llu seq=%llu", U(m->u.prepare_ok.view),
                 U(m->u.prepare_ok.op), U(m->u.prepare_ok.seq));
        break;
    case MSG_COMMIT:
        snprintf(b, n, "COMMIT v=%llu c=%llu op=%llu seq=%llu", U(m->u.commit.view),
                 U(m->u.commit.commit), U(m->u.commit.op), U(m->u.commit.seq));
        break;
    case MSG_START_VIEW_CHANGE:
        snprintf(b, n, "SVC v=%llu", U(m->u.start_view_change.view));
        break;
    case MSG_DO_VIEW_CHANGE:
        snprintf(b, n, "DVC v=%llu ln=%llu op=%llu c=%llu n=%u", U(m->u.do_view_change.view),
                 U(m->u.do_view_change.last_normal), U(m->u.do_view_change.op),
                 U(m->u.do_view_change.commit), m->u.do_view_change.entries.n);
        break;
    case MSG_START_VIEW:
        snprintf(b, n, "START_VIEW v=%llu op=%llu c=%llu from=%llu n=%u", U(m->u.start_view.view),
                 U(m->u.start_view.op), U(m->u.start_view.commit), U(m->u.start_view.from),
                 m->u.start_view.entries.n);
        break;
    case MSG_GET_ENTRIES:
        snprintf(b, n, "GET_ENTRIES v=%llu from=%llu", U(m->u.get_entries.view),
                 U(m->u.get_entries.from));
        break;
    case MSG_NEW_ENTRIES:
        snprintf(b, n, "NEW_ENTRIES v=%llu op=%llu c=%llu from=%llu start=%llu n=%u",
                 U(m->u.new_entries.view), U(m->u.new_entries.op), U(m->u.new_entries.commit),
                 U(m->u.new_entries.from), U(m->u.new_entries.log_start),
                 m->u.new_entries.entries.n);
        break;
    case MSG_RECOVERY:
        snprintf(b, n, "RECOVERY nonce=%llx c=%llu", U(m->u.recovery.nonce),
                 U(m->u.recovery.commit));
        break;
    case MSG_RECOVERY_RESPONSE:
        snprintf(b, n, "RECOVERY_RESPONSE v=%llu op=%llu c=%llu st=%u from=%llu start=%llu n=%u",
                 U(m->u.recovery_response.view), U(m->u.recovery_response.op),
                 U(m->u.recovery_response.commit), m->u.recovery_response.status,
                 U(m->u.recovery_response.from), U(m->u.recovery_response.log_start),
                 m->u.recovery_response.entries.n);
        break;
    case MSG_EXEC:
        snprintf(b, n, "EXEC req=%llu flags=%#x %s fence=%llu", U(m->u.exec.req), m->u.exec.flags,
                 m->u.exec.sql.p ? m->u.exec.sql.p : "", U(m->u.exec.fence));
        break;
    case MSG_RESULT:
        snprintf(b, n, "RESULT req=%llu flags=%#x v=%llu st=%u op=%llu c=%llu a=%llu log_op=%llu",
                 U(m->u.result.req), m->u.result.flags, U(m->u.result.view), m->u.result.status,
                 U(m->u.result.op), U(m->u.result.commit), U(m->u.result.applied),
                 U(m->u.result.log_op));
        break;
    case MSG_ERROR:
        snprintf(b, n, "ERROR req=%llu %s %s", U(m->u.error.req), m->u.error.sqlstate.p,
                 m->u.error.msg.p);
        break;
    case MSG_PREPARED:
        snprintf(b, n, "PREPARED v=%llu op=%llu req=%llu", U(m->u.prepared.view),
                 U(m->u.prepared.op), U(m->u.prepared.req));
        break;
    case MSG_ACK:
        snprintf(b, n, "ACK v=%llu op=%llu req=%llu", U(m->u.ack.view), U(m->u.ack.op),
                 U(m->u.ack.req));
        break;
    case MSG_COMMITTED:
        snprintf(b, n, "COMMITTED v=%llu op=%llu req=%llu", U(m->u.committed.view),
                 U(m->u.committed.op), U(m->u.committed.req));
        break;
    case MSG_PROBE:
        snprintf(b, n, "PROBE req=%llu", U(m->u.probe.req));
        break;
    case MSG_STATUS:
        snprintf(b, n, "STATUS req=%llu v=%llu st=%u op=%llu c=%llu a=%llu", U(m->u.status.req),
                 U(m->u.status.view), m->u.status.status, U(m->u.status.op),
                 U(m->u.status.commit), U(m->u.status.applied));
        break;
    case MSG_TXN:
        snprintf(b, n, "TXN req=%llu action=%u", U(m->u.txn.req), m->u.txn.action);
        break;
    default:
        snprintf(b, n, "%s", proto_type_name(m->type));
        break;
    }
#undef U
}

static const char *node_name(const struct sim *s, int node, char *b)
{
    if (node < s->nrep)
        snprintf(b, 16, "r%d", node);
    else
        snprintf(b, 16, "c%d", node - s->nrep);
    return b;
}

/* --------------------------------------------------------------- network */

static void net_send(struct sim *s, int from, int to, const struct proto_msg *m)
{
    struct smsg *sm;
    struct err e;
    char brief[200], a[16], b[16];
    uint64_t delay;

    msg_brief(m, brief, sizeof brief);
    if (s->cut[from][to] || chance(s, s->loss)) {
        trace(s, "%s->%s drop %s", node_name(s, from, a), node_name(s, to, b), brief);
        return;
    }
    sm = xcalloc(1, sizeof *sm);
    sm->from = from;
    sm->to = to;
    if (to < s->nrep)
        sm->inc = s->rep[to].inc;
    buf_init(&sm->bytes);
    if (proto_encode(m, &sm->bytes, &e) < 0) {
        sim_fail(s, "encoding %s: %s", brief, e.msg);
        buf_close(&sm->bytes);
        free(sm);
        return;
    }
    trace(s, "%s->%s %s", node_name(s, from, a), node_name(s, to, b), brief);
    delay = rnd_in(s, 100, 1000);
    if (chance(s, s->reorder))
        delay += rnd_in(s, 0, s->delay_max);
    if (chance(s, s->late))
        delay += rnd_in(s, 100000, 1500000); /* arrives views later */
    push_ev(s, s->now + delay, EV_DELIVER, to, 0, sm);
    /* Client links are TCP connections: no duplicates. */
    if (from < s->nrep && to < s->nrep && chance(s, s->dup)) {
        struct smsg *d = xcalloc(1, sizeof *d);
        *d = *sm;
        buf_init(&d->bytes);
        buf_append(&d->bytes, sm->bytes.data, sm->bytes.len);
        push_ev(s, s->now + rnd_in(s, 100, 1000 + s->delay_max), EV_DELIVER, to, 0, d);
    }
}

/* ------------------------------------------------------------- the log */

static void dlog_push(struct dlog *l, const struct proto_entry *e)
{
    size_t i = (size_t)(l->last - l->base);
    if (i == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    if (proto_entry_copy(&l->v[i], e) < 0) {
        fprintf(stderr, "sim: out of memory\n");
        abort();
    }
    l->last++;
}

static void dlog_truncate(struct dlog *l, uint64_t op)
{
    while (l->last > op && l->last > l->base) {
        proto_entry_free(&l->v[l->last - l->base - 1]);
        l->last--;
    }
    l->torn = false;
}

static void dlog_reset(struct dlog *l, uint64_t base, uint64_t base_view)
{
    dlog_truncate(l, l->base);
    l->base = l->last = base;
    l->base_view = base_view;
}

/* Drop entries up to `op` (log retention). */
static void dlog_compact(struct dlog *l, uint64_t op)
{
    uint64_t k;
    if (op <= l->base || op > l->last)
        return;
    k = op - l->base;
    l->base_view = l->v[k - 1].view;
    for (uint64_t i = 0; i < k; i++)
        proto_entry_free(&l->v[i]);
    memmove(l->v, l->v + k, (size_t)(l->last - op) * sizeof *l->v);
    l->base = op;
}

static void pend_clear(struct srep *r)
{
    for (size_t i = 0; i < r->npend; i++)
        proto_entry_free(&r->pend[i].e);
    r->npend = 0;
}

/* ------------------------------------------------------ the global log */

static void gent_fill(struct sim *s, struct gent *g, const struct proto_entry *e)
{
    struct proto_body body;
    struct err er;
    g->set = true;
    g->view = e->view;
    g->req = e->req;
    g->client = client_of(s, &e->client);
    g->hash = hash_bytes(e->body.p, e->body.len);
    g->nw = 0;
    if (proto_body_decode(e->body.p, e->body.len, &body, &er) < 0) {
        sim_fail(s, "entry %llu: body does not decode: %s", (unsigned long long)e->op, er.msg);
        return;
    }
    for (uint32_t i = 0; i < body.stmts.n && g->nw < 8; i++) {
        const struct proto_stmt *st = &body.stmts.v[i];
        if (st->params.n == 2) {
            g->keys[g->nw] = (uint32_t)st->params.v[0].v.i;
            g->vals[g->nw] = st->params.v[1].v.i;
            g->nw++;
        }
    }
    proto_body_free(&body);
}

/* Invariant 2: no two replicas hold different committed entries at an op. */
static void gcheck(struct sim *s, int replica, const struct proto_entry *e)
{
    struct gent *g;
    if (e->op >= s->gcap) {
        uint64_t ncap = s->gcap ? s->gcap : 1024;
        while (ncap <= e->op)
            ncap *= 2;
        s->glog = xrealloc(s->glog, ncap * sizeof *s->glog);
        memset(s->glog + s->gcap, 0, (ncap - s->gcap) * sizeof *s->glog);
        s->gcap = ncap;
    }
    g = &s->glog[e->op];
    if (!g->set) {
        gent_fill(s, g, e);
        if (e->op > s->gmax)
            s->gmax = e->op;
        return;
    }
    if (g->view != e->view || g->req != e->req || g->client != client_of(s, &e->client) ||
        g->hash != hash_bytes(e->body.p, e->body.len))
        sim_fail(s,
                 "committed entries differ at op %llu: replica %d has (view %llu, c%d req %llu), "
                 "another had (view %llu, c%d req %llu)",
                 (unsigned long long)e->op, replica, (unsigned long long)e->view,
                 client_of(s, &e->client), (unsigned long long)e->req,
                 (unsigned long long)g->view, g->client, (unsigned long long)g->req);
}

/* ------------------------------------------------------ replica driver */

static void rep_drain(struct sim *s, struct srep *r);

static struct vr_config rep_vr_config(const struct sim *s, const struct srep *r)
{
    struct vr_config c = {.n = (uint32_t)s->nrep, .self = (uint32_t)r->idx,
                          .heartbeat_ticks = HB_TICKS, .timeout_ticks = TIMEOUT_TICKS,
                          .max_batch_bytes = 2048, .window = s->window,
                          .seed = s->cfg.seed * 1000003u + (uint64_t)r->idx * 7919u + r->inc};
    return c;
}

static void rep_send_client(struct sim *s, struct srep *r, int client, struct proto_msg *m)
{
    net_send(s, r->idx, s->nrep + client, m);
    proto_msg_free(m);
}

static void fill_status_result(struct srep *r, struct proto_result *res)
{
    res->replica = (uint32_t)r->idx;
    res->view = vr_view(r->vr);
    res->status = r->transferring ? STATUS_TRANSFER : (uint8_t)vr_status(r->vr);
    res->op = vr_op(r->vr);
    res->commit = vr_commit(r->vr);
    res->applied = r->applied;
}

static void reply_error(struct sim *s, struct srep *r, int client, uint64_t req,
                        enum err_code code, const char *msg)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_ERROR;
    m.u.error.req = req;
    m.u.error.code = (uint32_t)code;
    proto_str_setz(&m.u.error.sqlstate, err_default_sqlstate(code));
    proto_str_setz(&m.u.error.msg, msg);
    m.u.error.usable = true;
    rep_send_client(s, r, client, &m);
}

static void reply_value(struct sim *s, struct srep *r, int client, uint64_t req, uint32_t flags,
                        int64_t value, uint64_t applied)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_RESULT;
    m.u.result.req = req;
    m.u.result.flags = flags | PROTO_RESULT_ROWS;
    fill_status_result(r, &m.u.result);
    m.u.result.applied = applied;
    proto_list_value_resize(&m.u.result.cells, 1);
    m.u.result.cells.v[0].type = PV_INT;
    m.u.result.cells.v[0].v.i = value;
    rep_send_client(s, r, client, &m);
}

static void reply_plain(struct sim *s, struct srep *r, int client, uint64_t req, uint32_t flags,
                        uint64_t log_op)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_RESULT;
    m.u.result.req = req;
    m.u.result.flags = flags;
    fill_status_result(r, &m.u.result);
    m.u.result.log_op = log_op;
    rep_send_client(s, r, client, &m);
}

static void send_committed(struct sim *s, struct srep *r, int client, uint64_t op, uint64_t req)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_COMMITTED;
    m.u.committed.view = vr_view(r->vr);
    m.u.committed.op = op;
    m.u.committed.req = req;
    rep_send_client(s, r, client, &m);
}

static struct waiter *add_waiter(struct srep *r)
{
    if (r->nw == r->capw) {
        r->capw = r->capw ? r->capw * 2 : 16;
        r->w = xrealloc(r->w, r->capw * sizeof *r->w);
    }
    memset(&r->w[r->nw], 0, sizeof r->w[0]);
    return &r->w[r->nw++];
}

/* Answer whatever waits for applying, a ReadIndex round or a commit. */
static void serve_waiters(struct sim *s, struct srep *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->nw; i++) {
        struct waiter *w = &r->w[i];
        bool keep = true;
        switch (w->kind) {
        case W_FENCE:
            if (r->applied >= w->need) {
                reply_value(s, r, w->client, w->req, 0, r->kv[w->key], r->applied);
                keep = false;
            } else if (s->now >= w->deadline) {
                reply_error(s, r, w->client, w->req, ERR_NOT_READY, "fence wait timed out");
                keep = false;
            }
            break;
        case W_RI:
            if (w->confirmed && w->early) {
                reply_value(s, r, w->client, w->req, PROTO_RESULT_CONFIRMED, w->early_value,
                            w->early_a);
                keep = false;
            } else if (w->confirmed && r->applied >= w->need) {
                reply_value(s, r, w->client, w->req, PROTO_RESULT_CONFIRMED, r->kv[w->key],
                            r->applied);
                keep = false;
            } else if (s->now >= w->deadline) {
                reply_error(s, r, w->client, w->req, ERR_FAILOVER, "ReadIndex read timed out");
                keep = false;
            }
            break;
        case W_SAVED:
            if (vr_commit(r->vr) >= w->need) {
                const struct proto_entry *e = vr_entry(r->vr, w->need);
                if (e && e->req == w->req && client_of(s, &e->client) == w->client)
                    send_committed(s, r, w->client, w->need, w->req);
                keep = false;
            } else if (s->now >= w->deadline || !vr_entry(r->vr, w->need)) {
                keep = false;
            }
            break;
        }
        if (keep)
            r->w[k++] = *w;
    }
    r->nw = k;
}

static void schedule_apply(struct sim *s, struct srep *r)
{
    if (r->apply_sched || r->apply_target <= r->applied)
        return;
    r->apply_sched = true;
    push_ev(s, s->now + rnd_in(s, 0, 600), EV_APPLY, r->idx, r->inc, NULL);
}

static void rep_apply(struct sim *s, struct srep *r)
{
    uint64_t target = r->apply_target;
    struct err er;
    r->apply_sched = false;
    if (target > vr_commit(r->vr))
        target = vr_commit(r->vr);
    if (target <= r->applied)
        return;
    for (uint64_t op = r->applied + 1; op <= target && !s->failed; op++) {
        const struct proto_entry *e = vr_entry(r->vr, op);
        struct proto_body body;
        int c;
        if (!e) {
            sim_fail(s, "replica %d: committed op %llu to apply is not in its log (log %llu..%llu)",
                     r->idx, (unsigned long long)op, (unsigned long long)vr_log_start(r->vr),
                     (unsigned long long)vr_op(r->vr));
            return;
        }
        gcheck(s, r->idx, e);
        c = client_of(s, &e->client);
        if (c >= 0) {
            /* Invariant 4: a client's requests are applied once, in order. */
            if (e->req <= r->bc_req[c]) {
                sim_fail(s, "replica %d applies c%d request %llu at op %llu after request %llu "
                            "(at op %llu): applied twice or out of order",
                         r->idx, c, (unsigned long long)e->req, (unsigned long long)op,
                         (unsigned long long)r->bc_req[c], (unsigned long long)r->bc_op[c]);
                return;
            }
            r->bc_req[c] = e->req;
            r->bc_op[c] = op;
        }
        if (proto_body_decode(e->body.p, e->body.len, &body, &er) < 0) {
            sim_fail(s, "replica %d: op %llu body: %s", r->idx, (unsigned long long)op, er.msg);
            return;
        }
        for (uint32_t i = 0; i < body.stmts.n; i++) {
            const struct proto_stmt *st = &body.stmts.v[i];
            if (st->params.n == 2 && st->params.v[0].v.i >= 0 &&
                st->params.v[0].v.i < MAXKEYS)
                r->kv[st->params.v[0].v.i] = st->params.v[1].v.i;
        }
        proto_body_free(&body);
        r->applied = op;
    }
    trace(s, "r%d applied %llu", r->idx, (unsigned long long)r->applied);
    vr_applied(r->vr, r->applied);
    rep_drain(s, r);
    serve_waiters(s, r);
}

/* Invariant 2, at commit time: the entries the commit number now covers. */
static void rep_on_commit(struct sim *s, struct srep *r, uint64_t c)
{
    for (uint64_t op = r->seen_commit + 1; op <= c && !s->failed; op++) {
        const struct proto_entry *e = vr_entry(r->vr, op);
        if (e)
            gcheck(s, r->idx, e);
    }
    if (c > r->seen_commit)
        r->seen_commit = c;
    trace(s, "r%d commit %llu", r->idx, (unsigned long long)c);
    if (c > r->apply_target)
        r->apply_target = c;
    schedule_apply(s, r);
}

static void rep_on_role(struct sim *s, struct srep *r)
{
    bool primary = vr_is_primary(r->vr);
    uint64_t v = vr_view(r->vr);
    trace(s, "r%d role: view %llu %s%s%s", r->idx, (unsigned long long)v,
          vr_status(r->vr) == VR_NORMAL ? "normal" : vr_status(r->vr) == VR_VIEW_CHANGE
                                                         ? "view-change"
                                                         : "recovering",
          primary ? " primary" : "", vr_ready(r->vr) ? " ready" : "");
    if (vr_status(r->vr) == VR_NORMAL && v > s->max_normal_view) {
        s->max_normal_view = v;
        s->res->view_changes++;
    }
    if (v > s->res->views)
        s->res->views = v;
    /* A primary that loses its role rolls back every open transaction. */
    for (int c = 0; c < MAXC; c++)
        if (r->sess[c].open && (!primary || r->sess[c].view != v))
            r->sess[c].aborted = true;
    r->role_view = v;
    r->role_primary = primary;
}

static void start_transfer(struct sim *s, struct srep *r)
{
    if (r->transferring)
        return;
    r->transferring = true;
    vr_set_declining(r->vr, true);
    trace(s, "r%d needs a state transfer", r->idx);
    push_ev(s, s->now + rnd_in(s, 20000, 150000), EV_TRANSFER, r->idx, r->inc, NULL);
}

static void disk_append(struct sim *s, struct srep *r, uint64_t op)
{
    const struct proto_entry *e = vr_entry(r->vr, op);
    uint64_t d = r->slow_disk ? rnd_in(s, 20000, 100000) : rnd_in(s, 150, 1500);
    struct pend *p;
    if (!e) {
        sim_fail(s, "replica %d: APPEND of op %llu the core does not hold", r->idx,
                 (unsigned long long)op);
        return;
    }
    if (r->npend == r->cappend) {
        r->cappend = r->cappend ? r->cappend * 2 : 64;
        r->pend = xrealloc(r->pend, r->cappend * sizeof *r->pend);
    }
    p = &r->pend[r->npend++];
    memset(p, 0, sizeof *p);
    p->op = op;
    if (proto_entry_copy(&p->e, e) < 0)
        abort();
    /* Group commit: an append made while a sync runs rides on the next one,
     * which starts when the running one ends. */
    if (s->now >= r->sync_end) {
        r->sync_start = s->now;
        r->sync_end = s->now + d;
    } else if (r->sync_start <= s->now) {
        r->sync_start = r->sync_end;
        r->sync_end = r->sync_start + d;
    }
    p->done_at = r->sync_end;
    push_ev(s, p->done_at, EV_DISK, r->idx, r->inc, NULL);
}

static void rep_disk_done(struct sim *s, struct srep *r)
{
    size_t k = 0;
    uint64_t last = 0;
    while (k < r->npend && r->pend[k].done_at <= s->now) {
        if (r->pend[k].op != r->log.last + 1) {
            sim_fail(s, "replica %d: durable append of op %llu after op %llu", r->idx,
                     (unsigned long long)r->pend[k].op, (unsigned long long)r->log.last);
            return;
        }
        dlog_push(&r->log, &r->pend[k].e);
        proto_entry_free(&r->pend[k].e);
        last = r->pend[k].op;
        k++;
    }
    if (!k)
        return;
    memmove(r->pend, r->pend + k, (r->npend - k) * sizeof *r->pend);
    r->npend -= k;
    vr_durable(r->vr, last);
    rep_drain(s, r);
}

static void rep_drain(struct sim *s, struct srep *r)
{
    struct vr_effect eff;
    for (;;) {
        if (s->failed || !r->up)
            return;
        vr_flush(r->vr);
        if (!vr_next_effect(r->vr, &eff))
            return;
        switch (eff.type) {
        case VR_EFF_SEND:
            net_send(s, r->idx, (int)eff.to, &eff.msg);
            break;
        case VR_EFF_SEND_CLIENT: {
            int c = client_of(s, &eff.client);
            if (c >= 0)
                net_send(s, r->idx, s->nrep + c, &eff.msg);
            break;
        }
        case VR_EFF_PERSIST:
            r->st = eff.persist;
            trace(s, "r%d persist view=%llu last_normal=%llu commit=%llu", r->idx,
                  (unsigned long long)eff.persist.view, (unsigned long long)eff.persist.last_normal,
                  (unsigned long long)eff.persist.commit);
            break;
        case VR_EFF_TRUNCATE: {
            size_t k = 0;
            trace(s, "r%d truncate above %llu", r->idx, (unsigned long long)eff.op);
            if (eff.op < r->log.base) {
                sim_fail(s, "replica %d: truncate to %llu below its log base %llu", r->idx,
                         (unsigned long long)eff.op, (unsigned long long)r->log.base);
                break;
            }
            dlog_truncate(&r->log, eff.op);
            for (size_t i = 0; i < r->npend; i++) {
                if (r->pend[i].op > eff.op)
                    proto_entry_free(&r->pend[i].e);
                else
                    r->pend[k++] = r->pend[i];
            }
            r->npend = k;
            break;
        }
        case VR_EFF_APPEND:
            disk_append(s, r, eff.op);
            break;
        case VR_EFF_COMMIT:
            rep_on_commit(s, r, eff.op);
            break;
        case VR_EFF_ROLE:
            rep_on_role(s, r);
            break;
        case VR_EFF_READ_INDEX:
            for (size_t i = 0; i < r->nw; i++) {
                struct waiter *w = &r->w[i];
                if (w->kind != W_RI || w->token != eff.token)
                    continue;
                if (eff.ok) {
                    w->confirmed = true;
                } else {
                    reply_error(s, r, w->client, w->req, ERR_FAILOVER,
                                "could not confirm this replica is still the primary");
                    w->deadline = 0;
                    w->kind = W_SAVED; /* removed by serve_waiters */
                    w->need = UINT64_MAX;
                }
            }
            serve_waiters(s, r);
            break;
        case VR_EFF_NEED_TRANSFER:
            start_transfer(s, r);
            break;
        }
        vr_effect_free(&eff);
    }
}

/* -------------------------------------------------- replica: clients */

static bool is_ready_primary(struct srep *r)
{
    return vr_ready(r->vr) && !r->transferring;
}

static void refuse_not_primary(struct sim *s, struct srep *r, int c, uint64_t req)
{
    if (!vr_is_primary(r->vr))
        reply_error(s, r, c, req, ERR_NOT_PRIMARY, "not the primary");
    else
        reply_error(s, r, c, req, ERR_NOT_READY, "primary not ready");
}

/* A request id already in the log or the backend's client table: answer
 * from there (COMMITTED now or once committed).  Returns true if handled. */
static bool answer_duplicate(struct sim *s, struct srep *r, int c, uint64_t req)
{
    uint64_t op = 0, last = vr_client_last(r->vr, &s->cli[c].id, &op);
    uint64_t bk = r->bc_req[c];
    if (req > last && req > bk)
        return false;
    if (req == last) {
        reply_plain(s, r, c, req, PROTO_RESULT_SAVED | PROTO_RESULT_PENDING, op);
        if (op <= vr_commit(r->vr)) {
            send_committed(s, r, c, op, req);
        } else {
            struct waiter *w = add_waiter(r);
            w->kind = W_SAVED;
            w->client = c;
            w->req = req;
            w->need = op;
            w->deadline = s->now + 2 * WRITE_RETRY_US;
        }
    } else if (req == bk) {
        reply_plain(s, r, c, req, PROTO_RESULT_SAVED, r->bc_op[c]);
        send_committed(s, r, c, r->bc_op[c], req);
    } else {
        reply_error(s, r, c, req, ERR_INVALID, "stale request id");
    }
    return true;
}

static int submit_writes(struct sim *s, struct srep *r, int c, uint64_t req, const uint32_t *keys,
                         const int64_t *vals, uint32_t nw, uint64_t *op)
{
    struct proto_body body;
    struct buf b;
    struct err e;
    int rc;
    memset(&body, 0, sizeof body);
    body.kind = BODY_TXN;
    body.ts_us = s->now;
    proto_list_stmt_resize(&body.stmts, nw);
    for (uint32_t i = 0; i < nw; i++) {
        struct proto_stmt *st = &body.stmts.v[i];
        proto_str_setz(&st->sql, "PUT");
        proto_list_value_resize(&st->params, 2);
        st->params.v[0].type = PV_INT;
        st->params.v[0].v.i = keys[i];
        st->params.v[1].type = PV_INT;
        st->params.v[1].v.i = vals[i];
        st->ts_us = s->now;
        st->affected = 1;
    }
    buf_init(&b);
    proto_body_encode(&body, &b);
    proto_body_free(&body);
    rc = vr_submit(r->vr, &s->cli[c].id, req, b.data, (uint32_t)b.len, op, &e);
    buf_close(&b);
    if (rc < 0) {
        reply_error(s, r, c, req, e.code, e.msg);
        return -1;
    }
    trace(s, "r%d submit c%d req %llu -> op %llu", r->idx, c, (unsigned long long)req,
          (unsigned long long)*op);
    return 0;
}

static void rep_on_client(struct sim *s, struct srep *r, int c, const struct proto_msg *m)
{
    struct session *ss = &r->sess[c];
    switch (m->type) {
    case MSG_PROBE: {
        struct proto_msg st;
        memset(&st, 0, sizeof st);
        st.type = MSG_STATUS;
        st.u.status.req = m->u.probe.req;
        st.u.status.replica = (uint32_t)r->idx;
        st.u.status.view = vr_view(r->vr);
        st.u.status.status = r->transferring ? STATUS_TRANSFER : (uint8_t)vr_status(r->vr);
        st.u.status.op = vr_op(r->vr);
        st.u.status.commit = vr_commit(r->vr);
        st.u.status.applied = r->applied;
        st.u.status.log_start = vr_log_start(r->vr);
        st.u.status.primary = vr_primary(r->vr);
        rep_send_client(s, r, c, &st);
        return;
    }
    case MSG_EXEC: {
        const struct proto_exec *x = &m->u.exec;
        uint32_t key = x->params.n >= 1 ? (uint32_t)x->params.v[0].v.i % MAXKEYS : 0;
        /* request ids only grow: an older one is a stale, reordered message */
        if (x->req < r->max_req[c])
            return;
        r->max_req[c] = x->req;
        if (x->flags & PROTO_EXEC_READ_INDEX) {
            struct waiter *w;
            if (!is_ready_primary(r)) {
                refuse_not_primary(s, r, c, x->req);
                return;
            }
            w = add_waiter(r);
            w->kind = W_RI;
            w->client = c;
            w->req = x->req;
            w->key = key;
            /* Wait for the op the primary had when the read arrived, not its
             * commit number: a client may count an entry as committed
             * before the primary knows. */
            w->need = vr_op(r->vr);
            w->deadline = s->now + RI_TIMEOUT_US;
            if (s->cfg.bug_readindex_stale) {
                w->early = true;
                w->early_value = r->kv[key];
                w->early_a = r->applied;
            }
            w->token = vr_read_index(r->vr);
            rep_drain(s, r);
            serve_waiters(s, r);
            return;
        }
        if (x->flags & PROTO_EXEC_READ) {
            if (vr_status(r->vr) == VR_RECOVERING || r->transferring) {
                reply_error(s, r, c, x->req, ERR_NOT_READY, "recovering");
                return;
            }
            if (r->applied >= x->fence) {
                reply_value(s, r, c, x->req, 0, r->kv[key], r->applied);
            } else {
                struct waiter *w = add_waiter(r);
                w->kind = W_FENCE;
                w->client = c;
                w->req = x->req;
                w->key = key;
                w->need = x->fence;
                w->deadline = s->now + FENCE_WAIT_US;
            }
            return;
        }
        if (x->flags & PROTO_EXEC_AUTOCOMMIT) {
            uint64_t op;
            int64_t val = x->params.n >= 2 ? x->params.v[1].v.i : 0;
            if (!is_ready_primary(r)) {
                refuse_not_primary(s, r, c, x->req);
                return;
            }
            if (answer_duplicate(s, r, c, x->req))
                return;
            if (submit_writes(s, r, c, x->req, &key, &val, 1, &op) == 0)
                reply_plain(s, r, c, x->req, PROTO_RESULT_PENDING, op);
            rep_drain(s, r);
            return;
        }
        /* a write inside the open transaction */
        if (!ss->open || ss->aborted || !vr_is_primary(r->vr) || ss->view != vr_view(r->vr) ||
            x->req != ss->begin_req + 1 + ss->nw || ss->nw >= 8) {
            if (ss->open && ss->aborted)
                s->res->txn_aborted_40001++;
            ss->open = false;
            reply_error(s, r, c, x->req, ERR_FAILOVER, "transaction rolled back by failover; retry");
            return;
        }
        ss->keys[ss->nw] = key;
        ss->vals[ss->nw] = x->params.n >= 2 ? x->params.v[1].v.i : 0;
        ss->nw++;
        reply_plain(s, r, c, x->req, 0, 0);
        return;
    }
    case MSG_TXN: {
        const struct proto_txn *t = &m->u.txn;
        if (t->req < r->max_req[c])
            return;
        r->max_req[c] = t->req;
        if (t->action == TXN_BEGIN) {
            if (!is_ready_primary(r)) {
                refuse_not_primary(s, r, c, t->req);
                return;
            }
            memset(ss, 0, sizeof *ss);
            ss->open = true;
            ss->view = vr_view(r->vr);
            ss->begin_req = t->req;
            reply_plain(s, r, c, t->req, 0, 0);
            return;
        }
        if (t->action == TXN_ROLLBACK) {
            ss->open = false;
            reply_plain(s, r, c, t->req, 0, 0);
            return;
        }
        /* COMMIT.  A transaction rolled back by a role change gets 40001
         * whatever this replica is now. */
        if (ss->open && ss->aborted && t->req == ss->begin_req + 1 + ss->nw) {
            s->res->txn_aborted_40001++;
            ss->open = false;
            reply_error(s, r, c, t->req, ERR_FAILOVER, "transaction rolled back by failover; retry");
            return;
        }
        if (!is_ready_primary(r)) {
            refuse_not_primary(s, r, c, t->req);
            return;
        }
        if (answer_duplicate(s, r, c, t->req))
            return;
        if (!ss->open || ss->aborted || ss->view != vr_view(r->vr) ||
            t->req != ss->begin_req + 1 + ss->nw) {
            /* a ready primary without the transaction: it was rolled back
             * (or never reached this replica); it can no longer commit */
            if (ss->open && ss->aborted)
                s->res->txn_aborted_40001++;
            ss->open = false;
            reply_error(s, r, c, t->req, ERR_FAILOVER, "transaction rolled back by failover; retry");
            return;
        }
        {
            uint64_t op;
            ss->open = false;
            if (ss->nw == 0) {
                reply_plain(s, r, c, t->req, 0, 0);
                return;
            }
            submit_writes(s, r, c, t->req, ss->keys, ss->vals, ss->nw, &op);
            rep_drain(s, r);
        }
        return;
    }
    default:
        return;
    }
}

/* ------------------------------------------------- crash and restart */

static void rep_boot(struct sim *s, struct srep *r)
{
    struct vr_config vc;
    struct err e;
    r->inc++;
    if (r->log.torn) {
        trace(s, "r%d drops a torn record after op %llu", r->idx, (unsigned long long)r->log.last);
        r->log.torn = false;
    }
    if (r->applied > r->log.last)
        dlog_reset(&r->log, r->applied, 0);
    if (r->log.base > r->applied) {
        sim_fail(s, "replica %d: log starts after op %llu but the backend applied only %llu",
                 r->idx, (unsigned long long)r->log.base, (unsigned long long)r->applied);
        return;
    }
    vc = rep_vr_config(s, r);
    r->vr = vr_new(&vc, &r->st, &e);
    if (!r->vr) {
        sim_fail(s, "replica %d: vr_new: %s", r->idx, e.msg);
        return;
    }
    vr_set_log_base(r->vr, r->log.base, r->log.base_view);
    for (uint64_t op = r->log.base + 1; op <= r->log.last; op++)
        if (vr_load(r->vr, &r->log.v[op - r->log.base - 1], &e) < 0) {
            sim_fail(s, "replica %d: vr_load(%llu): %s", r->idx, (unsigned long long)op, e.msg);
            return;
        }
    r->up = true;
    r->sync_start = r->sync_end = 0;
    r->seen_commit = r->log.base;
    r->apply_target = r->applied;
    r->apply_sched = false;
    r->transferring = false;
    r->role_view = 0;
    r->role_primary = false;
    r->donor = false;
    trace(s, "r%d boots: view %llu last_normal %llu commit %llu log %llu..%llu applied %llu",
          r->idx, (unsigned long long)r->st.view, (unsigned long long)r->st.last_normal,
          (unsigned long long)r->st.commit, (unsigned long long)r->log.base,
          (unsigned long long)r->log.last, (unsigned long long)r->applied);
    vr_start(r->vr, r->applied);
    rep_drain(s, r);
    push_ev(s, s->now + rnd_in(s, 1, TICK_US), EV_TICK, r->idx, r->inc, NULL);
}

void sim_crash(struct sim *s, int i)
{
    struct srep *r = &s->rep[i];
    if (!r->up)
        return;
    s->res->crashes++;
    /* The disk may have written some of the appends the core was never
     * told about, and maybe half of the next one. */
    if (r->npend && chance(s, 0.5)) {
        size_t k = (size_t)rnd_in(s, 0, r->npend);
        for (size_t j = 0; j < k; j++)
            if (r->pend[j].op == r->log.last + 1)
                dlog_push(&r->log, &r->pend[j].e);
        if (k < r->npend && chance(s, 0.5))
            r->log.torn = true;
    } else if (r->npend && chance(s, 0.3)) {
        r->log.torn = true;
    }
    pend_clear(r);
    vr_free(r->vr);
    r->vr = NULL;
    r->up = false;
    r->nw = 0;
    r->transferring = false;
    memset(r->sess, 0, sizeof r->sess);
    memset(r->max_req, 0, sizeof r->max_req);
    trace(s, "r%d CRASH (log %llu..%llu%s, applied %llu)", i, (unsigned long long)r->log.base,
          (unsigned long long)r->log.last, r->log.torn ? " + torn" : "",
          (unsigned long long)r->applied);
    r->inc++;
}

void sim_restart(struct sim *s, int i)
{
    if (s->rep[i].up)
        return;
    rep_boot(s, &s->rep[i]);
}

static void rep_transfer(struct sim *s, struct srep *r)
{
    struct srep *d = NULL;
    for (int i = 0; i < s->nrep; i++) {
        struct srep *x = &s->rep[i];
        if (x == r || !x->up || x->transferring)
            continue;
        if (!d || x->applied > d->applied)
            d = x;
    }
    if (!d || d->applied <= r->applied) {
        if (vr_status(r->vr) == VR_NORMAL) {
            /* caught up through a later view's log meanwhile: the
             * transfer is no longer needed */
            trace(s, "r%d state transfer no longer needed", r->idx);
            r->transferring = false;
            vr_set_declining(r->vr, r->donor);
            rep_drain(s, r);
            return;
        }
        push_ev(s, s->now + rnd_in(s, 50000, 200000), EV_TRANSFER, r->idx, r->inc, NULL);
        return;
    }
    s->res->transfers++;
    trace(s, "r%d state transfer from r%d at op %llu", r->idx, d->idx,
          (unsigned long long)d->applied);
    memcpy(r->kv, d->kv, sizeof r->kv);
    memcpy(r->bc_req, d->bc_req, sizeof r->bc_req);
    memcpy(r->bc_op, d->bc_op, sizeof r->bc_op);
    r->applied = d->applied;
    dlog_reset(&r->log, d->applied, 0);
    pend_clear(r);
    r->apply_target = r->applied;
    r->seen_commit = r->applied;
    vr_reset_log(r->vr, d->applied);
    r->transferring = false;
    vr_set_declining(r->vr, r->donor);
    rep_drain(s, r);
}

static void rep_tick(struct sim *s, struct srep *r)
{
    vr_tick(r->vr);
    rep_drain(s, r);
    if (!r->up)
        return;
    /* The commit number is persisted lazily. */
    if (chance(s, 0.2))
        r->st = vr_persisted(r->vr);
    if (r->retain) {
        uint64_t lim = r->applied < r->log.last ? r->applied : r->log.last;
        if (lim > r->retain && lim - r->retain > vr_log_start(r->vr)) {
            vr_compact(r->vr, lim - r->retain);
            dlog_compact(&r->log, vr_log_start(r->vr) - 1);
        }
    }
    serve_waiters(s, r);
    push_ev(s, s->now + r->tick_us, EV_TICK, r->idx, r->inc, NULL);
}

/* --------------------------------------------------------------- clients */

static void cli_send(struct sim *s, struct sclient *c, int replica, struct proto_msg *m)
{
    net_send(s, c->node, replica, m);
    proto_msg_free(m);
}

static void cli_timer(struct sim *s, struct sclient *c, uint64_t after)
{
    c->timer_gen++;
    push_ev(s, s->now + after, EV_CLIENT, c->node, c->timer_gen, NULL);
}

static void cli_rotate(struct sim *s, struct sclient *c)
{
    int hint = (int)(c->hint_view % (uint64_t)s->nrep);
    if (c->hint_view && hint != c->target && rnd(s) % 2)
        c->target = hint;
    else
        c->target = (c->target + 1) % s->nrep;
}

static void cli_hint(struct sclient *c, uint64_t view, uint8_t status)
{
    if (status == STATUS_NORMAL && view > c->hint_view)
        c->hint_view = view;
}

static void cli_next(struct sim *s, struct sclient *c);

static void cli_finish(struct sim *s, struct sclient *c, enum hist_status st)
{
    for (int i = 0; i < c->nhop; i++) {
        struct hist_op *o = &s->hist.ops[c->hop[i]];
        o->status = st;
        o->ret = ++s->stamp;
        o->ret_us = s->now;
        if (o->kind == H_WRITE && st == H_OK) {
            o->op = c->qw.op;
            if (c->qw.op > c->hwm)
                c->hwm = c->qw.op;
        }
        if (st == H_OK)
            s->res->ops_ok++;
        else if (st == H_FAIL)
            s->res->ops_failed++;
        else
            s->res->ops_unknown++;
        trace(s, "c%d %s %s k%u=%lld", c->idx, o->kind == H_WRITE ? "write" : "read",
              hist_status_name(st), o->key, (long long)o->value);
    }
    c->phase = CP_IDLE;
    c->nhop = 0;
    c->timer_gen++;
    if (s->healed && c->ops_left)
        c->ops_left--;
    if (s->healed && !c->ops_left) {
        c->done = true;
        return;
    }
    push_ev(s, s->now + rnd_in(s, 0, 2 * s->cfg.think_us), EV_CLIENT, c->node, ++c->timer_gen,
            NULL);
}

static size_t cli_hop(struct sim *s, struct sclient *c, enum hist_kind kind, enum hist_level lvl,
                      uint32_t key, int64_t value)
{
    struct hist_op o;
    memset(&o, 0, sizeof o);
    o.client = c->idx;
    o.kind = kind;
    o.level = lvl;
    o.key = key;
    o.value = value;
    o.invoke = ++s->stamp;
    o.invoke_us = s->now;
    o.hwm = c->hwm;
    o.replica = -1;
    s->res->ops++;
    return history_add(&s->hist, &o);
}

static uint64_t cli_give_up(struct sim *s)
{
    return s->healed ? NEVER : s->now + rnd_in(s, 300000, 2000000);
}

/* ---- writes ---- */

static void write_send(struct sim *s, struct sclient *c, bool retry)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_EXEC;
    m.u.exec.req = c->req;
    m.u.exec.flags = PROTO_EXEC_AUTOCOMMIT | (retry ? PROTO_EXEC_RETRY : 0);
    proto_str_setz(&m.u.exec.sql, "PUT");
    proto_list_value_resize(&m.u.exec.params, 2);
    m.u.exec.params.v[0].type = PV_INT;
    m.u.exec.params.v[0].v.i = c->key;
    m.u.exec.params.v[1].type = PV_INT;
    m.u.exec.params.v[1].v.i = c->value;
    cli_send(s, c, c->target, &m);
    cli_timer(s, c, WRITE_RETRY_US);
}

static void txn_commit_send(struct sim *s, struct sclient *c)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_TXN;
    m.u.txn.req = c->commit_req;
    m.u.txn.action = TXN_COMMIT;
    cli_send(s, c, c->target, &m);
    cli_timer(s, c, WRITE_RETRY_US);
}

static void start_write(struct sim *s, struct sclient *c)
{
    c->kind = CK_WRITE;
    c->phase = CP_WRITE;
    c->key = (uint32_t)(rnd(s) % s->cfg.keys);
    c->value = (int64_t)(c->idx + 1) * 1000000 + (int64_t)++c->counter;
    c->req = c->next_req++;
    c->nhop = 1;
    c->hop[0] = cli_hop(s, c, H_WRITE, 0, c->key, c->value);
    s->hist.ops[c->hop[0]].req = c->req;
    quorum_write_init(&c->qw, (uint32_t)s->nrep, c->req);
    c->give_up_at = cli_give_up(s);
    write_send(s, c, false);
}

static void txn_stmt_send(struct sim *s, struct sclient *c)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_EXEC;
    m.u.exec.req = c->req;
    m.u.exec.flags = PROTO_EXEC_CONTINUE;
    proto_str_setz(&m.u.exec.sql, "PUT");
    proto_list_value_resize(&m.u.exec.params, 2);
    m.u.exec.params.v[0].type = PV_INT;
    m.u.exec.params.v[0].v.i = c->tkeys[c->ti];
    m.u.exec.params.v[1].type = PV_INT;
    m.u.exec.params.v[1].v.i = c->tvals[c->ti];
    cli_send(s, c, c->target, &m);
    cli_timer(s, c, STMT_TIMEOUT_US);
}

static void start_txn(struct sim *s, struct sclient *c)
{
    struct proto_msg m;
    uint32_t nk = (uint32_t)rnd_in(s, 1, s->cfg.keys < TXN_MAX ? s->cfg.keys : TXN_MAX);
    c->kind = CK_TXN;
    c->phase = CP_TXN_BEGIN;
    c->tn = 0;
    while ((uint32_t)c->tn < nk) {
        uint32_t k = (uint32_t)(rnd(s) % s->cfg.keys);
        bool dup = false;
        for (int i = 0; i < c->tn; i++)
            dup |= c->tkeys[i] == k;
        if (dup)
            continue;
        c->tkeys[c->tn] = k;
        c->tvals[c->tn] = (int64_t)(c->idx + 1) * 1000000 + (int64_t)++c->counter;
        c->tn++;
    }
    c->ti = 0;
    c->nhop = c->tn;
    for (int i = 0; i < c->tn; i++) {
        c->hop[i] = cli_hop(s, c, H_WRITE, 0, c->tkeys[i], c->tvals[i]);
        s->hist.ops[c->hop[i]].txn = 1;
    }
    if (c->script == SC_TXN)
        c->target = c->script_target;
    c->req = c->next_req++;
    memset(&m, 0, sizeof m);
    m.type = MSG_TXN;
    m.u.txn.req = c->req;
    m.u.txn.action = TXN_BEGIN;
    cli_send(s, c, c->target, &m);
    cli_timer(s, c, STMT_TIMEOUT_US);
}

/* Send the transaction's current step: statement ti, or the commit. */
static void txn_step(struct sim *s, struct sclient *c)
{
    c->phase = CP_TXN_STMT;
    if (c->ti < c->tn) {
        c->req = c->next_req++;
        txn_stmt_send(s, c);
        return;
    }
    /* commit: the entry carries this request id */
    c->phase = CP_TXN_COMMIT;
    c->commit_req = c->req = c->next_req++;
    for (int i = 0; i < c->nhop; i++) {
        s->hist.ops[c->hop[i]].req = c->req;
        /* the writes take effect at the commit */
        s->hist.ops[c->hop[i]].invoke = ++s->stamp;
        s->hist.ops[c->hop[i]].invoke_us = s->now;
    }
    quorum_write_init(&c->qw, (uint32_t)s->nrep, c->req);
    c->give_up_at = cli_give_up(s);
    txn_commit_send(s, c);
}

/* BEGIN or a statement succeeded: on to the next step (after a pause for
 * scripted clients, which keep transactions open across failures). */
static void txn_advance(struct sim *s, struct sclient *c)
{
    if (c->phase == CP_TXN_STMT)
        c->ti++;
    c->phase = CP_TXN_STMT;
    if (c->script == SC_TXN && c->script_pause) {
        c->pause_pending = true;
        cli_timer(s, c, c->script_pause);
        return;
    }
    txn_step(s, c);
}

/* ---- reads ---- */

static void read_round(struct sim *s, struct sclient *c)
{
    struct proto_msg m;
    c->req = c->next_req++;
    c->probe_req = c->next_req++;
    c->have_rows = false;
    quorum_read_init(&c->qr, (uint32_t)s->nrep, (uint32_t)c->x);
    memset(&m, 0, sizeof m);
    m.type = MSG_EXEC;
    m.u.exec.req = c->req;
    m.u.exec.flags = PROTO_EXEC_READ;
    m.u.exec.fence = c->fence;
    proto_str_setz(&m.u.exec.sql, "GET");
    proto_list_value_resize(&m.u.exec.params, 1);
    m.u.exec.params.v[0].type = PV_INT;
    m.u.exec.params.v[0].v.i = c->key;
    cli_send(s, c, c->x, &m);
    if (c->kind == CK_LREAD && !s->cfg.bug_lin_no_quorum)
        for (int i = 0; i < s->nrep; i++) {
            if (i == c->x)
                continue;
            memset(&m, 0, sizeof m);
            m.type = MSG_PROBE;
            m.u.probe.req = c->probe_req;
            cli_send(s, c, i, &m);
        }
    cli_timer(s, c, c->kind == CK_LREAD ? READ_ROUND_US : READ_ROUND_US + FENCE_WAIT_US);
}

static void ri_send(struct sim *s, struct sclient *c)
{
    struct proto_msg m;
    c->phase = CP_RI;
    c->req = c->next_req++;
    memset(&m, 0, sizeof m);
    m.type = MSG_EXEC;
    m.u.exec.req = c->req;
    m.u.exec.flags = PROTO_EXEC_READ | PROTO_EXEC_READ_INDEX;
    proto_str_setz(&m.u.exec.sql, "GET");
    proto_list_value_resize(&m.u.exec.params, 1);
    m.u.exec.params.v[0].type = PV_INT;
    m.u.exec.params.v[0].v.i = c->key;
    cli_send(s, c, c->target, &m);
    cli_timer(s, c, RI_TIMEOUT_US);
}

static void start_read(struct sim *s, struct sclient *c, enum ckind kind)
{
    enum hist_level lvl = kind == CK_LREAD ? H_LIN : kind == CK_SREAD ? H_SESSION : H_ANY;
    c->kind = kind;
    c->phase = kind == CK_LREAD ? CP_LREAD : CP_READ;
    c->key = (uint32_t)(rnd(s) % s->cfg.keys);
    c->nhop = 1;
    c->hop[0] = cli_hop(s, c, H_READ, lvl, c->key, 0);
    c->tries = 0;
    c->x = (int)(rnd(s) % (uint64_t)s->nrep);
    c->fence = kind == CK_SREAD ? c->hwm : 0;
    c->view_at_invoke = s->max_normal_view;
    c->give_up_at = cli_give_up(s);
    read_round(s, c);
}

static void read_done(struct sim *s, struct sclient *c, int64_t value, uint64_t a, int replica,
                      uint64_t view, bool by_ri)
{
    struct hist_op *o = &s->hist.ops[c->hop[0]];
    o->value = value;
    o->applied = a;
    o->replica = replica;
    if (c->kind == CK_LREAD) {
        s->res->lin_reads_ok++;
        if (by_ri)
            s->res->lin_reads_by_readindex++;
        else if (view < c->view_at_invoke)
            s->res->stale_primary_reads++;
    }
    if (a > c->hwm)
        c->hwm = a;
    cli_finish(s, c, H_OK);
}

/* One quorum-read attempt did not succeed: try again or fall back. */
static void lread_retry(struct sim *s, struct sclient *c, bool fenced)
{
    c->tries++;
    if (c->tries >= LIN_TRIES) {
        ri_send(s, c);
        return;
    }
    if (!fenced) {
        c->x = (c->x + 1 + (int)(rnd(s) % (uint64_t)s->nrep)) % s->nrep;
        c->fence = 0;
    }
    read_round(s, c);
}

static void lread_decide(struct sim *s, struct sclient *c, bool timed_out)
{
    uint64_t fence = 0;
    enum quorum_verdict v;
    if (s->cfg.bug_lin_no_quorum) {
        if (c->have_rows)
            read_done(s, c, c->rows_value, c->rows_a, c->rows_replica, c->rows_view, false);
        else if (timed_out)
            lread_retry(s, c, false);
        return;
    }
    if (timed_out)
        for (int i = 0; i < s->nrep; i++)
            quorum_read_unreachable(&c->qr, (uint32_t)i);
    v = quorum_read_decide(&c->qr, &fence);
    if (v == QUORUM_OK && c->have_rows) {
        read_done(s, c, c->rows_value, c->rows_a, c->rows_replica, c->rows_view, false);
    } else if (v == QUORUM_FENCE) {
        if (s->cfg.bug_lin_no_fence && c->have_rows) {
            read_done(s, c, c->rows_value, c->rows_a, c->rows_replica, c->rows_view, false);
            return;
        }
        c->fence = fence;
        lread_retry(s, c, true);
    } else if (v == QUORUM_NO_QUORUM || timed_out) {
        lread_retry(s, c, false);
    }
}

static void cli_next(struct sim *s, struct sclient *c)
{
    uint64_t p = rnd(s) % 100;
    if (c->done)
        return;
    if (c->script == SC_TXN) {
        start_txn(s, c);
        return;
    }
    if (c->script == SC_LIN) {
        start_read(s, c, CK_LREAD);
        return;
    }
    if (p < 35)
        start_write(s, c);
    else if (p < 45)
        start_txn(s, c);
    else if (p < 75)
        start_read(s, c, CK_LREAD);
    else if (p < 88)
        start_read(s, c, CK_SREAD);
    else
        start_read(s, c, CK_AREAD);
}

static void cli_on_timer(struct sim *s, struct sclient *c)
{
    switch (c->phase) {
    case CP_IDLE:
        cli_next(s, c);
        return;
    case CP_WRITE:
    case CP_TXN_COMMIT:
        if (s->now >= c->give_up_at) {
            cli_finish(s, c, H_UNKNOWN);
            return;
        }
        if (rnd(s) % 2)
            cli_rotate(s, c);
        if (c->phase == CP_WRITE)
            write_send(s, c, true);
        else
            txn_commit_send(s, c);
        return;
    case CP_TXN_BEGIN:
    case CP_TXN_STMT:
        if (c->pause_pending) {
            c->pause_pending = false;
            txn_step(s, c);
            return;
        }
        /* COMMIT was never sent: the transaction cannot have committed */
        cli_finish(s, c, H_FAIL);
        return;
    case CP_LREAD:
        if (s->now >= c->give_up_at) {
            cli_finish(s, c, H_FAIL);
            return;
        }
        lread_decide(s, c, true);
        return;
    case CP_RI:
        if (s->now >= c->give_up_at) {
            cli_finish(s, c, H_FAIL);
            return;
        }
        cli_rotate(s, c);
        ri_send(s, c);
        return;
    case CP_READ:
        if (s->now >= c->give_up_at) {
            cli_finish(s, c, H_FAIL);
            return;
        }
        c->x = (c->x + 1) % s->nrep;
        read_round(s, c);
        return;
    }
}

static void cli_on_msg(struct sim *s, struct sclient *c, int from, const struct proto_msg *m)
{
    switch (m->type) {
    case MSG_PREPARED:
    case MSG_ACK:
    case MSG_COMMITTED: {
        bool done;
        if (c->phase != CP_WRITE && c->phase != CP_TXN_COMMIT)
            return;
        if (m->type == MSG_PREPARED)
            done = quorum_write_ack(&c->qw, m->u.prepared.replica, m->u.prepared.view,
                                    m->u.prepared.op, m->u.prepared.req);
        else if (m->type == MSG_ACK)
            done = quorum_write_ack(&c->qw, m->u.ack.replica, m->u.ack.view, m->u.ack.op,
                                    m->u.ack.req);
        else
            done = quorum_write_committed(&c->qw, m->u.committed.view, m->u.committed.op,
                                          m->u.committed.req);
        if (done)
            cli_finish(s, c, H_OK);
        return;
    }
    case MSG_RESULT: {
        const struct proto_result *r = &m->u.result;
        cli_hint(c, r->view, r->status);
        if (r->req != c->req)
            return;
        switch (c->phase) {
        case CP_TXN_BEGIN:
        case CP_TXN_STMT:
            if (!c->pause_pending)
                txn_advance(s, c);
            return;
        case CP_LREAD:
            if (from != c->x)
                return;
            c->have_rows = true;
            c->rows_value = r->cells.n ? r->cells.v[0].v.i : 0;
            c->rows_a = r->applied;
            c->rows_replica = from;
            c->rows_view = r->view;
            quorum_read_status(&c->qr, (uint32_t)from, r->view, r->status, r->op, r->commit,
                               r->applied);
            lread_decide(s, c, false);
            return;
        case CP_RI:
            if (r->flags & PROTO_RESULT_CONFIRMED)
                read_done(s, c, r->cells.n ? r->cells.v[0].v.i : 0, r->applied, from, r->view,
                          true);
            return;
        case CP_READ:
            if (r->applied < c->fence) {
                sim_fail(s, "replica %d answered a read with applied %llu below its fence %llu",
                         from, (unsigned long long)r->applied, (unsigned long long)c->fence);
                return;
            }
            read_done(s, c, r->cells.n ? r->cells.v[0].v.i : 0, r->applied, from, r->view, false);
            return;
        default:
            return;
        }
    }
    case MSG_STATUS:
        cli_hint(c, m->u.status.view, m->u.status.status);
        if (c->phase == CP_LREAD && m->u.status.req == c->probe_req) {
            quorum_read_status(&c->qr, (uint32_t)from, m->u.status.view, m->u.status.status,
                               m->u.status.op, m->u.status.commit, m->u.status.applied);
            lread_decide(s, c, false);
        }
        return;
    case MSG_ERROR: {
        const struct proto_error *e = &m->u.error;
        if (e->req != c->req)
            return;
        switch (c->phase) {
        case CP_WRITE:
        case CP_TXN_COMMIT:
            if (e->code == ERR_FAILOVER && c->phase == CP_TXN_COMMIT) {
                cli_finish(s, c, H_FAIL); /* definite: a ready primary without it */
                return;
            }
            cli_rotate(s, c);
            c->timer_gen++;
            push_ev(s, s->now + BACKOFF_US, EV_CLIENT, c->node, c->timer_gen, NULL);
            return;
        case CP_TXN_BEGIN:
        case CP_TXN_STMT:
            if (c->script != SC_TXN)
                cli_rotate(s, c);
            cli_finish(s, c, H_FAIL); /* COMMIT never sent */
            return;
        case CP_LREAD:
            if (from == c->x) {
                quorum_read_unreachable(&c->qr, (uint32_t)from);
                lread_decide(s, c, false);
            }
            return;
        case CP_RI:
            cli_rotate(s, c);
            c->timer_gen++;
            push_ev(s, s->now + BACKOFF_US, EV_CLIENT, c->node, c->timer_gen, NULL);
            return;
        case CP_READ:
            c->x = (c->x + 1) % s->nrep;
            c->timer_gen++;
            push_ev(s, s->now + BACKOFF_US, EV_CLIENT, c->node, c->timer_gen, NULL);
            return;
        default:
            return;
        }
    }
    default:
        return;
    }
}

/* ------------------------------------------------------------------ faults */

static void heal_links(struct sim *s)
{
    memset(s->cut, 0, sizeof s->cut);
}

static int current_primary(const struct sim *s)
{
    int best = -1;
    for (int i = 0; i < s->nrep; i++) {
        const struct srep *r = &s->rep[i];
        if (r->up && vr_is_primary(r->vr) &&
            (best < 0 || vr_view(r->vr) > vr_view(s->rep[best].vr)))
            best = i;
    }
    return best;
}

static void fault_partition(struct sim *s)
{
    uint32_t side = 0;
    bool oneway = chance(s, 0.4);
    for (int i = 0; i < s->nrep; i++)
        if (rnd(s) % 2)
            side |= 1u << i;
    heal_links(s);
    for (int i = 0; i < s->nrep; i++)
        for (int j = 0; j < s->nrep; j++) {
            bool ai = side >> i & 1, aj = side >> j & 1;
            if (i != j && ai != aj && (!oneway || ai))
                s->cut[i][j] = true;
        }
    /* most clients reach everyone; some see one side only */
    for (int c = 0; c < s->ncli; c++) {
        int node = s->nrep + c;
        bool a;
        if (!chance(s, 0.3))
            continue;
        a = rnd(s) % 2;
        for (int i = 0; i < s->nrep; i++)
            if ((bool)(side >> i & 1) != a)
                s->cut[node][i] = s->cut[i][node] = true;
    }
    trace(s, "FAULT partition %s side A=%#x", oneway ? "one-way" : "symmetric", side);
}

/* The primary and at most f-1 others on one side; clients still reach the
 * primary, and one client reaches only that side. */
static void fault_isolate(struct sim *s)
{
    int p = current_primary(s), f = (s->nrep - 1) / 2;
    uint32_t side = 0;
    if (p < 0 || s->nrep < 3)
        return;
    side = 1u << p;
    for (int k = 0, tries = 0; k < f - 1 && tries < 20; tries++) {
        int i = (int)(rnd(s) % (uint64_t)s->nrep);
        if (!(side >> i & 1)) {
            side |= 1u << i;
            k++;
        }
    }
    heal_links(s);
    for (int i = 0; i < s->nrep; i++)
        for (int j = 0; j < s->nrep; j++)
            if (i != j && (bool)(side >> i & 1) != (bool)(side >> j & 1))
                s->cut[i][j] = true;
    {
        int c = (int)(rnd(s) % (uint64_t)s->ncli), node = s->nrep + c;
        for (int i = 0; i < s->nrep; i++)
            if (!(side >> i & 1))
                s->cut[node][i] = s->cut[i][node] = true;
        trace(s, "FAULT isolate primary r%d with %#x; c%d confined there", p, side, c);
    }
}

static void fault_crash(struct sim *s, bool all)
{
    if (all) {
        trace(s, "FAULT crash all");
        for (int i = 0; i < s->nrep; i++) {
            sim_crash(s, i);
            push_ev(s, s->now + rnd_in(s, 50000, 500000), EV_RESTART, i, 0, NULL);
        }
        return;
    }
    {
        int i = (int)(rnd(s) % (uint64_t)s->nrep);
        uint64_t down = s->cfg.mix == SIM_MIX_TRANSFER ? rnd_in(s, 200000, 1500000)
                                                       : rnd_in(s, 20000, 800000);
        /* prefer the primary now and then: it holds the newest uncommitted entries */
        if (chance(s, 0.4) && current_primary(s) >= 0)
            i = current_primary(s);
        if (!s->rep[i].up)
            return;
        trace(s, "FAULT crash r%d for %.0fms", i, down / 1000.0);
        sim_crash(s, i);
        push_ev(s, s->now + down, EV_RESTART, i, 0, NULL);
    }
}

static void fault_slow_disk(struct sim *s)
{
    int i = (int)(rnd(s) % (uint64_t)s->nrep);
    s->rep[i].slow_disk = !s->rep[i].slow_disk;
    trace(s, "FAULT r%d disk %s", i, s->rep[i].slow_disk ? "slow" : "normal");
}

static void fault_lossy(struct sim *s)
{
    s->loss = (double)rnd_in(s, 0, 20) / 100.0;
    s->dup = (double)rnd_in(s, 0, 15) / 100.0;
    s->reorder = (double)rnd_in(s, 5, 40) / 100.0;
    s->delay_max = rnd_in(s, 2000, 60000);
    s->late = chance(s, 0.5) ? (double)rnd_in(s, 1, 30) / 1000.0 : 0;
    trace(s, "FAULT network loss=%.2f dup=%.2f reorder=%.2f delay<=%.0fms late=%.3f", s->loss,
          s->dup, s->reorder, s->delay_max / 1000.0, s->late);
}

static void fault_step(struct sim *s)
{
    if (s->healed)
        return;
    switch (s->cfg.mix) {
    case SIM_MIX_CLEAN:
        return;
    case SIM_MIX_LOSSY:
        fault_lossy(s);
        break;
    case SIM_MIX_PARTITION:
        if (chance(s, 0.35)) {
            heal_links(s);
            trace(s, "FAULT partition healed");
        } else {
            fault_partition(s);
        }
        break;
    case SIM_MIX_ISOLATE:
        if (chance(s, 0.3)) {
            heal_links(s);
            trace(s, "FAULT partition healed");
        } else {
            fault_isolate(s);
        }
        break;
    case SIM_MIX_CRASH:
        /* slow disks widen the window in which a crash loses the tail */
        if (chance(s, 0.3))
            fault_slow_disk(s);
        fault_crash(s, chance(s, 0.15));
        break;
    case SIM_MIX_SLOWDISK:
        if (chance(s, 0.25))
            fault_crash(s, false);
        else
            fault_slow_disk(s);
        break;
    case SIM_MIX_TRANSFER:
        fault_crash(s, false);
        break;
    case SIM_MIX_CHAOS:
        switch (rnd(s) % 8) {
        case 0: fault_lossy(s); break;
        case 1: fault_partition(s); break;
        case 2: fault_isolate(s); break;
        case 3: fault_crash(s, chance(s, 0.1)); break;
        case 4: fault_slow_disk(s); break;
        case 5: {
            /* the primary steps down (its backend COMMIT failed), or a
             * replica declines for a while (a donor) */
            int p = current_primary(s), i = (int)(rnd(s) % (uint64_t)s->nrep);
            if (p >= 0 && chance(s, 0.5)) {
                trace(s, "FAULT r%d steps down", p);
                vr_step_down(s->rep[p].vr);
                rep_drain(s, &s->rep[p]);
            } else if (s->rep[i].up && !s->rep[i].transferring) {
                s->rep[i].donor = !s->rep[i].donor;
                trace(s, "FAULT r%d %s", i, s->rep[i].donor ? "declines (donor)" : "stops declining");
                vr_set_declining(s->rep[i].vr, s->rep[i].donor);
                rep_drain(s, &s->rep[i]);
            }
            break;
        }
        default:
            heal_links(s);
            trace(s, "FAULT partition healed");
            break;
        }
        break;
    }
    push_ev(s, s->now + rnd_in(s, 80000, 500000), EV_FAULT, -1, 0, NULL);
}

static void do_heal(struct sim *s)
{
    s->healed = true;
    s->heal_at = s->now;
    heal_links(s);
    s->loss = s->dup = s->reorder = s->late = 0;
    s->delay_max = 0;
    for (int i = 0; i < s->nrep; i++) {
        s->rep[i].slow_disk = false;
        if (!s->rep[i].up)
            rep_boot(s, &s->rep[i]);
        if (s->rep[i].donor) {
            s->rep[i].donor = false;
            if (!s->rep[i].transferring)
                vr_set_declining(s->rep[i].vr, false);
            rep_drain(s, &s->rep[i]);
        }
    }
    for (int c = 0; c < s->ncli; c++) {
        struct sclient *cl = &s->cli[c];
        cl->ops_left = s->cfg.ops_after_heal;
        cl->give_up_at = NEVER;
        cl->script = SC_NONE;
        if (cl->phase == CP_IDLE && !cl->ops_left)
            cl->done = true;
    }
    trace(s, "HEAL: every fault repaired; clients must finish within %.1fs",
          s->cfg.liveness_us / 1e6);
}

/* ----------------------------------------------------------------- the run */

static bool converged(const struct sim *s)
{
    int p = current_primary(s);
    if (p < 0 || !vr_ready(s->rep[p].vr))
        return false;
    for (int i = 0; i < s->nrep; i++) {
        const struct srep *r = &s->rep[i];
        if (!r->up || r->transferring || vr_status(r->vr) != VR_NORMAL ||
            vr_view(r->vr) != vr_view(s->rep[p].vr) || vr_commit(r->vr) != vr_op(s->rep[p].vr) ||
            r->applied != vr_commit(r->vr))
            return false;
    }
    return true;
}

static void describe_stuck(struct sim *s, char *b, size_t n)
{
    size_t k = 0;
    for (int c = 0; c < s->ncli && k < n; c++)
        if (!s->cli[c].done)
            k += (size_t)snprintf(b + k, n - k, " c%d(phase %d, ops left %u)", c, s->cli[c].phase,
                                  s->cli[c].ops_left);
    for (int i = 0; i < s->nrep && k < n; i++) {
        const struct srep *r = &s->rep[i];
        if (!r->up) {
            k += (size_t)snprintf(b + k, n - k, " r%d(down)", i);
            continue;
        }
        k += (size_t)snprintf(b + k, n - k, " r%d(v%llu %s op%llu c%llu a%llu%s%s)", i,
                              (unsigned long long)vr_view(r->vr),
                              vr_status(r->vr) == VR_NORMAL       ? "N"
                              : vr_status(r->vr) == VR_VIEW_CHANGE ? "VC"
                                                                   : "R",
                              (unsigned long long)vr_op(r->vr), (unsigned long long)vr_commit(r->vr),
                              (unsigned long long)r->applied, vr_ready(r->vr) ? " ready" : "",
                              r->transferring ? " xfer" : "");
    }
}

static void deliver(struct sim *s, struct smsg *m)
{
    struct proto_msg pm;
    struct err e;
    char brief[200], a[16], b[16];
    bool to_rep = m->to < s->nrep, from_rep = m->from < s->nrep;

    if (s->cut[m->from][m->to] || (to_rep && !s->rep[m->to].up))
        goto done;
    /* a client's connection does not survive the replica's restart */
    if (to_rep && !from_rep && s->rep[m->to].inc != m->inc)
        goto done;
    if (proto_decode(m->bytes.data, m->bytes.len, &pm, &e) < 0) {
        sim_fail(s, "a message from node %d does not decode: %s", m->from, e.msg);
        goto done;
    }
    msg_brief(&pm, brief, sizeof brief);
    trace(s, "%s<-%s %s", node_name(s, m->to, a), node_name(s, m->from, b), brief);
    if (to_rep && from_rep) {
        struct srep *r = &s->rep[m->to];
        if (vr_receive(r->vr, (uint32_t)m->from, &pm, &e) < 0)
            sim_fail(s, "replica %d rejected %s from replica %d: %s", m->to, brief, m->from, e.msg);
        rep_drain(s, r);
    } else if (to_rep) {
        rep_on_client(s, &s->rep[m->to], m->from - s->nrep, &pm);
    } else if (from_rep) {
        cli_on_msg(s, &s->cli[m->to - s->nrep], m->from, &pm);
    }
    proto_msg_free(&pm);
done:
    buf_close(&m->bytes);
    free(m);
}

static bool ev_current(const struct sim *s, const struct ev *e)
{
    return e->node >= 0 && e->node < s->nrep && s->rep[e->node].up && s->rep[e->node].inc == e->a;
}

static void step(struct sim *s, struct ev *e)
{
    switch (e->type) {
    case EV_DELIVER:
        deliver(s, e->msg);
        return;
    case EV_TICK:
        if (ev_current(s, e))
            rep_tick(s, &s->rep[e->node]);
        if (s->healed && !s->failed) {
            bool all_done = true;
            for (int c = 0; c < s->ncli; c++)
                all_done &= s->cli[c].done;
            if (all_done && !s->quiescing) {
                s->quiescing = true;
                trace(s, "clients finished; waiting for the replicas to converge");
            }
            if (s->quiescing && converged(s))
                s->done = true;
            else if (s->now > s->heal_at + s->cfg.liveness_us) {
                char b[512];
                describe_stuck(s, b, sizeof b);
                sim_fail(s, "liveness: %.1fs after the heal, %s:%s", s->cfg.liveness_us / 1e6,
                         s->quiescing ? "replicas have not converged" : "clients are not done", b);
            }
        }
        return;
    case EV_DISK:
        if (ev_current(s, e))
            rep_disk_done(s, &s->rep[e->node]);
        return;
    case EV_APPLY:
        if (ev_current(s, e))
            rep_apply(s, &s->rep[e->node]);
        return;
    case EV_TRANSFER:
        if (ev_current(s, e))
            rep_transfer(s, &s->rep[e->node]);
        return;
    case EV_RESTART:
        if (!s->healed && !s->rep[e->node].up)
            rep_boot(s, &s->rep[e->node]);
        return;
    case EV_CLIENT: {
        struct sclient *c = &s->cli[e->node - s->nrep];
        if (e->a == c->timer_gen && !c->done)
            cli_on_timer(s, c);
        return;
    }
    case EV_FAULT:
        fault_step(s);
        return;
    case EV_HEAL:
        do_heal(s);
        return;
    case EV_HOOK:
        if (s->hook && !s->healed) {
            s->hook(s, s->now, s->hook_arg);
            push_ev(s, s->now + s->hook_every, EV_HOOK, -1, 0, NULL);
        }
        return;
    }
}

void sim_config_from_seed(struct sim_config *c, uint64_t seed)
{
    struct sim t;
    static const uint32_t ns[] = {1, 3, 3, 3, 5, 5};
    memset(c, 0, sizeof *c);
    memset(&t, 0, sizeof t);
    t.rng = seed ^ 0x5eedf00d;
    c->seed = seed;
    c->n = ns[rnd(&t) % 6];
    c->mix = (int)(rnd(&t) % SIM_MIX__COUNT);
    c->clients = (uint32_t)rnd_in(&t, 2, 6);
    c->keys = (uint32_t)rnd_in(&t, 2, 5);
    c->fault_us = rnd_in(&t, 2000000, 5000000);
    c->ops_after_heal = (uint32_t)rnd_in(&t, 3, 8);
    c->liveness_us = 15000000;
    c->think_us = rnd_in(&t, 5000, 40000);
    c->max_steps = 5000000;
    c->trace_keep = 400;
}

static void report(struct sim *s, struct sim_result *r, uint32_t lin_key, bool lin_failed)
{
    FILE *o = s->cfg.out;
    fprintf(o, "\n==== SIMULATION FAILED: seed %llu (n=%u mix=%s clients=%u keys=%u)\n",
            (unsigned long long)s->cfg.seed, s->cfg.n, sim_mix_name(s->cfg.mix), s->cfg.clients,
            s->cfg.keys);
    fprintf(o, "==== %s\n", r->what);
    fprintf(o, "==== replay: recall-sim-soak --seed %llu --n %u --mix %s%s%s%s --trace\n",
            (unsigned long long)s->cfg.seed, s->cfg.n, sim_mix_name(s->cfg.mix),
            s->cfg.bug_lin_no_quorum ? " --bug lin-no-quorum" : "",
            s->cfg.bug_lin_no_fence ? " --bug lin-no-fence" : "",
            s->cfg.bug_readindex_stale ? " --bug readindex-stale" : "");
    if (lin_failed) {
        fprintf(o, "==== history of key %u:\n", lin_key);
        history_print_key(&s->hist, lin_key, o);
    }
    if (!s->cfg.trace) {
        uint32_t n = s->ring_total < s->ring_n ? (uint32_t)s->ring_total : s->ring_n;
        fprintf(o, "==== last %u events:\n", n);
        for (uint32_t i = 0; i < n; i++)
            fprintf(o, "%s\n", s->ring[(s->ring_pos + s->ring_n - n + i) % s->ring_n]);
    }
    fflush(o);
}

/* --------------------------------------------------------- final checks */

/* Value of key k after the committed prefix 1..a. */
static int64_t state_at(const struct sim *s, uint32_t k, uint64_t a)
{
    int64_t v = 0;
    for (uint64_t op = a; op >= 1; op--) {
        const struct gent *g;
        if (op >= s->gcap)
            continue;
        g = &s->glog[op];
        for (int i = g->nw - 1; i >= 0; i--)
            if (g->keys[i] == k) {
                v = g->vals[i];
                return v;
            }
    }
    return v;
}

static void sim_check(struct sim *s, uint32_t *lin_key, bool *lin_failed)
{
    struct lin_result lr;
    uint64_t min_applied = UINT64_MAX;

    /* Invariant 2 at the end: every replica's committed entries agree. */
    for (int i = 0; i < s->nrep && !s->failed; i++) {
        struct srep *r = &s->rep[i];
        if (!r->up)
            continue;
        for (uint64_t op = vr_log_start(r->vr); op <= vr_commit(r->vr) && !s->failed; op++) {
            const struct proto_entry *e = vr_entry(r->vr, op);
            if (e)
                gcheck(s, i, e);
        }
        if (r->applied < min_applied)
            min_applied = r->applied;
    }
    if (s->failed)
        return;
    /* The committed log has no holes up to what the replicas applied. */
    for (uint64_t op = 1; op <= min_applied; op++)
        if (op >= s->gcap || !s->glog[op].set) {
            sim_fail(s, "op %llu was applied everywhere but never seen committed",
                     (unsigned long long)op);
            return;
        }
    /* Invariant 4: per client, requests strictly increase along the
     * committed log (so none is there twice). */
    {
        uint64_t last[MAXC] = {0};
        for (uint64_t op = 1; op <= s->gmax && op < s->gcap; op++) {
            const struct gent *g = &s->glog[op];
            if (!g->set || g->client < 0)
                continue;
            if (g->req <= last[g->client]) {
                sim_fail(s, "c%d request %llu committed at op %llu after request %llu",
                         g->client, (unsigned long long)g->req, (unsigned long long)op,
                         (unsigned long long)last[g->client]);
                return;
            }
            last[g->client] = g->req;
        }
    }
    /* Invariant 3: acknowledged writes are committed (with their values) on
     * every replica, which all applied the same prefix; definitely failed
     * ones are not. */
    for (size_t i = 0; i < s->hist.n; i++) {
        const struct hist_op *o = &s->hist.ops[i];
        uint64_t found = 0;
        if (o->kind != H_WRITE || (o->status != H_OK && o->status != H_FAIL))
            continue;
        for (uint64_t op = 1; op <= s->gmax && op < s->gcap; op++) {
            const struct gent *g = &s->glog[op];
            if (g->set && g->client == o->client && g->req == o->req) {
                found = op;
                break;
            }
        }
        if (o->status == H_FAIL && found) {
            sim_fail(s, "c%d write k%u=%lld (req %llu) was reported failed but committed at op %llu",
                     o->client, o->key, (long long)o->value, (unsigned long long)o->req,
                     (unsigned long long)found);
            return;
        }
        if (o->status != H_OK)
            continue;
        if (!found || found > min_applied) {
            sim_fail(s, "c%d write k%u=%lld (req %llu, acknowledged at op %llu) is not in the "
                        "committed log of every replica (found at %llu, replicas applied %llu)",
                     o->client, o->key, (long long)o->value, (unsigned long long)o->req,
                     (unsigned long long)o->op, (unsigned long long)found,
                     (unsigned long long)min_applied);
            return;
        }
        if (o->op && o->op != found) {
            sim_fail(s, "c%d write req %llu acknowledged at op %llu but committed at op %llu",
                     o->client, (unsigned long long)o->req, (unsigned long long)o->op,
                     (unsigned long long)found);
            return;
        }
        {
            const struct gent *g = &s->glog[found];
            bool has = false;
            for (int k = 0; k < g->nw; k++)
                has |= g->keys[k] == o->key && g->vals[k] == o->value;
            if (!has) {
                sim_fail(s, "c%d write k%u=%lld: op %llu holds other values", o->client, o->key,
                         (long long)o->value, (unsigned long long)found);
                return;
            }
        }
    }
    /* Invariant 5: every read returned the value of a committed prefix (its
     * snapshot's applied op); session reads never went below the client's
     * high-water mark. */
    for (size_t i = 0; i < s->hist.n; i++) {
        const struct hist_op *o = &s->hist.ops[i];
        int64_t want;
        if (o->kind != H_READ || o->status != H_OK)
            continue;
        want = state_at(s, o->key, o->applied);
        if (o->value != want) {
            sim_fail(s, "c%d %s read of k%u at replica %d returned %lld, but the committed prefix "
                        "up to its applied op %llu holds %lld",
                     o->client, o->level == H_LIN ? "linearizable" : o->level == H_SESSION
                                                                        ? "session"
                                                                        : "any",
                     o->key, o->replica, (long long)o->value, (unsigned long long)o->applied,
                     (long long)want);
            return;
        }
        if (o->level == H_SESSION && o->applied < o->hwm) {
            sim_fail(s, "c%d session read saw op %llu, below the %llu it had written or seen",
                     o->client, (unsigned long long)o->applied, (unsigned long long)o->hwm);
            return;
        }
    }
    /* Invariant 1: linearizability of writes and linearizable reads. */
    lin_check(&s->hist, 0, &lr);
    s->res->lin_steps = lr.steps;
    if (lr.verdict == LIN_VIOLATION) {
        *lin_key = lr.key;
        *lin_failed = true;
        sim_fail(s, "history is not linearizable (key %u, %zu operations checked)", lr.key,
                 lr.ops_checked);
    } else if (lr.verdict == LIN_INCONCLUSIVE) {
        *lin_key = lr.key;
        *lin_failed = true;
        sim_fail(s, "linearizability check inconclusive on key %u (search bound reached)", lr.key);
    }
}

/* --------------------------------------------------------------- hooks */

int sim_primary(const struct sim *s)
{
    return current_primary(s);
}

bool sim_replica_ready(const struct sim *s, int i)
{
    return s->rep[i].up && vr_ready(s->rep[i].vr);
}

uint64_t sim_replica_view(const struct sim *s, int i)
{
    return s->rep[i].up ? vr_view(s->rep[i].vr) : 0;
}

void sim_cut(struct sim *s, int from, int to, bool cut)
{
    s->cut[from][to] = cut;
}

int sim_client_node(const struct sim *s, int client)
{
    return s->nrep + client;
}

void sim_client_script_txn(struct sim *s, int c, int target, uint64_t pause)
{
    s->cli[c].script = SC_TXN;
    s->cli[c].script_target = target;
    s->cli[c].script_pause = pause;
}

void sim_client_script_lin_reads(struct sim *s, int c)
{
    s->cli[c].script = SC_LIN;
}

/* ----------------------------------------------------------------- main */

int sim_run_scripted(const struct sim_config *cfg, sim_hook_cb hook, uint64_t every_us, void *arg,
                     struct sim_result *r)
{
    struct sim *s = xcalloc(1, sizeof *s);
    uint32_t lin_key = 0;
    bool lin_failed = false;

    memset(r, 0, sizeof *r);
    s->cfg = *cfg;
    if (!s->cfg.out)
        s->cfg.out = stderr;
    if (s->cfg.n < 1 || s->cfg.n > MAXR)
        s->cfg.n = 3;
    if (s->cfg.clients < 1 || s->cfg.clients > MAXC)
        s->cfg.clients = 3;
    if (s->cfg.keys < 1 || s->cfg.keys > MAXKEYS)
        s->cfg.keys = 3;
    if (!s->cfg.liveness_us)
        s->cfg.liveness_us = 15000000;
    s->ring_n = s->cfg.trace_keep ? s->cfg.trace_keep : 400;
    s->ring = xcalloc(s->ring_n, sizeof *s->ring);
    s->res = r;
    s->rng = cfg->seed * 0x2545f4914f6cdd1dull + 12345;
    s->nrep = (int)s->cfg.n;
    s->ncli = (int)s->cfg.clients;
    s->hook = hook;
    s->hook_arg = arg;
    s->hook_every = every_us ? every_us : 10000;
    s->window = chance(s, 0.25) ? (uint32_t)rnd_in(s, 1, 4) : 64;
    history_init(&s->hist);

    for (int i = 0; i < s->nrep; i++) {
        struct srep *r0 = &s->rep[i];
        r0->idx = i;
        r0->tick_us = (uint32_t)rnd_in(s, TICK_US * 8 / 10, TICK_US * 12 / 10);
        if (s->cfg.mix == SIM_MIX_TRANSFER || (s->cfg.mix == SIM_MIX_CHAOS && chance(s, 0.5)))
            r0->retain = (uint32_t)rnd_in(s, 2, 25);
    }
    for (int c = 0; c < s->ncli; c++) {
        struct sclient *cl = &s->cli[c];
        cl->idx = c;
        cl->node = s->nrep + c;
        for (int k = 0; k < 16; k++)
            cl->id.b[k] = (uint8_t)rnd(s);
        cl->next_req = 1;
        cl->target = (int)(rnd(s) % (uint64_t)s->nrep);
        push_ev(s, rnd_in(s, 0, 300000), EV_CLIENT, cl->node, 0, NULL);
    }
    for (int i = 0; i < s->nrep; i++)
        rep_boot(s, &s->rep[i]);
    if (s->cfg.mix != SIM_MIX_CLEAN)
        push_ev(s, rnd_in(s, 100000, 600000), EV_FAULT, -1, 0, NULL);
    push_ev(s, s->cfg.fault_us, EV_HEAL, -1, 0, NULL);
    if (hook)
        push_ev(s, s->hook_every, EV_HOOK, -1, 0, NULL);

    while (!s->failed && !s->done && s->nheap) {
        struct ev e = pop_ev(s);
        s->now = e.t;
        r->steps++;
        step(s, &e);
        if (s->cfg.max_steps && r->steps > s->cfg.max_steps)
            sim_fail(s, "step limit (%llu events) reached", (unsigned long long)s->cfg.max_steps);
    }
    if (!s->failed && !s->done)
        sim_fail(s, "the event queue ran dry before the run finished");
    if (!s->failed)
        sim_check(s, &lin_key, &lin_failed);
    r->sim_us = s->now;
    for (int i = 0; i < s->nrep; i++)
        if (s->rep[i].up && vr_commit(s->rep[i].vr) > r->commit)
            r->commit = vr_commit(s->rep[i].vr);
    r->ok = !s->failed;
    if (s->failed)
        report(s, r, lin_key, lin_failed);

    /* cleanup */
    while (s->nheap) {
        struct ev e = pop_ev(s);
        if (e.msg) {
            buf_close(&e.msg->bytes);
            free(e.msg);
        }
    }
    free(s->heap);
    for (int i = 0; i < s->nrep; i++) {
        struct srep *x = &s->rep[i];
        if (x->vr)
            vr_free(x->vr);
        dlog_truncate(&x->log, x->log.base);
        free(x->log.v);
        pend_clear(x);
        free(x->pend);
        free(x->w);
    }
    free(s->glog);
    free(s->ring);
    history_free(&s->hist);
    free(s);
    return r->ok ? 0 : -1;
}

int sim_run(const struct sim_config *c, struct sim_result *r)
{
    return sim_run_scripted(c, NULL, 0, NULL, r);
}
