/* client_odbc.c: recall-bench's ODBC path -- the benchmark's client
 * operations (bench/bench.h) through unixODBC's driver manager, so the same
 * calls reach MariaDB Connector/ODBC (single MariaDB, Galera) and the Recall
 * ODBC driver alike.  Statements are prepared once (SQLPrepare) and run with
 * bound parameters (SQLBindParameter, SQLExecute); transactions use
 * SQL_ATTR_AUTOCOMMIT and SQLEndTran, as ODBC applications do.  Conflicts
 * (SQLSTATE 40001/40000, MySQL errors 1213 and 1205) come back as
 * BENCH_RETRY, other failures as BENCH_FAIL with the first diagnostic record.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>

#include "bench.h"

static SQLHENV od_env; /* process-wide environment handle */

struct bench_client {
    SQLHDBC dbc;       /* owned */
    SQLHSTMT scratch;  /* owned: for exec_sql */
    char msg[768];
};

struct bench_stmt {
    struct bench_client *client;
    SQLHSTMT stmt; /* owned */
    SQLBIGINT ival[BENCH_MAX_PARAMS];
    char text[BENCH_MAX_PARAMS][BENCH_MAX_TEXT];
    SQLLEN ind[BENCH_MAX_PARAMS];
};

/* Fill msg from the first diagnostic record of handle and classify it. */
static int od_diag(char *msg, size_t msglen, SQLSMALLINT type, SQLHANDLE handle,
                   const char *what)
{
    SQLCHAR state[6] = "?????", text[512] = "";
    SQLINTEGER native = 0;
    SQLSMALLINT len = 0;

    if (!SQL_SUCCEEDED(SQLGetDiagRec(type, handle, 1, state, &native, text,
                                     (SQLSMALLINT)sizeof text, &len))) {
        snprintf(msg, msglen, "ODBC %s failed (no diagnostic record)", what);
        return BENCH_FAIL;
    }
    snprintf(msg, msglen, "ODBC %s: [%s] (native %d) %s", what, (const char *)state, (int)native,
             (const char *)text);
    if (strcmp((const char *)state, "40001") == 0 || strcmp((const char *)state, "40000") == 0)
        return BENCH_RETRY;
    if (native == 1213 || native == 1205)
        return BENCH_RETRY;
    return BENCH_FAIL;
}

static int od_global_init(char *msg, size_t msglen)
{
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &od_env))) {
        snprintf(msg, msglen, "cannot allocate an ODBC environment handle");
        return BENCH_FAIL;
    }
    if (!SQL_SUCCEEDED(SQLSetEnvAttr(od_env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0))) {
        od_diag(msg, msglen, SQL_HANDLE_ENV, od_env, "SQLSetEnvAttr");
        SQLFreeHandle(SQL_HANDLE_ENV, od_env);
        od_env = SQL_NULL_HENV;
        return BENCH_FAIL;
    }
    return BENCH_OK;
}

static void od_global_close(void)
{
    if (od_env != SQL_NULL_HENV)
        SQLFreeHandle(SQL_HANDLE_ENV, od_env);
    od_env = SQL_NULL_HENV;
}

static struct bench_client *od_connect(const char *conninfo, char *msg, size_t msglen)
{
    struct bench_client *c = calloc(1, sizeof *c);
    SQLCHAR out[1024];
    SQLSMALLINT outlen = 0;

    if (!c) {
        snprintf(msg, msglen, "out of memory");
        return NULL;
    }
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, od_env, &c->dbc))) {
        od_diag(msg, msglen, SQL_HANDLE_ENV, od_env, "SQLAllocHandle(DBC)");
        goto err_after_alloc;
    }
    if (!SQL_SUCCEEDED(SQLDriverConnect(c->dbc, NULL, (SQLCHAR *)conninfo, SQL_NTS, out,
                                        (SQLSMALLINT)sizeof out, &outlen, SQL_DRIVER_NOPROMPT))) {
        od_diag(msg, msglen, SQL_HANDLE_DBC, c->dbc, "SQLDriverConnect");
        goto err_after_dbc;
    }
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &c->scratch))) {
        od_diag(msg, msglen, SQL_HANDLE_DBC, c->dbc, "SQLAllocHandle(STMT)");
        goto err_after_connect;
    }
    return c;

