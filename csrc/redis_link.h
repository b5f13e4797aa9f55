/* redis_link.h - a Redis connection made when first needed: URL (redis_url), CA file and
 * timeouts, AUTH and SELECT on each new connection, one command at a time. Shared by the
 * Redis token store and the fleet budget. Messages name host and port, never the password.
 * Blocking, bounded by the timeouts; one link is used from one thread at a time. */
#ifndef ZLOCK_REDIS_LINK_H
#define ZLOCK_REDIS_LINK_H
#include <stdbool.h>
#include <stddef.h>
#include <hiredis.h>
#include "redis_conn.h"

/* A Redis URL: redis[s]://[user:pass@]host[:port][/db] (port 6379, db 0 by default;
 * rediss: TLS). */
typedef struct zl_redis_url { char host[256], user[128], pass[256]; int port, db; bool tls; } zl_redis_url;
/* 0, or -1 and *why (never naming the password). */
int zl_redis_url_parse(const char *url, zl_redis_url *out, char *why, size_t whyn);

typedef struct zl_redis_link {
    zl_redis_url u;
    char *ca_file;              /* NULL: the system's CAs (rediss://) */
    long connect_ms, io_ms;
    zl_redis_conn *rc;          /* NULL until the first command, and after a failure */
} zl_redis_link;

/* Parses url into l. 0, or -1 and *why (never naming the password). */
int zl_redis_link_init(zl_redis_link *l, const char *url, const char *ca_file, long connect_ms, long io_ms,
                       char *why, size_t whyn);
/* One command: its reply (freeReplyObject it; never an error reply), or NULL and *why when
 * the connection failed (it is dropped; the next command connects again) or Redis answered
 * an error (the connection stays). */
redisReply *zl_redis_link_cmd(zl_redis_link *l, int argc, const char **argv, char *why, size_t whyn);
void zl_redis_link_close(zl_redis_link *l);   /* drops the connection, keeps the settings */
void zl_redis_link_free(zl_redis_link *l);    /* and forgets them (zeroes the password) */

#endif
