/* Locking_Information__s: the related list of a record that holds its lock.
 *   GET    /crm/{v}/{module}/{record_id}/Locking_Information__s?fields=..   list (204 if none)
 *   POST   /crm/{v}/{module}/{record_id}/Locking_Information__s             lock (201)
 *   GET    /crm/{v}/{module}/{record_id}/Locking_Information__s/{lock_id}   one
 *   PUT    /crm/{v}/{module}/{record_id}/Locking_Information__s/{lock_id}   reason (200)
 *   DELETE /crm/{v}/{module}/{record_id}/Locking_Information__s/{lock_id}   unlock (200) */
#include "permission.h"
#include "emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum {
    LF_FOR = 1, LF_REASON = 2, LF_SOURCE = 4, LF_TIME = 8, LF_BY = 16, LF_RULE = 32,
    LF_CONFIG = 64, LF_OWNER = 128, LF_PARENT = 256, LF_CREATED = 512, LF_ALL = 1023
};
static const struct { const char *name; unsigned bit; } lock_fields[] = {
    { "Locked_For__s", LF_FOR }, { "Locked_Reason__s", LF_REASON }, { "Lock_Source__s", LF_SOURCE },
    { "Locked_Time__s", LF_TIME }, { "Locked_By__s", LF_BY }, { "Record_Locking_Rule_Id__s", LF_RULE },
    { "Record_Locking_Configuration_Id__s", LF_CONFIG }, { "Owner", LF_OWNER },
    { "Parent_Id", LF_PARENT }, { "Created_Time", LF_CREATED }, { "Modified_Time", LF_CREATED },
    { "Created_By", LF_CREATED }, { "Modified_By", LF_CREATED }, { "id", 0 },
    { "Feature_Type__s", 0 }, { "Name", 0 },
};

/* Parses `fields=a,b` into a bit mask. An unknown name: false after replying 400 INVALID_DATA
 * {param_name:"fields", api_name}. */
static bool parse_fields(emu_ctx *c, const char *s, unsigned *mask)
{
    char buf[64];
    *mask = 0;
    while (s && *s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        while (n && *s == ' ') { s++; n--; }
        while (n && s[n - 1] == ' ') n--;
        if (n) {
            bool known = false;
            if (n < sizeof buf) {
                memcpy(buf, s, n); buf[n] = 0;
                for (size_t i = 0; i < sizeof lock_fields / sizeof *lock_fields; i++)
                    if (strcasecmp(buf, lock_fields[i].name) == 0) { *mask |= lock_fields[i].bit; known = true; }
            }
            if (!known) {
                json_t *name = json_stringn(s, n < 200 ? n : 200);
                emu_reply_error(c, 400, "INVALID_DATA", "invalid data",
                                json_pack("{s:s,s:o}", "param_name", "fields", "api_name",
                                          name ? name : json_string("")));
                return false;
            }
        }
        s = e ? e + 1 : NULL;
    }
    return true;
}

/* ids=1,2: false after replying when one is not an id. */
static bool valid_ids(emu_ctx *c, const char *ids)
{
    for (const char *s = ids; s && *s;) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char buf[24];
        uint64_t id;
        if (n == 0 || n >= sizeof buf) goto bad;
        memcpy(buf, s, n); buf[n] = 0;
        if (!emu_parse_id(buf, &id)) goto bad;
        s = e ? e + 1 : NULL;
    }
    return true;
bad:
    emu_reply_error(c, 400, "INVALID_DATA", "invalid data", json_pack("{s:s}", "param_name", "ids"));
    return false;
}

static json_t *locked_for(emu_org *o, const emu_record *r)
{
    const emu_module *m = &o->modules[r->module];
    char name[256];
    emu_record_name(o, r, name, sizeof name);
    return json_pack("{s:{s:s,s:o},s:o,s:o}", "module", "api_name", m->api_name, "id", emu_jid(m->id),
                     "name", emu_jstr(name), "id", emu_jid(r->id));
}


