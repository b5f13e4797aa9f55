/* batch.c - the bulk engine: many sans-I/O calls driven by one libcurl multi handle, with an
 * AIMD window on the number of API requests in flight (see zlock_batch.h for the contract).
 *
 * An item moves between these states:
 *   READY   in the ready FIFO: its call's next step is not known yet (new, fed, timer fired)
 *   PENDING its call wants to SEND an API request but the window is full (pending FIFO)
 *   XFER    its request is an easy transfer in the multi
 *   TIMER   backing off until due_ms (a timer, not a sleep)
 *   TOKEN   parked until the client's token refresh (owned by another call) completes
 * A call whose step is DONE is moved out into the done queue (batch_done.c) and the item is
 * freed. The sockets and libcurl's timer are batch_io.c's.
 * Token refresh requests bypass the window (they go to the accounts server, not the API). */
#include <stdlib.h>
#include <string.h>
#include "batch_done.h"
#include "batch_io.h"
#include "internal.h"
#include "op_copy.h"
#include "transport_curl.h"
#include "window.h"
#include "zlock_batch.h"

typedef enum { IT_READY, IT_PENDING, IT_XFER, IT_TIMER, IT_TOKEN } it_state;

typedef struct item {
    struct item *prev, *next;    /* the batch's list of live items */
    struct item *qnext;          /* ready / pending FIFO */
    uint64_t tag;
    zl_op_copy copy;             /* the operation (restarts build a new call from it) */
    zl_call *call;
    it_state st;
    int64_t due_ms;              /* TIMER */
    uint64_t token_seq;          /* TOKEN */
    zl_xfer *x;                  /* XFER (and finished, until fed) */
    bool token_xfer;
    int f_status;                /* finished transfer, not fed yet */
    const char *f_body;
    size_t f_len;
    zl_transport_error f_te;
    zl_window_ticket ticket;     /* the API request in flight, as the window knows it */
    int64_t accepted_ms;
    bool started;                /* its call has been stepped at least once */
    int sends;                   /* API requests made for this item (every call) */
    int prior_attempts;          /* those made by calls given up on 429 and restarted */
} item;

struct zl_batch {
    zl_client *c;
    CURLM *multi;
    zl_bio io;                   /* its sockets and timer (batch_io.c) */
    zl_batch_opts o;
    zl_window win;               /* AIMD on the API requests in flight (window.c) */
    /* items */
    item *live;
    item *ready_h, *ready_t, *pend_h, *pend_t, *fin_h, *fin_t;
    size_t nlive, ntimer, ntoken, nitems;
    bool added;
    /* idle transfer slots */
    zl_xfer **pool;
    size_t npool, pool_cap, nxfers;
    zl_doneq done;               /* finished items (batch_done.c) */
    uint64_t prng;
    bool token_failed;           /* a call ended with TOKEN: the refresh flow is broken */
    zl_error token_err;          /* ... and this is why: items not started yet end with it */
    zl_batch_stats st;
};

void zl_batch_opts_init(zl_batch_opts *o) {
    memset(o, 0, sizeof *o);
    o->concurrency = 10;
    o->initial = 0;
    o->decrease = 0.7;
    o->probe = 8;
    o->capacity = 0;
    o->throttle_budget_ms = 300000;
    o->throttle_pause_ms = 2000;
}

static int64_t now_ms(zl_batch *b) { return zl_client_mono(b->c); }

static int window(const zl_batch *b) { return zl_window_size(&b->win); }

static size_t capacity(const zl_batch *b) {
    if (b->o.capacity > 0) return (size_t)b->o.capacity;
    size_t cap = 2 * (size_t)window(b) + 8, top = 2 * (size_t)b->o.concurrency + 8;
    return cap < top ? cap : top;
}

/* ------------------------------------------------------------ queues */

static void fifo_push(item **h, item **t, item *it) {
    it->qnext = NULL;
    if (*t) (*t)->qnext = it; else *h = it;
    *t = it;
}

static item *fifo_pop(item **h, item **t) {
    item *it = *h;
    if (it) {
        *h = it->qnext;
        if (!*h) *t = NULL;
        it->qnext = NULL;
    }
    return it;
}

static void make_ready(zl_batch *b, item *it) {
    it->st = IT_READY;
    fifo_push(&b->ready_h, &b->ready_t, it);
}

static void push_error(zl_batch *b, uint64_t tag, zl_op_kind kind, const zl_error *e, int attempts) {
    zl_batch_result *r = zl_doneq_push(&b->done, b->nitems);
    r->tag = tag;
    r->kind = kind;
    r->ok = false;
    r->attempts = attempts;
    if (!e || zl_error_copy(&r->err, e)) zl_err_set(&r->err, "INTERNAL", 0, false, "out of memory");
    b->st.finished++;
}

