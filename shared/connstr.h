/* Client connection strings: "key=value;key={va;lue};...".
 *
 * The syntax librecall and the ODBC driver share (docs/CONFIG.md):
 * pairs separated by ';', keys compared case-insensitively (the original
 * spelling is kept for echoing), blanks around keys and unbraced values
 * trimmed, a value may be wrapped in braces so that it can hold ';', '=' and
 * blanks ("}}" inside braces is one '}'), the FIRST occurrence of a key wins
 * (later ones are dropped and counted so the caller can warn), and keys the
 * parser does not know are kept: the caller decides what is valid.  Error
 * messages name the key and the byte offset but never quote a value, since
 * values include passwords.  The builder, connstr_append(), quotes exactly
 * when needed so that parse(build(pairs)) == pairs.
 */
#ifndef RECALL_SHARED_CONNSTR_H
#define RECALL_SHARED_CONNSTR_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Longest connection string accepted, and most pairs (duplicates included). */
#define CONNSTR_MAX (64u * 1024)
#define CONNSTR_MAX_PAIRS 256

struct connstr_pair {
    const char *key;   /* as written, trimmed; NUL-terminated; never empty */
    const char *value; /* unquoted, NUL-terminated; may be empty */
};

struct connstr {
    struct connstr_pair *pairs; /* owned; n entries in input order */
    size_t n;
    size_t ndup;                /* later duplicates that were dropped */
    const char *first_dup;      /* key of the first dropped duplicate, or NULL */
    char *mem;                  /* owned: storage for every key and value */
};

/* Parse s[0..len).  An empty (or all-blank) string is valid and has no
 * pairs.  Returns 0 with *cs filled (free it with connstr_free), or -1 with
 * ERR_INVALID (syntax; the message gives the offset and, where known, the
 * key) or ERR_NOMEM in e, leaving *cs empty (connstr_free is still safe).
 * A NUL byte anywhere in s[0..len) is an error. */
int connstr_parse(struct connstr *cs, const char *s, size_t len, struct err *e);

/* Value of key (case-insensitive), or NULL if absent.  Points into cs. */
const char *connstr_get(const struct connstr *cs, const char *key);

void connstr_free(struct connstr *cs);

/* Whether key is acceptable to connstr_append: non-empty, no ';', '=', '{',
 * '}' or control characters, no leading or trailing blanks. */
bool connstr_key_valid(const char *key);

/* Append "key=value" to out, preceded by ';' unless out is empty or already
 * ends in ';'.  The value (NULL means "") is wrapped in braces, with '}'
 * doubled, when it contains ';', '{', '}' or '=' or starts or ends with a
 * blank (space, tab, CR, LF, VT, FF).  out stays NUL-terminated after
 * out->len (the NUL is not counted).  Returns 0, or -1 with out unchanged if
 * the key is invalid (see connstr_key_valid) or memory ran out (out->oom is
 * then set). */
int connstr_append(struct buf *out, const char *key, const char *value);

#endif
