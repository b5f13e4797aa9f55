/* auth_code.c - a self client's grant code exchanged for a refresh token (OAuth
 * authorization_code grant), once, blocking, with libcurl: what `zlock auth` needs to turn the
 * code Zoho's API console shows (valid a few minutes) into credentials. */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "internal.h"
#include "transport_curl.h"

static char *code_body(const char *id, const char *secret, const char *code) {
    zl_buf b = {0};
    zl_buf_adds(&b, "grant_type=authorization_code&client_id=");
    zl_buf_add_urlenc(&b, id);
    zl_buf_adds(&b, "&client_secret=");
    zl_buf_add_urlenc(&b, secret);
    zl_buf_adds(&b, "&code=");
    zl_buf_add_urlenc(&b, code);
    if (!zl_buf_str(&b)) { zl_buf_free(&b); return NULL; }
    return b.p;
}

/* The reply's refresh_token (malloc'd), or NULL and *err. */
static char *reply_refresh_token(const char *body, size_t len, zl_error *err) {
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *rt = json_string_value(json_object_get(doc, "refresh_token"));
    char *out = NULL;
    if (!rt || !*rt) zl_err_set(err, "TOKEN", 200, false, "the accounts server's reply has no refresh_token");
    else if (!zl_token_ok(rt)) zl_err_set(err, "TOKEN", 200, false, "the refresh_token in the reply holds control characters");
    else if (!(out = zl_strdup0(rt))) zl_err_set(err, "INTERNAL", 0, false, "out of memory");
    json_decref(doc);
    return out;
}

int zl_auth_exchange_code(const zl_config *cfg, const char *code, zl_grant *out, zl_error *err) {
    memset(out, 0, sizeof *out);
    if (!cfg || !code || !*code || !zl_token_ok(code)) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "grant code is empty or holds control characters");
        return -1;
    }
    /* the code stands in for the refresh token: this client only carries the settings
       (accounts domain, timeouts, TLS) to a transfer slot, and never refreshes */
    zl_config c2 = *cfg;
    c2.refresh_token = code;
    c2.access_token = NULL;
    c2.token_store = "none";
    zl_client *c = zl_client_new(&c2, err);
    if (!c) return -1;
    zl_buf url = {0};
    zl_buf_addf(&url, "%s/oauth/v2/token", zl_client_accounts_domain(c));
    char *body = code_body(cfg->client_id, cfg->client_secret, code);
    zl_xfer *x = zl_xfer_new(c);
    int rc = -1;
    if (!zl_buf_str(&url) || !body || !x) {
        zl_err_set(err, "INTERNAL", 0, false, "out of memory (or no libcurl)");
        goto done;
    }
    const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded" };
    zl_step s = { .kind = ZL_STEP_SEND, .method = "POST", .url = url.p, .headers = hdrs, .nheaders = 1,
                  .body = body, .body_len = strlen(body), .is_token_request = true, .idempotent = false };
    int status = 0;
    const char *rb = NULL;
    size_t rlen = 0;
    zl_transport_error te = ZL_TERR_OTHER;
    if (zl_xfer_prepare(x, &s) == 0)
        zl_xfer_finish(x, curl_easy_perform(zl_xfer_handle(x)), &status, &rb, &rlen, &te);
    zl_token_reply tr;
    if (zl_auth_parse_reply(status, rb, rlen, te, &tr, err) == 0) {
        out->refresh_token = reply_refresh_token(rb, rlen, err);
        if (out->refresh_token) {
            out->access_token = tr.access_token;
            out->api_domain = tr.api_domain;
            out->expires_in = tr.expires_in;
            memset(&tr, 0, sizeof tr);
            rc = 0;
        }
        zl_token_reply_free(&tr);
    } else {
        /* the message says "token refresh": this was the code exchange */
        zl_buf m = {0};
        zl_buf_adds(&m, "grant code exchange");
        zl_buf_adds(&m, strncmp(err->message, "token refresh", 13) == 0 ? err->message + 13 : err->message);
        if (zl_buf_str(&m)) snprintf(err->message, sizeof err->message, "%s", m.p);
        zl_buf_free(&m);
    }
    const char *secrets[] = { cfg->client_secret, code };
    zl_err_scrub(err, secrets, 2);
done:
    if (x) zl_xfer_free(x);
    free(body);
    zl_buf_free(&url);
    zl_client_free(c);
    return rc;
}

void zl_grant_free(zl_grant *g) {
    if (!g) return;
    free(g->refresh_token);
    free(g->access_token);
    free(g->api_domain);
    memset(g, 0, sizeof *g);
}
