/* test/emu_criteria_test.c: unit tests for emu/criteria.c + emu/cond.c (TAP).
 * Parses Zoho search criteria, evaluates them against small in-test records, checks
 * Zoho's error envelopes, and throws hostile input at the parser (deep nesting, huge
 * input, garbage, a bounded random-mutation fuzz loop). */
#include "criteria.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_mutate.h"

static int T, F;

static void ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void ok(int cond, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *c = msg; *c; c++)            /* one TAP line per test, printable */
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) *c = '?';
    printf("%s %d - %s\n", cond ? "ok" : "not ok", ++T, msg);
    if (!cond) F++;
}

/* ---- a tiny record model: NULL-terminated field list ---- */
typedef struct { const char *name; emu_value v; } fv;
typedef struct { fv f[8]; } rec;

#define S(x) {EMU_V_STR, (x), 0, false}
#define N(x) {EMU_V_NUM, NULL, (x), false}
#define B(x) {EMU_V_BOOL, NULL, 0, (x)}
#define NUL {EMU_V_NULL, NULL, 0, false}

static bool getter(const void *r, const char *field, emu_value *out, void *ud)
{
    const rec *x = r;
    if (ud) ++*(int *)ud;
    for (int i = 0; i < 8 && x->f[i].name; i++)
        if (!strcmp(x->f[i].name, field)) {
            *out = x->f[i].v;
            return true;
        }
    return false;
}

static const rec deals[] = {
    {{{"Deal_Name", S("Alpha (West), Inc")}, {"Stage", S("Closed Lost")}, {"Amount", N(5000)},
      {"Closing_Date", S("2026-03-01")}, {"Hot", B(true)}, {"Owner", S("Ann")},
      {"Description", NUL}}},
    {{{"Deal_Name", S("Beta")}, {"Stage", S("Closed Won")}, {"Amount", N(800)},
      {"Closing_Date", S("2026-06-15")}, {"Hot", B(false)}, {"Owner", S("Bob")},
      {"Description", S("K\\")}}},
    {{{"Deal_Name", S("gamma beta")}, {"Stage", S("Qualification")}, {"Amount", N(1000)},
      {"Closing_Date", S("2025-12-31")}, {"Hot", B(false)}, {"Owner", S("ann")},
      {"Description", S("")}}},
    {{{"Deal_Name", S("Delta,Co")}, {"Stage", S("Negotiation/Review")}, {"Amount", NUL},
      {"Closing_Date", NUL}, {"Hot", B(true)}, {"Owner", S("Cid")},
      {"Description", S("has (parens)")}}},
};
#define NDEALS (sizeof deals / sizeof deals[0])

/* Bitmask of the deals a criteria matches; -1 on parse error. */
static int matches(const char *crit)
{
    emu_parse_error e;
    emu_cond *c = emu_criteria_parse(crit, &e);
    if (!c) return -1;
    int m = 0;
    for (size_t i = 0; i < NDEALS; i++)
        if (emu_cond_match(c, getter, &deals[i], NULL)) m |= 1 << i;
    emu_cond_free(c);
    return m;
}

static void expect(const char *crit, int mask)
{
    int m = matches(crit);
    ok(m == mask, "%s -> mask %d (got %d)", crit, mask, m);
}

static void expect_err(const char *crit, const char *code, const char *msg, const char *detail_part)
{
    emu_parse_error e;
    memset(&e, 0x55, sizeof e);
    emu_cond *c = emu_criteria_parse(crit, &e);
    int good = !c && e.http_status == 400 && !strcmp(e.code, code) &&
               (!msg || !strcmp(e.message, msg)) &&
               (!detail_part || strstr(e.details, detail_part)) &&
               e.details[0] == '{' && e.details[strlen(e.details) - 1] == '}';
    ok(good, "error %s for %.60s (got %d %s '%s' %s)", code, crit, c ? 0 : e.http_status,
       c ? "-" : e.code, c ? "" : e.message, c ? "" : e.details);
    emu_cond_free(c);
}

