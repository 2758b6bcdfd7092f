/* Insides of the Recall ODBC driver shared by its modules: the handle
 * structures (environment, connection, statement, descriptor), diagnostics,
 * result sources and the helpers every entry point uses.
 *
 * Threading: each connection owns one recursive mutex that guards it, its
 * statements and its descriptors; every entry point takes it (environment
 * calls take the environment's).  SQLCancel is the exception: it reaches a
 * running call through recall_cancel() without the lock.  The driver
 * template says Threading=0, so the driver manager adds no locking of its own.
 *
 * Strings inside are UTF-8.  The ANSI entry points pass application bytes
 * through as UTF-8; the W entry points convert (wapi.c).  Functions that
 * return strings take ODBC_OUT_* flags saying how to write them.
 */
#ifndef RECALL_ODBC_INTERNAL_H
#define RECALL_ODBC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>
#include <sqlucode.h>

#include "buf.h"
#include "convert.h"
#include "recall.h"

#define ODBC_DRIVER_NAME "libRecallODBC.so"
#define ODBC_DRIVER_VER "00.01.0000"
#define ODBC_TAG "[Recall]"

/* Handle magic numbers: a handle of the wrong kind is SQL_INVALID_HANDLE. */
#define ODBC_MAGIC_ENV 0x52455631u
#define ODBC_MAGIC_DBC 0x52444231u
#define ODBC_MAGIC_STMT 0x52535431u
#define ODBC_MAGIC_DESC 0x52444531u

/* ---------------------------------------------------------- diagnostics */

#define ODBC_DIAG_MAX 512 /* records kept per handle; more are counted, not kept */

struct odbc_diag_rec {
    char state[6];
    SQLINTEGER native;
    char *msg;          /* owned, "[Recall]..." */
    SQLLEN row;         /* SQL_DIAG_ROW_NUMBER */
    SQLINTEGER col;     /* SQL_DIAG_COLUMN_NUMBER */
};

struct odbc_diag {
    struct odbc_diag_rec *recs; /* owned */
    int count, cap;
    SQLRETURN retcode;
    SQLLEN cursor_row_count;
    SQLLEN row_count;
    const char *dynfunc;        /* static text */
    SQLINTEGER dynfunc_code;
};

struct odbc_handle {
    uint32_t magic;
    SQLSMALLINT type;           /* SQL_HANDLE_* */
    struct odbc_diag diag;
};

/* ---------------------------------------------------------- descriptors */

enum odbc_desc_kind { DESC_ARD, DESC_APD, DESC_IRD, DESC_IPD };

struct odbc_desc_rec {
    SQLSMALLINT type, concise_type, datetime_interval_code;
    SQLINTEGER datetime_interval_precision;
    SQLULEN length;
    SQLLEN octet_length;
    SQLLEN *octet_length_ptr, *indicator_ptr;
    SQLPOINTER data_ptr;
    SQLSMALLINT precision, scale, nullable, unnamed, parameter_type;
    SQLSMALLINT fixed_prec_scale, is_unsigned, auto_unique, case_sensitive, searchable,
        updatable, rowver;
    SQLLEN display_size;
    SQLINTEGER num_prec_radix;
    bool scale_set;             /* SQL_DESC_SCALE set explicitly (SQL_C_NUMERIC) */
    /* owned strings (NULL reads as "") */
    char *name, *label, *base_column_name, *base_table_name, *table_name, *schema_name,
        *catalog_name, *literal_prefix, *literal_suffix, *local_type_name, *type_name;
};

