/* librecall statements: preparing (classification, placeholder count),
 * typed bindings, execution through route.c, and result sets streamed from
 * the replica in bounded chunks.
 *
 * Happy path of a result set: the first chunk arrives in the RESULT (held by
 * route.c until the read's quorum verdict), recall_fetch walks it, and while
 * the application reads one chunk the next is already asked for with FETCH
 * (one chunk of prefetch: at most two chunks exist in the client, whatever
 * the result's size); the last chunk comes without MORE and the result is
 * closed at the replica.  Failure modes: the replica holding the cursor goes
 * away (ERR_CONN_LOST for this result; the connection stays usable and the
 * statement can be executed again), a malformed chunk (the replica is
 * dropped), a timeout or cancel while waiting for a chunk (the cursor is
 * closed), and another statement executing on the connection (there is one
 * open result per connection: the earlier one is closed at the replica, its
 * buffered rows stay readable and the fetch after them fails with HY010).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "recall-internal.h"

/* ---- result bookkeeping ---- */

static void stmt_clear_result(struct recall_stmt *s)
{
    struct proto_result r;
    memset(&r, 0, sizeof r);
    r.columns = s->cols;
    r.cells = s->cells;
    route_result_free(&r);
    memset(&s->cols, 0, sizeof s->cols);
    memset(&s->cells, 0, sizeof s->cells);
    free(s->numtext);
    s->numtext = NULL;
    s->executed = false;
    s->nrows = 0;
    s->row = -1;
    s->more = false;
    s->fetch_sent = false;
    s->closed_by_other = false;
    s->affected = s->insert_id = 0;
    s->warnings = 0;
}

static void send_close(struct recall_conn *c, struct recall_stmt *s)
{
    struct proto_msg m = {.type = MSG_CLOSE};
    struct err e;
    if (!net_ready(c, s->src) || c->links[s->src].gen != s->src_gen)
        return;
    m.u.close.req = s->res_req;
    net_send(c, s->src, &m, &e); /* best effort */
}

void stmt_close_open_result(struct recall_conn *c)
{
    struct recall_stmt *s = c->open_stmt;
    if (!s)
        return;
    if (s->more)
        send_close(c, s);
    s->more = false;
    s->fetch_sent = false;
    s->closed_by_other = true;
    c->open_stmt = NULL;
}

static int install_result(struct recall_stmt *s, struct route_result *rr, struct err *e)
{
    struct recall_conn *c = s->conn;
    uint32_t ncols;

    s->executed = true;
    if (rr->local)
        return 0;
    ncols = rr->r.columns.n;
    s->cols = rr->r.columns;
    s->cells = rr->r.cells;
    memset(&rr->r.columns, 0, sizeof rr->r.columns);
    memset(&rr->r.cells, 0, sizeof rr->r.cells);
    s->nrows = ncols ? s->cells.n / ncols : 0;
    s->row = -1;
    s->more = ncols && (rr->r.flags & PROTO_RESULT_MORE);
    s->src = rr->li;
    s->src_gen = rr->gen;
    s->res_req = rr->r.req;
    s->affected = rr->r.affected;
    s->insert_id = rr->r.insert_id;
    s->warnings = rr->r.warnings;
    route_result_free(&rr->r);
    if (ncols && !(s->numtext = calloc(ncols, sizeof *s->numtext)))
        return err_set(e, ERR_NOMEM, "out of memory");
    if (s->more)
        c->open_stmt = s;
    return 0;
}

/* ---- preparing and binding ---- */

static struct recall_stmt *stmt_new(struct recall_conn *c, const char *sql, size_t len,
                                    struct err *e)
{
    struct recall_stmt *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->conn = c;
    s->row = -1;
    err_clear(&s->err);
    if (!(s->sql = malloc(len + 1)))
        goto nomem;
    memcpy(s->sql, sql, len);
    s->sql[len] = '\0';
    s->len = len;
    sqlclass(s->sql, len, c->dialect, &s->info);
    s->nparams = s->info.nparams > 0 ? s->info.nparams : 0;
    if (s->nparams) {
        if (proto_list_value_resize(&s->params, (uint32_t)s->nparams) < 0 ||
            !(s->bound = calloc((size_t)s->nparams, sizeof *s->bound)))
            goto nomem;
    }
    s->next = c->stmts;
    if (c->stmts)
        c->stmts->prev = s;
    c->stmts = s;
    return s;
nomem:
    free(s->params.v);
    free(s->sql);
    free(s);
    err_set(e, ERR_NOMEM, "out of memory");
    return NULL;
}

