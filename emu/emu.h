/* zlock-emu: shared types of the emulator (one emu_server per instance; no globals). */
#ifndef ZLOCK_EMU_H
#define ZLOCK_EMU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define EMU_MAX_BODY (1024 * 1024)      /* request bodies above this get 413 LIMIT_EXCEEDED */
#define EMU_REASON_MAX 3000             /* Locked_Reason__s maximum length (characters) */
#define EMU_DEMO_ACCESS_TOKEN "1000.zlockemu.demo-access-token"
#define EMU_DEMO_CLIENT_ID "1000.ZLOCKEMUDEMOCLIENT"
#define EMU_DEMO_CLIENT_SECRET "zlock-emu-demo-client-secret"
#define EMU_DEMO_REFRESH_TOKEN "1000.zlockemu.demo-refresh-token"
/* a self-client grant code: exchanged once per reset for the demo refresh token */
#define EMU_DEMO_GRANT_CODE "1000.zlockemu.demo-grant-code"
/* A second static token, for a user with the Standard profile (NO_PERMISSION on others' locks). */
#define EMU_STANDARD_ACCESS_TOKEN "1000.zlockemu.standard-user-token"
#define EMU_STANDARD_USER 2

/* ---- deterministic random (splitmix64) ---- */
typedef struct { uint64_t s; } emu_rng;
uint64_t emu_rng_next(emu_rng *r);
double emu_rng_unit(emu_rng *r);                 /* [0, 1) */
uint64_t emu_rng_below(emu_rng *r, uint64_t n);  /* [0, n) */

/* ---- small utilities (util.c) ---- */
double emu_now(void);                            /* wall clock, seconds */
double emu_mono(void);                           /* monotonic clock, seconds */
void emu_fmt_time(int64_t t, char out[32]);      /* 2026-11-27T06:00:00-04:00: the request's user's offset */
void emu_set_tz(int minutes);                    /* that offset, for this thread's request */
void emu_fmt_date(int64_t t, char out[16]);      /* 2026-11-27 */
bool emu_parse_id(const char *s, uint64_t *out); /* 1..19 digits */
void emu_fmt_id(uint64_t id, char out[24]);
json_t *emu_jstr(const char *s);                 /* json_string, never NULL (bad UTF-8 -> "") */
json_t *emu_jid(uint64_t id);                    /* id as a JSON string */
size_t emu_utf8_len(const char *s);              /* characters in a valid UTF-8 string */
bool emu_valid_api_name(const char *s);          /* [A-Za-z][A-Za-z0-9_]*, <= 100 chars */
char *emu_strdup(const char *s);                 /* NULL-safe, aborts on OOM */
void *emu_xmalloc(size_t n);
void *emu_xcalloc(size_t n, size_t m);
void *emu_xrealloc(void *p, size_t n);

/* ---- the org: modules, records, locks, configurations, users (org.c) ---- */
typedef enum {
    EMU_F_TEXT, EMU_F_TEXTAREA, EMU_F_PICKLIST, EMU_F_CURRENCY, EMU_F_DOUBLE, EMU_F_INTEGER,
    EMU_F_DATE, EMU_F_DATETIME, EMU_F_EMAIL, EMU_F_PHONE, EMU_F_WEBSITE, EMU_F_BOOLEAN,
    EMU_F_LOOKUP
} emu_ftype;

typedef struct {
    char *api_name;
    char *label;
    emu_ftype type;
    char *lookup;                 /* module api name for EMU_F_LOOKUP (value = record id) */
    char **picklist; size_t npick;
    uint64_t id;
} emu_field;

typedef struct {
    char id[24], name[64], email[96], role[32], profile[32];
    int tz_min;                   /* the user's time zone offset: times in replies carry it */
} emu_user;

typedef struct emu_lock {
    uint64_t id;
    bool automatic;
    char *reason;                 /* NULL for automatic locks */
    int64_t time, modified;
    int locked_by;                /* user index, -1 for automatic */
    uint64_t rule_id;             /* 0 for manual locks */
    uint64_t config_id;
} emu_lock;

typedef struct emu_record {
    uint64_t id;
    emu_lock *lock;
    int64_t created, modified;
    uint16_t module;              /* index into org->modules */
    uint16_t owner;               /* user index */
    char *v[];                    /* one value per schema field (NULL = null) */
} emu_record;

typedef struct emu_rule {
    uint64_t id;
    char *name;
    json_t *criteria;             /* Zoho criteria object, or a string in search syntax */
    bool lock_existing;
} emu_rule;

