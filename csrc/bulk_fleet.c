/* bulk_fleet.c - the C bulk engine as a holder of the org's fleet budget (budget.h): slots
 * asked for in batches for the pending items, given back with what their replies said, the
 * lease renewed while the engine works. Redis that fails turns the budget off for the
 * engine's life (one warning, budget.c): the local window goes on from there. */
#include <stdlib.h>
#include "budget_client.h"
#include "bulk_internal.h"

int zl_bulk_fleet_open(zl_bulk *b) {
    const zl_budget_conf *bc = zl_client_budget(b->c);
    if (!bc) return 0;
    b->fleet.spare = malloc((size_t)b->o.concurrency * sizeof *b->fleet.spare);
    b->fleet.h = b->fleet.spare ? zl_budget_new(bc, false, false, b->o.concurrency) : NULL;
    if (!b->fleet.h) {
        free(b->fleet.spare);
        b->fleet.spare = NULL;
        return -1;
    }
    return 0;
}

void zl_bulk_fleet_close(zl_bulk *b) {
    zl_bulk_fleet *f = &b->fleet;
    zl_budget_free(f->h);            /* leaves: every slot it held is freed now */
    free(f->spare);
    *f = (zl_bulk_fleet){0};
}

bool zl_bulk_fleet_on(const zl_bulk *b) { return zl_budget_usable(b->fleet.h); }

bool zl_bulk_fleet_take(zl_bulk *b, zl_item *it) {
    if (b->fleet.nspare == 0 || b->win.inflight >= b->o.concurrency) return false;
    it->fticket = b->fleet.spare[--b->fleet.nspare];
    return true;
}

void zl_bulk_fleet_unuse(zl_bulk *b, zl_item *it) {
    if (!it->fticket.seq) return;
    if (zl_bulk_fleet_on(b)) b->fleet.spare[b->fleet.nspare++] = it->fticket;
    it->fticket = (zl_budget_ticket){ 0, 0 };
}

void zl_bulk_fleet_done(zl_bulk *b, zl_item *it, int signal) {
    if (!it->fticket.seq) return;
    zl_budget_give(b->fleet.h, it->fticket, signal);
    it->fticket = (zl_budget_ticket){ 0, 0 };
}

static void wait_ends(zl_bulk *b, int64_t now) {
    if (!b->fleet.waiting) return;
    b->fleet.waiting = false;
    b->st.slot_wait_ms += (unsigned long)(now - b->fleet.wait_since);
}

bool zl_bulk_fleet_sync(zl_bulk *b) {
    zl_bulk_fleet *f = &b->fleet;
    if (!zl_bulk_fleet_on(b)) return false;
    int64_t now = zl_bulk_now_ms(b);
    /* spares no pending item needs go back */
    while (f->nspare > 0 && (size_t)f->nspare > b->npend) zl_budget_give(f->h, f->spare[--f->nspare], 0);
    int room = b->o.concurrency - b->win.inflight - f->nspare;
    int want = b->npend > (size_t)f->nspare ? (int)(b->npend - (size_t)f->nspare) : 0;
    if (want > room) want = room;
    if (want < 0) want = 0;
    bool holds = b->win.inflight > 0 || f->nspare > 0;
    if (!zl_budget_queued(f->h) && !(want > 0 && now >= f->next_ms) && !(holds && now >= f->beat_ms)) return false;
    int got = zl_budget_take(f->h, want, f->spare + f->nspare);
    if (got < 0) {                    /* Redis failed: the window decides from now on */
        f->nspare = 0;
        wait_ends(b, now);
        return true;
    }
    f->nspare += got;
    f->beat_ms = now + ZL_BUDGET_HEARTBEAT_MS;
    if (got < want) {
        /* the fleet is full: ask again soon (a slot frees within a round trip somewhere) */
        b->prng = b->prng * 6364136223846793005ULL + 1442695040888963407ULL;
        f->next_ms = now + 5 + (int64_t)((b->prng >> 33) % 10);
        if (!f->waiting) {
            f->waiting = true;
            f->wait_since = now;
            b->st.slot_waits++;
        }
    } else {
        wait_ends(b, now);
    }
    return got > 0;
}

long zl_bulk_fleet_wake(zl_bulk *b) {
    zl_bulk_fleet *f = &b->fleet;
    if (!zl_bulk_fleet_on(b)) return -1;
    int64_t now = zl_bulk_now_ms(b), at = -1;
    if (b->npend > (size_t)f->nspare) at = f->next_ms;
    if ((b->win.inflight > 0 || f->nspare > 0) && (at < 0 || f->beat_ms < at)) at = f->beat_ms;
    if (zl_budget_queued(f->h)) at = now;
    if (at < 0) return -1;
    return at <= now ? 0 : (long)(at - now);
}
