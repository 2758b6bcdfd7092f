/* Group-commit benchmark for the replication log: for 1, 8 and 64
 * concurrent appenders (each loops wal_append_next + wal_sync of its own op)
 * it reports appends/s, fdatasyncs/s and the mean and p99 latency of one
 * append+sync, then the 64-vs-1 throughput ratio.
 *
 * Usage: bench/wal_bench [--dir DIR] [--seconds S] [--record-bytes B]
 *                        [--threads N,N,...] [--fsync-delay-us US]
 * Each run uses a fresh log directory under DIR (default /var/tmp), removed
 * afterwards.  Put DIR on the disk you want to measure, not on tmpfs.
 * --fsync-delay-us sleeps that long before every fdatasync (the slow-disk
 * fault switch); with DIR on tmpfs it simulates a disk of constant latency,
 * which separates the CPU and scheduling cost of group commit from the
 * disk's behaviour under load.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "wal.h"

struct worker {
    pthread_t th;
    struct wal *w;
    const unsigned char *rec;
    uint32_t rec_bytes;
    atomic_bool *stop;
    uint64_t *lat_ns; /* owned: one latency per append+sync */
    size_t n, cap;
    int failed;
    char msg[ERR_MSG_MAX];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker_main(void *p)
{
    struct worker *k = p;
    while (!atomic_load_explicit(k->stop, memory_order_relaxed)) {
        uint64_t t0 = now_ns(), op;
        struct err e;
        if (wal_append_next(k->w, k->rec, k->rec_bytes, &op, &e) < 0 ||
            wal_sync(k->w, op, &e) < 0) {
            k->failed = 1;
            snprintf(k->msg, sizeof k->msg, "%s", e.msg);
            break;
        }
        if (k->n == k->cap) {
            size_t cap = k->cap ? k->cap * 2 : 4096;
            uint64_t *q = realloc(k->lat_ns, cap * sizeof *q);
            if (!q) {
                k->failed = 1;
                snprintf(k->msg, sizeof k->msg, "out of memory");
                break;
            }
            k->lat_ns = q;
            k->cap = cap;
        }
        k->lat_ns[k->n++] = now_ns() - t0;
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

struct result {
    double appends_s, syncs_s, mean_us, p99_us;
};

static int run(const char *base, int threads, double seconds, uint32_t rec_bytes,
               struct result *res)
{
    char dir[4096];
    struct worker *ks = calloc((size_t)threads, sizeof *ks);
    unsigned char *rec = malloc(rec_bytes);
    atomic_bool stop = false;
    struct wal *w = NULL;
    uint64_t t0, t1, total = 0, syncs, *all, sum = 0;
    struct timespec ts;
    struct err e;
    size_t at = 0;
    int rc = -1;

    if (!ks || !rec) {
        fprintf(stderr, "wal_bench: out of memory\n");
        goto out;
    }
    for (uint32_t i = 0; i < rec_bytes; i++)
        rec[i] = (unsigned char)(i * 131 + 7);
    snprintf(dir, sizeof dir, "%s/recall-wal-bench-%d-%d", base, (int)getpid(), threads);
    if (wal_open(dir, NULL, &w, &e) < 0) {
        fprintf(stderr, "wal_bench: %s\n", e.msg);
        goto out;
    }
    t0 = now_ns();
    for (int i = 0; i < threads; i++) {
        ks[i] = (struct worker){.w = w, .rec = rec, .rec_bytes = rec_bytes, .stop = &stop};
        if (pthread_create(&ks[i].th, NULL, worker_main, &ks[i]) != 0) {
            fprintf(stderr, "wal_bench: pthread_create failed\n");
            atomic_store(&stop, true);
            for (int j = 0; j < i; j++)
                pthread_join(ks[j].th, NULL);
            goto out_close;
        }
    }
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    atomic_store(&stop, true);
    for (int i = 0; i < threads; i++)
        pthread_join(ks[i].th, NULL);
    t1 = now_ns();
    syncs = wal_sync_count(w);
    for (int i = 0; i < threads; i++) {
        if (ks[i].failed) {
            fprintf(stderr, "wal_bench: %s\n", ks[i].msg);
            goto out_close;
        }
        total += ks[i].n;
    }
    all = malloc((total ? total : 1) * sizeof *all);
    if (!all) {
        fprintf(stderr, "wal_bench: out of memory\n");
        goto out_close;
    }
    for (int i = 0; i < threads; i++) {
        memcpy(all + at, ks[i].lat_ns, ks[i].n * sizeof *all);
        at += ks[i].n;
    }
    qsort(all, total, sizeof *all, cmp_u64);
    for (size_t i = 0; i < total; i++)
        sum += all[i];
    res->appends_s = (double)total / ((double)(t1 - t0) / 1e9);
    res->syncs_s = (double)syncs / ((double)(t1 - t0) / 1e9);
    res->mean_us = total ? (double)sum / (double)total / 1000.0 : 0;
    res->p99_us = total ? (double)all[(total - 1) * 99 / 100] / 1000.0 : 0;
    free(all);
    rc = 0;
out_close:
    wal_close(w);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
out:
    for (int i = 0; ks && i < threads; i++)
        free(ks[i].lat_ns);
    free(ks);
    free(rec);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: wal_bench [--dir DIR] [--seconds S] [--record-bytes B] "
                    "[--threads N,N,...] [--fsync-delay-us US]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *dir = "/var/tmp";
    double seconds = 3;
    unsigned long rec_bytes = 128;
    int threads[16] = {1, 8, 64}, nthreads = 3;
    struct result res[16];
    unsigned fsync_delay_us = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (!v)
            usage();
        if (strcmp(a, "--dir") == 0) {
            dir = v;
        } else if (strcmp(a, "--seconds") == 0) {
            seconds = strtod(v, &end);
            if (*end || !(seconds > 0 && seconds < 3600))
                usage();
        } else if (strcmp(a, "--record-bytes") == 0) {
            rec_bytes = strtoul(v, &end, 10);
            if (*end || rec_bytes == 0 || rec_bytes > (1u << 24))
                usage();
        } else if (strcmp(a, "--fsync-delay-us") == 0) {
            unsigned long us = strtoul(v, &end, 10);
            if (*end || us > 1000000)
                usage();
            fsync_delay_us = (unsigned)us;
        } else if (strcmp(a, "--threads") == 0) {
            nthreads = 0;
            for (const char *p = v; *p && nthreads < 16; p = *end ? end + 1 : end) {
                long t = strtol(p, &end, 10);
                if (end == p || t < 1 || t > 4096 || (*end && *end != ','))
                    usage();
                threads[nthreads++] = (int)t;
            }
            if (nthreads == 0)
                usage();
        } else {
            usage();
        }
        i++;
    }

    if (fsync_delay_us) {
        /* Sleep precisely: the default 50 us timer slack would distort a
         * simulated disk. */
        prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
        fault_set_delay_us(FAULT_WAL_FSYNC, fsync_delay_us);
    }
    printf("wal_bench: dir %s, %.1f s per run, %lu-byte records%s\n", dir, seconds,
           rec_bytes, fsync_delay_us ? ", simulated fsync delay" : "");
    printf("%8s %12s %14s %12s %12s %10s\n", "threads", "appends/s", "fdatasyncs/s",
           "appends/sync", "mean us", "p99 us");
    fflush(stdout);
    for (int i = 0; i < nthreads; i++) {
        if (run(dir, threads[i], seconds, (uint32_t)rec_bytes, &res[i]) < 0)
            return 1;
        printf("%8d %12.0f %14.0f %12.1f %12.1f %10.1f\n", threads[i], res[i].appends_s,
               res[i].syncs_s, res[i].syncs_s > 0 ? res[i].appends_s / res[i].syncs_s : 0,
               res[i].mean_us, res[i].p99_us);
        fflush(stdout);
    }
    if (nthreads >= 2 && res[0].appends_s > 0)
        printf("%d appenders reach %.1fx the appends/s of %d appender%s\n",
               threads[nthreads - 1], res[nthreads - 1].appends_s / res[0].appends_s,
               threads[0], threads[0] == 1 ? "" : "s");
    return 0;
}
