/* batch.c - the bulk engine's front: the public API (zlock_batch.h), run on the caller's
 * thread. It accepts items into the inbound FIFO, drives shard 0 while the caller polls, hands
 * finished items back from the done queue, and owns the threads of the other shards
 * (batch_shard.c); see batch_internal.h for what they share. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "batch_internal.h"

void zl_batch_opts_init(zl_batch_opts *o) {
    memset(o, 0, sizeof *o);
    o->concurrency = 10;
    o->initial = 0;
    o->decrease = 0.7;
    o->probe = 8;
    o->capacity = 0;
    o->throttle_budget_ms = 300000;
    o->throttle_pause_ms = 2000;
    o->threads = 0;
}

static int64_t now_ms(zl_batch *b) { return zl_client_mono(b->c); }

#define LOOK_US 1000   /* see zl_batch_poll */

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Items accepted at once (mu held). */
static size_t capacity_locked(const zl_batch *b) {
    if (b->o.capacity > 0) return (size_t)b->o.capacity;
    size_t cap = 2 * (size_t)zl_window_size(&b->win) + 8, top = 2 * (size_t)b->o.concurrency + 8;
    return cap < top ? cap : top;
}

void zl_item_free(zl_item *it) {
    zl_call_free(it->call);
    zl_op_copy_free(&it->copy);
    free(it);
}

void zl_batch_deliver_locked(zl_batch *b, const zl_batch_result *r, const zl_shard *from) {
    *zl_doneq_push(&b->done, b->nitems) = *r;   /* room was reserved when it was accepted */
    atomic_store_explicit(&b->ndone, zl_doneq_len(&b->done), memory_order_relaxed);
    b->st.finished++;
    if (!from || from == &b->sh[0]) return;     /* on the caller's thread: it will see it */
    /* waking the caller costs a context switch: do it once per batch of results, or when
     * the shards are about to run out of items to take, or when everything is done */
    size_t len = zl_doneq_len(&b->done);
    if (b->caller_wants && (len >= b->caller_wants || !b->in_h || len == b->nitems)) {
        b->caller_wants = 0;
        zl_shard_wake_locked(&b->sh[0]);
    }
}

void zl_batch_wake_others_locked(zl_batch *b, const zl_shard *self) {
    if (b->nshards < 2 || !zl_window_room(&b->win)) return;
    for (int i = 0; i < b->nshards; i++) {
        zl_shard *o = &b->sh[i];
        if (o == self || (i == 0 && !b->caller_wants)) continue;   /* shard 0: only while the caller waits */
        if (o->npend > 0 || (o->hungry && b->in_h)) zl_shard_wake_locked(o);
    }
}

/* Default I/O threads: two when there is a second CPU to run them (see batch_internal.h). */
static int auto_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 1 ? 2 : 1;
}

static void stop_threads(zl_batch *b) {
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    for (int i = 1; i < b->nshards; i++) zl_shard_wake_locked(&b->sh[i]);
    pthread_mutex_unlock(&b->mu);
    for (int i = 1; i < b->nshards; i++)
        if (b->sh[i].running) pthread_join(b->sh[i].thread, NULL);
}

/* Sets up the shards and starts the threads of shards 1.. with every signal blocked (signals
 * stay the caller's business: the Lua interpreter's SIGINT handler must not run on an I/O
 * thread). */
static int start_threads(zl_batch *b, int n, zl_error *err) {
    for (int i = 0; i < n; i++) {
        if (zl_shard_init(&b->sh[i], b, i)) {
            zl_shard_free(&b->sh[i]);
            b->nshards = i;               /* those set up, for zl_batch_free */
            zl_err_set(err, "INTERNAL", 0, false, "could not set up a bulk engine thread");
            return -1;
        }
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (int i = 1; i < n && rc == 0; i++) {
        rc = pthread_create(&b->sh[i].thread, NULL, zl_shard_main, &b->sh[i]);
        b->sh[i].running = rc == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) zl_err_set(err, "INTERNAL", 0, false, "could not start a bulk engine thread");
    return rc ? -1 : 0;
}

zl_batch *zl_batch_new(zl_client *c, const zl_batch_opts *o, zl_error *err) {
    zl_batch_opts d;
    if (!o) { zl_batch_opts_init(&d); o = &d; }
    if (!c) { zl_err_set(err, "INVALID_ARGUMENT", 0, false, "a client is required"); return NULL; }
    if (o->concurrency < 1 || o->concurrency > ZL_BATCH_MAX_CONCURRENCY) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "concurrency must be 1 to %d", ZL_BATCH_MAX_CONCURRENCY);
        return NULL;
    }
    if (o->decrease < 0.1 || o->decrease > 0.95 || o->probe < 1 || o->initial < 0 || o->capacity < 0) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "bad bulk engine option (decrease, probe, initial or capacity)");
        return NULL;
    }
    if (o->threads < 0 || o->threads > ZL_BATCH_MAX_THREADS) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "threads must be 0 (automatic) to %d", ZL_BATCH_MAX_THREADS);
        return NULL;
    }
    if (zl_curl_global_init()) { zl_err_set(err, "INTERNAL", 0, false, "curl_global_init failed"); return NULL; }
    zl_batch *b = calloc(1, sizeof *b);
    if (!b) {
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    b->o = *o;
    zl_window_init(&b->win, o->concurrency, o->initial, o->decrease, o->probe);
    zl_client_ref(c);
    b->c = c;
    b->st.max = o->concurrency;
    int n = o->threads ? o->threads : auto_threads();
    if (n > o->concurrency) n = o->concurrency;
    b->nshards = n;                       /* the shards' share of the window counts on it */
    if (start_threads(b, n, err)) {
        zl_batch_free(b);
        return NULL;
    }
    return b;
}

