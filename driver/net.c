/* Replica links: one non-blocking TCP socket per replica, framing, the
 * handshake, and the single poll() loop that every blocking librecall call
 * waits in (net_next).  No threads: I/O only happens inside a call.
 *
 * Happy path of a link: DOWN -> CONNECTING (non-blocking connect) -> HELLO
 * (HELLO sent, WELCOME awaited) -> SYNC (the connection's remembered session
 * statements are replayed, if any) -> READY; net_next then reports NET_UP and
 * hands every validated message to the caller as NET_MSG.
 * Failure modes: connect errors, a timeout in any phase (connect_timeout),
 * EOF or socket errors, an oversized or malformed frame, a message that is
 * not allowed from a replica or in the link's state, a reply to a request id
 * never issued, a replica that claims another index or reports impossible
 * status values, an ERROR answering HELLO, a failed session replay.  Each
 * closes the socket, records the reason in the link's err, queues NET_DOWN
 * and schedules a reconnect with exponential backoff; the caller decides
 * what the loss means for its request.  Nothing read from the network is
 * trusted for a size: a frame is rejected from its header before it is
 * buffered when it exceeds max_frame.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "mono.h"
#include "recall-internal.h"

/* Bytes asked of the kernel per read when no frame size is known yet. */
#define NET_READ_CHUNK (64u * 1024)

uint64_t rc_now_ms(void) { return mono_ms(); }

uint64_t rc_deadline(unsigned ms)
{
    return ms ? rc_now_ms() + ms : RC_NO_DEADLINE;
}

/* ---- link states ---- */

static const char *const state_names[] = {
    [LINK_DOWN] = "DOWN", [LINK_CONNECTING] = "CONNECTING", [LINK_HELLO] = "HELLO",
    [LINK_SYNC] = "SYNC", [LINK_READY] = "READY"};

const char *net_state_name(enum link_state s)
{
    return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s]
                                                                     : "UNKNOWN";
}

static void link_set_state(struct link *l, enum link_state to)
{
    static const bool allowed[5][5] = {
        /* to:            DOWN CONN HELLO SYNC READY */
        [LINK_DOWN] =       {0, 1, 0, 0, 0},
        [LINK_CONNECTING] = {1, 0, 1, 0, 0},
        [LINK_HELLO] =      {1, 0, 0, 1, 1},
        [LINK_SYNC] =       {1, 0, 0, 0, 1},
        [LINK_READY] =      {1, 0, 0, 0, 0},
    };
    assert(allowed[l->state][to]);
    (void)allowed;
    l->state = to;
}

/* ---- the event queue ---- */

static int queue_reserve(struct recall_conn *c, size_t extra)
{
    struct net_event *v;
    size_t ncap;
    if (c->qlen + extra <= c->qcap)
        return 0;
    ncap = c->qcap ? c->qcap * 2 : 16;
    while (ncap < c->qlen + extra)
        ncap *= 2;
    if (!(v = malloc(ncap * sizeof *v)))
        return -1;
    for (size_t i = 0; i < c->qlen; i++)
        v[i] = c->queue[(c->qhead + i) % c->qcap];
    free(c->queue);
    c->queue = v;
    c->qcap = ncap;
    c->qhead = 0;
    return 0;
}

/* Append; an event that cannot be queued is dropped (its message freed).
 * Losing one is safe: callers never rely on an event alone, links'
 * states are level-triggered and requests time out and are retried. */
static void queue_push(struct recall_conn *c, struct net_event *ev)
{
    if (queue_reserve(c, 1) < 0) {
        net_event_free(ev);
        return;
    }
    c->queue[(c->qhead + c->qlen) % c->qcap] = *ev;
    c->qlen++;
    memset(ev, 0, sizeof *ev);
}

