/* Request routing: where each statement goes and when its answer counts.
 *
 * Happy paths (DESIGN.md section 4, docs/WIRE.md):
 *  - autocommit write: EXEC(AUTOCOMMIT) to the primary; the answer counts
 *    once quorum.c holds f+1 matching PREPARED/ACKs or a COMMITTED, and the
 *    RESULT (affected rows, insert id) has arrived;
 *  - linearizable read: EXEC(READ) to one replica X and PROBE to all; X's
 *    rows are returned only when quorum.c says X's snapshot is recent enough,
 *    else the read is fenced and retried, and after RC_READ_TRIES it is sent
 *    to the primary with READ_INDEX;
 *  - session/any reads: one replica, fenced at the highest op this
 *    connection wrote or saw (session) or not at all (any);
 *  - transactions: opened lazily at the primary (or, read-only, at one
 *    replica after a quorum check), continued with CONTINUE, committed with
 *    TXN_COMMIT counted like a write;
 *  - session statements (SET, USE): sent to every replica and remembered for
 *    replay on reconnect.
 * Failure modes: the primary dies or is deposed while a write is in flight
 * (found by a dropped link, NOT_PRIMARY, a higher view in any message, or
 * silence, and answered by probing for the new primary and resending the
 * same request id with RETRY: exactly once is the server's client table);
 * a replica lags (fence), recovers (NOT_READY) or vanishes (another replica);
 * no majority answers (UNAVAILABLE after the request timeout); the primary
 * holding a transaction changes (40001, the transaction is closed, the
 * connection stays usable).  A request once sent is never resent under a
 * new id.
 */
#include "config.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quorum.h"
#include "recall-internal.h"

static uint32_t majority(const struct recall_conn *c)
{
    return c->n / 2 + 1;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

bool route_cells_ok(uint32_t ncols, uint32_t ncells)
{
    return ncols ? ncells % ncols == 0 : ncells == 0;
}

void route_result_free(struct proto_result *r)
{
    struct proto_msg m = {.type = MSG_RESULT};
    m.u.result = *r;
    proto_msg_free(&m);
    memset(r, 0, sizeof *r);
}

void route_error_from_msg(struct err *e, const struct proto_error *m, const struct link *l)
{
    enum err_code code = (m->code > ERR_OK && m->code < ERR__COUNT) ? (enum err_code)m->code
                                                                     : ERR_SQL;
    int native = m->native > INT_MAX ? INT_MAX : m->native < INT_MIN ? INT_MIN : (int)m->native;
    const char *state = err_default_sqlstate(code);
    bool state_ok = m->sqlstate.len == 5;

    for (uint32_t i = 0; state_ok && i < 5; i++) {
        char ch = m->sqlstate.p[i];
        state_ok = (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z');
    }
    if (state_ok)
        state = m->sqlstate.p;
    (void)l;
    err_set_sql(e, code, state, native, "%s", m->msg.len ? m->msg.p : err_text(code));
}

/* ---- sending ---- */

static int send_exec(struct recall_conn *c, uint32_t li, uint64_t req, uint32_t flags,
                     const char *sql, size_t len, const struct proto_list_value *params,
                     uint64_t fence, struct err *e)
{
    struct proto_msg m = {.type = MSG_EXEC};
    if (len > UINT32_MAX)
        return err_set(e, ERR_TOO_BIG, "statement text of %zu bytes is too long", len);
    m.u.exec.req = req;
    m.u.exec.flags = flags;
    m.u.exec.sql.p = (char *)sql;
    m.u.exec.sql.len = (uint32_t)len;
    if (params)
        m.u.exec.params = *params;
    m.u.exec.fence = fence;
    m.u.exec.chunk_rows = c->fetch_rows;
    return net_send(c, li, &m, e);
}

static int send_stmt(struct recall_conn *c, uint32_t li, uint64_t req, uint32_t flags,
                     const struct recall_stmt *s, uint64_t fence, struct err *e)
{
    return send_exec(c, li, req, flags, s->sql, s->len, &s->params, fence, e);
}

static int send_txn(struct recall_conn *c, uint32_t li, uint64_t req, uint8_t action,
                    uint32_t flags, struct err *e)
{
    struct proto_msg m = {.type = MSG_TXN};
    m.u.txn.req = req;
    m.u.txn.action = action;
    m.u.txn.flags = flags;
    return net_send(c, li, &m, e);
}

static int send_probe(struct recall_conn *c, uint32_t li, uint64_t req)
{
    struct proto_msg m = {.type = MSG_PROBE};
    struct err e;
    m.u.probe.req = req;
    return net_send(c, li, &m, &e);
}

static void send_close(struct recall_conn *c, uint32_t li, uint64_t gen, uint64_t req)
{
    struct proto_msg m = {.type = MSG_CLOSE};
    struct err e;
    if (!net_ready(c, li) || c->links[li].gen != gen)
        return;
    m.u.close.req = req;
    net_send(c, li, &m, &e); /* best effort: a lost CLOSE only costs the replica a cursor */
}

/* Fire-and-forget rollback of whatever transaction is open at li. */
static void send_rollback(struct recall_conn *c, uint32_t li, uint64_t gen)
{
    struct err e;
    if (net_ready(c, li) && c->links[li].gen == gen)
        send_txn(c, li, net_req(c), TXN_ROLLBACK, 0, &e);
}

/* Discard a result that will not be used, closing its cursor. */
static void drop_result(struct recall_conn *c, uint32_t li, uint64_t gen, struct proto_msg *m)
{
    if (m->type == MSG_RESULT && (m->u.result.flags & PROTO_RESULT_MORE))
        send_close(c, li, gen, m->u.result.req);
    proto_msg_free(m);
}

/* A replica that left a read unanswered for the whole request timeout is
 * treated as down (it may be hung, or stuck halfway through a frame); the
 * session it held is dropped with the socket, and the link reconnects with
 * backoff. */
static void drop_silent(struct recall_conn *c, uint32_t li, uint64_t gen)
{
    struct err e;
    if (!net_ready(c, li) || c->links[li].gen != gen)
        return;
    err_set(&e, ERR_TIMEOUT, "replica %u (%s): no answer to a read (nor to status probes, when "
            "they were sent) within the time allowed", li, c->links[li].name);
    net_link_down(c, li, &e);
}

static bool is_retryable_at_primary(const struct proto_error *m)
{
    return m->code == ERR_NOT_PRIMARY || m->code == ERR_NOT_READY;
}

/* ---- events held by a nested wait ---- */

struct held {
    struct net_event *v;
    size_t n, cap;
};

static void held_push(struct held *h, struct net_event *ev)
{
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 8;
        struct net_event *v = realloc(h->v, ncap * sizeof *v);
        if (!v) {
            net_event_free(ev); /* see queue_push in net.c: losing one is safe */
            return;
        }
        h->v = v;
        h->cap = ncap;
    }
    h->v[h->n++] = *ev;
    memset(ev, 0, sizeof *ev);
}

/* Give every held event back, in the order they arrived. */
static void held_release(struct recall_conn *c, struct held *h)
{
    while (h->n > 0)
        net_requeue(c, &h->v[--h->n]);
    free(h->v);
    h->v = NULL;
    h->cap = 0;
}

/* ---- finding the primary ---- */

struct pstat {
    bool have;
    uint64_t view;
    uint8_t status;
};

/* The primary as a majority sees it: among the replies (a majority is
 * needed), the highest view v in normal status whose primary itself
 * answered in view v and normal status, and that a majority of replicas
 * has reached (a view change to v needs a majority, so an honest cluster
 * always shows one; a single replica inventing a far-away view in which it
 * would be primary is ignored).  Returns its index or -1. */
static int pick_primary(uint32_t n, const struct pstat *st, uint64_t *view)
{
    uint32_t replies = 0, p;
    bool any = false;
    uint64_t v = 0;

    for (uint32_t i = 0; i < n; i++)
        replies += st[i].have;
    if (replies < n / 2 + 1)
        return -1;
    /* The highest normal view that a majority has reached. */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t reached = 0;
        if (!st[i].have || st[i].status != STATUS_NORMAL || (any && st[i].view <= v))
            continue;
        for (uint32_t k = 0; k < n; k++)
            reached += st[k].have && st[k].view >= st[i].view;
        if (reached >= n / 2 + 1) {
            v = st[i].view;
            any = true;
        }
    }
    if (!any)
        return -1;
    p = (uint32_t)(v % n);
    if (!st[p].have || st[p].status != STATUS_NORMAL || st[p].view != v)
        return -1;
    *view = v;
    return (int)p;
}

