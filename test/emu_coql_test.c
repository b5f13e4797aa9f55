/* test/emu_coql_test.c: unit tests for emu/coql.c (TAP): the select list, module,
 * where tree (evaluated against in-test records), order by, limit/offset, Zoho's
 * error codes, and hostile input (deep nesting, huge input, garbage, bounded fuzz). */
#include "coql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_mutate.h"

static int T, F;

static void ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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

typedef struct { const char *name; emu_value v; } fv;
typedef struct { fv f[6]; } rec;

#define S(x) {EMU_V_STR, (x), 0, false}
#define N(x) {EMU_V_NUM, NULL, (x), false}
#define B(x) {EMU_V_BOOL, NULL, 0, (x)}
#define NUL {EMU_V_NULL, NULL, 0, false}

static bool getter(const void *r, const char *field, emu_value *out, void *ud)
{
    const rec *x = r;
    (void)ud;
    for (int i = 0; i < 6 && x->f[i].name; i++)
        if (!strcmp(x->f[i].name, field)) {
            *out = x->f[i].v;
            return true;
        }
    return false;
}

static const rec deals[] = {
    {{{"Deal_Name", S("O'Brien deal")}, {"Stage", S("Closed Lost")}, {"Amount", N(5000)},
      {"Closing_Date", S("2026-03-01")}, {"Hot", B(true)}, {"Account_Name.Account_Name", S("Acme")}}},
    {{{"Deal_Name", S("Beta")}, {"Stage", S("Closed Won")}, {"Amount", N(800)},
      {"Closing_Date", S("2026-06-15")}, {"Hot", B(false)}, {"Account_Name.Account_Name", NUL}}},
    {{{"Deal_Name", S("gamma beta")}, {"Stage", S("Qualification")}, {"Amount", N(1000)},
      {"Closing_Date", S("2025-12-31")}, {"Hot", B(false)}, {"Account_Name.Account_Name", S("Zeta")}}},
    {{{"Deal_Name", S("back\\slash")}, {"Stage", S("Negotiation/Review")}, {"Amount", NUL},
      {"Closing_Date", NUL}, {"Hot", B(true)}, {"Account_Name.Account_Name", S("")}}},
};
#define NDEALS (sizeof deals / sizeof deals[0])

static int where_mask(const char *where)
{
    char q[1024];
    snprintf(q, sizeof q, "select id from Deals where %s", where);
    emu_parse_error e;
    emu_coql *c = emu_coql_parse(q, &e);
    if (!c) return -1;
    int m = 0;
    for (size_t i = 0; i < NDEALS; i++)
        if (emu_cond_match(c->where, getter, &deals[i], NULL)) m |= 1 << i;
    emu_coql_free(c);
    return m;
}

static void expect(const char *where, int mask)
{
    int m = where_mask(where);
    ok(m == mask, "where %s -> %d (got %d)", where, mask, m);
}

static void expect_err(const char *query, int status, const char *code, const char *msg,
                       const char *detail_part)
{
    emu_parse_error e;
    memset(&e, 0x55, sizeof e);
    emu_coql *c = emu_coql_parse(query, &e);
    int good = !c && e.http_status == status && !strcmp(e.code, code) &&
               (!msg || !strcmp(e.message, msg)) && (!detail_part || strstr(e.details, detail_part)) &&
               e.details[0] == '{' && e.details[strlen(e.details) - 1] == '}';
    ok(good, "error %s for %.70s (got %s '%s' %s)", code, query, c ? "-" : e.code,
       c ? "" : e.message, c ? "" : e.details);
    emu_coql_free(c);
}

