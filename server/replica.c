/* recalld's event loop around the VR core: connections and their HELLO
 * handshake, VR effects (sends, log appends, state-file writes, commits),
 * client requests routed to session threads, and the mail that session,
 * applier and log-sync threads send back.  See replica-internal.h for the
 * threads and what each owns.
 *
 * Happy path of a client write: EXEC -> session thread executes it -> mail
 * SUBMIT -> vr_submit -> APPEND effect: wal_append, the sync thread syncs
 * (group commit) -> mail DURABLE -> vr_durable -> PREPARED to the client
 * (preceded by the statement's RESULT) and PREPAREs to the backups -> their
 * PREPARE_OKs -> COMMIT effect -> the applier has the session commit its
 * backend transaction -> mail APPLIED -> vr_applied.
 *
 * Failure modes: a peer or client sending garbage is disconnected (net.c);
 * a client configured for another replica list or protocol version is
 * refused at HELLO; losing the primary role rolls back every open
 * transaction (sessions answer 40001); a failed log write or state-file
 * write is fatal (the process stops serving rather than risk acknowledging
 * what is not durable).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "backend.h"
#include "frame.h"
#include "hmap.h"
#include "logging.h"
#include "mono.h"
#include "mp.h"
#include "net.h"
#include "replica-loop.h"
#include "state.h"
#include "transfer.h"
#include "vr.h"
#include "wal.h"

/* ---- mail ---- */

struct mail *mail_new(enum mail_type type)
{
    struct mail *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->type = type;
    buf_init(&m->bytes);
    buf_init(&m->held);
    err_clear(&m->e);
    return m;
}

void mail_free(struct mail *m)
{
    if (!m)
        return;
    buf_close(&m->bytes);
    buf_close(&m->held);
    if (m->s)
        session_unref(m->s);
    free(m);
}

struct mail *mail_frame(enum mail_type type, uint64_t conn_id, const struct proto_msg *msg,
                        uint32_t max_frame)
{
    struct mail *m = mail_new(type);
    struct err e;
    if (!m)
        return NULL;
    m->conn_id = conn_id;
    if (frame_encode(msg, &m->bytes, max_frame, &e) < 0) {
        log_error("cannot encode %s: %s", proto_type_name(msg->type), e.msg);
        mail_free(m);
        return NULL;
    }
    return m;
}

int proto_error_from(struct proto_msg *m, uint64_t req, const struct err *e)
{
    memset(m, 0, sizeof *m);
    m->type = MSG_ERROR;
    m->u.error.req = req;
    m->u.error.code = (uint32_t)e->code;
    m->u.error.native = e->native;
    m->u.error.usable = err_usable(e);
    if (proto_str_setz(&m->u.error.sqlstate, e->sqlstate) < 0 ||
        proto_str_setz(&m->u.error.msg, e->msg) < 0) {
        proto_msg_free(m);
        return -1;
    }
    return 0;
}

struct mail *mail_error(uint64_t conn_id, uint64_t req, const struct err *e, uint32_t max_frame)
{
    struct proto_msg m;
    struct mail *ml;
    if (proto_error_from(&m, req, e) < 0)
        return NULL;
    ml = mail_frame(MAIL_SEND, conn_id, &m, max_frame);
    proto_msg_free(&m);
    return ml;
}

void replica_post(struct replica *r, struct mail *m)
{
    bool wake;
    pthread_mutex_lock(&r->mail_mu);
    wake = !r->mail_head;
    if (r->mail_tail)
        r->mail_tail->next = m;
    else
        r->mail_head = m;
    r->mail_tail = m;
    pthread_mutex_unlock(&r->mail_mu);
    if (wake)
        event_active(r->mail_ev, EV_READ, 0);
}

/* ---- shared helpers ---- */

uint64_t shared_next_ts(struct shared *sh)
{
    struct timespec ts;
    uint64_t now, t;
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    pthread_mutex_lock(&sh->mu);
    t = now > sh->last_ts_us ? now : sh->last_ts_us + 1;
    sh->last_ts_us = t;
    pthread_mutex_unlock(&sh->mu);
    return t;
}

uint64_t shared_wait_applied(struct shared *sh, uint64_t op, unsigned timeout_ms)
{
    struct timespec until;
    uint64_t a;
    until = mono_deadline(timeout_ms);
    pthread_mutex_lock(&sh->mu);
    while (sh->applied < op && !sh->stopping)
        if (mono_cond_wait(&sh->applied_cv, &sh->mu, &until) == ETIMEDOUT)
            break;
    a = sh->applied;
    pthread_mutex_unlock(&sh->mu);
    return a;
}

void replica_publish_status(struct replica *r)
{
    struct shared *sh = &r->sh;
    if (!r->vr) {
        pthread_mutex_lock(&sh->mu);
        sh->status = STATUS_TRANSFER;
        sh->is_primary = sh->ready = false;
        pthread_mutex_unlock(&sh->mu);
        return;
    }
    pthread_mutex_lock(&sh->mu);
    sh->view = vr_view(r->vr);
    sh->status = (uint8_t)vr_status(r->vr);
    sh->op = vr_op(r->vr);
    sh->commit = vr_commit(r->vr);
    sh->log_start = vr_log_start(r->vr);
    sh->primary = vr_primary(r->vr);
    sh->is_primary = vr_is_primary(r->vr);
    sh->ready = vr_ready(r->vr) && !r->halted && r->last_kind != BODY_DDL;
    pthread_mutex_unlock(&sh->mu);
    if (r->ap)
        applier_set_primary(r->ap, vr_is_primary(r->vr), vr_op(r->vr));
}

/* ---- sending ---- */

static struct net_conn *client_conn(struct replica *r, const struct proto_id *client)
{
    uint64_t id = (uint64_t)(uintptr_t)hmap_get(&r->clients, hmap_key16(client->b));
    struct net_conn *c = id ? net_find(r->net, id) : NULL;
    struct conn_state *cs = c ? net_get_data(c) : NULL;
    if (!cs || cs->role != CR_CLIENT || memcmp(cs->client.b, client->b, 16) != 0)
        return NULL;
    return c;
}

void replica_send_error(struct net_conn *c, uint64_t req, enum err_code code,
                            const char *fmt, ...)
{
    struct proto_msg m;
    struct err e;
    va_list ap;
    va_start(ap, fmt);
    err_setv(&e, code, fmt, ap);
    va_end(ap);
    if (proto_error_from(&m, req, &e) == 0) {
        net_send(c, &m);
        proto_msg_free(&m);
    }
}

static void send_saved_result(struct replica *r, struct net_conn *c, uint64_t req, uint64_t op,
                              bool exec)
{
    const struct proto_entry *entry = vr_entry(r->vr, op);
    struct proto_msg m;

    if (exec) {
        struct proto_body body;
        struct err e;
        memset(&m, 0, sizeof m);
        m.type = MSG_RESULT;
        m.u.result.req = req;
        m.u.result.flags = PROTO_RESULT_SAVED;
        m.u.result.replica = r->self;
        m.u.result.view = vr_view(r->vr);
        m.u.result.status = (uint8_t)vr_status(r->vr);
        m.u.result.op = vr_op(r->vr);
        m.u.result.commit = vr_commit(r->vr);
        pthread_mutex_lock(&r->sh.mu);
        m.u.result.applied = r->sh.applied;
        pthread_mutex_unlock(&r->sh.mu);
        m.u.result.log_op = op;
        if (entry && proto_body_decode(entry->body.p, entry->body.len, &body, &e) == 0) {
            if (body.stmts.n) {
                m.u.result.affected = body.stmts.v[body.stmts.n - 1].affected;
                m.u.result.insert_id = body.stmts.v[body.stmts.n - 1].result_insert_id;
            }
            proto_body_free(&body);
        }
        net_send(c, &m);
        proto_msg_free(&m);
    }
    memset(&m, 0, sizeof m);
    m.type = MSG_COMMITTED;
    m.u.committed.view = entry ? entry->view : vr_view(r->vr);
    m.u.committed.op = op;
    m.u.committed.req = req;
    net_send(c, &m);
}

