/* batch_internal.h - the bulk engine's insides, shared by batch.c (the front: the public API,
 * run on the caller's thread) and batch_shard.c (the I/O threads). Not public.
 *
 * Threads. The caller submits items into the front's inbound FIFO and polls finished ones out
 * of its done queue. The I/O is split into `nshards` shards (default 2 on a machine with more
 * than one CPU), each with its own libcurl multi handle, sockets, transfer slots and items.
 * Shard 0 is driven by the caller's thread inside zl_batch_poll (as a one-thread engine is:
 * no hand-over, no extra thread when nshards is 1); shards 1.. each run on a thread of their
 * own. One shard is enough for the network; a second lets the client use a second CPU
 * (libcurl's per-request work, the call state machine and the caller's own work per result
 * dominate a client on a fast link: one thread could not keep 16 connections busy on a
 * loopback emulator, see bench/bulk_throughput.sh). A design with every shard on its own
 * thread and the caller only handing items over was tried and measured slower: the hand-over
 * and the extra thread's sleeps and wake-ups cost more than they saved.
 *
 * What is shared, under the front's mutex `mu`: the AIMD window (one window for the whole
 * engine: the org's limit is one number, whichever shard sends), the inbound FIFO, the done
 * queue, the counters, the token failure, and each shard's `npend` / `hungry` flags. The
 * client (zl_client) is thread-safe by itself. Everything else of a shard is its thread's own.
 *
 * Sharing out the work: a shard pulls items from the inbound FIFO while it holds fewer active
 * items (not waiting on a timer or the token) than its share of the window, ceil(window /
 * nshards), and no shard has requests waiting for room (those go first). A shard blocks in
 * poll() on its sockets plus a wake pipe; the front writes to the pipe when it has work for
 * it: new items for a shard that asked for more (`hungry`), room in the window for a shard
 * with requests waiting (`npend`), the end (`stop`), or, for shard 0 while the caller waits
 * in zl_batch_poll, a batch of results finished by the other shards.
 */
#ifndef ZLOCK_BATCH_INTERNAL_H
#define ZLOCK_BATCH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include "batch_done.h"
#include "batch_io.h"
#include "internal.h"
#include "op_copy.h"
#include "transport_curl.h"
#include "window.h"
#include "zlock_batch.h"

typedef enum { IT_READY, IT_PENDING, IT_XFER, IT_TIMER, IT_TOKEN } zl_it_state;

/* One accepted operation, owned by the front while inbound, then by one shard. */
typedef struct zl_item {
    struct zl_item *prev, *next; /* the shard's list of live items */
    struct zl_item *qnext;       /* inbound / ready / pending / finished FIFO */
    uint64_t tag;
    zl_op_copy copy;             /* the operation (restarts build a new call from it) */
    zl_call *call;
    zl_it_state st;
    int64_t due_ms;              /* TIMER */
    uint64_t token_seq;          /* TOKEN */
    zl_xfer *x;                  /* XFER (and finished, until fed) */
    bool token_xfer;
    int f_status;                /* finished transfer, not fed yet */
    const char *f_body;
    size_t f_len;
    zl_transport_error f_te;
    long f_credits;              /* its X-API-CREDITS-REMAINING on a 429 (-1: none; read once) */
    zl_window_ticket ticket;     /* the API request in flight, as the window knows it */
    int64_t accepted_ms;
    bool started;                /* its call has been stepped at least once */
    bool slot;                   /* holds a place in the window (ticket) for its next request */
    int sends;                   /* API requests made for this item (every call) */
    int prior_attempts;          /* those made by calls given up on 429 and restarted */
} zl_item;

static inline void zl_fifo_push(zl_item **h, zl_item **t, zl_item *it) {
    it->qnext = NULL;
    if (*t) (*t)->qnext = it; else *h = it;
    *t = it;
}

static inline zl_item *zl_fifo_pop(zl_item **h, zl_item **t) {
    zl_item *it = *h;
    if (it) {
        *h = it->qnext;
        if (!*h) *t = NULL;
        it->qnext = NULL;
    }
    return it;
}

typedef struct zl_shard {
    zl_batch *b;
    pthread_t thread;
    bool running;                /* the thread was started (joined at free) */
    int wake[2];                 /* pipe: the front writes a byte, poll() wakes */
    /* shared, under b->mu */
    int npend;                   /* items in this shard's pending FIFO */
    bool hungry;                 /* it could take more items: wake it when some arrive */
    bool woken;                  /* a byte is in its wake pipe already */
    /* the shard thread's own */
    CURLM *multi;
    zl_bio io;
    zl_item *live;
    zl_item *ready_h, *ready_t, *pend_h, *pend_t, *fin_h, *fin_t;
    size_t nlive, ntimer, ntoken;
    bool added;
    zl_xfer **pool;              /* idle transfer slots */
    size_t npool, pool_cap, nxfers;
    uint64_t prng;
} zl_shard;

