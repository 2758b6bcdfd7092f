/* SQL <-> C data conversions of the Recall ODBC driver (ODBC Appendix D).
 *
 * Fetching: a cell value (struct odbc_value, as librecall or a driver-built
 * table holds it) described by its column's SQL type is converted into an
 * application buffer of a SQL_C_* type, with the SQLSTATEs the conversion
 * tables prescribe (01004, 01S07, 07006, 22002 is the caller's, 22003, 22007,
 * 22012, 22015, 22018).  Character and binary targets can be read in pieces
 * (SQLGetData): struct conv_stream remembers how much was returned.
 *
 * Parameters: a bound application value of a SQL_C_* type is converted for
 * a parameter of a SQL type into a typed value for recall_bind_* (integer,
 * double, exact decimal text, canonical date/time text, text or bytes) --
 * never into SQL text.  SQLSTATEs 01S07, 07006, 22001, 22003, 22007, 22008,
 * 22015, 22018.
 *
 * Everything here is pure: no handles, no I/O.
 */
#ifndef RECALL_ODBC_CONVERT_H
#define RECALL_ODBC_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sql.h>
#include <sqlext.h>
#include <sqlucode.h>

#include "buf.h"

/* A cell value: what librecall's accessors return, or a value of a table
 * the driver built itself.  p is not NUL-terminated in general. */
enum odbc_vkind {
    ODBC_V_NULL = 0, ODBC_V_INT, ODBC_V_UINT, ODBC_V_DOUBLE, ODBC_V_TEXT, ODBC_V_BLOB
};

struct odbc_value {
    enum odbc_vkind kind;
    int64_t i;
    uint64_t u;
    double d;
    const char *p; /* TEXT/BLOB bytes, borrowed */
    size_t len;
};

/* Outcome of a conversion. */
enum {
    CONV_OK = 0,
    CONV_INFO = 1,   /* done, with a warning in struct conv_diag */
    CONV_ERROR = -1, /* failed, SQLSTATE in struct conv_diag */
    CONV_NODATA = 2, /* SQLGetData: everything was already returned */
    CONV_NULL = 3    /* the value reads as SQL NULL (a MySQL zero date) */
};

struct conv_diag {
    char state[6];
    char msg[200];
};

/* The source column, as the IRD describes it. */
struct conv_col {
    SQLSMALLINT sql_type; /* concise SQL type (ODBC 3 codes) */
    SQLSMALLINT scale;    /* decimal digits */
    bool is_unsigned;
};

/* The application's buffer: an ARD record or SQLGetData's arguments. */
struct conv_target {
    SQLSMALLINT c_type;  /* a concrete SQL_C_* code (not SQL_C_DEFAULT) */
    void *ptr;           /* may be NULL: the value is then only measured */
    SQLLEN buflen;       /* bytes; used by character and binary targets */
    SQLSMALLINT precision, scale;       /* SQL_C_NUMERIC */
    SQLINTEGER interval_precision;      /* leading field precision, default 2 */
    SQLSMALLINT seconds_precision;      /* interval seconds precision, default 6 */
};

/* Progress of SQLGetData on one column of one row.  Zero-initialise it;
 * conv_stream_reset() frees what it holds. */
struct conv_stream {
    bool started, done;
    size_t offset;            /* bytes already returned */
    struct buf render;        /* owned: the rendered form when it is not the value itself */
    const unsigned char *data; /* the rendered form (borrowed or render.data) */
    size_t len;
    bool pairs;               /* hex digits: character targets cut whole pairs only */
};

void conv_stream_reset(struct conv_stream *st);

/* Convert v (not NULL; the caller handles SQL NULL) into t.  st is NULL for
 * bound columns (one shot) and a per-column stream for SQLGetData.
 * *len_out receives the value for the length/indicator buffer (bytes; for
 * truncated character data the full remaining length, or SQL_NO_TOTAL).
 * Returns CONV_OK, CONV_INFO, CONV_ERROR, CONV_NODATA or CONV_NULL. */
int conv_to_c(const struct odbc_value *v, const struct conv_col *col,
              const struct conv_target *t, struct conv_stream *st, SQLLEN *len_out,
              struct conv_diag *d);

/* A bound parameter value, resolved for one parameter set. */
struct conv_param {
    SQLSMALLINT c_type;     /* concrete SQL_C_* code */
    const void *ptr;
    SQLLEN len;             /* octet length for character/binary data (not SQL_NTS) */
    SQLSMALLINT sql_type;   /* target SQL type (ODBC 2 or 3 codes) */
    SQLULEN column_size;    /* 0: not given */
    SQLSMALLINT decimal_digits;
    SQLSMALLINT num_scale;  /* SQL_C_NUMERIC: scale from the APD ... */
    bool num_scale_set;     /* ... when the application set it there */
};

