/* core_call_reconcile_test.c - the call state machine after an ambiguous failure (canned
 * replies, no sockets): a lock reconciles with a GET instead of locking twice, an unlock
 * takes "relation not found" as done, and a restarted call declared to follow an ambiguity
 * acts the same. */
#include "call_fixture.h"

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
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_ALREADY_LOCKED &&
       r.why && STREQ(r.why->code, "NOT_ALLOWED") && r.why->http_status == 403 && !r.lock_id && r.attempts == 1,
       "first-try 'already locked': ALREADY_LOCKED, why NOT_ALLOWED 403, no GET");
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
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_ALREADY_LOCKED &&
       STREQ(r.why->code, "NOT_ALLOWED") && STREQ(r.lock_id, "444") && !r.reconciled && r.ambiguous,
       "locked by someone else meanwhile: ALREADY_LOCKED by lock 444, why NOT_ALLOWED");
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
    OK(zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_UNLOCKED && r.reconciled && STREQ(r.lock_id, "111"),
       "'relation not found' after a retry: UNLOCKED, reconciled (our DELETE had landed)");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_UNLOCK, "111", NULL);
    zl_call_next(call, &s);
    feed(call, 400, NOTFOUND);
    zl_call_next(call, &s);
    OK(zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_ALREADY_UNLOCKED && !r.reconciled &&
       STREQ(r.why->code, "INVALID_DATA"), "'relation not found' on the first try: ALREADY_UNLOCKED, why INVALID_DATA");
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
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET"), "the GET's own tries: a third GET");
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
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_ALREADY_LOCKED &&
       STREQ(r.why->code, "NOT_ALLOWED") && r.why->http_status == 403 && STREQ(r.lock_id, "777"),
       "restarted lock, someone else's lock: ALREADY_LOCKED, why NOT_ALLOWED 403");
    zl_call_free(call);

    /* declared too late (after the first step): ignored, a first-try 403 is the answer */
    call = mkcall(c, ZL_OP_LOCK, NULL, "q");
    zl_call_next(call, &s);
    zl_call_after_ambiguous(call);
    OK(!zl_call_ambiguous(call), "declaring after the first step is ignored");
    answer(call, 403, ALREADY, &s);
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_ALREADY_LOCKED &&
       STREQ(r.why->code, "NOT_ALLOWED"), "so a first-try 'already locked' stays ALREADY_LOCKED, without a GET");
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

/* Runs a lock call of client c through its attempts, answering each POST with the next status
 * of `st` (0: the connection closed before a reply) and each reconciliation GET with 204 (no
 * lock: the GETs are not attempts of the lock), and returns it finished. */
static zl_call *lock_answered(zl_client *c, const int *st, int n) {
    zl_call *call = mkcall(c, ZL_OP_LOCK, NULL, "budget");
    zl_step s;
    for (int i = 0; i < n;) {
        do zl_call_next(call, &s); while (s.kind == ZL_STEP_WAIT);
        if (s.kind != ZL_STEP_SEND) break;
        if (STREQ(s.method, "GET")) { feed(call, 204, NULL); continue; }
        if (st[i]) feed(call, st[i], st[i] == 429 ? E429 : E500);
        else zl_call_feed(call, 0, NULL, 0, ZL_TERR_CLOSED);
        i++;
    }
    zl_call_next(call, &s);
    return call;
}

/* How many of a failed call's attempts were 429s (zl_call_throttled): what lets
 * the bulk engine start again an item whose retries went to throttling, whatever its last error. */
