/* Fault and limit settings, from the command line and POST /__emu/faults. */
#include "emu.h"

#include <stdio.h>
#include <string.h>

void emu_faults_from_opts(emu_server *s)
{
    const emu_opts *o = &s->opts;
    emu_faults *f = &s->faults;
    f->latency_ms = o->latency_ms;
    f->jitter_ms = o->jitter_ms;
    f->concurrency_limit = o->concurrency_limit;
    f->credits = o->credits;
    f->credits_window = o->credits_window > 0 ? o->credits_window : 86400;
    f->token_ttl = o->token_ttl > 0 ? o->token_ttl : 3600;
    f->mint_limit = 10;
    f->fail_rate = o->fail_rate;
    f->drop_rate = o->drop_rate;
    f->locking_feature = true;
    f->drop_partial = o->drop_partial;
}

json_t *emu_faults_json(emu_server *s)
{
    pthread_mutex_lock(&s->mu);
    emu_faults f = s->faults;
    pthread_mutex_unlock(&s->mu);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:s,s:b}",
        "latency_ms", (json_int_t)f.latency_ms, "jitter_ms", (json_int_t)f.jitter_ms,
        "concurrency_limit", (json_int_t)f.concurrency_limit, "credits", (json_int_t)f.credits,
        "credits_window", (json_int_t)f.credits_window, "token_ttl", (json_int_t)f.token_ttl,
        "mint_limit", (json_int_t)f.mint_limit,
        "fail_rate", f.fail_rate, "drop_rate", f.drop_rate, "drop_mode", f.drop_partial ? "headers" : "close",
        "locking_feature", f.locking_feature);
}

static bool get_long(json_t *j, const char *k, long lo, long hi, long *out, char *err, size_t n)
{
    json_t *v = json_object_get(j, k);
    if (!v) return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(err, n, "%s must be an integer in %ld..%ld", k, lo, hi);
        return false;
    }
    *out = (long)json_integer_value(v);
    return true;
}

static bool get_rate(json_t *j, const char *k, double *out, char *err, size_t n)
{
    json_t *v = json_object_get(j, k);
    if (!v) return true;
    double d = json_number_value(v);
    if (!json_is_number(v) || !(d >= 0 && d <= 1)) {
        snprintf(err, n, "%s must be a number in 0..1", k);
        return false;
    }
    *out = d;
    return true;
}

bool emu_faults_update(emu_server *s, json_t *j, char *err, size_t errlen)
{
    static const char *const known[] = { "latency_ms", "jitter_ms", "concurrency_limit", "credits",
        "credits_window", "token_ttl", "mint_limit", "fail_rate", "drop_rate", "drop_mode", "revoke_tokens",
        "locking_feature", NULL };
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        bool ok = false;
        for (size_t i = 0; known[i]; i++) ok |= strcmp(known[i], k) == 0;
        if (!ok) { snprintf(err, errlen, "unknown setting '%.64s'", k); return false; }
    }
    pthread_mutex_lock(&s->mu);
    emu_faults f = s->faults;
    bool ok = get_long(j, "latency_ms", 0, 600000, &f.latency_ms, err, errlen)
        && get_long(j, "jitter_ms", 0, 600000, &f.jitter_ms, err, errlen)
        && get_long(j, "concurrency_limit", 0, 1000000, &f.concurrency_limit, err, errlen)
        && get_long(j, "credits", 0, 1000000000, &f.credits, err, errlen)
        && get_long(j, "credits_window", 1, 100000000, &f.credits_window, err, errlen)
        && get_long(j, "token_ttl", 1, 100000000, &f.token_ttl, err, errlen)
        && get_long(j, "mint_limit", 1, EMU_MINT_LIMIT_MAX, &f.mint_limit, err, errlen)
        && get_rate(j, "fail_rate", &f.fail_rate, err, errlen)
        && get_rate(j, "drop_rate", &f.drop_rate, err, errlen);
    json_t *rv = json_object_get(j, "revoke_tokens"), *lf = json_object_get(j, "locking_feature");
    if (ok && ((rv && !json_is_boolean(rv)) || (lf && !json_is_boolean(lf)))) {
        snprintf(err, errlen, "revoke_tokens and locking_feature must be booleans");
        ok = false;
    }
    if (ok && lf) f.locking_feature = json_is_true(lf);
    json_t *dm = json_object_get(j, "drop_mode");
    if (ok && dm) {
        const char *m = json_string_value(dm);
        if (m && strcmp(m, "close") == 0) f.drop_partial = false;
        else if (m && strcmp(m, "headers") == 0) f.drop_partial = true;
        else { snprintf(err, errlen, "drop_mode must be \"close\" or \"headers\""); ok = false; }
    }
    if (ok) {
        s->faults = f;
        if (json_is_true(rv)) emu_oauth_revoke_all(s);
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

double emu_rand_unit(emu_server *s)
{
    pthread_mutex_lock(&s->mu);
    double d = emu_rng_unit(&s->rng);
    pthread_mutex_unlock(&s->mu);
    return d;
}
