/* The JSON reader and history loader of the fault tests (see jhist.h).
 * The parser is a bounded recursive descent over a length-delimited buffer:
 * depth is capped, lengths come only from what was scanned, and every
 * malformed input ends in an error message rather than a crash.  The loader
 * pairs each process's invocation with the completion that follows it.
 */
#include "config.h"

#include "jhist.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "jhist: out of memory\n");
        abort();
    }
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xrealloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ---- parser ---- */

struct jp {
    const char *p, *end;
    char *err;
    size_t errlen;
    bool failed;
};

static int jp_fail(struct jp *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int jp_fail(struct jp *j, const char *fmt, ...)
{
    va_list ap;
    if (!j->failed && j->errlen) {
        va_start(ap, fmt);
        vsnprintf(j->err, j->errlen, fmt, ap);
        va_end(ap);
    }
    j->failed = true;
    return -1;
}

static void jp_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int jp_value(struct jp *j, struct jv *v, int depth);

static void put_utf8(char *out, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xe0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* A string; *out is a new NUL-terminated buffer of *len bytes. */
static int jp_string(struct jp *j, char **out, size_t *len)
{
    const char *s = j->p + 1, *q;
    char *buf;
    size_t n = 0;

    /* First pass: find the closing quote (escapes never grow the text:
     * \uXXXX is 6 bytes in, at most 3 out). */
    for (q = s; q < j->end && *q != '"'; q++) {
        if ((unsigned char)*q < 0x20)
            return jp_fail(j, "control character in a string");
        if (*q == '\\') {
            if (++q >= j->end)
                break;
        }
    }
    if (q >= j->end)
        return jp_fail(j, "unterminated string");
    buf = xrealloc(NULL, (size_t)(q - s) + 1);
    for (const char *c = s; c < q; c++) {
        if (*c != '\\') {
            buf[n++] = *c;
            continue;
        }
        c++;
        switch (*c) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            if (q - c < 5) {
                free(buf);
                return jp_fail(j, "short \\u escape");
            }
            for (int k = 1; k <= 4; k++) {
                char h = c[k];
                cp <<= 4;
                if (h >= '0' && h <= '9')
                    cp |= (unsigned)(h - '0');
                else if (h >= 'a' && h <= 'f')
                    cp |= (unsigned)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F')
                    cp |= (unsigned)(h - 'A' + 10);
                else {
                    free(buf);
                    return jp_fail(j, "bad \\u escape");
                }
            }
            if (cp >= 0xd800 && cp <= 0xdfff) {
                free(buf);
                return jp_fail(j, "surrogate \\u escapes are not supported");
            }
            if (cp == 0) {
                free(buf);
                return jp_fail(j, "NUL in a string");
            }
            put_utf8(buf, &n, cp);
            c += 4;
            break;
        }
        default:
            free(buf);
            return jp_fail(j, "bad escape \\%c", *c);
        }
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    j->p = q + 1;
    return 0;
}

static int jp_number(struct jp *j, struct jv *v)
{
    const char *s = j->p;
    bool neg = false;
    uint64_t u = 0;

    if (s < j->end && *s == '-') {
        neg = true;
        s++;
    }
    if (s >= j->end || *s < '0' || *s > '9')
        return jp_fail(j, "bad number");
    if (*s == '0' && s + 1 < j->end && s[1] >= '0' && s[1] <= '9')
        return jp_fail(j, "leading zero in a number");
    for (; s < j->end && *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (u > (UINT64_MAX - d) / 10)
            return jp_fail(j, "number out of range");
        u = u * 10 + d;
    }
    if (s < j->end && (*s == '.' || *s == 'e' || *s == 'E'))
        return jp_fail(j, "numbers must be integers");
    if (neg ? u > (uint64_t)INT64_MAX + 1 : u > (uint64_t)INT64_MAX)
        return jp_fail(j, "number out of range");
    v->kind = JV_INT;
    v->i = neg ? (int64_t)(0 - u) : (int64_t)u;
    j->p = s;
    return 0;
}

static bool jp_word(struct jp *j, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return false;
    j->p += n;
    return true;
}

static int jp_array(struct jp *j, struct jv *v, int depth)
{
    size_t cap = 0;
    v->kind = JV_ARR;
    j->p++;
    jp_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return 0;
    }
    for (;;) {
        if (v->n == cap) {
            cap = cap ? cap * 2 : 4;
            v->items = xrealloc(v->items, cap * sizeof *v->items);
        }
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        v->n++;
        if (jp_value(j, &v->items[v->n - 1], depth + 1) < 0)
            return -1;
        jp_ws(j);
        if (j->p >= j->end)
            return jp_fail(j, "unterminated array");
        if (*j->p == ']') {
            j->p++;
            return 0;
        }
        if (*j->p != ',')
            return jp_fail(j, "expected , or ] in an array");
        j->p++;
    }
}

