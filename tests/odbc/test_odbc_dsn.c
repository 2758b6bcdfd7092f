/* Unit tests of connection strings and DSNs in the ODBC driver
 * (odbc/dsn.c): the connection string overrides the DSN, the first
 * occurrence (aliases included) wins, {} quoting, unknown keys ignored,
 * SERVER/PORT, librecall's connection string, the completed string (which
 * parses back to the same pairs), and the real odbc.ini lookup through
 * SQLGetPrivateProfileString with ODBCSYSINI pointing at a test directory. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connstr.h"
#include "dsn.h"
#include "testhelp.h"

/* A DSN table for the fake lookup: "dsn", "key", "value" triples. */
static const char *const fake_ini[][3] = {
    {"prod", "REPLICAS", "10.0.0.1:8500,10.0.0.2:8500,10.0.0.3:8500"},
    {"prod", "UID", "dsnuser"},
    {"prod", "PASSWORD", "dsnpass"},
    {"prod", "DB", "shop"},
    {"prod", "READ_CONSISTENCY", "session"},
    {"srv", "SERVER", "h1, h2:9001 ,h3"},
    {"srv", "PORT", "9000"},
};

static int lookups;

static bool fake_lookup(void *ud, const char *dsn, const char *key, char *out, size_t outlen)
{
    (void)ud;
    lookups++;
    for (size_t i = 0; i < sizeof fake_ini / sizeof fake_ini[0]; i++)
        if (strcasecmp(fake_ini[i][0], dsn) == 0 && strcasecmp(fake_ini[i][1], key) == 0) {
            snprintf(out, outlen, "%s", fake_ini[i][2]);
            return true;
        }
    return false;
}

static char msg[300];

START_TEST(string_overrides_dsn)
{
    struct dsn_conf c;
    ck_assert_int_eq(dsn_resolve(&c, "DSN=prod;UID=alice", 18, NULL, fake_lookup, NULL, msg, sizeof msg), 0);
    ck_assert_str_eq(c.val[DK_UID], "alice");
    ck_assert_str_eq(c.val[DK_PWD], "dsnpass");      /* alias PASSWORD in the DSN */
    ck_assert_str_eq(c.val[DK_DATABASE], "shop");    /* alias DB in the DSN */
    ck_assert_str_eq(c.val[DK_READ_CONSISTENCY], "session");
    ck_assert_str_eq(c.val[DK_REPLICAS], "10.0.0.1:8500,10.0.0.2:8500,10.0.0.3:8500");
    dsn_conf_free(&c);
    /* SQLConnect names the DSN outside the string. */
    ck_assert_int_eq(dsn_resolve(&c, NULL, 0, "prod", fake_lookup, NULL, msg, sizeof msg), 0);
    ck_assert_str_eq(c.val[DK_UID], "dsnuser");
    dsn_conf_free(&c);
}
END_TEST

START_TEST(first_occurrence_wins_and_quoting)
{
    struct dsn_conf c;
    const char *s = "REPLICAS=a:1;UID=first;uid=second;USER=third;PWD={p;w=d}}x};FOO=bar;"
                    "Database = db1 ;DB=db2";
    ck_assert_int_eq(dsn_resolve(&c, s, strlen(s), NULL, fake_lookup, NULL, msg, sizeof msg), 0);
    ck_assert_str_eq(c.val[DK_UID], "first");
    ck_assert_str_eq(c.val[DK_PWD], "p;w=d}x");
    ck_assert_str_eq(c.val[DK_DATABASE], "db1");
    ck_assert_ptr_null(c.val[DK_DSN]);
    dsn_conf_free(&c);
    /* A syntax error is reported without quoting values. */
    ck_assert_int_eq(dsn_resolve(&c, "UID={abc", 8, NULL, fake_lookup, NULL, msg, sizeof msg), -1);
    ck_assert_ptr_null(strstr(msg, "abc"));
}
END_TEST

