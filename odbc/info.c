/* What the Recall ODBC driver says about itself and its data source:
 * SQLGetInfo (driver, DBMS, SQL support, limits, scalar functions,
 * conversions), SQLGetTypeInfo (the MariaDB/MySQL or SQLite types), and
 * SQLGetFunctions, which reports exactly the entry points this library
 * exports (odbc_functions[] is the one list; a unit test checks it against
 * the symbols of the built library).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odbc-internal.h"

/* ---------------------------------------------------------- SQLGetFunctions */

const SQLUSMALLINT odbc_functions[] = {
    SQL_API_SQLALLOCHANDLE, SQL_API_SQLBINDCOL, SQL_API_SQLBINDPARAMETER, SQL_API_SQLCANCEL,
    SQL_API_SQLCLOSECURSOR, SQL_API_SQLCOLATTRIBUTE, SQL_API_SQLCOLUMNPRIVILEGES,
    SQL_API_SQLCOLUMNS, SQL_API_SQLCONNECT, SQL_API_SQLCOPYDESC, SQL_API_SQLDESCRIBECOL,
    SQL_API_SQLDESCRIBEPARAM, SQL_API_SQLDISCONNECT, SQL_API_SQLDRIVERCONNECT,
    SQL_API_SQLENDTRAN, SQL_API_SQLEXECDIRECT, SQL_API_SQLEXECUTE, SQL_API_SQLEXTENDEDFETCH,
    SQL_API_SQLFETCH, SQL_API_SQLFETCHSCROLL, SQL_API_SQLFOREIGNKEYS, SQL_API_SQLFREEHANDLE,
    SQL_API_SQLFREESTMT, SQL_API_SQLGETCONNECTATTR, SQL_API_SQLGETCURSORNAME,
    SQL_API_SQLGETDATA, SQL_API_SQLGETDESCFIELD, SQL_API_SQLGETDESCREC,
    SQL_API_SQLGETDIAGFIELD, SQL_API_SQLGETDIAGREC, SQL_API_SQLGETENVATTR,
    SQL_API_SQLGETFUNCTIONS, SQL_API_SQLGETINFO, SQL_API_SQLGETSTMTATTR, SQL_API_SQLGETTYPEINFO,
    SQL_API_SQLMORERESULTS, SQL_API_SQLNATIVESQL, SQL_API_SQLNUMPARAMS,
    SQL_API_SQLNUMRESULTCOLS, SQL_API_SQLPARAMDATA, SQL_API_SQLPREPARE,
    SQL_API_SQLPRIMARYKEYS, SQL_API_SQLPROCEDURECOLUMNS, SQL_API_SQLPROCEDURES,
    SQL_API_SQLPUTDATA, SQL_API_SQLROWCOUNT, SQL_API_SQLSETCONNECTATTR,
    SQL_API_SQLSETCURSORNAME, SQL_API_SQLSETDESCFIELD, SQL_API_SQLSETDESCREC,
    SQL_API_SQLSETENVATTR, SQL_API_SQLSETPOS, SQL_API_SQLSETSTMTATTR,
    SQL_API_SQLSPECIALCOLUMNS, SQL_API_SQLSTATISTICS, SQL_API_SQLTABLEPRIVILEGES,
    SQL_API_SQLTABLES};
const size_t odbc_nfunctions = sizeof odbc_functions / sizeof odbc_functions[0];

SQLRETURN odbc_get_functions(struct odbc_conn *c, SQLUSMALLINT id, SQLUSMALLINT *supported)
{
    if (!supported)
        return odbc_post(&c->h, "HY009", 0, "invalid use of null pointer");
    if (id == SQL_API_ODBC3_ALL_FUNCTIONS) {
        memset(supported, 0, SQL_API_ODBC3_ALL_FUNCTIONS_SIZE * sizeof(SQLUSMALLINT));
        for (size_t i = 0; i < odbc_nfunctions; i++)
            supported[odbc_functions[i] >> 4] |= (SQLUSMALLINT)(1u << (odbc_functions[i] & 0xf));
        return SQL_SUCCESS;
    }
    if (id == SQL_API_ALL_FUNCTIONS) {
        memset(supported, 0, 100 * sizeof(SQLUSMALLINT));
        for (size_t i = 0; i < odbc_nfunctions; i++)
            if (odbc_functions[i] < 100)
                supported[odbc_functions[i]] = SQL_TRUE;
        return SQL_SUCCESS;
    }
    *supported = SQL_FALSE;
    for (size_t i = 0; i < odbc_nfunctions; i++)
        if (odbc_functions[i] == id)
            *supported = SQL_TRUE;
    return SQL_SUCCESS;
}

/* ---------------------------------------------------------- SQLGetInfo */

#define MYSQL_KEYWORDS                                                                       \
    "ACCESSIBLE,ANALYZE,AUTO_INCREMENT,BIGINT,BINARY,BLOB,CHANGE,DATABASES,DAY_HOUR,"      \
    "DAY_MICROSECOND,DAY_MINUTE,DAY_SECOND,DELAYED,DISTINCTROW,DIV,DUAL,ENCLOSED,ESCAPED," \
    "EXPLAIN,FLOAT4,FLOAT8,FORCE,FULLTEXT,HIGH_PRIORITY,HOUR_MICROSECOND,HOUR_MINUTE,"     \
    "HOUR_SECOND,IF,IGNORE,INFILE,INT1,INT2,INT3,INT4,INT8,ITERATE,KEYS,KILL,LEAVE,LIMIT,"  \
    "LINEAR,LINES,LOAD,LOCALTIME,LOCALTIMESTAMP,LOCK,LONG,LONGBLOB,LONGTEXT,LOOP,"          \
    "LOW_PRIORITY,MEDIUMBLOB,MEDIUMINT,MEDIUMTEXT,MIDDLEINT,MINUTE_MICROSECOND,"           \
    "MINUTE_SECOND,MOD,MODIFIES,NO_WRITE_TO_BINLOG,OPTIMIZE,OPTIONALLY,OUTFILE,PURGE,"      \
    "RANGE,READS,REGEXP,RENAME,REPEAT,REPLACE,REQUIRE,RETURNING,RLIKE,SCHEMAS,"             \
    "SECOND_MICROSECOND,SENSITIVE,SEPARATOR,SHOW,SPATIAL,SQL_BIG_RESULT,"                   \
    "SQL_CALC_FOUND_ROWS,SQL_SMALL_RESULT,SSL,STARTING,STRAIGHT_JOIN,TERMINATED,TINYBLOB,"  \
    "TINYINT,TINYTEXT,UNDO,UNLOCK,UNSIGNED,USE,UTC_DATE,UTC_TIME,UTC_TIMESTAMP,VARBINARY,"  \
    "VARCHARACTER,WHILE,XOR,YEAR_MONTH,ZEROFILL"

