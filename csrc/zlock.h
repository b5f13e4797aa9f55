/*
 * zlock.h - the public C API of zlock's core (no Lua inside).
 *
 * The core is SANS-I/O: the logic of one operation (build the request, attach the
 * token, classify the reply, retry with backoff + full jitter, refresh the token once
 * on 401 INVALID_TOKEN, reconcile a lock after an ambiguous failure, find the lock an unlock
 * without a lock id removes, decide the outcome) is a state machine, `zl_call`, that performs
 * no I/O.
 * A transport drives it:
 *
 *     zl_call *call = zl_call_new(client, &op, &err);
 *     for (;;) {
 *         zl_step s;
 *         zl_call_next(call, &s);
 *         if (s.kind == ZL_STEP_DONE) break;
 *         if (s.kind == ZL_STEP_WAIT)       { sleep s.wait_ms; continue; }
 *         if (s.kind == ZL_STEP_WAIT_TOKEN) { another call is refreshing the token:
 *                                             zl_client_await_token(client, s.token_seq, ms)
 *                                             (threads) or come back later (event loop); continue; }
 *         // ZL_STEP_SEND: perform s.method s.url with s.headers and s.body, then
 *         zl_call_feed(call, http_status, body, body_len, ZL_TERR_NONE or the transport error);
 *     }
 *     zl_result r; const zl_error *e;
 *     if (zl_call_result(call, &r, &e)) ... r.outcome, r.body, r.lock_id ... else ... e->code ...
 *     zl_call_free(call);
 *
 * Drivers: zl_call_run() (below; libcurl easy, blocking), the bulk engine on libcurl
 * multi (transport_curl.h gives it the per-transfer helpers), and the nginx cosocket
 * transport in Lua (through the binding's call:next()/call:feed()).
 *
 * Thread safety: a zl_client may be shared by threads (token state, PRNG and domains
 * sit behind the client's mutex; one refresh in flight per client). A zl_call belongs
 * to one thread at a time. No global mutable state except libcurl's one-time global
 * init (pthread_once).
 *
 * Secrets (access token, refresh token, client secret) never appear in a zl_error.
 */
#ifndef ZLOCK_H
#define ZLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZL_VERSION "0.1.0"
/* The User-Agent of every transport. */
#define ZL_USER_AGENT "zlock/" ZL_VERSION

/* ------------------------------------------------------------------ errors */

#define ZL_CODE_MAX    48
#define ZL_MESSAGE_MAX 512

/* One error shape everywhere. `code` is Zoho's (NOT_ALLOWED, INVALID_DATA, INVALID_TOKEN,
 * TOO_MANY_REQUESTS, ...) or zlock's own:
 *   INVALID_ARGUMENT  bad module name / id / reason / option (nothing was sent)
 *   TOKEN             no usable access token, or the token endpoint refused the refresh
 *   CONNECT           could not connect (request not sent; retryable)
 *   TIMEOUT           no complete reply in time (request may have been applied; retryable)
 *   CLOSED            connection dropped before a reply (may have been applied; retryable)
 *   TLS               certificate / handshake failure (not retryable)
 *   BAD_RESPONSE      reply not understood (unparseable, too large, missing fields)
 *   TRANSPORT         any other transport failure
 *   CREDITS_EXHAUSTED 429 with X-API-CREDITS-REMAINING: 0: the org's API credits are spent
 *                     (not retried: they come back over Zoho's rolling 24 h window)
 *   CANCELLED         the driver cancelled the call (e.g. an on_retry hook said no)
 *   NOT_LOCKED        an unlock without a lock id found no lock (the `why` of
 *                     ZL_OUTCOME_ALREADY_UNLOCKED, see zl_result)
 *   INTERNAL          out of memory or a broken invariant
 */
