/* Wire protocol tests: every message round-trips with boundary values, and
 * malformed input (truncation, wrong types, forged lengths, random bytes,
 * deep nesting) yields an error, never a crash or a hang. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "mp.h"
#include "proto.h"
#include "testhelp.h"

/* ---- filling every field of every message from a boundary-value pool ---- */

static const uint64_t u64_pool[] = {
    0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffffull, 0x100000000ull,
    (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX};
static const int64_t i64_pool[] = {
    0, 1, -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN, (int64_t)INT32_MIN - 1,
    INT64_MIN, INT64_MAX};
static const size_t len_pool[] = {0, 1, 31, 32, 255, 256, 65535, 65536};

struct filler {
    unsigned k; /* which boundary value to use next */
};

static size_t pick_len(struct filler *f) { return len_pool[f->k++ % 8]; }

static void fill_u8(struct filler *f, uint8_t *x) { *x = (uint8_t)u64_pool[f->k++ % 6]; }
static void fill_u32(struct filler *f, uint32_t *x) { *x = (uint32_t)u64_pool[f->k++ % 10]; }
static void fill_u64(struct filler *f, uint64_t *x) { *x = u64_pool[f->k++ % 13]; }
static void fill_i64(struct filler *f, int64_t *x) { *x = i64_pool[f->k++ % 13]; }
static void fill_bool(struct filler *f, bool *x) { *x = f->k++ & 1; }
static void fill_str(struct filler *f, struct proto_str *x)
{
    size_t n = pick_len(f);
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    ck_assert_int_eq(proto_str_set(x, s, n), 0);
    free(s);
}
static void fill_bin(struct filler *f, struct proto_bin *x)
{
    size_t n = pick_len(f);
    unsigned char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (unsigned char)i;
    ck_assert_int_eq(proto_bin_set(x, s, n), 0);
    free(s);
}
static void fill_id(struct filler *f, struct proto_id *x)
{
    for (int i = 0; i < 16; i++)
        x->b[i] = (uint8_t)(f->k * 7 + (unsigned)i);
    f->k++;
}
static void fill_value(struct filler *f, struct proto_value *x)
{
    memset(x, 0, sizeof *x);
    switch (f->k++ % 7) {
    case 0: x->type = PV_NULL; break;
    case 1: x->type = PV_INT; x->v.i = i64_pool[f->k % 13]; break;
    case 2: x->type = PV_UINT; x->v.u = UINT64_MAX - f->k; break;
    case 3: x->type = PV_DOUBLE; x->v.d = -1.5e300; break;
    case 4: ck_assert_int_eq(proto_value_set_text(x, "h\0llo", 5), 0); break;
    case 5: ck_assert_int_eq(proto_value_set_blob(x, "\xff\x00", 2), 0); break;
    default: x->type = PV_DOUBLE; x->v.d = 0.0; break;
    }
}

#define FILL_FIELD_(kind, fname) fill_##kind(f, &s->fname);
#define FILL_DECL_(name, FIELDS) static void fill_##name(struct filler *f, struct proto_##name *s);
PROTO_STRUCTS(FILL_DECL_)
#define FILL_LIST_(name, FIELDS)                                              \
    static __attribute__((unused)) void fill_list_##name(struct filler *f, struct proto_list_##name *l) \
    {                                                                         \
        uint32_t n = (uint32_t)(f->k++ % 3 == 0 ? 0 : f->k % 3 == 1 ? 1 : 3);   \
        ck_assert_int_eq(proto_list_##name##_resize(l, n), 0);                \
        for (uint32_t i = 0; i < n; i++)                                      \
            fill_##name(f, &l->v[i]);                                         \
    }
PROTO_STRUCTS(FILL_LIST_)
static void fill_list_value(struct filler *f, struct proto_list_value *l)
{
    uint32_t n = (uint32_t)(f->k++ % 2 ? 17 : 0); /* 17: past the fixarray range */
    ck_assert_int_eq(proto_list_value_resize(l, n), 0);
    for (uint32_t i = 0; i < n; i++)
        fill_value(f, &l->v[i]);
}
#define FILL_STRUCT_(name, FIELDS) \
    static void fill_##name(struct filler *f, struct proto_##name *s) { FIELDS(FILL_FIELD_) }
PROTO_STRUCTS(FILL_STRUCT_)

static const enum proto_type all_types[] = {
#define TYPE_LIST_(id, NAME, name, FIELDS) MSG_##NAME,
    PROTO_MESSAGES(TYPE_LIST_)
};
#define N_TYPES (sizeof all_types / sizeof all_types[0])

static void fill_msg(struct proto_msg *m, enum proto_type t, unsigned seed)
{
    struct filler fl = {seed}, *f = &fl;
    memset(m, 0, sizeof *m);
    m->type = t;
    switch (t) {
#define FILL_CASE_(id, NAME, name, FIELDS)      \
    case MSG_##NAME: {                          \
        struct proto_##name *s = &m->u.name;    \
        FIELDS(FILL_FIELD_)                     \
        break;                                  \
    }
        PROTO_MESSAGES(FILL_CASE_)
    default:
        ck_abort();
    }
}

/* Encode m into a fresh buffer. */
static void encode(const struct proto_msg *m, struct buf *b)
{
    struct err e;
    buf_init(b);
    ck_assert_msg(proto_encode(m, b, &e) == 0, "encode: %s", e.msg);
}

START_TEST(roundtrip_every_message)
{
    /* several seeds so every field sees several boundary values */
    for (unsigned seed = 0; seed < 40; seed++) {
        for (size_t i = 0; i < N_TYPES; i++) {
            struct proto_msg m, d, c;
            struct buf b1, b2, b3;
            struct err e;

            fill_msg(&m, all_types[i], seed * 31 + (unsigned)i);
            encode(&m, &b1);
            ck_assert_msg(proto_decode(b1.data, b1.len, &d, &e) == 0, "%s: %s",
                          proto_type_name(m.type), e.msg);
            ck_assert_int_eq(d.type, m.type);
            encode(&d, &b2);
            ck_assert_uint_eq(b1.len, b2.len);
            ck_assert(memcmp(b1.data, b2.data, b1.len) == 0);
            ck_assert_int_eq(proto_msg_copy(&c, &d), 0);
            encode(&c, &b3);
            ck_assert(b3.len == b1.len && memcmp(b1.data, b3.data, b1.len) == 0);
            proto_msg_free(&m);
            proto_msg_free(&d);
            proto_msg_free(&c);
            buf_close(&b1);
            buf_close(&b2);
            buf_close(&b3);
        }
    }
}
END_TEST

START_TEST(names_are_unique_and_known)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        ck_assert_str_ne(proto_type_name(all_types[i]), "UNKNOWN");
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(proto_type_name(all_types[i]), proto_type_name(all_types[j]));
    }
    ck_assert_str_eq(proto_type_name((enum proto_type)999), "UNKNOWN");
}
END_TEST

