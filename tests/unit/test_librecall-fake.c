/* The fake Recall cluster used by librecall's tests.  See
 * test_librecall-fake.h for what it does and does not do.
 *
 * One thread polls every listening socket and client connection; all state
 * is guarded by one mutex that test code takes to turn knobs.  Sockets are
 * non-blocking and every poll result is re-checked against the current
 * state, so a test closing a replica while the thread sits in poll() only
 * costs a spurious wakeup.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "frame.h"
#include "test_librecall-fake.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void wake(struct fake *f)
{
    ssize_t k = write(f->wake[1], "x", 1);
    (void)k;
}

static int listen_on(uint16_t port, uint16_t *out)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        close(fd);
        return -1;
    }
    *out = ntohs(sa.sin_port);
    return fd;
}

/* ---- connections ---- */

static void conn_free(struct fake *f, int slot, bool by_client)
{
    struct fake_conn *c = f->conns[slot];
    if (by_client)
        f->r[c->replica].closed_by_client++;
    close(c->fd);
    buf_close(&c->in);
    buf_close(&c->out);
    free(c);
    f->conns[slot] = NULL;
}

static void send_msg(struct fake_conn *c, const struct proto_msg *m)
{
    struct err e;
    frame_encode(m, &c->out, FRAME_DEFAULT_MAX, &e);
}

static void flush_conn(struct fake_conn *c)
{
    while (c->out.len) {
        ssize_t k = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        buf_consume(&c->out, (size_t)k);
    }
}

static struct fake_conn *find_conn(struct fake *f, int replica, const struct proto_id *client)
{
    for (int i = 0; i < FAKE_MAX_CONNS; i++) {
        struct fake_conn *c = f->conns[i];
        if (c && c->replica == replica && c->hello && !memcmp(c->client.b, client->b, 16))
            return c;
    }
    return NULL;
}

/* ---- replica state changes (lock held) ---- */

static void kill_locked(struct fake *f, int i, bool failover)
{
    struct fake_replica *r = &f->r[i];
    if (r->down)
        return;
    r->down = true;
    close(r->lfd);
    r->lfd = -1;
    for (int k = 0; k < FAKE_MAX_CONNS; k++)
        if (f->conns[k] && f->conns[k]->replica == i)
            conn_free(f, k, false);
    if (failover && r->view % (uint64_t)f->n == (uint64_t)i) {
        uint64_t v = r->view;
        bool any = false;
        for (int k = 0; k < f->n; k++)
            any |= !f->r[k].down;
        if (!any)
            return;
        do
            v++;
        while (f->r[v % (uint64_t)f->n].down);
        for (int k = 0; k < f->n; k++)
            if (!f->r[k].down)
                f->r[k].view = v;
    }
}

static void set_view_locked(struct fake *f, uint64_t view)
{
    for (int k = 0; k < f->n; k++)
        if (!f->r[k].down) {
            f->r[k].view = view;
            f->r[k].status = STATUS_NORMAL;
        }
}

/* ---- the log of what clients sent ---- */

static void record(struct fake *f, int replica, const struct proto_msg *m)
{
    struct fake_rec *r;
    if (f->nlog >= FAKE_LOG)
        return;
    r = &f->log[f->nlog++];
    memset(r, 0, sizeof *r);
    r->replica = replica;
    r->type = m->type;
    switch (m->type) {
    case MSG_EXEC:
        r->req = m->u.exec.req;
        r->flags = m->u.exec.flags;
        r->fence = m->u.exec.fence;
        snprintf(r->sql, sizeof r->sql, "%s", m->u.exec.sql.p);
        break;
    case MSG_TXN:
        r->req = m->u.txn.req;
        r->flags = (m->u.txn.action <= 8 ? FAKE_TXN(m->u.txn.action) : 0) | m->u.txn.flags;
        break;
    case MSG_PROBE: r->req = m->u.probe.req; break;
    case MSG_FETCH: r->req = m->u.fetch.req; r->flags = m->u.fetch.max_rows; break;
    case MSG_CLOSE: r->req = m->u.close.req; break;
    default: break;
    }
}

/* ---- replies ---- */

static void send_error(struct fake_conn *c, uint64_t req, enum err_code code, const char *state,
                       int native, const char *msg)
{
    struct proto_msg m = {.type = MSG_ERROR};
    m.u.error.req = req;
    m.u.error.code = code;
    proto_str_setz(&m.u.error.sqlstate, state ? state : err_default_sqlstate(code));
    m.u.error.native = native;
    proto_str_setz(&m.u.error.msg, msg);
    m.u.error.usable = true;
    send_msg(c, &m);
    proto_msg_free(&m);
}

