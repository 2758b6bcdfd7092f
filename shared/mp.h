/* Bounded msgpack reading, and writing into a struct buf.
 *
 * Writing uses msgpack-c's packer.  Reading does NOT use msgpack-c's
 * unpacker: that one allocates an array's declared element count before it
 * has seen the elements, so a five-byte header could ask for gigabytes.
 * This reader walks the bytes in place and never trusts a declared length:
 * every string, binary and container size is checked against the bytes that
 * remain, and nesting is limited by MP_MAX_DEPTH.  Every read either consumes
 * a complete value and returns 0, or returns -1 and leaves r->err set with a
 * short reason (the reader is then poisoned: all later reads fail).
 */
#ifndef RECALL_SHARED_MP_H
#define RECALL_SHARED_MP_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MP_MAX_DEPTH 32

enum mp_type {
    MP_NIL, MP_BOOL, MP_UINT, MP_INT, MP_FLOAT, MP_STR, MP_BIN, MP_ARRAY,
    MP_MAP, MP_EXT, MP_INVALID
};

struct mp_reader {
    const unsigned char *p, *end;
    const char *err; /* NULL while all is well */
};

void mp_reader_init(struct mp_reader *r, const void *data, size_t len);
size_t mp_remaining(const struct mp_reader *r);
/* Type of the next value, MP_INVALID at end of input or on a reserved byte. */
enum mp_type mp_peek(const struct mp_reader *r);
int mp_read_nil(struct mp_reader *r);
int mp_read_bool(struct mp_reader *r, bool *v);
/* Accepts any integer that fits; negative values fail for mp_read_uint. */
int mp_read_uint(struct mp_reader *r, uint64_t *v);
int mp_read_int(struct mp_reader *r, int64_t *v);
/* Accepts float32, float64 and integers. */
int mp_read_double(struct mp_reader *r, double *v);
/* The returned pointer points into the input; it is not NUL-terminated. */
int mp_read_str(struct mp_reader *r, const char **s, uint32_t *len);
int mp_read_bin(struct mp_reader *r, const unsigned char **s, uint32_t *len);
/* Element count of an array; guaranteed <= mp_remaining(). */
int mp_read_array(struct mp_reader *r, uint32_t *n);
int mp_read_map(struct mp_reader *r, uint32_t *n);
/* Skip one complete value of any type (bounded depth). */
int mp_skip(struct mp_reader *r);
/* Poison the reader with a reason; returns -1. */
int mp_fail(struct mp_reader *r, const char *why);

/* A packer that appends to `b`; errors become b->oom. */
void mp_packer_init(msgpack_packer *pk, struct buf *b);

#endif
