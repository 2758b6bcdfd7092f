/* recalld.conf tests: the DESIGN §8 example loads and validates; defaults;
 * every value syntax (sizes with suffixes, log_retain forms, debug levels,
 * quoting and comments); command-line overrides; every error names
 * file:line and key and says what is wrong (unknown key with a suggestion,
 * duplicate naming both lines, missing '=', missing value, bad numbers,
 * overflow, bad suffixes, bad ports, long lines, NUL bytes, control
 * characters); whole-config validation; cfg_format() output loads back to
 * the same configuration; random garbage never crashes. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "frame.h"
#include "testhelp.h"

static const char design_example[] =
    "# recalld.conf\n"
    "replicas     = 10.0.0.1:8500, 10.0.0.2:8500, 10.0.0.3:8500   # Replicas\n"
    "listen       = 10.0.0.1:8500                 # which entry is this host\n"
    "backend      = mysql://recall:secret@localhost:3306/replica1  # DSN (or sqlite:/path/db)\n"
    "stop_server  = mysqladmin shutdown           # StopServer\n"
    "start_server = start-stop-daemon --start -b -x /usr/bin/mysqld_safe   # StartServer\n"
    "sync_path    = /var/lib/mysql/               # SyncPath: the whole datadir\n"
    "sync_cmd     = ssh -l mysql                  # SyncCmd\n"
    "data_dir     = /var/lib/recall\n"
    "debug        = 1                             # Debug\n";

static int load(struct cfg *c, const char *text, struct err *e)
{
    err_clear(e);
    return cfg_load_buffer(c, "recalld.conf", text, strlen(text), e);
}

/* Loading `text` into a fresh config fails with a message containing each
 * of the NULL-terminated fragments. */
static void load_bad(const char *text, size_t len, ...)
{
    struct cfg c;
    struct err e;
    va_list ap;
    const char *frag;
    cfg_init_defaults(&c);
    err_clear(&e);
    ck_assert_msg(cfg_load_buffer(&c, "recalld.conf", text, len, &e) < 0,
                  "accepted: %.200s", text);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    va_start(ap, len);
    while ((frag = va_arg(ap, const char *)))
        ck_assert_msg(strstr(e.msg, frag), "message '%s' lacks '%s' (input %.100s)", e.msg,
                      frag, text);
    va_end(ap);
    cfg_free(&c);
}
#define LOAD_BAD(text, ...) load_bad((text), strlen(text), __VA_ARGS__, (const char *)NULL)

START_TEST(test_design_example)
{
    struct cfg c;
    struct err e;
    cfg_init_defaults(&c);
    ck_assert_int_eq(load(&c, design_example, &e), 0);
    ck_assert_int_eq(cfg_validate(&c, &e), 0);
    ck_assert_uint_eq(c.nreplicas, 3);
    ck_assert_uint_eq(c.self, 0);
    ck_assert_str_eq(c.replicas[2].host, "10.0.0.3");
    ck_assert_str_eq(c.backend, "mysql://recall:secret@localhost:3306/replica1");
    ck_assert_str_eq(c.stop_server, "mysqladmin shutdown");
    ck_assert_str_eq(c.start_server, "start-stop-daemon --start -b -x /usr/bin/mysqld_safe");
    ck_assert_str_eq(c.sync_path, "/var/lib/mysql/");
    ck_assert_str_eq(c.sync_cmd, "ssh -l mysql");
    ck_assert_str_eq(c.data_dir, "/var/lib/recall");
    ck_assert_int_eq(c.debug, 1);
    ck_assert_uint_eq(c.cluster_id, addr_cluster_id(c.replicas, c.nreplicas));
    ck_assert_str_eq(c.origin[CFG_KEY_listen], "recalld.conf:3");
    ck_assert_str_eq(c.origin[CFG_KEY_heartbeat_ms], "");
    cfg_free(&c);
    ck_assert_ptr_null(c.backend);
}
END_TEST

