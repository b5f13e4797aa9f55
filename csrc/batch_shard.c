/* batch_shard.c - one I/O thread of the bulk engine: its items' sans-I/O calls driven by its
 * own libcurl multi handle (see batch_internal.h for what is shared and how work is shared out).
 *
 * An item of a shard moves between these states:
 *   READY   in the ready FIFO: its call's next step is not known yet (new, fed, timer fired)
 *   PENDING its call wants to SEND an API request but the window is full (pending FIFO)
 *   XFER    its request is an easy transfer in the multi
 *   TIMER   backing off until due_ms (a timer, not a sleep)
 *   TOKEN   parked until the client's token refresh (owned by another call) completes
 * A call whose step is DONE ends in batch_end.c: its result goes to the front's done queue.
 * Token refresh requests bypass the window (they go to the accounts server, not the API). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "batch_internal.h"


static void make_ready(zl_shard *sh, zl_item *it) {
    it->st = IT_READY;
    zl_fifo_push(&sh->ready_h, &sh->ready_t, it);
}

void zl_shard_wake_locked(zl_shard *sh) {
    if (sh->woken) return;
    sh->woken = true;
    ssize_t n = write(sh->wake[1], "w", 1);   /* a full pipe is awake enough */
    (void)n;
}

/* ------------------------------------------------------------ the window */

/* A place in the window for the item's next request, if there is one (mu held). */
static bool room_taken_locked(zl_batch *b, zl_item *it) {
    if (!zl_window_room(&b->win)) return false;
    it->ticket = zl_window_sent(&b->win);
    b->st.requests++;
    return true;
}

/* Takes a place in the window for the item's next API request, or (full) counts it as
 * pending, in one step: a place freed by another shard afterwards wakes this one. */
static bool slot_take(zl_shard *sh, zl_item *it) {
    zl_shard_lock(sh);
    bool ok = room_taken_locked(sh->b, it);
    if (!ok) sh->npend++;
    zl_shard_unlock(sh);
    it->slot = ok;
    return ok;
}

/* Gives back a place taken for a request that did not go out after all. */
static void slot_drop(zl_shard *sh, zl_item *it) {
    if (!it->slot) return;
    it->slot = false;
    zl_shard_lock(sh);
    zl_window_done(&sh->b->win, it->ticket, false, 0);
    sh->b->st.requests--;
    zl_batch_wake_others_locked(sh->b, sh);
    zl_shard_unlock(sh);
}

/* ------------------------------------------------------------ transfers */

static zl_xfer *pool_get(zl_shard *sh) {
    if (sh->npool) return sh->pool[--sh->npool];
    if (sh->nxfers == sh->pool_cap) {
        size_t cap = sh->pool_cap ? sh->pool_cap * 2 : 8;
        zl_xfer **p = realloc(sh->pool, cap * sizeof *p);
        if (!p) return NULL;
        sh->pool = p;
        sh->pool_cap = cap;
    }
    zl_xfer *x = zl_xfer_new(sh->b->c);   /* pool_cap >= transfers created: pool_put never reallocs */
    if (x) sh->nxfers++;
    return x;
}

static void pool_put(zl_shard *sh, zl_xfer *x) { sh->pool[sh->npool++] = x; }

/* Adds the SEND as a transfer. False when refused at once (the call was fed or cancelled:
 * step it again). An API request holds its window place already. */
