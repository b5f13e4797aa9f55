/* Records of a module:
 *   GET  /crm/{v}/{module}?fields=..&page&per_page&page_token   list (page_token past 2,000)
 *   GET  /crm/{v}/{module}/{id}                                  one record
 *   PUT  /crm/{v}/{module}/{id} | /crm/{v}/{module}              update (RECORD_LOCKED when
 *        the record is locked and its configuration restricts "update")
 *   POST /crm/{v}/{module}                                       create
 * Automatic locking rules run after create and update. */
#include "field.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ITEMS 100
#define PAGE_LIMIT 2000

/* Splits "a,b,c" into a malloc'd array of trimmed names. */
char **emu_split_fields(const char *s, size_t *n)
{
    *n = 0;
    if (!s) return NULL;
    char **v = NULL;
    size_t cap = 0;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        const char *a = s;
        while (len && *a == ' ') { a++; len--; }
        while (len && a[len - 1] == ' ') len--;
        if (len && len < 200) {
            if (*n == cap) { cap = cap ? cap * 2 : 8; v = emu_xrealloc(v, cap * sizeof *v); }
            v[*n] = emu_xmalloc(len + 1);
            memcpy(v[*n], a, len);
            v[*n][len] = 0;
            (*n)++;
        }
        if (!e || *n >= 500) break;
        s = e + 1;
    }
    return v;
}