static void stmt_destroy(struct recall_stmt *s)
{
    struct recall_conn *c = s->conn;
    if (c->open_stmt == s)
        stmt_close_open_result(c);
    stmt_clear_result(s);
    if (s->prev)
        s->prev->next = s->next;
    else
        c->stmts = s->next;
    if (s->next)
        s->next->prev = s->prev;
    for (uint32_t i = 0; i < s->params.n; i++)
        proto_value_free(&s->params.v[i]);
    free(s->params.v);
    free(s->bound);
    free(s->sql);
    free(s);
}

void stmt_free_all(struct recall_conn *c)
{
    while (c->stmts)
        stmt_destroy(c->stmts);
}

RECALL_API recall_stmt *recall_prepare(recall_conn *c, const char *sql, size_t len)
{
    struct recall_stmt *s = NULL;
    struct err e;
    int rc;

    if (!c)
        return NULL;
    conn_enter(c);
    err_clear(&e);
    rc = conn_check(c, &e);
    if (rc == 0 && !sql)
        rc = err_set(&e, ERR_INVALID, "no SQL text");
    if (rc == 0) {
        if (len == RECALL_NTS)
            len = strlen(sql);
        if (!(s = stmt_new(c, sql, len, &e)))
            rc = -1;
    }
    conn_exit(c, NULL, rc, &e);
    return s;
}

RECALL_API void recall_stmt_free(recall_stmt *s)
{
    if (s)
        stmt_destroy(s);
}

RECALL_API int recall_param_count(recall_stmt *s)
{
    return s ? s->nparams : 0;
}

/* The slot of parameter idx (1-based), freed for a new value. */
static struct proto_value *param_slot(struct recall_stmt *s, int idx, struct err *e)
{
    struct proto_value *v;
    if (idx < 1 || idx > s->nparams) {
        err_set_sql(e, ERR_INVALID, "07009", 0, "parameter index %d out of range (the statement "
                    "has %d)", idx, s->nparams);
        return NULL;
    }
    v = &s->params.v[idx - 1];
    proto_value_free(v);
    s->bound[idx - 1] = false;
    return v;
}

enum bind_kind { B_NULL, B_INT, B_UINT, B_DOUBLE, B_TEXT, B_BLOB };

static int bind(struct recall_stmt *s, int idx, enum bind_kind k, int64_t i, uint64_t u,
                double d, const void *p, size_t len)
{
    struct err e;
    struct proto_value *v;
    int rc = 0;

    if (!s)
        return RECALL_ERROR;
    conn_enter(s->conn);
    err_clear(&e);
    if (!(v = param_slot(s, idx, &e)))
        return conn_exit(s->conn, s, -1, &e);
    switch (k) {
    case B_NULL:
        v->type = PV_NULL;
        break;
    case B_INT:
        v->type = PV_INT;
        v->v.i = i;
        break;
    case B_UINT:
        /* The wire keeps PV_UINT for values above INT64_MAX only. */
        if (u > (uint64_t)INT64_MAX) {
            v->type = PV_UINT;
            v->v.u = u;
        } else {
            v->type = PV_INT;
            v->v.i = (int64_t)u;
        }
        break;
    case B_DOUBLE:
        v->type = PV_DOUBLE;
        v->v.d = d;
        break;
    case B_TEXT:
    case B_BLOB:
        if (!p && len) {
            rc = err_set(&e, ERR_INVALID, "NULL pointer with length %zu", len);
            break;
        }
        if (k == B_TEXT && len == RECALL_NTS)
            len = p ? strlen(p) : 0;
        if (len > s->conn->max_frame) {
            rc = err_set(&e, ERR_TOO_BIG, "parameter %d of %zu bytes exceeds the maximum frame "
                         "size of %u", idx, len, s->conn->max_frame);
            break;
        }
        if ((k == B_TEXT ? proto_value_set_text(v, p ? p : "", len)
                         : proto_value_set_blob(v, p ? p : "", len)) < 0)
            rc = err_set(&e, ERR_NOMEM, "out of memory binding parameter %d", idx);
        break;
    }
    if (rc == 0)
        s->bound[idx - 1] = true;
    return conn_exit(s->conn, s, rc, &e);
}

