/* Checks the shape of a seed or state document before it is loaded (persist.c has the format):
 * every object holds only the keys the format knows, with values of the right JSON type.
 * A mistake is refused with its place, e.g. `modules[0].records[2]: unknown key "Stagee"`,
 * instead of being ignored. Field values are checked against the module's schema by the loader. */
#include "emu.h"

#include <stdio.h>
#include <string.h>

typedef enum { T_STR = 1, T_INT = 2, T_BOOL = 4, T_ARR = 8, T_OBJ = 16, T_NULL = 32 } jtype;

typedef struct { const char *key; unsigned types; } key_rule;

/* An id: a digit string or a positive integer; a time: epoch seconds or an ISO string. */
#define T_ID (T_STR | T_INT | T_NULL)
#define T_TIME (T_STR | T_INT)

static const key_rule top_keys[] = {
    { "format", T_STR }, { "version", T_INT }, { "next_id", T_ID }, { "current_user", T_INT },
    { "users", T_ARR }, { "modules", T_ARR }, { NULL, 0 } };
static const key_rule user_keys[] = {
    { "id", T_ID }, { "name", T_STR }, { "email", T_STR }, { "role", T_STR }, { "profile", T_STR },
    { "offset_minutes", T_INT },
    { NULL, 0 } };
static const key_rule module_keys[] = {
    { "api_name", T_STR }, { "singular", T_STR }, { "plural", T_STR }, { "id", T_ID },
    { "custom", T_BOOL }, { "fields", T_ARR }, { "name_field", T_STR }, { "name_field2", T_STR },
    { "config", T_OBJ | T_NULL }, { "records", T_ARR }, { NULL, 0 } };
static const key_rule field_keys[] = {
    { "api_name", T_STR }, { "type", T_STR }, { "lookup", T_STR }, { "picklist", T_ARR },
    { NULL, 0 } };
static const key_rule record_keys[] = {
    { "id", T_ID }, { "owner", T_INT }, { "created", T_TIME }, { "modified", T_TIME },
    { "values", T_OBJ }, { "lock", T_OBJ | T_NULL }, { NULL, 0 } };
static const key_rule lock_keys[] = {
    { "id", T_ID }, { "source", T_STR }, { "reason", T_STR | T_NULL }, { "time", T_TIME },
    { "modified", T_TIME }, { "locked_by", T_INT }, { "rule_id", T_ID }, { "config_id", T_ID },
    { NULL, 0 } };

static unsigned type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return T_STR;
    case JSON_INTEGER: return T_INT;
    case JSON_TRUE: case JSON_FALSE: return T_BOOL;
    case JSON_ARRAY: return T_ARR;
    case JSON_OBJECT: return T_OBJ;
    case JSON_NULL: return T_NULL;
    default: return 0;
    }
}

static const char *type_names(unsigned t, char *buf, size_t n)
{
    static const char *const names[] = { "a string", "an integer", "a boolean", "an array",
                                         "an object", "null" };
    buf[0] = 0;
    for (unsigned i = 0; i < 6; i++) {
        if (!(t & (1u << i))) continue;
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", len ? " or " : "", names[i]);
    }
    return buf;
}

static bool check_obj(json_t *j, const key_rule *rules, const char *where, char *err, size_t errlen)
{
    if (!json_is_object(j)) {
        snprintf(err, errlen, "%s: must be an object", where);
        return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        const key_rule *r = rules;
        while (r->key && strcmp(r->key, k) != 0) r++;
        if (!r->key) {
            char known[400] = "";
            for (const key_rule *x = rules; x->key; x++) {
                size_t len = strlen(known);
                snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "", x->key);
            }
            snprintf(err, errlen, "%s: unknown key \"%s\" (known: %s)", where, k, known);
            return false;
        }
        if (!(type_of(v) & r->types)) {
            char t[80];
            snprintf(err, errlen, "%s.%s: must be %s", where, k, type_names(r->types, t, sizeof t));
            return false;
        }
    }
    return true;
}

static bool check_list(json_t *arr, const key_rule *rules, const char *where, char *err, size_t errlen)
{
    size_t i;
    json_t *x;
    char place[200];
    json_array_foreach(arr, i, x) {
        snprintf(place, sizeof place, "%s[%zu]", where, i);
        if (!check_obj(x, rules, place, err, errlen)) return false;
    }
    return true;
}

bool emu_fixture_check(json_t *j, char *err, size_t errlen)
{
    if (!check_obj(j, top_keys, "document", err, errlen)) return false;
    const char *fmt = json_string_value(json_object_get(j, "format"));
    if (fmt && strcmp(fmt, "zlock-emu-state") != 0) {
        snprintf(err, errlen, "format: \"%s\" is not \"zlock-emu-state\"", fmt);
        return false;
    }
    json_t *ver = json_object_get(j, "version");
    if (ver && json_integer_value(ver) != 1) {
        snprintf(err, errlen, "version: %lld is not 1 (the only version this zlock-emu reads)",
                 (long long)json_integer_value(ver));
        return false;
    }
    if (!json_is_array(json_object_get(j, "modules"))) {
        snprintf(err, errlen, "\"modules\" must be an array");
        return false;
    }
    if (!check_list(json_object_get(j, "users"), user_keys, "users", err, errlen)) return false;
    size_t i;
    json_t *m;
    char place[200];
    json_array_foreach(json_object_get(j, "modules"), i, m) {
        snprintf(place, sizeof place, "modules[%zu]", i);
        if (!check_obj(m, module_keys, place, err, errlen)) return false;
        const char *name = json_string_value(json_object_get(m, "api_name"));
        snprintf(place, sizeof place, "modules[%zu] (%s)", i, name ? name : "no api_name");
        char sub[260];
        snprintf(sub, sizeof sub, "%s.fields", place);
        if (!check_list(json_object_get(m, "fields"), field_keys, sub, err, errlen)) return false;
        snprintf(sub, sizeof sub, "%s.records", place);
        if (!check_list(json_object_get(m, "records"), record_keys, sub, err, errlen)) return false;
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(m, "records"), k, r) {
            json_t *l = json_object_get(r, "lock");
            snprintf(sub, sizeof sub, "%s.records[%zu].lock", place, k);
            if (json_is_object(l) && !check_obj(l, lock_keys, sub, err, errlen)) return false;
            const char *src = json_string_value(json_object_get(l, "source"));
            if (src && strcmp(src, "Manual") != 0 && strcmp(src, "Automatic") != 0) {
                snprintf(err, errlen, "%s.source: \"%s\" is neither \"Manual\" nor \"Automatic\"", sub, src);
                return false;
            }
        }
    }
    return true;
}
