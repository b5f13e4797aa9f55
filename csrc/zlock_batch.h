/*
 * zlock_batch.h - the bulk engine: many zl_calls in flight on one client, driven by libcurl's
 * multi interface, with adaptive concurrency. Plain C, no Lua, no callbacks, no global state.
 * The I/O runs on the engine's own threads (`threads`, default 2 with a second CPU), each
 * with its own multi handle, under one shared window; the caller's thread only submits and
 * polls (see batch_internal.h). One engine is used from one thread at a time.
 *
 *     zl_batch_opts o; zl_batch_opts_init(&o); o.concurrency = 16;
 *     zl_batch *b = zl_batch_new(client, &o, &err);
 *     for each op:  while (!zl_batch_submit(b, &op, tag)) drain(b);
 *     while (zl_batch_inflight(b)) drain(b);
 *     zl_batch_free(b);
 *   with drain(b):
 *     zl_batch_result r[64];
 *     size_t n = zl_batch_poll(b, 100, r, 64);
 *     for (i < n) { r[i].tag, r[i].ok ? r[i].body / r[i].lock_id : r[i].err.code ...;
 *                   zl_batch_result_clear(&r[i]); }
 *
 * How a call is driven: SEND -> an easy transfer added to its thread's multi (a pool of easy
 * handles, all in one multi: keep-alive connections are reused across slots, HTTP/2 multiplexed when
 * the server offers it); WAIT -> a timer (never a sleep); WAIT_TOKEN -> parked until the
 * client's refresh completes (the refresh is another call's SEND with is_token_request,
 * performed by the multi like any transfer, outside the concurrency window); DONE -> the
 * result is copied out and queued for zl_batch_poll.
 *
 * Adaptive concurrency (AIMD on the number of API requests in flight):
 *   window starts at `initial` (default min(concurrency, 4)) in slow start: +1 per admitted
 *   reply (doubling per round trip) until the first 429; then +1 per window of admitted
 *   replies (+1 per round trip), and only +1 per `probe` windows once at the limit estimate
 *   (the lowest in-flight level a 429 answered, minus one), so it settles just under the
 *   org's limit; each probe that meets the same ceiling again doubles that pace (up to 256
 *   windows), so a long run at the limit sees few 429s; probing two above the estimate
 *   without a 429 means the limit went up, and the estimate follows.
 *   A 429 TOO_MANY_REQUESTS cuts the window to window * decrease (default 0.7, at least 1),
 *   at most once per overshoot: only a 429 to a request sent after the last cut cuts again,
 *   so a burst of 429s from one overshoot does not collapse the window to 1.
 *   Growth needs evidence: a reply grows the window only if it was full at some point since
 *   that request went out. The window itself is csrc/window.c (pure, tested alone).
 * 429 retries: the call's own retry rules apply (backoff with full jitter; a 429 is never
 * applied, so nothing is reconciled). When a call that met at least one 429 ends with a
 * retryable error because its attempt count or time ran out (TOO_MANY_REQUESTS, or a lost
 * reply after five 429s), the batch starts the same operation again as a fresh call after a
 * jittered pause, as long as the item is younger than `throttle_budget_ms` (default 5
 * minutes): throttling is bounded by time, not by count, so an org running at its limit slows
 * the run down instead of failing items.
 * An error every item would meet halts the batch: once a call ends with a final TOKEN error
 * (the token endpoint refused, or there is no usable token) or with CREDITS_EXHAUSTED (a 429
 * saying the org has 0 API credits left), items not started yet end with that same error
 * without a request, instead of each asking the token endpoint or the spent API again.
 */
#ifndef ZLOCK_BATCH_H
#define ZLOCK_BATCH_H

#include "zlock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zl_batch zl_batch;

/* Limits of the options below (inclusive). */
#define ZL_BATCH_MAX_CONCURRENCY 1024
#define ZL_BATCH_MAX_THREADS 16

