/* Catalog functions of the Recall ODBC driver: SQLTables, SQLColumns,
 * SQLStatistics, SQLPrimaryKeys, SQLForeignKeys, SQLSpecialColumns,
 * SQLProcedures, SQLProcedureColumns, SQLColumnPrivileges and
 * SQLTablePrivileges.
 *
 * On MariaDB/MySQL they query INFORMATION_SCHEMA; on SQLite, sqlite_master
 * and the schema PRAGMAs (table_info, index_list, index_info,
 * foreign_key_list), whose one argument is a quoted literal because PRAGMA
 * takes no parameters.  Either way the rows are
 * reshaped in C into the result set ODBC defines (column names, types and
 * order) and served as a driver-built table.  Arguments are always bound as
 * parameters; patterns use '\' as the escape character.  The catalog of a
 * MySQL table is its database (a NULL catalog means the current one); there
 * are no schemas.  SQLite has neither.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "odbc-internal.h"

#define NAMELEN 128

/* ---------------------------------------------------------- result layouts */

static const struct odbc_colspec tables_cols[] = {
    {"TABLE_CAT", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"TABLE_SCHEM", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"TABLE_NAME", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"TABLE_TYPE", SQL_VARCHAR, 32, SQL_NULLABLE},
    {"REMARKS", SQL_VARCHAR, 254, SQL_NULLABLE}};

static const struct odbc_colspec columns_cols[] = {
    {"TABLE_CAT", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"TABLE_SCHEM", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"TABLE_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS}, {"COLUMN_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS},
    {"DATA_TYPE", SQL_SMALLINT, 5, SQL_NO_NULLS}, {"TYPE_NAME", SQL_VARCHAR, 64, SQL_NO_NULLS},
    {"COLUMN_SIZE", SQL_INTEGER, 10, SQL_NULLABLE}, {"BUFFER_LENGTH", SQL_INTEGER, 10, SQL_NULLABLE},
    {"DECIMAL_DIGITS", SQL_SMALLINT, 5, SQL_NULLABLE}, {"NUM_PREC_RADIX", SQL_SMALLINT, 5, SQL_NULLABLE},
    {"NULLABLE", SQL_SMALLINT, 5, SQL_NO_NULLS}, {"REMARKS", SQL_VARCHAR, 254, SQL_NULLABLE},
    {"COLUMN_DEF", SQL_VARCHAR, 254, SQL_NULLABLE}, {"SQL_DATA_TYPE", SQL_SMALLINT, 5, SQL_NO_NULLS},
    {"SQL_DATETIME_SUB", SQL_SMALLINT, 5, SQL_NULLABLE}, {"CHAR_OCTET_LENGTH", SQL_INTEGER, 10, SQL_NULLABLE},
    {"ORDINAL_POSITION", SQL_INTEGER, 10, SQL_NO_NULLS}, {"IS_NULLABLE", SQL_VARCHAR, 3, SQL_NULLABLE}};

