/* Unit tests of the ODBC driver's handles, descriptors, diagnostics and
 * result fetching, without a server: statements get driver-built tables
 * (the same path catalog functions use) so that row-wise and column-wise
 * arrays, bind offsets, row status, SQLGetData in pieces, SQLSetPos and
 * SQLExtendedFetch run for real.  Descriptor tests cover the consistency
 * check (HY021), read-only fields, the IRD (HY016), unbinding on a change,
 * SQLCopyDesc and explicit descriptors; diagnostics tests cover several
 * records, their order, SQL_DIAG_ROW_NUMBER/COLUMN_NUMBER, the "[Recall]" tag,
 * ODBC 2 SQLSTATEs and UTF-16 output. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "odbc-internal.h"
#include "testhelp.h"

static struct odbc_env *env;
static struct odbc_conn *conn;
static struct odbc_stmt *st;

static void setup(void)
{
    ck_assert_int_eq(odbc_env_alloc(&env), SQL_SUCCESS);
    ck_assert_int_eq(odbc_conn_alloc(env, &conn), SQL_SUCCESS);
    ck_assert_int_eq(odbc_stmt_alloc(conn, &st), SQL_SUCCESS);
}

static void teardown(void)
{
    odbc_conn_free(conn); /* frees its statements and descriptors */
    odbc_env_free(env);
}

static struct odbc_value vi(int64_t i)
{
    return (struct odbc_value){.kind = ODBC_V_INT, .i = i};
}

static struct odbc_value vs(const char *s)
{
    return s ? (struct odbc_value){.kind = ODBC_V_TEXT, .p = s, .len = strlen(s)}
             : (struct odbc_value){.kind = ODBC_V_NULL};
}

static const struct odbc_colspec cols3[] = {
    {"ID", SQL_INTEGER, 10, SQL_NO_NULLS},
    {"NAME", SQL_VARCHAR, 20, SQL_NULLABLE},
    {"AMOUNT", SQL_DECIMAL, 10, SQL_NULLABLE},
};

/* Five rows: (1,'one','1.5') ... with a NULL name in row 3 and a
 * non-number amount in row 4. */
static void load_rows(void)
{
    static const char *names[] = {"one", "two", NULL, "four", "five"};
    static const char *amounts[] = {"1.5", "2", "3.25", "oops", "5"};
    struct odbc_table t;
    odbc_table_init(&t, 3);
    for (int i = 0; i < 5; i++) {
        struct odbc_value row[3] = {vi(i + 1), vs(names[i]), vs(amounts[i])};
        ck_assert_int_eq(odbc_table_add(&t, row), 0);
    }
    ck_assert_int_eq(odbc_stmt_set_table(st, &t, cols3, 3), SQL_SUCCESS);
}

static const char *state_of(struct odbc_handle *h, int rec)
{
    return rec <= h->diag.count ? h->diag.recs[rec - 1].state : "";
}

/* ---- fetching ---- */

START_TEST(column_wise_arrays)
{
    SQLINTEGER ids[3];
    SQLLEN id_ind[3], name_ind[3];
    char names[3][8];
    SQLUSMALLINT status[3];
    SQLULEN fetched = 99;
    load_rows();
    odbc_set_stmt_attr(st, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)3, 0);
    odbc_set_stmt_attr(st, SQL_ATTR_ROW_STATUS_PTR, status, 0);
    odbc_set_stmt_attr(st, SQL_ATTR_ROWS_FETCHED_PTR, &fetched, 0);
    ck_assert_int_eq(odbc_bind_col(st, 1, SQL_C_SLONG, ids, 0, id_ind), SQL_SUCCESS);
    ck_assert_int_eq(odbc_bind_col(st, 2, SQL_C_CHAR, names, 8, name_ind), SQL_SUCCESS);
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, 3, &fetched, status, false), SQL_SUCCESS);
    ck_assert_uint_eq(fetched, 3);
    ck_assert_int_eq(ids[0], 1);
    ck_assert_int_eq(ids[2], 3);
    ck_assert_str_eq(names[1], "two");
    ck_assert_int_eq(name_ind[1], 3);
    ck_assert_int_eq(name_ind[2], SQL_NULL_DATA);
    ck_assert_uint_eq(status[0], SQL_ROW_SUCCESS);
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, 3, &fetched, status, false), SQL_SUCCESS);
    ck_assert_uint_eq(fetched, 2);
    ck_assert_int_eq(ids[1], 5);
    ck_assert_uint_eq(status[2], SQL_ROW_NOROW);
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, 3, &fetched, status, false), SQL_NO_DATA);
    ck_assert_uint_eq(fetched, 0);
}
END_TEST

struct rowbuf {
    SQLINTEGER id;
    SQLLEN id_ind;
    char name[6];
    SQLLEN name_ind;
    SQLDOUBLE amount;
    SQLLEN amount_ind;
};