typedef struct zl_batch_opts {
    int    concurrency;          /* max API requests in flight (1..ZL_BATCH_MAX_CONCURRENCY) */
    int    initial;              /* starting window (default min(concurrency, 4)) */
    double decrease;             /* window factor on a 429 (default 0.7; 0.1..0.95) */
    int    probe;                /* windows of replies per +1 at the limit estimate (default 8;
                                    doubles each time a probe meets the same ceiling) */
    int    capacity;             /* items accepted at once; 0 = 2 * window + 8 (at most 2 * concurrency + 8) */
    long   throttle_budget_ms;   /* restart throttled calls for this long (default 300000; 0 = never) */
    long   throttle_pause_ms;    /* max pause before such a restart (default 2000; full jitter) */
    int    threads;              /* I/O threads (0 = automatic: 2 with more than one CPU, else 1;
                                    at most 16, never more than concurrency) */
    bool   lean;                 /* lock / update / unlock successes come without their reply
                                    body (body NULL, body_len 0): the lock id is all they need */
} zl_batch_opts;

/* One finished item, copied out of its call (owns body and err.details). */
typedef struct zl_batch_result {
    uint64_t tag;                /* as given to zl_batch_submit */
    zl_op_kind kind;
    bool ok;
    zl_outcome outcome;          /* the call's (zl_result.outcome; FAILED when !ok) */
    bool ambiguous;              /* zl_result.ambiguous */
    /* ok: the deciding reply (see zl_result); ALREADY_ outcomes: their `why` in err */
    int http_status;
    char *body;                  /* NUL-terminated, malloc'd ("" when none; NULL with lean) */
    size_t body_len;
    char lock_id[ZL_ID_MAX + 1]; /* "" when none */
    bool reconciled;
    int attempts;                /* HTTP requests over every restart (token refreshes excluded) */
    /* !ok, or the `why` of an ALREADY_ outcome */
    zl_error err;
} zl_batch_result;

typedef struct zl_batch_stats {
    int window;                  /* current concurrency limit (whole requests) */
    int max;                     /* configured maximum */
    int limit_estimate;          /* lowest in-flight level a 429 met, - 1 (0: none yet; window.h) */
    size_t items;                /* submitted and not yet returned by poll */
    int requests_inflight;       /* API requests in flight now */
    int max_inflight;            /* most API requests in flight at once */
    unsigned long requests;      /* API requests made */
    unsigned long token_requests;/* token refresh requests made */
    unsigned long throttled;     /* 429 replies */
    unsigned long retries;       /* backoff waits (any reason, incl. 429) */
    unsigned long restarts;      /* calls started again after running out of attempts on 429 */
    unsigned long cuts;          /* multiplicative decreases */
    unsigned long connects;      /* TCP connections opened */
    unsigned long finished;      /* items finished */
    int threads;                 /* I/O threads running */
} zl_batch_stats;

void zl_batch_opts_init(zl_batch_opts *o);

/* NULL and *err (INVALID_ARGUMENT / INTERNAL) on bad options or no memory. Keeps a reference
 * to the client. */
zl_batch *zl_batch_new(zl_client *c, const zl_batch_opts *o, zl_error *err);

/* Accepts an operation (copied). Returns false when full (poll first). An invalid op is
 * accepted and comes back from poll as a failed item (INVALID_ARGUMENT), like every other:
 * each accepted item is returned by poll exactly once. The I/O threads start it at once. */
bool zl_batch_submit(zl_batch *b, const zl_op *op, uint64_t tag);

/* Waits up to timeout_ms (0: not at all) for finished items, returning early as soon as
 * something finished or nothing is left to do. Writes up to max finished items to out and
 * returns how many (the rest stay queued for the next poll). */
size_t zl_batch_poll(zl_batch *b, long timeout_ms, zl_batch_result *out, size_t max);

/* Items submitted and not yet returned by poll. */
size_t zl_batch_inflight(const zl_batch *b);

/* Whether a zl_batch_poll(b, 0, ...) now would do anything: finished items are waiting, or the
 * caller's thread is due to turn its share of the I/O. A caller that polls without waiting
 * after every submit can skip the polls this says are empty. */
bool zl_batch_due(const zl_batch *b);

void zl_batch_stats_get(const zl_batch *b, zl_batch_stats *st);

/* Frees body and error of a result (zeroes it). */
void zl_batch_result_clear(zl_batch_result *r);

/* Abandons whatever is in flight and frees everything (NULL is fine). */
void zl_batch_free(zl_batch *b);

#ifdef __cplusplus
}
#endif
#endif /* ZLOCK_BATCH_H */
