/* Statements of the Recall ODBC driver on librecall: SQLPrepare/SQLExecute/
 * SQLExecDirect with ODBC escapes rewritten, parameters converted and bound
 * typed (never interpolated), parameter arrays (status and processed
 * arrays, row-wise or column-wise, bind offsets), data-at-execution
 * (SQLParamData/SQLPutData), SQLMoreResults over parameter sets, timeouts
 * and SQLCancel, and librecall results as a row source.
 *
 * Happy path of SQLExecute: for each parameter set, the values are
 * converted (convert.c) and bound with recall_bind_*, the statement runs, and
 * either a result set opens (later sets wait for SQLMoreResults) or the
 * affected rows are added up.  Failure modes: a conversion error or a
 * server error fails that set (SQL_PARAM_ERROR, diagnostics carry the set as
 * SQL_DIAG_ROW_NUMBER) and the others go on; a lost connection, a failover
 * that rolled the transaction back (40001), a timeout or a cancel stop the
 * remaining sets (SQL_PARAM_UNUSED).
 *
 * librecall keeps one open result per connection, so before a statement
 * runs, the open result of any other statement is copied into memory
 * (odbc_conn_spill) and stays readable there.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "escape.h"
#include "odbc-internal.h"
#include "wide.h"

/* ---------------------------------------------------------- live results */

static int live_fetch(struct odbc_stmt *s)
{
    struct odbc_conn *c = s->conn;
    int r;
    if (c->live != s || !s->rs)
        return 0;
    odbc_conn_timeout(c, s->query_timeout);
    atomic_store(&s->running, 1);
    r = recall_fetch(s->rs);
    atomic_store(&s->running, 0);
    if (r == RECALL_ROW)
        return 1;
    c->live = NULL;
    if (r == RECALL_DONE)
        return 0;
    odbc_post_recall(&s->h, c, s->rs, SQL_ROW_NUMBER_UNKNOWN, true);
    return -1;
}

static void live_value(struct odbc_stmt *s, int col, struct odbc_value *v)
{
    memset(v, 0, sizeof *v);
    switch (recall_value_type(s->rs, col)) {
    case RECALL_VALUE_INT:
        v->kind = ODBC_V_INT;
        v->i = recall_value_int64(s->rs, col);
        break;
    case RECALL_VALUE_UINT:
        v->kind = ODBC_V_UINT;
        v->u = recall_value_uint64(s->rs, col);
        break;
    case RECALL_VALUE_DOUBLE:
        v->kind = ODBC_V_DOUBLE;
        v->d = recall_value_double(s->rs, col);
        break;
    case RECALL_VALUE_TEXT:
        v->kind = ODBC_V_TEXT;
        v->p = recall_value_text(s->rs, col, &v->len);
        if (!v->p)
            v->kind = ODBC_V_NULL;
        break;
    case RECALL_VALUE_BLOB:
        v->kind = ODBC_V_BLOB;
        v->p = recall_value_blob(s->rs, col, &v->len);
        if (!v->p) {
            v->p = "";
            v->len = 0;
        }
        break;
    default:
        break;
    }
}

static void live_close(struct odbc_stmt *s)
{
    if (s->conn->live == s) {
        if (s->rs && !s->conn->dead)
            recall_stmt_reset(s->rs);
        s->conn->live = NULL;
    }
}

static const struct odbc_source live_source = {live_fetch, live_value, live_close};

void odbc_conn_spill(struct odbc_conn *c, struct odbc_stmt *except)
{
    struct odbc_stmt *s = c->live;
    struct odbc_table t;
    int nc;
    if (!s || s == except)
        return;
    nc = s->ird.count;
    odbc_table_init(&t, nc);
    struct odbc_value *row = calloc((size_t)(nc ? nc : 1), sizeof *row);
    bool failed = !row;
    /* The row the cursor is on (a one-row rowset is not cached) stays
     * current: it becomes the table's first row. */
    bool keep_current = s->fetched && !s->cache.cells && !s->src_done;
    if (!failed && keep_current) {
        for (int i = 0; i < nc; i++)
            live_value(s, i, &row[i]);
        failed = odbc_table_add(&t, row) < 0;
    }
    while (!failed) {
        int r;
        odbc_conn_timeout(c, s->query_timeout);
        r = recall_fetch(s->rs);
        if (r == RECALL_DONE)
            break;
        if (r != RECALL_ROW) {
            /* Report it when the application reaches this point. */
            s->spill_failed = true;
            snprintf(s->spill_state, sizeof s->spill_state, "%s", recall_stmt_sqlstate(s->rs));
            if (strlen(s->spill_state) != 5)
                snprintf(s->spill_state, sizeof s->spill_state, "HY000");
            s->spill_native = recall_stmt_native_error(s->rs);
            free(s->spill_msg);
            s->spill_msg = odbc_strdup(recall_stmt_errmsg(s->rs));
            if (!recall_usable(c->rc))
                c->dead = true;
            break;
        }
        for (int i = 0; i < nc; i++)
            live_value(s, i, &row[i]);
        failed = odbc_table_add(&t, row) < 0;
    }
    if (failed && !s->spill_failed) {
        s->spill_failed = true;
        snprintf(s->spill_state, sizeof s->spill_state, "HY001");
        free(s->spill_msg);
        s->spill_msg = odbc_strdup("memory allocation error while keeping the rest of the result");
    }
    free(row);
    if (!c->dead)
        recall_stmt_reset(s->rs);
    c->live = NULL;
    s->table = t;
    s->table_pos = keep_current ? 1 : 0;
    s->src = &odbc_table_source;
    s->spilled = true;
}

