/* Shared helpers for Recall's Check test programs.  See testhelp.h. */
#include "config.h"

#include "testhelp.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int testhelp_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_set_tap(sr, "-");
    srunner_run_all(sr, CK_SILENT);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

char *testhelp_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *path;
    if (!base || !*base)
        base = "/tmp";
    if (asprintf(&path, "%s/recall-%s-XXXXXX", base, tag) < 0)
        return NULL;
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void testhelp_rmtree(const char *path)
{
    if (path)
        nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

uint64_t testhelp_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

uint64_t testhelp_seed(const char *what)
{
    const char *env = getenv("RECALL_SEED");
    uint64_t seed;
    if (env && *env)
        seed = strtoull(env, NULL, 0);
    else
        seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    printf("# %s: seed %llu (replay with RECALL_SEED=%llu)\n", what,
           (unsigned long long)seed, (unsigned long long)seed);
    fflush(stdout);
    return seed;
}