static void test_throttled_attempts(void) {
    zl_client *c = mk(false, "1000.static", 3);
    zl_result r;
    const zl_error *e;
    static const struct { int st[3]; int throttled; const char *code; const char *what; } cases[] = {
        { { 429, 429, 0 }, 2, "CLOSED", "two 429s, then a lost reply" },
        { { 429, 0, 429 }, 2, "TOO_MANY_REQUESTS", "429, lost reply, 429" },
        { { 0, 0, 429 }, 1, "TOO_MANY_REQUESTS", "two lost replies, then a 429" },
        { { 429, 500, 500 }, 1, "INTERNAL_ERROR", "a 429, then two 500s" },
        { { 500, 500, 500 }, 0, "INTERNAL_ERROR", "three 500s" },
    };
    static const int regained[3] = { 0, 429, 429 };   /* lost reply, (the GET finds no lock), 429s */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zl_call *call = lock_answered(c, cases[i].st, 3);
        bool failed = !zl_call_result(call, &r, &e);
        OK(failed && STREQ(e->code, cases[i].code) && e->retryable,
           "%s: fails with retryable %s (got %s)", cases[i].what, cases[i].code, failed ? e->code : "success");
        OK(zl_call_throttled(call) == cases[i].throttled, "%s: %d answered 429 (got %d)", cases[i].what,
           cases[i].throttled, zl_call_throttled(call));
        zl_call_free(call);
    }
    zl_call *lost = lock_answered(c, regained, 3);
    OK(!zl_call_result(lost, &r, &e) && STREQ(e->code, "TOO_MANY_REQUESTS") && zl_call_throttled(lost) == 2 &&
       r.attempts == 4 && r.ambiguous,
       "lost reply, reconciliation GET finds nothing, two 429s: 2 answered 429 (got %d)", zl_call_throttled(lost));
    zl_call_free(lost);
    /* the credits 429 is final, not throttling */
    zl_call *call = mkcall(c, ZL_OP_LOCK, NULL, "budget");
    zl_step s;
    zl_call_next(call, &s);
    zl_call_feed_credits(call, 0);
    feed(call, 429, E429);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "CREDITS_EXHAUSTED")
       && zl_call_throttled(call) == 0, "a credits 429 ends the call and is not counted as throttling");
    zl_call_free(call);
    OK(zl_call_throttled(NULL) == 0, "no call: 0 throttled");
    zl_client_free(c);
}

/* A transport whose HTTP client re-sends on its own (zl_call_transport_resends): the first
 * answer may be a second copy's, so the reconciling answers apply from the first attempt on,
 * and nothing is sent that a plain call would not send. */
static void test_transport_resends(void) {
    zl_client *c = mk(false, "1000.static", 5);
    zl_result r;
    const zl_error *e;
    zl_step s;
    zl_call *call = mkcall(c, ZL_OP_LOCK, NULL, "q5");
    zl_call_transport_resends(call);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "POST"), "resending transport: the lock starts with its POST, no GET");
    answer(call, 403, ALREADY, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET"), "'already locked' first: look for our lock");
    answer(call, 200, "{\"data\":[{\"id\":\"555\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"q5\"}]}", &s);
    OK(zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_LOCKED && r.reconciled && STREQ(r.lock_id, "555")
       && !r.ambiguous, "our lock: the first copy landed (the call itself saw no ambiguity)");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_UNLOCK, "111", NULL);
    zl_call_transport_resends(call);
    zl_call_next(call, &s);
    answer(call, 400, NOTFOUND, &s);
    OK(zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_UNLOCKED && r.reconciled && STREQ(r.lock_id, "111"),
       "'relation not found' first: done (an earlier copy removed it)");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_LOCK, NULL, "q6");
    zl_call_next(call, &s);
    zl_call_transport_resends(call);   /* too late: the call has started */
    answer(call, 403, ALREADY, &s);
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_ALREADY_LOCKED &&
       STREQ(r.why->code, "NOT_ALLOWED"), "declared after the first step: ignored (ALREADY_LOCKED, no GET)");
    zl_call_free(call);
    zl_call_transport_resends(NULL);
    zl_client_free(c);
}

/* zl_op.rerun (a bulk item that an earlier run may have applied): a 403 'already locked'
 * lists the record's locks, ours counts as this op's lock. */
