/* Targeted scenarios for the VR core, driven by hand: a few cores, a message
 * queue that goes through the real codec, durable storage kept per replica,
 * and explicit control over delivery, durability, crashes and ticks.  Each
 * test builds one situation the protocol must get right (docs/PROTOCOL.md)
 * and checks the exact outcome; the randomized simulator (tests/sim) covers
 * the combinations. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "quorum.h"
#include "testhelp.h"
#include "vr.h"

#define HMAX 5
#define QMAX 4096

struct hmsg {
    uint32_t from, to;
    struct buf bytes;
};

struct hclient_msg {
    struct proto_id client;
    struct proto_msg msg;
};

struct hnode {
    struct vr *vr;
    bool up;
    struct vr_persist st;             /* the state file */
    struct proto_entry log[512];      /* durable log, index = op */
    uint64_t log_base, log_last;      /* log holds (log_base, log_last] */
    uint64_t pending_append;          /* highest op appended, maybe not durable */
    bool manual_durable;              /* hold durability until the test releases it */
    uint64_t applied;
    uint64_t need_transfer;           /* op from VR_EFF_NEED_TRANSFER, 0 if none */
    uint64_t ri_token;
    int ri_ok;                        /* -1 none, 0 failed, 1 confirmed */
};

struct harness {
    uint32_t n;
    struct hnode nd[HMAX];
    struct hmsg q[QMAX];
    size_t qn;
    bool cut[HMAX][HMAX];             /* drop messages from i to j */
    struct hclient_msg cm[QMAX];
    size_t cmn;
    uint64_t seed;
};

static struct vr_config hcfg(const struct harness *h, uint32_t self)
{
    struct vr_config c = {.n = h->n, .self = self, .heartbeat_ticks = 2, .timeout_ticks = 10,
                          .max_batch_bytes = 4096, .window = 64, .seed = h->seed + self};
    return c;
}

static void drain(struct harness *h, uint32_t i);

static void node_free_log(struct hnode *nd)
{
    for (uint64_t o = nd->log_base + 1; o <= nd->log_last; o++)
        proto_entry_free(&nd->log[o]);
    nd->log_last = nd->log_base;
}

/* Boot replica i from its state file and durable log. */
static void boot(struct harness *h, uint32_t i)
{
    struct hnode *nd = &h->nd[i];
    struct vr_config c = hcfg(h, i);
    struct err e;
    nd->vr = vr_new(&c, &nd->st, &e);
    ck_assert_msg(nd->vr != NULL, "%s", e.msg);
    vr_set_log_base(nd->vr, nd->log_base, 0);
    for (uint64_t o = nd->log_base + 1; o <= nd->log_last; o++)
        ck_assert_msg(vr_load(nd->vr, &nd->log[o], &e) == 0, "%s", e.msg);
    nd->pending_append = nd->log_last;
    nd->up = true;
    vr_start(nd->vr, nd->applied);
    drain(h, i);
}

static void h_init(struct harness *h, uint32_t n, uint64_t seed)
{
    memset(h, 0, sizeof *h);
    h->n = n;
    h->seed = seed;
    for (uint32_t i = 0; i < n; i++)
        boot(h, i);
}

static void crash(struct harness *h, uint32_t i)
{
    struct hnode *nd = &h->nd[i];
    /* volatile state and the non-durable tail are lost */
    for (uint64_t o = vr_durable_op(nd->vr) + 1; o <= nd->log_last; o++)
        proto_entry_free(&nd->log[o]);
    if (nd->log_last > vr_durable_op(nd->vr) && vr_durable_op(nd->vr) >= nd->log_base)
        nd->log_last = vr_durable_op(nd->vr);
    vr_free(nd->vr);
    nd->vr = NULL;
    nd->up = false;
}

static void h_free(struct harness *h)
{
    for (uint32_t i = 0; i < h->n; i++) {
        if (h->nd[i].vr)
            vr_free(h->nd[i].vr);
        node_free_log(&h->nd[i]);
    }
    for (size_t k = 0; k < h->qn; k++)
        buf_close(&h->q[k].bytes);
    for (size_t k = 0; k < h->cmn; k++)
        proto_msg_free(&h->cm[k].msg);
}

