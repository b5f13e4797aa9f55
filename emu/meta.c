/* Metadata generic clients ask for:
 *   GET /crm/{v}/settings/modules[/{api_name}]
 *   GET /crm/{v}/settings/fields?module=M        (M may be Locking_Information__s)
 *   GET /crm/{v}/users[?type=CurrentUser|AllUsers|ActiveUsers] and /users/{id} */
#include "emu.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LOCK_MODULE "Locking_Information__s"
#define LOCK_MODULE_ID 5843104000000002901ULL

static bool any_config(const emu_org *o)
{
    for (size_t i = 0; i < o->nmodules; i++)
        if (o->modules[i].config) return true;
    return false;
}

static json_t *module_json(const emu_module *m)
{
    json_t *j = json_object();
    json_object_set_new(j, "api_name", json_string(m->api_name));
    json_object_set_new(j, "module_name", json_string(m->api_name));
    json_object_set_new(j, "singular_label", json_string(m->singular));
    json_object_set_new(j, "plural_label", json_string(m->plural));
    json_object_set_new(j, "id", emu_jid(m->id));
    json_object_set_new(j, "api_supported", json_true());
    json_object_set_new(j, "generated_type", json_string(m->custom ? "custom" : "default"));
    json_object_set_new(j, "creatable", json_true());
    json_object_set_new(j, "editable", json_true());
    json_object_set_new(j, "deletable", json_true());
    json_object_set_new(j, "viewable", json_true());
    json_object_set_new(j, "status", json_string("visible"));
    json_object_set_new(j, "record_locking_configured", json_boolean(m->config != NULL));
    return j;
}

static json_t *lock_module_json(void)
{
    json_t *j = json_object();
    json_object_set_new(j, "api_name", json_string(LOCK_MODULE));
    json_object_set_new(j, "module_name", json_string(LOCK_MODULE));
    json_object_set_new(j, "singular_label", json_string("Locking Information"));
    json_object_set_new(j, "plural_label", json_string("Locking Information"));
    json_object_set_new(j, "id", emu_jid(LOCK_MODULE_ID));
    json_object_set_new(j, "api_supported", json_true());
    json_object_set_new(j, "generated_type", json_string("system"));
    json_object_set_new(j, "creatable", json_false());
    json_object_set_new(j, "editable", json_false());
    json_object_set_new(j, "deletable", json_false());
    json_object_set_new(j, "viewable", json_true());
    json_object_set_new(j, "status", json_string("system_hidden"));
    return j;
}

static json_t *field_json(const char *api, const char *label, const char *type, uint64_t id,
                          int length, bool read_only)
{
    json_t *j = json_object();
    json_object_set_new(j, "api_name", json_string(api));
    json_object_set_new(j, "field_label", json_string(label));
    json_object_set_new(j, "display_label", json_string(label));
    json_object_set_new(j, "data_type", json_string(type));
    json_object_set_new(j, "id", emu_jid(id));
    json_object_set_new(j, "length", json_integer(length));
    json_object_set_new(j, "read_only", json_boolean(read_only));
    json_object_set_new(j, "system_mandatory", json_false());
    json_object_set_new(j, "custom_field", json_false());
    return j;
}

static json_t *lock_fields(void)
{
    static const struct { const char *api, *label, *type; int len; } f[] = {
        { "Locked_Reason__s", "Locked Reason", "textarea", 3000 },
        { "Lock_Source__s", "Lock Source", "picklist", 120 },
        { "Locked_For__s", "Locked For", "multi_module_lookup", 120 },
        { "Locked_Time__s", "Locked Time", "datetime", 120 },
        { "Locked_By__s", "Locked By", "userlookup", 120 },
        { "id", "Record Locking Id", "bigint", 19 },
        { "Record_Locking_Rule_Id__s", "Record Locking Rule Id", "bigint", 19 },
        { "Record_Locking_Configuration_Id__s", "Record Locking Configuration Id", "bigint", 19 },
        { "Feature_Type__s", "Feature Type", "picklist", 120 },
    };
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        json_t *j = field_json(f[i].api, f[i].label, f[i].type, LOCK_MODULE_ID + 1000 + i, f[i].len,
                               strcmp(f[i].api, "Locked_Reason__s") != 0);
        if (strcmp(f[i].api, "Lock_Source__s") == 0)
            json_object_set_new(j, "pick_list_values", json_pack("[{s:s,s:s},{s:s,s:s}]",
                "display_value", "Manual", "actual_value", "Manual",
                "display_value", "Automatic", "actual_value", "Automatic"));
        if (strcmp(f[i].api, "Feature_Type__s") == 0)
            json_object_set_new(j, "pick_list_values", json_pack("[{s:s,s:s}]",
                "display_value", "record_locking", "actual_value", "record_locking"));
        json_array_append_new(a, j);
    }
    return a;
}