/* Frees items the other shards finished (see retire in batch_shard.c). */
static void free_dead(zl_item *it) {
    while (it) {
        zl_item *next = it->qnext;
        zl_item_free(it);
        it = next;
    }
}

bool zl_batch_submit(zl_batch *b, const zl_op *op, uint64_t tag) {
    if (!b || !op) return false;
    zl_item *it = calloc(1, sizeof *it);
    zl_error err = {0};
    /* the call is made by the shard that runs the item (pull in batch_shard.c): what a thread
     * allocates, it frees; memory freed by another thread than its allocator's contends for the
     * allocator's arena lock (0.8 futex calls per lock on 2 cores before this) */
    if (!it || zl_op_copy_make(&it->copy, op)) {
        free(it);
        it = NULL;
        zl_err_set(&err, "INTERNAL", 0, false, "out of memory");
    } else {
        it->tag = tag;
        it->accepted_ms = now_ms(b);
        it->st = IT_READY;
    }
    pthread_mutex_lock(&b->mu);
    bool room = b->nitems < capacity_locked(b) && zl_doneq_reserve(&b->done, b->nitems + 1);
    if (room) {
        b->nitems++;                      /* its place in the done queue is reserved */
        if (it) {
            zl_fifo_push(&b->in_h, &b->in_t, it);
            for (int i = 1; i < b->nshards; i++)   /* shard 0 takes them in the next poll */
                if (b->sh[i].hungry) zl_shard_wake_locked(&b->sh[i]);
        } else {
            zl_batch_result r = { .tag = tag, .kind = op->kind, .ok = false };
            r.err = err;                  /* moved */
            zl_batch_deliver_locked(b, &r, NULL);
        }
    }
    pthread_mutex_unlock(&b->mu);
    if (!room) {                          /* full: nothing was accepted */
        if (it) zl_item_free(it);
        zl_error_clear(&err);
    }
    return room;
}

size_t zl_batch_poll(zl_batch *b, long timeout_ms, zl_batch_result *out, size_t max) {
    if (!b) return 0;
    zl_shard *s0 = &b->sh[0];
    int64_t deadline = now_ms(b) + (timeout_ms > 0 ? timeout_ms : 0);
    long wait = 0;                        /* the first turn only looks */
    /* a caller that polls without waiting after every submit (the bulk runner does, to keep
     * results flowing while it produces items) looks at shard 0's sockets at most once per
     * LOOK_US (1 ms, nothing next to an API's latency): each look is a poll() and a libcurl
     * pass, and one per item cost the runner 15% of its throughput on a loopback emulator;
     * in between it only collects what the other shards finished */
    int64_t now_us = mono_us();
    if (timeout_ms <= 0 && now_us - b->looked_us < LOOK_US) goto collect;
    b->looked_us = now_us;
    for (;;) {
        zl_shard_turn(s0, wait);
        pthread_mutex_lock(&b->mu);
        b->caller_wants = 0;
        bool stop = zl_doneq_len(&b->done) > 0 || b->nitems == 0;
        int64_t now = now_ms(b);
        wait = (long)(deadline - now);
        if (!stop && wait > 0) {
            /* items the other shards finish wake this thread in batches: half of what is
             * accepted beyond the window (the shards keep the window full from the rest) */
            size_t win = (size_t)zl_window_size(&b->win), want = 1;
            if (b->nitems > win + 2) want = (b->nitems - win) / 2;
            b->caller_wants = want < max ? want : max;
        }
        pthread_mutex_unlock(&b->mu);
        if (stop || wait <= 0) break;
    }
collect:
    pthread_mutex_lock(&b->mu);
    size_t n = zl_doneq_pop(&b->done, out, max);
    atomic_store_explicit(&b->ndone, zl_doneq_len(&b->done), memory_order_relaxed);
    b->nitems -= n;
    zl_item *dead = b->dead_h;
    b->dead_h = b->dead_t = NULL;
    pthread_mutex_unlock(&b->mu);
    free_dead(dead);
    return n;
}

bool zl_batch_due(const zl_batch *b) {
    if (!b) return false;
    /* no lock: the runner asks after every submit, which has just taken it once */
    return atomic_load_explicit(&b->ndone, memory_order_relaxed) > 0 || mono_us() - b->looked_us >= LOOK_US;
}

size_t zl_batch_inflight(const zl_batch *b) {
    if (!b) return 0;
    pthread_mutex_lock((pthread_mutex_t *)&b->mu);
    size_t n = b->nitems;
    pthread_mutex_unlock((pthread_mutex_t *)&b->mu);
    return n;
}

void zl_batch_stats_get(const zl_batch *b, zl_batch_stats *st) {
    pthread_mutex_t *mu = (pthread_mutex_t *)&b->mu;
    pthread_mutex_lock(mu);
    *st = b->st;
    st->window = zl_window_size(&b->win);
    st->limit_estimate = b->win.limit_est;
    st->items = b->nitems;
    st->requests_inflight = b->win.inflight;
    st->max_inflight = b->win.max_inflight;
    st->throttled = b->win.throttled;
    st->cuts = b->win.cuts;
    st->threads = b->nshards;
    pthread_mutex_unlock(mu);
}

void zl_batch_free(zl_batch *b) {
    if (!b) return;
    stop_threads(b);
    for (int i = 0; i < b->nshards; i++) zl_shard_free(&b->sh[i]);
    zl_item *it;
    while ((it = zl_fifo_pop(&b->in_h, &b->in_t))) zl_item_free(it);
    free_dead(b->dead_h);
    zl_doneq_free(&b->done);
    zl_error_clear(&b->halt_err);
    zl_client_free(b->c);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
