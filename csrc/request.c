/* request.c - validates an operation and builds its method, path, query and body. Pure: no
 * I/O, no globals. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

const char *zl_check_module(const char *s, size_t len) {
    if (!s || len == 0) return "must not be empty";
    if (len > ZL_MODULE_MAX) return "must be at most 100 characters";
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return "must start with a letter ([A-Za-z][A-Za-z0-9_]*)";
    for (size_t i = 1; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return "must match [A-Za-z][A-Za-z0-9_]*";
    }
    return NULL;
}

const char *zl_check_id(const char *s, size_t len) {
    if (!s || len == 0 || len > ZL_ID_MAX) return "must be 1 to 19 digits";
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return "must be 1 to 19 digits";
    return NULL;
}

/* Counts UTF-8 characters; -1 when invalid (overlongs, surrogates, > U+10FFFF, NUL). */
static long utf8_chars(const unsigned char *s, size_t len) {
    long n = 0;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t k;
        unsigned cp;
        if (c == 0) return -1;
        if (c < 0x80) { i++; n++; continue; }
        else if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; }
        else return -1;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= len) return -1;
            unsigned cc = s[i + j];
            if ((cc & 0xC0) != 0x80) return -1;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
        i += k + 1;
        n++;
    }
    return n;
}

const char *zl_check_reason(const char *s, size_t len) {
    if (!s || len == 0) return "must not be empty";
    if (len > (size_t)ZL_REASON_MAX * 4) return "must be at most 3000 characters";
    long n = utf8_chars((const unsigned char *)s, len);
    if (n < 0) return "must be valid UTF-8 (no NUL)";
    if (n > ZL_REASON_MAX) return "must be at most 3000 characters";
    return NULL;
}

/* JSON string escaping of validated UTF-8 (the same bytes jansson's json_dumps gives:
 * '"' '\\' and control characters escaped, everything else as is). */
