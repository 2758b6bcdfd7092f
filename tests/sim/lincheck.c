/* Linearizability of a key-value history (see history.h), checked per key
 * with the Wing-Gong algorithm as improved by Lowe and used by Porcupine.
 *
 * The sub-history of one key becomes a doubly linked list of call and
 * return events in stamp order.  The search repeatedly takes the first call
 * it can apply to the register model ("lifting" it and its return out of
 * the list) and backtracks when it meets a return whose call has not been
 * linearized.  A set of (linearized ops, register value) pairs already
 * explored cuts repeated work.  Writes whose outcome is unknown get a return
 * after everything, so they may take effect anywhere after their invoke or
 * never; failed operations and reads that are not linearizable-level are
 * not part of the check.
 */
#include "config.h"

#include "history.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_STEPS 20000000ull

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        fprintf(stderr, "lincheck: out of memory\n");
        abort();
    }
    return p;
}

void history_init(struct history *h)
{
    memset(h, 0, sizeof *h);
}

void history_free(struct history *h)
{
    free(h->ops);
    memset(h, 0, sizeof *h);
}

size_t history_add(struct history *h, const struct hist_op *op)
{
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 256;
        struct hist_op *v = realloc(h->ops, ncap * sizeof *v);
        if (!v) {
            fprintf(stderr, "history: out of memory\n");
            abort();
        }
        h->ops = v;
        h->cap = ncap;
    }
    h->ops[h->n] = *op;
    return h->n++;
}

const char *hist_status_name(enum hist_status s)
{
    switch (s) {
    case H_OK: return "ok";
    case H_FAIL: return "fail";
    case H_UNKNOWN: return "unknown";
    default: return "pending";
    }
}

/* ---- one key ---- */

struct lent {
    bool call;
    uint32_t id;           /* index into the key's op array */
    uint64_t stamp;
    struct lent *prev, *next, *match;
};

struct lop {
    bool write;
    int64_t value;
};

/* Memo of explored (bitset, value) pairs: open addressing on a hash, keys
 * stored in one arena. */
struct memo {
    uint64_t *keys;        /* nslots * (words + 1) */
    uint8_t *used;
    size_t nslots, count, words;
};

static uint64_t memo_hash(const uint64_t *bits, size_t words, int64_t value)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)value;
    for (size_t i = 0; i < words; i++) {
        h ^= bits[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h *= 0xff51afd7ed558ccdull;
    }
    return h ^ (h >> 33);
}

static void memo_init(struct memo *m, size_t words)
{
    m->words = words;
    m->nslots = 1024;
    m->count = 0;
    m->keys = xcalloc(m->nslots * (words + 1), sizeof *m->keys);
    m->used = xcalloc(m->nslots, 1);
}

static void memo_free(struct memo *m)
{
    free(m->keys);
    free(m->used);
}

static bool memo_insert(struct memo *m, const uint64_t *bits, int64_t value);

static void memo_grow(struct memo *m)
{
    struct memo n;
    n.words = m->words;
    n.nslots = m->nslots * 2;
    n.count = 0;
    n.keys = xcalloc(n.nslots * (n.words + 1), sizeof *n.keys);
    n.used = xcalloc(n.nslots, 1);
    for (size_t i = 0; i < m->nslots; i++)
        if (m->used[i]) {
            const uint64_t *k = &m->keys[i * (m->words + 1)];
            memo_insert(&n, k + 1, (int64_t)k[0]);
        }
    memo_free(m);
    *m = n;
}

/* Insert; false if it was already there. */
static bool memo_insert(struct memo *m, const uint64_t *bits, int64_t value)
{
    size_t stride = m->words + 1;
    size_t i;
    if ((m->count + 1) * 2 > m->nslots)
        memo_grow(m);
    i = memo_hash(bits, m->words, value) & (m->nslots - 1);
    for (;; i = (i + 1) & (m->nslots - 1)) {
        uint64_t *k = &m->keys[i * stride];
        if (!m->used[i]) {
            m->used[i] = 1;
            k[0] = (uint64_t)value;
            memcpy(k + 1, bits, m->words * sizeof *bits);
            m->count++;
            return true;
        }
        if (k[0] == (uint64_t)value && !memcmp(k + 1, bits, m->words * sizeof *bits))
            return false;
    }
}

static int cmp_lent(const void *a, const void *b)
{
    const struct lent *x = *(const struct lent *const *)a, *y = *(const struct lent *const *)b;
    return x->stamp < y->stamp ? -1 : x->stamp > y->stamp;
}

static void lift(struct lent *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->match->prev->next = e->match->next;
    if (e->match->next)
        e->match->next->prev = e->match->prev;
}

static void unlift(struct lent *e)
{
    struct lent *m = e->match;
    m->prev->next = m;
    if (m->next)
        m->next->prev = m;
    e->prev->next = e;
    e->next->prev = e;
}

