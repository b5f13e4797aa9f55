/* call.c - one operation as a state machine that performs no I/O (sans-I/O).
 *
 *   START --token ok--> SEND main request --feed--> classify:
 *     ok ............................................ DONE (result)
 *     429 / connect failure ......................... WAIT backoff, START
 *     5xx / timeout / dropped reply (ambiguous) ..... WAIT backoff; a LOCK then reconciles:
 *          SEND GET list -> our Manual lock (same reason) found: DONE (reconciled)
 *                        -> not found: SEND the POST again
 *     401 INVALID_TOKEN (refresh flow, once) ........ condemn the token, START (refresh)
 *     LOCK 403 "already locked" after an ambiguity .. reconcile as above (else that error)
 *     UNLOCK "relation not found" after an ambiguity  DONE (reconciled: it is gone)
 *   START --token missing/expiring--> one call of the client owns the refresh (SEND to
 *     the accounts server, is_token_request); the others get WAIT_TOKEN until it ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

typedef enum { S_START, S_SENT, S_TOKEN_SENT, S_BACKOFF, S_DONE } call_state;
typedef enum { PH_MAIN, PH_RECONCILE } call_phase;

struct zl_call {
    zl_client *c;
    zl_op_kind kind;
    zl_request req;          /* the operation's request */
    zl_request list_req;     /* LOCK: the reconciliation GET */
    char *reason;            /* LOCK: to recognise our lock */
    char *given_lock_id;     /* GET_ONE/UPDATE/UNLOCK: the lock id asked for */
    call_state state;
    call_phase phase;
    int attempts;            /* HTTP requests of the operation (not token refreshes) */
    int token_attempts;
    int64_t started_ms;
    bool ambiguous_seen;     /* a previous attempt may have been applied */
    bool refreshed_on_401;
    bool owns_refresh;
    bool waiting_token;
    uint64_t waited_seq;
    uint64_t used_gen;
    bool have_saved;
    zl_error saved;          /* LOCK: the "already locked" answer while reconciling */
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
    zl_error wait_reason;
    /* outcome */
    bool ok;
    zl_error err;
    char *body;
    size_t body_len;
    int http_status;
    char lock_id[ZL_ID_MAX + 1];
    bool reconciled;
};

static const char CT_JSON[] = "Content-Type: application/json";
static const char CT_FORM[] = "Content-Type: application/x-www-form-urlencoded";

static void scrub(zl_call *call, zl_error *e) {
    zl_client *c = call->c;
    pthread_mutex_lock(&c->mu);
    char *tok = zl_strdup0(c->token);
    pthread_mutex_unlock(&c->mu);
    const char *secrets[] = { c->client_secret, c->refresh_token, tok, c->client_id };
    zl_err_scrub(e, secrets, 3);
    free(tok);
}

static void finish_error(zl_call *call, zl_error *e) {
    zl_error_clear(&call->err);
    call->err = *e;             /* takes ownership of details */
    memset(e, 0, sizeof *e);
    scrub(call, &call->err);
    call->ok = false;
    call->state = S_DONE;
}

static void finish_ok(zl_call *call, int status, const char *body, size_t len, const char *lock_id,
                      bool reconciled) {
    free(call->body);
    call->body = malloc(len + 1);
    if (!call->body) {
        zl_error e = {0};
        zl_err_set(&e, "INTERNAL", 0, false, "out of memory");
        finish_error(call, &e);
        return;
    }
    if (len) memcpy(call->body, body, len);
    call->body[len] = '\0';
    call->body_len = len;
    call->http_status = status;
    snprintf(call->lock_id, sizeof call->lock_id, "%s", lock_id ? lock_id : "");
    call->reconciled = reconciled;
    call->ok = true;
    call->state = S_DONE;
}

