/* Monotonic waits (shared/mono.h): a bounded wait lasts its length, ends
 * early when signalled, and is not cut short by a process whose real-time
 * clock is faked.  tests/unit/mono-faketime.sh runs this program again
 * under libfaketime with the clock two days ahead, as the fault tests run
 * recalld (regression: pthread_cond_timedwait on a CLOCK_MONOTONIC
 * condition returned at once there, and every bounded wait in recalld
 * became a busy loop). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "mono.h"
#include "testhelp.h"

START_TEST(test_wait_lasts_its_length)
{
    pthread_cond_t cv;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    uint64_t t0;
    struct timespec until;
    int rc;

    pthread_cond_init(&cv, NULL);
    pthread_mutex_lock(&mu);
    t0 = mono_ms();
    until = mono_deadline(300);
    do
        rc = mono_cond_wait(&cv, &mu, &until);
    while (rc == 0); /* spurious wake-ups */
    pthread_mutex_unlock(&mu);
    ck_assert_int_eq(rc, ETIMEDOUT);
    ck_assert_uint_ge(mono_ms() - t0, 290);
    ck_assert_uint_lt(mono_ms() - t0, 5000);
    pthread_cond_destroy(&cv);
}
END_TEST

struct waker {
    pthread_cond_t cv;
    pthread_mutex_t mu;
    int flag;
};

static void *wake_main(void *p)
{
    struct waker *w = p;
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
    pthread_mutex_lock(&w->mu);
    w->flag = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

START_TEST(test_signal_ends_the_wait)
{
    struct waker w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct timespec until;
    pthread_t th;
    uint64_t t0;
    int rc = 0;

    pthread_cond_init(&w.cv, NULL);
    pthread_mutex_lock(&w.mu);
    t0 = mono_ms();
    pthread_create(&th, NULL, wake_main, &w);
    until = mono_deadline(10000);
    while (!w.flag && rc == 0)
        rc = mono_cond_wait(&w.cv, &w.mu, &until);
    pthread_mutex_unlock(&w.mu);
    pthread_join(th, NULL);
    ck_assert_int_eq(w.flag, 1);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_lt(mono_ms() - t0, 5000);
    pthread_cond_destroy(&w.cv);
}
END_TEST

START_TEST(test_clocks_advance_together)
{
    uint64_t ms = mono_ms();
    time_t s = mono_s();
    ck_assert_uint_le((uint64_t)s, ms / 1000 + 1);
    ck_assert_uint_ge((uint64_t)s + 1, ms / 1000);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mono");
    TCase *tc = tcase_create("mono");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_wait_lasts_its_length);
    tcase_add_test(tc, test_signal_ends_the_wait);
    tcase_add_test(tc, test_clocks_advance_together);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testhelp_run(suite());
}
