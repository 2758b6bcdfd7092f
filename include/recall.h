/* librecall: the native C client API of Recall.
 *
 * A connection talks to every replica of a Recall cluster directly and does
 * quorum reads and writes from the client (see docs/LIBRECALL.md).  Calls
 * are synchronous; inside, all replica sockets are multiplexed with poll().
 * One connection (and its statements) is used by one thread at a time; many
 * connections may be used in parallel from different threads.
 * recall_cancel() is the one call that may come from another thread.
 *
 * Errors: every handle carries the last error: a code (enum recall_code), a
 * SQLSTATE, a native (database) error number and a message.  After an error,
 * recall_usable() says whether the connection can still be used; when it
 * cannot, close it and connect again.  Failover is handled inside: an
 * autocommit statement whose primary dies is retried on the new primary with
 * the same request id (exactly once); a transaction open on a primary that
 * dies fails with SQLSTATE 40001 and the connection stays usable.
 *
 * Ownership: strings returned by accessors belong to the handle and stay
 * valid until the next call on that handle that changes it (fetch, execute,
 * free).  Input buffers are copied before the call returns.
 */
#ifndef RECALL_H
#define RECALL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RECALL_API __attribute__((visibility("default")))
#else
#define RECALL_API
#endif

#define RECALL_VERSION "0.1.0"

typedef struct recall_conn recall_conn;
typedef struct recall_stmt recall_stmt;

/* A length meaning "NUL-terminated" (recall_prepare, recall_bind_text). */
#define RECALL_NTS ((size_t)-1)

/* Return codes. */
#define RECALL_OK 0
#define RECALL_ROW 1     /* recall_fetch: a row is available */
#define RECALL_DONE 2    /* recall_fetch: no more rows */
#define RECALL_ERROR (-1)

/* Error codes (the same table as the server's; see docs/LIBRECALL.md). */
enum recall_code {
    RECALL_E_OK = 0, RECALL_E_NOMEM, RECALL_E_INVALID, RECALL_E_CONFIG, RECALL_E_IO,
    RECALL_E_CORRUPT, RECALL_E_PROTOCOL, RECALL_E_TOO_BIG, RECALL_E_CONNECT,
    RECALL_E_CONN_LOST, RECALL_E_REJECTED, RECALL_E_AUTH, RECALL_E_TIMEOUT,
    RECALL_E_UNAVAILABLE, RECALL_E_FAILOVER, RECALL_E_DEADLOCK, RECALL_E_REFUSED,
    RECALL_E_SQL, RECALL_E_NOT_PRIMARY, RECALL_E_NOT_READY, RECALL_E_LIMIT,
    RECALL_E_STATE, RECALL_E_CANCELED, RECALL_E_INTERNAL
};

/* Read consistency of a connection (connection-string key read_consistency). */
enum recall_consistency {
    RECALL_LINEARIZABLE = 0, /* quorum read: sees every write acknowledged before it began */
    RECALL_SESSION = 1,      /* read-your-writes and monotonic reads */
    RECALL_ANY = 2           /* any replica, possibly stale */
};

enum recall_isolation {
    RECALL_ISO_DEFAULT = 0, RECALL_ISO_REPEATABLE_READ = 1, RECALL_ISO_SERIALIZABLE = 2
};

/* Column types, from the backend's metadata. */
enum recall_type {
    RECALL_TYPE_NULL = 0,
    RECALL_TYPE_TINYINT, RECALL_TYPE_SMALLINT, RECALL_TYPE_MEDIUMINT, RECALL_TYPE_INT,
    RECALL_TYPE_BIGINT, RECALL_TYPE_FLOAT, RECALL_TYPE_DOUBLE, RECALL_TYPE_DECIMAL,
    RECALL_TYPE_DATE, RECALL_TYPE_TIME, RECALL_TYPE_DATETIME, RECALL_TYPE_TIMESTAMP,
    RECALL_TYPE_YEAR, RECALL_TYPE_CHAR, RECALL_TYPE_VARCHAR, RECALL_TYPE_TEXT,
    RECALL_TYPE_BINARY, RECALL_TYPE_VARBINARY, RECALL_TYPE_BLOB, RECALL_TYPE_BIT,
    RECALL_TYPE_ENUM, RECALL_TYPE_SET, RECALL_TYPE_JSON, RECALL_TYPE_BOOLEAN
};

