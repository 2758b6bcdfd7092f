/* SQL <-> C data conversions (ODBC Appendix D) for the Recall ODBC driver.
 *
 * Both directions go through a small intermediate form: numbers as exact
 * decimals (struct dec) or doubles, dates and times as struct conv_dt,
 * intervals as their ODBC struct, and text or bytes.  Each target type then
 * applies its own range, truncation and validity rules and reports the
 * SQLSTATE the ODBC conversion tables give for the case.  See convert.h.
 */
#include "config.h"

#include "convert.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wide.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

static int fail(struct conv_diag *d, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int warn(struct conv_diag *d, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_diag(struct conv_diag *d, const char *state, const char *fmt, va_list ap)
{
    memcpy(d->state, state, 5);
    d->state[5] = 0;
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
}

static int fail(struct conv_diag *d, const char *state, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_diag(d, state, fmt, ap);
    va_end(ap);
    return CONV_ERROR;
}

static int warn(struct conv_diag *d, const char *state, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_diag(d, state, fmt, ap);
    va_end(ap);
    return CONV_INFO;
}

static int oom(struct conv_diag *d)
{
    return fail(d, "HY001", "out of memory");
}

/* ------------------------------------------------------------ type facts */

enum conv_sqlcat conv_sql_category(SQLSMALLINT t)
{
    switch (t) {
    case SQL_CHAR: case SQL_VARCHAR: case SQL_LONGVARCHAR:
    case SQL_WCHAR: case SQL_WVARCHAR: case SQL_WLONGVARCHAR:
        return CAT_CHAR;
    case SQL_DECIMAL: case SQL_NUMERIC: case SQL_TINYINT: case SQL_SMALLINT:
    case SQL_INTEGER: case SQL_BIGINT:
        return CAT_EXACT;
    case SQL_REAL: case SQL_FLOAT: case SQL_DOUBLE:
        return CAT_APPROX;
    case SQL_BIT:
        return CAT_BIT;
    case SQL_BINARY: case SQL_VARBINARY: case SQL_LONGVARBINARY:
        return CAT_BINARY;
    case SQL_TYPE_DATE: case SQL_DATE:
        return CAT_DATE;
    case SQL_TYPE_TIME: case SQL_TIME:
        return CAT_TIME;
    case SQL_TYPE_TIMESTAMP: case SQL_TIMESTAMP:
        return CAT_TIMESTAMP;
    case SQL_INTERVAL_YEAR: case SQL_INTERVAL_MONTH: case SQL_INTERVAL_YEAR_TO_MONTH:
        return CAT_INTERVAL_YM;
    case SQL_INTERVAL_DAY: case SQL_INTERVAL_HOUR: case SQL_INTERVAL_MINUTE:
    case SQL_INTERVAL_SECOND: case SQL_INTERVAL_DAY_TO_HOUR: case SQL_INTERVAL_DAY_TO_MINUTE:
    case SQL_INTERVAL_DAY_TO_SECOND: case SQL_INTERVAL_HOUR_TO_MINUTE:
    case SQL_INTERVAL_HOUR_TO_SECOND: case SQL_INTERVAL_MINUTE_TO_SECOND:
        return CAT_INTERVAL_DT;
    case SQL_GUID:
        return CAT_GUID;
    default:
        return CAT_NONE;
    }
}

static bool c_is_interval(SQLSMALLINT c)
{
    return c >= SQL_C_INTERVAL_YEAR && c <= SQL_C_INTERVAL_MINUTE_TO_SECOND;
}

static bool c_is_integer(SQLSMALLINT c)
{
    switch (c) {
    case SQL_C_STINYINT: case SQL_C_UTINYINT: case SQL_C_TINYINT:
    case SQL_C_SSHORT: case SQL_C_USHORT: case SQL_C_SHORT:
    case SQL_C_SLONG: case SQL_C_ULONG: case SQL_C_LONG:
    case SQL_C_SBIGINT: case SQL_C_UBIGINT:
        return true;
    default:
        return false;
    }
}

bool conv_c_type_valid(SQLSMALLINT c)
{
    if (c_is_integer(c) || c_is_interval(c))
        return true;
    switch (c) {
    case SQL_C_CHAR: case SQL_C_WCHAR: case SQL_C_FLOAT: case SQL_C_DOUBLE:
    case SQL_C_BIT: case SQL_C_BINARY: case SQL_C_NUMERIC:
    case SQL_C_TYPE_DATE: case SQL_C_TYPE_TIME: case SQL_C_TYPE_TIMESTAMP:
    case SQL_C_DATE: case SQL_C_TIME: case SQL_C_TIMESTAMP: case SQL_C_GUID:
        return true;
    default:
        return false;
    }
}

bool conv_sql_type_valid(SQLSMALLINT t)
{
    return conv_sql_category(t) != CAT_NONE;
}

bool conv_c_is_stream(SQLSMALLINT c)
{
    return c == SQL_C_CHAR || c == SQL_C_WCHAR || c == SQL_C_BINARY;
}

SQLSMALLINT conv_default_c_type(SQLSMALLINT t, bool is_unsigned)
{
    switch (t) {
    case SQL_CHAR: case SQL_VARCHAR: case SQL_LONGVARCHAR:
    case SQL_DECIMAL: case SQL_NUMERIC: case SQL_GUID:
        return SQL_C_CHAR;
    case SQL_WCHAR: case SQL_WVARCHAR: case SQL_WLONGVARCHAR:
        return SQL_C_WCHAR;
    case SQL_BIT: return SQL_C_BIT;
    case SQL_TINYINT: return is_unsigned ? SQL_C_UTINYINT : SQL_C_STINYINT;
    case SQL_SMALLINT: return is_unsigned ? SQL_C_USHORT : SQL_C_SSHORT;
    case SQL_INTEGER: return is_unsigned ? SQL_C_ULONG : SQL_C_SLONG;
    case SQL_BIGINT: return is_unsigned ? SQL_C_UBIGINT : SQL_C_SBIGINT;
    case SQL_REAL: return SQL_C_FLOAT;
    case SQL_FLOAT: case SQL_DOUBLE: return SQL_C_DOUBLE;
    case SQL_BINARY: case SQL_VARBINARY: case SQL_LONGVARBINARY: return SQL_C_BINARY;
    case SQL_TYPE_DATE: case SQL_DATE: return SQL_C_TYPE_DATE;
    case SQL_TYPE_TIME: case SQL_TIME: return SQL_C_TYPE_TIME;
    case SQL_TYPE_TIMESTAMP: case SQL_TIMESTAMP: return SQL_C_TYPE_TIMESTAMP;
    default:
        if (conv_sql_category(t) == CAT_INTERVAL_YM || conv_sql_category(t) == CAT_INTERVAL_DT)
            return t; /* SQL_INTERVAL_x == SQL_C_INTERVAL_x */
        return SQL_C_CHAR;
    }
}

/* Room for any fixed-size C value, suitably aligned. */
union fixed_c {
    SQLBIGINT i;
    SQLDOUBLE f;
    SQL_NUMERIC_STRUCT num;
    SQL_TIMESTAMP_STRUCT ts;
    SQL_INTERVAL_STRUCT iv;
    SQLGUID g;
};

SQLLEN conv_c_size(SQLSMALLINT c)
{
    switch (c) {
    case SQL_C_STINYINT: case SQL_C_UTINYINT: case SQL_C_TINYINT: case SQL_C_BIT:
        return 1;
    case SQL_C_SSHORT: case SQL_C_USHORT: case SQL_C_SHORT:
        return sizeof(SQLSMALLINT);
    case SQL_C_SLONG: case SQL_C_ULONG: case SQL_C_LONG:
        return sizeof(SQLINTEGER);
    case SQL_C_SBIGINT: case SQL_C_UBIGINT:
        return sizeof(SQLBIGINT);
    case SQL_C_FLOAT: return sizeof(SQLREAL);
    case SQL_C_DOUBLE: return sizeof(SQLDOUBLE);
    case SQL_C_NUMERIC: return sizeof(SQL_NUMERIC_STRUCT);
    case SQL_C_TYPE_DATE: case SQL_C_DATE: return sizeof(SQL_DATE_STRUCT);
    case SQL_C_TYPE_TIME: case SQL_C_TIME: return sizeof(SQL_TIME_STRUCT);
    case SQL_C_TYPE_TIMESTAMP: case SQL_C_TIMESTAMP: return sizeof(SQL_TIMESTAMP_STRUCT);
    case SQL_C_GUID: return sizeof(SQLGUID);
    default:
        return c_is_interval(c) ? (SQLLEN)sizeof(SQL_INTERVAL_STRUCT) : 0;
    }
}

SQLSMALLINT conv_sql_type_v3(SQLSMALLINT t)
{
    switch (t) {
    case SQL_DATE: return SQL_TYPE_DATE;
    case SQL_TIME: return SQL_TYPE_TIME;
    case SQL_TIMESTAMP: return SQL_TYPE_TIMESTAMP;
    default: return t;
    }
}

SQLSMALLINT conv_sql_type_v2(SQLSMALLINT t)
{
    switch (t) {
    case SQL_TYPE_DATE: return SQL_DATE;
    case SQL_TYPE_TIME: return SQL_TIME;
    case SQL_TYPE_TIMESTAMP: return SQL_TIMESTAMP;
    default: return t;
    }
}

SQLSMALLINT conv_c_type_v3(SQLSMALLINT c)
{
    switch (c) {
    case SQL_C_DATE: return SQL_C_TYPE_DATE;
    case SQL_C_TIME: return SQL_C_TYPE_TIME;
    case SQL_C_TIMESTAMP: return SQL_C_TYPE_TIMESTAMP;
    default: return c;
    }
}

SQLSMALLINT conv_verbose_type(SQLSMALLINT t)
{
    switch (t) {
    case SQL_TYPE_DATE: case SQL_TYPE_TIME: case SQL_TYPE_TIMESTAMP:
    case SQL_DATE: case SQL_TIME: case SQL_TIMESTAMP:
        return SQL_DATETIME;
    default:
        if (t >= SQL_INTERVAL_YEAR && t <= SQL_INTERVAL_MINUTE_TO_SECOND)
            return SQL_INTERVAL;
        return t;
    }
}

SQLSMALLINT conv_interval_code(SQLSMALLINT t)
{
    switch (t) {
    case SQL_TYPE_DATE: case SQL_DATE: return SQL_CODE_DATE;
    case SQL_TYPE_TIME: case SQL_TIME: return SQL_CODE_TIME;
    case SQL_TYPE_TIMESTAMP: case SQL_TIMESTAMP: return SQL_CODE_TIMESTAMP;
    default:
        if (t >= SQL_INTERVAL_YEAR && t <= SQL_INTERVAL_MINUTE_TO_SECOND)
            return (SQLSMALLINT)(t - 100);
        return 0;
    }
}

SQLSMALLINT conv_concise_type(SQLSMALLINT verbose, SQLSMALLINT code, bool is_c)
{
    if (verbose == SQL_DATETIME) {
        switch (code) {
        case SQL_CODE_DATE: return is_c ? SQL_C_TYPE_DATE : SQL_TYPE_DATE;
        case SQL_CODE_TIME: return is_c ? SQL_C_TYPE_TIME : SQL_TYPE_TIME;
        case SQL_CODE_TIMESTAMP: return is_c ? SQL_C_TYPE_TIMESTAMP : SQL_TYPE_TIMESTAMP;
        default: return 0;
        }
    }
    if (verbose == SQL_INTERVAL) {
        if (code >= SQL_CODE_YEAR && code <= SQL_CODE_MINUTE_TO_SECOND)
            return (SQLSMALLINT)(code + 100);
        return 0;
    }
    return verbose;
}

/* -------------------------------------------------- exact decimal numbers */

/* value = (digits as an integer) * 10^exp; digits carry no leading or
 * trailing zeros (nd == 0 means zero).  inexact: nonzero digits beyond
 * DEC_MAXD were dropped (they were less significant than every kept one). */
#define DEC_MAXD 80
#define DEC_MAXEXP 400

struct dec {
    bool neg, inexact;
    int nd, exp;
    char dig[DEC_MAXD];
};

static void dec_normalize(struct dec *x)
{
    while (x->nd > 0 && x->dig[x->nd - 1] == 0) {
        x->nd--;
        x->exp++;
    }
    if (x->nd == 0) {
        x->exp = 0;
        x->neg = false;
    }
}

static bool is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_blank((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n > 0 && is_blank((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* Parse a numeric literal ([+-]digits[.digits][(e|E)[+-]digits], blanks
 * around it ignored).  Returns 0, -1 if s is not one, or -2 if it is one
 * too large (or too close to zero) to hold. */
static int dec_parse(const char *s, size_t n, struct dec *x)
{
    size_t i = 0;
    bool any = false, point = false;
    long e = 0;
    memset(x, 0, sizeof *x);
    trim(&s, &n);
    if (i < n && (s[i] == '+' || s[i] == '-'))
        x->neg = s[i++] == '-';
    for (; i < n; i++) {
        char c = s[i];
        if (c == '.' && !point) {
            point = true;
            continue;
        }
        if (c < '0' || c > '9')
            break;
        any = true;
        int dv = c - '0';
        if (x->nd == 0 && dv == 0) { /* leading zero */
            if (point)
                e--;
            continue;
        }
        if (x->nd < DEC_MAXD) {
            x->dig[x->nd++] = (char)dv;
            if (point)
                e--;
        } else {
            if (dv)
                x->inexact = true;
            if (!point)
                e++;
        }
    }
    if (!any)
        return -1;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        bool eneg = false, edig = false;
        long ev = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            edig = true;
            if (ev < 100000)
                ev = ev * 10 + (s[i] - '0');
        }
        if (!edig)
            return -1;
        e += eneg ? -ev : ev;
    }
    if (i != n)
        return -1;
    dec_normalize(x);
    if (x->nd && (e + x->exp > DEC_MAXEXP || e + x->exp < -DEC_MAXEXP - DEC_MAXD))
        return -2;
    x->exp = x->nd ? x->exp + (int)e : 0;
    return 0;
}

static void dec_from_u128(struct dec *x, bool neg, u128 mag, int exp)
{
    char tmp[48];
    int k = 0;
    memset(x, 0, sizeof *x);
    while (mag) {
        tmp[k++] = (char)(mag % 10);
        mag /= 10;
    }
    for (int i = 0; i < k; i++)
        x->dig[i] = tmp[k - 1 - i];
    x->nd = k;
    x->exp = exp;
    x->neg = neg;
    dec_normalize(x);
}

static void dec_from_i64(struct dec *x, int64_t v)
{
    u128 mag = v < 0 ? (u128)(-(v + 1)) + 1 : (u128)v;
    dec_from_u128(x, v < 0, mag, 0);
}

size_t conv_format_double(double v, bool is_float, char *out)
{
    int prec0 = is_float ? 6 : 15, prec1 = is_float ? 9 : 17;
    if (isnan(v))
        return (size_t)sprintf(out, "NaN");
    if (isinf(v))
        return (size_t)sprintf(out, v < 0 ? "-Infinity" : "Infinity");
    for (int p = prec0; p <= prec1; p++) {
        int n = snprintf(out, 32, "%.*g", p, v);
        if (is_float ? (float)strtod(out, NULL) == (float)v : strtod(out, NULL) == v)
            return (size_t)n;
    }
    return (size_t)snprintf(out, 32, "%.*g", prec1, v);
}

static int dec_from_double(struct dec *x, double v)
{
    char tmp[40];
    if (!isfinite(v))
        return -1;
    conv_format_double(v, false, tmp);
    return dec_parse(tmp, strlen(tmp), x);
}

/* Truncate x * 10^scale to an integer magnitude.  Returns -1 if it needs
 * more than 128 bits; *frac tells whether nonzero digits were cut. */
static int dec_int(const struct dec *x, int scale, u128 *mag, bool *frac)
{
    int e = x->exp + scale;
    u128 m = 0;
    *frac = x->inexact;
    if (x->nd == 0) {
        *mag = 0;
        return 0;
    }
    int keep = e >= 0 ? x->nd : x->nd + e;
    if (e < 0)
        *frac = true; /* normalized: the last digit, which is cut, is nonzero */
    if (keep + (e > 0 ? e : 0) > 39)
        return -1;
    for (int i = 0; i < keep; i++) {
        u128 nm = m * 10 + (u128)x->dig[i];
        if (nm / 10 != m)
            return -1;
        m = nm;
    }
    for (int i = 0; i < e; i++) {
        u128 nm = m * 10;
        if (nm / 10 != m)
            return -1;
        m = nm;
    }
    *mag = m;
    return 0;
}

/* Number of whole (integer-part) digits. */
static int dec_whole_digits(const struct dec *x)
{
    return x->nd + x->exp > 0 ? x->nd + x->exp : 0;
}

/* Number of fractional digits. */
static int dec_frac_digits(const struct dec *x)
{
    return x->exp < 0 ? -x->exp : 0;
}

/* Plain decimal text ("-12.034", "0.5", "1200"); out holds 2*DEC_MAXEXP+DEC_MAXD+8. */
#define DEC_TEXT_MAX (2 * DEC_MAXEXP + DEC_MAXD + 8)
static size_t dec_format(const struct dec *x, char *out)
{
    size_t k = 0;
    if (x->nd == 0) {
        out[0] = '0';
        out[1] = 0;
        return 1;
    }
    if (x->neg)
        out[k++] = '-';
    int whole = x->nd + x->exp;
    if (whole <= 0) {
        out[k++] = '0';
        out[k++] = '.';
        for (int i = 0; i < -whole; i++)
            out[k++] = '0';
        for (int i = 0; i < x->nd; i++)
            out[k++] = (char)('0' + x->dig[i]);
    } else {
        for (int i = 0; i < whole; i++)
            out[k++] = (char)('0' + (i < x->nd ? x->dig[i] : 0));
        if (x->exp < 0) {
            out[k++] = '.';
            for (int i = whole; i < x->nd; i++)
                out[k++] = (char)('0' + x->dig[i]);
        }
    }
    out[k] = 0;
    return k;
}

/* Drop fractional digits beyond scale (truncation toward zero). */
static bool dec_truncate(struct dec *x, int scale)
{
    bool cut = false;
    while (x->nd > 0 && x->exp < -scale) {
        if (x->dig[x->nd - 1])
            cut = true;
        x->nd--;
        x->exp++;
    }
    if (x->inexact)
        cut = true;
    x->inexact = false;
    dec_normalize(x);
    return cut;
}

static double dec_to_double(const struct dec *x)
{
    char tmp[DEC_TEXT_MAX];
    dec_format(x, tmp);
    return strtod(tmp, NULL);
}

/* ------------------------------------------------------ dates and times */

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : dim[m - 1];
}

/* Read 1..maxd digits into *v; returns the count read. */
static size_t read_uint(const char *s, size_t n, size_t maxd, unsigned long *v)
{
    size_t i = 0;
    unsigned long r = 0;
    while (i < n && i < maxd && s[i] >= '0' && s[i] <= '9')
        r = r * 10 + (unsigned long)(s[i++] - '0');
    *v = r;
    return i;
}

/* Parse "H+:MM[:SS[.f]]" at s; returns bytes used or 0. */
static size_t parse_time_part(const char *s, size_t n, struct conv_dt *dt, size_t maxh)
{
    unsigned long v;
    size_t i = 0, k;
    if (!(k = read_uint(s, n, maxh, &v)))
        return 0;
    dt->hour = (unsigned)v;
    i += k;
    if (i >= n || s[i] != ':')
        return 0;
    i++;
    if ((k = read_uint(s + i, n - i, 2, &v)) == 0)
        return 0;
    dt->minute = (unsigned)v;
    i += k;
    if (i < n && s[i] == ':') {
        i++;
        if ((k = read_uint(s + i, n - i, 2, &v)) == 0)
            return 0;
        dt->second = (unsigned)v;
        i += k;
        if (i < n && s[i] == '.') {
            uint32_t f = 0;
            int digits = 0;
            i++;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                if (digits < 9) {
                    f = f * 10 + (uint32_t)(s[i] - '0');
                    digits++;
                }
                i++;
            }
            dt->frac_digits = digits;
            for (int j = digits; j < 9; j++)
                f *= 10;
            dt->frac = f;
        }
    }
    return i;
}

int conv_parse_dt(const char *s, size_t n, struct conv_dt *dt)
{
    size_t i = 0, k;
    unsigned long v;
    memset(dt, 0, sizeof *dt);
    trim(&s, &n);
    if (n > 0 && s[0] == '{') { /* {d '...'}, {t '...'}, {ts '...'} */
        size_t j = 1, q0, q1;
        while (j < n && is_blank((unsigned char)s[j]))
            j++;
        size_t kw = j;
        while (j < n && isalpha((unsigned char)s[j]))
            j++;
        size_t kwlen = j - kw;
        bool ok = (kwlen == 1 && (tolower((unsigned char)s[kw]) == 'd' ||
                                  tolower((unsigned char)s[kw]) == 't')) ||
                  (kwlen == 2 && strncasecmp(s + kw, "ts", 2) == 0);
        if (!ok)
            return -1;
        while (j < n && is_blank((unsigned char)s[j]))
            j++;
        if (j >= n || s[j] != '\'')
            return -1;
        q0 = j + 1;
        q1 = q0;
        while (q1 < n && s[q1] != '\'')
            q1++;
        if (q1 >= n)
            return -1;
        j = q1 + 1;
        while (j < n && is_blank((unsigned char)s[j]))
            j++;
        if (j + 1 != n || s[j] != '}')
            return -1;
        return conv_parse_dt(s + q0, q1 - q0, dt);
    }
    if (n == 0)
        return -1;
    /* A date starts with digits and '-', a time with digits and ':'. */
    size_t lead = 0;
    bool neg = false;
    if (s[0] == '-') {
        neg = true;
        lead = 1;
    }
    k = 0;
    while (lead + k < n && s[lead + k] >= '0' && s[lead + k] <= '9')
        k++;
    if (k == 0)
        return -1;
    if (!neg && lead + k < n && s[lead + k] == '-') {
        if (k > 4)
            return -1;
        read_uint(s, k, 4, &v);
        dt->year = (int)v;
        i = k + 1;
        if (!(k = read_uint(s + i, n - i, 2, &v)))
            return -1;
        dt->month = (int)v;
        i += k;
        if (i >= n || s[i] != '-')
            return -1;
        i++;
        if (!(k = read_uint(s + i, n - i, 2, &v)))
            return -1;
        dt->day = (int)v;
        i += k;
        if (i == n) {
            dt->kind = DT_DATE;
            return 0;
        }
        if (s[i] != ' ' && s[i] != 'T')
            return -1;
        while (i < n && (s[i] == ' ' || s[i] == 'T'))
            i++;
        if (!(k = parse_time_part(s + i, n - i, dt, 2)))
            return -1;
        i += k;
        if (i != n)
            return -1;
        dt->kind = DT_TS;
        return 0;
    }
    if (lead + k < n && s[lead + k] == ':') {
        if (!(k = parse_time_part(s + lead, n - lead, dt, 4)))
            return -1;
        if (lead + k != n)
            return -1;
        dt->neg = neg;
        dt->kind = DT_TIME;
        return 0;
    }
    return -1;
}

bool conv_dt_valid(const struct conv_dt *dt, bool allow_long_time)
{
    if (dt->kind == DT_DATE || dt->kind == DT_TS) {
        if (dt->year < 0 || dt->year > 9999 || dt->month < 1 || dt->month > 12 || dt->day < 1 ||
            dt->day > days_in_month(dt->year, dt->month))
            return false;
    }
    if (dt->kind == DT_TIME || dt->kind == DT_TS) {
        if ((!allow_long_time || dt->kind == DT_TS) && (dt->hour > 23 || dt->neg))
            return false;
        if (dt->hour > 838 || dt->minute > 59 || dt->second > 59 || dt->frac > 999999999u)
            return false;
    }
    return dt->kind != DT_NONE;
}

static bool dt_zero_date(const struct conv_dt *dt)
{
    return (dt->kind == DT_DATE || dt->kind == DT_TS) && dt->year == 0 && dt->month == 0 &&
           dt->day == 0;
}

size_t conv_format_dt(const struct conv_dt *dt, enum conv_dtkind kind, int frac_digits, char *out)
{
    size_t k = 0;
    if (frac_digits < 0)
        frac_digits = 0;
    if (frac_digits > 9)
        frac_digits = 9;
    if (kind == DT_DATE || kind == DT_TS)
        k += (size_t)sprintf(out + k, "%04d-%02d-%02d", dt->year % 10000, dt->month % 100,
                             dt->day % 100);
    if (kind == DT_TS)
        out[k++] = ' ';
    if (kind == DT_TIME || kind == DT_TS) {
        k += (size_t)sprintf(out + k, "%s%02u:%02u:%02u", kind == DT_TIME && dt->neg ? "-" : "",
                             dt->hour % 1000, dt->minute % 100, dt->second % 100);
        if (frac_digits > 0) {
            uint32_t f = dt->frac;
            for (int j = frac_digits; j < 9; j++)
                f /= 10;
            k += (size_t)sprintf(out + k, ".%0*u", frac_digits, f);
        }
    }
    out[k] = 0;
    return k;
}

/* Fractional digits needed to print frac exactly (0..9). */
static int frac_needed(uint32_t frac)
{
    int d = 9;
    if (frac == 0)
        return 0;
    while (frac % 10 == 0) {
        frac /= 10;
        d--;
    }
    return d;
}

static void today(struct conv_dt *dt)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    dt->year = tm.tm_year + 1900;
    dt->month = tm.tm_mon + 1;
    dt->day = tm.tm_mday;
}

/* -------------------------------------------------------------- intervals */

/* Fields present in each interval type, from leading to trailing:
 * 0 year 1 month | 2 day 3 hour 4 minute 5 second. */
static void iv_fields(SQLINTERVAL code, int *first, int *last)
{
    static const signed char tab[14][2] = {
        {-1, -1}, {0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5},
        {0, 1},   {2, 3}, {2, 4}, {2, 5}, {3, 4}, {3, 5}, {4, 5}};
    int c = (int)code;
    if (c < 1 || c > 13)
        c = 0;
    *first = tab[c][0];
    *last = tab[c][1];
}

static const uint64_t iv_unit[6] = {12, 1, 86400, 3600, 60, 1}; /* months | seconds */

static SQLINTERVAL iv_code_for(int first, int last)
{
    for (int c = 1; c <= 13; c++) {
        int f, l;
        iv_fields((SQLINTERVAL)c, &f, &l);
        if (f == first && l == last)
            return (SQLINTERVAL)c;
    }
    return (SQLINTERVAL)0;
}

/* A parsed interval: total months or seconds, plus nanoseconds. */
struct ivval {
    bool neg, ym;
    uint64_t total; /* months (ym) or whole seconds */
    uint32_t frac;  /* nanoseconds (day-time only) */
    int frac_digits;
};

static int field_by_name(const char *w, size_t n)
{
    static const char *names[6] = {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"};
    for (int i = 0; i < 6; i++)
        if (strlen(names[i]) == n && strncasecmp(w, names[i], n) == 0)
            return i;
    return -1;
}

/* Parse the bare value of an interval with fields first..last. */
static int iv_parse_bare(const char *s, size_t n, int first, int last, bool neg_outer,
                         struct ivval *r)
{
    size_t i = 0;
    uint64_t f[6] = {0};
    static const char sep[6] = {0, '-', 0, ' ', ':', ':'};
    memset(r, 0, sizeof *r);
    trim(&s, &n);
    r->neg = neg_outer;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        if (s[i] == '-')
            r->neg = !r->neg;
        i++;
    }
    for (int fld = first; fld <= last; fld++) {
        unsigned long v;
        size_t k;
        if (fld != first) {
            if (i >= n || s[i] != sep[fld])
                return -1;
            i++;
        }
        k = read_uint(s + i, n - i, fld == first ? 10 : 2, &v);
        if (k == 0)
            return -1;
        i += k;
        f[fld] = v;
        if (fld == 5 && i < n && s[i] == '.') {
            uint32_t fr = 0;
            int digits = 0;
            i++;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                if (digits < 9) {
                    fr = fr * 10 + (uint32_t)(s[i] - '0');
                    digits++;
                }
                i++;
            }
            r->frac_digits = digits;
            for (int j = digits; j < 9; j++)
                fr *= 10;
            r->frac = fr;
        }
        /* Trailing fields have their natural ranges. */
        if (fld != first && ((fld == 1 && v > 11) || (fld == 3 && v > 23) || (fld >= 4 && v > 59)))
            return -1;
    }
    if (i != n)
        return -1;
    r->ym = first <= 1;
    r->total = 0;
    for (int fld = first; fld <= last; fld++)
        r->total += f[fld] * iv_unit[fld];
    return 0;
}