START_TEST(decoded_fields_match)
{
    struct proto_msg m = {.type = MSG_PREPARE_OK}, d;
    struct buf b;
    struct err e;
    m.u.prepare_ok.view = UINT64_MAX;
    m.u.prepare_ok.op = 1234567;
    m.u.prepare_ok.replica = 4;
    m.u.prepare_ok.seq = 0;
    encode(&m, &b);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), 0);
    ck_assert_uint_eq(d.u.prepare_ok.view, UINT64_MAX);
    ck_assert_uint_eq(d.u.prepare_ok.op, 1234567);
    ck_assert_uint_eq(d.u.prepare_ok.replica, 4);
    buf_close(&b);
    proto_msg_free(&d);
}
END_TEST

START_TEST(strings_are_nul_terminated)
{
    struct proto_msg m, d;
    struct buf b;
    struct err e;
    memset(&m, 0, sizeof m);
    m.type = MSG_HELLO;
    proto_str_setz(&m.u.hello.user, "alice");
    encode(&m, &b);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), 0);
    ck_assert_str_eq(d.u.hello.user.p, "alice");
    ck_assert_str_eq(d.u.hello.password.p, ""); /* NULL on the way in, "" out */
    proto_msg_free(&m);
    proto_msg_free(&d);
    buf_close(&b);
}
END_TEST

