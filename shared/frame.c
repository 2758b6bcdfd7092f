/* Length-prefixed framing of protocol messages.  See frame.h. */
#include "config.h"

#include "frame.h"

enum frame_status frame_parse(const unsigned char *p, size_t avail, uint32_t max,
                              uint32_t *payload_len, struct err *e)
{
    uint32_t len;
    if (avail < FRAME_HEADER)
        return FRAME_NEED_MORE;
    len = buf_get_u32be(p);
    if (len == 0) {
        err_set(e, ERR_PROTOCOL, "empty frame");
        return FRAME_BAD;
    }
    if (len > max) {
        err_set(e, ERR_TOO_BIG, "frame of %u bytes exceeds the maximum of %u",
                len, max);
        return FRAME_BAD;
    }
    if (avail - FRAME_HEADER < len)
        return FRAME_NEED_MORE;
    *payload_len = len;
    return FRAME_READY;
}

int frame_encode(const struct proto_msg *m, struct buf *out, uint32_t max,
                 struct err *e)
{
    size_t start = out->len, len;

    if (buf_append_u32be(out, 0) < 0)
        return err_set(e, ERR_NOMEM, "framing %s: out of memory",
                       proto_type_name(m->type));
    if (proto_encode(m, out, e) < 0) {
        out->len = start;
        out->oom = false;
        return -1;
    }
    len = out->len - start - FRAME_HEADER;
    if (len > max) {
        out->len = start;
        return err_set(e, ERR_TOO_BIG,
                       "%s of %zu bytes exceeds the maximum frame size of %u",
                       proto_type_name(m->type), len, max);
    }
    buf_put_u32be(out->data + start, (uint32_t)len);
    return 0;
}
