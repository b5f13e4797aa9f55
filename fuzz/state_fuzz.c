/* Fuzzes zlock-emu's state loader (emu_persist_load: the --state file and --seed FILE.json).
 * Input: the file's bytes. Invariants: a state it accepts dumps to a state that loads again
 * and dumps to the same JSON (save, restart, save loses nothing); a refusal has a message;
 * nothing leaks. */
#include "emu.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (!j) return 0;
    char err[256] = "";
    emu_org *o = emu_persist_load(j, err, sizeof err);
    json_decref(j);
    if (!o) {
        FUZZ_ASSERT(err[0], "refused without a message");
        return 0;
    }
    json_t *d1 = emu_persist_dump(o);
    emu_org *o2 = emu_persist_load(d1, err, sizeof err);
    FUZZ_ASSERT(o2, "its own dump does not load: %s", err);
    json_t *d2 = emu_persist_dump(o2);
    if (!json_equal(d1, d2)) {
        char *a = json_dumps(d1, JSON_COMPACT), *b = json_dumps(d2, JSON_COMPACT);
        FUZZ_ASSERT(0, "dump changes on reload:\n%s\n%s", a, b);
    }
    json_decref(d1);
    json_decref(d2);
    emu_org_free(o);
    emu_org_free(o2);
    return 0;
}
