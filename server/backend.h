/* The database behind a replica, behind one interface.
 *
 * Two implementations: `sqlite:` (embedded, the default; backend_sqlite.c)
 * and `mysql://` (libmysqlclient against MariaDB or MySQL; backend_mysql.c).
 * recalld uses a backend in three ways (DESIGN.md section 3):
 *
 *  - the primary executes client statements for real in per-client sessions
 *    opened with the client's own credentials (backend_exec), with the
 *    execution context set BEFORE each write statement; each successful write
 *    statement is described as a struct proto_stmt for the log; at commit of
 *    the replicated entry, recall_state and recall_clients are written in the
 *    same backend transaction (backend_commit_entry);
 *  - backups re-execute committed entries serially in one apply session
 *    opened with the replication account (backend_apply), comparing results;
 *  - any replica serves reads in a read-only snapshot whose applied op-number
 *    is read from recall_state inside that same snapshot (backend_read_begin).
 *
 * Threading: every call on a session blocks and must come from one thread at
 * a time (recalld runs them on worker threads).  Different sessions may be
 * used in parallel.  struct backend itself is thread-safe for session_open.
 *
 * Errors: backend errors keep the database's SQLSTATE and native code
 * (err_set_sql); statements Recall refuses fail with ERR_REFUSED and a
 * message saying why and what to do instead; a deadlock or anything else
 * that rolled the whole transaction back sets *txn_aborted.
 */
#ifndef RECALL_SERVER_BACKEND_H
#define RECALL_SERVER_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "proto.h"

struct backend;
struct backend_session;

/* Isolation levels (below REPEATABLE READ is refused). */
enum backend_iso { ISO_DEFAULT = 0, ISO_REPEATABLE_READ, ISO_SERIALIZABLE };

/* Context the primary chooses before a write statement runs. */
struct backend_ctx {
    uint64_t ts_us;          /* statement timestamp, microseconds since epoch */
    uint64_t seed1, seed2;   /* RAND() / random() seeds */
};

/* What one statement produced. Owned buffers are released by
 * backend_result_free(). */
struct backend_result {
    bool is_write;                  /* a write to log (stmt below is filled) */
    bool has_rows;                  /* a result set follows: use backend_fetch */
    struct proto_list_column columns;   /* owned */
    uint64_t affected;
    uint64_t insert_id;             /* LAST_INSERT_ID() after the statement */
    uint32_t warnings;
    struct proto_str info;          /* backend's info string, may be empty; owned */
    struct proto_stmt stmt;         /* is_write: the log record (sql, params,
                                       context, env, results); owned */
};
void backend_result_free(struct backend_result *r);

/* Outcome of re-executing an entry on a backup. */
struct backend_apply_report {
    bool mismatch;           /* results differ from the primary's */
    char detail[256];        /* what differed (statement index, values) */
};

/* Recall's per-replica bookkeeping inside the database. */
struct backend_state {
    uint64_t applied;        /* a: last op applied */
    uint64_t cluster;        /* cluster id ((0 if the tables are new) */
    uint64_t ddl_pending;    /* op of a DDL started but not recorded, or 0 */
};

/* A saved result for exactly-once (recall_clients row). */
struct backend_client_row {
    uint64_t req, op, affected, insert_id, ts_us;
};

/* ---- the database ---- */

/* Open from a DSN: "sqlite:/path/to/file.db" or
 * "mysql://user:password@host:port/database" (also ?socket=/path).  The
 * DSN's account is the replication account.  Creates Recall's tables if
 * missing and checks the settings Recall depends on (MySQL: binlog_format =
 * STATEMENT, log_bin on, InnoDB enforced, innodb_autoinc_lock_mode <= 1),
 * refusing with a message that names the setting. */
struct backend *backend_open(const char *dsn, struct err *e);
void backend_close(struct backend *be);
/* "sqlite 3.40.1" / "mariadb 10.11.6": compared between replicas at join. */
const char *backend_version(const struct backend *be);
const char *backend_kind(const struct backend *be);  /* "sqlite" or "mysql" */

/* Read Recall's bookkeeping (outside any client transaction). */
int backend_get_state(struct backend *be, struct backend_state *st, struct err *e);
/* Set the cluster id on a fresh database (fails if another is recorded). */
int backend_set_cluster(struct backend *be, uint64_t cluster, struct err *e);
/* Saved result of a client's latest logged request (recall_clients). */
int backend_client_lookup(struct backend *be, const struct proto_id *client,
                          struct backend_client_row *row, bool *found, struct err *e);

/* Make everything applied so far durable in the backend (InnoDB redo flush,
 * SQLite checkpoint) and return the applied op that is now durable: the log
 * may be truncated below it. */
int backend_flush(struct backend *be, uint64_t *durable_applied, struct err *e);

/* Stop all backend activity for a state transfer (close sessions, stop the
 * server / release the file) and start again afterwards. */
int backend_quiesce(struct backend *be, struct err *e);
int backend_resume(struct backend *be, struct err *e);

/* Per-table checksums at the current applied op, for `recallctl verify`:
 * fills kv pairs (table name, hex checksum) in a stable order. */
int backend_checksum(struct backend *be, uint64_t *applied,
                     struct proto_list_kv *sums, struct err *e);

/* ---- sessions ---- */

/* A session with the given credentials (NULL user: the replication account).
 * Authentication failures are ERR_AUTH (SQLSTATE 28000). */
struct backend_session *backend_session_open(struct backend *be, const char *user,
                                             const char *password, const char *database,
                                             struct err *e);
/* Rolls back anything open. */
void backend_session_close(struct backend_session *s);

