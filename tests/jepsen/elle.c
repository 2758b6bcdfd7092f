/* The list-append checker (see elle.h for what it infers and reports).
 *
 * Steps: index every append by (key, value); per key take the longest read
 * as the version order and check every read against it; check each
 * transaction on its own (internal consistency, G1a, G1b); add ww/wr/rw
 * edges from the version orders and each transaction's first read of a key
 * before its own appends to it ("external" reads); then find strongly
 * connected components (iterative Tarjan) of growing edge sets and extract
 * one witness cycle per component and class with a breadth-first search.
 * Real-time order is added through a chain of virtual "time" nodes, one
 * per completion, so it costs O(n) edges instead of O(n^2).
 */
#include "config.h"

#include "elle.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define E_WW 1u
#define E_WR 2u
#define E_RW 4u
#define E_RT 8u
#define E_DEP (E_WW | E_WR | E_RW)

#define SEARCH_BUDGET 200000000ull /* node visits over all searches */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "elle: out of memory\n");
        abort();
    }
    return p;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        fprintf(stderr, "elle: out of memory\n");
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "elle: out of memory\n");
        abort();
    }
    return p;
}

const char *elle_anomaly_name(enum elle_anomaly a)
{
    static const char *const names[ELLE__COUNT] = {
        [ELLE_G0] = "G0", [ELLE_G1A] = "G1a", [ELLE_G1B] = "G1b", [ELLE_G1C] = "G1c",
        [ELLE_G_SINGLE] = "G-single", [ELLE_G2] = "G2", [ELLE_REALTIME] = "realtime",
        [ELLE_INTERNAL] = "internal", [ELLE_INCOMPATIBLE] = "incompatible-order",
        [ELLE_DUPLICATE] = "duplicate", [ELLE_GARBAGE] = "garbage",
        [ELLE_DUP_APPEND] = "duplicate-append",
    };
    return (unsigned)a < ELLE__COUNT ? names[a] : "?";
}

/* ---- a map from (int64, int64) to uint64 ---- */

struct pmap {
    struct pslot {
        int64_t a, b;
        uint64_t v;
        bool used;
    } *slots;
    size_t cap, len;
};

static uint64_t pmix(int64_t a, int64_t b)
{
    uint64_t h = (uint64_t)a * 0x9e3779b97f4a7c15ull ^ ((uint64_t)b + 0x632be59bd9b4e019ull);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
}

static void pmap_init(struct pmap *m)
{
    m->cap = 256;
    m->len = 0;
    m->slots = xcalloc(m->cap, sizeof *m->slots);
}

static void pmap_free(struct pmap *m)
{
    free(m->slots);
}

static struct pslot *pmap_find(const struct pmap *m, int64_t a, int64_t b)
{
    for (size_t i = pmix(a, b) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct pslot *s = &m->slots[i];
        if (!s->used || (s->a == a && s->b == b))
            return s;
    }
}

static const uint64_t *pmap_get(const struct pmap *m, int64_t a, int64_t b)
{
    const struct pslot *s = pmap_find(m, a, b);
    return s->used ? &s->v : NULL;
}

/* Insert; returns false (and leaves the value) if the key was there. */
static bool pmap_put(struct pmap *m, int64_t a, int64_t b, uint64_t v)
{
    struct pslot *s;
    if ((m->len + 1) * 2 > m->cap) {
        struct pmap n = {.cap = m->cap * 2};
        n.slots = xcalloc(n.cap, sizeof *n.slots);
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].used) {
                *pmap_find(&n, m->slots[i].a, m->slots[i].b) = m->slots[i];
                n.len++;
            }
        free(m->slots);
        *m = n;
    }
    s = pmap_find(m, a, b);
    if (s->used)
        return false;
    *s = (struct pslot){a, b, v, true};
    m->len++;
    return true;
}

/* ---- the checker's state ---- */

struct keyinfo {
    int64_t key;
    const int64_t *order;   /* the longest read (borrowed) */
    size_t norder;
    bool bad;               /* incompatible reads: no edges from this key */
};

struct edge {
    uint32_t from, to;
    unsigned type;
    int64_t key;
};