static void drain(struct harness *h, uint32_t i)
{
    struct hnode *nd = &h->nd[i];
    struct vr_effect eff;
    for (;;) {
        uint64_t durable_to = 0;
        bool any = false;
        vr_flush(nd->vr);
        while (vr_next_effect(nd->vr, &eff)) {
            struct err e;
            any = true;
            switch (eff.type) {
            case VR_EFF_SEND:
                ck_assert_uint_lt(h->qn, QMAX);
                h->q[h->qn].from = i;
                h->q[h->qn].to = eff.to;
                buf_init(&h->q[h->qn].bytes);
                ck_assert_int_eq(proto_encode(&eff.msg, &h->q[h->qn].bytes, &e), 0);
                h->qn++;
                break;
            case VR_EFF_SEND_CLIENT:
                ck_assert_uint_lt(h->cmn, QMAX);
                h->cm[h->cmn].client = eff.client;
                h->cm[h->cmn].msg = eff.msg;
                memset(&eff.msg, 0, sizeof eff.msg);
                h->cmn++;
                break;
            case VR_EFF_PERSIST:
                nd->st = eff.persist;
                break;
            case VR_EFF_TRUNCATE:
                ck_assert_uint_ge(eff.op, nd->log_base);
                for (uint64_t o = eff.op + 1; o <= nd->log_last; o++)
                    proto_entry_free(&nd->log[o]);
                if (nd->log_last > eff.op)
                    nd->log_last = eff.op;
                if (nd->pending_append > eff.op)
                    nd->pending_append = eff.op;
                break;
            case VR_EFF_APPEND: {
                const struct proto_entry *en = vr_entry(nd->vr, eff.op);
                ck_assert_ptr_nonnull(en);
                ck_assert_uint_eq(eff.op, nd->log_last + 1);
                ck_assert_uint_lt(eff.op, 512);
                ck_assert_int_eq(proto_entry_copy(&nd->log[eff.op], en), 0);
                nd->log_last = eff.op;
                nd->pending_append = eff.op;
                if (!nd->manual_durable)
                    durable_to = eff.op;
                break;
            }
            case VR_EFF_COMMIT:
                if (eff.op > nd->applied) {
                    for (uint64_t o = nd->applied + 1; o <= eff.op; o++)
                        ck_assert_ptr_nonnull(vr_entry(nd->vr, o));
                    nd->applied = eff.op;
                    vr_applied(nd->vr, eff.op);
                }
                break;
            case VR_EFF_READ_INDEX:
                if (eff.token == nd->ri_token)
                    nd->ri_ok = eff.ok;
                break;
            case VR_EFF_NEED_TRANSFER:
                nd->need_transfer = eff.op;
                break;
            case VR_EFF_ROLE:
                break;
            }
            vr_effect_free(&eff);
        }
        if (durable_to) {
            vr_durable(nd->vr, durable_to);
            continue;
        }
        if (!any)
            break;
    }
}

/* Deliver every queued message (and whatever they cause) until quiet. */
static void deliver(struct harness *h)
{
    size_t k = 0;
    while (k < h->qn) {
        struct hmsg m = h->q[k++];
        struct proto_msg pm;
        struct err e;
        if (!h->cut[m.from][m.to] && h->nd[m.to].up) {
            ck_assert_int_eq(proto_decode(m.bytes.data, m.bytes.len, &pm, &e), 0);
            ck_assert_msg(vr_receive(h->nd[m.to].vr, m.from, &pm, &e) == 0, "%s: %s",
                          proto_type_name(pm.type), e.msg);
            proto_msg_free(&pm);
            drain(h, m.to);
        }
        buf_close(&m.bytes);
        if (k == h->qn || k > QMAX / 2) {
            memmove(h->q, h->q + k, (h->qn - k) * sizeof h->q[0]);
            h->qn -= k;
            k = 0;
        }
    }
    h->qn = 0;
}

static void tick(struct harness *h, int times)
{
    for (int t = 0; t < times; t++) {
        for (uint32_t i = 0; i < h->n; i++)
            if (h->nd[i].up) {
                vr_tick(h->nd[i].vr);
                drain(h, i);
            }
        deliver(h);
    }
}

/* The primary in normal status that is ready, or -1. */
static int ready_primary(const struct harness *h)
{
    for (uint32_t i = 0; i < h->n; i++)
        if (h->nd[i].up && vr_ready(h->nd[i].vr))
            return (int)i;
    return -1;
}

static int wait_ready(struct harness *h, int max_ticks)
{
    for (int t = 0; t < max_ticks; t++) {
        int p = ready_primary(h);
        if (p >= 0)
            return p;
        tick(h, 1);
    }
    return -1;
}

static struct proto_id mkclient(uint8_t tag)
{
    struct proto_id id;
    memset(&id, 0, sizeof id);
    id.b[0] = tag;
    id.b[15] = 0x5a;
    return id;
}

static uint64_t submit(struct harness *h, int p, uint8_t client, uint64_t req)
{
    struct proto_id id = mkclient(client);
    char body[32];
    uint64_t op = 0;
    struct err e;
    int len = snprintf(body, sizeof body, "c%u-r%llu", client, (unsigned long long)req);
    ck_assert_msg(vr_submit(h->nd[p].vr, &id, req, body, (uint32_t)len, &op, &e) == 0, "%s",
                  e.msg);
    drain(h, (uint32_t)p);
    return op;
}

/* Feed every client message for (client, req) to a quorum counter. */
static bool client_committed(struct harness *h, uint8_t client, uint64_t req, uint64_t *op)
{
    struct quorum_write q;
    struct proto_id id = mkclient(client);
    quorum_write_init(&q, h->n, req);
    for (size_t k = 0; k < h->cmn; k++) {
        const struct proto_msg *m = &h->cm[k].msg;
        if (memcmp(h->cm[k].client.b, id.b, 16))
            continue;
        if (m->type == MSG_PREPARED)
            quorum_write_ack(&q, m->u.prepared.replica, m->u.prepared.view, m->u.prepared.op,
                             m->u.prepared.req);
        else if (m->type == MSG_ACK)
            quorum_write_ack(&q, m->u.ack.replica, m->u.ack.view, m->u.ack.op, m->u.ack.req);
        else if (m->type == MSG_COMMITTED)
            quorum_write_committed(&q, m->u.committed.view, m->u.committed.op,
                                   m->u.committed.req);
    }
    if (op)
        *op = q.op;
    return q.committed;
}

