/* ODBC escape clauses ({fn}, {d}, {t}, {ts}, {call}, {oj}, {escape},
 * {interval}, {guid}) rewritten into MySQL/MariaDB or SQLite SQL.
 *
 * The scanner honours the dialect's quoting ('..', "..", `..`, [..] in
 * SQLite, backslash escapes in MySQL strings) and comments (-- , #, / * * /),
 * so braces inside literals and comments are never touched.  Escapes nest
 * ({fn UCASE({fn LTRIM(x)})}).  A '{' that does not open a known escape is
 * copied unchanged.  Pure: no handles, no I/O.
 */
#ifndef RECALL_ODBC_ESCAPE_H
#define RECALL_ODBC_ESCAPE_H

#include <stddef.h>

#include "buf.h"

enum esc_dialect { ESC_MYSQL = 0, ESC_SQLITE = 1 };

/* Rewrite sql[0..n) into out (appended, NUL-terminated after out->len).
 * Returns 0, or -1 with a SQLSTATE (42000 syntax error, HYC00 unsupported,
 * HY001 no memory) in state[6] and a message in msg[msglen]. */
int escape_rewrite(const char *sql, size_t n, enum esc_dialect dialect, struct buf *out,
                   char state[6], char *msg, size_t msglen);

#endif
