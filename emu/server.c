/* HTTP side: libmicrohttpd daemon (a thread per connection, so latency sleeps never block
 * other clients), request body accumulation with a cap, form bodies, statistics. */
#include "emu.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_FORM 16

typedef struct {
    char *body; size_t len, cap;
    bool too_big;
    struct MHD_PostProcessor *pp;
    char *fk[MAX_FORM], *fv[MAX_FORM]; size_t fvlen[MAX_FORM]; int nform;
} emu_req;

static enum MHD_Result form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *ctype, const char *enc,
                                 const char *data, uint64_t off, size_t size)
{
    (void)kind; (void)filename; (void)ctype; (void)enc; (void)off;
    emu_req *rq = cls;
    int i;
    for (i = 0; i < rq->nform; i++)
        if (strcmp(rq->fk[i], key) == 0) break;
    if (i == rq->nform) {
        if (rq->nform == MAX_FORM) return MHD_YES;
        rq->fk[i] = emu_strdup(key);
        rq->fv[i] = emu_xcalloc(1, 1);
        rq->fvlen[i] = 0;
        rq->nform++;
    }
    if (rq->fvlen[i] + size > 8192) return MHD_YES;
    rq->fv[i] = emu_xrealloc(rq->fv[i], rq->fvlen[i] + size + 1);
    memcpy(rq->fv[i] + rq->fvlen[i], data, size);
    rq->fvlen[i] += size;
    rq->fv[i][rq->fvlen[i]] = 0;
    return MHD_YES;
}

static emu_req *req_of(emu_ctx *c);

/* Body reader of a "headers" drop: the status line and headers go out, then the connection
 * is closed before any body byte (a reply lost on the way, which clients cannot re-send
 * silently the way they re-send a request whose connection died before any reply byte). */
static ssize_t cut_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls; (void)pos; (void)buf; (void)max;
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

const char *emu_query(emu_ctx *c, const char *name)
{
    if (c->lookup) return c->lookup(c, false, name);
    const char *v = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
    if (v) return v;
    emu_req *rq = req_of(c);
    for (int i = 0; rq && i < rq->nform; i++)
        if (strcmp(rq->fk[i], name) == 0) return rq->fv[i];
    return NULL;
}

const char *emu_header(emu_ctx *c, const char *name)
{
    if (c->lookup) return c->lookup(c, true, name);
    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

/* The request context rides in c->body's owner: we keep a pointer next to the ctx. */
typedef struct { emu_ctx c; emu_req *rq; } ctx_box;
static emu_req *req_of(emu_ctx *c) { return ((ctx_box *)c)->rq; }

static bool is_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return false;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a);
    }
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    emu_server *s = cls;
    emu_req *rq = *con_cls;
    if (!rq) {
        rq = emu_xcalloc(1, sizeof *rq);
        const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
        if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
            rq->pp = MHD_create_post_processor(conn, 16384, form_iter, rq);
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        if (rq->len + n > EMU_MAX_BODY) {
            rq->too_big = true;
        } else {
            if (rq->len + n + 1 > rq->cap) {
                rq->cap = (rq->len + n + 1) * 2;
                if (rq->cap > EMU_MAX_BODY + 1) rq->cap = EMU_MAX_BODY + 1;
                rq->body = emu_xrealloc(rq->body, rq->cap);
            }
            memcpy(rq->body + rq->len, upload, n);
            rq->len += n;
            rq->body[rq->len] = 0;
            if (rq->pp) MHD_post_process(rq->pp, upload, n);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    ctx_box box;
    memset(&box, 0, sizeof box);
    box.rq = rq;
    emu_ctx *c = &box.c;
    c->s = s;
    c->conn = conn;
    c->method = method;
    c->url = url;
    c->body = rq->body;
    c->body_len = rq->len;
    c->body_too_big = rq->too_big;
    c->loopback = is_loopback(conn);
    c->status = 500;
    emu_dispatch(c);
    for (size_t i = 0; i < c->nseg; i++) free(c->seg[i]);
    atomic_fetch_add(&s->stats.total, 1);
    if (s->opts.verbose)
        fprintf(stderr, "zlock-emu: %s %s -> %d%s\n", method, url, c->status, c->drop ? " (dropped)" : "");
    if (c->drop) {
        atomic_fetch_add(&s->stats.drops, 1);
        free(c->out);
        if (!c->drop_partial) return MHD_NO;
        struct MHD_Response *cut = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, cut_body, NULL, NULL);
        if (!cut) return MHD_NO;
        MHD_add_response_header(cut, "Content-Type", "application/json;charset=UTF-8");
        enum MHD_Result r = MHD_queue_response(conn, c->status >= 200 && c->status < 600 ? (unsigned)c->status : 200, cut);
        MHD_destroy_response(cut);
        return r;
    }
    if (c->status < 100 || c->status >= 600) c->status = 500;
    atomic_fetch_add(&s->stats.by_route[c->route][c->status], 1);
    struct MHD_Response *resp = c->out
        ? MHD_create_response_from_buffer(c->out_len, c->out, MHD_RESPMEM_MUST_FREE)
        : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) { free(c->out); return MHD_NO; }
    if (c->out) MHD_add_response_header(resp, "Content-Type", "application/json;charset=UTF-8");
    if (c->credits_remaining >= 0) {
        char b[32];
        snprintf(b, sizeof b, "%ld", c->credits_remaining);
        MHD_add_response_header(resp, "X-API-CREDITS-REMAINING", b);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)c->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls; (void)conn; (void)toe;
    emu_req *rq = *con_cls;
    if (!rq) return;
    if (rq->pp) MHD_destroy_post_processor(rq->pp);
    for (int i = 0; i < rq->nform; i++) { free(rq->fk[i]); free(rq->fv[i]); }
    free(rq->body);
    free(rq);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    emu_server *s = cls;
    if (!s->opts.verbose) return;
    fputs("zlock-emu (mhd): ", stderr);
    vfprintf(stderr, fmt, ap);
}

