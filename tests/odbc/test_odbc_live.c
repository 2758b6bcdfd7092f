/* ODBC integration test in C: through unixODBC's driver manager (libodbc)
 * against a live Recall cluster, as tests/odbc/live.sh sets it up (DSN
 * $RECALL_TEST_DSN, backend $RECALL_TEST_BACKEND).  Covers connecting
 * (SQLConnect, SQLDriverConnect and its completed string, failures), SQLGetInfo,
 * typed parameters of many C types, parameter arrays with status arrays and
 * a failing row, row arrays column- and row-wise, SQLSetPos, data at
 * execution, partial SQLGetData, escapes, catalog functions, transactions,
 * isolation and access mode, diagnostics, statements interleaved on one
 * connection, query timeout and SQLCancel, SQLMoreResults over parameter
 * sets, an ODBC 2 application and the W entry points. */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sql.h>
#include <sqlext.h>
#include <sqlucode.h>

#include "testhelp.h"

static SQLHENV henv;
static SQLHDBC hdbc;
static SQLHSTMT hst;
static bool maria;
static char dsn[64];
static char tbl[64]; /* per-test table name */
static int tcount;

/* Print every diagnostic record of a handle as TAP comments. */
static void dump(SQLSMALLINT type, SQLHANDLE h)
{
    SQLCHAR state[6], msg[512];
    SQLINTEGER native;
    SQLSMALLINT len;
    for (SQLSMALLINT i = 1; SQLGetDiagRec(type, h, i, state, &native, msg, sizeof msg, &len) == SQL_SUCCESS; i++)
        printf("# diag %d: %s %d %s\n", i, state, (int)native, msg), fflush(stdout);
}

#define OK(rc, type, h)                                                       \
    do {                                                                      \
        SQLRETURN rc_ = (rc);                                                 \
        if (!SQL_SUCCEEDED(rc_))                                              \
            dump(type, h);                                                    \
        ck_assert_msg(SQL_SUCCEEDED(rc_), "%s returned %d", #rc, (int)rc_);   \
    } while (0)
#define SOK(rc) OK(rc, SQL_HANDLE_STMT, hst)

static void state_of(SQLSMALLINT type, SQLHANDLE h, int rec, char *state)
{
    SQLINTEGER native;
    SQLSMALLINT len;
    state[0] = 0;
    SQLGetDiagRec(type, h, (SQLSMALLINT)rec, (SQLCHAR *)state, &native, NULL, 0, &len);
}

static void exec(const char *sql)
{
    SOK(SQLExecDirect(hst, (SQLCHAR *)sql, SQL_NTS));
    SQLFreeStmt(hst, SQL_CLOSE);
}

static void execf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void execf(const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    exec(sql);
}

static long scalar(const char *sql)
{
    SQLINTEGER v = -1;
    SQLLEN ind;
    SOK(SQLExecDirect(hst, (SQLCHAR *)sql, SQL_NTS));
    SOK(SQLFetch(hst));
    SOK(SQLGetData(hst, 1, SQL_C_SLONG, &v, 0, &ind));
    SQLFreeStmt(hst, SQL_CLOSE);
    return v;
}

static const char *engine(void)
{
    return maria ? " ENGINE=InnoDB" : "";
}

static void connect_to(SQLHDBC *out)
{
    char in[128];
    SQLCHAR outstr[1024];
    SQLSMALLINT outlen;
    ck_assert_int_eq(SQLAllocHandle(SQL_HANDLE_DBC, henv, out), SQL_SUCCESS);
    snprintf(in, sizeof in, "DSN=%s", dsn);
    OK(SQLDriverConnect(*out, NULL, (SQLCHAR *)in, SQL_NTS, outstr, sizeof outstr, &outlen,
                        SQL_DRIVER_NOPROMPT), SQL_HANDLE_DBC, *out);
}

static void setup(void)
{
    const char *b = getenv("RECALL_TEST_BACKEND");
    snprintf(dsn, sizeof dsn, "%s", getenv("RECALL_TEST_DSN") ? getenv("RECALL_TEST_DSN") : "recall_test");
    maria = b && strcmp(b, "mariadb") == 0;
    snprintf(tbl, sizeof tbl, "odbc_c_%d_%d", (int)getpid(), ++tcount);
    ck_assert_int_eq(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &henv), SQL_SUCCESS);
    ck_assert_int_eq(SQLSetEnvAttr(henv, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0), SQL_SUCCESS);
    connect_to(&hdbc);
    ck_assert_int_eq(SQLAllocHandle(SQL_HANDLE_STMT, hdbc, &hst), SQL_SUCCESS);
}

static void teardown(void)
{
    char sql[128];
    SQLFreeStmt(hst, SQL_CLOSE);
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", tbl);
    SQLExecDirect(hst, (SQLCHAR *)sql, SQL_NTS);
    SQLFreeHandle(SQL_HANDLE_STMT, hst);
    SQLDisconnect(hdbc);
    SQLFreeHandle(SQL_HANDLE_DBC, hdbc);
    SQLFreeHandle(SQL_HANDLE_ENV, henv);
}

/* ---------------------------------------------------------- connecting */

START_TEST(connect_variants)
{
    SQLHDBC c2;
    SQLCHAR out[1024], state[6], msg[512];
    SQLSMALLINT outlen, len;
    SQLINTEGER native;
    char in[256];
    /* SQLConnect with the DSN, user and password. */
    ck_assert_int_eq(SQLAllocHandle(SQL_HANDLE_DBC, henv, &c2), SQL_SUCCESS);
    OK(SQLConnect(c2, (SQLCHAR *)dsn, SQL_NTS, (SQLCHAR *)"app", SQL_NTS, (SQLCHAR *)"app", SQL_NTS),
       SQL_HANDLE_DBC, c2);
    SQLDisconnect(c2);
    /* Unknown keys are ignored; {} quoting; the completed string comes back. */
    snprintf(in, sizeof in, "DSN=%s;FooBar=1;PWD={app};UID=app", dsn);
    OK(SQLDriverConnect(c2, NULL, (SQLCHAR *)in, SQL_NTS, out, sizeof out, &outlen, SQL_DRIVER_NOPROMPT),
       SQL_HANDLE_DBC, c2);
    ck_assert_ptr_nonnull(strstr((char *)out, "DSN="));
    ck_assert_ptr_nonnull(strstr((char *)out, "REPLICAS="));
    ck_assert_ptr_null(strstr((char *)out, "FooBar"));
    ck_assert_int_eq(outlen, (SQLSMALLINT)strlen((char *)out));
    SQLDisconnect(c2);
    /* A short output buffer: 01004. */
    OK(SQLDriverConnect(c2, NULL, (SQLCHAR *)in, SQL_NTS, out, 8, &outlen, SQL_DRIVER_NOPROMPT),
       SQL_HANDLE_DBC, c2);
    ck_assert_int_gt(outlen, 7);
    SQLDisconnect(c2);
    /* DRIVER= without a DSN. */
    snprintf(in, sizeof in, "DRIVER={Recall};REPLICAS=%s;UID=app;PWD=app;DATABASE=app",
             getenv("RECALL_TEST_REPLICAS") ? getenv("RECALL_TEST_REPLICAS") : "");
    OK(SQLDriverConnect(c2, NULL, (SQLCHAR *)in, SQL_NTS, NULL, 0, NULL, SQL_DRIVER_NOPROMPT),
       SQL_HANDLE_DBC, c2);
    SQLDisconnect(c2);
    /* No replicas: 08001 with the driver's message. */
    ck_assert_int_eq(SQLDriverConnect(c2, NULL, (SQLCHAR *)"DRIVER={Recall};UID=x", SQL_NTS, NULL, 0, NULL,
                                      SQL_DRIVER_NOPROMPT), SQL_ERROR);
    SQLGetDiagRec(SQL_HANDLE_DBC, c2, 1, state, &native, msg, sizeof msg, &len);
    ck_assert_str_eq((char *)state, "08001");
    ck_assert_ptr_nonnull(strstr((char *)msg, "[Recall]"));
    /* Nothing listening. */
    ck_assert_int_eq(SQLDriverConnect(c2, NULL,
                                      (SQLCHAR *)"DRIVER={Recall};REPLICAS=127.0.0.1:1;CONNECT_TIMEOUT=1", SQL_NTS,
                                      NULL, 0, NULL, SQL_DRIVER_NOPROMPT), SQL_ERROR);
    SQLGetDiagRec(SQL_HANDLE_DBC, c2, 1, state, &native, msg, sizeof msg, &len);
    ck_assert_msg(state[0] == '0' && state[1] == '8', "state %s", state);
    ck_assert_ptr_nonnull(strstr((char *)msg, "[Recall]"));
    SQLFreeHandle(SQL_HANDLE_DBC, c2);
}
END_TEST

