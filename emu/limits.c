/* API credits: N calls per rolling window (a ring of call times). Over it: 429.
 * X-API-CREDITS-REMAINING is sent once half of the credits are spent. */
#include "emu.h"

#include <stdlib.h>

#define RING_MAX (1u << 22)   /* above this many credits the window is approximated */

void emu_credits_reset(emu_server *s)
{
    pthread_mutex_lock(&s->mu);
    free(s->credit_ts);
    s->credit_ts = NULL;
    s->credit_cap = s->credit_head = s->credit_n = 0;
    pthread_mutex_unlock(&s->mu);
}

bool emu_credit_take(emu_server *s, long *remaining)
{
    *remaining = -1;
    pthread_mutex_lock(&s->mu);
    long credits = s->faults.credits;
    if (credits <= 0) { pthread_mutex_unlock(&s->mu); return true; }
    size_t cap = (size_t)credits < RING_MAX ? (size_t)credits : RING_MAX;
    if (cap != s->credit_cap) {
        /* the limit changed at run time: keep the most recent call times */
        double *n = emu_xcalloc(cap, sizeof *n);
        size_t keep = s->credit_n < cap ? s->credit_n : cap;
        for (size_t i = 0; i < keep; i++)
            n[i] = s->credit_ts[(s->credit_head + s->credit_n - keep + i) % s->credit_cap];
        free(s->credit_ts);
        s->credit_ts = n;
        s->credit_cap = cap;
        s->credit_head = 0;
        s->credit_n = keep;
    }
    double now = emu_mono(), window = (double)s->faults.credits_window;
    while (s->credit_n && s->credit_ts[s->credit_head] <= now - window) {
        s->credit_head = (s->credit_head + 1) % s->credit_cap;
        s->credit_n--;
    }
    /* scale when the ring is smaller than the limit */
    long used = (long)((double)s->credit_n * ((double)credits / (double)cap));
    bool ok = used < credits && s->credit_n < cap;
    if (ok) {
        s->credit_ts[(s->credit_head + s->credit_n) % s->credit_cap] = now;
        s->credit_n++;
        used = (long)((double)s->credit_n * ((double)credits / (double)cap));
    }
    if (used * 2 >= credits) *remaining = credits - used > 0 ? credits - used : 0;
    pthread_mutex_unlock(&s->mu);
    return ok;
}
