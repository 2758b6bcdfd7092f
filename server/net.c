/* recalld's transport over libevent bufferevents.  See net.h for the
 * happy path and the failure modes.  Everything here runs on the event-loop
 * thread. */
#include "config.h"

#include "net.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "frame.h"
#include "hmap.h"
#include "logging.h"

#define BACKOFF_MIN_MS 50
#define HELLO_TIMEOUT_S 10   /* an accepted connection must identify itself by then */
#define BACKOFF_MAX_MS 2000

struct net_conn {
    struct net *net;
    uint64_t id, tag;
    struct bufferevent *bev;    /* NULL while a link is down */
    bool link;                  /* outgoing, reconnects */
    bool up;                    /* connected and not closing */
    bool closing;               /* finished: waiting to be freed */
    bool final;                 /* do not reconnect */
    bool close_when_sent;       /* close once the output is flushed */
    char peer[64];
    char host[256];
    uint16_t port;
    unsigned backoff_ms;
    struct event *retry_ev;     /* link reconnect timer */
    struct event *hello_ev;     /* accepted: closes it if the caller never adopts it */
    void *data;
    struct net_conn *next_dead; /* free list for deferred frees */
};

struct net {
    struct event_base *base;
    struct net_options opt;
    struct net_callbacks cb;
    struct hmap conns;          /* id -> conn */
    uint64_t next_id;
    struct evconnlistener *listeners[4];
    int nlisteners;
    struct net_conn *dead;      /* closed, waiting to be freed */
    struct event *reap_ev;
    struct buf scratch;         /* encode buffer */
};

static void reap_cb(evutil_socket_t fd, short what, void *arg);
static void start_connect(struct net_conn *c);

struct net *net_new(struct event_base *base, const struct net_options *opt,
                    const struct net_callbacks *cb, struct err *e)
{
    struct net *n = calloc(1, sizeof *n);
    if (!n) {
        err_set(e, ERR_NOMEM, "net: out of memory");
        return NULL;
    }
    n->base = base;
    n->opt = *opt;
    if (n->opt.max_frame < FRAME_MIN_MAX)
        n->opt.max_frame = FRAME_DEFAULT_MAX;
    if (!n->opt.max_output)
        n->opt.max_output = (size_t)n->opt.max_frame * 4;
    n->cb = *cb;
    n->next_id = 1;
    hmap_init(&n->conns);
    buf_init(&n->scratch);
    n->reap_ev = event_new(base, -1, 0, reap_cb, n);
    if (!n->reap_ev) {
        free(n);
        err_set(e, ERR_NOMEM, "net: cannot create event");
        return NULL;
    }
    return n;
}

static void conn_free(struct net_conn *c)
{
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->retry_ev)
        event_free(c->retry_ev);
    if (c->hello_ev)
        event_free(c->hello_ev);
    free(c);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net *n = arg;
    (void)fd, (void)what;
    while (n->dead) {
        struct net_conn *c = n->dead;
        n->dead = c->next_dead;
        conn_free(c);
    }
}

void net_shutdown(struct net *n)
{
    size_t pos = 0;
    uint64_t key;
    void *val;
    struct net_conn **all;
    size_t cnt = 0;

    for (int i = 0; i < n->nlisteners; i++)
        evconnlistener_free(n->listeners[i]);
    n->nlisteners = 0;
    all = calloc(n->conns.len + 1, sizeof *all);
    if (!all)
        return;
    while (hmap_next(&n->conns, &pos, &key, &val))
        all[cnt++] = val;
    for (size_t i = 0; i < cnt; i++)
        net_close(all[i], true, "shutting down");
    free(all);
}

void net_free(struct net *n)
{
    if (!n)
        return;
    net_shutdown(n);
    reap_cb(-1, 0, n);
    event_free(n->reap_ev);
    hmap_close(&n->conns);
    buf_close(&n->scratch);
    free(n);
}

/* ---- reading ---- */

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct net_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (c->up && !c->close_when_sent) {
        unsigned char hdr[FRAME_HEADER];
        size_t avail = evbuffer_get_length(in);
        uint32_t len;
        unsigned char *p;
        struct proto_msg m;
        struct err e;

        if (avail < FRAME_HEADER)
            return;
        evbuffer_copyout(in, hdr, FRAME_HEADER);
        len = buf_get_u32be(hdr);
        if (len == 0 || len > c->net->opt.max_frame) {
            net_close(c, false, "%s",
                      len ? "frame exceeds max_frame" : "empty frame");
            return;
        }
        if (avail - FRAME_HEADER < len)
            return;
        p = evbuffer_pullup(in, (ev_ssize_t)(FRAME_HEADER + len));
        if (!p) {
            net_close(c, false, "out of memory reading a frame of %u bytes", len);
            return;
        }
        if (proto_decode(p + FRAME_HEADER, len, &m, &e) < 0) {
            net_close(c, false, "%s", e.msg);
            return;
        }
        evbuffer_drain(in, FRAME_HEADER + len);
        c->net->cb.msg_cb(c, &m, c->net->cb.arg);
        proto_msg_free(&m);
    }
}