static void check_same_committed(struct harness *h)
{
    uint64_t maxc = 0;
    int ref = -1;
    for (uint32_t i = 0; i < h->n; i++)
        if (h->nd[i].up && vr_commit(h->nd[i].vr) > maxc) {
            maxc = vr_commit(h->nd[i].vr);
            ref = (int)i;
        }
    for (uint32_t i = 0; i < h->n; i++) {
        if (!h->nd[i].up || (int)i == ref)
            continue;
        for (uint64_t o = vr_log_start(h->nd[i].vr); o <= vr_commit(h->nd[i].vr); o++) {
            const struct proto_entry *a = vr_entry(h->nd[i].vr, o);
            const struct proto_entry *b = vr_entry(h->nd[ref].vr, o);
            if (!a || !b)
                continue;
            ck_assert_uint_eq(a->view, b->view);
            ck_assert_uint_eq(a->req, b->req);
            ck_assert_int_eq(memcmp(a->client.b, b->client.b, 16), 0);
        }
    }
}

/* ------------------------------------------------------------------ tests */

START_TEST(test_single_replica)
{
    struct harness h;
    uint64_t op;
    int p;
    h_init(&h, 1, 11);
    p = wait_ready(&h, 100);
    ck_assert_int_eq(p, 0);
    op = submit(&h, 0, 1, 1);
    ck_assert_uint_eq(vr_commit(h.nd[0].vr), op);
    ck_assert(client_committed(&h, 1, 1, NULL));
    /* restart: the entry survives and is committed again */
    crash(&h, 0);
    boot(&h, 0);
    p = wait_ready(&h, 100);
    ck_assert_int_eq(p, 0);
    ck_assert_ptr_nonnull(vr_entry(h.nd[0].vr, op));
    ck_assert_uint_ge(vr_commit(h.nd[0].vr), op);
    h_free(&h);
}
END_TEST

START_TEST(test_normal_case_commit)
{
    struct harness h;
    int p;
    uint64_t op, cop;
    h_init(&h, 3, 21);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    op = submit(&h, p, 7, 1);
    deliver(&h);
    tick(&h, 3); /* heartbeat carries the commit number to the backups */
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(vr_commit(h.nd[i].vr), op);
        ck_assert_uint_eq(h.nd[i].applied, op);
    }
    ck_assert(client_committed(&h, 7, 1, &cop));
    ck_assert_uint_eq(cop, op);
    /* the client could count PREPARED + ACKs: f+1 = 2 distinct replicas */
    {
        int prepared = 0, acks = 0;
        for (size_t k = 0; k < h.cmn; k++) {
            prepared += h.cm[k].msg.type == MSG_PREPARED;
            acks += h.cm[k].msg.type == MSG_ACK;
        }
        ck_assert_int_eq(prepared, 1);
        ck_assert_int_eq(acks, 2);
    }
    check_same_committed(&h);
    h_free(&h);
}
END_TEST

/* The primary's own copy counts only once durable: with its append held
 * and one backup cut off, nothing commits even though a backup acked. */
START_TEST(test_primary_counts_only_durable)
{
    struct harness h;
    int p, b1, b2;
    uint64_t op;
    h_init(&h, 3, 31);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    b1 = (p + 1) % 3;
    b2 = (p + 2) % 3;
    h.cut[p][b2] = true;
    h.nd[p].manual_durable = true;
    op = submit(&h, p, 3, 1);
    deliver(&h);
    ck_assert_uint_eq(vr_peer_op(h.nd[p].vr, (uint32_t)b1), op);
    ck_assert_uint_lt(vr_commit(h.nd[p].vr), op);
    vr_durable(h.nd[p].vr, op);
    drain(&h, (uint32_t)p);
    ck_assert_uint_eq(vr_commit(h.nd[p].vr), op);
    h_free(&h);
}
END_TEST

/* Deliver the oldest queued message only. */
static bool deliver_one(struct harness *h)
{
    struct hmsg m;
    struct proto_msg pm;
    struct err e;
    if (!h->qn)
        return false;
    m = h->q[0];
    memmove(h->q, h->q + 1, (h->qn - 1) * sizeof h->q[0]);
    h->qn--;
    if (!h->cut[m.from][m.to] && h->nd[m.to].up) {
        ck_assert_int_eq(proto_decode(m.bytes.data, m.bytes.len, &pm, &e), 0);
        ck_assert_msg(vr_receive(h->nd[m.to].vr, m.from, &pm, &e) == 0, "%s", e.msg);
        proto_msg_free(&pm);
        drain(h, m.to);
    }
    buf_close(&m.bytes);
    return true;
}

/* Trap 1: a new primary is not ready until a majority acknowledged its
 * start log in the new view -- even when every entry of that log was
 * already known committed. */
