/* State-file tests: round trips with boundary values, a readable format,
 * damaged files refused with a message naming the problem (never read as
 * zeros), a leftover temp file ignored, and failed saves (write, fsync,
 * rename) leaving the previous file intact and loadable. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "fault.h"
#include "state.h"
#include "testhelp.h"

static void write_file(const char *dir, const char *name, const char *text, size_t n)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, n, f), n);
    fclose(f);
}

static size_t read_file(const char *dir, const char *name, char *out, size_t cap)
{
    char path[512];
    FILE *f;
    size_t n;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    return n;
}

static bool exists(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void assert_same(const struct replica_state *a, const struct replica_state *b)
{
    ck_assert_uint_eq(a->view, b->view);
    ck_assert_uint_eq(a->last_normal, b->last_normal);
    ck_assert_uint_eq(a->commit, b->commit);
    ck_assert_uint_eq(a->replica, b->replica);
    ck_assert_uint_eq(a->cluster, b->cluster);
}

static void save_ok(const char *dir, const struct replica_state *st)
{
    struct err e;
    if (state_save(dir, st, &e) < 0)
        ck_abort_msg("state_save: %s", e.msg);
}

static void load_expect(const char *dir, const struct replica_state *want)
{
    struct replica_state got;
    bool found = false;
    struct err e;
    if (state_load(dir, &got, &found, &e) < 0)
        ck_abort_msg("state_load: %s", e.msg);
    ck_assert(found);
    assert_same(&got, want);
}

START_TEST(state_roundtrip_boundary_values)
{
    char *dir = testhelp_tmpdir("state");
    uint64_t r = 77;
    struct replica_state cases[] = {
        {0, 0, 0, 0, 0},
        {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT32_MAX, UINT64_MAX},
        {1, 0, 1, 1, 1},
        {UINT64_MAX, 0, 0, 0, 0x8000000000000000ull},
    };
    struct replica_state none;
    bool found = true;
    struct err e;

    ck_assert_int_eq(state_load(dir, &none, &found, &e), 0);
    ck_assert(!found);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        save_ok(dir, &cases[i]);
        load_expect(dir, &cases[i]);
    }
    for (int i = 0; i < 50; i++) {
        struct replica_state st;
        st.view = testhelp_rand(&r);
        st.last_normal = st.view ? testhelp_rand(&r) % st.view : 0;
        st.commit = testhelp_rand(&r);
        st.replica = (uint32_t)testhelp_rand(&r);
        st.cluster = testhelp_rand(&r);
        save_ok(dir, &st);
        load_expect(dir, &st);
    }
    ck_assert(!exists(dir, STATE_TMP_FILE));
    /* last_normal above view is not a state a replica can be in. */
    ck_assert_int_eq(state_save(dir, &(struct replica_state){1, 2, 0, 0, 0}, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(state_file_is_human_readable)
{
    char *dir = testhelp_tmpdir("state"), text[STATE_MAX_BYTES];
    struct replica_state st = {7, 6, 1234, 2, 0xabcdef};
    save_ok(dir, &st);
    read_file(dir, STATE_FILE, text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "\nview = 7\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nlast_normal = 6\n"));
    ck_assert_ptr_nonnull(strstr(text, "\ncommit = 1234\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nreplica = 2\n"));
    ck_assert_ptr_nonnull(strstr(text, "\ncluster = 0x0000000000abcdef\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nchecksum = 0x"));
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

/* Replace the body's checksum line with a correct one, so that the damage
 * under test is the only problem. */
static size_t reseal(char *text, size_t body_len, size_t cap)
{
    int n = snprintf(text + body_len, cap - body_len, "checksum = 0x%08x\n",
                     crc32c(0, text, body_len));
    return body_len + (size_t)n;
}

static void expect_corrupt(const char *dir, const char *text, size_t n, const char *needle)
{
    struct replica_state st;
    bool found = true;
    struct err e;
    write_file(dir, STATE_FILE, text, n);
    memset(&st, 0xee, sizeof st);
    ck_assert_int_eq(state_load(dir, &st, &found, &e), -1);
    ck_assert_msg(e.code == ERR_CORRUPT, "%s: %s", err_name(e.code), e.msg);
    ck_assert(!found);
    ck_assert_msg(strstr(e.msg, needle) != NULL, "'%s' not in: %s", needle, e.msg);
    ck_assert_msg(strstr(e.msg, "/state") != NULL, "no file name in: %s", e.msg);
    ck_assert_uint_eq(st.view, 0); /* no half-parsed values left behind */
}

START_TEST(state_damaged_files_are_refused)
{
    char *dir = testhelp_tmpdir("state"), good[STATE_MAX_BYTES], t[2 * STATE_MAX_BYTES];
    struct replica_state st = {17, 16, 99, 1, 0x1234};
    size_t n = state_format(&st, good, sizeof good), body, m;
    char *p;

    ck_assert_uint_gt(n, 0);
    p = strstr(good, "checksum = ");
    ck_assert_ptr_nonnull(p);
    body = (size_t)(p - good);

    /* A flipped digit. */
    memcpy(t, good, n);
    p = strstr(t, "view = 17");
    p[7] = '8';
    expect_corrupt(dir, t, n, "checksum mismatch");
    /* Truncated at every length: never accepted. */
    for (size_t k = 0; k < n; k++) {
        struct replica_state x;
        bool found;
        struct err e;
        write_file(dir, STATE_FILE, good, k);
        ck_assert_int_eq(state_load(dir, &x, &found, &e), -1);
        ck_assert_int_eq(e.code, ERR_CORRUPT);
    }
    expect_corrupt(dir, "", 0, "truncated");
    /* Garbage. */
    expect_corrupt(dir, "\x01\x02garbage\n", 10, "checksum");
    expect_corrupt(dir, "a\0b\n", 4, "NUL");
    /* Well-sealed but wrong content. */
    memcpy(t, good, body);
    p = strstr(t, "commit = 99\n");
    memmove(p, p + 12, body - (size_t)(p + 12 - t));
    m = reseal(t, body - 12, sizeof t);
    expect_corrupt(dir, t, m, "missing key 'commit'");

    memcpy(t, good, body);
    m = body;
    m += (size_t)sprintf(t + m, "view = 3\n");
    m = reseal(t, m, sizeof t);
    expect_corrupt(dir, t, m, "duplicate key 'view'");

    memcpy(t, good, body);
    m = body + (size_t)sprintf(t + body, "colour = blue\n");
    m = reseal(t, m, sizeof t);
    expect_corrupt(dir, t, m, "unknown key 'colour'");

    memcpy(t, good, body);
    p = strstr(t, "commit = 99\n");
    memcpy(p, "commit = -9\n", 12);
    m = reseal(t, body, sizeof t);
    expect_corrupt(dir, t, m, "bad value for 'commit'");

    m = (size_t)sprintf(t, "format = 1\nview = 18446744073709551616\nlast_normal = 0\n"
                           "commit = 0\nreplica = 0\ncluster = 0\n");
    m = reseal(t, m, sizeof t);
    expect_corrupt(dir, t, m, "bad value for 'view'");

    m = (size_t)sprintf(t, "format = 1\nview = 1\nlast_normal = 0\n"
                           "commit = 0\nreplica = 4294967296\ncluster = 0\n");
    m = reseal(t, m, sizeof t);
    expect_corrupt(dir, t, m, "replica");

    m = (size_t)sprintf(t, "format = 2\nview = 1\nlast_normal = 0\n"
                           "commit = 0\nreplica = 0\ncluster = 0\n");
    m = reseal(t, m, sizeof t);
    expect_corrupt(dir, t, m, "format");

    m = (size_t)sprintf(t, "format = 1\nview = 1\nlast_normal = 2\n"
                           "commit = 0\nreplica = 0\ncluster = 0\n");
    m = reseal(t, m, sizeof t);
    expect_corrupt(dir, t, m, "above view");

    m = (size_t)sprintf(t, "format = 1\nview 1\n");
    m = reseal(t, m, sizeof t);
    expect_corrupt(dir, t, m, "line 2");

    memset(t, '#', STATE_MAX_BYTES + 10);
    t[STATE_MAX_BYTES + 9] = '\n';
    expect_corrupt(dir, t, STATE_MAX_BYTES + 10, "larger");

    /* A hand-written file in the documented format (comments, spacing,
     * decimal cluster) is accepted. */
    m = (size_t)sprintf(t, "# by hand\n\nformat=1\n  view =\t5\nlast_normal = 5\n"
                           "commit = 40\nreplica = 0\ncluster = 77\n");
    m = reseal(t, m, sizeof t);
    write_file(dir, STATE_FILE, t, m);
    load_expect(dir, &(struct replica_state){5, 5, 40, 0, 77});
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(state_leftover_temp_file_is_ignored)
{
    char *dir = testhelp_tmpdir("state");
    struct replica_state a = {3, 3, 10, 1, 42}, b = {4, 4, 11, 1, 42};
    save_ok(dir, &a);
    write_file(dir, STATE_TMP_FILE, "view = 99\ngarbage", 17);
    load_expect(dir, &a);
    ck_assert(!exists(dir, STATE_TMP_FILE));
    write_file(dir, STATE_TMP_FILE, "junk", 4);
    save_ok(dir, &b);
    load_expect(dir, &b);
    ck_assert(!exists(dir, STATE_TMP_FILE));
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(state_failed_save_keeps_the_old_file)
{
    static const struct {
        enum fault_point p;
        unsigned countdown;
        const char *needle;
    } faults[] = {
        {FAULT_STATE_WRITE, 1, "writing"},
        {FAULT_STATE_FSYNC, 1, "fsync"},
        {FAULT_STATE_RENAME, 1, "renaming"},
    };
    char *dir = testhelp_tmpdir("state");
    struct replica_state old = {5, 5, 100, 2, 9}, nw = {6, 5, 120, 2, 9};
    struct err e;

    save_ok(dir, &old);
    for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) {
        fault_reset();
        fault_arm(faults[i].p, faults[i].countdown, EIO);
        ck_assert_int_eq(state_save(dir, &nw, &e), -1);
        ck_assert_int_eq(e.code, ERR_IO);
        ck_assert_msg(strstr(e.msg, faults[i].needle) != NULL, "%s", e.msg);
        ck_assert(!exists(dir, STATE_TMP_FILE));
        load_expect(dir, &old);
    }
    /* The directory fsync after the rename fails: reported; the new file
     * is in place. */
    fault_reset();
    fault_arm(FAULT_STATE_FSYNC, 2, EIO);
    ck_assert_int_eq(state_save(dir, &nw, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, "directory"));
    load_expect(dir, &nw);
    fault_reset();
    save_ok(dir, &old);
    load_expect(dir, &old);
    /* A missing directory is an error, not a crash. */
    ck_assert_int_eq(state_save("/nonexistent/recall", &old, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    testhelp_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("state");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, state_roundtrip_boundary_values);
    tcase_add_test(tc, state_file_is_human_readable);
    tcase_add_test(tc, state_damaged_files_are_refused);
    tcase_add_test(tc, state_leftover_temp_file_is_ignored);
    tcase_add_test(tc, state_failed_save_keeps_the_old_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
