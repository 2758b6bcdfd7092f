/* Descriptors of the Recall ODBC driver: the four implicit descriptors of
 * each statement (ARD, APD, IRD, IPD) and explicitly allocated application
 * descriptors; SQLSetDescField/SQLGetDescField/SQLSetDescRec/SQLGetDescRec/
 * SQLCopyDesc with the ODBC consistency checks (HY021), read-only fields
 * (HY091, HY016 for the IRD), unbinding on a change, and the element
 * addressing that row-wise and column-wise arrays with bind offsets use.
 * SQLBindCol and SQLBindParameter are descriptor writes, so they live here.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "odbc-internal.h"

void odbc_desc_init(struct odbc_desc *d, enum odbc_desc_kind kind, struct odbc_conn *c,
                    struct odbc_stmt *owner)
{
    memset(d, 0, sizeof *d);
    d->h.magic = ODBC_MAGIC_DESC;
    d->h.type = SQL_HANDLE_DESC;
    odbc_diag_init(&d->h.diag);
    d->kind = kind;
    d->conn = c;
    d->stmt = owner;
    d->array_size = 1;
    d->bind_type = SQL_BIND_BY_COLUMN;
}

static void rec_free_strings(struct odbc_desc_rec *r)
{
    free(r->name);
    free(r->label);
    free(r->base_column_name);
    free(r->base_table_name);
    free(r->table_name);
    free(r->schema_name);
    free(r->catalog_name);
    free(r->literal_prefix);
    free(r->literal_suffix);
    free(r->local_type_name);
    free(r->type_name);
}

void odbc_desc_close(struct odbc_desc *d)
{
    for (int i = 0; i < d->cap; i++)
        rec_free_strings(&d->recs[i]);
    free(d->recs);
    d->recs = NULL;
    d->cap = 0;
    d->count = 0;
    odbc_diag_free(&d->h.diag);
    d->h.magic = 0;
}

SQLRETURN odbc_desc_alloc(struct odbc_conn *c, struct odbc_desc **out)
{
    struct odbc_desc *d = malloc(sizeof *d);
    *out = NULL;
    if (!d)
        return odbc_post_oom(&c->h);
    odbc_desc_init(d, DESC_ARD, c, NULL);
    d->is_explicit = true;
    d->next = c->descs;
    c->descs = d;
    *out = d;
    return SQL_SUCCESS;
}

void odbc_desc_free_explicit(struct odbc_desc *d)
{
    struct odbc_conn *c = d->conn;
    /* Statements that used it fall back to their implicit descriptors. */
    for (struct odbc_stmt *s = c->stmts; s; s = s->next) {
        if (s->ard == d)
            s->ard = &s->ard_i;
        if (s->apd == d)
            s->apd = &s->apd_i;
    }
    for (struct odbc_desc **pp = &c->descs; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    odbc_desc_close(d);
    free(d);
}

static bool is_app(const struct odbc_desc *d)
{
    return d->kind == DESC_ARD || d->kind == DESC_APD || d->is_explicit;
}

void odbc_desc_rec_reset(struct odbc_desc *d, struct odbc_desc_rec *r)
{
    rec_free_strings(r);
    memset(r, 0, sizeof *r);
    if (is_app(d)) {
        r->type = r->concise_type = SQL_C_DEFAULT;
    } else {
        r->type = r->concise_type = SQL_UNKNOWN_TYPE;
        r->nullable = SQL_NULLABLE_UNKNOWN;
    }
    if (d->kind == DESC_IPD)
        r->parameter_type = SQL_PARAM_INPUT;
    r->unnamed = SQL_UNNAMED;
}

struct odbc_desc_rec *odbc_desc_rec(struct odbc_desc *d, int n)
{
    if (n < 0 || n > 32767)
        return NULL;
    if (n >= d->cap) {
        int ncap = d->cap ? d->cap : 8;
        while (ncap <= n)
            ncap *= 2;
        struct odbc_desc_rec *r = realloc(d->recs, (size_t)ncap * sizeof *r);
        if (!r)
            return NULL;
        memset(r + d->cap, 0, (size_t)(ncap - d->cap) * sizeof *r);
        for (int i = d->cap; i < ncap; i++)
            odbc_desc_rec_reset(d, &r[i]);
        d->recs = r;
        d->cap = ncap;
    }
    if (n > d->count)
        d->count = (SQLSMALLINT)n;
    return &d->recs[n];
}

void odbc_desc_truncate(struct odbc_desc *d, int n)
{
    for (int i = n + 1; i < d->cap; i++)
        odbc_desc_rec_reset(d, &d->recs[i]);
    if (d->count > n)
        d->count = (SQLSMALLINT)n;
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? strdup(s) : NULL;
}

void odbc_desc_set_type(struct odbc_desc *d, struct odbc_desc_rec *r, SQLSMALLINT concise)
{
    bool app = is_app(d);
    r->concise_type = concise;
    r->type = conv_verbose_type(concise);
    r->datetime_interval_code = conv_interval_code(concise);
    r->datetime_interval_precision = 0;
    r->precision = 0;
    r->scale = 0;
    r->scale_set = false;
    if (app)
        concise = conv_c_type_v3(concise);
    switch (concise) {
    case SQL_CHAR: case SQL_VARCHAR: case SQL_WCHAR: case SQL_WVARCHAR:
        /* SQL_C_CHAR == SQL_CHAR, SQL_C_WCHAR == SQL_WCHAR */
        r->length = 1;
        break;
    case SQL_DECIMAL: case SQL_NUMERIC:
        r->precision = app ? 38 : 10;
        break;
    case SQL_FLOAT: case SQL_DOUBLE:
        r->precision = 53;
        break;
    case SQL_REAL:
        r->precision = 24;
        break;
    default:
        if (r->type == SQL_INTERVAL) {
            r->datetime_interval_precision = 2;
            r->precision = 6;
        }
        break;
    }
}