int route_primary_from_welcome(struct recall_conn *c)
{
    struct pstat st[ADDR_MAX_REPLICAS];
    uint64_t v;
    int p;
    memset(st, 0, sizeof st);
    for (uint32_t i = 0; i < c->n; i++)
        if (net_ready(c, i))
            st[i] = (struct pstat){true, c->links[i].view, c->links[i].status};
    p = pick_primary(c->n, st, &v);
    if (p >= 0) {
        c->primary = p;
        c->view = v;
    }
    return p;
}

/* "replica 1 (h:1): reason; replica 2 (...): ..." for links that are down. */
static void describe_down(const struct recall_conn *c, char *out, size_t cap)
{
    size_t off = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < c->n && off < cap; i++) {
        const struct link *l = &c->links[i];
        if (l->state == LINK_READY)
            continue;
        int k = snprintf(out + off, cap - off, "%s%s", off ? "; " : "",
                         l->err.code != ERR_OK ? l->err.msg : "");
        if (k < 0)
            break;
        if (!l->err.msg[0] || l->err.code == ERR_OK)
            k = snprintf(out + off, cap - off, "%sreplica %u (%s): %s", off ? "; " : "", i,
                         l->name, net_state_name(l->state));
        off += (size_t)k;
    }
}

static int unavailable(struct recall_conn *c, uint32_t replies, struct err *e)
{
    char why[ERR_MSG_MAX];
    if (replies < majority(c)) {
        describe_down(c, why, sizeof why);
        return err_set(e, ERR_UNAVAILABLE, "only %u of %u replicas answered (a majority is %u)%s%s",
                       replies, c->n, majority(c), why[0] ? ": " : "", why);
    }
    return err_set(e, ERR_UNAVAILABLE,
                   "no primary: the replicas that answered do not agree on a primary in "
                   "normal status (a view change may be in progress)");
}

int route_find_primary(struct recall_conn *c, uint64_t deadline, bool cancelable, struct err *e)
{
    struct held held = {0};
    struct pstat st[ADDR_MAX_REPLICAS];
    bool asked[ADDR_MAX_REPLICAS], gone[ADDR_MAX_REPLICAS];
    struct net_event ev;
    unsigned pause = 10;
    uint32_t replies = 0;
    int rc = -1;

    c->primary = -1;
    for (;;) {
        uint64_t req = net_req(c), now, round_end;
        uint32_t nasked = 0, nanswered = 0;

        memset(st, 0, sizeof st);
        memset(asked, 0, sizeof asked);
        memset(gone, 0, sizeof gone);
        net_kick(c);
        for (uint32_t i = 0; i < c->n; i++)
            if (net_ready(c, i) && send_probe(c, i, req) == 0) {
                asked[i] = true;
                nasked++;
            }
        now = rc_now_ms();
        round_end = min64(deadline, now + RC_PROBE_ROUND_MS);
        for (;;) {
            uint64_t v;
            int p = pick_primary(c->n, st, &v);
            if (p >= 0 && net_ready(c, (uint32_t)p)) {
                c->primary = p;
                c->view = v;
                rc = 0;
                goto out;
            }
            if (nasked > 0 && nanswered == nasked)
                break;
            net_next(c, round_end, cancelable, &ev);
            if (ev.kind == NET_TIMEOUT)
                break;
            if (ev.kind == NET_CANCELED) {
                rc = err_set(e, ERR_CANCELED, "canceled while looking for the primary");
                goto out;
            }
            if (ev.kind == NET_MSG && ev.msg.type == MSG_STATUS && ev.msg.u.status.req == req &&
                asked[ev.li] && !st[ev.li].have && !gone[ev.li]) {
                st[ev.li] = (struct pstat){true, ev.msg.u.status.view, ev.msg.u.status.status};
                nanswered++;
                net_event_free(&ev);
                continue;
            }
            if (ev.kind == NET_UP && net_ready(c, ev.li) && (!asked[ev.li] || gone[ev.li]) &&
                send_probe(c, ev.li, req) == 0) {
                if (gone[ev.li]) {
                    gone[ev.li] = false;
                    nanswered--;
                } else {
                    asked[ev.li] = true;
                    nasked++;
                }
            }
            if (ev.kind == NET_DOWN && asked[ev.li] && !st[ev.li].have && !gone[ev.li]) {
                gone[ev.li] = true;
                nanswered++;
            }
            held_push(&held, &ev);
        }
        replies = 0;
        for (uint32_t i = 0; i < c->n; i++)
            replies += st[i].have;
        now = rc_now_ms();
        if (now >= deadline) {
            rc = unavailable(c, replies, e);
            goto out;
        }
        /* Pause before the next round; events are kept for the caller. */
        {
            uint64_t until = min64(deadline, now + pause);
            pause = pause * 2 > 200 ? 200 : pause * 2;
            for (;;) {
                net_next(c, until, cancelable, &ev);
                if (ev.kind == NET_TIMEOUT)
                    break;
                if (ev.kind == NET_CANCELED) {
                    rc = err_set(e, ERR_CANCELED, "canceled while looking for the primary");
                    goto out;
                }
                held_push(&held, &ev);
            }
        }
    }
out:
    held_release(c, &held);
    return rc;
}

/* ---- waiting for one reply ---- */

/* Wait for the RESULT (into *res, a MSG_RESULT message) or ERROR answering
 * req from link li of generation gen.  Other events are dropped except that
 * a NET_DOWN of li ends the wait with ERR_CONN_LOST.  Returns 0, -1 for a
 * local failure (timeout, cancel, lost link), or WAIT_SERVER_ERROR when the
 * replica answered with an ERROR (the statement's own outcome). */
#define WAIT_SERVER_ERROR (-2)
/* Wait for the answer to request `req` on link li.  hedge_ms > 0: the
 * replica must show signs of life while it works -- it is probed every
 * hedge_ms, and one that answers neither the request nor a probe for a
 * whole interval is cut off from us: its link is dropped (ERR_CONN_LOST)
 * instead of waiting for the deadline. */
static int wait_reply_core(struct recall_conn *c, uint32_t li, uint64_t gen, uint64_t req,
                           uint64_t deadline, bool cancelable, unsigned hedge_ms,
                           struct proto_msg *res, struct err *e)
{
    struct net_event ev;
    uint64_t hreq = 0, hedge_at = hedge_ms ? rc_now_ms() + hedge_ms : 0;
    bool heard = false;
    memset(res, 0, sizeof *res);
    for (;;) {
        if (!net_ready(c, li) || c->links[li].gen != gen) {
            if (c->links[li].err.code != ERR_OK) {
                err_copy(e, &c->links[li].err);
                e->code = ERR_CONN_LOST;
                memcpy(e->sqlstate, err_default_sqlstate(ERR_CONN_LOST), 6);
                return -1;
            }
            return err_set(e, ERR_CONN_LOST, "replica %u (%s): connection lost", li,
                           c->links[li].name);
        }
        net_next(c, hedge_at ? min64(deadline, hedge_at) : deadline, cancelable, &ev);
        switch (ev.kind) {
        case NET_TIMEOUT:
            if (hedge_at && rc_now_ms() < deadline) {
                if (hreq && !heard) {
                    drop_silent(c, li, gen);
                    return err_set(e, ERR_CONN_LOST, "replica %u (%s) stopped answering", li,
                                   c->links[li].name);
                }
                heard = false;
                hreq = net_req(c);
                hedge_at = rc_now_ms() + hedge_ms;
                if (send_probe(c, li, hreq) < 0)
                    return err_set(e, ERR_CONN_LOST, "replica %u (%s): connection lost", li,
                                   c->links[li].name);
                break;
            }
            return err_set(e, ERR_TIMEOUT, "no answer from replica %u (%s) within the request timeout",
                           li, c->links[li].name);
        case NET_CANCELED:
            return err_set(e, ERR_CANCELED, "canceled");
        case NET_MSG:
            if (ev.li == li && ev.gen == gen) {
                if (ev.msg.type == MSG_STATUS)
                    heard = true;
                if (ev.msg.type == MSG_RESULT && ev.msg.u.result.req == req) {
                    *res = ev.msg;
                    memset(&ev, 0, sizeof ev);
                    return 0;
                }
                if (ev.msg.type == MSG_ERROR && ev.msg.u.error.req == req) {
                    route_error_from_msg(e, &ev.msg.u.error, &c->links[li]);
                    net_event_free(&ev);
                    return WAIT_SERVER_ERROR;
                }
            }
            net_event_free(&ev);
            break;
        default:
            net_event_free(&ev);
            break;
        }
    }
}

