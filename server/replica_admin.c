/* The administrative side of recalld's event loop: state transfer as the
 * recipient (leave service, copy a donor's database, rejoin declining until
 * recovered) and as the donor (bulk copy while running; pause the apply and
 * stop the database for the final pass; resume), the transfer marker that
 * survives crashes, the CTL commands of recallctl (checksum at one op,
 * resync), and the primary's periodic verify.  Runs on the event-loop
 * thread; the slow steps (hooks, rsync, checksums) run on short-lived
 * threads that report by mail.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlclient.h"
#include "logging.h"
#include "mono.h"
#include "replica-loop.h"
#include "verify.h"

static void send_sync_reply(struct replica *r, struct net_conn *c, uint64_t nonce, uint8_t phase,
                            bool ok, uint64_t applied, const char *path, const char *msg);

/* ---- the transfer marker (data_dir/transfer) ----
 * "copying": the database may be half copied; never open it, copy again.
 * "rejoining": the copy is complete but this replica dropped its log, so it
 * may have acknowledged entries it no longer holds: it must not vote in a
 * view change until recovery installed a primary's log. */
static void marker_file(const struct replica *r, char *out, size_t cap)
{
    snprintf(out, cap, "%s/transfer", r->cfg->data_dir);
}

enum marker admin_marker_read(const struct replica *r)
{
    char path[PATH_MAX], buf[32] = "";
    FILE *f;
    marker_file(r, path, sizeof path);
    if (!(f = fopen(path, "r")))
        return MARK_NONE;
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    return strncmp(buf, "rejoining", 9) == 0 ? MARK_REJOINING : MARK_COPYING;
}