/* The view a replica reports (a liar's is far away). */
static uint64_t shown_view(struct fake *f, int i)
{
    if (f->r[i].hostile == FH_HIGH_VIEW)
        return 1000000000ull * (uint64_t)f->n + (uint64_t)i;
    return f->r[i].view;
}

static void fill_status(struct fake *f, struct fake_conn *c, struct proto_result *res,
                        uint64_t applied)
{
    struct fake_replica *r = &f->r[c->replica];
    res->replica = (uint32_t)c->replica;
    res->view = shown_view(f, c->replica);
    res->status = r->status;
    res->op = (r->inflate_op ? r->inflate_op : r->op) + r->result_extra_op;
    res->commit = r->commit;
    res->applied = applied;
}

static void send_ok(struct fake *f, struct fake_conn *c, uint64_t req)
{
    struct proto_msg m = {.type = MSG_RESULT};
    m.u.result.req = req;
    fill_status(f, c, &m.u.result, f->r[c->replica].applied);
    send_msg(c, &m);
}

enum { Q_N = 1, Q_TYPES, Q_ERR, Q_APPLIED, Q_ONE };

static int query_kind(const char *sql, uint64_t *n)
{
    if (!strncasecmp(sql, "SELECT n ", 9)) {
        *n = strtoull(sql + 9, NULL, 10);
        return Q_N;
    }
    if (!strcasecmp(sql, "SELECT types"))
        return Q_TYPES;
    if (!strcasecmp(sql, "SELECT err"))
        return Q_ERR;
    if (!strcasecmp(sql, "SELECT applied"))
        return Q_APPLIED;
    *n = 1;
    return Q_ONE;
}

static bool is_ddl(const char *sql)
{
    return !strncasecmp(sql, "CREATE", 6) || !strncasecmp(sql, "DROP", 4) ||
           !strncasecmp(sql, "ALTER", 5);
}

static bool is_write(const char *sql)
{
    return !strncasecmp(sql, "INSERT", 6) || !strncasecmp(sql, "UPDATE", 6) ||
           !strncasecmp(sql, "DELETE", 6) || is_ddl(sql);
}

static void set_col(struct proto_column *col, const char *name, uint8_t type)
{
    proto_str_setz(&col->name, name);
    proto_str_setz(&col->table, "t");
    proto_str_setz(&col->db, "test");
    proto_str_setz(&col->decl, type == 5 ? "BIGINT" : type == 7 ? "DOUBLE" : "VARCHAR(20)");
    col->type = type;
}

static void add_cell_int(struct proto_list_value *l, uint32_t *k, int64_t v)
{
    l->v[*k].type = PV_INT;
    l->v[(*k)++].v.i = v;
}

/* Rows [from, to) of query kind q into cells. */
static void fill_rows(struct fake *f, struct fake_conn *c, int q, uint64_t from, uint64_t to,
                      uint64_t applied, struct proto_list_value *cells)
{
    uint32_t k = 0, ncols = q == Q_N ? 4 : q == Q_TYPES ? 9 : q == Q_APPLIED ? 2 : 1;
    char tmp[32];
    proto_list_value_resize(cells, (uint32_t)(to - from) * ncols);
    for (uint64_t i = from; i < to; i++) {
        switch (q) {
        case Q_N:
            add_cell_int(cells, &k, (int64_t)i);
            snprintf(tmp, sizeof tmp, "row %llu", (unsigned long long)i);
            proto_value_set_text(&cells->v[k++], tmp, strlen(tmp));
            cells->v[k].type = PV_DOUBLE;
            cells->v[k++].v.d = (double)i * 0.5;
            if (i % 3 == 0) {
                cells->v[k++].type = PV_NULL;
            } else {
                snprintf(tmp, sizeof tmp, "b%llu", (unsigned long long)i);
                proto_value_set_blob(&cells->v[k++], tmp, strlen(tmp));
            }
            break;
        case Q_TYPES:
            add_cell_int(cells, &k, -5);
            cells->v[k].type = PV_UINT;
            cells->v[k++].v.u = UINT64_MAX;
            cells->v[k].type = PV_DOUBLE;
            cells->v[k++].v.d = 2.5;
            proto_value_set_text(&cells->v[k++], "12abc", 5);
            proto_value_set_blob(&cells->v[k++], "\0\1", 2);
            cells->v[k++].type = PV_NULL;
            proto_value_set_text(&cells->v[k++], "-3.9e2", 6);
            cells->v[k].type = PV_DOUBLE;
            cells->v[k++].v.d = 1e300;
            proto_value_set_text(&cells->v[k++], "  42  ", 6);
            break;
        case Q_APPLIED:
            add_cell_int(cells, &k, (int64_t)applied);
            add_cell_int(cells, &k, c->replica);
            break;
        default:
            add_cell_int(cells, &k, 1);
            break;
        }
    }
    (void)f;
}