static int jp_object(struct jp *j, struct jv *v, int depth)
{
    size_t cap = 0;
    v->kind = JV_OBJ;
    j->p++;
    jp_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        char *key;
        size_t klen;
        jp_ws(j);
        if (j->p >= j->end || *j->p != '"')
            return jp_fail(j, "expected a member name");
        if (jp_string(j, &key, &klen) < 0)
            return -1;
        if (v->n == cap) {
            cap = cap ? cap * 2 : 8;
            v->items = xrealloc(v->items, cap * sizeof *v->items);
            v->keys = xrealloc(v->keys, cap * sizeof *v->keys);
        }
        v->keys[v->n] = key;
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        v->n++;
        jp_ws(j);
        if (j->p >= j->end || *j->p != ':')
            return jp_fail(j, "expected : after a member name");
        j->p++;
        if (jp_value(j, &v->items[v->n - 1], depth + 1) < 0)
            return -1;
        jp_ws(j);
        if (j->p >= j->end)
            return jp_fail(j, "unterminated object");
        if (*j->p == '}') {
            j->p++;
            return 0;
        }
        if (*j->p != ',')
            return jp_fail(j, "expected , or } in an object");
        j->p++;
    }
}

static int jp_value(struct jp *j, struct jv *v, int depth)
{
    if (depth > JV_MAX_DEPTH)
        return jp_fail(j, "nested too deeply");
    jp_ws(j);
    if (j->p >= j->end)
        return jp_fail(j, "unexpected end of input");
    switch (*j->p) {
    case '{': return jp_object(j, v, depth);
    case '[': return jp_array(j, v, depth);
    case '"':
        v->kind = JV_STR;
        return jp_string(j, &v->s, &v->n);
    case 't':
        if (!jp_word(j, "true"))
            break;
        v->kind = JV_BOOL;
        v->i = 1;
        return 0;
    case 'f':
        if (!jp_word(j, "false"))
            break;
        v->kind = JV_BOOL;
        v->i = 0;
        return 0;
    case 'n':
        if (!jp_word(j, "null"))
            break;
        v->kind = JV_NULL;
        return 0;
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
            return jp_number(j, v);
        break;
    }
    return jp_fail(j, "unexpected character '%c'", *j->p);
}

int jv_parse(const char *text, size_t len, struct jv *out, char *err, size_t errlen)
{
    struct jp j = {.p = text, .end = text + len, .err = err, .errlen = errlen};
    memset(out, 0, sizeof *out);
    if (jp_value(&j, out, 0) == 0) {
        jp_ws(&j);
        if (j.p == j.end)
            return 0;
        jp_fail(&j, "trailing characters after the value");
    }
    jv_free(out);
    return -1;
}