/* Parse "INTERVAL [+-]'value' QUALIFIER" or a bare value for code. */
static int iv_parse(const char *s, size_t n, SQLINTERVAL code, struct ivval *r)
{
    int first, last;
    trim(&s, &n);
    if (n >= 8 && strncasecmp(s, "INTERVAL", 8) == 0 && (n == 8 || !isalnum((unsigned char)s[8]))) {
        size_t i = 8, q0, q1;
        bool neg = false;
        while (i < n && is_blank((unsigned char)s[i]))
            i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            neg = s[i++] == '-';
        while (i < n && is_blank((unsigned char)s[i]))
            i++;
        if (i >= n || s[i] != '\'')
            return -1;
        q0 = ++i;
        while (i < n && s[i] != '\'')
            i++;
        if (i >= n)
            return -1;
        q1 = i++;
        /* Qualifier: FIELD[(p)] [TO FIELD[(p)]] */
        int qf = -1, ql = -1;
        for (int part = 0; part < 2; part++) {
            while (i < n && is_blank((unsigned char)s[i]))
                i++;
            if (part == 1) {
                if (i == n)
                    break;
                if (n - i < 2 || strncasecmp(s + i, "TO", 2) != 0)
                    return -1;
                i += 2;
                while (i < n && is_blank((unsigned char)s[i]))
                    i++;
            }
            size_t w = i;
            while (i < n && isalpha((unsigned char)s[i]))
                i++;
            int fld = field_by_name(s + w, i - w);
            if (fld < 0)
                return -1;
            if (i < n && s[i] == '(') {
                while (i < n && s[i] != ')')
                    i++;
                if (i >= n)
                    return -1;
                i++;
            }
            if (part == 0)
                qf = ql = fld;
            else
                ql = fld;
        }
        if (iv_code_for(qf, ql) == 0)
            return -1;
        return iv_parse_bare(s + q0, q1 - q0, qf, ql, neg, r);
    }
    iv_fields(code, &first, &last);
    if (first < 0)
        return -1;
    return iv_parse_bare(s, n, first, last, false, r);
}

