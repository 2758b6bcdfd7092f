/* recalld's transport: framed protocol messages over TCP with libevent.
 *
 * One small interface (so TLS can slot in later): a listener that accepts
 * connections, outgoing links to peers that reconnect with backoff, and for
 * every connection: decoded messages in (net_msg_cb), messages or pre-framed
 * bytes out.  All of it runs on the event-loop thread.
 *
 * Happy path: accept -> bytes arrive -> frame header checked against
 * max_frame before the payload is buffered -> payload decoded -> msg_cb.
 * Failure modes: oversized or malformed frame, decode error, peer reset,
 * output backlog beyond the limit -> the connection is closed with a logged
 * reason and close_cb runs once.  A connection is never freed inside its own
 * callbacks: net_close() marks it and a deferred event frees it.
 */
#ifndef RECALL_SERVER_NET_H
#define RECALL_SERVER_NET_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "proto.h"

struct net;
struct net_conn;

struct net_callbacks {
    /* A decoded message.  The message is freed after the call returns.
     * The callback may call net_close() on the connection. */
    void (*msg_cb)(struct net_conn *c, struct proto_msg *m, void *arg);
    /* The connection is closing (called once; data pointer still valid). */
    void (*close_cb)(struct net_conn *c, void *arg);
    /* An outgoing link connected (send HELLO now). */
    void (*connected_cb)(struct net_conn *c, void *arg);
    void *arg;
};

struct net_options {
    uint32_t max_frame;          /* hard cap on incoming and outgoing frames */
    size_t max_output;           /* close a connection whose unsent output exceeds this */
};

struct net *net_new(struct event_base *base, const struct net_options *opt,
                    const struct net_callbacks *cb, struct err *e);
void net_free(struct net *n);

/* Listen on host:port. */
int net_listen(struct net *n, const char *host, uint16_t port, struct err *e);

/* An outgoing link that connects to host:port and reconnects with backoff
 * after failures until net_close() or net_free().  `tag` is free for the
 * caller (e.g. the peer index). */
struct net_conn *net_link(struct net *n, const char *host, uint16_t port, uint64_t tag);

/* Send: encodes, frames and queues m.  Returns -1 if the connection is not
 * up or the message exceeds max_frame (logged); the message is not
 * consumed either way. */
int net_send(struct net_conn *c, const struct proto_msg *m);
/* Queue bytes that are already framed. */
int net_send_raw(struct net_conn *c, const void *p, size_t len);
/* Close with a reason (logged).  Outgoing links reconnect later unless
 * `final`. */
void net_close(struct net_conn *c, bool final, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An outgoing link that is waiting to reconnect tries again now, with its
 * backoff reset (the peer just showed it is up). */
void net_link_kick(struct net_conn *c);

/* Stop reading and close once everything queued is sent (refusals). */
void net_close_after_send(struct net_conn *c);

bool net_is_up(const struct net_conn *c);
bool net_is_link(const struct net_conn *c);
uint64_t net_conn_id(const struct net_conn *c);   /* unique for the process life */
uint64_t net_conn_tag(const struct net_conn *c);
const char *net_conn_peer(const struct net_conn *c); /* "127.0.0.1:4321" */
size_t net_conn_backlog(const struct net_conn *c);   /* unsent bytes */
/* Caller data attached to a connection. */
void net_set_data(struct net_conn *c, void *data);
void *net_get_data(const struct net_conn *c);
/* Find a live connection by id (NULL if gone). */
struct net_conn *net_find(struct net *n, uint64_t id);

/* Close every connection and the listeners (shutdown). */
void net_shutdown(struct net *n);

#endif