/* Column flags. */
#define RECALL_COL_NOT_NULL 0x01u
#define RECALL_COL_UNSIGNED 0x02u
#define RECALL_COL_PRIMARY_KEY 0x04u
#define RECALL_COL_UNIQUE 0x08u
#define RECALL_COL_AUTO_INCREMENT 0x10u
#define RECALL_COL_BINARY 0x20u

/* Types of a cell value (recall_value_type). */
enum recall_value {
    RECALL_VALUE_NULL = 0, RECALL_VALUE_INT, RECALL_VALUE_UINT, RECALL_VALUE_DOUBLE,
    RECALL_VALUE_TEXT, RECALL_VALUE_BLOB
};

/* ---- connections ---- */

/* Connect.  conninfo is a connection string:
 *   replicas=h1:8500,h2:8500,h3:8500;user=...;password=...;database=...;
 *   read_consistency=linearizable|session|any;connect_timeout=SECONDS;
 *   request_timeout=SECONDS
 * Keys are case-insensitive, values may be {quoted} ("}}" for "}"), the
 * first occurrence of a key wins; unknown keys are an error.
 * *conn is always set (NULL only when out of memory); on failure it carries
 * the error and must still be closed. */
RECALL_API int recall_connect(const char *conninfo, recall_conn **conn);
RECALL_API void recall_close(recall_conn *conn);

/* Execute SQL without parameters, discarding any rows. */
RECALL_API int recall_exec(recall_conn *conn, const char *sql);

RECALL_API int recall_begin(recall_conn *conn);
RECALL_API int recall_commit(recall_conn *conn);
RECALL_API int recall_rollback(recall_conn *conn);
/* Autocommit is on by default.  Turning it off starts a transaction at the
 * next statement; turning it on commits an open one. */
RECALL_API int recall_set_autocommit(recall_conn *conn, int on);
RECALL_API int recall_get_autocommit(recall_conn *conn);
/* Read-only transactions run on any replica (quorum-checked per the
 * consistency level); set before the transaction starts. */
RECALL_API int recall_set_read_only(recall_conn *conn, int on);
RECALL_API int recall_set_isolation(recall_conn *conn, enum recall_isolation iso);
RECALL_API int recall_set_consistency(recall_conn *conn, enum recall_consistency c);
/* Timeouts in milliseconds; 0 = none. */
RECALL_API int recall_set_request_timeout(recall_conn *conn, unsigned ms);
/* Rows per chunk asked of the replica when streaming a result set (0, the
 * default: the replica's own default).  Also connection-string key
 * fetch_rows. */
RECALL_API int recall_set_fetch_rows(recall_conn *conn, unsigned rows);
/* Abort the call running on conn from another thread (it fails with
 * RECALL_E_CANCELED, SQLSTATE HY008).  Safe to call at any time; a cancel
 * while no call runs is forgotten.  A write or COMMIT already sent is not
 * abandoned: the call waits for its outcome (within the request timeout,
 * else at most 10 s) and returns it; only if none comes does it fail with
 * HY008 saying the outcome is unknown.  A statement of an open transaction
 * that is canceled rolls the transaction back. */
RECALL_API void recall_cancel(recall_conn *conn);
/* Whether a transaction is open. */
RECALL_API int recall_in_transaction(recall_conn *conn);

/* Backend description, e.g. "mariadb 10.11.6" or "sqlite 3.40.1". */
RECALL_API const char *recall_server_info(recall_conn *conn);
/* Number of replicas, index of the current primary (-1 if unknown). */
RECALL_API int recall_replica_count(recall_conn *conn);
RECALL_API int recall_primary(recall_conn *conn);

/* Last error on the connection. */
RECALL_API enum recall_code recall_errcode(recall_conn *conn);
RECALL_API const char *recall_sqlstate(recall_conn *conn);
RECALL_API int recall_native_error(recall_conn *conn);
RECALL_API const char *recall_errmsg(recall_conn *conn);
/* 1 if the connection can be used after its last error. */
RECALL_API int recall_usable(recall_conn *conn);

/* ---- statements ---- */

/* Prepare sql with `?` placeholders.  Parameters are sent typed and bound on
 * the server side, never interpolated into the SQL text.  Returns NULL on
 * failure (error on conn). */
