/* Fuzzes the request builders: zl_request_build (every op kind), zl_url_normalize and
 * zl_url_allowed, zl_dc_domains and the refresh form body (zl_auth_refresh_body).
 * Input: op kind, flags (bit 0: api_version "v8" instead of the field; bits 1-2: parameter
 * count), then fields: api_version, module, record_id, lock_id, reason, method, path, body,
 * 3 x (param key, value), url, dc, env, client_id, client_secret, refresh_token.
 * Invariants: the builder refuses exactly what the checks (zl_check_*) refuse; a built path
 * is printable ASCII without spaces under /crm/{v}/ and no ".." before its query; a reason
 * body is JSON holding exactly the reason; a normalised URL is allowed, has no trailing '/'
 * and normalises to itself; a refresh body has exactly its three parameters; no leaks. */
#include <jansson.h>
#include "internal.h"
#include "fuzz_input.h"

enum { F_VER, F_MOD, F_REC, F_LOCK, F_REASON, F_METHOD, F_PATH, F_BODY, F_P1K, F_P1V, F_P2K,
       F_P2V, F_P3K, F_P3V, F_URL, F_DC, F_ENV, F_CID, F_CSEC, F_RTOK, F_COUNT };

static bool ok_check(const char *(*fn)(const char *, size_t), const char *v) {
    return v && fn(v, strlen(v)) == NULL;
}

static void check_build(const fuzz_input *in, zl_op_kind kind, const char *ver, size_t nparams) {
    zl_param params[3];
    bool keys_ok = true;
    for (size_t i = 0; i < nparams; i++) {
        params[i].key = in->f[F_P1K + 2 * i];
        params[i].value = in->f[F_P1V + 2 * i];
        if (!params[i].key || !*params[i].key) keys_ok = false;
    }
    zl_op op = { .kind = kind, .module = in->f[F_MOD], .record_id = in->f[F_REC],
                 .lock_id = in->f[F_LOCK], .reason = in->f[F_REASON], .params = params,
                 .nparams = nparams, .method = in->f[F_METHOD], .path = in->f[F_PATH],
                 .body = in->f[F_BODY], .idempotent = (int)(fuzz_byte(in, 1) >> 3) % 3 - 1 };
    zl_request r;
    zl_error err = {0};
    int rc = zl_request_build(&op, ver, &r, &err);
    /* an UNLOCK without a lock id is valid: the call finds the lock first */
    bool need_lock = kind == ZL_OP_GET_ONE || kind == ZL_OP_UPDATE || (kind == ZL_OP_UNLOCK && op.lock_id);
    bool need_reason = kind == ZL_OP_LOCK || kind == ZL_OP_UPDATE;
    if (kind != ZL_OP_REQUEST) {
        bool checks = ok_check(zl_check_module, op.module) && ok_check(zl_check_id, op.record_id) &&
                      (!need_lock || ok_check(zl_check_id, op.lock_id)) &&
                      (!need_reason || ok_check(zl_check_reason, op.reason));
        if (rc == 0) FUZZ_ASSERT(checks, "built an op the checks refuse (kind %d)", (int)kind);
        if (checks && keys_ok && strcmp(ver, "v8") == 0)
            FUZZ_ASSERT(rc == 0, "refused an op the checks accept: %s %s", err.code, err.message);
    }
    if (rc != 0) {
        FUZZ_ASSERT(err.code[0] && !r.path && !r.body, "refusal without an error, or with a request");
        zl_error_clear(&err);
        return;
    }
    FUZZ_ASSERT(r.method && r.path, "no method or path");
    for (const unsigned char *p = (const unsigned char *)r.path; *p; p++)
        FUZZ_ASSERT(*p > 0x20 && *p < 0x7f, "byte 0x%02x in path %s", *p, r.path);
    size_t plen = strcspn(r.path, "?");
    char prefix[16];
    snprintf(prefix, sizeof prefix, "/crm/%s/", ver);
    if (kind != ZL_OP_REQUEST || (op.path && op.path[0] != '/'))
        FUZZ_ASSERT(strncmp(r.path, prefix, strlen(prefix)) == 0, "path %s outside %s", r.path, prefix);
    for (size_t i = 0; i + 1 < plen; i++)
        FUZZ_ASSERT(!(r.path[i] == '.' && r.path[i + 1] == '.'), "'..' in path %s", r.path);
    if (need_reason) {
        json_t *j = json_loads(r.body, 0, NULL);
        json_t *v = json_object_get(json_array_get(json_object_get(j, "data"), 0), "Locked_Reason__s");
        FUZZ_ASSERT(json_is_string(v) && strcmp(json_string_value(v), op.reason) == 0,
                    "reason body %s does not hold the reason", r.body);
        json_decref(j);
    }
    zl_request_free(&r);
}

static void check_url(const char *url) {
    const char *why = NULL;
    char *n = zl_url_normalize(url, &why);
    if (!n) { FUZZ_ASSERT(why && *why, "refused without a reason"); return; }
    size_t len = strlen(n);
    FUZZ_ASSERT(zl_url_allowed(n), "normalised %s is not allowed", n);
    FUZZ_ASSERT(len && n[len - 1] != '/', "trailing slash in %s", n);
    char *again = zl_url_normalize(n, &why);
    FUZZ_ASSERT(again && strcmp(again, n) == 0, "%s does not normalise to itself", n);
    free(again);
    free(n);
}

static void check_refresh_body(const char *id, const char *secret, const char *tok) {
    char *b = zl_auth_refresh_body(id ? id : "", secret ? secret : "", tok ? tok : "");
    if (!b) return;
    int amp = 0, eq = 0;
    for (const char *p = b; *p; p++) {
        amp += *p == '&'; eq += *p == '=';
        FUZZ_ASSERT((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~%&=", *p), "byte 0x%02x in refresh body", (unsigned char)*p);
    }
    FUZZ_ASSERT(amp == 3 && eq == 4, "refresh body has %d '&' and %d '='", amp, eq);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in;
    fuzz_input_split(&in, data, size, 2);
    zl_op_kind kind = (zl_op_kind)(fuzz_byte(&in, 0) % 6);
    unsigned flags = fuzz_byte(&in, 1);
    const char *ver = (flags & 1) || !in.f[F_VER] ? "v8" : in.f[F_VER];
    if (strlen(ver) < 8) check_build(&in, kind, ver, (flags >> 1) % 4 % 3 + ((flags >> 1) % 4 == 3));
    if (in.f[F_URL]) check_url(in.f[F_URL]);
    char acc[96], api[96];
    if (zl_dc_domains(in.f[F_DC] ? in.f[F_DC] : "", in.f[F_ENV], acc, sizeof acc, api, sizeof api) == 0)
        FUZZ_ASSERT(strncmp(acc, "https://", 8) == 0 && strncmp(api, "https://", 8) == 0, "%s %s", acc, api);
    check_refresh_body(in.f[F_CID], in.f[F_CSEC], in.f[F_RTOK]);
    fuzz_input_free(&in);
    return 0;
}
