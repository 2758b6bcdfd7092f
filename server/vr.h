/* Viewstamped Replication as a pure state machine.
 *
 * The core knows nothing of sockets, clocks, disks or databases.  Inputs are
 * calls: a peer message arrived (vr_receive), a timer tick (vr_tick), the log
 * became durable up to an op (vr_durable), the backend applied up to an op
 * (vr_applied), a client request became an entry (vr_submit).  Outputs are
 * effects queued inside the core and drained by the caller with
 * vr_next_effect(): messages to peers and clients, log appends and
 * truncations, state-file writes, commit-number advances, role changes.
 * recalld drives it with libevent; tests/sim drives it deterministically.
 *
 * Effects must be executed in the order they are returned.  PERSIST and
 * TRUNCATE are synchronous: the caller completes them (durably) before it
 * executes the next effect, because later SENDs rely on them.  APPEND is
 * asynchronous: the caller writes the entry and later reports durability with
 * vr_durable(); nothing that depends on the entry being durable is emitted
 * before that.  After executing TRUNCATE(op) the caller must not report
 * durability above op for appends issued before it (a WAL that truncates a
 * write still in flight discards it).  An APPEND still queued when its op is
 * truncated is withdrawn from the queue, so when the caller pops APPEND(op),
 * vr_entry(op) is the entry to write.
 *
 * Protocol (DESIGN.md section 4, VR Revisited with durable state):
 *  - normal case: primary appends, sends PREPARE(v, commit, prev_view, seq,
 *    entries) in batches; backups append when their log agrees at op-1
 *    (same view tag, or op-1 <= their commit), answer PREPARE_OK to the
 *    primary and ACK to the client once durable; the primary sends PREPARED
 *    to the client once its own copy is durable and COMMITTED once commit
 *    passes the entry.  commit = highest op durable on f+1 replicas, the
 *    primary's own copy counted only once durable.
 *  - view change: START_VIEW_CHANGE, DO_VIEW_CHANGE to the new primary, which
 *    picks the log with the largest (last_normal, op) and sends START_VIEW;
 *    view and last_normal are persisted before the replica acts in a view.
 *  - restart: a replica restarts in status RECOVERING with its durable log
 *    and persisted view; it sends RECOVERY and installs a normal primary's
 *    log above its commit number, or takes part in a view change with its
 *    durable log if no primary answers.  It applies nothing above its
 *    persisted commit number until then.
 *  - exactly-once: an in-memory client table (client id -> latest request
 *    and its op) is rebuilt from the log as entries are loaded.
 *
 * Allocation failure inside the core aborts the process (a step of the state
 * machine cannot be half emitted); every protocol-level problem is an error.
 *
 * Ownership: messages passed to vr_receive stay the caller's.  Messages in
 * effects are owned by the effect and freed by vr_effect_free().  Entry
 * pointers returned by vr_entry() stay valid until the next call that can
 * truncate or compact the log (vr_receive, vr_compact, vr_reset_log).
 */
#ifndef RECALL_SERVER_VR_H
#define RECALL_SERVER_VR_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "proto.h"

struct vr;

enum vr_status {
    VR_NORMAL = STATUS_NORMAL,
    VR_VIEW_CHANGE = STATUS_VIEW_CHANGE,
    VR_RECOVERING = STATUS_RECOVERING
};

struct vr_config {
    uint32_t n;                 /* number of replicas, 1..VR_MAX_REPLICAS */
    uint32_t self;              /* my index in the replica list */
    uint32_t heartbeat_ticks;   /* primary sends COMMIT after this many idle ticks */
    uint32_t timeout_ticks;     /* view-change timeout base; actual is random in [t, 2t) */
    uint32_t max_batch_bytes;   /* cap on entry bytes in one PREPARE/START_VIEW/NEW_ENTRIES */
    uint32_t window;            /* max uncommitted ops the primary accepts */
    uint64_t seed;              /* randomizes timeouts, deterministically */
};
#define VR_MAX_REPLICAS 15

/* What the state file holds. */
struct vr_persist {
    uint64_t view;
    uint64_t last_normal;
    uint64_t commit;
};

enum vr_effect_type {
    VR_EFF_SEND = 1,      /* send msg to replica `to` */
    VR_EFF_SEND_CLIENT,   /* send msg (PREPARED/ACK/COMMITTED) to client `client` */
    VR_EFF_PERSIST,       /* write `persist` to the state file durably, now */
    VR_EFF_TRUNCATE,      /* remove log entries above `op`, durably, now */
    VR_EFF_APPEND,        /* append entry `op` (vr_entry(op)) to the log */
    VR_EFF_COMMIT,        /* commit number is now `op`: apply in order up to it */
    VR_EFF_ROLE,          /* status/view/primary or vr_ready() changed (see
                             vr_status() etc.) */
    VR_EFF_READ_INDEX,    /* ReadIndex `token` finished; `ok` says confirmed */
    VR_EFF_NEED_TRANSFER  /* the entries from `op` are gone from every reachable
                             log: a state transfer is needed */
};

struct vr_effect {
    enum vr_effect_type type;
    uint32_t to;                /* SEND */
    struct proto_id client;     /* SEND_CLIENT */
    struct proto_msg msg;       /* SEND, SEND_CLIENT: owned */
    struct vr_persist persist;  /* PERSIST */
    uint64_t op;                /* TRUNCATE, APPEND, COMMIT, NEED_TRANSFER */
    uint64_t token;             /* READ_INDEX */
    bool ok;                    /* READ_INDEX */
};

