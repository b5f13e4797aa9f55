/* batch_io.c - the bulk engine's event loop on libcurl's socket interface (see batch_io.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "batch_io.h"

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CURLMOPT_SOCKETFUNCTION: watch, change or forget a socket. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)e; (void)socketp;
    zl_bio *io = userp;
    size_t i = 1;                            /* fds[0] is the wake pipe */
    while (i < io->nfds && io->fds[i].fd != s) i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < io->nfds) io->fds[i] = io->fds[--io->nfds];
        return 0;
    }
    if (i == io->nfds) {
        if (io->nfds == io->cap) {
            size_t cap = io->cap ? io->cap * 2 : 32;
            struct pollfd *f = realloc(io->fds, cap * sizeof *f);
            if (!f) { io->oom = true; return 0; }
            io->fds = f;
            struct pollfd *r = realloc(io->ready, cap * sizeof *r);
            if (!r) { io->oom = true; return 0; }
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

int zl_bio_init(zl_bio *io, CURLM *multi, int wake_fd) {
    memset(io, 0, sizeof *io);
    io->fds = malloc(32 * sizeof *io->fds);
    io->ready = malloc(32 * sizeof *io->ready);
    if (!io->fds || !io->ready) {
        zl_bio_free(io);
        return -1;
    }
    io->cap = 32;
    io->nfds = 1;
    io->fds[0] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
    io->multi = multi;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, io);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, io);
    return 0;
}

void zl_bio_free(zl_bio *io) {
    free(io->fds);
    free(io->ready);
    memset(io, 0, sizeof *io);
}

void zl_bio_drain(zl_bio *io) {
    /* one read: a shard's pipe holds one byte per wake-up (zl_shard_wake_locked writes only
     * when the shard is not already woken), and a byte left behind only makes the next poll()
     * return at once, where it is read. Reading on to EAGAIN was a second syscall per wake-up. */
    char buf[64];
    ssize_t n = read(io->fds[0].fd, buf, sizeof buf);
    (void)n;
    io->fds[0].revents = 0;
}

void zl_bio_kick(zl_bio *io) {
    int running;
    io->timer = false;
    curl_multi_socket_action(io->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    zl_bio_timers(io);
}

void zl_bio_timers(zl_bio *io) {
    int running;
    /* a timeout may set the next one at once (0 ms): run those too, a few rounds at most */
    for (int i = 0; i < 4 && io->timer && io->due_ms <= mono_ms(); i++) {
        io->timer = false;
        curl_multi_socket_action(io->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
}

void zl_bio_wait(zl_bio *io, long wait_ms) {
    int running;
    if (io->oom) {
        /* a socket could not be recorded: libcurl's own loop looks at every transfer (the
         * wake pipe is watched too, as an extra descriptor) */
        struct curl_waitfd w = { .fd = io->fds[0].fd, .events = CURL_WAIT_POLLIN };
        curl_multi_poll(io->multi, &w, 1, (int)(wait_ms < 0 || wait_ms > 10 ? 10 : wait_ms), NULL);
        zl_bio_drain(io);
        curl_multi_perform(io->multi, &running);
        return;
    }
    if (io->timer) {
        int64_t left = io->due_ms - mono_ms();
        if (wait_ms < 0 || left < wait_ms) wait_ms = left < 0 ? 0 : (long)left;
    }
    if (wait_ms > INT_MAX) wait_ms = INT_MAX;
    int n = poll(io->fds, (nfds_t)io->nfds, (int)(wait_ms < 0 ? -1 : wait_ms));
    if (n > 0) {
        if (io->fds[0].revents) {
            zl_bio_drain(io);
            n--;
        }
        size_t k = 0;
        for (size_t i = 1; n > 0 && i < io->nfds; i++)
            if (io->fds[i].revents) io->ready[k++] = io->fds[i];
        for (size_t i = 0; i < k; i++) {
            short r = io->ready[i].revents;
            int ev = ((r & (POLLIN | POLLHUP)) ? CURL_CSELECT_IN : 0) | ((r & POLLOUT) ? CURL_CSELECT_OUT : 0)
                   | ((r & (POLLERR | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(io->multi, io->ready[i].fd, ev, &running);
        }
    }
    zl_bio_timers(io);
}
