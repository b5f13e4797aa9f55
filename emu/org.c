/* The org: modules with field schemas, compact records, one lock per record, id index.
 * Not thread-safe by itself: the server guards it with a rwlock. */
#include "emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const ftype_names[] = {
    "text", "textarea", "picklist", "currency", "double", "integer", "date", "datetime",
    "email", "phone", "website", "boolean", "lookup",
};

const char *emu_ftype_name(emu_ftype t) { return ftype_names[t]; }

bool emu_ftype_parse(const char *s, emu_ftype *t)
{
    for (size_t i = 0; i < sizeof ftype_names / sizeof *ftype_names; i++)
        if (s && strcmp(s, ftype_names[i]) == 0) { *t = (emu_ftype)i; return true; }
    return false;
}

emu_org *emu_org_new(void)
{
    emu_org *o = emu_xcalloc(1, sizeof *o);
    o->next_id = 5843104000000100000ULL;
    o->idx_cap = 1024;
    o->idx = emu_xcalloc(o->idx_cap, sizeof *o->idx);
    return o;
}

void emu_lock_free(emu_lock *l)
{
    if (!l) return;
    free(l->reason);
    free(l);
}

void emu_config_free(emu_config *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nrules; i++) {
        free(c->rules[i].name);
        json_decref(c->rules[i].criteria);
    }
    free(c->rules);
    json_decref(c->obj);
    free(c);
}

void emu_org_free(emu_org *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->nmodules; i++) {
        emu_module *m = &o->modules[i];
        for (size_t r = 0; r < m->nrecs; r++) {
            emu_record *rec = m->recs[r];
            for (size_t f = 0; f < m->nfields; f++) free(rec->v[f]);
            emu_lock_free(rec->lock);
            free(rec);
        }
        free(m->recs);
        for (size_t f = 0; f < m->nfields; f++) {
            free(m->fields[f].api_name);
            free(m->fields[f].label);
            free(m->fields[f].lookup);
            for (size_t p = 0; p < m->fields[f].npick; p++) free(m->fields[f].picklist[p]);
            free(m->fields[f].picklist);
        }
        free(m->fields);
        free(m->api_name); free(m->singular); free(m->plural);
        emu_config_free(m->config);
    }
    free(o->modules);
    free(o->idx);
    free(o);
}

uint64_t emu_org_new_id(emu_org *o) { return o->next_id += 1 + (o->next_id % 7 == 0 ? 2 : 0); }

emu_module *emu_org_module(emu_org *o, const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < o->nmodules; i++)
        if (strcmp(o->modules[i].api_name, name) == 0) return &o->modules[i];
    return NULL;
}

emu_module *emu_org_module_ci(emu_org *o, const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < o->nmodules; i++)
        if (strcasecmp(o->modules[i].api_name, name) == 0) return &o->modules[i];
    return NULL;
}

emu_module *emu_org_add_module(emu_org *o, const char *name, bool custom)
{
    emu_module *m = emu_org_module(o, name);
    if (m) return m;
    o->modules = emu_xrealloc(o->modules, (o->nmodules + 1) * sizeof *o->modules);
    m = &o->modules[o->nmodules];
    memset(m, 0, sizeof *m);
    m->api_name = emu_strdup(name);
    m->singular = emu_strdup(name);
    m->plural = emu_strdup(name);
    m->id = 5843104000000002000ULL + (uint64_t)o->nmodules * 15 + 1;
    m->name_field = -1;
    m->name_field2 = -1;
    m->custom = custom;
    o->nmodules++;
    return m;
}

int emu_module_field(const emu_module *m, const char *name)
{
    if (!name) return -1;
    for (size_t i = 0; i < m->nfields; i++)
        if (strcmp(m->fields[i].api_name, name) == 0) return (int)i;
    return -1;
}

emu_field *emu_module_add_field(emu_module *m, const char *name, emu_ftype t, const char *lookup)
{
    m->fields = emu_xrealloc(m->fields, (m->nfields + 1) * sizeof *m->fields);
    emu_field *f = &m->fields[m->nfields++];
    memset(f, 0, sizeof *f);
    f->api_name = emu_strdup(name);
    f->label = emu_strdup(name);
    for (char *p = f->label; *p; p++)
        if (*p == '_') *p = ' ';
    f->type = t;
    f->lookup = emu_strdup(lookup);
    f->id = m->id + 100000 + m->nfields;
    return f;
}