START_TEST(test_new_primary_ready_only_when_established)
{
    struct harness h;
    int p, np = -1;
    uint64_t v;
    h_init(&h, 3, 131);
    /* a fresh cluster: the first primary's start log is empty */
    for (int t = 0; t < 2000 && np < 0; t++) {
        if (!deliver_one(&h))
            for (uint32_t i = 0; i < 3; i++) {
                vr_tick(h.nd[i].vr);
                drain(&h, i);
            }
        for (uint32_t i = 0; i < 3; i++)
            if (vr_is_primary(h.nd[i].vr))
                np = (int)i;
    }
    ck_assert_int_ge(np, 0);
    ck_assert_uint_eq(vr_op(h.nd[np].vr), 0);
    ck_assert(!vr_ready(h.nd[np].vr));
    np = -1;
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    for (uint64_t r = 1; r <= 3; r++) {
        submit(&h, p, 1, r);
        deliver(&h);
    }
    tick(&h, 3); /* every replica knows everything is committed */
    v = vr_view(h.nd[p].vr);
    crash(&h, (uint32_t)p);
    for (int t = 0; t < 2000 && np < 0; t++) {
        if (!deliver_one(&h))
            for (uint32_t i = 0; i < 3; i++)
                if (h.nd[i].up) {
                    vr_tick(h.nd[i].vr);
                    drain(&h, i);
                }
        for (uint32_t i = 0; i < 3; i++)
            if (h.nd[i].up && vr_is_primary(h.nd[i].vr) && vr_view(h.nd[i].vr) > v)
                np = (int)i;
    }
    ck_assert_int_ge(np, 0);
    ck_assert_uint_eq(vr_commit(h.nd[np].vr), vr_op(h.nd[np].vr));
    ck_assert(!vr_ready(h.nd[np].vr)); /* its START_VIEW is still in flight */
    deliver(&h);
    ck_assert(vr_ready(h.nd[np].vr));
    h_free(&h);
}
END_TEST

START_TEST(test_gap_fetch)
{
    struct harness h;
    int p, b;
    uint64_t last = 0;
    h_init(&h, 3, 41);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    b = (p + 1) % 3;
    h.cut[p][b] = true;
    for (uint64_t r = 1; r <= 5; r++) {
        last = submit(&h, p, 9, r);
        deliver(&h);
    }
    ck_assert_uint_lt(vr_op(h.nd[b].vr), last);
    h.cut[p][b] = false;
    last = submit(&h, p, 9, 6); /* this PREPARE shows b the gap */
    deliver(&h);
    ck_assert_uint_eq(vr_op(h.nd[b].vr), last);
    tick(&h, 3);
    ck_assert_uint_eq(vr_commit(h.nd[b].vr), last);
    check_same_committed(&h);
    h_free(&h);
}
END_TEST

/* Two replicas whose logs disagree: the longer one has a lower last normal
 * view and must lose (trap 2).  Built from persisted state directly. */
START_TEST(test_view_change_longer_log_loses)
{
    struct harness h;
    struct proto_id c = mkclient(1);
    int p;
    memset(&h, 0, sizeof h);
    h.n = 3;
    h.seed = 51;
    /* replica 0: normal last in view 1, ops 1..4 all tagged 1, commit 1 */
    h.nd[0].st = (struct vr_persist){.view = 3, .last_normal = 1, .commit = 1};
    /* replica 1: normal last in view 2, ops 1 (view 1) and 2 (view 2) */
    h.nd[1].st = (struct vr_persist){.view = 3, .last_normal = 2, .commit = 1};
    for (uint64_t o = 1; o <= 4; o++) {
        struct proto_entry *en = &h.nd[0].log[o];
        memset(en, 0, sizeof *en);
        en->op = o;
        en->view = 1;
        en->client = c;
        en->req = o;
        ck_assert_int_eq(proto_bin_set(&en->body, "old", 3), 0);
    }
    h.nd[0].log_last = 4;
    ck_assert_int_eq(proto_entry_copy(&h.nd[1].log[1], &h.nd[0].log[1]), 0);
    memset(&h.nd[1].log[2], 0, sizeof h.nd[1].log[2]);
    h.nd[1].log[2].op = 2;
    h.nd[1].log[2].view = 2;
    h.nd[1].log[2].client = c;
    h.nd[1].log[2].req = 9;
    ck_assert_int_eq(proto_bin_set(&h.nd[1].log[2].body, "new", 3), 0);
    h.nd[1].log_last = 2;
    /* replica 2 is down for the whole test */
    boot(&h, 0);
    boot(&h, 1);
    p = wait_ready(&h, 400);
    ck_assert_int_ge(p, 0);
    for (uint32_t i = 0; i < 2; i++) {
        const struct proto_entry *e2 = vr_entry(h.nd[i].vr, 2);
        ck_assert_ptr_nonnull(e2);
        ck_assert_uint_eq(e2->view, 2);
        ck_assert_uint_eq(e2->req, 9);
        ck_assert_uint_eq(vr_op(h.nd[i].vr), 2);
        ck_assert_ptr_null(vr_entry(h.nd[i].vr, 3));
    }
    /* the table forgot the truncated requests: req 4 is the client's latest
     * no more, req 9 (op 2) is */
    {
        uint64_t op;
        ck_assert_uint_eq(vr_client_last(h.nd[0].vr, &c, &op), 9);
        ck_assert_uint_eq(op, 2);
    }
    h_free(&h);
}
END_TEST

START_TEST(test_restart_and_recovery)
{
    struct harness h;
    int p, b;
    uint64_t op = 0;
    h_init(&h, 3, 61);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    b = (p + 1) % 3;
    for (uint64_t r = 1; r <= 3; r++) {
        op = submit(&h, p, 2, r);
        deliver(&h);
    }
    crash(&h, (uint32_t)b);
    for (uint64_t r = 4; r <= 6; r++) {
        op = submit(&h, p, 2, r);
        deliver(&h);
    }
    {
        /* nothing above the persisted commit (or what the backend already
         * had) is applied before recovery confirms it */
        uint64_t before = h.nd[b].applied > h.nd[b].st.commit ? h.nd[b].applied : h.nd[b].st.commit;
        boot(&h, (uint32_t)b);
        ck_assert_int_eq(vr_status(h.nd[b].vr), VR_RECOVERING);
        ck_assert_uint_le(h.nd[b].applied, before);
    }
    deliver(&h);
    ck_assert_int_eq(vr_status(h.nd[b].vr), VR_NORMAL);
    ck_assert_uint_eq(vr_view(h.nd[b].vr), vr_view(h.nd[p].vr));
    ck_assert_uint_eq(vr_op(h.nd[b].vr), op);
    tick(&h, 3);
    ck_assert_uint_eq(vr_commit(h.nd[b].vr), op);
    ck_assert_uint_eq(ready_primary(&h), p); /* no view change was needed */
    check_same_committed(&h);
    h_free(&h);
}
END_TEST