struct zl_batch {
    zl_client *c;
    zl_batch_opts o;
    pthread_mutex_t mu;
    /* under mu */
    zl_window win;               /* AIMD on the API requests in flight (window.c) */
    zl_item *in_h, *in_t;        /* accepted, not taken by a shard yet */
    size_t nitems;               /* submitted and not yet returned by poll */
    zl_doneq done;               /* finished items (batch_done.c) */
    atomic_size_t ndone;         /* its length, for zl_batch_due to read without mu */
    bool stop;
    size_t caller_wants;         /* the caller waits in shard 0's poll for this many items
                                    finished by the other shards (0: it does not wait); it is
                                    woken earlier when the inbound FIFO runs dry */
    atomic_bool halted;          /* a call ended with an error every item would meet: TOKEN
                                    (the refresh flow is broken) or CREDITS_EXHAUSTED (the org's
                                    credits are spent); set under mu, read without it first */
    zl_error halt_err;           /* ... and this is why: items not started yet end with it */
    zl_item *dead_h, *dead_t;    /* finished on another thread than the caller's: freed by the
                                    caller, which allocated them (see retire in batch_shard.c) */
    zl_batch_stats st;
    int64_t looked_us;           /* the caller's thread: when its last poll turned shard 0 */
    /* fixed after new */
    int nshards;
    zl_shard sh[ZL_BATCH_MAX_THREADS];
};

/* batch_shard.c */
/* Sets up a shard (multi handle, wake pipe). 0, or -1 (out of memory / descriptors). */
int   zl_shard_init(zl_shard *s, zl_batch *b, int index);
/* One turn of a shard: step, take items, start transfers, wait for I/O at most limit_ms
 * (-1: no limit; 0: just look), collect replies, step again. False when b->stop is set. */
bool  zl_shard_turn(zl_shard *s, long limit_ms);
/* The thread of shards 1.. (arg: zl_shard *): turns until b->stop is set. */
void *zl_shard_main(void *arg);
/* Frees what the shard holds (its thread has ended or never started). */
void  zl_shard_free(zl_shard *s);
/* Wakes the shard's thread unless a wake-up is pending already (mu held). */
void  zl_shard_wake_locked(zl_shard *s);

/* Small helpers of batch_shard.c and batch_end.c. */
static inline void zl_shard_lock(zl_shard *sh) { pthread_mutex_lock(&sh->b->mu); }
static inline void zl_shard_unlock(zl_shard *sh) { pthread_mutex_unlock(&sh->b->mu); }
static inline int64_t zl_shard_now_ms(zl_shard *sh) { return zl_client_mono(sh->b->c); }
static inline void zl_shard_count(zl_shard *sh, unsigned long *counter) {
    zl_shard_lock(sh);
    (*counter)++;
    zl_shard_unlock(sh);
}
/* Takes an item out of the shard's live list. */
static inline void zl_shard_unlink(zl_shard *sh, zl_item *it) {
    if (it->prev) it->prev->next = it->next; else sh->live = it->next;
    if (it->next) it->next->prev = it->prev;
    sh->nlive--;
}

/* batch_end.c: how an item of a shard ends */
/* Its call is done: hands the result to the caller and lets the item go, or starts the call
 * again (throttled) and keeps it. */
void  zl_shard_finish(zl_shard *sh, zl_item *it);
/* A call made the engine halt (see zl_batch.halted): ends the item with that error, before
 * any request of its own. True when it did. */
bool  zl_shard_end_on_halt(zl_shard *sh, zl_item *it);
/* Ends an item that is in no list of the shard with error e. */
void  zl_shard_conclude_error(zl_shard *sh, zl_item *it, const zl_error *e, int attempts);

/* batch.c, for the shards (mu held) */
/* Queues a finished item for the caller (from: the shard that finished it, NULL on the
 * caller's thread); wakes the caller if it waits for it. */
void  zl_batch_deliver_locked(zl_batch *b, const zl_batch_result *r, const zl_shard *from);
/* Wakes the other shards that can use room in the window or items waiting. */
void  zl_batch_wake_others_locked(zl_batch *b, const zl_shard *self);
/* Frees an item that never reached (or left) a shard. */
void  zl_item_free(zl_item *it);

#endif
