/* OAuth 2.0 token endpoint (POST /oauth/v2/token) and access token checks.
 * Rules: the static token (demo or --access-token) is valid from start and never expires
 * (POST /__emu/faults {"revoke_tokens":true} kills it and every minted token until the next
 * reset). Minted tokens live token_ttl seconds (--token-ttl, run-time changeable). A refresh token (or client, for
 * client_credentials) mints at most 10 tokens per 10 minutes; then "Access Denied". At most
 * 15 of its tokens live at once: the 16th mint invalidates the oldest (401 on it). The
 * authorization_code grant exchanges EMU_DEMO_GRANT_CODE (once per reset) for the refresh
 * token, as Zoho's self client does.
 * Token endpoint errors are HTTP 200 with {"error":...}, as Zoho's accounts server does. */
#include "emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINT_WINDOW 600.0
#define LIVE_MAX 15
#define EMU_FULL_SCOPE "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.users.READ ZohoCRM.coql.READ"

int emu_token_user(emu_server *s, const char *tok, bool *scope_ok)
{
    *scope_ok = true;
    if (!tok || !*tok) return -1;
    int user = -1;
    double now = emu_mono();
    pthread_mutex_lock(&s->mu);
    if (!s->static_revoked && strcmp(tok, s->opts.access_token) == 0) user = 0;
    else if (!s->static_revoked && strcmp(tok, EMU_STANDARD_ACCESS_TOKEN) == 0) user = EMU_STANDARD_USER;
    for (emu_token *t = s->tokens; user < 0 && t; t = t->next)
        if (strcmp(t->tok, tok) == 0 && now < t->expires) { user = 0; *scope_ok = t->crm_scope; }
    pthread_mutex_unlock(&s->mu);
    return user;
}

static void free_tokens(emu_server *s)
{
    for (emu_token *t = s->tokens, *n; t; t = n) { n = t->next; free(t); }
    s->tokens = NULL;
    free(s->mints);
    s->mints = NULL;
    s->nmints = 0;
}

void emu_oauth_reset(emu_server *s)
{
    pthread_mutex_lock(&s->mu);
    free_tokens(s);
    s->static_revoked = false;
    s->grant_used = false;
    s->started = emu_mono();
    pthread_mutex_unlock(&s->mu);
}

void emu_oauth_free(emu_server *s) { free_tokens(s); }

/* Called with s->mu held. */
void emu_oauth_revoke_all(emu_server *s)
{
    for (emu_token *t = s->tokens; t; t = t->next) t->expires = 0;
    s->static_revoked = true;
}

static void oauth_error(emu_ctx *c, const char *e)
{
    emu_reply_json(c, 200, json_pack("{s:s}", "error", e));
}

/* Takes one mint slot for key; false when mint_limit (10) were used in the last 10 minutes. mu held. */
static bool mint_slot(emu_server *s, const char *key, double now)
{
    emu_mint_hist *h = NULL;
    for (size_t i = 0; i < s->nmints; i++)
        if (strcmp(s->mints[i].key, key) == 0) h = &s->mints[i];
    if (!h) {
        s->mints = emu_xrealloc(s->mints, (s->nmints + 1) * sizeof *s->mints);
        h = &s->mints[s->nmints++];
        memset(h, 0, sizeof *h);
        snprintf(h->key, sizeof h->key, "%s", key);
    }
    int k = 0;
    for (int i = 0; i < h->n; i++)
        if (now - h->t[i] < MINT_WINDOW) h->t[k++] = h->t[i];
    h->n = k;
    if (h->n >= s->faults.mint_limit) return false;
    h->t[h->n++] = now;
    h->total++;
    return true;
}

/* Before a mint for key: when LIVE_MAX of its tokens live, the oldest dies. mu held. */
static void enforce_live_max(emu_server *s, const char *key, double now)
{
    int live = 0;
    emu_token *oldest = NULL;
    for (emu_token *t = s->tokens; t; t = t->next) {
        if (t->expires <= now || strcmp(t->key, key) != 0) continue;
        live++;
        if (!oldest || t->minted < oldest->minted) oldest = t;
    }
    if (live >= LIVE_MAX && oldest) oldest->expires = 0;
}

void emu_oauth_stats(emu_server *s, json_t *j)
{
    json_t *by = json_object();
    double now = emu_mono();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nmints; i++) {
        const char *k = s->mints[i].key;
        int live = 0;
        for (emu_token *t = s->tokens; t; t = t->next)
            if (t->expires > now && strcmp(t->key, k) == 0) live++;
        char label[140];
        size_t n = strlen(k);
        if (strncmp(k, "cc:", 3) == 0 || n <= 6) snprintf(label, sizeof label, "%s", k);
        else snprintf(label, sizeof label, "...%s", k + n - 6);
        json_object_set_new(by, label, json_pack("{s:I,s:i}", "minted", (json_int_t)s->mints[i].total, "live", live));
    }
    pthread_mutex_unlock(&s->mu);
    json_object_set_new(j, "tokens_by_refresh_token", by);
}