typedef struct zl_error {
    char code[ZL_CODE_MAX];
    char message[ZL_MESSAGE_MAX];
    int  http_status;   /* HTTP status of the deciding reply, 0 when there was none */
    bool retryable;     /* true when trying again later may succeed */
    char *details;      /* Zoho's `details` object as JSON text (malloc'd), or NULL */
} zl_error;

/* Frees e->details and zeroes the error. Safe on a zeroed error. */
void zl_error_clear(zl_error *e);
/* The halt rule: true when every later call of the client would meet the same error, so a
 * runner sends nothing more (CREDITS_EXHAUSTED, or a final TOKEN error: the token endpoint
 * refused the refresh). False for NULL. */
bool zl_error_halts(const zl_error *e);
/* Deep copy (details duplicated). Returns 0, or -1 when out of memory. */
int  zl_error_copy(zl_error *dst, const zl_error *src);

/* ------------------------------------------------------------ validation */

/* Module API name: [A-Za-z][A-Za-z0-9_]*, 1..100 chars. */
#define ZL_MODULE_MAX 100
/* Record / lock ids: 1..19 ASCII digits (Zoho ids are JSON strings, never numbers). */
#define ZL_ID_MAX 19
/* Lock reason: valid UTF-8, 1..3000 characters (characters, not bytes). */
#define ZL_REASON_MAX 3000
/* The API versions that have the record locking API (api_version "v5" to "v8"). */
#define ZL_API_VERSION_MIN 5
#define ZL_API_VERSION_MAX 8

/* Each returns NULL when valid, else a static English reason ("must be 1 to 19 digits"). */
const char *zl_check_module(const char *s, size_t len);
const char *zl_check_id(const char *s, size_t len);
const char *zl_check_reason(const char *s, size_t len);

/* ------------------------------------------------------------ operations */

typedef enum {
    ZL_OP_GET_ONE,   /* GET    {module}/{record_id}/Locking_Information__s/{lock_id} */
    ZL_OP_LIST,      /* GET    {module}/{record_id}/Locking_Information__s?fields=... (204: no lock) */
    ZL_OP_LOCK,      /* POST   {module}/{record_id}/Locking_Information__s  {"data":[{"Locked_Reason__s":..}]} */
    ZL_OP_UPDATE,    /* PUT    .../Locking_Information__s/{lock_id}         same body */
    ZL_OP_UNLOCK,    /* DELETE .../Locking_Information__s/{lock_id}; without a lock id the call
                        first lists the record's locks (GET) and removes its Manual lock, else
                        its first lock (an automatic lock: Zoho answers why it cannot go) */
    ZL_OP_REQUEST    /* generic: method + path (+ query params, body) on the API domain */
} zl_op_kind;

typedef struct zl_param { const char *key, *value; } zl_param;

/* Default `fields` of a lock list (the list form requires it). */
#define ZL_LOCK_FIELDS "Locked_For__s,Locked_Reason__s,Lock_Source__s,Locked_Time__s," \
    "Locked_By__s,Record_Locking_Rule_Id__s,Record_Locking_Configuration_Id__s"

typedef struct zl_op {
    zl_op_kind kind;
    const char *module;       /* all but REQUEST */
    const char *record_id;    /* all but REQUEST */
    const char *lock_id;      /* GET_ONE, UPDATE (required), UNLOCK (optional, see above) */
    const char *reason;       /* LOCK, UPDATE (NUL-terminated UTF-8) */
    /* LOCK: the op may have been applied by an earlier run (a bulk item resumed after a crash):
     * a 403 "already locked" then lists the record's locks (GET), and our Manual lock with the
     * same reason counts as this op's own (ZL_OUTCOME_LOCKED, reconciled); any other lock ends
     * it ZL_OUTCOME_ALREADY_LOCKED. Without it a first-try 403 ends ALREADY_LOCKED at once: two
     * processes locking one record with one reason never both get it. */
    bool rerun;
    /* Query parameters, URL-encoded by the core. LIST: fields (defaulted to
     * ZL_LOCK_FIELDS), page, per_page, page_token, ids; GET_ONE: fields; REQUEST: any. */
    const zl_param *params;
    size_t nparams;
    /* REQUEST only. path: "/crm/v8/coql" (absolute) or "Deals/search" (relative to
     * /crm/{api_version}/). body: JSON text or NULL. idempotent: -1 = default (every
     * method but POST), 0 = no (never re-sent after an ambiguous failure), 1 = yes. */
    const char *method;
    const char *path;
    const char *body;
    int idempotent;
} zl_op;