START_TEST(row_wise_with_offset_and_row_errors)
{
    struct rowbuf rows[2 * 5];
    SQLLEN offset = 0;
    SQLUSMALLINT status[5];
    SQLULEN fetched;
    memset(rows, 0, sizeof rows);
    load_rows();
    odbc_set_stmt_attr(st, SQL_ATTR_ROW_BIND_TYPE, (SQLPOINTER)sizeof(struct rowbuf), 0);
    odbc_set_stmt_attr(st, SQL_ATTR_ROW_BIND_OFFSET_PTR, &offset, 0);
    odbc_bind_col(st, 1, SQL_C_SLONG, &rows[0].id, 0, &rows[0].id_ind);
    odbc_bind_col(st, 2, SQL_C_CHAR, rows[0].name, sizeof rows[0].name, &rows[0].name_ind);
    odbc_bind_col(st, 3, SQL_C_DOUBLE, &rows[0].amount, 0, &rows[0].amount_ind);
    /* The offset moves every binding to the second half of the buffer. */
    offset = (SQLLEN)(5 * sizeof(struct rowbuf));
    SQLRETURN rc = odbc_fetch(st, SQL_FETCH_NEXT, 0, 5, &fetched, status, false);
    ck_assert_int_eq(rc, SQL_SUCCESS_WITH_INFO);
    ck_assert_uint_eq(fetched, 5);
    ck_assert_int_eq(rows[0].id, 0); /* first half untouched */
    ck_assert_int_eq(rows[5].id, 1);
    ck_assert_int_eq(rows[9].id, 5);
    ck_assert(rows[5].amount == 1.5);
    ck_assert_int_eq(rows[7].name_ind, SQL_NULL_DATA);
    /* Row 4's amount is not a number: that row errs, the others do not. */
    ck_assert_uint_eq(status[3], SQL_ROW_ERROR);
    ck_assert_uint_eq(status[4], SQL_ROW_SUCCESS);
    ck_assert_str_eq(state_of(&st->h, 1), "22018");
    ck_assert_int_eq(st->h.diag.recs[0].row, 4);
    ck_assert_int_eq(st->h.diag.recs[0].col, 3);
    /* "four" does not fit 6 bytes? It does; "five" too: no 01004 here. */
    ck_assert_str_eq(rows[8].name, "four");
}
END_TEST

START_TEST(single_row_error_fails_the_fetch)
{
    SQLINTEGER amount;
    SQLLEN ind;
    load_rows();
    odbc_bind_col(st, 3, SQL_C_SLONG, &amount, 0, &ind);
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, 1, NULL, NULL, false), SQL_SUCCESS_WITH_INFO);
    ck_assert_str_eq(state_of(&st->h, 1), "01S07"); /* 1.5 -> 1 */
    ck_assert_int_eq(amount, 1);
    odbc_diag_clear(&st->h.diag);
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, 1, NULL, NULL, false), SQL_SUCCESS);
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, 1, NULL, NULL, false), SQL_SUCCESS_WITH_INFO);
    odbc_diag_clear(&st->h.diag);
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, 1, NULL, NULL, false), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->h, 1), "22018");
    /* A NULL without an indicator is 22002. */
    odbc_stmt_close_result(st);
    load_rows();
    char names[3][8];
    odbc_bind_col(st, 3, SQL_C_SLONG, NULL, 0, NULL); /* unbind */
    ck_assert_int_eq(st->ard->count, 0);
    odbc_bind_col(st, 2, SQL_C_CHAR, names, 8, NULL);
    odbc_diag_clear(&st->h.diag);
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, 3, NULL, NULL, false), SQL_SUCCESS_WITH_INFO);
    ck_assert_str_eq(state_of(&st->h, 1), "22002");
    ck_assert_int_eq(st->h.diag.recs[0].row, 3);
}
END_TEST