static bool start(zl_shard *sh, zl_item *it, const zl_step *s) {
    zl_xfer *x = pool_get(sh);
    if (!x) {
        zl_call_cancel(it->call, "INTERNAL", "could not create a libcurl handle");
        return false;
    }
    if (zl_xfer_prepare(x, s)) {
        pool_put(sh, x);
        zl_call_feed(it->call, 0, NULL, 0, ZL_TERR_OTHER);
        return false;
    }
    CURL *h = zl_xfer_handle(x);
    curl_easy_setopt(h, CURLOPT_PRIVATE, (void *)it);
    /* over TLS, wait for HTTP/2 to be confirmed and multiplex instead of opening connections */
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, strncmp(s->url, "https:", 6) == 0 ? 1L : 0L);
    if (curl_multi_add_handle(sh->multi, h) != CURLM_OK) {
        pool_put(sh, x);
        zl_call_cancel(it->call, "INTERNAL", "could not add a libcurl transfer");
        return false;
    }
    sh->added = true;
    it->x = x;
    it->st = IT_XFER;
    it->token_xfer = s->is_token_request;
    if (it->token_xfer) {
        zl_shard_count(sh, &sh->b->st.token_requests);
        return true;
    }
    it->slot = false;              /* the place is the transfer's now (see reap) */
    it->sends++;
    return true;
}

/* Collects finished transfers: the window learns from them at once; feeding their calls
 * (parsing replies) waits until the freed places carry new requests (see zl_shard_main). */