static const struct odbc_colspec statistics_cols[] = {
    {"TABLE_CAT", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"TABLE_SCHEM", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"TABLE_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS}, {"NON_UNIQUE", SQL_SMALLINT, 5, SQL_NULLABLE},
    {"INDEX_QUALIFIER", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"INDEX_NAME", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"TYPE", SQL_SMALLINT, 5, SQL_NO_NULLS}, {"ORDINAL_POSITION", SQL_SMALLINT, 5, SQL_NULLABLE},
    {"COLUMN_NAME", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"ASC_OR_DESC", SQL_CHAR, 1, SQL_NULLABLE},
    {"CARDINALITY", SQL_INTEGER, 10, SQL_NULLABLE}, {"PAGES", SQL_INTEGER, 10, SQL_NULLABLE},
    {"FILTER_CONDITION", SQL_VARCHAR, 254, SQL_NULLABLE}};

static const struct odbc_colspec pk_cols[] = {
    {"TABLE_CAT", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"TABLE_SCHEM", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"TABLE_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS}, {"COLUMN_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS},
    {"KEY_SEQ", SQL_SMALLINT, 5, SQL_NO_NULLS}, {"PK_NAME", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}};

static const struct odbc_colspec fk_cols[] = {
    {"PKTABLE_CAT", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"PKTABLE_SCHEM", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"PKTABLE_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS}, {"PKCOLUMN_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS},
    {"FKTABLE_CAT", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"FKTABLE_SCHEM", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"FKTABLE_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS}, {"FKCOLUMN_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS},
    {"KEY_SEQ", SQL_SMALLINT, 5, SQL_NO_NULLS}, {"UPDATE_RULE", SQL_SMALLINT, 5, SQL_NULLABLE},
    {"DELETE_RULE", SQL_SMALLINT, 5, SQL_NULLABLE}, {"FK_NAME", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"PK_NAME", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"DEFERRABILITY", SQL_SMALLINT, 5, SQL_NULLABLE}};

static const struct odbc_colspec special_cols[] = {
    {"SCOPE", SQL_SMALLINT, 5, SQL_NULLABLE}, {"COLUMN_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS},
    {"DATA_TYPE", SQL_SMALLINT, 5, SQL_NO_NULLS}, {"TYPE_NAME", SQL_VARCHAR, 64, SQL_NO_NULLS},
    {"COLUMN_SIZE", SQL_INTEGER, 10, SQL_NULLABLE}, {"BUFFER_LENGTH", SQL_INTEGER, 10, SQL_NULLABLE},
    {"DECIMAL_DIGITS", SQL_SMALLINT, 5, SQL_NULLABLE}, {"PSEUDO_COLUMN", SQL_SMALLINT, 5, SQL_NULLABLE}};

static const struct odbc_colspec proc_cols[] = {
    {"PROCEDURE_CAT", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"PROCEDURE_SCHEM", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"PROCEDURE_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS}, {"NUM_INPUT_PARAMS", SQL_INTEGER, 10, SQL_NULLABLE},
    {"NUM_OUTPUT_PARAMS", SQL_INTEGER, 10, SQL_NULLABLE}, {"NUM_RESULT_SETS", SQL_INTEGER, 10, SQL_NULLABLE},
    {"REMARKS", SQL_VARCHAR, 254, SQL_NULLABLE}, {"PROCEDURE_TYPE", SQL_SMALLINT, 5, SQL_NULLABLE}};

static const struct odbc_colspec proccol_cols[] = {
    {"PROCEDURE_CAT", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"PROCEDURE_SCHEM", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"PROCEDURE_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS}, {"COLUMN_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS},
    {"COLUMN_TYPE", SQL_SMALLINT, 5, SQL_NO_NULLS}, {"DATA_TYPE", SQL_SMALLINT, 5, SQL_NO_NULLS},
    {"TYPE_NAME", SQL_VARCHAR, 64, SQL_NO_NULLS}, {"COLUMN_SIZE", SQL_INTEGER, 10, SQL_NULLABLE},
    {"BUFFER_LENGTH", SQL_INTEGER, 10, SQL_NULLABLE}, {"DECIMAL_DIGITS", SQL_SMALLINT, 5, SQL_NULLABLE},
    {"NUM_PREC_RADIX", SQL_SMALLINT, 5, SQL_NULLABLE}, {"NULLABLE", SQL_SMALLINT, 5, SQL_NO_NULLS},
    {"REMARKS", SQL_VARCHAR, 254, SQL_NULLABLE}, {"COLUMN_DEF", SQL_VARCHAR, 254, SQL_NULLABLE},
    {"SQL_DATA_TYPE", SQL_SMALLINT, 5, SQL_NO_NULLS}, {"SQL_DATETIME_SUB", SQL_SMALLINT, 5, SQL_NULLABLE},
    {"CHAR_OCTET_LENGTH", SQL_INTEGER, 10, SQL_NULLABLE}, {"ORDINAL_POSITION", SQL_INTEGER, 10, SQL_NO_NULLS},
    {"IS_NULLABLE", SQL_VARCHAR, 3, SQL_NULLABLE}};

static const struct odbc_colspec colpriv_cols[] = {
    {"TABLE_CAT", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"TABLE_SCHEM", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"TABLE_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS}, {"COLUMN_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS},
    {"GRANTOR", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"GRANTEE", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS},
    {"PRIVILEGE", SQL_VARCHAR, 64, SQL_NO_NULLS}, {"IS_GRANTABLE", SQL_VARCHAR, 3, SQL_NULLABLE}};

static const struct odbc_colspec tabpriv_cols[] = {
    {"TABLE_CAT", SQL_VARCHAR, NAMELEN, SQL_NULLABLE}, {"TABLE_SCHEM", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"TABLE_NAME", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS}, {"GRANTOR", SQL_VARCHAR, NAMELEN, SQL_NULLABLE},
    {"GRANTEE", SQL_VARCHAR, NAMELEN, SQL_NO_NULLS}, {"PRIVILEGE", SQL_VARCHAR, 64, SQL_NO_NULLS},
    {"IS_GRANTABLE", SQL_VARCHAR, 3, SQL_NULLABLE}};

#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ODBC 2 applications know some of these columns by their old names. */
static const char *v2_name(const char *n)
{
    static const char *const map[][2] = {
        {"TABLE_CAT", "TABLE_QUALIFIER"}, {"TABLE_SCHEM", "TABLE_OWNER"},
        {"COLUMN_SIZE", "PRECISION"}, {"BUFFER_LENGTH", "LENGTH"}, {"DECIMAL_DIGITS", "SCALE"},
        {"NUM_PREC_RADIX", "RADIX"}, {"PKTABLE_CAT", "PKTABLE_QUALIFIER"},
        {"PKTABLE_SCHEM", "PKTABLE_OWNER"}, {"FKTABLE_CAT", "FKTABLE_QUALIFIER"},
        {"FKTABLE_SCHEM", "FKTABLE_OWNER"}, {"PROCEDURE_CAT", "PROCEDURE_QUALIFIER"},
        {"PROCEDURE_SCHEM", "PROCEDURE_OWNER"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(n, map[i][0]) == 0)
            return map[i][1];
    return n;
}

static SQLRETURN finish(struct odbc_stmt *s, struct odbc_table *t, const struct odbc_colspec *cols,
                        int n)
{
    struct odbc_colspec tmp[20];
    if (s->conn->env->odbc_version == SQL_OV_ODBC2 && n <= 20) {
        for (int i = 0; i < n; i++) {
            tmp[i] = cols[i];
            tmp[i].name = v2_name(cols[i].name);
        }
        cols = tmp;
    }
    s->prepared = false;
    return odbc_stmt_set_table(s, t, cols, n);
}

/* ---------------------------------------------------------- values */

static struct odbc_value vnull(void)
{
    return (struct odbc_value){.kind = ODBC_V_NULL};
}

static struct odbc_value vint(int64_t n)
{
    return (struct odbc_value){.kind = ODBC_V_INT, .i = n};
}

static struct odbc_value vstr(const char *s)
{
    return s ? (struct odbc_value){.kind = ODBC_V_TEXT, .p = s, .len = strlen(s)} : vnull();
}

/* Cell c of row r of a fetched table as text (NULL for SQL NULL). */
static const char *cell_text(const struct odbc_table *t, size_t r, int c, char *tmp)
{
    const struct odbc_value *v = &t->cells[r * (size_t)t->ncols + (size_t)c];
    switch (v->kind) {
    case ODBC_V_TEXT: case ODBC_V_BLOB: return v->p;
    case ODBC_V_INT: sprintf(tmp, "%lld", (long long)v->i); return tmp;
    case ODBC_V_UINT: sprintf(tmp, "%llu", (unsigned long long)v->u); return tmp;
    case ODBC_V_DOUBLE: sprintf(tmp, "%.17g", v->d); return tmp;
    default: return NULL;
    }
}

static int64_t cell_int(const struct odbc_table *t, size_t r, int c, int64_t dflt)
{
    char tmp[48];
    const char *s = cell_text(t, r, c, tmp);
    return s && *s ? strtoll(s, NULL, 10) : dflt;
}

/* ---------------------------------------------------------- arguments */

/* A catalog argument: an identifier when SQL_ATTR_METADATA_ID is on (quotes
 * removed, wildcards escaped), else a pattern or a plain name. */
static char *arg_norm(struct odbc_stmt *s, const char *in, bool pattern)
{
    size_t n;
    if (!in)
        return NULL;
    n = strlen(in);
    if (s->metadata_id == SQL_TRUE) {
        struct buf b;
        buf_init(&b);
        while (n && isspace((unsigned char)in[n - 1]))
            n--;
        while (n && isspace((unsigned char)*in))
            in++, n--;
        if (n >= 2 && (in[0] == '"' || in[0] == '`') && in[n - 1] == in[0])
            in++, n -= 2;
        for (size_t i = 0; i < n; i++) {
            if (pattern && (in[i] == '%' || in[i] == '_' || in[i] == '\\'))
                buf_append(&b, "\\", 1);
            buf_append(&b, in + i, 1);
        }
        buf_append(&b, "", 1);
        if (b.oom) {
            buf_close(&b);
            return NULL;
        }
        return (char *)b.data;
    }
    return strdup(in);
}

/* LIKE with '%', '_' and '\' escapes, case-insensitive (SQLite's rule). */
static bool like(const char *p, const char *s)
{
    for (; *p; p++) {
        if (*p == '%') {
            while (p[1] == '%')
                p++;
            if (!p[1])
                return true;
            for (const char *t = s; *t; t++)
                if (like(p + 1, t))
                    return true;
            return like(p + 1, "");
        }
        if (!*s)
            return false;
        if (*p == '_') {
            s++;
            continue;
        }
        if (*p == '\\' && p[1])
            p++;
        if (tolower((unsigned char)*p) != tolower((unsigned char)*s))
            return false;
        s++;
    }
    return !*s;
}

static SQLRETURN prologue(struct odbc_stmt *s)
{
    SQLRETURN rc = odbc_conn_check(&s->h, s->conn);
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (s->state == ST_CURSOR)
        return odbc_post(&s->h, "24000", 0, "invalid cursor state: close the cursor first");
    if (s->state == ST_NEED_DATA || s->state == ST_PUT_DATA)
        return odbc_post(&s->h, "HY010", 0, "function sequence error: data-at-execution parameters are pending");
    odbc_stmt_close_result(s);
    return SQL_SUCCESS;
}

static bool is_mysql(struct odbc_stmt *s)
{
    return s->conn->backend != BACKEND_SQLITE;
}

/* Run "PRAGMA name('arg')" into t.  The pragma argument cannot be a bound
 * parameter (SQLite's table-valued pragma functions with parameters are
 * refused by the backend's authorizer), so the name is written as a string
 * literal with its quotes doubled. */
static SQLRETURN sqlite_pragma(struct odbc_stmt *s, const char *pragma, const char *arg,
                               struct odbc_table *t)
{
    struct buf q;
    SQLRETURN rc;
    buf_init(&q);
    buf_append(&q, "PRAGMA ", 7);
    buf_append(&q, pragma, strlen(pragma));
    buf_append(&q, "('", 2);
    for (const char *p = arg; *p; p++) {
        if (*p == '\'')
            buf_append(&q, "''", 2);
        else
            buf_append(&q, p, 1);
    }
    buf_append(&q, "')", 3);
    if (q.oom) {
        buf_close(&q);
        return odbc_post_oom(&s->h);
    }
    rc = odbc_query_table(s, (const char *)q.data, NULL, 0, t);
    buf_close(&q);
    return rc;
}

/* ---------------------------------------------------------- type facts */

struct tfacts {
    SQLSMALLINT type;
    int64_t size, buflen, digits, radix, octets; /* -1: NULL */
};

static SQLSMALLINT wide_of(struct odbc_stmt *s, SQLSMALLINT t)
{
    if (!s->conn->unicode)
        return t;
    switch (t) {
    case SQL_CHAR: return SQL_WCHAR;
    case SQL_VARCHAR: return SQL_WVARCHAR;
    case SQL_LONGVARCHAR: return SQL_WLONGVARCHAR;
    default: return t;
    }
}

/* From a MySQL DATA_TYPE and the INFORMATION_SCHEMA sizes. */
static struct tfacts mysql_facts(struct odbc_stmt *s, const char *dt, const char *coltype,
                                 int64_t charlen, int64_t octlen, int64_t prec, int64_t scale,
                                 int64_t dtprec)
{
    struct tfacts f = {SQL_VARCHAR, charlen, octlen, -1, -1, -1};
    bool uns = coltype && strstr(coltype, "unsigned");
    static const struct {
        const char *name;
        SQLSMALLINT type;
    } map[] = {
        {"tinyint", SQL_TINYINT}, {"smallint", SQL_SMALLINT}, {"mediumint", SQL_INTEGER},
        {"int", SQL_INTEGER}, {"integer", SQL_INTEGER}, {"bigint", SQL_BIGINT},
        {"decimal", SQL_DECIMAL}, {"numeric", SQL_NUMERIC}, {"float", SQL_REAL},
        {"double", SQL_DOUBLE}, {"real", SQL_DOUBLE}, {"bit", SQL_BIT}, {"date", SQL_TYPE_DATE},
        {"time", SQL_TYPE_TIME}, {"datetime", SQL_TYPE_TIMESTAMP},
        {"timestamp", SQL_TYPE_TIMESTAMP}, {"year", SQL_SMALLINT}, {"char", SQL_CHAR},
        {"varchar", SQL_VARCHAR}, {"tinytext", SQL_LONGVARCHAR}, {"text", SQL_LONGVARCHAR},
        {"mediumtext", SQL_LONGVARCHAR}, {"longtext", SQL_LONGVARCHAR}, {"json", SQL_LONGVARCHAR},
        {"enum", SQL_CHAR}, {"set", SQL_CHAR}, {"binary", SQL_BINARY},
        {"varbinary", SQL_VARBINARY}, {"tinyblob", SQL_LONGVARBINARY}, {"blob", SQL_LONGVARBINARY},
        {"mediumblob", SQL_LONGVARBINARY}, {"longblob", SQL_LONGVARBINARY}};
    for (size_t i = 0; dt && i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(dt, map[i].name) == 0)
            f.type = map[i].type;
    switch (f.type) {
    case SQL_TINYINT: f.size = 3; f.buflen = 1; f.digits = 0; f.radix = 10; break;
    case SQL_SMALLINT: f.size = dt && strcasecmp(dt, "year") == 0 ? 4 : 5; f.buflen = 2; f.digits = 0; f.radix = 10; break;
    case SQL_INTEGER: f.size = prec > 0 ? prec : 10; f.buflen = 4; f.digits = 0; f.radix = 10; break;
    case SQL_BIGINT: f.size = uns ? 20 : 19; f.buflen = 8; f.digits = 0; f.radix = 10; break;
    case SQL_DECIMAL:
    case SQL_NUMERIC: f.size = prec; f.buflen = prec + 2; f.digits = scale; f.radix = 10; break;
    case SQL_REAL: f.size = 7; f.buflen = 4; f.radix = 10; break;
    case SQL_DOUBLE: f.size = 15; f.buflen = 8; f.radix = 10; break;
    case SQL_BIT:
        if (prec > 1) {
            f.type = SQL_BINARY;
            f.size = f.buflen = f.octets = (prec + 7) / 8;
        } else {
            f.size = 1;
            f.buflen = 1;
        }
        break;
    case SQL_TYPE_DATE: f.size = 10; f.buflen = 6; break;
    case SQL_TYPE_TIME:
        f.size = 8 + (dtprec > 0 ? dtprec + 1 : 0);
        f.buflen = 6;
        f.digits = dtprec > 0 ? dtprec : 0;
        break;
    case SQL_TYPE_TIMESTAMP:
        f.size = 19 + (dtprec > 0 ? dtprec + 1 : 0);
        f.buflen = 16;
        f.digits = dtprec > 0 ? dtprec : 0;
        break;
    case SQL_BINARY: case SQL_VARBINARY: case SQL_LONGVARBINARY:
        f.size = octlen;
        f.buflen = octlen;
        f.octets = octlen;
        break;
    default: /* character */
        f.size = charlen;
        f.buflen = octlen;
        f.octets = octlen;
        f.type = wide_of(s, f.type);
        break;
    }
    if (f.size > 2147483647)
        f.size = 2147483647;
    if (f.buflen > 2147483647)
        f.buflen = 2147483647;
    if (f.octets > 2147483647)
        f.octets = 2147483647;
    return f;
}

/* From a SQLite declared type (the same rules the SQLite backend applies
 * to result columns). */
static struct tfacts sqlite_facts(struct odbc_stmt *s, const char *decl)
{
    char t[64];
    size_t n = 0;
    const char *paren = decl ? strchr(decl, '(') : NULL;
    long a = -1, b = 0;
    struct tfacts f = {SQL_VARCHAR, 255, 255, -1, -1, 255};
    for (const char *p = decl ? decl : ""; *p && p != paren && n + 1 < sizeof t; p++)
        t[n++] = (char)toupper((unsigned char)*p);
    t[n] = 0;
    if (paren && sscanf(paren, "(%ld , %ld", &a, &b) < 1)
        a = -1;
    if (strstr(t, "BOOL")) {
        f = (struct tfacts){SQL_BIT, 1, 1, -1, -1, -1};
    } else if (strstr(t, "INT")) {
        f = (struct tfacts){SQL_BIGINT, 19, 8, 0, 10, -1};
    } else if (strstr(t, "DATETIME") || strstr(t, "TIMESTAMP")) {
        f = (struct tfacts){SQL_TYPE_TIMESTAMP, 26, 16, 6, -1, -1};
    } else if (strstr(t, "DATE")) {
        f = (struct tfacts){SQL_TYPE_DATE, 10, 6, -1, -1, -1};
    } else if (strstr(t, "TIME")) {
        f = (struct tfacts){SQL_TYPE_TIME, 15, 6, 6, -1, -1};
    } else if (strstr(t, "VARCHAR") || strstr(t, "VARYING")) {
        long len = a > 0 ? a : 255;
        f = (struct tfacts){wide_of(s, SQL_VARCHAR), len, len * 4, -1, -1, len * 4};
    } else if (strstr(t, "CHAR")) {
        long len = a > 0 ? a : 1;
        f = (struct tfacts){wide_of(s, SQL_CHAR), len, len * 4, -1, -1, len * 4};
    } else if (strstr(t, "CLOB") || strstr(t, "TEXT") || strstr(t, "JSON")) {
        f = (struct tfacts){wide_of(s, SQL_LONGVARCHAR), 1000000000, 1000000000, -1, -1, 1000000000};
    } else if (strstr(t, "VARBINARY")) {
        long len = a > 0 ? a : 255;
        f = (struct tfacts){SQL_VARBINARY, len, len, -1, -1, len};
    } else if (strstr(t, "BINARY")) {
        long len = a > 0 ? a : 1;
        f = (struct tfacts){SQL_BINARY, len, len, -1, -1, len};
    } else if (strstr(t, "BLOB") || !*t) {
        f = (struct tfacts){SQL_LONGVARBINARY, 1000000000, 1000000000, -1, -1, 1000000000};
    } else if (strstr(t, "REAL") || strstr(t, "FLOA") || strstr(t, "DOUB")) {
        f = (struct tfacts){SQL_DOUBLE, 15, 8, -1, 10, -1};
    } else if (strstr(t, "NUMERIC") || strstr(t, "DECIMAL")) {
        long p = a > 0 ? a : 38;
        f = (struct tfacts){SQL_DECIMAL, p, p + 2, b, 10, -1};
    } else {
        f.type = wide_of(s, SQL_VARCHAR);
    }
    return f;
}

static struct odbc_value vopt(int64_t n)
{
    return n < 0 ? vnull() : vint(n);
}

static SQLSMALLINT app_type(struct odbc_stmt *s, SQLSMALLINT t)
{
    return odbc_app_sql_type(s, t);
}

/* ---------------------------------------------------------- SQLTables */

/* TABLE_TYPE list: quoted or not, comma-separated; NULL or "%" means all. */
static unsigned table_types(const char *types)
{
    enum { T_TABLE = 1, T_VIEW = 2, T_SYSTEM = 4 };
    unsigned m = 0;
    if (!types || !*types || strcmp(types, SQL_ALL_TABLE_TYPES) == 0)
        return T_TABLE | T_VIEW | T_SYSTEM;
    const char *p = types;
    while (*p) {
        char word[64];
        size_t n = 0;
        while (*p == ' ' || *p == ',' || *p == '\'')
            p++;
        while (*p && *p != ',' && *p != '\'' && n + 1 < sizeof word)
            word[n++] = *p++;
        while (n && word[n - 1] == ' ')
            n--;
        word[n] = 0;
        if (strcasecmp(word, "TABLE") == 0)
            m |= T_TABLE;
        else if (strcasecmp(word, "VIEW") == 0)
            m |= T_VIEW;
        else if (strcasecmp(word, "SYSTEM TABLE") == 0 || strcasecmp(word, "SYSTEM VIEW") == 0)
            m |= T_SYSTEM;
        while (*p && *p != ',')
            p++;
    }
    return m;
}

static SQLRETURN tables_mysql(struct odbc_stmt *s, const char *cat, const char *table,
                              unsigned types, struct odbc_table *out)
{
    struct odbc_table raw;
    SQLRETURN rc;
    const char *params[2];
    int np = 0;
    char sql[512];
    odbc_table_init(&raw, 4);
    snprintf(sql, sizeof sql,
             "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_COMMENT FROM information_schema.TABLES "
             "WHERE %s AND TABLE_NAME LIKE ? ORDER BY TABLE_TYPE, TABLE_SCHEMA, TABLE_NAME",
             cat ? "TABLE_SCHEMA LIKE ?" : "TABLE_SCHEMA = DATABASE()");
    if (cat)
        params[np++] = cat;
    params[np++] = table ? table : "%";
    rc = odbc_query_table(s, sql, params, np, &raw);
    for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
        char t0[48], t1[48], t2[48], t3[48];
        const char *tt = cell_text(&raw, r, 2, t2);
        const char *type = "TABLE";
        unsigned bit = 1;
        if (tt && strcmp(tt, "VIEW") == 0)
            type = "VIEW", bit = 2;
        else if (tt && strcmp(tt, "SYSTEM VIEW") == 0)
            type = "SYSTEM VIEW", bit = 4;
        if (!(types & bit))
            continue;
        struct odbc_value row[5] = {vstr(cell_text(&raw, r, 0, t0)), vnull(),
                                    vstr(cell_text(&raw, r, 1, t1)), vstr(type),
                                    vstr(cell_text(&raw, r, 3, t3))};
        if (odbc_table_add(out, row) < 0)
            rc = odbc_post_oom(&s->h);
    }
    odbc_table_free(&raw);
    return rc;
}

static SQLRETURN tables_sqlite(struct odbc_stmt *s, const char *table, unsigned types,
                               struct odbc_table *out)
{
    struct odbc_table raw;
    SQLRETURN rc;
    const char *params[1] = {table ? table : "%"};
    odbc_table_init(&raw, 2);
    rc = odbc_query_table(s,
                          "SELECT name, type FROM sqlite_master WHERE type IN ('table','view') "
                          "AND name LIKE ? ESCAPE '\\' ORDER BY type, name",
                          params, 1, &raw);
    for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
        char t0[48], t1[48];
        const char *name = cell_text(&raw, r, 0, t0), *tt = cell_text(&raw, r, 1, t1);
        bool sys = name && (strncmp(name, "sqlite_", 7) == 0 || strncmp(name, "recall_", 7) == 0);
        bool view = tt && strcmp(tt, "view") == 0;
        unsigned bit = sys ? 4 : view ? 2 : 1;
        if (!(types & bit))
            continue;
        struct odbc_value row[5] = {vnull(), vnull(), vstr(name),
                                    vstr(sys ? "SYSTEM TABLE" : view ? "VIEW" : "TABLE"), vnull()};
        if (odbc_table_add(out, row) < 0)
            rc = odbc_post_oom(&s->h);
    }
    odbc_table_free(&raw);
    return rc;
}

SQLRETURN odbc_tables(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                      const char *table_in, const char *types)
{
    struct odbc_table t;
    SQLRETURN rc = prologue(s);
    char *cat = NULL, *table = NULL;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    odbc_table_init(&t, 5);
    cat = arg_norm(s, cat_in, true);
    table = arg_norm(s, table_in, true);
    /* The special enumerations of SQLTables. */
    bool empty_cat = cat_in && !*cat_in, empty_schem = schem_in && !*schem_in,
         empty_table = table_in && !*table_in;
    if (cat_in && strcmp(cat_in, SQL_ALL_CATALOGS) == 0 && empty_schem && empty_table) {
        if (is_mysql(s)) {
            struct odbc_table raw;
            odbc_table_init(&raw, 1);
            rc = odbc_query_table(s, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME",
                                  NULL, 0, &raw);
            for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
                char tmp[48];
                struct odbc_value row[5] = {vstr(cell_text(&raw, r, 0, tmp)), vnull(), vnull(), vnull(), vnull()};
                if (odbc_table_add(&t, row) < 0)
                    rc = odbc_post_oom(&s->h);
            }
            odbc_table_free(&raw);
        }
    } else if (schem_in && strcmp(schem_in, SQL_ALL_SCHEMAS) == 0 && empty_cat && empty_table) {
        /* No schemas. */
    } else if (types && strcmp(types, SQL_ALL_TABLE_TYPES) == 0 && empty_cat && empty_schem &&
               empty_table) {
        static const char *const names[] = {"TABLE", "VIEW", "SYSTEM TABLE"};
        for (int i = 0; i < 3; i++) {
            const char *n = !is_mysql(s) || i < 2 ? names[i] : "SYSTEM VIEW";
            struct odbc_value row[5] = {vnull(), vnull(), vnull(), vstr(n), vnull()};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
    } else if ((cat_in && !cat) || (table_in && !table)) {
        rc = odbc_post_oom(&s->h);
    } else if (schem_in && *schem_in && strcmp(schem_in, "%") != 0) {
        /* A schema was asked for: there are none, so no tables either. */
    } else if (is_mysql(s)) {
        if (!empty_cat)
            rc = tables_mysql(s, cat, table, table_types(types), &t);
    } else if (!cat_in || empty_cat || strcmp(cat_in, "%") == 0 || strcasecmp(cat_in, "main") == 0) {
        rc = tables_sqlite(s, table, table_types(types), &t);
    }
    free(cat);
    free(table);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_table_free(&t);
        return rc;
    }
    return finish(s, &t, tables_cols, NCOLS(tables_cols));
}

/* ---------------------------------------------------------- SQLColumns */

static SQLRETURN add_column_row(struct odbc_stmt *s, struct odbc_table *t, const char *cat,
                                const char *table, const char *col, const char *tname,
                                struct tfacts f, bool nullable, const char *remarks,
                                const char *def, int64_t pos)
{
    SQLSMALLINT verbose = conv_verbose_type(f.type);
    SQLSMALLINT sub = conv_interval_code(f.type);
    struct odbc_value row[18] = {
        vstr(cat), vnull(), vstr(table), vstr(col), vint(app_type(s, f.type)), vstr(tname),
        vopt(f.size), vopt(f.buflen), vopt(f.digits), vopt(f.radix),
        vint(nullable ? SQL_NULLABLE : SQL_NO_NULLS), vstr(remarks), vstr(def), vint(verbose),
        sub ? vint(sub) : vnull(), vopt(f.octets), vint(pos), vstr(nullable ? "YES" : "NO")};
    return odbc_table_add(t, row) < 0 ? odbc_post_oom(&s->h) : SQL_SUCCESS;
}

static SQLRETURN columns_mysql(struct odbc_stmt *s, const char *cat, const char *table,
                               const char *column, struct odbc_table *out)
{
    struct odbc_table raw;
    SQLRETURN rc;
    const char *params[3];
    int np = 0;
    char sql[900];
    odbc_table_init(&raw, 14);
    snprintf(sql, sizeof sql,
             "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, "
             "CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, "
             "DATETIME_PRECISION, IS_NULLABLE, COLUMN_DEFAULT, COLUMN_COMMENT, ORDINAL_POSITION "
             "FROM information_schema.COLUMNS WHERE %s AND TABLE_NAME LIKE ? AND COLUMN_NAME LIKE ? "
             "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
             cat ? "TABLE_SCHEMA = ?" : "TABLE_SCHEMA = DATABASE()");
    if (cat)
        params[np++] = cat;
    params[np++] = table ? table : "%";
    params[np++] = column ? column : "%";
    rc = odbc_query_table(s, sql, params, np, &raw);
    for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
        char t[14][48];
        struct tfacts f = mysql_facts(s, cell_text(&raw, r, 3, t[3]), cell_text(&raw, r, 4, t[4]),
                                      cell_int(&raw, r, 5, -1), cell_int(&raw, r, 6, -1),
                                      cell_int(&raw, r, 7, -1), cell_int(&raw, r, 8, -1),
                                      cell_int(&raw, r, 9, -1));
        const char *nul = cell_text(&raw, r, 10, t[10]);
        const char *def = cell_text(&raw, r, 11, t[11]);
        const char *type_name = cell_text(&raw, r, 3, t[3]);
        rc = add_column_row(s, out, cell_text(&raw, r, 0, t[0]), cell_text(&raw, r, 1, t[1]),
                            cell_text(&raw, r, 2, t[2]), type_name, f,
                            nul && strcmp(nul, "YES") == 0, cell_text(&raw, r, 12, t[12]), def,
                            cell_int(&raw, r, 13, (int64_t)r + 1));
    }
    odbc_table_free(&raw);
    return rc;
}

