/* UTF-16 <-> UTF-8 conversions used by the W entry points and by
 * SQL_C_WCHAR data.  Application input is decoded strictly (lone surrogates
 * are errors); server output is encoded leniently (bad bytes become U+FFFD).
 * See wide.h. */
#include "config.h"

#include "wide.h"

#include <stdlib.h>
#include <string.h>

size_t wide_len(const SQLWCHAR *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static int put_utf8(struct buf *out, uint32_t cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | cp >> 6);
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | cp >> 12);
        b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | cp >> 18);
        b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return buf_append(out, b, n);
}

int wide_to_utf8(const SQLWCHAR *s, size_t n, struct buf *out, size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = s[i];
        if (u >= 0xd800 && u <= 0xdbff) {
            if (i + 1 >= n || s[i + 1] < 0xdc00 || s[i + 1] > 0xdfff) {
                if (bad)
                    *bad = i;
                return -1;
            }
            u = 0x10000 + ((u - 0xd800) << 10) + (s[i + 1] - 0xdc00u);
            i++;
        } else if (u >= 0xdc00 && u <= 0xdfff) {
            if (bad)
                *bad = i;
            return -1;
        }
        if (put_utf8(out, u) < 0)
            return -1;
    }
    return 0;
}

/* Decode one UTF-8 sequence at s[0..n); returns its length (>= 1) and the
 * code point, or U+FFFD with length 1 for an invalid byte. */
static size_t get_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    if (len > n)
        goto bad;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            goto bad;
        v = v << 6 | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        goto bad;
    *cp = v;
    return len;
bad:
    *cp = 0xfffd;
    return 1;
}

int wide_from_utf8(const char *s, size_t n, struct buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    if (buf_reserve(out, n * sizeof(SQLWCHAR)) < 0)
        return -1;
    while (i < n) {
        uint32_t cp;
        i += get_utf8(p + i, n - i, &cp);
        SQLWCHAR u[2];
        size_t k = 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            u[0] = (SQLWCHAR)(0xd800 + (cp >> 10));
            u[1] = (SQLWCHAR)(0xdc00 + (cp & 0x3ff));
            k = 2;
        } else {
            u[0] = (SQLWCHAR)cp;
        }
        if (buf_append(out, u, k * sizeof(SQLWCHAR)) < 0)
            return -1;
    }
    return 0;
}

size_t wide_units(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, units = 0;
    while (i < n) {
        uint32_t cp;
        i += get_utf8(p + i, n - i, &cp);
        units += cp >= 0x10000 ? 2 : 1;
    }
    return units;
}

size_t wide_fit(const SQLWCHAR *s, size_t n, size_t room)
{
    if (room >= n)
        return n;
    /* Do not end on the high half of a pair. */
    if (room > 0 && s[room - 1] >= 0xd800 && s[room - 1] <= 0xdbff)
        return room - 1;
    return room;
}

int wide_arg(const SQLWCHAR *s, SQLLEN len, char **out, bool *oom)
{
    struct buf b;
    size_t n;
    *out = NULL;
    *oom = false;
    if (!s)
        return 0;
    if (len == SQL_NTS)
        n = wide_len(s);
    else if (len < 0)
        return -1;
    else
        n = (size_t)len;
    buf_init(&b);
    if (wide_to_utf8(s, n, &b, NULL) < 0 || buf_append(&b, "", 1) < 0) {
        *oom = b.oom;
        buf_close(&b);
        return -1;
    }
    *out = (char *)b.data;
    return 0;
}

bool wide_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = get_utf8(p + i, n - i, &cp);
        if (k == 1 && cp == 0xfffd) /* only an invalid byte decodes this way */
            return false;
        i += k;
    }
    return true;
}