static int wait_reply(struct recall_conn *c, uint32_t li, uint64_t gen, uint64_t req,
                      uint64_t deadline, bool cancelable, struct proto_msg *res, struct err *e)
{
    return wait_reply_core(c, li, gen, req, deadline, cancelable, 0, res, e);
}

/* Wait until some link is READY (or the deadline). */
static int wait_any_ready(struct recall_conn *c, uint64_t deadline, bool cancelable, struct err *e)
{
    struct net_event ev;
    while (net_ready_count(c) == 0) {
        net_kick(c);
        net_next(c, deadline, cancelable, &ev);
        if (ev.kind == NET_TIMEOUT)
            return unavailable(c, 0, e);
        if (ev.kind == NET_CANCELED)
            return err_set(e, ERR_CANCELED, "canceled while connecting to the replicas");
        net_event_free(&ev);
    }
    return 0;
}

/* Let `ms` pass (or until the deadline), dropping events. */
static int pause_for(struct recall_conn *c, unsigned ms, uint64_t deadline, bool cancelable,
                     struct err *e)
{
    struct net_event ev;
    uint64_t until = min64(deadline, rc_now_ms() + ms);
    for (;;) {
        net_next(c, until, cancelable, &ev);
        if (ev.kind == NET_TIMEOUT)
            break;
        if (ev.kind == NET_CANCELED)
            return err_set(e, ERR_CANCELED, "canceled");
        net_event_free(&ev);
    }
    if (rc_now_ms() >= deadline)
        return err_set(e, ERR_TIMEOUT, "request timeout expired");
    return 0;
}

/* ---- writes: client-counted quorum ---- */

enum wkind { W_EXEC, W_COMMIT };

/* Run an autocommit write (W_EXEC: s with exec_flags) or commit the open
 * transaction (W_COMMIT, first sent to replica `first` of generation
 * first_gen) and count its quorum. */
static int do_write(struct recall_conn *c, const struct recall_stmt *s, enum wkind kind,
                    uint32_t exec_flags, int first, uint64_t first_gen, uint64_t deadline,
                    struct route_result *out, struct err *e)
{
    struct quorum_write q;
    struct proto_msg res = {0};
    bool have_res = false, final_res = false, sent = false, canceled = false;
    bool p_acked = false, asked_again = false;
    /* DDL is answered by one final RESULT after it ran; its PREPARED/ACK/
     * COMMITTED only say it was logged and are ignored (docs/WIRE.md). */
    bool ddl = kind == W_EXEC && s->info.kind == SQL_DDL;
    uint32_t res_li = 0;
    uint64_t res_gen = 0;
    uint64_t req = net_req(c);
    int p = -1;
    uint64_t pgen = 0, heard = 0, not_before = 0, dl = deadline;
    uint64_t probe_view = c->max_view_seen;
    unsigned pause = 10;
    struct net_event ev;

    quorum_write_init(&q, c->n, req);
    for (;;) {
        uint64_t now = rc_now_ms(), until;

        if (final_res || (q.committed && (have_res || kind == W_COMMIT)))
            break;
        if (q.committed && !have_res && p_acked && !asked_again) {
            /* The primary's RESULT precedes its PREPARED/COMMITTED on the
             * same socket; having those without it means it was lost: ask
             * again with the same id, the client table has the result. */
            asked_again = true;
            p = -1;
        }
        if (p < 0 && now >= not_before) {
            if (first >= 0 && !sent) {
                p = first;
                pgen = first_gen;
            } else {
                if (c->primary < 0 || !net_ready(c, (uint32_t)c->primary) ||
                    c->max_view_seen > probe_view) {
                    if (route_find_primary(c, dl, !sent && !canceled, e) < 0) {
                        if (sent && e->code != ERR_CANCELED) {
                            /* the write went out: its outcome is unknown, not "retry" */
                            char why[ERR_MSG_MAX];
                            snprintf(why, sizeof why, "%s", e->msg);
                            err_set(e, ERR_TIMEOUT,
                                    "request timeout expired before a quorum acknowledged the "
                                    "%s, and no primary could be found (%s): it may still commit",
                                    kind == W_COMMIT ? "commit" : "statement", why);
                        }
                        goto fail;
                    }
                    probe_view = c->max_view_seen;
                }
                p = c->primary;
                pgen = c->links[p].gen;
            }
            if (kind == W_EXEC) {
                if (send_stmt(c, (uint32_t)p, req, exec_flags | (sent ? PROTO_EXEC_RETRY : 0), s, 0,
                              e) < 0) {
                    if (e->code == ERR_TOO_BIG)
                        goto fail;
                    c->primary = p = -1;
                    continue;
                }
            } else if (send_txn(c, (uint32_t)p, req, TXN_COMMIT, PROTO_TXN_CONTINUE, e) < 0) {
                if (!sent) {
                    err_set(e, ERR_FAILOVER, "transaction rolled back by failover; retry "
                            "(the connection to the primary was lost before COMMIT)");
                    goto fail;
                }
                c->primary = p = -1;
                continue;
            }
            sent = true;
            heard = rc_now_ms();
            continue;
        }
        until = dl;
        if (p >= 0)
            until = min64(until, heard + RC_SILENCE_PROBE_MS);
        else
            until = min64(until, not_before);
        net_next(c, until, !canceled, &ev);
        switch (ev.kind) {
        case NET_CANCELED:
            if (!sent) {
                err_set(e, ERR_CANCELED, "canceled before the statement was sent");
                goto fail;
            }
            /* The write may already be executing: wait for its outcome. */
            canceled = true;
            if (!c->request_timeout_ms)
                dl = rc_now_ms() + RC_CANCEL_GRACE_MS;
            continue;
        case NET_TIMEOUT:
            now = rc_now_ms();
            if (now >= dl) {
                if (!sent)
                    err_set(e, ERR_TIMEOUT, "request timeout expired before the statement could "
                            "be sent to the primary");
                else if (canceled)
                    err_set(e, ERR_CANCELED, "canceled while waiting for the outcome of a write "
                            "already sent: it may or may not have committed");
                else
                    err_set(e, ERR_TIMEOUT, "request timeout expired before a quorum acknowledged "
                            "the %s: it may still commit", kind == W_COMMIT ? "commit" : "statement");
                goto fail;
            }
            if (p >= 0 && q.committed && !have_res && kind == W_EXEC) {
                /* Committed, but the primary's RESULT (affected rows,
                 * insert id) never came: ask again with the same id; the
                 * client table answers with the saved result. */
                p = -1;
                continue;
            }
            if (p >= 0 && now >= heard + RC_SILENCE_PROBE_MS) {
                /* The primary said nothing for a while: has the view moved? */
                int oldp = p;
                uint64_t oldgen = pgen;
                if (route_find_primary(c, dl, false, e) < 0)
                    continue; /* the deadline check above reports it */
                probe_view = c->max_view_seen;
                heard = rc_now_ms();
                if (c->primary != oldp || c->links[oldp].gen != oldgen)
                    p = -1;
            }
            continue;
        case NET_DOWN:
            if (p >= 0 && ev.li == (uint32_t)p) {
                c->primary = p = -1;
                if (kind == W_COMMIT && !sent) {
                    err_set(e, ERR_FAILOVER, "transaction rolled back by failover; retry");
                    goto fail;
                }
            }
            continue;
        case NET_UP:
            continue;
        case NET_MSG:
            break;
        }
        {
            struct proto_msg *m = &ev.msg;
            bool from_p = p >= 0 && ev.li == (uint32_t)p && ev.gen == pgen;
            if (from_p)
                heard = rc_now_ms();
            switch (m->type) {
            case MSG_RESULT:
                if (m->u.result.req != req)
                    break;
                if (!(m->u.result.flags & (PROTO_RESULT_PENDING | PROTO_RESULT_SAVED)) ||
                    (ddl && !(m->u.result.flags & PROTO_RESULT_PENDING))) {
                    /* Final: a statement that did not write (a read or
                     * DDL at the primary), a commit without writes. */
                    if (!from_p)
                        break;
                    proto_msg_free(&res);
                    res = *m;
                    memset(m, 0, sizeof *m);
                    res_li = ev.li;
                    res_gen = ev.gen;
                    final_res = true;
                } else if (from_p || !have_res) {
                    proto_msg_free(&res);
                    res = *m;
                    memset(m, 0, sizeof *m);
                    res_li = ev.li;
                    res_gen = ev.gen;
                    have_res = true;
                }
                break;
            case MSG_ERROR:
                if (m->u.error.req != req || !from_p)
                    break;
                if (is_retryable_at_primary(&m->u.error) || !m->u.error.usable) {
                    c->primary = p = -1;
                    not_before = rc_now_ms() + pause;
                    pause = pause * 2 > 200 ? 200 : pause * 2;
                    break;
                }
                route_error_from_msg(e, &m->u.error, &c->links[ev.li]);
                net_event_free(&ev);
                goto fail;
            case MSG_PREPARED:
                if (ddl)
                    break;
                if (from_p && m->u.prepared.req == req)
                    p_acked = true;
                if (m->u.prepared.view % c->n == ev.li)
                    quorum_write_ack(&q, ev.li, m->u.prepared.view, m->u.prepared.op,
                                     m->u.prepared.req);
                break;
            case MSG_ACK:
                if (!ddl)
                    quorum_write_ack(&q, ev.li, m->u.ack.view, m->u.ack.op, m->u.ack.req);
                break;
            case MSG_COMMITTED:
                if (ddl)
                    break;
                if (from_p && m->u.committed.req == req)
                    p_acked = true;
                if (m->u.committed.view % c->n == ev.li)
                    quorum_write_committed(&q, m->u.committed.view, m->u.committed.op,
                                           m->u.committed.req);
                break;
            default:
                break;
            }
            net_event_free(&ev);
            /* A higher view anywhere: the primary may have changed. */
            if (p >= 0 && c->max_view_seen > probe_view && !q.committed) {
                int oldp = p;
                uint64_t oldgen = pgen;
                if (route_find_primary(c, dl, false, e) == 0) {
                    probe_view = c->max_view_seen;
                    if (c->primary != oldp || c->links[oldp].gen != oldgen)
                        p = -1;
                } else {
                    probe_view = c->max_view_seen;
                }
            }
        }
    }
    if (q.committed && q.op > c->seen_op)
        c->seen_op = q.op;
    if (final_res && res.u.result.applied > c->seen_op && res.u.result.status == STATUS_NORMAL)
        c->seen_op = res.u.result.applied;
    memset(out, 0, sizeof *out);
    if (res.type == MSG_RESULT) {
        out->r = res.u.result;
        memset(&res, 0, sizeof res);
        out->li = res_li;
        out->gen = res_gen;
    } else {
        out->local = true;
    }
    return 0;
fail:
    proto_msg_free(&res);
    return -1;
}

