/* token_redis.c - the Redis token store (hiredis's RESP codec), for fleets: one access token per key for
 * every host. Keys: "zlock:token:<key>" = "<api_domain>\n<access token>" with a PX expiry set
 * from the token's lifetime, and "zlock:lock:<key>" = the refresh lock (SET NX PX, released by
 * a compare-and-delete script, so a holder whose lock expired never deletes another's). Expiry
 * is Redis's clock: a load reads the entry's PTTL, never compares host clocks. Connects lazily
 * with the client's connect timeout; every command has the client's timeout. The URL's
 * password never appears in a message. rediss:// is TLS with certificate and host name
 * verification (redis_conn.c; the client's ca_file, else the system's CAs). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "redis_link.h"
#include "token_store.h"

typedef struct redis_store {
    zl_token_store base;
    zl_redis_link link;
    char token_key[96], lock_key[96], lock_val[64];
    bool locked;
} redis_store;

static const char UNLOCK[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
static const char LOAD[] = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}";

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One command; NULL and *why on a failure. */
static redisReply *cmd(redis_store *r, char *why, size_t whyn, int argc, const char **argv) {
    return zl_redis_link_cmd(&r->link, argc, argv, why, whyn);
}

static int r_load(zl_token_store *s, zl_stored_token *out, char *why, size_t whyn) {
    redis_store *r = (redis_store *)s;
    const char *av[] = { "EVAL", LOAD, "1", r->token_key };
    redisReply *rep = cmd(r, why, whyn, 4, av);
    if (!rep) return -1;
    int found = 0;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 && rep->element[0]->type == REDIS_REPLY_STRING &&
        rep->element[1]->type == REDIS_REPLY_INTEGER && rep->element[1]->integer > 0) {
        const char *v = rep->element[0]->str, *nl = memchr(v, '\n', rep->element[0]->len);
        size_t dl = nl ? (size_t)(nl - v) : 0, tl = nl ? rep->element[0]->len - dl - 1 : 0;
        if (nl && dl < sizeof out->api_domain && tl > 0 && tl < sizeof out->token) {
            memcpy(out->api_domain, v, dl);
            out->api_domain[dl] = '\0';
            memcpy(out->token, nl + 1, tl);
            out->token[tl] = '\0';
            out->expires_at = wall() + (double)rep->element[1]->integer / 1000.0;   /* Redis's clock */
            found = 1;
        }
    }
    freeReplyObject(rep);
    return found;
}

static int r_save(zl_token_store *s, const zl_stored_token *t, char *why, size_t whyn) {
    redis_store *r = (redis_store *)s;
    long long ms = t->expires_at > 0 ? (long long)((t->expires_at - wall()) * 1000) : 3600000;
    if (ms < 1000) return 0;                    /* expiring anyway: not worth sharing */
    char val[ZL_STORED_TOKEN_MAX + ZL_STORED_DOMAIN_MAX + 2], px[24];
    snprintf(val, sizeof val, "%s\n%s", t->api_domain, t->token);
    snprintf(px, sizeof px, "%lld", ms);
    const char *av[] = { "SET", r->token_key, val, "PX", px };
    redisReply *rep = cmd(r, why, whyn, 5, av);
    if (!rep) return -1;
    freeReplyObject(rep);
    return 0;
}

static int r_lock(zl_token_store *s, long ttl_ms, long wait_ms, char *why, size_t whyn) {
    redis_store *r = (redis_store *)s;
    char px[24];
    snprintf(px, sizeof px, "%ld", ttl_ms > 0 ? ttl_ms : 30000);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        const char *av[] = { "SET", r->lock_key, r->lock_val, "NX", "PX", px };
        redisReply *rep = cmd(r, why, whyn, 6, av);
        if (!rep) return -1;
        bool got = rep->type == REDIS_REPLY_STATUS;   /* OK; nil when held by another */
        freeReplyObject(rep);
        if (got) { r->locked = true; return 1; }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >= wait_ms) return 0;
        nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
    }
}

static void r_unlock(zl_token_store *s) {
    redis_store *r = (redis_store *)s;
    if (!r->locked) return;
    r->locked = false;
    char why[200];
    const char *av[] = { "EVAL", UNLOCK, "1", r->lock_key, r->lock_val };
    redisReply *rep = cmd(r, why, sizeof why, 5, av);
    if (rep) freeReplyObject(rep);               /* a failure: the lock expires by itself */
}

static void r_free(zl_token_store *s) {
    redis_store *r = (redis_store *)s;
    zl_redis_link_free(&r->link);
    free(r);
}

zl_token_store *zl_token_redis_store(const zl_client *c, const char *url, char *why, size_t whyn) {
    redis_store *r = calloc(1, sizeof *r);
    if (!r) { snprintf(why, whyn, "out of memory"); return NULL; }
    const zl_client_net *net = zl_client_net_settings(c);
    if (zl_redis_link_init(&r->link, url, net->ca_file, net->connect_timeout_ms, net->timeout_ms, why, whyn)) {
        free(r);
        return NULL;
    }
    char key[65];
    zl_token_store_key(c, key);
    snprintf(r->token_key, sizeof r->token_key, "zlock:token:%s", key);
    snprintf(r->lock_key, sizeof r->lock_key, "zlock:lock:%s", key);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(r->lock_val, sizeof r->lock_val, "%ld-%lx-%lx", (long)getpid(), (unsigned long)ts.tv_nsec,
             (unsigned long)(uintptr_t)r);
    r->base = (zl_token_store){ "redis", r_load, r_save, r_lock, r_unlock, r_free };
    return &r->base;
}