RECALL_API int recall_bind_null(recall_stmt *s, int idx)
{
    return bind(s, idx, B_NULL, 0, 0, 0, NULL, 0);
}

RECALL_API int recall_bind_int64(recall_stmt *s, int idx, int64_t v)
{
    return bind(s, idx, B_INT, v, 0, 0, NULL, 0);
}

RECALL_API int recall_bind_uint64(recall_stmt *s, int idx, uint64_t v)
{
    return bind(s, idx, B_UINT, 0, v, 0, NULL, 0);
}

RECALL_API int recall_bind_double(recall_stmt *s, int idx, double v)
{
    return bind(s, idx, B_DOUBLE, 0, 0, v, NULL, 0);
}

RECALL_API int recall_bind_text(recall_stmt *s, int idx, const char *p, size_t len)
{
    return bind(s, idx, B_TEXT, 0, 0, 0, p, len);
}

RECALL_API int recall_bind_blob(recall_stmt *s, int idx, const void *p, size_t len)
{
    return bind(s, idx, B_BLOB, 0, 0, 0, p, len);
}

RECALL_API int recall_clear_bindings(recall_stmt *s)
{
    if (!s)
        return RECALL_ERROR;
    for (int i = 0; i < s->nparams; i++) {
        proto_value_free(&s->params.v[i]);
        s->bound[i] = false;
    }
    return RECALL_OK;
}

/* ---- execution ---- */

static int stmt_execute(struct recall_stmt *s, struct err *e)
{
    struct recall_conn *c = s->conn;
    struct route_result rr;

    if (conn_check(c, e) < 0)
        return -1;
    stmt_close_open_result(c);
    stmt_clear_result(s);
    for (int i = 0; i < s->nparams; i++)
        if (!s->bound[i])
            return err_set_sql(e, ERR_INVALID, "07002", 0, "parameter %d of %d is not bound",
                               i + 1, s->nparams);
    if (route_exec(s, &rr, e) < 0)
        return -1;
    return install_result(s, &rr, e);
}

RECALL_API int recall_execute(recall_stmt *s)
{
    struct err e;
    int rc;
    if (!s)
        return RECALL_ERROR;
    conn_enter(s->conn);
    err_clear(&e);
    rc = stmt_execute(s, &e);
    return conn_exit(s->conn, s, rc, &e);
}

RECALL_API int recall_exec(recall_conn *c, const char *sql)
{
    struct recall_stmt *s;
    struct err e;
    int rc;

    if (!c)
        return RECALL_ERROR;
    conn_enter(c);
    err_clear(&e);
    if (conn_check(c, &e) < 0)
        return conn_exit(c, NULL, -1, &e);
    if (!sql)
        return conn_exit(c, NULL, err_set(&e, ERR_INVALID, "no SQL text"), &e);
    if (!(s = stmt_new(c, sql, strlen(sql), &e)))
        return conn_exit(c, NULL, -1, &e);
    if (s->nparams)
        rc = err_set_sql(&e, ERR_INVALID, "07002", 0, "the statement has %d parameter "
                         "placeholders; use recall_prepare and bind them", s->nparams);
    else
        rc = stmt_execute(s, &e);
    stmt_destroy(s); /* closes the result, discarding rows */
    return conn_exit(c, NULL, rc, &e);
}

/* ---- fetching ---- */

static int send_fetch(struct recall_stmt *s, struct err *e)
{
    struct recall_conn *c = s->conn;
    struct proto_msg m = {.type = MSG_FETCH};
    if (!net_ready(c, s->src) || c->links[s->src].gen != s->src_gen)
        return err_set(e, ERR_CONN_LOST, "the replica holding the result set went away; execute "
                       "the statement again");
    m.u.fetch.req = s->res_req;
    m.u.fetch.max_rows = c->fetch_rows;
    if (net_send(c, s->src, &m, e) < 0) {
        err_wrap(e, "fetching rows");
        return -1;
    }
    s->fetch_sent = true;
    return 0;
}

/* The result is over (or broken): forget the cursor. */
static void result_end(struct recall_stmt *s, bool send_close_msg)
{
    struct recall_conn *c = s->conn;
    if (send_close_msg && s->more)
        send_close(c, s);
    s->more = false;
    s->fetch_sent = false;
    if (c->open_stmt == s)
        c->open_stmt = NULL;
}