/* ---- the log-sync thread (group commit) ---- */

static void *sync_main(void *arg)
{
    struct replica *r = arg;
    uint64_t done = 0, done_gen = 0;
    pthread_mutex_lock(&r->sync_mu);
    for (;;) {
        uint64_t target, gen;
        struct err e;
        struct mail *m;
        while (!r->sync_stop && (r->sync_appended <= done && r->sync_gen == done_gen))
            pthread_cond_wait(&r->sync_cv, &r->sync_mu);
        if (r->sync_stop)
            break;
        target = r->sync_appended;
        gen = r->sync_gen;
        pthread_mutex_unlock(&r->sync_mu);
        if (wal_sync(r->wal, target, &e) < 0) {
            if (e.code == ERR_INVALID) {
                /* truncated meanwhile: look again */
                pthread_mutex_lock(&r->sync_mu);
                done_gen = gen;
                done = 0;
                if (r->sync_gen == gen)
                    done = target; /* nothing valid to wait for at this gen */
                continue;
            }
            m = mail_new(MAIL_FATAL);
            if (m) {
                m->e = e;
                replica_post(r, m);
            }
            pthread_mutex_lock(&r->sync_mu);
            break;
        }
        if ((m = mail_new(MAIL_DURABLE))) {
            m->op = target;
            m->gen = gen;
            replica_post(r, m);
        }
        pthread_mutex_lock(&r->sync_mu);
        done = target;
        done_gen = gen;
    }
    pthread_mutex_unlock(&r->sync_mu);
    return NULL;
}

static void sync_kick(struct replica *r, uint64_t appended)
{
    pthread_mutex_lock(&r->sync_mu);
    r->sync_appended = appended;
    pthread_cond_signal(&r->sync_cv);
    pthread_mutex_unlock(&r->sync_mu);
}

/* ---- failing the open work on role loss ---- */

static void pending_free(struct pending *p)
{
    if (p->s)
        session_unref(p->s);
    buf_close(&p->held);
    free(p);
}

/* Every uncommitted entry above `op` loses its session's transaction: the
 * session rolls back; if the entry commits later it is re-executed. */
static void fail_pending_above(struct replica *r, uint64_t op)
{
    size_t pos = 0;
    uint64_t key;
    void *val;
    uint64_t *drop = NULL;
    size_t ndrop = 0, cap = 0;

    while (hmap_next(&r->pending, &pos, &key, &val)) {
        if (key > op) {
            if (ndrop == cap) {
                uint64_t *v = realloc(drop, (cap = cap ? cap * 2 : 16) * sizeof *v);
                if (!v)
                    break;
                drop = v;
            }
            drop[ndrop++] = key;
        }
    }
    for (size_t i = 0; i < ndrop; i++) {
        struct pending *p = hmap_del(&r->pending, drop[i]);
        if (p->s) {
            struct job *j = job_new(JOB_FAILOVER);
            if (j)
                session_push(p->s, j);
        }
        pending_free(p);
    }
    free(drop);
}

static void failover_all_sessions(struct replica *r)
{
    size_t pos = 0;
    uint64_t key;
    void *val;
    /* every connection: clients with a session get JOB_FAILOVER */
    while (hmap_next(&r->clients, &pos, &key, &val)) {
        struct net_conn *c = net_find(r->net, (uint64_t)(uintptr_t)val);
        struct conn_state *cs = c ? net_get_data(c) : NULL;
        if (cs && cs->s) {
            struct job *j = job_new(JOB_FAILOVER);
            if (j)
                session_push(cs->s, j);
        }
    }
}

static void fail_read_index_all(struct replica *r)
{
    size_t pos = 0;
    uint64_t key;
    void *val;
    while (hmap_next(&r->read_index, &pos, &key, &val)) {
        struct mail *m = val;
        struct net_conn *c = net_find(r->net, m->conn_id);
        if (c)
            replica_send_error(c, m->req, ERR_FAILOVER,
                            "the primary changed before the read could be confirmed; retry");
        mail_free(m);
    }
    hmap_close(&r->read_index);
    hmap_init(&r->read_index);
}

/* ---- submitting entries ---- */

static uint8_t body_kind(const struct proto_bin *body)
{
    struct mp_reader rd;
    uint32_t n;
    uint64_t kind;
    mp_reader_init(&rd, body->p, body->len);
    if (mp_read_array(&rd, &n) < 0 || n < 1 || mp_read_uint(&rd, &kind) < 0 || kind > 255)
        return 0;
    return (uint8_t)kind;
}

/* Try to log a session's entry.  Returns false if it must wait (window
 * full, or a DDL's outcome must come first). */
static bool try_submit(struct replica *r, struct mail *m)
{
    struct job *j;
    struct err e;
    uint64_t op = 0;
    int rc;

    if (r->last_kind == BODY_DDL && vr_is_primary(r->vr))
        return false; /* the DDL's outcome must be the next entry */
    err_clear(&e);
    rc = vr_submit(r->vr, &m->client, m->req, m->bytes.data, (uint32_t)m->bytes.len, &op, &e);
    if (rc < 0 && e.code == ERR_NOT_READY && vr_is_primary(r->vr) && vr_op(r->vr) - vr_commit(r->vr) >= WINDOW_OPS)
        return false;
    j = job_new(JOB_SUBMITTED);
    if (rc < 0) {
        if (e.code == ERR_NOT_PRIMARY || e.code == ERR_NOT_READY)
            err_set(&e, ERR_FAILOVER, "transaction rolled back by failover; retry (%s)", e.msg);
        if (j) {
            j->e = e;
            session_push(m->s, j);
        }
        return true;
    }
    {
        struct session *s = m->s;
        struct pending *p = calloc(1, sizeof *p);
        if (p) {
            p->op = op;
            p->req = m->req;
            p->conn_id = m->conn_id;
            p->s = s;
            m->s = NULL; /* the reference moves to the pending record */
            p->held = m->held;
            buf_init(&m->held);
            if (hmap_put(&r->pending, op, p) < 0) {
                p->s = NULL;
                pending_free(p);
                m->s = s;
            }
        }
        if (j) {
            j->op = op;
            err_clear(&j->e);
            session_push(s, j);
        }
    }
    return true;
}

static void retry_deferred(struct replica *r)
{
    while (r->deferred) {
        struct mail *m = r->deferred;
        if (!try_submit(r, m))
            break;
        r->deferred = m->next;
        if (!r->deferred)
            r->deferred_tail = NULL;
        mail_free(m);
    }
}

static void submit_mail(struct replica *r, struct mail *m)
{
    if (!r->deferred && try_submit(r, m)) {
        mail_free(m);
        return;
    }
    m->next = NULL;
    if (r->deferred_tail)
        r->deferred_tail->next = m;
    else
        r->deferred = m;
    r->deferred_tail = m;
}

static void submit_ddl_outcome(struct replica *r, uint64_t op, const struct err *de)
{
    struct proto_body body;
    struct buf b;
    struct err e;
    uint64_t newop;

    memset(&body, 0, sizeof body);
    body.kind = BODY_DDL_OUTCOME;
    body.ts_us = shared_next_ts(&r->sh);
    body.ref_op = op;
    body.code = (uint32_t)de->code;
    proto_str_setz(&body.sqlstate, de->sqlstate);
    proto_str_setz(&body.msg, de->code == ERR_OK ? "" : de->msg);
    buf_init(&b);
    if (proto_body_encode(&body, &b) < 0) {
        log_error("cannot encode the outcome of DDL %llu", (unsigned long long)op);
    } else {
        r->last_kind = 0; /* let the outcome through */
        if (vr_submit(r->vr, &r->system_client, op, b.data, (uint32_t)b.len, &newop, &e) < 0) {
            const struct proto_entry *last = vr_entry(r->vr, vr_op(r->vr));
            log_error("cannot log the outcome of DDL %llu: %s", (unsigned long long)op, e.msg);
            r->last_kind = last ? body_kind(&last->body) : 0;
        }
    }
    buf_close(&b);
    proto_body_free(&body);
    replica_drain(r);
    retry_deferred(r);
}