/* Distribute r into an interval struct of type code.  CONV_INFO when
 * trailing parts were cut (01S07), CONV_ERROR 22015 when the leading field
 * needs more than leading_precision digits, 22018 when the kinds differ. */
static int iv_store(const struct ivval *r, SQLINTERVAL code, SQLINTEGER leading_precision,
                    SQLSMALLINT seconds_precision, SQL_INTERVAL_STRUCT *iv, struct conv_diag *d)
{
    int first, last;
    bool cut = false;
    iv_fields(code, &first, &last);
    if (first < 0)
        return fail(d, "HY003", "invalid interval type");
    if ((first <= 1) != r->ym)
        return fail(d, "22018", "a year-month interval and a day-time interval do not convert");
    memset(iv, 0, sizeof *iv);
    iv->interval_type = code;
    iv->interval_sign = r->neg ? SQL_TRUE : SQL_FALSE;
    uint64_t rest = r->total, vals[6] = {0};
    for (int fld = first; fld <= last; fld++) {
        vals[fld] = rest / iv_unit[fld];
        rest %= iv_unit[fld];
    }
    if (rest)
        cut = true;
    uint32_t frac = r->frac;
    if (last != 5) {
        if (frac)
            cut = true;
        frac = 0;
    }
    int sp = seconds_precision < 0 ? 6 : seconds_precision > 9 ? 9 : seconds_precision;
    uint32_t div = 1;
    for (int j = sp; j < 9; j++)
        div *= 10;
    if (frac % div)
        cut = true;
    uint32_t frac_units = frac / div;
    if (leading_precision <= 0)
        leading_precision = 2;
    if (leading_precision < 19) {
        uint64_t lim = 1;
        for (int j = 0; j < leading_precision; j++)
            lim *= 10;
        if (vals[first] >= lim)
            return fail(d, "22015", "interval field overflow: the leading field needs more than %d digits",
                        (int)leading_precision);
    }
    if (vals[first] > UINT32_MAX)
        return fail(d, "22015", "interval field overflow");
    if (r->ym) {
        iv->intval.year_month.year = (SQLUINTEGER)vals[0];
        iv->intval.year_month.month = (SQLUINTEGER)vals[1];
    } else {
        iv->intval.day_second.day = (SQLUINTEGER)vals[2];
        iv->intval.day_second.hour = (SQLUINTEGER)vals[3];
        iv->intval.day_second.minute = (SQLUINTEGER)vals[4];
        iv->intval.day_second.second = (SQLUINTEGER)vals[5];
        iv->intval.day_second.fraction = frac_units;
    }
    if (cut)
        return warn(d, "01S07", "fractional truncation: trailing interval fields were cut");
    return CONV_OK;
}

