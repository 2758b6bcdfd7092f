/* Connection-string tests: syntax (case-insensitive keys, trimming, braces
 * with "}}" escapes, first occurrence wins, unknown keys kept), every error
 * (unterminated brace, text after a brace, empty key, pair without '=',
 * NUL byte, size and pair limits) and that errors never quote a value;
 * the builder's quoting, and the round trip parse(build(pairs)) == pairs on
 * fixed and random pairs. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connstr.h"
#include "testhelp.h"

static void parse_ok(struct connstr *cs, const char *s)
{
    struct err e;
    err_clear(&e);
    ck_assert_msg(connstr_parse(cs, s, strlen(s), &e) == 0, "%s: %s", s, e.msg);
}

static void parse_bad(const char *s, size_t len, const char *why)
{
    struct connstr cs;
    struct err e;
    err_clear(&e);
    ck_assert_msg(connstr_parse(&cs, s, len, &e) < 0, "'%s' was accepted", s);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_msg(strstr(e.msg, why), "'%s': message '%s' lacks '%s'", s, e.msg, why);
    ck_assert_ptr_null(cs.pairs);
    ck_assert_uint_eq(cs.n, 0);
    connstr_free(&cs);
}

/* A literal that may contain NUL bytes. */
#define PARSE_BAD(lit, why) parse_bad((lit), sizeof(lit) - 1, (why))

START_TEST(test_basic)
{
    struct connstr cs;
    parse_ok(&cs, "replicas=h1:8500,h2:8500,h3:8500;user=app;PassWord=s3cret;database=db");
    ck_assert_uint_eq(cs.n, 4);
    ck_assert_str_eq(connstr_get(&cs, "replicas"), "h1:8500,h2:8500,h3:8500");
    ck_assert_str_eq(connstr_get(&cs, "USER"), "app");
    ck_assert_str_eq(connstr_get(&cs, "password"), "s3cret");
    ck_assert_str_eq(cs.pairs[2].key, "PassWord"); /* original spelling kept */
    ck_assert_ptr_null(connstr_get(&cs, "missing"));
    ck_assert_uint_eq(cs.ndup, 0);
    ck_assert_ptr_null(cs.first_dup);
    connstr_free(&cs);
    connstr_free(&cs); /* idempotent */

    /* Blanks around keys and values; empty values; empty segments. */
    parse_ok(&cs, "  user =  app  ; ; password= ;\tx = a b \t;;");
    ck_assert_uint_eq(cs.n, 3);
    ck_assert_str_eq(cs.pairs[0].key, "user");
    ck_assert_str_eq(cs.pairs[0].value, "app");
    ck_assert_str_eq(cs.pairs[1].value, "");
    ck_assert_str_eq(cs.pairs[2].value, "a b");
    connstr_free(&cs);

    /* Empty and blank strings have no pairs. */
    parse_ok(&cs, "");
    ck_assert_uint_eq(cs.n, 0);
    connstr_free(&cs);
    parse_ok(&cs, " ;\n; ");
    ck_assert_uint_eq(cs.n, 0);
    connstr_free(&cs);

    /* Unknown keys are kept; '=' inside an unbraced value is part of it. */
    parse_ok(&cs, "Driver=Recall;frobnicate=1;opt=a=b");
    ck_assert_uint_eq(cs.n, 3);
    ck_assert_str_eq(connstr_get(&cs, "FROBNICATE"), "1");
    ck_assert_str_eq(connstr_get(&cs, "opt"), "a=b");
    connstr_free(&cs);
}
END_TEST

START_TEST(test_braces)
{
    struct connstr cs;
    parse_ok(&cs, "password={a;b=c}; user = { spaced } ;x={}}{}}};y={};z={}}}");
    ck_assert_str_eq(connstr_get(&cs, "password"), "a;b=c");
    ck_assert_str_eq(connstr_get(&cs, "user"), " spaced ");
    ck_assert_str_eq(connstr_get(&cs, "x"), "}{}");
    ck_assert_str_eq(connstr_get(&cs, "y"), "");
    ck_assert_str_eq(connstr_get(&cs, "z"), "}");
    connstr_free(&cs);
    /* A brace that does not start the value is an ordinary character. */
    parse_ok(&cs, "a=x{y}");
    ck_assert_str_eq(connstr_get(&cs, "a"), "x{y}");
    connstr_free(&cs);
    /* Blanks after the closing brace, and a final pair without ';'. */
    parse_ok(&cs, "a={1}  ;b={2}  ");
    ck_assert_str_eq(connstr_get(&cs, "b"), "2");
    connstr_free(&cs);
}
END_TEST

