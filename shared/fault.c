/* Countdown fault injection.  Each point is a slot of atomics; a bit mask of
 * points that have anything armed keeps the production path to one relaxed
 * load.  A countdown is consumed with compare-and-swap so that exactly one of
 * several concurrent callers gets the failure.  See fault.h. */
#include "config.h"

#include "fault.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

_Static_assert(FAULT__COUNT <= 64, "the active mask holds at most 64 points");

struct fault_slot {
    atomic_uint countdown;
    atomic_int err_no;
    atomic_uint delay_us;
    atomic_ulong calls;
};

static struct fault_slot fault_slots[FAULT__COUNT];
static atomic_uint_fast64_t fault_active; /* bit p: countdown or delay set */

static const char *const fault_names[FAULT__COUNT] = {
#define FAULT_NAME_(name, str) str,
    FAULT_TABLE(FAULT_NAME_)
#undef FAULT_NAME_
};

static void update_active(enum fault_point p)
{
    struct fault_slot *s = &fault_slots[p];
    uint64_t bit = UINT64_C(1) << p;
    if (atomic_load(&s->countdown) || atomic_load(&s->delay_us))
        atomic_fetch_or(&fault_active, bit);
    else
        atomic_fetch_and(&fault_active, ~bit);
}

void fault_arm(enum fault_point p, unsigned countdown, int err_no)
{
    assert((unsigned)p < FAULT__COUNT);
    atomic_store(&fault_slots[p].err_no, err_no);
    atomic_store(&fault_slots[p].countdown, countdown);
    update_active(p);
}

void fault_set_delay_us(enum fault_point p, unsigned us)
{
    assert((unsigned)p < FAULT__COUNT);
    atomic_store(&fault_slots[p].delay_us, us);
    update_active(p);
}

bool fault_hit(enum fault_point p, int *err_no)
{
    struct fault_slot *s;
    unsigned c, delay;

    assert((unsigned)p < FAULT__COUNT);
    if (!(atomic_load_explicit(&fault_active, memory_order_relaxed) &
          (UINT64_C(1) << p)))
        return false;
    s = &fault_slots[p];
    atomic_fetch_add(&s->calls, 1);
    delay = atomic_load(&s->delay_us);
    if (delay) {
        struct timespec ts = {delay / 1000000, (long)(delay % 1000000) * 1000};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    c = atomic_load(&s->countdown);
    while (c) {
        if (atomic_compare_exchange_weak(&s->countdown, &c, c - 1)) {
            if (c != 1)
                return false;
            update_active(p);
            if (err_no)
                *err_no = atomic_load(&s->err_no);
            return true;
        }
    }
    return false;
}

unsigned long fault_calls(enum fault_point p)
{
    assert((unsigned)p < FAULT__COUNT);
    return atomic_load(&fault_slots[p].calls);
}

void fault_reset(void)
{
    for (int p = 0; p < FAULT__COUNT; p++) {
        atomic_store(&fault_slots[p].countdown, 0);
        atomic_store(&fault_slots[p].delay_us, 0);
        atomic_store(&fault_slots[p].err_no, 0);
        atomic_store(&fault_slots[p].calls, 0);
    }
    atomic_store(&fault_active, 0);
}

enum fault_point fault_point_by_name(const char *name)
{
    for (int p = 0; p < FAULT__COUNT; p++)
        if (name && strcmp(name, fault_names[p]) == 0)
            return (enum fault_point)p;
    return FAULT__COUNT;
}

const char *fault_point_name(enum fault_point p)
{
    return (unsigned)p < FAULT__COUNT ? fault_names[p] : "unknown";
}
