/* Fuzzes the reply classifier (zl_response_classify) and the lock-list reading
 * (zl_response_pick) on any body, status and transport failure.
 * Input: kind, status (2 bytes), transport error, then the body (the rest, NULs included).
 * Invariants: every reply yields an outcome of the enum and, unless OK, an error code;
 * retryable outcomes say so; an OK lock/update/unlock carries a valid lock id unless empty;
 * details are JSON; ids picked from a list are valid, and ours only with a reason; no leaks. */
#include <jansson.h>
#include "internal.h"
#include "fuzz_input.h"

static const int statuses[] = { 200, 201, 202, 204, 400, 401, 403, 404, 405, 413, 429, 500, 502, 503, 504, 0 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    zl_op_kind kind = (zl_op_kind)(data[0] % 6);
    int status = data[1] & 0x80 ? statuses[data[1] % (sizeof statuses / sizeof *statuses)]
                                : ((data[1] << 8 | data[2]) % 700) - 50;
    zl_transport_error terr = (zl_transport_error)(data[3] % 16 < 10 ? ZL_TERR_NONE : data[3] % 7);
    size_t len = size - 4;
    char *body = malloc(len ? len : 1);            /* exactly len bytes: no terminator to lean on */
    if (!body) return 0;
    memcpy(body, data + 4, len);

    zl_classified c;
    zl_response_classify(kind, status, len ? body : NULL, len, terr, &c);
    FUZZ_ASSERT(c.outcome >= ZL_OUT_OK && c.outcome <= ZL_OUT_NOT_FOUND, "outcome %d", (int)c.outcome);
    FUZZ_ASSERT(fuzz_terminated(c.err.code, sizeof c.err.code), "code not terminated");
    FUZZ_ASSERT(fuzz_terminated(c.err.message, sizeof c.err.message), "message not terminated");
    FUZZ_ASSERT(fuzz_terminated(c.lock_id, sizeof c.lock_id), "lock id not terminated");
    if (c.outcome != ZL_OUT_OK)
        FUZZ_ASSERT(c.err.code[0] != '\0', "outcome %d without an error code", (int)c.outcome);
    if (c.outcome == ZL_OUT_RETRY || c.outcome == ZL_OUT_AMBIGUOUS)
        FUZZ_ASSERT(c.err.retryable, "outcome %d (%s) not retryable", (int)c.outcome, c.err.code);
    if (c.outcome == ZL_OUT_OK && !c.empty && (kind == ZL_OP_LOCK || kind == ZL_OP_UPDATE || kind == ZL_OP_UNLOCK))
        FUZZ_ASSERT(zl_check_id(c.lock_id, strlen(c.lock_id)) == NULL, "OK without a valid lock id: '%s'", c.lock_id);
    if (c.err.details) {
        json_t *d = json_loads(c.err.details, JSON_DECODE_ANY, NULL);
        FUZZ_ASSERT(d != NULL, "details are not JSON: %s", c.err.details);
        json_decref(d);
    }
    zl_error_clear(&c.err);

    const char *reasons[] = { "zlock: test", "", NULL };
    for (size_t i = 0; i < 3; i++) {
        zl_lock_pick pick;
        memset(&pick, 'x', sizeof pick);
        bool any = zl_response_pick(len ? body : NULL, len, reasons[i], &pick);
        FUZZ_ASSERT(fuzz_terminated(pick.mine, sizeof pick.mine) && fuzz_terminated(pick.held, sizeof pick.held),
                    "pick not terminated");
        FUZZ_ASSERT(any == (pick.held[0] != '\0'), "returned %d with held '%s'", any, pick.held);
        FUZZ_ASSERT(!pick.held[0] || zl_check_id(pick.held, strlen(pick.held)) == NULL, "held id '%s'", pick.held);
        FUZZ_ASSERT(!pick.mine[0] || zl_check_id(pick.mine, strlen(pick.mine)) == NULL, "mine id '%s'", pick.mine);
        FUZZ_ASSERT(!pick.mine[0] || pick.held[0], "our lock %s found but none held", pick.mine);
        FUZZ_ASSERT(reasons[i] || !pick.mine[0], "our lock found without a reason");
    }
    free(body);
    return 0;
}
