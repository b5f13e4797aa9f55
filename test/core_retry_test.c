/* core_retry_test.c - the retry policy: bounds, exponential growth, full jitter, budget. */
#include "tap.h"
#include "internal.h"

int main(void) {
    zl_retry_policy p = { .max_attempts = 5, .max_time_ms = 10000, .base_delay_ms = 100, .max_delay_ms = 1000 };
    uint64_t s = 42;
    bool in_bounds = true;
    long max_seen[8] = {0}, min_seen[8];
    for (int a = 1; a <= 6; a++) min_seen[a] = 1 << 30;
    for (int i = 0; i < 20000; i++) {
        for (int a = 1; a <= 6; a++) {
            long cap = 100L << (a - 1);
            if (cap > 1000) cap = 1000;
            long d = zl_retry_delay(&p, a, &s);
            if (d < 0 || d > cap) in_bounds = false;
            if (d > max_seen[a]) max_seen[a] = d;
            if (d < min_seen[a]) min_seen[a] = d;
        }
    }
    OK(in_bounds, "every delay within [0, min(max_delay, base * 2^(n-1))]");
    OK(max_seen[1] >= 95 && min_seen[1] <= 5, "first retry spreads over [0, 100] (full jitter): %ld..%ld", min_seen[1], max_seen[1]);
    OK(max_seen[3] >= 380 && max_seen[3] <= 400, "third retry reaches ~400: %ld", max_seen[3]);
    OK(max_seen[6] <= 1000 && max_seen[6] >= 950, "capped at max_delay: %ld", max_seen[6]);
    uint64_t a = 7, b = 7, c = 8;
    long x = zl_retry_delay(&p, 3, &a), y = zl_retry_delay(&p, 3, &b);
    bool differ = false;
    for (int i = 0; i < 10; i++) if (zl_retry_delay(&p, 3, &a) != zl_retry_delay(&p, 3, &c)) differ = true;
    OK(x == y, "same seed, same delays (per-client PRNG, no global state)");
    OK(differ, "different seeds, different delays");
    OK(zl_retry_allowed(&p, 1, 0, 50), "attempt 2 allowed");
    OK(!zl_retry_allowed(&p, 5, 0, 50), "no 6th attempt when max_attempts = 5");
    OK(!zl_retry_allowed(&p, 2, 9990, 50), "no attempt past max_time");
    zl_retry_policy z = { .max_attempts = 3, .base_delay_ms = 0, .max_delay_ms = 0 };
    OK(zl_retry_delay(&z, 2, &s) == 0, "base_delay 0: no wait");
    return tap_done();
}