int admin_marker_write(struct replica *r, enum marker m, struct err *e)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    int fd;
    marker_file(r, path, sizeof path);
    if (m == MARK_NONE) {
        if (unlink(path) < 0 && errno != ENOENT)
            return err_set_errno(e, errno, "removing %s", path);
        return 0;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return err_set_errno(e, errno, "writing %s", tmp);
    const char *text = m == MARK_COPYING ? "copying\n" : "rejoining\n";
    if (write(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
        close(fd);
        return err_set_errno(e, errno, "writing %s", tmp);
    }
    close(fd);
    if (rename(tmp, path) < 0)
        return err_set_errno(e, errno, "renaming %s", tmp);
    fd = open(r->cfg->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return 0;
}

/* ---- state transfer: the recipient ---- */

static void on_transfer_copied(void *arg, uint64_t donor_applied)
{
    struct replica *r = arg;
    struct mail *m = mail_new(MAIL_TRANSFER_DONE);
    if (m) {
        m->op = donor_applied;
        replica_post(r, m);
    }
}

/* Leave service and copy a donor's database (DESIGN section 7). */
void admin_start_transfer(struct replica *r, const char *why)
{
    struct err e;
    if (r->xfer)
        return;
    if (r->n == 1) {
        log_error("state transfer needed (%s) but there is no other replica to copy from", why);
        return;
    }
    log_warn("STATE TRANSFER: %s; this replica leaves service and copies a donor's database", why);
    if (admin_marker_write(r, MARK_COPYING, &e) < 0) {
        log_error("cannot start a state transfer: %s", e.msg);
        return;
    }
    replica_db_stop(r);
    r->xfer = transfer_start(r->cfg, on_transfer_copied, r, &e);
    if (!r->xfer)
        log_error("cannot start a state transfer: %s", e.msg);
    replica_publish_status(r);
}

void admin_transfer_done(struct replica *r)
{
    struct err e;
    transfer_stop(r->xfer);
    r->xfer = NULL;
    if (admin_marker_write(r, MARK_REJOINING, &e) < 0)
        log_error("%s", e.msg);
    if (replica_db_start(r, true, &e) < 0) {
        log_error("the copied database cannot be opened: %s", e.msg);
        admin_start_transfer(r, "the copied database could not be opened");
        return;
    }
    log_info("rejoining through VR recovery");
}

/* ---- state transfer: the donor ---- */

struct donor_job {
    struct replica *r;
    bool resume;
};

/* The donor's slow steps run off the event loop: pause applying, stop the
 * database cleanly (final pass), or start it again. */
static void *donor_main(void *arg)
{
    struct donor_job *dj = arg;
    struct replica *r = dj->r;
    struct mail *m = mail_new(dj->resume ? MAIL_DONOR_RESUMED : MAIL_DONOR_READY);
    struct err e;
    unsigned hook_timeout = r->cfg->start_timeout ? r->cfg->start_timeout : 120;

    err_clear(&e);
    if (!dj->resume) {
        if (applier_wait_quiet(r->ap, hook_timeout * 1000) < 0)
            err_set(&e, ERR_TIMEOUT, "the applier did not pause in time");
        else if (backend_quiesce(r->be, &e) == 0)
            transfer_run_hook("stop_server", r->cfg->stop_server, hook_timeout, &e);
        pthread_mutex_lock(&r->sh.mu);
        if (m)
            m->op = r->sh.applied;
        pthread_mutex_unlock(&r->sh.mu);
    } else {
        if (transfer_run_hook("start_server", r->cfg->start_server, hook_timeout, &e) == 0)
            backend_resume(r->be, &e);
    }
    if (m) {
        m->e = e;
        replica_post(r, m);
    }
    free(dj);
    return NULL;
}

static void donor_spawn(struct replica *r, bool resume)
{
    struct donor_job *dj = calloc(1, sizeof *dj);
    pthread_t th;
    if (!dj)
        return;
    dj->r = r;
    dj->resume = resume;
    r->donor_busy = true;
    if (pthread_create(&th, NULL, donor_main, dj) != 0) {
        free(dj);
        r->donor_busy = false;
        log_error("cannot start the donor thread");
        return;
    }
    pthread_detach(th);
}

static void send_sync_reply(struct replica *r, struct net_conn *c, uint64_t nonce, uint8_t phase,
                            bool ok, uint64_t applied, const char *path, const char *msg)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_SYNC_REPLY;
    m.u.sync_reply.replica = r->self;
    m.u.sync_reply.nonce = nonce;
    m.u.sync_reply.phase = phase;
    m.u.sync_reply.ok = ok;
    m.u.sync_reply.applied = applied;
    proto_str_setz(&m.u.sync_reply.path, path ? path : "");
    proto_str_setz(&m.u.sync_reply.msg, msg ? msg : "");
    net_send(c, &m);
    proto_msg_free(&m);
}

/* The recipient is done (DONE, or its connection closed): start again. */
void admin_donor_release(struct replica *r)
{
    if (!r->donating)
        return;
    r->donating = 0;
    if (r->donor_stopped) {
        r->donor_stopped = false;
        donor_spawn(r, true);
    } else if (r->ap) {
        applier_set_limit(r->ap, UINT64_MAX);
        if (r->vr && !r->halted)
            vr_set_declining(r->vr, false);
    }
}

void admin_sync_request(struct replica *r, struct net_conn *c, const struct proto_sync_request *q)
{
    char path[PATH_MAX];
    struct err e;
    uint64_t applied;

    pthread_mutex_lock(&r->sh.mu);
    applied = r->sh.applied;
    pthread_mutex_unlock(&r->sh.mu);
    if (!r->vr || r->halted) {
        send_sync_reply(r, c, q->nonce, q->phase, false, 0, NULL,
                        r->halted ? "this replica's database diverged" : "this replica is itself not in service");
        return;
    }
    switch (q->phase) {
    case SYNC_BULK:
        if (r->donating && r->donating != net_conn_id(c)) {
            send_sync_reply(r, c, q->nonce, q->phase, false, 0, NULL, "already donating to another replica");
            return;
        }
        if (transfer_source_path(r->cfg, path, sizeof path, &e) < 0) {
            send_sync_reply(r, c, q->nonce, q->phase, false, 0, NULL, e.msg);
            return;
        }
        log_info("donating the database to replica %u (bulk copy of %s)", q->replica, path);
        r->donating = net_conn_id(c);
        r->donor_nonce = q->nonce;
        send_sync_reply(r, c, q->nonce, q->phase, true, applied, path, NULL);
        return;
    case SYNC_FINAL:
        if (r->donating != net_conn_id(c) || r->donor_busy || r->donor_stopped) {
            send_sync_reply(r, c, q->nonce, q->phase, false, 0, NULL, "no bulk copy in progress");
            return;
        }
        log_info("donor: pausing the apply at op %llu and stopping the database for the final "
                 "pass (the log keeps acknowledging)", (unsigned long long)applied);
        vr_set_declining(r->vr, true); /* a donating replica never leads */
        applier_set_limit(r->ap, applied);
        {
            /* reads here would fail while the database is stopped */
            size_t pos = 0, n = 0;
            uint64_t key, *ids = calloc(r->clients.len + 1, sizeof *ids);
            void *val;
            while (ids && hmap_next(&r->clients, &pos, &key, &val))
                ids[n++] = (uint64_t)(uintptr_t)val;
            for (size_t i = 0; i < n; i++)
                net_close(net_find(r->net, ids[i]), true, "this replica is donating its database");
            free(ids);
        }
        r->donor_stopped = true;
        donor_spawn(r, false);
        return;
    case SYNC_DONE:
        if (r->donating == net_conn_id(c)) {
            log_info("donation to replica %u complete", q->replica);
            admin_donor_release(r);
        }
        return;
    default:
        send_sync_reply(r, c, q->nonce, q->phase, false, 0, NULL, "unknown phase");
    }
}

/* ---- administrative commands (recallctl) ---- */

static void ctl_reply(struct net_conn *c, uint64_t req, uint32_t self, uint64_t applied,
                      struct proto_list_kv *detail)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_STATUS;
    m.u.status.req = req;
    m.u.status.replica = self;
    m.u.status.applied = applied;
    if (detail) {
        m.u.status.detail = *detail; /* moved */
        memset(detail, 0, sizeof *detail);
    }
    net_send(c, &m);
    proto_msg_free(&m);
}

