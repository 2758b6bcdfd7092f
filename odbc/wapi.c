/* The W (UTF-16 SQLWCHAR) entry points of the Recall ODBC driver.
 *
 * Each one decodes its string arguments to UTF-8 (an unpaired surrogate is
 * 22018; lengths are characters, or bytes for attribute and descriptor
 * values, as ODBC defines), calls the same internal function as the ANSI
 * entry point, and has string results written as UTF-16 through the
 * ODBC_OUT_WIDE flags, with 01004 truncation that never splits a surrogate
 * pair.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "odbc-internal.h"
#include "wide.h"

/* Decode a W argument whose length is in characters (or SQL_NTS). */
static int warg(struct odbc_handle *h, const SQLWCHAR *s, SQLLEN len, char **out)
{
    bool oom;
    if (s && len != SQL_NTS && len < 0) {
        odbc_post(h, "HY090", 0, "invalid string or buffer length");
        return -1;
    }
    if (wide_arg(s, len, out, &oom) < 0) {
        if (oom)
            odbc_post_oom(h);
        else
            odbc_post(h, "22018", 0, "invalid character value: the string is not valid UTF-16");
        return -1;
    }
    return 0;
}

/* The same for a length in bytes (attribute values). */
static int warg_bytes(struct odbc_handle *h, const SQLWCHAR *s, SQLINTEGER len, char **out)
{
    if (len == SQL_NTS || len < 0)
        return warg(h, s, len == SQL_NTS ? SQL_NTS : len, out);
    return warg(h, s, len / (SQLINTEGER)sizeof(SQLWCHAR), out);
}

#define W_CHARS (ODBC_OUT_WIDE | ODBC_OUT_CHARS)
#define W_BYTES ODBC_OUT_WIDE

#define STMT_ENTER(hstmt, s)                    \
    struct odbc_stmt *s = odbc_stmt_cast(hstmt); \
    if (!s)                                      \
        return SQL_INVALID_HANDLE;               \
    odbc_enter(&s->h, false)

#define CONN_ENTER(hdbc, c)                     \
    struct odbc_conn *c = odbc_conn_cast(hdbc); \
    if (!c)                                     \
        return SQL_INVALID_HANDLE;              \
    odbc_enter(&c->h, false)

/* ---------------------------------------------------------- connections */

SQLRETURN SQL_API SQLConnectW(SQLHDBC hdbc, SQLWCHAR *dsn, SQLSMALLINT dsnlen, SQLWCHAR *uid,
                              SQLSMALLINT uidlen, SQLWCHAR *pwd, SQLSMALLINT pwdlen)
{
    char *d = NULL, *u = NULL, *p = NULL;
    SQLRETURN rc = SQL_ERROR;
    CONN_ENTER(hdbc, c);
    if (warg(&c->h, dsn, dsnlen, &d) == 0 && warg(&c->h, uid, uidlen, &u) == 0 &&
        warg(&c->h, pwd, pwdlen, &p) == 0)
        rc = odbc_connect_w(c, d, u, p);
    free(d);
    free(u);
    free(p);
    return odbc_leave(&c->h, rc);
}

SQLRETURN SQL_API SQLDriverConnectW(SQLHDBC hdbc, SQLHWND hwnd, SQLWCHAR *in, SQLSMALLINT inlen,
                                    SQLWCHAR *out, SQLSMALLINT buflen, SQLSMALLINT *outlen,
                                    SQLUSMALLINT completion)
{
    char *s = NULL;
    SQLRETURN rc = SQL_ERROR;
    (void)hwnd;
    CONN_ENTER(hdbc, c);
    if (!in)
        rc = odbc_post(&c->h, "HY009", 0, "invalid use of null pointer: no connection string");
    else if (warg(&c->h, in, inlen, &s) == 0)
        rc = odbc_driver_connect(c, s, SQL_NTS, out, buflen, outlen, completion, W_CHARS);
    free(s);
    return odbc_leave(&c->h, rc);
}

static bool string_conn_attr(SQLINTEGER attr)
{
    return attr == SQL_ATTR_CURRENT_CATALOG || attr == SQL_ATTR_TRACEFILE ||
           attr == SQL_ATTR_TRANSLATE_LIB;
}

