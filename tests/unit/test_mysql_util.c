/* Unit tests of the MySQL backend's pure helpers (server/mysql_util.c): DSN
 * parsing with percent-decoding and options, cell conversion from the
 * client library's text form, column metadata, the environment variable
 * table, and the DDL recovery planner. No server needed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_util.h"
#include "recall.h"
#include "testhelp.h"

/* ---- DSN ---- */

START_TEST(test_dsn_full)
{
    struct mysqlu_dsn d;
    struct err e;
    ck_assert_int_eq(mysqlu_dsn_parse("mysql://re%40call:p%3Aw%2Fd@db.example:3307/app%20db"
                                      "?socket=/tmp/my%20sock&read_lock_wait_timeout=5&public_grants=0"
                                      "&client_expiry=120&connect_timeout=3",
                                      &d, &e), 0);
    ck_assert_str_eq(d.user, "re@call");
    ck_assert_str_eq(d.password, "p:w/d");
    ck_assert_str_eq(d.host, "db.example");
    ck_assert_uint_eq(d.port, 3307);
    ck_assert_str_eq(d.database, "app db");
    ck_assert_str_eq(d.socket, "/tmp/my sock");
    ck_assert_uint_eq(d.read_lock_wait, 5);
    ck_assert_uint_eq(d.client_expiry, 120);
    ck_assert_uint_eq(d.connect_timeout, 3);
    ck_assert(!d.public_grants);
    mysqlu_dsn_free(&d);
}
END_TEST

START_TEST(test_dsn_defaults_and_ipv6)
{
    struct mysqlu_dsn d;
    struct err e;
    ck_assert_int_eq(mysqlu_dsn_parse("mysql://recall@[::1]:3310", &d, &e), 0);
    ck_assert_str_eq(d.user, "recall");
    ck_assert_ptr_null(d.password);
    ck_assert_str_eq(d.host, "::1");
    ck_assert_uint_eq(d.port, 3310);
    ck_assert_ptr_null(d.database);
    ck_assert_uint_eq(d.read_lock_wait, 2);
    ck_assert_uint_eq(d.client_expiry, 86400);
    ck_assert(d.public_grants);
    mysqlu_dsn_free(&d);

    /* no host: localhost; an empty password is a password */
    ck_assert_int_eq(mysqlu_dsn_parse("mysql://u:@/db", &d, &e), 0);
    ck_assert_str_eq(d.host, "localhost");
    ck_assert_str_eq(d.password, "");
    ck_assert_uint_eq(d.port, 3306);
    ck_assert_str_eq(d.database, "db");
    mysqlu_dsn_free(&d);
}
END_TEST

START_TEST(test_dsn_errors)
{
    static const char *const bad[] = {
        "sqlite:/x.db",
        "mysql://host:3306/db",             /* no account */
        "mysql://u:p@h:0/db",               /* port range */
        "mysql://u:p@h:70000/db",
        "mysql://u:p@h:33x/db",
        "mysql://u%zz:p@h/db",              /* bad escape */
        "mysql://u%00:p@h/db",              /* encoded NUL */
        "mysql://u:p@h/db%4",               /* truncated escape */
        "mysql://u:p@h/db?nosuch=1",        /* unknown option */
        "mysql://u:p@h/db?socket",          /* option without value */
        "mysql://u:p@h/db?public_grants=2",
        "mysql://u:p@h/db?read_lock_wait_timeout=0",
        "mysql://u:p@[::1/db",
        "mysql://:p@h/db",
        "mysql://u:p@h/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        NULL,
    };
    struct mysqlu_dsn d;
    struct err e;
    for (int i = 0; bad[i]; i++) {
        err_clear(&e);
        ck_assert_msg(mysqlu_dsn_parse(bad[i], &d, &e) < 0, "accepted %s", bad[i]);
        ck_assert_int_eq(e.code, ERR_CONFIG);
        ck_assert_ptr_null(d.user);
    }
    ck_assert_int_lt(mysqlu_dsn_parse(NULL, &d, &e), 0);
}
END_TEST

/* ---- cells and columns ---- */