static bool queue_pop(struct recall_conn *c, struct net_event *ev)
{
    if (!c->qlen)
        return false;
    *ev = c->queue[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    return true;
}

void net_requeue(struct recall_conn *c, struct net_event *ev)
{
    /* Goes in front, so that it is the next event returned. */
    if (queue_reserve(c, 1) < 0) {
        net_event_free(ev);
        return;
    }
    c->qhead = (c->qhead + c->qcap - 1) % c->qcap;
    c->queue[c->qhead] = *ev;
    c->qlen++;
    memset(ev, 0, sizeof *ev);
}

void net_event_free(struct net_event *ev)
{
    if (ev->kind == NET_MSG)
        proto_msg_free(&ev->msg);
    memset(ev, 0, sizeof *ev);
}

void net_flush_queue(struct recall_conn *c)
{
    struct net_event ev;
    while (queue_pop(c, &ev))
        net_event_free(&ev);
}

static void push_simple(struct recall_conn *c, enum net_kind kind, uint32_t li)
{
    struct net_event ev = {.kind = kind, .li = li, .gen = c->links[li].gen};
    queue_push(c, &ev);
}

/* ---- setup and teardown ---- */

int net_init(struct recall_conn *c, const struct replica_addr *v, size_t n, struct err *e)
{
    assert(n >= 1 && n <= ADDR_MAX_REPLICAS);
    c->links = calloc(n, sizeof *c->links);
    if (!c->links)
        return err_set(e, ERR_NOMEM, "out of memory allocating replica links");
    c->n = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        struct link *l = &c->links[i];
        l->idx = (uint32_t)i;
        l->addr = v[i];
        addr_format(&v[i], l->name, sizeof l->name);
        l->fd = -1;
        l->state = LINK_DOWN;
        l->backoff_ms = RC_BACKOFF_MIN_MS;
        buf_init(&l->out);
        buf_init(&l->in);
        err_clear(&l->err);
    }
    return 0;
}

static void link_reset_io(struct link *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    buf_close(&l->out);
    buf_close(&l->in);
    buf_init(&l->out);
    buf_init(&l->in);
    l->rpos = 0;
}

void net_close(struct recall_conn *c)
{
    if (c->links) {
        for (uint32_t i = 0; i < c->n; i++)
            link_reset_io(&c->links[i]);
        free(c->links);
        c->links = NULL;
    }
    net_flush_queue(c);
    free(c->queue);
    c->queue = NULL;
    c->qcap = c->qlen = c->qhead = 0;
}

bool net_ready(const struct recall_conn *c, uint32_t li)
{
    return li < c->n && c->links[li].state == LINK_READY;
}

uint32_t net_ready_count(const struct recall_conn *c)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->n; i++)
        k += c->links[i].state == LINK_READY;
    return k;
}

uint64_t net_req(struct recall_conn *c)
{
    return c->next_req++;
}

void net_link_down(struct recall_conn *c, uint32_t li, const struct err *e)
{
    struct link *l = &c->links[li];
    if (l->state == LINK_DOWN)
        return;
    link_reset_io(l);
    link_set_state(l, LINK_DOWN);
    err_copy(&l->err, e);
    l->st_valid = false;
    l->retry_at = rc_now_ms() + l->backoff_ms;
    l->backoff_ms = l->backoff_ms * 2 > RC_BACKOFF_MAX_MS ? RC_BACKOFF_MAX_MS : l->backoff_ms * 2;
    push_simple(c, NET_DOWN, li);
}