SQLRETURN SQL_API SQLSetConnectAttrW(SQLHDBC hdbc, SQLINTEGER attr, SQLPOINTER value,
                                     SQLINTEGER len)
{
    SQLRETURN rc = SQL_ERROR;
    CONN_ENTER(hdbc, c);
    if (string_conn_attr(attr) && value) {
        char *s = NULL;
        if (warg_bytes(&c->h, value, len, &s) == 0)
            rc = odbc_set_conn_attr(c, attr, s, SQL_NTS);
        free(s);
    } else {
        rc = odbc_set_conn_attr(c, attr, value, len);
    }
    return odbc_leave(&c->h, rc);
}

SQLRETURN SQL_API SQLGetConnectAttrW(SQLHDBC hdbc, SQLINTEGER attr, SQLPOINTER value,
                                     SQLINTEGER buflen, SQLINTEGER *outlen)
{
    CONN_ENTER(hdbc, c);
    return odbc_leave(&c->h, odbc_get_conn_attr_full(c, attr, value, buflen, outlen, W_BYTES));
}

SQLRETURN SQL_API SQLGetInfoW(SQLHDBC hdbc, SQLUSMALLINT type, SQLPOINTER value,
                              SQLSMALLINT buflen, SQLSMALLINT *outlen)
{
    CONN_ENTER(hdbc, c);
    return odbc_leave(&c->h, odbc_get_info(c, type, value, buflen, outlen, W_BYTES));
}

SQLRETURN SQL_API SQLNativeSqlW(SQLHDBC hdbc, SQLWCHAR *in, SQLINTEGER inlen, SQLWCHAR *out,
                                SQLINTEGER buflen, SQLINTEGER *outlen)
{
    char *s = NULL;
    SQLRETURN rc = SQL_ERROR;
    CONN_ENTER(hdbc, c);
    if (!in)
        rc = odbc_post(&c->h, "HY009", 0, "invalid use of null pointer");
    else if (warg(&c->h, in, inlen, &s) == 0)
        rc = odbc_native_sql(c, s, SQL_NTS, out, buflen, outlen, W_CHARS);
    free(s);
    return odbc_leave(&c->h, rc);
}

/* ---------------------------------------------------------- diagnostics */

SQLRETURN SQL_API SQLGetDiagRecW(SQLSMALLINT type, SQLHANDLE handle, SQLSMALLINT recno,
                                 SQLWCHAR *state, SQLINTEGER *native, SQLWCHAR *msg,
                                 SQLSMALLINT buflen, SQLSMALLINT *msglen)
{
    return odbc_get_diag_rec(type, handle, recno, state, native, msg, buflen, msglen, W_CHARS);
}

SQLRETURN SQL_API SQLGetDiagFieldW(SQLSMALLINT type, SQLHANDLE handle, SQLSMALLINT recno,
                                   SQLSMALLINT field, SQLPOINTER ptr, SQLSMALLINT buflen,
                                   SQLSMALLINT *outlen)
{
    return odbc_get_diag_field(type, handle, recno, field, ptr, buflen, outlen, W_BYTES);
}

/* ---------------------------------------------------------- statements */

SQLRETURN SQL_API SQLPrepareW(SQLHSTMT hstmt, SQLWCHAR *sql, SQLINTEGER len)
{
    char *s = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, st);
    if (!sql)
        rc = odbc_post(&st->h, "HY009", 0, "invalid use of null pointer: no SQL text");
    else if (warg(&st->h, sql, len, &s) == 0) {
        rc = odbc_prepare(st, s, SQL_NTS);
        if (SQL_SUCCEEDED(rc))
            st->prepared = true;
    }
    free(s);
    return odbc_leave(&st->h, rc);
}

SQLRETURN SQL_API SQLExecDirectW(SQLHSTMT hstmt, SQLWCHAR *sql, SQLINTEGER len)
{
    char *s = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, st);
    if (!sql)
        rc = odbc_post(&st->h, "HY009", 0, "invalid use of null pointer: no SQL text");
    else if (warg(&st->h, sql, len, &s) == 0)
        rc = odbc_exec_direct(st, s, SQL_NTS);
    free(s);
    return odbc_leave(&st->h, rc);
}

