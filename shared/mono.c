/* Monotonic time for timers and bounded waits.  See mono.h. */
#include "config.h"

#include "mono.h"

int mono_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu, const struct timespec *deadline)
{
    return pthread_cond_clockwait(cv, mu, CLOCK_MONOTONIC, deadline);
}

struct timespec mono_deadline(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

time_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}