/* ---- VR effects ---- */

static void do_persist(struct replica *r, const struct vr_persist *p)
{
    struct replica_state st = {
        .view = p->view, .last_normal = p->last_normal, .commit = p->commit,
        .replica = r->self, .cluster = r->cluster};
    struct err e;
    if (state_save(r->cfg->data_dir, &st, &e) < 0) {
        log_error("FATAL: cannot write the state file: %s", e.msg);
        r->fatal = true;
        r->fatal_err = e;
        event_base_loopexit(r->base, NULL);
    }
}

static void do_append(struct replica *r, uint64_t op)
{
    const struct proto_entry *entry = vr_entry(r->vr, op);
    struct buf b;
    struct err e;
    if (!entry) {
        log_error("append of op %llu which the core does not hold", (unsigned long long)op);
        return;
    }
    buf_init(&b);
    if (proto_entry_encode(entry, &b) < 0 || wal_append(r->wal, op, b.data, (uint32_t)b.len, &e) < 0) {
        if (b.oom)
            err_set(&e, ERR_NOMEM, "out of memory encoding entry %llu", (unsigned long long)op);
        log_error("FATAL: cannot append op %llu to the log: %s", (unsigned long long)op, e.msg);
        r->fatal = true;
        r->fatal_err = e;
        event_base_loopexit(r->base, NULL);
        buf_close(&b);
        return;
    }
    buf_close(&b);
    r->last_kind = body_kind(&entry->body);
    sync_kick(r, op);
}

static void do_truncate(struct replica *r, uint64_t op)
{
    struct err e;
    if (wal_truncate_after(r->wal, op, &e) < 0) {
        log_error("FATAL: cannot truncate the log after op %llu: %s", (unsigned long long)op, e.msg);
        r->fatal = true;
        r->fatal_err = e;
        event_base_loopexit(r->base, NULL);
        return;
    }
    pthread_mutex_lock(&r->sync_mu);
    r->sync_gen++;
    r->sync_appended = op;
    pthread_cond_signal(&r->sync_cv);
    pthread_mutex_unlock(&r->sync_mu);
    fail_pending_above(r, op);
    {
        const struct proto_entry *last = vr_entry(r->vr, op);
        r->last_kind = last ? body_kind(&last->body) : 0;
    }
}

