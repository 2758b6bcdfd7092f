/* libFuzzer harness for the text parsers.  The first input byte picks the
 * parser, the rest is its input:
 *   0: connstr_parse; on success the pairs are rebuilt with connstr_append
 *      and must parse back to the same pairs (round trip);
 *   1: cfg_load_buffer; on success cfg_format's text must load back and
 *      format to the same text, and cfg_validate must not crash;
 *   2: addr_parse_list (NUL-terminated copy); a parsed list must format to
 *      text that parses to the same cluster id.
 * Any violated invariant aborts (a finding). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cfg.h"
#include "connstr.h"

static void check(int cond, const char *what, const struct err *e)
{
    if (!cond) {
        fprintf(stderr, "fuzz_text invariant violated: %s (%s)\n", what, e ? e->msg : "");
        abort();
    }
}

static void fuzz_connstr(const char *s, size_t len)
{
    struct connstr cs, back;
    struct err e;
    struct buf b;

    if (connstr_parse(&cs, s, len, &e) < 0) {
        check(e.code == ERR_INVALID || e.code == ERR_NOMEM, "connstr error code", &e);
        connstr_free(&cs);
        return;
    }
    buf_init(&b);
    for (size_t i = 0; i < cs.n; i++)
        check(connstr_append(&b, cs.pairs[i].key, cs.pairs[i].value) == 0,
              "connstr_append of a parsed pair", NULL);
    check(connstr_parse(&back, b.data ? (char *)b.data : "", b.len, &e) == 0,
          "parse of built connection string", &e);
    check(back.n == cs.n && back.ndup == 0, "round trip pair count", NULL);
    for (size_t i = 0; i < cs.n; i++) {
        check(strcmp(back.pairs[i].key, cs.pairs[i].key) == 0, "round trip key", NULL);
        check(strcmp(back.pairs[i].value, cs.pairs[i].value) == 0, "round trip value", NULL);
        check(connstr_get(&cs, cs.pairs[i].key) == cs.pairs[i].value, "first wins", NULL);
    }
    connstr_free(&back);
    connstr_free(&cs);
    buf_close(&b);
}

static void fuzz_cfg(const char *s, size_t len)
{
    struct cfg c, c2;
    struct err e;
    struct buf t1, t2;

    cfg_init_defaults(&c);
    if (cfg_load_buffer(&c, "fuzz", s, len, &e) < 0) {
        check(e.code == ERR_CONFIG || e.code == ERR_NOMEM, "cfg error code", &e);
        check(strncmp(e.msg, "fuzz:", 5) == 0, "cfg error names the source", &e);
        cfg_free(&c);
        return;
    }
    buf_init(&t1);
    buf_init(&t2);
    check(cfg_format(&c, &t1) == 0, "cfg_format", NULL);
    cfg_init_defaults(&c2);
    check(cfg_load_buffer(&c2, "formatted", (char *)t1.data, t1.len, &e) == 0,
          "formatted configuration loads", &e);
    check(cfg_format(&c2, &t2) == 0, "cfg_format again", NULL);
    check(t1.len == t2.len && memcmp(t1.data, t2.data, t1.len) == 0,
          "format(load(format(c))) == format(c)", NULL);
    (void)cfg_validate(&c, &e);
    cfg_free(&c);
    cfg_free(&c2);
    buf_close(&t1);
    buf_close(&t2);
}

static void fuzz_addr(const char *s, size_t len)
{
    struct replica_addr v[ADDR_MAX_REPLICAS], w[ADDR_MAX_REPLICAS];
    size_t n, m;
    struct err e;
    struct buf text;
    char *z = malloc(len + 1);

    check(z != NULL, "malloc", NULL);
    memcpy(z, s, len);
    z[len] = '\0';
    if (addr_parse_list(z, v, &n, &e) == 0) {
        check(n >= 1 && n <= ADDR_MAX_REPLICAS && n % 2 == 1, "list size rules", NULL);
        buf_init(&text);
        check(addr_list_format(v, n, &text) == 0, "addr_list_format", NULL);
        check(addr_parse_list((char *)text.data, w, &m, &e) == 0, "formatted list parses", &e);
        check(m == n && addr_cluster_id(v, n) == addr_cluster_id(w, m),
              "formatted list has the same cluster id", NULL);
        buf_close(&text);
    } else {
        check(e.code == ERR_CONFIG, "addr error code", &e);
    }
    free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 3) {
    case 0: fuzz_connstr(s, len); break;
    case 1: fuzz_cfg(s, len); break;
    default: fuzz_addr(s, len); break;
    }
    return 0;
}
