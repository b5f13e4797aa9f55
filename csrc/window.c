/* window.c - the bulk engine's AIMD concurrency window (see window.h). Pure. */
#include <stdlib.h>
#include "window.h"

void zl_window_init(zl_window *win, int max, int initial, double decrease, int probe) {
    *win = (zl_window){0};
    win->max = max < 1 ? 1 : max;
    int init = initial > 0 ? initial : ZL_WINDOW_INITIAL;
    win->w = init < win->max ? init : win->max;
    win->decrease = decrease;
    win->probe_base = win->probe = probe < 1 ? 1 : probe;
    win->slow_start = true;
}

int zl_window_size(const zl_window *win) { return (int)win->w; }

bool zl_window_room(const zl_window *win) { return win->inflight < zl_window_size(win); }

zl_window_ticket zl_window_sent(zl_window *win) {
    zl_window_ticket t = { ++win->send_seq, ++win->inflight };
    if (win->inflight > win->max_inflight) win->max_inflight = win->inflight;
    if (win->inflight >= zl_window_size(win)) win->full_seq = t.seq;
    return t;
}

static void over_limit(zl_window *win, zl_window_ticket t) {
    win->throttled++;
    /* the server counted more than its limit when this request arrived. Its level says how
     * many were out when it was sent; but requests sent after it can arrive before it (the
     * server reads each connection on its own thread, and each engine shard sends on its
     * own), so the count now, this reply included, is the better bound when it is higher:
     * a refusal comes back at once, before the requests it met could be answered */
    int now = win->inflight + 1;
    int est = (t.level > now ? t.level : now) - 1;
    if (est < 1) est = 1;
    int before = win->limit_est;
    /* the lowest level refused is what counts: requests still out from a bigger window
     * (sent before a cut took effect) are refused higher up and say nothing new */
    if (before == 0 || est < before) win->limit_est = est;
    if (t.seq <= win->cut_seq) return;       /* this overshoot was already answered */
    win->w *= win->decrease;
    if (win->w < 1) win->w = 1;
    win->cut_seq = win->send_seq;            /* requests already out belong to this cut */
    win->slow_start = false;
    win->cuts++;
    /* the same ceiling again (within one: our count runs ahead of the server's by the
     * replies not read yet): probe above it half as often; a ceiling that moved resets it */
    if (before > 0 && abs(est - before) <= 1) {
        if (win->probe < 256) win->probe *= 2;
    } else {
        win->probe = win->probe_base;
    }
}

void zl_window_done(zl_window *win, zl_window_ticket t, bool replied, int status) {
    if (win->inflight > 0) win->inflight--;
    if (!replied) return;
    if (status == 429) {
        over_limit(win, t);
        return;
    }
    if (win->full_seq < t.seq) return;       /* not full since it went out: no evidence */
    if (win->slow_start) win->w += 1;
    else if (win->w < win->limit_est) win->w += 1.0 / win->w;
    else win->w += 1.0 / (win->w * win->probe);
    if (win->w > win->max) win->w = win->max;
    /* probing took the window two above the estimate without a 429: the limit went up */
    if (win->limit_est > 0 && win->w >= win->limit_est + 2) {
        win->limit_est = (int)win->w - 1;
        win->probe = win->probe_base;
    }
}
