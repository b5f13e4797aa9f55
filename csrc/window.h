/*
 * window.h - the adaptive concurrency window of the bulk engine (AIMD), pure: no I/O, no
 * clock, no allocation. bulk_item.c asks it whether a request may go out, tells it when one goes
 * out and what came back; the C tests drive it with made-up replies.
 *
 *   slow start   starts at `initial` (default min(max, 4)); +1 per admitted reply, i.e. it
 *                doubles per round trip, until the first 429;
 *   additive     then +1 per window of admitted replies (+1 per round trip) below the limit
 *                estimate, +1 per `probe` windows at or above it (`probe` doubles each time a
 *                429 meets the same ceiling again, up to 256; a ceiling that moved resets it);
 *   decrease     a 429 multiplies the window by `decrease` (at least 1), once per overshoot:
 *                only a 429 to a request sent after the last cut cuts again;
 *   evidence     a reply grows it only if the window was full at some point since its
 *                request went out (a run feeding fewer items than the window does not
 *                inflate it);
 *   estimate     the lowest number in flight at which a request was refused, minus one;
 *                "in flight" is the higher of the count when it was sent and the count when
 *                its 429 is read (requests sent after it may reach the server first, and a
 *                refusal comes back at once). Our count runs ahead of the server's by the
 *                replies not read yet, so it is an upper bound within one or two. When
 *                probing takes the window two above it without a 429, the limit went up:
 *                the estimate follows and the probe pace resets.
 */
#ifndef ZLOCK_WINDOW_H
#define ZLOCK_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

/* The window's defaults (the bulk engine's options and the fleet budget's window). */
#define ZL_WINDOW_INITIAL 4
#define ZL_WINDOW_DECREASE 0.7
#define ZL_WINDOW_PROBE 8

typedef struct zl_window {
    double w;                 /* current window (fractional: additive growth) */
    int max;                  /* configured maximum */
    double decrease;          /* factor on a 429 */
    int probe_base, probe;    /* windows per +1 at the limit estimate */
    bool slow_start;
    int limit_est;            /* 0: no 429 seen yet */
    uint64_t send_seq;        /* requests sent so far */
    uint64_t cut_seq;         /* send_seq at the last cut */
    uint64_t full_seq;        /* send_seq when the window was last full */
    int inflight;             /* requests sent and not answered */
    int max_inflight;
    unsigned long throttled, cuts;
} zl_window;

/* What the window remembers of a request in flight. */
typedef struct zl_window_ticket {
    uint64_t seq;             /* send order */
    int level;                /* requests in flight when it went out, itself included */
} zl_window_ticket;

/* max >= 1; initial 0 = min(max, 4); decrease in (0, 1); probe >= 1. */
void zl_window_init(zl_window *win, int max, int initial, double decrease, int probe);
/* Whole requests allowed in flight now (1..max). */
int  zl_window_size(const zl_window *win);
/* True when another request may go out. */
bool zl_window_room(const zl_window *win);
/* A request goes out. */
zl_window_ticket zl_window_sent(zl_window *win);
/* Its outcome: replied = false when no HTTP reply came (transport failure: no signal);
 * else the HTTP status (429 = over the limit; anything else = admitted). */
void zl_window_done(zl_window *win, zl_window_ticket t, bool replied, int status);

#endif
