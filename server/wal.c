/* The replication log: segment files of CRC-checked records, an in-memory
 * index (op -> file offset), leader/follower group commit, and recovery.
 *
 * Happy path of an append: under the mutex, check the op, roll over to a new
 * segment if the current one is full (sync the old one, create the new one,
 * fsync it and the directory), pwritev the record at the end of the current
 * segment and index it.  A sync either finds its op already durable, waits
 * for the running fdatasync (if that covers the op), or becomes the leader:
 * it notes the last appended op, fdatasyncs a dup of the current segment's
 * descriptor without the mutex (appends go on meanwhile) and then publishes
 * the new durable op, waking the callers it covered and one caller of the
 * next round, who leads it.
 *
 * Failure modes: a failed or short write is cut back with ftruncate and
 * reported (the log stays usable); a failed fsync/fdatasync, or a cut-back
 * that itself fails, poisons the handle (every later call fails: after
 * fsyncgate the page cache cannot be trusted).  At open, damage at the end of
 * the last segment that no valid record follows is a torn tail and is cut;
 * any other damage is ERR_CORRUPT.  See docs/STORAGE.md.
 */
#include "config.h"

#include "wal.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crc32c.h"
#include "fault.h"
#include "frame.h"
#include "logging.h"

#define WAL_MAGIC "RECALLWL"
#define WAL_VERSION 1u
#define WAL_NAME_DIGITS 20
#define WAL_NAME_LEN (WAL_NAME_DIGITS + 4) /* "<20 digits>.seg" */
/* How many payload bytes recovery may checksum while looking for a valid
 * record behind a damaged one (to tell a torn tail from corruption). */
#define WAL_TAIL_SEARCH_BUDGET (256ull * 1024 * 1024)

struct wal_seg {
    uint64_t first_op;
    uint64_t count;  /* records in the segment */
    uint64_t *offs;  /* owned: file offset of record i, i < count */
    uint64_t cap;    /* allocated entries of offs */
    uint64_t size;   /* bytes in use: header + records */
};

struct wal {
    pthread_mutex_t mu;   /* guards everything below except the atomics */
    /* Group commit: callers wait on the futex word round_seq with the bit of
     * the round they need (bit r % 32); it is incremented at every round's
     * end, which wakes that round's bit. */
    atomic_uint round_seq;
    pthread_cond_t idle_cv; /* a sync finished (truncate/reset wait for it) */
    char *dir;              /* owned */
    int dir_fd;             /* owned; holds the flock */
    uint64_t segment_bytes;
    uint32_t max_record;

    struct wal_seg *segs;   /* owned; ascending, gap-free; the last is written */
    size_t nsegs, segs_cap;
    int cur_fd;             /* owned: the last segment, read-write; -1 if none */
    int rd_fd;              /* owned: cached read-only fd of segment rd_first */
    uint64_t rd_first;
    uint64_t next_op;       /* op of the next append; 0 = any (no segment) */
    uint64_t durable;       /* every op <= durable is on stable storage */

    bool sync_running;      /* a leader is in fdatasync */
    uint64_t sync_round;    /* number of rounds started */
    uint64_t sync_target;   /* the running round covers ops <= sync_target */
    bool next_waiters;      /* callers wait for the round after it */
    unsigned idle_waiters;

    bool poisoned;
    char poison_msg[256];
    char report[512];

    _Atomic uint64_t a_first, a_last, a_durable, a_next, a_syncs;
    atomic_bool a_poisoned;
};

/* ------------------------------------------------------------ helpers */

static void put_u64be(unsigned char *p, uint64_t v)
{
    buf_put_u32be(p, (uint32_t)(v >> 32));
    buf_put_u32be(p + 4, (uint32_t)v);
}

static uint64_t get_u64be(const unsigned char *p)
{
    return (uint64_t)buf_get_u32be(p) << 32 | buf_get_u32be(p + 4);
}

static void seg_name(char out[WAL_NAME_LEN + 1], uint64_t first_op)
{
    snprintf(out, WAL_NAME_LEN + 1, "%020" PRIu64 ".seg", first_op);
}