/* ------------------------------------------------------------ transfers */

static zl_xfer *pool_get(zl_batch *b) {
    if (b->npool) return b->pool[--b->npool];
    if (b->nxfers == b->pool_cap) {
        size_t cap = b->pool_cap ? b->pool_cap * 2 : 8;
        zl_xfer **p = realloc(b->pool, cap * sizeof *p);
        if (!p) return NULL;
        b->pool = p;
        b->pool_cap = cap;
    }
    zl_xfer *x = zl_xfer_new(b->c);   /* pool_cap >= transfers created: pool_put never reallocs */
    if (x) b->nxfers++;
    return x;
}

static void pool_put(zl_batch *b, zl_xfer *x) { b->pool[b->npool++] = x; }

/* Adds the SEND as a transfer. False when refused at once (the call was fed or cancelled:
 * step it again). */
static bool start(zl_batch *b, item *it, const zl_step *s) {
    zl_xfer *x = pool_get(b);
    if (!x) {
        zl_call_cancel(it->call, "INTERNAL", "could not create a libcurl handle");
        return false;
    }
    if (zl_xfer_prepare(x, s)) {
        pool_put(b, x);
        zl_call_feed(it->call, 0, NULL, 0, ZL_TERR_OTHER);
        return false;
    }
    CURL *h = zl_xfer_handle(x);
    curl_easy_setopt(h, CURLOPT_PRIVATE, (void *)it);
    /* over TLS, wait for HTTP/2 to be confirmed and multiplex instead of opening connections */
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, strncmp(s->url, "https:", 6) == 0 ? 1L : 0L);
    if (curl_multi_add_handle(b->multi, h) != CURLM_OK) {
        pool_put(b, x);
        zl_call_cancel(it->call, "INTERNAL", "could not add a libcurl transfer");
        return false;
    }
    b->added = true;
    it->x = x;
    it->st = IT_XFER;
    it->token_xfer = s->is_token_request;
    if (it->token_xfer) {
        b->st.token_requests++;
        return true;
    }
    it->sends++;
    it->ticket = zl_window_sent(&b->win);
    b->st.requests++;
    return true;
}

/* Collects finished transfers: the window learns from them at once; feeding their calls
 * (parsing replies) waits until the freed slots carry new requests (see zl_batch_poll). */
static void reap(zl_batch *b) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(b->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *h = m->easy_handle;
        CURLcode rc = m->data.result;          /* m is invalid after remove_handle */
        char *priv = NULL;
        curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
        item *it = (item *)(void *)priv;
        curl_multi_remove_handle(b->multi, h);
        unsigned long before = zl_xfer_connects(it->x);
        zl_xfer_finish(it->x, rc, &it->f_status, &it->f_body, &it->f_len, &it->f_te);
        b->st.connects += zl_xfer_connects(it->x) - before;
        if (!it->token_xfer) zl_window_done(&b->win, it->ticket, it->f_te == ZL_TERR_NONE, it->f_status);
        fifo_push(&b->fin_h, &b->fin_t, it);
    }
}

/* Feeds the collected replies to their calls (the body lives in the transfer until then). */
static void feed_finished(zl_batch *b) {
    item *it;
    while ((it = fifo_pop(&b->fin_h, &b->fin_t))) {
        zl_call_feed(it->call, it->f_status, it->f_body, it->f_len, it->f_te);   /* copies what it keeps */
        pool_put(b, it->x);
        it->x = NULL;
        it->f_body = NULL;
        make_ready(b, it);
    }
}

/* ------------------------------------------------------------ stepping */

static void unlink_item(zl_batch *b, item *it) {
    if (it->prev) it->prev->next = it->next; else b->live = it->next;
    if (it->next) it->next->prev = it->prev;
    b->nlive--;
    zl_call_free(it->call);
    zl_op_copy_free(&it->copy);
    free(it);
}

/* A call that ran out of attempts on 429 starts again while the item is young enough. */
static bool restart_throttled(zl_batch *b, item *it, const zl_error *e) {
    if (!e || strcmp(e->code, "TOO_MANY_REQUESTS") != 0 || b->o.throttle_budget_ms <= 0) return false;
    int64_t now = now_ms(b);
    if (now - it->accepted_ms >= b->o.throttle_budget_ms) return false;
    zl_error err = {0};
    zl_call *nc = zl_call_new(b->c, &it->copy.op, &err);
    if (!nc) { zl_error_clear(&err); return false; }
    /* the earlier call may have applied the op (a lost reply before the 429s): the new one
     * reconciles ("already locked" by our lock / "relation not found" = done) like a retry */
    if (zl_call_ambiguous(it->call)) zl_call_after_ambiguous(nc);
    it->prior_attempts = it->sends;
    zl_call_free(it->call);
    it->call = nc;
    b->st.restarts++;
    long pause = b->o.throttle_pause_ms > 0 ? b->o.throttle_pause_ms : 0;
    it->due_ms = now + (long)(zl_prng_next(&b->prng) % (uint64_t)(pause + 1));
    it->st = IT_TIMER;
    b->ntimer++;
    return true;
}

