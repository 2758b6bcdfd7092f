/* Connection-string parser and builder.  See connstr.h for the syntax.
 *
 * The parser makes one pass over the input and copies every key and
 * unquoted value into a single block sized from the input length, so a
 * parse allocates exactly twice (the block and the pair array) whatever the
 * input.  Input limits (CONNSTR_MAX bytes, CONNSTR_MAX_PAIRS pairs) keep the
 * duplicate check's quadratic cost bounded.
 */
#include "config.h"

#include "connstr.h"

#include <stdlib.h>
#include <string.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_ctl(char c)
{
    return (unsigned char)c < 0x20 || c == 0x7f;
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool key_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (ascii_lower(*a) != ascii_lower(*b))
            return false;
    return *a == *b;
}

void connstr_free(struct connstr *cs)
{
    free(cs->pairs);
    free(cs->mem);
    memset(cs, 0, sizeof *cs);
}

const char *connstr_get(const struct connstr *cs, const char *key)
{
    for (size_t i = 0; i < cs->n; i++)
        if (key_eq(cs->pairs[i].key, key))
            return cs->pairs[i].value;
    return NULL;
}

/* Parse state: input, position, and the output block being filled. */
struct pstate {
    const char *s;
    size_t len, i;
    char *out;
    size_t olen;
};

static void skip_blanks(struct pstate *p)
{
    while (p->i < p->len && is_blank(p->s[p->i]))
        p->i++;
}

/* Copy s[a..b) into the block, NUL-terminated; return where it starts. */
static const char *emit(struct pstate *p, size_t a, size_t b)
{
    char *start = p->out + p->olen;
    memcpy(start, p->s + a, b - a);
    p->olen += b - a;
    p->out[p->olen++] = '\0';
    return start;
}

static int parse_key(struct pstate *p, const char **key, struct err *e)
{
    size_t start = p->i, end;
    while (p->i < p->len && p->s[p->i] != '=' && p->s[p->i] != ';')
        p->i++;
    if (p->i == p->len || p->s[p->i] == ';')
        return err_set(e, ERR_INVALID,
                       "connection string: text without '=' at offset %zu "
                       "(expected key=value)", start);
    end = p->i;
    while (end > start && is_blank(p->s[end - 1]))
        end--;
    if (end == start)
        return err_set(e, ERR_INVALID, "connection string: empty key at offset %zu",
                       start);
    for (size_t k = start; k < end; k++)
        if (p->s[k] == '{' || p->s[k] == '}' || is_ctl(p->s[k]))
            return err_set(e, ERR_INVALID,
                           "connection string: bad character in the key at offset %zu",
                           start);
    *key = emit(p, start, end);
    p->i++; /* the '=' */
    return 0;
}

static int parse_value(struct pstate *p, const char *key, const char **value,
                       struct err *e)
{
    skip_blanks(p);
    if (p->i < p->len && p->s[p->i] == '{') {
        size_t open = p->i;
        char *start = p->out + p->olen;
        p->i++;
        for (;;) {
            const char *close;
            if (p->i >= p->len)
                return err_set(e, ERR_INVALID,
                               "connection string: unterminated '{' in the value of "
                               "'%s' (offset %zu)", key, open);
            close = memchr(p->s + p->i, '}', p->len - p->i);
            if (!close)
                return err_set(e, ERR_INVALID,
                               "connection string: unterminated '{' in the value of "
                               "'%s' (offset %zu)", key, open);
            size_t c = (size_t)(close - p->s);
            memcpy(p->out + p->olen, p->s + p->i, c - p->i);
            p->olen += c - p->i;
            if (c + 1 < p->len && p->s[c + 1] == '}') {
                p->out[p->olen++] = '}';
                p->i = c + 2;
                continue;
            }
            p->i = c + 1;
            break;
        }
        p->out[p->olen++] = '\0';
        *value = start;
        skip_blanks(p);
        if (p->i < p->len && p->s[p->i] != ';')
            return err_set(e, ERR_INVALID,
                           "connection string: unexpected text after the closing '}' "
                           "of '%s' (offset %zu); expected ';'", key, p->i);
    } else {
        size_t start = p->i, end;
        while (p->i < p->len && p->s[p->i] != ';')
            p->i++;
        end = p->i;
        while (end > start && is_blank(p->s[end - 1]))
            end--;
        *value = emit(p, start, end);
    }
    if (p->i < p->len)
        p->i++; /* the ';' */
    return 0;
}

