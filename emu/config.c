/* Record locking configurations: parsing, rendering, and automatic rule evaluation.
 * A rule's criteria is Zoho's criteria object ({comparator, field:{api_name}, value} or
 * {group_operator, group:[...]}) or, as an emulator extension, a search-criteria string. */
#include "field.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const lock_types[] = { "manual", "automatic", "both" };

static double num_of(json_t *v, bool *ok)
{
    *ok = true;
    if (json_is_number(v)) return json_number_value(v);
    if (json_is_string(v)) {
        char *end;
        double d = strtod(json_string_value(v), &end);
        if (end != json_string_value(v) && !*end) return d;
    }
    *ok = false;
    return 0;
}

static bool cmp_one(const emu_value *fv, const char *op, json_t *val)
{
    char vb[64];
    const char *vs = json_is_string(val) ? json_string_value(val) : NULL;
    if (!vs && json_is_number(val)) { snprintf(vb, sizeof vb, "%.17g", json_number_value(val)); vs = vb; }
    if (!vs && json_is_boolean(val)) vs = json_is_true(val) ? "true" : "false";
    if (strcmp(op, "is_empty") == 0 || (vs && strcmp(vs, "${EMPTY}") == 0 && strcmp(op, "equal") == 0))
        return fv->type == EMU_V_NULL || (fv->type == EMU_V_STR && !*fv->s);
    if (strcmp(op, "is_not_empty") == 0 || (vs && strcmp(vs, "${EMPTY}") == 0 && strcmp(op, "not_equal") == 0))
        return !(fv->type == EMU_V_NULL || (fv->type == EMU_V_STR && !*fv->s));
    if (fv->type == EMU_V_NULL) return strcmp(op, "not_equal") == 0;
    bool eq = strcmp(op, "equal") == 0 || strcmp(op, "equals") == 0;
    bool ne = strcmp(op, "not_equal") == 0;
    if (fv->type == EMU_V_NUM) {
        bool ok;
        double d = num_of(val, &ok), x = fv->n;
        if (!ok) return ne;
        if (eq) return x == d;
        if (ne) return x != d;
        if (strcmp(op, "greater_than") == 0) return x > d;
        if (strcmp(op, "less_than") == 0) return x < d;
        if (strcmp(op, "greater_equal") == 0) return x >= d;
        if (strcmp(op, "less_equal") == 0) return x <= d;
        return false;
    }
    char fb[8];
    const char *s = fv->type == EMU_V_BOOL ? (snprintf(fb, sizeof fb, "%s", fv->b ? "true" : "false"), fb) : fv->s;
    if (!vs) return ne;
    if (eq) return strcasecmp(s, vs) == 0;
    if (ne) return strcasecmp(s, vs) != 0;
    size_t ls = strlen(s), lv = strlen(vs);
    if (strcmp(op, "starts_with") == 0) return ls >= lv && strncasecmp(s, vs, lv) == 0;
    if (strcmp(op, "ends_with") == 0) return ls >= lv && strcasecmp(s + ls - lv, vs) == 0;
    if (strcmp(op, "contains") == 0 || strcmp(op, "not_contains") == 0) {
        bool found = false;
        for (size_t i = 0; !found && i + lv <= ls; i++) found = strncasecmp(s + i, vs, lv) == 0;
        return op[0] == 'c' ? found : !found;
    }
    int c = strcmp(s, vs);   /* dates and datetimes in ISO form compare as strings */
    if (strcmp(op, "greater_than") == 0) return c > 0;
    if (strcmp(op, "less_than") == 0) return c < 0;
    if (strcmp(op, "greater_equal") == 0) return c >= 0;
    if (strcmp(op, "less_equal") == 0) return c <= 0;
    return false;
}

static bool match_json(emu_org *o, const emu_record *r, json_t *c, int depth)
{
    if (!json_is_object(c) || depth > 32) return false;
    json_t *group = json_object_get(c, "group");
    if (json_is_array(group)) {
        const char *gop = json_string_value(json_object_get(c, "group_operator"));
        bool is_or = gop && strcasecmp(gop, "or") == 0;
        size_t i; json_t *it;
        json_array_foreach(group, i, it) {
            bool m = match_json(o, r, it, depth + 1);
            if (is_or && m) return true;
            if (!is_or && !m) return false;
        }
        return !is_or;
    }
    json_t *field = json_object_get(c, "field");
    const char *fname = json_is_object(field) ? json_string_value(json_object_get(field, "api_name"))
                                              : json_string_value(field);
    const char *op = json_string_value(json_object_get(c, "comparator"));
    json_t *val = json_object_get(c, "value");
    if (!fname || !op) return false;
    emu_value_ctx vc = { .org = o };
    emu_value fv;
    if (!emu_record_value(r, fname, &fv, &vc)) return false;
    if (strcmp(op, "in") == 0 || strcmp(op, "not_in") == 0) {
        bool any = false;
        if (json_is_array(val)) {
            size_t i; json_t *it;
            json_array_foreach(val, i, it) any |= cmp_one(&fv, "equal", it);
        } else any = cmp_one(&fv, "equal", val);
        return op[0] == 'i' ? any : !any;
    }
    if (strcmp(op, "between") == 0)
        return json_is_array(val) && json_array_size(val) == 2
            && cmp_one(&fv, "greater_equal", json_array_get(val, 0))
            && cmp_one(&fv, "less_equal", json_array_get(val, 1));
    return cmp_one(&fv, op, val);
}