static enum lin_verdict check_key(const struct history *h, uint32_t key, uint64_t max_steps,
                                  uint64_t *steps_out, size_t *nops_out)
{
    size_t n = 0, k = 0, words, sp = 0;
    struct lop *ops;
    struct lent *ents, **order, head;
    uint64_t *bits, steps = 0;
    struct memo memo;
    struct {
        struct lent *e;
        int64_t value;
    } *stack;
    int64_t value = 0;
    enum lin_verdict verdict = LIN_OK;

    for (size_t i = 0; i < h->n; i++) {
        const struct hist_op *o = &h->ops[i];
        if (o->key != key)
            continue;
        if (o->kind == H_WRITE && (o->status == H_OK || o->status == H_UNKNOWN))
            n++;
        else if (o->kind == H_READ && o->level == H_LIN && o->status == H_OK)
            n++;
    }
    *nops_out = n;
    if (!n)
        return LIN_OK;
    ops = xcalloc(n, sizeof *ops);
    ents = xcalloc(2 * n, sizeof *ents);
    order = xcalloc(2 * n, sizeof *order);
    for (size_t i = 0; i < h->n; i++) {
        const struct hist_op *o = &h->ops[i];
        bool w = o->kind == H_WRITE && (o->status == H_OK || o->status == H_UNKNOWN);
        bool r = o->kind == H_READ && o->level == H_LIN && o->status == H_OK;
        if (o->key != key || (!w && !r))
            continue;
        ops[k].write = w;
        ops[k].value = o->value;
        ents[2 * k].call = true;
        ents[2 * k].id = (uint32_t)k;
        ents[2 * k].stamp = o->invoke;
        ents[2 * k].match = &ents[2 * k + 1];
        ents[2 * k + 1].call = false;
        ents[2 * k + 1].id = (uint32_t)k;
        /* unknown outcome: returns after everything */
        ents[2 * k + 1].stamp = o->status == H_UNKNOWN ? UINT64_MAX - n + k : o->ret;
        k++;
    }
    for (size_t i = 0; i < 2 * n; i++)
        order[i] = &ents[i];
    qsort(order, 2 * n, sizeof *order, cmp_lent);
    memset(&head, 0, sizeof head);
    head.next = order[0];
    order[0]->prev = &head;
    for (size_t i = 0; i < 2 * n; i++) {
        order[i]->next = i + 1 < 2 * n ? order[i + 1] : NULL;
        if (i)
            order[i]->prev = order[i - 1];
    }
    words = (n + 63) / 64;
    bits = xcalloc(words, sizeof *bits);
    memo_init(&memo, words);
    stack = xcalloc(n, sizeof *stack);

    {
        struct lent *e = head.next;
        while (head.next) {
            if (++steps > max_steps) {
                verdict = LIN_INCONCLUSIVE;
                break;
            }
            if (e->call) {
                const struct lop *o = &ops[e->id];
                bool ok = o->write || o->value == value;
                int64_t nv = o->write ? o->value : value;
                if (ok) {
                    bits[e->id / 64] |= 1ull << (e->id % 64);
                    if (memo_insert(&memo, bits, nv)) {
                        stack[sp].e = e;
                        stack[sp].value = value;
                        sp++;
                        value = nv;
                        lift(e);
                        e = head.next;
                        continue;
                    }
                    bits[e->id / 64] &= ~(1ull << (e->id % 64));
                }
                e = e->next;
            } else {
                if (!sp) {
                    verdict = LIN_VIOLATION;
                    break;
                }
                sp--;
                e = stack[sp].e;
                value = stack[sp].value;
                bits[e->id / 64] &= ~(1ull << (e->id % 64));
                unlift(e);
                e = e->next;
            }
        }
    }
    *steps_out += steps;
    memo_free(&memo);
    free(stack);
    free(bits);
    free(order);
    free(ents);
    free(ops);
    return verdict;
}

void lin_check(const struct history *h, uint64_t max_steps, struct lin_result *r)
{
    uint32_t maxkey = 0;
    memset(r, 0, sizeof *r);
    if (!max_steps)
        max_steps = DEFAULT_MAX_STEPS;
    for (size_t i = 0; i < h->n; i++)
        if (h->ops[i].key > maxkey)
            maxkey = h->ops[i].key;
    for (uint32_t key = 0; key <= maxkey && h->n; key++) {
        size_t nops = 0;
        enum lin_verdict v = check_key(h, key, max_steps, &r->steps, &nops);
        r->ops_checked += nops;
        if (v != LIN_OK) {
            r->verdict = v;
            r->key = key;
            return;
        }
    }
}

void history_print_key(const struct history *h, uint32_t key, FILE *out)
{
    for (size_t i = 0; i < h->n; i++) {
        const struct hist_op *o = &h->ops[i];
        if (o->key != key)
            continue;
        char ret[32];
        if (o->status == H_OK || o->status == H_FAIL)
            snprintf(ret, sizeof ret, "%" PRIu64, o->ret);
        else
            snprintf(ret, sizeof ret, "inf");
        if (o->kind == H_WRITE)
            fprintf(out, "  [%" PRIu64 "..%s] c%d write k%u=%" PRId64 " %s req=%" PRIu64
                         " op=%" PRIu64 "%s t=%.3fms..%.3fms\n",
                    o->invoke, ret, o->client, o->key,
                    o->value, hist_status_name(o->status), o->req, o->op,
                    o->txn ? " (txn)" : "", o->invoke_us / 1000.0, o->ret_us / 1000.0);
        else
            fprintf(out, "  [%" PRIu64 "..%s] c%d read%s k%u -> %" PRId64 " %s at r%d a=%" PRIu64
                         " t=%.3fms..%.3fms\n",
                    o->invoke, ret, o->client,
                    o->level == H_LIN ? "(lin)" : o->level == H_SESSION ? "(session)" : "(any)",
                    o->key, o->value, hist_status_name(o->status), o->replica, o->applied,
                    o->invoke_us / 1000.0, o->ret_us / 1000.0);
    }
}