/* ---- reads ---- */

/* What a read sends to the chosen replica: the statement as EXEC(READ), or
 * (s == NULL) TXN_BEGIN of a read-only transaction. */
struct read_job {
    const struct recall_stmt *s;
    uint32_t txn_flags;
};

static int read_send(struct recall_conn *c, uint32_t x, const struct read_job *job,
                     uint64_t fence, uint64_t *areq, struct err *e)
{
    if (job->s) {
        *areq = net_req(c);
        return send_stmt(c, x, *areq, PROTO_EXEC_READ, job->s, fence, e);
    }
    /* TXN carries no fence: a fenced no-op read first makes X wait until
     * it has applied `fence`; the snapshot opened after it is then at
     * least that recent (and the RESULT's status proves it). */
    if (fence && send_exec(c, x, net_req(c), PROTO_EXEC_READ, "SELECT 1", 8, NULL, fence, e) < 0)
        return -1;
    *areq = net_req(c);
    return send_txn(c, x, *areq, TXN_BEGIN, job->txn_flags, e);
}

/* Throw away an attempt's answer: close its cursor or its snapshot. */
static void read_discard(struct recall_conn *c, uint32_t x, uint64_t gen,
                         const struct read_job *job, struct proto_msg *res, uint64_t areq)
{
    if (job->s) {
        if (res->type == MSG_RESULT)
            drop_result(c, x, gen, res);
        else
            send_close(c, x, gen, areq); /* the answer is still coming */
    } else {
        proto_msg_free(res);
        send_rollback(c, x, gen);
    }
    memset(res, 0, sizeof *res);
}

/* A replica to read at: READY, not in avoid[], preferably known to be in
 * normal status with applied >= want; rotating to spread the load. */
static int pick_reader(struct recall_conn *c, uint64_t want, const bool *avoid)
{
    int fallback = -1, last = -1;
    for (uint32_t k = 0; k < c->n; k++) {
        uint32_t i = (c->rr + k) % c->n;
        const struct link *l = &c->links[i];
        if (!net_ready(c, i) || avoid[i])
            continue;
        if (l->st_valid && l->status == STATUS_NORMAL && l->applied >= want) {
            c->rr = i + 1;
            return (int)i;
        }
        if (fallback < 0 && (!l->st_valid || l->status == STATUS_NORMAL))
            fallback = (int)i;
        if (last < 0)
            last = (int)i;
    }
    c->rr++;
    return fallback >= 0 ? fallback : last;
}

static uint64_t best_known_commit(const struct recall_conn *c)
{
    uint64_t m = 0;
    for (uint32_t i = 0; i < c->n; i++)
        if (c->links[i].st_valid && c->links[i].commit > m)
            m = c->links[i].commit;
    return m;
}

static void deliver(struct recall_conn *c, struct proto_msg *res, uint32_t li, uint64_t gen,
                    struct route_result *out)
{
    memset(out, 0, sizeof *out);
    out->r = res->u.result;
    memset(res, 0, sizeof *res);
    out->li = li;
    out->gen = gen;
    if (out->r.applied > c->seen_op)
        c->seen_op = out->r.applied;
}

/* A read at the primary confirmed by a ReadIndex round: the fallback of
 * linearizable reads.  Reads are idempotent, so a new request id per try
 * is fine. */
static int read_at_primary(struct recall_conn *c, const struct recall_stmt *s, uint64_t deadline,
                           struct route_result *out, struct err *e)
{
    unsigned pause = 10;
    for (;;) {
        struct proto_msg res;
        uint64_t req, gen;
        int p;

        if (c->primary < 0 || !net_ready(c, (uint32_t)c->primary))
            if (route_find_primary(c, deadline, true, e) < 0)
                return -1;
        p = c->primary;
        gen = c->links[p].gen;
        req = net_req(c);
        if (send_stmt(c, (uint32_t)p, req, PROTO_EXEC_READ | PROTO_EXEC_READ_INDEX, s, 0, e) < 0) {
            if (e->code == ERR_TOO_BIG)
                return -1;
            c->primary = -1;
            continue;
        }
        if (wait_reply(c, (uint32_t)p, gen, req, deadline, true, &res, e) == 0) {
            if (!(res.u.result.flags & PROTO_RESULT_CONFIRMED)) {
                struct err le;
                err_set(&le, ERR_PROTOCOL, "replica %d (%s): READ_INDEX read answered without "
                        "confirmation", p, c->links[p].name);
                drop_result(c, (uint32_t)p, gen, &res);
                net_link_down(c, (uint32_t)p, &le);
                c->primary = -1;
                continue;
            }
            deliver(c, &res, (uint32_t)p, gen, out);
            return 0;
        }
        if (e->code == ERR_TIMEOUT || e->code == ERR_CANCELED) {
            send_close(c, (uint32_t)p, gen, req);
            return -1;
        }
        if (e->code == ERR_CONN_LOST || e->code == ERR_NOT_PRIMARY || e->code == ERR_NOT_READY ||
            e->code == ERR_FAILOVER) {
            c->primary = -1;
            if (pause_for(c, pause, deadline, true, e) < 0)
                return -1;
            pause = pause * 2 > 200 ? 200 : pause * 2;
            continue;
        }
        return -1;
    }
}

struct rstat {
    bool have, gone;
    uint64_t view;
    uint8_t status;
    uint64_t op, commit, applied;
};

