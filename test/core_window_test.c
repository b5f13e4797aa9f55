/* core_window_test.c - the bulk engine's AIMD window (window.h) against a simulated server
 * that answers 429 to a request arriving while `limit` others are in flight. Pure: no I/O. */
#include "tap.h"
#include "window.h"

#define QMAX 2048

/* A server that admits `limit` requests at once, answers the admitted ones in order and
 * refuses the others at once with 429 (as zlock-emu and Zoho's gateway do). Keeps the window
 * full: sends while there is room; each step answers the oldest admitted request. Runs
 * `replies` steps; returns the 429 count. */
static unsigned long simulate(zl_window *w, int limit, int replies) {
    static zl_window_ticket q[QMAX];
    int head = 0, tail = 0;
    unsigned long t429 = 0;
    for (int n = 0; n < replies; n++) {
        while (zl_window_room(w) && tail - head < QMAX) {
            zl_window_ticket t = zl_window_sent(w);
            if (tail - head >= limit) {           /* over the limit: refused at once */
                t429++;
                zl_window_done(w, t, true, 429);
            } else {
                q[tail++ % QMAX] = t;
            }
        }
        zl_window_done(w, q[head++ % QMAX], true, 200);
    }
    while (head < tail) zl_window_done(w, q[head++ % QMAX], true, 200);
    return t429;
}

/* One round trip: fills the window, then answers everything in flight. Returns the 429s. */
static int round_trip(zl_window *w, int limit) {
    zl_window_ticket q[1100];
    int n = 0, t429 = 0;
    while (zl_window_room(w) && n < 1100) q[n++] = zl_window_sent(w);
    for (int i = 0; i < n; i++) {
        int status = q[i].level > limit ? 429 : 200;
        t429 += status == 429;
        zl_window_done(w, q[i], true, status);
    }
    return t429;
}

