/* retry.c - the retry policy: bounded attempts and time, exponential backoff with full
 * jitter drawn from a per-client PRNG (splitmix64; never rand(), no global state). Pure. */
#include "internal.h"

uint64_t zl_prng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

long zl_retry_delay(const zl_retry_policy *p, int failed, uint64_t *prng) {
    if (failed < 1) failed = 1;
    long cap = p->base_delay_ms > 0 ? p->base_delay_ms : 0;
    for (int i = 1; i < failed && cap < p->max_delay_ms; i++) cap *= 2;
    if (cap > p->max_delay_ms) cap = p->max_delay_ms;
    if (cap <= 0) return 0;
    return (long)(zl_prng_next(prng) % (uint64_t)(cap + 1));
}

bool zl_retry_allowed(const zl_retry_policy *p, int failed, long elapsed_ms, long delay_ms) {
    if (failed >= p->max_attempts) return false;
    if (p->max_time_ms > 0 && elapsed_ms + delay_ms > p->max_time_ms) return false;
    return true;
}