int connstr_parse(struct connstr *cs, const char *s, size_t len, struct err *e)
{
    struct pstate p = {s, len, 0, NULL, 0};
    size_t cap = 0, i;

    memset(cs, 0, sizeof *cs);
    if (len > CONNSTR_MAX)
        return err_set(e, ERR_INVALID,
                       "connection string is %zu bytes long; the limit is %u", len,
                       CONNSTR_MAX);
    if (len && memchr(s, '\0', len))
        return err_set(e, ERR_INVALID, "connection string contains a NUL byte at offset %zu",
                       (size_t)((const char *)memchr(s, '\0', len) - s));
    /* Every pair has an '='; every key and value gets a NUL, and no value
     * grows when unquoted. */
    for (i = 0; i < len; i++)
        cap += s[i] == '=';
    if (cap > CONNSTR_MAX_PAIRS)
        cap = CONNSTR_MAX_PAIRS + 1;
    if (cap) {
        cs->pairs = calloc(cap, sizeof *cs->pairs);
        cs->mem = malloc(len + 2 * cap);
        if (!cs->pairs || !cs->mem) {
            connstr_free(cs);
            return err_set(e, ERR_NOMEM, "connection string: out of memory");
        }
    }
    p.out = cs->mem;

    size_t total = 0;
    for (;;) {
        const char *key = NULL, *value = NULL;
        skip_blanks(&p);
        if (p.i >= len)
            break;
        if (s[p.i] == ';') {
            p.i++;
            continue;
        }
        if (total == CONNSTR_MAX_PAIRS) {
            connstr_free(cs);
            return err_set(e, ERR_INVALID, "connection string has more than %d pairs",
                           CONNSTR_MAX_PAIRS);
        }
        if (parse_key(&p, &key, e) < 0 || parse_value(&p, key, &value, e) < 0) {
            connstr_free(cs);
            return -1;
        }
        total++;
        if (connstr_get(cs, key)) {
            if (cs->ndup++ == 0)
                cs->first_dup = key;
            continue;
        }
        cs->pairs[cs->n].key = key;
        cs->pairs[cs->n].value = value;
        cs->n++;
    }
    return 0;
}

bool connstr_key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || is_blank(key[0]) || is_blank(key[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (key[i] == ';' || key[i] == '=' || key[i] == '{' || key[i] == '}' ||
            is_ctl(key[i]))
            return false;
    return true;
}

static bool needs_braces(const char *v, size_t n)
{
    if (n == 0)
        return false;
    if (is_blank(v[0]) || is_blank(v[n - 1]))
        return true;
    return strpbrk(v, ";{}=") != NULL;
}

int connstr_append(struct buf *out, const char *key, const char *value)
{
    size_t start = out->len, vlen;

    if (!value)
        value = "";
    if (!connstr_key_valid(key))
        return -1;
    vlen = strlen(value);
    if (out->len > 0 && out->data[out->len - 1] != ';')
        buf_append(out, ";", 1);
    buf_append(out, key, strlen(key));
    buf_append(out, "=", 1);
    if (needs_braces(value, vlen)) {
        buf_append(out, "{", 1);
        for (const char *v = value; *v;) {
            const char *brace = strchr(v, '}');
            size_t n = brace ? (size_t)(brace - v) : strlen(v);
            buf_append(out, v, n);
            if (!brace)
                break;
            buf_append(out, "}}", 2);
            v = brace + 1;
        }
        buf_append(out, "}", 1);
    } else {
        buf_append(out, value, vlen);
    }
    if (buf_reserve(out, 1) < 0) {
        out->len = start;
        return -1;
    }
    out->data[out->len] = '\0';
    return 0;
}
