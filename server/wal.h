/* The replication log: an append-only sequence of opaque entries numbered by
 * op-number, stored in segment files under one directory and made durable
 * by group commit (DESIGN.md sections 4 and 6; formats in docs/STORAGE.md).
 *
 * Appends write(2) a record at once but are durable only after wal_sync():
 * concurrent syncs share fdatasync calls (leader/follower), and appends are
 * never blocked by a running sync.  wal_open() recovers: it verifies every
 * record's CRC-32C, cuts a torn tail at the end of the last segment and
 * refuses (ERR_CORRUPT, naming the file and offset) any damage that could
 * hide acknowledged data.  A failed fsync poisons the handle for good: the
 * page cache can no longer be trusted, so recalld must restart.
 *
 * Thread safety: every function except wal_open/wal_close may be called from
 * any number of threads at once.  wal_close must not race with other calls.
 * Group commit sleeps on a Linux futex: the log is Linux-only.
 *
 * Errors (struct err codes):
 *   ERR_INVALID  bad argument (wrong op, op outside the log, zero length);
 *                the log is unchanged and usable.
 *   ERR_LIMIT    record longer than max_record; unchanged and usable.
 *   ERR_NOMEM    out of memory; unchanged and usable.
 *   ERR_IO       a system call failed.  If wal_poisoned() is false the log
 *                is unchanged and usable (a failed write was cut back);
 *                if true (an fsync failed, or a failed write could not be
 *                cut back) every later call fails: restart recalld.
 *   ERR_CORRUPT  wal_open/wal_read found damaged data; the message names the
 *                file and offset.
 *   ERR_STATE    wal_open: the directory is locked by another process.
 */
#ifndef RECALL_SERVER_WAL_H
#define RECALL_SERVER_WAL_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define WAL_DEFAULT_SEGMENT_BYTES (64ull * 1024 * 1024)
#define WAL_SEGMENT_HEADER 24u /* magic, version, first op, header CRC */
#define WAL_RECORD_HEADER 8u   /* u32 BE payload length, u32 BE CRC-32C */

struct wal;

struct wal_options {
    uint64_t segment_bytes; /* roll over past this; 0 = WAL_DEFAULT_SEGMENT_BYTES */
    uint32_t max_record;    /* largest payload; 0 = FRAME_DEFAULT_MAX */
};

/* Open (creating the directory if needed) and recover the log in `dir`.
 * opt may be NULL for defaults.  Takes an exclusive flock on the directory
 * so two processes cannot write one log.  On success *out is a new handle
 * owned by the caller (free with wal_close); everything recovered counts as
 * durable.  On failure *out is untouched. */
int wal_open(const char *dir, const struct wal_options *opt, struct wal **out,
             struct err *e);
void wal_close(struct wal *w); /* NULL is a no-op */

uint64_t wal_first_op(const struct wal *w);   /* 0 when empty */
uint64_t wal_last_op(const struct wal *w);    /* 0 when empty */
uint64_t wal_durable_op(const struct wal *w); /* highest op known fdatasync'ed; 0 if none */
/* The op the next append must carry: last + 1, or the op set by wal_reset /
 * kept by wal_truncate_after on an emptied log; 0 = any (a new log). */
uint64_t wal_next_op(const struct wal *w);

/* Append op's record (op must equal wal_next_op(), or be any op >= 1 when
 * that is 0).  The record is written to the file but NOT yet durable.  The
 * log keeps no pointer to data. */
int wal_append(struct wal *w, uint64_t op, const void *data, uint32_t len,
               struct err *e);
/* As wal_append with op = next op (1 for a new log), assigned atomically
 * with the write; *op receives it. */
int wal_append_next(struct wal *w, const void *data, uint32_t len, uint64_t *op,
                    struct err *e);

/* Block until every record <= op is durable.  op 0, or an op below
 * wal_first_op(), succeeds at once; an op above wal_last_op() is ERR_INVALID.
 * Concurrent callers share fdatasyncs. */
int wal_sync(struct wal *w, uint64_t op, struct err *e);

/* Append op's payload to out (the caller owns out), verifying its CRC. */
int wal_read(struct wal *w, uint64_t op, struct buf *out, struct err *e);

/* Remove every record > op, durably, before returning.  op >= last is a
 * no-op; op == first - 1 empties the log (the next append must then be
 * first); op < first - 1 is ERR_INVALID (use wal_reset).  Waits for a
 * running sync to finish. */
int wal_truncate_after(struct wal *w, uint64_t op, struct err *e);

/* Unlink the whole segments all of whose records are < op, oldest first,
 * durably; never the segment being written.  first_op moves to the first
 * remaining record (possibly still < op). */
int wal_drop_before(struct wal *w, uint64_t op, struct err *e);

/* The lowest op o <= upto such that the records o..upto take at most
 * `bytes` bytes of the segment files (headers not counted); upto + 1 when
 * even upto alone is larger, 0 when the log is empty.  For retention by
 * size: wal_drop_before(w, wal_first_op_within(w, applied, bound)). */
uint64_t wal_first_op_within(struct wal *w, uint64_t upto, uint64_t bytes);

/* Drop every record durably; the next append must be next_op (>= 1).  Used
 * after a state transfer.  Waits for a running sync to finish. */
int wal_reset(struct wal *w, uint64_t next_op, struct err *e);

/* Whether an fsync (or the cut-back of a failed write) failed: every call
 * that touches the log now fails with ERR_IO. */
bool wal_poisoned(const struct wal *w);

/* Number of fdatasyncs group commit has issued on this handle (tests and
 * benchmarks compare it with the number of wal_sync calls). */
uint64_t wal_sync_count(const struct wal *w);

/* What recovery did in wal_open, for recalld's log ("" if the log was
 * clean): a torn tail cut, an incomplete new segment removed.  Each event
 * is also logged (log_warn) when it happens.  Valid until wal_close. */
const char *wal_recovery_report(const struct wal *w);

#endif