START_TEST(test_defaults)
{
    struct cfg c;
    cfg_init_defaults(&c);
    ck_assert_uint_eq(c.max_frame, FRAME_DEFAULT_MAX);
    ck_assert_uint_eq(c.max_entry, 16u << 20);
    ck_assert_uint_eq(c.heartbeat_ms, 100);
    ck_assert_uint_eq(c.view_change_timeout_ms, 1000);
    ck_assert_uint_eq(c.max_clients, 1000);
    ck_assert_uint_eq(c.ddl_wait_ms, 5000);
    ck_assert_uint_eq(c.read_fence_timeout_ms, 2000);
    ck_assert_uint_eq(c.read_lock_wait_timeout, 2);
    ck_assert_uint_eq(c.client_expiry, 86400);
    ck_assert_uint_eq(c.log_retain_bytes, 1ull << 30);
    ck_assert_uint_eq(c.log_retain_entries, 1000000);
    ck_assert_int_eq(c.debug, 0);
    ck_assert_ptr_null(c.log_file);
    ck_assert_ptr_null(c.sync_cmd);
    ck_assert_uint_eq(c.nreplicas, 0);
    ck_assert_str_eq(cfg_key_name(CFG_KEY_max_frame), "max_frame");
    cfg_free(&c);
}
END_TEST

START_TEST(test_values)
{
    struct cfg c;
    struct err e;
    cfg_init_defaults(&c);
    ck_assert_int_eq(load(&c,
                          "max_frame = 1G\n"
                          "max_entry=512k\n"
                          "log_retain = 500000 entries\n"
                          "heartbeat_ms = 50\n"
                          "debug = true\n"
                          "  \t# indented comment\n"
                          "\n"
                          "sync_cmd = \"ssh -p 22 # not a comment\"   # but this is\n"
                          "stop_server = kill -TERM $(cat /run/x.pid)#no-space-no-comment\n"
                          "start_server = \"quote \\\" and back\\\\slash\"\n"
                          "log_file=\n"
                          "pid_file = \"\"\r\n"
                          "backend = sqlite:/data/db/recall.db",
                          &e), 0);
    ck_assert_uint_eq(c.max_frame, 1ull << 30);
    ck_assert_uint_eq(c.max_entry, 512 * 1024);
    ck_assert_uint_eq(c.log_retain_bytes, 0);
    ck_assert_uint_eq(c.log_retain_entries, 500000);
    ck_assert_uint_eq(c.heartbeat_ms, 50);
    ck_assert_int_eq(c.debug, 1);
    ck_assert_str_eq(c.sync_cmd, "ssh -p 22 # not a comment");
    ck_assert_str_eq(c.stop_server, "kill -TERM $(cat /run/x.pid)#no-space-no-comment");
    ck_assert_str_eq(c.start_server, "quote \" and back\\slash");
    ck_assert_ptr_null(c.log_file);
    ck_assert_ptr_null(c.pid_file);
    ck_assert_str_eq(c.backend, "sqlite:/data/db/recall.db");

    /* Size spellings. */
    static const struct { const char *v; uint64_t bytes; } sizes[] = {
        {"4096", 4096}, {"8K", 8192}, {"8k", 8192}, {"8KB", 8192}, {"8KiB", 8192},
        {"2 M", 2u << 20}, {"3mib", 3u << 20}, {"1g", 1u << 30}, {"65536 B", 65536},
        {"5000 bytes", 5000},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ck_assert_msg(cfg_set(&c, "max_frame", sizes[i].v, "t", &e) == 0, "%s: %s",
                      sizes[i].v, e.msg);
        ck_assert_uint_eq(c.max_frame, sizes[i].bytes);
    }
    /* log_retain forms. */
    ck_assert_int_eq(cfg_set(&c, "log_retain", "1G", "t", &e), 0);
    ck_assert(c.log_retain_bytes == 1ull << 30 && c.log_retain_entries == 0);
    ck_assert_int_eq(cfg_set(&c, "log_retain", "1G, 500000 entries", "t", &e), 0);
    ck_assert(c.log_retain_bytes == 1ull << 30 && c.log_retain_entries == 500000);
    ck_assert_int_eq(cfg_set(&c, "log_retain", "10 entries ,64K", "t", &e), 0);
    ck_assert(c.log_retain_bytes == 65536 && c.log_retain_entries == 10);
    ck_assert_int_eq(cfg_set(&c, "log_retain", "1 entry", "t", &e), 0);
    ck_assert_uint_eq(c.log_retain_entries, 1);
    /* debug forms. */
    static const struct { const char *v; int d; } dbg[] = {
        {"0", 0}, {"3", 3}, {"false", 0}, {"TRUE", 1}, {"yes", 1}, {"off", 0}};
    for (size_t i = 0; i < sizeof dbg / sizeof dbg[0]; i++) {
        ck_assert_int_eq(cfg_set(&c, "debug", dbg[i].v, "t", &e), 0);
        ck_assert_int_eq(c.debug, dbg[i].d);
    }
    cfg_free(&c);
}
END_TEST

