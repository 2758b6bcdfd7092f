/* State transfer by rsync (DESIGN.md section 7): how a replica whose
 * database is missing, diverged, or behind every peer's log gets a copy of a
 * donor's database while the cluster keeps serving.
 *
 * The recipient runs transfer_start()'s worker thread while its own backend
 * is closed and its VR core is set aside (it neither acknowledges nor votes):
 *   1. choose a donor: an up-to-date backup in normal status of the highest
 *      view, the primary only when nothing else can serve;
 *   2. stop its own database server (stop_server), ask the donor for its
 *      path (SYNC_REQUEST BULK) and copy while the donor keeps running
 *      (rsync -a, a bulk inconsistent copy);
 *   3. ask the donor to pause applying and stop its database cleanly
 *      (SYNC_REQUEST FINAL): it keeps logging and acknowledging; copy again
 *      with --checksum;
 *   4. release the donor (SYNC_REQUEST DONE; closing the connection does the
 *      same), start its own database server (start_server), and report
 *      success: the caller reopens the backend, drops its log, and rejoins
 *      through VR recovery.
 * Failures (rsync error, donor death, disk full, hook failure) are retried
 * with backoff, with another donor when possible; the replica stays out of
 * service meanwhile.  Progress (phase, bytes, rate, ETA) is readable at any
 * time with transfer_progress().
 *
 * The donor side is driven by the caller's event loop; this module provides
 * the pieces both sides share: running hooks and rsync, the cluster marker
 * that guards rsync's --delete, and what a replica offers to copy.
 */
#ifndef RECALL_SERVER_TRANSFER_H
#define RECALL_SERVER_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "err.h"

struct transfer;

struct transfer_progress {
    bool active;
    char phase[32];            /* choosing-donor, bulk-copy, waiting-donor, final-copy, starting, done, failed */
    int donor;                 /* replica index or -1 */
    uint64_t bytes;            /* copied in the current pass */
    uint64_t total;            /* bytes to copy in the current pass (estimate), 0 if unknown */
    double rate;               /* bytes per second */
    int eta_s;                 /* -1 if unknown */
    unsigned attempt;
    char error[256];           /* last failure, "" if none */
};

/* Called from the worker thread when the copy is complete (ok) or an
 * attempt failed (it will retry by itself).  Runs on the worker thread. */
typedef void (*transfer_done_cb)(void *arg, uint64_t donor_applied);

/* Start the worker (the caller has closed its backend).  NULL on failure. */
struct transfer *transfer_start(const struct cfg *cfg, transfer_done_cb done, void *arg,
                                struct err *e);
/* Stop the worker (waits for it; kills a running rsync or hook). */
void transfer_stop(struct transfer *t);
void transfer_progress(struct transfer *t, struct transfer_progress *out);

/* What this replica offers to copy: the database file (SQLite) or the
 * whole server datadir with a trailing slash (MySQL).  Returns 0 and fills
 * path, or -1 if it has nothing sound to offer (e.g. the marker is missing). */
int transfer_source_path(const struct cfg *cfg, char *path, size_t cap, struct err *e);
/* Write this cluster's marker into a MySQL sync_path if it is missing. */
int transfer_marker_ensure(const struct cfg *cfg, struct err *e);
/* Run a hook (stop_server / start_server) through sh -c, bounded by the
 * configured start_timeout; its output goes to the log. */
int transfer_run_hook(const char *what, const char *cmd, unsigned timeout_s, struct err *e);

#endif
