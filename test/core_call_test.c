/* core_call_test.c - the call state machine driven with canned replies (no sockets):
 * retries, refresh once on 401, single flight, lock reconciliation after a dropped reply,
 * unlock "relation not found" after a retry, restarts declared after an ambiguity, budgets,
 * cancellation, no secret in errors. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
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

static void test_lock_reconcile(void) {
    zl_client *c = mk(false, "1000.static", 5);
    zl_result r;
    const zl_error *e;
    zl_step s;
    /* the reply to the POST is lost; the GET finds our lock: no second POST */
    zl_call *call = mkcall(c, ZL_OP_LOCK, NULL, "quarter close");
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "POST") && !s.idempotent &&
       STREQ(s.body, "{\"data\":[{\"Locked_Reason__s\":\"quarter close\"}]}"), "lock: one POST with the reason");
    zl_call_feed(call, 0, NULL, 0, ZL_TERR_CLOSED);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_WAIT && STREQ(s.reason->code, "CLOSED"), "dropped reply: WAIT");
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET") && strstr(s.url, "Locking_Information__s?fields="),
       "then a GET of the record's locks, not a second POST");
    feed(call, 200, "{\"data\":[{\"id\":\"222\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"quarter close\"}],"
                    "\"info\":{\"count\":1}}");
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.reconciled && STREQ(r.lock_id, "222") && r.attempts == 2,
       "our lock is there: done, reconciled, lock id 222");
    zl_call_free(call);

    /* a 500 on the POST, the GET shows no lock: POST again */
    call = mkcall(c, ZL_OP_LOCK, NULL, "q");
    zl_call_next(call, &s);
    feed(call, 500, E500);
    zl_call_next(call, &s);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET"), "500 on lock: reconcile with a GET");
    feed(call, 204, "");
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "POST"), "204 (not locked): POST again");
    feed(call, 201, LOCKED);
    zl_call_next(call, &s);
    OK(zl_call_result(call, &r, &e) && !r.reconciled && STREQ(r.lock_id, "111") && r.http_status == 201, "201: locked once");
    zl_call_free(call);

    /* a timeout, the GET itself fails with 500, then 'already locked' on the re-POST, then found */
    call = mkcall(c, ZL_OP_LOCK, NULL, "q2");
    zl_call_next(call, &s);
    zl_call_feed(call, 0, NULL, 0, ZL_TERR_TIMEOUT);
    zl_call_next(call, &s);
    zl_call_next(call, &s);
    feed(call, 500, E500);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_WAIT, "a failed reconciliation GET backs off");
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET"), "and repeats the GET");
    feed(call, 204, "");
    zl_call_next(call, &s);
    feed(call, 403, ALREADY);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET"), "'already locked' after an ambiguity: GET again");
    feed(call, 200, "{\"data\":[{\"id\":\"333\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"q2\"}]}");
    zl_call_next(call, &s);
    OK(zl_call_result(call, &r, &e) && r.reconciled && STREQ(r.lock_id, "333"), "found: that lock is the result");
    zl_call_free(call);

    /* 'already locked' on the first try is the user's answer (someone else's lock) */
    call = mkcall(c, ZL_OP_LOCK, NULL, "q3");
    zl_call_next(call, &s);
    feed(call, 403, ALREADY);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "NOT_ALLOWED") && e->http_status == 403,
       "first-try 'already locked': NOT_ALLOWED, no GET");
    zl_call_free(call);

    /* after an ambiguity, already locked by ANOTHER reason: the 403 stands */
    call = mkcall(c, ZL_OP_LOCK, NULL, "q4");
    zl_call_next(call, &s);
    zl_call_feed(call, 0, NULL, 0, ZL_TERR_CLOSED);
    zl_call_next(call, &s);
    zl_call_next(call, &s);
    feed(call, 204, "");
    zl_call_next(call, &s);
    feed(call, 403, ALREADY);
    zl_call_next(call, &s);
    feed(call, 200, "{\"data\":[{\"id\":\"444\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"someone else\"}]}");
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "NOT_ALLOWED"),
       "locked by someone else meanwhile: NOT_ALLOWED");
    zl_call_free(call);
    zl_client_free(c);
}