int conv_parse_interval(const char *s, size_t n, SQLINTERVAL code, SQLINTEGER leading_precision,
                        SQLSMALLINT seconds_precision, SQL_INTERVAL_STRUCT *iv,
                        struct conv_diag *d)
{
    struct ivval r;
    if (iv_parse(s, n, code, &r) < 0)
        return fail(d, "22018", "invalid character value: not an interval literal");
    return iv_store(&r, code, leading_precision, seconds_precision, iv, d);
}

/* Read an interval struct into an ivval; -1 if its fields are invalid. */
static int iv_load(const SQL_INTERVAL_STRUCT *iv, int frac_digits, struct ivval *r)
{
    int first, last;
    iv_fields(iv->interval_type, &first, &last);
    memset(r, 0, sizeof *r);
    if (first < 0 || (iv->interval_sign != SQL_TRUE && iv->interval_sign != SQL_FALSE))
        return -1;
    r->neg = iv->interval_sign == SQL_TRUE;
    r->ym = first <= 1;
    uint64_t vals[6] = {0};
    if (r->ym) {
        vals[0] = iv->intval.year_month.year;
        vals[1] = iv->intval.year_month.month;
    } else {
        vals[2] = iv->intval.day_second.day;
        vals[3] = iv->intval.day_second.hour;
        vals[4] = iv->intval.day_second.minute;
        vals[5] = iv->intval.day_second.second;
    }
    for (int fld = 0; fld < 6; fld++) {
        if ((fld < first || fld > last) && vals[fld])
            return -1;
        if (fld != first && fld >= first && fld <= last &&
            ((fld == 1 && vals[fld] > 11) || (fld == 3 && vals[fld] > 23) ||
             (fld >= 4 && vals[fld] > 59)))
            return -1;
        r->total += vals[fld] * iv_unit[fld];
    }
    if (!r->ym && last == 5) {
        if (frac_digits < 0 || frac_digits > 9)
            frac_digits = 6;
        uint64_t f = iv->intval.day_second.fraction, lim = 1;
        for (int j = 0; j < frac_digits; j++)
            lim *= 10;
        if (f >= lim)
            return -1;
        for (int j = frac_digits; j < 9; j++)
            f *= 10;
        r->frac = (uint32_t)f;
        r->frac_digits = frac_digits;
    } else if (!r->ym && iv->intval.day_second.fraction) {
        return -1;
    }
    return 0;
}

static size_t iv_format_val(const struct ivval *r, SQLINTERVAL code, char *out)
{
    int first, last;
    size_t k = 0;
    uint64_t rest = r->total;
    static const char sep[6] = {0, '-', 0, ' ', ':', ':'};
    iv_fields(code, &first, &last);
    if (r->neg)
        out[k++] = '-';
    for (int fld = first; fld <= last; fld++) {
        uint64_t v = rest / iv_unit[fld];
        rest %= iv_unit[fld];
        if (fld != first)
            out[k++] = sep[fld];
        k += (size_t)sprintf(out + k, fld == first ? "%llu" : "%02llu", (unsigned long long)v);
    }
    if (last == 5 && r->frac) {
        int fd = frac_needed(r->frac);
        uint32_t f = r->frac;
        for (int j = fd; j < 9; j++)
            f /= 10;
        k += (size_t)sprintf(out + k, ".%0*u", fd, f);
    }
    out[k] = 0;
    return k;
}

size_t conv_format_interval(const SQL_INTERVAL_STRUCT *iv, int frac_digits, char *out)
{
    struct ivval r;
    if (iv_load(iv, frac_digits, &r) < 0)
        return 0;
    return iv_format_val(&r, iv->interval_type, out);
}

/* ------------------------------------------------------------------ GUIDs */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int guid_parse(const char *s, size_t n, SQLGUID *g)
{
    unsigned char b[16];
    size_t i = 0;
    int nb = 0;
    trim(&s, &n);
    if (n >= 2 && s[0] == '{' && s[n - 1] == '}')
        s++, n -= 2;
    if (n != 36)
        return -1;
    while (i < n) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return -1;
            i++;
            continue;
        }
        int h = hexval((unsigned char)s[i]), l = hexval((unsigned char)s[i + 1]);
        if (h < 0 || l < 0)
            return -1;
        b[nb++] = (unsigned char)(h << 4 | l);
        i += 2;
    }
    g->Data1 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    g->Data2 = (unsigned short)(b[4] << 8 | b[5]);
    g->Data3 = (unsigned short)(b[6] << 8 | b[7]);
    memcpy(g->Data4, b + 8, 8);
    return 0;
}

static size_t guid_format(const SQLGUID *g, char *out)
{
    return (size_t)sprintf(out, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
                           (unsigned)g->Data1, g->Data2, g->Data3, g->Data4[0], g->Data4[1],
                           g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6],
                           g->Data4[7]);
}

/* ============================================================ SQL -> C */

void conv_stream_reset(struct conv_stream *st)
{
    buf_close(&st->render);
    memset(st, 0, sizeof *st);
}

/* Whether a SQL -> C conversion is defined (else 07006). */
static bool to_c_allowed(enum conv_sqlcat cat, SQLSMALLINT c)
{
    if (c == SQL_C_CHAR || c == SQL_C_WCHAR || c == SQL_C_BINARY)
        return true;
    if (cat == CAT_CHAR || cat == CAT_NONE)
        return true;
    if (c_is_integer(c) || c == SQL_C_FLOAT || c == SQL_C_DOUBLE || c == SQL_C_NUMERIC ||
        c == SQL_C_BIT)
        return cat == CAT_EXACT || cat == CAT_APPROX || cat == CAT_BIT;
    switch (c) {
    case SQL_C_TYPE_DATE: return cat == CAT_DATE || cat == CAT_TIMESTAMP;
    case SQL_C_TYPE_TIME: return cat == CAT_TIME || cat == CAT_TIMESTAMP;
    case SQL_C_TYPE_TIMESTAMP: return cat == CAT_DATE || cat == CAT_TIME || cat == CAT_TIMESTAMP;
    case SQL_C_GUID: return cat == CAT_GUID;
    default: break;
    }
    if (c_is_interval(c)) {
        int first, last;
        iv_fields((SQLINTERVAL)(c - 100), &first, &last);
        if (cat == CAT_EXACT)
            return first == last;
        if (cat == CAT_TIME || cat == CAT_INTERVAL_DT)
            return first >= 2;
        if (cat == CAT_INTERVAL_YM)
            return first <= 1;
    }
    return false;
}

static const char *type_word(enum conv_sqlcat cat)
{
    switch (cat) {
    case CAT_CHAR: return "character";
    case CAT_EXACT: return "exact numeric";
    case CAT_APPROX: return "approximate numeric";
    case CAT_BIT: return "bit";
    case CAT_BINARY: return "binary";
    case CAT_DATE: return "date";
    case CAT_TIME: return "time";
    case CAT_TIMESTAMP: return "timestamp";
    case CAT_INTERVAL_YM: case CAT_INTERVAL_DT: return "interval";
    case CAT_GUID: return "GUID";
    default: return "untyped";
    }
}

/* The text of a value; numbers are formatted into tmp (>= 40 bytes). */
static void value_text(const struct odbc_value *v, const struct conv_col *col, char *tmp,
                       const char **p, size_t *n)
{
    switch (v->kind) {
    case ODBC_V_INT:
        *n = (size_t)sprintf(tmp, "%lld", (long long)v->i);
        *p = tmp;
        break;
    case ODBC_V_UINT:
        *n = (size_t)sprintf(tmp, "%llu", (unsigned long long)v->u);
        *p = tmp;
        break;
    case ODBC_V_DOUBLE:
        *n = conv_format_double(v->d, col->sql_type == SQL_REAL, tmp);
        *p = tmp;
        break;
    case ODBC_V_TEXT:
    case ODBC_V_BLOB:
        *p = v->p ? v->p : "";
        *n = v->len;
        break;
    default:
        *p = "";
        *n = 0;
    }
}

/* Number of chars (excluding NUL) that must fit so that no whole digit is
 * lost: digits before '.', or all of it for exponent notation. */
static size_t whole_part_len(const char *p, size_t n)
{
    size_t i;
    if (memchr(p, 'e', n) || memchr(p, 'E', n))
        return n;
    for (i = 0; i < n && p[i] != '.'; i++)
        ;
    return i;
}

/* Render a value for a character, wide or binary target into st.  Sets
 * *min_len (chars that must fit, 0 = any) and *is_char_src (truncation is
 * 01004 rather than 22003 for binary targets). */
static int render_stream(const struct odbc_value *v, const struct conv_col *col, SQLSMALLINT c,
                         struct conv_stream *st, size_t *min_len, struct conv_diag *d)
{
    enum conv_sqlcat cat = conv_sql_category(col->sql_type);
    char tmp[48];
    const char *p;
    size_t n;
    *min_len = 0;
    st->pairs = false;
    buf_reset(&st->render);
    if (v->kind == ODBC_V_BLOB && cat == CAT_BINARY && c != SQL_C_BINARY) {
        static const char hx[] = "0123456789ABCDEF";
        if (buf_reserve(&st->render, v->len * 2 + 1) < 0)
            return oom(d);
        for (size_t i = 0; i < v->len; i++) {
            unsigned char b = (unsigned char)v->p[i];
            st->render.data[st->render.len++] = (unsigned char)hx[b >> 4];
            st->render.data[st->render.len++] = (unsigned char)hx[b & 15];
        }
        p = (const char *)st->render.data;
        n = st->render.len;
        st->pairs = true;
    } else if (cat == CAT_BIT && (v->kind == ODBC_V_INT || v->kind == ODBC_V_UINT)) {
        tmp[0] = (v->kind == ODBC_V_INT ? v->i != 0 : v->u != 0) ? '1' : '0';
        p = tmp;
        n = 1;
    } else if (v->kind == ODBC_V_DOUBLE && cat == CAT_EXACT && isfinite(v->d)) {
        /* A DECIMAL column holding a double (SQLite stores NUMERIC as REAL):
         * plain notation, never an exponent, as decimal text always is. */
        struct dec x;
        char big[DEC_TEXT_MAX];
        if (dec_from_double(&x, v->d) < 0)
            return fail(d, "22003", "numeric value out of range");
        n = dec_format(&x, big);
        if (buf_append(&st->render, big, n) < 0)
            return oom(d);
        p = (const char *)st->render.data;
        *min_len = whole_part_len(p, n);
    } else {
        value_text(v, col, tmp, &p, &n);
        if (v->kind == ODBC_V_INT || v->kind == ODBC_V_UINT || v->kind == ODBC_V_DOUBLE ||
            cat == CAT_EXACT || cat == CAT_APPROX) {
            *min_len = whole_part_len(p, n);
        } else if (cat == CAT_DATE || cat == CAT_TIME || cat == CAT_TIMESTAMP) {
            /* 22003 below the date, the time without fraction, or the
             * timestamp without fraction. */
            struct conv_dt dt;
            if (conv_parse_dt(p, n, &dt) == 0) {
                size_t keep = n;
                const char *dot = memchr(p, '.', n);
                if (dot && dt.kind != DT_DATE)
                    keep = (size_t)(dot - p);
                *min_len = keep;
            }
        }
        if (p == tmp) {
            if (buf_append(&st->render, tmp, n) < 0)
                return oom(d);
            p = (const char *)st->render.data;
        }
    }
    if (c == SQL_C_WCHAR) {
        struct buf w;
        buf_init(&w);
        if (wide_from_utf8(p, n, &w) < 0) {
            buf_close(&w);
            return oom(d);
        }
        buf_close(&st->render);
        st->render = w;
        st->data = st->render.data;
        st->len = st->render.len;
        *min_len *= sizeof(SQLWCHAR);
    } else {
        st->data = (const unsigned char *)p;
        st->len = n;
    }
    if (c == SQL_C_BINARY && (cat != CAT_CHAR && cat != CAT_BINARY && cat != CAT_NONE)) {
        *min_len = st->len; /* non-character data must fit whole */
    }
    return CONV_OK;
}

