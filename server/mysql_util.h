/* Pure helpers of the MySQL/MariaDB backend (backend_mysql.c): DSN parsing,
 * column metadata and cell conversion from the client library's text form,
 * the table of session variables that make up a statement's environment,
 * and the reading of a DDL statement's targets for crash recovery.  Nothing
 * here talks to a server, so all of it is unit-tested without one.  Only
 * server/backend_mysql.c and its tests include this header.
 */
#ifndef RECALL_SERVER_MYSQL_UTIL_H
#define RECALL_SERVER_MYSQL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "buf.h"
#include "err.h"
#include "proto.h"

/* ---- DSN ---- */

/* mysql://user:password@host:port/database?socket=/path&option=value
 * User, password, database and option values are percent-decoded.  Options:
 * socket, connect_timeout, read_timeout, write_timeout (seconds),
 * read_lock_wait_timeout (seconds, lock_wait_timeout of read snapshots),
 * client_expiry (seconds a recall_clients row is kept), public_grants (0|1).
 * A host given as [v6 address] is accepted.  Strings are owned (NULL when
 * absent); free with mysqlu_dsn_free(). */
struct mysqlu_dsn {
    char *user, *password, *host, *socket, *database; /* owned */
    unsigned port;
    unsigned connect_timeout, read_timeout, write_timeout;
    unsigned read_lock_wait;
    unsigned client_expiry;
    bool public_grants;
};

/* Fills d (zeroed first).  Returns 0, or -1 with ERR_CONFIG naming the
 * problem (d is then freed). */
int mysqlu_dsn_parse(const char *dsn, struct mysqlu_dsn *d, struct err *e);
void mysqlu_dsn_free(struct mysqlu_dsn *d);

/* ---- result sets ---- */

/* Column metadata from a MYSQL_FIELD: name, table (org_table, else the
 * alias), db, a declared type like "int(11) unsigned", enum recall_type,
 * RECALL_COL_* flags, length and decimals.  -1 on allocation failure (c is
 * left for proto_column_free). */
int mysqlu_column(const MYSQL_FIELD *f, struct proto_column *c);

/* One cell from the client library's text form of a value (the text
 * protocol, or a binary-protocol column fetched into a string buffer: both
 * give the server's canonical text).  p == NULL is SQL NULL.  Integers ->
 * PV_INT (unsigned above INT64_MAX -> PV_UINT), FLOAT/DOUBLE -> PV_DOUBLE,
 * binary strings/blobs (charset 63), BIT and GEOMETRY -> PV_BLOB, everything
 * else (DECIMAL, dates and times, text, ENUM, SET, JSON) -> PV_TEXT.
 * -1 on allocation failure. */
int mysqlu_cell(const MYSQL_FIELD *f, const char *p, size_t len, struct proto_value *v);

/* ---- session environment ---- */

#define MYSQLU_MARIADB 0x1u
#define MYSQLU_MYSQL 0x2u

/* The session variables that change what a write statement does; they are
 * logged with every statement and set on backups before it runs (what the
 * binary log's Query event carries, plus pseudo_thread_id for
 * CONNECTION_ID(), and the variables that change function results). */
struct mysqlu_env_var {
    const char *name;
    bool numeric;       /* set unquoted (digits only) */
    unsigned flavors;   /* MYSQLU_MARIADB | MYSQLU_MYSQL */
};
extern const struct mysqlu_env_var mysqlu_env_vars[];
extern const size_t mysqlu_env_nvars;
/* Key of the current database in an environment list. */
#define MYSQLU_ENV_DATABASE "database"

/* Index of name in mysqlu_env_vars, or -1. */
int mysqlu_env_find(const char *name, size_t len);
/* Whether value may be written into a SET statement for this variable:
 * numeric ones are decimal digits, others use [A-Za-z0-9_,.:/+-] only. */
bool mysqlu_env_value_ok(const struct mysqlu_env_var *v, const char *value, size_t len);

/* ---- SQL text ---- */

/* Append `name` quoted as an identifier (backticks doubled). */
void mysqlu_quote_ident(struct buf *b, const char *name, size_t len);
/* Case-insensitive search for an ASCII word in sql[0..len). */
bool mysqlu_mentions(const char *sql, size_t len, const char *word);

/* ---- DDL recovery ---- */

/* What a crash between "DDL pending" and "applied" leaves to decide: the
 * statement's targets and whether each exists once the DDL has run. */
enum mysqlu_ddl_how {
    MYSQLU_DDL_UNKNOWN = 0, /* cannot tell from the schema: repair needed */
    MYSQLU_DDL_RERUN,       /* idempotent: running it again is safe */
    MYSQLU_DDL_PROBE        /* check probes[]: all as after -> done, none -> not done */
};
enum mysqlu_probe_kind {
    MYSQLU_PROBE_DB = 1, MYSQLU_PROBE_TABLE, MYSQLU_PROBE_COLUMN, MYSQLU_PROBE_INDEX,
    MYSQLU_PROBE_USER, MYSQLU_PROBE_ROUTINE, MYSQLU_PROBE_TRIGGER, MYSQLU_PROBE_EVENT
};
#define MYSQLU_NAME_MAX 64
#define MYSQLU_MAX_PROBES 8
struct mysqlu_probe {
    enum mysqlu_probe_kind kind;
    bool exists_after;              /* the object exists once the DDL ran */
    char db[MYSQLU_NAME_MAX + 1];   /* schema (USER: user name) */
    char name[256];                 /* object (USER: host) */
    char sub[MYSQLU_NAME_MAX + 1];  /* COLUMN / INDEX name */
};
struct mysqlu_ddl_plan {
    enum mysqlu_ddl_how how;
    unsigned n;
    struct mysqlu_probe probes[MYSQLU_MAX_PROBES];
    const char *why;                /* UNKNOWN: what could not be understood */
};

/* Read the DDL statement sql[0..len) run with current database cur_db
 * (may be NULL or empty) and fill plan. */
void mysqlu_ddl_plan(const char *sql, size_t len, const char *cur_db,
                     struct mysqlu_ddl_plan *plan);

#endif