static void finish(zl_batch *b, item *it) {
    zl_result r;
    const zl_error *e = NULL;
    if (zl_call_result(it->call, &r, &e)) {
        zl_batch_result *o = zl_doneq_push(&b->done, b->nitems);
        o->tag = it->tag;
        o->kind = it->copy.op.kind;
        o->ok = true;
        o->http_status = r.http_status;
        if (r.lock_id) strncpy(o->lock_id, r.lock_id, ZL_ID_MAX);
        o->body = zl_call_take_body(it->call, &o->body_len);   /* the call's copy, not another */
        if (!o->body && (o->body = malloc(1))) o->body[0] = '\0';
        if (!o->body) {
            o->ok = false;
            zl_err_set(&o->err, "INTERNAL", 0, false, "out of memory");
        }
        o->reconciled = r.reconciled;
        o->attempts = it->prior_attempts + r.attempts;
        b->st.finished++;
    } else {
        if (restart_throttled(b, it, e)) return;
        if (e && !e->retryable && !b->token_failed && strcmp(e->code, "TOKEN") == 0
            && zl_error_copy(&b->token_err, e) == 0)
            b->token_failed = true;
        push_error(b, it->tag, it->copy.op.kind, e, it->sends);
    }
    unlink_item(b, it);
}

static void step(zl_batch *b, item *it) {
    if (!it->started && b->token_failed) {
        /* the token endpoint refused for good: do not ask it again for every item (Zoho
         * throttles a refresh token that keeps failing); the item ends with the same error */
        push_error(b, it->tag, it->copy.op.kind, &b->token_err, 0);
        unlink_item(b, it);
        return;
    }
    it->started = true;
    for (;;) {
        zl_step s;
        zl_call_next(it->call, &s);
        switch (s.kind) {
        case ZL_STEP_DONE:
            finish(b, it);
            return;
        case ZL_STEP_WAIT:
            b->st.retries++;
            if (s.wait_ms <= 0) continue;
            it->due_ms = now_ms(b) + s.wait_ms;
            it->st = IT_TIMER;
            b->ntimer++;
            return;
        case ZL_STEP_WAIT_TOKEN:
            it->token_seq = s.token_seq;
            it->st = IT_TOKEN;
            b->ntoken++;
            return;
        case ZL_STEP_SEND:
            if (s.is_token_request || zl_window_room(&b->win)) {
                if (start(b, it, &s)) return;
                continue;                           /* refused at once: step again */
            }
            it->st = IT_PENDING;
            fifo_push(&b->pend_h, &b->pend_t, it);
            return;
        }
    }
}

/* Requests that waited for room, in order, as far as the window allows. */
static void start_pending(zl_batch *b) {
    while (b->pend_h && zl_window_room(&b->win)) {
        item *it = fifo_pop(&b->pend_h, &b->pend_t);
        step(b, it);   /* next() gives the same SEND again */
    }
}

static void pump(zl_batch *b) {
    if (b->ntimer || b->ntoken) {
        int64_t now = now_ms(b);
        uint64_t seq = 0;
        bool refreshing = false;
        if (b->ntoken) {
            pthread_mutex_lock(&b->c->mu);
            seq = b->c->refresh_seq;
            refreshing = b->c->refreshing;
            pthread_mutex_unlock(&b->c->mu);
        }
        for (item *it = b->live; it; it = it->next) {
            if (it->st == IT_TIMER && it->due_ms <= now) {
                b->ntimer--;
                make_ready(b, it);
            } else if (it->st == IT_TOKEN && (seq != it->token_seq || !refreshing)) {
                b->ntoken--;
                make_ready(b, it);
            }
        }
    }
    start_pending(b);
    item *it;
    while ((it = fifo_pop(&b->ready_h, &b->ready_t))) step(b, it);
}

/* Milliseconds until the earliest timer (-1: none). */
static long next_timer(zl_batch *b, int64_t now) {
    if (!b->ntimer) return -1;
    int64_t best = INT64_MAX;
    for (item *it = b->live; it; it = it->next)
        if (it->st == IT_TIMER && it->due_ms < best) best = it->due_ms;
    return best <= now ? 0 : (long)(best - now);
}

/* ------------------------------------------------------------ public */

