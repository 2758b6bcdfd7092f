/* Unit tests of the ODBC driver's data conversions (odbc/convert.c): every
 * SQL -> C and C -> SQL family, the examples of ODBC Appendix D, and each
 * truncation and overflow SQLSTATE (01004, 01S07, 07006, 22001, 22003,
 * 22007, 22008, 22015, 22018), numeric structs, date/time parsing and
 * formatting, intervals, GUIDs and SQL_C_WCHAR. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "testhelp.h"

/* ---- helpers ---- */

static struct odbc_value text(const char *s)
{
    return (struct odbc_value){.kind = ODBC_V_TEXT, .p = s, .len = strlen(s)};
}

static struct odbc_value vint(int64_t i)
{
    return (struct odbc_value){.kind = ODBC_V_INT, .i = i};
}

static struct odbc_value vuint(uint64_t u)
{
    return (struct odbc_value){.kind = ODBC_V_UINT, .u = u};
}

static struct odbc_value vdbl(double d)
{
    return (struct odbc_value){.kind = ODBC_V_DOUBLE, .d = d};
}

static struct odbc_value blob(const void *p, size_t n)
{
    return (struct odbc_value){.kind = ODBC_V_BLOB, .p = p, .len = n};
}

static struct conv_diag last;

/* One-shot SQL -> C conversion; returns the CONV_ code. */
static int to_c(struct odbc_value v, SQLSMALLINT sqltype, SQLSMALLINT c, void *buf, SQLLEN buflen,
                SQLLEN *len)
{
    struct conv_col col = {.sql_type = sqltype, .scale = 0};
    struct conv_target t = {.c_type = c, .ptr = buf, .buflen = buflen, .precision = 38,
                            .interval_precision = 2, .seconds_precision = 6};
    SQLLEN dummy;
    return conv_to_c(&v, &col, &t, NULL, len ? len : &dummy, &last);
}

#define ck_state(s) ck_assert_str_eq(last.state, s)

/* ---- SQL -> C: character targets ---- */

START_TEST(char_to_char_truncation)
{
    char buf[16];
    SQLLEN len;
    ck_assert_int_eq(to_c(text("abcdef"), SQL_CHAR, SQL_C_CHAR, buf, 7, &len), CONV_OK);
    ck_assert_str_eq(buf, "abcdef");
    ck_assert_int_eq(len, 6);
    ck_assert_int_eq(to_c(text("abcdef"), SQL_CHAR, SQL_C_CHAR, buf, 6, &len), CONV_INFO);
    ck_state("01004");
    ck_assert_str_eq(buf, "abcde");
    ck_assert_int_eq(len, 6);
    /* A zero-length buffer measures the value. */
    ck_assert_int_eq(to_c(text("abcdef"), SQL_VARCHAR, SQL_C_CHAR, buf, 0, &len), CONV_INFO);
    ck_assert_int_eq(len, 6);
}
END_TEST

START_TEST(decimal_to_char_keeps_whole_digits)
{
    char buf[16];
    SQLLEN len;
    ck_assert_int_eq(to_c(text("1234.56"), SQL_DECIMAL, SQL_C_CHAR, buf, 8, &len), CONV_OK);
    ck_assert_str_eq(buf, "1234.56");
    ck_assert_int_eq(to_c(text("1234.56"), SQL_DECIMAL, SQL_C_CHAR, buf, 5, &len), CONV_INFO);
    ck_state("01004");
    ck_assert_str_eq(buf, "1234");
    ck_assert_int_eq(to_c(text("1234.56"), SQL_DECIMAL, SQL_C_CHAR, buf, 4, &len), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(vint(-12345), SQL_INTEGER, SQL_C_CHAR, buf, 6, &len), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(vint(-12345), SQL_INTEGER, SQL_C_CHAR, buf, 7, &len), CONV_OK);
    ck_assert_str_eq(buf, "-12345");
    ck_assert_int_eq(to_c(vdbl(0.5), SQL_DOUBLE, SQL_C_CHAR, buf, sizeof buf, &len), CONV_OK);
    ck_assert_str_eq(buf, "0.5");
}
END_TEST

START_TEST(datetime_to_char)
{
    char buf[32];
    SQLLEN len;
    ck_assert_int_eq(to_c(text("1992-12-31"), SQL_TYPE_DATE, SQL_C_CHAR, buf, 11, &len), CONV_OK);
    ck_assert_str_eq(buf, "1992-12-31");
    ck_assert_int_eq(to_c(text("1992-12-31"), SQL_TYPE_DATE, SQL_C_CHAR, buf, 10, &len), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(text("1992-12-31 23:45:55.12"), SQL_TYPE_TIMESTAMP, SQL_C_CHAR, buf, 23, &len),
                     CONV_OK);
    ck_assert_int_eq(to_c(text("1992-12-31 23:45:55.12"), SQL_TYPE_TIMESTAMP, SQL_C_CHAR, buf, 22, &len),
                     CONV_INFO);
    ck_state("01004");
    ck_assert_str_eq(buf, "1992-12-31 23:45:55.1");
    ck_assert_int_eq(to_c(text("1992-12-31 23:45:55.12"), SQL_TYPE_TIMESTAMP, SQL_C_CHAR, buf, 19, &len),
                     CONV_ERROR);
    ck_state("22003");
}
END_TEST

START_TEST(binary_to_char_is_hex_in_whole_pairs)
{
    char buf[16];
    SQLLEN len;
    const unsigned char b[] = {0x01, 0xff, 0x7a};
    ck_assert_int_eq(to_c(blob(b, 3), SQL_VARBINARY, SQL_C_CHAR, buf, sizeof buf, &len), CONV_OK);
    ck_assert_str_eq(buf, "01FF7A");
    ck_assert_int_eq(len, 6);
    /* An even buffer length leaves its last byte unused: no half pair. */
    ck_assert_int_eq(to_c(blob(b, 3), SQL_VARBINARY, SQL_C_CHAR, buf, 4, &len), CONV_INFO);
    ck_state("01004");
    ck_assert_str_eq(buf, "01");
    ck_assert_int_eq(to_c(blob(b, 3), SQL_VARBINARY, SQL_C_BINARY, buf, 2, &len), CONV_INFO);
    ck_assert_int_eq(len, 3);
    ck_assert_int_eq((unsigned char)buf[1], 0xff);
}
END_TEST

