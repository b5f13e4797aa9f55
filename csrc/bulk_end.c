/* bulk_end.c - how an item of the C bulk engine ends (see bulk_internal.h): its result goes to
 * the done queue and the item is let go, or a throttled call starts again, or the engine has
 * halted and the item ends with the halting error before any request of its own. */
#include <stdlib.h>
#include <string.h>
#include "bulk_internal.h"

/* Queues r for the caller (its place was reserved when the item was accepted). */
static void deliver(zl_bulk *b, const zl_bulk_result *r) {
    *zl_doneq_push(&b->done, b->nitems) = *r;
    b->st.finished++;
}

void zl_item_conclude_error(zl_bulk *b, zl_item *it, const zl_error *e, int attempts) {
    zl_bulk_result r = { .tag = it->tag, .kind = it->copy.op.kind, .ok = false, .attempts = attempts };
    if (!e || zl_error_copy(&r.err, e)) zl_err_set(&r.err, "INTERNAL", 0, false, "out of memory");
    deliver(b, &r);
    zl_item_free(b, it);
}

/* 429s (the org's concurrency limit, which the window paces) do not fail an item: a call that
 * met at least one 429 and ran out of attempts starts again, whatever its last retryable error
 * (a lost reply after five 429s), while the item is younger than throttle_budget. Throttling
 * is bounded by time, not by count: counting an item's other failures over all its calls would
 * fail an item that lives long at the limit for sporadic faults a single call would retry. */
static bool restart_throttled(zl_bulk *b, zl_item *it, const zl_error *e) {
    const zl_bulk_opts *o = &b->o;
    if (!e || !e->retryable || zl_call_throttled(it->call) == 0 || o->throttle_budget_ms <= 0) return false;
    int64_t now = zl_bulk_now_ms(b);
    if (now - it->accepted_ms >= o->throttle_budget_ms) return false;
    zl_error err = {0};
    zl_call *nc = zl_call_new(b->c, &it->copy.op, &err);
    if (!nc) { zl_error_clear(&err); return false; }
    /* the earlier call may have applied the op (a lost reply before the 429s): the new one
     * reconciles ("already locked" by our lock / "relation not found" = done) like a retry */
    if (zl_call_ambiguous(it->call)) zl_call_after_ambiguous(nc);
    it->prior_attempts = it->sends;
    zl_call_free(it->call);
    it->call = nc;
    b->st.restarts++;
    long pause = o->throttle_pause_ms > 0 ? o->throttle_pause_ms : 0;
    it->due_ms = now + (long)(zl_prng_next(&b->prng) % (uint64_t)(pause + 1));
    it->st = IT_TIMER;
    b->ntimer++;
    return true;
}

void zl_item_finish(zl_bulk *b, zl_item *it) {
    zl_result r;
    const zl_error *e = NULL;
    if (!zl_call_result(it->call, &r, &e)) {
        if (restart_throttled(b, it, e)) return;
        if (zl_error_halts(e) && !b->halted && zl_error_copy(&b->halt_err, e) == 0)
            b->halted = true;
        zl_item_conclude_error(b, it, e, it->sends);   /* copies e before the call is freed */
        return;
    }
    zl_bulk_result o = { .tag = it->tag, .kind = it->copy.op.kind, .ok = true, .outcome = r.outcome,
                         .ambiguous = r.ambiguous, .http_status = r.http_status,
                         .reconciled = r.reconciled, .attempts = it->prior_attempts + r.attempts };
    if (r.lock_id) strncpy(o.lock_id, r.lock_id, ZL_ID_MAX);
    if (r.why && zl_error_copy(&o.err, r.why)) zl_err_set(&o.err, "INTERNAL", 0, false, "out of memory");
    zl_op_kind k = o.kind;
    /* lean: a lock / update / unlock success needs only its lock id, the body stays with the
     * call; otherwise the call's copy moves to the result */
    if (!b->o.lean || (k != ZL_OP_LOCK && k != ZL_OP_UPDATE && k != ZL_OP_UNLOCK)) {
        o.body = zl_call_take_body(it->call, &o.body_len);
        if (!o.body && (o.body = malloc(1))) o.body[0] = '\0';
        if (!o.body) {
            o.ok = false;
            zl_err_set(&o.err, "INTERNAL", 0, false, "out of memory");
        }
    }
    deliver(b, &o);
    zl_item_free(b, it);
}

/* The token endpoint refused for good, or the org's credits are spent: items not started yet
 * end with the same error instead of each meeting it again (Zoho throttles a refresh token
 * that keeps failing; a request past the credits only earns another 429). */
bool zl_item_end_on_halt(zl_bulk *b, zl_item *it) {
    if (!b->halted) return false;
    zl_item_conclude_error(b, it, &b->halt_err, 0);
    return true;
}