/* The ranges docs/CONFIG.md promises, key by key. */
START_TEST(test_ranges)
{
    static const struct { const char *key, *min, *max, *below, *above; } r[] = {
        {"heartbeat_ms", "1", "60000", "0", "60001"},
        {"view_change_timeout_ms", "3", "600000", "2", "600001"},
        {"max_clients", "1", "100000", "0", "100001"},
        {"ddl_wait_ms", "0", "3600000", NULL, "3600001"},
        {"read_fence_timeout_ms", "1", "600000", "0", "600001"},
        {"read_lock_wait_timeout", "1", "31536000", "0", "31536001"},
        {"client_expiry", "60", "315360000", "59", "315360001"},
        {"backend_timeout", "1", "3600", "0", "3601"},
        {"start_timeout", "1", "86400", "0", "86401"},
        {"max_frame", "4096", "1G", "4095", "1073741825"},
        {"max_entry", "1K", "1G", "1023", "1073741825"},
        {"debug", "0", "3", NULL, "4"},
    };
    struct cfg c;
    struct err e;
    cfg_init_defaults(&c);
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        ck_assert_msg(cfg_set(&c, r[i].key, r[i].min, "t", &e) == 0, "%s", e.msg);
        ck_assert_msg(cfg_set(&c, r[i].key, r[i].max, "t", &e) == 0, "%s", e.msg);
        if (r[i].below)
            ck_assert_msg(cfg_set(&c, r[i].key, r[i].below, "t", &e) == -1, "%s=%s accepted",
                          r[i].key, r[i].below);
        ck_assert_msg(cfg_set(&c, r[i].key, r[i].above, "t", &e) == -1, "%s=%s accepted",
                      r[i].key, r[i].above);
        ck_assert_ptr_nonnull(strstr(e.msg, r[i].key));
    }
    for (int k = 0; k < CFG_KEY__COUNT; k++) /* every key has a name the parser knows */
        ck_assert_int_eq(cfg_set(&c, cfg_key_name((enum cfg_key)k), "", "t", &e) == 0 ||
                             strstr(e.msg, "missing value") != NULL, 1);
    cfg_free(&c);
}
END_TEST

START_TEST(test_overrides)
{
    struct cfg c;
    struct err e;
    cfg_init_defaults(&c);
    ck_assert_int_eq(load(&c, design_example, &e), 0);
    ck_assert_int_eq(cfg_set_arg(&c, "listen=10.0.0.2:8500", &e), 0);
    ck_assert_int_eq(cfg_set_arg(&c, "  debug =  3 ", &e), 0);
    ck_assert_int_eq(cfg_set_arg(&c, "sync_cmd=", &e), 0);
    ck_assert_int_eq(cfg_validate(&c, &e), 0);
    ck_assert_uint_eq(c.self, 1);
    ck_assert_int_eq(c.debug, 3);
    ck_assert_ptr_null(c.sync_cmd);
    ck_assert_str_eq(c.origin[CFG_KEY_listen], "--set");

    err_clear(&e);
    ck_assert_int_eq(cfg_set_arg(&c, "heartbeat_ms", &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "key=value"));
    ck_assert_int_eq(cfg_set_arg(&c, "=5", &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "missing key"));
    ck_assert_int_eq(cfg_set_arg(&c, "hearbeat_ms=5", &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "--set: unknown key 'hearbeat_ms'; did you mean 'heartbeat_ms'?"));
    ck_assert_int_eq(cfg_set_arg(&c, "heartbeat_ms=abc", &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "--set: heartbeat_ms: 'abc' is not a whole number"));
    /* A failed set keeps the previous value. */
    ck_assert_uint_eq(c.heartbeat_ms, 100);
    ck_assert_int_eq(cfg_set_arg(&c, "sync_cmd=a\nb", &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "control character"));
    cfg_free(&c);
}
END_TEST

