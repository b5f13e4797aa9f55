/* The state file (--state) and seed files (--seed FILE.json) share one JSON format:
 * {"format":"zlock-emu-state","version":1,"next_id":"..","current_user":0,
 *  "users":[{id,name,email,role,profile,offset_minutes}],
 *  "modules":[{"api_name":"Deals", "singular":..,"plural":..,"id":..,"custom":false,
 *              "fields":[{api_name,type,lookup,picklist}]        (optional for standard modules)
 *              "name_field":"Deal_Name",                          (optional)
 *              "config":{...as GET record_locking_configurations returns...} | null,
 *              "records":[{"id":"..","owner":0,"created":EPOCH,"modified":EPOCH,
 *                          "values":{"Deal_Name":"..",..},
 *                          "lock":{id,source,reason,time,modified,locked_by,rule_id,config_id}|null}]}]}
 * Every key but "modules" (and a record's "values") is optional; missing ids are generated.
 * Saving writes FILE.tmp.PID, fsyncs it and renames it over FILE. */
#define _GNU_SOURCE   /* strptime, timegm */
#include "field.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static json_t *dump_module(emu_org *o, emu_module *m)
{
    json_t *j = json_object(), *fields = json_array(), *recs = json_array();
    json_object_set_new(j, "api_name", json_string(m->api_name));
    json_object_set_new(j, "singular", json_string(m->singular));
    json_object_set_new(j, "plural", json_string(m->plural));
    json_object_set_new(j, "id", emu_jid(m->id));
    json_object_set_new(j, "custom", json_boolean(m->custom));
    if (m->name_field >= 0) json_object_set_new(j, "name_field", json_string(m->fields[m->name_field].api_name));
    if (m->name_field2 >= 0) json_object_set_new(j, "name_field2", json_string(m->fields[m->name_field2].api_name));
    for (size_t i = 0; i < m->nfields; i++) {
        emu_field *f = &m->fields[i];
        json_t *fj = json_pack("{s:s,s:s}", "api_name", f->api_name, "type", emu_ftype_name(f->type));
        if (f->lookup) json_object_set_new(fj, "lookup", json_string(f->lookup));
        if (f->npick) {
            json_t *p = json_array();
            for (size_t k = 0; k < f->npick; k++) json_array_append_new(p, json_string(f->picklist[k]));
            json_object_set_new(fj, "picklist", p);
        }
        json_array_append_new(fields, fj);
    }
    json_object_set_new(j, "fields", fields);
    json_object_set_new(j, "config", m->config ? emu_config_to_json(o, m, m->config) : json_null());
    for (size_t k = 0; k < m->nrecs; k++) {
        emu_record *r = m->recs[k];
        json_t *vals = json_object();
        for (size_t i = 0; i < m->nfields; i++)
            if (r->v[i]) json_object_set_new(vals, m->fields[i].api_name, emu_jstr(r->v[i]));
        json_t *rj = json_pack("{s:o,s:i,s:I,s:I,s:o}", "id", emu_jid(r->id), "owner", (int)r->owner,
                               "created", (json_int_t)r->created, "modified", (json_int_t)r->modified,
                               "values", vals);
        if (r->lock) {
            emu_lock *l = r->lock;
            json_object_set_new(rj, "lock", json_pack("{s:o,s:s,s:o,s:I,s:I,s:i,s:o,s:o}",
                "id", emu_jid(l->id), "source", l->automatic ? "Automatic" : "Manual",
                "reason", emu_jstr(l->reason), "time", (json_int_t)l->time,
                "modified", (json_int_t)l->modified, "locked_by", l->locked_by,
                "rule_id", emu_jid(l->rule_id), "config_id", emu_jid(l->config_id)));
        }
        json_array_append_new(recs, rj);
    }
    json_object_set_new(j, "records", recs);
    return j;
}

json_t *emu_persist_dump(emu_org *o)
{
    json_t *users = json_array(), *mods = json_array();
    for (size_t i = 0; i < o->nusers; i++) {
        emu_user *u = &o->users[i];
        json_array_append_new(users, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "id", u->id, "name", u->name,
                                               "email", u->email, "role", u->role, "profile", u->profile,
                                               "offset_minutes", u->tz_min));
    }
    for (size_t i = 0; i < o->nmodules; i++) json_array_append_new(mods, dump_module(o, &o->modules[i]));
    return json_pack("{s:s,s:i,s:o,s:i,s:o,s:o}", "format", "zlock-emu-state", "version", 1,
                     "next_id", emu_jid(o->next_id), "current_user", o->current_user,
                     "users", users, "modules", mods);
}

