/* core_call_test.c - the call state machine driven with canned replies (no sockets):
 * retries and their budgets, the credits-exhausted 429, refresh once on 401, single flight,
 * cancellation, no secret in errors, configuration, threads sharing a client. */
#include <pthread.h>
#include <time.h>
#include "call_fixture.h"

static void test_retry_500(void) {
    zl_client *c = mk(false, "1000.static", 5);
    zl_call *call = mkcall(c, ZL_OP_LIST, NULL, NULL);
    zl_step s;
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET") &&
       STREQ(s.url, "https://api.test/crm/v8/Deals/5843104000001068086/Locking_Information__s?fields=" ZL_LOCK_FIELDS) &&
       has_header(&s, "Authorization: Zoho-oauthtoken 1000.static"), "list: one GET with the token header");
    feed(call, 500, E500);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_WAIT && s.wait_ms >= 0 && s.wait_ms <= 10 && s.attempt == 1 && STREQ(s.reason->code, "INTERNAL_ERROR"),
       "500: WAIT with full jitter (<= base) and the reason");
    now_ms += s.wait_ms;
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET"), "then the same GET again");
    feed(call, 204, "");
    zl_call_next(call, &s);
    zl_result r;
    const zl_error *e;
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.http_status == 204 && r.attempts == 2,
       "204 after a retry: done, no lock, 2 attempts");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_GET_ONE, "9", NULL);
    int sends = 0;
    for (;;) {
        zl_call_next(call, &s);
        if (s.kind == ZL_STEP_DONE) break;
        if (s.kind == ZL_STEP_SEND) { sends++; feed(call, 429, E429); }
    }
    OK(sends == 5 && !zl_call_result(call, &r, &e) && STREQ(e->code, "TOO_MANY_REQUESTS") && e->retryable,
       "429 every time: stops after max_attempts (5) with a retryable TOO_MANY_REQUESTS");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_GET_ONE, "9", NULL);
    zl_call_next(call, &s);
    now_ms += 120000;   /* the reply comes past max_time (60 s) */
    feed(call, 500, E500);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "INTERNAL_ERROR"),
       "no retry once max_time has passed");
    zl_call_free(call);

    zl_op post = { .kind = ZL_OP_REQUEST, .method = "POST", .path = "Deals", .body = "{}", .idempotent = -1 };
    zl_error err = {0};
    call = zl_call_new(c, &post, &err);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && !s.idempotent && has_header(&s, "Content-Type: application/json"),
       "generic POST: not idempotent, JSON content type");
    zl_call_feed(call, 0, NULL, 0, ZL_TERR_TIMEOUT);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "TIMEOUT"),
       "generic POST after a timeout: not re-sent");
    zl_call_free(call);
    zl_client_free(c);
}

static void test_refresh_on_401(void) {
    zl_client *c = mk(true, "1000.old-token", 3);
    zl_call *call = mkcall(c, ZL_OP_UNLOCK, "111", NULL);
    zl_step s;
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && has_header(&s, "Authorization: Zoho-oauthtoken 1000.old-token") && STREQ(s.method, "DELETE"),
       "unlock sent with the configured token");
    feed(call, 401, E401);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && s.is_token_request && STREQ(s.url, "https://accounts.test/oauth/v2/token") &&
       STREQ(s.method, "POST") && strstr(s.body, "grant_type=refresh_token") && strstr(s.body, "client_secret=" SECRET),
       "401 INVALID_TOKEN: the next step is the refresh");
    feed(call, 200, TOKEN_OK);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && has_header(&s, "Authorization: Zoho-oauthtoken 1000.fresh-token") && STREQ(s.method, "DELETE") &&
       STREQ(s.url, "https://api.test/crm/v8/Deals/5843104000001068086/Locking_Information__s/111"),
       "then the unlock again with the new token (explicit api_domain kept)");
    feed(call, 401, E401);
    zl_call_next(call, &s);
    zl_result r;
    const zl_error *e;
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "INVALID_TOKEN"),
       "a second 401 is final (refresh once per call)");
    OK(zl_client_refresh_count(c) == 1, "one refresh");
    zl_call_free(call);

    /* expiry ahead of time: the token expires in 3600 s, refresh 60 s early */
    call = mkcall(c, ZL_OP_LIST, NULL, NULL);
    now_ms += (3600 - 59) * 1000L;
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && s.is_token_request, "a token about to expire is refreshed first");
    feed(call, 200, "{\"error\":\"invalid_client\"}");
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "TOKEN") &&
       strstr(e->message, "invalid_client") && !strstr(e->message, SECRET) && !strstr(e->message, RTOKEN),
       "token endpoint error (HTTP 200 + error): TOKEN, no secret in it (%s)", e->message);
    zl_call_free(call);
    zl_client_free(c);
}

