/* call.c - one operation as a state machine that performs no I/O (sans-I/O).
 *
 *   START --token ok--> SEND main request --feed--> classify:
 *     ok ............................................ DONE (LOCKED, UPDATED, UNLOCKED, GOT, DONE)
 *     429 / connect failure ......................... WAIT backoff, START
 *     5xx / timeout / dropped reply (ambiguous) ..... WAIT backoff; a LOCK then reconciles:
 *          SEND GET list -> our Manual lock (same reason) found: DONE (LOCKED, reconciled)
 *                        -> not found: SEND the POST again
 *     401 INVALID_TOKEN (refresh flow, once) ........ condemn the token, START (refresh)
 *     LOCK 403 "already locked" ..................... after an ambiguity or with op.rerun:
 *          reconcile as above, another lock: DONE (ALREADY_LOCKED); else DONE (ALREADY_LOCKED)
 *     UNLOCK "relation not found" ................... DONE: UNLOCKED (reconciled) after an
 *          ambiguity, else ALREADY_UNLOCKED
 *   UNLOCK without a lock id starts with SEND GET list (call_phase.c): no lock: DONE
 *   (ALREADY_UNLOCKED), else the picked lock's DELETE as the main request.
 *   The reads (the GET lists) do not count against max_attempts: each gets its own tries.
 *   A call created with zl_call_after_ambiguous() (a restart of an operation whose earlier
 *   call had an ambiguous failure) starts as if one of its own attempts had been ambiguous.
 *   START --token missing/expiring--> one call of the client owns the refresh (SEND to
 *     the accounts server, is_token_request); the others get WAIT_TOKEN until it ends
 *     (token.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "call_internal.h"

const char ZL_CT_JSON[] = "Content-Type: application/json";
const char ZL_CT_FORM[] = "Content-Type: application/x-www-form-urlencoded";

void zl_call_scrub(zl_call *call, zl_error *e) { zl_client_scrub(call->c, e); }

void zl_call_finish_error(zl_call *call, zl_error *e) {
    zl_error_clear(&call->err);
    call->err = *e;             /* takes ownership of details */
    memset(e, 0, sizeof *e);
    zl_call_scrub(call, &call->err);
    call->ok = false;
    call->state = S_DONE;
}

void zl_call_finish_ok(zl_call *call, zl_outcome outcome, int status, const char *body, size_t len,
                       const char *lock_id, bool reconciled, zl_error *why) {
    free(call->body);
    call->body = malloc(len + 1);
    if (!call->body) {
        if (why) zl_error_clear(why);
        zl_error e = {0};
        zl_err_set(&e, "INTERNAL", 0, false, "out of memory");
        zl_call_finish_error(call, &e);
        return;
    }
    if (len) memcpy(call->body, body, len);
    call->body[len] = '\0';
    call->body_len = len;
    call->http_status = status;
    snprintf(call->lock_id, sizeof call->lock_id, "%s", lock_id ? lock_id : "");
    call->reconciled = reconciled;
    call->outcome = outcome;
    zl_error_clear(&call->err);
    if (why) {
        call->err = *why;       /* takes ownership of details */
        memset(why, 0, sizeof *why);
        zl_call_scrub(call, &call->err);
    }
    call->ok = true;
    call->state = S_DONE;
}

