/* Growable byte buffer.  See buf.h. */
#include "config.h"

#include "buf.h"

#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

void buf_close(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->oom = false;
}

int buf_reserve(struct buf *b, size_t extra)
{
    size_t need, cap;
    unsigned char *p;

    if (b->oom)
        return -1;
    if (extra > SIZE_MAX - b->len)
        goto oom;
    need = b->len + extra;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (!p)
        goto oom;
    b->data = p;
    b->cap = cap;
    return 0;
oom:
    b->oom = true;
    return -1;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int buf_append_u32be(struct buf *b, uint32_t v)
{
    unsigned char p[4];
    buf_put_u32be(p, v);
    return buf_append(b, p, 4);
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
