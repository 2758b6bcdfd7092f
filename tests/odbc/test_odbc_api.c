/* The built driver module (libRecallODBC.so), loaded with dlopen() as a
 * driver manager would: SQLGetFunctions reports exactly the entry points
 * the module exports, every function with string arguments has its W twin,
 * and nothing but SQL* is exported (librecall and the driver's internals
 * stay hidden). */
#include "config.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>
#include <sqlucode.h>

#include "testhelp.h"

struct api {
    SQLUSMALLINT id;
    const char *name;
    bool has_w; /* takes or returns strings */
};

/* Every ODBC function the SQL_API_* codes name (ODBC 1.0 to 3.8). */
static const struct api apis[] = {
    {SQL_API_SQLALLOCCONNECT, "SQLAllocConnect", false}, {SQL_API_SQLALLOCENV, "SQLAllocEnv", false},
    {SQL_API_SQLALLOCSTMT, "SQLAllocStmt", false}, {SQL_API_SQLBINDCOL, "SQLBindCol", false},
    {SQL_API_SQLCANCEL, "SQLCancel", false}, {SQL_API_SQLCOLATTRIBUTE, "SQLColAttribute", true},
    {SQL_API_SQLCONNECT, "SQLConnect", true}, {SQL_API_SQLDESCRIBECOL, "SQLDescribeCol", true},
    {SQL_API_SQLDISCONNECT, "SQLDisconnect", false}, {SQL_API_SQLERROR, "SQLError", true},
    {SQL_API_SQLEXECDIRECT, "SQLExecDirect", true}, {SQL_API_SQLEXECUTE, "SQLExecute", false},
    {SQL_API_SQLFETCH, "SQLFetch", false}, {SQL_API_SQLFREECONNECT, "SQLFreeConnect", false},
    {SQL_API_SQLFREEENV, "SQLFreeEnv", false}, {SQL_API_SQLFREESTMT, "SQLFreeStmt", false},
    {SQL_API_SQLGETCURSORNAME, "SQLGetCursorName", true},
    {SQL_API_SQLNUMRESULTCOLS, "SQLNumResultCols", false}, {SQL_API_SQLPREPARE, "SQLPrepare", true},
    {SQL_API_SQLROWCOUNT, "SQLRowCount", false}, {SQL_API_SQLSETCURSORNAME, "SQLSetCursorName", true},
    {SQL_API_SQLSETPARAM, "SQLSetParam", false}, {SQL_API_SQLTRANSACT, "SQLTransact", false},
    {SQL_API_SQLBULKOPERATIONS, "SQLBulkOperations", false}, {SQL_API_SQLCOLUMNS, "SQLColumns", true},
    {SQL_API_SQLDRIVERCONNECT, "SQLDriverConnect", true},
    {SQL_API_SQLGETCONNECTOPTION, "SQLGetConnectOption", true}, {SQL_API_SQLGETDATA, "SQLGetData", false},
    {SQL_API_SQLGETFUNCTIONS, "SQLGetFunctions", false}, {SQL_API_SQLGETINFO, "SQLGetInfo", true},
    {SQL_API_SQLGETSTMTOPTION, "SQLGetStmtOption", false}, {SQL_API_SQLGETTYPEINFO, "SQLGetTypeInfo", true},
    {SQL_API_SQLPARAMDATA, "SQLParamData", false}, {SQL_API_SQLPUTDATA, "SQLPutData", false},
    {SQL_API_SQLSETCONNECTOPTION, "SQLSetConnectOption", true},
    {SQL_API_SQLSETSTMTOPTION, "SQLSetStmtOption", false},
    {SQL_API_SQLSPECIALCOLUMNS, "SQLSpecialColumns", true}, {SQL_API_SQLSTATISTICS, "SQLStatistics", true},
    {SQL_API_SQLTABLES, "SQLTables", true}, {SQL_API_SQLBROWSECONNECT, "SQLBrowseConnect", true},
    {SQL_API_SQLCOLUMNPRIVILEGES, "SQLColumnPrivileges", true},
    {SQL_API_SQLDATASOURCES, "SQLDataSources", true}, {SQL_API_SQLDESCRIBEPARAM, "SQLDescribeParam", false},
    {SQL_API_SQLEXTENDEDFETCH, "SQLExtendedFetch", false}, {SQL_API_SQLFOREIGNKEYS, "SQLForeignKeys", true},
    {SQL_API_SQLMORERESULTS, "SQLMoreResults", false}, {SQL_API_SQLNATIVESQL, "SQLNativeSql", true},
    {SQL_API_SQLNUMPARAMS, "SQLNumParams", false}, {SQL_API_SQLPARAMOPTIONS, "SQLParamOptions", false},
    {SQL_API_SQLPRIMARYKEYS, "SQLPrimaryKeys", true},
    {SQL_API_SQLPROCEDURECOLUMNS, "SQLProcedureColumns", true},
    {SQL_API_SQLPROCEDURES, "SQLProcedures", true}, {SQL_API_SQLSETPOS, "SQLSetPos", false},
    {SQL_API_SQLSETSCROLLOPTIONS, "SQLSetScrollOptions", false},
    {SQL_API_SQLTABLEPRIVILEGES, "SQLTablePrivileges", true}, {SQL_API_SQLDRIVERS, "SQLDrivers", true},
    {SQL_API_SQLBINDPARAMETER, "SQLBindParameter", false}, {SQL_API_SQLALLOCHANDLE, "SQLAllocHandle", false},
    {SQL_API_SQLBINDPARAM, "SQLBindParam", false}, {SQL_API_SQLCLOSECURSOR, "SQLCloseCursor", false},
    {SQL_API_SQLCOPYDESC, "SQLCopyDesc", false}, {SQL_API_SQLENDTRAN, "SQLEndTran", false},
    {SQL_API_SQLFREEHANDLE, "SQLFreeHandle", false}, {SQL_API_SQLGETCONNECTATTR, "SQLGetConnectAttr", true},
    {SQL_API_SQLGETDESCFIELD, "SQLGetDescField", true}, {SQL_API_SQLGETDESCREC, "SQLGetDescRec", true},
    {SQL_API_SQLGETDIAGFIELD, "SQLGetDiagField", true}, {SQL_API_SQLGETDIAGREC, "SQLGetDiagRec", true},
    {SQL_API_SQLGETENVATTR, "SQLGetEnvAttr", false}, {SQL_API_SQLGETSTMTATTR, "SQLGetStmtAttr", true},
    {SQL_API_SQLSETCONNECTATTR, "SQLSetConnectAttr", true},
    {SQL_API_SQLSETDESCFIELD, "SQLSetDescField", true}, {SQL_API_SQLSETDESCREC, "SQLSetDescRec", false},
    {SQL_API_SQLSETENVATTR, "SQLSetEnvAttr", false}, {SQL_API_SQLSETSTMTATTR, "SQLSetStmtAttr", true},
    {SQL_API_SQLFETCHSCROLL, "SQLFetchScroll", false},
};

