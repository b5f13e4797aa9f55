/* dc.c - Zoho's data centres (README, "Data centres") and URL rules: https everywhere,
 * plain http only to loopback hosts (127.0.0.0/8, ::1, localhost). Pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "internal.h"

static const zl_dc DCS[] = {
    { "us", "accounts.zoho.com",     "zohoapis.com" },
    { "eu", "accounts.zoho.eu",      "zohoapis.eu" },
    { "in", "accounts.zoho.in",      "zohoapis.in" },
    { "au", "accounts.zoho.com.au",  "zohoapis.com.au" },
    { "jp", "accounts.zoho.jp",      "zohoapis.jp" },
    { "cn", "accounts.zoho.com.cn",  "zohoapis.com.cn" },
    { "ca", "accounts.zohocloud.ca", "zohoapis.ca" },
    { "sa", "accounts.zoho.sa",      "zohoapis.sa" },
};

int zl_dc_domains(const char *dc, const char *env, char *accounts, size_t an, char *api, size_t apin) {
    if (!dc || !*dc) dc = "us";
    if (!env || !*env) env = "production";
    const char *prefix;
    if (strcasecmp(env, "production") == 0) prefix = "www";
    else if (strcasecmp(env, "sandbox") == 0) prefix = "sandbox";
    else if (strcasecmp(env, "developer") == 0) prefix = "developer";
    else return -1;
    for (size_t i = 0; i < sizeof DCS / sizeof DCS[0]; i++) {
        if (strcasecmp(dc, DCS[i].name) == 0) {
            snprintf(accounts, an, "https://%s", DCS[i].accounts);
            snprintf(api, apin, "https://%s.%s", prefix, DCS[i].api_suffix);
            return 0;
        }
    }
    return -1;
}

bool zl_host_is_loopback(const char *host, size_t len) {
    if (len == 9 && strncasecmp(host, "localhost", 9) == 0) return true;
    if (len == 5 && strncmp(host, "[::1]", 5) == 0) return true;
    if (len == 3 && strncmp(host, "::1", 3) == 0) return true;
    /* 127.a.b.c, every part a number 0..255 */
    if (len < 9 || len > 15 || strncmp(host, "127.", 4) != 0) return false;
    int parts = 2, val = 0, digits = 0;   /* "127" and the part being read */
    for (size_t i = 4; i < len; i++) {
        char ch = host[i];
        if (ch == '.') {
            if (!digits) return false;
            parts++; val = 0; digits = 0;
        } else if (ch >= '0' && ch <= '9') {
            val = val * 10 + (ch - '0');
            if (++digits > 3 || val > 255) return false;
        } else return false;
    }
    return digits && parts == 4;
}

/* Splits "scheme://host[:port][/...]": host start and length (IPv6 keeps its brackets). */
static bool split_host(const char *url, const char **host, size_t *hlen) {
    const char *p = strstr(url, "://");
    if (!p) return false;
    p += 3;
    const char *end;
    if (*p == '[') {
        end = strchr(p, ']');
        if (!end) return false;
        end++;
    } else {
        end = p;
        while (*end && *end != ':' && *end != '/' && *end != '?' && *end != '#') end++;
    }
    if (end == p) return false;
    for (const char *q = p; q < end; q++)
        if (*q == '@' || (unsigned char)*q <= 0x20) return false;   /* no userinfo, no spaces */
    *host = p;
    *hlen = (size_t)(end - p);
    return true;
}

bool zl_url_allowed(const char *url) {
    const char *h;
    size_t n;
    if (!url || !split_host(url, &h, &n)) return false;
    if (strncasecmp(url, "https://", 8) == 0) return true;
    if (strncasecmp(url, "http://", 7) == 0) return zl_host_is_loopback(h, n);
    return false;
}

char *zl_url_normalize(const char *in, const char **why) {
    if (!in || !*in) { *why = "is empty"; return NULL; }
    zl_buf b = {0};
    if (!strstr(in, "://")) zl_buf_adds(&b, "https://");
    zl_buf_adds(&b, in);
    if (!zl_buf_str(&b)) { *why = "out of memory"; zl_buf_free(&b); return NULL; }
    while (b.len > 0 && b.p[b.len - 1] == '/') b.p[--b.len] = '\0';
    const char *h;
    size_t n;
    if (!split_host(b.p, &h, &n)) { *why = "is not a URL (scheme://host[:port])"; zl_buf_free(&b); return NULL; }
    const char *rest = h + n;
    if (*rest == ':') { rest++; while (*rest >= '0' && *rest <= '9') rest++; }
    if (*rest) { *why = "must be scheme://host[:port] with no path"; zl_buf_free(&b); return NULL; }
    if (!zl_url_allowed(b.p)) {
        *why = strncasecmp(b.p, "http://", 7) == 0 ? "must use https (plain http only to loopback hosts)"
                                                    : "must use https";
        zl_buf_free(&b);
        return NULL;
    }
    return b.p;
}
