/* The replica state file: formatting, strict parsing and an atomic, durable
 * replace (temp file, fsync, rename, fsync of the directory).
 *
 * Failure modes: any failure before the rename leaves the old file untouched
 * and removes the temp file; a failed directory fsync after the rename
 * leaves the new file in place but not known durable, and is reported like
 * any other failure.  Loading refuses anything that does not parse exactly,
 * including a file whose checksum line is missing or wrong.  See state.h.
 */
#include "config.h"

#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "fault.h"

#define STATE_FORMAT_VERSION 1
#define STATE_HEADER "# Recall replica state, written by recalld. Do not edit: " \
                     "the checksum covers every line above it.\n"

enum state_key { K_FORMAT, K_VIEW, K_LAST_NORMAL, K_COMMIT, K_REPLICA, K_CLUSTER, K__COUNT };
static const char *const state_keys[K__COUNT] = {
    "format", "view", "last_normal", "commit", "replica", "cluster",
};

size_t state_format(const struct replica_state *st, char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     STATE_HEADER
                     "format = %d\n"
                     "view = %" PRIu64 "\n"
                     "last_normal = %" PRIu64 "\n"
                     "commit = %" PRIu64 "\n"
                     "replica = %" PRIu32 "\n"
                     "cluster = 0x%016" PRIx64 "\n",
                     STATE_FORMAT_VERSION, st->view, st->last_normal, st->commit,
                     st->replica, st->cluster);
    size_t len;
    if (n < 0 || (size_t)n >= cap)
        return 0;
    len = (size_t)n;
    n = snprintf(out + len, cap - len, "checksum = 0x%08" PRIx32 "\n",
                 crc32c(0, out, len));
    if (n < 0 || (size_t)n >= cap - len)
        return 0;
    return len + (size_t)n;
}

/* Strict unsigned parse of p[0..n): decimal, or hex with 0x. */
static bool parse_u64(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
        n -= 2;
    }
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned d;
        char c = p[i];
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

int state_parse(const char *text, size_t len, const char *what,
                struct replica_state *st, struct err *e)
{
    uint64_t vals[K__COUNT] = {0}, sum;
    bool seen[K__COUNT] = {false};
    size_t body, lineno = 0;
    const char *p, *end;
    static const char ck[] = "checksum = ";

    if (len > STATE_MAX_BYTES)
        return err_set(e, ERR_CORRUPT, "%s: larger than %d bytes", what, STATE_MAX_BYTES);
    if (memchr(text, '\0', len))
        return err_set(e, ERR_CORRUPT, "%s: contains a NUL byte", what);
    if (len == 0 || text[len - 1] != '\n')
        return err_set(e, ERR_CORRUPT, "%s: does not end with a newline (truncated?)", what);
    /* The checksum line is the last line. */
    body = len - 1;
    while (body > 0 && text[body - 1] != '\n')
        body--;
    if (len - body < sizeof ck - 1 || memcmp(text + body, ck, sizeof ck - 1) != 0)
        return err_set(e, ERR_CORRUPT, "%s: the last line is not its checksum (truncated?)",
                       what);
    if (!parse_u64(text + body + sizeof ck - 1, len - 1 - body - (sizeof ck - 1), &sum) ||
        sum > UINT32_MAX)
        return err_set(e, ERR_CORRUPT, "%s: malformed checksum line", what);
    if ((uint32_t)sum != crc32c(0, text, body))
        return err_set(e, ERR_CORRUPT,
                       "%s: checksum mismatch (the file is damaged: stored 0x%08" PRIx32
                       ", computed 0x%08" PRIx32 ")", what, (uint32_t)sum,
                       crc32c(0, text, body));

