/* A client session: one thread that owns the client's backend session on
 * this replica and runs its requests in order (DESIGN.md section 3).
 *
 * Happy path of a write on the primary: EXEC arrives as a job -> the
 * statement runs in the client's backend transaction with its execution
 * context set first -> at COMMIT (or after an autocommit write) the logged
 * statements become an entry body, mailed to the event loop (MAIL_SUBMIT)
 * -> JOB_SUBMITTED gives its op -> once the entry commits the applier sends
 * JOB_DO_COMMIT and we commit the backend transaction with Recall's
 * bookkeeping, strictly in op order.  Reads run in a read-only snapshot at
 * any replica, with the snapshot's applied op in the reply.
 *
 * Failure modes: backend errors go back as ERROR with the backend's
 * SQLSTATE; a transaction the backend aborted (deadlock) is gone; the
 * replica losing its role (JOB_FAILOVER) rolls back whatever is open and the
 * next statement of that transaction gets 40001; the client disappearing
 * (JOB_QUIT) rolls back and releases the locks — but not while an entry of
 * ours is in the log undecided: jobs that arrive while we wait for our entry
 * (QUIT included) stay queued until it committed or the replica lost its
 * role.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "logging.h"
#include "mono.h"
#include "replica-internal.h"
#include "sqlclass.h"

#define DEFAULT_CHUNK_ROWS 100
#define MAX_CHUNK_ROWS 10000
#define CHUNK_BYTES (1024 * 1024)

enum sess_state {
    S_AUTH,        /* waiting for JOB_HELLO */
    S_IDLE,        /* no transaction */
    S_TXN,         /* read-write transaction open (primary) */
    S_READ,        /* read-only snapshot open (read or read-only transaction) */
    S_AUTOREAD,    /* autocommit read on the primary, in a backend transaction */
    S_SUBMIT,      /* entry mailed, waiting for JOB_SUBMITTED */
    S_AWAIT,       /* waiting for JOB_DO_COMMIT / JOB_DO_DDL of our entry */
    S_DEAD
};

static const char *const state_names[] = {
    "AUTH", "IDLE", "TXN", "READ", "AUTOREAD", "SUBMIT", "AWAIT", "DEAD"};

struct savepoint {
    char name[65];
    uint32_t nstmts;               /* logged statements before it */
};

struct session {
    atomic_int refs;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;       /* owned */
    bool dead;                     /* thread finished: answer jobs here */

    struct session_params p;       /* strings owned */
    enum sql_dialect dialect;
    struct backend_session *bs;    /* owned */
    enum sess_state state;

    /* the open read-write transaction */
    struct proto_list_stmt stmts;  /* logged statements, owned */
    struct savepoint *sps;         /* owned */
    uint32_t nsps;
    bool read_only_txn;            /* S_READ entered by TXN_BEGIN READ_ONLY */
    bool fenced;                   /* the open transaction passed its read fence */
    enum backend_iso next_iso;

    /* the open result set */
    bool cursor;
    uint64_t cursor_req;
    uint32_t cursor_ncols;

    /* the entry we wait on (S_SUBMIT/S_AWAIT): what it logged is stmts,
     * with wait_ts as its timestamp */
    uint64_t wait_req, wait_op, wait_ts;
    bool wait_ddl;
    uint64_t seed_state;
};

/* ---- small helpers ---- */

struct job *job_new(enum job_type type)
{
    struct job *j = calloc(1, sizeof *j);
    if (j)
        j->type = type;
    return j;
}

void job_free(struct job *j)
{
    if (!j)
        return;
    proto_msg_free(&j->msg);
    proto_entry_free(&j->entry);
    free(j);
}

static void set_state(struct session *s, enum sess_state to)
{
    static const unsigned allowed[] = {
        /* from AUTH */ 1u << S_IDLE | 1u << S_DEAD,
        /* IDLE */ 1u << S_TXN | 1u << S_READ | 1u << S_AUTOREAD | 1u << S_SUBMIT | 1u << S_DEAD | 1u << S_IDLE,
        /* TXN */ 1u << S_IDLE | 1u << S_SUBMIT | 1u << S_DEAD | 1u << S_TXN | 1u << S_AUTOREAD,
        /* READ */ 1u << S_IDLE | 1u << S_READ | 1u << S_DEAD,
        /* AUTOREAD */ 1u << S_IDLE | 1u << S_DEAD,
        /* SUBMIT */ 1u << S_AWAIT | 1u << S_IDLE | 1u << S_DEAD,
        /* AWAIT */ 1u << S_IDLE | 1u << S_DEAD,
        /* DEAD */ 0,
    };
    if (!(allowed[s->state] & (1u << to))) {
        log_error("session %llu: bad transition %s -> %s", (unsigned long long)s->p.conn_id,
                  state_names[s->state], state_names[to]);
        assert(!"bad session state transition");
    }
    s->state = to;
}

uint64_t session_conn_id(const struct session *s)
{
    return s->p.conn_id;
}

void session_ref(struct session *s)
{
    atomic_fetch_add(&s->refs, 1);
}

static void session_free(struct session *s)
{
    struct job *j;
    while ((j = s->head)) {
        s->head = j->next;
        job_free(j);
    }
    proto_list_stmt_resize(&s->stmts, 0);
    free(s->stmts.v);
    free(s->sps);
    free(s->p.user);
    if (s->p.password) {
        explicit_bzero(s->p.password, strlen(s->p.password));
        free(s->p.password);
    }
    free(s->p.database);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

void session_unref(struct session *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        session_free(s);
}

void session_push(struct session *s, struct job *j)
{
    pthread_mutex_lock(&s->mu);
    if (s->dead) {
        pthread_mutex_unlock(&s->mu);
        /* nobody will run it: the applier must not wait for us */
        if (j->type == JOB_DO_COMMIT || j->type == JOB_DO_DDL)
            applier_commit_result(s->p.ap, j->op, false, NULL);
        job_free(j);
        return;
    }
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    pthread_mutex_unlock(&s->mu);
    /* after unlocking: the woken thread does not block on s->mu at once
     * (the caller's reference keeps s alive) */
    pthread_cond_signal(&s->cv);
}

/* Whether job j may run in the current state (others wait in the queue). */
static bool eligible(const struct session *s, const struct job *j)
{
    switch (s->state) {
    case S_SUBMIT:
        return j->type == JOB_SUBMITTED || j->type == JOB_FAILOVER;
    case S_AWAIT:
        /* QUIT waits too: the entry's writes stay in our open backend
         * transaction until the log decides, so that nothing ordered after
         * it can run against a state without it */
        return j->type == JOB_DO_COMMIT || j->type == JOB_DO_DDL || j->type == JOB_FAILOVER;
    default:
        return true;
    }
}

static struct job *next_job(struct session *s)
{
    struct job *j, *prev;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        prev = NULL;
        for (j = s->head; j; prev = j, j = j->next) {
            if (eligible(s, j)) {
                if (prev)
                    prev->next = j->next;
                else
                    s->head = j->next;
                if (s->tail == j)
                    s->tail = prev;
                j->next = NULL;
                pthread_mutex_unlock(&s->mu);
                return j;
            }
        }
        pthread_cond_wait(&s->cv, &s->mu);
    }
}

