/* The applier: the one thread that moves a replica's database forward,
 * strictly in op order, over committed entries only (DESIGN.md section 3).
 *
 * Happy path: the event loop pushes each committed entry with its owner —
 * the local session whose open backend transaction already holds the
 * entry's writes (the primary executed it there), or none.  Without one the
 * applier re-executes the entry in its own apply session (replication
 * account) and compares results.  With an owner, the entry is handed to
 * that session (JOB_DO_COMMIT) once it is at the head of the queue -- every
 * entry before it applied -- and the session commits it; only the head is
 * ever handed out, so there is one committer, in op order.  A session that
 * committed the head passes the turn on itself: it pops its entry, advances
 * `applied` and hands the next entry to its owner if that one has an owner
 * too, so a stream of the primary's own commits goes from session to
 * session without waking the applier thread (applier_commit_result).  After
 * each entry, `applied` advances (shared, waking fenced reads) and the event
 * loop hears of it.
 *
 * DDL entries execute only with their outcome known: the primary's session
 * runs its own DDL (JOB_DO_COMMIT of a DDL entry) and logs the outcome as
 * the next entry; others wait for that next entry; a primary that finds a
 * committed DDL without an outcome at the end of its log runs it itself.
 *
 * Several queued transactions without an owner (a backup's usual work
 * under load) are re-executed as one batch: one backend transaction, one
 * bookkeeping write, one commit (backend_apply_batch).  They are committed
 * entries, so this changes nothing but the number of commits; a batch that
 * fails or mismatches is rolled back whole and its entries are applied one
 * by one, which attributes a mismatch to its entry.  A DDL entry or an
 * entry with an owner ends a batch.
 *
 * Failure modes: a result mismatch or an entry that cannot be applied halts
 * the applier (loudly; the replica declines to lead and needs repair); a
 * backend error such as a lost connection is retried with backoff.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logging.h"
#include "mono.h"
#include "replica-internal.h"

#define FLUSH_INTERVAL_S 5  /* how often the backend is made durable for log retention */
#define CHECK_INTERVAL_MS 1000 /* how often an idle primary checks that its database answers */

struct item {
    struct proto_entry entry;   /* owned */
    struct session *owner;      /* reference held, or NULL (re-execute) */
    bool dispatched;            /* handed to owner; its answer pending */
    struct item *next;
};

struct applier {
    struct replica *r;
    struct backend *be;
    struct shared *sh;
    const struct cfg *cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct item *head, *tail;   /* owned */
    uint64_t pushed;            /* highest op queued */
    bool primary;               /* ready-to-be primary of a normal view */
    uint64_t log_end;           /* L: a DDL at L has no outcome entry (yet) */
    uint64_t limit;             /* apply nothing above this op */
    bool busy;                  /* inside apply_one */
    int publishing;             /* popped by a session, applied not yet published */
    int quiet_waiters;          /* threads in applier_wait_quiet */
    bool stop;
    bool halted;
    struct backend_session *bs; /* apply session, owned by the thread */
    time_t last_flush;
    uint64_t failing_since;     /* ms: first failure of the current entry, 0 if none */
    uint64_t down_since;        /* ms: first failed check of an idle primary's database */
    uint64_t last_check;        /* ms: the last such check */
    bool asked_step_down;
    uint64_t flushed;           /* applied op last reported durable */
    uint64_t single_until;      /* apply one by one up to this op (a batch failed) */
};

static void item_free(struct item *it)
{
    proto_entry_free(&it->entry);
    if (it->owner)
        session_unref(it->owner);
    free(it);
}

/* The head entry goes to its owner to commit if it has one and may be
 * applied now (a->mu held).  Returns the job, to be sent with
 * dispatch_send once a->mu is released (the owner may answer at once), and
 * a reference to the owner in *to; NULL when there is nothing to hand out. */
static struct job *dispatch_head(struct applier *a, struct session **to)
{
    struct item *it = a->head;
    struct job *j;