static void do_commit_effect(struct replica *r, uint64_t c)
{
    for (uint64_t op = r->pushed_commit + 1; op <= c; op++) {
        const struct proto_entry *entry = vr_entry(r->vr, op);
        struct pending *p = hmap_del(&r->pending, op);
        if (!entry) {
            log_error("committed op %llu is not in the log", (unsigned long long)op);
            if (p)
                pending_free(p);
            break;
        }
        if (p && p->held.len) {
            /* committed before its PREPARED went out: the RESULT must not be lost */
            struct net_conn *cn = net_find(r->net, p->conn_id);
            if (cn)
                net_send_raw(cn, p->held.data, p->held.len);
            buf_close(&p->held);
        }
        if (applier_push(r->ap, entry, p ? p->s : NULL) < 0) {
            log_error("FATAL: out of memory queueing op %llu", (unsigned long long)op);
            r->fatal = true;
            err_set(&r->fatal_err, ERR_NOMEM, "out of memory");
            event_base_loopexit(r->base, NULL);
            if (p)
                pending_free(p);
            return;
        }
        r->pushed_commit = op;
        if (p)
            pending_free(p);
    }
    /* retries waiting for their entry */
    for (struct saved_wait **pp = &r->saved; *pp;) {
        struct saved_wait *w = *pp;
        if (w->op <= c) {
            struct net_conn *cn = net_find(r->net, w->conn_id);
            if (cn)
                send_saved_result(r, cn, w->req, w->op, w->exec);
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
    retry_deferred(r);
}

static void do_send_client(struct replica *r, struct vr_effect *eff)
{
    struct net_conn *c = client_conn(r, &eff->client);
    if (log_enabled(LOG_LEVEL_TRACE))
        log_trace("%s op %llu req %llu to client %s", proto_type_name(eff->msg.type),
                  (unsigned long long)eff->msg.u.ack.op, (unsigned long long)eff->msg.u.ack.req,
                  c ? net_conn_peer(c) : "(not connected)");
    if (!c)
        return;
    if (eff->msg.type == MSG_PREPARED || eff->msg.type == MSG_COMMITTED) {
        /* the statement's RESULT goes first, whichever comes first */
        struct pending *p = hmap_get(&r->pending, eff->msg.u.prepared.op);
        if (p && p->held.len) {
            net_send_raw(c, p->held.data, p->held.len);
            buf_close(&p->held);
        }
    }
    net_send(c, &eff->msg);
}

static void do_role(struct replica *r)
{
    bool primary = vr_is_primary(r->vr);
    log_info("view %llu, status %s, primary is replica %u%s", (unsigned long long)vr_view(r->vr),
             vr_status(r->vr) == VR_NORMAL ? "normal"
             : vr_status(r->vr) == VR_VIEW_CHANGE ? "view-change" : "recovering",
             vr_primary(r->vr), primary ? " (me)" : "");
    if (!primary) {
        fail_pending_above(r, vr_commit(r->vr));
        failover_all_sessions(r);
        fail_read_index_all(r);
    }
    if (r->rejoining && vr_status(r->vr) == VR_NORMAL) {
        struct err e;
        /* recovery installed a primary's log: it holds every committed
         * entry again, and may vote */
        r->rejoining = false;
        if (!r->halted && !r->donating)
            vr_set_declining(r->vr, false);
        if (admin_marker_write(r, MARK_NONE, &e) < 0)
            log_error("%s", e.msg);
        log_info("rejoined the cluster after the state transfer");
    }
}

void replica_drain(struct replica *r)
{
    struct vr_effect eff;
    if (!r->vr)
        return;
    while (vr_next_effect(r->vr, &eff)) {
        switch (eff.type) {
        case VR_EFF_SEND:
            if (eff.to < r->n && r->links[eff.to]) {
                struct conn_state *cs = net_get_data(r->links[eff.to]);
                if (cs && cs->link_ready)
                    net_send(r->links[eff.to], &eff.msg);
            }
            break;
        case VR_EFF_SEND_CLIENT:
            do_send_client(r, &eff);
            break;
        case VR_EFF_PERSIST:
            do_persist(r, &eff.persist);
            break;
        case VR_EFF_TRUNCATE:
            do_truncate(r, eff.op);
            break;
        case VR_EFF_APPEND:
            do_append(r, eff.op);
            break;
        case VR_EFF_COMMIT:
            do_commit_effect(r, eff.op);
            break;
        case VR_EFF_ROLE:
            do_role(r);
            break;
        case VR_EFF_READ_INDEX: {
            struct mail *m = hmap_del(&r->read_index, eff.token);
            if (m) {
                struct net_conn *c = net_find(r->net, m->conn_id);
                if (c) {
                    if (eff.ok)
                        net_send_raw(c, m->bytes.data, m->bytes.len);
                    else
                        replica_send_error(c, m->req, ERR_FAILOVER,
                                        "could not confirm this replica is still the primary; "
                                        "retry");
                }
                mail_free(m);
            }
            break;
        }
        case VR_EFF_NEED_TRANSFER:
            log_error("the entries from op %llu are gone from every reachable log: this replica "
                      "needs a state transfer", (unsigned long long)eff.op);
            r->transfer_why = "the entries it needs are gone from every peer's log";
            break;
        }
        vr_effect_free(&eff);
        if (r->fatal)
            break;
    }
    replica_publish_status(r);
    if (r->transfer_why) {
        const char *why = r->transfer_why;
        r->transfer_why = NULL;
        admin_start_transfer(r, why);
    }
}

static void schedule_flush(struct replica *r)
{
    if (!r->flush_pending) {
        r->flush_pending = true;
        event_active(r->flush_ev, EV_READ, 0);
    }
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct replica *r = arg;
    (void)fd, (void)what;
    r->flush_pending = false;
    if (!r->vr)
        return;
    vr_flush(r->vr);
    replica_drain(r);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct replica *r = arg;
    (void)fd, (void)what;
    if (!r->vr)
        return;
    vr_tick(r->vr);
    replica_drain(r);
    schedule_flush(r);
    if (r->vr)
        admin_maybe_verify(r);
}

/* ---- log retention ---- */

/* The backend durably holds everything through `durable`: keep what
 * log_retain allows of the log up to it -- at most log_retain_entries
 * entries and at most log_retain_bytes bytes, so a briefly-down replica
 * catches up from the log -- and drop the rest, whole segments at a time. */
static void retain_log(struct replica *r, uint64_t durable)
{
    uint64_t keep = r->cfg->log_retain_entries ? r->cfg->log_retain_entries : UINT64_MAX;
    uint64_t below = durable > keep ? durable - keep + 1 : 0; /* entries below this op may go */
    struct err e;
    if (!r->vr || durable == 0)
        return;
    if (r->cfg->log_retain_bytes) {
        uint64_t by_size = wal_first_op_within(r->wal, durable, r->cfg->log_retain_bytes);
        if (by_size > below)
            below = by_size;
    }
    for (uint32_t i = 0; i < r->n; i++) {
        /* a replica rejoining after a state transfer needs the log from here */
        if (r->hold_op[i] && mono_s() < r->hold_until[i] && r->hold_op[i] < below)
            below = r->hold_op[i];
    }
    if (below <= wal_first_op(r->wal))
        return;
    if (wal_drop_before(r->wal, below, &e) < 0) {
        log_warn("dropping log entries below op %llu: %s", (unsigned long long)below, e.msg);
        return;
    }
    /* the log drops whole segments: forget in memory what is gone on disk */
    if (wal_first_op(r->wal) > vr_log_start(r->vr))
        vr_compact(r->vr, wal_first_op(r->wal));
}

/* ---- mail from the threads ---- */

static void on_auth(struct replica *r, struct mail *m)
{
    struct net_conn *c = net_find(r->net, m->conn_id);
    struct conn_state *cs = c ? net_get_data(c) : NULL;
    struct proto_msg w;

    if (!cs || cs->s != m->s)
        return;
    if (m->e.code != ERR_OK) {
        struct proto_msg em;
        log_info("client %s: authentication failed: %s", net_conn_peer(c), m->e.msg);
        if (proto_error_from(&em, 0, &m->e) == 0) {
            em.u.error.usable = false;
            net_send(c, &em);
            proto_msg_free(&em);
        }
        net_close_after_send(c);
        return;
    }
    {
        uint64_t key = hmap_key16(cs->client.b);
        uint64_t old = (uint64_t)(uintptr_t)hmap_get(&r->clients, key);
        struct net_conn *oc = old && old != net_conn_id(c) ? net_find(r->net, old) : NULL;
        if (oc)
            net_close(oc, true, "replaced by a new connection with the same client id");
        hmap_put(&r->clients, key, (void *)(uintptr_t)net_conn_id(c));
    }
    cs->authed = true;
    memset(&w, 0, sizeof w);
    w.type = MSG_WELCOME;
    w.u.welcome.version = PROTO_VERSION;
    w.u.welcome.replica = r->self;
    w.u.welcome.view = vr_view(r->vr);
    w.u.welcome.status = (uint8_t)vr_status(r->vr);
    proto_str_setz(&w.u.welcome.backend, r->be ? backend_version(r->be) : "unavailable");
    proto_str_setz(&w.u.welcome.server_version, "recalld " PACKAGE_VERSION);
    net_send(c, &w);
    proto_msg_free(&w);
}

static void on_mail(struct replica *r, struct mail *m)
{
    if (!r->vr && (m->type == MAIL_SUBMIT || m->type == MAIL_READ_INDEX ||
                   m->type == MAIL_DURABLE || m->type == MAIL_APPLIED ||
                   m->type == MAIL_DDL_OUTCOME || m->type == MAIL_FLUSHED)) {
        if (m->type == MAIL_SUBMIT && m->s) {
            struct job *j = job_new(JOB_SUBMITTED);
            if (j) {
                err_set(&j->e, ERR_FAILOVER, "transaction rolled back: the replica left service");
                session_push(m->s, j);
            }
        }
        mail_free(m); /* the database phase is down (state transfer) */
        return;
    }
    switch (m->type) {
    case MAIL_SEND: {
        struct net_conn *c = net_find(r->net, m->conn_id);
        if (c) {
            net_send_raw(c, m->bytes.data, m->bytes.len);
            if (m->close)
                net_close_after_send(c);
        }
        break;
    }
    case MAIL_AUTH:
        on_auth(r, m);
        break;
    case MAIL_SUBMIT:
        submit_mail(r, m);
        schedule_flush(r);
        return; /* owned by submit_mail */
    case MAIL_READ_INDEX: {
        uint64_t token = vr_read_index(r->vr);
        if (!token) {
            struct net_conn *c = net_find(r->net, m->conn_id);
            if (c)
                replica_send_error(c, m->req, ERR_NOT_PRIMARY, "replica %u is not the primary",
                                r->self);
            break;
        }
        if (hmap_put(&r->read_index, token, m) < 0)
            break;
        replica_drain(r);
        return; /* owned by the map */
    }
    case MAIL_DURABLE:
        pthread_mutex_lock(&r->sync_mu);
        bool current = m->gen == r->sync_gen;
        pthread_mutex_unlock(&r->sync_mu);
        if (current) {
            vr_durable(r->vr, m->op);
            replica_drain(r);
            schedule_flush(r);
        }
        break;
    case MAIL_APPLIED: {
        uint64_t a;
        pthread_mutex_lock(&r->sh.mu);
        a = r->sh.applied;
        pthread_mutex_unlock(&r->sh.mu);
        vr_applied(r->vr, a);
        replica_drain(r);
        break;
    }
    case MAIL_DDL_OUTCOME:
        submit_ddl_outcome(r, m->op, &m->e);
        schedule_flush(r);
        break;
    case MAIL_FLUSHED:
        retain_log(r, m->op);
        break;
    case MAIL_TRANSFER_DONE:
    case MAIL_DONOR_READY:
    case MAIL_DONOR_RESUMED:
    case MAIL_VERIFY_DONE:
        admin_on_mail(r, m);
        break;
    case MAIL_STEP_DOWN:
        if (r->vr && vr_is_primary(r->vr)) {
            log_error("the database keeps failing (it cannot apply committed entries or does not answer): stepping down so "
                      "another replica leads");
            vr_step_down(r->vr);
            replica_drain(r);
        }
        break;
    case MAIL_FATAL:
        if (m->e.code == ERR_CORRUPT && !r->vr)
            break; /* already out of service */
        if (m->e.code == ERR_CORRUPT) {
            /* apply halted or the database is damaged: never lead; repair
             * by copying a donor (a primary hands over first) */
            r->halted = true;
            if (vr_is_primary(r->vr))
                vr_step_down(r->vr);
            vr_set_declining(r->vr, true);
            replica_drain(r);
            admin_start_transfer(r, m->e.msg);
        } else {
            log_error("FATAL: %s", m->e.msg);
            r->fatal = true;
            r->fatal_err = m->e;
            event_base_loopexit(r->base, NULL);
        }
        break;
    }
    mail_free(m);
}

static void mail_cb(evutil_socket_t fd, short what, void *arg)
{
    struct replica *r = arg;
    struct mail *m;
    (void)fd, (void)what;
    pthread_mutex_lock(&r->mail_mu);
    m = r->mail_head;
    r->mail_head = r->mail_tail = NULL;
    pthread_mutex_unlock(&r->mail_mu);
    while (m) {
        struct mail *next = m->next;
        m->next = NULL;
        on_mail(r, m);
        m = next;
    }
}

/* ---- connections ---- */

static void send_welcome_peer(struct replica *r, struct net_conn *c)
{
    struct proto_msg w;
    memset(&w, 0, sizeof w);
    w.type = MSG_WELCOME;
    w.u.welcome.version = PROTO_VERSION;
    w.u.welcome.replica = r->self;
    w.u.welcome.view = r->vr ? vr_view(r->vr) : 0;
    w.u.welcome.status = r->vr ? (uint8_t)vr_status(r->vr) : STATUS_TRANSFER;
    proto_str_setz(&w.u.welcome.backend, r->be ? backend_version(r->be) : "unavailable");
    proto_str_setz(&w.u.welcome.server_version, "recalld " PACKAGE_VERSION);
    net_send(c, &w);
    proto_msg_free(&w);
}

static void refuse(struct net_conn *c, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(struct net_conn *c, enum err_code code, const char *fmt, ...)
{
    struct proto_msg m;
    struct err e;
    va_list ap;
    va_start(ap, fmt);
    err_setv(&e, code, fmt, ap);
    va_end(ap);
    log_info("refusing %s: %s", net_conn_peer(c), e.msg);
    if (proto_error_from(&m, 0, &e) == 0) {
        m.u.error.usable = false;
        net_send(c, &m);
        proto_msg_free(&m);
    }
    net_close_after_send(c);
}

static void on_hello(struct replica *r, struct net_conn *c, struct proto_hello *h)
{
    struct conn_state *cs;
    char want[ADDR_ID_STR_MAX], got[ADDR_ID_STR_MAX];

    if (h->version != PROTO_VERSION) {
        refuse(c, ERR_REJECTED, "protocol version %u is not supported (this replica speaks %u)",
               h->version, PROTO_VERSION);
        return;
    }
    if (h->cluster != r->cluster) {
        refuse(c, ERR_REJECTED,
               "cluster id mismatch: this replica belongs to cluster %s (replicas = %s), the "
               "connection is configured for cluster %s: the replica lists differ",
               addr_cluster_id_format(r->cluster, want), r->replicas_text,
               addr_cluster_id_format(h->cluster, got));
        return;
    }
    cs = calloc(1, sizeof *cs);
    if (!cs) {
        net_close(c, true, "out of memory");
        return;
    }
    net_set_data(c, cs);
    switch (h->role) {
    case ROLE_PEER:
        if (h->replica >= r->n || h->replica == r->self) {
            cs->role = CR_CTL; /* harmless until closed */
            refuse(c, ERR_REJECTED, "bad replica index %u for a peer", h->replica);
            return;
        }
        cs->role = CR_PEER_IN;
        cs->peer = h->replica;
        send_welcome_peer(r, c);
        /* it just (re)started: answer it without waiting for our backoff */
        net_link_kick(r->links[h->replica]);
        return;
    case ROLE_CTL:
        cs->role = CR_CTL;
        send_welcome_peer(r, c);
        return;
    case ROLE_CLIENT: {
        struct session_params p;
        struct err e;
        cs->role = CR_CLIENT;
        cs->client = h->client;
        if (!r->vr || r->donor_stopped) {
            cs->role = CR_CTL; /* nothing to clean up on close */
            refuse(c, ERR_NOT_READY, "replica %u is not serving: %s", r->self,
                   r->xfer ? "state transfer in progress" : "donating its database");
            return;
        }
        if (r->nclients >= r->cfg->max_clients) {
            refuse(c, ERR_LIMIT, "too many clients (max_clients = %u)", r->cfg->max_clients);
            return;
        }
        memset(&p, 0, sizeof p);
        p.r = r;
        p.ap = r->ap;
        p.be = r->be;
        p.sh = &r->sh;
        p.cfg = r->cfg;
        p.conn_id = net_conn_id(c);
        p.client = h->client;
        p.self = r->self;
        p.user = h->user.len ? strdup(h->user.p) : NULL;
        p.password = h->password.len ? strdup(h->password.p) : NULL;
        p.database = h->database.len ? strdup(h->database.p) : NULL;
        cs->s = session_start(&p, &e);
        free(p.user);
        free(p.password);
        free(p.database);
        if (!cs->s) {
            refuse(c, e.code, "%s", e.msg);
            return;
        }
        r->nclients++;
        return;
    }
    default:
        refuse(c, ERR_REJECTED, "unknown role %u", h->role);
    }
}

static void on_status_probe(struct replica *r, struct net_conn *c, uint64_t req)
{
    struct proto_msg m;
    struct proto_kv *kv;
    char tmp[64];
    uint32_t n = 0;
    uint64_t applied;
    bool primary = r->vr && vr_is_primary(r->vr);

    pthread_mutex_lock(&r->sh.mu);
    applied = r->sh.applied;
    pthread_mutex_unlock(&r->sh.mu);
    memset(&m, 0, sizeof m);
    m.type = MSG_STATUS;
    m.u.status.req = req;
    m.u.status.replica = r->self;
    m.u.status.applied = applied;
    if (r->vr) {
        m.u.status.view = vr_view(r->vr);
        m.u.status.status = r->halted ? STATUS_DIVERGED : (uint8_t)vr_status(r->vr);
        m.u.status.op = vr_op(r->vr);
        m.u.status.commit = vr_commit(r->vr);
        m.u.status.log_start = vr_log_start(r->vr);
        m.u.status.primary = vr_primary(r->vr);
    } else {
        m.u.status.status = STATUS_TRANSFER;
        m.u.status.primary = PROTO_NO_REPLICA;
    }
    if (proto_list_kv_resize(&m.u.status.detail, 14 + r->n) == 0) {
        kv = m.u.status.detail.v;
#define KV_(k, v) (proto_str_setz(&kv[n].key, k), proto_str_setz(&kv[n].val, v), n++)
        KV_("role", primary ? "primary" : r->vr ? "backup" : "transfer");
        KV_("backend", r->be ? backend_version(r->be) : "closed");
        KV_("version", PACKAGE_VERSION);
        snprintf(tmp, sizeof tmp, "%u", r->nclients);
        KV_("clients", tmp);
        snprintf(tmp, sizeof tmp, "%lld", (long long)(mono_s() - r->started));
        KV_("uptime_s", tmp);
        KV_("ready", r->vr && vr_ready(r->vr) ? "yes" : "no");
        if (r->donating)
            KV_("donating", r->donor_stopped ? "final pass (applying paused)" : "bulk copy");
        if (r->rejoining)
            KV_("rejoining", "yes");
        if (r->xfer) {
            struct transfer_progress tp;
            transfer_progress(r->xfer, &tp);
            KV_("transfer_phase", tp.phase);
            snprintf(tmp, sizeof tmp, "%d", tp.donor);
            KV_("transfer_donor", tmp);
            snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)tp.bytes);
            KV_("transfer_bytes", tmp);
            snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)tp.total);
            KV_("transfer_total", tmp);
            snprintf(tmp, sizeof tmp, "%.0f", tp.rate);
            KV_("transfer_rate", tmp);
            snprintf(tmp, sizeof tmp, "%d", tp.eta_s);
            KV_("transfer_eta_s", tmp);
            snprintf(tmp, sizeof tmp, "%u", tp.attempt);
            KV_("transfer_attempt", tmp);
            if (tp.error[0])
                KV_("transfer_error", tp.error);
        }
        if (primary) {
            for (uint32_t i = 0; i < r->n; i++) {
                char key[32];
                if (i == r->self)
                    continue;
                snprintf(key, sizeof key, "peer_op_%u", i);
                snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)vr_peer_op(r->vr, i));
                KV_(key, tmp);
            }
        }
