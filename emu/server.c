/* HTTP side: libmicrohttpd daemon, request body accumulation with a cap, form bodies,
 * statistics. A small pool of epoll threads serves every connection (thousands of idle ones
 * cost no thread); a request that will sleep in --latency is suspended and answered by a
 * thread of its own, so latency sleeps still overlap and never block other clients. */
#include "emu.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FORM 16

/* One request: its context first (emu_query finds the request from the context). */
typedef struct {
    emu_ctx c;
    bool begun, dispatched;
    void *next_job;               /* emu_req: the worker queue's link */
    /* an encoded NUL (%00) in the raw target: MHD's decoded path or value is cut there */
    bool nul_in_path;
    char nul_param[64];           /* the query parameter (raw name) whose name or value holds one */
    char *body; size_t len, cap;
    bool too_big;
    struct MHD_PostProcessor *pp;
    char *fk[MAX_FORM], *fv[MAX_FORM]; size_t fvlen[MAX_FORM]; int nform;
} emu_req;

#define EMU_MAX_CONNECTIONS 16384u
#define EMU_IDLE_TIMEOUT_S 120u

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

static emu_req *req_of(emu_ctx *c) { return (emu_req *)(void *)c; }

/* Sees the raw request target before MHD decodes it (its result becomes the request's
 * context): an encoded NUL would silently cut the decoded path or query value, so such a
 * request gets a context that says where the NUL was, and is refused (see `dispatch`). */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls; (void)conn;
    const char *nul = uri ? strstr(uri, "%00") : NULL;
    if (!nul) return NULL;
    emu_req *rq = emu_xcalloc(1, sizeof *rq);
    const char *q = strchr(uri, '?');
    if (!q || nul < q) {
        rq->nul_in_path = true;
    } else {
        const char *p = nul;
        while (p > q + 1 && p[-1] != '&') p--;
        size_t n = strcspn(p, "=&");
        if (n >= sizeof rq->nul_param) n = sizeof rq->nul_param - 1;
        memcpy(rq->nul_param, p, n);
        rq->nul_param[n] = 0;
        if (!n) rq->nul_in_path = true;   /* "?=%00": no parameter to name */
    }
    return rq;
}

/* Sleeps `ms` milliseconds, or less when the server stops. */
void emu_sleep(emu_server *s, double ms)
{
    if (ms <= 0) return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long long ns = (long long)until.tv_nsec + (long long)(ms * 1e6);
    until.tv_sec += (time_t)(ns / 1000000000LL);
    until.tv_nsec = (long)(ns % 1000000000LL);
    pthread_mutex_lock(&s->wmu);
    while (!s->stopping && pthread_cond_timedwait(&s->sleep_cv, &s->wmu, &until) == 0) {}
    pthread_mutex_unlock(&s->wmu);
}

/* Whether a request will sleep in --latency (then a worker thread runs it). */
static bool will_sleep(emu_server *s)
{
    pthread_mutex_lock(&s->mu);
    bool sleeps = s->faults.latency_ms > 0 || s->faults.jitter_ms > 0;
    pthread_mutex_unlock(&s->mu);
    return sleeps;
}

/* Answers one request: an encoded NUL in the path is a URL no route takes (404
 * INVALID_URL_PATTERN), in a query parameter an invalid value for it (400: INVALID_QUERY for a
 * search criteria, INVALID_DATA naming the parameter otherwise). */
static void dispatch(emu_req *rq)
{
    emu_ctx *c = &rq->c;
    if (rq->nul_in_path) {
        emu_reply_invalid_url(c);
    } else if (rq->nul_param[0]) {
        c->route = EMU_R_OTHER;
        if (strcmp(rq->nul_param, "criteria") == 0)
            emu_reply_error(c, 400, "INVALID_QUERY", "Invalid query formed", NULL);
        else
            emu_reply_error(c, 400, "INVALID_DATA", "invalid data", json_pack("{s:s}", "param_name", rq->nul_param));
    } else {
        emu_dispatch(c);
    }
    for (size_t i = 0; i < c->nseg; i++) free(c->seg[i]);
    c->nseg = 0;
}

/* The threads of sleeping requests: one per request in flight, kept a few seconds once
 * idle (creating a thread per request costs more than the request). Each takes a suspended
 * request, dispatches it (sleeping in --latency) and resumes its connection, so that a pool
 * thread of the daemon sends the answer. */
#define EMU_WORKER_IDLE_S 5

static void *worker_main(void *arg)
{
    emu_server *s = arg;
    pthread_mutex_lock(&s->wmu);
    for (;;) {
        if (!s->jobs) {
            if (s->stopping) break;
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += EMU_WORKER_IDLE_S;
            s->idle++;
            int rc = pthread_cond_timedwait(&s->job_cv, &s->wmu, &until);
            s->idle--;
            if (!s->jobs && rc != 0) break;   /* idle too long */
            continue;
        }
        emu_req *rq = s->jobs;
        s->jobs = ((emu_req *)s->jobs)->next_job;
        if (!s->jobs) s->jobs_tail = NULL;
        s->queued--;
        pthread_mutex_unlock(&s->wmu);
        dispatch(rq);
        MHD_resume_connection(rq->c.conn);
        pthread_mutex_lock(&s->wmu);
        if (--s->pending == 0) pthread_cond_broadcast(&s->done_cv);
    }
    s->threads--;
    pthread_cond_broadcast(&s->done_cv);
    pthread_mutex_unlock(&s->wmu);
    return NULL;
}