START_TEST(get_info)
{
    SQLCHAR buf[256];
    SQLSMALLINT len;
    SQLUSMALLINT u16;
    SQLUINTEGER u32;
    OK(SQLGetInfo(hdbc, SQL_DBMS_NAME, buf, sizeof buf, &len), SQL_HANDLE_DBC, hdbc);
    ck_assert_str_eq((char *)buf, maria ? "MariaDB" : "SQLite");
    OK(SQLGetInfo(hdbc, SQL_DBMS_VER, buf, sizeof buf, &len), SQL_HANDLE_DBC, hdbc);
    ck_assert_int_gt(len, 2);
    OK(SQLGetInfo(hdbc, SQL_DRIVER_NAME, buf, sizeof buf, &len), SQL_HANDLE_DBC, hdbc);
    ck_assert_str_eq((char *)buf, "libRecallODBC.so");
    OK(SQLGetInfo(hdbc, SQL_IDENTIFIER_QUOTE_CHAR, buf, sizeof buf, &len), SQL_HANDLE_DBC, hdbc);
    ck_assert_str_eq((char *)buf, maria ? "`" : "\"");
    OK(SQLGetInfo(hdbc, SQL_TXN_CAPABLE, &u16, 0, NULL), SQL_HANDLE_DBC, hdbc);
    ck_assert_uint_eq(u16, SQL_TC_DDL_COMMIT);
    OK(SQLGetInfo(hdbc, SQL_TXN_ISOLATION_OPTION, &u32, 0, NULL), SQL_HANDLE_DBC, hdbc);
    ck_assert_uint_eq(u32, SQL_TXN_REPEATABLE_READ | SQL_TXN_SERIALIZABLE);
    OK(SQLGetInfo(hdbc, SQL_KEYWORDS, buf, sizeof buf, &len), SQL_HANDLE_DBC, hdbc);
    ck_assert_int_gt(len, 20);
    OK(SQLGetInfo(hdbc, SQL_SEARCH_PATTERN_ESCAPE, buf, sizeof buf, &len), SQL_HANDLE_DBC, hdbc);
    ck_assert_str_eq((char *)buf, "\\");
    OK(SQLGetInfo(hdbc, SQL_GETDATA_EXTENSIONS, &u32, 0, NULL), SQL_HANDLE_DBC, hdbc);
    ck_assert(u32 & SQL_GD_ANY_COLUMN);
    SQLWCHAR w[64];
    OK(SQLGetInfoW(hdbc, SQL_DBMS_NAME, w, sizeof w, &len), SQL_HANDLE_DBC, hdbc);
    ck_assert_int_eq(len, (SQLSMALLINT)((maria ? 7 : 6) * sizeof(SQLWCHAR)));
    ck_assert_uint_eq(w[0], maria ? 'M' : 'S');
}
END_TEST

/* ---------------------------------------------------------- parameters and types */

START_TEST(typed_parameters_round_trip)
{
    SQLINTEGER id = 1, i32;
    SQLBIGINT big = -9007199254740993LL, big2;
    SQLDOUBLE dbl = 3.25, dbl2;
    SQL_NUMERIC_STRUCT num;
    char dec[32], str[64];
    SQLWCHAR wstr[32], wout[32];
    const SQLWCHAR wsrc[] = {'w', 0xe9, 0x20ac, 0};
    SQL_DATE_STRUCT d = {2024, 2, 29}, d2;
    SQL_TIMESTAMP_STRUCT ts = {2023, 12, 31, 23, 59, 58, 123456000}, ts2;
    unsigned char bin[5] = {0, 1, 0x7f, 0x80, 0xff}, bin2[16];
    SQLLEN ind[9], len;

    execf("CREATE TABLE %s (id INT PRIMARY KEY, b BIGINT, f DOUBLE, n DECIMAL(12,3), s VARCHAR(50), "
          "w VARCHAR(50), d DATE, ts %s, bin %s)%s", tbl, maria ? "DATETIME(6)" : "DATETIME",
          maria ? "VARBINARY(64)" : "BLOB", engine());
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", tbl);
    SOK(SQLPrepare(hst, (SQLCHAR *)sql, SQL_NTS));
    SQLSMALLINT np;
    SOK(SQLNumParams(hst, &np));
    ck_assert_int_eq(np, 9);
    memset(&num, 0, sizeof num);
    num.precision = 12;
    num.scale = 3;
    num.sign = 0; /* -12345.678 */
    unsigned long v = 12345678;
    for (int i = 0; i < 4; i++)
        num.val[i] = (SQLCHAR)(v >> (8 * i));
    memcpy(wstr, wsrc, sizeof wsrc);
    for (int i = 0; i < 9; i++)
        ind[i] = 0;
    ind[4] = SQL_NTS;
    ind[5] = SQL_NTS;
    ind[8] = sizeof bin;
    snprintf(str, sizeof str, "it's \"quoted\" ; -- not a comment");
    SOK(SQLBindParameter(hst, 1, SQL_PARAM_INPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0, &id, 0, &ind[0]));
    SOK(SQLBindParameter(hst, 2, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0, &big, 0, &ind[1]));
    SOK(SQLBindParameter(hst, 3, SQL_PARAM_INPUT, SQL_C_DOUBLE, SQL_DOUBLE, 0, 0, &dbl, 0, &ind[2]));
    SOK(SQLBindParameter(hst, 4, SQL_PARAM_INPUT, SQL_C_NUMERIC, SQL_DECIMAL, 12, 3, &num, 0, &ind[3]));
    SOK(SQLBindParameter(hst, 5, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 50, 0, str, 0, &ind[4]));
    SOK(SQLBindParameter(hst, 6, SQL_PARAM_INPUT, SQL_C_WCHAR, SQL_WVARCHAR, 50, 0, wstr, 0, &ind[5]));
    SOK(SQLBindParameter(hst, 7, SQL_PARAM_INPUT, SQL_C_TYPE_DATE, SQL_TYPE_DATE, 10, 0, &d, 0, &ind[6]));
    SOK(SQLBindParameter(hst, 8, SQL_PARAM_INPUT, SQL_C_TYPE_TIMESTAMP, SQL_TYPE_TIMESTAMP, 26, 6, &ts, 0,
                         &ind[7]));
    SOK(SQLBindParameter(hst, 9, SQL_PARAM_INPUT, SQL_C_BINARY, SQL_VARBINARY, 64, 0, bin, 0, &ind[8]));
    SOK(SQLExecute(hst));
    SQLLEN rows;
    SOK(SQLRowCount(hst, &rows));
    ck_assert_int_eq(rows, 1);
    /* A row of NULLs. */
    id = 2;
    for (int i = 1; i < 9; i++)
        ind[i] = SQL_NULL_DATA;
    SOK(SQLExecute(hst));
    SQLFreeStmt(hst, SQL_RESET_PARAMS);

    snprintf(sql, sizeof sql, "SELECT id, b, f, n, s, w, d, ts, bin FROM %s ORDER BY id", tbl);
    SOK(SQLExecDirect(hst, (SQLCHAR *)sql, SQL_NTS));
    SQLSMALLINT ncols;
    SOK(SQLNumResultCols(hst, &ncols));
    ck_assert_int_eq(ncols, 9);
    SOK(SQLBindCol(hst, 1, SQL_C_SLONG, &i32, 0, &ind[0]));
    SOK(SQLBindCol(hst, 2, SQL_C_SBIGINT, &big2, 0, &ind[1]));
    SOK(SQLBindCol(hst, 3, SQL_C_DOUBLE, &dbl2, 0, &ind[2]));
    SOK(SQLBindCol(hst, 4, SQL_C_CHAR, dec, sizeof dec, &ind[3]));
    SOK(SQLBindCol(hst, 7, SQL_C_TYPE_DATE, &d2, 0, &ind[6]));
    SOK(SQLBindCol(hst, 8, SQL_C_TYPE_TIMESTAMP, &ts2, 0, &ind[7]));
    SOK(SQLFetch(hst));
    ck_assert_int_eq(i32, 1);
    ck_assert(big2 == big);
    ck_assert(dbl2 == 3.25);
    ck_assert_str_eq(dec, "-12345.678");
    ck_assert_int_eq(d2.year, 2024);
    ck_assert_int_eq(d2.day, 29);
    ck_assert_int_eq(ts2.second, 58);
    if (maria)
        ck_assert_uint_eq(ts2.fraction, 123456000);
    /* Unbound columns through SQLGetData. */
    SOK(SQLGetData(hst, 5, SQL_C_CHAR, str, sizeof str, &len));
    ck_assert_str_eq(str, "it's \"quoted\" ; -- not a comment");
    SOK(SQLGetData(hst, 6, SQL_C_WCHAR, wout, sizeof wout, &len));
    ck_assert_int_eq(len, 3 * (SQLLEN)sizeof(SQLWCHAR));
    ck_assert(memcmp(wout, wsrc, sizeof wsrc) == 0);
    SOK(SQLGetData(hst, 9, SQL_C_BINARY, bin2, sizeof bin2, &len));
    ck_assert_int_eq(len, 5);
    ck_assert(memcmp(bin, bin2, 5) == 0);
    /* Everything of that column was read: a second SQLGetData has no data. */
    ck_assert_int_eq(SQLGetData(hst, 9, SQL_C_CHAR, str, sizeof str, &len), SQL_NO_DATA);
    SOK(SQLFetch(hst));
    ck_assert_int_eq(i32, 2);
    for (int i = 1; i < 8; i++)
        if (i != 4 && i != 5)
            ck_assert_int_eq(ind[i], SQL_NULL_DATA);
    ck_assert_int_eq(SQLFetch(hst), SQL_NO_DATA);
    SQLFreeStmt(hst, SQL_CLOSE);
    SQLFreeStmt(hst, SQL_UNBIND);

    /* Conversion errors reach the application with the right SQLSTATE. */
    char st[6];
    SQLSCHAR tiny;
    SOK(SQLExecDirect(hst, (SQLCHAR *)"SELECT 1000", SQL_NTS));
    SOK(SQLFetch(hst));
    ck_assert_int_eq(SQLGetData(hst, 1, SQL_C_STINYINT, &tiny, 0, &len), SQL_ERROR);
    state_of(SQL_HANDLE_STMT, hst, 1, st);
    ck_assert_str_eq(st, "22003");
    SQLFreeStmt(hst, SQL_CLOSE);
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE id = ?", tbl);
    SOK(SQLPrepare(hst, (SQLCHAR *)sql, SQL_NTS));
    SQLLEN nts = SQL_NTS;
    SOK(SQLBindParameter(hst, 1, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_INTEGER, 0, 0, "abc", 0, &nts));
    ck_assert_int_eq(SQLExecute(hst), SQL_ERROR);
    state_of(SQL_HANDLE_STMT, hst, 1, st);
    ck_assert_str_eq(st, "22018");
    SQLFreeStmt(hst, SQL_RESET_PARAMS);
}
END_TEST