START_TEST(test_first_wins)
{
    struct connstr cs;
    parse_ok(&cs, "user=first;USER=second;password=p;User=third");
    ck_assert_uint_eq(cs.n, 2);
    ck_assert_str_eq(connstr_get(&cs, "user"), "first");
    ck_assert_uint_eq(cs.ndup, 2);
    ck_assert_str_eq(cs.first_dup, "USER");
    connstr_free(&cs);
}
END_TEST

START_TEST(test_errors)
{
    PARSE_BAD("password={abc", "unterminated '{'");
    PARSE_BAD("password={abc}}", "unterminated '{'");
    PARSE_BAD("password={abc}x;user=u", "after the closing '}'");
    PARSE_BAD("=value", "empty key");
    PARSE_BAD("  = value", "empty key");
    PARSE_BAD("user", "without '='");
    PARSE_BAD("user=a;password", "without '='");
    PARSE_BAD("user=a;secretvalue;x=1", "without '='");
    PARSE_BAD("us{er=a", "bad character");
    PARSE_BAD("us}er=a", "bad character");
    PARSE_BAD("us\ter=a", "bad character");
    PARSE_BAD("user=a\0b", "NUL");
    char *big = malloc(CONNSTR_MAX + 2);
    memset(big, 'a', CONNSTR_MAX + 1);
    big[0] = 'k';
    big[1] = '=';
    parse_bad(big, CONNSTR_MAX + 1, "limit");
    /* Exactly at the limit is fine. */
    struct connstr cs;
    struct err e;
    ck_assert_int_eq(connstr_parse(&cs, big, CONNSTR_MAX, &e), 0);
    ck_assert_uint_eq(strlen(connstr_get(&cs, "k")), CONNSTR_MAX - 2);
    connstr_free(&cs);
    /* Too many pairs. */
    size_t len = 0;
    for (int i = 0; i <= CONNSTR_MAX_PAIRS; i++)
        len += (size_t)sprintf(big + len, "k%d=v;", i);
    parse_bad(big, len, "more than");
    free(big);
}
END_TEST

START_TEST(test_errors_do_not_quote_values)
{
    static const char *const bad[] = {
        "password={hunter2", "password={hunter2}x", "hunter2", "user=a;hunter2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct connstr cs;
        struct err e;
        ck_assert_int_eq(connstr_parse(&cs, bad[i], strlen(bad[i]), &e), -1);
        ck_assert_msg(!strstr(e.msg, "hunter2"), "message quotes a value: %s", e.msg);
    }
}
END_TEST

START_TEST(test_builder)
{
    struct buf b;
    buf_init(&b);
    ck_assert_int_eq(connstr_append(&b, "user", "app"), 0);
    ck_assert_int_eq(connstr_append(&b, "password", "a;b"), 0);
    ck_assert_int_eq(connstr_append(&b, "x", "}{"), 0);
    ck_assert_int_eq(connstr_append(&b, "y", " lead"), 0);
    ck_assert_int_eq(connstr_append(&b, "z", "trail\t"), 0);
    ck_assert_int_eq(connstr_append(&b, "e", ""), 0);
    ck_assert_int_eq(connstr_append(&b, "n", NULL), 0);
    ck_assert_int_eq(connstr_append(&b, "eq", "a=b"), 0);
    ck_assert_int_eq(connstr_append(&b, "in", "in side"), 0);
    ck_assert_str_eq((char *)b.data, "user=app;password={a;b};x={}}{};y={ lead};z={trail\t};"
                                      "e=;n=;eq={a=b};in=in side");
    /* Invalid keys leave the buffer as it was. */
    size_t len = b.len;
    ck_assert_int_eq(connstr_append(&b, "", "v"), -1);
    ck_assert_int_eq(connstr_append(&b, "a;b", "v"), -1);
    ck_assert_int_eq(connstr_append(&b, "a=b", "v"), -1);
    ck_assert_int_eq(connstr_append(&b, "{a", "v"), -1);
    ck_assert_int_eq(connstr_append(&b, " a", "v"), -1);
    ck_assert_int_eq(connstr_append(&b, "a\n", "v"), -1);
    ck_assert_uint_eq(b.len, len);
    /* An existing trailing ';' is not doubled. */
    buf_reset(&b);
    buf_append(&b, "Driver=Recall;", 14);
    ck_assert_int_eq(connstr_append(&b, "user", "u"), 0);
    ck_assert_int_eq(b.len, strlen("Driver=Recall;user=u"));
    ck_assert_int_eq(memcmp(b.data, "Driver=Recall;user=u", b.len), 0);
    ck_assert_int_eq(b.data[b.len], '\0');
    buf_close(&b);
    ck_assert(connstr_key_valid("Trusted Connection"));
    ck_assert(!connstr_key_valid("x}"));
}
END_TEST

