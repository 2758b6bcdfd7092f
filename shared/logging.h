/* Leveled logging for recalld and the tools.
 *
 * One process-wide log: a file opened in append mode, or stderr.  Each line
 * is "2026-11-26T12:13:46.123Z [tag] LEVEL message\n" (UTC, milliseconds),
 * formatted on the stack and written with a single write(2), so lines from
 * concurrent threads never interleave (messages longer than LOG_LINE_MAX
 * are truncated and end in "...").  Control characters in a message are
 * escaped (\n, \t, \xNN) so that text from the network cannot forge lines.
 * Logging allocates nothing; log_enabled() is one relaxed atomic load, and
 * the log_<level>() macros do not evaluate their arguments when the level
 * is disabled.
 *
 * Thread safety: logging and log_set_level() may be called from any thread.
 * log_open(), log_reopen() and log_close() may run while other threads log
 * (once a file is open, its descriptor number stays fixed and is replaced
 * atomically with dup3(2), so no line goes to a closed or reused
 * descriptor), but must not run concurrently with each other.
 * log_set_tag() must be called before other threads start logging.  None of
 * these functions is meant for a signal handler: on SIGHUP, set a flag (or
 * use a libevent signal event) and call log_reopen() from the event loop.
 */
#ifndef RECALL_SHARED_LOGGING_H
#define RECALL_SHARED_LOGGING_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "err.h"

/* Named LOG_LEVEL_* because <syslog.h> owns LOG_INFO and LOG_DEBUG. */
enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN = 1,
    LOG_LEVEL_INFO = 2,
    LOG_LEVEL_DEBUG = 3,
    LOG_LEVEL_TRACE = 4
};

/* Longest line written, newline included. */
#define LOG_LINE_MAX 4096
/* Longest tag kept by log_set_tag(). */
#define LOG_TAG_MAX 31

/* The current level; read through log_enabled().  Default: LOG_LEVEL_INFO. */
extern atomic_int log_level_current;

static inline bool log_enabled(enum log_level level)
{
    return (int)level <= atomic_load_explicit(&log_level_current, memory_order_relaxed);
}

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "error", "warn", "info", "debug", "trace". */
const char *log_level_name(enum log_level level);
/* Parse a level name (case-insensitive; "warning" is accepted too).
 * Returns 0, or -1 if the name is unknown. */
int log_level_parse(const char *name, enum log_level *out);
/* The level for recalld.conf's `debug` setting: 0 -> info, 1 -> debug,
 * 2 and 3 -> trace. */
enum log_level log_level_from_debug(int debug);

/* Log to the file at path (created 0640 if missing, appended to), or to
 * stderr when path is NULL, "" or "-".  Returns 0, or -1 with ERR_IO in e
 * (the previous destination stays in use). */
int log_open(const char *path, struct err *e);
/* Reopen the file named in the last log_open() (after log rotation).  No-op
 * when logging to stderr.  On failure the old file stays in use and -1 is
 * returned with e set.  Call from normal context, not a signal handler. */
int log_reopen(struct err *e);
/* Close the file and go back to stderr. */
void log_close(void);
/* Tag written after the timestamp, e.g. "r1" for replica 1; NULL or "" for
 * none.  Longer tags are truncated to LOG_TAG_MAX bytes. */
void log_set_tag(const char *tag);

/* Write one line at `level` (whether or not it is enabled: callers use the
 * macros below, which check first). */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define LOG_AT_(level, ...)                 \
    do {                                    \
        if (log_enabled(level))             \
            log_msg(level, __VA_ARGS__);    \
    } while (0)
#define log_error(...) LOG_AT_(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) LOG_AT_(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) LOG_AT_(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT_(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_trace(...) LOG_AT_(LOG_LEVEL_TRACE, __VA_ARGS__)

#endif