START_TEST(parameter_arrays)
{
    SQLINTEGER ids[4] = {10, 11, 10, 12};
    char names[4][16] = {"ten", "eleven", "dup", "twelve"};
    SQLLEN id_ind[4] = {0, 0, 0, 0}, name_ind[4] = {SQL_NTS, SQL_NTS, SQL_NTS, SQL_NTS};
    SQLUSMALLINT status[4];
    SQLULEN processed = 0;
    char sql[256], st[6];
    execf("CREATE TABLE %s (id INT PRIMARY KEY, name VARCHAR(20))%s", tbl, engine());
    snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (?, ?)", tbl);
    SOK(SQLPrepare(hst, (SQLCHAR *)sql, SQL_NTS));
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)4, 0));
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_PARAM_STATUS_PTR, status, 0));
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_PARAMS_PROCESSED_PTR, &processed, 0));
    SOK(SQLBindParameter(hst, 1, SQL_PARAM_INPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0, ids, 0, id_ind));
    SOK(SQLBindParameter(hst, 2, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 20, 0, names, 16, name_ind));
    /* Set 3 repeats a primary key: it fails, the others go in. */
    ck_assert_int_eq(SQLExecute(hst), SQL_SUCCESS_WITH_INFO);
    ck_assert_uint_eq(processed, 4);
    ck_assert_uint_eq(status[0], SQL_PARAM_SUCCESS);
    ck_assert_uint_eq(status[2], SQL_PARAM_ERROR);
    ck_assert_uint_eq(status[3], SQL_PARAM_SUCCESS);
    SQLLEN row = 0;
    SQLGetDiagField(SQL_HANDLE_STMT, hst, 1, SQL_DIAG_ROW_NUMBER, &row, 0, NULL);
    ck_assert_int_eq(row, 3);
    state_of(SQL_HANDLE_STMT, hst, 1, st);
    ck_assert_msg(st[0] == '2' && st[1] == '3', "state %s", st);
    SQLLEN count;
    SOK(SQLRowCount(hst, &count));
    ck_assert_int_eq(count, 3);
    SQLFreeStmt(hst, SQL_RESET_PARAMS);

    /* Row-wise, with a bind offset (as pyodbc's fast_executemany does). */
    struct prow {
        SQLINTEGER id;
        SQLLEN id_ind;
        char name[12];
        SQLLEN name_ind;
    } rows[2 + 3];
    SQLLEN offset = 2 * sizeof(struct prow);
    for (int i = 0; i < 3; i++) {
        rows[2 + i].id = 20 + i;
        rows[2 + i].id_ind = 0;
        snprintf(rows[2 + i].name, sizeof rows[0].name, "row%d", i);
        rows[2 + i].name_ind = SQL_NTS;
    }
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_PARAM_BIND_TYPE, (SQLPOINTER)sizeof(struct prow), 0));
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_PARAM_BIND_OFFSET_PTR, &offset, 0));
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)3, 0));
    SOK(SQLBindParameter(hst, 1, SQL_PARAM_INPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0, &rows[0].id, 0, &rows[0].id_ind));
    SOK(SQLBindParameter(hst, 2, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 12, 0, rows[0].name, 12,
                         &rows[0].name_ind));
    SOK(SQLExecute(hst));
    ck_assert_uint_eq(processed, 3);
    SQLSetStmtAttr(hst, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)1, 0);
    SQLSetStmtAttr(hst, SQL_ATTR_PARAM_BIND_OFFSET_PTR, NULL, 0);
    SQLSetStmtAttr(hst, SQL_ATTR_PARAM_BIND_TYPE, SQL_BIND_BY_COLUMN, 0);
    SQLFreeStmt(hst, SQL_RESET_PARAMS);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", tbl);
    ck_assert_int_eq(scalar(sql), 6);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s WHERE name = 'row2' AND id = 22", tbl);
    ck_assert_int_eq(scalar(sql), 1);
}
END_TEST