static void *module;
static char module_path[1024];

typedef SQLRETURN (*alloc_fn)(SQLSMALLINT, SQLHANDLE, SQLHANDLE *);
typedef SQLRETURN (*free_fn)(SQLSMALLINT, SQLHANDLE);
typedef SQLRETURN (*getfunc_fn)(SQLHDBC, SQLUSMALLINT, SQLUSMALLINT *);

static void setup(void)
{
    const char *top = getenv("top_builddir");
    snprintf(module_path, sizeof module_path, "%s/odbc/.libs/libRecallODBC.so", top ? top : ".");
    module = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(module != NULL, "dlopen %s: %s", module_path, dlerror());
}

static void teardown(void)
{
    if (module)
        dlclose(module);
}

/* Whether the module itself (not a library it depends on) defines name. */
static bool exported(const char *name)
{
    void *p = dlsym(module, name);
    Dl_info info;
    if (!p || !dladdr(p, &info) || !info.dli_fname)
        return false;
    return strstr(info.dli_fname, "libRecallODBC.so") != NULL;
}

START_TEST(get_functions_matches_exports)
{
    alloc_fn alloc = (alloc_fn)dlsym(module, "SQLAllocHandle");
    free_fn fr = (free_fn)dlsym(module, "SQLFreeHandle");
    getfunc_fn getf = (getfunc_fn)dlsym(module, "SQLGetFunctions");
    SQLHANDLE env, dbc;
    SQLUSMALLINT bits[SQL_API_ODBC3_ALL_FUNCTIONS_SIZE], one, all2[100];
    int n_supported = 0;
    ck_assert(alloc && fr && getf);
    ck_assert_int_eq(alloc(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env), SQL_SUCCESS);
    ck_assert_int_eq(alloc(SQL_HANDLE_DBC, env, &dbc), SQL_SUCCESS);
    ck_assert_int_eq(getf(dbc, SQL_API_ODBC3_ALL_FUNCTIONS, bits), SQL_SUCCESS);
    ck_assert_int_eq(getf(dbc, SQL_API_ALL_FUNCTIONS, all2), SQL_SUCCESS);
    for (size_t i = 0; i < sizeof apis / sizeof apis[0]; i++) {
        const struct api *a = &apis[i];
        bool says = SQL_FUNC_EXISTS(bits, a->id) == SQL_TRUE;
        ck_assert_int_eq(getf(dbc, a->id, &one), SQL_SUCCESS);
        ck_assert_msg((one == SQL_TRUE) == says, "%s: single and bitmap answers differ", a->name);
        if (a->id < 100)
            ck_assert_msg((all2[a->id] == SQL_TRUE) == says, "%s: ODBC 2 array differs", a->name);
        ck_assert_msg(says == exported(a->name), "%s: SQLGetFunctions says %d, exported %d", a->name,
                      says, exported(a->name));
        if (says) {
            n_supported++;
            char wname[64];
            snprintf(wname, sizeof wname, "%sW", a->name);
            ck_assert_msg(exported(wname) == a->has_w, "%s: W twin exported %d, expected %d", a->name,
                          exported(wname), a->has_w);
        }
    }
    /* ODBC Core plus the Level 1/2 functions the driver promises. */
    ck_assert_int_ge(n_supported, 56);
    ck_assert_int_eq(fr(SQL_HANDLE_DBC, dbc), SQL_SUCCESS);
    ck_assert_int_eq(fr(SQL_HANDLE_ENV, env), SQL_SUCCESS);
}
END_TEST