START_TEST(body_struct_roundtrip)
{
    struct proto_body body, out;
    struct filler f = {3};
    struct buf b, b2;
    struct err e;
    memset(&body, 0, sizeof body);
    fill_body(&f, &body);
    ck_assert_int_eq(proto_list_stmt_resize(&body.stmts, 2), 0);
    fill_stmt(&f, &body.stmts.v[1]);
    buf_init(&b);
    buf_init(&b2);
    ck_assert_int_eq(proto_body_encode(&body, &b), 0);
    ck_assert_int_eq(proto_body_decode(b.data, b.len, &out, &e), 0);
    ck_assert_uint_eq(out.stmts.n, 2);
    ck_assert_int_eq(proto_body_encode(&out, &b2), 0);
    ck_assert(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
    proto_body_free(&body);
    proto_body_free(&out);
    buf_close(&b);
    buf_close(&b2);
}
END_TEST

/* ---- malformed input ---- */

START_TEST(every_truncation_fails)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        struct proto_msg m, d;
        struct buf b;
        struct err e;
        fill_msg(&m, all_types[i], (unsigned)i * 5 + 1);
        encode(&m, &b);
        /* every proper prefix is invalid; test all for small messages */
        size_t step = b.len > 4096 ? b.len / 997 + 1 : 1;
        for (size_t n = 0; n < b.len; n += step) {
            ck_assert_int_eq(proto_decode(b.data, n, &d, &e), -1);
            ck_assert_int_eq(e.code, ERR_PROTOCOL);
            ck_assert_int_eq(d.type, MSG_NONE);
        }
        /* a trailing byte is rejected too */
        buf_append(&b, "\xc0", 1);
        ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), -1);
        proto_msg_free(&m);
        buf_close(&b);
    }
}
END_TEST

/* Pack [type, fields...] by hand with one field of the wrong type. */
START_TEST(wrong_types_fail)
{
    struct buf b;
    struct proto_msg d;
    struct err e;
    msgpack_packer pk;

    /* PREPARE_OK with a string where the view number goes */
    buf_init(&b);
    mp_packer_init(&pk, &b);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_uint32(&pk, MSG_PREPARE_OK);
    msgpack_pack_str_with_body(&pk, "7", 1);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_uint64(&pk, 1);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), -1);
    ck_assert_msg(strstr(e.msg, "PREPARE_OK") && strstr(e.msg, "view"), "%s", e.msg);

    /* replica index that does not fit u32 */
    buf_reset(&b);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_uint32(&pk, MSG_PREPARE_OK);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint64(&pk, 1ull << 40);
    msgpack_pack_uint64(&pk, 1);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), -1);

    /* negative number for an unsigned field */
    buf_reset(&b);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_uint32(&pk, MSG_PREPARE_OK);
    msgpack_pack_int64(&pk, -1);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_uint64(&pk, 1);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), -1);

    /* too few fields */
    buf_reset(&b);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint32(&pk, MSG_PREPARE_OK);
    msgpack_pack_uint64(&pk, 1);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), -1);

    /* unknown type, not an array, empty array, a map */
    buf_reset(&b);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_uint32(&pk, 200);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), -1);
    ck_assert(strstr(e.msg, "unknown message type"));
    buf_reset(&b);
    msgpack_pack_uint32(&pk, MSG_PROBE);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), -1);
    buf_reset(&b);
    msgpack_pack_array(&pk, 0);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), -1);
    buf_reset(&b);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_uint32(&pk, 1);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), -1);

    /* id of the wrong length */
    buf_reset(&b);
    msgpack_pack_array(&pk, 10);
    msgpack_pack_uint32(&pk, MSG_HELLO);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_bin_with_body(&pk, "short", 5);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), -1);
    ck_assert(strstr(e.msg, "client"));

    /* an ext value where a SQL value goes */
    buf_reset(&b);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint32(&pk, MSG_ROWS);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint32(&pk, 0);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_ext_with_body(&pk, "x", 1, 5);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), -1);
    buf_close(&b);
}
END_TEST

