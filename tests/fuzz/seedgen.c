/* Seed corpus generator for fuzz_proto: writes every message type of
 * proto-table.h, framed, in a few variants (all fields zero/empty, and
 * fields filled with boundary values and short lists), one file per
 * message, into the directory given as argv[1].  Generated from the table,
 * so a new message gets seeds without touching this file. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "proto.h"

struct filler {
    unsigned k; /* which value to use next */
    int variant;
};

static const uint64_t u64s[] = {0, 1, 127, 128, 65535, 65536, 0xffffffffull, UINT64_MAX};

static void fill_u8(struct filler *f, uint8_t *x) { *x = (uint8_t)(f->variant ? f->k++ % 5 : 0); }
static void fill_u32(struct filler *f, uint32_t *x) { *x = (uint32_t)(f->variant ? u64s[f->k++ % 7] : 0); }
static void fill_u64(struct filler *f, uint64_t *x) { *x = f->variant ? u64s[f->k++ % 8] : 0; }
static void fill_i64(struct filler *f, int64_t *x) { *x = f->variant ? -(int64_t)(f->k++ * 1000) : 0; }
static void fill_bool(struct filler *f, bool *x) { *x = f->variant && (f->k++ & 1); }
static void fill_str(struct filler *f, struct proto_str *x)
{
    static const char *const pool[] = {"SELECT 1", "", "h1:8500,h2:8500,h3:8500", "root", "db"};
    proto_str_setz(x, f->variant ? pool[f->k++ % 5] : "");
}
static void fill_bin(struct filler *f, struct proto_bin *x)
{
    proto_bin_set(x, "\x93\x01\x02\xc0", f->variant ? 4 : 0);
}
static void fill_id(struct filler *f, struct proto_id *x)
{
    for (int i = 0; i < 16; i++)
        x->b[i] = (uint8_t)(f->variant ? f->k + (unsigned)i : 0);
}
static void fill_value(struct filler *f, struct proto_value *x)
{
    memset(x, 0, sizeof *x);
    switch (f->k++ % 6) {
    case 0: x->type = PV_NULL; break;
    case 1: x->type = PV_INT; x->v.i = -5; break;
    case 2: x->type = PV_UINT; x->v.u = UINT64_MAX; break;
    case 3: x->type = PV_DOUBLE; x->v.d = 2.5; break;
    case 4: proto_value_set_text(x, "text", 4); break;
    default: proto_value_set_blob(x, "\x00\xff", 2); break;
    }
}

#define FILL_FIELD_(kind, fname) fill_##kind(f, &s->fname);
#define FILL_DECL_(name, FIELDS) static void fill_##name(struct filler *f, struct proto_##name *s);
PROTO_STRUCTS(FILL_DECL_)
#define FILL_LIST_(name, FIELDS)                                                            \
    static __attribute__((unused)) void fill_list_##name(struct filler *f,                  \
                                                         struct proto_list_##name *l)       \
    {                                                                                       \
        uint32_t n = f->variant ? 2 : 0;                                                    \
        proto_list_##name##_resize(l, n);                                                   \
        for (uint32_t i = 0; i < n; i++)                                                    \
            fill_##name(f, &l->v[i]);                                                       \
    }
PROTO_STRUCTS(FILL_LIST_)
static void fill_list_value(struct filler *f, struct proto_list_value *l)
{
    uint32_t n = f->variant ? 3 : 0;
    proto_list_value_resize(l, n);
    for (uint32_t i = 0; i < n; i++)
        fill_value(f, &l->v[i]);
}
#define FILL_STRUCT_(name, FIELDS) \
    static void fill_##name(struct filler *f, struct proto_##name *s) { FIELDS(FILL_FIELD_) }
PROTO_STRUCTS(FILL_STRUCT_)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seedgen DIR\n");
        return 2;
    }
    for (int variant = 0; variant < 2; variant++) {
#define GEN_(id, NAME, name, FIELDS)                                                  \
    {                                                                                 \
        struct proto_msg m;                                                           \
        struct filler fl = {(unsigned)id, variant}, *f = &fl;                         \
        struct proto_##name *s = &m.u.name;                                           \
        struct buf b;                                                                 \
        struct err e;                                                                 \
        char path[4096];                                                              \
        FILE *out;                                                                    \
        memset(&m, 0, sizeof m);                                                      \
        m.type = MSG_##NAME;                                                          \
        FIELDS(FILL_FIELD_)                                                           \
        buf_init(&b);                                                                 \
        if (frame_encode(&m, &b, FRAME_DEFAULT_MAX, &e) < 0) {                        \
            fprintf(stderr, "seedgen: %s: %s\n", #NAME, e.msg);                       \
            return 1;                                                                 \
        }                                                                             \
        snprintf(path, sizeof path, "%s/%s-%d", argv[1], #name, variant);             \
        out = fopen(path, "wb");                                                      \
        if (!out || fwrite(b.data, 1, b.len, out) != b.len || fclose(out) != 0) {     \
            perror(path);                                                             \
            return 1;                                                                 \
        }                                                                             \
        buf_close(&b);                                                                \
        proto_msg_free(&m);                                                           \
    }
        PROTO_MESSAGES(GEN_)
#undef GEN_
    }
    return 0;
}
