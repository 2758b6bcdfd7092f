/* Connections of the Recall ODBC driver: SQLConnect/SQLDriverConnect onto
 * recall_connect(), SQLDisconnect, connection attributes that reach the
 * server (autocommit, access mode, isolation, current catalog), SQLEndTran,
 * SQLNativeSql, and the mapping of librecall errors onto diagnostics.
 *
 * Happy path: the connection string is resolved against the DSN (dsn.c),
 * librecall connects to a majority of the replicas, and the attributes set
 * before connecting are applied.  Failure modes: bad or incomplete connection
 * information (08001 with the reason), no quorum reachable (librecall's
 * SQLSTATE, 08001/08006), and a connection that later becomes unusable
 * (recall_usable() false): it is marked dead and every call reports 08S01
 * until SQLDisconnect.  A transaction lost to a failover is 40001 and the
 * connection stays usable.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsn.h"
#include "escape.h"
#include "odbc-internal.h"

SQLRETURN odbc_post_recall(struct odbc_handle *h, struct odbc_conn *c, recall_stmt *rs,
                           SQLLEN row, bool stmt_timeout)
{
    enum recall_code code = rs ? recall_stmt_errcode(rs) : recall_errcode(c->rc);
    const char *state = rs ? recall_stmt_sqlstate(rs) : recall_sqlstate(c->rc);
    const char *msg = rs ? recall_stmt_errmsg(rs) : recall_errmsg(c->rc);
    int native = rs ? recall_stmt_native_error(rs) : recall_native_error(c->rc);
    char st[6];
    if (!state || strlen(state) != 5)
        state = "HY000";
    snprintf(st, sizeof st, "%s", state);
    if (code == RECALL_E_TIMEOUT)
        snprintf(st, sizeof st, "%s", stmt_timeout ? "HYT00" : "HYT01");
    else if (code == RECALL_E_CANCELED)
        snprintf(st, sizeof st, "HY008");
    if (c->rc && !recall_usable(c->rc)) {
        c->dead = true;
        if (st[0] != '0' || st[1] != '8')
            snprintf(st, sizeof st, "08S01");
        return odbc_post_at(h, st, native, h->type == SQL_HANDLE_STMT ? row : 0,
                            h->type == SQL_HANDLE_STMT ? SQL_NO_COLUMN_NUMBER : 0,
                            "%s (the connection is lost: disconnect and connect again)",
                            msg && *msg ? msg : "communication link failure");
    }
    return odbc_post_at(h, st, native, h->type == SQL_HANDLE_STMT ? row : 0,
                        h->type == SQL_HANDLE_STMT ? SQL_NO_COLUMN_NUMBER : 0, "%s",
                        msg && *msg ? msg : "error");
}

SQLRETURN odbc_conn_check(struct odbc_handle *h, struct odbc_conn *c)
{
    if (!c->rc)
        return odbc_post(h, "08003", 0, "connection does not exist");
    if (c->dead)
        return odbc_post(h, "08S01", 0,
                         "communication link failure: the connection was lost; disconnect and connect again");
    return SQL_SUCCESS;
}

void odbc_conn_timeout(struct odbc_conn *c, SQLULEN query_timeout)
{
    unsigned ms;
    if (query_timeout > 0)
        ms = query_timeout > 4000000 ? 4000000000u : (unsigned)query_timeout * 1000u;
    else if (c->connection_timeout > 0)
        ms = c->connection_timeout > 4000000 ? 4000000000u : c->connection_timeout * 1000u;
    else
        ms = c->base_timeout_ms;
    recall_set_request_timeout(c->rc, ms);
}

/* "mariadb 10.11.6" -> "MariaDB" / "10.11.6". */
static void parse_server_info(struct odbc_conn *c)
{
    const char *si = c->server_info ? c->server_info : "";
    const char *sp = strchr(si, ' ');
    if (strncasecmp(si, "sqlite", 6) == 0) {
        c->backend = BACKEND_SQLITE;
        snprintf(c->dbms_name, sizeof c->dbms_name, "SQLite");
    } else {
        c->backend = BACKEND_MYSQL;
        snprintf(c->dbms_name, sizeof c->dbms_name, "%s",
                 strncasecmp(si, "mysql", 5) == 0 ? "MySQL" : "MariaDB");
    }
    snprintf(c->dbms_ver, sizeof c->dbms_ver, "%s", sp ? sp + 1 : si);
}