START_TEST(row_arrays_and_setpos)
{
    char sql[256];
    execf("CREATE TABLE %s (id INT PRIMARY KEY, name VARCHAR(20))%s", tbl, engine());
    for (int i = 1; i <= 7; i++)
        execf("INSERT INTO %s VALUES (%d, 'n%d')", tbl, i, i);
    snprintf(sql, sizeof sql, "SELECT id, name FROM %s ORDER BY id", tbl);
    /* Column-wise. */
    SQLINTEGER ids[3];
    char names[3][8];
    SQLLEN iind[3], nind[3];
    SQLUSMALLINT status[3];
    SQLULEN fetched;
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)3, 0));
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_ROW_STATUS_PTR, status, 0));
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_ROWS_FETCHED_PTR, &fetched, 0));
    SOK(SQLExecDirect(hst, (SQLCHAR *)sql, SQL_NTS));
    SOK(SQLBindCol(hst, 1, SQL_C_SLONG, ids, 0, iind));
    SOK(SQLBindCol(hst, 2, SQL_C_CHAR, names, 8, nind));
    int total = 0, batches = 0;
    SQLRETURN rc;
    while ((rc = SQLFetchScroll(hst, SQL_FETCH_NEXT, 0)) != SQL_NO_DATA) {
        SOK(rc);
        batches++;
        for (SQLULEN i = 0; i < fetched; i++) {
            total++;
            ck_assert_int_eq(ids[i], total);
            ck_assert_uint_eq(status[i], SQL_ROW_SUCCESS);
        }
        if (batches == 1) {
            /* Position on row 2 of the rowset and read it again. */
            char nm[8];
            SQLLEN l;
            SOK(SQLSetPos(hst, 2, SQL_POSITION, SQL_LOCK_NO_CHANGE));
            SOK(SQLGetData(hst, 2, SQL_C_CHAR, nm, sizeof nm, &l));
            ck_assert_str_eq(nm, "n2");
        }
    }
    ck_assert_int_eq(total, 7);
    ck_assert_int_eq(batches, 3);
    ck_assert_uint_eq(status[1], SQL_ROW_NOROW);
    SQLFreeStmt(hst, SQL_CLOSE);
    SQLFreeStmt(hst, SQL_UNBIND);
    /* Row-wise. */
    struct rrow {
        SQLINTEGER id;
        SQLLEN iind;
        char name[8];
        SQLLEN nind;
    } rows[4];
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)4, 0));
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_ROW_STATUS_PTR, NULL, 0));
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_ROW_BIND_TYPE, (SQLPOINTER)sizeof(struct rrow), 0));
    SOK(SQLExecDirect(hst, (SQLCHAR *)sql, SQL_NTS));
    SOK(SQLBindCol(hst, 1, SQL_C_SLONG, &rows[0].id, 0, &rows[0].iind));
    SOK(SQLBindCol(hst, 2, SQL_C_CHAR, rows[0].name, 8, &rows[0].nind));
    SOK(SQLFetch(hst));
    ck_assert_uint_eq(fetched, 4);
    ck_assert_int_eq(rows[3].id, 4);
    ck_assert_str_eq(rows[3].name, "n4");
    SOK(SQLFetch(hst));
    ck_assert_uint_eq(fetched, 3);
    ck_assert_int_eq(SQLFetch(hst), SQL_NO_DATA);
    SQLFreeStmt(hst, SQL_CLOSE);
    SQLFreeStmt(hst, SQL_UNBIND);
    SQLSetStmtAttr(hst, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)1, 0);
    SQLSetStmtAttr(hst, SQL_ATTR_ROW_BIND_TYPE, SQL_BIND_BY_COLUMN, 0);
    SQLSetStmtAttr(hst, SQL_ATTR_ROWS_FETCHED_PTR, NULL, 0);
}
END_TEST

START_TEST(data_at_execution_and_partial_getdata)
{
    enum { BIG = 100000, PIECE = 7000 };
    char *big = malloc(BIG + 1), *back = calloc(1, BIG + 1);
    char sql[256];
    SQLINTEGER id = 1;
    SQLLEN id_ind = 0, txt_ind = SQL_DATA_AT_EXEC, other_ind = SQL_LEN_DATA_AT_EXEC(0);
    for (int i = 0; i < BIG; i++)
        big[i] = (char)('a' + i % 26);
    big[BIG] = 0;
    execf("CREATE TABLE %s (id INT PRIMARY KEY, txt %s, other VARCHAR(20))%s", tbl,
          maria ? "MEDIUMTEXT" : "TEXT", engine());
    snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (?, ?, ?)", tbl);
    SOK(SQLPrepare(hst, (SQLCHAR *)sql, SQL_NTS));
    SOK(SQLBindParameter(hst, 1, SQL_PARAM_INPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0, &id, 0, &id_ind));
    SOK(SQLBindParameter(hst, 2, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_LONGVARCHAR, BIG, 0, (SQLPOINTER)2, 0,
                         &txt_ind));
    SOK(SQLBindParameter(hst, 3, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 20, 0, (SQLPOINTER)3, 0,
                         &other_ind));
    ck_assert_int_eq(SQLExecute(hst), SQL_NEED_DATA);
    SQLPOINTER token;
    int seen = 0;
    SQLRETURN rc;
    while ((rc = SQLParamData(hst, &token)) == SQL_NEED_DATA) {
        seen++;
        if (token == (SQLPOINTER)2) {
            for (int off = 0; off < BIG; off += PIECE)
                SOK(SQLPutData(hst, big + off, off + PIECE <= BIG ? PIECE : BIG - off));
        } else {
            ck_assert_ptr_eq(token, (SQLPOINTER)3);
            SOK(SQLPutData(hst, NULL, SQL_NULL_DATA));
        }
    }
    SOK(rc);
    ck_assert_int_eq(seen, 2);
    SQLFreeStmt(hst, SQL_RESET_PARAMS);
    /* Read it back in pieces: 01004 until the last one. */
    snprintf(sql, sizeof sql, "SELECT txt, other FROM %s WHERE id = 1", tbl);
    SOK(SQLExecDirect(hst, (SQLCHAR *)sql, SQL_NTS));
    SOK(SQLFetch(hst));
    char piece[4097];
    SQLLEN len, got = 0;
    int pieces = 0;
    while ((rc = SQLGetData(hst, 1, SQL_C_CHAR, piece, sizeof piece, &len)) != SQL_NO_DATA) {
        ck_assert(SQL_SUCCEEDED(rc));
        if (pieces == 0)
            ck_assert_int_eq(len, BIG);
        size_t n = rc == SQL_SUCCESS_WITH_INFO ? sizeof piece - 1 : (size_t)len;
        if (rc == SQL_SUCCESS_WITH_INFO) {
            char st[6];
            state_of(SQL_HANDLE_STMT, hst, 1, st);
            ck_assert_str_eq(st, "01004");
        }
        memcpy(back + got, piece, n);
        got += (SQLLEN)n;
        pieces++;
    }
    ck_assert_int_eq(got, BIG);
    ck_assert_int_gt(pieces, 20);
    ck_assert(memcmp(big, back, BIG) == 0);
    SOK(SQLGetData(hst, 2, SQL_C_CHAR, piece, sizeof piece, &len));
    ck_assert_int_eq(len, SQL_NULL_DATA);
    SQLFreeStmt(hst, SQL_CLOSE);
    free(big);
    free(back);
}
END_TEST