#define SQLITE_KEYWORDS                                                                      \
    "ABORT,ANALYZE,ATTACH,AUTOINCREMENT,BEFORE,CONFLICT,DATABASE,DETACH,EACH,EXCLUSIVE,"    \
    "EXPLAIN,FAIL,GLOB,IF,IGNORE,INDEXED,INSTEAD,ISNULL,LIMIT,NOTNULL,OFFSET,PLAN,PRAGMA,"  \
    "QUERY,RAISE,RECURSIVE,REGEXP,REINDEX,RENAME,REPLACE,RETURNING,ROW,TEMP,TRIGGER,"       \
    "VACUUM,VIRTUAL,WITHOUT"

#define CVT_ALL                                                                              \
    (SQL_CVT_CHAR | SQL_CVT_VARCHAR | SQL_CVT_LONGVARCHAR | SQL_CVT_WCHAR | SQL_CVT_WVARCHAR | \
     SQL_CVT_WLONGVARCHAR | SQL_CVT_DECIMAL | SQL_CVT_NUMERIC | SQL_CVT_BIT | SQL_CVT_TINYINT |  \
     SQL_CVT_SMALLINT | SQL_CVT_INTEGER | SQL_CVT_BIGINT | SQL_CVT_REAL | SQL_CVT_FLOAT |        \
     SQL_CVT_DOUBLE | SQL_CVT_BINARY | SQL_CVT_VARBINARY | SQL_CVT_LONGVARBINARY |              \
     SQL_CVT_DATE | SQL_CVT_TIME | SQL_CVT_TIMESTAMP)

enum ival_kind { IV_STR, IV_U16, IV_U32, IV_ULEN };

struct ival {
    enum ival_kind kind;
    const char *s;
    SQLULEN n;
};

static struct ival S(const char *s) { return (struct ival){IV_STR, s, 0}; }
static struct ival U16(SQLULEN n) { return (struct ival){IV_U16, NULL, n}; }
static struct ival U32(SQLULEN n) { return (struct ival){IV_U32, NULL, n}; }

