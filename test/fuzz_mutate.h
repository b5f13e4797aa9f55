/* fuzz_mutate.h - the bounded random fuzz loop's pieces shared by the parser tests:
 * seed and iteration count from the environment (FUZZ_SEED, FUZZ_ITERS), and one mutation
 * of a valid input (1 to 6 random replace / insert / delete edits from an alphabet). */
#ifndef ZLOCK_TEST_FUZZ_MUTATE_H
#define ZLOCK_TEST_FUZZ_MUTATE_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seeds rand() (FUZZ_SEED or the time; *seed_out gets it, for the report) and returns the
 * iteration count (FUZZ_ITERS or dflt). */
static long fuzz_begin(long dflt, unsigned *seed_out) {
    unsigned seed = (unsigned)time(NULL);
    if (getenv("FUZZ_SEED")) seed = (unsigned)strtoul(getenv("FUZZ_SEED"), NULL, 10);
    srand(seed);
    *seed_out = seed;
    return getenv("FUZZ_ITERS") ? atol(getenv("FUZZ_ITERS")) : dflt;
}

/* Copies `seed_text` into m (capacity cap, > strlen(seed_text)) and mutates it in place. */
static void fuzz_mutate(char *m, size_t cap, const char *seed_text, const char *alphabet) {
    size_t len = strlen(seed_text), alen = strlen(alphabet);
    memcpy(m, seed_text, len + 1);
    int edits = 1 + rand() % 6;
    for (int k = 0; k < edits; k++) {
        int kind = rand() % 3;
        size_t at = len ? (size_t)rand() % len : 0;
        char ch = alphabet[(size_t)rand() % alen];
        if (kind == 0 && len) m[at] = ch;
        else if (kind == 1 && len + 1 < cap) {
            memmove(m + at + 1, m + at, len - at + 1);
            m[at] = ch;
            len++;
        } else if (len) {
            memmove(m + at, m + at + 1, len - at);
            len--;
        }
    }
}

#endif
