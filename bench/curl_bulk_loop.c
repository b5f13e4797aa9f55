/* curl_bulk_loop: the "libcurl alone" peer of bench/bulk_throughput.sh and bench/bulk_cpu.sh.
 *
 * What the fastest plain libcurl client does for the same bulk locks, with no zlock in it: T
 * threads, each with its own multi handle driven by curl_multi_socket_action() and one poll()
 * (as zlock's engine does), CONCURRENCY/T reused easy handles each; every transfer a POST of
 * one lock on the next record, with the headers zlock sends (Authorization, Content-Type,
 * User-Agent, an empty Expect:), the body collected in memory and the lock id looked up in it.
 * No retries, no JSON parsing, no Lua: the floor any libcurl-based client stands on.
 *
 *   curl_bulk_loop BASE_URL TOKEN IDS_FILE CONCURRENCY [THREADS=2]
 *
 * Prints "curl_bulk locks N failed N seconds S locks_per_s R cpu_us_per_lock C".
 * Build: cc -std=c11 -O2 -pthread -o build/bench/curl_bulk_loop bench/curl_bulk_loop.c \
 *          $(pkg-config --cflags --libs libcurl)
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_FDS 256

struct xfer {
    CURL *h;
    char body[4096];
    size_t n;
};

struct worker {
    const char *base;
    struct curl_slist *hdrs;
    char **ids;
    size_t nids, next;              /* this worker's ids: ids[0..nids) */
    int conc;
    CURLM *multi;
    struct pollfd fds[MAX_FDS];
    int nfds;
    long timer_ms;                  /* -1: none */
    long locks, failed;
    pthread_t thread;
};

static const char *REASON = "{\"data\":[{\"Locked_Reason__s\":\"bench curl\"}]}";

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
    struct xfer *x = ud;
    size_t len = size * nmemb;
    if (x->n + len >= sizeof x->body) return 0;
    memcpy(x->body + x->n, data, len);
    x->n += len;
    x->body[x->n] = '\0';
    return len;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)e; (void)socketp;
    struct worker *w = userp;
    int i = 0;
    while (i < w->nfds && w->fds[i].fd != s) i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < w->nfds) w->fds[i] = w->fds[--w->nfds];
        return 0;
    }
    if (i == w->nfds) {
        if (w->nfds == MAX_FDS) return -1;
        w->fds[w->nfds++].fd = s;
    }
    w->fds[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp) {
    (void)m;
    ((struct worker *)userp)->timer_ms = timeout_ms;
    return 0;
}

/* Points the handle at the next record and adds it; 0 when the ids are used up. */
static int start(struct worker *w, struct xfer *x) {
    if (w->next == w->nids) return 0;
    char url[512];
    snprintf(url, sizeof url, "%s/crm/v8/Deals/%s/Locking_Information__s", w->base, w->ids[w->next++]);
    x->n = 0;
    curl_easy_setopt(x->h, CURLOPT_URL, url);
    curl_multi_add_handle(w->multi, x->h);
    return 1;
}

static void *run(void *arg) {
    struct worker *w = arg;
    w->multi = curl_multi_init();
    w->timer_ms = -1;
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    struct xfer *xs = calloc((size_t)w->conc, sizeof *xs);
    int running = 0, active = 0;
    for (int i = 0; i < w->conc && xs; i++) {
        CURL *h = xs[i].h = curl_easy_init();
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, w->hdrs);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, REASON);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(REASON));
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &xs[i]);
        curl_easy_setopt(h, CURLOPT_PRIVATE, &xs[i]);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
        active += start(w, &xs[i]);
    }
    curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    while (active > 0) {
        int n = poll(w->fds, (nfds_t)w->nfds, (int)(w->timer_ms < 0 ? 100 : w->timer_ms));
        if (n == 0) curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        struct pollfd ready[MAX_FDS];
        int k = 0;
        for (int i = 0; n > 0 && i < w->nfds; i++)
            if (w->fds[i].revents) ready[k++] = w->fds[i];
        for (int i = 0; i < k; i++) {
            short r = ready[i].revents;
            int ev = ((r & (POLLIN | POLLHUP)) ? CURL_CSELECT_IN : 0) | ((r & POLLOUT) ? CURL_CSELECT_OUT : 0)
                   | ((r & (POLLERR | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(w->multi, ready[i].fd, ev, &running);
        }
        CURLMsg *m;
        int left, restarted = 0;
        while ((m = curl_multi_info_read(w->multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            struct xfer *x;
            long status = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (m->data.result == CURLE_OK && status == 201 && strstr(x->body, "\"id\":\"")) w->locks++;
            else w->failed++;
            curl_multi_remove_handle(w->multi, x->h);
            if (start(w, x)) restarted = 1;
            else active--;
        }
        if (restarted) curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    for (int i = 0; i < w->conc && xs; i++) curl_easy_cleanup(xs[i].h);
    curl_multi_cleanup(w->multi);
    free(xs);
    return NULL;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: %s BASE_URL TOKEN IDS_FILE CONCURRENCY [THREADS=2]\n", argv[0]);
        return 2;
    }
    int conc = atoi(argv[4]), nthreads = argc > 5 ? atoi(argv[5]) : 2;
    if (conc < 1 || nthreads < 1 || nthreads > conc || conc / nthreads * 2 > MAX_FDS) {
        fprintf(stderr, "bad CONCURRENCY or THREADS\n");
        return 2;
    }
    FILE *f = fopen(argv[3], "r");
    if (!f) { perror(argv[3]); return 1; }
    size_t cap = 1024, nids = 0;
    char **ids = malloc(cap * sizeof *ids), line[64];
    while (ids && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line) continue;
        if (nids == cap) {
            char **more = realloc(ids, (cap *= 2) * sizeof *ids);
            if (!more) break;
            ids = more;
        }
        ids[nids++] = strdup(line);
    }
    fclose(f);
    if (!ids) return 1;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    char auth[512];
    snprintf(auth, sizeof auth, "Authorization: Zoho-oauthtoken %s", argv[2]);
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, auth);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "User-Agent: zlock/0.1.0");
    hdrs = curl_slist_append(hdrs, "Expect:");

    struct worker *ws = calloc((size_t)nthreads, sizeof *ws);
    if (!ws) return 1;
    size_t per = nids / (size_t)nthreads;
    double t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i < nthreads; i++) {
        ws[i] = (struct worker){ .base = argv[1], .hdrs = hdrs, .ids = ids + per * (size_t)i,
                                 .nids = i == nthreads - 1 ? nids - per * (size_t)i : per,
                                 .conc = conc / nthreads + (i < conc % nthreads) };
        pthread_create(&ws[i].thread, NULL, run, &ws[i]);
    }
    long locks = 0, failed = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(ws[i].thread, NULL);
        locks += ws[i].locks;
        failed += ws[i].failed;
    }
    double secs = now_s() - t0, cpu = cpu_s() - c0;
    printf("curl_bulk locks %ld failed %ld seconds %.2f locks_per_s %.0f cpu_us_per_lock %.1f\n", locks, failed,
           secs, locks / secs, locks ? 1e6 * cpu / (double)locks : 0.0);
    curl_slist_free_all(hdrs);
    curl_global_cleanup();
    for (size_t i = 0; i < nids; i++) free(ids[i]);
    free(ids);
    free(ws);
    return failed ? 1 : 0;
}