zl_call *zl_call_new(zl_client *c, const zl_op *op, zl_error *err) {
    if (!c || !op) { zl_err_set(err, "INVALID_ARGUMENT", 0, false, "client and operation are required"); return NULL; }
    zl_call *call = calloc(1, sizeof *call);
    if (!call) { zl_err_set(err, "INTERNAL", 0, false, "out of memory"); return NULL; }
    if (zl_request_build(op, c->api_version, &call->req, err)) { free(call); return NULL; }
    call->kind = op->kind;
    bool oom = false;
    if (op->kind == ZL_OP_LOCK) oom = !(call->reason = zl_strdup0(op->reason));
    if (op->lock_id && op->kind != ZL_OP_REQUEST && op->kind != ZL_OP_LIST && op->kind != ZL_OP_LOCK)
        oom = oom || !(call->given_lock_id = zl_strdup0(op->lock_id));
    if (oom) {
        zl_request_free(&call->req);
        zl_request_free(&call->list_req);
        free(call->reason);
        free(call);
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return NULL;
    }
    zl_client_ref(c);
    call->c = c;
    call->started_ms = zl_client_mono(c);
    return call;
}

static void clear_step_bufs(zl_call *call) {
    free(call->url); call->url = NULL;
    free(call->auth); call->auth = NULL;
    free(call->token_body); call->token_body = NULL;
}

static void release_refresh(zl_call *call, bool failed, const zl_error *e) {
    zl_client *c = call->c;
    pthread_mutex_lock(&c->mu);
    if (call->owns_refresh) {
        c->refreshing = false;
        c->refresh_seq++;
        c->refresh_failed = failed;
        zl_error_clear(&c->refresh_err);
        if (failed && e && zl_error_copy(&c->refresh_err, e))
            zl_err_set(&c->refresh_err, "TOKEN", 0, false, "token refresh failed");
        pthread_cond_broadcast(&c->cv);
        call->owns_refresh = false;
    }
    pthread_mutex_unlock(&c->mu);
}

typedef enum { TK_OK, TK_REFRESH, TK_WAIT, TK_FAIL } token_verdict;

/* Decides how this call gets a token (client mutex held inside). */
static token_verdict token_check(zl_call *call, zl_error *e) {
    zl_client *c = call->c;
    double now = zl_client_wall(c);
    token_verdict v;
    pthread_mutex_lock(&c->mu);
    if (call->owns_refresh) {             /* our own refresh, after a backoff */
        pthread_mutex_unlock(&c->mu);
        return TK_REFRESH;
    }
    if (call->waiting_token && c->refresh_seq != call->waited_seq && !c->refreshing && c->refresh_failed) {
        /* the refresh we waited for failed for good: so do we */
        zl_error_copy(e, &c->refresh_err);
        pthread_mutex_unlock(&c->mu);
        return TK_FAIL;
    }
    call->waiting_token = false;
    bool have = c->token && !c->token_invalid;
    bool expired = have && c->token_expires_at > 0 && now >= c->token_expires_at;
    bool due = have && c->token_refresh_at > 0 && now >= c->token_refresh_at;
    if (have && (!c->can_refresh || (!expired && (!due || c->refreshing)))) {
        size_t n = strlen(c->token) + 32;
        call->auth = malloc(n);
        if (call->auth) snprintf(call->auth, n, "Authorization: Zoho-oauthtoken %s", c->token);
        call->used_gen = c->token_gen;
        v = call->auth ? TK_OK : TK_FAIL;
        if (!call->auth) zl_err_set(e, "INTERNAL", 0, false, "out of memory");
    } else if (!c->can_refresh) {
        zl_err_set(e, "TOKEN", 0, false, "no usable access token (and no refresh flow configured)");
        v = TK_FAIL;
    } else if (c->refreshing) {
        call->waiting_token = true;
        call->waited_seq = c->refresh_seq;
        v = TK_WAIT;
    } else {
        c->refreshing = true;
        call->owns_refresh = true;
        v = TK_REFRESH;
    }
    pthread_mutex_unlock(&c->mu);
    return v;
}

