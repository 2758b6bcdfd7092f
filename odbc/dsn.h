/* Connection strings and DSNs of the Recall ODBC driver.
 *
 * SQLDriverConnect/SQLConnect input is parsed with shared/connstr ({}
 * quoting, first occurrence of a key wins, keys case-insensitive); keys the
 * driver does not know are ignored, aliases (UID/USER, PWD/PASSWORD,
 * DATABASE/DB) share one slot and the first spelling given wins.  With a
 * DSN, every key the string leaves out is read from the DSN's odbc.ini
 * section (a lookup callback: SQLGetPrivateProfileString in the driver, a
 * table in tests).  The result yields librecall's connection string and the
 * completed ODBC connection string SQLDriverConnect returns.
 */
#ifndef RECALL_ODBC_DSN_H
#define RECALL_ODBC_DSN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum dsn_key {
    DK_DSN = 0, DK_DRIVER, DK_REPLICAS, DK_SERVER, DK_PORT, DK_UID, DK_PWD, DK_DATABASE,
    DK_READ_CONSISTENCY, DK_CONNECT_TIMEOUT, DK_REQUEST_TIMEOUT, DK_FETCH_ROWS, DK__COUNT
};

/* Default request timeout (seconds) when neither the DSN nor the string
 * sets REQUEST_TIMEOUT. */
#define DSN_DEFAULT_REQUEST_TIMEOUT 30

struct dsn_conf {
    char *val[DK__COUNT]; /* owned; NULL when not given */
};

/* Read value `key` of data source `dsn` into out[outlen] (NUL-terminated);
 * true when the DSN has a non-empty value. */
typedef bool (*dsn_lookup_fn)(void *ud, const char *dsn, const char *key, char *out,
                              size_t outlen);

/* The lookup through unixODBC's SQLGetPrivateProfileString (odbc.ini). */
bool dsn_odbcinst_lookup(void *ud, const char *dsn, const char *key, char *out, size_t outlen);

/* Canonical name of a key ("UID"). */
const char *dsn_key_name(enum dsn_key k);

/* Fill conf from connstr[0..len) and, when it names a DSN (or dsn_name is
 * given, as SQLConnect does), from that DSN.  Returns 0, or -1 with a
 * message (syntax error, out of memory). */
int dsn_resolve(struct dsn_conf *conf, const char *connstr, size_t len, const char *dsn_name,
                dsn_lookup_fn lookup, void *ud, char *msg, size_t msglen);

/* librecall's connection string.  login_timeout (seconds, 0 none) applies
 * unless CONNECT_TIMEOUT is set.  Returns 0, or -1 with a message (no
 * replicas given, out of memory). */
int dsn_librecall(const struct dsn_conf *conf, unsigned login_timeout, struct buf *out,
                  char *msg, size_t msglen);

/* The completed connection string: DSN= or DRIVER= first, then every key
 * that has a value.  Returns 0 or -1 (out of memory). */
int dsn_completed(const struct dsn_conf *conf, struct buf *out);

/* Request timeout in milliseconds from REQUEST_TIMEOUT (or the default). */
unsigned dsn_request_timeout_ms(const struct dsn_conf *conf);

void dsn_conf_free(struct dsn_conf *conf);

#endif