/* Names of the SQLite tables (not views' internals) matching a pattern. */
static SQLRETURN sqlite_tables_like(struct odbc_stmt *s, const char *pattern, bool views,
                                    struct odbc_table *names)
{
    const char *params[1] = {pattern ? pattern : "%"};
    odbc_table_init(names, 1);
    return odbc_query_table(s,
                            views ? "SELECT name FROM sqlite_master WHERE type IN ('table','view') "
                                    "AND name LIKE ? ESCAPE '\\' ORDER BY name"
                                  : "SELECT name FROM sqlite_master WHERE type = 'table' "
                                    "AND name LIKE ? ESCAPE '\\' ORDER BY name",
                            params, 1, names);
}

static SQLRETURN columns_sqlite(struct odbc_stmt *s, const char *table, const char *column,
                                struct odbc_table *out)
{
    struct odbc_table names;
    SQLRETURN rc = sqlite_tables_like(s, table, true, &names);
    for (size_t i = 0; SQL_SUCCEEDED(rc) && i < names.nrows; i++) {
        char tn[48];
        const char *name = cell_text(&names, i, 0, tn);
        struct odbc_table info;
        odbc_table_init(&info, 6);
        rc = name ? sqlite_pragma(s, "table_info", name, &info) : SQL_SUCCESS;
        for (size_t r = 0; SQL_SUCCEEDED(rc) && r < info.nrows; r++) {
            char t[6][48];
            const char *col = cell_text(&info, r, 1, t[1]);
            const char *decl = cell_text(&info, r, 2, t[2]);
            if (!col || (column && !like(column, col)))
                continue;
            struct tfacts f = sqlite_facts(s, decl);
            rc = add_column_row(s, out, NULL, name, col, decl && *decl ? decl : "", f,
                                cell_int(&info, r, 3, 0) == 0, NULL, cell_text(&info, r, 4, t[4]),
                                cell_int(&info, r, 0, (int64_t)r) + 1);
        }
        odbc_table_free(&info);
    }
    odbc_table_free(&names);
    return rc;
}