static enum quorum_verdict read_decide(const struct recall_conn *c, const struct rstat *st,
                                       uint32_t x, const struct rstat *xst, uint64_t *fence)
{
    struct quorum_read q;
    quorum_read_init(&q, c->n, x);
    for (uint32_t i = 0; i < c->n; i++) {
        const struct rstat *r = i == x ? xst : &st[i];
        if (r->have)
            quorum_read_status(&q, i, r->view, r->status, r->op, r->commit, r->applied);
        else if (r->gone)
            quorum_read_unreachable(&q, i);
    }
    return quorum_read_decide(&q, fence);
}

static void probe_all(struct recall_conn *c, uint64_t preq, struct rstat *st)
{
    for (uint32_t i = 0; i < c->n; i++) {
        if (net_ready(c, i) && send_probe(c, i, preq) == 0)
            st[i].gone = false;
        else
            st[i].gone = c->links[i].state == LINK_DOWN;
    }
}

/* Linearizable read (or read-only transaction begin). */
static int read_linear(struct recall_conn *c, const struct read_job *job, uint64_t deadline,
                       struct route_result *out, struct err *e)
{
    struct rstat st[ADDR_MAX_REPLICAS], xst;
    bool bad[ADDR_MAX_REPLICAS];
    struct proto_msg res = {0};
    struct err xerr;
    uint64_t preq = net_req(c), areq = 0, ereq = 0, hreq = 0, xgen = 0;
    uint64_t fence = c->seen_op, afence = 0, want = best_known_commit(c), M = 0;
    unsigned tries = 0, pause = 10;
    bool err_pending = false, x_heard = false, x_seen = false, x_stalled = false;
    uint64_t x_seen_applied = 0;
    int x = -1;
    uint64_t hedge_at = 0;
    struct net_event ev;

    memset(st, 0, sizeof st);
    memset(bad, 0, sizeof bad);
    if (wait_any_ready(c, deadline, true, e) < 0)
        return -1;
    probe_all(c, preq, st);

new_attempt:
    memset(&xst, 0, sizeof xst);
    err_pending = false;
    x = pick_reader(c, want, bad);
    if (x < 0) {
        if (net_ready_count(c) > 0 && job->s)
            return read_at_primary(c, job->s, deadline, out, e);
        /* Nobody to ask now: wait a little, forget who failed, retry. */
        if (pause_for(c, pause, deadline, true, e) < 0)
            return -1;
        pause = pause * 2 > 500 ? 500 : pause * 2;
        memset(bad, 0, sizeof bad);
        probe_all(c, preq, st);
        goto new_attempt;
    }
    xgen = c->links[x].gen;
    afence = fence;
    if (read_send(c, (uint32_t)x, job, afence, &areq, e) < 0) {
        if (e->code == ERR_TOO_BIG)
            return -1;
        bad[x] = true;
        goto new_attempt;
    }
    /* X must show signs of life every RC_READ_HEDGE_MS until it answers:
     * a replica running a slow query still answers status probes, one cut
     * off from us (even after it answered the first probe) does not */
    hedge_at = rc_now_ms() + RC_READ_HEDGE_MS;
    x_heard = x_seen = x_stalled = false;

    for (;;) {
        if (res.type == MSG_RESULT || (err_pending && xst.have)) {
            switch (read_decide(c, st, (uint32_t)x, &xst, &M)) {
            case QUORUM_OK:
                if (res.type == MSG_RESULT) {
                    deliver(c, &res, (uint32_t)x, xgen, out);
                    return 0;
                }
                err_copy(e, &xerr);
                return -1;
            case QUORUM_FENCE:
                read_discard(c, (uint32_t)x, xgen, job, &res, areq);
                if (++tries >= RC_READ_TRIES && job->s)
                    return read_at_primary(c, job->s, deadline, out, e);
                if (tries >= RC_READ_TRIES) {
                    /* A read-only transaction has no ReadIndex fallback:
                     * keep trying, but not in a tight loop. */
                    if (pause_for(c, pause, deadline, true, e) < 0)
                        return -1;
                    pause = pause * 2 > 500 ? 500 : pause * 2;
                }
                if (M > fence)
                    fence = M;
                want = fence;
                goto new_attempt;
            case QUORUM_NO_QUORUM: {
                /* Everyone answered and no majority agrees.  With fewer
                 * than a majority in normal status at all (recovering,
                 * diverged, in state transfer), waiting will not help:
                 * read at the primary.  Otherwise a view change is under
                 * way: ask again after a pause. */
                uint32_t normal = 0;
                for (uint32_t i = 0; i < c->n; i++) {
                    const struct rstat *r = i == (uint32_t)x ? &xst : &st[i];
                    normal += r->have && r->status == STATUS_NORMAL;
                }
                read_discard(c, (uint32_t)x, xgen, job, &res, areq);
                if ((++tries >= RC_READ_TRIES || normal < majority(c)) && job->s)
                    return read_at_primary(c, job->s, deadline, out, e);
                if (pause_for(c, pause, deadline, true, e) < 0)
                    return -1;
                pause = pause * 2 > 500 ? 500 : pause * 2;
                memset(st, 0, sizeof st);
                preq = net_req(c);
                probe_all(c, preq, st);
                goto new_attempt;
            }
            case QUORUM_WAIT:
                break;
            }
        }
        /* A replica that answers neither the read nor a status probe
         * within RC_READ_HEDGE_MS is cut off from us (while the others
         * answer): ask another.  One that answers probes is running a slow
         * query: probe it again and wait. */
        bool hedge = res.type != MSG_RESULT && !err_pending;
        net_next(c, hedge ? min64(deadline, hedge_at) : deadline, true, &ev);
        if (ev.kind == NET_TIMEOUT && hedge && rc_now_ms() < deadline) {
            if (!x_heard || x_stalled) {
                read_discard(c, (uint32_t)x, xgen, job, &res, areq);
                bad[x] = true;
                st[x].gone = true;
                goto new_attempt;
            }
            x_heard = false;
            hreq = net_req(c);
            hedge_at = rc_now_ms() + RC_READ_HEDGE_MS;
            if (send_probe(c, (uint32_t)x, hreq) < 0) {
                read_discard(c, (uint32_t)x, xgen, job, &res, areq);
                bad[x] = true;
                goto new_attempt;
            }
            continue;
        }
        switch (ev.kind) {
        case NET_TIMEOUT:
        case NET_CANCELED: {
            bool x_silent = res.type != MSG_RESULT && !err_pending;
            read_discard(c, (uint32_t)x, xgen, job, &res, areq);
            if (ev.kind == NET_CANCELED)
                return err_set(e, ERR_CANCELED, "canceled");
            if (x_silent)
                drop_silent(c, (uint32_t)x, xgen);
            return err_set(e, ERR_TIMEOUT, "request timeout expired before a majority of replicas "
                           "confirmed the read");
        }
        case NET_UP:
            if (send_probe(c, ev.li, preq) == 0)
                st[ev.li].gone = false;
            continue;
        case NET_DOWN:
            if (ev.li == (uint32_t)x) {
                proto_msg_free(&res);
                bad[x] = true;
                st[x].gone = true;
                goto new_attempt;
            }
            if (!st[ev.li].have)
                st[ev.li].gone = true;
            continue;
        case NET_MSG:
            break;
        }
        {
            struct proto_msg *m = &ev.msg;
            bool from_x = ev.li == (uint32_t)x && ev.gen == xgen;
            if (from_x && m->type == MSG_STATUS) {
                /* alive; but one behind the fence it was sent and not
                 * moving (its database is gone, say) will not answer
                 * either: after two such replies, ask another */
                uint64_t xa = m->u.status.applied;
                x_heard = true;
                x_stalled = afence && xa < afence && x_seen && xa <= x_seen_applied;
                x_seen = afence && xa < afence;
                x_seen_applied = xa;
            }
            if (m->type == MSG_STATUS && m->u.status.req == preq) {
                /* X's own probe reply only counts once X is no longer X
                 * (read_decide takes X's status from xst). */
                struct proto_status *s = &m->u.status;
                st[ev.li] = (struct rstat){true, false, s->view, s->status, s->op, s->commit,
                                           s->applied};
            } else if (from_x && m->type == MSG_STATUS && m->u.status.req == ereq && err_pending) {
                /* X failed the statement; the failure stands for a snapshot
                 * at least as recent as the fence it ran under. */
                struct proto_status *s = &m->u.status;
                xst = (struct rstat){true, false, s->view, s->status, s->op, s->commit, afence};
            } else if (from_x && m->type == MSG_RESULT && m->u.result.req == areq) {
                struct proto_result *r = &m->u.result;
                /* X's log end only bounds the writes acknowledged before
                 * the read began: its probe reply, sent after that and
                 * earlier than this result, bounds them too, more tightly.
                 * (A busy primary's log end always runs ahead of what it
                 * has applied: fenced retries would chase it.) */
                uint64_t xl = r->op;
                if (st[x].have && st[x].view == r->view && st[x].op < xl)
                    xl = st[x].op;
                xst = (struct rstat){true, false, r->view, r->status, xl, r->commit, r->applied};
                res = *m;
                memset(m, 0, sizeof *m);
            } else if (from_x && m->type == MSG_ERROR && m->u.error.req == areq) {
                if (is_retryable_at_primary(&m->u.error) || !m->u.error.usable) {
                    net_event_free(&ev);
                    bad[x] = true;
                    if (++tries >= RC_READ_TRIES + 2 && job->s)
                        return read_at_primary(c, job->s, deadline, out, e);
                    goto new_attempt;
                }
                route_error_from_msg(&xerr, &m->u.error, &c->links[x]);
                err_pending = true;
                ereq = net_req(c);
                if (send_probe(c, (uint32_t)x, ereq) < 0) {
                    net_event_free(&ev);
                    bad[x] = true;
                    goto new_attempt;
                }
            }
            net_event_free(&ev);
        }
    }
}

