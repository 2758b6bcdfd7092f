/* Unit tests of UTF-16 <-> UTF-8 in the ODBC driver (odbc/wide.c):
 * round trips across the BMP and astral planes, surrogate pairs, unpaired
 * surrogates (an error with its position), invalid UTF-8 (U+FFFD),
 * truncation that never splits a pair, and W-argument decoding. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "testhelp.h"
#include "wide.h"

START_TEST(round_trip)
{
    const char *s = "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"; /* A é € 😀 z */
    struct buf w, u;
    size_t bad = 99;
    buf_init(&w);
    buf_init(&u);
    ck_assert_int_eq(wide_from_utf8(s, strlen(s), &w), 0);
    ck_assert_uint_eq(w.len, 6 * sizeof(SQLWCHAR));
    ck_assert_uint_eq(wide_units(s, strlen(s)), 6);
    const SQLWCHAR *p = (const SQLWCHAR *)(const void *)w.data;
    ck_assert_uint_eq(p[0], 'A');
    ck_assert_uint_eq(p[1], 0xe9);
    ck_assert_uint_eq(p[2], 0x20ac);
    ck_assert_uint_eq(p[3], 0xd83d);
    ck_assert_uint_eq(p[4], 0xde00);
    ck_assert_uint_eq(p[5], 'z');
    ck_assert_int_eq(wide_to_utf8(p, 6, &u, &bad), 0);
    ck_assert_uint_eq(u.len, strlen(s));
    ck_assert(memcmp(u.data, s, u.len) == 0);
    buf_close(&w);
    buf_close(&u);
}
END_TEST

START_TEST(unpaired_surrogates_are_errors)
{
    const SQLWCHAR high_end[] = {'a', 0xd800};
    const SQLWCHAR high_then_char[] = {0xdbff, 'b', 'c'};
    const SQLWCHAR low_alone[] = {'a', 'b', 0xdc00};
    const SQLWCHAR max_pair[] = {0xdbff, 0xdfff};
    struct buf u;
    size_t bad = 99;
    buf_init(&u);
    ck_assert_int_eq(wide_to_utf8(high_end, 2, &u, &bad), -1);
    ck_assert_uint_eq(bad, 1);
    ck_assert_int_eq(wide_to_utf8(high_then_char, 3, &u, &bad), -1);
    ck_assert_uint_eq(bad, 0);
    ck_assert_int_eq(wide_to_utf8(low_alone, 3, &u, &bad), -1);
    ck_assert_uint_eq(bad, 2);
    buf_reset(&u);
    ck_assert_int_eq(wide_to_utf8(max_pair, 2, &u, &bad), 0);
    ck_assert_uint_eq(u.len, 4);
    ck_assert(memcmp(u.data, "\xf4\x8f\xbf\xbf", 4) == 0); /* U+10FFFF */
    buf_close(&u);
}
END_TEST

START_TEST(invalid_utf8_becomes_replacement)
{
    /* stray continuation, overlong NUL, surrogate encoded in UTF-8, truncated sequence */
    const char *s = "\x80" "\xc0\x80" "\xed\xa0\x80" "\xe2\x82";
    struct buf w;
    buf_init(&w);
    ck_assert_int_eq(wide_from_utf8(s, strlen(s), &w), 0);
    const SQLWCHAR *p = (const SQLWCHAR *)(const void *)w.data;
    for (size_t i = 0; i < w.len / sizeof(SQLWCHAR); i++)
        ck_assert_uint_eq(p[i], 0xfffd);
    ck_assert(!wide_utf8_valid(s, strlen(s)));
    ck_assert(wide_utf8_valid("\xef\xbf\xbd ok", 6)); /* a real U+FFFD is valid */
    buf_close(&w);
}
END_TEST

START_TEST(fit_never_splits_a_pair)
{
    const SQLWCHAR s[] = {'a', 0xd83d, 0xde00, 'b'};
    ck_assert_uint_eq(wide_fit(s, 4, 10), 4);
    ck_assert_uint_eq(wide_fit(s, 4, 3), 3);
    ck_assert_uint_eq(wide_fit(s, 4, 2), 1);
    ck_assert_uint_eq(wide_fit(s, 4, 1), 1);
    ck_assert_uint_eq(wide_fit(s, 4, 0), 0);
}
END_TEST

START_TEST(w_arguments)
{
    const SQLWCHAR nts[] = {'s', 'e', 'l', 0};
    const SQLWCHAR bad[] = {'x', 0xdc00, 0};
    char *out;
    bool oom;
    ck_assert_int_eq(wide_arg(nts, SQL_NTS, &out, &oom), 0);
    ck_assert_str_eq(out, "sel");
    free(out);
    ck_assert_int_eq(wide_arg(nts, 2, &out, &oom), 0);
    ck_assert_str_eq(out, "se");
    free(out);
    ck_assert_int_eq(wide_arg(NULL, SQL_NTS, &out, &oom), 0);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(wide_arg(nts, -5, &out, &oom), -1);
    ck_assert_int_eq(wide_arg(bad, SQL_NTS, &out, &oom), -1);
    ck_assert(!oom);
    ck_assert_ptr_null(out);
}
END_TEST

START_TEST(random_utf16_round_trips)
{
    uint64_t seed = testhelp_seed("utf16");
    for (int iter = 0; iter < 2000; iter++) {
        SQLWCHAR in[64];
        size_t n = 0;
        while (n < 60) {
            uint32_t cp = (uint32_t)(testhelp_rand(&seed) % 0x110000);
            if (cp >= 0xd800 && cp <= 0xdfff)
                continue;
            if (cp >= 0x10000) {
                cp -= 0x10000;
                in[n++] = (SQLWCHAR)(0xd800 + (cp >> 10));
                in[n++] = (SQLWCHAR)(0xdc00 + (cp & 0x3ff));
            } else {
                in[n++] = (SQLWCHAR)cp;
            }
        }
        struct buf u, w;
        buf_init(&u);
        buf_init(&w);
        ck_assert_int_eq(wide_to_utf8(in, n, &u, NULL), 0);
        ck_assert(wide_utf8_valid((const char *)u.data, u.len));
        ck_assert_int_eq(wide_from_utf8((const char *)u.data, u.len, &w), 0);
        ck_assert_uint_eq(w.len, n * sizeof(SQLWCHAR));
        ck_assert(memcmp(w.data, in, w.len) == 0);
        buf_close(&u);
        buf_close(&w);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("odbc_wide");
    TCase *tc = tcase_create("wide");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, unpaired_surrogates_are_errors);
    tcase_add_test(tc, invalid_utf8_becomes_replacement);
    tcase_add_test(tc, fit_never_splits_a_pair);
    tcase_add_test(tc, w_arguments);
    tcase_add_test(tc, random_utf16_round_trips);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
