/* auth.c - the OAuth refresh request and the token endpoint's reply (pure). The token
 * state itself (single flight) lives in the client and token.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "internal.h"

char *zl_auth_refresh_body(const char *client_id, const char *client_secret, const char *refresh_token) {
    zl_buf b = {0};
    zl_buf_adds(&b, "grant_type=refresh_token&client_id=");
    zl_buf_add_urlenc(&b, client_id);
    zl_buf_adds(&b, "&client_secret=");
    zl_buf_add_urlenc(&b, client_secret);
    zl_buf_adds(&b, "&refresh_token=");
    zl_buf_add_urlenc(&b, refresh_token);
    if (!zl_buf_str(&b)) { zl_buf_free(&b); return NULL; }
    return b.p;
}

bool zl_token_ok(const char *t) {
    if (!t || !*t) return false;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    return true;
}

void zl_token_reply_free(zl_token_reply *r) {
    if (!r) return;
    free(r->access_token);
    free(r->api_domain);
    memset(r, 0, sizeof *r);
}

static double num(json_t *v) {
    if (json_is_number(v)) return json_number_value(v);
    if (json_is_string(v)) return atof(json_string_value(v));
    return -1;
}

int zl_auth_parse_reply(int status, const char *body, size_t len, zl_transport_error terr,
                        zl_token_reply *out, zl_error *err) {
    memset(out, 0, sizeof *out);
    if (terr != ZL_TERR_NONE || status <= 0) {
        zl_classified c;
        zl_response_classify(ZL_OP_REQUEST, status, body, len, terr, &c);
        *err = c.err;
        snprintf(err->message, sizeof err->message, "token refresh: %s",
                 terr == ZL_TERR_CONNECT ? "could not connect to the accounts server" :
                 terr == ZL_TERR_TIMEOUT ? "timed out" :
                 terr == ZL_TERR_CLOSED ? "connection closed before a reply" :
                 terr == ZL_TERR_TLS ? "TLS failure talking to the accounts server" : "transport failure");
        return -1;
    }
    json_t *doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    if (status >= 500 || status == 429) {
        zl_err_set(err, "TOKEN", status, true, "token refresh: accounts server answered HTTP %d", status);
        json_decref(doc);
        return -1;
    }
    if (!json_is_object(doc)) {
        zl_err_set(err, "TOKEN", status, false, "token refresh: reply is not JSON (HTTP %d)", status);
        json_decref(doc);
        return -1;
    }
    json_t *e = json_object_get(doc, "error");
    if (e) {
        const char *code = json_is_string(e) ? json_string_value(e) : "error";
        const char *desc = json_string_value(json_object_get(doc, "error_description"));
        /* the endpoint's own words are safe: it never echoes the secret (scrubbed anyway) */
        zl_err_set(err, "TOKEN", status, false, "token refresh refused by the accounts server: %s%s%s%s",
                   code, desc ? " (" : "", desc ? desc : "", desc ? ")" : "");
        char details[160];
        json_t *d = json_pack("{s:s}", "error", code);
        char *dj = d ? json_dumps(d, JSON_COMPACT) : NULL;
        if (dj) { snprintf(details, sizeof details, "%s", dj); err->details = zl_strdup0(details); }
        free(dj);
        json_decref(d);
        json_decref(doc);
        return -1;
    }
    const char *tok = json_string_value(json_object_get(doc, "access_token"));
    if (status != 200 || !tok || !*tok) {
        zl_err_set(err, "TOKEN", status, false, "token refresh: reply has no access_token (HTTP %d)", status);
        json_decref(doc);
        return -1;
    }
    if (!zl_token_ok(tok)) {
        zl_err_set(err, "TOKEN", status, false, "token refresh: the access_token in the reply holds control characters");
        json_decref(doc);
        return -1;
    }
    double exp = num(json_object_get(doc, "expires_in_sec"));
    if (exp <= 0) exp = num(json_object_get(doc, "expires_in"));
    if (exp <= 0) exp = 3600;
    out->access_token = zl_strdup0(tok);
    out->expires_in = exp;
    const char *api = json_string_value(json_object_get(doc, "api_domain"));
    out->api_domain = api ? zl_strdup0(api) : NULL;
    json_decref(doc);
    if (!out->access_token || (api && !out->api_domain)) {
        zl_token_reply_free(out);
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return -1;
    }
    return 0;
}