SQLRETURN SQL_API SQLDescribeColW(SQLHSTMT hstmt, SQLUSMALLINT col, SQLWCHAR *name,
                                  SQLSMALLINT buflen, SQLSMALLINT *namelen, SQLSMALLINT *type,
                                  SQLULEN *size, SQLSMALLINT *digits, SQLSMALLINT *nullable)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_describe_col(s, col, name, buflen, namelen, type, size, digits,
                                               nullable, W_CHARS));
}

SQLRETURN SQL_API SQLColAttributeW(SQLHSTMT hstmt, SQLUSMALLINT col, SQLUSMALLINT field,
                                   SQLPOINTER cptr, SQLSMALLINT buflen, SQLSMALLINT *outlen,
                                   SQLLEN *nptr)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_col_attribute(s, col, field, cptr, buflen, outlen, nptr, W_BYTES));
}

SQLRETURN SQL_API SQLGetCursorNameW(SQLHSTMT hstmt, SQLWCHAR *name, SQLSMALLINT buflen,
                                    SQLSMALLINT *outlen)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_out_str16(&s->h, odbc_stmt_cursor_name(s), SQL_NTS, name, buflen,
                                            outlen, W_CHARS));
}

SQLRETURN SQL_API SQLSetCursorNameW(SQLHSTMT hstmt, SQLWCHAR *name, SQLSMALLINT len)
{
    char *n = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, s);
    if (!name)
        rc = odbc_post(&s->h, "HY009", 0, "invalid use of null pointer");
    else if (warg(&s->h, name, len, &n) == 0)
        rc = odbc_set_cursor_name(s, n, SQL_NTS);
    free(n);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLSetStmtAttrW(SQLHSTMT hstmt, SQLINTEGER attr, SQLPOINTER value,
                                  SQLINTEGER len)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_set_stmt_attr(s, attr, value, len));
}

SQLRETURN SQL_API SQLGetStmtAttrW(SQLHSTMT hstmt, SQLINTEGER attr, SQLPOINTER value,
                                  SQLINTEGER buflen, SQLINTEGER *outlen)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_get_stmt_attr(s, attr, value, buflen, outlen, W_BYTES));
}

SQLRETURN SQL_API SQLGetTypeInfoW(SQLHSTMT hstmt, SQLSMALLINT type)
{
    STMT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_get_type_info(s, type));
}

/* ---------------------------------------------------------- descriptors */

SQLRETURN SQL_API SQLSetDescFieldW(SQLHDESC hdesc, SQLSMALLINT recno, SQLSMALLINT field,
                                   SQLPOINTER value, SQLINTEGER len)
{
    struct odbc_desc *d = odbc_desc_cast(hdesc);
    SQLRETURN rc = SQL_ERROR;
    if (!d)
        return SQL_INVALID_HANDLE;
    odbc_enter(&d->h, false);
    if (field == SQL_DESC_NAME && value) {
        char *s = NULL;
        if (warg_bytes(&d->h, value, len, &s) == 0)
            rc = odbc_desc_set_field(d, recno, field, s, SQL_NTS);
        free(s);
    } else {
        rc = odbc_desc_set_field(d, recno, field, value, len);
    }
    return odbc_leave(&d->h, rc);
}

SQLRETURN SQL_API SQLGetDescFieldW(SQLHDESC hdesc, SQLSMALLINT recno, SQLSMALLINT field,
                                   SQLPOINTER value, SQLINTEGER buflen, SQLINTEGER *outlen)
{
    struct odbc_desc *d = odbc_desc_cast(hdesc);
    if (!d)
        return SQL_INVALID_HANDLE;
    odbc_enter(&d->h, false);
    return odbc_leave(&d->h, odbc_desc_get_field(d, recno, field, value, buflen, outlen, W_BYTES));
}

