/* Checkers of the fault-test workloads (see checkers.h).  The register
 * checker converts the history into the simulator's (tests/sim/history.h)
 * and runs its linearizability search; the list-append checker converts
 * transactions into elle.h's form; bank and unique-insert are checked
 * directly.  Values of an unexpected shape make the history malformed,
 * which is a failure: a checker never guesses.
 */
#include "config.h"

#include "checkers.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/history.h"

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "checkers: out of memory\n");
        abort();
    }
    return p;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        fprintf(stderr, "checkers: out of memory\n");
        abort();
    }
    return p;
}

static void count_outcomes(const struct jh_history *h, const char *only, struct chk_summary *s)
{
    for (size_t i = 0; i < h->n; i++) {
        if (only && strcmp(h->ops[i].f, only) != 0)
            continue;
        switch (h->ops[i].status) {
        case JH_OK: s->ok++; break;
        case JH_FAIL: s->fail++; break;
        case JH_INFO: s->info++; break;
        default: s->pending++; break;
        }
    }
}

static void say(FILE *report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(FILE *report, const char *fmt, ...)
{
    va_list ap;
    if (!report)
        return;
    va_start(ap, fmt);
    vfprintf(report, fmt, ap);
    va_end(ap);
}

static int malformed(const struct jh_op *o, FILE *report, struct chk_summary *s, const char *why)
{
    if (!s->malformed)
        snprintf(s->verdict, sizeof s->verdict, "malformed history: %s (process %" PRId64
                 ", line %zu)", why, o->process, o->line);
    say(report, "malformed: process %" PRId64 " line %zu (%s %s): %s\n", o->process, o->line,
        o->f, jh_status_name(o->status), why);
    s->malformed = true;
    s->anomalies++;
    return -1;
}

static bool is_int(const struct jv *v)
{
    return v && v->kind == JV_INT;
}

/* ---- register ---- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t key_index(const int64_t *keys, size_t n, int64_t k)
{
    const int64_t *p = bsearch(&k, keys, n, sizeof *keys, cmp_i64);
    return (uint32_t)(p - keys);
}

int chk_register(const struct jh_history *h, FILE *report, struct chk_summary *s)
{
    struct history lh;
    struct lin_result lr;
    uint64_t *inv, *ret;
    int64_t *keys = xmalloc(h->n * sizeof *keys);
    size_t nkeys = 0, bad_rows = 0;

    memset(s, 0, sizeof *s);
    count_outcomes(h, NULL, s);
    for (size_t i = 0; i < h->n; i++) {
        const struct jh_op *o = &h->ops[i];
        const struct jv *v = &o->invoke_value;
        bool w = strcmp(o->f, "write") == 0;
        if (!w && strcmp(o->f, "read") != 0) {
            malformed(o, report, s, "register operations are write and read");
            continue;
        }
        if (v->kind != JV_ARR || v->n != 2 || !is_int(&v->items[0]) ||
            (w && (!is_int(&v->items[1]) || v->items[1].i <= 0))) {
            malformed(o, report, s, "expected [key, value > 0] or [key, null]");
            continue;
        }
        if (v->items[0].i < 0 || v->items[0].i > UINT32_MAX) {
            malformed(o, report, s, "keys must be 0..2^32-1");
            continue;
        }
        keys[nkeys++] = v->items[0].i;
        if (!w && o->status == JH_OK) {
            const struct jv *r = &o->value;
            if (r->kind != JV_ARR || r->n != 2 || !is_int(&r->items[0]) ||
                r->items[0].i != v->items[0].i ||
                !(r->items[1].kind == JV_NULL || is_int(&r->items[1])))
                malformed(o, report, s, "a read returns [key, value or null]");
        }
        if (w && o->status == JH_OK) {
            const struct jv *r = &o->value;
            if (r->kind == JV_ARR && r->n == 3 && is_int(&r->items[2]) && r->items[2].i != 1) {
                bad_rows++;
                s->anomalies++;
                say(report, "register: the write of line %zu (process %" PRId64 ") affected %"
                    PRId64 " rows (1 expected)\n", o->line, o->process, r->items[2].i);
            }
        }
    }
    if (s->malformed) {
        free(keys);
        return 1;
    }
    qsort(keys, nkeys, sizeof *keys, cmp_i64);
    {
        size_t u = 0;
        for (size_t i = 0; i < nkeys; i++)
            if (!u || keys[u - 1] != keys[i])
                keys[u++] = keys[i];
        nkeys = u;
    }

    jh_stamps(h, &inv, &ret);
    history_init(&lh);
    for (size_t i = 0; i < h->n; i++) {
        const struct jh_op *o = &h->ops[i];
        struct hist_op ho;
        bool w = strcmp(o->f, "write") == 0;
        memset(&ho, 0, sizeof ho);
        ho.client = (int)o->process;
        ho.kind = w ? H_WRITE : H_READ;
        ho.level = H_LIN;
        ho.status = o->status == JH_OK ? H_OK : o->status == JH_FAIL ? H_FAIL : H_UNKNOWN;
        ho.key = key_index(keys, nkeys, o->invoke_value.items[0].i);
        if (w)
            ho.value = o->invoke_value.items[1].i;
        else if (o->status == JH_OK && o->value.items[1].kind == JV_INT)
            ho.value = o->value.items[1].i;
        else
            ho.value = 0; /* null: the register's initial state */
        ho.invoke = inv[i];
        ho.ret = ret[i];
        ho.invoke_us = (uint64_t)o->invoke_ns / 1000u;
        ho.ret_us = (uint64_t)o->complete_ns / 1000u;
        history_add(&lh, &ho);
    }
    lin_check(&lh, 0, &lr);
    if (lr.verdict != LIN_OK) {
        s->anomalies++;
        if (lr.verdict == LIN_INCONCLUSIVE)
            s->inconclusive = true;
        snprintf(s->verdict, sizeof s->verdict, "%s on key %" PRId64 " (%zu operations checked)",
                 lr.verdict == LIN_VIOLATION ? "NOT linearizable" : "inconclusive (search bound)",
                 keys[lr.key], lr.ops_checked);
        say(report, "register: %s; the history of key %" PRId64 " (stamps are ranks of "
            "invocation/completion times; t in ms of CLOCK_MONOTONIC):\n", s->verdict,
            keys[lr.key]);
        if (report)
            history_print_key(&lh, lr.key, report);
    } else if (bad_rows) {
        snprintf(s->verdict, sizeof s->verdict, "%zu writes affected an unexpected row count",
                 bad_rows);
    } else {
        snprintf(s->verdict, sizeof s->verdict, "linearizable (%zu keys, %zu operations checked)",
                 nkeys, lr.ops_checked);
    }
    history_free(&lh);
    free(inv);
    free(ret);
    free(keys);
    return s->anomalies ? 1 : 0;
}

