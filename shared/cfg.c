/* recalld.conf parsing and validation.  See cfg.h; docs/CONFIG.md is the
 * user-facing description of the same table.
 *
 * Line syntax: blanks, then either nothing, a '#' comment, or
 * `key = value`.  An unquoted value is the rest of the line, trimmed, ending
 * early at a '#' that follows a blank (so "a#b" keeps its '#', "a #b" does
 * not).  A value that starts with '"' is quoted: it ends at the next
 * unescaped '"', may contain '#' and blanks, and knows two escapes, \" and
 * \\; only blanks and a comment may follow it.
 */
#include "config.h"

#include "cfg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"

#define QUOTE_MAX 64
#define MAX_FRAME_LIMIT (1024ull * 1024 * 1024)

enum ctype { T_ADDRLIST, T_ADDR, T_STR, T_DEBUG, T_RETAIN, T_SIZE, T_U32 };

struct keydef {
    const char *name;
    enum ctype type;
    size_t off;        /* of the field in struct cfg */
    uint64_t dflt;     /* T_SIZE, T_U32, T_DEBUG */
    uint64_t min, max; /* T_SIZE, T_U32 */
    bool empty_ok;     /* T_STR: an empty value is allowed (means unset) */
    bool secret;       /* never quote the value in messages */
};

#define OFF(f) offsetof(struct cfg, f)
#define KIB 1024ull
#define MIB (1024ull * 1024)
#define GIB (1024ull * 1024 * 1024)

static const struct keydef keys[CFG_KEY__COUNT] = {
    [CFG_KEY_replicas] = {"replicas", T_ADDRLIST, OFF(replicas), 0, 0, 0, false, false},
    [CFG_KEY_listen] = {"listen", T_ADDR, OFF(listen), 0, 0, 0, false, false},
    [CFG_KEY_backend] = {"backend", T_STR, OFF(backend), 0, 0, 0, false, true},
    [CFG_KEY_data_dir] = {"data_dir", T_STR, OFF(data_dir), 0, 0, 0, false, false},
    [CFG_KEY_stop_server] = {"stop_server", T_STR, OFF(stop_server), 0, 0, 0, true, false},
    [CFG_KEY_start_server] = {"start_server", T_STR, OFF(start_server), 0, 0, 0, true, false},
    [CFG_KEY_sync_path] = {"sync_path", T_STR, OFF(sync_path), 0, 0, 0, false, false},
    [CFG_KEY_sync_cmd] = {"sync_cmd", T_STR, OFF(sync_cmd), 0, 0, 0, true, false},
    [CFG_KEY_sync_options] = {"sync_options", T_STR, OFF(sync_options), 0, 0, 0, true, false},
    [CFG_KEY_debug] = {"debug", T_DEBUG, OFF(debug), 0, 0, 3, false, false},
    [CFG_KEY_log_file] = {"log_file", T_STR, OFF(log_file), 0, 0, 0, true, false},
    [CFG_KEY_pid_file] = {"pid_file", T_STR, OFF(pid_file), 0, 0, 0, true, false},
    [CFG_KEY_log_retain] = {"log_retain", T_RETAIN, 0, 0, 0, 0, false, false},
    [CFG_KEY_log_segment_size] = {"log_segment_size", T_SIZE, OFF(log_segment_size), 64 * MIB,
                                  64 * KIB, 4ull * 1024 * MIB, false, false},
    [CFG_KEY_max_frame] = {"max_frame", T_SIZE, OFF(max_frame), 64 * MIB, FRAME_MIN_MAX,
                           MAX_FRAME_LIMIT, false, false},
    [CFG_KEY_max_entry] = {"max_entry", T_SIZE, OFF(max_entry), 16 * MIB, KIB,
                           MAX_FRAME_LIMIT, false, false},
    [CFG_KEY_heartbeat_ms] = {"heartbeat_ms", T_U32, OFF(heartbeat_ms), 100, 1, 60000,
                              false, false},
    [CFG_KEY_view_change_timeout_ms] = {"view_change_timeout_ms", T_U32,
                                        OFF(view_change_timeout_ms), 1000, 3, 600000,
                                        false, false},
    [CFG_KEY_max_clients] = {"max_clients", T_U32, OFF(max_clients), 1000, 1, 100000,
                             false, false},
    [CFG_KEY_ddl_wait_ms] = {"ddl_wait_ms", T_U32, OFF(ddl_wait_ms), 5000, 0, 3600000,
                             false, false},
    [CFG_KEY_read_fence_timeout_ms] = {"read_fence_timeout_ms", T_U32,
                                       OFF(read_fence_timeout_ms), 2000, 1, 600000,
                                       false, false},
    [CFG_KEY_read_lock_wait_timeout] = {"read_lock_wait_timeout", T_U32,
                                        OFF(read_lock_wait_timeout), 2, 1, 31536000,
                                        false, false},
    [CFG_KEY_verify_interval] = {"verify_interval", T_U32, OFF(verify_interval), 3600, 0,
                                 31536000, false, false},
    [CFG_KEY_client_expiry] = {"client_expiry", T_U32, OFF(client_expiry), 86400, 60,
                               315360000, false, false},
    [CFG_KEY_backend_timeout] = {"backend_timeout", T_U32, OFF(backend_timeout), 10, 1,
                                 3600, false, false},
    [CFG_KEY_start_timeout] = {"start_timeout", T_U32, OFF(start_timeout), 120, 1, 86400,
                               false, false},
};