struct ck {
    const struct elle_txn *t;
    size_t n;               /* transactions */
    size_t nn;              /* nodes: transactions, then time nodes */
    const struct elle_opts *o;
    struct elle_result *r;
    size_t max_reports;
    struct pmap appends;    /* (key, value) -> txn << 32 | mop */
    struct pmap keys;       /* (key, 0) -> index in ki */
    struct keyinfo *ki;
    size_t nki;
    struct edge *edges;
    size_t nedges, capedges;
    /* adjacency (CSR over all edges) */
    size_t *off;
    uint32_t *adj;          /* edge indices */
    uint64_t budget;
};

static void report(struct ck *c, enum elle_anomaly a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool reporting(struct ck *c, enum elle_anomaly a)
{
    return c->o && c->o->report && c->r->count[a] <= c->max_reports;
}

static void report(struct ck *c, enum elle_anomaly a, const char *fmt, ...)
{
    va_list ap;
    if (!reporting(c, a))
        return;
    fprintf(c->o->report, "%s: ", elle_anomaly_name(a));
    va_start(ap, fmt);
    vfprintf(c->o->report, fmt, ap);
    va_end(ap);
    fputc('\n', c->o->report);
}

static void print_list(FILE *f, const int64_t *l, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i > 24 && i + 4 < n) {
            fprintf(f, " ... (%zu more)", n - 4 - i);
            i = n - 4;
        }
        fprintf(f, "%s%" PRId64, i ? " " : "", l[i]);
    }
    fputc(']', f);
}

static void print_txn(struct ck *c, size_t ti)
{
    FILE *f = c->o->report;
    const struct elle_txn *t = &c->t[ti];
    fprintf(f, "    T%zu (process %" PRId64 ", %s):", t->tag, t->process,
            t->status == ELLE_OK ? "ok" : t->status == ELLE_FAIL ? "fail" : "info");
    for (size_t i = 0; i < t->nmops; i++) {
        const struct elle_mop *m = &t->mops[i];
        if (m->append) {
            fprintf(f, " append(%" PRId64 ", %" PRId64 ")", m->key, m->value);
        } else {
            fprintf(f, " read(%" PRId64 ")=", m->key);
            if (m->known)
                print_list(f, m->list, m->nlist);
            else
                fputc('?', f);
        }
    }
    fputc('\n', f);
}

static void add_edge(struct ck *c, size_t from, size_t to, unsigned type, int64_t key)
{
    if (from == to)
        return;
    if (c->nedges == c->capedges) {
        c->capedges = c->capedges ? c->capedges * 2 : 1024;
        c->edges = xrealloc(c->edges, c->capedges * sizeof *c->edges);
    }
    c->edges[c->nedges++] = (struct edge){(uint32_t)from, (uint32_t)to, type, key};
    switch (type) {
    case E_WW: c->r->edges_ww++; break;
    case E_WR: c->r->edges_wr++; break;
    case E_RW: c->r->edges_rw++; break;
    default: c->r->edges_rt++; break;
    }
}

static bool is_node(const struct elle_txn *t)
{
    return t->status == ELLE_OK || t->status == ELLE_INFO;
}

