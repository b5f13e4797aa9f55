/* call_internal.h - the call's state, shared by call.c (the state machine) and token.c
 * (how a call gets its token: the single flight of the refresh). Not public. */
#ifndef ZLOCK_CALL_INTERNAL_H
#define ZLOCK_CALL_INTERNAL_H

#include "internal.h"

typedef enum { S_START, S_SENT, S_TOKEN_SENT, S_BACKOFF, S_DONE } call_state;
/* MAIN: the op's own request. The reads a call makes on its own: RECONCILE (LOCK: list the
 * record's locks to find ours), FIND (UNLOCK without a lock id: list them to pick the one). */
typedef enum { PH_MAIN, PH_RECONCILE, PH_FIND } call_phase;

struct zl_call {
    zl_client *c;
    zl_op_kind kind;
    zl_request req;          /* the operation's request */
    zl_request list_req;     /* the record's lock list (RECONCILE, FIND) */
    char *reason;            /* LOCK: to recognise our lock */
    char *given_lock_id;     /* GET_ONE/UPDATE/UNLOCK: the lock id asked for (or FIND found) */
    char *record_id;         /* UNLOCK without a lock id: for the NOT_LOCKED message */
    bool rerun;              /* LOCK: zl_op.rerun */
    bool resends;            /* the transport may re-send on its own (zl_call_transport_resends) */
    call_state state;
    call_phase phase;
    int attempts;            /* HTTP requests (not token refreshes): zl_result.attempts */
    int sends;               /* requests of the op itself (MAIN): what max_attempts bounds */
    int read_fails;          /* failed reads (RECONCILE, FIND) since the last answered one */
    int token_attempts;
    int throttled;           /* attempts answered 429 TOO_MANY_REQUESTS (the concurrency limit) */
    int64_t started_ms;
    bool ambiguous_seen;     /* a previous attempt may have been applied */
    bool refreshed_on_401;
    bool owns_refresh;
    bool waiting_token;
    long credits_left;       /* X-API-CREDITS-REMAINING of the reply about to be fed (-1: none) */
    uint64_t waited_seq;
    uint64_t used_gen;
    zl_error *saved;         /* LOCK: the "already locked" answer while reconciling (rare:
                                allocated then, so the call stays a small allocation) */
    zl_outcome outcome;
    /* the pending step */
    char *url;
    char *auth;              /* "Authorization: Zoho-oauthtoken ..." */
    char *token_body;        /* refresh form (secrets) */
    const char *headers[3];
    size_t nheaders;
    const char *send_method, *send_body;
    bool send_idempotent;
    long wait_ms;
    int wait_attempt;
    bool wait_emitted;
    zl_error *wait_reason;   /* allocated at the first backoff */
    /* outcome */
    bool ok;
    zl_error err;            /* !ok: the error; ALREADY_ outcomes: their `why` */
    char *body;
    size_t body_len;
    int http_status;
    char lock_id[ZL_ID_MAX + 1];
    bool reconciled;
};

extern const char ZL_CT_JSON[];
extern const char ZL_CT_FORM[];

/* call.c */
void zl_call_scrub(zl_call *call, zl_error *e);
void zl_call_finish_error(zl_call *call, zl_error *e);
/* Ends the call with an outcome (not FAILED); takes *why (ALREADY_ outcomes) when non-NULL. */
void zl_call_finish_ok(zl_call *call, zl_outcome outcome, int status, const char *body, size_t len,
                       const char *lock_id, bool reconciled, zl_error *why);
bool zl_call_oom_fail(zl_call *call);
void zl_call_backoff_or_fail(zl_call *call, zl_error *e, int failed);

/* call_phase.c: the reads a call makes on its own */
/* A LOCK answered 403 "already locked" (takes *e): reconcile, or end ALREADY_LOCKED. */
void zl_call_already_locked(zl_call *call, int status, const char *body, size_t len, zl_error *e);
/* A read (RECONCILE / FIND) was answered with a lock list (len 0: no lock): decides what next. */
void zl_call_read_answered(zl_call *call, int status, const char *body, size_t len);

/* token.c */
typedef enum { TK_OK, TK_REFRESH, TK_WAIT, TK_FAIL } zl_token_verdict;
void zl_call_release_refresh(zl_call *call, bool failed, const zl_error *e);
zl_token_verdict zl_call_token_check(zl_call *call, zl_error *e);
bool zl_call_prepare_token_send(zl_call *call);
void zl_call_feed_token_reply(zl_call *call, int status, const char *body, size_t len,
                              zl_transport_error terr);

#endif
