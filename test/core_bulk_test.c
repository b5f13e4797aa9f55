/* core_bulk_test.c - the C bulk engine (zlock_bulk.h) from plain C against a real zlock-emu
 * (started here on a free loopback port; skipped when build/zlock-emu is missing): option
 * checks, invalid ops returned as failures, locks under a concurrency limit (429s, window
 * cuts, every item once), errors, unlocks, and freeing an engine with items in flight. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"
#include "zlock.h"
#include "zlock_bulk.h"

#define NREC 60

static pid_t emu_pid;

/* Starts zlock-emu; fills url. Returns 0, or -1 when it cannot. */
static int emu_start(char *url, size_t n) {
    const char *bin = getenv("ZLOCK_EMU") ? getenv("ZLOCK_EMU") : "build/zlock-emu";
    if (access(bin, X_OK) != 0) return -1;
    int fd[2];
    if (pipe(fd)) return -1;
    emu_pid = fork();
    if (emu_pid < 0) return -1;
    if (emu_pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        freopen("/dev/null", "w", stderr);
        execl(bin, bin, "--listen", "127.0.0.1:0", "--seed", "demo", "--records", "Deals=200",
              "--concurrency-limit", "3", "--latency", "10", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[256] = "";
    if (!f || !fgets(line, sizeof line, f)) return -1;
    fclose(f);
    const char *p = strstr(line, "http://");
    if (!p) return -1;
    snprintf(url, n, "%s", p);
    url[strcspn(url, "\r\n")] = '\0';
    return 0;
}

static void emu_stop(void) {
    if (emu_pid > 0) {
        kill(emu_pid, SIGTERM);
        waitpid(emu_pid, NULL, 0);
    }
}

/* Ids of unlocked Deals, through the client's blocking driver. */
static int unlocked_deals(zl_client *c, char ids[][ZL_ID_MAX + 1], int max) {
    zl_param ps[] = { { "fields", "Deal_Name,Locked__s" }, { "per_page", "200" } };
    zl_op op = { .kind = ZL_OP_REQUEST, .method = "GET", .path = "Deals", .params = ps, .nparams = 2,
                 .idempotent = -1 };
    zl_error err = {0};
    size_t len = 0;
    char *body = zl_perform(c, &op, &len, NULL, NULL, &err);
    zl_error_clear(&err);
    if (!body) return 0;
    json_t *doc = json_loadb(body, len, 0, NULL);
    free(body);
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(doc, "data"), i, r) {
        if (n == max) break;
        if (json_is_true(json_object_get(r, "Locked__s"))) continue;
        const char *id = json_string_value(json_object_get(r, "id"));
        if (id && strlen(id) <= ZL_ID_MAX) strcpy(ids[n++], id);
    }
    json_decref(doc);
    return n;
}

/* Runs ops through b until all are back; counts successes; copies lock ids by tag. */
static int run(zl_bulk *b, const zl_op *ops, int n, char lock_ids[][ZL_ID_MAX + 1], int *returned,
               char *first_err_code, int *first_err_status) {
    int next = 0, ok = 0;
    *returned = 0;
    while (next < n || zl_bulk_inflight(b) > 0) {
        while (next < n && zl_bulk_submit(b, &ops[next], (uint64_t)next)) next++;
        zl_bulk_result rs[16];
        size_t k = zl_bulk_poll(b, 200, rs, 16);
        for (size_t j = 0; j < k; j++) {
            (*returned)++;
            bool nothing = rs[j].outcome == ZL_OUTCOME_ALREADY_LOCKED || rs[j].outcome == ZL_OUTCOME_ALREADY_UNLOCKED;
            if (rs[j].ok && !nothing) {
                ok++;
                if (lock_ids) strcpy(lock_ids[rs[j].tag], rs[j].lock_id);
            } else if (first_err_code && !first_err_code[0]) {   /* an error, or the why of nothing to do */
                strcpy(first_err_code, rs[j].err.code);
                *first_err_status = rs[j].err.http_status;
            }
            zl_bulk_result_clear(&rs[j]);
        }
    }
    return ok;
}

/* Locks, locks again (refused), unlocks and frees with items in flight, under a window of 8
 * (the emulator admits 3 at once). */
static void rounds(zl_client *c, char ids[][ZL_ID_MAX + 1], int nids) {
    static char locks[NREC][ZL_ID_MAX + 1];
    memset(locks, 0, sizeof locks);
    zl_error err = {0};
    zl_bulk_opts o;
    zl_bulk_opts_init(&o);
    o.concurrency = 8;
    o.initial = 8;
    o.throttle_pause_ms = 50;
    o.threads = 4;                        /* deprecated: ignored */
    zl_bulk *b = zl_bulk_new(c, &o, &err);
    OK(b != NULL, "engine of 8");
    if (!b) return;

    /* an invalid op comes back as a failure, like every item */
    zl_op bad = { .kind = ZL_OP_LOCK, .module = "9bad", .record_id = "1", .reason = "r" };
    char code[ZL_CODE_MAX] = "";
    int status = 0, returned = 0;
    OK(run(b, &bad, 1, NULL, &returned, code, &status) == 0 && returned == 1 && STREQ(code, "INVALID_ARGUMENT"),
       "invalid op returned once as INVALID_ARGUMENT (%s)", code);

    static zl_op ops[NREC];
    for (int i = 0; i < nids; i++)
        ops[i] = (zl_op){ .kind = ZL_OP_LOCK, .module = "Deals", .record_id = ids[i], .reason = "c batch test" };
    int ok = run(b, ops, nids, locks, &returned, NULL, NULL);
    OK(ok == nids && returned == nids, "%d of %d locks under a limit of 3, each returned once", ok, nids);
    int have = 0;
    for (int i = 0; i < nids; i++) have += locks[i][0] != '\0';
    OK(have == nids, "every lock has its lock id");
    zl_bulk_stats st;
    zl_bulk_stats_get(b, &st);
    OK(st.throttled > 0 && st.cuts > 0, "429s seen (%lu) and the window cut (%lu times)", st.throttled, st.cuts);
    OK(st.window < 8 && st.window >= 1, "window settled below the maximum (%d)", st.window);
    OK(st.max_inflight <= 8 && st.items == 0 && st.requests >= (unsigned long)nids && st.threads == 1,
       "stats consistent (%d in flight at most, %d thread)", st.max_inflight, st.threads);
    OK(st.connects >= 1 && st.connects <= 8 + st.throttled,
       "connections reused (%lu)", st.connects);

    /* the same locks again: Zoho's error, per item */
    code[0] = '\0';
    ok = run(b, ops, nids, NULL, &returned, code, &status);
    OK(ok == 0 && returned == nids && STREQ(code, "NOT_ALLOWED") && status == 403,
       "locking locked records: ALREADY_LOCKED, why NOT_ALLOWED 403 (%s %d)", code, status);

    for (int i = 0; i < nids; i++)
        ops[i] = (zl_op){ .kind = ZL_OP_UNLOCK, .module = "Deals", .record_id = ids[i], .lock_id = locks[i] };
    ok = run(b, ops, nids, NULL, &returned, NULL, NULL);
    OK(ok == nids, "%d of %d unlocks", ok, nids);

    /* freed with items in flight (valgrind: nothing leaks) */
    for (int i = 0; i < 10; i++)
        ops[i] = (zl_op){ .kind = ZL_OP_LIST, .module = "Deals", .record_id = ids[i] };
    for (int i = 0; i < 10; i++) zl_bulk_submit(b, &ops[i], (uint64_t)i);
    zl_bulk_result rs[4];
    size_t k = zl_bulk_poll(b, 0, rs, 4);
    for (size_t j = 0; j < k; j++) zl_bulk_result_clear(&rs[j]);
    OK(zl_bulk_inflight(b) == 10 - k, "%zu items still in flight at free", zl_bulk_inflight(b));
    zl_bulk_free(b);
}

int main(void) {
    char url[128];
    zl_error err = {0};
    zl_bulk_opts o;

    zl_bulk_opts_init(&o);
    o.concurrency = 0;
    OK(zl_bulk_new(NULL, &o, &err) == NULL && STREQ(err.code, "INVALID_ARGUMENT"), "no client: refused");
    zl_error_clear(&err);

    if (emu_start(url, sizeof url)) {
        printf("ok %d - # SKIP zlock-emu not available\n", ++tap_n);
        return tap_done();
    }
    zl_config cfg;
    zl_config_init(&cfg);
    cfg.api_domain = url;
    cfg.access_token = "1000.zlockemu.demo-access-token";
    cfg.base_delay_ms = 20;
    cfg.max_delay_ms = 200;
    cfg.max_attempts = 3;
    zl_client *c = zl_client_new(&cfg, &err);
    OK(c != NULL, "client on %s", url);
    if (!c) { emu_stop(); return tap_done(); }

    OK(zl_bulk_new(c, &o, &err) == NULL && STREQ(err.code, "INVALID_ARGUMENT"), "concurrency 0: refused");
    zl_error_clear(&err);
    zl_bulk_opts_init(&o);
    o.decrease = 2;
    OK(zl_bulk_new(c, &o, &err) == NULL && STREQ(err.code, "INVALID_ARGUMENT"), "decrease 2: refused");
    zl_error_clear(&err);
    zl_bulk_opts_init(&o);
    o.capacity = -1;
    OK(zl_bulk_new(c, &o, &err) == NULL && STREQ(err.code, "INVALID_ARGUMENT"), "capacity -1: refused");
    zl_error_clear(&err);

    static char ids[NREC][ZL_ID_MAX + 1];
    int nids = unlocked_deals(c, ids, NREC);
    OK(nids == NREC, "%d unlocked deals found", nids);

    rounds(c, ids, nids);
    zl_client_free(c);
    emu_stop();
    return tap_done();
}
