/* budget.c - a fleet budget holder (see budget.h): EVALSHA of budget_script.c over a
 * redis_link, the slots it gives back queued until its next call. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "budget.h"
#include "internal.h"
#include "redis_link.h"
#include "window.h"
#include "zlock_bulk.h"

typedef struct gave { uint64_t seq; int level, status; } gave;

struct zl_budget {
    zl_redis_link link;
    char keys[3][96];
    char holder[96];
    char sha[48];                 /* "" until SCRIPT LOAD */
    bool interactive, broken, joined;
    _Atomic int *warned;          /* the client's: one warning for all its holders */
    int cap, limit_given;
    long lease_ms;
    double reserve;
    gave *q;                      /* slots to give back */
    int nq, qcap;
    zl_budget_info info;
};

int zl_budget_conf_new(const zl_config *cfg, const char *org_key, zl_budget_conf **out, zl_error *err) {
    *out = NULL;
    bool has_url = cfg->redis_url && *cfg->redis_url;
    if (cfg->org_budget > 0 && !has_url) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "org_budget needs redis_url");
        return -1;
    }
    /* org_limit and org_reserve: checked with the other numbers (zl_config_limits) */
    const char *prio = cfg->org_priority && *cfg->org_priority ? cfg->org_priority : "interactive";
    if (strcmp(prio, "interactive") != 0 && strcmp(prio, "bulk") != 0) {
        zl_err_set(err, "INVALID_ARGUMENT", 0, false, "org_priority must be interactive or bulk");
        return -1;
    }
    if (cfg->org_budget < 0 || !has_url) return 0;
    zl_budget_conf *bc = calloc(1, sizeof *bc);
    if (!bc || !(bc->url = zl_strdup0(cfg->redis_url)) || (cfg->ca_file && !(bc->ca_file = zl_strdup0(cfg->ca_file))) ||
        !(bc->warned = calloc(1, sizeof *bc->warned))) {
        zl_budget_conf_free(bc);
        zl_err_set(err, "INTERNAL", 0, false, "out of memory");
        return -1;
    }
    snprintf(bc->key, sizeof bc->key, "zlock:budget:{%.64s}", org_key);
    bc->limit = cfg->org_limit;
    bc->reserve = cfg->org_reserve;
    bc->connect_ms = cfg->connect_timeout_ms < ZL_BUDGET_REDIS_MS ? cfg->connect_timeout_ms : ZL_BUDGET_REDIS_MS;
    bc->io_ms = cfg->timeout_ms < ZL_BUDGET_REDIS_MS ? cfg->timeout_ms : ZL_BUDGET_REDIS_MS;
    bc->call_ms = cfg->timeout_ms;
    bc->calls_bulk = strcmp(prio, "bulk") == 0;
    *out = bc;
    return 0;
}

void zl_budget_conf_free(zl_budget_conf *bc) {
    if (!bc) return;
    free(bc->url);
    free(bc->ca_file);
    free((void *)bc->warned);
    free(bc);
}

zl_budget *zl_budget_new(const zl_budget_conf *bc, bool interactive, bool blocking, int cap) {
    zl_budget *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    char why[200];
    if (zl_redis_link_init(&b->link, bc->url, bc->ca_file, bc->connect_ms, bc->io_ms, why, sizeof why)) {
        free(b);   /* the URL was checked when the client was made: out of memory */
        return NULL;
    }
    static const char *suffix[3] = { "s", "h", "l" };
    for (int i = 0; i < 3; i++) snprintf(b->keys[i], sizeof b->keys[i], "%s:%s", bc->key, suffix[i]);
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(b->holder, sizeof b->holder, "%.63s:%ld:%lx", host, (long)getpid(),
             (unsigned long)((uintptr_t)b ^ (unsigned long)ts.tv_nsec));
    b->interactive = interactive;
    /* a bulk engine renews its lease while it works; a call made one at a time holds its slot
       through one blocking request, which may last the client's whole timeout */
    b->lease_ms = blocking && bc->call_ms > ZL_BUDGET_LEASE_MS ? bc->call_ms : ZL_BUDGET_LEASE_MS;
    b->warned = bc->warned;
    b->cap = cap < 1 ? 1 : cap;
    b->limit_given = bc->limit;
    b->reserve = bc->reserve;
    b->info.usable = true;
    b->info.given = bc->limit > 0;
    b->info.limit = bc->limit;
    return b;
}

static void fail(zl_budget *b, const char *why) {
    if (!b->broken && atomic_exchange(b->warned, 1) == 0)
        fprintf(stderr, "zlock: warning: fleet budget unusable (%s); this process keeps its own concurrency window\n", why);
    b->broken = true;
    b->info.usable = false;
    b->nq = 0;
    zl_redis_link_close(&b->link);
}