/* Session and any reads: one replica with applied >= fence. */
static int read_simple(struct recall_conn *c, const struct read_job *job, uint64_t fence,
                       uint64_t deadline, struct route_result *out, struct err *e)
{
    bool bad[ADDR_MAX_REPLICAS];
    unsigned pause = 10;

    memset(bad, 0, sizeof bad);
    for (;;) {
        struct proto_msg res;
        uint64_t areq, gen;
        int x;

        if (wait_any_ready(c, deadline, true, e) < 0)
            return -1;
        x = pick_reader(c, fence, bad);
        if (x < 0) {
            if (pause_for(c, pause, deadline, true, e) < 0) {
                if (e->code == ERR_TIMEOUT)
                    err_set(e, ERR_TIMEOUT, "request timeout expired: no replica had applied "
                            "op %llu", (unsigned long long)fence);
                return -1;
            }
            pause = pause * 2 > 500 ? 500 : pause * 2;
            memset(bad, 0, sizeof bad);
            continue;
        }
        gen = c->links[x].gen;
        if (read_send(c, (uint32_t)x, job, fence, &areq, e) < 0) {
            if (e->code == ERR_TOO_BIG)
                return -1;
            bad[x] = true;
            continue;
        }
        if (wait_reply(c, (uint32_t)x, gen, areq, deadline, true, &res, e) == 0) {
            if (res.u.result.applied < fence || res.u.result.status != STATUS_NORMAL) {
                read_discard(c, (uint32_t)x, gen, job, &res, areq);
                bad[x] = true;
                continue;
            }
            deliver(c, &res, (uint32_t)x, gen, out);
            return 0;
        }
        if (e->code == ERR_TIMEOUT || e->code == ERR_CANCELED) {
            memset(&res, 0, sizeof res);
            read_discard(c, (uint32_t)x, gen, job, &res, areq);
            if (e->code == ERR_TIMEOUT)
                drop_silent(c, (uint32_t)x, gen);
            return -1;
        }
        if (e->code == ERR_CONN_LOST || e->code == ERR_NOT_READY || e->code == ERR_NOT_PRIMARY) {
            bad[x] = true;
            continue;
        }
        if (!job->s)
            send_rollback(c, (uint32_t)x, gen);
        return -1;
    }
}

static int read_auto(struct recall_conn *c, const struct read_job *job, uint64_t deadline,
                     struct route_result *out, struct err *e)
{
    switch (c->consistency) {
    case RECALL_SESSION:
        return read_simple(c, job, c->seen_op, deadline, out, e);
    case RECALL_ANY:
        return read_simple(c, job, 0, deadline, out, e);
    case RECALL_LINEARIZABLE:
    default:
        return read_linear(c, job, deadline, out, e);
    }
}

/* ---- transactions ---- */

static uint32_t iso_flags(enum recall_isolation iso)
{
    switch (iso) {
    case RECALL_ISO_REPEATABLE_READ: return PROTO_TXN_ISO_REPEATABLE_READ;
    case RECALL_ISO_SERIALIZABLE: return PROTO_TXN_ISO_SERIALIZABLE;
    default: return 0;
    }
}

static void txn_close(struct recall_conn *c)
{
    memset(&c->txn, 0, sizeof c->txn);
}

static bool txn_link_alive(const struct recall_conn *c)
{
    return net_ready(c, c->txn.li) && c->links[c->txn.li].gen == c->txn.gen;
}

static int txn_failover(struct recall_conn *c, struct err *e)
{
    txn_close(c);
    return err_set(e, ERR_FAILOVER, "transaction rolled back by failover; retry (the connection "
                   "to the replica holding it was lost)");
}

/* Defaults for the next transaction (SET TRANSACTION without SESSION
 * applies to one transaction only). */
static void txn_defaults(struct recall_conn *c, bool *ro, enum recall_isolation *iso)
{
    *ro = c->next_read_only_set ? c->next_read_only : c->sess_read_only;
    *iso = c->next_iso_set ? c->next_iso : c->sess_iso;
}

static void txn_start(struct recall_conn *c, bool explicit_, bool ro, enum recall_isolation iso)
{
    txn_close(c);
    c->txn.st = TXN_BEGUN;
    c->txn.explicit_ = explicit_;
    c->txn.read_only = ro;
    c->txn.iso = iso;
    c->next_read_only_set = c->next_iso_set = false;
}

static int ro_begin(struct recall_conn *c, uint64_t deadline, struct err *e)
{
    struct read_job job = {NULL, PROTO_TXN_READ_ONLY | iso_flags(c->txn.iso)};
    struct route_result rr;
    if (read_auto(c, &job, deadline, &rr, e) < 0)
        return -1;
    c->txn.st = TXN_RO;
    c->txn.li = rr.li;
    c->txn.gen = rr.gen;
    c->txn.view = rr.r.view;
    route_result_free(&rr.r);
    return 0;
}

/* The first statement of a read-write transaction opens it at the primary. */
static int rw_first(struct recall_conn *c, const struct recall_stmt *s, uint64_t deadline,
                    struct route_result *out, struct err *e)
{
    unsigned pause = 10;
    for (;;) {
        struct proto_msg res;
        uint64_t req, gen;
        int p;
        bool begin_only = c->txn.iso != RECALL_ISO_DEFAULT;

        if (c->primary < 0 || !net_ready(c, (uint32_t)c->primary))
            if (route_find_primary(c, deadline, true, e) < 0)
                return -1;
        p = c->primary;
        gen = c->links[p].gen;
        req = net_req(c);
        if (begin_only) {
            if (send_txn(c, (uint32_t)p, req, TXN_BEGIN, iso_flags(c->txn.iso), e) < 0) {
                c->primary = -1;
                continue;
            }
        } else if (send_stmt(c, (uint32_t)p, req, 0, s, 0, e) < 0) {
            if (e->code == ERR_TOO_BIG)
                return -1;
            c->primary = -1;
            continue;
        }
        if (wait_reply(c, (uint32_t)p, gen, req, deadline, true, &res, e) == 0) {
            c->txn.st = TXN_RW;
            c->txn.li = (uint32_t)p;
            c->txn.gen = gen;
            c->txn.view = res.u.result.view;
            if (begin_only) {
                proto_msg_free(&res);
                return 1; /* open: the statement itself follows with CONTINUE */
            }
            deliver(c, &res, (uint32_t)p, gen, out);
            return 0;
        }
        if (e->code == ERR_CONN_LOST || e->code == ERR_NOT_PRIMARY || e->code == ERR_NOT_READY) {
            /* Nothing is open anywhere (a lost session rolls back): retry. */
            c->primary = -1;
            if (pause_for(c, pause, deadline, true, e) < 0)
                return -1;
            pause = pause * 2 > 200 ? 200 : pause * 2;
            continue;
        }
        /* The statement failed (or was abandoned): whatever it opened at
         * the primary is rolled back, and the next statement starts over. */
        send_rollback(c, (uint32_t)p, gen);
        return -1;
    }
}

