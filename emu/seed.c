/* Seeds an org: the demo org (deterministic: same flags, same records, same ids), an empty
 * org, or a JSON file in the state-file format; --records scales modules. */
#include "emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMU_ANCHOR 1793491200LL   /* 2026-11-01T00:00:00Z: the demo org's "today" */
#define DAY 86400LL

static const char *const first_names[] = {
    "Ava", "Liam", "Noah", "Emma", "Olivia", "Mateo", "Sofia", "Arjun", "Yuki", "Amara",
    "Lucas", "Chloe", "Kwame", "Ines", "Hannah", "Omar", "Freya", "Diego", "Priya", "Tomas" };
static const char *const last_names[] = {
    "Smith", "Garcia", "Chen", "Okafor", "Novak", "Rossi", "Kim", "Silva", "Patel", "Muller",
    "Dubois", "Jensen", "Tanaka", "Ivanova", "Haddad", "Kowalski", "Moreau", "Nakamura",
    "Oliveira", "Schmidt" };
static const char *const company_a[] = {
    "Commercial", "Northwind", "Blue Harbor", "Summit", "Crescent", "Ironwood", "Pinecrest",
    "Silverline", "Redstone", "Evergreen", "Brightpath", "Oakridge", "Lumen", "Harbor",
    "Granite", "Atlas", "Cobalt", "Meridian", "Vertex", "Willow" };
static const char *const company_b[] = {
    "Press", "Traders", "Logistics", "Foods", "Systems", "Labs", "Partners", "Textiles",
    "Energy", "Health", "Robotics", "Media" };
static const char *const industries[] = {
    "Manufacturing", "Retail", "Technology", "Healthcare", "Finance", "Logistics" };
static const char *const cities[] = {
    "Chennai", "Austin", "Berlin", "Lyon", "Osaka", "Toronto", "Sydney", "Nairobi" };
static const char *const products[] = {
    "CRM licenses", "Support renewal", "Onboarding", "Analytics add-on", "Hardware refresh",
    "Consulting", "Data migration", "Training" };
static const char *const stages[] = {
    "Qualification", "Needs Analysis", "Value Proposition", "Negotiation/Review",
    "Closed Won", "Closed Lost" };
static const int stage_prob[] = { 10, 20, 40, 75, 100, 0 };
static const char *const lead_status[] = {
    "Not Contacted", "Attempted to Contact", "Contacted", "Qualified", "Lost Lead" };
static const char *const sources[] = {
    "Advertisement", "Cold Call", "Employee Referral", "Partner", "Web Download", "Trade Show" };
static const char *const deal_types[] = { "New Business", "Existing Business" };

#define PICK(rng, arr) (arr[emu_rng_below(rng, sizeof arr / sizeof *arr)])

void emu_seed_users(emu_org *o)
{
    static const struct { const char *name, *email, *role, *profile; int tz_min; } u[] = {
        { "Patricia Boyle", "patricia.boyle@zlock-emu.example", "CEO", "Administrator", -240 },
        { "Ravi Shankar", "ravi.shankar@zlock-emu.example", "Manager", "Standard", 60 },
        { "Mei Lin", "mei.lin@zlock-emu.example", "Sales Rep", "Standard", 330 },
        { "Jonas Weber", "jonas.weber@zlock-emu.example", "Sales Rep", "Standard", 0 },
    };
    for (size_t i = 0; i < 4; i++) {
        emu_user *x = &o->users[i];
        snprintf(x->id, sizeof x->id, "%llu", 5843104000000071001ULL + i * 17);
        snprintf(x->name, sizeof x->name, "%s", u[i].name);
        snprintf(x->email, sizeof x->email, "%s", u[i].email);
        snprintf(x->role, sizeof x->role, "%s", u[i].role);
        snprintf(x->profile, sizeof x->profile, "%s", u[i].profile);
        x->tz_min = u[i].tz_min;
    }
    o->nusers = 4;
    o->current_user = 0;
}

static void setf(emu_module *m, emu_record *r, const char *field, const char *val)
{
    int i = emu_module_field(m, field);
    if (i >= 0) emu_record_set(r, (size_t)i, val);
}

static uint64_t random_record(emu_org *o, const char *module, emu_rng *rng)
{
    emu_module *m = emu_org_module(o, module);
    if (!m || !m->nrecs) return 0;
    return m->recs[emu_rng_below(rng, m->nrecs)]->id;
}

