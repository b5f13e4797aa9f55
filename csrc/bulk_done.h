/* bulk_done.h - the C bulk engine's queue of finished items (not public): a FIFO of
 * zl_bulk_result in one growing array, space reserved when an item is accepted so that
 * queuing a finished item never fails. */
#ifndef ZLOCK_BULK_DONE_H
#define ZLOCK_BULK_DONE_H

#include "zlock_bulk.h"

typedef struct zl_doneq {
    zl_bulk_result *r;          /* [head, tail) are queued */
    size_t head, tail, cap;
} zl_doneq;

/* Room for `need` queued results in all. False when out of memory. */
bool zl_doneq_reserve(zl_doneq *q, size_t need);
/* A zeroed slot at the tail (space reserved beforehand: `need` as given to reserve). */
zl_bulk_result *zl_doneq_push(zl_doneq *q, size_t need);
/* Moves up to max results to out, oldest first; returns how many. */
size_t zl_doneq_pop(zl_doneq *q, zl_bulk_result *out, size_t max);
static inline size_t zl_doneq_len(const zl_doneq *q) { return q->tail - q->head; }
/* Clears what is still queued and frees the array. */
void zl_doneq_free(zl_doneq *q);

#endif