static bool jid(json_t *v, uint64_t *out)
{
    *out = 0;
    if (json_is_string(v)) return emu_parse_id(json_string_value(v), out);
    if (json_is_integer(v) && json_integer_value(v) > 0) { *out = (uint64_t)json_integer_value(v); return true; }
    return v == NULL || json_is_null(v);
}

/* "2026-11-01T00:00:00+00:00" (UTC offset only, as the emulator writes it) -> epoch seconds */
static int64_t iso_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) return 1793491200;
    return (int64_t)timegm(&tm);
}

/* A time: epoch seconds, or "YYYY-MM-DD[THH:MM:SS...]" read as UTC; absent is 0. */
static bool jtime(json_t *v, int64_t *out)
{
    *out = 0;
    if (!v || json_is_null(v)) return true;
    if (json_is_integer(v)) { *out = (int64_t)json_integer_value(v); return true; }
    const char *s = json_string_value(v);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || !(strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) || strptime(s, "%Y-%m-%d", &tm))) return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)

static bool load_module(emu_org *o, json_t *mj, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(mj, "api_name"));
    if (!emu_valid_api_name(name)) { snprintf(err, errlen, "module without a valid api_name"); return false; }
    emu_module *m = emu_org_module(o, name);
    bool fresh = m == NULL;
    if (!m) m = emu_org_add_module(o, name, true);
    json_t *v;
    if ((v = json_object_get(mj, "custom")) && json_is_boolean(v)) m->custom = json_is_true(v);
    if ((v = json_object_get(mj, "singular")) && json_is_string(v)) { free(m->singular); m->singular = emu_strdup(json_string_value(v)); }
    if ((v = json_object_get(mj, "plural")) && json_is_string(v)) { free(m->plural); m->plural = emu_strdup(json_string_value(v)); }
    uint64_t id;
    if (jid(json_object_get(mj, "id"), &id) && id) m->id = id;
    json_t *fields = json_object_get(mj, "fields");
    bool had_fields = m->nfields > 0;
    {
        /* A standard module keeps its schema; fields it lacks (custom fields) are added. */
        size_t i;
        json_t *f;
        json_array_foreach(fields, i, f) {
            const char *fn = json_string_value(json_object_get(f, "api_name"));
            emu_ftype t = EMU_F_TEXT;
            const char *ts = json_string_value(json_object_get(f, "type"));
            if (!emu_valid_api_name(fn) || (ts && !emu_ftype_parse(ts, &t))) {
                snprintf(err, errlen, "module %s: field %zu: %s", name, i,
                         !emu_valid_api_name(fn) ? "no valid api_name" : "unknown type");
                return false;
            }
            if (emu_module_field(m, fn) >= 0) continue;
            if (m->nrecs > 0) {   /* records are sized to the fields they were made with */
                snprintf(err, errlen, "module %s: field %s comes after the module's records "
                         "(is the module listed twice?)", name, fn);
                return false;
            }
            emu_field *fd = emu_module_add_field(m, fn, t, json_string_value(json_object_get(f, "lookup")));
            json_t *pl = json_object_get(f, "picklist");
            if (json_is_array(pl)) {
                fd->npick = json_array_size(pl);
                fd->picklist = emu_xcalloc(fd->npick, sizeof *fd->picklist);
                for (size_t k = 0; k < fd->npick; k++)
                    fd->picklist[k] = emu_strdup(json_string_value(json_array_get(pl, k)) ? json_string_value(json_array_get(pl, k)) : "");
            }
        }
    }
    if (fresh || !had_fields) {
        if (m->nfields == 0) emu_module_add_field(m, "Name", EMU_F_TEXT, NULL);
        const char *nf = json_string_value(json_object_get(mj, "name_field"));
        m->name_field = nf ? emu_module_field(m, nf) : 0;
        const char *nf2 = json_string_value(json_object_get(mj, "name_field2"));
        m->name_field2 = nf2 ? emu_module_field(m, nf2) : -1;
        if ((nf && m->name_field < 0) || (nf2 && m->name_field2 < 0)) {   /* a save would not keep it */
            snprintf(err, errlen, "module %s: name_field %s is not one of its fields", name,
                     nf && m->name_field < 0 ? nf : nf2);
            return false;
        }
    }
    json_t *cfg = json_object_get(mj, "config");
    if (json_is_object(cfg)) {
        json_t *copy = json_deep_copy(cfg), *rules = json_object_get(copy, "locking_rules"), *e = NULL;
        size_t i;
        json_t *r;
        json_array_foreach(rules, i, r) json_object_del(r, "id");
        uint64_t next_id = o->next_id;
        emu_config *c = emu_config_from_json(o, m, copy, NULL, &e);
        json_decref(copy);
        if (!c) {
            char *s = json_dumps(e, JSON_COMPACT);
            snprintf(err, errlen, "module %s: bad config: %s", name, s ? s : "?");
            free(s);
            json_decref(e);
            return false;
        }
        if (jid(json_object_get(cfg, "id"), &id) && id) c->id = id;
        c->created = iso_time(json_string_value(json_object_get(cfg, "created_time")));
        c->modified = iso_time(json_string_value(json_object_get(cfg, "modified_time")));
        bool all_saved = jid(json_object_get(cfg, "id"), &id) && id;
        json_array_foreach(json_object_get(cfg, "locking_rules"), i, r) {
            bool saved = i < c->nrules && jid(json_object_get(r, "id"), &id) && id;
            if (saved) c->rules[i].id = id;
            all_saved = all_saved && saved;
        }
        /* the ids drawn for it were all replaced by saved ones: a reload does not move next_id */
        if (all_saved) o->next_id = next_id;
        if (c->id > o->next_id) o->next_id = c->id;
        for (size_t n = 0; n < c->nrules; n++)
            if (c->rules[n].id > o->next_id) o->next_id = c->rules[n].id;
        emu_config_free(m->config);
        m->config = c;
    }
    size_t k;
    json_t *rj;
    json_array_foreach(json_object_get(mj, "records"), k, rj) {
        uint64_t rid;
        if (!json_is_object(rj) || !jid(json_object_get(rj, "id"), &rid)) {
            snprintf(err, errlen, "module %s: record %zu: bad id", name, k);
            return false;
        }
        if (rid && emu_org_record(o, NULL, rid)) {
            snprintf(err, errlen, "module %s: duplicate record id", name);
            return false;
        }
        emu_record *r = emu_org_add_record(o, m, rid);
        json_int_t owner = json_integer_value(json_object_get(rj, "owner"));
        if (owner < 0 || (size_t)owner >= o->nusers) {
            snprintf(err, errlen, "module %s: record %zu: owner %lld is not a user index (0..%zu)",
                     name, k, (long long)owner, o->nusers - 1);
            return false;
        }
        r->owner = (uint16_t)owner;
        if (!jtime(json_object_get(rj, "created"), &r->created)
            || !jtime(json_object_get(rj, "modified"), &r->modified)) {
            snprintf(err, errlen, "module %s: record %zu: created/modified is neither epoch seconds "
                     "nor YYYY-MM-DD[THH:MM:SS]", name, k);
            return false;
        }
        if (!r->created) r->created = 1793491200;
        if (!r->modified) r->modified = r->created;
        const char *fk;
        json_t *fv;
        json_object_foreach(json_object_get(rj, "values"), fk, fv) {
            int f = emu_module_field(m, fk);
            if (f < 0) {
                snprintf(err, errlen, "module %s: record %zu: unknown field \"%s\" (not in the module's "
                         "schema: list it in the module's \"fields\")", name, k, fk);
                return false;
            }
            if (!emu_field_store(r, &m->fields[f], (size_t)f, fv)) {
                if (!json_is_string(fv)) {
                    snprintf(err, errlen, "module %s: record %zu: field %s: value of the wrong type for a %s field",
                             name, k, fk, emu_ftype_name(m->fields[f].type));
                    return false;
                }
                emu_record_set(r, (size_t)f, json_string_value(fv));
            }
        }
        json_t *lj = json_object_get(rj, "lock");
        if (json_is_object(lj)) {
            const char *src = json_string_value(json_object_get(lj, "source"));
            bool automatic = src && strcmp(src, "Automatic") == 0;
            uint64_t lid = 0, rule = 0, cid = 0;
            jid(json_object_get(lj, "id"), &lid);
            jid(json_object_get(lj, "rule_id"), &rule);
            jid(json_object_get(lj, "config_id"), &cid);
            json_t *by = json_object_get(lj, "locked_by");
            json_int_t byi = json_is_integer(by) ? json_integer_value(by) : (automatic ? -1 : 0);
            int64_t when = 0, mod = 0;
            if (byi < -1 || byi >= (json_int_t)o->nusers || !jtime(json_object_get(lj, "time"), &when)
                || !jtime(json_object_get(lj, "modified"), &mod)) {
                snprintf(err, errlen, "module %s: record %zu: lock: locked_by is not a user index, "
                         "or time/modified is not a time", name, k);
                return false;
            }
            emu_lock *l = emu_lock_new(o, r, automatic, json_string_value(json_object_get(lj, "reason")),
                                       (int)byi, rule, cid ? cid : (m->config ? m->config->id : 0), when);
            if (lid) l->id = lid;
            if (!l->reason && !automatic) l->reason = emu_strdup("");
            if (mod) l->modified = mod;
            if (!l->time) l->time = l->modified = r->modified;
        }
    }
    return true;
}