static void count_field(const char *f, void *ud)
{
    (void)f;
    ++*(int *)ud;
}

static void test_matching(void)
{
    /* equals: exact, case-insensitive; commas = any; escapes keep commas/parens */
    expect("(Stage:equals:Closed Lost)", 1);
    expect("(Stage:equals:closed lost)", 1);
    expect("(Stage:equals:Closed)", 0);
    expect("(Stage:equals:Closed Lost,Closed Won)", 3);
    expect("(Deal_Name:equals:Alpha \\(West\\)\\, Inc)", 1);
    expect("(Deal_Name:equals:Delta\\,Co)", 8);
    expect("(Deal_Name:equals:Delta,Co)", 0);
    expect("(Description:equals:K\\\\)", 2);
    expect("(Description:equals:has \\(parens\\))", 8);
    expect("Stage:equals:Closed Won", 2);
    expect("  ( Stage : equals : Closed Won )  ", 2);
    /* not_equal, null */
    expect("(Stage:not_equal:Closed Lost)", 14);
    expect("(Stage:not_equal:Closed Lost,Closed Won)", 12);
    expect("(Description:equals:null)", 5);
    expect("(Description:not_equal:null)", 10);
    expect("(Amount:not_equal:5000)", 14);
    /* starts_with */
    expect("(Stage:starts_with:closed)", 3);
    expect("(Deal_Name:starts_with:GAMMA)", 4);
    expect("(Deal_Name:starts_with:be,de)", 10);
    /* in */
    expect("(Owner:in:Ann,Cid)", 13);
    expect("(Stage:in:Qualification)", 4);
    /* numbers */
    expect("(Amount:greater_than:1000)", 1);
    expect("(Amount:greater_equal:1000)", 5);
    expect("(Amount:less_than:1000)", 2);
    expect("(Amount:less_equal:1000)", 6);
    expect("(Amount:between:800,1000)", 6);
    expect("(Amount:equals:1000.0)", 4);
    expect("(Amount:equals:1e3)", 4);
    expect("(Amount:in:800,5000)", 3);
    expect("(Amount:greater_than:-1)", 7);
    /* dates by string order */
    expect("(Closing_Date:greater_than:2026-01-01)", 3);
    expect("(Closing_Date:between:2026-01-01,2026-03-31)", 1);
    expect("(Closing_Date:less_equal:2025-12-31)", 4);
    /* booleans */
    expect("(Hot:equals:true)", 9);
    expect("(Hot:equals:FALSE)", 6);
    expect("(Hot:not_equal:true)", 6);
    /* and / or / nesting */
    expect("((Stage:equals:Closed Lost)and(Amount:greater_than:1000))", 1);
    expect("((Stage:equals:Closed Lost) AND (Amount:greater_than:9000))", 0);
    expect("((Stage:equals:Closed Lost)or(Amount:less_than:900))", 3);
    expect("(((Stage:starts_with:Closed)and(Amount:greater_than:900))or(Owner:equals:cid))", 9);
    expect("((Owner:equals:ann)or(Owner:equals:bob)and(Hot:equals:true))", 5);
    expect("(((((Stage:equals:Qualification)))))", 4);
    expect("(Stage:equals:Qualification)or(Stage:equals:Closed Won)", 6);
    /* datetime values keep their colons */
    expect("(Closing_Date:less_than:2026-03-01T10:00:00+05:30)", 5);
}