START_TEST(wchar_target_keeps_surrogate_pairs)
{
    SQLWCHAR w[16];
    SQLLEN len;
    /* "a\u00e9\U0001F600" = a, e-acute, grinning face (a surrogate pair) */
    const char *s = "a\xc3\xa9\xf0\x9f\x98\x80";
    ck_assert_int_eq(to_c(text(s), SQL_VARCHAR, SQL_C_WCHAR, w, sizeof w, &len), CONV_OK);
    ck_assert_int_eq(len, 4 * (SQLLEN)sizeof(SQLWCHAR));
    ck_assert_uint_eq(w[0], 'a');
    ck_assert_uint_eq(w[1], 0xe9);
    ck_assert_uint_eq(w[2], 0xd83d);
    ck_assert_uint_eq(w[3], 0xde00);
    ck_assert_uint_eq(w[4], 0);
    /* Room for three units: the pair does not fit whole, so two are written. */
    ck_assert_int_eq(to_c(text(s), SQL_VARCHAR, SQL_C_WCHAR, w, 4 * sizeof(SQLWCHAR), &len), CONV_INFO);
    ck_state("01004");
    ck_assert_uint_eq(w[1], 0xe9);
    ck_assert_uint_eq(w[2], 0);
    /* Invalid UTF-8 from the server is replaced, not an error. */
    ck_assert_int_eq(to_c(text("x\xff"), SQL_VARCHAR, SQL_C_WCHAR, w, sizeof w, &len), CONV_OK);
    ck_assert_uint_eq(w[1], 0xfffd);
}
END_TEST

START_TEST(getdata_in_pieces)
{
    struct odbc_value v = text("abcdefghij");
    struct conv_col col = {.sql_type = SQL_LONGVARCHAR};
    struct conv_target t = {.c_type = SQL_C_CHAR, .buflen = 4};
    struct conv_stream st;
    char buf[4];
    SQLLEN len;
    const char *want[] = {"abc", "def", "ghi", "j"};
    const SQLLEN lens[] = {10, 7, 4, 1};
    memset(&st, 0, sizeof st);
    t.ptr = buf;
    for (int i = 0; i < 4; i++) {
        int rc = conv_to_c(&v, &col, &t, &st, &len, &last);
        ck_assert_int_eq(rc, i < 3 ? CONV_INFO : CONV_OK);
        ck_assert_str_eq(buf, want[i]);
        ck_assert_int_eq(len, lens[i]);
    }
    ck_assert_int_eq(conv_to_c(&v, &col, &t, &st, &len, &last), CONV_NODATA);
    conv_stream_reset(&st);

    /* Fixed-size targets are read once. */
    SQLINTEGER n;
    struct odbc_value iv = vint(7);
    struct conv_target ti = {.c_type = SQL_C_SLONG, .ptr = &n};
    col.sql_type = SQL_INTEGER;
    ck_assert_int_eq(conv_to_c(&iv, &col, &ti, &st, &len, &last), CONV_OK);
    ck_assert_int_eq(n, 7);
    ck_assert_int_eq(conv_to_c(&iv, &col, &ti, &st, &len, &last), CONV_NODATA);
    conv_stream_reset(&st);
}
END_TEST

/* ---- SQL -> C: numbers ---- */

START_TEST(numeric_targets_and_ranges)
{
    SQLSMALLINT sh;
    SQLSCHAR ti;
    SQLREAL f;
    SQLUINTEGER ul;
    SQLUBIGINT ub;
    SQLBIGINT sb;
    SQLCHAR uc;
    ck_assert_int_eq(to_c(text("1234.56"), SQL_DECIMAL, SQL_C_FLOAT, &f, 0, NULL), CONV_OK);
    ck_assert(fabsf(f - 1234.56f) < 0.001f);
    ck_assert_int_eq(to_c(text("1234.56"), SQL_DECIMAL, SQL_C_SSHORT, &sh, 0, NULL), CONV_INFO);
    ck_state("01S07");
    ck_assert_int_eq(sh, 1234);
    ck_assert_int_eq(to_c(text("1234.56"), SQL_DECIMAL, SQL_C_STINYINT, &ti, 0, NULL), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(vint(300), SQL_INTEGER, SQL_C_UTINYINT, &uc, 0, NULL), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(vint(255), SQL_INTEGER, SQL_C_UTINYINT, &uc, 0, NULL), CONV_OK);
    ck_assert_int_eq(uc, 255);
    ck_assert_int_eq(to_c(vint(-1), SQL_INTEGER, SQL_C_ULONG, &ul, 0, NULL), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(vuint(UINT64_MAX), SQL_BIGINT, SQL_C_UBIGINT, &ub, 0, NULL), CONV_OK);
    ck_assert(ub == UINT64_MAX);
    ck_assert_int_eq(to_c(vuint(UINT64_MAX), SQL_BIGINT, SQL_C_SBIGINT, &sb, 0, NULL), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(vint(INT64_MIN), SQL_BIGINT, SQL_C_SBIGINT, &sb, 0, NULL), CONV_OK);
    ck_assert(sb == INT64_MIN);
    ck_assert_int_eq(to_c(text(" 42 "), SQL_VARCHAR, SQL_C_SSHORT, &sh, 0, NULL), CONV_OK);
    ck_assert_int_eq(sh, 42);
    ck_assert_int_eq(to_c(text("1e3"), SQL_VARCHAR, SQL_C_SSHORT, &sh, 0, NULL), CONV_OK);
    ck_assert_int_eq(sh, 1000);
    ck_assert_int_eq(to_c(text("abc"), SQL_VARCHAR, SQL_C_SSHORT, &sh, 0, NULL), CONV_ERROR);
    ck_state("22018");
    ck_assert_int_eq(to_c(text("1.5.2"), SQL_VARCHAR, SQL_C_FLOAT, &f, 0, NULL), CONV_ERROR);
    ck_state("22018");
    ck_assert_int_eq(to_c(vdbl(1e300), SQL_DOUBLE, SQL_C_FLOAT, &f, 0, NULL), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(vdbl(-3.9), SQL_DOUBLE, SQL_C_SSHORT, &sh, 0, NULL), CONV_INFO);
    ck_assert_int_eq(sh, -3);
    ck_assert_int_eq(to_c(vdbl(NAN), SQL_DOUBLE, SQL_C_SSHORT, &sh, 0, NULL), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(text("1e999"), SQL_VARCHAR, SQL_C_DOUBLE, &f, 0, NULL), CONV_ERROR);
    ck_state("22003");
}
END_TEST