/* ---------------------------------------------------------------- client */

typedef struct zl_client zl_client;

/* Clock hooks (tests inject fake time; NULL = the system clocks). */
typedef int64_t (*zl_mono_ms_fn)(void *ud);   /* monotonic milliseconds */
typedef double  (*zl_wall_fn)(void *ud);      /* Unix time in seconds */

typedef struct zl_config {
    /* Where. api_domain / accounts_domain win over dc+env. Without a scheme "https://"
     * is assumed; plain http is refused except for loopback hosts (127.0.0.0/8, ::1,
     * localhost). */
    const char *api_domain;       /* e.g. "https://www.zohoapis.eu", "http://127.0.0.1:8080" */
    const char *accounts_domain;  /* e.g. "https://accounts.zoho.eu" */
    const char *dc;               /* us eu in au jp cn ca sa (default us) */
    const char *env;              /* production (default) | sandbox | developer */
    const char *api_version;      /* "v8" (default); v5..v8 */
    /* Auth: a static token, and/or the refresh flow (all three of id, secret, refresh token). */
    const char *access_token;
    double      token_expires_at; /* Unix seconds; 0 = unknown (used until a 401) */
    const char *client_id;
    const char *client_secret;
    const char *refresh_token;
    double      refresh_ahead_s;  /* refresh this early (capped at a tenth of the lifetime) */
    /* Token store shared by processes / hosts on the refresh flow (see zl_call_token_share_before):
     * "file" (default), "redis" (default when redis_url is set) or "none". */
    const char *token_store;
    const char *redis_url;        /* redis://[user:pass@]host[:port][/db] (rediss:// for TLS) */
    const char *token_cache_dir;  /* file store directory; default $XDG_CACHE_HOME/zlock or ~/.cache/zlock */
    /* Fleet budget (budget.h): with redis_url, every API request takes an in-flight slot shared
     * by every process and host working on the org. */
    int         org_budget;       /* -1 off, 0 default (on with redis_url), 1 on (needs redis_url) */
    int         org_limit;        /* the org's in-flight limit; 0 = learned */
    double      org_reserve;      /* share of the limit bulk work leaves to calls made one at a time (0.2) */
    const char *org_id;           /* names the org's budget; default: accounts domain and client id */
    const char *org_priority;     /* "interactive" (default): calls made one at a time go first;
                                     "bulk": they are part of bulk work (a policy run's selection) */
    /* Transport (libcurl). */
    long   connect_timeout_ms;
    long   timeout_ms;            /* whole request */
    size_t max_response_bytes;
    const char *ca_file;          /* optional CA bundle; verification always on */
    const char *user_agent;       /* default ZL_USER_AGENT */
    const char *proxy;            /* optional proxy URL (libcurl's CURLOPT_PROXY); else libcurl's
                                     https_proxy / all_proxy environment; no_proxy applies */
    /* Retries. */
    int  max_attempts;            /* requests per call incl. the first (1 = no retry) */
    long max_time_ms;             /* no new attempt after this long (0 = no limit) */
    long base_delay_ms;
    long max_delay_ms;
    uint64_t seed;                /* PRNG seed for jitter; 0 = from time and address */
    /* Clocks. */
    zl_mono_ms_fn mono_ms;
    zl_wall_fn    wall;
    void         *clock_ud;
} zl_config;

/* Fills *cfg with the defaults (the one place they are set; everything else NULL/0). */
void zl_config_init(zl_config *cfg);

