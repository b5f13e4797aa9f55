/* internal.h - declarations shared by the core's files (not installed, not public). */
#ifndef ZLOCK_INTERNAL_H
#define ZLOCK_INTERNAL_H

#include <pthread.h>
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
/* Replaces every occurrence of each non-empty secret in e->message and e->details. */
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
/* The reconciliation GET of a lock: list the record's locks (default fields). */
int  zl_request_build_list(const char *module, const char *record_id, const char *api_version,
                           zl_request *out, zl_error *err);
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
} zl_outcome;

typedef struct zl_classified {
    zl_outcome outcome;
    zl_error err;           /* filled unless OK */
    char lock_id[ZL_ID_MAX + 1];
    bool empty;             /* 204 / no body */
} zl_classified;

/* Classifies one reply (or transport failure) for an op kind. Never fails; a reply it does
 * not understand is BAD_RESPONSE. Caller clears out->err. */
void zl_response_classify(zl_op_kind kind, int status, const char *body, size_t len,
                          zl_transport_error terr, zl_classified *out);
/* Looks in a lock-list reply for a Manual lock whose reason equals `reason`; copies its id.
 * Returns true when found. */
bool zl_response_find_manual_lock(const char *body, size_t len, const char *reason,
                                  char id_out[ZL_ID_MAX + 1]);

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

/* ---- client internals (client.c) */
struct zl_client {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int refs;
    /* settings (immutable after new, except api_domain when learned) */
    char *api_domain;          /* guarded by mu */
    bool api_domain_fixed;
    char *accounts_domain;
    char *api_version;
    char *client_id, *client_secret, *refresh_token;
    bool can_refresh;
    double refresh_ahead_s;
    long connect_timeout_ms, timeout_ms;
    size_t max_response_bytes;
    char *ca_file, *user_agent;
    zl_retry_policy retry;
    uint64_t prng;
    zl_mono_ms_fn mono_ms;
    zl_wall_fn wall;
    void *clock_ud;
    /* token state (mu) */
    char *token;               /* NULL when none */
    double token_expires_at;   /* 0 = unknown */
    double token_refresh_at;   /* 0 = never ahead of time */
    uint64_t token_gen;        /* bumped on every install */
    bool token_invalid;        /* a 401 condemned token_gen */
    bool refreshing;           /* a call owns the refresh */
    uint64_t refresh_seq;      /* bumped when a refresh ends (any way) */
    bool refresh_failed;       /* the last refresh ended in a final error */
    zl_error refresh_err;
    unsigned long refreshes;
    /* libcurl blocking transport: a small pool of idle transfer slots (mu) */
    void **idle_xfers;
    size_t nidle, idle_cap;
    unsigned long connects;
    void (*transport_cleanup)(zl_client *c);   /* set by the transport that filled the pool */
};

int64_t zl_client_mono(zl_client *c);
double  zl_client_wall(zl_client *c);
void    zl_client_ref(zl_client *c);
/* Installs a token (mu held). */
int     zl_client_install_token_locked(zl_client *c, const char *token, double expires_at,
                                       double lifetime);

/* call.c */
zl_client *zl_call_client(zl_call *call);
/* After a successful DONE: hands over the reply body (malloc'd, NUL-terminated, *len set);
 * the call's result then shows "" as body. NULL when there is none to give. */
char *zl_call_take_body(zl_call *call, size_t *len);

#endif