START_TEST(escapes_and_native_sql)
{
    char buf[64];
    SQLLEN len;
    SOK(SQLExecDirect(hst,
                      (SQLCHAR *)"SELECT {fn UCASE('abc')}, {fn CONCAT('x', 'y')}, {d '2024-01-02'}, "
                                 "{fn CONVERT('41', SQL_INTEGER)} + 1, 'a{fn UCASE(b)}'",
                      SQL_NTS));
    SOK(SQLFetch(hst));
    SOK(SQLGetData(hst, 1, SQL_C_CHAR, buf, sizeof buf, &len));
    ck_assert_str_eq(buf, "ABC");
    SOK(SQLGetData(hst, 2, SQL_C_CHAR, buf, sizeof buf, &len));
    ck_assert_str_eq(buf, "xy");
    SOK(SQLGetData(hst, 3, SQL_C_CHAR, buf, sizeof buf, &len));
    ck_assert_str_eq(buf, "2024-01-02");
    SQLINTEGER n;
    SOK(SQLGetData(hst, 4, SQL_C_SLONG, &n, 0, &len));
    ck_assert_int_eq(n, 42);
    SOK(SQLGetData(hst, 5, SQL_C_CHAR, buf, sizeof buf, &len));
    ck_assert_str_eq(buf, "a{fn UCASE(b)}");
    SQLFreeStmt(hst, SQL_CLOSE);
    SQLCHAR out[128];
    SQLINTEGER outlen;
    OK(SQLNativeSql(hdbc, (SQLCHAR *)"SELECT {fn UCASE(x)}", SQL_NTS, out, sizeof out, &outlen),
       SQL_HANDLE_DBC, hdbc);
    ck_assert_str_eq((char *)out, maria ? "SELECT UCASE(x)" : "SELECT upper(x)");
    /* An outer join escape runs. */
    execf("CREATE TABLE %s (a INT, b INT)%s", tbl, engine());
    execf("INSERT INTO %s VALUES (1, 2)", tbl);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM {oj %s x LEFT OUTER JOIN %s y ON x.a = y.b}", tbl, tbl);
    ck_assert_int_eq(scalar(sql), 1);
    /* A syntax error in an escape is 42000 before anything reaches the server. */
    ck_assert_int_eq(SQLExecDirect(hst, (SQLCHAR *)"SELECT {fn UCASE('a')", SQL_NTS), SQL_ERROR);
    char st[6];
    state_of(SQL_HANDLE_STMT, hst, 1, st);
    ck_assert_str_eq(st, "42000");
}
END_TEST

/* Fetch a catalog result and count its rows; col is matched against want
 * (if given) and must appear. */
static int catalog_rows(int col, const char *want)
{
    char buf[256];
    SQLLEN len;
    int n = 0, hit = 0;
    while (SQL_SUCCEEDED(SQLFetch(hst))) {
        n++;
        if (want && SQL_SUCCEEDED(SQLGetData(hst, (SQLUSMALLINT)col, SQL_C_CHAR, buf, sizeof buf, &len)) &&
            len != SQL_NULL_DATA && strcasecmp(buf, want) == 0)
            hit++;
    }
    SQLFreeStmt(hst, SQL_CLOSE);
    return want ? (hit ? n : -n - 1) : n;
}

START_TEST(catalog_functions)
{
    char child[80];
    snprintf(child, sizeof child, "%s_child", tbl);
    execf("CREATE TABLE %s (id INT PRIMARY KEY, name VARCHAR(30) NOT NULL, amount DECIMAL(9,2))%s", tbl,
          engine());
    execf("CREATE INDEX %s_name ON %s (name)", tbl, tbl);
    execf("DROP TABLE IF EXISTS %s", child);
    execf("CREATE TABLE %s (cid INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES %s (id))%s", child, tbl,
          engine());
    SOK(SQLTables(hst, NULL, 0, NULL, 0, (SQLCHAR *)tbl, SQL_NTS, (SQLCHAR *)"TABLE", SQL_NTS));
    ck_assert_int_eq(catalog_rows(3, tbl), 1);
    SOK(SQLTables(hst, NULL, 0, NULL, 0, (SQLCHAR *)"odbc\\_c\\_%", SQL_NTS, NULL, 0));
    ck_assert_int_ge(catalog_rows(3, child), 2);
    SOK(SQLTables(hst, (SQLCHAR *)"", 0, (SQLCHAR *)"", 0, (SQLCHAR *)"", 0, (SQLCHAR *)"%", SQL_NTS));
    ck_assert_int_ge(catalog_rows(4, "VIEW"), 2);
    /* Columns: names, order, types. */
    SOK(SQLColumns(hst, NULL, 0, NULL, 0, (SQLCHAR *)tbl, SQL_NTS, NULL, 0));
    char name[64];
    SQLSMALLINT type, nullable;
    SQLINTEGER size;
    SQLLEN l1, l2, l3, l4;
    SOK(SQLBindCol(hst, 4, SQL_C_CHAR, name, sizeof name, &l1));
    SOK(SQLBindCol(hst, 5, SQL_C_SSHORT, &type, 0, &l2));
    SOK(SQLBindCol(hst, 7, SQL_C_SLONG, &size, 0, &l3));
    SOK(SQLBindCol(hst, 11, SQL_C_SSHORT, &nullable, 0, &l4));
    SOK(SQLFetch(hst));
    ck_assert_str_eq(name, "id");
    ck_assert(type == SQL_INTEGER || type == SQL_BIGINT);
    SOK(SQLFetch(hst));
    ck_assert_str_eq(name, "name");
    ck_assert_int_eq(type, SQL_VARCHAR);
    ck_assert_int_eq(size, 30);
    ck_assert_int_eq(nullable, SQL_NO_NULLS);
    SOK(SQLFetch(hst));
    ck_assert_int_eq(type, SQL_DECIMAL);
    ck_assert_int_eq(size, 9);
    ck_assert_int_eq(SQLFetch(hst), SQL_NO_DATA);
    SQLFreeStmt(hst, SQL_CLOSE);
    SQLFreeStmt(hst, SQL_UNBIND);
    SOK(SQLPrimaryKeys(hst, NULL, 0, NULL, 0, (SQLCHAR *)tbl, SQL_NTS));
    ck_assert_int_eq(catalog_rows(4, "id"), 1);
    SOK(SQLStatistics(hst, NULL, 0, NULL, 0, (SQLCHAR *)tbl, SQL_NTS, SQL_INDEX_ALL, SQL_QUICK));
    ck_assert_int_ge(catalog_rows(9, "name"), 2);
    SOK(SQLForeignKeys(hst, NULL, 0, NULL, 0, (SQLCHAR *)tbl, SQL_NTS, NULL, 0, NULL, 0, NULL, 0));
    ck_assert_int_eq(catalog_rows(7, child), 1);
    SOK(SQLForeignKeys(hst, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, (SQLCHAR *)child, SQL_NTS));
    ck_assert_int_eq(catalog_rows(8, "pid"), 1);
    SOK(SQLSpecialColumns(hst, SQL_BEST_ROWID, NULL, 0, NULL, 0, (SQLCHAR *)tbl, SQL_NTS, SQL_SCOPE_SESSION,
                          SQL_NULLABLE));
    ck_assert_int_eq(catalog_rows(2, "id"), 1);
    SOK(SQLGetTypeInfo(hst, SQL_ALL_TYPES));
    ck_assert_int_ge(catalog_rows(0, NULL), 10);
    SOK(SQLGetTypeInfo(hst, SQL_TYPE_TIMESTAMP));
    ck_assert_int_ge(catalog_rows(0, NULL), 1);
    SOK(SQLProcedures(hst, NULL, 0, NULL, 0, (SQLCHAR *)"%", SQL_NTS));
    catalog_rows(0, NULL);
    SOK(SQLProcedureColumns(hst, NULL, 0, NULL, 0, (SQLCHAR *)"%", SQL_NTS, NULL, 0));
    catalog_rows(0, NULL);
    SOK(SQLTablePrivileges(hst, NULL, 0, NULL, 0, (SQLCHAR *)tbl, SQL_NTS));
    catalog_rows(0, NULL);
    SOK(SQLColumnPrivileges(hst, NULL, 0, NULL, 0, (SQLCHAR *)tbl, SQL_NTS, NULL, 0));
    catalog_rows(0, NULL);
    /* The W variant. */
    SQLWCHAR wt[80];
    for (size_t i = 0; i <= strlen(tbl); i++)
        wt[i] = (SQLWCHAR)tbl[i];
    SOK(SQLColumnsW(hst, NULL, 0, NULL, 0, wt, SQL_NTS, NULL, 0));
    ck_assert_int_eq(catalog_rows(4, "amount"), 3);
    execf("DROP TABLE %s", child);
}
END_TEST