START_TEST(test_line_errors)
{
    LOAD_BAD("heartbeat_ms = 100\nreplica = h:1\n", "recalld.conf:2", "unknown key 'replica'",
             "did you mean 'replicas'?");
    LOAD_BAD("Listen = h:1", "did you mean 'listen'?");
    LOAD_BAD("view_change_timeout = 5", "did you mean 'view_change_timeout_ms'?");
    LOAD_BAD("frobnicate = 1", "unknown key 'frobnicate'", "CONFIG.md");
    LOAD_BAD("data_dir = /a\n\n# c\ndata_dir = /b\n", "recalld.conf:4", "duplicate key 'data_dir'",
             "first set on line 1");
    LOAD_BAD("heartbeat_ms 100", "recalld.conf:1", "expected 'key = value'");
    LOAD_BAD("= 100", "missing key");
    LOAD_BAD("heartbeat_ms =", "heartbeat_ms: missing value");
    LOAD_BAD("backend = # only a comment", "backend: missing value");
    LOAD_BAD("heartbeat_ms = abc", "heartbeat_ms: 'abc' is not a whole number");
    LOAD_BAD("heartbeat_ms = -5", "not a whole number");
    LOAD_BAD("heartbeat_ms = 1.5", "not a whole number");
    LOAD_BAD("heartbeat_ms = 0", "out of range (1..60000)");
    LOAD_BAD("max_clients = 99999999999999999999999", "too large");
    LOAD_BAD("max_frame = 64X", "max_frame", "unknown unit");
    LOAD_BAD("max_frame = 64 MM", "unknown unit");
    LOAD_BAD("max_frame = M", "not a size");
    LOAD_BAD("max_frame = 100", "out of range");
    LOAD_BAD("max_frame = 2G", "out of range");
    LOAD_BAD("max_frame = 99999999999999999999", "too large");
    LOAD_BAD("max_frame = 17179869184T", "too large");
    LOAD_BAD("log_retain = ", "missing value");
    LOAD_BAD("log_retain = 1G,", "empty part");
    LOAD_BAD("log_retain = 1G, 2G", "size given twice");
    LOAD_BAD("log_retain = 5 entries, 6 entries", "entries given twice");
    LOAD_BAD("log_retain = 0 entries", "at least 1 entry");
    LOAD_BAD("log_retain = x entries", "bad number of entries");
    LOAD_BAD("log_retain = 100", "at least 4096 bytes");
    LOAD_BAD("log_retain = lots", "not a size");
    LOAD_BAD("debug = 4", "not a debug level");
    LOAD_BAD("debug = maybe", "not a debug level");
    LOAD_BAD("replicas = h1:1, h2:1", "replicas", "odd");
    LOAD_BAD("replicas = h1:1, h2:99999, h3:1", "replicas: replica 2", "65535");
    LOAD_BAD("replicas = h1:1, h1:1, h3:1", "duplicates");
    LOAD_BAD("listen = nope", "listen", "missing port");
    LOAD_BAD("sync_cmd = \"unterminated", "unterminated quoted value");
    LOAD_BAD("sync_cmd = \"a\" b", "after the closing quote");
    LOAD_BAD("sync_cmd = \"a\\qb\"", "bad escape");
    LOAD_BAD("data_dir = /a\x01", "control character 0x01");
    load_bad("data_dir = /a\0b", 15, "recalld.conf:1", "NUL byte", (const char *)NULL);
    load_bad("\n\n\0", 3, "recalld.conf:3", "NUL byte", (const char *)NULL);
    /* A line over 64 KiB, even inside a comment. */
    size_t big = CFG_LINE_MAX + 10;
    char *text = malloc(big + 32);
    strcpy(text, "debug = 1\n#");
    memset(text + 11, 'x', big);
    load_bad(text, big + 11, "recalld.conf:2", "longer than 65536 bytes", (const char *)NULL);
    /* A value over 16 KiB (it could not be printed back within a line). */
    memcpy(text, "sync_cmd = ", 11);
    memset(text + 11, 'v', CFG_VALUE_MAX + 1);
    load_bad(text, 11 + CFG_VALUE_MAX + 1, "sync_cmd: value is longer than 16384 bytes",
             (const char *)NULL);
    memset(text, 'x', big);
    memcpy(text, "debug = 1\n#", 11);
    /* Exactly 64 KiB is fine. */
    {
        struct cfg c;
        struct err e;
        cfg_init_defaults(&c);
        ck_assert_int_eq(cfg_load_buffer(&c, "x", text, 10 + CFG_LINE_MAX, &e), 0);
        cfg_free(&c);
    }
    free(text);
}
END_TEST

