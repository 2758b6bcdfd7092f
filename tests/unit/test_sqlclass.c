/* SQL classifier tests: every statement family of both dialects, the
 * refusals of DESIGN §3 (each with its reason), transaction control with
 * names and modes, SET autocommit/TRANSACTION spellings, placeholder
 * counting, and hostile text (keywords hidden in strings, comments and
 * identifiers, executable comments, unterminated quotes, NUL bytes, 1 MB of
 * blanks, random bytes).  Every statement is classified from an exact-size
 * heap copy, so a read past `len` is caught by ASan/valgrind. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlclass.h"
#include "testhelp.h"

#define MY SQL_DIALECT_MYSQL
#define LITE SQL_DIALECT_SQLITE

static struct sql_info classify_n(const char *sql, size_t len, enum sql_dialect d)
{
    struct sql_info info;
    char *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, sql, len);
    enum sql_kind k = sqlclass(copy, len, d, &info);
    ck_assert_int_eq(k, info.kind);
    free(copy);
    return info;
}

static struct sql_info classify(const char *sql, enum sql_dialect d)
{
    return classify_n(sql, strlen(sql), d);
}

/* A string literal that may contain NUL bytes. */
#define CLASSIFY_LIT(lit, d) classify_n((lit), sizeof(lit) - 1, (d))

/* Kind and whether refused. */
static void expect(const char *sql, enum sql_dialect d, enum sql_kind kind, bool refused)
{
    struct sql_info i = classify(sql, d);
    ck_assert_msg(i.kind == kind, "[%s] %s: kind %s, expected %s (refusal: %s)",
                  d == MY ? "mysql" : "sqlite", sql, sqlclass_kind_name(i.kind),
                  sqlclass_kind_name(kind), i.refusal ? i.refusal : "none");
    ck_assert_msg((i.refusal != NULL) == refused, "[%s] %s: refusal %s, expected %s",
                  d == MY ? "mysql" : "sqlite", sql, i.refusal ? i.refusal : "none",
                  refused ? "a refusal" : "none");
}

/* Refused, with a reason that mentions `word`. */
static void expect_refused(const char *sql, enum sql_dialect d, enum sql_kind kind,
                           const char *word)
{
    struct sql_info i = classify(sql, d);
    ck_assert_msg(i.kind == kind && i.refusal, "%s: kind %s refusal %s", sql,
                  sqlclass_kind_name(i.kind), i.refusal ? i.refusal : "none");
    ck_assert_msg(strstr(i.refusal, word), "%s: reason '%s' does not mention '%s'", sql,
                  i.refusal, word);
}

START_TEST(test_keyword_table)
{
    ck_assert_int_eq(sqlclass_selfcheck(), 0);
    ck_assert_str_eq(sqlclass_kind_name(SQL_LOCKING_READ), "LOCKING_READ");
    ck_assert_str_eq(sqlclass_kind_name(SQL_OTHER), "OTHER");
    ck_assert_str_eq(sqlclass_kind_name((enum sql_kind)99), "UNKNOWN");
}
END_TEST

START_TEST(test_reads)
{
    static const char *const reads[] = {
        "SELECT 1", "select * from t where a = 'x'", "  \n\tSeLeCt 1  ;  ",
        "(SELECT 1) UNION (SELECT 2)", "((select 1))", "SHOW TABLES", "show create table t",
        "DESCRIBE t", "DESC t", "EXPLAIN SELECT * FROM t", "EXPLAIN UPDATE t SET a = 1",
        "EXPLAIN FORMAT=JSON DELETE FROM t", "WITH a AS (SELECT 1) SELECT * FROM a",
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n < 5) SELECT * FROM c",
        "WITH a AS (SELECT 1), b AS (SELECT 2) (SELECT * FROM a)",
        "VALUES ROW(1, 2)", "TABLE t", "/* leading */ SELECT 1", "-- c\nSELECT 1",
        "# c\nSELECT 1", "HELP 'contents'", "DO 1", "CHECKSUM TABLE t", "CHECK TABLE t",
        "SELECT @x", "ANALYZE SELECT * FROM t", "SELECT 'for update'",
        "SELECT `FOR UPDATE` FROM t", "SELECT 1 /* FOR UPDATE */", "SELECT 1 -- FOR UPDATE",
        "SELECT insert('abc', 1, 1, 'x')", "SELECT * FROM t WHERE x = \"it's\"",
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
        expect(reads[i], MY, SQL_READ, false);
    expect("SELECT 1", LITE, SQL_READ, false);
    expect("VALUES (1), (2)", LITE, SQL_READ, false);
    expect("WITH a AS MATERIALIZED (SELECT 1) SELECT * FROM a", LITE, SQL_READ, false);
    expect("EXPLAIN QUERY PLAN SELECT * FROM t", LITE, SQL_READ, false);
    expect("PRAGMA table_info(t)", LITE, SQL_READ, false);
    expect("PRAGMA main.index_list('t')", LITE, SQL_READ, false);
    expect("PRAGMA journal_mode", LITE, SQL_READ, false);
    expect("PRAGMA integrity_check", LITE, SQL_READ, false);
    /* SQLite has no FOR UPDATE; its '#' is not a comment. */
    expect("SELECT * FROM t FOR UPDATE", LITE, SQL_READ, false);
}
END_TEST

