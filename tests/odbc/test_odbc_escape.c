/* Unit tests of ODBC escape rewriting (odbc/escape.c): each escape kind in
 * both dialects, nesting, escapes inside quotes and comments left alone,
 * dialect quoting differences (backslashes, [identifiers], "--" comments),
 * and syntax errors. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "testhelp.h"

static char state[6], msg[256];

/* Rewrite and return a malloc'd copy, or NULL on error. */
static char *rw(const char *sql, enum esc_dialect d)
{
    struct buf b;
    char *out = NULL;
    buf_init(&b);
    if (escape_rewrite(sql, strlen(sql), d, &b, state, msg, sizeof msg) == 0)
        out = strndup(b.len ? (const char *)b.data : "", b.len);
    buf_close(&b);
    return out;
}

static void check(const char *sql, enum esc_dialect d, const char *want)
{
    char *got = rw(sql, d);
    ck_assert_msg(got != NULL, "rewrite of [%s] failed: %s %s", sql, state, msg);
    ck_assert_str_eq(got, want);
    free(got);
}

static void check_fail(const char *sql, enum esc_dialect d, const char *want_state)
{
    char *got = rw(sql, d);
    ck_assert_msg(got == NULL, "rewrite of [%s] should fail, got [%s]", sql, got ? got : "");
    ck_assert_str_eq(state, want_state);
}

START_TEST(datetime_literals)
{
    check("SELECT {d '2024-01-02'}", ESC_MYSQL, "SELECT DATE '2024-01-02'");
    check("SELECT {d '2024-01-02'}", ESC_SQLITE, "SELECT '2024-01-02'");
    check("SELECT {t '03:04:05'}, {ts '2024-01-02 03:04:05.5'}", ESC_MYSQL,
          "SELECT TIME '03:04:05', TIMESTAMP '2024-01-02 03:04:05.5'");
    check("SELECT { TS  '2024-01-02 03:04:05' }", ESC_SQLITE, "SELECT '2024-01-02 03:04:05'");
    check("SELECT {guid '6F9619FF-8B86-D011-B42D-00C04FC964FF'}", ESC_MYSQL,
          "SELECT '6F9619FF-8B86-D011-B42D-00C04FC964FF'");
}
END_TEST

START_TEST(functions_nested)
{
    check("SELECT {fn UCASE({fn LCASE('A')})}", ESC_MYSQL, "SELECT UCASE(LCASE('A'))");
    check("SELECT {fn UCASE({fn LCASE('A')})}", ESC_SQLITE, "SELECT upper(lower('A'))");
    check("SELECT {fn CONCAT('a', {fn SUBSTRING('xyz', 2, 1)})}", ESC_SQLITE,
          "SELECT ('a' || substr('xyz', 2, 1))");
    check("SELECT {fn CONVERT(a, SQL_INTEGER)}", ESC_MYSQL, "SELECT CAST(a AS SIGNED)");
    check("SELECT {fn CONVERT(a, SQL_VARCHAR)}", ESC_SQLITE, "SELECT CAST(a AS TEXT)");
    check("SELECT {fn TIMESTAMPADD(SQL_TSI_DAY, 1, d)}", ESC_MYSQL, "SELECT TIMESTAMPADD(DAY, 1, d)");
    check("SELECT {fn TIMESTAMPADD(SQL_TSI_DAY, 1, d)}", ESC_SQLITE,
          "SELECT datetime(d, (1) || ' days')");
    check("SELECT {fn TIMESTAMPDIFF(SQL_TSI_SECOND, a, b)}", ESC_SQLITE,
          "SELECT CAST((julianday(b) - julianday(a)) * 86400 AS INTEGER)");
    check("SELECT {fn NOW()}, {fn CURDATE()}", ESC_SQLITE, "SELECT CURRENT_TIMESTAMP, CURRENT_DATE");
    check("SELECT {fn NOW()}", ESC_MYSQL, "SELECT NOW()");
    check("SELECT {fn LOCATE('b', 'abc')}", ESC_SQLITE, "SELECT instr('abc', 'b')");
    check("SELECT {fn MONTH(d)}", ESC_SQLITE, "SELECT CAST(strftime('%m', d) AS INTEGER)");
    /* A comma inside a quoted argument does not split it. */
    check("SELECT {fn CONCAT('a,b', 'c)')}", ESC_SQLITE, "SELECT ('a,b' || 'c)')");
    /* Unknown functions pass through. */
    check("SELECT {fn SOUNDEX(x)}", ESC_SQLITE, "SELECT SOUNDEX(x)");
}
END_TEST

