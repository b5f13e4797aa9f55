/* Small helpers: clocks, time formatting, ids, deterministic random, allocation. */
#include "emu.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t emu_rng_next(emu_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double emu_rng_unit(emu_rng *r) { return (double)(emu_rng_next(r) >> 11) / 9007199254740992.0; }

uint64_t emu_rng_below(emu_rng *r, uint64_t n) { return n ? emu_rng_next(r) % n : 0; }

double emu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double emu_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A connection's thread serves one request at a time: the offset of its user. */
static _Thread_local int tz_min;

void emu_set_tz(int minutes) { tz_min = minutes; }

void emu_fmt_time(int64_t t, char out[32])
{
    time_t tt = (time_t)(t + (int64_t)tz_min * 60);
    struct tm tm;
    gmtime_r(&tt, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    int a = tz_min < 0 ? -tz_min : tz_min;
    snprintf(out + n, 32 - n, "%c%02d:%02d", tz_min < 0 ? '-' : '+', a / 60 % 100, a % 60);
}

void emu_fmt_date(int64_t t, char out[16])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

bool emu_parse_id(const char *s, uint64_t *out)
{
    if (!s || !*s) return false;
    size_t n = strlen(s);
    if (n > 19) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v == 0) return false;
    *out = v;
    return true;
}

void emu_fmt_id(uint64_t id, char out[24]) { snprintf(out, 24, "%llu", (unsigned long long)id); }

json_t *emu_jstr(const char *s)
{
    if (!s) return json_null();
    json_t *j = json_string(s);
    return j ? j : json_string("");
}

json_t *emu_jid(uint64_t id)
{
    char b[24];
    if (!id) return json_null();
    emu_fmt_id(id, b);
    return json_string(b);
}

size_t emu_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

bool emu_valid_api_name(const char *s)
{
    if (!s || !isalpha((unsigned char)s[0])) return false;
    size_t n = 0;
    for (; *s; s++, n++)
        if (!isalnum((unsigned char)*s) && *s != '_') return false;
    return n <= 100;
}

void *emu_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) { fputs("zlock-emu: out of memory\n", stderr); abort(); }
    return p;
}

void *emu_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) { fputs("zlock-emu: out of memory\n", stderr); abort(); }
    return p;
}

void *emu_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) { fputs("zlock-emu: out of memory\n", stderr); abort(); }
    return p;
}

char *emu_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = emu_xmalloc(n);
    memcpy(d, s, n);
    return d;
}
