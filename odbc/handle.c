/* Handle lifetimes and attributes of the Recall ODBC driver:
 * SQLAllocHandle/SQLFreeHandle/SQLFreeStmt, environment and statement
 * attributes, the connection attributes that need no server round trip, the
 * locking every entry point goes through, and cursor names.  A handle is
 * recognised by its magic number; anything else is SQL_INVALID_HANDLE.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "odbc-internal.h"

/* ---------------------------------------------------------- helpers */

char *odbc_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int odbc_strarg(const char *s, SQLLEN len, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    if (len == SQL_NTS)
        len = (SQLLEN)strlen(s);
    else if (len < 0)
        return -1;
    *out = strndup(s, (size_t)len);
    return *out ? 0 : -2;
}

struct odbc_env *odbc_env_cast(SQLHANDLE h)
{
    struct odbc_env *e = h;
    return e && e->h.magic == ODBC_MAGIC_ENV ? e : NULL;
}

struct odbc_conn *odbc_conn_cast(SQLHANDLE h)
{
    struct odbc_conn *c = h;
    return c && c->h.magic == ODBC_MAGIC_DBC ? c : NULL;
}

struct odbc_stmt *odbc_stmt_cast(SQLHANDLE h)
{
    struct odbc_stmt *s = h;
    return s && s->h.magic == ODBC_MAGIC_STMT ? s : NULL;
}

struct odbc_desc *odbc_desc_cast(SQLHANDLE h)
{
    struct odbc_desc *d = h;
    return d && d->h.magic == ODBC_MAGIC_DESC ? d : NULL;
}

void odbc_conn_lock(struct odbc_conn *c)
{
    pthread_mutex_lock(&c->mutex);
}

void odbc_conn_unlock(struct odbc_conn *c)
{
    pthread_mutex_unlock(&c->mutex);
}

static pthread_mutex_t *handle_mutex(struct odbc_handle *h)
{
    switch (h->type) {
    case SQL_HANDLE_ENV: return &((struct odbc_env *)h)->mutex;
    case SQL_HANDLE_DBC: return &((struct odbc_conn *)h)->mutex;
    case SQL_HANDLE_STMT: return &((struct odbc_stmt *)h)->conn->mutex;
    default: return &((struct odbc_desc *)h)->conn->mutex;
    }
}

void odbc_enter(struct odbc_handle *h, bool keep_diag)
{
    pthread_mutex_lock(handle_mutex(h));
    if (!keep_diag)
        odbc_diag_clear(&h->diag);
}

SQLRETURN odbc_leave(struct odbc_handle *h, SQLRETURN rc)
{
    h->diag.retcode = rc;
    pthread_mutex_unlock(handle_mutex(h));
    return rc;
}

void odbc_unlock_handle(struct odbc_handle *h)
{
    pthread_mutex_unlock(handle_mutex(h));
}

