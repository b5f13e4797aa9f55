/* Unit tests of the emulator's org store: deterministic seeding, the state-file round trip,
 * automatic locking rules, the id index. Prints TAP. */
#include "emu.h"
#include "field.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int n_test, n_fail;

static void ok(int cond, const char *what)
{
    n_test++;
    if (!cond) n_fail++;
    printf("%sok %d - %s\n", cond ? "" : "not ", n_test, what);
}

static char *dump(emu_org *o)
{
    json_t *j = emu_persist_dump(o);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

static size_t count_locks(emu_org *o, const char *module, bool automatic)
{
    emu_module *m = emu_org_module(o, module);
    size_t n = 0;
    for (size_t k = 0; m && k < m->nrecs; k++)
        if (m->recs[k]->lock && m->recs[k]->lock->automatic == automatic) n++;
    return n;
}

int main(void)
{
    char err[256];
    emu_seed_opts so;
    memset(&so, 0, sizeof so);
    so.seed = "demo";

    emu_org *a = emu_seed_build(&so, err, sizeof err), *b = emu_seed_build(&so, err, sizeof err);
    ok(a && b, "the demo org builds");
    char *da = dump(a), *db = dump(b);
    ok(da && db && strcmp(da, db) == 0, "same flags, same org (byte-identical dump)");
    emu_module *deals = emu_org_module(a, "Deals");
    ok(deals && deals->nrecs >= 200, "at least 200 deals");
    ok(deals && deals->config && deals->config->lock_type == 2, "Deals has a 'both' configuration");
    ok(emu_org_module(a, "Leads")->config && emu_org_module(a, "Leads")->config->lock_type == 0,
       "Leads has a manual-only configuration");
    ok(count_locks(a, "Deals", true) > 0, "some deals carry automatic locks");
    ok(count_locks(a, "Deals", false) == 3, "three manual locks in the demo org");

    /* every id is 19 digits and the index finds every record in its own module only */
    int ids_ok = 1, idx_ok = 1;
    for (size_t k = 0; k < deals->nrecs; k++) {
        char id[24];
        emu_fmt_id(deals->recs[k]->id, id);
        ids_ok &= strlen(id) == 19;
        idx_ok &= emu_org_record(a, deals, deals->recs[k]->id) == deals->recs[k];
        idx_ok &= emu_org_record(a, emu_org_module(a, "Leads"), deals->recs[k]->id) == NULL;
    }
    ok(ids_ok, "record ids have 19 digits");
    ok(idx_ok, "the id index finds records in their module only");

    /* state round trip */
    char path[] = "/tmp/emu_org_test_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    ok(emu_persist_save_file(a, path, err, sizeof err), "saves the state file");
    emu_org *c = emu_persist_load_file(path, err, sizeof err);
    ok(c != NULL, "loads the state file");
    char *dc = c ? dump(c) : NULL;
    ok(dc && strcmp(da, dc) == 0, "load(save(org)) == org");
    unlink(path);

    /* rules: a Closed Lost deal gets an automatic lock with the rule id, and loses it when it
       no longer matches (when updates are allowed) */
    emu_record *r = NULL;
    int stage = emu_module_field(deals, "Stage");
    for (size_t k = 0; k < deals->nrecs && !r; k++)
        if (!deals->recs[k]->lock) r = deals->recs[k];
    emu_record_set(r, (size_t)stage, "Closed Lost");
    emu_config_apply(a, r, 1800000000);
    ok(r->lock && r->lock->automatic && r->lock->rule_id == deals->config->rules[0].id,
       "a record that matches a rule gets an automatic lock with the rule id");
    ok(r->lock && r->lock->reason == NULL && r->lock->locked_by == -1, "automatic locks have no reason or user");
    emu_record_set(r, (size_t)stage, "Closed Won");
    emu_config_apply(a, r, 1800000001);
    ok(r->lock == NULL, "an automatic lock goes when no rule matches");

    /* a string criteria rule (search syntax) through E2's parser */
    json_t *cfg = json_loads("{\"lock_type\":\"automatic\",\"locking_rules\":[{\"name\":\"big\","
                             "\"criteria\":\"(Amount:greater_than:49000)\",\"lock_existing_records\":true}]}",
                             0, NULL), *cerr = NULL;
    emu_module *acc = emu_org_module(a, "Deals");
    emu_config *nc = emu_config_from_json(a, acc, cfg, NULL, &cerr);
    ok(nc != NULL && cerr == NULL, "a configuration with a search-syntax rule parses");
    json_decref(cfg);
    emu_config_free(acc->config);
    acc->config = nc;
    for (size_t k = 0; k < acc->nrecs; k++)
        if (acc->recs[k]->lock && acc->recs[k]->lock->automatic) { emu_lock_free(acc->recs[k]->lock); acc->recs[k]->lock = NULL; }
    emu_config_apply_existing(a, acc, 1800000000);
    int all = 1, any = 0;
    int amount = emu_module_field(acc, "Amount");
    for (size_t k = 0; k < acc->nrecs; k++) {
        emu_record *x = acc->recs[k];
        bool big = x->v[amount] && strtod(x->v[amount], NULL) > 49000;
        if (big && !x->lock) all = 0;
        if (x->lock && x->lock->automatic) { any = 1; if (!big) all = 0; }
    }
    ok(any && all, "lock_existing_records locks exactly the matching records");

    json_t *bad = json_loads("{\"lock_type\":\"sometimes\"}", 0, NULL);
    emu_config *bc = emu_config_from_json(a, acc, bad, NULL, &cerr);
    ok(bc == NULL && cerr && strcmp(json_string_value(json_object_get(cerr, "code")), "INVALID_DATA") == 0,
       "a bad lock_type is INVALID_DATA");
    json_decref(bad);
    json_decref(cerr);

    /* field values for criteria */
    emu_value_ctx vc = { .org = a };
    emu_value v;
    ok(emu_record_value(r, "Amount", &v, &vc) && v.type == EMU_V_NUM, "Amount is a number");
    ok(emu_record_value(r, "Locked__s", &v, &vc) && v.type == EMU_V_BOOL, "Locked__s is a boolean");
    ok(!emu_record_value(r, "No_Such_Field", &v, &vc), "unknown fields are reported");

    /* deleting records keeps the index whole (backward-shift deletion) */
    so.ncounts = 1;
    snprintf(so.counts[0].module, sizeof so.counts[0].module, "Deals");
    so.counts[0].count = 5000;
    so.seed = "empty";
    emu_org *big = emu_seed_build(&so, err, sizeof err);
    emu_module *bd = emu_org_module(big, "Deals");
    uint64_t *gone = malloc(2500 * sizeof *gone);
    size_t ngone = 0;
    for (size_t k = 0; k < bd->nrecs && ngone < 2500; k += 1) {
        if ((bd->recs[k]->id * 2654435761u) % 3 == 0) continue;
        gone[ngone++] = bd->recs[k]->id;
        emu_org_delete_record(big, bd, bd->recs[k]);
        k--;
    }
    int found = 1, absent = 1;
    for (size_t k = 0; k < bd->nrecs; k++) found &= emu_org_record(big, bd, bd->recs[k]->id) == bd->recs[k];
    for (size_t k = 0; k < ngone; k++) absent &= emu_org_record(big, bd, gone[k]) == NULL;
    ok(ngone == 2500 && bd->nrecs == 2500, "deleted half of 5000 records");
    ok(found, "every remaining record is still found through the index");
    ok(absent, "no deleted record is found");
    free(gone);
    emu_org_free(big);

    free(da); free(db); free(dc);
    emu_org_free(a); emu_org_free(b); emu_org_free(c);
    printf("1..%d\n", n_test);
    return n_fail ? 1 : 0;
}
