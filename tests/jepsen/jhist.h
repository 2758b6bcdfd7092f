/* Histories of the fault-test clients (tests/jepsen): a small JSON reader
 * and the loader that pairs invocations with their completions.
 *
 * A history file holds one JSON object per line, Jepsen style:
 *   {"type":"invoke","process":3,"time":123,"f":"read","value":[1,null]}
 *   {"type":"ok","process":3,"time":456,"f":"read","value":[1,7]}
 * "type" is invoke, ok, fail (definitely did not happen) or info (outcome
 * unknown); "time" is CLOCK_MONOTONIC in nanoseconds, shared by every
 * client process of a run; a process has at most one operation in flight.
 * Lines are untrusted input: anything malformed is an error with its line
 * number, never a crash.  Numbers must be integers (64-bit).
 */
#ifndef RECALL_TESTS_JEPSEN_JHIST_H
#define RECALL_TESTS_JEPSEN_JHIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- JSON values ---- */

enum jv_kind { JV_NULL = 0, JV_BOOL, JV_INT, JV_STR, JV_ARR, JV_OBJ };

struct jv {
    enum jv_kind kind;
    int64_t i;          /* JV_INT, JV_BOOL (0/1) */
    char *s;            /* JV_STR: owned, NUL-terminated (len in n) */
    size_t n;           /* JV_STR length; JV_ARR/JV_OBJ item count */
    struct jv *items;   /* owned: array elements or object values */
    char **keys;        /* owned: object keys (JV_OBJ) */
};

#define JV_MAX_DEPTH 64

/* Parse exactly one JSON value from text[0..len) (surrounding blanks are
 * allowed).  On success *out owns the tree (free with jv_free); on failure
 * returns -1 with a message in err and *out is left empty (JV_NULL). */
int jv_parse(const char *text, size_t len, struct jv *out, char *err, size_t errlen);
void jv_free(struct jv *v);
/* Member of an object, or NULL (also when v is not an object). */
const struct jv *jv_get(const struct jv *v, const char *key);
/* Deep copy; aborts on allocation failure. */
void jv_copy(struct jv *dst, const struct jv *src);

/* ---- histories ---- */

enum jh_status { JH_PENDING = 0, JH_OK, JH_FAIL, JH_INFO };

/* One operation: an invocation and its completion. */
struct jh_op {
    int64_t process;
    char f[24];
    enum jh_status status;  /* PENDING: invoked, never completed */
    int64_t invoke_ns;
    int64_t complete_ns;    /* 0 while pending */
    struct jv invoke_value; /* owned */
    struct jv value;        /* owned: the completion's value (a copy of the
                             * invocation's when the completion has none) */
    char *error;            /* owned, NULL when none */
    size_t line;            /* line of the invocation in its file */
    unsigned file;          /* index of the file it came from */
};

struct jh_history {
    struct jh_op *ops;      /* owned */
    size_t n, cap;
    unsigned files;
};

void jh_init(struct jh_history *h);
void jh_free(struct jh_history *h);
/* Read one history file and append its operations.  Returns 0, or -1 with
 * "PATH:LINE: why" in err (the operations read so far stay in h). */
int jh_load(struct jh_history *h, const char *path, char *err, size_t errlen);
/* The same from a buffer (name is used in messages); for tests. */
int jh_load_text(struct jh_history *h, const char *name, const char *text, size_t len,
                 char *err, size_t errlen);
/* Sort operations by invocation time (stable on ties). */
void jh_sort(struct jh_history *h);
const char *jh_status_name(enum jh_status s);

/* Stamps for real-time order: every invocation and completion time ranked
 * in one sequence, an invocation before a completion at the same time (so
 * ties count as concurrent, never as ordered).  invoke[i] and ret[i] get
 * the ranks of ops[i]; ret of a pending or info operation is UINT64_MAX.
 * Arrays are allocated (owned by the caller).  Aborts on allocation failure. */
void jh_stamps(const struct jh_history *h, uint64_t **invoke, uint64_t **ret);

/* Largest interval (ns) inside [from, to] that holds no completion with
 * status ok; when no window is given (from >= to) the window spans the
 * history.  *at gets the start of that interval. */
int64_t jh_longest_gap(const struct jh_history *h, int64_t from, int64_t to, int64_t *at);

#endif