static void link_fail(struct recall_conn *c, uint32_t li, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void link_fail(struct recall_conn *c, uint32_t li, enum err_code code, const char *fmt, ...)
{
    struct err e;
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_set(&e, code, "replica %u (%s): %s", li, c->links[li].name, msg);
    net_link_down(c, li, &e);
}

/* ---- tracing ---- */

void net_trace(const struct recall_conn *c, uint32_t li, bool out, const struct proto_msg *m)
{
    char d[160] = "";
    if (!c->trace)
        return;
    switch (m->type) {
    case MSG_EXEC:
        snprintf(d, sizeof d, "req=%llu flags=%#x fence=%llu sql=%.60s",
                 (unsigned long long)m->u.exec.req, m->u.exec.flags,
                 (unsigned long long)m->u.exec.fence, m->u.exec.sql.p ? m->u.exec.sql.p : "");
        break;
    case MSG_RESULT:
        snprintf(d, sizeof d, "req=%llu flags=%#x view=%llu st=%u L=%llu c=%llu a=%llu log_op=%llu "
                 "rows=%u affected=%llu", (unsigned long long)m->u.result.req, m->u.result.flags,
                 (unsigned long long)m->u.result.view, m->u.result.status,
                 (unsigned long long)m->u.result.op, (unsigned long long)m->u.result.commit,
                 (unsigned long long)m->u.result.applied, (unsigned long long)m->u.result.log_op,
                 m->u.result.columns.n ? m->u.result.cells.n / m->u.result.columns.n : 0,
                 (unsigned long long)m->u.result.affected);
        break;
    case MSG_ERROR:
        snprintf(d, sizeof d, "req=%llu code=%u %s usable=%d %.60s", (unsigned long long)m->u.error.req,
                 m->u.error.code, m->u.error.sqlstate.p ? m->u.error.sqlstate.p : "",
                 m->u.error.usable, m->u.error.msg.p ? m->u.error.msg.p : "");
        break;
    case MSG_STATUS:
        snprintf(d, sizeof d, "req=%llu view=%llu st=%u L=%llu c=%llu a=%llu",
                 (unsigned long long)m->u.status.req, (unsigned long long)m->u.status.view,
                 m->u.status.status, (unsigned long long)m->u.status.op,
                 (unsigned long long)m->u.status.commit, (unsigned long long)m->u.status.applied);
        break;
    case MSG_PREPARED:
    case MSG_ACK:
    case MSG_COMMITTED:
        snprintf(d, sizeof d, "view=%llu op=%llu req=%llu",
                 (unsigned long long)m->u.ack.view, (unsigned long long)m->u.ack.op,
                 (unsigned long long)m->u.ack.req);
        break;
    case MSG_TXN:
        snprintf(d, sizeof d, "req=%llu action=%u flags=%#x", (unsigned long long)m->u.txn.req,
                 m->u.txn.action, m->u.txn.flags);
        break;
    case MSG_PROBE: snprintf(d, sizeof d, "req=%llu", (unsigned long long)m->u.probe.req); break;
    case MSG_FETCH: snprintf(d, sizeof d, "req=%llu", (unsigned long long)m->u.fetch.req); break;
    case MSG_ROWS:
        snprintf(d, sizeof d, "req=%llu flags=%#x cells=%u", (unsigned long long)m->u.rows.req,
                 m->u.rows.flags, m->u.rows.cells.n);
        break;
    case MSG_CLOSE: snprintf(d, sizeof d, "req=%llu", (unsigned long long)m->u.close.req); break;
    case MSG_WELCOME:
        snprintf(d, sizeof d, "replica=%u view=%llu st=%u", m->u.welcome.replica,
                 (unsigned long long)m->u.welcome.view, m->u.welcome.status);
        break;
    default: break;
    }
    fprintf(stderr, "recall %llu c%u %s r%u %s %s\n", (unsigned long long)rc_now_ms() % 100000000,
            c->trace_id, out ? "->" : "<-", li, proto_type_name(m->type), d);
}

/* ---- writing ---- */

static void link_flush(struct recall_conn *c, uint32_t li)
{
    struct link *l = &c->links[li];
    size_t off = 0;
    while (off < l->out.len) {
        ssize_t k = send(l->fd, l->out.data + off, l->out.len - off, MSG_NOSIGNAL);
        if (k > 0) {
            off += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        buf_consume(&l->out, off);
        link_fail(c, li, ERR_CONN_LOST, "send failed: %s", strerror(errno));
        return;
    }
    buf_consume(&l->out, off);
}

static int link_queue_msg(struct recall_conn *c, uint32_t li, const struct proto_msg *m,
                          struct err *e)
{
    struct link *l = &c->links[li];
    if (frame_encode(m, &l->out, c->max_frame, e) < 0)
        return -1;
    net_trace(c, li, true, m);
    return 0;
}

int net_send(struct recall_conn *c, uint32_t li, const struct proto_msg *m, struct err *e)
{
    struct link *l = &c->links[li];
    if (l->state != LINK_READY)
        return err_set(e, ERR_CONN_LOST, "replica %u (%s) is not connected", li, l->name);
    if (link_queue_msg(c, li, m, e) < 0)
        return -1;
    link_flush(c, li);
    if (l->state != LINK_READY) {
        err_copy(e, &l->err);
        return -1;
    }
    return 0;
}

static int send_session_stmt(struct recall_conn *c, uint32_t li, const struct session_stmt *ss,
                             struct err *e)
{
    struct proto_msg m = {.type = MSG_EXEC};
    m.u.exec.req = net_req(c);
    m.u.exec.flags = PROTO_EXEC_SESSION;
    m.u.exec.sql.p = ss->sql;
    m.u.exec.sql.len = (uint32_t)ss->len;
    m.u.exec.params = ss->params;
    if (link_queue_msg(c, li, &m, e) < 0)
        return -1;
    c->links[li].sync_last = m.u.exec.req;
    return 0;
}

void net_sync_append(struct recall_conn *c, uint32_t li, const struct session_stmt *ss)
{
    struct err e;
    if (c->links[li].state != LINK_SYNC)
        return;
    if (send_session_stmt(c, li, ss, &e) < 0) {
        err_wrap(&e, "replaying session statements");
        net_link_down(c, li, &e);
        return;
    }
    link_flush(c, li);
}

/* ---- connecting ---- */

static void send_hello(struct recall_conn *c, uint32_t li)
{
    struct link *l = &c->links[li];
    struct proto_msg m = {.type = MSG_HELLO};
    struct err e;

    m.u.hello.version = PROTO_VERSION;
    m.u.hello.cluster = c->cluster;
    m.u.hello.role = ROLE_CLIENT;
    m.u.hello.replica = PROTO_NO_REPLICA;
    m.u.hello.client = c->client;
    m.u.hello.user.p = c->user;
    m.u.hello.user.len = c->user ? (uint32_t)strlen(c->user) : 0;
    m.u.hello.password.p = c->password;
    m.u.hello.password.len = c->password ? (uint32_t)strlen(c->password) : 0;
    m.u.hello.database.p = c->database;
    m.u.hello.database.len = c->database ? (uint32_t)strlen(c->database) : 0;
    link_set_state(l, LINK_HELLO);
    if (link_queue_msg(c, li, &m, &e) < 0) {
        err_wrap(&e, "replica %u (%s): HELLO", li, l->name);
        net_link_down(c, li, &e);
        return;
    }
    link_flush(c, li);
}

static void link_start(struct recall_conn *c, uint32_t li)
{
    struct link *l = &c->links[li];
    struct addrinfo hints, *res = NULL, *ai;
    char port[8];
    int rc, fd = -1, one = 1, last_errno = 0;

    assert(l->state == LINK_DOWN);
    l->attempts++;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof port, "%u", (unsigned)l->addr.port);
    rc = getaddrinfo(l->addr.host, port, &hints, &res);
    link_set_state(l, LINK_CONNECTING);
    l->phase_deadline = rc_deadline(c->connect_timeout_ms);
    if (rc != 0) {
        link_fail(c, li, ERR_CONNECT, "cannot resolve host: %s", gai_strerror(rc));
        return;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)
            break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        link_fail(c, li, ERR_CONNECT, "connect failed: %s", strerror(last_errno));
        return;
    }
    l->fd = fd;
    /* Even an immediate success is confirmed through POLLOUT, which keeps
     * one code path. */
}