bool odbc_desc_consistent(const struct odbc_desc *d, const struct odbc_desc_rec *r)
{
    if (is_app(d)) {
        SQLSMALLINT c = r->concise_type;
        if (c != SQL_C_DEFAULT && c != SQL_ARD_TYPE && !conv_c_type_valid(c))
            return false;
        if (conv_c_type_v3(c) == SQL_C_NUMERIC &&
            (r->precision < 1 || r->precision > 38 || r->scale > r->precision))
            return false;
    } else if (d->kind == DESC_IPD) {
        SQLSMALLINT t = r->concise_type;
        if (!conv_sql_type_valid(t))
            return false;
        if ((t == SQL_DECIMAL || t == SQL_NUMERIC) &&
            (r->precision < 1 || r->precision > 65 || r->scale < 0 || r->scale > r->precision))
            return false;
    }
    if (r->type == SQL_INTERVAL &&
        (r->datetime_interval_precision < 1 || r->datetime_interval_precision > 18 ||
         r->precision < 0 || r->precision > 9))
        return false;
    if (r->type == SQL_DATETIME && (r->precision < 0 || r->precision > 9))
        return false;
    return true;
}

static bool type_valid_for(const struct odbc_desc *d, SQLSMALLINT t)
{
    if (is_app(d))
        return t == SQL_C_DEFAULT || t == SQL_DATETIME || t == SQL_INTERVAL || conv_c_type_valid(t);
    return t == SQL_DATETIME || t == SQL_INTERVAL || conv_sql_type_valid(t);
}

