/* Admin API under /__emu/ (not Zoho's; loopback only, no token):
 *   GET  /__emu/state[?module=M][&records=0]  every lock, every record's Locked__s, counts
 *   POST /__emu/reset                          back to the seeded org, settings and statistics
 *   GET|POST /__emu/faults                     fault and limit settings
 *   GET  /__emu/stats                          requests by route and status, peaks, faults
 *   DELETE /__emu/stats                        statistics back to zero; the org stays */
#include "emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *p; size_t n, cap; } sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = emu_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_json(sbuf *b, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (s) { sb_str(b, s); free(s); } else sb_str(b, "null");
}

static void state(emu_ctx *c)
{
    const char *only = emu_query(c, "module");
    const char *rq = emu_query(c, "records");
    bool with_records = !(rq && strcmp(rq, "0") == 0);
    sbuf b = { 0 };
    char id[24], t[32];
    pthread_rwlock_rdlock(&c->s->org_lock);
    emu_org *o = c->s->org;
    sb_str(&b, "{\"locks\":[");
    bool first = true;
    for (size_t i = 0; i < o->nmodules; i++) {
        emu_module *m = &o->modules[i];
        if (only && strcmp(only, m->api_name) != 0) continue;
        for (size_t k = 0; k < m->nrecs; k++) {
            emu_record *r = m->recs[k];
            emu_lock *l = r->lock;
            if (!l) continue;
            json_t *j = json_object();
            json_object_set_new(j, "module", json_string(m->api_name));
            json_object_set_new(j, "record_id", emu_jid(r->id));
            json_object_set_new(j, "lock_id", emu_jid(l->id));
            json_object_set_new(j, "source", json_string(l->automatic ? "Automatic" : "Manual"));
            json_object_set_new(j, "reason", emu_jstr(l->reason));
            json_object_set_new(j, "locked_by", emu_user_json(o, l->locked_by, false));
            json_object_set_new(j, "rule_id", emu_jid(l->rule_id));
            json_object_set_new(j, "config_id", emu_jid(l->config_id));
            emu_fmt_time(l->time, t);
            json_object_set_new(j, "locked_time", json_string(t));
            if (!first) sb_str(&b, ",");
            first = false;
            sb_json(&b, j);
        }
    }
    sb_str(&b, "],\"counts\":{");
    first = true;
    for (size_t i = 0; i < o->nmodules; i++) {
        emu_module *m = &o->modules[i];
        if (only && strcmp(only, m->api_name) != 0) continue;
        size_t locked = 0;
        for (size_t k = 0; k < m->nrecs; k++) locked += m->recs[k]->lock != NULL;
        char line[200];
        snprintf(line, sizeof line, "%s\"%s\":{\"records\":%zu,\"locked\":%zu,\"configured\":%s}",
                 first ? "" : ",", m->api_name, m->nrecs, locked, m->config ? "true" : "false");
        sb_str(&b, line);
        first = false;
    }
    sb_str(&b, "}");
    if (with_records) {
        sb_str(&b, ",\"records\":{");
        first = true;
        for (size_t i = 0; i < o->nmodules; i++) {
            emu_module *m = &o->modules[i];
            if (only && strcmp(only, m->api_name) != 0) continue;
            if (!first) sb_str(&b, ",");
            first = false;
            sb_str(&b, "\""); sb_str(&b, m->api_name); sb_str(&b, "\":{");
            for (size_t k = 0; k < m->nrecs; k++) {
                emu_fmt_id(m->recs[k]->id, id);
                if (k) sb_str(&b, ",");
                sb_str(&b, "\""); sb_str(&b, id);
                sb_str(&b, m->recs[k]->lock ? "\":true" : "\":false");
            }
            sb_str(&b, "}");
        }
        sb_str(&b, "}");
    }
    sb_str(&b, "}");
    pthread_rwlock_unlock(&c->s->org_lock);
    emu_reply_raw(c, 200, b.p, b.n);
}

static void stats(emu_ctx *c)
{
    emu_stats *st = &c->s->stats;
    json_t *routes = json_object();
    for (int r = 0; r < EMU_R_COUNT; r++) {
        json_t *by = NULL;
        for (int k = 0; k < 600; k++) {
            long n = atomic_load(&st->by_route[r][k]);
            if (!n) continue;
            if (!by) by = json_object();
            char code[sizeof "-2147483648"];   /* any int, so no truncation whatever k is */
            snprintf(code, sizeof code, "%d", k);
            json_object_set_new(by, code, json_integer(n));
        }
        if (by) json_object_set_new(routes, emu_route_names[r], by);
    }
    json_t *j = json_object();
    json_object_set_new(j, "requests", routes);
    json_object_set_new(j, "total", json_integer(atomic_load(&st->total)));
    json_object_set_new(j, "in_flight", json_integer(atomic_load(&st->in_flight)));
    json_object_set_new(j, "max_in_flight", json_integer(atomic_load(&st->max_in_flight)));
    json_object_set_new(j, "max_in_flight_offered", json_integer(atomic_load(&st->max_offered)));
    json_object_set_new(j, "too_many_requests", json_integer(atomic_load(&st->too_many)));
    json_object_set_new(j, "tokens_minted", json_integer(atomic_load(&st->tokens_minted)));
    emu_oauth_stats(c->s, j);
    json_object_set_new(j, "drops", json_integer(atomic_load(&st->drops)));
    json_object_set_new(j, "drops_after_apply", json_integer(atomic_load(&st->drops_after)));
    json_object_set_new(j, "faults_500", json_integer(atomic_load(&st->faults_500)));
    emu_reply_json(c, 200, j);
}

static void admin_error(emu_ctx *c, int status, const char *msg)
{
    emu_reply_error(c, status, "INVALID_DATA", msg, NULL);
}

void emu_admin_route(emu_ctx *c)
{
    const char *what = c->url + 7;
    bool get = strcmp(c->method, "GET") == 0, post = strcmp(c->method, "POST") == 0;
    if (strcmp(what, "state") == 0 && get) {
        state(c);
    } else if (strcmp(what, "stats") == 0 && get) {
        stats(c);
    } else if (strcmp(what, "stats") == 0 && strcmp(c->method, "DELETE") == 0) {
        emu_stats_reset(&c->s->stats);
        stats(c);
    } else if (strcmp(what, "reset") == 0 && post) {
        char err[256] = "";
        if (emu_server_reset(c->s, err, sizeof err))
            emu_reply_json(c, 200, json_pack("{s:s}", "status", "reset"));
        else
            emu_reply_error(c, 500, "INTERNAL_ERROR", err, NULL);
    } else if (strcmp(what, "faults") == 0 && (get || post)) {
        if (post) {
            json_error_t je;
            json_t *j = c->body_len ? json_loadb(c->body, c->body_len, 0, &je) : json_object();
            char err[160] = "";
            if (!json_is_object(j)) {
                json_decref(j);
                admin_error(c, 400, "the body must be a JSON object");
                return;
            }
            bool ok = emu_faults_update(c->s, j, err, sizeof err);
            json_decref(j);
            if (!ok) { admin_error(c, 400, err); return; }
        }
        emu_reply_json(c, 200, emu_faults_json(c->s));
    } else if (strcmp(what, "state") == 0 || strcmp(what, "stats") == 0 || strcmp(what, "reset") == 0
               || strcmp(what, "faults") == 0) {
        emu_reply_error(c, 405, "INVALID_REQUEST_METHOD",
                        "The http request method type is not a valid one", NULL);
    } else {
        emu_reply_error(c, 404, "INVALID_URL_PATTERN",
                        "Please check if the URL trying to access is a correct one", NULL);
    }
}