static void fill_send(zl_call *call, zl_step *s, bool token) {
    s->kind = ZL_STEP_SEND;
    s->method = call->send_method;
    s->url = call->url;
    s->headers = call->headers;
    s->nheaders = call->nheaders;
    s->body = call->send_body;
    s->body_len = call->send_body ? strlen(call->send_body) : 0;
    s->is_token_request = token;
    s->idempotent = call->send_idempotent;
}

static bool oom_fail(zl_call *call) {
    zl_error e = {0};
    zl_err_set(&e, "INTERNAL", 0, false, "out of memory");
    release_refresh(call, false, NULL);
    finish_error(call, &e);
    return false;
}

static bool prepare_token_send(zl_call *call) {
    zl_client *c = call->c;
    zl_buf b = {0};
    zl_buf_addf(&b, "%s/oauth/v2/token", c->accounts_domain);
    call->url = b.p;
    call->token_body = zl_auth_refresh_body(c->client_id, c->client_secret, c->refresh_token);
    if (!zl_buf_str(&b) || !call->token_body) return oom_fail(call);
    call->headers[0] = CT_FORM;
    call->nheaders = 1;
    call->send_method = "POST";
    call->send_body = call->token_body;
    call->send_idempotent = true;   /* minting a token twice is harmless */
    call->token_attempts++;
    call->state = S_TOKEN_SENT;
    return true;
}

static bool prepare_main_send(zl_call *call) {
    zl_client *c = call->c;
    if (call->phase == PH_RECONCILE && !call->list_req.path) {
        /* built when first needed: the lock's own path + the list query */
        zl_buf lb = {0};
        zl_buf_adds(&lb, call->req.path);
        zl_buf_adds(&lb, "?fields=" ZL_LOCK_FIELDS);
        if (!zl_buf_str(&lb)) { zl_buf_free(&lb); return oom_fail(call); }
        call->list_req.path = lb.p;
        call->list_req.method = "GET";
        call->list_req.idempotent = true;
    }
    const zl_request *r = call->phase == PH_RECONCILE ? &call->list_req : &call->req;
    zl_buf b = {0};
    pthread_mutex_lock(&c->mu);
    zl_buf_adds(&b, c->api_domain);
    pthread_mutex_unlock(&c->mu);
    zl_buf_adds(&b, r->path);
    call->url = b.p;
    if (!zl_buf_str(&b)) return oom_fail(call);
    call->headers[0] = call->auth;
    call->nheaders = 1;
    if (r->body) call->headers[call->nheaders++] = CT_JSON;
    call->send_method = r->method;
    call->send_body = r->body;
    call->send_idempotent = r->idempotent;
    call->attempts++;
    call->state = S_SENT;
    return true;
}

void zl_call_next(zl_call *call, zl_step *s) {
    memset(s, 0, sizeof *s);
    for (;;) {
        switch (call->state) {
        case S_DONE:
            s->kind = ZL_STEP_DONE;
            return;
        case S_SENT:
        case S_TOKEN_SENT:   /* next() again without feed(): the same request */
            fill_send(call, s, call->state == S_TOKEN_SENT);
            return;
        case S_BACKOFF:
            if (!call->wait_emitted) {
                call->wait_emitted = true;
                s->kind = ZL_STEP_WAIT;
                s->wait_ms = call->wait_ms;
                s->attempt = call->wait_attempt;
                s->reason = &call->wait_reason;
                return;
            }
            zl_error_clear(&call->wait_reason);
            call->state = S_START;
            continue;
        case S_START: {
            clear_step_bufs(call);
            zl_error e = {0};
            switch (token_check(call, &e)) {
            case TK_FAIL:
                finish_error(call, &e);
                continue;
            case TK_WAIT:
                s->kind = ZL_STEP_WAIT_TOKEN;
                s->token_seq = call->waited_seq;
                return;
            case TK_REFRESH:
                if (!prepare_token_send(call)) continue;
                fill_send(call, s, true);
                return;
            case TK_OK:
                if (!prepare_main_send(call)) continue;
                fill_send(call, s, false);
                return;
            }
            return;
        }
        }
    }
}