static void test_errors(void)
{
    expect_err("", "INVALID_QUERY", "Invalid query formed", "\"reason\"");
    expect_err("   ", "INVALID_QUERY", NULL, NULL);
    expect_err("(Stage:equals:Closed Lost", "INVALID_QUERY", NULL, "unbalanced");
    expect_err("((Stage:equals:x)", "INVALID_QUERY", NULL, NULL);
    expect_err("(Stage:equals:x))", "INVALID_QUERY", NULL, NULL);
    expect_err(")(", "INVALID_QUERY", NULL, NULL);
    expect_err("(Stage:equals)", "INVALID_QUERY", NULL, NULL);
    expect_err("(Stage)", "INVALID_QUERY", NULL, NULL);
    expect_err("(:equals:x)", "INVALID_QUERY", NULL, NULL);
    expect_err("(Stage:equals:)", "INVALID_QUERY", NULL, "empty value");
    expect_err("(Stage:equals:a,,b)", "INVALID_QUERY", NULL, NULL);
    expect_err("(Stage:equals:a(b)", "INVALID_QUERY", NULL, "unescaped");
    expect_err("(Stage:contains:x)", "INVALID_QUERY", "invalid operator found",
               "{\"operator\":\"contains\",\"api_name\":\"Stage\"}");
    expect_err("(Stage:like:x)", "INVALID_QUERY", "invalid operator found", NULL);
    expect_err("(Amount:between:1)", "INVALID_QUERY", "invalid value for search", "\"api_name\":\"Amount\"");
    expect_err("(Amount:between:1,2,3)", "INVALID_QUERY", "invalid value for search", NULL);
    expect_err("(Amount:greater_than:1,2)", "INVALID_QUERY", "invalid value for search", NULL);
    expect_err("((Stage:equals:x)xor(Stage:equals:y))", "INVALID_QUERY", NULL, NULL);
    expect_err("((Stage:equals:x)and)", "INVALID_QUERY", NULL, NULL);
    expect_err("((Stage:equals:x)and(Stage:equals:y)", "INVALID_QUERY", NULL, NULL);
    expect_err("(Stage:equals:x) junk", "INVALID_QUERY", NULL, NULL);
    expect_err("(Sta ge:equals:x)", "INVALID_QUERY", NULL, NULL);
    expect_err("(Stage:equals:x\\)", "INVALID_QUERY", NULL, "unbalanced");
    ok(emu_criteria_parse(NULL, NULL) == NULL, "NULL criteria, NULL err: no crash");

    /* the 10-criteria limit */
    char buf[2048] = "(";
    for (int i = 0; i < 10; i++)
        strcat(buf, i ? "or(Amount:equals:1)" : "(Amount:equals:1)");
    strcat(buf, ")");
    emu_parse_error e;
    emu_cond *c = emu_criteria_parse(buf, &e);
    ok(c && emu_cond_count(c) == 10, "10 criteria accepted");
    int nf = 0;
    emu_cond_fields(c, count_field, &nf);
    ok(nf == 10, "emu_cond_fields visits 10 fields (got %d)", nf);
    emu_cond_free(c);
    buf[strlen(buf) - 1] = '\0';
    strcat(buf, "or(Amount:equals:1))");
    expect_err(buf, "CRITERIA_LIMIT_EXCEEDED", "no of criterium that can be given exceed the limit 10", "{}");

    /* in with 100 / 101 values */
    char in[1024] = "(Amount:in:";
    for (int i = 0; i < 100; i++) strcat(in, i ? ",1" : "1");
    strcat(in, ")");
    ok(matches(in) == 0, "in with 100 values accepted");
    in[strlen(in) - 1] = '\0';
    strcat(in, ",1)");
    expect_err(in, "INVALID_QUERY", "Only 100 values are allowed in \"IN\" criteria", "\"api_name\":\"Amount\"");

    /* error details stay valid JSON even with quotes, control bytes, bad UTF-8 */
    expect_err("(St\"age:bad\"op\x01\xff\xc3\xa9:x)", "INVALID_QUERY", NULL, NULL);
    c = emu_criteria_parse("(Stage:b\"a\\d\x01\xc3\xa9\xff:x)", &e);
    ok(!c && strstr(e.details, "b\\\"a\\\\d\\u0001\xc3\xa9?") != NULL, "details escaped: %s", e.details);
    emu_cond_free(c);
}

