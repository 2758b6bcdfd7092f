/* librecall's insides, shared by its few files (the public API is
 * include/recall.h; nothing here is exported).
 *
 * A connection (struct recall_conn) holds one link per replica.  net.c owns
 * the links: non-blocking sockets, framing, HELLO/WELCOME, replaying session
 * statements after a reconnect, background reconnects with backoff, and the
 * one poll() loop (net_next) every blocking call waits in.  route.c decides
 * where each statement goes and counts quorums (with quorum.c): writes at the
 * primary, linearizable/session/any reads, transactions, session statements.
 * stmt.c holds prepared statements, bindings and streamed result sets;
 * value.c converts cell values; conn.c is the API surface of connections and
 * the one exit point that publishes errors.
 */
#ifndef RECALL_DRIVER_INTERNAL_H
#define RECALL_DRIVER_INTERNAL_H

#include <locale.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "err.h"
#include "proto.h"
#include "recall.h"
#include "sqlclass.h"

/* ---- limits and defaults ---- */

#define RC_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define RC_DEFAULT_REQUEST_TIMEOUT_MS 30000u
#define RC_BACKOFF_MIN_MS 100u
#define RC_BACKOFF_MAX_MS 5000u
/* A write whose primary said nothing for this long makes the client probe
 * for a view change. */
#define RC_SILENCE_PROBE_MS 1000u
/* A read's replica that answers neither the read nor a status probe for
 * this long is treated as unreachable and the read goes elsewhere. */
#define RC_READ_HEDGE_MS 500u
/* One round of a primary probe waits at most this long for replies. */
#define RC_PROBE_ROUND_MS 500u
/* Linearizable reads: fenced attempts before the ReadIndex fallback. */
#define RC_READ_TRIES 3u
/* A cancel arriving after a write was sent waits this long for its outcome
 * when no request timeout is set. */
#define RC_CANCEL_GRACE_MS 10000u
#define RC_NO_DEADLINE UINT64_MAX

/* ---- time ---- */

uint64_t rc_now_ms(void);
/* now + ms, or RC_NO_DEADLINE when ms == 0. */
uint64_t rc_deadline(unsigned ms);

/* ---- replica links (net.c) ---- */

enum link_state {
    LINK_DOWN = 0,   /* no socket; may reconnect at retry_at */
    LINK_CONNECTING, /* non-blocking connect() in progress */
    LINK_HELLO,      /* HELLO sent, waiting for WELCOME */
    LINK_SYNC,       /* replaying session statements */
    LINK_READY       /* usable for requests */
};

struct link {
    uint32_t idx;
    struct replica_addr addr;
    char name[ADDR_STR_MAX];   /* "host:port" for messages */
    enum link_state state;
    int fd;                    /* -1 when DOWN */
    uint64_t gen;              /* bumped each time the link becomes READY:
                                * a new server session */
    bool ever_up;              /* reached READY at least once */
    unsigned attempts;         /* connect attempts since last READY */
    uint64_t phase_deadline;   /* CONNECTING/HELLO/SYNC must finish by then */
    uint64_t retry_at;         /* DOWN: earliest reconnect */
    unsigned backoff_ms;
    uint64_t sync_last;        /* SYNC: last replay request id */
    struct buf out;            /* owned: framed bytes not yet written */
    struct buf in;             /* owned: bytes read, from offset rpos on */
    size_t rpos;
    struct err err;            /* why the link last went down */
    /* The replica's state from its last WELCOME/STATUS/RESULT. */
    bool st_valid;
    uint64_t view;
    uint8_t status;
    uint64_t op, commit, applied;
    char backend[64];
};

enum net_kind {
    NET_MSG = 1,  /* a message arrived on link `li` (msg owned by the event) */
    NET_UP,       /* link `li` became READY */
    NET_DOWN,     /* link `li` went down (its err says why) */
    NET_TIMEOUT,  /* the deadline passed */
    NET_CANCELED  /* recall_cancel() was called */
};

struct net_event {
    enum net_kind kind;
    uint32_t li;
    uint64_t gen;        /* the link's gen when the event happened */
    struct proto_msg msg; /* NET_MSG: owned */
};

/* ---- session statements remembered for replay ---- */

struct session_stmt {
    char *sql;                 /* owned */
    size_t len;
    struct proto_list_value params; /* owned */
};

/* ---- transactions ---- */

