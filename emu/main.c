/* zlock-emu command line: options, start, first stdout line, clean exit on SIGINT/SIGTERM. */
#include "emu.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 8808

static void usage(FILE *f)
{
    fprintf(f,
"usage: zlock-emu [options]\n"
"A local, stateful emulator of Zoho CRM's record locking API (and the bits around it).\n"
"\n"
"  --listen HOST:PORT        address to listen on (default " DEFAULT_HOST ":%d); PORT 0 picks a\n"
"                            free port. The first stdout line is\n"
"                            'zlock-emu listening on http://HOST:PORT'; nothing else goes to stdout.\n"
"                            Non-loopback addresses also need --allow-remote.\n"
"  --allow-remote            allow a non-loopback --listen address (admin API stays loopback-only)\n"
"  --seed demo|empty|FILE    org to start from (default demo). FILE is JSON in the --state format.\n"
"  --records M=N[,M=N...]    number of records per module, e.g. Deals=100000,Leads=500\n"
"                            (deterministic: same flags, same records and ids). Unknown module\n"
"                            names create custom modules with fields Name, Status, Amount.\n"
"  --state FILE              load the org from FILE when it exists; save it there (temp file +\n"
"                            rename) on SIGINT/SIGTERM. POST /__emu/reset goes back to --seed.\n"
"  --latency MS[:JITTER_MS]  delay every CRM call by MS plus 0..JITTER_MS milliseconds\n"
"  --concurrency-limit N     a CRM call arriving while N are in flight gets 429 TOO_MANY_REQUESTS\n"
"                            (calls sleeping in --latency count as in flight). 0 = no limit.\n"
"  --credits N               N CRM calls per rolling window, then 429; X-API-CREDITS-REMAINING\n"
"                            appears once half are spent. 0 = unlimited (default).\n"
"  --credits-window SECONDS  length of the rolling credits window (default 86400)\n"
"  --token-ttl SECONDS       life of minted access tokens (default 3600). The static access token\n"
"                            never expires; POST /__emu/faults {\"revoke_tokens\":true} revokes it\n"
"                            and every minted token (401 INVALID_TOKEN) until /__emu/reset.\n"
"  --fail-rate P             answer P (0..1) of CRM calls with 500 INTERNAL_ERROR\n"
"  --drop-rate P             close the connection without a reply on P of CRM calls; half of\n"
"                            those drops happen after the change was applied (a lost reply)\n"
"  --drop-mode close|headers close: no reply byte at all (default; note that HTTP clients may\n"
"                            silently re-send a request whose reused connection dies that way);\n"
"                            headers: the status line and headers go out, then the connection\n"
"                            closes before the body (a reply lost on the way)\n"
"  --random-seed N           seed for latency jitter and fault dice (default: time based)\n"
"  --access-token TOKEN      the static access token (default the demo token below)\n"
"  --client-id ID --client-secret S --refresh-token R   the OAuth client (default demo below)\n"
"  --auto-lock-delay MS      run automatic locking rules MS milliseconds after the change that\n"
"                            triggers them, not inside its request (default 0)\n"
"  --verbose                 log every request to stderr (default: quiet)\n"
"  --exit-with-parent        exit (as on SIGTERM, saving --state) when the process that started\n"
"                            the emulator is gone (checked 4 times a second): a test runner\n"
"                            that dies never leaves an emulator behind\n"
"  --help                    this text\n"
"\n"
"Demo credentials (also in the README):\n"
"  access token    " EMU_DEMO_ACCESS_TOKEN "   (static: never expires, see --token-ttl)\n"
"  client id       " EMU_DEMO_CLIENT_ID "\n"
"  client secret   " EMU_DEMO_CLIENT_SECRET "\n"
"  refresh token   " EMU_DEMO_REFRESH_TOKEN "\n"
"  a second static access token, for user Mei Lin (Standard profile: NO_PERMISSION on\n"
"  others' locks): " EMU_STANDARD_ACCESS_TOKEN "\n"
"  client_credentials tokens whose scope has no 'ZohoCRM.' get 401 OAUTH_SCOPE_MISMATCH.\n"
"\n"
"Zoho endpoints: /crm/v2..v8/{module}/{id}/Locking_Information__s[/{lock_id}], records, search,\n"
"coql, settings/record_locking_configurations, settings/modules, settings/fields, users,\n"
"POST /oauth/v2/token (grant_type refresh_token, client_credentials, or authorization_code with\n"
"code " EMU_DEMO_GRANT_CODE " once per reset; 10 tokens per refresh token per 10 minutes,\n"
"15 live per refresh token: the 16th invalidates the oldest). Header: Authorization: Zoho-oauthtoken TOKEN.\n"
"Admin (loopback only, no token): GET /__emu/state[?module=M&records=0], POST /__emu/reset,\n"
"GET|POST /__emu/faults {latency_ms, jitter_ms, concurrency_limit, credits, credits_window,\n"
"token_ttl, mint_limit, fail_rate, drop_rate, drop_mode, revoke_tokens, locking_feature},\n"
"GET /__emu/stats, DELETE /__emu/stats (statistics back to zero, the org stays).\n"
"Exit status: 0 after SIGINT/SIGTERM, 1 when it cannot start, 2 on a bad command line.\n",
        DEFAULT_PORT);
}

