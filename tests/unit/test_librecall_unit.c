/* librecall without any server: value conversions (driver/value.c) against
 * the rules documented in recall.h, connection-string validation (every
 * error is reported before anything is contacted), and the API's behaviour
 * on NULL and failed handles. */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recall-internal.h"
#include "testhelp.h"

static locale_t cloc;

static struct proto_value vint(int64_t i)
{
    struct proto_value v = {.type = PV_INT};
    v.v.i = i;
    return v;
}

static struct proto_value vuint(uint64_t u)
{
    struct proto_value v = {.type = PV_UINT};
    v.v.u = u;
    return v;
}

static struct proto_value vdbl(double d)
{
    struct proto_value v = {.type = PV_DOUBLE};
    v.v.d = d;
    return v;
}

/* Text values point at a string literal: the conversions only read. */
static struct proto_value vtext(const char *s)
{
    struct proto_value v = {.type = PV_TEXT};
    v.v.p = (char *)s;
    v.len = (uint32_t)strlen(s);
    return v;
}

/* Conversions of a value passed by value (the rules only read it). */
static int64_t I64(struct proto_value v) { return value_to_int64(&v, cloc); }
static uint64_t U64(struct proto_value v) { return value_to_uint64(&v, cloc); }
static double DBL(struct proto_value v) { return value_to_double(&v, cloc); }
static char txtbuf[40];
static const char *TXT(struct proto_value v, size_t *len)
{
    return value_to_text(&v, txtbuf, len, cloc);
}

static void setup(void)
{
    cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    ck_assert_ptr_nonnull(cloc);
}

static void teardown(void)
{
    freelocale(cloc);
}

START_TEST(test_int64_conversions)
{
    struct proto_value null = {.type = PV_NULL};
    ck_assert_int_eq(I64(vint(-3)), -3);
    ck_assert_int_eq(I64(vuint(UINT64_MAX)), INT64_MAX);
    ck_assert_int_eq(I64(vdbl(-2.9)), -2);
    ck_assert_int_eq(I64(vdbl(1e19)), INT64_MAX);
    ck_assert_int_eq(I64(vdbl(-1e19)), INT64_MIN);
    ck_assert_int_eq(I64(vdbl(NAN)), 0);
    ck_assert_int_eq(I64(vtext("  42")), 42);
    ck_assert_int_eq(I64(vtext("12abc")), 12);
    ck_assert_int_eq(I64(vtext("-9223372036854775808")), INT64_MIN);
    ck_assert_int_eq(I64(vtext("9223372036854775808")), INT64_MAX);
    ck_assert_int_eq(I64(vtext("99999999999999999999999")), INT64_MAX);
    ck_assert_int_eq(I64(vtext("1.5e3")), 1500);
    ck_assert_int_eq(I64(vtext("-7.9")), -7);
    ck_assert_int_eq(I64(vtext(".5")), 0);
    ck_assert_int_eq(I64(vtext("0x10")), 0);
    ck_assert_int_eq(I64(vtext("inf")), 0);
    ck_assert_int_eq(I64(vtext("abc")), 0);
    ck_assert_int_eq(I64(vtext("")), 0);
    ck_assert_int_eq(I64(vtext("3e")), 3);
    ck_assert_int_eq(value_to_int64(&null, cloc), 0);
}
END_TEST

START_TEST(test_uint64_conversions)
{
    ck_assert_uint_eq(U64(vint(-3)), 0);
    ck_assert_uint_eq(U64(vint(3)), 3);
    ck_assert_uint_eq(U64(vuint(UINT64_MAX)), UINT64_MAX);
    ck_assert_uint_eq(U64(vdbl(-0.5)), 0);
    ck_assert_uint_eq(U64(vdbl(3e19)), UINT64_MAX);
    ck_assert_uint_eq(U64(vtext("18446744073709551615")), UINT64_MAX);
    ck_assert_uint_eq(U64(vtext("18446744073709551616")), UINT64_MAX);
    ck_assert_uint_eq(U64(vtext("-5")), 0);
    ck_assert_uint_eq(U64(vtext("+5")), 5);
}
END_TEST

START_TEST(test_double_conversions)
{
    ck_assert(DBL(vint(-3)) == -3.0);
    ck_assert(DBL(vuint(UINT64_MAX)) == 18446744073709551615.0);
    ck_assert(DBL(vtext(" 2.25xyz")) == 2.25);
    ck_assert(DBL(vtext("1e-3")) == 1e-3);
    ck_assert(DBL(vtext("nan")) == 0.0);
    ck_assert(DBL(vtext("0x1p3")) == 0.0);
}
END_TEST