/* ---- bank ---- */

int chk_bank(const struct jh_history *h, int64_t accounts, int64_t total, FILE *report,
             struct chk_summary *s)
{
    size_t reads = 0, bad = 0;
    bool *seen = xcalloc((size_t)(accounts > 0 ? accounts : 1), sizeof *seen);

    memset(s, 0, sizeof *s);
    count_outcomes(h, NULL, s);
    for (size_t i = 0; i < h->n; i++) {
        const struct jh_op *o = &h->ops[i];
        const struct jv *v = &o->value;
        int64_t sum = 0;
        bool ok = true;
        char why[128] = "";
        if (strcmp(o->f, "transfer") == 0) {
            const struct jv *t = &o->invoke_value;
            if (t->kind != JV_ARR || t->n != 3 || !is_int(&t->items[0]) || !is_int(&t->items[1]) ||
                !is_int(&t->items[2]))
                malformed(o, report, s, "a transfer is [from, to, amount]");
            continue;
        }
        if (strcmp(o->f, "read") != 0) {
            malformed(o, report, s, "bank operations are transfer and read");
            continue;
        }
        if (o->status != JH_OK)
            continue;
        if (v->kind != JV_ARR) {
            malformed(o, report, s, "a read returns [[id, balance], ...]");
            continue;
        }
        reads++;
        memset(seen, 0, (size_t)accounts * sizeof *seen);
        for (size_t k = 0; k < v->n && ok; k++) {
            const struct jv *row = &v->items[k];
            if (row->kind != JV_ARR || row->n != 2 || !is_int(&row->items[0]) ||
                !is_int(&row->items[1])) {
                malformed(o, report, s, "a read returns [[id, balance], ...]");
                ok = false;
                break;
            }
            int64_t id = row->items[0].i, bal = row->items[1].i;
            if (id < 0 || id >= accounts) {
                snprintf(why, sizeof why, "unknown account %" PRId64, id);
                ok = false;
            } else if (seen[id]) {
                snprintf(why, sizeof why, "account %" PRId64 " twice", id);
                ok = false;
            } else if (bal < 0) {
                snprintf(why, sizeof why, "account %" PRId64 " has a negative balance %" PRId64,
                         id, bal);
                ok = false;
            } else {
                seen[id] = true;
                if (__builtin_add_overflow(sum, bal, &sum)) {
                    snprintf(why, sizeof why, "balances overflow");
                    ok = false;
                }
            }
        }
        if (s->malformed)
            continue;
        if (ok && (int64_t)v->n != accounts) {
            snprintf(why, sizeof why, "%zu accounts instead of %" PRId64, v->n, accounts);
            ok = false;
        }
        if (ok && sum != total) {
            snprintf(why, sizeof why, "total %" PRId64 " instead of %" PRId64, sum, total);
            ok = false;
        }
        if (!ok) {
            bad++;
            s->anomalies++;
            if (bad <= 10) {
                say(report, "bank: the read of line %zu (process %" PRId64 ") is wrong: %s:",
                    o->line, o->process, why);
                for (size_t k = 0; k < v->n && report; k++)
                    if (v->items[k].kind == JV_ARR && v->items[k].n == 2)
                        fprintf(report, " %" PRId64 "=%" PRId64, v->items[k].items[0].i,
                                v->items[k].items[1].i);
                say(report, "\n");
            }
            if (bad == 1)
                snprintf(s->verdict, sizeof s->verdict, "wrong read (line %zu): %s", o->line, why);
        }
    }
    free(seen);
    if (!s->malformed && !reads) {
        s->anomalies++;
        s->inconclusive = true;
        snprintf(s->verdict, sizeof s->verdict, "no successful read: nothing was checked");
        say(report, "bank: %s\n", s->verdict);
    } else if (!s->anomalies) {
        snprintf(s->verdict, sizeof s->verdict, "%zu reads, all with %" PRId64 " accounts and "
                 "total %" PRId64, reads, accounts, total);
    } else if (bad > 1) {
        say(report, "bank: %zu wrong reads out of %zu\n", bad, reads);
    }
    return s->anomalies ? 1 : 0;
}