static void validate_bad(const char *text, const char *frag)
{
    struct cfg c;
    struct err e;
    cfg_init_defaults(&c);
    ck_assert_msg(load(&c, text, &e) == 0, "%s", e.msg);
    ck_assert_msg(cfg_validate(&c, &e) < 0, "validated: %s", text);
    ck_assert_msg(strstr(e.msg, frag), "message '%s' lacks '%s'", e.msg, frag);
    cfg_free(&c);
}

START_TEST(test_validate)
{
    static const char base[] = "replicas = a:1, b:1, c:1\nlisten = b:1\n"
                               "backend = sqlite:/srv/r/db.sqlite\ndata_dir = /srv/r\n";
    char text[1024];
    struct cfg c;
    struct err e;

    cfg_init_defaults(&c);
    ck_assert_int_eq(load(&c, base, &e), 0);
    ck_assert_int_eq(cfg_validate(&c, &e), 0);
    ck_assert_uint_eq(c.self, 1);
    ck_assert_str_eq(c.sync_path, "/srv/r/"); /* derived from the SQLite path */
    cfg_free(&c);

    validate_bad("listen = a:1\nbackend = sqlite:/x\ndata_dir = /d\n", "replicas is not set");
    validate_bad("replicas = a:1\nbackend = sqlite:/x\ndata_dir = /d\n", "listen is not set");
    validate_bad("replicas = a:1, b:1, c:1\nlisten = d:1\nbackend = sqlite:/x\ndata_dir = /d\n",
                 "listen (recalld.conf:2): d:1 is not one of the replicas (recalld.conf:1)");
    validate_bad("replicas = a:1\nlisten = a:1\ndata_dir = /d\n", "backend is not set");
    validate_bad("replicas = a:1\nlisten = a:1\nbackend = postgres://x\ndata_dir = /d\n",
                 "must start with mysql:// or sqlite:");
    validate_bad("replicas = a:1\nlisten = a:1\nbackend = sqlite:\ndata_dir = /d\n",
                 "must start with");
    validate_bad("replicas = a:1\nlisten = a:1\nbackend = sqlite:/x\n", "data_dir is not set");
    validate_bad("replicas = a:1, b:1, c:1\nlisten = a:1\nbackend = mysql://u:p@h/db\n"
                 "data_dir = /d\n", "sync_path is not set");
    snprintf(text, sizeof text, "%sheartbeat_ms = 500\nview_change_timeout_ms = 1000\n", base);
    validate_bad(text, "more than twice heartbeat_ms");
    snprintf(text, sizeof text, "%smax_frame = 16M\nmax_entry = 16M\n", base);
    validate_bad(text, "max_entry (recalld.conf:6) must be at least 1024 bytes smaller");

    /* A single MySQL replica needs no state-transfer commands. */
    cfg_init_defaults(&c);
    ck_assert_int_eq(load(&c, "replicas = a:1\nlisten = a:1\nbackend = mysql://u:p@h/db\n"
                              "data_dir = /d\n", &e), 0);
    ck_assert_int_eq(cfg_validate(&c, &e), 0);
    ck_assert_ptr_null(c.sync_path);
    cfg_free(&c);
}
END_TEST

