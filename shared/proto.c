/* Codecs for the Recall wire protocol, expanded from proto-table.h.
 *
 * For every field kind K there are four primitives: enc_K (msgpack packer),
 * dec_K (bounded reader), free_K and copy_K.  Scalars are written by hand;
 * structures, lists and messages are expanded from the table, so adding a
 * message never means writing codec code.
 */
#include "config.h"

#include "proto.h"

#include <stdlib.h>
#include <string.h>

#include "mp.h"

/* Decoding context: the reader, the innermost field that failed, and whether
 * the failure was an allocation failure rather than bad input. */
struct dctx {
    struct mp_reader r;
    const char *field;
    bool oom;
};

static int dec_oom(struct dctx *d)
{
    d->oom = true;
    return mp_fail(&d->r, "out of memory");
}

/* ---- strings, binaries, values: the allocation helpers ---- */

static void *dup_bytes(const void *p, size_t len, size_t extra)
{
    unsigned char *q = malloc(len + extra);
    if (!q)
        return NULL;
    if (len)
        memcpy(q, p, len);
    if (extra)
        q[len] = '\0';
    return q;
}

int proto_str_set(struct proto_str *s, const char *p, size_t len)
{
    char *q;
    if (len > UINT32_MAX)
        return -1;
    if (!(q = dup_bytes(p, len, 1)))
        return -1;
    free(s->p);
    s->p = q;
    s->len = (uint32_t)len;
    return 0;
}

int proto_str_setz(struct proto_str *s, const char *z)
{
    return proto_str_set(s, z ? z : "", z ? strlen(z) : 0);
}

void proto_str_free(struct proto_str *s)
{
    free(s->p);
    s->p = NULL;
    s->len = 0;
}

int proto_bin_set(struct proto_bin *b, const void *p, size_t len)
{
    unsigned char *q;
    if (len > UINT32_MAX)
        return -1;
    if (!(q = dup_bytes(p, len, 1)))
        return -1;
    free(b->p);
    b->p = q;
    b->len = (uint32_t)len;
    return 0;
}