static int to_stream(const struct odbc_value *v, const struct conv_col *col,
                     const struct conv_target *t, struct conv_stream *st, SQLLEN *len_out,
                     struct conv_diag *d)
{
    SQLSMALLINT c = t->c_type;
    size_t min_len = 0;
    if (!st->started) {
        int rc = render_stream(v, col, c, st, &min_len, d);
        if (rc != CONV_OK)
            return rc;
        st->started = true;
        st->offset = 0;
        /* The whole part must fit on the first call (22003). */
        size_t room_units;
        if (c == SQL_C_BINARY)
            room_units = t->buflen > 0 ? (size_t)t->buflen : 0;
        else if (c == SQL_C_WCHAR)
            room_units = t->buflen >= 2 ? (size_t)t->buflen / 2 * 2 - 2 : 0;
        else
            room_units = t->buflen > 0 ? (size_t)t->buflen - 1 : 0;
        if (min_len > 0 && room_units < min_len) {
            conv_stream_reset(st);
            return fail(d, "22003",
                        "numeric value out of range: the buffer is too small for the value");
        }
    } else if (st->offset >= st->len) {
        return CONV_NODATA;
    }
    size_t rem = st->len - st->offset, room, put;
    const unsigned char *src = st->data + st->offset;
    if (c == SQL_C_BINARY) {
        room = t->buflen > 0 ? (size_t)t->buflen : 0;
        put = rem < room ? rem : room;
        if (t->ptr && put)
            memcpy(t->ptr, src, put);
    } else if (c == SQL_C_WCHAR) {
        size_t units = rem / sizeof(SQLWCHAR);
        room = t->buflen >= (SQLLEN)sizeof(SQLWCHAR) ? (size_t)t->buflen / sizeof(SQLWCHAR) - 1 : 0;
        if (st->pairs)
            room -= room % 2;
        /* src is aligned: render buffers come from malloc and offsets are even. */
        const SQLWCHAR *ws = (const SQLWCHAR *)(const void *)src;
        size_t fit = wide_fit(ws, units, room);
        put = fit * sizeof(SQLWCHAR);
        if (t->ptr && t->buflen >= (SQLLEN)sizeof(SQLWCHAR)) {
            if (put) /* an empty value may have no data at all */
                memcpy(t->ptr, src, put);
            memset((char *)t->ptr + put, 0, sizeof(SQLWCHAR));
        }
    } else {
        room = t->buflen > 0 ? (size_t)t->buflen - 1 : 0;
        if (st->pairs)
            room -= room % 2;
        put = rem < room ? rem : room;
        if (t->ptr && t->buflen > 0) {
            if (put)
                memcpy(t->ptr, src, put);
            ((char *)t->ptr)[put] = 0;
        }
    }
    *len_out = (SQLLEN)rem;
    if (!t->ptr)
        put = 0;
    st->offset += put;
    if (put < rem)
        return warn(d, "01004", "string data, right truncated");
    st->done = true;
    return CONV_OK;
}

/* Read a number from a value: exact (x) or approximate (*dbl, *is_dbl). */
static int src_number(const struct odbc_value *v, struct dec *x, double *dbl, bool *is_dbl,
                      struct conv_diag *d)
{
    *is_dbl = false;
    switch (v->kind) {
    case ODBC_V_INT:
        dec_from_i64(x, v->i);
        return CONV_OK;
    case ODBC_V_UINT:
        dec_from_u128(x, false, v->u, 0);
        return CONV_OK;
    case ODBC_V_DOUBLE:
        *dbl = v->d;
        *is_dbl = true;
        return CONV_OK;
    case ODBC_V_TEXT:
    case ODBC_V_BLOB:
        switch (dec_parse(v->p ? v->p : "", v->len, x)) {
        case 0:
            return CONV_OK;
        case -2:
            return fail(d, "22003", "numeric value out of range");
        default:
            return fail(d, "22018", "invalid character value for cast specification: not a number");
        }
    default:
        return fail(d, "HY000", "no value");
    }
}

struct int_range {
    i128 lo, hi;
};

static struct int_range c_int_range(SQLSMALLINT c)
{
    switch (c) {
    case SQL_C_STINYINT: case SQL_C_TINYINT: return (struct int_range){-128, 127};
    case SQL_C_UTINYINT: return (struct int_range){0, 255};
    case SQL_C_SSHORT: case SQL_C_SHORT: return (struct int_range){-32768, 32767};
    case SQL_C_USHORT: return (struct int_range){0, 65535};
    case SQL_C_SLONG: case SQL_C_LONG: return (struct int_range){INT32_MIN, INT32_MAX};
    case SQL_C_ULONG: return (struct int_range){0, UINT32_MAX};
    case SQL_C_SBIGINT: return (struct int_range){INT64_MIN, INT64_MAX};
    default: return (struct int_range){0, UINT64_MAX};
    }
}

static void store_int(SQLSMALLINT c, void *ptr, i128 v)
{
    switch (c) {
    case SQL_C_STINYINT: case SQL_C_TINYINT: *(SQLSCHAR *)ptr = (SQLSCHAR)v; break;
    case SQL_C_UTINYINT: *(SQLCHAR *)ptr = (SQLCHAR)v; break;
    case SQL_C_SSHORT: case SQL_C_SHORT: *(SQLSMALLINT *)ptr = (SQLSMALLINT)v; break;
    case SQL_C_USHORT: *(SQLUSMALLINT *)ptr = (SQLUSMALLINT)v; break;
    case SQL_C_SLONG: case SQL_C_LONG: *(SQLINTEGER *)ptr = (SQLINTEGER)v; break;
    case SQL_C_ULONG: *(SQLUINTEGER *)ptr = (SQLUINTEGER)v; break;
    case SQL_C_SBIGINT: *(SQLBIGINT *)ptr = (SQLBIGINT)v; break;
    default: *(SQLUBIGINT *)ptr = (SQLUBIGINT)v; break;
    }
}

static int to_integer(const struct odbc_value *v, const struct conv_target *t,
                      struct conv_diag *d)
{
    struct dec x;
    double dbl;
    bool is_dbl, frac;
    i128 val;
    struct int_range r = c_int_range(t->c_type);
    int rc = src_number(v, &x, &dbl, &is_dbl, d);
    if (rc != CONV_OK)
        return rc;
    if (is_dbl) {
        if (isnan(dbl))
            return fail(d, "22003", "numeric value out of range: NaN");
        double tr = trunc(dbl);
        if (tr < -1.8446744073709552e19 || tr > 1.8446744073709552e19)
            return fail(d, "22003", "numeric value out of range");
        val = (i128)tr;
        frac = tr != dbl;
    } else {
        u128 mag;
        if (dec_int(&x, 0, &mag, &frac) < 0 || mag > ((u128)1 << 100))
            return fail(d, "22003", "numeric value out of range");
        val = x.neg ? -(i128)mag : (i128)mag;
    }
    if (val < r.lo || val > r.hi)
        return fail(d, "22003", "numeric value out of range for the C type");
    if (t->ptr)
        store_int(t->c_type, t->ptr, val);
    if (frac)
        return warn(d, "01S07", "fractional truncation");
    return CONV_OK;
}

static int to_float(const struct odbc_value *v, const struct conv_target *t, struct conv_diag *d)
{
    struct dec x;
    double dbl;
    bool is_dbl;
    int rc = src_number(v, &x, &dbl, &is_dbl, d);
    if (rc != CONV_OK)
        return rc;
    if (!is_dbl) {
        if (v->kind == ODBC_V_TEXT || v->kind == ODBC_V_BLOB) {
            char tmp[128];
            const char *p = v->p ? v->p : "";
            size_t n = v->len;
            trim(&p, &n);
            if (n < sizeof tmp) {
                memcpy(tmp, p, n);
                tmp[n] = 0;
                dbl = strtod(tmp, NULL);
            } else {
                dbl = dec_to_double(&x);
            }
        } else {
            dbl = dec_to_double(&x);
        }
        if (isinf(dbl))
            return fail(d, "22003", "numeric value out of range");
    }
    if (t->c_type == SQL_C_FLOAT) {
        if (isfinite(dbl) && fabs(dbl) > FLT_MAX)
            return fail(d, "22003", "numeric value out of range for SQL_C_FLOAT");
        if (t->ptr)
            *(SQLREAL *)t->ptr = (SQLREAL)dbl;
    } else if (t->ptr) {
        *(SQLDOUBLE *)t->ptr = dbl;
    }
    return CONV_OK;
}

/* 0 or 1; 0 < v < 2 truncates (01S07); anything else is 22003. */
static int bit_value(const struct dec *x, double dbl, bool is_dbl, int *bit, bool *cut)
{
    *cut = false;
    if (is_dbl) {
        if (isnan(dbl) || dbl < 0 || dbl >= 2)
            return -1;
        *bit = dbl >= 1;
        *cut = dbl != 0 && dbl != 1;
        return 0;
    }
    u128 mag;
    bool frac;
    if (x->nd == 0) {
        *bit = 0;
        return 0;
    }
    if (x->neg || dec_int(x, 0, &mag, &frac) < 0 || mag >= 2)
        return -1;
    *bit = (int)mag;
    *cut = frac;
    return 0;
}

static int to_bit(const struct odbc_value *v, const struct conv_target *t, struct conv_diag *d)
{
    struct dec x;
    double dbl;
    bool is_dbl, cut;
    int bit;
    int rc = src_number(v, &x, &dbl, &is_dbl, d);
    if (rc != CONV_OK)
        return rc;
    if (bit_value(&x, dbl, is_dbl, &bit, &cut) < 0)
        return fail(d, "22003", "numeric value out of range for SQL_C_BIT");
    if (t->ptr)
        *(SQLCHAR *)t->ptr = (SQLCHAR)bit;
    return cut ? warn(d, "01S07", "fractional truncation") : CONV_OK;
}