START_TEST(getdata_pieces_setpos_and_max_rows)
{
    char buf[3];
    SQLLEN ind;
    SQLINTEGER id;
    load_rows();
    ck_assert_int_eq(odbc_get_data(st, 2, SQL_C_CHAR, buf, 3, &ind), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->h, 1), "24000");
    odbc_diag_clear(&st->h.diag);
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, 2, NULL, NULL, false), SQL_SUCCESS);
    /* On row 1 of the rowset: "one" in pieces of two bytes. */
    ck_assert_int_eq(odbc_get_data(st, 2, SQL_C_CHAR, buf, 3, &ind), SQL_SUCCESS_WITH_INFO);
    ck_assert_str_eq(buf, "on");
    ck_assert_int_eq(ind, 3);
    ck_assert_int_eq(odbc_get_data(st, 2, SQL_C_CHAR, buf, 3, &ind), SQL_SUCCESS);
    ck_assert_str_eq(buf, "e");
    ck_assert_int_eq(ind, 1);
    ck_assert_int_eq(odbc_get_data(st, 2, SQL_C_CHAR, buf, 3, &ind), SQL_NO_DATA);
    /* Position on row 2 and read it. */
    ck_assert_int_eq(odbc_set_pos(st, 2, SQL_POSITION, SQL_LOCK_NO_CHANGE), SQL_SUCCESS);
    ck_assert_int_eq(odbc_get_data(st, 1, SQL_C_SLONG, &id, 0, &ind), SQL_SUCCESS);
    ck_assert_int_eq(id, 2);
    ck_assert_int_eq(odbc_get_data(st, 1, SQL_C_SLONG, &id, 0, &ind), SQL_NO_DATA);
    ck_assert_int_eq(odbc_set_pos(st, 3, SQL_POSITION, SQL_LOCK_NO_CHANGE), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->h, 1), "HY107");
    odbc_diag_clear(&st->h.diag);
    ck_assert_int_eq(odbc_set_pos(st, 1, SQL_UPDATE, SQL_LOCK_NO_CHANGE), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->h, 1), "HYC00");
    odbc_diag_clear(&st->h.diag);
    ck_assert_int_eq(odbc_get_data(st, 0, SQL_C_SLONG, &id, 0, &ind), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->h, 1), "07009");
    odbc_diag_clear(&st->h.diag);
    ck_assert_int_eq(odbc_get_data(st, 4, SQL_C_SLONG, &id, 0, &ind), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->h, 1), "07009");
    /* SQL_ATTR_MAX_ROWS stops the result early. */
    odbc_stmt_close_result(st);
    load_rows();
    odbc_set_stmt_attr(st, SQL_ATTR_MAX_ROWS, (SQLPOINTER)2, 0);
    SQLULEN n;
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, 10, &n, NULL, false), SQL_SUCCESS);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, 10, &n, NULL, false), SQL_NO_DATA);
    /* Forward-only. */
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_PRIOR, 0, 1, &n, NULL, false), SQL_ERROR);
}
END_TEST