void proto_bin_free(struct proto_bin *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

void proto_value_free(struct proto_value *v)
{
    if (v->type == PV_TEXT || v->type == PV_BLOB)
        free(v->v.p);
    memset(v, 0, sizeof *v);
}

static int value_set_bytes(struct proto_value *v, uint8_t type, const void *p,
                           size_t len)
{
    char *q;
    if (len > UINT32_MAX || !(q = dup_bytes(p, len, 1)))
        return -1;
    proto_value_free(v);
    v->type = type;
    v->len = (uint32_t)len;
    v->v.p = q;
    return 0;
}

int proto_value_set_text(struct proto_value *v, const char *p, size_t len)
{
    return value_set_bytes(v, PV_TEXT, p, len);
}

int proto_value_set_blob(struct proto_value *v, const void *p, size_t len)
{
    return value_set_bytes(v, PV_BLOB, p, len);
}

int proto_value_copy(struct proto_value *dst, const struct proto_value *src)
{
    memset(dst, 0, sizeof *dst);
    if (src->type == PV_TEXT || src->type == PV_BLOB)
        return value_set_bytes(dst, src->type, src->v.p, src->len);
    *dst = *src;
    return 0;
}

/* ---- scalar kinds ---- */

#define SIMPLE_FREE_COPY_(K)                                                 \
    static void free_##K(proto_##K##_t *x) { (void)x; }                      \
    static int copy_##K(proto_##K##_t *d, const proto_##K##_t *s)            \
    {                                                                        \
        *d = *s;                                                             \
        return 0;                                                            \
    }
SIMPLE_FREE_COPY_(u8)
SIMPLE_FREE_COPY_(u32)
SIMPLE_FREE_COPY_(u64)
SIMPLE_FREE_COPY_(i64)
SIMPLE_FREE_COPY_(bool)
SIMPLE_FREE_COPY_(id)
#undef SIMPLE_FREE_COPY_

static void enc_u8(msgpack_packer *pk, const uint8_t *x) { msgpack_pack_uint8(pk, *x); }
static void enc_u32(msgpack_packer *pk, const uint32_t *x) { msgpack_pack_uint32(pk, *x); }
static void enc_u64(msgpack_packer *pk, const uint64_t *x) { msgpack_pack_uint64(pk, *x); }
static void enc_i64(msgpack_packer *pk, const int64_t *x) { msgpack_pack_int64(pk, *x); }
static void enc_bool(msgpack_packer *pk, const bool *x)
{
    if (*x)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}
static void enc_str(msgpack_packer *pk, const struct proto_str *x)
{
    uint32_t len = x->p ? x->len : 0;
    msgpack_pack_str_with_body(pk, x->p ? x->p : "", len);
}
static void enc_bin(msgpack_packer *pk, const struct proto_bin *x)
{
    uint32_t len = x->p ? x->len : 0;
    msgpack_pack_bin_with_body(pk, x->p ? (const void *)x->p : "", len);
}
static void enc_id(msgpack_packer *pk, const struct proto_id *x)
{
    msgpack_pack_bin_with_body(pk, x->b, sizeof x->b);
}
static void enc_value(msgpack_packer *pk, const struct proto_value *x)
{
    switch (x->type) {
    case PV_INT: msgpack_pack_int64(pk, x->v.i); break;
    case PV_UINT: msgpack_pack_uint64(pk, x->v.u); break;
    case PV_DOUBLE: msgpack_pack_double(pk, x->v.d); break;
    case PV_TEXT: msgpack_pack_str_with_body(pk, x->v.p ? x->v.p : "", x->v.p ? x->len : 0); break;
    case PV_BLOB: msgpack_pack_bin_with_body(pk, x->v.p ? x->v.p : "", x->v.p ? x->len : 0); break;
    default: msgpack_pack_nil(pk); break;
    }
}

static int dec_u8(struct dctx *d, uint8_t *x)
{
    uint64_t v;
    if (mp_read_uint(&d->r, &v) < 0)
        return -1;
    if (v > UINT8_MAX)
        return mp_fail(&d->r, "value out of range for u8");
    *x = (uint8_t)v;
    return 0;
}
static int dec_u32(struct dctx *d, uint32_t *x)
{
    uint64_t v;
    if (mp_read_uint(&d->r, &v) < 0)
        return -1;
    if (v > UINT32_MAX)
        return mp_fail(&d->r, "value out of range for u32");
    *x = (uint32_t)v;
    return 0;
}
static int dec_u64(struct dctx *d, uint64_t *x) { return mp_read_uint(&d->r, x); }
static int dec_i64(struct dctx *d, int64_t *x) { return mp_read_int(&d->r, x); }
static int dec_bool(struct dctx *d, bool *x) { return mp_read_bool(&d->r, x); }
static int dec_str(struct dctx *d, struct proto_str *x)
{
    const char *s;
    uint32_t len;
    if (mp_read_str(&d->r, &s, &len) < 0)
        return -1;
    if (proto_str_set(x, s, len) < 0)
        return dec_oom(d);
    return 0;
}
static int dec_bin(struct dctx *d, struct proto_bin *x)
{
    const unsigned char *s;
    uint32_t len;
    if (mp_read_bin(&d->r, &s, &len) < 0)
        return -1;
    if (proto_bin_set(x, s, len) < 0)
        return dec_oom(d);
    return 0;
}
static int dec_id(struct dctx *d, struct proto_id *x)
{
    const unsigned char *s;
    uint32_t len;
    if (mp_read_bin(&d->r, &s, &len) < 0)
        return -1;
    if (len != sizeof x->b)
        return mp_fail(&d->r, "id must be 16 bytes");
    memcpy(x->b, s, sizeof x->b);
    return 0;
}
static int dec_value(struct dctx *d, struct proto_value *x)
{
    const char *s;
    const unsigned char *b;
    uint32_t len;
    uint64_t u;

    memset(x, 0, sizeof *x);
    switch (mp_peek(&d->r)) {
    case MP_NIL:
        return mp_read_nil(&d->r);
    case MP_UINT:
        if (mp_read_uint(&d->r, &u) < 0)
            return -1;
        if (u > (uint64_t)INT64_MAX) {
            x->type = PV_UINT;
            x->v.u = u;
        } else {
            x->type = PV_INT;
            x->v.i = (int64_t)u;
        }
        return 0;
    case MP_INT:
        x->type = PV_INT;
        return mp_read_int(&d->r, &x->v.i);
    case MP_FLOAT:
        x->type = PV_DOUBLE;
        return mp_read_double(&d->r, &x->v.d);
    case MP_STR:
        if (mp_read_str(&d->r, &s, &len) < 0)
            return -1;
        return proto_value_set_text(x, s, len) < 0 ? dec_oom(d) : 0;
    case MP_BIN:
        if (mp_read_bin(&d->r, &b, &len) < 0)
            return -1;
        return proto_value_set_blob(x, b, len) < 0 ? dec_oom(d) : 0;
    default:
        return mp_fail(&d->r, "expected a SQL value (nil, number, string or binary)");
    }
}
static void free_str(struct proto_str *x) { proto_str_free(x); }
static void free_bin(struct proto_bin *x) { proto_bin_free(x); }
static void free_value(struct proto_value *x) { proto_value_free(x); }
static int copy_str(struct proto_str *d, const struct proto_str *s)
{
    memset(d, 0, sizeof *d);
    return proto_str_set(d, s->p ? s->p : "", s->p ? s->len : 0);
}
static int copy_bin(struct proto_bin *d, const struct proto_bin *s)
{
    memset(d, 0, sizeof *d);
    return proto_bin_set(d, s->p ? (const void *)s->p : "", s->p ? s->len : 0);
}
static int copy_value(struct proto_value *d, const struct proto_value *s)
{
    return proto_value_copy(d, s);
}

/* ---- lists ---- */

/* Not every structure is used in a list somewhere. */
#define UNUSED_ __attribute__((unused))

/* Elements are decoded one by one and the array grows as they succeed, so
 * a forged count costs nothing before the bytes are actually there. */
#define LIST_IMPL_(name)                                                           \
    static UNUSED_ void free_list_##name(struct proto_list_##name *l)                      \
    {                                                                              \
        for (uint32_t i = 0; i < l->n; i++)                                        \
            free_##name(&l->v[i]);                                                 \
        free(l->v);                                                                \
        l->v = NULL;                                                               \
        l->n = 0;                                                                  \
    }                                                                              \
    int proto_list_##name##_resize(struct proto_list_##name *l, uint32_t n)        \
    {                                                                              \
        struct proto_##name *v;                                                    \
        if (n <= l->n) {                                                           \
            for (uint32_t i = n; i < l->n; i++)                                    \
                free_##name(&l->v[i]);                                             \
            l->n = n;                                                              \
            return 0;                                                              \
        }                                                                          \
        if (!(v = realloc(l->v, (size_t)n * sizeof *v)))                           \
            return -1;                                                             \
        memset(v + l->n, 0, (size_t)(n - l->n) * sizeof *v);                       \
        l->v = v;                                                                  \
        l->n = n;                                                                  \
        return 0;                                                                  \
    }                                                                              \
    static UNUSED_ void enc_list_##name(msgpack_packer *pk, const struct proto_list_##name *l) \
    {                                                                              \
        msgpack_pack_array(pk, l->n);                                              \
        for (uint32_t i = 0; i < l->n; i++)                                        \
            enc_##name(pk, &l->v[i]);                                              \
    }                                                                              \
    static UNUSED_ int dec_list_##name(struct dctx *d, struct proto_list_##name *l)        \
    {                                                                              \
        uint32_t n, cap = 0;                                                       \
        l->v = NULL;                                                               \
        l->n = 0;                                                                  \
        if (mp_read_array(&d->r, &n) < 0)                                          \
            return -1;                                                             \
        while (l->n < n) {                                                         \
            if (l->n == cap) {                                                     \
                uint32_t ncap = cap ? (cap > n / 2 ? n : cap * 2) : (n < 8 ? n : 8); \
                struct proto_##name *v = realloc(l->v, (size_t)ncap * sizeof *v);  \
                if (!v) {                                                          \
                    dec_oom(d);                                                    \
                    goto fail;                                                     \
                }                                                                  \
                l->v = v;                                                          \
                cap = ncap;                                                        \
            }                                                                      \
            memset(&l->v[l->n], 0, sizeof l->v[l->n]);                             \
            if (dec_##name(d, &l->v[l->n]) < 0) {                                  \
                free_##name(&l->v[l->n]);                                          \
                goto fail;                                                         \
            }                                                                      \
            l->n++;                                                                \
        }                                                                          \
        return 0;                                                                  \
    fail:                                                                          \
        free_list_##name(l);                                                       \
        return -1;                                                                 \
    }                                                                              \
    static UNUSED_ int copy_list_##name(struct proto_list_##name *d,                       \
                                const struct proto_list_##name *s)                 \
    {                                                                              \
        d->v = NULL;                                                               \
        d->n = 0;                                                                  \
        if (!s->n)                                                                 \
            return 0;                                                              \
        if (!(d->v = calloc(s->n, sizeof *d->v)))                                  \
            return -1;                                                             \
        for (uint32_t i = 0; i < s->n; i++) {                                      \
            if (copy_##name(&d->v[i], &s->v[i]) < 0) {                             \
                free_list_##name(d);                                               \
                return -1;                                                         \
            }                                                                      \
            d->n = i + 1;                                                          \
        }                                                                          \
        return 0;                                                                  \
    }

LIST_IMPL_(value)

/* ---- structures ---- */

#define COUNT_(kind, fname) +1
#define ENC_FIELD_(kind, fname) enc_##kind(pk, &s->fname);
#define DEC_FIELD_(kind, fname)                 \
    if (dec_##kind(d, &s->fname) < 0) {         \
        if (!d->field)                          \
            d->field = #fname;                  \
        goto fail;                              \
    }
#define FREE_FIELD_(kind, fname) free_##kind(&s->fname);
#define COPY_FIELD_(kind, fname)                \
    if (copy_##kind(&dst->fname, &src->fname) < 0) \
        goto fail;

/* Read the trailing fields a newer peer may have added. */
static int skip_extra(struct dctx *d, uint32_t have, uint32_t want)
{
    for (uint32_t i = want; i < have; i++)
        if (mp_skip(&d->r) < 0)
            return -1;
    return 0;
}

/* Forward declarations so structures can be listed in any order. */
#define STRUCT_DECL_(name, FIELDS)                                              \
    static void enc_##name(msgpack_packer *pk, const struct proto_##name *s);   \
    static int dec_##name(struct dctx *d, struct proto_##name *s);              \
    static void free_##name(struct proto_##name *s);                            \
    static int copy_##name(struct proto_##name *dst, const struct proto_##name *src);
PROTO_STRUCTS(STRUCT_DECL_)
#undef STRUCT_DECL_

#define LIST_OF_STRUCT_(name, FIELDS) LIST_IMPL_(name)
PROTO_STRUCTS(LIST_OF_STRUCT_)
#undef LIST_OF_STRUCT_

#define STRUCT_IMPL_(name, FIELDS)                                              \
    static void enc_##name(msgpack_packer *pk, const struct proto_##name *s)    \
    {                                                                           \
        msgpack_pack_array(pk, 0 FIELDS(COUNT_));                               \
        FIELDS(ENC_FIELD_)                                                      \
    }                                                                           \
    static void free_##name(struct proto_##name *s) { FIELDS(FREE_FIELD_) }     \
    static int dec_##name(struct dctx *d, struct proto_##name *s)               \
    {                                                                           \
        uint32_t n;                                                             \
        memset(s, 0, sizeof *s);                                                \
        if (mp_read_array(&d->r, &n) < 0)                                       \
            return -1;                                                          \
        if (n < 0 FIELDS(COUNT_))                                               \
            return mp_fail(&d->r, "too few fields in " #name);                  \
        FIELDS(DEC_FIELD_)                                                      \
        if (skip_extra(d, n, 0 FIELDS(COUNT_)) < 0)                             \
            goto fail;                                                          \
        return 0;                                                               \
    fail:                                                                       \
        free_##name(s);                                                         \
        memset(s, 0, sizeof *s);                                                \
        return -1;                                                              \
    }                                                                           \
    static int copy_##name(struct proto_##name *dst, const struct proto_##name *src) \
    {                                                                           \
        memset(dst, 0, sizeof *dst);                                            \
        FIELDS(COPY_FIELD_)                                                     \
        return 0;                                                               \
    fail:                                                                       \
        free_##name(dst);                                                       \
        memset(dst, 0, sizeof *dst);                                            \
        return -1;                                                              \
    }
PROTO_STRUCTS(STRUCT_IMPL_)
#undef STRUCT_IMPL_

static int finish_decode(struct dctx *d, const char *what, struct err *e)
{
    if (!d->r.err && mp_remaining(&d->r) != 0)
        mp_fail(&d->r, "trailing bytes after the value");
    if (!d->r.err)
        return 0;
    if (d->oom)
        return err_set(e, ERR_NOMEM, "decoding %s: out of memory", what);
    if (d->field)
        return err_set(e, ERR_PROTOCOL, "malformed %s: field '%s': %s", what,
                       d->field, d->r.err);
    return err_set(e, ERR_PROTOCOL, "malformed %s: %s", what, d->r.err);
}

#define STRUCT_API_(name, FIELDS)                                               \
    int proto_##name##_encode(const struct proto_##name *s, struct buf *out)    \
    {                                                                           \
        msgpack_packer pk;                                                      \
        mp_packer_init(&pk, out);                                               \
        enc_##name(&pk, s);                                                     \
        return out->oom ? -1 : 0;                                               \
    }                                                                           \
    int proto_##name##_decode(const void *data, size_t len,                     \
                              struct proto_##name *s, struct err *e)            \
    {                                                                           \
        struct dctx d = {.field = NULL, .oom = false};                          \
        mp_reader_init(&d.r, data, len);                                        \
        if (dec_##name(&d, s) == 0 && finish_decode(&d, #name, e) == 0)         \
            return 0;                                                           \
        free_##name(s);                                                         \
        memset(s, 0, sizeof *s);                                                \
        return finish_decode(&d, #name, e);                                     \
    }                                                                           \
    void proto_##name##_free(struct proto_##name *s) { free_##name(s); memset(s, 0, sizeof *s); } \
    int proto_##name##_copy(struct proto_##name *dst, const struct proto_##name *src) \
    {                                                                           \
        return copy_##name(dst, src);                                           \
    }
PROTO_STRUCTS(STRUCT_API_)
#undef STRUCT_API_

/* ---- messages ---- */

const char *proto_type_name(enum proto_type t)
{
    switch (t) {
#define NAME_CASE_(id, NAME, name, FIELDS) case MSG_##NAME: return #NAME;
    PROTO_MESSAGES(NAME_CASE_)
#undef NAME_CASE_
    default:
        return "UNKNOWN";
    }
}

#define MSG_ENC_(id, NAME, name, FIELDS)                      \
    static void enc_msg_##name(msgpack_packer *pk, const struct proto_##name *s) \
    {                                                         \
        msgpack_pack_array(pk, 1 FIELDS(COUNT_));             \
        msgpack_pack_uint32(pk, id);                          \
        FIELDS(ENC_FIELD_)                                    \
    }                                                         \
    static void free_msg_##name(struct proto_##name *s) { FIELDS(FREE_FIELD_) } \
    static int dec_msg_##name(struct dctx *d, uint32_t n, struct proto_##name *s) \
    {                                                         \
        if (n < 1 FIELDS(COUNT_))                             \
            return mp_fail(&d->r, "too few fields");          \
        FIELDS(DEC_FIELD_)                                    \
        if (skip_extra(d, n, 1 FIELDS(COUNT_)) < 0)           \
            goto fail;                                        \
        return 0;                                             \
    fail:                                                     \
        free_msg_##name(s);                                   \
        return -1;                                            \
    }                                                         \
    static int copy_msg_##name(struct proto_##name *dst, const struct proto_##name *src) \
    {                                                         \
        FIELDS(COPY_FIELD_)                                   \
        return 0;                                             \
    fail:                                                     \
        free_msg_##name(dst);                                 \
        return -1;                                            \
    }
PROTO_MESSAGES(MSG_ENC_)
#undef MSG_ENC_

int proto_encode(const struct proto_msg *m, struct buf *out, struct err *e)
{
    msgpack_packer pk;
    mp_packer_init(&pk, out);
    switch (m->type) {
#define ENC_CASE_(id, NAME, name, FIELDS) \
    case MSG_##NAME: enc_msg_##name(&pk, &m->u.name); break;
    PROTO_MESSAGES(ENC_CASE_)
#undef ENC_CASE_
    default:
        return err_set(e, ERR_INVALID, "cannot encode message type %d", (int)m->type);
    }
    if (out->oom)
        return err_set(e, ERR_NOMEM, "encoding %s: out of memory", proto_type_name(m->type));
    return 0;
}

int proto_decode(const void *data, size_t len, struct proto_msg *m, struct err *e)
{
    struct dctx d = {.field = NULL, .oom = false};
    uint32_t n, type = 0;
    const char *what = "message";
    int rc = -1;

    memset(m, 0, sizeof *m);
    mp_reader_init(&d.r, data, len);
    if (mp_read_array(&d.r, &n) < 0)
        return finish_decode(&d, what, e);
    if (n < 1) {
        mp_fail(&d.r, "empty message array");
        return finish_decode(&d, what, e);
    }
    d.field = "type";
    if (dec_u32(&d, &type) < 0)
        return finish_decode(&d, what, e);
    d.field = NULL;
    switch (type) {
#define DEC_CASE_(id, NAME, name, FIELDS)                       \
    case id:                                                    \
        what = #NAME;                                           \
        rc = dec_msg_##name(&d, n, &m->u.name);                 \
        break;
    PROTO_MESSAGES(DEC_CASE_)
#undef DEC_CASE_
    default:
        mp_fail(&d.r, "unknown message type");
        break;
    }
    if (rc == 0 && finish_decode(&d, what, e) == 0) {
        m->type = (enum proto_type)type;
        return 0;
    }
    if (rc == 0) {
        m->type = (enum proto_type)type;
        proto_msg_free(m);
    }
    memset(m, 0, sizeof *m);
    return finish_decode(&d, what, e);
}

void proto_msg_free(struct proto_msg *m)
{
    switch (m->type) {
#define FREE_CASE_(id, NAME, name, FIELDS) \
    case MSG_##NAME: free_msg_##name(&m->u.name); break;
    PROTO_MESSAGES(FREE_CASE_)
#undef FREE_CASE_
    default:
        break;
    }
    memset(m, 0, sizeof *m);
}

int proto_msg_copy(struct proto_msg *dst, const struct proto_msg *src)
{
    int rc = -1;
    memset(dst, 0, sizeof *dst);
    switch (src->type) {
#define COPY_CASE_(id, NAME, name, FIELDS) \
    case MSG_##NAME: rc = copy_msg_##name(&dst->u.name, &src->u.name); break;
    PROTO_MESSAGES(COPY_CASE_)
#undef COPY_CASE_
    default:
        break;
    }
    if (rc < 0) {
        memset(dst, 0, sizeof *dst);
        return -1;
    }
    dst->type = src->type;
    return 0;
}