    *to = NULL;
    if (!it || !it->owner || it->dispatched || a->halted || a->stop || it->entry.op > a->limit)
        return NULL;
    if (!(j = job_new(JOB_DO_COMMIT)))
        return NULL; /* the applier thread tries again */
    j->op = it->entry.op;
    it->dispatched = true;
    session_ref(it->owner);
    *to = it->owner;
    return j;
}

static void dispatch_send(struct session *to, struct job *j)
{
    if (!j)
        return;
    session_push(to, j);
    session_unref(to);
}

int applier_push(struct applier *a, const struct proto_entry *entry, struct session *owner)
{
    struct session *to = NULL;
    struct job *j = NULL;
    struct item *it = calloc(1, sizeof *it);
    if (!it || proto_entry_copy(&it->entry, entry) < 0) {
        free(it);
        return -1;
    }
    if (owner) {
        session_ref(owner);
        it->owner = owner;
    }
    pthread_mutex_lock(&a->mu);
    if (entry->op != a->pushed + 1 && a->pushed != 0)
        log_error("applier: entry %llu pushed after %llu", (unsigned long long)entry->op,
                  (unsigned long long)a->pushed);
    a->pushed = entry->op;
    if (a->tail)
        a->tail->next = it;
    else
        a->head = it;
    a->tail = it;
    /* the primary's own entry reaching an idle queue goes to its session
     * straight away, without a round through the applier thread */
    if (a->head == it && !a->busy)
        j = dispatch_head(a, &to);
    /* while the head is with its owner, whoever answers for it moves on to
     * this entry: nobody to wake */
    if (!j && (a->head == it || !a->head->dispatched))
        pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    dispatch_send(to, j);
    return 0;
}