/* The value of an info type; kind IV_STR with s NULL: unknown type. */
static struct ival info_value(struct odbc_conn *c, SQLUSMALLINT type)
{
    bool my = c->backend != BACKEND_SQLITE;
    switch (type) {
    /* ---- driver ---- */
    case SQL_ACTIVE_ENVIRONMENTS: return U16(0);
    case SQL_ASYNC_DBC_FUNCTIONS: return U32(SQL_ASYNC_DBC_NOT_CAPABLE);
    case SQL_ASYNC_MODE: return U32(SQL_AM_NONE);
    case SQL_ASYNC_NOTIFICATION: return U32(SQL_ASYNC_NOTIFICATION_NOT_CAPABLE);
    case SQL_BATCH_ROW_COUNT: return U32(0);
    case SQL_BATCH_SUPPORT: return U32(0);
    case SQL_DATA_SOURCE_NAME: return S(c->dsn ? c->dsn : "");
    case SQL_DRIVER_AWARE_POOLING_SUPPORTED: return U32(SQL_DRIVER_AWARE_POOLING_NOT_CAPABLE);
    case SQL_DRIVER_HDBC: return (struct ival){IV_ULEN, NULL, (SQLULEN)(uintptr_t)c};
    case SQL_DRIVER_HENV: return (struct ival){IV_ULEN, NULL, (SQLULEN)(uintptr_t)c->env};
    case SQL_DRIVER_NAME: return S(ODBC_DRIVER_NAME);
    case SQL_DRIVER_ODBC_VER: return S("03.51");
    case SQL_DRIVER_VER: return S(ODBC_DRIVER_VER);
    case SQL_DYNAMIC_CURSOR_ATTRIBUTES1: return U32(0);
    case SQL_DYNAMIC_CURSOR_ATTRIBUTES2: return U32(0);
    case SQL_FORWARD_ONLY_CURSOR_ATTRIBUTES1: return U32(SQL_CA1_NEXT | SQL_CA1_POS_POSITION);
    case SQL_FORWARD_ONLY_CURSOR_ATTRIBUTES2:
        return U32(SQL_CA2_READ_ONLY_CONCURRENCY | SQL_CA2_MAX_ROWS_SELECT);
    case SQL_FILE_USAGE: return U16(SQL_FILE_NOT_SUPPORTED);
    case SQL_GETDATA_EXTENSIONS:
        return U32(SQL_GD_ANY_COLUMN | SQL_GD_ANY_ORDER | SQL_GD_BLOCK | SQL_GD_BOUND);
    case SQL_INFO_SCHEMA_VIEWS: return U32(0);
    case SQL_KEYSET_CURSOR_ATTRIBUTES1: return U32(0);
    case SQL_KEYSET_CURSOR_ATTRIBUTES2: return U32(0);
    case SQL_MAX_ASYNC_CONCURRENT_STATEMENTS: return U32(0);
    case SQL_MAX_CONCURRENT_ACTIVITIES: return U16(0);
    case SQL_MAX_DRIVER_CONNECTIONS: return U16(0);
    case SQL_ODBC_INTERFACE_CONFORMANCE: return U32(SQL_OIC_CORE);
    case SQL_PARAM_ARRAY_ROW_COUNTS: return U32(SQL_PARC_NO_BATCH);
    case SQL_PARAM_ARRAY_SELECTS: return U32(SQL_PAS_BATCH);
    case SQL_ROW_UPDATES: return S("N");
    case SQL_SEARCH_PATTERN_ESCAPE: return S("\\");
    case SQL_SERVER_NAME: return S(c->servers ? c->servers : "");
    case SQL_STATIC_CURSOR_ATTRIBUTES1: return U32(0);
    case SQL_STATIC_CURSOR_ATTRIBUTES2: return U32(0);
    /* ---- DBMS ---- */
    case SQL_DATABASE_NAME:
        return S(my ? (c->current_catalog ? c->current_catalog : c->database ? c->database : "")
                    : "main");
    case SQL_DBMS_NAME: return S(c->dbms_name);
    case SQL_DBMS_VER: return S(c->dbms_ver);
    /* ---- data source ---- */
    case SQL_ACCESSIBLE_PROCEDURES: return S("N");
    case SQL_ACCESSIBLE_TABLES: return S("N");
    case SQL_BOOKMARK_PERSISTENCE: return U32(0);
    case SQL_CATALOG_TERM: return S(my ? "database" : "");
    case SQL_COLLATION_SEQ: return S("");
    case SQL_CONCAT_NULL_BEHAVIOR: return U16(SQL_CB_NULL);
    case SQL_CURSOR_COMMIT_BEHAVIOR: return U16(SQL_CB_PRESERVE);
    case SQL_CURSOR_ROLLBACK_BEHAVIOR: return U16(SQL_CB_PRESERVE);
    case SQL_CURSOR_SENSITIVITY: return U32(SQL_INSENSITIVE);
    case SQL_DATA_SOURCE_READ_ONLY: return S(c->access_mode == SQL_MODE_READ_ONLY ? "Y" : "N");
    case SQL_DEFAULT_TXN_ISOLATION: return U32(SQL_TXN_REPEATABLE_READ);
    case SQL_DESCRIBE_PARAMETER: return S("N");
    case SQL_MULT_RESULT_SETS: return S("N");
    case SQL_MULTIPLE_ACTIVE_TXN: return S("Y");
    case SQL_NEED_LONG_DATA_LEN: return S("N");
    case SQL_NULL_COLLATION: return U16(SQL_NC_LOW);
    case SQL_PROCEDURE_TERM: return S(my ? "stored procedure" : "");
    case SQL_SCHEMA_TERM: return S("");
    case SQL_SCROLL_OPTIONS: return U32(SQL_SO_FORWARD_ONLY);
    case SQL_TABLE_TERM: return S("table");
    case SQL_TXN_CAPABLE: return U16(SQL_TC_DDL_COMMIT);
    case SQL_TXN_ISOLATION_OPTION: return U32(SQL_TXN_REPEATABLE_READ | SQL_TXN_SERIALIZABLE);
    case SQL_USER_NAME: return S(c->user ? c->user : "");
    /* ---- supported SQL ---- */
    case SQL_AGGREGATE_FUNCTIONS:
        return U32(SQL_AF_ALL | SQL_AF_AVG | SQL_AF_COUNT | SQL_AF_DISTINCT | SQL_AF_MAX |
                   SQL_AF_MIN | SQL_AF_SUM);
    case SQL_ALTER_DOMAIN: return U32(0);
    case SQL_ALTER_TABLE:
        return U32(my ? SQL_AT_ADD_COLUMN_SINGLE | SQL_AT_ADD_COLUMN_DEFAULT |
                            SQL_AT_ADD_COLUMN_COLLATION | SQL_AT_ADD_CONSTRAINT |
                            SQL_AT_ADD_TABLE_CONSTRAINT | SQL_AT_DROP_COLUMN_DEFAULT |
                            SQL_AT_DROP_COLUMN_CASCADE | SQL_AT_DROP_COLUMN_RESTRICT |
                            SQL_AT_SET_COLUMN_DEFAULT | SQL_AT_CONSTRAINT_NAME_DEFINITION
                      : SQL_AT_ADD_COLUMN_SINGLE | SQL_AT_ADD_COLUMN_DEFAULT |
                            SQL_AT_DROP_COLUMN_RESTRICT);
    case SQL_CATALOG_LOCATION: return U16(my ? SQL_CL_START : 0);
    case SQL_CATALOG_NAME: return S(my ? "Y" : "N");
    case SQL_CATALOG_NAME_SEPARATOR: return S(my ? "." : "");
    case SQL_CATALOG_USAGE:
        return U32(my ? SQL_CU_DML_STATEMENTS | SQL_CU_PROCEDURE_INVOCATION |
                            SQL_CU_TABLE_DEFINITION | SQL_CU_INDEX_DEFINITION |
                            SQL_CU_PRIVILEGE_DEFINITION
                      : 0);
    case SQL_COLUMN_ALIAS: return S("Y");
    case SQL_CORRELATION_NAME: return U16(SQL_CN_ANY);
    case SQL_CREATE_ASSERTION: case SQL_CREATE_CHARACTER_SET: case SQL_CREATE_COLLATION:
    case SQL_CREATE_DOMAIN: case SQL_CREATE_SCHEMA: case SQL_CREATE_TRANSLATION:
    case SQL_DROP_ASSERTION: case SQL_DROP_CHARACTER_SET: case SQL_DROP_COLLATION:
    case SQL_DROP_DOMAIN: case SQL_DROP_SCHEMA: case SQL_DROP_TRANSLATION:
        return U32(0);
    case SQL_CREATE_TABLE:
        return U32(SQL_CT_CREATE_TABLE | SQL_CT_COLUMN_CONSTRAINT | SQL_CT_COLUMN_DEFAULT |
                   SQL_CT_TABLE_CONSTRAINT | SQL_CT_CONSTRAINT_NAME_DEFINITION |
                   (my ? SQL_CT_COLUMN_COLLATION : 0));
    case SQL_CREATE_VIEW: return U32(SQL_CV_CREATE_VIEW);
    case SQL_DDL_INDEX: return U32(SQL_DI_CREATE_INDEX | SQL_DI_DROP_INDEX);
    case SQL_DROP_TABLE: return U32(SQL_DT_DROP_TABLE);
    case SQL_DROP_VIEW: return U32(SQL_DV_DROP_VIEW);
    case SQL_EXPRESSIONS_IN_ORDERBY: return S("Y");
    case SQL_GROUP_BY: return U16(SQL_GB_NO_RELATION);
    case SQL_IDENTIFIER_CASE: return U16(SQL_IC_MIXED);
    case SQL_IDENTIFIER_QUOTE_CHAR: return S(my ? "`" : "\"");
    case SQL_INDEX_KEYWORDS: return U32(SQL_IK_ALL);
    case SQL_INSERT_STATEMENT: return U32(SQL_IS_INSERT_LITERALS | SQL_IS_INSERT_SEARCHED);
    case SQL_INTEGRITY: return S("N");
    case SQL_KEYWORDS: return S(my ? MYSQL_KEYWORDS : SQLITE_KEYWORDS);
    case SQL_LIKE_ESCAPE_CLAUSE: return S("Y");
    case SQL_NON_NULLABLE_COLUMNS: return U16(SQL_NNC_NON_NULL);
    case SQL_SQL_CONFORMANCE: return U32(SQL_SC_SQL92_ENTRY);
    case SQL_OJ_CAPABILITIES:
        return U32(SQL_OJ_LEFT | SQL_OJ_RIGHT | SQL_OJ_NESTED | SQL_OJ_NOT_ORDERED |
                   SQL_OJ_INNER | SQL_OJ_ALL_COMPARISON_OPS);
    case SQL_ORDER_BY_COLUMNS_IN_SELECT: return S("N");
    case SQL_OUTER_JOINS: return S("Y");
    case SQL_PROCEDURES: return S("N");
    case SQL_QUOTED_IDENTIFIER_CASE: return U16(SQL_IC_SENSITIVE);
    case SQL_SCHEMA_USAGE: return U32(0);
    case SQL_SPECIAL_CHARACTERS: return S(my ? "$" : "");
    case SQL_SQL92_DATETIME_FUNCTIONS:
        return U32(SQL_SDF_CURRENT_DATE | SQL_SDF_CURRENT_TIME | SQL_SDF_CURRENT_TIMESTAMP);
    case SQL_SQL92_FOREIGN_KEY_DELETE_RULE:
    case SQL_SQL92_FOREIGN_KEY_UPDATE_RULE:
        return U32(SQL_SFKD_CASCADE | SQL_SFKD_NO_ACTION | SQL_SFKD_SET_NULL |
                   (my ? 0 : SQL_SFKD_SET_DEFAULT));
    case SQL_SQL92_GRANT:
        return U32(my ? SQL_SG_DELETE_TABLE | SQL_SG_INSERT_TABLE | SQL_SG_INSERT_COLUMN |
                            SQL_SG_REFERENCES_TABLE | SQL_SG_SELECT_TABLE |
                            SQL_SG_UPDATE_TABLE | SQL_SG_UPDATE_COLUMN | SQL_SG_WITH_GRANT_OPTION
                      : 0);
    case SQL_SQL92_REVOKE:
        return U32(my ? SQL_SR_DELETE_TABLE | SQL_SR_INSERT_TABLE | SQL_SR_INSERT_COLUMN |
                            SQL_SR_REFERENCES_TABLE | SQL_SR_SELECT_TABLE |
                            SQL_SR_UPDATE_TABLE | SQL_SR_UPDATE_COLUMN | SQL_SR_GRANT_OPTION_FOR
                      : 0);
    case SQL_SQL92_NUMERIC_VALUE_FUNCTIONS:
        return U32(my ? SQL_SNVF_BIT_LENGTH | SQL_SNVF_CHAR_LENGTH | SQL_SNVF_CHARACTER_LENGTH |
                            SQL_SNVF_EXTRACT | SQL_SNVF_OCTET_LENGTH | SQL_SNVF_POSITION
                      : 0);
    case SQL_SQL92_PREDICATES:
        return U32(SQL_SP_BETWEEN | SQL_SP_COMPARISON | SQL_SP_EXISTS | SQL_SP_IN |
                   SQL_SP_ISNOTNULL | SQL_SP_ISNULL | SQL_SP_LIKE |
                   (my ? SQL_SP_QUANTIFIED_COMPARISON : 0));
    case SQL_SQL92_RELATIONAL_JOIN_OPERATORS:
        return U32(SQL_SRJO_CROSS_JOIN | SQL_SRJO_INNER_JOIN | SQL_SRJO_LEFT_OUTER_JOIN |
                   SQL_SRJO_NATURAL_JOIN | SQL_SRJO_RIGHT_OUTER_JOIN);
    case SQL_SQL92_ROW_VALUE_CONSTRUCTOR:
        return U32(SQL_SRVC_VALUE_EXPRESSION | SQL_SRVC_NULL | SQL_SRVC_ROW_SUBQUERY |
                   (my ? SQL_SRVC_DEFAULT : 0));
    case SQL_SQL92_STRING_FUNCTIONS:
        return U32(my ? SQL_SSF_CONVERT | SQL_SSF_LOWER | SQL_SSF_UPPER | SQL_SSF_SUBSTRING |
                            SQL_SSF_TRIM_BOTH | SQL_SSF_TRIM_LEADING | SQL_SSF_TRIM_TRAILING
                      : SQL_SSF_LOWER | SQL_SSF_UPPER);
    case SQL_SQL92_VALUE_EXPRESSIONS:
        return U32(SQL_SVE_CASE | SQL_SVE_CAST | SQL_SVE_COALESCE | SQL_SVE_NULLIF);
    case SQL_STANDARD_CLI_CONFORMANCE: return U32(SQL_SCC_XOPEN_CLI_VERSION1);
    case SQL_SUBQUERIES:
        return U32(SQL_SQ_COMPARISON | SQL_SQ_EXISTS | SQL_SQ_IN | SQL_SQ_CORRELATED_SUBQUERIES |
                   (my ? SQL_SQ_QUANTIFIED : 0));
    case SQL_UNION: return U32(SQL_U_UNION | SQL_U_UNION_ALL);
    /* ---- limits ---- */
    case SQL_MAX_BINARY_LITERAL_LEN: return U32(0);
    case SQL_MAX_CATALOG_NAME_LEN: return U16(my ? 64 : 0);
    case SQL_MAX_CHAR_LITERAL_LEN: return U32(0);
    case SQL_MAX_COLUMN_NAME_LEN: return U16(my ? 64 : 0);
    case SQL_MAX_COLUMNS_IN_GROUP_BY: return U16(0);
    case SQL_MAX_COLUMNS_IN_INDEX: return U16(my ? 32 : 0);
    case SQL_MAX_COLUMNS_IN_ORDER_BY: return U16(0);
    case SQL_MAX_COLUMNS_IN_SELECT: return U16(my ? 4096 : 2000);
    case SQL_MAX_COLUMNS_IN_TABLE: return U16(my ? 4096 : 2000);
    case SQL_MAX_CURSOR_NAME_LEN: return U16(64);
    case SQL_MAX_IDENTIFIER_LEN: return U16(my ? 64 : 0);
    case SQL_MAX_INDEX_SIZE: return U32(my ? 3072 : 0);
    case SQL_MAX_PROCEDURE_NAME_LEN: return U16(my ? 64 : 0);
    case SQL_MAX_ROW_SIZE: return U32(my ? 65535 : 0);
    case SQL_MAX_ROW_SIZE_INCLUDES_LONG: return S("N");
    case SQL_MAX_SCHEMA_NAME_LEN: return U16(0);
    case SQL_MAX_STATEMENT_LEN: return U32(0);
    case SQL_MAX_TABLE_NAME_LEN: return U16(my ? 64 : 0);
    case SQL_MAX_TABLES_IN_SELECT: return U16(my ? 61 : 64);
    case SQL_MAX_USER_NAME_LEN: return U16(my ? 80 : 0);
    /* ---- scalar functions ---- */
    case SQL_CONVERT_FUNCTIONS: return U32(SQL_FN_CVT_CAST | SQL_FN_CVT_CONVERT);
    case SQL_NUMERIC_FUNCTIONS:
        return U32(my ? SQL_FN_NUM_ABS | SQL_FN_NUM_ACOS | SQL_FN_NUM_ASIN | SQL_FN_NUM_ATAN |
                            SQL_FN_NUM_ATAN2 | SQL_FN_NUM_CEILING | SQL_FN_NUM_COS |
                            SQL_FN_NUM_COT | SQL_FN_NUM_DEGREES | SQL_FN_NUM_EXP |
                            SQL_FN_NUM_FLOOR | SQL_FN_NUM_LOG | SQL_FN_NUM_LOG10 |
                            SQL_FN_NUM_MOD | SQL_FN_NUM_PI | SQL_FN_NUM_POWER |
                            SQL_FN_NUM_RADIANS | SQL_FN_NUM_RAND | SQL_FN_NUM_ROUND |
                            SQL_FN_NUM_SIGN | SQL_FN_NUM_SIN | SQL_FN_NUM_SQRT |
                            SQL_FN_NUM_TAN | SQL_FN_NUM_TRUNCATE
                      : SQL_FN_NUM_ABS | SQL_FN_NUM_MOD | SQL_FN_NUM_ROUND);
    case SQL_STRING_FUNCTIONS:
        return U32(my ? SQL_FN_STR_ASCII | SQL_FN_STR_BIT_LENGTH | SQL_FN_STR_CHAR |
                            SQL_FN_STR_CHAR_LENGTH | SQL_FN_STR_CHARACTER_LENGTH |
                            SQL_FN_STR_CONCAT | SQL_FN_STR_INSERT | SQL_FN_STR_LCASE |
                            SQL_FN_STR_LEFT | SQL_FN_STR_LENGTH | SQL_FN_STR_LOCATE |
                            SQL_FN_STR_LOCATE_2 | SQL_FN_STR_LTRIM | SQL_FN_STR_OCTET_LENGTH |
                            SQL_FN_STR_POSITION | SQL_FN_STR_REPEAT | SQL_FN_STR_REPLACE |
                            SQL_FN_STR_RIGHT | SQL_FN_STR_RTRIM | SQL_FN_STR_SOUNDEX |
                            SQL_FN_STR_SPACE | SQL_FN_STR_SUBSTRING | SQL_FN_STR_UCASE
                      : SQL_FN_STR_CHAR_LENGTH | SQL_FN_STR_CHARACTER_LENGTH |
                            SQL_FN_STR_CONCAT | SQL_FN_STR_LCASE | SQL_FN_STR_LEFT |
                            SQL_FN_STR_LENGTH | SQL_FN_STR_LOCATE_2 | SQL_FN_STR_LTRIM |
                            SQL_FN_STR_OCTET_LENGTH | SQL_FN_STR_REPLACE | SQL_FN_STR_RIGHT |
                            SQL_FN_STR_RTRIM | SQL_FN_STR_SPACE | SQL_FN_STR_SUBSTRING |
                            SQL_FN_STR_UCASE);
    case SQL_SYSTEM_FUNCTIONS:
        return U32(SQL_FN_SYS_DBNAME | SQL_FN_SYS_IFNULL | (my ? SQL_FN_SYS_USERNAME : 0));
    case SQL_TIMEDATE_ADD_INTERVALS:
        return U32(my ? SQL_FN_TSI_FRAC_SECOND | SQL_FN_TSI_SECOND | SQL_FN_TSI_MINUTE |
                            SQL_FN_TSI_HOUR | SQL_FN_TSI_DAY | SQL_FN_TSI_WEEK |
                            SQL_FN_TSI_MONTH | SQL_FN_TSI_QUARTER | SQL_FN_TSI_YEAR
                      : SQL_FN_TSI_SECOND | SQL_FN_TSI_MINUTE | SQL_FN_TSI_HOUR |
                            SQL_FN_TSI_DAY | SQL_FN_TSI_WEEK | SQL_FN_TSI_MONTH |
                            SQL_FN_TSI_YEAR);
    case SQL_TIMEDATE_DIFF_INTERVALS:
        return U32(my ? SQL_FN_TSI_FRAC_SECOND | SQL_FN_TSI_SECOND | SQL_FN_TSI_MINUTE |
                            SQL_FN_TSI_HOUR | SQL_FN_TSI_DAY | SQL_FN_TSI_WEEK |
                            SQL_FN_TSI_MONTH | SQL_FN_TSI_QUARTER | SQL_FN_TSI_YEAR
                      : SQL_FN_TSI_FRAC_SECOND | SQL_FN_TSI_SECOND | SQL_FN_TSI_MINUTE |
                            SQL_FN_TSI_HOUR | SQL_FN_TSI_DAY | SQL_FN_TSI_WEEK);
    case SQL_TIMEDATE_FUNCTIONS:
        return U32(my ? SQL_FN_TD_CURRENT_DATE | SQL_FN_TD_CURRENT_TIME |
                            SQL_FN_TD_CURRENT_TIMESTAMP | SQL_FN_TD_CURDATE |
                            SQL_FN_TD_CURTIME | SQL_FN_TD_DAYNAME | SQL_FN_TD_DAYOFMONTH |
                            SQL_FN_TD_DAYOFWEEK | SQL_FN_TD_DAYOFYEAR | SQL_FN_TD_EXTRACT |
                            SQL_FN_TD_HOUR | SQL_FN_TD_MINUTE | SQL_FN_TD_MONTH |
                            SQL_FN_TD_MONTHNAME | SQL_FN_TD_NOW | SQL_FN_TD_QUARTER |
                            SQL_FN_TD_SECOND | SQL_FN_TD_TIMESTAMPADD |
                            SQL_FN_TD_TIMESTAMPDIFF | SQL_FN_TD_WEEK | SQL_FN_TD_YEAR
                      : SQL_FN_TD_CURRENT_DATE | SQL_FN_TD_CURRENT_TIME |
                            SQL_FN_TD_CURRENT_TIMESTAMP | SQL_FN_TD_CURDATE |
                            SQL_FN_TD_CURTIME | SQL_FN_TD_DAYOFMONTH | SQL_FN_TD_DAYOFWEEK |
                            SQL_FN_TD_DAYOFYEAR | SQL_FN_TD_HOUR | SQL_FN_TD_MINUTE |
                            SQL_FN_TD_MONTH | SQL_FN_TD_NOW | SQL_FN_TD_QUARTER |
                            SQL_FN_TD_SECOND | SQL_FN_TD_TIMESTAMPADD |
                            SQL_FN_TD_TIMESTAMPDIFF | SQL_FN_TD_WEEK | SQL_FN_TD_YEAR);
    /* ---- conversions ({fn CONVERT}) ---- */
    case SQL_CONVERT_BIGINT: case SQL_CONVERT_BINARY: case SQL_CONVERT_BIT:
    case SQL_CONVERT_CHAR: case SQL_CONVERT_DATE: case SQL_CONVERT_DECIMAL:
    case SQL_CONVERT_DOUBLE: case SQL_CONVERT_FLOAT: case SQL_CONVERT_INTEGER:
    case SQL_CONVERT_LONGVARBINARY: case SQL_CONVERT_LONGVARCHAR: case SQL_CONVERT_NUMERIC:
    case SQL_CONVERT_REAL: case SQL_CONVERT_SMALLINT: case SQL_CONVERT_TIME:
    case SQL_CONVERT_TIMESTAMP: case SQL_CONVERT_TINYINT: case SQL_CONVERT_VARBINARY:
    case SQL_CONVERT_VARCHAR: case SQL_CONVERT_WCHAR: case SQL_CONVERT_WLONGVARCHAR:
    case SQL_CONVERT_WVARCHAR:
        return U32(CVT_ALL);
    case SQL_CONVERT_GUID: case SQL_CONVERT_INTERVAL_DAY_TIME:
    case SQL_CONVERT_INTERVAL_YEAR_MONTH:
        return U32(0);
    /* ---- ODBC 2 and miscellany ---- */
    case SQL_DATETIME_LITERALS:
        return U32(SQL_DL_SQL92_DATE | SQL_DL_SQL92_TIME | SQL_DL_SQL92_TIMESTAMP);
    case SQL_ODBC_API_CONFORMANCE: return U16(SQL_OAC_LEVEL1);
    case SQL_ODBC_SQL_CONFORMANCE: return U16(SQL_OSC_CORE);
    case SQL_ODBC_SAG_CLI_CONFORMANCE: return U16(SQL_OSCC_COMPLIANT);
    case SQL_POS_OPERATIONS: return U32(SQL_POS_POSITION);
    case SQL_POSITIONED_STATEMENTS: return U32(0);
    case SQL_LOCK_TYPES: return U32(SQL_LCK_NO_CHANGE);
    case SQL_STATIC_SENSITIVITY: return U32(0);
    case SQL_FETCH_DIRECTION: return U32(SQL_FD_FETCH_NEXT);
    case SQL_SCROLL_CONCURRENCY: return U32(SQL_SCCO_READ_ONLY);
    case SQL_XOPEN_CLI_YEAR: return S("1995");
    case SQL_DTC_TRANSITION_COST: return U32(0);
    default:
        return (struct ival){IV_STR, NULL, 0};
    }
}