json_t *emu_lock_json(emu_org *o, const emu_record *r, unsigned mask)
{
    const emu_lock *l = r->lock;
    char t[32];
    json_t *j = json_object();
    if (mask & LF_OWNER) json_object_set_new(j, "Owner", emu_user_json(o, l->automatic ? 0 : l->locked_by, true));
    if (mask & LF_BY) json_object_set_new(j, "Locked_By__s", emu_user_json(o, l->locked_by, false));
    if (mask & LF_FOR) json_object_set_new(j, "Locked_For__s", locked_for(o, r));
    if (mask & LF_PARENT) json_object_set_new(j, "Parent_Id", locked_for(o, r));
    json_object_set_new(j, "$field_states", json_null());
    if (mask & LF_REASON) json_object_set_new(j, "Locked_Reason__s", emu_jstr(l->reason));
    json_object_set_new(j, "$editable", json_boolean(!l->automatic));
    json_object_set_new(j, "$sharing_permission", json_string(l->automatic ? "read_only" : "full_access"));
    if (mask & LF_SOURCE) json_object_set_new(j, "Lock_Source__s", json_string(l->automatic ? "Automatic" : "Manual"));
    if (mask & LF_TIME) { emu_fmt_time(l->time, t); json_object_set_new(j, "Locked_Time__s", json_string(t)); }
    if (mask & LF_CONFIG) json_object_set_new(j, "Record_Locking_Configuration_Id__s", emu_jid(l->config_id));
    if (mask & LF_RULE) json_object_set_new(j, "Record_Locking_Rule_Id__s", emu_jid(l->rule_id));
    if (mask & LF_CREATED) {
        int by = l->automatic ? 0 : l->locked_by;
        emu_fmt_time(l->time, t);
        json_object_set_new(j, "Created_Time", json_string(t));
        emu_fmt_time(l->modified, t);
        json_object_set_new(j, "Modified_Time", json_string(t));
        json_object_set_new(j, "Created_By", emu_user_json(o, by, false));
        json_object_set_new(j, "Modified_By", emu_user_json(o, by, false));
    }
    json_object_set_new(j, "id", emu_jid(l->id));
    json_object_set_new(j, "Feature_Type__s", json_string("record_locking"));
    json_object_set_new(j, "$zia_visions", json_null());
    return j;
}

static const char *body_reason_in(emu_ctx *c, json_t **root);

/* Validates {"data":[{"Locked_Reason__s":"..."}]}: the reason (owned by *root), or NULL after
 * replying (and *root released). */
static const char *body_reason(emu_ctx *c, json_t **root)
{
    const char *reason = body_reason_in(c, root);
    if (!reason) { json_decref(*root); *root = NULL; }
    return reason;
}

static const char *body_reason_in(emu_ctx *c, json_t **root)
{
    json_t *data = emu_body_data(c, root, "data");
    if (!data) return NULL;
    if (json_array_size(data) > 1) {
        emu_reply_error(c, 400, "LIMIT_EXCEEDED", "limit exceeded",
                        json_pack("{s:s,s:s,s:i}", "api_name", "data", "json_path", "$.data", "limit", 1));
        return NULL;
    }
    json_t *item = json_array_get(data, 0);
    if (!json_is_object(item)) {
        emu_reply_wrapped(c, 400, "INVALID_DATA", "invalid data",
                          json_pack("{s:s,s:s}", "expected_data_type", "jsonobject", "json_path", "$.data[0]"));
        return NULL;
    }
    json_t *r = json_object_get(item, "Locked_Reason__s");
    const char *reason = json_string_value(r);
    if (!r || json_is_null(r) || (reason && !*reason)) {
        emu_reply_wrapped(c, 400, "MANDATORY_NOT_FOUND", "required field not found",
                          json_pack("{s:s,s:s}", "api_name", "Locked_Reason__s",
                                    "json_path", "$.data[0].Locked_Reason__s"));
        return NULL;
    }
    if (!reason) {
        emu_reply_wrapped(c, 400, "INVALID_DATA", "invalid data",
                          json_pack("{s:s,s:s,s:s}", "api_name", "Locked_Reason__s",
                                    "json_path", "$.data[0].Locked_Reason__s", "expected_data_type", "textarea"));
        return NULL;
    }
    if (emu_utf8_len(reason) > EMU_REASON_MAX) {
        emu_reply_wrapped(c, 400, "LIMIT_EXCEEDED", "limit exceeded",
                          json_pack("{s:s,s:s,s:i}", "api_name", "Locked_Reason__s",
                                    "json_path", "$.data[0].Locked_Reason__s", "maximum_length", EMU_REASON_MAX));
        return NULL;
    }
    return reason;
}