/* A restarted replica whose log already matches the primary's, whose
 * RECOVERY_RESPONSE is lost and which learns the view from a heartbeat,
 * finishes recovering (regression: it fetched from beyond its target, got
 * nothing back and stayed RECOVERING). */
START_TEST(test_recovery_from_heartbeat_when_caught_up)
{
    struct harness h;
    int p;
    uint32_t b;
    h_init(&h, 3, 65);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    b = (uint32_t)(p + 1) % 3;
    submit(&h, p, 2, 1);
    deliver(&h);
    tick(&h, 3);
    crash(&h, b);
    h.cut[p][b] = true; /* the primary's RECOVERY_RESPONSE is lost */
    boot(&h, b);
    deliver(&h);
    ck_assert_int_eq(vr_status(h.nd[b].vr), VR_RECOVERING);
    h.cut[p][b] = false;
    /* only the primary ticks: the heartbeat reaches b before b asks again */
    for (int t = 0; t < 10; t++) {
        vr_tick(h.nd[p].vr);
        drain(&h, (uint32_t)p);
        deliver(&h);
    }
    ck_assert_int_eq(vr_status(h.nd[b].vr), VR_NORMAL);
    h_free(&h);
}
END_TEST

/* A restarted replica holds acknowledged entries of the current view beyond
 * its commit number; a late PREPARE from the same primary, sent before those
 * entries existed, must not make it drop them (regression: it took the
 * stale message's op as its install target and truncated above it). */
START_TEST(test_stale_prepare_keeps_entries_of_the_view)
{
    struct harness h;
    int p;
    uint32_t b;
    uint64_t op = 0;
    struct proto_msg m;
    struct err e;
    h_init(&h, 3, 67);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    b = (uint32_t)(p + 1) % 3;
    for (uint64_t r = 1; r <= 3; r++) {
        op = submit(&h, p, 2, r);
        deliver(&h);
    }
    ck_assert_uint_eq(vr_op(h.nd[b].vr), op);
    ck_assert_uint_lt(vr_commit(h.nd[b].vr), op); /* b does not know op committed */
    crash(&h, b);
    h.cut[p][b] = true;
    boot(&h, b);
    deliver(&h);
    ck_assert_int_eq(vr_status(h.nd[b].vr), VR_RECOVERING);
    /* the primary's PREPARE of op 1, arriving very late */
    memset(&m, 0, sizeof m);
    m.type = MSG_PREPARE;
    m.u.prepare.view = vr_view(h.nd[p].vr);
    m.u.prepare.commit = 0;
    m.u.prepare.prev_view = 0;
    m.u.prepare.seq = 1;
    ck_assert_int_eq(proto_list_entry_resize(&m.u.prepare.entries, 1), 0);
    ck_assert_int_eq(proto_entry_copy(&m.u.prepare.entries.v[0], vr_entry(h.nd[p].vr, 1)), 0);
    ck_assert_int_eq(vr_receive(h.nd[b].vr, (uint32_t)p, &m, &e), 0);
    proto_msg_free(&m);
    drain(&h, b);
    ck_assert_uint_eq(vr_op(h.nd[b].vr), op);
    ck_assert_ptr_nonnull(vr_entry(h.nd[b].vr, op));
    h.cut[p][b] = false;
    tick(&h, 5);
    ck_assert_int_eq(vr_status(h.nd[b].vr), VR_NORMAL);
    ck_assert_uint_eq(vr_op(h.nd[b].vr), op);
    h_free(&h);
}
END_TEST

/* Decode the last queued message of `type` from `from` to `to`. */
static bool find_msg(struct harness *h, uint32_t from, uint32_t to, enum proto_type type,
                     struct proto_msg *out)
{
    for (size_t k = h->qn; k-- > 0;) {
        struct err e;
        if (h->q[k].from != from || h->q[k].to != to)
            continue;
        ck_assert_int_eq(proto_decode(h->q[k].bytes.data, h->q[k].bytes.len, out, &e), 0);
        if (out->type == type)
            return true;
        proto_msg_free(out);
    }
    return false;
}

/* After a state transfer the backend (and commit number) may come from a
 * newer view than the persisted one; the deposed primary of the old view,
 * whose log lacks those entries, must not be installed from (regression:
 * the replica became its backup and acknowledged an op beyond its log). */
