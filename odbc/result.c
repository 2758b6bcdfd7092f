/* Result sets of the Recall ODBC driver: rows from librecall or from a
 * table the driver built, fetched into bound columns (row-wise or
 * column-wise, with bind offsets, row status and rows-fetched arrays),
 * SQLGetData in pieces, SQLSetPos(SQL_POSITION), SQLDescribeCol and
 * SQLColAttribute.  Cursors are forward-only; when a rowset has more than
 * one row its rows are copied so that any of them can be positioned on and
 * read with SQLGetData.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "odbc-internal.h"

/* ---------------------------------------------------------- tables */

void odbc_table_init(struct odbc_table *t, int ncols)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
}

static void free_cells(struct odbc_value *cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cells[i].kind == ODBC_V_TEXT || cells[i].kind == ODBC_V_BLOB)
            free((void *)cells[i].p);
}

void odbc_table_free(struct odbc_table *t)
{
    if (t->cells)
        free_cells(t->cells, t->nrows * (size_t)t->ncols);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

static int copy_value(struct odbc_value *dst, const struct odbc_value *src)
{
    *dst = *src;
    if (src->kind == ODBC_V_TEXT || src->kind == ODBC_V_BLOB) {
        char *p = malloc(src->len + 1);
        if (!p) {
            dst->kind = ODBC_V_NULL;
            return -1;
        }
        if (src->len)
            memcpy(p, src->p, src->len);
        p[src->len] = 0;
        dst->p = p;
    }
    return 0;
}

int odbc_table_add(struct odbc_table *t, const struct odbc_value *vals)
{
    size_t nc = (size_t)t->ncols;
    if (t->nrows == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        struct odbc_value *n = realloc(t->cells, ncap * nc * sizeof *n);
        if (!n)
            return -1;
        t->cells = n;
        t->cap = ncap;
    }
    struct odbc_value *row = t->cells + t->nrows * nc;
    for (size_t i = 0; i < nc; i++)
        if (copy_value(&row[i], &vals[i]) < 0) {
            free_cells(row, i);
            return -1;
        }
    t->nrows++;
    return 0;
}

static int table_fetch(struct odbc_stmt *s)
{
    if (s->table_pos >= s->table.nrows) {
        if (s->spill_failed) {
            /* The rows copied before the error have been read: report it. */
            s->spill_failed = false;
            odbc_post(&s->h, s->spill_state, s->spill_native, "%s",
                      s->spill_msg ? s->spill_msg : "the result set was lost");
            return -1;
        }
        return 0;
    }
    s->table_pos++;
    return 1;
}

static void table_value(struct odbc_stmt *s, int col, struct odbc_value *v)
{
    if (s->table_pos == 0 || s->table_pos > s->table.nrows || col < 0 || col >= s->table.ncols) {
        memset(v, 0, sizeof *v);
        return;
    }
    *v = s->table.cells[(s->table_pos - 1) * (size_t)s->table.ncols + (size_t)col];
}

static void table_close(struct odbc_stmt *s)
{
    odbc_table_free(&s->table);
    s->table_pos = 0;
    s->spilled = s->spill_failed = false;
    free(s->spill_msg);
    s->spill_msg = NULL;
}

const struct odbc_source odbc_table_source = {table_fetch, table_value, table_close};

static void cache_clear(struct odbc_rowcache *c)
{
    if (c->cells)
        free_cells(c->cells, c->nrows * (size_t)c->ncols);
    free(c->cells);
    memset(c, 0, sizeof *c);
}

void odbc_stmt_close_result(struct odbc_stmt *s)
{
    if (s->src && s->src->close)
        s->src->close(s);
    s->src = NULL;
    cache_clear(&s->cache);
    conv_stream_reset(&s->gd);
    s->gd_col = 0;
    s->fetched = s->fetched_ext = false;
    s->rowset_rows = s->row_pos = 0;
    s->rows_seen = 0;
    s->src_done = false;
    if (s->state == ST_CURSOR)
        s->state = s->prepared ? ST_PREPARED : ST_EXECUTED;
}

SQLRETURN odbc_stmt_set_table(struct odbc_stmt *s, struct odbc_table *t,
                              const struct odbc_colspec *specs, int ncols)
{
    SQLRETURN rc = SQL_SUCCESS;
    odbc_stmt_close_result(s);
    odbc_desc_truncate(&s->ird, 0);
    for (int i = 0; i < ncols && SQL_SUCCEEDED(rc); i++) {
        SQLSMALLINT type = specs[i].sql_type;
        if (s->conn->unicode && (type == SQL_VARCHAR || type == SQL_CHAR))
            type = type == SQL_CHAR ? SQL_WCHAR : SQL_WVARCHAR;
        rc = odbc_ird_set(s, i + 1, specs[i].name, type, specs[i].size, 0, specs[i].nullable,
                          false);
    }
    if (!SQL_SUCCEEDED(rc)) {
        odbc_table_free(t);
        return rc;
    }
    s->table = *t;
    memset(t, 0, sizeof *t);
    s->table_pos = 0;
    s->src = &odbc_table_source;
    s->state = ST_CURSOR;
    s->row_count = (SQLLEN)s->table.nrows;
    s->h.diag.row_count = s->row_count;
    s->h.diag.cursor_row_count = s->row_count;
    return SQL_SUCCESS;
}

/* ---------------------------------------------------------- fetching */

static SQLRETURN cursor_check(struct odbc_stmt *s)
{
    if (s->state == ST_NEED_DATA || s->state == ST_PUT_DATA)
        return odbc_post(&s->h, "HY010", 0, "function sequence error: data-at-execution parameters are pending");
    if (s->state != ST_CURSOR)
        return odbc_post(&s->h, "24000", 0, "invalid cursor state: no result set is open");
    return SQL_SUCCESS;
}

/* The value of column col (0-based) of rowset row `row`. */
static void row_value(struct odbc_stmt *s, size_t row, int col, struct odbc_value *v)
{
    if (s->cache.cells) {
        if (row < s->cache.nrows && col < s->cache.ncols)
            *v = s->cache.cells[row * (size_t)s->cache.ncols + (size_t)col];
        else
            memset(v, 0, sizeof *v);
        return;
    }
    s->src->value(s, col, v);
}

static void col_info(struct odbc_stmt *s, int col, struct conv_col *ci)
{
    struct odbc_desc_rec *r = &s->ird.recs[col];
    ci->sql_type = r->concise_type;
    ci->scale = r->scale;
    ci->is_unsigned = r->is_unsigned == SQL_TRUE;
}

/* SQL_ATTR_MAX_LENGTH shortens character and binary values. */
static void apply_max_length(struct odbc_stmt *s, struct odbc_value *v)
{
    if (s->max_length > 0 && (v->kind == ODBC_V_TEXT || v->kind == ODBC_V_BLOB) &&
        v->len > s->max_length)
        v->len = s->max_length;
}

static SQLSMALLINT resolve_c_type(struct odbc_stmt *s, int col, SQLSMALLINT c)
{
    struct odbc_desc_rec *r = &s->ird.recs[col];
    if (c == SQL_C_DEFAULT)
        return conv_default_c_type(r->concise_type, r->is_unsigned == SQL_TRUE);
    return conv_c_type_v3(c);
}

/* Convert one bound column of one row.  Returns CONV_OK/INFO/ERROR. */
static int bind_one(struct odbc_stmt *s, int col, size_t row, SQLULEN arow)
{
    struct odbc_desc *ard = s->ard;
    struct odbc_desc_rec *rec = &ard->recs[col];
    struct odbc_value v;
    struct conv_col ci;
    struct conv_target t;
    struct conv_diag d;
    SQLLEN len = 0;
    SQLSMALLINT c = resolve_c_type(s, col, rec->concise_type);
    SQLLEN elem = conv_c_is_stream(c) ? rec->octet_length : conv_c_size(c);
    void *data = odbc_desc_elem(ard, rec->data_ptr, arow, elem);
    SQLLEN *ind = odbc_desc_len_elem(ard, rec->indicator_ptr, arow);
    SQLLEN *olen = odbc_desc_len_elem(ard, rec->octet_length_ptr, arow);
    int rc;

    row_value(s, row, col - 1, &v);
    if (v.kind == ODBC_V_NULL) {
        if (!ind) {
            odbc_post_at(&s->h, "22002", 0, (SQLLEN)row + 1, col,
                         "indicator variable required but not supplied (column %d is NULL)", col);
            return CONV_ERROR;
        }
        odbc_len_store(ind, SQL_NULL_DATA);
        return CONV_OK;
    }
    apply_max_length(s, &v);
    col_info(s, col, &ci);
    memset(&t, 0, sizeof t);
    t.c_type = c;
    t.ptr = data;
    t.buflen = rec->octet_length;
    t.precision = rec->precision;
    t.scale = rec->scale;
    t.interval_precision = rec->datetime_interval_precision > 0 ? rec->datetime_interval_precision : 2;
    t.seconds_precision = rec->type == SQL_INTERVAL ? rec->precision : 6;
    rc = conv_to_c(&v, &ci, &t, NULL, &len, &d);
    if (rc == CONV_NULL) {
        if (!ind) {
            odbc_post_at(&s->h, "22002", 0, (SQLLEN)row + 1, col,
                         "indicator variable required but not supplied (column %d is NULL)", col);
            return CONV_ERROR;
        }
        odbc_len_store(ind, SQL_NULL_DATA);
        return CONV_OK;
    }
    if (rc == CONV_ERROR) {
        odbc_post_at(&s->h, d.state, 0, (SQLLEN)row + 1, col, "%s (column %d)", d.msg, col);
        return CONV_ERROR;
    }
    if (olen)
        odbc_len_store(olen, len);
    if (ind && ind != olen)
        odbc_len_store(ind, 0);
    if (rc == CONV_INFO)
        odbc_post_at(&s->h, d.state, 0, (SQLLEN)row + 1, col, "%s (column %d)", d.msg, col);
    return rc;
}

static int cache_row(struct odbc_stmt *s, size_t row)
{
    struct odbc_rowcache *c = &s->cache;
    int nc = s->ird.count;
    if (row == 0) {
        cache_clear(c);
        c->ncols = nc;
    }
    struct odbc_value *cells = realloc(c->cells, (row + 1) * (size_t)(nc ? nc : 1) * sizeof *cells);
    if (!cells)
        return -1;
    c->cells = cells;
    for (int i = 0; i < nc; i++) {
        struct odbc_value v;
        s->src->value(s, i, &v);
        if (copy_value(&cells[row * (size_t)nc + (size_t)i], &v) < 0) {
            free_cells(cells + row * (size_t)nc, (size_t)i);
            return -1;
        }
    }
    c->nrows = row + 1;
    return 0;
}

SQLRETURN odbc_fetch(struct odbc_stmt *s, SQLSMALLINT orientation, SQLLEN offset,
                     SQLULEN rowset, SQLULEN *rows_out, SQLUSMALLINT *status_out, bool ext)
{
    SQLRETURN rc = cursor_check(s);
    size_t k = 0, nerr = 0, ninfo = 0;
    (void)offset;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (orientation != SQL_FETCH_NEXT)
        return odbc_post(&s->h, "HY106", 0, "fetch type out of range: the cursor is forward-only");
    if (rowset == 0)
        rowset = 1;
    conv_stream_reset(&s->gd);
    s->gd_col = 0;
    cache_clear(&s->cache);
    s->fetched = false;
    s->rowset_rows = 0;
    s->row_pos = 0;
    for (; k < rowset; k++) {
        int r;
        if (s->src_done || (s->max_rows > 0 && s->rows_seen >= s->max_rows)) {
            s->src_done = true;
            break;
        }
        r = s->src->fetch(s);
        if (r < 0) {
            if (rows_out)
                *rows_out = k;
            return SQL_ERROR;
        }
        if (r == 0) {
            s->src_done = true;
            break;
        }
        s->rows_seen++;
        if (rowset > 1 && cache_row(s, k) < 0)
            return odbc_post_oom(&s->h);
        SQLUSMALLINT st = SQL_ROW_SUCCESS;
        if (s->retrieve_data == SQL_RD_ON) {
            for (int col = 1; col <= s->ard->count && col <= s->ird.count; col++) {
                struct odbc_desc_rec *rec = &s->ard->recs[col];
                if (!rec->data_ptr && !rec->indicator_ptr && !rec->octet_length_ptr)
                    continue;
                int cr = bind_one(s, col, k, k);
                if (cr == CONV_ERROR)
                    st = SQL_ROW_ERROR;
                else if (cr == CONV_INFO && st == SQL_ROW_SUCCESS)
                    st = SQL_ROW_SUCCESS_WITH_INFO;
            }
        }
        if (st == SQL_ROW_ERROR)
            nerr++;
        else if (st == SQL_ROW_SUCCESS_WITH_INFO)
            ninfo++;
        if (status_out)
            status_out[k] = st;
    }
    if (status_out)
        for (size_t i = k; i < rowset; i++)
            status_out[i] = SQL_ROW_NOROW;
    if (rows_out)
        *rows_out = k;
    if (k == 0)
        return SQL_NO_DATA;
    s->fetched = true;
    s->fetched_ext = ext;
    s->rowset_rows = k;
    if (nerr == k)
        return SQL_ERROR; /* every row failed (or the only one did) */
    if (nerr || ninfo)
        return SQL_SUCCESS_WITH_INFO;
    return SQL_SUCCESS;
}

SQLRETURN odbc_get_data(struct odbc_stmt *s, SQLUSMALLINT col, SQLSMALLINT c_type,
                        SQLPOINTER ptr, SQLLEN buflen, SQLLEN *ind)
{
    SQLRETURN rc = cursor_check(s);
    struct odbc_value v;
    struct conv_col ci;
    struct conv_target t;
    struct conv_diag d;
    SQLLEN len = 0;
    SQLSMALLINT prec = 0, scale = 0;
    SQLINTEGER ivp = 2;
    SQLSMALLINT sp = 6;
    int cr;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (!s->fetched)
        return odbc_post(&s->h, "24000", 0, "invalid cursor state: fetch a row first");
    if (col == 0)
        return odbc_post(&s->h, "07009", 0, "invalid descriptor index 0: bookmarks are not enabled");
    if (col > s->ird.count)
        return odbc_post(&s->h, "07009", 0, "invalid descriptor index %u: the result has %d columns",
                         (unsigned)col, (int)s->ird.count);
    if (c_type == SQL_ARD_TYPE) {
        if (col > s->ard->count)
            return odbc_post(&s->h, "07009", 0, "SQL_ARD_TYPE: column %u has no ARD record", (unsigned)col);
        struct odbc_desc_rec *ar = &s->ard->recs[col];
        c_type = ar->concise_type;
        prec = ar->precision;
        scale = ar->scale;
        if (ar->datetime_interval_precision > 0)
            ivp = ar->datetime_interval_precision;
        if (ar->type == SQL_INTERVAL)
            sp = ar->precision;
    }
    if (c_type != SQL_C_DEFAULT && !conv_c_type_valid(c_type))
        return odbc_post(&s->h, "HY003", 0, "invalid application buffer type %d", (int)c_type);
    c_type = resolve_c_type(s, col, c_type);
    if (conv_c_is_stream(c_type) && buflen < 0)
        return odbc_post(&s->h, "HY090", 0, "invalid string or buffer length");
    if (s->gd_col != col || s->gd_row != s->row_pos) {
        conv_stream_reset(&s->gd);
        s->gd_col = col;
        s->gd_row = s->row_pos;
    }
    row_value(s, s->row_pos, col - 1, &v);
    if (v.kind == ODBC_V_NULL) {
        if (s->gd.done)
            return SQL_NO_DATA;
        s->gd.done = true;
        if (!ind)
            return odbc_post_at(&s->h, "22002", 0, (SQLLEN)s->row_pos + 1, col,
                                "indicator variable required but not supplied (column %u is NULL)",
                                (unsigned)col);
        odbc_len_store(ind, SQL_NULL_DATA);
        return SQL_SUCCESS;
    }
    apply_max_length(s, &v);
    col_info(s, col, &ci);
    memset(&t, 0, sizeof t);
    t.c_type = c_type;
    t.ptr = ptr;
    t.buflen = buflen;
    t.precision = prec;
    t.scale = scale;
    t.interval_precision = ivp;
    t.seconds_precision = sp;
    cr = conv_to_c(&v, &ci, &t, &s->gd, &len, &d);
    switch (cr) {
    case CONV_NODATA:
        return SQL_NO_DATA;
    case CONV_NULL:
        s->gd.done = true;
        if (!ind)
            return odbc_post_at(&s->h, "22002", 0, (SQLLEN)s->row_pos + 1, col,
                                "indicator variable required but not supplied (column %u is NULL)",
                                (unsigned)col);
        odbc_len_store(ind, SQL_NULL_DATA);
        return SQL_SUCCESS;
    case CONV_ERROR:
        return odbc_post_at(&s->h, d.state, 0, (SQLLEN)s->row_pos + 1, col, "%s (column %u)", d.msg,
                            (unsigned)col);
    default:
        if (ind)
            odbc_len_store(ind, len);
        if (cr == CONV_INFO)
            return odbc_post_at(&s->h, d.state, 0, (SQLLEN)s->row_pos + 1, col, "%s (column %u)",
                                d.msg, (unsigned)col);
        return SQL_SUCCESS;
    }
}

SQLRETURN odbc_set_pos(struct odbc_stmt *s, SQLSETPOSIROW row, SQLUSMALLINT op,
                       SQLUSMALLINT lock)
{
    SQLRETURN rc = cursor_check(s);
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (op == SQL_REFRESH || op == SQL_UPDATE || op == SQL_DELETE || op == SQL_ADD)
        return odbc_post(&s->h, "HYC00", 0, "optional feature not implemented: SQLSetPos supports SQL_POSITION only");
    if (op != SQL_POSITION)
        return odbc_post(&s->h, "HY092", 0, "invalid SQLSetPos operation %u", (unsigned)op);
    if (lock != SQL_LOCK_NO_CHANGE)
        return odbc_post(&s->h, "HYC00", 0, "optional feature not implemented: row locking");
    if (!s->fetched)
        return odbc_post(&s->h, "24000", 0, "invalid cursor state: fetch a rowset first");
    if (row == 0)
        return odbc_post(&s->h, "HY109", 0, "invalid cursor position: SQL_POSITION needs a row number");
    if (row > s->rowset_rows)
        return odbc_post(&s->h, "HY107", 0, "row value out of range: the rowset has %zu rows",
                         s->rowset_rows);
    s->row_pos = row - 1;
    conv_stream_reset(&s->gd);
    s->gd_col = 0;
    return SQL_SUCCESS;
}

/* ---------------------------------------------------------- describing */

SQLRETURN odbc_num_result_cols(struct odbc_stmt *s, SQLSMALLINT *n)
{
    if (s->state == ST_NEED_DATA || s->state == ST_PUT_DATA)
        return odbc_post(&s->h, "HY010", 0, "function sequence error: data-at-execution parameters are pending");
    if (s->state == ST_ALLOC)
        return odbc_post(&s->h, "HY010", 0, "function sequence error: no statement is prepared");
    if (n)
        *n = s->ird.count;
    return SQL_SUCCESS;
}

static SQLRETURN col_check(struct odbc_stmt *s, SQLUSMALLINT col)
{
    if (s->state == ST_ALLOC)
        return odbc_post(&s->h, "HY010", 0, "function sequence error: no statement is prepared");
    if (col == 0)
        return odbc_post(&s->h, "07009", 0, "invalid descriptor index 0: bookmarks are not enabled");
    if (col > s->ird.count)
        return odbc_post(&s->h, "07009", 0, "invalid descriptor index %u: the result has %d columns",
                         (unsigned)col, (int)s->ird.count);
    return SQL_SUCCESS;
}

/* Column size and decimal digits as SQLDescribeCol reports them. */
static void col_size(const struct odbc_desc_rec *r, SQLULEN *size, SQLSMALLINT *digits)
{
    enum conv_sqlcat cat = conv_sql_category(r->concise_type);
    *size = r->length;
    *digits = 0;
    if (cat == CAT_EXACT) {
        *size = (SQLULEN)r->precision;
        *digits = r->scale;
    } else if (cat == CAT_TIME || cat == CAT_TIMESTAMP) {
        *digits = r->precision;
    }
}

SQLRETURN odbc_describe_col(struct odbc_stmt *s, SQLUSMALLINT col, void *name,
                            SQLSMALLINT buflen, SQLSMALLINT *namelen, SQLSMALLINT *type,
                            SQLULEN *size, SQLSMALLINT *digits, SQLSMALLINT *nullable, int out)
{
    SQLRETURN rc = col_check(s, col);
    struct odbc_desc_rec *r;
    SQLULEN sz;
    SQLSMALLINT dg;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (buflen < 0)
        return odbc_post(&s->h, "HY090", 0, "invalid string or buffer length");
    r = &s->ird.recs[col];
    col_size(r, &sz, &dg);
    if (type)
        *type = odbc_app_sql_type(s, r->concise_type);
    if (size)
        *size = sz;
    if (digits)
        *digits = dg;
    if (nullable)
        *nullable = r->nullable;
    return odbc_out_str16(&s->h, r->name ? r->name : "", SQL_NTS, name, buflen, namelen, out);
}

SQLRETURN odbc_col_attribute(struct odbc_stmt *s, SQLUSMALLINT col, SQLUSMALLINT field,
                             SQLPOINTER cptr, SQLSMALLINT buflen, SQLSMALLINT *outlen,
                             SQLLEN *nptr, int out)
{
    SQLRETURN rc;
    struct odbc_desc_rec *r;
    SQLLEN n = 0;
    const char *str = NULL;
    SQLULEN sz;
    SQLSMALLINT dg;
    if (field == SQL_DESC_COUNT || field == SQL_COLUMN_COUNT) {
        if (s->state == ST_ALLOC)
            return odbc_post(&s->h, "HY010", 0, "function sequence error: no statement is prepared");
        if (nptr)
            *nptr = s->ird.count;
        return SQL_SUCCESS;
    }
    if (!SQL_SUCCEEDED(rc = col_check(s, col)))
        return rc;
    r = &s->ird.recs[col];
    col_size(r, &sz, &dg);
    switch (field) {
    case SQL_DESC_AUTO_UNIQUE_VALUE: n = r->auto_unique; break;
    case SQL_DESC_BASE_COLUMN_NAME: str = r->base_column_name; break;
    case SQL_DESC_BASE_TABLE_NAME: str = r->base_table_name; break;
    case SQL_DESC_CASE_SENSITIVE: n = r->case_sensitive; break;
    case SQL_DESC_CATALOG_NAME: str = r->catalog_name; break;
    case SQL_DESC_CONCISE_TYPE: n = odbc_app_sql_type(s, r->concise_type); break;
    case SQL_DESC_DISPLAY_SIZE: n = r->display_size; break;
    case SQL_DESC_FIXED_PREC_SCALE: n = r->fixed_prec_scale; break;
    case SQL_DESC_LABEL: str = r->label ? r->label : r->name; break;
    case SQL_DESC_LENGTH: n = (SQLLEN)r->length; break;
    case SQL_DESC_LITERAL_PREFIX: str = r->literal_prefix; break;
    case SQL_DESC_LITERAL_SUFFIX: str = r->literal_suffix; break;
    case SQL_DESC_LOCAL_TYPE_NAME: str = r->local_type_name; break;
    case SQL_DESC_NAME: case SQL_COLUMN_NAME: str = r->name; break;
    case SQL_DESC_NULLABLE: case SQL_COLUMN_NULLABLE: n = r->nullable; break;
    case SQL_DESC_NUM_PREC_RADIX: n = r->num_prec_radix; break;
    case SQL_DESC_OCTET_LENGTH: n = r->octet_length; break;
    case SQL_DESC_PRECISION: n = r->precision; break;
    case SQL_DESC_SCALE: n = r->scale; break;
    case SQL_DESC_SCHEMA_NAME: str = r->schema_name; break;
    case SQL_DESC_SEARCHABLE: n = r->searchable; break;
    case SQL_DESC_TABLE_NAME: str = r->table_name; break;
    case SQL_DESC_TYPE:
        n = s->conn->env->odbc_version == SQL_OV_ODBC2 ? odbc_app_sql_type(s, r->concise_type)
                                                       : r->type;
        break;
    case SQL_DESC_TYPE_NAME: str = r->type_name; break;
    case SQL_DESC_UNNAMED: n = r->unnamed; break;
    case SQL_DESC_UNSIGNED: n = r->is_unsigned; break;
    case SQL_DESC_UPDATABLE: n = r->updatable; break;
    /* ODBC 2 identifiers the driver manager passes through. */
    case SQL_COLUMN_LENGTH: n = r->octet_length; break;
    case SQL_COLUMN_PRECISION: n = (SQLLEN)sz; break;
    case SQL_COLUMN_SCALE: n = dg; break;
    default:
        return odbc_post(&s->h, "HY091", 0, "invalid descriptor field identifier %u", (unsigned)field);
    }
    switch (field) {
    case SQL_DESC_BASE_COLUMN_NAME: case SQL_DESC_BASE_TABLE_NAME: case SQL_DESC_CATALOG_NAME:
    case SQL_DESC_LABEL: case SQL_DESC_LITERAL_PREFIX: case SQL_DESC_LITERAL_SUFFIX:
    case SQL_DESC_LOCAL_TYPE_NAME: case SQL_DESC_NAME: case SQL_COLUMN_NAME:
    case SQL_DESC_SCHEMA_NAME: case SQL_DESC_TABLE_NAME: case SQL_DESC_TYPE_NAME:
        if (buflen < 0)
            return odbc_post(&s->h, "HY090", 0, "invalid string or buffer length");
        return odbc_out_str16(&s->h, str ? str : "", SQL_NTS, cptr, buflen, outlen, out);
    default:
        break;
    }
    if (nptr)
        *nptr = n;
    return SQL_SUCCESS;
}
