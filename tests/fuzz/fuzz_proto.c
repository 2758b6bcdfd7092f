/* libFuzzer harness for the wire protocol: frame_parse() on the input, then
 * proto_decode() of the frame's payload (or, without a complete frame, of
 * the whole input, so the decoder is explored either way).  A successful
 * decode must re-encode, and encoding is a fixed point: decode(encode(m))
 * succeeds and encodes to the same bytes; framing the message must parse
 * back to the same payload.  Any violation aborts (a finding). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "proto.h"

#define FUZZ_MAX_FRAME (1u << 20)

static void check(int cond, const char *what, const struct err *e)
{
    if (!cond) {
        fprintf(stderr, "fuzz_proto invariant violated: %s (%s)\n", what, e ? e->msg : "");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *payload = data;
    size_t len = size;
    uint32_t plen = 0;
    struct proto_msg m, m2;
    struct buf b1, b2, fb;
    struct err e;

    switch (frame_parse(data, size, FUZZ_MAX_FRAME, &plen, &e)) {
    case FRAME_READY:
        check(plen > 0 && plen <= FUZZ_MAX_FRAME && (size_t)plen + FRAME_HEADER <= size,
              "frame_parse length", NULL);
        payload = data + FRAME_HEADER;
        len = plen;
        break;
    case FRAME_BAD:
        check(e.code == ERR_PROTOCOL || e.code == ERR_TOO_BIG, "frame_parse error code", &e);
        break;
    case FRAME_NEED_MORE:
        break;
    }

    if (proto_decode(payload, len, &m, &e) < 0) {
        check(e.code == ERR_PROTOCOL || e.code == ERR_NOMEM, "decode error code", &e);
        return 0;
    }
    buf_init(&b1);
    buf_init(&b2);
    buf_init(&fb);
    check(proto_encode(&m, &b1, &e) == 0, "re-encode of a decoded message", &e);
    check(proto_decode(b1.data, b1.len, &m2, &e) == 0, "decode of our own encoding", &e);
    check(m2.type == m.type, "type survives", NULL);
    check(proto_encode(&m2, &b2, &e) == 0, "second encode", &e);
    check(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0,
          "encode(decode(encode(m))) == encode(m)", NULL);
    if (frame_encode(&m, &fb, FUZZ_MAX_FRAME, &e) == 0) {
        check(frame_parse(fb.data, fb.len, FUZZ_MAX_FRAME, &plen, &e) == FRAME_READY &&
                  plen == b1.len && memcmp(fb.data + FRAME_HEADER, b1.data, plen) == 0,
              "frame_encode/frame_parse round trip", &e);
    } else {
        check(e.code == ERR_TOO_BIG, "frame_encode error code", &e);
    }
    proto_msg_free(&m);
    proto_msg_free(&m2);
    buf_close(&b1);
    buf_close(&b2);
    buf_close(&fb);
    return 0;
}
