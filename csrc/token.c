/* token.c - how a call gets its access token: use the client's token while it is valid;
 * when it is missing, expiring (refresh ahead) or condemned by a 401, exactly one call of
 * the client owns the refresh (a SEND with is_token_request) and the others get
 * WAIT_TOKEN until it ends (single flight; threads block in zl_client_await_token). A
 * failed refresh fails its waiters with the same error; a freed owner hands the refresh
 * over. No I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "call_internal.h"
#include "client_internal.h"

void zl_call_release_refresh(zl_call *call, bool failed, const zl_error *e) {
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


/* The domain rule: a domain named with a token (Zoho's reply, or a token store) is the API
 * domain unless the user fixed it (explicit api_domain, or env sandbox / developer). */
int zl_client_learn_api_domain(zl_client *c, const char *domain, const char **why) {
    pthread_mutex_lock(&c->mu);
    bool fixed = c->api_domain_fixed;
    pthread_mutex_unlock(&c->mu);
    if (fixed) return 0;
    char *api = zl_url_normalize(domain, why);
    if (!api) return -1;
    pthread_mutex_lock(&c->mu);
    free(c->api_domain);
    c->api_domain = api;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* Decides how this call gets a token (client mutex held inside). */
zl_token_verdict zl_call_token_check(zl_call *call, zl_error *e) {
    zl_client *c = call->c;
    double now = zl_client_wall(c);
    zl_token_verdict v;
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

bool zl_call_prepare_token_send(zl_call *call) {
    zl_client *c = call->c;
    zl_buf b = {0};
    zl_buf_addf(&b, "%s/oauth/v2/token", c->accounts_domain);
    call->url = b.p;
    call->token_body = zl_auth_refresh_body(c->client_id, c->client_secret, c->refresh_token);
    if (!zl_buf_str(&b) || !call->token_body) return zl_call_oom_fail(call);
    call->headers[0] = ZL_CT_FORM;
    call->nheaders = 1;
    call->send_method = "POST";
    call->send_body = call->token_body;
    call->send_idempotent = true;   /* minting a token twice is harmless */
    call->token_attempts++;
    call->state = S_TOKEN_SENT;
    return true;
}

void zl_call_feed_token_reply(zl_call *call, int status, const char *body, size_t len,
                             zl_transport_error terr) {
    zl_client *c = call->c;
    zl_token_reply tr;
    zl_error e = {0};
    if (zl_auth_parse_reply(status, body, len, terr, &tr, &e) == 0) {
        const char *why = NULL;
        if (tr.api_domain && zl_client_learn_api_domain(c, tr.api_domain, &why)) {
            zl_err_set(&e, "TOKEN", status, false, "token reply names an unusable api_domain (%s)", why);
            zl_token_reply_free(&tr);
            zl_call_release_refresh(call, true, &e);
            zl_call_finish_error(call, &e);
            return;
        }
        pthread_mutex_lock(&c->mu);
        int rc = zl_client_install_token_locked(c, tr.access_token, zl_client_wall(c) + tr.expires_in,
                                                tr.expires_in);
        if (rc == 0) c->refreshes++;
        pthread_mutex_unlock(&c->mu);
        zl_token_reply_free(&tr);
        if (rc) { zl_call_oom_fail(call); return; }
        zl_call_release_refresh(call, false, NULL);
        call->state = S_START;
        return;
    }
    if (e.retryable) {
        zl_call_backoff_or_fail(call, &e, call->token_attempts);   /* keeps owning the refresh while waiting */
        return;
    }
    zl_call_release_refresh(call, true, &e);
    zl_call_finish_error(call, &e);
}

void zl_call_feed_token(zl_call *call, const char *token, double expires_at) {
    zl_client *c = call->c;
    if (!token || !*token) return;
    if (!zl_token_ok(token)) {
        zl_error e = {0};
        zl_err_set(&e, "TOKEN", 0, false, "refused a stored access token that holds control characters");
        zl_call_release_refresh(call, true, &e);
        zl_call_finish_error(call, &e);
        return;
    }
    pthread_mutex_lock(&c->mu);
    zl_client_install_token_locked(c, token, expires_at, 0);
    pthread_mutex_unlock(&c->mu);
    if (call->state == S_TOKEN_SENT) {
        zl_call_release_refresh(call, false, NULL);
        call->state = S_START;
    } else {
        pthread_mutex_lock(&c->mu);
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
}

