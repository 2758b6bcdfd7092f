/* The "recall" SQLite VFS: the default VFS with a clock Recall controls.
 *
 * SQLite takes the time for 'now' (datetime('now'), CURRENT_TIMESTAMP,
 * julianday('now'), unixepoch(), column defaults...) from the VFS of the
 * connection.  This shim forwards every VFS method to the default VFS except
 * xCurrentTime/xCurrentTimeInt64, which return the statement timestamp set by
 * sqlvfs_time_set() on the calling thread, so a logged statement sees the same
 * 'now' on every replica (DESIGN.md section 3, trap 8).  SQLite evaluates
 * 'now' inside sqlite3_step() on the calling thread, hence a thread-local
 * setting; with none set the real clock is used.
 */
#ifndef RECALL_SERVER_SQLITE_VFS_H
#define RECALL_SERVER_SQLITE_VFS_H

#include <stdint.h>

#define SQLVFS_NAME "recall"

/* Register the VFS (once per process; thread-safe, idempotent).  Returns an
 * SQLite result code: SQLITE_OK, or the error that prevented registration. */
int sqlvfs_register(void);

/* From now until sqlvfs_time_clear(), SQLite connections using this VFS on
 * the calling thread see `ts_us` (microseconds since the Unix epoch,
 * truncated to SQLite's millisecond resolution) as the current time. */
void sqlvfs_time_set(uint64_t ts_us);
void sqlvfs_time_clear(void);

#endif