void emu_free_fields(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* page/per_page query values; false after replying with an error. */
bool emu_paging(emu_ctx *c, long *page, long *per_page)
{
    const char *p = emu_query(c, "page"), *pp = emu_query(c, "per_page");
    char *end;
    *page = 1; *per_page = 200;
    if (p) {
        *page = strtol(p, &end, 10);
        if (!*p || *end || *page < 1 || *page > 1000000) {
            emu_reply_error(c, 400, "INVALID_DATA", "invalid data", json_pack("{s:s}", "param_name", "page"));
            return false;
        }
    }
    if (pp) {
        *per_page = strtol(pp, &end, 10);
        if (!*pp || *end || *per_page < 1) {
            emu_reply_error(c, 400, "INVALID_DATA", "invalid data", json_pack("{s:s}", "param_name", "per_page"));
            return false;
        }
        if (*per_page > 200) *per_page = 200;
    }
    return true;
}

static void list(emu_ctx *c, emu_module *m)
{
    emu_org *o = c->s->org;
    const char *fs = emu_query(c, "fields");
    if (!fs || !*fs) {
        emu_reply_error(c, 400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                        json_pack("{s:s}", "param", "fields"));
        return;
    }
    long page, per_page;
    if (!emu_paging(c, &page, &per_page)) return;
    size_t nf;
    char **fields = emu_split_fields(fs, &nf);
    for (size_t i = 0; i < nf; i++)
        if (!emu_module_has_field(m, fields[i])) {
            emu_reply_error(c, 400, "INVALID_DATA", "invalid data",
                            json_pack("{s:s,s:o}", "param_name", "fields", "api_name", emu_jstr(fields[i])));
            emu_free_fields(fields, nf);
            return;
        }
    const char *tok = emu_query(c, "page_token");
    size_t off;
    if (tok) {
        unsigned long long v;
        char extra;
        if (sscanf(tok, "zemu%llx%c", &v, &extra) != 1 || v > m->nrecs) {
            emu_reply_error(c, 400, "INVALID_DATA", "invalid data", json_pack("{s:s}", "param_name", "page_token"));
            emu_free_fields(fields, nf);
            return;
        }
        off = (size_t)v;
        page = (long)(off / (size_t)per_page) + 1;
    } else {
        if (page * per_page > PAGE_LIMIT) {
            emu_reply_error(c, 400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                            "The no. of records that can be fetched using page param is limited to 2000. "
                            "Use page_token param to fetch records beyond that",
                            json_pack("{s:s,s:i}", "param", "page", "limit", PAGE_LIMIT));
            emu_free_fields(fields, nf);
            return;
        }
        off = (size_t)((page - 1) * per_page);
    }
    if (off >= m->nrecs) { emu_reply_empty(c, 204); emu_free_fields(fields, nf); return; }
    size_t end = off + (size_t)per_page;
    if (end > m->nrecs) end = m->nrecs;
    json_t *data = json_array();
    for (size_t k = off; k < end; k++) json_array_append_new(data, emu_record_json(o, m->recs[k], fields, nf));
    emu_free_fields(fields, nf);
    bool more = end < m->nrecs;
    char next[40], exp[32];
    snprintf(next, sizeof next, "zemu%zx", end);
    emu_fmt_time((int64_t)time(NULL) + 86400, exp);
    json_t *info = json_object();
    json_object_set_new(info, "per_page", json_integer(per_page));
    json_object_set_new(info, "count", json_integer((json_int_t)(end - off)));
    json_object_set_new(info, "page", json_integer(page));
    json_object_set_new(info, "sort_by", json_string("id"));
    json_object_set_new(info, "sort_order", json_string("asc"));
    json_object_set_new(info, "more_records", json_boolean(more));
    json_object_set_new(info, "next_page_token", more ? json_string(next) : json_null());
    json_object_set_new(info, "previous_page_token", json_null());
    json_object_set_new(info, "page_token_expiry", more ? json_string(exp) : json_null());
    emu_reply_json(c, 200, json_pack("{s:o,s:o}", "data", data, "info", info));
}

static json_t *item_path(const char *field, size_t i, const char *action)
{
    char p[160];
    snprintf(p, sizeof p, "$.data[%zu].%s", i, field);
    json_t *d = json_pack("{s:s,s:s}", "api_name", field, "json_path", p);
    if (action) json_object_set_new(d, "action", json_string(action));
    return d;
}

static json_t *done_details(emu_org *o, const emu_record *r, int user)
{
    char ct[32], mt[32];
    emu_fmt_time(r->created, ct);
    emu_fmt_time(r->modified, mt);
    json_t *d = json_object();
    json_object_set_new(d, "Modified_Time", json_string(mt));
    json_object_set_new(d, "Modified_By", emu_user_json(o, user, false));
    json_object_set_new(d, "Created_Time", json_string(ct));
    json_object_set_new(d, "id", emu_jid(r->id));
    json_object_set_new(d, "Created_By", emu_user_json(o, r->owner, false));
    return d;
}

/* Checks every field of item against m; an error item or NULL. */
static json_t *check_item(emu_module *m, json_t *item, size_t i)
{
    const char *k;
    json_t *v;
    emu_record *probe = emu_xcalloc(1, sizeof *probe + m->nfields * sizeof(char *));
    json_t *err = NULL;
    json_object_foreach(item, k, v) {
        int f = emu_module_field(m, k);
        if (f < 0) continue;   /* unknown and system fields are ignored, as Zoho does */
        if (!emu_field_store(probe, &m->fields[f], (size_t)f, v)) {
            json_t *d = item_path(k, i, NULL);
            json_object_set_new(d, "expected_data_type", json_string(emu_ftype_name(m->fields[f].type)));
            err = emu_error_item("INVALID_DATA", "invalid data", d);
            break;
        }
    }
    for (size_t f = 0; f < m->nfields; f++) free(probe->v[f]);
    free(probe);
    return err;
}

static void store_item(emu_module *m, emu_record *r, json_t *item)
{
    const char *k;
    json_t *v;
    json_object_foreach(item, k, v) {
        int f = emu_module_field(m, k);
        if (f >= 0) emu_field_store(r, &m->fields[f], (size_t)f, v);
    }
}

static bool named_in(json_t *arr, const char *name)
{
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        const char *s = json_is_string(it) ? json_string_value(it)
                      : json_string_value(json_object_get(it, json_object_get(it, "api_name") ? "api_name" : "name"));
        if (s && strcmp(s, name) == 0) return true;
    }
    return false;
}