START_TEST(bit_target)
{
    SQLCHAR b;
    ck_assert_int_eq(to_c(text("1"), SQL_VARCHAR, SQL_C_BIT, &b, 0, NULL), CONV_OK);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(to_c(text("0.5"), SQL_VARCHAR, SQL_C_BIT, &b, 0, NULL), CONV_INFO);
    ck_state("01S07");
    ck_assert_int_eq(b, 0);
    ck_assert_int_eq(to_c(vdbl(1.5), SQL_DOUBLE, SQL_C_BIT, &b, 0, NULL), CONV_INFO);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(to_c(vint(2), SQL_INTEGER, SQL_C_BIT, &b, 0, NULL), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(vint(-1), SQL_INTEGER, SQL_C_BIT, &b, 0, NULL), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(text("yes"), SQL_VARCHAR, SQL_C_BIT, &b, 0, NULL), CONV_ERROR);
    ck_state("22018");
}
END_TEST

static unsigned long long numeric_val(const SQL_NUMERIC_STRUCT *ns)
{
    unsigned long long v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | ns->val[i];
    return v;
}

START_TEST(numeric_struct_target)
{
    SQL_NUMERIC_STRUCT ns;
    struct odbc_value v = text("-123.45");
    struct conv_col col = {.sql_type = SQL_DECIMAL, .scale = 2};
    struct conv_target t = {.c_type = SQL_C_NUMERIC, .ptr = &ns, .precision = 10, .scale = 2};
    SQLLEN len;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_OK);
    ck_assert_int_eq(ns.sign, 0);
    ck_assert_int_eq(ns.scale, 2);
    ck_assert_int_eq(ns.precision, 10);
    ck_assert_uint_eq(numeric_val(&ns), 12345);
    ck_assert_int_eq(len, (SQLLEN)sizeof ns);
    t.scale = 0; /* the default scale cuts the fraction */
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_INFO);
    ck_state("01S07");
    ck_assert_uint_eq(numeric_val(&ns), 123);
    t.precision = 2;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_ERROR);
    ck_state("22003");
    v = text("1e40");
    t.precision = 38;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_ERROR);
    ck_state("22003");
    /* 2^64 + 1 needs the ninth byte. */
    v = text("18446744073709551617");
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_OK);
    ck_assert_int_eq(ns.val[8], 1);
    ck_assert_int_eq(ns.val[0], 1);
    ck_assert_int_eq(ns.sign, 1);
    v = vint(7);
    t.scale = 3;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_OK);
    ck_assert_uint_eq(numeric_val(&ns), 7000);
}
END_TEST

/* ---- SQL -> C: dates and times ---- */

START_TEST(datetime_targets)
{
    SQL_DATE_STRUCT d;
    SQL_TIME_STRUCT tm;
    SQL_TIMESTAMP_STRUCT ts;
    ck_assert_int_eq(to_c(text("1992-12-31"), SQL_TYPE_DATE, SQL_C_TYPE_TIMESTAMP, &ts, 0, NULL), CONV_OK);
    ck_assert_int_eq(ts.year, 1992);
    ck_assert_int_eq(ts.hour, 0);
    ck_assert_int_eq(to_c(text("1992-12-31 23:45:55.12"), SQL_TYPE_TIMESTAMP, SQL_C_TYPE_TIMESTAMP,
                          &ts, 0, NULL), CONV_OK);
    ck_assert_int_eq(ts.second, 55);
    ck_assert_uint_eq(ts.fraction, 120000000u);
    ck_assert_int_eq(to_c(text("1992-12-31 23:45:55"), SQL_TYPE_TIMESTAMP, SQL_C_TYPE_DATE, &d, 0, NULL),
                     CONV_INFO);
    ck_state("01S07");
    ck_assert_int_eq(d.day, 31);
    ck_assert_int_eq(to_c(text("1992-12-31 00:00:00"), SQL_TYPE_TIMESTAMP, SQL_C_TYPE_DATE, &d, 0, NULL),
                     CONV_OK);
    ck_assert_int_eq(to_c(text("1992-12-31 23:45:55.5"), SQL_TYPE_TIMESTAMP, SQL_C_TYPE_TIME, &tm, 0, NULL),
                     CONV_INFO);
    ck_assert_int_eq(tm.hour, 23);
    ck_assert_int_eq(to_c(text("12:30:00"), SQL_TYPE_TIME, SQL_C_TYPE_TIME, &tm, 0, NULL), CONV_OK);
    ck_assert_int_eq(tm.minute, 30);
    /* A time becomes today's timestamp. */
    ck_assert_int_eq(to_c(text("12:30:00"), SQL_TYPE_TIME, SQL_C_TYPE_TIMESTAMP, &ts, 0, NULL), CONV_OK);
    ck_assert_int_ge(ts.year, 2024);
    ck_assert_int_eq(ts.hour, 12);
    /* MySQL TIME beyond a day does not fit SQL_TIME_STRUCT. */
    ck_assert_int_eq(to_c(text("838:59:59"), SQL_TYPE_TIME, SQL_C_TYPE_TIME, &tm, 0, NULL), CONV_ERROR);
    ck_state("22008");
    /* Invalid values: 22007 from date columns, 22018 from character data. */
    ck_assert_int_eq(to_c(text("2023-02-30"), SQL_TYPE_DATE, SQL_C_TYPE_DATE, &d, 0, NULL), CONV_ERROR);
    ck_state("22007");
    ck_assert_int_eq(to_c(text("2023-02-30"), SQL_VARCHAR, SQL_C_TYPE_DATE, &d, 0, NULL), CONV_ERROR);
    ck_state("22018");
    ck_assert_int_eq(to_c(text("tomorrow"), SQL_VARCHAR, SQL_C_TYPE_DATE, &d, 0, NULL), CONV_ERROR);
    ck_state("22018");
    ck_assert_int_eq(to_c(text("2024-02-29"), SQL_VARCHAR, SQL_C_TYPE_DATE, &d, 0, NULL), CONV_OK);
    /* MySQL zero dates read as NULL. */
    ck_assert_int_eq(to_c(text("0000-00-00"), SQL_TYPE_DATE, SQL_C_TYPE_DATE, &d, 0, NULL), CONV_NULL);
    ck_assert_int_eq(to_c(text("0000-00-00 00:00:00"), SQL_TYPE_TIMESTAMP, SQL_C_TYPE_TIMESTAMP, &ts, 0, NULL),
                     CONV_NULL);
    /* Restricted conversions. */
    SQLINTEGER n;
    ck_assert_int_eq(to_c(text("1992-12-31"), SQL_TYPE_DATE, SQL_C_SLONG, &n, 0, NULL), CONV_ERROR);
    ck_state("07006");
    ck_assert_int_eq(to_c(text("12:00:00"), SQL_TYPE_TIME, SQL_C_TYPE_DATE, &d, 0, NULL), CONV_ERROR);
    ck_state("07006");
    ck_assert_int_eq(to_c(blob("ab", 2), SQL_VARBINARY, SQL_C_SLONG, &n, 0, NULL), CONV_ERROR);
    ck_state("07006");
}
END_TEST

