/* ODBC escape clause rewriting for the Recall ODBC driver.
 *
 * One pass over the SQL text: quoted strings, quoted identifiers and
 * comments are copied verbatim; a '{' that opens an ODBC escape has its body
 * rewritten recursively (so escapes nest) and is then replaced by the
 * dialect's spelling; anything else is copied.  Literals inside escapes
 * ({d '..'}, {escape '\'}) follow standard SQL quoting and are re-quoted for
 * the dialect.  See escape.h.
 */
#include "config.h"

#include "escape.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct esc {
    const char *s;
    size_t n, i;
    enum esc_dialect dia;
    char *state, *msg;
    size_t msglen;
    int depth;
};

#define ESC_MAX_DEPTH 64
#define ESC_MAX_ARGS 16

static int esc_fail(struct esc *e, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int esc_fail(struct esc *e, const char *state, const char *fmt, ...)
{
    va_list ap;
    memcpy(e->state, state, 6);
    va_start(ap, fmt);
    vsnprintf(e->msg, e->msglen, fmt, ap);
    va_end(ap);
    return -1;
}

static int put(struct esc *e, struct buf *out, const void *p, size_t n)
{
    if (buf_append(out, p, n) < 0)
        return esc_fail(e, "HY001", "out of memory");
    return 0;
}

static int puts_(struct esc *e, struct buf *out, const char *s)
{
    return put(e, out, s, strlen(s));
}

static bool blank(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void skip_blanks(struct esc *e)
{
    while (e->i < e->n && blank((unsigned char)e->s[e->i]))
        e->i++;
}

/* Copy a quoted string or identifier starting at s[i] == q. */
static int copy_quoted(struct esc *e, struct buf *out, char q, char close)
{
    size_t start = e->i;
    bool backslash = e->dia == ESC_MYSQL && (q == '\'' || q == '"');
    e->i++;
    while (e->i < e->n) {
        char c = e->s[e->i];
        if (backslash && c == '\\' && e->i + 1 < e->n) {
            e->i += 2;
            continue;
        }
        e->i++;
        if (c == close) {
            if (close != ']' && e->i < e->n && e->s[e->i] == close) {
                e->i++; /* doubled quote */
                continue;
            }
            return put(e, out, e->s + start, e->i - start);
        }
    }
    return esc_fail(e, "42000", "syntax error: unterminated quoted text starting at offset %zu",
                    start);
}

/* Copy a comment that starts at s[i]; line comments end at a newline. */
static int copy_comment(struct esc *e, struct buf *out, bool line)
{
    size_t start = e->i;
    if (line) {
        while (e->i < e->n && e->s[e->i] != '\n')
            e->i++;
    } else {
        const char *end = NULL;
        for (size_t j = e->i + 2; j + 1 < e->n; j++)
            if (e->s[j] == '*' && e->s[j + 1] == '/') {
                end = e->s + j + 2;
                break;
            }
        e->i = end ? (size_t)(end - e->s) : e->n;
    }
    return put(e, out, e->s + start, e->i - start);
}

/* A standard SQL string literal ('' doubles a quote) at s[i]; the value
 * (unquoted) is appended to val. */
static int std_literal(struct esc *e, struct buf *val)
{
    skip_blanks(e);
    if (e->i >= e->n || e->s[e->i] != '\'')
        return esc_fail(e, "42000", "syntax error: a quoted literal is expected at offset %zu",
                        e->i);
    e->i++;
    while (e->i < e->n) {
        char c = e->s[e->i++];
        if (c == '\'') {
            if (e->i < e->n && e->s[e->i] == '\'') {
                e->i++;
                if (put(e, val, "'", 1) < 0)
                    return -1;
                continue;
            }
            return 0;
        }
        if (put(e, val, &c, 1) < 0)
            return -1;
    }
    return esc_fail(e, "42000", "syntax error: unterminated literal in an escape clause");
}

/* Emit a string literal quoted for the dialect. */
static int emit_literal(struct esc *e, struct buf *out, const char *v, size_t n)
{
    if (put(e, out, "'", 1) < 0)
        return -1;
    for (size_t k = 0; k < n; k++) {
        const char *rep = NULL;
        if (v[k] == '\'')
            rep = "''";
        else if (v[k] == '\\' && e->dia == ESC_MYSQL)
            rep = "\\\\";
        if (rep ? puts_(e, out, rep) : put(e, out, v + k, 1))
            return -1;
    }
    return put(e, out, "'", 1);
}

static int expect_close(struct esc *e, const char *what)
{
    skip_blanks(e);
    if (e->i >= e->n || e->s[e->i] != '}')
        return esc_fail(e, "42000", "syntax error: '}' expected to close the %s escape", what);
    e->i++;
    return 0;
}

static int rewrite(struct esc *e, struct buf *out, bool in_escape);

/* ---- scalar functions ---- */

struct fnmap {
    const char *name;
    int nargs; /* -1: any */
    const char *tmpl; /* $1..$9 are arguments, $* all of them */
};

static const struct fnmap sqlite_fns[] = {
    {"UCASE", 1, "upper($1)"},
    {"LCASE", 1, "lower($1)"},
    {"LENGTH", 1, "length($1)"},
    {"CHAR_LENGTH", 1, "length($1)"},
    {"CHARACTER_LENGTH", 1, "length($1)"},
    {"OCTET_LENGTH", 1, "length(CAST($1 AS BLOB))"},
    {"SUBSTRING", -1, "substr($*)"},
    {"LOCATE", 2, "instr($2, $1)"},
    {"CONCAT", 2, "($1 || $2)"},
    {"LEFT", 2, "substr($1, 1, $2)"},
    {"RIGHT", 2, "substr($1, -($2))"},
    {"NOW", 0, "CURRENT_TIMESTAMP"},
    {"CURRENT_TIMESTAMP", -1, "CURRENT_TIMESTAMP"},
    {"CURDATE", 0, "CURRENT_DATE"},
    {"CURRENT_DATE", 0, "CURRENT_DATE"},
    {"CURTIME", 0, "CURRENT_TIME"},
    {"CURRENT_TIME", -1, "CURRENT_TIME"},
    {"YEAR", 1, "CAST(strftime('%Y', $1) AS INTEGER)"},
    {"MONTH", 1, "CAST(strftime('%m', $1) AS INTEGER)"},
    {"DAYOFMONTH", 1, "CAST(strftime('%d', $1) AS INTEGER)"},
    {"HOUR", 1, "CAST(strftime('%H', $1) AS INTEGER)"},
    {"MINUTE", 1, "CAST(strftime('%M', $1) AS INTEGER)"},
    {"SECOND", 1, "CAST(strftime('%S', $1) AS INTEGER)"},
    {"DAYOFYEAR", 1, "CAST(strftime('%j', $1) AS INTEGER)"},
    {"WEEK", 1, "CAST(strftime('%W', $1) AS INTEGER)"},
    {"DAYOFWEEK", 1, "(CAST(strftime('%w', $1) AS INTEGER) + 1)"},
    {"QUARTER", 1, "((CAST(strftime('%m', $1) AS INTEGER) + 2) / 3)"},
    {"MOD", 2, "($1 % $2)"},
    {"DATABASE", 0, "'main'"},
    {"USER", 0, "''"},
    {"SPACE", 1, "printf('%*s', $1, '')"},
    {NULL, 0, NULL}};

static const struct fnmap mysql_fns[] = {
    {NULL, 0, NULL}};

/* CONVERT(x, SQL_type) target names. */
struct convmap {
    const char *odbc, *mysql, *sqlite;
};

static const struct convmap conv_types[] = {
    {"SQL_BIGINT", "SIGNED", "INTEGER"},
    {"SQL_INTEGER", "SIGNED", "INTEGER"},
    {"SQL_SMALLINT", "SIGNED", "INTEGER"},
    {"SQL_TINYINT", "SIGNED", "INTEGER"},
    {"SQL_BIT", "UNSIGNED", "INTEGER"},
    {"SQL_CHAR", "CHAR", "TEXT"},
    {"SQL_VARCHAR", "CHAR", "TEXT"},
    {"SQL_LONGVARCHAR", "CHAR", "TEXT"},
    {"SQL_WCHAR", "CHAR", "TEXT"},
    {"SQL_WVARCHAR", "CHAR", "TEXT"},
    {"SQL_WLONGVARCHAR", "CHAR", "TEXT"},
    {"SQL_DECIMAL", "DECIMAL(65,30)", "NUMERIC"},
    {"SQL_NUMERIC", "DECIMAL(65,30)", "NUMERIC"},
    {"SQL_DOUBLE", "DOUBLE", "REAL"},
    {"SQL_FLOAT", "DOUBLE", "REAL"},
    {"SQL_REAL", "DOUBLE", "REAL"},
    {"SQL_DATE", "DATE", "TEXT"},
    {"SQL_TYPE_DATE", "DATE", "TEXT"},
    {"SQL_TIME", "TIME", "TEXT"},
    {"SQL_TYPE_TIME", "TIME", "TEXT"},
    {"SQL_TIMESTAMP", "DATETIME(6)", "TEXT"},
    {"SQL_TYPE_TIMESTAMP", "DATETIME(6)", "TEXT"},
    {"SQL_BINARY", "BINARY", "BLOB"},
    {"SQL_VARBINARY", "BINARY", "BLOB"},
    {"SQL_LONGVARBINARY", "BINARY", "BLOB"},
    {NULL, NULL, NULL}};

/* TIMESTAMPADD/TIMESTAMPDIFF intervals: ODBC name, MySQL unit, SQLite unit
 * and seconds (SQLite differences). */
struct tsimap {
    const char *odbc, *mysql, *sqlite;
    double per_day;
};

static const struct tsimap tsi_units[] = {
    {"SQL_TSI_FRAC_SECOND", "MICROSECOND", NULL, 86400e6},
    {"SQL_TSI_SECOND", "SECOND", "seconds", 86400},
    {"SQL_TSI_MINUTE", "MINUTE", "minutes", 1440},
    {"SQL_TSI_HOUR", "HOUR", "hours", 24},
    {"SQL_TSI_DAY", "DAY", "days", 1},
    {"SQL_TSI_WEEK", "WEEK", NULL, 1.0 / 7},
    {"SQL_TSI_MONTH", "MONTH", "months", 0},
    {"SQL_TSI_QUARTER", "QUARTER", NULL, 0},
    {"SQL_TSI_YEAR", "YEAR", "years", 0},
    {NULL, NULL, NULL, 0}};

struct arg {
    const char *p;
    size_t n;
};

static void trim_arg(struct arg *a)
{
    while (a->n && blank((unsigned char)a->p[0]))
        a->p++, a->n--;
    while (a->n && blank((unsigned char)a->p[a->n - 1]))
        a->n--;
}

/* Split "a, f(b, c), 'x,y'" at top-level commas.  Returns the count or -1. */
static int split_args(struct esc *e, const char *p, size_t n, struct arg *args)
{
    int na = 0, depth = 0;
    size_t start = 0;
    char q = 0;
    bool all_blank = true;
    for (size_t k = 0; k < n; k++) {
        char c = p[k];
        if (!blank((unsigned char)c))
            all_blank = false;
        if (q) {
            if (c == '\\' && e->dia == ESC_MYSQL && q != '`' && k + 1 < n)
                k++;
            else if (c == q)
                q = 0;
            continue;
        }
        if (c == '\'' || c == '"' || c == '`')
            q = c;
        else if (c == '(')
            depth++;
        else if (c == ')')
            depth--;
        else if (c == ',' && depth == 0) {
            if (na >= ESC_MAX_ARGS)
                return esc_fail(e, "42000", "syntax error: too many function arguments");
            args[na].p = p + start;
            args[na].n = k - start;
            trim_arg(&args[na]);
            na++;
            start = k + 1;
        }
    }
    if (all_blank && na == 0)
        return 0;
    if (na >= ESC_MAX_ARGS)
        return esc_fail(e, "42000", "syntax error: too many function arguments");
    args[na].p = p + start;
    args[na].n = n - start;
    trim_arg(&args[na]);
    return na + 1;
}

static int emit_template(struct esc *e, struct buf *out, const char *t, const struct arg *args,
                         int na)
{
    for (; *t; t++) {
        if (*t == '$' && t[1] >= '1' && t[1] <= '9') {
            int k = t[1] - '1';
            if (k >= na)
                return esc_fail(e, "42000", "syntax error: missing function argument");
            if (put(e, out, args[k].p, args[k].n) < 0)
                return -1;
            t++;
        } else if (*t == '$' && t[1] == '*') {
            for (int k = 0; k < na; k++)
                if ((k && puts_(e, out, ", ") < 0) || put(e, out, args[k].p, args[k].n) < 0)
                    return -1;
            t++;
        } else if (put(e, out, t, 1) < 0) {
            return -1;
        }
    }
    return 0;
}

static bool arg_is(const struct arg *a, const char *word)
{
    return a->n == strlen(word) && strncasecmp(a->p, word, a->n) == 0;
}

/* {fn name(args)} with the body already rewritten into body[0..n). */
static int emit_function(struct esc *e, struct buf *out, const char *body, size_t n)
{
    struct arg args[ESC_MAX_ARGS];
    size_t k = 0, name0, name1;
    int na;
    while (k < n && blank((unsigned char)body[k]))
        k++;
    name0 = k;
    while (k < n && (isalnum((unsigned char)body[k]) || body[k] == '_'))
        k++;
    name1 = k;
    if (name1 == name0)
        return esc_fail(e, "42000", "syntax error: a function name is expected after {fn");
    while (k < n && blank((unsigned char)body[k]))
        k++;
    const char *name = body + name0;
    size_t nlen = name1 - name0;
    bool parens = k < n && body[k] == '(';
    if (parens) {
        size_t end = n;
        while (end > k && blank((unsigned char)body[end - 1]))
            end--;
        if (end <= k + 1 || body[end - 1] != ')')
            return esc_fail(e, "42000", "syntax error: unbalanced parentheses in {fn %.*s}",
                            (int)nlen, name);
        na = split_args(e, body + k + 1, end - 1 - (k + 1), args);
        if (na < 0)
            return -1;
    } else {
        if (k != n)
            return esc_fail(e, "42000", "syntax error in {fn %.*s}", (int)nlen, name);
        na = 0;
    }
#define NAME_IS(lit) (nlen == sizeof(lit) - 1 && strncasecmp(name, lit, nlen) == 0)
    if (NAME_IS("CONVERT")) {
        if (na != 2)
            return esc_fail(e, "42000", "syntax error: CONVERT takes a value and a SQL type");
        for (const struct convmap *m = conv_types; m->odbc; m++)
            if (arg_is(&args[1], m->odbc)) {
                if (puts_(e, out, "CAST(") < 0 || put(e, out, args[0].p, args[0].n) < 0 ||
                    puts_(e, out, " AS ") < 0 ||
                    puts_(e, out, e->dia == ESC_MYSQL ? m->mysql : m->sqlite) < 0)
                    return -1;
                return puts_(e, out, ")");
            }
        return esc_fail(e, "HYC00", "CONVERT to %.*s is not supported", (int)args[1].n, args[1].p);
    }
    if (NAME_IS("TIMESTAMPADD") || NAME_IS("TIMESTAMPDIFF")) {
        bool add = NAME_IS("TIMESTAMPADD");
        const struct tsimap *u = NULL;
        if (na != 3)
            return esc_fail(e, "42000", "syntax error: %s takes three arguments",
                            add ? "TIMESTAMPADD" : "TIMESTAMPDIFF");
        for (const struct tsimap *m = tsi_units; m->odbc; m++)
            if (arg_is(&args[0], m->odbc) || arg_is(&args[0], m->odbc + 8))
                u = m;
        if (!u)
            return esc_fail(e, "42000", "syntax error: unknown interval %.*s", (int)args[0].n,
                            args[0].p);
        if (e->dia == ESC_MYSQL) {
            struct arg a[3] = {{u->mysql, strlen(u->mysql)}, args[1], args[2]};
            return emit_template(e, out, add ? "TIMESTAMPADD($1, $2, $3)" : "TIMESTAMPDIFF($1, $2, $3)",
                                 a, 3);
        }
        char tmpl[160];
        if (add) {
            if (!u->sqlite && !arg_is(&args[0], "SQL_TSI_WEEK"))
                return esc_fail(e, "HYC00", "TIMESTAMPADD with %.*s is not supported on SQLite",
                                (int)args[0].n, args[0].p);
            snprintf(tmpl, sizeof tmpl,
                     u->sqlite ? "datetime($3, ($2) || ' %s')" : "datetime($3, (($2) * 7) || ' days')",
                     u->sqlite ? u->sqlite : "");
        } else {
            if (u->per_day == 0)
                return esc_fail(e, "HYC00", "TIMESTAMPDIFF with %.*s is not supported on SQLite",
                                (int)args[0].n, args[0].p);
            snprintf(tmpl, sizeof tmpl, "CAST((julianday($3) - julianday($2)) * %.17g AS INTEGER)",
                     u->per_day);
        }
        return emit_template(e, out, tmpl, args, 3);
    }
    const struct fnmap *tab = e->dia == ESC_SQLITE ? sqlite_fns : mysql_fns;
    for (const struct fnmap *m = tab; m->name; m++) {
        if (strlen(m->name) == nlen && strncasecmp(m->name, name, nlen) == 0 &&
            (m->nargs < 0 || m->nargs == na))
            return emit_template(e, out, m->tmpl, args, na);
    }
#undef NAME_IS
    /* Every other function is spelled the same way in the dialect. */
    return put(e, out, body + name0, n - name0);
}

/* At s[i] == '{': rewrite an escape, or copy the brace if it opens none. */
static int escape_at(struct esc *e, struct buf *out)
{
    size_t open = e->i, kw0, kwlen;
    struct buf tmp;
    int rc = -1;
    e->i++;
    skip_blanks(e);
    kw0 = e->i;
    if (e->i < e->n && e->s[e->i] == '?') {
        /* {? = call proc(...)}: output parameters are not supported. */
        return esc_fail(e, "HYC00", "procedure return values ({? = call ...}) are not supported");
    }
    while (e->i < e->n && isalpha((unsigned char)e->s[e->i]))
        e->i++;
    kwlen = e->i - kw0;
    const char *kw = e->s + kw0;
#define KW_IS(lit) (kwlen == sizeof(lit) - 1 && strncasecmp(kw, lit, kwlen) == 0)
    bool follows_ok = e->i < e->n && (blank((unsigned char)e->s[e->i]) || e->s[e->i] == '\'');
    if (!follows_ok ||
        !(KW_IS("fn") || KW_IS("d") || KW_IS("t") || KW_IS("ts") || KW_IS("call") ||
          KW_IS("oj") || KW_IS("escape") || KW_IS("interval") || KW_IS("guid"))) {
        /* Not an escape: copy the brace and scan on after it. */
        e->i = open + 1;
        return put(e, out, "{", 1);
    }
    if (++e->depth > ESC_MAX_DEPTH)
        return esc_fail(e, "42000", "syntax error: escape clauses nested too deeply");
    buf_init(&tmp);
    if (KW_IS("d") || KW_IS("t") || KW_IS("ts") || KW_IS("guid") || KW_IS("escape")) {
        if (std_literal(e, &tmp) < 0 || expect_close(e, "literal") < 0)
            goto out;
        const char *prefix = "";
        if (e->dia == ESC_MYSQL)
            prefix = KW_IS("d") ? "DATE " : KW_IS("t") ? "TIME " : KW_IS("ts") ? "TIMESTAMP " : "";
        if (KW_IS("escape") && puts_(e, out, " ESCAPE ") < 0)
            goto out;
        if (puts_(e, out, prefix) < 0 ||
            emit_literal(e, out, tmp.len ? (const char *)tmp.data : "", tmp.len) < 0)
            goto out;
        rc = 0;
        goto out;
    }
    /* Bodies with SQL in them: fn, call, oj, interval. */
    if (rewrite(e, &tmp, true) < 0)
        goto out;
    if (e->i >= e->n || e->s[e->i] != '}') {
        esc_fail(e, "42000", "syntax error: the escape clause opened at offset %zu is not closed",
                 open);
        goto out;
    }
    e->i++;
    const char *body = tmp.len ? (const char *)tmp.data : "";
    if (KW_IS("fn")) {
        rc = emit_function(e, out, body, tmp.len);
    } else if (KW_IS("call")) {
        size_t k = 0;
        while (k < tmp.len && blank((unsigned char)body[k]))
            k++;
        rc = puts_(e, out, "CALL ") < 0 ? -1 : put(e, out, body + k, tmp.len - k);
    } else if (KW_IS("oj")) {
        rc = put(e, out, body, tmp.len);
    } else { /* interval */
        rc = puts_(e, out, "INTERVAL") < 0 ? -1 : put(e, out, body, tmp.len);
    }
#undef KW_IS
out:
    e->depth--;
    buf_close(&tmp);
    return rc;
}

static int rewrite(struct esc *e, struct buf *out, bool in_escape)
{
    while (e->i < e->n) {
        char c = e->s[e->i];
        char next = e->i + 1 < e->n ? e->s[e->i + 1] : 0;
        int rc;
        if (c == '\'' || c == '"')
            rc = copy_quoted(e, out, c, c);
        else if (c == '`')
            rc = copy_quoted(e, out, c, c);
        else if (c == '[' && e->dia == ESC_SQLITE)
            rc = copy_quoted(e, out, c, ']');
        else if (c == '-' && next == '-' &&
                 (e->dia == ESC_SQLITE || e->i + 2 >= e->n ||
                  blank((unsigned char)e->s[e->i + 2]) || iscntrl((unsigned char)e->s[e->i + 2])))
            rc = copy_comment(e, out, true);
        else if (c == '#' && e->dia == ESC_MYSQL)
            rc = copy_comment(e, out, true);
        else if (c == '/' && next == '*')
            rc = copy_comment(e, out, false);
        else if (c == '{')
            rc = escape_at(e, out);
        else if (c == '}' && in_escape)
            return 0;
        else {
            rc = put(e, out, &c, 1);
            e->i++;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

int escape_rewrite(const char *sql, size_t n, enum esc_dialect dialect, struct buf *out,
                   char state[6], char *msg, size_t msglen)
{
    struct esc e = {.s = sql, .n = n, .dia = dialect, .state = state, .msg = msg, .msglen = msglen};
    size_t start = out->len;
    state[0] = 0;
    if (msglen)
        msg[0] = 0;
    if (rewrite(&e, out, false) < 0) {
        out->len = start;
        return -1;
    }
    if (buf_append(out, "", 1) < 0) {
        out->len = start;
        return esc_fail(&e, "HY001", "out of memory");
    }
    out->len--;
    return 0;
}