/* ---------------------------------------------------------- metadata */

/* "(p,s)" or "(n)" after a declared type name. */
static int decl_args(const char *decl, unsigned long *a, unsigned long *b)
{
    const char *p = decl ? strchr(decl, '(') : NULL;
    char *end;
    if (!p)
        return 0;
    *a = strtoul(p + 1, &end, 10);
    if (end == p + 1)
        return 0;
    while (*end == ' ')
        end++;
    if (*end == ',') {
        *b = strtoul(end + 1, NULL, 10);
        return 2;
    }
    return 1;
}

static SQLSMALLINT char_type(struct odbc_conn *c, SQLSMALLINT t)
{
    if (!c->unicode)
        return t;
    return t == SQL_CHAR ? SQL_WCHAR : t == SQL_VARCHAR ? SQL_WVARCHAR : SQL_WLONGVARCHAR;
}

static SQLRETURN build_ird(struct odbc_stmt *s)
{
    struct odbc_conn *c = s->conn;
    int n = recall_column_count(s->rs);
    odbc_desc_truncate(&s->ird, 0);
    for (int i = 0; i < n; i++) {
        enum recall_type rt = recall_column_type(s->rs, i);
        unsigned flags = recall_column_flags(s->rs, i);
        uint64_t len = recall_column_length(s->rs, i);
        unsigned dec = recall_column_decimals(s->rs, i);
        const char *decl = recall_column_decltype(s->rs, i);
        bool uns = (flags & RECALL_COL_UNSIGNED) != 0;
        bool bin = (flags & RECALL_COL_BINARY) != 0;
        unsigned long a = 0, b = 0;
        int nargs = decl_args(decl, &a, &b);
        SQLSMALLINT t;
        SQLULEN size = len > 0x7fffffff ? 0x7fffffff : (SQLULEN)len;
        SQLSMALLINT digits = 0;
        switch (rt) {
        case RECALL_TYPE_TINYINT: t = SQL_TINYINT; size = 3; break;
        case RECALL_TYPE_SMALLINT: t = SQL_SMALLINT; size = 5; break;
        case RECALL_TYPE_MEDIUMINT: t = SQL_INTEGER; size = uns ? 8 : 7; break;
        case RECALL_TYPE_INT: t = SQL_INTEGER; size = 10; break;
        case RECALL_TYPE_BIGINT: t = SQL_BIGINT; size = uns ? 20 : 19; break;
        case RECALL_TYPE_YEAR: t = SQL_SMALLINT; size = 4; break;
        case RECALL_TYPE_FLOAT: t = SQL_REAL; size = 7; break;
        case RECALL_TYPE_DOUBLE: t = SQL_DOUBLE; size = 15; break;
        case RECALL_TYPE_DECIMAL:
            t = SQL_DECIMAL;
            digits = (SQLSMALLINT)dec;
            if (nargs >= 1) {
                size = a;
                digits = nargs == 2 ? (SQLSMALLINT)b : 0;
            } else if (len > 0) {
                /* MySQL's length counts the sign and the point. */
                uint64_t p = len - (dec > 0 ? 1 : 0) - (uns ? 0 : 1);
                size = p > 0 && p < 100 ? (SQLULEN)p : 65;
            } else {
                size = 65;
            }
            break;
        case RECALL_TYPE_DATE: t = SQL_TYPE_DATE; size = 10; break;
        case RECALL_TYPE_TIME: t = SQL_TYPE_TIME; digits = (SQLSMALLINT)(dec > 6 ? 6 : dec); break;
        case RECALL_TYPE_DATETIME:
        case RECALL_TYPE_TIMESTAMP:
            t = SQL_TYPE_TIMESTAMP;
            digits = (SQLSMALLINT)(dec > 6 ? 6 : dec);
            break;
        case RECALL_TYPE_CHAR:
        case RECALL_TYPE_ENUM:
        case RECALL_TYPE_SET:
            t = bin ? SQL_BINARY : char_type(c, SQL_CHAR);
            break;
        case RECALL_TYPE_VARCHAR:
            t = bin ? SQL_VARBINARY : char_type(c, SQL_VARCHAR);
            break;
        case RECALL_TYPE_TEXT:
        case RECALL_TYPE_JSON:
            t = bin ? SQL_LONGVARBINARY : char_type(c, SQL_LONGVARCHAR);
            break;
        case RECALL_TYPE_BINARY: t = SQL_BINARY; break;
        case RECALL_TYPE_VARBINARY: t = SQL_VARBINARY; break;
        case RECALL_TYPE_BLOB: t = SQL_LONGVARBINARY; break;
        case RECALL_TYPE_BIT:
            if (len <= 1) {
                t = SQL_BIT;
                size = 1;
            } else {
                t = SQL_BINARY;
                size = (SQLULEN)((len + 7) / 8);
            }
            break;
        case RECALL_TYPE_BOOLEAN: t = SQL_BIT; size = 1; break;
        default:
            t = char_type(c, SQL_VARCHAR);
            size = 255;
            break;
        }
        if ((t == SQL_CHAR || t == SQL_VARCHAR || t == SQL_WCHAR || t == SQL_WVARCHAR ||
             t == SQL_BINARY || t == SQL_VARBINARY) && nargs >= 1 && a > 0)
            size = a;
        if (size == 0 && conv_sql_category(t) == CAT_CHAR)
            size = t == SQL_LONGVARCHAR || t == SQL_WLONGVARCHAR ? 65535 : 255;
        SQLRETURN rc = odbc_ird_set(s, i + 1, recall_column_name(s->rs, i), t, size, digits,
                                    (flags & RECALL_COL_NOT_NULL) ? SQL_NO_NULLS : SQL_NULLABLE, uns);
        if (!SQL_SUCCEEDED(rc))
            return rc;
        struct odbc_desc_rec *r = &s->ird.recs[i + 1];
        const char *tbl = recall_column_table(s->rs, i), *db = recall_column_database(s->rs, i);
        free(r->table_name);
        free(r->base_table_name);
        free(r->catalog_name);
        r->table_name = odbc_strdup(tbl ? tbl : "");
        r->base_table_name = odbc_strdup(tbl ? tbl : "");
        r->catalog_name = odbc_strdup(db ? db : "");
        r->auto_unique = (flags & RECALL_COL_AUTO_INCREMENT) ? SQL_TRUE : SQL_FALSE;
        if (decl && *decl) {
            size_t k = strcspn(decl, "( ");
            char *tn = strndup(decl, k);
            if (tn) {
                for (char *p = tn; *p; p++)
                    *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
                free(r->type_name);
                r->type_name = tn;
            }
        }
        if (!r->table_name || !r->base_table_name || !r->catalog_name || !r->type_name)
            return odbc_post_oom(&s->h);
    }
    return SQL_SUCCESS;
}

