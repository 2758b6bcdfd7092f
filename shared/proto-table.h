/* The Recall wire protocol, declared once.
 *
 * This table is the single description of every message and every nested
 * structure.  proto.h expands it into C structs and a tagged union, proto.c
 * into encoders, decoders, deep-copy and free functions and the name table.
 * On the wire a structure is a msgpack array of its fields in table order, and
 * a message is an array [type-id, fields...].  Decoders accept extra trailing
 * fields (ignored, so a newer peer may append fields) but never fewer.
 *
 * Field kinds: u8 u32 u64 i64 bool str bin id value, and list_X for any
 * structure X of PROTO_STRUCTS (plus list_value).  Adding a message: add a
 * line to PROTO_MESSAGES with a new, never reused id; bump PROTO_VERSION only
 * for incompatible changes.
 */
#ifndef RECALL_SHARED_PROTO_TABLE_H
#define RECALL_SHARED_PROTO_TABLE_H

#define PROTO_VERSION 1

/* ---- nested structures ------------------------------------------------ */

/* A name/value pair: session environment, options, status details. */
#define PROTO_KV(F) \
    F(str, key)     \
    F(str, val)

/* Result-set column metadata. `type` is an enum recall_type (recall.h). */
#define PROTO_COLUMN(F) \
    F(str, name)        \
    F(str, table)       \
    F(str, db)          \
    F(str, decl)        \
    F(u8, type)         \
    F(u32, flags)       \
    F(u64, length)      \
    F(u32, decimals)

/* One write statement of a log entry with its execution context (set before
 * the statement runs on every replica) and the primary's results (compared
 * by every backup). */
#define PROTO_STMT(F)            \
    F(str, sql)                  \
    F(list_value, params)        \
    F(u64, ts_us)                \
    F(u64, seed1)                \
    F(u64, seed2)                \
    F(u64, insert_id)            \
    F(u64, last_insert_id)       \
    F(list_kv, env)              \
    F(u64, affected)             \
    F(u64, result_insert_id)

/* The payload of a log entry (opaque to the VR core). `kind` is an enum
 * proto_body_kind.  For BODY_DDL_OUTCOME, ref_op names the DDL entry and
 * code/sqlstate/msg give the primary's outcome. */
#define PROTO_BODY(F)       \
    F(u8, kind)             \
    F(u64, ts_us)           \
    F(list_stmt, stmts)     \
    F(u64, ref_op)          \
    F(u32, code)            \
    F(str, sqlstate)        \
    F(str, msg)

/* A replicated log entry as the VR core sees it. */
#define PROTO_ENTRY(F) \
    F(u64, op)         \
    F(u64, view)       \
    F(id, client)      \
    F(u64, req)        \
    F(bin, body)

/* Order matters: a structure may only hold lists of structures, never a
 * structure by value, so any order compiles; keep it readable. */
#define PROTO_STRUCTS(S)      \
    S(kv, PROTO_KV)           \
    S(column, PROTO_COLUMN)   \
    S(stmt, PROTO_STMT)       \
    S(body, PROTO_BODY)       \
    S(entry, PROTO_ENTRY)

/* ---- messages --------------------------------------------------------- */

/* Connection handshake, first frame in both directions (WELCOME answers). */
#define PROTO_HELLO(F)    \
    F(u32, version)       \
    F(u64, cluster)       \
    F(u8, role)           \
    F(u32, replica)       \
    F(id, client)         \
    F(str, user)          \
    F(str, password)      \
    F(str, database)      \
    F(list_kv, options)

#define PROTO_WELCOME(F)     \
    F(u32, version)          \
    F(u32, replica)          \
    F(u64, view)             \
    F(u8, status)            \
    F(str, backend)          \
    F(str, server_version)

/* An error answering request `req` (0: not tied to a request).  `usable`
 * says whether the connection/session stays usable. */
#define PROTO_ERROR(F)   \
    F(u64, req)          \
    F(u32, code)         \
    F(str, sqlstate)     \
    F(i64, native)       \
    F(str, msg)          \
    F(bool, usable)

/* Execute one statement. flags: PROTO_EXEC_*. fence: for reads, wait until
 * applied >= fence. chunk_rows: rows in the first reply (0 = default). */
#define PROTO_EXEC(F)         \
    F(u64, req)               \
    F(u32, flags)             \
    F(str, sql)               \
    F(list_value, params)     \
    F(u64, fence)             \
    F(u32, chunk_rows)

