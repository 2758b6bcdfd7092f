/* A running replica: recalld's event loop around the VR core.
 *
 * replica_open() brings a replica up from its data_dir and backend: loads
 * the state file and the log, checks that both belong to this cluster and
 * this replica, starts the applier and the log-sync thread, listens, and
 * links to every peer.  replica_run() runs the event loop until
 * replica_stop() (SIGTERM) or a fatal error.
 */
#ifndef RECALL_SERVER_REPLICA_H
#define RECALL_SERVER_REPLICA_H

#include <event2/event.h>

#include "cfg.h"
#include "err.h"

struct replica;

/* cfg must outlive the replica. */
struct replica *replica_open(const struct cfg *cfg, struct event_base *base, struct err *e);
/* Run until stopped.  Returns 0 after a clean stop, -1 after a fatal error
 * (e says which). */
int replica_run(struct replica *r, struct err *e);
/* Ask the loop to stop (safe from a signal callback on the loop). */
void replica_stop(struct replica *r);
void replica_close(struct replica *r);

#endif