static void answer_read(struct fake *f, struct fake_conn *c, const struct proto_exec *x,
                        uint64_t applied, uint32_t extra)
{
    struct proto_msg m = {.type = MSG_RESULT};
    struct proto_result *res = &m.u.result;
    uint64_t total = 0, chunk;
    int q = query_kind(x->sql.p, &total);
    uint32_t ncols;

    if (q == Q_ERR) {
        send_error(c, x->req, ERR_SQL, "42S02", 1146, "Table 'test.x' doesn't exist");
        return;
    }
    ncols = q == Q_N ? 4 : q == Q_TYPES ? 9 : q == Q_APPLIED ? 2 : 1;
    if (q != Q_N)
        total = 1;
    res->req = x->req;
    res->flags = PROTO_RESULT_ROWS | extra;
    fill_status(f, c, res, applied);
    proto_list_column_resize(&res->columns, ncols);
    if (q == Q_N) {
        set_col(&res->columns.v[0], "id", 5);
        set_col(&res->columns.v[1], "name", 15);
        set_col(&res->columns.v[2], "half", 7);
        set_col(&res->columns.v[3], "maybe", 19);
    } else {
        for (uint32_t i = 0; i < ncols; i++) {
            char name[8];
            snprintf(name, sizeof name, "c%u", i);
            set_col(&res->columns.v[i], name, 15);
        }
    }
    chunk = x->chunk_rows ? x->chunk_rows : f->chunk_default;
    if (chunk > total)
        chunk = total;
    fill_rows(f, c, q, 0, chunk, applied, &res->cells);
    if (f->r[c->replica].hostile == FH_BAD_CELLS)
        proto_list_value_resize(&res->cells, res->cells.n + 1);
    if (chunk < total) {
        res->flags |= PROTO_RESULT_MORE;
        c->cursor = true;
        c->cursor_req = x->req;
        c->cursor_kind = q;
        c->cursor_next = chunk;
        c->cursor_total = total;
    }
    send_msg(c, &m);
    proto_msg_free(&m);
}

static void defer_after(struct fake *f, unsigned ms, int replica, const struct proto_id *client,
                        struct proto_msg *m)
{
    struct fake_conn *c;
    if (ms) {
        struct fake_deferred *v = realloc(f->deferred, (size_t)(f->ndeferred + 1) * sizeof *v);
        if (!v)
            return;
        f->deferred = v;
        v[f->ndeferred].due_ms = now_ms() + ms;
        v[f->ndeferred].replica = replica;
        v[f->ndeferred].client = *client;
        v[f->ndeferred].msg = *m;
        memset(m, 0, sizeof *m);
        f->ndeferred++;
        return;
    }
    if ((c = find_conn(f, replica, client)))
        send_msg(c, m);
    proto_msg_free(m);
}

static int ctab_find(struct fake *f, const struct proto_id *client, uint64_t req)
{
    for (int i = 0; i < 64; i++)
        if (f->ctab[i].used && f->ctab[i].req == req && !memcmp(f->ctab[i].client.b, client->b, 16))
            return i;
    return -1;
}

static void defer_or_send(struct fake *f, int replica, const struct proto_id *client,
                          struct proto_msg *m)
{
    defer_after(f, f->ack_delay_ms, replica, client, m);
}

/* A write (autocommit EXEC or TXN_COMMIT of a transaction that wrote);
 * with ddl, the acknowledgements come first and the final RESULT (no
 * PENDING) once the DDL "ran". */