zl_call *zl_call_new(zl_client *c, const zl_op *op, zl_error *err) {
    if (!c || !op) { zl_err_set(err, "INVALID_ARGUMENT", 0, false, "client and operation are required"); return NULL; }
    zl_call *call = calloc(1, sizeof *call);
    if (!call) { zl_err_set(err, "INTERNAL", 0, false, "out of memory"); return NULL; }
    if (zl_request_build(op, zl_client_api_version(c), &call->req, err)) { free(call); return NULL; }
    call->kind = op->kind;
    call->credits_left = -1;
    call->rerun = op->kind == ZL_OP_LOCK && op->rerun;
    bool oom = false;
    if (op->kind == ZL_OP_LOCK) oom = !(call->reason = zl_strdup0(op->reason));
    if (op->lock_id && op->kind != ZL_OP_REQUEST && op->kind != ZL_OP_LIST && op->kind != ZL_OP_LOCK)
        oom = oom || !(call->given_lock_id = zl_strdup0(op->lock_id));
    if (op->kind == ZL_OP_UNLOCK && !op->lock_id) {
        call->phase = PH_FIND;       /* which lock: the record's list says */
        oom = oom || !(call->record_id = zl_strdup0(op->record_id));
    }
    if (oom) {
        zl_request_free(&call->req);
        zl_request_free(&call->list_req);
        free(call->reason);
        free(call->given_lock_id);
        free(call->record_id);
        free(call);
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return NULL;
    }
    zl_client_ref(c);
    call->c = c;
    call->started_ms = zl_client_mono(c);
    return call;
}

void zl_call_after_ambiguous(zl_call *call) {
    if (!call || call->state != S_START || call->attempts || call->token_attempts) return;
    call->ambiguous_seen = true;
    if (call->kind == ZL_OP_LOCK) call->phase = PH_RECONCILE;   /* as after a lost POST reply */
}

void zl_call_transport_resends(zl_call *call) {
    if (!call || call->state != S_START || call->attempts || call->token_attempts) return;
    call->resends = true;                              /* any reply may answer a second copy */
    if (call->kind == ZL_OP_LOCK) call->rerun = true;  /* 'already locked': look for our lock */
}

bool zl_call_ambiguous(const zl_call *call) { return call && call->ambiguous_seen; }
int zl_call_throttled(const zl_call *call) { return call ? call->throttled : 0; }

