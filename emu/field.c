/* Field values of a record, for criteria, COQL, rules and rendering. */
#include "field.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_user_field(const char *f, size_t n)
{
    return (n == 5 && strncmp(f, "Owner", 5) == 0) || (n == 10 && strncmp(f, "Created_By", 10) == 0)
        || (n == 11 && strncmp(f, "Modified_By", 11) == 0);
}

/* Owner.id, Owner.name, Owner.email, Owner.first_name, Owner.last_name (COQL). */
static bool user_sub(const emu_user *u, const char *sub, char *buf, emu_value *out)
{
    const char *sp = strchr(u->name, ' ');
    out->type = EMU_V_STR;
    if (strcmp(sub, "id") == 0) out->s = u->id;
    else if (strcmp(sub, "name") == 0 || strcmp(sub, "full_name") == 0) out->s = u->name;
    else if (strcmp(sub, "email") == 0) out->s = u->email;
    else if (strcmp(sub, "last_name") == 0) out->s = sp ? sp + 1 : u->name;
    else if (strcmp(sub, "first_name") == 0) {
        size_t n = sp ? (size_t)(sp - u->name) : strlen(u->name);
        if (n > 31) n = 31;
        memcpy(buf, u->name, n);
        buf[n] = 0;
        out->s = buf;
    } else return false;
    return true;
}

/* Lookup.Field (COQL): the field of the looked-up record. */
static bool dotted_value(const emu_record *r, const char *field, const char *dot, emu_value *out,
                         emu_value_ctx *vc, char *buf)
{
    emu_org *o = vc->org;
    const emu_module *m = &o->modules[r->module];
    size_t n = (size_t)(dot - field);
    if (strchr(dot + 1, '.')) return false;
    if (is_user_field(field, n)) return user_sub(&o->users[r->owner], dot + 1, buf, out);
    char head[128];
    if (n >= sizeof head) return false;
    memcpy(head, field, n);
    head[n] = 0;
    int i = emu_module_field(m, head);
    if (i < 0 || m->fields[i].type != EMU_F_LOOKUP) return false;
    const emu_module *tm = emu_org_module(o, m->fields[i].lookup);
    if (!tm || !emu_module_has_field(tm, dot + 1)) return false;
    uint64_t id;
    const emu_record *t = r->v[i] && emu_parse_id(r->v[i], &id) ? emu_org_record(o, tm, id) : NULL;
    if (!t) { out->type = EMU_V_NULL; return true; }
    bool ids = vc->ids;
    vc->ids = false;
    bool okv = emu_record_value(t, dot + 1, out, vc);
    vc->ids = ids;
    return okv;
}

bool emu_record_value(const void *rec, const char *field, emu_value *out, void *ud)
{
    emu_value_ctx *vc = ud;
    emu_org *o = vc->org;
    const emu_record *r = rec;
    const emu_module *m = &o->modules[r->module];
    char *buf = vc->buf[vc->which++ & 1];
    memset(out, 0, sizeof *out);
    const char *dot = strchr(field, '.');
    if (dot) return dotted_value(r, field, dot, out, vc, buf);
    if (strcmp(field, "id") == 0) {
        emu_fmt_id(r->id, buf);
        out->type = EMU_V_STR; out->s = buf;
        return true;
    }
    if (strcmp(field, "Owner") == 0 || strcmp(field, "Created_By") == 0
        || strcmp(field, "Modified_By") == 0) {
        out->type = EMU_V_STR;
        out->s = vc->ids ? o->users[r->owner].id : o->users[r->owner].name;
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
        out->s = (!vc->ids && t && tm->name_field >= 0 && t->v[tm->name_field]) ? t->v[tm->name_field] : v;
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

bool emu_org_has_field(emu_org *o, const emu_module *m, const char *field)
{
    const char *dot = strchr(field, '.');
    if (!dot) return emu_module_has_field(m, field);
    if (!m->nrecs) {
        /* no record to resolve through: check the schema */
        size_t n = (size_t)(dot - field);
        if (is_user_field(field, n)) return true;
        for (size_t i = 0; i < m->nfields; i++)
            if (m->fields[i].type == EMU_F_LOOKUP && strlen(m->fields[i].api_name) == n
                && strncmp(m->fields[i].api_name, field, n) == 0) {
                const emu_module *tm = emu_org_module(o, m->fields[i].lookup);
                return tm && emu_module_has_field(tm, dot + 1);
            }
        return false;
    }
    emu_value_ctx vc = { .org = o };
    emu_value v;
    return emu_record_value(m->recs[0], field, &v, &vc);
}

json_t *emu_field_json(emu_org *o, const emu_record *r, const char *field)
{
    const emu_module *m = &o->modules[r->module];
    char b[32];
    if (strchr(field, '.')) {
        emu_value_ctx vc = { .org = o };
        emu_value v;
        if (!emu_record_value(r, field, &v, &vc)) return NULL;
        switch (v.type) {
        case EMU_V_STR: return emu_jstr(v.s);
        case EMU_V_NUM: return v.n == (double)(long long)v.n ? json_integer((long long)v.n) : json_real(v.n);
        case EMU_V_BOOL: return json_boolean(v.b);
        default: return json_null();
        }
    }
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

bool emu_field_type_of(const char *field, emu_vtype *out, void *ud)
{
    emu_type_ctx *tc = ud;
    const emu_module *m = tc->module;
    const char *dot = strchr(field, '.');
    *out = EMU_V_STR;
    if (dot) {
        size_t n = (size_t)(dot - field);
        if (strchr(dot + 1, '.')) return false;
        if (is_user_field(field, n)) return true;
        for (size_t i = 0; i < m->nfields; i++)
            if (m->fields[i].type == EMU_F_LOOKUP && strlen(m->fields[i].api_name) == n
                && strncmp(m->fields[i].api_name, field, n) == 0) {
                emu_type_ctx sub = { tc->org, emu_org_module(tc->org, m->fields[i].lookup) };
                return sub.module && emu_field_type_of(dot + 1, out, &sub);
            }
        return false;
    }
    if (strcmp(field, "Locked__s") == 0) { *out = EMU_V_BOOL; return true; }
    if (!emu_module_has_field(m, field)) return false;
    int i = emu_module_field(m, field);
    if (i < 0) return true;   /* id, Owner, times: text */
    switch (m->fields[i].type) {
    case EMU_F_CURRENCY: case EMU_F_DOUBLE: case EMU_F_INTEGER: *out = EMU_V_NUM; break;
    case EMU_F_BOOLEAN: *out = EMU_V_BOOL; break;
    default: break;
    }
    return true;
}
