/* core_client_test.c - zl_client_new's settings: defaults only from zl_config_init, every
 * numeric setting refused outside its limits with the range in the message, api_version v5..v8. */
#include <string.h>
#include "tap.h"
#include "internal.h"

static zl_client *make(zl_config *cfg, zl_error *err) {
    cfg->access_token = "1000.test";
    memset(err, 0, sizeof *err);
    return zl_client_new(cfg, err);
}

int main(void) {
    zl_config cfg;
    zl_error err;
    zl_config_init(&cfg);
    zl_client *c = make(&cfg, &err);
    OK(c != NULL, "the defaults of zl_config_init make a client");
    const zl_client_net *net = c ? zl_client_net_settings(c) : NULL;
    OK(net && net->timeout_ms == cfg.timeout_ms && net->connect_timeout_ms == cfg.connect_timeout_ms,
       "the client keeps the configured timeouts");
    OK(net && STREQ(net->user_agent, ZL_USER_AGENT), "one User-Agent: %s", net ? net->user_agent : "?");
    OK(c && STREQ(zl_client_api_version(c), "v8"), "api_version v8 by default");
    zl_client_free(c);

    size_t n;
    zl_config_limits(&n);
    OK(n == 10, "10 numeric settings have limits");
    zl_config_init(&cfg);
    cfg.timeout_ms = 0;
    c = make(&cfg, &err);
    OK(!c && STREQ(err.code, "INVALID_ARGUMENT") && strstr(err.message, "timeout_ms must be from 1 to 86400000"),
       "timeout 0 is out of range, not 'negative': %s", err.message);
    zl_error_clear(&err);
    zl_config_init(&cfg);
    cfg.max_attempts = 1001;
    c = make(&cfg, &err);
    OK(!c && strstr(err.message, "max_attempts must be from 1 to 1000"), "max_attempts 1001: %s", err.message);
    zl_error_clear(&err);
    zl_config_init(&cfg);
    cfg.refresh_ahead_s = -1;
    c = make(&cfg, &err);
    OK(!c && strstr(err.message, "refresh_ahead_s must be from 0 to 86400"), "refresh_ahead -1: %s", err.message);
    zl_error_clear(&err);
    const zl_config_limit *t = zl_config_limit_of("timeout_ms");
    OK(t && t->min == 1 && t->max == 86400000 && zl_config_limit_of("nope") == NULL, "limits by name");

    const char *bad[] = { "v9", "v4", "v10", "8", "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        zl_config_init(&cfg);
        cfg.api_version = bad[i];
        c = make(&cfg, &err);
        OK(!c && strstr(err.message, "api_version must be v5 to v8"), "api_version \"%s\" refused", bad[i]);
        zl_error_clear(&err);
    }
    zl_config_init(&cfg);
    cfg.api_version = "v5";
    c = make(&cfg, &err);
    OK(c && STREQ(zl_client_api_version(c), "v5"), "api_version v5 accepted");
    zl_client_free(c);
    return tap_done();
}