static void reap(zl_shard *sh) {
    CURLMsg *m;
    int left;
    zl_item *h = NULL, *t = NULL;
    unsigned long connects = 0;
    while ((m = curl_multi_info_read(sh->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *e = m->easy_handle;
        CURLcode rc = m->data.result;          /* m is invalid after remove_handle */
        char *priv = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        zl_item *it = (zl_item *)(void *)priv;
        curl_multi_remove_handle(sh->multi, e);
        unsigned long before = zl_xfer_connects(it->x);
        zl_xfer_finish(it->x, rc, &it->f_status, &it->f_body, &it->f_len, &it->f_te);
        it->f_credits = zl_xfer_credits(it->x, it->f_status);
        connects += zl_xfer_connects(it->x) - before;
        zl_fifo_push(&h, &t, it);
    }
    if (!h) return;
    zl_batch *b = sh->b;
    zl_shard_lock(sh);
    for (zl_item *it = h; it; it = it->qnext) {
        if (it->token_xfer) continue;
        /* a 429 saying the credits are spent says nothing about concurrency: no cut, no growth */
        bool spent = it->f_status == 429 && it->f_credits == 0;
        zl_window_done(&b->win, it->ticket, it->f_te == ZL_TERR_NONE && !spent, it->f_status);
    }
    b->st.connects += connects;
    zl_batch_wake_others_locked(b, sh);
    zl_shard_unlock(sh);
    if (sh->fin_t) sh->fin_t->qnext = h; else sh->fin_h = h;
    sh->fin_t = t;
}

/* Feeds the collected replies to their calls (the body lives in the transfer until then). */
static void feed_finished(zl_shard *sh) {
    zl_item *it;
    while ((it = zl_fifo_pop(&sh->fin_h, &sh->fin_t))) {
        zl_call_feed_credits(it->call, it->f_credits);
        zl_call_feed(it->call, it->f_status, it->f_body, it->f_len, it->f_te);   /* copies what it keeps */
        if (it->token_xfer) zl_call_token_share_after(it->call);   /* token stores: zlock.h */
        pool_put(sh, it->x);
        it->x = NULL;
        it->f_body = NULL;
        make_ready(sh, it);
    }
}

/* ------------------------------------------------------------ stepping */

static void step(zl_shard *sh, zl_item *it) {
    if (!it->started && zl_shard_end_on_halt(sh, it)) return;
    it->started = true;
    for (;;) {
        zl_step s;
        zl_call_next(it->call, &s);
        switch (s.kind) {
        case ZL_STEP_DONE:
            slot_drop(sh, it);
            zl_call_token_share_after(it->call);   /* a cancelled refresh's store lock */
            zl_shard_finish(sh, it);
            return;
        case ZL_STEP_WAIT:
            slot_drop(sh, it);
            zl_shard_count(sh, &sh->b->st.retries);
            if (s.wait_ms <= 0) continue;
            it->due_ms = zl_shard_now_ms(sh) + s.wait_ms;
            it->st = IT_TIMER;
            sh->ntimer++;
            return;
        case ZL_STEP_WAIT_TOKEN:
            slot_drop(sh, it);
            it->token_seq = s.token_seq;
            it->st = IT_TOKEN;
            sh->ntoken++;
            return;
        case ZL_STEP_SEND:
            if (s.is_token_request) {
                slot_drop(sh, it);
                /* a stored token saves the request; this may block the shard briefly (a file
                   lock or a Redis round trip, bounded by the client's timeouts) */
                if (zl_call_token_share_before(it->call) == ZL_SHARE_FED) continue;
            } else if (!it->slot && !slot_take(sh, it)) {
                it->st = IT_PENDING;
                zl_fifo_push(&sh->pend_h, &sh->pend_t, it);
                return;
            }
            if (start(sh, it, &s)) return;
            slot_drop(sh, it);                  /* refused at once: step again */
            continue;
        }
    }
}

/* Requests that waited for room, in order, as far as the window allows. */
static void start_pending(zl_shard *sh) {
    zl_batch *b = sh->b;
    while (sh->pend_h) {
        zl_item *it = sh->pend_h;
        zl_shard_lock(sh);
        bool ok = room_taken_locked(b, it);
        if (ok) sh->npend--;
        zl_shard_unlock(sh);
        if (!ok) return;
        zl_fifo_pop(&sh->pend_h, &sh->pend_t);
        it->slot = true;
        step(sh, it);   /* next() gives the same SEND again */
    }
}

static void pump(zl_shard *sh) {
    if (sh->ntimer || sh->ntoken) {
        int64_t now = zl_shard_now_ms(sh);
        uint64_t seq = 0;
        bool refreshing = false;
        if (sh->ntoken) {
            zl_client_refresh_state(sh->b->c, &seq, &refreshing);
        }
        for (zl_item *it = sh->live; it; it = it->next) {
            if (it->st == IT_TIMER && it->due_ms <= now) {
                sh->ntimer--;
                make_ready(sh, it);
            } else if (it->st == IT_TOKEN && (seq != it->token_seq || !refreshing)) {
                sh->ntoken--;
                make_ready(sh, it);
            }
        }
    }
    start_pending(sh);
    zl_item *it;
    while ((it = zl_fifo_pop(&sh->ready_h, &sh->ready_t))) step(sh, it);
}

/* New transfers go out now (libcurl starts them from its timeout). */
static void push_out(zl_shard *sh) {
    if (!sh->added) return;
    sh->added = false;
    zl_bio_kick(&sh->io);
}

/* Milliseconds until the earliest timer (-1: none). */
static long next_timer(zl_shard *sh, int64_t now) {
    if (!sh->ntimer) return -1;
    int64_t best = INT64_MAX;
    for (zl_item *it = sh->live; it; it = it->next)
        if (it->st == IT_TIMER && it->due_ms < best) best = it->due_ms;
    return best <= now ? 0 : (long)(best - now);
}

/* Takes items from the inbound FIFO up to this shard's share of the window (none while
 * another shard has requests waiting for room) and makes their calls here, on the thread that
 * will free them: how many, or -1 when the engine stops. */
static int pull(zl_shard *sh) {
    zl_batch *b = sh->b;
    zl_item *h = NULL, *t = NULL;
    zl_shard_lock(sh);
    sh->woken = false;
    if (b->stop) {
        zl_shard_unlock(sh);
        return -1;
    }
    /* its share of the window, ceil(window / nshards): equal shares measured best (shard 0,
     * which the caller's thread also runs Lua on, at half a share or none was slower) */
    size_t share = ((size_t)zl_window_size(&b->win) + (size_t)b->nshards - 1) / (size_t)b->nshards;
    size_t active = sh->nlive - sh->ntimer - sh->ntoken;
    bool others_wait = false;
    for (int i = 0; i < b->nshards; i++)
        if (&b->sh[i] != sh && b->sh[i].npend > 0) others_wait = true;
    int n = 0;
    while (b->in_h && active < share && !others_wait) {
        zl_fifo_push(&h, &t, zl_fifo_pop(&b->in_h, &b->in_t));
        active++;
        n++;
    }
    sh->hungry = active < share;
    zl_shard_unlock(sh);
    zl_item *it;
    while ((it = zl_fifo_pop(&h, &t))) {
        zl_error e = {0};
        if (!it->call && !(it->call = zl_call_new(b->c, &it->copy.op, &e))) {
            zl_shard_conclude_error(sh, it, &e, 0);   /* invalid: a failed item, before any request */
            zl_error_clear(&e);
            continue;
        }
        it->next = sh->live;
        if (sh->live) sh->live->prev = it;
        sh->live = it;
        sh->nlive++;
        make_ready(sh, it);
    }
    return n;
}

/* Steps what is ready (finished items leave), takes new items for the places that frees
 * (until the count it asked with, `hungry`, is the one it waits on), starts the transfers and
 * collects those that ended at once (a dead connection). -1 when the engine stops. */
static int settle(zl_shard *sh) {
    int n;
    do {
        pump(sh);
    } while ((n = pull(sh)) > 0);
    if (n < 0) return -1;
    push_out(sh);
    reap(sh);
    return 0;
}

bool zl_shard_turn(zl_shard *sh, long limit_ms) {
    if (settle(sh) < 0) return false;
    long wait = next_timer(sh, zl_shard_now_ms(sh));      /* -1: until something happens */
    if (sh->fin_h) wait = 0;
    if (sh->ntoken && (wait < 0 || wait > 10)) wait = 10;   /* a refresh owned elsewhere */
    if (limit_ms >= 0 && (wait < 0 || wait > limit_ms)) wait = limit_ms;
    zl_bio_wait(&sh->io, wait);           /* ready sockets, libcurl's timeout, wake-ups */
    reap(sh);
    start_pending(sh);                    /* freed places carry queued requests first... */
    push_out(sh);
    feed_finished(sh);                    /* ...then the replies are parsed */
    return settle(sh) == 0;               /* and their items finish */
}

void *zl_shard_main(void *arg) {
    zl_shard *sh = arg;
    while (zl_shard_turn(sh, -1)) {}
    return NULL;
}

/* ------------------------------------------------------------ life */

int zl_shard_init(zl_shard *sh, zl_batch *b, int index) {
    memset(sh, 0, sizeof *sh);
    sh->b = b;
    sh->wake[0] = sh->wake[1] = -1;
    if (pipe(sh->wake)) {
        sh->wake[0] = sh->wake[1] = -1;
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(sh->wake[i], F_SETFL, fcntl(sh->wake[i], F_GETFL) | O_NONBLOCK);
        fcntl(sh->wake[i], F_SETFD, FD_CLOEXEC);
    }
    if (!(sh->multi = curl_multi_init())) return -1;
    if (zl_bio_init(&sh->io, sh->multi, sh->wake[0])) return -1;
    curl_multi_setopt(sh->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    /* idle connections kept: a shard's share of the window moves with the window, and a
     * connection closed for want of room is a new TCP (and TLS) handshake later */
    curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, (long)b->o.concurrency + 4);
    sh->prng = (uint64_t)(uintptr_t)sh ^ ((uint64_t)zl_shard_now_ms(sh) << 20) ^ (uint64_t)index;
    return 0;
}

void zl_shard_free(zl_shard *sh) {
    while (sh->live) {
        zl_item *it = sh->live;
        if (it->x) {
            curl_multi_remove_handle(sh->multi, zl_xfer_handle(it->x));
            pool_put(sh, it->x);
            it->x = NULL;
        }
        zl_shard_unlink(sh, it);
        zl_item_free(it);                  /* the threads have stopped: no arena to share */
    }
    for (size_t i = 0; i < sh->npool; i++) zl_xfer_free(sh->pool[i]);
    free(sh->pool);
    if (sh->multi) curl_multi_cleanup(sh->multi);
    zl_bio_free(&sh->io);
    for (int i = 0; i < 2; i++)
        if (sh->wake[i] >= 0) close(sh->wake[i]);
    memset(sh, 0, sizeof *sh);
}
