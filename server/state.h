/* The replica's small durable state: view, last normal view, persisted
 * commit number, replica index and cluster id (DESIGN.md section 6).
 *
 * The file `data_dir/state` is human-readable `key = value` text ending in
 * a CRC-32C checksum line (format in docs/STORAGE.md).  state_save replaces
 * it atomically: write `data_dir/state.tmp`, fsync it, rename it over
 * `state`, fsync the directory.  state_load refuses a damaged file with
 * ERR_CORRUPT and a message naming the problem; it never guesses zeros.
 *
 * Not thread-safe for concurrent saves to the same data_dir (recalld has one
 * writer).  A failed state_save (ERR_IO) leaves the previous file in place,
 * but the caller must not act on the new state; a failed fsync there is as
 * fatal as one in the log (restart recalld).
 */
#ifndef RECALL_SERVER_STATE_H
#define RECALL_SERVER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct replica_state {
    uint64_t view;
    uint64_t last_normal;
    uint64_t commit;
    uint32_t replica;
    uint64_t cluster;
};

#define STATE_FILE "state"
#define STATE_TMP_FILE "state.tmp"
#define STATE_MAX_BYTES 4096 /* a larger file is refused as damaged */

/* Read data_dir/state into *st.  No file: *found = false, *st zeroed, 0.
 * A leftover data_dir/state.tmp (a save interrupted by a crash) is removed.
 * Errors: ERR_CORRUPT (damaged file, message says how), ERR_IO. */
int state_load(const char *data_dir, struct replica_state *st, bool *found,
               struct err *e);

/* Write *st to data_dir/state atomically and durably. */
int state_save(const char *data_dir, const struct replica_state *st, struct err *e);

/* Format *st as the file's text into out (at least STATE_MAX_BYTES); returns
 * the length.  Exposed for tests. */
size_t state_format(const struct replica_state *st, char *out, size_t cap);

/* Parse the file's text; ERR_CORRUPT with the problem on failure.  `what`
 * names the source in messages. */
int state_parse(const char *text, size_t len, const char *what,
                struct replica_state *st, struct err *e);

#endif