/* Sets up a WAIT (or finishes) after a retryable failure. Takes e. */
static void backoff_or_fail(zl_call *call, zl_error *e, int failed) {
    zl_client *c = call->c;
    long elapsed = (long)(zl_client_mono(c) - call->started_ms);
    pthread_mutex_lock(&c->mu);
    long delay = zl_retry_delay(&c->retry, failed, &c->prng);
    pthread_mutex_unlock(&c->mu);
    if (!zl_retry_allowed(&c->retry, failed, elapsed, delay)) {
        if (call->owns_refresh) release_refresh(call, true, e);
        finish_error(call, e);
        return;
    }
    zl_error_clear(&call->wait_reason);
    call->wait_reason = *e;
    memset(e, 0, sizeof *e);
    scrub(call, &call->wait_reason);
    call->wait_ms = delay;
    call->wait_attempt = failed;
    call->wait_emitted = false;
    call->state = S_BACKOFF;
}

static void feed_token_reply(zl_call *call, int status, const char *body, size_t len,
                             zl_transport_error terr) {
    zl_client *c = call->c;
    zl_token_reply tr;
    zl_error e = {0};
    if (zl_auth_parse_reply(status, body, len, terr, &tr, &e) == 0) {
        char *api = NULL;
        const char *why = NULL;
        if (tr.api_domain && !c->api_domain_fixed && !(api = zl_url_normalize(tr.api_domain, &why))) {
            zl_err_set(&e, "TOKEN", status, false, "token reply names an unusable api_domain (%s)", why);
            zl_token_reply_free(&tr);
            release_refresh(call, true, &e);
            finish_error(call, &e);
            return;
        }
        pthread_mutex_lock(&c->mu);
        int rc = zl_client_install_token_locked(c, tr.access_token, zl_client_wall(c) + tr.expires_in,
                                                tr.expires_in);
        if (api) { free(c->api_domain); c->api_domain = api; }
        if (rc == 0) c->refreshes++;
        pthread_mutex_unlock(&c->mu);
        zl_token_reply_free(&tr);
        if (rc) { oom_fail(call); return; }
        release_refresh(call, false, NULL);
        call->state = S_START;
        return;
    }
    if (e.retryable) {
        backoff_or_fail(call, &e, call->token_attempts);   /* keeps owning the refresh while waiting */
        return;
    }
    release_refresh(call, true, &e);
    finish_error(call, &e);
}