/* ---------------------------------------------------------- preparing */

static void stmt_reset_dae(struct odbc_stmt *s)
{
    for (int i = 0; i < s->dae_n; i++) {
        buf_reset(&s->dae_data[i]);
        s->dae_have[i] = 0;
    }
    s->dae_param = 0;
}

static int stmt_alloc_dae(struct odbc_stmt *s)
{
    if (s->dae_n >= s->nparams)
        return 0;
    struct buf *d = realloc(s->dae_data, (size_t)s->nparams * sizeof *d);
    if (!d)
        return -1;
    s->dae_data = d;
    signed char *h = realloc(s->dae_have, (size_t)s->nparams);
    if (!h)
        return -1;
    s->dae_have = h;
    for (int i = s->dae_n; i < s->nparams; i++) {
        buf_init(&d[i]);
        h[i] = 0;
    }
    s->dae_n = s->nparams;
    return 0;
}

SQLRETURN odbc_prepare(struct odbc_stmt *s, const char *sql, SQLLEN len)
{
    struct odbc_conn *c = s->conn;
    struct buf b;
    char st[6], msg[256];
    size_t n;
    SQLRETURN rc = odbc_conn_check(&s->h, c);
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (!sql)
        return odbc_post(&s->h, "HY009", 0, "invalid use of null pointer: no SQL text");
    if (len == SQL_NTS)
        n = strlen(sql);
    else if (len < 0)
        return odbc_post(&s->h, "HY090", 0, "invalid string or buffer length");
    else
        n = (size_t)len;
    if (s->state == ST_CURSOR)
        return odbc_post(&s->h, "24000", 0, "invalid cursor state: close the cursor first");
    if (s->state == ST_NEED_DATA || s->state == ST_PUT_DATA)
        return odbc_post(&s->h, "HY010", 0, "function sequence error: data-at-execution parameters are pending");
    odbc_stmt_close_result(s);
    buf_init(&b);
    if (s->noscan == SQL_NOSCAN_ON) {
        if (buf_append(&b, sql, n) < 0 || buf_append(&b, "", 1) < 0) {
            buf_close(&b);
            return odbc_post_oom(&s->h);
        }
        b.len--;
    } else if (escape_rewrite(sql, n, c->backend == BACKEND_SQLITE ? ESC_SQLITE : ESC_MYSQL, &b,
                              st, msg, sizeof msg) < 0) {
        buf_close(&b);
        return odbc_post(&s->h, st, 0, "%s", msg);
    }
    if (s->rs) {
        recall_stmt_free(s->rs);
        s->rs = NULL;
    }
    free(s->sql);
    s->sql = NULL;
    s->state = ST_ALLOC;
    odbc_desc_truncate(&s->ird, 0);
    s->rs = recall_prepare(c->rc, b.len ? (const char *)b.data : "", b.len);
    if (!s->rs) {
        buf_close(&b);
        return odbc_post_recall(&s->h, c, NULL, SQL_NO_ROW_NUMBER, true);
    }
    s->sql = (char *)b.data; /* ownership moves */
    if (!s->sql && !(s->sql = strdup("")))
        return odbc_post_oom(&s->h);
    s->nparams = recall_param_count(s->rs);
    if (s->nparams < 0)
        s->nparams = 0;
    stmt_reset_dae(s);
    s->state = ST_PREPARED;
    s->row_count = -1;
    return SQL_SUCCESS;
}

/* ---------------------------------------------------------- parameters */

static bool is_dae(const SQLLEN *ind)
{
    SQLLEN v;
    if (!ind)
        return false;
    v = odbc_len_load(ind);
    return v == SQL_DATA_AT_EXEC || v <= SQL_LEN_DATA_AT_EXEC_OFFSET;
}

static SQLSMALLINT param_c_type(const struct odbc_desc_rec *a, const struct odbc_desc_rec *ip)
{
    SQLSMALLINT c = a->concise_type;
    if (c == SQL_C_DEFAULT)
        c = conv_default_c_type(ip->concise_type, false);
    return conv_c_type_v3(c);
}