static void test_single_flight(void) {
    zl_config cfg;
    zl_config_init(&cfg);
    cfg.accounts_domain = "https://accounts.test";
    cfg.client_id = "1000.ID"; cfg.client_secret = SECRET; cfg.refresh_token = RTOKEN;
    cfg.mono_ms = mono; cfg.wall = wall; cfg.base_delay_ms = 10;
    zl_error err = {0};
    zl_client *c = zl_client_new(&cfg, &err);
    zl_call *calls[8];
    zl_step s[8];
    int refreshes = 0, waits = 0;
    for (int i = 0; i < 8; i++) {
        calls[i] = mkcall(c, ZL_OP_LIST, NULL, NULL);
        zl_call_next(calls[i], &s[i]);
        if (s[i].kind == ZL_STEP_SEND && s[i].is_token_request) refreshes++;
        if (s[i].kind == ZL_STEP_WAIT_TOKEN) waits++;
    }
    OK(refreshes == 1 && waits == 7, "8 calls without a token: one refreshes, 7 wait (WAIT_TOKEN)");
    OK(!zl_client_await_token(c, s[1].token_seq, 1), "await_token times out while the refresh is in flight");
    feed(calls[0], 200, TOKEN_OK);
    OK(zl_client_await_token(c, s[1].token_seq, 1), "await_token returns once it completed");
    int main_sends = 0;
    char api[256];
    for (int i = 0; i < 8; i++) {
        zl_step t;
        zl_call_next(calls[i], &t);
        if (t.kind == ZL_STEP_SEND && !t.is_token_request && has_header(&t, "Authorization: Zoho-oauthtoken 1000.fresh-token") &&
            strncmp(t.url, "https://www.zohoapis.eu/", 24) == 0) main_sends++;
    }
    OK(main_sends == 8 && zl_client_refresh_count(c) == 1,
       "all 8 then send with the one new token, to the api_domain learned from the reply (%s)",
       zl_client_api_domain(c, api, sizeof api));
    /* 8 calls in flight get 401 together (the token died): still one refresh */
    int tok = 0;
    for (int i = 0; i < 8; i++) feed(calls[i], 401, E401);
    for (int i = 0; i < 8; i++) {
        zl_call_next(calls[i], &s[i]);
        if (s[i].kind == ZL_STEP_SEND && s[i].is_token_request) tok++;
    }
    OK(tok == 1, "8 calls with 401 at once: one refresh in flight (%d)", tok);
    /* the refreshing call is dropped: a waiter takes the refresh over */
    int owner = -1;
    for (int i = 0; i < 8; i++) if (s[i].kind == ZL_STEP_SEND) owner = i;
    zl_call_free(calls[owner]);
    calls[owner] = NULL;
    int takeover = 0;
    zl_call *taker = NULL;
    for (int i = 0; i < 8; i++) {
        if (!calls[i]) continue;
        zl_step t;
        zl_call_next(calls[i], &t);
        if (t.kind == ZL_STEP_SEND && t.is_token_request) { takeover++; taker = calls[i]; }
    }
    OK(takeover == 1, "a freed refresh owner hands the refresh to exactly one waiter");
    feed(taker, 200, "{\"error\":\"invalid_client\"}");
    int token_errors = 0;
    for (int i = 0; i < 8; i++) {
        if (!calls[i]) continue;
        zl_step t;
        zl_call_next(calls[i], &t);
        zl_result r;
        const zl_error *e;
        if (t.kind == ZL_STEP_DONE && !zl_call_result(calls[i], &r, &e) && STREQ(e->code, "TOKEN")) token_errors++;
        zl_call_free(calls[i]);
    }
    OK(token_errors == 7, "a failed refresh fails its waiters with the same TOKEN error (%d)", token_errors);
    zl_client_free(c);
}


/* A 429 whose X-API-CREDITS-REMAINING says 0: the day's credits are spent, and no retry can
 * succeed before they come back (hours): CREDITS_EXHAUSTED at once, not retryable. A 429 with
 * credits left (or no header) is the concurrency limit, retried as before. */
