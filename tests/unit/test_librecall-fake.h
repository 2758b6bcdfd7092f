/* A fake Recall cluster for librecall's tests: N replicas on loopback,
 * served by one thread, speaking the client protocol of docs/WIRE.md with
 * a toy "database" and knobs that make replicas lag, crash, fail over,
 * stall, withhold acknowledgements or turn hostile.
 *
 * It is not recalld: it implements just enough (HELLO, PROBE, EXEC with
 * every flag, TXN, FETCH/CLOSE, PREPARED/ACK/COMMITTED, a client table for
 * retries) for the library's behaviour to be observable, and it records
 * every client message it receives so tests can assert on the wire.
 *
 * The toy SQL understood by reads: "SELECT n <N>" (N rows: id, name, half,
 * maybe), "SELECT types" (one row with one cell of each value type),
 * "SELECT err" (an SQL error), "SELECT applied" (the serving replica's
 * snapshot: applied, replica).  Anything else read yields one row "1".
 * Statements starting with INSERT/UPDATE/DELETE are writes; CREATE/DROP/ALTER
 * are DDL (logged and acknowledged, then one final RESULT after "running").
 *
 * Threading: tests change knobs under fake_lock()/fake_unlock(); the fake's
 * thread holds the same lock while it handles events.
 */
#ifndef RECALL_TESTS_LIBRECALL_FAKE_H
#define RECALL_TESTS_LIBRECALL_FAKE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "proto.h"

#define FAKE_MAX 5
#define FAKE_MAX_CONNS 128
#define FAKE_LOG 4096

enum fake_hostile {
    FH_NONE = 0,
    FH_GARBAGE,      /* answers HELLO with a frame that is not msgpack */
    FH_HUGE,         /* announces a 1 GiB frame after WELCOME */
    FH_UNEXPECTED,   /* sends a PREPARE (replica-to-replica) to the client */
    FH_LIE_STATUS,   /* STATUS naming another replica and an impossible status */
    FH_WRONG_REQ,    /* STATUS for a request id never sent */
    FH_SILENT,       /* accepts, never answers anything */
    FH_BAD_CELLS,    /* read RESULT with cells not a multiple of the columns */
    FH_PARTIAL,      /* answers reads with half a frame, then nothing */
    FH_HIGH_VIEW     /* claims a far-away view in which it would be primary */
};

struct fake_conn {
    int fd;
    int replica;
    bool hello;
    struct proto_id client;
    struct buf in, out;
    bool txn, txn_ro, txn_wrote;
    bool cursor;
    uint64_t cursor_req;
    int cursor_kind;
    uint64_t cursor_next, cursor_total;
    uint32_t cursor_chunk;
};

struct fake_replica {
    int lfd;
    uint16_t port;
    bool down;
    uint64_t view;
    uint8_t status;
    uint64_t op, commit, applied;
    bool lag;            /* logs and acks, but applies nothing */
    uint64_t inflate_op; /* if set, reported as L in STATUS/RESULT */
    uint64_t result_extra_op; /* added to L in RESULTs only (a log growing meanwhile) */
    enum fake_hostile hostile;
    /* cut off from the client, its connection still up: answers the next
     * probes_left probes, then nothing; drops reads from the start */
    bool cut_off;
    unsigned probes_left;
    unsigned closed_by_client; /* client connections that ended by EOF */
    unsigned accepted;
};

struct fake_rec {
    int replica;
    enum proto_type type;
    uint64_t req;
    uint32_t flags;    /* EXEC flags; TXN: FAKE_TXN(action) | flags */
    uint64_t fence;
    char sql[48];
};

/* The bit a TXN action sets in fake_rec.flags (one bit per action). */
#define FAKE_TXN(action) (1u << (8 + (action)))

struct fake_deferred {
    uint64_t due_ms;
    int replica;
    struct proto_id client;
    struct proto_msg msg;
};

struct fake {
    int n;
    struct fake_replica r[FAKE_MAX];
    struct fake_conn *conns[FAKE_MAX_CONNS];
    pthread_t thread;
    pthread_mutex_t mu;
    int wake[2];
    bool stop;
    uint64_t cluster;
    char conninfo[1024];
    /* the "database" */
    uint64_t log_op, next_insert_id;
    struct { struct proto_id client; uint64_t req, op, insert_id; bool used; } ctab[64];
    /* knobs */
    uint32_t ack_mask;          /* backups that send ACK (bit per replica) */
    bool no_committed;          /* the primary never sends COMMITTED */
    bool no_prepared;           /* the primary never sends PREPARED */
    unsigned ack_delay_ms;      /* ACK/COMMITTED come this much later */
    bool crash_after_prepared;  /* primary dies after RESULT+PREPARED of a write */
    bool crash_before_write;    /* primary dies on receiving a write */
    bool stall_reads, stall_writes, stall_fetch;
    uint32_t stall_session;     /* replicas (bit mask) that never answer SESSION statements */
    unsigned ddl_delay_ms;      /* DDL's final RESULT comes this long after its acks */
    bool no_result_once;        /* the next write's RESULT is lost (acks still come) */
    bool not_primary_once;      /* next write at the primary: NOT_PRIMARY after a view move */
    uint32_t kill_pending;      /* replicas to crash once their output is flushed */
    uint32_t chunk_default;
    /* what the clients sent */
    struct fake_rec log[FAKE_LOG];
    int nlog;
    struct proto_msg last_exec; /* copy of the last EXEC received */
    struct fake_deferred *deferred;
    int ndeferred;
};

struct fake *fake_start(int n);
void fake_stop(struct fake *f);
void fake_lock(struct fake *f);
void fake_unlock(struct fake *f);
/* "replicas=...;database=test" followed by ";extra" if extra. */
const char *fake_conninfo(struct fake *f, const char *extra);
/* Take replica i down (closing its connections) / bring it back. With
 * `failover`, a dead primary's view moves to the next live replica. */
void fake_kill(struct fake *f, int i, bool failover);
void fake_revive(struct fake *f, int i);
/* Move every live replica to `view` (normal status). */
void fake_set_view(struct fake *f, uint64_t view);
/* Number of logged messages matching (replica or -1, type, all bits of
 * flags_all set, none of flags_none set). */
int fake_count(struct fake *f, int replica, enum proto_type type, uint32_t flags_all,
               uint32_t flags_none);
/* Wait up to ms for fake_count(...) >= want. */
bool fake_wait_count(struct fake *f, int replica, enum proto_type type, uint32_t flags_all,
                     int want, int ms);
void fake_clear_log(struct fake *f);

#endif