static void do_write(struct fake *f, struct fake_conn *c, uint64_t req, bool exec, bool ddl)
{
    int p = c->replica, slot;
    uint64_t view = f->r[p].view, op;
    struct proto_id client = c->client;
    struct proto_msg m;

    if ((slot = ctab_find(f, &client, req)) >= 0) {
        /* A retry of a request in the log: answer from the client table. */
        if (exec) {
            memset(&m, 0, sizeof m);
            m.type = MSG_RESULT;
            m.u.result.req = req;
            m.u.result.flags = PROTO_RESULT_SAVED;
            fill_status(f, c, &m.u.result, f->r[p].applied);
            m.u.result.log_op = f->ctab[slot].op;
            m.u.result.affected = 1;
            m.u.result.insert_id = f->ctab[slot].insert_id;
            send_msg(c, &m);
        }
        memset(&m, 0, sizeof m);
        m.type = MSG_COMMITTED;
        m.u.committed.view = view;
        m.u.committed.op = f->ctab[slot].op;
        m.u.committed.req = req;
        send_msg(c, &m);
        return;
    }
    if (f->crash_before_write) {
        f->crash_before_write = false;
        f->kill_pending |= 1u << p;
        return;
    }
    op = ++f->log_op;
    f->next_insert_id++;
    for (int i = 0; i < f->n; i++) {
        struct fake_replica *r = &f->r[i];
        if (r->down || (i != p && !(f->ack_mask & (1u << i))))
            continue;
        r->op = op;
        r->commit = op;
        if (!r->lag)
            r->applied = op;
    }
    for (slot = 0; slot < 63 && f->ctab[slot].used; slot++)
        ;
    f->ctab[slot].used = true;
    f->ctab[slot].client = client;
    f->ctab[slot].req = req;
    f->ctab[slot].op = op;
    f->ctab[slot].insert_id = f->next_insert_id;
    if (exec && f->no_result_once) {
        f->no_result_once = false;
    } else if (exec && !ddl) {
        memset(&m, 0, sizeof m);
        m.type = MSG_RESULT;
        m.u.result.req = req;
        m.u.result.flags = PROTO_RESULT_PENDING;
        fill_status(f, c, &m.u.result, f->r[p].applied);
        m.u.result.log_op = op;
        m.u.result.affected = 1;
        m.u.result.insert_id = f->next_insert_id;
        send_msg(c, &m);
    }
    if (!f->no_prepared) {
        memset(&m, 0, sizeof m);
        m.type = MSG_PREPARED;
        m.u.prepared.view = view;
        m.u.prepared.op = op;
        m.u.prepared.req = req;
        m.u.prepared.replica = (uint32_t)p;
        send_msg(c, &m);
    }
    if (f->crash_after_prepared) {
        f->crash_after_prepared = false;
        f->kill_pending |= 1u << p; /* after what was sent so far is flushed */
        return;
    }
    for (int i = 0; i < f->n; i++) {
        if (i == p || f->r[i].down || !(f->ack_mask & (1u << i)))
            continue;
        memset(&m, 0, sizeof m);
        m.type = MSG_ACK;
        m.u.ack.view = view;
        m.u.ack.op = op;
        m.u.ack.req = req;
        m.u.ack.replica = (uint32_t)i;
        defer_or_send(f, i, &client, &m);
    }
    if (!f->no_committed) {
        memset(&m, 0, sizeof m);
        m.type = MSG_COMMITTED;
        m.u.committed.view = view;
        m.u.committed.op = op;
        m.u.committed.req = req;
        defer_or_send(f, p, &client, &m);
    }
    if (ddl) {
        memset(&m, 0, sizeof m);
        m.type = MSG_RESULT;
        m.u.result.req = req;
        fill_status(f, c, &m.u.result, f->r[p].applied);
        defer_after(f, f->ddl_delay_ms, p, &client, &m);
    }
}

static bool is_primary(struct fake *f, struct fake_conn *c)
{
    return f->r[c->replica].view % (uint64_t)f->n == (uint64_t)c->replica &&
           f->r[c->replica].status == STATUS_NORMAL;
}

