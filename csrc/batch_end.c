/* batch_end.c - how an item of a bulk engine shard ends (see batch_internal.h): its result goes
 * to the caller's done queue and the item is let go, or a throttled call starts again, or the
 * engine has halted and the item ends with the halting error before any request of its own. */
#include <stdlib.h>
#include <string.h>
#include "batch_internal.h"

/* Hands r to the caller and lets the item go, under one lock. On shard 0 (the caller's own
 * thread) the item is freed here; on the others their call (made by the shard, see pull) is
 * freed here and the item with its op copy (made by zl_batch_submit on the caller's thread)
 * joins the dead list that zl_batch_poll frees. glibc's allocator locks an arena to free a
 * block another thread allocated from it: with the caller allocating and a shard freeing, the
 * two threads met on that lock for every item (0.6-0.9 futex calls per lock on 2 cores). */
static void conclude(zl_shard *sh, zl_item *it, zl_batch_result *r) {
    bool callers = sh == &sh->b->sh[0];
    if (!callers) {
        zl_call_free(it->call);
        it->call = NULL;
    }
    zl_shard_lock(sh);
    zl_batch_deliver_locked(sh->b, r, sh);
    if (!callers) zl_fifo_push(&sh->b->dead_h, &sh->b->dead_t, it);
    zl_shard_unlock(sh);
    if (callers) zl_item_free(it);
}

void zl_shard_conclude_error(zl_shard *sh, zl_item *it, const zl_error *e, int attempts) {
    zl_batch_result r = { .tag = it->tag, .kind = it->copy.op.kind, .ok = false, .attempts = attempts };
    if (!e || zl_error_copy(&r.err, e)) zl_err_set(&r.err, "INTERNAL", 0, false, "out of memory");
    conclude(sh, it, &r);
}

/* 429s (the org's concurrency limit, which the window paces) do not fail an item: a call that
 * met at least one 429 and ran out of attempts starts again, whatever its last retryable error
 * (a lost reply after five 429s), while the item is younger than throttle_budget. Throttling
 * is bounded by time, not by count: counting an item's other failures over all its calls would
 * fail an item that lives long at the limit for sporadic faults a single call would retry. */
static bool restart_throttled(zl_shard *sh, zl_item *it, const zl_error *e) {
    const zl_batch_opts *o = &sh->b->o;
    if (!e || !e->retryable || zl_call_throttled(it->call) == 0 || o->throttle_budget_ms <= 0) return false;
    int64_t now = zl_shard_now_ms(sh);
    if (now - it->accepted_ms >= o->throttle_budget_ms) return false;
    zl_error err = {0};
    zl_call *nc = zl_call_new(sh->b->c, &it->copy.op, &err);
    if (!nc) { zl_error_clear(&err); return false; }
    /* the earlier call may have applied the op (a lost reply before the 429s): the new one
     * reconciles ("already locked" by our lock / "relation not found" = done) like a retry */
    if (zl_call_ambiguous(it->call)) zl_call_after_ambiguous(nc);
    it->prior_attempts = it->sends;
    zl_call_free(it->call);
    it->call = nc;
    zl_shard_count(sh, &sh->b->st.restarts);
    long pause = o->throttle_pause_ms > 0 ? o->throttle_pause_ms : 0;
    it->due_ms = now + (long)(zl_prng_next(&sh->prng) % (uint64_t)(pause + 1));
    it->st = IT_TIMER;
    sh->ntimer++;
    return true;
}

void zl_shard_finish(zl_shard *sh, zl_item *it) {
    zl_result r;
    const zl_error *e = NULL;
    if (!zl_call_result(it->call, &r, &e)) {
        if (restart_throttled(sh, it, e)) return;
        if (zl_error_halts(e)) {
            zl_batch *b = sh->b;
            zl_shard_lock(sh);
            if (!atomic_load(&b->halted) && zl_error_copy(&b->halt_err, e) == 0)
                atomic_store(&b->halted, true);
            zl_shard_unlock(sh);
        }
        zl_shard_unlink(sh, it);
        zl_shard_conclude_error(sh, it, e, it->sends);   /* copies e before the call is freed */
        return;
    }
    zl_batch_result o = { .tag = it->tag, .kind = it->copy.op.kind, .ok = true, .outcome = r.outcome,
                          .ambiguous = r.ambiguous, .http_status = r.http_status,
                          .reconciled = r.reconciled, .attempts = it->prior_attempts + r.attempts };
    if (r.lock_id) strncpy(o.lock_id, r.lock_id, ZL_ID_MAX);
    if (r.why && zl_error_copy(&o.err, r.why)) zl_err_set(&o.err, "INTERNAL", 0, false, "out of memory");
    zl_op_kind k = o.kind;
    /* lean: a lock / update / unlock success needs only its lock id, the body stays with the
     * call (freed on this thread); otherwise the call's copy moves to the result */
    if (!sh->b->o.lean || (k != ZL_OP_LOCK && k != ZL_OP_UPDATE && k != ZL_OP_UNLOCK)) {
        o.body = zl_call_take_body(it->call, &o.body_len);
        if (!o.body && (o.body = malloc(1))) o.body[0] = '\0';
        if (!o.body) {
            o.ok = false;
            zl_err_set(&o.err, "INTERNAL", 0, false, "out of memory");
        }
    }
    zl_shard_unlink(sh, it);
    conclude(sh, it, &o);
}

/* The token endpoint refused for good, or the org's credits are spent: items not started yet
 * end with the same error instead of each meeting it again (Zoho throttles a refresh token
 * that keeps failing; a request past the credits only earns another 429). */
bool zl_shard_end_on_halt(zl_shard *sh, zl_item *it) {
    zl_batch *b = sh->b;
    if (!atomic_load(&b->halted)) return false;   /* the usual case, without the lock */
    zl_error e = {0};
    zl_shard_lock(sh);
    bool failed = atomic_load(&b->halted);
    if (failed && zl_error_copy(&e, &b->halt_err)) zl_err_set(&e, "INTERNAL", 0, false, "out of memory");
    zl_shard_unlock(sh);
    if (!failed) return false;
    zl_shard_unlink(sh, it);
    zl_shard_conclude_error(sh, it, &e, 0);
    zl_error_clear(&e);
    return true;
}