START_TEST(describe_and_attributes)
{
    char name[8];
    SQLSMALLINT namelen, type, digits, nullable;
    SQLULEN size;
    SQLLEN n;
    load_rows();
    ck_assert_int_eq(odbc_describe_col(st, 2, name, sizeof name, &namelen, &type, &size, &digits,
                                       &nullable, ODBC_OUT_ANSI), SQL_SUCCESS);
    ck_assert_str_eq(name, "NAME");
    ck_assert_int_eq(type, SQL_VARCHAR);
    ck_assert_uint_eq(size, 20);
    ck_assert_int_eq(nullable, SQL_NULLABLE);
    ck_assert_int_eq(odbc_describe_col(st, 1, name, 2, &namelen, NULL, NULL, NULL, NULL, ODBC_OUT_ANSI),
                     SQL_SUCCESS_WITH_INFO);
    ck_assert_str_eq(name, "I");
    ck_assert_int_eq(namelen, 2);
    ck_assert_int_eq(odbc_col_attribute(st, 0, SQL_DESC_COUNT, NULL, 0, NULL, &n, ODBC_OUT_ANSI),
                     SQL_SUCCESS);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(odbc_col_attribute(st, 3, SQL_DESC_CONCISE_TYPE, NULL, 0, NULL, &n, ODBC_OUT_ANSI),
                     SQL_SUCCESS);
    ck_assert_int_eq(n, SQL_DECIMAL);
    ck_assert_int_eq(odbc_col_attribute(st, 1, SQL_DESC_DISPLAY_SIZE, NULL, 0, NULL, &n, ODBC_OUT_ANSI),
                     SQL_SUCCESS);
    ck_assert_int_eq(n, 11);
    ck_assert_int_eq(odbc_col_attribute(st, 2, SQL_COLUMN_NAME, name, sizeof name, &namelen, NULL,
                                        ODBC_OUT_ANSI), SQL_SUCCESS);
    ck_assert_str_eq(name, "NAME");
    ck_assert_int_eq(odbc_col_attribute(st, 9, SQL_DESC_NAME, name, sizeof name, &namelen, NULL,
                                        ODBC_OUT_ANSI), SQL_ERROR);
    /* W output: characters, UTF-16. */
    SQLWCHAR wname[8];
    ck_assert_int_eq(odbc_describe_col(st, 2, wname, 8, &namelen, NULL, NULL, NULL, NULL,
                                       ODBC_OUT_WIDE | ODBC_OUT_CHARS), SQL_SUCCESS);
    ck_assert_int_eq(namelen, 4);
    ck_assert_uint_eq(wname[3], 'E');
    /* ODBC 2 applications see ODBC 2 date codes. */
    env->odbc_version = SQL_OV_ODBC2;
    ck_assert_int_eq(odbc_app_sql_type(st, SQL_TYPE_TIMESTAMP), SQL_TIMESTAMP);

    /* Statement attributes: substitutions and refusals. */
    odbc_stmt_close_result(st);
    ck_assert_int_eq(odbc_set_stmt_attr(st, SQL_ATTR_CURSOR_TYPE, (SQLPOINTER)SQL_CURSOR_STATIC, 0),
                     SQL_SUCCESS_WITH_INFO);
    SQLULEN v = 99;
    odbc_get_stmt_attr(st, SQL_ATTR_CURSOR_TYPE, &v, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_uint_eq(v, SQL_CURSOR_FORWARD_ONLY);
    ck_assert_int_eq(odbc_set_stmt_attr(st, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)0, 0), SQL_ERROR);
    ck_assert_int_eq(odbc_set_stmt_attr(st, SQL_ATTR_USE_BOOKMARKS, (SQLPOINTER)SQL_UB_VARIABLE, 0),
                     SQL_ERROR);
    ck_assert_int_eq(odbc_set_stmt_attr(st, 4242, NULL, 0), SQL_ERROR);
    odbc_set_stmt_attr(st, SQL_ATTR_QUERY_TIMEOUT, (SQLPOINTER)7, 0);
    odbc_get_stmt_attr(st, SQL_ATTR_QUERY_TIMEOUT, &v, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_uint_eq(v, 7);
    /* Connection attributes kept before connecting. */
    ck_assert_int_eq(odbc_conn_store_attr(conn, SQL_ATTR_TXN_ISOLATION, (SQLPOINTER)SQL_TXN_READ_COMMITTED, 0),
                     SQL_SUCCESS_WITH_INFO);
    SQLUINTEGER u;
    odbc_get_conn_attr(conn, SQL_ATTR_TXN_ISOLATION, &u, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_uint_eq(u, SQL_TXN_REPEATABLE_READ);
    odbc_get_conn_attr(conn, SQL_ATTR_CONNECTION_DEAD, &u, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_uint_eq(u, SQL_CD_TRUE);
    ck_assert_int_eq(odbc_conn_store_attr(conn, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)7, 0), SQL_ERROR);
    /* Cursor names. */
    ck_assert_int_eq(strncmp(odbc_stmt_cursor_name(st), "SQL_CUR", 7), 0);
    ck_assert_int_eq(odbc_set_cursor_name(st, "mine", SQL_NTS), SQL_SUCCESS);
    ck_assert_str_eq(odbc_stmt_cursor_name(st), "mine");
    struct odbc_stmt *other;
    odbc_stmt_alloc(conn, &other);
    ck_assert_int_eq(odbc_set_cursor_name(other, "MINE", SQL_NTS), SQL_ERROR);
    ck_assert_str_eq(state_of(&other->h, 1), "3C000");
    ck_assert_int_eq(odbc_set_cursor_name(other, "SQL_CURx", SQL_NTS), SQL_ERROR);
}
END_TEST

START_TEST(extended_fetch_uses_rowset_size)
{
    SQLINTEGER ids[4];
    SQLLEN ind[4];
    SQLULEN rows;
    SQLUSMALLINT status[4];
    load_rows();
    odbc_set_stmt_attr(st, SQL_ROWSET_SIZE, (SQLPOINTER)4, 0);
    odbc_bind_col(st, 1, SQL_C_SLONG, ids, 0, ind);
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, st->rowset_size, &rows, status, true), SQL_SUCCESS);
    ck_assert_uint_eq(rows, 4);
    ck_assert_int_eq(ids[3], 4);
    ck_assert(st->fetched_ext);
}
END_TEST

/* ---- descriptors ---- */