/* A lock restricting "update" still lets through users whose profile is in
 * lock_excluded_profiles, and items that only touch excluded_fields. */
static bool lock_spares(emu_org *o, const emu_config *cfg, int user, json_t *item)
{
    if (named_in(json_object_get(cfg->obj, "lock_excluded_profiles"), o->users[user].profile)) return true;
    json_t *excluded = json_object_get(cfg->obj, "excluded_fields");
    const char *k;
    json_t *v;
    bool any = false;
    json_object_foreach(item, k, v) {
        if (strcmp(k, "id") == 0 || k[0] == '$') continue;
        if (!named_in(excluded, k)) return false;
        any = true;
    }
    return any;
}

static void write_items(emu_ctx *c, emu_module *m, uint64_t path_id, bool create)
{
    emu_org *o = c->s->org;
    json_t *root;
    json_t *data = emu_body_data(c, &root, "data");
    if (!data) return;
    if (json_array_size(data) > MAX_ITEMS) {
        emu_reply_error(c, 400, "LIMIT_EXCEEDED", "limit exceeded",
                        json_pack("{s:s,s:s,s:i}", "api_name", "data", "json_path", "$.data", "limit", MAX_ITEMS));
        json_decref(root);
        return;
    }
    json_t *out = json_array();
    size_t ok = 0, i;
    json_t *item;
    int64_t now = (int64_t)time(NULL);
    json_array_foreach(data, i, item) {
        json_t *res = NULL;
        emu_record *r = NULL;
        if (!json_is_object(item)) {
            char p[48];
            snprintf(p, sizeof p, "$.data[%zu]", i);
            res = emu_error_item("INVALID_DATA", "invalid data",
                                 json_pack("{s:s,s:s}", "expected_data_type", "jsonobject", "json_path", p));
        } else if (!create) {
            uint64_t id = path_id;
            json_t *jid = json_object_get(item, "id");
            if (!id && !jid) res = emu_error_item("MANDATORY_NOT_FOUND", "required field not found", item_path("id", i, NULL));
            else if (!id && (!json_is_string(jid) || !emu_parse_id(json_string_value(jid), &id)))
                res = emu_error_item("INVALID_DATA", "the id given seems to be invalid", item_path("id", i, NULL));
            else if (!(r = emu_org_record(o, m, id)))
                res = emu_error_item("INVALID_DATA", "the id given seems to be invalid", item_path("id", i, NULL));
            else if (r->lock && m->config && m->config->restrict_update
                     && !lock_spares(c->s->org, m->config, c->user, item))
                res = emu_error_item("RECORD_LOCKED", "Sorry, you cannot perform this operation as the record is locked.",
                                     item_path("id", i, "record_locking"));
        } else if (m->name_field >= 0 && !json_is_string(json_object_get(item, m->fields[m->name_field].api_name))) {
            res = emu_error_item("MANDATORY_NOT_FOUND", "required field not found",
                                 item_path(m->fields[m->name_field].api_name, i, NULL));
        }
        if (!res) res = check_item(m, item, i);
        if (!res) {
            if (create) {
                r = emu_org_add_record(o, m, 0);
                r->owner = (uint16_t)c->user;
                r->created = now;
            }
            store_item(m, r, item);
            r->modified = now;
            emu_autolock_record(c->s, r, now);
            res = emu_success_item(create ? "record added" : "record updated", done_details(o, r, c->user));
            ok++;
        }
        json_array_append_new(out, res);
    }
    size_t n = json_array_size(data);
    json_decref(root);
    int status = ok == n ? (create ? 201 : 200) : ok == 0 ? 400 : 207;
    emu_reply_json(c, status, json_pack("{s:o}", "data", out));
}

