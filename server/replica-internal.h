/* The insides of a running replica, shared by the three kinds of thread in
 * recalld (and nothing else):
 *
 *  - the event-loop thread (replica.c) owns the network, the VR core, the log
 *    appends and every decision; nobody else touches them;
 *  - one thread per client session (session.c) owns that client's backend
 *    session and runs its statements (backend calls block);
 *  - the applier thread (applier.c) commits and applies committed entries
 *    strictly in op order, and owns the replication-account apply session;
 *  - the log-sync thread (replica.c) runs wal_sync for group commit.
 *
 * Threads talk through two queues: jobs (event loop or applier -> a session,
 * struct job) and mail (sessions/applier/sync -> the event loop, struct
 * mail, which wakes the loop with event_active).  A backend session is only
 * ever used by the thread that owns it.  The few values every thread reads
 * (status snapshot, applied op, DDL barrier) live in struct shared under one
 * mutex.
 */
#ifndef RECALL_SERVER_REPLICA_INTERNAL_H
#define RECALL_SERVER_REPLICA_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "proto.h"

struct replica;
struct session;

/* ---- state every thread may read ---- */

struct shared {
    pthread_mutex_t mu;
    pthread_cond_t applied_cv;     /* applied advanced / pause changed */
    pthread_cond_t barrier_cv;     /* DDL barrier or open-transaction count changed */
    /* status snapshot, written by the event loop after each batch */
    uint64_t view, op, commit, log_start;
    uint8_t status;                /* enum proto_replica_status */
    uint32_t primary;
    bool is_primary, ready;        /* vr_is_primary, vr_ready */
    /* written by the applier */
    uint64_t applied;
    uint64_t last_ts_us;           /* highest statement timestamp applied/used */
    /* DDL barrier */
    bool barrier;                  /* no new read-write transactions */
    int open_txns;                 /* sessions with a read-write transaction */
    int live_sessions;             /* session threads running (barrier_cv on change) */
    bool stopping;
};

/* ---- jobs: event loop / applier -> session thread ---- */

enum job_type {
    JOB_HELLO = 1,      /* open the backend session (authenticates) */
    JOB_MSG,            /* EXEC, TXN, FETCH, CLOSE from the client */
    JOB_SUBMITTED,      /* our entry got op `op` (or failed: e) */
    JOB_DO_COMMIT,      /* applier: entry `op` (ours) committed and next in op order:
                           commit the backend txn (or run the DDL) now */
    JOB_DO_DDL,         /* (handled as JOB_DO_COMMIT; no longer sent) */
    JOB_FAILOVER,       /* the replica lost its role: roll back what is open */
    JOB_QUIT            /* the client is gone */
};

struct job {
    enum job_type type;
    struct proto_msg msg;          /* JOB_MSG: owned */
    struct proto_entry entry;      /* owned; unused by JOB_DO_COMMIT (the session
                                      commits what it logged) */
    uint64_t op;
    struct err e;
    struct job *next;
};

/* ---- mail: threads -> event loop ---- */

enum mail_type {
    MAIL_SEND = 1,      /* send `bytes` (framed) to connection conn_id; close after if `close` */
    MAIL_AUTH,          /* session authenticated (ok) or not (e, then close) */
    MAIL_SUBMIT,        /* session asks to log `body` for (client, req); `held` is a
                           framed RESULT to send right before PREPARED */
    MAIL_READ_INDEX,    /* send `bytes` once a ReadIndex round confirms, else an error */
    MAIL_DURABLE,       /* sync thread: log durable through op (gen) */
    MAIL_APPLIED,       /* applier: applied through op */
    MAIL_DDL_OUTCOME,   /* DDL entry `op` executed here as primary: log its outcome (e) */
    MAIL_FLUSHED,       /* applier: the backend durably holds everything through op */
    MAIL_TRANSFER_DONE, /* state transfer: the database now holds op (copied) */
    MAIL_DONOR_READY,   /* donor: paused at op and database stopped (or e) */
    MAIL_DONOR_RESUMED, /* donor: database running again (or e) */
    MAIL_STEP_DOWN,     /* applier: cannot apply (backend failing): stop leading */
    MAIL_VERIFY_DONE,   /* periodic verify finished; op != 0: this replica must repair */
    MAIL_FATAL          /* a thread hit an unrecoverable error (e): stop serving */
};