/* ---- list append ---- */

int chk_append(const struct jh_history *h, bool realtime, FILE *report, struct chk_summary *s,
               struct elle_result *er)
{
    struct elle_txn *t = xcalloc(h->n, sizeof *t);
    struct elle_mop **mops = xcalloc(h->n, sizeof *mops);
    int64_t **lists = NULL;
    size_t nlists = 0, caplists = 0, found;
    uint64_t *inv, *ret;
    struct elle_opts eo = {.realtime = realtime, .report = report, .max_reports = 6};

    memset(s, 0, sizeof *s);
    memset(er, 0, sizeof *er);
    count_outcomes(h, NULL, s);
    jh_stamps(h, &inv, &ret);
    for (size_t i = 0; i < h->n; i++) {
        const struct jh_op *o = &h->ops[i];
        const struct jv *iv = &o->invoke_value, *cv = &o->value;
        bool ok = o->status == JH_OK;
        if (strcmp(o->f, "txn") != 0) {
            malformed(o, report, s, "list-append operations are txn");
            continue;
        }
        if (iv->kind != JV_ARR || (ok && (cv->kind != JV_ARR || cv->n != iv->n))) {
            malformed(o, report, s, "a txn is a list of micro-operations");
            continue;
        }
        mops[i] = xcalloc(iv->n, sizeof *mops[i]);
        t[i].status = ok ? ELLE_OK : o->status == JH_FAIL ? ELLE_FAIL : ELLE_INFO;
        t[i].invoke = inv[i];
        t[i].ret = ok ? ret[i] : UINT64_MAX;
        t[i].process = o->process;
        t[i].tag = i;
        t[i].mops = mops[i];
        for (size_t k = 0; k < iv->n; k++) {
            const struct jv *m = &iv->items[k], *r = ok ? &cv->items[k] : NULL;
            struct elle_mop *em = &mops[i][k];
            if (m->kind != JV_ARR || m->n != 3 || m->items[0].kind != JV_STR ||
                !is_int(&m->items[1])) {
                malformed(o, report, s, "a micro-operation is [\"r\"|\"append\", key, value]");
                break;
            }
            em->key = m->items[1].i;
            if (strcmp(m->items[0].s, "append") == 0) {
                if (!is_int(&m->items[2])) {
                    malformed(o, report, s, "an append needs an integer value");
                    break;
                }
                em->append = true;
                em->value = m->items[2].i;
            } else if (strcmp(m->items[0].s, "r") == 0) {
                if (!ok)
                    continue;
                if (r->kind != JV_ARR || r->n != 3 || r->items[2].kind != JV_ARR ||
                    !is_int(&r->items[1]) || r->items[1].i != em->key) {
                    malformed(o, report, s, "a read completes as [\"r\", key, [values]]");
                    break;
                }
                const struct jv *l = &r->items[2];
                int64_t *vals = xmalloc(l->n * sizeof *vals);
                bool good = true;
                for (size_t x = 0; x < l->n; x++) {
                    if (!is_int(&l->items[x])) {
                        good = false;
                        break;
                    }
                    vals[x] = l->items[x].i;
                }
                if (nlists == caplists) {
                    caplists = caplists ? caplists * 2 : 256;
                    lists = realloc(lists, caplists * sizeof *lists);
                    if (!lists)
                        abort();
                }
                lists[nlists++] = vals;
                if (!good) {
                    malformed(o, report, s, "read lists hold integers");
                    break;
                }
                em->known = true;
                em->list = vals;
                em->nlist = l->n;
            } else {
                malformed(o, report, s, "a micro-operation is \"r\" or \"append\"");
                break;
            }
        }
        t[i].nmops = iv->n;
    }
    if (!s->malformed) {
        found = elle_check(t, h->n, &eo, er);
        s->anomalies += found;
        if (er->cycle_search_truncated) {
            s->inconclusive = true;
            s->anomalies++;
        }
        if (found) {
            size_t len = 0;
            len += (size_t)snprintf(s->verdict, sizeof s->verdict, "anomalies:");
            for (int a = 0; a < ELLE__COUNT && len < sizeof s->verdict; a++)
                if (er->count[a])
                    len += (size_t)snprintf(s->verdict + len, sizeof s->verdict - len, " %s=%zu",
                                            elle_anomaly_name(a), er->count[a]);
        } else if (s->inconclusive) {
            snprintf(s->verdict, sizeof s->verdict, "inconclusive: the cycle search ran out of "
                     "budget");
        } else {
            snprintf(s->verdict, sizeof s->verdict, "%s (%zu txns, %zu keys; %zu ww, %zu wr, "
                     "%zu rw%s edges)", realtime ? "strict serializable" : "serializable",
                     er->txns, er->keys, er->edges_ww, er->edges_wr, er->edges_rw,
                     realtime ? ", real-time" : "");
        }
    }
    for (size_t i = 0; i < h->n; i++)
        free(mops[i]);
    for (size_t i = 0; i < nlists; i++)
        free(lists[i]);
    free(lists);
    free(mops);
    free(t);
    free(inv);
    free(ret);
    return s->anomalies ? 1 : 0;
}

