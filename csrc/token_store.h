/* token_store.h - token stores: one access token per (accounts domain, client id, refresh
 * token) shared by every process (file store) or every host (Redis store) that uses it.
 *
 * Two levels of "one refresh at a time":
 *   - in-process single flight (token.c): one call of a client owns the refresh, the client's
 *     other calls get WAIT_TOKEN. No I/O.
 *   - cross-process refresh lock (this interface): the owning call's driver asks the store
 *     before performing the refresh (zl_call_token_share_before/after in zlock.h): a token
 *     another process stored is used instead; otherwise the store's refresh lock is taken, the
 *     store looked at once more, and only then is the token minted and saved for all.
 *
 * A store holds the access token, its expiry and the API domain: never the refresh token or
 * the client secret. Store I/O may block (file lock, Redis round trip), bounded by the
 * client's timeouts. */
#ifndef ZLOCK_TOKEN_STORE_H
#define ZLOCK_TOKEN_STORE_H

#include "internal.h"
#include "redis_link.h"

#define ZL_STORED_TOKEN_MAX 1024
#define ZL_STORED_DOMAIN_MAX 256

typedef struct zl_stored_token {
    char token[ZL_STORED_TOKEN_MAX];
    double expires_at;                  /* Unix seconds on this host's clock (0: unknown) */
    char api_domain[ZL_STORED_DOMAIN_MAX];   /* "" when the reply named none */
} zl_stored_token;

typedef struct zl_token_store zl_token_store;
struct zl_token_store {
    const char *name;                   /* "file", "redis" */
    /* 1 and *out when an entry is stored, 0 when none, -1 when the store failed (*why). */
    int  (*load)(zl_token_store *s, zl_stored_token *out, char *why, size_t whyn);
    /* 0, or -1 when the store failed (*why). */
    int  (*save)(zl_token_store *s, const zl_stored_token *t, char *why, size_t whyn);
    /* Takes the refresh lock, waiting at most wait_ms; the lock frees itself after ttl_ms (or
     * when its holder dies). 1 taken, 0 still held by another after wait_ms, -1 failed (*why). */
    int  (*lock)(zl_token_store *s, long ttl_ms, long wait_ms, char *why, size_t whyn);
    void (*unlock)(zl_token_store *s);
    void (*free)(zl_token_store *s);
};

/* The entry's key: hex SHA-256 of accounts domain, client id and refresh token. */
void zl_token_store_key(const zl_client *c, char out[65]);

/* File store under dir (NULL: $XDG_CACHE_HOME/zlock, else $HOME/.cache/zlock). NULL and *why
 * when no directory can be named. The directory is created (0700) at the first save. */
zl_token_store *zl_token_file_store(const zl_client *c, const char *dir, char *why, size_t whyn);

/* Redis store at url (see zl_redis_url). NULL and *why on a bad URL (the password never
 * appears in *why). Connects lazily; TLS verifies against the client's ca_file or the
 * system's CAs. */
zl_token_store *zl_token_redis_store(const zl_client *c, const char *url, char *why, size_t whyn);


#endif