err_after_connect:
    SQLDisconnect(c->dbc);
err_after_dbc:
    SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
err_after_alloc:
    free(c);
    return NULL;
}

static void od_disconnect(struct bench_client *c)
{
    if (!c)
        return;
    SQLFreeHandle(SQL_HANDLE_STMT, c->scratch);
    SQLDisconnect(c->dbc);
    SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
    free(c);
}

static struct bench_stmt *od_prepare(struct bench_client *c, const char *sql)
{
    struct bench_stmt *s = calloc(1, sizeof *s);

    if (!s) {
        snprintf(c->msg, sizeof c->msg, "out of memory");
        return NULL;
    }
    s->client = c;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &s->stmt))) {
        od_diag(c->msg, sizeof c->msg, SQL_HANDLE_DBC, c->dbc, "SQLAllocHandle(STMT)");
        free(s);
        return NULL;
    }
    if (!SQL_SUCCEEDED(SQLPrepare(s->stmt, (SQLCHAR *)sql, SQL_NTS))) {
        od_diag(c->msg, sizeof c->msg, SQL_HANDLE_STMT, s->stmt, "SQLPrepare");
        SQLFreeHandle(SQL_HANDLE_STMT, s->stmt);
        free(s);
        return NULL;
    }
    return s;
}

static void od_stmt_free(struct bench_stmt *s)
{
    if (!s)
        return;
    SQLFreeHandle(SQL_HANDLE_STMT, s->stmt);
    free(s);
}

static int od_bind_int(struct bench_stmt *s, int idx, int64_t v)
{
    if (idx < 1 || idx > BENCH_MAX_PARAMS) {
        snprintf(s->client->msg, sizeof s->client->msg, "parameter %d out of range", idx);
        return BENCH_FAIL;
    }
    s->ival[idx - 1] = (SQLBIGINT)v;
    s->ind[idx - 1] = 0;
    if (!SQL_SUCCEEDED(SQLBindParameter(s->stmt, (SQLUSMALLINT)idx, SQL_PARAM_INPUT,
                                        SQL_C_SBIGINT, SQL_BIGINT, 0, 0, &s->ival[idx - 1], 0,
                                        &s->ind[idx - 1])))
        return od_diag(s->client->msg, sizeof s->client->msg, SQL_HANDLE_STMT, s->stmt,
                       "SQLBindParameter");
    return BENCH_OK;
}

static int od_bind_text(struct bench_stmt *s, int idx, const char *text, size_t len)
{
    if (idx < 1 || idx > BENCH_MAX_PARAMS || len >= BENCH_MAX_TEXT) {
        snprintf(s->client->msg, sizeof s->client->msg, "parameter %d out of range", idx);
        return BENCH_FAIL;
    }
    memcpy(s->text[idx - 1], text, len);
    s->text[idx - 1][len] = '\0';
    s->ind[idx - 1] = (SQLLEN)len;
    if (!SQL_SUCCEEDED(SQLBindParameter(s->stmt, (SQLUSMALLINT)idx, SQL_PARAM_INPUT, SQL_C_CHAR,
                                        SQL_VARCHAR, len ? len : 1, 0, s->text[idx - 1],
                                        BENCH_MAX_TEXT, &s->ind[idx - 1])))
        return od_diag(s->client->msg, sizeof s->client->msg, SQL_HANDLE_STMT, s->stmt,
                       "SQLBindParameter");
    return BENCH_OK;
}

/* Read every row of the current result (column 1 as text), then close the
 * cursor. */
