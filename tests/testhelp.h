/* Shared helpers for Recall's Check test programs: TAP output, temporary
 * directories, seeded randomness. */
#ifndef RECALL_TESTS_TESTHELP_H
#define RECALL_TESTS_TESTHELP_H

#include <check.h>
#include <stdint.h>
#include <stddef.h>

/* Run the suite, writing TAP to stdout (the automake driver counts each
 * test case).  Returns the process exit status. */
int testhelp_run(Suite *s);

/* Make a fresh temporary directory (removed by testhelp_rmtree); the
 * returned string is malloc'd. */
char *testhelp_tmpdir(const char *tag);
void testhelp_rmtree(const char *path);

/* A small deterministic PRNG (xorshift64*) for tests. */
uint64_t testhelp_rand(uint64_t *state);
/* Seed from $RECALL_SEED or the clock; prints the seed as a TAP comment. */
uint64_t testhelp_seed(const char *what);

#endif