/* ---------------------------------------------------------- transactions */

START_TEST(transactions)
{
    char sql[256];
    execf("CREATE TABLE %s (id INT PRIMARY KEY)%s", tbl, engine());
    OK(SQLSetConnectAttr(hdbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0), SQL_HANDLE_DBC, hdbc);
    execf("INSERT INTO %s VALUES (1)", tbl);
    OK(SQLEndTran(SQL_HANDLE_DBC, hdbc, SQL_ROLLBACK), SQL_HANDLE_DBC, hdbc);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", tbl);
    ck_assert_int_eq(scalar(sql), 0);
    execf("INSERT INTO %s VALUES (2)", tbl);
    /* Reads in the transaction see its writes. */
    ck_assert_int_eq(scalar(sql), 1);
    OK(SQLEndTran(SQL_HANDLE_DBC, hdbc, SQL_COMMIT), SQL_HANDLE_DBC, hdbc);
    execf("INSERT INTO %s VALUES (3)", tbl);
    OK(SQLEndTran(SQL_HANDLE_ENV, henv, SQL_COMMIT), SQL_HANDLE_ENV, henv);
    OK(SQLSetConnectAttr(hdbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_ON, 0), SQL_HANDLE_DBC, hdbc);
    ck_assert_int_eq(scalar(sql), 2);
    SQLUINTEGER v;
    OK(SQLGetConnectAttr(hdbc, SQL_ATTR_AUTOCOMMIT, &v, 0, NULL), SQL_HANDLE_DBC, hdbc);
    ck_assert_uint_eq(v, SQL_AUTOCOMMIT_ON);
    /* Isolation: below REPEATABLE READ is raised, with 01S02. */
    ck_assert_int_eq(SQLSetConnectAttr(hdbc, SQL_ATTR_TXN_ISOLATION, (SQLPOINTER)SQL_TXN_READ_COMMITTED, 0),
                     SQL_SUCCESS_WITH_INFO);
    OK(SQLGetConnectAttr(hdbc, SQL_ATTR_TXN_ISOLATION, &v, 0, NULL), SQL_HANDLE_DBC, hdbc);
    ck_assert_uint_eq(v, SQL_TXN_REPEATABLE_READ);
    OK(SQLSetConnectAttr(hdbc, SQL_ATTR_TXN_ISOLATION, (SQLPOINTER)SQL_TXN_SERIALIZABLE, 0), SQL_HANDLE_DBC, hdbc);
    ck_assert_int_eq(scalar(sql), 2);
    /* Read-only access mode: reads go to any replica. */
    OK(SQLSetConnectAttr(hdbc, SQL_ATTR_ACCESS_MODE, (SQLPOINTER)SQL_MODE_READ_ONLY, 0), SQL_HANDLE_DBC, hdbc);
    ck_assert_int_eq(scalar(sql), 2);
    SQLCHAR yn[4];
    OK(SQLGetInfo(hdbc, SQL_DATA_SOURCE_READ_ONLY, yn, sizeof yn, NULL), SQL_HANDLE_DBC, hdbc);
    ck_assert_str_eq((char *)yn, "Y");
    OK(SQLSetConnectAttr(hdbc, SQL_ATTR_ACCESS_MODE, (SQLPOINTER)SQL_MODE_READ_WRITE, 0), SQL_HANDLE_DBC, hdbc);
}
END_TEST

START_TEST(diagnostics_from_the_server)
{
    char st[6], sql[256];
    SQLCHAR msg[512];
    SQLINTEGER native;
    SQLSMALLINT len;
    ck_assert_int_eq(SQLExecDirect(hst, (SQLCHAR *)"SELECT 1 FROM WHERE", SQL_NTS), SQL_ERROR);
    SQLGetDiagRec(SQL_HANDLE_STMT, hst, 1, (SQLCHAR *)st, &native, msg, sizeof msg, &len);
    ck_assert_ptr_nonnull(strstr((char *)msg, "[Recall]"));
    if (maria) {
        ck_assert_str_eq(st, "42000");
        ck_assert_int_eq(native, 1064);
    }
    snprintf(sql, sizeof sql, "SELECT * FROM %s_nosuch", tbl);
    ck_assert_int_eq(SQLExecDirect(hst, (SQLCHAR *)sql, SQL_NTS), SQL_ERROR);
    state_of(SQL_HANDLE_STMT, hst, 1, st);
    if (maria)
        ck_assert_str_eq(st, "42S02");
    else
        ck_assert_int_eq((int)strlen(st), 5);
    /* The statement stays usable. */
    ck_assert_int_eq(scalar("SELECT 7"), 7);
    /* Several records with their row numbers. */
    SQLINTEGER ids[3] = {1, 1, 1};
    execf("CREATE TABLE %s (id INT PRIMARY KEY)%s", tbl, engine());
    snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (?)", tbl);
    SOK(SQLPrepare(hst, (SQLCHAR *)sql, SQL_NTS));
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)3, 0));
    SOK(SQLBindParameter(hst, 1, SQL_PARAM_INPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0, ids, 0, NULL));
    ck_assert_int_eq(SQLExecute(hst), SQL_SUCCESS_WITH_INFO);
    SQLINTEGER n;
    SQLGetDiagField(SQL_HANDLE_STMT, hst, 0, SQL_DIAG_NUMBER, &n, 0, NULL);
    ck_assert_int_eq(n, 2);
    SQLLEN r1, r2;
    SQLGetDiagField(SQL_HANDLE_STMT, hst, 1, SQL_DIAG_ROW_NUMBER, &r1, 0, NULL);
    SQLGetDiagField(SQL_HANDLE_STMT, hst, 2, SQL_DIAG_ROW_NUMBER, &r2, 0, NULL);
    ck_assert_int_eq(r1, 2);
    ck_assert_int_eq(r2, 3);
    SQLSetStmtAttr(hst, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)1, 0);
    SQLFreeStmt(hst, SQL_RESET_PARAMS);
}
END_TEST

START_TEST(interleaved_statements)
{
    SQLHSTMT a, b;
    char sql[256];
    SQLINTEGER id;
    SQLLEN ind;
    execf("CREATE TABLE %s (id INT PRIMARY KEY)%s", tbl, engine());
    for (int i = 1; i <= 40; i++)
        execf("INSERT INTO %s VALUES (%d)", tbl, i);
    ck_assert_int_eq(SQLAllocHandle(SQL_HANDLE_STMT, hdbc, &a), SQL_SUCCESS);
    ck_assert_int_eq(SQLAllocHandle(SQL_HANDLE_STMT, hdbc, &b), SQL_SUCCESS);
    snprintf(sql, sizeof sql, "SELECT id FROM %s ORDER BY id", tbl);
    OK(SQLExecDirect(a, (SQLCHAR *)sql, SQL_NTS), SQL_HANDLE_STMT, a);
    OK(SQLBindCol(a, 1, SQL_C_SLONG, &id, 0, &ind), SQL_HANDLE_STMT, a);
    for (int i = 1; i <= 5; i++) {
        OK(SQLFetch(a), SQL_HANDLE_STMT, a);
        ck_assert_int_eq(id, i);
    }
    /* Another statement runs in the middle of a's result. */
    snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (100)", tbl);
    OK(SQLExecDirect(b, (SQLCHAR *)sql, SQL_NTS), SQL_HANDLE_STMT, b);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", tbl);
    OK(SQLExecDirect(b, (SQLCHAR *)sql, SQL_NTS), SQL_HANDLE_STMT, b);
    SQLINTEGER count;
    OK(SQLFetch(b), SQL_HANDLE_STMT, b);
    OK(SQLGetData(b, 1, SQL_C_SLONG, &count, 0, &ind), SQL_HANDLE_STMT, b);
    ck_assert_int_eq(count, 41);
    /* a goes on where it was: GetData on its current row, then the rest. */
    SQLINTEGER cur;
    OK(SQLGetData(a, 1, SQL_C_SLONG, &cur, 0, &ind), SQL_HANDLE_STMT, a);
    ck_assert_int_eq(cur, 5);
    int n = 5;
    while (SQL_SUCCEEDED(SQLFetch(a))) {
        n++;
        ck_assert_int_eq(id, n);
    }
    ck_assert_int_eq(n, 40);
    SQLFreeHandle(SQL_HANDLE_STMT, a);
    SQLFreeHandle(SQL_HANDLE_STMT, b);
}
END_TEST