#define DEFAULT_RETAIN_BYTES GIB
#define DEFAULT_RETAIN_ENTRIES 1000000ull
#define RETAIN_MIN_BYTES (4 * KIB)

const char *cfg_key_name(enum cfg_key k)
{
    return (unsigned)k < CFG_KEY__COUNT ? keys[k].name : "unknown";
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool word_eq(const char *a, size_t alen, const char *b)
{
    size_t i;
    for (i = 0; i < alen && b[i]; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return i == alen && b[i] == '\0';
}

/* Printable, bounded copy of s for messages. */
static const char *quote(const char *s, char out[QUOTE_MAX + 4])
{
    size_t i;
    for (i = 0; i < QUOTE_MAX && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

void cfg_init_defaults(struct cfg *c)
{
    memset(c, 0, sizeof *c);
    for (int k = 0; k < CFG_KEY__COUNT; k++) {
        const struct keydef *d = &keys[k];
        void *f = (char *)c + d->off;
        switch (d->type) {
        case T_SIZE: *(uint64_t *)f = d->dflt; break;
        case T_U32: *(uint32_t *)f = (uint32_t)d->dflt; break;
        case T_DEBUG: *(int *)f = (int)d->dflt; break;
        default: break;
        }
    }
    c->log_retain_bytes = DEFAULT_RETAIN_BYTES;
    c->log_retain_entries = DEFAULT_RETAIN_ENTRIES;
}

void cfg_free(struct cfg *c)
{
    for (int k = 0; k < CFG_KEY__COUNT; k++)
        if (keys[k].type == T_STR)
            free(*(char **)((char *)c + keys[k].off));
    cfg_init_defaults(c);
}

/* ---- value parsers: each returns 0 or -1 with a message (without the
 * source/key prefix, which cfg_set adds) ---- */

/* Decimal digits s[0..len) into *v; -1 on a non-digit or overflow. */
static int parse_digits(const char *s, size_t len, uint64_t *v, bool *overflow)
{
    uint64_t x = 0;
    *overflow = false;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10) {
            *overflow = true;
            return -1;
        }
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

static int parse_u32(const char *v, const struct keydef *d, uint32_t *out, struct err *e)
{
    char q[QUOTE_MAX + 4];
    uint64_t x;
    bool ovf;
    if (parse_digits(v, strlen(v), &x, &ovf) < 0) {
        if (ovf)
            return err_set(e, ERR_CONFIG, "'%s' is too large (at most %llu)", quote(v, q),
                           (unsigned long long)d->max);
        return err_set(e, ERR_CONFIG, "'%s' is not a whole number", quote(v, q));
    }
    if (x < d->min || x > d->max)
        return err_set(e, ERR_CONFIG, "%llu is out of range (%llu..%llu)",
                       (unsigned long long)x, (unsigned long long)d->min,
                       (unsigned long long)d->max);
    *out = (uint32_t)x;
    return 0;
}

/* "<digits>[ ][K|M|G|T][B|iB]" (case-insensitive; binary multiples) or
 * "<digits>[ ]B". */
static int parse_size_text(const char *s, size_t len, uint64_t *out, struct err *e)
{
    char q[QUOTE_MAX + 4], tmp[QUOTE_MAX + 1];
    size_t i = 0, n = len < QUOTE_MAX ? len : QUOTE_MAX;
    uint64_t x, mult = 1;
    bool ovf;

    memcpy(tmp, s, n);
    tmp[n] = '\0';
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == 0)
        return err_set(e, ERR_CONFIG, "'%s' is not a size (expected e.g. 64M)",
                       quote(tmp, q));
    if (parse_digits(s, i, &x, &ovf) < 0)
        return err_set(e, ERR_CONFIG, "'%s' is too large", quote(tmp, q));
    while (i < len && is_blank(s[i]))
        i++;
    if (i < len) {
        const char *suf = s + i;
        size_t slen = len - i;
        char u = ascii_lower(suf[0]);
        int shift = u == 'k' ? 10 : u == 'm' ? 20 : u == 'g' ? 30 : u == 't' ? 40 : 0;
        if (word_eq(suf, slen, "b") || word_eq(suf, slen, "bytes")) {
            mult = 1;
        } else if (shift && (slen == 1 || (slen == 2 && ascii_lower(suf[1]) == 'b') ||
                             word_eq(suf + 1, slen - 1, "ib"))) {
            mult = 1ull << shift;
        } else {
            return err_set(e, ERR_CONFIG,
                           "'%s' has an unknown unit (use K, M, G or T, e.g. 64M)",
                           quote(tmp, q));
        }
    }
    if (x > UINT64_MAX / mult)
        return err_set(e, ERR_CONFIG, "'%s' is too large", quote(tmp, q));
    *out = x * mult;
    return 0;
}

static int parse_size(const char *v, const struct keydef *d, uint64_t *out, struct err *e)
{
    uint64_t x;
    if (parse_size_text(v, strlen(v), &x, e) < 0)
        return -1;
    if (x < d->min || x > d->max)
        return err_set(e, ERR_CONFIG, "%llu bytes is out of range (%llu..%llu)",
                       (unsigned long long)x, (unsigned long long)d->min,
                       (unsigned long long)d->max);
    *out = x;
    return 0;
}

static int parse_debug(const char *v, int *out, struct err *e)
{
    char q[QUOTE_MAX + 4];
    size_t n = strlen(v);
    if (n == 1 && v[0] >= '0' && v[0] <= '3') {
        *out = v[0] - '0';
        return 0;
    }
    if (word_eq(v, n, "true") || word_eq(v, n, "yes") || word_eq(v, n, "on")) {
        *out = 1;
        return 0;
    }
    if (word_eq(v, n, "false") || word_eq(v, n, "no") || word_eq(v, n, "off")) {
        *out = 0;
        return 0;
    }
    return err_set(e, ERR_CONFIG, "'%s' is not a debug level (0..3, true or false)",
                   quote(v, q));
}

/* "1G", "500000 entries", "1G, 500000 entries" (either order). */
static int parse_retain(const char *v, uint64_t *bytes, uint64_t *entries, struct err *e)
{
    char q[QUOTE_MAX + 4];
    const char *p = v;
    bool have_bytes = false, have_entries = false;
    uint64_t b = 0, n = 0;

    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *s = p, *t;
        bool ovf;
        while (s < end && is_blank(*s))
            s++;
        while (end > s && is_blank(end[-1]))
            end--;
        if (s == end)
            return err_set(e, ERR_CONFIG,
                           "'%s': empty part (expected e.g. 1G, 500000 entries)",
                           quote(v, q));
        /* The last word says which bound this is. */
        const char *w = end;
        while (w > s && !is_blank(w[-1]) && !(w[-1] >= '0' && w[-1] <= '9'))
            w--;
        if (word_eq(w, (size_t)(end - w), "entries") || word_eq(w, (size_t)(end - w), "entry")) {
            t = w;
            while (t > s && is_blank(t[-1]))
                t--;
            if (have_entries)
                return err_set(e, ERR_CONFIG, "'%s': entries given twice", quote(v, q));
            if (parse_digits(s, (size_t)(t - s), &n, &ovf) < 0)
                return err_set(e, ERR_CONFIG, "'%s': bad number of entries", quote(v, q));
            if (n == 0)
                return err_set(e, ERR_CONFIG, "'%s': must retain at least 1 entry",
                               quote(v, q));
            have_entries = true;
        } else {
            if (have_bytes)
                return err_set(e, ERR_CONFIG, "'%s': size given twice", quote(v, q));
            if (parse_size_text(s, (size_t)(end - s), &b, e) < 0)
                return -1;
            if (b < RETAIN_MIN_BYTES)
                return err_set(e, ERR_CONFIG, "'%s': must retain at least %llu bytes",
                               quote(v, q), (unsigned long long)RETAIN_MIN_BYTES);
            have_bytes = true;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    *bytes = have_bytes ? b : 0;
    *entries = have_entries ? n : 0;
    return 0;
}

/* ---- unknown keys: suggest the nearest known one ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64], i, j;
    if (la > 62 || lb > 62)
        return SIZE_MAX;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = ascii_lower(a[i - 1]) == ascii_lower(b[j - 1]) ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int unknown_key(const char *key, const char *source, struct err *e)
{
    char q[QUOTE_MAX + 4];
    size_t best = SIZE_MAX, klen = strlen(key);
    const char *name = NULL;
    for (int k = 0; k < CFG_KEY__COUNT; k++) {
        size_t d = edit_distance(key, keys[k].name);
        if (d < best) {
            best = d;
            name = keys[k].name;
        }
    }
    if (name && best <= (klen > 9 ? 3 : 2))
        return err_set(e, ERR_CONFIG, "%s: unknown key '%s'; did you mean '%s'?", source,
                       quote(key, q), name);
    return err_set(e, ERR_CONFIG,
                   "%s: unknown key '%s' (see docs/CONFIG.md for the valid keys)", source,
                   quote(key, q));
}

static int find_key(const char *key)
{
    for (int k = 0; k < CFG_KEY__COUNT; k++)
        if (strcmp(key, keys[k].name) == 0)
            return k;
    return -1;
}

static void set_origin(struct cfg *c, int k, const char *source)
{
    snprintf(c->origin[k], sizeof c->origin[k], "%s", source);
}

int cfg_set(struct cfg *c, const char *key, const char *value, const char *source,
            struct err *e)
{
    int k = find_key(key);
    const struct keydef *d;
    void *f;
    int rc = 0;

    if (!source)
        source = "(unknown)";
    if (k < 0)
        return unknown_key(key, source, e);
    d = &keys[k];
    f = (char *)c + d->off;
    if (!value[0] && !(d->type == T_STR && d->empty_ok))
        return err_set(e, ERR_CONFIG, "%s: %s: missing value", source, d->name);
    if (strlen(value) > CFG_VALUE_MAX)
        return err_set(e, ERR_CONFIG, "%s: %s: value is longer than %u bytes", source,
                       d->name, CFG_VALUE_MAX);
    for (const char *p = value; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
            return err_set(e, ERR_CONFIG, "%s: %s: value contains control character 0x%02x",
                           source, d->name, (unsigned char)*p);

    switch (d->type) {
    case T_ADDRLIST: {
        struct replica_addr v[ADDR_MAX_REPLICAS];
        size_t n;
        rc = addr_parse_list(value, v, &n, e);
        if (rc == 0) {
            memcpy(c->replicas, v, sizeof v);
            c->nreplicas = n;
        }
        break;
    }
    case T_ADDR: {
        struct replica_addr a;
        rc = addr_parse(value, strlen(value), &a, e);
        if (rc == 0)
            c->listen = a;
        break;
    }
    case T_STR: {
        char *s = NULL, **slot = f;
        if (value[0]) {
            s = strdup(value);
            if (!s)
                return err_set(e, ERR_NOMEM, "%s: %s: out of memory", source, d->name);
        }
        free(*slot);
        *slot = s;
        break;
    }
    case T_DEBUG:
        rc = parse_debug(value, f, e);
        break;
    case T_RETAIN: {
        uint64_t b = 0, n = 0;
        rc = parse_retain(value, &b, &n, e);
        if (rc == 0) {
            c->log_retain_bytes = b;
            c->log_retain_entries = n;
        }
        break;
    }
    case T_SIZE:
        rc = parse_size(value, d, f, e);
        break;
    case T_U32:
        rc = parse_u32(value, d, f, e);
        break;
    }
    if (rc < 0)
        return err_wrap(e, "%s: %s", source, d->name);
    set_origin(c, k, source);
    return 0;
}

int cfg_set_arg(struct cfg *c, const char *arg, struct err *e)
{
    char key[64];
    const char *eq = strchr(arg, '='), *ks = arg, *ke, *v;
    char q[QUOTE_MAX + 4];

    if (!eq)
        return err_set(e, ERR_CONFIG, "--set: expected key=value, got '%s'", quote(arg, q));
    ke = eq;
    while (ks < ke && is_blank(*ks))
        ks++;
    while (ke > ks && is_blank(ke[-1]))
        ke--;
    if (ke == ks)
        return err_set(e, ERR_CONFIG, "--set: missing key before '='");
    if ((size_t)(ke - ks) >= sizeof key)
        return err_set(e, ERR_CONFIG, "--set: key too long");
    memcpy(key, ks, (size_t)(ke - ks));
    key[ke - ks] = '\0';
    v = eq + 1;
    while (is_blank(*v))
        v++;
    size_t vlen = strlen(v);
    while (vlen > 0 && is_blank(v[vlen - 1]))
        vlen--;
    char *val = strndup(v, vlen);
    if (!val)
        return err_set(e, ERR_NOMEM, "--set: out of memory");
    int rc = cfg_set(c, key, val, "--set", e);
    free(val);
    return rc;
}

/* ---- files ---- */

/* One line's key and value, extracted from line[0..len) into value_buf
 * (which has room for len + 1 bytes).  Returns 1 with the key in key/klen and the
 * value in value_buf, 0 for a blank or comment line, -1 on a syntax error. */
static int parse_line(const char *line, size_t len, const char **key, size_t *klen,
                      char *value_buf, const char *where, struct err *e)
{
    size_t i = 0, ks, v = 0;

    while (i < len && is_blank(line[i]))
        i++;
    if (i == len || line[i] == '#')
        return 0;
    ks = i;
    while (i < len && !is_blank(line[i]) && line[i] != '=')
        i++;
    *key = line + ks;
    *klen = i - ks;
    while (i < len && is_blank(line[i]))
        i++;
    if (*klen == 0)
        return err_set(e, ERR_CONFIG, "%s: missing key before '='", where);
    if (i == len || line[i] != '=') {
        char q[QUOTE_MAX + 4], tmp[QUOTE_MAX + 1];
        size_t n = *klen < QUOTE_MAX ? *klen : QUOTE_MAX;
        memcpy(tmp, *key, n);
        tmp[n] = '\0';
        return err_set(e, ERR_CONFIG, "%s: expected 'key = value' after '%s'", where,
                       quote(tmp, q));
    }
    i++;
    while (i < len && is_blank(line[i]))
        i++;
    if (i < len && line[i] == '"') {
        for (i++;; i++) {
            if (i == len)
                return err_set(e, ERR_CONFIG, "%s: unterminated quoted value", where);
            if (line[i] == '"')
                break;
            if (line[i] == '\\') {
                if (i + 1 < len && (line[i + 1] == '"' || line[i + 1] == '\\')) {
                    value_buf[v++] = line[++i];
                    continue;
                }
                return err_set(e, ERR_CONFIG,
                               "%s: bad escape in quoted value (only \\\" and \\\\ are "
                               "escapes)", where);
            }
            value_buf[v++] = line[i];
        }
        i++;
        while (i < len && is_blank(line[i]))
            i++;
        if (i < len && line[i] != '#')
            return err_set(e, ERR_CONFIG,
                           "%s: unexpected text after the closing quote (quote the whole "
                           "value)", where);
    } else {
        size_t vs = i, ve;
        while (i < len && !(line[i] == '#' && is_blank(line[i - 1])))
            i++;
        ve = i;
        while (ve > vs && is_blank(line[ve - 1]))
            ve--;
        memcpy(value_buf, line + vs, ve - vs);
        v = ve - vs;
    }
    value_buf[v] = '\0';
    return 1;
}

int cfg_load_buffer(struct cfg *c, const char *name, const char *data, size_t len,
                    struct err *e)
{
    unsigned first_line[CFG_KEY__COUNT] = {0};
    char where[CFG_ORIGIN_MAX], *value = NULL;
    size_t pos = 0;
    unsigned lineno = 0;
    int rc = 0;

    value = malloc(CFG_LINE_MAX + 1);
    if (!value)
        return err_set(e, ERR_NOMEM, "%s: out of memory", name);
    while (pos < len) {
        const char *line = data + pos, *nl, *key;
        size_t llen, klen;
        int r, k;
        char kbuf[64];

        nl = memchr(line, '\n', len - pos);
        llen = nl ? (size_t)(nl - line) : len - pos;
        pos += llen + (nl ? 1 : 0);
        lineno++;
        snprintf(where, sizeof where, "%s:%u", name, lineno);
        if (llen > 0 && line[llen - 1] == '\r')
            llen--;
        if (llen > CFG_LINE_MAX) {
            rc = err_set(e, ERR_CONFIG, "%s: line is longer than %u bytes", where,
                         CFG_LINE_MAX);
            goto out;
        }
        for (size_t i = 0; i < llen; i++) {
            unsigned char ch = (unsigned char)line[i];
            if (ch == 0) {
                rc = err_set(e, ERR_CONFIG, "%s: line contains a NUL byte", where);
                goto out;
            }
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                rc = err_set(e, ERR_CONFIG, "%s: line contains control character 0x%02x",
                             where, ch);
                goto out;
            }
        }
        r = parse_line(line, llen, &key, &klen, value, where, e);
        if (r < 0) {
            rc = -1;
            goto out;
        }
        if (r == 0)
            continue;
        if (klen >= sizeof kbuf)
            klen = sizeof kbuf - 1; /* cannot match; the message shows the start */
        memcpy(kbuf, key, klen);
        kbuf[klen] = '\0';
        k = find_key(kbuf);
        if (k >= 0 && first_line[k]) {
            rc = err_set(e, ERR_CONFIG, "%s: duplicate key '%s' (first set on line %u)",
                         where, kbuf, first_line[k]);
            goto out;
        }
        if (cfg_set(c, kbuf, value, where, e) < 0) {
            rc = -1;
            goto out;
        }
        first_line[k] = lineno;
    }
out:
    free(value);
    return rc;
}

int cfg_load_file(struct cfg *c, const char *path, struct err *e)
{
    struct stat st;
    char *data = NULL;
    size_t got = 0;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set_errno(e, errno, "cannot open configuration file %s", path);
    if (fstat(fd, &st) < 0) {
        rc = err_set_errno(e, errno, "%s", path);
        goto err_after_open;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = err_set(e, ERR_CONFIG, "%s: not a regular file", path);
        goto err_after_open;
    }
    if (st.st_size > (off_t)CFG_FILE_MAX) {
        rc = err_set(e, ERR_CONFIG, "%s: file is larger than %u bytes", path, CFG_FILE_MAX);
        goto err_after_open;
    }
    data = malloc((size_t)st.st_size + 1);
    if (!data) {
        rc = err_set(e, ERR_NOMEM, "%s: out of memory", path);
        goto err_after_open;
    }
    /* Read what is there now (the file may change size under us). */
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = err_set_errno(e, errno, "cannot read %s", path);
            goto err_after_alloc;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    rc = cfg_load_buffer(c, path, data, got, e);
    free(data);
    return rc;

err_after_alloc:
    free(data);
err_after_open:
    close(fd);
    return rc;
}

/* ---- whole-configuration checks ---- */

/* " (set at <origin>)" or "" */
static const char *at(const struct cfg *c, enum cfg_key k, char *buf, size_t cap)
{
    if (!c->origin[k][0])
        return "";
    snprintf(buf, cap, " (%s)", c->origin[k]);
    return buf;
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

int cfg_validate(struct cfg *c, struct err *e)
{
    char o1[CFG_ORIGIN_MAX + 4], o2[CFG_ORIGIN_MAX + 4], a[ADDR_STR_MAX];
    int self;
    bool mysql;

    if (c->nreplicas == 0)
        return err_set(e, ERR_CONFIG,
                       "replicas is not set (the list of every replica, host:port, in the "
                       "same order on every replica and client)");
    if (c->listen.port == 0)
        return err_set(e, ERR_CONFIG,
                       "listen is not set (this replica's entry from the replicas list)");
    self = addr_find(c->replicas, c->nreplicas, &c->listen);
    if (self < 0) {
        addr_format(&c->listen, a, sizeof a);
        return err_set(e, ERR_CONFIG, "listen%s: %s is not one of the replicas%s",
                       at(c, CFG_KEY_listen, o1, sizeof o1), a,
                       at(c, CFG_KEY_replicas, o2, sizeof o2));
    }
    if (!c->backend)
        return err_set(e, ERR_CONFIG,
                       "backend is not set (mysql://user:password@host:port/database or "
                       "sqlite:/path/to/db)");
    mysql = has_prefix(c->backend, "mysql://");
    if (!mysql && !(has_prefix(c->backend, "sqlite:") && c->backend[7]))
        return err_set(e, ERR_CONFIG,
                       "backend%s: must start with mysql:// or sqlite: (followed by the "
                       "database file's path)", at(c, CFG_KEY_backend, o1, sizeof o1));
    if (!c->data_dir)
        return err_set(e, ERR_CONFIG, "data_dir is not set (where recalld keeps its log "
                                      "and state, e.g. /var/lib/recall)");
    if (mysql && c->nreplicas > 1) {
        static const enum cfg_key need[] = {CFG_KEY_sync_path, CFG_KEY_stop_server,
                                            CFG_KEY_start_server};
        for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
            if (!*(char **)((char *)c + keys[need[i]].off))
                return err_set(e, ERR_CONFIG,
                               "%s is not set: a MySQL replica needs sync_path, "
                               "stop_server and start_server for state transfer",
                               keys[need[i]].name);
    }
    if (!mysql && !c->sync_path) {
        const char *path = c->backend + 7;
        const char *slash = strrchr(path, '/');
        char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup("./");
        if (!dir)
            return err_set(e, ERR_NOMEM, "out of memory");
        c->sync_path = dir;
    }
    if ((uint64_t)c->view_change_timeout_ms <= 2 * (uint64_t)c->heartbeat_ms)
        return err_set(e, ERR_CONFIG,
                       "view_change_timeout_ms%s must be more than twice heartbeat_ms%s "
                       "(%u <= 2 * %u): backups would start view changes while the "
                       "primary is fine", at(c, CFG_KEY_view_change_timeout_ms, o1, sizeof o1),
                       at(c, CFG_KEY_heartbeat_ms, o2, sizeof o2), c->view_change_timeout_ms,
                       c->heartbeat_ms);
    if (c->max_entry + CFG_FRAME_OVERHEAD > c->max_frame)
        return err_set(e, ERR_CONFIG,
                       "max_entry%s must be at least %u bytes smaller than max_frame%s "
                       "(%llu vs %llu): an entry travels in one frame with its headers",
                       at(c, CFG_KEY_max_entry, o1, sizeof o1), CFG_FRAME_OVERHEAD,
                       at(c, CFG_KEY_max_frame, o2, sizeof o2),
                       (unsigned long long)c->max_entry, (unsigned long long)c->max_frame);
    c->self = (size_t)self;
    c->cluster_id = addr_cluster_id(c->replicas, c->nreplicas);
    return 0;
}

/* ---- printing ---- */

static void fmt_size(uint64_t v, char *out, size_t cap)
{
    static const char suf[] = "KMGT";
    int i = -1;
    while (i < 3 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        i++;
    }
    if (i < 0)
        snprintf(out, cap, "%llu", (unsigned long long)v);
    else
        snprintf(out, cap, "%llu%c", (unsigned long long)v, suf[i]);
}

static void put_str_value(struct buf *out, const char *s)
{
    size_t n = strlen(s);
    /* Quote what the loader would read differently: a leading quote, '#'
     * or blank, a trailing blank, or " #" anywhere (a comment). */
    bool quote_it = n == 0 || s[0] == '"' || s[0] == '#' || is_blank(s[0]) ||
                    is_blank(s[n - 1]);
    for (size_t i = 1; i < n && !quote_it; i++)
        if (s[i] == '#' && is_blank(s[i - 1]))
            quote_it = true;
    if (!quote_it) {
        buf_append(out, s, n);
        return;
    }
    buf_append(out, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            buf_append(out, "\\", 1);
        buf_append(out, &s[i], 1);
    }
    buf_append(out, "\"", 1);
}

int cfg_format(const struct cfg *c, struct buf *out)
{
    char tmp[64], a[ADDR_STR_MAX];
    for (int k = 0; k < CFG_KEY__COUNT; k++) {
        const struct keydef *d = &keys[k];
        const void *f = (const char *)c + d->off;
        switch (d->type) {
        case T_ADDRLIST:
            if (!c->nreplicas)
                continue;
            buf_append(out, "replicas = ", 11);
            for (size_t i = 0; i < c->nreplicas; i++) {
                int n = addr_format(&c->replicas[i], a, sizeof a);
                if (i)
                    buf_append(out, ", ", 2);
                buf_append(out, a, (size_t)n);
            }
            break;
        case T_ADDR:
            if (!c->listen.port)
                continue;
            buf_append(out, "listen = ", 9);
            buf_append(out, a, (size_t)addr_format(&c->listen, a, sizeof a));
            break;
        case T_STR:
            if (!*(char *const *)f)
                continue;
            buf_append(out, d->name, strlen(d->name));
            buf_append(out, " = ", 3);
            put_str_value(out, *(char *const *)f);
            break;
        case T_DEBUG:
            snprintf(tmp, sizeof tmp, "debug = %d", *(const int *)f);
            buf_append(out, tmp, strlen(tmp));
            break;
        case T_RETAIN:
            buf_append(out, "log_retain = ", 13);
            if (c->log_retain_bytes) {
                fmt_size(c->log_retain_bytes, tmp, sizeof tmp);
                buf_append(out, tmp, strlen(tmp));
            }
            if (c->log_retain_entries) {
                snprintf(tmp, sizeof tmp, "%s%llu entries", c->log_retain_bytes ? ", " : "",
                         (unsigned long long)c->log_retain_entries);
                buf_append(out, tmp, strlen(tmp));
            }
            break;
        case T_SIZE:
            buf_append(out, d->name, strlen(d->name));
            buf_append(out, " = ", 3);
            fmt_size(*(const uint64_t *)f, tmp, sizeof tmp);
            buf_append(out, tmp, strlen(tmp));
            break;
        case T_U32:
            buf_append(out, d->name, strlen(d->name));
            snprintf(tmp, sizeof tmp, " = %u", *(const uint32_t *)f);
            buf_append(out, tmp, strlen(tmp));
            break;
        }
        buf_append(out, "\n", 1);
    }
    if (buf_reserve(out, 1) < 0)
        return -1;
    out->data[out->len] = '\0';
    return 0;
}