bool emu_rule_match(emu_org *o, const emu_record *r, const emu_rule *rule)
{
    if (json_is_string(rule->criteria)) {
        emu_parse_error pe;
        emu_cond *c = emu_criteria_parse(json_string_value(rule->criteria), &pe);
        if (!c) return false;
        emu_value_ctx vc = { .org = o };
        bool m = emu_cond_match(c, emu_record_value, r, &vc);
        emu_cond_free(c);
        return m;
    }
    return match_json(o, r, rule->criteria, 0);
}

void emu_config_apply(emu_org *o, emu_record *r, int64_t now)
{
    emu_config *c = o->modules[r->module].config;
    if (!c) return;
    if (r->lock && !r->lock->automatic) return;
    if (c->lock_type == 0) return;
    for (size_t i = 0; i < c->nrules; i++)
        if (emu_rule_match(o, r, &c->rules[i])) {
            if (!r->lock) emu_lock_new(o, r, true, NULL, -1, c->rules[i].id, c->id, now);
            return;
        }
    /* No rule matches any more: an automatic lock goes away. */
    if (r->lock && r->lock->automatic) { emu_lock_free(r->lock); r->lock = NULL; }
}

void emu_config_apply_existing(emu_org *o, emu_module *m, int64_t now)
{
    emu_config *c = m->config;
    if (!c || c->lock_type == 0) return;
    for (size_t k = 0; k < m->nrecs; k++) {
        emu_record *r = m->recs[k];
        if (r->lock) continue;
        for (size_t i = 0; i < c->nrules; i++)
            if (c->rules[i].lock_existing && emu_rule_match(o, r, &c->rules[i])) {
                emu_lock_new(o, r, true, NULL, -1, c->rules[i].id, c->id, now);
                break;
            }
    }
}

static json_t *field_err(const char *code, const char *msg, const char *key, json_t *extra)
{
    json_t *d = json_object();
    char path[96];
    snprintf(path, sizeof path, "$.record_locking_configurations[0].%s", key);
    json_object_set_new(d, "api_name", json_string(key));
    json_object_set_new(d, "json_path", json_string(path));
    if (extra) json_object_update(d, extra);
    json_decref(extra);
    return emu_error_item(code, msg, d);
}

static bool parse_rules(emu_org *o, emu_config *c, json_t *rules, const emu_config *old, json_t **err)
{
    if (old) {
        for (size_t i = 0; i < old->nrules; i++) {
            c->rules = emu_xrealloc(c->rules, (c->nrules + 1) * sizeof *c->rules);
            emu_rule *r = &c->rules[c->nrules++];
            *r = old->rules[i];
            r->name = emu_strdup(r->name);
            json_incref(r->criteria);
        }
    }
    if (!rules) return true;
    if (!json_is_array(rules)) { *err = field_err("INVALID_DATA", "invalid data", "locking_rules", NULL); return false; }
    size_t i; json_t *it;
    json_array_foreach(rules, i, it) {
        if (!json_is_object(it)) { *err = field_err("INVALID_DATA", "invalid data", "locking_rules", NULL); return false; }
        uint64_t rid = 0;
        const char *ids = json_string_value(json_object_get(it, "id"));
        emu_rule *r = NULL;
        if (ids && emu_parse_id(ids, &rid))
            for (size_t k = 0; k < c->nrules; k++)
                if (c->rules[k].id == rid) r = &c->rules[k];
        if (ids && !r) { *err = field_err("INVALID_DATA", "invalid data", "locking_rules", NULL); return false; }
        if (r && json_is_true(json_object_get(it, "_delete"))) {
            free(r->name); json_decref(r->criteria);
            *r = c->rules[--c->nrules];
            continue;
        }
        json_t *crit = json_object_get(it, "criteria");
        if (crit && !json_is_object(crit) && !json_is_string(crit)) {
            *err = field_err("INVALID_DATA", "invalid data", "criteria", NULL); return false;
        }
        if (json_is_string(crit)) {
            emu_parse_error pe;
            emu_cond *cond = emu_criteria_parse(json_string_value(crit), &pe);
            if (!cond) { *err = field_err("INVALID_DATA", "invalid data", "criteria", NULL); return false; }
            emu_cond_free(cond);
        }
        if (!r) {
            if (!crit) { *err = field_err("MANDATORY_NOT_FOUND", "required field not found", "criteria", NULL); return false; }
            c->rules = emu_xrealloc(c->rules, (c->nrules + 1) * sizeof *c->rules);
            r = &c->rules[c->nrules++];
            memset(r, 0, sizeof *r);
            r->id = emu_org_new_id(o);
            r->name = emu_strdup("Locking rule");
        }
        const char *name = json_string_value(json_object_get(it, "name"));
        if (name) { free(r->name); r->name = emu_strdup(name); }
        if (crit) { json_decref(r->criteria); r->criteria = json_deep_copy(crit); }
        json_t *le = json_object_get(it, "lock_existing_records");
        if (json_is_boolean(le)) r->lock_existing = json_is_true(le);
    }
    return true;
}