SQLRETURN odbc_columns(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                       const char *table_in, const char *col_in)
{
    struct odbc_table t;
    SQLRETURN rc = prologue(s);
    char *cat, *table, *col;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    odbc_table_init(&t, 18);
    cat = arg_norm(s, cat_in, false);
    table = arg_norm(s, table_in, true);
    col = arg_norm(s, col_in, true);
    if ((cat_in && !cat) || (table_in && !table) || (col_in && !col))
        rc = odbc_post_oom(&s->h);
    else if ((cat_in && !*cat_in) || (schem_in && *schem_in && strcmp(schem_in, "%") != 0))
        ; /* no such catalog or schema */
    else if (is_mysql(s))
        rc = columns_mysql(s, cat, table, col, &t);
    else if (!cat_in || strcasecmp(cat_in, "main") == 0)
        rc = columns_sqlite(s, table, col, &t);
    free(cat);
    free(table);
    free(col);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_table_free(&t);
        return rc;
    }
    return finish(s, &t, columns_cols, NCOLS(columns_cols));
}

/* ---------------------------------------------------------- SQLStatistics */

SQLRETURN odbc_statistics(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                          const char *table_in, SQLUSMALLINT unique, SQLUSMALLINT reserved)
{
    struct odbc_table t, raw;
    SQLRETURN rc = prologue(s);
    (void)schem_in;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (!table_in)
        return odbc_post(&s->h, "HY009", 0, "invalid use of null pointer: a table name is required");
    if (unique != SQL_INDEX_UNIQUE && unique != SQL_INDEX_ALL)
        return odbc_post(&s->h, "HY100", 0, "uniqueness option type out of range");
    if (reserved != SQL_QUICK && reserved != SQL_ENSURE)
        return odbc_post(&s->h, "HY101", 0, "accuracy option type out of range");
    odbc_table_init(&t, 13);
    if (is_mysql(s)) {
        const char *params[2];
        int np = 0;
        char sql[700];
        snprintf(sql, sizeof sql,
                 "SELECT TABLE_SCHEMA, TABLE_NAME, NON_UNIQUE, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, "
                 "COLLATION, CARDINALITY, INDEX_TYPE FROM information_schema.STATISTICS "
                 "WHERE %s AND TABLE_NAME = ?%s ORDER BY NON_UNIQUE, INDEX_NAME, SEQ_IN_INDEX",
                 cat_in ? "TABLE_SCHEMA = ?" : "TABLE_SCHEMA = DATABASE()",
                 unique == SQL_INDEX_UNIQUE ? " AND NON_UNIQUE = 0" : "");
        if (cat_in)
            params[np++] = cat_in;
        params[np++] = table_in;
        odbc_table_init(&raw, 9);
        rc = odbc_query_table(s, sql, params, np, &raw);
        for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
            char x[9][48];
            const char *itype = cell_text(&raw, r, 8, x[8]);
            const char *coll = cell_text(&raw, r, 6, x[6]);
            struct odbc_value row[13] = {
                vstr(cell_text(&raw, r, 0, x[0])), vnull(), vstr(cell_text(&raw, r, 1, x[1])),
                vint(cell_int(&raw, r, 2, 1)), vnull(), vstr(cell_text(&raw, r, 3, x[3])),
                vint(itype && strcasecmp(itype, "HASH") == 0 ? SQL_INDEX_HASHED : SQL_INDEX_OTHER),
                vint(cell_int(&raw, r, 4, 1)), vstr(cell_text(&raw, r, 5, x[5])),
                vstr(coll && (*coll == 'A' || *coll == 'D') ? (*coll == 'A' ? "A" : "D") : NULL),
                vopt(cell_int(&raw, r, 7, -1)), vnull(), vnull()};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
        odbc_table_free(&raw);
    } else {
        /* index_list: seq, name, unique, origin, partial; unique ones first,
         * then by name (ODBC's order). */
        odbc_table_init(&raw, 3);
        rc = sqlite_pragma(s, "index_list", table_in, &raw);
        for (int pass = 0; pass < 2 && SQL_SUCCEEDED(rc); pass++) {
            size_t nidx = raw.nrows, *order = calloc(nidx ? nidx : 1, sizeof *order), n = 0;
            if (!order) {
                rc = odbc_post_oom(&s->h);
                break;
            }
            for (size_t r = 0; r < nidx; r++) {
                char x[48];
                if ((cell_int(&raw, r, 2, 0) != 0) == (pass == 0) && cell_text(&raw, r, 1, x))
                    order[n++] = r;
            }
            for (size_t i = 1; i < n; i++) /* insertion sort by name */
                for (size_t j = i; j > 0; j--) {
                    char a[48], b[48];
                    if (strcmp(cell_text(&raw, order[j - 1], 1, a), cell_text(&raw, order[j], 1, b)) <= 0)
                        break;
                    size_t tmp = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = tmp;
                }
            for (size_t i = 0; i < n && SQL_SUCCEEDED(rc); i++) {
                char x[48];
                const char *iname = cell_text(&raw, order[i], 1, x);
                bool uq = pass == 0;
                if (unique == SQL_INDEX_UNIQUE && !uq)
                    continue;
                struct odbc_table cols;
                odbc_table_init(&cols, 3); /* seqno, cid, name */
                rc = sqlite_pragma(s, "index_info", iname, &cols);
                for (size_t k = 0; SQL_SUCCEEDED(rc) && k < cols.nrows; k++) {
                    char y[48];
                    struct odbc_value row[13] = {vnull(), vnull(), vstr(table_in), vint(uq ? 0 : 1), vnull(),
                                                 vstr(iname), vint(SQL_INDEX_OTHER),
                                                 vint(cell_int(&cols, k, 0, 0) + 1),
                                                 vstr(cell_text(&cols, k, 2, y)), vstr("A"), vnull(),
                                                 vnull(), vnull()};
                    if (odbc_table_add(&t, row) < 0)
                        rc = odbc_post_oom(&s->h);
                }
                odbc_table_free(&cols);
            }
            free(order);
        }
        odbc_table_free(&raw);
    }
    if (!SQL_SUCCEEDED(rc)) {
        odbc_table_free(&t);
        return rc;
    }
    return finish(s, &t, statistics_cols, NCOLS(statistics_cols));
}

