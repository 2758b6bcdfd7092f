/* Logging tests: level names and filtering (disabled levels do not even
 * evaluate their arguments), the line format (UTC timestamp with
 * milliseconds, tag, level), escaping of control characters, truncation of
 * long messages, errno preservation, failure to open, reopen after
 * rotation, going back to stderr, and that lines from concurrent threads
 * (with reopens in between) arrive whole, one per write. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logging.h"
#include "testhelp.h"

static char *dir;

static void setup(void)
{
    dir = testhelp_tmpdir("logging");
    ck_assert_ptr_nonnull(dir);
    log_set_level(LOG_LEVEL_INFO);
    log_set_tag(NULL);
}

static void teardown(void)
{
    log_close();
    testhelp_rmtree(dir);
    free(dir);
}

/* Whole file into a NUL-terminated malloc'd string. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *data;
    long n;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    return data;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ " */
static bool has_timestamp(const char *line)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
    for (size_t i = 0; i < sizeof pat - 1; i++) {
        if (pat[i] == 'd' ? !(line[i] >= '0' && line[i] <= '9') : line[i] != pat[i])
            return false;
    }
    return true;
}

START_TEST(test_levels)
{
    enum log_level l;
    ck_assert_str_eq(log_level_name(LOG_LEVEL_WARN), "warn");
    ck_assert_str_eq(log_level_name((enum log_level)42), "unknown");
    ck_assert_int_eq(log_level_parse("DEBUG", &l), 0);
    ck_assert_int_eq(l, LOG_LEVEL_DEBUG);
    ck_assert_int_eq(log_level_parse("warning", &l), 0);
    ck_assert_int_eq(l, LOG_LEVEL_WARN);
    ck_assert_int_eq(log_level_parse("loud", &l), -1);
    ck_assert_int_eq(log_level_from_debug(0), LOG_LEVEL_INFO);
    ck_assert_int_eq(log_level_from_debug(1), LOG_LEVEL_DEBUG);
    ck_assert_int_eq(log_level_from_debug(3), LOG_LEVEL_TRACE);
    log_set_level(LOG_LEVEL_WARN);
    ck_assert(log_enabled(LOG_LEVEL_ERROR) && log_enabled(LOG_LEVEL_WARN));
    ck_assert(!log_enabled(LOG_LEVEL_INFO));
    ck_assert_int_eq(log_get_level(), LOG_LEVEL_WARN);
    log_set_level((enum log_level)99);
    ck_assert_int_eq(log_get_level(), LOG_LEVEL_TRACE);
}
END_TEST

static int evaluated;
static int side_effect(void)
{
    return ++evaluated;
}

START_TEST(test_format_and_filter)
{
    char path[512];
    snprintf(path, sizeof path, "%s/r.log", dir);
    ck_assert_int_eq(log_open(path, NULL), 0);
    log_set_tag("r1");
    log_set_level(LOG_LEVEL_INFO);
    evaluated = 0;
    log_debug("hidden %d", side_effect());
    ck_assert_int_eq(evaluated, 0);
    log_info("shown %d", side_effect());
    ck_assert_int_eq(evaluated, 1);
    log_warn("warned");
    log_error("failed: %s", "disk");
    log_set_tag(NULL);
    log_info("untagged");
    log_set_tag("a-very-long-tag-that-is-longer-than-thirty-one-bytes");
    log_info("long tag");

    char *data = slurp(path);
    ck_assert_uint_eq(count_lines(data), 5);
    char *line = strtok(data, "\n");
    ck_assert(has_timestamp(line));
    ck_assert_str_eq(line + 25, "r1 INFO  shown 1");
    line = strtok(NULL, "\n");
    ck_assert_str_eq(line + 25, "r1 WARN  warned");
    line = strtok(NULL, "\n");
    ck_assert_str_eq(line + 25, "r1 ERROR failed: disk");
    line = strtok(NULL, "\n");
    ck_assert_str_eq(line + 25, "INFO  untagged");
    line = strtok(NULL, "\n");
    ck_assert_str_eq(line + 25, "a-very-long-tag-that-is-longer- INFO  long tag");
    free(data);
}
END_TEST

START_TEST(test_escaping_truncation_errno)
{
    char path[512];
    snprintf(path, sizeof path, "%s/e.log", dir);
    ck_assert_int_eq(log_open(path, NULL), 0);
    log_info("a\nforged 2026-01-01T00:00:00.000Z ERROR line\tx\x01y\x7f");
    char *big = malloc(3 * LOG_LINE_MAX);
    memset(big, 'm', 3 * LOG_LINE_MAX - 1);
    big[3 * LOG_LINE_MAX - 1] = '\0';
    log_info("%s", big);
    /* Escapes that do not fit are cut whole. */
    memset(big, '\n', 3 * LOG_LINE_MAX - 1);
    log_info("%s", big);
    free(big);
    errno = ENOSPC;
    log_info("keeps errno");
    ck_assert_int_eq(errno, ENOSPC);

    char *data = slurp(path);
    ck_assert_uint_eq(count_lines(data), 4);
    char *l1 = strtok(data, "\n"), *l2 = strtok(NULL, "\n"), *l3 = strtok(NULL, "\n");
    ck_assert_str_eq(l1 + 25, "INFO  a\\nforged 2026-01-01T00:00:00.000Z ERROR line\\tx\\x01y\\x7f");
    ck_assert_uint_eq(strlen(l2) + 1, LOG_LINE_MAX);
    ck_assert_str_eq(l2 + strlen(l2) - 5, "mm...");
    ck_assert_uint_le(strlen(l3) + 1, LOG_LINE_MAX);
    ck_assert_str_eq(l3 + strlen(l3) - 5, "\\n...");
    free(data);
}
END_TEST