RECALL_API recall_stmt *recall_prepare(recall_conn *conn, const char *sql, size_t len);
RECALL_API void recall_stmt_free(recall_stmt *stmt);
RECALL_API int recall_param_count(recall_stmt *stmt);
/* Bind parameter idx (1-based).  Bindings persist across executions. */
RECALL_API int recall_bind_null(recall_stmt *stmt, int idx);
RECALL_API int recall_bind_int64(recall_stmt *stmt, int idx, int64_t v);
RECALL_API int recall_bind_uint64(recall_stmt *stmt, int idx, uint64_t v);
RECALL_API int recall_bind_double(recall_stmt *stmt, int idx, double v);
RECALL_API int recall_bind_text(recall_stmt *stmt, int idx, const char *s, size_t len);
RECALL_API int recall_bind_blob(recall_stmt *stmt, int idx, const void *p, size_t len);
RECALL_API int recall_clear_bindings(recall_stmt *stmt);

/* Run the statement.  Rows, if any, are then read with recall_fetch(). */
RECALL_API int recall_execute(recall_stmt *stmt);
/* RECALL_ROW, RECALL_DONE or RECALL_ERROR.  Rows stream from the replica in
 * bounded chunks. */
RECALL_API int recall_fetch(recall_stmt *stmt);
/* Discard remaining rows. */
RECALL_API int recall_stmt_reset(recall_stmt *stmt);

RECALL_API int recall_column_count(recall_stmt *stmt);
RECALL_API const char *recall_column_name(recall_stmt *stmt, int col);
RECALL_API const char *recall_column_table(recall_stmt *stmt, int col);
RECALL_API const char *recall_column_database(recall_stmt *stmt, int col);
RECALL_API const char *recall_column_decltype(recall_stmt *stmt, int col);
RECALL_API enum recall_type recall_column_type(recall_stmt *stmt, int col);
RECALL_API unsigned recall_column_flags(recall_stmt *stmt, int col);
RECALL_API uint64_t recall_column_length(recall_stmt *stmt, int col);
RECALL_API unsigned recall_column_decimals(recall_stmt *stmt, int col);

/* Cells of the current row (0-based columns).  A column out of range, or
 * no current row, reads as SQL NULL.  Conversions:
 *  - int64/uint64 of a double truncate toward zero; of an out-of-range
 *    number saturate (INT64_MIN/INT64_MAX, 0/UINT64_MAX); NaN gives 0;
 *  - int64/uint64/double of text or binary read it like MySQL reads a
 *    string in numeric context: leading blanks, then the longest prefix
 *    that is a decimal number ("12abc" is 12, "1.5e3" is 1500, "0x10" is
 *    0); no number at all gives 0;
 *  - text of an integer is its decimal form; of a double the shortest of
 *    %.15g/%.16g/%.17g that reads back exactly ("inf", "-inf", "nan");
 *    numbers are always formatted in the C locale;
 *  - blob of a number is its text form; text of a blob is its bytes;
 *  - SQL NULL: 0, 0.0, and NULL with *len = 0.
 * The pointers returned stay valid until the next fetch, execute, reset or
 * free of the statement.  Text and blob values are NUL-terminated (the NUL
 * is not counted in *len; binary values may contain NULs). */
RECALL_API enum recall_value recall_value_type(recall_stmt *stmt, int col);
RECALL_API int recall_value_is_null(recall_stmt *stmt, int col);
RECALL_API int64_t recall_value_int64(recall_stmt *stmt, int col);
RECALL_API uint64_t recall_value_uint64(recall_stmt *stmt, int col);
RECALL_API double recall_value_double(recall_stmt *stmt, int col);
/* Text form of any value (numbers are formatted); NULL for SQL NULL. */
RECALL_API const char *recall_value_text(recall_stmt *stmt, int col, size_t *len);
RECALL_API const void *recall_value_blob(recall_stmt *stmt, int col, size_t *len);

RECALL_API uint64_t recall_affected_rows(recall_stmt *stmt);
RECALL_API uint64_t recall_last_insert_id(recall_stmt *stmt);
RECALL_API unsigned recall_warning_count(recall_stmt *stmt);

/* Last error of the statement (also copied to its connection). */
RECALL_API enum recall_code recall_stmt_errcode(recall_stmt *stmt);
RECALL_API const char *recall_stmt_sqlstate(recall_stmt *stmt);
RECALL_API int recall_stmt_native_error(recall_stmt *stmt);
RECALL_API const char *recall_stmt_errmsg(recall_stmt *stmt);

#ifdef __cplusplus
}
#endif
#endif