static void test_check(void)
{
    emu_parse_error e;
    struct { const char *crit; const char *code; const char *msg; } cases[] = {
        {"(Amount:greater_than:abc)", "INVALID_QUERY", "invalid value for search"},
        {"(Amount:starts_with:1)", "INVALID_QUERY", "invalid operator found"},
        {"(Hot:greater_than:true)", "INVALID_QUERY", "invalid operator found"},
        {"(Hot:equals:yes)", "INVALID_QUERY", "invalid value for search"},
        {"(Nope:equals:x)", "INVALID_QUERY", "the field is not available for search"},
        {"((Stage:equals:x)and(Nope:equals:x))", "INVALID_QUERY", "the field is not available for search"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        emu_cond *c = emu_criteria_parse(cases[i].crit, &e);
        bool good = c && !emu_cond_check(c, getter, &deals[0], NULL, &e) &&
                    !strcmp(e.code, cases[i].code) && !strcmp(e.message, cases[i].msg);
        ok(good, "check rejects %s: %s %s %s", cases[i].crit, e.code, e.message, e.details);
        emu_cond_free(c);
    }
    const char *fine[] = {"(Amount:greater_than:1000)", "(Hot:equals:true)", "(Stage:starts_with:C)",
                          "(Description:equals:null)", "(Amount:equals:null)"};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        emu_cond *c = emu_criteria_parse(fine[i], &e);
        ok(c && emu_cond_check(c, getter, &deals[0], NULL, &e), "check accepts %s", fine[i]);
        emu_cond_free(c);
    }
    /* unknown field: match is false, never a crash; the getter is consulted */
    int calls = 0;
    emu_cond *c = emu_criteria_parse("(Nope:equals:x)", &e);
    ok(c && !emu_cond_match(c, getter, &deals[0], &calls) && calls == 1, "unknown field never matches");
    ok(emu_cond_match(NULL, getter, &deals[0], NULL), "NULL condition matches everything");
    emu_cond_free(c);
    emu_cond_free(NULL);
    emu_criteria_unknown_field("X\"", &e);
    ok(!strcmp(e.details, "{\"reason\":\"the field is not available for search\",\"api_name\":\"X\\\"\"}"),
       "unknown-field details %s", e.details);
}

static bool type_of(const char *field, emu_vtype *out, void *ud)
{
    (void)ud;
    static const struct { const char *f; emu_vtype t; } schema[] = {
        {"Deal_Name", EMU_V_STR}, {"Stage", EMU_V_STR}, {"Amount", EMU_V_NUM},
        {"Closing_Date", EMU_V_STR}, {"Hot", EMU_V_BOOL}, {"Owner", EMU_V_STR}, {"Description", EMU_V_STR}};
    for (size_t i = 0; i < sizeof schema / sizeof schema[0]; i++)
        if (!strcmp(schema[i].f, field)) {
            *out = schema[i].t;
            return true;
        }
    return false;
}

static void test_check_types(void)
{
    emu_parse_error e;
    /* deal 3 has an empty Amount: the record-based check cannot see the type, the schema can */
    emu_cond *c = emu_criteria_parse("(Amount:greater_than:abc)", &e);
    ok(c && emu_cond_check(c, getter, &deals[3], NULL, &e), "record check skips a field empty in the record");
    ok(c && !emu_cond_check_types(c, type_of, NULL, &e) && !strcmp(e.message, "invalid value for search") &&
       strstr(e.details, "\"expected_data_type\":\"double\""), "schema check: %s", e.details);
    emu_cond_free(c);
    c = emu_criteria_parse("((Stage:equals:x)or(Hot:between:true,false))", &e);
    ok(c && !emu_cond_check_types(c, type_of, NULL, &e) && !strcmp(e.message, "invalid operator found"),
       "schema check: ordering on a boolean (%s)", e.details);
    emu_cond_free(c);
    c = emu_criteria_parse("(Ghost:equals:x)", &e);
    ok(c && !emu_cond_check_types(c, type_of, NULL, &e) &&
       !strcmp(e.message, "the field is not available for search"), "schema check: unknown field");
    emu_cond_free(c);
    c = emu_criteria_parse("((Amount:between:1,2)and(Hot:equals:true)and(Stage:starts_with:Q))", &e);
    ok(c && emu_cond_check_types(c, type_of, NULL, &e), "schema check accepts a well-typed query");
    ok(emu_cond_check_types(c, NULL, NULL, &e) && emu_cond_check_types(NULL, type_of, NULL, &e),
       "schema check with NULLs is a no-op");
    emu_cond_free(c);
}