static void test_unlock_not_found(void) {
    zl_client *c = mk(false, "1000.static", 5);
    zl_result r;
    const zl_error *e;
    zl_step s;
    zl_call *call = mkcall(c, ZL_OP_UNLOCK, "111", NULL);
    zl_call_next(call, &s);
    zl_call_feed(call, 0, NULL, 0, ZL_TERR_CLOSED);
    zl_call_next(call, &s);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "DELETE"), "unlock: dropped reply, DELETE again");
    feed(call, 400, NOTFOUND);
    zl_call_next(call, &s);
    OK(zl_call_result(call, &r, &e) && r.reconciled && STREQ(r.lock_id, "111"),
       "'relation not found' after a retry: done (it is gone)");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_UNLOCK, "111", NULL);
    zl_call_next(call, &s);
    feed(call, 400, NOTFOUND);
    zl_call_next(call, &s);
    OK(!zl_call_result(call, &r, &e) && STREQ(e->code, "INVALID_DATA"), "'relation not found' on the first try: an error");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_UNLOCK, "111", NULL);
    zl_call_next(call, &s);
    feed(call, 200, REMOVED);
    zl_call_next(call, &s);
    OK(zl_call_result(call, &r, &e) && !r.reconciled && STREQ(r.lock_id, "111"), "200 relation removed: done");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_UNLOCK, "111", NULL);
    zl_call_next(call, &s);
    zl_call_feed(call, 0, NULL, 0, ZL_TERR_CLOSED);
    zl_call_next(call, &s);
    zl_call_cancel(call, "CANCELLED", "on_retry said no");
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "CANCELLED"), "cancel during a backoff");
    zl_call_free(call);
    zl_client_free(c);
}

/* Feeds a reply and takes the next step. */
static void answer(zl_call *call, int st, const char *body, zl_step *s) {
    feed(call, st, body);
    zl_call_next(call, s);
}

/* A call declared to follow an ambiguous failure of an earlier one, at its first step. */
static zl_call *restarted(zl_client *c, zl_op_kind k, const char *lock_id, const char *reason, zl_step *s) {
    zl_call *call = mkcall(c, k, lock_id, reason);
    zl_call_after_ambiguous(call);
    zl_call_next(call, s);
    return call;
}

/* A call declared to follow an ambiguous failure of an earlier call (zl_call_after_ambiguous),
 * as a driver restarting an op after its call ran out of attempts on 429 does. */