START_TEST(parse_and_format_datetimes)
{
    struct conv_dt dt;
    char out[48];
    ck_assert_int_eq(conv_parse_dt(" 2024-01-02T03:04:05.123456 ", 28, &dt), 0);
    ck_assert_int_eq(dt.kind, DT_TS);
    ck_assert_uint_eq(dt.frac, 123456000u);
    ck_assert_int_eq(dt.frac_digits, 6);
    ck_assert(conv_dt_valid(&dt, false));
    ck_assert_uint_eq(conv_format_dt(&dt, DT_TS, 3, out), 23);
    ck_assert_str_eq(out, "2024-01-02 03:04:05.123");
    ck_assert_int_eq(conv_parse_dt("{ts '2024-01-02 03:04:05'}", 26, &dt), 0);
    ck_assert_int_eq(dt.hour, 3);
    ck_assert_int_eq(conv_parse_dt("{d '2024-01-02'}", 16, &dt), 0);
    ck_assert_int_eq(dt.kind, DT_DATE);
    ck_assert_int_eq(conv_parse_dt("-12:00:01", 9, &dt), 0);
    ck_assert(dt.neg);
    ck_assert(!conv_dt_valid(&dt, false));
    ck_assert(conv_dt_valid(&dt, true));
    ck_assert_int_eq(conv_parse_dt("2024-01", 7, &dt), -1);
    ck_assert_int_eq(conv_parse_dt("2024-01-02 x", 12, &dt), -1);
    ck_assert_int_eq(conv_parse_dt("", 0, &dt), -1);
    ck_assert_int_eq(conv_parse_dt("{d '2024-01-02'", 15, &dt), -1);
    /* Gregorian leap years. */
    conv_parse_dt("1900-02-29", 10, &dt);
    ck_assert(!conv_dt_valid(&dt, false));
    conv_parse_dt("2000-02-29", 10, &dt);
    ck_assert(conv_dt_valid(&dt, false));
    conv_parse_dt("2023-04-31", 10, &dt);
    ck_assert(!conv_dt_valid(&dt, false));
    conv_parse_dt("23:59:60", 8, &dt);
    ck_assert(!conv_dt_valid(&dt, false));
}
END_TEST

/* ---- SQL -> C: intervals and GUIDs ---- */

START_TEST(interval_targets)
{
    SQL_INTERVAL_STRUCT iv;
    struct odbc_value v;
    struct conv_col col = {.sql_type = SQL_VARCHAR};
    struct conv_target t = {.ptr = &iv, .interval_precision = 2, .seconds_precision = 6};
    SQLLEN len;

    v = text("3 04:05:06.5");
    t.c_type = SQL_C_INTERVAL_DAY_TO_SECOND;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_OK);
    ck_assert_int_eq(iv.interval_type, SQL_IS_DAY_TO_SECOND);
    ck_assert_uint_eq(iv.intval.day_second.day, 3);
    ck_assert_uint_eq(iv.intval.day_second.second, 6);
    ck_assert_uint_eq(iv.intval.day_second.fraction, 500000);
    v = text("INTERVAL -'1-2' YEAR TO MONTH");
    t.c_type = SQL_C_INTERVAL_YEAR_TO_MONTH;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_OK);
    ck_assert_int_eq(iv.interval_sign, SQL_TRUE);
    ck_assert_uint_eq(iv.intval.year_month.month, 2);
    /* Another qualifier converts; trailing fields are cut (01S07). */
    v = text("INTERVAL '1 02:00:00' DAY TO SECOND");
    t.c_type = SQL_C_INTERVAL_HOUR;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_OK);
    ck_assert_uint_eq(iv.intval.day_second.hour, 26);
    v = text("INTERVAL '1 02:30:00' DAY TO SECOND");
    t.c_type = SQL_C_INTERVAL_DAY;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_INFO);
    ck_state("01S07");
    /* The leading field has two digits by default. */
    v = text("100");
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_ERROR);
    ck_state("22015");
    t.interval_precision = 3;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_OK);
    ck_assert_uint_eq(iv.intval.day_second.day, 100);
    v = text("1-2");
    t.c_type = SQL_C_INTERVAL_DAY_TO_HOUR;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_ERROR);
    ck_state("22018");
    /* Exact numbers give single-field intervals. */
    v = vint(7);
    col.sql_type = SQL_INTEGER;
    t.c_type = SQL_C_INTERVAL_MINUTE;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_OK);
    ck_assert_uint_eq(iv.intval.day_second.minute, 7);
    t.c_type = SQL_C_INTERVAL_HOUR_TO_MINUTE;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_ERROR);
    ck_state("07006");
    v = text("2.75");
    col.sql_type = SQL_DECIMAL;
    t.c_type = SQL_C_INTERVAL_SECOND;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_OK);
    ck_assert_uint_eq(iv.intval.day_second.fraction, 750000);
    /* MySQL TIME as an hour-to-second interval. */
    v = text("-838:59:59");
    col.sql_type = SQL_TYPE_TIME;
    t.c_type = SQL_C_INTERVAL_HOUR_TO_SECOND;
    t.interval_precision = 2;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_ERROR);
    ck_state("22015");
    t.interval_precision = 3;
    ck_assert_int_eq(conv_to_c(&v, &col, &t, NULL, &len, &last), CONV_OK);
    ck_assert_uint_eq(iv.intval.day_second.hour, 838);
    ck_assert_int_eq(iv.interval_sign, SQL_TRUE);
}
END_TEST

