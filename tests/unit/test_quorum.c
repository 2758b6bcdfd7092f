/* The client quorum logic (driver/quorum.c): which acknowledgements make a
 * write committed, and when a quorum read may return X's rows, must fence,
 * or must give up. */
#include "config.h"

#include "proto.h"
#include "quorum.h"
#include "testhelp.h"

START_TEST(test_write_needs_majority_of_distinct_replicas)
{
    struct quorum_write q;
    quorum_write_init(&q, 3, 7);
    ck_assert(!quorum_write_ack(&q, 0, 4, 10, 7)); /* PREPARED from the primary */
    ck_assert(!quorum_write_ack(&q, 0, 4, 10, 7)); /* duplicate: same replica */
    ck_assert(!q.committed);
    ck_assert(quorum_write_ack(&q, 2, 4, 10, 7));  /* a backup's ACK */
    ck_assert(q.committed);
    ck_assert_uint_eq(q.view, 4);
    ck_assert_uint_eq(q.op, 10);
    ck_assert(!quorum_write_ack(&q, 1, 4, 10, 7)); /* already committed: no new event */

    quorum_write_init(&q, 5, 1);
    ck_assert(!quorum_write_ack(&q, 0, 1, 3, 1));
    ck_assert(!quorum_write_ack(&q, 1, 1, 3, 1));
    ck_assert(quorum_write_ack(&q, 4, 1, 3, 1));

    quorum_write_init(&q, 1, 1);
    ck_assert(quorum_write_ack(&q, 0, 9, 1, 1));
}
END_TEST

START_TEST(test_write_acks_must_match)
{
    struct quorum_write q;
    quorum_write_init(&q, 3, 7);
    ck_assert(!quorum_write_ack(&q, 0, 4, 10, 8));  /* another request */
    ck_assert(!quorum_write_ack(&q, 1, 4, 10, 8));
    ck_assert(!q.committed);
    ck_assert(!quorum_write_ack(&q, 0, 4, 10, 7));
    ck_assert(!quorum_write_ack(&q, 1, 5, 10, 7));  /* other view: another candidate */
    ck_assert(!quorum_write_ack(&q, 2, 5, 11, 7));  /* other op */
    ck_assert(!q.committed);
    ck_assert(!quorum_write_ack(&q, 3, 5, 10, 7));  /* replica index out of range */
    ck_assert(!quorum_write_ack(&q, 200, 5, 10, 7));
    ck_assert(!q.committed);
    ck_assert(quorum_write_ack(&q, 2, 5, 10, 7));   /* (5, 10): replicas 1 and 2 */
    ck_assert_uint_eq(q.view, 5);
    ck_assert_uint_eq(q.op, 10);
}
END_TEST

START_TEST(test_write_committed_message)
{
    struct quorum_write q;
    quorum_write_init(&q, 5, 3);
    ck_assert(!quorum_write_committed(&q, 2, 6, 4)); /* other request */
    ck_assert(quorum_write_committed(&q, 2, 6, 3));
    ck_assert(q.committed);
    ck_assert_uint_eq(q.op, 6);
    ck_assert(!quorum_write_committed(&q, 2, 6, 3));
}
END_TEST

START_TEST(test_write_candidate_eviction)
{
    struct quorum_write q;
    quorum_write_init(&q, 5, 1);
    for (uint64_t v = 1; v <= QUORUM_MAX_CANDIDATES; v++)
        ck_assert(!quorum_write_ack(&q, 0, v, v, 1));
    /* a newer view evicts the oldest candidate; older than all is ignored */
    ck_assert(!quorum_write_ack(&q, 1, 0, 50, 1));
    ck_assert(!quorum_write_ack(&q, 0, 9, 20, 1));
    ck_assert(!quorum_write_ack(&q, 1, 9, 20, 1));
    ck_assert(quorum_write_ack(&q, 2, 9, 20, 1));
    ck_assert_uint_eq(q.view, 9);
}
END_TEST

