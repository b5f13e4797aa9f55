/* response.c - HTTP status + body (or a transport failure) -> result or error (pure).
 * Accepts both Zoho error envelopes: the top-level {"code","details","message","status"}
 * and the wrapped {"data":[{...,"status":"error"}]}; settings APIs wrap under their own key
 * ({"record_locking_configurations":[{...}]}), which an error reply holds alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "internal.h"

static const char *jstr(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool valid_id(const char *s) {
    return s && zl_check_id(s, strlen(s)) == NULL;
}

/* Fills out->err from an error object (code, message, details). */
static void set_zoho_error(zl_classified *out, json_t *obj, int status) {
    const char *code = jstr(obj, "code");
    const char *msg = jstr(obj, "message");
    zl_err_set(&out->err, code && *code ? code : "BAD_RESPONSE", status, false, "%s",
               msg ? msg : (code ? code : "error without a message"));
    json_t *d = json_object_get(obj, "details");
    if (json_is_object(d) || json_is_array(d))
        out->err.details = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
}

static const char *transport_code(zl_transport_error t) {
    switch (t) {
    case ZL_TERR_CONNECT: return "CONNECT";
    case ZL_TERR_TIMEOUT: return "TIMEOUT";
    case ZL_TERR_CLOSED: return "CLOSED";
    case ZL_TERR_TLS: return "TLS";
    case ZL_TERR_TOO_LARGE: return "BAD_RESPONSE";
    default: return "TRANSPORT";
    }
}

static const char *transport_text(zl_transport_error t) {
    switch (t) {
    case ZL_TERR_CONNECT: return "could not connect to the server";
    case ZL_TERR_TIMEOUT: return "timed out waiting for the reply";
    case ZL_TERR_CLOSED: return "connection closed before a complete reply";
    case ZL_TERR_TLS: return "TLS handshake or certificate verification failed";
    case ZL_TERR_TOO_LARGE: return "reply larger than max_response_bytes";
    default: return "transport failure";
    }
}