static SQLLEN param_elem_size(SQLSMALLINT c, const struct odbc_desc_rec *a)
{
    return conv_c_is_stream(c) ? a->octet_length : conv_c_size(c);
}

/* Pointers to parameter p's data and indicators in set `set`. */
static void param_ptrs(struct odbc_stmt *s, int p, SQLULEN set, void **data, SQLLEN **ind,
                       SQLLEN **olen)
{
    struct odbc_desc_rec *a = &s->apd->recs[p];
    struct odbc_desc_rec *ip = &s->ipd.recs[p];
    SQLSMALLINT c = param_c_type(a, ip);
    *data = odbc_desc_elem(s->apd, a->data_ptr, set, param_elem_size(c, a));
    *ind = odbc_desc_len_elem(s->apd, a->indicator_ptr, set);
    *olen = odbc_desc_len_elem(s->apd, a->octet_length_ptr, set);
}

static size_t wide_bytes(const void *p)
{
    return wide_len(p) * sizeof(SQLWCHAR);
}

/* Convert and bind every parameter of set `set`. */
static SQLRETURN bind_set(struct odbc_stmt *s, SQLULEN set, bool *info)
{
    struct buf scratch;
    SQLRETURN ret = SQL_SUCCESS;
    SQLLEN row = (SQLLEN)set + 1;
    buf_init(&scratch);
    for (int p = 1; p <= s->nparams; p++) {
        struct odbc_desc_rec *a = &s->apd->recs[p];
        struct odbc_desc_rec *ip = &s->ipd.recs[p];
        struct conv_param cp;
        struct odbc_value v;
        struct conv_diag d;
        void *data;
        SQLLEN *ind, *olen;
        int r;
        param_ptrs(s, p, set, &data, &ind, &olen);
        memset(&cp, 0, sizeof cp);
        cp.c_type = param_c_type(a, ip);
        cp.sql_type = ip->concise_type;
        cp.column_size = ip->length;
        cp.decimal_digits = ip->scale;
        cp.num_scale = a->scale;
        cp.num_scale_set = a->scale_set;
        if (is_dae(ind)) {
            if (s->dae_have[p - 1] == 2) {
                r = recall_bind_null(s->rs, p);
                goto bound;
            }
            cp.ptr = s->dae_data[p - 1].len ? s->dae_data[p - 1].data : (void *)"";
            cp.len = (SQLLEN)s->dae_data[p - 1].len;
        } else if (ind && odbc_len_load(ind) == SQL_NULL_DATA) {
            r = recall_bind_null(s->rs, p);
            goto bound;
        } else {
            SQLLEN l = olen ? odbc_len_load(olen) : SQL_NTS;
            if (conv_c_is_stream(cp.c_type)) {
                if (!data) {
                    ret = odbc_post_at(&s->h, "HY009", 0, row, p,
                                       "invalid use of null pointer: parameter %d has no data", p);
                    goto out;
                }
                if (l == SQL_NTS)
                    l = cp.c_type == SQL_C_WCHAR ? (SQLLEN)wide_bytes(data)
                        : cp.c_type == SQL_C_CHAR ? (SQLLEN)strlen(data)
                                                  : a->octet_length;
                else if (l == SQL_DEFAULT_PARAM) {
                    ret = odbc_post_at(&s->h, "07S01", 0, row, p, "invalid use of default parameter");
                    goto out;
                } else if (l < 0) {
                    ret = odbc_post_at(&s->h, "HY090", 0, row, p, "invalid string or buffer length for parameter %d",
                                       p);
                    goto out;
                }
            }
            cp.ptr = data;
            cp.len = l;
        }
        r = conv_from_c(&cp, &v, &scratch, &d);
        if (r == CONV_ERROR) {
            ret = odbc_post_at(&s->h, d.state, 0, row, p, "%s (parameter %d)", d.msg, p);
            goto out;
        }
        if (r == CONV_INFO) {
            odbc_post_at(&s->h, d.state, 0, row, p, "%s (parameter %d)", d.msg, p);
            *info = true;
        }
        switch (v.kind) {
        case ODBC_V_INT: r = recall_bind_int64(s->rs, p, v.i); break;
        case ODBC_V_UINT: r = recall_bind_uint64(s->rs, p, v.u); break;
        case ODBC_V_DOUBLE: r = recall_bind_double(s->rs, p, v.d); break;
        case ODBC_V_TEXT: r = recall_bind_text(s->rs, p, v.p, v.len); break;
        case ODBC_V_BLOB: r = recall_bind_blob(s->rs, p, v.p, v.len); break;
        default: r = recall_bind_null(s->rs, p); break;
        }
    bound:
        if (r != RECALL_OK) {
            ret = odbc_post_recall(&s->h, s->conn, s->rs, row, true);
            goto out;
        }
    }
out:
    buf_close(&scratch);
    return ret;
}

static bool fatal_state(const char *st)
{
    return strncmp(st, "08", 2) == 0 || strcmp(st, "40001") == 0 || strcmp(st, "HYT00") == 0 ||
           strcmp(st, "HY008") == 0 || strcmp(st, "HYT01") == 0;
}

