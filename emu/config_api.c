/* Record locking configuration API:
 *   GET    /crm/{v}/settings/record_locking_configurations?module=M        (204 when none)
 *   GET    /crm/{v}/settings/record_locking_configurations/{id}?module=M
 *   POST   /crm/{v}/settings/record_locking_configurations?module=M        201
 *   PUT    /crm/{v}/settings/record_locking_configurations[/{id}]?module=M
 *   DELETE /crm/{v}/settings/record_locking_configurations[/{id}]?module=M[&ids=..]
 * Body: {"record_locking_configurations":[{lock_type, locking_rules, restricted_actions, ...}]}.
 * Creating or changing rules with lock_existing_records locks matching records at once;
 * deleting a configuration removes every lock of the module. */
#include "emu.h"
#include "permission.h"

#include <string.h>
#include <time.h>

#define KEY "record_locking_configurations"

static void reply_item(emu_ctx *c, int status, json_t *item)
{
    emu_reply_json(c, status, json_pack("{s:[o]}", KEY, item));
}

static void write_config(emu_ctx *c, emu_module *m, bool create, uint64_t path_id)
{
    emu_org *o = c->s->org;
    json_t *root;
    json_t *data = emu_body_data(c, &root, KEY);
    if (!data) return;
    json_t *item = json_array_get(data, 0);
    if (json_array_size(data) > 1) {
        emu_reply_error(c, 400, "LIMIT_EXCEEDED", "limit exceeded",
                        json_pack("{s:s,s:i}", "api_name", KEY, "limit", 1));
        json_decref(root);
        return;
    }
    if (create && m->config) {   /* one configuration per module (details UNCONFIRMED) */
        reply_item(c, 400, emu_error_item("LIMIT_EXCEEDED", "limit exceeded",
                   json_pack("{s:s,s:s,s:i,s:i}", "api_name", "module", "json_path", "$.module",
                             "limit", 1, "available_limit", 0)));
        json_decref(root);
        return;
    }
    if (!create) {
        uint64_t id = path_id;
        const char *ids = json_string_value(json_object_get(item, "id"));
        if (!id && ids) emu_parse_id(ids, &id);
        if (!m->config || (id && id != m->config->id)) {
            reply_item(c, 400, emu_error_item("INVALID_DATA", "the id given seems to be invalid",
                       json_pack("{s:s,s:s}", "api_name", "id", "json_path", "$." KEY "[0].id")));
            json_decref(root);
            return;
        }
    }
    json_t *err = NULL;
    emu_config *cfg = emu_config_from_json(o, m, item, create ? NULL : m->config, &err);
    json_decref(root);
    if (!cfg) { reply_item(c, 400, err); return; }
    int64_t now = (int64_t)time(NULL);
    cfg->created = create ? now : m->config->created;
    cfg->modified = now;
    /* automatic locks of deleted rules go away */
    if (!create) {
        for (size_t k = 0; k < m->nrecs; k++) {
            emu_lock *l = m->recs[k]->lock;
            if (!l || !l->automatic) continue;
            bool kept = false;
            for (size_t i = 0; i < cfg->nrules; i++) kept |= cfg->rules[i].id == l->rule_id;
            if (!kept) { emu_lock_free(l); m->recs[k]->lock = NULL; }
        }
        emu_config_free(m->config);
    }
    m->config = cfg;
    emu_config_apply_existing(o, m, now);
    reply_item(c, create ? 201 : 200, emu_success_item(create
        ? "record locking configuration created successfully"
        : "record locking configuration updated successfully",
        json_pack("{s:o}", "id", emu_jid(cfg->id))));
}

static void delete_config(emu_ctx *c, emu_module *m, uint64_t id)
{
    const char *ids = emu_query(c, "ids");
    if (!id && !ids) {   /* Zoho's ids is mandatory on the collection's DELETE */
        emu_reply_error(c, 400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                        json_pack("{s:s}", "param", "ids"));
        return;
    }
    if (!id) emu_parse_id(ids, &id);
    if (!id || !m->config || (id && id != m->config->id)) {
        emu_reply_error_rpi(c, 400, "INVALID_DATA", "the id given seems to be invalid", 2);
        return;
    }
    uint64_t gone = m->config->id;
    for (size_t k = 0; k < m->nrecs; k++) {
        emu_lock_free(m->recs[k]->lock);
        m->recs[k]->lock = NULL;
    }
    emu_config_free(m->config);
    m->config = NULL;
    reply_item(c, 200, emu_success_item("record locking configuration deleted successfully",
                                        json_pack("{s:o}", "id", emu_jid(gone))));
}

void emu_config_route(emu_ctx *c)
{
    c->route = EMU_R_CONFIG;
    const char *me = c->method;
    bool get = strcmp(me, "GET") == 0, post = strcmp(me, "POST") == 0;
    bool put = strcmp(me, "PUT") == 0, del = strcmp(me, "DELETE") == 0;
    bool one = c->nseg == 3;
    if (!(get || put || del || (post && !one))) {
        emu_reply_error(c, 405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one", NULL);
        return;
    }
    uint64_t id = 0;
    if (one && !emu_parse_id(c->seg[2], &id)) {
        emu_reply_error_rpi(c, 400, "INVALID_DATA", "the id given seems to be invalid", 2);
        return;
    }
    pthread_mutex_lock(&c->s->mu);
    bool feature = c->s->faults.locking_feature;
    pthread_mutex_unlock(&c->s->mu);
    if (!feature) {
        emu_reply_error(c, 400, "FEATURE_NOT_SUPPORTED", "The feature is not supported in your edition", NULL);
        return;
    }
    const char *mod = emu_query(c, "module");
    if (!mod || !*mod) {
        emu_reply_error(c, 400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                        json_pack("{s:s}", "param", "module"));
        return;
    }
    emu_server *s = c->s;
    if (get) pthread_rwlock_rdlock(&s->org_lock);
    else pthread_rwlock_wrlock(&s->org_lock);
    emu_module *m = emu_org_module_ci(s->org, mod);
    if (!m && emu_module_unlockable(mod)) {
        emu_reply_error(c, 400, "NOT_SUPPORTED", "record locking is not supported for the module",
                        json_pack("{s:s}", "param_name", "module"));
    } else if (!m) {
        emu_reply_error(c, 400, "INVALID_MODULE", "the module name given seems to be invalid",
                        json_pack("{s:s}", "param_name", "module"));
    } else if (!get && !emu_user_may_configure(s->org, c->user)) {
        emu_reply_no_permission(c, "You do not have permission to configure record locking",
                                EMU_PERM_CONFIGURE);
    } else if (get) {
        if (one && (!m->config || m->config->id != id))
            emu_reply_error_rpi(c, 400, "INVALID_DATA", "the id given seems to be invalid", 2);
        else if (!m->config)
            emu_reply_empty(c, 204);
        else
            emu_reply_json(c, 200, json_pack("{s:[o]}", KEY, emu_config_to_json(s->org, m, m->config)));
    } else if (del) {
        delete_config(c, m, id);
    } else {
        write_config(c, m, post, id);
    }
    pthread_rwlock_unlock(&s->org_lock);
}
