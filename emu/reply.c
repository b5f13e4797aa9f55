/* Zoho's answer shapes: top-level errors, errors wrapped in data, success items, JSON bodies. */
#include "emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void emu_reply_raw(emu_ctx *c, int status, char *body, size_t len)
{
    free(c->out);
    c->status = status;
    c->out = body;
    c->out_len = len;
}

void emu_reply_json(emu_ctx *c, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s) { emu_reply_raw(c, 500, emu_strdup("{\"code\":\"INTERNAL_ERROR\",\"details\":{},\"message\":\"Internal Server Error\",\"status\":\"error\"}"), 0); c->out_len = strlen(c->out); return; }
    emu_reply_raw(c, status, s, strlen(s));
}

void emu_reply_empty(emu_ctx *c, int status) { emu_reply_raw(c, status, NULL, 0); }

json_t *emu_error_item(const char *code, const char *msg, json_t *details)
{
    json_t *j = json_object();
    json_object_set_new(j, "code", json_string(code));
    json_object_set_new(j, "details", details ? details : json_object());
    json_object_set_new(j, "message", emu_jstr(msg));
    json_object_set_new(j, "status", json_string("error"));
    return j;
}

json_t *emu_success_item(const char *msg, json_t *details)
{
    json_t *j = json_object();
    json_object_set_new(j, "code", json_string("SUCCESS"));
    json_object_set_new(j, "details", details ? details : json_object());
    json_object_set_new(j, "message", json_string(msg));
    json_object_set_new(j, "status", json_string("success"));
    return j;
}

void emu_reply_error(emu_ctx *c, int status, const char *code, const char *msg, json_t *details)
{
    emu_reply_json(c, status, emu_error_item(code, msg, details));
}

void emu_reply_error_rpi(emu_ctx *c, int status, const char *code, const char *msg, int rpi)
{
    emu_reply_error(c, status, code, msg, json_pack("{s:i}", "resource_path_index", rpi));
}

void emu_reply_wrapped(emu_ctx *c, int status, const char *code, const char *msg, json_t *details)
{
    emu_reply_json(c, status, json_pack("{s:[o]}", "data", emu_error_item(code, msg, details)));
}

json_t *emu_user_json(const emu_org *o, int user, bool with_email)
{
    if (user < 0 || (size_t)user >= o->nusers) return json_null();
    const emu_user *u = &o->users[user];
    if (with_email)
        return json_pack("{s:s,s:s,s:s}", "name", u->name, "id", u->id, "email", u->email);
    return json_pack("{s:s,s:s}", "name", u->name, "id", u->id);
}

json_t *emu_body_data(emu_ctx *c, json_t **root, const char *key)
{
    *root = NULL;
    if (c->body_too_big) {
        emu_reply_error(c, 413, "LIMIT_EXCEEDED", "the request body is too large",
                        json_pack("{s:s,s:i}", "param", "body", "limit", EMU_MAX_BODY));
        return NULL;
    }
    if (!c->body || !c->body_len) {
        emu_reply_error(c, 400, "MANDATORY_NOT_FOUND", "required field not found",
                        json_pack("{s:s,s:s}", "api_name", key, "json_path", key[0] == 'd' ? "$.data" : "$"));
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        emu_reply_error(c, 400, "INVALID_DATA", "body is not a valid JSON",
                        json_pack("{s:s,s:i}", "reason", "malformed JSON or invalid UTF-8",
                                  "position", (int)je.position));
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        emu_reply_error(c, 400, "INVALID_DATA", "invalid data",
                        json_pack("{s:s}", "expected_data_type", "jsonobject"));
        return NULL;
    }
    json_t *d = json_object_get(j, key);
    if (!d) {
        json_decref(j);
        char path[80];
        snprintf(path, sizeof path, "$.%s", key);
        emu_reply_error(c, 400, "MANDATORY_NOT_FOUND", "required field not found",
                        json_pack("{s:s,s:s}", "api_name", key, "json_path", path));
        return NULL;
    }
    if (!json_is_array(d) || json_array_size(d) == 0) {
        json_decref(j);
        char path[80];
        snprintf(path, sizeof path, "$.%s", key);
        emu_reply_error(c, 400, "INVALID_DATA", "invalid data",
                        json_pack("{s:s,s:s,s:s}", "api_name", key, "json_path", path,
                                  "expected_data_type", "jsonarray"));
        return NULL;
    }
    *root = j;
    return d;
}
