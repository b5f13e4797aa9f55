/* transport_curl.c - performs SEND steps with libcurl: one reused easy handle per
 * transfer slot (keep-alive, HTTP/2 over TLS when offered), connect and total timeouts,
 * TLS verification on, http(s) only, plain http only to loopback, a response size cap,
 * NOSIGNAL, curl_global_init once (pthread_once). No Lua here: nothing can longjmp
 * through libcurl. zl_call_run() is the blocking driver built on it. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"
#include "budget_client.h"
#include "transport_curl.h"

struct zl_xfer {
    zl_client *c;
    CURL *h;
    struct curl_slist *hdrs;
    CURLU *u;                /* the URL, parsed once per origin: only path and query change */
    char *u_origin;          /* "scheme://host[:port]" that u was parsed for */
    char *ua;                /* "User-Agent: ..." (a header line: libcurl would print one per request) */
    zl_buf body;
    size_t cap;
    bool too_large;
    bool idempotent;
    int sends;               /* times libcurl started sending this request */
    unsigned long connects;
};

/* zl_curl_global_init (curl_lazy.c) loads libcurl and runs curl_global_init, once. */

static size_t on_write(char *p, size_t size, size_t n, void *ud) {
    zl_xfer *x = ud;
    size_t len = size * n;
    if (x->body.len + len > x->cap) { x->too_large = true; return 0; }
    zl_buf_add(&x->body, p, len);
    return x->body.oom ? 0 : len;
}

/* Called by libcurl each time it is about to send the request. A second call within
 * one transfer means libcurl is silently re-sending on a fresh connection after the
 * reused one died before any reply byte. The first copy may have been applied (a lock
 * POST would lock twice or answer "already locked"; a DELETE "relation not found"), and
 * the call could not tell: refuse the re-send, so the transfer ends as ZL_TERR_CLOSED
 * and the call's own retry rules (reconciliation included) decide. */
static int on_prereq(void *ud, char *pip, char *lip, int pport, int lport) {
    (void)pip; (void)lip; (void)pport; (void)lport;
    zl_xfer *x = ud;
    x->sends++;
    return x->sends > 1 ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

zl_xfer *zl_xfer_new(zl_client *c) {
    if (zl_curl_global_init()) return NULL;
    zl_xfer *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    if (!(x->h = curl_easy_init())) { free(x); return NULL; }
    zl_client_ref(c);
    x->c = c;
    const zl_client_net *net = zl_client_net_settings(c);
    x->cap = net->max_response_bytes;
    CURL *h = x->h;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (net->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, net->ca_file);
    if (net->proxy) curl_easy_setopt(h, CURLOPT_PROXY, net->proxy);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, net->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, net->timeout_ms);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)net->max_response_bytes);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    size_t n = strlen(net->user_agent) + sizeof "User-Agent: ";
    if (!(x->ua = malloc(n))) { zl_xfer_free(x); return NULL; }
    snprintf(x->ua, n, "User-Agent: %s", net->user_agent);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(h, CURLOPT_PREREQDATA, x);
    return x;
}

static void xfer_release(zl_xfer *x) {
    curl_easy_cleanup(x->h);
    curl_slist_free_all(x->hdrs);
    if (x->u) curl_url_cleanup(x->u);
    free(x->u_origin);
    free(x->ua);
    zl_buf_free(&x->body);
}

void zl_xfer_free(zl_xfer *x) {
    if (!x) return;
    xfer_release(x);
    zl_client_free(x->c);
    free(x);
}

/* Hands libcurl the URL. Parsing a URL string is a large part of libcurl's work per request
 * (every transfer re-parses CURLOPT_URL), so the slot keeps a parsed URL (CURLOPT_CURLU) for
 * its origin and only replaces the path and query when the next request goes to the same
 * origin. A path libcurl would normalise ("/./", "/../") or a new origin takes the full parse. */
static void use_u(zl_xfer *x, const char *url) {
    /* the same URL as text too: libcurl connects by the handle (CURLOPT_CURLU wins) and keeps
     * the text as the effective URL instead of printing it back out of the handle */
    curl_easy_setopt(x->h, CURLOPT_URL, url);
    curl_easy_setopt(x->h, CURLOPT_CURLU, x->u);
}