/* ---------------------------------------------------------- SQLPrimaryKeys */

/* Primary key columns of a SQLite table into rows (pk order). */
static SQLRETURN sqlite_pk(struct odbc_stmt *s, const char *table, struct odbc_table *raw)
{
    struct odbc_table info;
    SQLRETURN rc;
    odbc_table_init(raw, 3);
    odbc_table_init(&info, 6); /* cid, name, type, notnull, dflt_value, pk */
    rc = sqlite_pragma(s, "table_info", table, &info);
    /* Key columns in key order: name, position, declared type. */
    for (int64_t pos = 1; SQL_SUCCEEDED(rc) && pos <= (int64_t)info.nrows; pos++)
        for (size_t r = 0; r < info.nrows; r++) {
            char a[48], b[48];
            if (cell_int(&info, r, 5, 0) != pos)
                continue;
            struct odbc_value row[3] = {vstr(cell_text(&info, r, 1, a)), vint(pos),
                                        vstr(cell_text(&info, r, 2, b))};
            if (odbc_table_add(raw, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
    odbc_table_free(&info);
    return rc;
}

SQLRETURN odbc_primary_keys(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                            const char *table_in)
{
    struct odbc_table t, raw;
    SQLRETURN rc = prologue(s);
    (void)schem_in;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (!table_in)
        return odbc_post(&s->h, "HY009", 0, "invalid use of null pointer: a table name is required");
    odbc_table_init(&t, 6);
    if (is_mysql(s)) {
        const char *params[2];
        int np = 0;
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, SEQ_IN_INDEX FROM information_schema.STATISTICS "
                 "WHERE %s AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
                 cat_in ? "TABLE_SCHEMA = ?" : "TABLE_SCHEMA = DATABASE()");
        if (cat_in)
            params[np++] = cat_in;
        params[np++] = table_in;
        odbc_table_init(&raw, 4);
        rc = odbc_query_table(s, sql, params, np, &raw);
        for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
            char x[4][48];
            struct odbc_value row[6] = {vstr(cell_text(&raw, r, 0, x[0])), vnull(),
                                        vstr(cell_text(&raw, r, 1, x[1])),
                                        vstr(cell_text(&raw, r, 2, x[2])),
                                        vint(cell_int(&raw, r, 3, 1)), vstr("PRIMARY")};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
    } else {
        rc = sqlite_pk(s, table_in, &raw);
        for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
            char x[48];
            struct odbc_value row[6] = {vnull(), vnull(), vstr(table_in), vstr(cell_text(&raw, r, 0, x)),
                                        vint(cell_int(&raw, r, 1, 1)), vnull()};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
    }
    odbc_table_free(&raw);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_table_free(&t);
        return rc;
    }
    return finish(s, &t, pk_cols, NCOLS(pk_cols));
}

/* ---------------------------------------------------------- SQLForeignKeys */

static SQLSMALLINT fk_rule(const char *r)
{
    if (!r)
        return SQL_NO_ACTION;
    if (strcasecmp(r, "CASCADE") == 0)
        return SQL_CASCADE;
    if (strcasecmp(r, "RESTRICT") == 0)
        return SQL_RESTRICT;
    if (strcasecmp(r, "SET NULL") == 0)
        return SQL_SET_NULL;
    if (strcasecmp(r, "SET DEFAULT") == 0)
        return SQL_SET_DEFAULT;
    return SQL_NO_ACTION;
}

/* Foreign keys of one SQLite table, filtered by referenced table. */
static SQLRETURN sqlite_fk_of(struct odbc_stmt *s, const char *fktable, const char *pktable,
                              struct odbc_table *t)
{
    struct odbc_table raw;
    SQLRETURN rc;
    /* id, seq, table, from, to, on_update, on_delete, match */
    odbc_table_init(&raw, 7);
    rc = sqlite_pragma(s, "foreign_key_list", fktable, &raw);
    for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
        char x[7][48], pkcol[256] = "";
        const char *ref = cell_text(&raw, r, 2, x[2]);
        const char *to = cell_text(&raw, r, 4, x[4]);
        if (!ref || (pktable && strcasecmp(ref, pktable) != 0))
            continue;
        int64_t seq = cell_int(&raw, r, 1, 0);
        if (!to) {
            /* REFERENCES t without columns: t's primary key, in order. */
            struct odbc_table pk;
            if (SQL_SUCCEEDED(rc = sqlite_pk(s, ref, &pk)) && (size_t)seq < pk.nrows) {
                char y[48];
                const char *n = cell_text(&pk, (size_t)seq, 0, y);
                snprintf(pkcol, sizeof pkcol, "%s", n ? n : "");
            }
            odbc_table_free(&pk);
            to = pkcol;
        }
        char fkname[64];
        snprintf(fkname, sizeof fkname, "fk_%s_%lld", fktable, (long long)cell_int(&raw, r, 0, 0));
        struct odbc_value row[14] = {
            vnull(), vnull(), vstr(ref), vstr(to), vnull(), vnull(), vstr(fktable),
            vstr(cell_text(&raw, r, 3, x[3])), vint(seq + 1), vint(fk_rule(cell_text(&raw, r, 5, x[5]))),
            vint(fk_rule(cell_text(&raw, r, 6, x[6]))), vstr(fkname), vnull(),
            vint(SQL_NOT_DEFERRABLE)};
        if (odbc_table_add(t, row) < 0)
            rc = odbc_post_oom(&s->h);
    }
    odbc_table_free(&raw);
    return rc;
}