START_TEST(test_locking_reads)
{
    static const char *const locking[] = {
        "SELECT * FROM t FOR UPDATE", "select * from t for share",
        "SELECT * FROM t LOCK IN SHARE MODE", "SELECT * FROM t FOR UPDATE NOWAIT",
        "SELECT * FROM t FOR UPDATE SKIP LOCKED", "(SELECT a FROM t) FOR UPDATE",
        "WITH a AS (SELECT 1) SELECT * FROM t FOR UPDATE",
        "SELECT * FROM t /*!50000 FOR UPDATE */",
        "SELECT * FROM t FOR UPDATE OF t WAIT 5",
    };
    for (size_t i = 0; i < sizeof locking / sizeof locking[0]; i++)
        expect(locking[i], MY, SQL_LOCKING_READ, false);
    /* Hidden in strings, comments and identifiers: plain reads. */
    expect("SELECT 'FOR UPDATE' FROM t", MY, SQL_READ, false);
    expect("SELECT * FROM t /* FOR UPDATE */", MY, SQL_READ, false);
    expect("SELECT * FROM t # FOR UPDATE", MY, SQL_READ, false);
    expect("SELECT `for`, `update` FROM t", MY, SQL_READ, false);
}
END_TEST

START_TEST(test_writes)
{
    static const char *const writes[] = {
        "INSERT INTO t VALUES (1)", "insert ignore into t (a) values (?)",
        "UPDATE t SET a = a + 1 WHERE id = 5", "DELETE FROM t WHERE id = 1",
        "REPLACE INTO t VALUES (1)", "INSERT INTO t SELECT * FROM u FOR UPDATE",
        "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 2",
        "WITH a AS (SELECT 1 AS x) UPDATE t, a SET t.b = a.x",
        "WITH a AS (SELECT 1) DELETE FROM t WHERE id IN (SELECT * FROM a)",
        "/*!40000 INSERT INTO t VALUES (1) */",
        "INSERT INTO t VALUES ('@x', '? no param', \"GET_LOCK(\")",
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        expect(writes[i], MY, SQL_WRITE, false);
    expect("INSERT OR REPLACE INTO t VALUES (1)", LITE, SQL_WRITE, false);
    expect("INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = excluded.b", LITE,
           SQL_WRITE, false);
    expect("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", LITE, SQL_WRITE, false);
    expect("DELETE FROM t RETURNING *", LITE, SQL_WRITE, false);
    /* SQLite: @x is a named parameter, not a user variable. */
    expect("INSERT INTO t VALUES (@x, :y, $z)", LITE, SQL_WRITE, false);
}
END_TEST

START_TEST(test_ddl)
{
    static const char *const ddl[] = {
        "CREATE TABLE t (a INT PRIMARY KEY)", "create table if not exists t (a int)",
        "ALTER TABLE t ADD COLUMN b INT", "DROP TABLE t", "DROP TABLE IF EXISTS t, u",
        "RENAME TABLE t TO u", "TRUNCATE TABLE t", "TRUNCATE t",
        "GRANT SELECT ON db.* TO 'u'@'%'", "REVOKE ALL ON *.* FROM u@localhost",
        "CREATE USER 'u'@'h' IDENTIFIED BY 'pw'", "DROP USER u@h", "ALTER USER u@h ACCOUNT LOCK",
        "RENAME USER a@h TO b@h", "CREATE ROLE r", "ANALYZE TABLE t", "ANALYZE LOCAL TABLE t",
        "OPTIMIZE TABLE t", "REPAIR TABLE t", "CREATE INDEX i ON t (a)",
        "CREATE UNIQUE INDEX i ON t (a)", "DROP INDEX i ON t", "CREATE DATABASE d",
        "CREATE TABLE t2 AS SELECT * FROM t", "SET PASSWORD FOR u@h = 'x'",
        "SET DEFAULT ROLE r TO u@h", "INSTALL PLUGIN p SONAME 'p.so'",
        "CREATE TABLE temporary (a int)", "CREATE TABLE t (`temporary` int)",
        "CREATE DEFINER = `root`@`localhost` VIEW v AS SELECT 1",
        "CREATE DEFINER=root@localhost PROCEDURE p() BEGIN SELECT 1; SELECT 2; END",
        "CREATE DEFINER='a'@'b' TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
        "CREATE DEFINER=CURRENT_USER FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1",
        "CREATE DEFINER = 'a' @ 'b' EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM t",
        "CREATE OR REPLACE ALGORITHM=MERGE DEFINER=u@h SQL SECURITY INVOKER VIEW v AS SELECT 1",
        "/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=`root`@`localhost` SQL "
        "SECURITY DEFINER */ /*!50001 VIEW `v` AS select 1 AS `a` */",
        "CREATE FUNCTION udf RETURNS STRING SONAME 'udf.so'",
        "ALTER DEFINER=u@h VIEW v AS SELECT 2", "ALTER PROCEDURE p COMMENT 'x'",
    };
    for (size_t i = 0; i < sizeof ddl / sizeof ddl[0]; i++)
        expect(ddl[i], MY, SQL_DDL, false);
    expect("CREATE TABLE t (a)", LITE, SQL_DDL, false);
    expect("CREATE VIEW v AS SELECT 1", LITE, SQL_DDL, false);
    expect("CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); "
           "UPDATE u SET a = CASE WHEN a > 1 THEN 1 ELSE 2 END; END",
           LITE, SQL_DDL, false);
    expect("ANALYZE", LITE, SQL_DDL, false);
    expect("REINDEX t", LITE, SQL_DDL, false);
    expect("CREATE VIRTUAL TABLE f USING fts5(x)", LITE, SQL_DDL, false);
}
END_TEST

START_TEST(test_routine_bodies_are_one_statement)
{
    struct sql_info i;
    i = classify("CREATE DEFINER=u@h PROCEDURE p() BEGIN DECLARE x INT; "
                 "lbl: LOOP IF x > 1 THEN LEAVE lbl; END IF; SET x = x + 1; END LOOP lbl; "
                 "CASE x WHEN 1 THEN SELECT 1; ELSE SELECT 2; END CASE; "
                 "SELECT CASE WHEN x THEN 1 END; WHILE x < 3 DO SET x = x + 1; END WHILE; END",
                 MY);
    ck_assert_int_eq(i.kind, SQL_DDL);
    ck_assert(!i.multi);
    ck_assert_ptr_null(i.refusal);
    /* ...but what follows the body's END is another statement. */
    i = classify("CREATE DEFINER=u@h PROCEDURE p() BEGIN SELECT 1; END; DROP TABLE t", MY);
    ck_assert(i.multi);
    ck_assert_int_eq(i.kind, SQL_REFUSED);
    i = classify("CREATE DEFINER=u@h FUNCTION f() RETURNS INT RETURN CASE WHEN 1 THEN 2 END; "
                 "DROP TABLE t", MY);
    ck_assert(i.multi);
    i = classify("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; SELECT 2", LITE);
    ck_assert(i.multi);
}
END_TEST

START_TEST(test_transactions)
{
    struct sql_info i;
    expect("BEGIN", MY, SQL_BEGIN, false);
    expect("begin work", MY, SQL_BEGIN, false);
    expect("BEGIN DEFERRED", LITE, SQL_BEGIN, false);
    expect("BEGIN IMMEDIATE TRANSACTION", LITE, SQL_BEGIN, false);
    expect("BEGIN EXCLUSIVE", LITE, SQL_BEGIN, false);
    i = classify("START TRANSACTION", MY);
    ck_assert_int_eq(i.kind, SQL_BEGIN);
    ck_assert(!i.read_only && !i.read_write);
    ck_assert_int_eq(i.isolation, SQL_ISO_NONE);
    i = classify("START TRANSACTION READ ONLY", MY);
    ck_assert(i.kind == SQL_BEGIN && i.read_only && !i.read_write);
    i = classify("start transaction with consistent snapshot, read write", MY);
    ck_assert(i.kind == SQL_BEGIN && !i.read_only && i.read_write);
    expect("COMMIT", MY, SQL_COMMIT, false);
    expect("COMMIT WORK", MY, SQL_COMMIT, false);
    expect("COMMIT AND NO CHAIN", MY, SQL_COMMIT, false);
    expect("COMMIT WORK AND NO CHAIN NO RELEASE", MY, SQL_COMMIT, false);
    expect_refused("COMMIT AND CHAIN", MY, SQL_REFUSED, "CHAIN");
    expect_refused("COMMIT RELEASE", MY, SQL_REFUSED, "RELEASE");
    expect_refused("ROLLBACK AND CHAIN", MY, SQL_REFUSED, "CHAIN");
    expect("END", LITE, SQL_COMMIT, false);
    expect("END TRANSACTION", LITE, SQL_COMMIT, false);
    expect("COMMIT TRANSACTION", LITE, SQL_COMMIT, false);
    expect("END", MY, SQL_OTHER, false);
    expect("ROLLBACK", MY, SQL_ROLLBACK, false);
    expect("ROLLBACK WORK", MY, SQL_ROLLBACK, false);
    expect("ROLLBACK TRANSACTION", LITE, SQL_ROLLBACK, false);
    expect_refused("BEGIN NOT ATOMIC SELECT 1; END", MY, SQL_REFUSED, "compound");
}
END_TEST

static void expect_name(const char *sql, enum sql_dialect d, enum sql_kind kind,
                        const char *name)
{
    struct sql_info i = classify(sql, d);
    ck_assert_msg(i.kind == kind, "%s: kind %s", sql, sqlclass_kind_name(i.kind));
    ck_assert_msg(strcmp(i.name, name) == 0, "%s: name '%s', expected '%s'", sql, i.name,
                  name);
    ck_assert_ptr_null(i.refusal);
}

START_TEST(test_savepoints_and_names)
{
    expect_name("SAVEPOINT sp1", MY, SQL_SAVEPOINT, "sp1");
    expect_name("savepoint `my sp`", MY, SQL_SAVEPOINT, "my sp");
    expect_name("SAVEPOINT `a``b`", MY, SQL_SAVEPOINT, "a`b");
    expect_name("SAVEPOINT \"q\"", LITE, SQL_SAVEPOINT, "q");
    expect_name("SAVEPOINT [br]", LITE, SQL_SAVEPOINT, "br");
    expect_name("ROLLBACK TO sp1", MY, SQL_ROLLBACK_TO, "sp1");
    expect_name("ROLLBACK WORK TO SAVEPOINT sp1", MY, SQL_ROLLBACK_TO, "sp1");
    expect_name("rollback to savepoint `x y`", MY, SQL_ROLLBACK_TO, "x y");
    expect_name("ROLLBACK TRANSACTION TO SAVEPOINT s", LITE, SQL_ROLLBACK_TO, "s");
    expect_name("RELEASE SAVEPOINT sp1", MY, SQL_RELEASE, "sp1");
    expect_name("RELEASE s", LITE, SQL_RELEASE, "s");
    expect_name("USE db1", MY, SQL_USE, "db1");
    expect_name("use `my-db`", MY, SQL_USE, "my-db");
    expect_name("USE /* c */ `d`;", MY, SQL_USE, "d");
    expect_name("SAVEPOINT", MY, SQL_SAVEPOINT, "");
    /* 64 bytes fit; 65 do not. */
    char sql[128];
    snprintf(sql, sizeof sql, "SAVEPOINT %s", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    expect(sql, MY, SQL_SAVEPOINT, false);
    ck_assert_uint_eq(strlen(classify(sql, MY).name), 64);
    snprintf(sql, sizeof sql, "USE `%s`", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    expect_refused(sql, MY, SQL_REFUSED, "64 bytes");
    struct sql_info i = CLASSIFY_LIT("SAVEPOINT `a\0b`", MY);
    ck_assert_int_eq(i.kind, SQL_REFUSED);
    ck_assert_ptr_nonnull(strstr(i.refusal, "NUL"));
}
END_TEST

START_TEST(test_set_autocommit)
{
    static const struct { const char *sql; int value; } cases[] = {
        {"SET autocommit=0", 0}, {"SET autocommit = 1", 1}, {"set AUTOCOMMIT = OFF", 0},
        {"SET autocommit=ON", 1}, {"SET @@autocommit = OFF", 0},
        {"SET SESSION autocommit=1", 1}, {"SET LOCAL autocommit = 0", 0},
        {"SET @@session.autocommit = 0", 0}, {"SET @@SESSION.AUTOCOMMIT=true", 1},
        {"SET @@local.autocommit=false", 0}, {"SET autocommit := 0", 0},
        {"SET autocommit='OFF'", 0}, {"SET autocommit = DEFAULT", 1},
        {"/*!40101 SET autocommit=0 */", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sql_info info = classify(cases[i].sql, MY);
        ck_assert_msg(info.kind == SQL_SET_AUTOCOMMIT, "%s: %s", cases[i].sql,
                      sqlclass_kind_name(info.kind));
        ck_assert_msg(info.autocommit == cases[i].value, "%s: autocommit %d", cases[i].sql,
                      info.autocommit);
        ck_assert_ptr_null(info.refusal);
    }
    expect_refused("SET autocommit = @x", MY, SQL_REFUSED, "literal");
    expect_refused("SET autocommit = 1 + 1", MY, SQL_REFUSED, "literal");
    expect_refused("SET autocommit = 2", MY, SQL_REFUSED, "literal");
    expect_refused("SET GLOBAL autocommit = 0", MY, SQL_REFUSED, "GLOBAL");
    expect_refused("SET @@global.autocommit = 0", MY, SQL_REFUSED, "GLOBAL");
    expect_refused("SET autocommit = 0, sql_mode = ''", MY, SQL_REFUSED, "own");
}
END_TEST

START_TEST(test_set_transaction)
{
    struct sql_info i;
    i = classify("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", MY);
    ck_assert_int_eq(i.kind, SQL_SET_TRANSACTION);
    ck_assert_int_eq(i.isolation, SQL_ISO_SERIALIZABLE);
    ck_assert(!i.session_scope);
    ck_assert_ptr_null(i.refusal);
    i = classify("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", MY);
    ck_assert_int_eq(i.kind, SQL_SET_TRANSACTION);
    ck_assert_int_eq(i.isolation, SQL_ISO_REPEATABLE_READ);
    ck_assert(i.session_scope && i.read_only);
    i = classify("SET TRANSACTION READ WRITE", MY);
    ck_assert(i.kind == SQL_SET_TRANSACTION && i.read_write && !i.read_only);
    ck_assert_int_eq(i.isolation, SQL_ISO_NONE);
    /* Below REPEATABLE READ: the kind and level are reported, and refused. */
    i = classify("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", MY);
    ck_assert_int_eq(i.kind, SQL_SET_TRANSACTION);
    ck_assert_int_eq(i.isolation, SQL_ISO_READ_COMMITTED);
    ck_assert_ptr_nonnull(i.refusal);
    ck_assert_ptr_nonnull(strstr(i.refusal, "REPEATABLE READ"));
    i = classify("set session transaction isolation level read uncommitted", MY);
    ck_assert_int_eq(i.isolation, SQL_ISO_READ_UNCOMMITTED);
    ck_assert_ptr_nonnull(i.refusal);
    /* The variable spellings. */
    i = classify("SET transaction_isolation = 'READ-COMMITTED'", MY);
    ck_assert(i.kind == SQL_SET_TRANSACTION && i.session_scope);
    ck_assert_int_eq(i.isolation, SQL_ISO_READ_COMMITTED);
    ck_assert_ptr_nonnull(i.refusal);
    i = classify("SET @@transaction_isolation = 'SERIALIZABLE'", MY);
    ck_assert(i.kind == SQL_SET_TRANSACTION && !i.session_scope);
    ck_assert_int_eq(i.isolation, SQL_ISO_SERIALIZABLE);
    i = classify("SET SESSION tx_isolation = 'repeatable-read'", MY);
    ck_assert(i.kind == SQL_SET_TRANSACTION && i.session_scope);
    ck_assert_int_eq(i.isolation, SQL_ISO_REPEATABLE_READ);
    ck_assert_ptr_null(i.refusal);
    i = classify("SET @@session.transaction_read_only = ON", MY);
    ck_assert(i.kind == SQL_SET_TRANSACTION && i.read_only && i.session_scope);
    i = classify("SET transaction_read_only = 0", MY);
    ck_assert(i.kind == SQL_SET_TRANSACTION && !i.read_only && i.read_write);
    expect_refused("SET transaction_isolation = @lvl", MY, SQL_REFUSED, "literal");
    expect_refused("SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE", MY, SQL_REFUSED,
                   "GLOBAL");
    expect_refused("SET transaction_isolation = 'SERIALIZABLE', sql_mode = ''", MY,
                   SQL_REFUSED, "own");
}
END_TEST

START_TEST(test_other_set)
{
    expect("SET NAMES utf8mb4", MY, SQL_SET, false);
    expect("SET NAMES 'utf8mb4' COLLATE 'utf8mb4_bin'", MY, SQL_SET, false);
    expect("SET CHARACTER SET utf8", MY, SQL_SET, false);
    expect("SET sql_mode = 'STRICT_ALL_TABLES', time_zone = '+00:00'", MY, SQL_SET, false);
    expect("SET @x = 1", MY, SQL_SET, false);
    expect("SET @x := (SELECT COUNT(*) FROM t), @y = f(1, 2)", MY, SQL_SET, false);
    expect("SET @@session.sql_mode = ''", MY, SQL_SET, false);
    expect("SET ROLE r", MY, SQL_SET, false);
    expect("/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */", MY, SQL_SET,
           false);
    expect_refused("SET GLOBAL max_connections = 10", MY, SQL_REFUSED, "GLOBAL");
    expect_refused("SET PERSIST sql_mode = ''", MY, SQL_REFUSED, "GLOBAL");
    expect_refused("SET @@global.sql_mode = ''", MY, SQL_REFUSED, "GLOBAL");
    expect_refused("SET x = 1, @@persist_only.y = 2", MY, SQL_REFUSED, "GLOBAL");
    /* MariaDB SET STATEMENT ... FOR: the inner statement decides. */
    expect("SET STATEMENT max_statement_time = 10 FOR SELECT * FROM t", MY, SQL_READ, false);
    expect("SET STATEMENT sql_mode = '' FOR INSERT INTO t VALUES (1)", MY, SQL_WRITE, false);
    expect_refused("SET STATEMENT x = @v FOR INSERT INTO t VALUES (1)", MY, SQL_WRITE, "@name");
}
END_TEST

START_TEST(test_refusals)
{
    expect_refused("CALL p(1)", MY, SQL_REFUSED, "CALL");
    expect_refused("LOAD DATA INFILE '/tmp/x' INTO TABLE t", MY, SQL_REFUSED, "LOAD DATA");
    expect_refused("LOAD DATA LOCAL INFILE 'x' INTO TABLE t", MY, SQL_REFUSED, "LOAD DATA");
    expect_refused("LOAD XML INFILE 'x' INTO TABLE t", MY, SQL_REFUSED, "LOAD");
    expect_refused("SELECT * FROM t INTO OUTFILE '/tmp/x'", MY, SQL_REFUSED, "OUTFILE");
    expect_refused("SELECT * INTO DUMPFILE '/tmp/x' FROM t", MY, SQL_REFUSED, "DUMPFILE");
    expect_refused("SELECT a INTO @v FROM t", MY, SQL_REFUSED, "@variable");
    expect_refused("SELECT a, b FROM t INTO @v, @w", MY, SQL_REFUSED, "@variable");
    expect_refused("LOCK TABLES t WRITE", MY, SQL_REFUSED, "LOCK TABLES");
    expect_refused("lock table t read", MY, SQL_REFUSED, "LOCK TABLES");
    expect_refused("UNLOCK TABLES", MY, SQL_REFUSED, "UNLOCK");
    expect_refused("HANDLER t OPEN", MY, SQL_REFUSED, "HANDLER");
    expect_refused("SELECT GET_LOCK('x', 10)", MY, SQL_REFUSED, "GET_LOCK");
    expect_refused("SELECT release_lock ('x')", MY, SQL_REFUSED, "RELEASE_LOCK");
    expect_refused("DO IS_FREE_LOCK('x')", MY, SQL_REFUSED, "IS_FREE_LOCK");
    expect_refused("UPDATE t SET a = GET_LOCK('x', 1)", MY, SQL_WRITE, "GET_LOCK");
    expect("SELECT get_lock FROM t", MY, SQL_READ, false); /* a column, not the function */
    expect_refused("CREATE TEMPORARY TABLE t (a INT)", MY, SQL_DDL, "temporary");
    expect_refused("DROP TEMPORARY TABLE t", MY, SQL_DDL, "temporary");
    expect_refused("CREATE TEMP TABLE t (a)", LITE, SQL_DDL, "temporary");
    expect_refused("CREATE TEMPORARY VIEW v AS SELECT 1", LITE, SQL_DDL, "temporary");
    expect_refused("INSERT INTO t VALUES (@x)", MY, SQL_WRITE, "@name");
    expect_refused("UPDATE t SET a = @`quoted var`", MY, SQL_WRITE, "@name");
    expect_refused("UPDATE t SET a = @ x", MY, SQL_WRITE, "@name");
    expect_refused("DELETE FROM t WHERE id = @'id'", MY, SQL_WRITE, "@name");
    expect_refused("INSERT INTO t SELECT @x := @x + 1 FROM u", MY, SQL_WRITE, "@name");
    expect_refused("CREATE TABLE t AS SELECT @x AS a", MY, SQL_DDL, "@name");
    expect("INSERT INTO t VALUES (@@session.sql_mode)", MY, SQL_WRITE, false);
    expect_refused("DELETE FROM t WHERE id IN (SELECT id FROM t FOR UPDATE SKIP LOCKED)", MY,
                   SQL_WRITE, "SKIP LOCKED");
    expect_refused("UPDATE t SET a = 1 WHERE id = (SELECT id FROM u FOR UPDATE NOWAIT)", MY,
                   SQL_WRITE, "NOWAIT");
    expect_refused("ALTER TABLE t NOWAIT ADD COLUMN c INT", MY, SQL_DDL, "NOWAIT");
    expect_refused("CREATE VIEW v AS SELECT 1", MY, SQL_DDL, "DEFINER");
    expect_refused("CREATE OR REPLACE VIEW v AS SELECT definer FROM t", MY, SQL_DDL, "DEFINER");
    expect_refused("CREATE SQL SECURITY DEFINER VIEW v AS SELECT 1", MY, SQL_DDL, "DEFINER");
    expect_refused("CREATE PROCEDURE p() BEGIN SELECT 1; END", MY, SQL_DDL, "DEFINER");
    expect_refused("CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1", MY, SQL_DDL,
                   "DEFINER");
    expect_refused("CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1", MY,
                   SQL_DDL, "DEFINER");
    expect_refused("CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO DELETE FROM t", MY, SQL_DDL,
                   "DEFINER");
    expect_refused("ALTER VIEW v AS SELECT 2", MY, SQL_DDL, "DEFINER");
    /* ALTER EVENT makes whoever runs it the definer unless DEFINER is given. */
    expect_refused("ALTER EVENT e ON SCHEDULE EVERY 2 HOUR", MY, SQL_DDL, "DEFINER");
    expect("ALTER DEFINER = u@h EVENT e DISABLE", MY, SQL_DDL, false);
    expect_refused("CREATE DEFINER=u@h TRIGGER tr BEFORE INSERT ON t FOR EACH ROW "
                   "SET NEW.a = @counter", MY, SQL_DDL, "@name");
    expect_refused("PREPARE s FROM 'DELETE FROM t'", MY, SQL_REFUSED, "PREPARE");
    expect_refused("EXECUTE s USING @a", MY, SQL_REFUSED, "PREPARE");
    expect_refused("DEALLOCATE PREPARE s", MY, SQL_REFUSED, "PREPARE");
    expect_refused("DROP PREPARE s", MY, SQL_REFUSED, "PREPARE");
    expect_refused("XA START 'x'", MY, SQL_REFUSED, "XA");
    expect_refused("EXPLAIN ANALYZE DELETE FROM t", MY, SQL_REFUSED, "ANALYZE");
    expect_refused("ANALYZE UPDATE t SET a = 1", MY, SQL_REFUSED, "ANALYZE");
    expect_refused("FLUSH TABLES WITH READ LOCK", MY, SQL_REFUSED, "READ LOCK");
    expect("FLUSH PRIVILEGES", MY, SQL_OTHER, false);
    expect_refused("ATTACH DATABASE 'x.db' AS x", LITE, SQL_REFUSED, "ATTACH");
    expect_refused("DETACH x", LITE, SQL_REFUSED, "DETACH");
    expect_refused("VACUUM", LITE, SQL_REFUSED, "VACUUM");
    expect_refused("VACUUM INTO '/tmp/x'", LITE, SQL_REFUSED, "VACUUM");
    expect_refused("PRAGMA foreign_keys = ON", LITE, SQL_REFUSED, "PRAGMA");
    expect_refused("PRAGMA main.journal_mode=WAL", LITE, SQL_REFUSED, "PRAGMA");
    expect_refused("PRAGMA user_version(5)", LITE, SQL_REFUSED, "PRAGMA");
    expect_refused("PRAGMA optimize", LITE, SQL_REFUSED, "PRAGMA");
    /* Account names are not user variables. */
    expect("GRANT SELECT ON *.* TO u@localhost", MY, SQL_DDL, false);
    expect("CREATE USER 'a' @ 'b'", MY, SQL_DDL, false);
    expect("SHOW GRANTS FOR u@h", MY, SQL_READ, false);
}
END_TEST

START_TEST(test_multi_statements)
{
    struct sql_info i;
    i = classify("SELECT 1; SELECT 2", MY);
    ck_assert(i.multi && i.kind == SQL_READ && !i.refusal);
    i = classify("SELECT 1; SELECT * FROM t FOR UPDATE;", MY);
    ck_assert(i.multi && i.kind == SQL_LOCKING_READ);
    i = classify("SELECT 1;", MY);
    ck_assert(!i.multi && i.kind == SQL_READ);
    i = classify("SELECT 1; -- trailing comment\n ; ;", MY);
    ck_assert(!i.multi && i.kind == SQL_READ);
    i = classify("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)", MY);
    ck_assert(i.multi && i.kind == SQL_REFUSED && i.refusal);
    ck_assert_ptr_nonnull(strstr(i.refusal, "multi-statement"));
    i = classify("SELECT 1; DROP TABLE t", MY);
    ck_assert(i.multi && i.kind == SQL_REFUSED);
    i = classify("SET autocommit = 0; SELECT 1", MY);
    ck_assert(i.multi && i.kind == SQL_REFUSED);
    /* The first specific refusal wins over the generic one. */
    i = classify("SELECT 1; CALL p()", MY);
    ck_assert(i.multi && i.kind == SQL_REFUSED);
    ck_assert_ptr_nonnull(strstr(i.refusal, "CALL"));
    /* Semicolons in strings, comments, identifiers do not split. */
    i = classify("SELECT ';', `;`, \";\" /* ; */ -- ;\n", MY);
    ck_assert(!i.multi && i.kind == SQL_READ);
    /* ...but a ';' in an executable comment does. */
    i = classify("SELECT 1 /*!50000 ; DELETE FROM t */", MY);
    ck_assert(i.multi && i.kind == SQL_REFUSED);
    /* SQLite: '#' is not a comment, "x" is an identifier. */
    i = classify("SELECT \"a;b\" FROM t", LITE);
    ck_assert(!i.multi);
}
END_TEST

START_TEST(test_placeholders)
{
    ck_assert_int_eq(classify("SELECT ?", MY).nparams, 1);
    ck_assert_int_eq(classify("INSERT INTO t VALUES (?, ?, '?', \"?\", `?`) /* ? */ -- ?\n",
                              MY).nparams, 2);
    ck_assert_int_eq(classify("SELECT 1 # ?\n, ?", MY).nparams, 1);
    ck_assert_int_eq(classify("SELECT ? /*!50000 , ? */", MY).nparams, 2);
    ck_assert_int_eq(classify("SELECT 'it''s ?', 'a\\'?', ?", MY).nparams, 1);
    ck_assert_int_eq(classify("SELECT ?; SELECT ?", MY).nparams, 2);
    ck_assert_int_eq(classify("SELECT 1", MY).nparams, 0);
    /* SQLite numbers: ?NNN and the next number after the highest. */
    ck_assert_int_eq(classify("SELECT ?, ?", LITE).nparams, 2);
    ck_assert_int_eq(classify("SELECT ?3, ?1", LITE).nparams, 3);
    ck_assert_int_eq(classify("SELECT ?2, ?", LITE).nparams, 3);
    ck_assert_int_eq(classify("SELECT 'a\\', ?", LITE).nparams, 1); /* no backslash escapes */
    ck_assert_int_eq(classify("SELECT # ?", LITE).nparams, 1);      /* '#' is no comment */
    ck_assert_int_eq(classify("SELECT [?], ?", LITE).nparams, 1);
}
END_TEST

START_TEST(test_empty_and_other)
{
    expect("", MY, SQL_EMPTY, false);
    expect("   \n\t ", MY, SQL_EMPTY, false);
    expect("/* only a comment */", MY, SQL_EMPTY, false);
    expect("-- x", MY, SQL_EMPTY, false);
    expect(";;;", MY, SQL_EMPTY, false);
    expect("KILL 5", MY, SQL_OTHER, false);
    expect("START SLAVE", MY, SQL_OTHER, false);
    expect("( DELETE FROM t )", MY, SQL_OTHER, false);
    expect("WITH a AS (SELECT 1)", MY, SQL_OTHER, false);
    expect("frobnicate the database", MY, SQL_OTHER, false);
    expect("PRAGMA x = 1", MY, SQL_OTHER, false); /* not MySQL: the backend decides */
    struct sql_info i;
    ck_assert_int_eq(sqlclass(NULL, 0, MY, &i), SQL_EMPTY);
}
END_TEST

START_TEST(test_hostile_text)
{
    /* Unterminated quotes and comments: classify what is there. */
    expect("SELECT 'abc", MY, SQL_READ, false);
    expect("SELECT \"abc\\", MY, SQL_READ, false);
    expect("SELECT `abc", MY, SQL_READ, false);
    expect("SELECT 1 /* never closed", MY, SQL_READ, false);
    expect("SELECT 1 /*! never closed", MY, SQL_READ, false);
    expect("SELECT 1 /*M!100100", MY, SQL_READ, false);
    expect("SELECT [abc", LITE, SQL_READ, false);
    expect("INSERT INTO t VALUES ('x", MY, SQL_WRITE, false);
    expect("UPDATE t SET a = '; DROP TABLE t; --", MY, SQL_WRITE, false);
    expect("SELECT 1 -", MY, SQL_READ, false);
    expect("SELECT 1 --", MY, SQL_READ, false);
    expect("SELECT @", MY, SQL_READ, false);
    expect("SELECT @@", MY, SQL_READ, false);
    expect("SELECT ?", LITE, SQL_READ, false);
    expect("SELECT 1 --x", MY, SQL_READ, false); /* MySQL: "--x" is not a comment */
    /* NUL bytes: outside literals refused, inside literals fine. */
    struct sql_info i = CLASSIFY_LIT("SELECT 1\0; DROP TABLE t", MY);
    ck_assert_int_eq(i.kind, SQL_REFUSED);
    i = CLASSIFY_LIT("SELECT\0 1", MY);
    ck_assert_int_eq(i.kind, SQL_REFUSED);
    ck_assert_ptr_nonnull(strstr(i.refusal, "NUL"));
    i = CLASSIFY_LIT("\0", MY);
    ck_assert_int_eq(i.kind, SQL_REFUSED);
    i = CLASSIFY_LIT("SELECT 'a\0b'", MY);
    ck_assert_int_eq(i.kind, SQL_READ);
    ck_assert_ptr_null(i.refusal);
    /* Only the first len bytes count. */
    i = classify_n("SELECT 1; DROP TABLE t", 8, MY);
    ck_assert(i.kind == SQL_READ && !i.multi);
    i = classify_n("UPDATE", 3, MY);
    ck_assert_int_eq(i.kind, SQL_OTHER);
    /* Keyword-like identifiers and prefixes. */
    expect("SELECTX 1", MY, SQL_OTHER, false);
    expect("`SELECT` 1", MY, SQL_OTHER, false);
    expect("INSERTED", MY, SQL_OTHER, false);
    expect("x'53454c454354'", MY, SQL_OTHER, false);
    /* Deep parentheses before the keyword. */
    char deep[300];
    memset(deep, '(', 100);
    strcpy(deep + 100, "SELECT 1");
    expect(deep, MY, SQL_OTHER, false); /* beyond what we look at: not called a read */
    memset(deep, '(', 10);
    strcpy(deep + 10, "SELECT 1");
    expect(deep, MY, SQL_READ, false);
}
END_TEST

START_TEST(test_large_inputs_are_linear)
{
    size_t n = 1 << 20;
    char *big = malloc(n + 64);
    struct timespec t0, t1;
    ck_assert_ptr_nonnull(big);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* 1 MB of blanks, then a statement. */
    memset(big, ' ', n);
    memcpy(big + n, "DELETE FROM t", 13);
    ck_assert_int_eq(classify_n(big, n + 13, MY).kind, SQL_WRITE);
    /* 1 MB of blanks alone. */
    ck_assert_int_eq(classify_n(big, n, LITE).kind, SQL_EMPTY);
    /* 1 MB of "a;" statements (multi). */
    for (size_t i = 0; i < n; i += 2)
        big[i] = 'a', big[i + 1] = ';';
    ck_assert_int_eq(classify_n(big, n, MY).kind, SQL_REFUSED);
    /* 1 MB of one long SELECT list with placeholders. */
    memcpy(big, "SELECT ", 7);
    for (size_t i = 7; i + 2 <= n; i += 2)
        big[i] = '?', big[i + 1] = ',';
    big[n - 1] = '?';
    struct sql_info info = classify_n(big, n, MY);
    ck_assert_int_eq(info.kind, SQL_READ);
    ck_assert_int_gt(info.nparams, 500000);
    /* 1 MB of nested routine blocks. */
    memcpy(big, "CREATE DEFINER=u@h PROCEDURE p() ", 33);
    for (size_t i = 33; i + 6 <= n; i += 6)
        memcpy(big + i, "BEGIN ", 6);
    ck_assert_int_eq(classify_n(big, n, MY).kind, SQL_DDL);
    /* 1 MB of '/' '*' '!' runs and quotes. */
    for (size_t i = 0; i < n; i++)
        big[i] = "/*!'\"`#-\\;?@"[i % 12];
    (void)classify_n(big, n, MY);
    (void)classify_n(big, n, LITE);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("# 7 classifications of ~1 MB took %.3f s\n", secs);
    free(big);
    /* Linear work takes milliseconds (seconds under valgrind); anything
     * quadratic in 1 MB would take hours. */
    ck_assert_msg(secs < 30.0, "classifying 7 MB took %.3f s", secs);
}
END_TEST

START_TEST(test_random_bytes)
{
    uint64_t seed = testhelp_seed("sqlclass random bytes");
    char buf[512];
    static const char alphabet[] =
        "SELECT INSERT UPDATE FOR SET autocommit=0 ;'\"`#--/*!*/?@@x()[]\\\0\n BEGIN END "
        "CASE CREATE PROCEDURE DEFINER INTO OUTFILE GET_LOCK( WITH";
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = testhelp_rand(&seed) % sizeof buf;
        bool text = iter % 2;
        for (size_t i = 0; i < len; i++) {
            uint64_t r = testhelp_rand(&seed);
            buf[i] = text ? alphabet[r % (sizeof alphabet - 1)] : (char)r;
        }
        for (int d = 0; d < 2; d++) {
            struct sql_info i = classify_n(buf, len, d ? LITE : MY);
            ck_assert_int_ge(i.kind, SQL_EMPTY);
            ck_assert_int_le(i.kind, SQL_OTHER);
            ck_assert_int_ge(i.nparams, 0);
            ck_assert_uint_le(strlen(i.name), 64);
            if (i.kind == SQL_REFUSED)
                ck_assert_ptr_nonnull(i.refusal);
        }
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sqlclass");
    TCase *tc = tcase_create("sqlclass");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_keyword_table);
    tcase_add_test(tc, test_reads);
    tcase_add_test(tc, test_locking_reads);
    tcase_add_test(tc, test_writes);
    tcase_add_test(tc, test_ddl);
    tcase_add_test(tc, test_routine_bodies_are_one_statement);
    tcase_add_test(tc, test_transactions);
    tcase_add_test(tc, test_savepoints_and_names);
    tcase_add_test(tc, test_set_autocommit);
    tcase_add_test(tc, test_set_transaction);
    tcase_add_test(tc, test_other_set);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_multi_statements);
    tcase_add_test(tc, test_placeholders);
    tcase_add_test(tc, test_empty_and_other);
    tcase_add_test(tc, test_hostile_text);
    tcase_add_test(tc, test_large_inputs_are_linear);
    tcase_add_test(tc, test_random_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
