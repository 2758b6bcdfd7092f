/* recallctl: look at and administer a Recall cluster.
 *
 * `recallctl status` asks every replica for its status over the control
 * role of the wire protocol (PROBE -> STATUS) and prints the view, the
 * primary, and per replica its state, L / c / a and lag, for humans or as
 * JSON.  It talks to replicas directly with blocking sockets and a timeout,
 * so it works when the cluster has no primary (that is when it is needed).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cfg.h"
#include "connstr.h"
#include "ctlclient.h"
#include "proto.h"
#include "verify.h"

struct reply {
    bool up;
    char error[256];
    struct proto_status st; /* owned strings */
};

static void probe(const struct replica_addr *a, uint64_t cluster, int timeout_ms, struct reply *r)
{
    struct err e;
    if (ctl_probe(a, cluster, timeout_ms, &r->st, &e) < 0) {
        snprintf(r->error, sizeof r->error, "%s", e.msg);
        return;
    }
    r->up = true;
}

static const char *status_name(uint8_t s)
{
    switch (s) {
    case STATUS_NORMAL: return "normal";
    case STATUS_VIEW_CHANGE: return "view-change";
    case STATUS_RECOVERING: return "recovering";
    case STATUS_TRANSFER: return "transfer";
    case STATUS_DIVERGED: return "diverged";
    default: return "?";
    }
}