static void schedule_reap(struct net_conn *c)
{
    struct net *n = c->net;
    c->next_dead = n->dead;
    n->dead = c;
    event_active(n->reap_ev, 0, 0);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    start_connect(arg);
}

/* Drop the socket; links schedule a reconnect, others are freed later. */
static void conn_down(struct net_conn *c)
{
    bool was_up = c->up;
    if (c->hello_ev)
        evtimer_del(c->hello_ev);
    c->up = false;
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    if (was_up && c->net->cb.close_cb)
        c->net->cb.close_cb(c, c->net->cb.arg);
    if (c->link && !c->final) {
        struct timeval tv = {c->backoff_ms / 1000, (c->backoff_ms % 1000) * 1000};
        evtimer_add(c->retry_ev, &tv);
        c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
        return;
    }
    c->closing = true;
    hmap_del(&c->net->conns, c->id);
    schedule_reap(c);
}

void net_close(struct net_conn *c, bool final, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    if (!c || c->closing)
        return;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (final)
        c->final = true;
    if (c->up)
        log_info("closing connection %s: %s", c->peer, why);
    if (c->link && c->final)
        evtimer_del(c->retry_ev);
    conn_down(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct net_conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->up = true;
        c->backoff_ms = BACKOFF_MIN_MS;
        if (c->net->cb.connected_cb)
            c->net->cb.connected_cb(c, c->net->cb.arg);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        if (c->up)
            log_debug("connection %s closed by peer", c->peer);
        conn_down(c);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        int err = EVUTIL_SOCKET_ERROR();
        if (c->up)
            log_info("connection %s: %s", c->peer, evutil_socket_error_to_string(err));
        else
            log_debug("connect to %s: %s", c->peer, evutil_socket_error_to_string(err));
        conn_down(c);
    }
}

static struct net_conn *conn_new(struct net *n)
{
    struct net_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->net = n;
    c->id = n->next_id++;
    c->backoff_ms = BACKOFF_MIN_MS;
    if (hmap_put(&n->conns, c->id, c) < 0) {
        free(c);
        return NULL;
    }
    return c;
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct net_conn *c = arg;
    if (c->close_when_sent && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        net_close(c, true, "closed after reply");
}

void net_close_after_send(struct net_conn *c)
{
    if (!c || !c->up || !c->bev)
        return;
    c->close_when_sent = true; /* nothing more is read or sent */
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        net_close(c, true, "closed after reply");
}

static void setup_bev(struct net_conn *c)
{
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    /* stop reading once a whole maximal frame is buffered */
    bufferevent_setwatermark(c->bev, EV_READ, 0, FRAME_HEADER + (size_t)c->net->opt.max_frame + 65536);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void hello_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_conn *c = arg;
    (void)fd, (void)what;
    if (!c->data)
        net_close(c, true, "no HELLO within %d s", HELLO_TIMEOUT_S);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct net *n = arg;
    struct net_conn *c = conn_new(n);
    char host[INET6_ADDRSTRLEN] = "?";
    int one = 1;
    (void)l, (void)salen;

    if (!c) {
        evutil_closesocket(fd);
        log_error("out of memory accepting a connection");
        return;
    }
    if (sa->sa_family == AF_INET)
        evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
    else if (sa->sa_family == AF_INET6)
        evutil_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
    snprintf(c->peer, sizeof c->peer, "%s:%u", host,
             sa->sa_family == AF_INET ? ntohs(((struct sockaddr_in *)sa)->sin_port)
                                      : ntohs(((struct sockaddr_in6 *)sa)->sin6_port));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        hmap_del(&n->conns, c->id);
        free(c);
        return;
    }
    c->up = true;
    setup_bev(c);
    if ((c->hello_ev = evtimer_new(n->base, hello_timeout_cb, c))) {
        struct timeval tv = {HELLO_TIMEOUT_S, 0};
        evtimer_add(c->hello_ev, &tv);
    }
    log_debug("accepted connection from %s", c->peer);
}

