/* A small blocking client for the control role of the wire protocol:
 * connect to one replica with a timeout, HELLO as ROLE_CTL, then exchange
 * messages one at a time.  Used by recallctl and by a recovering replica
 * talking to its state-transfer donor; neither needs librecall's quorum
 * machinery, and both must work when the cluster has no primary.
 */
#ifndef RECALL_SHARED_CTLCLIENT_H
#define RECALL_SHARED_CTLCLIENT_H

#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "err.h"
#include "proto.h"

struct ctlconn {
    int fd;
    struct buf in; /* owned: bytes received, not yet decoded */
    char peer[ADDR_STR_MAX];
};

/* Connect and HELLO (role CTL, the given cluster id); on success the
 * replica's WELCOME is in *welcome (free it) unless welcome is NULL. */
int ctl_open(struct ctlconn *c, const struct replica_addr *a, uint64_t cluster,
             int timeout_ms, struct proto_msg *welcome, struct err *e);
void ctl_close(struct ctlconn *c);
int ctl_send(struct ctlconn *c, const struct proto_msg *m, int timeout_ms, struct err *e);
/* Receive one message (owned by the caller on success). */
int ctl_recv(struct ctlconn *c, struct proto_msg *m, int timeout_ms, struct err *e);
/* PROBE -> STATUS on a fresh connection. */
int ctl_probe(const struct replica_addr *a, uint64_t cluster, int timeout_ms,
              struct proto_status *st, struct err *e);

#endif