emu_org *emu_persist_load(json_t *j, char *err, size_t errlen)
{
    if (!emu_fixture_check(j, err, errlen)) return NULL;
    emu_org *o = emu_org_new();
    json_t *users = json_object_get(j, "users");
    if (json_is_array(users) && json_array_size(users) > 0) {
        size_t i;
        json_t *u;
        json_array_foreach(users, i, u) {
            if (i >= sizeof o->users / sizeof *o->users) break;
            emu_user *x = &o->users[i];
            const char *s;
            uint64_t id;
            if (!jid(json_object_get(u, "id"), &id) || !id) FAIL("user %zu: bad id", i);
            emu_fmt_id(id, x->id);
            snprintf(x->name, sizeof x->name, "%s", (s = json_string_value(json_object_get(u, "name"))) ? s : "User");
            snprintf(x->email, sizeof x->email, "%s", (s = json_string_value(json_object_get(u, "email"))) ? s : "user@example.com");
            snprintf(x->role, sizeof x->role, "%s", (s = json_string_value(json_object_get(u, "role"))) ? s : "CEO");
            snprintf(x->profile, sizeof x->profile, "%s", (s = json_string_value(json_object_get(u, "profile"))) ? s : "Administrator");
            json_int_t off = json_integer_value(json_object_get(u, "offset_minutes"));   /* 0 when absent */
            if (off < -720 || off > 840) FAIL("user %zu: offset_minutes out of range", i);
            x->tz_min = (int)off;
            o->nusers = i + 1;
        }
    } else {
        emu_seed_users(o);
    }
    json_int_t cu = json_integer_value(json_object_get(j, "current_user"));
    o->current_user = cu >= 0 && (size_t)cu < o->nusers ? (int)cu : 0;
    emu_schema_standard(o);
    json_t *mods = json_object_get(j, "modules");
    if (!json_is_array(mods)) FAIL("\"modules\" must be an array");
    size_t i;
    json_t *mj;
    json_array_foreach(mods, i, mj)
        if (!load_module(o, mj, err, errlen)) goto fail;
    uint64_t nid;
    if (jid(json_object_get(j, "next_id"), &nid) && nid > o->next_id) o->next_id = nid;
    return o;
fail:
    emu_org_free(o);
    return NULL;
}

emu_org *emu_persist_load_file(const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) {
        snprintf(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
        return NULL;
    }
    char e2[400] = "";
    emu_org *o = emu_persist_load(j, e2, sizeof e2);
    json_decref(j);
    if (!o) snprintf(err, errlen, "%s: %s", path, e2);
    return o;
}

bool emu_persist_save_file(emu_org *o, const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    json_t *j = emu_persist_dump(o);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        json_decref(j);
        return false;
    }
    int rc = json_dumpf(j, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    bool ok = rc == 0 && fputc('\n', f) != EOF && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}
