/* tap.h - minimal TAP output for the C unit tests: ok N - name / not ok N - name. */
#ifndef ZLOCK_TAP_H
#define ZLOCK_TAP_H
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define OK(cond, ...) do { \
    int tap_ok_ = (cond) ? 1 : 0;   /* evaluated once */ \
    tap_n++; \
    if (tap_ok_) { printf("ok %d - ", tap_n); } \
    else { tap_failed++; printf("not ok %d - ", tap_n); } \
    printf(__VA_ARGS__); printf("\n"); \
    if (!tap_ok_) printf("#   failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
} while (0)

static inline int tap_streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
#define STREQ(a, b) tap_streq((a), (b))

static int tap_done(void) {
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}
#endif