/* The allowed range (inclusive, in the field's own unit) of a numeric setting of zl_config,
 * named like its field ("timeout_ms"); zl_client_new refuses a value outside it. */
typedef struct zl_config_limit { const char *name; double min, max; } zl_config_limit;
const zl_config_limit *zl_config_limits(size_t *n);
const zl_config_limit *zl_config_limit_of(const char *name);   /* NULL: no such setting */

/* Creates a client (copies every string). NULL and *err filled on a bad configuration
 * (code INVALID_ARGUMENT). A client is reference counted: calls keep it alive. */
zl_client *zl_client_new(const zl_config *cfg, zl_error *err);
/* Drops the caller's reference (idempotent on NULL). */
void zl_client_free(zl_client *c);

/* A self client's grant code exchanged for credentials (OAuth authorization_code grant) at
 * cfg's accounts domain (dc, or accounts_domain), with cfg's client_id, client_secret,
 * timeouts and CA file. Blocking (libcurl), one request, no retry (a code is single-use).
 * 0 and *out (free with zl_grant_free), or -1 and *err (TOKEN: refused, e.g. an expired
 * code; CONNECT / TIMEOUT ...). Neither secret appears in *err. */
typedef struct zl_grant {
    char *refresh_token, *access_token, *api_domain;   /* api_domain may be NULL */
    double expires_in;
} zl_grant;
int  zl_auth_exchange_code(const zl_config *cfg, const char *code, zl_grant *out, zl_error *err);
void zl_grant_free(zl_grant *g);

/* Installs an access token obtained elsewhere (e.g. an nginx shared dict), valid until
 * expires_at (Unix seconds, 0 = unknown). Returns 0, -1 on bad input / no memory. */
int zl_client_set_token(zl_client *c, const char *token, double expires_at);
/* Copies the current access token into buf (NUL-terminated; "" when none) and its expiry.
 * Returns the token length (may exceed n-1: then buf is truncated). */
size_t zl_client_get_token(zl_client *c, char *buf, size_t n, double *expires_at);
/* Blocks until the refresh seen as `seq` by a ZL_STEP_WAIT_TOKEN completes or timeout_ms
 * passes (for threaded drivers). Returns true when it completed. */
bool zl_client_await_token(zl_client *c, uint64_t seq, long timeout_ms);
/* The effective API / accounts domains and version ("https://host[:port]", no slash). */
const char *zl_client_api_domain(zl_client *c, char *buf, size_t n);
const char *zl_client_accounts_domain(const zl_client *c);
const char *zl_client_api_version(const zl_client *c);
/* Number of token refreshes this client has performed (successful ones). */
unsigned long zl_client_refresh_count(zl_client *c);

/* ----------------------------------------------------------------- calls */

typedef struct zl_call zl_call;

typedef enum {
    ZL_STEP_SEND,        /* perform one HTTP request, then zl_call_feed() */
    ZL_STEP_WAIT,        /* back off wait_ms milliseconds, then zl_call_next() again */
    ZL_STEP_WAIT_TOKEN,  /* another call is refreshing the token: wait for it, then next() */
    ZL_STEP_DONE         /* finished: zl_call_result() */
} zl_step_kind;

typedef struct zl_step {
    zl_step_kind kind;
    /* SEND. All pointers stay valid until the next next()/feed()/free() of the call. */
    const char *method;             /* "GET", "POST", "PUT", "DELETE" */
    const char *url;                /* absolute */
    const char *const *headers;     /* "Name: value" lines */
    size_t nheaders;
    const char *body;               /* NULL when none */
    size_t body_len;
    bool is_token_request;          /* the OAuth refresh (body holds secrets: never log it) */
    bool idempotent;                /* false: the transport must never re-send on its own */
    /* WAIT: why, and which attempt just failed. */
    long wait_ms;
    int  attempt;                   /* 1-based number of the attempt that failed */
    const zl_error *reason;         /* the failure that caused the wait */
    /* WAIT_TOKEN */
    uint64_t token_seq;
} zl_step;