/* Mints a token for key; rt: the refresh token to hand out too (authorization_code), or NULL. */
static void mint(emu_ctx *c, const char *key, const char *scope, bool crm, const char *rt)
{
    emu_server *s = c->s;
    double now = emu_mono();
    pthread_mutex_lock(&s->mu);
    if (!mint_slot(s, key, now)) {
        pthread_mutex_unlock(&s->mu);
        json_t *j = json_object();
        json_object_set_new(j, "error", json_string("Access Denied"));
        json_object_set_new(j, "error_description", json_string(
            "You have made too many requests continuously. Please try again after some time."));
        json_object_set_new(j, "status", json_string("failure"));
        emu_reply_json(c, 200, j);
        return;
    }
    /* drop expired tokens */
    for (emu_token **pp = &s->tokens; *pp;) {
        if ((*pp)->expires <= now) { emu_token *d = *pp; *pp = d->next; free(d); }
        else pp = &(*pp)->next;
    }
    enforce_live_max(s, key, now);
    emu_token *t = emu_xcalloc(1, sizeof *t);
    snprintf(t->key, sizeof t->key, "%s", key);
    t->minted = now;
    uint64_t a = emu_rng_next(&s->rng), b = emu_rng_next(&s->rng), d = emu_rng_next(&s->rng);
    snprintf(t->tok, sizeof t->tok, "1000.%016llx%016llx.%016llx", (unsigned long long)a,
             (unsigned long long)b, (unsigned long long)d);
    long ttl = s->faults.token_ttl;
    t->expires = now + (double)ttl;
    t->crm_scope = crm;
    t->next = s->tokens;
    s->tokens = t;
    char tok[80];
    memcpy(tok, t->tok, sizeof tok);
    int port = s->port;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&s->stats.tokens_minted, 1);
    char dom[128];
    snprintf(dom, sizeof dom, "http://%s:%d", s->opts.listen_host, port);
    json_t *j = json_object();
    json_object_set_new(j, "access_token", json_string(tok));
    if (rt) json_object_set_new(j, "refresh_token", json_string(rt));
    json_object_set_new(j, "scope", emu_jstr(scope));
    json_object_set_new(j, "api_domain", json_string(dom));
    json_object_set_new(j, "token_type", json_string("Bearer"));
    json_object_set_new(j, "expires_in", json_integer(ttl));
    emu_reply_json(c, 200, j);
}

void emu_oauth_route(emu_ctx *c)
{
    emu_server *s = c->s;
    if (strcmp(c->method, "POST") != 0) {
        emu_reply_error(c, 405, "INVALID_REQUEST_METHOD",
                        "The http request method type is not a valid one", NULL);
        return;
    }
    const char *gt = emu_query(c, "grant_type");
    const char *id = emu_query(c, "client_id"), *secret = emu_query(c, "client_secret");
    if (!gt || !*gt) { oauth_error(c, "invalid_request"); return; }
    bool refresh = strcmp(gt, "refresh_token") == 0;
    bool cc = strcmp(gt, "client_credentials") == 0;
    bool code = strcmp(gt, "authorization_code") == 0;
    if (!refresh && !cc && !code) { oauth_error(c, "unsupported_grant_type"); return; }
    if (!id || !secret || strcmp(id, s->opts.client_id) != 0 || strcmp(secret, s->opts.client_secret) != 0) {
        oauth_error(c, "invalid_client");
        return;
    }
    if (refresh) {
        const char *rt = emu_query(c, "refresh_token");
        if (!rt || strcmp(rt, s->opts.refresh_token) != 0) { oauth_error(c, "invalid_code"); return; }
        mint(c, rt, EMU_FULL_SCOPE, true, NULL);
    } else if (code) {
        const char *g = emu_query(c, "code");
        pthread_mutex_lock(&s->mu);
        bool ok = g && strcmp(g, EMU_DEMO_GRANT_CODE) == 0 && !s->grant_used;
        if (ok) s->grant_used = true;
        pthread_mutex_unlock(&s->mu);
        if (!ok) { oauth_error(c, "invalid_code"); return; }
        mint(c, s->opts.refresh_token, EMU_FULL_SCOPE, true, s->opts.refresh_token);
    } else {
        const char *scope = emu_query(c, "scope");
        if (!scope || !*scope) { oauth_error(c, "invalid_scope"); return; }
        char key[128];
        snprintf(key, sizeof key, "cc:%s", id);
        mint(c, key, scope, strstr(scope, "ZohoCRM.") != NULL, NULL);
    }
}
