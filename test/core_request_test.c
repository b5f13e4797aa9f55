/* core_request_test.c - request validation and building, data centres, URLs (pure core). */
#include <stdlib.h>
#include <jansson.h>
#include "tap.h"
#include "internal.h"

static int build(zl_op *op, zl_request *r) {
    zl_error e = {0};
    int rc = zl_request_build(op, "v8", r, &e);
    zl_error_clear(&e);
    return rc;
}

static void test_checks(void) {
    OK(zl_check_module("Deals", 5) == NULL, "Deals is a module name");
    OK(zl_check_module("Projects__c", 11) == NULL, "custom module Projects__c is a module name");
    OK(zl_check_module("1Deals", 6) != NULL, "a module name cannot start with a digit");
    OK(zl_check_module("_Deals", 6) != NULL, "a module name cannot start with _");
    OK(zl_check_module("Deals/x", 7) != NULL, "no slash in a module name");
    OK(zl_check_module("", 0) != NULL, "empty module name refused");
    char big[102];
    memset(big, 'A', sizeof big);
    OK(zl_check_module(big, 100) == NULL, "100 characters accepted");
    OK(zl_check_module(big, 101) != NULL, "101 characters refused");
    OK(zl_check_id("5843104000001068086", 19) == NULL, "19-digit id accepted");
    OK(zl_check_id("58431040000010680861", 20) != NULL, "20-digit id refused");
    OK(zl_check_id("12a", 3) != NULL, "non-digit refused");
    OK(zl_check_id("", 0) != NULL, "empty id refused");
    OK(zl_check_id("-1", 2) != NULL, "negative refused");
    OK(zl_check_reason("closing", 7) == NULL, "ASCII reason accepted");
    const char *u = "n\xc3\xa9gociation \xe2\x9c\x93 \xf0\x9f\x94\x92";
    OK(zl_check_reason(u, strlen(u)) == NULL, "UTF-8 reason (2, 3 and 4 byte characters) accepted");
    OK(zl_check_reason("\xff", 1) != NULL, "0xFF refused");
    OK(zl_check_reason("\xc0\xaf", 2) != NULL, "overlong '/' refused");
    OK(zl_check_reason("\xed\xa0\x80", 3) != NULL, "UTF-16 surrogate refused");
    OK(zl_check_reason("\xf4\x90\x80\x80", 4) != NULL, "code point past U+10FFFF refused");
    OK(zl_check_reason("ab\xe2\x9c", 4) != NULL, "truncated sequence refused");
    OK(zl_check_reason("a\0b", 3) != NULL, "embedded NUL refused");
    /* 3000 characters of a 2-byte character: 6000 bytes, valid; 3001: refused */
    char *r = malloc(3001 * 2);
    for (int i = 0; i < 3001; i++) { r[2 * i] = (char)0xc3; r[2 * i + 1] = (char)0xa9; }
    OK(zl_check_reason(r, 6000) == NULL, "3000 two-byte characters accepted (characters, not bytes)");
    OK(zl_check_reason(r, 6002) != NULL, "3001 two-byte characters refused");
    free(r);
}

/* The reason body must be exactly what jansson would write, for any valid reason. */
static void test_reason_json(void) {
    const char *reasons[] = { "plain", "quote \" and backslash \\", "ctl \x01\x1f\b\f\n\r\t end",
                              "utf-8 \xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\x92", "slash / and \x7f del" };
    int same = 0, n = (int)(sizeof reasons / sizeof reasons[0]);
    for (int i = 0; i < n; i++) {
        char *mine = zl_request_reason_body(reasons[i]);
        json_t *doc = json_pack("{s:[{s:s}]}", "data", "Locked_Reason__s", reasons[i]);
        char *ref = json_dumps(doc, JSON_COMPACT);
        json_t *back = json_loads(mine, 0, NULL);
        const char *rt = json_string_value(json_object_get(json_array_get(json_object_get(back, "data"), 0), "Locked_Reason__s"));
        if (STREQ(mine, ref) && STREQ(rt, reasons[i])) same++;
        else printf("# %s\n# %s\n", mine, ref);
        free(mine); free(ref); json_decref(doc); json_decref(back);
    }
    OK(same == n, "reason bodies: byte-identical to jansson's and round-trip (%d/%d)", same, n);
}