void net_kick(struct recall_conn *c)
{
    uint64_t now = rc_now_ms();
    for (uint32_t i = 0; i < c->n; i++)
        if (c->links[i].state == LINK_DOWN && now >= c->links[i].retry_at)
            link_start(c, i);
}

static void link_connected(struct recall_conn *c, uint32_t li)
{
    struct link *l = &c->links[li];
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr) {
        link_fail(c, li, ERR_CONNECT, "connect failed: %s", strerror(soerr));
        return;
    }
    send_hello(c, li);
}

/* ---- reading and validating ---- */

static bool status_valid(uint8_t s)
{
    return s >= STATUS_NORMAL && s <= STATUS_DIVERGED;
}

static void note_view(struct recall_conn *c, uint64_t view)
{
    if (view > c->max_view_seen)
        c->max_view_seen = view;
}

static void note_status(struct recall_conn *c, struct link *l, uint64_t view, uint8_t status,
                        uint64_t op, uint64_t commit, uint64_t applied)
{
    l->st_valid = true;
    l->view = view;
    l->status = status;
    l->op = op;
    l->commit = commit;
    l->applied = applied;
    note_view(c, view);
}

static void link_ready(struct recall_conn *c, uint32_t li)
{
    struct link *l = &c->links[li];
    link_set_state(l, LINK_READY);
    l->gen++;
    l->ever_up = true;
    l->attempts = 0;
    l->backoff_ms = RC_BACKOFF_MIN_MS;
    err_clear(&l->err);
    push_simple(c, NET_UP, li);
}