/* SCRIPT LOAD once per Redis (again after NOSCRIPT). */
static bool load_script(zl_budget *b, char *why, size_t whyn) {
    const char *av[] = { "SCRIPT", "LOAD", zl_budget_script };
    redisReply *r = zl_redis_link_cmd(&b->link, 3, av, why, whyn);
    if (!r) return false;
    bool ok = r->type == REDIS_REPLY_STRING && r->len < sizeof b->sha;
    if (ok) memcpy(b->sha, r->str, r->len + 1);
    else snprintf(why, whyn, "SCRIPT LOAD gave no digest");
    freeReplyObject(r);
    return ok;
}

/* Runs the script with `more`; the reply, or NULL and *why. */
static redisReply *run(zl_budget *b, int more, char *why, size_t whyn) {
    enum { FIXED = 16 };
    int argc = FIXED + 3 * b->nq;
    const char **av = malloc((size_t)argc * sizeof *av);
    char *num = malloc((size_t)(10 + 3 * b->nq) * 24);
    if (!av || !num) { free(av); free(num); snprintf(why, whyn, "out of memory"); return NULL; }
    char *p = num;
#define NUM(fmt, v) (snprintf(p, 24, fmt, v), p += 24, p - 24)
    av[0] = "EVALSHA"; av[1] = b->sha; av[2] = "3";
    av[3] = b->keys[0]; av[4] = b->keys[1]; av[5] = b->keys[2];
    av[6] = b->holder; av[7] = b->interactive ? "i" : "b";
    av[8] = NUM("%d", more);
    av[9] = NUM("%ld", b->lease_ms);
    av[10] = NUM("%d", b->limit_given);
    av[11] = NUM("%d", b->cap);
    av[12] = NUM("%.3f", b->reserve);
    av[13] = NUM("%d", ZL_WINDOW_INITIAL);     /* the same window as one engine's (window.h) */
    av[14] = NUM("%.3f", ZL_WINDOW_DECREASE);
    av[15] = NUM("%d", ZL_WINDOW_PROBE);
    for (int i = 0; i < b->nq; i++) {
        av[FIXED + 3 * i] = NUM("%llu", (unsigned long long)b->q[i].seq);
        av[FIXED + 3 * i + 1] = NUM("%d", b->q[i].level);
        av[FIXED + 3 * i + 2] = NUM("%d", b->q[i].status);
    }
#undef NUM
    redisReply *r = NULL;
    for (int round = 0; round < 2 && !r; round++) {
        if (!b->sha[0] && !load_script(b, why, whyn)) break;
        r = zl_redis_link_cmd(&b->link, argc, av, why, whyn);
        if (!r && strstr(why, "NOSCRIPT")) b->sha[0] = '\0';   /* Redis restarted or flushed */
        else break;
    }
    free(av);
    free(num);
    return r;
}

int zl_budget_take(zl_budget *b, int more, zl_budget_ticket *out) {
    if (!b || b->broken) return -1;
    char why[300] = "";
    redisReply *r = run(b, more, why, sizeof why);
    if (!r) { fail(b, why); return -1; }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 9) {
        freeReplyObject(r);
        fail(b, "the budget script gave an unexpected reply");
        return -1;
    }
    long long v[9];
    for (int i = 0; i < 9; i++) v[i] = r->element[i]->type == REDIS_REPLY_INTEGER ? r->element[i]->integer : 0;
    freeReplyObject(r);
    b->nq = 0;
    b->joined = more >= 0;
    int granted = more <= 0 || v[0] < 0 ? 0 : (int)(v[0] > more ? more : v[0]);
    for (int k = 0; k < granted; k++) out[k] = (zl_budget_ticket){ (uint64_t)v[1] + (uint64_t)k, (int)v[2] + k + 1 };
    b->info.limit = (int)v[3];
    b->info.estimate = (int)v[4];
    b->info.given = v[5] != 0;
    b->info.holders = (int)v[6];
    b->info.throttled = (unsigned long)v[8];
    return granted;
}

void zl_budget_give(zl_budget *b, zl_budget_ticket t, int status) {
    if (!b || b->broken || t.seq == 0) return;
    if (b->nq == b->qcap) {
        int cap = b->qcap ? b->qcap * 2 : 16;
        gave *q = realloc(b->q, (size_t)cap * sizeof *q);
        if (!q) return;                 /* out of memory: the lease frees it */
        b->q = q;
        b->qcap = cap;
    }
    b->q[b->nq++] = (gave){ t.seq, t.level, status };
}

int zl_budget_queued(const zl_budget *b) { return b ? b->nq : 0; }

bool zl_budget_usable(const zl_budget *b) { return b && !b->broken; }

void zl_budget_info_get(const zl_budget *b, zl_budget_info *out) { *out = b->info; }

void zl_budget_free(zl_budget *b) {
    if (!b) return;
    if (!b->broken && (b->joined || b->nq)) zl_budget_take(b, -1, NULL);   /* leave: slots freed now */
    zl_redis_link_free(&b->link);
    free(b->q);
    free(b);
}