START_TEST(descriptor_consistency_and_readonly)
{
    struct odbc_desc *ard = st->ard;
    SQL_NUMERIC_STRUCT ns;
    SQLSMALLINT v;
    ck_assert_int_eq(odbc_desc_set_field(ard, 1, SQL_DESC_TYPE, (SQLPOINTER)SQL_C_NUMERIC, 0), SQL_SUCCESS);
    ck_assert_int_eq(odbc_desc_set_field(ard, 1, SQL_DESC_PRECISION, (SQLPOINTER)50, 0), SQL_SUCCESS);
    ck_assert_int_eq(odbc_desc_set_field(ard, 1, SQL_DESC_DATA_PTR, &ns, 0), SQL_ERROR);
    ck_assert_str_eq(state_of(&ard->h, 1), "HY021");
    odbc_desc_set_field(ard, 1, SQL_DESC_PRECISION, (SQLPOINTER)10, 0);
    odbc_desc_set_field(ard, 1, SQL_DESC_SCALE, (SQLPOINTER)2, 0);
    ck_assert_int_eq(odbc_desc_set_field(ard, 1, SQL_DESC_DATA_PTR, &ns, 0), SQL_SUCCESS);
    ck_assert_ptr_eq(ard->recs[1].data_ptr, &ns);
    /* Changing another field unbinds the record. */
    odbc_desc_set_field(ard, 1, SQL_DESC_SCALE, (SQLPOINTER)3, 0);
    ck_assert_ptr_null(ard->recs[1].data_ptr);
    ck_assert_int_eq(odbc_desc_set_field(ard, 1, SQL_DESC_TYPE, (SQLPOINTER)1234, 0), SQL_ERROR);
    ck_assert_int_eq(odbc_desc_set_field(ard, 0, SQL_DESC_ALLOC_TYPE, (SQLPOINTER)1, 0), SQL_ERROR);
    ck_assert_str_eq(state_of(&ard->h, ard->h.diag.count), "HY091");
    odbc_desc_get_field(ard, 0, SQL_DESC_ALLOC_TYPE, &v, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_int_eq(v, SQL_DESC_ALLOC_AUTO);
    /* Datetime and interval types take a subcode. */
    odbc_desc_set_field(ard, 2, SQL_DESC_TYPE, (SQLPOINTER)SQL_DATETIME, 0);
    odbc_desc_set_field(ard, 2, SQL_DESC_DATETIME_INTERVAL_CODE, (SQLPOINTER)SQL_CODE_DATE, 0);
    odbc_desc_get_field(ard, 2, SQL_DESC_CONCISE_TYPE, &v, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_int_eq(v, SQL_C_TYPE_DATE);
    odbc_desc_get_field(ard, 0, SQL_DESC_COUNT, &v, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(odbc_desc_get_field(ard, 5, SQL_DESC_TYPE, &v, 0, NULL, ODBC_OUT_ANSI), SQL_NO_DATA);
    /* The IRD is read-only, and empty before a statement is prepared. */
    ck_assert_int_eq(odbc_desc_get_field(&st->ird, 1, SQL_DESC_TYPE, &v, 0, NULL, ODBC_OUT_ANSI), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->ird.h, 1), "HY007");
    ck_assert_int_eq(odbc_desc_set_field(&st->ird, 1, SQL_DESC_NAME, "x", SQL_NTS), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->ird.h, 2), "HY016");
    /* IPD fields. */
    ck_assert_int_eq(odbc_desc_set_field(&st->ipd, 1, SQL_DESC_NAME, "p1", SQL_NTS), SQL_SUCCESS);
    odbc_desc_get_field(&st->ipd, 1, SQL_DESC_UNNAMED, &v, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_int_eq(v, SQL_NAMED);
    ck_assert_int_eq(odbc_desc_set_field(&st->ipd, 1, SQL_DESC_PARAMETER_TYPE,
                                         (SQLPOINTER)SQL_PARAM_OUTPUT, 0), SQL_ERROR);
    /* SQLSetDescRec / SQLGetDescRec. */
    SQLLEN ol, id;
    char buf[16];
    ck_assert_int_eq(odbc_desc_set_rec(ard, 3, SQL_C_CHAR, 0, 16, 0, 0, buf, &ol, &id), SQL_SUCCESS);
    SQLSMALLINT type, sub, prec, scale, nul;
    SQLLEN len;
    ck_assert_int_eq(odbc_desc_get_rec(ard, 3, NULL, 0, NULL, &type, &sub, &len, &prec, &scale, &nul,
                                       ODBC_OUT_ANSI), SQL_SUCCESS);
    ck_assert_int_eq(type, SQL_C_CHAR);
    ck_assert_int_eq(len, 16);
    ck_assert_int_eq(odbc_desc_set_rec(ard, 4, SQL_INTERVAL, 99, 0, 0, 0, NULL, NULL, NULL), SQL_ERROR);
}
END_TEST

START_TEST(explicit_descriptors_and_copy)
{
    struct odbc_desc *ex, *ex2;
    SQLINTEGER ids[2];
    SQLLEN ind[2];
    conn->rc = NULL;
    ck_assert_int_eq(odbc_desc_alloc(conn, &ex), SQL_SUCCESS);
    ck_assert_int_eq(odbc_bind_col(st, 1, SQL_C_SLONG, ids, 0, ind), SQL_SUCCESS);
    ck_assert_int_eq(odbc_desc_copy(st->ard, ex), SQL_SUCCESS);
    ck_assert_int_eq(ex->count, 1);
    ck_assert_ptr_eq(ex->recs[1].data_ptr, ids);
    ck_assert_int_eq(odbc_desc_copy(ex, &st->ird), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->ird.h, 1), "HY016");
    /* Use it as the ARD: fetches go through it. */
    odbc_desc_truncate(&st->ard_i, 0);
    ck_assert_int_eq(odbc_set_stmt_attr(st, SQL_ATTR_APP_ROW_DESC, ex, 0), SQL_SUCCESS);
    ck_assert_ptr_eq(st->ard, ex);
    odbc_set_stmt_attr(st, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)2, 0);
    ck_assert_uint_eq(ex->array_size, 2);
    load_rows();
    ck_assert_int_eq(odbc_fetch(st, SQL_FETCH_NEXT, 0, st->ard->array_size, NULL, NULL, false), SQL_SUCCESS);
    ck_assert_int_eq(ids[1], 2);
    /* An implicit descriptor of another statement cannot be an ARD. */
    struct odbc_stmt *other;
    odbc_stmt_alloc(conn, &other);
    ck_assert_int_eq(odbc_set_stmt_attr(st, SQL_ATTR_APP_ROW_DESC, &other->ard_i, 0), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->h, 1), "HY017");
    /* Freeing the explicit descriptor returns the statement to its own. */
    ck_assert_int_eq(odbc_desc_alloc(conn, &ex2), SQL_SUCCESS);
    odbc_desc_free_explicit(ex);
    ck_assert_ptr_eq(st->ard, &st->ard_i);
    ck_assert_ptr_eq(conn->descs, ex2);
}
END_TEST

