/* fuzz/fuzz_input.h - the harnesses' shared input format and checks.
 * An input is a few leading bytes read as small numbers, then fields separated by NUL
 * (so each field is any C string); a field the input does not reach is NULL. */
#ifndef ZLOCK_FUZZ_INPUT_H
#define ZLOCK_FUZZ_INPUT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_FIELDS 24

typedef struct {
    char *buf;                        /* one copy of the input, NUL-terminated */
    const uint8_t *head; size_t nhead;
    char *f[FUZZ_MAX_FIELDS]; size_t nf;
} fuzz_input;

/* Takes `nhead` leading bytes (fewer when the input is shorter), then splits the rest. */
static inline void fuzz_input_split(fuzz_input *in, const uint8_t *d, size_t n, size_t nhead) {
    memset(in, 0, sizeof *in);
    in->nhead = n < nhead ? n : nhead;
    in->head = d;
    d += in->nhead; n -= in->nhead;
    in->buf = malloc(n + 1);
    if (!in->buf) abort();
    memcpy(in->buf, d, n);
    in->buf[n] = '\0';
    char *p = in->buf, *end = in->buf + n;
    while (in->nf < FUZZ_MAX_FIELDS) {
        in->f[in->nf++] = p;
        p += strlen(p);
        if (p >= end) break;
        p++;
    }
}

static inline void fuzz_input_free(fuzz_input *in) { free(in->buf); in->buf = NULL; }

/* Leading byte i, 0 when the input is shorter. */
static inline unsigned fuzz_byte(const fuzz_input *in, size_t i) { return i < in->nhead ? in->head[i] : 0; }

/* A broken invariant: says which and aborts (libFuzzer keeps the input as a crash). */
#define FUZZ_ASSERT(cond, ...) do { if (!(cond)) { \
    fprintf(stderr, "invariant broken at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } } while (0)

/* True when s (len bytes) holds a NUL before its end: a fixed-size C string is terminated. */
static inline int fuzz_terminated(const char *s, size_t cap) { return memchr(s, 0, cap) != NULL; }

#endif