/* Attributes set before connecting take effect now. */
static SQLRETURN apply_attrs(struct odbc_conn *c)
{
    if (c->autocommit == SQL_AUTOCOMMIT_OFF && recall_set_autocommit(c->rc, 0) != RECALL_OK)
        return odbc_post_recall(&c->h, c, NULL, 0, false);
    if (c->access_mode == SQL_MODE_READ_ONLY && recall_set_read_only(c->rc, 1) != RECALL_OK)
        return odbc_post_recall(&c->h, c, NULL, 0, false);
    if (c->txn_isolation == SQL_TXN_SERIALIZABLE &&
        recall_set_isolation(c->rc, RECALL_ISO_SERIALIZABLE) != RECALL_OK)
        return odbc_post_recall(&c->h, c, NULL, 0, false);
    return SQL_SUCCESS;
}

/* Connect with a resolved configuration. */
static SQLRETURN connect_conf(struct odbc_conn *c, struct dsn_conf *conf)
{
    struct buf info, done;
    char msg[300];
    recall_conn *rc = NULL;
    SQLRETURN ret;
    buf_init(&info);
    buf_init(&done);
    if (c->rc) {
        ret = odbc_post(&c->h, "08002", 0, "connection name in use: already connected");
        goto out;
    }
    if (c->current_catalog && *c->current_catalog) {
        free(conf->val[DK_DATABASE]);
        if (!(conf->val[DK_DATABASE] = strdup(c->current_catalog))) {
            ret = odbc_post_oom(&c->h);
            goto out;
        }
    }
    if (dsn_librecall(conf, c->login_timeout, &info, msg, sizeof msg) < 0 ||
        buf_append(&info, "", 1) < 0) {
        ret = info.oom ? odbc_post_oom(&c->h) : odbc_post(&c->h, "08001", 0, "%s", msg);
        goto out;
    }
    if (recall_connect((const char *)info.data, &rc) != RECALL_OK) {
        if (!rc) {
            ret = odbc_post_oom(&c->h);
            goto out;
        }
        const char *st = recall_sqlstate(rc);
        ret = odbc_post(&c->h, st && strlen(st) == 5 ? st : "08001", recall_native_error(rc),
                        "%s", recall_errmsg(rc));
        recall_close(rc);
        goto out;
    }
    c->rc = rc;
    c->dead = false;
    free(c->server_info);
    c->server_info = odbc_strdup(recall_server_info(rc));
    parse_server_info(c);
    c->base_timeout_ms = dsn_request_timeout_ms(conf);
    free(c->dsn);
    free(c->user);
    free(c->database);
    c->dsn = odbc_strdup(conf->val[DK_DSN] ? conf->val[DK_DSN] : "");
    c->user = odbc_strdup(conf->val[DK_UID] ? conf->val[DK_UID] : "");
    c->database = odbc_strdup(conf->val[DK_DATABASE] ? conf->val[DK_DATABASE] : "");
    free(c->servers);
    c->servers = odbc_strdup(conf->val[DK_REPLICAS] ? conf->val[DK_REPLICAS]
                             : conf->val[DK_SERVER] ? conf->val[DK_SERVER] : "");
    if (dsn_completed(conf, &done) < 0) {
        ret = odbc_post_oom(&c->h);
        goto fail_after_connect;
    }
    free(c->connstr_out);
    c->connstr_out = strdup(done.len ? (const char *)done.data : "");
    if (!c->server_info || !c->dsn || !c->user || !c->database || !c->connstr_out || !c->servers) {
        ret = odbc_post_oom(&c->h);
        goto fail_after_connect;
    }
    ret = apply_attrs(c);
    if (!SQL_SUCCEEDED(ret))
        goto fail_after_connect;
    goto out;
fail_after_connect:
    recall_close(c->rc);
    c->rc = NULL;
out:
    buf_close(&info);
    buf_close(&done);
    return ret;
}

