/* Conversions of one result cell between the wire's value types and what
 * the typed getters of recall.h return.  Pure functions: no I/O, no global
 * state; numbers are formatted and parsed in the "C" locale whatever the
 * application's locale is (the caller passes a C locale object).
 *
 * The rules (also documented in recall.h): out-of-range numbers saturate,
 * doubles truncate toward zero, NaN becomes 0, text and binary values are
 * read like MySQL reads a string in numeric context (leading blanks, then
 * the longest prefix that is a decimal integer or floating-point number;
 * 0 when there is none), SQL NULL is 0 / NULL.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recall-internal.h"

/* 2^63 and 2^64 as doubles: the first values that do not fit. */
#define TWO_63 9223372036854775808.0
#define TWO_64 18446744073709551616.0

static int64_t double_to_int64(double d)
{
    if (isnan(d))
        return 0;
    if (d >= TWO_63)
        return INT64_MAX;
    if (d < -TWO_63)
        return INT64_MIN;
    return (int64_t)d;
}

static uint64_t double_to_uint64(double d)
{
    if (isnan(d) || d <= 0)
        return 0;
    if (d >= TWO_64)
        return UINT64_MAX;
    return (uint64_t)d;
}

/* The numeric prefix of s: an integer if it is one (*is_int, exact, in
 * *i or *u), else a double in *d.  Returns false when s has no number. */
struct num {
    bool is_int, negative;
    int64_t i;   /* is_int && negative, or is_int && fits */
    uint64_t u;  /* is_int && !negative */
    double d;
};

static bool parse_num(const char *s, locale_t loc, struct num *out)
{
    const char *p = s, *q, *intend;
    char tmp[512];
    bool frac = false;
    size_t ext;

    memset(out, 0, sizeof *out);
    while (isspace((unsigned char)*p))
        p++;
    q = p;
    if (*q == '+' || *q == '-')
        q++;
    if (!isdigit((unsigned char)*q) && !(*q == '.' && isdigit((unsigned char)q[1])))
        return false;
    while (isdigit((unsigned char)*q))
        q++;
    intend = q;
    if (*q == '.') {
        frac = true;
        q++;
        while (isdigit((unsigned char)*q))
            q++;
    }
    if ((*q == 'e' || *q == 'E') &&
        (isdigit((unsigned char)q[1]) ||
         ((q[1] == '+' || q[1] == '-') && isdigit((unsigned char)q[2])))) {
        frac = true;
        q += 2;
        while (isdigit((unsigned char)*q))
            q++;
    }
    /* strtod_l would also accept hex, "inf" and "nan": give it only the
     * decimal prefix found above. */
    ext = (size_t)(q - p);
    if (ext < sizeof tmp) {
        memcpy(tmp, p, ext);
        tmp[ext] = '\0';
        out->d = strtod_l(tmp, NULL, loc);
    } else {
        out->d = strtod_l(p, NULL, loc); /* a long decimal run: same prefix */
    }
    if (!frac && intend > p) {
        if (*p == '-') {
            out->negative = true;
            out->i = (int64_t)strtoll(p, NULL, 10); /* saturates at LLONG_MIN */
        } else {
            out->u = (uint64_t)strtoull(p, NULL, 10); /* saturates at ULLONG_MAX */
        }
        out->is_int = true;
    }
    return true;
}

static const char *bytes_of(const struct proto_value *v)
{
    /* Decoded and bound TEXT/BLOB values are NUL-terminated. */
    return v->v.p ? v->v.p : "";
}

int64_t value_to_int64(const struct proto_value *v, locale_t loc)
{
    struct num n;
    switch (v->type) {
    case PV_INT:
        return v->v.i;
    case PV_UINT:
        return v->v.u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v->v.u;
    case PV_DOUBLE:
        return double_to_int64(v->v.d);
    case PV_TEXT:
    case PV_BLOB:
        if (!parse_num(bytes_of(v), loc, &n))
            return 0;
        if (!n.is_int)
            return double_to_int64(n.d);
        if (n.negative)
            return n.i;
        return n.u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)n.u;
    default:
        return 0;
    }
}

uint64_t value_to_uint64(const struct proto_value *v, locale_t loc)
{
    struct num n;
    switch (v->type) {
    case PV_INT:
        return v->v.i < 0 ? 0 : (uint64_t)v->v.i;
    case PV_UINT:
        return v->v.u;
    case PV_DOUBLE:
        return double_to_uint64(v->v.d);
    case PV_TEXT:
    case PV_BLOB:
        if (!parse_num(bytes_of(v), loc, &n))
            return 0;
        if (!n.is_int)
            return double_to_uint64(n.d);
        return n.negative ? 0 : n.u;
    default:
        return 0;
    }
}

double value_to_double(const struct proto_value *v, locale_t loc)
{
    struct num n;
    switch (v->type) {
    case PV_INT:
        return (double)v->v.i;
    case PV_UINT:
        return (double)v->v.u;
    case PV_DOUBLE:
        return v->v.d;
    case PV_TEXT:
    case PV_BLOB:
        return parse_num(bytes_of(v), loc, &n) ? n.d : 0.0;
    default:
        return 0.0;
    }
}

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double. */
static void format_double(double d, char buf[40], locale_t loc)
{
    locale_t old;
    if (isnan(d)) {
        strcpy(buf, "nan");
        return;
    }
    if (isinf(d)) {
        strcpy(buf, d < 0 ? "-inf" : "inf");
        return;
    }
    old = uselocale(loc);
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, d);
        if (prec == 17 || strtod_l(buf, NULL, loc) == d)
            break;
    }
    uselocale(old);
}

const char *value_to_text(const struct proto_value *v, char buf[40], size_t *len,
                          locale_t loc)
{
    const char *s;
    switch (v->type) {
    case PV_INT:
        snprintf(buf, 40, "%lld", (long long)v->v.i);
        s = buf;
        break;
    case PV_UINT:
        snprintf(buf, 40, "%llu", (unsigned long long)v->v.u);
        s = buf;
        break;
    case PV_DOUBLE:
        format_double(v->v.d, buf, loc);
        s = buf;
        break;
    case PV_TEXT:
    case PV_BLOB:
        if (len)
            *len = v->len;
        return bytes_of(v);
    default:
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = strlen(s);
    return s;
}
