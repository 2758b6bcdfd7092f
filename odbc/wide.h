/* UTF-16 (SQLWCHAR) <-> UTF-8 for the ODBC driver.
 *
 * The driver works in UTF-8 inside; the W entry points and SQL_C_WCHAR data
 * cross into UTF-16 here.  Decoding application UTF-16 is strict (a lone
 * surrogate is an error the caller reports as 22018); encoding server UTF-8
 * is lenient (an invalid byte becomes U+FFFD), because server data must
 * always be fetchable.
 */
#ifndef RECALL_ODBC_WIDE_H
#define RECALL_ODBC_WIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sql.h>
#include <sqlext.h>
#include <sqlucode.h>

#include "buf.h"

/* Length in UTF-16 units of a NUL-terminated SQLWCHAR string. */
size_t wide_len(const SQLWCHAR *s);

/* Append the UTF-8 encoding of s[0..n) (UTF-16 units) to out, without a
 * terminator.  Returns 0, or -1 when s holds an unpaired surrogate (*bad is
 * then the index of the offending unit) or memory ran out (out->oom). */
int wide_to_utf8(const SQLWCHAR *s, size_t n, struct buf *out, size_t *bad);

/* Append the UTF-16 encoding of UTF-8 s[0..n) to out (host byte order,
 * SQLWCHAR units, no terminator).  Invalid UTF-8 bytes become U+FFFD.
 * Returns 0 or -1 when memory ran out. */
int wide_from_utf8(const char *s, size_t n, struct buf *out);

/* Number of UTF-16 units wide_from_utf8 would produce for s[0..n). */
size_t wide_units(const char *s, size_t n);

/* How many of the n units of s fit into room units without splitting a
 * surrogate pair (room may be 0). */
size_t wide_fit(const SQLWCHAR *s, size_t n, size_t room);

/* Decode a W-function string argument: len is a length in characters or
 * SQL_NTS.  *out is malloc'd and NUL-terminated UTF-8 (NULL when s is
 * NULL).  Returns 0, or -1 on invalid UTF-16 (*oom false) or out of memory
 * (*oom true). */
int wide_arg(const SQLWCHAR *s, SQLLEN len, char **out, bool *oom);

/* Whether s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool wide_utf8_valid(const char *s, size_t n);

#endif