/* Wait for the next chunk and make it current.  0 or -1. */
static int next_chunk(struct recall_stmt *s, struct err *e)
{
    struct recall_conn *c = s->conn;
    uint64_t deadline = conn_request_deadline(c);
    struct net_event ev;

    if (!s->fetch_sent && send_fetch(s, e) < 0) {
        result_end(s, false);
        return -1;
    }
    for (;;) {
        if (!net_ready(c, s->src) || c->links[s->src].gen != s->src_gen) {
            result_end(s, false);
            return err_set(e, ERR_CONN_LOST, "replica %u (%s) went away while rows were being "
                           "fetched; execute the statement again", s->src, c->links[s->src].name);
        }
        net_next(c, deadline, true, &ev);
        if (ev.kind == NET_TIMEOUT || ev.kind == NET_CANCELED) {
            result_end(s, true);
            return ev.kind == NET_TIMEOUT
                       ? err_set(e, ERR_TIMEOUT, "no rows from the replica within the request "
                                 "timeout; the result set was closed")
                       : err_set(e, ERR_CANCELED, "canceled; the result set was closed");
        }
        if (ev.kind != NET_MSG || ev.li != s->src || ev.gen != s->src_gen) {
            net_event_free(&ev);
            continue;
        }
        if (ev.msg.type == MSG_ERROR && ev.msg.u.error.req == s->res_req) {
            route_error_from_msg(e, &ev.msg.u.error, &c->links[s->src]);
            net_event_free(&ev);
            result_end(s, false);
            return -1;
        }
        if (ev.msg.type == MSG_ROWS && ev.msg.u.rows.req == s->res_req) {
            struct proto_rows *r = &ev.msg.u.rows;
            if (!route_cells_ok(s->cols.n, r->cells.n)) {
                struct err le;
                err_set(&le, ERR_PROTOCOL, "replica %u (%s): ROWS with %u cells for %u columns",
                        s->src, c->links[s->src].name, r->cells.n, s->cols.n);
                net_event_free(&ev);
                net_link_down(c, s->src, &le);
                result_end(s, false);
                err_copy(e, &le);
                return -1;
            }
            /* Replace the chunk. */
            for (uint32_t i = 0; i < s->cells.n; i++)
                proto_value_free(&s->cells.v[i]);
            free(s->cells.v);
            s->cells = r->cells;
            memset(&r->cells, 0, sizeof r->cells);
            s->nrows = s->cells.n / s->cols.n;
            s->row = -1;
            s->fetch_sent = false;
            s->more = (r->flags & PROTO_RESULT_MORE) != 0;
            net_event_free(&ev);
            if (!s->more)
                result_end(s, false);
            return 0;
        }
        net_event_free(&ev);
    }
}

RECALL_API int recall_fetch(recall_stmt *s)
{
    struct recall_conn *c;
    struct err e;
    int rc = -1;

    if (!s)
        return RECALL_ERROR;
    c = s->conn;
    conn_enter(c);
    err_clear(&e);
    if (!s->executed) {
        err_set(&e, ERR_STATE, "no result set: execute the statement first");
        goto out;
    }
    for (;;) {
        if (s->row + 1 < (int64_t)s->nrows) {
            s->row++;
            /* Prefetch: ask for the next chunk while this one is read. */
            if (s->more && !s->fetch_sent)
                send_fetch(s, &e); /* a failure shows at the next chunk */
            err_clear(&e);
            rc = RECALL_ROW;
            goto out;
        }
        if (!s->more) {
            s->row = s->nrows;
            if (s->closed_by_other) {
                err_set(&e, ERR_STATE, "the rest of this result set was discarded because "
                        "another statement ran on the connection (one open result set per "
                        "connection)");
                goto out;
            }
            rc = RECALL_DONE;
            goto out;
        }
        if (next_chunk(s, &e) < 0)
            goto out;
    }
out:
    return conn_exit(c, s, rc, &e);
}

RECALL_API int recall_stmt_reset(recall_stmt *s)
{
    if (!s)
        return RECALL_ERROR;
    conn_enter(s->conn);
    if (s->conn->open_stmt == s)
        result_end(s, true);
    stmt_clear_result(s);
    return conn_exit(s->conn, s, 0, &s->err);
}

/* ---- metadata and values ---- */

static const struct proto_column *col_of(recall_stmt *s, int col)
{
    if (!s || col < 0 || (uint32_t)col >= s->cols.n)
        return NULL;
    return &s->cols.v[col];
}