/* ---- unique inserts ---- */

struct uval {
    int64_t v;
    size_t op;      /* the insert that carried it */
};

static int cmp_uval(const void *a, const void *b)
{
    const struct uval *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v;
}

int chk_unique(const struct jh_history *h, FILE *report, struct chk_summary *s)
{
    struct uval *vals;
    size_t nvals = 0, last_read = SIZE_MAX, *present;
    size_t lost = 0, dup = 0, failed_seen = 0, phantom = 0, partial = 0, info_dup = 0;
    unsigned *count;

    memset(s, 0, sizeof *s);
    count_outcomes(h, NULL, s);
    for (size_t i = 0; i < h->n; i++) {
        const struct jh_op *o = &h->ops[i];
        if (strcmp(o->f, "insert") == 0) {
            if (o->invoke_value.kind != JV_ARR || o->invoke_value.n == 0) {
                malformed(o, report, s, "an insert is [value, ...]");
                continue;
            }
            for (size_t k = 0; k < o->invoke_value.n; k++)
                if (!is_int(&o->invoke_value.items[k]))
                    malformed(o, report, s, "inserted values are integers");
            nvals += o->invoke_value.n;
        } else if (strcmp(o->f, "read") == 0) {
            if (o->status != JH_OK)
                continue;
            if (o->value.kind != JV_ARR) {
                malformed(o, report, s, "a read returns [value, ...]");
                continue;
            }
            for (size_t k = 0; k < o->value.n; k++)
                if (!is_int(&o->value.items[k]))
                    malformed(o, report, s, "read values are integers");
            if (last_read == SIZE_MAX || o->invoke_ns >= h->ops[last_read].invoke_ns)
                last_read = i;
        } else {
            malformed(o, report, s, "unique-insert operations are insert and read");
        }
    }
    if (s->malformed)
        return 1;
    if (last_read == SIZE_MAX) {
        s->anomalies++;
        s->inconclusive = true;
        snprintf(s->verdict, sizeof s->verdict, "no successful final read: nothing was checked");
        say(report, "unique: %s\n", s->verdict);
        return 1;
    }
    vals = xmalloc((nvals ? nvals : 1) * sizeof *vals);
    nvals = 0;
    for (size_t i = 0; i < h->n; i++) {
        const struct jh_op *o = &h->ops[i];
        if (strcmp(o->f, "insert") == 0)
            for (size_t k = 0; k < o->invoke_value.n; k++)
                vals[nvals++] = (struct uval){o->invoke_value.items[k].i, i};
    }
    qsort(vals, nvals, sizeof *vals, cmp_uval);
    for (size_t i = 1; i < nvals; i++)
        if (vals[i].v == vals[i - 1].v) {
            malformed(&h->ops[vals[i].op], report, s, "a value was inserted twice by the clients");
            free(vals);
            return 1;
        }
    count = xcalloc(nvals, sizeof *count);
    /* count each value in the final read */
    {
        const struct jv *r = &h->ops[last_read].value;
        for (size_t k = 0; k < r->n; k++) {
            struct uval key = {r->items[k].i, 0};
            struct uval *u = bsearch(&key, vals, nvals, sizeof *vals, cmp_uval);
            if (!u) {
                phantom++;
                s->anomalies++;
                if (phantom <= 10)
                    say(report, "unique: value %" PRId64 " is in the table but no client inserted "
                        "it\n", key.v);
                continue;
            }
            count[u - vals]++;
        }
    }
    present = xcalloc(h->n, sizeof *present);
    for (size_t i = 0; i < nvals; i++) {
        const struct jh_op *o = &h->ops[vals[i].op];
        if (count[i])
            present[vals[i].op]++;
        if (o->status == JH_OK && count[i] != 1) {
            if (count[i] == 0)
                lost++;
            else
                dup++;
            s->anomalies++;
            if (lost + dup <= 10)
                say(report, "unique: acknowledged value %" PRId64 " (line %zu, process %" PRId64
                    ") appears %u times in the final read\n", vals[i].v, o->line, o->process,
                    count[i]);
        } else if (o->status == JH_FAIL && count[i]) {
            failed_seen++;
            s->anomalies++;
            if (failed_seen <= 10)
                say(report, "unique: value %" PRId64 " of a FAILED insert (line %zu, process %"
                    PRId64 ", error %s) appears %u times\n", vals[i].v, o->line, o->process,
                    o->error ? o->error : "?", count[i]);
        } else if ((o->status == JH_INFO || o->status == JH_PENDING) && count[i] > 1) {
            info_dup++;
            s->anomalies++;
            say(report, "unique: value %" PRId64 " of an insert with unknown outcome (line %zu)"
                " appears %u times\n", vals[i].v, o->line, count[i]);
        }
    }
    for (size_t i = 0; i < h->n; i++) {
        const struct jh_op *o = &h->ops[i];
        if (strcmp(o->f, "insert") != 0 || !present[i] || present[i] == o->invoke_value.n)
            continue;
        partial++;
        s->anomalies++;
        say(report, "unique: only %zu of the %zu values of the %s insert of line %zu (process %"
            PRId64 ") are present: a transaction took effect in part\n", present[i],
            o->invoke_value.n, jh_status_name(o->status), o->line, o->process);
    }
    if (s->anomalies)
        snprintf(s->verdict, sizeof s->verdict, "lost %zu, duplicated %zu, failed-but-present %zu,"
                 " unknown-twice %zu, never-inserted %zu, partial transactions %zu", lost, dup,
                 failed_seen, info_dup, phantom, partial);
    else
        snprintf(s->verdict, sizeof s->verdict, "%zu rows: every acknowledged value once, "
                 "nothing failed or unknown twice", h->ops[last_read].value.n);
    free(present);
    free(count);
    free(vals);
    return s->anomalies ? 1 : 0;
}