    for (p = text; p < text + body; p = end + 1) {
        const char *eq, *k, *ke, *v, *ve;
        int key = -1;
        end = memchr(p, '\n', (size_t)(text + body - p));
        lineno++;
        k = p;
        while (k < end && is_space(*k))
            k++;
        if (k == end || *k == '#')
            continue;
        eq = memchr(k, '=', (size_t)(end - k));
        if (!eq)
            return err_set(e, ERR_CORRUPT, "%s: line %zu: expected 'key = value'", what, lineno);
        ke = eq;
        while (ke > k && is_space(ke[-1]))
            ke--;
        v = eq + 1;
        while (v < end && is_space(*v))
            v++;
        ve = end;
        while (ve > v && is_space(ve[-1]))
            ve--;
        for (int i = 0; i < K__COUNT; i++)
            if ((size_t)(ke - k) == strlen(state_keys[i]) &&
                memcmp(k, state_keys[i], (size_t)(ke - k)) == 0)
                key = i;
        if (key < 0)
            return err_set(e, ERR_CORRUPT, "%s: line %zu: unknown key '%.*s'", what,
                           lineno, (int)(ke - k), k);
        if (seen[key])
            return err_set(e, ERR_CORRUPT, "%s: line %zu: duplicate key '%s'", what,
                           lineno, state_keys[key]);
        if (!parse_u64(v, (size_t)(ve - v), &vals[key]))
            return err_set(e, ERR_CORRUPT, "%s: line %zu: bad value for '%s'", what,
                           lineno, state_keys[key]);
        seen[key] = true;
    }
    for (int i = 0; i < K__COUNT; i++)
        if (!seen[i])
            return err_set(e, ERR_CORRUPT, "%s: missing key '%s'", what, state_keys[i]);
    if (vals[K_FORMAT] != STATE_FORMAT_VERSION)
        return err_set(e, ERR_CORRUPT, "%s: unsupported format %" PRIu64, what,
                       vals[K_FORMAT]);
    if (vals[K_REPLICA] > UINT32_MAX)
        return err_set(e, ERR_CORRUPT, "%s: replica index out of range", what);
    if (vals[K_LAST_NORMAL] > vals[K_VIEW])
        return err_set(e, ERR_CORRUPT, "%s: last_normal %" PRIu64 " is above view %" PRIu64,
                       what, vals[K_LAST_NORMAL], vals[K_VIEW]);
    st->view = vals[K_VIEW];
    st->last_normal = vals[K_LAST_NORMAL];
    st->commit = vals[K_COMMIT];
    st->replica = (uint32_t)vals[K_REPLICA];
    st->cluster = vals[K_CLUSTER];
    return 0;
}

static int make_path(char *out, size_t cap, const char *dir, const char *file,
                     struct err *e)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= cap)
        return err_set(e, ERR_INVALID, "state: path too long: %s/%s", dir, file);
    return 0;
}

int state_load(const char *data_dir, struct replica_state *st, bool *found,
               struct err *e)
{
    char path[PATH_MAX], tmp[PATH_MAX], text[STATE_MAX_BYTES + 1];
    size_t len = 0;
    int fd;

    memset(st, 0, sizeof *st);
    *found = false;
    if (make_path(path, sizeof path, data_dir, STATE_FILE, e) < 0 ||
        make_path(tmp, sizeof tmp, data_dir, STATE_TMP_FILE, e) < 0)
        return -1;
    /* A temp file is only ever a save that did not reach its rename. */
    if (unlink(tmp) < 0 && errno != ENOENT)
        return err_set_errno(e, errno, "state: removing the leftover %s", tmp);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return err_set_errno(e, errno, "state: opening %s", path);
    }
    while (len < sizeof text) {
        ssize_t r = read(fd, text + len, sizeof text - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            err_set_errno(e, errno, "state: reading %s", path);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (state_parse(text, len, path, st, e) < 0) {
        memset(st, 0, sizeof *st);
        return -1;
    }
    *found = true;
    return 0;
}

static int write_full(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (r == 0)
            return EIO;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int state_save(const char *data_dir, const struct replica_state *st, struct err *e)
{
    char path[PATH_MAX], tmp[PATH_MAX], text[STATE_MAX_BYTES];
    size_t len;
    int fd, dfd, en = 0;

    if (make_path(path, sizeof path, data_dir, STATE_FILE, e) < 0 ||
        make_path(tmp, sizeof tmp, data_dir, STATE_TMP_FILE, e) < 0)
        return -1;
    if (st->last_normal > st->view)
        return err_set(e, ERR_INVALID,
                       "state: last_normal %" PRIu64 " is above view %" PRIu64,
                       st->last_normal, st->view);
    len = state_format(st, text, sizeof text);
    if (len == 0)
        return err_set(e, ERR_INTERNAL, "state: formatting failed");

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set_errno(e, errno, "state: creating %s", tmp);
    if (!fault_hit(FAULT_STATE_WRITE, &en))
        en = write_full(fd, text, len);
    if (en) {
        err_set_errno(e, en, "state: writing %s", tmp);
        goto err_after_create;
    }
    if (!fault_hit(FAULT_STATE_FSYNC, &en) && fsync(fd) < 0)
        en = errno;
    if (en) {
        err_set_errno(e, en, "state: fsync of %s", tmp);
        goto err_after_create;
    }
    if (close(fd) < 0) {
        fd = -1;
        err_set_errno(e, errno, "state: closing %s", tmp);
        goto err_after_create;
    }
    fd = -1;
    if (!fault_hit(FAULT_STATE_RENAME, &en) && rename(tmp, path) < 0)
        en = errno;
    if (en) {
        err_set_errno(e, en, "state: renaming %s to %s", tmp, path);
        goto err_after_create;
    }
    dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return err_set_errno(e, errno, "state: opening %s", data_dir);
    if (!fault_hit(FAULT_STATE_FSYNC, &en) && fsync(dfd) < 0)
        en = errno;
    close(dfd);
    if (en)
        return err_set_errno(e, en, "state: fsync of the directory %s", data_dir);
    return 0;

err_after_create:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}