RECALL_API int recall_column_count(recall_stmt *s)
{
    return s ? (int)s->cols.n : 0;
}

RECALL_API const char *recall_column_name(recall_stmt *s, int col)
{
    const struct proto_column *c = col_of(s, col);
    return c ? c->name.p : NULL;
}

RECALL_API const char *recall_column_table(recall_stmt *s, int col)
{
    const struct proto_column *c = col_of(s, col);
    return c ? c->table.p : NULL;
}

RECALL_API const char *recall_column_database(recall_stmt *s, int col)
{
    const struct proto_column *c = col_of(s, col);
    return c ? c->db.p : NULL;
}

RECALL_API const char *recall_column_decltype(recall_stmt *s, int col)
{
    const struct proto_column *c = col_of(s, col);
    return c ? c->decl.p : NULL;
}

RECALL_API enum recall_type recall_column_type(recall_stmt *s, int col)
{
    const struct proto_column *c = col_of(s, col);
    return c ? (enum recall_type)c->type : RECALL_TYPE_NULL;
}

RECALL_API unsigned recall_column_flags(recall_stmt *s, int col)
{
    const struct proto_column *c = col_of(s, col);
    return c ? c->flags : 0;
}

RECALL_API uint64_t recall_column_length(recall_stmt *s, int col)
{
    const struct proto_column *c = col_of(s, col);
    return c ? c->length : 0;
}

RECALL_API unsigned recall_column_decimals(recall_stmt *s, int col)
{
    const struct proto_column *c = col_of(s, col);
    return c ? c->decimals : 0;
}

static const struct proto_value *cell(recall_stmt *s, int col)
{
    if (!s || col < 0 || (uint32_t)col >= s->cols.n || s->row < 0 || s->row >= (int64_t)s->nrows)
        return NULL;
    return &s->cells.v[(size_t)s->row * s->cols.n + (size_t)col];
}

RECALL_API enum recall_value recall_value_type(recall_stmt *s, int col)
{
    const struct proto_value *v = cell(s, col);
    return v ? (enum recall_value)v->type : RECALL_VALUE_NULL;
}

RECALL_API int recall_value_is_null(recall_stmt *s, int col)
{
    const struct proto_value *v = cell(s, col);
    return !v || v->type == PV_NULL;
}

RECALL_API int64_t recall_value_int64(recall_stmt *s, int col)
{
    const struct proto_value *v = cell(s, col);
    return v ? value_to_int64(v, s->conn->c_locale) : 0;
}

RECALL_API uint64_t recall_value_uint64(recall_stmt *s, int col)
{
    const struct proto_value *v = cell(s, col);
    return v ? value_to_uint64(v, s->conn->c_locale) : 0;
}

RECALL_API double recall_value_double(recall_stmt *s, int col)
{
    const struct proto_value *v = cell(s, col);
    return v ? value_to_double(v, s->conn->c_locale) : 0.0;
}

RECALL_API const char *recall_value_text(recall_stmt *s, int col, size_t *len)
{
    const struct proto_value *v = cell(s, col);
    if (!v) {
        if (len)
            *len = 0;
        return NULL;
    }
    return value_to_text(v, s->numtext[col], len, s->conn->c_locale);
}

RECALL_API const void *recall_value_blob(recall_stmt *s, int col, size_t *len)
{
    return recall_value_text(s, col, len);
}

RECALL_API uint64_t recall_affected_rows(recall_stmt *s)
{
    return s ? s->affected : 0;
}

RECALL_API uint64_t recall_last_insert_id(recall_stmt *s)
{
    return s ? s->insert_id : 0;
}

RECALL_API unsigned recall_warning_count(recall_stmt *s)
{
    return s ? s->warnings : 0;
}

RECALL_API enum recall_code recall_stmt_errcode(recall_stmt *s)
{
    return s ? (enum recall_code)s->err.code : RECALL_E_INVALID;
}

RECALL_API const char *recall_stmt_sqlstate(recall_stmt *s)
{
    return s ? s->err.sqlstate : "HY009";
}

RECALL_API int recall_stmt_native_error(recall_stmt *s)
{
    return s ? s->err.native : 0;
}

RECALL_API const char *recall_stmt_errmsg(recall_stmt *s)
{
    if (!s)
        return "no statement";
    return s->err.code == ERR_OK && !s->err.msg[0] ? "not an error" : s->err.msg;
}