int net_listen(struct net *n, const char *host, uint16_t port, struct err *e)
{
    struct evutil_addrinfo hints, *res = NULL;
    char portstr[8];
    int rc;

    if (n->nlisteners >= (int)(sizeof n->listeners / sizeof n->listeners[0]))
        return err_set(e, ERR_LIMIT, "too many listeners");
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE;
    snprintf(portstr, sizeof portstr, "%u", port);
    rc = evutil_getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0 || !res)
        return err_set(e, ERR_CONFIG, "cannot resolve listen address %s:%u: %s", host, port,
                       evutil_gai_strerror(rc));
    n->listeners[n->nlisteners] = evconnlistener_new_bind(
        n->base, accept_cb, n, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        128, res->ai_addr, (int)res->ai_addrlen);
    evutil_freeaddrinfo(res);
    if (!n->listeners[n->nlisteners])
        return err_set_errno(e, errno, "cannot listen on %s:%u", host, port);
    n->nlisteners++;
    return 0;
}

static void start_connect(struct net_conn *c)
{
    struct evutil_addrinfo hints, *res = NULL;
    char portstr[8];
    int rc;

    if (c->final)
        return;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof portstr, "%u", c->port);
    rc = evutil_getaddrinfo(c->host, portstr, &hints, &res);
    if (rc != 0 || !res) {
        log_warn("cannot resolve %s: %s", c->peer, evutil_gai_strerror(rc));
        conn_down(c);
        return;
    }
    c->bev = bufferevent_socket_new(c->net->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_freeaddrinfo(res);
        conn_down(c);
        return;
    }
    setup_bev(c);
    if (bufferevent_socket_connect(c->bev, res->ai_addr, (int)res->ai_addrlen) < 0) {
        evutil_freeaddrinfo(res);
        conn_down(c);
        return;
    }
    evutil_freeaddrinfo(res);
}

void net_link_kick(struct net_conn *c)
{
    if (!c || !c->link || c->final || c->bev)
        return; /* connected or connecting already */
    evtimer_del(c->retry_ev);
    c->backoff_ms = BACKOFF_MIN_MS;
    start_connect(c);
}

struct net_conn *net_link(struct net *n, const char *host, uint16_t port, uint64_t tag)
{
    struct net_conn *c = conn_new(n);
    if (!c)
        return NULL;
    c->link = true;
    c->tag = tag;
    c->port = port;
    snprintf(c->host, sizeof c->host, "%s", host);
    snprintf(c->peer, sizeof c->peer, "%s:%u", host, port);
    c->retry_ev = evtimer_new(n->base, retry_cb, c);
    start_connect(c);
    return c;
}

int net_send_raw(struct net_conn *c, const void *p, size_t len)
{
    if (!c || !c->up || !c->bev || c->close_when_sent)
        return -1;
    if (bufferevent_write(c->bev, p, len) < 0) {
        net_close(c, false, "out of memory queueing output");
        return -1;
    }
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > c->net->opt.max_output) {
        net_close(c, false, "peer is not reading (more than %zu bytes queued)",
                  c->net->opt.max_output);
        return -1;
    }
    return 0;
}

int net_send(struct net_conn *c, const struct proto_msg *m)
{
    struct net *n;
    struct err e;
    if (!c || !c->up)
        return -1;
    n = c->net;
    buf_reset(&n->scratch);
    if (frame_encode(m, &n->scratch, n->opt.max_frame, &e) < 0) {
        log_error("cannot send %s to %s: %s", proto_type_name(m->type), c->peer, e.msg);
        return -1;
    }
    return net_send_raw(c, n->scratch.data, n->scratch.len);
}

bool net_is_up(const struct net_conn *c) { return c && c->up; }
bool net_is_link(const struct net_conn *c) { return c->link; }
uint64_t net_conn_id(const struct net_conn *c) { return c->id; }
uint64_t net_conn_tag(const struct net_conn *c) { return c->tag; }
const char *net_conn_peer(const struct net_conn *c) { return c->peer; }
void net_set_data(struct net_conn *c, void *data)
{
    c->data = data;
    if (data && c->hello_ev)
        evtimer_del(c->hello_ev); /* adopted */
}
void *net_get_data(const struct net_conn *c) { return c->data; }

size_t net_conn_backlog(const struct net_conn *c)
{
    return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

struct net_conn *net_find(struct net *n, uint64_t id)
{
    struct net_conn *c = hmap_get(&n->conns, id);
    return c && c->up ? c : NULL;
}
