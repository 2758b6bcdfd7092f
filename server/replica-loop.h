/* The event loop's own state, shared by the two files that implement it:
 * replica.c (connections, the VR core's effects, mail from the threads,
 * bring-up) and replica_admin.c (state transfer as recipient and donor, the
 * transfer marker, administrative commands, the periodic verify).  Only the
 * event-loop thread touches any of this; the threads' shared state is in
 * replica-internal.h.
 */
#ifndef RECALL_SERVER_REPLICA_LOOP_H
#define RECALL_SERVER_REPLICA_LOOP_H

#include <event2/event.h>
#include <pthread.h>
#include <time.h>

#include "backend.h"
#include "hmap.h"
#include "net.h"
#include "replica-internal.h"
#include "replica.h"
#include "transfer.h"
#include "vr.h"
#include "wal.h"

#define TICK_MS 10
#define WINDOW_OPS 4096

enum conn_role { CR_NEW = 0, CR_CLIENT, CR_CTL, CR_PEER_IN, CR_LINK };

struct conn_state {
    enum conn_role role;
    uint32_t peer;              /* CR_PEER_IN, CR_LINK */
    struct session *s;          /* CR_CLIENT: our reference */
    struct proto_id client;
    bool authed;                /* CR_CLIENT: WELCOME sent */
    bool link_ready;            /* CR_LINK: WELCOME received */
};

/* An entry submitted by a local session and not yet committed. */
struct pending {
    uint64_t op, req, conn_id;
    struct session *s;          /* reference, NULL once the session is gone */
    struct buf held;            /* framed RESULT to send before PREPARED */
};

/* A retried request whose entry is in the log but not yet committed. */
struct saved_wait {
    uint64_t conn_id, req, op;
    bool exec;                  /* EXEC (send the saved RESULT) or TXN COMMIT */
    struct saved_wait *next;
};

struct replica {
    const struct cfg *cfg;
    struct event_base *base;
    struct vr *vr;
    struct wal *wal;
    struct backend *be;
    struct net *net;
    struct shared sh;
    struct applier *ap;
    struct net_conn *links[VR_MAX_REPLICAS];
    uint32_t n, self;
    uint64_t cluster;
    char replicas_text[1024];

    struct hmap clients;        /* hmap_key16(client id) -> conn id */
    uint32_t nclients;
    struct hmap pending;        /* op -> struct pending */
    struct hmap read_index;     /* token -> struct mail (the held reply) */
    struct saved_wait *saved;
    struct mail *deferred, *deferred_tail; /* SUBMITs waiting for room */

    pthread_mutex_t mail_mu;
    struct mail *mail_head, *mail_tail;
    struct event *mail_ev;

    pthread_t sync_thread;
    bool sync_started;
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    uint64_t sync_appended, sync_gen;
    bool sync_stop;

    struct event *tick_ev, *flush_ev;
    bool flush_pending;
    uint64_t pushed_commit;     /* highest op handed to the applier */
    uint8_t last_kind;          /* body kind of the last appended entry */
    bool halted;
    bool fatal;
    struct err fatal_err;
    time_t started;
    struct proto_id system_client; /* all zeros: entries recalld logs itself */

    /* state transfer */
    struct transfer *xfer;      /* recipient: the running copy, or NULL */
    bool needs_transfer;        /* db_phase_start found the database behind the log */
    const char *transfer_why;   /* a transfer to start once the effects are drained */
    bool rejoining;             /* copied: declining until recovery completes */
    uint64_t donating;          /* donor: connection id of the recipient, or 0 */
    uint64_t donor_nonce;
    bool donor_busy;            /* a donor thread is running */
    bool donor_stopped;         /* donor: applying paused and the database stopped */
    time_t next_verify;         /* primary: when to run the periodic checksum check */
    /* log holds: a replica rejoining after a copy needs entries from hold_op[i] */
    uint64_t hold_op[ADDR_MAX_REPLICAS];
    time_t hold_until[ADDR_MAX_REPLICAS];
    bool verifying;             /* a verify thread runs */
};

/* ---- replica.c ---- */
void replica_drain(struct replica *r);            /* execute the core's effects */
void replica_publish_status(struct replica *r);   /* refresh struct shared */
void replica_send_error(struct net_conn *c, uint64_t req, enum err_code code,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Take the database phase (backend, core, applier, sessions) down / up. */
void replica_db_stop(struct replica *r);
int replica_db_start(struct replica *r, bool after_transfer, struct err *e);

/* ---- replica_admin.c ---- */

/* The transfer marker in data_dir: "copying": the database may be half
 * copied, copy again; "rejoining": copied, but the log was dropped, so the
 * replica must not vote until recovery installed a primary's log. */
enum marker { MARK_NONE = 0, MARK_COPYING, MARK_REJOINING };
enum marker admin_marker_read(const struct replica *r);
int admin_marker_write(struct replica *r, enum marker m, struct err *e);

/* Leave service and copy a donor's database (DESIGN section 7). */
void admin_start_transfer(struct replica *r, const char *why);
/* The copy is complete: bring the database phase back, rejoining. */
void admin_transfer_done(struct replica *r);
/* Donor side: a recipient's SYNC_REQUEST; the recipient is done or gone. */
void admin_sync_request(struct replica *r, struct net_conn *c, const struct proto_sync_request *q);
void admin_donor_release(struct replica *r);
/* CTL commands from recallctl (checksum, resync). */
void admin_ctl(struct replica *r, struct net_conn *c, const struct proto_ctl *q);
/* Start the periodic verify when it is due (primary only). */
void admin_maybe_verify(struct replica *r);
/* MAIL_TRANSFER_DONE, MAIL_DONOR_READY, MAIL_DONOR_RESUMED, MAIL_VERIFY_DONE. */
void admin_on_mail(struct replica *r, struct mail *m);

#endif
