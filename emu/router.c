/* Routing of one request, with the hooks every Zoho call goes through:
 * concurrency limit -> latency -> token -> credits -> injected 500 -> drop -> handler. */
#include "emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const emu_route_names[EMU_R_COUNT] = {
    "locks.list", "locks.get", "locks.lock", "locks.update", "locks.unlock",
    "records.list", "records.get", "records.update", "records.create", "records.delete",
    "records.search", "coql", "settings.record_locking_configurations", "settings.modules",
    "settings.fields", "users", "oauth.token", "admin", "other",
};

void emu_reply_invalid_url(emu_ctx *c)
{
    c->route = EMU_R_OTHER;
    emu_reply_error(c, 404, "INVALID_URL_PATTERN",
                    "Please check if the URL trying to access is a correct one", NULL);
}

/* Splits the path after /crm/{v}/ into c->seg; false when the URL is not a CRM API path. */
static bool split_path(emu_ctx *c)
{
    const char *p = c->url + 5;   /* after "/crm/" */
    if (p[0] != 'v' || p[1] < '2' || p[1] > '8' || (p[2] != '/' && p[2] != 0)) return false;
    c->version = p[1] - '0';
    p += 2;
    while (*p == '/') {
        p++;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0) { if (!e) break; continue; }
        if (c->nseg == sizeof c->seg / sizeof *c->seg || n > 512) return false;
        char *s = emu_xmalloc(n + 1);
        memcpy(s, p, n); s[n] = 0;
        c->seg[c->nseg++] = s;
        p += n;
    }
    return c->nseg > 0;
}

static void crm_route(emu_ctx *c)
{
    const char *a = c->seg[0];
    size_t n = c->nseg;
    if (strcmp(a, "settings") == 0) {
        if (n >= 2 && n <= 3 && strcmp(c->seg[1], "record_locking_configurations") == 0) emu_config_route(c);
        else if (n == 2 && (strcmp(c->seg[1], "modules") == 0 || strcmp(c->seg[1], "fields") == 0)) emu_meta_route(c);
        else if (n == 3 && (strcmp(c->seg[1], "modules") == 0 || strcmp(c->seg[1], "fields") == 0)) emu_meta_route(c);
        else emu_reply_invalid_url(c);
    } else if (strcmp(a, "users") == 0 && n <= 2) {
        emu_meta_route(c);
    } else if (strcmp(a, "coql") == 0 && n == 1) {
        emu_coql_route(c);
    } else if (n == 1 || (n == 2 && strcmp(c->seg[1], "search") != 0)) {
        emu_records_route(c);
    } else if (n == 2) {
        emu_search_route(c);
    } else if ((n == 3 || n == 4) && strcmp(c->seg[2], "Locking_Information__s") == 0) {
        emu_locks_route(c);
    } else {
        emu_reply_invalid_url(c);
    }
}

/* The statistics route of a CRM path, before any handler runs (429s, 401s, 500s count there). */
static int classify(const emu_ctx *c)
{
    const char *me = c->method, *a = c->seg[0];
    size_t n = c->nseg;
    bool get = strcmp(me, "GET") == 0, put = strcmp(me, "PUT") == 0, del = strcmp(me, "DELETE") == 0;
    bool post = strcmp(me, "POST") == 0;
    if (strcmp(a, "settings") == 0 && n >= 2) {
        if (strcmp(c->seg[1], "record_locking_configurations") == 0) return EMU_R_CONFIG;
        if (strcmp(c->seg[1], "modules") == 0) return EMU_R_MODULES;
        if (strcmp(c->seg[1], "fields") == 0) return EMU_R_FIELDS;
        return EMU_R_OTHER;
    }
    if (strcmp(a, "users") == 0) return EMU_R_USERS;
    if (strcmp(a, "coql") == 0 && n == 1) return EMU_R_COQL;
    if (n == 2 && strcmp(c->seg[1], "search") == 0) return EMU_R_SEARCH;
    if (n <= 2) {
        if (get) return n == 1 ? EMU_R_RECORDS_LIST : EMU_R_RECORD_GET;
        if (put) return EMU_R_RECORDS_UPDATE;
        if (del) return EMU_R_RECORDS_DELETE;
        if (post) return EMU_R_RECORDS_CREATE;
        return EMU_R_OTHER;
    }
    if ((n == 3 || n == 4) && strcmp(c->seg[2], "Locking_Information__s") == 0) {
        if (n == 3) return get ? EMU_R_LOCK_LIST : post ? EMU_R_LOCK_CREATE : EMU_R_OTHER;
        return get ? EMU_R_LOCK_GET : put ? EMU_R_LOCK_UPDATE : del ? EMU_R_LOCK_DELETE : EMU_R_OTHER;
    }
    return EMU_R_OTHER;
}