SQLRETURN odbc_get_info(struct odbc_conn *c, SQLUSMALLINT type, SQLPOINTER value,
                        SQLSMALLINT buflen, SQLSMALLINT *outlen, int out)
{
    struct ival v;
    /* Server facts need a connection; driver facts do not. */
    if (!c->rc && type != SQL_DRIVER_ODBC_VER && type != SQL_DRIVER_NAME &&
        type != SQL_DRIVER_VER && type != SQL_ODBC_INTERFACE_CONFORMANCE)
        return odbc_post(&c->h, "08003", 0, "connection does not exist");
    v = info_value(c, type);
    switch (v.kind) {
    case IV_STR:
        if (!v.s)
            return odbc_post(&c->h, "HY096", 0, "information type %u is out of range", (unsigned)type);
        if (buflen < 0)
            return odbc_post(&c->h, "HY090", 0, "invalid string or buffer length");
        return odbc_out_str16(&c->h, v.s, SQL_NTS, value, buflen, outlen, out);
    case IV_U16:
        if (value)
            *(SQLUSMALLINT *)value = (SQLUSMALLINT)v.n;
        if (outlen)
            *outlen = sizeof(SQLUSMALLINT);
        return SQL_SUCCESS;
    case IV_U32:
        if (value)
            *(SQLUINTEGER *)value = (SQLUINTEGER)v.n;
        if (outlen)
            *outlen = sizeof(SQLUINTEGER);
        return SQL_SUCCESS;
    default:
        if (value)
            *(SQLULEN *)value = v.n;
        if (outlen)
            *outlen = sizeof(SQLULEN);
        return SQL_SUCCESS;
    }
}