START_TEST(extra_trailing_fields_are_accepted)
{
    struct buf b;
    struct proto_msg d;
    struct err e;
    msgpack_packer pk;
    buf_init(&b);
    mp_packer_init(&pk, &b);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint32(&pk, MSG_PROBE);
    msgpack_pack_uint64(&pk, 77);
    msgpack_pack_str_with_body(&pk, "future", 6);
    msgpack_pack_map(&pk, 0);
    ck_assert_int_eq(proto_decode(b.data, b.len, &d, &e), 0);
    ck_assert_uint_eq(d.u.probe.req, 77);
    proto_msg_free(&d);
    buf_close(&b);
}
END_TEST

START_TEST(forged_lengths_fail_without_allocating)
{
    struct proto_msg d;
    struct err e;
    /* ROWS whose cell list claims 2^32-1 elements in a 20-byte message */
    unsigned char rows[] = {0x94, 0x07, 0x01, 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0};
    /* HELLO whose user string claims 4 GB */
    unsigned char str[] = {0x9a, 0x01, 0x01, 0x01, 0x01, 0x01, 0xc4, 0x10,
                           1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                           0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    ck_assert_int_eq(proto_decode(rows, sizeof rows, &d, &e), -1);
    ck_assert(strstr(e.msg, "exceeds"));
    ck_assert_int_eq(proto_decode(str, sizeof str, &d, &e), -1);
    ck_assert(strstr(e.msg, "truncated"));
}
END_TEST

START_TEST(deep_nesting_fails)
{
    /* PROBE with an extra field nested 100000 arrays deep */
    size_t depth = 100000;
    unsigned char *p = malloc(depth + 3);
    struct proto_msg d;
    struct err e;
    p[0] = 0x93;
    p[1] = MSG_PROBE;
    p[2] = 0x01;
    memset(p + 3, 0x91, depth);
    ck_assert_int_eq(proto_decode(p, depth + 3, &d, &e), -1);
    ck_assert(strstr(e.msg, "deep") || strstr(e.msg, "exceeds"));
    free(p);
}
END_TEST

START_TEST(random_bytes_never_crash)
{
    uint64_t rs = testhelp_seed("random_bytes_never_crash");
    unsigned char buf[512];
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = testhelp_rand(&rs) % sizeof buf;
        struct proto_msg d;
        struct err e;
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)testhelp_rand(&rs);
        /* make many of them look like a message header */
        if (n > 2 && (iter & 1)) {
            buf[0] = (unsigned char)(0x90 | (testhelp_rand(&rs) % 16));
            buf[1] = (unsigned char)(1 + testhelp_rand(&rs) % 28);
        }
        if (proto_decode(buf, n, &d, &e) == 0)
            proto_msg_free(&d);
    }
}
END_TEST

START_TEST(mutated_messages_never_crash)
{
    uint64_t rs = testhelp_seed("mutated_messages_never_crash");
    for (int iter = 0; iter < 20000; iter++) {
        struct proto_msg m, d;
        struct buf b;
        struct err e;
        fill_msg(&m, all_types[iter % N_TYPES], (unsigned)iter);
        encode(&m, &b);
        for (int k = 0; k < 4; k++)
            b.data[testhelp_rand(&rs) % b.len] = (unsigned char)testhelp_rand(&rs);
        if (proto_decode(b.data, b.len, &d, &e) == 0)
            proto_msg_free(&d);
        proto_msg_free(&m);
        buf_close(&b);
    }
}
END_TEST

/* ---- framing ---- */