static json_t *module_fields(const emu_module *m)
{
    json_t *a = json_array();
    json_array_append_new(a, field_json("Owner", "Owner", "ownerlookup", m->id + 90001, 120, false));
    for (size_t i = 0; i < m->nfields; i++) {
        const emu_field *f = &m->fields[i];
        json_t *j = field_json(f->api_name, f->label, emu_ftype_name(f->type), f->id,
                               f->type == EMU_F_TEXTAREA ? 32000 : 255, false);
        if ((int)i == m->name_field) json_object_set_new(j, "system_mandatory", json_true());
        if (f->npick) {
            json_t *pv = json_array();
            for (size_t p = 0; p < f->npick; p++)
                json_array_append_new(pv, json_pack("{s:s,s:s}", "display_value", f->picklist[p],
                                                    "actual_value", f->picklist[p]));
            json_object_set_new(j, "pick_list_values", pv);
        }
        if (f->lookup)
            json_object_set_new(j, "lookup", json_pack("{s:{s:s}}", "module", "api_name", f->lookup));
        json_object_set_new(j, "custom_field", json_boolean(m->custom));
        json_array_append_new(a, j);
    }
    json_array_append_new(a, field_json("Created_Time", "Created Time", "datetime", m->id + 90002, 120, true));
    json_array_append_new(a, field_json("Modified_Time", "Modified Time", "datetime", m->id + 90003, 120, true));
    json_array_append_new(a, field_json("Locked__s", "Locked", "boolean", m->id + 90004, 5, true));
    return a;
}

static void users(emu_ctx *c, emu_org *o)
{
    const char *type = emu_query(c, "type");
    json_t *a = json_array();
    for (size_t i = 0; i < o->nusers; i++) {
        const emu_user *u = &o->users[i];
        if (type && strcmp(type, "CurrentUser") == 0 && (int)i != o->current_user) continue;
        if (c->nseg == 2 && strcmp(c->seg[1], u->id) != 0) continue;
        json_t *j = json_object();
        json_object_set_new(j, "id", json_string(u->id));
        json_object_set_new(j, "name", json_string(u->name));
        json_object_set_new(j, "full_name", json_string(u->name));
        json_object_set_new(j, "email", json_string(u->email));
        json_object_set_new(j, "role", json_pack("{s:s,s:s}", "name", u->role, "id", u->id));
        json_object_set_new(j, "profile", json_pack("{s:s,s:s}", "name", u->profile, "id", u->id));
        json_object_set_new(j, "status", json_string("active"));
        json_object_set_new(j, "confirm", json_true());
        json_array_append_new(a, j);
    }
    if (json_array_size(a) == 0) {
        json_decref(a);
        if (c->nseg == 2) emu_reply_error_rpi(c, 400, "INVALID_DATA", "the id given seems to be invalid", 1);
        else emu_reply_empty(c, 204);
        return;
    }
    size_t n = json_array_size(a);
    emu_reply_json(c, 200, json_pack("{s:o,s:{s:i,s:i,s:i,s:b}}", "users", a, "info",
                                     "per_page", 200, "count", (int)n, "page", 1, "more_records", 0));
}

void emu_meta_route(emu_ctx *c)
{
    bool is_users = strcmp(c->seg[0], "users") == 0;
    bool is_modules = !is_users && strcmp(c->seg[1], "modules") == 0;
    c->route = is_users ? EMU_R_USERS : is_modules ? EMU_R_MODULES : EMU_R_FIELDS;
    if (strcmp(c->method, "GET") != 0) {
        emu_reply_error(c, 405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one", NULL);
        return;
    }
    if (!is_users && !is_modules && c->nseg == 3) {   /* settings/fields/{id} is not emulated */
        emu_reply_error(c, 404, "INVALID_URL_PATTERN",
                        "Please check if the URL trying to access is a correct one", NULL);
        return;
    }
    pthread_rwlock_rdlock(&c->s->org_lock);
    emu_org *o = c->s->org;
    if (is_users) {
        users(c, o);
    } else if (is_modules) {
        json_t *a = json_array();
        const char *want = c->nseg == 3 ? c->seg[2] : NULL;
        for (size_t i = 0; i < o->nmodules; i++)
            if (!want || strcasecmp(want, o->modules[i].api_name) == 0)
                json_array_append_new(a, module_json(&o->modules[i]));
        if ((!want && any_config(o)) || (want && strcasecmp(want, LOCK_MODULE) == 0 && any_config(o)))
            json_array_append_new(a, lock_module_json());
        if (json_array_size(a) == 0) {
            json_decref(a);
            emu_reply_error_rpi(c, 400, "INVALID_MODULE", "the module name given seems to be invalid", 2);
        } else {
            emu_reply_json(c, 200, json_pack("{s:o}", "modules", a));
        }
    } else {
        const char *mod = emu_query(c, "module");
        emu_module *m = emu_org_module_ci(o, mod);
        if (!mod || !*mod)
            emu_reply_error(c, 400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                            json_pack("{s:s}", "param", "module"));
        else if (strcasecmp(mod, LOCK_MODULE) == 0 && any_config(o))
            emu_reply_json(c, 200, json_pack("{s:o}", "fields", lock_fields()));
        else if (!m)
            emu_reply_error(c, 400, "INVALID_MODULE", "the module name given seems to be invalid",
                            json_pack("{s:s}", "param_name", "module"));
        else
            emu_reply_json(c, 200, json_pack("{s:o}", "fields", module_fields(m)));
    }
    pthread_rwlock_unlock(&c->s->org_lock);
}