START_TEST(call_oj_escape_interval)
{
    check("{call p(?, ?)}", ESC_MYSQL, "CALL p(?, ?)");
    check("SELECT * FROM {oj t1 LEFT OUTER JOIN t2 ON t1.a = t2.a}", ESC_SQLITE,
          "SELECT * FROM  t1 LEFT OUTER JOIN t2 ON t1.a = t2.a");
    check("SELECT a FROM t WHERE a LIKE 'x\\\\_%' {escape '\\'}", ESC_MYSQL,
          "SELECT a FROM t WHERE a LIKE 'x\\\\_%'  ESCAPE '\\\\'");
    check("SELECT a FROM t WHERE a LIKE 'x\\_%' {escape '\\'}", ESC_SQLITE,
          "SELECT a FROM t WHERE a LIKE 'x\\_%'  ESCAPE '\\'");
    check("SELECT d + {INTERVAL '1' DAY}", ESC_MYSQL, "SELECT d + INTERVAL '1' DAY");
}
END_TEST

START_TEST(quotes_and_comments_untouched)
{
    const char *sql = "SELECT '{fn UCASE(x)}', \"{d '2024-01-02'}\", `{oj}` -- {fn y}\n"
                      "/* {ts 'z'} */ # {call p}\n 1";
    check(sql, ESC_MYSQL, sql);
    /* MySQL: a backslash-escaped quote does not end the string. */
    check("SELECT 'it\\'s {fn UCASE(x)}'", ESC_MYSQL, "SELECT 'it\\'s {fn UCASE(x)}'");
    /* SQLite: no backslash escapes, so the string ends at the second quote. */
    check("SELECT 'a\\', {fn UCASE('b')}", ESC_SQLITE, "SELECT 'a\\', upper('b')");
    check("SELECT [{fn x}] FROM t", ESC_SQLITE, "SELECT [{fn x}] FROM t");
    check("SELECT 'it''s {d ''x''}'", ESC_SQLITE, "SELECT 'it''s {d ''x''}'");
    /* MySQL needs a blank after "--" for a comment; SQLite does not. */
    check("SELECT 1--{fn UCASE('a')}", ESC_MYSQL, "SELECT 1--UCASE('a')");
    check("SELECT 1--{fn UCASE('a')}", ESC_SQLITE, "SELECT 1--{fn UCASE('a')}");
    /* '#' is a comment only in MySQL. */
    check("SELECT 1 #{fn UCASE('a')}", ESC_SQLITE, "SELECT 1 #upper('a')");
    /* A brace that opens no escape (JSON-ish text) is copied. */
    check("SELECT {data} FROM t", ESC_MYSQL, "SELECT {data} FROM t");
    check("", ESC_MYSQL, "");
}
END_TEST

START_TEST(syntax_errors)
{
    check_fail("SELECT {fn UCASE(x)", ESC_MYSQL, "42000");
    check_fail("SELECT {d '2024-01-02'", ESC_MYSQL, "42000");
    check_fail("SELECT {d 2024}", ESC_MYSQL, "42000");
    check_fail("SELECT 'open", ESC_MYSQL, "42000");
    check_fail("{? = call f(?)}", ESC_MYSQL, "HYC00");
    check_fail("SELECT {fn CONVERT(a, SQL_GUID)}", ESC_MYSQL, "HYC00");
    check_fail("SELECT {fn (x)}", ESC_MYSQL, "42000");
    check_fail("SELECT {fn TIMESTAMPADD(SQL_TSI_CENTURY, 1, d)}", ESC_MYSQL, "42000");
    /* Nesting is bounded. */
    char deep[2000];
    size_t k = 0;
    k += (size_t)sprintf(deep, "SELECT ");
    for (int i = 0; i < 100; i++)
        k += (size_t)sprintf(deep + k, "{fn UCASE(");
    k += (size_t)sprintf(deep + k, "'a'");
    for (int i = 0; i < 100; i++)
        k += (size_t)sprintf(deep + k, ")}");
    check_fail(deep, ESC_MYSQL, "42000");
}
END_TEST

START_TEST(random_input_never_crashes)
{
    uint64_t seed = testhelp_seed("escape fuzz");
    const char alphabet[] = "{}()'\"`[]-#/*\\ fndtsoj,?=xX01";
    char sql[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = testhelp_rand(&seed) % sizeof sql;
        for (size_t i = 0; i < n; i++)
            sql[i] = alphabet[testhelp_rand(&seed) % (sizeof alphabet - 1)];
        struct buf b;
        buf_init(&b);
        int rc = escape_rewrite(sql, n, iter & 1 ? ESC_SQLITE : ESC_MYSQL, &b, state, msg, sizeof msg);
        ck_assert(rc == 0 || rc == -1);
        if (rc == 0)
            ck_assert(b.len == 0 || b.data[b.len] == 0);
        buf_close(&b);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("odbc_escape");
    TCase *tc = tcase_create("escape");
    tcase_add_test(tc, datetime_literals);
    tcase_add_test(tc, functions_nested);
    tcase_add_test(tc, call_oj_escape_interval);
    tcase_add_test(tc, quotes_and_comments_untouched);
    tcase_add_test(tc, syntax_errors);
    tcase_add_test(tc, random_input_never_crashes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
