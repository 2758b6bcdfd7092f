/* Cluster-wide checksum comparison.  See verify.h. */
#include "config.h"

#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlclient.h"

static void status_free(struct proto_status *st)
{
    struct proto_msg m = {.type = MSG_STATUS};
    m.u.status = *st;
    proto_msg_free(&m);
    memset(st, 0, sizeof *st);
}

/* CTL checksum op=target at replica a. */
static int checksum_at(const struct replica_addr *a, uint64_t cluster, uint64_t target,
                       int timeout_ms, struct proto_status *st, struct err *e)
{
    struct ctlconn c;
    struct proto_msg m;
    char op[24];
    int rc = -1;
    if (ctl_open(&c, a, cluster, timeout_ms, NULL, e) < 0)
        return -1;
    memset(&m, 0, sizeof m);
    m.type = MSG_CTL;
    m.u.ctl.req = 1;
    snprintf(op, sizeof op, "%llu", (unsigned long long)target);
    if (proto_str_setz(&m.u.ctl.command, "checksum") < 0 ||
        proto_list_kv_resize(&m.u.ctl.args, 1) < 0 ||
        proto_str_setz(&m.u.ctl.args.v[0].key, "op") < 0 ||
        proto_str_setz(&m.u.ctl.args.v[0].val, op) < 0) {
        proto_msg_free(&m);
        ctl_close(&c);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    rc = ctl_send(&c, &m, timeout_ms, e);
    proto_msg_free(&m);
    /* the replica may wait for its apply to reach the op: allow for it */
    if (rc == 0 && ctl_recv(&c, &m, timeout_ms + 20000, e) == 0) {
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
    } else {
        rc = -1;
    }
    ctl_close(&c);
    return rc;
}

static bool same_sums(const struct proto_list_kv *a, const struct proto_list_kv *b)
{
    if (a->n != b->n)
        return false;
    for (uint32_t k = 0; k < a->n; k++)
        if (strcmp(a->v[k].key.p, b->v[k].key.p) != 0 || strcmp(a->v[k].val.p, b->v[k].val.p) != 0)
            return false;
    return true;
}

void verify_result_free(struct verify_result *r)
{
    for (size_t i = 0; i < ADDR_MAX_REPLICAS; i++) {
        proto_list_kv_resize(&r->sums[i], 0);
        free(r->sums[i].v);
        r->sums[i].v = NULL;
    }
}

int verify_cluster(const struct replica_addr *v, size_t n, uint64_t cluster, int timeout_ms,
                   struct verify_result *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    for (int attempt = 0; attempt < 5; attempt++) {
        struct proto_status st[ADDR_MAX_REPLICAS];
        uint64_t target = 0, first = 0;
        bool same = true;
        int got = 0;

        /* aim at the furthest log (a little further on later attempts) so
         * that busy replicas stop at the same op */
        for (size_t i = 0; i < n; i++) {
            struct proto_status p;
            struct err pe;
            if (ctl_probe(&v[i], cluster, timeout_ms, &p, &pe) == 0) {
                if (p.op > target)
                    target = p.op;
                status_free(&p);
            }
        }
        target += (uint64_t)attempt * 100;
        memset(st, 0, sizeof st);
        for (size_t i = 0; i < n; i++) {
            struct err ce;
            out->answered[i] = checksum_at(&v[i], cluster, target, timeout_ms, &st[i], &ce) == 0;
            if (!out->answered[i]) {
                snprintf(out->error[i], sizeof out->error[i], "%s", ce.msg);
                /* it answered with an error: it is there, and not sound */
                out->failed[i] = ce.code == ERR_SQL;
                continue;
            }
            out->failed[i] = false;
            out->error[i][0] = '\0';
            if (!got++)
                first = st[i].applied;
            else if (st[i].applied != first)
                same = false;
        }
        if (got && same) {
            int groups = 0, count[ADDR_MAX_REPLICAS] = {0};
            out->op = first;
            for (size_t i = 0; i < n; i++) {
                out->group[i] = -1;
                if (!out->answered[i])
                    continue;
                out->sums[i] = st[i].detail;
                memset(&st[i].detail, 0, sizeof st[i].detail);
                for (size_t j = 0; j < i; j++)
                    if (out->group[j] >= 0 && same_sums(&out->sums[i], &out->sums[j])) {
                        out->group[i] = out->group[j];
                        break;
                    }
                if (out->group[i] < 0)
                    out->group[i] = groups++;
                count[out->group[i]]++;
            }
            out->majority = -1;
            for (int g = 0; g < groups; g++)
                if ((size_t)count[g] > n / 2)
                    out->majority = g;
            for (size_t i = 0; i < n; i++)
                if (out->answered[i])
                    status_free(&st[i]);
            return 0;
        }
        for (size_t i = 0; i < n; i++)
            if (out->answered[i])
                status_free(&st[i]);
        if (!got)
            break;
    }
    return err_set(e, ERR_UNAVAILABLE, "could not get checksums at one op from the replicas");
}