static int64_t rpi(json_t *obj) {
    json_t *d = json_object_get(obj, "details");
    json_t *v = json_object_get(d, "resource_path_index");
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static bool icontains(const char *hay, const char *needle) {
    if (!hay) return false;
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return true;
    return false;
}

static void classify_error(zl_op_kind kind, int status, json_t *obj, zl_classified *out) {
    set_zoho_error(out, obj, status);
    const char *code = out->err.code;
    const char *msg = jstr(obj, "message");
    if (status == 429 || strcmp(code, "TOO_MANY_REQUESTS") == 0) {
        out->outcome = ZL_OUT_RETRY;
        out->err.retryable = true;
    } else if (status >= 500) {
        out->outcome = ZL_OUT_AMBIGUOUS;
        out->err.retryable = true;
    } else if (status == 401 && strcmp(code, "INVALID_TOKEN") == 0) {
        out->outcome = ZL_OUT_BAD_TOKEN;
    } else if (kind == ZL_OP_LOCK && status == 403 && strcmp(code, "NOT_ALLOWED") == 0 &&
               icontains(msg, "already locked")) {
        out->outcome = ZL_OUT_ALREADY_LOCKED;
    } else if ((kind == ZL_OP_UNLOCK || kind == ZL_OP_UPDATE) && strcmp(code, "INVALID_DATA") == 0 &&
               (rpi(obj) == 3 || icontains(msg, "relation not found"))) {
        out->outcome = ZL_OUT_NOT_FOUND;
    } else {
        out->outcome = ZL_OUT_ERROR;
    }
}

static void bad_response(zl_classified *out, int status, const char *what) {
    out->outcome = status >= 500 ? ZL_OUT_AMBIGUOUS : ZL_OUT_ERROR;
    zl_err_set(&out->err, "BAD_RESPONSE", status, status >= 500, "%s (HTTP %d)", what, status);
}

/* memmem is a GNU extension: a portable one for short needles. memchr looks for the needle's
 * second byte when its first is a quote: quotes are every few bytes of JSON, letters are rarer. */
static const char *find(const char *h, size_t hl, const char *n, size_t nl) {
    if (nl == 0 || nl > hl) return nl == 0 ? h : NULL;
    size_t k = (nl > 1 && n[0] == '"') ? 1 : 0;
    const char *s = h + k, *last = h + (hl - nl) + k;   /* where n[k] may stand */
    while (s <= last) {
        const char *p = memchr(s, n[k], (size_t)(last - s) + 1);
        if (!p) return NULL;
        if (memcmp(p - k, n, nl) == 0) return p - k;
        s = p + 1;
    }
    return NULL;
}

/* The lock id of a 2xx action reply ({"data":[{"details":{"id":"..."}, "status":"success"}]})
 * without building a JSON tree. Returns false when unsure (the caller parses fully). */
static bool scan_action_id(const char *body, size_t len, char out[ZL_ID_MAX + 1]) {
    if (find(body, len, "\"error\"", 7) || find(body, len, "\\\"", 2)) return false;
    const char *d = find(body, len, "\"details\"", 9);
    if (!d) return false;
    const char *end = body + len;
    const char *p = find(d, (size_t)(end - d), "\"id\"", 4);
    if (!p) return false;
    p += 4;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    if (p >= end || *p++ != ':') return false;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    if (p >= end || *p++ != '"') return false;
    size_t n = 0;
    while (p + n < end && p[n] >= '0' && p[n] <= '9') n++;
    if (n == 0 || n > ZL_ID_MAX || p + n >= end || p[n] != '"') return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

void zl_response_classify(zl_op_kind kind, int status, const char *body, size_t len,
                          zl_transport_error terr, zl_classified *out) {
    memset(out, 0, sizeof *out);
    if (terr != ZL_TERR_NONE || status <= 0) {
        if (terr == ZL_TERR_NONE) terr = ZL_TERR_OTHER;
        bool retry = terr == ZL_TERR_CONNECT || terr == ZL_TERR_TIMEOUT || terr == ZL_TERR_CLOSED;
        out->outcome = !retry ? ZL_OUT_ERROR : terr == ZL_TERR_CONNECT ? ZL_OUT_RETRY : ZL_OUT_AMBIGUOUS;
        zl_err_set(&out->err, transport_code(terr), 0, retry, "%s", transport_text(terr));
        return;
    }
    bool blank = true;
    for (size_t i = 0; body && i < len; i++)
        if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' && body[i] != '\t') { blank = false; break; }
    if (blank) {
        if (status == 204 || (status >= 200 && status < 300 && kind == ZL_OP_REQUEST)) {
            out->outcome = ZL_OUT_OK;
            out->empty = true;
            return;
        }
        if (status == 429) {
            out->outcome = ZL_OUT_RETRY;
            zl_err_set(&out->err, "TOO_MANY_REQUESTS", 429, true, "too many requests");
            return;
        }
        bad_response(out, status, "empty reply");
        return;
    }
    if (status >= 200 && status < 300 && (kind == ZL_OP_LIST || kind == ZL_OP_GET_ONE || kind == ZL_OP_REQUEST)) {
        /* a read: nothing to extract (the caller knows the lock id it asked for) and the
           caller decodes the body anyway: no second parse here, only a shape check */
        size_t i = 0;
        while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) i++;
        if (kind != ZL_OP_REQUEST && body[i] != '{') bad_response(out, status, "reply is not a JSON object");
        else out->outcome = ZL_OUT_OK;
        return;
    }
    if (status >= 200 && status < 300 && scan_action_id(body, len, out->lock_id)) {
        out->outcome = ZL_OUT_OK;    /* lock / update / unlock success: only the id is needed */
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    if (!doc || !json_is_object(doc)) {
        json_decref(doc);
        if (status == 429) {
            out->outcome = ZL_OUT_RETRY;
            zl_err_set(&out->err, "TOO_MANY_REQUESTS", 429, true, "too many requests");
            return;
        }
        bad_response(out, status, "reply is not a JSON object");
        return;
    }
    json_t *data = json_object_get(doc, "data");
    json_t *item = json_is_array(data) ? json_array_get(data, 0) : NULL;
    if (!json_is_object(item)) item = NULL;
    const char *item_status = item ? jstr(item, "status") : NULL;

    if (status < 200 || status >= 300) {
        if (!item && !data && json_object_size(doc) == 1) {   /* {"<resource>":[{error}]} */
            json_t *only = json_object_iter_value(json_object_iter(doc));
            item = json_is_array(only) ? json_array_get(only, 0) : NULL;
            if (!json_is_object(item)) item = NULL;
        }
        json_t *eobj = jstr(doc, "code") ? doc : (item && jstr(item, "code") ? item : NULL);
        if (eobj) classify_error(kind, status, eobj, out);
        else if (status == 429) {
            out->outcome = ZL_OUT_RETRY;
            zl_err_set(&out->err, "TOO_MANY_REQUESTS", 429, true, "too many requests");
        } else bad_response(out, status, "error reply without a code");
        json_decref(doc);
        return;
    }
    /* 2xx */
    if (kind == ZL_OP_REQUEST || kind == ZL_OP_LIST) {
        if (kind == ZL_OP_LIST && !json_is_array(data)) bad_response(out, status, "list reply has no data array");
        else out->outcome = ZL_OUT_OK;
        json_decref(doc);
        return;
    }
    if (!item) {
        bad_response(out, status, "reply has no data item");
        json_decref(doc);
        return;
    }
    if (item_status && strcmp(item_status, "error") == 0) {
        classify_error(kind, status, item, out);
        json_decref(doc);
        return;
    }
    const char *id = NULL;
    if (kind == ZL_OP_GET_ONE) id = jstr(item, "id");
    else id = jstr(json_object_get(item, "details"), "id");
    if (!valid_id(id)) {
        bad_response(out, status, "reply has no valid lock id");
        json_decref(doc);
        return;
    }
    snprintf(out->lock_id, sizeof out->lock_id, "%s", id);
    out->outcome = ZL_OUT_OK;
    json_decref(doc);
}

bool zl_response_pick(const char *body, size_t len, const char *reason, zl_lock_pick *out) {
    memset(out, 0, sizeof *out);
    if (!body || !len) return false;
    json_t *doc = json_loadb(body, len, 0, NULL);
    json_t *data = json_object_get(doc, "data");
    bool held_manual = false;
    size_t i;
    json_t *l;
    json_array_foreach(data, i, l) {
        const char *id = jstr(l, "id");
        if (!valid_id(id)) continue;
        const char *src = jstr(l, "Lock_Source__s");
        const char *why = jstr(l, "Locked_Reason__s");
        bool manual = src && strcmp(src, "Manual") == 0;
        if (!out->held[0] || (manual && !held_manual)) {
            snprintf(out->held, sizeof out->held, "%s", id);
            held_manual = manual;
        }
        if (manual && !out->mine[0] && why && reason && strcmp(why, reason) == 0)
            snprintf(out->mine, sizeof out->mine, "%s", id);
    }
    json_decref(doc);
    return out->held[0] != '\0';
}
