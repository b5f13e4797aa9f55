/* client.c - a client: settings, domains, the token state (behind a mutex; one refresh
 * in flight), the jitter PRNG, reference counting. No I/O here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "budget_client.h"
#include "client_internal.h"
#include "zlock_bulk.h"

void zl_config_init(zl_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->api_version = "v8";
    cfg->refresh_ahead_s = 60;
    cfg->connect_timeout_ms = 10000;
    cfg->timeout_ms = 30000;
    cfg->max_response_bytes = 16u << 20;
    cfg->max_attempts = 5;
    cfg->max_time_ms = 60000;
    cfg->base_delay_ms = 200;
    cfg->max_delay_ms = 10000;
    cfg->user_agent = ZL_USER_AGENT;
    cfg->org_reserve = 0.2;
}

static const zl_config_limit limits[] = {
    { "connect_timeout_ms", 1, 86400000 },
    { "timeout_ms", 1, 86400000 },
    { "max_response_bytes", 1, 1073741824 },
    { "refresh_ahead_s", 0, 86400 },
    { "max_attempts", 1, 1000 },
    { "max_time_ms", 0, 86400000 },
    { "base_delay_ms", 0, 3600000 },
    { "max_delay_ms", 0, 3600000 },
    { "org_limit", 0, ZL_BULK_MAX_CONCURRENCY },
    { "org_reserve", 0, 0.9 },
};

const zl_config_limit *zl_config_limits(size_t *n) {
    *n = sizeof limits / sizeof *limits;
    return limits;
}

const zl_config_limit *zl_config_limit_of(const char *name) {
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++)
        if (strcmp(limits[i].name, name) == 0) return &limits[i];
    return NULL;
}

/* The value of numeric setting `name` of cfg. */
static double setting_value(const zl_config *cfg, const char *name) {
    if (!strcmp(name, "connect_timeout_ms")) return (double)cfg->connect_timeout_ms;
    if (!strcmp(name, "timeout_ms")) return (double)cfg->timeout_ms;
    if (!strcmp(name, "max_response_bytes")) return (double)cfg->max_response_bytes;
    if (!strcmp(name, "refresh_ahead_s")) return cfg->refresh_ahead_s;
    if (!strcmp(name, "max_attempts")) return cfg->max_attempts;
    if (!strcmp(name, "max_time_ms")) return (double)cfg->max_time_ms;
    if (!strcmp(name, "base_delay_ms")) return (double)cfg->base_delay_ms;
    if (!strcmp(name, "org_limit")) return cfg->org_limit;
    if (!strcmp(name, "org_reserve")) return cfg->org_reserve;
    return (double)cfg->max_delay_ms;
}

/* The first numeric setting of cfg outside its limits, or NULL. */
static const zl_config_limit *out_of_range(const zl_config *cfg) {
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        double v = setting_value(cfg, limits[i].name);
        if (!(v >= limits[i].min && v <= limits[i].max)) return &limits[i];
    }
    return NULL;
}