void jv_free(struct jv *v)
{
    if (!v)
        return;
    for (size_t i = 0; (v->kind == JV_ARR || v->kind == JV_OBJ) && i < v->n; i++) {
        if (v->items)
            jv_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
    memset(v, 0, sizeof *v);
}

const struct jv *jv_get(const struct jv *v, const char *key)
{
    if (!v || v->kind != JV_OBJ)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    return NULL;
}

void jv_copy(struct jv *dst, const struct jv *src)
{
    *dst = *src;
    dst->s = NULL;
    dst->items = NULL;
    dst->keys = NULL;
    if (src->kind == JV_STR)
        dst->s = xstrndup(src->s, src->n);
    if (src->kind == JV_ARR || src->kind == JV_OBJ) {
        dst->items = xrealloc(NULL, src->n * sizeof *dst->items);
        for (size_t i = 0; i < src->n; i++)
            jv_copy(&dst->items[i], &src->items[i]);
        if (src->kind == JV_OBJ) {
            dst->keys = xrealloc(NULL, src->n * sizeof *dst->keys);
            for (size_t i = 0; i < src->n; i++)
                dst->keys[i] = xstrndup(src->keys[i], strlen(src->keys[i]));
        }
    }
}

/* ---- histories ---- */

void jh_init(struct jh_history *h)
{
    memset(h, 0, sizeof *h);
}

static void op_free(struct jh_op *o)
{
    jv_free(&o->invoke_value);
    jv_free(&o->value);
    free(o->error);
}

void jh_free(struct jh_history *h)
{
    for (size_t i = 0; i < h->n; i++)
        op_free(&h->ops[i]);
    free(h->ops);
    memset(h, 0, sizeof *h);
}

const char *jh_status_name(enum jh_status s)
{
    switch (s) {
    case JH_OK: return "ok";
    case JH_FAIL: return "fail";
    case JH_INFO: return "info";
    default: return "pending";
    }
}

/* Processes with an operation in flight while a file is read. */
struct open_op {
    int64_t process;
    size_t op;
};

static int line_error(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int line_error(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (errlen)
        snprintf(err, errlen, "%s:%zu: %s", name, line, msg);
    return -1;
}

/* One line: parse, validate, and invoke or complete an operation. */
static int load_line(struct jh_history *h, const char *name, size_t line, const char *text,
                     size_t len, struct open_op **open, size_t *nopen, char *err, size_t errlen)
{
    struct jv v;
    char perr[160];
    const struct jv *type, *proc, *time, *f, *value, *error;
    int rc = -1;

    if (jv_parse(text, len, &v, perr, sizeof perr) < 0)
        return line_error(err, errlen, name, line, "%s", perr);
    type = jv_get(&v, "type");
    proc = jv_get(&v, "process");
    time = jv_get(&v, "time");
    f = jv_get(&v, "f");
    value = jv_get(&v, "value");
    error = jv_get(&v, "error");
    if (v.kind != JV_OBJ || !type || type->kind != JV_STR || !proc || proc->kind != JV_INT ||
        !time || time->kind != JV_INT || time->i < 0 || !f || f->kind != JV_STR) {
        line_error(err, errlen, name, line,
                   "an event needs \"type\", \"process\", \"time\" (>= 0) and \"f\"");
        goto out;
    }
    if (f->n == 0 || f->n >= sizeof h->ops[0].f) {
        line_error(err, errlen, name, line, "\"f\" must have 1..%zu characters",
                   sizeof h->ops[0].f - 1);
        goto out;
    }
    if (error && error->kind != JV_STR && error->kind != JV_NULL) {
        line_error(err, errlen, name, line, "\"error\" must be a string");
        goto out;
    }
    size_t k;
    for (k = 0; k < *nopen && (*open)[k].process != proc->i; k++)
        ;
    if (strcmp(type->s, "invoke") == 0) {
        struct jh_op *o;
        if (k < *nopen) {
            line_error(err, errlen, name, line, "process %" PRId64 " invoked while its "
                       "operation of line %zu is in flight", proc->i, h->ops[(*open)[k].op].line);
            goto out;
        }
        if (h->n == h->cap) {
            h->cap = h->cap ? h->cap * 2 : 1024;
            h->ops = xrealloc(h->ops, h->cap * sizeof *h->ops);
        }
        o = &h->ops[h->n];
        memset(o, 0, sizeof *o);
        o->process = proc->i;
        memcpy(o->f, f->s, f->n + 1);
        o->status = JH_PENDING;
        o->invoke_ns = time->i;
        o->line = line;
        o->file = h->files;
        if (value)
            jv_copy(&o->invoke_value, value);
        jv_copy(&o->value, &o->invoke_value);
        *open = xrealloc(*open, (*nopen + 1) * sizeof **open);
        (*open)[*nopen].process = proc->i;
        (*open)[*nopen].op = h->n;
        (*nopen)++;
        h->n++;
    } else {
        enum jh_status st;
        struct jh_op *o;
        if (strcmp(type->s, "ok") == 0)
            st = JH_OK;
        else if (strcmp(type->s, "fail") == 0)
            st = JH_FAIL;
        else if (strcmp(type->s, "info") == 0)
            st = JH_INFO;
        else {
            line_error(err, errlen, name, line, "unknown event type \"%s\"", type->s);
            goto out;
        }
        if (k == *nopen) {
            line_error(err, errlen, name, line, "completion for process %" PRId64
                       " which has no operation in flight", proc->i);
            goto out;
        }
        o = &h->ops[(*open)[k].op];
        if (strcmp(o->f, f->s) != 0) {
            line_error(err, errlen, name, line, "completion \"%s\" for an invocation of \"%s\"",
                       f->s, o->f);
            goto out;
        }
        if (time->i < o->invoke_ns) {
            line_error(err, errlen, name, line, "completion before its invocation");
            goto out;
        }
        o->status = st;
        o->complete_ns = time->i;
        if (value) {
            jv_free(&o->value);
            jv_copy(&o->value, value);
        }
        if (error && error->kind == JV_STR)
            o->error = xstrndup(error->s, error->n);
        (*open)[k] = (*open)[*nopen - 1];
        (*nopen)--;
    }
    rc = 0;
out:
    jv_free(&v);
    return rc;
}

int jh_load_text(struct jh_history *h, const char *name, const char *text, size_t len,
                 char *err, size_t errlen)
{
    struct open_op *open = NULL;
    size_t nopen = 0, line = 0;
    const char *p = text, *end = text + len;
    int rc = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < le && load_line(h, name, line, p, (size_t)(le - p), &open, &nopen, err,
                                errlen) < 0) {
            rc = -1;
            break;
        }
        p = nl ? nl + 1 : end;
    }
    free(open);
    h->files++;
    return rc;
}

