/* bulk_internal.h - the C bulk engine's insides (not public), shared by bulk.c (the public API
 * and the poll loop), bulk_item.c (stepping items: window, transfers, timers, token waits) and
 * bulk_end.c (how an item ends). Everything runs on the caller's thread.
 *
 * An item moves between these states:
 *   READY   in the ready FIFO: its call's next step is not known yet (new, fed, timer fired)
 *   PENDING its call wants to SEND an API request but the window is full (pending FIFO)
 *   XFER    its request is an easy transfer in the multi
 *   TIMER   backing off until due_ms (a timer, not a sleep)
 *   TOKEN   parked until the client's token refresh (owned by another call) completes
 * A call whose step is DONE ends in bulk_end.c: its result goes to the done queue.
 * Token refresh requests bypass the window (they go to the accounts server, not the API). */
#ifndef ZLOCK_BULK_INTERNAL_H
#define ZLOCK_BULK_INTERNAL_H

#include "budget.h"
#include "bulk_done.h"
#include "bulk_io.h"
#include "internal.h"
#include "op_copy.h"
#include "transport_curl.h"
#include "window.h"
#include "zlock_bulk.h"

/* The engine as a holder of the fleet budget (budget.h). While it is usable, a request goes out
 * with a slot of it (granted in batches: spare) instead of a place in the local window; the
 * window still follows the requests, and takes over if Redis fails. */
typedef struct zl_bulk_fleet {
    zl_budget *h;                /* NULL: no budget */
    zl_budget_ticket *spare;     /* slots granted and not used yet */
    int nspare;
    int64_t next_ms;             /* when to ask again after the fleet had no slot */
    int64_t beat_ms;             /* when the lease must be renewed */
    bool waiting;                /* items wait for slots since wait_since */
    int64_t wait_since;
} zl_bulk_fleet;

typedef enum { IT_READY, IT_PENDING, IT_XFER, IT_TIMER, IT_TOKEN } zl_it_state;

/* One accepted operation. */
typedef struct zl_item {
    struct zl_item *prev, *next; /* the list of live items */
    struct zl_item *qnext;       /* ready / pending FIFO */
    uint64_t tag;
    zl_op_copy copy;             /* the operation (restarts build a new call from it) */
    zl_call *call;
    zl_it_state st;
    int64_t due_ms;              /* TIMER */
    uint64_t token_seq;          /* TOKEN */
    zl_xfer *x;                  /* XFER */
    bool token_xfer;
    zl_window_ticket ticket;     /* the API request in flight, as the window knows it */
    zl_budget_ticket fticket;    /* ... and its slot of the fleet budget (seq 0: none) */
    bool slot;                   /* holds a place in the window (ticket) for its next request */
    int64_t accepted_ms;
    int sends;                   /* API requests made for this item (every call) */
    int prior_attempts;          /* those made by calls given up on 429 and restarted */
} zl_item;

struct zl_bulk {
    zl_client *c;
    zl_bulk_opts o;
    zl_window win;               /* AIMD on the API requests in flight (window.c) */
    CURLM *multi;
    zl_bio io;                   /* its sockets and timer (bulk_io.c) */
    zl_item *live;               /* accepted, not finished */
    size_t nlive, ntimer, ntoken;
    zl_item *ready_h, *ready_t, *pend_h, *pend_t;
    bool added;                  /* transfers added since libcurl last ran its timeout (kick) */
    size_t nitems;               /* submitted and not yet returned by poll */
    zl_doneq done;               /* finished items (bulk_done.c) */
    bool halted;                 /* a call ended with an error every item would meet: TOKEN
                                    (the refresh flow is broken) or CREDITS_EXHAUSTED */
    zl_error halt_err;           /* ... and this is why: items not started yet end with it */
    zl_xfer **pool;              /* idle transfer slots */
    size_t npool, pool_cap, nxfers;
    uint64_t prng;
    zl_bulk_stats st;
    size_t npend;                /* items in the pending FIFO */
    zl_bulk_fleet fleet;         /* the org's budget shared through Redis (bulk_fleet.c) */
};

static inline int64_t zl_bulk_now_ms(zl_bulk *b) { return zl_client_mono(b->c); }

static inline void zl_item_fifo_push(zl_item **h, zl_item **t, zl_item *it) {
    it->qnext = NULL;
    if (*t) (*t)->qnext = it; else *h = it;
    *t = it;
}

static inline zl_item *zl_item_fifo_pop(zl_item **h, zl_item **t) {
    zl_item *it = *h;
    if (it) {
        *h = it->qnext;
        if (!*h) *t = NULL;
        it->qnext = NULL;
    }
    return it;
}

/* bulk_item.c */
/* Makes the item's call and adds it to the live items, ready to step. */
void zl_item_start(zl_bulk *b, zl_item *it);
/* Steps what can move: due timers, finished token waits, requests waiting for room, ready
 * items. New transfers join the multi (b->added); libcurl sends them at the next kick. */
void zl_bulk_advance(zl_bulk *b);
/* Collects finished transfers: the window learns from them, their calls are fed. */
void zl_bulk_reap(zl_bulk *b);
/* Milliseconds the loop may wait for I/O before a timer or a token check is due (-1: none). */
long zl_bulk_next_wake(zl_bulk *b);
/* Frees an item with what it holds (its transfer back to the pool). */
void zl_item_free(zl_bulk *b, zl_item *it);

/* bulk_fleet.c */
/* Joins the client's fleet budget, if it has one. 0, or -1 (out of memory). */
int  zl_bulk_fleet_open(zl_bulk *b);
void zl_bulk_fleet_close(zl_bulk *b);
/* True while the budget decides (else: the local window). */
bool zl_bulk_fleet_on(const zl_bulk *b);
/* Takes a spare slot for the item; false when none. */
bool zl_bulk_fleet_take(zl_bulk *b, zl_item *it);
/* The item's slot is unused after all: a spare again. */
void zl_bulk_fleet_unuse(zl_bulk *b, zl_item *it);
/* Its request got a reply (status, or 0: none / says nothing): the slot goes back. */
void zl_bulk_fleet_done(zl_bulk *b, zl_item *it, int signal);
/* Gives back what finished and asks for what pending items need, when due. True when slots
 * were granted. */
bool zl_bulk_fleet_sync(zl_bulk *b);
/* Milliseconds until the fleet needs the loop again (-1: not). */
long zl_bulk_fleet_wake(zl_bulk *b);

/* bulk_end.c: how an item ends */
/* Its call is done: queues the result and lets the item go, or starts the call again
 * (throttled) and keeps it. */
void zl_item_finish(zl_bulk *b, zl_item *it);
/* The engine has halted (see zl_bulk.halted): ends an item that has sent no request yet with
 * that error. True when it did. */
bool zl_item_end_on_halt(zl_bulk *b, zl_item *it);
/* Ends the item with error e (NULL: out of memory) and lets it go. */
void zl_item_conclude_error(zl_bulk *b, zl_item *it, const zl_error *e, int attempts);

#endif
