/* Open-addressing hash map with linear probing and backward-shift
 * deletion.  See hmap.h. */
#include "config.h"

#include "hmap.h"

#include <stdlib.h>
#include <string.h>

static size_t slot(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

void hmap_init(struct hmap *m)
{
    memset(m, 0, sizeof *m);
}

void hmap_close(struct hmap *m)
{
    free(m->keys);
    free(m->vals);
    hmap_init(m);
}

static int grow(struct hmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    uint64_t *keys = calloc(ncap, sizeof *keys);
    void **vals = calloc(ncap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = slot(m->keys[i], ncap);
        while (keys[j])
            j = (j + 1) & (ncap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = ncap;
    return 0;
}

int hmap_put(struct hmap *m, uint64_t key, void *val)
{
    size_t i;
    if (!key)
        return -1;
    if ((m->len + 1) * 4 > m->cap * 3 && grow(m) < 0)
        return -1;
    for (i = slot(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return 0;
        }
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->len++;
    return 0;
}

static size_t find(const struct hmap *m, uint64_t key)
{
    if (!m->cap || !key)
        return SIZE_MAX;
    for (size_t i = slot(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == key)
            return i;
    return SIZE_MAX;
}

void *hmap_get(const struct hmap *m, uint64_t key)
{
    size_t i = find(m, key);
    return i == SIZE_MAX ? NULL : m->vals[i];
}

void *hmap_del(struct hmap *m, uint64_t key)
{
    size_t i = find(m, key), j;
    void *val;
    if (i == SIZE_MAX)
        return NULL;
    val = m->vals[i];
    /* backward-shift deletion keeps probe chains intact */
    for (j = (i + 1) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1)) {
        size_t home = slot(m->keys[j], m->cap);
        /* move j back to i if its home is not in (i, j] cyclically */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->vals[i] = NULL;
    m->len--;
    return val;
}

int hmap_next(const struct hmap *m, size_t *pos, uint64_t *key, void **val)
{
    for (; *pos < m->cap; (*pos)++) {
        if (m->keys[*pos]) {
            if (key)
                *key = m->keys[*pos];
            if (val)
                *val = m->vals[*pos];
            (*pos)++;
            return 1;
        }
    }
    return 0;
}

uint64_t hmap_key16(const uint8_t b[16])
{
    uint64_t a, c;
    memcpy(&a, b, 8);
    memcpy(&c, b + 8, 8);
    a ^= c * 0x9e3779b97f4a7c15ull;
    return a ? a : 1;
}