static void test_structure(void)
{
    emu_parse_error e;
    emu_coql *q = emu_coql_parse("select id, Deal_Name, 'External', \"Stage\", Account_Name.Account_Name "
                                 "from Deals where Stage = 'Closed Lost' limit 0, 2000", &e);
    ok(q != NULL, "the facts-file query parses (%s)", q ? "" : e.details);
    if (q) {
        ok(q->nfields == 5 && !strcmp(q->fields[0], "id") && !strcmp(q->fields[1], "Deal_Name") &&
           !strcmp(q->fields[2], "External") && !strcmp(q->fields[3], "Stage") &&
           !strcmp(q->fields[4], "Account_Name.Account_Name"), "select list as written");
        ok(!strcmp(q->module, "Deals"), "module");
        ok(q->where && emu_cond_count(q->where) == 1, "one criterion");
        ok(q->offset == 0 && q->limit == 2000, "limit 0, 2000");
        ok(q->order_field == NULL && !q->order_desc, "no order by");
    }
    emu_coql_free(q);

    q = emu_coql_parse("SELECT Deal_Name FROM Deals WHERE Amount > 10 ORDER BY Amount DESC LIMIT 50 OFFSET 100", &e);
    ok(q && q->limit == 50 && q->offset == 100 && q->order_field && !strcmp(q->order_field, "Amount") &&
       q->order_desc, "upper-case keywords, order by desc, limit/offset");
    emu_coql_free(q);
    q = emu_coql_parse("select Deal_Name from Deals where Amount > 10 order by Deal_Name asc", &e);
    ok(q && q->limit == EMU_COQL_DEFAULT_LIMIT && q->offset == 0 && !q->order_desc,
       "default limit 200, order asc");
    emu_coql_free(q);
    q = emu_coql_parse("  select\n\tDeal_Name\nfrom\nDeals\nwhere\nAmount\n>\n10\n", &e);
    ok(q != NULL, "newlines and tabs as whitespace");
    emu_coql_free(q);
    q = emu_coql_parse("select Deal_Name from Deals where Amount > 10 limit 2000", &e);
    ok(q && q->limit == 2000, "limit 2000 allowed");
    emu_coql_free(q);
    q = emu_coql_parse("select Deal_Name from Deals where Amount > 10 limit 98000, 2000", &e);
    ok(q && q->offset == 98000, "offset + limit = 100000 allowed");
    emu_coql_free(q);
}

static void test_where(void)
{
    expect("Stage = 'Closed Lost'", 1);
    expect("Stage = 'closed lost'", 1);
    expect("Stage != 'Closed Lost'", 14);
    expect("Amount > 900", 5);
    expect("Amount >= 1000", 5);
    expect("Amount < 1000", 2);
    expect("Amount <= 1000", 6);
    expect("Amount = 1000.0", 4);
    expect("Amount != 5000", 6);          /* SQL: NULL amount is not "!=" */
    expect("Amount = '1000'", 4);
    expect("Amount between 800 and 1000", 6);
    expect("Closing_Date between '2026-01-01' and '2026-12-31'", 3);
    expect("Closing_Date > '2026-01-01'", 3);
    expect("Amount in (800, 5000)", 3);
    expect("Stage in ('Closed Won', 'Qualification')", 6);
    expect("Stage not in ('Closed Won', 'Qualification')", 9);
    expect("Stage like 'Closed%'", 3);
    expect("Deal_Name like '%beta'", 6);
    expect("Deal_Name like '%eta%'", 6);
    expect("Deal_Name like 'beta'", 2);
    expect("Deal_Name not like '%eta%'", 9);
    expect("Amount is null", 8);
    expect("Amount is not null", 7);
    expect("Account_Name.Account_Name is null", 10);
    expect("Account_Name.Account_Name is not null", 5);
    expect("Hot = true", 9);
    expect("Hot = FALSE", 6);
    expect("Deal_Name = 'O''Brien deal'", 1);
    expect("Deal_Name = 'O\\'Brien deal'", 1);
    expect("Deal_Name = 'back\\\\slash'", 8);
    expect("Stage = 'Closed Lost' and Amount > 1000", 1);
    expect("Stage = 'Closed Lost' or Amount < 900", 3);
    expect("(Stage like 'Closed%' and Amount > 900) or Hot = true", 9);
    expect("((Stage like 'Closed%' and Amount > 900) or (Hot = true and Amount is null))", 9);
    expect("Stage = 'Qualification' AND (Amount > 1 OR Amount < 0)", 4);
    expect("(((((Amount = 800)))))", 2);
    expect("Amount > -1", 7);
    expect("Nope = 'x'", 0);
}

