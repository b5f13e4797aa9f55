/* Fuzzes zlock-emu's COQL parser (emu_coql_parse) and the evaluation of its where clause.
 * Input: the query text. Invariants: a refusal is a 4xx Zoho envelope with JSON details; an
 * accepted query has a module, 1..EMU_COQL_MAX_FIELDS fields, a where clause, a limit in
 * 1..EMU_COQL_MAX_LIMIT and offset + limit <= 100000; nothing leaks. */
#include "coql.h"
#include "emu_query_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in;
    fuzz_input_split(&in, data, size, 0);
    emu_parse_error err;
    memset(&err, 0, sizeof err);
    emu_coql *q = emu_coql_parse(in.f[0], &err);
    if (!q) {
        fq_check_error(&err);
    } else {
        FUZZ_ASSERT(q->module && q->module[0], "no module");
        FUZZ_ASSERT(q->nfields >= 1 && q->nfields <= EMU_COQL_MAX_FIELDS, "%zu fields", q->nfields);
        for (size_t i = 0; i < q->nfields; i++) FUZZ_ASSERT(q->fields[i] && q->fields[i][0], "empty field %zu", i);
        FUZZ_ASSERT(q->where, "no where clause");
        FUZZ_ASSERT(q->limit >= 1 && q->limit <= EMU_COQL_MAX_LIMIT, "limit %ld", q->limit);
        FUZZ_ASSERT(q->offset >= 0 && q->offset + q->limit <= 100000, "offset %ld limit %ld", q->offset, q->limit);
        fq_evaluate(q->where);
        emu_coql_free(q);
    }
    fuzz_input_free(&in);
    return 0;
}