struct odbc_desc {
    struct odbc_handle h;
    enum odbc_desc_kind kind;
    bool is_explicit;           /* allocated by SQLAllocHandle(SQL_HANDLE_DESC) */
    struct odbc_conn *conn;
    struct odbc_stmt *stmt;     /* owner of an implicit descriptor */
    struct odbc_desc *next;     /* conn's explicit descriptors */
    /* header fields */
    SQLULEN array_size;
    SQLUSMALLINT *array_status_ptr;
    SQLLEN *bind_offset_ptr;
    SQLULEN bind_type;          /* SQL_BIND_BY_COLUMN or a row size */
    SQLSMALLINT count;
    SQLULEN *rows_processed_ptr;
    /* records 0..count; [0] is the bookmark record */
    struct odbc_desc_rec *recs; /* owned */
    int cap;
};

/* ---------------------------------------------------------- handles */

struct odbc_env {
    struct odbc_handle h;
    pthread_mutex_t mutex;
    SQLINTEGER odbc_version;
    SQLUINTEGER pooling, cp_match;
    SQLINTEGER output_nts;
    struct odbc_conn *conns;
};

enum odbc_backend { BACKEND_UNKNOWN = 0, BACKEND_MYSQL, BACKEND_SQLITE };

struct odbc_conn {
    struct odbc_handle h;
    pthread_mutex_t mutex;      /* recursive; see the top of this file */
    struct odbc_env *env;
    struct odbc_conn *next;
    recall_conn *rc;            /* owned; NULL when not connected */
    bool dead;                  /* the link failed: every call reports 08S01 */
    bool unicode;               /* connected through a W function */
    enum odbc_backend backend;
    char *dsn, *user, *database, *server_info, *connstr_out, *servers; /* owned */
    char dbms_name[32], dbms_ver[32];
    /* attributes */
    SQLUINTEGER autocommit, access_mode, txn_isolation, login_timeout, connection_timeout,
        metadata_id, odbc_cursors, packet_size, trace;
    SQLULEN quiet_mode;
    char *current_catalog, *tracefile, *translate_lib; /* owned */
    SQLUINTEGER translate_option;
    unsigned base_timeout_ms;   /* REQUEST_TIMEOUT of the DSN (or the default) */
    struct odbc_stmt *live;     /* the statement whose librecall result is open */
    struct odbc_stmt *stmts;
    struct odbc_desc *descs;
};

/* Where result rows come from: librecall (stmt.c) or a table the driver
 * built (result.c). */
struct odbc_stmt;
struct odbc_source {
    /* Advance to the next row: 1 row, 0 no more, -1 error (diag posted). */
    int (*fetch)(struct odbc_stmt *s);
    /* Cell col (0-based) of the current row. */
    void (*value)(struct odbc_stmt *s, int col, struct odbc_value *v);
    /* Discard the rest of the result. */
    void (*close)(struct odbc_stmt *s);
};

/* A result set built by the driver: catalog functions, SQLGetTypeInfo. */
struct odbc_table {
    int ncols;
    size_t nrows, cap;
    struct odbc_value *cells;   /* owned: nrows * ncols; TEXT bytes owned and NUL-terminated */
};

/* Column description for driver-built tables. */
struct odbc_colspec {
    const char *name;
    SQLSMALLINT sql_type;
    SQLULEN size;
    SQLSMALLINT nullable;
};

enum odbc_sstate {
    ST_ALLOC = 0,   /* S1: nothing prepared */
    ST_PREPARED,    /* S2/S3 */
    ST_EXECUTED,    /* S4: executed, no result set */
    ST_CURSOR,      /* S5-S7: a result set is open */
    ST_NEED_DATA,   /* S8: SQLExecute returned SQL_NEED_DATA */
    ST_PUT_DATA     /* S9/S10: SQLParamData chose a parameter */
};

/* Rows of the current rowset copied out of librecall when the rowset holds
 * more than one row (SQLSetPos + SQLGetData may read any of them). */
struct odbc_rowcache {
    size_t nrows;
    int ncols;
    struct odbc_value *cells;   /* owned: nrows * ncols; TEXT/BLOB bytes owned */
};

