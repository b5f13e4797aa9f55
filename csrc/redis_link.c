/* redis_link.c - see redis_link.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "internal.h"
#include "redis_link.h"

int zl_redis_url_parse(const char *url, zl_redis_url *r, char *why, size_t whyn) {
    memset(r, 0, sizeof *r);
    r->tls = strncasecmp(url, "rediss://", 9) == 0;
    if (!r->tls && strncasecmp(url, "redis://", 8) != 0) { snprintf(why, whyn, "must start with redis:// or rediss://"); return -1; }
    const char *p = url + (r->tls ? 9 : 8), *at = strrchr(p, '@'), *slash;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ul = colon ? (size_t)(colon - p) : 0, pl = colon ? (size_t)(at - colon - 1) : (size_t)(at - p);
        if (ul >= sizeof r->user || pl >= sizeof r->pass) { snprintf(why, whyn, "credentials too long"); return -1; }
        memcpy(r->user, p, ul);
        memcpy(r->pass, colon ? colon + 1 : p, pl);
        p = at + 1;
    }
    slash = strchr(p, '/');
    size_t hl = slash ? (size_t)(slash - p) : strlen(p);
    const char *colon = memchr(p, ':', hl);
    size_t hostl = colon ? (size_t)(colon - p) : hl;
    if (hostl == 0 || hostl >= sizeof r->host) { snprintf(why, whyn, "has no host"); return -1; }
    memcpy(r->host, p, hostl);
    r->port = 6379;
    if (colon) {
        char *end;
        long v = strtol(colon + 1, &end, 10);
        if (end != p + hl || v < 1 || v > 65535) { snprintf(why, whyn, "has a bad port"); return -1; }
        r->port = (int)v;
    }
    if (slash && slash[1]) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (*end || v < 0 || v > 1000000) { snprintf(why, whyn, "has a bad database number"); return -1; }
        r->db = (int)v;
    }
    return 0;
}

int zl_redis_link_init(zl_redis_link *l, const char *url, const char *ca_file, long connect_ms, long io_ms,
                       char *why, size_t whyn) {
    memset(l, 0, sizeof *l);
    if (zl_redis_url_parse(url, &l->u, why, whyn)) return -1;
    if (ca_file && !(l->ca_file = zl_strdup0(ca_file))) {
        snprintf(why, whyn, "out of memory");
        return -1;
    }
    l->connect_ms = connect_ms;
    l->io_ms = io_ms;
    return 0;
}

/* AUTH and SELECT on a fresh connection. 0, or -1 and *why. */
static int setup(zl_redis_link *l, char *why, size_t whyn) {
    char db[16];
    snprintf(db, sizeof db, "%d", l->u.db);
    const char *auth3[] = { "AUTH", l->u.user, l->u.pass }, *auth2[] = { "AUTH", l->u.pass }, *sel[] = { "SELECT", db };
    for (int step = 0; step < 2; step++) {
        if (step == 0 && !l->u.pass[0]) continue;
        if (step == 1 && !l->u.db) continue;
        redisReply *a = step == 0 ? zl_redis_command(l->rc, l->u.user[0] ? 3 : 2, l->u.user[0] ? auth3 : auth2, why, whyn)
                                  : zl_redis_command(l->rc, 2, sel, why, whyn);
        bool ok = a && a->type != REDIS_REPLY_ERROR;
        if (a) freeReplyObject(a);
        if (!ok) {
            if (a) snprintf(why, whyn, "%s:%d refused %s", l->u.host, l->u.port,
                            step == 0 ? "the credentials of the URL" : "the database number");
            return -1;
        }
    }
    return 0;
}

redisReply *zl_redis_link_cmd(zl_redis_link *l, int argc, const char **argv, char *why, size_t whyn) {
    char w[600] = "";
    if (!l->rc) {
        l->rc = zl_redis_connect(l->u.host, l->u.port, l->u.tls, l->ca_file, l->connect_ms, l->io_ms, why, whyn);
        if (!l->rc) return NULL;
        if (setup(l, w, sizeof w)) {
            snprintf(why, whyn, "%s", w);
            zl_redis_link_close(l);
            return NULL;
        }
    }
    redisReply *rep = zl_redis_command(l->rc, argc, argv, w, sizeof w);
    if (!rep) {
        snprintf(why, whyn, "%s:%d: %s", l->u.host, l->u.port, w);
        zl_redis_link_close(l);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(why, whyn, "%s:%d answered %.120s", l->u.host, l->u.port, rep->str ? rep->str : "an error");
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

void zl_redis_link_close(zl_redis_link *l) {
    zl_redis_close(l->rc);
    l->rc = NULL;
}

void zl_redis_link_free(zl_redis_link *l) {
    zl_redis_link_close(l);
    free(l->ca_file);
    memset(l, 0, sizeof *l);
}