/* Convert p into *out (INT, UINT, DOUBLE, TEXT or BLOB; never NULL).  TEXT
 * and BLOB bytes live in scratch (reset first) or point into p->ptr.
 * Returns CONV_OK, CONV_INFO or CONV_ERROR. */
int conv_from_c(const struct conv_param *p, struct odbc_value *out, struct buf *scratch,
                struct conv_diag *d);

/* ---- type facts ---- */

enum conv_sqlcat {
    CAT_NONE = 0, CAT_CHAR, CAT_EXACT, CAT_APPROX, CAT_BIT, CAT_BINARY, CAT_DATE,
    CAT_TIME, CAT_TIMESTAMP, CAT_INTERVAL_YM, CAT_INTERVAL_DT, CAT_GUID
};

enum conv_sqlcat conv_sql_category(SQLSMALLINT sql_type);
/* Whether c_type is a C type this driver converts (SQL_C_DEFAULT excluded). */
bool conv_c_type_valid(SQLSMALLINT c_type);
/* Whether sql_type is a SQL type a parameter may be bound as. */
bool conv_sql_type_valid(SQLSMALLINT sql_type);
/* Default C type for a SQL type (SQL_C_DEFAULT). */
SQLSMALLINT conv_default_c_type(SQLSMALLINT sql_type, bool is_unsigned);
/* Size of a fixed-length C type, 0 for character/binary types. */
SQLLEN conv_c_size(SQLSMALLINT c_type);
/* Whether the C type is read in pieces by SQLGetData (char, wchar, binary). */
bool conv_c_is_stream(SQLSMALLINT c_type);
/* ODBC 3 concise type for an ODBC 2 date/time code and back. */
SQLSMALLINT conv_sql_type_v3(SQLSMALLINT sql_type);
SQLSMALLINT conv_sql_type_v2(SQLSMALLINT sql_type);
SQLSMALLINT conv_c_type_v3(SQLSMALLINT c_type);
/* SQL_DESC_TYPE (verbose) and SQL_DESC_DATETIME_INTERVAL_CODE of a concise
 * SQL or C type. */
SQLSMALLINT conv_verbose_type(SQLSMALLINT concise);
SQLSMALLINT conv_interval_code(SQLSMALLINT concise);
/* The concise type for a verbose type and a subcode, 0 if invalid. */
SQLSMALLINT conv_concise_type(SQLSMALLINT verbose, SQLSMALLINT code, bool is_c);

/* ---- exposed for the unit tests ---- */

enum conv_dtkind { DT_NONE = 0, DT_DATE = 1, DT_TIME = 2, DT_TS = 3 };

struct conv_dt {
    enum conv_dtkind kind;
    bool neg;             /* TIME values only (MySQL TIME is signed) */
    int year, month, day;
    unsigned hour, minute, second; /* hour may exceed 23 for MySQL TIME */
    uint32_t frac;        /* nanoseconds */
    int frac_digits;      /* digits written in the text (0..9) */
};

/* Parse a date, time or timestamp literal (blanks around it ignored; 'T'
 * accepted between date and time; an ODBC escape {d '..'}, {t '..'},
 * {ts '..'} is accepted too).  Returns 0 or -1 if it is not one.  Field
 * ranges are not checked (see conv_dt_valid). */
int conv_parse_dt(const char *s, size_t n, struct conv_dt *dt);
/* Whether the fields form a valid date/time (Gregorian calendar; hour < 24
 * unless allow_long_time; all-zero dates are invalid). */
bool conv_dt_valid(const struct conv_dt *dt, bool allow_long_time);
/* Format as "YYYY-MM-DD", "HH:MM:SS" or "YYYY-MM-DD HH:MM:SS", with
 * frac_digits (0..9) fractional digits.  out holds at least 40 bytes.
 * Returns the length. */
size_t conv_format_dt(const struct conv_dt *dt, enum conv_dtkind kind, int frac_digits, char *out);

/* Parse an interval literal for interval type code (SQL_IS_*): either the
 * bare value ("1-2", "3 04:05:06.5", "-7") or "INTERVAL [+|-]'..' qualifier"
 * (whose qualifier may differ: fields are converted).  Returns CONV_OK,
 * CONV_INFO (01S07: trailing fields truncated) or CONV_ERROR (22018 not an
 * interval, 22015 leading field exceeds leading_precision). */
int conv_parse_interval(const char *s, size_t n, SQLINTERVAL code, SQLINTEGER leading_precision,
                        SQLSMALLINT seconds_precision, SQL_INTERVAL_STRUCT *iv,
                        struct conv_diag *d);
/* Format an interval struct as a bare literal; out holds at least 64 bytes.
 * Returns the length, or 0 if the struct is invalid. */
size_t conv_format_interval(const SQL_INTERVAL_STRUCT *iv, int frac_digits, char *out);

/* Shortest text that reads back as the same double ("%.17g" at worst). */
size_t conv_format_double(double v, bool is_float, char *out /* >= 32 */);

#endif