struct odbc_stmt {
    struct odbc_handle h;
    struct odbc_conn *conn;
    struct odbc_stmt *next;
    enum odbc_sstate state;
    bool prepared;              /* SQLPrepare (not SQLExecDirect) made it */
    recall_stmt *rs;            /* owned */
    char *sql;                  /* owned: the rewritten text */
    int nparams;
    /* descriptors */
    struct odbc_desc ard_i, apd_i, ird, ipd;
    struct odbc_desc *ard, *apd; /* current: implicit or explicit */
    /* attributes that do not live in descriptors */
    SQLULEN query_timeout, max_rows, max_length, keyset_size, rowset_size, cursor_type,
        concurrency, noscan, retrieve_data, use_bookmarks, simulate_cursor, async_enable;
    SQLUINTEGER cursor_scrollable, cursor_sensitivity, enable_auto_ipd, metadata_id;
    SQLPOINTER fetch_bookmark_ptr;
    char *cursor_name;          /* owned; NULL until set or asked for */
    /* the open result */
    const struct odbc_source *src;
    struct odbc_table table;    /* for table sources */
    size_t table_pos;           /* 1-based row of the table source; 0 before the first */
    bool fetched;               /* the cursor is on a rowset */
    bool fetched_ext;           /* positioned by SQLExtendedFetch */
    size_t rowset_rows;         /* rows in the current rowset */
    size_t row_pos;             /* SQLSetPos row (0-based) within the rowset */
    SQLULEN rows_seen;          /* rows fetched so far (SQL_ATTR_MAX_ROWS, ROW_NUMBER) */
    bool src_done;
    struct odbc_rowcache cache;
    /* A live result copied into `table` because another statement ran on
     * the connection (librecall keeps one open result per connection); an
     * error met while copying is reported after the copied rows. */
    bool spilled, spill_failed;
    char spill_state[6];
    SQLINTEGER spill_native;
    char *spill_msg;            /* owned */
    atomic_int running;         /* a librecall call is running (SQLCancel) */
    /* SQLGetData progress */
    int gd_col;                 /* column of the stream, 0 none */
    size_t gd_row;
    struct conv_stream gd;
    /* execution */
    SQLLEN row_count;
    SQLULEN exec_set, exec_nsets, exec_ok, exec_err;
    bool exec_info;
    int dae_param;              /* 1-based parameter SQLPutData writes, 0 none */
    struct buf *dae_data;       /* owned: [nparams] data given by SQLPutData */
    signed char *dae_have;      /* owned: [nparams] 0 missing, 1 data, 2 NULL */
    int dae_n;
};

/* ---------------------------------------------------------- diag.c */

void odbc_diag_init(struct odbc_diag *d);
void odbc_diag_free(struct odbc_diag *d);
void odbc_diag_clear(struct odbc_diag *d);
/* Add a record; the message is prefixed with ODBC_TAG.  Returns SQL_ERROR
 * (or SQL_SUCCESS_WITH_INFO for 01xxx states) so callers can return it. */
