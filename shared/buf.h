/* A growable byte buffer: the output side of encoders and sockets.
 *
 * `data` is owned by the buffer.  Growth failures are sticky: once an append
 * fails, `oom` stays set and later appends are ignored, so a caller may
 * append many pieces and check once at the end.
 */
#ifndef RECALL_SHARED_BUF_H
#define RECALL_SHARED_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    unsigned char *data; /* owned */
    size_t len, cap;
    bool oom;
};

void buf_init(struct buf *b);
void buf_close(struct buf *b);
void buf_reset(struct buf *b);                 /* len = 0, keeps memory */
int buf_reserve(struct buf *b, size_t extra);  /* 0 or -1 (sets oom) */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_u32be(struct buf *b, uint32_t v);
/* Remove the first n bytes. */
void buf_consume(struct buf *b, size_t n);

static inline void buf_put_u32be(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline uint32_t buf_get_u32be(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

#endif