/* ---- lifetime ---- */

/* Create a replica from its persisted state.  Entries are then loaded with
 * vr_load() in op order, and vr_start() begins recovery. */
struct vr *vr_new(const struct vr_config *cfg, const struct vr_persist *st,
                  struct err *e);
void vr_free(struct vr *vr);

/* Declare that the log starts after `op` (entries <= op were dropped, all
 * committed), with view tag `view` for op (0 if unknown: the tag of a
 * committed entry is never needed).  Call before vr_load(). */
void vr_set_log_base(struct vr *vr, uint64_t op, uint64_t view);
/* Load the next durable entry from the log (op = last loaded + 1). */
int vr_load(struct vr *vr, const struct proto_entry *entry, struct err *e);
/* The backend has applied through `applied` (from recall_state at boot). */
void vr_start(struct vr *vr, uint64_t applied);

/* ---- inputs ---- */

/* A message from replica `from`.  Returns -1 (with e) when the message is
 * malformed for the protocol (wrong sender index, inconsistent fields); the
 * caller should close that connection.  Stale or unexpected-but-valid
 * messages are ignored and return 0. */
int vr_receive(struct vr *vr, uint32_t from, const struct proto_msg *m, struct err *e);
void vr_tick(struct vr *vr);
/* The log is durable through `op`. */
void vr_durable(struct vr *vr, uint64_t op);
/* The backend applied through `op` (only ever moves forward). */
void vr_applied(struct vr *vr, uint64_t op);
/* Send any batched PREPAREs now (call once per event-loop turn). */
void vr_flush(struct vr *vr);

/* Primary only: turn a client request into a log entry.  body (len bytes)
 * is copied.  On success *op is the entry's op-number.  Fails with
 * ERR_NOT_PRIMARY (not primary in normal status), ERR_NOT_READY (log not yet
 * committed and applied, or the window is full), ERR_INVALID (req not newer
 * than the client's last request). */
int vr_submit(struct vr *vr, const struct proto_id *client, uint64_t req,
              const void *body, uint32_t len, uint64_t *op, struct err *e);

/* Exactly-once: the latest request of `client` in the log (0 if none).
 * *op is its entry. */
uint64_t vr_client_last(const struct vr *vr, const struct proto_id *client,
                        uint64_t *op);

/* Start a ReadIndex round (primary only): a heartbeat is sent now, and a
 * VR_EFF_READ_INDEX effect with this token follows once f backups of this
 * view answered it (ok) or the view changed / timed out (not ok).  Returns
 * 0 if not primary in normal status.  The caller records vr_op() (not the
 * commit number: a client may already count an entry above it as committed)
 * when it starts the round and, once confirmed, reads after applied >= that
 * op. */
uint64_t vr_read_index(struct vr *vr);

/* Log retention: entries below `op` may be forgotten (op <= applied). */
void vr_compact(struct vr *vr, uint64_t op);
/* After a state transfer: the backend now holds everything through `op`;
 * drop the whole log and restart recovery from there. */
void vr_reset_log(struct vr *vr, uint64_t op);
/* A replica that must not become primary (diverged, transferring, donating)
 * declines: it does not start a view as primary and does not vote. */
void vr_set_declining(struct vr *vr, bool declining);
/* A primary that must stop leading (its backend COMMIT failed, or it is the
 * odd one out in a divergence) starts a view change to the next view.  No-op
 * on a backup.  [added by the VR core] */
void vr_step_down(struct vr *vr);

/* ---- outputs ---- */

/* Pop the next effect; false when none.  Free it with vr_effect_free(). */
bool vr_next_effect(struct vr *vr, struct vr_effect *eff);
void vr_effect_free(struct vr_effect *eff);

/* ---- queries ---- */
enum vr_status vr_status(const struct vr *vr);
uint64_t vr_view(const struct vr *vr);
uint32_t vr_primary(const struct vr *vr);        /* view mod n */
bool vr_is_primary(const struct vr *vr);          /* and in normal status */
/* Primary in normal status whose whole log is committed and applied, and
 * which heard from f backups within a timeout: may execute statements.
 * "Committed" means in this view: f backups acknowledged the view's start
 * log (the view is established), so a ready primary's log is authoritative
 * -- a request that is not in it will never commit unless resubmitted. */
bool vr_ready(const struct vr *vr);
uint64_t vr_op(const struct vr *vr);             /* L: last op in the log */
uint64_t vr_commit(const struct vr *vr);         /* c */
uint64_t vr_applied_op(const struct vr *vr);     /* a as reported */
uint64_t vr_log_start(const struct vr *vr);      /* first op still in memory */
uint64_t vr_durable_op(const struct vr *vr);     /* highest op reported durable
                                                    [added by the VR core] */
/* Entry `op`, or NULL if not in the log (below start or above L). */
const struct proto_entry *vr_entry(const struct vr *vr, uint64_t op);
/* What the state file should hold now. */
struct vr_persist vr_persisted(const struct vr *vr);
/* Highest op known durable at replica i (primary's view; 0 if unknown). */
uint64_t vr_peer_op(const struct vr *vr, uint32_t i);

#endif