SQLRETURN odbc_post(struct odbc_handle *h, const char *state, SQLINTEGER native,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
SQLRETURN odbc_post_at(struct odbc_handle *h, const char *state, SQLINTEGER native,
                       SQLLEN row, SQLINTEGER col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
SQLRETURN odbc_post_oom(struct odbc_handle *h);
/* The environment's ODBC version for a handle (decides 2.x SQLSTATEs). */
SQLINTEGER odbc_handle_version(struct odbc_handle *h);
struct odbc_handle *odbc_handle_check(SQLSMALLINT type, SQLHANDLE handle);
SQLRETURN odbc_get_diag_rec(SQLSMALLINT type, SQLHANDLE handle, SQLSMALLINT recno,
                            void *state, SQLINTEGER *native, void *msg, SQLSMALLINT buflen,
                            SQLSMALLINT *msglen, int out);
SQLRETURN odbc_get_diag_field(SQLSMALLINT type, SQLHANDLE handle, SQLSMALLINT recno,
                              SQLSMALLINT field, SQLPOINTER ptr, SQLSMALLINT buflen,
                              SQLSMALLINT *outlen, int out);

/* How a string result is written (wapi.c passes the W variants). */
#define ODBC_OUT_ANSI 0
#define ODBC_OUT_WIDE 1  /* UTF-16 */
#define ODBC_OUT_CHARS 2 /* buffer and length in characters, not bytes */

/* Write s (UTF-8, len bytes or SQL_NTS) into an application buffer of
 * buflen (bytes, or characters with ODBC_OUT_CHARS); *outlen (may be NULL)
 * gets the full length.  Posts 01004 on h when truncated. */
SQLRETURN odbc_out_str(struct odbc_handle *h, const char *s, SQLLEN len, void *buf,
                       SQLLEN buflen, SQLLEN *outlen, int out);
/* The same with a SQLSMALLINT / SQLINTEGER length pointer. */
SQLRETURN odbc_out_str16(struct odbc_handle *h, const char *s, SQLLEN len, void *buf,
                         SQLLEN buflen, SQLSMALLINT *outlen, int out);
SQLRETURN odbc_out_str32(struct odbc_handle *h, const char *s, SQLLEN len, void *buf,
                         SQLLEN buflen, SQLINTEGER *outlen, int out);

/* ---------------------------------------------------------- handles (handle.c) */

struct odbc_env *odbc_env_cast(SQLHANDLE h);
struct odbc_conn *odbc_conn_cast(SQLHANDLE h);
struct odbc_stmt *odbc_stmt_cast(SQLHANDLE h);
struct odbc_desc *odbc_desc_cast(SQLHANDLE h);

SQLRETURN odbc_env_alloc(struct odbc_env **out);
void odbc_env_free(struct odbc_env *env);
SQLRETURN odbc_conn_alloc(struct odbc_env *env, struct odbc_conn **out);
void odbc_conn_free(struct odbc_conn *c);
SQLRETURN odbc_stmt_alloc(struct odbc_conn *c, struct odbc_stmt **out);
void odbc_stmt_free(struct odbc_stmt *s);
SQLRETURN odbc_desc_alloc(struct odbc_conn *c, struct odbc_desc **out);
void odbc_desc_free_explicit(struct odbc_desc *d);

void odbc_conn_lock(struct odbc_conn *c);
void odbc_conn_unlock(struct odbc_conn *c);
/* Take the lock that guards a handle of any kind (the environment's mutex
 * or the connection's) and clear its diagnostics unless keep_diag. */
void odbc_enter(struct odbc_handle *h, bool keep_diag);
/* Record rc as the handle's SQL_DIAG_RETURNCODE, unlock, return rc. */
SQLRETURN odbc_leave(struct odbc_handle *h, SQLRETURN rc);
/* Unlock without touching the diagnostics (SQLGetDiagRec/Field). */
void odbc_unlock_handle(struct odbc_handle *h);

SQLRETURN odbc_set_env_attr(struct odbc_env *env, SQLINTEGER attr, SQLPOINTER value,
                            SQLINTEGER len);
SQLRETURN odbc_get_env_attr(struct odbc_env *env, SQLINTEGER attr, SQLPOINTER value,
                            SQLINTEGER buflen, SQLINTEGER *outlen);
SQLRETURN odbc_set_stmt_attr(struct odbc_stmt *s, SQLINTEGER attr, SQLPOINTER value,
                             SQLINTEGER len);
SQLRETURN odbc_get_stmt_attr(struct odbc_stmt *s, SQLINTEGER attr, SQLPOINTER value,
                             SQLINTEGER buflen, SQLINTEGER *outlen, int out);
/* Connection attributes that need no server round trip; the server-side
 * ones are applied by conn.c before this stores them. */
SQLRETURN odbc_conn_store_attr(struct odbc_conn *c, SQLINTEGER attr, SQLPOINTER value,
                               SQLINTEGER len);
SQLRETURN odbc_get_conn_attr(struct odbc_conn *c, SQLINTEGER attr, SQLPOINTER value,
                             SQLINTEGER buflen, SQLINTEGER *outlen, int out);
/* Cursor name (SQLGetCursorName makes one up when none was set). */
const char *odbc_stmt_cursor_name(struct odbc_stmt *s);
SQLRETURN odbc_set_cursor_name(struct odbc_stmt *s, const char *name, SQLLEN len);

/* ---------------------------------------------------------- descriptors (desc.c) */

void odbc_desc_init(struct odbc_desc *d, enum odbc_desc_kind kind, struct odbc_conn *c,
                    struct odbc_stmt *owner);
void odbc_desc_close(struct odbc_desc *d);
/* Make room for record n (count grows to n); NULL when out of memory. */
struct odbc_desc_rec *odbc_desc_rec(struct odbc_desc *d, int n);
void odbc_desc_rec_reset(struct odbc_desc *d, struct odbc_desc_rec *r);
/* Drop records above n (SQL_UNBIND, SQL_RESET_PARAMS, count changes). */
void odbc_desc_truncate(struct odbc_desc *d, int n);
/* Set a record's type fields from a concise type (and interval subcodes). */
void odbc_desc_set_type(struct odbc_desc *d, struct odbc_desc_rec *r, SQLSMALLINT concise);
/* The consistency check of SQLSetDescField/SQLSetDescRec (HY021). */
bool odbc_desc_consistent(const struct odbc_desc *d, const struct odbc_desc_rec *r);
SQLRETURN odbc_desc_set_field(struct odbc_desc *d, SQLSMALLINT recno, SQLSMALLINT field,
                              SQLPOINTER value, SQLINTEGER len);
SQLRETURN odbc_desc_get_field(struct odbc_desc *d, SQLSMALLINT recno, SQLSMALLINT field,
                              SQLPOINTER value, SQLINTEGER buflen, SQLINTEGER *outlen, int out);
SQLRETURN odbc_desc_get_rec(struct odbc_desc *d, SQLSMALLINT recno, void *name,
                            SQLSMALLINT buflen, SQLSMALLINT *namelen, SQLSMALLINT *type,
                            SQLSMALLINT *subtype, SQLLEN *length, SQLSMALLINT *precision,
                            SQLSMALLINT *scale, SQLSMALLINT *nullable, int out);
SQLRETURN odbc_desc_set_rec(struct odbc_desc *d, SQLSMALLINT recno, SQLSMALLINT type,
                            SQLSMALLINT subtype, SQLLEN length, SQLSMALLINT precision,
                            SQLSMALLINT scale, SQLPOINTER data, SQLLEN *octet_length_ptr,
                            SQLLEN *indicator_ptr);
SQLRETURN odbc_desc_copy(struct odbc_desc *src, struct odbc_desc *dst);
/* Address of element row of a bound buffer (bind offset and bind type
 * applied); elem is the column-wise element size. */
void *odbc_desc_elem(const struct odbc_desc *d, void *base, SQLULEN row, SQLLEN elem);
SQLLEN *odbc_desc_len_elem(const struct odbc_desc *d, SQLLEN *base, SQLULEN row);
/* Length/indicator words in the application's bound buffers need not be
 * aligned (pyodbc packs them next to the data): read and write them by
 * bytes. */
static inline SQLLEN odbc_len_load(const SQLLEN *p)
{
    SQLLEN v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void odbc_len_store(SQLLEN *p, SQLLEN v) { memcpy(p, &v, sizeof v); }
/* SQLBindCol / SQLBindParameter on the current ARD / APD+IPD. */
SQLRETURN odbc_bind_col(struct odbc_stmt *s, SQLUSMALLINT col, SQLSMALLINT c_type,
                        SQLPOINTER ptr, SQLLEN buflen, SQLLEN *ind);
SQLRETURN odbc_bind_param(struct odbc_stmt *s, SQLUSMALLINT n, SQLSMALLINT io,
                          SQLSMALLINT c_type, SQLSMALLINT sql_type, SQLULEN size,
                          SQLSMALLINT digits, SQLPOINTER ptr, SQLLEN buflen, SQLLEN *ind);
/* Fill IRD record n (1-based) from a column description. */
SQLRETURN odbc_ird_set(struct odbc_stmt *s, int n, const char *name, SQLSMALLINT sql_type,
                       SQLULEN size, SQLSMALLINT decimals, SQLSMALLINT nullable,
                       bool is_unsigned);
/* The concise SQL type a client of this statement's environment sees. */
SQLSMALLINT odbc_app_sql_type(struct odbc_stmt *s, SQLSMALLINT t);

/* ---------------------------------------------------------- results (result.c) */

extern const struct odbc_source odbc_table_source;

void odbc_table_init(struct odbc_table *t, int ncols);
void odbc_table_free(struct odbc_table *t);
/* Append a row: vals[ncols] are copied (TEXT/BLOB bytes too).  -1 on OOM. */
int odbc_table_add(struct odbc_table *t, const struct odbc_value *vals);
/* Make t (moved in) the statement's open result with columns specs. */
SQLRETURN odbc_stmt_set_table(struct odbc_stmt *s, struct odbc_table *t,
                              const struct odbc_colspec *specs, int ncols);
/* Close the open result (SQLCloseCursor, SQLFreeStmt(SQL_CLOSE), re-execute). */
void odbc_stmt_close_result(struct odbc_stmt *s);
SQLRETURN odbc_fetch(struct odbc_stmt *s, SQLSMALLINT orientation, SQLLEN offset,
                     SQLULEN rowset, SQLULEN *rows_out, SQLUSMALLINT *status_out, bool ext);
SQLRETURN odbc_get_data(struct odbc_stmt *s, SQLUSMALLINT col, SQLSMALLINT c_type,
                        SQLPOINTER ptr, SQLLEN buflen, SQLLEN *ind);
SQLRETURN odbc_set_pos(struct odbc_stmt *s, SQLSETPOSIROW row, SQLUSMALLINT op,
                       SQLUSMALLINT lock);
SQLRETURN odbc_num_result_cols(struct odbc_stmt *s, SQLSMALLINT *n);
SQLRETURN odbc_describe_col(struct odbc_stmt *s, SQLUSMALLINT col, void *name,
                            SQLSMALLINT buflen, SQLSMALLINT *namelen, SQLSMALLINT *type,
                            SQLULEN *size, SQLSMALLINT *digits, SQLSMALLINT *nullable, int out);
SQLRETURN odbc_col_attribute(struct odbc_stmt *s, SQLUSMALLINT col, SQLUSMALLINT field,
                             SQLPOINTER cptr, SQLSMALLINT buflen, SQLSMALLINT *outlen,
                             SQLLEN *nptr, int out);

/* ---------------------------------------------------------- conn.c / stmt.c */

/* Post the last librecall error of rs (or of the connection) on h.  When
 * the connection is no longer usable it is marked dead and the SQLSTATE is
 * 08S01; a timeout is HYT00 for statements (stmt_timeout) and HYT01 for the
 * connection. */
SQLRETURN odbc_post_recall(struct odbc_handle *h, struct odbc_conn *c, recall_stmt *rs,
                           SQLLEN row, bool stmt_timeout);
/* 08003/08S01 when the connection cannot take a call. */
SQLRETURN odbc_conn_check(struct odbc_handle *h, struct odbc_conn *c);
/* Set librecall's request timeout for a call: the statement's query
 * timeout, else the connection timeout, else the DSN's request timeout. */
void odbc_conn_timeout(struct odbc_conn *c, SQLULEN query_timeout);
/* Copy the open librecall result of any statement but `except` into
 * memory, so that librecall can run another request. */
void odbc_conn_spill(struct odbc_conn *c, struct odbc_stmt *except);
/* Run sql with text parameters (NULL entries bind NULL) and append its rows
 * to t (t->ncols columns are read; missing ones are NULL).  Errors are
 * posted on s. */
SQLRETURN odbc_query_table(struct odbc_stmt *s, const char *sql, const char *const *params,
                           int nparams, struct odbc_table *t);
SQLRETURN odbc_prepare(struct odbc_stmt *s, const char *sql, SQLLEN len);
SQLRETURN odbc_execute(struct odbc_stmt *s);
SQLRETURN odbc_exec_direct(struct odbc_stmt *s, const char *sql, SQLLEN len);
SQLRETURN odbc_connect_w(struct odbc_conn *c, const char *dsn, const char *uid, const char *pwd);
SQLRETURN odbc_driver_connect(struct odbc_conn *c, const char *in, SQLLEN inlen, void *out,
                              SQLSMALLINT buflen, SQLSMALLINT *outlen, SQLUSMALLINT completion,
                              int outflags);
/* SQLSetConnectAttr: server-side attributes applied, then stored. */
SQLRETURN odbc_set_conn_attr(struct odbc_conn *c, SQLINTEGER attr, SQLPOINTER value,
                             SQLINTEGER len);
/* SQLGetConnectAttr: autocommit and current catalog asked of librecall. */
SQLRETURN odbc_get_conn_attr_full(struct odbc_conn *c, SQLINTEGER attr, SQLPOINTER value,
                                  SQLINTEGER buflen, SQLINTEGER *outlen, int out);
SQLRETURN odbc_native_sql(struct odbc_conn *c, const char *in, SQLLEN inlen, void *out,
                          SQLLEN buflen, SQLINTEGER *outlen, int outflags);

/* ---------------------------------------------------------- catalog.c */

SQLRETURN odbc_tables(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                      const char *table_in, const char *types);
SQLRETURN odbc_columns(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                       const char *table_in, const char *col_in);
SQLRETURN odbc_statistics(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                          const char *table_in, SQLUSMALLINT unique, SQLUSMALLINT reserved);
SQLRETURN odbc_primary_keys(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                            const char *table_in);
SQLRETURN odbc_foreign_keys(struct odbc_stmt *s, const char *pkcat, const char *pkschem,
                            const char *pktable, const char *fkcat, const char *fkschem,
                            const char *fktable);
SQLRETURN odbc_special_columns(struct odbc_stmt *s, SQLUSMALLINT idtype, const char *cat_in,
                               const char *schem_in, const char *table_in, SQLUSMALLINT scope,
                               SQLUSMALLINT nullable);
SQLRETURN odbc_procedures(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                          const char *proc_in);
SQLRETURN odbc_procedure_columns(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                                 const char *proc_in, const char *col_in);
SQLRETURN odbc_column_privileges(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                                 const char *table_in, const char *col_in);
SQLRETURN odbc_table_privileges(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                                const char *table_in);

/* ---------------------------------------------------------- info.c */

SQLRETURN odbc_get_info(struct odbc_conn *c, SQLUSMALLINT type, SQLPOINTER value,
                        SQLSMALLINT buflen, SQLSMALLINT *outlen, int out);
SQLRETURN odbc_get_type_info(struct odbc_stmt *s, SQLSMALLINT type);
SQLRETURN odbc_get_functions(struct odbc_conn *c, SQLUSMALLINT id, SQLUSMALLINT *supported);
/* The ANSI entry points this library exports, as SQL_API_* codes (every
 * one with strings has a W twin in wapi.c). */
extern const SQLUSMALLINT odbc_functions[];
extern const size_t odbc_nfunctions;

/* ---------------------------------------------------------- misc helpers */

/* strndup of an ODBC string argument (len may be SQL_NTS); NULL stays NULL.
 * Returns -1 on a bad length (HY090) with *out NULL, -2 when out of memory. */
int odbc_strarg(const char *s, SQLLEN len, char **out);
char *odbc_strdup(const char *s);

#endif
