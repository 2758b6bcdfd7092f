/* Framing: every message travels as a u32 big-endian payload length
 * followed by exactly one msgpack value of that length.
 *
 * The receiver enforces a hard maximum payload size before it buffers the
 * payload, so a peer cannot make us allocate more than `max` bytes by
 * announcing a large frame.  A zero-length frame is malformed.
 */
#ifndef RECALL_SHARED_FRAME_H
#define RECALL_SHARED_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "proto.h"

#define FRAME_HEADER 4u
#define FRAME_DEFAULT_MAX (64u * 1024 * 1024)
#define FRAME_MIN_MAX 4096u

enum frame_status { FRAME_NEED_MORE = 0, FRAME_READY = 1, FRAME_BAD = -1 };

/* Look at the bytes received so far.  FRAME_READY: a whole frame is there,
 * its payload is p[FRAME_HEADER .. FRAME_HEADER + *payload_len).
 * FRAME_NEED_MORE: wait for more bytes (at most FRAME_HEADER + max in all).
 * FRAME_BAD: the header announces an empty or oversized frame (e says which;
 * close the connection). */
enum frame_status frame_parse(const unsigned char *p, size_t avail, uint32_t max,
                              uint32_t *payload_len, struct err *e);

/* Append one framed message to out.  Fails with ERR_TOO_BIG (and leaves out
 * as it was) if the encoding exceeds max. */
int frame_encode(const struct proto_msg *m, struct buf *out, uint32_t max,
                 struct err *e);

#endif