/* ---------------------------------------------------------- SQLGetTypeInfo */

struct typeinfo {
    const char *name;
    SQLSMALLINT type;
    SQLINTEGER size;
    const char *prefix, *suffix, *params;
    SQLSMALLINT case_sensitive, searchable, is_unsigned, auto_unique, min_scale, max_scale;
    SQLINTEGER radix;
};

#define TI_NONE (-1)

static const struct typeinfo mysql_types[] = {
    {"bit", SQL_BIT, 1, NULL, NULL, NULL, 0, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"tinyint", SQL_TINYINT, 3, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 1, 0, 0, 10},
    {"tinyint unsigned", SQL_TINYINT, 3, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 1, 1, 0, 0, 10},
    {"bigint", SQL_BIGINT, 19, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 1, 0, 0, 10},
    {"bigint unsigned", SQL_BIGINT, 20, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 1, 1, 0, 0, 10},
    {"longblob", SQL_LONGVARBINARY, 2147483647, "0x", NULL, NULL, 1, SQL_PRED_CHAR, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"blob", SQL_LONGVARBINARY, 65535, "0x", NULL, NULL, 1, SQL_PRED_CHAR, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"varbinary", SQL_VARBINARY, 65535, "0x", NULL, "length", 1, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"binary", SQL_BINARY, 255, "0x", NULL, "length", 1, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"longtext", SQL_LONGVARCHAR, 2147483647, "'", "'", NULL, 0, SQL_PRED_CHAR, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"text", SQL_LONGVARCHAR, 65535, "'", "'", NULL, 0, SQL_PRED_CHAR, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"char", SQL_CHAR, 255, "'", "'", "length", 0, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"numeric", SQL_NUMERIC, 65, NULL, NULL, "precision,scale", 0, SQL_SEARCHABLE, 0, 0, 0, 30, 10},
    {"decimal", SQL_DECIMAL, 65, NULL, NULL, "precision,scale", 0, SQL_SEARCHABLE, 0, 0, 0, 30, 10},
    {"int", SQL_INTEGER, 10, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 1, 0, 0, 10},
    {"int unsigned", SQL_INTEGER, 10, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 1, 1, 0, 0, 10},
    {"mediumint", SQL_INTEGER, 7, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 1, 0, 0, 10},
    {"smallint", SQL_SMALLINT, 5, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 1, 0, 0, 10},
    {"smallint unsigned", SQL_SMALLINT, 5, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 1, 1, 0, 0, 10},
    {"year", SQL_SMALLINT, 4, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 1, 0, 0, 0, 10},
    {"float", SQL_REAL, 7, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 0, TI_NONE, TI_NONE, 10},
    {"double", SQL_DOUBLE, 15, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 0, TI_NONE, TI_NONE, 10},
    {"varchar", SQL_VARCHAR, 65535, "'", "'", "length", 0, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"date", SQL_TYPE_DATE, 10, "'", "'", NULL, 0, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"time", SQL_TYPE_TIME, 15, "'", "'", "scale", 0, SQL_SEARCHABLE, TI_NONE, 0, 0, 6, TI_NONE},
    {"datetime", SQL_TYPE_TIMESTAMP, 26, "'", "'", "scale", 0, SQL_SEARCHABLE, TI_NONE, 0, 0, 6, TI_NONE},
    {"timestamp", SQL_TYPE_TIMESTAMP, 26, "'", "'", "scale", 0, SQL_SEARCHABLE, TI_NONE, 0, 0, 6, TI_NONE},
    {"char", SQL_WCHAR, 255, "'", "'", "length", 0, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"varchar", SQL_WVARCHAR, 65535, "'", "'", "length", 0, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"longtext", SQL_WLONGVARCHAR, 2147483647, "'", "'", NULL, 0, SQL_PRED_CHAR, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
};

static const struct typeinfo sqlite_types[] = {
    {"boolean", SQL_BIT, 1, NULL, NULL, NULL, 0, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"tinyint", SQL_TINYINT, 3, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 0, 0, 0, 10},
    {"bigint", SQL_BIGINT, 19, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 0, 0, 0, 10},
    {"blob", SQL_LONGVARBINARY, 1000000000, "X'", "'", NULL, 1, SQL_PRED_CHAR, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"varbinary", SQL_VARBINARY, 1000000000, "X'", "'", "length", 1, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"text", SQL_LONGVARCHAR, 1000000000, "'", "'", NULL, 1, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"char", SQL_CHAR, 255, "'", "'", "length", 1, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"numeric", SQL_NUMERIC, 38, NULL, NULL, "precision,scale", 0, SQL_SEARCHABLE, 0, 0, 0, 38, 10},
    {"decimal", SQL_DECIMAL, 38, NULL, NULL, "precision,scale", 0, SQL_SEARCHABLE, 0, 0, 0, 38, 10},
    {"integer", SQL_INTEGER, 10, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 1, 0, 0, 10},
    {"smallint", SQL_SMALLINT, 5, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 0, 0, 0, 10},
    {"real", SQL_REAL, 7, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 0, TI_NONE, TI_NONE, 10},
    {"double", SQL_DOUBLE, 15, NULL, NULL, NULL, 0, SQL_SEARCHABLE, 0, 0, TI_NONE, TI_NONE, 10},
    {"varchar", SQL_VARCHAR, 1000000000, "'", "'", "length", 1, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"date", SQL_TYPE_DATE, 10, "'", "'", NULL, 0, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"time", SQL_TYPE_TIME, 15, "'", "'", NULL, 0, SQL_SEARCHABLE, TI_NONE, 0, 0, 6, TI_NONE},
    {"datetime", SQL_TYPE_TIMESTAMP, 26, "'", "'", NULL, 0, SQL_SEARCHABLE, TI_NONE, 0, 0, 6, TI_NONE},
    {"char", SQL_WCHAR, 255, "'", "'", "length", 1, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"varchar", SQL_WVARCHAR, 1000000000, "'", "'", "length", 1, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
    {"text", SQL_WLONGVARCHAR, 1000000000, "'", "'", NULL, 1, SQL_SEARCHABLE, TI_NONE, 0, TI_NONE, TI_NONE, TI_NONE},
};

static const struct odbc_colspec typeinfo_cols[] = {
    {"TYPE_NAME", SQL_VARCHAR, 64, SQL_NO_NULLS},
    {"DATA_TYPE", SQL_SMALLINT, 5, SQL_NO_NULLS},
    {"COLUMN_SIZE", SQL_INTEGER, 10, SQL_NULLABLE},
    {"LITERAL_PREFIX", SQL_VARCHAR, 8, SQL_NULLABLE},
    {"LITERAL_SUFFIX", SQL_VARCHAR, 8, SQL_NULLABLE},
    {"CREATE_PARAMS", SQL_VARCHAR, 32, SQL_NULLABLE},
    {"NULLABLE", SQL_SMALLINT, 5, SQL_NO_NULLS},
    {"CASE_SENSITIVE", SQL_SMALLINT, 5, SQL_NO_NULLS},
    {"SEARCHABLE", SQL_SMALLINT, 5, SQL_NO_NULLS},
    {"UNSIGNED_ATTRIBUTE", SQL_SMALLINT, 5, SQL_NULLABLE},
    {"FIXED_PREC_SCALE", SQL_SMALLINT, 5, SQL_NO_NULLS},
    {"AUTO_UNIQUE_VALUE", SQL_SMALLINT, 5, SQL_NULLABLE},
    {"LOCAL_TYPE_NAME", SQL_VARCHAR, 64, SQL_NULLABLE},
    {"MINIMUM_SCALE", SQL_SMALLINT, 5, SQL_NULLABLE},
    {"MAXIMUM_SCALE", SQL_SMALLINT, 5, SQL_NULLABLE},
    {"SQL_DATA_TYPE", SQL_SMALLINT, 5, SQL_NO_NULLS},
    {"SQL_DATETIME_SUB", SQL_SMALLINT, 5, SQL_NULLABLE},
    {"NUM_PREC_RADIX", SQL_INTEGER, 10, SQL_NULLABLE},
    {"INTERVAL_PRECISION", SQL_SMALLINT, 5, SQL_NULLABLE},
};

static struct odbc_value vint(int64_t n)
{
    return (struct odbc_value){.kind = ODBC_V_INT, .i = n};
}

static struct odbc_value vstr(const char *s)
{
    if (!s)
        return (struct odbc_value){.kind = ODBC_V_NULL};
    return (struct odbc_value){.kind = ODBC_V_TEXT, .p = s, .len = strlen(s)};
}

static struct odbc_value vopt(SQLINTEGER n)
{
    return n == TI_NONE ? (struct odbc_value){.kind = ODBC_V_NULL} : vint(n);
}

SQLRETURN odbc_get_type_info(struct odbc_stmt *s, SQLSMALLINT type)
{
    struct odbc_conn *c = s->conn;
    const struct typeinfo *tab = c->backend == BACKEND_SQLITE ? sqlite_types : mysql_types;
    size_t n = c->backend == BACKEND_SQLITE ? sizeof sqlite_types / sizeof sqlite_types[0]
                                            : sizeof mysql_types / sizeof mysql_types[0];
    bool v2 = c->env->odbc_version == SQL_OV_ODBC2;
    struct odbc_table t;
    struct odbc_colspec cols[19];
    SQLRETURN rc = odbc_conn_check(&s->h, c);
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (s->state == ST_CURSOR)
        return odbc_post(&s->h, "24000", 0, "invalid cursor state: close the cursor first");
    type = conv_sql_type_v3(type);
    if (type != SQL_ALL_TYPES && !conv_sql_type_valid(type))
        return odbc_post(&s->h, "HY004", 0, "invalid SQL data type %d", (int)type);
    memcpy(cols, typeinfo_cols, sizeof cols);
    if (v2) {
        cols[2].name = "PRECISION";
        cols[10].name = "MONEY";
        cols[11].name = "AUTO_INCREMENT";
    }
    odbc_table_init(&t, 19);
    /* Ordered by DATA_TYPE, as the tables are within each type. */
    for (int pass_type = -11; pass_type <= 93; pass_type++) {
        for (size_t i = 0; i < n; i++) {
            const struct typeinfo *ti = &tab[i];
            if (ti->type != pass_type || (type != SQL_ALL_TYPES && ti->type != type))
                continue;
            SQLSMALLINT dt = v2 ? conv_sql_type_v2(ti->type) : ti->type;
            struct odbc_value row[19] = {
                vstr(ti->name),
                vint(dt),
                vint(ti->size),
                vstr(ti->prefix),
                vstr(ti->suffix),
                vstr(ti->params),
                vint(SQL_NULLABLE),
                vint(ti->case_sensitive),
                vint(ti->searchable),
                vopt(ti->is_unsigned),
                vint(SQL_FALSE),
                ti->auto_unique ? vint(SQL_TRUE) : vopt(ti->is_unsigned == TI_NONE ? TI_NONE : 0),
                vstr(ti->name),
                vopt(ti->min_scale),
                vopt(ti->max_scale),
                vint(conv_verbose_type(ti->type)),
                conv_interval_code(ti->type) ? vint(conv_interval_code(ti->type))
                                             : (struct odbc_value){.kind = ODBC_V_NULL},
                vopt(ti->radix),
                (struct odbc_value){.kind = ODBC_V_NULL},
            };
            if (odbc_table_add(&t, row) < 0) {
                odbc_table_free(&t);
                return odbc_post_oom(&s->h);
            }
        }
    }
    s->prepared = false;
    return odbc_stmt_set_table(s, &t, cols, 19);
}