static void on_exec(struct fake *f, struct fake_conn *c, const struct proto_exec *x)
{
    struct fake_replica *r = &f->r[c->replica];

    proto_msg_free(&f->last_exec);
    {
        struct proto_msg tmp = {.type = MSG_EXEC};
        tmp.u.exec = *x;
        proto_msg_copy(&f->last_exec, &tmp);
    }
    c->cursor = false;
    if (x->flags & PROTO_EXEC_READ_INDEX) {
        if (!is_primary(f, c)) {
            send_error(c, x->req, ERR_NOT_PRIMARY, NULL, 0, "not the primary");
            return;
        }
        answer_read(f, c, x, r->applied, PROTO_RESULT_CONFIRMED);
        return;
    }
    if (x->flags & PROTO_EXEC_READ) {
        if (f->stall_reads)
            return;
        if (c->txn && c->txn_ro && (x->flags & PROTO_EXEC_CONTINUE)) {
            answer_read(f, c, x, r->applied, 0);
            return;
        }
        c->txn = c->txn_ro = false;
        if (r->status != STATUS_NORMAL || r->applied < x->fence) {
            send_error(c, x->req, ERR_NOT_READY, NULL, 0, "behind the fence");
            return;
        }
        if (r->hostile == FH_PARTIAL) {
            unsigned char part[14] = {0, 0, 0, 100, 0x95};
            buf_append(&c->out, part, sizeof part);
            return;
        }
        answer_read(f, c, x, r->applied, 0);
        return;
    }
    if (x->flags & PROTO_EXEC_SESSION) {
        if (!(f->stall_session & (1u << c->replica)))
            send_ok(f, c, x->req);
        return;
    }
    if (!is_primary(f, c)) {
        send_error(c, x->req, ERR_NOT_PRIMARY, NULL, 0, "not the primary");
        return;
    }
    if (f->not_primary_once) {
        f->not_primary_once = false;
        set_view_locked(f, r->view + 1);
        send_error(c, x->req, ERR_NOT_PRIMARY, NULL, 0, "not the primary any more");
        return;
    }
    if (x->flags & PROTO_EXEC_AUTOCOMMIT) {
        if (is_write(x->sql.p)) {
            if (!f->stall_writes)
                do_write(f, c, x->req, true, is_ddl(x->sql.p));
        } else {
            answer_read(f, c, x, r->applied, PROTO_RESULT_CONFIRMED);
        }
        return;
    }
    if ((x->flags & PROTO_EXEC_CONTINUE) && !c->txn) {
        send_error(c, x->req, ERR_FAILOVER, NULL, 0, "transaction rolled back by failover; retry");
        return;
    }
    if (!c->txn) {
        c->txn = true;
        c->txn_ro = false;
        c->txn_wrote = false;
    }
    if (is_write(x->sql.p)) {
        struct proto_msg m = {.type = MSG_RESULT};
        c->txn_wrote = true;
        m.u.result.req = x->req;
        fill_status(f, c, &m.u.result, r->applied);
        m.u.result.affected = 1;
        m.u.result.insert_id = ++f->next_insert_id;
        send_msg(c, &m);
        return;
    }
    answer_read(f, c, x, r->applied, 0);
}

static void on_txn(struct fake *f, struct fake_conn *c, const struct proto_txn *t)
{
    struct fake_replica *r = &f->r[c->replica];
    switch (t->action) {
    case TXN_BEGIN:
        if (!(t->flags & PROTO_TXN_READ_ONLY) && !is_primary(f, c)) {
            send_error(c, t->req, ERR_NOT_PRIMARY, NULL, 0, "not the primary");
            return;
        }
        c->txn = true;
        c->txn_ro = (t->flags & PROTO_TXN_READ_ONLY) != 0;
        c->txn_wrote = false;
        send_ok(f, c, t->req);
        return;
    case TXN_COMMIT:
        if (ctab_find(f, &c->client, t->req) >= 0) {
            do_write(f, c, t->req, false, false);
            return;
        }
        if (!c->txn) {
            send_error(c, t->req, ERR_FAILOVER, NULL, 0, "transaction rolled back by failover; retry");
            return;
        }
        c->txn = false;
        if (c->txn_ro || !c->txn_wrote) {
            send_ok(f, c, t->req);
            return;
        }
        do_write(f, c, t->req, false, false);
        return;
    case TXN_ROLLBACK:
        c->txn = false;
        send_ok(f, c, t->req);
        return;
    default:
        send_error(c, t->req, ERR_INVALID, NULL, 0, "bad action");
    }
    (void)r;
}

