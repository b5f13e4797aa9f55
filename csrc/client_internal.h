/* client_internal.h - the client's state: read and written only by client.c, token.c (the
 * token single flight), token_share.c (its cross-process extension: token stores) and
 * budget_client.c (the fleet budget). Every other file goes through the accessors in internal.h. */
#ifndef ZLOCK_CLIENT_INTERNAL_H
#define ZLOCK_CLIENT_INTERNAL_H

#include <pthread.h>
#include "internal.h"

struct zl_client {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int refs;
    /* settings (immutable after new, except api_domain when learned) */
    char *api_domain;          /* guarded by mu */
    bool api_domain_fixed;
    char *accounts_domain;
    char *api_version;
    char *client_id, *client_secret, *refresh_token;
    bool can_refresh;
    double refresh_ahead_s;
    zl_client_net net;         /* its strings are owned by the client */
    zl_retry_policy retry;
    uint64_t prng;             /* mu */
    zl_mono_ms_fn mono_ms;
    zl_wall_fn wall;
    void *clock_ud;
    /* token state (mu) */
    char *token;               /* NULL when none */
    double token_expires_at;   /* 0 = unknown */
    double token_refresh_at;   /* 0 = never ahead of time */
    uint64_t token_gen;        /* bumped on every install */
    bool token_invalid;        /* a 401 condemned token_gen */
    bool refreshing;           /* a call owns the refresh */
    uint64_t refresh_seq;      /* bumped when a refresh ends (any way) */
    bool refresh_failed;       /* the last refresh ended in a final error */
    zl_error refresh_err;
    unsigned long refreshes;
    struct zl_token_share *share;   /* cross-process token store (token_share.c); NULL: none */
    /* fleet budget (budget_client.c): settings (NULL: none) and the interactive holder */
    struct zl_budget_conf *budget;
    struct zl_budget *fleet;        /* fleet_mu */
    pthread_mutex_t fleet_mu;
    bool fleet_mu_init;
    unsigned long slot_waits, slot_wait_ms;   /* fleet_mu */
    /* a transport's per-client state (zl_client_transport_state; set once, under mu) */
    void *transport;
    void (*transport_destroy)(void *);
};

/* Installs a token (mu held). */
int zl_client_install_token_locked(zl_client *c, const char *token, double expires_at, double lifetime);

#endif
