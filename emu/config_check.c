/* Record locking configuration checks, after a configuration is parsed (config.c) and before
 * it replaces the module's: Zoho's documented codes, wrapped as body-field errors.
 *   INVALID_DATA             a value outside its enum (locked_for, restricted_actions), a
 *                            criteria field the module does not have
 *   DEPENDENT_FIELD_MISSING  automatic/both without rules; all_profiles_except_excluded_profiles
 *                            without lock_excluded_profiles
 *   LIMIT_EXCEEDED           more than 5 rules
 * "update" is always restricted (Zoho: a locked record is never editable): a configuration
 * without it gets it. UNCONFIRMED: whether Zoho refuses such a body instead, the exact texts,
 * and which restricted_actions besides update and delete exist. */
#include "field.h"

#include <stdio.h>
#include <string.h>

#define MAX_RULES 5

static json_t *item_err(const char *code, const char *msg, const char *key, json_t *extra)
{
    char path[96];
    snprintf(path, sizeof path, "$.record_locking_configurations[0].%s", key);
    json_t *d = json_pack("{s:s,s:s}", "api_name", key, "json_path", path);
    if (extra) json_object_update(d, extra);
    json_decref(extra);
    return emu_error_item(code, msg, d);
}

static json_t *dependent(const char *key, const char *dependee)
{
    char path[96];
    snprintf(path, sizeof path, "$.record_locking_configurations[0].%s", dependee);
    return item_err("DEPENDENT_FIELD_MISSING", "dependent field missing", key,
                    json_pack("{s:{s:s,s:s}}", "dependee", "api_name", dependee, "json_path", path));
}

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; s && list[i]; i++)
        if (strcmp(s, list[i]) == 0) return true;
    return false;
}

/* Every field a criteria object names exists in the module (strings are checked by the parser). */
static bool criteria_fields_ok(const emu_module *m, json_t *c, int depth)
{
    if (!json_is_object(c) || depth > 32) return json_is_string(c);
    json_t *group = json_object_get(c, "group");
    if (json_is_array(group)) {
        size_t i; json_t *it;
        json_array_foreach(group, i, it) if (!criteria_fields_ok(m, it, depth + 1)) return false;
        return json_array_size(group) > 0;
    }
    json_t *field = json_object_get(c, "field");
    const char *name = json_is_object(field) ? json_string_value(json_object_get(field, "api_name"))
                                             : json_string_value(field);
    return name && emu_module_has_field(m, name) && json_is_string(json_object_get(c, "comparator"));
}

static json_t *check_restricted(emu_config *c)
{
    static const char *const actions[] = { "update", "delete", NULL };
    json_t *ra = json_object_get(c->obj, "restricted_actions");
    size_t i; json_t *it;
    bool update = false;
    json_array_foreach(ra, i, it) {
        if (!in_list(json_string_value(it), actions))
            return item_err("INVALID_DATA", "invalid data", "restricted_actions",
                            json_pack("{s:[ss]}", "supported_values", "update", "delete"));
        update |= strcmp(json_string_value(it), "update") == 0;
    }
    if (!update) json_array_insert_new(ra, 0, json_string("update"));
    c->restrict_update = true;
    return NULL;
}

static json_t *check_profiles(emu_config *c)
{
    static const char *const modes[] = { "all_profiles", "all_profiles_except_excluded_profiles", NULL };
    json_t *lf = json_object_get(c->obj, "locked_for");
    if (lf && !in_list(json_string_value(lf), modes))
        return item_err("INVALID_DATA", "invalid data", "locked_for",
                        json_pack("{s:[ss]}", "supported_values", modes[0], modes[1]));
    json_t *ex = json_object_get(c->obj, "lock_excluded_profiles");
    if (ex && !json_is_array(ex)) return item_err("INVALID_DATA", "invalid data", "lock_excluded_profiles", NULL);
    if (lf && strcmp(json_string_value(lf), modes[1]) == 0 && json_array_size(ex) == 0)
        return dependent("lock_excluded_profiles", "locked_for");
    return NULL;
}

/* Names only: the emulator's schemas hold a subset of Zoho's fields (UNCONFIRMED: Zoho refuses
 * an unknown field here too). */
static json_t *check_excluded_fields(emu_config *c)
{
    json_t *ef = json_object_get(c->obj, "excluded_fields");
    if (!ef) return NULL;
    if (!json_is_array(ef)) return item_err("INVALID_DATA", "invalid data", "excluded_fields", NULL);
    size_t i; json_t *it;
    json_array_foreach(ef, i, it) {
        const char *name = json_is_object(it) ? json_string_value(json_object_get(it, "api_name"))
                                              : json_string_value(it);
        if (!name || !*name) return item_err("INVALID_DATA", "invalid data", "excluded_fields", NULL);
    }
    return NULL;
}

json_t *emu_config_check(const emu_module *m, emu_config *c)
{
    json_t *err;
    if (c->lock_type != 0 && c->nrules == 0) return dependent("locking_rules", "lock_type");
    if (c->nrules > MAX_RULES)
        return item_err("LIMIT_EXCEEDED", "limit exceeded", "locking_rules", json_pack("{s:i}", "limit", MAX_RULES));
    for (size_t i = 0; i < c->nrules; i++)
        if (!criteria_fields_ok(m, c->rules[i].criteria, 0))
            return item_err("INVALID_DATA", "invalid data", "criteria", NULL);
    if ((err = check_restricted(c))) return err;
    if ((err = check_profiles(c))) return err;
    return check_excluded_fields(c);
}
