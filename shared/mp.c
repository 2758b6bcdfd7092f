/* Bounded msgpack reader and buf-backed packer.  See mp.h for why the
 * reader is our own. */
#include "config.h"

#include "mp.h"

#include <string.h>

void mp_reader_init(struct mp_reader *r, const void *data, size_t len)
{
    r->p = data;
    r->end = r->p + len;
    r->err = NULL;
}

size_t mp_remaining(const struct mp_reader *r)
{
    return (size_t)(r->end - r->p);
}

int mp_fail(struct mp_reader *r, const char *why)
{
    if (!r->err)
        r->err = why;
    r->p = r->end;
    return -1;
}

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Take n bytes; fail if they are not there. */
static const unsigned char *take(struct mp_reader *r, size_t n)
{
    const unsigned char *p = r->p;
    if (r->err)
        return NULL;
    if (n > mp_remaining(r)) {
        mp_fail(r, "truncated value");
        return NULL;
    }
    r->p += n;
    return p;
}

enum mp_type mp_peek(const struct mp_reader *r)
{
    unsigned char c;
    if (r->err || r->p >= r->end)
        return MP_INVALID;
    c = *r->p;
    if (c <= 0x7f || (c >= 0xcc && c <= 0xcf))
        return MP_UINT;
    if (c >= 0xe0 || (c >= 0xd0 && c <= 0xd3))
        return MP_INT;
    if ((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf)
        return MP_MAP;
    if ((c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd)
        return MP_ARRAY;
    if ((c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb))
        return MP_STR;
    switch (c) {
    case 0xc0: return MP_NIL;
    case 0xc2: case 0xc3: return MP_BOOL;
    case 0xc4: case 0xc5: case 0xc6: return MP_BIN;
    case 0xca: case 0xcb: return MP_FLOAT;
    case 0xc7: case 0xc8: case 0xc9:
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return MP_EXT;
    default: return MP_INVALID;
    }
}

int mp_read_nil(struct mp_reader *r)
{
    if (mp_peek(r) != MP_NIL)
        return mp_fail(r, "expected nil");
    r->p++;
    return 0;
}

int mp_read_bool(struct mp_reader *r, bool *v)
{
    if (mp_peek(r) != MP_BOOL)
        return mp_fail(r, "expected boolean");
    *v = *r->p++ == 0xc3;
    return 0;
}

/* Reads any integer as sign + magnitude. */
static int read_integer(struct mp_reader *r, bool *neg, uint64_t *mag)
{
    const unsigned char *p;
    unsigned char c;
    int64_t s;

    if (r->err || r->p >= r->end)
        return mp_fail(r, "expected integer");
    c = *r->p;
    *neg = false;
    if (c <= 0x7f) {
        r->p++;
        *mag = c;
        return 0;
    }
    if (c >= 0xe0) {
        r->p++;
        *neg = true;
        *mag = (uint64_t)(256 - c);
        return 0;
    }
    if (c >= 0xcc && c <= 0xcf) {
        int n = 1 << (c - 0xcc);
        r->p++;
        if (!(p = take(r, (size_t)n)))
            return -1;
        *mag = be(p, n);
        return 0;
    }
    if (c >= 0xd0 && c <= 0xd3) {
        int n = 1 << (c - 0xd0);
        uint64_t u;
        r->p++;
        if (!(p = take(r, (size_t)n)))
            return -1;
        u = be(p, n);
        /* sign-extend */
        if (n < 8 && (u >> (n * 8 - 1)) & 1)
            u |= ~(uint64_t)0 << (n * 8);
        memcpy(&s, &u, sizeof s);
        if (s < 0) {
            *neg = true;
            *mag = (uint64_t)0 - u;
        } else {
            *mag = u;
        }
        return 0;
    }
    return mp_fail(r, "expected integer");
}

int mp_read_uint(struct mp_reader *r, uint64_t *v)
{
    bool neg;
    uint64_t mag;
    if (read_integer(r, &neg, &mag) < 0)
        return -1;
    if (neg && mag)
        return mp_fail(r, "expected unsigned integer");
    *v = mag;
    return 0;
}

int mp_read_int(struct mp_reader *r, int64_t *v)
{
    bool neg;
    uint64_t mag;
    if (read_integer(r, &neg, &mag) < 0)
        return -1;
    if (!neg) {
        if (mag > (uint64_t)INT64_MAX)
            return mp_fail(r, "integer out of range");
        *v = (int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX + 1)
            return mp_fail(r, "integer out of range");
        *v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    }
    return 0;
}

int mp_read_double(struct mp_reader *r, double *v)
{
    const unsigned char *p;
    enum mp_type t = mp_peek(r);

    if (t == MP_UINT || t == MP_INT) {
        int64_t i;
        uint64_t u;
        if (t == MP_UINT) {
            if (mp_read_uint(r, &u) < 0)
                return -1;
            *v = (double)u;
        } else {
            if (mp_read_int(r, &i) < 0)
                return -1;
            *v = (double)i;
        }
        return 0;
    }
    if (t != MP_FLOAT)
        return mp_fail(r, "expected number");
    if (*r->p++ == 0xca) {
        uint32_t u;
        float f;
        if (!(p = take(r, 4)))
            return -1;
        u = (uint32_t)be(p, 4);
        memcpy(&f, &u, 4);
        *v = f;
    } else {
        uint64_t u;
        if (!(p = take(r, 8)))
            return -1;
        u = be(p, 8);
        memcpy(v, &u, 8);
    }
    return 0;
}

/* Length of a str/bin/array/map header whose first byte is c, given the
 * fix-range base and the first of the 8/16/32-bit codes (or 0 if the type has
 * no 8-bit form). */
static int read_len(struct mp_reader *r, uint32_t *len, unsigned char fixlo,
                    unsigned char fixhi, unsigned char c8, unsigned char c16,
                    unsigned char c32, const char *what)
{
    const unsigned char *p;
    unsigned char c;
    int n;

    if (r->err || r->p >= r->end)
        return mp_fail(r, what);
    c = *r->p;
    if (c >= fixlo && c <= fixhi) {
        r->p++;
        *len = (uint32_t)(c - fixlo);
        return 0;
    }
    if (c8 && c == c8)
        n = 1;
    else if (c == c16)
        n = 2;
    else if (c == c32)
        n = 4;
    else
        return mp_fail(r, what);
    r->p++;
    if (!(p = take(r, (size_t)n)))
        return -1;
    *len = (uint32_t)be(p, n);
    return 0;
}

int mp_read_str(struct mp_reader *r, const char **s, uint32_t *len)
{
    const unsigned char *p;
    if (read_len(r, len, 0xa0, 0xbf, 0xd9, 0xda, 0xdb, "expected string") < 0)
        return -1;
    if (!(p = take(r, *len)))
        return -1;
    *s = (const char *)p;
    return 0;
}

int mp_read_bin(struct mp_reader *r, const unsigned char **s, uint32_t *len)
{
    /* bin has no fix form: use an empty fix range that cannot match */
    if (read_len(r, len, 0xff, 0x00, 0xc4, 0xc5, 0xc6, "expected binary") < 0)
        return -1;
    if (!(*s = take(r, *len)))
        return -1;
    return 0;
}

int mp_read_array(struct mp_reader *r, uint32_t *n)
{
    if (read_len(r, n, 0x90, 0x9f, 0, 0xdc, 0xdd, "expected array") < 0)
        return -1;
    /* every element takes at least one byte */
    if (*n > mp_remaining(r))
        return mp_fail(r, "array length exceeds input");
    return 0;
}

int mp_read_map(struct mp_reader *r, uint32_t *n)
{
    if (read_len(r, n, 0x80, 0x8f, 0, 0xde, 0xdf, "expected map") < 0)
        return -1;
    if (*n > mp_remaining(r) / 2)
        return mp_fail(r, "map length exceeds input");
    return 0;
}

static int skip_depth(struct mp_reader *r, int depth)
{
    const unsigned char *p;
    uint32_t n;
    unsigned char c;

    if (depth > MP_MAX_DEPTH)
        return mp_fail(r, "nesting too deep");
    switch (mp_peek(r)) {
    case MP_NIL:
    case MP_BOOL:
        r->p++;
        return 0;
    case MP_UINT:
    case MP_INT: {
        bool neg;
        uint64_t mag;
        return read_integer(r, &neg, &mag);
    }
    case MP_FLOAT: {
        double d;
        return mp_read_double(r, &d);
    }
    case MP_STR: {
        const char *s;
        return mp_read_str(r, &s, &n);
    }
    case MP_BIN:
        return mp_read_bin(r, &p, &n);
    case MP_ARRAY:
        if (mp_read_array(r, &n) < 0)
            return -1;
        while (n--)
            if (skip_depth(r, depth + 1) < 0)
                return -1;
        return 0;
    case MP_MAP:
        if (mp_read_map(r, &n) < 0)
            return -1;
        while (n--)
            if (skip_depth(r, depth + 1) < 0 || skip_depth(r, depth + 1) < 0)
                return -1;
        return 0;
    case MP_EXT:
        c = *r->p++;
        if (c >= 0xd4 && c <= 0xd8)
            n = 1u << (c - 0xd4);
        else {
            int w = 1 << (c - 0xc7);
            if (!(p = take(r, (size_t)w)))
                return -1;
            n = (uint32_t)be(p, w);
        }
        return take(r, (size_t)n + 1) ? 0 : -1; /* type byte + data */
    default:
        return mp_fail(r, "invalid msgpack byte");
    }
}

int mp_skip(struct mp_reader *r)
{
    return skip_depth(r, 0);
}

static int buf_write_cb(void *data, const char *p, size_t n)
{
    return buf_append(data, p, n);
}

void mp_packer_init(msgpack_packer *pk, struct buf *b)
{
    msgpack_packer_init(pk, b, buf_write_cb);
}
