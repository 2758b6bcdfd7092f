/* bench.h: the client paths recall-bench drives, behind one small table of
 * operations so that every workload runs the same calls through librecall
 * (bench/client_recall.c) and through any ODBC data source
 * (bench/client_odbc.c).  Nothing here is Recall's API: it is the benchmark's
 * own seam between workloads and drivers.
 *
 * Errors: every call that can fail returns BENCH_OK, BENCH_RETRY (the
 * database rolled the transaction back for a conflict: deadlock, lock wait
 * timeout, Galera certification failure, Recall failover, SQLSTATE 40001 --
 * the caller rolls back and runs the operation again) or BENCH_FAIL, and
 * leaves a message on the client (bench_path.errmsg).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

enum { BENCH_OK = 0, BENCH_RETRY = 1, BENCH_FAIL = -1 };

/* Largest number of parameters a benchmark statement binds. */
#define BENCH_MAX_PARAMS 8
/* Largest text parameter (sysbench's c column is CHAR(120)). */
#define BENCH_MAX_TEXT 256

struct bench_client; /* one connection of one path */
struct bench_stmt;   /* a prepared statement on a client */

struct bench_path {
    const char *name; /* "librecall" or "odbc" */
    /* Process-wide setup and teardown (the ODBC environment handle). */
    int (*global_init)(char *msg, size_t msglen);
    void (*global_close)(void);
    /* Connect with a connection string in the path's own syntax.  Returns
     * NULL on failure with a message in msg.  The client is owned by the
     * caller until disconnect. */
    struct bench_client *(*connect)(const char *conninfo, char *msg, size_t msglen);
    void (*disconnect)(struct bench_client *c);
    /* Prepare sql with `?` placeholders; NULL on failure (errmsg). The
     * statement belongs to c and must be freed before c is disconnected. */
    struct bench_stmt *(*prepare)(struct bench_client *c, const char *sql);
    void (*stmt_free)(struct bench_stmt *s);
    /* Bind parameter idx (1-based, <= BENCH_MAX_PARAMS); the value is copied. */
    int (*bind_int)(struct bench_stmt *s, int idx, int64_t v);
    int (*bind_text)(struct bench_stmt *s, int idx, const char *text, size_t len);
    /* Execute and read every row (column 1 of each row is fetched as text,
     * as an application would).  *rows gets the number of rows, *first the
     * first column of the first row as an integer (0 if none or NULL);
     * either may be NULL.  *affected, if not NULL, gets the affected rows. */
    int (*execute)(struct bench_stmt *s, int64_t *rows, int64_t *first, int64_t *affected);
    /* Run SQL without parameters, discarding rows. */
    int (*exec_sql)(struct bench_client *c, const char *sql);
    int (*set_autocommit)(struct bench_client *c, int on);
    int (*commit)(struct bench_client *c);
    int (*rollback)(struct bench_client *c);
    /* The last error's message (never NULL). */
    const char *(*errmsg)(struct bench_client *c);
};

extern const struct bench_path bench_path_recall;
extern const struct bench_path bench_path_odbc;

#endif