static int exec_in_txn(struct recall_conn *c, const struct recall_stmt *s, uint64_t deadline,
                       struct route_result *out, struct err *e)
{
    struct txn *t = &c->txn;
    struct proto_msg res;
    uint32_t flags;
    uint64_t req;

    if (t->st == TXN_NONE) {
        bool ro;
        enum recall_isolation iso;
        txn_defaults(c, &ro, &iso);
        txn_start(c, false, ro, iso);
    }
    if (t->st == TXN_BEGUN) {
        if (t->read_only) {
            if (ro_begin(c, deadline, e) < 0)
                return -1;
        } else {
            int rc = rw_first(c, s, deadline, out, e);
            if (rc <= 0)
                return rc;
        }
    }
    if (!txn_link_alive(c))
        return txn_failover(c, e);
    flags = PROTO_EXEC_CONTINUE | (t->st == TXN_RO ? PROTO_EXEC_READ : 0);
    req = net_req(c);
    if (send_stmt(c, t->li, req, flags, s, 0, e) < 0) {
        if (e->code == ERR_TOO_BIG)
            return -1;
        return txn_failover(c, e);
    }
    /* a read-only transaction lives at a backup that may be cut off from
     * us: fail it over quickly rather than wait for the deadline */
    int wrc = wait_reply_core(c, t->li, t->gen, req, deadline, true,
                              t->st == TXN_RO ? RC_READ_HEDGE_MS : 0, &res, e);
    if (wrc == 0) {
        deliver(c, &res, t->li, t->gen, out);
        return 0;
    }
    if (wrc == WAIT_SERVER_ERROR) {
        /* the statement's own outcome: the transaction stays open, as in
         * MySQL, unless the replica says it rolled it back (a lock-wait
         * timeout reported by the database is such an outcome, not ours) */
        if (e->code == ERR_FAILOVER || e->code == ERR_DEADLOCK)
            txn_close(c);
        return -1;
    }
    switch (e->code) {
    case ERR_FAILOVER:
    case ERR_DEADLOCK:
        txn_close(c); /* the replica rolled it back */
        break;
    case ERR_CONN_LOST:
        return txn_failover(c, e);
    case ERR_TIMEOUT:
    case ERR_CANCELED:
        /* The statement may still be running in the transaction: roll the
         * whole transaction back so that nothing half-known can commit. */
        send_rollback(c, t->li, t->gen);
        txn_close(c);
        err_wrap(e, "the transaction was rolled back");
        break;
    default:
        break; /* an SQL error: the transaction stays open, as in MySQL */
    }
    return -1;
}

int route_begin(struct recall_conn *c, bool read_only, enum recall_isolation iso, bool from_sql,
                struct err *e)
{
    if (c->txn.st == TXN_RW || c->txn.st == TXN_RO || (c->txn.st == TXN_BEGUN && c->txn.explicit_)) {
        if (!from_sql)
            return err_set(e, ERR_STATE, "a transaction is already open");
        /* BEGIN inside a transaction commits it first, as MySQL does. */
        if (route_commit(c, e) < 0)
            return -1;
    }
    txn_start(c, true, read_only, iso);
    return 0;
}

int route_commit(struct recall_conn *c, struct err *e)
{
    struct txn t = c->txn;
    uint64_t deadline = conn_request_deadline(c);
    struct route_result rr;
    struct proto_msg res;
    uint64_t req;
    int rc = 0;

    switch (t.st) {
    case TXN_NONE:
    case TXN_BEGUN:
        break;
    case TXN_RO:
        if (!txn_link_alive(c))
            break; /* a read-only snapshot has nothing to lose */
        req = net_req(c);
        if (send_txn(c, t.li, req, TXN_COMMIT, PROTO_TXN_CONTINUE, e) < 0)
            break;
        if (wait_reply(c, t.li, t.gen, req, deadline, false, &res, e) == 0)
            proto_msg_free(&res);
        else if (e->code == ERR_CONN_LOST || e->code == ERR_FAILOVER)
            err_clear(e);
        else
            rc = -1;
        break;
    case TXN_RW:
        if (!txn_link_alive(c)) {
            rc = txn_failover(c, e);
            break;
        }
        rc = do_write(c, NULL, W_COMMIT, 0, (int)t.li, t.gen, deadline, &rr, e);
        if (rc == 0)
            route_result_free(&rr.r);
        break;
    }
    txn_close(c);
    return rc;
}

int route_rollback(struct recall_conn *c, struct err *e)
{
    struct txn t = c->txn;
    struct proto_msg res;
    uint64_t req;
    int rc = 0;

    if ((t.st == TXN_RW || t.st == TXN_RO) && txn_link_alive(c)) {
        req = net_req(c);
        if (send_txn(c, t.li, req, TXN_ROLLBACK, PROTO_TXN_CONTINUE, e) == 0) {
            if (wait_reply(c, t.li, t.gen, req, conn_request_deadline(c), false, &res, e) == 0)
                proto_msg_free(&res);
            else if (e->code == ERR_CONN_LOST || e->code == ERR_FAILOVER)
                err_clear(e); /* rolled back anyway */
            else
                rc = -1;
        } else {
            err_clear(e);
        }
    }
    txn_close(c);
    return rc;
}

int route_set_autocommit(struct recall_conn *c, bool on, struct err *e)
{
    /* Switching autocommit on commits what is open (MySQL, ODBC); setting
     * it to the value it has changes nothing. */
    if (on && !c->autocommit && c->txn.st != TXN_NONE && route_commit(c, e) < 0)
        return -1;
    c->autocommit = on;
    return 0;
}

int route_begin_api(struct recall_conn *c, struct err *e)
{
    bool ro;
    enum recall_isolation iso;
    txn_defaults(c, &ro, &iso);
    return route_begin(c, ro, iso, false, e);
}

/* ---- session statements ---- */

static int sess_append(struct recall_conn *c, const struct recall_stmt *s, struct err *e)
{
    struct session_stmt *ss;
    if (c->nsess == c->sess_cap) {
        size_t ncap = c->sess_cap ? c->sess_cap * 2 : 4;
        struct session_stmt *v = realloc(c->sess, ncap * sizeof *v);
        if (!v)
            return err_set(e, ERR_NOMEM, "out of memory remembering a session statement");
        c->sess = v;
        c->sess_cap = ncap;
    }
    ss = &c->sess[c->nsess];
    memset(ss, 0, sizeof *ss);
    if (!(ss->sql = malloc(s->len + 1)))
        return err_set(e, ERR_NOMEM, "out of memory remembering a session statement");
    memcpy(ss->sql, s->sql, s->len);
    ss->sql[s->len] = '\0';
    ss->len = s->len;
    if (s->params.n) {
        if (proto_list_value_resize(&ss->params, s->params.n) < 0)
            goto nomem;
        for (uint32_t i = 0; i < s->params.n; i++)
            if (proto_value_copy(&ss->params.v[i], &s->params.v[i]) < 0)
                goto nomem;
    }
    c->nsess++;
    return 0;
nomem:
    for (uint32_t i = 0; i < ss->params.n; i++)
        proto_value_free(&ss->params.v[i]);
    free(ss->params.v);
    free(ss->sql);
    return err_set(e, ERR_NOMEM, "out of memory remembering a session statement");
}

void route_sess_free(struct session_stmt *ss)
{
    for (uint32_t i = 0; i < ss->params.n; i++)
        proto_value_free(&ss->params.v[i]);
    free(ss->params.v);
    free(ss->sql);
    memset(ss, 0, sizeof *ss);
}

static int exec_session(struct recall_conn *c, const struct recall_stmt *s, uint64_t deadline,
                        struct route_result *out, struct err *e)
{
    uint64_t reqs[ADDR_MAX_REPLICAS] = {0}, gens[ADDR_MAX_REPLICAS] = {0};
    bool failed[ADDR_MAX_REPLICAS] = {0};
    struct err first_err, prim_err;
    struct proto_msg best = {0};
    uint32_t best_li = 0, pending = 0, nok = 0, nerr = 0;
    uint64_t best_gen = 0;
    struct net_event ev;
    size_t idx;