static int init_recursive(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    int rc;
    if (pthread_mutexattr_init(&a))
        return -1;
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    rc = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------- environment */

SQLRETURN odbc_env_alloc(struct odbc_env **out)
{
    struct odbc_env *e = calloc(1, sizeof *e);
    *out = NULL;
    if (!e)
        return SQL_ERROR;
    if (init_recursive(&e->mutex) < 0) {
        free(e);
        return SQL_ERROR;
    }
    e->h.magic = ODBC_MAGIC_ENV;
    e->h.type = SQL_HANDLE_ENV;
    odbc_diag_init(&e->h.diag);
    e->odbc_version = SQL_OV_ODBC3;
    e->pooling = SQL_CP_OFF;
    e->cp_match = SQL_CP_STRICT_MATCH;
    e->output_nts = SQL_TRUE;
    *out = e;
    return SQL_SUCCESS;
}

void odbc_env_free(struct odbc_env *e)
{
    if (!e)
        return;
    odbc_diag_free(&e->h.diag);
    e->h.magic = 0;
    pthread_mutex_destroy(&e->mutex);
    free(e);
}

SQLRETURN odbc_set_env_attr(struct odbc_env *e, SQLINTEGER attr, SQLPOINTER value,
                            SQLINTEGER len)
{
    SQLUINTEGER v = (SQLUINTEGER)(uintptr_t)value;
    switch (attr) {
    case SQL_ATTR_ODBC_VERSION:
        if (v != SQL_OV_ODBC2 && v != SQL_OV_ODBC3 && v != SQL_OV_ODBC3_80)
            return odbc_post(&e->h, "HY024", 0, "invalid attribute value %u for SQL_ATTR_ODBC_VERSION",
                             (unsigned)v);
        if (e->conns)
            return odbc_post(&e->h, "HY010", 0, "function sequence error: connections are allocated");
        e->odbc_version = (SQLINTEGER)v;
        return SQL_SUCCESS;
    case SQL_ATTR_CONNECTION_POOLING:
        if (v != SQL_CP_OFF && v != SQL_CP_ONE_PER_DRIVER && v != SQL_CP_ONE_PER_HENV)
            return odbc_post(&e->h, "HY024", 0, "invalid attribute value for SQL_ATTR_CONNECTION_POOLING");
        e->pooling = v;
        return SQL_SUCCESS;
    case SQL_ATTR_CP_MATCH:
        if (v != SQL_CP_STRICT_MATCH && v != SQL_CP_RELAXED_MATCH)
            return odbc_post(&e->h, "HY024", 0, "invalid attribute value for SQL_ATTR_CP_MATCH");
        e->cp_match = v;
        return SQL_SUCCESS;
    case SQL_ATTR_OUTPUT_NTS:
        if (v != SQL_TRUE)
            return odbc_post(&e->h, "HYC00", 0, "optional feature not implemented: strings are always NUL-terminated");
        return SQL_SUCCESS;
    default:
        (void)len;
        return odbc_post(&e->h, "HY092", 0, "invalid attribute identifier %d", (int)attr);
    }
}

SQLRETURN odbc_get_env_attr(struct odbc_env *e, SQLINTEGER attr, SQLPOINTER value,
                            SQLINTEGER buflen, SQLINTEGER *outlen)
{
    SQLUINTEGER v;
    switch (attr) {
    case SQL_ATTR_ODBC_VERSION: v = (SQLUINTEGER)e->odbc_version; break;
    case SQL_ATTR_CONNECTION_POOLING: v = e->pooling; break;
    case SQL_ATTR_CP_MATCH: v = e->cp_match; break;
    case SQL_ATTR_OUTPUT_NTS: v = SQL_TRUE; break;
    default:
        (void)buflen;
        return odbc_post(&e->h, "HY092", 0, "invalid attribute identifier %d", (int)attr);
    }
    if (value)
        *(SQLUINTEGER *)value = v;
    if (outlen)
        *outlen = sizeof(SQLUINTEGER);
    return SQL_SUCCESS;
}

/* ---------------------------------------------------------- connection */

SQLRETURN odbc_conn_alloc(struct odbc_env *env, struct odbc_conn **out)
{
    struct odbc_conn *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return odbc_post_oom(&env->h);
    if (init_recursive(&c->mutex) < 0) {
        free(c);
        return odbc_post(&env->h, "HY000", 0, "cannot create a mutex");
    }
    c->h.magic = ODBC_MAGIC_DBC;
    c->h.type = SQL_HANDLE_DBC;
    odbc_diag_init(&c->h.diag);
    c->env = env;
    c->autocommit = SQL_AUTOCOMMIT_ON;
    c->access_mode = SQL_MODE_READ_WRITE;
    c->txn_isolation = SQL_TXN_REPEATABLE_READ;
    c->login_timeout = 0;
    c->connection_timeout = 0;
    c->odbc_cursors = SQL_CUR_USE_DRIVER;
    c->metadata_id = SQL_FALSE;
    pthread_mutex_lock(&env->mutex);
    c->next = env->conns;
    env->conns = c;
    pthread_mutex_unlock(&env->mutex);
    *out = c;
    return SQL_SUCCESS;
}

void odbc_conn_free(struct odbc_conn *c)
{
    struct odbc_env *env = c->env;
    while (c->stmts)
        odbc_stmt_free(c->stmts);
    while (c->descs)
        odbc_desc_free_explicit(c->descs);
    pthread_mutex_lock(&env->mutex);
    for (struct odbc_conn **pp = &env->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    pthread_mutex_unlock(&env->mutex);
    if (c->rc)
        recall_close(c->rc);
    free(c->dsn);
    free(c->user);
    free(c->database);
    free(c->server_info);
    free(c->connstr_out);
    free(c->servers);
    free(c->current_catalog);
    free(c->tracefile);
    free(c->translate_lib);
    odbc_diag_free(&c->h.diag);
    c->h.magic = 0;
    pthread_mutex_destroy(&c->mutex);
    free(c);
}

SQLRETURN odbc_conn_store_attr(struct odbc_conn *c, SQLINTEGER attr, SQLPOINTER value,
                               SQLINTEGER len)
{
    SQLUINTEGER v = (SQLUINTEGER)(uintptr_t)value;
    char *s;
    switch (attr) {
    case SQL_ATTR_ACCESS_MODE:
        if (v != SQL_MODE_READ_ONLY && v != SQL_MODE_READ_WRITE)
            return odbc_post(&c->h, "HY024", 0, "invalid attribute value for SQL_ATTR_ACCESS_MODE");
        c->access_mode = v;
        return SQL_SUCCESS;
    case SQL_ATTR_AUTOCOMMIT:
        if (v != SQL_AUTOCOMMIT_ON && v != SQL_AUTOCOMMIT_OFF)
            return odbc_post(&c->h, "HY024", 0, "invalid attribute value for SQL_ATTR_AUTOCOMMIT");
        c->autocommit = v;
        return SQL_SUCCESS;
    case SQL_ATTR_TXN_ISOLATION:
        switch (v) {
        case SQL_TXN_READ_UNCOMMITTED:
        case SQL_TXN_READ_COMMITTED:
            /* Recall refuses isolation below REPEATABLE READ: use it. */
            c->txn_isolation = SQL_TXN_REPEATABLE_READ;
            return odbc_post(&c->h, "01S02", 0,
                             "option value changed: Recall runs transactions at REPEATABLE READ or SERIALIZABLE; REPEATABLE READ is used");
        case SQL_TXN_REPEATABLE_READ:
        case SQL_TXN_SERIALIZABLE:
            c->txn_isolation = v;
            return SQL_SUCCESS;
        default:
            return odbc_post(&c->h, "HY024", 0, "invalid attribute value for SQL_ATTR_TXN_ISOLATION");
        }
    case SQL_ATTR_LOGIN_TIMEOUT:
        c->login_timeout = v;
        return SQL_SUCCESS;
    case SQL_ATTR_CONNECTION_TIMEOUT:
        c->connection_timeout = v;
        return SQL_SUCCESS;
    case SQL_ATTR_METADATA_ID:
        if (v != SQL_TRUE && v != SQL_FALSE)
            return odbc_post(&c->h, "HY024", 0, "invalid attribute value for SQL_ATTR_METADATA_ID");
        c->metadata_id = v;
        return SQL_SUCCESS;
    case SQL_ATTR_ODBC_CURSORS:
        c->odbc_cursors = v;
        return SQL_SUCCESS;
    case SQL_ATTR_PACKET_SIZE:
        if (c->rc)
            return odbc_post(&c->h, "HY011", 0, "attribute cannot be set now: the connection is open");
        c->packet_size = v;
        return SQL_SUCCESS;
    case SQL_ATTR_QUIET_MODE:
        c->quiet_mode = (SQLULEN)(uintptr_t)value;
        return SQL_SUCCESS;
    case SQL_ATTR_TRACE:
        c->trace = v;
        return SQL_SUCCESS;
    case SQL_ATTR_TRACEFILE:
    case SQL_ATTR_CURRENT_CATALOG:
        if (odbc_strarg(value, len, &s) < 0)
            return odbc_post(&c->h, "HY090", 0, "invalid string or buffer length");
        if (value && !s)
            return odbc_post_oom(&c->h);
        if (attr == SQL_ATTR_TRACEFILE) {
            free(c->tracefile);
            c->tracefile = s;
        } else {
            free(c->current_catalog);
            c->current_catalog = s;
        }
        return SQL_SUCCESS;
    case SQL_ATTR_TRANSLATE_LIB:
        return odbc_post(&c->h, "HYC00", 0, "optional feature not implemented: translation libraries");
    case SQL_ATTR_TRANSLATE_OPTION:
        c->translate_option = v;
        return SQL_SUCCESS;
    case SQL_ATTR_ASYNC_ENABLE:
        if (v != SQL_ASYNC_ENABLE_OFF)
            return odbc_post(&c->h, "HYC00", 0, "optional feature not implemented: asynchronous execution");
        return SQL_SUCCESS;
    case SQL_ATTR_AUTO_IPD:
    case SQL_ATTR_CONNECTION_DEAD:
        return odbc_post(&c->h, "HY092", 0, "attribute %d is read-only", (int)attr);
    case SQL_ATTR_ENLIST_IN_DTC:
        return odbc_post(&c->h, "HYC00", 0, "optional feature not implemented: distributed transactions");
    default:
        return odbc_post(&c->h, "HY092", 0, "invalid attribute identifier %d", (int)attr);
    }
}

SQLRETURN odbc_get_conn_attr(struct odbc_conn *c, SQLINTEGER attr, SQLPOINTER value,
                             SQLINTEGER buflen, SQLINTEGER *outlen, int out)
{
    SQLUINTEGER v;
    switch (attr) {
    case SQL_ATTR_ACCESS_MODE: v = c->access_mode; break;
    case SQL_ATTR_AUTOCOMMIT: v = c->autocommit; break;
    case SQL_ATTR_TXN_ISOLATION: v = c->txn_isolation; break;
    case SQL_ATTR_LOGIN_TIMEOUT: v = c->login_timeout; break;
    case SQL_ATTR_CONNECTION_TIMEOUT: v = c->connection_timeout; break;
    case SQL_ATTR_METADATA_ID: v = c->metadata_id; break;
    case SQL_ATTR_ODBC_CURSORS: v = c->odbc_cursors; break;
    case SQL_ATTR_PACKET_SIZE: v = c->packet_size; break;
    case SQL_ATTR_TRACE: v = c->trace; break;
    case SQL_ATTR_TRANSLATE_OPTION: v = c->translate_option; break;
    case SQL_ATTR_ASYNC_ENABLE: v = SQL_ASYNC_ENABLE_OFF; break;
    case SQL_ATTR_AUTO_IPD: v = SQL_FALSE; break;
    case SQL_ATTR_CONNECTION_DEAD: v = c->dead || !c->rc ? SQL_CD_TRUE : SQL_CD_FALSE; break;
    case SQL_ATTR_QUIET_MODE:
        if (value)
            *(SQLULEN *)value = c->quiet_mode;
        if (outlen)
            *outlen = sizeof(SQLULEN);
        return SQL_SUCCESS;
    case SQL_ATTR_TRACEFILE:
        return odbc_out_str32(&c->h, c->tracefile ? c->tracefile : "", SQL_NTS, value, buflen,
                              outlen, out);
    case SQL_ATTR_CURRENT_CATALOG:
        if (!c->current_catalog && !c->database)
            return SQL_NO_DATA;
        return odbc_out_str32(&c->h, c->current_catalog ? c->current_catalog : c->database,
                              SQL_NTS, value, buflen, outlen, out);
    case SQL_ATTR_TRANSLATE_LIB:
        return odbc_out_str32(&c->h, "", SQL_NTS, value, buflen, outlen, out);
    default:
        return odbc_post(&c->h, "HY092", 0, "invalid attribute identifier %d", (int)attr);
    }
    if (value)
        *(SQLUINTEGER *)value = v;
    if (outlen)
        *outlen = sizeof(SQLUINTEGER);
    return SQL_SUCCESS;
}

/* ---------------------------------------------------------- statement */

SQLRETURN odbc_stmt_alloc(struct odbc_conn *c, struct odbc_stmt **out)
{
    struct odbc_stmt *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return odbc_post_oom(&c->h);
    s->h.magic = ODBC_MAGIC_STMT;
    s->h.type = SQL_HANDLE_STMT;
    odbc_diag_init(&s->h.diag);
    s->conn = c;
    odbc_desc_init(&s->ard_i, DESC_ARD, c, s);
    odbc_desc_init(&s->apd_i, DESC_APD, c, s);
    odbc_desc_init(&s->ird, DESC_IRD, c, s);
    odbc_desc_init(&s->ipd, DESC_IPD, c, s);
    s->ard = &s->ard_i;
    s->apd = &s->apd_i;
    s->cursor_type = SQL_CURSOR_FORWARD_ONLY;
    s->concurrency = SQL_CONCUR_READ_ONLY;
    s->cursor_scrollable = SQL_NONSCROLLABLE;
    s->cursor_sensitivity = SQL_UNSPECIFIED;
    s->retrieve_data = SQL_RD_ON;
    s->use_bookmarks = SQL_UB_OFF;
    s->noscan = SQL_NOSCAN_OFF;
    s->simulate_cursor = SQL_SC_UNIQUE;
    s->async_enable = SQL_ASYNC_ENABLE_OFF;
    s->enable_auto_ipd = SQL_FALSE;
    s->metadata_id = c->metadata_id;
    s->rowset_size = 1;
    s->row_count = -1;
    atomic_init(&s->running, 0);
    s->next = c->stmts;
    c->stmts = s;
    *out = s;
    return SQL_SUCCESS;
}

static void stmt_drop_dae(struct odbc_stmt *s)
{
    for (int i = 0; i < s->dae_n; i++)
        buf_close(&s->dae_data[i]);
    free(s->dae_data);
    free(s->dae_have);
    s->dae_data = NULL;
    s->dae_have = NULL;
    s->dae_n = 0;
    s->dae_param = 0;
}

void odbc_stmt_free(struct odbc_stmt *s)
{
    struct odbc_conn *c = s->conn;
    odbc_stmt_close_result(s);
    stmt_drop_dae(s);
    if (s->rs)
        recall_stmt_free(s->rs);
    for (struct odbc_stmt **pp = &c->stmts; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    odbc_desc_close(&s->ard_i);
    odbc_desc_close(&s->apd_i);
    odbc_desc_close(&s->ird);
    odbc_desc_close(&s->ipd);
    free(s->sql);
    free(s->cursor_name);
    free(s->spill_msg);
    odbc_diag_free(&s->h.diag);
    s->h.magic = 0;
    free(s);
}

/* Attributes kept as SQLULEN (64-bit ODBC), the others as SQLUINTEGER. */
static bool attr_is_ulen(SQLINTEGER attr)
{
    switch (attr) {
    case SQL_ATTR_ASYNC_ENABLE: case SQL_ATTR_CONCURRENCY: case SQL_ATTR_CURSOR_TYPE:
    case SQL_ATTR_KEYSET_SIZE: case SQL_ATTR_MAX_LENGTH: case SQL_ATTR_MAX_ROWS:
    case SQL_ATTR_NOSCAN: case SQL_ATTR_PARAM_BIND_TYPE: case SQL_ATTR_PARAMSET_SIZE:
    case SQL_ATTR_QUERY_TIMEOUT: case SQL_ATTR_RETRIEVE_DATA: case SQL_ATTR_ROW_ARRAY_SIZE:
    case SQL_ATTR_ROW_BIND_TYPE: case SQL_ATTR_ROW_NUMBER: case SQL_ATTR_SIMULATE_CURSOR:
    case SQL_ATTR_USE_BOOKMARKS: case SQL_ROWSET_SIZE:
        return true;
    default:
        return false;
    }
}

SQLRETURN odbc_set_stmt_attr(struct odbc_stmt *s, SQLINTEGER attr, SQLPOINTER value,
                             SQLINTEGER len)
{
    SQLULEN v = (SQLULEN)(uintptr_t)value;
    bool cursor_open = s->state == ST_CURSOR;
    (void)len;
    switch (attr) {
    case SQL_ATTR_APP_ROW_DESC:
    case SQL_ATTR_APP_PARAM_DESC: {
        bool row = attr == SQL_ATTR_APP_ROW_DESC;
        struct odbc_desc *d = value ? odbc_desc_cast(value) : NULL;
        if (!value) {
            if (row)
                s->ard = &s->ard_i;
            else
                s->apd = &s->apd_i;
            return SQL_SUCCESS;
        }
        if (!d)
            return odbc_post(&s->h, "HY024", 0, "invalid attribute value: not a descriptor handle");
        if (d == (row ? &s->ard_i : &s->apd_i)) {
            if (row)
                s->ard = d;
            else
                s->apd = d;
            return SQL_SUCCESS;
        }
        if (!d->is_explicit)
            return odbc_post(&s->h, "HY017", 0, "invalid use of an automatically allocated descriptor handle");
        if (d->conn != s->conn)
            return odbc_post(&s->h, "HY024", 0, "invalid attribute value: the descriptor belongs to another connection");
        if (row)
            s->ard = d;
        else
            s->apd = d;
        return SQL_SUCCESS;
    }
    case SQL_ATTR_IMP_ROW_DESC:
    case SQL_ATTR_IMP_PARAM_DESC:
        return odbc_post(&s->h, "HY017", 0, "invalid use of an automatically allocated descriptor handle");
    case SQL_ATTR_ASYNC_ENABLE:
        if (v != SQL_ASYNC_ENABLE_OFF)
            return odbc_post(&s->h, "HYC00", 0, "optional feature not implemented: asynchronous execution");
        return SQL_SUCCESS;
    case SQL_ATTR_CONCURRENCY:
        if (cursor_open)
            return odbc_post(&s->h, "24000", 0, "invalid cursor state: a cursor is open");
        if (v != SQL_CONCUR_READ_ONLY) {
            s->concurrency = SQL_CONCUR_READ_ONLY;
            return odbc_post(&s->h, "01S02", 0, "option value changed: cursors are read-only");
        }
        s->concurrency = v;
        return SQL_SUCCESS;
    case SQL_ATTR_CURSOR_TYPE:
        if (cursor_open)
            return odbc_post(&s->h, "24000", 0, "invalid cursor state: a cursor is open");
        if (v != SQL_CURSOR_FORWARD_ONLY) {
            s->cursor_type = SQL_CURSOR_FORWARD_ONLY;
            return odbc_post(&s->h, "01S02", 0, "option value changed: cursors are forward-only");
        }
        return SQL_SUCCESS;
    case SQL_ATTR_CURSOR_SCROLLABLE:
        if (v != SQL_NONSCROLLABLE)
            return odbc_post(&s->h, "HYC00", 0, "optional feature not implemented: scrollable cursors");
        return SQL_SUCCESS;
    case SQL_ATTR_CURSOR_SENSITIVITY:
        if (v == SQL_SENSITIVE)
            return odbc_post(&s->h, "HYC00", 0, "optional feature not implemented: sensitive cursors");
        if (v != SQL_UNSPECIFIED && v != SQL_INSENSITIVE)
            return odbc_post(&s->h, "HY024", 0, "invalid attribute value");
        s->cursor_sensitivity = (SQLUINTEGER)v;
        return SQL_SUCCESS;
    case SQL_ATTR_ENABLE_AUTO_IPD:
        if (v != SQL_FALSE)
            return odbc_post(&s->h, "HYC00", 0, "optional feature not implemented: automatic IPD population");
        return SQL_SUCCESS;
    case SQL_ATTR_FETCH_BOOKMARK_PTR:
        s->fetch_bookmark_ptr = value;
        return SQL_SUCCESS;
    case SQL_ATTR_KEYSET_SIZE:
        s->keyset_size = v;
        return SQL_SUCCESS;
    case SQL_ATTR_MAX_LENGTH:
        s->max_length = v;
        return SQL_SUCCESS;
    case SQL_ATTR_MAX_ROWS:
        s->max_rows = v;
        return SQL_SUCCESS;
    case SQL_ATTR_METADATA_ID:
        s->metadata_id = v ? SQL_TRUE : SQL_FALSE;
        return SQL_SUCCESS;
    case SQL_ATTR_NOSCAN:
        if (v != SQL_NOSCAN_ON && v != SQL_NOSCAN_OFF)
            return odbc_post(&s->h, "HY024", 0, "invalid attribute value for SQL_ATTR_NOSCAN");
        s->noscan = v;
        return SQL_SUCCESS;
    case SQL_ATTR_QUERY_TIMEOUT:
        s->query_timeout = v;
        return SQL_SUCCESS;
    case SQL_ATTR_RETRIEVE_DATA:
        if (v != SQL_RD_ON && v != SQL_RD_OFF)
            return odbc_post(&s->h, "HY024", 0, "invalid attribute value for SQL_ATTR_RETRIEVE_DATA");
        s->retrieve_data = v;
        return SQL_SUCCESS;
    case SQL_ATTR_SIMULATE_CURSOR:
        s->simulate_cursor = v;
        return SQL_SUCCESS;
    case SQL_ATTR_USE_BOOKMARKS:
        if (v != SQL_UB_OFF)
            return odbc_post(&s->h, "HYC00", 0, "optional feature not implemented: bookmarks");
        return SQL_SUCCESS;
    case SQL_ATTR_PARAM_BIND_OFFSET_PTR:
        s->apd->bind_offset_ptr = value;
        return SQL_SUCCESS;
    case SQL_ATTR_PARAM_BIND_TYPE:
        s->apd->bind_type = v;
        return SQL_SUCCESS;
    case SQL_ATTR_PARAM_OPERATION_PTR:
        s->apd->array_status_ptr = value;
        return SQL_SUCCESS;
    case SQL_ATTR_PARAM_STATUS_PTR:
        s->ipd.array_status_ptr = value;
        return SQL_SUCCESS;
    case SQL_ATTR_PARAMS_PROCESSED_PTR:
        s->ipd.rows_processed_ptr = value;
        return SQL_SUCCESS;
    case SQL_ATTR_PARAMSET_SIZE:
        if (v == 0)
            return odbc_post(&s->h, "HY024", 0, "invalid attribute value: SQL_ATTR_PARAMSET_SIZE must be at least 1");
        s->apd->array_size = v;
        return SQL_SUCCESS;
    case SQL_ATTR_ROW_ARRAY_SIZE:
        if (v == 0)
            return odbc_post(&s->h, "HY024", 0, "invalid attribute value: SQL_ATTR_ROW_ARRAY_SIZE must be at least 1");
        s->ard->array_size = v;
        return SQL_SUCCESS;
    case SQL_ROWSET_SIZE:
        if (v == 0)
            return odbc_post(&s->h, "HY024", 0, "invalid attribute value: SQL_ROWSET_SIZE must be at least 1");
        s->rowset_size = v;
        return SQL_SUCCESS;
    case SQL_ATTR_ROW_BIND_OFFSET_PTR:
        s->ard->bind_offset_ptr = value;
        return SQL_SUCCESS;
    case SQL_ATTR_ROW_BIND_TYPE:
        s->ard->bind_type = v;
        return SQL_SUCCESS;
    case SQL_ATTR_ROW_OPERATION_PTR:
        s->ard->array_status_ptr = value;
        return SQL_SUCCESS;
    case SQL_ATTR_ROW_STATUS_PTR:
        s->ird.array_status_ptr = value;
        return SQL_SUCCESS;
    case SQL_ATTR_ROWS_FETCHED_PTR:
        s->ird.rows_processed_ptr = value;
        return SQL_SUCCESS;
    case SQL_ATTR_ROW_NUMBER:
        return odbc_post(&s->h, "HY092", 0, "SQL_ATTR_ROW_NUMBER is read-only");
    default:
        return odbc_post(&s->h, "HY092", 0, "invalid attribute identifier %d", (int)attr);
    }
}

SQLRETURN odbc_get_stmt_attr(struct odbc_stmt *s, SQLINTEGER attr, SQLPOINTER value,
                             SQLINTEGER buflen, SQLINTEGER *outlen, int out)
{
    SQLULEN v;
    SQLPOINTER p = NULL;
    bool is_ptr = false;
    (void)buflen;
    (void)out;
    switch (attr) {
    case SQL_ATTR_APP_ROW_DESC: p = s->ard; is_ptr = true; break;
    case SQL_ATTR_APP_PARAM_DESC: p = s->apd; is_ptr = true; break;
    case SQL_ATTR_IMP_ROW_DESC: p = &s->ird; is_ptr = true; break;
    case SQL_ATTR_IMP_PARAM_DESC: p = &s->ipd; is_ptr = true; break;
    case SQL_ATTR_FETCH_BOOKMARK_PTR: p = s->fetch_bookmark_ptr; is_ptr = true; break;
    case SQL_ATTR_PARAM_BIND_OFFSET_PTR: p = s->apd->bind_offset_ptr; is_ptr = true; break;
    case SQL_ATTR_PARAM_OPERATION_PTR: p = s->apd->array_status_ptr; is_ptr = true; break;
    case SQL_ATTR_PARAM_STATUS_PTR: p = s->ipd.array_status_ptr; is_ptr = true; break;
    case SQL_ATTR_PARAMS_PROCESSED_PTR: p = s->ipd.rows_processed_ptr; is_ptr = true; break;
    case SQL_ATTR_ROW_BIND_OFFSET_PTR: p = s->ard->bind_offset_ptr; is_ptr = true; break;
    case SQL_ATTR_ROW_OPERATION_PTR: p = s->ard->array_status_ptr; is_ptr = true; break;
    case SQL_ATTR_ROW_STATUS_PTR: p = s->ird.array_status_ptr; is_ptr = true; break;
    case SQL_ATTR_ROWS_FETCHED_PTR: p = s->ird.rows_processed_ptr; is_ptr = true; break;
    case SQL_ATTR_ASYNC_ENABLE: v = SQL_ASYNC_ENABLE_OFF; break;
    case SQL_ATTR_CONCURRENCY: v = s->concurrency; break;
    case SQL_ATTR_CURSOR_TYPE: v = s->cursor_type; break;
    case SQL_ATTR_CURSOR_SCROLLABLE: v = s->cursor_scrollable; break;
    case SQL_ATTR_CURSOR_SENSITIVITY: v = s->cursor_sensitivity; break;
    case SQL_ATTR_ENABLE_AUTO_IPD: v = s->enable_auto_ipd; break;
    case SQL_ATTR_KEYSET_SIZE: v = s->keyset_size; break;
    case SQL_ATTR_MAX_LENGTH: v = s->max_length; break;
    case SQL_ATTR_MAX_ROWS: v = s->max_rows; break;
    case SQL_ATTR_METADATA_ID: v = s->metadata_id; break;
    case SQL_ATTR_NOSCAN: v = s->noscan; break;
    case SQL_ATTR_QUERY_TIMEOUT: v = s->query_timeout; break;
    case SQL_ATTR_RETRIEVE_DATA: v = s->retrieve_data; break;
    case SQL_ATTR_SIMULATE_CURSOR: v = s->simulate_cursor; break;
    case SQL_ATTR_USE_BOOKMARKS: v = s->use_bookmarks; break;
    case SQL_ATTR_PARAM_BIND_TYPE: v = s->apd->bind_type; break;
    case SQL_ATTR_PARAMSET_SIZE: v = s->apd->array_size; break;
    case SQL_ATTR_ROW_ARRAY_SIZE: v = s->ard->array_size; break;
    case SQL_ROWSET_SIZE: v = s->rowset_size; break;
    case SQL_ATTR_ROW_BIND_TYPE: v = s->ard->bind_type; break;
    case SQL_ATTR_ROW_NUMBER:
        if (s->state != ST_CURSOR || !s->fetched)
            return odbc_post(&s->h, "24000", 0, "invalid cursor state: the cursor is not positioned on a row");
        v = s->rows_seen - s->rowset_rows + s->row_pos + 1;
        break;
    default:
        return odbc_post(&s->h, "HY092", 0, "invalid attribute identifier %d", (int)attr);
    }
    if (is_ptr) {
        if (value)
            *(SQLPOINTER *)value = p;
        if (outlen)
            *outlen = sizeof(SQLPOINTER);
    } else if (attr_is_ulen(attr)) {
        if (value)
            *(SQLULEN *)value = v;
        if (outlen)
            *outlen = sizeof(SQLULEN);
    } else {
        if (value)
            *(SQLUINTEGER *)value = (SQLUINTEGER)v;
        if (outlen)
            *outlen = sizeof(SQLUINTEGER);
    }
    return SQL_SUCCESS;
}

/* ---------------------------------------------------------- cursor names */

const char *odbc_stmt_cursor_name(struct odbc_stmt *s)
{
    if (!s->cursor_name) {
        char tmp[40];
        snprintf(tmp, sizeof tmp, "SQL_CUR%016lx", (unsigned long)(uintptr_t)s);
        s->cursor_name = strdup(tmp);
    }
    return s->cursor_name ? s->cursor_name : "";
}

SQLRETURN odbc_set_cursor_name(struct odbc_stmt *s, const char *name, SQLLEN len)
{
    char *n;
    if (!name)
        return odbc_post(&s->h, "HY009", 0, "invalid use of null pointer");
    if (odbc_strarg(name, len, &n) == -1)
        return odbc_post(&s->h, "HY090", 0, "invalid string or buffer length");
    if (!n)
        return odbc_post_oom(&s->h);
    if (s->state == ST_CURSOR) {
        free(n);
        return odbc_post(&s->h, "24000", 0, "invalid cursor state: a cursor is open");
    }
    if (!*n || strlen(n) > 64 || strncasecmp(n, "SQLCUR", 6) == 0 ||
        strncasecmp(n, "SQL_CUR", 7) == 0) {
        free(n);
        return odbc_post(&s->h, "34000", 0, "invalid cursor name");
    }
    for (struct odbc_stmt *o = s->conn->stmts; o; o = o->next)
        if (o != s && o->cursor_name && strcasecmp(o->cursor_name, n) == 0) {
            free(n);
            return odbc_post(&s->h, "3C000", 0, "duplicate cursor name");
        }
    free(s->cursor_name);
    s->cursor_name = n;
    return SQL_SUCCESS;
}

/* ---------------------------------------------------------- entry points */

static SQLRETURN alloc_handle(SQLSMALLINT type, SQLHANDLE in, SQLHANDLE *out)
{
    SQLRETURN rc;
    if (!out)
        return SQL_ERROR;
    switch (type) {
    case SQL_HANDLE_ENV: {
        struct odbc_env *e;
        *out = SQL_NULL_HENV;
        rc = odbc_env_alloc(&e);
        if (rc == SQL_SUCCESS)
            *out = e;
        return rc;
    }
    case SQL_HANDLE_DBC: {
        struct odbc_env *e = odbc_env_cast(in);
        struct odbc_conn *c;
        if (!e)
            return SQL_INVALID_HANDLE;
        *out = SQL_NULL_HDBC;
        odbc_enter(&e->h, false);
        rc = odbc_conn_alloc(e, &c);
        if (rc == SQL_SUCCESS)
            *out = c;
        return odbc_leave(&e->h, rc);
    }
    case SQL_HANDLE_STMT: {
        struct odbc_conn *c = odbc_conn_cast(in);
        struct odbc_stmt *s;
        if (!c)
            return SQL_INVALID_HANDLE;
        *out = SQL_NULL_HSTMT;
        odbc_enter(&c->h, false);
        if (!c->rc)
            rc = odbc_post(&c->h, "08003", 0, "connection does not exist");
        else if ((rc = odbc_stmt_alloc(c, &s)) == SQL_SUCCESS)
            *out = s;
        return odbc_leave(&c->h, rc);
    }
    case SQL_HANDLE_DESC: {
        struct odbc_conn *c = odbc_conn_cast(in);
        struct odbc_desc *d;
        if (!c)
            return SQL_INVALID_HANDLE;
        *out = SQL_NULL_HDESC;
        odbc_enter(&c->h, false);
        if (!c->rc)
            rc = odbc_post(&c->h, "08003", 0, "connection does not exist");
        else if ((rc = odbc_desc_alloc(c, &d)) == SQL_SUCCESS)
            *out = d;
        return odbc_leave(&c->h, rc);
    }
    default:
        return SQL_ERROR;
    }
}

SQLRETURN SQL_API SQLAllocHandle(SQLSMALLINT type, SQLHANDLE in, SQLHANDLE *out)
{
    return alloc_handle(type, in, out);
}

SQLRETURN SQL_API SQLFreeHandle(SQLSMALLINT type, SQLHANDLE handle)
{
    switch (type) {
    case SQL_HANDLE_ENV: {
        struct odbc_env *e = odbc_env_cast(handle);
        if (!e)
            return SQL_INVALID_HANDLE;
        pthread_mutex_lock(&e->mutex);
        if (e->conns) {
            odbc_diag_clear(&e->h.diag);
            odbc_post(&e->h, "HY010", 0, "function sequence error: connections are still allocated");
            return odbc_leave(&e->h, SQL_ERROR);
        }
        pthread_mutex_unlock(&e->mutex);
        odbc_env_free(e);
        return SQL_SUCCESS;
    }
    case SQL_HANDLE_DBC: {
        struct odbc_conn *c = odbc_conn_cast(handle);
        if (!c)
            return SQL_INVALID_HANDLE;
        odbc_enter(&c->h, false);
        if (c->rc) {
            odbc_post(&c->h, "HY010", 0, "function sequence error: disconnect first");
            return odbc_leave(&c->h, SQL_ERROR);
        }
        pthread_mutex_unlock(&c->mutex);
        odbc_conn_free(c);
        return SQL_SUCCESS;
    }
    case SQL_HANDLE_STMT: {
        struct odbc_stmt *s = odbc_stmt_cast(handle);
        struct odbc_conn *c;
        if (!s)
            return SQL_INVALID_HANDLE;
        c = s->conn;
        odbc_conn_lock(c);
        odbc_stmt_free(s);
        odbc_conn_unlock(c);
        return SQL_SUCCESS;
    }
    case SQL_HANDLE_DESC: {
        struct odbc_desc *d = odbc_desc_cast(handle);
        struct odbc_conn *c;
        if (!d)
            return SQL_INVALID_HANDLE;
        c = d->conn;
        odbc_enter(&d->h, false);
        if (!d->is_explicit) {
            odbc_post(&d->h, "HY017", 0, "invalid use of an automatically allocated descriptor handle");
            return odbc_leave(&d->h, SQL_ERROR);
        }
        odbc_desc_free_explicit(d);
        odbc_conn_unlock(c);
        return SQL_SUCCESS;
    }
    default:
        return SQL_ERROR;
    }
}

SQLRETURN SQL_API SQLFreeStmt(SQLHSTMT hstmt, SQLUSMALLINT option)
{
    struct odbc_stmt *s = odbc_stmt_cast(hstmt);
    struct odbc_conn *c;
    SQLRETURN rc = SQL_SUCCESS;
    if (!s)
        return SQL_INVALID_HANDLE;
    c = s->conn;
    if (option == SQL_DROP) {
        odbc_conn_lock(c);
        odbc_stmt_free(s);
        odbc_conn_unlock(c);
        return SQL_SUCCESS;
    }
    odbc_enter(&s->h, false);
    switch (option) {
    case SQL_CLOSE:
        odbc_stmt_close_result(s);
        break;
    case SQL_UNBIND:
        odbc_desc_truncate(s->ard, 0);
        break;
    case SQL_RESET_PARAMS:
        odbc_desc_truncate(s->apd, 0);
        odbc_desc_truncate(&s->ipd, 0);
        break;
    default:
        rc = odbc_post(&s->h, "HY092", 0, "invalid option %u", (unsigned)option);
    }
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLSetEnvAttr(SQLHENV henv, SQLINTEGER attr, SQLPOINTER value, SQLINTEGER len)
{
    struct odbc_env *e = odbc_env_cast(henv);
    if (!e)
        return SQL_INVALID_HANDLE;
    odbc_enter(&e->h, false);
    return odbc_leave(&e->h, odbc_set_env_attr(e, attr, value, len));
}

SQLRETURN SQL_API SQLGetEnvAttr(SQLHENV henv, SQLINTEGER attr, SQLPOINTER value,
                                SQLINTEGER buflen, SQLINTEGER *outlen)
{
    struct odbc_env *e = odbc_env_cast(henv);
    if (!e)
        return SQL_INVALID_HANDLE;
    odbc_enter(&e->h, false);
    return odbc_leave(&e->h, odbc_get_env_attr(e, attr, value, buflen, outlen));
}

SQLRETURN SQL_API SQLSetStmtAttr(SQLHSTMT hstmt, SQLINTEGER attr, SQLPOINTER value,
                                 SQLINTEGER len)
{
    struct odbc_stmt *s = odbc_stmt_cast(hstmt);
    if (!s)
        return SQL_INVALID_HANDLE;
    odbc_enter(&s->h, false);
    return odbc_leave(&s->h, odbc_set_stmt_attr(s, attr, value, len));
}

SQLRETURN SQL_API SQLGetStmtAttr(SQLHSTMT hstmt, SQLINTEGER attr, SQLPOINTER value,
                                 SQLINTEGER buflen, SQLINTEGER *outlen)
{
    struct odbc_stmt *s = odbc_stmt_cast(hstmt);
    if (!s)
        return SQL_INVALID_HANDLE;
    odbc_enter(&s->h, false);
    return odbc_leave(&s->h, odbc_get_stmt_attr(s, attr, value, buflen, outlen, ODBC_OUT_ANSI));
}

SQLRETURN SQL_API SQLGetCursorName(SQLHSTMT hstmt, SQLCHAR *name, SQLSMALLINT buflen,
                                   SQLSMALLINT *outlen)
{
    struct odbc_stmt *s = odbc_stmt_cast(hstmt);
    if (!s)
        return SQL_INVALID_HANDLE;
    odbc_enter(&s->h, false);
    return odbc_leave(&s->h, odbc_out_str16(&s->h, odbc_stmt_cursor_name(s), SQL_NTS, name,
                                            buflen, outlen, ODBC_OUT_ANSI));
}

SQLRETURN SQL_API SQLSetCursorName(SQLHSTMT hstmt, SQLCHAR *name, SQLSMALLINT len)
{
    struct odbc_stmt *s = odbc_stmt_cast(hstmt);
    if (!s)
        return SQL_INVALID_HANDLE;
    odbc_enter(&s->h, false);
    return odbc_leave(&s->h, odbc_set_cursor_name(s, (const char *)name, len));
}

SQLRETURN SQL_API SQLGetDiagRec(SQLSMALLINT type, SQLHANDLE handle, SQLSMALLINT recno,
                                SQLCHAR *state, SQLINTEGER *native, SQLCHAR *msg,
                                SQLSMALLINT buflen, SQLSMALLINT *msglen)
{
    return odbc_get_diag_rec(type, handle, recno, state, native, msg, buflen, msglen,
                             ODBC_OUT_ANSI);
}

SQLRETURN SQL_API SQLGetDiagField(SQLSMALLINT type, SQLHANDLE handle, SQLSMALLINT recno,
                                  SQLSMALLINT field, SQLPOINTER ptr, SQLSMALLINT buflen,
                                  SQLSMALLINT *outlen)
{
    return odbc_get_diag_field(type, handle, recno, field, ptr, buflen, outlen, ODBC_OUT_ANSI);
}