void applier_set_limit(struct applier *a, uint64_t limit)
{
    pthread_mutex_lock(&a->mu);
    a->limit = limit;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

int applier_wait_quiet(struct applier *a, unsigned timeout_ms)
{
    struct timespec until;
    int rc = 0;
    until = mono_deadline(timeout_ms);
    pthread_mutex_lock(&a->mu);
    a->quiet_waiters++;
    while (!a->stop && (a->busy || a->publishing ||
                        (a->head && !a->halted && a->head->entry.op <= a->limit))) {
        if (mono_cond_wait(&a->cv, &a->mu, &until) == ETIMEDOUT) {
            rc = -1;
            break;
        }
    }
    a->quiet_waiters--;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

uint64_t applier_pushed(const struct applier *a)
{
    return a->pushed;
}

void applier_set_primary(struct applier *a, bool primary, uint64_t log_end)
{
    pthread_mutex_lock(&a->mu);
    if (a->primary != primary || a->log_end != log_end) {
        a->primary = primary;
        a->log_end = log_end;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
}

static void advance(struct applier *a, uint64_t op, uint64_t ts_us, bool applier_thread);

/* The owner of the head entry committed it (ok) or could not (then the
 * applier re-executes it).  On success the caller's thread does what the
 * applier thread would: pops the entry, advances `applied`, and hands the
 * next entry to its owner if it has one -- the committer's turn passes
 * from session to session in op order. */
void applier_commit_result(struct applier *a, uint64_t op, bool ok, const struct err *e)
{
    struct item *it, *done = NULL;
    struct session *to = NULL, *drop = NULL;
    struct job *j = NULL;

    (void)e;
    pthread_mutex_lock(&a->mu);
    it = a->head;
    if (it && it->entry.op == op && it->dispatched) {
        if (ok) {
            a->head = it->next;
            if (a->tail == it)
                a->tail = NULL;
            done = it;
            a->publishing++;
            j = dispatch_head(a, &to);
        } else {
            /* re-executed by the applier thread, in its own session */
            it->dispatched = false;
            drop = it->owner;
            it->owner = NULL;
        }
        if (!j)
            pthread_cond_broadcast(&a->cv); /* the applier thread, applier_wait_quiet */
    }
    pthread_mutex_unlock(&a->mu);
    /* the next owner first (the serial path), then publish: advance keeps
     * applied monotonic whichever of the two gets there first */
    dispatch_send(to, j);
    if (done) {
        advance(a, op, 0, false);
        pthread_mutex_lock(&a->mu);
        if (--a->publishing == 0 && a->quiet_waiters)
            pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        item_free(done);
    }
    if (drop)
        session_unref(drop);
}

/* A backend that keeps failing: a primary must not lead while it cannot
 * apply committed entries (DESIGN section 3.3).  Ask to step down once the
 * failure (since *since) has lasted a view-change timeout. */
static void failing(struct applier *a, uint64_t *since)
{
    uint64_t now = mono_ms();
    if (!*since)
        *since = now;
    if (!a->asked_step_down && now - *since > a->cfg->view_change_timeout_ms) {
        struct mail *m = mail_new(MAIL_STEP_DOWN);
        a->asked_step_down = true;
        if (m)
            replica_post(a->r, m);
    }
}

static void note_failure(struct applier *a) { failing(a, &a->failing_since); }

/* An idle primary checks every second that its database answers: with the
 * database gone it could neither commit nor even accept a client (a new
 * connection needs a backend session), and with nothing to apply the
 * failures above would never come, so it would lead an unavailable
 * cluster until the database came back. */
static void check_backend(struct applier *a)
{
    struct backend_state st;
    struct err e;
    if (backend_get_state(a->be, &st, &e) == 0) {
        if (a->down_since)
            log_info("applier: the database answers again");
        a->down_since = 0;
        return;
    }
    if (!a->down_since)
        log_warn("applier: the database does not answer: %s", e.msg);
    failing(a, &a->down_since);
}

/* Publish a new applied op to readers and the event loop (any thread: the
 * applier's, or a session's that committed its own entry). */
static void advance(struct applier *a, uint64_t op, uint64_t ts_us, bool applier_thread)
{
    struct shared *sh = a->sh;
    struct mail *m;
    if (applier_thread) {
        a->failing_since = 0;
        a->asked_step_down = false;
    }
    pthread_mutex_lock(&sh->mu);
    if (op > sh->applied)
        sh->applied = op;
    if (ts_us > sh->last_ts_us)
        sh->last_ts_us = ts_us;
    pthread_cond_broadcast(&sh->applied_cv);
    pthread_mutex_unlock(&sh->mu);
    if ((m = mail_new(MAIL_APPLIED))) {
        m->op = op;
        replica_post(a->r, m);
    }
}

static void halt(struct applier *a, uint64_t op, const char *why)
{
    struct mail *m;
    log_error("APPLY HALTED at op %llu: %s. This replica stops applying and will not lead; "
              "it needs repair (state transfer).", (unsigned long long)op, why);
    a->halted = true;
    if ((m = mail_new(MAIL_FATAL))) {
        m->op = op;
        err_set(&m->e, ERR_CORRUPT, "apply halted at op %llu: %s", (unsigned long long)op, why);
        replica_post(a->r, m);
    }
}

/* (Re)open the apply session, retrying with backoff until it works.  The
 * wait runs its full length (new entries keep signalling the applier), and
 * the failure is logged once and then every tenth try. */
static bool ensure_session(struct applier *a)
{
    unsigned delay_ms = 100, tries = 0;
    while (!a->bs) {
        struct err e;
        a->bs = backend_session_open(a->be, NULL, NULL, NULL, &e);
        if (a->bs) {
            if (tries)
                log_info("applier: the apply session is open again (after %u tries)", tries + 1);
            return true;
        }
        if (tries++ % 10 == 0)
            log_warn("applier: cannot open the apply session: %s (%s)", e.msg,
                     tries == 1 ? "retrying" : "still failing, retrying");
        note_failure(a);
        pthread_mutex_lock(&a->mu);
        {
            struct timespec ts = mono_deadline(delay_ms);
            while (!a->stop && mono_cond_wait(&a->cv, &a->mu, &ts) != ETIMEDOUT)
                ;
        }
        bool stop = a->stop;
        pthread_mutex_unlock(&a->mu);
        if (stop)
            return false;
        if (delay_ms < 1600)
            delay_ms *= 2;
    }
    return true;
}

/* Apply one item.  Returns 1 done, 0 wait for more input, -1 halted/stop. */
static int apply_one(struct applier *a, struct item *it)
{
    struct proto_body body, outcome;
    struct backend_apply_report rep;
    struct err e;
    uint64_t op = it->entry.op;
    int rc = -1;

    if (proto_body_decode(it->entry.body.p, it->entry.body.len, &body, &e) < 0) {
        halt(a, op, e.msg);
        return -1;
    }
    memset(&rep, 0, sizeof rep);

    if (body.kind == BODY_NOOP || body.kind == BODY_DDL_OUTCOME) {
        /* nothing to change in the database: no backend transaction (one
         * could wait for a lock a later transaction holds).  recall_state
         * catches up with the next real entry; replaying a no-op after a
         * restart is harmless.  (A DDL's outcome was used by its DDL.) */
        rc = 1;
        goto done;
    }
    /* (entries with an owner went to it: here only when it could not
     * commit them, to be re-executed) */
    if (body.kind == BODY_DDL) {
        struct item *next;
        pthread_mutex_lock(&a->mu);
        next = it->next;
        /* only a DDL that ends the primary's log has no outcome coming */
        bool mine = a->primary && a->log_end == op;
        pthread_mutex_unlock(&a->mu);
        if (!next) {
            if (!mine) {
                rc = 0; /* wait for the outcome entry */
                goto out;
            }
            /* we lead and nobody logged an outcome: run it and log ours */
            if (!ensure_session(a))
                goto out;
            err_clear(&e);
            if (body.stmts.n == 0) {
                halt(a, op, "DDL entry without a statement");
                goto out;
            }
            struct err de;
            err_clear(&de);
            if (backend_exec_ddl(a->bs, op, &it->entry, &body.stmts.v[0], &de) < 0)
                log_info("DDL at op %llu failed here too: %s", (unsigned long long)op, de.msg);
            /* applied must advance first: the core accepts the outcome entry
             * only from a primary that applied its whole log */
            advance(a, op, body.ts_us, true);
            struct mail *m = mail_new(MAIL_DDL_OUTCOME);
            if (m) {
                m->op = op;
                m->e = de;
                replica_post(a->r, m);
            }
            rc = 1;
            goto out;
        }
        if (proto_body_decode(next->entry.body.p, next->entry.body.len, &outcome, &e) < 0) {
            halt(a, op, e.msg);
            goto out;
        }
        if (outcome.kind != BODY_DDL_OUTCOME || outcome.ref_op != op) {
            proto_body_free(&outcome);
            halt(a, op, "DDL entry not followed by its outcome");
            goto out;
        }
        for (;;) {
            if (!ensure_session(a))
                break;
            if (backend_apply_ddl(a->bs, op, &it->entry, &body, &outcome, &rep, &e) == 0)
                break;
            log_warn("applier: DDL at op %llu: %s (retrying)", (unsigned long long)op, e.msg);
            note_failure(a);
            if (!err_usable(&e)) {
                backend_session_close(a->bs);
                a->bs = NULL;
            }
            usleep(200000);
            if (a->stop)
                break;
        }
        proto_body_free(&outcome);
        if (a->stop)
            goto out;
        if (rep.mismatch) {
            halt(a, op, rep.detail);
            goto out;
        }
        rc = 1;
        goto done;
    }
    for (;;) {
        if (!ensure_session(a))
            goto out;
        if (backend_apply(a->bs, op, &it->entry, &body, &rep, &e) == 0)
            break;
        log_warn("applier: op %llu: %s (retrying)", (unsigned long long)op, e.msg);
        note_failure(a);
        if (!err_usable(&e)) {
            backend_session_close(a->bs);
            a->bs = NULL;
        }
        usleep(200000);
        if (a->stop)
            goto out;
    }
    if (rep.mismatch) {
        halt(a, op, rep.detail);
        goto out;
    }
    rc = 1;
done:
    advance(a, op, body.ts_us, true);
out:
    proto_body_free(&body);
    return rc;
}

/* Re-execute the queued entries from `it` on as one batch, if at least two
 * transactions without an owner follow each other there (NOOP and DDL
 * outcome entries between them need no database work and are consumed
 * with them).  Returns how many queue items were applied (then `applied`
 * has advanced past them), 0 when the entries must go one by one. */
static uint32_t apply_batch(struct applier *a, struct item *it)
{
    struct item *its[BACKEND_BATCH_MAX];
    struct proto_body bodies[BACKEND_BATCH_MAX];
    struct backend_apply_item items[BACKEND_BATCH_MAX];
    struct backend_apply_report rep;
    struct err e;
    uint32_t n = 0, ndec = 0, ntxn = 0, take = 0;
    uint64_t max_ts = 0;

    if (it->owner || it->entry.op <= a->single_until)
        return 0;
    pthread_mutex_lock(&a->mu);
    for (struct item *x = it; x && n < BACKEND_BATCH_MAX && !x->owner && x->entry.op <= a->limit; x = x->next)
        its[n++] = x;
    pthread_mutex_unlock(&a->mu);
    /* (only this thread removes items: the pointers stay valid) */
    for (uint32_t i = 0; i < n; i++) {
        struct proto_body *b = &bodies[i];
        if (proto_body_decode(its[i]->entry.body.p, its[i]->entry.body.len, b, &e) < 0)
            break; /* apply_one halts on it */
        if (b->kind != BODY_TXN && b->kind != BODY_NOOP && b->kind != BODY_DDL_OUTCOME) {
            proto_body_free(b); /* a DDL ends the batch */
            break;
        }
        ndec = i + 1;
        if (b->kind == BODY_TXN) {
            items[ntxn].op = its[i]->entry.op;
            items[ntxn].entry = &its[i]->entry;
            items[ntxn].body = b;
            ntxn++;
        }
        if (b->ts_us > max_ts)
            max_ts = b->ts_us;
    }
    if (ntxn >= 2 && ensure_session(a)) {
        if (backend_apply_batch(a->bs, items, ntxn, &rep, &e) == 0 && !rep.mismatch) {
            take = ndec;
            advance(a, its[take - 1]->entry.op, max_ts, true);
        } else {
            log_info("applier: batch of ops %llu..%llu: %s; applying them one by one",
                     (unsigned long long)items[0].op, (unsigned long long)items[ntxn - 1].op,
                     rep.mismatch ? rep.detail : e.msg);
            if (!rep.mismatch && !err_usable(&e)) {
                backend_session_close(a->bs);
                a->bs = NULL;
            }
            a->single_until = items[ntxn - 1].op;
        }
    }
    for (uint32_t i = 0; i < ndec; i++)
        proto_body_free(&bodies[i]);
    return take;
}

/* Every few seconds, make what is applied durable in the backend and tell
 * the event loop, which may then drop log entries below it. */
static void maybe_flush(struct applier *a)
{
    uint64_t durable = 0;
    struct err e;
    struct mail *m;
    time_t now = mono_s();
    if (now - a->last_flush < FLUSH_INTERVAL_S)
        return;
    a->last_flush = now;
    if (backend_flush(a->be, &durable, &e) < 0) {
        log_warn("applier: backend flush: %s", e.msg);
        return;
    }
    if (durable <= a->flushed)
        return;
    a->flushed = durable;
    if ((m = mail_new(MAIL_FLUSHED))) {
        m->op = durable;
        replica_post(a->r, m);
    }
}

static void *applier_main(void *arg)
{
    struct applier *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        struct item *it = a->head;
        uint32_t nb;
        int rc;
        if (!it || a->halted || it->entry.op > a->limit) {
            pthread_cond_broadcast(&a->cv); /* quiet: wake applier_wait_quiet */
            struct timespec ts = mono_deadline(CHECK_INTERVAL_MS);
            mono_cond_wait(&a->cv, &a->mu, &ts);
            if (!a->stop && !a->halted) {
                bool primary = a->primary;
                pthread_mutex_unlock(&a->mu);
                if (primary && mono_ms() - a->last_check >= CHECK_INTERVAL_MS) {
                    a->last_check = mono_ms();
                    check_backend(a);
                }
                maybe_flush(a);
                pthread_mutex_lock(&a->mu);
            }
            continue;
        }
        if (it->dispatched) {
            /* its owner commits it and passes the turn on; a stream of the
             * primary's own commits may never come back here: flush anyway */
            struct timespec ts = mono_deadline(FLUSH_INTERVAL_S * 1000);
            if (mono_cond_wait(&a->cv, &a->mu, &ts) == ETIMEDOUT && !a->stop && !a->halted) {
                pthread_mutex_unlock(&a->mu);
                maybe_flush(a);
                pthread_mutex_lock(&a->mu);
            }
            continue;
        }
        if (it->owner) {
            struct session *to;
            struct job *j = dispatch_head(a, &to);
            if (j) {
                pthread_mutex_unlock(&a->mu);
                dispatch_send(to, j);
                pthread_mutex_lock(&a->mu);
            } else {
                struct timespec ts = mono_deadline(10); /* out of memory: try again soon */
                mono_cond_wait(&a->cv, &a->mu, &ts);
            }
            continue;
        }
        a->busy = true;
        pthread_mutex_unlock(&a->mu);
        if ((nb = apply_batch(a, it)) > 0) {
            struct item *done;
            pthread_mutex_lock(&a->mu);
            a->busy = false;
            done = a->head;
            for (uint32_t k = 0; k < nb; k++) {
                it = a->head;
                a->head = it->next;
                if (a->tail == it)
                    a->tail = NULL;
            }
            it->next = NULL;
            pthread_mutex_unlock(&a->mu);
            while (done) {
                struct item *next = done->next;
                item_free(done);
                done = next;
            }
            maybe_flush(a);
            pthread_mutex_lock(&a->mu);
            continue;
        }
        rc = apply_one(a, it);
        pthread_mutex_lock(&a->mu);
        a->busy = false;
        if (rc == 1) {
            a->head = it->next;
            if (a->tail == it)
                a->tail = NULL;
            pthread_mutex_unlock(&a->mu);
            item_free(it);
            maybe_flush(a);
            pthread_mutex_lock(&a->mu);
        } else if (rc == 0) {
            /* wait for the next push or a role change */
            uint64_t pushed = a->pushed, log_end = a->log_end;
            bool primary = a->primary;
            pthread_cond_broadcast(&a->cv); /* quiet */
            while (!a->stop && a->pushed == pushed && a->primary == primary &&
                   a->log_end == log_end)
                pthread_cond_wait(&a->cv, &a->mu);
        }
    }
    pthread_mutex_unlock(&a->mu);
    backend_session_close(a->bs);
    a->bs = NULL;
    return NULL;
}

struct applier *applier_start(struct replica *r, struct backend *be, struct shared *sh,
                              const struct cfg *cfg, struct err *e)
{
    struct applier *a = calloc(1, sizeof *a);
    int rc;
    if (!a) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    a->r = r;
    a->be = be;
    a->sh = sh;
    a->cfg = cfg;
    a->limit = UINT64_MAX;
    a->last_flush = mono_s();
    pthread_mutex_lock(&sh->mu);
    a->pushed = sh->applied;
    pthread_mutex_unlock(&sh->mu);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->bs = backend_session_open(be, NULL, NULL, NULL, e);
    if (!a->bs) {
        err_wrap(e, "opening the apply session");
        free(a);
        return NULL;
    }
    rc = pthread_create(&a->thread, NULL, applier_main, a);
    if (rc != 0) {
        backend_session_close(a->bs);
        free(a);
        err_set(e, ERR_LIMIT, "cannot start the applier thread: %s", strerror(rc));
        return NULL;
    }
    return a;
}

void applier_stop(struct applier *a)
{
    struct item *it;
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    while ((it = a->head)) {
        a->head = it->next;
        item_free(it);
    }
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}