static int64_t sys_mono(void *ud) {
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double sys_wall(void *ud) {
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int64_t zl_client_mono(zl_client *c) { return c->mono_ms(c->clock_ud); }
double  zl_client_wall(zl_client *c) { return c->wall(c->clock_ud); }

static void destroy(zl_client *c) {
    if (c->transport_destroy) c->transport_destroy(c->transport);
    zl_token_share_close(c);
    zl_client_budget_close(c);
    free(c->api_domain); free(c->accounts_domain); free(c->api_version);
    free(c->client_id); free(c->client_secret); free(c->refresh_token);
    free((char *)c->net.ca_file); free((char *)c->net.user_agent); free((char *)c->net.proxy);
    free(c->token);
    zl_error_clear(&c->refresh_err);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void zl_client_ref(zl_client *c) {
    pthread_mutex_lock(&c->mu);
    c->refs++;
    pthread_mutex_unlock(&c->mu);
}

void zl_client_free(zl_client *c) {
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    int left = --c->refs;
    pthread_mutex_unlock(&c->mu);
    if (left == 0) destroy(c);
}

static bool nonempty(const char *s) { return s && *s; }

static zl_client *fail(zl_client *c, zl_error *err, const char *what, const char *why) {
    zl_err_set(err, "INVALID_ARGUMENT", 0, false, "%s %s", what, why);
    destroy(c);
    return NULL;
}

int zl_client_install_token_locked(zl_client *c, const char *token, double expires_at, double lifetime) {
    char *t = zl_strdup0(token);
    if (!t) return -1;
    free(c->token);
    c->token = t;
    c->token_expires_at = expires_at;
    if (expires_at > 0) {
        if (lifetime <= 0) lifetime = expires_at - zl_client_wall(c);
        double ahead = c->refresh_ahead_s;
        if (lifetime > 0 && ahead > lifetime / 10) ahead = lifetime / 10;
        c->token_refresh_at = expires_at - ahead;
    } else {
        c->token_refresh_at = 0;
    }
    c->token_gen++;
    c->token_invalid = false;
    return 0;
}

zl_client *zl_client_new(const zl_config *cfg, zl_error *err) {
    zl_config defaults;
    if (!cfg) { zl_config_init(&defaults); cfg = &defaults; }
    zl_client *c = calloc(1, sizeof *c);
    if (!c) { zl_err_set(err, "INTERNAL", 0, false, "out of memory"); return NULL; }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->refs = 1;
    c->mono_ms = cfg->mono_ms ? cfg->mono_ms : sys_mono;
    c->wall = cfg->wall ? cfg->wall : sys_wall;
    c->clock_ud = cfg->clock_ud;

    const char *v = cfg->api_version ? cfg->api_version : "";
    if (!(v[0] == 'v' && v[1] >= '0' + ZL_API_VERSION_MIN && v[1] <= '0' + ZL_API_VERSION_MAX && !v[2])) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "api_version must be v%d to v%d (the versions with the "
                   "locking API), got \"%.8s\"", ZL_API_VERSION_MIN, ZL_API_VERSION_MAX, v);
        destroy(c);
        return NULL;
    }
    c->api_version = zl_strdup0(v);

    char acc[128], api[128];
    if (zl_dc_domains(cfg->dc, cfg->env, acc, sizeof acc, api, sizeof api))
        return fail(c, err, nonempty(cfg->env) && zl_dc_domains(cfg->dc, NULL, acc, sizeof acc, api, sizeof api) == 0
                    ? "env" : "dc",
                    nonempty(cfg->env) && zl_dc_domains(cfg->dc, NULL, acc, sizeof acc, api, sizeof api) == 0
                    ? "must be production, sandbox or developer"
                    : "must be one of us, eu, in, au, jp, cn, ca, sa");
    const char *why = NULL;
    /* an explicit api_domain, or an env other than production, wins over a token reply's domain */
    c->api_domain_fixed = nonempty(cfg->api_domain) || (nonempty(cfg->env) && strcmp(cfg->env, "production") != 0);
    c->api_domain = zl_url_normalize(nonempty(cfg->api_domain) ? cfg->api_domain : api, &why);
    if (!c->api_domain) return fail(c, err, "api_domain", why);
    c->accounts_domain = zl_url_normalize(nonempty(cfg->accounts_domain) ? cfg->accounts_domain : acc, &why);
    if (!c->accounts_domain) return fail(c, err, "accounts_domain", why);

    int parts = nonempty(cfg->client_id) + nonempty(cfg->client_secret) + nonempty(cfg->refresh_token);
    if (parts != 0 && parts != 3)
        return fail(c, err, "refresh flow", "needs client_id, client_secret and refresh_token together");
    c->can_refresh = parts == 3;
    if (!c->can_refresh && !nonempty(cfg->access_token))
        return fail(c, err, "credentials", "missing: give access_token, or client_id + client_secret + refresh_token");
    if (c->can_refresh) {
        c->client_id = zl_strdup0(cfg->client_id);
        c->client_secret = zl_strdup0(cfg->client_secret);
        c->refresh_token = zl_strdup0(cfg->refresh_token);
    }
    const zl_config_limit *bad = out_of_range(cfg);
    if (bad) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "%s must be from %.0f to %.0f", bad->name, bad->min, bad->max);
        destroy(c);
        return NULL;
    }
    c->refresh_ahead_s = cfg->refresh_ahead_s;
    c->net.connect_timeout_ms = cfg->connect_timeout_ms;
    c->net.timeout_ms = cfg->timeout_ms;
    c->net.max_response_bytes = cfg->max_response_bytes;
    c->net.ca_file = zl_strdup0(cfg->ca_file);
    c->net.proxy = zl_strdup0(cfg->proxy);
    c->net.user_agent = zl_strdup0(nonempty(cfg->user_agent) ? cfg->user_agent : ZL_USER_AGENT);
    c->retry.max_attempts = cfg->max_attempts;
    c->retry.max_time_ms = cfg->max_time_ms;
    c->retry.base_delay_ms = cfg->base_delay_ms;
    c->retry.max_delay_ms = cfg->max_delay_ms;
    c->prng = cfg->seed ? cfg->seed
                        : (uint64_t)sys_mono(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)c;
    if (nonempty(cfg->access_token) && !zl_token_ok(cfg->access_token))
        return fail(c, err, "access_token", "holds control characters");
    if (nonempty(cfg->access_token) &&
        zl_client_install_token_locked(c, cfg->access_token, cfg->token_expires_at, 0))
        return fail(c, err, "access_token", "could not be stored (out of memory)");
    if (zl_token_share_open(c, cfg->token_store, cfg->redis_url, cfg->token_cache_dir, err)) { destroy(c); return NULL; }
    if (zl_client_budget_open(c, cfg, err)) { destroy(c); return NULL; }
    if (!c->api_version || !c->net.user_agent || (cfg->proxy && !c->net.proxy) || (c->can_refresh && (!c->client_id || !c->client_secret || !c->refresh_token)))
        return fail(c, err, "client", "could not be allocated (out of memory)");
    return c;
}