struct checksum_job {
    struct replica *r;
    uint64_t conn_id, req, target;
};

/* Checksums of every table at one op: the applier stops at `target` (or
 * wherever the committed entries end, if fewer arrive), the backend sums
 * its tables, and applying resumes.  On the primary, commits wait meanwhile. */
static void *checksum_main(void *arg)
{
    struct checksum_job *cj = arg;
    struct replica *r = cj->r;
    struct proto_msg m;
    struct mail *ml;
    struct err e;
    uint64_t applied = 0;

    for (int i = 0; i < 50; i++) {
        if (shared_wait_applied(&r->sh, cj->target, 100) >= cj->target)
            break;
        if (i >= 10 && applier_wait_quiet(r->ap, 0) == 0)
            break; /* nothing more to apply for a second */
    }
    applier_wait_quiet(r->ap, 10000);
    memset(&m, 0, sizeof m);
    m.type = MSG_STATUS;
    m.u.status.req = cj->req;
    m.u.status.replica = r->self;
    if (backend_checksum(r->be, &applied, &m.u.status.detail, &e) < 0) {
        applier_set_limit(r->ap, UINT64_MAX);
        ml = mail_error(cj->conn_id, cj->req, &e, (uint32_t)r->cfg->max_frame);
    } else {
        applier_set_limit(r->ap, UINT64_MAX);
        m.u.status.applied = applied;
        ml = mail_frame(MAIL_SEND, cj->conn_id, &m, (uint32_t)r->cfg->max_frame);
    }
    proto_msg_free(&m);
    if (ml)
        replica_post(r, ml);
    free(cj);
    return NULL;
}

static const char *kv_get(const struct proto_list_kv *l, const char *key)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i].key.p && strcmp(l->v[i].key.p, key) == 0)
            return l->v[i].val.p;
    return NULL;
}

