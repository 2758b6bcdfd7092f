/* jepsen-check: check the history of one fault-test workload.
 *
 * Loads every history file given (one per client process), runs the
 * workload's checker (checkers.h), writes the explanation of anything found
 * to stdout or --report, and ends with one machine-readable line:
 *   RESULT workload=W valid=yes|no ok=N fail=N info=N anomalies=N
 *          longest_unavailable_ms=N verdict="..."
 * Exit status: 0 valid, 1 anomalies (or nothing could be checked), 2 bad
 * usage or an unreadable / malformed history file.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkers.h"
#include "jhist.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: jepsen-check --workload register|bank|append|unique [OPTIONS] HISTORY...\n"
               "  --accounts N, --total T   bank: number of accounts and their constant total\n"
               "  --window FROM TO          unavailability window (CLOCK_MONOTONIC ns)\n"
               "  --no-realtime             append: check serializability only (not strict)\n"
               "  --unknown-errors LIST     failures whose error starts with one of these\n"
               "                            comma-separated prefixes count as unknown (info)\n"
               "  --report FILE             explanations (default: stdout)\n");
}

/* Failures whose error starts with one of the comma-separated prefixes
 * become operations of unknown outcome. */
static void demote_failures(struct jh_history *h, const char *prefixes)
{
    for (size_t i = 0; i < h->n; i++) {
        struct jh_op *o = &h->ops[i];
        const char *p = prefixes;
        if (o->status != JH_FAIL || !o->error)
            continue;
        while (*p) {
            size_t len = strcspn(p, ",");
            if (len && strncmp(o->error, p, len) == 0) {
                o->status = JH_INFO;
                break;
            }
            p += len;
            if (*p == ',')
                p++;
        }
    }
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;
    if (!s || !*s)
        return -1;
    v = strtoll(s, &end, 10);
    if (*end)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"workload", required_argument, NULL, 'w'},
        {"accounts", required_argument, NULL, 'a'},
        {"total", required_argument, NULL, 't'},
        {"window", required_argument, NULL, 'W'},
        {"no-realtime", no_argument, NULL, 'R'},
        {"report", required_argument, NULL, 'r'},
        {"unknown-errors", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *workload = NULL, *report_path = NULL, *unknown_errors = NULL;
    int64_t accounts = -1, total = -1, from = 0, to = 0, gap_at;
    bool realtime = true;
    struct jh_history h;
    struct chk_summary s;
    struct elle_result er;
    FILE *report = stdout;
    char err[512];
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'w': workload = optarg; break;
        case 'a':
            if (parse_i64(optarg, &accounts) < 0 || accounts <= 0 || accounts > 1000000) {
                fprintf(stderr, "jepsen-check: --accounts must be 1..1000000\n");
                return 2;
            }
            break;
        case 't':
            if (parse_i64(optarg, &total) < 0 || total < 0) {
                fprintf(stderr, "jepsen-check: --total must be a number >= 0\n");
                return 2;
            }
            break;
        case 'W':
            if (optind >= argc || parse_i64(optarg, &from) < 0 ||
                parse_i64(argv[optind], &to) < 0) {
                fprintf(stderr, "jepsen-check: --window needs FROM and TO (ns)\n");
                return 2;
            }
            optind++;
            break;
        case 'R': realtime = false; break;
        case 'r': report_path = optarg; break;
        case 'u': unknown_errors = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!workload || optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (strcmp(workload, "bank") == 0 && (accounts < 0 || total < 0)) {
        fprintf(stderr, "jepsen-check: bank needs --accounts and --total\n");
        return 2;
    }
    jh_init(&h);
    for (int i = optind; i < argc; i++)
        if (jh_load(&h, argv[i], err, sizeof err) < 0) {
            fprintf(stderr, "jepsen-check: %s\n", err);
            jh_free(&h);
            return 2;
        }
    jh_sort(&h);
    if (unknown_errors)
        demote_failures(&h, unknown_errors);
    if (report_path && !(report = fopen(report_path, "w"))) {
        perror(report_path);
        jh_free(&h);
        return 2;
    }

    if (strcmp(workload, "register") == 0)
        rc = chk_register(&h, report, &s);
    else if (strcmp(workload, "bank") == 0)
        rc = chk_bank(&h, accounts, total, report, &s);
    else if (strcmp(workload, "append") == 0)
        rc = chk_append(&h, realtime, report, &s, &er);
    else if (strcmp(workload, "unique") == 0)
        rc = chk_unique(&h, report, &s);
    else {
        fprintf(stderr, "jepsen-check: unknown workload %s\n", workload);
        if (report != stdout)
            fclose(report);
        jh_free(&h);
        return 2;
    }
    int64_t gap = jh_longest_gap(&h, from, to, &gap_at);
    if (report != stdout)
        fclose(report);
    for (char *p = s.verdict; *p; p++)
        if (*p == '"')
            *p = '\'';
    printf("RESULT workload=%s valid=%s ok=%zu fail=%zu info=%zu pending=%zu anomalies=%zu "
           "longest_unavailable_ms=%" PRId64 " unavailable_from_ns=%" PRId64 " verdict=\"%s\"\n",
           workload, rc == 0 ? "yes" : "no", s.ok, s.fail, s.info, s.pending, s.anomalies,
           gap / 1000000, gap_at, s.verdict);
    jh_free(&h);
    return s.malformed ? 2 : rc;
}