static void clear_step_bufs(zl_call *call) {
    free(call->url); call->url = NULL;
    free(call->auth); call->auth = NULL;
    free(call->token_body); call->token_body = NULL;
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

bool zl_call_oom_fail(zl_call *call) {
    zl_error e = {0};
    zl_err_set(&e, "INTERNAL", 0, false, "out of memory");
    zl_call_release_refresh(call, false, NULL);
    zl_call_finish_error(call, &e);
    return false;
}

static bool prepare_main_send(zl_call *call) {
    zl_client *c = call->c;
    if (call->phase != PH_MAIN && !call->list_req.path) {
        /* built when first needed: the lock's own path + the list query */
        zl_buf lb = {0};
        zl_buf_adds(&lb, call->req.path);
        zl_buf_adds(&lb, "?fields=" ZL_LOCK_FIELDS);
        if (!zl_buf_str(&lb)) { zl_buf_free(&lb); return zl_call_oom_fail(call); }
        call->list_req.path = lb.p;
        call->list_req.method = "GET";
        call->list_req.idempotent = true;
    }
    const zl_request *r = call->phase != PH_MAIN ? &call->list_req : &call->req;
    zl_buf b = {0};
    zl_client_add_api_domain(c, &b);
    zl_buf_adds(&b, r->path);
    call->url = b.p;
    if (!zl_buf_str(&b)) return zl_call_oom_fail(call);
    call->headers[0] = call->auth;
    call->nheaders = 1;
    if (r->body) call->headers[call->nheaders++] = ZL_CT_JSON;
    call->send_method = r->method;
    call->send_body = r->body;
    call->send_idempotent = r->idempotent;
    call->attempts++;
    if (call->phase == PH_MAIN) call->sends++;
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
                s->reason = call->wait_reason;
                return;
            }
            if (call->wait_reason) zl_error_clear(call->wait_reason);
            call->state = S_START;
            continue;
        case S_START: {
            clear_step_bufs(call);
            zl_error e = {0};
            switch (zl_call_token_check(call, &e)) {
            case TK_FAIL:
                zl_call_finish_error(call, &e);
                continue;
            case TK_WAIT:
                s->kind = ZL_STEP_WAIT_TOKEN;
                s->token_seq = call->waited_seq;
                return;
            case TK_REFRESH:
                if (!zl_call_prepare_token_send(call)) continue;
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
void zl_call_backoff_or_fail(zl_call *call, zl_error *e, int failed) {
    zl_client *c = call->c;
    long elapsed = (long)(zl_client_mono(c) - call->started_ms);
    bool allowed;
    long delay = zl_client_backoff(c, failed, elapsed, &allowed);
    if (!allowed) {
        if (call->owns_refresh) zl_call_release_refresh(call, true, e);
        zl_call_finish_error(call, e);
        return;
    }
    if (!call->wait_reason && !(call->wait_reason = calloc(1, sizeof *call->wait_reason))) {
        if (call->owns_refresh) zl_call_release_refresh(call, true, e);
        zl_call_finish_error(call, e);      /* no memory to wait with: this failure stands */
        return;
    }
    zl_error_clear(call->wait_reason);
    *call->wait_reason = *e;
    memset(e, 0, sizeof *e);
    zl_call_scrub(call, call->wait_reason);
    call->wait_ms = delay;
    call->wait_attempt = failed;
    call->wait_emitted = false;
    call->state = S_BACKOFF;
}

void zl_call_feed_credits(zl_call *call, long remaining) {
    if (call) call->credits_left = remaining < 0 ? -1 : remaining;
}

/* A 429 that says the org has no credits left is final (see zl_call_feed_credits). */
static void credits_exhausted(zl_error *e) {
    zl_err_set(e, "CREDITS_EXHAUSTED", 429, false,
               "the org's API credits are spent (429 with X-API-CREDITS-REMAINING: 0); "
               "they come back over Zoho's rolling 24 h window");
}

static zl_outcome done_outcome(zl_op_kind k) {
    switch (k) {
    case ZL_OP_LOCK: return ZL_OUTCOME_LOCKED;
    case ZL_OP_UPDATE: return ZL_OUTCOME_UPDATED;
    case ZL_OP_UNLOCK: return ZL_OUTCOME_UNLOCKED;
    case ZL_OP_REQUEST: return ZL_OUTCOME_DONE;
    default: return ZL_OUTCOME_GOT;
    }
}

void zl_call_feed(zl_call *call, int status, const char *body, size_t len, zl_transport_error terr) {
    long credits = call->credits_left;
    call->credits_left = -1;                 /* it described this reply only */
    if (call->state == S_TOKEN_SENT) {
        zl_call_feed_token_reply(call, status, body, len, terr);
        return;
    }
    if (call->state != S_SENT) return;   /* nothing pending: ignore */
    zl_op_kind k = call->phase != PH_MAIN ? ZL_OP_LIST : call->kind;
    zl_classified r;
    zl_response_classify(k, status, body, len, terr, &r);
    if (r.outcome == ZL_OUT_RETRY && status == 429 && credits == 0) {
        zl_error_clear(&r.err);
        credits_exhausted(&r.err);
        r.outcome = ZL_OUT_ERROR;
    }
    zl_client *c = call->c;
    bool main = call->phase == PH_MAIN;
    switch (r.outcome) {
    case ZL_OUT_OK:
        if (main) {
            zl_call_finish_ok(call, done_outcome(call->kind), status, body, len,
                              r.lock_id[0] ? r.lock_id : call->given_lock_id, false, NULL);
        } else {
            call->read_fails = 0;
            zl_call_read_answered(call, status, body, r.empty ? 0 : len);
        }
        break;
    case ZL_OUT_BAD_TOKEN:
        if (zl_client_can_refresh(c) && !call->refreshed_on_401) {
            call->refreshed_on_401 = true;
            zl_client_condemn_token(c, call->used_gen);
            call->attempts--;                 /* the retry with a new token is free */
            if (main) call->sends--;
            zl_error_clear(&r.err);
            call->state = S_START;
        } else {
            zl_call_finish_error(call, &r.err);
        }
        break;
    case ZL_OUT_ALREADY_LOCKED:
        zl_call_already_locked(call, status, body, len, &r.err);
        break;
    case ZL_OUT_NOT_FOUND:
        if (call->kind != ZL_OP_UNLOCK) zl_call_finish_error(call, &r.err);
        else if (call->ambiguous_seen || call->resends)
            zl_call_finish_ok(call, ZL_OUTCOME_UNLOCKED, 200, "", 0, call->given_lock_id, true, NULL);
        else zl_call_finish_ok(call, ZL_OUTCOME_ALREADY_UNLOCKED, status, body, len, call->given_lock_id, false, &r.err);
        break;
    case ZL_OUT_AMBIGUOUS:
        if (call->kind == ZL_OP_REQUEST && !call->req.idempotent) {
            zl_call_finish_error(call, &r.err);       /* never re-send a non-idempotent generic call */
            break;
        }
        if (main) {                                  /* a read applies nothing */
            call->ambiguous_seen = true;
            if (call->kind == ZL_OP_LOCK) call->phase = PH_RECONCILE;
        }
        zl_call_backoff_or_fail(call, &r.err, main ? call->sends : ++call->read_fails);
        break;
    case ZL_OUT_RETRY:
        if (status == 429) call->throttled++;
        zl_call_backoff_or_fail(call, &r.err, main ? call->sends : ++call->read_fails);
        break;
    case ZL_OUT_ERROR:
        zl_call_finish_error(call, &r.err);
        break;
    }
    zl_error_clear(&r.err);
}

void zl_call_cancel(zl_call *call, const char *code, const char *message) {
    if (call->state == S_DONE) return;
    zl_error e = {0};
    zl_err_set(&e, code ? code : "CANCELLED", 0, false, "%s", message ? message : "cancelled");
    zl_call_release_refresh(call, false, NULL);
    zl_call_finish_error(call, &e);
}

bool zl_call_result(const zl_call *call, zl_result *res, const zl_error **err) {
    if (call->state != S_DONE) {
        if (err) *err = NULL;
        return false;
    }
    if (res) {
        memset(res, 0, sizeof *res);
        res->outcome = call->ok ? call->outcome : ZL_OUTCOME_FAILED;
        res->ambiguous = call->ambiguous_seen;
        res->attempts = call->attempts;
        res->body = "";
        if (call->ok) {
            res->http_status = call->http_status;
            res->body = call->body ? call->body : "";
            res->body_len = call->body_len;
            res->lock_id = call->lock_id[0] ? call->lock_id : NULL;
            res->reconciled = call->reconciled;
            res->why = call->err.code[0] ? &call->err : NULL;
        }
    }
    if (!call->ok) {
        if (err) *err = &call->err;
        return false;
    }
    return true;
}

zl_client *zl_call_client(zl_call *call) { return call->c; }

char *zl_call_take_body(zl_call *call, size_t *len) {
    if (call->state != S_DONE || !call->ok || !call->body) return NULL;
    char *b = call->body;
    *len = call->body_len;
    call->body = NULL;
    call->body_len = 0;
    return b;
}

void zl_call_free(zl_call *call) {
    if (!call) return;
    zl_call_release_refresh(call, false, NULL);
    clear_step_bufs(call);
    zl_request_free(&call->req);
    zl_request_free(&call->list_req);
    free(call->reason);
    free(call->given_lock_id);
    free(call->record_id);
    if (call->saved) zl_error_clear(call->saved);
    if (call->wait_reason) zl_error_clear(call->wait_reason);
    free(call->saved);
    free(call->wait_reason);
    zl_error_clear(&call->err);
    free(call->body);
    zl_client_free(call->c);
    free(call);
}