static void test_rerun(void) {
    zl_client *c = mk(false, "1000.static", 5);
    zl_result r;
    const zl_error *e;
    zl_step s;
    zl_op op = { .kind = ZL_OP_LOCK, .module = "Deals", .record_id = "5843104000001068086", .reason = "rerun", .rerun = true };
    zl_error err = {0};
    zl_call *call = zl_call_new(c, &op, &err);
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "POST"), "rerun lock: a POST first (no GET up front)");
    answer(call, 403, ALREADY, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET") && strstr(s.url, "Locking_Information__s?fields="),
       "403 'already locked': a GET of the record's locks, inside the call");
    answer(call, 200, "{\"data\":[{\"id\":\"901\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"rerun\"}]}", &s);
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_LOCKED && r.reconciled &&
       STREQ(r.lock_id, "901") && !r.why && !r.ambiguous && r.attempts == 2,
       "our Manual lock with the same reason: LOCKED, reconciled, lock 901");
    zl_call_free(call);

    call = zl_call_new(c, &op, &err);
    zl_call_next(call, &s);
    answer(call, 403, ALREADY, &s);
    answer(call, 200, "{\"data\":[{\"id\":\"902\",\"Lock_Source__s\":\"Automatic\",\"Locked_Reason__s\":\"rerun\"},"
                      "{\"id\":\"903\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"other\"}]}", &s);
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_ALREADY_LOCKED &&
       !r.reconciled && STREQ(r.lock_id, "903") && STREQ(r.why->code, "NOT_ALLOWED"),
       "an automatic lock with our reason, a manual one with another: ALREADY_LOCKED by the manual one");
    zl_call_free(call);

    call = zl_call_new(c, &op, &err);
    zl_call_next(call, &s);
    answer(call, 403, ALREADY, &s);
    answer(call, 500, E500, &s);
    OK(s.kind == ZL_STEP_WAIT, "a failed reconciliation GET backs off");
    zl_call_next(call, &s);
    answer(call, 204, "", &s);
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_ALREADY_LOCKED && !r.lock_id,
       "no lock listed after the 403: ALREADY_LOCKED (no POST loop)");
    zl_call_free(call);
    zl_client_free(c);
}

/* An unlock without a lock id is one call: list, pick (Manual first), DELETE. */
static void test_unlock_without_id(void) {
    zl_client *c = mk(false, "1000.static", 5);
    zl_result r;
    const zl_error *e;
    zl_step s;
    zl_call *call = mkcall(c, ZL_OP_UNLOCK, NULL, NULL);
    OK(call != NULL, "an unlock without a lock id is a valid op");
    zl_call_next(call, &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "GET") && strstr(s.url, "Locking_Information__s?fields="),
       "first the record's lock list");
    answer(call, 500, E500, &s);
    OK(s.kind == ZL_STEP_WAIT, "a failed list backs off");
    zl_call_next(call, &s);
    OK(!zl_call_ambiguous(call), "a failed read makes nothing ambiguous");
    answer(call, 200, "{\"data\":[{\"id\":\"71\",\"Lock_Source__s\":\"Automatic\"},"
                      "{\"id\":\"72\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"x\"}]}", &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "DELETE") && strstr(s.url, "/Deals/5843104000001068086/Locking_Information__s/72") &&
       !strchr(s.url, '?'), "then the DELETE of the Manual lock (72), not the automatic one");
    answer(call, 200, REMOVED, &s);
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_UNLOCKED && r.attempts == 3,
       "UNLOCKED, three requests");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_UNLOCK, NULL, NULL);
    zl_call_next(call, &s);
    answer(call, 200, "{\"data\":[{\"id\":\"81\",\"Lock_Source__s\":\"Automatic\"}]}", &s);
    OK(s.kind == ZL_STEP_SEND && STREQ(s.method, "DELETE") && strstr(s.url, "Locking_Information__s/81"),
       "only an automatic lock: its DELETE (Zoho answers why it cannot go)");
    answer(call, 403, "{\"code\":\"NOT_ALLOWED\",\"details\":{},\"message\":\"cannot unlock an automatic lock\",\"status\":\"error\"}", &s);
    OK(s.kind == ZL_STEP_DONE && !zl_call_result(call, &r, &e) && STREQ(e->code, "NOT_ALLOWED") &&
       r.outcome == ZL_OUTCOME_FAILED, "and that answer is the error (FAILED)");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_UNLOCK, NULL, NULL);
    zl_call_next(call, &s);
    answer(call, 204, "", &s);
    OK(s.kind == ZL_STEP_DONE && zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_ALREADY_UNLOCKED &&
       STREQ(r.why->code, "NOT_LOCKED") && strstr(r.why->message, "5843104000001068086") && r.attempts == 1,
       "no lock (204): ALREADY_UNLOCKED, why NOT_LOCKED naming the record");
    zl_call_free(call);

    call = mkcall(c, ZL_OP_UNLOCK, NULL, NULL);
    zl_call_next(call, &s);
    answer(call, 200, "{\"data\":[{\"id\":\"91\",\"Lock_Source__s\":\"Manual\"}]}", &s);
    answer(call, 400, NOTFOUND, &s);
    OK(zl_call_result(call, &r, &e) && r.outcome == ZL_OUTCOME_ALREADY_UNLOCKED && STREQ(r.lock_id, "91"),
       "the picked lock went meanwhile ('relation not found'): ALREADY_UNLOCKED");
    zl_call_free(call);
    zl_client_free(c);
}

