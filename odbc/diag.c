/* Diagnostics of the Recall ODBC driver: the records each handle carries,
 * SQLGetDiagRec/SQLGetDiagField behind both the ANSI and the W entry points,
 * and the helper that writes strings into application buffers with 01004
 * truncation.  Records are kept errors first, then warnings; messages carry
 * the "[Recall]" tag.  For an ODBC 2 environment the SQLSTATEs are reported
 * in their 2.x spelling (S1000, 37000, ...).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odbc-internal.h"
#include "wide.h"

void odbc_diag_init(struct odbc_diag *d)
{
    memset(d, 0, sizeof *d);
    d->row_count = 0;
    d->cursor_row_count = -1;
}

void odbc_diag_clear(struct odbc_diag *d)
{
    for (int i = 0; i < d->count; i++)
        free(d->recs[i].msg);
    d->count = 0;
    d->retcode = SQL_SUCCESS;
}

void odbc_diag_free(struct odbc_diag *d)
{
    odbc_diag_clear(d);
    free(d->recs);
    d->recs = NULL;
    d->cap = 0;
}

static bool is_warning(const char *state)
{
    return state[0] == '0' && state[1] == '1';
}

static SQLRETURN post_v(struct odbc_handle *h, const char *state, SQLINTEGER native, SQLLEN row,
                        SQLINTEGER col, const char *fmt, va_list ap)
{
    struct odbc_diag *d = &h->diag;
    SQLRETURN rc = is_warning(state) ? SQL_SUCCESS_WITH_INFO : SQL_ERROR;
    char text[1024];
    int pos;
    if (d->count >= ODBC_DIAG_MAX)
        return rc;
    if (d->count == d->cap) {
        int ncap = d->cap ? d->cap * 2 : 4;
        struct odbc_diag_rec *n = realloc(d->recs, (size_t)ncap * sizeof *n);
        if (!n)
            return rc;
        d->recs = n;
        d->cap = ncap;
    }
    pos = snprintf(text, sizeof text, "%s ", ODBC_TAG);
    vsnprintf(text + pos, sizeof text - (size_t)pos, fmt, ap);
    char *msg = strdup(text);
    if (!msg)
        return rc;
    /* Errors go before warnings; otherwise records keep their order. */
    int at = d->count;
    if (!is_warning(state))
        for (at = 0; at < d->count && !is_warning(d->recs[at].state); at++)
            ;
    memmove(d->recs + at + 1, d->recs + at, (size_t)(d->count - at) * sizeof *d->recs);
    struct odbc_diag_rec *r = &d->recs[at];
    memset(r, 0, sizeof *r);
    snprintf(r->state, sizeof r->state, "%.5s", state);
    r->native = native;
    r->msg = msg;
    r->row = row;
    r->col = col;
    d->count++;
    return rc;
}

SQLRETURN odbc_post(struct odbc_handle *h, const char *state, SQLINTEGER native,
                    const char *fmt, ...)
{
    va_list ap;
    SQLRETURN rc;
    va_start(ap, fmt);
    rc = post_v(h, state, native, h->type == SQL_HANDLE_STMT ? SQL_NO_ROW_NUMBER : 0,
                h->type == SQL_HANDLE_STMT ? SQL_NO_COLUMN_NUMBER : 0, fmt, ap);
    va_end(ap);
    return rc;
}

SQLRETURN odbc_post_at(struct odbc_handle *h, const char *state, SQLINTEGER native, SQLLEN row,
                       SQLINTEGER col, const char *fmt, ...)
{
    va_list ap;
    SQLRETURN rc;
    va_start(ap, fmt);
    rc = post_v(h, state, native, row, col, fmt, ap);
    va_end(ap);
    return rc;
}

SQLRETURN odbc_post_oom(struct odbc_handle *h)
{
    return odbc_post(h, "HY001", 0, "memory allocation error");
}

SQLINTEGER odbc_handle_version(struct odbc_handle *h)
{
    switch (h->type) {
    case SQL_HANDLE_ENV:
        return ((struct odbc_env *)h)->odbc_version;
    case SQL_HANDLE_DBC:
        return ((struct odbc_conn *)h)->env->odbc_version;
    case SQL_HANDLE_STMT:
        return ((struct odbc_stmt *)h)->conn->env->odbc_version;
    default:
        return ((struct odbc_desc *)h)->conn->env->odbc_version;
    }
}