SQLRETURN odbc_desc_set_field(struct odbc_desc *d, SQLSMALLINT recno, SQLSMALLINT field,
                              SQLPOINTER value, SQLINTEGER len)
{
    struct odbc_desc_rec *r;
    SQLLEN iv = (SQLLEN)(intptr_t)value;
    bool app = is_app(d);

    /* Header fields. */
    switch (field) {
    case SQL_DESC_ALLOC_TYPE:
        return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier: SQL_DESC_ALLOC_TYPE is read-only");
    case SQL_DESC_ARRAY_SIZE:
        if (!app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an implementation descriptor");
        if (iv <= 0)
            return odbc_post(&d->h, "HY024", 0, "invalid attribute value: array size must be at least 1");
        d->array_size = (SQLULEN)iv;
        return SQL_SUCCESS;
    case SQL_DESC_ARRAY_STATUS_PTR:
        d->array_status_ptr = value;
        return SQL_SUCCESS;
    case SQL_DESC_BIND_OFFSET_PTR:
        if (!app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an implementation descriptor");
        d->bind_offset_ptr = value;
        return SQL_SUCCESS;
    case SQL_DESC_BIND_TYPE:
        if (!app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an implementation descriptor");
        d->bind_type = (SQLULEN)iv;
        return SQL_SUCCESS;
    case SQL_DESC_ROWS_PROCESSED_PTR:
        if (app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an application descriptor");
        d->rows_processed_ptr = value;
        return SQL_SUCCESS;
    case SQL_DESC_COUNT:
        if (d->kind == DESC_IRD)
            return odbc_post(&d->h, "HY016", 0, "cannot modify an implementation row descriptor");
        if (iv < 0 || iv > 32767)
            return odbc_post(&d->h, "07009", 0, "invalid descriptor index");
        if (iv > d->count) {
            if (!odbc_desc_rec(d, (int)iv))
                return odbc_post_oom(&d->h);
        } else {
            odbc_desc_truncate(d, (int)iv);
        }
        return SQL_SUCCESS;
    default:
        break;
    }
    if (d->kind == DESC_IRD)
        return odbc_post(&d->h, "HY016", 0, "cannot modify an implementation row descriptor");
    if (recno < 0 || (recno == 0 && d->kind == DESC_IPD))
        return odbc_post(&d->h, "07009", 0, "invalid descriptor index %d", (int)recno);
    if (recno == 0)
        return odbc_post(&d->h, "07009", 0, "invalid descriptor index 0: bookmarks are not supported");
    if (!(r = odbc_desc_rec(d, recno)))
        return odbc_post_oom(&d->h);

    switch (field) {
    case SQL_DESC_DATA_PTR:
        if (d->kind == DESC_IPD) {
            /* Only forces the consistency check. */
            if (!odbc_desc_consistent(d, r))
                return odbc_post(&d->h, "HY021", 0, "inconsistent descriptor information");
            return SQL_SUCCESS;
        }
        r->data_ptr = value;
        if (value && !odbc_desc_consistent(d, r)) {
            r->data_ptr = NULL;
            return odbc_post(&d->h, "HY021", 0, "inconsistent descriptor information for record %d",
                             (int)recno);
        }
        return SQL_SUCCESS;
    case SQL_DESC_INDICATOR_PTR:
        if (!app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an implementation descriptor");
        r->indicator_ptr = value;
        return SQL_SUCCESS;
    case SQL_DESC_OCTET_LENGTH_PTR:
        if (!app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an implementation descriptor");
        r->octet_length_ptr = value;
        return SQL_SUCCESS;
    default:
        break;
    }

    /* Any other record field unbinds an application record. */
    if (app)
        r->data_ptr = NULL;
    switch (field) {
    case SQL_DESC_TYPE:
        if (!type_valid_for(d, (SQLSMALLINT)iv))
            return odbc_post(&d->h, "HY021", 0, "inconsistent descriptor information: invalid type %d", (int)iv);
        if (iv == SQL_DATETIME || iv == SQL_INTERVAL) {
            r->type = (SQLSMALLINT)iv;
            r->concise_type = conv_concise_type(r->type, r->datetime_interval_code, app);
            if (!r->concise_type)
                r->concise_type = r->type; /* completed by SQL_DESC_DATETIME_INTERVAL_CODE */
        } else {
            odbc_desc_set_type(d, r, (SQLSMALLINT)iv);
        }
        return SQL_SUCCESS;
    case SQL_DESC_CONCISE_TYPE:
        if (iv == SQL_DATETIME || iv == SQL_INTERVAL || !type_valid_for(d, (SQLSMALLINT)iv))
            return odbc_post(&d->h, "HY021", 0, "inconsistent descriptor information: invalid concise type %d",
                             (int)iv);
        odbc_desc_set_type(d, r, (SQLSMALLINT)iv);
        return SQL_SUCCESS;
    case SQL_DESC_DATETIME_INTERVAL_CODE: {
        if (r->type != SQL_DATETIME && r->type != SQL_INTERVAL)
            return odbc_post(&d->h, "HY021", 0, "inconsistent descriptor information: SQL_DESC_TYPE is not SQL_DATETIME or SQL_INTERVAL");
        SQLSMALLINT concise = conv_concise_type(r->type, (SQLSMALLINT)iv, app);
        if (!concise)
            return odbc_post(&d->h, "HY021", 0, "inconsistent descriptor information: invalid interval code %d",
                             (int)iv);
        odbc_desc_set_type(d, r, concise);
        return SQL_SUCCESS;
    }
    case SQL_DESC_DATETIME_INTERVAL_PRECISION:
        r->datetime_interval_precision = (SQLINTEGER)iv;
        return SQL_SUCCESS;
    case SQL_DESC_LENGTH:
        r->length = (SQLULEN)iv;
        return SQL_SUCCESS;
    case SQL_DESC_OCTET_LENGTH:
        r->octet_length = iv;
        return SQL_SUCCESS;
    case SQL_DESC_PRECISION:
        r->precision = (SQLSMALLINT)iv;
        return SQL_SUCCESS;
    case SQL_DESC_SCALE:
        r->scale = (SQLSMALLINT)iv;
        r->scale_set = true;
        return SQL_SUCCESS;
    case SQL_DESC_NUM_PREC_RADIX:
        r->num_prec_radix = (SQLINTEGER)iv;
        return SQL_SUCCESS;
    case SQL_DESC_NAME:
        if (d->kind != DESC_IPD)
            return odbc_post(&d->h, "HY091", 0, "SQL_DESC_NAME can only be set in an IPD");
        free(r->name);
        if (odbc_strarg(value, len, &r->name) == -1)
            return odbc_post(&d->h, "HY090", 0, "invalid string or buffer length");
        if (value && !r->name)
            return odbc_post_oom(&d->h);
        r->unnamed = r->name && *r->name ? SQL_NAMED : SQL_UNNAMED;
        return SQL_SUCCESS;
    case SQL_DESC_UNNAMED:
        if (d->kind != DESC_IPD || iv != SQL_UNNAMED)
            return odbc_post(&d->h, "HY091", 0, "SQL_DESC_UNNAMED can only be set to SQL_UNNAMED in an IPD");
        set_str(&r->name, NULL);
        r->unnamed = SQL_UNNAMED;
        return SQL_SUCCESS;
    case SQL_DESC_PARAMETER_TYPE:
        if (d->kind != DESC_IPD)
            return odbc_post(&d->h, "HY091", 0, "SQL_DESC_PARAMETER_TYPE can only be set in an IPD");
        if (iv != SQL_PARAM_INPUT)
            return odbc_post(&d->h, "HYC00", 0, "optional feature not implemented: only input parameters");
        r->parameter_type = (SQLSMALLINT)iv;
        return SQL_SUCCESS;
    case SQL_DESC_UNSIGNED:
    case SQL_DESC_AUTO_UNIQUE_VALUE: case SQL_DESC_BASE_COLUMN_NAME: case SQL_DESC_BASE_TABLE_NAME:
    case SQL_DESC_CASE_SENSITIVE: case SQL_DESC_CATALOG_NAME: case SQL_DESC_DISPLAY_SIZE:
    case SQL_DESC_FIXED_PREC_SCALE: case SQL_DESC_LABEL: case SQL_DESC_LITERAL_PREFIX:
    case SQL_DESC_LITERAL_SUFFIX: case SQL_DESC_LOCAL_TYPE_NAME: case SQL_DESC_NULLABLE:
    case SQL_DESC_ROWVER: case SQL_DESC_SCHEMA_NAME: case SQL_DESC_SEARCHABLE:
    case SQL_DESC_TABLE_NAME: case SQL_DESC_TYPE_NAME: case SQL_DESC_UPDATABLE:
        return odbc_post(&d->h, "HY091", 0, "descriptor field %d is read-only", (int)field);
    default:
        return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier %d", (int)field);
    }
}

static SQLRETURN put_int(SQLPOINTER value, SQLINTEGER *outlen, SQLLEN v, int size)
{
    if (value) {
        switch (size) {
        case 2: *(SQLSMALLINT *)value = (SQLSMALLINT)v; break;
        case 4: *(SQLINTEGER *)value = (SQLINTEGER)v; break;
        default: *(SQLLEN *)value = v; break;
        }
    }
    if (outlen)
        *outlen = size;
    return SQL_SUCCESS;
}

static SQLRETURN put_ptr(SQLPOINTER value, SQLINTEGER *outlen, void *p)
{
    if (value)
        *(SQLPOINTER *)value = p;
    if (outlen)
        *outlen = sizeof(SQLPOINTER);
    return SQL_SUCCESS;
}

SQLRETURN odbc_desc_get_field(struct odbc_desc *d, SQLSMALLINT recno, SQLSMALLINT field,
                              SQLPOINTER value, SQLINTEGER buflen, SQLINTEGER *outlen, int out)
{
    struct odbc_desc_rec *r;
    bool app = is_app(d);
    if (d->kind == DESC_IRD && d->stmt && d->stmt->state == ST_ALLOC)
        return odbc_post(&d->h, "HY007", 0, "associated statement is not prepared");
    switch (field) {
    case SQL_DESC_ALLOC_TYPE:
        return put_int(value, outlen, d->is_explicit ? SQL_DESC_ALLOC_USER : SQL_DESC_ALLOC_AUTO, 2);
    case SQL_DESC_ARRAY_SIZE:
        if (!app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an implementation descriptor");
        return put_int(value, outlen, (SQLLEN)d->array_size, 8);
    case SQL_DESC_ARRAY_STATUS_PTR:
        return put_ptr(value, outlen, d->array_status_ptr);
    case SQL_DESC_BIND_OFFSET_PTR:
        if (!app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an implementation descriptor");
        return put_ptr(value, outlen, d->bind_offset_ptr);
    case SQL_DESC_BIND_TYPE:
        if (!app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an implementation descriptor");
        return put_int(value, outlen, (SQLLEN)d->bind_type, 4);
    case SQL_DESC_COUNT:
        return put_int(value, outlen, d->count, 2);
    case SQL_DESC_ROWS_PROCESSED_PTR:
        if (app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an application descriptor");
        return put_ptr(value, outlen, d->rows_processed_ptr);
    default:
        break;
    }
    if (recno < 0 || (recno == 0 && d->kind == DESC_IPD))
        return odbc_post(&d->h, "07009", 0, "invalid descriptor index %d", (int)recno);
    if (recno == 0)
        return odbc_post(&d->h, "07009", 0, "invalid descriptor index 0: bookmarks are not supported");
    if (recno > d->count)
        return SQL_NO_DATA;
    r = &d->recs[recno];
#define STR(x) odbc_out_str32(&d->h, (x) ? (x) : "", SQL_NTS, value, buflen, outlen, out)
    switch (field) {
    case SQL_DESC_AUTO_UNIQUE_VALUE: return put_int(value, outlen, r->auto_unique, 4);
    case SQL_DESC_BASE_COLUMN_NAME: return STR(r->base_column_name);
    case SQL_DESC_BASE_TABLE_NAME: return STR(r->base_table_name);
    case SQL_DESC_CASE_SENSITIVE: return put_int(value, outlen, r->case_sensitive, 4);
    case SQL_DESC_CATALOG_NAME: return STR(r->catalog_name);
    case SQL_DESC_CONCISE_TYPE: return put_int(value, outlen, r->concise_type, 2);
    case SQL_DESC_DATA_PTR:
        if (!app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an implementation descriptor");
        return put_ptr(value, outlen, r->data_ptr);
    case SQL_DESC_DATETIME_INTERVAL_CODE: return put_int(value, outlen, r->datetime_interval_code, 2);
    case SQL_DESC_DATETIME_INTERVAL_PRECISION:
        return put_int(value, outlen, r->datetime_interval_precision, 4);
    case SQL_DESC_DISPLAY_SIZE: return put_int(value, outlen, r->display_size, 8);
    case SQL_DESC_FIXED_PREC_SCALE: return put_int(value, outlen, r->fixed_prec_scale, 2);
    case SQL_DESC_INDICATOR_PTR:
        if (!app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an implementation descriptor");
        return put_ptr(value, outlen, r->indicator_ptr);
    case SQL_DESC_LABEL: return STR(r->label ? r->label : r->name);
    case SQL_DESC_LENGTH: return put_int(value, outlen, (SQLLEN)r->length, 8);
    case SQL_DESC_LITERAL_PREFIX: return STR(r->literal_prefix);
    case SQL_DESC_LITERAL_SUFFIX: return STR(r->literal_suffix);
    case SQL_DESC_LOCAL_TYPE_NAME: return STR(r->local_type_name);
    case SQL_DESC_NAME: return STR(r->name);
    case SQL_DESC_NULLABLE: return put_int(value, outlen, r->nullable, 2);
    case SQL_DESC_NUM_PREC_RADIX: return put_int(value, outlen, r->num_prec_radix, 4);
    case SQL_DESC_OCTET_LENGTH: return put_int(value, outlen, r->octet_length, 8);
    case SQL_DESC_OCTET_LENGTH_PTR:
        if (!app)
            return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier for an implementation descriptor");
        return put_ptr(value, outlen, r->octet_length_ptr);
    case SQL_DESC_PARAMETER_TYPE: return put_int(value, outlen, r->parameter_type, 2);
    case SQL_DESC_PRECISION: return put_int(value, outlen, r->precision, 2);
    case SQL_DESC_ROWVER: return put_int(value, outlen, r->rowver, 2);
    case SQL_DESC_SCALE: return put_int(value, outlen, r->scale, 2);
    case SQL_DESC_SCHEMA_NAME: return STR(r->schema_name);
    case SQL_DESC_SEARCHABLE: return put_int(value, outlen, r->searchable, 2);
    case SQL_DESC_TABLE_NAME: return STR(r->table_name);
    case SQL_DESC_TYPE: return put_int(value, outlen, r->type, 2);
    case SQL_DESC_TYPE_NAME: return STR(r->type_name);
    case SQL_DESC_UNNAMED: return put_int(value, outlen, r->unnamed, 2);
    case SQL_DESC_UNSIGNED: return put_int(value, outlen, r->is_unsigned, 2);
    case SQL_DESC_UPDATABLE: return put_int(value, outlen, r->updatable, 2);
    default:
        return odbc_post(&d->h, "HY091", 0, "invalid descriptor field identifier %d", (int)field);
    }
#undef STR
}

SQLRETURN odbc_desc_get_rec(struct odbc_desc *d, SQLSMALLINT recno, void *name,
                            SQLSMALLINT buflen, SQLSMALLINT *namelen, SQLSMALLINT *type,
                            SQLSMALLINT *subtype, SQLLEN *length, SQLSMALLINT *precision,
                            SQLSMALLINT *scale, SQLSMALLINT *nullable, int out)
{
    struct odbc_desc_rec *r;
    if (d->kind == DESC_IRD && d->stmt && d->stmt->state == ST_ALLOC)
        return odbc_post(&d->h, "HY007", 0, "associated statement is not prepared");
    if (recno < 0 || (recno == 0 && d->kind == DESC_IPD))
        return odbc_post(&d->h, "07009", 0, "invalid descriptor index %d", (int)recno);
    if (recno == 0)
        return odbc_post(&d->h, "07009", 0, "invalid descriptor index 0: bookmarks are not supported");
    if (recno > d->count)
        return SQL_NO_DATA;
    r = &d->recs[recno];
    if (type)
        *type = r->type;
    if (subtype)
        *subtype = r->datetime_interval_code;
    if (length)
        *length = r->octet_length;
    if (precision)
        *precision = r->precision;
    if (scale)
        *scale = r->scale;
    if (nullable)
        *nullable = r->nullable;
    return odbc_out_str16(&d->h, r->name ? r->name : "", SQL_NTS, name, buflen, namelen, out);
}

SQLRETURN odbc_desc_set_rec(struct odbc_desc *d, SQLSMALLINT recno, SQLSMALLINT type,
                            SQLSMALLINT subtype, SQLLEN length, SQLSMALLINT precision,
                            SQLSMALLINT scale, SQLPOINTER data, SQLLEN *octet_length_ptr,
                            SQLLEN *indicator_ptr)
{
    struct odbc_desc_rec *r, saved;
    bool app = is_app(d);
    if (d->kind == DESC_IRD)
        return odbc_post(&d->h, "HY016", 0, "cannot modify an implementation row descriptor");
    if (recno <= 0)
        return odbc_post(&d->h, "07009", 0, "invalid descriptor index %d", (int)recno);
    if (!type_valid_for(d, type))
        return odbc_post(&d->h, "HY021", 0, "inconsistent descriptor information: invalid type %d", (int)type);
    if (!(r = odbc_desc_rec(d, recno)))
        return odbc_post_oom(&d->h);
    saved = *r;
    if (type == SQL_DATETIME || type == SQL_INTERVAL) {
        SQLSMALLINT concise = conv_concise_type(type, subtype, app);
        if (!concise)
            return odbc_post(&d->h, "HY021", 0, "inconsistent descriptor information: invalid subtype %d",
                             (int)subtype);
        odbc_desc_set_type(d, r, concise);
    } else {
        odbc_desc_set_type(d, r, type);
    }
    r->octet_length = length;
    r->length = (SQLULEN)length;
    r->precision = precision;
    r->scale = scale;
    r->scale_set = true;
    if (app) {
        r->data_ptr = data;
        r->octet_length_ptr = octet_length_ptr;
        r->indicator_ptr = indicator_ptr;
    }
    if (!odbc_desc_consistent(d, r)) {
        /* Restore the type fields; the strings were never touched. */
        *r = saved;
        return odbc_post(&d->h, "HY021", 0, "inconsistent descriptor information for record %d", (int)recno);
    }
    return SQL_SUCCESS;
}

static int copy_rec(struct odbc_desc_rec *dst, const struct odbc_desc_rec *src)
{
    *dst = *src;
    dst->name = odbc_strdup(src->name);
    dst->label = odbc_strdup(src->label);
    dst->base_column_name = odbc_strdup(src->base_column_name);
    dst->base_table_name = odbc_strdup(src->base_table_name);
    dst->table_name = odbc_strdup(src->table_name);
    dst->schema_name = odbc_strdup(src->schema_name);
    dst->catalog_name = odbc_strdup(src->catalog_name);
    dst->literal_prefix = odbc_strdup(src->literal_prefix);
    dst->literal_suffix = odbc_strdup(src->literal_suffix);
    dst->local_type_name = odbc_strdup(src->local_type_name);
    dst->type_name = odbc_strdup(src->type_name);
#define CHECK(f) (src->f && !dst->f)
    if (CHECK(name) || CHECK(label) || CHECK(base_column_name) || CHECK(base_table_name) ||
        CHECK(table_name) || CHECK(schema_name) || CHECK(catalog_name) || CHECK(literal_prefix) ||
        CHECK(literal_suffix) || CHECK(local_type_name) || CHECK(type_name))
        return -1;
#undef CHECK
    return 0;
}

SQLRETURN odbc_desc_copy(struct odbc_desc *src, struct odbc_desc *dst)
{
    if (dst->kind == DESC_IRD)
        return odbc_post(&dst->h, "HY016", 0, "cannot modify an implementation row descriptor");
    if (src->kind == DESC_IRD && src->stmt && src->stmt->state == ST_ALLOC)
        return odbc_post(&dst->h, "HY007", 0, "associated statement is not prepared");
    if (src == dst)
        return SQL_SUCCESS;
    odbc_desc_truncate(dst, 0);
    if (src->count > 0 && !odbc_desc_rec(dst, src->count))
        return odbc_post_oom(&dst->h);
    for (int i = 1; i <= src->count; i++) {
        struct odbc_desc_rec *r = &dst->recs[i];
        odbc_desc_rec_reset(dst, r);
        if (copy_rec(r, &src->recs[i]) < 0) {
            odbc_desc_truncate(dst, 0);
            return odbc_post_oom(&dst->h);
        }
    }
    dst->count = src->count;
    dst->array_size = src->array_size;
    dst->array_status_ptr = src->array_status_ptr;
    dst->bind_offset_ptr = src->bind_offset_ptr;
    dst->bind_type = src->bind_type;
    dst->rows_processed_ptr = src->rows_processed_ptr;
    return SQL_SUCCESS;
}

void *odbc_desc_elem(const struct odbc_desc *d, void *base, SQLULEN row, SQLLEN elem)
{
    SQLLEN off;
    if (!base)
        return NULL;
    off = d->bind_offset_ptr ? *d->bind_offset_ptr : 0;
    if (d->bind_type != SQL_BIND_BY_COLUMN)
        return (char *)base + off + (SQLLEN)row * (SQLLEN)d->bind_type;
    return (char *)base + off + (SQLLEN)row * elem;
}

SQLLEN *odbc_desc_len_elem(const struct odbc_desc *d, SQLLEN *base, SQLULEN row)
{
    return odbc_desc_elem(d, base, row, sizeof(SQLLEN));
}

SQLRETURN odbc_bind_col(struct odbc_stmt *s, SQLUSMALLINT col, SQLSMALLINT c_type,
                        SQLPOINTER ptr, SQLLEN buflen, SQLLEN *ind)
{
    struct odbc_desc *d = s->ard;
    struct odbc_desc_rec *r;
    if (col == 0)
        return odbc_post(&s->h, "07009", 0, "invalid descriptor index 0: bookmarks are not enabled");
    if (s->state == ST_CURSOR && col > s->ird.count)
        return odbc_post(&s->h, "07009", 0, "invalid descriptor index %u: the result has %d columns",
                         (unsigned)col, (int)s->ird.count);
    if (c_type != SQL_C_DEFAULT && c_type != SQL_ARD_TYPE && !conv_c_type_valid(c_type))
        return odbc_post(&s->h, "HY003", 0, "invalid application buffer type %d", (int)c_type);
    if (buflen < 0)
        return odbc_post(&s->h, "HY090", 0, "invalid string or buffer length");
    if (!ptr && !ind) {
        /* Unbind; trailing unbound records drop off the count. */
        if (col <= d->count) {
            r = &d->recs[col];
            r->data_ptr = NULL;
            r->indicator_ptr = r->octet_length_ptr = NULL;
            while (d->count > 0 && !d->recs[d->count].data_ptr && !d->recs[d->count].indicator_ptr &&
                   !d->recs[d->count].octet_length_ptr)
                odbc_desc_truncate(d, d->count - 1);
        }
        return SQL_SUCCESS;
    }
    if (!(r = odbc_desc_rec(d, col)))
        return odbc_post_oom(&s->h);
    odbc_desc_set_type(d, r, c_type);
    r->octet_length = buflen;
    r->length = (SQLULEN)buflen;
    r->data_ptr = ptr;
    r->indicator_ptr = ind;
    r->octet_length_ptr = ind;
    return SQL_SUCCESS;
}

SQLRETURN odbc_bind_param(struct odbc_stmt *s, SQLUSMALLINT n, SQLSMALLINT io,
                          SQLSMALLINT c_type, SQLSMALLINT sql_type, SQLULEN size,
                          SQLSMALLINT digits, SQLPOINTER ptr, SQLLEN buflen, SQLLEN *ind)
{
    struct odbc_desc_rec *a, *ip;
    if (n == 0)
        return odbc_post(&s->h, "07009", 0, "invalid descriptor index 0");
    if (io != SQL_PARAM_INPUT && io != SQL_PARAM_OUTPUT && io != SQL_PARAM_INPUT_OUTPUT)
        return odbc_post(&s->h, "HY105", 0, "invalid parameter type %d", (int)io);
    if (io != SQL_PARAM_INPUT)
        return odbc_post(&s->h, "HYC00", 0, "optional feature not implemented: only input parameters");
    if (c_type != SQL_C_DEFAULT && !conv_c_type_valid(c_type))
        return odbc_post(&s->h, "HY003", 0, "invalid application buffer type %d", (int)c_type);
    if (!conv_sql_type_valid(sql_type))
        return odbc_post(&s->h, "HY004", 0, "invalid SQL data type %d", (int)sql_type);
    if (buflen < 0)
        return odbc_post(&s->h, "HY090", 0, "invalid string or buffer length");
    if (c_type == SQL_C_DEFAULT)
        c_type = conv_default_c_type(sql_type, false);
    if (!(a = odbc_desc_rec(s->apd, n)) || !(ip = odbc_desc_rec(&s->ipd, n)))
        return odbc_post_oom(&s->h);
    odbc_desc_set_type(s->apd, a, c_type);
    a->octet_length = buflen;
    a->data_ptr = ptr;
    a->indicator_ptr = ind;
    a->octet_length_ptr = ind;
    odbc_desc_set_type(&s->ipd, ip, conv_sql_type_v3(sql_type));
    ip->parameter_type = io;
    ip->length = size;
    ip->scale = digits;
    if (sql_type == SQL_DECIMAL || sql_type == SQL_NUMERIC)
        ip->precision = (SQLSMALLINT)(size > 32767 ? 32767 : size);
    else if (conv_sql_category(sql_type) == CAT_TIMESTAMP || conv_sql_category(sql_type) == CAT_TIME)
        ip->precision = digits;
    else if (conv_sql_category(sql_type) == CAT_INTERVAL_DT ||
             conv_sql_category(sql_type) == CAT_INTERVAL_YM)
        ip->precision = digits;
    return SQL_SUCCESS;
}

SQLSMALLINT odbc_app_sql_type(struct odbc_stmt *s, SQLSMALLINT t)
{
    return s->conn->env->odbc_version == SQL_OV_ODBC2 ? conv_sql_type_v2(t) : t;
}

static const char *type_word(SQLSMALLINT t)
{
    switch (t) {
    case SQL_CHAR: return "CHAR";
    case SQL_VARCHAR: return "VARCHAR";
    case SQL_LONGVARCHAR: return "TEXT";
    case SQL_WCHAR: return "CHAR";
    case SQL_WVARCHAR: return "VARCHAR";
    case SQL_WLONGVARCHAR: return "TEXT";
    case SQL_DECIMAL: return "DECIMAL";
    case SQL_NUMERIC: return "NUMERIC";
    case SQL_TINYINT: return "TINYINT";
    case SQL_SMALLINT: return "SMALLINT";
    case SQL_INTEGER: return "INTEGER";
    case SQL_BIGINT: return "BIGINT";
    case SQL_REAL: return "FLOAT";
    case SQL_FLOAT: case SQL_DOUBLE: return "DOUBLE";
    case SQL_BIT: return "BIT";
    case SQL_BINARY: return "BINARY";
    case SQL_VARBINARY: return "VARBINARY";
    case SQL_LONGVARBINARY: return "BLOB";
    case SQL_TYPE_DATE: return "DATE";
    case SQL_TYPE_TIME: return "TIME";
    case SQL_TYPE_TIMESTAMP: return "DATETIME";
    default: return "VARCHAR";
    }
}

SQLRETURN odbc_ird_set(struct odbc_stmt *s, int n, const char *name, SQLSMALLINT sql_type,
                       SQLULEN size, SQLSMALLINT decimals, SQLSMALLINT nullable,
                       bool is_unsigned)
{
    struct odbc_desc_rec *r = odbc_desc_rec(&s->ird, n);
    if (!r)
        return odbc_post_oom(&s->h);
    odbc_desc_rec_reset(&s->ird, r);
    odbc_desc_set_type(&s->ird, r, sql_type);
    r->name = strdup(name ? name : "");
    r->label = strdup(name ? name : "");
    r->base_column_name = strdup(name ? name : "");
    r->type_name = strdup(type_word(sql_type));
    r->local_type_name = strdup("");
    if (!r->name || !r->label || !r->base_column_name || !r->type_name || !r->local_type_name)
        return odbc_post_oom(&s->h);
    r->unnamed = name && *name ? SQL_NAMED : SQL_UNNAMED;
    r->nullable = nullable;
    r->is_unsigned = is_unsigned ? SQL_TRUE : SQL_FALSE;
    r->updatable = SQL_ATTR_READWRITE_UNKNOWN;
    r->searchable = SQL_PRED_SEARCHABLE;
    r->case_sensitive = SQL_FALSE;
    r->length = size;
    r->scale = decimals;
    r->num_prec_radix = 0;
    switch (conv_sql_category(sql_type)) {
    case CAT_CHAR:
        /* UTF-8: up to four bytes a character */
        r->octet_length = size > 0x1fffffff ? 0x7fffffff : (SQLLEN)size * 4;
        r->display_size = (SQLLEN)size;
        r->literal_prefix = strdup("'");
        r->literal_suffix = strdup("'");
        r->case_sensitive = SQL_TRUE;
        if (sql_type == SQL_LONGVARCHAR || sql_type == SQL_WLONGVARCHAR)
            r->searchable = SQL_PRED_CHAR;
        break;
    case CAT_BINARY:
        r->octet_length = (SQLLEN)size;
        r->display_size = (SQLLEN)(size > 0x3fffffff ? 0x7fffffff : size * 2);
        r->literal_prefix = strdup("0x");
        r->case_sensitive = SQL_TRUE;
        if (sql_type == SQL_LONGVARBINARY)
            r->searchable = SQL_PRED_CHAR;
        break;
    case CAT_EXACT:
        r->num_prec_radix = 10;
        r->precision = (SQLSMALLINT)size;
        if (sql_type == SQL_DECIMAL || sql_type == SQL_NUMERIC) {
            r->display_size = (SQLLEN)size + 2;
            r->octet_length = (SQLLEN)size + 2;
        } else {
            r->display_size = (SQLLEN)size + (is_unsigned ? 0 : 1);
            r->octet_length = conv_c_size(conv_default_c_type(sql_type, is_unsigned));
            r->fixed_prec_scale = SQL_FALSE;
        }
        break;
    case CAT_APPROX:
        r->num_prec_radix = 2;
        r->precision = sql_type == SQL_REAL ? 24 : 53;
        r->length = sql_type == SQL_REAL ? 7 : 15;
        r->display_size = sql_type == SQL_REAL ? 14 : 24;
        r->octet_length = sql_type == SQL_REAL ? 4 : 8;
        break;
    case CAT_BIT:
        r->display_size = 1;
        r->octet_length = 1;
        r->length = 1;
        break;
    case CAT_DATE:
        r->display_size = 10;
        r->length = 10;
        r->octet_length = sizeof(SQL_DATE_STRUCT);
        r->literal_prefix = strdup("'");
        r->literal_suffix = strdup("'");
        break;
    case CAT_TIME:
    case CAT_TIMESTAMP: {
        SQLULEN base = conv_sql_category(sql_type) == CAT_TIME ? 8 : 19;
        r->precision = decimals;
        r->length = base + (decimals > 0 ? 1 + (SQLULEN)decimals : 0);
        r->display_size = (SQLLEN)r->length;
        r->octet_length = conv_sql_category(sql_type) == CAT_TIME ? sizeof(SQL_TIME_STRUCT)
                                                                  : sizeof(SQL_TIMESTAMP_STRUCT);
        r->literal_prefix = strdup("'");
        r->literal_suffix = strdup("'");
        break;
    }
    default:
        r->display_size = (SQLLEN)size;
        r->octet_length = (SQLLEN)size;
        break;
    }
    if (!r->literal_prefix)
        r->literal_prefix = strdup("");
    if (!r->literal_suffix)
        r->literal_suffix = strdup("");
    if (!r->literal_prefix || !r->literal_suffix)
        return odbc_post_oom(&s->h);
    return SQL_SUCCESS;
}

/* ---------------------------------------------------------- entry points */

SQLRETURN SQL_API SQLSetDescField(SQLHDESC hdesc, SQLSMALLINT recno, SQLSMALLINT field,
                                  SQLPOINTER value, SQLINTEGER len)
{
    struct odbc_desc *d = odbc_desc_cast(hdesc);
    if (!d)
        return SQL_INVALID_HANDLE;
    odbc_enter(&d->h, false);
    return odbc_leave(&d->h, odbc_desc_set_field(d, recno, field, value, len));
}

SQLRETURN SQL_API SQLGetDescField(SQLHDESC hdesc, SQLSMALLINT recno, SQLSMALLINT field,
                                  SQLPOINTER value, SQLINTEGER buflen, SQLINTEGER *outlen)
{
    struct odbc_desc *d = odbc_desc_cast(hdesc);
    if (!d)
        return SQL_INVALID_HANDLE;
    odbc_enter(&d->h, false);
    return odbc_leave(&d->h, odbc_desc_get_field(d, recno, field, value, buflen, outlen,
                                                 ODBC_OUT_ANSI));
}

SQLRETURN SQL_API SQLGetDescRec(SQLHDESC hdesc, SQLSMALLINT recno, SQLCHAR *name,
                                SQLSMALLINT buflen, SQLSMALLINT *namelen, SQLSMALLINT *type,
                                SQLSMALLINT *subtype, SQLLEN *length, SQLSMALLINT *precision,
                                SQLSMALLINT *scale, SQLSMALLINT *nullable)
{
    struct odbc_desc *d = odbc_desc_cast(hdesc);
    if (!d)
        return SQL_INVALID_HANDLE;
    odbc_enter(&d->h, false);
    return odbc_leave(&d->h, odbc_desc_get_rec(d, recno, name, buflen, namelen, type, subtype,
                                               length, precision, scale, nullable, ODBC_OUT_ANSI));
}

SQLRETURN SQL_API SQLSetDescRec(SQLHDESC hdesc, SQLSMALLINT recno, SQLSMALLINT type,
                                SQLSMALLINT subtype, SQLLEN length, SQLSMALLINT precision,
                                SQLSMALLINT scale, SQLPOINTER data, SQLLEN *octet_length_ptr,
                                SQLLEN *indicator_ptr)
{
    struct odbc_desc *d = odbc_desc_cast(hdesc);
    if (!d)
        return SQL_INVALID_HANDLE;
    odbc_enter(&d->h, false);
    return odbc_leave(&d->h, odbc_desc_set_rec(d, recno, type, subtype, length, precision, scale,
                                               data, octet_length_ptr, indicator_ptr));
}

SQLRETURN SQL_API SQLCopyDesc(SQLHDESC hsrc, SQLHDESC hdst)
{
    struct odbc_desc *src = odbc_desc_cast(hsrc), *dst = odbc_desc_cast(hdst);
    if (!src || !dst)
        return SQL_INVALID_HANDLE;
    /* Both belong to connections of this driver; lock the target's (and
     * the source's when it differs, in address order). */
    struct odbc_conn *a = src->conn, *b = dst->conn;
    if (a != b && (uintptr_t)a < (uintptr_t)b)
        odbc_conn_lock(a);
    odbc_enter(&dst->h, false);
    if (a != b && (uintptr_t)a > (uintptr_t)b)
        odbc_conn_lock(a);
    SQLRETURN rc = odbc_desc_copy(src, dst);
    if (a != b)
        odbc_conn_unlock(a);
    return odbc_leave(&dst->h, rc);
}