/* ---------------------------------------------------------- timeouts and cancel */

static const char *slow_query(int seconds)
{
    static char q[256];
    if (maria)
        snprintf(q, sizeof q, "SELECT SLEEP(%d)", seconds);
    else
        snprintf(q, sizeof q,
                 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) "
                 "SELECT COUNT(*) FROM c",
                 seconds * 1500000); /* about a second of CPU each: it must end soon after */
    return q;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

START_TEST(query_timeout)
{
    char st[6];
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_QUERY_TIMEOUT, (SQLPOINTER)1, 0));
    double t0 = now();
    SQLRETURN rc = SQLExecDirect(hst, (SQLCHAR *)slow_query(5), SQL_NTS);
    if (rc == SQL_SUCCESS)
        rc = SQLFetch(hst);
    double took = now() - t0;
    ck_assert_int_eq(rc, SQL_ERROR);
    state_of(SQL_HANDLE_STMT, hst, 1, st);
    ck_assert_str_eq(st, "HYT00");
    ck_assert_msg(took < 5.0, "the timeout took %.1f s", took);
    SQLFreeStmt(hst, SQL_CLOSE);
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_QUERY_TIMEOUT, (SQLPOINTER)0, 0));
    /* The connection is still usable. */
    ck_assert_int_eq(scalar("SELECT 3"), 3);
}
END_TEST

struct cancel_arg {
    SQLHSTMT st;
    SQLRETURN rc;
};

static void *run_slow(void *p)
{
    struct cancel_arg *a = p;
    a->rc = SQLExecDirect(a->st, (SQLCHAR *)slow_query(6), SQL_NTS);
    if (a->rc == SQL_SUCCESS)
        a->rc = SQLFetch(a->st);
    return NULL;
}

START_TEST(cancel_from_another_thread)
{
    struct cancel_arg a = {hst, SQL_SUCCESS};
    pthread_t th;
    char st[6];
    double t0 = now();
    ck_assert_int_eq(pthread_create(&th, NULL, run_slow, &a), 0);
    usleep(500000);
    ck_assert_int_eq(SQLCancel(hst), SQL_SUCCESS);
    pthread_join(th, NULL);
    double took = now() - t0;
    ck_assert_int_eq(a.rc, SQL_ERROR);
    state_of(SQL_HANDLE_STMT, hst, 1, st);
    ck_assert_str_eq(st, "HY008");
    ck_assert_msg(took < 6.0, "the cancel took %.1f s", took);
    SQLFreeStmt(hst, SQL_CLOSE);
    ck_assert_int_eq(scalar("SELECT 4"), 4);
}
END_TEST

START_TEST(more_results_over_parameter_sets)
{
    SQLINTEGER vals[3] = {5, 6, 7}, got;
    SQLLEN ind;
    SOK(SQLPrepare(hst, (SQLCHAR *)"SELECT ? + 1", SQL_NTS));
    SOK(SQLSetStmtAttr(hst, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)3, 0));
    SOK(SQLBindParameter(hst, 1, SQL_PARAM_INPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0, vals, 0, NULL));
    SOK(SQLExecute(hst));
    for (int i = 0; i < 3; i++) {
        if (i > 0)
            SOK(SQLMoreResults(hst));
        SOK(SQLFetch(hst));
        SOK(SQLGetData(hst, 1, SQL_C_SLONG, &got, 0, &ind));
        ck_assert_int_eq(got, vals[i] + 1);
    }
    ck_assert_int_eq(SQLMoreResults(hst), SQL_NO_DATA);
    SQLSetStmtAttr(hst, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)1, 0);
    SQLFreeStmt(hst, SQL_RESET_PARAMS);
}
END_TEST

struct share_arg {
    int id;
    int errors;
};

/* Each thread has its own statement on the shared connection. */
static void *share_worker(void *p)
{
    struct share_arg *a = p;
    SQLHSTMT s;
    char sql[160];
    if (SQLAllocHandle(SQL_HANDLE_STMT, hdbc, &s) != SQL_SUCCESS) {
        a->errors++;
        return NULL;
    }
    for (int i = 0; i < 25; i++) {
        SQLINTEGER v = 0;
        SQLLEN ind;
        snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (%d)", tbl, a->id * 1000 + i);
        if (!SQL_SUCCEEDED(SQLExecDirect(s, (SQLCHAR *)sql, SQL_NTS)))
            a->errors++;
        snprintf(sql, sizeof sql, "SELECT %d + %d", a->id, i);
        if (!SQL_SUCCEEDED(SQLExecDirect(s, (SQLCHAR *)sql, SQL_NTS)) || !SQL_SUCCEEDED(SQLFetch(s)) ||
            !SQL_SUCCEEDED(SQLGetData(s, 1, SQL_C_SLONG, &v, 0, &ind)) || v != a->id + i)
            a->errors++;
        SQLFreeStmt(s, SQL_CLOSE);
    }
    SQLFreeHandle(SQL_HANDLE_STMT, s);
    return NULL;
}

START_TEST(threads_share_a_connection)
{
    pthread_t th[4];
    struct share_arg args[4];
    char sql[128];
    execf("CREATE TABLE %s (id INT PRIMARY KEY)%s", tbl, engine());
    for (int i = 0; i < 4; i++) {
        args[i] = (struct share_arg){i + 1, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, share_worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].errors, 0);
    }
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", tbl);
    ck_assert_int_eq(scalar(sql), 100);
}
END_TEST

START_TEST(login_timeout_attribute)
{
    SQLHDBC c2;
    char st[6];
    ck_assert_int_eq(SQLAllocHandle(SQL_HANDLE_DBC, henv, &c2), SQL_SUCCESS);
    ck_assert_int_eq(SQLSetConnectAttr(c2, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER)1, 0), SQL_SUCCESS);
    /* 192.0.2.0/24 is TEST-NET-1: connections to it go nowhere. */
    double t0 = now();
    ck_assert_int_eq(SQLDriverConnect(c2, NULL, (SQLCHAR *)"DRIVER={Recall};REPLICAS=192.0.2.1:8500", SQL_NTS,
                                      NULL, 0, NULL, SQL_DRIVER_NOPROMPT), SQL_ERROR);
    ck_assert_msg(now() - t0 < 5.0, "the login timeout took %.1f s", now() - t0);
    state_of(SQL_HANDLE_DBC, c2, 1, st);
    ck_assert_msg(st[0] == '0' && st[1] == '8', "state %s", st);
    SQLFreeHandle(SQL_HANDLE_DBC, c2);
}
END_TEST

/* ---------------------------------------------------------- ODBC 2 and W */