START_TEST(interval_format_and_parse)
{
    SQL_INTERVAL_STRUCT iv;
    char out[64];
    memset(&iv, 0, sizeof iv);
    iv.interval_type = SQL_IS_DAY_TO_SECOND;
    iv.interval_sign = SQL_TRUE;
    iv.intval.day_second.day = 3;
    iv.intval.day_second.hour = 4;
    iv.intval.day_second.minute = 5;
    iv.intval.day_second.second = 6;
    iv.intval.day_second.fraction = 500000;
    ck_assert_uint_gt(conv_format_interval(&iv, 6, out), 0);
    ck_assert_str_eq(out, "-3 04:05:06.5");
    iv.intval.day_second.hour = 24; /* not a valid trailing field */
    ck_assert_uint_eq(conv_format_interval(&iv, 6, out), 0);
    ck_assert_int_eq(conv_parse_interval("12:34", 5, SQL_IS_HOUR_TO_MINUTE, 2, 6, &iv, &last), CONV_OK);
    ck_assert_uint_eq(iv.intval.day_second.minute, 34);
    ck_assert_int_eq(conv_parse_interval("12:64", 5, SQL_IS_HOUR_TO_MINUTE, 2, 6, &iv, &last), CONV_ERROR);
    ck_state("22018");
    ck_assert_int_eq(conv_parse_interval("1.123456789", 11, SQL_IS_SECOND, 2, 3, &iv, &last), CONV_INFO);
    ck_assert_uint_eq(iv.intval.day_second.fraction, 123);
}
END_TEST

START_TEST(guid_target)
{
    SQLGUID g;
    ck_assert_int_eq(to_c(text("{6F9619FF-8B86-D011-B42D-00C04FC964FF}"), SQL_GUID, SQL_C_GUID, &g, 0, NULL),
                     CONV_OK);
    ck_assert_uint_eq(g.Data1, 0x6F9619FFu);
    ck_assert_uint_eq(g.Data4[7], 0xFF);
    ck_assert_int_eq(to_c(text("6F9619FF-8B86-D011-B42D-00C04FC964F"), SQL_VARCHAR, SQL_C_GUID, &g, 0, NULL),
                     CONV_ERROR);
    ck_state("22018");
}
END_TEST

START_TEST(binary_target_of_numbers_must_fit)
{
    char buf[8];
    SQLLEN len;
    ck_assert_int_eq(to_c(vint(123456), SQL_INTEGER, SQL_C_BINARY, buf, 8, &len), CONV_OK);
    ck_assert_int_eq(len, 6);
    ck_assert_int_eq(to_c(vint(123456), SQL_INTEGER, SQL_C_BINARY, buf, 5, &len), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(to_c(text("x"), SQL_VARCHAR, 1234, buf, 5, &len), CONV_ERROR);
    ck_state("HY003");
}
END_TEST

/* ---- C -> SQL ---- */

static struct buf scratch;

static int from_c(SQLSMALLINT c, const void *ptr, SQLLEN len, SQLSMALLINT sqltype, SQLULEN size,
                  SQLSMALLINT digits, struct odbc_value *out)
{
    struct conv_param p = {.c_type = c, .ptr = ptr, .len = len, .sql_type = sqltype,
                           .column_size = size, .decimal_digits = digits};
    return conv_from_c(&p, out, &scratch, &last);
}

static void text_is(const struct odbc_value *v, const char *want)
{
    ck_assert_int_eq(v->kind, ODBC_V_TEXT);
    ck_assert_uint_eq(v->len, strlen(want));
    ck_assert(memcmp(v->p, want, v->len) == 0);
}

START_TEST(params_character_sources)
{
    struct odbc_value v;
    ck_assert_int_eq(from_c(SQL_C_CHAR, "abc", 3, SQL_VARCHAR, 0, 0, &v), CONV_OK);
    text_is(&v, "abc");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "  7 ", 4, SQL_INTEGER, 0, 0, &v), CONV_OK);
    ck_assert_int_eq(v.kind, ODBC_V_INT);
    ck_assert_int_eq(v.i, 7);
    ck_assert_int_eq(from_c(SQL_C_CHAR, "12.5", 4, SQL_INTEGER, 0, 0, &v), CONV_ERROR);
    ck_state("22001");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "abc", 3, SQL_INTEGER, 0, 0, &v), CONV_ERROR);
    ck_state("22018");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "70000", 5, SQL_SMALLINT, 0, 0, &v), CONV_ERROR);
    ck_state("22003");
    /* DECIMAL(p,s): whole digits beyond p-s are 22003, extra fraction 22001. */
    ck_assert_int_eq(from_c(SQL_C_CHAR, "1234.56", 7, SQL_DECIMAL, 6, 2, &v), CONV_OK);
    text_is(&v, "1234.56");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "1234.56", 7, SQL_DECIMAL, 6, 1, &v), CONV_ERROR);
    ck_state("22001");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "1234.56", 7, SQL_DECIMAL, 5, 2, &v), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "-0001.500", 9, SQL_NUMERIC, 0, 0, &v), CONV_OK);
    text_is(&v, "-1.5");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "1e2", 3, SQL_DOUBLE, 0, 0, &v), CONV_OK);
    ck_assert(v.kind == ODBC_V_DOUBLE && v.d == 100.0);
    ck_assert_int_eq(from_c(SQL_C_CHAR, "1e400", 5, SQL_DOUBLE, 0, 0, &v), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "1e39", 4, SQL_REAL, 0, 0, &v), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "0aFf", 4, SQL_VARBINARY, 0, 0, &v), CONV_OK);
    ck_assert_int_eq(v.kind, ODBC_V_BLOB);
    ck_assert_uint_eq(v.len, 2);
    ck_assert_int_eq((unsigned char)v.p[1], 0xff);
    ck_assert_int_eq(from_c(SQL_C_CHAR, "zz", 2, SQL_VARBINARY, 0, 0, &v), CONV_ERROR);
    ck_state("22018");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "x", 1, 12345, 0, 0, &v), CONV_ERROR);
    ck_state("HY004");
}
END_TEST