/* writer of (key, value): txn index, or SIZE_MAX */
static size_t writer(const struct ck *c, int64_t key, int64_t value, size_t *mop)
{
    const uint64_t *v = pmap_get(&c->appends, key, value);
    if (!v)
        return SIZE_MAX;
    if (mop)
        *mop = (size_t)(*v & 0xffffffffu);
    return (size_t)(*v >> 32);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- step 1: appends and version orders ---- */

static void index_appends(struct ck *c)
{
    for (size_t ti = 0; ti < c->n; ti++) {
        const struct elle_txn *t = &c->t[ti];
        for (size_t mi = 0; mi < t->nmops; mi++) {
            const struct elle_mop *m = &t->mops[mi];
            if (!m->append)
                continue;
            if (!pmap_put(&c->appends, m->key, m->value, (uint64_t)ti << 32 | mi)) {
                c->r->count[ELLE_DUP_APPEND]++;
                report(c, ELLE_DUP_APPEND, "value %" PRId64 " appended to key %" PRId64
                       " more than once (T%zu): the generator must use unique values",
                       m->value, m->key, t->tag);
            }
        }
    }
}

static struct keyinfo *key_of(struct ck *c, int64_t key)
{
    const uint64_t *v = pmap_get(&c->keys, key, 0);
    if (v)
        return &c->ki[*v];
    c->ki = xrealloc(c->ki, (c->nki + 1) * sizeof *c->ki);
    c->ki[c->nki] = (struct keyinfo){.key = key};
    pmap_put(&c->keys, key, 0, c->nki);
    return &c->ki[c->nki++];
}

static void version_orders(struct ck *c)
{
    /* the longest read of each key */
    for (size_t ti = 0; ti < c->n; ti++) {
        const struct elle_txn *t = &c->t[ti];
        if (t->status != ELLE_OK)
            continue;
        for (size_t mi = 0; mi < t->nmops; mi++) {
            const struct elle_mop *m = &t->mops[mi];
            struct keyinfo *k;
            if (m->append)
                continue;
            k = key_of(c, m->key);
            if (m->known && m->nlist > k->norder) {
                k->order = m->list;
                k->norder = m->nlist;
            }
        }
    }
    c->r->keys = c->nki;
    /* every read must be a prefix of it, without repeated elements */
    for (size_t ti = 0; ti < c->n; ti++) {
        const struct elle_txn *t = &c->t[ti];
        if (t->status != ELLE_OK)
            continue;
        for (size_t mi = 0; mi < t->nmops; mi++) {
            const struct elle_mop *m = &t->mops[mi];
            struct keyinfo *k;
            if (m->append || !m->known)
                continue;
            k = key_of(c, m->key);
            if (!k->bad && (m->nlist > k->norder ||
                            (m->nlist && memcmp(m->list, k->order, m->nlist * sizeof *m->list)))) {
                k->bad = true;
                c->r->count[ELLE_INCOMPATIBLE]++;
                if (reporting(c, ELLE_INCOMPATIBLE)) {
                    report(c, ELLE_INCOMPATIBLE, "key %" PRId64 ": reads disagree on the order",
                           m->key);
                    fprintf(c->o->report, "    longest read: ");
                    print_list(c->o->report, k->order, k->norder);
                    fprintf(c->o->report, "\n    T%zu read:     ", t->tag);
                    print_list(c->o->report, m->list, m->nlist);
                    fputc('\n', c->o->report);
                }
            }
            if (m->nlist > 1) {
                int64_t *s = xmalloc(m->nlist * sizeof *s);
                memcpy(s, m->list, m->nlist * sizeof *s);
                qsort(s, m->nlist, sizeof *s, cmp_i64);
                for (size_t i = 1; i < m->nlist; i++)
                    if (s[i] == s[i - 1]) {
                        c->r->count[ELLE_DUPLICATE]++;
                        report(c, ELLE_DUPLICATE, "T%zu read key %" PRId64 " with value %" PRId64
                               " more than once: an append took effect twice", t->tag, m->key,
                               s[i]);
                        if (reporting(c, ELLE_DUPLICATE))
                            print_txn(c, ti);
                        break;
                    }
                free(s);
            }
        }
    }
}

/* ---- step 2: each transaction's reads ---- */

struct ivec {
    int64_t *v;
    size_t n, cap;
};

static void ivec_push(struct ivec *a, int64_t x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = x;
}

/* A transaction's reads agree with its own earlier reads and appends. */
static void check_internal(struct ck *c, size_t ti)
{
    const struct elle_txn *t = &c->t[ti];
    for (size_t mi = 0; mi < t->nmops; mi++) {
        const struct elle_mop *m = &t->mops[mi];
        struct ivec known = {0}, suffix = {0};
        bool have = false;
        if (m->append || !m->known)
            continue;
        /* replay the earlier micro-operations on this key */
        for (size_t pj = 0; pj < mi; pj++) {
            const struct elle_mop *p = &t->mops[pj];
            if (p->key != m->key)
                continue;
            if (p->append) {
                ivec_push(have ? &known : &suffix, p->value);
            } else if (p->known) {
                have = true;
                known.n = 0;
                suffix.n = 0;
                for (size_t i = 0; i < p->nlist; i++)
                    ivec_push(&known, p->list[i]);
            }
        }
        bool ok;
        if (have)
            ok = known.n == m->nlist && (!known.n || !memcmp(known.v, m->list,
                                                             known.n * sizeof *known.v));
        else
            ok = suffix.n <= m->nlist &&
                 (!suffix.n || !memcmp(suffix.v, m->list + (m->nlist - suffix.n),
                                       suffix.n * sizeof *suffix.v));
        if (!ok) {
            c->r->count[ELLE_INTERNAL]++;
            report(c, ELLE_INTERNAL, "T%zu's read of key %" PRId64 " (micro-op %zu) does not "
                   "reflect its own earlier reads and appends", t->tag, m->key, mi + 1);
            if (reporting(c, ELLE_INTERNAL))
                print_txn(c, ti);
        }
        free(known.v);
        free(suffix.v);
    }
}

static void check_reads(struct ck *c, size_t ti)
{
    const struct elle_txn *t = &c->t[ti];
    for (size_t mi = 0; mi < t->nmops; mi++) {
        const struct elle_mop *m = &t->mops[mi];
        if (m->append || !m->known)
            continue;
        for (size_t i = 0; i < m->nlist; i++) {
            size_t wm, w = writer(c, m->key, m->list[i], &wm);
            if (w == SIZE_MAX) {
                c->r->count[ELLE_GARBAGE]++;
                report(c, ELLE_GARBAGE, "T%zu read value %" PRId64 " of key %" PRId64
                       " which no transaction appended", t->tag, m->list[i], m->key);
                continue;
            }
            if (c->t[w].status == ELLE_FAIL) {
                c->r->count[ELLE_G1A]++;
                if (reporting(c, ELLE_G1A)) {
                    report(c, ELLE_G1A, "T%zu read value %" PRId64 " of key %" PRId64
                           ", appended by T%zu which failed", t->tag, m->list[i], m->key,
                           c->t[w].tag);
                    print_txn(c, ti);
                    print_txn(c, w);
                }
            }
            if (i + 1 == m->nlist && w != ti) {
                /* the read ended at w's append: was it w's last to this key? */
                const struct elle_txn *wt = &c->t[w];
                for (size_t j = wm + 1; j < wt->nmops; j++)
                    if (wt->mops[j].append && wt->mops[j].key == m->key) {
                        c->r->count[ELLE_G1B]++;
                        if (reporting(c, ELLE_G1B)) {
                            report(c, ELLE_G1B, "T%zu read key %" PRId64 " ending at %" PRId64
                                   ", an intermediate append of T%zu", t->tag, m->key,
                                   m->list[i], wt->tag);
                            print_txn(c, ti);
                            print_txn(c, w);
                        }
                        break;
                    }
            }
        }
    }
}

/* ---- step 3: dependency edges ---- */

static void dependency_edges(struct ck *c)
{
    /* ww: consecutive versions */
    for (size_t k = 0; k < c->nki; k++) {
        const struct keyinfo *ki = &c->ki[k];
        if (ki->bad)
            continue;
        for (size_t i = 0; i + 1 < ki->norder; i++) {
            size_t a = writer(c, ki->key, ki->order[i], NULL);
            size_t b = writer(c, ki->key, ki->order[i + 1], NULL);
            if (a != SIZE_MAX && b != SIZE_MAX && is_node(&c->t[a]) && is_node(&c->t[b]))
                add_edge(c, a, b, E_WW, ki->key);
        }
    }
    /* wr and rw from external reads */
    for (size_t ti = 0; ti < c->n; ti++) {
        const struct elle_txn *t = &c->t[ti];
        if (t->status != ELLE_OK)
            continue;
        for (size_t mi = 0; mi < t->nmops; mi++) {
            const struct elle_mop *m = &t->mops[mi];
            const struct keyinfo *ki;
            bool external = true;
            if (m->append || !m->known)
                continue;
            for (size_t pj = 0; pj < mi && external; pj++)
                if (t->mops[pj].key == m->key)
                    external = false; /* only the first access to the key counts */
            if (!external)
                continue;
            ki = key_of(c, m->key);
            if (ki->bad)
                continue;
            if (m->nlist) {
                size_t w = writer(c, m->key, m->list[m->nlist - 1], NULL);
                if (w != SIZE_MAX && is_node(&c->t[w]))
                    add_edge(c, w, ti, E_WR, m->key);
            }
            if (m->nlist < ki->norder) {
                size_t w = writer(c, m->key, ki->order[m->nlist], NULL);
                if (w != SIZE_MAX && is_node(&c->t[w]))
                    add_edge(c, ti, w, E_RW, m->key);
            }
        }
    }
}

/* Real time through virtual nodes: T -> time(T.ret) -> next time ... ->
 * U for every U invoked after that completion. */
struct rt_sort {
    size_t ti;
    uint64_t ret;
};

static int cmp_rt(const void *a, const void *b)
{
    const struct rt_sort *x = a, *y = b;
    return x->ret < y->ret ? -1 : x->ret > y->ret;
}

static void realtime_edges(struct ck *c)
{
    struct rt_sort *s = xmalloc(c->n * sizeof *s);
    size_t ns = 0;
    for (size_t ti = 0; ti < c->n; ti++)
        if (c->t[ti].status == ELLE_OK)
            s[ns++] = (struct rt_sort){ti, c->t[ti].ret};
    qsort(s, ns, sizeof *s, cmp_rt);
    c->nn = c->n + ns;
    for (size_t i = 0; i < ns; i++) {
        add_edge(c, s[i].ti, c->n + i, E_RT, 0);
        if (i + 1 < ns)
            add_edge(c, c->n + i, c->n + i + 1, E_RT, 0);
    }
    for (size_t ti = 0; ti < c->n; ti++) {
        size_t lo = 0, hi = ns;
        if (!is_node(&c->t[ti]))
            continue;
        /* the last completion strictly before ti's invocation */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (s[mid].ret < c->t[ti].invoke)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0)
            add_edge(c, c->n + lo - 1, ti, E_RT, 0);
    }
    free(s);
}

