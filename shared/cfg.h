/* recalld.conf: the replica server's configuration (DESIGN §8, docs/CONFIG.md).
 *
 * The file is "key = value" lines with '#' comments; every key, its default,
 * range and meaning is in one table in cfg.c (and in docs/CONFIG.md).  The
 * same setter parses file values and command-line overrides (--set
 * key=value), so both obey the same rules.  Loading checks each value on its
 * own; cfg_validate() then checks the whole (listen is one of the replicas,
 * required keys are set, timeouts are consistent) and derives `self` and the
 * cluster id.  Every error names where the value came from ("file:line" or
 * "--set"), the key, and what is wrong; hostile files (huge lines, NUL bytes,
 * garbage) get an error, never a crash.
 */
#ifndef RECALL_SHARED_CFG_H
#define RECALL_SHARED_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "err.h"

/* Every key, in the order cfg_format() prints them. */
#define CFG_KEYS(X)               \
    X(replicas)                   \
    X(listen)                     \
    X(backend)                    \
    X(data_dir)                   \
    X(stop_server)                \
    X(start_server)               \
    X(sync_path)                  \
    X(sync_cmd)                   \
    X(sync_options)               \
    X(debug)                      \
    X(log_file)                   \
    X(pid_file)                   \
    X(log_retain)                 \
    X(log_segment_size)           \
    X(max_frame)                  \
    X(max_entry)                  \
    X(heartbeat_ms)               \
    X(view_change_timeout_ms)     \
    X(max_clients)                \
    X(ddl_wait_ms)                \
    X(read_fence_timeout_ms)      \
    X(read_lock_wait_timeout)     \
    X(client_expiry)              \
    X(verify_interval)            \
    X(backend_timeout)            \
    X(start_timeout)

enum cfg_key {
#define CFG_KEY_ENUM_(name) CFG_KEY_##name,
    CFG_KEYS(CFG_KEY_ENUM_)
#undef CFG_KEY_ENUM_
    CFG_KEY__COUNT
};

/* Longest line in a configuration file, longest value, largest file read.
 * (A value at most CFG_VALUE_MAX long still fits a line when cfg_format
 * quotes and escapes it.) */
#define CFG_LINE_MAX (64u * 1024)
#define CFG_VALUE_MAX (16u * 1024)
#define CFG_FILE_MAX (4u * 1024 * 1024)
/* Bytes a PREPARE needs besides its entry: max_entry + this <= max_frame. */
#define CFG_FRAME_OVERHEAD 1024u
/* Room for "where a value came from": "path:line" or "--set". */
#define CFG_ORIGIN_MAX 160

struct cfg {
    struct replica_addr replicas[ADDR_MAX_REPLICAS];
    size_t nreplicas;             /* 0 until set */
    struct replica_addr listen;   /* port 0 until set */
    size_t self;                  /* index of listen in replicas: set by cfg_validate */
    uint64_t cluster_id;          /* addr_cluster_id(replicas): set by cfg_validate */

    /* Strings are owned (freed by cfg_free); NULL means unset or empty. */
    char *backend;                /* "mysql://user:pass@host:port/db" or "sqlite:/path/db" */
    char *data_dir;
    char *stop_server, *start_server; /* shell commands */
    char *sync_path;              /* backend datadir copied by state transfer */
    char *sync_cmd;               /* rsync's remote shell; NULL = local copy */
    char *sync_options;           /* extra rsync options (split at blanks), or NULL */
    char *log_file;               /* NULL = stderr */
    char *pid_file;               /* NULL = none */

    int debug;                    /* 0..3 */
    uint64_t log_retain_bytes;    /* 0 = no size bound */
    uint64_t log_retain_entries;  /* 0 = no count bound (never both 0) */
    uint64_t log_segment_size;    /* bytes per log segment file */
    uint64_t max_frame;           /* bytes, FRAME_MIN_MAX .. 1 GiB */
    uint64_t max_entry;           /* bytes; + CFG_FRAME_OVERHEAD <= max_frame */
    uint32_t heartbeat_ms;
    uint32_t view_change_timeout_ms;
    uint32_t max_clients;
    uint32_t ddl_wait_ms;
    uint32_t read_fence_timeout_ms;
    uint32_t read_lock_wait_timeout; /* seconds */
    uint32_t client_expiry;          /* seconds */
    uint32_t verify_interval;        /* seconds between automatic checksums (0 = off) */
    uint32_t backend_timeout;        /* seconds */
    uint32_t start_timeout;          /* seconds */

    /* Where each key's value came from ("path:line", "--set"); "" = default. */
    char origin[CFG_KEY__COUNT][CFG_ORIGIN_MAX];
};

/* Every field to its default (strings NULL).  Allocates nothing. */
void cfg_init_defaults(struct cfg *c);
/* Release the strings and reset to defaults. */
void cfg_free(struct cfg *c);

/* Set one key from its text value.  `source` says where the value came from
 * ("recalld.conf:12", "--set") and starts every error message.  The value is
 * checked on its own; on failure (ERR_CONFIG, or ERR_NOMEM) the previous
 * value is kept.  Unknown keys are an error that suggests the nearest key. */
int cfg_set(struct cfg *c, const char *key, const char *value, const char *source,
            struct err *e);
/* A command-line override "key=value" (blanks around both trimmed), with
 * source "--set". */
int cfg_set_arg(struct cfg *c, const char *arg, struct err *e);

/* Parse configuration text data[0..len) named `name` (for messages) and set
 * every key it contains.  A key given twice in the same text is an error
 * naming both lines.  Stops at the first error. */
int cfg_load_buffer(struct cfg *c, const char *name, const char *data, size_t len,
                    struct err *e);
/* cfg_load_buffer() on the contents of a file (at most CFG_FILE_MAX bytes). */
int cfg_load_file(struct cfg *c, const char *path, struct err *e);

/* Check the configuration as a whole, after every source was loaded:
 * replicas, listen, backend and data_dir are set, listen is one of the
 * replicas, a MySQL backend of a multi-replica set has sync_path,
 * stop_server and start_server, the timeouts and sizes agree.  Sets `self`
 * and `cluster_id`; for an SQLite backend without sync_path, sets it to the
 * directory holding the database file. */
int cfg_validate(struct cfg *c, struct err *e);

/* Append the whole configuration as recalld.conf text (every key, defaults
 * included), loadable again by cfg_load_buffer.  NUL-terminated after
 * out->len.  Includes the backend password: do not log it. */
int cfg_format(const struct cfg *c, struct buf *out);

/* Name of a key. */
const char *cfg_key_name(enum cfg_key k);

#endif