static void test_after_ambiguous(void) {
    zl_client *c = mk(false, "1000.static", 3);
    zl_result r;
    const zl_error *e;
    zl_step s;
    /* the engine's case: POST reply lost (it landed), then 429 until the attempts run out */
    zl_call *call = mkcall(c, ZL_OP_LOCK, NULL, "restart");
    OK(!zl_call_ambiguous(call), "a new call has seen no ambiguity");
    zl_call_next(call, &s);
    zl_call_feed(call, 0, NULL, 0, ZL_TERR_CLOSED);
    OK(zl_call_ambiguous(call), "a dropped reply makes the call ambiguous");
    zl_call_next(call, &s);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET"), "reconciliation GET");
    answer(call, 429, E429, &s);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET"), "429 on the GET: GET again after the wait");
    answer(call, 429, E429, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "TOO_MANY_REQUESTS"),
       "out of attempts: TOO_MANY_REQUESTS");
    bool amb = zl_call_ambiguous(call);
    OK(amb, "and it still says an attempt may have been applied");
    zl_call_free(call);

    /* the restart: reconciles first, finds the lock that landed: success, no POST, no 403 */
    call = mkcall(c, ZL_OP_LOCK, NULL, "restart");
    if (amb) zl_call_after_ambiguous(call);
    OK(zl_call_ambiguous(call), "a declared restart is ambiguous from the start");
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET") && strstr(s.url, "Locking_Information__s?fields="),
       "restarted lock: first a GET of the record's locks");
    answer(call, 200, "{\"data\":[{\"id\":\"555\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"restart\"}]}", &s);
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.reconciled && STREQ(r.lock_id, "555") && r.attempts == 1,
       "our lock is there: success, reconciled, lock id 555, one request");
    zl_call_free(call);

    /* restarted, not there yet, the POST meets 'already locked' (the lost POST landed late): reconciled */
    call = restarted(c, ZL_OP_LOCK, NULL, "late", &s);
    answer(call, 204, "", &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "POST"), "restarted lock, no lock found: POST");
    answer(call, 403, ALREADY, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET"), "'already locked' on a restarted lock: GET, not NOT_ALLOWED");
    answer(call, 200, "{\"data\":[{\"id\":\"666\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"late\"}]}", &s);
    OK(zl_call_result(call, &r, &e) && r.reconciled && STREQ(r.lock_id, "666"), "found: reconciled, lock id 666");
    zl_call_free(call);

    /* restarted, no lock, POST succeeds: an ordinary lock */
    call = restarted(c, ZL_OP_LOCK, NULL, "fresh", &s);
    answer(call, 204, "", &s);
    answer(call, 201, LOCKED, &s);
    OK(zl_call_result(call, &r, &e) && !r.reconciled && STREQ(r.lock_id, "111") && r.attempts == 2,
       "restarted lock that had not landed: locked by the POST, not reconciled");
    zl_call_free(call);

    /* restarted, locked by someone else with another reason: the 403 stands */
    call = restarted(c, ZL_OP_LOCK, NULL, "mine", &s);
    answer(call, 200, "{\"data\":[{\"id\":\"777\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"theirs\"}]}", &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "POST"), "another reason's lock is not ours: POST");
    answer(call, 403, ALREADY, &s);
    answer(call, 200, "{\"data\":[{\"id\":\"777\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"theirs\"}]}", &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "NOT_ALLOWED") && e->http_status == 403,
       "restarted lock, someone else's lock: NOT_ALLOWED 403");
    zl_call_free(call);

    /* declared too late (after the first step): ignored, a first-try 403 is the answer */
    call = mkcall(c, ZL_OP_LOCK, NULL, "q");
    zl_call_next(call, &s);
    zl_call_after_ambiguous(call);
    OK(!zl_call_ambiguous(call), "declaring after the first step is ignored");
    answer(call, 403, ALREADY, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "NOT_ALLOWED"),
       "so a first-try 'already locked' stays NOT_ALLOWED");
    zl_call_free(call);

    /* an unlock restarted after an ambiguity: 'relation not found' means it is gone */
    call = restarted(c, ZL_OP_UNLOCK, "111", NULL, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "DELETE"), "restarted unlock: DELETE");
    answer(call, 400, NOTFOUND, &s);
    OK(zl_call_result(call, &r, &e) && r.reconciled && STREQ(r.lock_id, "111") && r.attempts == 1,
       "restarted unlock, 'relation not found': done, reconciled");
    zl_call_free(call);

    /* 429s alone are never ambiguous (a 429 is not applied) */
    call = mkcall(c, ZL_OP_UNLOCK, "111", NULL);
    for (int i = 0; i < 3; i++) {
        zl_call_next(call, &s);
        if (s.kind == ZL_STEP_WAIT) zl_call_next(call, &s);
        feed(call, 429, E429);
    }
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_ambiguous(call), "a call that only saw 429s is not ambiguous");
    zl_call_free(call);
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
    test_threads();
    test_retry_500();
    test_refresh_on_401();
    test_single_flight();
    test_lock_reconcile();
    test_unlock_not_found();
    test_after_ambiguous();
    test_config();
    return tap_done();
}