/* Hands a request that will sleep to a worker thread (true: the connection is suspended until
 * the worker resumes it); false: dispatch it here. */
static bool dispatch_apart(emu_server *s, emu_req *rq, struct MHD_Connection *conn)
{
    if (!will_sleep(s)) return false;
    pthread_mutex_lock(&s->wmu);
    if (s->stopping) { pthread_mutex_unlock(&s->wmu); return false; }
    if (s->idle <= s->queued) {
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 512 * 1024);
        pthread_t t;
        int rc = pthread_create(&t, &at, worker_main, s);
        pthread_attr_destroy(&at);
        if (rc == 0) s->threads++;
        else if (s->threads == 0) { pthread_mutex_unlock(&s->wmu); return false; }   /* none to spare */
    }
    MHD_suspend_connection(conn);
    rq->next_job = NULL;
    if (s->jobs_tail) ((emu_req *)s->jobs_tail)->next_job = rq; else s->jobs = rq;
    s->jobs_tail = rq;
    s->queued++;
    s->pending++;
    pthread_cond_signal(&s->job_cv);
    pthread_mutex_unlock(&s->wmu);
    return true;
}

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
    if (!rq || !rq->begun) {
        if (!rq) rq = emu_xcalloc(1, sizeof *rq);
        rq->begun = true;
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
    emu_ctx *c = &rq->c;
    if (!rq->dispatched) {
        rq->dispatched = true;
        c->s = s;
        c->conn = conn;
        c->method = method;
        c->url = url;
        c->body = rq->body;
        c->body_len = rq->len;
        c->body_too_big = rq->too_big;
        c->loopback = is_loopback(conn);
        c->status = 500;
        if (dispatch_apart(s, rq, conn)) return MHD_YES;   /* called again once resumed */
        dispatch(rq);
    }
    atomic_fetch_add(&s->stats.total, 1);
    if (s->opts.verbose)
        fprintf(stderr, "zlock-emu: %s %s -> %d%s\n", method, url, c->status, c->drop ? " (dropped)" : "");
    if (c->drop) {
        atomic_fetch_add(&s->stats.drops, 1);
        free(c->out);
        c->out = NULL;
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
    if (!resp) { free(c->out); c->out = NULL; return MHD_NO; }
    bool has_body = c->out != NULL;
    c->out = NULL;   /* the response owns it */
    if (has_body) MHD_add_response_header(resp, "Content-Type", "application/json;charset=UTF-8");
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
    free(rq->c.out);   /* a reply never handed to MHD (the connection ended, e.g. at shutdown) */
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
    pthread_mutex_init(&s->wmu, NULL);
    pthread_cond_init(&s->sleep_cv, NULL);
    pthread_cond_init(&s->job_cv, NULL);
    pthread_cond_init(&s->done_cv, NULL);
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
    emu_stats_reset(&s->stats);
    return true;
}

void emu_stats_reset(emu_stats *st)
{
    for (int r = 0; r < EMU_R_COUNT; r++)
        for (int k = 0; k < 600; k++) atomic_store(&st->by_route[r][k], 0);
    long now = atomic_load(&st->in_flight);
    atomic_store(&st->max_in_flight, now);
    atomic_store(&st->max_offered, now);
    atomic_store(&st->too_many, 0);
    atomic_store(&st->tokens_minted, 0);
    atomic_store(&st->drops, 0);
    atomic_store(&st->drops_after, 0);
    atomic_store(&st->faults_500, 0);
    atomic_store(&st->total, 0);
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
    /* every connection is a descriptor: take what the hard limit allows */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    unsigned limit = EMU_MAX_CONNECTIONS;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < limit + 64)
        limit = rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    /* more threads than CPUs: a handler waits on the org lock now and then, and a descheduled
     * thread stalls only its share of the connections (measured: 8 on 2 CPUs beats 2) */
    unsigned pool = cpus < 1 ? 4u : cpus * 4 > 16 ? 16u : cpus * 4 < 4 ? 4u : (unsigned)cpus * 4;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    if (s->opts.verbose) flags |= MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)s->opts.port, NULL, NULL, on_request, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_URI_LOG_CALLBACK, uri_log, s,
        MHD_OPTION_THREAD_POOL_SIZE, pool,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
        MHD_OPTION_CONNECTION_TIMEOUT, EMU_IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
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
    /* wake the sleeping requests and wait for their threads: no connection may stay
     * suspended when the daemon stops */
    pthread_mutex_lock(&s->wmu);
    s->stopping = true;
    pthread_cond_broadcast(&s->sleep_cv);
    pthread_cond_broadcast(&s->job_cv);
    while (s->pending > 0 || s->threads > 0) pthread_cond_wait(&s->done_cv, &s->wmu);
    pthread_mutex_unlock(&s->wmu);
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
    pthread_mutex_destroy(&s->wmu);
    pthread_cond_destroy(&s->sleep_cv);
    pthread_cond_destroy(&s->job_cv);
    pthread_cond_destroy(&s->done_cv);
}
