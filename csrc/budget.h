/* budget.h - the fleet budget: one in-flight limit for a whole org, shared through Redis by
 * every process and host (the script and its rules: budget_script.c). A holder takes slots
 * before its API requests go out and gives them back with what the reply said; its slots are
 * leases, freed if it dies. A client configured with a Redis URL (and org_budget not off) has
 * one budget setting; each bulk engine is a holder of class "bulk", the client's calls made
 * one at a time share one holder of class "interactive".
 *
 * Redis that fails: one warning on stderr, then the holder is unusable and its driver goes on
 * with its own window (zl_budget_take returns -1). Never blocks longer than its timeouts
 * (at most 2 s per Redis round trip). */
#ifndef ZLOCK_BUDGET_H
#define ZLOCK_BUDGET_H

#include <stdbool.h>
#include <stdint.h>
#include "zlock.h"

#define ZL_BUDGET_LEASE_MS 3000        /* a dead holder's slots are freed after this */
#define ZL_BUDGET_HEARTBEAT_MS 1000    /* a live holder renews its lease this often */
#define ZL_BUDGET_REDIS_MS 2000        /* a Redis slower than this (connect, a reply) is worse than
                                          none: the holder falls back to its own window */

extern const char zl_budget_script[];

/* The client's budget settings (client.c keeps them; budget.c reads them). */
typedef struct zl_budget_conf {
    char *url;                 /* redis[s]://... */
    char key[80];              /* "zlock:budget:{<org>}" */
    int limit;                 /* given limit; 0: learned */
    double reserve;            /* 0..0.9 */
    char *ca_file;
    long connect_ms, io_ms;
    long call_ms;              /* the client's request timeout: a blocking holder's lease */
    bool calls_bulk;           /* org_priority "bulk": one-at-a-time calls are bulk work */
    _Atomic int *warned;       /* one warning per client when Redis fails (every holder) */
} zl_budget_conf;

/* A slot a request went out with. seq 0: none (no budget, or sent without one). */
typedef struct zl_budget_ticket { uint64_t seq; int level; } zl_budget_ticket;

typedef struct zl_budget_info {
    int limit;                 /* the fleet's limit (given, or the learned window) */
    int estimate;              /* the lowest in-flight level a 429 met, - 1 (0: none yet) */
    bool given;
    int holders;               /* live holders, this one included */
    unsigned long throttled;   /* 429s the fleet reported */
    bool usable;               /* false once Redis failed (then: the local window) */
} zl_budget_info;

typedef struct zl_budget zl_budget;

/* Settings from cfg (NULL *out when the client has no budget). 0, or -1 and *err. */
int  zl_budget_conf_new(const zl_config *cfg, const char *org_key, zl_budget_conf **out, zl_error *err);
void zl_budget_conf_free(zl_budget_conf *bc);

/* A holder (NULL when out of memory). cap: the most slots it may hold; blocking: its calls
 * hold their slot through one blocking request (its lease is then the client's timeout, as it
 * cannot renew it meanwhile). */
zl_budget *zl_budget_new(const zl_budget_conf *bc, bool interactive, bool blocking, int cap);
/* Gives back what was queued (zl_budget_give) and asks for `more` slots: the number granted
 * (0..more; tickets in out), or -1 when the budget is unusable. */
int  zl_budget_take(zl_budget *b, int more, zl_budget_ticket *out);
/* Queues a slot to give back with what came of its request: status 429 (over the limit), 0
 * (no reply: says nothing), else admitted. Sent with the next take. */
void zl_budget_give(zl_budget *b, zl_budget_ticket t, int status);
/* What a request's reply says about the org's limit, as zl_budget_give takes it: the status,
 * or 0 for no reply and for a 429 saying the daily credits are spent (not concurrency). */
static inline int zl_budget_signal(int status, zl_transport_error te, long credits) {
    return te != ZL_TERR_NONE || (status == 429 && credits == 0) ? 0 : status;
}
/* Slots queued to give back. */
int  zl_budget_queued(const zl_budget *b);
bool zl_budget_usable(const zl_budget *b);
void zl_budget_info_get(const zl_budget *b, zl_budget_info *out);
/* Leaves the fleet (its slots are freed at once) and frees it. NULL is fine. */
void zl_budget_free(zl_budget *b);

#endif