typedef struct emu_config {
    uint64_t id;
    json_t *obj;                  /* the configuration as given/returned (without ids of rules) */
    int lock_type;                /* 0 manual, 1 automatic, 2 both */
    bool restrict_update, restrict_delete;
    emu_rule *rules; size_t nrules;
    int64_t created, modified;
} emu_config;

typedef struct emu_module {
    char *api_name, *singular, *plural;
    uint64_t id;
    emu_field *fields; size_t nfields;
    int name_field;               /* index of the field holding the record's name */
    int name_field2;              /* second part of the name (First_Name), -1 if none */
    emu_record **recs; size_t nrecs, cap;
    emu_config *config;           /* NULL: no record locking configuration */
    bool custom;
} emu_module;

typedef struct emu_org {
    emu_module *modules; size_t nmodules;
    emu_user users[8]; size_t nusers;
    int current_user;
    uint64_t next_id;
    /* id -> record index (open addressing, shared by all modules) */
    emu_record **idx; size_t idx_cap, idx_used;
} emu_org;

emu_org *emu_org_new(void);
void emu_org_free(emu_org *o);
uint64_t emu_org_new_id(emu_org *o);
emu_module *emu_org_module(emu_org *o, const char *api_name);      /* case-sensitive */
emu_module *emu_org_module_ci(emu_org *o, const char *api_name);   /* case-insensitive */
emu_module *emu_org_add_module(emu_org *o, const char *api_name, bool custom);
int emu_module_field(const emu_module *m, const char *api_name);   /* index or -1 */
emu_field *emu_module_add_field(emu_module *m, const char *api_name, emu_ftype t, const char *lookup);
emu_record *emu_org_add_record(emu_org *o, emu_module *m, uint64_t id);
emu_record *emu_org_record(emu_org *o, const emu_module *m, uint64_t id);
void emu_org_delete_record(emu_org *o, emu_module *m, emu_record *r);   /* frees r and its lock */
void emu_record_set(emu_record *r, size_t field, const char *val);
void emu_record_name(emu_org *o, const emu_record *r, char *out, size_t n);
emu_lock *emu_lock_new(emu_org *o, emu_record *r, bool automatic, const char *reason, int user,
                       uint64_t rule_id, uint64_t config_id, int64_t when);
void emu_lock_free(emu_lock *l);
void emu_config_free(emu_config *c);
const char *emu_ftype_name(emu_ftype t);
bool emu_ftype_parse(const char *s, emu_ftype *t);

/* ---- schemas of the standard modules (schema.c) ---- */
void emu_schema_standard(emu_org *o);

/* ---- seeding (seed.c) ---- */
typedef struct { char module[64]; long count; } emu_count;
typedef struct {
    const char *seed;             /* "demo", "empty" or a file */
    emu_count counts[32]; size_t ncounts;
} emu_seed_opts;
void emu_seed_users(emu_org *o);   /* the demo users */
/* Builds a new org, or NULL with a message in err. */
emu_org *emu_seed_build(const emu_seed_opts *so, char *err, size_t errlen);

/* ---- persistence (persist.c): the state file and seed files share one format ---- */
json_t *emu_persist_dump(emu_org *o);
emu_org *emu_persist_load(json_t *j, char *err, size_t errlen);
bool emu_persist_save_file(emu_org *o, const char *path, char *err, size_t errlen);
emu_org *emu_persist_load_file(const char *path, char *err, size_t errlen);
/* fixture.c: refuses a document with an unknown key or a value of the wrong JSON type. */
bool emu_fixture_check(json_t *j, char *err, size_t errlen);

/* ---- configuration rules (config.c) ---- */
bool emu_rule_match(emu_org *o, const emu_record *r, const emu_rule *rule);
/* Applies automatic rules to a record after create/update. */
void emu_config_apply(emu_org *o, emu_record *r, int64_t now);
/* Locks existing records that match rules with lock_existing_records. */
void emu_config_apply_existing(emu_org *o, emu_module *m, int64_t now);
/* Parses a configuration object (POST/PUT body item); NULL with a Zoho error json on failure. */
emu_config *emu_config_from_json(emu_org *o, emu_module *m, json_t *item, const emu_config *old,
                                 json_t **err);
json_t *emu_config_to_json(emu_org *o, const emu_module *m, const emu_config *c);
/* Zoho's validation of a parsed configuration (config_check.c): NULL, or the error item. */
json_t *emu_config_check(const emu_module *m, emu_config *c);

