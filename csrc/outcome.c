/* outcome.c - the names of the call outcomes and the halt rule (see zlock.h): the one place
 * every driver, engine and Lua layer gets them from. */
#include <string.h>
#include "zlock.h"

const char *zl_outcome_name(zl_outcome o) {
    switch (o) {
    case ZL_OUTCOME_LOCKED: return "locked";
    case ZL_OUTCOME_ALREADY_LOCKED: return "already_locked";
    case ZL_OUTCOME_UPDATED: return "updated";
    case ZL_OUTCOME_UNLOCKED: return "unlocked";
    case ZL_OUTCOME_ALREADY_UNLOCKED: return "already_unlocked";
    case ZL_OUTCOME_GOT: return "got";
    case ZL_OUTCOME_DONE: return "done";
    default: return "failed";
    }
}

bool zl_error_halts(const zl_error *e) {
    if (!e) return false;
    if (strcmp(e->code, "CREDITS_EXHAUSTED") == 0) return true;
    return !e->retryable && strcmp(e->code, "TOKEN") == 0;
}
