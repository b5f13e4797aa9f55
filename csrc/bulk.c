/* bulk.c - the C bulk engine's public API (zlock_bulk.h) and its loop: submit steps a new item
 * at once (its request goes out when the window has room); poll runs libcurl on the ready
 * sockets, feeds the replies and steps what can move, until something finished or the time is
 * up. One thread, the caller's; see bulk_internal.h for the item states. */
#include <stdlib.h>
#include <string.h>
#include "bulk_internal.h"

void zl_bulk_opts_init(zl_bulk_opts *o) {
    memset(o, 0, sizeof *o);
    o->concurrency = 10;
    o->initial = 0;
    o->decrease = ZL_WINDOW_DECREASE;
    o->probe = ZL_WINDOW_PROBE;
    o->capacity = 0;
    o->throttle_budget_ms = 300000;
    o->throttle_pause_ms = 2000;
}

/* Items accepted at once. */
static size_t capacity(const zl_bulk *b) {
    if (b->o.capacity > 0) return (size_t)b->o.capacity;
    if (zl_bulk_fleet_on(b)) return 2 * (size_t)b->o.concurrency + 8;   /* the fleet decides */
    size_t cap = 2 * (size_t)zl_window_size(&b->win) + 8, top = 2 * (size_t)b->o.concurrency + 8;
    return cap < top ? cap : top;
}

zl_bulk *zl_bulk_new(zl_client *c, const zl_bulk_opts *o, zl_error *err) {
    zl_bulk_opts d;
    if (!o) { zl_bulk_opts_init(&d); o = &d; }
    if (!c) { zl_err_set(err, "INVALID_ARGUMENT", 0, false, "a client is required"); return NULL; }
    if (o->concurrency < 1 || o->concurrency > ZL_BULK_MAX_CONCURRENCY) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "concurrency must be 1 to %d", ZL_BULK_MAX_CONCURRENCY);
        return NULL;
    }
    if (o->decrease < 0.1 || o->decrease > 0.95 || o->probe < 1 || o->initial < 0 || o->capacity < 0) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "bad bulk engine option (decrease, probe, initial or capacity)");
        return NULL;
    }
    if (zl_curl_global_init()) { zl_err_set(err, "INTERNAL", 0, false, "curl_global_init failed"); return NULL; }
    zl_bulk *b = calloc(1, sizeof *b);
    if (!b || !(b->multi = curl_multi_init())) {
        free(b);
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return NULL;
    }
    b->o = *o;
    zl_window_init(&b->win, o->concurrency, o->initial, o->decrease, o->probe);
    zl_bio_init(&b->io, b->multi);
    curl_multi_setopt(b->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    /* idle connections kept: the window moves, and a connection closed for want of room is a
     * new TCP (and TLS) handshake later */
    curl_multi_setopt(b->multi, CURLMOPT_MAXCONNECTS, (long)o->concurrency + 4);
    zl_client_ref(c);
    b->c = c;
    b->st.max = o->concurrency;
    b->prng = (uint64_t)(uintptr_t)b ^ ((uint64_t)zl_bulk_now_ms(b) << 20);
    if (zl_bulk_fleet_open(b)) {
        zl_bulk_free(b);
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return NULL;
    }
    return b;
}

/* Transfers added since libcurl last ran go out now. */
static void kick(zl_bulk *b) {
    if (!b->added) return;
    b->added = false;
    zl_bio_kick(&b->io);
}

bool zl_bulk_submit(zl_bulk *b, const zl_op *op, uint64_t tag) {
    if (!b || !op) return false;
    if (b->nitems >= capacity(b) || !zl_doneq_reserve(&b->done, b->nitems + 1)) return false;
    b->nitems++;                          /* its place in the done queue is reserved */
    zl_item *it = calloc(1, sizeof *it);
    if (!it || zl_op_copy_make(&it->copy, op)) {
        free(it);
        zl_bulk_result r = { .tag = tag, .kind = op->kind, .ok = false };
        zl_err_set(&r.err, "INTERNAL", 0, false, "out of memory");
        *zl_doneq_push(&b->done, b->nitems) = r;
        b->st.finished++;
        return true;
    }
    it->tag = tag;
    zl_item_start(b, it);
    zl_bulk_advance(b);                   /* its request goes out now if the window has room */
    kick(b);
    return true;
}

size_t zl_bulk_poll(zl_bulk *b, long timeout_ms, zl_bulk_result *out, size_t max) {
    if (!b) return 0;
    int64_t deadline = zl_bulk_now_ms(b) + (timeout_ms > 0 ? timeout_ms : 0);
    bool looked = false;
    for (;;) {
        zl_bulk_advance(b);
        kick(b);
        if (zl_doneq_len(&b->done) > 0 || b->nlive == 0) break;
        long wait = (long)(deadline - zl_bulk_now_ms(b));
        if (looked && wait <= 0) break;
        long wake = zl_bulk_next_wake(b);
        if (wait < 0) wait = 0;
        if (wake >= 0 && wake < wait) wait = wake;
        zl_bio_wait(&b->io, wait);
        looked = true;
        zl_bulk_reap(b);
    }
    size_t n = zl_doneq_pop(&b->done, out, max);
    b->nitems -= n;
    return n;
}

bool zl_bulk_due(const zl_bulk *b) {
    return b && zl_doneq_len(&b->done) > 0;
}

size_t zl_bulk_inflight(const zl_bulk *b) {
    return b ? b->nitems : 0;
}

void zl_bulk_stats_get(const zl_bulk *b, zl_bulk_stats *st) {
    *st = b->st;
    st->window = zl_window_size(&b->win);
    st->limit_estimate = b->win.limit_est;
    st->items = b->nitems;
    st->requests_inflight = b->win.inflight;
    st->max_inflight = b->win.max_inflight;
    st->throttled = b->win.throttled;
    st->cuts = b->win.cuts;
    st->threads = 1;
    zl_budget_info fi = {0};
    if (b->fleet.h) zl_budget_info_get(b->fleet.h, &fi);
    st->fleet_source = !fi.usable ? 0 : fi.given ? 2 : 1;
    st->fleet_limit = fi.usable ? fi.limit : 0;
    st->fleet_holders = fi.usable ? fi.holders : 0;
    if (b->fleet.waiting) st->slot_wait_ms += (unsigned long)(zl_client_mono(b->c) - b->fleet.wait_since);
}

void zl_bulk_free(zl_bulk *b) {
    if (!b) return;
    while (b->live) zl_item_free(b, b->live);
    zl_bulk_fleet_close(b);
    for (size_t i = 0; i < b->npool; i++) zl_xfer_free(b->pool[i]);
    free(b->pool);
    curl_multi_cleanup(b->multi);
    zl_bio_free(&b->io);
    zl_doneq_free(&b->done);
    zl_error_clear(&b->halt_err);
    zl_client_free(b->c);
    free(b);
}