/* Primary: the log record of a statement without executing it (DDL is
 * logged before it runs): sql, params, the context ctx and the session
 * environment that gives the statement its meaning (current database,
 * sql_mode, ...).  The results are left 0.  The session must not be inside a
 * read snapshot. */
int backend_describe(struct backend_session *s, const char *sql, uint32_t len,
                     const struct proto_list_value *params, const struct backend_ctx *ctx,
                     struct proto_stmt *out, struct err *e);

/* Primary: begin a read-write transaction (autocommit is handled by recalld
 * as a transaction of one statement). */
int backend_begin(struct backend_session *s, enum backend_iso iso, struct err *e);
/* Execute one statement inside the open transaction.  ctx != NULL for
 * statements that may write (the context is set before execution).
 * Unsafe statements are rolled back to a per-statement savepoint and
 * refused.  On failure *txn_aborted says whether the backend rolled back the
 * whole transaction (deadlock, serialization failure). */
int backend_exec(struct backend_session *s, const char *sql, uint32_t len,
                 const struct proto_list_value *params, const struct backend_ctx *ctx,
                 struct backend_result *res, bool *txn_aborted, struct err *e);
/* Rows of the last result set: up to max_rows rows appended to cells
 * (row-major); *more says whether rows remain.  Bounded memory: only these
 * rows are materialized. */
int backend_fetch(struct backend_session *s, uint32_t max_rows,
                  struct proto_list_value *cells, bool *more, struct err *e);
/* Discard the rest of a result set. */
void backend_fetch_close(struct backend_session *s);
/* Savepoints named by the client (recalld tracks which statements they
 * undo). */
int backend_savepoint(struct backend_session *s, const char *name, struct err *e);
int backend_rollback_to(struct backend_session *s, const char *name, struct err *e);
int backend_release(struct backend_session *s, const char *name, struct err *e);
/* Commit the open transaction together with Recall's bookkeeping for entry
 * `op` (recall_state.applied = op; recall_clients row for client/req).
 * Called strictly in op order by one committer. */
int backend_commit_entry(struct backend_session *s, uint64_t op,
                         const struct proto_entry *entry, const struct proto_body *body,
                         struct err *e);
/* Commit a transaction that wrote nothing (no bookkeeping). */
int backend_commit_empty(struct backend_session *s, struct err *e);
int backend_rollback(struct backend_session *s, struct err *e);

/* Any replica: open a read-only snapshot and read the applied op in it.
 * applied == NULL: do not read it -- the snapshot starts with the first
 * read, and the caller, which read the in-memory applied op before (a lower
 * bound of what any later snapshot holds, since it advances only after the
 * backend commit), reports that.  One backend round trip less for an
 * autocommit read. */
int backend_read_begin(struct backend_session *s, uint64_t *applied, struct err *e);
/* Run a read in the snapshot (fails loudly if the statement writes). */
int backend_read_exec(struct backend_session *s, const char *sql, uint32_t len,
                      const struct proto_list_value *params, struct backend_result *res,
                      struct err *e);
int backend_read_end(struct backend_session *s);

/* Backups (and a new primary catching up): re-execute committed entry `op`
 * in one backend transaction together with its bookkeeping, comparing
 * affected rows and insert ids with the primary's.  BODY_NOOP and
 * BODY_DDL_OUTCOME entries only advance recall_state.  A mismatch rolls back
 * and fills rep; it is not an error (returns 0).  BODY_DDL entries go to
 * backend_apply_ddl. */
int backend_apply(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                  const struct proto_body *body, struct backend_apply_report *rep,
                  struct err *e);

/* One committed entry of a batch (borrowed). */
struct backend_apply_item {
    uint64_t op;
    const struct proto_entry *entry;
    const struct proto_body *body;  /* BODY_TXN */
};
#define BACKEND_BATCH_MAX 64

/* Backups: re-execute n (1..BACKEND_BATCH_MAX) committed BODY_TXN entries,
 * items in increasing op order, in ONE backend transaction with one
 * bookkeeping write for all of them (recall_state.applied = the last op;
 * recall_clients as applying them one by one would leave it), comparing
 * results as backend_apply does.  The entries are committed, so running
 * them together changes nothing but the number of commits.  All or
 * nothing: after a mismatch (returns 0, rep->mismatch, rep->detail names
 * the op) or an error (-1, e) nothing of the batch is applied, and the
 * caller applies the entries one by one with backend_apply, which
 * attributes a mismatch to its entry.  Other body kinds are refused
 * (ERR_INVALID): DDL ends a batch, NOOP/DDL_OUTCOME entries need no
 * database work. */
int backend_apply_batch(struct backend_session *s, const struct backend_apply_item *items,
                        uint32_t n, struct backend_apply_report *rep, struct err *e);

/* DDL is a barrier and non-transactional (DESIGN.md section 3).  Protocol:
 * the primary logs the DDL entry; once it commits, the primary executes it
 * in the client's session (privileges enforced there) and logs the outcome
 * as the next entry; other replicas execute a DDL entry only once its
 * outcome entry is committed, and only if the primary's succeeded, with the
 * replication account, then compare outcomes.  A replica that becomes
 * primary with a committed DDL entry lacking an outcome executes it itself
 * and logs the outcome.
 *
 * Both calls write a durable "DDL op pending" marker before executing and
 * advance recall_state.applied to op after; on a restart with the marker set,
 * the statement is checked against the schema (already done: record it;
 * not done: run it) instead of being replayed blindly.  On the primary the
 * execution error, if any, is returned in e (and logged as the outcome). */
int backend_exec_ddl(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                     const struct proto_stmt *stmt, struct err *e);
int backend_apply_ddl(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                      const struct proto_body *body, const struct proto_body *outcome,
                      struct backend_apply_report *rep, struct err *e);

#endif