int emu_server_init(emu_server *s, const emu_opts *o, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->opts = *o;
    pthread_rwlock_init(&s->org_lock, NULL);
    pthread_mutex_init(&s->mu, NULL);
    s->rng.s = o->random_seed_given ? o->random_seed : (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)s;
    s->started = emu_mono();
    emu_faults_from_opts(s);
    if (o->state_file) {
        FILE *f = fopen(o->state_file, "r");
        if (f) {
            fclose(f);
            s->org = emu_persist_load_file(o->state_file, err, errlen);
            if (!s->org) return -1;
        }
    }
    if (!s->org) s->org = emu_seed_build(&o->seed, err, errlen);
    if (!s->org) return -1;
    emu_credits_reset(s);
    emu_oauth_reset(s);
    return 0;
}

bool emu_server_reset(emu_server *s, char *err, size_t errlen)
{
    emu_org *o = emu_seed_build(&s->opts.seed, err, errlen);
    if (!o) return false;
    pthread_rwlock_wrlock(&s->org_lock);
    emu_org *old = s->org;
    s->org = o;
    pthread_rwlock_unlock(&s->org_lock);
    emu_org_free(old);
    pthread_mutex_lock(&s->mu);
    emu_faults_from_opts(s);
    pthread_mutex_unlock(&s->mu);
    emu_credits_reset(s);
    emu_oauth_reset(s);
    for (int r = 0; r < EMU_R_COUNT; r++)
        for (int k = 0; k < 600; k++) atomic_store(&s->stats.by_route[r][k], 0);
    atomic_store(&s->stats.max_in_flight, atomic_load(&s->stats.in_flight));
    atomic_store(&s->stats.too_many, 0);
    atomic_store(&s->stats.tokens_minted, 0);
    atomic_store(&s->stats.drops, 0);
    atomic_store(&s->stats.drops_after, 0);
    atomic_store(&s->stats.faults_500, 0);
    atomic_store(&s->stats.total, 0);
    return true;
}

int emu_server_start(emu_server *s, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->opts.port);
    if (inet_pton(AF_INET, s->opts.listen_host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--listen: '%s' is not an IPv4 address", s->opts.listen_host);
        return -1;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (s->opts.verbose) flags |= MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)s->opts.port, NULL, NULL, on_request, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)2000,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use?)", s->opts.listen_host, s->opts.port);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    pthread_mutex_lock(&s->mu);   /* connection threads read it (oauth api_domain) */
    s->port = di ? di->port : s->opts.port;
    pthread_mutex_unlock(&s->mu);
    s->daemon = d;
    return 0;
}

void emu_server_stop(emu_server *s)
{
    if (s->daemon) MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
}

void emu_server_destroy(emu_server *s)
{
    emu_org_free(s->org);
    s->org = NULL;
    emu_oauth_free(s);
    free(s->credit_ts);
    s->credit_ts = NULL;
    pthread_rwlock_destroy(&s->org_lock);
    pthread_mutex_destroy(&s->mu);
}