zl_batch *zl_batch_new(zl_client *c, const zl_batch_opts *o, zl_error *err) {
    zl_batch_opts d;
    if (!o) { zl_batch_opts_init(&d); o = &d; }
    if (!c) { zl_err_set(err, "INVALID_ARGUMENT", 0, false, "a client is required"); return NULL; }
    if (o->concurrency < 1 || o->concurrency > 1024) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "concurrency must be 1 to 1024");
        return NULL;
    }
    if (o->decrease < 0.1 || o->decrease > 0.95 || o->probe < 1 || o->initial < 0 || o->capacity < 0) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "bad bulk engine option (decrease, probe, initial or capacity)");
        return NULL;
    }
    if (zl_curl_global_init()) { zl_err_set(err, "INTERNAL", 0, false, "curl_global_init failed"); return NULL; }
    zl_batch *b = calloc(1, sizeof *b);
    if (!b || !(b->multi = curl_multi_init())) {
        free(b);
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return NULL;
    }
    b->o = *o;
    zl_bio_init(&b->io, b->multi);
    zl_window_init(&b->win, o->concurrency, o->initial, o->decrease, o->probe);
    curl_multi_setopt(b->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(b->multi, CURLMOPT_MAXCONNECTS, (long)o->concurrency + 4);
    zl_client_ref(c);
    b->c = c;
    b->prng = (uint64_t)(uintptr_t)b ^ ((uint64_t)now_ms(b) << 20);
    b->st.max = o->concurrency;
    return b;
}

bool zl_batch_submit(zl_batch *b, const zl_op *op, uint64_t tag) {
    if (!b || !op || b->nitems >= capacity(b)) return false;
    if (!zl_doneq_reserve(&b->done, b->nitems + 1)) return false;
    item *it = calloc(1, sizeof *it);
    if (!it) return false;
    zl_error err = {0};
    if (zl_op_copy_make(&it->copy, op)) {
        free(it);
        return false;
    }
    b->nitems++;
    it->call = zl_call_new(b->c, &it->copy.op, &err);
    if (!it->call) {                      /* invalid: comes back from poll as a failure */
        push_error(b, tag, op->kind, &err, 0);
        zl_error_clear(&err);
        zl_op_copy_free(&it->copy);
        free(it);
        return true;
    }
    it->tag = tag;
    it->accepted_ms = now_ms(b);
    it->next = b->live;
    if (b->live) b->live->prev = it;
    b->live = it;
    b->nlive++;
    make_ready(b, it);
    return true;
}

size_t zl_batch_poll(zl_batch *b, long timeout_ms, zl_batch_result *out, size_t max) {
    if (!b) return 0;
    int64_t deadline = now_ms(b) + (timeout_ms > 0 ? timeout_ms : 0);
    long wait = 0;                        /* the first pass only looks */
    for (;;) {
        pump(b);
        b->added = false;
        zl_bio_wait(&b->io, wait);        /* ready sockets, libcurl's timeout (new transfers) */
        reap(b);
        start_pending(b);                 /* freed slots carry queued requests first... */
        if (b->added) {
            b->added = false;
            zl_bio_timers(&b->io);
        }
        feed_finished(b);                 /* ...then the replies are parsed */
        pump(b);
        if (b->added) {                   /* push the new requests out now */
            b->added = false;
            zl_bio_timers(&b->io);
        }
        if (zl_doneq_len(&b->done) || b->nlive == 0) break;
        int64_t now = now_ms(b);
        wait = (long)(deadline - now);
        if (wait <= 0) break;
        long t = next_timer(b, now);
        if (t >= 0 && t < wait) wait = t;
        if (b->ntoken && wait > 10) wait = 10;   /* a refresh owned elsewhere: look again soon */
    }
    size_t n = zl_doneq_pop(&b->done, out, max);
    b->nitems -= n;
    return n;
}

size_t zl_batch_inflight(const zl_batch *b) { return b ? b->nitems : 0; }

void zl_batch_stats_get(const zl_batch *b, zl_batch_stats *st) {
    *st = b->st;
    st->window = window(b);
    st->limit_estimate = b->win.limit_est;
    st->items = b->nitems;
    st->requests_inflight = b->win.inflight;
    st->max_inflight = b->win.max_inflight;
    st->throttled = b->win.throttled;
    st->cuts = b->win.cuts;
}

void zl_batch_free(zl_batch *b) {
    if (!b) return;
    while (b->live) {
        item *it = b->live;
        if (it->x) {
            curl_multi_remove_handle(b->multi, zl_xfer_handle(it->x));
            pool_put(b, it->x);
            it->x = NULL;
        }
        unlink_item(b, it);
    }
    zl_doneq_free(&b->done);
    for (size_t i = 0; i < b->npool; i++) zl_xfer_free(b->pool[i]);
    free(b->pool);
    curl_multi_cleanup(b->multi);
    zl_bio_free(&b->io);
    zl_error_clear(&b->token_err);
    zl_client_free(b->c);
    free(b);
}