static int bad(const char *fmt, const char *arg)
{
    fputs("zlock-emu: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'zlock-emu --help'.\n", stderr);
    return 2;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool parse_rate(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= 0 && v <= 1)) return false;
    *out = v;
    return true;
}

static bool parse_records(const char *s, emu_seed_opts *so)
{
    char buf[4096];
    if (strlen(s) >= sizeof buf) return false;
    strcpy(buf, s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        long n;
        if (!eq) return false;
        *eq = 0;
        if (!emu_valid_api_name(tok) || strlen(tok) >= sizeof so->counts[0].module) return false;
        if (!parse_long(eq + 1, 0, 10000000, &n)) return false;
        size_t i;
        for (i = 0; i < so->ncounts; i++)
            if (strcmp(so->counts[i].module, tok) == 0) break;
        if (i == so->ncounts) {
            if (so->ncounts == sizeof so->counts / sizeof *so->counts) return false;
            so->ncounts++;
        }
        snprintf(so->counts[i].module, sizeof so->counts[i].module, "%s", tok);
        so->counts[i].count = n;
    }
    return true;
}

/* A crash leaves one line on stderr (the spec helper keeps it), then dies by the same signal. */
static void on_fatal(int sig)
{
    static const char msg[] = "zlock-emu: fatal signal, aborting (please report with the request that caused it)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Returns on SIGINT/SIGTERM or, with a parent to watch, when that parent is gone (the
 * emulator is then re-parented, so getppid() changes). */
static void wait_for_stop(const sigset_t *set, pid_t parent)
{
    if (!parent) {
        int sig = 0;
        sigwait(set, &sig);
        return;
    }
    const struct timespec tick = { 0, 250 * 1000 * 1000 };
    while (getppid() == parent)
        if (sigtimedwait(set, NULL, &tick) > 0) return;
}

static bool is_loopback_host(const char *h) { return strncmp(h, "127.", 4) == 0; }