static int set_url(zl_xfer *x, const char *url) {
    const char *sep = strstr(url, "://");
    const char *path = sep ? strchr(sep + 3, '/') : NULL;
    size_t olen = path ? (size_t)(path - url) : 0;
    const char *q = path ? strchr(path, '?') : NULL;
    size_t plen = path ? (q ? (size_t)(q - path) : strlen(path)) : 0;
    char pbuf[1024];
    bool fast = path && plen < sizeof pbuf && !strstr(path, "/.") && !strchr(path, '#');
    if (fast && x->u && x->u_origin && strlen(x->u_origin) == olen && memcmp(x->u_origin, url, olen) == 0) {
        memcpy(pbuf, path, plen);
        pbuf[plen] = '\0';
        if (curl_url_set(x->u, CURLUPART_PATH, pbuf, 0) == CURLUE_OK
            && curl_url_set(x->u, CURLUPART_QUERY, q ? q + 1 : NULL, 0) == CURLUE_OK) {
            use_u(x, url);
            return 0;
        }
    }
    free(x->u_origin);
    x->u_origin = NULL;
    if (fast) {
        if (!x->u) x->u = curl_url();
        if (x->u && curl_url_set(x->u, CURLUPART_URL, url, 0) == CURLUE_OK
            && (x->u_origin = malloc(olen + 1))) {
            memcpy(x->u_origin, url, olen);
            x->u_origin[olen] = '\0';
            use_u(x, url);
            return 0;
        }
    }
    curl_easy_setopt(x->h, CURLOPT_CURLU, (CURLU *)NULL);
    return curl_easy_setopt(x->h, CURLOPT_URL, url) == CURLE_OK ? 0 : -1;
}


CURL *zl_xfer_handle(zl_xfer *x) { return x->h; }
unsigned long zl_xfer_connects(const zl_xfer *x) { return x->connects; }

int zl_xfer_prepare(zl_xfer *x, const zl_step *s) {
    if (s->kind != ZL_STEP_SEND || !s->url || !zl_url_allowed(s->url)) return -1;
    CURL *h = x->h;
    /* the header list is usually the same as last time (same token): reuse it */
    bool same = x->hdrs != NULL;
    const struct curl_slist *l = x->hdrs;
    for (size_t i = 0; same && i < s->nheaders; i++, l = l->next)
        same = l && strcmp(l->data, s->headers[i]) == 0;
    same = same && l && strcmp(l->data, x->ua) == 0 && (l = l->next) && strcmp(l->data, "Expect:") == 0 && !l->next;
    if (!same) {
        curl_slist_free_all(x->hdrs);
        x->hdrs = NULL;
        for (size_t i = 0; i < s->nheaders + 2; i++) {
            /* then "Expect:" (empty): no 100-continue round trip */
            const char *line = i < s->nheaders ? s->headers[i] : i == s->nheaders ? x->ua : "Expect:";
            struct curl_slist *n = curl_slist_append(x->hdrs, line);
            if (!n) return -1;
            x->hdrs = n;
        }
    }
    zl_buf_reset(&x->body);
    x->too_large = false;
    x->sends = 0;
    x->idempotent = s->idempotent;
    if (set_url(x, s->url)) return -1;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
    bool get = strcmp(s->method, "GET") == 0;
    bool post = strcmp(s->method, "POST") == 0;
    if (s->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, s->body);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, post ? NULL : s->method);
    } else if (post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, get ? NULL : s->method);
    }
    return 0;
}

static zl_transport_error map_error(zl_xfer *x, CURLcode rc) {
    curl_off_t pre = 0;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return ZL_TERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(x->h, CURLINFO_PRETRANSFER_TIME_T, &pre);
        return pre == 0 ? ZL_TERR_CONNECT : ZL_TERR_TIMEOUT;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return ZL_TERR_CLOSED;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
        return ZL_TERR_TLS;
    case CURLE_FILESIZE_EXCEEDED:
        return ZL_TERR_TOO_LARGE;
    case CURLE_WRITE_ERROR:
        return x->too_large ? ZL_TERR_TOO_LARGE : ZL_TERR_OTHER;
    default:
        return ZL_TERR_OTHER;
    }
}