static MYSQL_FIELD field(enum enum_field_types type, unsigned flags, unsigned charsetnr)
{
    MYSQL_FIELD f;
    memset(&f, 0, sizeof f);
    f.type = type;
    f.flags = flags;
    f.charsetnr = charsetnr;
    f.name = (char *)"c";
    f.name_length = 1;
    return f;
}

START_TEST(test_cells)
{
    struct proto_value v;
    MYSQL_FIELD f;

    f = field(MYSQL_TYPE_LONGLONG, UNSIGNED_FLAG, 63);
    ck_assert_int_eq(mysqlu_cell(&f, "18446744073709551615", 20, &v), 0);
    ck_assert_int_eq(v.type, PV_UINT);
    ck_assert(v.v.u == UINT64_MAX);
    ck_assert_int_eq(mysqlu_cell(&f, "9223372036854775807", 19, &v), 0);
    ck_assert_int_eq(v.type, PV_INT);
    ck_assert(v.v.i == INT64_MAX);

    f = field(MYSQL_TYPE_LONGLONG, 0, 63);
    ck_assert_int_eq(mysqlu_cell(&f, "-9223372036854775808", 20, &v), 0);
    ck_assert_int_eq(v.type, PV_INT);
    ck_assert(v.v.i == INT64_MIN);

    f = field(MYSQL_TYPE_YEAR, UNSIGNED_FLAG, 63);
    ck_assert_int_eq(mysqlu_cell(&f, "2024", 4, &v), 0);
    ck_assert_int_eq(v.type, PV_INT);
    ck_assert_int_eq(v.v.i, 2024);

    f = field(MYSQL_TYPE_DOUBLE, 0, 63);
    ck_assert_int_eq(mysqlu_cell(&f, "0.1", 3, &v), 0);
    ck_assert_int_eq(v.type, PV_DOUBLE);
    ck_assert(v.v.d == 0.1);

    /* DECIMAL stays exact text */
    f = field(MYSQL_TYPE_NEWDECIMAL, 0, 63);
    ck_assert_int_eq(mysqlu_cell(&f, "12345678901234567890.0123456789", 31, &v), 0);
    ck_assert_int_eq(v.type, PV_TEXT);
    ck_assert_str_eq(v.v.p, "12345678901234567890.0123456789");
    proto_value_free(&v);

    /* binary strings with zero bytes are blobs, text is text */
    f = field(MYSQL_TYPE_BLOB, BLOB_FLAG | BINARY_FLAG, 63);
    ck_assert_int_eq(mysqlu_cell(&f, "a\0b", 3, &v), 0);
    ck_assert_int_eq(v.type, PV_BLOB);
    ck_assert_uint_eq(v.len, 3);
    ck_assert(memcmp(v.v.p, "a\0b", 3) == 0);
    proto_value_free(&v);
    f = field(MYSQL_TYPE_VAR_STRING, 0, 45);
    ck_assert_int_eq(mysqlu_cell(&f, "h\xc3\xa9", 3, &v), 0);
    ck_assert_int_eq(v.type, PV_TEXT);
    proto_value_free(&v);
    f = field(MYSQL_TYPE_BIT, UNSIGNED_FLAG, 63);
    ck_assert_int_eq(mysqlu_cell(&f, "\x02\x81", 2, &v), 0);
    ck_assert_int_eq(v.type, PV_BLOB);
    proto_value_free(&v);

    f = field(MYSQL_TYPE_DATETIME, 0, 63);
    ck_assert_int_eq(mysqlu_cell(&f, "2024-02-29 23:59:59.999999", 26, &v), 0);
    ck_assert_int_eq(v.type, PV_TEXT);
    proto_value_free(&v);

    ck_assert_int_eq(mysqlu_cell(&f, NULL, 0, &v), 0);
    ck_assert_int_eq(v.type, PV_NULL);

    /* an integer column with junk from the server is kept as text */
    f = field(MYSQL_TYPE_LONG, 0, 63);
    ck_assert_int_eq(mysqlu_cell(&f, "12x", 3, &v), 0);
    ck_assert_int_eq(v.type, PV_TEXT);
    proto_value_free(&v);
    ck_assert_int_eq(mysqlu_cell(&f, "", 0, &v), 0);
    ck_assert_int_eq(v.type, PV_TEXT);
    proto_value_free(&v);
}
END_TEST

