/* bulk_done.c - the C bulk engine's queue of finished items (see bulk_done.h). */
#include <stdlib.h>
#include <string.h>
#include "bulk_done.h"

bool zl_doneq_reserve(zl_doneq *q, size_t need) {
    if (q->head > 0 && q->tail == q->cap) {   /* slide the live part to the front */
        memmove(q->r, q->r + q->head, (q->tail - q->head) * sizeof *q->r);
        q->tail -= q->head;
        q->head = 0;
    }
    if (need <= q->cap - q->head) return true;
    size_t cap = q->cap ? q->cap : 16;
    while (cap < need + q->head) cap *= 2;
    zl_bulk_result *p = realloc(q->r, cap * sizeof *p);
    if (!p) return false;
    q->r = p;
    q->cap = cap;
    return true;
}

zl_bulk_result *zl_doneq_push(zl_doneq *q, size_t need) {
    if (q->tail == q->cap) zl_doneq_reserve(q, need);
    zl_bulk_result *r = &q->r[q->tail++];
    memset(r, 0, sizeof *r);
    return r;
}

size_t zl_doneq_pop(zl_doneq *q, zl_bulk_result *out, size_t max) {
    size_t n = 0;
    while (n < max && q->head < q->tail) out[n++] = q->r[q->head++];
    if (q->head == q->tail) q->head = q->tail = 0;
    return n;
}

void zl_bulk_result_clear(zl_bulk_result *r) {
    if (!r) return;
    free(r->body);
    zl_error_clear(&r->err);
    memset(r, 0, sizeof *r);
}

void zl_doneq_free(zl_doneq *q) {
    for (size_t i = q->head; i < q->tail; i++) zl_bulk_result_clear(&q->r[i]);
    free(q->r);
    memset(q, 0, sizeof *q);
}