emu_config *emu_config_from_json(emu_org *o, emu_module *m, json_t *item, const emu_config *old,
                                 json_t **err)
{
    *err = NULL;
    if (!json_is_object(item)) {
        *err = emu_error_item("INVALID_DATA", "invalid data", json_object());
        return NULL;
    }
    emu_config *c = emu_xcalloc(1, sizeof *c);
    c->id = old ? old->id : emu_org_new_id(o);
    c->obj = old ? json_deep_copy(old->obj) : json_object();
    c->lock_type = old ? old->lock_type : -1;
    json_t *lt = json_object_get(item, "lock_type");
    if (lt) {
        const char *s = json_string_value(lt);
        c->lock_type = -1;
        for (int i = 0; s && i < 3; i++)
            if (strcmp(s, lock_types[i]) == 0) c->lock_type = i;
        if (c->lock_type < 0) {
            *err = field_err("INVALID_DATA", "invalid data", "lock_type",
                             json_pack("{s:[sss]}", "supported_values", "manual", "automatic", "both"));
            goto fail;
        }
    }
    if (c->lock_type < 0) {
        *err = field_err("MANDATORY_NOT_FOUND", "required field not found", "lock_type", NULL);
        goto fail;
    }
    if (!parse_rules(o, c, json_object_get(item, "locking_rules"), old, err)) goto fail;
    static const char *const keys[] = { "locked_for", "excluded_fields", "restricted_actions",
        "lock_for_portal_users", "restricted_communications", "restricted_custom_buttons",
        "lock_excluded_profiles", NULL };
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(item, keys[i]);
        if (v) json_object_set(c->obj, keys[i], v);
    }
    json_t *ra = json_object_get(c->obj, "restricted_actions");
    if (ra && !json_is_array(ra)) {
        *err = field_err("INVALID_DATA", "invalid data", "restricted_actions", NULL);
        goto fail;
    }
    if (!ra) json_object_set_new(c->obj, "restricted_actions", json_pack("[ss]", "update", "delete"));
    ra = json_object_get(c->obj, "restricted_actions");
    size_t i; json_t *it;
    json_array_foreach(ra, i, it) {
        const char *s = json_string_value(it);
        if (s && strcmp(s, "update") == 0) c->restrict_update = true;
        if (s && strcmp(s, "delete") == 0) c->restrict_delete = true;
    }
    if ((*err = emu_config_check(m, c))) goto fail;
    return c;
fail:
    emu_config_free(c);
    return NULL;
}

json_t *emu_config_to_json(emu_org *o, const emu_module *m, const emu_config *c)
{
    (void)m;
    char ct[32], mt[32];
    emu_fmt_time(c->created, ct);
    emu_fmt_time(c->modified, mt);
    json_t *rules = json_array();
    for (size_t i = 0; i < c->nrules; i++)
        json_array_append_new(rules, json_pack("{s:o,s:o,s:b,s:O}", "id", emu_jid(c->rules[i].id),
            "name", emu_jstr(c->rules[i].name), "lock_existing_records", c->rules[i].lock_existing,
            "criteria", c->rules[i].criteria));
    json_t *j = json_object();
    json_object_set_new(j, "id", emu_jid(c->id));
    json_object_set_new(j, "feature_type", json_string("record_locking"));
    json_object_set_new(j, "lock_type", json_string(lock_types[c->lock_type]));
    json_t *lf = json_object_get(c->obj, "locked_for");
    json_object_set_new(j, "locked_for", lf ? json_incref(lf) : json_string("all_profiles"));
    static const char *const arrays[] = { "excluded_fields", "restricted_actions",
        "restricted_communications", "restricted_custom_buttons", "lock_excluded_profiles", NULL };
    for (size_t i = 0; arrays[i]; i++) {
        json_t *v = json_object_get(c->obj, arrays[i]);
        json_object_set_new(j, arrays[i], v ? json_incref(v) : json_array());
    }
    json_t *pu = json_object_get(c->obj, "lock_for_portal_users");
    json_object_set_new(j, "lock_for_portal_users", pu ? json_incref(pu) : json_false());
    json_object_set_new(j, "system_defined", json_false());
    json_object_set_new(j, "locking_rules", rules);
    json_object_set_new(j, "created_time", json_string(ct));
    json_object_set_new(j, "modified_time", json_string(mt));
    json_object_set_new(j, "created_by", emu_user_json(o, 0, false));
    json_object_set_new(j, "modified_by", emu_user_json(o, 0, false));
    return j;
}
