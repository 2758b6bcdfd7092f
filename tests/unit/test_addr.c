/* Replica address tests: host names, IPv4 and bracketed IPv6 with ports;
 * normalization; every malformed form gets a message that says what is
 * wrong; list rules (odd count, at most 15, no duplicates); the cluster id
 * is a pinned FNV-1a of the normalized list, the same for equivalent
 * spellings and different for a different order. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "testhelp.h"

static struct replica_addr parse_ok(const char *s)
{
    struct replica_addr a;
    struct err e;
    err_clear(&e);
    ck_assert_msg(addr_parse(s, strlen(s), &a, &e) == 0, "%s: %s", s, e.msg);
    return a;
}

static void parse_bad(const char *s, const char *why)
{
    struct replica_addr a;
    struct err e;
    err_clear(&e);
    ck_assert_msg(addr_parse(s, strlen(s), &a, &e) < 0, "'%s' was accepted", s);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert_msg(strstr(e.msg, why), "'%s': message '%s' lacks '%s'", s, e.msg, why);
}

static void fmt_is(const struct replica_addr *a, const char *want)
{
    char buf[ADDR_STR_MAX];
    int n = addr_format(a, buf, sizeof buf);
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(n, (int)strlen(want));
}

START_TEST(test_parse_forms)
{
    struct replica_addr a;
    a = parse_ok("db1.example.com:8500");
    ck_assert_str_eq(a.host, "db1.example.com");
    ck_assert_uint_eq(a.port, 8500);
    ck_assert(!a.ipv6);
    a = parse_ok("  DB1.Example.COM:1  ");
    fmt_is(&a, "db1.example.com:1");
    a = parse_ok("10.0.0.1:65535");
    fmt_is(&a, "10.0.0.1:65535");
    a = parse_ok("localhost:08500");
    fmt_is(&a, "localhost:8500");
    a = parse_ok("my_host-2:9");
    fmt_is(&a, "my_host-2:9");
    a = parse_ok("[::1]:8500");
    ck_assert(a.ipv6);
    ck_assert_str_eq(a.host, "::1");
    fmt_is(&a, "[::1]:8500");
    a = parse_ok("[2001:DB8:0:0:0:0:0:1]:80");
    fmt_is(&a, "[2001:db8::1]:80");
    a = parse_ok("[fe80::1%eth0]:8500");
    fmt_is(&a, "[fe80::1%eth0]:8500");
    a = parse_ok("[::ffff:10.0.0.1]:1");
    fmt_is(&a, "[::ffff:10.0.0.1]:1");
}
END_TEST

START_TEST(test_parse_errors)
{
    parse_bad("", "empty address");
    parse_bad("   ", "empty address");
    parse_bad("host", "missing port");
    parse_bad("host:", "missing port");
    parse_bad(":8500", "missing host");
    parse_bad("host:0", "1..65535");
    parse_bad("host:65536", "1..65535");
    parse_bad("host:99999999999999999999999", "1..65535");
    parse_bad("host:-1", "not a number");
    parse_bad("host:+1", "not a number");
    parse_bad("host:85 00", "not a number");
    parse_bad("host:0x10", "not a number");
    parse_bad("::1:8500", "brackets");
    parse_bad("[::1]", "missing port");
    parse_bad("[::1]8500", "missing port");
    parse_bad("[::1:8500", "missing ']'");
    parse_bad("[]:8500", "bad IPv6");
    parse_bad("[10.0.0.1]:8500", "bad IPv6");
    parse_bad("[::g]:8500", "bad IPv6");
    parse_bad("[::1%]:8500", "zone");
    parse_bad("[::1%a b]:8500", "zone");
    parse_bad("10.0.0.256:8500", "IPv4");
    parse_bad("10.0.0:8500", "IPv4");
    parse_bad("1.2.3.4.5:8500", "IPv4");
    parse_bad("host name:8500", "not allowed");
    parse_bad("host/x:8500", "not allowed");
    parse_bad("-host:8500", "label");
    parse_bad("host-:8500", "label");
    parse_bad("a..b:8500", "label");
    parse_bad(".a:8500", "label");
    parse_bad("a.:8500", "label");
    parse_bad("h\x01st:1", "not allowed");
    char long_label[128];
    memset(long_label, 'a', 64);
    strcpy(long_label + 64, ":1");
    parse_bad(long_label, "63 bytes");
    char long_host[400];
    for (int i = 0; i < 300; i += 2)
        long_host[i] = 'a', long_host[i + 1] = '.';
    strcpy(long_host + 299, ":1");
    parse_bad(long_host, "longer than");
    /* NUL inside the given length. */
    struct replica_addr a;
    struct err e;
    ck_assert_int_eq(addr_parse("h\0st:1", 6, &a, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "NUL"));
    /* Messages quote at most a short prefix of hostile input. */
    char huge[5000];
    memset(huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    huge[10] = ' ';
    parse_bad(huge, "...");
}
END_TEST

static int list(const char *s, struct replica_addr v[ADDR_MAX_REPLICAS], size_t *n,
                struct err *e)
{
    err_clear(e);
    return addr_parse_list(s, v, n, e);
}

