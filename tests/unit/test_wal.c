/* Replication-log tests: CRC-32C vectors, fault countdowns, the log's API
 * (append/read/sync/truncate/drop/reset, segment rollover, bad arguments),
 * recovery (torn tails are cut, damage anywhere else is ERR_CORRUPT), the
 * fsync-failure policy, group commit under concurrency, and a kill -9 crash
 * test with simulated power-loss tearing of the unsynced tail. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crc32c.h"
#include "fault.h"
#include "testhelp.h"
#include "wal.h"

/* ------------------------------------------------------------ helpers */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Deterministic content for op (1..300 bytes), different per `salt`. */
static uint32_t payload(uint64_t op, uint64_t salt, unsigned char *out)
{
    uint32_t len = 1 + (uint32_t)(mix(op * 31 + salt) % 300);
    for (uint32_t i = 0; i < len; i++)
        out[i] = (unsigned char)mix(op ^ (salt << 40) ^ ((uint64_t)i << 20));
    return len;
}

static struct wal *open_ok(const char *dir, uint64_t segment_bytes)
{
    struct wal_options o = {segment_bytes, 0};
    struct wal *w = NULL;
    struct err e;
    err_clear(&e);
    if (wal_open(dir, &o, &w, &e) < 0)
        ck_abort_msg("wal_open(%s): %s", dir, e.msg);
    return w;
}

static void append_ok(struct wal *w, uint64_t op, uint64_t salt)
{
    unsigned char p[300];
    uint32_t len = payload(op, salt, p);
    struct err e;
    if (wal_append(w, op, p, len, &e) < 0)
        ck_abort_msg("append %" PRIu64 ": %s", op, e.msg);
}

static void sync_ok(struct wal *w, uint64_t op)
{
    struct err e;
    if (wal_sync(w, op, &e) < 0)
        ck_abort_msg("sync %" PRIu64 ": %s", op, e.msg);
}

static void check_op(struct wal *w, uint64_t op, uint64_t salt)
{
    unsigned char p[300];
    uint32_t len = payload(op, salt, p);
    struct buf b;
    struct err e;
    buf_init(&b);
    buf_append(&b, "x", 1); /* wal_read appends: keep what was there */
    if (wal_read(w, op, &b, &e) < 0)
        ck_abort_msg("read %" PRIu64 ": %s", op, e.msg);
    ck_assert_uint_eq(b.len, 1 + len);
    ck_assert(b.data[0] == 'x');
    ck_assert_msg(memcmp(b.data + 1, p, len) == 0, "content of op %" PRIu64, op);
    buf_close(&b);
}

static void check_ops(struct wal *w, uint64_t from, uint64_t to, uint64_t salt)
{
    for (uint64_t op = from; op <= to && op; op++)
        check_op(w, op, salt);
}

/* The log holds exactly first..last, with salt's content. */
static void check_range(struct wal *w, uint64_t first, uint64_t last, uint64_t salt)
{
    ck_assert_uint_eq(wal_first_op(w), first);
    ck_assert_uint_eq(wal_last_op(w), last);
    check_ops(w, first, last, salt);
}

static void seg_path(char *out, size_t cap, const char *dir, uint64_t first)
{
    snprintf(out, cap, "%s/%020" PRIu64 ".seg", dir, first);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The first ops of the segment files in dir, ascending; returns the count. */
static size_t list_segs(const char *dir, uint64_t *ops, size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l == 24 && strcmp(de->d_name + 20, ".seg") == 0 && n < max)
            ops[n++] = strtoull(de->d_name, NULL, 10);
    }
    closedir(d);
    qsort(ops, n, sizeof *ops, cmp_u64);
    return n;
}

static off_t file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

static void raw_append(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static void raw_pwrite(const char *path, const void *p, size_t n, off_t off)
{
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, p, n, off), (ssize_t)n);
    close(fd);
}

static void raw_truncate(const char *path, off_t size)
{
    ck_assert_int_eq(truncate(path, size), 0);
}

/* File offset just past record `idx` of the segment at path (walking the
 * on-disk format independently of wal.c). */
static off_t record_end(const char *path, uint64_t idx)
{
    int fd = open(path, O_RDONLY);
    off_t off = WAL_SEGMENT_HEADER;
    ck_assert_int_ge(fd, 0);
    for (uint64_t i = 0; i <= idx; i++) {
        unsigned char h[4];
        ck_assert_int_eq(pread(fd, h, 4, off), 4);
        off += WAL_RECORD_HEADER + buf_get_u32be(h);
    }
    close(fd);
    return off;
}

