/*
 * transport_curl.h - performing a zl_step with libcurl, for drivers that own the loop.
 *
 * zl_call_run() (blocking, easy interface) is built on these; the bulk engine on libcurl
 * multi uses them directly:
 *
 *     zl_xfer *x = zl_xfer_new(client);            // one per slot; keeps its easy handle
 *     zl_call_next(call, &s);                      // s.kind == ZL_STEP_SEND
 *     zl_xfer_prepare(x, &s);                      // url, method, headers, body, timeouts
 *     curl_multi_add_handle(multi, zl_xfer_handle(x));
 *     ... curl_multi_perform / curl_multi_info_read gives CURLMsg m for that handle ...
 *     curl_multi_remove_handle(multi, zl_xfer_handle(x));
 *     int st; const char *b; size_t n; zl_transport_error te;
 *     zl_xfer_finish(x, m->data.result, &st, &b, &n, &te);
 *     zl_call_feed_credits(call, zl_xfer_credits(x, st));   // a 429 with the credits spent is final
 *     zl_call_feed(call, st, b, n, te);            // body stays valid until the next prepare
 *
 * Connection reuse across slots: the multi handle's connection cache (every easy handle is
 * added to the same multi).
 *
 * libcurl silently re-sends a request whose reused connection died before any reply byte
 * (the first copy may have been applied: a lock POST then answers "already locked", a
 * DELETE "relation not found"). zl_xfer refuses that re-send (CURLOPT_PREREQFUNCTION aborts
 * a second send in one transfer) and reports ZL_TERR_CLOSED, so the call's retry rules
 * (lock reconciliation, unlock "relation not found" = done) see it.
 */
#ifndef ZLOCK_TRANSPORT_CURL_H
#define ZLOCK_TRANSPORT_CURL_H

#include <curl/curl.h>
#include "curl_lazy.h"
#include "zlock.h"

typedef struct zl_xfer zl_xfer;

/* curl_global_init, exactly once per process (pthread_once). Returns 0 on success. */
int zl_curl_global_init(void);

/* A transfer slot with its own easy handle, configured from the client (timeouts, TLS
 * verify on, protocols http/https only, no redirects, NOSIGNAL, HTTP/2 over TLS when offered,
 * size cap). NULL when out of memory. */
zl_xfer *zl_xfer_new(zl_client *c);
void     zl_xfer_free(zl_xfer *x);
/* Prepares the easy handle for one SEND step. Returns 0, or -1 (then the step is refused,
 * e.g. a plain-http URL to a non-loopback host: feed ZL_TERR_OTHER). */
int      zl_xfer_prepare(zl_xfer *x, const zl_step *s);
CURL    *zl_xfer_handle(zl_xfer *x);
/* After zl_xfer_finish(): the reply's X-API-CREDITS-REMAINING for zl_call_feed_credits(),
 * looked up on a 429 only (-1: not a 429, no such header, or a libcurl without
 * curl_easy_header). */
long     zl_xfer_credits(zl_xfer *x, int status);
/* Turns the finished transfer into what zl_call_feed() takes. */
void     zl_xfer_finish(zl_xfer *x, CURLcode rc, int *http_status, const char **body,
                        size_t *len, zl_transport_error *terr);
/* TCP connections this slot opened (CURLINFO_NUM_CONNECTS summed). */
unsigned long zl_xfer_connects(const zl_xfer *x);
/* TCP connections the blocking driver (zl_call_run) opened for this client. */
unsigned long zl_curl_connects(zl_client *c);

#endif
