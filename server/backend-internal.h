/* The table of functions each backend implements, shared by backend.c
 * (which dispatches on the DSN scheme) and the implementations
 * (backend_sqlite.c, backend_mysql.c).  Nothing outside server/backend*.c
 * includes this file. */
#ifndef RECALL_SERVER_BACKEND_INTERNAL_H
#define RECALL_SERVER_BACKEND_INTERNAL_H

#include "backend.h"

struct backend_ops {
    const char *kind;           /* "sqlite", "mysql" */
    const char *scheme;         /* DSN prefix: "sqlite:", "mysql://" */

    struct backend *(*open)(const char *dsn, struct err *e);
    void (*close)(struct backend *be);
    const char *(*version)(const struct backend *be);
    int (*get_state)(struct backend *be, struct backend_state *st, struct err *e);
    int (*set_cluster)(struct backend *be, uint64_t cluster, struct err *e);
    int (*client_lookup)(struct backend *be, const struct proto_id *client,
                         struct backend_client_row *row, bool *found, struct err *e);
    int (*flush)(struct backend *be, uint64_t *durable_applied, struct err *e);
    int (*quiesce)(struct backend *be, struct err *e);
    int (*resume)(struct backend *be, struct err *e);
    int (*checksum)(struct backend *be, uint64_t *applied, struct proto_list_kv *sums,
                    struct err *e);

    struct backend_session *(*session_open)(struct backend *be, const char *user,
                                            const char *password, const char *database,
                                            struct err *e);
    void (*session_close)(struct backend_session *s);
    int (*describe)(struct backend_session *s, const char *sql, uint32_t len,
                    const struct proto_list_value *params, const struct backend_ctx *ctx,
                    struct proto_stmt *out, struct err *e);
    int (*begin)(struct backend_session *s, enum backend_iso iso, struct err *e);
    int (*exec)(struct backend_session *s, const char *sql, uint32_t len,
                const struct proto_list_value *params, const struct backend_ctx *ctx,
                struct backend_result *res, bool *txn_aborted, struct err *e);
    int (*fetch)(struct backend_session *s, uint32_t max_rows, struct proto_list_value *cells,
                 bool *more, struct err *e);
    void (*fetch_close)(struct backend_session *s);
    int (*savepoint)(struct backend_session *s, const char *name, struct err *e);
    int (*rollback_to)(struct backend_session *s, const char *name, struct err *e);
    int (*release)(struct backend_session *s, const char *name, struct err *e);
    int (*commit_entry)(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                        const struct proto_body *body, struct err *e);
    int (*commit_empty)(struct backend_session *s, struct err *e);
    int (*rollback)(struct backend_session *s, struct err *e);
    int (*read_begin)(struct backend_session *s, uint64_t *applied, struct err *e);
    int (*read_exec)(struct backend_session *s, const char *sql, uint32_t len,
                     const struct proto_list_value *params, struct backend_result *res,
                     struct err *e);
    int (*read_end)(struct backend_session *s);
    int (*apply)(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                 const struct proto_body *body, struct backend_apply_report *rep,
                 struct err *e);
    int (*apply_batch)(struct backend_session *s, const struct backend_apply_item *items, uint32_t n,
                       struct backend_apply_report *rep, struct err *e);
    int (*exec_ddl)(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                    const struct proto_stmt *stmt, struct err *e);
    int (*apply_ddl)(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                     const struct proto_body *body, const struct proto_body *outcome,
                     struct backend_apply_report *rep, struct err *e);
};

/* Every struct backend and struct backend_session starts with this header
 * so backend.c can find the ops. */
struct backend_base {
    const struct backend_ops *ops;
};
struct backend_session_base {
    const struct backend_ops *ops;
};

extern const struct backend_ops backend_sqlite_ops;
extern const struct backend_ops backend_mysql_ops;

#endif