START_TEST(test_columns)
{
    struct proto_column c;
    MYSQL_FIELD f = field(MYSQL_TYPE_LONG, NOT_NULL_FLAG | PRI_KEY_FLAG | AUTO_INCREMENT_FLAG |
                                               UNSIGNED_FLAG, 63);
    f.length = 10;
    f.org_table = (char *)"t";
    f.org_table_length = 1;
    f.table = (char *)"alias";
    f.table_length = 5;
    f.db = (char *)"app";
    f.db_length = 3;
    ck_assert_int_eq(mysqlu_column(&f, &c), 0);
    ck_assert_str_eq(c.name.p, "c");
    ck_assert_str_eq(c.table.p, "t");
    ck_assert_str_eq(c.db.p, "app");
    ck_assert_str_eq(c.decl.p, "int(10) unsigned");
    ck_assert_int_eq(c.type, RECALL_TYPE_INT);
    ck_assert_uint_eq(c.flags, RECALL_COL_NOT_NULL | RECALL_COL_PRIMARY_KEY |
                                   RECALL_COL_AUTO_INCREMENT | RECALL_COL_UNSIGNED);
    proto_column_free(&c);

    f = field(MYSQL_TYPE_NEWDECIMAL, 0, 63);
    f.length = 32;
    f.decimals = 10;
    ck_assert_int_eq(mysqlu_column(&f, &c), 0);
    ck_assert_str_eq(c.decl.p, "decimal(30,10)");
    ck_assert_int_eq(c.type, RECALL_TYPE_DECIMAL);
    ck_assert_uint_eq(c.decimals, 10);
    proto_column_free(&c);

    f = field(MYSQL_TYPE_VAR_STRING, 0, 63);
    f.length = 16;
    ck_assert_int_eq(mysqlu_column(&f, &c), 0);
    ck_assert_str_eq(c.decl.p, "varbinary(16)");
    ck_assert_int_eq(c.type, RECALL_TYPE_VARBINARY);
    ck_assert(c.flags & RECALL_COL_BINARY);
    proto_column_free(&c);

    f = field(MYSQL_TYPE_DATETIME, 0, 63);
    f.decimals = 6;
    ck_assert_int_eq(mysqlu_column(&f, &c), 0);
    ck_assert_str_eq(c.decl.p, "datetime(6)");
    ck_assert_int_eq(c.type, RECALL_TYPE_DATETIME);
    proto_column_free(&c);

    f = field(MYSQL_TYPE_STRING, ENUM_FLAG, 45);
    ck_assert_int_eq(mysqlu_column(&f, &c), 0);
    ck_assert_int_eq(c.type, RECALL_TYPE_ENUM);
    proto_column_free(&c);

    f = field(MYSQL_TYPE_BLOB, BLOB_FLAG, 63);
    f.length = 65535;
    ck_assert_int_eq(mysqlu_column(&f, &c), 0);
    ck_assert_str_eq(c.decl.p, "blob");
    ck_assert_int_eq(c.type, RECALL_TYPE_BLOB);
    proto_column_free(&c);
}
END_TEST

START_TEST(test_env_table)
{
    int i = mysqlu_env_find("sql_mode", 8);
    ck_assert_int_ge(i, 0);
    ck_assert(!mysqlu_env_vars[i].numeric);
    ck_assert(mysqlu_env_value_ok(&mysqlu_env_vars[i], "STRICT_TRANS_TABLES,ANSI_QUOTES", 31));
    ck_assert(!mysqlu_env_value_ok(&mysqlu_env_vars[i], "x'; DROP TABLE t; --", 20));
    i = mysqlu_env_find("pseudo_thread_id", 16);
    ck_assert_int_ge(i, 0);
    ck_assert(mysqlu_env_vars[i].numeric);
    ck_assert(mysqlu_env_value_ok(&mysqlu_env_vars[i], "42", 2));
    ck_assert(!mysqlu_env_value_ok(&mysqlu_env_vars[i], "4 2", 3));
    ck_assert(!mysqlu_env_value_ok(&mysqlu_env_vars[i], "", 0));
    ck_assert_int_eq(mysqlu_env_find("database", 8), -1);
    ck_assert_int_eq(mysqlu_env_find("sql_mod", 7), -1);
    ck_assert(mysqlu_env_find("time_zone", 9) >= 0);
    ck_assert(mysqlu_mentions("insert into t values (Last_Insert_Id())", 39, "last_insert_id"));
    ck_assert(!mysqlu_mentions("select 1", 8, "last_insert_id"));
}
END_TEST