int main(void) {
    zl_window w;

    zl_window_init(&w, 10, 0, 0.7, 8);
    OK(zl_window_size(&w) == 4, "starts at min(max, 4): %d", zl_window_size(&w));
    zl_window_init(&w, 2, 0, 0.7, 8);
    OK(zl_window_size(&w) == 2, "a maximum below 4 starts at the maximum");
    zl_window_init(&w, 50, 8, 0.7, 8);
    OK(zl_window_size(&w) == 8, "initial is honoured");

    zl_window_init(&w, 10, 0, 0.7, 8);
    for (int i = 0; i < 4; i++) zl_window_sent(&w);
    OK(!zl_window_room(&w) && w.inflight == 4, "no room once the window is full");

    /* slow start: each round trip of admitted replies doubles it, up to the maximum */
    zl_window_init(&w, 64, 0, 0.7, 8);
    int sizes[5];
    for (int i = 0; i < 5; i++) {
        round_trip(&w, 1000);
        sizes[i] = zl_window_size(&w);
    }
    OK(sizes[0] == 8 && sizes[1] == 16 && sizes[2] == 32 && sizes[3] == 64 && sizes[4] == 64,
       "slow start: 4 -> %d -> %d -> %d -> %d -> %d", sizes[0], sizes[1], sizes[2], sizes[3], sizes[4]);
    /* the first 429 ends slow start: then about +1 per round trip */
    zl_window_init(&w, 64, 0, 0.5, 8);
    round_trip(&w, 1000);
    round_trip(&w, 1000);           /* 16 */
    int t1 = round_trip(&w, 20);    /* 16 sent, none over 20... */
    OK(t1 == 0 && zl_window_size(&w) == 32, "still in slow start below the limit (%d)", zl_window_size(&w));
    t1 = round_trip(&w, 20);        /* 32 sent: 12 over the limit, one cut */
    OK(t1 == 12 && w.cuts == 1 && w.limit_est == 20, "one overshoot: %d 429s, %lu cut, estimate %d", t1, w.cuts,
       w.limit_est);
    int rounds = 0, last = 1;
    while (last > 0 && rounds < 6) {
        last = round_trip(&w, 20);
        rounds++;
    }
    OK(last == 0 && zl_window_size(&w) <= 21, "settled under the limit within %d round trips (window %d)", rounds,
       zl_window_size(&w));

    /* at the limit with max == limit: never a 429, the window reaches the maximum */
    zl_window_init(&w, 10, 0, 0.7, 8);
    unsigned long t = simulate(&w, 10, 5000);
    OK(t == 0 && w.throttled == 0, "max == limit: no 429 in 5000 replies");
    OK(zl_window_size(&w) == 10 && w.max_inflight == 10, "window at the maximum (%d)", zl_window_size(&w));

    /* unknown limit: converges just under it, then sees few 429s */
    zl_window_init(&w, 50, 0, 0.7, 8);
    unsigned long first = simulate(&w, 15, 1000);
    t = simulate(&w, 15, 20000);
    OK(w.limit_est >= 15 && w.limit_est <= 16, "limit estimate %d (server limit 15)", w.limit_est);
    OK(zl_window_size(&w) >= 10 && zl_window_size(&w) <= 16, "window %d near the limit", zl_window_size(&w));
    OK(first < 50 && t < 20000 / 500, "%lu 429s in the first 1000 replies, %lu in the next 20000 (< 0.2%%)",
       first, t);
    OK(w.probe > 8, "the probe pace slowed after meeting the same ceiling (%d windows)", w.probe);
    OK(w.max_inflight <= 50, "never above the maximum");

    /* the limit goes up (another client left): the window follows it */
    t = simulate(&w, 25, 200000);
    OK(zl_window_size(&w) >= 20 && w.limit_est >= 24, "limit raised to 25: window %d, estimate %d",
       zl_window_size(&w), w.limit_est);
    /* ... and down again */
    t = simulate(&w, 8, 2000);
    OK(zl_window_size(&w) <= 9 && w.limit_est <= 9, "limit lowered to 8: window %d, estimate %d",
       zl_window_size(&w), w.limit_est);

    /* requests reach the server out of order (one thread per connection there, one per
     * shard here): the one sent 12th arrives 16th and is refused by a limit of 15. The
     * estimate is 15, from the 16 in flight when the refusal is read, not 11 from its level */
    zl_window_init(&w, 50, 16, 0.7, 8);
    zl_window_ticket r[16];
    for (int i = 0; i < 16; i++) r[i] = zl_window_sent(&w);
    zl_window_done(&w, r[11], true, 429);
    OK(w.limit_est == 15 && w.cuts == 1, "a refusal that overtook 4 later requests: estimate %d (limit 15)",
       w.limit_est);
    for (int i = 0; i < 16; i++) if (i != 11) zl_window_done(&w, r[i], true, 200);

    /* a burst of 429s from one overshoot cuts once */
    zl_window_init(&w, 8, 8, 0.5, 8);
    zl_window_ticket q[8];
    for (int i = 0; i < 8; i++) q[i] = zl_window_sent(&w);
    for (int i = 0; i < 8; i++) zl_window_done(&w, q[i], true, 429);
    OK(w.cuts == 1 && w.throttled == 8 && zl_window_size(&w) == 4, "8 429s of one overshoot: one cut, 8 -> %d",
       zl_window_size(&w));
    /* the next overshoot cuts again, never below 1 */
    for (int k = 0; k < 6; k++) {
        zl_window_ticket x = zl_window_sent(&w);
        zl_window_done(&w, x, true, 429);
    }
    OK(w.cuts == 7 && zl_window_size(&w) == 1, "later overshoots cut again, down to 1 (cuts %lu)", w.cuts);

    /* no reply, no signal */
    zl_window_init(&w, 8, 4, 0.5, 8);
    for (int i = 0; i < 4; i++) q[i] = zl_window_sent(&w);
    for (int i = 0; i < 4; i++) zl_window_done(&w, q[i], false, 0);
    OK(zl_window_size(&w) == 4 && w.inflight == 0 && w.cuts == 0, "transport failures neither grow nor cut");

    /* no evidence, no growth: replies to requests sent while the window was mostly empty */
    zl_window_init(&w, 8, 8, 0.5, 8);
    for (int i = 0; i < 100; i++) {
        zl_window_ticket x = zl_window_sent(&w);
        zl_window_done(&w, x, true, 200);
    }
    zl_window_ticket a = zl_window_sent(&w);
    zl_window_done(&w, a, true, 429);
    int after_cut = zl_window_size(&w);
    for (int i = 0; i < 100; i++) {
        zl_window_ticket x = zl_window_sent(&w);
        zl_window_done(&w, x, true, 200);
    }
    OK(zl_window_size(&w) == after_cut, "one request at a time does not grow the window (%d)", zl_window_size(&w));

    return tap_done();
}