static bool check_token(emu_ctx *c)
{
    const char *h = emu_header(c, "Authorization");
    static const char pfx[] = "Zoho-oauthtoken ";
    bool scope_ok = true;
    int user = h && strncmp(h, pfx, sizeof pfx - 1) == 0 ? emu_token_user(c->s, h + sizeof pfx - 1, &scope_ok) : -1;
    if (user < 0) {
        emu_reply_error(c, 401, "INVALID_TOKEN", "invalid oauth token", NULL);
        return false;
    }
    if (!scope_ok) {
        emu_reply_error(c, 401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", NULL);
        return false;
    }
    pthread_rwlock_rdlock(&c->s->org_lock);
    const emu_org *o = c->s->org;
    c->user = (user == EMU_STANDARD_USER && (size_t)user < o->nusers) ? user : o->current_user;
    emu_set_tz(o->users[c->user].tz_min);
    pthread_rwlock_unlock(&c->s->org_lock);
    return true;
}

static void crm_call(emu_ctx *c)
{
    emu_server *s = c->s;
    emu_stats *st = &s->stats;
    pthread_mutex_lock(&s->mu);
    emu_faults f = s->faults;
    double jitter = f.jitter_ms > 0 ? emu_rng_unit(&s->rng) * (double)f.jitter_ms : 0;
    double roll_fail = emu_rng_unit(&s->rng), roll_drop = emu_rng_unit(&s->rng);
    bool drop_after = emu_rng_unit(&s->rng) < 0.5;
    pthread_mutex_unlock(&s->mu);

    bool path_ok = split_path(c);
    c->route = path_ok ? classify(c) : EMU_R_OTHER;
    long inflight = atomic_fetch_add(&st->in_flight, 1) + 1;
    for (long m = atomic_load(&st->max_offered); inflight > m
         && !atomic_compare_exchange_weak(&st->max_offered, &m, inflight);) {}
    if (f.concurrency_limit > 0 && inflight > f.concurrency_limit) {
        atomic_fetch_sub(&st->in_flight, 1);
        atomic_fetch_add(&st->too_many, 1);
        emu_reply_error(c, 429, "TOO_MANY_REQUESTS",
                        "The number of concurrent requests made exceeded the allowed limit",
                        json_pack("{s:i}", "concurrency_limit", (int)f.concurrency_limit));
        return;
    }
    for (long m = atomic_load(&st->max_in_flight); inflight > m
         && !atomic_compare_exchange_weak(&st->max_in_flight, &m, inflight);) {}
    emu_sleep(s, (double)f.latency_ms + jitter);

    if (!path_ok) { emu_reply_invalid_url(c); goto done; }
    if (!check_token(c)) goto done;
    long remaining = -1;
    if (!emu_credit_take(s, &remaining)) {
        atomic_fetch_add(&st->too_many, 1);
        c->credits_remaining = 0;
        emu_reply_error(c, 429, "TOO_MANY_REQUESTS",
                        "You have exceeded the maximum number of API credits allowed", NULL);
        goto done;
    }
    c->credits_remaining = remaining;
    if (roll_fail < f.fail_rate) {
        atomic_fetch_add(&st->faults_500, 1);
        emu_reply_error(c, 500, "INTERNAL_ERROR", "Internal Server Error", NULL);
        goto done;
    }
    bool drop = roll_drop < f.drop_rate;
    c->drop_partial = f.drop_partial;
    if (drop && !drop_after) { c->drop = true; c->status = 200; goto done; }
    crm_route(c);
    if (drop) { c->drop = true; atomic_fetch_add(&st->drops_after, 1); }
done:
    atomic_fetch_sub(&st->in_flight, 1);
}

void emu_dispatch(emu_ctx *c)
{
    c->credits_remaining = -1;
    c->user = 0;
    emu_set_tz(0);   /* the admin API and OAuth answer in UTC */
    if (strncmp(c->url, "/__emu/", 7) == 0) {
        c->route = EMU_R_ADMIN;
        if (!c->loopback) {
            emu_reply_error(c, 403, "NO_PERMISSION", "the admin API answers loopback clients only", NULL);
            return;
        }
        emu_admin_route(c);
    } else if (strcmp(c->url, "/oauth/v2/token") == 0) {
        c->route = EMU_R_OAUTH;
        pthread_mutex_lock(&c->s->mu);
        double ms = (double)c->s->faults.latency_ms;
        pthread_mutex_unlock(&c->s->mu);
        emu_sleep(c->s, ms);
        emu_oauth_route(c);
    } else if (strncmp(c->url, "/crm/", 5) == 0) {
        c->route = EMU_R_OTHER;
        crm_call(c);
    } else {
        emu_reply_invalid_url(c);
    }
}
