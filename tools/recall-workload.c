/* recall-workload: a visible, checkable write workload for demos and tests.
 *
 * `write` inserts numbered rows one autocommit statement at a time for a
 * duration, printing a progress line every second (rows acknowledged,
 * rate, errors, the current primary), and appends every acknowledged
 * sequence number to an ack file.  `verify` reads the table back and checks
 * that every acknowledged row is present exactly once and that nothing else
 * appears twice: no acknowledged write lost, none applied twice.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recall.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int exec_sql(recall_conn *c, const char *sql)
{
    if (recall_exec(c, sql) != RECALL_OK) {
        fprintf(stderr, "%s: %s (%s)\n", sql, recall_errmsg(c), recall_sqlstate(c));
        return -1;
    }
    return 0;
}

static int cmd_write(recall_conn *c, const char *table, double seconds, double rate,
                     const char *ack_path, long start_seq, bool quiet)
{
    char sql[512];
    FILE *ack = NULL;
    recall_stmt *st;
    double t0 = now_s(), next_report = t0 + 1, next_write = t0;
    long seq = start_seq, ok = 0, errors = 0, ok_last = 0, max_gap_ms = 0;
    double last_ok = t0;

    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS %s (seq BIGINT PRIMARY KEY, note VARCHAR(64), at BIGINT)",
             table);
    if (exec_sql(c, sql) < 0)
        return 1;
    if (ack_path && !(ack = fopen(ack_path, "a"))) {
        perror(ack_path);
        return 1;
    }
    snprintf(sql, sizeof sql, "INSERT INTO %s (seq, note, at) VALUES (?, ?, ?)", table);
    st = recall_prepare(c, sql, strlen(sql));
    if (!st) {
        fprintf(stderr, "prepare: %s\n", recall_errmsg(c));
        return 1;
    }
    while (!stop_flag && now_s() - t0 < seconds) {
        double now = now_s();
        char note[64];
        if (rate > 0 && now < next_write) {
            usleep((useconds_t)((next_write - now) * 1e6));
            continue;
        }
        next_write += rate > 0 ? 1.0 / rate : 0;
        seq++;
        snprintf(note, sizeof note, "row %ld", seq);
        recall_bind_int64(st, 1, seq);
        recall_bind_text(st, 2, note, strlen(note));
        recall_bind_int64(st, 3, (int64_t)time(NULL));
        if (recall_execute(st) == RECALL_OK) {
            ok++;
            double t = now_s();
            if ((t - last_ok) * 1000 > max_gap_ms)
                max_gap_ms = (long)((t - last_ok) * 1000);
            last_ok = t;
            if (ack) {
                fprintf(ack, "%ld\n", seq);
                fflush(ack);
            }
        } else {
            errors++;
            if (!quiet)
                printf("  write of row %ld failed: %s [%s]%s\n", seq, recall_stmt_errmsg(st),
                       recall_stmt_sqlstate(st),
                       recall_usable(c) ? "" : " (connection unusable)");
            if (!recall_usable(c))
                break;
            usleep(100000);
        }
        recall_stmt_reset(st);
        if (!quiet && now_s() >= next_report) {
            int p = recall_primary(c);
            printf("t=%3.0fs  acknowledged %6ld rows (%4ld/s)  errors %ld  primary: replica %d\n",
                   now_s() - t0, ok, ok - ok_last, errors, p);
            fflush(stdout);
            ok_last = ok;
            next_report += 1;
        }
    }
    recall_stmt_free(st);
    if (ack)
        fclose(ack);
    printf("wrote %ld rows acknowledged, %ld errors, longest pause between acknowledged writes "
           "%ld ms\n", ok, errors, max_gap_ms);
    return 0;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int cmd_verify(recall_conn *c, const char *table, const char *ack_path)
{
    char sql[256];
    recall_stmt *st;
    long *rows = NULL, *acks = NULL;
    size_t nrows = 0, caprows = 0, nacks = 0, capacks = 0, missing = 0, dups = 0;
    FILE *f;
    long v;

    snprintf(sql, sizeof sql, "SELECT seq FROM %s ORDER BY seq", table);
    st = recall_prepare(c, sql, strlen(sql));
    if (!st || recall_execute(st) != RECALL_OK) {
        fprintf(stderr, "verify: %s\n", st ? recall_stmt_errmsg(st) : recall_errmsg(c));
        recall_stmt_free(st);
        return 1;
    }
    int rc;
    while ((rc = recall_fetch(st)) == RECALL_ROW) {
        if (nrows == caprows) {
            caprows = caprows ? caprows * 2 : 1024;
            rows = realloc(rows, caprows * sizeof *rows);
            if (!rows)
                return 1;
        }
        rows[nrows++] = (long)recall_value_int64(st, 0);
    }
    if (rc == RECALL_ERROR) {
        fprintf(stderr, "verify: %s\n", recall_stmt_errmsg(st));
        recall_stmt_free(st);
        free(rows);
        return 1;
    }
    recall_stmt_free(st);
    for (size_t i = 1; i < nrows; i++)
        if (rows[i] == rows[i - 1])
            dups++;
    if (ack_path) {
        if (!(f = fopen(ack_path, "r"))) {
            perror(ack_path);
            free(rows);
            return 1;
        }
        while (fscanf(f, "%ld", &v) == 1) {
            if (nacks == capacks) {
                capacks = capacks ? capacks * 2 : 1024;
                acks = realloc(acks, capacks * sizeof *acks);
                if (!acks)
                    return 1;
            }
            acks[nacks++] = v;
        }
        fclose(f);
        qsort(acks, nacks, sizeof *acks, cmp_long);
        for (size_t i = 0; i < nacks; i++)
            if (!bsearch(&acks[i], rows, nrows, sizeof *rows, cmp_long)) {
                if (missing < 10)
                    printf("  MISSING acknowledged row %ld\n", acks[i]);
                missing++;
            }
    }
    printf("%zu rows in %s, %zu acknowledged, %zu acknowledged rows missing, %zu duplicates\n",
           nrows, table, nacks, missing, dups);
    free(rows);
    free(acks);
    return missing || dups ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: recall-workload write  [--seconds S] [--rate R] [--table T] [--ack FILE] [--start N] [--quiet] CONN\n"
               "       recall-workload verify [--table T] [--ack FILE] CONN\n"
               "write: insert numbered rows, one autocommit statement each, for S seconds\n"
               "       (default 10) at R rows/s (default: as fast as possible), printing a\n"
               "       progress line every second; acknowledged numbers go to the ack file.\n"
               "verify: every acknowledged row is present exactly once (exit 1 otherwise).\n"
               "CONN is a connection string (default: $RECALL_CONN).\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"seconds", required_argument, NULL, 's'}, {"rate", required_argument, NULL, 'r'},
        {"table", required_argument, NULL, 't'},   {"ack", required_argument, NULL, 'a'},
        {"start", required_argument, NULL, 'n'},   {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *table = "workload", *ack = NULL, *conninfo = getenv("RECALL_CONN"), *cmd;
    double seconds = 10, rate = 0;
    long start = 0;
    bool quiet = false;
    recall_conn *c;
    int opt, rc;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    cmd = argv[1];
    optind = 2;
    while ((opt = getopt_long(argc, argv, "s:r:t:a:n:qh", opts, NULL)) != -1) {
        switch (opt) {
        case 's': seconds = atof(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 't': table = optarg; break;
        case 'a': ack = optarg; break;
        case 'n': start = atol(optarg); break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        conninfo = argv[optind];
    if (!conninfo) {
        usage(stderr);
        return 2;
    }
    for (const char *p = table; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            fprintf(stderr, "table names are [a-z0-9_]\n");
            return 2;
        }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (recall_connect(conninfo, &c) != RECALL_OK) {
        fprintf(stderr, "connect: %s\n", c ? recall_errmsg(c) : "out of memory");
        recall_close(c);
        return 1;
    }
    if (strcmp(cmd, "write") == 0)
        rc = cmd_write(c, table, seconds, rate, ack, start, quiet);
    else if (strcmp(cmd, "verify") == 0)
        rc = cmd_verify(c, table, ack);
    else {
        usage(stderr);
        rc = 2;
    }
    recall_close(c);
    return rc;
}