START_TEST(odbc2_application)
{
    SQLHENV e2;
    SQLHDBC c2;
    SQLHSTMT s2;
    SQLCHAR state[6], msg[512];
    SQLINTEGER native, v;
    SQLSMALLINT len;
    SQLLEN ind;
    /* The ODBC 2 calls, which the driver manager maps onto ODBC 3 ones. */
    ck_assert_int_eq(SQLAllocEnv(&e2), SQL_SUCCESS);
    ck_assert_int_eq(SQLAllocConnect(e2, &c2), SQL_SUCCESS);
    ck_assert(SQL_SUCCEEDED(SQLConnect(c2, (SQLCHAR *)dsn, SQL_NTS, NULL, 0, NULL, 0)));
    ck_assert_int_eq(SQLAllocStmt(c2, &s2), SQL_SUCCESS);
    ck_assert(SQL_SUCCEEDED(SQLExecDirect(s2, (SQLCHAR *)"SELECT 21 * 2", SQL_NTS)));
    ck_assert(SQL_SUCCEEDED(SQLFetch(s2)));
    ck_assert(SQL_SUCCEEDED(SQLGetData(s2, 1, SQL_C_LONG, &v, 0, &ind)));
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(SQLFreeStmt(s2, SQL_CLOSE), SQL_SUCCESS);
    ck_assert_int_eq(SQLExecDirect(s2, (SQLCHAR *)"SELECT 1 FROM WHERE", SQL_NTS), SQL_ERROR);
    ck_assert_int_eq(SQLError(e2, c2, s2, state, &native, msg, sizeof msg, &len), SQL_SUCCESS);
    ck_assert_ptr_nonnull(strstr((char *)msg, "[Recall]"));
    if (maria)
        ck_assert_str_eq((char *)state, "37000"); /* 42000 in its ODBC 2 spelling */
    ck_assert(SQL_SUCCEEDED(SQLTransact(e2, c2, SQL_COMMIT)));
    ck_assert_int_eq(SQLFreeStmt(s2, SQL_DROP), SQL_SUCCESS);
    ck_assert_int_eq(SQLDisconnect(c2), SQL_SUCCESS);
    SQLFreeConnect(c2);
    SQLFreeEnv(e2);
}
END_TEST

START_TEST(wide_entry_points)
{
    SQLHDBC c2;
    SQLHSTMT s2;
    SQLWCHAR in[64], out[64], name[32];
    SQLSMALLINT namelen, type;
    SQLULEN size;
    SQLLEN len;
    const SQLWCHAR word[] = {'g', 'r', 0xfc, 0xdf, 'e', ' ', 0x20ac, 0xd83d, 0xde00, 0};
    char conn[64];
    snprintf(conn, sizeof conn, "DSN=%s", dsn);
    for (size_t i = 0; i <= strlen(conn); i++)
        in[i] = (SQLWCHAR)conn[i];
    ck_assert_int_eq(SQLAllocHandle(SQL_HANDLE_DBC, henv, &c2), SQL_SUCCESS);
    OK(SQLDriverConnectW(c2, NULL, in, SQL_NTS, out, 64, &namelen, SQL_DRIVER_NOPROMPT), SQL_HANDLE_DBC, c2);
    ck_assert_uint_eq(out[0], 'D');
    ck_assert_int_eq(SQLAllocHandle(SQL_HANDLE_STMT, c2, &s2), SQL_SUCCESS);
    execf("CREATE TABLE %s (id INT PRIMARY KEY, w VARCHAR(20))%s", tbl, engine());
    /* INSERT ... VALUES (1, N'word') written as UTF-16. */
    char head[128];
    SQLWCHAR sql[256];
    size_t k = 0;
    snprintf(head, sizeof head, "INSERT INTO %s VALUES (1, '", tbl);
    for (size_t i = 0; head[i]; i++)
        sql[k++] = (SQLWCHAR)head[i];
    for (size_t i = 0; word[i]; i++)
        sql[k++] = word[i];
    sql[k++] = '\'';
    sql[k++] = ')';
    sql[k] = 0;
    OK(SQLExecDirectW(s2, sql, SQL_NTS), SQL_HANDLE_STMT, s2);
    k = 0;
    snprintf(head, sizeof head, "SELECT w FROM %s", tbl);
    for (size_t i = 0; i <= strlen(head); i++)
        sql[k++] = (SQLWCHAR)head[i];
    OK(SQLExecDirectW(s2, sql, SQL_NTS), SQL_HANDLE_STMT, s2);
    OK(SQLDescribeColW(s2, 1, name, 32, &namelen, &type, &size, NULL, NULL), SQL_HANDLE_STMT, s2);
    ck_assert_int_eq(namelen, 1);
    ck_assert_uint_eq(name[0], 'w');
    ck_assert_int_eq(type, SQL_WVARCHAR); /* a Unicode connection sees W types */
    OK(SQLFetch(s2), SQL_HANDLE_STMT, s2);
    OK(SQLGetData(s2, 1, SQL_C_WCHAR, out, sizeof out, &len), SQL_HANDLE_STMT, s2);
    ck_assert_int_eq(len, 9 * (SQLLEN)sizeof(SQLWCHAR));
    ck_assert(memcmp(out, word, sizeof word) == 0);
    /* The same value as UTF-8 through SQL_C_CHAR. */
    char utf8[64];
    SQLFreeStmt(s2, SQL_CLOSE);
    OK(SQLExecDirectW(s2, sql, SQL_NTS), SQL_HANDLE_STMT, s2);
    OK(SQLFetch(s2), SQL_HANDLE_STMT, s2);
    OK(SQLGetData(s2, 1, SQL_C_CHAR, utf8, sizeof utf8, &len), SQL_HANDLE_STMT, s2);
    ck_assert_str_eq(utf8, "gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac\xf0\x9f\x98\x80");
    SQLWCHAR state[6], msg[256];
    SQLINTEGER native;
    SQLFreeStmt(s2, SQL_CLOSE);
    ck_assert_int_eq(SQLExecDirectW(s2, (SQLWCHAR[]){'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', ' ', 'F', 'R', 'O',
                                                     'M', ' ', 'W', 'H', 'E', 'R', 'E', 0}, SQL_NTS),
                     SQL_ERROR);
    ck_assert_int_eq(SQLGetDiagRecW(SQL_HANDLE_STMT, s2, 1, state, &native, msg, 256, &namelen), SQL_SUCCESS);
    char amsg[256];
    for (int i = 0; i < namelen && i < 255; i++)
        amsg[i] = (char)msg[i], amsg[i + 1] = 0;
    ck_assert_msg(strstr(amsg, "[Recall]") != NULL, "message: %s", amsg);
    SQLFreeHandle(SQL_HANDLE_STMT, s2);
    SQLDisconnect(c2);
    SQLFreeHandle(SQL_HANDLE_DBC, c2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("odbc_live");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, connect_variants);
    tcase_add_test(tc, get_info);
    tcase_add_test(tc, typed_parameters_round_trip);
    tcase_add_test(tc, parameter_arrays);
    tcase_add_test(tc, row_arrays_and_setpos);
    tcase_add_test(tc, data_at_execution_and_partial_getdata);
    tcase_add_test(tc, escapes_and_native_sql);
    tcase_add_test(tc, catalog_functions);
    tcase_add_test(tc, transactions);
    tcase_add_test(tc, diagnostics_from_the_server);
    tcase_add_test(tc, interleaved_statements);
    tcase_add_test(tc, query_timeout);
    tcase_add_test(tc, cancel_from_another_thread);
    tcase_add_test(tc, more_results_over_parameter_sets);
    tcase_add_test(tc, threads_share_a_connection);
    tcase_add_test(tc, login_timeout_attribute);
    tcase_add_test(tc, odbc2_application);
    tcase_add_test(tc, wide_entry_points);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (!getenv("ODBCSYSINI")) {
        printf("1..0 # SKIP run through tests/odbc/live.sh (needs a cluster and ODBCSYSINI)\n");
        return 0;
    }
    return testhelp_run(suite());
}