void zl_call_feed(zl_call *call, int status, const char *body, size_t len, zl_transport_error terr) {
    if (call->state == S_TOKEN_SENT) {
        feed_token_reply(call, status, body, len, terr);
        return;
    }
    if (call->state != S_SENT) return;   /* nothing pending: ignore */
    zl_op_kind k = call->phase == PH_RECONCILE ? ZL_OP_LIST : call->kind;
    zl_classified r;
    zl_response_classify(k, status, body, len, terr, &r);
    zl_client *c = call->c;
    switch (r.outcome) {
    case ZL_OUT_OK:
        if (call->phase == PH_RECONCILE) {
            char id[ZL_ID_MAX + 1];
            if (!r.empty && zl_response_find_manual_lock(body, len, call->reason, id)) {
                finish_ok(call, status, body, len, id, true);
            } else if (call->have_saved) {
                finish_error(call, &call->saved);
                call->have_saved = false;
            } else {
                call->phase = PH_MAIN;        /* it did not land: lock again */
                call->state = S_START;
            }
        } else {
            finish_ok(call, status, body, len, r.lock_id[0] ? r.lock_id : call->given_lock_id, false);
        }
        break;
    case ZL_OUT_BAD_TOKEN:
        if (c->can_refresh && !call->refreshed_on_401) {
            call->refreshed_on_401 = true;
            pthread_mutex_lock(&c->mu);
            if (c->token_gen == call->used_gen) c->token_invalid = true;
            pthread_mutex_unlock(&c->mu);
            call->attempts--;                 /* the retry with a new token is free */
            zl_error_clear(&r.err);
            call->state = S_START;
        } else {
            finish_error(call, &r.err);
        }
        break;
    case ZL_OUT_ALREADY_LOCKED:
        if (call->ambiguous_seen) {
            zl_error_clear(&call->saved);
            call->saved = r.err;              /* moved: r.err no longer owns details */
            memset(&r.err, 0, sizeof r.err);
            call->have_saved = true;
            call->phase = PH_RECONCILE;
            call->state = S_START;
        } else {
            finish_error(call, &r.err);
        }
        break;
    case ZL_OUT_NOT_FOUND:
        if (call->kind == ZL_OP_UNLOCK && call->ambiguous_seen) {
            zl_error_clear(&r.err);
            finish_ok(call, 200, "", 0, call->given_lock_id, true);
        } else {
            finish_error(call, &r.err);
        }
        break;
    case ZL_OUT_AMBIGUOUS:
        if (call->kind == ZL_OP_REQUEST && !call->req.idempotent) {
            finish_error(call, &r.err);       /* never re-send a non-idempotent generic call */
            break;
        }
        call->ambiguous_seen = true;
        if (call->kind == ZL_OP_LOCK) call->phase = PH_RECONCILE;
        backoff_or_fail(call, &r.err, call->attempts);
        break;
    case ZL_OUT_RETRY:
        backoff_or_fail(call, &r.err, call->attempts);
        break;
    case ZL_OUT_ERROR:
        finish_error(call, &r.err);
        break;
    }
    zl_error_clear(&r.err);
}

void zl_call_feed_token(zl_call *call, const char *token, double expires_at) {
    zl_client *c = call->c;
    if (!token || !*token) return;
    pthread_mutex_lock(&c->mu);
    zl_client_install_token_locked(c, token, expires_at, 0);
    pthread_mutex_unlock(&c->mu);
    if (call->state == S_TOKEN_SENT) {
        release_refresh(call, false, NULL);
        call->state = S_START;
    } else {
        pthread_mutex_lock(&c->mu);
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
}

void zl_call_cancel(zl_call *call, const char *code, const char *message) {
    if (call->state == S_DONE) return;
    zl_error e = {0};
    zl_err_set(&e, code ? code : "CANCELLED", 0, false, "%s", message ? message : "cancelled");
    release_refresh(call, false, NULL);
    finish_error(call, &e);
}

bool zl_call_result(const zl_call *call, zl_result *res, const zl_error **err) {
    if (call->state != S_DONE) {
        if (err) *err = NULL;
        return false;
    }
    if (!call->ok) {
        if (err) *err = &call->err;
        return false;
    }
    if (res) {
        res->http_status = call->http_status;
        res->body = call->body;
        res->body_len = call->body_len;
        res->lock_id = call->lock_id[0] ? call->lock_id : NULL;
        res->reconciled = call->reconciled;
        res->attempts = call->attempts;
    }
    return true;
}

zl_client *zl_call_client(zl_call *call) { return call->c; }

void zl_call_free(zl_call *call) {
    if (!call) return;
    release_refresh(call, false, NULL);
    clear_step_bufs(call);
    zl_request_free(&call->req);
    zl_request_free(&call->list_req);
    free(call->reason);
    free(call->given_lock_id);
    zl_error_clear(&call->saved);
    zl_error_clear(&call->wait_reason);
    zl_error_clear(&call->err);
    free(call->body);
    zl_client_free(call->c);
    free(call);
}