int zl_client_set_token(zl_client *c, const char *token, double expires_at) {
    if (!c || !zl_token_ok(token)) return -1;
    pthread_mutex_lock(&c->mu);
    int rc = zl_client_install_token_locked(c, token, expires_at, 0);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

size_t zl_client_get_token(zl_client *c, char *buf, size_t n, double *expires_at) {
    pthread_mutex_lock(&c->mu);
    const char *t = c->token && !c->token_invalid ? c->token : "";
    size_t len = strlen(t);
    if (n) snprintf(buf, n, "%s", t);
    if (expires_at) *expires_at = c->token_expires_at;
    pthread_mutex_unlock(&c->mu);
    return len;
}

bool zl_client_await_token(zl_client *c, uint64_t seq, long timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    while (c->refreshing && c->refresh_seq == seq && rc == 0)
        rc = pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    bool done = !(c->refreshing && c->refresh_seq == seq);
    pthread_mutex_unlock(&c->mu);
    return done;
}

const char *zl_client_api_domain(zl_client *c, char *buf, size_t n) {
    pthread_mutex_lock(&c->mu);
    snprintf(buf, n, "%s", c->api_domain);
    pthread_mutex_unlock(&c->mu);
    return buf;
}

const char *zl_client_accounts_domain(const zl_client *c) { return c->accounts_domain; }
const char *zl_client_api_version(const zl_client *c) { return c->api_version; }

unsigned long zl_client_refresh_count(zl_client *c) {
    pthread_mutex_lock(&c->mu);
    unsigned long n = c->refreshes;
    pthread_mutex_unlock(&c->mu);
    return n;
}

const zl_client_net *zl_client_net_settings(const zl_client *c) { return &c->net; }
bool zl_client_can_refresh(const zl_client *c) { return c->can_refresh; }

void zl_client_add_api_domain(zl_client *c, zl_buf *b) {
    pthread_mutex_lock(&c->mu);
    zl_buf_adds(b, c->api_domain);
    pthread_mutex_unlock(&c->mu);
}

long zl_client_backoff(zl_client *c, int failed, long elapsed_ms, bool *allowed) {
    pthread_mutex_lock(&c->mu);
    long delay = zl_retry_delay(&c->retry, failed, &c->prng);
    pthread_mutex_unlock(&c->mu);
    *allowed = zl_retry_allowed(&c->retry, failed, elapsed_ms, delay);
    return delay;
}

void zl_client_condemn_token(zl_client *c, uint64_t gen) {
    pthread_mutex_lock(&c->mu);
    if (c->token_gen == gen) c->token_invalid = true;
    pthread_mutex_unlock(&c->mu);
}

void zl_client_refresh_state(zl_client *c, uint64_t *seq, bool *refreshing) {
    pthread_mutex_lock(&c->mu);
    *seq = c->refresh_seq;
    *refreshing = c->refreshing;
    pthread_mutex_unlock(&c->mu);
}

void zl_client_scrub(zl_client *c, zl_error *e) {
    pthread_mutex_lock(&c->mu);
    char *tok = zl_strdup0(c->token);
    pthread_mutex_unlock(&c->mu);
    const char *secrets[] = { c->client_secret, c->refresh_token, tok };
    zl_err_scrub(e, secrets, sizeof secrets / sizeof *secrets);
    free(tok);
}

void *zl_client_transport_state(zl_client *c, void *(*make)(void), void (*destroy_fn)(void *)) {
    pthread_mutex_lock(&c->mu);
    if (!c->transport && (c->transport = make())) c->transport_destroy = destroy_fn;
    void *t = c->transport;
    pthread_mutex_unlock(&c->mu);
    return t;
}
