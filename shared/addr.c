/* Replica address lists and the cluster id.  See addr.h.
 *
 * Everything here treats its input as hostile: lengths are bounded before
 * copying, error messages quote at most a short prefix of the input, and
 * nothing is allocated.
 */
#include "config.h"

#include "addr.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>

/* How much of a bad input an error message quotes. */
#define QUOTE_MAX 80

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Quote s[0..len) for a message: at most QUOTE_MAX bytes, non-printable
 * bytes as '?'. */
static const char *quote(const char *s, size_t len, char out[QUOTE_MAX + 4])
{
    size_t n = len < QUOTE_MAX ? len : QUOTE_MAX, i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (len > n) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

static int parse_port(const char *p, size_t len, uint16_t *port, const char *whole,
                      size_t wlen, struct err *e)
{
    char q[QUOTE_MAX + 4];
    unsigned long v = 0;
    size_t i;

    if (len == 0)
        return err_set(e, ERR_CONFIG, "missing port in '%s' (expected host:port)",
                       quote(whole, wlen, q));
    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return err_set(e, ERR_CONFIG, "bad port in '%s': not a number",
                           quote(whole, wlen, q));
        v = v * 10 + (unsigned long)(p[i] - '0');
        if (v > 65535)
            break;
    }
    if (v == 0 || v > 65535)
        return err_set(e, ERR_CONFIG, "bad port in '%s': must be 1..65535",
                       quote(whole, wlen, q));
    *port = (uint16_t)v;
    return 0;
}

/* A DNS name: dot-separated labels of 1..63 letters, digits, '-' or '_'
 * (underscores appear in container host names), not starting or ending with
 * '-'.  An all-numeric name must be a valid dotted-quad IPv4 address. */
static int check_hostname(const char *h, size_t len, const char *whole, size_t wlen,
                          struct err *e)
{
    char q[QUOTE_MAX + 4];
    size_t i, label = 0;
    bool numeric = true;

    if (len == 0)
        return err_set(e, ERR_CONFIG, "missing host in '%s' (expected host:port)",
                       quote(whole, wlen, q));
    if (len > ADDR_HOST_MAX)
        return err_set(e, ERR_CONFIG, "host name in '%s' is longer than %d bytes",
                       quote(whole, wlen, q), ADDR_HOST_MAX);
    for (i = 0; i < len; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-')
                goto bad_label;
            label = 0;
            continue;
        }
        if (!is_alnum(c) && c != '-' && c != '_')
            return err_set(e, ERR_CONFIG,
                           "bad host name in '%s': character '%c' is not allowed%s",
                           quote(whole, wlen, q), (c >= 0x20 && c < 0x7f) ? c : '?',
                           c == ':' ? " (write IPv6 addresses in brackets: [::1]:8500)" : "");
        if (c == '-' && label == 0)
            goto bad_label;
        if (!(c >= '0' && c <= '9'))
            numeric = false;
        if (++label > 63)
            return err_set(e, ERR_CONFIG,
                           "bad host name in '%s': a label is longer than 63 bytes",
                           quote(whole, wlen, q));
    }
    if (label == 0 || h[len - 1] == '-')
        goto bad_label;
    if (numeric) {
        char tmp[ADDR_HOST_MAX + 1];
        unsigned char bin[4];
        memcpy(tmp, h, len);
        tmp[len] = '\0';
        if (inet_pton(AF_INET, tmp, bin) != 1)
            return err_set(e, ERR_CONFIG, "bad IPv4 address in '%s'",
                           quote(whole, wlen, q));
    }
    return 0;
bad_label:
    return err_set(e, ERR_CONFIG,
                   "bad host name in '%s': empty label, or a label that starts or "
                   "ends with '-'", quote(whole, wlen, q));
}

/* Bracketed IPv6: h[0..len) is what was between the brackets. */
static int parse_ipv6(const char *h, size_t len, struct replica_addr *out,
                      const char *whole, size_t wlen, struct err *e)
{
    char q[QUOTE_MAX + 4], tmp[INET6_ADDRSTRLEN + 1];
    unsigned char bin[16];
    const char *pct = memchr(h, '%', len);
    size_t alen = pct ? (size_t)(pct - h) : len, zlen = pct ? len - alen - 1 : 0, i;
    int n;

    if (alen == 0 || alen >= sizeof tmp)
        return err_set(e, ERR_CONFIG, "bad IPv6 address in '%s'", quote(whole, wlen, q));
    memcpy(tmp, h, alen);
    tmp[alen] = '\0';
    if (inet_pton(AF_INET6, tmp, bin) != 1)
        return err_set(e, ERR_CONFIG, "bad IPv6 address in '%s'", quote(whole, wlen, q));
    if (pct) {
        if (zlen == 0 || zlen > 64)
            return err_set(e, ERR_CONFIG, "bad IPv6 zone in '%s'", quote(whole, wlen, q));
        for (i = 0; i < zlen; i++)
            if (!is_alnum(pct[1 + i]) && pct[1 + i] != '-' && pct[1 + i] != '_' &&
                pct[1 + i] != '.')
                return err_set(e, ERR_CONFIG, "bad IPv6 zone in '%s'",
                               quote(whole, wlen, q));
    }
    if (!inet_ntop(AF_INET6, bin, tmp, sizeof tmp))
        return err_set(e, ERR_CONFIG, "bad IPv6 address in '%s'", quote(whole, wlen, q));
    n = snprintf(out->host, sizeof out->host, "%s%s%.*s", tmp, pct ? "%" : "",
                 (int)zlen, pct ? pct + 1 : "");
    if (n < 0 || (size_t)n >= sizeof out->host)
        return err_set(e, ERR_CONFIG, "bad IPv6 address in '%s'", quote(whole, wlen, q));
    out->ipv6 = true;
    return 0;
}

