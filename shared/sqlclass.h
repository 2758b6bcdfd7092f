/* SQL statement classification at the lexical level.
 *
 * Recall must know, without a round trip, what a statement is: a read that
 * may run at any replica, a write for the primary's transaction, DDL (a
 * barrier), transaction control that must go through replication (COMMIT),
 * session settings, or something Recall refuses because it cannot be made
 * deterministic.  This module reads the leading keywords and scans the text
 * once, honouring quotes ('', "", ``), backslash escapes in MySQL strings,
 * comments (-- , #, / * * /) and MySQL executable comments (/ *! ... * / and
 * / *M! ... * /, whose contents count as code).  It never executes or
 * evaluates anything.  Used by recalld (routing, transaction control,
 * refusals), the backends, and librecall (read/write routing).
 */
#ifndef RECALL_SHARED_SQLCLASS_H
#define RECALL_SHARED_SQLCLASS_H

#include <stdbool.h>
#include <stddef.h>

enum sql_dialect { SQL_DIALECT_MYSQL = 0, SQL_DIALECT_SQLITE = 1 };

enum sql_kind {
    SQL_EMPTY = 0,       /* only whitespace/comments */
    SQL_READ,            /* SELECT, SHOW, DESCRIBE, EXPLAIN, WITH ... SELECT, VALUES, TABLE */
    SQL_LOCKING_READ,    /* SELECT ... FOR UPDATE / LOCK IN SHARE MODE / FOR SHARE: primary only */
    SQL_WRITE,           /* INSERT, UPDATE, DELETE, REPLACE (also WITH ... UPDATE/DELETE) */
    SQL_DDL,             /* CREATE, ALTER, DROP, RENAME, TRUNCATE, GRANT, REVOKE, ... */
    SQL_BEGIN,           /* BEGIN [WORK], START TRANSACTION [READ ONLY|READ WRITE|...] */
    SQL_COMMIT,          /* COMMIT [WORK] (END in SQLite) */
    SQL_ROLLBACK,        /* ROLLBACK [WORK] */
    SQL_SAVEPOINT,       /* SAVEPOINT name */
    SQL_ROLLBACK_TO,     /* ROLLBACK [WORK] TO [SAVEPOINT] name */
    SQL_RELEASE,         /* RELEASE [SAVEPOINT] name */
    SQL_SET_AUTOCOMMIT,  /* SET [SESSION|@@session.|@@]autocommit = 0|1|ON|OFF */
    SQL_SET_TRANSACTION, /* SET [SESSION] TRANSACTION ISOLATION LEVEL ... / READ ONLY */
    SQL_SET,             /* any other SET: session environment */
    SQL_USE,             /* USE db */
    SQL_REFUSED,         /* see info.refusal */
    SQL_OTHER            /* anything else (the backend decides) */
};

enum sql_isolation {
    SQL_ISO_NONE = 0, SQL_ISO_READ_UNCOMMITTED, SQL_ISO_READ_COMMITTED,
    SQL_ISO_REPEATABLE_READ, SQL_ISO_SERIALIZABLE
};

struct sql_info {
    enum sql_kind kind;
    /* SAVEPOINT / ROLLBACK_TO / RELEASE: savepoint name; USE: database.
     * Unquoted, at most 64 bytes; empty if absent. */
    char name[65];
    int autocommit;           /* SET_AUTOCOMMIT: 0 or 1 */
    enum sql_isolation isolation; /* SET_TRANSACTION / BEGIN: requested level or NONE */
    bool read_only;           /* BEGIN/START TRANSACTION READ ONLY, SET TRANSACTION READ ONLY */
    bool multi;               /* more than one statement in the text */
    int nparams;              /* `?` placeholders outside quotes and comments
                               * (SQLite: the highest ?/?NNN number; named
                               * :x @x $x parameters are not counted) */
    /* Non-NULL when Recall refuses the statement (kind SQL_REFUSED, or a
     * refused construct inside a write/DDL): a static sentence that says why
     * and what to do instead.  Always check it: for WRITE, DDL and
     * SET_TRANSACTION (isolation below REPEATABLE READ) the kind is kept and
     * only `refusal` says no; every other refused statement is SQL_REFUSED. */
    const char *refusal;
    /* Added after the first version of this contract: */
    bool read_write;          /* READ WRITE given explicitly (BEGIN/START
                               * TRANSACTION, SET TRANSACTION, transaction_read_only=0) */
    bool session_scope;       /* SET_TRANSACTION: lasts for the session (SET SESSION
                               * TRANSACTION, SET [SESSION] transaction_isolation=...)
                               * rather than the next transaction only (SET
                               * TRANSACTION, SET @@transaction_isolation=...) */
};

/* Classify sql[0..len).  Always fills *out; returns out->kind. */
enum sql_kind sqlclass(const char *sql, size_t len, enum sql_dialect dialect,
                       struct sql_info *out);

/* Name of a kind ("READ", "WRITE", ...). */
const char *sqlclass_kind_name(enum sql_kind kind);

/* For tests: 0 if the internal keyword table is consistent (sorted, every
 * keyword found by lookup), -1 otherwise. */
int sqlclass_selfcheck(void);

#endif