START_TEST(bind_parameter_fills_apd_and_ipd)
{
    SQLINTEGER v;
    SQLLEN ind;
    ck_assert_int_eq(odbc_bind_param(st, 2, SQL_PARAM_INPUT, SQL_C_DEFAULT, SQL_DECIMAL, 12, 3, &v, 0, &ind),
                     SQL_SUCCESS);
    ck_assert_int_eq(st->apd->count, 2);
    ck_assert_int_eq(st->apd->recs[2].concise_type, SQL_C_CHAR);
    ck_assert_int_eq(st->ipd.recs[2].concise_type, SQL_DECIMAL);
    ck_assert_int_eq(st->ipd.recs[2].precision, 12);
    ck_assert_int_eq(st->ipd.recs[2].scale, 3);
    ck_assert_int_eq(odbc_bind_param(st, 1, SQL_PARAM_INPUT, SQL_C_SLONG, 9999, 0, 0, &v, 0, &ind), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->h, 1), "HY004");
    odbc_diag_clear(&st->h.diag);
    ck_assert_int_eq(odbc_bind_param(st, 1, SQL_PARAM_INPUT, 9999, SQL_INTEGER, 0, 0, &v, 0, &ind), SQL_ERROR);
    ck_assert_str_eq(state_of(&st->h, 1), "HY003");
    odbc_diag_clear(&st->h.diag);
    ck_assert_int_eq(odbc_bind_param(st, 1, SQL_PARAM_OUTPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0, &v, 0, &ind),
                     SQL_ERROR);
    ck_assert_str_eq(state_of(&st->h, 1), "HYC00");
    ck_assert_int_eq(odbc_bind_param(st, 0, SQL_PARAM_INPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0, &v, 0, &ind),
                     SQL_ERROR);
    /* Row-wise parameter element addressing with an offset. */
    struct {
        SQLINTEGER a;
        SQLLEN ai;
    } pr[3];
    SQLLEN off = sizeof pr[0];
    st->apd->bind_type = sizeof pr[0];
    st->apd->bind_offset_ptr = &off;
    ck_assert_ptr_eq(odbc_desc_elem(st->apd, &pr[0].a, 1, 4), &pr[2].a);
    ck_assert_ptr_eq(odbc_desc_len_elem(st->apd, &pr[0].ai, 0), &pr[1].ai);
    st->apd->bind_type = SQL_BIND_BY_COLUMN;
    off = 0;
    SQLINTEGER arr[4];
    ck_assert_ptr_eq(odbc_desc_elem(st->apd, arr, 2, 4), (char *)arr + 8);
}
END_TEST

/* ---- diagnostics ---- */