#undef KV_
        m.u.status.detail.n = n;
    }
    net_send(c, &m);
    proto_msg_free(&m);
}

/* A retried write whose entry may already be in the log. Returns true if
 * answered here. */
static bool answer_retry(struct replica *r, struct net_conn *c, const struct conn_state *cs,
                         uint64_t req, bool exec)
{
    uint64_t op = 0, last;
    if (!vr_is_primary(r->vr))
        return false;
    last = vr_client_last(r->vr, &cs->client, &op);
    if (last != req || !op)
        return false;
    if (op <= vr_commit(r->vr)) {
        send_saved_result(r, c, req, op, exec);
    } else {
        struct saved_wait *w = calloc(1, sizeof *w);
        if (!w)
            return false;
        w->conn_id = net_conn_id(c);
        w->req = req;
        w->op = op;
        w->exec = exec;
        w->next = r->saved;
        r->saved = w;
    }
    return true;
}

static void to_session(struct conn_state *cs, struct proto_msg *m)
{
    struct job *j = job_new(JOB_MSG);
    if (!j)
        return;
    j->msg = *m; /* move */
    memset(m, 0, sizeof *m);
    session_push(cs->s, j);
}

static void on_client_msg(struct replica *r, struct net_conn *c, struct conn_state *cs,
                          struct proto_msg *m)
{
    switch (m->type) {
    case MSG_PROBE:
        on_status_probe(r, c, m->u.probe.req);
        return;
    case MSG_EXEC:
        if ((m->u.exec.flags & PROTO_EXEC_RETRY) && (m->u.exec.flags & PROTO_EXEC_AUTOCOMMIT) &&
            answer_retry(r, c, cs, m->u.exec.req, true))
            return;
        to_session(cs, m);
        return;
    case MSG_TXN:
        if (m->u.txn.action == TXN_COMMIT && answer_retry(r, c, cs, m->u.txn.req, false))
            return;
        to_session(cs, m);
        return;
    case MSG_FETCH:
    case MSG_CLOSE:
        to_session(cs, m);
        return;
    default:
        net_close(c, true, "unexpected %s from a client", proto_type_name(m->type));
    }
}