/* Transport outcome of one SEND (ZL_TERR_NONE when an HTTP reply arrived). */
typedef enum {
    ZL_TERR_NONE = 0,
    ZL_TERR_CONNECT,     /* connection not established: the request was not sent */
    ZL_TERR_TIMEOUT,     /* timed out after sending (may have been applied) */
    ZL_TERR_CLOSED,      /* connection closed / reset before a full reply (may have been applied) */
    ZL_TERR_TLS,         /* TLS or certificate failure */
    ZL_TERR_TOO_LARGE,   /* reply over max_response_bytes */
    ZL_TERR_OTHER
} zl_transport_error;

/* Creates a call. Validates the op (returns NULL, *err INVALID_ARGUMENT, nothing sent). */
zl_call *zl_call_new(zl_client *c, const zl_op *op, zl_error *err);
/* The next step. After DONE it keeps answering DONE. */
void zl_call_next(zl_call *call, zl_step *step);
/* Feeds the outcome of the last SEND. body may be NULL when len is 0. */
void zl_call_feed(zl_call *call, int http_status, const char *body, size_t len,
                  zl_transport_error terr);
/* Before zl_call_feed() of a reply: what its X-API-CREDITS-REMAINING header said (Zoho sends
 * it once half the day's credits are spent; -1 or no call: absent). A 429 that says 0 credits
 * remain ends the call with CREDITS_EXHAUSTED instead of backing off: no retry could succeed
 * before the credits come back, hours later. A transport that cannot read reply headers skips
 * this, and such a 429 is retried like any other. */
void zl_call_feed_credits(zl_call *call, long remaining);
/* Declares, before the first zl_call_next(), that an earlier call of the same operation had
 * an ambiguous failure (timeout, dropped reply, 5xx: it may have been applied), e.g. when a
 * driver starts a call again after the previous one ran out of attempts. The call then acts
 * as a retry after an ambiguity: a LOCK first looks for its lock (GET; our Manual lock with
 * the same reason = success, reconciled) and reconciles an "already locked" answer; an UNLOCK
 * takes "relation not found" as done (reconciled). Ignored once the call has started. */
void zl_call_after_ambiguous(zl_call *call);
/* Declares, before the first zl_call_next(), that the transport may re-send a request on its
 * own after a lost reply (HAProxy 2.6's httpclient does, for every method, and cannot be told
 * not to): any reply may then answer a second copy of an attempt that was applied. A LOCK
 * answered "already locked" is reconciled (our Manual lock with the same reason = success);
 * an UNLOCK answered "relation not found" is done (reconciled). No extra request is made
 * otherwise. Ignored once the call has started. */
void zl_call_transport_resends(zl_call *call);
/* True when an attempt of this call may have been applied (or it was declared to follow
 * one with zl_call_after_ambiguous): a driver restarting the operation passes that on. */
bool zl_call_ambiguous(const zl_call *call);
/* How many of this call's attempts were answered 429 TOO_MANY_REQUESTS (the org's concurrency
 * limit; not the credits 429, which is final): a driver that paces itself against the limit
 * can tell a call whose retries throttling took part in. 0 for NULL. */
int zl_call_throttled(const zl_call *call);
/* Satisfies a SEND with is_token_request from outside (e.g. a token another nginx worker
 * refreshed): installs the token as zl_client_set_token() does and moves on. */
void zl_call_feed_token(zl_call *call, const char *token, double expires_at);
/* Token stores: one access token per (accounts domain, client id, refresh token) across
 * processes. The in-process single flight stays in the call (one call of a client owns a
 * refresh: its SEND has is_token_request); the store extends it across processes, and its I/O
 * is the driver's: before performing a SEND with is_token_request, a driver calls
 * zl_call_token_share_before(). ZL_SHARE_FED: the call took a token another process stored
 * (no request; go to next()). ZL_SHARE_SEND: perform the request, zl_call_feed() it, then call
 * zl_call_token_share_after() (saves the new token for all, releases the store's refresh
 * lock). Both may block up to connect_timeout + timeout (a file lock or a Redis round trip):
 * a non-blocking host (nginx) does not call them; it shares through its own store on
 * cosockets (lua/zlock/ngx/token.lua) and runs its clients with token_store "none".
 * A store that fails is dropped for the client's life with one warning on stderr. */