SQLRETURN odbc_foreign_keys(struct odbc_stmt *s, const char *pkcat, const char *pkschem,
                            const char *pktable, const char *fkcat, const char *fkschem,
                            const char *fktable)
{
    struct odbc_table t;
    SQLRETURN rc = prologue(s);
    (void)pkschem;
    (void)fkschem;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (!pktable && !fktable)
        return odbc_post(&s->h, "HY009", 0, "invalid use of null pointer: give the primary key table, the foreign key table, or both");
    odbc_table_init(&t, 14);
    if (is_mysql(s)) {
        struct odbc_table raw;
        const char *params[4];
        int np = 0;
        char sql[1400], where[300] = "";
        if (pktable) {
            strcat(where, pkcat ? " AND k.REFERENCED_TABLE_SCHEMA = ?" : " AND k.REFERENCED_TABLE_SCHEMA = DATABASE()");
            strcat(where, " AND k.REFERENCED_TABLE_NAME = ?");
            if (pkcat)
                params[np++] = pkcat;
            params[np++] = pktable;
        }
        if (fktable) {
            strcat(where, fkcat ? " AND k.TABLE_SCHEMA = ?" : " AND k.TABLE_SCHEMA = DATABASE()");
            strcat(where, " AND k.TABLE_NAME = ?");
            if (fkcat)
                params[np++] = fkcat;
            params[np++] = fktable;
        }
        snprintf(sql, sizeof sql,
                 "SELECT k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, "
                 "k.TABLE_SCHEMA, k.TABLE_NAME, k.COLUMN_NAME, k.ORDINAL_POSITION, r.UPDATE_RULE, "
                 "r.DELETE_RULE, k.CONSTRAINT_NAME, r.UNIQUE_CONSTRAINT_NAME "
                 "FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
                 "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
                 "AND r.TABLE_NAME = k.TABLE_NAME WHERE k.REFERENCED_TABLE_NAME IS NOT NULL%s "
                 "ORDER BY %s, k.ORDINAL_POSITION",
                 where, pktable ? "k.TABLE_SCHEMA, k.TABLE_NAME" : "k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME");
        odbc_table_init(&raw, 11);
        rc = odbc_query_table(s, sql, params, np, &raw);
        for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
            char x[11][48];
            struct odbc_value row[14] = {
                vstr(cell_text(&raw, r, 0, x[0])), vnull(), vstr(cell_text(&raw, r, 1, x[1])),
                vstr(cell_text(&raw, r, 2, x[2])), vstr(cell_text(&raw, r, 3, x[3])), vnull(),
                vstr(cell_text(&raw, r, 4, x[4])), vstr(cell_text(&raw, r, 5, x[5])),
                vint(cell_int(&raw, r, 6, 1)), vint(fk_rule(cell_text(&raw, r, 7, x[7]))),
                vint(fk_rule(cell_text(&raw, r, 8, x[8]))), vstr(cell_text(&raw, r, 9, x[9])),
                vstr(cell_text(&raw, r, 10, x[10])), vint(SQL_NOT_DEFERRABLE)};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
        odbc_table_free(&raw);
    } else if (fktable) {
        rc = sqlite_fk_of(s, fktable, pktable, &t);
    } else {
        struct odbc_table names;
        rc = sqlite_tables_like(s, "%", false, &names);
        for (size_t i = 0; SQL_SUCCEEDED(rc) && i < names.nrows; i++) {
            char x[48];
            const char *n = cell_text(&names, i, 0, x);
            if (n)
                rc = sqlite_fk_of(s, n, pktable, &t);
        }
        odbc_table_free(&names);
    }
    if (!SQL_SUCCEEDED(rc)) {
        odbc_table_free(&t);
        return rc;
    }
    return finish(s, &t, fk_cols, NCOLS(fk_cols));
}

/* ---------------------------------------------------------- SQLSpecialColumns */

SQLRETURN odbc_special_columns(struct odbc_stmt *s, SQLUSMALLINT idtype, const char *cat_in,
                               const char *schem_in, const char *table_in, SQLUSMALLINT scope,
                               SQLUSMALLINT nullable)
{
    struct odbc_table t, raw;
    SQLRETURN rc = prologue(s);
    (void)schem_in;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (!table_in)
        return odbc_post(&s->h, "HY009", 0, "invalid use of null pointer: a table name is required");
    if (idtype != SQL_BEST_ROWID && idtype != SQL_ROWVER)
        return odbc_post(&s->h, "HY097", 0, "column type out of range");
    if (scope != SQL_SCOPE_CURROW && scope != SQL_SCOPE_TRANSACTION && scope != SQL_SCOPE_SESSION)
        return odbc_post(&s->h, "HY098", 0, "scope type out of range");
    if (nullable != SQL_NO_NULLS && nullable != SQL_NULLABLE)
        return odbc_post(&s->h, "HY099", 0, "nullable type out of range");
    odbc_table_init(&t, 8);
    odbc_table_init(&raw, 1);
    if (is_mysql(s)) {
        const char *params[2];
        int np = 0;
        char sql[800];
        snprintf(sql, sizeof sql,
                 "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, "
                 "CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, IS_NULLABLE "
                 "FROM information_schema.COLUMNS WHERE %s AND TABLE_NAME = ? AND %s ORDER BY ORDINAL_POSITION",
                 cat_in ? "TABLE_SCHEMA = ?" : "TABLE_SCHEMA = DATABASE()",
                 idtype == SQL_BEST_ROWID ? "COLUMN_KEY = 'PRI'" : "EXTRA LIKE '%on update%'");
        if (cat_in)
            params[np++] = cat_in;
        params[np++] = table_in;
        odbc_table_free(&raw);
        odbc_table_init(&raw, 9);
        rc = odbc_query_table(s, sql, params, np, &raw);
        for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
            char x[9][48];
            const char *nul = cell_text(&raw, r, 8, x[8]);
            if (nullable == SQL_NO_NULLS && nul && strcmp(nul, "YES") == 0)
                continue;
            struct tfacts f = mysql_facts(s, cell_text(&raw, r, 1, x[1]), cell_text(&raw, r, 2, x[2]),
                                          cell_int(&raw, r, 3, -1), cell_int(&raw, r, 4, -1),
                                          cell_int(&raw, r, 5, -1), cell_int(&raw, r, 6, -1),
                                          cell_int(&raw, r, 7, -1));
            struct odbc_value row[8] = {
                vint(SQL_SCOPE_SESSION), vstr(cell_text(&raw, r, 0, x[0])), vint(app_type(s, f.type)),
                vstr(cell_text(&raw, r, 1, x[1])), vopt(f.size), vopt(f.buflen), vopt(f.digits),
                vint(SQL_PC_NOT_PSEUDO)};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
    } else if (idtype == SQL_BEST_ROWID) {
        odbc_table_free(&raw);
        rc = sqlite_pk(s, table_in, &raw);
        for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
            char x[3][48];
            const char *decl = cell_text(&raw, r, 2, x[2]);
            struct tfacts f = sqlite_facts(s, decl);
            struct odbc_value row[8] = {vint(SQL_SCOPE_SESSION), vstr(cell_text(&raw, r, 0, x[0])),
                                        vint(app_type(s, f.type)), vstr(decl ? decl : ""),
                                        vopt(f.size), vopt(f.buflen), vopt(f.digits),
                                        vint(SQL_PC_NOT_PSEUDO)};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
        if (SQL_SUCCEEDED(rc) && raw.nrows == 0) {
            /* No primary key: SQLite's rowid identifies the row. */
            struct odbc_value row[8] = {vint(SQL_SCOPE_SESSION), vstr("rowid"),
                                        vint(SQL_BIGINT), vstr("INTEGER"), vint(19), vint(8),
                                        vint(0), vint(SQL_PC_PSEUDO)};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
    }
    odbc_table_free(&raw);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_table_free(&t);
        return rc;
    }
    return finish(s, &t, special_cols, NCOLS(special_cols));
}