/* The retry budget counts the op's own requests: max_attempts = 5 allows 5 POSTs, whatever
 * the reconciliation GETs between them cost. */
static void test_budget(void) {
    zl_client *c = mk(false, "1000.static", 5);
    zl_result r;
    const zl_error *e;
    zl_step s;
    zl_call *call = mkcall(c, ZL_OP_LOCK, NULL, "budget");
    int posts = 0, gets = 0;
    zl_call_next(call, &s);
    while (s.kind != ZL_STEP_DONE) {
        if (s.kind == ZL_STEP_WAIT) { zl_call_next(call, &s); continue; }
        if (STREQ(s.method, "POST")) { posts++; answer(call, 500, E500, &s); continue; }
        gets++;   /* each reconciliation GET fails once, then says: not locked */
        answer(call, gets % 2 ? 500 : 204, gets % 2 ? E500 : "", &s);
    }
    OK(posts == 5 && !zl_call_result(call, &r, &e) && STREQ(e->code, "INTERNAL_ERROR") && r.outcome == ZL_OUTCOME_FAILED &&
       r.ambiguous, "5 POSTs for max_attempts = 5 (%d), the %d GETs between them not counted", posts, gets);
    OK(r.attempts == posts + gets, "attempts still counts every request (%d)", r.attempts);
    zl_call_free(call);

    /* a read that keeps failing ends the call after max_attempts tries of its own */
    call = mkcall(c, ZL_OP_UNLOCK, NULL, NULL);
    gets = 0;
    zl_call_next(call, &s);
    while (s.kind != ZL_STEP_DONE) {
        if (s.kind == ZL_STEP_WAIT) { zl_call_next(call, &s); continue; }
        gets++;
        answer(call, 500, E500, &s);
    }
    OK(gets == 5 && !zl_call_result(call, &r, &e) && STREQ(e->code, "INTERNAL_ERROR"), "a failing list: 5 tries (%d)", gets);
    zl_call_free(call);
    zl_client_free(c);
}

int main(void) {
    fixture_used();
    test_lock_reconcile();
    test_unlock_not_found();
    test_after_ambiguous();
    test_throttled_attempts();
    test_transport_resends();
    test_rerun();
    test_unlock_without_id();
    test_budget();
    return tap_done();
}
