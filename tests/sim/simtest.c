/* Helpers shared by the simulator's Check programs (see simtest.h). */
#include "config.h"

#include "simtest.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhelp.h"

uint64_t simtest_seed_base(void)
{
    const char *e = getenv("RECALL_SIM_SEED_BASE");
    return e && *e ? strtoull(e, NULL, 0) : 0;
}

static int parse_line(char *line, int lineno, struct simtest_regression *r)
{
    char *hash = strchr(line, '#'), *tok, *save = NULL;
    bool have_seed = false, have_expect = false;
    if (hash)
        *hash = '\0';
    memset(r, 0, sizeof *r);
    r->line = lineno;
    r->n = 3;
    r->mix = -1;
    for (tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return -1;
        *eq++ = '\0';
        if (!strcmp(tok, "seed")) {
            r->seed = strtoull(eq, NULL, 0);
            have_seed = true;
        } else if (!strcmp(tok, "n")) {
            r->n = (uint32_t)atoi(eq);
        } else if (!strcmp(tok, "mix")) {
            if ((r->mix = sim_mix_parse(eq)) < 0)
                return -1;
        } else if (!strcmp(tok, "bug")) {
            snprintf(r->bug, sizeof r->bug, "%s", eq);
            r->core_bug = !strcmp(eq, "longest-log") || !strcmp(eq, "early-ack");
        } else if (!strcmp(tok, "expect")) {
            if (strcmp(eq, "pass") && strcmp(eq, "fail"))
                return -1;
            r->expect_fail = !strcmp(eq, "fail");
            have_expect = true;
        } else {
            return -1;
        }
    }
    if (!have_seed && !have_expect)
        return 0; /* blank or comment */
    return have_seed && have_expect && r->mix >= 0 ? 1 : -1;
}

int simtest_load_regressions(struct simtest_regression **list, size_t *n)
{
    const char *top = getenv("top_srcdir");
    char path[4096], line[512];
    FILE *f;
    int lineno = 0;
    size_t cap = 0;
    snprintf(path, sizeof path, "%s/tests/sim/regressions.txt", top ? top : ".");
    *list = NULL;
    *n = 0;
    if (!(f = fopen(path, "r"))) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        struct simtest_regression r;
        int rc = parse_line(line, ++lineno, &r);
        if (rc < 0) {
            fprintf(stderr, "%s:%d: malformed regression line\n", path, lineno);
            fclose(f);
            free(*list);
            return -1;
        }
        if (!rc)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *list = realloc(*list, cap * sizeof **list);
            if (!*list)
                abort();
        }
        (*list)[(*n)++] = r;
    }
    fclose(f);
    return 0;
}

void simtest_run_regression(const struct simtest_regression *reg)
{
    struct sim_config c;
    struct sim_result r;
    int rc;
    sim_config_from_seed(&c, reg->seed);
    c.n = reg->n;
    c.mix = reg->mix;
    c.bug_lin_no_quorum = !strcmp(reg->bug, "lin-no-quorum");
    c.bug_lin_no_fence = !strcmp(reg->bug, "lin-no-fence");
    c.bug_readindex_stale = !strcmp(reg->bug, "readindex-stale");
    c.out = reg->expect_fail ? fopen("/dev/null", "w") : stdout;
    rc = sim_run(&c, &r);
    if (reg->expect_fail)
        fclose(c.out);
    if (reg->expect_fail)
        ck_assert_msg(rc < 0, "regressions.txt:%d: seed %llu with bug %s no longer caught",
                      reg->line, (unsigned long long)reg->seed, reg->bug);
    else
        ck_assert_msg(rc == 0, "regressions.txt:%d: seed %llu fails again: %s", reg->line,
                      (unsigned long long)reg->seed, r.what);
    printf("# regression line %d: seed %llu n=%u mix=%s%s%s: %s as expected\n", reg->line,
           (unsigned long long)reg->seed, reg->n, sim_mix_name(reg->mix), *reg->bug ? " bug=" : "",
           reg->bug, reg->expect_fail ? "caught" : "passes");
}