START_TEST(diagnostics)
{
    char state[6], msg[64];
    SQLINTEGER native, n;
    SQLSMALLINT len;
    SQLLEN row;
    odbc_post(&st->h, "01004", 0, "a warning");
    odbc_post_at(&st->h, "22018", 77, 3, 2, "bad value %d", 5);
    odbc_post(&st->h, "42S02", 1146, "no such table");
    st->h.diag.retcode = SQL_ERROR;
    /* Errors come before warnings. */
    ck_assert_int_eq(odbc_get_diag_rec(SQL_HANDLE_STMT, st, 1, state, &native, msg, sizeof msg, &len,
                                       ODBC_OUT_ANSI), SQL_SUCCESS);
    ck_assert_str_eq(state, "22018");
    ck_assert_int_eq(native, 77);
    ck_assert_str_eq(msg, "[Recall] bad value 5");
    ck_assert_int_eq(len, (SQLSMALLINT)strlen("[Recall] bad value 5"));
    odbc_get_diag_rec(SQL_HANDLE_STMT, st, 3, state, &native, msg, sizeof msg, &len, ODBC_OUT_ANSI);
    ck_assert_str_eq(state, "01004");
    ck_assert_int_eq(odbc_get_diag_rec(SQL_HANDLE_STMT, st, 4, state, &native, msg, sizeof msg, &len,
                                       ODBC_OUT_ANSI), SQL_NO_DATA);
    ck_assert_int_eq(odbc_get_diag_rec(SQL_HANDLE_STMT, st, 0, state, &native, msg, sizeof msg, &len,
                                       ODBC_OUT_ANSI), SQL_ERROR);
    /* Truncated message: 01004 returned, no record added. */
    ck_assert_int_eq(odbc_get_diag_rec(SQL_HANDLE_STMT, st, 2, state, &native, msg, 8, &len, ODBC_OUT_ANSI),
                     SQL_SUCCESS_WITH_INFO);
    ck_assert_str_eq(msg, "[Recall");
    odbc_get_diag_field(SQL_HANDLE_STMT, st, 0, SQL_DIAG_NUMBER, &n, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_int_eq(n, 3);
    SQLRETURN ret;
    odbc_get_diag_field(SQL_HANDLE_STMT, st, 0, SQL_DIAG_RETURNCODE, &ret, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_int_eq(ret, SQL_ERROR);
    odbc_get_diag_field(SQL_HANDLE_STMT, st, 1, SQL_DIAG_ROW_NUMBER, &row, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_int_eq(row, 3);
    odbc_get_diag_field(SQL_HANDLE_STMT, st, 1, SQL_DIAG_COLUMN_NUMBER, &n, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_int_eq(n, 2);
    odbc_get_diag_field(SQL_HANDLE_STMT, st, 2, SQL_DIAG_ROW_NUMBER, &row, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_int_eq(row, SQL_NO_ROW_NUMBER);
    odbc_get_diag_field(SQL_HANDLE_STMT, st, 1, SQL_DIAG_CLASS_ORIGIN, msg, sizeof msg, &len, ODBC_OUT_ANSI);
    ck_assert_str_eq(msg, "ISO 9075");
    odbc_get_diag_field(SQL_HANDLE_STMT, st, 2, SQL_DIAG_SUBCLASS_ORIGIN, msg, sizeof msg, &len, ODBC_OUT_ANSI);
    ck_assert_str_eq(msg, "ODBC 3.0");
    ck_assert_int_eq(odbc_get_diag_field(SQL_HANDLE_DBC, conn, 0, SQL_DIAG_ROW_COUNT, &row, 0, NULL,
                                         ODBC_OUT_ANSI), SQL_ERROR);
    ck_assert_int_eq(odbc_get_diag_field(SQL_HANDLE_STMT, st, 9, SQL_DIAG_SQLSTATE, msg, sizeof msg, &len,
                                         ODBC_OUT_ANSI), SQL_NO_DATA);
    /* UTF-16 output (W). */
    SQLWCHAR wstate[6], wmsg[64];
    ck_assert_int_eq(odbc_get_diag_rec(SQL_HANDLE_STMT, st, 2, wstate, NULL, wmsg, 64, &len,
                                       ODBC_OUT_WIDE | ODBC_OUT_CHARS), SQL_SUCCESS);
    ck_assert_uint_eq(wstate[0], '4');
    ck_assert_uint_eq(wstate[4], '2');
    ck_assert_uint_eq(wmsg[1], 'R');
    ck_assert_int_eq(len, (SQLSMALLINT)strlen("[Recall] no such table"));
    /* ODBC 2 applications get ODBC 2 SQLSTATEs. */
    env->odbc_version = SQL_OV_ODBC2;
    odbc_get_diag_rec(SQL_HANDLE_STMT, st, 2, state, NULL, NULL, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_str_eq(state, "S0002");
    odbc_post(&st->h, "HY000", 0, "general");
    odbc_get_diag_rec(SQL_HANDLE_STMT, st, 3, state, NULL, NULL, 0, NULL, ODBC_OUT_ANSI);
    ck_assert_str_eq(state, "S1000");
    /* Wrong handle kinds are SQL_INVALID_HANDLE. */
    ck_assert_int_eq(odbc_get_diag_rec(SQL_HANDLE_DBC, st, 1, state, NULL, NULL, 0, NULL, ODBC_OUT_ANSI),
                     SQL_INVALID_HANDLE);
    odbc_diag_clear(&st->h.diag);
    ck_assert_int_eq(st->h.diag.count, 0);
    /* Records are bounded. */
    for (int i = 0; i < ODBC_DIAG_MAX + 50; i++)
        odbc_post(&st->h, "HY000", 0, "flood %d", i);
    ck_assert_int_eq(st->h.diag.count, ODBC_DIAG_MAX);
}
END_TEST

START_TEST(out_str_truncation)
{
    char a[4];
    SQLWCHAR w[3];
    SQLLEN len;
    ck_assert_int_eq(odbc_out_str(&st->h, "hello", SQL_NTS, a, sizeof a, &len, ODBC_OUT_ANSI),
                     SQL_SUCCESS_WITH_INFO);
    ck_assert_str_eq(a, "hel");
    ck_assert_int_eq(len, 5);
    ck_assert_str_eq(state_of(&st->h, 1), "01004");
    /* Bytes for W buffers unless ODBC_OUT_CHARS. */
    ck_assert_int_eq(odbc_out_str(&st->h, "\xf0\x9f\x98\x80x", SQL_NTS, w, sizeof w, &len, ODBC_OUT_WIDE),
                     SQL_SUCCESS_WITH_INFO);
    ck_assert_int_eq(len, 6);
    ck_assert_uint_eq(w[0], 0xd83d); /* the pair fits, the 'x' does not */
    ck_assert_uint_eq(w[2], 0);
    ck_assert_int_eq(odbc_out_str(&st->h, "\xf0\x9f\x98\x80x", SQL_NTS, w, 4, &len, ODBC_OUT_WIDE),
                     SQL_SUCCESS_WITH_INFO);
    ck_assert_uint_eq(w[0], 0); /* half a pair is never written */
    ck_assert_int_eq(odbc_out_str(&st->h, "ab", SQL_NTS, w, 3, &len, ODBC_OUT_WIDE | ODBC_OUT_CHARS),
                     SQL_SUCCESS);
    ck_assert_int_eq(len, 2);
    ck_assert_int_eq(odbc_out_str(&st->h, "ab", SQL_NTS, a, -1, &len, ODBC_OUT_ANSI), SQL_ERROR);
    ck_assert_int_eq(odbc_out_str(&st->h, "abc", SQL_NTS, NULL, 0, &len, ODBC_OUT_ANSI), SQL_SUCCESS);
    ck_assert_int_eq(len, 3);
}
END_TEST

START_TEST(env_attributes_and_functions)
{
    SQLUINTEGER v;
    ck_assert_int_eq(odbc_set_env_attr(env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC2, 0), SQL_ERROR);
    ck_assert_str_eq(state_of(&env->h, 1), "HY010"); /* a connection exists */
    ck_assert_int_eq(odbc_set_env_attr(env, SQL_ATTR_OUTPUT_NTS, (SQLPOINTER)SQL_FALSE, 0), SQL_ERROR);
    odbc_get_env_attr(env, SQL_ATTR_ODBC_VERSION, &v, 0, NULL);
    ck_assert_uint_eq(v, SQL_OV_ODBC3);
    SQLUSMALLINT bits[SQL_API_ODBC3_ALL_FUNCTIONS_SIZE], one;
    ck_assert_int_eq(odbc_get_functions(conn, SQL_API_ODBC3_ALL_FUNCTIONS, bits), SQL_SUCCESS);
    ck_assert(SQL_FUNC_EXISTS(bits, SQL_API_SQLSETPOS));
    ck_assert(!SQL_FUNC_EXISTS(bits, SQL_API_SQLBROWSECONNECT));
    ck_assert(!SQL_FUNC_EXISTS(bits, SQL_API_SQLBULKOPERATIONS));
    odbc_get_functions(conn, SQL_API_SQLDESCRIBEPARAM, &one);
    ck_assert_int_eq(one, SQL_TRUE);
    odbc_get_functions(conn, SQL_API_SQLSETSCROLLOPTIONS, &one);
    ck_assert_int_eq(one, SQL_FALSE);
    /* Info that needs no connection, and what does. */
    char buf[32];
    SQLSMALLINT len;
    ck_assert_int_eq(odbc_get_info(conn, SQL_DRIVER_ODBC_VER, buf, sizeof buf, &len, ODBC_OUT_ANSI), SQL_SUCCESS);
    ck_assert_str_eq(buf, "03.51");
    ck_assert_int_eq(odbc_get_info(conn, SQL_DBMS_NAME, buf, sizeof buf, &len, ODBC_OUT_ANSI), SQL_ERROR);
    ck_assert_str_eq(state_of(&conn->h, 1), "08003");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("odbc_handles");
    TCase *tc = tcase_create("fetch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, column_wise_arrays);
    tcase_add_test(tc, row_wise_with_offset_and_row_errors);
    tcase_add_test(tc, single_row_error_fails_the_fetch);
    tcase_add_test(tc, getdata_pieces_setpos_and_max_rows);
    tcase_add_test(tc, describe_and_attributes);
    tcase_add_test(tc, extended_fetch_uses_rowset_size);
    suite_add_tcase(s, tc);
    tc = tcase_create("desc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, descriptor_consistency_and_readonly);
    tcase_add_test(tc, explicit_descriptors_and_copy);
    tcase_add_test(tc, bind_parameter_fills_apd_and_ipd);
    suite_add_tcase(s, tc);
    tc = tcase_create("diag");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, diagnostics);
    tcase_add_test(tc, out_str_truncation);
    tcase_add_test(tc, env_attributes_and_functions);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
