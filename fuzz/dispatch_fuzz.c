/* Fuzzes zlock-emu's request dispatch (emu_dispatch: router, every handler, the admin API)
 * without a socket: the context's lookup hook answers query parameters and headers.
 * Each input starts from the same small demo org (reset) and makes up to 3 requests.
 * Input: groups of 5 fields: method, URL path, Authorization header, query
 * ("k=v&k=v", not decoded), body. Invariants: every answer has an HTTP status (100..599)
 * unless dropped, and a body that is JSON; nothing leaks. Sleeps are kept out: the
 * harness zeroes the latency a POST /__emu/faults may set. */
#include <strings.h>
#include "emu.h"
#include "fuzz_input.h"

static emu_server server;

typedef struct { emu_ctx c; const char *auth; char *query; } fuzz_req;

static const char *lookup(const emu_ctx *c, bool header, const char *name) {
    const fuzz_req *r = (const fuzz_req *)(const void *)c;
    if (header) return strcasecmp(name, "Authorization") == 0 ? r->auth : NULL;
    size_t n = strlen(name);
    for (const char *p = r->query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            static __thread char val[1024];
            snprintf(val, sizeof val, "%.*s", (int)(len - n - 1), p + n + 1);
            return val;
        }
        p = amp ? amp + 1 : p + len;
    }
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    emu_opts o;
    memset(&o, 0, sizeof o);
    snprintf(o.listen_host, sizeof o.listen_host, "127.0.0.1");
    o.seed.seed = "demo";
    static const char *const mods[] = { "Accounts", "Contacts", "Leads", "Deals" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(o.seed.counts[i].module, sizeof o.seed.counts[i].module, "%s", mods[i]);
        o.seed.counts[i].count = i == 3 ? 3 : 2;   /* the ids the seed corpus uses */
    }
    o.seed.ncounts = 4;
    o.token_ttl = 3600;
    o.access_token = EMU_DEMO_ACCESS_TOKEN; o.client_id = EMU_DEMO_CLIENT_ID;
    o.client_secret = EMU_DEMO_CLIENT_SECRET; o.refresh_token = EMU_DEMO_REFRESH_TOKEN;
    o.credits_window = 86400;
    o.random_seed = 1; o.random_seed_given = true;
    char err[256];
    if (emu_server_init(&server, &o, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); abort(); }
    return 0;
}

static void one_request(char *const *f) {
    fuzz_req r;
    memset(&r, 0, sizeof r);
    r.auth = f[2];
    r.query = f[3];
    emu_ctx *c = &r.c;
    c->s = &server;
    c->lookup = lookup;
    c->method = f[0] ? f[0] : "GET";
    c->url = f[1] ? f[1] : "/";
    c->body = f[4];
    c->body_len = f[4] ? strlen(f[4]) : 0;
    c->loopback = true;
    c->status = 500;
    emu_dispatch(c);
    for (size_t i = 0; i < c->nseg; i++) free(c->seg[i]);
    if (!c->drop) {
        FUZZ_ASSERT(c->status >= 100 && c->status < 600, "status %d for %s %s", c->status, c->method, c->url);
        if (c->out) {
            json_t *j = json_loadb(c->out, c->out_len, 0, NULL);
            FUZZ_ASSERT(j, "reply to %s %s is not JSON: %.*s", c->method, c->url, (int)c->out_len, c->out);
            json_decref(j);
        }
    }
    free(c->out);
    pthread_mutex_lock(&server.mu);
    server.faults.latency_ms = server.faults.jitter_ms = 0;
    pthread_mutex_unlock(&server.mu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in;
    fuzz_input_split(&in, data, size, 0);
    char err[256];
    if (!emu_server_reset(&server, err, sizeof err)) { fprintf(stderr, "%s\n", err); abort(); }
    for (size_t i = 0; i < 3 && i * 5 < in.nf; i++) {
        char *f[5] = { NULL };
        for (size_t k = 0; k < 5 && i * 5 + k < in.nf; k++) f[k] = in.f[i * 5 + k];
        one_request(f);
    }
    fuzz_input_free(&in);
    return 0;
}
