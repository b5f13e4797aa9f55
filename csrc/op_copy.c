/* op_copy.c - deep copy of a zl_op in one allocation (see op_copy.h). Pure. */
#include <stdlib.h>
#include <string.h>
#include "op_copy.h"

static size_t need(const char *s) { return s ? strlen(s) + 1 : 0; }

static const char *put(char **at, const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = memcpy(*at, s, n);
    *at += n;
    return d;
}

int zl_op_copy_make(zl_op_copy *dst, const zl_op *src) {
    memset(dst, 0, sizeof *dst);
    size_t np = src->params ? src->nparams : 0;
    size_t size = np * sizeof(zl_param) + need(src->module) + need(src->record_id) + need(src->lock_id)
        + need(src->reason) + need(src->method) + need(src->path) + need(src->body);
    for (size_t i = 0; i < np; i++) size += need(src->params[i].key) + need(src->params[i].value);
    if (!(dst->block = malloc(size ? size : 1))) return -1;
    zl_param *ps = dst->block;
    char *at = (char *)dst->block + np * sizeof(zl_param);
    dst->op = *src;
    dst->op.module = put(&at, src->module);
    dst->op.record_id = put(&at, src->record_id);
    dst->op.lock_id = put(&at, src->lock_id);
    dst->op.reason = put(&at, src->reason);
    dst->op.method = put(&at, src->method);
    dst->op.path = put(&at, src->path);
    dst->op.body = put(&at, src->body);
    for (size_t i = 0; i < np; i++) {
        ps[i].key = put(&at, src->params[i].key);
        ps[i].value = put(&at, src->params[i].value);
    }
    dst->op.params = np ? ps : NULL;
    dst->op.nparams = np;
    return 0;
}

void zl_op_copy_free(zl_op_copy *c) {
    if (!c) return;
    free(c->block);
    memset(c, 0, sizeof *c);
}