static SQLRETURN do_connect(struct odbc_conn *c, const char *dsn, SQLLEN dsnlen, const char *uid,
                            SQLLEN uidlen, const char *pwd, SQLLEN pwdlen)
{
    struct dsn_conf conf;
    char msg[300];
    char *d = NULL, *u = NULL, *p = NULL;
    SQLRETURN ret;
    if (odbc_strarg(dsn, dsnlen, &d) == -1 || odbc_strarg(uid, uidlen, &u) == -1 ||
        odbc_strarg(pwd, pwdlen, &p) == -1) {
        ret = odbc_post(&c->h, "HY090", 0, "invalid string or buffer length");
        goto out;
    }
    if ((dsn && !d) || (uid && !u) || (pwd && !p)) {
        ret = odbc_post_oom(&c->h);
        goto out;
    }
    if (dsn_resolve(&conf, NULL, 0, d && *d ? d : "DEFAULT", dsn_odbcinst_lookup, NULL, msg,
                    sizeof msg) < 0) {
        ret = odbc_post(&c->h, "08001", 0, "%s", msg);
        goto out;
    }
    /* SQLConnect's user and password win over the DSN's (an empty password
     * counts when a user name was given). */
    bool uid_given = u && *u;
    if (uid_given) {
        free(conf.val[DK_UID]);
        conf.val[DK_UID] = u;
        u = NULL;
    }
    if (p && (uid_given || *p)) {
        free(conf.val[DK_PWD]);
        conf.val[DK_PWD] = p;
        p = NULL;
    }
    ret = connect_conf(c, &conf);
    dsn_conf_free(&conf);
out:
    free(d);
    free(u);
    free(p);
    return ret;
}

static SQLRETURN do_driver_connect(struct odbc_conn *c, const char *in, SQLLEN inlen, void *out,
                                   SQLSMALLINT buflen, SQLSMALLINT *outlen, SQLUSMALLINT completion,
                                   int outflags)
{
    struct dsn_conf conf;
    char msg[300];
    SQLRETURN ret;
    size_t n;
    if (!in)
        return odbc_post(&c->h, "HY009", 0, "invalid use of null pointer: no connection string");
    if (inlen == SQL_NTS)
        n = strlen(in);
    else if (inlen < 0)
        return odbc_post(&c->h, "HY090", 0, "invalid string or buffer length");
    else
        n = (size_t)inlen;
    if (completion != SQL_DRIVER_NOPROMPT && completion != SQL_DRIVER_COMPLETE &&
        completion != SQL_DRIVER_PROMPT && completion != SQL_DRIVER_COMPLETE_REQUIRED)
        return odbc_post(&c->h, "HY110", 0, "invalid driver completion %u", (unsigned)completion);
    if (dsn_resolve(&conf, in, n, NULL, dsn_odbcinst_lookup, NULL, msg, sizeof msg) < 0)
        return odbc_post(&c->h, "08001", 0, "invalid connection string: %s", msg);
    /* There is no dialog to prompt with: every completion mode connects
     * with what it was given. */
    ret = connect_conf(c, &conf);
    dsn_conf_free(&conf);
    if (SQL_SUCCEEDED(ret) && (out || outlen)) {
        SQLRETURN r2 = odbc_out_str16(&c->h, c->connstr_out, SQL_NTS, out, buflen, outlen, outflags);
        if (r2 != SQL_SUCCESS)
            ret = r2;
    }
    return ret;
}

SQLRETURN SQL_API SQLConnect(SQLHDBC hdbc, SQLCHAR *dsn, SQLSMALLINT dsnlen, SQLCHAR *uid,
                             SQLSMALLINT uidlen, SQLCHAR *pwd, SQLSMALLINT pwdlen)
{
    struct odbc_conn *c = odbc_conn_cast(hdbc);
    if (!c)
        return SQL_INVALID_HANDLE;
    odbc_enter(&c->h, false);
    c->unicode = false;
    return odbc_leave(&c->h, do_connect(c, (const char *)dsn, dsnlen, (const char *)uid, uidlen,
                                        (const char *)pwd, pwdlen));
}

SQLRETURN odbc_connect_w(struct odbc_conn *c, const char *dsn, const char *uid, const char *pwd)
{
    c->unicode = true;
    return do_connect(c, dsn, SQL_NTS, uid, SQL_NTS, pwd, SQL_NTS);
}

SQLRETURN odbc_driver_connect(struct odbc_conn *c, const char *in, SQLLEN inlen, void *out,
                              SQLSMALLINT buflen, SQLSMALLINT *outlen, SQLUSMALLINT completion,
                              int outflags)
{
    c->unicode = (outflags & ODBC_OUT_WIDE) != 0;
    return do_driver_connect(c, in, inlen, out, buflen, outlen, completion, outflags);
}