void zl_xfer_finish(zl_xfer *x, CURLcode rc, int *status, const char **body, size_t *len,
                    zl_transport_error *terr) {
    long nc = 0;
    curl_easy_getinfo(x->h, CURLINFO_NUM_CONNECTS, &nc);
    x->connects += (unsigned long)nc;
    *status = 0;
    *terr = ZL_TERR_NONE;
    *body = zl_buf_str(&x->body);
    if (!*body) *body = "";
    *len = x->body.oom ? 0 : x->body.len;
    if (rc != CURLE_OK) {
        *terr = map_error(x, rc);
        *len = 0;
        return;
    }
    long code = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    *status = (int)code;
}

long zl_xfer_credits(zl_xfer *x, int status) {
    /* only a 429 needs it (see zl_call_feed_credits): other replies skip the header lookup */
    struct curl_header *hh = NULL;
    if (status != 429 || !zl_curl_fns.easy_header ||
        zl_curl_fns.easy_header(x->h, "X-API-CREDITS-REMAINING", 0, CURLH_HEADER, -1, &hh) != CURLHE_OK || !hh)
        return -1;
    char *end = NULL;
    long v = strtol(hh->value, &end, 10);
    return end != hh->value && v >= 0 ? v : -1;
}

/* ------------------------------------------------ the blocking driver */

/* The blocking driver's idle transfer slots of one client (its transport state): a slot
 * goes back here after a call, so the next call reuses its connection. */
typedef struct pool {
    pthread_mutex_t mu;
    zl_xfer **idle;
    size_t nidle, cap;
    unsigned long connects;
} pool;

static void *pool_make(void) {
    pool *p = calloc(1, sizeof *p);
    if (p) pthread_mutex_init(&p->mu, NULL);
    return p;
}

/* Runs when the client's last reference goes: the idle slots hold no client reference
 * (pool_give dropped it), so freeing them here is safe. */