/* WELCOME (or ERROR) answering our HELLO. */
static void on_hello_reply(struct recall_conn *c, uint32_t li, struct proto_msg *m)
{
    struct link *l = &c->links[li];
    struct err e;

    if (m->type == MSG_ERROR) {
        route_error_from_msg(&e, &m->u.error, l);
        net_link_down(c, li, &e);
        return;
    }
    if (m->type != MSG_WELCOME) {
        link_fail(c, li, ERR_PROTOCOL, "expected WELCOME, got %s", proto_type_name(m->type));
        return;
    }
    if (m->u.welcome.version != PROTO_VERSION) {
        link_fail(c, li, ERR_REJECTED, "protocol version %u, this client speaks %u",
                  m->u.welcome.version, PROTO_VERSION);
        return;
    }
    if (m->u.welcome.replica != li) {
        link_fail(c, li, ERR_REJECTED,
                  "the replica says it is number %u in its list; the connection string "
                  "lists it as number %u",
                  m->u.welcome.replica, li);
        return;
    }
    if (!status_valid(m->u.welcome.status)) {
        link_fail(c, li, ERR_PROTOCOL, "WELCOME with invalid status %u", m->u.welcome.status);
        return;
    }
    snprintf(l->backend, sizeof l->backend, "%s", m->u.welcome.backend.p);
    /* WELCOME carries no op numbers: the view and status are all we learn. */
    l->st_valid = false;
    l->view = m->u.welcome.view;
    l->status = m->u.welcome.status;
    note_view(c, m->u.welcome.view);
    if (c->nsess == 0) {
        link_ready(c, li);
        return;
    }
    link_set_state(l, LINK_SYNC);
    l->phase_deadline = rc_deadline(c->connect_timeout_ms);
    for (size_t i = 0; i < c->nsess; i++) {
        if (send_session_stmt(c, li, &c->sess[i], &e) < 0) {
            err_wrap(&e, "replica %u (%s): replaying session statements", li, l->name);
            net_link_down(c, li, &e);
            return;
        }
    }
    link_flush(c, li);
}

/* RESULT/ERROR answering a session statement replayed in SYNC. */
static void on_sync_reply(struct recall_conn *c, uint32_t li, struct proto_msg *m)
{
    struct link *l = &c->links[li];
    uint64_t req;
    struct err e;

    if (m->type == MSG_RESULT)
        req = m->u.result.req;
    else if (m->type == MSG_ERROR)
        req = m->u.error.req;
    else {
        link_fail(c, li, ERR_PROTOCOL, "unexpected %s while replaying session statements",
                  proto_type_name(m->type));
        return;
    }
    if (req > l->sync_last || req == 0) {
        link_fail(c, li, ERR_PROTOCOL, "reply to request %llu, which was not sent to it",
                  (unsigned long long)req);
        return;
    }
    if (m->type == MSG_ERROR) {
        route_error_from_msg(&e, &m->u.error, l);
        err_wrap(&e, "replaying a session statement");
        net_link_down(c, li, &e);
        return;
    }
    if (req == l->sync_last)
        link_ready(c, li);
}