/* ---------------------------------------------------------- procedures */

SQLRETURN odbc_procedures(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                          const char *proc_in)
{
    struct odbc_table t;
    SQLRETURN rc = prologue(s);
    char *proc;
    (void)schem_in;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    odbc_table_init(&t, 8);
    proc = arg_norm(s, proc_in, true);
    if (proc_in && !proc) {
        rc = odbc_post_oom(&s->h);
    } else if (is_mysql(s)) {
        struct odbc_table raw;
        const char *params[2];
        int np = 0;
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_COMMENT FROM information_schema.ROUTINES "
                 "WHERE %s AND ROUTINE_NAME LIKE ? ORDER BY ROUTINE_SCHEMA, ROUTINE_NAME",
                 cat_in ? "ROUTINE_SCHEMA LIKE ?" : "ROUTINE_SCHEMA = DATABASE()");
        if (cat_in)
            params[np++] = cat_in;
        params[np++] = proc ? proc : "%";
        odbc_table_init(&raw, 4);
        rc = odbc_query_table(s, sql, params, np, &raw);
        for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
            char x[4][48];
            const char *type = cell_text(&raw, r, 2, x[2]);
            struct odbc_value row[8] = {
                vstr(cell_text(&raw, r, 0, x[0])), vnull(), vstr(cell_text(&raw, r, 1, x[1])),
                vnull(), vnull(), vnull(), vstr(cell_text(&raw, r, 3, x[3])),
                vint(type && strcasecmp(type, "FUNCTION") == 0 ? SQL_PT_FUNCTION : SQL_PT_PROCEDURE)};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
        odbc_table_free(&raw);
    }
    free(proc);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_table_free(&t);
        return rc;
    }
    return finish(s, &t, proc_cols, NCOLS(proc_cols));
}

SQLRETURN odbc_procedure_columns(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                                 const char *proc_in, const char *col_in)
{
    struct odbc_table t;
    SQLRETURN rc = prologue(s);
    char *proc, *col;
    (void)schem_in;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    odbc_table_init(&t, 19);
    proc = arg_norm(s, proc_in, true);
    col = arg_norm(s, col_in, true);
    if ((proc_in && !proc) || (col_in && !col)) {
        rc = odbc_post_oom(&s->h);
    } else if (is_mysql(s)) {
        struct odbc_table raw;
        const char *params[3];
        int np = 0;
        char sql[900];
        snprintf(sql, sizeof sql,
                 "SELECT SPECIFIC_SCHEMA, SPECIFIC_NAME, PARAMETER_NAME, PARAMETER_MODE, DATA_TYPE, "
                 "DTD_IDENTIFIER, CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, "
                 "NUMERIC_SCALE, DATETIME_PRECISION, ORDINAL_POSITION FROM information_schema.PARAMETERS "
                 "WHERE %s AND SPECIFIC_NAME LIKE ? AND IFNULL(PARAMETER_NAME, '') LIKE ? "
                 "ORDER BY SPECIFIC_SCHEMA, SPECIFIC_NAME, ORDINAL_POSITION",
                 cat_in ? "SPECIFIC_SCHEMA LIKE ?" : "SPECIFIC_SCHEMA = DATABASE()");
        if (cat_in)
            params[np++] = cat_in;
        params[np++] = proc ? proc : "%";
        params[np++] = col ? col : "%";
        odbc_table_init(&raw, 12);
        rc = odbc_query_table(s, sql, params, np, &raw);
        for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
            char x[12][48];
            const char *mode = cell_text(&raw, r, 3, x[3]);
            int64_t pos = cell_int(&raw, r, 11, 0);
            SQLSMALLINT ctype = pos == 0 ? SQL_RETURN_VALUE
                                : mode && strcasecmp(mode, "OUT") == 0 ? SQL_PARAM_OUTPUT
                                : mode && strcasecmp(mode, "INOUT") == 0 ? SQL_PARAM_INPUT_OUTPUT
                                                                          : SQL_PARAM_INPUT;
            struct tfacts f = mysql_facts(s, cell_text(&raw, r, 4, x[4]), cell_text(&raw, r, 5, x[5]),
                                          cell_int(&raw, r, 6, -1), cell_int(&raw, r, 7, -1),
                                          cell_int(&raw, r, 8, -1), cell_int(&raw, r, 9, -1),
                                          cell_int(&raw, r, 10, -1));
            const char *pname = cell_text(&raw, r, 2, x[2]);
            struct odbc_value row[19] = {
                vstr(cell_text(&raw, r, 0, x[0])), vnull(), vstr(cell_text(&raw, r, 1, x[1])),
                vstr(pname ? pname : ""), vint(ctype), vint(app_type(s, f.type)),
                vstr(cell_text(&raw, r, 4, x[4])), vopt(f.size), vopt(f.buflen), vopt(f.digits),
                vopt(f.radix), vint(SQL_NULLABLE_UNKNOWN), vnull(), vnull(),
                vint(conv_verbose_type(f.type)),
                conv_interval_code(f.type) ? vint(conv_interval_code(f.type)) : vnull(),
                vopt(f.octets), vint(pos), vstr("")};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
        odbc_table_free(&raw);
    }
    free(proc);
    free(col);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_table_free(&t);
        return rc;
    }
    return finish(s, &t, proccol_cols, NCOLS(proccol_cols));
}

/* ---------------------------------------------------------- privileges */

SQLRETURN odbc_column_privileges(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                                 const char *table_in, const char *col_in)
{
    struct odbc_table t;
    SQLRETURN rc = prologue(s);
    char *col;
    (void)schem_in;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (!table_in)
        return odbc_post(&s->h, "HY009", 0, "invalid use of null pointer: a table name is required");
    odbc_table_init(&t, 8);
    col = arg_norm(s, col_in, true);
    if (col_in && !col) {
        rc = odbc_post_oom(&s->h);
    } else if (is_mysql(s)) {
        struct odbc_table raw;
        const char *params[3];
        int np = 0;
        char sql[600];
        snprintf(sql, sizeof sql,
                 "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, GRANTEE, PRIVILEGE_TYPE, IS_GRANTABLE "
                 "FROM information_schema.COLUMN_PRIVILEGES WHERE %s AND TABLE_NAME = ? AND COLUMN_NAME LIKE ? "
                 "ORDER BY COLUMN_NAME, PRIVILEGE_TYPE",
                 cat_in ? "TABLE_SCHEMA = ?" : "TABLE_SCHEMA = DATABASE()");
        if (cat_in)
            params[np++] = cat_in;
        params[np++] = table_in;
        params[np++] = col ? col : "%";
        odbc_table_init(&raw, 6);
        rc = odbc_query_table(s, sql, params, np, &raw);
        for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
            char x[6][48];
            struct odbc_value row[8] = {
                vstr(cell_text(&raw, r, 0, x[0])), vnull(), vstr(cell_text(&raw, r, 1, x[1])),
                vstr(cell_text(&raw, r, 2, x[2])), vnull(), vstr(cell_text(&raw, r, 3, x[3])),
                vstr(cell_text(&raw, r, 4, x[4])), vstr(cell_text(&raw, r, 5, x[5]))};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
        odbc_table_free(&raw);
    }
    free(col);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_table_free(&t);
        return rc;
    }
    return finish(s, &t, colpriv_cols, NCOLS(colpriv_cols));
}

SQLRETURN odbc_table_privileges(struct odbc_stmt *s, const char *cat_in, const char *schem_in,
                                const char *table_in)
{
    struct odbc_table t;
    SQLRETURN rc = prologue(s);
    char *cat, *table;
    (void)schem_in;
    if (!SQL_SUCCEEDED(rc))
        return rc;
    odbc_table_init(&t, 7);
    cat = arg_norm(s, cat_in, true);
    table = arg_norm(s, table_in, true);
    if ((cat_in && !cat) || (table_in && !table)) {
        rc = odbc_post_oom(&s->h);
    } else if (is_mysql(s)) {
        struct odbc_table raw;
        const char *params[2];
        int np = 0;
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT TABLE_SCHEMA, TABLE_NAME, GRANTEE, PRIVILEGE_TYPE, IS_GRANTABLE "
                 "FROM information_schema.TABLE_PRIVILEGES WHERE %s AND TABLE_NAME LIKE ? "
                 "ORDER BY TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE",
                 cat ? "TABLE_SCHEMA LIKE ?" : "TABLE_SCHEMA = DATABASE()");
        if (cat)
            params[np++] = cat;
        params[np++] = table ? table : "%";
        odbc_table_init(&raw, 5);
        rc = odbc_query_table(s, sql, params, np, &raw);
        for (size_t r = 0; SQL_SUCCEEDED(rc) && r < raw.nrows; r++) {
            char x[5][48];
            struct odbc_value row[7] = {
                vstr(cell_text(&raw, r, 0, x[0])), vnull(), vstr(cell_text(&raw, r, 1, x[1])),
                vnull(), vstr(cell_text(&raw, r, 2, x[2])), vstr(cell_text(&raw, r, 3, x[3])),
                vstr(cell_text(&raw, r, 4, x[4]))};
            if (odbc_table_add(&t, row) < 0)
                rc = odbc_post_oom(&s->h);
        }
        odbc_table_free(&raw);
    }
    free(cat);
    free(table);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_table_free(&t);
        return rc;
    }
    return finish(s, &t, tabpriv_cols, NCOLS(tabpriv_cols));
}