/* Parse "<20 digits>.seg"; false for any other name. */
static bool seg_parse_name(const char *name, uint64_t *first_op)
{
    uint64_t v = 0;
    if (strlen(name) != WAL_NAME_LEN || strcmp(name + WAL_NAME_DIGITS, ".seg") != 0)
        return false;
    for (int i = 0; i < WAL_NAME_DIGITS; i++) {
        unsigned d;
        if (name[i] < '0' || name[i] > '9')
            return false;
        d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *first_op = v;
    return true;
}

static void make_header(unsigned char h[WAL_SEGMENT_HEADER], uint64_t first_op)
{
    memcpy(h, WAL_MAGIC, 8);
    buf_put_u32be(h + 8, WAL_VERSION);
    put_u64be(h + 12, first_op);
    buf_put_u32be(h + 20, crc32c(0, h, 20));
}

/* NULL if h is a valid header, else what is wrong with it. */
static const char *check_header(const unsigned char *h, uint64_t *first_op)
{
    if (memcmp(h, WAL_MAGIC, 8) != 0)
        return "bad magic";
    if (buf_get_u32be(h + 20) != crc32c(0, h, 20))
        return "header checksum mismatch";
    if (buf_get_u32be(h + 8) != WAL_VERSION)
        return "unsupported format version";
    *first_op = get_u64be(h + 12);
    return NULL;
}

/* Write iov at off in full (retrying short writes and EINTR), but at most
 * `limit` bytes.  Returns 0 or an errno value. */
static int pwritev_full(int fd, const struct iovec *iov_in, int n, uint64_t off,
                        size_t limit)
{
    struct iovec iov[2];
    int i = 0;

    assert(n <= 2);
    memcpy(iov, iov_in, sizeof *iov * (size_t)n);
    while (limit > 0) {
        struct iovec v[2];
        int k = 0;
        size_t rem = limit, adv;
        ssize_t r;

        for (int j = i; j < n && rem; j++) {
            if (!iov[j].iov_len)
                continue;
            v[k].iov_base = iov[j].iov_base;
            v[k].iov_len = iov[j].iov_len < rem ? iov[j].iov_len : rem;
            rem -= v[k].iov_len;
            k++;
        }
        if (k == 0)
            return 0;
        r = pwritev(fd, v, k, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (r == 0)
            return EIO; /* no progress: never loop forever */
        off += (uint64_t)r;
        limit -= (size_t)r;
        adv = (size_t)r;
        while (adv && i < n) {
            if (adv >= iov[i].iov_len) {
                adv -= iov[i].iov_len;
                i++;
            } else {
                iov[i].iov_base = (char *)iov[i].iov_base + adv;
                iov[i].iov_len -= adv;
                adv = 0;
            }
        }
    }
    return 0;
}

/* Read n bytes at off in full.  Returns 0, an errno value, or -1 when the
 * file ends first. */
static int pread_full(int fd, void *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (r == 0)
            return -1;
        p = (char *)p + r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static void publish(struct wal *w)
{
    uint64_t first = 0, last = 0;
    if (w->nsegs > 0 && w->next_op > w->segs[0].first_op) {
        first = w->segs[0].first_op;
        last = w->next_op - 1;
    }
    if (w->durable > last)
        w->durable = last;
    atomic_store(&w->a_first, first);
    atomic_store(&w->a_last, last);
    atomic_store(&w->a_durable, w->durable);
    atomic_store(&w->a_next, w->next_op);
}

static bool has_records(const struct wal *w)
{
    return w->nsegs > 0 && w->next_op > w->segs[0].first_op;
}

static void note(struct wal *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(struct wal *w, const char *fmt, ...)
{
    size_t used = strlen(w->report);
    va_list ap;
    if (used && used + 2 < sizeof w->report) {
        memcpy(w->report + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    if (used < sizeof w->report)
        vsnprintf(w->report + used, sizeof w->report - used, fmt, ap);
    va_end(ap);
    log_warn("log %s: recovery: %s", w->dir, w->report + used);
}

static void futex_wait_bits(atomic_uint *word, unsigned seen, uint32_t bits)
{
    /* Returns on a wake, a signal, or at once if *word != seen. */
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_BITSET_PRIVATE, seen, NULL,
            NULL, bits);
}

static void futex_wake_bits(atomic_uint *word, int n, uint32_t bits)
{
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_BITSET_PRIVATE, n, NULL, NULL,
            bits);
}

static uint32_t round_bit(uint64_t round)
{
    return UINT32_C(1) << (round & 31);
}

/* Make every caller sleeping in wal_sync look again (after a truncation, a
 * reset, a failure to lead): one of them may have to lead the next round. */
static void wake_everyone(struct wal *w)
{
    atomic_fetch_add(&w->round_seq, 1);
    futex_wake_bits(&w->round_seq, INT_MAX, UINT32_MAX);
}

static int poisoned_err(struct wal *w, struct err *e)
{
    return err_set(e, ERR_IO,
                   "log %s: the log is unusable after a failed fsync: restart "
                   "recalld (%s)", w->dir, w->poison_msg);
}

/* Poison the log after a failed fsync of `what`.  Called with mu held. */
static int poison(struct wal *w, int err_no, const char *what, struct err *e)
{
    if (!w->poisoned) {
        snprintf(w->poison_msg, sizeof w->poison_msg, "%s failed: %s", what,
                 strerror(err_no));
        w->poisoned = true;
        atomic_store(&w->a_poisoned, true);
        wake_everyone(w);
        pthread_cond_broadcast(&w->idle_cv);
    }
    return poisoned_err(w, e);
}

/* fdatasync fd (or fsync the directory when fd == dir_fd), poisoning the log
 * on failure.  Called with mu held. */
static int sync_fd_locked(struct wal *w, int fd, const char *name, struct err *e)
{
    char what[PATH_MAX + 32];
    int en = 0;
    if (fault_hit(FAULT_WAL_FSYNC, &en)) {
    } else if ((fd == w->dir_fd ? fsync(fd) : fdatasync(fd)) < 0) {
        en = errno;
    }
    if (!en)
        return 0;
    snprintf(what, sizeof what, "%s of %s/%s", fd == w->dir_fd ? "fsync" : "fdatasync",
             w->dir, name);
    return poison(w, en, what, e);
}

static int sync_dir_locked(struct wal *w, struct err *e)
{
    return sync_fd_locked(w, w->dir_fd, ".", e);
}

static int seg_reserve(struct wal_seg *s)
{
    if (s->count == s->cap) {
        uint64_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *p;
        if (cap > SIZE_MAX / sizeof *p)
            return -1;
        p = realloc(s->offs, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        s->offs = p;
        s->cap = cap;
    }
    return 0;
}

static int seg_push_off(struct wal_seg *s, uint64_t off)
{
    if (seg_reserve(s) < 0)
        return -1;
    s->offs[s->count++] = off;
    return 0;
}

static int segs_reserve(struct wal *w)
{
    if (w->nsegs == w->segs_cap) {
        size_t cap = w->segs_cap ? w->segs_cap * 2 : 16;
        struct wal_seg *p = realloc(w->segs, cap * sizeof *p);
        if (!p)
            return -1;
        w->segs = p;
        w->segs_cap = cap;
    }
    return 0;
}

static struct wal_seg *cur_seg(struct wal *w)
{
    return w->nsegs ? &w->segs[w->nsegs - 1] : NULL;
}

static void close_rd(struct wal *w)
{
    if (w->rd_fd >= 0)
        close(w->rd_fd);
    w->rd_fd = -1;
    w->rd_first = 0;
}

/* Remove the last segment from the array and unlink its file, durably.
 * Closes cur_fd; the caller reopens the new last segment. */
static int unlink_last_locked(struct wal *w, struct err *e)
{
    char name[WAL_NAME_LEN + 1];
    struct wal_seg *s = cur_seg(w);

    assert(s);
    seg_name(name, s->first_op);
    if (w->cur_fd >= 0) {
        close(w->cur_fd);
        w->cur_fd = -1;
    }
    if (w->rd_first == s->first_op)
        close_rd(w);
    if (unlinkat(w->dir_fd, name, 0) < 0 && errno != ENOENT) {
        int en = errno;
        /* The file is still there but no longer open: the handle cannot go
         * on writing consistently. */
        char what[PATH_MAX + 32];
        snprintf(what, sizeof what, "unlink of %s/%s", w->dir, name);
        return poison(w, en, what, e);
    }
    free(s->offs);
    w->nsegs--;
    return sync_dir_locked(w, e);
}

static int open_cur_locked(struct wal *w, struct err *e)
{
    char name[WAL_NAME_LEN + 1];
    struct wal_seg *s = cur_seg(w);
    int en = 0;

    assert(w->cur_fd < 0);
    if (!s)
        return 0;
    seg_name(name, s->first_op);
    if (w->rd_first == s->first_op)
        close_rd(w);
    if (!fault_hit(FAULT_WAL_OPEN, &en)) {
        w->cur_fd = openat(w->dir_fd, name, O_RDWR | O_CLOEXEC);
        if (w->cur_fd < 0)
            en = errno;
    }
    if (w->cur_fd >= 0)
        return 0;
    {
        char what[PATH_MAX + 32];
        snprintf(what, sizeof what, "reopening %s/%s", w->dir, name);
        return poison(w, en, what, e);
    }
}

/* Start a new segment whose first record will be first_op: make the current
 * segment durable (so every non-last segment is durable), create the file
 * with its header, fdatasync it and fsync the directory.  On a failed
 * create/write the new file is removed and the log is unchanged. */
static int segment_create_locked(struct wal *w, uint64_t first_op, struct err *e)
{
    char name[WAL_NAME_LEN + 1];
    unsigned char h[WAL_SEGMENT_HEADER];
    struct iovec iov = {h, sizeof h};
    struct wal_seg *s;
    int fd = -1, en = 0;

    if (segs_reserve(w) < 0)
        return err_set(e, ERR_NOMEM, "log %s: out of memory", w->dir);
    s = cur_seg(w);
    if (s) {
        seg_name(name, s->first_op);
        if (sync_fd_locked(w, w->cur_fd, name, e) < 0)
            return -1;
        if (w->next_op - 1 > w->durable)
            w->durable = w->next_op - 1;
    }

    seg_name(name, first_op);
    if (!fault_hit(FAULT_WAL_OPEN, &en)) {
        fd = openat(w->dir_fd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            en = errno;
    }
    if (fd < 0)
        return err_set_errno(e, en, "log %s: creating segment %s", w->dir, name);
    make_header(h, first_op);
    if (!fault_hit(FAULT_WAL_WRITE, &en))
        en = pwritev_full(fd, &iov, 1, 0, sizeof h);
    if (en) {
        close(fd);
        unlinkat(w->dir_fd, name, 0);
        return err_set_errno(e, en, "log %s: writing the header of segment %s",
                             w->dir, name);
    }
    if (sync_fd_locked(w, fd, name, e) < 0 || sync_dir_locked(w, e) < 0) {
        close(fd);
        return -1;
    }
    if (w->cur_fd >= 0)
        close(w->cur_fd); /* a running sync holds its own dup */
    w->cur_fd = fd;
    s = &w->segs[w->nsegs++];
    memset(s, 0, sizeof *s);
    s->first_op = first_op;
    s->size = WAL_SEGMENT_HEADER;
    w->next_op = first_op;
    return 0;
}

/* ------------------------------------------------------------ append */

static int append_locked(struct wal *w, uint64_t op, const void *data,
                         uint32_t len, struct err *e)
{
    unsigned char hdr[WAL_RECORD_HEADER];
    struct iovec iov[2];
    uint64_t reclen = WAL_RECORD_HEADER + (uint64_t)len;
    struct wal_seg *s;
    size_t limit;
    int en = 0;

    if (w->poisoned)
        return poisoned_err(w, e);
    if (op == 0 || op == UINT64_MAX)
        return err_set(e, ERR_INVALID, "log %s: op %" PRIu64 " is not a valid op-number",
                       w->dir, op);
    if (w->next_op && op != w->next_op)
        return err_set(e, ERR_INVALID,
                       "log %s: append of op %" PRIu64 " but the next op must be %" PRIu64,
                       w->dir, op, w->next_op);
    if (len == 0 || !data)
        return err_set(e, ERR_INVALID, "log %s: empty record for op %" PRIu64, w->dir, op);
    if (len > w->max_record)
        return err_set(e, ERR_LIMIT,
                       "log %s: record of %" PRIu32 " bytes for op %" PRIu64
                       " exceeds the maximum of %" PRIu32, w->dir, len, op, w->max_record);

    s = cur_seg(w);
    if (!s || (s->count > 0 && s->size + reclen > w->segment_bytes)) {
        if (segment_create_locked(w, op, e) < 0)
            return -1;
        s = cur_seg(w);
    }
    /* Grow the index before writing, so that indexing cannot fail after. */
    if (seg_reserve(s) < 0)
        return err_set(e, ERR_NOMEM, "log %s: out of memory", w->dir);

    buf_put_u32be(hdr, len);
    buf_put_u32be(hdr + 4, crc32c(0, data, len));
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof hdr;
    iov[1].iov_base = (void *)data;
    iov[1].iov_len = len;
    limit = (size_t)reclen;
    if (fault_hit(FAULT_WAL_WRITE, &en)) {
        /* Simulate a write that got half-way before failing, so the cut-back
         * path is exercised. */
        pwritev_full(w->cur_fd, iov, 2, s->size, limit / 2);
    } else {
        en = pwritev_full(w->cur_fd, iov, 2, s->size, limit);
    }
    if (en) {
        char name[WAL_NAME_LEN + 1];
        seg_name(name, s->first_op);
        err_set_errno(e, en, "log %s: writing op %" PRIu64 " to %s", w->dir, op, name);
        if (ftruncate(w->cur_fd, (off_t)s->size) < 0) {
            char what[PATH_MAX + 64];
            snprintf(what, sizeof what, "cutting back a failed write in %s/%s: %s",
                     w->dir, name, e->msg);
            return poison(w, errno, what, e);
        }
        return -1;
    }
    s->offs[s->count++] = s->size;
    s->size += reclen;
    w->next_op = op + 1;
    publish(w);
    return 0;
}

int wal_append(struct wal *w, uint64_t op, const void *data, uint32_t len,
               struct err *e)
{
    int rc;
    pthread_mutex_lock(&w->mu);
    rc = append_locked(w, op, data, len, e);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wal_append_next(struct wal *w, const void *data, uint32_t len, uint64_t *op,
                    struct err *e)
{
    int rc;
    uint64_t n;
    pthread_mutex_lock(&w->mu);
    n = w->next_op ? w->next_op : 1;
    rc = append_locked(w, n, data, len, e);
    pthread_mutex_unlock(&w->mu);
    if (rc == 0 && op)
        *op = n;
    return rc;
}

/* ------------------------------------------------------------ group commit */

/* End of `round`: wake one caller waiting for the next round, who will
 * lead it, then every caller this round covered.  round_seq changes before
 * either wake, so a caller between its unlock and its futex wait does not
 * sleep through the end of its round.  Called without mu. */
static void round_end_wake(struct wal *w, uint64_t round, bool wake_leader)
{
    atomic_fetch_add(&w->round_seq, 1);
    if (wake_leader)
        futex_wake_bits(&w->round_seq, 1, round_bit(round + 1));
    futex_wake_bits(&w->round_seq, INT_MAX, round_bit(round));
}

/* Start a round: it covers every op appended so far.  Called with mu held
 * and no round running.  Returns a dup of the current segment's fd to
 * fdatasync without the mutex (a rollover may close cur_fd meanwhile). */
static int round_start_locked(struct wal *w, char name[WAL_NAME_LEN + 1],
                              struct err *e)
{
    int fd;
    assert(w->cur_fd >= 0 && !w->sync_running);
    fd = dup(w->cur_fd);
    if (fd < 0)
        return err_set_errno(e, errno, "log %s: dup for fdatasync", w->dir);
    seg_name(name, cur_seg(w)->first_op);
    w->sync_running = true;
    w->sync_round++;
    w->sync_target = w->next_op - 1;
    w->next_waiters = false;
    return fd;
}

int wal_sync(struct wal *w, uint64_t op, struct err *e)
{
    char name[WAL_NAME_LEN + 1];
    uint64_t round, target;
    int fd, en = 0;
    bool next;

    if (!atomic_load(&w->a_poisoned) && op <= atomic_load(&w->a_durable))
        return 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        uint64_t wait_round;
        unsigned seq;

        if (w->poisoned)
            goto fail_poisoned;
        if (op == 0 || op <= w->durable ||
            (has_records(w) && op < w->segs[0].first_op))
            goto done;
        if (!has_records(w) || op >= w->next_op) {
            err_set(e, ERR_INVALID,
                    "log %s: sync of op %" PRIu64 " beyond the last op %" PRIu64,
                    w->dir, op, has_records(w) ? w->next_op - 1 : 0);
            pthread_mutex_unlock(&w->mu);
            return -1;
        }
        if (!w->sync_running)
            break;
        /* Follow: wait for the running round if it covers op, else for the
         * next one.  The futex word changes at every round's end, so a wake
         * between the unlock and the wait is not lost; a woken caller checks
         * durability without the mutex. */
        if (op <= w->sync_target) {
            wait_round = w->sync_round;
        } else {
            wait_round = w->sync_round + 1;
            w->next_waiters = true;
        }
        seq = atomic_load(&w->round_seq);
        pthread_mutex_unlock(&w->mu);
        futex_wait_bits(&w->round_seq, seq, round_bit(wait_round));
        if (atomic_load(&w->a_poisoned)) {
            pthread_mutex_lock(&w->mu);
            goto fail_poisoned;
        }
        if (op <= atomic_load(&w->a_durable))
            return 0;
        pthread_mutex_lock(&w->mu);
    }

    /* Lead a round. */
    fd = round_start_locked(w, name, e);
    if (fd < 0) {
        pthread_mutex_unlock(&w->mu);
        wake_everyone(w); /* a waiter may be counting on this caller */
        return -1;
    }
    round = w->sync_round;
    target = w->sync_target;
    pthread_mutex_unlock(&w->mu);
    if (!fault_hit(FAULT_WAL_FSYNC, &en) && fdatasync(fd) < 0)
        en = errno;
    close(fd);

    pthread_mutex_lock(&w->mu);
    w->sync_running = false;
    atomic_fetch_add(&w->a_syncs, 1);
    if (w->idle_waiters)
        pthread_cond_broadcast(&w->idle_cv);
    if (en) {
        char what[PATH_MAX + 32];
        snprintf(what, sizeof what, "fdatasync of %s/%s", w->dir, name);
        poison(w, en, what, e); /* wakes everyone */
        goto fail;
    }
    /* truncate/reset wait for !sync_running, so nothing removed the ops
     * this round covered while it ran. */
    if (target > w->durable)
        w->durable = target;
    publish(w);
    next = w->next_waiters;
    pthread_mutex_unlock(&w->mu);
    round_end_wake(w, round, next);
    return 0;
done:
    pthread_mutex_unlock(&w->mu);
    return 0;
fail_poisoned:
    poisoned_err(w, e);
fail:
    pthread_mutex_unlock(&w->mu);
    return -1;
}

/* Wait until no sync round is running.  Called with mu held; mu is held
 * again on return, and no round can start until the caller unlocks. */
static void wait_idle_locked(struct wal *w)
{
    while (w->sync_running && !w->poisoned) {
        w->idle_waiters++;
        pthread_cond_wait(&w->idle_cv, &w->mu);
        w->idle_waiters--;
    }
}

/* ------------------------------------------------------------ read */

static struct wal_seg *find_seg(struct wal *w, uint64_t op)
{
    size_t lo = 0, hi = w->nsegs;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->segs[mid].first_op <= op)
            lo = mid;
        else
            hi = mid;
    }
    return &w->segs[lo];
}

int wal_read(struct wal *w, uint64_t op, struct buf *out, struct err *e)
{
    char name[WAL_NAME_LEN + 1];
    unsigned char hdr[WAL_RECORD_HEADER];
    struct wal_seg *s;
    uint64_t idx, off, end, len;
    int fd, rc;

    pthread_mutex_lock(&w->mu);
    if (w->poisoned) {
        poisoned_err(w, e);
        goto fail;
    }
    if (!has_records(w) || op < w->segs[0].first_op || op >= w->next_op) {
        err_set(e, ERR_INVALID,
                "log %s: op %" PRIu64 " is not in the log (first %" PRIu64
                ", last %" PRIu64 ")", w->dir, op, wal_first_op(w), wal_last_op(w));
        goto fail;
    }
    s = find_seg(w, op);
    idx = op - s->first_op;
    assert(idx < s->count);
    off = s->offs[idx];
    end = idx + 1 < s->count ? s->offs[idx + 1] : s->size;
    len = end - off - WAL_RECORD_HEADER;
    seg_name(name, s->first_op);

    if (s == cur_seg(w)) {
        fd = w->cur_fd;
    } else {
        if (w->rd_fd < 0 || w->rd_first != s->first_op) {
            close_rd(w);
            w->rd_fd = openat(w->dir_fd, name, O_RDONLY | O_CLOEXEC);
            if (w->rd_fd < 0) {
                err_set_errno(e, errno, "log %s: opening %s", w->dir, name);
                goto fail;
            }
            w->rd_first = s->first_op;
        }
        fd = w->rd_fd;
    }
    if (buf_reserve(out, (size_t)len) < 0) {
        err_set(e, ERR_NOMEM, "log %s: out of memory reading op %" PRIu64, w->dir, op);
        goto fail;
    }
    rc = pread_full(fd, hdr, sizeof hdr, off);
    if (rc == 0)
        rc = pread_full(fd, out->data + out->len, (size_t)len, off + sizeof hdr);
    if (rc > 0) {
        err_set_errno(e, rc, "log %s: reading op %" PRIu64 " from %s", w->dir, op, name);
        goto fail;
    }
    if (rc < 0 || buf_get_u32be(hdr) != len ||
        buf_get_u32be(hdr + 4) != crc32c(0, out->data + out->len, (size_t)len)) {
        err_set(e, ERR_CORRUPT,
                "log %s: %s: offset %" PRIu64 ": record of op %" PRIu64
                " is damaged (%s)", w->dir, name, off, op,
                rc < 0 ? "file too short" :
                buf_get_u32be(hdr) != len ? "length mismatch" : "checksum mismatch");
        goto fail;
    }
    out->len += (size_t)len;
    pthread_mutex_unlock(&w->mu);
    return 0;
fail:
    pthread_mutex_unlock(&w->mu);
    return -1;
}

/* ------------------------------------------------------------ truncation */

int wal_truncate_after(struct wal *w, uint64_t op, struct err *e)
{
    struct wal_seg *s;
    char name[WAL_NAME_LEN + 1];
    uint64_t idx, first;

    pthread_mutex_lock(&w->mu);
    wait_idle_locked(w);
    if (w->poisoned)
        goto fail_poisoned;
    if (!has_records(w) || op >= w->next_op - 1)
        goto done;
    first = w->segs[0].first_op;
    if (op + 1 < first) {
        err_set(e, ERR_INVALID,
                "log %s: truncate after op %" PRIu64 " is below the first op %" PRIu64
                " (use a reset)", w->dir, op, first);
        goto fail;
    }
    /* Newest first, each unlink durable before the next step, so a crash
     * leaves a gap-free prefix of the old log: remove the later segments,
     * then cut the one holding op + 1. */
    while (w->nsegs > 1 && cur_seg(w)->first_op > op + 1)
        if (unlink_last_locked(w, e) < 0)
            goto fail;
    if (w->nsegs > 1 && cur_seg(w)->first_op == op + 1) {
        /* op + 1 starts a segment: drop it whole; the previous segment is
         * durable and complete. */
        if (unlink_last_locked(w, e) < 0)
            goto fail;
        if (open_cur_locked(w, e) < 0)
            goto fail;
        w->next_op = op + 1;
        goto done_changed;
    }
    if (w->cur_fd < 0 && open_cur_locked(w, e) < 0)
        goto fail;
    s = cur_seg(w);
    idx = op + 1 - s->first_op;
    assert(idx < s->count);
    seg_name(name, s->first_op);
    if (ftruncate(w->cur_fd, (off_t)s->offs[idx]) < 0) {
        char what[PATH_MAX + 32];
        snprintf(what, sizeof what, "ftruncate of %s/%s", w->dir, name);
        poison(w, errno, what, e);
        goto fail;
    }
    if (sync_fd_locked(w, w->cur_fd, name, e) < 0)
        goto fail;
    s->size = s->offs[idx];
    s->count = idx;
    w->next_op = op + 1;
done_changed:
    if (w->durable > op)
        w->durable = op;
    publish(w);
done:
    pthread_mutex_unlock(&w->mu);
    wake_everyone(w); /* waiters for removed ops must look again */
    return 0;
fail_poisoned:
    poisoned_err(w, e);
fail:
    publish(w);
    pthread_mutex_unlock(&w->mu);
    wake_everyone(w);
    return -1;
}

int wal_drop_before(struct wal *w, uint64_t op, struct err *e)
{
    pthread_mutex_lock(&w->mu);
    if (w->poisoned) {
        poisoned_err(w, e);
        goto fail;
    }
    while (w->nsegs > 1 && w->segs[0].first_op + w->segs[0].count <= op) {
        char name[WAL_NAME_LEN + 1];
        seg_name(name, w->segs[0].first_op);
        if (w->rd_first == w->segs[0].first_op)
            close_rd(w);
        if (unlinkat(w->dir_fd, name, 0) < 0 && errno != ENOENT) {
            err_set_errno(e, errno, "log %s: unlinking %s", w->dir, name);
            goto fail;
        }
        free(w->segs[0].offs);
        memmove(&w->segs[0], &w->segs[1], (w->nsegs - 1) * sizeof *w->segs);
        w->nsegs--;
        /* One directory fsync per unlink keeps the files on disk a gap-free
         * suffix whatever a crash persists. */
        if (sync_dir_locked(w, e) < 0)
            goto fail;
    }
    publish(w);
    pthread_mutex_unlock(&w->mu);
    return 0;
fail:
    publish(w);
    pthread_mutex_unlock(&w->mu);
    return -1;
}

/* Bytes of segment s from the start of its record k to the end of record
 * j (k <= j < count). */
static uint64_t seg_span(const struct wal_seg *s, uint64_t k, uint64_t j)
{
    uint64_t end = j + 1 < s->count ? s->offs[j + 1] : s->size;
    return end - s->offs[k];
}

uint64_t wal_first_op_within(struct wal *w, uint64_t upto, uint64_t bytes)
{
    uint64_t first, total = 0, o;

    pthread_mutex_lock(&w->mu);
    if (!has_records(w)) {
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    first = w->segs[0].first_op;
    if (upto >= w->next_op)
        upto = w->next_op - 1;
    if (upto < first) {
        pthread_mutex_unlock(&w->mu);
        return first;
    }
    o = upto + 1;
    for (size_t i = w->nsegs; i-- > 0;) {
        const struct wal_seg *s = &w->segs[i];
        uint64_t a = 0, b, hi, span;
        if (s->count == 0 || s->first_op > upto)
            continue;
        hi = upto - s->first_op < s->count ? upto - s->first_op : s->count - 1;
        span = seg_span(s, 0, hi);
        if (total + span <= bytes) {
            total += span;
            o = s->first_op;
            continue;
        }
        /* the bound falls inside this segment: find its lowest record that
         * still fits (spans grow as k goes down) */
        b = hi + 1; /* the answer is in [a, b]; hi + 1: none fits */
        while (a < b) {
            uint64_t mid = a + (b - a) / 2;
            if (total + seg_span(s, mid, hi) <= bytes)
                b = mid;
            else
                a = mid + 1;
        }
        if (a <= hi)
            o = s->first_op + a;
        break;
    }
    pthread_mutex_unlock(&w->mu);
    return o;
}

int wal_reset(struct wal *w, uint64_t next_op, struct err *e)
{
    pthread_mutex_lock(&w->mu);
    wait_idle_locked(w);
    if (w->poisoned) {
        poisoned_err(w, e);
        goto fail;
    }
    if (next_op == 0 || next_op == UINT64_MAX) {
        err_set(e, ERR_INVALID, "log %s: reset to op %" PRIu64, w->dir, next_op);
        goto fail;
    }
    close_rd(w);
    while (w->nsegs > 0)
        if (unlink_last_locked(w, e) < 0)
            goto fail;
    w->next_op = 0;
    w->durable = 0;
    /* A header-only segment remembers next_op across a restart. */
    if (segment_create_locked(w, next_op, e) < 0)
        goto fail;
    publish(w);
    pthread_mutex_unlock(&w->mu);
    wake_everyone(w);
    return 0;
fail:
    if (w->nsegs == 0)
        w->next_op = 0;
    publish(w);
    pthread_mutex_unlock(&w->mu);
    wake_everyone(w);
    return -1;
}

/* ------------------------------------------------------------ accessors */

uint64_t wal_first_op(const struct wal *w) { return atomic_load(&w->a_first); }
uint64_t wal_last_op(const struct wal *w) { return atomic_load(&w->a_last); }
uint64_t wal_durable_op(const struct wal *w) { return atomic_load(&w->a_durable); }
uint64_t wal_next_op(const struct wal *w) { return atomic_load(&w->a_next); }
bool wal_poisoned(const struct wal *w) { return atomic_load(&w->a_poisoned); }
uint64_t wal_sync_count(const struct wal *w) { return atomic_load(&w->a_syncs); }
const char *wal_recovery_report(const struct wal *w) { return w->report; }

/* ------------------------------------------------------------ recovery */

/* Look for a valid record starting anywhere in (from, size): if one exists,
 * the damage at `from` is followed by data that may have been acknowledged.
 * Returns 1 (found, *at set), 0 (none), -1 (the search budget ran out). */
static int find_valid_record(const unsigned char *map, uint64_t from,
                             uint64_t size, uint32_t max, uint64_t *at)
{
    uint64_t budget = WAL_TAIL_SEARCH_BUDGET;
    for (uint64_t pos = from + 1; pos + WAL_RECORD_HEADER < size; pos++) {
        uint32_t len = buf_get_u32be(map + pos);
        if (len == 0 || len > max || len > size - pos - WAL_RECORD_HEADER)
            continue;
        if (budget < len)
            return -1;
        budget -= len;
        if (crc32c(0, map + pos + WAL_RECORD_HEADER, len) ==
            buf_get_u32be(map + pos + 4)) {
            *at = pos;
            return 1;
        }
    }
    return 0;
}

/* Scan one segment file and add it to w->segs (or remove it if it is an
 * incomplete new last segment). */
static int recover_segment(struct wal *w, uint64_t name_op, bool last, struct err *e)
{
    char name[WAL_NAME_LEN + 1];
    unsigned char hbuf[WAL_SEGMENT_HEADER];
    const unsigned char *map = NULL;
    struct wal_seg seg = {0};
    struct stat st;
    uint64_t pos, hdr_op = 0;
    const char *why;
    int fd = -1, en = 0, rc;

    seg_name(name, name_op);
    if (!fault_hit(FAULT_WAL_OPEN, &en)) {
        fd = openat(w->dir_fd, name, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (fd < 0)
            en = errno;
    }
    if (fd < 0)
        return err_set_errno(e, en, "log %s: opening %s", w->dir, name);
    if (fstat(fd, &st) < 0) {
        err_set_errno(e, errno, "log %s: stat of %s", w->dir, name);
        goto fail_after_open;
    }

    why = (uint64_t)st.st_size < WAL_SEGMENT_HEADER ? "shorter than its header" : NULL;
    if (!why) {
        rc = pread_full(fd, hbuf, sizeof hbuf, 0);
        if (rc) {
            err_set_errno(e, rc > 0 ? rc : EIO, "log %s: reading %s", w->dir, name);
            goto fail_after_open;
        }
        why = check_header(hbuf, &hdr_op);
    }
    if (why) {
        if (last && (uint64_t)st.st_size <= WAL_SEGMENT_HEADER) {
            /* A crash interrupted the creation of a new segment: its header
             * was never made durable, so no record in it was either. */
            close(fd);
            if (unlinkat(w->dir_fd, name, 0) < 0)
                return err_set_errno(e, errno, "log %s: removing incomplete %s",
                                     w->dir, name);
            if (sync_dir_locked(w, e) < 0)
                return -1;
            note(w, "removed incomplete new segment %s (%" PRIu64 " bytes, %s)",
                 name, (uint64_t)st.st_size, why);
            return 0;
        }
        err_set(e, ERR_CORRUPT, "log %s: %s: bad segment header (%s)", w->dir, name, why);
        goto fail_after_open;
    }
    if (hdr_op != name_op || name_op == 0) {
        err_set(e, ERR_CORRUPT, "log %s: %s: header says first op %" PRIu64,
                w->dir, name, hdr_op);
        goto fail_after_open;
    }
    if (w->nsegs > 0) {
        const struct wal_seg *prev = &w->segs[w->nsegs - 1];
        char pname[WAL_NAME_LEN + 1];
        seg_name(pname, prev->first_op);
        if (prev->count == 0 || prev->first_op + prev->count != name_op) {
            err_set(e, ERR_CORRUPT,
                    "log %s: gap in the log: %s holds ops %" PRIu64 "..%" PRIu64
                    " but the next segment is %s", w->dir, pname, prev->first_op,
                    prev->first_op + prev->count - 1, name);
            goto fail_after_open;
        }
    }

    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        map = NULL;
        err_set_errno(e, errno, "log %s: mapping %s", w->dir, name);
        goto fail_after_open;
    }
    seg.first_op = name_op;
    pos = WAL_SEGMENT_HEADER;
    while (pos < (uint64_t)st.st_size) {
        uint64_t left = (uint64_t)st.st_size - pos, at = 0;
        uint32_t len = 0;
        why = NULL;
        if (left < WAL_RECORD_HEADER) {
            why = "truncated record header";
        } else {
            len = buf_get_u32be(map + pos);
            if (len == 0)
                why = "zero record length";
            else if (len > left - WAL_RECORD_HEADER)
                why = "record runs past the end of the file";
            else if (crc32c(0, map + pos + WAL_RECORD_HEADER, len) !=
                     buf_get_u32be(map + pos + 4))
                why = "checksum mismatch";
        }
        if (!why && len > w->max_record) {
            /* A valid record, but larger than allowed now: never cut it. */
            err_set(e, ERR_CORRUPT,
                    "log %s: %s: offset %" PRIu64 ": the record of op %" PRIu64
                    " has %" PRIu32 " bytes, more than the maximum of %" PRIu32
                    " (was the limit lowered?)", w->dir, name, pos,
                    name_op + seg.count, len, w->max_record);
            goto fail_after_map;
        }
        if (!why) {
            if (name_op + seg.count == UINT64_MAX) {
                err_set(e, ERR_CORRUPT, "log %s: %s: op-numbers overflow", w->dir, name);
                goto fail_after_map;
            }
            if (seg_push_off(&seg, pos) < 0) {
                err_set(e, ERR_NOMEM, "log %s: out of memory indexing %s", w->dir, name);
                goto fail_after_map;
            }
            pos += WAL_RECORD_HEADER + len;
            continue;
        }
        /* A damaged record (op name_op + seg.count) at pos. */
        if (!last) {
            err_set(e, ERR_CORRUPT,
                    "log %s: %s: offset %" PRIu64 ": %s at op %" PRIu64
                    " in a segment that is not the last", w->dir, name, pos, why,
                    name_op + seg.count);
            goto fail_after_map;
        }
        rc = find_valid_record(map, pos, (uint64_t)st.st_size, w->max_record, &at);
        if (rc != 0) {
            if (rc > 0)
                err_set(e, ERR_CORRUPT,
                        "log %s: %s: offset %" PRIu64 ": %s at op %" PRIu64
                        ", followed by a valid record at offset %" PRIu64,
                        w->dir, name, pos, why, name_op + seg.count, at);
            else
                err_set(e, ERR_CORRUPT,
                        "log %s: %s: offset %" PRIu64 ": %s at op %" PRIu64
                        ", and the %" PRIu64 " bytes after it are too many to "
                        "prove it a torn tail", w->dir, name, pos, why,
                        name_op + seg.count, (uint64_t)st.st_size - pos);
            goto fail_after_map;
        }
        /* Torn tail: the end of the last write(s) before a crash. */
        if (ftruncate(fd, (off_t)pos) < 0) {
            err_set_errno(e, errno, "log %s: cutting the torn tail of %s", w->dir, name);
            goto fail_after_map;
        }
        if (sync_fd_locked(w, fd, name, e) < 0)
            goto fail_after_map;
        note(w, "cut a torn tail of %" PRIu64 " bytes at offset %" PRIu64
             " of %s (%s; the log ends at op %" PRIu64 ")",
             (uint64_t)st.st_size - pos, pos, name, why,
             name_op + seg.count - 1);
        break;
    }
    munmap((void *)map, (size_t)st.st_size);
    seg.size = pos;
    if (segs_reserve(w) < 0) {
        err_set(e, ERR_NOMEM, "log %s: out of memory", w->dir);
        goto fail_after_open;
    }
    w->segs[w->nsegs++] = seg;
    w->next_op = name_op + seg.count;
    if (last)
        w->cur_fd = fd;
    else
        close(fd);
    return 0;

fail_after_map:
    munmap((void *)map, (size_t)st.st_size);
fail_after_open:
    free(seg.offs);
    close(fd);
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int recover(struct wal *w, struct err *e)
{
    uint64_t *ops = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    DIR *d;
    int dfd, rc = -1;

    dfd = dup(w->dir_fd);
    if (dfd < 0)
        return err_set_errno(e, errno, "log %s: dup", w->dir);
    d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return err_set_errno(e, errno, "log %s: listing", w->dir);
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        uint64_t op;
        if (!seg_parse_name(de->d_name, &op))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            uint64_t *p = realloc(ops, nc * sizeof *p);
            if (!p) {
                err_set(e, ERR_NOMEM, "log %s: out of memory", w->dir);
                goto out;
            }
            ops = p;
            cap = nc;
        }
        ops[n++] = op;
    }
    if (n > 1)
        qsort(ops, n, sizeof *ops, cmp_u64);
    for (size_t i = 0; i < n; i++)
        if (recover_segment(w, ops[i], i + 1 == n, e) < 0)
            goto out;
    if (w->nsegs > 0 && w->cur_fd < 0) {
        /* The last file was an incomplete new segment and is gone. */
        char name[WAL_NAME_LEN + 1];
        seg_name(name, cur_seg(w)->first_op);
        w->cur_fd = openat(w->dir_fd, name, O_RDWR | O_CLOEXEC);
        if (w->cur_fd < 0) {
            err_set_errno(e, errno, "log %s: opening %s", w->dir, name);
            goto out;
        }
    }
    if (w->nsegs > 0) {
        /* What the previous process wrote may still sit in the page cache:
         * make it durable before counting it as durable. */
        char name[WAL_NAME_LEN + 1];
        seg_name(name, cur_seg(w)->first_op);
        if (sync_fd_locked(w, w->cur_fd, name, e) < 0 || sync_dir_locked(w, e) < 0)
            goto out;
        w->durable = w->next_op - 1;
    }
    rc = 0;
out:
    closedir(d);
    free(ops);
    return rc;
}

static int open_dir(struct wal *w, struct err *e)
{
    if (mkdir(w->dir, 0700) == 0) {
        /* Make the new directory's entry durable in its parent. */
        char *parent = strdup(w->dir), *slash;
        int pfd;
        if (!parent)
            return err_set(e, ERR_NOMEM, "out of memory");
        slash = strrchr(parent, '/');
        if (!slash)
            strcpy(parent, ".");
        else if (slash == parent)
            parent[1] = '\0';
        else
            *slash = '\0';
        pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0 || fsync(pfd) < 0) {
            err_set_errno(e, errno, "log %s: fsync of the parent directory %s",
                          w->dir, parent);
            if (pfd >= 0)
                close(pfd);
            free(parent);
            return -1;
        }
        close(pfd);
        free(parent);
    } else if (errno != EEXIST) {
        return err_set_errno(e, errno, "log %s: creating the directory", w->dir);
    }
    w->dir_fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dir_fd < 0)
        return err_set_errno(e, errno, "log %s: opening the directory", w->dir);
    if (flock(w->dir_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return err_set(e, ERR_STATE,
                           "log %s: the directory is in use by another process",
                           w->dir);
        return err_set_errno(e, errno, "log %s: locking the directory", w->dir);
    }
    return 0;
}

int wal_open(const char *dir, const struct wal_options *opt, struct wal **out,
             struct err *e)
{
    struct wal *w;
    int rc;

    if (!dir || !*dir || !out)
        return err_set(e, ERR_INVALID, "wal_open: no directory");
    w = calloc(1, sizeof *w);
    if (!w)
        return err_set(e, ERR_NOMEM, "log %s: out of memory", dir);
    {
        /* Appenders hold the mutex for one pwritev: spinning a little
         * before sleeping beats a futex round trip. */
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
        pthread_mutex_init(&w->mu, &attr);
        pthread_mutexattr_destroy(&attr);
    }
    pthread_cond_init(&w->idle_cv, NULL);
    w->dir_fd = w->cur_fd = w->rd_fd = -1;
    w->segment_bytes = opt && opt->segment_bytes ? opt->segment_bytes
                                                 : WAL_DEFAULT_SEGMENT_BYTES;
    w->max_record = opt && opt->max_record ? opt->max_record : FRAME_DEFAULT_MAX;
    w->dir = strdup(dir);
    if (!w->dir) {
        err_set(e, ERR_NOMEM, "log %s: out of memory", dir);
        goto err_after_alloc;
    }
    if (open_dir(w, e) < 0)
        goto err_after_alloc;
    pthread_mutex_lock(&w->mu);
    rc = recover(w, e);
    if (rc == 0 && w->poisoned)
        rc = poisoned_err(w, e);
    publish(w);
    pthread_mutex_unlock(&w->mu);
    if (rc < 0)
        goto err_after_alloc;
    *out = w;
    return 0;

err_after_alloc:
    wal_close(w);
    return -1;
}

void wal_close(struct wal *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nsegs; i++)
        free(w->segs[i].offs);
    free(w->segs);
    if (w->cur_fd >= 0)
        close(w->cur_fd);
    close_rd(w);
    if (w->dir_fd >= 0)
        close(w->dir_fd); /* releases the flock */
    free(w->dir);
    pthread_cond_destroy(&w->idle_cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