START_TEST(test_format_round_trip)
{
    struct cfg a, b;
    struct err e;
    struct buf out;
    cfg_init_defaults(&a);
    ck_assert_int_eq(load(&a, design_example, &e), 0);
    ck_assert_int_eq(cfg_set_arg(&a, "sync_cmd=\" ssh # odd \\\"\"", &e), 0);
    ck_assert_int_eq(cfg_set(&a, "log_retain", "3M, 77 entries", "t", &e), 0);
    ck_assert_int_eq(cfg_set(&a, "max_entry", "2000", "t", &e), 0);
    ck_assert_int_eq(cfg_set(&a, "replicas", "[::1]:1, B:2, c:3", "t", &e), 0);
    ck_assert_int_eq(cfg_set(&a, "listen", "b:2", "t", &e), 0);
    buf_init(&out);
    ck_assert_int_eq(cfg_format(&a, &out), 0);
    cfg_init_defaults(&b);
    ck_assert_msg(cfg_load_buffer(&b, "formatted", (char *)out.data, out.len, &e) == 0,
                  "%s\n%s", e.msg, (char *)out.data);
    ck_assert_ptr_nonnull(strstr((char *)out.data, "log_retain = 3M, 77 entries\n"));
    ck_assert_ptr_nonnull(strstr((char *)out.data, "replicas = [::1]:1, b:2, c:3\n"));
    ck_assert_str_eq(b.sync_cmd, a.sync_cmd);
    ck_assert_str_eq(b.backend, a.backend);
    ck_assert_uint_eq(b.nreplicas, 3);
    ck_assert_uint_eq(addr_cluster_id(a.replicas, 3), addr_cluster_id(b.replicas, 3));
    ck_assert(addr_equal(&a.listen, &b.listen));
    ck_assert_uint_eq(b.max_entry, 2000);
    ck_assert_uint_eq(b.max_frame, a.max_frame);
    ck_assert_uint_eq(b.log_retain_bytes, 3u << 20);
    ck_assert_uint_eq(b.log_retain_entries, 77);
    ck_assert_uint_eq(b.read_lock_wait_timeout, a.read_lock_wait_timeout);
    ck_assert_int_eq(b.debug, a.debug);
    /* Formatting b gives the same text again. */
    struct buf out2;
    buf_init(&out2);
    ck_assert_int_eq(cfg_format(&b, &out2), 0);
    ck_assert_uint_eq(out.len, out2.len);
    ck_assert_int_eq(memcmp(out.data, out2.data, out.len), 0);
    buf_close(&out);
    buf_close(&out2);
    cfg_free(&a);
    cfg_free(&b);
}
END_TEST

/* Found by fuzz_text (corpus/text/regression-cfg-format-leading-hash): a
 * value starting with '#' ("backend =#x", legal because the '#' follows no
 * blank) was printed as "backend = #x", which reads back as a comment. */
START_TEST(test_regression_format_leading_hash)
{
    struct cfg a, b;
    struct err e;
    struct buf out;
    cfg_init_defaults(&a);
    ck_assert_int_eq(load(&a, "replicas =b:2\nbackend =# \xb3" "1 #\xb3ic", &e), 0);
    ck_assert_str_eq(a.backend, "# \xb3" "1");
    buf_init(&out);
    ck_assert_int_eq(cfg_format(&a, &out), 0);
    cfg_init_defaults(&b);
    ck_assert_msg(cfg_load_buffer(&b, "formatted", (char *)out.data, out.len, &e) == 0, "%s",
                  e.msg);
    ck_assert_str_eq(b.backend, a.backend);
    buf_close(&out);
    cfg_free(&a);
    cfg_free(&b);
}
END_TEST

