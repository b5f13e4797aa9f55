/* Field values of a record, for criteria, COQL, rules and rendering. */
#include "field.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool emu_record_value(const void *rec, const char *field, emu_value *out, void *ud)
{
    emu_value_ctx *vc = ud;
    emu_org *o = vc->org;
    const emu_record *r = rec;
    const emu_module *m = &o->modules[r->module];
    char *buf = vc->buf[vc->which++ & 1];
    memset(out, 0, sizeof *out);
    if (strcmp(field, "id") == 0) {
        emu_fmt_id(r->id, buf);
        out->type = EMU_V_STR; out->s = buf;
        return true;
    }
    if (strcmp(field, "Owner") == 0 || strcmp(field, "Created_By") == 0
        || strcmp(field, "Modified_By") == 0) {
        out->type = EMU_V_STR; out->s = o->users[r->owner].name;
        return true;
    }
    if (strcmp(field, "Created_Time") == 0 || strcmp(field, "Modified_Time") == 0) {
        emu_fmt_time(field[0] == 'C' ? r->created : r->modified, buf);
        out->type = EMU_V_STR; out->s = buf;
        return true;
    }
    if (strcmp(field, "Locked__s") == 0) {
        out->type = EMU_V_BOOL; out->b = r->lock != NULL;
        return true;
    }
    int i = emu_module_field(m, field);
    if (i < 0) return false;
    const char *v = r->v[i];
    if (!v) { out->type = EMU_V_NULL; return true; }
    switch (m->fields[i].type) {
    case EMU_F_CURRENCY: case EMU_F_DOUBLE: case EMU_F_INTEGER:
        out->type = EMU_V_NUM; out->n = strtod(v, NULL);
        return true;
    case EMU_F_BOOLEAN:
        out->type = EMU_V_BOOL; out->b = strcmp(v, "true") == 0;
        return true;
    case EMU_F_LOOKUP: {
        uint64_t id;
        const emu_record *t = emu_parse_id(v, &id) ? emu_org_record(o, NULL, id) : NULL;
        const emu_module *tm = t ? &o->modules[t->module] : NULL;
        out->type = EMU_V_STR;
        out->s = (t && tm->name_field >= 0 && t->v[tm->name_field]) ? t->v[tm->name_field] : v;
        return true;
    }
    default:
        out->type = EMU_V_STR; out->s = v;
        return true;
    }
}

bool emu_module_has_field(const emu_module *m, const char *field)
{
    static const char *const sys[] = { "id", "Owner", "Created_By", "Modified_By",
        "Created_Time", "Modified_Time", "Locked__s", NULL };
    for (size_t i = 0; sys[i]; i++)
        if (strcmp(sys[i], field) == 0) return true;
    return emu_module_field(m, field) >= 0;
}

json_t *emu_field_json(emu_org *o, const emu_record *r, const char *field)
{
    const emu_module *m = &o->modules[r->module];
    char b[32];
    if (strcmp(field, "id") == 0) return emu_jid(r->id);
    if (strcmp(field, "Owner") == 0 || strcmp(field, "Created_By") == 0
        || strcmp(field, "Modified_By") == 0)
        return emu_user_json(o, r->owner, field[0] == 'O');
    if (strcmp(field, "Created_Time") == 0 || strcmp(field, "Modified_Time") == 0) {
        emu_fmt_time(field[0] == 'C' ? r->created : r->modified, b);
        return json_string(b);
    }
    if (strcmp(field, "Locked__s") == 0) return json_boolean(r->lock != NULL);
    if (strcmp(field, "$locked_for_me") == 0) return json_boolean(r->lock != NULL);
    int i = emu_module_field(m, field);
    if (i < 0) return NULL;
    const char *v = r->v[i];
    if (!v) return json_null();
    switch (m->fields[i].type) {
    case EMU_F_CURRENCY: case EMU_F_DOUBLE: {
        double d = strtod(v, NULL);
        if (d == (double)(long long)d && d > -1e15 && d < 1e15) return json_integer((long long)d);
        return json_real(d);
    }
    case EMU_F_INTEGER: return json_integer(strtoll(v, NULL, 10));
    case EMU_F_BOOLEAN: return json_boolean(strcmp(v, "true") == 0);
    case EMU_F_LOOKUP: {
        uint64_t id;
        const emu_record *t = emu_parse_id(v, &id) ? emu_org_record(o, NULL, id) : NULL;
        char name[256] = "";
        if (t) emu_record_name(o, t, name, sizeof name);
        return json_pack("{s:o,s:s}", "name", emu_jstr(name), "id", v);
    }
    default: return emu_jstr(v);
    }
}

json_t *emu_record_json(emu_org *o, const emu_record *r, char **fields, size_t nfields)
{
    const emu_module *m = &o->modules[r->module];
    json_t *j = json_object();
    if (fields) {
        for (size_t i = 0; i < nfields; i++) {
            if (strcmp(fields[i], "id") == 0) continue;
            json_t *v = emu_field_json(o, r, fields[i]);
            if (v) json_object_set_new(j, fields[i], v);
        }
        if (!json_object_get(j, "Locked__s")) json_object_set_new(j, "Locked__s", json_boolean(r->lock != NULL));
    } else {
        json_object_set_new(j, "Owner", emu_field_json(o, r, "Owner"));
        for (size_t i = 0; i < m->nfields; i++)
            json_object_set_new(j, m->fields[i].api_name, emu_field_json(o, r, m->fields[i].api_name));
        json_object_set_new(j, "Created_Time", emu_field_json(o, r, "Created_Time"));
        json_object_set_new(j, "Modified_Time", emu_field_json(o, r, "Modified_Time"));
        json_object_set_new(j, "Created_By", emu_field_json(o, r, "Created_By"));
        json_object_set_new(j, "Modified_By", emu_field_json(o, r, "Modified_By"));
        json_object_set_new(j, "Locked__s", json_boolean(r->lock != NULL));
    }
    json_object_set_new(j, "$locked_for_me", json_boolean(r->lock != NULL));
    json_object_set_new(j, "$editable", json_boolean(r->lock == NULL));
    json_object_set_new(j, "id", emu_jid(r->id));
    return j;
}

/* Stores a JSON value into a record field; false when the type does not fit. */
bool emu_field_store(emu_record *r, const emu_field *f, size_t idx, json_t *v)
{
    char b[64];
    if (json_is_null(v)) { emu_record_set(r, idx, NULL); return true; }
    switch (f->type) {
    case EMU_F_CURRENCY: case EMU_F_DOUBLE: case EMU_F_INTEGER:
        if (json_is_integer(v)) snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v)) snprintf(b, sizeof b, "%.17g", json_real_value(v));
        else return false;
        emu_record_set(r, idx, b);
        return true;
    case EMU_F_BOOLEAN:
        if (!json_is_boolean(v)) return false;
        emu_record_set(r, idx, json_is_true(v) ? "true" : "false");
        return true;
    case EMU_F_LOOKUP:
        if (json_is_object(v)) v = json_object_get(v, "id");
        if (!json_is_string(v)) return false;
        { uint64_t id; if (!emu_parse_id(json_string_value(v), &id)) return false; }
        emu_record_set(r, idx, json_string_value(v));
        return true;
    default:
        if (!json_is_string(v)) return false;
        emu_record_set(r, idx, json_string_value(v));
        return true;
    }
}