START_TEST(test_recovery_ignores_deposed_primary)
{
    struct harness h;
    struct proto_msg m, rq;
    struct err e;
    h_init(&h, 3, 141);
    vr_free(h.nd[2].vr);
    h.nd[2].vr = NULL;
    h.nd[2].st = (struct vr_persist){.view = 4, .last_normal = 4, .commit = 0};
    boot(&h, 2);
    vr_reset_log(h.nd[2].vr, 61); /* backend copied from a donor: op 61 */
    drain(&h, 2);
    ck_assert(find_msg(&h, 2, 1, MSG_RECOVERY, &rq));
    /* replica 1, primary of view 4, deposed, log up to 60 */
    memset(&m, 0, sizeof m);
    m.type = MSG_RECOVERY_RESPONSE;
    m.u.recovery_response.view = 4;
    m.u.recovery_response.nonce = rq.u.recovery.nonce;
    m.u.recovery_response.op = 60;
    m.u.recovery_response.commit = 60;
    m.u.recovery_response.replica = 1;
    m.u.recovery_response.status = STATUS_NORMAL;
    m.u.recovery_response.from = 62;
    m.u.recovery_response.log_start = 56;
    proto_msg_free(&rq);
    ck_assert_int_eq(vr_receive(h.nd[2].vr, 1, &m, &e), 0);
    drain(&h, 2);
    ck_assert_int_eq(vr_status(h.nd[2].vr), VR_RECOVERING);
    /* nor through its heartbeat: the fetch shows its log is behind */
    memset(&m, 0, sizeof m);
    m.type = MSG_COMMIT;
    m.u.commit.view = 4;
    m.u.commit.commit = 60;
    m.u.commit.op = 60;
    m.u.commit.seq = 9;
    ck_assert_int_eq(vr_receive(h.nd[2].vr, 1, &m, &e), 0);
    drain(&h, 2);
    ck_assert(find_msg(&h, 2, 1, MSG_GET_ENTRIES, &rq));
    memset(&m, 0, sizeof m);
    m.type = MSG_NEW_ENTRIES;
    m.u.new_entries.view = 4;
    m.u.new_entries.op = 60;
    m.u.new_entries.commit = 60;
    m.u.new_entries.from = rq.u.get_entries.from;
    m.u.new_entries.log_start = 56;
    proto_msg_free(&rq);
    ck_assert_int_eq(vr_receive(h.nd[2].vr, 1, &m, &e), 0);
    drain(&h, 2);
    ck_assert_int_eq(vr_status(h.nd[2].vr), VR_RECOVERING);
    ck_assert_uint_eq(vr_commit(h.nd[2].vr), 61);
    h_free(&h);
}
END_TEST

START_TEST(test_all_restart)
{
    struct harness h;
    int p;
    uint64_t op = 0, v;
    h_init(&h, 3, 71);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    for (uint64_t r = 1; r <= 4; r++) {
        op = submit(&h, p, 5, r);
        deliver(&h);
    }
    v = vr_view(h.nd[p].vr);
    for (uint32_t i = 0; i < 3; i++)
        crash(&h, i);
    for (uint32_t i = 0; i < 3; i++)
        boot(&h, i);
    p = wait_ready(&h, 400);
    ck_assert_int_ge(p, 0);
    ck_assert_uint_gt(vr_view(h.nd[p].vr), v);
    ck_assert_uint_ge(vr_commit(h.nd[p].vr), op);
    for (uint64_t o = 1; o <= op; o++)
        ck_assert_ptr_nonnull(vr_entry(h.nd[p].vr, o));
    op = submit(&h, p, 5, 5);
    deliver(&h);
    tick(&h, 3);
    for (uint32_t i = 0; i < 3; i++)
        ck_assert_uint_eq(vr_commit(h.nd[i].vr), op);
    check_same_committed(&h);
    h_free(&h);
}
END_TEST

/* A restarted primary never leads its old view again: the entry it made but
 * never made durable must not be replaced by another one with the same
 * (op, view). */
START_TEST(test_restarted_primary_does_not_relead)
{
    struct harness h;
    int p, b1, b2, np;
    uint64_t v, op;
    h_init(&h, 3, 75);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    v = vr_view(h.nd[p].vr);
    b1 = (p + 1) % 3;
    b2 = (p + 2) % 3;
    h.nd[p].manual_durable = true;
    h.cut[p][b2] = true;
    op = submit(&h, p, 4, 1); /* reaches b1 only, never durable at p */
    deliver(&h);
    ck_assert_uint_eq(vr_op(h.nd[b1].vr), op);
    crash(&h, (uint32_t)p);
    h.cut[p][b2] = false;
    h.nd[p].manual_durable = false;
    boot(&h, (uint32_t)p);
    np = wait_ready(&h, 400);
    ck_assert_int_ge(np, 0);
    ck_assert_uint_gt(vr_view(h.nd[np].vr), v);
    /* whatever sits at op now is one entry everywhere */
    tick(&h, 5);
    check_same_committed(&h);
    (void)b1;
    h_free(&h);
}
END_TEST

START_TEST(test_declining_skipped)
{
    struct harness h;
    int p, np;
    uint32_t next;
    h_init(&h, 5, 81);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    next = (uint32_t)((vr_view(h.nd[p].vr) + 1) % 3);
    vr_set_declining(h.nd[next].vr, true);
    crash(&h, (uint32_t)p);
    np = wait_ready(&h, 600);
    ck_assert_int_ge(np, 0);
    ck_assert_uint_ne((uint32_t)np, next);
    ck_assert_uint_ne((uint32_t)np, (uint32_t)p);
    h_free(&h);
}
END_TEST