START_TEST(test_text_conversions)
{
    struct proto_value null = {.type = PV_NULL};
    size_t len = 99;
    ck_assert_str_eq(TXT(vint(INT64_MIN), &len), "-9223372036854775808");
    ck_assert_uint_eq(len, 20);
    ck_assert_str_eq(TXT(vuint(UINT64_MAX), NULL), "18446744073709551615");
    ck_assert_str_eq(TXT(vdbl(0.1), NULL), "0.1");
    ck_assert_str_eq(TXT(vdbl(1.0 / 3), NULL), "0.3333333333333333");
    ck_assert_str_eq(TXT(vdbl(-2.5), NULL), "-2.5");
    ck_assert_str_eq(TXT(vdbl(1e300), NULL), "1e+300");
    ck_assert_str_eq(TXT(vdbl(INFINITY), NULL), "inf");
    ck_assert_str_eq(TXT(vdbl(-INFINITY), NULL), "-inf");
    ck_assert_str_eq(TXT(vdbl(NAN), NULL), "nan");
    ck_assert_str_eq(TXT(vtext("abc"), &len), "abc");
    ck_assert_uint_eq(len, 3);
    ck_assert_ptr_null(value_to_text(&null, txtbuf, &len, cloc));
    ck_assert_uint_eq(len, 0);
    /* Every double's text reads back as the same double. */
    for (int i = 0; i < 1000; i++) {
        double d = (double)(i * 7919 % 1000) / 7.0 * (i % 2 ? 1e-7 : 1e9);
        ck_assert(strtod(TXT(vdbl(d), NULL), NULL) == d);
    }
}
END_TEST

/* A connection string error, reported without contacting anything. */
static void expect_config_error(const char *info, const char *needle)
{
    recall_conn *c = NULL;
    ck_assert_int_eq(recall_connect(info, &c), RECALL_ERROR);
    ck_assert_ptr_nonnull(c);
    ck_assert_msg(recall_errcode(c) == RECALL_E_CONFIG, "%s: code %d (%s)", info,
                  recall_errcode(c), recall_errmsg(c));
    ck_assert_msg(strstr(recall_errmsg(c), needle), "%s: message '%s' lacks '%s'", info,
                  recall_errmsg(c), needle);
    ck_assert_int_eq(recall_usable(c), 0);
    /* The password never shows in messages. */
    ck_assert_ptr_null(strstr(recall_errmsg(c), "s3cret"));
    recall_close(c);
}

START_TEST(test_connection_string_errors)
{
    recall_conn *c = NULL;
    expect_config_error("user=u", "replicas");
    expect_config_error("replicas=127.0.0.1:1;bogus=1;password=s3cret", "bogus");
    expect_config_error("replicas=127.0.0.1:1;read_consistency=strong", "read_consistency");
    expect_config_error("replicas=127.0.0.1:1;connect_timeout=10s", "connect_timeout");
    expect_config_error("replicas=127.0.0.1:1;request_timeout=-1", "request_timeout");
    expect_config_error("replicas=127.0.0.1:1;fetch_rows=x", "fetch_rows");
    expect_config_error("replicas=127.0.0.1:1,127.0.0.1:2", "replicas");
    expect_config_error("replicas=nohostport;password={s3cret", "connection string");

    /* Keys are case-insensitive and the first occurrence wins: this one
     * is valid and fails only at connecting (nothing listens on port 1). */
    ck_assert_int_eq(recall_connect("REPLICAS=127.0.0.1:1;replicas=garbage;Connect_Timeout=1", &c),
                     RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_CONNECT);
    ck_assert_ptr_nonnull(strstr(recall_errmsg(c), "127.0.0.1:1"));
    recall_close(c);

    ck_assert_int_eq(recall_connect(NULL, &c), RECALL_ERROR);
    ck_assert_int_eq(recall_errcode(c), RECALL_E_INVALID);
    recall_close(c);
}
END_TEST

START_TEST(test_null_handles)
{
    recall_close(NULL);
    recall_cancel(NULL);
    recall_stmt_free(NULL);
    ck_assert_int_eq(recall_errcode(NULL), RECALL_E_NOMEM);
    ck_assert_int_eq(recall_usable(NULL), 0);
    ck_assert_int_eq(recall_exec(NULL, "SELECT 1"), RECALL_ERROR);
    ck_assert_ptr_null(recall_prepare(NULL, "SELECT 1", RECALL_NTS));
    ck_assert_int_eq(recall_fetch(NULL), RECALL_ERROR);
    ck_assert_int_eq(recall_column_count(NULL), 0);
    ck_assert_ptr_null(recall_value_text(NULL, 0, NULL));
    ck_assert_int_eq(recall_value_is_null(NULL, 0), 1);
    ck_assert_int_eq(recall_connect("replicas=127.0.0.1:1", NULL), RECALL_ERROR);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("librecall-unit");
    TCase *tc = tcase_create("values");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_int64_conversions);
    tcase_add_test(tc, test_uint64_conversions);
    tcase_add_test(tc, test_double_conversions);
    tcase_add_test(tc, test_text_conversions);
    suite_add_tcase(s, tc);
    tc = tcase_create("api");
    tcase_add_test(tc, test_connection_string_errors);
    tcase_add_test(tc, test_null_handles);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