SQLRETURN SQL_API SQLDriverConnect(SQLHDBC hdbc, SQLHWND hwnd, SQLCHAR *in, SQLSMALLINT inlen,
                                   SQLCHAR *out, SQLSMALLINT buflen, SQLSMALLINT *outlen,
                                   SQLUSMALLINT completion)
{
    struct odbc_conn *c = odbc_conn_cast(hdbc);
    (void)hwnd;
    if (!c)
        return SQL_INVALID_HANDLE;
    odbc_enter(&c->h, false);
    return odbc_leave(&c->h, odbc_driver_connect(c, (const char *)in, inlen, out, buflen, outlen,
                                                 completion, ODBC_OUT_ANSI));
}

SQLRETURN SQL_API SQLDisconnect(SQLHDBC hdbc)
{
    struct odbc_conn *c = odbc_conn_cast(hdbc);
    if (!c)
        return SQL_INVALID_HANDLE;
    odbc_enter(&c->h, false);
    if (!c->rc)
        return odbc_leave(&c->h, odbc_post(&c->h, "08003", 0, "connection does not exist"));
    /* Statements and explicit descriptors go with the connection; an open
     * transaction is rolled back (as MySQL's own drivers do). */
    while (c->stmts)
        odbc_stmt_free(c->stmts);
    while (c->descs)
        odbc_desc_free_explicit(c->descs);
    c->live = NULL;
    if (!c->dead && recall_in_transaction(c->rc))
        recall_rollback(c->rc);
    recall_close(c->rc);
    c->rc = NULL;
    c->dead = false;
    return odbc_leave(&c->h, SQL_SUCCESS);
}

/* ---------------------------------------------------------- attributes */

static SQLRETURN use_database(struct odbc_conn *c, const char *db)
{
    struct buf q;
    SQLRETURN ret = SQL_SUCCESS;
    if (c->backend == BACKEND_SQLITE) {
        if (strcasecmp(db, "main") == 0)
            return SQL_SUCCESS;
        return odbc_post(&c->h, "HYC00", 0, "optional feature not implemented: SQLite has one catalog, main");
    }
    buf_init(&q);
    if (buf_append(&q, "USE `", 5) < 0)
        goto oom;
    for (const char *p = db; *p; p++)
        if ((*p == '`' && buf_append(&q, "`", 1) < 0) || buf_append(&q, p, 1) < 0)
            goto oom;
    if (buf_append(&q, "`", 2) < 0)
        goto oom;
    odbc_conn_spill(c, NULL);
    odbc_conn_timeout(c, 0);
    if (recall_exec(c->rc, (const char *)q.data) != RECALL_OK)
        ret = odbc_post_recall(&c->h, c, NULL, 0, false);
    buf_close(&q);
    return ret;
oom:
    buf_close(&q);
    return odbc_post_oom(&c->h);
}

SQLRETURN odbc_set_conn_attr(struct odbc_conn *c, SQLINTEGER attr, SQLPOINTER value,
                             SQLINTEGER len)
{
    SQLUINTEGER v = (SQLUINTEGER)(uintptr_t)value;
    bool connected = c->rc != NULL;
    if (connected && (attr == SQL_ATTR_AUTOCOMMIT || attr == SQL_ATTR_ACCESS_MODE ||
                      attr == SQL_ATTR_TXN_ISOLATION || attr == SQL_ATTR_CURRENT_CATALOG)) {
        SQLRETURN rc = odbc_conn_check(&c->h, c);
        if (!SQL_SUCCEEDED(rc))
            return rc;
    }
    switch (attr) {
    case SQL_ATTR_AUTOCOMMIT:
        if (v != SQL_AUTOCOMMIT_ON && v != SQL_AUTOCOMMIT_OFF)
            break; /* the store reports HY024 */
        if (connected) {
            odbc_conn_spill(c, NULL);
            odbc_conn_timeout(c, 0);
            if (recall_set_autocommit(c->rc, v == SQL_AUTOCOMMIT_ON) != RECALL_OK)
                return odbc_post_recall(&c->h, c, NULL, 0, false);
        }
        break;
    case SQL_ATTR_ACCESS_MODE:
        if (v != SQL_MODE_READ_ONLY && v != SQL_MODE_READ_WRITE)
            break;
        if (connected && recall_set_read_only(c->rc, v == SQL_MODE_READ_ONLY) != RECALL_OK)
            return odbc_post_recall(&c->h, c, NULL, 0, false);
        break;
    case SQL_ATTR_TXN_ISOLATION:
        if (connected && (v == SQL_TXN_SERIALIZABLE || v == SQL_TXN_REPEATABLE_READ ||
                          v == SQL_TXN_READ_COMMITTED || v == SQL_TXN_READ_UNCOMMITTED) &&
            recall_set_isolation(c->rc, v == SQL_TXN_SERIALIZABLE ? RECALL_ISO_SERIALIZABLE
                                                                  : RECALL_ISO_REPEATABLE_READ) != RECALL_OK)
            return odbc_post_recall(&c->h, c, NULL, 0, false);
        break;
    case SQL_ATTR_CURRENT_CATALOG:
        if (connected) {
            char *db;
            if (odbc_strarg(value, len, &db) == -1)
                return odbc_post(&c->h, "HY090", 0, "invalid string or buffer length");
            if (!db)
                return value ? odbc_post_oom(&c->h)
                             : odbc_post(&c->h, "HY009", 0, "invalid use of null pointer");
            SQLRETURN rc = use_database(c, db);
            free(db);
            if (!SQL_SUCCEEDED(rc))
                return rc;
        }
        break;
    default:
        break;
    }
    return odbc_conn_store_attr(c, attr, value, len);
}