static size_t hash_id(uint64_t id, size_t cap)
{
    id ^= id >> 33; id *= 0xff51afd7ed558ccdULL; id ^= id >> 33;
    return (size_t)(id & (cap - 1));
}

static void idx_put(emu_org *o, emu_record *r)
{
    if ((o->idx_used + 1) * 2 > o->idx_cap) {
        size_t ncap = o->idx_cap * 2;
        emu_record **n = emu_xcalloc(ncap, sizeof *n);
        for (size_t i = 0; i < o->idx_cap; i++) {
            emu_record *e = o->idx[i];
            if (!e) continue;
            size_t h = hash_id(e->id, ncap);
            while (n[h]) h = (h + 1) & (ncap - 1);
            n[h] = e;
        }
        free(o->idx);
        o->idx = n;
        o->idx_cap = ncap;
    }
    size_t h = hash_id(r->id, o->idx_cap);
    while (o->idx[h]) h = (h + 1) & (o->idx_cap - 1);
    o->idx[h] = r;
    o->idx_used++;
}

emu_record *emu_org_add_record(emu_org *o, emu_module *m, uint64_t id)
{
    if (!id) id = emu_org_new_id(o);
    if (id > o->next_id) o->next_id = id;
    emu_record *r = emu_xcalloc(1, sizeof *r + m->nfields * sizeof(char *));
    r->id = id;
    r->module = (uint16_t)(m - o->modules);
    if (m->nrecs == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->recs = emu_xrealloc(m->recs, m->cap * sizeof *m->recs);
    }
    m->recs[m->nrecs++] = r;
    idx_put(o, r);
    return r;
}

void emu_org_delete_record(emu_org *o, emu_module *m, emu_record *r)
{
    size_t mask = o->idx_cap - 1, i = hash_id(r->id, o->idx_cap);
    while (o->idx[i] != r) i = (i + 1) & mask;
    o->idx[i] = NULL;
    /* backward-shift deletion keeps every probe chain unbroken */
    for (size_t j = (i + 1) & mask; o->idx[j]; j = (j + 1) & mask) {
        size_t k = hash_id(o->idx[j]->id, o->idx_cap);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        o->idx[i] = o->idx[j];
        o->idx[j] = NULL;
        i = j;
    }
    o->idx_used--;
    for (size_t k = 0; k < m->nrecs; k++)
        if (m->recs[k] == r) {
            memmove(&m->recs[k], &m->recs[k + 1], (m->nrecs - k - 1) * sizeof *m->recs);
            m->nrecs--;
            break;
        }
    for (size_t f = 0; f < m->nfields; f++) free(r->v[f]);
    emu_lock_free(r->lock);
    free(r);
}

emu_record *emu_org_record(emu_org *o, const emu_module *m, uint64_t id)
{
    size_t h = hash_id(id, o->idx_cap);
    for (emu_record *e; (e = o->idx[h]) != NULL; h = (h + 1) & (o->idx_cap - 1))
        if (e->id == id) return (m && &o->modules[e->module] != m) ? NULL : e;
    return NULL;
}

void emu_record_set(emu_record *r, size_t field, const char *val)
{
    free(r->v[field]);
    r->v[field] = emu_strdup(val);
}

void emu_record_name(emu_org *o, const emu_record *r, char *out, size_t n)
{
    const emu_module *m = &o->modules[r->module];
    const char *a = m->name_field2 >= 0 ? r->v[m->name_field2] : NULL;
    const char *b = m->name_field >= 0 ? r->v[m->name_field] : NULL;
    if (a && b) snprintf(out, n, "%s %s", a, b);
    else snprintf(out, n, "%s", b ? b : (a ? a : ""));
}

emu_lock *emu_lock_new(emu_org *o, emu_record *r, bool automatic, const char *reason, int user,
                       uint64_t rule_id, uint64_t config_id, int64_t when)
{
    emu_lock *l = emu_xcalloc(1, sizeof *l);
    l->id = emu_org_new_id(o);
    l->automatic = automatic;
    l->reason = automatic ? NULL : emu_strdup(reason);
    l->time = l->modified = when;
    l->locked_by = automatic ? -1 : user;
    l->rule_id = automatic ? rule_id : 0;
    l->config_id = config_id;
    emu_lock_free(r->lock);
    r->lock = l;
    return l;
}