/* Check a message from a READY link.  Returns true to deliver it. */
static bool validate(struct recall_conn *c, uint32_t li, struct proto_msg *m)
{
    struct link *l = &c->links[li];
    uint64_t req = 0;
    struct err e;

    switch (m->type) {
    case MSG_ERROR:
        req = m->u.error.req;
        if (req == 0) {
            /* Not tied to a request: a replica that is closing says why. */
            if (!m->u.error.usable) {
                route_error_from_msg(&e, &m->u.error, l);
                net_link_down(c, li, &e);
            }
            return false;
        }
        break;
    case MSG_RESULT: {
        struct proto_result *r = &m->u.result;
        req = r->req;
        if (r->replica != li || !status_valid(r->status)) {
            link_fail(c, li, ERR_PROTOCOL, "RESULT with replica %u, status %u", r->replica,
                      r->status);
            return false;
        }
        if (!route_cells_ok(r->columns.n, r->cells.n)) {
            link_fail(c, li, ERR_PROTOCOL, "RESULT with %u cells for %u columns", r->cells.n,
                      r->columns.n);
            return false;
        }
        for (uint32_t i = 0; i < r->columns.n; i++)
            if (r->columns.v[i].type > RECALL_TYPE_BOOLEAN) {
                link_fail(c, li, ERR_PROTOCOL, "RESULT column %u has unknown type %u", i,
                          r->columns.v[i].type);
                return false;
            }
        note_status(c, l, r->view, r->status, r->op, r->commit, r->applied);
        break;
    }
    case MSG_ROWS:
        req = m->u.rows.req;
        break;
    case MSG_PREPARED:
    case MSG_ACK: {
        uint32_t rep = m->type == MSG_ACK ? m->u.ack.replica : m->u.prepared.replica;
        req = m->type == MSG_ACK ? m->u.ack.req : m->u.prepared.req;
        if (rep != li) {
            link_fail(c, li, ERR_PROTOCOL, "%s claiming to come from replica %u",
                      proto_type_name(m->type), rep);
            return false;
        }
        note_view(c, m->type == MSG_ACK ? m->u.ack.view : m->u.prepared.view);
        break;
    }
    case MSG_COMMITTED:
        req = m->u.committed.req;
        note_view(c, m->u.committed.view);
        break;
    case MSG_STATUS: {
        struct proto_status *s = &m->u.status;
        req = s->req;
        if (s->replica != li || !status_valid(s->status)) {
            link_fail(c, li, ERR_PROTOCOL, "STATUS with replica %u, status %u", s->replica,
                      s->status);
            return false;
        }
        /* A normal replica names the primary of its own view; anything
         * else is a lie we cannot build on. */
        if (s->status == STATUS_NORMAL && s->primary != PROTO_NO_REPLICA &&
            s->primary != (uint32_t)(s->view % c->n)) {
            link_fail(c, li, ERR_PROTOCOL, "STATUS names primary %u for view %llu of %u replicas",
                      s->primary, (unsigned long long)s->view, c->n);
            return false;
        }
        note_status(c, l, s->view, s->status, s->op, s->commit, s->applied);
        break;
    }
    default:
        link_fail(c, li, ERR_PROTOCOL, "unexpected %s from a replica", proto_type_name(m->type));
        return false;
    }
    if (req == 0 || req >= c->next_req) {
        link_fail(c, li, ERR_PROTOCOL, "%s for request %llu, which was never sent",
                  proto_type_name(m->type), (unsigned long long)req);
        return false;
    }
    return true;
}

