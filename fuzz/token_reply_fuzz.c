/* Fuzzes the token endpoint's reply parser (zl_auth_parse_reply).
 * Input: status (2 bytes), transport error, then the body (the rest, NULs included).
 * Invariants: success gives a non-empty access token and a positive lifetime; failure gives
 * an error code and nothing to free; nothing leaks. */
#include "internal.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    int status = data[0] & 0x80 ? (data[0] & 1 ? 200 : 400) : ((data[0] << 8 | data[1]) % 650) - 20;
    zl_transport_error terr = (zl_transport_error)(data[2] % 16 < 12 ? ZL_TERR_NONE : data[2] % 7);
    size_t len = size - 3;
    char *body = malloc(len ? len : 1);
    if (!body) return 0;
    memcpy(body, data + 3, len);

    zl_token_reply r;
    zl_error err = {0};
    int rc = zl_auth_parse_reply(status, len ? body : NULL, len, terr, &r, &err);
    FUZZ_ASSERT(rc == 0 || rc == -1, "rc %d", rc);
    if (rc == 0) {
        FUZZ_ASSERT(r.access_token && r.access_token[0], "success without a token");
        FUZZ_ASSERT(r.expires_in > 0, "lifetime %g", r.expires_in);
        FUZZ_ASSERT(status == 200 && terr == ZL_TERR_NONE, "success on HTTP %d / transport %d", status, (int)terr);
        FUZZ_ASSERT(err.code[0] == '\0', "success with an error %s", err.code);
    } else {
        FUZZ_ASSERT(!r.access_token && !r.api_domain, "failure left a token or domain");
        FUZZ_ASSERT(err.code[0] != '\0' && fuzz_terminated(err.message, sizeof err.message), "failure without an error");
    }
    zl_token_reply_free(&r);
    zl_error_clear(&err);
    free(body);
    return 0;
}