START_TEST(only_sql_symbols_exported)
{
    static const char *const hidden[] = {
        "odbc_fetch", "odbc_post", "conv_to_c", "conv_from_c", "escape_rewrite", "dsn_resolve",
        "wide_to_utf8", "buf_init", "connstr_parse", "err_set", "recall_connect", "recall_prepare",
        "odbc_functions"};
    for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
        ck_assert_msg(!exported(hidden[i]), "%s is exported", hidden[i]);
    ck_assert(exported("SQLFetch"));
}
END_TEST

START_TEST(handles_are_checked)
{
    alloc_fn alloc = (alloc_fn)dlsym(module, "SQLAllocHandle");
    free_fn fr = (free_fn)dlsym(module, "SQLFreeHandle");
    SQLHANDLE env, dbc, stmt = NULL;
    int junk[64] = {0};
    ck_assert_int_eq(alloc(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env), SQL_SUCCESS);
    /* A statement needs a connected connection. */
    ck_assert_int_eq(alloc(SQL_HANDLE_DBC, env, &dbc), SQL_SUCCESS);
    ck_assert_int_eq(alloc(SQL_HANDLE_STMT, dbc, &stmt), SQL_ERROR);
    ck_assert_ptr_null(stmt);
    /* Handles of the wrong kind or garbage are SQL_INVALID_HANDLE. */
    ck_assert_int_eq(alloc(SQL_HANDLE_DBC, dbc, &stmt), SQL_INVALID_HANDLE);
    ck_assert_int_eq(fr(SQL_HANDLE_STMT, junk), SQL_INVALID_HANDLE);
    ck_assert_int_eq(fr(SQL_HANDLE_STMT, dbc), SQL_INVALID_HANDLE);
    /* The environment outlives its connections. */
    ck_assert_int_eq(fr(SQL_HANDLE_ENV, env), SQL_ERROR);
    ck_assert_int_eq(fr(SQL_HANDLE_DBC, dbc), SQL_SUCCESS);
    ck_assert_int_eq(fr(SQL_HANDLE_ENV, env), SQL_SUCCESS);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("odbc_api");
    TCase *tc = tcase_create("module");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, get_functions_matches_exports);
    tcase_add_test(tc, only_sql_symbols_exported);
    tcase_add_test(tc, handles_are_checked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