enum txn_state {
    TXN_NONE = 0, /* no transaction */
    TXN_BEGUN,    /* begun (API, SQL or autocommit off) but nothing sent */
    TXN_RW,       /* open at the primary (link li, generation gen, view) */
    TXN_RO        /* read-only snapshot open at replica li */
};

struct txn {
    enum txn_state st;
    bool explicit_;            /* recall_begin/BEGIN: ends at commit/rollback */
    bool read_only;
    enum recall_isolation iso;
    uint32_t li;
    uint64_t gen, view;
};

/* ---- the connection ---- */

struct recall_conn {
    struct err err;            /* last error */
    bool usable;               /* recall_usable() after the last error */
    bool broken;               /* the connection failed to connect */
    uint32_t n;                /* replicas */
    struct link *links;        /* owned, n entries */
    uint64_t cluster;
    struct proto_id client;
    char *user, *password, *database; /* owned */
    unsigned connect_timeout_ms, request_timeout_ms;
    uint32_t max_frame;
    uint32_t fetch_rows;       /* rows per chunk asked for (0: server default) */
    uint64_t next_req;         /* next request id */
    enum recall_consistency consistency;
    enum sql_dialect dialect;
    char server_info[64];
    /* The primary as last found: replica index (-1 unknown) and its view. */
    int primary;
    uint64_t view;
    uint64_t max_view_seen;    /* highest view in any message */
    /* Session consistency: highest op written or seen. */
    uint64_t seen_op;
    unsigned rr;               /* round-robin start for read placement */
    unsigned net_rr;           /* round-robin start for draining links */
    /* Transactions. */
    bool autocommit;
    bool sess_read_only;       /* default for new transactions */
    enum recall_isolation sess_iso;
    bool next_read_only_set, next_read_only; /* SET TRANSACTION: next one only */
    bool next_iso_set;
    enum recall_isolation next_iso;
    struct txn txn;
    /* Session statements, replayed on every (re)connect, in order. */
    struct session_stmt *sess;  /* owned */
    size_t nsess, sess_cap;
    /* Events taken by a nested wait and given back (FIFO). */
    struct net_event *queue;   /* owned */
    size_t qhead, qlen, qcap;
    /* Cancellation: the flag, and an eventfd polled with the sockets. */
    atomic_int cancel;
    int wake_fd;
    /* The statement whose result set is open at a replica (at most one). */
    struct recall_stmt *open_stmt;
    struct recall_stmt *stmts;     /* owned: every statement, a list */
    locale_t c_locale;         /* "C" numeric formatting and parsing */
    bool trace;                /* $RECALL_TRACE: log messages to stderr */
    unsigned trace_id;         /* this connection's number in the trace */
};

/* ---- statements ---- */

struct recall_stmt {
    struct recall_conn *conn;
    struct recall_stmt *next, *prev; /* in conn->stmts */
    char *sql;                 /* owned, NUL-terminated */
    size_t len;
    struct sql_info info;
    int nparams;
    struct proto_list_value params; /* owned: bound values */
    bool *bound;               /* owned: nparams flags */
    struct err err;
    /* The result of the last execution. */
    bool executed;
    struct proto_list_column cols; /* owned */
    struct proto_list_value cells; /* owned: the current chunk, row-major */
    uint32_t nrows;            /* rows in cells */
    int64_t row;               /* current row in the chunk, -1 before first */
    bool more;                 /* rows remain at the replica */
    bool fetch_sent;           /* a FETCH for the next chunk is in flight */
    bool closed_by_other;      /* a later statement closed this result */
    uint32_t src;              /* replica that holds the open result */
    uint64_t src_gen;
    uint64_t res_req;          /* request id of the open result */
    uint64_t affected, insert_id;
    unsigned warnings;
    char (*numtext)[40];       /* owned: per-column text of numbers */
};

/* ---- net.c ---- */

/* Set up the links for addresses v[0..n) (no I/O yet). 0 or -1 (NOMEM). */
int net_init(struct recall_conn *c, const struct replica_addr *v, size_t n,
             struct err *e);
void net_close(struct recall_conn *c);
/* Start connecting every DOWN link whose backoff has passed. */
void net_kick(struct recall_conn *c);
/* Wait for the next event until `deadline` (RC_NO_DEADLINE: none).  With
 * cancelable, a pending cancel is reported as NET_CANCELED (and stays
 * pending).  Events given back with net_requeue come first. */
void net_next(struct recall_conn *c, uint64_t deadline, bool cancelable,
              struct net_event *ev);