static void pool_destroy(void *ud) {
    pool *p = ud;
    for (size_t i = 0; i < p->nidle; i++) {
        xfer_release(p->idle[i]);
        free(p->idle[i]);
    }
    free(p->idle);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static pool *pool_of(zl_client *c) { return zl_client_transport_state(c, pool_make, pool_destroy); }

static zl_xfer *pool_take(zl_client *c) {
    pool *p = pool_of(c);
    zl_xfer *x = NULL;
    if (p) {
        pthread_mutex_lock(&p->mu);
        if (p->nidle) x = p->idle[--p->nidle];
        pthread_mutex_unlock(&p->mu);
    }
    if (!x) return zl_xfer_new(c);
    zl_client_ref(c);
    x->c = c;
    return x;
}

static void pool_give(zl_client *c, zl_xfer *x, unsigned long connects_before) {
    pool *p = pool_of(c);
    bool kept = false;
    if (p) {
        pthread_mutex_lock(&p->mu);
        p->connects += x->connects - connects_before;
        if (p->nidle == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 2;
            zl_xfer **n = realloc(p->idle, cap * sizeof *n);
            if (n) { p->idle = n; p->cap = cap; }
        }
        kept = p->nidle < p->cap;
        if (kept) p->idle[p->nidle++] = x;
        pthread_mutex_unlock(&p->mu);
    }
    if (!kept) zl_xfer_free(x);
}

unsigned long zl_curl_connects(zl_client *c) {
    pool *p = pool_of(c);
    if (!p) return 0;
    pthread_mutex_lock(&p->mu);
    unsigned long n = p->connects;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void zl_sleep_ms(long ms) {
    if (ms <= 0) return;
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

static long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void observe_reply(zl_xfer *x, zl_exchange *ex, int status, zl_transport_error te, long ms) {
    struct curl_header *hh = NULL;
    ex->phase = 2;
    ex->status = status;
    ex->terr = te;
    ex->ms = ms;
    ex->request_id[0] = '\0';
    if (status && zl_curl_fns.easy_header &&
        zl_curl_fns.easy_header(x->h, "X-Request-Id", 0, CURLH_HEADER, -1, &hh) == CURLHE_OK && hh && hh->value)
        snprintf(ex->request_id, sizeof ex->request_id, "%s", hh->value);
}

zl_step_kind zl_call_run(zl_call *call, zl_step *wait) {
    return zl_call_run_observed(call, wait, NULL);
}

zl_step_kind zl_call_run_observed(zl_call *call, zl_step *wait, zl_exchange *ex) {
    zl_step s;
    zl_xfer *x = NULL;
    zl_client *c = NULL;
    unsigned long before = 0;
    long token_waited = 0;
    for (;;) {
        zl_call_next(call, &s);
        if (s.kind == ZL_STEP_DONE) break;
        if (s.kind == ZL_STEP_WAIT) {
            if (wait) { *wait = s; break; }
            zl_sleep_ms(s.wait_ms);
            continue;
        }
        if (s.kind == ZL_STEP_WAIT_TOKEN) {
            if (!c) c = zl_call_client(call);
            if (!zl_client_await_token(c, s.token_seq, 200)) {
                /* a refresh owned by a call nobody drives (abandoned mid-way) must not hang us */
                const zl_client_net *net = zl_client_net_settings(c);
                if ((token_waited += 200) > 2 * (net->timeout_ms + net->connect_timeout_ms))
                    zl_call_cancel(call, "TOKEN", "gave up waiting for another call's token refresh");
            }
            continue;
        }
        if (ex && ex->phase != 1) {   /* announce it; the next run sends it (next() repeats it) */
            ex->phase = 1;
            ex->method = s.method;
            ex->url = s.url;
            ex->is_token_request = s.is_token_request;
            break;
        }
        /* a token another process stored saves the request (token stores: zlock.h) */
        if (s.is_token_request && zl_call_token_share_before(call) == ZL_SHARE_FED) continue;
        if (!x) {
            c = zl_call_client(call);
            if (!(x = pool_take(c))) { zl_call_cancel(call, "INTERNAL", "could not create a libcurl handle"); continue; }
            before = x->connects;
        }
        if (zl_xfer_prepare(x, &s)) {
            zl_call_feed(call, 0, NULL, 0, ZL_TERR_OTHER);
            if (s.is_token_request) zl_call_token_share_after(call);
            continue;
        }
        /* an API request takes a slot of the org's budget shared by the fleet (budget.h) */
        zl_budget_ticket slot = s.is_token_request ? (zl_budget_ticket){ 0, 0 } : zl_client_slot_take(c);
        long t0 = ex ? mono_ms() : 0;
        CURLcode rc = curl_easy_perform(x->h);
        int status;
        const char *body;
        size_t len;
        zl_transport_error te;
        zl_xfer_finish(x, rc, &status, &body, &len, &te);
        if (ex) observe_reply(x, ex, status, te, mono_ms() - t0);
        long credits = zl_xfer_credits(x, status);
        zl_client_slot_give(c, slot, zl_budget_signal(status, te, credits));
        zl_call_feed_credits(call, credits);
        zl_call_feed(call, status, body, len, te);
        if (s.is_token_request) zl_call_token_share_after(call);
        if (ex) { s.kind = ZL_STEP_SEND; break; }
    }
    if (s.kind == ZL_STEP_DONE) zl_call_token_share_after(call);   /* a cancelled refresh's lock */
    if (x) {
        /* the pool holds transfers without a client reference (no cycle) */
        zl_client_free(x->c);
        x->c = NULL;
        pool_give(c, x, before);
    }
    return s.kind;
}

char *zl_perform(zl_client *c, const zl_op *op, size_t *len, char *lock_id_out, int *http_status,
                 zl_error *err) {
    zl_call *call = zl_call_new(c, op, err);
    if (!call) return NULL;
    zl_call_run(call, NULL);
    zl_result r = {0};
    const zl_error *e;
    char *out = NULL;
    if (zl_call_result(call, &r, &e) && r.why) {
        zl_error_copy(err, r.why);          /* nothing to do: reported as its answer */
    } else if (r.outcome != ZL_OUTCOME_FAILED) {
        out = malloc(r.body_len + 1);
        if (out) {
            memcpy(out, r.body, r.body_len + 1);
            if (len) *len = r.body_len;
            if (lock_id_out) strcpy(lock_id_out, r.lock_id ? r.lock_id : "");
            if (http_status) *http_status = r.http_status;
        } else {
            zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        }
    } else if (e) {
        zl_error_copy(err, e);
    }
    zl_call_free(call);
    return out;
}