/* ---------------------------------------------------------- ANSI entry points */

/* Copy a catalog argument (len SQL_NTS or a length); NULL stays NULL. */
static int cat_arg(struct odbc_stmt *s, SQLCHAR *in, SQLSMALLINT len, char **out)
{
    int r = odbc_strarg((const char *)in, len, out);
    if (r == -1)
        return odbc_post(&s->h, "HY090", 0, "invalid string or buffer length"), -1;
    if (in && !*out)
        return odbc_post_oom(&s->h), -1;
    return 0;
}

#define CAT_ENTER(hstmt, s)                     \
    struct odbc_stmt *s = odbc_stmt_cast(hstmt); \
    if (!s)                                      \
        return SQL_INVALID_HANDLE;               \
    odbc_enter(&s->h, false)

SQLRETURN SQL_API SQLTables(SQLHSTMT hstmt, SQLCHAR *cat, SQLSMALLINT catlen, SQLCHAR *schem,
                            SQLSMALLINT schemlen, SQLCHAR *table, SQLSMALLINT tablelen,
                            SQLCHAR *types, SQLSMALLINT typeslen)
{
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    SQLRETURN rc = SQL_ERROR;
    CAT_ENTER(hstmt, s);
    if (cat_arg(s, cat, catlen, &a) == 0 && cat_arg(s, schem, schemlen, &b) == 0 &&
        cat_arg(s, table, tablelen, &c) == 0 && cat_arg(s, types, typeslen, &d) == 0)
        rc = odbc_tables(s, a, b, c, d);
    free(a), free(b), free(c), free(d);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLColumns(SQLHSTMT hstmt, SQLCHAR *cat, SQLSMALLINT catlen, SQLCHAR *schem,
                             SQLSMALLINT schemlen, SQLCHAR *table, SQLSMALLINT tablelen,
                             SQLCHAR *col, SQLSMALLINT collen)
{
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    SQLRETURN rc = SQL_ERROR;
    CAT_ENTER(hstmt, s);
    if (cat_arg(s, cat, catlen, &a) == 0 && cat_arg(s, schem, schemlen, &b) == 0 &&
        cat_arg(s, table, tablelen, &c) == 0 && cat_arg(s, col, collen, &d) == 0)
        rc = odbc_columns(s, a, b, c, d);
    free(a), free(b), free(c), free(d);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLStatistics(SQLHSTMT hstmt, SQLCHAR *cat, SQLSMALLINT catlen, SQLCHAR *schem,
                                SQLSMALLINT schemlen, SQLCHAR *table, SQLSMALLINT tablelen,
                                SQLUSMALLINT unique, SQLUSMALLINT reserved)
{
    char *a = NULL, *b = NULL, *c = NULL;
    SQLRETURN rc = SQL_ERROR;
    CAT_ENTER(hstmt, s);
    if (cat_arg(s, cat, catlen, &a) == 0 && cat_arg(s, schem, schemlen, &b) == 0 &&
        cat_arg(s, table, tablelen, &c) == 0)
        rc = odbc_statistics(s, a, b, c, unique, reserved);
    free(a), free(b), free(c);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLPrimaryKeys(SQLHSTMT hstmt, SQLCHAR *cat, SQLSMALLINT catlen, SQLCHAR *schem,
                                 SQLSMALLINT schemlen, SQLCHAR *table, SQLSMALLINT tablelen)
{
    char *a = NULL, *b = NULL, *c = NULL;
    SQLRETURN rc = SQL_ERROR;
    CAT_ENTER(hstmt, s);
    if (cat_arg(s, cat, catlen, &a) == 0 && cat_arg(s, schem, schemlen, &b) == 0 &&
        cat_arg(s, table, tablelen, &c) == 0)
        rc = odbc_primary_keys(s, a, b, c);
    free(a), free(b), free(c);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLForeignKeys(SQLHSTMT hstmt, SQLCHAR *pkcat, SQLSMALLINT pkcatlen,
                                 SQLCHAR *pkschem, SQLSMALLINT pkschemlen, SQLCHAR *pktable,
                                 SQLSMALLINT pktablelen, SQLCHAR *fkcat, SQLSMALLINT fkcatlen,
                                 SQLCHAR *fkschem, SQLSMALLINT fkschemlen, SQLCHAR *fktable,
                                 SQLSMALLINT fktablelen)
{
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;
    SQLRETURN rc = SQL_ERROR;
    CAT_ENTER(hstmt, s);
    if (cat_arg(s, pkcat, pkcatlen, &a) == 0 && cat_arg(s, pkschem, pkschemlen, &b) == 0 &&
        cat_arg(s, pktable, pktablelen, &c) == 0 && cat_arg(s, fkcat, fkcatlen, &d) == 0 &&
        cat_arg(s, fkschem, fkschemlen, &e) == 0 && cat_arg(s, fktable, fktablelen, &f) == 0)
        rc = odbc_foreign_keys(s, a, b, c, d, e, f);
    free(a), free(b), free(c), free(d), free(e), free(f);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLSpecialColumns(SQLHSTMT hstmt, SQLUSMALLINT idtype, SQLCHAR *cat,
                                    SQLSMALLINT catlen, SQLCHAR *schem, SQLSMALLINT schemlen,
                                    SQLCHAR *table, SQLSMALLINT tablelen, SQLUSMALLINT scope,
                                    SQLUSMALLINT nullable)
{
    char *a = NULL, *b = NULL, *c = NULL;
    SQLRETURN rc = SQL_ERROR;
    CAT_ENTER(hstmt, s);
    if (cat_arg(s, cat, catlen, &a) == 0 && cat_arg(s, schem, schemlen, &b) == 0 &&
        cat_arg(s, table, tablelen, &c) == 0)
        rc = odbc_special_columns(s, idtype, a, b, c, scope, nullable);
    free(a), free(b), free(c);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLProcedures(SQLHSTMT hstmt, SQLCHAR *cat, SQLSMALLINT catlen, SQLCHAR *schem,
                                SQLSMALLINT schemlen, SQLCHAR *proc, SQLSMALLINT proclen)
{
    char *a = NULL, *b = NULL, *c = NULL;
    SQLRETURN rc = SQL_ERROR;
    CAT_ENTER(hstmt, s);
    if (cat_arg(s, cat, catlen, &a) == 0 && cat_arg(s, schem, schemlen, &b) == 0 &&
        cat_arg(s, proc, proclen, &c) == 0)
        rc = odbc_procedures(s, a, b, c);
    free(a), free(b), free(c);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLProcedureColumns(SQLHSTMT hstmt, SQLCHAR *cat, SQLSMALLINT catlen,
                                      SQLCHAR *schem, SQLSMALLINT schemlen, SQLCHAR *proc,
                                      SQLSMALLINT proclen, SQLCHAR *col, SQLSMALLINT collen)
{
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    SQLRETURN rc = SQL_ERROR;
    CAT_ENTER(hstmt, s);
    if (cat_arg(s, cat, catlen, &a) == 0 && cat_arg(s, schem, schemlen, &b) == 0 &&
        cat_arg(s, proc, proclen, &c) == 0 && cat_arg(s, col, collen, &d) == 0)
        rc = odbc_procedure_columns(s, a, b, c, d);
    free(a), free(b), free(c), free(d);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLColumnPrivileges(SQLHSTMT hstmt, SQLCHAR *cat, SQLSMALLINT catlen,
                                      SQLCHAR *schem, SQLSMALLINT schemlen, SQLCHAR *table,
                                      SQLSMALLINT tablelen, SQLCHAR *col, SQLSMALLINT collen)
{
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    SQLRETURN rc = SQL_ERROR;
    CAT_ENTER(hstmt, s);
    if (cat_arg(s, cat, catlen, &a) == 0 && cat_arg(s, schem, schemlen, &b) == 0 &&
        cat_arg(s, table, tablelen, &c) == 0 && cat_arg(s, col, collen, &d) == 0)
        rc = odbc_column_privileges(s, a, b, c, d);
    free(a), free(b), free(c), free(d);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLTablePrivileges(SQLHSTMT hstmt, SQLCHAR *cat, SQLSMALLINT catlen,
                                     SQLCHAR *schem, SQLSMALLINT schemlen, SQLCHAR *table,
                                     SQLSMALLINT tablelen)
{
    char *a = NULL, *b = NULL, *c = NULL;
    SQLRETURN rc = SQL_ERROR;
    CAT_ENTER(hstmt, s);
    if (cat_arg(s, cat, catlen, &a) == 0 && cat_arg(s, schem, schemlen, &b) == 0 &&
        cat_arg(s, table, tablelen, &c) == 0)
        rc = odbc_table_privileges(s, a, b, c);
    free(a), free(b), free(c);
    return odbc_leave(&s->h, rc);
}

SQLRETURN SQL_API SQLGetTypeInfo(SQLHSTMT hstmt, SQLSMALLINT type)
{
    CAT_ENTER(hstmt, s);
    return odbc_leave(&s->h, odbc_get_type_info(s, type));
}