typedef enum { ZL_SHARE_SEND, ZL_SHARE_FED } zl_share_verdict;
zl_share_verdict zl_call_token_share_before(zl_call *call);
void zl_call_token_share_after(zl_call *call);
/* The client's token store: "file", "redis" or "none". */
const char *zl_client_token_store(const zl_client *c);
/* Expiry (Unix seconds; 0 unknown) of the token the client's store holds; -1 when none.
 * Adopts the entry's API domain as a stored token would (the domain rule). */
double zl_client_stored_token_expiry(zl_client *c);
/* Installs an access token obtained outside the refresh flow (the access token of
 * zl_auth_exchange_code's grant) as a refresh would, and saves it in the client's token store
 * under the client's key, for every process and host sharing it: their next call mints nothing.
 * expires_at: Unix seconds on this host's clock (0: unknown). api_domain (NULL or "": none) is
 * adopted by the domain rule (ignored when the client's api_domain is fixed by api_domain or a
 * non-production env; then the entry names no domain, as a refresh's would). Blocking: takes the
 * store's refresh lock (waiting at most connect_timeout + timeout) like a refresh. Call it before
 * the client's calls, or from the thread that drives them.
 * Returns 1 when saved, 0 when the client has no store (token_store "none", no cache directory,
 * no refresh flow; the token is still installed), -1 and *err: INVALID_ARGUMENT (an empty token,
 * control characters, too long, a bad expiry or domain; nothing installed) or TRANSPORT (the
 * store failed: its name and why, never a secret; the token is installed, the store kept). */
int zl_client_store_token(zl_client *c, const char *token, double expires_at, const char *api_domain,
                          zl_error *err);
/* Ends the call now with `code` (e.g. "CANCELLED") and message. */
void zl_call_cancel(zl_call *call, const char *code, const char *message);

/* How a call ended: decided by the core, the same for every driver, engine and transport.
 * The two ALREADY_ outcomes mean "nothing to do": the call succeeded (zl_call_result() is
 * true) and zl_result.why holds the answer that said so. A one-at-a-time API reports that
 * answer as its error (zlock's Lua client does: `c:lock` gives `nil, NOT_ALLOWED`); a bulk
 * runner counts them apart from failures. */
typedef enum zl_outcome {
    ZL_OUTCOME_FAILED = 0,     /* zl_call_result() is false: see the error */
    ZL_OUTCOME_LOCKED,         /* LOCK: locked; `reconciled`: our lock, found by a GET after an
                                  ambiguous failure or (rerun) after a 403 "already locked" */
    ZL_OUTCOME_ALREADY_LOCKED, /* LOCK: another lock holds the record (automatic, or manual with
                                  another reason); why: Zoho's 403 NOT_ALLOWED; lock_id: that
                                  lock when a GET listed it (body: the list reply) */
    ZL_OUTCOME_UPDATED,        /* UPDATE */
    ZL_OUTCOME_UNLOCKED,       /* UNLOCK; `reconciled`: "relation not found" after our own
                                  ambiguous DELETE (it had landed) */
    ZL_OUTCOME_ALREADY_UNLOCKED, /* UNLOCK: the lock is gone ("relation not found", why: Zoho's
                                  INVALID_DATA), or without a lock id the record has no lock
                                  (why: NOT_LOCKED) */
    ZL_OUTCOME_GOT,            /* GET_ONE, LIST */
    ZL_OUTCOME_DONE            /* REQUEST */
} zl_outcome;