struct mail {
    enum mail_type type;
    uint64_t conn_id;
    struct session *s;             /* MAIL_SUBMIT/AUTH: holds a reference */
    struct buf bytes;              /* owned */
    struct buf held;               /* owned */
    struct proto_id client;
    uint64_t req, op, gen;
    bool close;
    struct err e;
    struct mail *next;
};

struct mail *mail_new(enum mail_type type);
void mail_free(struct mail *m);
/* Thread-safe: queue for the event loop and wake it. Takes ownership. */
void replica_post(struct replica *r, struct mail *m);

/* Encode a message as one frame into a fresh mail's bytes.  Returns NULL
 * (logged) if it cannot be encoded. */
struct mail *mail_frame(enum mail_type type, uint64_t conn_id, const struct proto_msg *msg,
                        uint32_t max_frame);
/* An ERROR frame for (req, e) as a MAIL_SEND. */
struct mail *mail_error(uint64_t conn_id, uint64_t req, const struct err *e, uint32_t max_frame);

/* Fill a proto ERROR from e. The strings are copies (free with the message). */
int proto_error_from(struct proto_msg *m, uint64_t req, const struct err *e);

/* ---- sessions (session.c) ---- */

struct applier;

struct session_params {
    struct replica *r;
    struct applier *ap;
    struct backend *be;
    struct shared *sh;
    const struct cfg *cfg;
    uint64_t conn_id;
    struct proto_id client;
    uint32_t self;                 /* replica index (for RESULT.replica) */
    char *user, *password, *database; /* owned by the session after create */
};

/* Start a session thread (which first runs JOB_HELLO). NULL on failure.
 * The returned reference belongs to the caller (session_unref).  The thread
 * is detached and counted in shared.live_sessions; it exits after JOB_QUIT. */
struct session *session_start(struct session_params *p, struct err *e);
void session_push(struct session *s, struct job *j);   /* thread-safe, takes j */
struct job *job_new(enum job_type type);
void job_free(struct job *j);
void session_ref(struct session *s);
void session_unref(struct session *s);
uint64_t session_conn_id(const struct session *s);

/* ---- applier (applier.c) ---- */

struct applier *applier_start(struct replica *r, struct backend *be, struct shared *sh,
                              const struct cfg *cfg, struct err *e);
/* Queue committed entry `op` (copied).  owner: the local session whose open
 * backend transaction holds this entry (it will be asked to commit), or
 * NULL to re-execute it.  Entries must be pushed in op order. */
int applier_push(struct applier *a, const struct proto_entry *entry, struct session *owner);
/* This replica is the primary of a normal view, whose log ends at
 * log_end: a committed DDL at log_end has no outcome entry coming from an
 * earlier primary, so the applier runs it and this replica logs the
 * outcome. */
void applier_set_primary(struct applier *a, bool primary, uint64_t log_end);
void applier_stop(struct applier *a);
/* Apply nothing above `limit` (UINT64_MAX: no limit): donors pause, and
 * checksums are taken at one op on every replica. */
void applier_set_limit(struct applier *a, uint64_t limit);
/* Wait until the applier is between entries with nothing it may apply now.
 * Returns 0, or -1 after timeout_ms. */
int applier_wait_quiet(struct applier *a, unsigned timeout_ms);
/* Highest op handed to the applier. */
uint64_t applier_pushed(const struct applier *a);
/* Reply from a session to JOB_DO_COMMIT: done (ok) or not (the applier
 * re-executes the entry).  On success the calling thread passes the
 * committer's turn on: it advances `applied` and may push JOB_DO_COMMIT to
 * the owner of the next entry (never while holding a session's mutex). */
void applier_commit_result(struct applier *a, uint64_t op, bool ok, const struct err *e);

/* ---- helpers shared by the threads ---- */

/* Statement timestamp: max(now, last + 1) in microseconds, monotonic. */
uint64_t shared_next_ts(struct shared *sh);
/* Wait until applied >= op (or timeout ms / stopping).  Returns applied. */
uint64_t shared_wait_applied(struct shared *sh, uint64_t op, unsigned timeout_ms);

#endif
