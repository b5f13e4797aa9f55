/* buf.c - a growable byte buffer and URL encoding (pure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

void zl_buf_free(zl_buf *b) { free(b->p); b->p = NULL; b->len = b->cap = 0; b->oom = false; }
void zl_buf_reset(zl_buf *b) { b->len = 0; b->oom = false; if (b->p) b->p[0] = '\0'; }

static bool grow(zl_buf *b, size_t extra) {
    if (b->oom) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = true; return false; }
    b->p = p; b->cap = cap;
    return true;
}

void zl_buf_add(zl_buf *b, const char *s, size_t n) {
    if (!grow(b, n)) return;
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void zl_buf_adds(zl_buf *b, const char *s) { zl_buf_add(b, s, strlen(s)); }

void zl_buf_addf(zl_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !grow(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void zl_buf_add_urlenc(zl_buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            zl_buf_add(b, (const char *)&ch, 1);
        } else {
            char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
            zl_buf_add(b, e, 3);
        }
    }
}

const char *zl_buf_str(zl_buf *b) {
    if (b->oom) return NULL;
    if (!b->p) { if (!grow(b, 0)) return NULL; b->p[0] = '\0'; }
    return b->p;
}

char *zl_strdup0(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}
