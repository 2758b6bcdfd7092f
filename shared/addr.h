/* Replica addresses and the cluster id.
 *
 * A replica set is written as "host:port, host:port, ..." identically (same
 * order) in every replica's recalld.conf and every client's connection
 * string.  This module parses and validates such lists (hostnames, IPv4,
 * "[IPv6]:port"; odd count, at most ADDR_MAX_REPLICAS, no duplicates),
 * normalizes each address, and derives the 64-bit cluster id from the
 * normalized list so that a client or replica configured with a different
 * list is recognized at HELLO.  Pure functions, no I/O, no allocation.
 */
#ifndef RECALL_SHARED_ADDR_H
#define RECALL_SHARED_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Same value as VR_MAX_REPLICAS (server/vr.h); shared/ cannot include server/. */
#define ADDR_MAX_REPLICAS 15
/* Longest host name (RFC 1035 text form); IPv6 text with a zone fits too. */
#define ADDR_HOST_MAX 253
/* Buffer size that holds any formatted address: "[host]:65535" and a NUL. */
#define ADDR_STR_MAX (ADDR_HOST_MAX + 9)
/* Buffer size for a formatted cluster id: 16 hex digits and a NUL. */
#define ADDR_ID_STR_MAX 17

struct replica_addr {
    /* Normalized: host names and IPv4 lowercased as written; IPv6 in the
     * canonical inet_ntop form (lowercase, zero runs compressed) without
     * brackets, followed by "%zone" if one was given (zone kept as written). */
    char host[ADDR_HOST_MAX + 1];
    uint16_t port; /* 1..65535 */
    bool ipv6;     /* format with brackets */
};

/* Parse one "host:port" from s[0..len) (surrounding blanks are ignored).
 * Returns 0, or -1 with ERR_CONFIG in e saying what is wrong. */
int addr_parse(const char *s, size_t len, struct replica_addr *out, struct err *e);

/* Parse a comma-separated replica list from the NUL-terminated string s into
 * out[0..ADDR_MAX_REPLICAS), setting *n.  Fails (ERR_CONFIG, message naming
 * the entry) on a bad address, an empty entry, more than ADDR_MAX_REPLICAS
 * entries, a duplicate, or an even count (N must be 2f+1). */
int addr_parse_list(const char *s, struct replica_addr out[ADDR_MAX_REPLICAS],
                    size_t *n, struct err *e);

bool addr_equal(const struct replica_addr *a, const struct replica_addr *b);
/* Index of a in v[0..n), or -1. */
int addr_find(const struct replica_addr *v, size_t n, const struct replica_addr *a);

/* "host:port" or "[v6]:port" into out (always NUL-terminated when cap > 0).
 * Returns the length the full text has (as snprintf). */
int addr_format(const struct replica_addr *a, char *out, size_t cap);
/* Append "a:1,b:2,..." (the normalized list text the cluster id is computed
 * from) to out, followed by a NUL that is not counted in out->len.  Returns 0
 * or -1 when out ran out of memory. */
int addr_list_format(const struct replica_addr *v, size_t n, struct buf *out);

/* The cluster id: 64-bit FNV-1a over the text addr_list_format() produces,
 * with 0 (which means "no cluster id yet" elsewhere) mapped to 1.  Every
 * replica and client that lists the same replicas in the same order gets
 * the same id; a different order is a different cluster. */
uint64_t addr_cluster_id(const struct replica_addr *v, size_t n);
/* 16 lowercase hex digits into out[ADDR_ID_STR_MAX]; returns out. */
char *addr_cluster_id_format(uint64_t id, char out[ADDR_ID_STR_MAX]);

#endif
