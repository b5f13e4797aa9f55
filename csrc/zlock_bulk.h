/*
 * zlock_bulk.h - the C bulk engine: many zl_calls in flight on one client, on one libcurl multi
 * handle, with adaptive concurrency. Plain C, no Lua, no callbacks, no threads, no global
 * state: everything runs on the caller's thread, inside zl_bulk_submit and zl_bulk_poll. One
 * engine is used from one thread at a time.
 *
 *     zl_bulk_opts o; zl_bulk_opts_init(&o); o.concurrency = 16;
 *     zl_bulk *b = zl_bulk_new(client, &o, &err);
 *     for each op:  while (!zl_bulk_submit(b, &op, tag)) drain(b);
 *     while (zl_bulk_inflight(b)) drain(b);
 *     zl_bulk_free(b);
 *   with drain(b):
 *     zl_bulk_result r[64];
 *     size_t n = zl_bulk_poll(b, 100, r, 64);
 *     for (i < n) { r[i].tag, r[i].ok ? r[i].body / r[i].lock_id : r[i].err.code ...;
 *                   zl_bulk_result_clear(&r[i]); }
 *
 * How a call is driven: SEND -> an easy transfer in the multi (keep-alive connections reused,
 * HTTP/2 multiplexed when the server offers it); WAIT -> a timer (never a sleep); WAIT_TOKEN ->
 * parked until the client's refresh completes (the refresh is another call's SEND, outside
 * the concurrency window); DONE -> the result is queued for zl_bulk_poll.
 *
 * Adaptive concurrency: the number of API requests in flight follows an AIMD window (window.h):
 * slow start from `initial`, a cut to window * `decrease` on a 429 (once per overshoot), slow
 * growth back, settling just under the org's limit without being told it.
 * 429 retries: the call's own retry rules apply. When a call that met at least one 429 ends with
 * a retryable error because its attempts ran out, the engine starts the same operation again
 * as a fresh call after a jittered pause, while the item is younger than `throttle_budget_ms`:
 * throttling slows a run down instead of failing items.
 * Fleet budget: when the client has one (a Redis URL; budget.h), the org's in-flight limit is
 * shared with every other process and host: a request goes out with a slot of it instead of
 * a place in the local window, and the AIMD window lives in Redis for the whole fleet.
 * Halt: once a call ends with a final TOKEN error or CREDITS_EXHAUSTED, items not started yet
 * end with that same error without a request.
 */
#ifndef ZLOCK_BULK_H
#define ZLOCK_BULK_H

#include "zlock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zl_bulk zl_bulk;

/* Limits of the options below (inclusive). */
#define ZL_BULK_MAX_CONCURRENCY 1024
#define ZL_BULK_MAX_THREADS 16   /* threads is ignored; callers' values up to this stay accepted */

typedef struct zl_bulk_opts {
    int    concurrency;          /* max API requests in flight (default 10, 1..ZL_BULK_MAX_CONCURRENCY) */
    int    initial;              /* starting window (default min(concurrency, 4)) */
    double decrease;             /* window factor on a 429 (default 0.7; 0.1..0.95) */
    int    probe;                /* windows of replies per +1 at the limit estimate (default 8;
                                    doubles each time a probe meets the same ceiling) */
    int    capacity;             /* items accepted at once; 0 = 2 * window + 8 (at most 2 * concurrency + 8) */
    long   throttle_budget_ms;   /* restart throttled calls for this long (default 300000; 0 = never) */
    long   throttle_pause_ms;    /* max pause before such a restart (default 2000; full jitter) */
    int    threads;              /* deprecated, ignored: the engine runs on the caller's thread */
    bool   lean;                 /* lock / update / unlock successes come without their reply
                                    body (body NULL, body_len 0): the lock id is all they need */
} zl_bulk_opts;

/* One finished item, copied out of its call (owns body and err.details). */
typedef struct zl_bulk_result {
    uint64_t tag;                /* as given to zl_bulk_submit */
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
} zl_bulk_result;

typedef struct zl_bulk_stats {
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
    int threads;                 /* always 1 (kept for callers that read it) */
    /* the fleet budget (with a Redis URL: one in-flight limit for every process on the org) */
    unsigned long slot_waits;    /* times requests waited for the fleet's slots */
    unsigned long slot_wait_ms;  /* ... and for how long in all */
    int fleet_limit;             /* the fleet's limit: given, or learned (0 without a budget) */
    int fleet_source;            /* 0 local window (no budget, or Redis failed), 1 learned, 2 given */
    int fleet_holders;           /* processes / engines sharing it, as last seen */
} zl_bulk_stats;

void zl_bulk_opts_init(zl_bulk_opts *o);

/* NULL and *err (INVALID_ARGUMENT / INTERNAL) on bad options or no memory. Keeps a reference
 * to the client. */
zl_bulk *zl_bulk_new(zl_client *c, const zl_bulk_opts *o, zl_error *err);

/* Accepts an operation (copied) and sends it if the window has room. Returns false when full
 * (poll first). An invalid op is accepted and comes back from poll as a failed item
 * (INVALID_ARGUMENT), like every other: each accepted item is returned by poll exactly once. */
bool zl_bulk_submit(zl_bulk *b, const zl_op *op, uint64_t tag);

/* Drives the I/O for up to timeout_ms (0: one look without waiting), returning early as soon
 * as something finished or nothing is left to do. Writes up to max finished items to out and
 * returns how many (the rest stay queued for the next poll). */
size_t zl_bulk_poll(zl_bulk *b, long timeout_ms, zl_bulk_result *out, size_t max);

/* Items submitted and not yet returned by poll. */
size_t zl_bulk_inflight(const zl_bulk *b);

/* Whether finished items wait for zl_bulk_poll. A caller that submits faster than replies
 * come may skip polling while this is false and poll when the engine is full: submit sends
 * what the window allows by itself, and replies wait in the sockets meanwhile. */
bool zl_bulk_due(const zl_bulk *b);

void zl_bulk_stats_get(const zl_bulk *b, zl_bulk_stats *st);

/* Frees body and error of a result (zeroes it). */
void zl_bulk_result_clear(zl_bulk_result *r);

/* Abandons whatever is in flight and frees everything (NULL is fine). */
void zl_bulk_free(zl_bulk *b);

#ifdef __cplusplus
}
#endif
#endif /* ZLOCK_BULK_H */