static void list_locks(emu_ctx *c, emu_record *r)
{
    emu_org *o = c->s->org;
    const char *fields = emu_query(c, "fields");
    if (!fields || !*fields) {
        emu_reply_error(c, 400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                        json_pack("{s:s}", "param", "fields"));
        return;
    }
    long page = 1, per_page = 200;
    const char *p = emu_query(c, "page"), *pp = emu_query(c, "per_page");
    char *end;
    if (p) {
        page = strtol(p, &end, 10);
        if (!*p || *end || page < 1 || page > 1000000) {
            emu_reply_error(c, 400, "INVALID_DATA", "invalid data", json_pack("{s:s}", "param_name", "page"));
            return;
        }
    }
    if (pp) {
        per_page = strtol(pp, &end, 10);
        if (!*pp || *end || per_page < 1) {
            emu_reply_error(c, 400, "INVALID_DATA", "invalid data", json_pack("{s:s}", "param_name", "per_page"));
            return;
        }
        if (per_page > 200) per_page = 200;
    }
    const char *ids = emu_query(c, "ids");
    if (ids && !valid_ids(c, ids)) return;
    if (emu_query(c, "page_token")) {   /* the list never hands out one */
        emu_reply_error(c, 400, "INVALID_DATA", "invalid data", json_pack("{s:s}", "param_name", "page_token"));
        return;
    }
    unsigned mask;
    if (!parse_fields(c, fields, &mask)) return;
    bool wanted = r->lock != NULL && page == 1;
    if (wanted && ids && *ids) {
        char want[24];
        emu_fmt_id(r->lock->id, want);
        wanted = false;
        for (const char *s = ids; s && *s;) {
            const char *e = strchr(s, ',');
            size_t n = e ? (size_t)(e - s) : strlen(s);
            if (n == strlen(want) && memcmp(s, want, n) == 0) wanted = true;
            s = e ? e + 1 : NULL;
        }
    }
    if (!wanted) { emu_reply_empty(c, 204); return; }
    json_t *data = json_pack("[o]", emu_lock_json(o, r, mask));
    json_t *info = json_object();
    json_object_set_new(info, "per_page", json_integer(per_page));
    json_object_set_new(info, "count", json_integer(1));
    json_object_set_new(info, "page", json_integer(page));
    json_object_set_new(info, "more_records", json_false());
    json_object_set_new(info, "next_page_token", json_null());
    json_object_set_new(info, "previous_page_token", json_null());
    json_object_set_new(info, "page_token_expiry", json_null());
    emu_reply_json(c, 200, json_pack("{s:o,s:o}", "data", data, "info", info));
}

static void add_lock(emu_ctx *c, emu_module *m, emu_record *r)
{
    emu_org *o = c->s->org;
    json_t *root;
    const char *reason = body_reason(c, &root);
    if (!reason) return;
    if (m->config->lock_type == 1) {
        emu_reply_error_rpi(c, 403, "NOT_ALLOWED",
                            "record cannot be locked, only automatic locking is configured", 1);
    } else if (r->lock) {
        emu_reply_error_rpi(c, 403, "NOT_ALLOWED", "record is already locked", 1);
    } else {
        emu_lock *l = emu_lock_new(o, r, false, reason, c->user, 0, m->config->id, (int64_t)time(NULL));
        char t[32];
        emu_fmt_time(l->time, t);
        json_t *d = json_object();
        json_object_set_new(d, "id", emu_jid(l->id));
        json_object_set_new(d, "Created_Time", json_string(t));
        json_object_set_new(d, "Modified_Time", json_string(t));
        json_object_set_new(d, "Created_By", emu_user_json(o, c->user, false));
        json_object_set_new(d, "Modified_By", emu_user_json(o, c->user, false));
        emu_reply_json(c, 201, json_pack("{s:[o]}", "data", emu_success_item("record added", d)));
    }
    json_decref(root);
}