/* Execute the remaining parameter sets from s->exec_set. */
static SQLRETURN exec_continue(struct odbc_stmt *s)
{
    struct odbc_conn *c = s->conn;
    SQLUSMALLINT *status = s->ipd.array_status_ptr;
    SQLUSMALLINT *ops = s->apd->array_status_ptr;
    bool info = s->exec_info, result = false, stop = false;

    for (; s->exec_set < s->exec_nsets && !result && !stop; s->exec_set++) {
        SQLULEN set = s->exec_set;
        if (ops && ops[set] == SQL_PARAM_IGNORE) {
            if (status)
                status[set] = SQL_PARAM_UNUSED;
            continue;
        }
        /* Data at execution: ask for the first missing value. */
        for (int p = 1; p <= s->nparams; p++) {
            void *data;
            SQLLEN *ind, *olen;
            param_ptrs(s, p, set, &data, &ind, &olen);
            if (is_dae(ind) && s->dae_have[p - 1] == 0) {
                s->state = ST_NEED_DATA;
                s->dae_param = 0;
                s->exec_info = info;
                if (s->ipd.rows_processed_ptr)
                    *s->ipd.rows_processed_ptr = set + 1;
                return SQL_NEED_DATA;
            }
        }
        if (s->ipd.rows_processed_ptr)
            *s->ipd.rows_processed_ptr = set + 1;
        SQLRETURN rc = bind_set(s, set, &info);
        stmt_reset_dae(s);
        if (!SQL_SUCCEEDED(rc)) {
            s->exec_err++;
            if (status)
                status[set] = SQL_PARAM_ERROR;
            if (c->dead)
                stop = true;
            continue;
        }
        odbc_conn_spill(c, s);
        odbc_conn_timeout(c, s->query_timeout);
        atomic_store(&s->running, 1);
        int r = recall_execute(s->rs);
        atomic_store(&s->running, 0);
        if (r != RECALL_OK) {
            odbc_post_recall(&s->h, c, s->rs, (SQLLEN)set + 1, true);
            s->exec_err++;
            if (status)
                status[set] = SQL_PARAM_ERROR;
            const char *st = s->h.diag.count ? s->h.diag.recs[0].state : "HY000";
            if (c->dead || fatal_state(st))
                stop = true;
            continue;
        }
        s->exec_ok++;
        if (status)
            status[set] = info ? SQL_PARAM_SUCCESS_WITH_INFO : SQL_PARAM_SUCCESS;
        if (recall_column_count(s->rs) > 0) {
            SQLRETURN b = build_ird(s);
            if (!SQL_SUCCEEDED(b)) {
                recall_stmt_reset(s->rs);
                return b;
            }
            s->src = &live_source;
            c->live = s;
            s->state = ST_CURSOR;
            s->fetched = false;
            s->src_done = false;
            s->rows_seen = 0;
            s->row_count = -1;
            result = true;
        } else {
            uint64_t n = recall_affected_rows(s->rs);
            if (s->row_count < 0)
                s->row_count = 0;
            s->row_count += (SQLLEN)n;
        }
    }
    if (stop && status)
        for (SQLULEN i = s->exec_set; i < s->exec_nsets; i++)
            status[i] = SQL_PARAM_UNUSED;
    if (stop)
        s->exec_set = s->exec_nsets;
    if (!result)
        s->state = s->prepared ? ST_PREPARED : ST_EXECUTED;
    s->h.diag.row_count = s->row_count;
    s->h.diag.cursor_row_count = s->row_count;
    if (s->exec_err > 0 && s->exec_ok == 0)
        return SQL_ERROR;
    if (s->exec_err > 0 || info)
        return SQL_SUCCESS_WITH_INFO;
    return SQL_SUCCESS;
}

SQLRETURN odbc_execute(struct odbc_stmt *s)
{
    struct odbc_conn *c = s->conn;
    SQLRETURN rc = odbc_conn_check(&s->h, c);
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (s->state == ST_CURSOR)
        return odbc_post(&s->h, "24000", 0, "invalid cursor state: close the cursor first");
    if (s->state == ST_NEED_DATA || s->state == ST_PUT_DATA)
        return odbc_post(&s->h, "HY010", 0, "function sequence error: data-at-execution parameters are pending");
    if (!s->rs || s->state == ST_ALLOC)
        return odbc_post(&s->h, "HY010", 0, "function sequence error: no statement is prepared");
    odbc_stmt_close_result(s);
    for (int p = 1; p <= s->nparams; p++) {
        if (p > s->apd->count || p > s->ipd.count ||
            (!s->apd->recs[p].data_ptr && !s->apd->recs[p].indicator_ptr))
            return odbc_post(&s->h, "07002", 0, "COUNT field incorrect: parameter %d is not bound", p);
    }
    if (stmt_alloc_dae(s) < 0)
        return odbc_post_oom(&s->h);
    stmt_reset_dae(s);
    if (recall_clear_bindings(s->rs) != RECALL_OK)
        return odbc_post_recall(&s->h, c, s->rs, SQL_NO_ROW_NUMBER, true);
    s->exec_set = 0;
    s->exec_nsets = s->nparams > 0 ? s->apd->array_size : 1;
    s->exec_ok = s->exec_err = 0;
    s->exec_info = false;
    s->row_count = -1;
    if (s->ipd.rows_processed_ptr)
        *s->ipd.rows_processed_ptr = 0;
    if (s->ipd.array_status_ptr)
        for (SQLULEN i = 0; i < s->exec_nsets; i++)
            s->ipd.array_status_ptr[i] = SQL_PARAM_UNUSED;
    return exec_continue(s);
}