/* "failed", "locked", "already_locked", "updated", "unlocked", "already_unlocked", "got",
 * "done" (the names zlock's Lua layers and journals use). */
const char *zl_outcome_name(zl_outcome o);

typedef struct zl_result {
    zl_outcome outcome;
    int http_status;        /* of the deciding reply (204: no lock) */
    const char *body;       /* the deciding reply's body ("" when none); owned by the call */
    size_t body_len;
    const char *lock_id;    /* LOCK/UPDATE/UNLOCK/GET_ONE: the lock id; NULL otherwise */
    bool reconciled;        /* see ZL_OUTCOME_LOCKED / ZL_OUTCOME_UNLOCKED */
    bool ambiguous;         /* an attempt may have been applied before the call resolved (or
                               it was declared with zl_call_after_ambiguous) */
    const zl_error *why;    /* ALREADY_LOCKED / ALREADY_UNLOCKED: the answer that said so;
                               NULL otherwise (owned by the call) */
    int attempts;           /* HTTP requests made (token refreshes excluded) */
} zl_result;

/* After DONE: true and *res on success (any outcome but FAILED), false and *err (owned by the
 * call) on failure; *res (when non-NULL) is filled either way (outcome FAILED on failure).
 * Retry budget: max_attempts counts the operation's own requests (the POST, PUT or DELETE);
 * the reads a call makes on its own (the GET that checks whether a lost lock landed, the lock
 * list of an unlock without a lock id) each get max_attempts tries of their own. */
bool zl_call_result(const zl_call *call, zl_result *res, const zl_error **err);
/* Frees the call; releases a token refresh it owned (waiters then retry it themselves). */
void zl_call_free(zl_call *call);

/* ------------------------------------------------- blocking libcurl driver */

/* Drives the call to its end with the client's libcurl easy handle (keep-alive, one
 * connection reused across calls). WAIT steps are slept in place, unless `wait` is
 * non-NULL: then run() returns ZL_STEP_WAIT with *wait filled (the caller may run an
 * on_retry hook, sleep wait->wait_ms, and call run() again). Returns ZL_STEP_DONE when
 * finished. Safe to call from several threads on different calls of one client. */
zl_step_kind zl_call_run(zl_call *call, zl_step *wait);

/* One HTTP exchange as zl_call_run_observed() reports it (for logging; never headers or body). */
typedef struct zl_exchange {
    int phase;                    /* 1: about to send (method, url); 2: answered (the rest) */
    const char *method;           /* phase 1; valid until the next run of the call */
    const char *url;              /* phase 1; same */
    bool is_token_request;        /* the OAuth refresh (its body holds secrets) */
    int status;                   /* phase 2: HTTP status, 0 when no reply */
    zl_transport_error terr;      /* phase 2 */
    long ms;                      /* phase 2: time from send to reply */
    char request_id[64];          /* phase 2: the reply's X-Request-Id, "" when none */
} zl_exchange;

/* zl_call_run() that also returns ZL_STEP_SEND before each request (ex->phase 1) and after its
 * reply was fed to the call (ex->phase 2), so the caller can log every exchange. Call it again
 * with the same ex (zeroed before the first run) to go on. */
zl_step_kind zl_call_run_observed(zl_call *call, zl_step *wait, zl_exchange *ex);

/* Convenience: one operation, blocking. On success returns a malloc'd copy of the body
 * (*len set) and, when lock_id_out is non-NULL, copies the lock id (>= 20 bytes).
 * On failure, and on the ALREADY_ outcomes (with their `why`), returns NULL and fills *err. */
char *zl_perform(zl_client *c, const zl_op *op, size_t *len, char *lock_id_out,
                 int *http_status, zl_error *err);

/* Sleeps ms milliseconds (nanosleep, restarted on EINTR). */
void zl_sleep_ms(long ms);

#ifdef __cplusplus
}
#endif
#endif /* ZLOCK_H */