static void one_lock(emu_ctx *c, emu_record *r)
{
    emu_org *o = c->s->org;
    uint64_t lid;
    if (!emu_parse_id(c->seg[3], &lid)) {
        emu_reply_error_rpi(c, 400, "INVALID_DATA", "the id given seems to be invalid", 3);
        return;
    }
    if (!r->lock || r->lock->id != lid) {
        emu_reply_error_rpi(c, 400, "INVALID_DATA", "relation not found", 3);
        return;
    }
    emu_lock *l = r->lock;
    if (strcmp(c->method, "GET") == 0) {
        const char *f = emu_query(c, "fields");
        /* Owner, Parent_Id and Created_* only when asked (not in the documented replies) */
        unsigned mask = LF_ALL & ~(unsigned)(LF_OWNER | LF_PARENT | LF_CREATED);
        if (f && *f && !parse_fields(c, f, &mask)) return;
        emu_reply_json(c, 200, json_pack("{s:[o]}", "data", emu_lock_json(o, r, mask)));
        return;
    }
    bool admin = strcmp(o->users[c->user].profile, "Administrator") == 0;
    if (strcmp(c->method, "DELETE") == 0) {
        if (l->automatic) {
            emu_reply_error_rpi(c, 403, "NOT_ALLOWED",
                                "Automatically locked records can not be unlocked manually", 1);
            return;
        }
        if (!admin && l->locked_by != c->user) {
            emu_reply_no_permission(c, "You do not have permission to unlock this record", EMU_PERM_LOCK);
            return;
        }
        emu_reply_json(c, 200, json_pack("{s:[o]}", "data",
            emu_success_item("relation removed", json_pack("{s:o}", "id", emu_jid(l->id)))));
        emu_lock_free(l);
        r->lock = NULL;
        return;
    }
    /* PUT: new reason */
    if (l->automatic) {
        emu_reply_error_rpi(c, 403, "NOT_ALLOWED",
                            "Automatically locked records can not be updated manually", 1);
        return;
    }
    if (!admin && l->locked_by != c->user) {
        emu_reply_no_permission(c, "You do not have permission to update this record lock", EMU_PERM_LOCK);
        return;
    }
    json_t *root;
    const char *reason = body_reason(c, &root);
    if (!reason) return;
    free(l->reason);
    l->reason = emu_strdup(reason);
    l->modified = (int64_t)time(NULL);
    json_decref(root);
    emu_reply_json(c, 200, json_pack("{s:[o]}", "data",
        emu_success_item("relation updated", json_pack("{s:o}", "id", emu_jid(l->id)))));
}

void emu_locks_route(emu_ctx *c)
{
    bool one = c->nseg == 4;
    const char *me = c->method;
    bool get = strcmp(me, "GET") == 0;
    if (one ? !(get || strcmp(me, "PUT") == 0 || strcmp(me, "DELETE") == 0)
            : !(get || strcmp(me, "POST") == 0)) {
        emu_reply_error(c, 405, "INVALID_REQUEST_METHOD",
                        "The http request method type is not a valid one", NULL);
        return;
    }
    c->route = one ? (get ? EMU_R_LOCK_GET : me[0] == 'P' ? EMU_R_LOCK_UPDATE : EMU_R_LOCK_DELETE)
                   : (get ? EMU_R_LOCK_LIST : EMU_R_LOCK_CREATE);
    emu_server *s = c->s;
    pthread_mutex_lock(&s->mu);
    bool feature = s->faults.locking_feature;
    pthread_mutex_unlock(&s->mu);
    if (get) pthread_rwlock_rdlock(&s->org_lock);
    else pthread_rwlock_wrlock(&s->org_lock);
    emu_org *o = s->org;
    emu_module *m = emu_org_module_ci(o, c->seg[0]);
    uint64_t rid;
    emu_record *r;
    if (!m) {
        emu_reply_error_rpi(c, 400, "INVALID_MODULE", "the module name given seems to be invalid", 0);
    } else if (!emu_parse_id(c->seg[1], &rid) || !(r = emu_org_record(o, m, rid))) {
        emu_reply_error_rpi(c, 400, "INVALID_DATA", "the related id given seems to be invalid", 1);
    } else if (!feature) {
        emu_reply_error(c, 400, "FEATURE_NOT_SUPPORTED", "The feature is not supported in your edition", NULL);
    } else if (!m->config) {
        emu_reply_error_rpi(c, 400, "NOT_ALLOWED", "Required Record Locking Configuration is not present", 2);
    } else if (one) {
        one_lock(c, r);
    } else if (get) {
        list_locks(c, r);
    } else {
        add_lock(c, m, r);
    }
    pthread_rwlock_unlock(&s->org_lock);
}
