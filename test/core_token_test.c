/* core_token_test.c - token hardening: control characters refused wherever a token enters
 * (given, set, token reply), and secrets scrubbed from a message before its 512-byte cut. */
#include <stdlib.h>
#include "tap.h"
#include "internal.h"

static const char *SECRET = "1000.refresh-SECRET-abcdefghijklmnop";

/* An error whose message is the text of `pre` spaces, then the secret, then more text:
 * the secret straddles the cut when pre is near ZL_MESSAGE_MAX. */
static bool leaks_prefix(size_t pre) {
    zl_error e = {0};
    char *pad = malloc(pre + 1);
    memset(pad, 'x', pre);
    pad[pre] = '\0';
    zl_err_set(&e, "INVALID_DATA", 400, false, "%s%s and more text after it", pad, SECRET);
    free(pad);
    const char *secrets[] = { SECRET };
    zl_err_scrub(&e, secrets, 1);
    size_t len = strlen(e.message);
    bool leak = false;
    for (size_t k = 3; k <= strlen(SECRET) && k <= len; k++)
        if (memcmp(e.message + len - k, SECRET, k) == 0) leak = true;
    if (strstr(e.message, "refresh-SEC")) leak = true;
    zl_error_clear(&e);
    return leak;
}

int main(void) {
    OK(zl_token_ok("1000.abc.def"), "a plain token is accepted");
    OK(!zl_token_ok("1000.abc\r\nX-Evil: 1"), "CR LF refused");
    OK(!zl_token_ok("1000.abc\tdef"), "TAB refused");
    OK(!zl_token_ok("1000.abc\x7f"), "DEL refused");
    OK(!zl_token_ok(""), "empty refused");

    bool any = false;
    for (size_t pre = ZL_MESSAGE_MAX - 40; pre < ZL_MESSAGE_MAX; pre++) any |= leaks_prefix(pre);
    OK(!any, "no prefix of a secret survives the cut, wherever the secret straddles it");
    OK(!leaks_prefix(10), "a whole secret inside the message is masked");

    zl_token_reply tr;
    zl_error e = {0};
    const char *bad = "{\"access_token\":\"1000.a\\r\\nX-Injected: 1\",\"expires_in\":3600}";
    int rc = zl_auth_parse_reply(200, bad, strlen(bad), ZL_TERR_NONE, &tr, &e);
    OK(rc == -1 && STREQ(e.code, "TOKEN"), "a token reply whose token holds CR LF is a TOKEN error (%s)", e.code);
    zl_error_clear(&e);

    zl_config cfg;
    zl_config_init(&cfg);
    cfg.api_domain = "http://127.0.0.1:1";
    cfg.access_token = "1000.a\nb";
    zl_client *c = zl_client_new(&cfg, &e);
    OK(!c && STREQ(e.code, "INVALID_ARGUMENT") && !strstr(e.message, "1000.a"),
       "a given token with LF is refused with INVALID_ARGUMENT, not echoed: %s", e.message);
    zl_error_clear(&e);
    cfg.access_token = "1000.good";
    c = zl_client_new(&cfg, &e);
    OK(c && zl_client_set_token(c, "1000.x\r\n", 0) == -1, "set_token refuses CR LF");
    char buf[64];
    zl_client_get_token(c, buf, sizeof buf, NULL);
    OK(STREQ(buf, "1000.good"), "the refused token did not replace the good one");
    zl_client_free(c);
    return tap_done();
}