static int to_numeric(const struct odbc_value *v, const struct conv_target *t,
                      struct conv_diag *d)
{
    struct dec x;
    double dbl;
    bool is_dbl, frac;
    u128 mag;
    int rc = src_number(v, &x, &dbl, &is_dbl, d);
    if (rc != CONV_OK)
        return rc;
    if (is_dbl && dec_from_double(&x, dbl) < 0)
        return fail(d, "22003", "numeric value out of range");
    int prec = t->precision > 0 ? t->precision : 38, scale = t->scale;
    if (prec > 38)
        prec = 38;
    if (scale > prec || scale < -128)
        return fail(d, "HY000", "invalid SQL_C_NUMERIC scale %d for precision %d", scale, prec);
    if (dec_int(&x, scale, &mag, &frac) < 0)
        return fail(d, "22003", "numeric value out of range");
    /* At most prec digits. */
    u128 lim = 1;
    for (int i = 0; i < prec; i++)
        lim *= 10;
    if (mag >= lim)
        return fail(d, "22003", "numeric value out of range: more than %d digits", prec);
    if (t->ptr) {
        SQL_NUMERIC_STRUCT *ns = t->ptr;
        memset(ns, 0, sizeof *ns);
        ns->precision = (SQLCHAR)prec;
        ns->scale = (SQLSCHAR)scale;
        ns->sign = x.neg && mag ? 0 : 1;
        for (int i = 0; i < SQL_MAX_NUMERIC_LEN; i++) {
            ns->val[i] = (SQLCHAR)(mag & 0xff);
            mag >>= 8;
        }
    }
    return frac ? warn(d, "01S07", "fractional truncation") : CONV_OK;
}

/* Parse a date/time value; zero dates from date columns read as NULL. */
static int src_dt(const struct odbc_value *v, enum conv_sqlcat cat, struct conv_dt *dt,
                  struct conv_diag *d)
{
    if (v->kind != ODBC_V_TEXT && v->kind != ODBC_V_BLOB)
        return fail(d, "22018", "invalid character value for cast specification: not a date/time");
    if (conv_parse_dt(v->p ? v->p : "", v->len, dt) < 0)
        return fail(d, cat == CAT_CHAR || cat == CAT_NONE ? "22018" : "22007",
                    "invalid datetime format");
    if (dt_zero_date(dt) && cat != CAT_CHAR && cat != CAT_NONE)
        return CONV_NULL;
    if (!conv_dt_valid(dt, true))
        return fail(d, cat == CAT_CHAR || cat == CAT_NONE ? "22018" : "22007",
                    "invalid datetime format: the value is not a valid date/time");
    return CONV_OK;
}

static int to_datetime(const struct odbc_value *v, enum conv_sqlcat cat,
                       const struct conv_target *t, struct conv_diag *d)
{
    struct conv_dt dt;
    bool cut = false;
    int rc = src_dt(v, cat, &dt, d);
    if (rc != CONV_OK)
        return rc;
    switch (t->c_type) {
    case SQL_C_TYPE_DATE:
        if (dt.kind == DT_TIME)
            return fail(d, "22018", "invalid character value: a time is not a date");
        cut = dt.kind == DT_TS && (dt.hour || dt.minute || dt.second || dt.frac);
        if (t->ptr) {
            SQL_DATE_STRUCT *ds = t->ptr;
            ds->year = (SQLSMALLINT)dt.year;
            ds->month = (SQLUSMALLINT)dt.month;
            ds->day = (SQLUSMALLINT)dt.day;
        }
        break;
    case SQL_C_TYPE_TIME:
        if (dt.kind == DT_DATE)
            return fail(d, "22018", "invalid character value: a date is not a time");
        if (dt.neg || dt.hour > 23)
            return fail(d, "22008", "datetime field overflow: %s%u hours do not fit SQL_C_TYPE_TIME",
                        dt.neg ? "-" : "", dt.hour);
        cut = dt.frac != 0;
        if (t->ptr) {
            SQL_TIME_STRUCT *ts = t->ptr;
            ts->hour = (SQLUSMALLINT)dt.hour;
            ts->minute = (SQLUSMALLINT)dt.minute;
            ts->second = (SQLUSMALLINT)dt.second;
        }
        break;
    default: /* SQL_C_TYPE_TIMESTAMP */
        if (dt.kind == DT_TIME) {
            if (dt.neg || dt.hour > 23)
                return fail(d, "22008", "datetime field overflow: %s%u hours is not a time of day",
                            dt.neg ? "-" : "", dt.hour);
            today(&dt);
        }
        if (t->ptr) {
            SQL_TIMESTAMP_STRUCT *ts = t->ptr;
            ts->year = (SQLSMALLINT)dt.year;
            ts->month = (SQLUSMALLINT)dt.month;
            ts->day = (SQLUSMALLINT)dt.day;
            ts->hour = (SQLUSMALLINT)(dt.kind == DT_DATE ? 0 : dt.hour);
            ts->minute = (SQLUSMALLINT)(dt.kind == DT_DATE ? 0 : dt.minute);
            ts->second = (SQLUSMALLINT)(dt.kind == DT_DATE ? 0 : dt.second);
            ts->fraction = dt.kind == DT_DATE ? 0 : dt.frac;
        }
        break;
    }
    return cut ? warn(d, "01S07", "fractional truncation") : CONV_OK;
}

static int to_interval(const struct odbc_value *v, enum conv_sqlcat cat,
                       const struct conv_target *t, struct conv_diag *d)
{
    SQLINTERVAL code = (SQLINTERVAL)(t->c_type - 100);
    SQL_INTERVAL_STRUCT iv;
    struct ivval r;
    int rc, first, last;
    char tmp[48];
    const char *p;
    size_t n;
    iv_fields(code, &first, &last);
    memset(&r, 0, sizeof r);
    if (cat == CAT_EXACT || v->kind == ODBC_V_INT || v->kind == ODBC_V_UINT) {
        /* A single-field interval from an exact number. */
        struct dec x;
        double dbl;
        bool is_dbl, frac;
        u128 mag;
        if (first != last)
            return fail(d, "07006", "restricted data type attribute violation: only a single-field interval converts from a number");
        rc = src_number(v, &x, &dbl, &is_dbl, d);
        if (rc != CONV_OK)
            return rc;
        if (is_dbl && dec_from_double(&x, dbl) < 0)
            return fail(d, "22015", "interval field overflow");
        if (dec_int(&x, 0, &mag, &frac) < 0 || mag > UINT32_MAX)
            return fail(d, "22015", "interval field overflow");
        bool cut = frac && first != 5;
        r.neg = x.neg;
        r.ym = first <= 1;
        r.total = (uint64_t)mag * iv_unit[first];
        if (frac && first == 5) {
            /* Fractional seconds: digits after the point, to nanoseconds. */
            struct dec f = x;
            u128 ns;
            f.neg = false;
            if (dec_int(&f, 9, &ns, &cut) < 0)
                return fail(d, "22015", "interval field overflow");
            r.frac = (uint32_t)(ns % 1000000000u);
        }
        int src = iv_store(&r, code, t->interval_precision, t->seconds_precision, &iv, d);
        if (src == CONV_ERROR)
            return src;
        if (cut)
            src = warn(d, "01S07", "fractional truncation");
        if (t->ptr)
            memcpy(t->ptr, &iv, sizeof iv);
        return src;
    }
    value_text(v, &(struct conv_col){0}, tmp, &p, &n);
    if (cat == CAT_TIME) {
        /* MySQL TIME: [-]H:MM:SS[.f] as an hour-to-second interval. */
        struct conv_dt dt;
        if (conv_parse_dt(p, n, &dt) < 0 || dt.kind != DT_TIME)
            return fail(d, "22018", "invalid time value");
        r.neg = dt.neg;
        r.total = (uint64_t)dt.hour * 3600 + dt.minute * 60u + dt.second;
        r.frac = dt.frac;
    } else if (iv_parse(p, n, code, &r) < 0) {
        return fail(d, "22018", "invalid character value: not an interval literal");
    }
    rc = iv_store(&r, code, t->interval_precision, t->seconds_precision, &iv, d);
    if (rc != CONV_ERROR && t->ptr)
        memcpy(t->ptr, &iv, sizeof iv);
    return rc;
}

static int to_guid(const struct odbc_value *v, const struct conv_target *t, struct conv_diag *d)
{
    SQLGUID g;
    if ((v->kind != ODBC_V_TEXT && v->kind != ODBC_V_BLOB) ||
        guid_parse(v->p ? v->p : "", v->len, &g) < 0)
        return fail(d, "22018", "invalid character value: not a GUID");
    if (t->ptr)
        memcpy(t->ptr, &g, sizeof g);
    return CONV_OK;
}

int conv_to_c(const struct odbc_value *v, const struct conv_col *col,
              const struct conv_target *t, struct conv_stream *st, SQLLEN *len_out,
              struct conv_diag *d)
{
    enum conv_sqlcat cat = conv_sql_category(conv_sql_type_v3(col->sql_type));
    SQLSMALLINT c = conv_c_type_v3(t->c_type);
    struct conv_target tt = *t;
    int rc;
    tt.c_type = c;
    d->state[0] = 0;
    d->msg[0] = 0;
    *len_out = 0;
    if (!conv_c_type_valid(c))
        return fail(d, "HY003", "invalid application buffer type %d", (int)c);
    if (!to_c_allowed(cat, c))
        return fail(d, "07006", "restricted data type attribute violation: %s data does not convert to C type %d",
                    type_word(cat), (int)c);
    if (conv_c_is_stream(c)) {
        struct conv_stream one;
        if (st)
            return to_stream(v, col, &tt, st, len_out, d);
        memset(&one, 0, sizeof one);
        rc = to_stream(v, col, &tt, &one, len_out, d);
        conv_stream_reset(&one);
        return rc;
    }
    if (st) {
        if (st->done)
            return CONV_NODATA;
    }
    /* Fixed-size values are built in an aligned buffer and copied out: the
     * application's buffer need not be aligned (pyodbc packs its buffers). */
    union fixed_c al;
    void *app = tt.ptr;
    if (app)
        tt.ptr = &al;
    if (c_is_integer(c))
        rc = to_integer(v, &tt, d);
    else if (c == SQL_C_FLOAT || c == SQL_C_DOUBLE)
        rc = to_float(v, &tt, d);
    else if (c == SQL_C_BIT)
        rc = to_bit(v, &tt, d);
    else if (c == SQL_C_NUMERIC)
        rc = to_numeric(v, &tt, d);
    else if (c == SQL_C_TYPE_DATE || c == SQL_C_TYPE_TIME || c == SQL_C_TYPE_TIMESTAMP)
        rc = to_datetime(v, cat, &tt, d);
    else if (c == SQL_C_GUID)
        rc = to_guid(v, &tt, d);
    else
        rc = to_interval(v, cat, &tt, d);
    if (rc == CONV_OK || rc == CONV_INFO) {
        *len_out = conv_c_size(c);
        if (app)
            memcpy(app, &al, (size_t)conv_c_size(c));
        if (st)
            st->done = true;
    }
    return rc;
}

/* ============================================================ C -> SQL */

/* An application value decoded from its C type. */
enum cv_kind { CV_NUM, CV_DBL, CV_TEXT, CV_BYTES, CV_DT, CV_IV, CV_GUID };

struct cval {
    enum cv_kind k;
    struct dec num;
    double dbl;
    bool is_float;
    const char *p;
    size_t n;
    struct conv_dt dt;
    struct ivval iv;
    SQLINTERVAL iv_code;
    SQLGUID g;
};

