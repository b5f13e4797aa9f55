/* emu/criteria.c: the parser for Zoho CRM search criteria, into the condition tree of
 * emu/cond.c:
 *
 *   criteria := group | leaf                   (a lone leaf may go without parentheses)
 *   group    := term { ("and" | "or") term }   ("and" binds tighter than "or")
 *   term     := "(" group ")" | "(" leaf ")"
 *   leaf     := Field ":" operator ":" value { "," value }
 *
 * Operators (Zoho's search API): equals, not_equal, starts_with, in, greater_than,
 * greater_equal, less_than, less_equal, between. Values: "\(", "\)", "\," and "\\" are
 * escapes; any other backslash stays as written. An unescaped comma separates values:
 * equals/starts_with/in match any of them, not_equal matches none of them, between takes
 * exactly two, the ordering operators exactly one. "null" means empty; true/false match
 * booleans; numbers compare numerically against number fields; text compares
 * case-insensitively (ASCII), dates and datetimes by string order.
 *
 * Deviation (documented in the README): Zoho says "equals" on a text field behaves like
 * "contains" (token search), but not on picklists. The emulator cannot tell a picklist
 * from a text field through the getter, so "equals" is an exact, case-insensitive match.
 *
 * Pure: no I/O, no globals; every allocation belongs to one emu_cond. */
#include "criteria.h"

#include <stdlib.h>
#include <string.h>

static bool ascii_ieq(const char *a, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)lit[i];
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
        if (x != y) return false;
    }
    return i == n && lit[i] == '\0';
}

/* ------------------------------------------------------------------ criteria parser */

typedef struct {
    const char *s;
    size_t pos, len;
    emu_cond *c;
    emu_parse_error *err;
    int depth;
    bool failed;
} cparser;

static bool ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

static void skip_ws(cparser *p)
{
    while (p->pos < p->len && ws(p->s[p->pos])) p->pos++;
}

/* Syntax errors: 400 INVALID_QUERY "Invalid query formed" (crm-oas v8 search examples);
   the "reason" texts are the emulator's (UNCONFIRMED). */
static emu_cnode *fail(cparser *p, const char *reason)
{
    if (!p->failed) {
        emu_err__set(p->err, 400, "INVALID_QUERY", "Invalid query formed");
        emu_err__add_str(p->err, "reason", reason, (size_t)-1);
        emu_err__add_int(p->err, "position", (long)p->pos);
    }
    p->failed = true;
    return NULL;
}

static emu_cnode *oom(cparser *p)
{
    if (!p->failed) emu_err__set(p->err, 500, "INTERNAL_ERROR", "Internal Server Error");
    p->failed = true;
    return NULL;
}

static bool field_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '$' || ch == '.';
}

static const struct { const char *name; emu_op op; } crit_ops[] = {
    {"equals", EMU_OP_EQ},        {"not_equal", EMU_OP_NE},     {"starts_with", EMU_OP_STARTS},
    {"in", EMU_OP_IN},            {"greater_than", EMU_OP_GT},  {"greater_equal", EMU_OP_GE},
    {"less_than", EMU_OP_LT},     {"less_equal", EMU_OP_LE},    {"between", EMU_OP_BETWEEN},
};

/* Adds one comma-separated piece (already unescaped, in buf[0..n)), trimmed. */
static bool add_piece(cparser *p, emu_cnode *leaf, const char *buf, size_t n)
{
    while (n && ws(buf[0])) buf++, n--;
    while (n && ws(buf[n - 1])) n--;
    if (!n) {
        fail(p, "empty value");
        return false;
    }
    if (!emu_cond__add_value(p->c, leaf, buf, n, EMU_LIT_TEXT)) {
        oom(p);
        return false;
    }
    return true;
}

