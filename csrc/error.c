/* error.c - the one error shape (pure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

void zl_error_clear(zl_error *e) {
    if (!e) return;
    free(e->details);
    memset(e, 0, sizeof *e);
}

int zl_error_copy(zl_error *dst, const zl_error *src) {
    *dst = *src;
    dst->details = NULL;
    if (src->details && !(dst->details = zl_strdup0(src->details))) return -1;
    return 0;
}

void zl_err_set(zl_error *e, const char *code, int http_status, bool retryable,
                const char *fmt, ...) {
    if (!e) return;
    free(e->details);
    e->details = NULL;
    snprintf(e->code, sizeof e->code, "%s", code);
    e->http_status = http_status;
    e->retryable = retryable;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

/* Replaces each occurrence of secret in s (in place, s has room for cap bytes). */
static char *scrub_str(char *s, size_t cap, const char *secret, bool heap) {
    static const char mask[] = "[REDACTED]";
    size_t sl = strlen(secret), ml = sizeof mask - 1;
    char *hit;
    if (!s || !sl || !(hit = strstr(s, secret))) return s;
    zl_buf b = {0};
    char *from = s;
    while (hit) {
        zl_buf_add(&b, from, (size_t)(hit - from));
        zl_buf_add(&b, mask, ml);
        from = hit + sl;
        hit = strstr(from, secret);
    }
    zl_buf_adds(&b, from);
    const char *out = zl_buf_str(&b);
    if (!out) { s[0] = '\0'; zl_buf_free(&b); return s; }   /* drop rather than leak a secret */
    if (heap) { free(s); return b.p; }
    snprintf(s, cap, "%s", out);
    zl_buf_free(&b);
    return s;
}

/* A message filled to the brim was cut at ZL_MESSAGE_MAX: a secret that straddled the cut
 * left a prefix at its end. Masks the longest tail of s that begins the secret, so the result
 * is what scrubbing the whole text before the cut would give. */
static void scrub_cut_tail(char *s, size_t cap, const char *secret) {
    size_t len = strlen(s), sl = strlen(secret);
    if (len + 1 < cap) return;                         /* not cut */
    for (size_t k = sl - 1 < len ? sl - 1 : len; k > 0; k--) {
        if (memcmp(s + len - k, secret, k) != 0) continue;
        static const char mask[] = "[REDACTED]";
        size_t at = len - k;
        if (at + sizeof mask > cap) at = cap - sizeof mask;
        memcpy(s + at, mask, sizeof mask);
        return;
    }
}

void zl_err_scrub(zl_error *e, const char *const *secrets, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!secrets[i] || strlen(secrets[i]) < 4) continue;
        scrub_str(e->message, sizeof e->message, secrets[i], false);
        scrub_cut_tail(e->message, sizeof e->message, secrets[i]);
        if (e->details) e->details = scrub_str(e->details, 0, secrets[i], true);
    }
}
