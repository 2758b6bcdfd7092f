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

/* Initialize a condition variable whose timed waits take mono_deadline()s. */
int mono_cond_init(pthread_cond_t *cv);
/* The monotonic time `ms` milliseconds from now. */
struct timespec mono_deadline(unsigned ms);
/* Monotonic milliseconds. */
uint64_t mono_ms(void);
/* Monotonic seconds (for coarse intervals). */
time_t mono_s(void);

#endif
