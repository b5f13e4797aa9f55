/* token_share.c - the driver side of a token store: before a refresh is performed, use a
 * token another process stored, else take the store's refresh lock (and look once more);
 * after it, save the new token for all and release the lock. Blocking (bounded by the
 * client's timeouts). A store that fails is dropped for the client's life with one warning
 * on stderr: calls go on with a per-process token. zl_client_store_token saves a token minted
 * outside the refresh flow (a grant code's exchange) the same way; its failure is the caller's
 * to report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "call_internal.h"
#include "client_internal.h"
#include "sha256.h"
#include "token_store.h"

typedef struct zl_token_share {
    zl_token_store *store;
    const zl_call *locked_by;   /* the call whose refresh holds the store lock, or NULL */
    bool warned;
} zl_token_share;

void zl_token_store_key(const zl_client *c, char out[65]) {
    const char *parts[] = { c->accounts_domain, c->client_id, c->refresh_token };
    zl_sha256_hex(parts, 3, out);
}

int zl_token_share_open(zl_client *c, const char *kind, const char *url, const char *dir, zl_error *err) {
    bool has_url = url && *url;
    if (!kind || !*kind) kind = has_url ? "redis" : "file";
    if (strcmp(kind, "none") != 0 && strcmp(kind, "file") != 0 && strcmp(kind, "redis") != 0) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "token_store must be none, file or redis");
        return -1;
    }
    if (strcmp(kind, "redis") == 0 && !has_url) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "token_store redis needs redis_url");
        return -1;
    }
    if (!c->can_refresh || strcmp(kind, "none") == 0) return 0;   /* nothing to share */
    char why[200] = "";
    zl_token_store *s = strcmp(kind, "redis") == 0 ? zl_token_redis_store(c, url, why, sizeof why)
                                                   : zl_token_file_store(c, dir, why, sizeof why);
    if (!s) {
        if (strcmp(kind, "redis") == 0) {
            zl_err_set(err, "INVALID_ARGUMENT", 0, false, "redis_url %s", why);
            return -1;
        }
        return 0;   /* no HOME nor XDG_CACHE_HOME: nowhere to share, per-process token */
    }
    if (!(c->share = calloc(1, sizeof *c->share))) {
        s->free(s);
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return -1;
    }
    c->share->store = s;
    return 0;
}

void zl_token_share_close(zl_client *c) {
    zl_token_share *sh = c->share;
    if (!sh) return;
    if (sh->store) {
        if (sh->locked_by) sh->store->unlock(sh->store);
        sh->store->free(sh->store);
    }
    free(sh);
    c->share = NULL;
}

double zl_client_stored_token_expiry(zl_client *c) {
    zl_token_share *sh = c->share;
    zl_stored_token t;
    char why[200];
    const char *bad;
    if (!sh || !sh->store || sh->store->load(sh->store, &t, why, sizeof why) != 1) return -1;
    if (t.api_domain[0]) zl_client_learn_api_domain(c, t.api_domain, &bad);
    return t.expires_at;
}

const char *zl_client_token_store(const zl_client *c) {
    return c->share ? c->share->store->name : "none";
}

/* The client's current token as a store entry: false when it has none worth sharing (none,
 * known invalid, a failed refresh, or too long for an entry). A fixed domain is not shared. */
static bool entry_of(zl_client *c, zl_stored_token *t) {
    memset(t, 0, sizeof *t);
    pthread_mutex_lock(&c->mu);
    bool fresh = c->token && !c->token_invalid && c->refresh_failed == false &&
                 strlen(c->token) < sizeof t->token && strlen(c->api_domain) < sizeof t->api_domain;
    if (fresh) {
        strcpy(t->token, c->token);
        t->expires_at = c->token_expires_at;
        if (!c->api_domain_fixed) strcpy(t->api_domain, c->api_domain);
    }
    pthread_mutex_unlock(&c->mu);
    return fresh;
}