int jh_load(struct jh_history *h, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    int rc;

    if (!fp) {
        if (errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    do {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 1 << 20;
            buf = xrealloc(buf, cap);
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
    } while (got > 0);
    if (ferror(fp)) {
        if (errlen)
            snprintf(err, errlen, "%s: read error", path);
        fclose(fp);
        free(buf);
        return -1;
    }
    fclose(fp);
    rc = jh_load_text(h, path, buf, len, err, errlen);
    free(buf);
    return rc;
}

static int cmp_invoke(const void *a, const void *b)
{
    const struct jh_op *x = a, *y = b;
    if (x->invoke_ns != y->invoke_ns)
        return x->invoke_ns < y->invoke_ns ? -1 : 1;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

void jh_sort(struct jh_history *h)
{
    if (h->n > 1)
        qsort(h->ops, h->n, sizeof *h->ops, cmp_invoke);
}

struct stamp_ev {
    int64_t t;
    int kind;   /* 0 invoke, 1 completion: invocations first on ties */
    size_t op;
};

static int cmp_ev(const void *a, const void *b)
{
    const struct stamp_ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    return x->op < y->op ? -1 : x->op > y->op;
}

void jh_stamps(const struct jh_history *h, uint64_t **invoke, uint64_t **ret)
{
    struct stamp_ev *ev = xrealloc(NULL, 2 * h->n * sizeof *ev);
    size_t n = 0;
    *invoke = xrealloc(NULL, h->n * sizeof **invoke);
    *ret = xrealloc(NULL, h->n * sizeof **ret);
    for (size_t i = 0; i < h->n; i++) {
        ev[n++] = (struct stamp_ev){h->ops[i].invoke_ns, 0, i};
        (*ret)[i] = UINT64_MAX;
        if (h->ops[i].status == JH_OK || h->ops[i].status == JH_FAIL)
            ev[n++] = (struct stamp_ev){h->ops[i].complete_ns, 1, i};
    }
    if (n > 1)
        qsort(ev, n, sizeof *ev, cmp_ev);
    for (size_t i = 0; i < n; i++) {
        if (ev[i].kind == 0)
            (*invoke)[ev[i].op] = i + 1;
        else
            (*ret)[ev[i].op] = i + 1;
    }
    free(ev);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int64_t jh_longest_gap(const struct jh_history *h, int64_t from, int64_t to, int64_t *at)
{
    int64_t *t = xrealloc(NULL, (h->n + 1) * sizeof *t), prev, best = 0;
    size_t n = 0;

    if (from >= to) {
        from = INT64_MAX;
        to = INT64_MIN;
        for (size_t i = 0; i < h->n; i++) {
            const struct jh_op *o = &h->ops[i];
            if (o->invoke_ns < from)
                from = o->invoke_ns;
            if (o->invoke_ns > to)
                to = o->invoke_ns;
            if (o->complete_ns > to)
                to = o->complete_ns;
        }
        if (from > to)
            from = to = 0;
    }
    for (size_t i = 0; i < h->n; i++)
        if (h->ops[i].status == JH_OK && h->ops[i].complete_ns >= from &&
            h->ops[i].complete_ns <= to)
            t[n++] = h->ops[i].complete_ns;
    if (n > 1)
        qsort(t, n, sizeof *t, cmp_i64);
    t[n++] = to;
    prev = from;
    *at = from;
    for (size_t i = 0; i < n; i++) {
        if (t[i] - prev > best) {
            best = t[i] - prev;
            *at = prev;
        }
        prev = t[i];
    }
    free(t);
    return best;
}