static int decode_c(const struct conv_param *p, struct cval *cv, struct buf *tmp,
                    struct conv_diag *d)
{
    SQLSMALLINT c = conv_c_type_v3(p->c_type);
    const void *ptr = p->ptr;
    union fixed_c al;
    memset(cv, 0, sizeof *cv);
    if (!ptr)
        return fail(d, "HY009", "invalid use of null pointer: no parameter data");
    if (conv_c_size(c) > 0) {
        /* read a fixed-size value through an aligned copy (see conv_to_c) */
        memcpy(&al, ptr, (size_t)conv_c_size(c));
        ptr = &al;
    }
    if (c_is_integer(c)) {
        cv->k = CV_NUM;
        switch (c) {
        case SQL_C_STINYINT: case SQL_C_TINYINT: dec_from_i64(&cv->num, *(const SQLSCHAR *)ptr); break;
        case SQL_C_UTINYINT: dec_from_i64(&cv->num, *(const SQLCHAR *)ptr); break;
        case SQL_C_SSHORT: case SQL_C_SHORT: dec_from_i64(&cv->num, *(const SQLSMALLINT *)ptr); break;
        case SQL_C_USHORT: dec_from_i64(&cv->num, *(const SQLUSMALLINT *)ptr); break;
        case SQL_C_SLONG: case SQL_C_LONG: dec_from_i64(&cv->num, *(const SQLINTEGER *)ptr); break;
        case SQL_C_ULONG: dec_from_i64(&cv->num, *(const SQLUINTEGER *)ptr); break;
        case SQL_C_SBIGINT: dec_from_i64(&cv->num, *(const SQLBIGINT *)ptr); break;
        default: dec_from_u128(&cv->num, false, *(const SQLUBIGINT *)ptr, 0); break;
        }
        return CONV_OK;
    }
    if (c_is_interval(c)) {
        const SQL_INTERVAL_STRUCT *iv = ptr;
        cv->k = CV_IV;
        cv->iv_code = (SQLINTERVAL)(c - 100);
        if (iv->interval_type != cv->iv_code ||
            iv_load(iv, p->decimal_digits > 0 ? p->decimal_digits : 6, &cv->iv) < 0)
            return fail(d, "22015", "interval field overflow: the interval structure is not valid");
        return CONV_OK;
    }
    switch (c) {
    case SQL_C_CHAR:
        cv->k = CV_TEXT;
        cv->p = ptr;
        cv->n = (size_t)p->len;
        return CONV_OK;
    case SQL_C_WCHAR: {
        size_t bad;
        buf_reset(tmp);
        if (p->len % (SQLLEN)sizeof(SQLWCHAR))
            return fail(d, "22018", "invalid character value: odd byte length for SQL_C_WCHAR data");
        if (wide_to_utf8(ptr, (size_t)p->len / sizeof(SQLWCHAR), tmp, &bad) < 0)
            return tmp->oom ? oom(d)
                            : fail(d, "22018", "invalid character value: unpaired UTF-16 surrogate at unit %zu",
                                   bad);
        cv->k = CV_TEXT;
        cv->p = tmp->len ? (const char *)tmp->data : "";
        cv->n = tmp->len;
        return CONV_OK;
    }
    case SQL_C_BIT:
        cv->k = CV_NUM;
        dec_from_i64(&cv->num, *(const SQLCHAR *)ptr);
        return CONV_OK;
    case SQL_C_FLOAT:
        cv->k = CV_DBL;
        cv->dbl = *(const SQLREAL *)ptr;
        cv->is_float = true;
        return CONV_OK;
    case SQL_C_DOUBLE:
        cv->k = CV_DBL;
        cv->dbl = *(const SQLDOUBLE *)ptr;
        return CONV_OK;
    case SQL_C_NUMERIC: {
        const SQL_NUMERIC_STRUCT *ns = ptr;
        u128 mag = 0;
        int scale = p->num_scale_set ? p->num_scale : ns->scale;
        for (int i = SQL_MAX_NUMERIC_LEN - 1; i >= 0; i--)
            mag = mag << 8 | ns->val[i];
        if (ns->sign > 1)
            return fail(d, "22003", "numeric value out of range: invalid sign in SQL_NUMERIC_STRUCT");
        cv->k = CV_NUM;
        dec_from_u128(&cv->num, ns->sign == 0, mag, -scale);
        return CONV_OK;
    }
    case SQL_C_TYPE_DATE: {
        const SQL_DATE_STRUCT *ds = ptr;
        cv->k = CV_DT;
        cv->dt.kind = DT_DATE;
        cv->dt.year = ds->year;
        cv->dt.month = ds->month;
        cv->dt.day = ds->day;
        break;
    }
    case SQL_C_TYPE_TIME: {
        const SQL_TIME_STRUCT *ts = ptr;
        cv->k = CV_DT;
        cv->dt.kind = DT_TIME;
        cv->dt.hour = ts->hour;
        cv->dt.minute = ts->minute;
        cv->dt.second = ts->second;
        break;
    }
    case SQL_C_TYPE_TIMESTAMP: {
        const SQL_TIMESTAMP_STRUCT *ts = ptr;
        cv->k = CV_DT;
        cv->dt.kind = DT_TS;
        cv->dt.year = ts->year;
        cv->dt.month = ts->month;
        cv->dt.day = ts->day;
        cv->dt.hour = ts->hour;
        cv->dt.minute = ts->minute;
        cv->dt.second = ts->second;
        cv->dt.frac = ts->fraction;
        break;
    }
    case SQL_C_GUID:
        cv->k = CV_GUID;
        memcpy(&cv->g, ptr, sizeof cv->g);
        return CONV_OK;
    case SQL_C_BINARY:
        cv->k = CV_BYTES;
        cv->p = ptr;
        cv->n = (size_t)p->len;
        return CONV_OK;
    default:
        return fail(d, "HY003", "invalid application buffer type %d", (int)c);
    }
    /* Date/time structs: the fields must form a valid value (22007). */
    if (!conv_dt_valid(&cv->dt, false))
        return fail(d, "22007", "invalid datetime format: the date/time structure is not valid");
    return CONV_OK;
}

static int out_text(struct odbc_value *out, struct buf *scratch, const char *s, size_t n,
                    struct conv_diag *d)
{
    buf_reset(scratch);
    if (buf_append(scratch, s, n) < 0 || buf_append(scratch, "", 1) < 0)
        return oom(d);
    out->kind = ODBC_V_TEXT;
    out->p = (const char *)scratch->data;
    out->len = n;
    return CONV_OK;
}

/* A number from text, an exact value or a double, as an exact decimal. */
static int cv_number(struct cval *cv, struct conv_diag *d)
{
    if (cv->k == CV_TEXT) {
        switch (dec_parse(cv->p, cv->n, &cv->num)) {
        case 0:
            return CONV_OK;
        case -2:
            return fail(d, "22003", "numeric value out of range");
        default:
            return fail(d, "22018", "invalid character value for cast specification: not a number");
        }
    }
    if (cv->k == CV_DBL) {
        char tmp[40];
        if (!isfinite(cv->dbl))
            return fail(d, "22003", "numeric value out of range: not a finite number");
        conv_format_double(cv->dbl, cv->is_float, tmp);
        dec_parse(tmp, strlen(tmp), &cv->num);
        return CONV_OK;
    }
    if (cv->k == CV_IV) {
        int first, last;
        iv_fields(cv->iv_code, &first, &last);
        if (first != last)
            return fail(d, "07006", "restricted data type attribute violation: only a single-field interval converts to a number");
        dec_from_u128(&cv->num, cv->iv.neg, cv->iv.total / iv_unit[first], 0);
        if (first == 5 && cv->iv.frac) {
            struct dec f;
            dec_from_u128(&f, false, (u128)cv->iv.total * 1000000000u + cv->iv.frac, -9);
            f.neg = cv->iv.neg;
            cv->num = f;
        }
        return CONV_OK;
    }
    if (cv->k == CV_NUM)
        return CONV_OK;
    return fail(d, "07006", "restricted data type attribute violation: the C type does not convert to a number");
}

static int from_c_exact(struct cval *cv, const struct conv_param *p, struct odbc_value *out,
                        struct buf *scratch, struct conv_diag *d)
{
    bool from_char = cv->k == CV_TEXT;
    bool info = false;
    int rc = cv_number(cv, d);
    if (rc != CONV_OK)
        return rc;
    struct dec x = cv->num;
    SQLSMALLINT t = p->sql_type;
    if (t == SQL_DECIMAL || t == SQL_NUMERIC) {
        char tmp[DEC_TEXT_MAX];
        if (p->column_size > 0) {
            int prec = (int)(p->column_size > 1000 ? 1000 : p->column_size);
            int scale = p->decimal_digits;
            if (dec_frac_digits(&x) > scale) {
                if (from_char)
                    return fail(d, "22001", "string data, right truncated: more than %d fractional digits",
                                scale);
                dec_truncate(&x, scale);
                info = true;
            }
            if (dec_whole_digits(&x) > prec - scale)
                return fail(d, "22003", "numeric value out of range for DECIMAL(%d,%d)", prec, scale);
        } else if (x.inexact) {
            return fail(d, "22003", "numeric value out of range: more than %d significant digits",
                        DEC_MAXD);
        }
        size_t n = dec_format(&x, tmp);
        rc = out_text(out, scratch, tmp, n, d);
        if (rc == CONV_OK && info)
            return warn(d, "01S07", "fractional truncation");
        return rc;
    }
    /* Integers. */
    u128 mag;
    bool frac;
    i128 lo, hi, v;
    switch (t) {
    case SQL_TINYINT: lo = -128, hi = 255; break;
    case SQL_SMALLINT: lo = -32768, hi = 65535; break;
    case SQL_INTEGER: lo = INT32_MIN, hi = UINT32_MAX; break;
    default: lo = INT64_MIN, hi = UINT64_MAX; break;
    }
    if (dec_int(&x, 0, &mag, &frac) < 0 || mag > (u128)UINT64_MAX + 1)
        return fail(d, "22003", "numeric value out of range");
    v = x.neg ? -(i128)mag : (i128)mag;
    if (v < lo || v > hi)
        return fail(d, "22003", "numeric value out of range for the parameter's SQL type");
    if (frac && from_char)
        return fail(d, "22001", "string data, right truncated: fractional digits for an integer parameter");
    if (v < 0 || v <= INT64_MAX) {
        out->kind = ODBC_V_INT;
        out->i = (int64_t)v;
    } else {
        out->kind = ODBC_V_UINT;
        out->u = (uint64_t)v;
    }
    if (frac || info)
        return warn(d, "01S07", "fractional truncation");
    return CONV_OK;
}