static void build_adjacency(struct ck *c)
{
    c->off = xcalloc(c->nn + 1, sizeof *c->off);
    c->adj = xmalloc(c->nedges * sizeof *c->adj);
    for (size_t i = 0; i < c->nedges; i++)
        c->off[c->edges[i].from + 1]++;
    for (size_t i = 0; i < c->nn; i++)
        c->off[i + 1] += c->off[i];
    size_t *fill = xmalloc((c->nn + 1) * sizeof *fill);
    memcpy(fill, c->off, (c->nn + 1) * sizeof *fill);
    for (size_t i = 0; i < c->nedges; i++)
        c->adj[fill[c->edges[i].from]++] = (uint32_t)i;
    free(fill);
}

/* ---- step 4: components and cycles ---- */

/* Tarjan's algorithm without recursion over edges in mask.  comp[v] gets a
 * component id; returns the number of components. */
static size_t scc(const struct ck *c, unsigned mask, size_t *comp)
{
    size_t nn = c->nn, idx = 0, ncomp = 0, sp = 0, cs = 0;
    size_t *index = xmalloc(nn * sizeof *index), *low = xmalloc(nn * sizeof *low);
    size_t *stack = xmalloc(nn * sizeof *stack), *call = xmalloc(nn * sizeof *call);
    size_t *pos = xmalloc(nn * sizeof *pos);
    bool *on = xcalloc(nn, sizeof *on);

    for (size_t v = 0; v < nn; v++)
        index[v] = SIZE_MAX;
    for (size_t root = 0; root < nn; root++) {
        if (index[root] != SIZE_MAX)
            continue;
        call[cs++] = root;
        index[root] = low[root] = idx++;
        pos[root] = c->off[root];
        stack[sp++] = root;
        on[root] = true;
        while (cs) {
            size_t v = call[cs - 1];
            if (pos[v] < c->off[v + 1]) {
                const struct edge *e = &c->edges[c->adj[pos[v]++]];
                size_t w = e->to;
                if (!(e->type & mask))
                    continue;
                if (index[w] == SIZE_MAX) {
                    index[w] = low[w] = idx++;
                    pos[w] = c->off[w];
                    stack[sp++] = w;
                    on[w] = true;
                    call[cs++] = w;
                } else if (on[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            cs--;
            if (cs && low[v] < low[call[cs - 1]])
                low[call[cs - 1]] = low[v];
            if (low[v] == index[v]) {
                size_t w;
                do {
                    w = stack[--sp];
                    on[w] = false;
                    comp[w] = ncomp;
                } while (w != v);
                ncomp++;
            }
        }
    }
    free(index);
    free(low);
    free(stack);
    free(call);
    free(pos);
    free(on);
    return ncomp;
}

/* Shortest path from a to b over edges in mask within component cid;
 * writes edge indices into path (capacity nn) and returns its length, or 0. */
static size_t bfs(struct ck *c, size_t a, size_t b, unsigned mask, const size_t *comp,
                  size_t cid, uint32_t *path, uint32_t *via, uint32_t *queue, uint32_t *seen,
                  uint32_t mark)
{
    size_t head = 0, tail = 0, len = 0;
    if (a == b)
        return 0;
    seen[a] = mark;
    queue[tail++] = (uint32_t)a;
    while (head < tail) {
        size_t v = queue[head++];
        if (c->budget == 0) {
            c->r->cycle_search_truncated = true;
            return 0;
        }
        c->budget--;
        for (size_t p = c->off[v]; p < c->off[v + 1]; p++) {
            const struct edge *e = &c->edges[c->adj[p]];
            size_t w = e->to;
            if (!(e->type & mask) || comp[w] != cid || seen[w] == mark)
                continue;
            seen[w] = mark;
            via[w] = c->adj[p];
            if (w == b) {
                for (size_t x = b; x != a; x = c->edges[via[x]].from)
                    len++;
                size_t i = len;
                for (size_t x = b; x != a; x = c->edges[via[x]].from)
                    path[--i] = via[x];
                return len;
            }
            queue[tail++] = (uint32_t)w;
        }
    }
    return 0;
}

static const char *edge_name(unsigned t)
{
    switch (t) {
    case E_WW: return "ww";
    case E_WR: return "wr";
    case E_RW: return "rw";
    default: return "rt";
    }
}

/* Report a cycle made of edge `first` followed by path[0..len). */
static void report_cycle(struct ck *c, enum elle_anomaly a, uint32_t first, const uint32_t *path,
                         size_t len)
{
    FILE *f;
    if (!reporting(c, a))
        return;
    f = c->o->report;
    fprintf(f, "%s: a cycle of %zu dependencies:\n", elle_anomaly_name(a), len + 1);
    for (size_t i = 0; i <= len; i++) {
        const struct edge *e = &c->edges[i == 0 ? first : path[i - 1]];
        if (e->from >= c->n && e->to >= c->n)
            continue; /* inside the time chain */
        if (e->from >= c->n) {
            fprintf(f, "      ... which completed before T%zu began\n", c->t[e->to].tag);
            continue;
        }
        if (e->to >= c->n) {
            fprintf(f, "    T%zu completed before ...\n", c->t[e->from].tag);
            continue;
        }
        fprintf(f, "    T%zu -%s(key %" PRId64 ")-> T%zu\n", c->t[e->from].tag,
                edge_name(e->type), e->key, c->t[e->to].tag);
    }
    for (size_t i = 0; i <= len; i++) {
        const struct edge *e = &c->edges[i == 0 ? first : path[i - 1]];
        if (e->from < c->n)
            print_txn(c, e->from);
    }
}

struct search {
    size_t *comp;
    uint32_t *path, *via, *queue, *seen;
    uint32_t mark;
};

/* For every component of the mask-graph, look for a cycle that starts with
 * an edge of type `start` and continues over `rest`; count and report one
 * per component.  done[cid] marks components already counted (may be
 * NULL).  Returns the number found. */
static size_t find_cycles(struct ck *c, struct search *s, unsigned mask, unsigned start,
                          unsigned rest, enum elle_anomaly a, bool *done)
{
    size_t found = 0;
    for (size_t i = 0; i < c->nedges; i++) {
        const struct edge *e = &c->edges[i];
        size_t cid = s->comp[e->from], len;
        if (!(e->type & start) || !(e->type & mask) || s->comp[e->to] != cid || (done && done[cid]))
            continue;
        if (++s->mark == 0) {
            memset(s->seen, 0, c->nn * sizeof *s->seen);
            s->mark = 1;
        }
        len = bfs(c, e->to, e->from, rest, s->comp, cid, s->path, s->via, s->queue, s->seen,
                  s->mark);
        if (!len)
            continue;
        c->r->count[a]++;
        found++;
        report_cycle(c, a, (uint32_t)i, s->path, len);
        if (done)
            done[cid] = true;
    }
    return found;
}

static void cycles(struct ck *c)
{
    struct search s;
    bool *done;
    size_t before;

    s.comp = xmalloc(c->nn * sizeof *s.comp);
    s.path = xmalloc(c->nn * sizeof *s.path);
    s.via = xmalloc(c->nn * sizeof *s.via);
    s.queue = xmalloc(c->nn * sizeof *s.queue);
    s.seen = xcalloc(c->nn, sizeof *s.seen);
    s.mark = 0;
    done = xcalloc(c->nn, sizeof *done);

    /* G0: write cycles */
    scc(c, E_WW, s.comp);
    find_cycles(c, &s, E_WW, E_WW, E_WW, ELLE_G0, done);
    /* G1c: cycles of writes and reads-from with at least one wr */
    memset(done, 0, c->nn * sizeof *done);
    scc(c, E_WW | E_WR, s.comp);
    find_cycles(c, &s, E_WW | E_WR, E_WR, E_WW | E_WR, ELLE_G1C, done);
    /* G-single: exactly one anti-dependency; else G2: more than one */
    memset(done, 0, c->nn * sizeof *done);
    scc(c, E_DEP, s.comp);
    find_cycles(c, &s, E_DEP, E_RW, E_WW | E_WR, ELLE_G_SINGLE, done);
    find_cycles(c, &s, E_DEP, E_RW, E_DEP, ELLE_G2, done);
    /* real time: only when the dependencies alone are acyclic */
    before = c->r->count[ELLE_G0] + c->r->count[ELLE_G1C] + c->r->count[ELLE_G_SINGLE] +
             c->r->count[ELLE_G2];
    if (c->o && c->o->realtime && before == 0) {
        memset(done, 0, c->nn * sizeof *done);
        scc(c, E_DEP | E_RT, s.comp);
        find_cycles(c, &s, E_DEP | E_RT, E_DEP, E_DEP | E_RT, ELLE_REALTIME, done);
    }
    free(done);
    free(s.comp);
    free(s.path);
    free(s.via);
    free(s.queue);
    free(s.seen);
}

size_t elle_check(const struct elle_txn *txns, size_t n, const struct elle_opts *opts,
                  struct elle_result *r)
{
    struct ck c;
    size_t total = 0;

    memset(r, 0, sizeof *r);
    memset(&c, 0, sizeof c);
    c.t = txns;
    c.n = n;
    c.nn = n;
    c.o = opts;
    c.r = r;
    c.max_reports = opts && opts->max_reports ? opts->max_reports : 8;
    c.budget = SEARCH_BUDGET;
    r->txns = n;
    if (n >= UINT32_MAX / 2) {
        fprintf(stderr, "elle: too many transactions\n");
        abort();
    }
    pmap_init(&c.appends);
    pmap_init(&c.keys);

    index_appends(&c);
    version_orders(&c);
    for (size_t ti = 0; ti < n; ti++)
        if (txns[ti].status == ELLE_OK) {
            check_internal(&c, ti);
            check_reads(&c, ti);
        }
    dependency_edges(&c);
    if (opts && opts->realtime)
        realtime_edges(&c);
    build_adjacency(&c);
    cycles(&c);

    for (int a = 0; a < ELLE__COUNT; a++)
        total += r->count[a];
    pmap_free(&c.appends);
    pmap_free(&c.keys);
    free(c.ki);
    free(c.edges);
    free(c.off);
    free(c.adj);
    return total;
}