START_TEST(frame_roundtrip_and_limits)
{
    struct proto_msg m = {.type = MSG_PROBE}, d;
    struct buf b;
    struct err e;
    uint32_t len;

    m.u.probe.req = 9;
    buf_init(&b);
    ck_assert_int_eq(frame_encode(&m, &b, FRAME_DEFAULT_MAX, &e), 0);
    /* every short prefix needs more */
    for (size_t n = 0; n < b.len; n++)
        ck_assert_int_eq(frame_parse(b.data, n, FRAME_DEFAULT_MAX, &len, &e), FRAME_NEED_MORE);
    ck_assert_int_eq(frame_parse(b.data, b.len, FRAME_DEFAULT_MAX, &len, &e), FRAME_READY);
    ck_assert_uint_eq(len + FRAME_HEADER, b.len);
    ck_assert_int_eq(proto_decode(b.data + FRAME_HEADER, len, &d, &e), 0);
    ck_assert_uint_eq(d.u.probe.req, 9);
    proto_msg_free(&d);

    /* announced length beyond the limit: rejected from the header alone */
    unsigned char big[4] = {0x7f, 0xff, 0xff, 0xff};
    ck_assert_int_eq(frame_parse(big, 4, FRAME_DEFAULT_MAX, &len, &e), FRAME_BAD);
    ck_assert_int_eq(e.code, ERR_TOO_BIG);
    unsigned char zero[4] = {0, 0, 0, 0};
    ck_assert_int_eq(frame_parse(zero, 4, FRAME_DEFAULT_MAX, &len, &e), FRAME_BAD);

    /* encoding past the limit fails and leaves the buffer untouched */
    struct proto_msg h;
    memset(&h, 0, sizeof h);
    h.type = MSG_HELLO;
    char *s = calloc(1, 10000);
    memset(s, 'x', 9999);
    proto_str_setz(&h.u.hello.user, s);
    size_t before = b.len;
    ck_assert_int_eq(frame_encode(&h, &b, FRAME_MIN_MAX, &e), -1);
    ck_assert_int_eq(e.code, ERR_TOO_BIG);
    ck_assert_uint_eq(b.len, before);
    free(s);
    proto_msg_free(&h);
    buf_close(&b);
}
END_TEST

START_TEST(err_model)
{
    struct err e;
    err_clear(&e);
    ck_assert_int_eq(e.code, ERR_OK);
    ck_assert_int_eq(err_set(&e, ERR_FAILOVER, NULL), -1);
    ck_assert_str_eq(e.sqlstate, "40001");
    ck_assert(err_usable(&e));
    err_set(&e, ERR_CONN_LOST, "replica %d", 2);
    ck_assert(!err_usable(&e));
    err_wrap(&e, "connect");
    ck_assert_str_eq(e.msg, "connect: replica 2");
    err_set_sql(&e, ERR_SQL, "23000", 1062, "Duplicate entry");
    ck_assert_str_eq(e.sqlstate, "23000");
    ck_assert_int_eq(e.native, 1062);
    err_set_sql(&e, ERR_SQL, "bad", 1, "x"); /* invalid SQLSTATE -> HY000 */
    ck_assert_str_eq(e.sqlstate, "HY000");
    ck_assert_str_eq(err_name(ERR_NOMEM), "NOMEM");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("codec");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, roundtrip_every_message);
    tcase_add_test(tc, names_are_unique_and_known);
    tcase_add_test(tc, decoded_fields_match);
    tcase_add_test(tc, strings_are_nul_terminated);
    tcase_add_test(tc, body_struct_roundtrip);
    tcase_add_test(tc, every_truncation_fails);
    tcase_add_test(tc, wrong_types_fail);
    tcase_add_test(tc, extra_trailing_fields_are_accepted);
    tcase_add_test(tc, forged_lengths_fail_without_allocating);
    tcase_add_test(tc, deep_nesting_fails);
    tcase_add_test(tc, random_bytes_never_crash);
    tcase_add_test(tc, mutated_messages_never_crash);
    tcase_add_test(tc, frame_roundtrip_and_limits);
    tcase_add_test(tc, err_model);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