static void msg_cb(struct net_conn *c, struct proto_msg *m, void *arg)
{
    struct replica *r = arg;
    struct conn_state *cs = net_get_data(c);
    struct err e;

    if (!cs) {
        if (m->type != MSG_HELLO) {
            net_close(c, true, "%s before HELLO", proto_type_name(m->type));
            return;
        }
        on_hello(r, c, &m->u.hello);
        return;
    }
    switch (cs->role) {
    case CR_LINK:
        if (m->type == MSG_WELCOME) {
            if (m->u.welcome.replica != cs->peer) {
                log_error("replica at %s says it is replica %u, expected %u: check the replica "
                          "lists", net_conn_peer(c), m->u.welcome.replica, cs->peer);
                net_close(c, false, "wrong replica index");
                return;
            }
            cs->link_ready = true;
            log_info("linked to replica %u (%s)", cs->peer, net_conn_peer(c));
        } else if (m->type == MSG_ERROR) {
            log_error("replica %u (%s) refused us: %s", cs->peer, net_conn_peer(c),
                      m->u.error.msg.p);
            net_close(c, false, "refused");
        } else {
            net_close(c, false, "unexpected %s on an outgoing link", proto_type_name(m->type));
        }
        return;
    case CR_PEER_IN:
        if (m->type == MSG_PROBE) {
            on_status_probe(r, c, m->u.probe.req);
            return;
        }
        if (!r->vr)
            return; /* out of service: neither acknowledge nor vote */
        if (vr_receive(r->vr, cs->peer, m, &e) < 0) {
            net_close(c, true, "protocol error from replica %u: %s", cs->peer, e.msg);
            return;
        }
        replica_drain(r);
        schedule_flush(r);
        return;
    case CR_CTL:
        if (m->type == MSG_PROBE)
            on_status_probe(r, c, m->u.probe.req);
        else if (m->type == MSG_SYNC_REQUEST)
            admin_sync_request(r, c, &m->u.sync_request);
        else if (m->type == MSG_CTL)
            admin_ctl(r, c, &m->u.ctl);
        else
            net_close(c, true, "unexpected %s from a control client", proto_type_name(m->type));
        return;
    case CR_CLIENT:
        if (m->type == MSG_HELLO) {
            net_close(c, true, "second HELLO");
            return;
        }
        on_client_msg(r, c, cs, m);
        return;
    default:
        net_close(c, true, "unexpected message");
    }
}

static void close_cb(struct net_conn *c, void *arg)
{
    struct replica *r = arg;
    struct conn_state *cs = net_get_data(c);
    if (!cs)
        return;
    if (cs->role == CR_LINK) {
        cs->link_ready = false;
        return; /* the link reconnects and keeps its state */
    }
    if (cs->role == CR_CTL && r->donating == net_conn_id(c)) {
        log_info("donor: the recipient disconnected");
        admin_donor_release(r);
    }
    if (cs->role == CR_CLIENT && cs->s) {
        struct job *j = job_new(JOB_QUIT);
        uint64_t key = hmap_key16(cs->client.b);
        if ((uint64_t)(uintptr_t)hmap_get(&r->clients, key) == net_conn_id(c))
            hmap_del(&r->clients, key);
        /* an entry of this session still in the log keeps the session (and
         * its backend transaction) alive until it commits or is dropped: the
         * session handles QUIT only then */
        if (j)
            session_push(cs->s, j);
        session_unref(cs->s);
        cs->s = NULL;
        r->nclients--;
    }
    net_set_data(c, NULL);
    free(cs);
}

static void connected_cb(struct net_conn *c, void *arg)
{
    struct replica *r = arg;
    struct proto_msg h;
    memset(&h, 0, sizeof h);
    h.type = MSG_HELLO;
    h.u.hello.version = PROTO_VERSION;
    h.u.hello.cluster = r->cluster;
    h.u.hello.role = ROLE_PEER;
    h.u.hello.replica = r->self;
    net_send(c, &h);
    /* the peer reads HELLO before anything that follows on this connection
     * (and drops the rest if it refuses us), so the link carries messages
     * from now on; WELCOME only confirms the peer's index */
    struct conn_state *cs = net_get_data(c);
    if (cs)
        cs->link_ready = true;
}

/* ---- bring-up ---- */

/* ---- the database phase: backend, log, core, applier ---- */

/* Load the durable log into the core.  After a state transfer the whole log
 * is dropped: the database's applied op is the new start, and recovery
 * fetches what follows from the primary. */
static int load_log(struct replica *r, uint64_t applied, bool reset, struct err *e)
{
    uint64_t first = wal_first_op(r->wal), last = wal_last_op(r->wal);
    struct buf b;

    r->last_kind = 0;
    if (reset || !last || last < applied) {
        /* an empty log, a copied database, or a log that ends below what
         * the database holds: the log starts after the database.  (A log
         * whose entries are all applied is kept: peers that were down catch
         * up from it.) */
        if ((last || reset) && wal_reset(r->wal, applied + 1, e) < 0)
            return err_wrap(e, "resetting the log after op %llu", (unsigned long long)applied);
        vr_set_log_base(r->vr, applied, 0);
        return 0;
    }
    if (first > applied + 1)
        return err_set(e, ERR_CORRUPT,
                       "the database has applied op %llu but the log starts at op %llu: the "
                       "entries in between are gone; this replica needs a state transfer",
                       (unsigned long long)applied, (unsigned long long)first);
    vr_set_log_base(r->vr, first - 1, 0);
    buf_init(&b);
    for (uint64_t op = first; op <= last; op++) {
        struct proto_entry entry;
        buf_reset(&b);
        if (wal_read(r->wal, op, &b, e) < 0) {
            buf_close(&b);
            return err_wrap(e, "reading the log");
        }
        if (proto_entry_decode(b.data, b.len, &entry, e) < 0) {
            buf_close(&b);
            return err_wrap(e, "log entry %llu", (unsigned long long)op);
        }
        if (vr_load(r->vr, &entry, e) < 0) {
            proto_entry_free(&entry);
            buf_close(&b);
            return err_wrap(e, "loading entry %llu", (unsigned long long)op);
        }
        r->last_kind = body_kind(&entry.body);
        proto_entry_free(&entry);
    }
    buf_close(&b);
    log_info("log holds ops %llu..%llu", (unsigned long long)first, (unsigned long long)last);
    return 0;
}

/* The backend DSN with the recalld.conf settings the backend needs, unless
 * the DSN already sets them.  Returns a malloc'd string or NULL. */