/* One record of module m, values drawn from rng (deterministic). */
static void gen_record(emu_org *o, emu_module *m, emu_rng *rng, long n)
{
    char b[256], id[24];
    emu_record *r = emu_org_add_record(o, m, 0);
    r->owner = (uint16_t)emu_rng_below(rng, o->nusers);
    r->created = EMU_ANCHOR - (int64_t)emu_rng_below(rng, 400 * DAY);
    r->modified = r->created + (int64_t)emu_rng_below(rng, 30 * DAY);
    const char *fn = PICK(rng, first_names), *ln = PICK(rng, last_names);
    if (strcmp(m->api_name, "Deals") == 0) {
        uint64_t acc = random_record(o, "Accounts", rng);
        const emu_record *a = acc ? emu_org_record(o, NULL, acc) : NULL;
        char an[128] = "Acme";
        if (a) emu_record_name(o, a, an, sizeof an);
        snprintf(b, sizeof b, "%s - %s %ld", an, PICK(rng, products), n + 1);
        setf(m, r, "Deal_Name", b);
        unsigned st = (unsigned)emu_rng_below(rng, 6);
        setf(m, r, "Stage", stages[st]);
        snprintf(b, sizeof b, "%llu", (unsigned long long)(500 + emu_rng_below(rng, 200) * 250));
        setf(m, r, "Amount", b);
        emu_fmt_date(EMU_ANCHOR - (int64_t)emu_rng_below(rng, 365) * DAY, b);
        setf(m, r, "Closing_Date", b);
        if (acc) { emu_fmt_id(acc, id); setf(m, r, "Account_Name", id); }
        snprintf(b, sizeof b, "%d", stage_prob[st]);
        setf(m, r, "Probability", b);
        setf(m, r, "Lead_Source", PICK(rng, sources));
        setf(m, r, "Type", PICK(rng, deal_types));
    } else if (strcmp(m->api_name, "Accounts") == 0) {
        snprintf(b, sizeof b, "%s %s", PICK(rng, company_a), PICK(rng, company_b));
        if (n >= 200) snprintf(b + strlen(b), sizeof b - strlen(b), " %ld", n);
        setf(m, r, "Account_Name", b);
        setf(m, r, "Industry", PICK(rng, industries));
        snprintf(b, sizeof b, "+1 555 %04llu", (unsigned long long)emu_rng_below(rng, 10000));
        setf(m, r, "Phone", b);
        snprintf(b, sizeof b, "https://example.com/a%ld", n);
        setf(m, r, "Website", b);
        setf(m, r, "Billing_City", PICK(rng, cities));
        snprintf(b, sizeof b, "%llu", (unsigned long long)(100000 + emu_rng_below(rng, 900) * 10000));
        setf(m, r, "Annual_Revenue", b);
    } else if (strcmp(m->api_name, "Contacts") == 0 || strcmp(m->api_name, "Leads") == 0) {
        setf(m, r, "First_Name", fn);
        setf(m, r, "Last_Name", ln);
        snprintf(b, sizeof b, "%s.%s%ld@example.com", fn, ln, n);
        for (char *p = b; *p; p++) if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
        setf(m, r, "Email", b);
        snprintf(b, sizeof b, "+1 555 %04llu", (unsigned long long)emu_rng_below(rng, 10000));
        setf(m, r, "Phone", b);
        uint64_t acc = random_record(o, "Accounts", rng);
        if (acc) { emu_fmt_id(acc, id); setf(m, r, "Account_Name", id); }
        snprintf(b, sizeof b, "%s %s", PICK(rng, company_a), PICK(rng, company_b));
        setf(m, r, "Company", b);
        setf(m, r, "Lead_Status", PICK(rng, lead_status));
        setf(m, r, "Lead_Source", PICK(rng, sources));
        snprintf(b, sizeof b, "%llu", (unsigned long long)(50000 + emu_rng_below(rng, 100) * 5000));
        setf(m, r, "Annual_Revenue", b);
    } else {
        for (size_t f = 0; f < m->nfields; f++) {
            emu_field *fd = &m->fields[f];
            switch (fd->type) {
            case EMU_F_CURRENCY: case EMU_F_DOUBLE: case EMU_F_INTEGER:
                snprintf(b, sizeof b, "%llu", (unsigned long long)emu_rng_below(rng, 10000)); break;
            case EMU_F_DATE: emu_fmt_date(EMU_ANCHOR - (int64_t)emu_rng_below(rng, 365) * DAY, b); break;
            case EMU_F_BOOLEAN: snprintf(b, sizeof b, "%s", emu_rng_below(rng, 2) ? "true" : "false"); break;
            case EMU_F_PICKLIST:
                snprintf(b, sizeof b, "%s", fd->npick ? fd->picklist[emu_rng_below(rng, fd->npick)]
                                                      : (emu_rng_below(rng, 2) ? "Open" : "Closed"));
                break;
            case EMU_F_LOOKUP: continue;
            default: snprintf(b, sizeof b, "%s %s %ld", m->singular, ln, n + 1); break;
            }
            emu_record_set(r, f, b);
        }
    }
}

static long count_for(const emu_seed_opts *so, const char *module, long dflt)
{
    for (size_t i = 0; i < so->ncounts; i++)
        if (strcmp(so->counts[i].module, module) == 0) return so->counts[i].count;
    return dflt;
}