static SQLRETURN param_data(struct odbc_stmt *s, SQLPOINTER *token)
{
    SQLULEN set = s->exec_set;
    if (s->state != ST_NEED_DATA && s->state != ST_PUT_DATA)
        return odbc_post(&s->h, "HY010", 0, "function sequence error: no data-at-execution parameter is pending");
    if (s->state == ST_PUT_DATA && s->dae_param > 0 && s->dae_have[s->dae_param - 1] == 0)
        s->dae_have[s->dae_param - 1] = 1; /* no SQLPutData call: empty value */
    for (int p = 1; p <= s->nparams; p++) {
        void *data;
        SQLLEN *ind, *olen;
        param_ptrs(s, p, set, &data, &ind, &olen);
        if (is_dae(ind) && s->dae_have[p - 1] == 0) {
            s->dae_param = p;
            s->state = ST_PUT_DATA;
            if (token)
                *token = data ? data : s->apd->recs[p].data_ptr;
            return SQL_NEED_DATA;
        }
    }
    /* Every value of this set is in: run it (and go on with the others). */
    s->state = s->prepared ? ST_PREPARED : ST_EXECUTED;
    s->dae_param = 0;
    return exec_continue(s);
}

static SQLRETURN put_data(struct odbc_stmt *s, SQLPOINTER data, SQLLEN len)
{
    int p = s->dae_param;
    if (s->state != ST_PUT_DATA || p <= 0)
        return odbc_post(&s->h, "HY010", 0, "function sequence error: call SQLParamData first");
    struct odbc_desc_rec *a = &s->apd->recs[p];
    struct odbc_desc_rec *ip = &s->ipd.recs[p];
    SQLSMALLINT c = param_c_type(a, ip);
    struct buf *b = &s->dae_data[p - 1];
    if (len == SQL_NULL_DATA) {
        if (s->dae_have[p - 1] == 1 && b->len > 0)
            return odbc_post(&s->h, "HY020", 0, "attempt to concatenate a null value");
        s->dae_have[p - 1] = 2;
        return SQL_SUCCESS;
    }
    if (s->dae_have[p - 1] == 2)
        return odbc_post(&s->h, "HY020", 0, "attempt to concatenate a null value");
    if (!conv_c_is_stream(c)) {
        if (s->dae_have[p - 1])
            return odbc_post(&s->h, "HY019", 0, "non-character and non-binary data sent in pieces");
        if (!data)
            return odbc_post(&s->h, "HY009", 0, "invalid use of null pointer");
        len = conv_c_size(c);
    } else {
        if (len == SQL_NTS)
            len = !data ? 0 : c == SQL_C_WCHAR ? (SQLLEN)wide_bytes(data) : c == SQL_C_CHAR ? (SQLLEN)strlen(data) : -1;
        if (len < 0)
            return odbc_post(&s->h, "HY090", 0, "invalid string or buffer length");
        if (len > 0 && !data)
            return odbc_post(&s->h, "HY009", 0, "invalid use of null pointer");
    }
    if (len > 0 && buf_append(b, data, (size_t)len) < 0)
        return odbc_post_oom(&s->h);
    s->dae_have[p - 1] = 1;
    return SQL_SUCCESS;
}

/* ---------------------------------------------------------- helper queries */

SQLRETURN odbc_query_table(struct odbc_stmt *s, const char *sql, const char *const *params,
                           int nparams, struct odbc_table *t)
{
    struct odbc_conn *c = s->conn;
    recall_stmt *st;
    SQLRETURN ret = SQL_SUCCESS;
    struct odbc_value *row;
    int r;
    odbc_conn_spill(c, NULL);
    odbc_conn_timeout(c, s->query_timeout);
    if (!(st = recall_prepare(c->rc, sql, strlen(sql))))
        return odbc_post_recall(&s->h, c, NULL, SQL_NO_ROW_NUMBER, true);
    for (int i = 0; i < nparams; i++) {
        r = params[i] ? recall_bind_text(st, i + 1, params[i], strlen(params[i]))
                      : recall_bind_null(st, i + 1);
        if (r != RECALL_OK) {
            ret = odbc_post_recall(&s->h, c, st, SQL_NO_ROW_NUMBER, true);
            goto out;
        }
    }
    atomic_store(&s->running, 1);
    r = recall_execute(st);
    atomic_store(&s->running, 0);
    if (r != RECALL_OK) {
        ret = odbc_post_recall(&s->h, c, st, SQL_NO_ROW_NUMBER, true);
        goto out;
    }
    if (!(row = calloc((size_t)(t->ncols ? t->ncols : 1), sizeof *row))) {
        ret = odbc_post_oom(&s->h);
        goto out;
    }
    int nc = recall_column_count(st);
    for (;;) {
        atomic_store(&s->running, 1);
        r = recall_fetch(st);
        atomic_store(&s->running, 0);
        if (r == RECALL_DONE)
            break;
        if (r != RECALL_ROW) {
            ret = odbc_post_recall(&s->h, c, st, SQL_NO_ROW_NUMBER, true);
            break;
        }
        for (int i = 0; i < t->ncols; i++) {
            memset(&row[i], 0, sizeof row[i]);
            if (i >= nc)
                continue;
            switch (recall_value_type(st, i)) {
            case RECALL_VALUE_INT: row[i].kind = ODBC_V_INT; row[i].i = recall_value_int64(st, i); break;
            case RECALL_VALUE_UINT: row[i].kind = ODBC_V_UINT; row[i].u = recall_value_uint64(st, i); break;
            case RECALL_VALUE_DOUBLE: row[i].kind = ODBC_V_DOUBLE; row[i].d = recall_value_double(st, i); break;
            case RECALL_VALUE_TEXT:
            case RECALL_VALUE_BLOB:
                row[i].kind = ODBC_V_TEXT;
                row[i].p = recall_value_text(st, i, &row[i].len);
                if (!row[i].p)
                    row[i].kind = ODBC_V_NULL;
                break;
            default:
                break;
            }
        }
        if (odbc_table_add(t, row) < 0) {
            ret = odbc_post_oom(&s->h);
            break;
        }
    }
    free(row);
out:
    recall_stmt_free(st);
    return ret;
}