struct odbc_handle *odbc_handle_check(SQLSMALLINT type, SQLHANDLE handle)
{
    switch (type) {
    case SQL_HANDLE_ENV: return handle && odbc_env_cast(handle) ? handle : NULL;
    case SQL_HANDLE_DBC: return handle && odbc_conn_cast(handle) ? handle : NULL;
    case SQL_HANDLE_STMT: return handle && odbc_stmt_cast(handle) ? handle : NULL;
    case SQL_HANDLE_DESC: return handle && odbc_desc_cast(handle) ? handle : NULL;
    default: return NULL;
    }
}

/* ODBC 3 -> ODBC 2 SQLSTATEs (ODBC Appendix G, "SQLSTATE mappings"). */
static const char *state_v2(const char *s)
{
    static const char *const map[][2] = {
        {"07005", "24000"}, {"07009", "S1002"}, {"21S01", "21S01"}, {"22007", "22008"},
        {"22018", "22005"}, {"42000", "37000"}, {"42S01", "S0001"}, {"42S02", "S0002"},
        {"42S11", "S0011"}, {"42S12", "S0012"}, {"42S21", "S0021"}, {"42S22", "S0022"},
        {"HY024", "S1009"}, {"HYT00", "S1T00"}, {"HYC00", "S1C00"}, {"HY092", "S1092"},
        {"HY013", "S1000"}, {"HY016", "S1000"}, {"HY017", "S1000"}, {"HY019", "22003"},
        {"HY021", "S1000"}, {"HY007", "S1010"}, {"HY020", "S1000"}, {"HYT01", "S1T00"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(s, map[i][0]) == 0)
            return map[i][1];
    if (s[0] == 'H' && s[1] == 'Y') {
        static __thread char tmp[6];
        snprintf(tmp, sizeof tmp, "S1%s", s + 2);
        return tmp;
    }
    return s;
}

static const char *report_state(struct odbc_handle *h, const char *state)
{
    return odbc_handle_version(h) == SQL_OV_ODBC2 ? state_v2(state) : state;
}

SQLRETURN odbc_out_str(struct odbc_handle *h, const char *s, SQLLEN len, void *buf,
                       SQLLEN buflen, SQLLEN *outlen, int out)
{
    bool trunc = false;
    if (!s)
        s = "";
    if (len == SQL_NTS || len < 0)
        len = (SQLLEN)strlen(s);
    if (buf && buflen < 0)
        return odbc_post(h, "HY090", 0, "invalid string or buffer length");
    if (out & ODBC_OUT_WIDE) {
        struct buf w;
        buf_init(&w);
        if (wide_from_utf8(s, (size_t)len, &w) < 0) {
            buf_close(&w);
            return odbc_post_oom(h);
        }
        size_t units = w.len / sizeof(SQLWCHAR);
        size_t cap = (size_t)((out & ODBC_OUT_CHARS) ? buflen : buflen / (SQLLEN)sizeof(SQLWCHAR));
        if (buf && cap > 0) {
            size_t fit = wide_fit((const SQLWCHAR *)(void *)w.data, units, cap - 1);
            if (fit)
                memcpy(buf, w.data, fit * sizeof(SQLWCHAR));
            ((SQLWCHAR *)buf)[fit] = 0;
            trunc = fit < units;
        } else if (buf) {
            trunc = true;
        }
        if (outlen)
            *outlen = (SQLLEN)((out & ODBC_OUT_CHARS) ? units : units * sizeof(SQLWCHAR));
        buf_close(&w);
    } else {
        if (buf && buflen > 0) {
            size_t put = (size_t)len < (size_t)buflen - 1 ? (size_t)len : (size_t)buflen - 1;
            memcpy(buf, s, put);
            ((char *)buf)[put] = 0;
            trunc = put < (size_t)len;
        } else if (buf) {
            trunc = true;
        }
        if (outlen)
            *outlen = len;
    }
    if (trunc)
        return odbc_post(h, "01004", 0, "string data, right truncated");
    return SQL_SUCCESS;
}

SQLRETURN odbc_out_str16(struct odbc_handle *h, const char *s, SQLLEN len, void *buf,
                         SQLLEN buflen, SQLSMALLINT *outlen, int out)
{
    SQLLEN n = 0;
    SQLRETURN rc = odbc_out_str(h, s, len, buf, buflen, &n, out);
    if (outlen && SQL_SUCCEEDED(rc))
        *outlen = (SQLSMALLINT)(n > 32767 ? 32767 : n);
    return rc;
}

SQLRETURN odbc_out_str32(struct odbc_handle *h, const char *s, SQLLEN len, void *buf,
                         SQLLEN buflen, SQLINTEGER *outlen, int out)
{
    SQLLEN n = 0;
    SQLRETURN rc = odbc_out_str(h, s, len, buf, buflen, &n, out);
    if (outlen && SQL_SUCCEEDED(rc))
        *outlen = (SQLINTEGER)n;
    return rc;
}

/* Write a diagnostic string without posting truncation on the handle
 * itself (SQLGetDiag* never adds records). */
static SQLRETURN diag_out(const char *s, void *buf, SQLLEN buflen, SQLLEN *outlen, int out)
{
    struct odbc_handle scratch;
    SQLRETURN rc;
    memset(&scratch, 0, sizeof scratch);
    scratch.type = SQL_HANDLE_ENV;
    odbc_diag_init(&scratch.diag);
    rc = odbc_out_str(&scratch, s, SQL_NTS, buf, buflen, outlen, out);
    odbc_diag_free(&scratch.diag);
    return rc;
}

SQLRETURN odbc_get_diag_rec(SQLSMALLINT type, SQLHANDLE handle, SQLSMALLINT recno,
                            void *state, SQLINTEGER *native, void *msg, SQLSMALLINT buflen,
                            SQLSMALLINT *msglen, int out)
{
    struct odbc_handle *h = odbc_handle_check(type, handle);
    SQLRETURN rc;
    SQLLEN n = 0;
    if (!h)
        return SQL_INVALID_HANDLE;
    if (recno <= 0)
        return SQL_ERROR;
    if (buflen < 0)
        return SQL_ERROR;
    odbc_enter(h, true);
    if (recno > h->diag.count) {
        odbc_unlock_handle(h);
        return SQL_NO_DATA;
    }
    struct odbc_diag_rec *r = &h->diag.recs[recno - 1];
    if (state)
        diag_out(report_state(h, r->state), state, 6, NULL,
                 (out & ODBC_OUT_WIDE) ? ODBC_OUT_WIDE | ODBC_OUT_CHARS : ODBC_OUT_ANSI);
    if (native)
        *native = r->native;
    rc = diag_out(r->msg, msg, buflen, &n, out);
    if (msglen)
        *msglen = (SQLSMALLINT)(n > 32767 ? 32767 : n);
    /* The diagnostics of a handle survive SQLGetDiagRec: do not clear. */
    odbc_unlock_handle(h);
    return rc;
}

static const char *class_origin(const char *state)
{
    /* Classes defined by ODBC rather than ISO SQL: IM, HY and the
     * ODBC-specific subclasses below. */
    if ((state[0] == 'I' && state[1] == 'M') || (state[0] == 'H' && state[1] == 'Y'))
        return "ODBC 3.0";
    return "ISO 9075";
}

static const char *subclass_origin(const char *state)
{
    static const char *const odbc[] = {
        "01S00", "01S01", "01S02", "01S06", "01S07", "07S01", "08S01", "21S01", "21S02",
        "25S01", "25S02", "25S03", "42S01", "42S02", "42S11", "42S12", "42S21", "42S22"};
    if ((state[0] == 'I' && state[1] == 'M') || (state[0] == 'H' && state[1] == 'Y'))
        return "ODBC 3.0";
    for (size_t i = 0; i < sizeof odbc / sizeof odbc[0]; i++)
        if (strcmp(state, odbc[i]) == 0)
            return "ODBC 3.0";
    return "ISO 9075";
}

static const char *server_name(struct odbc_handle *h)
{
    struct odbc_conn *c = NULL;
    if (h->type == SQL_HANDLE_DBC)
        c = (struct odbc_conn *)h;
    else if (h->type == SQL_HANDLE_STMT)
        c = ((struct odbc_stmt *)h)->conn;
    else if (h->type == SQL_HANDLE_DESC)
        c = ((struct odbc_desc *)h)->conn;
    return c && c->dsn ? c->dsn : "";
}

SQLRETURN odbc_get_diag_field(SQLSMALLINT type, SQLHANDLE handle, SQLSMALLINT recno,
                              SQLSMALLINT field, SQLPOINTER ptr, SQLSMALLINT buflen,
                              SQLSMALLINT *outlen, int out)
{
    struct odbc_handle *h = odbc_handle_check(type, handle);
    SQLRETURN rc = SQL_SUCCESS;
    const char *str = NULL;
    SQLLEN n = 0;
    if (!h)
        return SQL_INVALID_HANDLE;
    odbc_enter(h, true);
    struct odbc_diag *d = &h->diag;
    switch (field) {
    /* header fields */
    case SQL_DIAG_CURSOR_ROW_COUNT:
    case SQL_DIAG_ROW_COUNT:
    case SQL_DIAG_DYNAMIC_FUNCTION:
    case SQL_DIAG_DYNAMIC_FUNCTION_CODE:
        if (type != SQL_HANDLE_STMT) {
            rc = SQL_ERROR;
            break;
        }
        if (field == SQL_DIAG_CURSOR_ROW_COUNT) {
            if (ptr)
                *(SQLLEN *)ptr = d->cursor_row_count;
        } else if (field == SQL_DIAG_ROW_COUNT) {
            if (ptr)
                *(SQLLEN *)ptr = d->row_count;
        } else if (field == SQL_DIAG_DYNAMIC_FUNCTION_CODE) {
            if (ptr)
                *(SQLINTEGER *)ptr = d->dynfunc_code;
        } else {
            str = d->dynfunc ? d->dynfunc : "";
        }
        break;
    case SQL_DIAG_NUMBER:
        if (ptr)
            *(SQLINTEGER *)ptr = d->count;
        break;
    case SQL_DIAG_RETURNCODE:
        if (ptr)
            *(SQLRETURN *)ptr = d->retcode;
        break;
    /* record fields */
    case SQL_DIAG_CLASS_ORIGIN:
    case SQL_DIAG_SUBCLASS_ORIGIN:
    case SQL_DIAG_COLUMN_NUMBER:
    case SQL_DIAG_ROW_NUMBER:
    case SQL_DIAG_CONNECTION_NAME:
    case SQL_DIAG_SERVER_NAME:
    case SQL_DIAG_MESSAGE_TEXT:
    case SQL_DIAG_NATIVE:
    case SQL_DIAG_SQLSTATE: {
        if (recno <= 0) {
            rc = SQL_ERROR;
            break;
        }
        if (recno > d->count) {
            rc = SQL_NO_DATA;
            break;
        }
        struct odbc_diag_rec *r = &d->recs[recno - 1];
        const char *st = report_state(h, r->state);
        switch (field) {
        case SQL_DIAG_CLASS_ORIGIN: str = class_origin(r->state); break;
        case SQL_DIAG_SUBCLASS_ORIGIN: str = subclass_origin(r->state); break;
        case SQL_DIAG_CONNECTION_NAME: str = server_name(h); break;
        case SQL_DIAG_SERVER_NAME: str = server_name(h); break;
        case SQL_DIAG_MESSAGE_TEXT: str = r->msg; break;
        case SQL_DIAG_SQLSTATE: str = st; break;
        case SQL_DIAG_NATIVE:
            if (ptr)
                *(SQLINTEGER *)ptr = r->native;
            break;
        case SQL_DIAG_COLUMN_NUMBER:
            if (type != SQL_HANDLE_STMT) {
                rc = SQL_ERROR;
                break;
            }
            if (ptr)
                *(SQLINTEGER *)ptr = r->col;
            break;
        default: /* SQL_DIAG_ROW_NUMBER */
            if (type != SQL_HANDLE_STMT) {
                rc = SQL_ERROR;
                break;
            }
            if (ptr)
                *(SQLLEN *)ptr = r->row;
            break;
        }
        break;
    }
    default:
        rc = SQL_ERROR;
    }
    if (str && rc == SQL_SUCCESS) {
        rc = diag_out(str, ptr, buflen, &n, out);
        if (outlen)
            *outlen = (SQLSMALLINT)(n > 32767 ? 32767 : n);
    }
    odbc_unlock_handle(h);
    return rc;
}
