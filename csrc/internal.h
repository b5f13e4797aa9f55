/* internal.h - declarations shared by the core's files (not installed, not public). */
#ifndef ZLOCK_INTERNAL_H
#define ZLOCK_INTERNAL_H

#include <stdarg.h>
#include "zlock.h"

/* ---- growable byte buffer (buf.c) */
typedef struct zl_buf { char *p; size_t len, cap; bool oom; } zl_buf;
void zl_buf_free(zl_buf *b);
void zl_buf_reset(zl_buf *b);
void zl_buf_add(zl_buf *b, const char *s, size_t n);
void zl_buf_adds(zl_buf *b, const char *s);
void zl_buf_addf(zl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* application/x-www-form-urlencoded / query component encoding (RFC 3986 unreserved kept). */
void zl_buf_add_urlenc(zl_buf *b, const char *s);
/* NUL-terminated contents ("" when empty); NULL after an allocation failure. */
const char *zl_buf_str(zl_buf *b);
char *zl_strdup0(const char *s);   /* strdup that accepts NULL */

/* ---- errors (error.c) */
void zl_err_set(zl_error *e, const char *code, int http_status, bool retryable,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Replaces every occurrence of each non-empty secret in e->message and e->details, and a
 * secret's prefix left at the end of a message cut at ZL_MESSAGE_MAX (as if scrubbed before
 * the cut). */
void zl_err_scrub(zl_error *e, const char *const *secrets, size_t n);

/* ---- request building (request.c) */
typedef struct zl_request {
    const char *method;   /* static string */
    char *path;           /* "/crm/v8/Deals/1/Locking_Information__s?fields=..." (malloc'd) */
    char *body;           /* JSON or NULL (malloc'd) */
    bool idempotent;
} zl_request;
/* Validates op and builds the request. 0, or -1 with *err INVALID_ARGUMENT / INTERNAL. */
int  zl_request_build(const zl_op *op, const char *api_version, zl_request *out, zl_error *err);
void zl_request_free(zl_request *r);
/* JSON text of {"data":[{"Locked_Reason__s": reason}]} (malloc'd) */
char *zl_request_reason_body(const char *reason);

/* ---- response classification (response.c) */
typedef enum {
    ZL_OUT_OK,              /* success */
    ZL_OUT_ERROR,           /* final error */
    ZL_OUT_RETRY,           /* retryable, not applied (429, connect failure) */
    ZL_OUT_AMBIGUOUS,       /* retryable, may have been applied (5xx, timeout, dropped reply) */
    ZL_OUT_BAD_TOKEN,       /* 401 INVALID_TOKEN */
    ZL_OUT_ALREADY_LOCKED,  /* 403 NOT_ALLOWED "record is already locked" */
    ZL_OUT_NOT_FOUND        /* 400 INVALID_DATA on the lock id ("relation not found") */
} zl_verdict;

typedef struct zl_classified {
    zl_verdict outcome;
    zl_error err;           /* filled unless OK */
    char lock_id[ZL_ID_MAX + 1];
    bool empty;             /* 204 / no body */
} zl_classified;

/* Classifies one reply (or transport failure) for an op kind. Never fails; a reply it does
 * not understand is BAD_RESPONSE. Caller clears out->err. */
void zl_response_classify(zl_op_kind kind, int status, const char *body, size_t len,
                          zl_transport_error terr, zl_classified *out);
/* What a lock-list reply says about the record's locks ("" when none):
 *   mine: a Manual lock whose reason equals `reason` (NULL: never), our own lock;
 *   held: the lock that holds the record, the one an unlock without a lock id removes: its
 *         Manual lock, else its first lock. */
typedef struct zl_lock_pick { char mine[ZL_ID_MAX + 1], held[ZL_ID_MAX + 1]; } zl_lock_pick;
/* Returns true when the list holds at least one lock. */
bool zl_response_pick(const char *body, size_t len, const char *reason, zl_lock_pick *out);

/* ---- retry policy (retry.c) */
typedef struct zl_retry_policy {
    int max_attempts;
    long max_time_ms, base_delay_ms, max_delay_ms;
} zl_retry_policy;
/* splitmix64 PRNG state (per client). */
uint64_t zl_prng_next(uint64_t *state);
/* Full-jitter delay before attempt `failed + 1`: uniform in [0, min(max, base * 2^(failed-1))]. */
long zl_retry_delay(const zl_retry_policy *p, int failed, uint64_t *prng);
/* True when another attempt is allowed after `failed` attempts, `elapsed_ms` in, waiting delay_ms. */
bool zl_retry_allowed(const zl_retry_policy *p, int failed, long elapsed_ms, long delay_ms);

/* ---- data centres and URLs (dc.c) */
typedef struct zl_dc { const char *name, *accounts, *api_suffix; } zl_dc;
/* Fills accounts / api (https://...) for dc + env. Returns 0, -1 when unknown. */
int  zl_dc_domains(const char *dc, const char *env, char *accounts, size_t an, char *api, size_t apin);
/* Normalises a domain to "scheme://host[:port]" (adds https://, strips trailing '/').
 * Refuses plain http unless the host is loopback. Returns malloc'd string or NULL + reason. */
char *zl_url_normalize(const char *in, const char **why);
bool  zl_host_is_loopback(const char *host, size_t len);
/* True when url is https://..., or http:// to a loopback host. */
bool  zl_url_allowed(const char *url);

/* ---- auth (auth.c): the token state lives in the client, under its mutex */
/* True when t is a usable access token: non-empty, no control characters (CR, LF, ...), so
 * it can never split or extend the Authorization header line. */
bool zl_token_ok(const char *t);
/* Form body of the refresh request (malloc'd; holds secrets). */
char *zl_auth_refresh_body(const char *client_id, const char *client_secret, const char *refresh_token);
typedef struct zl_token_reply {
    char *access_token;   /* malloc'd */
    double expires_in;    /* seconds */
    char *api_domain;     /* malloc'd or NULL */
} zl_token_reply;
/* Parses the token endpoint's reply. 0 and *out, or -1 and *err (TOKEN, or retryable). */
int  zl_auth_parse_reply(int status, const char *body, size_t len, zl_transport_error terr,
                         zl_token_reply *out, zl_error *err);
void zl_token_reply_free(zl_token_reply *r);

/* ---- the client (client.c): an opaque handle; its state lives in client_internal.h */
int64_t zl_client_mono(zl_client *c);
double  zl_client_wall(zl_client *c);
void    zl_client_ref(zl_client *c);
/* Settings read by transports (immutable after zl_client_new). */
typedef struct zl_client_net {
    long connect_timeout_ms, timeout_ms;
    size_t max_response_bytes;
    const char *ca_file;        /* NULL: the system store */
    const char *user_agent;
    const char *proxy;          /* NULL: libcurl's environment */
} zl_client_net;
const zl_client_net *zl_client_net_settings(const zl_client *c);
bool    zl_client_can_refresh(const zl_client *c);
/* Appends the current API domain (it may be learned from a token reply) to b. */
void    zl_client_add_api_domain(zl_client *c, zl_buf *b);
/* The backoff before attempt `failed + 1`; *allowed is false when the retry policy allows no
 * further attempt `elapsed_ms` into the call. */
long    zl_client_backoff(zl_client *c, int failed, long elapsed_ms, bool *allowed);
/* A 401 condemned token generation `gen`: the next call refreshes (no-op when newer). */
void    zl_client_condemn_token(zl_client *c, uint64_t gen);
/* The refresh state a driver waits on: *seq bumps when a refresh ends. */
void    zl_client_refresh_state(zl_client *c, uint64_t *seq, bool *refreshing);
/* Replaces the client's secrets (client secret, refresh token, access token) in e. */
void    zl_client_scrub(zl_client *c, zl_error *e);
/* One per-client slot for a transport's state (the libcurl idle pool): returns it, created
 * with make() on first use; destroy() runs when the client is freed. NULL when make() fails. */
void   *zl_client_transport_state(zl_client *c, void *(*make)(void), void (*destroy)(void *));

/* Adopts a domain named with a token unless api_domain is fixed (token.c: the domain rule).
 * 0, or -1 and *why when the domain is unusable. */
int     zl_client_learn_api_domain(zl_client *c, const char *domain, const char **why);
/* Opens / closes the client's token store (token_share.c). */
int     zl_token_share_open(zl_client *c, const char *kind, const char *url, const char *dir, zl_error *err);
void    zl_token_share_close(zl_client *c);

/* call.c */
zl_client *zl_call_client(zl_call *call);
/* After a successful DONE: hands over the reply body (malloc'd, NUL-terminated, *len set);
 * the call's result then shows "" as body. NULL when there is none to give. */
char *zl_call_take_body(zl_call *call, size_t *len);

#endif