int main(int argc, char **argv)
{
    emu_opts o;
    memset(&o, 0, sizeof o);
    pid_t parent = 0;   /* --exit-with-parent: the parent seen at start */
    snprintf(o.listen_host, sizeof o.listen_host, "%s", DEFAULT_HOST);
    o.port = DEFAULT_PORT;
    o.seed.seed = "demo";
    o.token_ttl = 3600;
    o.credits_window = 86400;
    o.access_token = EMU_DEMO_ACCESS_TOKEN;
    o.client_id = EMU_DEMO_CLIENT_ID;
    o.client_secret = EMU_DEMO_CLIENT_SECRET;
    o.refresh_token = EMU_DEMO_REFRESH_TOKEN;

    enum { O_LISTEN = 256, O_SEED, O_RECORDS, O_STATE, O_LATENCY, O_CONC, O_CREDITS, O_CWIN, O_TTL,
           O_FAIL, O_DROP, O_DROPMODE, O_TOKEN, O_CID, O_CSECRET, O_REFRESH, O_RSEED, O_VERBOSE, O_HELP, O_REMOTE,
           O_PARENT, O_AUTODELAY };
    static const struct option longopts[] = {
        { "listen", required_argument, NULL, O_LISTEN }, { "seed", required_argument, NULL, O_SEED },
        { "records", required_argument, NULL, O_RECORDS }, { "state", required_argument, NULL, O_STATE },
        { "latency", required_argument, NULL, O_LATENCY },
        { "concurrency-limit", required_argument, NULL, O_CONC },
        { "credits", required_argument, NULL, O_CREDITS },
        { "credits-window", required_argument, NULL, O_CWIN },
        { "token-ttl", required_argument, NULL, O_TTL }, { "fail-rate", required_argument, NULL, O_FAIL },
        { "drop-rate", required_argument, NULL, O_DROP },
        { "drop-mode", required_argument, NULL, O_DROPMODE },
        { "access-token", required_argument, NULL, O_TOKEN },
        { "client-id", required_argument, NULL, O_CID },
        { "client-secret", required_argument, NULL, O_CSECRET },
        { "refresh-token", required_argument, NULL, O_REFRESH },
        { "random-seed", required_argument, NULL, O_RSEED },
        { "allow-remote", no_argument, NULL, O_REMOTE },
        { "exit-with-parent", no_argument, NULL, O_PARENT },
        { "auto-lock-delay", required_argument, NULL, O_AUTODELAY },
        { "verbose", no_argument, NULL, O_VERBOSE }, { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    int ch;
    long v;
    while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        const char *a = optarg;
        switch (ch) {
        case O_LISTEN: {
            const char *colon = strrchr(a, ':');
            if (!colon || colon == a || (size_t)(colon - a) >= sizeof o.listen_host
                || !parse_long(colon + 1, 0, 65535, &v))
                return bad("--listen wants HOST:PORT (e.g. 127.0.0.1:0), got '%s'", a);
            memcpy(o.listen_host, a, (size_t)(colon - a));
            o.listen_host[colon - a] = 0;
            o.port = (int)v;
            break;
        }
        case O_SEED: o.seed.seed = a; break;
        case O_RECORDS:
            if (!parse_records(a, &o.seed)) return bad("--records wants MODULE=N[,MODULE=N...], got '%s'", a);
            break;
        case O_STATE: o.state_file = a; break;
        case O_LATENCY: {
            char buf[64];
            snprintf(buf, sizeof buf, "%s", a);
            char *colon = strchr(buf, ':');
            if (colon) *colon = 0;
            if (!parse_long(buf, 0, 600000, &o.latency_ms)
                || (colon && !parse_long(colon + 1, 0, 600000, &o.jitter_ms)))
                return bad("--latency wants MS[:JITTER_MS], got '%s'", a);
            break;
        }
        case O_CONC:
            if (!parse_long(a, 0, 1000000, &o.concurrency_limit)) return bad("--concurrency-limit wants N >= 0, got '%s'", a);
            break;
        case O_CREDITS:
            if (!parse_long(a, 0, 1000000000, &o.credits)) return bad("--credits wants N >= 0, got '%s'", a);
            break;
        case O_CWIN:
            if (!parse_long(a, 1, 100000000, &o.credits_window)) return bad("--credits-window wants SECONDS >= 1, got '%s'", a);
            break;
        case O_TTL:
            if (!parse_long(a, 1, 100000000, &o.token_ttl)) return bad("--token-ttl wants SECONDS >= 1, got '%s'", a);
            break;
        case O_FAIL: if (!parse_rate(a, &o.fail_rate)) return bad("--fail-rate wants P in 0..1, got '%s'", a); break;
        case O_DROP: if (!parse_rate(a, &o.drop_rate)) return bad("--drop-rate wants P in 0..1, got '%s'", a); break;
        case O_DROPMODE:
            if (strcmp(a, "close") == 0) o.drop_partial = false;
            else if (strcmp(a, "headers") == 0) o.drop_partial = true;
            else return bad("--drop-mode wants close or headers, got '%s'", a);
            break;
        case O_TOKEN: if (!*a) return bad("--access-token wants a token%s", ""); o.access_token = a; break;
        case O_CID: o.client_id = a; break;
        case O_CSECRET: o.client_secret = a; break;
        case O_REFRESH: o.refresh_token = a; break;
        case O_RSEED:
            if (!parse_long(a, 0, 0x7fffffffffffffffL, &v)) return bad("--random-seed wants N >= 0, got '%s'", a);
            o.random_seed = (uint64_t)v;
            o.random_seed_given = true;
            break;
        case O_REMOTE: o.allow_remote = true; break;
        case O_PARENT: parent = getppid(); break;
        case O_AUTODELAY:
            if (!parse_long(a, 0, 3600000, &o.auto_lock_delay_ms)) return bad("--auto-lock-delay wants MS >= 0, got '%s'", a);
            break;
        case O_VERBOSE: o.verbose = true; break;
        case O_HELP: usage(stdout); return 0;
        case ':': return bad("option %s needs a value", argv[optind - 1]);
        default: return bad("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return bad("unexpected argument '%s'", argv[optind]);
    if (!is_loopback_host(o.listen_host) && !o.allow_remote)
        return bad("--listen %s is not a loopback address (add --allow-remote)", o.listen_host);

    /* Signals are taken synchronously by this thread; every other thread has them blocked. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGSEGV, on_fatal);
    signal(SIGBUS, on_fatal);
    signal(SIGFPE, on_fatal);
    signal(SIGILL, on_fatal);
    signal(SIGABRT, on_fatal);

    static emu_server s;   /* large (statistics): not on the stack; one per process here */
    char err[512] = "";
    if (emu_server_init(&s, &o, err, sizeof err) != 0 || emu_autolock_start(&s, o.auto_lock_delay_ms) != 0
        || emu_server_start(&s, err, sizeof err) != 0) {
        if (!*err) snprintf(err, sizeof err, "cannot start the automatic locking thread");
        emu_autolock_stop(&s);
        fprintf(stderr, "zlock-emu: %s\n", err);
        emu_server_destroy(&s);
        return 1;
    }
    printf("zlock-emu listening on http://%s:%d\n", o.listen_host, s.port);
    fflush(stdout);

    wait_for_stop(&set, parent);
    emu_server_stop(&s);
    emu_autolock_stop(&s);
    int rc = 0;
    if (o.state_file) {
        if (!emu_persist_save_file(s.org, o.state_file, err, sizeof err)) {
            fprintf(stderr, "zlock-emu: saving %s: %s\n", o.state_file, err);
            rc = 1;
        }
    }
    emu_server_destroy(&s);
    return rc;
}