static void on_fetch(struct fake *f, struct fake_conn *c, const struct proto_fetch *x)
{
    struct proto_msg m = {.type = MSG_ROWS};
    uint64_t chunk = x->max_rows ? x->max_rows : f->chunk_default, to;
    if (f->stall_fetch)
        return;
    if (!c->cursor || c->cursor_req != x->req) {
        send_error(c, x->req, ERR_STATE, NULL, 0, "no open result");
        return;
    }
    to = c->cursor_next + chunk;
    if (to > c->cursor_total)
        to = c->cursor_total;
    m.u.rows.req = x->req;
    fill_rows(f, c, c->cursor_kind, c->cursor_next, to, f->r[c->replica].applied, &m.u.rows.cells);
    c->cursor_next = to;
    if (to < c->cursor_total)
        m.u.rows.flags = PROTO_RESULT_MORE;
    else
        c->cursor = false;
    send_msg(c, &m);
    proto_msg_free(&m);
}

static void on_hello(struct fake *f, struct fake_conn *c, const struct proto_hello *h)
{
    struct fake_replica *r = &f->r[c->replica];
    struct proto_msg m = {.type = MSG_WELCOME};

    if (r->hostile == FH_GARBAGE) {
        unsigned char junk[9] = {0, 0, 0, 5, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1};
        buf_append(&c->out, junk, sizeof junk);
        return;
    }
    if (h->version != PROTO_VERSION || h->cluster != f->cluster) {
        send_error(c, 0, ERR_REJECTED, NULL, 0, "the replica lists differ");
        return;
    }
    if (!strcmp(h->user.p, "bad")) {
        send_error(c, 0, ERR_AUTH, "28000", 1045, "Access denied for user 'bad'");
        return;
    }
    c->hello = true;
    c->client = h->client;
    m.u.welcome.version = PROTO_VERSION;
    m.u.welcome.replica = (uint32_t)c->replica;
    m.u.welcome.view = shown_view(f, c->replica);
    m.u.welcome.status = r->status;
    proto_str_setz(&m.u.welcome.backend, "sqlite 3.40.1");
    proto_str_setz(&m.u.welcome.server_version, "fake");
    send_msg(c, &m);
    proto_msg_free(&m);
    if (r->hostile == FH_HUGE) {
        unsigned char big[4] = {0x40, 0, 0, 0};
        buf_append(&c->out, big, sizeof big);
    } else if (r->hostile == FH_UNEXPECTED) {
        struct proto_msg p = {.type = MSG_PREPARE};
        send_msg(c, &p);
    }
}

static void on_probe(struct fake *f, struct fake_conn *c, uint64_t req)
{
    struct fake_replica *r = &f->r[c->replica];
    struct proto_msg m = {.type = MSG_STATUS};
    m.u.status.req = req;
    m.u.status.replica = (uint32_t)c->replica;
    m.u.status.view = shown_view(f, c->replica);
    m.u.status.status = r->status;
    m.u.status.op = r->inflate_op ? r->inflate_op : r->op;
    m.u.status.commit = r->commit;
    m.u.status.applied = r->applied;
    m.u.status.primary = (uint32_t)(m.u.status.view % (uint64_t)f->n);
    if (r->hostile == FH_LIE_STATUS) {
        m.u.status.replica = (uint32_t)((c->replica + 1) % f->n);
        m.u.status.status = 77;
    } else if (r->hostile == FH_WRONG_REQ) {
        m.u.status.req = req + 1000000;
    }
    send_msg(c, &m);
}

static void handle(struct fake *f, struct fake_conn *c, struct proto_msg *m)
{
    record(f, c->replica, m);
    if (f->r[c->replica].hostile == FH_SILENT)
        return;
    if (!c->hello) {
        if (m->type == MSG_HELLO)
            on_hello(f, c, &m->u.hello);
        return;
    }
    if (f->r[c->replica].cut_off) {
        if (m->type != MSG_PROBE || f->r[c->replica].probes_left == 0)
            return;
        f->r[c->replica].probes_left--;
    }
    switch (m->type) {
    case MSG_PROBE: on_probe(f, c, m->u.probe.req); break;
    case MSG_EXEC: on_exec(f, c, &m->u.exec); break;
    case MSG_TXN: on_txn(f, c, &m->u.txn); break;
    case MSG_FETCH: on_fetch(f, c, &m->u.fetch); break;
    case MSG_CLOSE:
        if (c->cursor && c->cursor_req == m->u.close.req)
            c->cursor = false;
        break;
    default: break;
    }
}