/* ---------------------------------------------------------- entry points */

#define STMT_ENTER(hstmt, s)                    \
    struct odbc_stmt *s = odbc_stmt_cast(hstmt); \
    if (!s)                                      \
        return SQL_INVALID_HANDLE;               \
    odbc_enter(&s->h, false)

SQLRETURN SQL_API SQLPrepare(SQLHSTMT hstmt, SQLCHAR *sql, SQLINTEGER len)
{
    STMT_ENTER(hstmt, s);
    SQLRETURN rc = odbc_prepare(s, (const char *)sql, len);
    if (SQL_SUCCEEDED(rc))
        s->prepared = true;
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLExecute(SQLHSTMT hstmt)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_execute(s));
}

SQLRETURN odbc_exec_direct(struct odbc_stmt *s, const char *sql, SQLLEN len)
{
    SQLRETURN rc = odbc_prepare(s, sql, len);
    if (!SQL_SUCCEEDED(rc))
        return rc;
    s->prepared = false;
    SQLRETURN rc2 = odbc_execute(s);
    if (rc2 == SQL_SUCCESS && rc == SQL_SUCCESS_WITH_INFO)
        rc2 = SQL_SUCCESS_WITH_INFO;
    if (!SQL_SUCCEEDED(rc2) && rc2 != SQL_NEED_DATA && rc2 != SQL_NO_DATA &&
        s->state != ST_CURSOR)
        s->state = ST_ALLOC; /* a failed SQLExecDirect leaves nothing prepared */
    return rc2;
}

SQLRETURN SQL_API SQLExecDirect(SQLHSTMT hstmt, SQLCHAR *sql, SQLINTEGER len)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_exec_direct(s, (const char *)sql, len));
}

SQLRETURN SQL_API SQLParamData(SQLHSTMT hstmt, SQLPOINTER *token)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, param_data(s, token));
}

SQLRETURN SQL_API SQLPutData(SQLHSTMT hstmt, SQLPOINTER data, SQLLEN len)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, put_data(s, data, len));
}

SQLRETURN SQL_API SQLCancel(SQLHSTMT hstmt)
{
    struct odbc_stmt *s = odbc_stmt_cast(hstmt);
    if (!s)
        return SQL_INVALID_HANDLE;
    /* A call running in another thread holds the lock: reach it through
     * librecall, which makes it fail with HY008. */
    if (atomic_load(&s->running)) {
        recall_conn *rc = s->conn->rc;
        if (rc)
            recall_cancel(rc);
        return SQL_SUCCESS;
    }
    odbc_enter(&s->h, false);
    if (s->state == ST_NEED_DATA || s->state == ST_PUT_DATA) {
        stmt_reset_dae(s);
        s->exec_set = s->exec_nsets;
        s->state = s->prepared ? ST_PREPARED : ST_ALLOC;
    }
    return odbc_leave(&s->h, SQL_SUCCESS);
}

SQLRETURN SQL_API SQLCloseCursor(SQLHSTMT hstmt)
{
    STMT_ENTER(hstmt, s);
    if (s->state != ST_CURSOR)
        return odbc_leave(&s->h, odbc_post(&s->h, "24000", 0, "invalid cursor state: no cursor is open"));
    odbc_stmt_close_result(s);
    return odbc_leave(&s->h, SQL_SUCCESS);
}

SQLRETURN SQL_API SQLRowCount(SQLHSTMT hstmt, SQLLEN *count)
{
    STMT_ENTER(hstmt, s);
    if (s->state == ST_ALLOC || s->state == ST_NEED_DATA || s->state == ST_PUT_DATA)
        return odbc_leave(&s->h, odbc_post(&s->h, "HY010", 0, "function sequence error"));
    if (count)
        *count = s->row_count;
    return odbc_leave(&s->h, SQL_SUCCESS);
}

SQLRETURN SQL_API SQLNumParams(SQLHSTMT hstmt, SQLSMALLINT *n)
{
    STMT_ENTER(hstmt, s);
    if (s->state == ST_ALLOC)
        return odbc_leave(&s->h, odbc_post(&s->h, "HY010", 0, "function sequence error: no statement is prepared"));
    if (n)
        *n = (SQLSMALLINT)s->nparams;
    return odbc_leave(&s->h, SQL_SUCCESS);
}

SQLRETURN SQL_API SQLDescribeParam(SQLHSTMT hstmt, SQLUSMALLINT n, SQLSMALLINT *type,
                                   SQLULEN *size, SQLSMALLINT *digits, SQLSMALLINT *nullable)
{
    STMT_ENTER(hstmt, s);
    if (s->state == ST_ALLOC)
        return odbc_leave(&s->h, odbc_post(&s->h, "HY010", 0, "function sequence error: no statement is prepared"));
    if (n == 0 || n > s->nparams)
        return odbc_leave(&s->h, odbc_post(&s->h, "07009", 0, "invalid descriptor index %u: the statement has %d parameters",
                                           (unsigned)n, s->nparams));
    /* Neither backend describes parameters before execution: every one is
     * reported as a medium VARCHAR, which every column type accepts (the
     * application's own earlier binding is not a description of the
     * statement, so the IPD is not consulted). */
    if (type)
        *type = SQL_VARCHAR;
    if (size)
        *size = 255;
    if (digits)
        *digits = 0;
    if (nullable)
        *nullable = SQL_NULLABLE_UNKNOWN;
    return odbc_leave(&s->h, SQL_SUCCESS);
}

