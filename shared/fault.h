/* Fault injection by countdown, for tests: make the Nth write/fsync/rename at
 * a named point fail with a chosen errno, or make every operation at a point
 * slow (a "slow disk").
 *
 * Production code calls fault_hit() right before the real operation and fails
 * as if the operation had returned -1 with that errno.  When nothing is armed
 * the call is one relaxed atomic load.  Arming and hitting are thread-safe;
 * the settings are process-wide (tests fork or call fault_reset() between
 * cases).
 *
 * To add a point, add one X() line to FAULT_TABLE: the enum constant
 * FAULT_<NAME> and the name used by fault_point_by_name() follow from it.
 */
#ifndef RECALL_SHARED_FAULT_H
#define RECALL_SHARED_FAULT_H

#include <stdbool.h>

/* X(NAME, "name") */
#define FAULT_TABLE(X)                    \
    X(WAL_WRITE,    "wal_write")          \
    X(WAL_FSYNC,    "wal_fsync")          \
    X(WAL_OPEN,     "wal_open")           \
    X(STATE_WRITE,  "state_write")        \
    X(STATE_FSYNC,  "state_fsync")        \
    X(STATE_RENAME, "state_rename")

enum fault_point {
#define FAULT_ENUM_(name, str) FAULT_##name,
    FAULT_TABLE(FAULT_ENUM_)
#undef FAULT_ENUM_
    FAULT__COUNT
};

/* The countdown-th call of fault_hit(p) from now (1 = the next one) fails
 * with errno err_no; countdown 0 disarms p.  The point disarms itself after
 * it fired once. */
void fault_arm(enum fault_point p, unsigned countdown, int err_no);

/* Called at the point, right before the real operation.  Sleeps first if a
 * delay is set for p.  Returns true (and sets *err_no) when the operation
 * must fail now. */
bool fault_hit(enum fault_point p, int *err_no);

/* Slow-disk switch: every fault_hit(p) sleeps `us` microseconds first; 0
 * turns it off. */
void fault_set_delay_us(enum fault_point p, unsigned us);

/* How many times fault_hit(p) has been called while anything was armed or
 * delayed at p (for tests that check a point is reached). */
unsigned long fault_calls(enum fault_point p);

/* Disarm everything, clear every delay and counter. */
void fault_reset(void);

/* "wal_fsync" -> FAULT_WAL_FSYNC; FAULT__COUNT if unknown. */
enum fault_point fault_point_by_name(const char *name);
const char *fault_point_name(enum fault_point p);

#endif