static void test_build(void) {
    zl_request r;
    zl_op op = { .kind = ZL_OP_LIST, .module = "Deals", .record_id = "5843104000001068086" };
    OK(build(&op, &r) == 0 && STREQ(r.method, "GET") &&
       STREQ(r.path, "/crm/v8/Deals/5843104000001068086/Locking_Information__s?fields=" ZL_LOCK_FIELDS) &&
       r.body == NULL && r.idempotent, "list: GET with fields defaulted");
    zl_request_free(&r);

    zl_param ps[] = { { "fields", "Locked_Reason__s,Lock_Source__s" }, { "page", "2" }, { "page_token", "a b&c" } };
    op.params = ps;
    op.nparams = 3;
    OK(build(&op, &r) == 0 &&
       STREQ(r.path, "/crm/v8/Deals/5843104000001068086/Locking_Information__s?fields=Locked_Reason__s,Lock_Source__s&page=2&page_token=a%20b%26c"),
       "list: given fields kept, other params URL-encoded (%s)", r.path);
    zl_request_free(&r);

    zl_op one = { .kind = ZL_OP_GET_ONE, .module = "Deals", .record_id = "1", .lock_id = "22" };
    OK(build(&one, &r) == 0 && STREQ(r.path, "/crm/v8/Deals/1/Locking_Information__s/22") && STREQ(r.method, "GET"),
       "get one: lock id in the path, no default fields");
    zl_request_free(&r);

    zl_op lk = { .kind = ZL_OP_LOCK, .module = "Deals", .record_id = "1", .reason = "say \"hi\"\n\xc3\xa9" };
    OK(build(&lk, &r) == 0 && STREQ(r.method, "POST") && STREQ(r.path, "/crm/v8/Deals/1/Locking_Information__s") &&
       STREQ(r.body, "{\"data\":[{\"Locked_Reason__s\":\"say \\\"hi\\\"\\n\xc3\xa9\"}]}") && !r.idempotent,
       "lock: POST, JSON-escaped body (%s), not idempotent", r.body ? r.body : "(null)");
    zl_request_free(&r);

    zl_op up = { .kind = ZL_OP_UPDATE, .module = "Deals", .record_id = "1", .lock_id = "2", .reason = "x" };
    OK(build(&up, &r) == 0 && STREQ(r.method, "PUT") && STREQ(r.path, "/crm/v8/Deals/1/Locking_Information__s/2") &&
       STREQ(r.body, "{\"data\":[{\"Locked_Reason__s\":\"x\"}]}") && r.idempotent, "update: PUT with the reason body");
    zl_request_free(&r);

    zl_op un = { .kind = ZL_OP_UNLOCK, .module = "Deals", .record_id = "1", .lock_id = "2" };
    OK(build(&un, &r) == 0 && STREQ(r.method, "DELETE") && r.body == NULL, "unlock: DELETE, no body");
    zl_request_free(&r);
    un.lock_id = NULL;
    OK(build(&un, &r) == 0 && STREQ(r.method, "DELETE") && !strstr(r.path, "Locking_Information__s/"),
       "unlock without a lock id: the call finds the id (the path ends at the lock list)");
    zl_request_free(&r);

    zl_error e = {0};
    zl_op bad = { .kind = ZL_OP_LOCK, .module = "Deals", .record_id = "1x", .reason = "x" };
    OK(zl_request_build(&bad, "v8", &r, &e) == -1 && STREQ(e.code, "INVALID_ARGUMENT") && strstr(e.message, "record id"),
       "malformed record id: INVALID_ARGUMENT naming the record id (%s)", e.message);
    zl_error_clear(&e);
    OK(zl_request_build(&lk, "8", &r, &e) == -1, "api version must look like v8");
    zl_error_clear(&e);

    zl_param q[] = { { "criteria", "(Stage:equals:Closed Lost)" } };
    zl_op g = { .kind = ZL_OP_REQUEST, .method = "GET", .path = "Deals/search", .params = q, .nparams = 1, .idempotent = -1 };
    OK(build(&g, &r) == 0 && STREQ(r.path, "/crm/v8/Deals/search?criteria=%28Stage%3Aequals%3AClosed%20Lost%29") && r.idempotent,
       "generic GET relative to /crm/v8/, query encoded (%s)", r.path);
    zl_request_free(&r);
    zl_op co = { .kind = ZL_OP_REQUEST, .method = "POST", .path = "/crm/v8/coql", .body = "{}", .idempotent = -1 };
    OK(build(&co, &r) == 0 && STREQ(r.path, "/crm/v8/coql") && !r.idempotent && STREQ(r.body, "{}"),
       "generic POST: absolute path, not idempotent by default");
    zl_request_free(&r);
    co.path = "/crm/v8/../x";
    OK(build(&co, &r) == -1, "path with .. refused");
    co.path = "Deals?x=1";
    OK(build(&co, &r) == -1, "query in the path refused");
    co.path = "Deals";
    co.method = "TRACE";
    OK(build(&co, &r) == -1, "unknown method refused");
}

