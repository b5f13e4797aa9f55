/* Unit tests of org fixtures (emu/fixture.c, emu/persist.c): a document in the format loads;
 * an unknown key, a wrong JSON type, an unknown field, a wrong value type, a bad owner or lock
 * user, a bad time is refused with its place; a loaded fixture dumps back to the same values.
 * Prints TAP. */
#include "emu.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* Loads `text`; returns the org (NULL on refusal, the message in err). */
static emu_org *load(const char *text, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j) { snprintf(err, errlen, "bad JSON in the test: %s", je.text); return NULL; }
    err[0] = 0;
    emu_org *o = emu_persist_load(j, err, errlen);
    json_decref(j);
    return o;
}

/* The document is refused and the message holds `want`. */
static void refused(const char *text, const char *want, const char *what)
{
    char err[512];
    emu_org *o = load(text, err, sizeof err);
    OK(o == NULL && strstr(err, want) != NULL, "refuses %s (%s)", what, err);
    if (o) emu_org_free(o);
}

int main(void)
{
    char err[512];
    const char *good =
        "{\"format\":\"zlock-emu-state\",\"version\":1,"
        "\"users\":[{\"id\":\"7000000000000000001\",\"name\":\"Ada\"},{\"id\":\"7000000000000000002\",\"name\":\"Sam\"}],"
        "\"modules\":[{\"api_name\":\"Deals\","
        "\"fields\":[{\"api_name\":\"Region__c\",\"type\":\"picklist\",\"picklist\":[\"EMEA\"]}],"
        "\"config\":{\"lock_type\":\"manual\",\"restricted_actions\":[\"update\"]},"
        "\"records\":[{\"id\":\"11\",\"owner\":1,\"created\":\"2026-01-02T03:04:05\","
        "\"values\":{\"Deal_Name\":\"A\",\"Amount\":1200,\"Region__c\":\"EMEA\"},"
        "\"lock\":{\"reason\":\"r\",\"locked_by\":1,\"time\":\"2026-01-03\"}}]}]}";
    emu_org *o = load(good, err, sizeof err);
    OK(o != NULL, "a fixture in the documented format loads%s%s", err[0] ? ": " : "", err);
    if (o) {
        emu_module *m = emu_org_module(o, "Deals");
        emu_record *r = emu_org_record(o, m, 11);
        int region = emu_module_field(m, "Region__c"), amount = emu_module_field(m, "Amount");
        OK(r && region >= 0 && STREQ(r->v[region], "EMEA"), "a custom field is added to a standard module");
        OK(r && amount >= 0 && STREQ(r->v[amount], "1200"), "a number value is stored");
        OK(r && r->owner == 1 && r->created == 1767323045, "owner index and an ISO creation time");
        OK(r && r->lock && r->lock->locked_by == 1 && r->lock->time == 1767398400 && STREQ(r->lock->reason, "r"),
           "the lock: user, date-only time (UTC midnight), reason");
        json_t *d = emu_persist_dump(o);
        emu_org *again = emu_persist_load(d, err, sizeof err);
        json_t *d2 = again ? emu_persist_dump(again) : NULL;
        OK(d2 && json_equal(d, d2), "a dump loads back to the same document");
        json_decref(d);
        json_decref(d2);
        if (again) emu_org_free(again);
        emu_org_free(o);
    }
    refused("{\"moduls\":[]}", "document: unknown key \"moduls\"", "an unknown top-level key");
    refused("{\"modules\":{}}", "must be an array", "modules that are not an array");
    refused("{\"format\":\"other\",\"modules\":[]}", "is not \"zlock-emu-state\"", "another format");
    refused("{\"version\":2,\"modules\":[]}", "version: 2 is not 1", "another version");
    refused("{\"users\":[{\"id\":\"1\",\"nam\":\"x\"}],\"modules\":[]}", "users[0]: unknown key \"nam\"",
            "an unknown user key");
    refused("{\"modules\":[{\"api_name\":\"Deals\",\"records\":[{\"id\":\"1\",\"Stage\":\"x\"}]}]}",
            "modules[0] (Deals).records[0]: unknown key \"Stage\"", "a field value outside \"values\"");
    refused("{\"modules\":[{\"api_name\":\"Deals\",\"records\":[{\"id\":\"1\",\"owner\":\"0\"}]}]}",
            "records[0].owner: must be an integer", "an owner of the wrong JSON type");
    refused("{\"modules\":[{\"api_name\":\"Deals\",\"records\":[{\"id\":\"1\",\"values\":{\"Stagee\":\"x\"}}]}]}",
            "unknown field \"Stagee\"", "an unknown field");
    refused("{\"modules\":[{\"api_name\":\"Deals\",\"records\":[{\"id\":\"1\",\"values\":{\"Amount\":[1]}}]}]}",
            "field Amount: value of the wrong type for a currency field", "a value of the wrong type");
    refused("{\"modules\":[{\"api_name\":\"Deals\",\"records\":[{\"id\":\"1\",\"owner\":4}]}]}",
            "owner 4 is not a user index", "an owner past the users");
    refused("{\"modules\":[{\"api_name\":\"Deals\",\"records\":[{\"id\":\"1\",\"lock\":{\"locked_by\":-2}}]}]}",
            "locked_by is not a user index", "a lock by no user");
    refused("{\"modules\":[{\"api_name\":\"Deals\",\"records\":[{\"id\":\"1\",\"modified\":\"soon\"}]}]}",
            "neither epoch seconds nor YYYY-MM-DD", "a time that is not a time");
    refused("{\"modules\":[{\"api_name\":\"Deals\",\"records\":[{\"id\":\"1\",\"lock\":{\"source\":\"auto\"}}]}]}",
            "is neither \"Manual\" nor \"Automatic\"", "an unknown lock source");
    refused("{\"modules\":[{\"api_name\":\"Deals\",\"fields\":[{\"api_name\":\"X\",\"type\":\"colour\"}]}]}",
            "module Deals: field 0: unknown type", "an unknown field type");
    return tap_done();
}