static void expect_open_fails(const char *dir, enum err_code code, const char *needle)
{
    struct wal *w = NULL;
    struct err e;
    err_clear(&e);
    ck_assert_int_eq(wal_open(dir, NULL, &w, &e), -1);
    ck_assert_ptr_null(w);
    ck_assert_msg(e.code == code, "expected %s, got %s: %s", err_name(code),
                  err_name(e.code), e.msg);
    if (needle)
        ck_assert_msg(strstr(e.msg, needle) != NULL, "'%s' not in: %s", needle, e.msg);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ crc32c */

START_TEST(crc32c_vectors)
{
    unsigned char zeros[32] = {0}, ones[32], inc[32], dec[32];
    memset(ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++) {
        inc[i] = (unsigned char)i;
        dec[i] = (unsigned char)(31 - i);
    }
    ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    /* RFC 3720 (iSCSI) B.4 */
    ck_assert_uint_eq(crc32c(0, zeros, 32), 0x8A9136AAu);
    ck_assert_uint_eq(crc32c(0, ones, 32), 0x62A8AB43u);
    ck_assert_uint_eq(crc32c(0, inc, 32), 0x46DD794Eu);
    ck_assert_uint_eq(crc32c(0, dec, 32), 0x113FDB5Cu);
    ck_assert_uint_eq(crc32c(0, "", 0), 0);
    /* Incremental == one shot. */
    ck_assert_uint_eq(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}
END_TEST

START_TEST(crc32c_hw_matches_sw)
{
    unsigned char buf[4096 + 16];
    uint64_t r = 12345;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)testhelp_rand(&r);
    printf("# crc32c hardware path: %s\n", crc32c_hw_available() ? "yes" : "no");
    for (int t = 0; t < 2000; t++) {
        size_t off = testhelp_rand(&r) % 16, n = testhelp_rand(&r) % 4096;
        uint32_t seed = (uint32_t)testhelp_rand(&r);
        ck_assert_uint_eq(crc32c(seed, buf + off, n), crc32c_sw(seed, buf + off, n));
    }
}
END_TEST

/* ------------------------------------------------------------ fault */

START_TEST(fault_countdown_fires_once)
{
    int en = 0;
    fault_reset();
    ck_assert(!fault_hit(FAULT_WAL_WRITE, &en));
    fault_arm(FAULT_WAL_WRITE, 3, ENOSPC);
    ck_assert(!fault_hit(FAULT_WAL_FSYNC, &en)); /* other points unaffected */
    ck_assert(!fault_hit(FAULT_WAL_WRITE, &en));
    ck_assert(!fault_hit(FAULT_WAL_WRITE, &en));
    ck_assert(fault_hit(FAULT_WAL_WRITE, &en));
    ck_assert_int_eq(en, ENOSPC);
    ck_assert(!fault_hit(FAULT_WAL_WRITE, &en));
    ck_assert_uint_eq(fault_calls(FAULT_WAL_WRITE), 3);
    fault_arm(FAULT_STATE_RENAME, 1, EIO);
    fault_arm(FAULT_STATE_RENAME, 0, 0); /* disarm */
    ck_assert(!fault_hit(FAULT_STATE_RENAME, &en));
    ck_assert_int_eq(fault_point_by_name("wal_fsync"), FAULT_WAL_FSYNC);
    ck_assert_int_eq(fault_point_by_name("nope"), FAULT__COUNT);
    ck_assert_str_eq(fault_point_name(FAULT_STATE_FSYNC), "state_fsync");
}
END_TEST

START_TEST(fault_delay_sleeps)
{
    double t0;
    fault_reset();
    fault_set_delay_us(FAULT_WAL_FSYNC, 150000);
    t0 = now_s();
    ck_assert(!fault_hit(FAULT_WAL_FSYNC, NULL));
    ck_assert(now_s() - t0 >= 0.149);
    fault_set_delay_us(FAULT_WAL_FSYNC, 0);
    t0 = now_s();
    ck_assert(!fault_hit(FAULT_WAL_FSYNC, NULL));
    ck_assert(now_s() - t0 < 0.1); /* generous: CI machines are busy */
}
END_TEST

/* ------------------------------------------------------------ basics */

START_TEST(wal_append_read_reopen)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal *w = open_ok(dir, 0);
    struct err e;

    ck_assert_uint_eq(wal_first_op(w), 0);
    ck_assert_uint_eq(wal_last_op(w), 0);
    ck_assert_uint_eq(wal_durable_op(w), 0);
    ck_assert_uint_eq(wal_next_op(w), 0);
    ck_assert_int_eq(wal_sync(w, 0, &e), 0);
    for (uint64_t op = 1; op <= 100; op++)
        append_ok(w, op, 0);
    ck_assert_uint_eq(wal_durable_op(w), 0);
    check_range(w, 1, 100, 0);
    sync_ok(w, 60);
    ck_assert_uint_ge(wal_durable_op(w), 60);
    sync_ok(w, 100);
    ck_assert_uint_eq(wal_durable_op(w), 100);
    ck_assert_uint_eq(wal_next_op(w), 101);
    ck_assert_str_eq(wal_recovery_report(w), "");
    wal_close(w);

    w = open_ok(dir, 0);
    check_range(w, 1, 100, 0);
    ck_assert_uint_eq(wal_durable_op(w), 100);
    ck_assert_str_eq(wal_recovery_report(w), "");
    append_ok(w, 101, 0);
    sync_ok(w, 101);
    check_range(w, 1, 101, 0);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_first_append_sets_start_and_wrong_ops_fail)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal *w = open_ok(dir, 0);
    unsigned char p[8] = "abcdefg";
    uint64_t op = 0;
    struct err e;

    ck_assert_int_eq(wal_append(w, 0, p, 4, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    append_ok(w, 42, 0);
    ck_assert_uint_eq(wal_first_op(w), 42);
    ck_assert_int_eq(wal_append(w, 42, p, 4, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(wal_append(w, 44, p, 4, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(wal_append(w, 41, p, 4, &e), -1);
    ck_assert_uint_eq(wal_last_op(w), 42);
    ck_assert_int_eq(wal_append_next(w, p, 4, &op, &e), 0);
    ck_assert_uint_eq(op, 43);
    /* sync beyond the end is an error, not a hang */
    ck_assert_int_eq(wal_sync(w, 44, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(wal_sync(w, 41, &e), 0); /* below the log: nothing to do */
    sync_ok(w, 43);
    wal_close(w);
    w = open_ok(dir, 0);
    ck_assert_uint_eq(wal_first_op(w), 42);
    ck_assert_uint_eq(wal_last_op(w), 43);
    check_op(w, 42, 0);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_record_lengths)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal_options o = {0, 5000};
    struct wal *w = NULL;
    unsigned char *big = malloc(6 << 20);
    struct buf b;
    struct err e;
    uint64_t op;

    for (size_t i = 0; i < (6u << 20); i++)
        big[i] = (unsigned char)(i * 7);
    ck_assert_int_eq(wal_open(dir, &o, &w, &e), 0);
    ck_assert_int_eq(wal_append(w, 1, big, 0, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(wal_append(w, 1, big, 5001, &e), -1);
    ck_assert_int_eq(e.code, ERR_LIMIT);
    ck_assert_int_eq(wal_append(w, 1, big, UINT32_MAX, &e), -1);
    ck_assert_int_eq(e.code, ERR_LIMIT);
    ck_assert_uint_eq(wal_last_op(w), 0);
    ck_assert_int_eq(wal_append(w, 1, big, 5000, &e), 0);
    ck_assert_int_eq(wal_append(w, 2, big + 3, 1, &e), 0);
    sync_ok(w, 2);
    wal_close(w);

    /* Reopen with the default maximum: a 6 MiB record round-trips. */
    w = open_ok(dir, 0);
    ck_assert_int_eq(wal_append_next(w, big, 6u << 20, &op, &e), 0);
    ck_assert_uint_eq(op, 3);
    buf_init(&b);
    ck_assert_int_eq(wal_read(w, 1, &b, &e), 0);
    ck_assert_uint_eq(b.len, 5000);
    ck_assert(memcmp(b.data, big, 5000) == 0);
    buf_reset(&b);
    ck_assert_int_eq(wal_read(w, 2, &b, &e), 0);
    ck_assert_uint_eq(b.len, 1);
    ck_assert_uint_eq(b.data[0], big[3]);
    buf_reset(&b);
    ck_assert_int_eq(wal_read(w, 3, &b, &e), 0);
    ck_assert_uint_eq(b.len, 6u << 20);
    ck_assert(memcmp(b.data, big, 6u << 20) == 0);
    buf_close(&b);
    wal_close(w);

    /* A valid record above a lowered limit is refused, never cut. */
    {
        struct wal *w2 = NULL;
        ck_assert_int_eq(wal_open(dir, &o, &w2, &e), -1);
        ck_assert_int_eq(e.code, ERR_CORRUPT);
        ck_assert_ptr_nonnull(strstr(e.msg, "maximum"));
    }
    w = open_ok(dir, 0);
    ck_assert_uint_eq(wal_last_op(w), 3);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
    free(big);
}
END_TEST

START_TEST(wal_read_outside_range_fails_cleanly)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal *w = open_ok(dir, 0);
    struct buf b;
    struct err e;

    buf_init(&b);
    ck_assert_int_eq(wal_read(w, 1, &b, &e), -1); /* empty log */
    ck_assert_int_eq(e.code, ERR_INVALID);
    for (uint64_t op = 10; op <= 20; op++)
        append_ok(w, op, 0);
    ck_assert_int_eq(wal_read(w, 0, &b, &e), -1);
    ck_assert_int_eq(wal_read(w, 9, &b, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(wal_read(w, 21, &b, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(wal_read(w, UINT64_MAX, &b, &e), -1);
    ck_assert_uint_eq(b.len, 0);
    check_op(w, 10, 0);
    check_op(w, 20, 0);
    buf_close(&b);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_read_detects_damage_behind_its_back)
{
    char *dir = testhelp_tmpdir("wal"), path[512];
    struct wal *w = open_ok(dir, 0);
    unsigned char x = 0;
    struct buf b;
    struct err e;
    off_t off;
    int fd;

    for (uint64_t op = 1; op <= 10; op++)
        append_ok(w, op, 0);
    sync_ok(w, 10);
    seg_path(path, sizeof path, dir, 1);
    off = record_end(path, 4) + WAL_RECORD_HEADER; /* payload of op 6 */
    fd = open(path, O_RDWR);
    ck_assert_int_eq(pread(fd, &x, 1, off), 1);
    x ^= 0x40;
    ck_assert_int_eq(pwrite(fd, &x, 1, off), 1);
    close(fd);
    buf_init(&b);
    ck_assert_int_eq(wal_read(w, 6, &b, &e), -1);
    ck_assert_int_eq(e.code, ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(e.msg, "00000000000000000001.seg"));
    ck_assert_ptr_nonnull(strstr(e.msg, "offset"));
    ck_assert_uint_eq(b.len, 0);
    check_op(w, 5, 0);
    check_op(w, 7, 0);
    buf_close(&b);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_segment_rollover)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal *w = open_ok(dir, 1024);
    uint64_t segs[256];
    char path[512];
    size_t n;

    for (uint64_t op = 1; op <= 300; op++)
        append_ok(w, op, 1);
    sync_ok(w, 300);
    check_range(w, 1, 300, 1);
    wal_close(w);

    n = list_segs(dir, segs, 256);
    ck_assert_uint_gt(n, 10);
    ck_assert_uint_eq(segs[0], 1);
    for (size_t i = 0; i < n; i++) {
        /* Each file is named by its first op and holds at most 1024 bytes
         * unless a single record is larger. */
        seg_path(path, sizeof path, dir, segs[i]);
        ck_assert_int_le(file_size(path), 1024 + 300 + WAL_RECORD_HEADER);
        if (i + 1 < n) {
            off_t end = record_end(path, segs[i + 1] - segs[i] - 1);
            ck_assert_int_eq(end, file_size(path));
        }
    }
    w = open_ok(dir, 1024);
    check_range(w, 1, 300, 1);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_truncate_after_cuts_and_reappends)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal *w = open_ok(dir, 1024);
    uint64_t segs[256], boundary;
    char path[512];
    struct err e;
    size_t n;

    for (uint64_t op = 1; op <= 100; op++)
        append_ok(w, op, 0);
    sync_ok(w, 100);
    ck_assert_int_eq(wal_truncate_after(w, 100, &e), 0); /* no-op */
    ck_assert_uint_eq(wal_last_op(w), 100);

    /* Cut inside a segment, then append different content. */
    ck_assert_int_eq(wal_truncate_after(w, 70, &e), 0);
    ck_assert_uint_eq(wal_last_op(w), 70);
    ck_assert_uint_le(wal_durable_op(w), 70);
    ck_assert_int_eq(wal_read(w, 71, &(struct buf){0}, &e), -1);
    for (uint64_t op = 71; op <= 80; op++)
        append_ok(w, op, 9);
    sync_ok(w, 80);
    wal_close(w);
    w = open_ok(dir, 1024);
    ck_assert_uint_eq(wal_last_op(w), 80);
    check_ops(w, 1, 70, 0);
    check_ops(w, 71, 80, 9);

    /* Cut exactly before a segment's first op: that file goes away. */
    n = list_segs(dir, segs, 256);
    ck_assert_uint_ge(n, 3);
    boundary = segs[n - 2];
    ck_assert_int_eq(wal_truncate_after(w, boundary - 1, &e), 0);
    ck_assert_uint_eq(wal_last_op(w), boundary - 1);
    ck_assert_uint_eq(list_segs(dir, segs, 256), n - 2);
    seg_path(path, sizeof path, dir, boundary);
    ck_assert_int_ne(access(path, F_OK), 0);
    append_ok(w, boundary, 5);
    sync_ok(w, boundary);
    wal_close(w);
    w = open_ok(dir, 1024);
    ck_assert_uint_eq(wal_last_op(w), boundary);
    check_ops(w, 1, 70, 0);
    check_ops(w, 71, boundary - 1, 9);
    check_op(w, boundary, 5);

    /* Below the first op: refused; at first - 1: empties the log. */
    ck_assert_int_eq(wal_drop_before(w, 40, &e), 0);
    ck_assert_uint_gt(wal_first_op(w), 1);
    {
        uint64_t first = wal_first_op(w);
        ck_assert_int_eq(wal_truncate_after(w, first - 2, &e), -1);
        ck_assert_int_eq(e.code, ERR_INVALID);
        ck_assert_int_eq(wal_truncate_after(w, first - 1, &e), 0);
        ck_assert_uint_eq(wal_first_op(w), 0);
        ck_assert_uint_eq(wal_last_op(w), 0);
        ck_assert_uint_eq(wal_next_op(w), first);
        ck_assert_int_eq(wal_append(w, first + 1, "z", 1, &e), -1);
        wal_close(w);
        w = open_ok(dir, 1024);
        ck_assert_uint_eq(wal_last_op(w), 0);
        ck_assert_uint_eq(wal_next_op(w), first);
        append_ok(w, first, 3);
        check_range(w, first, first, 3);
    }
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_drop_before_unlinks_old_segments)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal *w = open_ok(dir, 1024);
    uint64_t segs[256], segs2[256];
    struct err e;
    size_t n, n2;

    for (uint64_t op = 1; op <= 200; op++)
        append_ok(w, op, 0);
    sync_ok(w, 200);
    n = list_segs(dir, segs, 256);
    ck_assert_uint_ge(n, 4);

    ck_assert_int_eq(wal_drop_before(w, 1, &e), 0);
    ck_assert_uint_eq(wal_first_op(w), 1);
    /* Just past the start of segment 2 (which holds several records):
     * segments 0 and 1 go, segment 2 stays. */
    ck_assert_int_eq(wal_drop_before(w, segs[2] + 1, &e), 0);
    ck_assert_uint_eq(wal_first_op(w), segs[2]);
    n2 = list_segs(dir, segs2, 256);
    ck_assert_uint_eq(n2, n - 2);
    ck_assert_uint_eq(segs2[0], segs[2]);
    check_range(w, segs[2], 200, 0);
    ck_assert_int_eq(wal_read(w, segs[2] - 1, &(struct buf){0}, &e), -1);

    /* Everything: the segment being written stays. */
    ck_assert_int_eq(wal_drop_before(w, UINT64_MAX, &e), 0);
    ck_assert_uint_eq(wal_first_op(w), segs[n - 1]);
    ck_assert_uint_eq(wal_last_op(w), 200);
    append_ok(w, 201, 0);
    sync_ok(w, 201);
    wal_close(w);
    w = open_ok(dir, 1024);
    check_range(w, segs[n - 1], 201, 0);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

/* Retention by size: the answer is the lowest op whose records up to
 * `upto` fit in `bytes`, checked against a plain sum for many bounds,
 * across segments, after old segments are dropped and after a reopen. */
static uint64_t within_model(uint64_t first, uint64_t upto, uint64_t bytes)
{
    unsigned char p[300];
    uint64_t total = 0, o = upto + 1;
    for (uint64_t op = upto; op >= first; op--) {
        total += WAL_RECORD_HEADER + payload(op, 0, p);
        if (total > bytes)
            break;
        o = op;
    }
    return o;
}

static void check_within(struct wal *w, uint64_t first, uint64_t last)
{
    static const uint64_t bounds[] = {0, 1, 20, 200, 333, 1000, 1023, 1024, 5000, 20000, 1u << 30};
    for (uint64_t upto = first; upto <= last; upto += 7)
        for (size_t b = 0; b < sizeof bounds / sizeof *bounds; b++)
            ck_assert_msg(wal_first_op_within(w, upto, bounds[b]) ==
                              within_model(first, upto, bounds[b]),
                          "upto %" PRIu64 " bytes %" PRIu64 ": got %" PRIu64 " want %" PRIu64, upto,
                          bounds[b], wal_first_op_within(w, upto, bounds[b]),
                          within_model(first, upto, bounds[b]));
    /* beyond the end counts from the last record */
    ck_assert_uint_eq(wal_first_op_within(w, last + 50, 1000), within_model(first, last, 1000));
    /* below the start: nothing to keep or drop there */
    if (first > 1)
        ck_assert_uint_eq(wal_first_op_within(w, first - 1, 1000), first);
}

START_TEST(wal_first_op_within_bounds_by_size)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal *w = open_ok(dir, 1024);
    struct err e;

    ck_assert_uint_eq(wal_first_op_within(w, 10, 1000), 0);
    for (uint64_t op = 1; op <= 200; op++)
        append_ok(w, op, 0);
    sync_ok(w, 200);
    check_within(w, 1, 200);
    ck_assert_int_eq(wal_drop_before(w, wal_first_op_within(w, 150, 3000), &e), 0);
    ck_assert_uint_gt(wal_first_op(w), 1);
    ck_assert_uint_le(wal_first_op(w), within_model(1, 150, 3000));
    check_within(w, wal_first_op(w), 200);
    wal_close(w);
    w = open_ok(dir, 1024);
    check_within(w, wal_first_op(w), 200);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_reset_sets_next_op)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal *w = open_ok(dir, 1024);
    uint64_t segs[8];
    struct err e;

    for (uint64_t op = 1; op <= 100; op++)
        append_ok(w, op, 0);
    sync_ok(w, 100);
    ck_assert_int_eq(wal_reset(w, 0, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(wal_reset(w, 1000, &e), 0);
    ck_assert_uint_eq(wal_first_op(w), 0);
    ck_assert_uint_eq(wal_last_op(w), 0);
    ck_assert_uint_eq(wal_durable_op(w), 0);
    ck_assert_uint_eq(wal_next_op(w), 1000);
    ck_assert_uint_eq(list_segs(dir, segs, 8), 1);
    ck_assert_uint_eq(segs[0], 1000);
    wal_close(w);

    /* The expected next op survives a restart. */
    w = open_ok(dir, 1024);
    ck_assert_uint_eq(wal_next_op(w), 1000);
    ck_assert_uint_eq(wal_last_op(w), 0);
    ck_assert_int_eq(wal_append(w, 999, "a", 1, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    append_ok(w, 1000, 2);
    append_ok(w, 1001, 2);
    sync_ok(w, 1001);
    wal_close(w);
    w = open_ok(dir, 1024);
    check_range(w, 1000, 1001, 2);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_second_open_is_refused)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal *w = open_ok(dir, 0), *w2 = NULL;
    struct err e;
    ck_assert_int_eq(wal_open(dir, NULL, &w2, &e), -1);
    ck_assert_int_eq(e.code, ERR_STATE);
    ck_assert_ptr_null(w2);
    wal_close(w);
    w = open_ok(dir, 0);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_open_creates_missing_directory)
{
    char *base = testhelp_tmpdir("wal"), path[512];
    struct wal *w;
    snprintf(path, sizeof path, "%s/log", base);
    w = open_ok(path, 0);
    append_ok(w, 1, 0);
    sync_ok(w, 1);
    wal_close(w);
    snprintf(path, sizeof path, "%s/missing/log", base);
    expect_open_fails(path, ERR_IO, "missing");
    testhelp_rmtree(base);
    free(base);
}
END_TEST

/* ------------------------------------------------------------ recovery */

/* A log of ops 1..n in segments of seg_bytes; returns the last segment's
 * path in out. */
static void build_log(const char *dir, uint64_t n, uint64_t seg_bytes, char *last,
                      size_t cap)
{
    struct wal *w = open_ok(dir, seg_bytes);
    uint64_t segs[512];
    size_t k;
    for (uint64_t op = 1; op <= n; op++)
        append_ok(w, op, 0);
    sync_ok(w, n);
    wal_close(w);
    k = list_segs(dir, segs, 512);
    ck_assert_uint_ge(k, 1);
    seg_path(last, cap, dir, segs[k - 1]);
}

static void make_record(unsigned char *out, const void *p, uint32_t len)
{
    buf_put_u32be(out, len);
    buf_put_u32be(out + 4, crc32c(0, p, len));
    memcpy(out + 8, p, len);
}

START_TEST(wal_torn_tail_is_cut)
{
    static const int kinds = 6;
    for (int kind = 0; kind < kinds; kind++) {
        char *dir = testhelp_tmpdir("wal"), last[512];
        unsigned char rec[8 + 100], junk[777];
        uint64_t r = 99 + (uint64_t)kind;
        struct wal *w;
        off_t good;

        build_log(dir, 50, 0, last, sizeof last);
        good = file_size(last);
        memset(rec, 0x5a, sizeof rec);
        make_record(rec, "payload-payload-payload", 23);
        switch (kind) {
        case 0: /* a partial record: the header announces more than is there */
            buf_put_u32be(rec, 100);
            raw_append(last, rec, 30);
            break;
        case 1: /* a partial record header */
            raw_append(last, rec, 5);
            break;
        case 2: /* zeros (size extended, data never written) */
            memset(junk, 0, sizeof junk);
            raw_append(last, junk, sizeof junk);
            break;
        case 3: /* random garbage */
            for (size_t i = 0; i < sizeof junk; i++)
                junk[i] = (unsigned char)testhelp_rand(&r);
            raw_append(last, junk, sizeof junk);
            break;
        case 4: /* a complete record with a bad CRC */
            rec[8] ^= 1;
            raw_append(last, rec, 8 + 23);
            break;
        case 5: /* the last real record half-written */
            raw_truncate(last, good - 3);
            break;
        }
        w = open_ok(dir, 0);
        ck_assert_msg(strstr(wal_recovery_report(w), "torn tail") != NULL,
                      "kind %d: report '%s'", kind, wal_recovery_report(w));
        check_range(w, 1, kind == 5 ? 49 : 50, 0);
        ck_assert_uint_eq(wal_durable_op(w), kind == 5 ? 49 : 50);
        ck_assert_int_eq(file_size(last), kind == 5 ? record_end(last, 48) : good);
        /* The log goes on from the cut. */
        append_ok(w, kind == 5 ? 50 : 51, 0);
        wal_close(w);
        w = open_ok(dir, 0);
        ck_assert_str_eq(wal_recovery_report(w), "");
        check_range(w, 1, kind == 5 ? 50 : 51, 0);
        wal_close(w);
        testhelp_rmtree(dir);
        free(dir);
    }
}
END_TEST

START_TEST(wal_damage_followed_by_valid_records_is_corruption)
{
    for (int kind = 0; kind < 3; kind++) {
        char *dir = testhelp_tmpdir("wal"), last[512];
        unsigned char b[4];
        off_t off, size;

        build_log(dir, 50, 0, last, sizeof last);
        off = record_end(last, 19); /* record of op 21 */
        size = file_size(last);
        switch (kind) {
        case 0: { /* one flipped payload bit */
            int fd = open(last, O_RDONLY);
            ck_assert_int_eq(pread(fd, b, 1, off + 10), 1);
            close(fd);
            b[0] ^= 0x10;
            raw_pwrite(last, b, 1, off + 10);
            break;
        }
        case 1: /* the length field destroyed */
            buf_put_u32be(b, 0xfffffff0u);
            raw_pwrite(last, b, 4, off);
            break;
        case 2: /* a zeroed block in the middle */
            memset(b, 0, 4);
            raw_pwrite(last, b, 4, off);
            raw_pwrite(last, b, 4, off + 4);
            break;
        }
        expect_open_fails(dir, ERR_CORRUPT, "00000000000000000001.seg");
        expect_open_fails(dir, ERR_CORRUPT, "offset");
        /* Nothing was cut: the damage is still there for the operator. */
        ck_assert_int_eq(file_size(last), size);
        testhelp_rmtree(dir);
        free(dir);
    }
}
END_TEST

START_TEST(wal_damage_in_earlier_segment_is_corruption)
{
    for (int kind = 0; kind < 3; kind++) {
        char *dir = testhelp_tmpdir("wal"), last[512], first[512];
        unsigned char junk[16] = {0};
        uint64_t segs[64];
        off_t size;

        build_log(dir, 100, 1024, last, sizeof last);
        ck_assert_uint_ge(list_segs(dir, segs, 64), 3);
        seg_path(first, sizeof first, dir, segs[1]);
        size = file_size(first);
        switch (kind) {
        case 0: /* its last record torn */
            raw_truncate(first, size - 2);
            break;
        case 1: /* garbage after its last record */
            raw_append(first, junk, sizeof junk);
            break;
        case 2: /* a flipped bit in its last record */
            junk[0] = 0xff;
            raw_pwrite(first, junk, 1, size - 1);
            break;
        }
        expect_open_fails(dir, ERR_CORRUPT, strrchr(first, '/') + 1);
        testhelp_rmtree(dir);
        free(dir);
    }
}
END_TEST

START_TEST(wal_segment_gap_is_corruption)
{
    char *dir = testhelp_tmpdir("wal"), last[512], path[512];
    uint64_t segs[64];
    build_log(dir, 100, 1024, last, sizeof last);
    ck_assert_uint_ge(list_segs(dir, segs, 64), 3);
    seg_path(path, sizeof path, dir, segs[1]);
    ck_assert_int_eq(unlink(path), 0);
    expect_open_fails(dir, ERR_CORRUPT, "gap");
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_bad_segment_headers)
{
    for (int kind = 0; kind < 4; kind++) {
        char *dir = testhelp_tmpdir("wal"), last[512], path[512];
        unsigned char h[WAL_SEGMENT_HEADER];
        uint64_t segs[64];
        int fd;

        build_log(dir, 100, 1024, last, sizeof last);
        ck_assert_uint_ge(list_segs(dir, segs, 64), 3);
        seg_path(path, sizeof path, dir, segs[kind == 3 ? 2 : 0]);
        fd = open(path, O_RDONLY);
        ck_assert_int_eq(pread(fd, h, sizeof h, 0), (ssize_t)sizeof h);
        close(fd);
        switch (kind) {
        case 0: h[0] ^= 1; break;                       /* magic */
        case 1: h[11] = 9; break;                       /* version (CRC breaks too) */
        case 2: h[19] ^= 1; break;                      /* first op, CRC breaks */
        case 3: /* a valid header naming another op */
            memcpy(h, "RECALLWL", 8);
            buf_put_u32be(h + 8, 1);
            buf_put_u32be(h + 12, 0);
            buf_put_u32be(h + 16, 7);
            buf_put_u32be(h + 20, crc32c(0, h, 20));
            break;
        }
        raw_pwrite(path, h, sizeof h, 0);
        expect_open_fails(dir, ERR_CORRUPT, strrchr(path, '/') + 1);
        testhelp_rmtree(dir);
        free(dir);
    }
}
END_TEST

START_TEST(wal_incomplete_new_segment_is_removed)
{
    for (int kind = 0; kind < 3; kind++) {
        char *dir = testhelp_tmpdir("wal"), last[512], path[512];
        unsigned char h[WAL_SEGMENT_HEADER];
        struct wal *w;
        int fd;

        build_log(dir, 100, 1024, last, sizeof last);
        /* A crash right after creating the segment for op 101. */
        seg_path(path, sizeof path, dir, 101);
        fd = open(path, O_WRONLY | O_CREAT, 0644);
        ck_assert_int_ge(fd, 0);
        memcpy(h, "RECALLWL", 8);
        buf_put_u32be(h + 8, 1);
        buf_put_u32be(h + 12, 0);
        buf_put_u32be(h + 16, 101);
        buf_put_u32be(h + 20, crc32c(0, h, 20));
        if (kind == 1)
            ck_assert_int_eq(write(fd, h, 11), 11); /* partial header */
        if (kind == 2)
            ck_assert_int_eq(write(fd, h, sizeof h), (ssize_t)sizeof h);
        close(fd);
        w = open_ok(dir, 1024);
        check_range(w, 1, 100, 0);
        if (kind < 2) {
            ck_assert_ptr_nonnull(strstr(wal_recovery_report(w), "incomplete"));
            ck_assert_int_ne(access(path, F_OK), 0);
        } else {
            /* A complete header-only segment is simply the current one. */
            ck_assert_str_eq(wal_recovery_report(w), "");
            ck_assert_int_eq(access(path, F_OK), 0);
        }
        append_ok(w, 101, 0);
        sync_ok(w, 101);
        wal_close(w);
        w = open_ok(dir, 1024);
        check_range(w, 1, 101, 0);
        wal_close(w);
        testhelp_rmtree(dir);
        free(dir);
    }
}
END_TEST

START_TEST(wal_stray_files_are_ignored)
{
    char *dir = testhelp_tmpdir("wal"), last[512], path[512];
    struct wal *w;
    build_log(dir, 10, 0, last, sizeof last);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    close(open(path, O_WRONLY | O_CREAT, 0644));
    snprintf(path, sizeof path, "%s/123.seg", dir);
    close(open(path, O_WRONLY | O_CREAT, 0644));
    w = open_ok(dir, 0);
    check_range(w, 1, 10, 0);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------ faults */

START_TEST(wal_failed_write_is_cut_back_and_log_stays_usable)
{
    char *dir = testhelp_tmpdir("wal"), path[512];
    struct wal *w;
    unsigned char p[300];
    uint32_t len;
    struct err e;
    off_t size;

    fault_reset();
    w = open_ok(dir, 0);
    fault_arm(FAULT_WAL_WRITE, 5, ENOSPC);
    for (uint64_t op = 1; op <= 3; op++)
        append_ok(w, op, 0);
    /* First append created the segment: its header write was hit 1. */
    seg_path(path, sizeof path, dir, 1);
    size = file_size(path);
    len = payload(4, 0, p);
    ck_assert_int_eq(wal_append(w, 4, p, len, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(ENOSPC)));
    ck_assert(!wal_poisoned(w));
    ck_assert_uint_eq(wal_last_op(w), 3);
    ck_assert_int_eq(file_size(path), size); /* the half-written record is gone */
    check_range(w, 1, 3, 0);
    append_ok(w, 4, 0);
    sync_ok(w, 4);
    wal_close(w);
    w = open_ok(dir, 0);
    check_range(w, 1, 4, 0);
    ck_assert_str_eq(wal_recovery_report(w), "");
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_failed_rollover_leaves_log_usable)
{
    char *dir = testhelp_tmpdir("wal");
    uint64_t segs[64];
    struct wal *w;
    struct err e;
    unsigned char p[300];
    uint32_t len;
    uint64_t op = 1;

    fault_reset();
    w = open_ok(dir, 1024);
    while (list_segs(dir, segs, 64) < 2)
        append_ok(w, op++, 0);
    /* The next rollover fails to create its file (only rollovers open). */
    fault_arm(FAULT_WAL_OPEN, 1, EMFILE);
    for (;;) {
        len = payload(op, 0, p);
        if (wal_append(w, op, p, len, &e) < 0)
            break;
        op++;
        ck_assert_uint_lt(op, 1000);
    }
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(EMFILE)));
    ck_assert_uint_eq(list_segs(dir, segs, 64), 2);
    ck_assert(!wal_poisoned(w));
    ck_assert_uint_eq(wal_last_op(w), op - 1);
    /* ...and the retry succeeds. */
    append_ok(w, op, 0);
    sync_ok(w, op);
    ck_assert_uint_eq(list_segs(dir, segs, 64), 3);
    wal_close(w);
    w = open_ok(dir, 1024);
    check_range(w, 1, op, 0);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_failed_fsync_poisons_the_log)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal *w;
    struct buf b;
    struct err e;

    fault_reset();
    w = open_ok(dir, 0);
    for (uint64_t op = 1; op <= 5; op++)
        append_ok(w, op, 0);
    sync_ok(w, 5);
    for (uint64_t op = 6; op <= 10; op++)
        append_ok(w, op, 0);
    fault_arm(FAULT_WAL_FSYNC, 1, EIO);
    ck_assert_int_eq(wal_sync(w, 10, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, "restart recalld"));
    ck_assert(wal_poisoned(w));
    ck_assert_uint_eq(wal_durable_op(w), 5);
    /* Never retry and pretend: every later call fails. */
    ck_assert_int_eq(wal_sync(w, 10, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_int_eq(wal_append(w, 11, "x", 1, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, "fdatasync"));
    buf_init(&b);
    ck_assert_int_eq(wal_read(w, 1, &b, &e), -1);
    ck_assert_int_eq(wal_truncate_after(w, 3, &e), -1);
    ck_assert_int_eq(wal_drop_before(w, 3, &e), -1);
    ck_assert_int_eq(wal_reset(w, 3, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    buf_close(&b);
    wal_close(w);
    /* A restart recovers what is on disk. */
    w = open_ok(dir, 0);
    check_range(w, 1, 10, 0);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_failed_segment_fsync_poisons_the_log)
{
    char *dir = testhelp_tmpdir("wal");
    struct wal *w;
    struct err e;
    unsigned char p[300];
    uint64_t op = 1;
    uint32_t len;
    int rc = 0;

    fault_reset();
    w = open_ok(dir, 1024);
    /* The rollover's fdatasync of the full segment fails. */
    append_ok(w, op++, 0);
    fault_arm(FAULT_WAL_FSYNC, 1, EIO);
    while (rc == 0 && op < 100) {
        len = payload(op, 0, p);
        rc = wal_append(w, op++, p, len, &e);
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert(wal_poisoned(w));
    ck_assert_int_eq(wal_sync(w, 1, &e), -1);
    wal_close(w);
    /* The directory fsync at open fails: open fails. */
    fault_arm(FAULT_WAL_FSYNC, 2, EIO);
    expect_open_fails(dir, ERR_IO, "fsync");
    fault_reset();
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_open_fault_fails_open)
{
    char *dir = testhelp_tmpdir("wal"), last[512];
    build_log(dir, 10, 0, last, sizeof last);
    fault_reset();
    fault_arm(FAULT_WAL_OPEN, 1, EACCES);
    expect_open_fails(dir, ERR_IO, strerror(EACCES));
    fault_reset();
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------ group commit */

struct gc_arg {
    struct wal *w;
    int n;
    int failures;
    pthread_mutex_t *mu; /* serializes choosing op + append (content from op) */
};

static void *gc_thread(void *p)
{
    struct gc_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        unsigned char buf[300];
        uint64_t op;
        uint32_t len;
        struct err e;
        pthread_mutex_lock(a->mu);
        op = wal_next_op(a->w) ? wal_next_op(a->w) : 1;
        len = payload(op, 7, buf);
        if (wal_append(a->w, op, buf, len, &e) < 0)
            a->failures++;
        pthread_mutex_unlock(a->mu);
        if (wal_sync(a->w, op, &e) < 0 || wal_durable_op(a->w) < op)
            a->failures++;
    }
    return NULL;
}

START_TEST(wal_group_commit_shares_fdatasyncs)
{
    enum { THREADS = 8, PER = 40 };
    char *dir = testhelp_tmpdir("wal");
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    struct gc_arg args[THREADS];
    pthread_t th[THREADS];
    struct wal *w;
    uint64_t syncs;

    fault_reset();
    /* A slow disk makes sharing certain: while one fdatasync sleeps, the
     * other threads' appends pile up behind it. */
    fault_set_delay_us(FAULT_WAL_FSYNC, 2000);
    w = open_ok(dir, 16384);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct gc_arg){w, PER, 0, &mu};
        ck_assert_int_eq(pthread_create(&th[i], NULL, gc_thread, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].failures, 0);
    }
    syncs = wal_sync_count(w);
    printf("# group commit: %d syncs by %d wal_sync calls\n", (int)syncs,
           THREADS * PER);
    ck_assert_uint_eq(wal_last_op(w), THREADS * PER);
    ck_assert_uint_eq(wal_durable_op(w), THREADS * PER);
    ck_assert_uint_ge(syncs, 1);
    ck_assert_uint_lt(syncs, THREADS * PER / 2);
    check_range(w, 1, THREADS * PER, 7);
    wal_close(w);
    fault_reset();
    w = open_ok(dir, 16384);
    check_range(w, 1, THREADS * PER, 7);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(wal_many_threads_no_lost_wakeups)
{
    /* Many more threads than CPUs and no artificial delay: exercises the
     * leader hand-over and the delegated wake-ups; a lost wake-up hangs
     * (the test case times out). */
    enum { THREADS = 48, PER = 60 };
    char *dir = testhelp_tmpdir("wal");
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    struct gc_arg args[THREADS];
    pthread_t th[THREADS];
    struct wal *w;

    fault_reset();
    w = open_ok(dir, 65536);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct gc_arg){w, PER, 0, &mu};
        ck_assert_int_eq(pthread_create(&th[i], NULL, gc_thread, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].failures, 0);
    }
    printf("# %d threads: %d syncs by %d wal_sync calls\n", THREADS,
           (int)wal_sync_count(w), THREADS * PER);
    ck_assert_uint_eq(wal_durable_op(w), THREADS * PER);
    ck_assert_uint_lt(wal_sync_count(w), THREADS * PER);
    check_range(w, 1, THREADS * PER, 7);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

struct trunc_arg {
    struct wal *w;
    pthread_mutex_t *mu;
    atomic_bool *stop;
    int bad;       /* unexpected errors */
    int invalid;   /* syncs of ops a truncation removed */
};

static void *trunc_appender(void *p)
{
    struct trunc_arg *a = p;
    while (!atomic_load(a->stop)) {
        unsigned char buf[300];
        uint64_t op;
        uint32_t len;
        struct err e;
        pthread_mutex_lock(a->mu);
        op = wal_next_op(a->w) ? wal_next_op(a->w) : 1;
        len = payload(op, 7, buf);
        if (wal_append(a->w, op, buf, len, &e) < 0)
            a->bad++;
        pthread_mutex_unlock(a->mu);
        if (wal_sync(a->w, op, &e) < 0) {
            if (e.code == ERR_INVALID)
                a->invalid++;
            else
                a->bad++;
        }
    }
    return NULL;
}

START_TEST(wal_sync_races_truncate_and_reset)
{
    enum { THREADS = 6 };
    char *dir = testhelp_tmpdir("wal");
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    struct trunc_arg args[THREADS];
    pthread_t th[THREADS];
    atomic_bool stop = false;
    uint64_t rng = 5, last;
    struct wal *w;
    struct err e;
    int invalid = 0;

    fault_reset();
    fault_set_delay_us(FAULT_WAL_FSYNC, 300); /* let syncs overlap the cuts */
    w = open_ok(dir, 4096);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct trunc_arg){w, &mu, &stop, 0, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, trunc_appender, &args[i]), 0);
    }
    for (int round = 0; round < 60; round++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&mu);
        last = wal_last_op(w);
        if (round == 30) {
            ck_assert_int_eq(wal_reset(w, last + 100, &e), 0);
        } else if (last > wal_first_op(w) + 3) {
            uint64_t keep = last - 1 - testhelp_rand(&rng) % 3;
            if (wal_truncate_after(w, keep, &e) < 0)
                ck_abort_msg("truncate: %s", e.msg);
            ck_assert_uint_eq(wal_last_op(w), keep);
        }
        pthread_mutex_unlock(&mu);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].bad, 0);
        invalid += args[i].invalid;
    }
    printf("# truncate race: %d syncs found their op removed\n", invalid);
    last = wal_last_op(w);
    ck_assert_uint_gt(last, 0);
    sync_ok(w, last);
    check_range(w, wal_first_op(w), last, 7);
    wal_close(w);
    fault_reset();
    w = open_ok(dir, 4096);
    ck_assert_uint_eq(wal_last_op(w), last);
    check_range(w, wal_first_op(w), last, 7);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

struct slow_arg {
    struct wal *w;
    uint64_t op;
    int rc;
};

static void *slow_sync_thread(void *p)
{
    struct slow_arg *a = p;
    struct err e;
    a->rc = wal_sync(a->w, a->op, &e);
    return NULL;
}

START_TEST(wal_appends_are_not_blocked_by_a_running_sync)
{
    char *dir = testhelp_tmpdir("wal");
    struct slow_arg a;
    pthread_t th;
    struct wal *w;
    double t0, dt;

    fault_reset();
    w = open_ok(dir, 0);
    append_ok(w, 1, 0);
    sync_ok(w, 1);
    append_ok(w, 2, 0);
    fault_set_delay_us(FAULT_WAL_FSYNC, 1000000);
    a = (struct slow_arg){w, 2, -2};
    ck_assert_int_eq(pthread_create(&th, NULL, slow_sync_thread, &a), 0);
    t0 = now_s();
    while (fault_calls(FAULT_WAL_FSYNC) == 0 && now_s() - t0 < 5) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ck_assert_uint_eq(fault_calls(FAULT_WAL_FSYNC), 1); /* the sync is sleeping */
    t0 = now_s();
    for (uint64_t op = 3; op <= 20; op++)
        append_ok(w, op, 0);
    check_op(w, 20, 0);
    dt = now_s() - t0;
    ck_assert_msg(dt < 0.5, "appends took %.3f s during a 1 s sync", dt);
    pthread_join(th, NULL);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_uint_ge(wal_durable_op(w), 2);
    fault_reset();
    sync_ok(w, 20);
    wal_close(w);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------ crash test */

enum { CRASH_THREADS = 4, CRASH_SEG = 8192 };
static const uint64_t crash_salt = 11;

struct crash_child {
    struct wal *w;
    pthread_mutex_t mu;
    int fd;
};

static void *crash_thread(void *p)
{
    struct crash_child *c = p;
    for (;;) {
        unsigned char buf[300];
        uint64_t op;
        uint32_t len;
        struct err e;
        pthread_mutex_lock(&c->mu);
        op = wal_next_op(c->w) ? wal_next_op(c->w) : 1;
        len = payload(op, crash_salt, buf);
        if (wal_append(c->w, op, buf, len, &e) < 0)
            _exit(3);
        pthread_mutex_unlock(&c->mu);
        if (wal_sync(c->w, op, &e) < 0)
            _exit(4);
        if (write(c->fd, &op, sizeof op) != sizeof op)
            _exit(5);
    }
    return NULL;
}

static void crash_child_run(const char *dir, int fd)
{
    static struct crash_child c;
    struct wal_options o = {CRASH_SEG, 0};
    pthread_t th[CRASH_THREADS];
    struct err e;
    c.fd = fd;
    pthread_mutex_init(&c.mu, NULL);
    if (wal_open(dir, &o, &c.w, &e) < 0) {
        fprintf(stderr, "child: %s\n", e.msg);
        _exit(2);
    }
    for (int i = 0; i < CRASH_THREADS; i++)
        pthread_create(&th[i], NULL, crash_thread, &c);
    for (;;)
        pause();
}

/* Simulate a power loss: the bytes after the last record reported durable
 * may be lost (chopped) or read back as zeros. */
static void tear_tail(const char *dir, uint64_t durable, uint64_t *rng)
{
    uint64_t segs[4096], first;
    char path[512];
    off_t size, keep, cut;
    size_t n = list_segs(dir, segs, 4096);

    ck_assert_uint_ge(n, 1);
    first = segs[n - 1];
    seg_path(path, sizeof path, dir, first);
    size = file_size(path);
    keep = durable >= first ? record_end(path, durable - first) : 0;
    ck_assert_int_le(keep, size);
    cut = keep + (off_t)(testhelp_rand(rng) % (uint64_t)(size - keep + 1));
    if (testhelp_rand(rng) & 1) {
        raw_truncate(path, cut);
    } else if (cut < size) {
        char *z = calloc(1, (size_t)(size - cut));
        raw_pwrite(path, z, (size_t)(size - cut), cut);
        free(z);
    }
}

START_TEST(wal_crash_kill9_keeps_every_durable_op)
{
    char *dir = testhelp_tmpdir("walcrash");
    uint64_t rng = testhelp_seed("wal crash test"), max_durable = 0;
    double t_end = now_s() + 4.0;
    int rounds = 0;

    fault_reset();
    while (rounds < 6 || (now_s() < t_end && rounds < 40)) {
        int pfd[2], status;
        uint64_t durable = 0, v;
        double kill_at;
        struct wal *w;
        pid_t pid;

        ck_assert_int_eq(pipe(pfd), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(pfd[0]);
            crash_child_run(dir, pfd[1]);
        }
        close(pfd[1]);
        kill_at = now_s() + 0.02 + (double)(testhelp_rand(&rng) % 250) / 1000.0;
        for (;;) {
            struct pollfd p = {pfd[0], POLLIN, 0};
            int ms = (int)((kill_at - now_s()) * 1000);
            if (ms <= 0)
                break;
            if (poll(&p, 1, ms) > 0) {
                if (read(pfd[0], &v, sizeof v) != sizeof v)
                    break; /* the child died on its own */
                if (v > durable)
                    durable = v;
            }
        }
        kill(pid, SIGKILL);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "child exited on its own (status %d)", status);
        while (read(pfd[0], &v, sizeof v) == sizeof v)
            if (v > durable)
                durable = v;
        close(pfd[0]);
        /* Nothing truncates this log: every op reported durable in any
         * round so far must survive (a round may report none at all). */
        if (durable < max_durable)
            durable = max_durable;
        max_durable = durable;

        if (rounds % 3 != 0)
            tear_tail(dir, durable, &rng);
        w = open_ok(dir, CRASH_SEG);
        /* Every op reported durable is there, with its content, and the log
         * is a gap-free prefix starting at 1. */
        ck_assert_uint_ge(wal_last_op(w), durable);
        check_range(w, durable || wal_last_op(w) ? 1 : 0, wal_last_op(w), crash_salt);
        wal_close(w);
        rounds++;
    }
    printf("# crash test: %d rounds, %" PRIu64 " ops durable at the last kill\n",
           rounds, max_durable);
    ck_assert_uint_gt(max_durable, 0);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("wal");
    TCase *tc = tcase_create("crc_fault");
    tcase_add_test(tc, crc32c_vectors);
    tcase_add_test(tc, crc32c_hw_matches_sw);
    tcase_add_test(tc, fault_countdown_fires_once);
    tcase_add_test(tc, fault_delay_sleeps);
    suite_add_tcase(s, tc);

    tc = tcase_create("api");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, wal_append_read_reopen);
    tcase_add_test(tc, wal_first_append_sets_start_and_wrong_ops_fail);
    tcase_add_test(tc, wal_record_lengths);
    tcase_add_test(tc, wal_read_outside_range_fails_cleanly);
    tcase_add_test(tc, wal_read_detects_damage_behind_its_back);
    tcase_add_test(tc, wal_segment_rollover);
    tcase_add_test(tc, wal_truncate_after_cuts_and_reappends);
    tcase_add_test(tc, wal_drop_before_unlinks_old_segments);
    tcase_add_test(tc, wal_first_op_within_bounds_by_size);
    tcase_add_test(tc, wal_reset_sets_next_op);
    tcase_add_test(tc, wal_second_open_is_refused);
    tcase_add_test(tc, wal_open_creates_missing_directory);
    suite_add_tcase(s, tc);

    tc = tcase_create("recovery");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, wal_torn_tail_is_cut);
    tcase_add_test(tc, wal_damage_followed_by_valid_records_is_corruption);
    tcase_add_test(tc, wal_damage_in_earlier_segment_is_corruption);
    tcase_add_test(tc, wal_segment_gap_is_corruption);
    tcase_add_test(tc, wal_bad_segment_headers);
    tcase_add_test(tc, wal_incomplete_new_segment_is_removed);
    tcase_add_test(tc, wal_stray_files_are_ignored);
    suite_add_tcase(s, tc);

    tc = tcase_create("faults");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, wal_failed_write_is_cut_back_and_log_stays_usable);
    tcase_add_test(tc, wal_failed_rollover_leaves_log_usable);
    tcase_add_test(tc, wal_failed_fsync_poisons_the_log);
    tcase_add_test(tc, wal_failed_segment_fsync_poisons_the_log);
    tcase_add_test(tc, wal_open_fault_fails_open);
    suite_add_tcase(s, tc);

    tc = tcase_create("concurrency");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, wal_group_commit_shares_fdatasyncs);
    tcase_add_test(tc, wal_appends_are_not_blocked_by_a_running_sync);
    tcase_add_test(tc, wal_many_threads_no_lost_wakeups);
    tcase_add_test(tc, wal_sync_races_truncate_and_reset);
    tcase_add_test(tc, wal_crash_kill9_keeps_every_durable_op);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