START_TEST(test_load_file)
{
    char *dir = testhelp_tmpdir("cfg");
    char path[512];
    struct cfg c;
    struct err e;
    FILE *f;

    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof path, "%s/recalld.conf", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(design_example, f);
    fputs("bogus_key = 1\n", f);
    fclose(f);
    cfg_init_defaults(&c);
    ck_assert_int_eq(cfg_load_file(&c, path, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    ck_assert_ptr_nonnull(strstr(e.msg, ":11: unknown key 'bogus_key'"));
    cfg_free(&c);

    f = fopen(path, "w");
    fputs(design_example, f);
    fclose(f);
    cfg_init_defaults(&c);
    ck_assert_int_eq(cfg_load_file(&c, path, &e), 0);
    ck_assert_str_eq(c.data_dir, "/var/lib/recall");
    cfg_free(&c);

    snprintf(path, sizeof path, "%s/missing.conf", dir);
    ck_assert_int_eq(cfg_load_file(&c, path, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, "missing.conf"));
    ck_assert_int_eq(cfg_load_file(&c, dir, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

/* docs/CONFIG.md documents every key (a row "| `key` |" in a table). */
START_TEST(test_docs_cover_every_key)
{
    const char *top = getenv("top_srcdir");
    char path[1024], needle[80];
    if (!top)
        top = RECALL_TOP_SRCDIR;
    snprintf(path, sizeof path, "%s/docs/CONFIG.md", top);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char doc[256 * 1024];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = '\0';
    fclose(f);
    for (int k = 0; k < CFG_KEY__COUNT; k++) {
        snprintf(needle, sizeof needle, "| `%s` |", cfg_key_name((enum cfg_key)k));
        ck_assert_msg(strstr(doc, needle), "docs/CONFIG.md has no row for %s", needle);
    }
}
END_TEST

START_TEST(test_random_garbage)
{
    uint64_t seed = testhelp_seed("cfg random garbage");
    static const char chars[] = "= #\"\\\nabdgx_0123456789KMG,:[]\t\r";
    static const char *const keynames[] = {"replicas", "listen", "max_frame", "log_retain",
                                           "debug", "sync_cmd", "heartbeat_ms"};
    char buf[300];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0, target = testhelp_rand(&seed) % 250;
        while (len < target) {
            if (testhelp_rand(&seed) % 8 == 0) {
                const char *k = keynames[testhelp_rand(&seed) % 7];
                size_t kl = strlen(k);
                if (len + kl >= sizeof buf)
                    break;
                memcpy(buf + len, k, kl);
                len += kl;
            } else {
                buf[len++] = chars[testhelp_rand(&seed) % (sizeof chars - 1)];
            }
        }
        char *copy = malloc(len ? len : 1); /* exact size: over-reads are caught */
        memcpy(copy, buf, len);
        struct cfg c;
        struct err e;
        cfg_init_defaults(&c);
        if (cfg_load_buffer(&c, "fuzz", copy, len, &e) < 0) {
            ck_assert(e.code == ERR_CONFIG);
            ck_assert_msg(strncmp(e.msg, "fuzz:", 5) == 0, "%s", e.msg);
        } else {
            (void)cfg_validate(&c, &e);
        }
        cfg_free(&c);
        free(copy);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cfg");
    TCase *tc = tcase_create("cfg");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_design_example);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_ranges);
    tcase_add_test(tc, test_overrides);
    tcase_add_test(tc, test_line_errors);
    tcase_add_test(tc, test_validate);
    tcase_add_test(tc, test_format_round_trip);
    tcase_add_test(tc, test_regression_format_leading_hash);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_docs_cover_every_key);
    tcase_add_test(tc, test_random_garbage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