START_TEST(params_numeric_sources)
{
    struct odbc_value v;
    SQLREAL f = 1234.56f;
    SQLDOUBLE d;
    SQLINTEGER l = 5;
    SQLBIGINT sb = INT64_MIN;
    SQLUBIGINT ub = UINT64_MAX;
    SQLCHAR bit = 1;
    ck_assert_int_eq(from_c(SQL_C_FLOAT, &f, 0, SQL_FLOAT, 0, 0, &v), CONV_OK);
    ck_assert(fabs(v.d - 1234.56) < 0.001);
    /* Numeric C data: fraction cut with a warning, whole digits are 22003. */
    ck_assert_int_eq(from_c(SQL_C_FLOAT, &f, 0, SQL_INTEGER, 0, 0, &v), CONV_INFO);
    ck_state("01S07");
    ck_assert_int_eq(v.i, 1234);
    ck_assert_int_eq(from_c(SQL_C_FLOAT, &f, 0, SQL_TINYINT, 0, 0, &v), CONV_ERROR);
    ck_state("22003");
    ck_assert_int_eq(from_c(SQL_C_SLONG, &l, 0, SQL_BIT, 0, 0, &v), CONV_ERROR);
    ck_state("22003");
    d = 0.5;
    ck_assert_int_eq(from_c(SQL_C_DOUBLE, &d, 0, SQL_BIT, 0, 0, &v), CONV_ERROR);
    ck_state("22001");
    ck_assert_int_eq(from_c(SQL_C_BIT, &bit, 0, SQL_BIT, 0, 0, &v), CONV_OK);
    ck_assert_int_eq(v.i, 1);
    ck_assert_int_eq(from_c(SQL_C_BIT, &bit, 0, SQL_CHAR, 0, 0, &v), CONV_OK);
    text_is(&v, "1");
    ck_assert_int_eq(from_c(SQL_C_SBIGINT, &sb, 0, SQL_BIGINT, 0, 0, &v), CONV_OK);
    ck_assert(v.kind == ODBC_V_INT && v.i == INT64_MIN);
    ck_assert_int_eq(from_c(SQL_C_UBIGINT, &ub, 0, SQL_BIGINT, 0, 0, &v), CONV_OK);
    ck_assert(v.kind == ODBC_V_UINT && v.u == UINT64_MAX);
    ck_assert_int_eq(from_c(SQL_C_SLONG, &l, 0, SQL_VARCHAR, 0, 0, &v), CONV_OK);
    text_is(&v, "5");
    d = 0.1;
    ck_assert_int_eq(from_c(SQL_C_DOUBLE, &d, 0, SQL_DECIMAL, 0, 0, &v), CONV_OK);
    text_is(&v, "0.1");
    d = 2.25;
    ck_assert_int_eq(from_c(SQL_C_DOUBLE, &d, 0, SQL_DECIMAL, 5, 1, &v), CONV_INFO);
    ck_state("01S07");
    text_is(&v, "2.2");
    d = INFINITY;
    ck_assert_int_eq(from_c(SQL_C_DOUBLE, &d, 0, SQL_DECIMAL, 0, 0, &v), CONV_ERROR);
    ck_state("22003");
    SQL_DATE_STRUCT ds = {2024, 1, 2};
    ck_assert_int_eq(from_c(SQL_C_TYPE_DATE, &ds, 0, SQL_INTEGER, 0, 0, &v), CONV_ERROR);
    ck_state("07006");
    ck_assert_int_eq(from_c(SQL_C_SLONG, &l, 0, SQL_TYPE_DATE, 0, 0, &v), CONV_ERROR);
    ck_state("07006");
}
END_TEST

START_TEST(params_numeric_struct)
{
    struct odbc_value v;
    SQL_NUMERIC_STRUCT ns;
    memset(&ns, 0, sizeof ns);
    ns.precision = 5;
    ns.scale = 2;
    ns.sign = 0;
    ns.val[0] = 12345 & 0xff;
    ns.val[1] = 12345 >> 8;
    ck_assert_int_eq(from_c(SQL_C_NUMERIC, &ns, 0, SQL_NUMERIC, 0, 0, &v), CONV_OK);
    text_is(&v, "-123.45");
    /* The APD's scale wins when the application set it. */
    struct conv_param p = {.c_type = SQL_C_NUMERIC, .ptr = &ns, .sql_type = SQL_DECIMAL,
                           .num_scale = 3, .num_scale_set = true};
    ck_assert_int_eq(conv_from_c(&p, &v, &scratch, &last), CONV_OK);
    text_is(&v, "-12.345");
    ns.scale = -2;
    ns.sign = 1;
    ck_assert_int_eq(from_c(SQL_C_NUMERIC, &ns, 0, SQL_BIGINT, 0, 0, &v), CONV_OK);
    ck_assert_int_eq(v.i, 1234500);
    ns.sign = 7;
    ck_assert_int_eq(from_c(SQL_C_NUMERIC, &ns, 0, SQL_NUMERIC, 0, 0, &v), CONV_ERROR);
    ck_state("22003");
}
END_TEST