SQLRETURN SQL_API SQLGetDescRecW(SQLHDESC hdesc, SQLSMALLINT recno, SQLWCHAR *name,
                                 SQLSMALLINT buflen, SQLSMALLINT *namelen, SQLSMALLINT *type,
                                 SQLSMALLINT *subtype, SQLLEN *length, SQLSMALLINT *precision,
                                 SQLSMALLINT *scale, SQLSMALLINT *nullable)
{
    struct odbc_desc *d = odbc_desc_cast(hdesc);
    if (!d)
        return SQL_INVALID_HANDLE;
    odbc_enter(&d->h, false);
    return odbc_leave(&d->h, odbc_desc_get_rec(d, recno, name, buflen, namelen, type, subtype,
                                               length, precision, scale, nullable, W_CHARS));
}

/* ---------------------------------------------------------- catalog */

#define WARGS_FREE(...)                                   \
    do {                                                  \
        char *list_[] = {__VA_ARGS__};                    \
        for (size_t i_ = 0; i_ < sizeof list_ / sizeof list_[0]; i_++) \
            free(list_[i_]);                              \
    } while (0)

SQLRETURN SQL_API SQLTablesW(SQLHSTMT hstmt, SQLWCHAR *cat, SQLSMALLINT catlen, SQLWCHAR *schem,
                             SQLSMALLINT schemlen, SQLWCHAR *table, SQLSMALLINT tablelen,
                             SQLWCHAR *types, SQLSMALLINT typeslen)
{
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, s);
    if (warg(&s->h, cat, catlen, &a) == 0 && warg(&s->h, schem, schemlen, &b) == 0 &&
        warg(&s->h, table, tablelen, &c) == 0 && warg(&s->h, types, typeslen, &d) == 0)
        rc = odbc_tables(s, a, b, c, d);
    WARGS_FREE(a, b, c, d);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLColumnsW(SQLHSTMT hstmt, SQLWCHAR *cat, SQLSMALLINT catlen, SQLWCHAR *schem,
                              SQLSMALLINT schemlen, SQLWCHAR *table, SQLSMALLINT tablelen,
                              SQLWCHAR *col, SQLSMALLINT collen)
{
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, s);
    if (warg(&s->h, cat, catlen, &a) == 0 && warg(&s->h, schem, schemlen, &b) == 0 &&
        warg(&s->h, table, tablelen, &c) == 0 && warg(&s->h, col, collen, &d) == 0)
        rc = odbc_columns(s, a, b, c, d);
    WARGS_FREE(a, b, c, d);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLStatisticsW(SQLHSTMT hstmt, SQLWCHAR *cat, SQLSMALLINT catlen,
                                 SQLWCHAR *schem, SQLSMALLINT schemlen, SQLWCHAR *table,
                                 SQLSMALLINT tablelen, SQLUSMALLINT unique, SQLUSMALLINT reserved)
{
    char *a = NULL, *b = NULL, *c = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, s);
    if (warg(&s->h, cat, catlen, &a) == 0 && warg(&s->h, schem, schemlen, &b) == 0 &&
        warg(&s->h, table, tablelen, &c) == 0)
        rc = odbc_statistics(s, a, b, c, unique, reserved);
    WARGS_FREE(a, b, c);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLPrimaryKeysW(SQLHSTMT hstmt, SQLWCHAR *cat, SQLSMALLINT catlen,
                                  SQLWCHAR *schem, SQLSMALLINT schemlen, SQLWCHAR *table,
                                  SQLSMALLINT tablelen)
{
    char *a = NULL, *b = NULL, *c = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, s);
    if (warg(&s->h, cat, catlen, &a) == 0 && warg(&s->h, schem, schemlen, &b) == 0 &&
        warg(&s->h, table, tablelen, &c) == 0)
        rc = odbc_primary_keys(s, a, b, c);
    WARGS_FREE(a, b, c);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLForeignKeysW(SQLHSTMT hstmt, SQLWCHAR *pkcat, SQLSMALLINT pkcatlen,
                                  SQLWCHAR *pkschem, SQLSMALLINT pkschemlen, SQLWCHAR *pktable,
                                  SQLSMALLINT pktablelen, SQLWCHAR *fkcat, SQLSMALLINT fkcatlen,
                                  SQLWCHAR *fkschem, SQLSMALLINT fkschemlen, SQLWCHAR *fktable,
                                  SQLSMALLINT fktablelen)
{
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, s);
    if (warg(&s->h, pkcat, pkcatlen, &a) == 0 && warg(&s->h, pkschem, pkschemlen, &b) == 0 &&
        warg(&s->h, pktable, pktablelen, &c) == 0 && warg(&s->h, fkcat, fkcatlen, &d) == 0 &&
        warg(&s->h, fkschem, fkschemlen, &e) == 0 && warg(&s->h, fktable, fktablelen, &f) == 0)
        rc = odbc_foreign_keys(s, a, b, c, d, e, f);
    WARGS_FREE(a, b, c, d, e, f);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLSpecialColumnsW(SQLHSTMT hstmt, SQLUSMALLINT idtype, SQLWCHAR *cat,
                                     SQLSMALLINT catlen, SQLWCHAR *schem, SQLSMALLINT schemlen,
                                     SQLWCHAR *table, SQLSMALLINT tablelen, SQLUSMALLINT scope,
                                     SQLUSMALLINT nullable)
{
    char *a = NULL, *b = NULL, *c = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, s);
    if (warg(&s->h, cat, catlen, &a) == 0 && warg(&s->h, schem, schemlen, &b) == 0 &&
        warg(&s->h, table, tablelen, &c) == 0)
        rc = odbc_special_columns(s, idtype, a, b, c, scope, nullable);
    WARGS_FREE(a, b, c);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLProceduresW(SQLHSTMT hstmt, SQLWCHAR *cat, SQLSMALLINT catlen,
                                 SQLWCHAR *schem, SQLSMALLINT schemlen, SQLWCHAR *proc,
                                 SQLSMALLINT proclen)
{
    char *a = NULL, *b = NULL, *c = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, s);
    if (warg(&s->h, cat, catlen, &a) == 0 && warg(&s->h, schem, schemlen, &b) == 0 &&
        warg(&s->h, proc, proclen, &c) == 0)
        rc = odbc_procedures(s, a, b, c);
    WARGS_FREE(a, b, c);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLProcedureColumnsW(SQLHSTMT hstmt, SQLWCHAR *cat, SQLSMALLINT catlen,
                                       SQLWCHAR *schem, SQLSMALLINT schemlen, SQLWCHAR *proc,
                                       SQLSMALLINT proclen, SQLWCHAR *col, SQLSMALLINT collen)
{
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, s);
    if (warg(&s->h, cat, catlen, &a) == 0 && warg(&s->h, schem, schemlen, &b) == 0 &&
        warg(&s->h, proc, proclen, &c) == 0 && warg(&s->h, col, collen, &d) == 0)
        rc = odbc_procedure_columns(s, a, b, c, d);
    WARGS_FREE(a, b, c, d);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLColumnPrivilegesW(SQLHSTMT hstmt, SQLWCHAR *cat, SQLSMALLINT catlen,
                                       SQLWCHAR *schem, SQLSMALLINT schemlen, SQLWCHAR *table,
                                       SQLSMALLINT tablelen, SQLWCHAR *col, SQLSMALLINT collen)
{
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, s);
    if (warg(&s->h, cat, catlen, &a) == 0 && warg(&s->h, schem, schemlen, &b) == 0 &&
        warg(&s->h, table, tablelen, &c) == 0 && warg(&s->h, col, collen, &d) == 0)
        rc = odbc_column_privileges(s, a, b, c, d);
    WARGS_FREE(a, b, c, d);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLTablePrivilegesW(SQLHSTMT hstmt, SQLWCHAR *cat, SQLSMALLINT catlen,
                                      SQLWCHAR *schem, SQLSMALLINT schemlen, SQLWCHAR *table,
                                      SQLSMALLINT tablelen)
{
    char *a = NULL, *b = NULL, *c = NULL;
    SQLRETURN rc = SQL_ERROR;
    STMT_ENTER(hstmt, s);
    if (warg(&s->h, cat, catlen, &a) == 0 && warg(&s->h, schem, schemlen, &b) == 0 &&
        warg(&s->h, table, tablelen, &c) == 0)
        rc = odbc_table_privileges(s, a, b, c);
    WARGS_FREE(a, b, c);
    return odbc_leave(&s->h, rc);
}