START_TEST(test_list_rules)
{
    struct replica_addr v[ADDR_MAX_REPLICAS];
    struct err e;
    size_t n = 99;
    char buf[2048];

    ck_assert_int_eq(list("h1:1", v, &n, &e), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(list(" h1:1 , h2:1,h3:1 ", v, &n, &e), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[2].host, "h3");
    ck_assert_int_eq(addr_find(v, n, &v[1]), 1);
    struct replica_addr other = parse_ok("h4:1");
    ck_assert_int_eq(addr_find(v, n, &other), -1);

    ck_assert_int_eq(list("h1:1,h2:1", v, &n, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "odd"));
    ck_assert_ptr_nonnull(strstr(e.msg, "2f+1"));
    ck_assert_int_eq(list("h1:1,h2:1,h3:1,h4:1", v, &n, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "4 replicas"));
    ck_assert_int_eq(list("", v, &n, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "empty replica list"));
    ck_assert_int_eq(list("h1:1,,h2:1", v, &n, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "empty entry"));
    ck_assert_int_eq(list("h1:1,h2:1,", v, &n, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "empty entry"));
    ck_assert_int_eq(list("h1:1,h2:x,h3:1", v, &n, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "replica 2"));
    /* Duplicates, also after normalization. */
    ck_assert_int_eq(list("h1:1,h2:1,H1:1", v, &n, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "replica 3 (h1:1) duplicates replica 1"));
    ck_assert_int_eq(list("[::1]:5,[0:0::1]:5,h:1", v, &n, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "duplicates"));
    ck_assert_int_eq(list("h1:1,h1:2,h1:3", v, &n, &e), 0); /* same host, other ports */

    /* 15 is the maximum; 17 is too many. */
    buf[0] = '\0';
    for (int i = 0; i < 15; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%sh%d:1", i ? "," : "", i);
    ck_assert_int_eq(list(buf, v, &n, &e), 0);
    ck_assert_uint_eq(n, 15);
    strcat(buf, ",h15:1,h16:1");
    ck_assert_int_eq(list(buf, v, &n, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "more than 15"));
}
END_TEST

START_TEST(test_cluster_id)
{
    struct replica_addr a[ADDR_MAX_REPLICAS], b[ADDR_MAX_REPLICAS];
    struct err e;
    size_t na, nb;
    char hex[ADDR_ID_STR_MAX];
    struct buf out;

    ck_assert_int_eq(list("10.0.0.1:8500, 10.0.0.2:8500, 10.0.0.3:8500", a, &na, &e), 0);
    /* Pinned: FNV-1a 64 of "10.0.0.1:8500,10.0.0.2:8500,10.0.0.3:8500".
     * Changing the rule splits every deployed cluster. */
    ck_assert_str_eq(addr_cluster_id_format(addr_cluster_id(a, na), hex), "6281ac47370ab9d7");
    buf_init(&out);
    ck_assert_int_eq(addr_list_format(a, na, &out), 0);
    ck_assert_str_eq((char *)out.data, "10.0.0.1:8500,10.0.0.2:8500,10.0.0.3:8500");
    buf_close(&out);

    /* Equivalent spellings: same id. */
    ck_assert_int_eq(list("10.0.0.1:8500,10.0.0.2:08500 ,10.0.0.3:8500", b, &nb, &e), 0);
    ck_assert_uint_eq(addr_cluster_id(a, na), addr_cluster_id(b, nb));
    ck_assert_int_eq(list("A:1,[::1]:2,c:3", a, &na, &e), 0);
    ck_assert_int_eq(list("a:1,[0:0:0:0:0:0:0:1]:2,C:3", b, &nb, &e), 0);
    ck_assert_uint_eq(addr_cluster_id(a, na), addr_cluster_id(b, nb));
    /* Another order or another member: another id. */
    ck_assert_int_eq(list("c:3,[::1]:2,a:1", b, &nb, &e), 0);
    ck_assert_uint_ne(addr_cluster_id(a, na), addr_cluster_id(b, nb));
    ck_assert_int_eq(list("a:1,[::1]:2,c:4", b, &nb, &e), 0);
    ck_assert_uint_ne(addr_cluster_id(a, na), addr_cluster_id(b, nb));
    ck_assert_int_eq(list("a:1", b, &nb, &e), 0);
    ck_assert_uint_ne(addr_cluster_id(a, na), addr_cluster_id(b, nb));
    /* Never 0 (0 means "no cluster id yet"). */
    ck_assert_uint_ne(addr_cluster_id(a, 0), 0);
    ck_assert_str_eq(addr_cluster_id_format(0xabcull, hex), "0000000000000abc");
}
END_TEST

START_TEST(test_format_truncates_safely)
{
    struct replica_addr a = parse_ok("[fe80::1%eth0]:8500");
    char small[6];
    int n = addr_format(&a, small, sizeof small);
    ck_assert_int_eq(n, (int)strlen("[fe80::1%eth0]:8500"));
    ck_assert_str_eq(small, "[fe80");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("addr");
    TCase *tc = tcase_create("addr");
    tcase_add_test(tc, test_parse_forms);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_list_rules);
    tcase_add_test(tc, test_cluster_id);
    tcase_add_test(tc, test_format_truncates_safely);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