/* Give an event back to be returned again by the next net_next (takes
 * ownership of its message). */
void net_requeue(struct recall_conn *c, struct net_event *ev);
void net_event_free(struct net_event *ev);
/* Drop queued events (at the start of each API call nothing queued is
 * still wanted). */
void net_flush_queue(struct recall_conn *c);
/* Frame m and send it on link li.  Returns 0, or -1 with e set: ERR_TOO_BIG
 * (the message exceeds the frame limit; the link is fine) or ERR_CONN_LOST
 * (the link is not READY/SYNC or went down while sending; a NET_DOWN event
 * is queued in the latter case). */
int net_send(struct recall_conn *c, uint32_t li, const struct proto_msg *m,
             struct err *e);
/* Take link li down with reason e (queues NET_DOWN; schedules a retry). */
void net_link_down(struct recall_conn *c, uint32_t li, const struct err *e);
bool net_ready(const struct recall_conn *c, uint32_t li);
uint32_t net_ready_count(const struct recall_conn *c);
const char *net_state_name(enum link_state s);
uint64_t net_req(struct recall_conn *c);
/* One line on stderr describing m, when c->trace. */
void net_trace(const struct recall_conn *c, uint32_t li, bool out, const struct proto_msg *m);
/* Send the session statement ss to link li if it is SYNC (extending its
 * replay), so a link that is replaying does not miss it. */
void net_sync_append(struct recall_conn *c, uint32_t li, const struct session_stmt *ss);

/* ---- route.c ---- */

/* A finished statement execution: where its result set lives. */
struct route_result {
    struct proto_result r; /* owned: columns, first chunk, counts */
    uint32_t li;           /* replica holding the rest of the rows */
    uint64_t gen;
    bool local;            /* answered by the client itself (no server result) */
};

/* Run s where it belongs (see route.c).  On success *out owns the result;
 * on failure e says why. */
int route_exec(struct recall_stmt *s, struct route_result *out, struct err *e);
int route_begin(struct recall_conn *c, bool read_only, enum recall_isolation iso,
                bool from_sql, struct err *e);
/* recall_begin(): with the connection's defaults. */
int route_begin_api(struct recall_conn *c, struct err *e);
int route_commit(struct recall_conn *c, struct err *e);
int route_rollback(struct recall_conn *c, struct err *e);
int route_set_autocommit(struct recall_conn *c, bool on, struct err *e);
/* Probe every replica until a majority names a primary (sets c->primary
 * and c->view) or the deadline passes (ERR_UNAVAILABLE).  Events that are
 * not its own are kept for the caller. */
int route_find_primary(struct recall_conn *c, uint64_t deadline, bool cancelable, struct err *e);
/* The same rule applied to the WELCOMEs of READY links; -1 if undecided. */
int route_primary_from_welcome(struct recall_conn *c);
/* Map an ERROR message onto e. */
void route_error_from_msg(struct err *e, const struct proto_error *m, const struct link *l);
/* Whether ncells cells can be rows of ncols columns. */
bool route_cells_ok(uint32_t ncols, uint32_t ncells);
void route_result_free(struct proto_result *r);
void route_sess_free(struct session_stmt *ss);

/* ---- stmt.c ---- */

/* Close the connection's open result set, if any (sends CLOSE). */
void stmt_close_open_result(struct recall_conn *c);
/* Free every statement of c (recall_close). */
void stmt_free_all(struct recall_conn *c);

/* ---- value.c: conversions of one cell (documented in recall.h) ---- */

int64_t value_to_int64(const struct proto_value *v, locale_t loc);
uint64_t value_to_uint64(const struct proto_value *v, locale_t loc);
double value_to_double(const struct proto_value *v, locale_t loc);
/* Text form; numbers are formatted into buf[40]. NULL for SQL NULL. */
const char *value_to_text(const struct proto_value *v, char buf[40], size_t *len,
                          locale_t loc);

/* ---- conn.c ---- */

/* Start of every API call on c: clear the error and a stale cancel. */
void conn_enter(struct recall_conn *c);
/* The one exit point: publish e as the connection's error (and the
 * statement's, if s) and compute usability.  Returns rc. */
int conn_exit(struct recall_conn *c, struct recall_stmt *s, int rc, const struct err *e);
/* Fails (ERR_CONNECT) on a connection that never opened. */
int conn_check(struct recall_conn *c, struct err *e);
uint64_t conn_request_deadline(const struct recall_conn *c);

#endif
