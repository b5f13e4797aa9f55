/* bulk_io.c - the C bulk engine's event loop on libcurl's socket interface (see bulk_io.h). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bulk_io.h"

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CURLMOPT_SOCKETFUNCTION: watch, change or forget a socket. -1 (no memory) fails the
 * transfer that asked, which its call then retries. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)e; (void)socketp;
    zl_bio *io = userp;
    size_t i = 0;
    while (i < io->nfds && io->fds[i].fd != s) i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < io->nfds) io->fds[i] = io->fds[--io->nfds];
        return 0;
    }
    if (i == io->nfds) {
        if (io->nfds == io->cap) {
            size_t cap = io->cap ? io->cap * 2 : 16;
            struct pollfd *f = realloc(io->fds, cap * sizeof *f);
            if (!f) return -1;
            io->fds = f;
            struct pollfd *r = realloc(io->ready, cap * sizeof *r);
            if (!r) return -1;
            io->ready = r;
            io->cap = cap;
        }
        io->nfds++;
        io->fds[i].fd = s;
    }
    io->fds[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
    io->fds[i].revents = 0;
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 removes the timer, else call back in timeout_ms. */
static int on_timer(CURLM *m, long timeout_ms, void *userp) {
    (void)m;
    zl_bio *io = userp;
    io->timer = timeout_ms >= 0;
    if (io->timer) io->due_ms = mono_ms() + timeout_ms;
    return 0;
}

void zl_bio_init(zl_bio *io, CURLM *multi) {
    memset(io, 0, sizeof *io);
    io->multi = multi;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, io);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, io);
}

void zl_bio_free(zl_bio *io) {
    free(io->fds);
    free(io->ready);
    memset(io, 0, sizeof *io);
}

static void run_timers(zl_bio *io) {
    int running;
    /* a timeout may set the next one at once (0 ms): run those too, a few rounds at most */
    for (int i = 0; i < 4 && io->timer && io->due_ms <= mono_ms(); i++) {
        io->timer = false;
        curl_multi_socket_action(io->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
}

void zl_bio_kick(zl_bio *io) {
    int running;
    io->timer = false;
    curl_multi_socket_action(io->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    run_timers(io);
}

void zl_bio_wait(zl_bio *io, long wait_ms) {
    int running;
    if (io->timer) {
        int64_t left = io->due_ms - mono_ms();
        if (wait_ms < 0 || left < wait_ms) wait_ms = left < 0 ? 0 : (long)left;
    }
    if (wait_ms > INT_MAX) wait_ms = INT_MAX;
    int n = poll(io->fds, (nfds_t)io->nfds, (int)(wait_ms < 0 ? -1 : wait_ms));
    size_t k = 0;
    for (size_t i = 0; n > 0 && i < io->nfds; i++)
        if (io->fds[i].revents) io->ready[k++] = io->fds[i];
    for (size_t i = 0; i < k; i++) {
        short r = io->ready[i].revents;
        int ev = ((r & (POLLIN | POLLHUP)) ? CURL_CSELECT_IN : 0) | ((r & POLLOUT) ? CURL_CSELECT_OUT : 0)
               | ((r & (POLLERR | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(io->multi, io->ready[i].fd, ev, &running);
    }
    run_timers(io);
}