static void add_json_string(zl_buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    zl_buf_add(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        zl_buf_add(b, run, (size_t)(s - run));
        run = s + 1;
        switch (ch) {
        case '"': zl_buf_add(b, "\\\"", 2); break;
        case '\\': zl_buf_add(b, "\\\\", 2); break;
        case '\b': zl_buf_add(b, "\\b", 2); break;
        case '\f': zl_buf_add(b, "\\f", 2); break;
        case '\n': zl_buf_add(b, "\\n", 2); break;
        case '\r': zl_buf_add(b, "\\r", 2); break;
        case '\t': zl_buf_add(b, "\\t", 2); break;
        default: {
            char u[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
            zl_buf_add(b, u, 6);
        }
        }
    }
    zl_buf_add(b, run, (size_t)(s - run));
    zl_buf_add(b, "\"", 1);
}

char *zl_request_reason_body(const char *reason) {
    zl_buf b = {0};
    zl_buf_adds(&b, "{\"data\":[{\"Locked_Reason__s\":");
    add_json_string(&b, reason);
    zl_buf_adds(&b, "}]}");
    if (!zl_buf_str(&b)) { zl_buf_free(&b); return NULL; }
    return b.p;
}

void zl_request_free(zl_request *r) {
    if (!r) return;
    free(r->path);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static int invalid(zl_error *err, const char *what, const char *why) {
    zl_err_set(err, "INVALID_ARGUMENT", 0, false, "%s %s", what, why);
    return -1;
}

static int check_field(zl_error *err, const char *what, const char *v,
                       const char *(*fn)(const char *, size_t)) {
    if (!v) return invalid(err, what, "is required");
    const char *why = fn(v, strlen(v));
    return why ? invalid(err, what, why) : 0;
}

static const char *find_param(const zl_op *op, const char *key) {
    for (size_t i = 0; i < op->nparams; i++)
        if (op->params[i].key && strcmp(op->params[i].key, key) == 0) return op->params[i].value;
    return NULL;
}

static void add_query(zl_buf *b, const zl_op *op, bool default_fields) {
    char sep = '?';
    if (default_fields && !find_param(op, "fields")) {
        zl_buf_adds(b, "?fields=");
        zl_buf_adds(b, ZL_LOCK_FIELDS);
        sep = '&';
    }
    for (size_t i = 0; i < op->nparams; i++) {
        const zl_param *p = &op->params[i];
        if (!p->key || !p->value) continue;
        zl_buf_add(b, &sep, 1);
        zl_buf_add_urlenc(b, p->key);
        zl_buf_add(b, "=", 1);
        if (strcmp(p->key, "fields") == 0 || strcmp(p->key, "ids") == 0) {
            /* comma lists stay readable: encode each element, keep the commas */
            const char *s = p->value;
            while (*s) {
                const char *comma = strchr(s, ',');
                size_t n = comma ? (size_t)(comma - s) : strlen(s);
                char *part = strndup(s, n);
                if (!part) { b->oom = true; return; }
                zl_buf_add_urlenc(b, part);
                free(part);
                if (!comma) break;
                zl_buf_add(b, ",", 1);
                s = comma + 1;
            }
        } else {
            zl_buf_add_urlenc(b, p->value);
        }
        sep = '&';
    }
}

static int check_version(const char *v, zl_error *err) {
    if (!v || v[0] != 'v' || !v[1] || strlen(v) > 4) return invalid(err, "api_version", "must look like v8");
    for (const char *p = v + 1; *p; p++)
        if (*p < '0' || *p > '9') return invalid(err, "api_version", "must look like v8");
    return 0;
}

static const char *method_name(const char *m) {
    static const char *const known[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
    for (size_t i = 0; m && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(m, known[i]) == 0) return known[i];
    return NULL;
}

static int build_generic(const zl_op *op, const char *v, zl_request *out, zl_error *err) {
    const char *m = method_name(op->method);
    if (!m) return invalid(err, "method", "must be GET, POST, PUT, PATCH or DELETE");
    const char *path = op->path;
    if (!path || !*path) return invalid(err, "path", "is required");
    for (const char *p = path; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '\\')
            return invalid(err, "path", "must be a plain path (query parameters go in params)");
    }
    if (strstr(path, "..")) return invalid(err, "path", "must not contain '..'");
    zl_buf b = {0};
    if (path[0] != '/') zl_buf_addf(&b, "/crm/%s/", v);
    zl_buf_adds(&b, path);
    add_query(&b, op, false);
    if (!zl_buf_str(&b)) { zl_buf_free(&b); zl_err_set(err, "INTERNAL", 0, false, "out of memory"); return -1; }
    out->method = m;
    out->path = b.p;
    out->body = NULL;
    if (op->body && !(out->body = zl_strdup0(op->body))) {
        zl_request_free(out);
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return -1;
    }
    out->idempotent = op->idempotent < 0 ? strcmp(m, "POST") != 0 : op->idempotent != 0;
    return 0;
}

int zl_request_build(const zl_op *op, const char *v, zl_request *out, zl_error *err) {
    memset(out, 0, sizeof *out);
    if (!op) return invalid(err, "operation", "is required");
    if (check_version(v, err)) return -1;
    for (size_t i = 0; i < op->nparams; i++)
        if (!op->params[i].key || !*op->params[i].key) return invalid(err, "parameter name", "must not be empty");
    if (op->kind == ZL_OP_REQUEST) return build_generic(op, v, out, err);
    if (check_field(err, "module", op->module, zl_check_module)) return -1;
    if (check_field(err, "record id", op->record_id, zl_check_id)) return -1;
    /* an UNLOCK without a lock id gets its id from the call (see zlock.h) */
    bool need_lock = op->kind == ZL_OP_GET_ONE || op->kind == ZL_OP_UPDATE ||
                     (op->kind == ZL_OP_UNLOCK && op->lock_id);
    if (need_lock && check_field(err, "lock id", op->lock_id, zl_check_id)) return -1;
    bool need_reason = op->kind == ZL_OP_LOCK || op->kind == ZL_OP_UPDATE;
    if (need_reason && check_field(err, "reason", op->reason, zl_check_reason)) return -1;

    zl_buf b = {0};
    zl_buf_adds(&b, "/crm/");
    zl_buf_adds(&b, v);
    zl_buf_add(&b, "/", 1);
    zl_buf_adds(&b, op->module);
    zl_buf_add(&b, "/", 1);
    zl_buf_adds(&b, op->record_id);
    zl_buf_adds(&b, "/Locking_Information__s");
    if (need_lock) {
        zl_buf_add(&b, "/", 1);
        zl_buf_adds(&b, op->lock_id);
    }
    switch (op->kind) {
    case ZL_OP_LIST:    out->method = "GET"; add_query(&b, op, true); break;
    case ZL_OP_GET_ONE: out->method = "GET"; add_query(&b, op, false); break;
    case ZL_OP_LOCK:    out->method = "POST"; break;
    case ZL_OP_UPDATE:  out->method = "PUT"; break;
    case ZL_OP_UNLOCK:  out->method = "DELETE"; break;
    default:
        zl_buf_free(&b);
        return invalid(err, "operation", "is unknown");
    }
    out->idempotent = op->kind != ZL_OP_LOCK;
    if (!zl_buf_str(&b)) { zl_buf_free(&b); zl_err_set(err, "INTERNAL", 0, false, "out of memory"); return -1; }
    out->path = b.p;
    if (need_reason && !(out->body = zl_request_reason_body(op->reason))) {
        zl_request_free(out);
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return -1;
    }
    return 0;
}
