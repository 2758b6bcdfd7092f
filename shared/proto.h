/* Recall wire protocol: C types and codecs generated from proto-table.h.
 *
 * Ownership: every str/bin/list inside a decoded or copied structure is
 * owned by it and released by the matching *_free(); free functions accept
 * zeroed structures and partially filled ones (decoders clean up after
 * themselves on failure, leaving the output zeroed).  Strings are always
 * NUL-terminated after decoding (p is never NULL); for encoding, p == NULL
 * means the empty string.
 *
 * Decoding never trusts a length from the input (see mp.h); a structure
 * decoded from N bytes allocates O(N) memory.
 */
#ifndef RECALL_SHARED_PROTO_H
#define RECALL_SHARED_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "proto-table.h"

/* ---- scalar kinds ---- */
typedef uint8_t proto_u8_t;
typedef uint32_t proto_u32_t;
typedef uint64_t proto_u64_t;
typedef int64_t proto_i64_t;
typedef bool proto_bool_t;
typedef struct proto_str { char *p; uint32_t len; } proto_str_t;
typedef struct proto_bin { unsigned char *p; uint32_t len; } proto_bin_t;
typedef struct proto_id { uint8_t b[16]; } proto_id_t;

/* A SQL value: parameter or result cell. */
enum proto_value_type {
    PV_NULL = 0, PV_INT, PV_UINT, PV_DOUBLE, PV_TEXT, PV_BLOB
};
typedef struct proto_value {
    uint8_t type;     /* enum proto_value_type */
    uint32_t len;     /* bytes at p for TEXT/BLOB (TEXT also NUL-terminated) */
    union {
        int64_t i;    /* PV_INT */
        uint64_t u;   /* PV_UINT: only values above INT64_MAX */
        double d;     /* PV_DOUBLE */
        char *p;      /* PV_TEXT, PV_BLOB: owned */
    } v;
} proto_value_t;

/* ---- structures and lists ---- */
#define PROTO_FWD_(name, FIELDS) typedef struct proto_##name proto_##name##_t;
PROTO_STRUCTS(PROTO_FWD_)
#undef PROTO_FWD_

#define PROTO_LIST_(name, FIELDS) \
    typedef struct proto_list_##name { struct proto_##name *v; uint32_t n; } proto_list_##name##_t;
PROTO_STRUCTS(PROTO_LIST_)
#undef PROTO_LIST_
typedef struct proto_list_value { struct proto_value *v; uint32_t n; } proto_list_value_t;

#define PROTO_FIELD_(kind, fname) proto_##kind##_t fname;
#define PROTO_STRUCT_(name, FIELDS) struct proto_##name { FIELDS(PROTO_FIELD_) };
PROTO_STRUCTS(PROTO_STRUCT_)
#undef PROTO_STRUCT_

/* ---- messages ---- */
#define PROTO_MSG_STRUCT_(id, NAME, name, FIELDS) struct proto_##name { FIELDS(PROTO_FIELD_) };
PROTO_MESSAGES(PROTO_MSG_STRUCT_)
#undef PROTO_MSG_STRUCT_
#undef PROTO_FIELD_

enum proto_type {
    MSG_NONE = 0,
#define PROTO_MSG_ENUM_(id, NAME, name, FIELDS) MSG_##NAME = id,
    PROTO_MESSAGES(PROTO_MSG_ENUM_)
#undef PROTO_MSG_ENUM_
};

struct proto_msg {
    enum proto_type type;
    union {
#define PROTO_MSG_UNION_(id, NAME, name, FIELDS) struct proto_##name name;
        PROTO_MESSAGES(PROTO_MSG_UNION_)
#undef PROTO_MSG_UNION_
    } u;
};

/* ---- constants used in fields ---- */
enum proto_role { ROLE_CLIENT = 1, ROLE_PEER = 2, ROLE_CTL = 3 };

/* Replica status as reported on the wire (VR status plus local states). */
enum proto_replica_status {
    STATUS_NORMAL = 1, STATUS_VIEW_CHANGE = 2, STATUS_RECOVERING = 3,
    STATUS_TRANSFER = 4, STATUS_DIVERGED = 5
};

enum proto_body_kind {
    BODY_TXN = 1,         /* a transaction's write statements */
    BODY_DDL = 2,         /* one DDL statement: a barrier */
    BODY_DDL_OUTCOME = 3, /* the primary's outcome of the DDL at ref_op */
    BODY_NOOP = 4         /* nothing to apply (new primary's first entry) */
};