/* First reply to EXEC/TXN: the replica's state in the snapshot the statement
 * ran in, the columns, the first chunk of rows (cells row-major), and for
 * writes the results.  flags: PROTO_RESULT_*. */
#define PROTO_RESULT(F)       \
    F(u64, req)               \
    F(u32, flags)             \
    F(u32, replica)           \
    F(u64, view)              \
    F(u8, status)             \
    F(u64, op)                \
    F(u64, commit)            \
    F(u64, applied)           \
    F(list_column, columns)   \
    F(list_value, cells)      \
    F(u64, affected)          \
    F(u64, insert_id)         \
    F(u32, warnings)          \
    F(u64, log_op)            \
    F(str, info)

#define PROTO_FETCH(F) \
    F(u64, req)        \
    F(u32, max_rows)

#define PROTO_ROWS(F)      \
    F(u64, req)            \
    F(u32, flags)          \
    F(list_value, cells)

#define PROTO_CLOSE(F) \
    F(u64, req)

/* Transaction control. action: PROTO_TXN_BEGIN/COMMIT/ROLLBACK; flags:
 * PROTO_TXN_READ_ONLY, isolation in PROTO_TXN_ISO_MASK. */
#define PROTO_TXN(F) \
    F(u64, req)      \
    F(u8, action)    \
    F(u32, flags)

/* Primary -> client: entry `op` holding request `req` is durable at the
 * primary (counts as one of the f+1 acknowledgements). */
#define PROTO_PREPARED(F) \
    F(u64, view)          \
    F(u64, op)            \
    F(u64, req)           \
    F(u32, replica)

/* Backup -> client: entry `op` holding request `req` is durable here. */
#define PROTO_ACK(F) \
    F(u64, view)     \
    F(u64, op)       \
    F(u64, req)      \
    F(u32, replica)

/* Primary -> client: entry `op` holding request `req` is committed. */
#define PROTO_COMMITTED(F) \
    F(u64, view)           \
    F(u64, op)             \
    F(u64, req)

/* Primary -> backups: entries (consecutive ops) follow the entry whose view
 * tag is prev_view.  seq numbers the primary's messages of this view, so a
 * PREPARE_OK echoing it proves the backup heard the primary after that
 * point (ReadIndex). */
#define PROTO_PREPARE(F)     \
    F(u64, view)             \
    F(u64, commit)           \
    F(u64, prev_view)        \
    F(u64, seq)              \
    F(list_entry, entries)

/* Backup -> primary: my log agrees with yours and is durable up to `op`;
 * highest seq heard from you is `seq`. */
#define PROTO_PREPARE_OK(F) \
    F(u64, view)            \
    F(u64, op)              \
    F(u32, replica)         \
    F(u64, seq)

/* Primary -> backups heartbeat: the commit number and the primary's L. */
#define PROTO_COMMIT(F) \
    F(u64, view)        \
    F(u64, commit)      \
    F(u64, op)          \
    F(u64, seq)

#define PROTO_START_VIEW_CHANGE(F) \
    F(u64, view)                   \
    F(u32, replica)

/* The sender's log above its commit number, for the new primary to choose
 * the log with the largest (last_normal, op). */
#define PROTO_DO_VIEW_CHANGE(F) \
    F(u64, view)                \
    F(u64, last_normal)         \
    F(u64, op)                  \
    F(u64, commit)              \
    F(u32, replica)             \
    F(list_entry, entries)

/* New primary -> backup: the log of the view from `from` upward (from is
 * above the receiver's commit number when known). */
#define PROTO_START_VIEW(F)   \
    F(u64, view)              \
    F(u64, op)                \
    F(u64, commit)            \
    F(u64, from)              \
    F(list_entry, entries)

/* A backup missing entries asks the primary for the log from `from`. */
#define PROTO_GET_ENTRIES(F) \
    F(u64, view)             \
    F(u64, from)             \
    F(u32, replica)

/* Reply: entries from `from`; `op`/`commit` are the sender's L and c.  A
 * sender may send fewer entries than asked (frame limit); the receiver asks
 * again.  An empty list with from > log start means "gone, state transfer". */
#define PROTO_NEW_ENTRIES(F)  \
    F(u64, view)              \
    F(u64, op)                \
    F(u64, commit)            \
    F(u64, from)              \
    F(u64, log_start)         \
    F(list_entry, entries)

/* Restarted replica -> all: who is primary, and what did I miss above my
 * commit number? */