START_TEST(params_datetime)
{
    struct odbc_value v;
    SQL_DATE_STRUCT d = {2024, 2, 30};
    SQL_TIMESTAMP_STRUCT ts = {1992, 12, 31, 23, 45, 55, 120000000};
    SQL_TIME_STRUCT t = {25, 0, 0};
    ck_assert_int_eq(from_c(SQL_C_TYPE_DATE, &d, 0, SQL_TYPE_DATE, 0, 0, &v), CONV_ERROR);
    ck_state("22007");
    d.day = 29;
    ck_assert_int_eq(from_c(SQL_C_TYPE_DATE, &d, 0, SQL_TYPE_DATE, 0, 0, &v), CONV_OK);
    text_is(&v, "2024-02-29");
    ck_assert_int_eq(from_c(SQL_C_TYPE_DATE, &d, 0, SQL_TYPE_TIMESTAMP, 0, 0, &v), CONV_OK);
    text_is(&v, "2024-02-29 00:00:00");
    ck_assert_int_eq(from_c(SQL_C_TYPE_TIME, &t, 0, SQL_TYPE_TIME, 0, 0, &v), CONV_ERROR);
    ck_state("22007");
    ck_assert_int_eq(from_c(SQL_C_TYPE_TIMESTAMP, &ts, 0, SQL_TYPE_TIMESTAMP, 26, 2, &v), CONV_OK);
    text_is(&v, "1992-12-31 23:45:55.12");
    ck_assert_int_eq(from_c(SQL_C_TYPE_TIMESTAMP, &ts, 0, SQL_TYPE_TIMESTAMP, 21, 1, &v), CONV_ERROR);
    ck_state("22008");
    ck_assert_int_eq(from_c(SQL_C_TYPE_TIMESTAMP, &ts, 0, SQL_TYPE_DATE, 0, 0, &v), CONV_ERROR);
    ck_state("22008");
    ck_assert_int_eq(from_c(SQL_C_TYPE_TIMESTAMP, &ts, 0, SQL_VARCHAR, 0, 0, &v), CONV_OK);
    text_is(&v, "1992-12-31 23:45:55.12");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "2024-13-01", 10, SQL_TYPE_DATE, 0, 0, &v), CONV_ERROR);
    ck_state("22008");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "soon", 4, SQL_TYPE_DATE, 0, 0, &v), CONV_ERROR);
    ck_state("22018");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "2024-01-02 03:04:05", 19, SQL_TYPE_DATE, 0, 0, &v), CONV_ERROR);
    ck_state("22008");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "{d '2024-01-02'}", 16, SQL_TYPE_DATE, 0, 0, &v), CONV_OK);
    text_is(&v, "2024-01-02");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "2024-01-02 03:04:05", 19, SQL_TYPE_TIME, 0, 0, &v), CONV_OK);
    text_is(&v, "03:04:05");
    /* ODBC 2 codes are accepted. */
    ck_assert_int_eq(from_c(SQL_C_DATE, &d, 0, SQL_DATE, 0, 0, &v), CONV_OK);
    text_is(&v, "2024-02-29");
}
END_TEST

START_TEST(params_wchar_binary_interval_guid)
{
    struct odbc_value v;
    const SQLWCHAR good[] = {'h', 0xe9, 0xd83d, 0xde00};
    const SQLWCHAR lone[] = {'h', 0xd83d, 'x'};
    const unsigned char bytes[] = {0, 1, 2, 0xff};
    ck_assert_int_eq(from_c(SQL_C_WCHAR, good, sizeof good, SQL_WVARCHAR, 0, 0, &v), CONV_OK);
    text_is(&v, "h\xc3\xa9\xf0\x9f\x98\x80");
    ck_assert_int_eq(from_c(SQL_C_WCHAR, lone, sizeof lone, SQL_VARCHAR, 0, 0, &v), CONV_ERROR);
    ck_state("22018");
    ck_assert_int_eq(from_c(SQL_C_WCHAR, good, 3, SQL_VARCHAR, 0, 0, &v), CONV_ERROR);
    ck_state("22018");
    const SQLWCHAR num[] = {' ', '4', '2'};
    ck_assert_int_eq(from_c(SQL_C_WCHAR, num, sizeof num, SQL_INTEGER, 0, 0, &v), CONV_OK);
    ck_assert_int_eq(v.i, 42);
    ck_assert_int_eq(from_c(SQL_C_BINARY, bytes, 4, SQL_LONGVARBINARY, 0, 0, &v), CONV_OK);
    ck_assert_int_eq(v.kind, ODBC_V_BLOB);
    ck_assert_uint_eq(v.len, 4);
    ck_assert_int_eq(from_c(SQL_C_BINARY, bytes, 4, SQL_INTEGER, 0, 0, &v), CONV_ERROR);
    ck_state("07006");

    SQL_INTERVAL_STRUCT iv;
    memset(&iv, 0, sizeof iv);
    iv.interval_type = SQL_IS_DAY_TO_SECOND;
    iv.interval_sign = SQL_TRUE;
    iv.intval.day_second.day = 3;
    iv.intval.day_second.hour = 4;
    iv.intval.day_second.second = 6;
    ck_assert_int_eq(from_c(SQL_C_INTERVAL_DAY_TO_SECOND, &iv, 0, SQL_VARCHAR, 0, 0, &v), CONV_OK);
    text_is(&v, "-3 04:00:06");
    ck_assert_int_eq(from_c(SQL_C_INTERVAL_DAY_TO_SECOND, &iv, 0, SQL_INTERVAL_HOUR_TO_SECOND, 0, 0, &v),
                     CONV_OK);
    text_is(&v, "-76:00:06");
    ck_assert_int_eq(from_c(SQL_C_INTERVAL_DAY_TO_SECOND, &iv, 0, SQL_INTERVAL_DAY, 0, 0, &v), CONV_ERROR);
    ck_state("22015");
    iv.intval.day_second.hour = 24;
    ck_assert_int_eq(from_c(SQL_C_INTERVAL_DAY_TO_SECOND, &iv, 0, SQL_VARCHAR, 0, 0, &v), CONV_ERROR);
    ck_state("22015");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "1 02:03:04", 10, SQL_INTERVAL_DAY_TO_SECOND, 0, 0, &v), CONV_OK);
    text_is(&v, "1 02:03:04");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "1 02", 4, SQL_INTERVAL_DAY_TO_SECOND, 0, 0, &v), CONV_ERROR);
    ck_state("22018");
    SQLINTEGER n = 7;
    ck_assert_int_eq(from_c(SQL_C_SLONG, &n, 0, SQL_INTERVAL_MINUTE, 0, 0, &v), CONV_OK);
    text_is(&v, "7");
    SQLGUID g = {0x6F9619FF, 0x8B86, 0xD011, {0xB4, 0x2D, 0x00, 0xC0, 0x4F, 0xC9, 0x64, 0xFF}};
    ck_assert_int_eq(from_c(SQL_C_GUID, &g, 0, SQL_GUID, 0, 0, &v), CONV_OK);
    text_is(&v, "6F9619FF-8B86-D011-B42D-00C04FC964FF");
    ck_assert_int_eq(from_c(SQL_C_CHAR, "nope", 4, SQL_GUID, 0, 0, &v), CONV_ERROR);
    ck_state("22018");
}
END_TEST