/* Take one complete frame out of the link's input buffer.  Returns 1 with
 * *m filled, 0 when more bytes are needed, -1 when the link went down. */
static int take_frame(struct recall_conn *c, uint32_t li, struct proto_msg *m)
{
    struct link *l = &c->links[li];
    uint32_t plen = 0;
    struct err e;
    const unsigned char *p = l->in.data + l->rpos;
    size_t avail = l->in.len - l->rpos;

    if (avail == 0)
        return 0;
    switch (frame_parse(p, avail, c->max_frame, &plen, &e)) {
    case FRAME_NEED_MORE:
        return 0;
    case FRAME_BAD:
        err_wrap(&e, "replica %u (%s)", li, l->name);
        net_link_down(c, li, &e);
        return -1;
    case FRAME_READY:
        break;
    }
    if (proto_decode(p + FRAME_HEADER, plen, m, &e) < 0) {
        err_wrap(&e, "replica %u (%s)", li, l->name);
        net_link_down(c, li, &e);
        return -1;
    }
    net_trace(c, li, false, m);
    l->rpos += FRAME_HEADER + plen;
    if (l->rpos == l->in.len) {
        l->in.len = 0;
        l->rpos = 0;
    } else if (l->rpos > l->in.len / 2) {
        buf_consume(&l->in, l->rpos);
        l->rpos = 0;
    }
    return 1;
}

/* Process buffered frames of link li until one yields an event.  Returns
 * true when ev was filled (or an event was queued). */
static bool link_drain(struct recall_conn *c, uint32_t li, struct net_event *ev)
{
    struct link *l = &c->links[li];
    struct proto_msg m;

    while (l->state >= LINK_HELLO) {
        int rc = take_frame(c, li, &m);
        if (rc <= 0)
            return rc < 0; /* a NET_DOWN event was queued */
        switch (l->state) {
        case LINK_HELLO:
            on_hello_reply(c, li, &m);
            proto_msg_free(&m);
            if (c->qlen > 0)
                return true;
            continue;
        case LINK_SYNC:
            on_sync_reply(c, li, &m);
            proto_msg_free(&m);
            if (c->qlen > 0)
                return true;
            continue;
        case LINK_READY:
            if (!validate(c, li, &m)) {
                proto_msg_free(&m);
                if (c->qlen > 0)
                    return true;
                continue;
            }
            ev->kind = NET_MSG;
            ev->li = li;
            ev->gen = l->gen;
            ev->msg = m;
            return true;
        default:
            proto_msg_free(&m);
            return false;
        }
    }
    return false;
}

