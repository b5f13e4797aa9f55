/* redis_conn.h - one connection to Redis for the token store: our own socket (connect
 * timeout, I/O timeout), TLS with certificate and host name verification for rediss://
 * (OpenSSL, loaded at the first TLS connection), and hiredis's pure RESP formatter and reply
 * reader on top (Debian's hiredis 0.14 has no TLS of its own). Blocking. */
#ifndef ZLOCK_REDIS_CONN_H
#define ZLOCK_REDIS_CONN_H
#include <stdbool.h>
#include <stddef.h>
#include <hiredis.h>

typedef struct zl_redis_conn zl_redis_conn;

/* NULL and *why (host and port only) when the connection or the TLS handshake fails. */
zl_redis_conn *zl_redis_connect(const char *host, int port, bool tls, const char *ca_file,
                                long connect_ms, long io_ms, char *why, size_t whyn);
/* One command: its reply (freeReplyObject it; may be an error reply), or NULL and *why when
 * the connection failed (then close it). */
redisReply *zl_redis_command(zl_redis_conn *c, int argc, const char **argv, char *why, size_t whyn);
void zl_redis_close(zl_redis_conn *c);

#endif