/* Read what is there; returns false when the connection ended. */
static bool read_conn(struct fake *f, struct fake_conn *c)
{
    for (;;) {
        ssize_t k;
        if (buf_reserve(&c->in, 65536) < 0)
            return false;
        k = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
        if (k > 0) {
            c->in.len += (size_t)k;
            continue;
        }
        if (k == 0)
            return false;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
}

static void process_frames(struct fake *f, struct fake_conn *c)
{
    while (!(f->kill_pending & (1u << c->replica))) {
        uint32_t plen;
        struct err e;
        struct proto_msg m;
        if (frame_parse(c->in.data, c->in.len, FRAME_DEFAULT_MAX, &plen, &e) != FRAME_READY)
            return;
        if (proto_decode(c->in.data + FRAME_HEADER, plen, &m, &e) == 0) {
            handle(f, c, &m);
            proto_msg_free(&m);
        }
        buf_consume(&c->in, FRAME_HEADER + plen);
    }
}

static void run_deferred(struct fake *f)
{
    uint64_t now = now_ms();
    int k = 0;
    for (int i = 0; i < f->ndeferred; i++) {
        struct fake_deferred *d = &f->deferred[i];
        if (d->due_ms <= now) {
            struct fake_conn *c = find_conn(f, d->replica, &d->client);
            if (c && !f->r[d->replica].down)
                send_msg(c, &d->msg);
            proto_msg_free(&d->msg);
        } else {
            f->deferred[k++] = *d;
        }
    }
    f->ndeferred = k;
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    struct pollfd pfd[1 + FAKE_MAX + FAKE_MAX_CONNS];
    int what[1 + FAKE_MAX + FAKE_MAX_CONNS]; /* -1 wake, 0..n-1 listener, 100+slot conn */

    pthread_mutex_lock(&f->mu);
    while (!f->stop) {
        int np = 0, timeout = 200;
        pfd[np].fd = f->wake[0];
        pfd[np].events = POLLIN;
        what[np++] = -1;
        for (int i = 0; i < f->n; i++)
            if (!f->r[i].down && f->r[i].lfd >= 0) {
                pfd[np].fd = f->r[i].lfd;
                pfd[np].events = POLLIN;
                what[np++] = i;
            }
        for (int s = 0; s < FAKE_MAX_CONNS; s++)
            if (f->conns[s]) {
                pfd[np].fd = f->conns[s]->fd;
                pfd[np].events = POLLIN | (f->conns[s]->out.len ? POLLOUT : 0);
                what[np++] = 100 + s;
            }
        if (f->ndeferred) {
            uint64_t now = now_ms(), due = UINT64_MAX;
            for (int i = 0; i < f->ndeferred; i++)
                if (f->deferred[i].due_ms < due)
                    due = f->deferred[i].due_ms;
            timeout = due <= now ? 0 : (int)(due - now);
        }
        pthread_mutex_unlock(&f->mu);
        poll(pfd, (nfds_t)np, timeout);
        pthread_mutex_lock(&f->mu);
        for (int k = 0; k < np; k++) {
            if (!pfd[k].revents)
                continue;
            if (what[k] == -1) {
                char b[64];
                while (read(f->wake[0], b, sizeof b) > 0)
                    ;
            } else if (what[k] < 100) {
                struct fake_replica *r = &f->r[what[k]];
                int fd;
                if (r->down || r->lfd != pfd[k].fd)
                    continue;
                while ((fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    int s;
                    for (s = 0; s < FAKE_MAX_CONNS && f->conns[s]; s++)
                        ;
                    if (s == FAKE_MAX_CONNS) {
                        close(fd);
                        continue;
                    }
                    f->conns[s] = calloc(1, sizeof *f->conns[s]);
                    f->conns[s]->fd = fd;
                    f->conns[s]->replica = what[k];
                    buf_init(&f->conns[s]->in);
                    buf_init(&f->conns[s]->out);
                    r->accepted++;
                }
            } else {
                int s = what[k] - 100;
                struct fake_conn *c = f->conns[s];
                if (!c || c->fd != pfd[k].fd)
                    continue;
                if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                    bool alive = read_conn(f, c);
                    process_frames(f, c);
                    if (!alive) {
                        conn_free(f, s, true);
                        continue;
                    }
                }
            }
        }
        run_deferred(f);
        for (int s = 0; s < FAKE_MAX_CONNS; s++)
            if (f->conns[s])
                flush_conn(f->conns[s]);
        /* Crashes decided while handling a message happen now, after the
         * replica's last words went out. */
        for (int i = 0; i < f->n; i++)
            if (f->kill_pending & (1u << i))
                kill_locked(f, i, true);
        f->kill_pending = 0;
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* ---- public ---- */

struct fake *fake_start(int n)
{
    struct fake *f = calloc(1, sizeof *f);
    struct replica_addr addrs[ADDR_MAX_REPLICAS];
    char list[512];
    size_t off = 0, naddr;
    struct err e;

    if (!f || n < 1 || n > FAKE_MAX)
        abort();
    f->n = n;
    pthread_mutex_init(&f->mu, NULL);
    if (pipe2(f->wake, O_NONBLOCK | O_CLOEXEC) < 0)
        abort();
    for (int i = 0; i < n; i++) {
        f->r[i].lfd = listen_on(0, &f->r[i].port);
        if (f->r[i].lfd < 0)
            abort();
        f->r[i].status = STATUS_NORMAL;
        off += (size_t)snprintf(list + off, sizeof list - off, "%s127.0.0.1:%u", i ? "," : "",
                                f->r[i].port);
    }
    if (addr_parse_list(list, addrs, &naddr, &e) < 0)
        abort();
    f->cluster = addr_cluster_id(addrs, naddr);
    f->ack_mask = ~0u;
    f->chunk_default = 100;
    snprintf(f->conninfo, sizeof f->conninfo, "replicas=%s;database=test", list);
    pthread_create(&f->thread, NULL, fake_main, f);
    return f;
}

void fake_stop(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_mutex_unlock(&f->mu);
    wake(f);
    pthread_join(f->thread, NULL);
    for (int s = 0; s < FAKE_MAX_CONNS; s++)
        if (f->conns[s])
            conn_free(f, s, false);
    for (int i = 0; i < f->n; i++)
        if (f->r[i].lfd >= 0)
            close(f->r[i].lfd);
    for (int i = 0; i < f->ndeferred; i++)
        proto_msg_free(&f->deferred[i].msg);
    free(f->deferred);
    proto_msg_free(&f->last_exec);
    close(f->wake[0]);
    close(f->wake[1]);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void fake_lock(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
}

void fake_unlock(struct fake *f)
{
    pthread_mutex_unlock(&f->mu);
    wake(f);
}

const char *fake_conninfo(struct fake *f, const char *extra)
{
    static __thread char buf[1200];
    snprintf(buf, sizeof buf, "%s%s%s", f->conninfo, extra ? ";" : "", extra ? extra : "");
    return buf;
}

void fake_kill(struct fake *f, int i, bool failover)
{
    fake_lock(f);
    kill_locked(f, i, failover);
    fake_unlock(f);
}

void fake_revive(struct fake *f, int i)
{
    uint16_t port;
    uint64_t view = 0;
    fake_lock(f);
    if (f->r[i].down) {
        f->r[i].lfd = listen_on(f->r[i].port, &port);
        f->r[i].down = f->r[i].lfd < 0;
        for (int k = 0; k < f->n; k++)
            if (k != i && !f->r[k].down && f->r[k].view > view)
                view = f->r[k].view;
        f->r[i].view = view;
        f->r[i].status = STATUS_NORMAL;
        f->r[i].op = f->r[i].commit = f->r[i].applied = f->log_op;
    }
    fake_unlock(f);
}

void fake_set_view(struct fake *f, uint64_t view)
{
    fake_lock(f);
    set_view_locked(f, view);
    fake_unlock(f);
}

int fake_count(struct fake *f, int replica, enum proto_type type, uint32_t flags_all,
               uint32_t flags_none)
{
    int k = 0;
    fake_lock(f);
    for (int i = 0; i < f->nlog; i++) {
        const struct fake_rec *r = &f->log[i];
        if ((replica < 0 || r->replica == replica) && r->type == type &&
            (r->flags & flags_all) == flags_all && !(r->flags & flags_none))
            k++;
    }
    fake_unlock(f);
    return k;
}

bool fake_wait_count(struct fake *f, int replica, enum proto_type type, uint32_t flags_all,
                     int want, int ms)
{
    uint64_t until = now_ms() + (uint64_t)ms;
    for (;;) {
        if (fake_count(f, replica, type, flags_all, 0) >= want)
            return true;
        if (now_ms() >= until)
            return false;
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
}

void fake_clear_log(struct fake *f)
{
    fake_lock(f);
    f->nlog = 0;
    fake_unlock(f);
}