int zl_client_store_token(zl_client *c, const char *token, double expires_at, const char *api_domain,
                          zl_error *err) {
    if (!zl_token_ok(token)) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "access token is empty or holds control characters");
        return -1;
    }
    if (strlen(token) >= ZL_STORED_TOKEN_MAX) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "access token is longer than a token store holds (%d bytes)",
                   ZL_STORED_TOKEN_MAX - 1);
        return -1;
    }
    if (!(expires_at >= 0 && expires_at < 1e11)) {   /* NaN, infinities, negatives */
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "expires_at must be Unix seconds (0: unknown)");
        return -1;
    }
    if (api_domain && *api_domain) {   /* checked even when fixed: bad input is refused, not ignored */
        const char *why = NULL;
        char *norm = zl_url_normalize(api_domain, &why);
        bool too_long = norm && strlen(norm) >= ZL_STORED_DOMAIN_MAX;
        if (!norm || too_long) {
            zl_err_set(err, "INVALID_ARGUMENT", 0, false, "api_domain %s", too_long ? "is too long" : why);
            free(norm);
            return -1;
        }
        free(norm);
        if (zl_client_learn_api_domain(c, api_domain, &why)) {   /* the domain rule */
            zl_err_set(err, "INTERNAL", 0, false, "out of memory");
            return -1;
        }
    }
    if (zl_client_set_token(c, token, expires_at)) {
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return -1;
    }
    zl_token_share *sh = c->share;
    if (!sh || !sh->store) return 0;
    zl_stored_token t;
    if (!entry_of(c, &t)) {
        zl_err_set(err, "INTERNAL", 0, false, "the installed token cannot be stored");
        return -1;
    }
    /* Under the refresh lock, as a refresh saves: a process whose refresh of this key began before
     * the save waits for the lock, looks once more and takes this token instead of minting. A
     * lock still held after the wait is a holder that outlived it: saved without, as a refresh
     * goes on without it. A call of this client mid-refresh already holds it. */
    char why[200] = "";
    long ms = c->net.connect_timeout_ms + c->net.timeout_ms;
    int locked = sh->locked_by ? 0 : sh->store->lock(sh->store, ms, ms, why, sizeof why);
    int saved = locked < 0 ? -1 : sh->store->save(sh->store, &t, why, sizeof why);
    if (locked > 0) sh->store->unlock(sh->store);
    if (saved) {
        zl_err_set(err, "TRANSPORT", 0, false, "%s token store: %s: %s", sh->store->name,
                   locked < 0 ? "lock" : "save", why);
        return -1;
    }
    return 1;
}

/* The store failed: say so once, and go on without it. */
static void drop(zl_client *c, const char *what, const char *why) {
    zl_token_share *sh = c->share;
    if (!sh->warned)
        fprintf(stderr, "zlock: warning: %s token store unusable (%s: %s); using a per-process access token\n",
                sh->store->name, what, why);
    sh->warned = true;
    if (sh->locked_by) sh->store->unlock(sh->store);
    sh->locked_by = NULL;
    sh->store->free(sh->store);
    sh->store = NULL;
}

static bool usable(zl_client *c, const zl_stored_token *t) {
    pthread_mutex_lock(&c->mu);
    bool same = c->token && strcmp(c->token, t->token) == 0;   /* the token being replaced */
    pthread_mutex_unlock(&c->mu);
    return !same && zl_token_ok(t->token) && (t->expires_at == 0 || t->expires_at > zl_client_wall(c) + 1);
}

/* Loads the store's entry; true when it holds a usable token (then fed to the call). */
static bool try_stored(zl_call *call) {
    zl_client *c = call->c;
    zl_token_share *sh = c->share;
    zl_stored_token t;
    char why[200] = "";
    int rc = sh->store->load(sh->store, &t, why, sizeof why);
    if (rc < 0) { drop(c, "load", why); return false; }
    if (rc == 0 || !usable(c, &t)) return false;
    const char *bad = NULL;
    if (t.api_domain[0] && zl_client_learn_api_domain(c, t.api_domain, &bad)) return false;
    zl_call_feed_token(call, t.token, t.expires_at);
    return true;
}

zl_share_verdict zl_call_token_share_before(zl_call *call) {
    zl_client *c = call->c;
    zl_token_share *sh = c->share;
    if (!sh || !sh->store) return ZL_SHARE_SEND;
    if (sh->locked_by == call) return ZL_SHARE_SEND;   /* our refresh again, after a backoff */
    if (sh->locked_by) {                 /* its owner was freed mid-refresh: the lock is stale */
        sh->store->unlock(sh->store);
        sh->locked_by = NULL;
    }
    if (try_stored(call)) return ZL_SHARE_FED;
    if (!sh->store) return ZL_SHARE_SEND;
    long ms = c->net.connect_timeout_ms + c->net.timeout_ms;
    char why[200] = "";
    int rc = sh->store->lock(sh->store, ms, ms, why, sizeof why);
    if (rc < 0) { drop(c, "lock", why); return ZL_SHARE_SEND; }
    if (rc == 0) return ZL_SHARE_SEND;   /* the holder outlived its lock: refresh without it */
    sh->locked_by = call;
    if (try_stored(call)) {              /* minted while we waited for the lock */
        if (sh->store) sh->store->unlock(sh->store);
        sh->locked_by = NULL;
        return ZL_SHARE_FED;
    }
    return ZL_SHARE_SEND;
}

void zl_call_token_share_after(zl_call *call) {
    zl_client *c = call->c;
    zl_token_share *sh = c->share;
    if (!sh || !sh->store || sh->locked_by != call || call->owns_refresh) return;   /* none, or still retrying */
    zl_stored_token t;
    bool fresh = entry_of(c, &t);
    char why[200] = "";
    if (fresh && sh->store->save(sh->store, &t, why, sizeof why)) { drop(c, "save", why); return; }
    sh->store->unlock(sh->store);
    sh->locked_by = NULL;
}