START_TEST(test_read_index)
{
    struct harness h;
    int p;
    uint32_t b1, b2;
    h_init(&h, 3, 91);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    b1 = (uint32_t)(p + 1) % 3;
    b2 = (uint32_t)(p + 2) % 3;
    /* a backup never starts a ReadIndex round */
    ck_assert_uint_eq(vr_read_index(h.nd[b1].vr), 0);
    /* confirmed by one backup's answer */
    h.nd[p].ri_ok = -1;
    h.cut[p][b2] = true;
    h.nd[p].ri_token = vr_read_index(h.nd[p].vr);
    ck_assert_uint_ne(h.nd[p].ri_token, 0);
    drain(&h, (uint32_t)p);
    ck_assert_int_eq(h.nd[p].ri_ok, -1);
    deliver(&h);
    ck_assert_int_eq(h.nd[p].ri_ok, 1);
    /* cut off from both backups: not confirmed, and it fails once the
     * primary gives up its view */
    h.cut[p][b1] = h.cut[b1][p] = h.cut[b2][p] = true;
    h.nd[p].ri_ok = -1;
    h.nd[p].ri_token = vr_read_index(h.nd[p].vr);
    drain(&h, (uint32_t)p);
    deliver(&h);
    ck_assert_int_eq(h.nd[p].ri_ok, -1);
    for (int t = 0; t < 100 && h.nd[p].ri_ok == -1; t++)
        tick(&h, 1);
    ck_assert_int_eq(h.nd[p].ri_ok, 0);
    ck_assert(!vr_ready(h.nd[p].vr));
    h_free(&h);
}
END_TEST

START_TEST(test_read_index_fails_on_view_change)
{
    struct harness h;
    int p;
    struct proto_msg m;
    struct err e;
    uint32_t b1;
    h_init(&h, 3, 93);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    b1 = (uint32_t)(p + 1) % 3;
    h.cut[(p + 1) % 3][p] = h.cut[(p + 2) % 3][p] = true; /* answers never arrive */
    h.nd[p].ri_ok = -1;
    h.nd[p].ri_token = vr_read_index(h.nd[p].vr);
    drain(&h, (uint32_t)p);
    memset(&m, 0, sizeof m);
    m.type = MSG_START_VIEW_CHANGE;
    m.u.start_view_change.view = vr_view(h.nd[p].vr) + 1;
    m.u.start_view_change.replica = b1;
    ck_assert_int_eq(vr_receive(h.nd[p].vr, b1, &m, &e), 0);
    drain(&h, (uint32_t)p);
    ck_assert_int_eq(h.nd[p].ri_ok, 0);
    ck_assert_int_eq(vr_status(h.nd[p].vr), VR_VIEW_CHANGE);
    h_free(&h);
}
END_TEST