static char *backend_dsn(const struct cfg *cfg)
{
    struct buf b;
    const char *dsn = cfg->backend;
    bool mysql = strncmp(dsn, "mysql://", 8) == 0;
    char sep = strchr(dsn, '?') ? '&' : '?';
    char tmp[64];

    buf_init(&b);
    buf_append(&b, dsn, strlen(dsn));
    if (!strstr(dsn, "client_expiry=")) {
        snprintf(tmp, sizeof tmp, "%cclient_expiry=%u", sep, cfg->client_expiry);
        buf_append(&b, tmp, strlen(tmp));
        sep = '&';
    }
    if (mysql && !strstr(dsn, "read_lock_wait_timeout=")) {
        snprintf(tmp, sizeof tmp, "%cread_lock_wait_timeout=%u", sep, cfg->read_lock_wait_timeout);
        buf_append(&b, tmp, strlen(tmp));
    }
    buf_append(&b, "", 1);
    if (b.oom) {
        buf_close(&b);
        return NULL;
    }
    return (char *)b.data;
}

/* Take the database phase down: clients go, sessions roll back, the
 * applier stops, the core is set aside (state persisted), the backend
 * closes.  The network and the log stay. */
void replica_db_stop(struct replica *r)
{
    size_t pos = 0;
    uint64_t key;
    void *val;
    uint64_t *ids;
    size_t n = 0;

    if (r->vr) {
        fail_pending_above(r, 0);
        failover_all_sessions(r);
        fail_read_index_all(r);
    }
    /* clients reconnect once the replica serves again */
    ids = calloc(r->clients.len + 1, sizeof *ids);
    while (ids && hmap_next(&r->clients, &pos, &key, &val))
        ids[n++] = (uint64_t)(uintptr_t)val;
    for (size_t i = 0; i < n; i++)
        net_close(net_find(r->net, ids[i]), true, "this replica is leaving service");
    free(ids);
    {
        struct timespec until = mono_deadline(10000);
        pthread_mutex_lock(&r->sh.mu);
        while (r->sh.live_sessions > 0)
            if (mono_cond_wait(&r->sh.barrier_cv, &r->sh.mu, &until) == ETIMEDOUT)
                break;
        if (r->sh.live_sessions > 0)
            log_warn("%d session(s) still busy", r->sh.live_sessions);
        pthread_mutex_unlock(&r->sh.mu);
    }
    applier_stop(r->ap);
    r->ap = NULL;
    while (r->saved) {
        struct saved_wait *w = r->saved;
        r->saved = w->next;
        free(w);
    }
    while (r->deferred) {
        struct mail *m = r->deferred;
        r->deferred = m->next;
        mail_free(m);
    }
    r->deferred_tail = NULL;
    if (r->vr) {
        struct vr_persist p = vr_persisted(r->vr);
        do_persist(r, &p);
        vr_free(r->vr);
        r->vr = NULL;
    }
    backend_close(r->be);
    r->be = NULL;
    r->halted = false;
    replica_publish_status(r);
}

/* Bring the database phase up.  after_transfer: the database was just
 * copied: drop the log and stay out of view changes until recovered. */
int replica_db_start(struct replica *r, bool after_transfer, struct err *e)
{
    const struct cfg *cfg = r->cfg;
    struct replica_state st;
    struct backend_state bst;
    struct vr_config vc;
    struct vr_persist vp;
    char a[ADDR_ID_STR_MAX], b[ADDR_ID_STR_MAX];
    bool found;

    if (state_load(cfg->data_dir, &st, &found, e) < 0 || !found)
        return found ? err_wrap(e, "state file") : err_set(e, ERR_CORRUPT, "state file vanished");
    {
        char *dsn = backend_dsn(cfg);
        if (!dsn)
            return err_set(e, ERR_NOMEM, "out of memory");
        r->be = backend_open(dsn, e);
        if (!r->be && cfg->start_server && *cfg->start_server && e->code != ERR_CONFIG) {
            /* the database server may have been left stopped (a donor or a
             * transfer killed half-way): start it and try again */
            struct err he;
            log_warn("cannot open the backend (%s): running start_server", e->msg);
            if (transfer_run_hook("start_server", cfg->start_server,
                                  cfg->start_timeout ? cfg->start_timeout : 120, &he) == 0)
                r->be = backend_open(dsn, e);
            else
                log_error("%s", he.msg);
        }
        explicit_bzero(dsn, strlen(dsn));
        free(dsn);
    }
    if (!r->be)
        return -1;
    if (backend_get_state(r->be, &bst, e) < 0)
        goto fail;
    if (bst.ddl_pending) {
        err_set(e, ERR_CORRUPT,
                "the database was interrupted in the middle of DDL at op %llu and recalld cannot "
                "tell from the schema whether it ran: this replica needs repair (recallctl "
                "resync)", (unsigned long long)bst.ddl_pending);
        goto fail;
    }
    if (bst.cluster == 0 && !after_transfer) {
        if (backend_set_cluster(r->be, r->cluster, e) < 0)
            goto fail;
    } else if (bst.cluster != r->cluster) {
        err_set(e, ERR_CONFIG, "the database belongs to cluster %s, not %s",
                addr_cluster_id_format(bst.cluster, a), addr_cluster_id_format(r->cluster, b));
        goto fail;
    }
    pthread_mutex_lock(&r->sh.mu);
    r->sh.applied = bst.applied;
    pthread_mutex_unlock(&r->sh.mu);
    log_info("backend %s: applied op %llu", backend_version(r->be),
             (unsigned long long)bst.applied);

    memset(&vc, 0, sizeof vc);
    vc.n = r->n;
    vc.self = r->self;
    vc.heartbeat_ticks = cfg->heartbeat_ms / TICK_MS ? cfg->heartbeat_ms / TICK_MS : 1;
    vc.timeout_ticks = cfg->view_change_timeout_ms / TICK_MS;
    vc.max_batch_bytes = (uint32_t)(cfg->max_frame / 2);
    vc.window = WINDOW_OPS;
    if (getrandom(&vc.seed, sizeof vc.seed, 0) != sizeof vc.seed)
        vc.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    vp.view = st.view;
    vp.last_normal = st.last_normal;
    vp.commit = st.commit;
    r->vr = vr_new(&vc, &vp, e);
    if (!r->vr)
        goto fail;
    /* appends reported durable before now belong to a log we drop or reload */
    pthread_mutex_lock(&r->sync_mu);
    r->sync_gen++;
    pthread_mutex_unlock(&r->sync_mu);
    if (load_log(r, bst.applied, after_transfer, e) < 0) {
        if (e->code == ERR_CORRUPT && !after_transfer)
            r->needs_transfer = true;
        goto fail;
    }
    pthread_mutex_lock(&r->sync_mu);
    r->sync_appended = wal_last_op(r->wal);
    pthread_mutex_unlock(&r->sync_mu);
    r->pushed_commit = bst.applied;
    r->ap = applier_start(r, r->be, &r->sh, cfg, e);
    if (!r->ap)
        goto fail;
    r->rejoining = after_transfer || admin_marker_read(r) == MARK_REJOINING;
    if (r->rejoining)
        vr_set_declining(r->vr, true);
    vr_start(r->vr, bst.applied);
    replica_drain(r);
    return 0;
fail:
    if (r->vr) {
        vr_free(r->vr);
        r->vr = NULL;
    }
    backend_close(r->be);
    r->be = NULL;
    return -1;
}

struct replica *replica_open(const struct cfg *cfg, struct event_base *base, struct err *e)
{
    struct replica *r = calloc(1, sizeof *r);
    struct replica_state st;
    struct net_options no;
    struct net_callbacks cb;
    char path[PATH_MAX], a[ADDR_ID_STR_MAX], b[ADDR_ID_STR_MAX];
    bool found;
    struct buf lt;
    enum marker mark;

