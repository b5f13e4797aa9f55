/* bulk_item.c - stepping the C bulk engine's items (see bulk_internal.h for their states):
 * places in the window, transfers in the multi, timers and token waits. */
#include <stdlib.h>
#include <string.h>
#include "bulk_internal.h"

static void make_ready(zl_bulk *b, zl_item *it) {
    it->st = IT_READY;
    zl_item_fifo_push(&b->ready_h, &b->ready_t, it);
}

/* ------------------------------------------------------------ the window */

/* Takes a place in the window for the item's next API request, if there is one. */
static bool slot_take(zl_bulk *b, zl_item *it) {
    if (zl_bulk_fleet_on(b) ? !zl_bulk_fleet_take(b, it) : !zl_window_room(&b->win)) return false;
    it->ticket = zl_window_sent(&b->win);
    it->slot = true;
    b->st.requests++;
    return true;
}

/* Gives back a place taken for a request that did not go out after all. */
static void slot_drop(zl_bulk *b, zl_item *it) {
    if (!it->slot) return;
    it->slot = false;
    zl_window_done(&b->win, it->ticket, false, 0);
    zl_bulk_fleet_unuse(b, it);
    b->st.requests--;
}

/* ------------------------------------------------------------ transfers */

static zl_xfer *pool_get(zl_bulk *b) {
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

static void pool_put(zl_bulk *b, zl_xfer *x) { b->pool[b->npool++] = x; }

/* Adds the SEND as a transfer. False when refused at once (the call was fed or cancelled:
 * step it again). An API request holds its window place already. */
static bool start(zl_bulk *b, zl_item *it, const zl_step *s) {
    zl_xfer *x = pool_get(b);
    if (!x) {
        zl_call_cancel(it->call, "INTERNAL", "could not create a libcurl handle");
        return false;
    }
    if (zl_xfer_prepare(x, s)) {
        pool_put(b, x);
        zl_call_feed(it->call, 0, NULL, 0, ZL_TERR_OTHER);
        if (s->is_token_request) zl_call_token_share_after(it->call);
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
    it->slot = false;              /* the place is the transfer's now (see zl_bulk_reap) */
    it->sends++;
    return true;
}

void zl_bulk_reap(zl_bulk *b) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(b->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *e = m->easy_handle;
        CURLcode rc = m->data.result;          /* m is invalid after remove_handle */
        char *priv = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        zl_item *it = (zl_item *)(void *)priv;
        curl_multi_remove_handle(b->multi, e);
        unsigned long before = zl_xfer_connects(it->x);
        int status;
        const char *body;
        size_t len;
        zl_transport_error te;
        zl_xfer_finish(it->x, rc, &status, &body, &len, &te);
        long credits = zl_xfer_credits(it->x, status);
        b->st.connects += zl_xfer_connects(it->x) - before;
        if (!it->token_xfer) {
            /* a 429 saying the credits are spent says nothing about concurrency: no cut, no growth */
            bool spent = status == 429 && credits == 0;
            zl_window_done(&b->win, it->ticket, te == ZL_TERR_NONE && !spent, status);
            zl_bulk_fleet_done(b, it, zl_budget_signal(status, te, credits));
        }
        zl_call_feed_credits(it->call, credits);
        zl_call_feed(it->call, status, body, len, te);   /* copies what it keeps */
        if (it->token_xfer) zl_call_token_share_after(it->call);   /* token stores: zlock.h */
        pool_put(b, it->x);
        it->x = NULL;
        make_ready(b, it);
    }
}

/* ------------------------------------------------------------ stepping */

static void step(zl_bulk *b, zl_item *it) {
    for (;;) {
        zl_step s;
        zl_call_next(it->call, &s);
        switch (s.kind) {
        case ZL_STEP_DONE:
            slot_drop(b, it);
            zl_call_token_share_after(it->call);   /* a cancelled refresh's store lock */
            zl_item_finish(b, it);
            return;
        case ZL_STEP_WAIT:
            slot_drop(b, it);
            b->st.retries++;
            if (s.wait_ms <= 0) continue;
            it->due_ms = zl_bulk_now_ms(b) + s.wait_ms;
            it->st = IT_TIMER;
            b->ntimer++;
            return;
        case ZL_STEP_WAIT_TOKEN:
            slot_drop(b, it);
            it->token_seq = s.token_seq;
            it->st = IT_TOKEN;
            b->ntoken++;
            return;
        case ZL_STEP_SEND:
            if (it->sends == 0 && b->halted) {   /* before its first request */
                slot_drop(b, it);
                zl_item_end_on_halt(b, it);
                return;
            }
            if (s.is_token_request) {
                slot_drop(b, it);
                /* a stored token saves the request; this may block the engine briefly (a file
                   lock or a Redis round trip, bounded by the client's timeouts) */
                if (zl_call_token_share_before(it->call) == ZL_SHARE_FED) continue;
            } else if (!it->slot && !slot_take(b, it)) {
                it->st = IT_PENDING;
                zl_item_fifo_push(&b->pend_h, &b->pend_t, it);
                b->npend++;
                return;
            }
            if (start(b, it, &s)) return;
            slot_drop(b, it);                  /* refused at once: step again */
            continue;
        }
    }
}

/* Timers that are due and token waits that are over (the refresh an item waits for ended, or
 * none is under way) make their items ready. */
static void wake_waiting(zl_bulk *b) {
    if (!b->ntimer && !b->ntoken) return;
    int64_t now = zl_bulk_now_ms(b);
    uint64_t seq = 0;
    bool refreshing = false;
    if (b->ntoken) zl_client_refresh_state(b->c, &seq, &refreshing);
    for (zl_item *it = b->live; it; it = it->next) {
        if (it->st == IT_TIMER && it->due_ms <= now) {
            b->ntimer--;
            make_ready(b, it);
        } else if (it->st == IT_TOKEN && (seq != it->token_seq || !refreshing)) {
            b->ntoken--;
            make_ready(b, it);
        }
    }
}

void zl_bulk_advance(zl_bulk *b) {
    wake_waiting(b);
    /* what is ready first (fed replies end, and may halt the engine, before anything new is
     * sent; retries are older than what waits for room), then requests waiting for room, in order */
    zl_item *it;
    while ((it = zl_item_fifo_pop(&b->ready_h, &b->ready_t))) step(b, it);
    for (int round = 0; round < 2; round++) {
        while (b->pend_h && slot_take(b, b->pend_h)) {
            b->npend--;
            step(b, zl_item_fifo_pop(&b->pend_h, &b->pend_t));
        }
        /* the fleet budget: slots given back, more asked for what still waits */
        if (round || !zl_bulk_fleet_sync(b)) break;
    }
}

long zl_bulk_next_wake(zl_bulk *b) {
    long wait = -1;
    if (b->ntimer) {
        int64_t best = INT64_MAX, now = zl_bulk_now_ms(b);
        for (zl_item *it = b->live; it; it = it->next)
            if (it->st == IT_TIMER && it->due_ms < best) best = it->due_ms;
        wait = best <= now ? 0 : (long)(best - now);
    }
    if (b->ntoken && (wait < 0 || wait > 10)) wait = 10;   /* a refresh owned elsewhere */
    long fw = zl_bulk_fleet_wake(b);
    if (fw >= 0 && (wait < 0 || fw < wait)) wait = fw;
    return wait;
}

/* ------------------------------------------------------------ life */

void zl_item_start(zl_bulk *b, zl_item *it) {
    zl_error e = {0};
    it->accepted_ms = zl_bulk_now_ms(b);
    it->next = b->live;
    if (b->live) b->live->prev = it;
    b->live = it;
    b->nlive++;
    if (!(it->call = zl_call_new(b->c, &it->copy.op, &e))) {
        zl_item_conclude_error(b, it, &e, 0);   /* invalid: a failed item, before any request */
        zl_error_clear(&e);
        return;
    }
    make_ready(b, it);
}

void zl_item_free(zl_bulk *b, zl_item *it) {
    if (it->prev) it->prev->next = it->next; else if (b->live == it) b->live = it->next;
    if (it->next) it->next->prev = it->prev;
    b->nlive--;
    if (it->x) {
        curl_multi_remove_handle(b->multi, zl_xfer_handle(it->x));
        pool_put(b, it->x);
    }
    zl_call_free(it->call);
    zl_op_copy_free(&it->copy);
    free(it);
}