#define PROTO_EXEC_AUTOCOMMIT 0x01u /* this statement is a transaction of one */
#define PROTO_EXEC_READ 0x02u       /* run as a read in a read-only snapshot here */
#define PROTO_EXEC_RETRY 0x04u      /* a resend of the same request id */
#define PROTO_EXEC_CONTINUE 0x08u   /* continues the transaction open at this replica */
#define PROTO_EXEC_READ_INDEX 0x10u /* read at the primary, confirmed by a ReadIndex round */
#define PROTO_EXEC_SESSION 0x20u    /* session statement (SET, USE): run here, never logged */

#define PROTO_RESULT_MORE 0x01u     /* more rows: FETCH them */
#define PROTO_RESULT_PENDING 0x02u  /* write: valid once the entry commits */
#define PROTO_RESULT_ROWS 0x04u     /* the statement produced a result set */
#define PROTO_RESULT_SAVED 0x08u    /* a retry answered from the client table */
#define PROTO_RESULT_CONFIRMED 0x10u /* READ_INDEX read: the primary confirmed its view */

enum proto_txn_action { TXN_BEGIN = 1, TXN_COMMIT = 2, TXN_ROLLBACK = 3 };
#define PROTO_TXN_READ_ONLY 0x01u
#define PROTO_TXN_ISO_MASK 0x06u         /* isolation level bits */
#define PROTO_TXN_ISO_REPEATABLE_READ 0x02u
#define PROTO_TXN_ISO_SERIALIZABLE 0x04u
#define PROTO_TXN_CONTINUE 0x08u         /* COMMIT/ROLLBACK of a transaction the client
                                            has open at this replica */

enum proto_sync_phase { SYNC_BULK = 1, SYNC_FINAL = 2, SYNC_DONE = 3 };

#define PROTO_NO_REPLICA UINT32_MAX

/* ---- functions ---- */

/* "HELLO", "PREPARE", ...; "UNKNOWN" for anything else. */
const char *proto_type_name(enum proto_type t);

/* Append the msgpack encoding of m (no frame header) to out.  Returns 0, or
 * -1 with ERR_NOMEM/ERR_INVALID in e. */
int proto_encode(const struct proto_msg *m, struct buf *out, struct err *e);

/* Decode exactly one message occupying all of data[0..len).  On success m
 * owns everything it points to; on failure m is zeroed and e says why
 * (ERR_PROTOCOL), naming the message and field. */
int proto_decode(const void *data, size_t len, struct proto_msg *m, struct err *e);

void proto_msg_free(struct proto_msg *m);
/* Deep copy; dst is zeroed on failure. */
int proto_msg_copy(struct proto_msg *dst, const struct proto_msg *src);

/* Per-structure codecs, for payloads stored outside messages (entry bodies
 * in the log, for instance).  Same ownership rules as above. */
#define PROTO_STRUCT_API_(name, FIELDS)                                              \
    int proto_##name##_encode(const struct proto_##name *s, struct buf *out);         \
    int proto_##name##_decode(const void *data, size_t len, struct proto_##name *s,   \
                              struct err *e);                                         \
    void proto_##name##_free(struct proto_##name *s);                                 \
    int proto_##name##_copy(struct proto_##name *dst, const struct proto_##name *src);
PROTO_STRUCTS(PROTO_STRUCT_API_)
#undef PROTO_STRUCT_API_

void proto_value_free(struct proto_value *v);
int proto_value_copy(struct proto_value *dst, const struct proto_value *src);

/* Helpers to fill strings and values (copying); -1 on allocation failure. */
int proto_str_set(struct proto_str *s, const char *p, size_t len);
int proto_str_setz(struct proto_str *s, const char *z);
void proto_str_free(struct proto_str *s);
int proto_bin_set(struct proto_bin *b, const void *p, size_t len);
void proto_bin_free(struct proto_bin *b);
int proto_value_set_text(struct proto_value *v, const char *p, size_t len);
int proto_value_set_blob(struct proto_value *v, const void *p, size_t len);
/* Grow a list to n elements (new ones zeroed). */
#define PROTO_LIST_RESIZE_API_(name, FIELDS) \
    int proto_list_##name##_resize(struct proto_list_##name *l, uint32_t n);
PROTO_STRUCTS(PROTO_LIST_RESIZE_API_)
#undef PROTO_LIST_RESIZE_API_
int proto_list_value_resize(struct proto_list_value *l, uint32_t n);

#endif