START_TEST(librecall_string)
{
    struct dsn_conf c;
    struct buf b;
    struct connstr cs;
    struct err e;
    buf_init(&b);
    ck_assert_int_eq(dsn_resolve(&c, "DSN=prod;PWD={a;b}", 18, NULL, fake_lookup, NULL, msg, sizeof msg), 0);
    ck_assert_int_eq(dsn_librecall(&c, 7, &b, msg, sizeof msg), 0);
    ck_assert_int_eq(connstr_parse(&cs, (const char *)b.data, b.len, &e), 0);
    ck_assert_str_eq(connstr_get(&cs, "replicas"), "10.0.0.1:8500,10.0.0.2:8500,10.0.0.3:8500");
    ck_assert_str_eq(connstr_get(&cs, "user"), "dsnuser");
    ck_assert_str_eq(connstr_get(&cs, "password"), "a;b");
    ck_assert_str_eq(connstr_get(&cs, "database"), "shop");
    ck_assert_str_eq(connstr_get(&cs, "connect_timeout"), "7");
    ck_assert_str_eq(connstr_get(&cs, "request_timeout"), "30");
    ck_assert_str_eq(connstr_get(&cs, "read_consistency"), "session");
    ck_assert_ptr_null(connstr_get(&cs, "dsn")); /* only librecall's keys */
    connstr_free(&cs);
    ck_assert_uint_eq(dsn_request_timeout_ms(&c), 30000);
    dsn_conf_free(&c);

    /* SERVER and PORT make the replica list. */
    b.len = 0;
    ck_assert_int_eq(dsn_resolve(&c, "DSN=srv;REQUEST_TIMEOUT=2.5", 27, NULL, fake_lookup, NULL, msg, sizeof msg), 0);
    ck_assert_int_eq(dsn_librecall(&c, 0, &b, msg, sizeof msg), 0);
    ck_assert_int_eq(connstr_parse(&cs, (const char *)b.data, b.len, &e), 0);
    ck_assert_str_eq(connstr_get(&cs, "replicas"), "h1:9000,h2:9001,h3:9000");
    ck_assert_ptr_null(connstr_get(&cs, "connect_timeout"));
    ck_assert_str_eq(connstr_get(&cs, "request_timeout"), "2.5");
    ck_assert_uint_eq(dsn_request_timeout_ms(&c), 2500);
    connstr_free(&cs);
    dsn_conf_free(&c);

    /* No replicas anywhere. */
    b.len = 0;
    ck_assert_int_eq(dsn_resolve(&c, "UID=x", 5, NULL, fake_lookup, NULL, msg, sizeof msg), 0);
    ck_assert_int_eq(dsn_librecall(&c, 0, &b, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "REPLICAS"));
    dsn_conf_free(&c);
    buf_close(&b);
}
END_TEST

START_TEST(completed_string_round_trips)
{
    struct dsn_conf c, again;
    struct buf b;
    buf_init(&b);
    const char *s = "DRIVER={Recall};REPLICAS=h:1;UID=u;PWD={ lead;ing };Other=ignored";
    ck_assert_int_eq(dsn_resolve(&c, s, strlen(s), NULL, fake_lookup, NULL, msg, sizeof msg), 0);
    ck_assert_int_eq(dsn_completed(&c, &b), 0);
    ck_assert_int_eq(strncmp((const char *)b.data, "DRIVER=Recall;", 14), 0);
    ck_assert_ptr_null(strstr((const char *)b.data, "Other"));
    ck_assert_int_eq(dsn_resolve(&again, (const char *)b.data, b.len, NULL, NULL, NULL, msg, sizeof msg), 0);
    for (int k = 0; k < DK__COUNT; k++) {
        if (!c.val[k]) {
            ck_assert_ptr_null(again.val[k]);
            continue;
        }
        ck_assert_str_eq(again.val[k], c.val[k]);
    }
    dsn_conf_free(&c);
    dsn_conf_free(&again);
    buf_close(&b);
    /* With a DSN, DSN= comes first and DRIVER= is left out. */
    buf_init(&b);
    ck_assert_int_eq(dsn_resolve(&c, "DRIVER=x;DSN=prod", 17, NULL, fake_lookup, NULL, msg, sizeof msg), 0);
    ck_assert_int_eq(dsn_completed(&c, &b), 0);
    ck_assert_int_eq(strncmp((const char *)b.data, "DSN=prod;", 9), 0);
    ck_assert_ptr_null(strstr((const char *)b.data, "DRIVER"));
    dsn_conf_free(&c);
    buf_close(&b);
}
END_TEST

START_TEST(odbc_ini_through_odbcinst)
{
    char *dir = testhelp_tmpdir("odbcini");
    char path[512];
    FILE *f;
    struct dsn_conf c;
    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof path, "%s/odbc.ini", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[unittest]\nDriver = Recall\nREPLICAS = 127.0.0.9:8600\nUID = iniuser\nDatabase = inidb\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/odbcinst.ini", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[Recall]\nDriver = /nonexistent/libRecallODBC.so\n");
    fclose(f);
    setenv("ODBCSYSINI", dir, 1);
    setenv("ODBCINI", "/nonexistent/odbc.ini", 1);
    ck_assert_int_eq(dsn_resolve(&c, "DSN=unittest;DATABASE=fromstring", 32, NULL, dsn_odbcinst_lookup,
                                 NULL, msg, sizeof msg), 0);
    ck_assert_str_eq(c.val[DK_REPLICAS], "127.0.0.9:8600");
    ck_assert_str_eq(c.val[DK_UID], "iniuser");
    ck_assert_str_eq(c.val[DK_DATABASE], "fromstring");
    ck_assert_ptr_null(c.val[DK_PWD]);
    dsn_conf_free(&c);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("odbc_dsn");
    TCase *tc = tcase_create("dsn");
    tcase_add_test(tc, string_overrides_dsn);
    tcase_add_test(tc, first_occurrence_wins_and_quoting);
    tcase_add_test(tc, librecall_string);
    tcase_add_test(tc, completed_string_round_trips);
    tcase_add_test(tc, odbc_ini_through_odbcinst);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
