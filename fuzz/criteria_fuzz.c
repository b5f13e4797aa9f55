/* Fuzzes zlock-emu's search-criteria parser (emu_criteria_parse) and the evaluation of what
 * it accepts (schema check, record check, match; with and without the text-search rule).
 * Input: the criteria text. Invariants: a refusal is a 4xx Zoho envelope with JSON details;
 * an accepted condition evaluates without a crash; nothing leaks. */
#include "emu_query_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in;
    fuzz_input_split(&in, data, size, 0);
    emu_parse_error err;
    memset(&err, 0, sizeof err);
    emu_cond *c = emu_criteria_parse(in.f[0], &err);
    if (!c) {
        fq_check_error(&err);
    } else {
        fq_evaluate(c);
        emu_cond_text_search(c, fq_is_text, NULL);
        fq_evaluate(c);
        emu_cond_free(c);
    }
    fuzz_input_free(&in);
    return 0;
}