static void test_errors(void)
{
    /* shapes from Zoho's crm-oas v8 coql.json examples */
    expect_err("select Deal_Name from Deals", 400, "SYNTAX_ERROR", "missing clause", "{\"clause\":\"where\"}");
    expect_err("select Deal_Name from Deals limit 10", 400, "SYNTAX_ERROR", "missing clause", NULL);
    expect_err("select Deal_Name from Deals where not Amount = 1", 400, "SYNTAX_ERROR",
               "operator not supported", "{\"operator\":\"not\"}");
    expect_err("select Deal_Name from Deals where Amount <> 1", 400, "SYNTAX_ERROR",
               "operator not supported", "{\"operator\":\"<>\"}");
    expect_err("select Deal_Name from Deals where Amount > 1 limit s", 400, "INVALID_QUERY",
               "limit given seems to be invalid", "{\"limit\":\"s\"}");
    expect_err("select Deal_Name from Deals where Amount > 1 limit 0", 400, "INVALID_DATA",
               "limit should be greater than 0", "{}");
    expect_err("select Deal_Name from Deals where Amount > 1 limit 2001", 400, "LIMIT_EXCEEDED", NULL, NULL);
    expect_err("select Deal_Name from Deals where Amount > 1 limit 99999999999", 400, "LIMIT_EXCEEDED", NULL, NULL);
    expect_err("select Deal_Name from Deals where Amount > 1 limit 98001, 2000", 400, "LIMIT_EXCEEDED", NULL, NULL);
    expect_err("select Deal_Name from Deals where Amount > 1 limit 10 offset x", 400, "INVALID_QUERY",
               "offset given seems to be invalid", NULL);
    expect_err("select Deal_Name, Deal_Name from Deals where Amount > 1", 400, "DUPLICATE_DATA",
               "duplicate select column", "{\"column_name\":\"Deal_Name\"}");
    expect_err("select * from Deals where Amount > 1", 400, "SYNTAX_ERROR", "given coql query not supported", NULL);
    expect_err("select count(id) from Deals where Amount > 1", 400, "SYNTAX_ERROR", "given coql query not supported", NULL);
    expect_err("delete from Deals where Amount > 1", 400, "SYNTAX_ERROR", "given coql query not supported", NULL);
    expect_err("select id from Deals where Amount > 1 group by Stage", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where Amount > 1 order by Amount, Stage", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where id in (select id from Deals where Amount > 1)", 400,
               "SYNTAX_ERROR", "given coql query not supported", NULL);
    /* the next error texts are the emulator's best guess (UNCONFIRMED) */
    expect_err("select id from Deals where Amount > 1 and Amount < 9 and Hot = true", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where Stage like 'a%b'", 400, "INVALID_QUERY", NULL, "Stage");
    expect_err("select id from Deals where Stage not like 'a%'", 400, "INVALID_QUERY", NULL, NULL);
    /* plain syntax errors carry line/column/near */
    expect_err("select id from Deals where Stage = ", 400, "SYNTAX_ERROR", "unexpected token", "\"near\":\"\"");
    expect_err("select id from Deals where Stage = Closed", 400, "SYNTAX_ERROR", NULL, "\"near\":\"Closed\"");
    expect_err("select id from Deals where Stage = 'x", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where (Stage = 'x'", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where Stage = 'x')", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where Stage = 'x' limit 1 junk", 400, "SYNTAX_ERROR", NULL, "junk");
    expect_err("select id from Deals\nwhere\n  Stage ~ 'x'", 400, "SYNTAX_ERROR", NULL, "\"line\":3,\"column\":9");
    expect_err("select from Deals where id is null", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id, from Deals where id is null", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from where id is null", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where id is nul", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where Amount between 1", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where Amount in ()", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where Amount in (1,)", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where Amount = 1.2.3", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("select id from Deals where select = 1", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err("   ", 400, "SYNTAX_ERROR", NULL, NULL);
    expect_err(NULL, 400, "MANDATORY_NOT_FOUND", "mandatory key not found", "{\"api_name\":\"select_query\"}");

    /* limits: 50 columns, 25 criteria, 50 IN values */
    char q[8192];
    strcpy(q, "select ");
    for (int i = 0; i < 51; i++) sprintf(q + strlen(q), "%sF%d", i ? "," : "", i);
    strcat(q, " from Deals where id is null");
    expect_err(q, 400, "LIMIT_EXCEEDED", NULL, "select");
    strcpy(q, "select id from Deals where ");
    for (int i = 0; i < 25; i++) strcat(q, i < 24 ? "(id is null or " : "id is null");
    for (int i = 0; i < 24; i++) strcat(q, ")");
    emu_parse_error e;
    emu_coql *c = emu_coql_parse(q, &e);
    ok(c && emu_cond_count(c->where) == 25, "25 criteria accepted (%s)", c ? "" : e.details);
    emu_coql_free(c);
    strcpy(q, "select id from Deals where ");
    for (int i = 0; i < 26; i++) strcat(q, i < 25 ? "(id is null or " : "id is null");
    for (int i = 0; i < 25; i++) strcat(q, ")");
    expect_err(q, 400, "LIMIT_EXCEEDED", NULL, "where");
    strcpy(q, "select id from Deals where Amount in (");
    for (int i = 0; i < 50; i++) sprintf(q + strlen(q), "%s%d", i ? "," : "", i);
    strcat(q, ")");
    c = emu_coql_parse(q, &e);
    ok(c != NULL, "in with 50 values accepted");
    emu_coql_free(c);
    q[strlen(q) - 1] = '\0';
    strcat(q, ",51)");
    expect_err(q, 400, "LIMIT_EXCEEDED", NULL, "Amount");
}

static bool text_all(const char *field, void *ud)
{
    (void)field;
    (void)ud;
    return true;
}

static void test_check(void)
{
    emu_parse_error e;
    emu_coql *q = emu_coql_parse("select id from Deals where Nope = 'x'", &e);
    ok(q && !emu_cond_check(q->where, getter, &deals[0], NULL, &e) && !strcmp(e.code, "INVALID_QUERY") &&
       !strcmp(e.message, "column given seems to be invalid") && !strcmp(e.details, "{\"column_name\":\"Nope\"}"),
       "unknown where column: %s %s", e.message, e.details);
    emu_coql_free(q);
    q = emu_coql_parse("select id from Deals where Amount like '1%'", &e);
    ok(q && !emu_cond_check(q->where, getter, &deals[0], NULL, &e) &&
       strstr(e.details, "\"reason\":\"invalid operator found\""), "like on a number: %s", e.details);
    emu_coql_free(q);
    q = emu_coql_parse("select id from Deals where Amount = 'abc'", &e);
    ok(q && !emu_cond_check(q->where, getter, &deals[0], NULL, &e), "string for a number: %s", e.details);
    emu_coql_free(q);
    q = emu_coql_parse("select id from Deals where Amount = '5000' and Hot = true", &e);
    ok(q && emu_cond_check(q->where, getter, &deals[0], NULL, &e), "well-typed query passes the check");
    emu_coql_free(q);
    q = emu_coql_parse("select id from Deals where Deal_Name = 'beta'", &e);
    emu_cond_text_search(q ? q->where : NULL, text_all, NULL);
    ok(q && !emu_cond_match(q->where, getter, &deals[2], NULL) && emu_cond_match(q->where, getter, &deals[1], NULL),
       "COQL = stays exact even after emu_cond_text_search");
    emu_coql_free(q);
    emu_coql_unknown_field("Foo", &e);
    ok(!strcmp(e.code, "INVALID_QUERY") && !strcmp(e.details, "{\"column_name\":\"Foo\"}"), "unknown select column helper");
    emu_coql_free(NULL);
}

static void test_hostile(void)
{
    emu_parse_error e;
    size_t depth = 20000;
    char *deep = malloc(depth * 2 + 128);
    strcpy(deep, "select id from Deals where ");
    size_t n = strlen(deep);
    for (size_t i = 0; i < depth; i++) deep[n++] = '(';
    n += (size_t)sprintf(deep + n, "id is null");
    for (size_t i = 0; i < depth; i++) deep[n++] = ')';
    deep[n] = '\0';
    emu_coql *q = emu_coql_parse(deep, &e);
    ok(!q && !strcmp(e.code, "SYNTAX_ERROR"), "20000-deep nesting refused: %s", e.details);
    free(deep);

    size_t big = (size_t)EMU_QUERY_MAX_LEN + 1;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    memcpy(huge, "select id from Deals where id is null", 37);
    huge[big] = '\0';
    q = emu_coql_parse(huge, &e);
    ok(!q && !strcmp(e.code, "INVALID_QUERY"), "over-long query refused");
    huge[EMU_QUERY_MAX_LEN] = '\0';
    q = emu_coql_parse(huge, &e);
    ok(q != NULL, "query of exactly the maximum length parsed");
    emu_coql_free(q);
    free(huge);

    const char *junk[] = {"(", ")", "'", "\"", "select", "select id", "select id from", "select id from Deals where",
                          "select id from Deals where (", "\xff\xfe\xfd", "select id from Deals where id = '\xff'\xff",
                          "select id from Deals where id = -", "select id from Deals where id = .", "!", "<>",
                          "select 'a''' from Deals where id is null limit", "select \"\" from Deals where id is null"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        q = emu_coql_parse(junk[i], &e);
        ok(!q && e.http_status == 400 && e.details[0] == '{', "garbage %zu refused (%s %s)", i, e.code, e.details);
        emu_coql_free(q);
    }

    const char *seeds[] = {
        "select id, Deal_Name from Deals where Stage = 'Closed Lost' limit 0, 2000",
        "select id from Deals where ((Stage like 'Closed%' and Amount > 900) or (Hot = true and Amount is null)) order by Amount desc limit 10 offset 5",
        "select id from Deals where Stage not in ('a', 'b\\'c') and Amount between -1 and 2.5e3"};
    const char alphabet[] = "()',\"\\ =<>!%aAnNdDoOrRlLiIkKeE0129.-_\x01\xff";
    unsigned seed;
    long iters = fuzz_begin(20000, &seed);
    long parsed = 0, bad = 0;
    char m[512];
    for (long it = 0; it < iters; it++) {
        fuzz_mutate(m, sizeof m, seeds[rand() % 3], alphabet);
        q = emu_coql_parse(m, &e);
        if (q) {
            parsed++;
            for (size_t i = 0; i < NDEALS; i++) (void)emu_cond_match(q->where, getter, &deals[i], NULL);
            (void)emu_cond_check(q->where, getter, &deals[0], NULL, &e);
            emu_coql_free(q);
        } else if (e.http_status != 400 || e.details[0] != '{' || !e.code[0] || !e.message[0]) {
            if (!bad++) printf("# fuzz: bad error for %s\n", m);
        }
    }
    ok(bad == 0 && (iters < 1000 || parsed > 0),
       "fuzz: %ld mutations (seed %u), %ld parsed, %ld bad errors, no crash", iters, seed, parsed, bad);
}

int main(void)
{
    test_structure();
    test_where();
    test_errors();
    test_check();
    test_hostile();
    printf("1..%d\n", T);
    return F ? 1 : 0;
}
