/* Cluster-wide checksum comparison: every replica stops applying at one
 * op-number, sums each table, and the sums are compared.  Used by
 * `recallctl verify` and by the primary's periodic check, which asks the
 * replicas that disagree with the majority to repair themselves (whoever
 * disagrees with the majority is the one that repairs).
 */
#ifndef RECALL_SHARED_VERIFY_H
#define RECALL_SHARED_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "err.h"
#include "proto.h"

struct verify_result {
    uint64_t op;                           /* the op every answer was taken at */
    size_t n;
    bool answered[ADDR_MAX_REPLICAS];
    bool failed[ADDR_MAX_REPLICAS];        /* reachable, but its checksum failed
                                              (a damaged database, for instance) */
    char error[ADDR_MAX_REPLICAS][160];    /* why a replica did not answer */
    struct proto_list_kv sums[ADDR_MAX_REPLICAS]; /* (table, checksum), owned */
    int group[ADDR_MAX_REPLICAS];          /* replicas with identical sums share a group; -1 none */
    int majority;                          /* the group holding a majority of all replicas, or -1 */
};

/* Take the checksums (several attempts until every answer is at one op).
 * Returns 0 when at least one replica answered at a common op. */
int verify_cluster(const struct replica_addr *v, size_t n, uint64_t cluster, int timeout_ms,
                   struct verify_result *out, struct err *e);
void verify_result_free(struct verify_result *r);

#endif