    if (!r) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    r->cfg = cfg;
    r->base = base;
    r->n = (uint32_t)cfg->nreplicas;
    r->self = (uint32_t)cfg->self;
    r->cluster = cfg->cluster_id;
    r->started = mono_s();
    hmap_init(&r->clients);
    hmap_init(&r->pending);
    hmap_init(&r->read_index);
    pthread_mutex_init(&r->sh.mu, NULL);
    pthread_cond_init(&r->sh.applied_cv, NULL);
    pthread_cond_init(&r->sh.barrier_cv, NULL);
    pthread_mutex_init(&r->mail_mu, NULL);
    pthread_mutex_init(&r->sync_mu, NULL);
    pthread_cond_init(&r->sync_cv, NULL);
    buf_init(&lt);
    addr_list_format(cfg->replicas, cfg->nreplicas, &lt);
    snprintf(r->replicas_text, sizeof r->replicas_text, "%s", lt.data ? (char *)lt.data : "");
    buf_close(&lt);

    /* the state file: whose data_dir is this? */
    if (state_load(cfg->data_dir, &st, &found, e) < 0) {
        err_wrap(e, "state file");
        goto fail;
    }
    if (found) {
        if (st.cluster != r->cluster) {
            err_set(e, ERR_CONFIG,
                    "data_dir %s belongs to cluster %s but recalld.conf describes cluster %s: "
                    "the replica list changed, or this is another cluster's data_dir",
                    cfg->data_dir, addr_cluster_id_format(st.cluster, a),
                    addr_cluster_id_format(r->cluster, b));
            goto fail;
        }
        if (st.replica != r->self) {
            err_set(e, ERR_CONFIG,
                    "data_dir %s belongs to replica %u but listen = makes this replica %u",
                    cfg->data_dir, st.replica, r->self);
            goto fail;
        }
    } else {
        memset(&st, 0, sizeof st);
        st.replica = r->self;
        st.cluster = r->cluster;
        if (state_save(cfg->data_dir, &st, e) < 0) {
            err_wrap(e, "creating the state file");
            goto fail;
        }
        log_info("new replica %u of cluster %s in %s", r->self,
                 addr_cluster_id_format(r->cluster, a), cfg->data_dir);
    }
    if (transfer_marker_ensure(cfg, e) < 0)
        goto fail;

    /* the log, and the thread that makes it durable */
    snprintf(path, sizeof path, "%s/log", cfg->data_dir);
    {
        struct wal_options wo = {.segment_bytes = cfg->log_segment_size,
                                 .max_record = (uint32_t)cfg->max_frame};
        if (wal_open(path, &wo, &r->wal, e) < 0)
            goto fail;
    }
    r->mail_ev = event_new(base, -1, 0, mail_cb, r);
    r->flush_ev = event_new(base, -1, 0, flush_cb, r);
    r->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, r);
    if (!r->mail_ev || !r->flush_ev || !r->tick_ev) {
        err_set(e, ERR_NOMEM, "cannot create events");
        goto fail;
    }
    event_priority_set(r->flush_ev, 2);
    if (pthread_create(&r->sync_thread, NULL, sync_main, r) != 0) {
        err_set(e, ERR_LIMIT, "cannot start the log-sync thread");
        goto fail;
    }
    r->sync_started = true;

    /* the network */
    memset(&no, 0, sizeof no);
    no.max_frame = (uint32_t)cfg->max_frame;
    memset(&cb, 0, sizeof cb);
    cb.msg_cb = msg_cb;
    cb.close_cb = close_cb;
    cb.connected_cb = connected_cb;
    cb.arg = r;
    r->net = net_new(base, &no, &cb, e);
    if (!r->net)
        goto fail;
    if (net_listen(r->net, cfg->listen.host, cfg->listen.port, e) < 0)
        goto fail;
    for (uint32_t i = 0; i < r->n; i++) {
        struct conn_state *cs;
        if (i == r->self)
            continue;
        r->links[i] = net_link(r->net, cfg->replicas[i].host, cfg->replicas[i].port, i);
        cs = calloc(1, sizeof *cs);
        if (!r->links[i] || !cs) {
            free(cs);
            err_set(e, ERR_NOMEM, "out of memory");
            goto fail;
        }
        cs->role = CR_LINK;
        cs->peer = i;
        net_set_data(r->links[i], cs);
    }

    /* the database, unless a state transfer must bring it first */
    mark = admin_marker_read(r);
    if (mark == MARK_COPYING) {
        admin_start_transfer(r, "a state transfer was interrupted: copying the database again");
        if (!r->xfer) {
            err_set(e, ERR_INTERNAL, "could not restart the interrupted state transfer");
            goto fail;
        }
    } else if (replica_db_start(r, false, e) < 0) {
        if (!r->needs_transfer)
            goto fail;
        log_warn("%s", e->msg);
        admin_start_transfer(r, "the database is behind every entry the log still holds");
        if (!r->xfer) {
            err_set(e, ERR_INTERNAL, "could not start a state transfer");
            goto fail;
        }
    }
    {
        struct timeval tv = {0, TICK_MS * 1000};
        event_add(r->tick_ev, &tv);
    }
    replica_publish_status(r);
    log_info("replica %u of %u listening on %s:%u", r->self, r->n, cfg->listen.host,
             cfg->listen.port);
    return r;
fail:
    replica_close(r);
    return NULL;
}

int replica_run(struct replica *r, struct err *e)
{
    event_base_dispatch(r->base);
    if (r->fatal)
        return err_copy(e, &r->fatal_err);
    return 0;
}

void replica_stop(struct replica *r)
{
    event_base_loopexit(r->base, NULL);
}

void replica_close(struct replica *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->sh.mu);
    r->sh.stopping = true;
    pthread_cond_broadcast(&r->sh.applied_cv);
    pthread_cond_broadcast(&r->sh.barrier_cv);
    pthread_mutex_unlock(&r->sh.mu);
    transfer_stop(r->xfer);
    r->xfer = NULL;
    for (int i = 0; i < 300 && r->verifying; i++) {
        /* a periodic verify talks to the replicas over the network: let it end */
        struct mail *m;
        usleep(100000);
        pthread_mutex_lock(&r->mail_mu);
        for (m = r->mail_head; m; m = m->next)
            if (m->type == MAIL_VERIFY_DONE)
                r->verifying = false;
        pthread_mutex_unlock(&r->mail_mu);
    }
    if (r->net)
        replica_db_stop(r);
    /* links keep a conn_state the close callback does not free */
    for (uint32_t i = 0; i < VR_MAX_REPLICAS; i++)
        if (r->links[i]) {
            free(net_get_data(r->links[i]));
            net_set_data(r->links[i], NULL);
        }
    if (r->net)
        net_free(r->net);
    r->net = NULL;
    if (r->sync_started) {
        pthread_mutex_lock(&r->sync_mu);
        r->sync_stop = true;
        pthread_cond_signal(&r->sync_cv);
        pthread_mutex_unlock(&r->sync_mu);
        pthread_join(r->sync_thread, NULL);
    }
    {
        /* a donor thread may still be finishing: give it a moment */
        for (int i = 0; i < 100 && r->donor_busy; i++) {
            usleep(100000);
            struct mail *m;
            pthread_mutex_lock(&r->mail_mu);
            for (m = r->mail_head; m; m = m->next)
                if (m->type == MAIL_DONOR_READY || m->type == MAIL_DONOR_RESUMED)
                    r->donor_busy = false;
            pthread_mutex_unlock(&r->mail_mu);
        }
    }
    /* mail left over (threads may have posted while exiting) */
    {
        struct mail *m = r->mail_head;
        r->mail_head = r->mail_tail = NULL;
        while (m) {
            struct mail *next = m->next;
            mail_free(m);
            m = next;
        }
    }
    {
        size_t pos = 0;
        uint64_t key;
        void *val;
        while (hmap_next(&r->pending, &pos, &key, &val))
            pending_free(val);
    }
    wal_close(r->wal);
    if (r->mail_ev)
        event_free(r->mail_ev);
    if (r->flush_ev)
        event_free(r->flush_ev);
    if (r->tick_ev)
        event_free(r->tick_ev);
    hmap_close(&r->clients);
    hmap_close(&r->pending);
    hmap_close(&r->read_index);
    free(r);
}