static void link_read(struct recall_conn *c, uint32_t li)
{
    struct link *l = &c->links[li];
    size_t want = NET_READ_CHUNK;
    uint32_t plen;
    ssize_t k;

    /* If a frame header is there, read up to the end of that frame at
     * once (frame_parse has already bounded it by max_frame). */
    if (l->in.len - l->rpos >= FRAME_HEADER) {
        plen = buf_get_u32be(l->in.data + l->rpos);
        if (plen <= c->max_frame && FRAME_HEADER + (size_t)plen > l->in.len - l->rpos) {
            size_t rest = FRAME_HEADER + (size_t)plen - (l->in.len - l->rpos);
            if (rest > want)
                want = rest;
        }
    }
    if (l->rpos > 0 && l->in.cap - l->in.len < want) {
        buf_consume(&l->in, l->rpos);
        l->rpos = 0;
    }
    if (buf_reserve(&l->in, want) < 0) {
        link_fail(c, li, ERR_NOMEM, "out of memory reading from the replica");
        return;
    }
    for (;;) {
        k = recv(l->fd, l->in.data + l->in.len, l->in.cap - l->in.len, 0);
        if (k < 0 && errno == EINTR)
            continue;
        break;
    }
    if (k > 0) {
        l->in.len += (size_t)k;
        return;
    }
    if (k == 0) {
        link_fail(c, li, ERR_CONN_LOST, "the replica closed the connection");
        return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return;
    link_fail(c, li, ERR_CONN_LOST, "receive failed: %s", strerror(errno));
}

static void check_phase_deadlines(struct recall_conn *c, uint64_t now)
{
    for (uint32_t i = 0; i < c->n; i++) {
        struct link *l = &c->links[i];
        if ((l->state == LINK_CONNECTING || l->state == LINK_HELLO || l->state == LINK_SYNC) &&
            now >= l->phase_deadline)
            link_fail(c, i, ERR_TIMEOUT, "no %s within the connect timeout",
                      l->state == LINK_CONNECTING ? "connection"
                      : l->state == LINK_HELLO    ? "WELCOME"
                                                  : "answer to the session replay");
    }
}

static void drain_wake(struct recall_conn *c)
{
    uint64_t v;
    while (read(c->wake_fd, &v, sizeof v) > 0)
        ;
}

void net_next(struct recall_conn *c, uint64_t deadline, bool cancelable, struct net_event *ev)
{
    struct pollfd pfd[ADDR_MAX_REPLICAS + 1];
    uint32_t map[ADDR_MAX_REPLICAS + 1];

    memset(ev, 0, sizeof *ev);
    for (;;) {
        uint64_t now, wake;
        int npfd = 0, timeout, rc;

        if (queue_pop(c, ev))
            return;
        if (cancelable && atomic_load(&c->cancel)) {
            ev->kind = NET_CANCELED;
            return;
        }
        /* Frames already buffered come before new reads. */
        for (uint32_t k = 0; k < c->n; k++) {
            uint32_t li = (c->net_rr + k) % c->n;
            if (link_drain(c, li, ev)) {
                if (ev->kind)
                    return;
                break; /* an event was queued */
            }
        }
        if (c->qlen)
            continue;
        net_kick(c);
        if (c->qlen)
            continue;

        now = rc_now_ms();
        check_phase_deadlines(c, now);
        if (c->qlen)
            continue;
        if (now >= deadline) {
            ev->kind = NET_TIMEOUT;
            return;
        }
        wake = deadline;
        if (c->wake_fd >= 0) {
            pfd[npfd].fd = c->wake_fd;
            pfd[npfd].events = POLLIN;
            map[npfd++] = UINT32_MAX;
        }
        for (uint32_t i = 0; i < c->n; i++) {
            struct link *l = &c->links[i];
            if (l->state == LINK_DOWN) {
                if (l->retry_at < wake)
                    wake = l->retry_at;
                continue;
            }
            if (l->state != LINK_READY && l->phase_deadline < wake)
                wake = l->phase_deadline;
            pfd[npfd].fd = l->fd;
            pfd[npfd].events = l->state == LINK_CONNECTING ? POLLOUT
                               : l->out.len                ? (POLLIN | POLLOUT)
                                                           : POLLIN;
            map[npfd++] = i;
        }
        timeout = wake == RC_NO_DEADLINE ? -1
                  : wake <= now          ? 0
                  : wake - now > 60000   ? 60000
                                         : (int)(wake - now);
        rc = poll(pfd, (nfds_t)npfd, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            /* poll itself failing (EINVAL, ENOMEM) is not a replica's
             * fault; wait a little rather than spin. */
            struct timespec ts = {0, 10 * 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        for (int k = 0; k < npfd; k++) {
            uint32_t li = map[k];
            short re = pfd[k].revents;
            if (!re)
                continue;
            if (li == UINT32_MAX) {
                drain_wake(c);
                continue;
            }
            if (c->links[li].fd != pfd[k].fd)
                continue; /* went down while handling an earlier fd */
            if (c->links[li].state == LINK_CONNECTING) {
                link_connected(c, li);
                continue;
            }
            if (re & POLLOUT)
                link_flush(c, li);
            if (c->links[li].fd == pfd[k].fd && (re & (POLLIN | POLLHUP | POLLERR)))
                link_read(c, li);
        }
        c->net_rr++;
    }
}
