/* One error model for every layer of Recall.
 *
 * An error is a code from the table below, a SQLSTATE, an optional native
 * (backend) error number and a message.  The table says, for each code,
 * whether the handle that reported it (connection, statement, replica link)
 * is still usable afterwards: the driver uses that to choose between failing
 * over and failing the call.  Lower layers' messages are wrapped on the way up
 * with err_wrap(), so the final text reads from the outermost context inward.
 */
#ifndef RECALL_SHARED_ERR_H
#define RECALL_SHARED_ERR_H

#include <stdarg.h>
#include <stdbool.h>

/* X(name, sqlstate, usable, text)
 * usable: 1 = the handle can be used again, 0 = it must be closed/reopened. */
#define ERR_TABLE(X)                                                          \
    X(OK,           "00000", 1, "success")                                    \
    X(NOMEM,        "HY001", 1, "out of memory")                              \
    X(INVALID,      "HY009", 1, "invalid argument")                           \
    X(CONFIG,       "HY000", 1, "configuration error")                        \
    X(IO,           "58030", 0, "I/O error")                                  \
    X(CORRUPT,      "XX001", 0, "data corrupted")                             \
    X(PROTOCOL,     "08P01", 0, "protocol violation")                         \
    X(TOO_BIG,      "08P01", 0, "message exceeds the maximum frame size")     \
    X(CONNECT,      "08001", 0, "unable to connect")                          \
    X(CONN_LOST,    "08S01", 0, "communication link failure")                 \
    X(REJECTED,     "08004", 0, "server rejected the connection")             \
    X(AUTH,         "28000", 0, "invalid authorization")                      \
    X(TIMEOUT,      "HYT00", 1, "timeout expired")                            \
    X(UNAVAILABLE,  "08006", 1, "no quorum of replicas is reachable")         \
    X(FAILOVER,     "40001", 1, "transaction rolled back by failover; retry") \
    X(DEADLOCK,     "40001", 1, "deadlock; transaction rolled back")          \
    X(REFUSED,      "0A000", 1, "statement refused")                          \
    X(SQL,          "HY000", 1, "SQL error")                                  \
    X(NOT_PRIMARY,  "HY000", 1, "this replica is not the primary")            \
    X(NOT_READY,    "HY000", 1, "this replica is not ready")                  \
    X(LIMIT,        "54000", 1, "limit exceeded")                             \
    X(STATE,        "HY010", 1, "function sequence error")                    \
    X(CANCELED,     "HY008", 1, "operation canceled")                         \
    X(INTERNAL,     "XX000", 0, "internal error")

enum err_code {
#define ERR_ENUM_(name, state, usable, text) ERR_##name,
    ERR_TABLE(ERR_ENUM_)
#undef ERR_ENUM_
    ERR__COUNT
};

#define ERR_MSG_MAX 512

struct err {
    enum err_code code;
    char sqlstate[6];        /* NUL-terminated five-character SQLSTATE */
    int native;              /* backend error number, 0 if none */
    char msg[ERR_MSG_MAX];   /* human-readable, NUL-terminated */
};

/* Name ("NOMEM"), default SQLSTATE, default text, usability of a code. */
const char *err_name(enum err_code code);
const char *err_default_sqlstate(enum err_code code);
const char *err_text(enum err_code code);
bool err_code_usable(enum err_code code);

/* Reset to ERR_OK with an empty message. */
void err_clear(struct err *e);

/* Set code, the code's default SQLSTATE, and a formatted message.  Returns
 * -1 so that callers can write `return err_set(e, ...)`.  `e` may be NULL. */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int err_setv(struct err *e, enum err_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* As err_set() but with an explicit SQLSTATE and native error number (for
 * errors that come from a backend). */
int err_set_sql(struct err *e, enum err_code code, const char *sqlstate,
                int native, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Set from errno: "<context>: <strerror(errnum)>", code ERR_IO unless
 * errnum is ENOMEM. */
int err_set_errno(struct err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing message with "<context>: ", keeping code and SQLSTATE. */
int err_wrap(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copy src into dst (dst may be NULL). Returns -1. */
int err_copy(struct err *dst, const struct err *src);

/* Whether the handle that produced `e` can still be used. */
static inline bool err_usable(const struct err *e) { return err_code_usable(e->code); }

#endif