int addr_parse(const char *s, size_t len, struct replica_addr *out, struct err *e)
{
    char q[QUOTE_MAX + 4];
    const char *whole, *colon;
    size_t i, hlen;

    while (len > 0 && is_blank(*s))
        s++, len--;
    while (len > 0 && is_blank(s[len - 1]))
        len--;
    whole = s;
    memset(out, 0, sizeof *out);
    if (len == 0)
        return err_set(e, ERR_CONFIG, "empty address (expected host:port)");
    if (memchr(s, '\0', len))
        return err_set(e, ERR_CONFIG, "address '%s' contains a NUL byte",
                       quote(s, len, q));

    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return err_set(e, ERR_CONFIG, "missing ']' in '%s'", quote(s, len, q));
        if (parse_ipv6(s + 1, (size_t)(close - s - 1), out, whole, len, e) < 0)
            return -1;
        i = (size_t)(close - s) + 1;
        if (i >= len || s[i] != ':')
            return err_set(e, ERR_CONFIG, "missing port in '%s' (expected [address]:port)",
                           quote(whole, len, q));
        return parse_port(s + i + 1, len - i - 1, &out->port, whole, len, e);
    }

    colon = memchr(s, ':', len);
    if (!colon)
        return err_set(e, ERR_CONFIG, "missing port in '%s' (expected host:port)",
                       quote(s, len, q));
    hlen = (size_t)(colon - s);
    if (memchr(colon + 1, ':', len - hlen - 1))
        return err_set(e, ERR_CONFIG,
                       "bad address '%s': write IPv6 addresses in brackets, "
                       "e.g. [::1]:8500", quote(s, len, q));
    if (check_hostname(s, hlen, whole, len, e) < 0)
        return -1;
    for (i = 0; i < hlen; i++)
        out->host[i] = ascii_lower(s[i]);
    out->host[hlen] = '\0';
    return parse_port(colon + 1, len - hlen - 1, &out->port, whole, len, e);
}

int addr_parse_list(const char *s, struct replica_addr out[ADDR_MAX_REPLICAS],
                    size_t *n, struct err *e)
{
    size_t count = 0, slen = strlen(s), i;
    const char *p = s, *end = s + slen;
    char a[ADDR_STR_MAX];

    *n = 0;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        const char *t = p;
        while (t < stop && is_blank(*t))
            t++;
        if (t == stop) {
            if (!comma && count == 0)
                return err_set(e, ERR_CONFIG, "empty replica list");
            return err_set(e, ERR_CONFIG, "replica list has an empty entry (entry %zu)",
                           count + 1);
        }
        if (count == ADDR_MAX_REPLICAS)
            return err_set(e, ERR_CONFIG, "more than %d replicas", ADDR_MAX_REPLICAS);
        if (addr_parse(p, (size_t)(stop - p), &out[count], e) < 0)
            return err_wrap(e, "replica %zu", count + 1);
        for (i = 0; i < count; i++)
            if (addr_equal(&out[i], &out[count])) {
                addr_format(&out[count], a, sizeof a);
                return err_set(e, ERR_CONFIG, "replica %zu (%s) duplicates replica %zu",
                               count + 1, a, i + 1);
            }
        count++;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (count % 2 == 0)
        return err_set(e, ERR_CONFIG,
                       "%zu replicas listed, but the count must be odd (N = 2f+1 "
                       "replicas tolerate f failures, so %zu tolerate no more than "
                       "%zu do): list %zu or %zu replicas",
                       count, count, count - 1, count - 1, count + 1);
    *n = count;
    return 0;
}

bool addr_equal(const struct replica_addr *a, const struct replica_addr *b)
{
    return a->port == b->port && a->ipv6 == b->ipv6 && strcmp(a->host, b->host) == 0;
}

int addr_find(const struct replica_addr *v, size_t n, const struct replica_addr *a)
{
    for (size_t i = 0; i < n; i++)
        if (addr_equal(&v[i], a))
            return (int)i;
    return -1;
}

int addr_format(const struct replica_addr *a, char *out, size_t cap)
{
    return snprintf(out, cap, a->ipv6 ? "[%s]:%u" : "%s:%u", a->host, (unsigned)a->port);
}

int addr_list_format(const struct replica_addr *v, size_t n, struct buf *out)
{
    char a[ADDR_STR_MAX];
    for (size_t i = 0; i < n; i++) {
        int len = addr_format(&v[i], a, sizeof a);
        assert(len > 0 && (size_t)len < sizeof a);
        if (i > 0)
            buf_append(out, ",", 1);
        buf_append(out, a, (size_t)len);
    }
    if (buf_reserve(out, 1) < 0)
        return -1;
    out->data[out->len] = '\0';
    return 0;
}

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

uint64_t addr_cluster_id(const struct replica_addr *v, size_t n)
{
    uint64_t h = FNV64_OFFSET;
    char a[ADDR_STR_MAX];

    for (size_t i = 0; i < n; i++) {
        int len = addr_format(&v[i], a, sizeof a);
        assert(len > 0 && (size_t)len < sizeof a);
        if (i > 0)
            h = (h ^ (unsigned char)',') * FNV64_PRIME;
        for (int j = 0; j < len; j++)
            h = (h ^ (unsigned char)a[j]) * FNV64_PRIME;
    }
    return h ? h : 1;
}

char *addr_cluster_id_format(uint64_t id, char out[ADDR_ID_STR_MAX])
{
    snprintf(out, ADDR_ID_STR_MAX, "%016llx", (unsigned long long)id);
    return out;
}
