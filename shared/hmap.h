/* A small open-addressing hash map from 64-bit keys to pointers.
 *
 * Used for connection ids, client ids (hashed, with the caller checking the
 * full id) and pending entries.  Not thread-safe.  Key 0 is reserved.
 */
#ifndef RECALL_SHARED_HMAP_H
#define RECALL_SHARED_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap {
    uint64_t *keys;   /* owned; 0 = empty slot */
    void **vals;      /* owned array (the pointed-to values are not) */
    size_t cap, len;  /* cap is a power of two */
};

void hmap_init(struct hmap *m);
void hmap_close(struct hmap *m);
/* Insert or replace; -1 on allocation failure. */
int hmap_put(struct hmap *m, uint64_t key, void *val);
void *hmap_get(const struct hmap *m, uint64_t key);
/* Remove and return the value (NULL if absent). */
void *hmap_del(struct hmap *m, uint64_t key);
/* Iterate: for (size_t i = 0; hmap_next(m, &i, &k, &v); ) ... (no changes
 * during iteration). */
int hmap_next(const struct hmap *m, size_t *pos, uint64_t *key, void **val);

/* A 64-bit key from 16 bytes (client ids). Never 0. */
uint64_t hmap_key16(const uint8_t b[16]);

#endif