SQLRETURN SQL_API SQLMoreResults(SQLHSTMT hstmt)
{
    STMT_ENTER(hstmt, s);
    if (s->state == ST_NEED_DATA || s->state == ST_PUT_DATA)
        return odbc_leave(&s->h, odbc_post(&s->h, "HY010", 0, "function sequence error"));
    odbc_stmt_close_result(s);
    if (s->rs && s->exec_set < s->exec_nsets && !s->conn->dead) {
        /* Results of the following parameter sets. */
        SQLULEN ok = s->exec_ok, err = s->exec_err;
        s->row_count = -1;
        SQLRETURN rc = exec_continue(s);
        if (rc == SQL_SUCCESS && s->exec_ok == ok && s->exec_err == err)
            rc = SQL_NO_DATA;
        return odbc_leave(&s->h, rc);
    }
    return odbc_leave(&s->h, SQL_NO_DATA);
}

SQLRETURN SQL_API SQLBindParameter(SQLHSTMT hstmt, SQLUSMALLINT n, SQLSMALLINT io,
                                   SQLSMALLINT c_type, SQLSMALLINT sql_type, SQLULEN size,
                                   SQLSMALLINT digits, SQLPOINTER ptr, SQLLEN buflen, SQLLEN *ind)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_bind_param(s, n, io, c_type, sql_type, size, digits, ptr,
                                             buflen, ind));
}

SQLRETURN SQL_API SQLBindCol(SQLHSTMT hstmt, SQLUSMALLINT col, SQLSMALLINT c_type,
                             SQLPOINTER ptr, SQLLEN buflen, SQLLEN *ind)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_bind_col(s, col, c_type, ptr, buflen, ind));
}

SQLRETURN SQL_API SQLFetch(SQLHSTMT hstmt)
{
    STMT_ENTER(hstmt, s);
    if (s->fetched_ext)
        return odbc_leave(&s->h, odbc_post(&s->h, "HY010", 0, "function sequence error: SQLExtendedFetch is in use"));
    return odbc_leave(&s->h, odbc_fetch(s, SQL_FETCH_NEXT, 0, s->ard->array_size,
                                        s->ird.rows_processed_ptr, s->ird.array_status_ptr, false));
}

SQLRETURN SQL_API SQLFetchScroll(SQLHSTMT hstmt, SQLSMALLINT orientation, SQLLEN offset)
{
    STMT_ENTER(hstmt, s);
    if (orientation != SQL_FETCH_NEXT)
        return odbc_leave(&s->h, odbc_post(&s->h, "HY106", 0, "fetch type out of range: the cursor is forward-only"));
    return odbc_leave(&s->h, odbc_fetch(s, orientation, offset, s->ard->array_size,
                                        s->ird.rows_processed_ptr, s->ird.array_status_ptr, false));
}

SQLRETURN SQL_API SQLExtendedFetch(SQLHSTMT hstmt, SQLUSMALLINT orientation, SQLLEN offset,
                                   SQLULEN *rows, SQLUSMALLINT *status)
{
    STMT_ENTER(hstmt, s);
    if (orientation != SQL_FETCH_NEXT)
        return odbc_leave(&s->h, odbc_post(&s->h, "HY106", 0, "fetch type out of range: the cursor is forward-only"));
    return odbc_leave(&s->h, odbc_fetch(s, (SQLSMALLINT)orientation, offset, s->rowset_size, rows,
                                        status, true));
}

SQLRETURN SQL_API SQLGetData(SQLHSTMT hstmt, SQLUSMALLINT col, SQLSMALLINT c_type,
                             SQLPOINTER ptr, SQLLEN buflen, SQLLEN *ind)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_get_data(s, col, c_type, ptr, buflen, ind));
}

SQLRETURN SQL_API SQLSetPos(SQLHSTMT hstmt, SQLSETPOSIROW row, SQLUSMALLINT op,
                            SQLUSMALLINT lock)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_set_pos(s, row, op, lock));
}

SQLRETURN SQL_API SQLNumResultCols(SQLHSTMT hstmt, SQLSMALLINT *n)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_num_result_cols(s, n));
}

SQLRETURN SQL_API SQLDescribeCol(SQLHSTMT hstmt, SQLUSMALLINT col, SQLCHAR *name,
                                 SQLSMALLINT buflen, SQLSMALLINT *namelen, SQLSMALLINT *type,
                                 SQLULEN *size, SQLSMALLINT *digits, SQLSMALLINT *nullable)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_describe_col(s, col, name, buflen, namelen, type, size, digits,
                                               nullable, ODBC_OUT_ANSI));
}

SQLRETURN SQL_API SQLColAttribute(SQLHSTMT hstmt, SQLUSMALLINT col, SQLUSMALLINT field,
                                  SQLPOINTER cptr, SQLSMALLINT buflen, SQLSMALLINT *outlen,
                                  SQLLEN *nptr)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_col_attribute(s, col, field, cptr, buflen, outlen, nptr,
                                                ODBC_OUT_ANSI));
}
