/* Leveled logging: one line, one write(2).  See logging.h.
 *
 * The descriptor lines go to is an atomic int.  Until the first log_open()
 * of a file it is stderr; from then on it is `own_fd`, a descriptor number
 * this module keeps for the life of the process: reopening (rotation) and
 * closing replace what that number refers to with dup3(2) instead of
 * closing it, so a thread that loaded the number a moment earlier still
 * writes to a valid file.
 */
#include "config.h"

#include "logging.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

atomic_int log_level_current = LOG_LEVEL_INFO;

static atomic_int log_fd = STDERR_FILENO;
static int own_fd = -1;          /* our stable descriptor once a file was opened */
static char log_path[PATH_MAX];  /* absolute path of the file, "" for stderr */
static char log_tag[LOG_TAG_MAX + 1];

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};
static const char *const level_labels[] = {"ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"};

void log_set_level(enum log_level level)
{
    if ((int)level < LOG_LEVEL_ERROR)
        level = LOG_LEVEL_ERROR;
    if ((int)level > LOG_LEVEL_TRACE)
        level = LOG_LEVEL_TRACE;
    atomic_store_explicit(&log_level_current, (int)level, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load_explicit(&log_level_current, memory_order_relaxed);
}

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level > LOG_LEVEL_TRACE)
        return "unknown";
    return level_names[level];
}

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i <= LOG_LEVEL_TRACE; i++)
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    if (strcasecmp(name, "warning") == 0) {
        *out = LOG_LEVEL_WARN;
        return 0;
    }
    return -1;
}

enum log_level log_level_from_debug(int debug)
{
    if (debug <= 0)
        return LOG_LEVEL_INFO;
    if (debug == 1)
        return LOG_LEVEL_DEBUG;
    return LOG_LEVEL_TRACE;
}

/* Make path absolute (relative to the current directory now), so that a
 * reopen after the daemon changed directory opens the same file. */
static int absolute_path(const char *path, char out[PATH_MAX], struct err *e)
{
    size_t plen = strlen(path);
    if (path[0] == '/') {
        if (plen >= PATH_MAX)
            return err_set(e, ERR_IO, "log file name too long");
        memcpy(out, path, plen + 1);
        return 0;
    }
    if (!getcwd(out, PATH_MAX))
        return err_set_errno(e, errno, "log file %s: cannot resolve the current directory",
                             path);
    size_t clen = strlen(out);
    if (clen + 1 + plen >= PATH_MAX)
        return err_set(e, ERR_IO, "log file name too long");
    out[clen] = '/';
    memcpy(out + clen + 1, path, plen + 1);
    return 0;
}

static int open_file(const char *path, struct err *e)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0)
        return err_set_errno(e, errno, "cannot open log file %s", path);
    return fd;
}

/* Point our stable descriptor at what fd refers to; consumes fd. */
static int install(int fd, struct err *e)
{
    if (own_fd < 0) {
        own_fd = fd;
    } else {
        if (dup3(fd, own_fd, O_CLOEXEC) < 0) {
            int saved = errno;
            close(fd);
            return err_set_errno(e, saved, "log: dup3");
        }
        close(fd);
    }
    atomic_store(&log_fd, own_fd);
    return 0;
}

int log_open(const char *path, struct err *e)
{
    char abs[PATH_MAX];
    int fd;

    if (!path || !*path || strcmp(path, "-") == 0) {
        log_close();
        return 0;
    }
    if (absolute_path(path, abs, e) < 0)
        return -1;
    fd = open_file(abs, e);
    if (fd < 0)
        return -1;
    if (install(fd, e) < 0)
        return -1;
    memcpy(log_path, abs, sizeof log_path);
    return 0;
}

int log_reopen(struct err *e)
{
    int fd;
    if (!log_path[0])
        return 0;
    fd = open_file(log_path, e);
    if (fd < 0)
        return -1;
    return install(fd, e);
}

void log_close(void)
{
    log_path[0] = '\0';
    if (own_fd < 0)
        return;
    /* Keep own_fd open (a thread may be about to write to it) but make it
     * another name for stderr. */
    if (dup3(STDERR_FILENO, own_fd, O_CLOEXEC) < 0)
        atomic_store(&log_fd, STDERR_FILENO);
}

void log_set_tag(const char *tag)
{
    size_t n = tag ? strlen(tag) : 0;
    if (n > LOG_TAG_MAX)
        n = LOG_TAG_MAX;
    if (n)
        memcpy(log_tag, tag, n);
    log_tag[n] = '\0';
}

/* Copy msg into out[0..cap), escaping control characters; returns the bytes
 * written, and sets *cut if msg did not fit. */
static size_t escape_into(char *out, size_t cap, const char *msg, size_t mlen, bool *cut)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < mlen; i++) {
        unsigned char c = (unsigned char)msg[i];
        char tmp[4];
        size_t n;
        if (c >= 0x20 && c != 0x7f) {
            tmp[0] = (char)c;
            n = 1;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            tmp[0] = '\\';
            tmp[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
            n = 2;
        } else {
            tmp[0] = '\\';
            tmp[1] = 'x';
            tmp[2] = hex[c >> 4];
            tmp[3] = hex[c & 15];
            n = 4;
        }
        if (o + n > cap) {
            *cut = true;
            break;
        }
        memcpy(out + o, tmp, n);
        o += n;
    }
    return o;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX], msg[LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    size_t len, mlen, room;
    int n, saved_errno = errno, fd;
    bool cut = false;

    if ((unsigned)level > LOG_LEVEL_TRACE)
        level = LOG_LEVEL_ERROR;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s%s%s ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, (int)(ts.tv_nsec / 1000000), log_tag, log_tag[0] ? " " : "",
                 level_labels[level]);
    len = n > 0 && (size_t)n < sizeof line ? (size_t)n : 0;

    n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0) {
        mlen = 0;
    } else if ((size_t)n >= sizeof msg) {
        mlen = sizeof msg - 1;
        cut = true;
    } else {
        mlen = (size_t)n;
    }
    /* Leave room for "...\n". */
    room = sizeof line - len - 4;
    len += escape_into(line + len, room, msg, mlen, &cut);
    if (cut) {
        memcpy(line + len, "...", 3);
        len += 3;
    }
    line[len++] = '\n';

    fd = atomic_load(&log_fd);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, line + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break; /* nowhere to report it */
        }
        off += (size_t)w;
    }
    errno = saved_errno;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