void admin_ctl(struct replica *r, struct net_conn *c, const struct proto_ctl *q)
{
    const char *cmd = q->command.p ? q->command.p : "";
    if (strcmp(cmd, "checksum") == 0) {
        const char *op = kv_get(&q->args, "op");
        struct checksum_job *cj;
        pthread_t th;
        if (!r->vr || !r->ap || r->halted) {
            replica_send_error(c, q->req, ERR_NOT_READY, "replica %u is not in service", r->self);
            return;
        }
        cj = calloc(1, sizeof *cj);
        if (!cj)
            return;
        cj->r = r;
        cj->conn_id = net_conn_id(c);
        cj->req = q->req;
        cj->target = op ? strtoull(op, NULL, 10) : 0;
        pthread_mutex_lock(&r->sh.mu);
        if (cj->target < r->sh.applied)
            cj->target = r->sh.applied; /* already past it: sum here, the caller compares ops */
        pthread_mutex_unlock(&r->sh.mu);
        applier_set_limit(r->ap, cj->target);
        if (pthread_create(&th, NULL, checksum_main, cj) != 0) {
            applier_set_limit(r->ap, UINT64_MAX);
            free(cj);
            replica_send_error(c, q->req, ERR_LIMIT, "cannot start a thread");
            return;
        }
        pthread_detach(th);
        return;
    }
    if (strcmp(cmd, "resync") == 0) {
        struct proto_list_kv d = {0};
        if (r->xfer) {
            replica_send_error(c, q->req, ERR_STATE, "replica %u is already in state transfer", r->self);
            return;
        }
        if (r->n == 1) {
            replica_send_error(c, q->req, ERR_STATE, "a single replica has nobody to copy from");
            return;
        }
        if (r->vr && vr_is_primary(r->vr)) {
            log_warn("resync requested on the primary: stepping down first");
            vr_step_down(r->vr);
            replica_drain(r);
        }
        if (proto_list_kv_resize(&d, 1) == 0) {
            proto_str_setz(&d.v[0].key, "result");
            proto_str_setz(&d.v[0].val, "state transfer started");
        }
        ctl_reply(c, q->req, r->self, 0, &d);
        proto_list_kv_resize(&d, 0);
        free(d.v);
        {
            static char why[200];
            const char *reason = kv_get(&q->args, "reason");
            snprintf(why, sizeof why, "%s", reason ? reason : "requested by recallctl resync");
            admin_start_transfer(r, why);
        }
        return;
    }
    if (strcmp(cmd, "hold") == 0) {
        /* a replica copying a donor's database will need our log from op */
        const char *op = kv_get(&q->args, "op"), *ttl = kv_get(&q->args, "ttl_s"),
                   *who = kv_get(&q->args, "holder");
        unsigned long i = who ? strtoul(who, NULL, 10) : ULONG_MAX;
        if (!op || !ttl || i >= r->n) {
            replica_send_error(c, q->req, ERR_INVALID, "hold needs op, ttl_s and holder");
            return;
        }
        r->hold_op[i] = strtoull(op, NULL, 10);
        r->hold_until[i] = mono_s() + (time_t)strtoul(ttl, NULL, 10);
        log_info("keeping the log from op %llu for replica %lu (state transfer)",
                 (unsigned long long)r->hold_op[i], i);
        ctl_reply(c, q->req, r->self, 0, NULL);
        return;
    }
    replica_send_error(c, q->req, ERR_INVALID, "unknown command '%s' (checksum, resync, hold)", cmd);
}

/* ---- the periodic checksum check ---- */

/* Runs on its own thread: checksums everywhere at one op; the replicas that
 * disagree with the majority are told to repair (this one by mail). */
static void *verify_main(void *arg)
{
    struct replica *r = arg;
    const struct cfg *cfg = r->cfg;
    struct verify_result vres;
    struct mail *m = mail_new(MAIL_VERIFY_DONE);
    struct err e;

    if (verify_cluster(cfg->replicas, cfg->nreplicas, cfg->cluster_id, 5000, &vres, &e) < 0) {
        log_warn("periodic verify: %s", e.msg);
    } else if (vres.majority < 0) {
        size_t answered = 0;
        for (size_t i = 0; i < cfg->nreplicas; i++)
            answered += vres.answered[i] && !vres.failed[i];
        if (answered <= cfg->nreplicas / 2)
            log_warn("periodic verify at op %llu: only %zu of %zu replicas answered; "
                     "nothing compared (next try at the next interval)",
                     (unsigned long long)vres.op, answered, cfg->nreplicas);
        else
            log_error("periodic verify at op %llu: no majority of replicas agree on the data; "
                      "not repairing anything automatically (see recallctl verify)",
                      (unsigned long long)vres.op);
    } else {
        int bad = 0;
        for (size_t i = 0; i < cfg->nreplicas; i++) {
            if (!vres.failed[i] && (!vres.answered[i] || vres.group[i] == vres.majority))
                continue;
            bad++;
            log_error("periodic verify at op %llu: replica %zu's data differs from the "
                      "majority's: it repairs itself by state transfer",
                      (unsigned long long)vres.op, i);
            if (i == cfg->self) {
                if (m)
                    m->op = vres.op;
            } else {
                struct ctlconn c;
                struct proto_msg q;
                if (ctl_open(&c, &cfg->replicas[i], cfg->cluster_id, 5000, NULL, &e) == 0) {
                    memset(&q, 0, sizeof q);
                    q.type = MSG_CTL;
                    proto_str_setz(&q.u.ctl.command, "resync");
                    if (proto_list_kv_resize(&q.u.ctl.args, 1) == 0) {
                        proto_str_setz(&q.u.ctl.args.v[0].key, "reason");
                        proto_str_setz(&q.u.ctl.args.v[0].val,
                                       "the primary's periodic verify found this replica's data "
                                       "differs from the majority's");
                    }
                    ctl_send(&c, &q, 5000, &e);
                    proto_msg_free(&q);
                    if (ctl_recv(&c, &q, 5000, &e) == 0)
                        proto_msg_free(&q);
                    ctl_close(&c);
                } else {
                    log_error("periodic verify: cannot reach replica %zu: %s", i, e.msg);
                }
            }
        }
        if (!bad)
            log_info("periodic verify at op %llu: every replica that answered holds the same data",
                     (unsigned long long)vres.op);
    }
    verify_result_free(&vres);
    if (m)
        replica_post(r, m);
    return NULL;
}