    if (wait_any_ready(c, deadline, true, e) < 0)
        return -1;
    if (sess_append(c, s, e) < 0)
        return -1;
    idx = c->nsess - 1;
    err_clear(&first_err);
    err_clear(&prim_err);
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->links[i].state == LINK_SYNC) {
            net_sync_append(c, i, &c->sess[idx]);
            continue;
        }
        if (!net_ready(c, i))
            continue;
        reqs[i] = net_req(c);
        gens[i] = c->links[i].gen;
        if (send_stmt(c, i, reqs[i], PROTO_EXEC_SESSION, s, 0, e) < 0) {
            if (e->code == ERR_TOO_BIG)
                goto fail_all;
            reqs[i] = 0;
            continue;
        }
        pending++;
    }
    /* Every replica must end up with the same session: one that has not
     * answered when the call is canceled or times out is disconnected (its
     * session, with or without the statement, is discarded, and the
     * reconnect replays the list). */
    while (pending > 0) {
        net_next(c, deadline, true, &ev);
        if (ev.kind == NET_TIMEOUT || ev.kind == NET_CANCELED) {
            struct err le;
            err_set(&le, ERR_TIMEOUT, "no answer to a session statement; reconnecting to "
                    "resynchronize the session");
            for (uint32_t i = 0; i < c->n; i++)
                if (reqs[i] && net_ready(c, i) && c->links[i].gen == gens[i])
                    net_link_down(c, i, &le);
            if (nok == 0) {
                if (ev.kind == NET_CANCELED)
                    err_set(&first_err, ERR_CANCELED, "canceled");
                else if (first_err.code == ERR_OK)
                    err_set(&first_err, ERR_TIMEOUT, "request timeout expired before any replica "
                            "answered the session statement");
            }
            break;
        }
        if (ev.kind == NET_DOWN && reqs[ev.li] && ev.gen == gens[ev.li]) {
            reqs[ev.li] = 0;
            pending--;
        } else if (ev.kind == NET_MSG && reqs[ev.li] && ev.gen == gens[ev.li]) {
            struct proto_msg *m = &ev.msg;
            uint32_t li = ev.li;
            if (m->type == MSG_RESULT && m->u.result.req == reqs[li]) {
                reqs[li] = 0;
                pending--;
                nok++;
                if (best.type != MSG_RESULT || (int)li == c->primary) {
                    drop_result(c, best_li, best_gen, &best);
                    best = *m;
                    memset(m, 0, sizeof *m);
                    best_li = li;
                    best_gen = gens[li];
                }
            } else if (m->type == MSG_ERROR && m->u.error.req == reqs[li]) {
                reqs[li] = 0;
                pending--;
                nerr++;
                failed[li] = true;
                if (first_err.code == ERR_OK)
                    route_error_from_msg(&first_err, &m->u.error, &c->links[li]);
                if ((int)li == c->primary)
                    route_error_from_msg(&prim_err, &m->u.error, &c->links[li]);
            }
        }
        net_event_free(&ev);
    }
    if (nok > 0) {
        /* Replicas that refused what others accepted must not keep a
         * different session: reconnecting replays the statement there. */
        for (uint32_t i = 0; i < c->n; i++)
            if (failed[i]) {
                struct err le;
                err_set(&le, ERR_PROTOCOL, "replica %u (%s): a session statement failed here "
                        "but succeeded elsewhere; reconnecting to resynchronize", i,
                        c->links[i].name);
                net_link_down(c, i, &le);
            }
        memset(out, 0, sizeof *out);
        out->r = best.u.result;
        out->li = best_li;
        out->gen = best_gen;
        return 0;
    }
    if (prim_err.code != ERR_OK)
        err_copy(e, &prim_err);
    else if (first_err.code != ERR_OK)
        err_copy(e, &first_err);
    else
        unavailable(c, 0, e);
fail_all:
    /* Failed everywhere: forget it (it is still the last one). */
    if (c->nsess == idx + 1) {
        route_sess_free(&c->sess[idx]);
        c->nsess--;
    }
    return -1;
}

/* ---- classification-driven dispatch ---- */

static int map_isolation(enum sql_isolation si, enum recall_isolation *out, struct err *e)
{
    switch (si) {
    case SQL_ISO_NONE: return 0;
    case SQL_ISO_REPEATABLE_READ: *out = RECALL_ISO_REPEATABLE_READ; return 0;
    case SQL_ISO_SERIALIZABLE: *out = RECALL_ISO_SERIALIZABLE; return 0;
    default:
        return err_set(e, ERR_REFUSED, "isolation levels below REPEATABLE READ are not supported: "
                       "replicas re-execute statements and need the locks REPEATABLE READ takes");
    }
}

static int set_transaction(struct recall_conn *c, const struct recall_stmt *s, struct err *e)
{
    enum recall_isolation iso = RECALL_ISO_DEFAULT;
    bool session = s->info.session_scope;
    bool ro_given = s->info.read_only || s->info.read_write;

    if (map_isolation(s->info.isolation, &iso, e) < 0)
        return -1;
    if (c->txn.st == TXN_RW || c->txn.st == TXN_RO)
        return err_set_sql(e, ERR_STATE, "25001", 1568, "transaction characteristics can't be "
                           "changed while a transaction is in progress");
    if (session) {
        if (s->info.isolation != SQL_ISO_NONE)
            c->sess_iso = iso;
        if (ro_given)
            c->sess_read_only = s->info.read_only;
        c->next_iso_set = c->next_read_only_set = false;
    } else {
        if (s->info.isolation != SQL_ISO_NONE) {
            c->next_iso_set = true;
            c->next_iso = iso;
        }
        if (ro_given) {
            c->next_read_only_set = true;
            c->next_read_only = s->info.read_only;
        }
    }
    if (c->txn.st == TXN_BEGUN) {
        txn_defaults(c, &c->txn.read_only, &c->txn.iso);
    }
    return 0;
}

static bool in_txn(const struct recall_conn *c)
{
    return c->txn.st != TXN_NONE || !c->autocommit;
}

int route_exec(struct recall_stmt *s, struct route_result *out, struct err *e)
{
    struct recall_conn *c = s->conn;
    uint64_t deadline = conn_request_deadline(c);
    struct read_job job = {s, 0};

    memset(out, 0, sizeof *out);
    /* What Recall refuses is refused here already, with the same reason
     * the replicas would give. */
    if (s->info.refusal || s->info.kind == SQL_REFUSED)
        return err_set(e, ERR_REFUSED, "%s", s->info.refusal ? s->info.refusal
                                                             : "statement refused by Recall");
    switch (s->info.kind) {
    case SQL_EMPTY:
        return err_set_sql(e, ERR_SQL, "42000", 1065, "query was empty");
    case SQL_BEGIN: {
        bool ro;
        enum recall_isolation iso;
        out->local = true;
        txn_defaults(c, &ro, &iso);
        if (s->info.read_only)
            ro = true;
        else if (s->info.read_write)
            ro = false;
        if (map_isolation(s->info.isolation, &iso, e) < 0)
            return -1;
        return route_begin(c, ro, iso, true, e);
    }
    case SQL_COMMIT:
        out->local = true;
        return route_commit(c, e);
    case SQL_ROLLBACK:
        out->local = true;
        return route_rollback(c, e);
    case SQL_SET_AUTOCOMMIT:
        out->local = true;
        return route_set_autocommit(c, s->info.autocommit != 0, e);
    case SQL_SET_TRANSACTION:
        out->local = true;
        return set_transaction(c, s, e);
    case SQL_SET:
    case SQL_USE:
        return exec_session(c, s, deadline, out, e);
    case SQL_DDL:
        /* DDL commits an open transaction first, as MySQL does. */
        if (c->txn.st != TXN_NONE && route_commit(c, e) < 0)
            return -1;
        return do_write(c, s, W_EXEC, PROTO_EXEC_AUTOCOMMIT, -1, 0, deadline, out, e);
    case SQL_READ:
        if (in_txn(c))
            return exec_in_txn(c, s, deadline, out, e);
        return read_auto(c, &job, deadline, out, e);
    default:
        if (in_txn(c))
            return exec_in_txn(c, s, deadline, out, e);
        return do_write(c, s, W_EXEC, PROTO_EXEC_AUTOCOMMIT, -1, 0, deadline, out, e);
    }
}