static emu_module *custom_module(emu_org *o, const char *name)
{
    emu_module *m = emu_org_add_module(o, name, true);
    if (!m->nfields) {
        emu_module_add_field(m, "Name", EMU_F_TEXT, NULL);
        emu_module_add_field(m, "Status", EMU_F_PICKLIST, NULL);
        emu_module_add_field(m, "Amount", EMU_F_CURRENCY, NULL);
        m->name_field = 0;
    }
    return m;
}

static void add_config(emu_org *o, const char *module, const char *json)
{
    emu_module *m = emu_org_module(o, module);
    json_t *j = json_loads(json, 0, NULL), *err = NULL;
    if (!m || !j) { json_decref(j); return; }
    emu_config *c = emu_config_from_json(o, m, j, NULL, &err);
    json_decref(j);
    json_decref(err);
    if (!c) return;
    c->created = c->modified = EMU_ANCHOR - 200 * DAY;
    m->config = c;
}

emu_org *emu_seed_build(const emu_seed_opts *so, char *err, size_t errlen)
{
    const char *seed = so->seed ? so->seed : "demo";
    bool demo = strcmp(seed, "demo") == 0, empty = strcmp(seed, "empty") == 0;
    emu_org *o;
    if (!demo && !empty) {
        o = emu_persist_load_file(seed, err, errlen);
        if (!o) return NULL;
    } else {
        o = emu_org_new();
        emu_seed_users(o);
        emu_schema_standard(o);
    }
    emu_rng rng = { 0x5EEDC0FFEEULL };
    /* Fixed generation order so that every id depends only on the flags. */
    static const char *const order[] = { "Accounts", "Contacts", "Leads", "Deals" };
    static const long demo_counts[] = { 40, 60, 120, 240 };
    for (size_t i = 0; i < 4; i++) {
        emu_module *m = emu_org_module(o, order[i]);
        long n = count_for(so, order[i], demo ? demo_counts[i] : 0);
        for (long k = 0; m && k < n; k++) gen_record(o, m, &rng, k);
    }
    for (size_t i = 0; i < so->ncounts; i++) {
        const char *name = so->counts[i].module;
        bool done = false;
        for (size_t k = 0; k < 4; k++) done |= strcmp(name, order[k]) == 0;
        if (done) continue;
        emu_module *m = emu_org_module(o, name);
        if (!m) m = custom_module(o, name);
        for (long k = 0; k < so->counts[i].count; k++) gen_record(o, m, &rng, k);
    }
    if (demo) {
        add_config(o, "Deals",
            "{\"lock_type\":\"both\",\"locked_for\":\"all_profiles\","
            "\"restricted_actions\":[\"update\",\"delete\"],\"excluded_fields\":[],"
            "\"locking_rules\":[{\"name\":\"Lock closed lost deals\",\"lock_existing_records\":false,"
            "\"criteria\":{\"comparator\":\"equal\",\"field\":{\"api_name\":\"Stage\"},"
            "\"value\":\"Closed Lost\"}}]}");
        add_config(o, "Leads",
            "{\"lock_type\":\"manual\",\"locked_for\":\"all_profiles\","
            "\"restricted_actions\":[\"update\"],\"excluded_fields\":[],\"locking_rules\":[]}");
        emu_module *deals = emu_org_module(o, "Deals");
        if (deals && deals->config) {
            /* The rule was created with lock_existing_records false: only deals lost since
             * (closing date in the last 30 days) carry an automatic lock; older Closed Lost
             * deals are unlocked, which gives a bulk policy real work. */
            int cd = emu_module_field(deals, "Closing_Date"), st = emu_module_field(deals, "Stage");
            char since[16];
            emu_fmt_date(EMU_ANCHOR - 30 * DAY, since);
            for (size_t k = 0; k < deals->nrecs; k++) {
                emu_record *r = deals->recs[k];
                if (r->v[st] && strcmp(r->v[st], "Closed Lost") == 0 && r->v[cd]
                    && strcmp(r->v[cd], since) >= 0)
                    emu_lock_new(o, r, true, NULL, -1, deals->config->rules[0].id, deals->config->id,
                                 EMU_ANCHOR - (int64_t)emu_rng_below(&rng, 30) * DAY);
            }
            /* A few manual locks, as a real org would have. */
            int stage = emu_module_field(deals, "Stage"), made = 0;
            for (size_t k = 0; k < deals->nrecs && made < 3; k++) {
                emu_record *r = deals->recs[k];
                if (r->lock || !r->v[stage] || strcmp(r->v[stage], "Negotiation/Review") != 0)
                    continue;
                emu_lock_new(o, r, false, "last round of negotiations", 1, 0, deals->config->id,
                             EMU_ANCHOR - (int64_t)(10 - made) * DAY);
                made++;
            }
        }
    }
    return o;
}