void admin_maybe_verify(struct replica *r)
{
    time_t now = mono_s();
    pthread_t th;
    if (!r->cfg->verify_interval || r->verifying || r->n == 1 || !vr_ready(r->vr))
        return;
    if (!r->next_verify) {
        r->next_verify = now + r->cfg->verify_interval;
        return;
    }
    if (now < r->next_verify)
        return;
    r->next_verify = now + r->cfg->verify_interval;
    r->verifying = true;
    if (pthread_create(&th, NULL, verify_main, r) != 0) {
        r->verifying = false;
        return;
    }
    pthread_detach(th);
}

/* Mail for the administrative side: a finished copy, the donor's steps, a
 * finished periodic verify. */
void admin_on_mail(struct replica *r, struct mail *m)
{
    switch (m->type) {
    case MAIL_TRANSFER_DONE:
        if (r->xfer)
            admin_transfer_done(r);
        break;
    case MAIL_DONOR_READY: {
        struct net_conn *c = r->donating ? net_find(r->net, r->donating) : NULL;
        char path[PATH_MAX] = "";
        struct err pe;
        r->donor_busy = false;
        if (m->e.code == ERR_OK && transfer_source_path(r->cfg, path, sizeof path, &pe) < 0)
            m->e = pe;
        if (!c) {
            admin_donor_release(r); /* the recipient went away meanwhile */
        } else if (m->e.code != ERR_OK) {
            log_error("donor: cannot stop for the final pass: %s", m->e.msg);
            send_sync_reply(r, c, r->donor_nonce, SYNC_FINAL, false, 0, NULL, m->e.msg);
            admin_donor_release(r);
        } else {
            log_info("donor: database stopped at op %llu; the final pass may run",
                     (unsigned long long)m->op);
            send_sync_reply(r, c, r->donor_nonce, SYNC_FINAL, true, m->op, path, NULL);
        }
        break;
    }
    case MAIL_DONOR_RESUMED:
        r->donor_busy = false;
        if (m->e.code != ERR_OK) {
            log_error("donor: cannot restart the database: %s", m->e.msg);
            r->fatal = true;
            r->fatal_err = m->e;
            event_base_loopexit(r->base, NULL);
            break;
        }
        log_info("donor: database running again; applying resumes");
        if (r->ap)
            applier_set_limit(r->ap, UINT64_MAX);
        if (r->vr && !r->halted && !r->rejoining)
            vr_set_declining(r->vr, false);
        break;
    case MAIL_VERIFY_DONE:
        r->verifying = false;
        if (m->op && r->vr) {
            /* the odd one out is this primary: let another lead, then repair */
            if (vr_is_primary(r->vr)) {
                vr_step_down(r->vr);
                replica_drain(r);
            }
            admin_start_transfer(r, "its data differs from the majority's (periodic verify)");
        }
        break;
    default:
        break;
    }
}