static uint32_t max_frame(const struct session *s)
{
    return (uint32_t)s->p.cfg->max_frame;
}

static void send_msg(struct session *s, const struct proto_msg *m)
{
    struct mail *ml = mail_frame(MAIL_SEND, s->p.conn_id, m, max_frame(s));
    if (ml)
        replica_post(s->p.r, ml);
}

static void send_error(struct session *s, uint64_t req, const struct err *e)
{
    if (e->code == ERR_CORRUPT) {
        /* the database itself is damaged: this replica must stop serving
         * (and leading) and repair itself from a donor */
        struct mail *f = mail_new(MAIL_FATAL);
        if (f) {
            err_copy(&f->e, e);
            replica_post(s->p.r, f);
        }
    }
    struct mail *ml = mail_error(s->p.conn_id, req, e, max_frame(s));
    if (ml) {
        /* the backend connection is gone: nothing more can run on this
         * session, so the client connection closes after the answer and
         * the client's next connection gets a session of its own (a
         * database that came back, or an authentication error while it
         * is still down) instead of this error for ever */
        ml->close = e->code == ERR_CONN_LOST;
        replica_post(s->p.r, ml);
    }
}

static void send_err(struct session *s, uint64_t req, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void send_err(struct session *s, uint64_t req, enum err_code code, const char *fmt, ...)
{
    struct err e;
    va_list ap;
    va_start(ap, fmt);
    err_setv(&e, code, fmt, ap);
    va_end(ap);
    send_error(s, req, &e);
}

static uint64_t rand64(struct session *s)
{
    uint64_t x = s->seed_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->seed_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Fill the status fields of a RESULT from the shared snapshot. */
static void fill_status(struct session *s, struct proto_result *res, uint64_t applied)
{
    struct shared *sh = s->p.sh;
    pthread_mutex_lock(&sh->mu);
    res->view = sh->view;
    res->status = sh->status;
    res->op = sh->op;
    res->commit = sh->commit;
    pthread_mutex_unlock(&sh->mu);
    res->replica = s->p.self;
    res->applied = applied;
}

static bool is_primary_ready(struct session *s)
{
    bool ok;
    pthread_mutex_lock(&s->p.sh->mu);
    ok = s->p.sh->is_primary && s->p.sh->ready;
    pthread_mutex_unlock(&s->p.sh->mu);
    return ok;
}

/* The error for a statement that needs a ready primary here. */
static void send_not_primary(struct session *s, uint64_t req)
{
    bool primary;
    pthread_mutex_lock(&s->p.sh->mu);
    primary = s->p.sh->is_primary;
    pthread_mutex_unlock(&s->p.sh->mu);
    if (primary)
        send_err(s, req, ERR_NOT_READY,
                 "replica %u is the primary but still catching up with its log; retry", s->p.self);
    else
        send_err(s, req, ERR_NOT_PRIMARY, "replica %u is not the primary", s->p.self);
}

static uint64_t applied_now(struct session *s)
{
    uint64_t a;
    pthread_mutex_lock(&s->p.sh->mu);
    a = s->p.sh->applied;
    pthread_mutex_unlock(&s->p.sh->mu);
    return a;
}

static size_t cell_bytes(const struct proto_value *v)
{
    return 9 + ((v->type == PV_TEXT || v->type == PV_BLOB) ? v->len : 0);
}

/* Fetch up to max_rows rows (bounded by CHUNK_BYTES) into cells.  *more
 * says whether rows remain. */
static int fetch_chunk(struct session *s, uint32_t ncols, uint32_t max_rows,
                       struct proto_list_value *cells, bool *more, struct err *e)
{
    size_t bytes = 0;
    uint32_t rows = 0;
    *more = true;
    if (max_rows == 0)
        max_rows = DEFAULT_CHUNK_ROWS;
    if (max_rows > MAX_CHUNK_ROWS)
        max_rows = MAX_CHUNK_ROWS;
    while (*more && rows < max_rows && bytes < CHUNK_BYTES) {
        uint32_t before = cells->n, batch = max_rows - rows;
        if (batch > 16)
            batch = 16;
        if (backend_fetch(s->bs, batch, cells, more, e) < 0)
            return -1;
        for (uint32_t i = before; i < cells->n; i++)
            bytes += cell_bytes(&cells->v[i]);
        rows += ncols ? (cells->n - before) / ncols : 0;
        if (cells->n == before)
            break;
    }
    if (bytes + 4096 > max_frame(s))
        return err_set(e, ERR_LIMIT, "a row of %zu bytes does not fit in max_frame (%u)", bytes,
                       max_frame(s));
    return 0;
}

/* Send the first reply of a statement: status, columns, first chunk. */
static int reply_result(struct session *s, uint64_t req, uint32_t chunk_rows,
                        struct backend_result *br, uint64_t applied, uint32_t extra_flags,
                        struct mail **held, bool *cursor_left, struct err *e)
{
    struct proto_msg m;
    bool more = false;
    int rc = -1;

    memset(&m, 0, sizeof m);
    m.type = MSG_RESULT;
    m.u.result.req = req;
    m.u.result.flags = extra_flags;
    fill_status(s, &m.u.result, applied);
    m.u.result.affected = br->affected;
    m.u.result.insert_id = br->insert_id;
    m.u.result.warnings = br->warnings;
    m.u.result.columns = br->columns; /* borrowed */
    m.u.result.info = br->info;       /* borrowed */
    if (br->has_rows) {
        m.u.result.flags |= PROTO_RESULT_ROWS;
        if (fetch_chunk(s, br->columns.n, chunk_rows, &m.u.result.cells, &more, e) < 0)
            goto out;
        if (more)
            m.u.result.flags |= PROTO_RESULT_MORE;
    }
    *cursor_left = more;
    s->cursor_ncols = br->columns.n;
    if (held) {
        *held = mail_frame(MAIL_SEND, s->p.conn_id, &m, max_frame(s));
        if (!*held) {
            err_set(e, ERR_LIMIT, "result does not fit in max_frame");
            goto out;
        }
    } else {
        send_msg(s, &m);
    }
    rc = 0;
out:
    /* give back the borrowed parts before freeing */
    memset(&m.u.result.columns, 0, sizeof m.u.result.columns);
    memset(&m.u.result.info, 0, sizeof m.u.result.info);
    proto_msg_free(&m);
    return rc;
}

/* ---- transactions ---- */

static void clear_txn(struct session *s)
{
    proto_list_stmt_resize(&s->stmts, 0);
    s->nsps = 0;
}

static void txn_count(struct session *s, int delta)
{
    struct shared *sh = s->p.sh;
    pthread_mutex_lock(&sh->mu);
    sh->open_txns += delta;
    pthread_cond_broadcast(&sh->barrier_cv);
    pthread_mutex_unlock(&sh->mu);
}

static void close_cursor(struct session *s)
{
    if (!s->cursor)
        return;
    backend_fetch_close(s->bs);
    s->cursor = false;
}

/* End whatever is open, without committing anything logged. */
static void abandon(struct session *s)
{
    struct err e;
    close_cursor(s);
    switch (s->state) {
    case S_TXN:
    case S_AUTOREAD:
    case S_SUBMIT:
    case S_AWAIT:
        if (backend_rollback(s->bs, &e) < 0)
            log_warn("session %llu: rollback: %s", (unsigned long long)s->p.conn_id, e.msg);
        if (s->state != S_AUTOREAD)
            txn_count(s, -1);
        clear_txn(s);
        set_state(s, S_IDLE);
        break;
    case S_READ:
        backend_read_end(s->bs);
        s->read_only_txn = false;
        set_state(s, S_IDLE);
        break;
    default:
        break;
    }
}

/* Reads at the primary see every write acknowledged before they began.  A
 * client may count an entry as committed (its backups' ACKs) before the
 * primary has applied it, so a read waits until the primary applied its
 * whole log as of the read's start (vr_op(), published before any of those
 * acknowledgements left). */
static int primary_read_fence(struct session *s, struct err *e)
{
    uint64_t op, a;
    pthread_mutex_lock(&s->p.sh->mu);
    op = s->p.sh->op;
    pthread_mutex_unlock(&s->p.sh->mu);
    a = shared_wait_applied(s->p.sh, op, (unsigned)s->p.cfg->read_fence_timeout_ms);
    if (a < op)
        return err_set(e, ERR_NOT_READY,
                       "the primary has applied op %llu of %llu within the read fence timeout; "
                       "retry", (unsigned long long)a, (unsigned long long)op);
    s->fenced = true;
    return 0;
}

/* Begin a read-write transaction, respecting the DDL barrier. */
static int begin_txn(struct session *s, enum backend_iso iso, struct err *e)
{
    struct shared *sh = s->p.sh;
    struct timespec until = mono_deadline((s->p.cfg->ddl_wait_ms / 1000 + 1) * 2000);
    pthread_mutex_lock(&sh->mu);
    while (sh->barrier && !sh->stopping)
        if (mono_cond_wait(&sh->barrier_cv, &sh->mu, &until) == ETIMEDOUT)
            break;
    if (sh->barrier) {
        pthread_mutex_unlock(&sh->mu);
        return err_set(e, ERR_NOT_READY, "a DDL statement is in progress; retry");
    }
    sh->open_txns++;
    pthread_mutex_unlock(&sh->mu);
    if (backend_begin(s->bs, iso ? iso : s->next_iso, e) < 0) {
        txn_count(s, -1);
        return -1;
    }
    s->fenced = false;
    clear_txn(s);
    set_state(s, S_TXN);
    return 0;
}

/* Build the entry body of the open transaction. */
static int encode_body(struct session *s, uint8_t kind, struct buf *out, struct err *e)
{
    struct proto_body body;
    memset(&body, 0, sizeof body);
    body.kind = kind;
    body.ts_us = s->wait_ts = shared_next_ts(s->p.sh);
    body.stmts = s->stmts; /* borrowed */
    buf_init(out);
    if (proto_body_encode(&body, out) < 0) {
        buf_close(out);
        return err_set(e, ERR_NOMEM, "encoding the transaction: out of memory");
    }
    if (out->len > s->p.cfg->max_entry) {
        size_t len = out->len;
        buf_close(out);
        return err_set(e, ERR_LIMIT,
                       "transaction too large: %zu bytes of logged statements exceed max_entry "
                       "(%llu); split it into smaller transactions",
                       len, (unsigned long long)s->p.cfg->max_entry);
    }
    return 0;
}

/* Mail the open transaction's statements as an entry for request req. */
static int submit(struct session *s, uint64_t req, uint8_t kind, struct mail *held, struct err *e)
{
    struct mail *ml = mail_new(MAIL_SUBMIT);
    if (!ml) {
        mail_free(held);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    if (encode_body(s, kind, &ml->bytes, e) < 0) {
        mail_free(held);
        mail_free(ml);
        return -1;
    }
    if (held) {
        ml->held = held->bytes; /* take the framed RESULT */
        buf_init(&held->bytes);
        mail_free(held);
    }
    ml->conn_id = s->p.conn_id;
    ml->client = s->p.client;
    ml->req = req;
    ml->s = s;
    session_ref(s);
    s->wait_req = req;
    s->wait_op = 0;
    s->wait_ddl = kind == BODY_DDL;
    set_state(s, S_SUBMIT);
    replica_post(s->p.r, ml);
    return 0;
}

/* Hand a reply to the event loop to be sent after a ReadIndex round. */
static void reply_after_read_index(struct session *s, uint64_t req, struct mail *frame)
{
    frame->type = MAIL_READ_INDEX;
    frame->req = req;
    replica_post(s->p.r, frame);
}

/* COMMIT of the open read-write transaction. */
static void do_commit(struct session *s, uint64_t req)
{
    struct err e;
    close_cursor(s);
    if (s->state == S_READ) {
        backend_read_end(s->bs);
        s->read_only_txn = false;
        set_state(s, S_IDLE);
        goto ok;
    }
    if (s->state != S_TXN)
        goto ok; /* COMMIT without a transaction is a no-op, as in MySQL */
    if (s->stmts.n == 0) {
        /* nothing written: confirmed by a ReadIndex round, not the log */
        struct proto_msg m;
        struct mail *ml;
        if (backend_commit_empty(s->bs, &e) < 0) {
            abandon(s);
            send_error(s, req, &e);
            return;
        }
        txn_count(s, -1);
        set_state(s, S_IDLE);
        memset(&m, 0, sizeof m);
        m.type = MSG_RESULT;
        m.u.result.req = req;
        fill_status(s, &m.u.result, applied_now(s));
        if ((ml = mail_frame(MAIL_SEND, s->p.conn_id, &m, max_frame(s))))
            reply_after_read_index(s, req, ml);
        proto_msg_free(&m);
        return;
    }
    if (!is_primary_ready(s)) {
        abandon(s);
        send_err(s, req, ERR_FAILOVER, "transaction rolled back by failover; retry");
        return;
    }
    if (submit(s, req, BODY_TXN, NULL, &e) < 0) {
        abandon(s);
        send_error(s, req, &e);
    }
    return;
ok: {
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_RESULT;
    m.u.result.req = req;
    fill_status(s, &m.u.result, applied_now(s));
    send_msg(s, &m);
    proto_msg_free(&m);
}
}

static void do_rollback(struct session *s, uint64_t req)
{
    struct proto_msg m;
    abandon(s);
    memset(&m, 0, sizeof m);
    m.type = MSG_RESULT;
    m.u.result.req = req;
    fill_status(s, &m.u.result, applied_now(s));
    send_msg(s, &m);
    proto_msg_free(&m);
}

static void reply_ok(struct session *s, uint64_t req)
{
    struct proto_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_RESULT;
    m.u.result.req = req;
    fill_status(s, &m.u.result, applied_now(s));
    send_msg(s, &m);
    proto_msg_free(&m);
}

static enum backend_iso iso_from_sql(enum sql_isolation iso)
{
    return iso == SQL_ISO_SERIALIZABLE ? ISO_SERIALIZABLE
           : iso == SQL_ISO_REPEATABLE_READ ? ISO_REPEATABLE_READ
                                            : ISO_DEFAULT;
}

/* ---- reads at any replica ---- */

static void do_read(struct session *s, const struct proto_exec *x)
{
    struct backend_result br;
    struct err e;
    uint64_t a;
    bool more = false;

    close_cursor(s);
    if (s->state == S_READ && !(x->flags & PROTO_EXEC_CONTINUE)) {
        backend_read_end(s->bs);
        s->read_only_txn = false;
        set_state(s, S_IDLE);
    }
    if (s->state == S_TXN || s->state == S_AUTOREAD) {
        send_err(s, x->req, ERR_STATE,
                 "a read-write transaction is open on this connection; reads in it go to the "
                 "primary");
        return;
    }
    if (s->state != S_READ) {
        if (x->fence) {
            a = shared_wait_applied(s->p.sh, x->fence, (unsigned)s->p.cfg->read_fence_timeout_ms);
            if (a < x->fence) {
                send_err(s, x->req, ERR_NOT_READY,
                         "replica %u has applied op %llu, behind the requested fence %llu", s->p.self,
                         (unsigned long long)a, (unsigned long long)x->fence);
                return;
            }
        }
        /* an autocommit read: its statement's own snapshot is at least
         * as recent as the applied op read now */
        a = applied_now(s);
        if (backend_read_begin(s->bs, NULL, &e) < 0) {
            send_error(s, x->req, &e);
            return;
        }
        set_state(s, S_READ);
    } else {
        a = applied_now(s); /* same snapshot as the transaction's first read */
    }
    if (backend_read_exec(s->bs, x->sql.p, x->sql.len, &x->params, &br, &e) < 0) {
        send_error(s, x->req, &e);
        if (!s->read_only_txn) {
            backend_read_end(s->bs);
            set_state(s, S_IDLE);
        }
        return;
    }
    if (reply_result(s, x->req, x->chunk_rows, &br, a, 0, NULL, &more, &e) < 0) {
        send_error(s, x->req, &e);
        more = false;
    }
    backend_result_free(&br);
    if (more) {
        s->cursor = true;
        s->cursor_req = x->req;
    } else if (!s->read_only_txn) {
        backend_read_end(s->bs);
        set_state(s, S_IDLE);
    }
}

/* A read sent to the primary for a ReadIndex-confirmed answer. */
static void do_primary_read(struct session *s, const struct proto_exec *x)
{
    struct backend_result br;
    struct mail *held = NULL;
    struct err e;
    uint64_t a;
    bool more = false;

    if (!is_primary_ready(s)) {
        send_not_primary(s, x->req);
        return;
    }
    close_cursor(s);
    if (s->state == S_READ) {
        backend_read_end(s->bs);
        set_state(s, S_IDLE);
    }
    if (primary_read_fence(s, &e) < 0 || backend_read_begin(s->bs, &a, &e) < 0) {
        send_error(s, x->req, &e);
        return;
    }
    set_state(s, S_READ);
    if (backend_read_exec(s->bs, x->sql.p, x->sql.len, &x->params, &br, &e) < 0) {
        send_error(s, x->req, &e);
        backend_read_end(s->bs);
        set_state(s, S_IDLE);
        return;
    }
    if (reply_result(s, x->req, x->chunk_rows, &br, a, PROTO_RESULT_CONFIRMED, &held, &more, &e) < 0) {
        send_error(s, x->req, &e);
        more = false;
    } else {
        reply_after_read_index(s, x->req, held);
    }
    backend_result_free(&br);
    if (more) {
        s->cursor = true;
        s->cursor_req = x->req;
    } else {
        backend_read_end(s->bs);
        set_state(s, S_IDLE);
    }
}

/* ---- statements at the primary ---- */

static void do_ddl(struct session *s, const struct proto_exec *x)
{
    struct shared *sh = s->p.sh;
    struct proto_stmt *st;
    struct timespec until;
    struct err e;
    long ms = (long)s->p.cfg->ddl_wait_ms;

    if (s->state == S_TXN) {
        /* DDL commits the open transaction first, as MySQL does; one that
         * wrote must go through the log first: ask the client to commit */
        if (s->stmts.n) {
            send_err(s, x->req, ERR_STATE,
                     "DDL inside a transaction with writes: COMMIT first (Recall commits through "
                     "the log and cannot do it implicitly)");
            return;
        }
        abandon(s);
    }
    /* barrier: no new read-write transactions; wait for open ones */
    pthread_mutex_lock(&sh->mu);
    if (sh->barrier) {
        pthread_mutex_unlock(&sh->mu);
        send_err(s, x->req, ERR_NOT_READY, "another DDL statement is in progress; retry");
        return;
    }
    sh->barrier = true;
    until = mono_deadline((unsigned)ms);
    while (sh->open_txns > 0 && !sh->stopping)
        if (mono_cond_wait(&sh->barrier_cv, &sh->mu, &until) == ETIMEDOUT)
            break;
    if (sh->open_txns > 0) {
        int n = sh->open_txns;
        sh->barrier = false;
        pthread_cond_broadcast(&sh->barrier_cv);
        pthread_mutex_unlock(&sh->mu);
        send_err(s, x->req, ERR_TIMEOUT,
                 "DDL waited %ld ms for %d open transaction(s) to finish; it was not run. Retry "
                 "when they have committed", ms, n);
        return;
    }
    sh->open_txns++; /* the DDL itself */
    pthread_mutex_unlock(&sh->mu);

    clear_txn(s);
    if (proto_list_stmt_resize(&s->stmts, 1) < 0)
        goto nomem;
    st = &s->stmts.v[0];
    {
        /* the DDL is logged before it runs: its record carries the session
         * environment (database, sql_mode, ...) the backups replay it in */
        struct backend_ctx ctx = {shared_next_ts(sh), rand64(s), rand64(s)};
        if (backend_describe(s->bs, x->sql.p, x->sql.len, &x->params, &ctx, st, &e) < 0)
            goto fail;
    }
    set_state(s, S_TXN);
    if (submit(s, x->req, BODY_DDL, NULL, &e) < 0)
        goto fail;
    return;
nomem:
    err_set(&e, ERR_NOMEM, "out of memory");
fail:
    clear_txn(s);
    if (s->state == S_TXN)
        set_state(s, S_IDLE);
    txn_count(s, -1);
    pthread_mutex_lock(&sh->mu);
    sh->barrier = false;
    pthread_cond_broadcast(&sh->barrier_cv);
    pthread_mutex_unlock(&sh->mu);
    send_error(s, x->req, &e);
}

static int savepoint_op(struct session *s, const struct sql_info *info, struct err *e)
{
    uint32_t i;
    if (s->state != S_TXN)
        return err_set(e, ERR_STATE, "savepoint statements need an open transaction");
    if (!info->name[0])
        return err_set(e, ERR_INVALID, "savepoint name missing");
    for (i = s->nsps; i > 0; i--)
        if (strcasecmp(s->sps[i - 1].name, info->name) == 0)
            break;
    switch (info->kind) {
    case SQL_SAVEPOINT: {
        struct savepoint *v;
        if (backend_savepoint(s->bs, info->name, e) < 0)
            return -1;
        if (i > 0) /* redefining a savepoint moves it */
            s->nsps = i - 1;
        v = realloc(s->sps, (s->nsps + 1) * sizeof *v);
        if (!v)
            return err_set(e, ERR_NOMEM, "out of memory");
        s->sps = v;
        snprintf(v[s->nsps].name, sizeof v[s->nsps].name, "%s", info->name);
        v[s->nsps].nstmts = s->stmts.n;
        s->nsps++;
        return 0;
    }
    case SQL_ROLLBACK_TO:
        if (i == 0)
            return err_set_sql(e, ERR_SQL, "42000", 1305, "SAVEPOINT %s does not exist", info->name);
        if (backend_rollback_to(s->bs, info->name, e) < 0)
            return -1;
        /* statements undone by ROLLBACK TO are not logged */
        proto_list_stmt_resize(&s->stmts, s->sps[i - 1].nstmts);
        s->nsps = i; /* the savepoint itself survives */
        return 0;
    default: /* RELEASE */
        if (i == 0)
            return err_set_sql(e, ERR_SQL, "42000", 1305, "SAVEPOINT %s does not exist", info->name);
        if (backend_release(s->bs, info->name, e) < 0)
            return -1;
        s->nsps = i - 1;
        return 0;
    }
}

/* A retried write the event loop did not find in the in-memory log: the
 * recall_clients table remembers the latest logged request of each client.
 * Returns true if answered from it. */
static bool answer_saved(struct session *s, uint64_t req, bool exec)
{
    struct backend_client_row row;
    struct proto_msg m;
    struct err e;
    bool found = false;

    if (backend_client_lookup(s->p.be, &s->p.client, &row, &found, &e) < 0) {
        log_warn("session: looking up a retried request: %s", e.msg);
        return false;
    }
    if (!found || row.req != req)
        return false;
    if (exec) {
        memset(&m, 0, sizeof m);
        m.type = MSG_RESULT;
        m.u.result.req = req;
        m.u.result.flags = PROTO_RESULT_SAVED;
        fill_status(s, &m.u.result, applied_now(s));
        m.u.result.affected = row.affected;
        m.u.result.insert_id = row.insert_id;
        m.u.result.log_op = row.op;
        send_msg(s, &m);
    }
    memset(&m, 0, sizeof m);
    m.type = MSG_COMMITTED;
    pthread_mutex_lock(&s->p.sh->mu);
    m.u.committed.view = s->p.sh->view;
    pthread_mutex_unlock(&s->p.sh->mu);
    m.u.committed.op = row.op;
    m.u.committed.req = req;
    send_msg(s, &m);
    return true;
}

static void do_exec(struct session *s, const struct proto_exec *x)
{
    struct sql_info info;
    struct backend_result br;
    struct backend_ctx ctx;
    struct err e;
    bool aborted = false, more = false, autocommit = x->flags & PROTO_EXEC_AUTOCOMMIT;

    if ((x->flags & PROTO_EXEC_RETRY) && autocommit && s->state != S_TXN &&
        answer_saved(s, x->req, true))
        return;
    sqlclass(x->sql.p, x->sql.len, s->dialect, &info);

    if (x->flags & PROTO_EXEC_READ_INDEX) {
        do_primary_read(s, x);
        return;
    }
    if (x->flags & PROTO_EXEC_READ) {
        do_read(s, x);
        return;
    }
    if (x->flags & PROTO_EXEC_SESSION || info.kind == SQL_SET || info.kind == SQL_USE) {
        /* session environment: run here, never logged */
        if (backend_exec(s->bs, x->sql.p, x->sql.len, &x->params, NULL, &br, &aborted, &e) < 0) {
            send_error(s, x->req, &e);
            return;
        }
        if (br.is_write) {
            backend_result_free(&br);
            send_err(s, x->req, ERR_REFUSED, "a session statement may not write");
            return;
        }
        if (reply_result(s, x->req, x->chunk_rows, &br, applied_now(s), 0, NULL, &more, &e) < 0)
            send_error(s, x->req, &e);
        backend_result_free(&br);
        if (more)
            backend_fetch_close(s->bs);
        return;
    }
    if (info.kind == SQL_EMPTY) {
        send_err(s, x->req, ERR_INVALID, "empty statement");
        return;
    }
    if (info.kind == SQL_REFUSED || (info.refusal && info.kind != SQL_READ)) {
        send_err(s, x->req, ERR_REFUSED, "%s", info.refusal ? info.refusal : "statement refused");
        return;
    }
    if (info.multi) {
        send_err(s, x->req, ERR_REFUSED,
                 "multi-statement strings are refused: send one statement per call");
        return;
    }
    if ((x->flags & PROTO_EXEC_CONTINUE) && s->state != S_TXN) {
        send_err(s, x->req, ERR_FAILOVER, "transaction rolled back by failover; retry");
        return;
    }
    close_cursor(s);
    if (s->state == S_READ && !s->read_only_txn) {
        backend_read_end(s->bs);
        set_state(s, S_IDLE);
    }

    switch (info.kind) {
    case SQL_BEGIN:
        if (info.read_only) {
            send_err(s, x->req, ERR_INVALID,
                     "START TRANSACTION READ ONLY: use the read-only transaction API (TXN_BEGIN) "
                     "so it can run at any replica");
            return;
        }
        if (!is_primary_ready(s)) {
            send_not_primary(s, x->req);
            return;
        }
        if (s->state == S_TXN && s->stmts.n) {
            send_err(s, x->req, ERR_STATE, "a transaction with writes is open: COMMIT it first");
            return;
        }
        abandon(s);
        if (begin_txn(s, iso_from_sql(info.isolation), &e) < 0)
            send_error(s, x->req, &e);
        else
            reply_ok(s, x->req);
        return;
    case SQL_COMMIT:
        do_commit(s, x->req);
        return;
    case SQL_ROLLBACK:
        do_rollback(s, x->req);
        return;
    case SQL_SAVEPOINT:
    case SQL_ROLLBACK_TO:
    case SQL_RELEASE:
        if (savepoint_op(s, &info, &e) < 0)
            send_error(s, x->req, &e);
        else
            reply_ok(s, x->req);
        return;
    case SQL_SET_AUTOCOMMIT:
        /* autocommit is the client's state; turning it on commits, as in MySQL */
        if (info.autocommit && s->state == S_TXN)
            do_commit(s, x->req);
        else
            reply_ok(s, x->req);
        return;
    case SQL_SET_TRANSACTION:
        if (info.isolation == SQL_ISO_READ_COMMITTED || info.isolation == SQL_ISO_READ_UNCOMMITTED) {
            send_err(s, x->req, ERR_REFUSED,
                     "isolation below REPEATABLE READ is refused: statement-based replication "
                     "needs commit order to be a serialization order");
            return;
        }
        if (info.isolation != SQL_ISO_NONE)
            s->next_iso = iso_from_sql(info.isolation);
        reply_ok(s, x->req);
        return;
    case SQL_DDL:
        if (!is_primary_ready(s)) {
            send_not_primary(s, x->req);
            return;
        }
        do_ddl(s, x);
        return;
    case SQL_READ:
    case SQL_LOCKING_READ:
        if (autocommit && s->state != S_TXN) {
            do_primary_read(s, x);
            return;
        }
        break;
    default:
        break;
    }

    /* a statement in a read-write transaction at the primary */
    if (!is_primary_ready(s)) {
        if (s->state == S_TXN) {
            abandon(s);
            send_err(s, x->req, ERR_FAILOVER, "transaction rolled back by failover; retry");
        } else {
            send_not_primary(s, x->req);
        }
        return;
    }
    if (s->state == S_READ) {
        send_err(s, x->req, ERR_STATE, "the open transaction is read-only");
        return;
    }
    if (s->state != S_TXN && begin_txn(s, ISO_DEFAULT, &e) < 0) {
        send_error(s, x->req, &e);
        return;
    }
    if (!s->fenced && info.kind != SQL_WRITE && primary_read_fence(s, &e) < 0) {
        /* a statement that may read plainly (not only through locks) */
        if (autocommit)
            abandon(s);
        send_error(s, x->req, &e);
        return;
    }
    ctx.ts_us = shared_next_ts(s->p.sh);
    ctx.seed1 = rand64(s);
    ctx.seed2 = rand64(s);
    if (backend_exec(s->bs, x->sql.p, x->sql.len, &x->params, &ctx, &br, &aborted, &e) < 0) {
        if (aborted || autocommit)
            abandon(s);
        send_error(s, x->req, &e);
        return;
    }
    if (br.is_write) {
        /* keep the statement for the log (moved out of the result) */
        if (proto_list_stmt_resize(&s->stmts, s->stmts.n + 1) < 0) {
            backend_result_free(&br);
            abandon(s);
            send_err(s, x->req, ERR_NOMEM, "out of memory");
            return;
        }
        s->stmts.v[s->stmts.n - 1] = br.stmt;
        memset(&br.stmt, 0, sizeof br.stmt);
    }
    if (autocommit && s->stmts.n) {
        struct mail *held = NULL;
        if (reply_result(s, x->req, MAX_CHUNK_ROWS, &br, applied_now(s), PROTO_RESULT_PENDING, &held,
                         &more, &e) < 0) {
            backend_result_free(&br);
            abandon(s);
            send_error(s, x->req, &e);
            return;
        }
        backend_result_free(&br);
        if (more) {
            /* its rows must all travel in the held RESULT */
            mail_free(held);
            abandon(s);
            send_err(s, x->req, ERR_LIMIT,
                     "the rows this write returns do not fit in one reply: run it inside a "
                     "transaction, where they stream");
            return;
        }
        if (submit(s, x->req, BODY_TXN, held, &e) < 0) {
            abandon(s);
            send_error(s, x->req, &e);
        }
        return;
    }
    if (autocommit) {
        /* wrote nothing: a read after all; commit and confirm by ReadIndex */
        struct mail *held = NULL;
        if (reply_result(s, x->req, x->chunk_rows, &br, applied_now(s), PROTO_RESULT_CONFIRMED,
                         &held, &more, &e) < 0) {
            backend_result_free(&br);
            abandon(s);
            send_error(s, x->req, &e);
            return;
        }
        backend_result_free(&br);
        if (more) {
            txn_count(s, -1);
            set_state(s, S_AUTOREAD);
            s->cursor = true;
            s->cursor_req = x->req;
        } else {
            if (backend_commit_empty(s->bs, &e) < 0)
                log_warn("session: commit of a read: %s", e.msg);
            txn_count(s, -1);
            set_state(s, S_IDLE);
        }
        reply_after_read_index(s, x->req, held);
        return;
    }
    if (reply_result(s, x->req, x->chunk_rows, &br, applied_now(s), 0, NULL, &more, &e) < 0)
        send_error(s, x->req, &e);
    backend_result_free(&br);
    if (more) {
        s->cursor = true;
        s->cursor_req = x->req;
    }
}

static void do_fetch(struct session *s, const struct proto_fetch *f)
{
    struct proto_msg m;
    struct err e;
    bool more = false;

    if (!s->cursor || f->req != s->cursor_req) {
        send_err(s, f->req, ERR_STATE, "no open result for request %llu",
                 (unsigned long long)f->req);
        return;
    }
    memset(&m, 0, sizeof m);
    m.type = MSG_ROWS;
    m.u.rows.req = f->req;
    if (fetch_chunk(s, s->cursor_ncols, f->max_rows ? f->max_rows : DEFAULT_CHUNK_ROWS, &m.u.rows.cells, &more,
                    &e) < 0) {
        proto_msg_free(&m);
        send_error(s, f->req, &e);
        more = false;
    } else {
        if (more)
            m.u.rows.flags |= PROTO_RESULT_MORE;
        send_msg(s, &m);
        proto_msg_free(&m);
    }
    if (!more) {
        s->cursor = false;
        backend_fetch_close(s->bs);
        if (s->state == S_READ && !s->read_only_txn) {
            backend_read_end(s->bs);
            set_state(s, S_IDLE);
        } else if (s->state == S_AUTOREAD) {
            if (backend_commit_empty(s->bs, &e) < 0)
                log_warn("session: commit of a read: %s", e.msg);
            set_state(s, S_IDLE);
        }
    }
}

static void do_close_cursor(struct session *s, uint64_t req)
{
    struct err e;
    if (!s->cursor || req != s->cursor_req)
        return;
    close_cursor(s);
    if (s->state == S_READ && !s->read_only_txn) {
        backend_read_end(s->bs);
        set_state(s, S_IDLE);
    } else if (s->state == S_AUTOREAD) {
        if (backend_commit_empty(s->bs, &e) < 0)
            log_warn("session: commit of a read: %s", e.msg);
        set_state(s, S_IDLE);
    }
}

static void do_txn(struct session *s, const struct proto_txn *t)
{
    struct err e;
    uint64_t a;
    switch (t->action) {
    case TXN_BEGIN:
        if (t->flags & PROTO_TXN_READ_ONLY) {
            abandon(s);
            if (backend_read_begin(s->bs, &a, &e) < 0) {
                send_error(s, t->req, &e);
                return;
            }
            s->read_only_txn = true;
            set_state(s, S_READ);
            {
                struct proto_msg m;
                memset(&m, 0, sizeof m);
                m.type = MSG_RESULT;
                m.u.result.req = t->req;
                fill_status(s, &m.u.result, a);
                send_msg(s, &m);
                proto_msg_free(&m);
            }
            return;
        }
        if (!is_primary_ready(s)) {
            send_not_primary(s, t->req);
            return;
        }
        if (s->state == S_TXN && s->stmts.n) {
            send_err(s, t->req, ERR_STATE, "a transaction with writes is open: COMMIT it first");
            return;
        }
        abandon(s);
        {
            enum backend_iso iso = ISO_DEFAULT;
            if ((t->flags & PROTO_TXN_ISO_MASK) == PROTO_TXN_ISO_SERIALIZABLE)
                iso = ISO_SERIALIZABLE;
            else if ((t->flags & PROTO_TXN_ISO_MASK) == PROTO_TXN_ISO_REPEATABLE_READ)
                iso = ISO_REPEATABLE_READ;
            if (begin_txn(s, iso, &e) < 0)
                send_error(s, t->req, &e);
            else
                reply_ok(s, t->req);
        }
        return;
    case TXN_COMMIT:
        if (s->state != S_TXN && s->state != S_READ && answer_saved(s, t->req, false))
            return;
        if ((t->flags & PROTO_TXN_CONTINUE) && s->state != S_TXN && s->state != S_READ) {
            /* the client's transaction is gone (failover): never "commit" it */
            send_err(s, t->req, ERR_FAILOVER, "transaction rolled back by failover; retry");
            return;
        }
        do_commit(s, t->req);
        return;
    case TXN_ROLLBACK:
        do_rollback(s, t->req);
        return;
    default:
        send_err(s, t->req, ERR_INVALID, "unknown transaction action %u", t->action);
    }
}

/* ---- the entry we wait for ---- */

static void on_submitted(struct session *s, struct job *j)
{
    if (j->e.code != ERR_OK) {
        bool ddl = s->wait_ddl;
        abandon(s);
        if (ddl) {
            pthread_mutex_lock(&s->p.sh->mu);
            s->p.sh->barrier = false;
            pthread_cond_broadcast(&s->p.sh->barrier_cv);
            pthread_mutex_unlock(&s->p.sh->mu);
        }
        send_error(s, s->wait_req, &j->e);
        return;
    }
    s->wait_op = j->op;
    set_state(s, S_AWAIT);
}

static void end_ddl_barrier(struct session *s)
{
    pthread_mutex_lock(&s->p.sh->mu);
    s->p.sh->barrier = false;
    pthread_cond_broadcast(&s->p.sh->barrier_cv);
    pthread_mutex_unlock(&s->p.sh->mu);
}

/* Our entry is at the head of the applier's queue (JOB_DO_COMMIT): commit
 * the backend transaction with its bookkeeping, or run the DDL, then tell
 * the applier, which passes the committer's turn on.  The entry is what
 * this session logged (its statements, kept since the submit), so it is
 * not copied or decoded again. */
static void on_do_commit(struct session *s, struct job *j)
{
    struct proto_entry entry;
    struct proto_body body;
    struct err e;
    bool ok = false;

    if (s->state != S_AWAIT || j->op != s->wait_op) {
        applier_commit_result(s->p.ap, j->op, false, NULL);
        return;
    }
    memset(&entry, 0, sizeof entry);
    entry.op = j->op;
    entry.client = s->p.client;
    entry.req = s->wait_req;
    memset(&body, 0, sizeof body);
    body.kind = s->wait_ddl ? BODY_DDL : BODY_TXN;
    body.ts_us = s->wait_ts;
    body.stmts = s->stmts; /* borrowed */
    if (s->wait_ddl) {
        struct err de;
        err_clear(&de);
        /* the DDL runs now, with the client's privileges; its outcome
         * (success or the error) is logged as the next entry */
        if (s->stmts.n == 0 || backend_exec_ddl(s->bs, j->op, &entry, &s->stmts.v[0], &de) < 0)
            log_info("DDL at op %llu failed: %s", (unsigned long long)j->op,
                     s->stmts.n ? de.msg : "no statement");
        ok = true;
        {
            struct mail *ml = mail_new(MAIL_DDL_OUTCOME);
            if (ml) {
                ml->op = j->op;
                ml->e = de;
                ml->conn_id = s->p.conn_id;
                ml->req = s->wait_req;
                replica_post(s->p.r, ml);
            }
        }
        if (de.code == ERR_OK) {
            /* report the DDL's op as applied here: a session read fenced
             * on it then sees the new schema at any replica */
            struct proto_msg m;
            memset(&m, 0, sizeof m);
            m.type = MSG_RESULT;
            m.u.result.req = s->wait_req;
            fill_status(s, &m.u.result, j->op);
            m.u.result.log_op = j->op;
            send_msg(s, &m);
            proto_msg_free(&m);
        } else {
            send_error(s, s->wait_req, &de);
        }
    } else if (backend_commit_entry(s->bs, j->op, &entry, &body, &e) < 0) {
        log_error("session: backend commit of entry %llu failed: %s; the applier will "
                  "re-execute it", (unsigned long long)j->op, e.msg);
        backend_rollback(s->bs, &e);
    } else {
        ok = true;
    }
    txn_count(s, -1);
    clear_txn(s);
    if (s->wait_ddl)
        end_ddl_barrier(s);
    set_state(s, S_IDLE);
    applier_commit_result(s->p.ap, j->op, ok, NULL);
}

static void on_failover(struct session *s)
{
    bool ddl = (s->state == S_SUBMIT || s->state == S_AWAIT) && s->wait_ddl;
    if (s->state == S_IDLE || s->state == S_READ)
        return;
    log_debug("session %llu: rolling back (failover)", (unsigned long long)s->p.conn_id);
    abandon(s);
    if (ddl)
        end_ddl_barrier(s);
}

/* ---- the thread ---- */

static void on_hello(struct session *s)
{
    struct mail *ml = mail_new(MAIL_AUTH);
    struct err e;
    err_clear(&e);
    s->bs = backend_session_open(s->p.be, s->p.user, s->p.password, s->p.database, &e);
    if (s->p.password)
        explicit_bzero(s->p.password, strlen(s->p.password));
    if (!ml)
        return;
    ml->conn_id = s->p.conn_id;
    ml->s = s;
    session_ref(s);
    if (!s->bs) {
        ml->e = e;
    } else {
        err_clear(&ml->e);
        set_state(s, S_IDLE);
    }
    replica_post(s->p.r, ml);
}

static void *session_main(void *arg)
{
    struct session *s = arg;
    bool quit = false;
    struct job *j;

    while (!quit) {
        j = next_job(s);
        switch (j->type) {
        case JOB_HELLO:
            on_hello(s);
            if (!s->bs)
                quit = true;
            break;
        case JOB_MSG:
            if (s->state == S_AUTH)
                break;
            switch (j->msg.type) {
            case MSG_EXEC: do_exec(s, &j->msg.u.exec); break;
            case MSG_TXN: do_txn(s, &j->msg.u.txn); break;
            case MSG_FETCH: do_fetch(s, &j->msg.u.fetch); break;
            case MSG_CLOSE: do_close_cursor(s, j->msg.u.close.req); break;
            default: break;
            }
            break;
        case JOB_SUBMITTED:
            if (s->state == S_SUBMIT)
                on_submitted(s, j);
            break;
        case JOB_DO_COMMIT:
        case JOB_DO_DDL:
            on_do_commit(s, j);
            break;
        case JOB_FAILOVER:
            on_failover(s);
            break;
        case JOB_QUIT:
            quit = true;
            break;
        }
        job_free(j);
    }
    abandon(s);
    if (s->state == S_SUBMIT || s->state == S_AWAIT)
        set_state(s, S_IDLE);
    backend_session_close(s->bs);
    s->bs = NULL;
    /* from now on jobs are answered by session_push; drain what is queued */
    pthread_mutex_lock(&s->mu);
    s->dead = true;
    j = s->head;
    s->head = s->tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (j) {
        struct job *next = j->next;
        if (j->type == JOB_DO_COMMIT || j->type == JOB_DO_DDL)
            applier_commit_result(s->p.ap, j->op, false, NULL);
        job_free(j);
        j = next;
    }
    s->state = S_DEAD;
    pthread_mutex_lock(&s->p.sh->mu);
    s->p.sh->live_sessions--;
    pthread_cond_broadcast(&s->p.sh->barrier_cv);
    pthread_mutex_unlock(&s->p.sh->mu);
    session_unref(s); /* the thread's reference */
    return NULL;
}

struct session *session_start(struct session_params *p, struct err *e)
{
    struct session *s = calloc(1, sizeof *s);
    struct job *hello;
    pthread_attr_t attr;
    int rc;

    if (!s) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&s->refs, 2); /* the caller's and the thread's */
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->p = *p;
    p->user = p->password = p->database = NULL;
    s->dialect = strcmp(backend_kind(s->p.be), "mysql") == 0 ? SQL_DIALECT_MYSQL : SQL_DIALECT_SQLITE;
    s->state = S_AUTH;
    if (getrandom(&s->seed_state, sizeof s->seed_state, 0) != sizeof s->seed_state || !s->seed_state)
        s->seed_state = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull + s->p.conn_id;
    hello = job_new(JOB_HELLO);
    if (!hello) {
        session_free(s);
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    session_push(s, hello);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&s->p.sh->mu);
    s->p.sh->live_sessions++;
    pthread_mutex_unlock(&s->p.sh->mu);
    rc = pthread_create(&s->thread, &attr, session_main, s);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&s->p.sh->mu);
        s->p.sh->live_sessions--;
        pthread_mutex_unlock(&s->p.sh->mu);
        session_free(s);
        err_set(e, ERR_LIMIT, "cannot start a session thread: %s", strerror(rc));
        return NULL;
    }
    return s;
}