static bool is_text(const char *field, void *ud)
{
    (void)ud;
    return !strcmp(field, "Deal_Name") || !strcmp(field, "Description") || !strcmp(field, "Owner");
}

static int text_mask(const char *crit)
{
    emu_parse_error e;
    emu_cond *c = emu_criteria_parse(crit, &e);
    if (!c) return -1;
    emu_cond_text_search(c, is_text, NULL);
    int m = 0;
    for (size_t i = 0; i < NDEALS; i++)
        if (emu_cond_match(c, getter, &deals[i], NULL)) m |= 1 << i;
    emu_cond_free(c);
    return m;
}

static void test_text_search(void)
{
    struct { const char *crit; int mask; } cases[] = {
        {"(Deal_Name:equals:beta)", 6},              /* "Beta" and "gamma beta" */
        {"(Deal_Name:equals:BETA,delta)", 14},
        {"(Deal_Name:equals:alpha inc)", 0},         /* words must be consecutive */
        {"(Deal_Name:equals:West\\, Inc)", 1},       /* punctuation runs are one separator */
        {"(Deal_Name:equals:delta co)", 8},
        {"(Deal_Name:equals:bet)", 0},               /* whole words only */
        {"(Deal_Name:not_equal:beta)", 9},
        {"(Description:equals:parens)", 8},
        {"(Stage:equals:Closed)", 0},                /* picklists stay exact */
        {"(Stage:equals:closed lost)", 1},
        {"(Deal_Name:equals:--)", 0},                /* no words: exact */
        {"(Deal_Name:in:beta)", 2},                  /* only equals/not_equal change */
        {"(Deal_Name:equals:null)", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int m = text_mask(cases[i].crit);
        ok(m == cases[i].mask, "text search %s -> %d (got %d)", cases[i].crit, cases[i].mask, m);
    }
    ok(matches("(Deal_Name:equals:beta)") == 2, "without the opt-in, equals stays exact");
    emu_cond_text_search(NULL, is_text, NULL);
}

static void test_hostile(void)
{
    emu_parse_error e;
    /* deep nesting: bounded, an error not a stack overflow */
    size_t depth = 30000;
    char *deep = malloc(depth * 2 + 32);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++) deep[n++] = '(';
    n += (size_t)sprintf(deep + n, "Stage:equals:x");
    for (size_t i = 0; i < depth; i++) deep[n++] = ')';
    deep[n] = '\0';
    emu_cond *c = emu_criteria_parse(deep, &e);
    ok(!c && !strcmp(e.code, "INVALID_QUERY") && strstr(e.details, "nested"), "30000-deep nesting refused: %s", e.details);
    free(deep);
    char nest[256];
    strcpy(nest, "");
    for (int i = 0; i < EMU_QUERY_MAX_DEPTH; i++) strcat(nest, "(");
    strcat(nest, "Stage:equals:Qualification");
    for (int i = 0; i < EMU_QUERY_MAX_DEPTH; i++) strcat(nest, ")");
    ok(matches(nest) == 4, "nesting at the bound (%d) accepted", EMU_QUERY_MAX_DEPTH);

    /* huge input: refused without reading past the bound */
    size_t big = (size_t)EMU_QUERY_MAX_LEN + 10;
    char *huge = malloc(big + 1);
    memset(huge, 'a', big);
    memcpy(huge, "(Stage:equals:", 14);
    huge[big - 1] = ')';
    huge[big] = '\0';
    c = emu_criteria_parse(huge, &e);
    ok(!c && strstr(e.details, "too long"), "over-long criteria refused");
    huge[EMU_QUERY_MAX_LEN - 1] = ')';
    huge[EMU_QUERY_MAX_LEN] = '\0';
    c = emu_criteria_parse(huge, &e);
    ok(c != NULL, "criteria of exactly the maximum length parsed");
    emu_cond_free(c);
    free(huge);

    /* unbalanced and garbage */
    const char *junk[] = {"(", ")", "((((", "))))", "(:)", "(::)", "(a::)", "(a:equals:\\", "\\",
                          "(a:equals:x)and", "and", "(a:equals:x)or(", "((a:equals:x)and(b:in:))",
                          "(a:equals:x)(b:equals:y)", "(a:between:,)", "\xff\xfe", "(a:equals:x)\n\n;"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        c = emu_criteria_parse(junk[i], &e);
        ok(!c && e.http_status == 400, "garbage %zu refused (%s)", i, e.code);
        emu_cond_free(c);
    }

    /* bounded random fuzz: mutate valid criteria, parse, evaluate; must never crash
       (valgrind and ASan runs of this binary check memory). */
    const char *seeds[] = {
        "((Stage:equals:Closed Lost)and(Amount:greater_than:1000))",
        "(((Stage:starts_with:Closed)and(Amount:between:1,2))or(Owner:in:a\\,b,c))",
        "(Description:equals:K\\\\)", "Stage:equals:x"};
    const char alphabet[] = "():,\\ aAnNdDoOrR0129.-_eqsl\"\x01\xff";
    unsigned seed;
    long iters = fuzz_begin(20000, &seed);
    long parsed = 0, bad = 0;
    char m[512];
    for (long it = 0; it < iters; it++) {
        fuzz_mutate(m, sizeof m, seeds[rand() % 4], alphabet);
        c = emu_criteria_parse(m, &e);
        if (c) {
            parsed++;
            if (it & 1) emu_cond_text_search(c, is_text, NULL);
            for (size_t i = 0; i < NDEALS; i++) (void)emu_cond_match(c, getter, &deals[i], NULL);
            (void)emu_cond_check(c, getter, &deals[0], NULL, &e);
            emu_cond_free(c);
        } else if (e.http_status != 400 || e.details[0] != '{' || !e.code[0] || !e.message[0]) {
            if (!bad++) printf("# fuzz: bad error for %s\n", m);
        }
    }
    ok(bad == 0 && (iters < 1000 || parsed > 0),
       "fuzz: %ld mutations (seed %u), %ld parsed, %ld bad errors, no crash", iters, seed, parsed, bad);
}

/* Four threads parse and evaluate the same criteria at once: results must not depend on
   interleaving (the parser and evaluator share no state). */
static void *worker(void *arg)
{
    long bad = 0, iters = (long)(size_t)arg;
    for (long i = 0; i < iters; i++) {
        if (matches("(((Stage:starts_with:Closed)and(Amount:greater_than:900))or(Owner:equals:cid))") != 9) bad++;
        if (matches("(Deal_Name:equals:Alpha \\(West\\)\\, Inc)") != 1) bad++;
    }
    return (void *)(size_t)bad;
}

static void test_threads(void)
{
    pthread_t th[4];
    long iters = getenv("THREAD_ITERS") ? atol(getenv("THREAD_ITERS")) : 2000, bad = 0;
    int started = 0;
    for (int i = 0; i < 4; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(size_t)iters) == 0) started++;
    for (int i = 0; i < started; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (long)(size_t)r;
    }
    ok(started == 4 && bad == 0, "4 threads x %ld parse+match rounds agree (%ld wrong)", iters, bad);
}

int main(void)
{
    test_matching();
    test_errors();
    test_check();
    test_check_types();
    test_text_search();
    test_hostile();
    test_threads();
    printf("1..%d\n", T);
    return F ? 1 : 0;
}
