/* core_response_test.c - reply classification, both Zoho error envelopes, lock ids, the
 * token endpoint's replies (pure core). */
#include <stdlib.h>
#include "tap.h"
#include "internal.h"

static zl_classified C;

static zl_verdict classify(zl_op_kind k, int status, const char *body, zl_transport_error t) {
    zl_error_clear(&C.err);
    zl_response_classify(k, status, body, body ? strlen(body) : 0, t, &C);
    return C.outcome;
}

int main(void) {
    OK(classify(ZL_OP_LOCK, 201,
                "{\"data\":[{\"code\":\"SUCCESS\",\"details\":{\"id\":\"5843104000001068086\",\"Created_Time\":\"x\"},"
                "\"message\":\"record added\",\"status\":\"success\"}]}", 0) == ZL_OUT_OK &&
       STREQ(C.lock_id, "5843104000001068086"), "lock 201: ok, lock id from details.id kept as a 19-digit string");
    OK(classify(ZL_OP_UNLOCK, 200, "{\"data\":[{\"code\":\"SUCCESS\",\"details\":{\"id\":\"77\"},\"message\":\"relation removed\","
                "\"status\":\"success\"}]}", 0) == ZL_OUT_OK && STREQ(C.lock_id, "77"), "unlock 200: ok with the id");
    OK(classify(ZL_OP_GET_ONE, 200, "{\"data\":[{\"id\":\"12\",\"Lock_Source__s\":\"Manual\"}]}", 0) == ZL_OUT_OK,
       "get one 200: ok (a read is not parsed twice: the caller decodes it)");
    OK(classify(ZL_OP_LIST, 200, "<html>", 0) == ZL_OUT_ERROR && STREQ(C.err.code, "BAD_RESPONSE"),
       "a 200 read that is not a JSON object: BAD_RESPONSE");
    OK(classify(ZL_OP_UPDATE, 200, "{ \"data\" : [ { \"code\" : \"SUCCESS\", \"details\" : { \"id\" : \"5843104000001068099\" },"
                " \"status\" : \"success\" } ] }", 0) == ZL_OUT_OK && STREQ(C.lock_id, "5843104000001068099"),
       "action reply with spaces: the id is still found");
    OK(classify(ZL_OP_LOCK, 200, "{\"data\":[{\"code\":\"INVALID_DATA\",\"details\":{\"id\":\"1\"},\"message\":\"m\","
                "\"status\":\"error\"}]}", 0) == ZL_OUT_ERROR && STREQ(C.err.code, "INVALID_DATA"),
       "a 2xx whose item has status error is an error, not a lock id");
    OK(classify(ZL_OP_LIST, 204, "", 0) == ZL_OUT_OK && C.empty, "list 204 with an empty body: ok, no lock");
    OK(classify(ZL_OP_LIST, 200, "{\"data\":[],\"info\":{}}", 0) == ZL_OUT_OK && !C.empty, "list 200: ok");
    OK(classify(ZL_OP_LOCK, 201, "{\"data\":[{\"details\":{\"id\":5843104000001068086}}]}", 0) == ZL_OUT_ERROR &&
       STREQ(C.err.code, "BAD_RESPONSE"), "a numeric lock id is refused (ids are strings)");
    OK(classify(ZL_OP_LOCK, 201, "not json", 0) == ZL_OUT_ERROR && STREQ(C.err.code, "BAD_RESPONSE"),
       "unparseable 201: BAD_RESPONSE");

    /* the top-level envelope */
    OK(classify(ZL_OP_LIST, 400, "{\"code\":\"INVALID_MODULE\",\"details\":{\"resource_path_index\":0},"
                "\"message\":\"the module name given seems to be invalid\",\"status\":\"error\"}", 0) == ZL_OUT_ERROR &&
       STREQ(C.err.code, "INVALID_MODULE") && C.err.http_status == 400 && !C.err.retryable &&
       STREQ(C.err.message, "the module name given seems to be invalid") &&
       STREQ(C.err.details, "{\"resource_path_index\":0}"), "top-level error envelope: code, message, details, status");
    /* the wrapped envelope */
    OK(classify(ZL_OP_LOCK, 400, "{\"data\":[{\"code\":\"MANDATORY_NOT_FOUND\",\"details\":{\"api_name\":\"Locked_Reason__s\","
                "\"json_path\":\"$.data[0].Locked_Reason__s\"},\"message\":\"required field not found\",\"status\":\"error\"}]}",
                0) == ZL_OUT_ERROR && STREQ(C.err.code, "MANDATORY_NOT_FOUND") && strstr(C.err.details, "Locked_Reason__s"),
       "wrapped error envelope");
    OK(classify(ZL_OP_REQUEST, 400, "{\"record_locking_configurations\":[{\"code\":\"LIMIT_EXCEEDED\",\"details\":{"
                "\"api_name\":\"module\"},\"message\":\"limit exceeded\",\"status\":\"error\"}]}", 0) == ZL_OUT_ERROR &&
       STREQ(C.err.code, "LIMIT_EXCEEDED") && strstr(C.err.details, "module"),
       "error wrapped under a settings API's own key");
    OK(classify(ZL_OP_LOCK, 403, "{\"code\":\"NOT_ALLOWED\",\"details\":{\"resource_path_index\":1},"
                "\"message\":\"record is already locked\",\"status\":\"error\"}", 0) == ZL_OUT_ALREADY_LOCKED &&
       STREQ(C.err.code, "NOT_ALLOWED"), "lock 403 'record is already locked' recognised");
    OK(classify(ZL_OP_UNLOCK, 403, "{\"code\":\"NOT_ALLOWED\",\"message\":\"Automatically locked records can not be unlocked manually\","
                "\"status\":\"error\"}", 0) == ZL_OUT_ERROR, "unlock of an automatic lock: plain error");
    OK(classify(ZL_OP_UNLOCK, 400, "{\"code\":\"INVALID_DATA\",\"details\":{\"resource_path_index\":3},"
                "\"message\":\"relation not found\",\"status\":\"error\"}", 0) == ZL_OUT_NOT_FOUND,
       "unlock 400 INVALID_DATA on the lock id: 'relation not found'");
    OK(classify(ZL_OP_UNLOCK, 400, "{\"code\":\"INVALID_DATA\",\"details\":{\"resource_path_index\":1},"
                "\"message\":\"the related id given seems to be invalid\",\"status\":\"error\"}", 0) == ZL_OUT_ERROR,
       "unlock 400 INVALID_DATA on the record id is a plain error");
    OK(classify(ZL_OP_LIST, 401, "{\"code\":\"INVALID_TOKEN\",\"details\":{},\"message\":\"invalid oauth token\",\"status\":\"error\"}",
                0) == ZL_OUT_BAD_TOKEN, "401 INVALID_TOKEN");
    OK(classify(ZL_OP_LIST, 401, "{\"code\":\"OAUTH_SCOPE_MISMATCH\",\"message\":\"x\",\"status\":\"error\"}", 0) == ZL_OUT_ERROR,
       "401 OAUTH_SCOPE_MISMATCH is final");
    OK(classify(ZL_OP_LOCK, 429, "{\"code\":\"TOO_MANY_REQUESTS\",\"message\":\"too many\",\"status\":\"error\"}", 0) == ZL_OUT_RETRY &&
       C.err.retryable, "429: retryable, not applied");
    OK(classify(ZL_OP_LOCK, 429, "", 0) == ZL_OUT_RETRY, "429 with no body: retryable");
    OK(classify(ZL_OP_LOCK, 500, "{\"code\":\"INTERNAL_ERROR\",\"message\":\"x\",\"status\":\"error\"}", 0) == ZL_OUT_AMBIGUOUS &&
       C.err.retryable && STREQ(C.err.code, "INTERNAL_ERROR"), "500: retryable and ambiguous");
    OK(classify(ZL_OP_LIST, 502, "<html>bad gateway</html>", 0) == ZL_OUT_AMBIGUOUS && STREQ(C.err.code, "BAD_RESPONSE") &&
       C.err.retryable, "502 with HTML: BAD_RESPONSE, retryable");
    OK(classify(ZL_OP_LOCK, 0, NULL, ZL_TERR_CONNECT) == ZL_OUT_RETRY && STREQ(C.err.code, "CONNECT"),
       "connect failure: retryable, not applied");
    OK(classify(ZL_OP_LOCK, 0, NULL, ZL_TERR_TIMEOUT) == ZL_OUT_AMBIGUOUS && STREQ(C.err.code, "TIMEOUT"),
       "timeout: ambiguous");
    OK(classify(ZL_OP_LOCK, 0, NULL, ZL_TERR_CLOSED) == ZL_OUT_AMBIGUOUS && STREQ(C.err.code, "CLOSED"),
       "dropped reply: ambiguous");
    OK(classify(ZL_OP_LOCK, 0, NULL, ZL_TERR_TLS) == ZL_OUT_ERROR && STREQ(C.err.code, "TLS") && !C.err.retryable,
       "TLS failure: final");
    OK(classify(ZL_OP_LIST, 0, NULL, ZL_TERR_TOO_LARGE) == ZL_OUT_ERROR && STREQ(C.err.code, "BAD_RESPONSE"),
       "reply over the cap: BAD_RESPONSE");
    OK(classify(ZL_OP_REQUEST, 204, "", 0) == ZL_OUT_OK && C.empty, "generic 204: ok and empty");
    zl_error_clear(&C.err);

    zl_lock_pick pk;
    const char *list = "{\"data\":[{\"id\":\"1\",\"Lock_Source__s\":\"Automatic\",\"Locked_Reason__s\":null},"
                       "{\"id\":\"2\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"other\"},"
                       "{\"id\":\"3\",\"Lock_Source__s\":\"Manual\",\"Locked_Reason__s\":\"mine\"}]}";
    OK(zl_response_pick(list, strlen(list), "mine", &pk) && STREQ(pk.mine, "3"),
       "reconciliation finds the manual lock with our reason");
    OK(STREQ(pk.held, "2"), "the lock an unlock without a lock id removes: the first Manual one, not the automatic");
    OK(zl_response_pick(list, strlen(list), "nope", &pk) && pk.mine[0] == '\0', "and not one with another reason");
    OK(zl_response_pick(list, strlen(list), NULL, &pk) && pk.mine[0] == '\0', "no reason: never ours");
    const char *autos = "{\"data\":[{\"id\":\"8\",\"Lock_Source__s\":\"Automatic\"},{\"id\":\"9\",\"Lock_Source__s\":\"Automatic\"}]}";
    OK(zl_response_pick(autos, strlen(autos), "x", &pk) && STREQ(pk.held, "8"), "automatic locks only: the first");
    OK(!zl_response_pick("", 0, "mine", &pk) && pk.held[0] == '\0', "empty reply: no lock");
    OK(!zl_response_pick("{\"data\":[]}", 11, "mine", &pk), "empty list: no lock");
    OK(!zl_response_pick("{\"data\":[{\"id\":\"x1\"}]}", 20, "mine", &pk), "a lock without a valid id is no lock");

    zl_token_reply tr;
    zl_error e = {0};
    const char *ok = "{\"access_token\":\"1000.abc\",\"expires_in\":3600000,\"expires_in_sec\":3600,"
                     "\"api_domain\":\"https://www.zohoapis.eu\",\"token_type\":\"Bearer\"}";
    OK(zl_auth_parse_reply(200, ok, strlen(ok), 0, &tr, &e) == 0 && STREQ(tr.access_token, "1000.abc") &&
       tr.expires_in == 3600 && STREQ(tr.api_domain, "https://www.zohoapis.eu"),
       "token reply: expires_in_sec wins over expires_in (ms), api_domain learned");
    zl_token_reply_free(&tr);
    const char *bad = "{\"error\":\"invalid_client\"}";
    OK(zl_auth_parse_reply(200, bad, strlen(bad), 0, &tr, &e) == -1 && STREQ(e.code, "TOKEN") && !e.retryable &&
       strstr(e.message, "invalid_client"), "HTTP 200 with error: TOKEN, final, names the error (%s)", e.message);
    zl_error_clear(&e);
    const char *thr = "{\"error\":\"Access Denied\",\"error_description\":\"You have made too many requests continuously\"}";
    OK(zl_auth_parse_reply(200, thr, strlen(thr), 0, &tr, &e) == -1 && strstr(e.message, "too many requests"),
       "throttled refresh: the description is kept");
    zl_error_clear(&e);
    OK(zl_auth_parse_reply(503, "", 0, 0, &tr, &e) == -1 && e.retryable, "token endpoint 503: retryable");
    zl_error_clear(&e);
    OK(zl_auth_parse_reply(0, NULL, 0, ZL_TERR_CONNECT, &tr, &e) == -1 && e.retryable && STREQ(e.code, "CONNECT"),
       "token endpoint unreachable: retryable CONNECT");
    zl_error_clear(&e);
    char *form = zl_auth_refresh_body("1000.ID", "s3cr&t", "1000.r t");
    OK(STREQ(form, "grant_type=refresh_token&client_id=1000.ID&client_secret=s3cr%26t&refresh_token=1000.r%20t"),
       "refresh form body is URL-encoded");
    free(form);

    zl_error s = {0};
    zl_err_set(&s, "X", 0, false, "token 1000.secret-token leaked twice: 1000.secret-token");
    s.details = strdup("{\"t\":\"1000.secret-token\"}");
    const char *secrets[] = { "1000.secret-token" };
    zl_err_scrub(&s, secrets, 1);
    OK(!strstr(s.message, "secret-token") && !strstr(s.details, "secret-token") && strstr(s.message, "[REDACTED]"),
       "scrub removes every occurrence of a secret from message and details");
    zl_error_clear(&s);
    return tap_done();
}