static void test_dc(void) {
    char a[128], p[128];
    OK(zl_dc_domains("eu", NULL, a, sizeof a, p, sizeof p) == 0 && STREQ(a, "https://accounts.zoho.eu") &&
       STREQ(p, "https://www.zohoapis.eu"), "eu production");
    OK(zl_dc_domains("ca", "sandbox", a, sizeof a, p, sizeof p) == 0 && STREQ(a, "https://accounts.zohocloud.ca") &&
       STREQ(p, "https://sandbox.zohoapis.ca"), "ca sandbox");
    OK(zl_dc_domains("au", "developer", a, sizeof a, p, sizeof p) == 0 && STREQ(p, "https://developer.zohoapis.com.au"),
       "au developer");
    OK(zl_dc_domains(NULL, NULL, a, sizeof a, p, sizeof p) == 0 && STREQ(a, "https://accounts.zoho.com"), "default us");
    OK(zl_dc_domains("xx", NULL, a, sizeof a, p, sizeof p) == -1, "unknown dc refused");
    OK(zl_dc_domains("us", "staging", a, sizeof a, p, sizeof p) == -1, "unknown env refused");

    const char *why = NULL;
    char *u = zl_url_normalize("www.zohoapis.eu/", &why);
    OK(STREQ(u, "https://www.zohoapis.eu"), "no scheme: https assumed, trailing slash dropped");
    free(u);
    u = zl_url_normalize("http://127.0.0.1:8080", &why);
    OK(STREQ(u, "http://127.0.0.1:8080"), "plain http to 127.0.0.1 allowed");
    free(u);
    u = zl_url_normalize("http://127.255.3.4", &why);
    OK(u != NULL, "plain http to 127.0.0.0/8 allowed");
    free(u);
    u = zl_url_normalize("http://[::1]:9", &why);
    OK(u != NULL, "plain http to [::1] allowed");
    free(u);
    u = zl_url_normalize("http://localhost:9", &why);
    OK(u != NULL, "plain http to localhost allowed");
    free(u);
    OK(zl_url_normalize("http://www.zohoapis.com", &why) == NULL, "plain http elsewhere refused");
    OK(zl_url_normalize("http://127.0.0.1.evil.com", &why) == NULL, "127.0.0.1.evil.com is not loopback");
    OK(zl_url_normalize("http://128.0.0.1", &why) == NULL, "128.0.0.1 is not loopback");
    OK(zl_url_normalize("http://localhost@evil.com", &why) == NULL, "userinfo refused");
    OK(zl_url_normalize("ftp://x.com", &why) == NULL, "ftp refused");
    OK(zl_url_normalize("https://x.com/path", &why) == NULL, "a path in a domain refused");
}

int main(void) {
    test_checks();
    test_reason_json();
    test_build();
    test_dc();
    return tap_done();
}
