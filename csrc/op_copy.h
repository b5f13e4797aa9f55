/* op_copy.h - a deep copy of a zl_op in one allocation: the bulk engine keeps each item's
 * operation (it builds a fresh call from it when a throttled call starts again). Pure. */
#ifndef ZLOCK_OP_COPY_H
#define ZLOCK_OP_COPY_H

#include "zlock.h"

typedef struct zl_op_copy {
    zl_op op;          /* points into block */
    void *block;       /* params array, then every string */
} zl_op_copy;

/* Copies src (strings and params) into dst. Returns 0, or -1 when out of memory (dst zeroed). */
int  zl_op_copy_make(zl_op_copy *dst, const zl_op *src);
/* Frees the copy (zeroes it). Safe on a zeroed copy. */
void zl_op_copy_free(zl_op_copy *c);

#endif