static int od_drain(struct bench_client *c, SQLHSTMT stmt, int64_t *rows, int64_t *first)
{
    SQLSMALLINT ncols = 0;
    SQLRETURN r;
    int64_t n = 0, v = 0;

    if (!SQL_SUCCEEDED(SQLNumResultCols(stmt, &ncols)))
        return od_diag(c->msg, sizeof c->msg, SQL_HANDLE_STMT, stmt, "SQLNumResultCols");
    if (ncols > 0) {
        while ((r = SQLFetch(stmt)) != SQL_NO_DATA) {
            char cell[BENCH_MAX_TEXT];
            SQLLEN ind = 0;

            if (!SQL_SUCCEEDED(r))
                return od_diag(c->msg, sizeof c->msg, SQL_HANDLE_STMT, stmt, "SQLFetch");
            r = SQLGetData(stmt, 1, SQL_C_CHAR, cell, sizeof cell, &ind);
            if (!SQL_SUCCEEDED(r))
                return od_diag(c->msg, sizeof c->msg, SQL_HANDLE_STMT, stmt, "SQLGetData");
            if (n == 0 && ind != SQL_NULL_DATA)
                v = strtoll(cell, NULL, 10);
            n++;
        }
        SQLFreeStmt(stmt, SQL_CLOSE);
    }
    if (rows)
        *rows = n;
    if (first)
        *first = v;
    return BENCH_OK;
}

static int od_execute(struct bench_stmt *s, int64_t *rows, int64_t *first, int64_t *affected)
{
    SQLRETURN r = SQLExecute(s->stmt);
    SQLLEN count = 0;
    int rc;

    if (r != SQL_NO_DATA && !SQL_SUCCEEDED(r))
        return od_diag(s->client->msg, sizeof s->client->msg, SQL_HANDLE_STMT, s->stmt,
                       "SQLExecute");
    if (affected) {
        if (!SQL_SUCCEEDED(SQLRowCount(s->stmt, &count)))
            return od_diag(s->client->msg, sizeof s->client->msg, SQL_HANDLE_STMT, s->stmt,
                           "SQLRowCount");
        *affected = (int64_t)count;
    }
    if (r == SQL_NO_DATA) {
        if (rows)
            *rows = 0;
        if (first)
            *first = 0;
        return BENCH_OK;
    }
    rc = od_drain(s->client, s->stmt, rows, first);
    if (rc != BENCH_OK)
        SQLFreeStmt(s->stmt, SQL_CLOSE);
    return rc;
}

static int od_exec_sql(struct bench_client *c, const char *sql)
{
    SQLRETURN r = SQLExecDirect(c->scratch, (SQLCHAR *)sql, SQL_NTS);
    int rc;

    if (r == SQL_NO_DATA)
        return BENCH_OK;
    if (!SQL_SUCCEEDED(r))
        return od_diag(c->msg, sizeof c->msg, SQL_HANDLE_STMT, c->scratch, "SQLExecDirect");
    rc = od_drain(c, c->scratch, NULL, NULL);
    SQLFreeStmt(c->scratch, SQL_CLOSE);
    return rc;
}

static int od_set_autocommit(struct bench_client *c, int on)
{
    SQLULEN v = on ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF;

    if (!SQL_SUCCEEDED(SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)v, 0)))
        return od_diag(c->msg, sizeof c->msg, SQL_HANDLE_DBC, c->dbc, "SQLSetConnectAttr");
    return BENCH_OK;
}

static int od_end(struct bench_client *c, SQLSMALLINT how)
{
    if (!SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, how)))
        return od_diag(c->msg, sizeof c->msg, SQL_HANDLE_DBC, c->dbc, "SQLEndTran");
    return BENCH_OK;
}

static int od_commit(struct bench_client *c)
{
    return od_end(c, SQL_COMMIT);
}

static int od_rollback(struct bench_client *c)
{
    return od_end(c, SQL_ROLLBACK);
}

static const char *od_errmsg(struct bench_client *c)
{
    return c->msg;
}

const struct bench_path bench_path_odbc = {
    .name = "odbc",
    .global_init = od_global_init,
    .global_close = od_global_close,
    .connect = od_connect,
    .disconnect = od_disconnect,
    .prepare = od_prepare,
    .stmt_free = od_stmt_free,
    .bind_int = od_bind_int,
    .bind_text = od_bind_text,
    .execute = od_execute,
    .exec_sql = od_exec_sql,
    .set_autocommit = od_set_autocommit,
    .commit = od_commit,
    .rollback = od_rollback,
    .errmsg = od_errmsg,
};