/* ---- options ---- */
typedef struct {
    char listen_host[64];
    int port;
    emu_seed_opts seed;
    const char *state_file;
    long latency_ms, jitter_ms;
    long concurrency_limit;       /* 0 = unlimited */
    long credits;                 /* 0 = unlimited */
    long credits_window;          /* seconds, default 86400 */
    long token_ttl;               /* seconds for minted tokens */
    double fail_rate, drop_rate;
    bool drop_partial;            /* --drop-mode headers */
    const char *access_token, *client_id, *client_secret, *refresh_token;
    uint64_t random_seed; bool random_seed_given;
    bool verbose;
    bool allow_remote;
    long threads;
    long auto_lock_delay_ms;      /* 0: automatic rules run inside the request */
} emu_opts;

/* ---- run-time settings changed through POST /__emu/faults ---- */
typedef struct {
    long latency_ms, jitter_ms, concurrency_limit, credits, credits_window, token_ttl;
    long mint_limit;              /* tokens per refresh token per 10 minutes (Zoho: 10) */
    double fail_rate, drop_rate;
    bool locking_feature;         /* false: locking endpoints answer FEATURE_NOT_SUPPORTED */
    bool drop_partial;            /* drops send the status line and headers, then close */
} emu_faults;

/* ---- statistics ---- */
enum {
    EMU_R_LOCK_LIST, EMU_R_LOCK_GET, EMU_R_LOCK_CREATE, EMU_R_LOCK_UPDATE, EMU_R_LOCK_DELETE,
    EMU_R_RECORDS_LIST, EMU_R_RECORD_GET, EMU_R_RECORDS_UPDATE, EMU_R_RECORDS_CREATE, EMU_R_RECORDS_DELETE,
    EMU_R_SEARCH, EMU_R_COQL, EMU_R_CONFIG, EMU_R_MODULES, EMU_R_FIELDS, EMU_R_USERS,
    EMU_R_OAUTH, EMU_R_ADMIN, EMU_R_OTHER, EMU_R_COUNT
};
extern const char *const emu_route_names[EMU_R_COUNT];

typedef struct {
    atomic_long by_route[EMU_R_COUNT][600]; /* [route][HTTP status] */
    atomic_long in_flight, max_in_flight;
    atomic_long max_offered;                /* peak in flight counting calls refused with 429 */
    atomic_long too_many, tokens_minted, drops, drops_after, faults_500, total;
} emu_stats;

/* ---- tokens (oauth.c) ---- */
/* key: the refresh token (or "cc:<client id>") that minted it; minted: when (emu_mono) */
typedef struct emu_token { char tok[80]; char key[128]; double expires, minted; bool crm_scope; struct emu_token *next; } emu_token;
#define EMU_MINT_LIMIT_MAX 1000
typedef struct { char key[128]; double t[EMU_MINT_LIMIT_MAX]; int n; long total; } emu_mint_hist;

typedef struct emu_server {
    emu_opts opts;
    emu_org *org;
    pthread_rwlock_t org_lock;

    pthread_mutex_t mu;           /* guards faults, rng, credits, tokens */
    emu_faults faults;
    emu_rng rng;
    double *credit_ts; size_t credit_cap, credit_head, credit_n;
    emu_token *tokens;
    emu_mint_hist *mints; size_t nmints;
    double started;
    bool static_revoked;
    bool grant_used;              /* EMU_DEMO_GRANT_CODE was exchanged since the last reset */

    emu_stats stats;
    void *daemon;                 /* struct MHD_Daemon */
    int port;

    /* requests that sleep in --latency, run by worker threads (server.c); wmu guards these */
    pthread_mutex_t wmu;
    pthread_cond_t sleep_cv;      /* broadcast when stopping: sleeps end early */
    pthread_cond_t job_cv;        /* a job was queued (or stopping) */
    pthread_cond_t done_cv;       /* a job or a worker thread ended */
    void *jobs, *jobs_tail;       /* queued requests (server.c's emu_req), FIFO */
    int queued, pending;          /* queued; queued or running */
    int threads, idle;            /* worker threads; those waiting for a job */
    bool stopping;
    struct emu_autolock *autolock; /* --auto-lock-delay (autolock.c); NULL: none */
} emu_server;

/* Sleeps `ms` milliseconds, or less when the server stops (server.c). */
void emu_sleep(emu_server *s, double ms);

/* ---- asynchronous automatic locking (autolock.c) ---- */
int emu_autolock_start(emu_server *s, long delay_ms);   /* no-op for delay_ms <= 0 */
void emu_autolock_stop(emu_server *s);
/* Runs the module's automatic rules on r now, or delay_ms later (caller holds the org write lock). */
void emu_autolock_record(emu_server *s, emu_record *r, int64_t now);

