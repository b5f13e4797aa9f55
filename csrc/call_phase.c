/* call_phase.c - the reads a call makes on its own, and what their answers decide:
 *   RECONCILE (LOCK): did our lock land? The record's lock list after an ambiguous failure,
 *     or after a 403 "already locked" when the call may follow an earlier one (ambiguity or
 *     op.rerun). Our Manual lock with the same reason: LOCKED (reconciled); after a 403,
 *     another lock (or none listed): ALREADY_LOCKED; after an ambiguity only, none: POST again.
 *   FIND (UNLOCK without a lock id): which lock goes? The record's Manual lock, else its
 *     first (zl_response_pick); no lock at all: ALREADY_UNLOCKED (why: NOT_LOCKED).
 * Recognising Zoho's answers stays in response.c; this file only sequences them. */
#include <stdlib.h>
#include <string.h>
#include "call_internal.h"

void zl_call_already_locked(zl_call *call, int status, const char *body, size_t len, zl_error *e) {
    if (!call->rerun && !call->ambiguous_seen) {
        zl_call_finish_ok(call, ZL_OUTCOME_ALREADY_LOCKED, status, body, len, NULL, false, e);
        return;
    }
    if (!call->saved && !(call->saved = calloc(1, sizeof *call->saved))) {
        zl_call_finish_error(call, e);
        return;
    }
    zl_error_clear(call->saved);
    *call->saved = *e;              /* moved: e no longer owns details */
    memset(e, 0, sizeof *e);
    call->phase = PH_RECONCILE;
    call->state = S_START;
}

/* UNLOCK without a lock id: the DELETE of the lock FIND picked becomes the main request. */
static void unlock_picked(zl_call *call, const char *id) {
    zl_buf b = {0};
    zl_buf_adds(&b, call->req.path);
    zl_buf_add(&b, "/", 1);
    zl_buf_adds(&b, id);
    char *dup = zl_strdup0(id);
    if (!zl_buf_str(&b) || !dup) {
        zl_buf_free(&b);
        free(dup);
        zl_call_oom_fail(call);
        return;
    }
    free(call->req.path);
    call->req.path = b.p;
    free(call->given_lock_id);
    call->given_lock_id = dup;
    call->phase = PH_MAIN;
    call->state = S_START;
}

void zl_call_read_answered(zl_call *call, int status, const char *body, size_t len) {
    zl_lock_pick pick = {{0}, {0}};
    bool any = len > 0 && zl_response_pick(body, len, call->reason, &pick);
    if (call->phase == PH_FIND) {
        if (any) {
            unlock_picked(call, pick.held);
            return;
        }
        zl_error e = {0};
        zl_err_set(&e, "NOT_LOCKED", 0, false, "record %s has no lock", call->record_id ? call->record_id : "");
        zl_call_finish_ok(call, ZL_OUTCOME_ALREADY_UNLOCKED, status, body, len, NULL, false, &e);
        return;
    }
    if (pick.mine[0]) {
        zl_call_finish_ok(call, ZL_OUTCOME_LOCKED, status, body, len, pick.mine, true, NULL);
    } else if (call->saved) {
        zl_call_finish_ok(call, ZL_OUTCOME_ALREADY_LOCKED, status, body, len, any ? pick.held : NULL,
                          false, call->saved);   /* moves it */
        free(call->saved);
        call->saved = NULL;
    } else {
        call->phase = PH_MAIN;      /* it did not land: lock again */
        call->state = S_START;
    }
}