START_TEST(test_read_ok_and_fence)
{
    struct quorum_read q;
    uint64_t fence = 0;
    quorum_read_init(&q, 3, 1);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_WAIT);
    quorum_read_status(&q, 1, 5, STATUS_NORMAL, 20, 18, 18); /* X */
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_WAIT);
    quorum_read_status(&q, 0, 5, STATUS_NORMAL, 18, 18, 18);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_FENCE);
    ck_assert_uint_eq(fence, 20); /* X's own L counts: it must reach it */
    /* X answers again, caught up */
    quorum_read_status(&q, 1, 5, STATUS_NORMAL, 20, 20, 20);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_OK);

    quorum_read_init(&q, 3, 0);
    quorum_read_status(&q, 0, 5, STATUS_NORMAL, 10, 10, 10);
    quorum_read_status(&q, 2, 5, STATUS_NORMAL, 12, 11, 9);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_FENCE);
    ck_assert_uint_eq(fence, 12);
}
END_TEST

START_TEST(test_read_only_highest_view_normal_counts)
{
    struct quorum_read q;
    uint64_t fence = 0;
    /* X is an old primary cut off with the client: its view is behind */
    quorum_read_init(&q, 3, 0);
    quorum_read_status(&q, 0, 4, STATUS_NORMAL, 30, 10, 10);
    quorum_read_status(&q, 1, 5, STATUS_NORMAL, 12, 12, 12);
    quorum_read_status(&q, 2, 5, STATUS_NORMAL, 12, 12, 12);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_NO_QUORUM);

    /* a replica in view change for a higher view hides the older majority */
    quorum_read_init(&q, 3, 1);
    quorum_read_status(&q, 0, 6, STATUS_VIEW_CHANGE, 12, 12, 12);
    quorum_read_status(&q, 1, 5, STATUS_NORMAL, 12, 12, 12);
    quorum_read_status(&q, 2, 5, STATUS_NORMAL, 12, 12, 12);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_NO_QUORUM);

    /* recovering replicas do not count */
    quorum_read_init(&q, 3, 1);
    quorum_read_status(&q, 0, 5, STATUS_RECOVERING, 1, 1, 1);
    quorum_read_status(&q, 1, 5, STATUS_NORMAL, 12, 12, 12);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_WAIT);
    quorum_read_unreachable(&q, 2);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_NO_QUORUM);
}
END_TEST

START_TEST(test_read_unreachable_and_replace)
{
    struct quorum_read q;
    uint64_t fence = 0;
    quorum_read_init(&q, 5, 2);
    quorum_read_status(&q, 2, 3, STATUS_NORMAL, 7, 7, 7);
    quorum_read_unreachable(&q, 0);
    quorum_read_unreachable(&q, 1);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_WAIT);
    quorum_read_status(&q, 3, 3, STATUS_NORMAL, 6, 6, 6);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_WAIT);
    quorum_read_status(&q, 4, 3, STATUS_NORMAL, 7, 7, 7);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_OK);
    /* a reply after being marked unreachable replaces the mark */
    quorum_read_status(&q, 0, 3, STATUS_NORMAL, 9, 9, 9);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_FENCE);
    ck_assert_uint_eq(fence, 9);
    /* unreachable never overrides a reply; out-of-range replicas ignored */
    quorum_read_unreachable(&q, 0);
    quorum_read_status(&q, 7, 3, STATUS_NORMAL, 100, 100, 100);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_FENCE);
    ck_assert_uint_eq(fence, 9);
}
END_TEST

START_TEST(test_read_single_replica)
{
    struct quorum_read q;
    uint64_t fence;
    quorum_read_init(&q, 1, 0);
    quorum_read_status(&q, 0, 1, STATUS_NORMAL, 4, 4, 3);
    ck_assert_int_eq(quorum_read_decide(&q, &fence), QUORUM_FENCE);
    ck_assert_uint_eq(fence, 4);
    quorum_read_status(&q, 0, 1, STATUS_NORMAL, 4, 4, 4);
    ck_assert_int_eq(quorum_read_decide(&q, NULL), QUORUM_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quorum");
    TCase *tc = tcase_create("quorum");
    tcase_add_test(tc, test_write_needs_majority_of_distinct_replicas);
    tcase_add_test(tc, test_write_acks_must_match);
    tcase_add_test(tc, test_write_committed_message);
    tcase_add_test(tc, test_write_candidate_eviction);
    tcase_add_test(tc, test_read_ok_and_fence);
    tcase_add_test(tc, test_read_only_highest_view_normal_counts);
    tcase_add_test(tc, test_read_unreachable_and_replace);
    tcase_add_test(tc, test_read_single_replica);
    suite_add_tcase(s, tc);
    return testhelp_run(s);
}