START_TEST(test_open_failure_keeps_destination)
{
    char path[512], bad[600];
    struct err e;
    snprintf(path, sizeof path, "%s/ok.log", dir);
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.log", dir);
    ck_assert_int_eq(log_open(path, &e), 0);
    log_info("before");
    ck_assert_int_eq(log_open(bad, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, "no/such/dir"));
    log_info("after");
    char *data = slurp(path);
    ck_assert_uint_eq(count_lines(data), 2);
    free(data);
}
END_TEST

START_TEST(test_reopen_and_close)
{
    char path[512], rotated[520], errpath[520];
    struct err e;
    snprintf(path, sizeof path, "%s/rot.log", dir);
    snprintf(rotated, sizeof rotated, "%s.1", path);
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);

    /* Relative names are resolved at open time (the daemon may chdir). */
    char cwd[512];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    ck_assert_int_eq(log_open("rot.log", &e), 0);
    ck_assert_int_eq(chdir(cwd), 0);

    log_info("one");
    ck_assert_int_eq(rename(path, rotated), 0);
    log_info("two"); /* still the renamed file */
    ck_assert_int_eq(log_reopen(&e), 0);
    log_info("three");
    char *old = slurp(rotated), *cur = slurp(path);
    ck_assert_uint_eq(count_lines(old), 2);
    ck_assert_uint_eq(count_lines(cur), 1);
    ck_assert_ptr_nonnull(strstr(cur, "three"));
    free(old);
    free(cur);

    /* Reopen fails (directory gone): the old file stays in use. */
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(chmod(dir, 0500), 0);
    if (access(dir, W_OK) != 0) { /* root ignores the mode */
        ck_assert_int_eq(log_reopen(&e), -1);
        ck_assert_int_eq(e.code, ERR_IO);
    }
    ck_assert_int_eq(chmod(dir, 0700), 0);

    /* log_close: back to stderr (captured here in a file). */
    int saved = dup(STDERR_FILENO);
    int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
    close(fd);
    log_close();
    log_warn("to stderr");
    ck_assert_int_eq(log_reopen(&e), 0); /* no-op on stderr */
    ck_assert_int_eq(log_open("-", &e), 0);
    log_warn("still stderr");
    ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
    close(saved);
    char *err = slurp(errpath);
    ck_assert_uint_eq(count_lines(err), 2);
    ck_assert_ptr_nonnull(strstr(err, "WARN  to stderr\n"));
    free(err);
}
END_TEST

#define THREADS 4
#define LINES 3000

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < LINES; i++)
        log_info("thread %d line %d %s", id, i,
                 "padding-padding-padding-padding-padding-padding-padding-padding");
    return NULL;
}

/* Check every line of a file; count lines per thread. */
static void check_lines(const char *path, int counts[THREADS])
{
    char *data = slurp(path);
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        int id, n, used = 0;
        ck_assert_msg(has_timestamp(line), "torn line: %s", line);
        ck_assert_msg(sscanf(line + 25, "INFO  thread %d line %d %n", &id, &n, &used) == 2 &&
                          used > 0,
                      "torn line: %s", line);
        ck_assert_str_eq(line + 25 + used,
                         "padding-padding-padding-padding-padding-padding-padding-padding");
        ck_assert(id >= 0 && id < THREADS);
        counts[id]++;
    }
    free(data);
}

START_TEST(test_concurrent_lines_are_whole)
{
    char path[512], rotated[520];
    pthread_t th[THREADS];
    int counts[THREADS] = {0};
    struct err e;

    snprintf(path, sizeof path, "%s/mt.log", dir);
    snprintf(rotated, sizeof rotated, "%s.1", path);
    ck_assert_int_eq(log_open(path, &e), 0);
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i), 0);
    /* Rotate once while the writers run: as soon as some lines arrived. */
    for (int tries = 0; tries < 5000; tries++) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > 0)
            break;
        usleep(1000);
    }
    ck_assert_int_eq(rename(path, rotated), 0);
    ck_assert_int_eq(log_reopen(&e), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    check_lines(rotated, counts);
    check_lines(path, counts);
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(counts[i], LINES);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("logging");
    TCase *tc = tcase_create("logging");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_levels);
    tcase_add_test(tc, test_format_and_filter);
    tcase_add_test(tc, test_escaping_truncation_errno);
    tcase_add_test(tc, test_open_failure_keeps_destination);
    tcase_add_test(tc, test_reopen_and_close);
    tcase_add_test(tc, test_concurrent_lines_are_whole);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