static emu_cnode *parse_leaf(cparser *p, bool bare)
{
    size_t f0, f1, o0, o1;
    skip_ws(p);
    f0 = p->pos;
    while (p->pos < p->len && field_char(p->s[p->pos])) p->pos++;
    f1 = p->pos;
    skip_ws(p);
    if (f0 == f1 || p->pos >= p->len || p->s[p->pos] != ':')
        return fail(p, "expected (field:operator:value)");
    p->pos++;
    skip_ws(p);
    o0 = p->pos;
    while (p->pos < p->len && p->s[p->pos] != ':' && p->s[p->pos] != ')' && p->s[p->pos] != '(')
        p->pos++;
    o1 = p->pos;
    while (o1 > o0 && ws(p->s[o1 - 1])) o1--;
    if (p->pos >= p->len || p->s[p->pos] != ':') return fail(p, "expected (field:operator:value)");
    p->pos++;

    emu_op op = EMU_OP_EQ;
    bool known = false;
    for (size_t i = 0; i < sizeof crit_ops / sizeof crit_ops[0]; i++)
        if (ascii_ieq(p->s + o0, o1 - o0, crit_ops[i].name)) {
            op = crit_ops[i].op;
            known = true;
            break;
        }
    if (!known) {
        /* crm-oas v8 search example InvalidQueryInvalidOperatorForDataType shape. */
        emu_err__set(p->err, 400, "INVALID_QUERY", "invalid operator found");
        emu_err__add_str(p->err, "operator", p->s + o0, o1 - o0);
        emu_err__add_str(p->err, "api_name", p->s + f0, f1 - f0);
        p->failed = true;
        return NULL;
    }
    if (emu_cond_count(p->c) >= EMU_CRITERIA_MAX) {
        /* crm-oas v8 search: CRITERIA_LIMIT_EXCEEDED. Zoho's example text says "limit 15"
           while its docs say 10 criteria; the emulator enforces 10 and says 10. */
        emu_err__set(p->err, 400, "CRITERIA_LIMIT_EXCEEDED",
                     "no of criterium that can be given exceed the limit 10");
        p->failed = true;
        return NULL;
    }
    emu_cnode *leaf = emu_cond__leaf(p->c, p->s + f0, f1 - f0, op);
    if (!leaf) return oom(p);

    /* The value runs to the first unescaped ')' (or to the end for a bare leaf). */
    size_t start = p->pos;
    while (p->pos < p->len) {
        char ch = p->s[p->pos];
        if (ch == '\\' && p->pos + 1 < p->len) { p->pos += 2; continue; }
        if (ch == ')' && !bare) break;
        if (ch == '(' || (ch == ')' && bare)) return fail(p, "unescaped parenthesis in value");
        p->pos++;
    }
    if (!bare && p->pos >= p->len) return fail(p, "unbalanced parentheses");
    size_t rawlen = p->pos - start;
    char *buf = malloc(rawlen + 1);
    if (!buf) return oom(p);
    size_t n = 0;
    bool ok = true;
    for (size_t i = start; ok && i < p->pos; i++) {
        char ch = p->s[i];
        if (ch == '\\' && i + 1 < p->pos) {
            char nx = p->s[i + 1];
            if (nx == '(' || nx == ')' || nx == ',' || nx == '\\') {
                buf[n++] = nx;
                i++;
                continue;
            }
        }
        if (ch == ',') {
            ok = add_piece(p, leaf, buf, n);
            n = 0;
            continue;
        }
        buf[n++] = ch;
    }
    if (ok) ok = add_piece(p, leaf, buf, n);
    free(buf);
    if (!ok) return NULL;

    size_t nv = emu_cond__nvalues(leaf);
    if (nv > EMU_CRITERIA_IN_MAX) {
        /* crm-oas v8 search example InvalidQueryInOperatorLimit. */
        emu_err__set(p->err, 400, "INVALID_QUERY", "Only 100 values are allowed in \"IN\" criteria");
        emu_err__add_str(p->err, "api_name", p->s + f0, f1 - f0);
        p->failed = true;
        return NULL;
    }
    bool single = op == EMU_OP_GT || op == EMU_OP_GE || op == EMU_OP_LT || op == EMU_OP_LE;
    if ((single && nv != 1) || (op == EMU_OP_BETWEEN && nv != 2)) {
        /* crm-oas v8 search example InvalidQueryInvalidValue shape. */
        emu_err__set(p->err, 400, "INVALID_QUERY", "invalid value for search");
        emu_err__add_str(p->err, "reason", op == EMU_OP_BETWEEN
                         ? "between takes two comma-separated values"
                         : "the operator takes one value", (size_t)-1);
        emu_err__add_str(p->err, "api_name", p->s + f0, f1 - f0);
        emu_err__add_str(p->err, "value", p->s + start, rawlen);
        p->failed = true;
        return NULL;
    }
    return leaf;
}