static const char *detail(const struct proto_status *st, const char *key)
{
    for (uint32_t i = 0; i < st->detail.n; i++)
        if (strcmp(st->detail.v[i].key.p, key) == 0)
            return st->detail.v[i].val.p;
    return NULL;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int cmd_status(const struct replica_addr *v, size_t n, bool json, int timeout_ms)
{
    uint64_t cluster = addr_cluster_id(v, n);
    struct reply *r = calloc(n, sizeof *r);
    uint64_t view = 0, primary_op = 0;
    int primary = -1, up = 0;
    char idstr[ADDR_ID_STR_MAX];

    if (!r)
        return 1;
    for (size_t i = 0; i < n; i++) {
        probe(&v[i], cluster, timeout_ms, &r[i]);
        if (r[i].up) {
            up++;
            if (r[i].st.view > view)
                view = r[i].st.view;
        }
    }
    /* the primary: the replica that says so in the highest view, in normal status */
    for (size_t i = 0; i < n; i++) {
        const char *role = r[i].up ? detail(&r[i].st, "role") : NULL;
        if (r[i].up && r[i].st.view == view && r[i].st.status == STATUS_NORMAL && role &&
            strcmp(role, "primary") == 0) {
            primary = (int)i;
            primary_op = r[i].st.op;
        }
    }
    addr_cluster_id_format(cluster, idstr);
    if (json) {
        printf("{\"cluster\":\"%s\",\"replicas\":%zu,\"up\":%d,\"view\":%llu,\"primary\":%d,"
               "\"members\":[", idstr, n, up, (unsigned long long)view, primary);
        for (size_t i = 0; i < n; i++) {
            char a[ADDR_STR_MAX];
            addr_format(&v[i], a, sizeof a);
            printf("%s{\"index\":%zu,\"address\":", i ? "," : "", i);
            json_str(a);
            printf(",\"up\":%s", r[i].up ? "true" : "false");
            if (!r[i].up) {
                printf(",\"error\":");
                json_str(r[i].error);
                printf("}");
                continue;
            }
            printf(",\"role\":");
            json_str(detail(&r[i].st, "role") ? detail(&r[i].st, "role") : "?");
            printf(",\"status\":\"%s\",\"view\":%llu,\"op\":%llu,\"commit\":%llu,\"applied\":%llu,"
                   "\"log_start\":%llu",
                   status_name(r[i].st.status), (unsigned long long)r[i].st.view,
                   (unsigned long long)r[i].st.op, (unsigned long long)r[i].st.commit,
                   (unsigned long long)r[i].st.applied, (unsigned long long)r[i].st.log_start);
            if (primary >= 0)
                printf(",\"lag\":%llu", (unsigned long long)(primary_op > r[i].st.applied
                                                                 ? primary_op - r[i].st.applied
                                                                 : 0));
            printf(",\"detail\":{");
            for (uint32_t k = 0; k < r[i].st.detail.n; k++) {
                printf("%s", k ? "," : "");
                json_str(r[i].st.detail.v[k].key.p);
                putchar(':');
                json_str(r[i].st.detail.v[k].val.p);
            }
            printf("}}");
        }
        printf("]}\n");
    } else {
        printf("cluster %s: %zu replicas, %d up, view %llu, ", idstr, n, up,
               (unsigned long long)view);
        if (primary >= 0) {
            char a[ADDR_STR_MAX];
            addr_format(&v[primary], a, sizeof a);
            printf("primary %d (%s)\n", primary, a);
        } else {
            printf("NO PRIMARY\n");
        }
        printf("%-3s %-22s %-8s %-12s %10s %10s %10s %8s\n", "#", "address", "role", "status",
               "L", "c", "a", "lag");
        for (size_t i = 0; i < n; i++) {
            char a[ADDR_STR_MAX];
            addr_format(&v[i], a, sizeof a);
            if (!r[i].up) {
                printf("%-3zu %-22s %-8s %s\n", i, a, "-", r[i].error);
                continue;
            }
            const char *role = detail(&r[i].st, "role");
            char lag[24] = "-";
            if (primary >= 0)
                snprintf(lag, sizeof lag, "%llu",
                         (unsigned long long)(primary_op > r[i].st.applied
                                                  ? primary_op - r[i].st.applied
                                                  : 0));
            printf("%-3zu %-22s %-8s %-12s %10llu %10llu %10llu %8s\n", i, a,
                   role && r[i].st.view == view ? role : "backup", status_name(r[i].st.status),
                   (unsigned long long)r[i].st.op, (unsigned long long)r[i].st.commit,
                   (unsigned long long)r[i].st.applied, lag);
            const char *phase = detail(&r[i].st, "transfer_phase");
            if (phase) {
                const char *b = detail(&r[i].st, "transfer_bytes"), *tot = detail(&r[i].st, "transfer_total"),
                           *rate = detail(&r[i].st, "transfer_rate"), *eta = detail(&r[i].st, "transfer_eta_s"),
                           *donor = detail(&r[i].st, "transfer_donor"), *err = detail(&r[i].st, "transfer_error");
                printf("    state transfer: %s, %.1f of %.1f MB at %.1f MB/s, ETA %s s, donor %s%s%s\n",
                       phase, b ? atof(b) / 1e6 : 0.0, tot ? atof(tot) / 1e6 : 0.0,
                       rate ? atof(rate) / 1e6 : 0.0, eta ? eta : "?", donor ? donor : "?",
                       err ? "; last error: " : "", err ? err : "");
            }
            const char *don = detail(&r[i].st, "donating");
            if (don)
                printf("    donating its database: %s\n", don);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (r[i].up) {
            struct proto_msg m = {.type = MSG_STATUS};
            m.u.status = r[i].st;
            proto_msg_free(&m);
        }
    free(r);
    return primary >= 0 ? 0 : 3;
}

/* Send one CTL command to replica i and wait for its answer (STATUS or
 * ERROR).  On success *st is owned by the caller. */
static int ctl_command(const struct replica_addr *a, uint64_t cluster, const char *command,
                       const char *key, const char *val, int timeout_ms,
                       struct proto_status *st, struct err *e)
{
    struct ctlconn c;
    struct proto_msg m;
    int rc = -1;
    if (ctl_open(&c, a, cluster, timeout_ms, NULL, e) < 0)
        return -1;
    memset(&m, 0, sizeof m);
    m.type = MSG_CTL;
    m.u.ctl.req = 1;
    proto_str_setz(&m.u.ctl.command, command);
    if (key && proto_list_kv_resize(&m.u.ctl.args, 1) == 0) {
        proto_str_setz(&m.u.ctl.args.v[0].key, key);
        proto_str_setz(&m.u.ctl.args.v[0].val, val);
    }
    rc = ctl_send(&c, &m, timeout_ms, e);
    proto_msg_free(&m);
    if (rc < 0 || ctl_recv(&c, &m, timeout_ms, e) < 0) {
        rc = -1;
        goto out;
    }
    rc = -1;
    if (m.type == MSG_ERROR)
        err_set(e, ERR_SQL, "%s", m.u.error.msg.p);
    else if (m.type != MSG_STATUS)
        err_set(e, ERR_PROTOCOL, "unexpected %s", proto_type_name(m.type));
    else {
        *st = m.u.status;
        memset(&m, 0, sizeof m);
        rc = 0;
    }
    proto_msg_free(&m);
out:
    ctl_close(&c);
    return rc;
}

static void status_free(struct proto_status *st)
{
    struct proto_msg m = {.type = MSG_STATUS};
    m.u.status = *st;
    proto_msg_free(&m);
    memset(st, 0, sizeof *st);
}

static int cmd_resync(const struct replica_addr *v, size_t n, const char *which, int timeout_ms)
{
    char *end;
    unsigned long i = strtoul(which, &end, 10);
    struct proto_status st;
    struct err e;
    if (*which == '\0' || *end || i >= n) {
        fprintf(stderr, "recallctl: resync needs a replica index 0..%zu\n", n - 1);
        return 2;
    }
    if (ctl_command(&v[i], addr_cluster_id(v, n), "resync", NULL, NULL, timeout_ms, &st, &e) < 0) {
        fprintf(stderr, "recallctl: replica %lu: %s\n", i, e.msg);
        return 1;
    }
    printf("replica %lu: %s\n", i, st.detail.n ? st.detail.v[0].val.p : "ok");
    printf("follow it with: recallctl status (transfer phase, bytes, rate, ETA)\n");
    status_free(&st);
    return 0;
}

/* Checksums of every table on every replica at one op-number. */
static int cmd_verify(const struct replica_addr *v, size_t n, bool json, int timeout_ms)
{
    struct verify_result vr;
    struct err e;
    int differ = 0, got = 0, rc;

    if (verify_cluster(v, n, addr_cluster_id(v, n), timeout_ms, &vr, &e) < 0) {
        fprintf(stderr, "recallctl: %s\n", e.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        got += vr.answered[i];
        if ((vr.answered[i] && vr.group[i] != (vr.majority >= 0 ? vr.majority : 0)) ||
            vr.failed[i])
            differ++;
    }
    if (json) {
        printf("{\"op\":%llu,\"replicas\":[", (unsigned long long)vr.op);
        for (size_t i = 0; i < n; i++) {
            printf("%s{\"index\":%zu,\"answered\":%s", i ? "," : "", i,
                   vr.answered[i] ? "true" : "false");
            if (vr.answered[i]) {
                printf(",\"group\":%d,\"tables\":{", vr.group[i]);
                for (uint32_t k = 0; k < vr.sums[i].n; k++)
                    printf("%s\"%s\":\"%s\"", k ? "," : "", vr.sums[i].v[k].key.p,
                           vr.sums[i].v[k].val.p);
                printf("}");
            }
            printf("}");
        }
        printf("],\"majority\":%d,\"identical\":%s}\n", vr.majority,
               differ || got != (int)n ? "false" : "true");
    } else {
        printf("checksums at op %llu on %d of %zu replicas\n", (unsigned long long)vr.op, got, n);
        for (size_t i = 0; i < n; i++) {
            if (!vr.answered[i]) {
                printf("  replica %zu: %s: %s\n", i,
                       vr.failed[i] ? "CHECKSUM FAILED" : "no answer", vr.error[i]);
                continue;
            }
            if (vr.group[i] == (vr.majority >= 0 ? vr.majority : 0))
                continue;
            /* name the tables that differ from the majority */
            size_t ref = 0;
            while (ref < n && !(vr.answered[ref] && vr.group[ref] == (vr.majority >= 0 ? vr.majority : 0)))
                ref++;
            printf("  replica %zu DIFFERS from replica %zu:", i, ref);
            for (uint32_t k = 0; k < vr.sums[i].n || (ref < n && k < vr.sums[ref].n); k++) {
                const char *t = k < vr.sums[i].n ? vr.sums[i].v[k].key.p : vr.sums[ref].v[k].key.p;
                const char *a = k < vr.sums[i].n ? vr.sums[i].v[k].val.p : "(missing)";
                const char *b = ref < n && k < vr.sums[ref].n ? vr.sums[ref].v[k].val.p : "(missing)";
                if (strcmp(a, b) != 0)
                    printf(" %s", t);
            }
            printf("\n");
        }
        if (!differ)
            printf("identical: every replica that answered holds the same data\n");
        else
            printf("%d replica(s) differ; repair with: recallctl resync I\n", differ);
    }
    rc = differ ? 1 : (got == (int)n ? 0 : 3);
    verify_result_free(&vr);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: recallctl [OPTIONS] status|verify [--json] | resync I\n"
               "Look at a Recall cluster.\n\n"
               "Where the cluster is (one of):\n"
               "  -r, --replicas LIST    host:port,host:port,... (same order as everywhere)\n"
               "  -c, --config FILE      read replicas from a recalld.conf\n"
               "      --conn STRING      read replicas from a connection string\n"
               "  (default: $RECALL_REPLICAS)\n\n"
               "  -t, --timeout MS       per-replica timeout (default 2000)\n"
               "  -h, --help\n\n"
               "Commands:\n"
               "  status [--json]        view, primary, and per replica state, L/c/a and lag\n"
               "  verify [--json]        checksums of every table on every replica at one op\n"
               "  resync I               replica I copies a donor's database (state transfer)\n"
               "Exit status: status: 0 with a primary, 3 without; verify: 0 identical, 1\n"
               "different or failed, 3 identical but some replicas did not answer.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"replicas", required_argument, NULL, 'r'}, {"config", required_argument, NULL, 'c'},
        {"conn", required_argument, NULL, 1},      {"timeout", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *list = getenv("RECALL_REPLICAS"), *config = NULL, *conn = NULL, *cmd;
    struct replica_addr v[ADDR_MAX_REPLICAS];
    size_t n = 0;
    bool json = false;
    int timeout_ms = 2000, opt, rc = 1;
    struct err e;
    struct cfg cfg;
    struct connstr cs;
    char *owned = NULL;

    while ((opt = getopt_long(argc, argv, "r:c:t:jh", opts, NULL)) != -1) {
        switch (opt) {
        case 'r': list = optarg; break;
        case 'c': config = optarg; break;
        case 1: conn = optarg; break;
        case 't': timeout_ms = atoi(optarg); break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    cmd = argv[optind++];
    const char *arg1 = NULL;
    if (strcmp(cmd, "resync") == 0 && optind < argc)
        arg1 = argv[optind++];
    while (optind < argc) {
        if (strcmp(argv[optind], "--json") == 0)
            json = true;
        else {
            fprintf(stderr, "recallctl: unexpected argument '%s'\n", argv[optind]);
            return 2;
        }
        optind++;
    }
    if (timeout_ms <= 0)
        timeout_ms = 2000;
    cfg_init_defaults(&cfg);
    if (config) {
        if (cfg_load_file(&cfg, config, &e) < 0) {
            fprintf(stderr, "recallctl: %s\n", e.msg);
            goto out;
        }
        memcpy(v, cfg.replicas, sizeof v);
        n = cfg.nreplicas;
    } else if (conn) {
        if (connstr_parse(&cs, conn, strlen(conn), &e) < 0) {
            fprintf(stderr, "recallctl: %s\n", e.msg);
            goto out;
        }
        const char *rl = connstr_get(&cs, "replicas");
        owned = rl ? strdup(rl) : NULL;
        connstr_free(&cs);
        list = owned;
        if (!list) {
            fprintf(stderr, "recallctl: the connection string has no replicas= key\n");
            goto out;
        }
    }
    if (!n) {
        if (!list) {
            fprintf(stderr, "recallctl: where is the cluster? Give --replicas, --config or "
                            "--conn (or set RECALL_REPLICAS)\n");
            goto out;
        }
        if (addr_parse_list(list, v, &n, &e) < 0) {
            fprintf(stderr, "recallctl: %s\n", e.msg);
            goto out;
        }
    }
    if (strcmp(cmd, "status") == 0) {
        rc = cmd_status(v, n, json, timeout_ms);
    } else if (strcmp(cmd, "verify") == 0) {
        rc = cmd_verify(v, n, json, timeout_ms);
    } else if (strcmp(cmd, "resync") == 0) {
        if (!arg1) {
            fprintf(stderr, "recallctl: resync needs a replica index\n");
            rc = 2;
        } else {
            rc = cmd_resync(v, n, arg1, timeout_ms);
        }
    } else {
        fprintf(stderr, "recallctl: unknown command '%s'\n", cmd);
        usage(stderr);
        rc = 2;
    }
out:
    free(owned);
    cfg_free(&cfg);
    return rc;
}