START_TEST(test_quote_ident)
{
    struct buf b;
    buf_init(&b);
    mysqlu_quote_ident(&b, "a`b", 3);
    buf_append(&b, "", 1);
    ck_assert_str_eq((char *)b.data, "`a``b`");
    buf_close(&b);
}
END_TEST

/* ---- DDL planner ---- */

static void plan(const char *sql, const char *db, struct mysqlu_ddl_plan *p)
{
    mysqlu_ddl_plan(sql, strlen(sql), db, p);
}

START_TEST(test_ddl_create_drop)
{
    struct mysqlu_ddl_plan p;

    plan("CREATE TABLE t1 (id INT PRIMARY KEY)", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert_uint_eq(p.n, 1);
    ck_assert_int_eq(p.probes[0].kind, MYSQLU_PROBE_TABLE);
    ck_assert(p.probes[0].exists_after);
    ck_assert_str_eq(p.probes[0].db, "app");
    ck_assert_str_eq(p.probes[0].name, "t1");

    plan("create table `other db`.`we``ird` (x int)", NULL, &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert_str_eq(p.probes[0].db, "other db");
    ck_assert_str_eq(p.probes[0].name, "we`ird");

    plan("CREATE TABLE IF NOT EXISTS t1 (x int)", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_RERUN);
    plan("CREATE OR REPLACE TABLE t1 (x int)", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_RERUN);

    /* unqualified without a current database: cannot tell */
    plan("CREATE TABLE t1 (x int)", NULL, &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
    ck_assert_ptr_nonnull(p.why);

    plan("DROP TABLE a, b.c", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert_uint_eq(p.n, 2);
    ck_assert(!p.probes[0].exists_after);
    ck_assert_str_eq(p.probes[1].db, "b");
    ck_assert_str_eq(p.probes[1].name, "c");
    plan("DROP TABLE IF EXISTS a", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_RERUN);

    plan("CREATE DATABASE shop", NULL, &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert_int_eq(p.probes[0].kind, MYSQLU_PROBE_DB);
    ck_assert_str_eq(p.probes[0].db, "shop");
    plan("DROP SCHEMA shop", NULL, &p);
    ck_assert(!p.probes[0].exists_after);

    plan("CREATE UNIQUE INDEX ix ON t (a, b)", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert_int_eq(p.probes[0].kind, MYSQLU_PROBE_INDEX);
    ck_assert_str_eq(p.probes[0].name, "t");
    ck_assert_str_eq(p.probes[0].sub, "ix");
    plan("DROP INDEX ix ON app.t", NULL, &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert(!p.probes[0].exists_after);

    plan("CREATE USER 'bob'@'%' IDENTIFIED BY 'x', alice@localhost", NULL, &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert_uint_eq(p.n, 2);
    ck_assert_str_eq(p.probes[0].db, "bob");
    ck_assert_str_eq(p.probes[0].name, "%");
    ck_assert_str_eq(p.probes[1].db, "alice");
    ck_assert_str_eq(p.probes[1].name, "localhost");

    plan("CREATE DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW v AS SELECT 1", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert_str_eq(p.probes[0].name, "v");

    plan("/* note */ GRANT SELECT ON app.* TO bob", NULL, &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_RERUN);
    plan("TRUNCATE TABLE t", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_RERUN);
    plan("CREATE TEMPORARY TABLE t (x int)", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
    plan("REVOKE SELECT ON app.* FROM bob", NULL, &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
}
END_TEST

START_TEST(test_ddl_alter_rename)
{
    struct mysqlu_ddl_plan p;

    plan("ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT (1 + 2)", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert_int_eq(p.probes[0].kind, MYSQLU_PROBE_COLUMN);
    ck_assert_str_eq(p.probes[0].name, "t");
    ck_assert_str_eq(p.probes[0].sub, "c");
    ck_assert(p.probes[0].exists_after);
    plan("ALTER TABLE t ADD c INT", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    plan("alter table t drop column c", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert(!p.probes[0].exists_after);
    plan("ALTER TABLE t ADD INDEX ix (a)", "app", &p);
    ck_assert_int_eq(p.probes[0].kind, MYSQLU_PROBE_INDEX);
    ck_assert_str_eq(p.probes[0].sub, "ix");
    plan("ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_RERUN);
    plan("ALTER TABLE t RENAME TO u", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert_uint_eq(p.n, 2);
    ck_assert(!p.probes[0].exists_after);
    ck_assert(p.probes[1].exists_after);

    /* several clauses, or clauses that leave no trace we check */
    plan("ALTER TABLE t ADD COLUMN a INT, ADD COLUMN b INT", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
    plan("ALTER TABLE t ENGINE=InnoDB", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
    plan("ALTER TABLE t MODIFY c BIGINT", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
    plan("ALTER TABLE t ADD (a INT, b INT)", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
    plan("ALTER TABLE t ADD PRIMARY KEY (a)", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);

    plan("RENAME TABLE a TO b, c TO d", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_PROBE);
    ck_assert_uint_eq(p.n, 4);
    plan("RENAME TABLE a TO tmp, b TO a, tmp TO b", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);

    /* executable comments and junk are not guessed at */
    plan("CREATE TABLE /*!50100 IF NOT EXISTS */ t (x int)", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
    plan("CREATE TABLE `unterminated", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
    plan("", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
}
END_TEST

START_TEST(test_ddl_names_bounded)
{
    struct mysqlu_ddl_plan p;
    char sql[400];
    /* 65-character name: longer than MySQL allows */
    snprintf(sql, sizeof sql, "CREATE TABLE %065d (x int)", 7);
    plan(sql, "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
    /* more targets than probes */
    plan("DROP TABLE a, b, c, d, e, f, g, h, i", "app", &p);
    ck_assert_int_eq(p.how, MYSQLU_DDL_UNKNOWN);
}
END_TEST

/* Random bytes never crash the planner (it reads hostile text from a
 * damaged marker row). */
START_TEST(test_ddl_random_input)
{
    uint64_t seed = testhelp_seed("ddl planner");
    static const char alphabet[] = "CREATE TABLE DROP ALTER `\"'()., ;-#/*!\\@=abc\n\t";
    char sql[200];
    struct mysqlu_ddl_plan p;
    for (int i = 0; i < 20000; i++) {
        size_t n = testhelp_rand(&seed) % sizeof sql;
        for (size_t j = 0; j < n; j++) {
            uint64_t r = testhelp_rand(&seed);
            sql[j] = r & 1 ? (char)(r >> 8) : alphabet[(r >> 8) % (sizeof alphabet - 1)];
        }
        mysqlu_ddl_plan(sql, n, i & 1 ? "db" : NULL, &p);
        ck_assert_uint_le(p.n, MYSQLU_MAX_PROBES);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mysql_util");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_dsn_full);
    tcase_add_test(tc, test_dsn_defaults_and_ipv6);
    tcase_add_test(tc, test_dsn_errors);
    tcase_add_test(tc, test_cells);
    tcase_add_test(tc, test_columns);
    tcase_add_test(tc, test_env_table);
    tcase_add_test(tc, test_quote_ident);
    tcase_add_test(tc, test_ddl_create_drop);
    tcase_add_test(tc, test_ddl_alter_rename);
    tcase_add_test(tc, test_ddl_names_bounded);
    tcase_add_test(tc, test_ddl_random_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
