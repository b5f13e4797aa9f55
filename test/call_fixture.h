/* call_fixture.h - what the call tests share: a client on a fake clock (no sockets, no
 * sleeps), a call on one Deals record, canned Zoho replies. Static: each test includes it once. */
#ifndef ZLOCK_CALL_FIXTURE_H
#define ZLOCK_CALL_FIXTURE_H

#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "internal.h"

static int64_t now_ms;
static int64_t mono(void *ud) { (void)ud; return now_ms; }
static double wall(void *ud) { (void)ud; return 1.7e9 + (double)now_ms / 1000.0; }

#define SECRET "zz-client-secret-zz"
#define RTOKEN "1000.zz-refresh-token"

static zl_client *mk(bool refresh, const char *token, int attempts) {
    zl_config c;
    zl_config_init(&c);
    c.api_domain = "https://api.test";
    c.accounts_domain = "https://accounts.test";
    c.access_token = token;
    if (refresh) { c.client_id = "1000.ID"; c.client_secret = SECRET; c.refresh_token = RTOKEN; }
    c.mono_ms = mono; c.wall = wall; c.seed = 99;
    c.base_delay_ms = 10; c.max_delay_ms = 100; c.max_attempts = attempts;
    zl_error e = {0};
    zl_client *cl = zl_client_new(&c, &e);
    if (!cl) printf("# client: %s\n", e.message);
    zl_error_clear(&e);
    return cl;
}

static zl_call *mkcall(zl_client *c, zl_op_kind k, const char *lock_id, const char *reason) {
    zl_op op = { .kind = k, .module = "Deals", .record_id = "5843104000001068086", .lock_id = lock_id, .reason = reason };
    zl_error e = {0};
    zl_call *call = zl_call_new(c, &op, &e);
    zl_error_clear(&e);
    return call;
}

static void feed(zl_call *call, int st, const char *body) { zl_call_feed(call, st, body, body ? strlen(body) : 0, ZL_TERR_NONE); }

static bool has_header(const zl_step *s, const char *h) {
    for (size_t i = 0; i < s->nheaders; i++) if (strcmp(s->headers[i], h) == 0) return true;
    return false;
}

static const char *LOCKED = "{\"data\":[{\"code\":\"SUCCESS\",\"details\":{\"id\":\"111\"},\"message\":\"record added\",\"status\":\"success\"}]}";
static const char *E500 = "{\"code\":\"INTERNAL_ERROR\",\"details\":{},\"message\":\"Internal Server Error\",\"status\":\"error\"}";
static const char *E401 = "{\"code\":\"INVALID_TOKEN\",\"details\":{},\"message\":\"invalid oauth token\",\"status\":\"error\"}";
static const char *E429 = "{\"code\":\"TOO_MANY_REQUESTS\",\"details\":{},\"message\":\"too many\",\"status\":\"error\"}";
static const char *ALREADY = "{\"code\":\"NOT_ALLOWED\",\"details\":{\"resource_path_index\":1},\"message\":\"record is already locked\",\"status\":\"error\"}";
static const char *NOTFOUND = "{\"code\":\"INVALID_DATA\",\"details\":{\"resource_path_index\":3},\"message\":\"relation not found\",\"status\":\"error\"}";
static const char *REMOVED = "{\"data\":[{\"code\":\"SUCCESS\",\"details\":{\"id\":\"111\"},\"message\":\"relation removed\",\"status\":\"success\"}]}";
static const char *TOKEN_OK = "{\"access_token\":\"1000.fresh-token\",\"expires_in\":3600,\"api_domain\":\"https://www.zohoapis.eu\",\"token_type\":\"Bearer\"}";

/* Marks the fixture's helpers used: a test file may not need all of them. */
static inline void fixture_used(void) {
    (void)mk; (void)mkcall; (void)feed; (void)has_header; (void)LOCKED; (void)E500; (void)E401; (void)E429;
    (void)ALREADY; (void)NOTFOUND; (void)REMOVED; (void)TOKEN_OK;
}

#endif