#define PROTO_RECOVERY(F) \
    F(u32, replica)       \
    F(u64, nonce)         \
    F(u64, commit)

/* Only a primary in normal status answers with its log above the asker's
 * commit number; others answer so the asker learns the view. */
#define PROTO_RECOVERY_RESPONSE(F) \
    F(u64, view)                   \
    F(u64, nonce)                  \
    F(u64, op)                     \
    F(u64, commit)                 \
    F(u32, replica)                \
    F(u8, status)                  \
    F(u64, from)                   \
    F(u64, log_start)              \
    F(list_entry, entries)

/* Status probe (clients for quorum reads, recallctl) and its answer. */
#define PROTO_PROBE(F) \
    F(u64, req)

#define PROTO_STATUS(F)       \
    F(u64, req)               \
    F(u32, replica)           \
    F(u64, view)              \
    F(u8, status)             \
    F(u64, op)                \
    F(u64, commit)            \
    F(u64, applied)           \
    F(u64, log_start)         \
    F(u32, primary)           \
    F(list_kv, detail)

/* State transfer (rsync) coordination between a recovering replica and its
 * donor.  phase: PROTO_SYNC_*. */
#define PROTO_SYNC_REQUEST(F) \
    F(u32, replica)           \
    F(u64, nonce)             \
    F(u8, phase)

#define PROTO_SYNC_REPLY(F) \
    F(u32, replica)         \
    F(u64, nonce)           \
    F(u8, phase)            \
    F(bool, ok)             \
    F(u64, applied)         \
    F(str, path)            \
    F(str, msg)

/* A backup whose re-execution of `op` disagreed with the primary's results. */
#define PROTO_MISMATCH(F) \
    F(u64, view)          \
    F(u64, op)            \
    F(u32, replica)       \
    F(str, detail)

/* Administrative command from recallctl (verify, resync, ...). */
#define PROTO_CTL(F)   \
    F(u64, req)        \
    F(str, command)    \
    F(list_kv, args)

/* M(id, NAME, name, FIELDS) */
#define PROTO_MESSAGES(M)                                                \
    M(1, HELLO, hello, PROTO_HELLO)                                      \
    M(2, WELCOME, welcome, PROTO_WELCOME)                                \
    M(3, ERROR, error, PROTO_ERROR)                                      \
    M(4, EXEC, exec, PROTO_EXEC)                                         \
    M(5, RESULT, result, PROTO_RESULT)                                   \
    M(6, FETCH, fetch, PROTO_FETCH)                                      \
    M(7, ROWS, rows, PROTO_ROWS)                                         \
    M(8, CLOSE, close, PROTO_CLOSE)                                      \
    M(9, TXN, txn, PROTO_TXN)                                            \
    M(10, PREPARED, prepared, PROTO_PREPARED)                            \
    M(11, ACK, ack, PROTO_ACK)                                           \
    M(12, COMMITTED, committed, PROTO_COMMITTED)                         \
    M(13, PREPARE, prepare, PROTO_PREPARE)                               \
    M(14, PREPARE_OK, prepare_ok, PROTO_PREPARE_OK)                      \
    M(15, COMMIT, commit, PROTO_COMMIT)                                  \
    M(16, START_VIEW_CHANGE, start_view_change, PROTO_START_VIEW_CHANGE) \
    M(17, DO_VIEW_CHANGE, do_view_change, PROTO_DO_VIEW_CHANGE)          \
    M(18, START_VIEW, start_view, PROTO_START_VIEW)                      \
    M(19, GET_ENTRIES, get_entries, PROTO_GET_ENTRIES)                   \
    M(20, NEW_ENTRIES, new_entries, PROTO_NEW_ENTRIES)                   \
    M(21, RECOVERY, recovery, PROTO_RECOVERY)                            \
    M(22, RECOVERY_RESPONSE, recovery_response, PROTO_RECOVERY_RESPONSE) \
    M(23, PROBE, probe, PROTO_PROBE)                                     \
    M(24, STATUS, status, PROTO_STATUS)                                  \
    M(25, SYNC_REQUEST, sync_request, PROTO_SYNC_REQUEST)                \
    M(26, SYNC_REPLY, sync_reply, PROTO_SYNC_REPLY)                      \
    M(27, MISMATCH, mismatch, PROTO_MISMATCH)                            \
    M(28, CTL, ctl, PROTO_CTL)

#endif