static int from_c_approx(struct cval *cv, const struct conv_param *p, struct odbc_value *out,
                         struct conv_diag *d)
{
    double v;
    if (cv->k == CV_DBL) {
        v = cv->dbl;
    } else if (cv->k == CV_TEXT) {
        char tmp[400];
        const char *s = cv->p;
        size_t n = cv->n;
        struct dec x;
        trim(&s, &n);
        int pr = dec_parse(s, n, &x);
        if (pr == -1)
            return fail(d, "22018", "invalid character value for cast specification: not a number");
        if (pr == -2) {
            char *copy = strndup(s, n);
            v = copy ? strtod(copy, NULL) : HUGE_VAL;
            free(copy);
        } else if (n >= sizeof tmp) {
            v = dec_to_double(&x);
        } else {
            memcpy(tmp, s, n);
            tmp[n] = 0;
            v = strtod(tmp, NULL);
        }
    } else {
        int rc = cv_number(cv, d);
        if (rc != CONV_OK)
            return rc;
        v = dec_to_double(&cv->num);
    }
    if (isinf(v) && cv->k != CV_DBL)
        return fail(d, "22003", "numeric value out of range");
    if (p->sql_type == SQL_REAL && isfinite(v) && fabs(v) > FLT_MAX)
        return fail(d, "22003", "numeric value out of range for REAL");
    out->kind = ODBC_V_DOUBLE;
    out->d = v;
    return CONV_OK;
}

static int from_c_bit(struct cval *cv, struct odbc_value *out, struct conv_diag *d)
{
    int bit;
    bool cut;
    int rc;
    if (cv->k == CV_DBL) {
        if (bit_value(NULL, cv->dbl, true, &bit, &cut) < 0)
            return fail(d, "22003", "numeric value out of range for BIT");
    } else {
        if ((rc = cv_number(cv, d)) != CONV_OK)
            return rc;
        if (bit_value(&cv->num, 0, false, &bit, &cut) < 0)
            return fail(d, "22003", "numeric value out of range for BIT");
    }
    if (cut)
        return fail(d, "22001", "string data, right truncated: BIT takes 0 or 1");
    out->kind = ODBC_V_INT;
    out->i = bit;
    return CONV_OK;
}

static int from_c_datetime(struct cval *cv, const struct conv_param *p, struct odbc_value *out,
                           struct buf *scratch, struct conv_diag *d)
{
    enum conv_sqlcat cat = conv_sql_category(p->sql_type);
    struct conv_dt dt;
    bool from_char = cv->k == CV_TEXT;
    char tmp[48];
    if (cv->k == CV_TEXT) {
        if (conv_parse_dt(cv->p, cv->n, &dt) < 0)
            return fail(d, "22018", "invalid character value for cast specification: not a date/time literal");
        if (!conv_dt_valid(&dt, false))
            return fail(d, "22008", "datetime field overflow: the literal's fields are out of range");
    } else if (cv->k == CV_DT) {
        dt = cv->dt;
    } else {
        return fail(d, "07006", "restricted data type attribute violation: the C type does not convert to a date/time");
    }
    int digits = p->decimal_digits > 0 ? (p->decimal_digits > 9 ? 9 : p->decimal_digits) : 0;
    enum conv_dtkind want = cat == CAT_DATE ? DT_DATE : cat == CAT_TIME ? DT_TIME : DT_TS;
    if (want == DT_DATE) {
        if (dt.kind == DT_TIME)
            return from_char ? fail(d, "22018", "invalid character value: a time is not a date")
                             : fail(d, "07006", "restricted data type attribute violation: a time does not convert to a date");
        if (dt.kind == DT_TS && (dt.hour || dt.minute || dt.second || dt.frac))
            return fail(d, "22008", "datetime field overflow: the time part would be lost");
    } else if (want == DT_TIME) {
        if (dt.kind == DT_DATE)
            return from_char ? fail(d, "22018", "invalid character value: a date is not a time")
                             : fail(d, "07006", "restricted data type attribute violation: a date does not convert to a time");
        if (frac_needed(dt.frac) > digits)
            return fail(d, "22008", "datetime field overflow: fractional seconds would be lost");
    } else {
        if (dt.kind == DT_DATE) {
            dt.hour = dt.minute = dt.second = 0;
            dt.frac = 0;
        } else if (dt.kind == DT_TIME) {
            today(&dt);
        }
        if (frac_needed(dt.frac) > digits)
            return fail(d, "22008", "datetime field overflow: fractional seconds beyond the parameter's %d digits",
                        digits);
    }
    size_t n = conv_format_dt(&dt, want, want == DT_DATE ? 0 : frac_needed(dt.frac), tmp);
    return out_text(out, scratch, tmp, n, d);
}

static int from_c_interval(struct cval *cv, const struct conv_param *p, struct odbc_value *out,
                           struct buf *scratch, struct conv_diag *d)
{
    SQLINTERVAL code = (SQLINTERVAL)(p->sql_type - 100);
    int first, last, rc;
    struct ivval r;
    SQL_INTERVAL_STRUCT iv;
    char tmp[64];
    iv_fields(code, &first, &last);
    if (cv->k == CV_TEXT) {
        if (iv_parse(cv->p, cv->n, code, &r) < 0)
            return fail(d, "22018", "invalid character value: not an interval literal");
    } else if (cv->k == CV_IV) {
        r = cv->iv;
    } else if (cv->k == CV_NUM && first == last) {
        u128 mag;
        bool frac;
        if (dec_int(&cv->num, 0, &mag, &frac) < 0 || mag > UINT32_MAX)
            return fail(d, "22015", "interval field overflow");
        if (frac && first != 5)
            return fail(d, "22015", "interval field overflow: fractional value for a %s interval",
                        "whole-unit");
        memset(&r, 0, sizeof r);
        r.neg = cv->num.neg;
        r.ym = first <= 1;
        r.total = (uint64_t)mag * iv_unit[first];
        if (frac) {
            struct dec f = cv->num;
            u128 ns;
            bool more;
            f.neg = false;
            dec_int(&f, 9, &ns, &more);
            r.frac = (uint32_t)(ns % 1000000000u);
        }
    } else {
        return fail(d, "07006", "restricted data type attribute violation: the C type does not convert to this interval");
    }
    rc = iv_store(&r, code, 18, 9, &iv, d);
    if (rc == CONV_ERROR)
        return rc;
    if (rc == CONV_INFO)
        return fail(d, "22015", "interval field overflow: a field would be truncated");
    struct ivval back;
    iv_load(&iv, 9, &back);
    size_t n = iv_format_val(&back, code, tmp);
    return out_text(out, scratch, tmp, n, d);
}

static int from_c_binary(struct cval *cv, struct odbc_value *out, struct buf *scratch,
                         struct conv_diag *d)
{
    if (cv->k == CV_BYTES) {
        out->kind = ODBC_V_BLOB;
        out->p = cv->p;
        out->len = cv->n;
        return CONV_OK;
    }
    if (cv->k != CV_TEXT)
        return fail(d, "07006", "restricted data type attribute violation: the C type does not convert to binary");
    /* Pairs of hex digits; an odd last digit is ignored. */
    struct buf tmp;
    buf_init(&tmp);
    if (buf_reserve(&tmp, cv->n / 2 + 1) < 0)
        return oom(d);
    for (size_t i = 0; i + 1 < cv->n; i += 2) {
        int h = hexval((unsigned char)cv->p[i]), l = hexval((unsigned char)cv->p[i + 1]);
        if (h < 0 || l < 0) {
            buf_close(&tmp);
            return fail(d, "22018", "invalid character value: not a hexadecimal string");
        }
        tmp.data[tmp.len++] = (unsigned char)(h << 4 | l);
    }
    if (cv->n % 2 && hexval((unsigned char)cv->p[cv->n - 1]) < 0) {
        buf_close(&tmp);
        return fail(d, "22018", "invalid character value: not a hexadecimal string");
    }
    buf_close(scratch);
    *scratch = tmp;
    out->kind = ODBC_V_BLOB;
    out->p = scratch->len ? (const char *)scratch->data : "";
    out->len = scratch->len;
    return CONV_OK;
}

static int from_c_text(struct cval *cv, struct odbc_value *out, struct buf *scratch,
                       struct conv_diag *d)
{
    char tmp[DEC_TEXT_MAX];
    size_t n;
    switch (cv->k) {
    case CV_TEXT:
    case CV_BYTES:
        out->kind = ODBC_V_TEXT;
        out->p = cv->p ? cv->p : "";
        out->len = cv->n;
        return CONV_OK;
    case CV_NUM:
        n = dec_format(&cv->num, tmp);
        break;
    case CV_DBL:
        n = conv_format_double(cv->dbl, cv->is_float, tmp);
        break;
    case CV_DT:
        n = conv_format_dt(&cv->dt, cv->dt.kind, frac_needed(cv->dt.frac), tmp);
        break;
    case CV_IV:
        n = iv_format_val(&cv->iv, cv->iv_code, tmp);
        break;
    default:
        n = guid_format(&cv->g, tmp);
        break;
    }
    return out_text(out, scratch, tmp, n, d);
}

int conv_from_c(const struct conv_param *p, struct odbc_value *out, struct buf *scratch,
                struct conv_diag *d)
{
    struct cval cv;
    struct buf tmp;
    int rc;
    enum conv_sqlcat cat = conv_sql_category(p->sql_type);
    memset(out, 0, sizeof *out);
    d->state[0] = 0;
    d->msg[0] = 0;
    if (cat == CAT_NONE)
        return fail(d, "HY004", "invalid SQL data type %d", (int)p->sql_type);
    buf_init(&tmp);
    rc = decode_c(p, &cv, &tmp, d);
    if (rc != CONV_OK)
        goto done;
    switch (cat) {
    case CAT_CHAR:
        rc = from_c_text(&cv, out, scratch, d);
        break;
    case CAT_EXACT:
        rc = from_c_exact(&cv, p, out, scratch, d);
        break;
    case CAT_APPROX:
        rc = from_c_approx(&cv, p, out, d);
        break;
    case CAT_BIT:
        rc = from_c_bit(&cv, out, d);
        break;
    case CAT_BINARY:
        rc = from_c_binary(&cv, out, scratch, d);
        break;
    case CAT_DATE:
    case CAT_TIME:
    case CAT_TIMESTAMP:
        rc = from_c_datetime(&cv, p, out, scratch, d);
        break;
    case CAT_INTERVAL_YM:
    case CAT_INTERVAL_DT:
        rc = from_c_interval(&cv, p, out, scratch, d);
        break;
    case CAT_GUID:
        if (cv.k == CV_TEXT && guid_parse(cv.p, cv.n, &cv.g) < 0) {
            rc = fail(d, "22018", "invalid character value: not a GUID");
            break;
        }
        if (cv.k != CV_TEXT && cv.k != CV_GUID) {
            rc = fail(d, "07006", "restricted data type attribute violation: the C type does not convert to a GUID");
            break;
        }
        cv.k = CV_GUID;
        rc = from_c_text(&cv, out, scratch, d);
        break;
    default:
        rc = fail(d, "HY004", "invalid SQL data type");
    }
    /* Text decoded from SQL_C_WCHAR lives in tmp: keep it in scratch. */
    if (rc != CONV_ERROR && out->kind == ODBC_V_TEXT && tmp.data &&
        out->p >= (const char *)tmp.data && out->p <= (const char *)tmp.data + tmp.len) {
        size_t off = (size_t)(out->p - (const char *)tmp.data);
        buf_close(scratch);
        *scratch = tmp;
        buf_init(&tmp);
        if (buf_append(scratch, "", 1) < 0) {
            rc = oom(d);
            goto done;
        }
        scratch->len--;
        out->p = (const char *)scratch->data + off;
    }
done:
    buf_close(&tmp);
    return rc;
}
