/* Monotonic time for timers and bounded waits.  A step of the system clock
 * (NTP, an operator, a resumed VM) must neither fire a timer early nor
 * stretch a wait by the size of the step, so everything that measures an
 * interval uses CLOCK_MONOTONIC; CLOCK_REALTIME is only for timestamps that
 * mean a date (the statement clock, log lines). */
#ifndef RECALL_MONO_H
#define RECALL_MONO_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Wait on cv (mu held) until signalled or the monotonic `deadline`
 * (mono_deadline) passes: pthread_cond_clockwait, which also needs no
 * condition attribute (and, unlike a CLOCK_MONOTONIC condition with
 * pthread_cond_timedwait, is left alone by libfaketime, which the fault
 * tests preload: that combination returns at once there).  Returns 0 or
 * ETIMEDOUT. */
int mono_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu, const struct timespec *deadline);
/* The monotonic time `ms` milliseconds from now. */
struct timespec mono_deadline(unsigned ms);
/* Monotonic milliseconds. */
uint64_t mono_ms(void);
/* Monotonic seconds (for coarse intervals). */
time_t mono_s(void);

#endif