/* ---- a request being answered ---- */
typedef struct emu_ctx {
    emu_server *s;
    void *conn;                   /* struct MHD_Connection */
    const char *method, *url;
    const char *body; size_t body_len;
    bool body_too_big;
    char *seg[8]; size_t nseg;    /* path segments after /crm/{v}/ */
    int version;
    int route;
    /* the answer */
    int status;
    char *out; size_t out_len;    /* malloc'd body (may be NULL for empty) */
    long credits_remaining;       /* >= 0: add X-API-CREDITS-REMAINING */
    bool drop;                    /* close without reply */
    bool drop_partial;            /* ... after sending the status line and headers */
    bool loopback;                /* the client is on 127.0.0.0/8 or ::1 */
    int user;                     /* current user index */
    /* Set by a caller without a connection (the dispatch fuzzer): answers emu_query
       (header false) and emu_header (header true) instead of libmicrohttpd. */
    const char *(*lookup)(const struct emu_ctx *c, bool header, const char *name);
} emu_ctx;

const char *emu_query(emu_ctx *c, const char *name);   /* query (or form) parameter */
const char *emu_header(emu_ctx *c, const char *name);

/* reply.c */
void emu_reply_json(emu_ctx *c, int status, json_t *j);          /* steals j */
void emu_reply_raw(emu_ctx *c, int status, char *body, size_t len); /* steals body */
void emu_reply_empty(emu_ctx *c, int status);
void emu_reply_error(emu_ctx *c, int status, const char *code, const char *msg, json_t *details);
void emu_reply_error_rpi(emu_ctx *c, int status, const char *code, const char *msg, int rpi);
void emu_reply_wrapped(emu_ctx *c, int status, const char *code, const char *msg, json_t *details);
json_t *emu_error_item(const char *code, const char *msg, json_t *details);
json_t *emu_success_item(const char *msg, json_t *details);
json_t *emu_user_json(const emu_org *o, int user, bool with_email);
/* Parses the body as {"data":[...]}: returns the array or replies with an error and NULL. */
json_t *emu_body_data(emu_ctx *c, json_t **root, const char *key);

json_t *emu_lock_json(emu_org *o, const emu_record *r, unsigned mask);   /* locks.c */
#define EMU_LOCK_ALL_FIELDS 1023u

/* route handlers */
void emu_locks_route(emu_ctx *c);       /* locks.c */
void emu_records_route(emu_ctx *c);     /* records.c */
void emu_search_route(emu_ctx *c);      /* search.c */
void emu_coql_route(emu_ctx *c);        /* search.c */
void emu_config_route(emu_ctx *c);      /* config_api.c */
void emu_meta_route(emu_ctx *c);        /* meta.c */
void emu_oauth_route(emu_ctx *c);       /* oauth.c */
void emu_admin_route(emu_ctx *c);       /* admin.c */

/* oauth.c */
/* The user a token belongs to, or -1 when missing, unknown or expired; *scope_ok false when
   the token's scope does not cover CRM (client_credentials with another scope). */
int emu_token_user(emu_server *s, const char *tok, bool *scope_ok);
void emu_oauth_reset(emu_server *s);
void emu_oauth_free(emu_server *s);
void emu_oauth_revoke_all(emu_server *s);
/* Adds "tokens_by_refresh_token" to a stats object: per mint key (a refresh token shown by its
   last 6 characters, or "cc:<client id>"), tokens minted since the reset and live now. */
void emu_oauth_stats(emu_server *s, json_t *j);
/* limits.c: credits; returns false when exhausted; *remaining set when half spent (else -1) */
bool emu_credit_take(emu_server *s, long *remaining);
void emu_credits_reset(emu_server *s);
/* faults.c */
void emu_faults_from_opts(emu_server *s);
json_t *emu_faults_json(emu_server *s);
bool emu_faults_update(emu_server *s, json_t *j, char *err, size_t errlen);
double emu_rand_unit(emu_server *s);

/* router.c */
void emu_dispatch(emu_ctx *c);
/* 404 INVALID_URL_PATTERN: the answer to a URL no route takes (router.c). */
void emu_reply_invalid_url(emu_ctx *c);

/* server.c */
int emu_server_start(emu_server *s, char *err, size_t errlen);
void emu_server_stop(emu_server *s);
int emu_server_init(emu_server *s, const emu_opts *o, char *err, size_t errlen);
void emu_server_destroy(emu_server *s);
/* Replaces the org with a fresh one from the seed (POST /__emu/reset). */
bool emu_server_reset(emu_server *s, char *err, size_t errlen);
/* Counters back to 0, peaks to the calls in flight now (DELETE /__emu/stats; the org stays). */
void emu_stats_reset(emu_stats *st);

#endif