/* SELECT DATABASE() on MySQL: USE statements may have changed it. */
static char *current_database(struct odbc_conn *c)
{
    recall_stmt *st;
    char *db = NULL;
    if (c->backend != BACKEND_MYSQL || c->dead)
        return NULL;
    odbc_conn_spill(c, NULL);
    odbc_conn_timeout(c, 0);
    if (!(st = recall_prepare(c->rc, "SELECT DATABASE()", 17)))
        return NULL;
    if (recall_execute(st) == RECALL_OK && recall_fetch(st) == RECALL_ROW &&
        !recall_value_is_null(st, 0))
        db = odbc_strdup(recall_value_text(st, 0, NULL));
    recall_stmt_free(st);
    return db;
}

SQLRETURN odbc_get_conn_attr_full(struct odbc_conn *c, SQLINTEGER attr, SQLPOINTER value,
                                  SQLINTEGER buflen, SQLINTEGER *outlen, int out)
{
    if (c->rc && !c->dead) {
        if (attr == SQL_ATTR_AUTOCOMMIT) {
            int on = recall_get_autocommit(c->rc);
            if (on >= 0)
                c->autocommit = on ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF;
        } else if (attr == SQL_ATTR_CURRENT_CATALOG && c->backend == BACKEND_MYSQL) {
            char *db = current_database(c);
            if (db) {
                free(c->current_catalog);
                c->current_catalog = db;
            }
        } else if (attr == SQL_ATTR_CURRENT_CATALOG && c->backend == BACKEND_SQLITE) {
            return odbc_out_str32(&c->h, "main", SQL_NTS, value, buflen, outlen, out);
        }
    }
    return odbc_get_conn_attr(c, attr, value, buflen, outlen, out);
}

SQLRETURN SQL_API SQLSetConnectAttr(SQLHDBC hdbc, SQLINTEGER attr, SQLPOINTER value,
                                    SQLINTEGER len)
{
    struct odbc_conn *c = odbc_conn_cast(hdbc);
    if (!c)
        return SQL_INVALID_HANDLE;
    odbc_enter(&c->h, false);
    return odbc_leave(&c->h, odbc_set_conn_attr(c, attr, value, len));
}

SQLRETURN SQL_API SQLGetConnectAttr(SQLHDBC hdbc, SQLINTEGER attr, SQLPOINTER value,
                                    SQLINTEGER buflen, SQLINTEGER *outlen)
{
    struct odbc_conn *c = odbc_conn_cast(hdbc);
    if (!c)
        return SQL_INVALID_HANDLE;
    odbc_enter(&c->h, false);
    return odbc_leave(&c->h, odbc_get_conn_attr_full(c, attr, value, buflen, outlen, ODBC_OUT_ANSI));
}

/* ---------------------------------------------------------- transactions */

static SQLRETURN end_tran(struct odbc_conn *c, SQLSMALLINT completion)
{
    SQLRETURN rc = odbc_conn_check(&c->h, c);
    int r;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (completion != SQL_COMMIT && completion != SQL_ROLLBACK)
        return odbc_post(&c->h, "HY012", 0, "invalid transaction operation code %d", (int)completion);
    /* Cursors survive commit and rollback (SQL_CB_PRESERVE): keep their
     * rows before librecall talks to the primary. */
    odbc_conn_spill(c, NULL);
    odbc_conn_timeout(c, 0);
    r = completion == SQL_COMMIT ? recall_commit(c->rc) : recall_rollback(c->rc);
    if (r != RECALL_OK)
        return odbc_post_recall(&c->h, c, NULL, 0, false);
    return SQL_SUCCESS;
}