/* Build from pairs, parse back, compare. */
static void round_trip(const char *const *keys, const char *const *values, size_t n)
{
    struct buf b;
    struct connstr cs;
    struct err e;
    buf_init(&b);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(connstr_append(&b, keys[i], values[i]), 0);
    ck_assert_msg(connstr_parse(&cs, (char *)b.data, b.len, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(cs.n, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(cs.pairs[i].key, keys[i]);
        ck_assert_msg(strcmp(cs.pairs[i].value, values[i]) == 0,
                      "value %zu: got '%s', built from '%s' (text %s)", i, cs.pairs[i].value,
                      values[i], (char *)b.data);
    }
    connstr_free(&cs);
    buf_close(&b);
}

START_TEST(test_round_trip_fixed)
{
    static const char *const keys[] = {"replicas", "user", "password", "database", "a", "b",
                                       "c", "d", "e", "Trusted Connection"};
    static const char *const values[] = {"h1:1,h2:1,h3:1", "", "}}}", "{", " ; ", "=",
                                         "a}b{c", "\t", "x;y}z{=", "\xc3\xa9t\xc3\xa9"};
    round_trip(keys, values, sizeof keys / sizeof keys[0]);
}
END_TEST

START_TEST(test_round_trip_random)
{
    uint64_t seed = testhelp_seed("connstr round trip");
    static const char vchars[] = "ab {};=\t\n\r,}}{{x\x80\xff@";
    static const char kchars[] = "abcXYZ_ -.1";
    char kbuf[8][16], vbuf[8][40];
    const char *keys[8], *values[8];
    for (int iter = 0; iter < 5000; iter++) {
        size_t n = testhelp_rand(&seed) % 8;
        for (size_t i = 0; i < n; i++) {
            size_t kl, vl = testhelp_rand(&seed) % 39;
            do {
                kl = 1 + testhelp_rand(&seed) % 14;
                for (size_t j = 0; j < kl; j++)
                    kbuf[i][j] = kchars[testhelp_rand(&seed) % (sizeof kchars - 1)];
                /* make keys distinct: first one wins otherwise */
                kbuf[i][0] = (char)('a' + i);
                kbuf[i][kl] = '\0';
            } while (!connstr_key_valid(kbuf[i]));
            for (size_t j = 0; j < vl; j++)
                vbuf[i][j] = vchars[testhelp_rand(&seed) % (sizeof vchars - 1)];
            vbuf[i][vl] = '\0';
            keys[i] = kbuf[i];
            values[i] = vbuf[i];
        }
        round_trip(keys, values, n);
    }
}
END_TEST

START_TEST(test_random_input_never_crashes)
{
    uint64_t seed = testhelp_seed("connstr random input");
    static const char chars[] = "k=v;{}} \t";
    char buf[200];
    int ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = testhelp_rand(&seed) % sizeof buf;
        struct connstr cs;
        struct err e;
        for (size_t i = 0; i < len; i++)
            buf[i] = chars[testhelp_rand(&seed) % (sizeof chars - 1)];
        char *copy = malloc(len ? len : 1); /* exact size: over-reads are caught */
        memcpy(copy, buf, len);
        if (connstr_parse(&cs, copy, len, &e) == 0) {
            ok++;
            for (size_t i = 0; i < cs.n; i++) {
                ck_assert(cs.pairs[i].key[0] != '\0');
                ck_assert_ptr_eq(connstr_get(&cs, cs.pairs[i].key), cs.pairs[i].value);
            }
        } else {
            ck_assert_int_eq(e.code, ERR_INVALID);
        }
        connstr_free(&cs);
        free(copy);
    }
    ck_assert_int_gt(ok, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("connstr");
    TCase *tc = tcase_create("connstr");
    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_braces);
    tcase_add_test(tc, test_first_wins);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_errors_do_not_quote_values);
    tcase_add_test(tc, test_builder);
    tcase_add_test(tc, test_round_trip_fixed);
    tcase_add_test(tc, test_round_trip_random);
    tcase_add_test(tc, test_random_input_never_crashes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
