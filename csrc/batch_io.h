/* batch_io.h - the bulk engine's event loop on libcurl's socket interface (not public).
 *
 * libcurl tells which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when its next timeout is
 * (CURLMOPT_TIMERFUNCTION); one poll() watches them all and curl_multi_socket_action() is told
 * exactly which socket is ready. Compared with curl_multi_perform(), which visits every
 * transfer and polls each one's socket on every call, only the transfers that have something
 * to do run: the client's CPU per request no longer grows with the number in flight.
 *
 * The poll also watches a wake descriptor (the read end of a pipe, fds[0]): another thread
 * writes a byte to it to cut a wait short; the wait drains it.
 *
 *     zl_bio io; zl_bio_init(&io, multi, wake_fd);
 *     curl_multi_add_handle(...);
 *     zl_bio_kick(&io);                  // run libcurl's timeout now: the request goes out
 *     zl_bio_wait(&io, wait_ms);         // poll the sockets (at most wait_ms), dispatch, timers
 *     curl_multi_info_read(...)          // finished transfers, as before
 *     zl_bio_free(&io);                  // after curl_multi_cleanup
 */
#ifndef ZLOCK_BATCH_IO_H
#define ZLOCK_BATCH_IO_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include "transport_curl.h"

typedef struct zl_bio {
    CURLM *multi;
    struct pollfd *fds;          /* [0] the wake descriptor, then the sockets libcurl watches */
    struct pollfd *ready;        /* scratch: a snapshot of the ready ones (callbacks edit fds) */
    size_t nfds, cap;
    bool timer;                  /* libcurl wants CURL_SOCKET_TIMEOUT at due_ms */
    int64_t due_ms;              /* monotonic milliseconds */
    bool oom;                    /* a socket could not be recorded: fall back to perform */
} zl_bio;

/* Installs the callbacks on the multi handle; wake_fd is non-blocking. 0, or -1 (no memory). */
int  zl_bio_init(zl_bio *io, CURLM *multi, int wake_fd);
/* Frees the arrays (after curl_multi_cleanup). */
void zl_bio_free(zl_bio *io);
/* Runs libcurl's timeout if it is due. */
void zl_bio_timers(zl_bio *io);
/* Runs libcurl's timeout now, due or not: new transfers start this way. (libcurl calls the
 * timer function only when its earliest timeout changes, so an added transfer is not always
 * announced; a loop that blocks without a limit must not wait for that.) */
void zl_bio_kick(zl_bio *io);
/* Waits up to wait_ms (0: just look; < 0: no limit) for socket activity, libcurl's timeout or
 * a wake-up, tells libcurl what happened, runs its due timeout. */
void zl_bio_wait(zl_bio *io, long wait_ms);
/* Empties the wake descriptor. */
void zl_bio_drain(zl_bio *io);

#endif