/* Application buffers need not be aligned (pyodbc packs values next to
 * their indicators): fixed-size values are read and written through
 * aligned copies, and an empty value with no data at all is copied as
 * nothing.  (Found by UBSan in the sanitizer build's pyodbc run: these
 * fail there without the copies.) */
START_TEST(unaligned_buffers_and_empty_values)
{
    unsigned char raw[64] __attribute__((aligned(16)));
    void *odd = raw + 3;
    struct odbc_value v;
    SQLBIGINT big = -1234567890123LL;
    SQLDOUBLE dbl = 2.5;
    SQL_TIMESTAMP_STRUCT ts = {2024, 1, 2, 3, 4, 5, 0};
    SQLLEN len;
    char out[8];

    memcpy(odd, &big, sizeof big);
    ck_assert_int_eq(from_c(SQL_C_SBIGINT, odd, 0, SQL_BIGINT, 0, 0, &v), CONV_OK);
    ck_assert_int_eq(v.kind, ODBC_V_INT);
    ck_assert(v.i == big);
    memcpy(odd, &dbl, sizeof dbl);
    ck_assert_int_eq(from_c(SQL_C_DOUBLE, odd, 0, SQL_DOUBLE, 0, 0, &v), CONV_OK);
    ck_assert(v.kind == ODBC_V_DOUBLE && v.d == 2.5);
    memcpy(odd, &ts, sizeof ts);
    ck_assert_int_eq(from_c(SQL_C_TYPE_TIMESTAMP, odd, 0, SQL_TYPE_TIMESTAMP, 19, 0, &v), CONV_OK);
    text_is(&v, "2024-01-02 03:04:05");

    memset(raw, 0, sizeof raw);
    ck_assert_int_eq(to_c(vint(big), SQL_BIGINT, SQL_C_SBIGINT, odd, 0, &len), CONV_OK);
    ck_assert_int_eq(len, sizeof big);
    ck_assert(memcmp(odd, &big, sizeof big) == 0);
    ck_assert_int_eq(to_c(vdbl(2.5), SQL_DOUBLE, SQL_C_DOUBLE, odd, 0, NULL), CONV_OK);
    ck_assert(memcmp(odd, &dbl, sizeof dbl) == 0);

    /* an empty text value that carries no data pointer */
    memset(out, 'x', sizeof out);
    ck_assert_int_eq(to_c((struct odbc_value){.kind = ODBC_V_TEXT, .p = NULL, .len = 0}, SQL_VARCHAR,
                          SQL_C_CHAR, out, sizeof out, &len), CONV_OK);
    ck_assert_int_eq(len, 0);
    ck_assert_int_eq(out[0], 0);
}
END_TEST

START_TEST(type_facts)
{
    ck_assert_int_eq(conv_default_c_type(SQL_INTEGER, true), SQL_C_ULONG);
    ck_assert_int_eq(conv_default_c_type(SQL_WVARCHAR, false), SQL_C_WCHAR);
    ck_assert_int_eq(conv_default_c_type(SQL_INTERVAL_DAY, false), SQL_C_INTERVAL_DAY);
    ck_assert_int_eq(conv_verbose_type(SQL_TYPE_DATE), SQL_DATETIME);
    ck_assert_int_eq(conv_interval_code(SQL_TYPE_TIMESTAMP), SQL_CODE_TIMESTAMP);
    ck_assert_int_eq(conv_concise_type(SQL_INTERVAL, SQL_CODE_DAY_TO_HOUR, true),
                     SQL_C_INTERVAL_DAY_TO_HOUR);
    ck_assert_int_eq(conv_concise_type(SQL_DATETIME, 99, false), 0);
    ck_assert_int_eq(conv_sql_type_v2(SQL_TYPE_TIME), SQL_TIME);
    ck_assert(!conv_c_type_valid(SQL_C_DEFAULT));
    ck_assert(conv_c_type_valid(SQL_C_TIMESTAMP));
    ck_assert_int_eq(conv_c_size(SQL_C_TYPE_TIMESTAMP), (SQLLEN)sizeof(SQL_TIMESTAMP_STRUCT));
    char out[32];
    conv_format_double(0.1, false, out);
    ck_assert_str_eq(out, "0.1");
    conv_format_double(1.0 / 3, false, out);
    ck_assert(strtod(out, NULL) == 1.0 / 3);
}
END_TEST

static void setup(void)
{
    buf_init(&scratch);
}

static void teardown(void)
{
    buf_close(&scratch);
}

static Suite *suite(void)
{
    Suite *s = suite_create("odbc_convert");
    TCase *tc = tcase_create("to_c");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, char_to_char_truncation);
    tcase_add_test(tc, decimal_to_char_keeps_whole_digits);
    tcase_add_test(tc, datetime_to_char);
    tcase_add_test(tc, binary_to_char_is_hex_in_whole_pairs);
    tcase_add_test(tc, wchar_target_keeps_surrogate_pairs);
    tcase_add_test(tc, getdata_in_pieces);
    tcase_add_test(tc, numeric_targets_and_ranges);
    tcase_add_test(tc, bit_target);
    tcase_add_test(tc, numeric_struct_target);
    tcase_add_test(tc, datetime_targets);
    tcase_add_test(tc, parse_and_format_datetimes);
    tcase_add_test(tc, interval_targets);
    tcase_add_test(tc, interval_format_and_parse);
    tcase_add_test(tc, guid_target);
    tcase_add_test(tc, binary_target_of_numbers_must_fit);
    suite_add_tcase(s, tc);
    tc = tcase_create("from_c");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, params_character_sources);
    tcase_add_test(tc, params_numeric_sources);
    tcase_add_test(tc, params_numeric_struct);
    tcase_add_test(tc, params_datetime);
    tcase_add_test(tc, params_wchar_binary_interval_guid);
    tcase_add_test(tc, unaligned_buffers_and_empty_values);
    tcase_add_test(tc, type_facts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