static void test_credits_exhausted(void) {
    zl_client *c = mk(false, "1000.tok", 5);
    zl_step s;
    zl_result r;
    const zl_error *e;

    zl_call *call = mkcall(c, ZL_OP_LOCK, NULL, "quarter close");
    zl_call_next(call, &s);
    zl_call_feed_credits(call, 0);
    feed(call, 429, E429);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "CREDITS_EXHAUSTED") &&
       !e->retryable && e->http_status == 429, "429 with 0 credits left: CREDITS_EXHAUSTED after one request");
    OK(e && strstr(e->message, "X-API-CREDITS-REMAINING: 0") != NULL, "the message names the signal: %s",
       e ? e->message : "");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_LOCK, NULL, "quarter close");
    zl_call_next(call, &s);
    zl_call_feed_credits(call, 1200);
    feed(call, 429, E429);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_WAIT, "429 with credits left: the concurrency limit, backs off");
    zl_call_next(call, &s);
    feed(call, 429, E429);               /* the credits note described the first reply only */
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_WAIT, "the next 429 without a header backs off too");
    zl_call_next(call, &s);
    zl_call_feed_credits(call, 0);
    feed(call, 201, LOCKED);              /* 0 credits left on a success is just a success */
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.attempts == 3 && STREQ(r.lock_id, "111"),
       "0 credits left on a 201: locked (3 attempts)");
    zl_call_free(call);

    /* after an ambiguous failure: the reconciliation GET meets the spent credits, and the
     * call says CREDITS_EXHAUSTED (the caller's rerun reconciles the lock then) */
    call = mkcall(c, ZL_OP_LOCK, NULL, "quarter close");
    zl_call_next(call, &s);
    feed(call, 500, E500);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_WAIT, "500: backs off");
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET"), "then reconciles with a GET");
    zl_call_feed_credits(call, 0);
    feed(call, 429, E429);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "CREDITS_EXHAUSTED") &&
       zl_call_ambiguous(call), "credits spent while reconciling: CREDITS_EXHAUSTED, still marked ambiguous");
    zl_call_free(call);
    zl_call_feed_credits(NULL, 0);        /* no call: nothing to note, no crash */
    zl_client_free(c);
}

static void test_config(void) {
    zl_config cfg;
    zl_error e = {0};
    zl_config_init(&cfg);
    OK(zl_client_new(&cfg, &e) == NULL && STREQ(e.code, "INVALID_ARGUMENT"), "no credentials: refused");
    zl_error_clear(&e);
    cfg.client_id = "x";
    OK(zl_client_new(&cfg, &e) == NULL && strstr(e.message, "together"), "half a refresh flow: refused");
    zl_error_clear(&e);
    zl_config_init(&cfg);
    cfg.access_token = "t";
    cfg.api_domain = "http://zoho.example";
    OK(zl_client_new(&cfg, &e) == NULL && strstr(e.message, "https"), "plain http to a remote host: refused");
    zl_error_clear(&e);
    cfg.api_domain = NULL;
    cfg.dc = "mars";
    OK(zl_client_new(&cfg, &e) == NULL && strstr(e.message, "dc"), "unknown dc refused (%s)", e.message);
    zl_error_clear(&e);
    cfg.dc = "jp";
    zl_client *c = zl_client_new(&cfg, &e);
    char api[128];
    OK(c && STREQ(zl_client_api_domain(c, api, sizeof api), "https://www.zohoapis.jp") &&
       STREQ(zl_client_accounts_domain(c), "https://accounts.zoho.jp"), "dc jp picks its domains");
    zl_client_free(c);
}

/* Real threads: 8 calls on one client, no token yet. Exactly one thread gets the refresh
 * step; the others block in zl_client_await_token until it is fed, then all send with the
 * new token. */
typedef struct { zl_client *c; int refreshed; int sent_with_new; } thr_arg;

static void *worker(void *p) {
    thr_arg *a = p;
    zl_call *call = mkcall(a->c, ZL_OP_LIST, NULL, NULL);
    zl_step s;
    for (int guard = 0; guard < 1000; guard++) {
        zl_call_next(call, &s);
        if (s.kind == ZL_STEP_WAIT_TOKEN) { zl_client_await_token(a->c, s.token_seq, 1000); continue; }
        if (s.kind == ZL_STEP_SEND && s.is_token_request) {
            struct timespec ts = { 0, 20 * 1000000L };
            nanosleep(&ts, NULL);      /* the refresh takes a while: the others must wait */
            a->refreshed = 1;
            feed(call, 200, TOKEN_OK);
            continue;
        }
        if (s.kind == ZL_STEP_SEND) {
            a->sent_with_new = has_header(&s, "Authorization: Zoho-oauthtoken 1000.fresh-token");
            feed(call, 204, "");
            continue;
        }
        break;
    }
    zl_call_free(call);
    return NULL;
}

static void test_threads(void) {
    zl_client *c = mk(true, NULL, 3);
    pthread_t t[8];
    thr_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (thr_arg){ c, 0, 0 };
        pthread_create(&t[i], NULL, worker, &a[i]);
    }
    int refreshed = 0, sent = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        refreshed += a[i].refreshed;
        sent += a[i].sent_with_new;
    }
    OK(refreshed == 1 && zl_client_refresh_count(c) == 1, "8 threads, one client: exactly one refresh (%d)", refreshed);
    OK(sent == 8, "all 8 threads then sent with the new token (%d)", sent);
    zl_client_free(c);
}

int main(void) {
    fixture_used();
    test_threads();
    test_retry_500();
    test_refresh_on_401();
    test_single_flight();
    test_credits_exhausted();
    test_config();
    return tap_done();
}
