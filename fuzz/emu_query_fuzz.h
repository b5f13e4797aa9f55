/* fuzz/emu_query_fuzz.h - what the criteria and COQL harnesses share: a fake record store
 * (three records whose fields have a type by name) to evaluate a parsed condition, and the
 * check that a parse error is the Zoho envelope the emulator answers with. */
#ifndef ZLOCK_FUZZ_EMU_QUERY_H
#define ZLOCK_FUZZ_EMU_QUERY_H

#include <jansson.h>
#include "criteria.h"
#include "fuzz_input.h"

/* Field type by first letter: s* text, n* number, b* boolean, z* always empty; others unknown. */
static inline bool fq_type_of(const char *field, emu_vtype *out, void *ud) {
    (void)ud;
    switch (field[0]) {
    case 's': case 'S': case 'z': *out = EMU_V_STR; return true;
    case 'n': case 'N': *out = EMU_V_NUM; return true;
    case 'b': case 'B': *out = EMU_V_BOOL; return true;
    default: return false;
    }
}

static inline bool fq_get(const void *record, const char *field, emu_value *out, void *ud) {
    static const char *const texts[] = { "Closed Won", "", "zlock: a b-c" };
    static const double nums[] = { 0, -1.5, 1e300 };
    size_t k = *(const size_t *)record;
    emu_vtype t;
    if (!fq_type_of(field, &t, ud)) return false;
    memset(out, 0, sizeof *out);
    out->type = field[0] == 'z' ? EMU_V_NULL : t;
    out->s = texts[k];
    out->n = nums[k];
    out->b = k & 1;
    return true;
}

static inline bool fq_is_text(const char *field, void *ud) { (void)ud; return field[0] == 's'; }

static inline void fq_field_seen(const char *field, void *ud) { (void)ud; FUZZ_ASSERT(field != NULL, "NULL field"); }

/* Evaluates c against the three records, the way search.c does (schema check first). */
static inline void fq_evaluate(emu_cond *c) {
    emu_cond_fields(c, fq_field_seen, NULL);
    (void)emu_cond_count(c);
    emu_parse_error pe;
    if (!emu_cond_check_types(c, fq_type_of, NULL, &pe)) return;
    static const size_t recs[] = { 0, 1, 2 };
    for (size_t i = 0; i < 3; i++) {
        if (!emu_cond_check(c, fq_get, &recs[i], NULL, &pe)) continue;
        (void)emu_cond_match(c, fq_get, &recs[i], NULL);
    }
}

/* A refusal is a 4xx with a code, a message and JSON-object details (the reply's envelope). */
static inline void fq_check_error(const emu_parse_error *e) {
    FUZZ_ASSERT(e->http_status >= 400 && e->http_status < 500, "status %d", e->http_status);
    FUZZ_ASSERT(fuzz_terminated(e->code, sizeof e->code) && e->code[0], "no code");
    FUZZ_ASSERT(fuzz_terminated(e->message, sizeof e->message), "message not terminated");
    FUZZ_ASSERT(fuzz_terminated(e->details, sizeof e->details), "details not terminated");
    json_t *d = json_loads(e->details, 0, NULL);
    FUZZ_ASSERT(json_is_object(d), "details not a JSON object: %s", e->details);
    json_decref(d);
}

#endif