/* DELETE /crm/{v}/{module}/{id} or /crm/{v}/{module}?ids=a,b (at most 100): refused with
 * RECORD_LOCKED {id, action:"record_locking"} when locked and "delete" is restricted. */
static void delete_records(emu_ctx *c, emu_module *m, uint64_t path_id)
{
    emu_org *o = c->s->org;
    char one[24];
    const char *ids = path_id ? (emu_fmt_id(path_id, one), one) : emu_query(c, "ids");
    if (!ids || !*ids) {
        emu_reply_error(c, 400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                        json_pack("{s:s}", "param", "ids"));
        return;
    }
    size_t n;
    char **list = emu_split_fields(ids, &n);
    if (n > MAX_ITEMS) {
        emu_free_fields(list, n);
        emu_reply_error(c, 400, "LIMIT_EXCEEDED", "limit exceeded", json_pack("{s:s,s:i}", "param", "ids", "limit", MAX_ITEMS));
        return;
    }
    json_t *out = json_array();
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t id;
        emu_record *r = emu_parse_id(list[i], &id) ? emu_org_record(o, m, id) : NULL;
        json_t *d = json_pack("{s:o}", "id", emu_jstr(list[i]));
        if (!r) {
            json_array_append_new(out, emu_error_item("INVALID_DATA", "the id given seems to be invalid", d));
        } else if (r->lock && m->config && m->config->restrict_delete) {
            json_object_set_new(d, "action", json_string("record_locking"));
            json_array_append_new(out, emu_error_item("RECORD_LOCKED",
                "Sorry, you cannot perform this operation as the record is locked.", d));
        } else {
            emu_org_delete_record(o, m, r);
            json_array_append_new(out, emu_success_item("record deleted", d));
            ok++;
        }
    }
    emu_free_fields(list, n);
    emu_reply_json(c, ok == n ? 200 : ok == 0 ? 400 : 207, json_pack("{s:o}", "data", out));
}

void emu_records_route(emu_ctx *c)
{
    const char *me = c->method;
    bool get = strcmp(me, "GET") == 0, put = strcmp(me, "PUT") == 0, post = strcmp(me, "POST") == 0;
    bool del = strcmp(me, "DELETE") == 0;
    bool one = c->nseg == 2;
    if (!(get || put || del || (post && !one))) {
        c->route = EMU_R_OTHER;
        emu_reply_error(c, 405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one", NULL);
        return;
    }
    c->route = get ? (one ? EMU_R_RECORD_GET : EMU_R_RECORDS_LIST) : put ? EMU_R_RECORDS_UPDATE
             : del ? EMU_R_RECORDS_DELETE : EMU_R_RECORDS_CREATE;
    emu_server *s = c->s;
    if (get) pthread_rwlock_rdlock(&s->org_lock);
    else pthread_rwlock_wrlock(&s->org_lock);
    emu_org *o = s->org;
    emu_module *m = emu_org_module_ci(o, c->seg[0]);
    uint64_t id = 0;
    emu_record *r = NULL;
    if (!m) {
        emu_reply_error_rpi(c, 400, "INVALID_MODULE", "the module name given seems to be invalid", 0);
    } else if (one && (!emu_parse_id(c->seg[1], &id) || !(r = emu_org_record(o, m, id)))) {
        emu_reply_error_rpi(c, 400, "INVALID_DATA", "the id given seems to be invalid", 1);
    } else if (get && one) {
        const char *fs = emu_query(c, "fields");
        size_t nf = 0;
        char **fields = fs && *fs ? emu_split_fields(fs, &nf) : NULL;
        emu_reply_json(c, 200, json_pack("{s:[o]}", "data", emu_record_json(o, r, fields, nf)));
        emu_free_fields(fields, nf);
    } else if (get) {
        list(c, m);
    } else if (del) {
        delete_records(c, m, id);
    } else {
        write_items(c, m, id, post);
    }
    pthread_rwlock_unlock(&s->org_lock);
}
