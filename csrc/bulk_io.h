/* bulk_io.h - the C bulk engine's event loop on libcurl's socket interface (not public).
 *
 * libcurl tells which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when its next timeout is
 * (CURLMOPT_TIMERFUNCTION); one poll() watches them all and curl_multi_socket_action() is told
 * exactly which socket is ready, so only the transfers that have something to do run: the CPU
 * per request does not grow with the number in flight (curl_multi_perform visits them all).
 *
 *     zl_bio io; zl_bio_init(&io, multi);
 *     curl_multi_add_handle(...);
 *     zl_bio_kick(&io);                  // run libcurl's timeout now: the request goes out
 *     zl_bio_wait(&io, wait_ms);         // poll the sockets (at most wait_ms), dispatch, timers
 *     curl_multi_info_read(...)          // finished transfers, as usual
 *     zl_bio_free(&io);                  // after curl_multi_cleanup
 */
#ifndef ZLOCK_BULK_IO_H
#define ZLOCK_BULK_IO_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include "transport_curl.h"

typedef struct zl_bio {
    CURLM *multi;
    struct pollfd *fds;          /* the sockets libcurl watches */
    struct pollfd *ready;        /* scratch: a snapshot of the ready ones (callbacks edit fds) */
    size_t nfds, cap;
    bool timer;                  /* libcurl wants CURL_SOCKET_TIMEOUT at due_ms */
    int64_t due_ms;              /* monotonic milliseconds */
} zl_bio;

/* Installs the callbacks on the multi handle. */
void zl_bio_init(zl_bio *io, CURLM *multi);
/* Frees the arrays (after curl_multi_cleanup). */
void zl_bio_free(zl_bio *io);
/* Runs libcurl's timeout now, due or not: new transfers start this way. (libcurl calls the
 * timer function only when its earliest timeout changes, so an added transfer is not always
 * announced.) */
void zl_bio_kick(zl_bio *io);
/* Waits up to wait_ms (0: just look; < 0: until something happens) for socket activity or
 * libcurl's timeout, tells libcurl what happened, runs its due timeout. */
void zl_bio_wait(zl_bio *io, long wait_ms);

#endif