static emu_cnode *parse_or(cparser *p);

static emu_cnode *parse_term(cparser *p)
{
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '(') return fail(p, "expected '('");
    if (++p->depth > EMU_QUERY_MAX_DEPTH) return fail(p, "criteria nested too deeply");
    p->pos++;
    skip_ws(p);
    emu_cnode *n = p->pos < p->len && p->s[p->pos] == '(' ? parse_or(p) : parse_leaf(p, false);
    if (!n) return NULL;
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != ')') return fail(p, "unbalanced parentheses");
    p->pos++;
    p->depth--;
    return n;
}

/* Matches "and"/"or" (any case) followed by whitespace or '('. */
static bool keyword(cparser *p, const char *kw)
{
    size_t save = p->pos, k = strlen(kw);
    skip_ws(p);
    if (p->len - p->pos > k && ascii_ieq(p->s + p->pos, k, kw) &&
        (ws(p->s[p->pos + k]) || p->s[p->pos + k] == '(')) {
        p->pos += k;
        return true;
    }
    p->pos = save;
    return false;
}

static emu_cnode *parse_and(cparser *p)
{
    emu_cnode *left = parse_term(p);
    while (left && keyword(p, "and")) {
        emu_cnode *right = parse_term(p);
        if (!right) return NULL;
        left = emu_cond__join(p->c, true, left, right);
        if (!left) return oom(p);
    }
    return left;
}

static emu_cnode *parse_or(cparser *p)
{
    emu_cnode *left = parse_and(p);
    while (left && keyword(p, "or")) {
        emu_cnode *right = parse_and(p);
        if (!right) return NULL;
        left = emu_cond__join(p->c, false, left, right);
        if (!left) return oom(p);
    }
    return left;
}

emu_cond *emu_criteria_parse(const char *criteria, emu_parse_error *err)
{
    emu_parse_error scratch;
    if (!err) err = &scratch;
    emu_err__set(err, 0, "", "");
    if (!criteria) {
        emu_err__set(err, 400, "INVALID_QUERY", "Invalid query formed");
        emu_err__add_str(err, "reason", "criteria is missing", (size_t)-1);
        return NULL;
    }
    size_t len = strnlen(criteria, EMU_QUERY_MAX_LEN + 1);
    if (len > EMU_QUERY_MAX_LEN) {
        emu_err__set(err, 400, "INVALID_QUERY", "Invalid query formed");
        emu_err__add_str(err, "reason", "criteria too long", (size_t)-1);
        return NULL;
    }
    cparser p = {criteria, 0, len, emu_cond__new(EMU_DIALECT_CRITERIA), err, 0, false};
    if (!p.c) {
        emu_err__set(err, 500, "INTERNAL_ERROR", "Internal Server Error");
        return NULL;
    }
    skip_ws(&p);
    emu_cnode *root;
    if (p.pos >= p.len) root = fail(&p, "criteria is empty");
    else if (p.s[p.pos] == '(') root = parse_or(&p);
    else root = parse_leaf(&p, true);
    if (root) {
        skip_ws(&p);
        if (p.pos != p.len) root = fail(&p, "unexpected text after criteria");
    }
    if (!root) {
        emu_cond_free(p.c);
        return NULL;
    }
    emu_cond__set_root(p.c, root);
    return p.c;
}
