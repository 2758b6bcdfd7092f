/* Backend dispatch: picks the implementation from the DSN's scheme and
 * forwards every call through its function table.  The implementations
 * start their structs with struct backend_base / backend_session_base. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "backend-internal.h"

static const struct backend_ops *const all_backends[] = {
    &backend_sqlite_ops,
    &backend_mysql_ops,
};

#define OPS(be) (((const struct backend_base *)(const void *)(be))->ops)
#define SOPS(s) (((const struct backend_session_base *)(const void *)(s))->ops)

void backend_result_free(struct backend_result *r)
{
    proto_list_column_resize(&r->columns, 0);
    free(r->columns.v);
    proto_str_free(&r->info);
    proto_stmt_free(&r->stmt);
    memset(r, 0, sizeof *r);
}

struct backend *backend_open(const char *dsn, struct err *e)
{
    if (!dsn || !*dsn) {
        err_set(e, ERR_CONFIG, "no backend configured (backend = sqlite:/path/db or mysql://user:password@host:port/db)");
        return NULL;
    }
    for (size_t i = 0; i < sizeof all_backends / sizeof all_backends[0]; i++) {
        const struct backend_ops *ops = all_backends[i];
        if (strncmp(dsn, ops->scheme, strlen(ops->scheme)) == 0)
            return ops->open(dsn, e);
    }
    err_set(e, ERR_CONFIG, "unknown backend '%.40s': use sqlite:/path/db or mysql://user:password@host:port/db", dsn);
    return NULL;
}

void backend_close(struct backend *be)
{
    if (be)
        OPS(be)->close(be);
}

const char *backend_version(const struct backend *be) { return OPS(be)->version(be); }
const char *backend_kind(const struct backend *be) { return OPS(be)->kind; }

int backend_get_state(struct backend *be, struct backend_state *st, struct err *e)
{
    return OPS(be)->get_state(be, st, e);
}

int backend_set_cluster(struct backend *be, uint64_t cluster, struct err *e)
{
    return OPS(be)->set_cluster(be, cluster, e);
}

int backend_client_lookup(struct backend *be, const struct proto_id *client,
                          struct backend_client_row *row, bool *found, struct err *e)
{
    return OPS(be)->client_lookup(be, client, row, found, e);
}

int backend_flush(struct backend *be, uint64_t *durable_applied, struct err *e)
{
    return OPS(be)->flush(be, durable_applied, e);
}

int backend_quiesce(struct backend *be, struct err *e) { return OPS(be)->quiesce(be, e); }
int backend_resume(struct backend *be, struct err *e) { return OPS(be)->resume(be, e); }

int backend_checksum(struct backend *be, uint64_t *applied, struct proto_list_kv *sums,
                     struct err *e)
{
    return OPS(be)->checksum(be, applied, sums, e);
}

struct backend_session *backend_session_open(struct backend *be, const char *user,
                                             const char *password, const char *database,
                                             struct err *e)
{
    return OPS(be)->session_open(be, user, password, database, e);
}

void backend_session_close(struct backend_session *s)
{
    if (s)
        SOPS(s)->session_close(s);
}

int backend_describe(struct backend_session *s, const char *sql, uint32_t len,
                     const struct proto_list_value *params, const struct backend_ctx *ctx,
                     struct proto_stmt *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (SOPS(s)->describe(s, sql, len, params, ctx, out, e) < 0) {
        proto_stmt_free(out);
        return -1;
    }
    return 0;
}

int backend_begin(struct backend_session *s, enum backend_iso iso, struct err *e)
{
    return SOPS(s)->begin(s, iso, e);
}

int backend_exec(struct backend_session *s, const char *sql, uint32_t len,
                 const struct proto_list_value *params, const struct backend_ctx *ctx,
                 struct backend_result *res, bool *txn_aborted, struct err *e)
{
    bool aborted = false;
    int rc;
    memset(res, 0, sizeof *res);
    rc = SOPS(s)->exec(s, sql, len, params, ctx, res, &aborted, e);
    if (txn_aborted)
        *txn_aborted = aborted;
    return rc;
}

int backend_fetch(struct backend_session *s, uint32_t max_rows, struct proto_list_value *cells,
                  bool *more, struct err *e)
{
    return SOPS(s)->fetch(s, max_rows, cells, more, e);
}

void backend_fetch_close(struct backend_session *s) { SOPS(s)->fetch_close(s); }

int backend_savepoint(struct backend_session *s, const char *name, struct err *e)
{
    return SOPS(s)->savepoint(s, name, e);
}

int backend_rollback_to(struct backend_session *s, const char *name, struct err *e)
{
    return SOPS(s)->rollback_to(s, name, e);
}

int backend_release(struct backend_session *s, const char *name, struct err *e)
{
    return SOPS(s)->release(s, name, e);
}

int backend_commit_entry(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                         const struct proto_body *body, struct err *e)
{
    return SOPS(s)->commit_entry(s, op, entry, body, e);
}

int backend_commit_empty(struct backend_session *s, struct err *e)
{
    return SOPS(s)->commit_empty(s, e);
}

int backend_rollback(struct backend_session *s, struct err *e)
{
    return SOPS(s)->rollback(s, e);
}

int backend_read_begin(struct backend_session *s, uint64_t *applied, struct err *e)
{
    return SOPS(s)->read_begin(s, applied, e);
}

int backend_read_exec(struct backend_session *s, const char *sql, uint32_t len,
                      const struct proto_list_value *params, struct backend_result *res,
                      struct err *e)
{
    memset(res, 0, sizeof *res);
    return SOPS(s)->read_exec(s, sql, len, params, res, e);
}

int backend_read_end(struct backend_session *s) { return SOPS(s)->read_end(s); }

int backend_apply(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                  const struct proto_body *body, struct backend_apply_report *rep,
                  struct err *e)
{
    memset(rep, 0, sizeof *rep);
    return SOPS(s)->apply(s, op, entry, body, rep, e);
}

int backend_apply_batch(struct backend_session *s, const struct backend_apply_item *items,
                        uint32_t n, struct backend_apply_report *rep, struct err *e)
{
    memset(rep, 0, sizeof *rep);
    if (n == 0 || n > BACKEND_BATCH_MAX)
        return err_set(e, ERR_INVALID, "a batch holds 1 to %d entries, not %u", BACKEND_BATCH_MAX, n);
    for (uint32_t i = 0; i < n; i++) {
        if (items[i].body->kind != BODY_TXN)
            return err_set(e, ERR_INVALID, "entry %llu in a batch is not a transaction (kind %u)",
                           (unsigned long long)items[i].op, items[i].body->kind);
        if (i > 0 && items[i].op <= items[i - 1].op)
            return err_set(e, ERR_INVALID, "batch entries out of op order (%llu after %llu)",
                           (unsigned long long)items[i].op, (unsigned long long)items[i - 1].op);
    }
    return SOPS(s)->apply_batch(s, items, n, rep, e);
}

int backend_exec_ddl(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                     const struct proto_stmt *stmt, struct err *e)
{
    return SOPS(s)->exec_ddl(s, op, entry, stmt, e);
}

int backend_apply_ddl(struct backend_session *s, uint64_t op, const struct proto_entry *entry,
                      const struct proto_body *body, const struct proto_body *outcome,
                      struct backend_apply_report *rep, struct err *e)
{
    memset(rep, 0, sizeof *rep);
    return SOPS(s)->apply_ddl(s, op, entry, body, outcome, rep, e);
}