SQLRETURN SQL_API SQLEndTran(SQLSMALLINT type, SQLHANDLE handle, SQLSMALLINT completion)
{
    if (type == SQL_HANDLE_DBC) {
        struct odbc_conn *c = odbc_conn_cast(handle);
        if (!c)
            return SQL_INVALID_HANDLE;
        odbc_enter(&c->h, false);
        return odbc_leave(&c->h, end_tran(c, completion));
    }
    if (type == SQL_HANDLE_ENV) {
        struct odbc_env *e = odbc_env_cast(handle);
        SQLRETURN rc = SQL_SUCCESS;
        if (!e)
            return SQL_INVALID_HANDLE;
        odbc_enter(&e->h, false);
        for (struct odbc_conn *c = e->conns; c; c = c->next) {
            if (!c->rc)
                continue;
            odbc_conn_lock(c);
            odbc_diag_clear(&c->h.diag);
            SQLRETURN r = end_tran(c, completion);
            odbc_conn_unlock(c);
            if (!SQL_SUCCEEDED(r)) {
                odbc_post(&e->h, "25S01", 0, "transaction state unknown: a connection failed to %s",
                          completion == SQL_COMMIT ? "commit" : "roll back");
                rc = SQL_ERROR;
            }
        }
        return odbc_leave(&e->h, rc);
    }
    return SQL_ERROR;
}

SQLRETURN odbc_native_sql(struct odbc_conn *c, const char *in, SQLLEN inlen, void *out,
                          SQLLEN buflen, SQLINTEGER *outlen, int outflags)
{
    struct buf b;
    char st[6], msg[256];
    SQLRETURN rc;
    size_t n;
    if (!c->rc)
        return odbc_post(&c->h, "08003", 0, "connection does not exist");
    if (!in)
        return odbc_post(&c->h, "HY009", 0, "invalid use of null pointer");
    if (inlen == SQL_NTS)
        n = strlen(in);
    else if (inlen < 0)
        return odbc_post(&c->h, "HY090", 0, "invalid string or buffer length");
    else
        n = (size_t)inlen;
    buf_init(&b);
    if (escape_rewrite(in, n, c->backend == BACKEND_SQLITE ? ESC_SQLITE : ESC_MYSQL, &b, st, msg,
                       sizeof msg) < 0) {
        buf_close(&b);
        return odbc_post(&c->h, st, 0, "%s", msg);
    }
    rc = odbc_out_str32(&c->h, b.len ? (const char *)b.data : "", (SQLLEN)b.len, out, buflen,
                        outlen, outflags);
    buf_close(&b);
    return rc;
}

SQLRETURN SQL_API SQLNativeSql(SQLHDBC hdbc, SQLCHAR *in, SQLINTEGER inlen, SQLCHAR *out,
                               SQLINTEGER buflen, SQLINTEGER *outlen)
{
    struct odbc_conn *c = odbc_conn_cast(hdbc);
    if (!c)
        return SQL_INVALID_HANDLE;
    odbc_enter(&c->h, false);
    return odbc_leave(&c->h, odbc_native_sql(c, (const char *)in, inlen, out, buflen, outlen,
                                             ODBC_OUT_ANSI));
}

SQLRETURN SQL_API SQLGetInfo(SQLHDBC hdbc, SQLUSMALLINT type, SQLPOINTER value,
                             SQLSMALLINT buflen, SQLSMALLINT *outlen)
{
    struct odbc_conn *c = odbc_conn_cast(hdbc);
    if (!c)
        return SQL_INVALID_HANDLE;
    odbc_enter(&c->h, false);
    return odbc_leave(&c->h, odbc_get_info(c, type, value, buflen, outlen, ODBC_OUT_ANSI));
}

SQLRETURN SQL_API SQLGetFunctions(SQLHDBC hdbc, SQLUSMALLINT id, SQLUSMALLINT *supported)
{
    struct odbc_conn *c = odbc_conn_cast(hdbc);
    if (!c)
        return SQL_INVALID_HANDLE;
    odbc_enter(&c->h, false);
    return odbc_leave(&c->h, odbc_get_functions(c, id, supported));
}