START_TEST(test_client_table)
{
    struct harness h;
    int p;
    struct proto_id c = mkclient(8);
    uint64_t op, lop;
    struct err e;
    h_init(&h, 3, 101);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    op = submit(&h, p, 8, 5);
    deliver(&h);
    ck_assert_uint_eq(vr_client_last(h.nd[p].vr, &c, &lop), 5);
    ck_assert_uint_eq(lop, op);
    /* the same request again, and an older one, are refused */
    ck_assert_int_eq(vr_submit(h.nd[p].vr, &c, 5, "x", 1, &lop, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(vr_submit(h.nd[p].vr, &c, 4, "x", 1, &lop, &e), -1);
    /* backups rebuilt the same table from the log */
    for (uint32_t i = 0; i < 3; i++)
        ck_assert_uint_eq(vr_client_last(h.nd[i].vr, &c, &lop), 5);
    /* and after a restart, from the durable log */
    crash(&h, (uint32_t)(p + 1) % 3);
    boot(&h, (uint32_t)(p + 1) % 3);
    ck_assert_uint_eq(vr_client_last(h.nd[(p + 1) % 3].vr, &c, &lop), 5);
    ck_assert_uint_eq(lop, op);
    /* an uncommitted request that a view change drops leaves the table */
    {
        uint32_t b1 = (uint32_t)(p + 1) % 3, b2 = (uint32_t)(p + 2) % 3;
        int np;
        tick(&h, 3);
        h.cut[p][b1] = h.cut[p][b2] = h.cut[b1][p] = h.cut[b2][p] = true;
        submit(&h, p, 8, 6);
        ck_assert_uint_eq(vr_client_last(h.nd[p].vr, &c, &lop), 6);
        for (int t = 0; t < 400; t++) {
            tick(&h, 1);
            np = ready_primary(&h);
            if (np >= 0 && np != p)
                break;
        }
        h.cut[p][b1] = h.cut[p][b2] = h.cut[b1][p] = h.cut[b2][p] = false;
        tick(&h, 60);
        ck_assert_int_eq(vr_status(h.nd[p].vr), VR_NORMAL);
        ck_assert_uint_eq(vr_client_last(h.nd[p].vr, &c, &lop), 5);
        ck_assert_uint_eq(lop, op);
    }
    h_free(&h);
}
END_TEST

START_TEST(test_need_transfer)
{
    struct harness h;
    int p;
    uint32_t b;
    uint64_t op = 0;
    h_init(&h, 3, 111);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    b = (uint32_t)(p + 1) % 3;
    crash(&h, b);
    for (uint64_t r = 1; r <= 20; r++) {
        op = submit(&h, p, 6, r);
        deliver(&h);
    }
    tick(&h, 3);
    for (uint32_t i = 0; i < 3; i++)
        if (i != b)
            vr_compact(h.nd[i].vr, 15);
    ck_assert_uint_eq(vr_log_start(h.nd[p].vr), 15);
    boot(&h, b);
    deliver(&h);
    ck_assert_uint_eq(h.nd[b].need_transfer, 1);
    ck_assert_int_ne(vr_status(h.nd[b].vr), VR_NORMAL);
    /* the transfer: the backend now holds everything through the donor's
     * applied op; the log restarts there */
    {
        uint64_t a = h.nd[p].applied;
        node_free_log(&h.nd[b]);
        h.nd[b].log_base = h.nd[b].log_last = a;
        h.nd[b].applied = a;
        vr_reset_log(h.nd[b].vr, a);
        drain(&h, b);
    }
    deliver(&h);
    ck_assert_int_eq(vr_status(h.nd[b].vr), VR_NORMAL);
    op = submit(&h, p, 6, 21);
    deliver(&h);
    tick(&h, 3);
    ck_assert_uint_eq(vr_commit(h.nd[b].vr), op);
    h_free(&h);
}
END_TEST

/* Hostile or inconsistent peer messages are errors, never crashes, and
 * leave the core usable. */
START_TEST(test_malformed_messages)
{
    struct harness h;
    struct proto_msg m;
    struct err e;
    int p;
    uint32_t b, other;
    h_init(&h, 3, 121);
    p = wait_ready(&h, 200);
    ck_assert_int_ge(p, 0);
    b = (uint32_t)(p + 1) % 3;
    other = (uint32_t)(p + 2) % 3;

    memset(&m, 0, sizeof m);
    m.type = MSG_PREPARE; /* from a replica that is not the view's primary */
    m.u.prepare.view = vr_view(h.nd[b].vr);
    ck_assert_int_eq(vr_receive(h.nd[b].vr, other, &m, &e), -1);
    ck_assert_int_eq(e.code, ERR_PROTOCOL);

    memset(&m, 0, sizeof m);
    m.type = MSG_PREPARE_OK; /* names another replica */
    m.u.prepare_ok.view = vr_view(h.nd[p].vr);
    m.u.prepare_ok.replica = other;
    ck_assert_int_eq(vr_receive(h.nd[p].vr, b, &m, &e), -1);

    memset(&m, 0, sizeof m);
    m.type = MSG_PREPARE_OK; /* acks an op the primary never had */
    m.u.prepare_ok.view = vr_view(h.nd[p].vr);
    m.u.prepare_ok.replica = b;
    m.u.prepare_ok.op = 1000;
    ck_assert_int_eq(vr_receive(h.nd[p].vr, b, &m, &e), -1);

    memset(&m, 0, sizeof m);
    m.type = MSG_DO_VIEW_CHANGE; /* claims ops it does not carry */
    m.u.do_view_change.view = vr_view(h.nd[p].vr) + 3;
    m.u.do_view_change.op = 5;
    m.u.do_view_change.replica = b;
    ck_assert_int_eq(vr_receive(h.nd[p].vr, b, &m, &e), -1);

    memset(&m, 0, sizeof m);
    m.type = MSG_EXEC; /* a client message on a peer link */
    ck_assert_int_eq(vr_receive(h.nd[p].vr, b, &m, &e), -1);

    ck_assert_int_eq(vr_receive(h.nd[p].vr, (uint32_t)p, &m, &e), -1); /* from itself */
    ck_assert_int_eq(vr_receive(h.nd[p].vr, 99, &m, &e), -1);

    /* still working */
    submit(&h, p, 1, 1);
    deliver(&h);
    tick(&h, 3);
    ck_assert_uint_eq(vr_commit(h.nd[b].vr), 1);
    h_free(&h);
}
END_TEST

START_TEST(test_bad_config)
{
    struct vr_config c = {.n = 3, .self = 3, .heartbeat_ticks = 1, .timeout_ticks = 5,
                          .max_batch_bytes = 10, .window = 1};
    struct vr_persist st = {.view = 1, .last_normal = 2};
    struct err e;
    ck_assert_ptr_null(vr_new(&c, NULL, &e));
    c.self = 0;
    c.timeout_ticks = 1;
    ck_assert_ptr_null(vr_new(&c, NULL, &e));
    c.timeout_ticks = 5;
    ck_assert_ptr_null(vr_new(&c, &st, &e));
    ck_assert_int_eq(e.code, ERR_CORRUPT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vr");
    TCase *tc = tcase_create("scenarios");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_single_replica);
    tcase_add_test(tc, test_normal_case_commit);
    tcase_add_test(tc, test_primary_counts_only_durable);
    tcase_add_test(tc, test_new_primary_ready_only_when_established);
    tcase_add_test(tc, test_gap_fetch);
    tcase_add_test(tc, test_view_change_longer_log_loses);
    tcase_add_test(tc, test_restart_and_recovery);
    tcase_add_test(tc, test_recovery_from_heartbeat_when_caught_up);
    tcase_add_test(tc, test_stale_prepare_keeps_entries_of_the_view);
    tcase_add_test(tc, test_recovery_ignores_deposed_primary);
    tcase_add_test(tc, test_all_restart);
    tcase_add_test(tc, test_restarted_primary_does_not_relead);
    tcase_add_test(tc, test_declining_skipped);
    tcase_add_test(tc, test_read_index);
    tcase_add_test(tc, test_read_index_fails_on_view_change);
    tcase_add_test(tc, test_client_table);
    tcase_add_test(tc, test_need_transfer);
    tcase_add_test(tc, test_malformed_messages);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return testhelp_run(s);
}
