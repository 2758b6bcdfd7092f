/* Blocking control-role client.  See ctlclient.h. */
#include "config.h"

#include "ctlclient.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "mono.h"


static int dial(const struct replica_addr *a, int timeout_ms, struct err *e)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port[8];
    int fd = -1, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%u", a->port);
    if ((rc = getaddrinfo(a->host, port, &hints, &res)) != 0)
        return err_set(e, ERR_CONNECT, "%s: %s", a->host, gai_strerror(rc));
    err_set(e, ERR_CONNECT, "no address for %s", a->host);
    for (ai = res; ai; ai = ai->ai_next) {
        struct pollfd p;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            p.fd = fd;
            p.events = POLLOUT;
            if (poll(&p, 1, timeout_ms) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
            err_set(e, ERR_CONNECT, "%s", soerr ? strerror(soerr) : "connect timed out");
        } else {
            err_set(e, ERR_CONNECT, "%s", strerror(errno));
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int ctl_send(struct ctlconn *c, const struct proto_msg *m, int timeout_ms, struct err *e)
{
    struct buf b;
    size_t off = 0;
    uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;

    buf_init(&b);
    if (frame_encode(m, &b, FRAME_DEFAULT_MAX, e) < 0) {
        buf_close(&b);
        return -1;
    }
    while (off < b.len) {
        ssize_t n = send(c->fd, b.data + off, b.len - off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = {c->fd, POLLOUT, 0};
            uint64_t now = mono_ms();
            if (now >= deadline || poll(&p, 1, (int)(deadline - now)) < 0) {
                buf_close(&b);
                return err_set(e, ERR_TIMEOUT, "%s: send timed out", c->peer);
            }
            continue;
        }
        if (n <= 0) {
            buf_close(&b);
            return err_set(e, ERR_CONN_LOST, "%s: send: %s", c->peer, strerror(errno));
        }
        off += (size_t)n;
    }
    buf_close(&b);
    return 0;
}

int ctl_recv(struct ctlconn *c, struct proto_msg *m, int timeout_ms, struct err *e)
{
    uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint32_t len;
        enum frame_status fs = frame_parse(c->in.data, c->in.len, FRAME_DEFAULT_MAX, &len, e);
        if (fs == FRAME_BAD)
            return -1;
        if (fs == FRAME_READY) {
            int rc = proto_decode(c->in.data + FRAME_HEADER, len, m, e);
            buf_consume(&c->in, FRAME_HEADER + len);
            return rc;
        }
        uint64_t now = mono_ms();
        struct pollfd p = {c->fd, POLLIN, 0};
        if (now >= deadline)
            return err_set(e, ERR_TIMEOUT, "%s: no answer", c->peer);
        int pr = poll(&p, 1, (int)(deadline - now));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr != 1)
            return err_set(e, ERR_TIMEOUT, "%s: no answer", c->peer);
        if (buf_reserve(&c->in, 65536) < 0)
            return err_set(e, ERR_NOMEM, "out of memory");
        ssize_t n = recv(c->fd, c->in.data + c->in.len, 65536, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            return err_set(e, ERR_CONN_LOST, "%s: %s", c->peer,
                           n == 0 ? "connection closed" : strerror(errno));
        c->in.len += (size_t)n;
    }
}

int ctl_open(struct ctlconn *c, const struct replica_addr *a, uint64_t cluster, int timeout_ms,
             struct proto_msg *welcome, struct err *e)
{
    struct proto_msg m;
    memset(c, 0, sizeof *c);
    buf_init(&c->in);
    addr_format(a, c->peer, sizeof c->peer);
    if ((c->fd = dial(a, timeout_ms, e)) < 0) {
        err_wrap(e, "%s", c->peer);
        return -1;
    }
    memset(&m, 0, sizeof m);
    m.type = MSG_HELLO;
    m.u.hello.version = PROTO_VERSION;
    m.u.hello.cluster = cluster;
    m.u.hello.role = ROLE_CTL;
    m.u.hello.replica = PROTO_NO_REPLICA;
    if (ctl_send(c, &m, timeout_ms, e) < 0 || ctl_recv(c, &m, timeout_ms, e) < 0)
        goto fail;
    if (m.type == MSG_ERROR) {
        err_set(e, ERR_REJECTED, "%s refused: %s", c->peer, m.u.error.msg.p);
        proto_msg_free(&m);
        goto fail;
    }
    if (m.type != MSG_WELCOME) {
        err_set(e, ERR_PROTOCOL, "%s: %s instead of WELCOME", c->peer, proto_type_name(m.type));
        proto_msg_free(&m);
        goto fail;
    }
    if (welcome)
        *welcome = m;
    else
        proto_msg_free(&m);
    return 0;
fail:
    ctl_close(c);
    return -1;
}

void ctl_close(struct ctlconn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    buf_close(&c->in);
}

int ctl_probe(const struct replica_addr *a, uint64_t cluster, int timeout_ms,
              struct proto_status *st, struct err *e)
{
    struct ctlconn c;
    struct proto_msg m;
    int rc = -1;
    memset(st, 0, sizeof *st);
    if (ctl_open(&c, a, cluster, timeout_ms, NULL, e) < 0)
        return -1;
    memset(&m, 0, sizeof m);
    m.type = MSG_PROBE;
    m.u.probe.req = 1;
    if (ctl_send(&c, &m, timeout_ms, e) < 0 || ctl_recv(&c, &m, timeout_ms, e) < 0)
        goto out;
    if (m.type != MSG_STATUS) {
        err_set(e, ERR_PROTOCOL, "%s: %s instead of STATUS", c.peer, proto_type_name(m.type));
        proto_msg_free(&m);
        goto out;
    }
    *st = m.u.status; /* ownership moves to the caller */
    rc = 0;
out:
    ctl_close(&c);
    return rc;
}
